use model::{CallId, EndReason, HangupBy, TrailItem};
use serde::Serialize;
use sqlx::Row;

use crate::{Store, StoreError, on_pool};

/// The most rows one page of the call list may return.
pub const MAX_LIST_LIMIT: u32 = 1000;

/// What is known when a call arrives.
#[derive(Debug, Clone)]
pub struct NewCall {
    pub id: CallId,
    pub sip_call_id: String,
    pub from_uri: String,
    pub from_user: String,
    pub to_uri: String,
    pub to_user: String,
    pub source_addr: String,
    pub node_id: String,
    pub flow: Option<String>,
    pub flow_version: Option<String>,
    pub started_at_ms: i64,
}

/// What is written when a call ends.
#[derive(Debug, Clone)]
pub struct CallFinal {
    pub id: CallId,
    pub ended_at_ms: i64,
    pub end_reason: EndReason,
    pub hangup_by: HangupBy,
    pub keypresses: String,
    pub trail: Vec<TrailItem>,
    pub media_stats: Option<serde_json::Value>,
    /// Values the flow recorded (e.g. a survey's `rating`), by name.
    pub fields: std::collections::BTreeMap<String, String>,
}

/// A call record as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallRecord {
    pub id: String,
    pub sip_call_id: String,
    pub from_uri: String,
    pub from_user: String,
    pub to_uri: String,
    pub to_user: String,
    pub source_addr: String,
    pub node_id: String,
    pub flow: Option<String>,
    pub flow_version: Option<String>,
    pub started_at_ms: i64,
    pub answered_at_ms: Option<i64>,
    pub ended_at_ms: Option<i64>,
    pub end_reason: Option<String>,
    pub hangup_by: Option<String>,
    pub keypresses: String,
    pub trail: Vec<TrailItem>,
    pub media_stats: Option<serde_json::Value>,
    pub verified: Option<bool>,
    pub verify_method: Option<String>,
    pub verify_attempts: Option<i64>,
    pub customer_id: Option<String>,
    pub queue: Option<String>,
    pub rating: Option<i64>,
    pub fields: std::collections::BTreeMap<String, String>,
    /// The call's recording id, if it was recorded.
    pub recording: Option<String>,
    /// The agent who took the call.
    pub agent: Option<String>,
    /// The agent's notes on the call (empty when none were saved).
    pub notes: String,
    /// The agent who last saved the notes.
    pub notes_by: Option<String>,
    /// When the notes were last saved (unix ms).
    pub notes_at_ms: Option<i64>,
}

/// One write to the call records, as the engine produces them while calls run.
#[derive(Debug, Clone)]
pub enum CallWrite {
    Insert(NewCall),
    Answered {
        id: CallId,
        at_ms: i64,
    },
    Progress {
        id: CallId,
        keypresses: String,
        trail: Vec<TrailItem>,
    },
    Final(CallFinal),
    /// The outcome of identity verification (may come before the call ends; the last one wins).
    Verification {
        id: CallId,
        verified: bool,
        method: String,
        attempts: u32,
        customer_id: Option<String>,
    },
    /// The queue the flow handed the call to.
    Queue {
        id: CallId,
        queue: String,
    },
    /// The call's recording has started (`path` relative to the recordings folder).
    RecordingStarted {
        id: CallId,
        path: String,
        at_ms: i64,
    },
    /// The call's recording was closed.
    RecordingEnded {
        id: CallId,
        end: crate::RecordingEnd,
    },
    /// The agent who took the call.
    Agent {
        id: CallId,
        agent: String,
    },
}

/// One page of the call list, newest first.
#[derive(Debug, Clone, Default)]
pub struct CallQuery {
    /// At most this many rows (1..=[`MAX_LIST_LIMIT`]).
    pub limit: u32,
    /// Only calls older than this call id (for paging).
    pub before: Option<String>,
}

