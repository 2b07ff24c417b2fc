use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::{ApiError, ApiState};

/// A SIP registration of an agent's phone, as the engine holds it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RegistrationView {
    pub contact: String,
    pub source: String,
    pub expires_in_s: u64,
}

/// What the API needs from the engine about agents.
pub trait AgentControl: Send + Sync + 'static {
    /// The SIP realm digest credentials are computed for.
    fn realm(&self) -> String;
    /// Current registrations, by agent id.
    fn registrations(&self) -> BTreeMap<String, Vec<RegistrationView>>;
    /// Agents were created or deleted: refresh the credentials the registrar checks. The API answers only
    /// once the returned future is done, so a phone may register right after its agent was created.
    fn agents_changed(&self) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send + 'static>>;
    /// Sets an agent's status (`idle`, `busy`, `break`, `meeting`, `offline`); the error says why not.
    fn set_status(
        &self,
        agent: &str,
        status: &str,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<(), StatusError>> + Send + 'static>>;
    /// Live figures of every queue, by queue name.
    fn queues(&self) -> std::pin::Pin<Box<dyn Future<Output = serde_json::Value> + Send + 'static>>;
    /// Places the agent's outbound call to `number` (their phone rings first); the call's id.
    fn dial(
        &self,
        agent: &str,
        number: &str,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<String, DialError>> + Send + 'static>>;
    /// Puts a call the agent is in on hold (`on`) or takes it back.
    fn hold(
        &self,
        agent: &str,
        call: &str,
        on: bool,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<(), HoldError>> + Send + 'static>>;
}

/// Why an outbound call could not be placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialError {
    /// The agent cannot place it now (in a call, no phone, no trunk…); the text says why.
    Refused(String),
    /// The queue service did not answer.
    Unavailable,
}

/// Why a call could not be held or resumed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HoldError {
    /// The agent is not in this call.
    NotYours,
    /// The call is not bridged to the agent now.
    NotInCall,
    /// The queue service did not answer.
    Unavailable,
}

