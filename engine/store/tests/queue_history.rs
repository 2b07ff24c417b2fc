//! The queue's history (entries, offers, agents' status changes and sessions) on both backends (see `common`
//! for the databases).
#![allow(clippy::unwrap_used)] // tests

mod common;

use common::{drop_postgres, postgres_store, sqlite_store};
use hotline_store::{AgentSessionRow, MAX_QUEUE_HISTORY_PAGE, QueueOffer, QueueWrite, Store};

const T0: i64 = 1_700_000_000_000;

fn joined(id: &str, interaction: &str, node: &str, at: i64) -> QueueWrite {
    QueueWrite::Joined {
        id: id.into(),
        interaction: interaction.into(),
        channel: "call".into(),
        queue: "support".into(),
        priority: 5,
        node_id: node.into(),
        at_ms: T0 + at,
    }
}

fn offered(id: &str, entry: &str, agent: &str, at: i64) -> QueueWrite {
    QueueWrite::Offered {
        id: id.into(),
        entry_id: entry.into(),
        agent: agent.into(),
        at_ms: T0 + at,
    }
}

fn offer_ended(id: &str, outcome: &str, at: i64) -> QueueWrite {
    QueueWrite::OfferEnded {
        id: id.into(),
        outcome: outcome.into(),
        at_ms: T0 + at,
    }
}

fn left(id: &str, outcome: &str, at: i64) -> QueueWrite {
    QueueWrite::Left {
        id: id.into(),
        outcome: outcome.into(),
        at_ms: T0 + at,
    }
}

fn status(agent: &str, status: &str, state: &str, at: i64) -> QueueWrite {
    QueueWrite::AgentStatus {
        agent: agent.into(),
        status: status.into(),
        state: state.into(),
        reason: format!("because {at}"),
        node_id: "node-a".into(),
        at_ms: T0 + at,
    }
}

fn session(id: &str, agent: &str, node: &str, at: i64) -> QueueWrite {
    QueueWrite::SessionStarted {
        id: id.into(),
        agent: agent.into(),
        node_id: node.into(),
        source: "192.0.2.7:50000".into(),
        at_ms: T0 + at,
    }
}

async fn write_all(store: &Store, writes: &[QueueWrite]) {
    for w in writes {
        store.write_queue(w).await.unwrap();
    }
}

/// The offer ids and outcomes of each entry of `interaction`.
async fn offers_of(store: &Store, interaction: &str) -> Vec<Vec<(String, Option<String>)>> {
    let entries = store.queue_entries(interaction).await.unwrap();
    entries
        .iter()
        .map(|e| {
            e.offers
                .iter()
                .map(|o| (o.id.clone(), o.outcome.clone()))
                .collect()
        })
        .collect()
}

async fn a_call_waits_is_offered_twice_and_finishes(store: &Store) {
    assert!(store.queue_entries("call-1").await.unwrap().is_empty());
    write_all(
        store,
        &[
            joined("entry-1", "call-1", "node-a", 0),
            offered("offer-1", "entry-1", "2001", 10),
            offer_ended("offer-1", "declined", 20),
            offered("offer-2", "entry-1", "2002", 30),
            offer_ended("offer-2", "answered", 40),
            QueueWrite::Connected {
                id: "entry-1".into(),
                agent: "2002".into(),
                at_ms: T0 + 40,
            },
            left("entry-1", "finished", 100),
            // The same contact waits again later (a transfer back into a queue).
            joined("entry-2", "call-1", "node-a", 200),
            // Another contact's history is not listed.
            joined("entry-3", "call-2", "node-a", 5),
        ],
    )
    .await;

    let entries = store.queue_entries("call-1").await.unwrap();
    assert_eq!(
        entries.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
        ["entry-1", "entry-2"],
        "oldest first"
    );
    let first = &entries[0];
    assert_eq!(
        (
            first.interaction.as_str(),
            first.channel.as_str(),
            first.queue.as_str()
        ),
        ("call-1", "call", "support")
    );
    assert_eq!(
        (first.priority, first.node_id.as_str(), first.joined_at_ms),
        (5, "node-a", T0)
    );
    assert_eq!(first.connected_at_ms, Some(T0 + 40));
    assert_eq!(first.agent.as_deref(), Some("2002"));
    assert_eq!(first.left_at_ms, Some(T0 + 100));
    assert_eq!(first.outcome.as_deref(), Some("finished"));
    assert_eq!(
        first.offers,
        [
            QueueOffer {
                id: "offer-1".into(),
                agent: "2001".into(),
                offered_at_ms: T0 + 10,
                ended_at_ms: Some(T0 + 20),
                outcome: Some("declined".into()),
            },
            QueueOffer {
                id: "offer-2".into(),
                agent: "2002".into(),
                offered_at_ms: T0 + 30,
                ended_at_ms: Some(T0 + 40),
                outcome: Some("answered".into()),
            },
        ]
    );
    let second = &entries[1];
    assert_eq!((second.connected_at_ms, second.agent.as_deref()), (None, None));
    assert_eq!((second.left_at_ms, second.outcome.as_deref()), (None, None));
    assert!(second.offers.is_empty());
}

