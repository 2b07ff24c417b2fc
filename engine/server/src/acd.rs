//! The ACD service: one task that owns the queue core (`queue::Acd`), takes callers from the call shards,
//! offers them to agents, and tells the shards what to do (ring an agent, stop ringing, give a caller back
//! to the flow). The core is sans-IO; this task gives it time and channels.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use b2bua::AgentEvent;
use queue::{
    Acd, AgentConfig, AgentId, AgentStatus, Channel, ContactId, NewContact, OfferId, QueueConfig, QueueEvent,
};
use tokio::sync::{mpsc, oneshot};

/// Commands queued for the ACD before callers are refused (the queue answers "busy").
pub(crate) const ACD_QUEUE: usize = 4096;

/// What the shards and the API ask of the ACD.
#[derive(Debug)]
pub(crate) enum AcdCmd {
    Join {
        shard: usize,
        call_key: u64,
        queue: String,
        priority: u8,
        skills: BTreeMap<String, u8>,
        reference: String,
    },
    Leave {
        call_key: u64,
    },
    Agent {
        call_key: u64,
        event: AgentEvent,
    },
    SetStatus {
        agent: String,
        status: AgentStatus,
        reply: oneshot::Sender<Result<(), String>>,
    },
    Agents(Vec<store::Agent>),
    /// An agent's status and state now (None: no such agent).
    AgentNow {
        agent: String,
        reply: oneshot::Sender<Option<(AgentStatus, queue::AgentState)>>,
    },
    /// Where chat contacts' events go (the chat hub registers itself once at start).
    ChatHub(mpsc::Sender<crate::chats::ChatEvent>),
    /// A chat joins a queue.
    JoinChat {
        chat: String,
        queue: String,
        priority: u8,
        skills: BTreeMap<String, u8>,
    },
    /// An agent accepted a chat offer.
    ChatAccept {
        offer: u64,
        agent: String,
    },
    /// An agent declined a chat offer (or cannot be reached for it).
    ChatDecline {
        offer: u64,
    },
    /// The chat ended: abandoned while waiting, or finished by either side after the agent took it.
    ChatEnd {
        chat: String,
    },
    Stats {
        reply: oneshot::Sender<serde_json::Value>,
    },
    /// A waiting caller (`call_key`) becomes a callback: a callback session (`callback_key`, on `shard`)
    /// takes over their queue entry, which keeps its place. Answered with [`ShardMsg::Callback`].
    Callback {
        shard: usize,
        call_key: u64,
        callback_key: u64,
        /// The callback call's id: the entry's agent-facing reference from now on.
        reference: String,
    },
    /// The agent puts a call they are in on hold, or takes it back; the reply says whether it was done.
    Hold {
        agent: String,
        call: String,
        on: bool,
        reply: oneshot::Sender<Result<(), HoldRefused>>,
    },
    /// An agent places an outbound call to `number` (their phone rings first, then the number). The agent
    /// must be waiting (no offer, no call, no wrap-up); they are `busy` for the call and go back to their
    /// status after it. The reply is the call's id.
    Dial {
        agent: String,
        number: String,
        reply: oneshot::Sender<Result<String, String>>,
    },
    /// An agent's outbound call ended (from the shard that held it).
    OutboundEnded {
        agent: String,
    },
    /// The outcome of an agent claim in the shared database (engines sharing one database).
    Claimed {
        offer: u64,
        agent: String,
        ok: bool,
    },
}

/// What the ACD tells a shard about one of its calls.
#[derive(Debug)]
pub(crate) enum ShardMsg {
    /// Ring this agent for this call.
    Offer {
        call_key: u64,
        offer: u64,
        agent: String,
    },
    /// Stop ringing (the offer timed out or the agent became unavailable).
    Withdraw { call_key: u64, offer: u64 },
    /// The queue gives the call back to the flow.
    Left { call_key: u64, reason: String },
    /// The call overflowed into another queue (it keeps waiting there).
    Moved { call_key: u64, queue: String },
    /// The answer to [`AcdCmd::Callback`]: the callback session holds the caller's place (`taken`), or the
    /// caller keeps waiting on the line and the callback session ends.
    Callback {
        call_key: u64,
        callback_key: u64,
        taken: bool,
    },
    /// The agent holds or takes back the call; `reply` says whether the call was bridged to take it.
    Hold {
        call_key: u64,
        on: bool,
        reply: oneshot::Sender<bool>,
    },
    /// Place an agent's outbound call; `reply` gets the call id or why not.
    Dial {
        agent: String,
        number: String,
        reply: oneshot::Sender<Result<String, String>>,
    },
    /// Tell the caller their place and the estimated wait.
    Announce {
        call_key: u64,
        position: usize,
        estimated_wait: Option<Duration>,
    },
}

/// Sends commands to the ACD task.
#[derive(Clone)]
pub(crate) struct AcdHandle {
    tx: mpsc::Sender<AcdCmd>,
}

impl AcdHandle {
    /// A handle whose commands land in `tx` (tests read them from the other end).
    #[cfg(test)]
    pub(crate) fn for_test(tx: mpsc::Sender<AcdCmd>) -> Self {
        Self { tx }
    }

