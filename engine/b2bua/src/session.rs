//! One inbound call: the caller's leg, its dialog, its media and its IVR run.
//!
//! ```text
//!            INVITE
//!              │ offer ok: 180 (answer_delay > 0) or 200 at once      offer bad: 488 ──────────┐
//!              ▼                                                                              │
//!          Ringing ──CANCEL: 200 + 487──────────────────────────────────────────────────┐    │
//!              │ answer_delay elapsed: 200 OK + SDP                                      │    │
//!              ▼                                                                         ▼    ▼
//!       AwaitingAck ──Timer L (no ACK): BYE──────────────────────────────────────────▶ Closing ──media closed
//!              │ ACK                                                                     ▲        (or 1 s)
//!              ▼                                                                         │           │
//!          Confirmed (IVR runs) ──BYE from caller: 200 / flow hangup: BYE / RTP timeout──┘           ▼
//!                                                                                                   Done
//! ```

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use media::{Digit, DigitSource, Direction, LegStats, MediaCommand, MediaEvent, RemoteMedia};
use model::{EndReason, TrailItem};
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use sip_msg::{HeaderName, Method, Request, Response, StatusCode, Uri};
use sip_txn::{Transport, TxnKey};

use crate::info_dtmf::{InfoDtmfError, parse_info_dtmf};

mod callback;
pub use callback::{CALLBACK_CONFIRMED_PROMPT, CALLBACK_DIALING_PROMPT, CallbackCall};

/// How long a digit from one method hides the same digit from another method (phones that send both
/// RFC 4733 and INFO, or in-band tones that survive alongside events).
const DUPLICATE_WINDOW: Duration = Duration::from_millis(300);
/// Most digits one call records (the rest are still acted on, not stored).
pub const MAX_RECORDED_DIGITS: usize = 256;
/// Most trail entries one call records.
pub const MAX_TRAIL: usize = 1024;
/// Most named values (survey answers and the like) one call records.
pub const MAX_FIELDS: usize = 32;
/// How a digit keyed for identity verification appears in the call record's keypresses and trail.
pub const MASKED_DIGIT: char = 'x';

/// What every session of an engine shares.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// The IP advertised in SDP.
    pub media_ip: IpAddr,
    /// Our SIP address, for Contact and Via.
    pub sip_addr: SocketAddr,
    /// Codecs we answer with, in our order of preference (the caller's order wins).
    pub caps: sdp::LocalCaps,
    /// Ring this long before answering (0: answer at once).
    pub answer_delay: Duration,
    /// How long to wait for the media leg to report its statistics when the call ends.
    pub media_close_grace: Duration,
    /// Value of the `Server` header.
    pub server_name: String,
    /// The time zone flows use unless they name their own.
    pub time_zone: jiff::tz::TimeZone,
    /// Where callbacks are dialled; without a trunk there are no callbacks (the key is an ordinary digit).
    pub trunk: Option<Trunk>,
    /// Per queue, the key a waiting caller presses to be called back instead of waiting on the line.
    pub callback_keys: BTreeMap<String, char>,
}

/// The SIP trunk outbound calls (callbacks) go through.
#[derive(Debug, Clone)]
pub struct Trunk {
    /// Where the INVITEs go (UDP).
    pub address: SocketAddr,
    /// The host of the Request-URI and To (`sip:<number>@<domain>`).
    pub domain: String,
    /// Our number in From.
    pub caller_id: String,
    /// How long the customer's phone rings before the callback gives up.
    pub ring_timeout: Duration,
}

/// A new call as the shard hands it over: the INVITE and what was allocated for it.
#[derive(Debug)]
pub struct IncomingCall {
    pub invite: Request,
    pub key: TxnKey,
    pub source: SocketAddr,
    pub transport: Transport,
    pub flow: Arc<ivr::Flow>,
    /// The local RTP port of the call's media leg.
    pub media_port: u16,
    /// Seeds this call's RNG (tags, branches, SDP ids).
    pub seed: u64,
    /// The wall-clock time the call arrived (for time-of-day routing and records).
    pub wall_clock: jiff::Timestamp,
}

/// Something the session wants done. Drain after every input.
#[derive(Debug)]
pub enum Output {
    /// Answer a server transaction.
    Respond { key: TxnKey, response: Response },
    /// Start a client transaction (BYE).
    Send {
        request: Request,
        destination: SocketAddr,
        transport: Transport,
    },
    /// A command for this call's media leg.
    Media(MediaCommand),
    /// Something the call record must learn.
    Record(Record),
    /// IO the flow needs (an HTTP data dip, an identity lookup); answer with
    /// [`CallSession::handle_io_result`].
    Io(IoRequest),
    /// A command for the agent leg's media (opened by the engine before [`CallSession::offer_agent`]).
    AgentMedia(MediaCommand),
    /// Join the caller's media leg and the agent's (both directions).
    Bridge,
    /// Separate them again (the agent put the caller on hold).
    Unbridge,
    /// Send a message outside any transaction (the ACK for the agent's 2xx, RFC 3261 13.2.2.4).
    Stateless {
        message: sip_msg::Message,
        destination: SocketAddr,
        transport: Transport,
    },
    /// What happened on the agent leg, for the queue.
    Agent(AgentEvent),
    /// The caller joins or leaves a queue.
    Queue(QueueRequest),
}

/// The call's requests to the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueRequest {
    /// Wait in `queue` for an agent; answers come as offers ([`CallSession::offer_agent`]) or as
    /// [`CallSession::handle_queue_left`].
    Join {
        request_id: u64,
        queue: String,
        priority: u8,
        skills: BTreeMap<String, u8>,
    },
    /// The caller left before being connected (hung up, or the flow's own timeout).
    Leave,
    /// The caller pressed the queue's callback key: keep their place in `queue` and call `number` back
    /// when an agent is free. Answer with [`CallSession::callback_accepted`] or
    /// [`CallSession::callback_refused`]; on acceptance the queue entry belongs to a callback session
    /// ([`CallSession::callback`]).
    Callback { queue: String, number: String },
}

/// Where to reach the agent a queue offered this call to.
#[derive(Debug, Clone)]
pub struct AgentTarget {
    /// The queue's offer id (echoed in [`AgentEvent`]s).
    pub offer: u64,
    /// The agent (SIP user).
    pub agent: String,
    /// The agent phone's registered Contact.
    pub contact: Uri,
    /// Where to send: the address the registration came from (right behind NAT).
    pub destination: SocketAddr,
    /// The local RTP port of the agent leg's media.
    pub media_port: u16,
    /// The agent leg's Call-ID (the engine picks one that lands on the same shard as the call).
    pub call_id: String,
    /// Our id of the interaction, sent to the agent's phone in `X-Hotline-Interaction`.
    pub interaction: String,
}

/// What happened on the agent leg.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentEvent {
    /// The agent answered; the call is bridged.
    Answered { offer: u64 },
    /// The agent's phone refused (`status`) or never answered (`None`).
    Failed { offer: u64, status: Option<u16> },
    /// A bridged call ended (`by_agent`: the agent hung up).
    Ended { offer: u64, by_agent: bool },
}

/// The leg towards an agent's phone.
#[derive(Debug)]
struct AgentLeg {
    offer: u64,
    invite: Request,
    offer_sdp: sdp::SessionDescription,
    destination: SocketAddr,
    dialog: Option<sip_dialog::Dialog>,
    /// The offer was withdrawn before the agent answered: CANCEL sent, a late 2xx gets ACK + BYE.
    cancelled: bool,
}

