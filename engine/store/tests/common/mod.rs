//! Helpers shared by the store's integration tests: a store on either backend, and a sample call.
//!
//! PostgreSQL is reached at `HOTLINE_TEST_PG` (default `postgres://postgres@127.0.0.1:5432/test`). Under CI
//! (`CI` set) an unreachable server fails the test; elsewhere the PostgreSQL half is skipped with a message.
// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use hotline_store::{NewCall, Store};
use model::CallId;

/// A call from `+4930{n}` on node `node-a`, started `n` ms after 1_700_000_000_000.
pub(crate) fn new_call(n: u64) -> NewCall {
    NewCall {
        id: CallId::from_parts(1_700_000_000_000 + n, u128::from(n)),
        sip_call_id: format!("sip-{n}@test"),
        from_uri: format!("sip:+4930{n}@caller.test"),
        from_user: format!("+4930{n}"),
        to_uri: "sip:hotline@engine.test".into(),
        to_user: "hotline".into(),
        source_addr: "127.0.0.1:5999".into(),
        node_id: "node-a".into(),
        flow: Some("hotline".into()),
        flow_version: Some("abc123".into()),
        started_at_ms: 1_700_000_000_000 + i64::try_from(n).unwrap(),
    }
}

/// A store on a fresh SQLite file, and the folder to remove afterwards.
pub(crate) async fn sqlite_store() -> (Store, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!(
        "hotline-store-{}-{}",
        std::process::id(),
        ulid::Ulid::new()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}/test.db", dir.display());
    (Store::connect(&url).await.unwrap(), dir)
}

/// The PostgreSQL database test databases are created from.
fn postgres_base() -> String {
    std::env::var("HOTLINE_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A fresh PostgreSQL database, or None (outside CI only) when the server cannot be reached.
pub(crate) async fn postgres_store() -> Option<(Store, String)> {
    let base = postgres_base();
    let admin = match sqlx::PgPool::connect(&base).await {
        Ok(p) => p,
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("skipping the PostgreSQL half: {base} unreachable ({e}); CI requires it");
            return None;
        }
        Err(e) => panic!("PostgreSQL at {base} is required under CI: {e}"),
    };
    let name = format!("hotline_test_{}", ulid::Ulid::new().to_string().to_lowercase());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&admin)
        .await
        .unwrap();
    let url = match base.rsplit_once('/') {
        Some((prefix, _)) => format!("{prefix}/{name}"),
        None => panic!("HOTLINE_TEST_PG must name a database"),
    };
    Some((Store::connect(&url).await.unwrap(), name))
}

/// Closes the store and drops its database.
pub(crate) async fn drop_postgres(store: Store, name: &str) {
    store.close().await;
    let base = postgres_base();
    let admin = sqlx::PgPool::connect(&base).await.unwrap();
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&admin)
        .await
        .unwrap();
}
