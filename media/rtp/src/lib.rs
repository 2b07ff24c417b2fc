//! RTP/RTCP packets, RFC 4733 events, RTP session statistics. Pure and sans-IO.
//!
//! - [`RtpPacket`]: parse (borrowed) and write RTP packets (RFC 3550 §5.1).
//! - [`TelephoneEvent`]: the RFC 4733 telephone-event payload.
//! - [`rtcp`]: SR, RR, SDES, BYE and compound packets (RFC 3550 §6).
//! - [`RtpSession`]: receive statistics of one source: loss and jitter (RFC 3550 A.1, A.3, A.8).
//! - [`classify`]: RTP or RTCP (RFC 5761 §4), whether they share a port or not.
//! - Newtypes for wrapping numbers: [`Seq16`]/[`SeqNo`], [`Ts32`]/[`RtpTs`], and their extenders.
//!
//! Nothing here panics on peer input: every parser returns [`RtpError`].
//!
//! ```
//! use hotline_rtp::{Pt, RtpPacket, Seq16, Ssrc, Ts32};
//!
//! let payload = [0xFF; 160];
//! let bytes = RtpPacket::new(Pt(0), Seq16(1), Ts32(160), Ssrc(7), &payload).to_vec()?;
//! let back = RtpPacket::parse(&bytes)?;
//! assert_eq!(back.payload.len(), 160);
//! # Ok::<(), hotline_rtp::RtpError>(())
//! ```
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod demux;
mod error;
mod event;
mod packet;
pub mod rtcp;
mod session;
mod types;

pub use demux::{PacketKind, classify};
pub use error::RtpError;
pub use event::{TELEPHONE_EVENT_LEN, TelephoneEvent};
pub use packet::{Csrcs, HeaderExtension, MAX_CSRCS, RTP_HEADER_LEN, RtpPacket};
pub use rtcp::{Bye, ReceiverReport, ReportBlock, RtcpPacket, SdesChunk, SdesItem, SenderInfo, SenderReport};
pub use session::{RtpSession, SeqVerdict, jitter_duration};
pub use types::{NtpTime, Pt, RtpTs, Seq16, SeqExtender, SeqNo, Ssrc, Ts32, TsExtender, duration_to_1_65536};
