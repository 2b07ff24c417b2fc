//! Call records on both backends: SQLite in a temporary file, PostgreSQL in a throw-away database.
//!
//! PostgreSQL is reached at `HOTLINE_TEST_PG` (default `postgres://postgres@127.0.0.1:5432/test`). Under CI
//! (`CI` set) an unreachable server fails the test; elsewhere the PostgreSQL half is skipped with a message.
#![allow(clippy::unwrap_used)] // tests

use hotline_store::{CallFinal, CallQuery, CallWrite, NewCall, Store, StoreError};
use model::{CallId, EndReason, TrailItem};

fn new_call(n: u64) -> NewCall {
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

async fn sqlite_store() -> (Store, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!(
        "hotline-store-{}-{}",
        std::process::id(),
        ulid::Ulid::new()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}/test.db", dir.display());
    (Store::connect(&url).await.unwrap(), dir)
}

/// A fresh PostgreSQL database, or None (outside CI only) when the server cannot be reached.
async fn postgres_store() -> Option<(Store, String)> {
    let base =
        std::env::var("HOTLINE_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
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

async fn drop_postgres(store: Store, name: &str) {
    store.close().await;
    let base =
        std::env::var("HOTLINE_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let admin = sqlx::PgPool::connect(&base).await.unwrap();
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&admin)
        .await
        .unwrap();
}

async fn lifecycle(store: &Store) {
    let call = new_call(1);
    store.insert_call(&call).await.unwrap();
    let open = store.get_call(&call.id.to_string()).await.unwrap().unwrap();
    assert_eq!(open.ended_at_ms, None);
    assert_eq!(open.from_user, "+49301");

    store
        .mark_answered(call.id, call.started_at_ms + 40)
        .await
        .unwrap();
    let trail = vec![
        TrailItem::Node {
            node: "greeting".into(),
            at_ms: 0,
        },
        TrailItem::Digit {
            digit: "1".into(),
            node: Some("ask".into()),
            source: "rfc4733".into(),
            at_ms: 900,
        },
    ];
    store.update_progress(call.id, "1", &trail).await.unwrap();
    let fin = CallFinal {
        id: call.id,
        ended_at_ms: call.started_at_ms + 5_000,
        end_reason: EndReason::CallerHangup,
        hangup_by: EndReason::CallerHangup.hangup_by(),
        keypresses: "12#".into(),
        trail: trail.clone(),
        media_stats: Some(serde_json::json!({"packets_received": 250})),
    };
    assert!(store.finalize_call(&fin).await.unwrap());
    // Finalizing twice changes nothing.
    let mut again = fin.clone();
    again.end_reason = EndReason::Error;
    assert!(!store.finalize_call(&again).await.unwrap());

    let rec = store.get_call(&call.id.to_string()).await.unwrap().unwrap();
    assert_eq!(rec.answered_at_ms, Some(call.started_at_ms + 40));
    assert_eq!(rec.ended_at_ms, Some(call.started_at_ms + 5_000));
    assert_eq!(rec.end_reason.as_deref(), Some("caller_hangup"));
    assert_eq!(rec.hangup_by.as_deref(), Some("caller"));
    assert_eq!(rec.keypresses, "12#");
    assert_eq!(rec.trail, trail);
    assert_eq!(
        rec.media_stats,
        Some(serde_json::json!({"packets_received": 250}))
    );
}

async fn recovery_and_paging(store: &Store) {
    for n in 10..15 {
        store.insert_call(&new_call(n)).await.unwrap();
    }
    let closed = store.recover_interrupted(1_800_000_000_000).await.unwrap();
    assert!(closed >= 5);
    let page = store
        .list_calls(&CallQuery {
            limit: 3,
            before: None,
        })
        .await
        .unwrap();
    assert_eq!(page.len(), 3);
    assert_eq!(page[0].from_user, "+493014", "newest first");
    assert!(
        page.iter()
            .all(|c| c.end_reason.as_deref() == Some("interrupted"))
    );
    let next = store
        .list_calls(&CallQuery {
            limit: 3,
            before: Some(page[2].id.clone()),
        })
        .await
        .unwrap();
    assert_eq!(next[0].from_user, "+493011");
    // Limits: the maximum is accepted, one more is refused.
    assert!(
        store
            .list_calls(&CallQuery {
                limit: 1000,
                before: None
            })
            .await
            .is_ok()
    );
    assert!(matches!(
        store
            .list_calls(&CallQuery {
                limit: 1001,
                before: None
            })
            .await,
        Err(StoreError::LimitTooLarge {
            requested: 1001,
            max: 1000
        })
    ));
}

#[tokio::test]
async fn sqlite_call_record_lifecycle() {
    let (store, dir) = sqlite_store().await;
    lifecycle(&store).await;
    recovery_and_paging(&store).await;
    store.close().await;
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn sqlite_records_survive_reopening() {
    let (store, dir) = sqlite_store().await;
    let call = new_call(7);
    store.insert_call(&call).await.unwrap();
    store.close().await;
    // A new process opens the same file: the open record is found and closed as interrupted.
    let url = format!("sqlite://{}/test.db", dir.display());
    let reopened = Store::connect(&url).await.unwrap();
    assert_eq!(reopened.recover_interrupted(1_800_000_000_000).await.unwrap(), 1);
    let rec = reopened.get_call(&call.id.to_string()).await.unwrap().unwrap();
    assert_eq!(rec.end_reason.as_deref(), Some("interrupted"));
    reopened.close().await;
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn postgres_call_record_lifecycle() {
    let Some((store, name)) = postgres_store().await else {
        return;
    };
    lifecycle(&store).await;
    recovery_and_paging(&store).await;
    drop_postgres(store, &name).await;
}

async fn batched_writes(store: &Store) {
    let call = new_call(40);
    let fin = CallFinal {
        id: call.id,
        ended_at_ms: call.started_at_ms + 1000,
        end_reason: EndReason::FlowHangup,
        hangup_by: EndReason::FlowHangup.hangup_by(),
        keypresses: "9".into(),
        trail: vec![],
        media_stats: None,
    };
    store
        .apply(&[
            CallWrite::Insert(call.clone()),
            CallWrite::Answered {
                id: call.id,
                at_ms: call.started_at_ms + 1,
            },
            CallWrite::Progress {
                id: call.id,
                keypresses: "9".into(),
                trail: vec![],
            },
            CallWrite::Final(fin),
        ])
        .await
        .unwrap();
    let rec = store.get_call(&call.id.to_string()).await.unwrap().unwrap();
    assert_eq!(rec.end_reason.as_deref(), Some("flow_hangup"));
    assert_eq!(rec.answered_at_ms, Some(call.started_at_ms + 1));
    // A failing write rolls the whole batch back: inserting the same id twice fails.
    let other = new_call(41);
    let err = store
        .apply(&[CallWrite::Insert(other.clone()), CallWrite::Insert(call.clone())])
        .await;
    assert!(err.is_err());
    assert!(store.get_call(&other.id.to_string()).await.unwrap().is_none());
}

#[tokio::test]
async fn sqlite_batches_are_atomic() {
    let (store, dir) = sqlite_store().await;
    batched_writes(&store).await;
    store.close().await;
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn postgres_batches_are_atomic() {
    let Some((store, name)) = postgres_store().await else {
        return;
    };
    batched_writes(&store).await;
    drop_postgres(store, &name).await;
}
