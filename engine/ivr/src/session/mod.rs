//! The interpreter: one [`Session`] per call, a sans-IO step machine.

mod input;
mod io;
#[cfg(test)]
pub(crate) mod tests;
#[cfg(test)]
mod tests_nodes;
mod timer;

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use media::Digit;

use self::timer::{Timer, TimerTable};
use crate::flow::{CondInput, Flow, Kind, NodeId};
use crate::limits::{
    MAX_STEPS_PER_INPUT, MAX_SUBFLOW_DEPTH, MAX_TRAIL, MAX_TYPEAHEAD, MAX_VALUE_LEN, MAX_VARIABLES,
};
pub use crate::model::HttpMethod;

/// `reason` of the hangup when a node without `next` (or a `return`) ends the top-level flow.
pub const REASON_END_OF_FLOW: &str = "end of flow";
/// `reason` of the hangup when one input made the flow enter more than
/// [`MAX_STEPS_PER_INPUT`] nodes.
pub const REASON_STEP_LIMIT: &str = "step limit";
/// `reason` of the hangup when a subflow call would nest deeper than [`MAX_SUBFLOW_DEPTH`].
pub const REASON_SUBFLOW_DEPTH: &str = "subflow depth";
/// `reason` of the hangup when a subflow node runs in a flow that did not go through
/// [`crate::link`].
pub const REASON_NOT_LINKED: &str = "subflow not linked";
/// `reason` of [`IvrEvent::Finished`] after [`Action::Transfer`] (no hangup).
pub const REASON_TRANSFER: &str = "transfer";
/// `reason` of [`IvrEvent::Finished`] when a queue connected the call to an agent (no hangup).
pub const REASON_CONNECTED: &str = "connected";
/// The character that stands for each keyed digit of a verify_identity node in events.
pub const MASK: char = '*';
/// The `variable` of the [`IvrEvent::InputCollected`] a verify_identity node emits.
pub const IDENTITY_INPUT: &str = "identity";

/// Who is calling whom, and when; readable in flows as `${caller}`, `${callee}` and `${call_id}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallContext {
    pub caller: String,
    pub callee: String,
    pub call_id: String,
    /// Wall-clock time when the call started (the session's `start`). The session computes the
    /// wall time of any later input as `wall_clock + (now - start)`.
    pub wall_clock: Timestamp,
    /// The engine's configured time zone; a flow's own `timezone:` overrides it.
    pub time_zone: TimeZone,
}

impl Default for CallContext {
    /// Empty numbers, the Unix epoch, UTC.
    fn default() -> Self {
        Self {
            caller: String::new(),
            callee: String::new(),
            call_id: String::new(),
            wall_clock: Timestamp::UNIX_EPOCH,
            time_zone: TimeZone::UTC,
        }
    }
}

/// Where a verify_identity node looks identities up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupSource {
    /// GET `url` (with `${key}` still in it: the engine fills in the keyed value, URL-encoded)
    /// and read a JSON customer.
    Http {
        url: String,
        timeout: Duration,
        retries: u32,
    },
    /// A table in the engine's database.
    Table { table: String },
    /// A static list from the engine's config (`directory:`).
    Static { list: String },
}

/// What is looked up. `Debug` masks the value, so logging an action never shows it.
#[derive(Clone, PartialEq, Eq)]
pub enum IdentityKey {
    CustomerId(String),
    Phone(String),
}

impl IdentityKey {
    /// The value looked up.
    pub fn value(&self) -> &str {
        match self {
            Self::CustomerId(v) | Self::Phone(v) => v,
        }
    }
}

impl fmt::Debug for IdentityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let masked = mask(self.value());
        match self {
            Self::CustomerId(_) => f.debug_tuple("CustomerId").field(&masked).finish(),
            Self::Phone(_) => f.debug_tuple("Phone").field(&masked).finish(),
        }
    }
}

/// One `MASK` per character.
pub(crate) fn mask(value: &str) -> String {
    value.chars().map(|_| MASK).collect()
}

