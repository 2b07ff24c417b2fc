//! Callbacks: a caller waiting in a queue presses the queue's callback key, hears that they will be
//! called back, and hangs up; their place in the queue lives on in a *callback session*.
//!
//! ```text
//!   caller's session                         callback session (no customer leg yet)
//!   waiting ─key─▶ Output::Queue(Callback)        Parked ──offer──▶ INVITE agent ─2xx─▶ ACK
//!           ◀─callback_accepted─ (engine)           │ agent answered: INVITE customer via the trunk
//!   "we will call you back" ─played─▶ BYE          ▼
//!                                                Dialing ──2xx: ACK, bridge──▶ Confirmed ─BYE either side─▶ Closing
//!                                                   │ refused / no answer in time / agent hung up: CANCEL, BYE agent
//!                                                   ▼
//!                                                Closing (callback_failed)
//! ```
//!
//! The agent is rung first and the customer only once an agent is on the line, so the customer never waits
//! on hold after picking up; the agent hears "calling the customer" while the customer's phone rings.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use media::{Digit, MediaCommand};
use model::EndReason;
use rand::SeedableRng as _;
use rand::rngs::StdRng;
use sip_msg::{HeaderName, Method, Response, Uri};
use sip_txn::Transport;

use super::{
    CallSession, LegParts, OWN_PLAY, Output, QueueRequest, Record, SessionConfig, State, ack_2xx, from_user,
    via_spec,
};

/// What the caller hears once their callback is accepted.
pub const CALLBACK_CONFIRMED_PROMPT: &str = "callback-confirmed";
/// What the agent hears while the customer's phone rings.
pub const CALLBACK_DIALING_PROMPT: &str = "callback-dialing";
/// Longest callback number (digits and a leading `+`).
const MAX_CALLBACK_NUMBER: usize = 20;
/// How long the customer's phone rings when no trunk says otherwise.
const DEFAULT_RING_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// A call the engine places itself, agent first: a callback, or an agent's outbound call. Whom to call and
/// what was allocated for it.
#[derive(Debug)]
pub struct CallbackCall {
    /// The customer's number (the waiting caller's, or the one the agent dialled).
    pub number: String,
    /// Where the customer is called: `None` through the trunk (`sip:<number>@<trunk domain>`), or this URI at
    /// this address (another agent's phone).
    pub target: Option<(Uri, std::net::SocketAddr)>,
    /// The display name the agent's phone shows with the number (`Callback`, `Outbound call`).
    pub label: String,
    /// The queue a callback waits in (`None` for an outbound call, which does not queue).
    pub queue: Option<String>,
    /// The Call-ID of the leg to the customer (the engine picks one that lands on its shard).
    pub call_id: String,
    /// The local RTP port of the customer leg's media.
    pub media_port: u16,
    /// Seeds this session's RNG.
    pub seed: u64,
    /// The flow of the call the callback came from (it does not run again; it names the record's flow).
    pub flow: Arc<ivr::Flow>,
    /// The wall-clock time the callback was requested.
    pub wall_clock: jiff::Timestamp,
    /// Values for the call record's `fields` (`callback_of`, `outbound_by`).
    pub fields: std::collections::BTreeMap<String, String>,
    /// How long the agent's phone rings before the call is given up (`None`: the queue's offer timeout
    /// decides, as for a callback).
    pub agent_ring_timeout: Option<std::time::Duration>,
}

/// True for a number a trunk can dial: digits with an optional leading `+`, 3 to [`MAX_CALLBACK_NUMBER`]
/// characters.
fn dialable(number: &str) -> bool {
    let digits = number.strip_prefix('+').unwrap_or(number);
    (3..=MAX_CALLBACK_NUMBER).contains(&number.len()) && digits.bytes().all(|b| b.is_ascii_digit())
}

