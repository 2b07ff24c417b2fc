//! Agent leases: engines that share one database claim an agent before offering it a contact.
//!
//! A claim is one conditional upsert, atomic on both backends: it succeeds when nobody holds the agent,
//! when this node holds it already (a renewal), or when the holder's lease has run out (a dead node). There
//! is no row to lock and skip, as a work queue would: contacts stay with the node that holds their dialog or
//! socket, and what the nodes compete for is the agent.

use crate::{Store, StoreError, on_pool};

impl Store {
    /// Claims `agent` for `node_id` until `until_ms`; false when another node holds a lease that has not
    /// run out at `now_ms`.
    pub async fn claim_agent(
        &self,
        agent: &str,
        node_id: &str,
        now_ms: i64,
        until_ms: i64,
    ) -> Result<bool, StoreError> {
        let sql = "INSERT INTO agent_leases (agent, node_id, lease_until_ms) VALUES ($1, $2, $3) \
                   ON CONFLICT (agent) DO UPDATE SET node_id = excluded.node_id, \
                   lease_until_ms = excluded.lease_until_ms \
                   WHERE agent_leases.node_id = excluded.node_id OR agent_leases.lease_until_ms < $4";
        let n = on_pool!(self, pool => sqlx::query(sql)
            .bind(agent)
            .bind(node_id)
            .bind(until_ms)
            .bind(now_ms)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(n == 1)
    }

    /// Gives up this node's lease on `agent` (a lease held by another node is left alone).
    pub async fn release_agent(&self, agent: &str, node_id: &str) -> Result<(), StoreError> {
        on_pool!(self, pool => sqlx::query("DELETE FROM agent_leases WHERE agent = $1 AND node_id = $2")
            .bind(agent)
            .bind(node_id)
            .execute(pool)
            .await
            .map(|_| ())?);
        Ok(())
    }

    /// Extends every lease this node holds to `until_ms`; returns how many it holds.
    pub async fn renew_agent_leases(&self, node_id: &str, until_ms: i64) -> Result<u64, StoreError> {
        let n = on_pool!(self, pool => sqlx::query("UPDATE agent_leases SET lease_until_ms = $1 WHERE node_id = $2")
            .bind(until_ms)
            .bind(node_id)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(n)
    }

    /// Drops every lease of this node (at start-up: a restarted node holds nothing).
    pub async fn release_node_leases(&self, node_id: &str) -> Result<u64, StoreError> {
        let n = on_pool!(self, pool => sqlx::query("DELETE FROM agent_leases WHERE node_id = $1")
            .bind(node_id)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(n)
    }

    /// The node holding `agent` and until when, if any.
    pub async fn agent_lease(&self, agent: &str) -> Result<Option<(String, i64)>, StoreError> {
        let row: Option<(String, i64)> = on_pool!(self, pool => sqlx::query_as(
            "SELECT node_id, lease_until_ms FROM agent_leases WHERE agent = $1",
        )
        .bind(agent)
        .fetch_optional(pool)
        .await?);
        Ok(row)
    }
}