/// The engine's answer to [`Action::Http`].
#[derive(Debug, Clone, PartialEq)]
pub enum HttpOutcome {
    /// A response arrived (any status). A body that is not JSON is `Null`.
    Response { status: u16, body: serde_json::Value },
    /// No response after every attempt.
    Failed { reason: String },
}

/// The engine's answer to [`Action::Lookup`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupOutcome {
    Found {
        customer_id: String,
        /// The customer's phone numbers on file (compared with the caller's number).
        phones: Vec<String>,
        /// Become variables `customer_<name>` (characters other than letters, digits and `_`
        /// become `_`).
        attributes: BTreeMap<String, String>,
    },
    NotFound,
    Failed {
        reason: String,
    },
}

/// The engine's answer to [`Action::Enqueue`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueOutcome {
    /// An agent answered: the flow ends (reason `connected`), the call goes on.
    Connected,
    /// The queue gave the call back: `timeout`, `overflow`, `unavailable`, …
    Left { reason: String },
}

/// A command for the call: the owner carries it out and, where it says so, reports back.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Action {
    /// Play these prompts in order; report [`Session::handle_play_finished`] with `play_id`
    /// when the last one ends.
    Play { play_id: u64, prompts: Vec<String> },
    /// Stop the prompt that is playing (the caller barged in). A late `play_finished` for it is
    /// ignored.
    StopPlay,
    /// Hang up the call.
    Hangup { reason: String },
    /// An HTTP data dip. The engine performs it (with `timeout` per attempt and `retries` extra
    /// attempts) and answers with [`Session::handle_http_result`].
    Http {
        request_id: u64,
        method: HttpMethod,
        /// Already interpolated.
        url: String,
        headers: Vec<(String, String)>,
        body: Option<serde_json::Value>,
        timeout: Duration,
        retries: u32,
    },
    /// An identity lookup. The engine answers with [`Session::handle_lookup_result`].
    Lookup {
        request_id: u64,
        source: LookupSource,
        key: IdentityKey,
    },
    /// Stop recording the call: verification digits are about to be keyed.
    PauseRecording,
    /// Record again (after [`Action::PauseRecording`]).
    ResumeRecording,
    /// Hand the call to a queue; the interpreter then waits ([`Session::is_finished`] stays
    /// false) until [`Session::handle_queue_result`].
    Enqueue {
        request_id: u64,
        queue: String,
        /// 0 to 9, higher first.
        priority: u8,
        /// Skill to minimum level.
        skills: BTreeMap<String, u8>,
        timeout: Option<Duration>,
    },
    /// Transfer the caller and end the flow (the engine decides how: REFER or bridge).
    Transfer { target: String },
}

/// How a caller was (or was not) verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum VerifyMethod {
    /// The caller's own number is on file (`ani: accept`); nothing was keyed.
    Ani,
    /// The caller keyed a phone number (`ask: phone`).
    KeyedNumber,
    /// The caller keyed a customer id (`ask: customer_id`).
    KeyedId,
}

impl VerifyMethod {
    /// `ani`, `keyed_number` or `keyed_id` (the value of the variable `verify_method`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ani => "ani",
            Self::KeyedNumber => "keyed_number",
            Self::KeyedId => "keyed_id",
        }
    }
}

