//! Chats, their messages and a customer's timeline on both backends (see `common` for the databases).
#![allow(clippy::unwrap_used)] // tests

mod common;

use common::{drop_postgres, new_call, postgres_store, sqlite_store};
use hotline_store::{
    CallFinal, CallWrite, ChatMessage, ChatWrite, Customer, NewChat, Store, TimelineItem, TimelineQuery,
};
use model::EndReason;

const T0: i64 = 1_700_000_000_000;

fn open(id: &str, number: Option<&str>, customer_id: Option<&str>, node: &str, at_ms: i64) -> ChatWrite {
    ChatWrite::Open(NewChat {
        id: id.into(),
        queue: "support".into(),
        customer_number: number.map(Into::into),
        customer_id: customer_id.map(Into::into),
        customer_name: "Ada".into(),
        node_id: node.into(),
        started_at_ms: at_ms,
    })
}

fn message(chat: &str, seq: i64, sender: &str, body: &str) -> ChatWrite {
    ChatWrite::Message(ChatMessage {
        chat_id: chat.into(),
        seq,
        sender: sender.into(),
        agent: (sender == "agent").then(|| "2001".to_owned()),
        body: body.into(),
        at_ms: 1000 + seq,
    })
}

async fn apply_all(store: &Store, writes: &[ChatWrite]) {
    for w in writes {
        store.apply_chat_write(w).await.unwrap();
    }
}

fn seqs(page: &[ChatMessage]) -> Vec<i64> {
    page.iter().map(|m| m.seq).collect()
}

async fn lifecycle(store: &Store) {
    store
        .apply_chat_write(&open("chat-1", Some(" +1 (555) 765-4 "), None, "node-a", 1000))
        .await
        .unwrap();
    let chat = store.get_chat("chat-1").await.unwrap().unwrap();
    assert_eq!(chat.status, "queued");
    assert_eq!(
        chat.customer_number.as_deref(),
        Some("+15557654"),
        "stored normalized"
    );
    assert_eq!((chat.agent, chat.messages), (None, 0));
    assert!(store.get_chat("chat-404").await.unwrap().is_none());
    assert!(
        store
            .apply_chat_write(&open("chat-1", None, None, "node-a", 1))
            .await
            .is_err(),
        "ids are unique"
    );

    apply_all(
        store,
        &[
            message("chat-1", 1, "customer", "hello"),
            message("chat-1", 2, "system", "waiting for an agent"),
            ChatWrite::Moved {
                id: "chat-1".into(),
                queue: "overflow".into(),
            },
            ChatWrite::Accepted {
                id: "chat-1".into(),
                agent: "2001".into(),
                at_ms: 1500,
            },
            message("chat-1", 3, "agent", "hi, how can I help?"),
            message("chat-1", 4, "customer", "my bill"),
            message("chat-1", 5, "agent", "let me check"),
            // Written twice (a retry): the first one stays.
            message("chat-1", 2, "system", "a retried copy"),
        ],
    )
    .await;
    assert!(
        store
            .apply_chat_write(&message("chat-404", 1, "customer", "orphan"))
            .await
            .is_err(),
        "messages belong to a chat"
    );
    let chat = store.get_chat("chat-1").await.unwrap().unwrap();
    assert_eq!(chat.status, "active");
    assert_eq!(chat.queue, "overflow");
    assert_eq!(chat.agent.as_deref(), Some("2001"));
    assert_eq!(chat.accepted_at_ms, Some(1500));
    assert_eq!(chat.messages, 5);

    let all = store.chat_messages("chat-1", 0, 100).await.unwrap();
    assert_eq!(seqs(&all), [1, 2, 3, 4, 5]);
    assert_eq!(all[1].body, "waiting for an agent");
    assert_eq!(all[2].agent.as_deref(), Some("2001"));
    assert_eq!((all[2].sender.as_str(), all[2].at_ms), ("agent", 1003));
    assert_eq!(seqs(&store.chat_messages("chat-1", 0, 2).await.unwrap()), [1, 2]);
    assert_eq!(seqs(&store.chat_messages("chat-1", 2, 2).await.unwrap()), [3, 4]);
    assert_eq!(seqs(&store.chat_messages("chat-1", 4, 2).await.unwrap()), [5]);
    assert!(store.chat_messages("chat-1", 5, 2).await.unwrap().is_empty());
    assert_eq!(
        seqs(&store.chat_messages("chat-1", 0, 0).await.unwrap()),
        [1],
        "limit 0 means 1"
    );
    assert!(store.chat_messages("chat-404", 0, 10).await.unwrap().is_empty());

    apply_all(
        store,
        &[
            ChatWrite::Ended {
                id: "chat-1".into(),
                reason: "customer_left".into(),
                at_ms: 3000,
            },
            // Ended once: later writes leave the end and the agent as they are.
            ChatWrite::Ended {
                id: "chat-1".into(),
                reason: "agent_closed".into(),
                at_ms: 4000,
            },
            ChatWrite::Accepted {
                id: "chat-1".into(),
                agent: "2002".into(),
                at_ms: 4000,
            },
        ],
    )
    .await;
    let chat = store.get_chat("chat-1").await.unwrap().unwrap();
    assert_eq!(chat.status, "ended");
    assert_eq!(chat.end_reason.as_deref(), Some("customer_left"));
    assert_eq!(chat.ended_at_ms, Some(3000));
    assert_eq!(chat.agent.as_deref(), Some("2001"));
}

