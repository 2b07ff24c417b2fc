//! A call shard: one task that owns a transaction layer and every call whose Call-ID hashes to it.
//!
//! All protocol state of a call lives here, in one task, with no lock: the transport hands in parsed
//! messages, the media legs hand in their events, and the shard drives the sans-IO transaction layer and
//! call sessions, then routes what they output (bytes to the wire, commands to media legs, writes to the
//! call-record writer).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Instant, SystemTime};

use b2bua::{CallSession, IncomingCall, Output, Record, SessionConfig};
use media::MediaEvent;
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use sip_msg::{HeaderName, Message, Method, Request, StatusCode};
use sip_txn::{CancelMatch, Incoming, Transport, TxnEvent, TxnKey, TxnLayer};
use store::{CallFinal, CallWrite, NewCall};
use tokio::sync::{mpsc, oneshot};

use super::media_legs::MediaLegs;
use super::transport::{Inbound, Wire};
use crate::config::RecordFrom;
use crate::metrics::Metrics;
use crate::serve::unix_ms;
use crate::store_writer::RecordSink;

/// Control messages from the rest of the engine.
pub(crate) enum Control {
    /// End every call (BYE), then stop once they are finalized or the deadline passes.
    Shutdown {
        deadline: Instant,
        done: oneshot::Sender<()>,
    },
}

/// What each shard shares with the others.
pub(crate) struct ShardShared {
    pub(crate) session: Arc<SessionConfig>,
    pub(crate) flows: Arc<crate::flows::FlowRegistry>,
    pub(crate) io: crate::io::IoExecutor,
    pub(crate) routes: std::collections::BTreeMap<String, String>,
    pub(crate) wire: Wire,
    pub(crate) records: RecordSink,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) max_calls: usize,
    pub(crate) retry_after_secs: u32,
    pub(crate) node_id: String,
    pub(crate) acd: crate::acd::AcdHandle,
    pub(crate) agents: Arc<crate::agents::AgentDirectory>,
    pub(crate) shard_count: usize,
    /// Call recording, when on.
    pub(crate) recording: Option<crate::recordings::RecordingSettings>,
}

/// Media legs towards agents carry this bit in their event key; their events are not the caller's.
const AGENT_LEG: u64 = 1 << 47;
/// The offer id of an outbound call's ring to its own agent (no queue offered it).
const OUTBOUND_OFFER: u64 = u64::MAX;
/// How long an outbound call rings its own agent's phone before it is given up.
const OUTBOUND_AGENT_RING: std::time::Duration = std::time::Duration::from_secs(30);

struct CallEntry {
    session: CallSession,
    id: model::CallId,
    leg: Option<super::media_legs::Leg>,
    /// The media of the leg towards an agent, while one is offered or connected.
    agent_leg: Option<super::media_legs::Leg>,
    /// Call-IDs of agent legs this call placed (requests from agents' phones are routed by them).
    agent_call_ids: Vec<String>,
    /// The queue the call was handed to, if any.
    queue: Option<String>,
    /// Agents offered this call, by offer (the one who answers goes into the call record).
    offered: std::collections::BTreeMap<u64, String>,
    /// A recording was started on the caller's leg.
    recording: bool,
    /// The agent whose outbound call this is (told to the queue service when it ends).
    outbound_agent: Option<String>,
}

impl CallEntry {
    fn new(
        session: CallSession,
        id: model::CallId,
        leg: super::media_legs::Leg,
        queue: Option<String>,
    ) -> Self {
        Self {
            session,
            id,
            leg: Some(leg),
            agent_leg: None,
            agent_call_ids: Vec::new(),
            queue,
            offered: Default::default(),
            recording: false,
            outbound_agent: None,
        }
    }
}

pub(crate) struct Shard {
    shared: Arc<ShardShared>,
    txn: TxnLayer,
    rng: StdRng,
    next_key: u64,
    calls: HashMap<u64, CallEntry>,
    by_call_id: HashMap<String, u64>,
    by_txn: HashMap<TxnKey, u64>,
    timers: BinaryHeap<Reverse<(Instant, u64)>>,
    shard_index: u64,
    media: MediaLegs,
    io_results: mpsc::Sender<(u64, u64, b2bua::IoResult)>,
    /// Only on shard 0, which receives every REGISTER.
    registrar: Option<RegistrarState>,
}

/// SIP registration of agents' phones: digest auth, bans and bindings (on shard 0).
pub(crate) struct RegistrarState {
    registrar: sip_auth::Registrar,
    auth: sip_auth::Authenticator,
    bans: sip_auth::BanList,
    agents: Arc<crate::agents::AgentDirectory>,
}

