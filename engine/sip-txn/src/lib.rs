//! Sans-IO SIP transaction layer: RFC 3261 §17 with the RFC 6026 corrections.
//!
//! [`TxnLayer`] is the endpoint demux of one shard. It owns every transaction, matches messages to them
//! ([`TxnKey`]), runs the four state machines ([`InviteClient`], [`NonInviteClient`], [`InviteServer`],
//! [`NonInviteServer`]) and keeps all their deadlines ([`Timer`] A–M, one [`TimerTable`] per transaction,
//! one ordered index for the layer). It never reads a clock, a socket or a global RNG: time comes in as
//! `now`, messages come in as parsed [`sip_msg::Request`]/[`sip_msg::Response`], and what must be sent comes
//! out as [`Transmit`]s.
//!
//! # What the layer does for the TU
//!
//! * Retransmits requests (Timers A, E) and responses (Timer G) over UDP, never over TCP.
//! * Times out client transactions (Timers B, F → [`TxnEvent::Timeout`]; treat it as a `408`).
//! * Absorbs retransmitted requests (answering with the last response) and retransmitted responses.
//! * ACKs 300-699 responses to our INVITEs itself (same branch, RFC 3261 17.1.1.3).
//! * After our 2xx to an INVITE, retransmits the 2xx (RFC 3261 13.3.1.4) until an ACK arrives
//!   ([`Incoming::AckFor2xx`]) or Timer L fires ([`TxnEvent::AckTimeout`]: send BYE).
//! * Passes 2xx retransmissions to the TU in the client's Accepted state (RFC 6026), which ACKs them again.
//! * Finds the INVITE a CANCEL cancels ([`TxnLayer::cancel_target`]).
//! * Refuses new requests above [`TxnConfig::max_transactions`] ([`Incoming::Overloaded`]: answer 503).
//!
//! # What it deliberately does not do
//!
//! * Send the ACK for a 2xx: that is the dialog's request (see the `sip-dialog` crate), sent with
//!   [`TxnLayer::send_stateless`].
//! * Pick destinations (RFC 3263) or report transport errors: the IO shell does, and may
//!   [`TxnLayer::abandon`] a transaction whose transport failed.
//! * Merge requests (RFC 3261 8.2.2.2) or detect loops: that is the TU's business.
//! * Compare the To tag when matching RFC 2543 (cookie-less) requests; see [`TxnKey`].
//! * Apply Timer C (proxies only). An INVITE client transaction in Proceeding waits for its final response
//!   until the TU sends a CANCEL, after which Timer B (64·T1) bounds the wait (RFC 3261 9.1).
//!
//! Responses to server transactions go back to the address the request came from (symmetric
//! response routing, as `rport` does), not to the Via sent-by.
//!
//! # Configuration
//!
//! | key | unit | default | meaning |
//! |---|---|---|---|
//! | `timers.t1` | duration | 500 ms | RTT estimate; A, E, G start here; B, F, H, J, L, M are 64·T1 |
//! | `timers.t2` | duration | 4 s | cap of the E and G back-off |
//! | `timers.t4` | duration | 5 s | Timers I and K over UDP |
//! | `timers.timer_d` | duration | 32 s | Timer D over UDP |
//! | `max_transactions` | count | 65 536 | live transactions above which new requests are refused |
//! | `send_trying` | bool | true | answer every new INVITE with `100 Trying` at once |
//!
//! # Events
//!
//! [`TxnEvent::Timeout`], [`TxnEvent::AckTimeout`], [`TxnEvent::Terminated`], drained with
//! [`TxnLayer::poll_event`].
//!
//! # The run loop
//!
//! Mutate, then drain, then sleep until the next deadline:
//!
//! ```no_run
//! # use hotline_sip_txn as sip_txn; // dependents import the crate as `sip_txn`
//! use std::net::SocketAddr;
//! use std::time::Instant;
//! use sip_txn::{Incoming, Transport, TxnConfig, TxnEvent, TxnLayer};
//!
//! # fn recv() -> Option<(sip_msg::Message, SocketAddr)> { None }
//! # fn send(_to: SocketAddr, _bytes: &[u8]) {}
//! # fn clock() -> Instant { unimplemented!() }
//! # fn wait_until(_deadline: Option<Instant>) {}
//! let mut layer = TxnLayer::new(TxnConfig::default());
//! loop {
//!     let now = clock(); // the IO shell owns the clock
//!     if let Some((message, source)) = recv() {
//!         let incoming = match message {
//!             sip_msg::Message::Request(req) => layer.handle_request(now, req, source, Transport::Udp),
//!             sip_msg::Message::Response(resp) => layer.handle_response(now, resp, source),
//!         };
//!         match incoming {
//!             Incoming::NewRequest { key, request } => {
//!                 // The TU decides; here: answer everything 200.
//!                 let ok = sip_msg::Response::from_request(&request, sip_msg::StatusCode::OK);
//!                 layer.respond(now, &key, ok).expect("a fresh server transaction takes a response");
//!             }
//!             Incoming::Overloaded { request } => {
//!                 let busy = sip_msg::Response::from_request(&request, sip_msg::StatusCode::SERVICE_UNAVAILABLE);
//!                 layer.send_stateless(sip_msg::Message::Response(busy), source, Transport::Udp);
//!             }
//!             _ => {}
//!         }
//!     }
//!     layer.handle_timeout(now);
//!     while let Some(transmit) = layer.poll_transmit() {
//!         send(transmit.destination, &transmit.message.to_bytes());
//!     }
//!     while let Some(event) = layer.poll_event() {
//!         if let TxnEvent::AckTimeout { key } = event {
//!             let _ = key; // the TU sends BYE for that dialog
//!         }
//!     }
//!     wait_until(layer.poll_timeout().map(|(at, _timer)| at));
//! }
//! ```
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod error;
mod fsm;
mod key;
mod layer;
mod timer;
mod wire;

#[cfg(test)]
mod tests;

pub use error::TxnError;
pub use fsm::{
    InviteClient, InviteClientState, InviteServer, InviteServerState, NonInviteClient, NonInviteClientState,
    NonInviteServer, NonInviteServerState,
};
pub use key::{MAGIC_COOKIE, Role, TxnKey, is_rfc3261_branch};
pub use layer::{CancelMatch, Incoming, Transmit, Transport, TxnConfig, TxnEvent, TxnLayer, TxnState};
pub use timer::{Timer, TimerConfig, TimerTable};
