//! The interpreter: one [`Session`] per call, a sans-IO step machine.

#[cfg(test)]
mod tests;
mod timer;

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use media::Digit;

use self::timer::{Timer, TimerTable};
use crate::flow::{self, Flow, Kind, NodeId};
use crate::limits::{MAX_STEPS_PER_INPUT, MAX_TRAIL, MAX_TYPEAHEAD};

/// `reason` of the hangup when a node without `next` ends the flow.
pub const REASON_END_OF_FLOW: &str = "end of flow";
/// `reason` of the hangup when one input made the flow enter more than
/// [`MAX_STEPS_PER_INPUT`] nodes.
pub const REASON_STEP_LIMIT: &str = "step limit";

/// Who is calling whom; readable in flows as `${caller}`, `${callee}` and `${call_id}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallContext {
    pub caller: String,
    pub callee: String,
    pub call_id: String,
}

/// A command for the call: the owner carries it out and reports back.
#[derive(Debug, Clone, PartialEq, Eq)]
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
}

/// Something that happened in the flow, for CTI and logs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IvrEvent {
    NodeEntered {
        node: String,
    },
    /// A collect got a valid value, or a menu with a `variable` got a key.
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
    /// A collect or menu timed out without a digit.
    NoInput {
        node: String,
    },
    /// A collect got a value that failed validation, or a menu got a key it does not offer.
    InvalidInput {
        node: String,
    },
    Finished {
        reason: String,
    },
}

/// One line of the keypress trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrailEntry {
    /// Time since [`Session::start`].
    pub at: Duration,
    /// The node entered, or the node that was current when the digit was pressed.
    pub node: String,
    pub kind: TrailKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrailKind {
    /// The flow entered `node`.
    Entered,
    /// The caller pressed `digit`. `buffered` is true when `node` did not take input then and
    /// the digit was kept as type-ahead for the next collect or menu.
    Digit { digit: Digit, buffered: bool },
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
    Finished,
}

#[derive(Debug)]
struct Collecting {
    node: NodeId,
    attempt: u32,
    digits: String,
    /// The prompt playing, if any.
    prompt: Option<u64>,
}

#[derive(Debug)]
struct Choosing {
    node: NodeId,
    attempt: u32,
    prompt: Option<u64>,
}

/// What to do after a step.
enum Next {
    Enter(NodeId),
    Wait,
    End(String),
}

#[derive(Clone, Copy)]
enum Failure {
    Timeout,
    Invalid,
}

/// One call running one flow: a sans-IO step machine.
///
/// The session never reads a clock and never does IO. Its owner pushes inputs with `now`
/// (`start`, `handle_digit`, `handle_play_finished`, `handle_timeout`) and, after each, drains
/// [`Session::poll_action`] (media and call commands) and [`Session::poll_event`] (for CTI) until
/// both are empty, then waits until [`Session::poll_timeout`] or the next input.
///
/// ```text
///            start                       prompt ended
///  Idle ───────────────▶ enter(node) ─────────────────────┐
///                          │ play ──▶ Playing ─────────────┘ (to `next`)
///                          │ collect ─▶ Collecting ─ digits/timeouts ─▶ next | retry | on_fail
///                          │ menu ────▶ Choosing ─── key/timeout ─────▶ option | retry | on_fail
///                          │ goto/set ─▶ enter(target)        (no wait; counted against the step cap)
///                          └ hangup / no next ─▶ Finished (Action::Hangup)
/// ```
///
/// Digits pressed while nothing takes input (a play node, or a prompt with `barge_in: false`) are
/// kept as type-ahead (at most [`MAX_TYPEAHEAD`]) and feed the next collect or menu, which then
/// skips its prompt. A digit during a collect or menu prompt stops it ([`Action::StopPlay`]).
#[derive(Debug)]
pub struct Session {
    flow: Arc<Flow>,
    ctx: CallContext,
    started_at: Option<Instant>,
    state: State,
    variables: BTreeMap<String, String>,
    typeahead: VecDeque<Digit>,
    timers: TimerTable,
    next_play_id: u64,
    steps: u32,
    actions: VecDeque<Action>,
    events: VecDeque<IvrEvent>,
    trail: Vec<TrailEntry>,
}

