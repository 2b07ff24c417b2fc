//! A tiny HTTP/1.1 server for tests: a stand-in CRM that answers identity lookups and data dips with
//! canned JSON, and records what it was asked.

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

/// A canned answer: status and JSON body.
#[derive(Debug, Clone)]
pub struct Canned {
    pub status: u16,
    pub body: String,
}

/// The server; it runs until the process ends (each test binary is short-lived).
pub struct HttpServer {
    pub port: u16,
    /// Every request seen: (method, path with query, body).
    pub requests: Arc<Mutex<Vec<(String, String, String)>>>,
}

impl HttpServer {
    /// Serves `routes` (exact path with query → answer); anything else gets 404 `{}`.
    pub fn start(routes: BTreeMap<String, Canned>) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", crate::ports::block(1))).unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let routes = routes.clone();
                let seen = seen.clone();
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut line = String::new();
                    if reader.read_line(&mut line).is_err() {
                        return;
                    }
                    let mut parts = line.split_whitespace();
                    let method = parts.next().unwrap_or("").to_owned();
                    let path = parts.next().unwrap_or("").to_owned();
                    let mut len = 0usize;
                    loop {
                        let mut h = String::new();
                        if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
                            break;
                        }
                        if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                            len = v.trim().parse().unwrap_or(0).min(1 << 20);
                        }
                    }
                    let mut body = vec![0u8; len];
                    let _ = reader.read_exact(&mut body);
                    seen.lock().unwrap().push((
                        method,
                        path.clone(),
                        String::from_utf8_lossy(&body).into_owned(),
                    ));
                    let canned = routes.get(&path).cloned().unwrap_or(Canned {
                        status: 404,
                        body: "{}".into(),
                    });
                    let mut stream = stream;
                    let _ = write!(
                        stream,
                        "HTTP/1.1 {} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
                        canned.status,
                        canned.body.len(),
                        canned.body
                    );
                });
            }
        });
        Self { port, requests }
    }

    /// The paths asked for so far.
    pub fn paths(&self) -> Vec<String> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .map(|(_, p, _)| p.clone())
            .collect()
    }
}