/// IO requested by the flow, performed by the engine outside the session.
#[derive(Debug, Clone, PartialEq)]
pub enum IoRequest {
    Http {
        request_id: u64,
        method: ivr::HttpMethod,
        url: String,
        headers: Vec<(String, String)>,
        body: Option<serde_json::Value>,
        timeout: Duration,
        retries: u32,
    },
    Lookup {
        request_id: u64,
        source: ivr::LookupSource,
        key: ivr::IdentityKey,
    },
}

/// The answer to an [`IoRequest`].
#[derive(Debug, Clone, PartialEq)]
pub enum IoResult {
    Http(ivr::HttpOutcome),
    Lookup(ivr::LookupOutcome),
}

/// Updates for the call record, in the order they happen.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Answered {
        at: Instant,
    },
    /// Keypresses and trail so far (written so a crash loses little).
    Progress {
        keypresses: String,
        trail: Vec<TrailItem>,
    },
    /// The outcome of identity verification.
    Verification {
        verified: bool,
        method: String,
        attempts: u32,
        customer_id: Option<String>,
    },
    /// The flow handed the call to a queue.
    Queue {
        queue: String,
    },
    /// The call is over. Always the last output of a session.
    Final {
        at: Instant,
        reason: EndReason,
        keypresses: String,
        trail: Vec<TrailItem>,
        media: Option<LegStats>,
        /// Values the flow recorded (e.g. a survey's `rating`).
        fields: BTreeMap<String, String>,
    },
}

/// The highest place and wait (minutes) said as a number; above it the announcement says "many" / "more than
/// twenty minutes" (the prompt library has `number-1` … `number-20`).
const MAX_SPOKEN_NUMBER: u64 = 20;

/// The prompts of a queue announcement: "You are number three in line. The expected wait is about two
/// minutes." The wait is rounded up to whole minutes.
pub fn announcement_prompts(position: usize, estimated_wait: Option<Duration>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    match u64::try_from(position) {
        Ok(p @ 1..=MAX_SPOKEN_NUMBER) => {
            out.extend([
                "queue-position".into(),
                format!("number-{p}"),
                "queue-in-line".into(),
            ]);
        }
        _ => out.push("queue-many".into()),
    }
    if let Some(wait) = estimated_wait {
        let minutes = wait.as_secs().div_ceil(60).max(1);
        if minutes <= MAX_SPOKEN_NUMBER {
            let unit = if minutes == 1 { "minute" } else { "minutes" };
            out.extend(["queue-wait".into(), format!("number-{minutes}"), unit.into()]);
        } else {
            out.push("queue-wait-long".into());
        }
    }
    out
}
/// Play ids the session uses itself (hold music) carry this bit, so they never collide with the flow's.
const OWN_PLAY: u64 = 1 << 63;

/// The flow handed the call to a queue and waits for the outcome.
#[derive(Debug)]
struct Waiting {
    request_id: u64,
    queue: String,
    hold_play: u64,
    deadline: Option<Instant>,
}

#[derive(Debug)]
enum State {
    /// Just created; `begin` decides what comes next.
    New,
    /// 180 sent; the 200 goes out at `answer_at`.
    Ringing { invite_key: TxnKey, answer_at: Instant },
    /// 200 sent; waiting for the ACK.
    AwaitingAck,
    /// The dialog is confirmed and the flow runs.
    Confirmed,
    /// A callback waiting in its queue: no leg to the customer yet.
    Parked,
    /// A callback's agent answered; the customer's phone rings until `deadline`.
    Dialing { deadline: Instant },
    /// The call is over; waiting for the media leg's statistics.
    Closing { reason: EndReason, deadline: Instant },
    /// Everything was reported.
    Done,
}

/// The caller's leg as a session starts with it: the INVITE (theirs, or ours for a callback), where their
/// side is, and our RTP port.
struct LegParts {
    invite: Request,
    source: SocketAddr,
    transport: Transport,
    media_port: u16,
}

/// The SDP state of the caller's leg.
#[derive(Debug)]
struct MediaState {
    session_id: u64,
    version: u64,
    local_port: u16,
    /// Our last SDP (answer or offer), re-sent on retransmissions and re-INVITEs without offer.
    local_sdp: Option<sdp::SessionDescription>,
    /// We sent an offer in a 2xx and wait for the answer in the ACK.
    offer_pending: bool,
}

/// One caller's call. See the crate docs for the drain contract.
pub struct CallSession {
    config: Arc<SessionConfig>,
    state: State,
    rng: StdRng,
    started: Instant,
    invite: Request,
    source: SocketAddr,
    transport: Transport,
    local_tag: String,
    dialog: Option<sip_dialog::Dialog>,
    media: MediaState,
    ivr: ivr::Session,
    ivr_started: bool,
    current_node: Option<String>,
    keypresses: String,
    trail: Vec<TrailItem>,
    seen_rfc4733: bool,
    last_digit: Option<(Digit, DigitSource, Instant)>,
    end_reason: Option<EndReason>,
    fields: BTreeMap<String, String>,
    /// For each recorded digit, whether it was handed to the interpreter (to align with its trail).
    digits_to_ivr: Vec<bool>,
    waiting: Option<Waiting>,
    next_own_play: u64,
    /// A REFER we sent to transfer the caller, by its CSeq.
    refer_cseq: Option<u32>,
    agent: Option<AgentLeg>,
    /// A callback session: the customer's number (dialled through the trunk once an agent answers).
    callback_number: Option<String>,
    /// The caller asked for a callback and the engine has not said yes or no yet.
    callback_pending: bool,
    /// The "we will call you back" prompt: the call ends when it has played.
    callback_goodbye: Option<u64>,
    /// The display name the agent's phone shows for a call the engine places (`Callback`, `Outbound call`).
    callback_label: String,
    /// How long a placed call rings the customer.
    dial_ring_timeout: Duration,
    /// How long an outbound call rings its own agent before it is given up (no queue times that offer out).
    agent_ring_timeout: Option<Duration>,
    /// When the ringing agent leg of an outbound call is given up.
    agent_ring_deadline: Option<Instant>,
    out: std::collections::VecDeque<Output>,
}

impl std::fmt::Debug for CallSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallSession")
            .field("state", &self.state)
            .field("source", &model::Pii(self.source))
            .finish()
    }
}

impl CallSession {
    /// Takes a new INVITE: answers it (or rings first) or refuses its offer with 488.
    pub fn new(now: Instant, config: Arc<SessionConfig>, call: IncomingCall) -> Self {
        let mut rng = StdRng::seed_from_u64(call.seed);
        let local_tag = sip_dialog::new_tag(&mut rng);
        let ctx = ivr::CallContext {
            caller: from_user(&call.invite),
            callee: call.invite.uri.user().unwrap_or_default().to_owned(),
            call_id: call
                .invite
                .headers
                .call_id()
                .map(str::to_owned)
                .unwrap_or_default(),
            wall_clock: call.wall_clock,
            time_zone: config.time_zone.clone(),
        };
        let leg = LegParts {
            invite: call.invite,
            source: call.source,
            transport: call.transport,
            media_port: call.media_port,
        };
        let mut s = Self::assemble(
            now,
            config,
            rng,
            local_tag,
            leg,
            ivr::Session::new(call.flow, ctx),
        );
        s.begin(now, call.key);
        s
    }

