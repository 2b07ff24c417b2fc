//! The agent's desk (notes on a call, an agent's recent calls and hiding them) on both backends (see `common`
//! for the databases).
#![allow(clippy::unwrap_used)] // tests

mod common;

use common::{drop_postgres, new_call, postgres_store, sqlite_store};
use hotline_store::{CallWrite, MAX_NOTES_BYTES, MAX_RECENT_CALLS, Store, StoreError};
use model::CallId;

const T0: i64 = 1_700_000_000_000;

/// The id of the sample call `n` (see `common::new_call`).
fn id_of(n: u64) -> String {
    new_call(n).id.to_string()
}

/// Inserts the sample calls `ns` and gives each to `agent` (when one), in one batch.
async fn calls_taken_by(store: &Store, agent: Option<&str>, ns: impl IntoIterator<Item = u64>) {
    let mut writes = Vec::new();
    for n in ns {
        let call = new_call(n);
        let id = call.id;
        writes.push(CallWrite::Insert(call));
        if let Some(agent) = agent {
            writes.push(CallWrite::Agent {
                id,
                agent: agent.into(),
            });
        }
    }
    store.apply(&writes).await.unwrap();
}

/// The sample numbers of `agent`'s recent calls, in the order listed.
async fn recent(store: &Store, agent: &str, limit: i64) -> Vec<u64> {
    store
        .agent_recent_calls(agent, limit)
        .await
        .unwrap()
        .iter()
        .map(|c| {
            // Every sample call comes from `+4930{n}`.
            c.from_user.strip_prefix("+4930").unwrap().parse().unwrap()
        })
        .collect()
}

async fn notes(store: &Store) {
    calls_taken_by(store, Some("1001"), [1]).await;
    let id = id_of(1);
    let fresh = store.get_call(&id).await.unwrap().unwrap();
    assert_eq!(fresh.notes, "");
    assert_eq!(fresh.notes_by, None);
    assert_eq!(fresh.notes_at_ms, None);

    assert!(
        store
            .set_call_notes(&id, "2001", "Wants a callback", T0 + 10)
            .await
            .unwrap()
    );
    let rec = store.get_call(&id).await.unwrap().unwrap();
    assert_eq!(rec.notes, "Wants a callback");
    assert_eq!(rec.notes_by.as_deref(), Some("2001"));
    assert_eq!(rec.notes_at_ms, Some(T0 + 10));

    // A second save replaces the notes and who saved them.
    assert!(
        store
            .set_call_notes(&id, "2002", "Called back", T0 + 20)
            .await
            .unwrap()
    );
    let rec = store.get_call(&id).await.unwrap().unwrap();
    assert_eq!(rec.notes, "Called back");
    assert_eq!(rec.notes_by.as_deref(), Some("2002"));
    assert_eq!(rec.notes_at_ms, Some(T0 + 20));

    // The limit counts bytes, not characters: 2000 two-byte characters are exactly at it.
    let at_limit = "é".repeat(MAX_NOTES_BYTES / 2);
    assert_eq!(at_limit.len(), MAX_NOTES_BYTES);
    assert!(
        store
            .set_call_notes(&id, "2001", &at_limit, T0 + 30)
            .await
            .unwrap()
    );
    assert_eq!(store.get_call(&id).await.unwrap().unwrap().notes, at_limit);
    let over = format!("{at_limit}!");
    let err = store
        .set_call_notes(&id, "2001", &over, T0 + 40)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::TooLarge {
                what: "call notes",
                len,
                limit: MAX_NOTES_BYTES
            } if len == MAX_NOTES_BYTES + 1
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "call notes is 4001 bytes long, above the maximum of 4000 bytes"
    );
    // The refused save changed nothing.
    let rec = store.get_call(&id).await.unwrap().unwrap();
    assert_eq!(rec.notes, at_limit);
    assert_eq!(rec.notes_at_ms, Some(T0 + 30));

    // Notes on a call that does not exist.
    let unknown = CallId::from_parts(1_600_000_000_000, 7).to_string();
    assert!(!store.set_call_notes(&unknown, "2001", "x", T0).await.unwrap());
    assert!(store.get_call(&unknown).await.unwrap().is_none());
    // The listed records carry the notes too.
    let listed = store.agent_recent_calls("1001", 1).await.unwrap();
    assert_eq!(listed[0].notes, at_limit);
    assert_eq!(listed[0].notes_by.as_deref(), Some("2001"));
}