    /// Queues a command without waiting; false when the ACD is saturated or gone.
    pub(crate) fn send(&self, cmd: AcdCmd) -> bool {
        self.tx.try_send(cmd).is_ok()
    }

    /// Queues a command without waiting, handing it back when the queue is full.
    pub(crate) fn try_send(&self, cmd: AcdCmd) -> Result<(), mpsc::error::TrySendError<AcdCmd>> {
        self.tx.try_send(cmd)
    }

    /// Queues a command, waiting for room (false once the service has stopped).
    pub(crate) async fn send_wait(&self, cmd: AcdCmd) -> bool {
        self.tx.send(cmd).await.is_ok()
    }

    /// An agent's status and state, as the queues see them now.
    pub(crate) async fn agent_now(&self, agent: &str) -> Option<(AgentStatus, queue::AgentState)> {
        let (reply, rx) = oneshot::channel();
        let cmd = AcdCmd::AgentNow {
            agent: agent.to_owned(),
            reply,
        };
        self.tx.send(cmd).await.ok()?;
        rx.await.ok().flatten()
    }

    pub(crate) async fn set_status(&self, agent: &str, status: AgentStatus) -> Result<(), String> {
        let (reply, rx) = oneshot::channel();
        let cmd = AcdCmd::SetStatus {
            agent: agent.to_owned(),
            status,
            reply,
        };
        self.tx
            .send(cmd)
            .await
            .map_err(|_| "the queue service has stopped".to_owned())?;
        rx.await.map_err(|_| "the queue service has stopped".to_owned())?
    }

    pub(crate) async fn stats(&self) -> serde_json::Value {
        let (reply, rx) = oneshot::channel();
        if self.tx.send(AcdCmd::Stats { reply }).await.is_err() {
            return serde_json::Value::Null;
        }
        rx.await.unwrap_or(serde_json::Value::Null)
    }
}

/// A queue as configured (`queues:` in the config file).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct QueueSettings {
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) strategy: Option<String>,
    /// How long an agent's phone rings before the call goes to the next agent.
    #[serde(default, with = "crate::config::duration_opt")]
    pub(crate) offer_timeout: Option<Duration>,
    /// Time after a call before the agent gets the next one.
    #[serde(default, with = "crate::config::duration_opt")]
    pub(crate) wrap_up: Option<Duration>,
    /// The queue gives a caller back to the flow after this long.
    #[serde(default, with = "crate::config::duration_opt")]
    pub(crate) max_wait: Option<Duration>,
    /// Most callers waiting.
    #[serde(default)]
    pub(crate) max_len: Option<usize>,
    /// Where a caller goes when `max_wait` passes or the queue is full: another queue (by name). Without it
    /// the caller leaves the queue and the flow takes the `enqueue` node's `on_left` (reason `overflow`
    /// or `timeout`), which is how a flow sends callers to a node of its own.
    #[serde(default)]
    pub(crate) overflow: Option<String>,
    /// How often a waiting caller hears their place and the estimated wait, counted from entry (default 60 s;
    /// `0s` turns it off). Chats get the same as a `position` frame.
    #[serde(default = "announce_default", with = "crate::config::duration_opt")]
    pub(crate) announce_every: Option<Duration>,
    /// Record calls answered from this queue (default on; see `recording:` for the folder).
    #[serde(default = "yes")]
    pub(crate) record: bool,
    /// The key a waiting caller presses to be called back, keeping their place (needs `trunk:`).
    #[serde(default)]
    pub(crate) callback_key: Option<String>,
}

fn yes() -> bool {
    true
}

fn announce_default() -> Option<Duration> {
    Some(DEFAULT_ANNOUNCE_EVERY)
}

/// How often waiting callers hear their place unless a queue says otherwise.
pub(crate) const DEFAULT_ANNOUNCE_EVERY: Duration = Duration::from_secs(60);

impl QueueSettings {
    pub(crate) fn named(name: &str) -> Self {
        Self {
            name: name.into(),
            strategy: None,
            offer_timeout: None,
            wrap_up: None,
            max_wait: None,
            max_len: None,
            overflow: None,
            announce_every: announce_default(),
            record: true,
            callback_key: None,
        }
    }

    fn to_config(&self) -> Result<QueueConfig, String> {
        let mut q = QueueConfig::new(&self.name);
        if let Some(s) = &self.strategy {
            q.strategy = s
                .parse()
                .map_err(|_| format!("queue {}: unknown strategy {s:?}", self.name))?;
        }
        if let Some(t) = self.offer_timeout {
            q.offer_timeout = t;
        }
        if let Some(t) = self.wrap_up {
            q.wrap_up = t;
        }
        if self.max_wait.is_some() {
            q.max_wait = self.max_wait;
        }
        if let Some(n) = self.max_len {
            q.max_len = n;
        }
        q.overflow = self.overflow.clone().map(queue::Overflow::Queue);
        q.announce_every = self.announce_every.filter(|d| !d.is_zero());
        Ok(q)
    }
}