impl CallSession {
    /// A call placed agent first, parked until an agent is offered it ([`Self::offer_agent`]; a callback's
    /// offers come from its queue, an outbound call's at once). Returns `None` when the number cannot be
    /// dialled, or when it goes through the trunk and the engine has none.
    pub fn callback(now: Instant, config: Arc<SessionConfig>, call: CallbackCall) -> Option<Self> {
        let internal = call.target.is_some();
        if !internal && (config.trunk.is_none() || !dialable(&call.number)) {
            return None;
        }
        let caller_id = config
            .trunk
            .as_ref()
            .map_or_else(|| "hotline".to_owned(), |t| t.caller_id.clone());
        let ring_timeout = config
            .trunk
            .as_ref()
            .map_or(DEFAULT_RING_TIMEOUT, |t| t.ring_timeout);
        let mut rng = StdRng::seed_from_u64(call.seed);
        let ours = |user: &str| -> Option<Uri> {
            let host = match config.sip_addr {
                std::net::SocketAddr::V4(a) => format!("{}", a.ip()),
                std::net::SocketAddr::V6(a) => format!("[{}]", a.ip()),
            };
            format!("sip:{user}@{host}").parse().ok()
        };
        let (customer, destination) = match call.target {
            Some(t) => t,
            None => {
                let trunk = config.trunk.as_ref()?;
                let uri: Uri = format!("sip:{}@{}", call.number, trunk.domain).parse().ok()?;
                (uri, trunk.address)
            }
        };
        let initial = sip_dialog::InitialRequest {
            method: Method::Invite,
            request_uri: customer.clone(),
            from: sip_msg::NameAddr::new(ours(&caller_id)?),
            to: sip_msg::NameAddr::new(customer),
            contact: ours("hotline"),
            route: Vec::new(),
            call_id: Some(call.call_id.clone()),
        };
        let via = via_spec(config.sip_addr, Transport::Udp);
        let invite = initial.build(&via, &mut rng);
        // Our tag in this dialog is the one the builder put in From.
        let local_tag = invite.headers.from().ok()?.tag()?.to_owned();
        let ctx = ivr::CallContext {
            caller: call.number.clone(),
            callee: call.label.clone(),
            call_id: call.call_id,
            wall_clock: call.wall_clock,
            time_zone: config.time_zone.clone(),
        };
        let leg = LegParts {
            invite,
            source: destination,
            transport: Transport::Udp,
            media_port: call.media_port,
        };
        let ivr = ivr::Session::new(call.flow, ctx);
        let mut s = Self::assemble(now, config, rng, local_tag, leg, ivr);
        let offer = s.local_offer();
        s.invite.headers.set(HeaderName::ContentType, "application/sdp");
        s.invite.body = Bytes::from(offer.to_string());
        s.media.local_sdp = Some(offer);
        s.callback_number = Some(call.number);
        s.callback_label = call.label;
        s.dial_ring_timeout = ring_timeout;
        s.agent_ring_timeout = call.agent_ring_timeout;
        s.fields.extend(call.fields);
        s.state = State::Parked;
        if let Some(queue) = call.queue {
            s.out.push_back(Output::Record(Record::Queue { queue }));
        }
        Some(s)
    }

    /// The flow this call runs (or, for a callback, came from).
    pub fn flow(&self) -> Arc<ivr::Flow> {
        self.ivr.flow().clone()
    }

    /// The caller's number: the From user of their INVITE, or the number a callback dials.
    pub(super) fn caller_number(&self) -> String {
        match &self.callback_number {
            Some(n) => n.clone(),
            None => from_user(&self.invite),
        }
    }

    /// The digit is the callback key of the queue the caller waits in, and a callback can be made.
    pub(super) fn is_callback_key(&self, digit: Digit) -> bool {
        let Some(w) = &self.waiting else { return false };
        self.config.trunk.is_some()
            && !self.callback_pending
            && self.callback_goodbye.is_none()
            && matches!(self.state, State::Confirmed)
            && self.config.callback_keys.get(&w.queue) == Some(&digit.as_char())
            && dialable(&self.caller_number())
    }

    /// Asks the engine to turn this wait into a callback; the caller keeps hearing the music meanwhile.
    pub(super) fn ask_for_callback(&mut self) {
        let Some(w) = &self.waiting else { return };
        self.callback_pending = true;
        let request = QueueRequest::Callback {
            queue: w.queue.clone(),
            number: self.caller_number(),
        };
        tracing::info!(queue = %w.queue, "the caller asked to be called back");
        self.out.push_back(Output::Queue(request));
    }

