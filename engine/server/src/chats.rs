//! The chat hub: one task that owns every open chat, every agent session and every chat or agent
//! WebSocket. Chats wait in the ACD's queues beside calls (channel `chat`); the hub shows offers to the
//! agent's sockets, connects the chat when the agent accepts, and carries messages both ways. Every message
//! is numbered per chat and stored in order through one writer task.
//!
//! The protocol on both sockets is documented in `docs/chat.md`.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use api::{AgentSession, ChatError, OpenChat, OpenedChat, WsConn};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::{mpsc, oneshot};

use crate::acd::{AcdCmd, AcdHandle};

/// Chats open at once on this engine (waiting or with an agent).
pub(crate) const MAX_OPEN_CHATS: usize = 10_000;
/// Chats open at once from one source address.
pub(crate) const MAX_CHATS_PER_SOURCE: usize = 20;
/// Bytes of text in one message.
pub(crate) const MAX_TEXT_BYTES: usize = 4096;
/// Messages in one chat (both sides together).
pub(crate) const MAX_MESSAGES_PER_CHAT: i64 = 1000;
/// Messages kept in memory per chat, to show an agent who takes it or a socket that reconnects: at most
/// this many, and at most `RECENT_BYTES` of text (so 10 000 open chats hold at most about 320 MB).
pub(crate) const RECENT_KEPT: usize = 50;
pub(crate) const RECENT_BYTES: usize = 32 * 1024;
/// Messages one side may send in a burst, and how many per second after it.
pub(crate) const RATE_BURST: f64 = 10.0;
pub(crate) const RATE_PER_S: f64 = 1.0;
/// Agent sessions held at once, and how long one lasts.
pub(crate) const MAX_SESSIONS: usize = 10_000;
pub(crate) const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
/// Sockets per chat (the customer's) and per agent.
pub(crate) const MAX_CUSTOMER_SOCKETS: usize = 2;
pub(crate) const MAX_AGENT_SOCKETS: usize = 4;
/// A waiting chat whose customer has had no socket open this long is ended (`customer_left`): the
/// customer went away, and no agent should be offered an empty chat.
pub(crate) const QUEUED_ORPHAN_GRACE: Duration = Duration::from_secs(120);
/// The same for a chat with an agent: longer, since a phone app may be in the background a while.
pub(crate) const ACTIVE_ORPHAN_GRACE: Duration = Duration::from_secs(600);
/// How often the hub looks for such chats.
const SWEEP_EVERY: Duration = Duration::from_secs(5);
/// Frames queued to one socket before it is closed as a reader that does not keep up (the messages stay in
/// the store; a reconnecting socket gets the recent ones).
const OUTBOX: usize = 256;
/// Commands queued for the hub.
const HUB_QUEUE: usize = 8192;
/// Chat writes queued for the store.
const WRITE_QUEUE: usize = 65_536;

/// What the ACD tells the hub about chat contacts and agents.
#[derive(Debug)]
pub(crate) enum ChatEvent {
    Offered {
        chat: String,
        offer: u64,
        agent: String,
    },
    OfferEnded {
        chat: String,
        offer: u64,
    },
    Connected {
        chat: String,
        agent: String,
        queue: String,
    },
    AcceptRefused {
        offer: u64,
        agent: String,
    },
    Left {
        chat: String,
        reason: String,
    },
    Moved {
        chat: String,
        queue: String,
    },
    Position {
        chat: String,
        position: usize,
        estimated_wait: Option<Duration>,
    },
    AgentState {
        agent: String,
        status: &'static str,
        state: &'static str,
        reason: String,
    },
    /// Something about a call that concerns an agent's desk (their phone rings, they took it, it ended).
    Call {
        agent: String,
        notice: CallNotice,
    },
}

/// Call events shown on the agent's workstation (the audio is on their phone).
#[derive(Debug)]
pub(crate) enum CallNotice {
    /// Their phone rings for `call`, which waited `waited_ms` in `queue`.
    Offered {
        offer: u64,
        call: String,
        queue: String,
        waited_ms: u64,
    },
    /// It stopped ringing without their answer.
    OfferEnded { offer: u64, call: String },
    /// They answered.
    Connected { call: String },
    /// The call they had ended.
    Ended { call: String },
}

pub(crate) fn status_name(s: queue::AgentStatus) -> &'static str {
    match s {
        queue::AgentStatus::Idle => "idle",
        queue::AgentStatus::Busy => "busy",
        queue::AgentStatus::Break => "break",
        queue::AgentStatus::Meeting => "meeting",
        queue::AgentStatus::Offline => "offline",
    }
}

pub(crate) fn state_name(s: queue::AgentState) -> &'static str {
    match s {
        queue::AgentState::Waiting => "waiting",
        queue::AgentState::Offered => "offered",
        queue::AgentState::InCall => "in_call",
        queue::AgentState::WrapUp => "wrap_up",
    }
}

fn parse_status(s: &str) -> Option<queue::AgentStatus> {
    Some(match s {
        "idle" => queue::AgentStatus::Idle,
        "busy" => queue::AgentStatus::Busy,
        "break" => queue::AgentStatus::Break,
        "meeting" => queue::AgentStatus::Meeting,
        "offline" => queue::AgentStatus::Offline,
        _ => return None,
    })
}

/// A per-sender message allowance: `RATE_BURST` at once, refilled at `RATE_PER_S`.
#[derive(Debug, Clone)]
pub(crate) struct TokenBucket {
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    pub(crate) fn new(now: Instant) -> Self {
        Self {
            tokens: RATE_BURST,
            last: now,
        }
    }

    /// Takes one token; false when the sender is over its rate.
    pub(crate) fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * RATE_PER_S).min(RATE_BURST);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