/// Something that happened in the flow, for CTI, the call record and logs. Node names of a
/// subflow are written `flow/node`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IvrEvent {
    NodeEntered {
        node: String,
    },
    /// A collect got a valid value, a menu with a `variable` got a key, or a verify_identity
    /// got a value to look up (then `variable` is [`IDENTITY_INPUT`] and `value` is masked:
    /// one [`MASK`] per digit).
    InputCollected {
        node: String,
        variable: String,
        value: String,
    },
    /// A menu option was chosen.
    OptionSelected {
        node: String,
        key: Digit,
        label: String,
    },
    /// A collect, menu or verify_identity timed out without a digit.
    NoInput {
        node: String,
    },
    /// A collect got a value that failed validation, a menu got a key it does not offer, or a
    /// verify_identity got a value that was too short or not found.
    InvalidInput {
        node: String,
    },
    /// The outcome of a verify_identity node, for the call record and the agent.
    IdentityVerified {
        node: String,
        verified: bool,
        method: VerifyMethod,
        /// Keyed attempts (0 when verified by ANI).
        attempts: u32,
        customer_id: Option<String>,
    },
    /// Whether the caller's number is one of the found customer's numbers on file (`ani:
    /// accept` or `record`). Comes just before `IdentityVerified`.
    AniChecked {
        node: String,
        matched: bool,
    },
    /// An http node got its answer (`ok`: a 2xx status) or gave up (`status: None`).
    HttpCompleted {
        node: String,
        ok: bool,
        status: Option<u16>,
    },
    /// A value for the call record: a collect's or menu's variable with `store: true` (the
    /// survey's `rating`).
    RecordField {
        node: String,
        name: String,
        value: String,
    },
    /// The flow ended: a hangup reason, [`REASON_TRANSFER`] or [`REASON_CONNECTED`].
    Finished {
        reason: String,
    },
}

/// One line of the keypress trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrailEntry {
    /// Time since [`Session::start`].
    pub at: Duration,
    /// The node entered, or the node that was current when the digit was pressed (`flow/node`
    /// inside a subflow).
    pub node: String,
    pub kind: TrailKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TrailKind {
    /// The flow entered `node`.
    Entered,
    /// The caller pressed `digit`. `buffered` is true when `node` did not take input then and
    /// the digit was kept as type-ahead for the next menu, collect or verify_identity.
    Digit { digit: Digit, buffered: bool },
    /// The caller pressed a key whose value is hidden: it was keyed at (or typed ahead into) a
    /// verify_identity node.
    MaskedDigit { buffered: bool },
}

/// A menu waiting for a key, as the app touch menu (ITR) shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MenuView {
    pub node: String,
    pub title: Option<String>,
    pub options: Vec<MenuViewOption>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MenuViewOption {
    pub key: Digit,
    pub label: String,
}

/// What the interpreter waits for.
#[derive(Debug)]
enum State {
    Idle,
    /// A play node's prompts are playing.
    Playing {
        node: NodeId,
        play_id: u64,
    },
    Collecting(Collecting),
    Choosing(Choosing),
    Verifying(Verifying),
    /// An http node waits for its answer.
    Fetching {
        node: NodeId,
        request_id: u64,
    },
    /// An enqueue node waits for the queue.
    Queued {
        node: NodeId,
        request_id: u64,
    },
    Finished,
}

/// Digits being keyed, and the prompt playing meanwhile.
#[derive(Debug, Default)]
struct Keying {
    digits: String,
    prompt: Option<u64>,
}

#[derive(Debug)]
struct Collecting {
    node: NodeId,
    attempt: u32,
    keying: Keying,
}

#[derive(Debug)]
struct Choosing {
    node: NodeId,
    attempt: u32,
    prompt: Option<u64>,
}

#[derive(Debug)]
struct Verifying {
    node: NodeId,
    /// Keyed attempts started.
    attempt: u32,
    phase: VerifyPhase,
    /// Whether the caller's number belongs to the customer, once known.
    ani_match: Option<bool>,
}

#[derive(Debug)]
enum VerifyPhase {
    /// `ani: accept`: looking up the caller's number.
    AniLookup {
        request_id: u64,
    },
    Keying(Keying),
    /// Looking up the keyed value.
    Lookup {
        request_id: u64,
    },
}

/// What to do after a step.
enum Next {
    Enter(NodeId),
    Wait,
    /// Hang up with this reason.
    End(String),
    /// End the flow without hanging up (transfer, connected).
    Leave(String),
}

#[derive(Clone, Copy)]
enum Failure {
    Timeout,
    Invalid,
}

