//! Stream framing for TCP/TLS/WebSocket-less streams (RFC 3261 18.3, RFC 5626 3.5.1 keep-alives).

use bytes::{Buf, Bytes, BytesMut};

use crate::error::ParseError;
use crate::limits::Limits;
use crate::message::Message;
use crate::parse::parse_frame;
use crate::syntax::is_wsp;
use crate::typed::parse_usize_strict;

/// Splits a byte stream into SIP messages using the mandatory Content-Length.
///
/// Feed received bytes with [`push`](Self::push), then drain [`next_message`](Self::next_message) until it
/// returns `None`. Between messages, a lone CRLF (RFC 5626 pong) is skipped and a double CRLF (ping) is
/// counted; [`take_pings`](Self::take_pings) tells the transport how many `"\r\n"` pongs to send.
///
/// Errors come in two kinds:
/// - a message that is framed correctly but malformed is returned as `Some(Err(..))`, its bytes are
///   consumed, and the next message is parsed normally (answer it with [`crate::bad_request_response`],
///   using [`next_frame`](Self::next_frame) if you need the raw bytes);
/// - a framing error (no or bad Content-Length, a head or message over the limits) leaves the stream
///   unusable: it is returned once by `next_message`, then `push` keeps returning it. Close the connection.
#[derive(Debug)]
pub struct StreamFramer {
    limits: Limits,
    buf: BytesMut,
    /// Where the search for the end of the head resumes.
    scan_from: usize,
    /// Total length of the message at the front of `buf`, once its head is known.
    frame_len: Option<usize>,
    pings: usize,
    broken: Option<ParseError>,
}

impl StreamFramer {
    /// A framer enforcing these limits.
    #[must_use]
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            buf: BytesMut::new(),
            scan_from: 0,
            frame_len: None,
            pings: 0,
            broken: None,
        }
    }

    /// Appends received bytes. Fails with [`ParseError::TooLarge`] when more than `max_message_size`
    /// bytes are buffered without a complete message, and with the earlier error once the stream is broken.
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), ParseError> {
        if let Some(e) = &self.broken {
            return Err(e.clone());
        }
        self.buf.extend_from_slice(bytes);
        if self.buf.len() > self.limits.max_message_size {
            self.skip_keepalives();
            if let Err(e) = self.locate_frame() {
                return Err(self.fail(e));
            }
            let complete = self.frame_len.is_some_and(|n| n <= self.buf.len());
            if !complete && self.buf.len() > self.limits.max_message_size {
                return Err(self.fail(ParseError::TooLarge {
                    limit: self.limits.max_message_size,
                }));
            }
        }
        Ok(())
    }

    /// The next complete message, parsed. `None` when more bytes are needed (or the stream is broken and
    /// its error was already returned).
    pub fn next_message(&mut self) -> Option<Result<Message, ParseError>> {
        let limits = self.limits;
        self.next_frame()
            .map(|r| r.and_then(|frame| parse_frame(&frame, &limits)))
    }

    /// The raw bytes of the next complete message (head and body, without leading keep-alives).
    pub fn next_frame(&mut self) -> Option<Result<Bytes, ParseError>> {
        if self.broken.is_some() {
            return None;
        }
        self.skip_keepalives();
        if let Err(e) = self.locate_frame() {
            return Some(Err(self.fail(e)));
        }
        let len = self.frame_len?;
        if self.buf.len() < len {
            return None;
        }
        self.frame_len = None;
        self.scan_from = 0;
        Some(Ok(self.buf.split_to(len).freeze()))
    }

    /// Number of double-CRLF pings received since the last call; answer each with `"\r\n"`.
    pub fn take_pings(&mut self) -> usize {
        std::mem::take(&mut self.pings)
    }

    /// Bytes buffered and not yet returned.
    #[must_use]
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    fn fail(&mut self, e: ParseError) -> ParseError {
        self.broken = Some(e.clone());
        self.buf = BytesMut::new();
        self.frame_len = None;
        self.scan_from = 0;
        e
    }

    /// Consumes CRLF keep-alives at a message boundary. Waits when the bytes could still become a ping.
    fn skip_keepalives(&mut self) {
        if self.frame_len.is_some() || self.scan_from > 0 {
            return;
        }
        loop {
            let b = &self.buf[..];
            if b.starts_with(b"\r\n\r\n") {
                self.pings += 1;
                self.buf.advance(4);
            } else if b.starts_with(b"\r\n") {
                if b.len() < 4 && b"\r\n\r\n".starts_with(b) {
                    return; // could be the first half of a ping
                }
                self.buf.advance(2);
            } else if b.starts_with(b"\n") {
                self.buf.advance(1);
            } else {
                return;
            }
        }
    }

    /// Finds the end of the head and reads Content-Length, setting `frame_len`.
    fn locate_frame(&mut self) -> Result<(), ParseError> {
        if self.frame_len.is_some() || self.buf.is_empty() {
            return Ok(());
        }
        let Some(head_len) = find_head_end(&self.buf, self.scan_from) else {
            self.scan_from = self.buf.len().saturating_sub(3);
            if self.buf.len() > self.limits.max_message_size {
                return Err(ParseError::TooLarge {
                    limit: self.limits.max_message_size,
                });
            }
            return Ok(());
        };
        let head = self.buf.get(..head_len).unwrap_or_default();
        let declared = content_length_of(head)?.ok_or(ParseError::MissingContentLength)?;
        if declared > self.limits.max_body {
            return Err(ParseError::BodyTooLarge {
                limit: self.limits.max_body,
            });
        }
        let total = head_len.saturating_add(declared);
        if total > self.limits.max_message_size {
            return Err(ParseError::TooLarge {
                limit: self.limits.max_message_size,
            });
        }
        self.frame_len = Some(total);
        Ok(())
    }
}

