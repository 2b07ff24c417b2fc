//! Persistence for Hotline: call records (CDRs) on embedded SQLite (the default) or PostgreSQL (shared by
//! several nodes).
//!
//! A record is inserted when a call starts and finalized when it ends. A record still open at start-up belongs
//! to a process that died: [`Store::recover_interrupted`] closes it with the end reason `interrupted`. Chats
//! are kept the same way ([`Store::recover_open_chats`] closes those of a dead process), with their
//! messages; [`Store::customer_timeline`] lists one customer's calls and chats together. The queue's history
//! (entries, offers to agents, agents' status changes and login sessions) is written with
//! [`Store::write_queue`]; [`Store::close_open_entries`] and [`Store::close_open_sessions`] close what a dead
//! process left open. An agent's desk keeps notes on calls ([`Store::set_call_notes`]) and lists the calls the
//! agent took ([`Store::agent_recent_calls`]), without those the agent removed ([`Store::hide_call_for_agent`]).
//!
//! Both backends run the same SQL (parameters are written `$1, $2, …` in order, which SQLite accepts as well);
//! each has its own migration folder under `migrations/`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), hotline_store::StoreError> {
//! let store = hotline_store::Store::connect("sqlite://./data/hotline.db").await?;
//! let closed = store.recover_interrupted(1_700_000_000_000).await?;
//! let recent = store.list_calls(&hotline_store::CallQuery { limit: 20, before: None }).await?;
//! # Ok(()) }
//! ```
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod agent_desk;
mod agents;
mod calls;
mod chats;
mod customers;
mod error;
mod flows;
mod leases;
mod queue_history;
mod recordings;

pub use agent_desk::{MAX_NOTES_BYTES, MAX_RECENT_CALLS};
pub use agents::{Agent, AgentSecret, MAX_AGENTS_PAGE};
pub use calls::{CallFinal, CallQuery, CallRecord, CallWrite, MAX_LIST_LIMIT, NewCall};
pub use chats::{
    ChatMessage, ChatRecord, ChatWrite, MAX_CHAT_MESSAGES_PAGE, MAX_TIMELINE_PAGE, MAX_TIMELINE_SCAN_PAGES,
    NewChat, TimelineItem, TimelineQuery,
};
pub use customers::{Customer, MAX_PHONES, normalize_phone};
pub use error::StoreError;
pub use flows::{FlowVersion, MAX_FLOW_SOURCE};
pub use queue_history::{
    AgentSessionRow, AgentStatusRow, MAX_QUEUE_HISTORY_PAGE, QueueEntry, QueueOffer, QueueWrite,
};
pub use recordings::{MAX_RECORDINGS_PAGE, Recording, RecordingEnd};

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// A connection pool to one of the supported backends, migrated and ready.
#[derive(Clone, Debug)]
pub enum Store {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs the same statement on whichever pool the store holds.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match $store {
            $crate::Store::Sqlite($pool) => $body,
            $crate::Store::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

impl Store {
    /// Connects to `url` (`sqlite://PATH` or `postgres://…`), creating a SQLite file if needed, and runs the
    /// migrations of that backend.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let store = if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)
                .map_err(|source| StoreError::BadUrl { source })?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                // Call records must survive a power cut: fsync every commit.
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(5))
                .foreign_keys(true);
            let pool = SqlitePoolOptions::new()
                .max_connections(4)
                .connect_with(opts)
                .await?;
            SQLITE_MIGRATIONS.run(&pool).await?;
            Self::Sqlite(pool)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let opts = PgConnectOptions::from_str(url).map_err(|source| StoreError::BadUrl { source })?;
            let pool = PgPoolOptions::new()
                .max_connections(8)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(opts)
                .await?;
            POSTGRES_MIGRATIONS.run(&pool).await?;
            Self::Postgres(pool)
        } else {
            return Err(StoreError::UnsupportedScheme);
        };
        Ok(store)
    }

    /// Which backend this is, for logs and metrics.
    pub fn backend(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }

    /// Checks the database answers (for `/healthz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_pool!(self, pool => { sqlx::query("SELECT 1").execute(pool).await?; });
        Ok(())
    }

    /// Closes the pool, waiting for queries in flight.
    pub async fn close(&self) {
        on_pool!(self, pool => pool.close().await)
    }
}
