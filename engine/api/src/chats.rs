//! Chats and the agent's session: the customer opens a chat over REST and talks over a WebSocket; the agent
//! logs in for a session token and takes offers and messages over the agent WebSocket. The messages on both
//! sockets are JSON, described in `docs/chat.md`; the engine side (`ChatControl`) parses them, this module
//! only authenticates, upgrades and carries frames.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;

use axum::Json;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::{ApiError, ApiState};

/// The largest WebSocket message a client may send (bytes). A chat message's text is limited further by the
/// engine; this bounds what is read at all.
pub const MAX_WS_MESSAGE: usize = 16 * 1024;
/// The server pings every socket this often; a socket that sent nothing (not even a pong) for
/// `WS_IDLE_LIMIT` is closed, so a client that vanished without closing frees its place.
pub const WS_PING_EVERY: std::time::Duration = std::time::Duration::from_secs(30);
pub const WS_IDLE_LIMIT: std::time::Duration = std::time::Duration::from_secs(75);
/// Most characters of a customer's name or id given when a chat opens.
pub const MAX_CUSTOMER_FIELD: usize = 128;

/// A boxed future, as the control traits return them.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// One WebSocket attached to the engine: frames the engine sends, and a sender for the frames the client
/// sends. Dropping `incoming` tells the engine the socket closed.
pub struct WsConn {
    pub outgoing: mpsc::Receiver<String>,
    pub incoming: mpsc::Sender<String>,
}

/// A chat as the customer asks for it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenChat {
    /// The queue the chat waits in (a configured queue, the same as calls use).
    pub queue: String,
    /// The customer's phone number, if known (matches the customer's calls in the timeline).
    #[serde(default)]
    pub number: Option<String>,
    /// The customer's id in the directory, if known.
    #[serde(default)]
    pub customer_id: Option<String>,
    #[serde(default)]
    pub name: String,
    /// The first message, sent with the opening.
    #[serde(default)]
    pub text: Option<String>,
    /// 0 (most urgent) to 9; default 5.
    #[serde(default)]
    pub priority: Option<u8>,
    /// Skills the chat needs, with minimum levels.
    #[serde(default)]
    pub skills: BTreeMap<String, u8>,
}

/// A chat the engine opened.
#[derive(Debug, Clone, Serialize)]
pub struct OpenedChat {
    pub id: String,
    /// The customer's secret for the chat WebSocket (shown once).
    pub token: String,
}

/// A logged-in agent's session.
#[derive(Debug, Clone, Serialize)]
pub struct AgentSession {
    pub agent: String,
    pub token: String,
    pub expires_in_s: u64,
}

