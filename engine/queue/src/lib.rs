//! The omnichannel ACD, sans-IO: calls and chats wait in the same queues and are offered to agents by
//! skill and strategy.
//!
//! An [`Acd`] owns queues, agents (their *status*, the agent's choice, apart from their *state*, the
//! system's view), waiting contacts and offers. It never reads a clock or a global RNG: every command takes
//! `now`, and the `random` strategy draws from the seed given to [`Acd::new`].
//!
//! The drain contract: after every command or [`Acd::handle_timeout`], drain [`Acd::poll_event`] until it
//! returns `None`, then re-arm the timer with [`Acd::poll_timeout`]. See `docs/queues.md` for strategies,
//! tie-breaking, anti-starvation and the events.
//!
//! ```no_run
//! use hotline_queue::{Acd, AcdConfig, AgentConfig, AgentStatus, Channel, NewContact, QueueConfig, QueueEvent};
//! # fn demo(now: std::time::Instant) -> Result<(), hotline_queue::QueueError> {
//! let mut acd = Acd::new(AcdConfig::default(), 42);
//! acd.add_queue(QueueConfig::new("support"))?;
//! acd.add_agent(AgentConfig::new("alice", &["support"]))?;
//! acd.set_status(now, &"alice".into(), AgentStatus::Idle)?;
//! let contact = acd.enqueue(now, NewContact::new("support", Channel::Call))?;
//! while let Some(ev) = acd.poll_event() {
//!     if let QueueEvent::Offered { offer, .. } = ev {
//!         // ring the agent; when they answer:
//!         acd.accept(now, offer)?;
//!     }
//! }
//! acd.finish(now, contact)?;
//! let _next_timer = acd.poll_timeout();
//! # Ok(()) }
//! ```
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod acd;
mod error;
mod types;

#[cfg(test)]
mod tests;

pub use acd::Acd;
pub use error::QueueError;
pub use types::{
    AcdConfig, AgentConfig, AgentId, AgentState, AgentStatus, ChangeReason, Channel, ContactId, LeaveReason,
    MAX_CHATS_LIMIT, MAX_PRIORITY, MAX_SKILL_LEVEL, NewContact, OfferEndReason, OfferId, Overflow,
    QueueConfig, QueueEvent, QueueStats, Skill, Strategy,
};
