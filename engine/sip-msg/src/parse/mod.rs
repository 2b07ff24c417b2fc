//! Message parsing: datagrams, stream frames, and salvaging a `400 Bad Request` from a broken request.
//!
//! The head is scanned once, line by line, without regexes and with one `String` per header value.
//! Header values stay raw; only the headers every layer relies on (Via, From, To, Call-ID, CSeq,
//! Content-Length, Max-Forwards) are parsed here, to reject messages the rest of the stack could not use.

use std::ops::Range;

use bytes::Bytes;

use crate::error::ParseError;
use crate::header::{HeaderName, Headers};
use crate::limits::Limits;
use crate::message::{Message, Request, Response};
use crate::method::Method;
use crate::status::StatusCode;
use crate::syntax::{is_token, is_wsp, trim_lws};
use crate::typed;
use crate::uri::Uri;

/// The most lines [`bad_request_response`] looks at.
const SALVAGE_MAX_LINES: usize = 256;
/// The most bytes [`bad_request_response`] looks at.
const SALVAGE_MAX_BYTES: usize = 65_535;

/// Parses one UDP datagram (RFC 3261 18.3).
///
/// - Leading CRLFs are skipped; a datagram of only CRLFs (or empty) is [`ParseError::KeepAlive`].
/// - With Content-Length, a shorter body is [`ParseError::BodyTooShort`] and extra bytes are dropped.
///   Without it, the body is the rest of the datagram.
/// - Via, From, To, Call-ID and CSeq must be present and well formed (and the CSeq method must match
///   a request's method), so `top_via()`, `from()`, `to()`, `call_id()` and `cseq()` succeed afterwards.
pub fn parse_datagram(data: &[u8], limits: &Limits) -> Result<Message, ParseError> {
    let (start, headers, body) = parse_parts(data, limits, false)?;
    let body = Bytes::copy_from_slice(data.get(body).unwrap_or_default());
    Ok(start.into_message(headers, body))
}

/// Parses one complete message from a stream transport (TCP, TLS): as [`parse_datagram`], but
/// Content-Length is mandatory ([`ParseError::MissingContentLength`]) and bytes past it are ignored.
/// [`crate::StreamFramer`] produces such frames.
pub fn parse_stream_message(data: &[u8], limits: &Limits) -> Result<Message, ParseError> {
    let (start, headers, body) = parse_parts(data, limits, true)?;
    let body = Bytes::copy_from_slice(data.get(body).unwrap_or_default());
    Ok(start.into_message(headers, body))
}

/// As [`parse_stream_message`], without copying the body.
pub(crate) fn parse_frame(frame: &Bytes, limits: &Limits) -> Result<Message, ParseError> {
    let (start, headers, body) = parse_parts(frame, limits, true)?;
    let body = if body.start <= body.end && body.end <= frame.len() {
        frame.slice(body)
    } else {
        Bytes::new()
    };
    Ok(start.into_message(headers, body))
}

enum StartLine {
    Request(Method, Uri),
    Response(StatusCode, String),
}

impl StartLine {
    fn into_message(self, headers: Headers, body: Bytes) -> Message {
        match self {
            Self::Request(method, uri) => Message::Request(Request {
                method,
                uri,
                headers,
                body,
            }),
            Self::Response(status, reason) => Message::Response(Response {
                status,
                reason,
                headers,
                body,
            }),
        }
    }
}

/// Returns the index after the leading CR/LF keep-alive bytes.
fn skip_leading_crlf(data: &[u8]) -> usize {
    let mut pos = 0;
    loop {
        match (data.get(pos), data.get(pos + 1)) {
            (Some(b'\r'), Some(b'\n')) => pos += 2,
            (Some(b'\n'), _) => pos += 1,
            _ => return pos,
        }
    }
}

/// The next line starting at `*pos`, without its CRLF (or bare LF). `None` if no LF follows.
fn next_line<'a>(data: &'a [u8], pos: &mut usize) -> Option<&'a [u8]> {
    let rest = data.get(*pos..)?;
    let lf = rest.iter().position(|&b| b == b'\n')?;
    let line = rest.get(..lf)?;
    *pos += lf + 1;
    Some(line.strip_suffix(b"\r").unwrap_or(line))
}

/// Checks a head line for control bytes and UTF-8.
fn line_str(line: &[u8], line_no: usize) -> Result<&str, ParseError> {
    if line.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        return Err(ParseError::NulByte);
    }
    std::str::from_utf8(line).map_err(|_| ParseError::InvalidUtf8 { line: line_no })
}

