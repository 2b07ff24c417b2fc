//! [`TxnLayer`]: the endpoint demux that owns every transaction of one shard.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::fmt;
use std::net::SocketAddr;
use std::time::Instant;

use sip_msg::{Message, Method, Request, Response};

use crate::error::TxnError;
use crate::fsm::{
    AckOutcome, Disposition, Effects, InviteClient, InviteClientState, InviteServer, InviteServerState,
    NonInviteClient, NonInviteClientState, NonInviteServer, NonInviteServerState, Notice, TimerOp,
};
use crate::key::{Role, TxnKey};
use crate::timer::{Timer, TimerConfig, TimerTable};
use crate::wire;

/// The transport a transaction runs over. Reliable transports (TCP, and TLS/WS carried as TCP) do not
/// retransmit, and Timers D, I, J and K are zero on them (RFC 3261 17).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transport {
    /// Unreliable: the transaction layer retransmits.
    Udp,
    /// Reliable: no retransmissions, no absorb timers.
    Tcp,
}

impl Transport {
    /// Whether the transport delivers reliably.
    #[must_use]
    pub fn is_reliable(self) -> bool {
        matches!(self, Self::Tcp)
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Udp => "UDP",
            Self::Tcp => "TCP",
        })
    }
}

/// A message the layer wants sent. The server layer serializes it (`to_bytes`) and writes it.
#[derive(Debug, Clone)]
pub struct Transmit {
    /// Which transport to use.
    pub transport: Transport,
    /// Where to: the request's destination for client transactions, the request's source address for
    /// server transactions (symmetric response routing, as with RFC 3581 `rport`).
    pub destination: SocketAddr,
    /// The message.
    pub message: Message,
}

/// Configuration of a [`TxnLayer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxnConfig {
    /// RFC 3261 timer values.
    pub timers: TimerConfig,
    /// Live transactions (client and server) above which a new incoming request is refused with
    /// [`Incoming::Overloaded`]. Default 65 536 per shard. Outgoing requests are never refused: the TU is
    /// local and must be able to send BYE and CANCEL under load.
    pub max_transactions: usize,
    /// Send `100 Trying` as soon as an INVITE server transaction is created (RFC 3261 17.2.1 allows up to
    /// 200 ms; we never wait). Default `true`.
    pub send_trying: bool,
}

impl Default for TxnConfig {
    fn default() -> Self {
        Self {
            timers: TimerConfig::default(),
            max_transactions: 65_536,
            send_trying: true,
        }
    }
}

/// What the layer made of a message from the wire.
#[derive(Debug, Clone)]
#[must_use]
pub enum Incoming {
    /// A new server transaction the TU must answer with [`TxnLayer::respond`] (INVITE, BYE, OPTIONS, INFO,
    /// CANCEL, REGISTER, ...). For a CANCEL, see [`TxnLayer::cancel_target`].
    NewRequest {
        /// The new transaction.
        key: TxnKey,
        /// The request.
        request: Request,
    },
    /// A retransmission the transaction handled (its last response, if any, is queued again), or an ACK
    /// for a non-2xx (or a repeated ACK for a 2xx) that needs nothing from the TU.
    Absorbed,
    /// The first ACK for a 2xx we sent: the INVITE server transaction stops retransmitting the 2xx. The ACK
    /// may carry the SDP answer of a late offer.
    AckFor2xx {
        /// The INVITE server transaction that sent the 2xx.
        invite_key: TxnKey,
        /// The ACK.
        ack: Request,
    },
    /// An ACK that matches no transaction (for example after Timer L ended the Accepted state).
    StrayAck(Request),
    /// A response that matched a client transaction and goes to the TU: a provisional, a final, or (in
    /// Accepted, RFC 6026) a 2xx retransmission or fork that the TU must ACK again.
    Response {
        /// The client transaction.
        key: TxnKey,
        /// The response.
        response: Response,
    },
    /// A response that matches no client transaction. A 2xx to INVITE that arrives after Timer M may still
    /// deserve an ACK from the dialog layer; anything else is dropped.
    StrayResponse(Response),
    /// A new request refused because [`TxnConfig::max_transactions`] transactions are live: answer `503
    /// Service Unavailable` statelessly (for example with a `Retry-After`). No transaction was created.
    Overloaded {
        /// The refused request.
        request: Request,
    },
    /// A request the layer cannot match (no Via, no CSeq, CSeq method mismatch, ...): answer `400` if it can
    /// be answered at all, else drop it.
    Invalid {
        /// The request.
        request: Request,
        /// What is wrong with it.
        error: TxnError,
    },
}

