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
    Stats {
        reply: oneshot::Sender<serde_json::Value>,
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
}

/// Sends commands to the ACD task.
#[derive(Clone)]
pub(crate) struct AcdHandle {
    tx: mpsc::Sender<AcdCmd>,
}

impl AcdHandle {
    /// Queues a command without waiting; false when the ACD is saturated or gone.
    pub(crate) fn send(&self, cmd: AcdCmd) -> bool {
        self.tx.try_send(cmd).is_ok()
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
    /// Record calls answered from this queue (default on; see `recording:` for the folder).
    #[serde(default = "yes")]
    pub(crate) record: bool,
}

fn yes() -> bool {
    true
}

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
            record: true,
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
        Ok(q)
    }
}

/// Most times one caller is moved on by overflow before it leaves instead (A → B → A … is allowed, but
/// not forever).
pub(crate) const MAX_OVERFLOW_HOPS: u8 = 4;

struct Contact {
    shard: usize,
    call_key: u64,
    /// What it joined with, to carry over into an overflow queue.
    priority: u8,
    skills: Vec<queue::Skill>,
    reference: String,
    hops: u8,
}

struct Service {
    acd: Acd,
    shards: Vec<mpsc::Sender<ShardMsg>>,
    contacts: BTreeMap<ContactId, Contact>,
    by_call: BTreeMap<u64, ContactId>,
    offers: BTreeMap<u64, OfferId>,
    known_agents: std::collections::BTreeSet<String>,
    queue_names: Vec<String>,
}

/// Starts the ACD task with its queues and agents.
pub(crate) fn spawn(
    queues: &[QueueSettings],
    agents: Vec<store::Agent>,
    shards: Vec<mpsc::Sender<ShardMsg>>,
    seed: u64,
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
    let mut service = Service {
        acd,
        shards,
        contacts: BTreeMap::new(),
        by_call: BTreeMap::new(),
        offers: BTreeMap::new(),
        known_agents: Default::default(),
        queue_names: queues.iter().map(|q| q.name.clone()).collect(),
    };
    service.add_agents(agents);
    let (tx, rx) = mpsc::channel(ACD_QUEUE);
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
            match self.acd.add_agent(cfg) {
                Ok(()) => {
                    self.known_agents.insert(a.id);
                }
                Err(e) => tracing::warn!(agent = %a.id, error = %e, "agent not added to the queues"),
            }
        }
    }

    async fn run(mut self, mut rx: mpsc::Receiver<AcdCmd>) {
        loop {
            let deadline = self.acd.poll_timeout();
            tokio::select! {
                cmd = rx.recv() => match cmd {
                    Some(cmd) => self.on_command(Instant::now(), cmd),
                    None => return,
                },
                () = sleep_until(deadline) => self.acd.handle_timeout(Instant::now()),
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
                    shard,
                    call_key,
                    priority: priority.min(9),
                    skills: skills
                        .into_iter()
                        .map(|(name, level)| queue::Skill { name, level })
                        .collect(),
                    reference,
                    hops: 0,
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
                        self.contacts.remove(&contact);
                        let _ = self.acd.finish(now, contact);
                    }
                }
            },
            AcdCmd::SetStatus { agent, status, reply } => {
                let result = self
                    .acd
                    .set_status(now, &AgentId(agent), status)
                    .map_err(|e| e.to_string());
                let _ = reply.send(result);
            }
            AcdCmd::Agents(agents) => self.add_agents(agents),
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

    /// Enqueues a caller, following the queue's overflow when it is full (at most [`MAX_OVERFLOW_HOPS`]).
    fn join(&mut self, now: Instant, queue: &str, mut contact: Contact) -> Result<(), queue::QueueError> {
        let mut target = queue.to_owned();
        loop {
            let mut c = NewContact::new(&target, Channel::Call);
            c.priority = contact.priority;
            c.skills = contact.skills.clone();
            c.reference = contact.reference.clone();
            match self.acd.enqueue(now, c) {
                Ok(id) => {
                    if contact.hops > 0 {
                        // An overflowed caller: the shard records where it waits now.
                        self.tell(
                            contact.shard,
                            ShardMsg::Moved {
                                call_key: contact.call_key,
                                queue: target,
                            },
                        );
                    }
                    self.by_call.insert(contact.call_key, id);
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
            match ev {
                QueueEvent::Offered {
                    offer,
                    contact,
                    agent,
                    ..
                } => {
                    let Some(c) = self.contacts.get(&contact) else {
                        continue;
                    };
                    self.offers.insert(offer.0, offer);
                    let (shard, call_key) = (c.shard, c.call_key);
                    self.tell(
                        shard,
                        ShardMsg::Offer {
                            call_key,
                            offer: offer.0,
                            agent: agent.0,
                        },
                    );
                }
                QueueEvent::OfferEnded {
                    offer,
                    contact,
                    reason,
                    ..
                } => {
                    tracing::debug!(offer = offer.0, ?reason, "offer ended");
                    let answered = matches!(reason, queue::OfferEndReason::AnsweredElsewhere);
                    if self.offers.remove(&offer.0).is_some() && !answered {
                        if let Some(c) = self.contacts.get(&contact) {
                            let (shard, call_key) = (c.shard, c.call_key);
                            self.tell(
                                shard,
                                ShardMsg::Withdraw {
                                    call_key,
                                    offer: offer.0,
                                },
                            );
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
                    tracing::info!(contact = contact.0, agent = %agent.0, %queue, wait_ms = wait.as_millis() as u64, "caller connected to an agent");
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
                        self.by_call.remove(&c.call_key);
                        c.hops += 1;
                        tracing::info!(contact = contact.0, from = %queue, to = %target, "max wait: caller overflows");
                        let (shard, call_key) = (c.shard, c.call_key);
                        if let Err(e) = self.join(Instant::now(), &target, c) {
                            tracing::info!(queue = %target, error = %e, "overflow queue refused the caller");
                            self.tell(
                                shard,
                                ShardMsg::Left {
                                    call_key,
                                    reason: "overflow".into(),
                                },
                            );
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
                        self.by_call.remove(&c.call_key);
                        let reason = format!("{reason:?}").to_ascii_lowercase();
                        tracing::info!(contact = contact.0, %queue, %reason, "caller left the queue");
                        self.tell(
                            c.shard,
                            ShardMsg::Left {
                                call_key: c.call_key,
                                reason,
                            },
                        );
                    }
                }
                QueueEvent::AgentStateChanged {
                    agent,
                    status,
                    state,
                    reason,
                } => {
                    tracing::info!(agent = %agent.0, ?status, ?state, ?reason, "agent state");
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
        )
        .err()
        .expect("an unknown overflow queue is refused");
        assert!(err.to_string().contains("not another configured queue"), "{err}");
        support.overflow = Some("support".into());
        assert!(
            spawn(&[support.clone()], vec![], vec![], 1).is_err(),
            "not itself"
        );
        support.overflow = Some("sales".into());
        assert!(spawn(&[support, QueueSettings::named("sales")], vec![], vec![], 1).is_ok());
    }
}