/// Length of the head including its terminating empty line, searching from `from`.
fn find_head_end(buf: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    loop {
        let rest = buf.get(i..)?;
        let lf = rest.iter().position(|&b| b == b'\n')?;
        let at = i + lf;
        match (buf.get(at + 1), buf.get(at + 2)) {
            (Some(b'\n'), _) => return Some(at + 2),
            (Some(b'\r'), Some(b'\n')) => return Some(at + 3),
            (Some(_), _) => i = at + 1,
            // Not enough bytes yet to tell; resume from this LF.
            (None, _) => return None,
        }
    }
}

/// Reads Content-Length (or `l`) from a head, unfolding continuation lines. Copies must agree.
fn content_length_of(head: &[u8]) -> Result<Option<usize>, ParseError> {
    let mut found: Option<usize> = None;
    let mut lines = head
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .peekable();
    lines.next(); // start line
    while let Some(line) = lines.next() {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let name = line.get(..colon).unwrap_or_default().trim_ascii_end();
        let is_length = name.eq_ignore_ascii_case(b"content-length") || name.eq_ignore_ascii_case(b"l");
        if !is_length || line.first().copied().is_some_and(is_wsp) {
            continue;
        }
        let mut value = String::from_utf8_lossy(line.get(colon + 1..).unwrap_or_default()).into_owned();
        while let Some(next) = lines.peek() {
            if !next.first().copied().is_some_and(is_wsp) {
                break;
            }
            value.push(' ');
            value.push_str(&String::from_utf8_lossy(next));
            lines.next();
        }
        let n = parse_usize_strict(&value).ok_or(ParseError::BadContentLength)?;
        if found.is_some_and(|f| f != n) {
            return Err(ParseError::BadContentLength);
        }
        found = Some(n);
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVITE: &str = "INVITE sip:bob@example.com SIP/2.0\r\n\
Via: SIP/2.0/TCP client.example.com:5060;branch=z9hG4bK74bf9\r\n\
Max-Forwards: 70\r\n\
From: <sip:alice@example.com>;tag=9fxced76sl\r\n\
To: <sip:bob@example.com>\r\n\
Call-ID: 3848276298220188511@client.example.com\r\n\
CSeq: 1 INVITE\r\n\
Content-Length: 4\r\n\
\r\n\
v=0\n";

    #[test]
    fn frames_pipelined_messages_and_counts_pings() {
        let mut f = StreamFramer::new(Limits::default());
        let stream = format!("\r\n\r\n{INVITE}\r\n{INVITE}\r\n\r\n");
        f.push(stream.as_bytes()).unwrap();
        let a = f.next_message().unwrap().unwrap();
        let b = f.next_message().unwrap().unwrap();
        assert!(f.next_message().is_none());
        assert_eq!(a, b);
        assert_eq!(a.body().as_ref(), b"v=0\n");
        assert_eq!(f.take_pings(), 2);
        assert_eq!(f.take_pings(), 0);
        assert_eq!(f.buffered(), 0);
    }

    #[test]
    fn byte_by_byte_feeding_gives_the_same_message() {
        let mut f = StreamFramer::new(Limits::default());
        let mut got = Vec::new();
        for b in INVITE.as_bytes() {
            f.push(std::slice::from_ref(b)).unwrap();
            while let Some(m) = f.next_message() {
                got.push(m.unwrap());
            }
        }
        assert_eq!(got.len(), 1);
        assert_eq!(
            got[0].call_id().unwrap(),
            "3848276298220188511@client.example.com"
        );
    }

    #[test]
    fn missing_content_length_breaks_the_stream() {
        let mut f = StreamFramer::new(Limits::default());
        let no_cl = INVITE.replace("Content-Length: 4\r\n", "");
        f.push(no_cl.as_bytes()).unwrap();
        assert_eq!(f.next_message(), Some(Err(ParseError::MissingContentLength)));
        assert!(f.next_message().is_none());
        assert_eq!(f.push(b"x"), Err(ParseError::MissingContentLength));
    }

    #[test]
    fn malformed_but_framed_message_is_skipped() {
        let mut f = StreamFramer::new(Limits::default());
        let bad = INVITE.replace("CSeq: 1 INVITE", "CSeq: x INVITE");
        f.push(bad.as_bytes()).unwrap();
        f.push(INVITE.as_bytes()).unwrap();
        assert_eq!(f.next_message(), Some(Err(ParseError::BadCSeq)));
        assert!(f.next_message().unwrap().is_ok());
    }

    #[test]
    fn endless_head_is_too_large_at_the_limit() {
        let limits = Limits {
            max_message_size: 100,
            ..Limits::default()
        };
        let mut f = StreamFramer::new(limits);
        f.push(&[b'a'; 100]).unwrap();
        assert_eq!(f.push(b"a"), Err(ParseError::TooLarge { limit: 100 }));
    }

    #[test]
    fn declared_body_beyond_limit_is_rejected_before_buffering() {
        let mut f = StreamFramer::new(Limits::default());
        let huge = INVITE.replace("Content-Length: 4", "Content-Length: 99999999");
        f.push(huge.as_bytes()).unwrap();
        assert_eq!(
            f.next_message(),
            Some(Err(ParseError::BodyTooLarge { limit: 60_000 }))
        );
    }

    #[test]
    fn folded_and_compact_content_length_is_understood() {
        let mut f = StreamFramer::new(Limits::default());
        let folded = INVITE.replace("Content-Length: 4", "l:\r\n  4");
        f.push(folded.as_bytes()).unwrap();
        let m = f.next_message().unwrap().unwrap();
        assert_eq!(m.body().len(), 4);
    }
}