/// Something that happened inside the layer without a message arriving (drained with
/// [`TxnLayer::poll_event`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TxnEvent {
    /// Timer B or F fired on a client transaction (the TU acts as if it received a `408 Request Timeout`,
    /// RFC 3261 8.1.3.1), or Timer H fired on an INVITE server transaction (no ACK for our non-2xx).
    Timeout {
        /// The transaction.
        key: TxnKey,
    },
    /// Timer L fired on an INVITE server transaction whose 2xx was never ACKed: the TU should send BYE
    /// (RFC 3261 13.3.1.4).
    AckTimeout {
        /// The INVITE server transaction.
        key: TxnKey,
    },
    /// The transaction reached Terminated and was removed.
    Terminated {
        /// The transaction.
        key: TxnKey,
    },
}

/// What a received CANCEL matches ([`TxnLayer::cancel_match`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CancelMatch {
    /// The INVITE server transaction is in Proceeding: answer the CANCEL `200` and the INVITE `487`.
    Pending(TxnKey),
    /// The INVITE already got its final response: answer the CANCEL `200`; the INVITE is unaffected.
    Answered(TxnKey),
    /// No INVITE server transaction matches: answer the CANCEL `481`.
    NoMatch,
}

/// The state of one live transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TxnState {
    /// An INVITE client transaction.
    InviteClient(InviteClientState),
    /// A non-INVITE client transaction.
    NonInviteClient(NonInviteClientState),
    /// An INVITE server transaction.
    InviteServer(InviteServerState),
    /// A non-INVITE server transaction.
    NonInviteServer(NonInviteServerState),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct TxnId(u64);

#[derive(Debug, Clone)]
enum Machine {
    // Boxed: the client machines hold whole requests, and a map entry should stay small.
    InviteClient(Box<InviteClient>),
    NonInviteClient(Box<NonInviteClient>),
    InviteServer(Box<InviteServer>),
    NonInviteServer(Box<NonInviteServer>),
}

impl Machine {
    fn state(&self) -> TxnState {
        match self {
            Self::InviteClient(m) => TxnState::InviteClient(m.state()),
            Self::NonInviteClient(m) => TxnState::NonInviteClient(m.state()),
            Self::InviteServer(m) => TxnState::InviteServer(m.state()),
            Self::NonInviteServer(m) => TxnState::NonInviteServer(m.state()),
        }
    }

    fn on_timer(&mut self, timer: Timer, fx: &mut Effects) {
        match self {
            Self::InviteClient(m) => m.on_timer(timer, fx),
            Self::NonInviteClient(m) => m.on_timer(timer, fx),
            Self::InviteServer(m) => m.on_timer(timer, fx),
            Self::NonInviteServer(m) => m.on_timer(timer, fx),
        }
    }
}

#[derive(Debug, Clone)]
struct Entry {
    key: TxnKey,
    machine: Machine,
    timers: TimerTable,
    peer: SocketAddr,
    transport: Transport,
    /// For INVITE server transactions: how an ACK for our 2xx (a new transaction) finds us.
    ack_match: Option<wire::AckMatch>,
}