impl Session {
    pub fn new(flow: Arc<Flow>, ctx: CallContext) -> Self {
        Self {
            flow,
            ctx,
            started_at: None,
            state: State::Idle,
            variables: BTreeMap::new(),
            typeahead: VecDeque::new(),
            timers: TimerTable::default(),
            next_play_id: 1,
            steps: 0,
            actions: VecDeque::new(),
            events: VecDeque::new(),
            trail: Vec::new(),
        }
    }

    /// Enters the start node. Later calls do nothing.
    pub fn start(&mut self, now: Instant) {
        if !matches!(self.state, State::Idle) {
            return;
        }
        self.started_at = Some(now);
        self.steps = 0;
        let start = self.flow.start;
        self.drive(now, Next::Enter(start));
    }

    /// A DTMF digit from the caller. Ignored before `start` and after the end.
    pub fn handle_digit(&mut self, now: Instant, digit: Digit) {
        self.steps = 0;
        let (node, prompt_playing) = match &self.state {
            State::Idle | State::Finished => return,
            State::Playing { node, .. } => {
                let node = *node;
                return self.buffer(now, node, digit);
            }
            State::Collecting(c) => (c.node, c.prompt.is_some()),
            State::Choosing(m) => (m.node, m.prompt.is_some()),
        };
        let flow = Arc::clone(&self.flow);
        let kind = &flow.node(node).kind;
        let barge_in = match kind {
            Kind::Collect(spec) => spec.barge_in,
            Kind::Menu(spec) => spec.barge_in,
            _ => return,
        };
        if prompt_playing && !barge_in {
            return self.buffer(now, node, digit);
        }
        if prompt_playing {
            self.stop_prompt();
        }
        self.record_digit(now, node, digit, false);
        let next = match kind {
            Kind::Collect(spec) => self.collect_digit(now, spec, digit).unwrap_or(Next::Wait),
            Kind::Menu(spec) => self.menu_digit(now, spec, digit),
            _ => return,
        };
        self.drive(now, next);
    }

    /// The media side finished playing `play_id`. Unknown or stale ids are ignored.
    pub fn handle_play_finished(&mut self, now: Instant, play_id: u64) {
        self.steps = 0;
        let flow = Arc::clone(&self.flow);
        let next = match &mut self.state {
            State::Playing {
                node,
                play_id: playing,
            } if *playing == play_id => match &flow.node(*node).kind {
                Kind::Play { next: Some(next), .. } => Next::Enter(*next),
                _ => Next::End(REASON_END_OF_FLOW.to_owned()),
            },
            State::Collecting(c) if c.prompt == Some(play_id) => {
                c.prompt = None;
                let Kind::Collect(spec) = &flow.node(c.node).kind else {
                    return;
                };
                self.collect_ready(now, spec)
            }
            State::Choosing(m) if m.prompt == Some(play_id) => {
                m.prompt = None;
                let Kind::Menu(spec) = &flow.node(m.node).kind else {
                    return;
                };
                self.menu_ready(now, spec)
            }
            _ => return,
        };
        self.drive(now, next);
    }

