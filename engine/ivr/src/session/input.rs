//! Caller input: digits, prompts ending, timers; menu, collect and verify_identity keying.

use std::sync::Arc;
use std::time::Instant;

use media::Digit;

use super::{
    Action, Choosing, Failure, IDENTITY_INPUT, IvrEvent, Keying, LookupSource, Next, Session, State, Timer,
    VerifyPhase, Verifying, mask,
};
use crate::flow::{self, DigitInput, Kind, NodeId};
use crate::model::{AniPolicy, IdentityKind};

impl Session {
    /// A DTMF digit from the caller. Ignored before `start` and after the end.
    pub fn handle_digit(&mut self, now: Instant, digit: Digit) {
        self.steps = 0;
        let flow = Arc::clone(&self.current);
        let (node, prompt_playing, masked) = match &self.state {
            State::Idle | State::Finished => return,
            State::Playing { node, .. } => {
                let node = *node;
                self.buffer(now, node, digit, false);
                if let Kind::Play {
                    barge_in: true, next, ..
                } = &flow.node(node).kind
                {
                    // Barge-in: stop the prompt and go on; the digit stays as type-ahead.
                    self.actions.push_back(Action::StopPlay);
                    let next = self.then(*next);
                    self.drive(now, next);
                }
                return;
            }
            State::Fetching { node, .. } | State::Queued { node, .. } => {
                let node = *node;
                return self.buffer(now, node, digit, false);
            }
            State::Verifying(v) => match &v.phase {
                VerifyPhase::Keying(k) => (v.node, k.prompt.is_some(), true),
                VerifyPhase::AniLookup { .. } | VerifyPhase::Lookup { .. } => {
                    let node = v.node;
                    return self.buffer(now, node, digit, true);
                }
            },
            State::Collecting(c) => (c.node, c.keying.prompt.is_some(), false),
            State::Choosing(m) => (m.node, m.prompt.is_some(), false),
        };
        let kind = &flow.node(node).kind;
        let barge_in = match kind {
            Kind::Collect(spec) => spec.input.barge_in,
            Kind::Verify(spec) => spec.input.barge_in,
            Kind::Menu(spec) => spec.barge_in,
            _ => return,
        };
        if prompt_playing && !barge_in {
            return self.buffer(now, node, digit, masked);
        }
        if prompt_playing {
            self.stop_prompt();
        }
        self.record_digit(now, node, digit, false, masked);
        let next = match kind {
            Kind::Collect(spec) => {
                if self.key_digit(now, &spec.input, digit) {
                    self.complete_collect(now, spec)
                } else {
                    Next::Wait
                }
            }
            Kind::Verify(spec) => {
                if self.key_digit(now, &spec.input, digit) {
                    self.complete_keying(now, spec)
                } else {
                    Next::Wait
                }
            }
            Kind::Menu(spec) => self.menu_digit(now, spec, digit),
            _ => return,
        };
        self.drive(now, next);
    }

