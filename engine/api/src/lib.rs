//! Hotline's HTTP surface: `/healthz`, `/metrics` and the REST API under `/api/v1` (bearer token).
//!
//! | method | path | what |
//! |---|---|---|
//! | GET | `/healthz` | 200 when the engine and its database answer, 503 otherwise |
//! | GET | `/metrics` | Prometheus text exposition |
//! | GET | `/workstation/` | the agent workstation (static page, embedded) |
//! | GET | `/api/v1/openapi.json` | the OpenAPI document (no token needed) |
//! | GET | `/api/v1/calls?limit=N&before=ID` | call records, newest first (`limit` 1–1000, default 50) |
//! | GET | `/api/v1/calls/{id}` | one call record |
//! | GET | `/api/v1/agents` | agents with their SIP registrations |
//! | POST | `/api/v1/agents` | create an agent (`id`, `name`, `password`, `skills`, `queues`, `max_chats`) |
//! | DELETE | `/api/v1/agents/{id}` | delete an agent |
//! | PUT | `/api/v1/agents/{id}/status` | set an agent's status: `{"status": "idle"}` (idle, busy, break, meeting, offline) |
//! | GET | `/api/v1/queues` | live figures of every queue |
//! | GET | `/api/v1/recordings?call_id=ID&limit=N` | recordings, newest first |
//! | GET | `/api/v1/recordings/{id}` | one recording |
//! | GET | `/api/v1/recordings/{id}/audio` | the recording as a stereo WAV (caller left) |
//! | POST | `/api/v1/chats` | open a chat (no API token; a customer's app calls it) |
//! | GET | `/api/v1/chats/{id}/ws?token=T` | the customer's chat WebSocket |
//! | GET | `/api/v1/chats/{id}` | a chat with its messages |
//! | GET | `/api/v1/chats/{id}/messages?after=SEQ&limit=N` | a chat's messages |
//! | GET | `/api/v1/timeline?number=N&customer_id=C` | one customer's calls and chats, newest first |
//! | POST | `/api/v1/agent/login` | an agent's session token (agent id and password) |
//! | POST | `/api/v1/agent/logout` | ends the session (bearer: the session token) |
//! | GET | `/api/v1/agent/session` | whether a session is still valid (bearer: the session token) |
//! | GET | `/api/v1/agent/ws?token=T` | the agent's WebSocket: status, offers, chat messages |
//! | GET | `/api/v1/flows` | active flows and files refused at the last load |
//! | POST | `/api/v1/flows/reload` | re-read the flows folder; valid changed flows become active |
//! | POST | `/api/v1/flows/validate?file=NAME` | validate a flow source (body, ≤ 256 KiB) without activating it |
//! | GET | `/api/v1/flows/{name}/versions` | every activated version of a flow |
//!
//! Errors are JSON `{"error": CODE, "message": TEXT}` and never reveal internals.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod agents;
mod calls;
mod chats;
mod desk;
mod error;
mod flows;
mod recordings;
mod workstation;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

pub use agents::{
    AgentControl, DialError, HoldError, MAX_AGENT_ID, MAX_PASSWORD, MAX_SKILLS, MIN_PASSWORD,
    RegistrationView, StatusError,
};
pub use chats::{
    AgentSession, BoxFuture, ChatControl, ChatError, MAX_CUSTOMER_FIELD, MAX_WS_MESSAGE, OpenChat,
    OpenedChat, WS_IDLE_LIMIT, WS_PING_EVERY, WsConn,
};
pub use error::ApiError;
pub use flows::{DiagnosticView, FlowControl, FlowInfo, MAX_FLOW_BODY, RefusedFlow, ReloadReport};

/// The OpenAPI document served at `/api/v1/openapi.json` (kept in `docs/openapi.json`).
pub const OPENAPI_JSON: &str = include_str!("../../../docs/openapi.json");

/// The largest request body the API accepts (bytes).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Renders the engine's metrics in the Prometheus text format.
pub trait MetricsSource: Send + Sync + 'static {
    fn render(&self) -> String;
}

/// What the HTTP handlers need from the rest of the engine.
#[derive(Clone)]
pub struct ApiState {
    pub store: store::Store,
    pub metrics: Arc<dyn MetricsSource>,
    /// Bearer token for `/api/v1` (compared in constant time).
    pub api_token: Arc<str>,
    /// The flow registry.
    pub flows: Arc<dyn FlowControl>,
    /// Agent registrations and credential refresh.
    pub agents: Arc<dyn AgentControl>,
    /// Where recordings are written (`None`: recording is off, downloads answer 404).
    pub recordings_dir: Option<std::path::PathBuf>,
    /// The chat service and agent sessions (`None`: chat routes answer 503).
    pub chats: Option<Arc<dyn ChatControl>>,
    /// Where callers' numbers are from (country, and the admin's finer regions).
    pub regions: Arc<Regions>,
}

/// The region table and how national numbers are read.
#[derive(Debug, Default)]
pub struct Regions {
    pub table: model::RegionTable,
    /// The country code a number without `+` or `00` belongs to (`default_country_code` in the config).
    pub default_country_code: Option<String>,
}

impl Regions {
    /// Where `number` is from.
    pub fn lookup(&self, number: &str) -> model::RegionInfo {
        self.table.lookup(number, self.default_country_code.as_deref())
    }
}