    /// A session in its first state, before anything was sent.
    fn assemble(
        now: Instant,
        config: Arc<SessionConfig>,
        mut rng: StdRng,
        local_tag: String,
        leg: LegParts,
        ivr: ivr::Session,
    ) -> Self {
        let media = MediaState {
            session_id: rng.random_range(1..u64::from(u32::MAX)),
            version: 1,
            local_port: leg.media_port,
            local_sdp: None,
            offer_pending: false,
        };
        Self {
            config,
            state: State::New,
            rng,
            started: now,
            source: leg.source,
            transport: leg.transport,
            local_tag,
            dialog: None,
            media,
            ivr,
            ivr_started: false,
            callback_number: None,
            callback_pending: false,
            callback_goodbye: None,
            callback_label: String::new(),
            dial_ring_timeout: Duration::ZERO,
            agent_ring_timeout: None,
            agent_ring_deadline: None,
            current_node: None,
            keypresses: String::new(),
            trail: Vec::new(),
            seen_rfc4733: false,
            last_digit: None,
            end_reason: None,
            fields: BTreeMap::new(),
            digits_to_ivr: Vec::new(),
            waiting: None,
            next_own_play: 0,
            refer_cseq: None,
            agent: None,
            out: Default::default(),
            invite: leg.invite,
        }
    }

    fn begin(&mut self, now: Instant, key: TxnKey) {
        // Without a Contact there is no remote target: we could never send BYE (RFC 3261 8.1.1.8).
        let has_contact = self.invite.headers.contacts().is_ok_and(|c| !c.is_empty());
        if !has_contact {
            let mut resp = self.response(&self.invite, StatusCode::BAD_REQUEST);
            resp.reason = "Bad Request - Missing Contact".into();
            self.out.push_back(Output::Respond { key, response: resp });
            self.end(now, EndReason::Rejected, false);
            return;
        }
        // Negotiate now, so a bad offer is refused before ringing.
        if !self.invite.body.is_empty() {
            match self.answer_offer(&self.invite.body.clone()) {
                Ok((remote, direction)) => {
                    self.configure_media(remote, direction);
                }
                Err(status) => {
                    let resp = self.response(&self.invite, status);
                    self.out.push_back(Output::Respond { key, response: resp });
                    self.end(now, EndReason::MediaRejected, false);
                    return;
                }
            }
        } else {
            // Late offer: we offer in the 200 and read the answer from the ACK.
            self.media.local_sdp = Some(self.local_offer());
            self.media.offer_pending = true;
        }
        if self.config.answer_delay.is_zero() {
            self.answer(now, key);
        } else {
            let ringing = self.response(&self.invite, StatusCode::RINGING);
            self.out.push_back(Output::Respond {
                key: key.clone(),
                response: ringing,
            });
            self.state = State::Ringing {
                invite_key: key,
                answer_at: now + self.config.answer_delay,
            };
        }
    }

    fn answer(&mut self, now: Instant, key: TxnKey) {
        let mut ok = self.response(&self.invite, StatusCode::OK);
        self.attach_sdp(&mut ok);
        match sip_dialog::Dialog::new_uas(&self.invite, &ok, &mut self.rng) {
            Ok(d) => self.dialog = Some(d),
            Err(e) => tracing::warn!(error = %e, "cannot form a dialog from the INVITE"),
        }
        self.out.push_back(Output::Respond { key, response: ok });
        self.out.push_back(Output::Record(Record::Answered { at: now }));
        self.state = State::AwaitingAck;
    }

    /// Answers a server transaction with `status` (our tag, Contact and Server headers).
    fn reply(&mut self, key: TxnKey, req: &Request, status: StatusCode) {
        let response = self.response(req, status);
        self.out.push_back(Output::Respond { key, response });
    }

    /// Builds our response to `req` with our tag, Contact and Server headers.
    fn response(&self, req: &Request, status: StatusCode) -> Response {
        let contact = self.contact_uri();
        let mut resp = sip_dialog::uas_response(req, status, &self.local_tag, Some(&contact));
        resp.headers
            .set(HeaderName::Server, self.config.server_name.clone());
        if status.is_success() || status == StatusCode::METHOD_NOT_ALLOWED {
            resp.headers.set(
                HeaderName::Allow,
                "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, UPDATE",
            );
        }
        resp
    }

    fn contact_uri(&self) -> Uri {
        let transport = match self.transport {
            Transport::Udp => "",
            Transport::Tcp => ";transport=tcp",
        };
        let text = match self.config.sip_addr {
            SocketAddr::V4(a) => format!("sip:hotline@{}:{}{transport}", a.ip(), a.port()),
            SocketAddr::V6(a) => format!("sip:hotline@[{}]:{}{transport}", a.ip(), a.port()),
        };
        text.parse().unwrap_or_else(|_| self.invite.uri.clone())
    }

    fn attach_sdp(&self, resp: &mut Response) {
        if let Some(sdp) = &self.media.local_sdp {
            resp.headers.set(HeaderName::ContentType, "application/sdp");
            resp.body = Bytes::from(sdp.to_string());
        }
    }

    fn local_offer(&mut self) -> sdp::SessionDescription {
        self.media.version += 1;
        sdp::create_offer(
            &self.config.caps,
            self.config.media_ip,
            self.media.local_port,
            self.media.session_id,
            self.media.version,
        )
    }

    /// Answers an SDP offer; on success our answer becomes the local SDP.
    fn answer_offer(&mut self, body: &[u8]) -> Result<(RemoteMedia, Direction), StatusCode> {
        let offer = sdp::SessionDescription::parse(body).map_err(|e| StatusCode(e.sip_status()))?;
        self.media.version += 1;
        let answer = sdp::answer_offer(
            &offer,
            &self.config.caps,
            self.config.media_ip,
            self.media.local_port,
            self.media.session_id,
            self.media.version,
        )
        .map_err(|e| StatusCode(e.sip_status()))?;
        self.media.local_sdp = Some(answer.sdp);
        Ok((answer.remote, answer.direction))
    }

    /// Points the caller's media leg at `remote` with `direction`.
    fn configure_media(&mut self, remote: RemoteMedia, direction: Direction) {
        self.out
            .push_back(Output::Media(MediaCommand::Configure { remote }));
        self.out
            .push_back(Output::Media(MediaCommand::SetDirection(direction)));
    }

    /// Reads the SDP answer to an offer we made.
    fn take_answer(&mut self, body: &[u8]) -> Option<(RemoteMedia, Direction)> {
        let offer = self.media.local_sdp.as_ref()?;
        let answer = sdp::SessionDescription::parse(body).ok()?;
        sdp::parse_answer(offer, &answer).ok()
    }

    /// A new request inside this call (re-INVITE, BYE, INFO, OPTIONS, UPDATE, …). CANCEL goes to
    /// [`Self::handle_cancel`], ACKs to [`Self::handle_ack`].
    pub fn handle_request(&mut self, now: Instant, key: TxnKey, req: Request) {
        if self
            .agent_call_id()
            .is_some_and(|id| req.headers.call_id().ok() == Some(id))
        {
            self.handle_agent_request(now, key, req);
            return;
        }
        if matches!(self.state, State::Closing { .. } | State::Done) {
            self.reply(key, &req, StatusCode::CALL_TRANSACTION_DOES_NOT_EXIST);
            return;
        }
        if let Some(d) = &mut self.dialog {
            if let Err(e) = d.validate_in_dialog(&req) {
                self.reply(key, &req, e.status());
                return;
            }
        }
        match req.method {
            Method::Bye => {
                self.reply(key, &req, StatusCode::OK);
                if let State::Ringing { invite_key, .. } = &self.state {
                    let invite_key = invite_key.clone();
                    let terminated = self.response(&self.invite, StatusCode::REQUEST_TERMINATED);
                    self.out.push_back(Output::Respond {
                        key: invite_key,
                        response: terminated,
                    });
                }
                self.end(now, EndReason::CallerHangup, false);
            }
            Method::Invite | Method::Update => self.handle_offer(now, key, req),
            Method::Info => self.handle_info(now, key, &req),
            Method::Options => {
                let mut resp = self.response(&req, StatusCode::OK);
                resp.headers.set(HeaderName::Accept, "application/sdp");
                self.out.push_back(Output::Respond { key, response: resp });
            }
            Method::Prack => {
                self.reply(key, &req, StatusCode::CALL_TRANSACTION_DOES_NOT_EXIST);
            }
            _ => {
                self.reply(key, &req, StatusCode::METHOD_NOT_ALLOWED);
            }
        }
    }