    /// The media side finished playing `play_id`. Unknown or stale ids are ignored.
    pub fn handle_play_finished(&mut self, now: Instant, play_id: u64) {
        self.steps = 0;
        let flow = Arc::clone(&self.current);
        let next = match &mut self.state {
            State::Playing {
                node,
                play_id: playing,
            } if *playing == play_id => match &flow.node(*node).kind {
                Kind::Play { next, .. } => self.then(*next),
                _ => return,
            },
            State::Collecting(c) if c.keying.prompt == Some(play_id) => {
                c.keying.prompt = None;
                let Kind::Collect(spec) = &flow.node(c.node).kind else {
                    return;
                };
                self.collect_ready(now, spec)
            }
            State::Verifying(Verifying {
                node,
                phase: VerifyPhase::Keying(k),
                ..
            }) if k.prompt == Some(play_id) => {
                k.prompt = None;
                let Kind::Verify(spec) = &flow.node(*node).kind else {
                    return;
                };
                self.keying_ready(now, spec)
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
        while let Some(timer) = self.timers.pop_expired(now) {
            let flow = Arc::clone(&self.current);
            let node = match &self.state {
                State::Collecting(c) => c.node,
                State::Choosing(m) => m.node,
                State::Verifying(v) => v.node,
                State::Fetching { node, .. } | State::Queued { node, .. } => *node,
                State::Idle | State::Playing { .. } | State::Finished => continue,
            };
            let next = match (&flow.node(node).kind, timer) {
                (Kind::Collect(spec), Timer::NoInput) => {
                    self.events.push_back(IvrEvent::NoInput {
                        node: self.node_name(node),
                    });
                    self.retry_collect(now, spec, Failure::Timeout)
                }
                (Kind::Collect(spec), Timer::InterDigit) => self.complete_collect(now, spec),
                (Kind::Menu(spec), Timer::NoInput) => {
                    self.events.push_back(IvrEvent::NoInput {
                        node: self.node_name(node),
                    });
                    self.retry_menu(now, spec, Failure::Timeout)
                }
                (Kind::Verify(spec), Timer::NoInput) => {
                    self.events.push_back(IvrEvent::NoInput {
                        node: self.node_name(node),
                    });
                    self.retry_verify(now, spec, Failure::Timeout)
                }
                (Kind::Verify(spec), Timer::InterDigit) => self.complete_keying(now, spec),
                (Kind::Verify(spec), Timer::Request) => self.lookup_lost(now, spec),
                (Kind::Http(spec), Timer::Request) => self.http_failed(node, spec),
                (Kind::Enqueue(spec), Timer::Request) => Self::queue_left(spec, "timeout"),
                _ => Next::Wait,
            };
            self.drive(now, next);
        }
    }

    /// The caller barged in: stop the prompt of the node that takes input.
    fn stop_prompt(&mut self) {
        let prompt = match &mut self.state {
            State::Collecting(c) => c.keying.prompt.take(),
            State::Choosing(m) => m.prompt.take(),
            State::Verifying(Verifying {
                phase: VerifyPhase::Keying(k),
                ..
            }) => k.prompt.take(),
            _ => None,
        };
        if prompt.is_some() {
            self.actions.push_back(Action::StopPlay);
        }
    }

    /// The prompts of an attempt: the retry prompt (if any), then the node's prompt.
    fn prompts(pre: Option<&String>, prompt: Option<&String>) -> Vec<String> {
        pre.into_iter().chain(prompt).cloned().collect()
    }

    // ----- keying (collect and verify_identity) -----

    fn keying(&mut self) -> Option<&mut Keying> {
        match &mut self.state {
            State::Collecting(c) => Some(&mut c.keying),
            State::Verifying(Verifying {
                phase: VerifyPhase::Keying(k),
                ..
            }) => Some(k),
            _ => None,
        }
    }

    /// Starts an attempt: type-ahead first, else the prompt, else the first-digit timer. True
    /// when type-ahead already completed the input.
    fn begin_keying(&mut self, now: Instant, input: &DigitInput, prompts: Vec<String>, masked: bool) -> bool {
        if !self.typeahead.is_empty() || prompts.is_empty() {
            return self.take_typeahead(now, input, masked);
        }
        let play_id = self.play(prompts);
        if let Some(k) = self.keying() {
            k.prompt = Some(play_id);
        }
        false
    }

    /// No prompt playing: take type-ahead, then wait for digits. True when complete.
    fn take_typeahead(&mut self, now: Instant, input: &DigitInput, masked: bool) -> bool {
        while let Some((digit, index)) = self.typeahead.pop_front() {
            if masked {
                self.mask_trail(index);
            }
            if self.key_digit(now, input, digit) {
                return true;
            }
        }
        if self.keying().is_some_and(|k| k.digits.is_empty()) {
            self.timers.set(Timer::NoInput, now, input.first_digit_timeout);
        }
        false
    }

    /// Adds a digit; true when the input is complete (terminator, or `max_digits` reached).
    fn key_digit(&mut self, now: Instant, input: &DigitInput, digit: Digit) -> bool {
        if Some(digit) == input.terminator {
            return true;
        }
        let Some(k) = self.keying() else {
            return false;
        };
        k.digits.push(digit.as_char());
        let full = k.digits.len() >= input.max_digits;
        self.timers.clear(Timer::NoInput);
        if full {
            return true;
        }
        self.timers.set(Timer::InterDigit, now, input.inter_digit_timeout);
        false
    }

    /// Takes the keyed digits (and stops the input timers).
    fn take_digits(&mut self) -> String {
        self.timers.clear(Timer::NoInput);
        self.timers.clear(Timer::InterDigit);
        self.keying()
            .map(|k| std::mem::take(&mut k.digits))
            .unwrap_or_default()
    }

    // ----- collect -----

    pub(super) fn begin_collect(&mut self, now: Instant, spec: &flow::Collect, pre: Option<&String>) -> Next {
        let prompts = Self::prompts(pre, spec.prompt.as_ref());
        if self.begin_keying(now, &spec.input, prompts, false) {
            self.complete_collect(now, spec)
        } else {
            Next::Wait
        }
    }

    fn collect_ready(&mut self, now: Instant, spec: &flow::Collect) -> Next {
        if self.take_typeahead(now, &spec.input, false) {
            self.complete_collect(now, spec)
        } else {
            Next::Wait
        }
    }

    fn complete_collect(&mut self, now: Instant, spec: &flow::Collect) -> Next {
        let digits = self.take_digits();
        let State::Collecting(c) = &self.state else {
            return Next::Wait;
        };
        let name = self.node_name(c.node);
        let valid = digits.len() >= spec.input.min_digits
            && spec.pattern.as_ref().is_none_or(|re| re.is_match(&digits));
        if !valid {
            self.events.push_back(IvrEvent::InvalidInput { node: name });
            return self.retry_collect(now, spec, Failure::Invalid);
        }
        self.set_variable(spec.variable.clone(), digits.clone());
        self.events.push_back(IvrEvent::InputCollected {
            node: name.clone(),
            variable: spec.variable.clone(),
            value: digits.clone(),
        });
        if spec.store {
            self.events.push_back(IvrEvent::RecordField {
                node: name,
                name: spec.variable.clone(),
                value: digits,
            });
        }
        Next::Enter(spec.next)
    }

    fn retry_collect(&mut self, now: Instant, spec: &flow::Collect, failure: Failure) -> Next {
        self.typeahead.clear();
        self.timers.clear_all();
        let State::Collecting(c) = &mut self.state else {
            return Next::Wait;
        };
        c.attempt += 1;
        c.keying.digits.clear();
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

    pub(super) fn begin_menu(&mut self, now: Instant, spec: &flow::Menu, pre: Option<&String>) -> Next {
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
        if let Some((digit, _)) = self.typeahead.pop_front() {
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
            self.set_variable(variable.clone(), value.clone());
            self.events.push_back(IvrEvent::InputCollected {
                node: name.clone(),
                variable: variable.clone(),
                value: value.clone(),
            });
            if spec.store {
                self.events.push_back(IvrEvent::RecordField {
                    node: name,
                    name: variable.clone(),
                    value,
                });
            }
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

    // ----- verify_identity: keying -----

    fn verifying(&mut self) -> Option<&mut Verifying> {
        match &mut self.state {
            State::Verifying(v) => Some(v),
            _ => None,
        }
    }

    pub(super) fn begin_verify(&mut self, now: Instant, id: NodeId, spec: &flow::Verify) -> Next {
        let caller = self.ctx.caller.clone();
        if spec.ani == AniPolicy::Accept && !caller.is_empty() {
            let request_id = self.lookup(now, spec, super::IdentityKey::Phone(caller));
            self.state = State::Verifying(Verifying {
                node: id,
                attempt: 0,
                phase: VerifyPhase::AniLookup { request_id },
                ani_match: None,
            });
            return Next::Wait;
        }
        self.state = State::Verifying(Verifying {
            node: id,
            attempt: 0,
            phase: VerifyPhase::Keying(Keying::default()),
            ani_match: None,
        });
        self.start_attempt(now, spec, None)
    }

    /// Starts the next keyed attempt: recording pauses, then the prompt.
    pub(super) fn start_attempt(&mut self, now: Instant, spec: &flow::Verify, pre: Option<&String>) -> Next {
        let Some(v) = self.verifying() else {
            return Next::Wait;
        };
        v.attempt += 1;
        v.phase = VerifyPhase::Keying(Keying::default());
        self.pause_recording();
        let prompts = Self::prompts(pre, spec.prompt.as_ref());
        if self.begin_keying(now, &spec.input, prompts, true) {
            self.complete_keying(now, spec)
        } else {
            Next::Wait
        }
    }

    fn keying_ready(&mut self, now: Instant, spec: &flow::Verify) -> Next {
        if self.take_typeahead(now, &spec.input, true) {
            self.complete_keying(now, spec)
        } else {
            Next::Wait
        }
    }

    /// The caller finished keying: too short is a failed attempt, else look it up.
    fn complete_keying(&mut self, now: Instant, spec: &flow::Verify) -> Next {
        let digits = self.take_digits();
        let Some(node) = self.verifying().map(|v| v.node) else {
            return Next::Wait;
        };
        let name = self.node_name(node);
        if digits.len() < spec.input.min_digits {
            // Too short: ask again; recording stays paused.
            self.events.push_back(IvrEvent::InvalidInput { node: name });
            return self.retry_verify(now, spec, Failure::Invalid);
        }
        self.resume_recording();
        self.events.push_back(IvrEvent::InputCollected {
            node: name,
            variable: IDENTITY_INPUT.to_owned(),
            value: mask(&digits),
        });
        let key = match spec.ask {
            IdentityKind::CustomerId => super::IdentityKey::CustomerId(digits),
            IdentityKind::Phone => super::IdentityKey::Phone(digits),
        };
        let request_id = self.lookup(now, spec, key);
        if let Some(v) = self.verifying() {
            v.phase = VerifyPhase::Lookup { request_id };
        }
        Next::Wait
    }

    /// Asks the engine to look `key` up; arms the guard timer.
    fn lookup(&mut self, now: Instant, spec: &flow::Verify, key: super::IdentityKey) -> u64 {
        let request_id = self.request_id();
        let (source, budget) = match &spec.lookup {
            flow::Lookup::Http {
                url,
                timeout,
                retries,
            } => {
                let url = url.render_with(&|name: &str| {
                    if name == "key" {
                        Some("${key}".to_owned())
                    } else {
                        self.value(name)
                    }
                });
                (
                    LookupSource::Http {
                        url,
                        timeout: *timeout,
                        retries: *retries,
                    },
                    timeout.saturating_mul(retries.saturating_add(1)),
                )
            }
            flow::Lookup::Table(table) => (
                LookupSource::Table { table: table.clone() },
                crate::load::DEFAULT_HTTP_TIMEOUT,
            ),
            flow::Lookup::Static(list) => (
                LookupSource::Static { list: list.clone() },
                crate::load::DEFAULT_HTTP_TIMEOUT,
            ),
        };
        self.actions.push_back(Action::Lookup {
            request_id,
            source,
            key,
        });
        self.guard(now, budget);
        request_id
    }

    /// A failed keyed attempt: ask again, or give up.
    pub(super) fn retry_verify(&mut self, now: Instant, spec: &flow::Verify, failure: Failure) -> Next {
        self.typeahead.clear();
        self.timers.clear_all();
        let Some(v) = self.verifying() else {
            return Next::Wait;
        };
        if v.attempt >= spec.attempts {
            return self.verify_done(spec, super::io::VerifyOutcome::Failed);
        }
        let pre = match failure {
            Failure::Timeout => spec.timeout_prompt.as_ref(),
            Failure::Invalid => spec.invalid_prompt.as_ref(),
        };
        self.start_attempt(now, spec, pre)
    }
}
