//! A blocking WebSocket client for the chat and agent sockets: JSON frames out, JSON frames in, every wait
//! bounded by a deadline.

use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::Value;
use tungstenite::{Message, WebSocket};

pub struct Ws {
    socket: WebSocket<TcpStream>,
    /// Every frame received so far, in order.
    pub seen: Vec<Value>,
}

/// Why a socket could not be opened: the HTTP status the engine answered, or another failure.
#[derive(Debug)]
pub enum ConnectError {
    Status(u16),
    Other(String),
}

impl Ws {
    /// Opens `ws://127.0.0.1:{port}{path}`.
    pub fn connect(port: u16, path: &str) -> Result<Self, ConnectError> {
        let stream =
            TcpStream::connect(("127.0.0.1", port)).map_err(|e| ConnectError::Other(e.to_string()))?;
        stream
            .set_read_timeout(Some(Duration::from_millis(200)))
            .map_err(|e| ConnectError::Other(e.to_string()))?;
        let url = format!("ws://127.0.0.1:{port}{path}");
        match tungstenite::client(url.as_str(), stream) {
            Ok((socket, _)) => Ok(Self {
                socket,
                seen: Vec::new(),
            }),
            Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(resp))) => {
                Err(ConnectError::Status(resp.status().as_u16()))
            }
            Err(e) => Err(ConnectError::Other(e.to_string())),
        }
    }

    pub fn send(&mut self, v: &Value) {
        self.socket
            .send(Message::Text(v.to_string().into()))
            .expect("cannot send on the WebSocket");
    }

    /// Sends raw text (for frames that are not valid JSON or too large).
    pub fn send_text(&mut self, text: &str) -> Result<(), String> {
        self.socket
            .send(Message::Text(text.to_owned().into()))
            .map_err(|e| e.to_string())
    }

    /// The next frame, or None when `timeout` passes or the socket closes.
    pub fn next(&mut self, timeout: Duration) -> Option<Value> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            match self.socket.read() {
                Ok(Message::Text(t)) => {
                    let v: Value = serde_json::from_str(&t).expect("the engine sent JSON");
                    self.seen.push(v.clone());
                    return Some(v);
                }
                Ok(Message::Close(_)) => return None,
                Ok(_) => {}
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => return None,
            }
        }
        None
    }

    /// Reads frames until one has `"type": kind` (others are kept in `seen`); panics after `timeout`.
    pub fn expect(&mut self, kind: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "no {kind:?} frame within {timeout:?}; saw {:?}",
                self.seen
            );
            if let Some(v) = self.next(left) {
                if v["type"] == kind {
                    return v;
                }
            } else if Instant::now() < deadline {
                panic!(
                    "the socket closed while waiting for {kind:?}; saw {:?}",
                    self.seen
                );
            }
        }
    }

    /// True when the engine closes the socket within `timeout` (frames before the close are kept in `seen`).
    pub fn closes_within(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            match self.socket.read() {
                Ok(Message::Text(t)) => {
                    if let Ok(v) = serde_json::from_str(&t) {
                        self.seen.push(v);
                    }
                }
                Ok(Message::Close(_)) => return true,
                Ok(_) => {}
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => return true,
            }
        }
        false
    }
}