    fn handle_offer(&mut self, _now: Instant, key: TxnKey, req: Request) {
        if !matches!(self.state, State::Confirmed) {
            // An offer while ours is unanswered (RFC 3261 14.2: 491 Request Pending).
            self.reply(key, &req, StatusCode(491));
            return;
        }
        if req.body.is_empty() {
            let mut ok = self.response(&req, StatusCode::OK);
            // A re-INVITE without offer: we offer in the 200 and expect the answer in the ACK. An UPDATE
            // without offer only refreshes the session: its 200 carries no SDP (RFC 3311).
            if req.method == Method::Invite {
                self.media.local_sdp = Some(self.local_offer());
                self.media.offer_pending = true;
                self.attach_sdp(&mut ok);
            }
            self.out.push_back(Output::Respond { key, response: ok });
            return;
        }
        match self.answer_offer(&req.body) {
            Ok((remote, direction)) => {
                let mut ok = self.response(&req, StatusCode::OK);
                self.attach_sdp(&mut ok);
                self.out.push_back(Output::Respond { key, response: ok });
                self.configure_media(remote, direction);
                tracing::debug!(?direction, "caller renegotiated media");
            }
            Err(status) => {
                // A failed re-offer leaves the session as it was (RFC 3261 14.2).
                self.reply(key, &req, status);
            }
        }
    }

    fn handle_info(&mut self, now: Instant, key: TxnKey, req: &Request) {
        if req.body.is_empty() {
            // An empty INFO is a keep-alive some peers send.
            self.reply(key, req, StatusCode::OK);
            return;
        }
        match parse_info_dtmf(req.headers.content_type(), &req.body) {
            Ok(digit) => {
                self.reply(key, req, StatusCode::OK);
                self.on_digit(now, digit, DigitSource::SipInfo);
            }
            Err(InfoDtmfError::UnsupportedType) => {
                let mut resp = self.response(req, StatusCode::UNSUPPORTED_MEDIA_TYPE);
                resp.headers
                    .set(HeaderName::Accept, "application/dtmf-relay, application/dtmf");
                self.out.push_back(Output::Respond { key, response: resp });
            }
            Err(InfoDtmfError::BadSignal) => {
                self.reply(key, req, StatusCode::BAD_REQUEST);
            }
        }
    }

    /// The caller's CANCEL (its transaction and the INVITE transaction it targets).
    pub fn handle_cancel(&mut self, now: Instant, cancel_key: TxnKey, cancel: &Request) {
        let resp = self.response(cancel, StatusCode::OK);
        self.out.push_back(Output::Respond {
            key: cancel_key,
            response: resp,
        });
        if let State::Ringing { invite_key, .. } = &self.state {
            let invite_key = invite_key.clone();
            let terminated = self.response(&self.invite, StatusCode::REQUEST_TERMINATED);
            self.out.push_back(Output::Respond {
                key: invite_key,
                response: terminated,
            });
            self.end(now, EndReason::Cancelled, false);
        }
        // Once answered, a CANCEL has no effect (RFC 3261 9.2); the caller must send BYE.
    }

    /// The ACK for one of our 2xx responses.
    pub fn handle_ack(&mut self, now: Instant, ack: &Request) {
        if self.media.offer_pending {
            self.media.offer_pending = false;
            // An ACK without the answer to our offer leaves the call without media (RFC 3264 4): end it.
            match self.take_answer(&ack.body) {
                Some((remote, direction)) => {
                    self.configure_media(remote, direction);
                }
                None => {
                    // The answer is unusable and the ACK cannot be refused: end the call.
                    self.end(now, EndReason::MediaRejected, true);
                    return;
                }
            }
        }
        if let State::AwaitingAck = self.state {
            self.state = State::Confirmed;
            self.start_flow(now);
        }
    }

    fn start_flow(&mut self, now: Instant) {
        if !self.ivr_started {
            self.ivr_started = true;
            self.ivr.start(now);
            self.drain_ivr(now);
        }
    }

    /// Our 2xx to the INVITE was never acknowledged (Timer L / 64·T1).
    pub fn handle_ack_timeout(&mut self, now: Instant) {
        if let State::AwaitingAck = self.state {
            self.end(now, EndReason::AckTimeout, true);
        }
    }

    /// Something the media leg reported.
    pub fn handle_media_event(&mut self, now: Instant, ev: MediaEvent) {
        match ev {
            MediaEvent::Digit { digit, source } => self.on_digit(now, digit, source),
            MediaEvent::PlayFinished { play_id, interrupted } => {
                if play_id & OWN_PLAY != 0 {
                    // Hold music ended: loop it while the call waits.
                    if self.callback_goodbye == Some(play_id) {
                        self.end(now, EndReason::CallbackRequested, true);
                        return;
                    }
                    let looping = self.waiting.as_ref().is_some_and(|w| w.hold_play == play_id);
                    if looping && !interrupted && matches!(self.state, State::Confirmed) {
                        let next = self.play_hold_music();
                        if let Some(w) = &mut self.waiting {
                            w.hold_play = next;
                        }
                    }
                } else if self.ivr_started && matches!(self.state, State::Confirmed) {
                    self.ivr.handle_play_finished(now, play_id);
                    self.drain_ivr(now);
                }
            }
            MediaEvent::UnknownPrompt { name, .. } => {
                tracing::warn!(prompt = %name, "flow asked for a prompt that is not loaded");
            }
            MediaEvent::RtpTimeout => self.end(now, EndReason::RtpTimeout, true),
            MediaEvent::SilenceTimeout => self.end(now, EndReason::SilenceTimeout, true),
            MediaEvent::Closed { stats } => {
                if let State::Closing { reason, .. } = self.state {
                    self.finish(now, reason, Some(stats));
                }
            }
            // The recording's row is the host's business.
            MediaEvent::RecordingEnded { .. } => {}
        }
    }