enum HubCmd {
    Open {
        req: OpenChat,
        source: IpAddr,
        reply: oneshot::Sender<Result<OpenedChat, ChatError>>,
    },
    AttachCustomer {
        chat: String,
        token: String,
        reply: oneshot::Sender<Result<WsConn, ChatError>>,
    },
    /// A frame for an agent's sockets, built off the hub (a caller panel read from the database).
    AgentFrame {
        agent: String,
        frame: serde_json::Value,
    },
    NewSession {
        agent: String,
        source: IpAddr,
        reply: oneshot::Sender<Result<AgentSession, ChatError>>,
    },
    Logout {
        token: String,
        reply: oneshot::Sender<Result<(), ChatError>>,
    },
    AttachAgent {
        token: String,
        reply: oneshot::Sender<Result<WsConn, ChatError>>,
    },
    Session {
        token: String,
        reply: oneshot::Sender<Result<AgentSession, ChatError>>,
    },
    Frame {
        conn: u64,
        text: String,
    },
    Closed {
        conn: u64,
    },
}

/// Sends requests to the hub.
#[derive(Clone)]
pub(crate) struct ChatHandle {
    tx: mpsc::Sender<HubCmd>,
}

impl ChatHandle {
    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, ChatError>>) -> HubCmd,
    ) -> Result<T, ChatError> {
        let (reply, rx) = oneshot::channel();
        let stopped = ChatError::Unavailable("the chat service has stopped");
        self.tx.send(make(reply)).await.map_err(|_| stopped.clone())?;
        rx.await.map_err(|_| stopped)?
    }
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum CustomerFrame {
    Message { text: String },
    End,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum AgentFrame {
    Status { status: String },
    Accept { offer: u64 },
    Decline { offer: u64 },
    Message { chat: String, text: String },
    End { chat: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Who {
    Customer { chat: String },
    Agent { agent: String, session: String },
}

struct Conn {
    who: Who,
    tx: mpsc::Sender<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    Queued,
    Active { agent: String },
}

struct Chat {
    token: String,
    queue: String,
    source: IpAddr,
    name: String,
    number: Option<String>,
    customer_id: Option<String>,
    phase: Phase,
    next_seq: i64,
    recent: VecDeque<serde_json::Value>,
    sockets: Vec<u64>,
    customer_rate: TokenBucket,
    agent_rate: TokenBucket,
    started_at_ms: i64,
    /// Since when no customer socket has been open (from the opening until the first one attaches).
    orphan_since: Option<Instant>,
}

impl Chat {
    fn customer(&self) -> serde_json::Value {
        json!({"name": self.name, "number": self.number, "customer_id": self.customer_id})
    }
}

struct Session {
    /// The session's row in `agent_sessions` (not the token, which stays secret).
    id: String,
    agent: String,
    expires: Instant,
}

#[derive(Default)]
struct AgentLive {
    sockets: Vec<u64>,
    /// Pending offers: offer id → chat.
    offers: BTreeMap<u64, String>,
    chats: BTreeSet<String>,
}

struct Hub {
    acd: AcdHandle,
    writes: mpsc::Sender<store::ChatWrite>,
    /// Session starts and ends for the queue history.
    history: mpsc::Sender<store::QueueWrite>,
    /// Caller panels are read from here.
    store: Option<store::Store>,
    regions: Arc<api::Regions>,
    node_id: String,
    queues: BTreeSet<String>,
    chats: HashMap<String, Chat>,
    per_source: HashMap<IpAddr, usize>,
    sessions: HashMap<String, Session>,
    agents: HashMap<String, AgentLive>,
    conns: HashMap<u64, Conn>,
    next_conn: u64,
    me: mpsc::Sender<HubCmd>,
}

/// Starts the hub and its store writer, and registers the hub with the ACD.
pub(crate) fn spawn(
    acd: AcdHandle,
    store: store::Store,
    node_id: String,
    queues: impl IntoIterator<Item = String>,
    history: mpsc::Sender<store::QueueWrite>,
    regions: Arc<api::Regions>,
) -> ChatHandle {
    let (tx, rx) = mpsc::channel(HUB_QUEUE);
    let (events_tx, events_rx) = mpsc::channel(HUB_QUEUE);
    let (writes, writes_rx) = mpsc::channel(WRITE_QUEUE);
    tokio::spawn(write_chats(store.clone(), writes_rx));
    if !acd.send(AcdCmd::ChatHub(events_tx)) {
        tracing::error!("the queue service did not take the chat hub: chats will not be offered");
    }
    let hub = Hub {
        acd,
        writes,
        history,
        store: Some(store),
        regions,
        node_id,
        queues: queues.into_iter().collect(),
        chats: HashMap::new(),
        per_source: HashMap::new(),
        sessions: HashMap::new(),
        agents: HashMap::new(),
        conns: HashMap::new(),
        next_conn: 1,
        me: tx.clone(),
    };
    tokio::spawn(hub.run(rx, events_rx));
    ChatHandle { tx }
}

/// Applies chat writes in order; a write the database refuses is logged and the next one goes on.
async fn write_chats(store: store::Store, mut rx: mpsc::Receiver<store::ChatWrite>) {
    while let Some(w) = rx.recv().await {
        let mut tries = 0;
        loop {
            match store.apply_chat_write(&w).await {
                Ok(()) => {
                    if let store::ChatWrite::Ended { id, reason, .. } = &w {
                        tracing::info!(chat = %id, %reason, "chat record closed");
                    }
                    break;
                }
                Err(e) if tries < 3 => {
                    tries += 1;
                    tracing::warn!(error = %e, "chat write failed; retrying");
                    tokio::time::sleep(Duration::from_millis(100 << tries)).await;
                }
                Err(e) => {
                    tracing::error!(error = %e, write = ?w, "chat write lost");
                    break;
                }
            }
        }
    }
}

fn now_ms() -> i64 {
    crate::serve::unix_ms(SystemTime::now())
}

fn random_token() -> String {
    use rand::Rng as _;
    let mut rng = rand::rng();
    (0..24).map(|_| format!("{:02x}", rng.random::<u8>())).collect()
}

fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn error(code: &str, message: &str) -> serde_json::Value {
    json!({"type": "error", "code": code, "message": message})
}

impl Hub {
    async fn run(mut self, mut rx: mpsc::Receiver<HubCmd>, mut events: mpsc::Receiver<ChatEvent>) {
        let mut sweep = tokio::time::interval(SWEEP_EVERY);
        sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = sweep.tick() => self.sweep(Instant::now()),
                cmd = rx.recv() => match cmd {
                    Some(cmd) => self.on_command(Instant::now(), cmd),
                    None => return,
                },
                ev = events.recv() => match ev {
                    Some(ev) => self.on_event(ev),
                    None => return,
                },
            }
        }
    }

    fn on_command(&mut self, now: Instant, cmd: HubCmd) {
        match cmd {
            HubCmd::Open { req, source, reply } => {
                let _ = reply.send(self.open(now, req, source));
            }
            HubCmd::AttachCustomer { chat, token, reply } => {
                let _ = reply.send(self.attach_customer(&chat, &token));
            }
            HubCmd::AgentFrame { agent, frame } => self.send_agent(&agent, &frame),
            HubCmd::NewSession { agent, source, reply } => {
                let _ = reply.send(self.new_session(now, agent, source));
            }
            HubCmd::Logout { token, reply } => {
                let _ = reply.send(self.logout(&token));
            }
            HubCmd::AttachAgent { token, reply } => {
                let _ = reply.send(self.attach_agent(now, &token));
            }
            HubCmd::Session { token, reply } => {
                let valid = self
                    .sessions
                    .get(&token)
                    .filter(|s| s.expires > now)
                    .map(|s| AgentSession {
                        agent: s.agent.clone(),
                        expires_in_s: s.expires.saturating_duration_since(now).as_secs(),
                        token: token.clone(),
                    });
                let _ = reply.send(valid.ok_or(ChatError::Unauthorized));
            }
            HubCmd::Frame { conn, text } => self.on_frame(now, conn, &text),
            HubCmd::Closed { conn } => self.drop_conn(conn),
        }
    }

    fn open(&mut self, now: Instant, req: OpenChat, source: IpAddr) -> Result<OpenedChat, ChatError> {
        if !self.queues.contains(&req.queue) {
            return Err(ChatError::Invalid("queue", "not a configured queue".into()));
        }
        if let Some(p) = req.priority {
            if p > queue::MAX_PRIORITY {
                return Err(ChatError::Invalid("priority", "0 to 9".into()));
            }
        }
        if req.skills.len() > 32
            || req
                .skills
                .values()
                .any(|l| !(1..=queue::MAX_SKILL_LEVEL).contains(l))
        {
            return Err(ChatError::Invalid("skills", "at most 32, levels 1 to 10".into()));
        }
        let first = req.text.as_deref().map(str::trim).filter(|t| !t.is_empty());
        if first.is_some_and(|t| t.len() > MAX_TEXT_BYTES) {
            return Err(ChatError::Invalid(
                "text",
                format!("at most {MAX_TEXT_BYTES} bytes"),
            ));
        }
        if self.chats.len() >= MAX_OPEN_CHATS {
            return Err(ChatError::TooMany("too many chats are open; try again later"));
        }
        // Counted per IPv4 address or IPv6 /64, as login bans are: one host has a whole /64.
        let source = sip_auth::source_key(source);
        let from_source = self.per_source.get(&source).copied().unwrap_or(0);
        if from_source >= MAX_CHATS_PER_SOURCE {
            return Err(ChatError::TooMany("too many chats are open from this address"));
        }
        let at_ms = now_ms();
        let id = {
            use rand::Rng as _;
            model::InteractionId::from_parts(u64::try_from(at_ms).unwrap_or(0), rand::rng().random())
                .to_string()
        };
        let name = req.name.trim().to_owned();
        let new = store::NewChat {
            id: id.clone(),
            queue: req.queue.clone(),
            customer_number: req.number.clone(),
            customer_id: req.customer_id.clone(),
            customer_name: name.clone(),
            node_id: self.node_id.clone(),
            started_at_ms: at_ms,
        };
        if self.writes.try_send(store::ChatWrite::Open(new)).is_err() {
            return Err(ChatError::Unavailable(
                "the chat store is saturated; try again later",
            ));
        }
        let join = AcdCmd::JoinChat {
            chat: id.clone(),
            queue: req.queue.clone(),
            priority: req.priority.unwrap_or(5),
            skills: req.skills,
        };
        let token = random_token();
        self.chats.insert(
            id.clone(),
            Chat {
                token: token.clone(),
                queue: req.queue,
                source,
                name,
                number: req.number,
                customer_id: req.customer_id,
                phase: Phase::Queued,
                next_seq: 1,
                recent: VecDeque::new(),
                sockets: Vec::new(),
                customer_rate: TokenBucket::new(now),
                agent_rate: TokenBucket::new(now),
                started_at_ms: at_ms,
                orphan_since: Some(now),
            },
        );
        *self.per_source.entry(source).or_default() += 1;
        if let Some(text) = first {
            // Counted against neither rate: it came with the opening.
            let _ = self.post(&id, "customer", None, text);
        }
        if !self.acd.send(join) {
            self.end_chat(&id, "unavailable");
            return Err(ChatError::Unavailable(
                "the queues are saturated; try again later",
            ));
        }
        tracing::info!(chat = %id, "chat opened");
        Ok(OpenedChat { id, token })
    }

    fn attach_customer(&mut self, chat_id: &str, token: &str) -> Result<WsConn, ChatError> {
        let chat = self.chats.get(chat_id).ok_or(ChatError::NotFound)?;
        if !same(&chat.token, token) {
            return Err(ChatError::NotFound);
        }
        let live = chat.sockets.iter().filter(|c| self.conns.contains_key(c)).count();
        if live >= MAX_CUSTOMER_SOCKETS {
            return Err(ChatError::TooMany("this chat has too many open sockets"));
        }
        let (id, conn) = self.new_conn(Who::Customer {
            chat: chat_id.to_owned(),
        });
        let chat = self.chats.get_mut(chat_id).ok_or(ChatError::NotFound)?;
        chat.sockets.retain(|c| *c != id);
        chat.sockets.push(id);
        chat.orphan_since = None;
        let (status, agent) = match &chat.phase {
            Phase::Queued => ("queued", None),
            Phase::Active { agent } => ("active", Some(agent.clone())),
        };
        let welcome = json!({
            "type": "welcome",
            "chat": chat_id,
            "status": status,
            "queue": chat.queue,
            "agent": agent,
            "messages": chat.recent,
        });
        self.send(id, &welcome);
        Ok(conn)
    }

    fn new_session(
        &mut self,
        now: Instant,
        agent: String,
        source: IpAddr,
    ) -> Result<AgentSession, ChatError> {
        if self.sessions.len() >= MAX_SESSIONS {
            self.expire_sessions(now);
            if self.sessions.len() >= MAX_SESSIONS {
                return Err(ChatError::TooMany("too many agent sessions"));
            }
        }
        let token = random_token();
        let id = ulid::Ulid::new().to_string();
        self.record(store::QueueWrite::SessionStarted {
            id: id.clone(),
            agent: agent.clone(),
            node_id: self.node_id.clone(),
            source: source.to_string(),
            at_ms: now_ms(),
        });
        self.sessions.insert(
            token.clone(),
            Session {
                id,
                agent: agent.clone(),
                expires: now + SESSION_TTL,
            },
        );
        tracing::info!(%agent, "agent logged in");
        Ok(AgentSession {
            agent,
            token,
            expires_in_s: SESSION_TTL.as_secs(),
        })
    }

    /// Writes a session start or end to the queue history (waiting for room rather than losing it).
    fn record(&self, w: store::QueueWrite) {
        if let Err(mpsc::error::TrySendError::Full(w)) = self.history.try_send(w) {
            let tx = self.history.clone();
            tokio::spawn(async move {
                let _ = tx.send(w).await;
            });
        }
    }

    fn end_session(&self, session: &Session, reason: &str) {
        self.record(store::QueueWrite::SessionEnded {
            id: session.id.clone(),
            reason: reason.into(),
            at_ms: now_ms(),
        });
    }

    /// Drops the sessions that have run out, recording their end.
    fn expire_sessions(&mut self, now: Instant) {
        let expired: Vec<String> = self
            .sessions
            .iter()
            .filter(|(_, s)| s.expires <= now)
            .map(|(t, _)| t.clone())
            .collect();
        for token in expired {
            if let Some(s) = self.sessions.remove(&token) {
                self.end_session(&s, "expired");
            }
        }
    }

    fn logout(&mut self, token: &str) -> Result<(), ChatError> {
        let session = self.sessions.remove(token).ok_or(ChatError::Unauthorized)?;
        self.end_session(&session, "logout");
        let closing: Vec<u64> = self
            .conns
            .iter()
            .filter(|(_, c)| matches!(&c.who, Who::Agent { session, .. } if session == token))
            .map(|(id, _)| *id)
            .collect();
        for id in closing {
            self.drop_conn(id);
        }
        let now = Instant::now();
        let still_in = self
            .sessions
            .values()
            .any(|s| s.agent == session.agent && s.expires > now);
        if !still_in {
            let acd = self.acd.clone();
            let agent = session.agent.clone();
            tokio::spawn(async move {
                if let Err(e) = acd.set_status(&agent, queue::AgentStatus::Offline).await {
                    tracing::warn!(%agent, error = %e, "agent logged out but the queues kept their status");
                }
            });
        }
        tracing::info!(agent = %session.agent, "agent logged out");
        Ok(())
    }

    fn attach_agent(&mut self, now: Instant, token: &str) -> Result<WsConn, ChatError> {
        let session = self.sessions.get(token).ok_or(ChatError::Unauthorized)?;
        if session.expires <= now {
            self.expire_sessions(now);
            return Err(ChatError::Unauthorized);
        }
        let agent = session.agent.clone();
        let live = self.agents.get(&agent).map_or(0, |a| {
            a.sockets.iter().filter(|c| self.conns.contains_key(c)).count()
        });
        if live >= MAX_AGENT_SOCKETS {
            return Err(ChatError::TooMany("this agent has too many open sockets"));
        }
        let (id, conn) = self.new_conn(Who::Agent {
            agent: agent.clone(),
            session: token.to_owned(),
        });
        let entry = self.agents.entry(agent.clone()).or_default();
        entry.sockets.push(id);
        let chats: Vec<serde_json::Value> = entry
            .chats
            .iter()
            .filter_map(|c| self.chats.get(c).map(|chat| (c, chat)))
            .map(|(c, chat)| {
                json!({"chat": c, "queue": chat.queue, "customer": chat.customer(), "messages": chat.recent})
            })
            .collect();
        let offers: Vec<serde_json::Value> = entry
            .offers
            .iter()
            .filter_map(|(offer, c)| self.chats.get(c).map(|chat| offer_json(*offer, c, chat)))
            .collect();
        let welcome = json!({"type": "welcome", "agent": agent, "chats": chats, "offers": offers});
        self.send(id, &welcome);
        // Then where the agent stands now, so a reloaded page shows it (a `state` frame like any other).
        if let Some(tx) = self.conns.get(&id).map(|c| c.tx.clone()) {
            let acd = self.acd.clone();
            tokio::spawn(async move {
                if let Some((status, state)) = acd.agent_now(&agent).await {
                    let frame = json!({
                        "type": "state",
                        "status": status_name(status),
                        "state": state_name(state),
                        "reason": "Current",
                    });
                    let _ = tx.try_send(frame.to_string());
                }
            });
        }
        Ok(conn)
    }

    /// Registers a socket: frames from it reach the hub tagged with its id; dropping its sender closes it.
    fn new_conn(&mut self, who: Who) -> (u64, WsConn) {
        let id = self.next_conn;
        self.next_conn += 1;
        let (out_tx, out_rx) = mpsc::channel(OUTBOX);
        let (in_tx, mut in_rx) = mpsc::channel::<String>(16);
        let hub = self.me.clone();
        tokio::spawn(async move {
            while let Some(text) = in_rx.recv().await {
                if hub.send(HubCmd::Frame { conn: id, text }).await.is_err() {
                    return;
                }
            }
            let _ = hub.send(HubCmd::Closed { conn: id }).await;
        });
        self.conns.insert(id, Conn { who, tx: out_tx });
        (
            id,
            WsConn {
                outgoing: out_rx,
                incoming: in_tx,
            },
        )
    }

    fn drop_conn(&mut self, id: u64) {
        let Some(conn) = self.conns.remove(&id) else {
            return;
        };
        match conn.who {
            Who::Customer { chat } => {
                if let Some(c) = self.chats.get_mut(&chat) {
                    c.sockets.retain(|s| *s != id);
                    if c.sockets.is_empty() {
                        c.orphan_since = Some(Instant::now());
                    }
                }
            }
            Who::Agent { agent, .. } => {
                if let Some(a) = self.agents.get_mut(&agent) {
                    a.sockets.retain(|s| *s != id);
                }
            }
        }
    }

    /// Queues a frame to one socket; a socket whose queue is full is closed.
    fn send(&mut self, id: u64, v: &serde_json::Value) {
        let Some(conn) = self.conns.get(&id) else {
            return;
        };
        if conn.tx.try_send(v.to_string()).is_err() {
            tracing::info!(conn = id, "a chat socket does not keep up: closing it");
            self.drop_conn(id);
        }
    }

    fn send_customer(&mut self, chat: &str, v: &serde_json::Value) {
        let ids = self
            .chats
            .get(chat)
            .map(|c| c.sockets.clone())
            .unwrap_or_default();
        for id in ids {
            self.send(id, v);
        }
    }

    fn send_agent(&mut self, agent: &str, v: &serde_json::Value) {
        let ids = self
            .agents
            .get(agent)
            .map(|a| a.sockets.clone())
            .unwrap_or_default();
        for id in ids {
            self.send(id, v);
        }
    }

    fn on_frame(&mut self, now: Instant, conn: u64, text: &str) {
        let Some(who) = self.conns.get(&conn).map(|c| c.who.clone()) else {
            return;
        };
        match who {
            Who::Customer { chat } => match serde_json::from_str::<CustomerFrame>(text) {
                Ok(CustomerFrame::Message { text }) => {
                    let allowed = self
                        .chats
                        .get_mut(&chat)
                        .is_some_and(|c| c.customer_rate.take(now));
                    if !allowed {
                        self.send(conn, &error("rate_limited", "too many messages; wait a moment"));
                        return;
                    }
                    if let Err((code, msg)) = self.post(&chat, "customer", None, &text) {
                        self.send(conn, &error(code, &msg));
                    }
                }
                Ok(CustomerFrame::End) => self.end_chat(&chat, "customer_ended"),
                Err(e) => self.send(conn, &error("bad_frame", &e.to_string())),
            },
            Who::Agent { agent, session } => {
                if self.sessions.get(&session).is_none_or(|s| s.expires <= now) {
                    self.send(conn, &error("session_expired", "log in again"));
                    self.drop_conn(conn);
                    return;
                }
                match serde_json::from_str::<AgentFrame>(text) {
                    Ok(frame) => self.on_agent_frame(now, conn, &agent, frame),
                    Err(e) => self.send(conn, &error("bad_frame", &e.to_string())),
                }
            }
        }
    }

    fn on_agent_frame(&mut self, now: Instant, conn: u64, agent: &str, frame: AgentFrame) {
        match frame {
            AgentFrame::Status { status } => {
                let Some(s) = parse_status(&status) else {
                    self.send(
                        conn,
                        &error("bad_status", "one of idle, busy, break, meeting, offline"),
                    );
                    return;
                };
                let acd = self.acd.clone();
                let agent = agent.to_owned();
                let tx = self.conns.get(&conn).map(|c| c.tx.clone());
                tokio::spawn(async move {
                    let reply = match acd.set_status(&agent, s).await {
                        Ok(()) => json!({"type": "status", "status": status}),
                        Err(e) => error("status_refused", &e),
                    };
                    if let Some(tx) = tx {
                        let _ = tx.try_send(reply.to_string());
                    }
                });
            }
            AgentFrame::Accept { offer } => {
                let pending = self
                    .agents
                    .get(agent)
                    .is_some_and(|a| a.offers.contains_key(&offer));
                if !pending {
                    let mut frame = error("offer_gone", "this offer is no longer open");
                    frame["offer"] = json!(offer);
                    self.send(conn, &frame);
                    return;
                }
                let cmd = AcdCmd::ChatAccept {
                    offer,
                    agent: agent.to_owned(),
                };
                if !self.acd.send(cmd) {
                    self.send(conn, &error("unavailable", "the queues are saturated; try again"));
                }
            }
            AgentFrame::Decline { offer } => {
                let pending = self.agents.get_mut(agent).and_then(|a| a.offers.remove(&offer));
                if pending.is_some() {
                    let _ = self.acd.send(AcdCmd::ChatDecline { offer });
                }
            }
            AgentFrame::Message { chat, text } => {
                let owns = self.chats.get(&chat).is_some_and(|c| {
                    c.phase
                        == Phase::Active {
                            agent: agent.to_owned(),
                        }
                });
                if !owns {
                    self.send(
                        conn,
                        &error("not_your_chat", "this chat is not yours or has ended"),
                    );
                    return;
                }
                let allowed = self.chats.get_mut(&chat).is_some_and(|c| c.agent_rate.take(now));
                if !allowed {
                    self.send(conn, &error("rate_limited", "too many messages; wait a moment"));
                    return;
                }
                if let Err((code, msg)) = self.post(&chat, "agent", Some(agent), &text) {
                    self.send(conn, &error(code, &msg));
                }
            }
            AgentFrame::End { chat } => {
                let owns = self.chats.get(&chat).is_some_and(|c| {
                    c.phase
                        == Phase::Active {
                            agent: agent.to_owned(),
                        }
                });
                if owns {
                    self.end_chat(&chat, "agent_ended");
                } else {
                    self.send(
                        conn,
                        &error("not_your_chat", "this chat is not yours or has ended"),
                    );
                }
            }
        }
    }

    /// Ends the chats whose customer has been gone longer than the grace of their phase.
    fn sweep(&mut self, now: Instant) {
        self.expire_sessions(now);
        let gone: Vec<String> = self
            .chats
            .iter()
            .filter(|(_, c)| {
                let grace = match c.phase {
                    Phase::Queued => QUEUED_ORPHAN_GRACE,
                    Phase::Active { .. } => ACTIVE_ORPHAN_GRACE,
                };
                c.orphan_since
                    .is_some_and(|since| now.saturating_duration_since(since) > grace)
            })
            .map(|(id, _)| id.clone())
            .collect();
        for id in gone {
            self.end_chat(&id, "customer_left");
        }
    }

    /// Numbers, stores and delivers one message.
    fn post(
        &mut self,
        chat_id: &str,
        sender: &str,
        agent: Option<&str>,
        text: &str,
    ) -> Result<(), (&'static str, String)> {
        let text = text.trim();
        if text.is_empty() {
            return Err(("empty", "a message needs text".into()));
        }
        if text.len() > MAX_TEXT_BYTES {
            return Err((
                "too_large",
                format!("a message holds at most {MAX_TEXT_BYTES} bytes"),
            ));
        }
        let Some(chat) = self.chats.get_mut(chat_id) else {
            return Err(("chat_ended", "the chat has ended".into()));
        };
        if chat.next_seq > MAX_MESSAGES_PER_CHAT {
            return Err((
                "chat_full",
                format!("a chat holds at most {MAX_MESSAGES_PER_CHAT} messages"),
            ));
        }
        let at_ms = now_ms();
        let msg = store::ChatMessage {
            chat_id: chat_id.to_owned(),
            seq: chat.next_seq,
            sender: sender.to_owned(),
            agent: agent.map(str::to_owned),
            body: text.to_owned(),
            at_ms,
        };
        if self.writes.try_send(store::ChatWrite::Message(msg)).is_err() {
            return Err(("busy", "the chat store is saturated; send again".into()));
        }
        let frame = json!({
            "type": "message",
            "chat": chat_id,
            "seq": chat.next_seq,
            "from": sender,
            "agent": agent,
            "text": text,
            "at_ms": at_ms,
        });
        chat.next_seq += 1;
        if chat.recent.len() >= RECENT_KEPT {
            chat.recent.pop_front();
        }
        chat.recent.push_back(frame.clone());
        let text_of = |m: &serde_json::Value| m["text"].as_str().map_or(0, str::len);
        let mut kept: usize = chat.recent.iter().map(text_of).sum();
        while kept > RECENT_BYTES && chat.recent.len() > 1 {
            kept -= chat.recent.pop_front().as_ref().map_or(0, text_of);
        }
        let to_agent = match &chat.phase {
            Phase::Active { agent } => Some(agent.clone()),
            Phase::Queued => None,
        };
        self.send_customer(chat_id, &frame);
        if let Some(a) = to_agent {
            self.send_agent(&a, &frame);
        }
        Ok(())
    }

    /// Tells the queue a chat is over. Never dropped: a lost end would keep the agent's chat count up, and
    /// with it every call away from them, until a restart.
    fn release_in_queue(&self, chat: &str) {
        let cmd = AcdCmd::ChatEnd {
            chat: chat.to_owned(),
        };
        if let Err(mpsc::error::TrySendError::Full(cmd)) = self.acd.try_send(cmd) {
            let acd = self.acd.clone();
            tokio::spawn(async move { acd.send_wait(cmd).await });
        }
    }

    /// Ends a chat for both sides, tells the queue, and forgets it.
    fn end_chat(&mut self, chat_id: &str, reason: &str) {
        let Some(chat) = self.chats.remove(chat_id) else {
            return;
        };
        self.release_in_queue(chat_id);
        let ended = store::ChatWrite::Ended {
            id: chat_id.to_owned(),
            reason: reason.to_owned(),
            at_ms: now_ms(),
        };
        if self.writes.try_send(ended).is_err() {
            tracing::error!(chat = %chat_id, "chat store saturated: the chat's end was not recorded");
        }
        if let Some(n) = self.per_source.get_mut(&chat.source) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.per_source.remove(&chat.source);
            }
        }
        let frame = json!({"type": "ended", "chat": chat_id, "reason": reason});
        for id in &chat.sockets {
            self.send(*id, &frame);
            // Closing: the socket gets its close frame after the last message.
            self.drop_conn(*id);
        }
        let mut notify = Vec::new();
        for (name, a) in &mut self.agents {
            let had_offer = a.offers.iter().any(|(_, c)| c == chat_id);
            a.offers.retain(|_, c| c != chat_id);
            if a.chats.remove(chat_id) || had_offer {
                notify.push(name.clone());
            }
        }
        for a in notify {
            self.send_agent(&a, &frame);
        }
        tracing::info!(chat = %chat_id, %reason, messages = chat.next_seq - 1, "chat ended");
    }

    fn on_event(&mut self, ev: ChatEvent) {
        match ev {
            ChatEvent::Offered { chat, offer, agent } => {
                let reachable = self
                    .agents
                    .get(&agent)
                    .is_some_and(|a| a.sockets.iter().any(|s| self.conns.contains_key(s)));
                let Some(c) = self.chats.get(&chat) else {
                    let _ = self.acd.send(AcdCmd::ChatDecline { offer });
                    return;
                };
                if !reachable {
                    // The agent has no workstation open: the chat goes to the next agent.
                    tracing::debug!(%agent, %chat, "chat offer declined: the agent has no socket");
                    let _ = self.acd.send(AcdCmd::ChatDecline { offer });
                    return;
                }
                let frame = offer_json(offer, &chat, c);
                self.agents
                    .entry(agent.clone())
                    .or_default()
                    .offers
                    .insert(offer, chat);
                self.send_agent(&agent, &frame);
            }
            ChatEvent::OfferEnded { chat, offer } => {
                let mut owner = None;
                for (name, a) in &mut self.agents {
                    if a.offers.remove(&offer).is_some() {
                        owner = Some(name.clone());
                    }
                }
                if let Some(a) = owner {
                    self.send_agent(
                        &a,
                        &json!({"type": "offer_withdrawn", "offer": offer, "chat": chat}),
                    );
                }
            }
            ChatEvent::Connected { chat, agent, queue } => {
                if let Some(a) = self.agents.get_mut(&agent) {
                    a.offers.retain(|_, c| c != &chat);
                }
                let Some(c) = self.chats.get_mut(&chat) else {
                    // Ended while the accept was on its way: release the agent.
                    self.release_in_queue(&chat);
                    return;
                };
                c.phase = Phase::Active { agent: agent.clone() };
                c.queue = queue;
                let started = json!({
                    "type": "chat_started",
                    "chat": chat,
                    "queue": c.queue,
                    "customer": c.customer(),
                    "waited_ms": now_ms() - c.started_at_ms,
                    "messages": c.recent,
                });
                let _ = self.writes.try_send(store::ChatWrite::Accepted {
                    id: chat.clone(),
                    agent: agent.clone(),
                    at_ms: now_ms(),
                });
                self.agents
                    .entry(agent.clone())
                    .or_default()
                    .chats
                    .insert(chat.clone());
                self.send_agent(&agent, &started);
                self.send_customer(
                    &chat,
                    &json!({"type": "agent_joined", "chat": chat, "agent": agent}),
                );
                tracing::info!(%chat, %agent, "chat connected to an agent");
            }
            ChatEvent::AcceptRefused { offer, agent } => {
                if let Some(a) = self.agents.get_mut(&agent) {
                    a.offers.remove(&offer);
                }
                let mut frame = error("offer_gone", "this offer is no longer open");
                frame["offer"] = json!(offer);
                self.send_agent(&agent, &frame);
            }
            ChatEvent::Left { chat, reason } => self.end_chat(&chat, &reason),
            ChatEvent::Moved { chat, queue } => {
                if let Some(c) = self.chats.get_mut(&chat) {
                    c.queue.clone_from(&queue);
                    let _ = self.writes.try_send(store::ChatWrite::Moved {
                        id: chat.clone(),
                        queue: queue.clone(),
                    });
                    self.send_customer(&chat, &json!({"type": "moved", "chat": chat, "queue": queue}));
                }
            }
            ChatEvent::Position {
                chat,
                position,
                estimated_wait,
            } => {
                let frame = json!({
                    "type": "position",
                    "chat": chat,
                    "position": position,
                    "estimated_wait_s": estimated_wait.map(|d| d.as_secs()),
                });
                self.send_customer(&chat, &frame);
            }
            ChatEvent::AgentState {
                agent,
                status,
                state,
                reason,
            } => {
                let frame = json!({"type": "state", "status": status, "state": state, "reason": reason});
                self.send_agent(&agent, &frame);
            }
            ChatEvent::Call { agent, notice } => self.call_notice(agent, notice),
        }
    }
}