/// Why a chat or session request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatError {
    /// The request is malformed; the text says which field and why.
    Invalid(&'static str, String),
    /// No such chat, or a wrong token (the same answer for both).
    NotFound,
    /// Wrong agent or password, or an expired session.
    Unauthorized,
    /// Too many failed logins from this address, too many chats, connections or messages.
    TooMany(&'static str),
    /// The chat service is overloaded or stopped.
    Unavailable(&'static str),
}

impl From<ChatError> for ApiError {
    fn from(e: ChatError) -> Self {
        match e {
            ChatError::Invalid(param, reason) => Self::BadParam { param, reason },
            ChatError::NotFound => Self::NotFound,
            ChatError::Unauthorized => Self::Unauthorized,
            ChatError::TooMany(what) => Self::TooMany(what),
            ChatError::Unavailable(what) => Self::Unavailable(what),
        }
    }
}

/// What the HTTP handlers need from the engine's chat service.
pub trait ChatControl: Send + Sync + 'static {
    /// Opens a chat from `source` and queues it.
    fn open(&self, req: OpenChat, source: IpAddr) -> BoxFuture<Result<OpenedChat, ChatError>>;
    /// Attaches a customer's WebSocket to a chat.
    fn attach_customer(&self, chat: String, token: String) -> BoxFuture<Result<WsConn, ChatError>>;
    /// Checks an agent's password and starts a session.
    fn login(
        &self,
        agent: String,
        password: String,
        source: IpAddr,
    ) -> BoxFuture<Result<AgentSession, ChatError>>;
    /// Ends a session (the agent goes offline).
    fn logout(&self, token: String) -> BoxFuture<Result<(), ChatError>>;
    /// Attaches an agent's WebSocket to their session.
    fn attach_agent(&self, token: String) -> BoxFuture<Result<WsConn, ChatError>>;
    /// The session a token names, if it is still valid.
    fn session(&self, token: String) -> BoxFuture<Result<AgentSession, ChatError>>;
}

fn chats(state: &ApiState) -> Result<&dyn ChatControl, ApiError> {
    state
        .chats
        .as_deref()
        .ok_or(ApiError::Unavailable("chats are not enabled on this engine"))
}

/// `POST /api/v1/chats`: no API token (a customer's app calls it); limited per source address.
pub(crate) async fn open(
    State(state): State<ApiState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Json(req): Json<OpenChat>,
) -> Result<Response, ApiError> {
    if req.name.chars().count() > MAX_CUSTOMER_FIELD
        || req
            .customer_id
            .as_ref()
            .is_some_and(|c| c.is_empty() || c.chars().count() > MAX_CUSTOMER_FIELD)
        || req.number.as_ref().is_some_and(|n| n.is_empty() || n.len() > 32)
    {
        return Err(ApiError::BadParam {
            param: "customer",
            reason: format!("name and customer_id at most {MAX_CUSTOMER_FIELD} characters, number 1 to 32"),
        });
    }
    let opened = chats(&state)?.open(req, peer.ip()).await?;
    let ws = format!("/api/v1/chats/{}/ws?token={}", opened.id, opened.token);
    let body = serde_json::json!({"id": opened.id, "token": opened.token, "ws": ws});
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

#[derive(Debug, Deserialize)]
pub(crate) struct TokenParam {
    token: Option<String>,
}

/// `GET /api/v1/chats/{id}/ws?token=…`: the customer's socket.
pub(crate) async fn customer_ws(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Query(q): Query<TokenParam>,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let token = q.token.ok_or(ApiError::NotFound)?;
    if id.len() > 64 || token.len() > 128 {
        return Err(ApiError::NotFound);
    }
    let conn = chats(&state)?.attach_customer(id, token).await?;
    Ok(upgrade(ws, conn))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Login {
    agent: String,
    password: String,
}

/// `POST /api/v1/agent/login`.
pub(crate) async fn login(
    State(state): State<ApiState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Json(body): Json<Login>,
) -> Result<Json<AgentSession>, ApiError> {
    if body.agent.is_empty()
        || body.agent.len() > crate::MAX_AGENT_ID
        || body.password.len() > crate::MAX_PASSWORD * 4
    {
        return Err(ApiError::Unauthorized);
    }
    Ok(Json(
        chats(&state)?.login(body.agent, body.password, peer.ip()).await?,
    ))
}

pub(crate) fn bearer(headers: &HeaderMap) -> Result<String, ApiError> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty() && t.len() <= 128)
        .ok_or(ApiError::Unauthorized)
}

/// `POST /api/v1/agent/logout` with the session token as bearer.
pub(crate) async fn logout(
    State(state): State<ApiState>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    chats(&state)?.logout(bearer(&headers)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/agent/session` with the session token as bearer: 200 while it is valid, 401 once it is not
/// (the workstation asks when its socket cannot reconnect, to tell a network failure from an ended session).
pub(crate) async fn session(
    State(state): State<ApiState>,
    headers: HeaderMap,
) -> Result<Json<AgentSession>, ApiError> {
    Ok(Json(chats(&state)?.session(bearer(&headers)?).await?))
}

/// `GET /api/v1/agent/ws?token=…`: the agent's socket (a browser cannot set headers on a WebSocket).
pub(crate) async fn agent_ws(
    State(state): State<ApiState>,
    Query(q): Query<TokenParam>,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let token = q.token.ok_or(ApiError::Unauthorized)?;
    if token.len() > 128 {
        return Err(ApiError::Unauthorized);
    }
    let conn = chats(&state)?.attach_agent(token).await?;
    Ok(upgrade(ws, conn))
}

/// Upgrades with small buffers (an idle socket should cost little) and pumps frames both ways until either
/// side ends.
fn upgrade(ws: WebSocketUpgrade, conn: WsConn) -> Response {
    ws.read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_write_buffer_size(256 * 1024)
        .max_message_size(MAX_WS_MESSAGE)
        .max_frame_size(MAX_WS_MESSAGE)
        .on_upgrade(move |socket| pump(socket, conn))
        .into_response()
}

async fn pump(mut socket: WebSocket, conn: WsConn) {
    let WsConn {
        mut outgoing,
        incoming,
    } = conn;
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + WS_PING_EVERY, WS_PING_EVERY);
    let mut heard = tokio::time::Instant::now();
    loop {
        tokio::select! {
            _ = ping.tick() => {
                if heard.elapsed() > WS_IDLE_LIMIT {
                    let _ = socket.send(Message::Close(None)).await;
                    break;
                }
                if socket.send(Message::Ping(Vec::new().into())).await.is_err() {
                    break;
                }
            }
            out = outgoing.recv() => match out {
                Some(text) => {
                    if socket.send(Message::Text(text.into())).await.is_err() {
                        break;
                    }
                }
                None => {
                    // The engine closed this connection (chat ended, session gone, or a slow reader).
                    let _ = socket.send(Message::Close(None)).await;
                    break;
                }
            },
            msg = socket.recv() => {
                if matches!(msg, Some(Ok(_))) {
                    heard = tokio::time::Instant::now();
                }
                match msg {
                    Some(Ok(Message::Text(text))) => {
                        if incoming.send(text.to_string()).await.is_err() {
                            break;
                        }
                    }
                    Some(Ok(Message::Binary(_))) => {
                        let err = serde_json::json!({"type": "error", "code": "bad_frame", "message": "send JSON text frames"});
                        if socket.send(Message::Text(err.to_string().into())).await.is_err() {
                            break;
                        }
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                }
            }
        }
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct MessageParams {
    after: Option<i64>,
    limit: Option<String>,
}

/// `GET /api/v1/chats/{id}` (API token): the chat and its first page of messages.
pub(crate) async fn get_one(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    if id.len() > 64 {
        return Err(ApiError::NotFound);
    }
    let chat = state.store.get_chat(&id).await?.ok_or(ApiError::NotFound)?;
    let messages = state
        .store
        .chat_messages(&id, 0, store::MAX_CHAT_MESSAGES_PAGE)
        .await?;
    let mut v = serde_json::to_value(&chat).map_err(|_| ApiError::Internal)?;
    v["message_list"] = serde_json::to_value(&messages).map_err(|_| ApiError::Internal)?;
    Ok(Json(v))
}

/// `GET /api/v1/chats/{id}/messages?after=SEQ&limit=N` (API token).
pub(crate) async fn messages(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Query(p): Query<MessageParams>,
) -> Result<Json<Vec<store::ChatMessage>>, ApiError> {
    let limit = crate::parse_limit(p.limit.as_deref(), store::MAX_CHAT_MESSAGES_PAGE)?;
    if id.len() > 64 || state.store.get_chat(&id).await?.is_none() {
        return Err(ApiError::NotFound);
    }
    Ok(Json(
        state
            .store
            .chat_messages(&id, p.after.unwrap_or(0), limit)
            .await?,
    ))
}

#[derive(Debug, Deserialize)]
pub(crate) struct TimelineParams {
    number: Option<String>,
    customer_id: Option<String>,
    limit: Option<String>,
}

/// `GET /api/v1/timeline?number=…&customer_id=…` (API token): one customer's calls and chats, newest first.
pub(crate) async fn timeline(
    State(state): State<ApiState>,
    Query(p): Query<TimelineParams>,
) -> Result<Json<Vec<store::TimelineItem>>, ApiError> {
    let limit = crate::parse_limit(p.limit.as_deref(), store::MAX_TIMELINE_PAGE)?;
    let number = p.number.filter(|n| !n.is_empty());
    let customer_id = p.customer_id.filter(|c| !c.is_empty());
    if number.is_none() && customer_id.is_none() {
        return Err(ApiError::BadParam {
            param: "number",
            reason: "give a number or a customer_id".into(),
        });
    }
    if number.as_ref().is_some_and(|n| n.len() > 32)
        || customer_id.as_ref().is_some_and(|c| c.len() > MAX_CUSTOMER_FIELD)
    {
        return Err(ApiError::BadParam {
            param: "number",
            reason: format!("number at most 32 bytes, customer_id at most {MAX_CUSTOMER_FIELD}"),
        });
    }
    let q = store::TimelineQuery {
        number,
        customer_id,
        limit,
    };
    Ok(Json(state.store.customer_timeline(&q).await?))
}