/// How long an agent claim lasts in the shared database; the holder renews it every third of that.
pub(crate) const LEASE: Duration = Duration::from_secs(30);

/// Agent claims for engines that share one database: before an offer rings, this engine claims the agent
/// (`store::Store::claim_agent`); an agent another engine holds is declined here, and tried again after the
/// queue's reject delay. The claim is released when the agent is back to waiting.
pub(crate) struct Leases {
    /// Lease operations, applied in order by one task: a release and the claim that follows it for the
    /// same agent (a call ends, the next offer comes in the same pass) must reach the database in that
    /// order, or the claim would be deleted under the engine that holds it.
    ops: mpsc::Sender<LeaseOp>,
    /// Agents this engine holds.
    held: std::collections::BTreeSet<String>,
    /// Offers waiting for their claim: offer → agent and contact.
    claiming: BTreeMap<u64, (String, ContactId)>,
}

enum LeaseOp {
    Claim {
        offer: u64,
        agent: String,
        reply: mpsc::Sender<AcdCmd>,
    },
    Release {
        agent: String,
    },
    Renew,
}

/// Lease operations queued before a claim is refused outright (the offer is declined and retried).
const LEASE_QUEUE: usize = 4096;

impl Leases {
    /// Starts the task that applies lease operations in order (call inside the runtime).
    pub(crate) fn new(store: store::Store, node_id: &str) -> Self {
        let (ops, rx) = mpsc::channel(LEASE_QUEUE);
        tokio::spawn(apply_leases(store, node_id.to_owned(), rx));
        Self {
            ops,
            held: Default::default(),
            claiming: BTreeMap::new(),
        }
    }

    fn claim(&mut self, offer: u64, agent: String, contact: ContactId, reply: mpsc::Sender<AcdCmd>) {
        self.claiming.insert(offer, (agent.clone(), contact));
        let op = LeaseOp::Claim {
            offer,
            agent: agent.clone(),
            reply: reply.clone(),
        };
        if self.ops.try_send(op).is_err() {
            tracing::warn!(%agent, "agent claims are saturated: the offer is declined and retried");
            let _ = reply.try_send(AcdCmd::Claimed {
                offer,
                agent,
                ok: false,
            });
        }
    }

    fn release(&mut self, agent: &str) {
        if !self.held.remove(agent) || self.claiming.values().any(|(a, _)| a == agent) {
            return;
        }
        let op = LeaseOp::Release {
            agent: agent.to_owned(),
        };
        if self.ops.try_send(op).is_err() {
            tracing::warn!(%agent, "agent claims are saturated: this claim runs out by itself");
        }
    }

    fn renew(&self) {
        if !self.held.is_empty() {
            let _ = self.ops.try_send(LeaseOp::Renew);
        }
    }
}

async fn apply_leases(store: store::Store, node: String, mut rx: mpsc::Receiver<LeaseOp>) {
    let until = |now: i64| now + LEASE.as_millis() as i64;
    while let Some(op) = rx.recv().await {
        let now = crate::serve::unix_ms(std::time::SystemTime::now());
        match op {
            LeaseOp::Claim { offer, agent, reply } => {
                let ok = match store.claim_agent(&agent, &node, now, until(now)).await {
                    Ok(ok) => ok,
                    Err(e) => {
                        tracing::warn!(%agent, error = %e, "cannot claim an agent in the database");
                        false
                    }
                };
                let _ = reply.send(AcdCmd::Claimed { offer, agent, ok }).await;
            }
            LeaseOp::Release { agent } => {
                if let Err(e) = store.release_agent(&agent, &node).await {
                    tracing::warn!(%agent, error = %e, "cannot release an agent claim; it runs out by itself");
                }
            }
            LeaseOp::Renew => {
                if let Err(e) = store.renew_agent_leases(&node, until(now)).await {
                    tracing::warn!(error = %e, "cannot renew agent claims");
                }
            }
        }
    }
}

/// Most times one caller is moved on by overflow before it leaves instead (A → B → A … is allowed, but
/// not forever).
pub(crate) const MAX_OVERFLOW_HOPS: u8 = 4;

/// Who a waiting contact belongs to: a call on one of the shards, or a chat in the hub.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Owner {
    Call { shard: usize, call_key: u64 },
    Chat { chat: String },
}

struct Contact {
    owner: Owner,
    channel: Channel,
    /// What it joined with, to carry over into an overflow queue.
    priority: u8,
    skills: Vec<queue::Skill>,
    reference: String,
    hops: u8,
    /// When it first joined a queue (its wait, shown to the agent it is offered to).
    joined: Instant,
    /// The agent it is connected to.
    agent: Option<String>,
}

/// Why a hold was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HoldRefused {
    /// The agent is not in this call.
    NotYours,
    /// The call is not bridged to the agent now (still ringing, or ending).
    NotInCall,
}

