//! The queue's history: every time a contact (a call or a chat) waits in a queue, every offer of it to an
//! agent, every change of an agent's status or state, and every workstation login session.
//!
//! The engine produces [`QueueWrite`]s as contacts move through its queues and one writer applies them in
//! order with [`Store::write_queue`]. Every write is safe to retry: an insert of an id already stored is
//! ignored, and a row once closed (an entry left, an offer ended, a session ended) keeps its first ending.
//!
//! Rows still open at start-up belong to a process that died: [`Store::close_open_entries`] and
//! [`Store::close_open_sessions`] close those of one node with the outcome (or end reason) `interrupted`.

use std::collections::HashMap;

use serde::Serialize;
use sqlx::Row;

use crate::{Store, StoreError, on_pool};

/// Most rows one page of [`Store::agent_status_history`] or [`Store::agent_sessions`] returns.
pub const MAX_QUEUE_HISTORY_PAGE: i64 = 1000;

/// One change to the queue's history, applied in order by one writer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueWrite {
    /// A contact started waiting in a queue; an entry id already stored is ignored (a retried write).
    Joined {
        /// The entry's id (a ULID).
        id: String,
        /// The call's or the chat's id.
        interaction: String,
        /// `call` or `chat`
        channel: String,
        queue: String,
        priority: i64,
        node_id: String,
        at_ms: i64,
    },
    /// An agent took the entry; an entry already connected keeps its first agent and time.
    Connected { id: String, agent: String, at_ms: i64 },
    /// The entry left the queue (`finished`, `abandoned`, `timeout`, `overflow`, `callback`, …); an entry
    /// already left keeps its first outcome and time.
    Left { id: String, outcome: String, at_ms: i64 },
    /// The entry `entry_id` was offered to an agent; an offer id already stored is ignored (a retried write).
    Offered {
        /// The offer's id (a ULID).
        id: String,
        entry_id: String,
        agent: String,
        at_ms: i64,
    },
    /// The offer ended (`answered`, `declined`, `no_answer`, `withdrawn`, …); an offer already ended keeps
    /// its first outcome and time.
    OfferEnded { id: String, outcome: String, at_ms: i64 },
    /// An agent's status (its choice: `idle`, `busy`, `break`, `meeting`, `offline`) or state (the system's
    /// view: `waiting`, `offered`, `in_call`, `wrap_up`, …) changed; every write adds a row.
    AgentStatus {
        agent: String,
        status: String,
        state: String,
        reason: String,
        node_id: String,
        at_ms: i64,
    },
    /// An agent logged in at a workstation; a session id already stored is ignored (a retried write).
    SessionStarted {
        /// The session's id (a ULID, never its secret token).
        id: String,
        agent: String,
        node_id: String,
        /// The client's address.
        source: String,
        at_ms: i64,
    },
    /// The session ended (`logout`, `expired`); a session already ended keeps its first reason and time.
    SessionEnded { id: String, reason: String, at_ms: i64 },
}

/// One time a contact waited in a queue, with its offers to agents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueEntry {
    pub id: String,
    /// The call's or the chat's id.
    pub interaction: String,
    /// `call` or `chat`
    pub channel: String,
    pub queue: String,
    pub priority: i64,
    pub node_id: String,
    pub joined_at_ms: i64,
    pub connected_at_ms: Option<i64>,
    /// The agent who took it.
    pub agent: Option<String>,
    pub left_at_ms: Option<i64>,
    /// Why it left the queue (`interrupted` when its node died).
    pub outcome: Option<String>,
    /// Oldest first.
    pub offers: Vec<QueueOffer>,
}

/// One offer of a queue entry to an agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueOffer {
    pub id: String,
    pub agent: String,
    pub offered_at_ms: i64,
    pub ended_at_ms: Option<i64>,
    /// How it ended (`interrupted` when its node died).
    pub outcome: Option<String>,
}

/// One change of an agent's status or state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgentStatusRow {
    pub agent: String,
    pub status: String,
    pub state: String,
    pub reason: String,
    pub node_id: String,
    pub at_ms: i64,
}