async fn recent_calls_and_hiding(store: &Store) {
    // Agent 2001 took twelve calls (inserted out of order), 2002 two; one call was never taken.
    calls_taken_by(store, Some("2001"), (100..112).rev().filter(|n| n % 2 == 0)).await;
    calls_taken_by(store, Some("2001"), (100..112).filter(|n| n % 2 == 1)).await;
    calls_taken_by(store, Some("2002"), [200, 201]).await;
    calls_taken_by(store, None, [300]).await;

    assert_eq!(
        recent(store, "2001", 10).await,
        (102..112).rev().collect::<Vec<_>>()
    );
    assert_eq!(recent(store, "2001", 50).await.len(), 12);
    assert_eq!(recent(store, "2002", 10).await, [201, 200]);
    assert!(recent(store, "9999", 10).await.is_empty());

    // Hiding the newest brings the eleventh newest into the ten; the record stays.
    assert!(
        store
            .hide_call_for_agent("2001", &id_of(111), T0 + 1)
            .await
            .unwrap()
    );
    let after: Vec<u64> = (101..111).rev().collect();
    assert_eq!(recent(store, "2001", 10).await, after);
    let kept = store.get_call(&id_of(111)).await.unwrap().unwrap();
    assert_eq!(kept.agent.as_deref(), Some("2001"));
    // Hiding again is accepted and changes nothing.
    assert!(
        store
            .hide_call_for_agent("2001", &id_of(111), T0 + 2)
            .await
            .unwrap()
    );
    assert_eq!(recent(store, "2001", 10).await, after);

    // Per agent: 2002 cannot hide 2001's call, and 2002's list is untouched.
    assert!(
        !store
            .hide_call_for_agent("2002", &id_of(110), T0 + 3)
            .await
            .unwrap()
    );
    assert_eq!(recent(store, "2001", 10).await, after);
    assert_eq!(recent(store, "2002", 10).await, [201, 200]);
    assert!(
        store
            .hide_call_for_agent("2002", &id_of(200), T0 + 4)
            .await
            .unwrap()
    );
    assert_eq!(recent(store, "2002", 10).await, [201]);
    assert_eq!(recent(store, "2001", 10).await, after);
    // A call 2001 hid, taken over by 2002, shows in 2002's list: the hiding was 2001's alone.
    store
        .apply(&[CallWrite::Agent {
            id: new_call(111).id,
            agent: "2002".into(),
        }])
        .await
        .unwrap();
    assert_eq!(recent(store, "2002", 10).await, [201, 111]);
    assert!(
        !store
            .hide_call_for_agent("2001", &id_of(111), T0 + 5)
            .await
            .unwrap()
    );

    // Calls the agent did not take: nobody's, and none at all.
    assert!(
        !store
            .hide_call_for_agent("2001", &id_of(300), T0 + 6)
            .await
            .unwrap()
    );
    let unknown = CallId::from_parts(1_600_000_000_000, 7).to_string();
    assert!(!store.hide_call_for_agent("2001", &unknown, T0 + 7).await.unwrap());
    assert_eq!(recent(store, "2001", 10).await, after);
}

async fn limits_are_clamped(store: &Store) {
    calls_taken_by(store, Some("3001"), 400..455).await;
    assert_eq!(recent(store, "3001", 0).await, [454]);
    assert_eq!(recent(store, "3001", -5).await, [454]);
    assert_eq!(recent(store, "3001", 1).await, [454]);
    let max = usize::try_from(MAX_RECENT_CALLS).unwrap();
    assert_eq!(recent(store, "3001", MAX_RECENT_CALLS).await.len(), max);
    let clamped = recent(store, "3001", MAX_RECENT_CALLS + 1).await;
    assert_eq!(clamped, (405..455).rev().collect::<Vec<_>>());
    assert_eq!(recent(store, "3001", i64::MAX).await.len(), max);
}

async fn all(store: &Store) {
    notes(store).await;
    recent_calls_and_hiding(store).await;
    limits_are_clamped(store).await;
}

#[tokio::test]
async fn sqlite_agent_desk() {
    let (store, dir) = sqlite_store().await;
    all(&store).await;
    store.close().await;
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn postgres_agent_desk() {
    let Some((store, name)) = postgres_store().await else {
        return;
    };
    all(&store).await;
    drop_postgres(store, &name).await;
}
