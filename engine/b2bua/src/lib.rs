//! Call sessions, sans-IO: one [`CallSession`] per call, owned by one shard task.
//!
//! A session answers the caller's INVITE (SDP offer/answer), hosts the IVR interpreter, turns its actions
//! into media commands, reads DTMF from the media plane and from SIP INFO, handles the caller's re-INVITEs
//! (hold and unhold), CANCEL and BYE, and reports what the call record needs.
//!
//! The drain contract: after every `handle_*` call, drain [`CallSession::poll_output`] until it returns
//! `None`, then re-arm the timer with [`CallSession::poll_timeout`]. Nothing here reads a clock, touches a
//! socket or draws from a global RNG: time comes in as `now`, randomness from the seed in [`IncomingCall`].
//!
//! ```no_run
//! # fn demo(mut session: hotline_b2bua::CallSession, now: std::time::Instant) {
//! session.handle_timeout(now);
//! while let Some(out) = session.poll_output() {
//!     match out {
//!         hotline_b2bua::Output::Respond { .. } => { /* TxnLayer::respond */ }
//!         hotline_b2bua::Output::Send { .. } => { /* TxnLayer::send_request */ }
//!         hotline_b2bua::Output::Media(_cmd) => { /* to the call's media leg */ }
//!         hotline_b2bua::Output::Record(_rec) => { /* to the call-record writer */ }
//!         hotline_b2bua::Output::Io(_req) => { /* run it, answer with handle_io_result */ }
//!         hotline_b2bua::Output::AgentMedia(_cmd) => { /* to the agent leg's media */ }
//!         hotline_b2bua::Output::Bridge => { /* join the two media legs */ }
//!         hotline_b2bua::Output::Unbridge => { /* separate them (hold) */ }
//!         hotline_b2bua::Output::Stateless { .. } => { /* TxnLayer::send_stateless (ACK of a 2xx) */ }
//!         hotline_b2bua::Output::Agent(_ev) => { /* to the queue: answered, failed, ended */ }
//!         hotline_b2bua::Output::Queue(_req) => { /* join or leave a queue */ }
//!     }
//! }
//! let _next = session.poll_timeout();
//! # }
//! ```
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod info_dtmf;
mod session;

pub use info_dtmf::{InfoDtmfError, MAX_INFO_BODY, parse_info_dtmf};
pub use session::{
    AgentEvent, AgentTarget, CALLBACK_CONFIRMED_PROMPT, CALLBACK_DIALING_PROMPT, CallSession, CallbackCall,
    IncomingCall, IoRequest, IoResult, MASKED_DIGIT, MAX_FIELDS, MAX_RECORDED_DIGITS, MAX_TRAIL, Output,
    QueueRequest, Record, SessionConfig, Trunk, announcement_prompts,
};