/// One workstation login session of an agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgentSessionRow {
    pub id: String,
    pub agent: String,
    pub node_id: String,
    /// The client's address.
    pub source: String,
    pub started_at_ms: i64,
    pub ended_at_ms: Option<i64>,
    /// `logout`, `expired` or `interrupted`
    pub end_reason: Option<String>,
}

const JOINED_SQL: &str = "INSERT INTO queue_entries (id, interaction, channel, queue, priority, node_id, \
    joined_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING";
const CONNECTED_SQL: &str = "UPDATE queue_entries SET agent = $1, connected_at_ms = $2 \
    WHERE id = $3 AND connected_at_ms IS NULL";
const LEFT_SQL: &str =
    "UPDATE queue_entries SET outcome = $1, left_at_ms = $2 WHERE id = $3 AND left_at_ms IS NULL";
const OFFERED_SQL: &str = "INSERT INTO queue_offers (id, entry_id, agent, offered_at_ms) VALUES ($1, $2, $3, $4) \
    ON CONFLICT (id) DO NOTHING";
const OFFER_ENDED_SQL: &str = "UPDATE queue_offers SET outcome = $1, ended_at_ms = $2 \
    WHERE id = $3 AND ended_at_ms IS NULL";
const AGENT_STATUS_SQL: &str = "INSERT INTO agent_status_history (agent, status, state, reason, node_id, at_ms) \
    VALUES ($1, $2, $3, $4, $5, $6)";
const SESSION_STARTED_SQL: &str = "INSERT INTO agent_sessions (id, agent, node_id, source, started_at_ms) \
    VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING";
const SESSION_ENDED_SQL: &str = "UPDATE agent_sessions SET end_reason = $1, ended_at_ms = $2 \
    WHERE id = $3 AND ended_at_ms IS NULL";

const ENTRIES_SQL: &str = "SELECT id, interaction, channel, queue, priority, node_id, joined_at_ms, \
    connected_at_ms, agent, left_at_ms, outcome FROM queue_entries WHERE interaction = $1 \
    ORDER BY joined_at_ms, id";
const OFFERS_SQL: &str = "SELECT o.id, o.entry_id, o.agent, o.offered_at_ms, o.ended_at_ms, o.outcome \
    FROM queue_offers o JOIN queue_entries e ON e.id = o.entry_id WHERE e.interaction = $1 \
    ORDER BY o.offered_at_ms, o.id";
const STATUS_SQL: &str = "SELECT agent, status, state, reason, node_id, at_ms FROM agent_status_history \
    WHERE agent = $1 ORDER BY at_ms DESC, id DESC LIMIT $2";
const SESSIONS_SQL: &str = "SELECT id, agent, node_id, source, started_at_ms, ended_at_ms, end_reason \
    FROM agent_sessions WHERE agent = $1 ORDER BY started_at_ms DESC, id DESC LIMIT $2";

const CLOSE_SESSIONS_SQL: &str = "UPDATE agent_sessions SET end_reason = 'interrupted', ended_at_ms = $1 \
    WHERE node_id = $2 AND ended_at_ms IS NULL";
const CLOSE_OFFERS_SQL: &str = "UPDATE queue_offers SET outcome = 'interrupted', ended_at_ms = $1 \
    WHERE ended_at_ms IS NULL AND entry_id IN (SELECT id FROM queue_entries WHERE node_id = $2)";
const CLOSE_ENTRIES_SQL: &str = "UPDATE queue_entries SET outcome = 'interrupted', left_at_ms = $1 \
    WHERE node_id = $2 AND left_at_ms IS NULL";

/// A page size within 1..=[`MAX_QUEUE_HISTORY_PAGE`].
fn page(limit: i64) -> i64 {
    limit.clamp(1, MAX_QUEUE_HISTORY_PAGE)
}

fn decode_entry<R>(r: &R) -> Result<QueueEntry, StoreError>
where
    R: Row,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<String>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<i64>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    Ok(QueueEntry {
        id: r.try_get("id")?,
        interaction: r.try_get("interaction")?,
        channel: r.try_get("channel")?,
        queue: r.try_get("queue")?,
        priority: r.try_get("priority")?,
        node_id: r.try_get("node_id")?,
        joined_at_ms: r.try_get("joined_at_ms")?,
        connected_at_ms: r.try_get("connected_at_ms")?,
        agent: r.try_get("agent")?,
        left_at_ms: r.try_get("left_at_ms")?,
        outcome: r.try_get("outcome")?,
        offers: Vec::new(),
    })
}