async fn recovery(store: &Store) {
    apply_all(
        store,
        &[
            open("chat-r1", None, None, "node-x", 1),
            open("chat-r2", None, None, "node-x", 2),
            ChatWrite::Accepted {
                id: "chat-r2".into(),
                agent: "2001".into(),
                at_ms: 3,
            },
            open("chat-r3", None, None, "node-x", 4),
            ChatWrite::Ended {
                id: "chat-r3".into(),
                reason: "customer_left".into(),
                at_ms: 5,
            },
            open("chat-r4", None, None, "node-y", 6),
        ],
    )
    .await;
    assert_eq!(store.recover_open_chats("node-x", 9000).await.unwrap(), 2);
    for id in ["chat-r1", "chat-r2"] {
        let chat = store.get_chat(id).await.unwrap().unwrap();
        assert_eq!(
            (chat.status.as_str(), chat.end_reason.as_deref(), chat.ended_at_ms),
            ("ended", Some("interrupted"), Some(9000)),
            "{id}"
        );
    }
    let ended = store.get_chat("chat-r3").await.unwrap().unwrap();
    assert_eq!(
        ended.end_reason.as_deref(),
        Some("customer_left"),
        "already ended"
    );
    let other = store.get_chat("chat-r4").await.unwrap().unwrap();
    assert_eq!(other.status, "queued", "another node's");
    assert_eq!(store.recover_open_chats("node-x", 9001).await.unwrap(), 0);
}

/// A call from `from_user`, started `n` ms after `T0`.
async fn call_from(store: &Store, n: u64, from_user: &str, extra: Vec<CallWrite>) -> String {
    let mut call = new_call(n);
    call.from_user = from_user.into();
    let id = call.id;
    let mut writes = vec![CallWrite::Insert(call)];
    writes.extend(extra);
    store.apply(&writes).await.unwrap();
    id.to_string()
}

fn ids(items: &[TimelineItem]) -> Vec<&str> {
    items.iter().map(|i| i.id.as_str()).collect()
}

async fn timeline(
    store: &Store,
    number: Option<&str>,
    customer_id: Option<&str>,
    limit: u32,
) -> Vec<TimelineItem> {
    store
        .customer_timeline(&TimelineQuery {
            number: number.map(Into::into),
            customer_id: customer_id.map(Into::into),
            limit,
        })
        .await
        .unwrap()
}

