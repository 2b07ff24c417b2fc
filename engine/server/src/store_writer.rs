//! The call-record writer: one task that applies what the call shards produce, in order, in batches.
//!
//! Shards never wait on the database. Inserts go through `try_send`: when the queue is full the new call is
//! refused with 503 (the database cannot keep up, so taking more calls would lose records). Progress updates
//! are dropped when the queue is full (the final write carries the same data); final writes wait for room.

use std::sync::Arc;
use std::time::Duration;

use store::{CallWrite, Store};
use tokio::sync::mpsc;

use crate::metrics::Metrics;

/// Most writes applied in one transaction.
const MAX_BATCH: usize = 256;

#[derive(Clone)]
pub(crate) struct RecordSink {
    tx: mpsc::Sender<CallWrite>,
    metrics: Arc<Metrics>,
}

impl RecordSink {
    /// Queues the insert of a new call; false when the writer is saturated (refuse the call).
    pub(crate) fn try_insert(&self, w: CallWrite) -> bool {
        self.tx.try_send(w).is_ok()
    }

    /// Queues a write that may be dropped under pressure (progress).
    pub(crate) fn progress(&self, w: CallWrite) {
        if self.tx.try_send(w).is_err() {
            Metrics::inc(&self.metrics.store_writes_dropped_total);
        }
    }

    /// Queues a write that must not be lost (answered, final). Waits for room in the queue.
    pub(crate) fn must(&self, w: CallWrite) {
        match self.tx.try_send(w) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(w)) => {
                let tx = self.tx.clone();
                tokio::spawn(async move {
                    let _ = tx.send(w).await;
                });
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                tracing::error!("call-record writer has stopped; a record write was lost");
            }
        }
    }
}

/// Starts the writer. It ends when every sink is dropped and the queue is drained.
pub(crate) fn spawn(
    store: Store,
    metrics: Arc<Metrics>,
    capacity: usize,
) -> (RecordSink, tokio::task::JoinHandle<()>) {
    let (tx, mut rx) = mpsc::channel::<CallWrite>(capacity);
    let m = metrics.clone();
    let task = tokio::spawn(async move {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
            let mut attempt = 0u32;
            loop {
                match store.apply(&batch).await {
                    Ok(()) => {
                        m.store_writes_total
                            .fetch_add(batch.len() as u64, std::sync::atomic::Ordering::Relaxed);
                        log_finalized(&batch);
                        break;
                    }
                    Err(e) if attempt < 3 => {
                        attempt += 1;
                        tracing::warn!(error = %e, attempt, "call-record batch failed; retrying");
                        tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
                    }
                    Err(e) => {
                        Metrics::inc(&m.store_write_errors_total);
                        tracing::error!(error = %e, writes = batch.len(), "call-record batch failed; applying one by one");
                        // Apply individually so one bad write does not lose the others.
                        for w in &batch {
                            match store.apply(std::slice::from_ref(w)).await {
                                Ok(()) => log_finalized(std::slice::from_ref(w)),
                                Err(e) => tracing::error!(error = %e, "call-record write lost"),
                            }
                        }
                        break;
                    }
                }
            }
            batch.clear();
        }
    });
    (RecordSink { tx, metrics }, task)
}

/// Tests and operators can follow records to disk: one debug line when a call's record is opened and one
/// when it is finalized, each after the commit.
fn log_finalized(batch: &[CallWrite]) {
    for w in batch {
        match w {
            CallWrite::Insert(c) => tracing::debug!(call = %c.id, "call record opened"),
            CallWrite::Final(f) => {
                tracing::debug!(call = %f.id, reason = %f.end_reason, "call record finalized")
            }
            CallWrite::RecordingEnded { id, end } => {
                tracing::debug!(call = %id, status = end.status, duration_ms = end.duration_ms, "recording row closed")
            }
            _ => {}
        }
    }
}
