//! Call records on both backends: SQLite in a temporary file, PostgreSQL in a throw-away database (see
//! `common` for where PostgreSQL is reached).
#![allow(clippy::unwrap_used)] // tests

mod common;

use common::{drop_postgres, new_call, postgres_store, sqlite_store};
use hotline_store::{CallFinal, CallQuery, CallWrite, Customer, FlowVersion, Store, StoreError};
use model::{EndReason, TrailItem};

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
        fields: Default::default(),
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
        fields: Default::default(),
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

async fn identity_survey_and_queue(store: &Store) {
    let call = new_call(60);
    let mut fields = std::collections::BTreeMap::new();
    fields.insert("rating".to_owned(), "4".to_owned());
    fields.insert("comment_code".to_owned(), "12".to_owned());
    store
        .apply(&[
            CallWrite::Insert(call.clone()),
            CallWrite::Verification {
                id: call.id,
                verified: true,
                method: "keyed_id".into(),
                attempts: 2,
                customer_id: Some("C-1001".into()),
            },
            CallWrite::Queue {
                id: call.id,
                queue: "support".into(),
            },
            CallWrite::Agent {
                id: call.id,
                agent: "2001".into(),
            },
            CallWrite::Final(CallFinal {
                id: call.id,
                ended_at_ms: call.started_at_ms + 10,
                end_reason: EndReason::FlowHangup,
                hangup_by: EndReason::FlowHangup.hangup_by(),
                keypresses: "2".into(),
                trail: vec![],
                media_stats: None,
                fields,
            }),
        ])
        .await
        .unwrap();
    let rec = store.get_call(&call.id.to_string()).await.unwrap().unwrap();
    assert_eq!(rec.verified, Some(true));
    assert_eq!(rec.verify_method.as_deref(), Some("keyed_id"));
    assert_eq!(rec.verify_attempts, Some(2));
    assert_eq!(rec.customer_id.as_deref(), Some("C-1001"));
    assert_eq!(rec.queue.as_deref(), Some("support"));
    assert_eq!(rec.agent.as_deref(), Some("2001"));
    assert_eq!(rec.rating, Some(4));
    assert_eq!(rec.fields.get("comment_code").map(String::as_str), Some("12"));
    // A rating outside 1-5 is kept as a field, not as the rating.
    let other = new_call(61);
    let mut bad = std::collections::BTreeMap::new();
    bad.insert("rating".to_owned(), "6".to_owned());
    store.insert_call(&other).await.unwrap();
    store
        .finalize_call(&CallFinal {
            id: other.id,
            ended_at_ms: other.started_at_ms + 1,
            end_reason: EndReason::CallerHangup,
            hangup_by: EndReason::CallerHangup.hangup_by(),
            keypresses: String::new(),
            trail: vec![],
            media_stats: None,
            fields: bad,
        })
        .await
        .unwrap();
    let rec = store.get_call(&other.id.to_string()).await.unwrap().unwrap();
    assert_eq!(rec.rating, None);
    assert_eq!(rec.verified, None, "no verification ran");
    assert_eq!(rec.agent, None, "no agent took it");
}

async fn flow_versions_and_customers(store: &Store) {
    let v1 = FlowVersion {
        name: "hotline".into(),
        version: "aaa".into(),
        file: "hotline.yaml".into(),
        node_id: "n".into(),
        activated_at_ms: 1,
    };
    let v2 = FlowVersion {
        version: "bbb".into(),
        activated_at_ms: 2,
        ..v1.clone()
    };
    store.record_flow_version(&v1, "flow: hotline").await.unwrap();
    store.record_flow_version(&v2, "flow: hotline # 2").await.unwrap();
    store
        .record_flow_version(&v1, "ignored: same version")
        .await
        .unwrap();
    let versions = store.flow_versions("hotline").await.unwrap();
    assert_eq!(
        versions.iter().map(|v| v.version.as_str()).collect::<Vec<_>>(),
        ["bbb", "aaa"]
    );
    assert_eq!(
        store.flow_source("hotline", "aaa").await.unwrap().as_deref(),
        Some("flow: hotline")
    );

    let c = Customer {
        id: "C-1001".into(),
        name: "Ada".into(),
        phones: vec!["+1 (555) 123-0001".into(), "+15559990000".into()],
        attributes: [("tier".to_owned(), "gold".to_owned())].into(),
    };
    store.upsert_customer(&c).await.unwrap();
    let by_phone = store.customer_by_phone("+15551230001").await.unwrap().unwrap();
    assert_eq!(by_phone.id, "C-1001");
    assert_eq!(
        by_phone.phones,
        vec!["+15551230001".to_owned(), "+15559990000".to_owned()]
    );
    assert_eq!(by_phone.attributes.get("tier").map(String::as_str), Some("gold"));
    assert!(store.customer_by_id("C-404").await.unwrap().is_none());
    assert!(store.customer_by_phone("+10000000000").await.unwrap().is_none());
    // Keyed on a phone keypad, the number has no `+`.
    assert_eq!(
        store
            .customer_by_phone("15551230001")
            .await
            .unwrap()
            .map(|c| c.id),
        Some("C-1001".to_owned())
    );
    // Replacing a customer replaces their phones.
    store
        .upsert_customer(&Customer {
            phones: vec!["+15550000002".into()],
            ..c
        })
        .await
        .unwrap();
    assert!(store.customer_by_phone("+15551230001").await.unwrap().is_none());
}

