//! Call recordings: where each stereo WAV is, and whether it was closed properly.

use serde::Serialize;
use sqlx::Row;

use crate::{Store, StoreError, on_pool};

/// The most rows one page of the recording list returns.
pub const MAX_RECORDINGS_PAGE: u32 = 1000;

/// A recording as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recording {
    /// The id of the recorded call (one recording per call).
    pub id: String,
    pub call_id: String,
    /// The file, relative to the recordings folder.
    pub path: String,
    pub started_at_ms: i64,
    pub ended_at_ms: Option<i64>,
    pub duration_ms: Option<i64>,
    pub bytes: Option<i64>,
    /// `recording`, `complete`, `repaired` (closed at start-up after a crash) or `failed`.
    pub status: String,
}

/// How a recording ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingEnd {
    pub ended_at_ms: i64,
    pub duration_ms: i64,
    pub bytes: i64,
    pub status: &'static str,
}

pub(crate) const INSERT_SQL: &str = "INSERT INTO recordings (id, call_id, path, started_at) \
    VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING";
pub(crate) const FINISH_SQL: &str = "UPDATE recordings SET ended_at = $1, duration_ms = $2, bytes = $3, \
    status = $4 WHERE id = $5 AND ended_at IS NULL";

const COLUMNS: &str = "id, call_id, path, started_at, ended_at, duration_ms, bytes, status";

fn decode<R>(r: &R) -> Result<Recording, StoreError>
where
    R: Row,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<i64>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    Ok(Recording {
        id: r.try_get("id")?,
        call_id: r.try_get("call_id")?,
        path: r.try_get("path")?,
        started_at_ms: r.try_get("started_at")?,
        ended_at_ms: r.try_get("ended_at")?,
        duration_ms: r.try_get("duration_ms")?,
        bytes: r.try_get("bytes")?,
        status: r.try_get("status")?,
    })
}

impl Store {
    /// Notes a recording that has started; false when the call has one already.
    pub async fn insert_recording(
        &self,
        call_id: &str,
        path: &str,
        started_at_ms: i64,
    ) -> Result<bool, StoreError> {
        let n = on_pool!(self, pool => sqlx::query(INSERT_SQL)
            .bind(call_id)
            .bind(call_id)
            .bind(path)
            .bind(started_at_ms)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(n == 1)
    }

    /// Closes a recording; false when it was closed already (or is unknown).
    pub async fn finish_recording(&self, id: &str, end: &RecordingEnd) -> Result<bool, StoreError> {
        let n = on_pool!(self, pool => sqlx::query(FINISH_SQL)
            .bind(end.ended_at_ms)
            .bind(end.duration_ms)
            .bind(end.bytes)
            .bind(end.status)
            .bind(id)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(n == 1)
    }

    /// Recordings of this node's calls never closed (their process died), oldest first.
    pub async fn open_recordings(&self, node_id: &str) -> Result<Vec<Recording>, StoreError> {
        let sql = "SELECT r.id, r.call_id, r.path, r.started_at, r.ended_at, r.duration_ms, r.bytes, r.status \
                   FROM recordings r JOIN calls c ON c.id = r.call_id \
                   WHERE r.ended_at IS NULL AND c.node_id = $1 ORDER BY r.started_at LIMIT $2";
        on_pool!(self, pool => {
            let rows = sqlx::query(sql).bind(node_id).bind(i64::from(MAX_RECORDINGS_PAGE)).fetch_all(pool).await?;
            rows.iter().map(decode).collect()
        })
    }

    /// One recording.
    pub async fn get_recording(&self, id: &str) -> Result<Option<Recording>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM recordings WHERE id = $1");
        on_pool!(self, pool => {
            let row = sqlx::query(&sql).bind(id).fetch_optional(pool).await?;
            row.as_ref().map(decode).transpose()
        })
    }

    /// The newest recordings (of one call when `call_id` is given), at most `limit`
    /// (1..=[`MAX_RECORDINGS_PAGE`]).
    pub async fn list_recordings(
        &self,
        call_id: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Recording>, StoreError> {
        let limit = i64::from(limit.clamp(1, MAX_RECORDINGS_PAGE));
        on_pool!(self, pool => {
            let rows = match call_id {
                Some(c) => {
                    let sql = format!("SELECT {COLUMNS} FROM recordings WHERE call_id = $1 ORDER BY started_at DESC LIMIT $2");
                    sqlx::query(&sql).bind(c).bind(limit).fetch_all(pool).await?
                }
                None => {
                    let sql = format!("SELECT {COLUMNS} FROM recordings ORDER BY started_at DESC LIMIT $1");
                    sqlx::query(&sql).bind(limit).fetch_all(pool).await?
                }
            };
            rows.iter().map(decode).collect()
        })
    }
}