impl Hub {
    /// Tells the agent's workstation about a call: at once for what the ACD knows, then, for an offer, the
    /// caller panel read from the database (`call_panel`, which may arrive after the offer ended: the
    /// workstation shows it only for the call on screen).
    fn call_notice(&mut self, agent: String, notice: CallNotice) {
        let frame = match &notice {
            CallNotice::Offered {
                offer,
                call,
                queue,
                waited_ms,
            } => {
                json!({"type": "call_offered", "offer": offer, "call": call, "queue": queue, "waited_ms": waited_ms})
            }
            CallNotice::OfferEnded { offer, call } => {
                json!({"type": "call_offer_ended", "offer": offer, "call": call})
            }
            CallNotice::Connected { call } => json!({"type": "call_started", "call": call}),
            CallNotice::Ended { call } => json!({"type": "call_ended", "call": call}),
        };
        let has_sockets = self.agents.get(&agent).is_some_and(|a| !a.sockets.is_empty());
        if !has_sockets {
            return;
        }
        self.send_agent(&agent, &frame);
        if let (CallNotice::Offered { call, .. }, Some(store)) = (notice, self.store.clone()) {
            let (me, regions) = (self.me.clone(), self.regions.clone());
            tokio::spawn(async move {
                let frame = crate::desk::call_panel(&store, &regions, &call).await;
                let _ = me.send(HubCmd::AgentFrame { agent, frame }).await;
            });
        }
    }
}

