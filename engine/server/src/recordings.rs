//! Call recordings on this node: where files go, starting them on a call's media leg, and the repair of
//! files a crash left open.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::config::RecordFrom;

/// What the shards need to start recordings.
#[derive(Debug, Clone)]
pub(crate) struct RecordingSettings {
    pub(crate) dir: PathBuf,
    pub(crate) from: RecordFrom,
    /// Queues whose calls are not recorded (`record: false`).
    pub(crate) unrecorded_queues: std::collections::BTreeSet<String>,
}

impl RecordingSettings {
    /// The file of a call's recording: relative (as stored) and absolute (as written). One folder per
    /// UTC day keeps folders small.
    pub(crate) fn path_for(&self, call: &model::CallId, now: SystemTime) -> (String, PathBuf) {
        let day = jiff::Timestamp::try_from(now)
            .map(|t| t.strftime("%Y-%m-%d").to_string())
            .unwrap_or_else(|_| "undated".to_owned());
        let rel = format!("{day}/{call}.wav");
        let abs = self.dir.join(&rel);
        (rel, abs)
    }

    pub(crate) fn records_queue(&self, queue: &str) -> bool {
        !self.unrecorded_queues.contains(queue)
    }
}

/// Closes the recordings a previous run of this node left open: each file's header is repaired from its
/// length (the writer keeps it current every second, so at most that much is at stake), and the row is
/// closed with status `repaired` (or `failed` when the file is gone or unreadable).
pub(crate) async fn repair_open(store: &store::Store, node_id: &str, dir: &Path) -> anyhow::Result<()> {
    let open = store.open_recordings(node_id).await?;
    let now_ms = crate::serve::unix_ms(SystemTime::now());
    for rec in open {
        let path = dir.join(&rec.path);
        let outcome = media_runtime::wavfile::repair(&path);
        let (status, bytes) = match &outcome {
            Ok(media_runtime::wavfile::Repair::Repaired { data_bytes }) => ("repaired", *data_bytes),
            Ok(media_runtime::wavfile::Repair::Intact) => (
                "repaired",
                std::fs::metadata(&path)
                    .map(|m| m.len().saturating_sub(44))
                    .unwrap_or(0),
            ),
            Ok(media_runtime::wavfile::Repair::NotWav) | Err(_) => ("failed", 0),
        };
        match &outcome {
            Ok(o) => {
                tracing::warn!(recording = %rec.id, outcome = ?o, "recording left open by a previous run closed")
            }
            Err(e) => {
                tracing::warn!(recording = %rec.id, error = %e, "recording left open by a previous run is unreadable")
            }
        }
        let end = store::RecordingEnd {
            ended_at_ms: now_ms,
            // 8 kHz, 16-bit, stereo: 32 bytes per millisecond.
            duration_ms: i64::try_from(bytes / 32).unwrap_or(i64::MAX),
            bytes: i64::try_from(bytes).unwrap_or(i64::MAX),
            status,
        };
        store.finish_recording(&rec.id, &end).await?;
    }
    Ok(())
}