async fn customer_timeline(store: &Store) {
    store
        .upsert_customer(&Customer {
            id: "C-7".into(),
            name: "Ada".into(),
            phones: vec!["+1 555 000 7777".into()],
            attributes: Default::default(),
        })
        .await
        .unwrap();
    let keyed = new_call(100).id;
    let answered = call_from(
        store,
        100,
        "15551234",
        vec![
            CallWrite::Agent {
                id: keyed,
                agent: "2001".into(),
            },
            CallWrite::Queue {
                id: keyed,
                queue: "support".into(),
            },
            CallWrite::Final(CallFinal {
                id: keyed,
                ended_at_ms: T0 + 500,
                end_reason: EndReason::CallerHangup,
                hangup_by: EndReason::CallerHangup.hangup_by(),
                keypresses: String::new(),
                trail: vec![],
                media_stats: None,
                fields: Default::default(),
            }),
        ],
    )
    .await;
    let verified = new_call(101).id;
    let by_id = call_from(
        store,
        101,
        "+493099",
        vec![CallWrite::Verification {
            id: verified,
            verified: true,
            method: "keyed_id".into(),
            attempts: 1,
            customer_id: Some("C-7".into()),
        }],
    )
    .await;
    let by_phone = call_from(store, 102, "+15550007777", vec![]).await;
    // The same digits at the end of a longer number: another caller.
    call_from(store, 103, "+4915551234", vec![]).await;
    let formatted = call_from(store, 104, "1-555-1234", vec![]).await;
    apply_all(
        store,
        &[
            open("chat-t1", Some("+15551234"), None, "node-a", T0 + 105),
            open("chat-t2", None, Some("C-7"), "node-a", T0 + 106),
            ChatWrite::Ended {
                id: "chat-t2".into(),
                reason: "customer_left".into(),
                at_ms: T0 + 200,
            },
            open("chat-t3", Some("15550007777"), None, "node-a", T0 + 107),
            ChatWrite::Accepted {
                id: "chat-t3".into(),
                agent: "2002".into(),
                at_ms: T0 + 150,
            },
            open("chat-t4", Some("+15559999"), None, "node-a", T0 + 108),
        ],
    )
    .await;

    // By number, with or without the `+`, whatever the caller's formatting.
    let by_number = timeline(store, Some("15551234"), None, 10).await;
    assert_eq!(
        ids(&by_number),
        ["chat-t1", formatted.as_str(), answered.as_str()]
    );
    assert_eq!(timeline(store, Some("+1 555 1234"), None, 10).await, by_number);
    let chat = &by_number[0];
    assert_eq!(
        (
            chat.kind.as_str(),
            chat.outcome.as_deref(),
            chat.number.as_deref()
        ),
        ("chat", Some("queued"), Some("+15551234"))
    );
    assert_eq!(chat.queue.as_deref(), Some("support"));
    assert_eq!(
        by_number[2],
        TimelineItem {
            kind: "call".into(),
            id: answered.clone(),
            started_at_ms: T0 + 100,
            ended_at_ms: Some(T0 + 500),
            queue: Some("support".into()),
            agent: Some("2001".into()),
            outcome: Some("caller_hangup".into()),
            number: Some("15551234".into()),
            customer_id: None,
        }
    );
    assert_eq!(
        store.get_call(&answered).await.unwrap().unwrap().agent.as_deref(),
        Some("2001")
    );
    assert_eq!(
        ids(&timeline(store, Some("15551234"), None, 2).await),
        ["chat-t1", formatted.as_str()]
    );
    assert_eq!(
        timeline(store, Some("15551234"), None, 0).await.len(),
        1,
        "limit 0 means 1"
    );

    // By customer id: their calls and chats, and those from their phone numbers.
    let by_customer = timeline(store, None, Some("C-7"), 10).await;
    assert_eq!(
        ids(&by_customer),
        ["chat-t3", "chat-t2", by_phone.as_str(), by_id.as_str()]
    );
    assert_eq!(by_customer[0].outcome.as_deref(), Some("active"));
    assert_eq!(by_customer[0].agent.as_deref(), Some("2002"));
    assert_eq!(by_customer[1].outcome.as_deref(), Some("customer_left"));
    assert_eq!(by_customer[3].customer_id.as_deref(), Some("C-7"));
    assert_eq!(timeline(store, Some("15551234"), Some("C-7"), 10).await.len(), 7);

    // Nothing to match on: nothing.
    assert!(timeline(store, None, None, 10).await.is_empty());
    assert!(timeline(store, Some("anonymous"), None, 10).await.is_empty());
    assert!(timeline(store, Some("+19999"), None, 10).await.is_empty());

    // Callers that only look alike are skipped without shortening the page.
    let newest = call_from(store, 120, "3312345", vec![]).await;
    call_from(store, 119, "+9933312345", vec![]).await;
    call_from(store, 118, "+49333 12345", vec![]).await;
    let oldest = call_from(store, 117, "+33 12345", vec![]).await;
    assert_eq!(
        ids(&timeline(store, Some("+3312345"), None, 2).await),
        [newest.as_str(), oldest.as_str()]
    );
}

#[tokio::test]
async fn sqlite_chats() {
    let (store, dir) = sqlite_store().await;
    lifecycle(&store).await;
    recovery(&store).await;
    customer_timeline(&store).await;
    store.close().await;
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn postgres_chats() {
    let Some((store, name)) = postgres_store().await else {
        return;
    };
    lifecycle(&store).await;
    recovery(&store).await;
    customer_timeline(&store).await;
    drop_postgres(store, &name).await;
}

/// A short number matches many calls that are not its own (`19` is in `+1234569`): the timeline reads at most
/// `MAX_TIMELINE_SCAN_PAGES` pages of such candidates. With one page too few to reach the real call it is
/// not found; with the pages it needs, it is.
#[tokio::test]
async fn a_timeline_reads_a_bounded_number_of_candidate_pages() {
    let pages = hotline_store::MAX_TIMELINE_SCAN_PAGES as u64;
    for (others, found) in [(pages - 1, true), (pages, false)] {
        let (store, dir) = sqlite_store().await;
        let own = call_from(&store, 1, "19", vec![]).await;
        for n in 0..others {
            call_from(&store, 2 + n, "+1234569", vec![]).await;
        }
        let items = timeline(&store, Some("19"), None, 1).await;
        assert_eq!(
            ids(&items) == [own.as_str()],
            found,
            "{others} other calls before it: {items:?}"
        );
        store.close().await;
        std::fs::remove_dir_all(dir).unwrap();
    }
}
