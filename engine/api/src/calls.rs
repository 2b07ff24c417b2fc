use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use store::{CallQuery, CallRecord, MAX_LIST_LIMIT};

use crate::{ApiError, ApiState};

#[derive(Debug, Deserialize)]
pub(crate) struct ListParams {
    limit: Option<String>,
    before: Option<String>,
}

/// A call record as the API shows it (see `docs/api.md`).
#[derive(Debug, Serialize)]
pub(crate) struct CallView {
    id: String,
    status: &'static str,
    from: String,
    to: String,
    from_uri: String,
    to_uri: String,
    sip_call_id: String,
    source: String,
    node_id: String,
    flow: Option<String>,
    flow_version: Option<String>,
    started_at: Option<String>,
    answered_at: Option<String>,
    ended_at: Option<String>,
    duration_ms: Option<i64>,
    end_reason: Option<String>,
    hangup_by: Option<String>,
    keypresses: String,
    trail: Vec<model::TrailItem>,
    media_stats: Option<serde_json::Value>,
    verification: Option<Verification>,
    queue: Option<String>,
    /// The agent who answered the call from a queue.
    agent: Option<String>,
    rating: Option<i64>,
    fields: std::collections::BTreeMap<String, String>,
    /// The recording's id (`/api/v1/recordings/{id}`), when the call was recorded.
    recording: Option<String>,
    /// Where the caller's number is from.
    region: model::RegionInfo,
    /// The agent's notes on the call, and who saved them.
    notes: String,
    notes_by: Option<String>,
}

impl CallView {
    fn with_region(mut self, regions: &crate::Regions) -> Self {
        self.region = regions.lookup(&self.from);
        self
    }
}

/// The outcome of identity verification, when the flow ran one.
#[derive(Debug, Serialize)]
pub(crate) struct Verification {
    verified: bool,
    method: Option<String>,
    attempts: Option<i64>,
    customer_id: Option<String>,
}

fn rfc3339(ms: i64) -> Option<String> {
    jiff::Timestamp::from_millisecond(ms).ok().map(|t| t.to_string())
}

impl From<CallRecord> for CallView {
    fn from(r: CallRecord) -> Self {
        Self {
            status: if r.ended_at_ms.is_some() {
                "ended"
            } else {
                "active"
            },
            duration_ms: r.ended_at_ms.map(|e| e - r.started_at_ms),
            started_at: rfc3339(r.started_at_ms),
            answered_at: r.answered_at_ms.and_then(rfc3339),
            ended_at: r.ended_at_ms.and_then(rfc3339),
            id: r.id,
            from: r.from_user,
            to: r.to_user,
            from_uri: r.from_uri,
            to_uri: r.to_uri,
            sip_call_id: r.sip_call_id,
            source: r.source_addr,
            node_id: r.node_id,
            flow: r.flow,
            flow_version: r.flow_version,
            end_reason: r.end_reason,
            hangup_by: r.hangup_by,
            keypresses: r.keypresses,
            trail: r.trail,
            media_stats: r.media_stats,
            verification: r.verified.map(|verified| Verification {
                verified,
                method: r.verify_method,
                attempts: r.verify_attempts,
                customer_id: r.customer_id,
            }),
            queue: r.queue,
            agent: r.agent,
            rating: r.rating,
            fields: r.fields,
            recording: r.recording,
            region: model::RegionInfo::default(),
            notes: r.notes,
            notes_by: r.notes_by,
        }
    }
}

pub(crate) async fn list(
    State(state): State<ApiState>,
    Query(params): Query<ListParams>,
) -> Result<Response, ApiError> {
    let limit = crate::parse_limit(params.limit.as_deref(), MAX_LIST_LIMIT)?;
    if let Some(b) = &params.before {
        if b.parse::<model::CallId>().is_err() {
            return Err(ApiError::BadParam {
                param: "before",
                reason: "must be a call id".into(),
            });
        }
    }
    let rows = state
        .store
        .list_calls(&CallQuery {
            limit,
            before: params.before,
        })
        .await?;
    let next = if rows.len() == limit as usize {
        rows.last().map(|r| r.id.clone())
    } else {
        None
    };
    let views: Vec<CallView> = rows
        .into_iter()
        .map(|r| CallView::from(r).with_region(&state.regions))
        .collect();
    let mut resp = Json(views).into_response();
    if let Some(next) = next {
        let link = format!("</api/v1/calls?limit={limit}&before={next}>; rel=\"next\"");
        if let Ok(v) = header::HeaderValue::from_str(&link) {
            resp.headers_mut().insert(header::LINK, v);
        }
    }
    Ok(resp)
}

pub(crate) async fn get_one(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<CallView>, ApiError> {
    if id.parse::<model::CallId>().is_err() {
        return Err(ApiError::NotFound);
    }
    match state.store.get_call(&id).await? {
        Some(r) => Ok(Json(CallView::from(r).with_region(&state.regions))),
        None => Err(ApiError::NotFound),
    }
}
