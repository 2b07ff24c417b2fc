//! The agent's own desk, with the session token of `POST /api/v1/agent/login` as bearer: the calls they took
//! (the last ones, which they may remove from their list) and notes on those calls.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::{ApiError, ApiState};

/// One of the agent's calls as their list shows it.
#[derive(Debug, Serialize)]
pub(crate) struct DeskCall {
    id: String,
    number: String,
    region: model::RegionInfo,
    started_at_ms: i64,
    ended_at_ms: Option<i64>,
    queue: Option<String>,
    keypresses: String,
    trail: Vec<model::TrailItem>,
    notes: String,
    end_reason: Option<String>,
}

/// The agent a session token belongs to.
async fn agent_of(state: &ApiState, headers: &HeaderMap) -> Result<String, ApiError> {
    let token = crate::chats::bearer(headers)?;
    let chats = state.chats.as_deref().ok_or(ApiError::Unavailable(
        "agent sessions are not enabled on this engine",
    ))?;
    Ok(chats.session(token).await?.agent)
}

#[derive(Debug, Deserialize)]
pub(crate) struct RecentParams {
    limit: Option<String>,
}

/// `GET /api/v1/agent/calls?limit=N`: the calls the agent took, newest first, without those they removed.
pub(crate) async fn recent(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(p): Query<RecentParams>,
) -> Result<Json<Vec<DeskCall>>, ApiError> {
    let agent = agent_of(&state, &headers).await?;
    let max = u32::try_from(store::MAX_RECENT_CALLS).unwrap_or(50);
    let limit = match p.limit {
        None => 10,
        Some(raw) => crate::parse_limit(Some(&raw), max)?,
    };
    let rows = state.store.agent_recent_calls(&agent, i64::from(limit)).await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| DeskCall {
                region: state.regions.lookup(&r.from_user),
                id: r.id,
                number: r.from_user,
                started_at_ms: r.started_at_ms,
                ended_at_ms: r.ended_at_ms,
                queue: r.queue,
                keypresses: r.keypresses,
                trail: r.trail,
                notes: r.notes,
                end_reason: r.end_reason,
            })
            .collect(),
    ))
}

/// `DELETE /api/v1/agent/calls/{id}`: removes a call from the agent's list (the record stays); the next
/// older call takes its place. 404 when it is not one of their calls.
pub(crate) async fn hide(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let agent = agent_of(&state, &headers).await?;
    if id.len() > 64 {
        return Err(ApiError::NotFound);
    }
    let now = jiff::Timestamp::now().as_millisecond();
    if state.store.hide_call_for_agent(&agent, &id, now).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::NotFound)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NotesBody {
    notes: String,
}

/// `PUT /api/v1/agent/calls/{id}/notes`: the agent's notes on a call they took, saved to its record.
pub(crate) async fn notes(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json<NotesBody>,
) -> Result<Response, ApiError> {
    let agent = agent_of(&state, &headers).await?;
    if body.notes.len() > store::MAX_NOTES_BYTES {
        return Err(ApiError::BadParam {
            param: "notes",
            reason: format!("at most {} bytes", store::MAX_NOTES_BYTES),
        });
    }
    let call = match id.parse::<model::CallId>() {
        Ok(_) => state.store.get_call(&id).await?,
        Err(_) => None,
    };
    let Some(call) = call else {
        return Err(ApiError::NotFound);
    };
    if call.agent.as_deref() != Some(agent.as_str()) {
        return Err(ApiError::Forbidden(
            "only the agent who took the call writes its notes",
        ));
    }
    let now = jiff::Timestamp::now().as_millisecond();
    if !state.store.set_call_notes(&id, &agent, &body.notes, now).await? {
        return Err(ApiError::NotFound);
    }
    tracing::info!(%agent, call = %id, bytes = body.notes.len(), "call notes saved");
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /api/v1/agent/calls/{id}/hold`: the caller hears the music on hold, the agent silence.
pub(crate) async fn hold_call(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    hold(state, headers, id, true).await
}

/// `POST /api/v1/agent/calls/{id}/resume`: back to the conversation.
pub(crate) async fn resume_call(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    hold(state, headers, id, false).await
}

async fn hold(state: ApiState, headers: HeaderMap, id: String, on: bool) -> Result<Response, ApiError> {
    let agent = agent_of(&state, &headers).await?;
    if id.len() > 64 {
        return Err(ApiError::NotFound);
    }
    match state.agents.hold(&agent, &id, on).await {
        Ok(()) => {
            tracing::info!(%agent, call = %id, on, "hold");
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        Err(crate::HoldError::NotYours) => Err(ApiError::NotFound),
        Err(crate::HoldError::NotInCall) => Err(ApiError::NotNow("the call is not connected to you now")),
        Err(crate::HoldError::Unavailable) => Err(ApiError::Unavailable("the queue service did not answer")),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DialBody {
    number: String,
}

/// Longest number an agent may dial.
pub(crate) const MAX_DIAL_NUMBER: usize = 20;

/// `POST /api/v1/agent/dial`: the agent's outbound call. Their phone rings first; once they answer, the
/// number is called (through the trunk, or another agent's phone when it is an agent id) and bridged. Only
/// agents with `can_dial_out` may; the agent must not be in a call, ringing or in wrap-up.
pub(crate) async fn dial(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Json(body): Json<DialBody>,
) -> Result<Response, ApiError> {
    let agent = agent_of(&state, &headers).await?;
    let number = body.number.trim().to_owned();
    let digits = number.strip_prefix('+').unwrap_or(&number);
    let is_number =
        (3..=MAX_DIAL_NUMBER).contains(&number.len()) && digits.bytes().all(|b| b.is_ascii_digit());
    let agents = state.store.list_agents().await?;
    let is_agent = agents.iter().any(|a| a.id == number && a.id != agent);
    if !is_number && !is_agent {
        return Err(ApiError::BadParam {
            param: "number",
            reason: format!(
                "a phone number (digits, optional +, 3 to {MAX_DIAL_NUMBER}) or another agent's id"
            ),
        });
    }
    if !agents.iter().any(|a| a.id == agent && a.can_dial_out) {
        return Err(ApiError::Forbidden("this agent may not place outbound calls"));
    }
    match state.agents.dial(&agent, &number).await {
        Ok(call) => {
            tracing::info!(%agent, %call, "outbound call placed");
            Ok((StatusCode::ACCEPTED, Json(serde_json::json!({"call": call}))).into_response())
        }
        Err(crate::DialError::Refused(why)) => {
            tracing::info!(%agent, %why, "outbound call refused");
            Err(ApiError::Refused(why))
        }
        Err(crate::DialError::Unavailable) => Err(ApiError::Unavailable("the queue service did not answer")),
    }
}