impl RegistrarState {
    pub(crate) fn new(
        realm: &str,
        algorithms: Vec<sip_auth::digest::Algorithm>,
        agents: Arc<crate::agents::AgentDirectory>,
        rng: &mut impl rand::RngCore,
    ) -> Self {
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        let mut tag_key = [0u8; 32];
        rng.fill_bytes(&mut tag_key);
        Self {
            registrar: sip_auth::Registrar::new(sip_auth::RegistrarConfig::default(), tag_key),
            auth: sip_auth::Authenticator::new(
                sip_auth::AuthConfig {
                    algorithms,
                    ..sip_auth::AuthConfig::new(realm)
                },
                seed,
                Instant::now(),
            ),
            bans: sip_auth::BanList::new(sip_auth::BanConfig::default()),
            agents,
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        [self.registrar.poll_timeout(), self.bans.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.registrar.handle_timeout(now);
        self.bans.handle_timeout(now);
        self.after_change();
    }

    /// Logs what the registrar reported and refreshes the snapshot the API shows.
    fn after_change(&mut self) {
        while let Some(ev) = self.registrar.poll_event() {
            match ev {
                sip_auth::RegistrarEvent::Registered {
                    aor,
                    contact,
                    expires,
                } => {
                    tracing::info!(agent = %aor, contact = %model::Pii(contact), expires, "agent phone registered");
                }
                sip_auth::RegistrarEvent::Unregistered { aor, contact, reason } => {
                    tracing::info!(agent = %aor, contact = %model::Pii(contact), ?reason, "agent phone unregistered");
                }
                sip_auth::RegistrarEvent::AuthFailed { source, failure, .. } => {
                    tracing::warn!(source = %source, ?failure, "SIP authentication failed");
                }
                sip_auth::RegistrarEvent::SourceBanned { source, .. } => {
                    tracing::warn!(source = %source, "source banned after repeated authentication failures");
                }
                other => tracing::debug!(event = ?other, "registrar"),
            }
        }
        let mut snapshot = std::collections::BTreeMap::new();
        for aor in self.registrar.aors() {
            let list = self
                .registrar
                .bindings(aor)
                .map(|b| crate::agents::Registration {
                    contact: b.contact.uri.to_string(),
                    source: b.source.to_string(),
                    expires_at: b.expires_at,
                })
                .collect();
            snapshot.insert(aor.to_owned(), list);
        }
        self.agents.set_registrations(snapshot);
    }
}

impl Shard {
    pub(crate) fn new(
        shared: Arc<ShardShared>,
        txn: TxnLayer,
        shard_index: u64,
        seed: u64,
        media: MediaLegs,
        io_results: mpsc::Sender<(u64, u64, b2bua::IoResult)>,
        registrar: Option<RegistrarState>,
    ) -> Self {
        Self {
            shared,
            media,
            io_results,
            registrar,
            txn,
            rng: StdRng::seed_from_u64(seed),
            next_key: 0,
            calls: HashMap::new(),
            by_call_id: HashMap::new(),
            by_txn: HashMap::new(),
            timers: BinaryHeap::new(),
            shard_index,
        }
    }

    pub(crate) async fn run(
        mut self,
        mut inbound: mpsc::Receiver<Inbound>,
        mut media_events: mpsc::Receiver<(u64, MediaEvent)>,
        mut io_results: mpsc::Receiver<(u64, u64, b2bua::IoResult)>,
        mut acd_msgs: mpsc::Receiver<crate::acd::ShardMsg>,
        mut control: mpsc::Receiver<Control>,
    ) {
        let mut shutdown: Option<(Instant, oneshot::Sender<()>)> = None;
        loop {
            let deadline = self.next_deadline(shutdown.as_ref().map(|s| s.0));
            tokio::select! {
                biased;
                Some(ctl) = control.recv() => match ctl {
                    Control::Shutdown { deadline, done } => {
                        let now = Instant::now();
                        let keys: Vec<u64> = self.calls.keys().copied().collect();
                        for key in keys {
                            if let Some(c) = self.calls.get_mut(&key) {
                                c.session.shutdown(now);
                            }
                            self.drain_session(now, key);
                        }
                        shutdown = Some((deadline, done));
                    }
                },
                Some(msg) = acd_msgs.recv() => {
                    let now = Instant::now();
                    self.on_acd(now, msg);
                }
                Some((key, ev)) = media_events.recv() => {
                    let now = Instant::now();
                    if let MediaEvent::RecordingEnded { id, duration_ms, bytes, error } = ev {
                        self.recording_ended(&id, duration_ms, bytes, error);
                        continue;
                    }
                    if key & AGENT_LEG != 0 {
                        // The agent leg's own reports (its statistics when closed) are not the caller's.
                        continue;
                    }
                    if let Some(c) = self.calls.get_mut(&key) {
                        c.session.handle_media_event(now, ev);
                        self.drain_session(now, key);
                    }
                }
                Some((key, request_id, result)) = io_results.recv() => {
                    let now = Instant::now();
                    if let Some(c) = self.calls.get_mut(&key) {
                        c.session.handle_io_result(now, request_id, result);
                        self.drain_session(now, key);
                    }
                }
                Some(inb) = inbound.recv() => {
                    let now = Instant::now();
                    self.on_inbound(now, inb);
                }
                () = sleep_until(deadline) => {
                    let now = Instant::now();
                    self.on_timeout(now);
                }
            }
            self.flush(Instant::now());
            if let Some((deadline, _)) = &shutdown {
                if self.calls.is_empty() || Instant::now() >= *deadline {
                    // Calls still open here get finalized as interrupted at the next start.
                    if let Some((_, done)) = shutdown.take() {
                        let _ = done.send(());
                    }
                    return;
                }
            }
        }
    }

    fn next_deadline(&self, shutdown: Option<Instant>) -> Option<Instant> {
        let txn = self.txn.poll_timeout().map(|(t, _)| t);
        let call = self.timers.peek().map(|Reverse((t, _))| *t);
        let registrar = self.registrar.as_ref().and_then(RegistrarState::poll_timeout);
        [txn, call, shutdown, registrar].into_iter().flatten().min()
    }

    fn on_timeout(&mut self, now: Instant) {
        self.txn.handle_timeout(now);
        if let Some(reg) = &mut self.registrar {
            if reg.poll_timeout().is_some_and(|t| t <= now) {
                reg.handle_timeout(now);
            }
        }
        while let Some(Reverse((at, key))) = self.timers.peek().copied() {
            if at > now {
                break;
            }
            self.timers.pop();
            let due = self
                .calls
                .get(&key)
                .and_then(|c| c.session.poll_timeout())
                .is_some_and(|t| t <= now);
            if due {
                if let Some(c) = self.calls.get_mut(&key) {
                    c.session.handle_timeout(now);
                }
                self.drain_session(now, key);
            }
        }
        // Stale heap entries (calls that re-armed earlier or ended) are dropped as they surface; keep the
        // heap from growing without bound when many calls re-arm often.
        if self.timers.len() > 4 * self.calls.len() + 1024 {
            let mut fresh = BinaryHeap::with_capacity(self.calls.len());
            for (key, c) in &self.calls {
                if let Some(t) = c.session.poll_timeout() {
                    fresh.push(Reverse((t, *key)));
                }
            }
            self.timers = fresh;
        }
    }

    /// Sends what the transaction layer queued and routes its events.
    fn flush(&mut self, now: Instant) {
        loop {
            let mut progressed = false;
            while let Some(t) = self.txn.poll_transmit() {
                progressed = true;
                self.shared
                    .wire
                    .send(t.transport, t.destination, t.message.to_bytes());
            }
            while let Some(ev) = self.txn.poll_event() {
                progressed = true;
                match ev {
                    TxnEvent::AckTimeout { key } => {
                        if let Some(call) = self.by_txn.get(&key).copied() {
                            if let Some(c) = self.calls.get_mut(&call) {
                                c.session.handle_ack_timeout(now);
                            }
                            self.drain_session(now, call);
                        }
                    }
                    TxnEvent::Timeout { key } => {
                        if let Some(call) = self.by_txn.remove(&key) {
                            if let Some(c) = self.calls.get_mut(&call) {
                                c.session.handle_request_timeout(now);
                            }
                            self.drain_session(now, call);
                        }
                    }
                    TxnEvent::Terminated { key } => {
                        self.by_txn.remove(&key);
                    }
                    _ => {}
                }
            }
            if !progressed {
                break;
            }
        }
    }

    fn on_inbound(&mut self, now: Instant, inb: Inbound) {
        match inb.message {
            Message::Request(req) => match self.txn.handle_request(now, req, inb.source, inb.transport) {
                Incoming::NewRequest { key, request } => {
                    self.on_request(now, key, request, inb.source, inb.transport)
                }
                Incoming::AckFor2xx { invite_key, ack } => {
                    if let Some(call) = self.by_txn.get(&invite_key).copied() {
                        if let Some(c) = self.calls.get_mut(&call) {
                            c.session.handle_ack(now, &ack);
                        }
                        self.drain_session(now, call);
                    }
                }
                Incoming::Overloaded { request } => self.stateless(
                    &request,
                    StatusCode::SERVICE_UNAVAILABLE,
                    inb.source,
                    inb.transport,
                    true,
                ),
                Incoming::Invalid { request, error } => {
                    tracing::debug!(%error, "request refused by the transaction layer");
                    self.stateless(
                        &request,
                        StatusCode::BAD_REQUEST,
                        inb.source,
                        inb.transport,
                        false,
                    );
                }
                Incoming::Absorbed
                | Incoming::StrayAck(_)
                | Incoming::StrayResponse(_)
                | Incoming::Response { .. } => {}
            },
            Message::Response(resp) => {
                // Responses to our requests (BYE, REFER) go to their call; retransmissions are absorbed.
                if let Incoming::Response { key, response } = self.txn.handle_response(now, resp, inb.source)
                {
                    if let Some(call) = self.by_txn.get(&key).copied() {
                        if let Some(c) = self.calls.get_mut(&call) {
                            c.session.handle_response(now, &response);
                        }
                        self.drain_session(now, call);
                    }
                }
            }
        }
    }

    fn stateless(
        &mut self,
        req: &Request,
        status: StatusCode,
        dest: SocketAddr,
        transport: Transport,
        retry: bool,
    ) {
        if req.method == Method::Ack {
            return;
        }
        let mut resp = super::transport::stateless_response(req, status);
        if retry {
            Metrics::inc(&self.shared.metrics.sip_overload_503_total);
            resp.headers
                .push(HeaderName::RetryAfter, self.shared.retry_after_secs.to_string());
        }
        self.shared.wire.send(transport, dest, resp.to_bytes());
    }

    /// Answers a new server transaction with a final response from the shard itself.
    fn reply(
        &mut self,
        now: Instant,
        key: &TxnKey,
        req: &Request,
        status: StatusCode,
        extra: &[(HeaderName, String)],
    ) {
        let mut resp =
            sip_dialog::uas_response(req, status, &format!("{:x}", self.rng.random::<u64>()), None);
        resp.headers
            .set(HeaderName::Server, self.shared.session.server_name.clone());
        for (name, value) in extra {
            resp.headers.set(name.clone(), value.clone());
        }
        if let Err(e) = self.txn.respond(now, key, resp) {
            tracing::debug!(error = %e, "could not answer a request");
        }
    }

    fn on_request(
        &mut self,
        now: Instant,
        key: TxnKey,
        req: Request,
        source: SocketAddr,
        transport: Transport,
    ) {
        // RFC 3261 8.2.2.3: we implement no option tag a peer may require, so any Require gets 420
        // (CANCEL excepted: it must match its INVITE whatever it carries).
        if req.method != Method::Cancel {
            let required: Vec<&str> = req
                .headers
                .get_all(&HeaderName::Require)
                .flat_map(|v| v.split(','))
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .collect();
            if !required.is_empty() {
                let unsupported = required.join(", ");
                self.reply(
                    now,
                    &key,
                    &req,
                    StatusCode::BAD_EXTENSION,
                    &[(HeaderName::Unsupported, unsupported)],
                );
                return;
            }
        }
        if req.method == Method::Register {
            self.on_register(now, key, req, source);
            return;
        }
        let call_id = req.headers.call_id().unwrap_or("").to_owned();
        let existing = self.by_call_id.get(&call_id).copied();
        match (&req.method, existing) {
            (Method::Cancel, _) => {
                let target = match self.txn.cancel_match(&key) {
                    CancelMatch::Pending(invite) | CancelMatch::Answered(invite) => {
                        self.by_txn.get(&invite).copied()
                    }
                    CancelMatch::NoMatch => None,
                };
                match target {
                    Some(call) => {
                        if let Some(c) = self.calls.get_mut(&call) {
                            c.session.handle_cancel(now, key, &req);
                        }
                        self.drain_session(now, call);
                    }
                    None => self.reply(now, &key, &req, StatusCode::CALL_TRANSACTION_DOES_NOT_EXIST, &[]),
                }
            }
            (Method::Invite, None) if has_to_tag(&req) => {
                self.reply(now, &key, &req, StatusCode::CALL_TRANSACTION_DOES_NOT_EXIST, &[]);
            }
            (Method::Invite, None) => self.new_call(now, key, req, source, transport),
            (Method::Invite, Some(call)) if !has_to_tag(&req) => {
                // Same Call-ID, new INVITE without tag while the call exists: a merged request.
                let _ = call;
                self.reply(now, &key, &req, StatusCode::LOOP_DETECTED, &[]);
            }
            (_, Some(call)) => {
                if let Some(c) = self.calls.get_mut(&call) {
                    c.session.handle_request(now, key, req);
                }
                self.drain_session(now, call);
            }
            (Method::Options, None) => self.reply(
                now,
                &key,
                &req,
                StatusCode::OK,
                &[
                    (
                        HeaderName::Allow,
                        "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, UPDATE".into(),
                    ),
                    (HeaderName::Accept, "application/sdp".into()),
                ],
            ),
            (Method::Bye | Method::Info | Method::Update | Method::Prack | Method::Notify, None) => {
                self.reply(now, &key, &req, StatusCode::CALL_TRANSACTION_DOES_NOT_EXIST, &[]);
            }
            (_, None) => self.reply(
                now,
                &key,
                &req,
                StatusCode::METHOD_NOT_ALLOWED,
                &[(
                    HeaderName::Allow,
                    "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, UPDATE".into(),
                )],
            ),
        }
    }

    /// What the queue service says about one of this shard's calls.
    fn on_acd(&mut self, now: Instant, msg: crate::acd::ShardMsg) {
        use crate::acd::ShardMsg;
        match msg {
            ShardMsg::Offer {
                call_key,
                offer,
                agent,
            } => self.offer_agent(now, call_key, offer, agent),
            ShardMsg::Withdraw { call_key, offer } => {
                if let Some(c) = self.calls.get_mut(&call_key) {
                    c.session.withdraw_offer(now, offer);
                }
                self.drain_session(now, call_key);
            }
            ShardMsg::Left { call_key, reason } => {
                if let Some(c) = self.calls.get_mut(&call_key) {
                    c.session.handle_queue_left(now, &reason);
                }
                self.drain_session(now, call_key);
            }
            ShardMsg::Announce {
                call_key,
                position,
                estimated_wait,
            } => {
                if let Some(c) = self.calls.get_mut(&call_key) {
                    tracing::info!(call = %c.id, position, wait_s = estimated_wait.map(|d| d.as_secs()), "queue position announced");
                    c.session.announce_position(now, position, estimated_wait);
                }
                self.drain_session(now, call_key);
            }
            ShardMsg::Callback {
                call_key,
                callback_key,
                taken,
            } => {
                if let Some(c) = self.calls.get_mut(&call_key) {
                    if taken {
                        c.session.callback_accepted(now);
                    } else {
                        c.session.callback_refused(now);
                    }
                }
                self.drain_session(now, call_key);
                if !taken {
                    if let Some(c) = self.calls.get_mut(&callback_key) {
                        c.session.handle_queue_left(now, "callback_refused");
                    }
                    self.drain_session(now, callback_key);
                }
            }
            ShardMsg::Dial { agent, number, reply } => {
                let result = self.start_outbound(now, &agent, &number);
                if let Err(why) = &result {
                    tracing::info!(%agent, %why, "outbound call not placed");
                    let _ = self.shared.acd.send(crate::acd::AcdCmd::OutboundEnded { agent });
                }
                let _ = reply.send(result);
            }
            ShardMsg::Hold { call_key, on, reply } => {
                let done = self
                    .calls
                    .get_mut(&call_key)
                    .is_some_and(|c| c.session.hold(now, on));
                let _ = reply.send(done);
                self.drain_session(now, call_key);
            }
            ShardMsg::Moved { call_key, queue } => {
                let Some(c) = self.calls.get_mut(&call_key) else {
                    return;
                };
                tracing::info!(call = %c.id, %queue, "caller moved to the overflow queue");
                c.queue = Some(queue.clone());
                let id = c.id;
                self.shared.records.must(CallWrite::Queue { id, queue });
                self.maybe_record(call_key, RecordPoint::Queue);
            }
        }
    }

    /// Rings an agent's registered phone for a call: opens the agent leg's media and an INVITE whose Call-ID
    /// lands on this shard (so the agent's BYE finds the call).
    fn offer_agent(&mut self, now: Instant, call_key: u64, offer: u64, agent: String) {
        let fail = |this: &Self| {
            let event = b2bua::AgentEvent::Failed { offer, status: None };
            let _ = this
                .shared
                .acd
                .send(crate::acd::AcdCmd::Agent { call_key, event });
        };
        if !self.calls.contains_key(&call_key) {
            return fail(self);
        }
        let Some((contact, destination)) = self.shared.agents.binding(&agent) else {
            tracing::info!(agent = %agent, "offered agent has no registered phone");
            return fail(self);
        };
        let active = self.shared.flows.snapshot();
        let leg = match self.media.open(
            call_key | AGENT_LEG,
            self.rng.random(),
            active.prompts.clone(),
            active.music.clone(),
        ) {
            Ok(leg) => leg,
            Err(e) => {
                tracing::warn!(error = %e, "no media port for an agent leg");
                return fail(self);
            }
        };
        let call_id = self.local_call_id();
        let Some(c) = self.calls.get_mut(&call_key) else {
            return;
        };
        if c.offered.len() >= 64 {
            c.offered.pop_first();
        }
        c.offered.insert(offer, agent.clone());
        let target = b2bua::AgentTarget {
            offer,
            agent,
            contact,
            destination,
            media_port: leg.local_port(),
            call_id: call_id.clone(),
            interaction: c.id.to_string(),
        };
        c.agent_leg = Some(leg);
        c.agent_call_ids.push(call_id.clone());
        c.session.offer_agent(now, target);
        self.by_call_id.insert(call_id, call_key);
        self.drain_session(now, call_key);
    }

    /// Parks a callback for the waiting caller `call_key`: a session that holds their place in `queue` and,
    /// once an agent answers, calls `number` through the trunk. The queue service confirms the hand-over
    /// ([`crate::acd::ShardMsg::Callback`]). False when no callback can be made now (the caller waits on).
    fn start_callback(&mut self, now: Instant, call_key: u64, queue: String, number: String) -> bool {
        let Some(trunk) = self.shared.session.trunk.clone() else {
            return false;
        };
        let Some(c) = self.calls.get(&call_key) else {
            return false;
        };
        let (flow, of) = (c.session.flow(), c.id);
        let m = self.shared.metrics.clone();
        if m.calls_active.load(Ordering::Relaxed) >= self.shared.max_calls as i64 {
            tracing::warn!(call = %of, "callback refused: at the call limit");
            return false;
        }
        self.next_key += 1;
        let key = (self.shard_index << 48) | self.next_key;
        let active = self.shared.flows.snapshot();
        let leg = match self.media.open(
            key,
            self.rng.random(),
            active.prompts.clone(),
            active.music.clone(),
        ) {
            Ok(leg) => leg,
            Err(e) => {
                Metrics::inc(&m.rtp_ports_exhausted_total);
                tracing::warn!(error = %e, "callback refused: no media port");
                return false;
            }
        };
        let call_id = self.local_call_id();
        let wall = SystemTime::now();
        let call = b2bua::CallbackCall {
            number: number.clone(),
            target: None,
            label: "Callback".into(),
            queue: Some(queue.clone()),
            call_id: call_id.clone(),
            media_port: leg.local_port(),
            seed: self.rng.random(),
            flow: flow.clone(),
            wall_clock: jiff::Timestamp::try_from(wall).unwrap_or(jiff::Timestamp::UNIX_EPOCH),
            fields: [("callback_of".to_owned(), of.to_string())].into(),
            agent_ring_timeout: None,
        };
        let Some(session) = CallSession::callback(now, self.shared.session.clone(), call) else {
            return false;
        };
        let id = model::CallId::from_parts(u64::try_from(unix_ms(wall)).unwrap_or(0), self.rng.random());
        let record = NewCall {
            id,
            sip_call_id: call_id.clone(),
            from_uri: format!("sip:{number}@{}", trunk.domain),
            from_user: number,
            to_uri: "callback".into(),
            to_user: "callback".into(),
            source_addr: trunk.address.to_string(),
            node_id: self.shared.node_id.clone(),
            flow: Some(flow.name().to_owned()),
            flow_version: Some(flow.version().to_owned()),
            started_at_ms: unix_ms(wall),
        };
        if !self.shared.records.try_insert(CallWrite::Insert(record)) {
            tracing::warn!("callback refused: call-record writer saturated");
            return false;
        }
        let cmd = crate::acd::AcdCmd::Callback {
            shard: self.shard_index as usize,
            call_key,
            callback_key: key,
            reference: id.to_string(),
        };
        m.calls_active.fetch_add(1, Ordering::Relaxed);
        tracing::info!(call = %id, callback_of = %of, %queue, "callback parked");
        self.calls
            .insert(key, CallEntry::new(session, id, leg, Some(queue)));
        self.by_call_id.insert(call_id, key);
        if !self.shared.acd.send(cmd) {
            if let Some(c) = self.calls.get_mut(&key) {
                c.session.handle_queue_left(now, "unavailable");
            }
            self.drain_session(now, key);
            return false;
        }
        self.drain_session(now, key);
        true
    }

    /// Places `agent`'s outbound call to `number`: their phone rings first (showing the number as `Outbound
    /// call`), and once they answer the number is called, through the trunk, or, when it names an agent with a
    /// registered phone, on that phone. The reply is the call's id.
    fn start_outbound(&mut self, now: Instant, agent: &str, number: &str) -> Result<String, String> {
        if self.shared.agents.binding(agent).is_none() {
            return Err("the agent has no registered phone".into());
        }
        let target = self.shared.agents.binding(number);
        if target.is_none() && self.shared.session.trunk.is_none() {
            return Err("no trunk is configured for calls outside".into());
        }
        let m = self.shared.metrics.clone();
        if m.calls_active.load(Ordering::Relaxed) >= self.shared.max_calls as i64 {
            return Err("the engine is at its call limit".into());
        }
        let active = self.shared.flows.snapshot();
        let Some(flow) = active.flows.values().next().cloned() else {
            return Err("no flow is active".into());
        };
        self.next_key += 1;
        let key = (self.shard_index << 48) | self.next_key;
        let leg = self
            .media
            .open(
                key,
                self.rng.random(),
                active.prompts.clone(),
                active.music.clone(),
            )
            .map_err(|e| format!("no media port: {e}"))?;
        let call_id = self.local_call_id();
        let wall = SystemTime::now();
        let internal = target.is_some();
        let call = b2bua::CallbackCall {
            number: number.to_owned(),
            target,
            label: "Outbound call".into(),
            queue: None,
            call_id: call_id.clone(),
            media_port: leg.local_port(),
            seed: self.rng.random(),
            flow,
            wall_clock: jiff::Timestamp::try_from(wall).unwrap_or(jiff::Timestamp::UNIX_EPOCH),
            fields: [("outbound_by".to_owned(), agent.to_owned())].into(),
            agent_ring_timeout: Some(OUTBOUND_AGENT_RING),
        };
        let session = CallSession::callback(now, self.shared.session.clone(), call)
            .ok_or_else(|| "the number cannot be dialled".to_owned())?;
        let id = model::CallId::from_parts(u64::try_from(unix_ms(wall)).unwrap_or(0), self.rng.random());
        let record = NewCall {
            id,
            sip_call_id: call_id.clone(),
            from_uri: String::new(),
            from_user: number.to_owned(),
            to_uri: if internal { "agent".into() } else { "trunk".into() },
            to_user: "outbound".into(),
            source_addr: String::new(),
            node_id: self.shared.node_id.clone(),
            flow: None,
            flow_version: None,
            started_at_ms: unix_ms(wall),
        };
        if !self.shared.records.try_insert(CallWrite::Insert(record)) {
            return Err("the call-record writer is saturated".into());
        }
        m.calls_active.fetch_add(1, Ordering::Relaxed);
        tracing::info!(call = %id, %agent, "outbound call: ringing the agent first");
        let mut entry = CallEntry::new(session, id, leg, None);
        entry.outbound_agent = Some(agent.to_owned());
        self.calls.insert(key, entry);
        self.by_call_id.insert(call_id, key);
        self.offer_agent(now, key, OUTBOUND_OFFER, agent.to_owned());
        Ok(id.to_string())
    }

    /// A fresh Call-ID that the transport routes to this shard.
    fn local_call_id(&mut self) -> String {
        let n = self.shared.shard_count.max(1) as u64;
        loop {
            let id = format!("{:032x}@hotline", self.rng.random::<u128>());
            if super::transport::fnv1a(id.as_bytes()) % n == self.shard_index {
                return id;
            }
        }
    }

    fn on_register(&mut self, now: Instant, key: TxnKey, req: Request, source: SocketAddr) {
        let Some(reg) = &mut self.registrar else {
            // Only shard 0 registers; the transport routes every REGISTER there.
            self.reply(now, &key, &req, StatusCode::SERVICE_UNAVAILABLE, &[]);
            return;
        };
        let agents = reg.agents.clone();
        let lookup = |user: &str| agents.credentials(user);
        let answer = reg
            .registrar
            .handle_register(now, &req, source, &mut reg.auth, &mut reg.bans, &lookup);
        reg.after_change();
        match answer {
            Some(resp) => {
                if let Err(e) = self.txn.respond(now, &key, resp) {
                    tracing::warn!(error = %e, "REGISTER answer not sent");
                }
            }
            // A banned source gets no answer; drop its transaction at once.
            None => {
                let _ = self.txn.abandon(&key);
            }
        }
    }

    fn new_call(
        &mut self,
        now: Instant,
        key: TxnKey,
        req: Request,
        source: SocketAddr,
        transport: Transport,
    ) {
        let m = &self.shared.metrics;
        Metrics::inc(&m.calls_total);
        if m.calls_active.load(Ordering::Relaxed) >= self.shared.max_calls as i64 {
            Metrics::inc(&m.calls_rejected_total);
            Metrics::inc(&m.sip_overload_503_total);
            let retry = self.shared.retry_after_secs.to_string();
            self.reply(
                now,
                &key,
                &req,
                StatusCode::SERVICE_UNAVAILABLE,
                &[(HeaderName::RetryAfter, retry)],
            );
            return;
        }
        let dialed = req.uri.user().unwrap_or("").to_owned();
        let flow_name = crate::config::route(&self.shared.routes, &dialed).map(str::to_owned);
        let Some(flow_name) = flow_name else {
            Metrics::inc(&m.calls_rejected_total);
            self.reply(now, &key, &req, StatusCode::NOT_FOUND, &[]);
            return;
        };
        let active = self.shared.flows.snapshot();
        let Some(flow) = active.flows.get(&flow_name).cloned() else {
            Metrics::inc(&m.calls_rejected_total);
            tracing::warn!(flow = %flow_name, "call routed to a flow that is not active");
            self.reply(now, &key, &req, StatusCode::TEMPORARILY_UNAVAILABLE, &[]);
            return;
        };
        self.next_key += 1;
        let call_key = (self.shard_index << 48) | self.next_key;
        let leg = match self.media.open(
            call_key,
            self.rng.random(),
            active.prompts.clone(),
            active.music.clone(),
        ) {
            Ok(leg) => leg,
            Err(e) => {
                Metrics::inc(&m.calls_rejected_total);
                Metrics::inc(&m.rtp_ports_exhausted_total);
                tracing::warn!(error = %e, "no media port for a new call");
                let retry = self.shared.retry_after_secs.to_string();
                self.reply(
                    now,
                    &key,
                    &req,
                    StatusCode::SERVICE_UNAVAILABLE,
                    &[(HeaderName::RetryAfter, retry)],
                );
                return;
            }
        };
        let wall = SystemTime::now();
        let id = model::CallId::from_parts(u64::try_from(unix_ms(wall)).unwrap_or(0), self.rng.random());
        let from = req.headers.from().ok();
        let record = NewCall {
            id,
            sip_call_id: req.headers.call_id().unwrap_or("").to_owned(),
            from_uri: from.as_ref().map(|f| f.uri.to_string()).unwrap_or_default(),
            from_user: from
                .as_ref()
                .and_then(|f| f.uri.user().map(str::to_owned))
                .unwrap_or_default(),
            to_uri: req.uri.to_string(),
            to_user: dialed,
            source_addr: source.to_string(),
            node_id: self.shared.node_id.clone(),
            flow: Some(flow.name().to_owned()),
            flow_version: Some(flow.version().to_owned()),
            started_at_ms: unix_ms(wall),
        };
        if !self.shared.records.try_insert(CallWrite::Insert(record)) {
            Metrics::inc(&m.calls_rejected_total);
            tracing::warn!("call-record writer saturated: refusing a new call");
            let retry = self.shared.retry_after_secs.to_string();
            self.reply(
                now,
                &key,
                &req,
                StatusCode::SERVICE_UNAVAILABLE,
                &[(HeaderName::RetryAfter, retry)],
            );
            return;
        }
        tracing::info!(call = %id, from = %model::Pii(record_from(&req)), to = %req.uri, flow = %flow_name, "new call");
        m.calls_active.fetch_add(1, Ordering::Relaxed);
        let call_id = req.headers.call_id().unwrap_or("").to_owned();
        let incoming = IncomingCall {
            invite: req,
            key: key.clone(),
            source,
            transport,
            flow,
            media_port: leg.local_port(),
            seed: self.rng.random(),
            wall_clock: jiff::Timestamp::try_from(wall).unwrap_or(jiff::Timestamp::UNIX_EPOCH),
        };
        let session = CallSession::new(now, self.shared.session.clone(), incoming);
        self.calls
            .insert(call_key, CallEntry::new(session, id, leg, None));
        self.by_call_id.insert(call_id, call_key);
        self.by_txn.insert(key, call_key);
        self.drain_session(now, call_key);
    }

    /// Routes everything a session output, re-arms its timer, and removes it when it is done.
    fn drain_session(&mut self, now: Instant, call_key: u64) {
        let Some(c) = self.calls.get_mut(&call_key) else {
            return;
        };
        let id = c.id;
        let mut refused_queue = false;
        let mut refused_callback = false;
        let mut outbound_failed = false;
        let mut outputs = Vec::new();
        while let Some(out) = c.session.poll_output() {
            outputs.push(out);
        }
        for out in outputs {
            match out {
                Output::Respond { key, response } => {
                    // Remember the transaction for its ACK (INVITEs) and ACK timeout; the entry goes when
                    // the layer reports the transaction terminated.
                    self.by_txn.insert(key.clone(), call_key);
                    if let Err(e) = self.txn.respond(now, &key, response) {
                        tracing::debug!(call = %id, error = %e, "response not sent");
                    }
                }
                Output::Send {
                    request,
                    destination,
                    transport,
                } => match self.txn.send_request(now, request, destination, transport) {
                    Ok(key) => {
                        self.by_txn.insert(key, call_key);
                    }
                    Err(e) => tracing::warn!(call = %id, error = %e, "request not sent"),
                },
                Output::Media(cmd) => {
                    if let Some(leg) = self.calls.get(&call_key).and_then(|c| c.leg.as_ref()) {
                        leg.command(cmd);
                    }
                }
                Output::Record(rec) => {
                    match &rec {
                        Record::Answered { .. } => self.maybe_record(call_key, RecordPoint::Answer),
                        Record::Queue { queue } => {
                            if let Some(c) = self.calls.get_mut(&call_key) {
                                c.queue = Some(queue.clone());
                            }
                            self.maybe_record(call_key, RecordPoint::Queue);
                        }
                        _ => {}
                    }
                    self.record(id, rec, now);
                }
                Output::Io(request) => self.shared.io.start(call_key, request, self.io_results.clone()),
                Output::AgentMedia(cmd) => {
                    if let Some(c) = self.calls.get_mut(&call_key) {
                        let close = matches!(cmd, media::MediaCommand::Close);
                        if let Some(leg) = &c.agent_leg {
                            leg.command(cmd);
                        }
                        if close {
                            c.agent_leg = None;
                        }
                    }
                }
                Output::Bridge => {
                    if let Some(c) = self.calls.get(&call_key) {
                        if let (Some(a), Some(b)) = (&c.leg, &c.agent_leg) {
                            a.bridge(b);
                        }
                    }
                    self.maybe_record(call_key, RecordPoint::Bridge);
                }
                Output::Unbridge => {
                    if let Some(c) = self.calls.get(&call_key) {
                        if let (Some(a), Some(b)) = (&c.leg, &c.agent_leg) {
                            a.unbridge(b);
                        }
                    }
                }
                Output::Stateless {
                    message,
                    destination,
                    transport,
                } => {
                    self.txn.send_stateless(message, destination, transport);
                }
                Output::Agent(event) => {
                    tracing::info!(call = %id, ?event, "agent leg");
                    if matches!(
                        event,
                        b2bua::AgentEvent::Failed {
                            offer: OUTBOUND_OFFER,
                            ..
                        }
                    ) {
                        outbound_failed = true;
                    }
                    if let b2bua::AgentEvent::Answered { offer } = &event {
                        if let Some(agent) = self.calls.get(&call_key).and_then(|c| c.offered.get(offer)) {
                            let agent = agent.clone();
                            self.shared.records.must(CallWrite::Agent { id, agent });
                        }
                    }
                    if !self
                        .shared
                        .acd
                        .send(crate::acd::AcdCmd::Agent { call_key, event })
                    {
                        tracing::warn!(call = %id, "the queue service is not taking agent events");
                    }
                }
                Output::Queue(b2bua::QueueRequest::Join {
                    queue,
                    priority,
                    skills,
                    ..
                }) => {
                    let cmd = crate::acd::AcdCmd::Join {
                        shard: self.shard_index as usize,
                        call_key,
                        queue,
                        priority,
                        skills,
                        reference: id.to_string(),
                    };
                    if !self.shared.acd.send(cmd) {
                        refused_queue = true;
                    }
                }
                Output::Queue(b2bua::QueueRequest::Leave) => {
                    let _ = self.shared.acd.send(crate::acd::AcdCmd::Leave { call_key });
                }
                Output::Queue(b2bua::QueueRequest::Callback { queue, number }) => {
                    if !self.start_callback(now, call_key, queue, number) {
                        refused_callback = true;
                    }
                }
            }
        }
        let Some(c) = self.calls.get_mut(&call_key) else {
            return;
        };
        if refused_queue {
            // The queue service is saturated: the flow takes its "left" branch at once.
            c.session.handle_queue_left(now, "unavailable");
            self.drain_session(now, call_key);
            return;
        }
        if refused_callback {
            c.session.callback_refused(now);
        }
        if outbound_failed {
            // The agent did not take their own outbound call: there is nobody to ring it for.
            c.session.handle_queue_left(now, "the agent did not answer");
            self.drain_session(now, call_key);
            return;
        }
        if c.session.is_done() {
            if let Some(agent) = c.outbound_agent.take() {
                let _ = self.shared.acd.send(crate::acd::AcdCmd::OutboundEnded { agent });
            }
            let Some(c) = self.calls.get_mut(&call_key) else {
                return;
            };
            let sip_call_id = c.session.sip_call_id().to_owned();
            let agent_ids = std::mem::take(&mut c.agent_call_ids);
            self.calls.remove(&call_key);
            self.by_call_id.remove(&sip_call_id);
            for a in agent_ids {
                self.by_call_id.remove(&a);
            }
            // Its transactions' entries go as the layer reports them terminated.
            self.shared.metrics.calls_active.fetch_sub(1, Ordering::Relaxed);
            Metrics::inc(&self.shared.metrics.calls_ended_total);
        } else if let Some(t) = c.session.poll_timeout() {
            self.timers.push(Reverse((t, call_key)));
        }
    }

    /// Starts (or, entering a queue that is not recorded, stops) the caller leg's recording, as the
    /// `recording:` settings and the queue's `record` say.
    fn maybe_record(&mut self, call_key: u64, point: RecordPoint) {
        let Some(settings) = self.shared.recording.as_ref() else {
            return;
        };
        let Some(c) = self.calls.get_mut(&call_key) else {
            return;
        };
        let queue_ok = c.queue.as_deref().is_none_or(|q| settings.records_queue(q));
        let start = match (point, settings.from) {
            (RecordPoint::Answer, RecordFrom::Answer) => true,
            (RecordPoint::Bridge, RecordFrom::Bridge) => queue_ok,
            (RecordPoint::Queue, _) => {
                if c.recording && !queue_ok {
                    if let Some(leg) = &c.leg {
                        leg.command(media::MediaCommand::StopRecording);
                    }
                }
                false
            }
            _ => false,
        };
        if !start || c.recording {
            return;
        }
        let Some(leg) = &c.leg else { return };
        let now = SystemTime::now();
        let (rel, abs) = settings.path_for(&c.id, now);
        c.recording = true;
        self.shared.records.must(CallWrite::RecordingStarted {
            id: c.id,
            path: rel,
            at_ms: unix_ms(now),
        });
        leg.command(media::MediaCommand::StartRecording {
            id: c.id.to_string(),
            path: abs.to_string_lossy().into_owned(),
        });
        tracing::info!(call = %c.id, "recording started");
    }

    fn recording_ended(&self, id: &str, duration_ms: u64, bytes: u64, error: Option<String>) {
        let Ok(call) = id.parse::<model::CallId>() else {
            return;
        };
        match &error {
            None => tracing::info!(call = %call, duration_ms, "recording closed"),
            Some(e) => tracing::warn!(call = %call, error = %e, "recording failed"),
        }
        self.shared.records.must(CallWrite::RecordingEnded {
            id: call,
            end: store::RecordingEnd {
                ended_at_ms: unix_ms(SystemTime::now()),
                duration_ms: i64::try_from(duration_ms).unwrap_or(i64::MAX),
                bytes: i64::try_from(bytes).unwrap_or(i64::MAX),
                status: if error.is_some() { "failed" } else { "complete" },
            },
        });
    }

    fn record(&self, id: model::CallId, rec: Record, now: Instant) {
        let wall_ms = |at: Instant| {
            unix_ms(SystemTime::now())
                - i64::try_from(now.saturating_duration_since(at).as_millis()).unwrap_or(0)
        };
        match rec {
            Record::Answered { at } => {
                Metrics::inc(&self.shared.metrics.calls_answered_total);
                self.shared.records.must(CallWrite::Answered {
                    id,
                    at_ms: wall_ms(at),
                });
            }
            Record::Progress { keypresses, trail } => {
                self.shared.records.progress(CallWrite::Progress {
                    id,
                    keypresses,
                    trail,
                });
            }
            Record::Verification {
                verified,
                method,
                attempts,
                customer_id,
            } => {
                tracing::info!(call = %id, verified, method = %method, attempts, "identity verification");
                self.shared.records.must(CallWrite::Verification {
                    id,
                    verified,
                    method,
                    attempts,
                    customer_id,
                });
            }
            Record::Queue { queue } => {
                tracing::info!(call = %id, queue = %queue, "call handed to a queue");
                self.shared.records.must(CallWrite::Queue { id, queue });
            }
            Record::Final {
                at,
                reason,
                keypresses,
                trail,
                media,
                fields,
            } => {
                tracing::info!(call = %id, %reason, keypresses = keypresses.len(), "call ended");
                self.shared
                    .metrics
                    .dtmf_digits_total
                    .fetch_add(keypresses.len() as u64, Ordering::Relaxed);
                if let Some(b) = media.as_ref().and_then(|m| m.receive_buffer.as_ref()) {
                    self.shared.metrics.add_receive_buffer(b);
                }
                let media_stats = media.and_then(|s| serde_json::to_value(s).ok());
                self.shared.records.must(CallWrite::Final(CallFinal {
                    id,
                    ended_at_ms: wall_ms(at),
                    end_reason: reason,
                    hangup_by: reason.hangup_by(),
                    keypresses,
                    trail,
                    media_stats,
                    fields,
                }));
            }
        }
    }
}

fn has_to_tag(req: &Request) -> bool {
    req.headers.to().map(|t| t.tag().is_some()).unwrap_or(false)
}

fn record_from(req: &Request) -> String {
    req.headers
        .from()
        .ok()
        .and_then(|f| f.uri.user().map(str::to_owned))
        .unwrap_or_default()
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(t) => tokio::time::sleep_until(tokio::time::Instant::from_std(t)).await,
        None => std::future::pending().await,
    }
}

/// Where in a call a recording may start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RecordPoint {
    Answer,
    Queue,
    Bridge,
}