fn offer_json(offer: u64, chat_id: &str, chat: &Chat) -> serde_json::Value {
    let preview = chat
        .recent
        .iter()
        .find(|m| m["from"] == "customer")
        .and_then(|m| m["text"].as_str())
        .map(|t| t.chars().take(200).collect::<String>());
    json!({
        "type": "chat_offered",
        "offer": offer,
        "chat": chat_id,
        "queue": chat.queue,
        "customer": chat.customer(),
        "preview": preview,
    })
}

/// The hub and agent logins as the HTTP API sees them.
pub(crate) struct ChatsApi {
    pub(crate) hub: ChatHandle,
    pub(crate) agents: Arc<crate::agents::AgentDirectory>,
    pub(crate) bans: Mutex<sip_auth::BanList>,
}

impl api::ChatControl for ChatsApi {
    fn open(&self, req: OpenChat, source: IpAddr) -> api::BoxFuture<Result<OpenedChat, ChatError>> {
        let hub = self.hub.clone();
        Box::pin(async move { hub.ask(|reply| HubCmd::Open { req, source, reply }).await })
    }

    fn attach_customer(&self, chat: String, token: String) -> api::BoxFuture<Result<WsConn, ChatError>> {
        let hub = self.hub.clone();
        Box::pin(async move {
            hub.ask(|reply| HubCmd::AttachCustomer { chat, token, reply })
                .await
        })
    }