    fn on_digit(&mut self, now: Instant, digit: Digit, source: DigitSource) {
        if matches!(self.state, State::Closing { .. } | State::Done) {
            return;
        }
        match source {
            DigitSource::Rfc4733 => self.seen_rfc4733 = true,
            // A phone that sends RFC 4733 events may leave the tones in the audio too.
            DigitSource::Inband if self.seen_rfc4733 => return,
            _ => {}
        }
        if let Some((d, s, at)) = self.last_digit {
            if d == digit && s != source && now.saturating_duration_since(at) < DUPLICATE_WINDOW {
                return;
            }
        }
        self.last_digit = Some((digit, source, now));
        let to_ivr = self.ivr_started && matches!(self.state, State::Confirmed);
        if self.keypresses.len() < MAX_RECORDED_DIGITS {
            self.keypresses.push(digit.as_char());
            self.digits_to_ivr.push(to_ivr);
            self.push_trail(TrailItem::Digit {
                digit: digit.as_char().to_string(),
                node: self.current_node.clone(),
                source: source_name(source).to_owned(),
                at_ms: self.since_start(now),
            });
        }
        if self.is_callback_key(digit) {
            self.ask_for_callback();
        } else if to_ivr {
            self.ivr.handle_digit(now, digit);
            self.drain_ivr(now);
        }
        if !self.is_ending() {
            let (keypresses, trail) = self.masked_record();
            self.out
                .push_back(Output::Record(Record::Progress { keypresses, trail }));
        }
    }

    /// Keypresses and trail as the call record keeps them: digits keyed into (or typed ahead for)
    /// identity verification are replaced by [`MASKED_DIGIT`]. The interpreter knows which digits those
    /// were, even typed-ahead ones, so its trail decides: the n-th digit handed to it is the n-th digit
    /// entry of its trail.
    fn masked_record(&self) -> (String, Vec<TrailItem>) {
        let mut ivr_masks = self.ivr.trail().iter().filter_map(|e| match e.kind {
            ivr::TrailKind::Digit { .. } => Some(false),
            ivr::TrailKind::MaskedDigit { .. } => Some(true),
            _ => None,
        });
        let masked: Vec<bool> = self
            .digits_to_ivr
            .iter()
            .map(|&to_ivr| to_ivr && ivr_masks.next().unwrap_or(false))
            .collect();
        let keypresses = self
            .keypresses
            .chars()
            .zip(masked.iter().chain(std::iter::repeat(&false)))
            .map(|(c, &m)| if m { MASKED_DIGIT } else { c })
            .collect();
        let mut flags = masked.iter();
        let trail = self
            .trail
            .iter()
            .map(|item| match item {
                TrailItem::Digit {
                    node, source, at_ms, ..
                } if flags.next().copied().unwrap_or(false) => TrailItem::Digit {
                    digit: MASKED_DIGIT.to_string(),
                    node: node.clone(),
                    source: source.clone(),
                    at_ms: *at_ms,
                },
                other => other.clone(),
            })
            .collect();
        (keypresses, trail)
    }

    fn push_trail(&mut self, item: TrailItem) {
        if self.trail.len() < MAX_TRAIL {
            self.trail.push(item);
        }
    }

    fn since_start(&self, now: Instant) -> u64 {
        u64::try_from(now.saturating_duration_since(self.started).as_millis()).unwrap_or(u64::MAX)
    }

    fn drain_ivr(&mut self, now: Instant) {
        loop {
            let mut progressed = false;
            while let Some(ev) = self.ivr.poll_event() {
                progressed = true;
                self.on_ivr_event(now, ev);
            }
            while let Some(action) = self.ivr.poll_action() {
                progressed = true;
                if !self.on_ivr_action(now, action) {
                    return;
                }
            }
            if !progressed {
                break;
            }
        }
    }

    fn on_ivr_event(&mut self, now: Instant, ev: ivr::IvrEvent) {
        match ev {
            ivr::IvrEvent::NodeEntered { node } => {
                self.push_trail(TrailItem::Node {
                    node: node.clone(),
                    at_ms: self.since_start(now),
                });
                self.current_node = Some(node);
            }
            ivr::IvrEvent::IdentityVerified {
                verified,
                method,
                attempts,
                customer_id,
                ..
            } => {
                self.out.push_back(Output::Record(Record::Verification {
                    verified,
                    method: verify_method_name(method).to_owned(),
                    attempts,
                    customer_id,
                }));
            }
            ivr::IvrEvent::AniChecked { matched, .. } => {
                self.fields.insert("ani_match".to_owned(), matched.to_string());
            }
            ivr::IvrEvent::RecordField { name, value, .. }
                if self.fields.len() < MAX_FIELDS || self.fields.contains_key(&name) =>
            {
                self.fields.insert(name, value);
            }
            _ => {}
        }
    }

    /// Carries out one flow action; false when the call is ending and draining must stop.
    fn on_ivr_action(&mut self, now: Instant, action: ivr::Action) -> bool {
        match action {
            ivr::Action::Play { play_id, prompts } => {
                self.out
                    .push_back(Output::Media(MediaCommand::Play { play_id, prompts }));
            }
            ivr::Action::StopPlay => self.out.push_back(Output::Media(MediaCommand::StopPlay)),
            ivr::Action::Hangup { .. } => {
                self.end(now, EndReason::FlowHangup, true);
                return false;
            }
            ivr::Action::Http {
                request_id,
                method,
                url,
                headers,
                body,
                timeout,
                retries,
            } => {
                self.out.push_back(Output::Io(IoRequest::Http {
                    request_id,
                    method,
                    url,
                    headers,
                    body,
                    timeout,
                    retries,
                }));
            }
            ivr::Action::Lookup {
                request_id,
                source,
                key,
            } => {
                self.out.push_back(Output::Io(IoRequest::Lookup {
                    request_id,
                    source,
                    key,
                }));
            }
            ivr::Action::Enqueue {
                request_id,
                queue,
                priority,
                skills,
                timeout,
            } => {
                // The caller waits with music on hold until an agent answers, the queue gives the call back,
                // the flow's own timeout passes or the caller hangs up.
                self.out
                    .push_back(Output::Record(Record::Queue { queue: queue.clone() }));
                self.out.push_back(Output::Queue(QueueRequest::Join {
                    request_id,
                    queue: queue.clone(),
                    priority,
                    skills,
                }));
                let hold_play = self.play_hold_music();
                self.waiting = Some(Waiting {
                    request_id,
                    queue,
                    hold_play,
                    deadline: timeout.map(|t| now + t),
                });
            }
            ivr::Action::Transfer { target } => {
                self.transfer(now, &target);
                return false;
            }
            // The leg mutes its recording, if it has one (harmless otherwise).
            ivr::Action::PauseRecording => self.out.push_back(Output::Media(MediaCommand::PauseRecording)),
            ivr::Action::ResumeRecording => self.out.push_back(Output::Media(MediaCommand::ResumeRecording)),
            other => tracing::warn!(action = ?other, "flow action not supported on calls yet"),
        }
        true
    }

    /// Starts the shared music on hold. The id it returns stands for "the music": a play that takes the
    /// music's place (an announcement) takes this id too, and the music comes back when it ends.
    fn play_hold_music(&mut self) -> u64 {
        self.next_own_play += 1;
        self.out.push_back(Output::Media(MediaCommand::Music));
        OWN_PLAY | self.next_own_play
    }

    /// Blind transfer: asks the caller's phone to call `target` (REFER, RFC 3515) and ends our leg once the
    /// phone accepts. A phone that refuses ends the call too: the flow has finished either way.
    fn transfer(&mut self, now: Instant, target: &str) {
        let Some(d) = &mut self.dialog else {
            self.end(now, EndReason::FlowHangup, true);
            return;
        };
        let refer_to = if target.contains(':') {
            target.to_owned()
        } else {
            let host = match self.source.ip() {
                IpAddr::V4(ip) => ip.to_string(),
                IpAddr::V6(ip) => format!("[{ip}]"),
            };
            format!("sip:{target}@{host}")
        };
        let via = via_spec(self.config.sip_addr, self.transport);
        let mut request = d.create_request(Method::Refer, &via, &mut self.rng);
        request.headers.set(HeaderName::ReferTo, format!("<{refer_to}>"));
        request
            .headers
            .set(HeaderName::ReferredBy, format!("<{}>", self.contact_uri()));
        self.refer_cseq = request.headers.cseq().ok().map(|c| c.seq);
        let destination = self.source;
        self.out.push_back(Output::Send {
            request,
            destination,
            transport: self.transport,
        });
        self.out.push_back(Output::Media(MediaCommand::StopPlay));
        tracing::info!(target = %model::Pii(refer_to), "transferring the caller (REFER)");
    }

