//! Requests the engine answers: http dips, identity lookups, queues.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{
    Action, Failure, HttpOutcome, IvrEvent, LookupOutcome, Next, QueueOutcome, REASON_CONNECTED, Session,
    State, Timer, VerifyMethod, VerifyPhase,
};
use crate::flow::{self, Kind, NodeId};
use crate::limits::REQUEST_GUARD_SLACK;
use crate::model::IdentityKind;
use crate::template::Template;

/// How a verify_identity node ends.
pub(super) enum VerifyOutcome {
    Verified {
        method: VerifyMethod,
        customer_id: String,
        attributes: BTreeMap<String, String>,
    },
    /// Not verified after every attempt.
    Failed,
    /// The lookup failed or never answered.
    Error,
}

impl Session {
    /// The answer to [`Action::Http`] `request_id`. Stale or unknown ids are ignored.
    pub fn handle_http_result(&mut self, now: Instant, request_id: u64, outcome: HttpOutcome) {
        let node = match &self.state {
            State::Fetching {
                node,
                request_id: waiting,
            } if *waiting == request_id => *node,
            _ => return,
        };
        self.steps = 0;
        self.timers.clear(Timer::Request);
        let flow = Arc::clone(&self.current);
        let Kind::Http(spec) = &flow.node(node).kind else {
            return;
        };
        let name = self.node_name(node);
        let next = match outcome {
            HttpOutcome::Response { status, body } if (200..300).contains(&status) => {
                for (variable, path) in &spec.map {
                    let value = json_path(&body, path).map(json_text).unwrap_or_default();
                    self.set_variable(variable.clone(), value);
                }
                self.events.push_back(IvrEvent::HttpCompleted {
                    node: name,
                    ok: true,
                    status: Some(status),
                });
                Next::Enter(spec.next)
            }
            HttpOutcome::Response { status, .. } => {
                self.events.push_back(IvrEvent::HttpCompleted {
                    node: name,
                    ok: false,
                    status: Some(status),
                });
                Next::Enter(spec.on_failure)
            }
            HttpOutcome::Failed { .. } => self.http_failed(node, spec),
        };
        self.drive(now, next);
    }

    /// The answer to [`Action::Lookup`] `request_id`. Stale or unknown ids are ignored.
    pub fn handle_lookup_result(&mut self, now: Instant, request_id: u64, outcome: LookupOutcome) {
        let (node, by_ani) = match &self.state {
            State::Verifying(v) => match v.phase {
                VerifyPhase::AniLookup { request_id: r } if r == request_id => (v.node, true),
                VerifyPhase::Lookup { request_id: r } if r == request_id => (v.node, false),
                _ => return,
            },
            _ => return,
        };
        self.steps = 0;
        self.timers.clear(Timer::Request);
        let flow = Arc::clone(&self.current);
        let Kind::Verify(spec) = &flow.node(node).kind else {
            return;
        };
        let next = match outcome {
            LookupOutcome::Found {
                customer_id,
                phones,
                attributes,
            } => {
                let matched = phone_matches(&phones, &self.ctx.caller);
                if let State::Verifying(v) = &mut self.state {
                    v.ani_match = match spec.ani {
                        crate::model::AniPolicy::Ignore => None,
                        _ => Some(matched),
                    };
                }
                if by_ani && !matched {
                    self.start_attempt(now, spec, None)
                } else {
                    let method = if by_ani {
                        VerifyMethod::Ani
                    } else {
                        keyed_method(spec)
                    };
                    self.verify_done(
                        spec,
                        VerifyOutcome::Verified {
                            method,
                            customer_id,
                            attributes,
                        },
                    )
                }
            }
            LookupOutcome::NotFound if by_ani => {
                if let State::Verifying(v) = &mut self.state {
                    v.ani_match = Some(false);
                }
                self.start_attempt(now, spec, None)
            }
            LookupOutcome::NotFound => {
                self.events.push_back(IvrEvent::InvalidInput {
                    node: self.node_name(node),
                });
                self.retry_verify(now, spec, Failure::Invalid)
            }
            LookupOutcome::Failed { .. } => self.lookup_lost(now, spec),
        };
        self.drive(now, next);
    }

    /// The answer to [`Action::Enqueue`] `request_id`. Stale or unknown ids are ignored.
    pub fn handle_queue_result(&mut self, now: Instant, request_id: u64, outcome: QueueOutcome) {
        let node = match &self.state {
            State::Queued {
                node,
                request_id: waiting,
            } if *waiting == request_id => *node,
            _ => return,
        };
        self.steps = 0;
        self.timers.clear(Timer::Request);
        let flow = Arc::clone(&self.current);
        let Kind::Enqueue(spec) = &flow.node(node).kind else {
            return;
        };
        let next = match outcome {
            QueueOutcome::Connected => Next::Leave(REASON_CONNECTED.to_owned()),
            QueueOutcome::Left { reason } => Self::queue_left(spec, &reason),
        };
        self.drive(now, next);
    }

    /// Arms the guard timer of a request whose own budget is `budget`.
    pub(super) fn guard(&mut self, now: Instant, budget: Duration) {
        self.timers
            .set(Timer::Request, now, budget.saturating_add(REQUEST_GUARD_SLACK));
    }