async fn retried_and_late_writes_change_nothing(store: &Store) {
    let before = store.queue_entries("call-1").await.unwrap();
    write_all(
        store,
        &[
            // Retried inserts, even with other values.
            joined("entry-1", "call-1", "node-b", 999),
            offered("offer-1", "entry-1", "2009", 999),
            // A second ending keeps the first.
            left("entry-1", "abandoned", 999),
            offer_ended("offer-1", "no_answer", 999),
            offer_ended("offer-2", "withdrawn", 999),
            QueueWrite::Connected {
                id: "entry-1".into(),
                agent: "2009".into(),
                at_ms: T0 + 999,
            },
        ],
    )
    .await;
    assert_eq!(store.queue_entries("call-1").await.unwrap(), before);

    // The first ending of an open entry is kept as well.
    write_all(
        store,
        &[left("entry-2", "abandoned", 300), left("entry-2", "timeout", 400)],
    )
    .await;
    let entries = store.queue_entries("call-1").await.unwrap();
    assert_eq!(entries[1].outcome.as_deref(), Some("abandoned"));
    assert_eq!(entries[1].left_at_ms, Some(T0 + 300));

    assert!(
        store
            .write_queue(&offered("offer-9", "entry-404", "2001", 0))
            .await
            .is_err(),
        "an offer needs its entry"
    );
}

async fn status_history_is_newest_first_and_paged(store: &Store) {
    write_all(
        store,
        &[
            status("2001", "idle", "waiting", 0),
            status("2001", "busy", "in_call", 10),
            // The same millisecond: the later write is newer.
            status("2001", "busy", "wrap_up", 10),
            status("2002", "break", "waiting", 5),
        ],
    )
    .await;
    let rows = store.agent_status_history("2001", 2).await.unwrap();
    assert_eq!(
        rows.iter()
            .map(|r| (r.state.as_str(), r.at_ms))
            .collect::<Vec<_>>(),
        [("wrap_up", T0 + 10), ("in_call", T0 + 10)],
        "newest first, at most 2"
    );
    assert_eq!(
        (
            rows[0].agent.as_str(),
            rows[0].status.as_str(),
            rows[0].reason.as_str(),
            rows[0].node_id.as_str()
        ),
        ("2001", "busy", "because 10", "node-a")
    );
    assert_eq!(
        store.agent_status_history("2001", 0).await.unwrap().len(),
        1,
        "0 means 1"
    );
    assert_eq!(store.agent_status_history("2001", -3).await.unwrap().len(), 1);
    let all = store.agent_status_history("2001", 5000).await.unwrap();
    assert_eq!(
        all.iter().map(|r| r.state.as_str()).collect::<Vec<_>>(),
        ["wrap_up", "in_call", "waiting"]
    );
    assert!(store.agent_status_history("2999", 10).await.unwrap().is_empty());
}

/// More rows than one page holds: a page stops at the maximum.
async fn status_history_pages_stop_at_the_maximum(store: &Store) {
    let n = MAX_QUEUE_HISTORY_PAGE + 1;
    for at in 0..n {
        store
            .write_queue(&status("3001", "idle", "waiting", at))
            .await
            .unwrap();
    }
    let rows = store.agent_status_history("3001", 5000).await.unwrap();
    assert_eq!(i64::try_from(rows.len()).unwrap(), MAX_QUEUE_HISTORY_PAGE);
    assert_eq!(rows[0].at_ms, T0 + n - 1);
}