    /// The queue offers the call to an agent: INVITE the agent's phone with the caller's number in From and
    /// an SDP offer for the agent leg. Refused at once (as [`AgentEvent::Failed`]) unless the caller is
    /// waiting in a queue with no other agent leg.
    pub fn offer_agent(&mut self, now: Instant, target: AgentTarget) {
        let waiting = self.waiting.is_some() && matches!(self.state, State::Confirmed);
        let parked = matches!(self.state, State::Parked);
        if self.agent.is_some() || !(waiting || parked) || self.callback_pending {
            self.out.push_back(Output::AgentMedia(MediaCommand::Close));
            self.out.push_back(Output::Agent(AgentEvent::Failed {
                offer: target.offer,
                status: None,
            }));
            return;
        }
        let host = match self.config.sip_addr.ip() {
            IpAddr::V4(ip) => ip.to_string(),
            IpAddr::V6(ip) => format!("[{ip}]"),
        };
        let caller = self.caller_number();
        let caller_name = match &self.callback_number {
            Some(_) => Some(self.callback_label.clone()),
            None => self.invite.headers.from().ok().and_then(|f| f.display_name),
        };
        let (Ok(from_uri), Ok(to_uri)) = (
            format!("sip:{caller}@{host}").parse::<Uri>(),
            format!("sip:{}@{host}", target.agent).parse::<Uri>(),
        ) else {
            self.out.push_back(Output::AgentMedia(MediaCommand::Close));
            self.out.push_back(Output::Agent(AgentEvent::Failed {
                offer: target.offer,
                status: None,
            }));
            return;
        };
        let mut from = sip_msg::NameAddr::new(from_uri);
        from.display_name = caller_name;
        let initial = sip_dialog::InitialRequest {
            method: Method::Invite,
            request_uri: target.contact.clone(),
            from,
            to: sip_msg::NameAddr::new(to_uri),
            contact: Some(self.contact_uri()),
            route: Vec::new(),
            call_id: Some(target.call_id.clone()),
        };
        let via = via_spec(self.config.sip_addr, Transport::Udp);
        let mut invite = initial.build(&via, &mut self.rng);
        self.media.version += 1;
        let offer_sdp = sdp::create_offer(
            &self.config.caps,
            self.config.media_ip,
            target.media_port,
            self.media.session_id.wrapping_add(1),
            self.media.version,
        );
        invite.headers.set(HeaderName::ContentType, "application/sdp");
        invite.headers.set(
            HeaderName::Other("X-Hotline-Interaction".into()),
            target.interaction.clone(),
        );
        invite.body = Bytes::from(offer_sdp.to_string());
        tracing::info!(agent = %target.agent, offer = target.offer, "offering the call to an agent");
        self.out.push_back(Output::Send {
            request: invite.clone(),
            destination: target.destination,
            transport: Transport::Udp,
        });
        self.agent = Some(AgentLeg {
            offer: target.offer,
            invite,
            offer_sdp,
            destination: target.destination,
            dialog: None,
            cancelled: false,
        });
        self.agent_ring_deadline = self.agent_ring_timeout.map(|t| now + t);
    }

    /// The queue announces the caller's place (1 = next) and the estimated wait: the hold music pauses for
    /// the announcement and starts again after it.
    pub fn announce_position(&mut self, _now: Instant, position: usize, estimated_wait: Option<Duration>) {
        if !matches!(self.state, State::Confirmed) || self.waiting.is_none() {
            return;
        }
        self.next_own_play += 1;
        let play_id = OWN_PLAY | self.next_own_play;
        self.out.push_back(Output::Media(MediaCommand::Play {
            play_id,
            prompts: announcement_prompts(position, estimated_wait),
        }));
        // The announcement takes the music's place; when it finishes, the music loop starts again.
        if let Some(w) = &mut self.waiting {
            w.hold_play = play_id;
        }
    }

    /// The queue gave the call back without an agent (its max wait, overflow, no agents): the flow goes on
    /// with the enqueue node's `on_left`.
    pub fn handle_queue_left(&mut self, now: Instant, reason: &str) {
        if matches!(self.state, State::Parked) {
            tracing::info!(%reason, "a callback left its queue without an agent");
            self.end(now, EndReason::CallbackFailed, false);
            return;
        }
        if let Some(w) = self.waiting.take() {
            self.out.push_back(Output::Media(MediaCommand::StopPlay));
            self.ivr.handle_queue_result(
                now,
                w.request_id,
                ivr::QueueOutcome::Left {
                    reason: reason.to_owned(),
                },
            );
            self.drain_ivr(now);
        }
    }

    /// The queue withdrew its offer (the agent did not answer in time): CANCEL the ringing INVITE.
    pub fn withdraw_offer(&mut self, _now: Instant, offer: u64) {
        let Some(leg) = &mut self.agent else { return };
        if leg.offer != offer || leg.dialog.is_some() || leg.cancelled {
            return;
        }
        leg.cancelled = true;
        let cancel = sip_dialog::cancel_for(&leg.invite);
        let destination = leg.destination;
        self.out.push_back(Output::Send {
            request: cancel,
            destination,
            transport: Transport::Udp,
        });
        self.out.push_back(Output::AgentMedia(MediaCommand::Close));
    }

    /// The agent puts the caller on hold (`on`: the caller hears the music on hold, the agent silence, and
    /// neither hears the other) or takes them back. False when the call is not bridged to an agent now.
    pub fn hold(&mut self, _now: Instant, on: bool) -> bool {
        let bridged = matches!(self.state, State::Confirmed)
            && self.waiting.is_none()
            && self.agent.as_ref().is_some_and(|a| a.dialog.is_some());
        if !bridged {
            return false;
        }
        if on {
            self.out.push_back(Output::Unbridge);
            self.out.push_back(Output::Media(MediaCommand::Music));
        } else {
            self.out.push_back(Output::Media(MediaCommand::StopPlay));
            self.out.push_back(Output::Bridge);
        }
        tracing::info!(on, "the agent put the caller on hold");
        true
    }

    /// The Call-ID of the agent leg, when there is one (requests from the agent's phone carry it).
    pub fn agent_call_id(&self) -> Option<&str> {
        self.agent.as_ref().and_then(|a| a.invite.headers.call_id().ok())
    }

