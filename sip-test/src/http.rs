//! A minimal HTTP/1.1 client for tests (`Connection: close`, optional bearer token).

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::Duration;

/// `GET path` on 127.0.0.1:port. Returns the status and the body.
pub fn get(port: u16, path: &str, token: Option<&str>) -> std::io::Result<(u16, String)> {
    request(port, "GET", path, b"", token, None)
}

/// `POST path` with a raw `body` on 127.0.0.1:port. Returns the status and the body.
pub fn post(port: u16, path: &str, body: &[u8], token: Option<&str>) -> std::io::Result<(u16, String)> {
    request(port, "POST", path, body, token, None)
}

/// `POST path` with a JSON `body`.
pub fn post_json(port: u16, path: &str, body: &[u8], token: Option<&str>) -> std::io::Result<(u16, String)> {
    request(port, "POST", path, body, token, Some("application/json"))
}

/// `PUT path` with a JSON `body`.
pub fn put_json(port: u16, path: &str, body: &[u8], token: Option<&str>) -> std::io::Result<(u16, String)> {
    request(port, "PUT", path, body, token, Some("application/json"))
}

/// `GET path` for a binary body (sent with Content-Length, as the engine's downloads are): the status, the
/// headers as text and the body bytes.
pub fn get_bytes(port: u16, path: &str, token: Option<&str>) -> std::io::Result<(u16, String, Vec<u8>)> {
    let raw = exchange(port, "GET", path, b"", token, None)?;
    Ok(split_response(&raw))
}

/// A raw response as (status, head, body bytes).
fn split_response(raw: &[u8]) -> (u16, String, Vec<u8>) {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(raw.len());
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let body = raw.get(split + 4..).unwrap_or(&[]).to_vec();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, head, body)
}

fn exchange(
    port: u16,
    method: &str,
    path: &str,
    body: &[u8],
    token: Option<&str>,
    content_type: Option<&str>,
) -> std::io::Result<Vec<u8>> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let ct = content_type
        .map(|c| format!("Content-Type: {c}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{auth}{ct}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    s.write_all(body)?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    Ok(raw)
}

fn request(
    port: u16,
    method: &str,
    path: &str,
    body: &[u8],
    token: Option<&str>,
    content_type: Option<&str>,
) -> std::io::Result<(u16, String)> {
    let raw = exchange(port, method, path, body, token, content_type)?;
    let (status, head, body) = split_response(&raw);
    let body = String::from_utf8_lossy(&body).into_owned();
    let body = if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        dechunk(&body)
    } else {
        body
    };
    Ok((status, body))
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}