/// The transaction layer of one shard: it creates, matches, times and removes the transactions of RFC
/// 3261 §17, and is driven quinn-proto style.
///
/// **Drain contract.** After every `handle_*`, [`TxnLayer::respond`], [`TxnLayer::send_request`] or
/// [`TxnLayer::send_stateless`] call, drain [`TxnLayer::poll_transmit`] and [`TxnLayer::poll_event`], then
/// re-read [`TxnLayer::poll_timeout`] and call [`TxnLayer::handle_timeout`] when that instant is reached.
/// The layer never reads a clock: every deadline is derived from the `now` it is given.
#[derive(Debug)]
pub struct TxnLayer {
    config: TxnConfig,
    next_id: u64,
    by_key: HashMap<TxnKey, TxnId>,
    entries: HashMap<TxnId, Entry>,
    /// Every armed deadline, ordered, so the earliest is found in O(log n).
    deadlines: BTreeSet<(Instant, TxnId, Timer)>,
    /// INVITE server transactions in Accepted, by (Call-ID, CSeq number, From tag).
    accepted: HashMap<wire::AckMatch, TxnId>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<TxnEvent>,
}

impl TxnLayer {
    /// A layer with no transactions.
    #[must_use]
    pub fn new(config: TxnConfig) -> Self {
        Self {
            config: TxnConfig {
                timers: config.timers.sanitized(),
                ..config
            },
            next_id: 0,
            by_key: HashMap::new(),
            entries: HashMap::new(),
            deadlines: BTreeSet::new(),
            accepted: HashMap::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// The configuration in force ([`TimerConfig::sanitized`]).
    #[must_use]
    pub fn config(&self) -> &TxnConfig {
        &self.config
    }

    /// A request arrived from the wire.
    pub fn handle_request(
        &mut self,
        now: Instant,
        request: Request,
        source: SocketAddr,
        transport: Transport,
    ) -> Incoming {
        let key = match TxnKey::for_server_request(&request) {
            Ok(key) => key,
            Err(error) => return Incoming::Invalid { request, error },
        };
        if request.method == Method::Ack {
            return self.handle_ack(now, key, request);
        }
        if let Some(&id) = self.by_key.get(&key) {
            let mut fx = Effects::default();
            if let Some(entry) = self.entries.get_mut(&id) {
                match &mut entry.machine {
                    Machine::InviteServer(m) => m.on_retransmission(&mut fx),
                    Machine::NonInviteServer(m) => m.on_retransmission(&mut fx),
                    // Server keys never map to client machines.
                    Machine::InviteClient(_) | Machine::NonInviteClient(_) => {}
                }
            }
            self.apply(now, id, fx);
            return Incoming::Absorbed;
        }
        if self.entries.len() >= self.config.max_transactions {
            return Incoming::Overloaded { request };
        }
        let reliable = transport.is_reliable();
        let timers = self.config.timers;
        let mut fx = Effects::default();
        let (machine, ack_match) = if request.method == Method::Invite {
            let trying = self.config.send_trying.then(|| wire::trying(&request));
            let ack_match = wire::AckMatch::of(&request).ok();
            (
                Machine::InviteServer(Box::new(InviteServer::start(trying, reliable, timers, &mut fx))),
                ack_match,
            )
        } else {
            (
                Machine::NonInviteServer(Box::new(NonInviteServer::start(reliable, timers))),
                None,
            )
        };
        let id = self.insert(key.clone(), machine, source, transport, ack_match);
        self.apply(now, id, fx);
        Incoming::NewRequest { key, request }
    }

    fn handle_ack(&mut self, now: Instant, invite_key: TxnKey, ack: Request) -> Incoming {
        // ACK for a non-2xx carries the INVITE's branch; an ACK for a 2xx is a new transaction that only
        // the dialog identifies (Call-ID, CSeq number, From tag).
        let id = match self.by_key.get(&invite_key) {
            Some(&id) => Some(id),
            None => wire::AckMatch::of(&ack)
                .ok()
                .and_then(|m| self.accepted.get(&m).copied()),
        };
        let Some(id) = id else {
            return Incoming::StrayAck(ack);
        };
        let mut fx = Effects::default();
        let (outcome, key) = match self.entries.get_mut(&id) {
            Some(Entry {
                machine: Machine::InviteServer(m),
                key,
                ..
            }) => (m.on_ack(&mut fx), key.clone()),
            _ => return Incoming::StrayAck(ack),
        };
        self.apply(now, id, fx);
        match outcome {
            AckOutcome::Absorbed => Incoming::Absorbed,
            AckOutcome::AckFor2xx => Incoming::AckFor2xx { invite_key: key, ack },
            AckOutcome::Stray => Incoming::StrayAck(ack),
        }
    }

    /// A response arrived from the wire. `source` is not used for matching (RFC 3261 17.1.3 matches on
    /// Via branch, sent-by and CSeq method only).
    pub fn handle_response(&mut self, now: Instant, response: Response, source: SocketAddr) -> Incoming {
        let _ = source;
        let Ok(key) = TxnKey::for_response(&response) else {
            return Incoming::StrayResponse(response);
        };
        let Some(&id) = self.by_key.get(&key) else {
            return Incoming::StrayResponse(response);
        };
        let mut fx = Effects::default();
        let disposition = match self.entries.get_mut(&id).map(|e| &mut e.machine) {
            Some(Machine::InviteClient(m)) => m.on_response(&response, &mut fx),
            Some(Machine::NonInviteClient(m)) => m.on_response(&response, &mut fx),
            _ => return Incoming::StrayResponse(response),
        };
        self.apply(now, id, fx);
        match disposition {
            Disposition::Forward => Incoming::Response { key, response },
            Disposition::Absorb => Incoming::Absorbed,
        }
    }

    /// The TU answers a server transaction (provisional or final).
    ///
    /// A 2xx to INVITE moves the transaction to Accepted (RFC 6026): the layer retransmits the 2xx on
    /// Timer G's schedule over UDP (RFC 3261 13.3.1.4) until an ACK matches it (by branch, or by Call-ID,
    /// CSeq number and From tag), and reports [`TxnEvent::AckTimeout`] if Timer L (64·T1) fires first.
    pub fn respond(&mut self, now: Instant, key: &TxnKey, response: Response) -> Result<(), TxnError> {
        let status = response.status;
        if !(100..=699).contains(&status.0) {
            return Err(TxnError::InvalidStatus(status));
        }
        let id = *self
            .by_key
            .get(key)
            .ok_or_else(|| TxnError::UnknownTransaction(key.clone()))?;
        let entry = self
            .entries
            .get_mut(&id)
            .ok_or_else(|| TxnError::UnknownTransaction(key.clone()))?;
        let state = entry.machine.state();
        let mut fx = Effects::default();
        let accepted = match &mut entry.machine {
            Machine::InviteServer(m) => {
                m.respond(response, &mut fx)
                    .map_err(|()| TxnError::InvalidState {
                        key: key.clone(),
                        state,
                        status,
                    })?;
                m.state() == InviteServerState::Accepted
            }
            Machine::NonInviteServer(m) => {
                m.respond(response, &mut fx)
                    .map_err(|()| TxnError::InvalidState {
                        key: key.clone(),
                        state,
                        status,
                    })?;
                false
            }
            Machine::InviteClient(_) | Machine::NonInviteClient(_) => {
                return Err(TxnError::WrongRole {
                    key: key.clone(),
                    role: Role::Client,
                });
            }
        };
        if accepted {
            if let Some(m) = entry.ack_match.clone() {
                self.accepted.insert(m, id);
            }
        }
        self.apply(now, id, fx);
        Ok(())
    }

    /// Starts a client transaction for a request the TU built (with a top Via carrying a fresh RFC 3261
    /// branch). The layer sends it, retransmits it (Timers A/E over UDP), times it out (Timers B/F →
    /// [`TxnEvent::Timeout`]), absorbs retransmitted responses, and ACKs non-2xx final responses to INVITE
    /// itself (RFC 3261 17.1.1.3). Sending a CANCEL bounds the wait of the INVITE it cancels (RFC 3261
    /// 9.1).
    pub fn send_request(
        &mut self,
        now: Instant,
        request: Request,
        destination: SocketAddr,
        transport: Transport,
    ) -> Result<TxnKey, TxnError> {
        if request.method == Method::Ack {
            return Err(TxnError::AckIsNotATransaction);
        }
        let key = TxnKey::for_client_request(&request)?;
        if self.by_key.contains_key(&key) {
            return Err(TxnError::DuplicateTransaction(key));
        }
        if request.method == Method::Cancel {
            let invite = key.with_method(Method::Invite);
            if let Some(&invite_id) = self.by_key.get(&invite) {
                let mut fx = Effects::default();
                if let Some(Entry {
                    machine: Machine::InviteClient(m),
                    ..
                }) = self.entries.get_mut(&invite_id)
                {
                    m.on_cancel_sent(&mut fx);
                }
                self.apply(now, invite_id, fx);
            }
        }
        let reliable = transport.is_reliable();
        let timers = self.config.timers;
        let mut fx = Effects::default();
        let machine = if request.method == Method::Invite {
            Machine::InviteClient(Box::new(InviteClient::start(request, reliable, timers, &mut fx)))
        } else {
            Machine::NonInviteClient(Box::new(NonInviteClient::start(
                request, reliable, timers, &mut fx,
            )))
        };
        let id = self.insert(key.clone(), machine, destination, transport, None);
        self.apply(now, id, fx);
        Ok(key)
    }

    /// Queues a message outside any transaction: an ACK for a 2xx (its own transaction-less request, RFC
    /// 3261 13.2.2.4), or a stateless `503`/`400` for [`Incoming::Overloaded`]/[`Incoming::Invalid`].
    pub fn send_stateless(&mut self, message: Message, destination: SocketAddr, transport: Transport) {
        self.transmits.push_back(Transmit {
            transport,
            destination,
            message,
        });
    }

    /// Removes a transaction at once, as if it had reached Terminated (for a TU that gives up, for example
    /// on a transport error). Emits [`TxnEvent::Terminated`].
    pub fn abandon(&mut self, key: &TxnKey) -> Result<(), TxnError> {
        let id = *self
            .by_key
            .get(key)
            .ok_or_else(|| TxnError::UnknownTransaction(key.clone()))?;
        self.remove(id);
        Ok(())
    }

    /// For a CANCEL server transaction: the INVITE server transaction it cancels (same branch and sent-by,
    /// RFC 3261 9.2), if that INVITE is still in Proceeding. The TU then answers the CANCEL `200` and the
    /// INVITE `487`. With `None`, see [`TxnLayer::cancel_match`] to tell "no such INVITE" (answer `481`)
    /// from "already answered" (answer `200`, nothing else happens).
    #[must_use]
    pub fn cancel_target(&self, cancel_key: &TxnKey) -> Option<TxnKey> {
        match self.cancel_match(cancel_key) {
            CancelMatch::Pending(key) => Some(key),
            CancelMatch::Answered(_) | CancelMatch::NoMatch => None,
        }
    }

    /// What a CANCEL server transaction matches (RFC 3261 9.2).
    #[must_use]
    pub fn cancel_match(&self, cancel_key: &TxnKey) -> CancelMatch {
        if cancel_key.method() != &Method::Cancel || cancel_key.role() != Role::Server {
            return CancelMatch::NoMatch;
        }
        let invite = cancel_key.with_method(Method::Invite);
        let Some(entry) = self.by_key.get(&invite).and_then(|id| self.entries.get(id)) else {
            return CancelMatch::NoMatch;
        };
        match &entry.machine {
            Machine::InviteServer(m) if m.state() == InviteServerState::Proceeding => {
                CancelMatch::Pending(invite)
            }
            Machine::InviteServer(_) => CancelMatch::Answered(invite),
            _ => CancelMatch::NoMatch,
        }
    }

    /// Fires every timer whose deadline is at or before `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(&(at, id, timer)) = self.deadlines.first() {
            if at > now {
                break;
            }
            self.deadlines.pop_first();
            let mut fx = Effects::default();
            let Some(entry) = self.entries.get_mut(&id) else {
                continue;
            };
            entry.timers.stop(timer);
            entry.machine.on_timer(timer, &mut fx);
            self.apply(now, id, fx);
        }
    }