    fn handle_agent_response(&mut self, now: Instant, resp: &Response) {
        let Some(leg) = &mut self.agent else { return };
        let offer = leg.offer;
        if resp.status.is_provisional() {
            return;
        }
        if !resp.status.is_success() {
            // The transaction layer ACKs a non-2xx itself. A 487 answers our CANCEL.
            let cancelled = leg.cancelled;
            self.agent = None;
            if !cancelled {
                self.out.push_back(Output::AgentMedia(MediaCommand::Close));
                self.out.push_back(Output::Agent(AgentEvent::Failed {
                    offer,
                    status: Some(resp.status.0),
                }));
            }
            return;
        }
        // Only the first 2xx goes on to connect the call.
        let via = via_spec(self.config.sip_addr, Transport::Udp);
        let Some(first) = ack_2xx(
            &mut leg.dialog,
            &leg.invite,
            resp,
            &via,
            &mut self.rng,
            &mut self.out,
            leg.destination,
        ) else {
            return;
        };
        if first {
            if leg.cancelled || !matches!(self.state, State::Confirmed | State::Parked) {
                // Answered after we gave up: hang up on the agent at once.
                if let Some(d) = &mut leg.dialog {
                    let bye = d.create_request(Method::Bye, &via, &mut self.rng);
                    send_to_agent(&mut self.out, leg.destination, bye);
                }
                self.agent = None;
                return;
            }
            let answer = sdp::SessionDescription::parse(&resp.body).ok();
            match answer.and_then(|a| sdp::parse_answer(&leg.offer_sdp, &a).ok()) {
                Some((remote, direction)) => {
                    self.out
                        .push_back(Output::AgentMedia(MediaCommand::Configure { remote }));
                    self.out
                        .push_back(Output::AgentMedia(MediaCommand::SetDirection(direction)));
                }
                None => {
                    tracing::warn!("the agent's answer is not usable SDP: hanging up on the agent");
                    if let Some(d) = &mut leg.dialog {
                        let bye = d.create_request(Method::Bye, &via, &mut self.rng);
                        send_to_agent(&mut self.out, leg.destination, bye);
                    }
                    self.agent = None;
                    self.out.push_back(Output::AgentMedia(MediaCommand::Close));
                    self.out.push_back(Output::Agent(AgentEvent::Failed {
                        offer,
                        status: Some(488),
                    }));
                    return;
                }
            }
            if matches!(self.state, State::Parked) {
                // A callback: the agent is taken; now the customer's phone rings.
                self.out.push_back(Output::Agent(AgentEvent::Answered { offer }));
                self.dial_customer(now);
                return;
            }
            // Connected: the hold music stops, the flow ends (the call stays with the agent), media joins.
            if let Some(w) = self.waiting.take() {
                self.out.push_back(Output::Media(MediaCommand::StopPlay));
                self.ivr
                    .handle_queue_result(now, w.request_id, ivr::QueueOutcome::Connected);
                self.drain_ivr(now);
            }
            self.out.push_back(Output::Bridge);
            self.out.push_back(Output::Agent(AgentEvent::Answered { offer }));
        }
    }

    /// A request from the agent's phone inside the agent leg (BYE, re-INVITE, INFO…).
    fn handle_agent_request(&mut self, now: Instant, key: TxnKey, req: Request) {
        let Some(leg) = &mut self.agent else {
            self.reply(key, &req, StatusCode::CALL_TRANSACTION_DOES_NOT_EXIST);
            return;
        };
        if let Some(d) = &mut leg.dialog {
            if let Err(e) = d.validate_in_dialog(&req) {
                self.reply(key, &req, e.status());
                return;
            }
        }
        match req.method {
            Method::Bye => {
                let resp = sip_dialog::uas_response(&req, StatusCode::OK, "", None);
                self.out.push_back(Output::Respond { key, response: resp });
                let offer = leg.offer;
                self.agent = None;
                self.out.push_back(Output::AgentMedia(MediaCommand::Close));
                self.out.push_back(Output::Agent(AgentEvent::Ended {
                    offer,
                    by_agent: true,
                }));
                self.end(now, EndReason::AgentHangup, true);
            }
            // Hold from the agent's phone, INFO, OPTIONS: accepted without changing the caller's side.
            _ => {
                let resp = sip_dialog::uas_response(&req, StatusCode::OK, "", None);
                self.out.push_back(Output::Respond { key, response: resp });
            }
        }
    }

    /// A response to a request this session sent (REFER, BYE, the agent's INVITE).
    pub fn handle_response(&mut self, now: Instant, resp: &Response) {
        let Ok(cseq) = resp.headers.cseq() else { return };
        let agent_leg = self
            .agent_call_id()
            .is_some_and(|id| resp.headers.call_id().ok() == Some(id));
        if agent_leg {
            if cseq.method == Method::Invite {
                self.handle_agent_response(now, resp);
            }
            return;
        }
        if self.callback_number.is_some()
            && cseq.method == Method::Invite
            && resp.headers.call_id().ok() == Some(self.sip_call_id())
        {
            self.handle_customer_response(now, resp);
            return;
        }
        if cseq.method == Method::Refer && Some(cseq.seq) == self.refer_cseq && resp.status.is_final() {
            self.refer_cseq = None;
            let reason = if resp.status.is_success() {
                EndReason::Transferred
            } else {
                EndReason::FlowHangup
            };
            if !resp.status.is_success() {
                tracing::warn!(status = resp.status.0, "the caller's phone refused the transfer");
            }
            self.end(now, reason, true);
        }
    }

    /// One of our requests got no final response in time (Timer B/F).
    pub fn handle_request_timeout(&mut self, now: Instant) {
        if self.refer_cseq.take().is_some() {
            self.end(now, EndReason::FlowHangup, true);
            return;
        }
        // The customer's phone (or the trunk) never answered a callback's INVITE (Timer B).
        if matches!(self.state, State::Dialing { .. })
            && self.agent.as_ref().is_some_and(|a| a.dialog.is_some())
        {
            self.end(now, EndReason::CallbackFailed, false);
            return;
        }
        // The agent's phone never answered our INVITE (Timer B).
        if let Some(leg) = &self.agent {
            if leg.dialog.is_none() {
                let offer = leg.offer;
                let cancelled = leg.cancelled;
                self.agent = None;
                if !cancelled {
                    self.out.push_back(Output::AgentMedia(MediaCommand::Close));
                    self.out
                        .push_back(Output::Agent(AgentEvent::Failed { offer, status: None }));
                }
            }
        }
    }

    /// The answer to an [`IoRequest`].
    pub fn handle_io_result(&mut self, now: Instant, request_id: u64, result: IoResult) {
        if !matches!(self.state, State::Confirmed) {
            return;
        }
        match result {
            IoResult::Http(outcome) => self.ivr.handle_http_result(now, request_id, outcome),
            IoResult::Lookup(outcome) => self.ivr.handle_lookup_result(now, request_id, outcome),
        }
        self.drain_ivr(now);
    }

    /// Ends the call now (engine shutdown): BYE if answered, 503 if still ringing.
    pub fn shutdown(&mut self, now: Instant) {
        if let State::Ringing { invite_key, .. } = &self.state {
            let invite_key = invite_key.clone();
            let mut resp = self.response(&self.invite, StatusCode::SERVICE_UNAVAILABLE);
            resp.headers.set(HeaderName::RetryAfter, "30");
            self.out.push_back(Output::Respond {
                key: invite_key,
                response: resp,
            });
            self.end(now, EndReason::Shutdown, false);
        } else {
            self.end(now, EndReason::Shutdown, true);
        }
    }

