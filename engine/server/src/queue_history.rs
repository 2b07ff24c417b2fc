//! The queue's history in the database: every wait in a queue (`queue_entries`), every offer to an agent
//! (`queue_offers`), every change of an agent's status or state (`agent_status_history`) and every workstation
//! session (`agent_sessions`).
//!
//! The ACD task turns its events into writes here and never waits on the database: writes go to one writer
//! task through a bounded channel, and when that is full they wait, in order, in a backlog that is flushed as
//! soon as there is room (checked on every ACD event and once a second). The writer applies them in order and
//! retries a failed write before it logs it as lost.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, SystemTime};

use queue::{Channel, ContactId, QueueEvent};
use store::QueueWrite;
use tokio::sync::mpsc;

use crate::serve::unix_ms;

/// Writes queued for the writer task.
const WRITE_QUEUE: usize = 8192;
/// Writes kept in order while the writer's queue is full; past it, new writes are dropped and logged.
pub(crate) const MAX_BACKLOG: usize = 100_000;

/// Starts the writer task; it ends when every sender is dropped and the queue is drained.
pub(crate) fn spawn_writer(store: store::Store) -> mpsc::Sender<QueueWrite> {
    let (tx, mut rx) = mpsc::channel::<QueueWrite>(WRITE_QUEUE);
    tokio::spawn(async move {
        while let Some(w) = rx.recv().await {
            let mut tries = 0u32;
            loop {
                match store.write_queue(&w).await {
                    Ok(()) => {
                        tracing::debug!(write = kind(&w), "queue history written");
                        break;
                    }
                    Err(e) if tries < 3 => {
                        tries += 1;
                        tracing::warn!(error = %e, "queue history write failed; retrying");
                        tokio::time::sleep(Duration::from_millis(100 << tries)).await;
                    }
                    Err(e) => {
                        tracing::error!(error = %e, write = ?w, "queue history write lost");
                        break;
                    }
                }
            }
        }
    });
    tx
}

fn kind(w: &QueueWrite) -> &'static str {
    match w {
        QueueWrite::Joined { .. } => "joined",
        QueueWrite::Connected { .. } => "connected",
        QueueWrite::Left { .. } => "left",
        QueueWrite::Offered { .. } => "offered",
        QueueWrite::OfferEnded { .. } => "offer_ended",
        QueueWrite::AgentStatus { .. } => "agent_status",
        QueueWrite::SessionStarted { .. } => "session_started",
        QueueWrite::SessionEnded { .. } => "session_ended",
    }
}

/// What the ACD knows of a contact, for its history row.
pub(crate) struct ContactInfo {
    /// The call's or chat's id.
    pub(crate) interaction: String,
    pub(crate) channel: Channel,
}

/// Turns the ACD's events into history writes (held by the ACD task).
pub(crate) struct History {
    tx: mpsc::Sender<QueueWrite>,
    backlog: VecDeque<QueueWrite>,
    node_id: String,
    /// The history row of each contact in a queue now.
    entries: BTreeMap<ContactId, String>,
    /// The history row of each offer ringing now.
    offers: BTreeMap<u64, String>,
    dropped: u64,
}

impl History {
    pub(crate) fn new(tx: mpsc::Sender<QueueWrite>, node_id: &str) -> Self {
        Self {
            tx,
            backlog: VecDeque::new(),
            node_id: node_id.to_owned(),
            entries: BTreeMap::new(),
            offers: BTreeMap::new(),
            dropped: 0,
        }
    }

    /// Records what `ev` changes; `contact` tells who a contact is (asked when it joins).
    pub(crate) fn on_event(&mut self, ev: &QueueEvent, contact: impl Fn(ContactId) -> Option<ContactInfo>) {
        let at_ms = unix_ms(SystemTime::now());
        match ev {
            QueueEvent::Joined {
                contact: c,
                queue,
                channel,
                priority,
            } => {
                let id = ulid::Ulid::new().to_string();
                let info = contact(*c);
                let interaction = info.as_ref().map(|i| i.interaction.clone()).unwrap_or_default();
                let channel = info.map_or(*channel, |i| i.channel);
                self.entries.insert(*c, id.clone());
                self.push(QueueWrite::Joined {
                    id,
                    interaction,
                    channel: channel_name(channel).into(),
                    queue: queue.clone(),
                    priority: i64::from(*priority),
                    node_id: self.node_id.clone(),
                    at_ms,
                });
            }
            QueueEvent::Offered {
                offer,
                contact: c,
                agent,
                ..
            } => {
                let Some(entry_id) = self.entries.get(c).cloned() else {
                    return;
                };
                let id = ulid::Ulid::new().to_string();
                self.offers.insert(offer.0, id.clone());
                self.push(QueueWrite::Offered {
                    id,
                    entry_id,
                    agent: agent.0.clone(),
                    at_ms,
                });
            }
            QueueEvent::OfferEnded { offer, reason, .. } => {
                if let Some(id) = self.offers.remove(&offer.0) {
                    let outcome = match reason {
                        queue::OfferEndReason::Declined => "declined",
                        queue::OfferEndReason::NoAnswer => "no_answer",
                        queue::OfferEndReason::AnsweredElsewhere => "answered_elsewhere",
                        queue::OfferEndReason::ContactLeft => "contact_left",
                        queue::OfferEndReason::AgentUnavailable => "agent_unavailable",
                        queue::OfferEndReason::CallbackRequested => "callback_requested",
                    };
                    self.push(QueueWrite::OfferEnded {
                        id,
                        outcome: outcome.into(),
                        at_ms,
                    });
                }
            }
            QueueEvent::Connected {
                offer,
                contact: c,
                agent,
                ..
            } => {
                if let Some(id) = self.offers.remove(&offer.0) {
                    self.push(QueueWrite::OfferEnded {
                        id,
                        outcome: "answered".into(),
                        at_ms,
                    });
                }
                if let Some(id) = self.entries.get(c).cloned() {
                    self.push(QueueWrite::Connected {
                        id,
                        agent: agent.0.clone(),
                        at_ms,
                    });
                }
            }
            QueueEvent::Finished { contact: c, .. } => self.left(*c, "finished", at_ms),
            QueueEvent::Left {
                contact: c, reason, ..
            } => {
                let outcome = match reason {
                    queue::LeaveReason::Abandoned => "abandoned",
                    queue::LeaveReason::Timeout => "timeout",
                    queue::LeaveReason::Overflow(_) => "overflow",
                };
                self.left(*c, outcome, at_ms);
            }
            QueueEvent::AgentStateChanged {
                agent,
                status,
                state,
                reason,
            } => {
                self.push(QueueWrite::AgentStatus {
                    agent: agent.0.clone(),
                    status: crate::chats::status_name(*status).into(),
                    state: crate::chats::state_name(*state).into(),
                    reason: reason_name(reason),
                    node_id: self.node_id.clone(),
                    at_ms,
                });
            }
            _ => {}
        }
    }

