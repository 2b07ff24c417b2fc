//! The one error type of this crate.

use crate::header::HeaderName;

/// Why a SIP message could not be parsed.
///
/// Every variant is caused by the peer (the bytes on the wire), except [`ParseError::Incomplete`], which
/// only says more bytes are needed, and [`ParseError::KeepAlive`], which is not an error at all but a
/// CRLF keep-alive the transport should ignore.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The datagram held only CRLF keep-alive bytes (RFC 5626 section 4.4.1); ignore it silently.
    #[error("keep-alive (CRLF only)")]
    KeepAlive,
    /// The message (or buffered stream data) exceeds the size limit.
    #[error("message larger than {limit} bytes")]
    TooLarge {
        /// The configured limit in bytes.
        limit: usize,
    },
    /// More header lines than allowed.
    #[error("more than {limit} header fields")]
    TooManyHeaders {
        /// The configured limit.
        limit: usize,
    },
    /// One (unfolded) header line is longer than allowed.
    #[error("header line longer than {limit} bytes")]
    HeaderLineTooLong {
        /// The configured limit in bytes.
        limit: usize,
    },
    /// The body is larger than allowed.
    #[error("body larger than {limit} bytes")]
    BodyTooLarge {
        /// The configured limit in bytes.
        limit: usize,
    },
    /// The start line is neither a Request-Line nor a Status-Line.
    #[error("malformed start line")]
    BadStartLine,
    /// The SIP version is not `SIP/2.0`.
    #[error("unsupported SIP version")]
    BadVersion,
    /// The status code is not three digits in 100..=699.
    #[error("bad status code")]
    BadStatusCode,
    /// The method is not a valid token.
    #[error("bad method")]
    BadMethod,
    /// A URI could not be parsed.
    #[error("bad URI")]
    BadUri,
    /// A header line or header value is malformed.
    #[error("malformed {name} header")]
    BadHeader {
        /// The header at fault.
        name: HeaderName,
    },
    /// A header line has no colon or an invalid name.
    #[error("malformed header line")]
    BadHeaderLine,
    /// A required header is missing.
    #[error("missing {0} header")]
    MissingHeader(HeaderName),
    /// The body is shorter than Content-Length declares.
    #[error("Content-Length {declared} larger than body ({actual} bytes)")]
    BodyTooShort {
        /// The declared Content-Length.
        declared: usize,
        /// The bytes actually present.
        actual: usize,
    },
    /// Content-Length is not a decimal number, is negative, overflows, or differs between copies.
    #[error("bad Content-Length")]
    BadContentLength,
    /// A stream message came without a Content-Length (mandatory on streams, RFC 3261 18.3).
    #[error("Content-Length is mandatory on stream transports")]
    MissingContentLength,
    /// CSeq is malformed (non-numeric, overflowing, or a bad method).
    #[error("bad CSeq")]
    BadCSeq,
    /// Max-Forwards is not a number in range.
    #[error("bad Max-Forwards")]
    BadMaxForwards,
    /// The CSeq method differs from the request method.
    #[error("CSeq method does not match the request method")]
    CSeqMethodMismatch,
    /// A header line is not valid UTF-8.
    #[error("invalid UTF-8 in header line {line}")]
    InvalidUtf8 {
        /// 1-based line number in the message head.
        line: usize,
    },
    /// A NUL byte (or another forbidden control character) appeared in the message head.
    #[error("NUL or control byte in message head")]
    NulByte,
    /// A quoted string is not terminated.
    #[error("unterminated quoted string")]
    UnterminatedQuote,
    /// `<` without `>` (or the reverse).
    #[error("unbalanced angle brackets")]
    UnbalancedAngle,
    /// More parameters than allowed on one URI or header value.
    #[error("too many parameters")]
    TooManyParams,
    /// More comma-separated values than allowed in one header list.
    #[error("too many list items")]
    TooManyListItems,
    /// An IP address or host name is malformed.
    #[error("bad host")]
    BadHost,
    /// A port is not a number in 0..=65535.
    #[error("bad port")]
    BadPort,
    /// The message ended before its head was complete.
    #[error("incomplete message")]
    Incomplete,
}

impl ParseError {
    /// A short human text for a `400 Bad Request - ...` reason phrase.
    #[must_use]
    pub fn reason_phrase(&self) -> String {
        match self {
            Self::BodyTooShort { .. } => "Bad Request - Content-Length larger than body".to_owned(),
            Self::MissingHeader(h) => format!("Bad Request - Missing {h}"),
            Self::BadHeader { name } => format!("Bad Request - Malformed {name}"),
            other => {
                let text = other.to_string();
                let mut out = String::with_capacity(text.len() + 14);
                out.push_str("Bad Request - ");
                // Keep the reason phrase printable: it goes on the wire.
                out.extend(text.chars().filter(|c| !c.is_control()));
                out
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_phrases_name_the_fault() {
        assert_eq!(
            ParseError::BodyTooShort {
                declared: 10,
                actual: 2
            }
            .reason_phrase(),
            "Bad Request - Content-Length larger than body"
        );
        assert_eq!(
            ParseError::MissingHeader(HeaderName::CallId).reason_phrase(),
            "Bad Request - Missing Call-ID"
        );
        assert_eq!(
            ParseError::BadHeader {
                name: HeaderName::Via
            }
            .reason_phrase(),
            "Bad Request - Malformed Via"
        );
        assert_eq!(
            ParseError::NulByte.reason_phrase(),
            "Bad Request - NUL or control byte in message head"
        );
    }
}
