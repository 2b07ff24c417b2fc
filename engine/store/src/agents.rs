//! Agents: identity, skills and SIP credentials (digest HA1 only; passwords are never stored).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::{Store, StoreError, on_pool};

/// An agent as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agent {
    /// The SIP user name and extension.
    pub id: String,
    pub name: String,
    pub skills: BTreeMap<String, u8>,
    pub queues: Vec<String>,
    pub max_chats: u32,
    /// Chats may be offered while the agent is on a call (and a call while they hold chats).
    #[serde(default)]
    pub chat_during_call: bool,
    /// The agent may place outbound calls.
    #[serde(default)]
    pub can_dial_out: bool,
    pub created_at_ms: i64,
}

/// An agent's SIP digest secrets for one realm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentSecret {
    pub id: String,
    pub realm: String,
    pub ha1_md5: String,
    pub ha1_sha256: String,
}

/// Most agents one page of the list returns.
pub const MAX_AGENTS_PAGE: i64 = 10_000;

impl Store {
    /// Creates an agent; false when the id exists already.
    pub async fn create_agent(&self, a: &Agent, secret: &AgentSecret) -> Result<bool, StoreError> {
        let sql = "INSERT INTO agents (id, name, realm, ha1_md5, ha1_sha256, skills, queues, max_chats, created_at, \
                   chat_during_call, can_dial_out) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
                   ON CONFLICT (id) DO NOTHING";
        let skills = serde_json::to_string(&a.skills).unwrap_or_else(|_| "{}".to_owned());
        let queues = serde_json::to_string(&a.queues).unwrap_or_else(|_| "[]".to_owned());
        let n = on_pool!(self, pool => sqlx::query(sql)
            .bind(&a.id)
            .bind(&a.name)
            .bind(&secret.realm)
            .bind(&secret.ha1_md5)
            .bind(&secret.ha1_sha256)
            .bind(&skills)
            .bind(&queues)
            .bind(i64::from(a.max_chats))
            .bind(a.created_at_ms)
            .bind(i64::from(a.chat_during_call))
            .bind(i64::from(a.can_dial_out))
            .execute(pool)
            .await?
            .rows_affected());
        Ok(n == 1)
    }

    /// Deletes an agent; false when there was none.
    pub async fn delete_agent(&self, id: &str) -> Result<bool, StoreError> {
        let n = on_pool!(self, pool => sqlx::query("DELETE FROM agents WHERE id = $1").bind(id).execute(pool).await?.rows_affected());
        Ok(n == 1)
    }

    /// Every agent, by id.
    pub async fn list_agents(&self) -> Result<Vec<Agent>, StoreError> {
        let sql = "SELECT id, name, skills, queues, max_chats, chat_during_call, can_dial_out, created_at FROM agents \
                   ORDER BY id LIMIT $1";
        on_pool!(self, pool => {
            let rows = sqlx::query(sql).bind(MAX_AGENTS_PAGE).fetch_all(pool).await?;
            rows.iter().map(|r| {
                let skills: String = r.try_get("skills")?;
                let queues: String = r.try_get("queues")?;
                let max_chats: i64 = r.try_get("max_chats")?;
                let chat_during_call: i64 = r.try_get("chat_during_call")?;
                let can_dial_out: i64 = r.try_get("can_dial_out")?;
                Ok(Agent {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    skills: serde_json::from_str(&skills).map_err(|source| StoreError::Corrupt { column: "skills", source })?,
                    queues: serde_json::from_str(&queues).map_err(|source| StoreError::Corrupt { column: "queues", source })?,
                    max_chats: u32::try_from(max_chats).unwrap_or(0),
                    chat_during_call: chat_during_call != 0,
                    can_dial_out: can_dial_out != 0,
                    created_at_ms: r.try_get("created_at")?,
                })
            }).collect()
        })
    }

    /// The digest secrets of every agent (for the registrar's credential map).
    pub async fn agent_secrets(&self) -> Result<Vec<AgentSecret>, StoreError> {
        let sql = "SELECT id, realm, ha1_md5, ha1_sha256 FROM agents ORDER BY id LIMIT $1";
        let rows = on_pool!(self, pool => {
            sqlx::query(sql).bind(MAX_AGENTS_PAGE).fetch_all(pool).await?.iter().map(|r| {
                Ok::<_, sqlx::Error>(AgentSecret {
                    id: r.try_get("id")?,
                    realm: r.try_get("realm")?,
                    ha1_md5: r.try_get("ha1_md5")?,
                    ha1_sha256: r.try_get("ha1_sha256")?,
                })
            }).collect::<Result<Vec<_>, _>>()?
        });
        Ok(rows)
    }
}