    fn left(&mut self, contact: ContactId, outcome: &str, at_ms: i64) {
        if let Some(id) = self.entries.remove(&contact) {
            self.push(QueueWrite::Left {
                id,
                outcome: outcome.into(),
                at_ms,
            });
        }
    }

    fn push(&mut self, w: QueueWrite) {
        if self.backlog.len() >= MAX_BACKLOG {
            self.dropped += 1;
            if self.dropped.is_power_of_two() {
                tracing::error!(
                    dropped = self.dropped,
                    "queue history backlog full: writes dropped"
                );
            }
            return;
        }
        self.backlog.push_back(w);
        self.flush();
    }

    /// Hands the backlog to the writer, in order, as far as its queue has room.
    pub(crate) fn flush(&mut self) {
        while let Some(w) = self.backlog.pop_front() {
            match self.tx.try_send(w) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(w)) => {
                    self.backlog.push_front(w);
                    return;
                }
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    tracing::error!(lost = self.backlog.len() + 1, "queue history writer has stopped");
                    self.backlog.clear();
                    return;
                }
            }
        }
    }

    /// Writes waiting for room in the writer's queue.
    pub(crate) fn backlog(&self) -> usize {
        self.backlog.len()
    }
}

fn channel_name(c: Channel) -> &'static str {
    match c {
        Channel::Call => "call",
        Channel::Chat => "chat",
    }
}

fn reason_name(r: &queue::ChangeReason) -> String {
    match r {
        queue::ChangeReason::Requested => "requested".into(),
        queue::ChangeReason::Offered => "offered".into(),
        queue::ChangeReason::OfferEnded => "offer_ended".into(),
        queue::ChangeReason::Connected => "connected".into(),
        queue::ChangeReason::Finished => "finished".into(),
        queue::ChangeReason::WrapUpEnded => "wrap_up_ended".into(),
        queue::ChangeReason::MaxNoAnswer { misses } => format!("max_no_answer({misses})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joined(c: u64) -> QueueEvent {
        QueueEvent::Joined {
            contact: ContactId(c),
            queue: "support".into(),
            channel: Channel::Call,
            priority: 3,
        }
    }

    #[test]
    fn a_full_writer_queue_keeps_writes_in_order_until_there_is_room() {
        let (tx, mut rx) = mpsc::channel(2);
        let mut h = History::new(tx, "node-1");
        let who = |c: ContactId| {
            Some(ContactInfo {
                interaction: format!("call-{}", c.0),
                channel: Channel::Call,
            })
        };
        for c in 1..=5 {
            h.on_event(&joined(c), who);
        }
        assert_eq!(h.backlog(), 3, "two in the channel, three waiting");
        let mut seen = Vec::new();
        while seen.len() < 5 {
            while let Ok(w) = rx.try_recv() {
                seen.push(w);
            }
            h.flush();
        }
        let interactions: Vec<_> = seen
            .iter()
            .map(|w| match w {
                QueueWrite::Joined { interaction, .. } => interaction.clone(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(interactions, ["call-1", "call-2", "call-3", "call-4", "call-5"]);
    }

    #[test]
    fn the_backlog_holds_its_limit_and_drops_past_it() {
        let (tx, _rx) = mpsc::channel(1);
        let mut h = History::new(tx, "node-1");
        let who = |_| None;
        for c in 0..=(MAX_BACKLOG as u64 + 1) {
            h.on_event(&joined(c), who);
        }
        // One write sits in the channel; the backlog holds exactly its limit; the last one was dropped.
        assert_eq!(h.backlog(), MAX_BACKLOG);
        assert_eq!(h.dropped, 1);
    }
}