fn parse_version(v: &str) -> Result<(), ParseError> {
    let Some(num) = v
        .get(..4)
        .filter(|p| p.eq_ignore_ascii_case("SIP/"))
        .and(v.get(4..))
    else {
        return Err(ParseError::BadStartLine);
    };
    if num == "2.0" {
        Ok(())
    } else if num.split_once('.').is_some_and(|(a, b)| {
        !a.is_empty()
            && !b.is_empty()
            && a.bytes().all(|c| c.is_ascii_digit())
            && b.bytes().all(|c| c.is_ascii_digit())
    }) {
        Err(ParseError::BadVersion)
    } else {
        Err(ParseError::BadStartLine)
    }
}

fn parse_start_line(line: &str, limits: &Limits) -> Result<StartLine, ParseError> {
    if line.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("SIP/")) {
        let (version, rest) = line.split_once(' ').ok_or(ParseError::BadStartLine)?;
        parse_version(version)?;
        let (code, reason) = match rest.split_once(' ') {
            Some((c, r)) => (c, r),
            None => (rest, ""),
        };
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseError::BadStatusCode);
        }
        let code: u16 = code.parse().map_err(|_| ParseError::BadStatusCode)?;
        if !(100..=699).contains(&code) {
            return Err(ParseError::BadStatusCode);
        }
        return Ok(StartLine::Response(StatusCode(code), reason.to_owned()));
    }
    let mut parts = line.split(' ');
    let (Some(method), Some(uri), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ParseError::BadStartLine);
    };
    let method = Method::from_token(method).map_err(|_| ParseError::BadStartLine)?;
    parse_version(version)?;
    if uri.is_empty() || uri.contains(['\t', '<', '>', '"']) {
        return Err(ParseError::BadUri);
    }
    let uri = Uri::parse_with(uri, limits).map_err(|e| match e {
        ParseError::TooManyParams => e,
        _ => ParseError::BadUri,
    })?;
    Ok(StartLine::Request(method, uri))
}

/// Parses a header line `name HCOLON value` into (name, trimmed value).
fn split_header_line(line: &str) -> Result<(HeaderName, &str), ParseError> {
    let (name, value) = line.split_once(':').ok_or(ParseError::BadHeaderLine)?;
    let name = name.trim_end_matches([' ', '\t']);
    if !is_token(name) {
        return Err(ParseError::BadHeaderLine);
    }
    Ok((HeaderName::parse(name), trim_lws(value)))
}

/// Scans the head and locates the body. Returns the start line, headers and the body range in `data`.
fn parse_parts(
    data: &[u8],
    limits: &Limits,
    stream: bool,
) -> Result<(StartLine, Headers, Range<usize>), ParseError> {
    if data.len() > limits.max_message_size {
        return Err(ParseError::TooLarge {
            limit: limits.max_message_size,
        });
    }
    let mut pos = skip_leading_crlf(data);
    if pos >= data.len() {
        return Err(ParseError::KeepAlive);
    }
    let first = next_line(data, &mut pos).ok_or(ParseError::Incomplete)?;
    if first.len() > limits.max_header_line {
        return Err(ParseError::HeaderLineTooLong {
            limit: limits.max_header_line,
        });
    }
    let start = parse_start_line(line_str(first, 1)?, limits)?;

    let mut headers = Headers::with_capacity(16, *limits);
    // The header being unfolded. Its logical length is what the printer will write:
    // canonical name, ": ", value. So a message within the limits prints within them too.
    let mut current: Option<(HeaderName, String)> = None;
    let too_long =
        |name: &HeaderName, value: &str| name.as_str().len() + 2 + value.len() > limits.max_header_line;
    let mut line_no = 1;
    loop {
        let line = next_line(data, &mut pos).ok_or(ParseError::Incomplete)?;
        line_no += 1;
        if line.is_empty() {
            break;
        }
        let text = line_str(line, line_no)?;
        if line.first().copied().is_some_and(is_wsp) {
            // RFC 3261 7.3.1 line folding: continues the previous header with one space.
            let (name, value) = current.as_mut().ok_or(ParseError::BadHeaderLine)?;
            let more = trim_lws(text);
            if !more.is_empty() {
                if !value.is_empty() {
                    value.push(' ');
                }
                value.push_str(more);
                if too_long(name, value) {
                    return Err(ParseError::HeaderLineTooLong {
                        limit: limits.max_header_line,
                    });
                }
            }
            continue;
        }
        if let Some((name, value)) = current.take() {
            headers.push(name, value);
        }
        if headers.len() >= limits.max_headers {
            return Err(ParseError::TooManyHeaders {
                limit: limits.max_headers,
            });
        }
        let (name, value) = split_header_line(text)?;
        if too_long(&name, value) {
            return Err(ParseError::HeaderLineTooLong {
                limit: limits.max_header_line,
            });
        }
        current = Some((name, value.to_owned()));
    }
    if let Some((name, value)) = current.take() {
        headers.push(name, value);
    }

    let rest = data.len().saturating_sub(pos);
    let body = match headers.content_length()? {
        Some(declared) => {
            if declared > limits.max_body {
                return Err(ParseError::BodyTooLarge {
                    limit: limits.max_body,
                });
            }
            if rest < declared {
                return Err(ParseError::BodyTooShort {
                    declared,
                    actual: rest,
                });
            }
            pos..pos + declared
        }
        None if stream => return Err(ParseError::MissingContentLength),
        None => {
            if rest > limits.max_body {
                return Err(ParseError::BodyTooLarge {
                    limit: limits.max_body,
                });
            }
            pos..data.len()
        }
    };
    validate(&start, &headers)?;
    Ok((start, headers, body))
}