async fn sessions_start_end_and_recover(store: &Store) {
    write_all(
        store,
        &[
            session("sess-1", "2001", "node-a", 0),
            QueueWrite::SessionEnded {
                id: "sess-1".into(),
                reason: "logout".into(),
                at_ms: T0 + 50,
            },
            QueueWrite::SessionEnded {
                id: "sess-1".into(),
                reason: "expired".into(),
                at_ms: T0 + 60,
            },
            session("sess-2", "2001", "node-a", 100),
            session("sess-2", "2001", "node-b", 999),
            session("sess-3", "2001", "node-b", 200),
        ],
    )
    .await;
    let sessions = store.agent_sessions("2001", 10).await.unwrap();
    assert_eq!(
        sessions.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        ["sess-3", "sess-2", "sess-1"],
        "newest first, a retried start kept once"
    );
    assert_eq!(
        sessions[2],
        AgentSessionRow {
            id: "sess-1".into(),
            agent: "2001".into(),
            node_id: "node-a".into(),
            source: "192.0.2.7:50000".into(),
            started_at_ms: T0,
            ended_at_ms: Some(T0 + 50),
            end_reason: Some("logout".into()),
        },
        "the first end is kept"
    );
    assert_eq!(store.agent_sessions("2001", 2).await.unwrap().len(), 2);
    assert_eq!(store.agent_sessions("2001", 0).await.unwrap().len(), 1);
    assert_eq!(store.agent_sessions("2001", 5000).await.unwrap().len(), 3);

    assert_eq!(store.close_open_sessions("node-a", T0 + 500).await.unwrap(), 1);
    let sessions = store.agent_sessions("2001", 10).await.unwrap();
    let ends: Vec<_> = sessions
        .iter()
        .map(|s| (s.id.as_str(), s.ended_at_ms, s.end_reason.as_deref()))
        .collect();
    assert_eq!(
        ends,
        [
            ("sess-3", None, None),
            ("sess-2", Some(T0 + 500), Some("interrupted")),
            ("sess-1", Some(T0 + 50), Some("logout")),
        ],
        "only this node's open sessions"
    );
    assert_eq!(store.close_open_sessions("node-a", T0 + 600).await.unwrap(), 0);
}

async fn open_entries_are_closed_at_start_up(store: &Store) {
    write_all(
        store,
        &[
            // node-c: one entry waiting with an open offer and an ended one, one entry already left.
            joined("c-wait", "call-c1", "node-c", 0),
            offered("c-wait-o1", "c-wait", "2001", 1),
            offer_ended("c-wait-o1", "no_answer", 2),
            offered("c-wait-o2", "c-wait", "2002", 3),
            joined("c-done", "call-c2", "node-c", 0),
            offered("c-done-o1", "c-done", "2003", 1),
            offer_ended("c-done-o1", "answered", 2),
            // An offer left open (its end was lost): dead all the same.
            offered("c-done-o2", "c-done", "2005", 5),
            left("c-done", "finished", 9),
            // node-d: an entry waiting with an open offer.
            joined("d-wait", "call-d1", "node-d", 0),
            offered("d-wait-o1", "d-wait", "2004", 1),
        ],
    )
    .await;
    assert_eq!(store.close_open_entries("node-c", T0 + 1000).await.unwrap(), 1);

    let wait = store.queue_entries("call-c1").await.unwrap();
    assert_eq!(wait[0].left_at_ms, Some(T0 + 1000));
    assert_eq!(wait[0].outcome.as_deref(), Some("interrupted"));
    assert_eq!(
        wait[0]
            .offers
            .iter()
            .map(|o| (o.id.as_str(), o.ended_at_ms, o.outcome.as_deref()))
            .collect::<Vec<_>>(),
        [
            ("c-wait-o1", Some(T0 + 2), Some("no_answer")),
            ("c-wait-o2", Some(T0 + 1000), Some("interrupted")),
        ]
    );
    assert_eq!(
        offers_of(store, "call-c2").await,
        [[
            ("c-done-o1".to_owned(), Some("answered".to_owned())),
            ("c-done-o2".to_owned(), Some("interrupted".to_owned())),
        ]],
        "every open offer of this node's entries is closed"
    );
    let done = store.queue_entries("call-c2").await.unwrap();
    assert_eq!(
        (done[0].left_at_ms, done[0].outcome.as_deref()),
        (Some(T0 + 9), Some("finished"))
    );

    let other = store.queue_entries("call-d1").await.unwrap();
    assert_eq!((other[0].left_at_ms, other[0].outcome.as_deref()), (None, None));
    assert_eq!(
        offers_of(store, "call-d1").await,
        [[("d-wait-o1".to_owned(), None)]],
        "another node's offers stay open"
    );
    assert_eq!(store.close_open_entries("node-c", T0 + 2000).await.unwrap(), 0);
}

async fn all(store: &Store) {
    a_call_waits_is_offered_twice_and_finishes(store).await;
    retried_and_late_writes_change_nothing(store).await;
    status_history_is_newest_first_and_paged(store).await;
    status_history_pages_stop_at_the_maximum(store).await;
    sessions_start_end_and_recover(store).await;
    open_entries_are_closed_at_start_up(store).await;
}

#[tokio::test]
async fn sqlite_queue_history() {
    let (store, dir) = sqlite_store().await;
    all(&store).await;
    store.close().await;
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn postgres_queue_history() {
    let Some((store, name)) = postgres_store().await else {
        return;
    };
    all(&store).await;
    drop_postgres(store, &name).await;
}
