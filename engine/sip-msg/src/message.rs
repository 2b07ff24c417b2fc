//! Requests, responses, and the printer.

use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::ParseError;
use crate::header::{HeaderName, Headers};
use crate::method::Method;
use crate::status::StatusCode;
use crate::uri::Uri;

/// A SIP request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Method.
    pub method: Method,
    /// Request-URI.
    pub uri: Uri,
    /// Header fields.
    pub headers: Headers,
    /// Body (may be empty).
    pub body: Bytes,
}

/// A SIP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status code.
    pub status: StatusCode,
    /// Reason phrase.
    pub reason: String,
    /// Header fields.
    pub headers: Headers,
    /// Body (may be empty).
    pub body: Bytes,
}

/// A request or a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A request.
    Request(Request),
    /// A response.
    Response(Response),
}

impl Message {
    /// The header fields.
    #[must_use]
    pub fn headers(&self) -> &Headers {
        match self {
            Self::Request(r) => &r.headers,
            Self::Response(r) => &r.headers,
        }
    }

    /// The header fields, mutably.
    pub fn headers_mut(&mut self) -> &mut Headers {
        match self {
            Self::Request(r) => &mut r.headers,
            Self::Response(r) => &mut r.headers,
        }
    }

    /// The body.
    #[must_use]
    pub fn body(&self) -> &Bytes {
        match self {
            Self::Request(r) => &r.body,
            Self::Response(r) => &r.body,
        }
    }

    /// The Call-ID (always present on a parsed message).
    pub fn call_id(&self) -> Result<&str, ParseError> {
        self.headers().call_id()
    }

    /// The message as wire bytes (see [`Request::to_bytes`]).
    #[must_use]
    pub fn to_bytes(&self) -> Bytes {
        match self {
            Self::Request(r) => r.to_bytes(),
            Self::Response(r) => r.to_bytes(),
        }
    }
}

impl Request {
    /// A request with no headers and no body.
    pub fn new(method: Method, uri: Uri) -> Self {
        Self {
            method,
            uri,
            headers: Headers::new(),
            body: Bytes::new(),
        }
    }

    /// Prints the request: start line, headers in order with canonical names, a Content-Length equal
    /// to the body length (replacing any existing one, at its position; appended if missing), a blank
    /// line and the body. CR/LF inside values are printed as spaces, so a value can never inject a header.
    #[must_use]
    pub fn to_bytes(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(estimate(&self.headers, self.body.len()) + 64);
        out.put_slice(self.method.as_str().as_bytes());
        out.put_u8(b' ');
        let uri = self.uri.to_string();
        put_sanitized(&mut out, &uri);
        out.put_slice(b" SIP/2.0\r\n");
        finish(&mut out, &self.headers, &self.body);
        out.freeze()
    }
}

impl Response {
    /// A response with no headers and no body, with the canonical reason phrase.
    pub fn new(status: StatusCode) -> Self {
        Self {
            status,
            reason: status.canonical_reason().to_owned(),
            headers: Headers::new(),
            body: Bytes::new(),
        }
    }

    /// RFC 3261 8.2.6: a response to `req` copying every Via (in order), From, To, Call-ID and CSeq,
    /// with the canonical reason phrase. No To-tag is added (the caller does that).
    #[must_use]
    pub fn from_request(req: &Request, status: StatusCode) -> Self {
        let mut r = Self::new(status);
        for h in &req.headers {
            if h.name == HeaderName::Via {
                r.headers.push(HeaderName::Via, h.value.clone());
            }
        }
        for name in [
            HeaderName::From,
            HeaderName::To,
            HeaderName::CallId,
            HeaderName::CSeq,
        ] {
            if let Some(v) = req.headers.get(&name) {
                r.headers.push(name, v);
            }
        }
        r
    }

    /// Prints the response (see [`Request::to_bytes`]).
    #[must_use]
    pub fn to_bytes(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(estimate(&self.headers, self.body.len()) + 64);
        out.put_slice(b"SIP/2.0 ");
        let code = self.status.0.clamp(100, 999);
        out.put_slice(code.to_string().as_bytes());
        out.put_u8(b' ');
        put_sanitized(&mut out, &self.reason);
        out.put_slice(b"\r\n");
        finish(&mut out, &self.headers, &self.body);
        out.freeze()
    }
}

fn estimate(headers: &Headers, body: usize) -> usize {
    headers
        .iter()
        .map(|h| h.name.as_str().len() + h.value.len() + 4)
        .sum::<usize>()
        + body
        + 24
}

/// Writes `s`, turning CR, LF and NUL into spaces.
fn put_sanitized(out: &mut BytesMut, s: &str) {
    if s.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0)) {
        for b in s.bytes() {
            out.put_u8(if matches!(b, b'\r' | b'\n' | 0) { b' ' } else { b });
        }
    } else {
        out.put_slice(s.as_bytes());
    }
}

fn finish(out: &mut BytesMut, headers: &Headers, body: &Bytes) {
    let mut wrote_length = false;
    for h in headers {
        if h.name == HeaderName::ContentLength {
            if wrote_length {
                continue;
            }
            wrote_length = true;
            out.put_slice(b"Content-Length: ");
            out.put_slice(body.len().to_string().as_bytes());
        } else {
            put_sanitized(out, h.name.as_str());
            out.put_slice(b": ");
            put_sanitized(out, &h.value);
        }
        out.put_slice(b"\r\n");
    }
    if !wrote_length {
        out.put_slice(b"Content-Length: ");
        out.put_slice(body.len().to_string().as_bytes());
        out.put_slice(b"\r\n");
    }
    out.put_slice(b"\r\n");
    out.put_slice(body);
}

impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.to_bytes()))
    }
}

impl fmt::Display for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.to_bytes()))
    }
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.to_bytes()))
    }
}
