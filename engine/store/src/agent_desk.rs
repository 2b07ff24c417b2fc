//! The agent's desk: notes on a call, and the list of calls an agent took, from which the agent may remove
//! entries (the records themselves stay).

use crate::calls::{COLUMNS, decode};
use crate::{CallRecord, Store, StoreError, on_pool};

/// The longest notes on one call, in bytes of UTF-8.
pub const MAX_NOTES_BYTES: usize = 4000;

/// The most calls [`Store::agent_recent_calls`] returns.
pub const MAX_RECENT_CALLS: i64 = 50;

const NOTES_SQL: &str = "UPDATE calls SET notes = $1, notes_by = $2, notes_at_ms = $3 WHERE id = $4";
/// Hides a call only if `agent` took it; hiding it again keeps the first time.
const HIDE_SQL: &str = "INSERT INTO agent_hidden_calls (agent, call_id, hidden_at_ms) \
    SELECT agent, id, $1 FROM calls WHERE id = $2 AND agent = $3 \
    ON CONFLICT (agent, call_id) DO NOTHING";
const TOOK_SQL: &str = "SELECT 1 FROM calls WHERE id = $1 AND agent = $2";

impl Store {
    /// Saves `agent`'s notes on a call, replacing earlier notes (whoever wrote them). Notes longer than
    /// [`MAX_NOTES_BYTES`] are refused with [`StoreError::TooLarge`]; `Ok(false)` when there is no such call.
    pub async fn set_call_notes(
        &self,
        call_id: &str,
        agent: &str,
        notes: &str,
        at_ms: i64,
    ) -> Result<bool, StoreError> {
        if notes.len() > MAX_NOTES_BYTES {
            return Err(StoreError::TooLarge {
                what: "call notes",
                len: notes.len(),
                limit: MAX_NOTES_BYTES,
            });
        }
        let n = on_pool!(self, pool => sqlx::query(NOTES_SQL)
            .bind(notes)
            .bind(agent)
            .bind(at_ms)
            .bind(call_id)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(n == 1)
    }

    /// The calls `agent` took, newest first (by start, then id), without those the agent removed from their
    /// list: at most `limit`, clamped to 1..=[`MAX_RECENT_CALLS`]. When an entry is hidden, the next older one
    /// takes its place.
    pub async fn agent_recent_calls(&self, agent: &str, limit: i64) -> Result<Vec<CallRecord>, StoreError> {
        let limit = limit.clamp(1, MAX_RECENT_CALLS);
        let sql = format!(
            "SELECT {COLUMNS} FROM calls WHERE agent = $1 AND NOT EXISTS \
             (SELECT 1 FROM agent_hidden_calls h WHERE h.agent = calls.agent AND h.call_id = calls.id) \
             ORDER BY started_at DESC, id DESC LIMIT $2"
        );
        let rows = on_pool!(self, pool => sqlx::query(&sql)
            .bind(agent)
            .bind(limit)
            .fetch_all(pool)
            .await?
            .iter()
            .map(decode)
            .collect::<Result<Vec<_>, _>>()?);
        Ok(rows)
    }

    /// Removes a call from `agent`'s list of recent calls; the record itself stays. Hiding it again changes
    /// nothing and still answers `Ok(true)`. `Ok(false)` when the call is not one `agent` took (or does not
    /// exist).
    pub async fn hide_call_for_agent(
        &self,
        agent: &str,
        call_id: &str,
        at_ms: i64,
    ) -> Result<bool, StoreError> {
        let took = on_pool!(self, pool => {
            let inserted = sqlx::query(HIDE_SQL)
                .bind(at_ms)
                .bind(call_id)
                .bind(agent)
                .execute(pool)
                .await?
                .rows_affected();
            // Nothing inserted: either hidden already (the agent took it) or not the agent's call.
            inserted == 1
                || sqlx::query(TOOK_SQL)
                    .bind(call_id)
                    .bind(agent)
                    .fetch_optional(pool)
                    .await?
                    .is_some()
        });
        Ok(took)
    }
}