/// The columns [`decode`] reads, for every query that builds a [`CallRecord`] (the table must be `calls`,
/// not aliased).
pub(crate) const COLUMNS: &str = "id, sip_call_id, from_uri, from_user, to_uri, to_user, source_addr, node_id, flow, \
    flow_version, started_at, answered_at, ended_at, end_reason, hangup_by, keypresses, trail, media_stats, \
    verified, verify_method, verify_attempts, customer_id, queue, rating, fields, agent, notes, notes_by, notes_at_ms, \
    (SELECT r.id FROM recordings r WHERE r.call_id = calls.id LIMIT 1) AS recording";

fn encode_trail(trail: &[TrailItem]) -> String {
    // Serializing plain enums of strings and integers cannot fail.
    serde_json::to_string(trail).unwrap_or_else(|_| "[]".to_owned())
}

const INSERT_SQL: &str = "INSERT INTO calls (id, sip_call_id, from_uri, from_user, to_uri, to_user, \
    source_addr, node_id, flow, flow_version, started_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";
const ANSWERED_SQL: &str = "UPDATE calls SET answered_at = $1 WHERE id = $2 AND answered_at IS NULL";
const PROGRESS_SQL: &str = "UPDATE calls SET keypresses = $1, trail = $2 WHERE id = $3 AND ended_at IS NULL";
const FINAL_SQL: &str = "UPDATE calls SET ended_at = $1, end_reason = $2, hangup_by = $3, keypresses = $4, \
    trail = $5, media_stats = $6, rating = $7, fields = $8 WHERE id = $9 AND ended_at IS NULL";
const VERIFICATION_SQL: &str = "UPDATE calls SET verified = $1, verify_method = $2, verify_attempts = $3, \
    customer_id = $4 WHERE id = $5";
const QUEUE_SQL: &str = "UPDATE calls SET queue = $1 WHERE id = $2";
const AGENT_SQL: &str = "UPDATE calls SET agent = $1 WHERE id = $2";

/// A survey rating is a keypad answer from 1 to 5; anything else stays only in `fields`.
fn rating_of(fields: &std::collections::BTreeMap<String, String>) -> Option<i64> {
    fields
        .get("rating")
        .and_then(|r| r.trim().parse::<i64>().ok())
        .filter(|r| (1..=5).contains(r))
}

/// Runs one write on any executor (a pool or an open transaction) of either backend.
macro_rules! run_write {
    ($exec:expr, $write:expr) => {
        match $write {
            CallWrite::Insert(call) => sqlx::query(INSERT_SQL)
                .bind(call.id.to_string())
                .bind(&call.sip_call_id)
                .bind(&call.from_uri)
                .bind(&call.from_user)
                .bind(&call.to_uri)
                .bind(&call.to_user)
                .bind(&call.source_addr)
                .bind(&call.node_id)
                .bind(&call.flow)
                .bind(&call.flow_version)
                .bind(call.started_at_ms)
                .execute($exec)
                .await?
                .rows_affected(),
            CallWrite::Answered { id, at_ms } => sqlx::query(ANSWERED_SQL)
                .bind(*at_ms)
                .bind(id.to_string())
                .execute($exec)
                .await?
                .rows_affected(),
            CallWrite::Progress {
                id,
                keypresses,
                trail,
            } => sqlx::query(PROGRESS_SQL)
                .bind(keypresses)
                .bind(encode_trail(trail))
                .bind(id.to_string())
                .execute($exec)
                .await?
                .rows_affected(),
            CallWrite::Final(fin) => sqlx::query(FINAL_SQL)
                .bind(fin.ended_at_ms)
                .bind(fin.end_reason.as_str())
                .bind(fin.hangup_by.as_str())
                .bind(&fin.keypresses)
                .bind(encode_trail(&fin.trail))
                .bind(fin.media_stats.as_ref().map(ToString::to_string))
                .bind(rating_of(&fin.fields))
                .bind(serde_json::to_string(&fin.fields).unwrap_or_else(|_| "{}".to_owned()))
                .bind(fin.id.to_string())
                .execute($exec)
                .await?
                .rows_affected(),
            CallWrite::Verification {
                id,
                verified,
                method,
                attempts,
                customer_id,
            } => sqlx::query(VERIFICATION_SQL)
                .bind(i64::from(*verified))
                .bind(method)
                .bind(i64::from(*attempts))
                .bind(customer_id)
                .bind(id.to_string())
                .execute($exec)
                .await?
                .rows_affected(),
            CallWrite::Queue { id, queue } => sqlx::query(QUEUE_SQL)
                .bind(queue)
                .bind(id.to_string())
                .execute($exec)
                .await?
                .rows_affected(),
            CallWrite::RecordingStarted { id, path, at_ms } => sqlx::query(crate::recordings::INSERT_SQL)
                .bind(id.to_string())
                .bind(id.to_string())
                .bind(path)
                .bind(*at_ms)
                .execute($exec)
                .await?
                .rows_affected(),
            CallWrite::RecordingEnded { id, end } => sqlx::query(crate::recordings::FINISH_SQL)
                .bind(end.ended_at_ms)
                .bind(end.duration_ms)
                .bind(end.bytes)
                .bind(end.status)
                .bind(id.to_string())
                .execute($exec)
                .await?
                .rows_affected(),
            CallWrite::Agent { id, agent } => sqlx::query(AGENT_SQL)
                .bind(agent)
                .bind(id.to_string())
                .execute($exec)
                .await?
                .rows_affected(),
        }
    };
}

