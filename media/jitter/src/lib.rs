//! An adaptive RTP jitter buffer for G.711. Pure and sans-IO: time comes in as `now`.
//!
//! The crate keeps three things apart:
//!
//! - the **packet store** (private): order, duplicates, sequence and timestamp wrap, SSRC
//!   changes, timestamp jumps, the packet limit;
//! - the **playout policy** ([`PlayoutPolicy`]): the delay estimate, from per-packet
//!   (media time, arrival time) observations only. [`AdaptivePolicy`] is ours,
//!   [`FixedPolicy`] a baseline; the benchmark plugs in reference policies;
//! - the **adaptation limits** ([`AdaptLimits`]): how fast the delay may follow the target —
//!   grow by inserting concealment (≤ 20 ms per frame), shrink by time-compressing received audio
//!   (≤ 5 ms per 20 ms frame).
//!
//! [`simulate`] runs any policy over an arrival trace with the same limits, without audio.
//!
//! # Run loop
//!
//! Media is pulled by a clock: push every packet as it arrives, poll at the deadline `poll`
//! returns, and hand frames to the mixer/recorder.
//!
//! ```no_run
//! use std::time::Instant;
//! use hotline_jitter::{JitterBuffer, JitterConfig, Poll};
//! use media::Codec;
//!
//! # fn recv() -> Option<(Instant, Vec<u8>)> { None }
//! # fn play(_: &[i16]) {}
//! # fn digit(_: media::Digit) {}
//! let mut jb = JitterBuffer::new(JitterConfig::default(), Codec::Pcmu, 8000);
//! let mut deadline = Instant::now(); // the shell owns the clock, the buffer never reads it
//! loop {
//!     // 1. feed whatever arrived (with its arrival time)
//!     while let Some((at, datagram)) = recv() {
//!         let _ = jb.push(at, &datagram); // errors are the peer's: count and carry on
//!     }
//!     // 2. drain to `Wait`
//!     let now = deadline;
//!     loop {
//!         match jb.poll(now) {
//!             Poll::Frame(pcm) | Poll::Concealed(pcm) => play(&pcm),
//!             Poll::Event(d) => digit(d),
//!             Poll::Wait(at) => {
//!                 deadline = at;
//!                 break;
//!             }
//!         }
//!     }
//!     // 3. sleep until `deadline` or the next datagram (in the shell, not here)
//!     # break;
//! }
//! ```
//!
//! # Behaviour
//!
//! - DTMF (telephone-event payload type) is handed out as [`Poll::Event`] at the next poll,
//!   never delayed or concealed; one event per RTP timestamp.
//! - Loss is concealed with [`codec::Plc`]; after `max_conceal_frames` with nothing buffered
//!   the buffer goes idle (no more concealment) and restarts at the target delay when packets
//!   return — DTX and long silences never produce minutes of concealment.
//! - An SSRC change resets the stream; a timestamp jump re-anchors it; a marker bit while
//!   starving restarts playout at the target.
//! - Clock drift is absorbed by the policy's running-minimum base and the adaptation.
//! - [`JitterConfig::recording`] waits a fixed second for the recorder: zero late loss on any
//!   trace whose jitter stays under it.
//! - [`JitterBuffer::stats`] follows W3C webrtc-stats names.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod buffer;
mod config;
mod error;
mod policy;
mod sim;
mod stats;
mod store;

pub use buffer::{JitterBuffer, Poll};
pub use config::{JitterConfig, PolicyConfig};
pub use error::JitterError;
pub use policy::{AdaptiveConfig, AdaptivePolicy, FixedPolicy, PlayoutPolicy};
pub use sim::{AdaptLimits, SimResult, simulate};
pub use stats::JitterStats;
