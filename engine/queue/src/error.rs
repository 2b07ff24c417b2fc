//! The crate's one error type. Every variant is local API misuse or a refused input: nothing here is a
//! peer fault or IO, since the ACD has no peers and does no IO.

use crate::types::{AgentId, ContactId, OfferId, Overflow};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QueueError {
    #[error("queue {0:?} already exists")]
    DuplicateQueue(String),
    #[error("agent {0} already exists")]
    DuplicateAgent(AgentId),
    #[error("no queue named {0:?}")]
    UnknownQueue(String),
    #[error("no agent {0}")]
    UnknownAgent(AgentId),
    #[error("unknown strategy {0:?}")]
    UnknownStrategy(String),
    #[error("{0} is not in any queue (never enqueued, or already left or finished)")]
    UnknownContact(ContactId),
    /// Accept/decline of an offer that timed out, was withdrawn, was already answered or never existed.
    #[error("{0} is not pending (timed out, withdrawn, already answered or unknown)")]
    OfferNotPending(OfferId),
    #[error("{0} is connected to an agent; use finish")]
    ContactConnected(ContactId),
    #[error("{0} is not connected to an agent")]
    ContactNotConnected(ContactId),
    #[error("{0} is a chat; only calls can become callbacks")]
    CallbackNeedsCall(ContactId),
    /// The queue holds `max_len` contacts; the contact was not enqueued and should go to `overflow`.
    #[error("queue {queue:?} is full ({max_len} contacts)")]
    QueueFull {
        queue: String,
        max_len: usize,
        overflow: Option<Overflow>,
    },
    #[error("priority {0} is out of range 0..=9")]
    InvalidPriority(u8),
    #[error("skill {skill:?} has level {level}, outside 1..=10")]
    InvalidSkillLevel { skill: String, level: u8 },
    #[error("invalid configuration: {0}")]
    InvalidConfig(&'static str),
}