impl Store {
    /// Applies several writes in one transaction: one disk flush for the whole batch. The engine's writer
    /// task gathers what calls produced meanwhile and applies it here, so records keep up with high call
    /// rates even with `synchronous=FULL`.
    pub async fn apply(&self, writes: &[CallWrite]) -> Result<(), StoreError> {
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for w in writes {
                run_write!(&mut *tx, w);
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Writes the record of a call that has just arrived.
    pub async fn insert_call(&self, call: &NewCall) -> Result<(), StoreError> {
        let w = CallWrite::Insert(call.clone());
        on_pool!(self, pool => { run_write!(pool, &w); });
        Ok(())
    }

    /// Records the moment the call was answered.
    pub async fn mark_answered(&self, id: CallId, at_ms: i64) -> Result<(), StoreError> {
        let w = CallWrite::Answered { id, at_ms };
        on_pool!(self, pool => { run_write!(pool, &w); });
        Ok(())
    }

    /// Saves the keypresses and trail so far, so a crash loses as little as possible.
    pub async fn update_progress(
        &self,
        id: CallId,
        keypresses: &str,
        trail: &[TrailItem],
    ) -> Result<(), StoreError> {
        let w = CallWrite::Progress {
            id,
            keypresses: keypresses.to_owned(),
            trail: trail.to_vec(),
        };
        on_pool!(self, pool => { run_write!(pool, &w); });
        Ok(())
    }

    /// Finalizes the record of an ended call. A record already finalized is left as it is.
    pub async fn finalize_call(&self, fin: &CallFinal) -> Result<bool, StoreError> {
        let w = CallWrite::Final(fin.clone());
        let done = on_pool!(self, pool => run_write!(pool, &w));
        Ok(done == 1)
    }

    /// Closes every record left open by a process that died, with the end reason `interrupted`.
    /// Returns how many records were closed. Call once at start-up, before accepting calls.
    pub async fn recover_interrupted(&self, now_ms: i64) -> Result<u64, StoreError> {
        let sql = "UPDATE calls SET ended_at = $1, end_reason = $2, hangup_by = $3 WHERE ended_at IS NULL";
        let n = on_pool!(self, pool => {
            sqlx::query(sql)
                .bind(now_ms)
                .bind(EndReason::Interrupted.as_str())
                .bind(HangupBy::Unknown.as_str())
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(n)
    }

    /// Closes the open records of one node only (used when several nodes share a database).
    pub async fn recover_interrupted_for_node(&self, node_id: &str, now_ms: i64) -> Result<u64, StoreError> {
        let sql = "UPDATE calls SET ended_at = $1, end_reason = $2, hangup_by = $3 \
                   WHERE ended_at IS NULL AND node_id = $4";
        let n = on_pool!(self, pool => {
            sqlx::query(sql)
                .bind(now_ms)
                .bind(EndReason::Interrupted.as_str())
                .bind(HangupBy::Unknown.as_str())
                .bind(node_id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(n)
    }

    /// Lists calls, newest first.
    pub async fn list_calls(&self, q: &CallQuery) -> Result<Vec<CallRecord>, StoreError> {
        if q.limit > MAX_LIST_LIMIT {
            return Err(StoreError::LimitTooLarge {
                requested: q.limit,
                max: MAX_LIST_LIMIT,
            });
        }
        let limit = i64::from(q.limit.max(1));
        let rows = match &q.before {
            Some(before) => {
                let sql = format!("SELECT {COLUMNS} FROM calls WHERE id < $1 ORDER BY id DESC LIMIT $2");
                on_pool!(self, pool => sqlx::query(&sql).bind(before).bind(limit).fetch_all(pool).await?
                    .iter().map(decode).collect::<Result<Vec<_>, _>>()?)
            }
            None => {
                let sql = format!("SELECT {COLUMNS} FROM calls ORDER BY id DESC LIMIT $1");
                on_pool!(self, pool => sqlx::query(&sql).bind(limit).fetch_all(pool).await?
                    .iter().map(decode).collect::<Result<Vec<_>, _>>()?)
            }
        };
        Ok(rows)
    }

    /// One call by our id.
    pub async fn get_call(&self, id: &str) -> Result<Option<CallRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM calls WHERE id = $1");
        let row = on_pool!(self, pool => match sqlx::query(&sql).bind(id).fetch_optional(pool).await? {
            Some(r) => Some(decode(&r)?),
            None => None,
        });
        Ok(row)
    }
}

pub(crate) fn decode<R>(row: &R) -> Result<CallRecord, StoreError>
where
    R: Row,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<String>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<i64>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    let trail: String = row.try_get("trail")?;
    let trail = serde_json::from_str(&trail).map_err(|source| StoreError::Corrupt {
        column: "trail",
        source,
    })?;
    let fields: String = row.try_get("fields")?;
    let fields = serde_json::from_str(&fields).map_err(|source| StoreError::Corrupt {
        column: "fields",
        source,
    })?;
    let verified: Option<i64> = row.try_get("verified")?;
    let stats: Option<String> = row.try_get("media_stats")?;
    let media_stats = match stats {
        Some(s) => Some(serde_json::from_str(&s).map_err(|source| StoreError::Corrupt {
            column: "media_stats",
            source,
        })?),
        None => None,
    };
    Ok(CallRecord {
        id: row.try_get("id")?,
        sip_call_id: row.try_get("sip_call_id")?,
        from_uri: row.try_get("from_uri")?,
        from_user: row.try_get("from_user")?,
        to_uri: row.try_get("to_uri")?,
        to_user: row.try_get("to_user")?,
        source_addr: row.try_get("source_addr")?,
        node_id: row.try_get("node_id")?,
        flow: row.try_get("flow")?,
        flow_version: row.try_get("flow_version")?,
        started_at_ms: row.try_get("started_at")?,
        answered_at_ms: row.try_get("answered_at")?,
        ended_at_ms: row.try_get("ended_at")?,
        end_reason: row.try_get("end_reason")?,
        hangup_by: row.try_get("hangup_by")?,
        keypresses: row.try_get("keypresses")?,
        trail,
        media_stats,
        verified: verified.map(|v| v != 0),
        verify_method: row.try_get("verify_method")?,
        verify_attempts: row.try_get("verify_attempts")?,
        customer_id: row.try_get("customer_id")?,
        queue: row.try_get("queue")?,
        rating: row.try_get("rating")?,
        fields,
        recording: row.try_get("recording")?,
        agent: row.try_get("agent")?,
        notes: row.try_get("notes")?,
        notes_by: row.try_get("notes_by")?,
        notes_at_ms: row.try_get("notes_at_ms")?,
    })
}