    fn login(
        &self,
        agent: String,
        password: String,
        source: IpAddr,
    ) -> api::BoxFuture<Result<AgentSession, ChatError>> {
        let now = Instant::now();
        let banned = self
            .bans
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_banned(now, source);
        let ok = !banned && self.agents.check_password(&agent, &password);
        if !banned && !ok {
            let until = self
                .bans
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .record_failure(now, source);
            if until.is_some() {
                tracing::warn!(%source, "agent logins from this address are banned for a while");
            }
        }
        let hub = self.hub.clone();
        Box::pin(async move {
            if banned {
                return Err(ChatError::TooMany(
                    "too many failed logins from this address; try later",
                ));
            }
            if !ok {
                return Err(ChatError::Unauthorized);
            }
            hub.ask(|reply| HubCmd::NewSession { agent, source, reply }).await
        })
    }

    fn logout(&self, token: String) -> api::BoxFuture<Result<(), ChatError>> {
        let hub = self.hub.clone();
        Box::pin(async move { hub.ask(|reply| HubCmd::Logout { token, reply }).await })
    }

    fn attach_agent(&self, token: String) -> api::BoxFuture<Result<WsConn, ChatError>> {
        let hub = self.hub.clone();
        Box::pin(async move { hub.ask(|reply| HubCmd::AttachAgent { token, reply }).await })
    }

