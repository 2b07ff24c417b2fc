//! SDP model and offer/answer.
//!
//! - [`SessionDescription`] models an SDP (RFC 8866/4566): `v`, `o`, `s`, `c` (IPv4/IPv6,
//!   session and media level), `t`, `m`, and the `rtpmap`, `fmtp`, `ptime`, `maxptime` and
//!   direction attributes. Every other line and attribute is kept verbatim and printed back.
//!   [`SessionDescription::parse`] never panics; its input is bounded by [`ParseLimits`]
//!   (16 KiB, 16 media descriptions by default). `Display` prints it with CRLF line ends.
//! - [`answer_offer`] answers a peer's offer as a PCMU/PCMA/telephone-event endpoint
//!   (RFC 3264); [`create_offer`] and [`parse_answer`] are the offerer's side.
//!
//! Everything is pure: no IO, clock or randomness (session ids come in as arguments).
//!
//! ```
//! use std::net::{IpAddr, Ipv4Addr};
//! use hotline_sdp::{LocalCaps, SessionDescription, answer_offer};
//! use media::{Codec, Direction};
//!
//! let offer: SessionDescription = "v=0\r\n\
//!     o=user1 53655765 2353687637 IN IP4 192.0.2.10\r\n\
//!     s=-\r\n\
//!     c=IN IP4 192.0.2.10\r\n\
//!     t=0 0\r\n\
//!     m=audio 6000 RTP/AVP 0 101\r\n\
//!     a=rtpmap:0 PCMU/8000\r\n\
//!     a=rtpmap:101 telephone-event/8000\r\n\
//!     a=fmtp:101 0-15\r\n"
//!     .parse()?;
//! let local = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1));
//! let answer = answer_offer(&offer, &LocalCaps::g711(), local, 40_000, 1, 1)?;
//! assert_eq!(answer.remote.codec, Codec::Pcmu);
//! assert_eq!(answer.remote.dtmf_payload_type, Some(101));
//! assert_eq!(answer.direction, Direction::SendRecv);
//! assert!(answer.sdp.to_string().contains("m=audio 40000 RTP/AVP 0 101\r\n"));
//! # Ok::<(), hotline_sdp::SdpError>(())
//! ```
//!
//! # Deliberate differences from RFC 8866 / RFC 3264
//! - Tolerated although invalid: bare LF line ends, blank lines, missing `s=` (taken as
//!   `-`) and `t=` (printed as `t=0 0`), non-UTF-8 bytes (replaced), `a=ptime:20.0`.
//!   A malformed known attribute is kept as [`Attribute::Other`] rather than failing the
//!   whole description; `v`, `o`, `c`, `t` and `m` lines must be well-formed.
//! - Only the first usable audio stream is accepted; further audio, video and other
//!   streams are rejected (port 0). SRTP and DTLS profiles are rejected on SIP legs.
//! - A ptime that is not 10–60 ms in steps of 10 is answered with 20 ms.
//! - Host names in `c=` are kept but not used: the stream's address must be an IP literal.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod error;
mod model;
mod negotiate;
mod parse;
mod print;
#[cfg(test)]
mod vectors;

pub use error::{LineKind, SdpError};
pub use model::{
    AddrType, Address, Attribute, Connection, Fmtp, Line, MediaDescription, MediaKind, Origin, Rtpmap,
    SessionDescription, Timing,
};
pub use negotiate::{
    Answer, DEFAULT_PTIME_MS, LocalCaps, OFFER_TELEPHONE_EVENT_PT, answer_offer, create_offer, parse_answer,
};
pub use parse::ParseLimits;
