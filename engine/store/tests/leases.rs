//! Agent leases on both backends: one node at a time holds an agent; a lease that ran out can be taken.
#![allow(clippy::unwrap_used)] // tests

mod common;

use common::{drop_postgres, postgres_store, sqlite_store};
use hotline_store::Store;

async fn leases(store: &Store) {
    let t = 1_700_000_000_000;
    assert!(store.claim_agent("alice", "node-a", t, t + 30_000).await.unwrap());
    assert!(
        !store
            .claim_agent("alice", "node-b", t + 1, t + 30_001)
            .await
            .unwrap(),
        "another node's live lease holds"
    );
    assert!(
        store
            .claim_agent("alice", "node-a", t + 2, t + 30_002)
            .await
            .unwrap(),
        "the holder renews"
    );
    assert!(store.claim_agent("bob", "node-b", t, t + 30_000).await.unwrap());
    // Renewal moves only this node's leases.
    assert_eq!(store.renew_agent_leases("node-a", t + 60_000).await.unwrap(), 1);
    assert_eq!(
        store.agent_lease("alice").await.unwrap(),
        Some(("node-a".into(), t + 60_000))
    );
    // At the last millisecond of the lease it still holds; one past it, another node takes the agent.
    assert!(
        !store
            .claim_agent("alice", "node-b", t + 60_000, t + 90_000)
            .await
            .unwrap()
    );
    assert!(
        store
            .claim_agent("alice", "node-b", t + 60_001, t + 90_001)
            .await
            .unwrap()
    );
    assert_eq!(
        store.agent_lease("alice").await.unwrap().map(|l| l.0),
        Some("node-b".into())
    );
    // Releasing another node's lease does nothing; releasing one's own frees the agent.
    store.release_agent("alice", "node-a").await.unwrap();
    assert!(store.agent_lease("alice").await.unwrap().is_some());
    store.release_agent("alice", "node-b").await.unwrap();
    assert_eq!(store.agent_lease("alice").await.unwrap(), None);
    assert!(
        store
            .claim_agent("alice", "node-a", t + 60_002, t + 90_002)
            .await
            .unwrap()
    );
    // A restarted node drops what it held.
    assert_eq!(store.release_node_leases("node-b").await.unwrap(), 1);
    assert_eq!(store.agent_lease("bob").await.unwrap(), None);
}

#[tokio::test]
async fn sqlite_leases() {
    let (store, dir) = sqlite_store().await;
    leases(&store).await;
    store.close().await;
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn postgres_leases() {
    let Some((store, name)) = postgres_store().await else {
        return;
    };
    leases(&store).await;
    drop_postgres(store, &name).await;
}