/// Checks the headers every layer relies on.
fn validate(start: &StartLine, headers: &Headers) -> Result<(), ParseError> {
    headers.vias()?;
    headers.from()?;
    headers.to()?;
    headers.call_id()?;
    let cseq = headers.cseq()?;
    if let StartLine::Request(method, _) = start
        && cseq.method != *method
    {
        return Err(ParseError::CSeqMethodMismatch);
    }
    if headers.get(&HeaderName::MaxForwards).is_some() {
        headers.max_forwards()?;
    }
    Ok(())
}

/// Builds the `400 Bad Request` for a request that failed to parse with `err`, if its Via, From, To,
/// Call-ID and CSeq can be salvaged (and the top Via is well formed, so the response can be routed).
///
/// Returns `None` for responses, ACKs, keep-alives and anything too broken; the caller then drops the
/// bytes silently. The reason phrase says what was wrong (`Bad Request - Content-Length larger than body`).
#[must_use]
pub fn bad_request_response(data: &[u8], err: &ParseError) -> Option<Response> {
    if matches!(err, ParseError::KeepAlive) {
        return None;
    }
    let data = data.get(..data.len().min(SALVAGE_MAX_BYTES))?;
    let mut pos = skip_leading_crlf(data);
    let first = next_line(data, &mut pos)?;
    let method = first.split(|&b| b == b' ').next()?;
    let method = std::str::from_utf8(method).ok().filter(|m| is_token(m))?;
    if method == "ACK" || first.get(..4).is_some_and(|p| p.eq_ignore_ascii_case(b"SIP/")) {
        return None;
    }

    let mut vias: Vec<String> = Vec::new();
    let mut singles: [Option<String>; 4] = [None, None, None, None];
    let wanted = [
        HeaderName::From,
        HeaderName::To,
        HeaderName::CallId,
        HeaderName::CSeq,
    ];
    // (name, value) of the header being unfolded, if it is one we keep.
    let mut current: Option<(HeaderName, String)> = None;
    let mut flush = |cur: Option<(HeaderName, String)>, vias: &mut Vec<String>| {
        if let Some((name, value)) = cur {
            if name == HeaderName::Via {
                vias.push(value);
            } else if let Some(i) = wanted.iter().position(|w| *w == name)
                && let Some(slot) = singles.get_mut(i)
                && slot.is_none()
            {
                *slot = Some(value);
            }
        }
    };
    for _ in 0..SALVAGE_MAX_LINES {
        let Some(line) = next_line(data, &mut pos) else {
            break;
        };
        if line.is_empty() {
            break;
        }
        let usable = !line.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f);
        let text = if usable {
            std::str::from_utf8(line).ok()
        } else {
            None
        };
        if line.first().copied().is_some_and(is_wsp) {
            match (&mut current, text) {
                (Some((_, value)), Some(t)) => {
                    let t = trim_lws(t);
                    if !t.is_empty() {
                        value.push(' ');
                        value.push_str(t);
                    }
                }
                (Some(_), None) => current = None,
                (None, _) => {}
            }
            continue;
        }
        flush(current.take(), &mut vias);
        if let Some((name, value)) = text.and_then(|t| split_header_line(t).ok())
            && (name == HeaderName::Via || wanted.contains(&name))
        {
            current = Some((name, value.to_owned()));
        }
    }
    flush(current.take(), &mut vias);

    let top = vias.first()?;
    let mut parsed = Vec::new();
    let first_via =
        crate::syntax::split_top_level(top, b',', usize::MAX, ParseError::TooManyListItems).ok()?;
    typed::parse_via_list(first_via.first()?, &Limits::default(), &mut parsed).ok()?;
    let [Some(from), Some(to), Some(call_id), Some(cseq)] = singles else {
        return None;
    };
    if [&from, &to, &call_id, &cseq].iter().any(|v| v.is_empty()) {
        return None;
    }

    let mut resp = Response::new(StatusCode::BAD_REQUEST);
    resp.reason = err.reason_phrase();
    for v in vias {
        resp.headers.push(HeaderName::Via, v);
    }
    resp.headers.push(HeaderName::From, from);
    resp.headers.push(HeaderName::To, to);
    resp.headers.push(HeaderName::CallId, call_id);
    resp.headers.push(HeaderName::CSeq, cseq);
    Some(resp)
}

#[cfg(test)]
mod tests;