    /// Ends the call: optionally BYE, then close media and wait for its statistics.
    fn end(&mut self, now: Instant, reason: EndReason, send_bye: bool) {
        if matches!(self.state, State::Closing { .. } | State::Done) {
            return;
        }
        if send_bye {
            if let Some(d) = &mut self.dialog {
                let via = via_spec(self.config.sip_addr, self.transport);
                let request = d.create_request(Method::Bye, &via, &mut self.rng);
                let destination = self.source;
                self.out.push_back(Output::Send {
                    request,
                    destination,
                    transport: self.transport,
                });
            }
        }
        let parked = matches!(self.state, State::Parked);
        if (self.waiting.take().is_some() || parked) && self.agent.is_none() {
            self.out.push_back(Output::Queue(QueueRequest::Leave));
        }
        if let State::Dialing { .. } = self.state {
            // The customer's phone is still ringing: stop it.
            self.out.push_back(Output::Send {
                request: sip_dialog::cancel_for(&self.invite),
                destination: self.source,
                transport: Transport::Udp,
            });
        }
        if let Some(leg) = self.agent.take() {
            let via = via_spec(self.config.sip_addr, Transport::Udp);
            match leg.dialog {
                Some(mut d) if reason != EndReason::AgentHangup => {
                    let bye = d.create_request(Method::Bye, &via, &mut self.rng);
                    send_to_agent(&mut self.out, leg.destination, bye);
                    self.out.push_back(Output::Agent(AgentEvent::Ended {
                        offer: leg.offer,
                        by_agent: false,
                    }));
                }
                Some(_) => {}
                None if !leg.cancelled => {
                    let cancel = sip_dialog::cancel_for(&leg.invite);
                    send_to_agent(&mut self.out, leg.destination, cancel);
                    self.out.push_back(Output::Agent(AgentEvent::Failed {
                        offer: leg.offer,
                        status: None,
                    }));
                }
                None => {}
            }
            self.out.push_back(Output::AgentMedia(MediaCommand::Close));
        }
        self.end_reason = Some(reason);
        self.out.push_back(Output::Media(MediaCommand::Close));
        self.state = State::Closing {
            reason,
            deadline: now + self.config.media_close_grace,
        };
    }

    fn finish(&mut self, now: Instant, reason: EndReason, media: Option<LegStats>) {
        let (keypresses, trail) = self.masked_record();
        self.out.push_back(Output::Record(Record::Final {
            at: now,
            reason,
            keypresses,
            trail,
            media,
            fields: std::mem::take(&mut self.fields),
        }));
        self.state = State::Done;
    }

    /// Runs what is due at `now`: the delayed answer, the flow's timers, the media grace period.
    pub fn handle_timeout(&mut self, now: Instant) {
        match &self.state {
            State::Ringing {
                invite_key,
                answer_at,
            } if *answer_at <= now => {
                let key = invite_key.clone();
                self.answer(now, key);
            }
            State::Closing { reason, deadline } if *deadline <= now => {
                let reason = *reason;
                self.finish(now, reason, None);
            }
            State::Parked if self.agent_ring_deadline.is_some_and(|t| t <= now) => {
                self.agent_ring_deadline = None;
                if let Some(offer) = self
                    .agent
                    .as_ref()
                    .filter(|a| a.dialog.is_none())
                    .map(|a| a.offer)
                {
                    tracing::info!("the agent did not answer their outbound call in time");
                    self.withdraw_offer(now, offer);
                    self.agent = None;
                    self.out
                        .push_back(Output::Agent(AgentEvent::Failed { offer, status: None }));
                }
            }
            State::Dialing { deadline } if *deadline <= now => {
                tracing::info!("the customer did not answer the callback in time");
                self.end(now, EndReason::CallbackFailed, false);
            }
            State::Confirmed
                if self
                    .waiting
                    .as_ref()
                    .and_then(|w| w.deadline)
                    .is_some_and(|t| t <= now) =>
            {
                if let Some(w) = self.waiting.take() {
                    self.out.push_back(Output::Media(MediaCommand::StopPlay));
                    let left = ivr::QueueOutcome::Left {
                        reason: "timeout".into(),
                    };
                    self.ivr.handle_queue_result(now, w.request_id, left);
                    self.drain_ivr(now);
                }
            }
            State::Confirmed if self.ivr.poll_timeout().is_some_and(|t| t <= now) => {
                self.ivr.handle_timeout(now);
                self.drain_ivr(now);
            }
            _ => {}
        }
    }

    /// The next time [`Self::handle_timeout`] has work.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match &self.state {
            State::Ringing { answer_at, .. } => Some(*answer_at),
            State::Closing { deadline, .. } | State::Dialing { deadline } => Some(*deadline),
            State::Parked => self.agent_ring_deadline,
            State::Confirmed => {
                let queue = self.waiting.as_ref().and_then(|w| w.deadline);
                [self.ivr.poll_timeout(), queue].into_iter().flatten().min()
            }
            _ => None,
        }
    }

    /// The next output to act on.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// True once the final record was emitted: the shard can drop the session.
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done) && self.out.is_empty()
    }

    /// True while the call is being ended (BYE sent or received, media closing).
    pub fn is_ending(&self) -> bool {
        matches!(self.state, State::Closing { .. } | State::Done)
    }

    /// The caller's Call-ID.
    pub fn sip_call_id(&self) -> &str {
        self.invite.headers.call_id().unwrap_or("")
    }
}

fn via_spec(addr: SocketAddr, transport: Transport) -> sip_dialog::ViaSpec {
    let host = match addr.ip() {
        IpAddr::V4(ip) => sip_msg::Host::V4(ip),
        IpAddr::V6(ip) => sip_msg::Host::V6(ip),
    };
    let name = match transport {
        Transport::Udp => "UDP",
        Transport::Tcp => "TCP",
    };
    sip_dialog::ViaSpec::new(name, host, Some(addr.port()))
}

/// The user part of a request's From (the caller's number), or empty.
fn from_user(req: &Request) -> String {
    req.headers
        .from()
        .ok()
        .and_then(|f| f.uri.user().map(str::to_owned))
        .unwrap_or_default()
}

/// Forms the dialog on the first 2xx to one of our INVITEs and ACKs every 2xx, retransmissions included
/// (RFC 3261 13.2.2.4). Returns whether this 2xx was the first; `None` when it forms no dialog.
fn ack_2xx(
    dialog: &mut Option<sip_dialog::Dialog>,
    invite: &Request,
    resp: &Response,
    via: &sip_dialog::ViaSpec,
    rng: &mut StdRng,
    out: &mut std::collections::VecDeque<Output>,
    destination: SocketAddr,
) -> Option<bool> {
    let first = dialog.is_none();
    if first {
        match sip_dialog::Dialog::new_uac(invite, resp) {
            Ok(d) => *dialog = Some(d),
            Err(e) => {
                tracing::warn!(error = %e, "a 2xx that forms no dialog");
                return None;
            }
        }
    }
    let d = dialog.as_mut()?;
    let ack = d.create_request(Method::Ack, via, rng);
    out.push_back(Output::Stateless {
        message: sip_msg::Message::Request(ack),
        destination,
        transport: Transport::Udp,
    });
    Some(first)
}

/// Queues a request towards the agent's phone (the agent leg is always UDP today).
fn send_to_agent(out: &mut std::collections::VecDeque<Output>, destination: SocketAddr, request: Request) {
    out.push_back(Output::Send {
        request,
        destination,
        transport: Transport::Udp,
    });
}

fn verify_method_name(m: ivr::VerifyMethod) -> &'static str {
    match m {
        ivr::VerifyMethod::Ani => "ani",
        ivr::VerifyMethod::KeyedNumber => "keyed_number",
        ivr::VerifyMethod::KeyedId => "keyed_id",
        _ => "other",
    }
}

fn source_name(s: DigitSource) -> &'static str {
    match s {
        DigitSource::Rfc4733 => "rfc4733",
        DigitSource::SipInfo => "sip_info",
        DigitSource::Inband => "inband",
    }
}