    /// The engine took the callback (a callback session holds the caller's place now): the caller hears
    /// that they will be called back, then the call ends (reason `callback_requested`).
    pub fn callback_accepted(&mut self, now: Instant) {
        if !self.callback_pending {
            return;
        }
        self.callback_pending = false;
        if self.waiting.take().is_none() || !matches!(self.state, State::Confirmed) {
            return;
        }
        if let Some(offer) = self.agent.as_ref().map(|a| a.offer) {
            // An agent's phone may be ringing for this caller: the callback takes that place now.
            self.withdraw_offer(now, offer);
        }
        self.fields.insert("callback".into(), "requested".into());
        self.next_own_play += 1;
        let play_id = OWN_PLAY | self.next_own_play;
        self.out.push_back(Output::Media(MediaCommand::StopPlay));
        self.out.push_back(Output::Media(MediaCommand::Play {
            play_id,
            prompts: vec![CALLBACK_CONFIRMED_PROMPT.to_owned()],
        }));
        self.callback_goodbye = Some(play_id);
    }

    /// The engine could not take the callback: the caller goes on waiting as before.
    pub fn callback_refused(&mut self, _now: Instant) {
        self.callback_pending = false;
    }

    /// A callback's agent answered: ring the customer through the trunk.
    pub(super) fn dial_customer(&mut self, now: Instant) {
        let deadline = now + self.dial_ring_timeout;
        self.next_own_play += 1;
        let play_id = OWN_PLAY | self.next_own_play;
        self.out.push_back(Output::AgentMedia(MediaCommand::Play {
            play_id,
            prompts: vec![CALLBACK_DIALING_PROMPT.to_owned()],
        }));
        tracing::info!("callback: the agent answered, calling the customer");
        self.out.push_back(Output::Send {
            request: self.invite.clone(),
            destination: self.source,
            transport: Transport::Udp,
        });
        self.state = State::Dialing { deadline };
    }

    /// A response to the INVITE that calls the customer back.
    pub(super) fn handle_customer_response(&mut self, now: Instant, resp: &Response) {
        if resp.status.is_provisional() {
            return;
        }
        if !resp.status.is_success() {
            // The transaction layer ACKs a non-2xx itself.
            if matches!(self.state, State::Dialing { .. }) {
                tracing::info!(
                    status = resp.status.0,
                    "the customer's phone refused the callback"
                );
                self.state = State::Confirmed; // nothing rings any more: end() must not CANCEL
                self.end(now, EndReason::CallbackFailed, false);
            }
            return;
        }
        let via = via_spec(self.config.sip_addr, Transport::Udp);
        let destination = self.source;
        let Some(first) = ack_2xx(
            &mut self.dialog,
            &self.invite,
            resp,
            &via,
            &mut self.rng,
            &mut self.out,
            destination,
        ) else {
            return;
        };
        if !first {
            return;
        }
        if !matches!(self.state, State::Dialing { .. }) {
            // Answered after we gave up (ring timeout, the agent hung up): hang up at once.
            let Some(d) = &mut self.dialog else { return };
            let bye = d.create_request(Method::Bye, &via, &mut self.rng);
            self.out.push_back(Output::Send {
                request: bye,
                destination,
                transport: Transport::Udp,
            });
            return;
        }
        self.state = State::Confirmed;
        match self.take_answer(&resp.body) {
            Some((remote, direction)) => {
                self.configure_media(remote, direction);
            }
            None => {
                tracing::warn!("the customer's answer is not usable SDP: ending the callback");
                self.end(now, EndReason::MediaRejected, true);
                return;
            }
        }
        tracing::info!("callback: the customer answered, bridging");
        self.out.push_back(Output::Record(Record::Answered { at: now }));
        self.out.push_back(Output::AgentMedia(MediaCommand::StopPlay));
        self.out.push_back(Output::Bridge);
    }
}