    /// The next message to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event for the TU.
    pub fn poll_event(&mut self) -> Option<TxnEvent> {
        self.events.pop_front()
    }

    /// The earliest deadline over all transactions, and its timer.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<(Instant, Timer)> {
        self.deadlines.first().map(|&(at, _, timer)| (at, timer))
    }

    /// Live transactions.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no transaction is live.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The state of a live transaction.
    #[must_use]
    pub fn state(&self, key: &TxnKey) -> Option<TxnState> {
        let id = self.by_key.get(key)?;
        Some(self.entries.get(id)?.machine.state())
    }

    /// The deadlines armed for a live transaction.
    #[must_use]
    pub fn timers(&self, key: &TxnKey) -> Option<&TimerTable> {
        let id = self.by_key.get(key)?;
        Some(&self.entries.get(id)?.timers)
    }

    fn insert(
        &mut self,
        key: TxnKey,
        machine: Machine,
        peer: SocketAddr,
        transport: Transport,
        ack_match: Option<wire::AckMatch>,
    ) -> TxnId {
        let id = TxnId(self.next_id);
        self.next_id = self.next_id.wrapping_add(1);
        self.by_key.insert(key.clone(), id);
        self.entries.insert(
            id,
            Entry {
                key,
                machine,
                timers: TimerTable::default(),
                peer,
                transport,
                ack_match,
            },
        );
        id
    }

    /// Applies what a transition asked for.
    fn apply(&mut self, now: Instant, id: TxnId, fx: Effects) {
        let Some(entry) = self.entries.get_mut(&id) else {
            return;
        };
        for message in fx.transmit {
            self.transmits.push_back(Transmit {
                transport: entry.transport,
                destination: entry.peer,
                message,
            });
        }
        for op in fx.timers {
            match op {
                TimerOp::Arm(timer, after) => {
                    if let Some(old) = entry.timers.stop(timer) {
                        self.deadlines.remove(&(old, id, timer));
                    }
                    // A deadline beyond what `Instant` can represent is never reached: leave it disarmed.
                    if let Some(at) = now.checked_add(after) {
                        entry.timers.set(timer, at);
                        self.deadlines.insert((at, id, timer));
                    }
                }
                TimerOp::Stop(timer) => {
                    if let Some(old) = entry.timers.stop(timer) {
                        self.deadlines.remove(&(old, id, timer));
                    }
                }
            }
        }
        match fx.notice {
            Some(Notice::Timeout) => self.events.push_back(TxnEvent::Timeout {
                key: entry.key.clone(),
            }),
            Some(Notice::AckTimeout) => {
                self.events.push_back(TxnEvent::AckTimeout {
                    key: entry.key.clone(),
                });
            }
            None => {}
        }
        if fx.terminated {
            self.remove(id);
        }
    }

    fn remove(&mut self, id: TxnId) {
        let Some(entry) = self.entries.remove(&id) else {
            return;
        };
        for (timer, at) in entry.timers.armed() {
            self.deadlines.remove(&(at, id, timer));
        }
        self.by_key.remove(&entry.key);
        if let Some(m) = &entry.ack_match {
            if self.accepted.get(m) == Some(&id) {
                self.accepted.remove(m);
            }
        }
        self.events.push_back(TxnEvent::Terminated { key: entry.key });
    }
}