/// A flow that called a subflow: where to go on when the subflow returns.
#[derive(Debug)]
struct Frame {
    flow: Arc<Flow>,
    next: Option<NodeId>,
}

/// One call running one flow: a sans-IO step machine.
///
/// The session never reads a clock and never does IO. Its owner pushes inputs with `now`
/// (`start`, `handle_digit`, `handle_play_finished`, `handle_timeout`, `handle_http_result`,
/// `handle_lookup_result`, `handle_queue_result`) and, after each, drains
/// [`Session::poll_action`] (media and call commands) and [`Session::poll_event`] (for CTI and
/// the call record) until both are empty, then waits until [`Session::poll_timeout`] or the
/// next input. Answers carry the `request_id` of their action; stale or unknown ids are
/// ignored.
///
/// ```text
///            start                       prompt ended
///  Idle ───────────────▶ enter(node) ─────────────────────┐
///                          │ play ──▶ Playing ─────────────┘ (to `next`)
///                          │ collect ─▶ Collecting ─ digits/timeouts ─▶ next | retry | on_fail
///                          │ menu ────▶ Choosing ─── key/timeout ─────▶ option | retry | on_fail
///                          │ verify_identity ─▶ Verifying: [ANI lookup] → keying → lookup
///                          │                     ─▶ on_success | retry | on_failure | on_error
///                          │ http ────▶ Fetching ─ answer/guard ─────▶ next | on_failure
///                          │ enqueue ─▶ Queued ─── answer/guard ─────▶ Finished | on_timeout | on_left
///                          │ subflow ─▶ enter(its start), back to `next` when it ends
///                          │ goto/set/switch ─▶ enter(target)   (no wait; counted against the step cap)
///                          │ transfer ─▶ Finished (Action::Transfer)
///                          └ hangup / end of top-level flow ─▶ Finished (Action::Hangup)
/// ```
///
/// Digits pressed while nothing takes input (a play node, a prompt with `barge_in: false`, an
/// http or queue wait) are kept as type-ahead (at most [`MAX_TYPEAHEAD`]) and feed the next
/// menu, collect or verify_identity, which then skips its prompt. A digit during a menu's or
/// collect's prompt stops it ([`Action::StopPlay`]).
#[derive(Debug)]
pub struct Session {
    /// The top-level flow.
    root: Arc<Flow>,
    /// The flow running now (the root, or a subflow).
    current: Arc<Flow>,
    /// Callers of the running subflow, innermost last.
    stack: Vec<Frame>,
    ctx: CallContext,
    started_at: Option<Instant>,
    state: State,
    variables: BTreeMap<String, String>,
    /// Type-ahead digits and the index of their trail entry (to mask it if a verify_identity
    /// takes the digit).
    typeahead: VecDeque<(Digit, Option<usize>)>,
    timers: TimerTable,
    next_play_id: u64,
    next_request_id: u64,
    recording_paused: bool,
    steps: u32,
    actions: VecDeque<Action>,
    events: VecDeque<IvrEvent>,
    trail: Vec<TrailEntry>,
}

impl Session {
    pub fn new(flow: Arc<Flow>, ctx: CallContext) -> Self {
        Self {
            root: Arc::clone(&flow),
            current: flow,
            stack: Vec::new(),
            ctx,
            started_at: None,
            state: State::Idle,
            variables: BTreeMap::new(),
            typeahead: VecDeque::new(),
            timers: TimerTable::default(),
            next_play_id: 1,
            next_request_id: 1,
            recording_paused: false,
            steps: 0,
            actions: VecDeque::new(),
            events: VecDeque::new(),
            trail: Vec::new(),
        }
    }

    /// Sets the flow's declared variables and enters the start node. Later calls do nothing.
    pub fn start(&mut self, now: Instant) {
        if !matches!(self.state, State::Idle) {
            return;
        }
        self.started_at = Some(now);
        self.steps = 0;
        self.declare(&Arc::clone(&self.current));
        let start = self.current.start;
        self.drive(now, Next::Enter(start));
    }