    fn session(&self, token: String) -> api::BoxFuture<Result<AgentSession, ChatError>> {
        let hub = self.hub.clone();
        Box::pin(async move { hub.ask(|reply| HubCmd::Session { token, reply }).await })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hub() -> (Hub, mpsc::Receiver<AcdCmd>, mpsc::Receiver<store::ChatWrite>) {
        let (acd_tx, acd_rx) = mpsc::channel(64);
        let (writes, writes_rx) = mpsc::channel(64);
        let (me, _) = mpsc::channel(64);
        let (history, _) = mpsc::channel(64);
        let hub = Hub {
            acd: AcdHandle::for_test(acd_tx),
            writes,
            history,
            store: None,
            regions: Arc::default(),
            node_id: "node-1".into(),
            queues: ["support".to_owned()].into(),
            chats: HashMap::new(),
            per_source: HashMap::new(),
            sessions: HashMap::new(),
            agents: HashMap::new(),
            conns: HashMap::new(),
            next_conn: 1,
            me,
        };
        (hub, acd_rx, writes_rx)
    }

    fn request() -> OpenChat {
        serde_json::from_value(json!({"queue": "support", "name": "Dana"})).unwrap()
    }

    #[tokio::test]
    async fn a_chat_whose_customer_went_away_ends_after_the_grace_and_only_then() {
        let (mut hub, mut acd, mut writes) = hub();
        let ip: IpAddr = [192, 0, 2, 1].into();
        let t0 = Instant::now();
        let never = hub.open(t0, request(), ip).unwrap();
        let kept = hub.open(t0, request(), ip).unwrap();
        let _socket = hub.attach_customer(&kept.id, &kept.token).unwrap();
        // At the grace the customer who never connected still has the chat; one second more and not.
        hub.sweep(t0 + QUEUED_ORPHAN_GRACE);
        assert!(hub.chats.contains_key(&never.id));
        hub.sweep(t0 + QUEUED_ORPHAN_GRACE + Duration::from_secs(1));
        assert!(!hub.chats.contains_key(&never.id), "ended");
        assert!(
            hub.chats.contains_key(&kept.id),
            "a connected customer keeps the chat"
        );
        let mut ended_in_queue = false;
        while let Ok(cmd) = acd.try_recv() {
            ended_in_queue |= matches!(&cmd, AcdCmd::ChatEnd { chat } if *chat == never.id);
        }
        assert!(ended_in_queue, "the queue let the chat go");
        let mut recorded = false;
        while let Ok(w) = writes.try_recv() {
            recorded |= matches!(&w, store::ChatWrite::Ended { id, reason, .. } if *id == never.id && reason == "customer_left");
        }
        assert!(recorded, "the store says why");
        // The connected customer's socket closes: the grace counts from then.
        let socket = hub.chats[&kept.id].sockets[0];
        hub.drop_conn(socket);
        let closed = Instant::now();
        hub.sweep(closed + QUEUED_ORPHAN_GRACE - Duration::from_secs(1));
        assert!(hub.chats.contains_key(&kept.id));
        hub.sweep(closed + QUEUED_ORPHAN_GRACE + Duration::from_secs(1));
        assert!(!hub.chats.contains_key(&kept.id));
        assert!(hub.per_source.is_empty(), "the address's count went back to zero");
    }

    #[test]
    fn a_sender_gets_its_burst_then_one_message_per_second() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(t0);
        let burst = RATE_BURST as usize;
        for i in 0..burst {
            assert!(bucket.take(t0), "message {} of the burst", i + 1);
        }
        assert!(!bucket.take(t0), "message {} is over the burst", burst + 1);
        assert!(
            !bucket.take(t0 + Duration::from_millis(500)),
            "half a token is not one"
        );
        assert!(
            bucket.take(t0 + Duration::from_millis(1000)),
            "one token a second"
        );
        assert!(!bucket.take(t0 + Duration::from_millis(1000)));
        // A long pause refills to the burst, not beyond.
        let later = t0 + Duration::from_secs(3600);
        for _ in 0..burst {
            assert!(bucket.take(later));
        }
        assert!(!bucket.take(later));
    }
}