/// Page size when a list request gives no `limit`.
pub(crate) const DEFAULT_LIMIT: u32 = 50;

/// The `limit` query parameter of a list: absent → [`DEFAULT_LIMIT`], else an integer from 1 to `max`.
pub(crate) fn parse_limit(raw: Option<&str>, max: u32) -> Result<u32, ApiError> {
    match raw {
        None => Ok(DEFAULT_LIMIT.min(max)),
        Some(s) => match s.parse::<u32>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(ApiError::BadParam {
                param: "limit",
                reason: format!("must be an integer from 1 to {max}"),
            }),
        },
    }
}

/// Builds the router with every route and layer.
pub fn router(state: ApiState) -> Router {
    let protected = Router::new()
        .route("/calls", get(calls::list))
        .route("/calls/{id}", get(calls::get_one))
        .route("/agents", get(agents::list).post(agents::create))
        .route("/agents/{id}", axum::routing::delete(agents::delete))
        .route("/agents/{id}/status", axum::routing::put(agents::set_status))
        .route("/agents/{id}/status-history", get(agents::status_history))
        .route("/agents/{id}/sessions", get(agents::sessions))
        .route("/queue-entries", get(agents::queue_entries))
        .route("/queues", get(agents::queues))
        .route("/recordings", get(recordings::list))
        .route("/recordings/{id}", get(recordings::get_one))
        .route("/recordings/{id}/audio", get(recordings::audio))
        .route("/chats/{id}", get(chats::get_one))
        .route("/chats/{id}/messages", get(chats::messages))
        .route("/timeline", get(chats::timeline))
        .route("/flows", get(flows::list))
        .route("/flows/reload", post(flows::reload))
        .route("/flows/validate", post(flows::validate))
        .route("/flows/{name}/versions", get(flows::versions))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_token));
    let v1 = Router::new()
        .route("/openapi.json", get(openapi))
        .route("/chats", post(chats::open))
        .route("/chats/{id}/ws", get(chats::customer_ws))
        .route("/agent/login", post(chats::login))
        .route("/agent/logout", post(chats::logout))
        .route("/agent/session", get(chats::session))
        .route("/agent/calls", get(desk::recent))
        .route("/agent/calls/{id}", axum::routing::delete(desk::hide))
        .route("/agent/calls/{id}/notes", axum::routing::put(desk::notes))
        .route("/agent/dial", post(desk::dial))
        .route("/agent/calls/{id}/hold", post(desk::hold_call))
        .route("/agent/calls/{id}/resume", post(desk::resume_call))
        .route("/agent/ws", get(chats::agent_ws))
        .merge(protected);
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/workstation", get(workstation::redirect))
        .route("/workstation/", get(workstation::index))
        .route("/workstation/app.js", get(workstation::app_js))
        .route("/workstation/app.css", get(workstation::app_css))
        .nest("/api/v1", v1)
        .fallback(|| async { ApiError::NotFound })
        .layer(tower_http::limit::RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .with_state(state)
}

async fn healthz(State(state): State<ApiState>) -> Response {
    match state.store.ping().await {
        Ok(()) => (
            StatusCode::OK,
            axum::Json(serde_json::json!({"status": "ok", "database": "ok"})),
        )
            .into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "health check: database did not answer");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(serde_json::json!({"status": "degraded", "database": "unavailable"})),
            )
                .into_response()
        }
    }
}

async fn metrics(State(state): State<ApiState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI_JSON).into_response()
}

async fn require_token(State(state): State<ApiState>, req: Request, next: Next) -> Response {
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match given {
        Some(token) if constant_time_eq(token.as_bytes(), state.api_token.as_bytes()) => next.run(req).await,
        _ => ApiError::Unauthorized.into_response(),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_comparison_is_exact() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }

    #[test]
    fn openapi_document_is_valid_json_and_lists_the_calls_path() {
        let doc: serde_json::Value = serde_json::from_str(OPENAPI_JSON).unwrap();
        assert_eq!(doc["openapi"].as_str().map(|v| v.starts_with("3.")), Some(true));
        assert!(doc["paths"]["/api/v1/calls"]["get"].is_object());
        assert!(doc["paths"]["/api/v1/calls/{id}"]["get"].is_object());
        // Every route the router serves is documented.
        for (path, method) in [
            ("/api/v1/agents", "get"),
            ("/api/v1/agents", "post"),
            ("/api/v1/agents/{id}", "delete"),
            ("/api/v1/agents/{id}/status", "put"),
            ("/api/v1/queues", "get"),
            ("/api/v1/chats", "post"),
            ("/api/v1/chats/{id}", "get"),
            ("/api/v1/chats/{id}/ws", "get"),
            ("/api/v1/chats/{id}/messages", "get"),
            ("/api/v1/timeline", "get"),
            ("/api/v1/agent/login", "post"),
            ("/api/v1/agent/logout", "post"),
            ("/api/v1/agent/session", "get"),
            ("/api/v1/agent/ws", "get"),
            ("/api/v1/flows", "get"),
            ("/api/v1/flows/reload", "post"),
            ("/api/v1/flows/validate", "post"),
            ("/api/v1/flows/{name}/versions", "get"),
            ("/healthz", "get"),
            ("/metrics", "get"),
        ] {
            assert!(
                doc["paths"][path][method].is_object(),
                "{method} {path} is not in docs/openapi.json"
            );
        }
    }
}