    /// The next command for the call.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The next event for CTI and the call record.
    pub fn poll_event(&mut self) -> Option<IvrEvent> {
        self.events.pop_front()
    }

    /// When to call [`Session::handle_timeout`] next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next().map(|(at, _)| at)
    }

    /// True once the flow has ended: after [`Action::Hangup`], after [`Action::Transfer`], or
    /// when a queue connected the call. A session waiting for a queue is not finished.
    pub fn is_finished(&self) -> bool {
        matches!(self.state, State::Finished)
    }

    /// Every node entered and every digit pressed, in order (at most [`MAX_TRAIL`] entries).
    /// Digits keyed for a verify_identity node are [`TrailKind::MaskedDigit`].
    pub fn trail(&self) -> &[TrailEntry] {
        &self.trail
    }

    /// The flow's variables (the built-ins `caller`, `callee` and `call_id` are not in here).
    pub fn variables(&self) -> &BTreeMap<String, String> {
        &self.variables
    }

    /// The top-level flow this session runs.
    pub fn flow(&self) -> &Arc<Flow> {
        &self.root
    }

    /// True while a verify_identity node is current: a digit pressed now is secret, and
    /// whoever logs or records keypresses outside the session must mask it.
    pub fn input_is_masked(&self) -> bool {
        matches!(self.state, State::Verifying(_))
    }

    /// The menu waiting for a key, if any, for the app touch menu (ITR). A tap is sent as
    /// [`Session::handle_digit`] with the option's key.
    pub fn menu(&self) -> Option<MenuView> {
        let State::Choosing(m) = &self.state else {
            return None;
        };
        let Kind::Menu(spec) = &self.current.node(m.node).kind else {
            return None;
        };
        Some(MenuView {
            node: self.node_name(m.node),
            title: spec.title.clone(),
            options: spec
                .options
                .iter()
                .map(|o| MenuViewOption {
                    key: o.key,
                    label: o.label.clone(),
                })
                .collect(),
        })
    }

    // ----- stepping -----

    /// Runs transitions until the flow waits or ends, enforcing the step cap.
    fn drive(&mut self, now: Instant, mut next: Next) {
        loop {
            match next {
                Next::Wait => return,
                Next::End(reason) => return self.finish(reason, true),
                Next::Leave(reason) => return self.finish(reason, false),
                Next::Enter(id) => {
                    self.steps += 1;
                    if self.steps > MAX_STEPS_PER_INPUT {
                        return self.finish(REASON_STEP_LIMIT.to_owned(), true);
                    }
                    next = self.enter(now, id);
                }
            }
        }
    }

    fn enter(&mut self, now: Instant, id: NodeId) -> Next {
        let flow = Arc::clone(&self.current);
        let node = flow.node(id);
        self.timers.clear_all();
        self.resume_recording();
        let name = self.qualified(&node.name);
        self.push_trail(now, &name, TrailKind::Entered);
        self.events.push_back(IvrEvent::NodeEntered { node: name });
        match &node.kind {
            Kind::Play {
                prompts,
                say_digits,
                next,
                ..
            } => {
                let mut prompts = prompts.clone();
                if let Some(var) = say_digits {
                    let value = self.value(var).unwrap_or_default();
                    prompts.extend(
                        value
                            .chars()
                            .filter(char::is_ascii_digit)
                            .map(|d| format!("digit-{d}")),
                    );
                }
                if prompts.is_empty() {
                    return self.then(*next);
                }
                let play_id = self.play(prompts);
                self.state = State::Playing { node: id, play_id };
                Next::Wait
            }
            Kind::Collect(spec) => {
                self.state = State::Collecting(Collecting {
                    node: id,
                    attempt: 0,
                    keying: Keying::default(),
                });
                self.begin_collect(now, spec, None)
            }
            Kind::Menu(spec) => {
                self.state = State::Choosing(Choosing {
                    node: id,
                    attempt: 0,
                    prompt: None,
                });
                self.begin_menu(now, spec, None)
            }
            Kind::Verify(spec) => self.begin_verify(now, id, spec),
            Kind::Http(spec) => self.begin_http(now, id, spec),
            Kind::Goto { target } => Next::Enter(*target),
            Kind::Set { assignments, next } => {
                let values: Vec<(String, String)> = assignments
                    .iter()
                    .map(|(name, template)| (name.clone(), template.render_with(&|v: &str| self.value(v))))
                    .collect();
                for (name, value) in values {
                    self.set_variable(name, value);
                }
                self.then(*next)
            }
            Kind::Switch { cases, default } => {
                let (date, minute) = self.local_time(now);
                let value = |name: &str| self.value(name);
                let input = CondInput {
                    value: &value,
                    date,
                    minute,
                    calendars: &flow.calendars,
                };
                let target = cases
                    .iter()
                    .find(|(cond, _)| cond.holds(&input))
                    .map_or(*default, |(_, next)| *next);
                Next::Enter(target)
            }
            Kind::Enqueue(spec) => self.begin_enqueue(now, id, spec),
            Kind::Transfer { to } => {
                let target = to.render_with(&|v: &str| self.value(v));
                self.actions.push_back(Action::Transfer { target });
                Next::Leave(REASON_TRANSFER.to_owned())
            }
            Kind::Subflow { slot, next } => {
                let Some(sub) = flow.subflows.get(*slot).and_then(|s| s.flow.clone()) else {
                    return Next::End(REASON_NOT_LINKED.to_owned());
                };
                if self.stack.len() + 2 > MAX_SUBFLOW_DEPTH {
                    return Next::End(REASON_SUBFLOW_DEPTH.to_owned());
                }
                self.stack.push(Frame {
                    flow: Arc::clone(&flow),
                    next: *next,
                });
                self.declare(&sub);
                let start = sub.start;
                self.current = sub;
                Next::Enter(start)
            }
            Kind::Return => self.flow_ended(),
            Kind::Hangup { reason } => Next::End(reason.clone()),
        }
    }

    /// Goes on at `next`, or ends the running flow.
    fn then(&mut self, next: Option<NodeId>) -> Next {
        match next {
            Some(id) => Next::Enter(id),
            None => self.flow_ended(),
        }
    }

    /// The running flow ended: a subflow returns to its caller's `next` (a caller without
    /// `next` ends too); the top-level flow hangs up.
    fn flow_ended(&mut self) -> Next {
        while let Some(frame) = self.stack.pop() {
            self.current = frame.flow;
            if let Some(next) = frame.next {
                return Next::Enter(next);
            }
        }
        Next::End(REASON_END_OF_FLOW.to_owned())
    }

    fn finish(&mut self, reason: String, hangup: bool) {
        self.timers.clear_all();
        self.typeahead.clear();
        self.resume_recording();
        self.state = State::Finished;
        if hangup {
            self.actions.push_back(Action::Hangup {
                reason: reason.clone(),
            });
        }
        self.events.push_back(IvrEvent::Finished { reason });
    }

    /// Sets a flow's declared variables that are not set yet.
    fn declare(&mut self, flow: &Flow) {
        for (name, value) in &flow.initial {
            if !self.variables.contains_key(name) {
                self.set_variable(name.clone(), value.clone());
            }
        }
    }

    /// Sets a variable, within [`MAX_VARIABLES`] and [`MAX_VALUE_LEN`]: a longer value is cut
    /// at the limit, a new variable past the limit is dropped.
    fn set_variable(&mut self, name: String, mut value: String) {
        if let Some((cut, _)) = value.char_indices().nth(MAX_VALUE_LEN) {
            value.truncate(cut);
        }
        if self.variables.len() >= MAX_VARIABLES && !self.variables.contains_key(&name) {
            return;
        }
        self.variables.insert(name, value);
    }

    fn pause_recording(&mut self) {
        if !self.recording_paused {
            self.recording_paused = true;
            self.actions.push_back(Action::PauseRecording);
        }
    }

    fn resume_recording(&mut self) {
        if self.recording_paused {
            self.recording_paused = false;
            self.actions.push_back(Action::ResumeRecording);
        }
    }

    fn play(&mut self, prompts: Vec<String>) -> u64 {
        let play_id = self.next_play_id;
        self.next_play_id += 1;
        self.actions.push_back(Action::Play { play_id, prompts });
        play_id
    }

    fn request_id(&mut self) -> u64 {
        let id = self.next_request_id;
        self.next_request_id += 1;
        id
    }

    /// The call's local date and minute of the day now, in the running flow's time zone.
    fn local_time(&self, now: Instant) -> (jiff::civil::Date, u16) {
        let elapsed = self
            .started_at
            .map_or(Duration::ZERO, |s| now.saturating_duration_since(s));
        let elapsed = SignedDuration::try_from(elapsed).unwrap_or(SignedDuration::ZERO);
        let wall = self
            .ctx
            .wall_clock
            .checked_add(elapsed)
            .unwrap_or(self.ctx.wall_clock);
        let tz = self.current.time_zone.as_ref().unwrap_or(&self.ctx.time_zone);
        let local = wall.to_zoned(tz.clone());
        let minute = u16::try_from(i32::from(local.hour()) * 60 + i32::from(local.minute())).unwrap_or(0);
        (local.date(), minute)
    }

    // ----- bookkeeping -----

    /// Keeps a digit for the next node that takes input.
    fn buffer(&mut self, now: Instant, node: NodeId, digit: Digit, masked: bool) {
        let index = self.record_digit(now, node, digit, true, masked);
        if self.typeahead.len() < MAX_TYPEAHEAD {
            self.typeahead.push_back((digit, index));
        }
    }

    /// Adds a digit to the trail; its index, if it fit.
    fn record_digit(
        &mut self,
        now: Instant,
        node: NodeId,
        digit: Digit,
        buffered: bool,
        masked: bool,
    ) -> Option<usize> {
        let name = self.node_name(node);
        let kind = if masked {
            TrailKind::MaskedDigit { buffered }
        } else {
            TrailKind::Digit { digit, buffered }
        };
        self.push_trail(now, &name, kind)
    }

    /// Hides a type-ahead digit that a verify_identity node took.
    fn mask_trail(&mut self, index: Option<usize>) {
        if let Some(entry) = index.and_then(|i| self.trail.get_mut(i)) {
            if let TrailKind::Digit { buffered, .. } = entry.kind {
                entry.kind = TrailKind::MaskedDigit { buffered };
            }
        }
    }

    fn push_trail(&mut self, now: Instant, node: &str, kind: TrailKind) -> Option<usize> {
        if self.trail.len() >= MAX_TRAIL {
            return None;
        }
        let at = self
            .started_at
            .map_or(Duration::ZERO, |s| now.saturating_duration_since(s));
        self.trail.push(TrailEntry {
            at,
            node: node.to_owned(),
            kind,
        });
        Some(self.trail.len() - 1)
    }

    /// A node's name as events and the trail show it: `flow/node` inside a subflow.
    fn qualified(&self, name: &str) -> String {
        if self.stack.is_empty() {
            name.to_owned()
        } else {
            format!("{}/{name}", self.current.name)
        }
    }

    fn node_name(&self, id: NodeId) -> String {
        self.qualified(&self.current.node(id).name)
    }

    /// A variable, or a built-in.
    fn value(&self, name: &str) -> Option<String> {
        self.variables
            .get(name)
            .cloned()
            .or_else(|| builtin(&self.ctx, name))
    }
}

fn builtin(ctx: &CallContext, name: &str) -> Option<String> {
    match name {
        "caller" => Some(ctx.caller.clone()),
        "callee" => Some(ctx.callee.clone()),
        "call_id" => Some(ctx.call_id.clone()),
        _ => None,
    }
}