    /// Fires every timer due at `now`. Early calls do nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.steps = 0;
        let flow = Arc::clone(&self.flow);
        while let Some(timer) = self.timers.pop_expired(now) {
            let next = match (&self.state, timer) {
                (State::Collecting(c), Timer::NoInput) => {
                    let Kind::Collect(spec) = &flow.node(c.node).kind else {
                        return;
                    };
                    let node = self.node_name(c.node);
                    self.events.push_back(IvrEvent::NoInput { node });
                    self.retry_collect(now, spec, Failure::Timeout)
                }
                (State::Collecting(c), Timer::InterDigit) => {
                    let Kind::Collect(spec) = &flow.node(c.node).kind else {
                        return;
                    };
                    self.complete_collect(now, spec)
                }
                (State::Choosing(m), Timer::NoInput) => {
                    let Kind::Menu(spec) = &flow.node(m.node).kind else {
                        return;
                    };
                    let node = self.node_name(m.node);
                    self.events.push_back(IvrEvent::NoInput { node });
                    self.retry_menu(now, spec, Failure::Timeout)
                }
                _ => Next::Wait,
            };
            self.drive(now, next);
        }
    }

    /// The next command for the call.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The next event for CTI.
    pub fn poll_event(&mut self) -> Option<IvrEvent> {
        self.events.pop_front()
    }

    /// When to call [`Session::handle_timeout`] next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next().map(|(at, _)| at)
    }

    /// True once the flow has ended (an [`Action::Hangup`] was emitted).
    pub fn is_finished(&self) -> bool {
        matches!(self.state, State::Finished)
    }

    /// Every node entered and every digit pressed, in order (at most [`MAX_TRAIL`] entries).
    pub fn trail(&self) -> &[TrailEntry] {
        &self.trail
    }

    /// The flow's variables (the built-ins `caller`, `callee` and `call_id` are not in here).
    pub fn variables(&self) -> &BTreeMap<String, String> {
        &self.variables
    }

    /// The flow this session runs.
    pub fn flow(&self) -> &Arc<Flow> {
        &self.flow
    }

    // ----- stepping -----

    /// Runs transitions until the flow waits or ends, enforcing the step cap.
    fn drive(&mut self, now: Instant, mut next: Next) {
        loop {
            match next {
                Next::Wait => return,
                Next::End(reason) => return self.finish(reason),
                Next::Enter(id) => {
                    self.steps += 1;
                    if self.steps > MAX_STEPS_PER_INPUT {
                        return self.finish(REASON_STEP_LIMIT.to_owned());
                    }
                    next = self.enter(now, id);
                }
            }
        }
    }

    fn enter(&mut self, now: Instant, id: NodeId) -> Next {
        let flow = Arc::clone(&self.flow);
        let node = flow.node(id);
        self.timers.clear_all();
        self.push_trail(now, &node.name, TrailKind::Entered);
        self.events.push_back(IvrEvent::NodeEntered {
            node: node.name.clone(),
        });
        match &node.kind {
            Kind::Play {
                prompts,
                say_digits,
                next,
            } => {
                let mut prompts = prompts.clone();
                if let Some(var) = say_digits {
                    let value = self.lookup(var).unwrap_or_default();
                    prompts.extend(
                        value
                            .chars()
                            .filter(char::is_ascii_digit)
                            .map(|d| format!("digit-{d}")),
                    );
                }
                if prompts.is_empty() {
                    return next.map_or_else(|| Next::End(REASON_END_OF_FLOW.to_owned()), Next::Enter);
                }
                let play_id = self.play(prompts);
                self.state = State::Playing { node: id, play_id };
                Next::Wait
            }
            Kind::Collect(spec) => {
                self.state = State::Collecting(Collecting {
                    node: id,
                    attempt: 0,
                    digits: String::new(),
                    prompt: None,
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
            Kind::Goto { target } => Next::Enter(*target),
            Kind::Set { assignments, next } => {
                let ctx = &self.ctx;
                let builtin = |name: &str| builtin(ctx, name);
                let values: Vec<(String, String)> = assignments
                    .iter()
                    .map(|(name, template)| (name.clone(), template.render(&self.variables, &builtin)))
                    .collect();
                self.variables.extend(values);
                next.map_or_else(|| Next::End(REASON_END_OF_FLOW.to_owned()), Next::Enter)
            }
            Kind::Hangup { reason } => Next::End(reason.clone()),
        }
    }

    fn finish(&mut self, reason: String) {
        self.timers.clear_all();
        self.typeahead.clear();
        self.state = State::Finished;
        self.actions.push_back(Action::Hangup {
            reason: reason.clone(),
        });
        self.events.push_back(IvrEvent::Finished { reason });
    }

    /// The caller barged in: stop the collect's or menu's prompt.
    fn stop_prompt(&mut self) {
        let prompt = match &mut self.state {
            State::Collecting(c) => c.prompt.take(),
            State::Choosing(m) => m.prompt.take(),
            _ => None,
        };
        if prompt.is_some() {
            self.actions.push_back(Action::StopPlay);
        }
    }

    fn play(&mut self, prompts: Vec<String>) -> u64 {
        let play_id = self.next_play_id;
        self.next_play_id += 1;
        self.actions.push_back(Action::Play { play_id, prompts });
        play_id
    }

    /// The prompts of an attempt: the retry prompt (if any), then the node's prompt.
    fn prompts(pre: Option<&String>, prompt: Option<&String>) -> Vec<String> {
        pre.into_iter().chain(prompt).cloned().collect()
    }

    // ----- collect -----

    fn collecting(&mut self) -> Option<&mut Collecting> {
        match &mut self.state {
            State::Collecting(c) => Some(c),
            _ => None,
        }
    }

    /// Starts an attempt: type-ahead first, else the prompt, else the first-digit timer.
    fn begin_collect(&mut self, now: Instant, spec: &flow::Collect, pre: Option<&String>) -> Next {
        if !self.typeahead.is_empty() {
            return self.collect_ready(now, spec);
        }
        let prompts = Self::prompts(pre, spec.prompt.as_ref());
        if prompts.is_empty() {
            return self.collect_ready(now, spec);
        }
        let play_id = self.play(prompts);
        if let Some(c) = self.collecting() {
            c.prompt = Some(play_id);
        }
        Next::Wait
    }

    /// No prompt playing: take type-ahead, then wait for digits.
    fn collect_ready(&mut self, now: Instant, spec: &flow::Collect) -> Next {
        while let Some(digit) = self.typeahead.pop_front() {
            if let Some(next) = self.collect_digit(now, spec, digit) {
                return next;
            }
        }
        if self.collecting().is_some_and(|c| c.digits.is_empty()) {
            self.timers.set(Timer::NoInput, now, spec.first_digit_timeout);
        }
        Next::Wait
    }

    /// Adds a digit; `Some` when collection is complete.
    fn collect_digit(&mut self, now: Instant, spec: &flow::Collect, digit: Digit) -> Option<Next> {
        if Some(digit) == spec.terminator {
            return Some(self.complete_collect(now, spec));
        }
        let c = self.collecting()?;
        c.digits.push(digit.as_char());
        let full = c.digits.len() >= spec.max_digits;
        self.timers.clear(Timer::NoInput);
        if full {
            return Some(self.complete_collect(now, spec));
        }
        self.timers.set(Timer::InterDigit, now, spec.inter_digit_timeout);
        None
    }

    fn complete_collect(&mut self, now: Instant, spec: &flow::Collect) -> Next {
        self.timers.clear_all();
        let Some(c) = self.collecting() else {
            return Next::Wait;
        };
        let digits = std::mem::take(&mut c.digits);
        let node = c.node;
        let valid =
            digits.len() >= spec.min_digits && spec.pattern.as_ref().is_none_or(|re| re.is_match(&digits));
        let name = self.node_name(node);
        if valid {
            self.variables.insert(spec.variable.clone(), digits.clone());
            self.events.push_back(IvrEvent::InputCollected {
                node: name,
                variable: spec.variable.clone(),
                value: digits,
            });
            Next::Enter(spec.next)
        } else {
            self.events.push_back(IvrEvent::InvalidInput { node: name });
            self.retry_collect(now, spec, Failure::Invalid)
        }
    }

    fn retry_collect(&mut self, now: Instant, spec: &flow::Collect, failure: Failure) -> Next {
        self.typeahead.clear();
        self.timers.clear_all();
        let Some(c) = self.collecting() else {
            return Next::Wait;
        };
        c.attempt += 1;
        c.digits.clear();
        if c.attempt > spec.retries {
            return Next::Enter(match failure {
                Failure::Timeout => spec.on_timeout,
                Failure::Invalid => spec.on_fail,
            });
        }
        let pre = match failure {
            Failure::Timeout => spec.timeout_prompt.as_ref(),
            Failure::Invalid => spec.invalid_prompt.as_ref(),
        };
        self.begin_collect(now, spec, pre)
    }

    // ----- menu -----

    fn choosing(&mut self) -> Option<&mut Choosing> {
        match &mut self.state {
            State::Choosing(m) => Some(m),
            _ => None,
        }
    }

    fn begin_menu(&mut self, now: Instant, spec: &flow::Menu, pre: Option<&String>) -> Next {
        if !self.typeahead.is_empty() {
            return self.menu_ready(now, spec);
        }
        let prompts = Self::prompts(pre, spec.prompt.as_ref());
        if prompts.is_empty() {
            return self.menu_ready(now, spec);
        }
        let play_id = self.play(prompts);
        if let Some(m) = self.choosing() {
            m.prompt = Some(play_id);
        }
        Next::Wait
    }

    fn menu_ready(&mut self, now: Instant, spec: &flow::Menu) -> Next {
        if let Some(digit) = self.typeahead.pop_front() {
            return self.menu_digit(now, spec, digit);
        }
        self.timers.set(Timer::NoInput, now, spec.timeout);
        Next::Wait
    }

    fn menu_digit(&mut self, now: Instant, spec: &flow::Menu, digit: Digit) -> Next {
        self.timers.clear_all();
        let Some(node) = self.choosing().map(|m| m.node) else {
            return Next::Wait;
        };
        let name = self.node_name(node);
        let Some(choice) = spec.options.iter().find(|o| o.key == digit) else {
            self.events.push_back(IvrEvent::InvalidInput { node: name });
            return self.retry_menu(now, spec, Failure::Invalid);
        };
        self.events.push_back(IvrEvent::OptionSelected {
            node: name.clone(),
            key: digit,
            label: choice.label.clone(),
        });
        if let Some(variable) = &spec.variable {
            let value = digit.as_char().to_string();
            self.variables.insert(variable.clone(), value.clone());
            self.events.push_back(IvrEvent::InputCollected {
                node: name,
                variable: variable.clone(),
                value,
            });
        }
        Next::Enter(choice.next)
    }

    fn retry_menu(&mut self, now: Instant, spec: &flow::Menu, failure: Failure) -> Next {
        self.typeahead.clear();
        self.timers.clear_all();
        let Some(m) = self.choosing() else {
            return Next::Wait;
        };
        m.attempt += 1;
        if m.attempt > spec.retries {
            return Next::Enter(match failure {
                Failure::Timeout => spec.on_timeout,
                Failure::Invalid => spec.on_fail,
            });
        }
        let pre = match failure {
            Failure::Timeout => spec.timeout_prompt.as_ref(),
            Failure::Invalid => spec.invalid_prompt.as_ref(),
        };
        self.begin_menu(now, spec, pre)
    }

    // ----- bookkeeping -----

    fn buffer(&mut self, now: Instant, node: NodeId, digit: Digit) {
        self.record_digit(now, node, digit, true);
        if self.typeahead.len() < MAX_TYPEAHEAD {
            self.typeahead.push_back(digit);
        }
    }

    fn record_digit(&mut self, now: Instant, node: NodeId, digit: Digit, buffered: bool) {
        let name = self.node_name(node);
        self.push_trail(now, &name, TrailKind::Digit { digit, buffered });
    }

    fn push_trail(&mut self, now: Instant, node: &str, kind: TrailKind) {
        if self.trail.len() >= MAX_TRAIL {
            return;
        }
        let at = self
            .started_at
            .map_or(Duration::ZERO, |s| now.saturating_duration_since(s));
        self.trail.push(TrailEntry {
            at,
            node: node.to_owned(),
            kind,
        });
    }

    fn node_name(&self, id: NodeId) -> String {
        self.flow.node(id).name.clone()
    }

    fn lookup(&self, name: &str) -> Option<String> {
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
