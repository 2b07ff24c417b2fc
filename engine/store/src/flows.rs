//! Flow versions: every version ever activated, so a call record can name the version it ran.

use serde::Serialize;
use sqlx::Row;

use crate::{Store, StoreError, on_pool};

/// One activated flow version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlowVersion {
    pub name: String,
    pub version: String,
    pub file: String,
    pub node_id: String,
    pub activated_at_ms: i64,
}

/// Largest flow source kept per version (bytes); the loader refuses larger files anyway.
pub const MAX_FLOW_SOURCE: usize = 256 * 1024;

impl Store {
    /// Records that a flow version was activated. Activating the same version again changes nothing.
    pub async fn record_flow_version(&self, v: &FlowVersion, source: &str) -> Result<(), StoreError> {
        let source = if source.len() > MAX_FLOW_SOURCE {
            ""
        } else {
            source
        };
        let sql = "INSERT INTO flow_versions (name, version, file, source, node_id, activated_at) \
                   VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name, version) DO NOTHING";
        on_pool!(self, pool => {
            sqlx::query(sql)
                .bind(&v.name)
                .bind(&v.version)
                .bind(&v.file)
                .bind(source)
                .bind(&v.node_id)
                .bind(v.activated_at_ms)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Every version of a flow, newest first.
    pub async fn flow_versions(&self, name: &str) -> Result<Vec<FlowVersion>, StoreError> {
        let sql = "SELECT name, version, file, node_id, activated_at FROM flow_versions WHERE name = $1 \
                   ORDER BY activated_at DESC LIMIT 1000";
        let rows = on_pool!(self, pool => {
            let rows = sqlx::query(sql).bind(name).fetch_all(pool).await?;
            rows.iter()
                .map(|r| {
                    Ok::<_, sqlx::Error>(FlowVersion {
                        name: r.try_get("name")?,
                        version: r.try_get("version")?,
                        file: r.try_get("file")?,
                        node_id: r.try_get("node_id")?,
                        activated_at_ms: r.try_get("activated_at")?,
                    })
                })
                .collect::<Result<Vec<_>, _>>()?
        });
        Ok(rows)
    }

    /// The source text of one flow version, if it was kept.
    pub async fn flow_source(&self, name: &str, version: &str) -> Result<Option<String>, StoreError> {
        let sql = "SELECT source FROM flow_versions WHERE name = $1 AND version = $2";
        let source = on_pool!(self, pool => {
            match sqlx::query(sql).bind(name).bind(version).fetch_optional(pool).await? {
                Some(r) => Some(r.try_get::<String, _>("source")?),
                None => None,
            }
        });
        Ok(source)
    }
}