#[tokio::test]
async fn sqlite_identity_flows_and_customers() {
    let (store, dir) = sqlite_store().await;
    identity_survey_and_queue(&store).await;
    flow_versions_and_customers(&store).await;
    store.close().await;
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn postgres_identity_flows_and_customers() {
    let Some((store, name)) = postgres_store().await else {
        return;
    };
    identity_survey_and_queue(&store).await;
    flow_versions_and_customers(&store).await;
    drop_postgres(store, &name).await;
}

async fn agents(store: &Store) {
    let a = hotline_store::Agent {
        id: "2001".into(),
        name: "Ada".into(),
        skills: [("english".to_owned(), 7u8)].into(),
        queues: vec!["support".into()],
        max_chats: 5,
        chat_during_call: true,
        can_dial_out: true,
        created_at_ms: 1,
    };
    let secret = hotline_store::AgentSecret {
        id: "2001".into(),
        realm: "hotline".into(),
        ha1_md5: "m".into(),
        ha1_sha256: "s".into(),
    };
    assert!(store.create_agent(&a, &secret).await.unwrap());
    assert!(!store.create_agent(&a, &secret).await.unwrap(), "ids are unique");
    assert_eq!(store.list_agents().await.unwrap(), vec![a]);
    assert_eq!(store.agent_secrets().await.unwrap(), vec![secret]);
    assert!(store.delete_agent("2001").await.unwrap());
    assert!(!store.delete_agent("2001").await.unwrap());
    assert!(store.list_agents().await.unwrap().is_empty());
}

#[tokio::test]
async fn sqlite_agents() {
    let (store, dir) = sqlite_store().await;
    agents(&store).await;
    store.close().await;
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn postgres_agents() {
    let Some((store, name)) = postgres_store().await else {
        return;
    };
    agents(&store).await;
    drop_postgres(store, &name).await;
}

async fn recordings(store: &Store) {
    let call = new_call(70);
    store.insert_call(&call).await.unwrap();
    let id = call.id.to_string();
    assert!(store.insert_recording(&id, "2026-11-21/a.wav", 10).await.unwrap());
    assert!(
        !store.insert_recording(&id, "2026-11-21/b.wav", 11).await.unwrap(),
        "one recording per call"
    );
    assert!(
        store.open_recordings("node-b").await.unwrap().is_empty(),
        "another node's"
    );
    let open = store.open_recordings("node-a").await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].status, "recording");
    assert_eq!(open[0].path, "2026-11-21/a.wav");
    let end = hotline_store::RecordingEnd {
        ended_at_ms: 5010,
        duration_ms: 5000,
        bytes: 160_000,
        status: "complete",
    };
    assert!(store.finish_recording(&id, &end).await.unwrap());
    assert!(!store.finish_recording(&id, &end).await.unwrap(), "closed once");
    assert!(store.open_recordings("node-a").await.unwrap().is_empty());
    let r = store.get_recording(&id).await.unwrap().unwrap();
    assert_eq!(
        (r.duration_ms, r.bytes, r.status.as_str()),
        (Some(5000), Some(160_000), "complete")
    );
    assert_eq!(
        store.list_recordings(Some(&id), 10).await.unwrap(),
        vec![r.clone()]
    );
    assert!(store.list_recordings(Some("other"), 10).await.unwrap().is_empty());
    assert_eq!(
        store.list_recordings(None, 0).await.unwrap().len(),
        1,
        "limit 0 means 1"
    );
    assert_eq!(
        store.get_call(&id).await.unwrap().unwrap().recording.as_deref(),
        Some(id.as_str())
    );
}

#[tokio::test]
async fn sqlite_recordings() {
    let (store, dir) = sqlite_store().await;
    recordings(&store).await;
    store.close().await;
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn postgres_recordings() {
    let Some((store, name)) = postgres_store().await else {
        return;
    };
    recordings(&store).await;
    drop_postgres(store, &name).await;
}
