//! The agent's browser leg: WebRTC audio over [str0m], sans-IO, every agent behind one socket.
//!
//! # Design
//!
//! - **One socket, one hub.** A [`WebRtcHub`] holds one str0m `Rtc` per agent leg and serves them
//!   all from a single UDP socket, so the engine opens one port for every workstation whatever
//!   the number of agents. Each leg advertises that one address as its only ICE candidate.
//! - **Routing by `accepts`.** str0m decides whether a datagram belongs to an `Rtc`
//!   (`Rtc::accepts`): traffic from the address ICE nominated, or a STUN check carrying that
//!   leg's username fragment and a valid MESSAGE-INTEGRITY. The hub does not ask every leg: it
//!   finds the one candidate through two indexes — the ufrag in a check's USERNAME, and the
//!   source addresses of checks that passed — and lets that leg's `accepts` decide. What no leg
//!   accepts (stray DTLS/RTP from an unknown address, a check with a wrong username or integrity,
//!   oversized or unparsable datagrams) is dropped and counted and never reaches a leg, so a
//!   forged packet cannot tear a call down.
//! - **ICE-lite.** The engine sits on a reachable address, so it does not gather candidates or
//!   run checks: it answers the browser's checks, the browser (full ICE, controlling) picks the
//!   pair, and the engine sends nothing before the browser's first check reaches it. Liveness
//!   comes from the browser's consent checks: when they stop, str0m reports ICE disconnected
//!   after 15 s and the hub closes the leg [`HubConfig::disconnect_grace`] later.
//! - **DTLS-SRTP terminated here.** Audio arrives decrypted as [`WebRtcEvent::Audio`] (one RTP
//!   payload each, in order) and leaves with [`WebRtcHub::send_audio`], already encoded in the
//!   leg's codec. We answer G.711 first ([`AudioCodec::PREFERENCE`]) so an agent bridges to a
//!   PSTN caller without transcoding; Chromium offers PCMU and PCMA behind Opus.
//! - **Sans-IO.** The hub never reads a clock, opens a socket or spawns a task: datagrams and
//!   `now` come in, datagrams, events and the next deadline go out. The same code runs under the
//!   runtime's tokio shell and in the tests, where a second str0m `Rtc` plays the browser and
//!   virtual time runs a minute of call in milliseconds, the same way every time. (Randomness is
//!   the exception: str0m draws ICE credentials, SSRCs and DTLS randoms from its own RNG.)
//!
//! # Run loop
//!
//! Push an input, then drain: transmits to the socket, events to the engine, and re-arm the
//! timer.
//!
//! ```no_run
//! use std::net::{SocketAddr, UdpSocket};
//! use std::time::Instant;
//! use hotline_webrtc::{WebRtcEvent, WebRtcHub};
//!
//! /// The runtime's side: `now` is its clock, `recv_until` waits for a datagram on the socket until the
//! /// hub's next deadline, `offer` came in on the agent's WebSocket.
//! fn run(
//!     public: SocketAddr,
//!     offer: &str,
//!     now: impl Fn() -> Instant,
//!     recv_until: impl Fn(&UdpSocket, Option<Instant>) -> Option<(SocketAddr, Vec<u8>)>,
//! ) {
//! let socket = UdpSocket::bind(public).unwrap();
//! let mut hub = WebRtcHub::new(public);
//! // The browser's offer in, our answer out (back on the agent's WebSocket).
//! let (leg, answer) = hub.accept_offer(now(), offer).unwrap();
//! loop {
//!     match recv_until(&socket, hub.poll_timeout()) {
//!         Some((source, datagram)) => hub.handle_datagram(now(), source, &datagram),
//!         None => hub.handle_timeout(now()),
//!     }
//!     while let Some((destination, datagram)) = hub.poll_transmit() {
//!         let _ = socket.send_to(&datagram, destination);
//!     }
//!     while let Some((leg, event)) = hub.poll_event() {
//!         match event {
//!             WebRtcEvent::Connected => {}
//!             WebRtcEvent::Audio { payload, rtp_time, .. } => { /* to the leg's jitter buffer */ }
//!             WebRtcEvent::Dtmf { digit } => {}
//!             WebRtcEvent::Closed { reason } => {}
//!             _ => {}
//!         }
//!     }
//!     // On the media clock: hub.send_audio(now(), leg, &frame, rtp_time)
//! }
//! }
//! ```
//!
//! # Departures and limits
//!
//! - Audio only: an offer with a video or data channel m-line is refused (the workstation offers
//!   one audio m-line). No renegotiation after the first offer/answer, no ICE restart, no TURN,
//!   no TCP.
//! - One DTLS certificate for every leg of a hub, made when the hub is.
//! - The crypto backend is str0m's `rust-crypto` (dimpl + RustCrypto, no C toolchain).
//! - [`HubConfig`] lists every limit; the `pub const`s of this crate are its defaults.
//!
//! [str0m]: https://github.com/algesten/str0m
#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod config;
mod error;
mod event;
mod hub;
mod leg;
mod stun;

#[cfg(test)]
mod tests;

pub use config::{
    CONNECT_TIMEOUT, DISCONNECT_GRACE, HubConfig, MAX_DATAGRAM, MAX_LEGS, MAX_OFFER_BYTES, REORDER_PACKETS,
    REORDER_TIMEOUT,
};
pub use error::WebRtcError;
pub use event::{AudioCodec, CloseReason, LegId, WebRtcEvent};
pub use hub::WebRtcHub;
