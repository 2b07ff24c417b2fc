//! Call recordings: listed, described and downloaded (as WAV) behind the API token.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use store::{MAX_RECORDINGS_PAGE, Recording};

use crate::{ApiError, ApiState};

/// Bytes read from a recording file per chunk of the download.
const CHUNK: usize = 64 * 1024;

#[derive(Debug, Deserialize)]
pub(crate) struct ListParams {
    limit: Option<String>,
    call_id: Option<String>,
}

/// A recording as the API shows it (see `docs/api.md`).
#[derive(Debug, Serialize)]
pub(crate) struct RecordingView {
    id: String,
    call_id: String,
    status: String,
    started_at: Option<String>,
    ended_at: Option<String>,
    duration_ms: Option<i64>,
    bytes: Option<i64>,
    format: &'static str,
    audio: String,
}

impl From<Recording> for RecordingView {
    fn from(r: Recording) -> Self {
        let ts = |ms: i64| jiff::Timestamp::from_millisecond(ms).ok().map(|t| t.to_string());
        Self {
            audio: format!("/api/v1/recordings/{}/audio", r.id),
            started_at: ts(r.started_at_ms),
            ended_at: r.ended_at_ms.and_then(ts),
            id: r.id,
            call_id: r.call_id,
            status: r.status,
            duration_ms: r.duration_ms,
            bytes: r.bytes,
            format: "audio/wav; 8000 Hz, 16-bit, stereo (left: caller, right: agent or engine)",
        }
    }
}

pub(crate) async fn list(
    State(state): State<ApiState>,
    Query(params): Query<ListParams>,
) -> Result<Json<Vec<RecordingView>>, ApiError> {
    let limit = crate::parse_limit(params.limit.as_deref(), MAX_RECORDINGS_PAGE)?;
    if let Some(c) = &params.call_id {
        if c.parse::<model::CallId>().is_err() {
            return Err(ApiError::BadParam {
                param: "call_id",
                reason: "must be a call id".into(),
            });
        }
    }
    let rows = state
        .store
        .list_recordings(params.call_id.as_deref(), limit)
        .await?;
    Ok(Json(rows.into_iter().map(RecordingView::from).collect()))
}

async fn find(state: &ApiState, id: &str) -> Result<Recording, ApiError> {
    if id.parse::<model::CallId>().is_err() {
        return Err(ApiError::NotFound);
    }
    state.store.get_recording(id).await?.ok_or(ApiError::NotFound)
}

pub(crate) async fn get_one(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<RecordingView>, ApiError> {
    Ok(Json(find(&state, &id).await?.into()))
}

/// The WAV file, streamed. A recording still being written is served as far as it goes (its header
/// is kept current every second, so the file plays).
pub(crate) async fn audio(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let rec = find(&state, &id).await?;
    let Some(dir) = state.recordings_dir.as_deref() else {
        return Err(ApiError::NotFound);
    };
    // The stored path is relative and written by the engine; refuse anything that climbs out anyway.
    let rel = std::path::Path::new(&rec.path);
    if rel.is_absolute()
        || rel
            .components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        tracing::error!(recording = %rec.id, "recording path outside the recordings folder");
        return Err(ApiError::NotFound);
    }
    let file = match tokio::fs::File::open(dir.join(rel)).await {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!(recording = %rec.id, error = %e, "recording file missing");
            return Err(ApiError::NotFound);
        }
    };
    let len = file.metadata().await.map(|m| m.len()).ok();
    let stream = futures_util::stream::unfold(file, |mut file| async move {
        use tokio::io::AsyncReadExt as _;
        let mut buf = vec![0u8; CHUNK];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<_, std::io::Error>(bytes::Bytes::from(buf)), file))
            }
            Err(e) => Some((Err(e), file)),
        }
    });
    let mut resp = (StatusCode::OK, Body::from_stream(stream)).into_response();
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("audio/wav"),
    );
    if let Some(len) = len {
        headers.insert(header::CONTENT_LENGTH, header::HeaderValue::from(len));
    }
    if let Ok(v) = header::HeaderValue::from_str(&format!("attachment; filename=\"{}.wav\"", rec.id)) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}