struct Service {
    acd: Acd,
    shards: Vec<mpsc::Sender<ShardMsg>>,
    contacts: BTreeMap<ContactId, Contact>,
    by_call: BTreeMap<u64, ContactId>,
    by_chat: BTreeMap<String, ContactId>,
    offers: BTreeMap<u64, OfferId>,
    chat_hub: Option<mpsc::Sender<crate::chats::ChatEvent>>,
    known_agents: std::collections::BTreeSet<String>,
    queue_names: Vec<String>,
    leases: Option<Leases>,
    /// The ACD's own command queue (claims report back through it).
    me: mpsc::Sender<AcdCmd>,
    /// The queue's history in the database.
    history: Option<crate::queue_history::History>,
    /// Agents on an outbound call, with the status to give back to them after it.
    outbound: BTreeMap<String, AgentStatus>,
}

/// Starts the ACD task with its queues and agents.
pub(crate) fn spawn(
    queues: &[QueueSettings],
    agents: Vec<store::Agent>,
    shards: Vec<mpsc::Sender<ShardMsg>>,
    seed: u64,
    leases: Option<Leases>,
    history: Option<crate::queue_history::History>,
) -> anyhow::Result<AcdHandle> {
    let mut acd = Acd::new(Default::default(), seed);
    for q in queues {
        if let Some(target) = &q.overflow {
            anyhow::ensure!(
                target != &q.name && queues.iter().any(|other| &other.name == target),
                "queue {}: overflow names {target:?}, which is not another configured queue",
                q.name
            );
        }
        acd.add_queue(q.to_config().map_err(anyhow::Error::msg)?)
            .map_err(|e| anyhow::anyhow!("queue {}: {e}", q.name))?;
    }
    let (tx, rx) = mpsc::channel(ACD_QUEUE);
    let mut service = Service {
        acd,
        shards,
        contacts: BTreeMap::new(),
        by_call: BTreeMap::new(),
        by_chat: BTreeMap::new(),
        offers: BTreeMap::new(),
        chat_hub: None,
        known_agents: Default::default(),
        queue_names: queues.iter().map(|q| q.name.clone()).collect(),
        leases,
        me: tx.clone(),
        history,
        outbound: BTreeMap::new(),
    };
    service.add_agents(agents);
    tokio::spawn(service.run(rx));
    Ok(AcdHandle { tx })
}

impl Service {
    fn add_agents(&mut self, agents: Vec<store::Agent>) {
        for a in agents {
            if self.known_agents.contains(&a.id) {
                continue;
            }
            let queues: Vec<&str> = a.queues.iter().map(String::as_str).collect();
            let mut cfg = AgentConfig::new(&a.id, &queues);
            cfg.name = a.name.clone();
            cfg.skills = a
                .skills
                .iter()
                .map(|(name, level)| queue::Skill {
                    name: name.clone(),
                    level: *level,
                })
                .collect();
            cfg.max_chats = a.max_chats;
            cfg.chat_during_call = a.chat_during_call;
            match self.acd.add_agent(cfg) {
                Ok(()) => {
                    self.known_agents.insert(a.id);
                }
                Err(e) => tracing::warn!(agent = %a.id, error = %e, "agent not added to the queues"),
            }
        }
    }