/// An offer and the id of its entry.
fn decode_offer<R>(r: &R) -> Result<(String, QueueOffer), StoreError>
where
    R: Row,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<String>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<i64>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    let offer = QueueOffer {
        id: r.try_get("id")?,
        agent: r.try_get("agent")?,
        offered_at_ms: r.try_get("offered_at_ms")?,
        ended_at_ms: r.try_get("ended_at_ms")?,
        outcome: r.try_get("outcome")?,
    };
    Ok((r.try_get("entry_id")?, offer))
}

fn decode_status<R>(r: &R) -> Result<AgentStatusRow, StoreError>
where
    R: Row,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    Ok(AgentStatusRow {
        agent: r.try_get("agent")?,
        status: r.try_get("status")?,
        state: r.try_get("state")?,
        reason: r.try_get("reason")?,
        node_id: r.try_get("node_id")?,
        at_ms: r.try_get("at_ms")?,
    })
}

fn decode_session<R>(r: &R) -> Result<AgentSessionRow, StoreError>
where
    R: Row,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<String>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<i64>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    Ok(AgentSessionRow {
        id: r.try_get("id")?,
        agent: r.try_get("agent")?,
        node_id: r.try_get("node_id")?,
        source: r.try_get("source")?,
        started_at_ms: r.try_get("started_at_ms")?,
        ended_at_ms: r.try_get("ended_at_ms")?,
        end_reason: r.try_get("end_reason")?,
    })
}

impl Store {
    /// Applies one write to the queue's history. Retrying a write is harmless: `Joined`, `Offered` and
    /// `SessionStarted` ignore an id already stored, and `Connected`, `Left`, `OfferEnded` and
    /// `SessionEnded` leave a row already connected or ended as it is. Only `AgentStatus` adds a row each
    /// time. An offer of an unknown entry fails (the entry is a foreign key).
    pub async fn write_queue(&self, w: &QueueWrite) -> Result<(), StoreError> {
        on_pool!(self, pool => {
            match w {
                QueueWrite::Joined { id, interaction, channel, queue, priority, node_id, at_ms } => {
                    sqlx::query(JOINED_SQL)
                        .bind(id)
                        .bind(interaction)
                        .bind(channel)
                        .bind(queue)
                        .bind(*priority)
                        .bind(node_id)
                        .bind(*at_ms)
                        .execute(pool)
                        .await?
                }
                QueueWrite::Connected { id, agent, at_ms } => sqlx::query(CONNECTED_SQL)
                    .bind(agent)
                    .bind(*at_ms)
                    .bind(id)
                    .execute(pool)
                    .await?,
                QueueWrite::Left { id, outcome, at_ms } => sqlx::query(LEFT_SQL)
                    .bind(outcome)
                    .bind(*at_ms)
                    .bind(id)
                    .execute(pool)
                    .await?,
                QueueWrite::Offered { id, entry_id, agent, at_ms } => sqlx::query(OFFERED_SQL)
                    .bind(id)
                    .bind(entry_id)
                    .bind(agent)
                    .bind(*at_ms)
                    .execute(pool)
                    .await?,
                QueueWrite::OfferEnded { id, outcome, at_ms } => sqlx::query(OFFER_ENDED_SQL)
                    .bind(outcome)
                    .bind(*at_ms)
                    .bind(id)
                    .execute(pool)
                    .await?,
                QueueWrite::AgentStatus { agent, status, state, reason, node_id, at_ms } => {
                    sqlx::query(AGENT_STATUS_SQL)
                        .bind(agent)
                        .bind(status)
                        .bind(state)
                        .bind(reason)
                        .bind(node_id)
                        .bind(*at_ms)
                        .execute(pool)
                        .await?
                }
                QueueWrite::SessionStarted { id, agent, node_id, source, at_ms } => {
                    sqlx::query(SESSION_STARTED_SQL)
                        .bind(id)
                        .bind(agent)
                        .bind(node_id)
                        .bind(source)
                        .bind(*at_ms)
                        .execute(pool)
                        .await?
                }
                QueueWrite::SessionEnded { id, reason, at_ms } => sqlx::query(SESSION_ENDED_SQL)
                    .bind(reason)
                    .bind(*at_ms)
                    .bind(id)
                    .execute(pool)
                    .await?,
            };
        });
        Ok(())
    }