/// Why an agent's status could not be set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusError {
    UnknownStatus,
    UnknownAgent,
    Unavailable(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatusBody {
    status: String,
}

pub(crate) async fn set_status(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Json(body): Json<StatusBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    if id.len() > MAX_AGENT_ID {
        return Err(ApiError::NotFound);
    }
    match state.agents.set_status(&id, &body.status).await {
        Ok(()) => {
            tracing::info!(agent = %id, status = %body.status, "agent status set");
            Ok(Json(serde_json::json!({"id": id, "status": body.status})))
        }
        Err(StatusError::UnknownStatus) => Err(bad("status", "one of idle, busy, break, meeting, offline")),
        Err(StatusError::UnknownAgent) => Err(ApiError::NotFound),
        Err(StatusError::Unavailable(e)) => {
            tracing::error!(error = %e, "queue service did not take a status");
            Err(ApiError::Internal)
        }
    }
}

pub(crate) async fn queues(State(state): State<ApiState>) -> Json<serde_json::Value> {
    Json(state.agents.queues().await)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewAgent {
    id: String,
    name: String,
    password: String,
    #[serde(default)]
    skills: BTreeMap<String, u8>,
    #[serde(default)]
    queues: Vec<String>,
    #[serde(default = "default_max_chats")]
    max_chats: u32,
    #[serde(default)]
    chat_during_call: bool,
    #[serde(default)]
    can_dial_out: bool,
}

fn default_max_chats() -> u32 {
    5
}

#[derive(Debug, Serialize)]
pub(crate) struct AgentView {
    #[serde(flatten)]
    agent: store::Agent,
    registered: bool,
    registrations: Vec<RegistrationView>,
}

/// Limits on agent fields.
pub const MAX_AGENT_ID: usize = 32;
pub const MAX_SKILLS: usize = 32;
pub const MIN_PASSWORD: usize = 8;
pub const MAX_PASSWORD: usize = 128;

fn bad(param: &'static str, reason: &str) -> ApiError {
    ApiError::BadParam {
        param,
        reason: reason.to_owned(),
    }
}

fn check(a: &NewAgent) -> Result<(), ApiError> {
    let id_ok = !a.id.is_empty()
        && a.id.len() <= MAX_AGENT_ID
        && a.id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !id_ok {
        return Err(bad("id", "1 to 32 characters: letters, digits, '.', '_' or '-'"));
    }
    if a.name.trim().is_empty() || a.name.len() > 128 {
        return Err(bad("name", "1 to 128 bytes"));
    }
    if a.password.chars().count() < MIN_PASSWORD || a.password.chars().count() > MAX_PASSWORD {
        return Err(bad("password", "8 to 128 characters"));
    }
    if a.skills.len() > MAX_SKILLS
        || a.skills
            .iter()
            .any(|(k, l)| k.is_empty() || k.len() > 64 || !(1..=10).contains(l))
    {
        return Err(bad(
            "skills",
            "at most 32 skills, names of 1 to 64 bytes, levels 1 to 10",
        ));
    }
    if a.queues.len() > 32 || a.queues.iter().any(|q| q.is_empty() || q.len() > 64) {
        return Err(bad("queues", "at most 32 queue names of 1 to 64 bytes"));
    }
    if a.max_chats > 50 {
        return Err(bad("max_chats", "0 to 50"));
    }
    Ok(())
}

pub(crate) async fn create(
    State(state): State<ApiState>,
    Json(new): Json<NewAgent>,
) -> Result<Response, ApiError> {
    check(&new)?;
    let realm = state.agents.realm();
    let secret = store::AgentSecret {
        id: new.id.clone(),
        ha1_md5: sip_auth::digest::ha1(sip_auth::digest::Algorithm::Md5, &new.id, &realm, &new.password),
        ha1_sha256: sip_auth::digest::ha1(
            sip_auth::digest::Algorithm::Sha256,
            &new.id,
            &realm,
            &new.password,
        ),
        realm,
    };
    let agent = store::Agent {
        id: new.id,
        name: new.name,
        skills: new.skills,
        queues: new.queues,
        max_chats: new.max_chats,
        chat_during_call: new.chat_during_call,
        can_dial_out: new.can_dial_out,
        created_at_ms: jiff::Timestamp::now().as_millisecond(),
    };
    if !state.store.create_agent(&agent, &secret).await? {
        return Err(ApiError::Conflict {
            what: "an agent with this id",
        });
    }
    state.agents.agents_changed().await;
    tracing::info!(agent = %agent.id, "agent created");
    let view = AgentView {
        agent,
        registered: false,
        registrations: vec![],
    };
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

pub(crate) async fn list(State(state): State<ApiState>) -> Result<Json<Vec<AgentView>>, ApiError> {
    let regs = state.agents.registrations();
    let agents = state.store.list_agents().await?;
    Ok(Json(
        agents
            .into_iter()
            .map(|agent| {
                let registrations = regs.get(&agent.id).cloned().unwrap_or_default();
                AgentView {
                    registered: !registrations.is_empty(),
                    registrations,
                    agent,
                }
            })
            .collect(),
    ))
}

pub(crate) async fn delete(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if id.len() > MAX_AGENT_ID || !state.store.delete_agent(&id).await? {
        return Err(ApiError::NotFound);
    }
    state.agents.agents_changed().await;
    tracing::info!(agent = %id, "agent deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// Longest history page.
const MAX_HISTORY_PAGE: u32 = 1000;

#[derive(Debug, Deserialize)]
pub(crate) struct HistoryParams {
    limit: Option<String>,
}

/// `GET /api/v1/agents/{id}/status-history`: the agent's status and state changes, newest first.
pub(crate) async fn status_history(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    axum::extract::Query(p): axum::extract::Query<HistoryParams>,
) -> Result<Json<Vec<store::AgentStatusRow>>, ApiError> {
    let limit = crate::parse_limit(p.limit.as_deref(), MAX_HISTORY_PAGE)?;
    if id.len() > MAX_AGENT_ID || !known_agent(&state, &id).await? {
        return Err(ApiError::NotFound);
    }
    Ok(Json(
        state.store.agent_status_history(&id, i64::from(limit)).await?,
    ))
}

/// `GET /api/v1/agents/{id}/sessions`: the agent's workstation sessions, newest first.
pub(crate) async fn sessions(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    axum::extract::Query(p): axum::extract::Query<HistoryParams>,
) -> Result<Json<Vec<store::AgentSessionRow>>, ApiError> {
    let limit = crate::parse_limit(p.limit.as_deref(), MAX_HISTORY_PAGE)?;
    if id.len() > MAX_AGENT_ID || !known_agent(&state, &id).await? {
        return Err(ApiError::NotFound);
    }
    Ok(Json(state.store.agent_sessions(&id, i64::from(limit)).await?))
}

#[derive(Debug, Deserialize)]
pub(crate) struct EntriesParams {
    interaction: Option<String>,
}

/// `GET /api/v1/queue-entries?interaction=ID`: every wait of one call or chat in a queue, with its offers.
pub(crate) async fn queue_entries(
    State(state): State<ApiState>,
    axum::extract::Query(p): axum::extract::Query<EntriesParams>,
) -> Result<Json<Vec<store::QueueEntry>>, ApiError> {
    let Some(interaction) = p.interaction.filter(|i| !i.is_empty() && i.len() <= 64) else {
        return Err(bad("interaction", "a call or chat id, at most 64 bytes"));
    };
    Ok(Json(state.store.queue_entries(&interaction).await?))
}

async fn known_agent(state: &ApiState, id: &str) -> Result<bool, ApiError> {
    Ok(state.store.list_agents().await?.iter().any(|a| a.id == id))
}