    async fn run(mut self, mut rx: mpsc::Receiver<AcdCmd>) {
        let mut renew = tokio::time::interval(LEASE / 3);
        renew.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut flush = tokio::time::interval(Duration::from_secs(1));
        flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let deadline = self.acd.poll_timeout();
            tokio::select! {
                cmd = rx.recv() => match cmd {
                    Some(cmd) => self.on_command(Instant::now(), cmd),
                    None => return,
                },
                () = sleep_until(deadline) => self.acd.handle_timeout(Instant::now()),
                _ = renew.tick(), if self.leases.is_some() => {
                    if let Some(l) = &self.leases {
                        l.renew();
                    }
                }
                _ = flush.tick(), if self.history.as_ref().is_some_and(|h| h.backlog() > 0) => {
                    if let Some(h) = &mut self.history {
                        h.flush();
                    }
                }
            }
            self.drain();
        }
    }

    fn on_command(&mut self, now: Instant, cmd: AcdCmd) {
        match cmd {
            AcdCmd::Join {
                shard,
                call_key,
                queue,
                priority,
                skills,
                reference,
            } => {
                let contact = Contact {
                    owner: Owner::Call { shard, call_key },
                    channel: Channel::Call,
                    priority: priority.min(9),
                    skills: skills
                        .into_iter()
                        .map(|(name, level)| queue::Skill { name, level })
                        .collect(),
                    reference,
                    hops: 0,
                    joined: now,
                    agent: None,
                };
                match self.join(now, &queue, contact) {
                    Ok(()) => {}
                    Err(e) => {
                        tracing::info!(%queue, error = %e, "caller not queued");
                        self.tell(
                            shard,
                            ShardMsg::Left {
                                call_key,
                                reason: "unavailable".into(),
                            },
                        );
                    }
                }
            }
            AcdCmd::Callback {
                shard,
                call_key,
                callback_key,
                reference,
            } => self.callback(now, shard, call_key, callback_key, reference),
            AcdCmd::Hold {
                agent,
                call,
                on,
                reply,
            } => self.hold(agent, call, on, reply),
            AcdCmd::Dial { agent, number, reply } => self.dial(now, agent, number, reply),
            AcdCmd::OutboundEnded { agent } => {
                if let Some(previous) = self.outbound.remove(&agent) {
                    let id = AgentId(agent.clone());
                    // Back to the status before the call, unless the agent chose another one meanwhile.
                    if self.acd.agent(&id).is_ok_and(|(s, _)| s == AgentStatus::Busy) {
                        let _ = self.acd.set_status(now, &id, previous);
                    }
                    tracing::info!(%agent, "outbound call ended");
                }
            }
            AcdCmd::Leave { call_key } => {
                if let Some(contact) = self.by_call.remove(&call_key) {
                    self.contacts.remove(&contact);
                    let _ = self.acd.abandon(now, contact);
                }
            }
            AcdCmd::Agent { call_key, event } => match event {
                AgentEvent::Answered { offer } => {
                    if let Some(id) = self.offers.get(&offer).copied() {
                        if let Err(e) = self.acd.accept(now, id) {
                            tracing::warn!(error = %e, "an agent answered an offer the queue no longer holds");
                        }
                    }
                }
                AgentEvent::Failed { offer, .. } => {
                    if let Some(id) = self.offers.remove(&offer) {
                        let _ = self.acd.decline(now, id);
                    }
                }
                AgentEvent::Ended { offer, .. } => {
                    self.offers.remove(&offer);
                    if let Some(contact) = self.by_call.remove(&call_key) {
                        // The contact goes with its `Finished` event (which tells the agent's desk).
                        if self.acd.finish(now, contact).is_err() {
                            self.contacts.remove(&contact);
                        }
                    }
                }
            },
            AcdCmd::AgentNow { agent, reply } => {
                let _ = reply.send(self.acd.agent(&AgentId(agent)).ok());
            }
            AcdCmd::SetStatus { agent, status, reply } => {
                let result = self
                    .acd
                    .set_status(now, &AgentId(agent), status)
                    .map_err(|e| e.to_string());
                let _ = reply.send(result);
            }
            AcdCmd::Agents(agents) => self.add_agents(agents),
            AcdCmd::Claimed { offer, agent, ok } => self.claimed(now, offer, agent, ok),
            AcdCmd::ChatHub(tx) => self.chat_hub = Some(tx),
            AcdCmd::JoinChat {
                chat,
                queue,
                priority,
                skills,
            } => {
                let contact = Contact {
                    owner: Owner::Chat { chat: chat.clone() },
                    channel: Channel::Chat,
                    priority: priority.min(9),
                    skills: skills
                        .into_iter()
                        .map(|(name, level)| queue::Skill { name, level })
                        .collect(),
                    reference: chat.clone(),
                    hops: 0,
                    joined: now,
                    agent: None,
                };
                if let Err(e) = self.join(now, &queue, contact) {
                    tracing::info!(%queue, error = %e, "chat not queued");
                    self.to_hub(crate::chats::ChatEvent::Left {
                        chat,
                        reason: "unavailable".into(),
                    });
                }
            }
            AcdCmd::ChatAccept { offer, agent } => {
                let accepted = self
                    .offers
                    .get(&offer)
                    .copied()
                    .is_some_and(|id| self.acd.accept(now, id).is_ok());
                // An accepted offer is over either way: the chat is connected, or it is gone.
                self.offers.remove(&offer);
                if !accepted {
                    self.to_hub(crate::chats::ChatEvent::AcceptRefused { offer, agent });
                }
            }
            AcdCmd::ChatDecline { offer } => {
                if let Some(id) = self.offers.remove(&offer) {
                    let _ = self.acd.decline(now, id);
                }
            }
            AcdCmd::ChatEnd { chat } => {
                if let Some(contact) = self.by_chat.remove(&chat) {
                    self.contacts.remove(&contact);
                    // Finish when an agent has it, abandon while it waits; the core refuses the other one.
                    if self.acd.finish(now, contact).is_err() {
                        let _ = self.acd.abandon(now, contact);
                    }
                }
            }
            AcdCmd::Stats { reply } => {
                let mut out = serde_json::Map::new();
                for name in &self.queue_names {
                    if let Ok(s) = self.acd.stats(now, name) {
                        out.insert(
                            name.clone(),
                            serde_json::json!({
                                "waiting": s.waiting,
                                "offering": s.offering,
                                "longest_wait_s": s.longest_wait.map(|d| d.as_secs_f64()),
                                "agents_available": s.agents_available,
                                "agents_busy": s.agents_busy,
                                "agents_away": s.agents_away,
                                "agents_offline": s.agents_offline,
                                "joined": s.joined,
                                "answered": s.answered,
                                "abandoned": s.abandoned,
                                "timed_out": s.timed_out,
                            }),
                        );
                    }
                }
                let _ = reply.send(serde_json::Value::Object(out));
            }
        }
    }

    /// Starts an agent's outbound call: the agent must be waiting; they are set busy so no queue offers them
    /// anything during it, and the call is placed by shard 0.
    fn dial(
        &mut self,
        now: Instant,
        agent: String,
        number: String,
        reply: oneshot::Sender<Result<String, String>>,
    ) {
        let id = AgentId(agent.clone());
        let Ok((status, state)) = self.acd.agent(&id) else {
            let _ = reply.send(Err("unknown agent".into()));
            return;
        };
        if state != queue::AgentState::Waiting || self.outbound.contains_key(&agent) {
            let _ = reply.send(Err("the agent is in a call, ringing or in wrap-up".into()));
            return;
        }
        if status != AgentStatus::Busy {
            if let Err(e) = self.acd.set_status(now, &id, AgentStatus::Busy) {
                let _ = reply.send(Err(e.to_string()));
                return;
            }
        }
        self.outbound.insert(agent.clone(), status);
        self.tell(0, ShardMsg::Dial { agent, number, reply });
    }

    /// Asks the call's shard to hold or resume it, when `agent` is the one connected to `call`.
    fn hold(&self, agent: String, call: String, on: bool, reply: oneshot::Sender<Result<(), HoldRefused>>) {
        let owner = self
            .contacts
            .values()
            .find(|c| {
                c.channel == Channel::Call
                    && c.reference == call
                    && c.agent.as_deref() == Some(agent.as_str())
            })
            .map(|c| c.owner.clone());
        let Some(Owner::Call { shard, call_key }) = owner else {
            let _ = reply.send(Err(HoldRefused::NotYours));
            return;
        };
        let (tx, rx) = oneshot::channel();
        self.tell(
            shard,
            ShardMsg::Hold {
                call_key,
                on,
                reply: tx,
            },
        );
        tokio::spawn(async move {
            let done = rx.await.unwrap_or(false);
            let _ = reply.send(if done { Ok(()) } else { Err(HoldRefused::NotInCall) });
        });
    }

    /// Hands a waiting caller's entry to their callback session: it keeps its place, stops timing out and
    /// announcing, and its next offer rings for the callback.
    fn callback(&mut self, now: Instant, shard: usize, call_key: u64, callback_key: u64, reference: String) {
        let refuse = |this: &Self, why: &str| {
            tracing::info!(why, "callback refused");
            this.tell(
                shard,
                ShardMsg::Callback {
                    call_key,
                    callback_key,
                    taken: false,
                },
            );
        };
        let Some(contact) = self.by_call.get(&call_key).copied() else {
            return refuse(self, "the caller is no longer waiting");
        };
        if let Err(e) = self.acd.request_callback(now, contact) {
            return refuse(self, &e.to_string());
        }
        self.by_call.remove(&call_key);
        self.by_call.insert(callback_key, contact);
        if let Some(c) = self.contacts.get_mut(&contact) {
            c.owner = Owner::Call {
                shard,
                call_key: callback_key,
            };
            // The agent's desk (caller panel, notes, hold) works on the callback call's record.
            c.reference = reference;
        }
        self.tell(
            shard,
            ShardMsg::Callback {
                call_key,
                callback_key,
                taken: true,
            },
        );
    }

    /// Enqueues a caller, following the queue's overflow when it is full (at most [`MAX_OVERFLOW_HOPS`]).
    fn join(&mut self, now: Instant, queue: &str, mut contact: Contact) -> Result<(), queue::QueueError> {
        let mut target = queue.to_owned();
        loop {
            let mut c = NewContact::new(&target, contact.channel);
            c.priority = contact.priority;
            c.skills = contact.skills.clone();
            c.reference = contact.reference.clone();
            match self.acd.enqueue(now, c) {
                Ok(id) => {
                    if contact.hops > 0 {
                        // An overflowed contact: its owner records where it waits now.
                        match &contact.owner {
                            Owner::Call { shard, call_key } => self.tell(
                                *shard,
                                ShardMsg::Moved {
                                    call_key: *call_key,
                                    queue: target,
                                },
                            ),
                            Owner::Chat { chat } => self.to_hub(crate::chats::ChatEvent::Moved {
                                chat: chat.clone(),
                                queue: target,
                            }),
                        }
                    }
                    self.index(id, &contact.owner);
                    self.contacts.insert(id, contact);
                    return Ok(());
                }
                Err(queue::QueueError::QueueFull {
                    overflow: Some(queue::Overflow::Queue(next)),
                    ..
                }) if contact.hops < MAX_OVERFLOW_HOPS => {
                    tracing::info!(from = %target, to = %next, "queue full: caller overflows");
                    contact.hops += 1;
                    target = next;
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn drain(&mut self) {
        while let Some(ev) = self.acd.poll_event() {
            if let Some(h) = &mut self.history {
                let contacts = &self.contacts;
                h.on_event(&ev, |c| {
                    contacts.get(&c).map(|c| crate::queue_history::ContactInfo {
                        interaction: c.reference.clone(),
                        channel: c.channel,
                    })
                });
            }
            match ev {
                QueueEvent::Offered {
                    offer,
                    contact,
                    agent,
                    queue,
                    ..
                } => {
                    if !self.contacts.contains_key(&contact) {
                        continue;
                    }
                    self.offers.insert(offer.0, offer);
                    if let Some(c) = self.contacts.get(&contact).filter(|c| c.channel == Channel::Call) {
                        let notice = crate::chats::CallNotice::Offered {
                            offer: offer.0,
                            call: c.reference.clone(),
                            queue: queue.clone(),
                            waited_ms: u64::try_from(c.joined.elapsed().as_millis()).unwrap_or(u64::MAX),
                        };
                        self.to_hub(crate::chats::ChatEvent::Call {
                            agent: agent.0.clone(),
                            notice,
                        });
                    }
                    let me = self.me.clone();
                    match &mut self.leases {
                        // Rings once the agent is claimed in the shared database.
                        Some(leases) => leases.claim(offer.0, agent.0, contact, me),
                        None => self.deliver(contact, offer.0, agent.0),
                    }
                }
                QueueEvent::OfferEnded {
                    offer,
                    contact,
                    reason,
                    agent,
                } => {
                    tracing::debug!(offer = offer.0, ?reason, "offer ended");
                    if let Some(c) = self.contacts.get(&contact).filter(|c| c.channel == Channel::Call) {
                        let notice = crate::chats::CallNotice::OfferEnded {
                            offer: offer.0,
                            call: c.reference.clone(),
                        };
                        self.to_hub(crate::chats::ChatEvent::Call {
                            agent: agent.0,
                            notice,
                        });
                    }
                    let answered = matches!(reason, queue::OfferEndReason::AnsweredElsewhere);
                    if self.offers.remove(&offer.0).is_some() {
                        match self.contacts.get(&contact).map(|c| c.owner.clone()) {
                            // A call's session drops its other rings itself when one agent answers.
                            Some(Owner::Call { shard, call_key }) if !answered => self.tell(
                                shard,
                                ShardMsg::Withdraw {
                                    call_key,
                                    offer: offer.0,
                                },
                            ),
                            Some(Owner::Chat { chat }) => {
                                self.to_hub(crate::chats::ChatEvent::OfferEnded { chat, offer: offer.0 })
                            }
                            _ => {}
                        }
                    }
                }
                QueueEvent::Connected {
                    contact,
                    agent,
                    queue,
                    wait,
                    ..
                } => {
                    tracing::info!(contact = contact.0, agent = %agent.0, %queue, wait_ms = wait.as_millis() as u64, "contact connected to an agent");
                    if let Some(c) = self.contacts.get_mut(&contact) {
                        c.agent = Some(agent.0.clone());
                    }
                    if let Some(c) = self.contacts.get(&contact).filter(|c| c.channel == Channel::Call) {
                        let notice = crate::chats::CallNotice::Connected {
                            call: c.reference.clone(),
                        };
                        self.to_hub(crate::chats::ChatEvent::Call {
                            agent: agent.0.clone(),
                            notice,
                        });
                    }
                    if let Some(Owner::Chat { chat }) = self.contacts.get(&contact).map(|c| c.owner.clone()) {
                        self.to_hub(crate::chats::ChatEvent::Connected {
                            chat,
                            agent: agent.0,
                            queue,
                        });
                    }
                }
                QueueEvent::Left {
                    contact,
                    queue,
                    reason: queue::LeaveReason::Overflow(queue::Overflow::Queue(target)),
                    ..
                } if self
                    .contacts
                    .get(&contact)
                    .is_some_and(|c| c.hops < MAX_OVERFLOW_HOPS) =>
                {
                    if let Some(mut c) = self.contacts.remove(&contact) {
                        self.unindex(&c.owner);
                        c.hops += 1;
                        tracing::info!(contact = contact.0, from = %queue, to = %target, "max wait: contact overflows");
                        let owner = c.owner.clone();
                        if let Err(e) = self.join(Instant::now(), &target, c) {
                            tracing::info!(queue = %target, error = %e, "overflow queue refused the contact");
                            self.left(owner, "overflow".into());
                        }
                    }
                }
                QueueEvent::Left {
                    contact,
                    queue,
                    reason,
                    ..
                } => {
                    if let Some(c) = self.contacts.remove(&contact) {
                        self.unindex(&c.owner);
                        let reason = match reason {
                            queue::LeaveReason::Abandoned => "abandoned",
                            queue::LeaveReason::Timeout => "timeout",
                            queue::LeaveReason::Overflow(_) => "overflow",
                        }
                        .to_owned();
                        tracing::info!(contact = contact.0, %queue, %reason, "contact left the queue");
                        self.left(c.owner, reason);
                    }
                }
                QueueEvent::AgentStateChanged {
                    agent,
                    status,
                    state,
                    reason,
                } => {
                    if state == queue::AgentState::Waiting {
                        if let Some(l) = &mut self.leases {
                            l.release(&agent.0);
                        }
                    }
                    tracing::info!(agent = %agent.0, ?status, ?state, ?reason, "agent state");
                    self.to_hub(crate::chats::ChatEvent::AgentState {
                        agent: agent.0,
                        status: crate::chats::status_name(status),
                        state: crate::chats::state_name(state),
                        reason: format!("{reason:?}"),
                    });
                }
                QueueEvent::Announce {
                    contact,
                    position,
                    estimated_wait,
                    ..
                } => match self.contacts.get(&contact).map(|c| c.owner.clone()) {
                    Some(Owner::Call { shard, call_key }) => self.tell(
                        shard,
                        ShardMsg::Announce {
                            call_key,
                            position,
                            estimated_wait,
                        },
                    ),
                    Some(Owner::Chat { chat }) => self.to_hub(crate::chats::ChatEvent::Position {
                        chat,
                        position,
                        estimated_wait,
                    }),
                    None => {}
                },
                QueueEvent::Finished { contact, agent, .. } => {
                    if let Some(c) = self.contacts.remove(&contact) {
                        if c.channel == Channel::Call {
                            let notice = crate::chats::CallNotice::Ended { call: c.reference };
                            self.to_hub(crate::chats::ChatEvent::Call {
                                agent: agent.0,
                                notice,
                            });
                        }
                    }
                }
                QueueEvent::Joined {
                    contact,
                    queue,
                    priority,
                    ..
                } => {
                    tracing::info!(contact = contact.0, %queue, priority, "caller joined the queue");
                }
                other => tracing::debug!(event = ?other, "queue"),
            }
        }
    }

    /// Rings the agent: tells the contact's owner (a call shard or the chat hub) about the offer.
    fn deliver(&self, contact: ContactId, offer: u64, agent: String) {
        match self.contacts.get(&contact).map(|c| c.owner.clone()) {
            Some(Owner::Call { shard, call_key }) => self.tell(
                shard,
                ShardMsg::Offer {
                    call_key,
                    offer,
                    agent,
                },
            ),
            Some(Owner::Chat { chat }) => {
                self.to_hub(crate::chats::ChatEvent::Offered { chat, offer, agent })
            }
            None => {}
        }
    }

    /// An agent claim came back: ring the agent, or decline the offer when another engine holds them.
    fn claimed(&mut self, now: Instant, offer: u64, agent: String, ok: bool) {
        let Some(leases) = &mut self.leases else {
            return;
        };
        let contact = leases.claiming.remove(&offer).map(|(_, c)| c);
        if ok {
            leases.held.insert(agent.clone());
        }
        let pending = self.offers.get(&offer).copied();
        match (ok, pending, contact) {
            (true, Some(_), Some(contact)) => self.deliver(contact, offer, agent),
            (false, Some(id), _) => {
                tracing::info!(%agent, offer, "agent is held by another engine: offer declined");
                self.offers.remove(&offer);
                let _ = self.acd.decline(now, id);
            }
            _ => {
                // The offer ended while the claim was on its way.
                let waiting = self
                    .acd
                    .agent(&AgentId(agent.clone()))
                    .is_ok_and(|(_, state)| state == queue::AgentState::Waiting);
                if waiting {
                    if let Some(l) = &mut self.leases {
                        l.release(&agent);
                    }
                }
            }
        }
    }

    fn index(&mut self, id: ContactId, owner: &Owner) {
        match owner {
            Owner::Call { call_key, .. } => {
                self.by_call.insert(*call_key, id);
            }
            Owner::Chat { chat } => {
                self.by_chat.insert(chat.clone(), id);
            }
        }
    }

    fn unindex(&mut self, owner: &Owner) {
        match owner {
            Owner::Call { call_key, .. } => {
                self.by_call.remove(call_key);
            }
            Owner::Chat { chat } => {
                self.by_chat.remove(chat);
            }
        }
    }

    /// Tells a contact's owner that it left its queue without an agent.
    fn left(&self, owner: Owner, reason: String) {
        match owner {
            Owner::Call { shard, call_key } => self.tell(shard, ShardMsg::Left { call_key, reason }),
            Owner::Chat { chat } => self.to_hub(crate::chats::ChatEvent::Left { chat, reason }),
        }
    }

    fn to_hub(&self, ev: crate::chats::ChatEvent) {
        if let Some(tx) = &self.chat_hub {
            if tx.try_send(ev).is_err() {
                tracing::warn!("the chat hub is not taking queue events");
            }
        }
    }

    fn tell(&self, shard: usize, msg: ShardMsg) {
        if let Some(tx) = self.shards.get(shard) {
            if tx.try_send(msg).is_err() {
                tracing::warn!("a call shard is not taking queue messages");
            }
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(t) => tokio::time::sleep_until(tokio::time::Instant::from_std(t)).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_overflow_must_name_another_configured_queue() {
        let mut support = QueueSettings::named("support");
        support.overflow = Some("nowhere".into());
        let err = spawn(
            &[support.clone(), QueueSettings::named("sales")],
            vec![],
            vec![],
            1,
            None,
            None,
        )
        .err()
        .expect("an unknown overflow queue is refused");
        assert!(err.to_string().contains("not another configured queue"), "{err}");
        support.overflow = Some("support".into());
        assert!(
            spawn(&[support.clone()], vec![], vec![], 1, None, None).is_err(),
            "not itself"
        );
        support.overflow = Some("sales".into());
        assert!(
            spawn(
                &[support, QueueSettings::named("sales")],
                vec![],
                vec![],
                1,
                None,
                None
            )
            .is_ok()
        );
    }
}