    /// Every time the call or chat `interaction` waited in a queue, oldest first (by joined_at_ms, then id),
    /// each with its offers, oldest first (by offered_at_ms, then id).
    pub async fn queue_entries(&self, interaction: &str) -> Result<Vec<QueueEntry>, StoreError> {
        let (mut entries, offers) = on_pool!(self, pool => {
            let entries = sqlx::query(ENTRIES_SQL)
                .bind(interaction)
                .fetch_all(pool)
                .await?
                .iter()
                .map(decode_entry)
                .collect::<Result<Vec<_>, _>>()?;
            let offers = sqlx::query(OFFERS_SQL)
                .bind(interaction)
                .fetch_all(pool)
                .await?
                .iter()
                .map(decode_offer)
                .collect::<Result<Vec<_>, _>>()?;
            (entries, offers)
        });
        let index: HashMap<String, usize> = entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.id.clone(), i))
            .collect();
        for (entry_id, offer) in offers {
            // An offer of an entry that joined between the two reads is left for the next read.
            if let Some(&i) = index.get(&entry_id) {
                entries[i].offers.push(offer);
            }
        }
        Ok(entries)
    }

    /// An agent's changes of status and state, newest first (by at_ms, then the order they were written),
    /// at most `limit`, which is clamped to 1..=[`MAX_QUEUE_HISTORY_PAGE`] (0 means 1, more means the
    /// maximum).
    pub async fn agent_status_history(
        &self,
        agent: &str,
        limit: i64,
    ) -> Result<Vec<AgentStatusRow>, StoreError> {
        on_pool!(self, pool => {
            sqlx::query(STATUS_SQL)
                .bind(agent)
                .bind(page(limit))
                .fetch_all(pool)
                .await?
                .iter()
                .map(decode_status)
                .collect()
        })
    }

    /// An agent's login sessions, newest first (by started_at_ms, then id), at most `limit`, which is
    /// clamped to 1..=[`MAX_QUEUE_HISTORY_PAGE`] (0 means 1, more means the maximum).
    pub async fn agent_sessions(&self, agent: &str, limit: i64) -> Result<Vec<AgentSessionRow>, StoreError> {
        on_pool!(self, pool => {
            sqlx::query(SESSIONS_SQL)
                .bind(agent)
                .bind(page(limit))
                .fetch_all(pool)
                .await?
                .iter()
                .map(decode_session)
                .collect()
        })
    }

    /// Ends the sessions of this node still open (ended_at_ms `at_ms`, end_reason `interrupted`); returns
    /// how many. Call once at start-up: a restarted node has no workstation logged in.
    pub async fn close_open_sessions(&self, node_id: &str, at_ms: i64) -> Result<u64, StoreError> {
        let n = on_pool!(self, pool => sqlx::query(CLOSE_SESSIONS_SQL)
            .bind(at_ms)
            .bind(node_id)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(n)
    }

    /// Closes the queue entries of this node still waiting or connected (left_at_ms `at_ms`, outcome
    /// `interrupted`) and the offers of this node's entries still open (ended_at_ms `at_ms`, outcome
    /// `interrupted`), in one transaction; returns how many entries. Call once at start-up, before queueing
    /// contacts: every contact of a restarted node is gone.
    pub async fn close_open_entries(&self, node_id: &str, at_ms: i64) -> Result<u64, StoreError> {
        let n = on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(CLOSE_OFFERS_SQL)
                .bind(at_ms)
                .bind(node_id)
                .execute(&mut *tx)
                .await?;
            let n = sqlx::query(CLOSE_ENTRIES_SQL)
                .bind(at_ms)
                .bind(node_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            n
        });
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_is_clamped() {
        assert_eq!(page(0), 1);
        assert_eq!(page(-5), 1);
        assert_eq!(page(2), 2);
        assert_eq!(page(5000), MAX_QUEUE_HISTORY_PAGE);
    }
}