    pub(super) fn begin_http(&mut self, now: Instant, id: NodeId, spec: &flow::Http) -> Next {
        let request_id = self.request_id();
        let value = |name: &str| self.value(name);
        let url = spec.url.render_with(&value);
        let headers = spec
            .headers
            .iter()
            .map(|(name, template)| (name.clone(), template.render_with(&value)))
            .collect();
        let body = spec.body.as_ref().map(|b| render_json(b, &value));
        self.actions.push_back(Action::Http {
            request_id,
            method: spec.method,
            url,
            headers,
            body,
            timeout: spec.timeout,
            retries: spec.retries,
        });
        self.guard(now, spec.timeout.saturating_mul(spec.retries.saturating_add(1)));
        self.state = State::Fetching { node: id, request_id };
        Next::Wait
    }

    pub(super) fn http_failed(&mut self, node: NodeId, spec: &flow::Http) -> Next {
        self.events.push_back(IvrEvent::HttpCompleted {
            node: self.node_name(node),
            ok: false,
            status: None,
        });
        Next::Enter(spec.on_failure)
    }

    pub(super) fn begin_enqueue(&mut self, now: Instant, id: NodeId, spec: &flow::Enqueue) -> Next {
        let request_id = self.request_id();
        self.actions.push_back(Action::Enqueue {
            request_id,
            queue: spec.queue.clone(),
            priority: spec.priority,
            skills: spec.skills.iter().cloned().collect(),
            timeout: spec.timeout,
        });
        if let Some(timeout) = spec.timeout {
            self.guard(now, timeout);
        }
        self.state = State::Queued { node: id, request_id };
        Next::Wait
    }

    /// The queue gave the call back for `reason`.
    pub(super) fn queue_left(spec: &flow::Enqueue, reason: &str) -> Next {
        Next::Enter(if reason == "timeout" {
            spec.on_timeout
        } else {
            spec.on_left
        })
    }

    /// The lookup failed or never answered: an ANI lookup falls back to keying; a keyed one
    /// goes to `on_error`.
    pub(super) fn lookup_lost(&mut self, now: Instant, spec: &flow::Verify) -> Next {
        let by_ani = matches!(
            &self.state,
            State::Verifying(v) if matches!(v.phase, VerifyPhase::AniLookup { .. })
        );
        if by_ani {
            self.start_attempt(now, spec, None)
        } else {
            self.verify_done(spec, VerifyOutcome::Error)
        }
    }

    /// Sets the verification variables, emits the outcome and leaves the node.
    pub(super) fn verify_done(&mut self, spec: &flow::Verify, outcome: VerifyOutcome) -> Next {
        self.timers.clear_all();
        let State::Verifying(v) = &self.state else {
            return Next::Wait;
        };
        let (node, attempts, ani_match) = (v.node, v.attempt, v.ani_match);
        let name = self.node_name(node);
        let flag = |b: bool| if b { "true" } else { "false" }.to_owned();
        let (verified, method, customer_id, attributes, next) = match outcome {
            VerifyOutcome::Verified {
                method,
                customer_id,
                attributes,
            } => (true, method, Some(customer_id), attributes, spec.on_success),
            VerifyOutcome::Failed => (false, keyed_method(spec), None, BTreeMap::new(), spec.on_failure),
            VerifyOutcome::Error => (false, keyed_method(spec), None, BTreeMap::new(), spec.on_error),
        };
        // The fixed variables first: past the variable limit, attributes are what is dropped.
        self.set_variable("verified".to_owned(), flag(verified));
        self.set_variable("verify_method".to_owned(), method.as_str().to_owned());
        self.set_variable("customer_id".to_owned(), customer_id.clone().unwrap_or_default());
        self.set_variable("ani_match".to_owned(), ani_match.map(flag).unwrap_or_default());
        for (attribute, value) in attributes {
            self.set_variable(format!("customer_{}", variable_safe(&attribute)), value);
        }
        if let Some(matched) = ani_match {
            self.events.push_back(IvrEvent::AniChecked {
                node: name.clone(),
                matched,
            });
        }
        self.events.push_back(IvrEvent::IdentityVerified {
            node: name,
            verified,
            method,
            attempts: if method == VerifyMethod::Ani { 0 } else { attempts },
            customer_id,
        });
        Next::Enter(next)
    }
}

fn keyed_method(spec: &flow::Verify) -> VerifyMethod {
    match spec.ask {
        IdentityKind::CustomerId => VerifyMethod::KeyedId,
        IdentityKind::Phone => VerifyMethod::KeyedNumber,
    }
}

/// True if `caller` is one of `phones`, comparing digits only (`+49 30 123` = `+4930123`).
pub(crate) fn phone_matches(phones: &[String], caller: &str) -> bool {
    let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
    let caller = digits(caller);
    !caller.is_empty() && phones.iter().any(|p| digits(p) == caller)
}

/// Letters, digits and `_`; anything else becomes `_`.
fn variable_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Follows dotted path segments: object keys, or array indexes.
pub(crate) fn json_path<'v>(value: &'v serde_json::Value, path: &[String]) -> Option<&'v serde_json::Value> {
    path.iter().try_fold(value, |v, segment| match v {
        serde_json::Value::Object(map) => map.get(segment),
        serde_json::Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    })
}

/// A JSON value as a variable: strings as they are, null as empty, other values as JSON.
pub(crate) fn json_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Fills `${name}` in every string of a JSON body.
fn render_json(value: &serde_json::Value, vars: &dyn Fn(&str) -> Option<String>) -> serde_json::Value {
    match value {
        serde_json::Value::String(s) => match Template::parse(s) {
            Ok(t) => serde_json::Value::String(t.render_with(vars)),
            Err(_) => value.clone(),
        },
        serde_json::Value::Array(items) => {
            serde_json::Value::Array(items.iter().map(|v| render_json(v, vars)).collect())
        }
        serde_json::Value::Object(map) => serde_json::Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), render_json(v, vars)))
                .collect(),
        ),
        other => other.clone(),
    }
}
