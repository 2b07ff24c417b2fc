//! SIP message model, parser, stream framer and printer (RFC 3261, RFC 5118 IPv6, RFC 5626 keep-alives).
//!
//! The crate is pure: bytes in, messages out, no IO and no clock. It never panics on any input, and every
//! input size is bounded by [`Limits`] with a typed [`ParseError`].
//!
//! # Model
//! - [`Message`] is a [`Request`] or a [`Response`]. Header values are kept raw (folded lines joined with
//!   one space, trimmed) in [`Headers`], in wire order; header names are case-insensitive and compact
//!   forms are understood (`i` is `Call-ID`).
//! - Typed views are parsed on demand: [`Headers::vias`], [`Headers::top_via`], [`Headers::from`],
//!   [`Headers::to`], [`Headers::call_id`], [`Headers::cseq`], [`Headers::contacts`]... A message returned
//!   by the parser always has a well-formed Via, From, To, Call-ID and CSeq.
//! - URIs ([`Uri`]) are `sip:`/`sips:` ([`SipUri`], user percent-decoded and re-escaped when printed),
//!   `tel:` ([`TelUri`]) or kept opaque.
//!
//! # Transports
//! - UDP: [`parse_datagram`]. CRLF-only datagrams return [`ParseError::KeepAlive`]; ignore them.
//! - TCP/TLS: [`StreamFramer`] cuts the stream by the (mandatory) Content-Length and counts RFC 5626
//!   double-CRLF pings.
//! - A request that fails to parse can often still be answered: [`bad_request_response`].
//! - [`Request::to_bytes`] / [`Response::to_bytes`] print with canonical header names and a correct
//!   Content-Length.
//!
//! # Example
//! (Other workspace crates import this package as `sip_msg`.)
//! ```
//! use hotline_sip_msg::{parse_datagram, Limits, Message, Method, Response, StatusCode};
//!
//! let wire = b"INVITE sip:%61lice@example.com SIP/2.0\r\n\
//! v: SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bK-1;rport\r\n\
//! f: \"Bob\" <sip:bob@example.org>;tag=a1\r\n\
//! t: <sip:alice@example.com>\r\n\
//! i: 1234@client\r\n\
//! CSeq: 1 INVITE\r\n\
//! l: 0\r\n\r\n";
//! let Message::Request(req) = parse_datagram(wire, &Limits::default())? else { unreachable!() };
//! assert_eq!(req.method, Method::Invite);
//! assert_eq!(req.uri.user(), Some("alice"));
//! assert_eq!(req.headers.top_via()?.branch(), Some("z9hG4bK-1"));
//! assert_eq!(req.headers.from()?.tag(), Some("a1"));
//!
//! let resp = Response::from_request(&req, StatusCode::RINGING);
//! let bytes = resp.to_bytes();
//! assert!(bytes.starts_with(b"SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP [2001:db8::1]:5060"));
//! # Ok::<(), hotline_sip_msg::ParseError>(())
//! ```
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod error;
mod framer;
mod header;
mod limits;
mod message;
mod method;
mod parse;
mod status;
mod syntax;
mod typed;
mod uri;

pub use error::ParseError;
pub use framer::StreamFramer;
pub use header::{Header, HeaderName, Headers};
pub use limits::Limits;
pub use message::{Message, Request, Response};
pub use method::Method;
pub use parse::{bad_request_response, parse_datagram, parse_stream_message};
pub use status::StatusCode;
pub use typed::{CSeq, Contact, NameAddr, Via};
pub use uri::{Host, Param, SipUri, TelUri, Uri};
