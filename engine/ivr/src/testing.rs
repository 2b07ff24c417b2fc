//! Runs the `tests:` a flow file carries, in virtual time.
//!
//! Each test drives a [`Session`] as the engine would, but with mocks: prompts end after their
//! real length when [`TestOptions::prompt_duration`] knows it, else at once; lookups, http
//! requests and queues answer at once from the test's `lookups`, `http` and `queue`. Input
//! steps run in order: `digits` presses its keys at the current virtual time, `wait` lets time
//! pass (prompts end and timers fire on the way). Before each step everything due at the
//! current time happens first. After the last step the test lets time pass until the flow ends
//! (at most [`MAX_TEST_DURATION`] of virtual time). Then the `expect:` entries are checked.
//!
//! Subflows run as linked: pass the flow as it comes out of [`crate::link`]. A flow that
//! calls subflows and was not linked fails each test with one message saying so.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use jiff::tz::TimeZone;
use media::Digit;

use crate::flow::Flow;
use crate::limits::MAX_TEST_DURATION;
use crate::model::{Ending, Expect, HttpMock, LookupMock, QueueMock};
use crate::session::{
    Action, CallContext, HttpOutcome, IvrEvent, LookupOutcome, QueueOutcome, Session, TrailKind,
};

/// Most inputs (digits, prompt ends, timers, answers) one test may feed its session; more means
/// the flow loops without time passing (e.g. hold music with zero-length prompts).
pub const MAX_TEST_INPUTS: usize = 100_000;

/// A checked test from a flow's `tests:`.
#[derive(Debug)]
pub(crate) struct TestSpec {
    pub(crate) name: String,
    pub(crate) caller: String,
    pub(crate) callee: Option<String>,
    pub(crate) at: Timestamp,
    pub(crate) time_zone: Option<TimeZone>,
    pub(crate) input: Vec<Step>,
    pub(crate) lookups: BTreeMap<String, LookupMock>,
    pub(crate) http: BTreeMap<String, HttpMock>,
    pub(crate) queue: QueueMock,
    pub(crate) expect: Expect,
}

#[derive(Debug)]
pub(crate) enum Step {
    Digits(Vec<Digit>),
    Wait(Duration),
}

/// A prompt's length, if known.
pub type PromptLength<'a> = &'a dyn Fn(&str) -> Option<Duration>;

/// How to run tests.
pub struct TestOptions<'a> {
    /// The virtual clock's origin (any instant: nothing waits on the real clock).
    pub origin: Instant,
    /// A prompt's length, if known; unknown prompts (and all, when `None`) end at once.
    pub prompt_duration: Option<PromptLength<'a>>,
    /// The engine's time zone (a test's `timezone:` and the flow's own `timezone:` win).
    pub time_zone: TimeZone,
}

impl TestOptions<'_> {
    /// Prompts end at once; UTC.
    pub fn new(origin: Instant) -> Self {
        Self {
            origin,
            prompt_duration: None,
            time_zone: TimeZone::UTC,
        }
    }
}

impl std::fmt::Debug for TestOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestOptions")
            .field("origin", &self.origin)
            .field("prompt_duration", &self.prompt_duration.is_some())
            .field("time_zone", &self.time_zone)
            .finish()
    }
}

/// The result of one test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestReport {
    pub name: String,
    pub passed: bool,
    /// What differed, one message per difference.
    pub failures: Vec<String>,
}

/// Runs every test of `flow`, in file order.
pub fn run_tests(flow: &Arc<Flow>, options: &TestOptions<'_>) -> Vec<TestReport> {
    flow.tests
        .iter()
        .map(|test| run_one(flow, test, options))
        .collect()
}

/// Runs the tests of every flow of a linked set (see [`crate::link`]), by flow name.
pub fn run_all(
    flows: &BTreeMap<String, Arc<Flow>>,
    options: &TestOptions<'_>,
) -> BTreeMap<String, Vec<TestReport>> {
    flows
        .iter()
        .map(|(name, flow)| (name.clone(), run_tests(flow, options)))
        .collect()
}

/// What a test run saw.
#[derive(Default)]
struct Observed {
    prompts: Vec<String>,
    record: BTreeMap<String, String>,
    hangup: Option<String>,
    transfer: Option<String>,
    queue: Option<String>,
    finished: Option<String>,
    verified: Option<bool>,
    recording_paused: bool,
    failures: Vec<String>,
}

struct Runner<'t> {
    session: Session,
    test: &'t TestSpec,
    options: &'t TestOptions<'t>,
    now: Instant,
    /// The play in progress and when it ends.
    playing: Option<(u64, Instant)>,
    /// Answers to deliver at the current time.
    answers: VecDeque<Answer>,
    inputs: usize,
    seen: Observed,
}

enum Answer {
    Http(u64, HttpOutcome),
    Lookup(u64, LookupOutcome),
    Queue(u64, QueueOutcome),
}

fn run_one(flow: &Arc<Flow>, test: &TestSpec, options: &TestOptions<'_>) -> TestReport {
    if !flow.is_linked() {
        return TestReport {
            name: test.name.clone(),
            passed: false,
            failures: vec![format!(
                "flow `{}` calls subflows but was not linked: run the tests on the flows `link` returns",
                flow.name()
            )],
        };
    }
    let ctx = CallContext {
        caller: test.caller.clone(),
        callee: test.callee.clone().unwrap_or_else(|| flow.name().to_owned()),
        call_id: format!("test-{}", test.name),
        wall_clock: test.at,
        time_zone: test
            .time_zone
            .clone()
            .unwrap_or_else(|| options.time_zone.clone()),
    };
    let mut runner = Runner {
        session: Session::new(Arc::clone(flow), ctx),
        test,
        options,
        now: options.origin,
        playing: None,
        answers: VecDeque::new(),
        inputs: 0,
        seen: Observed::default(),
    };
    runner.run();
    let failures = runner.check();
    TestReport {
        name: test.name.clone(),
        passed: failures.is_empty(),
        failures,
    }
}

impl Runner<'_> {
    fn run(&mut self) {
        self.session.start(self.now);
        self.drain();
        let test = self.test;
        for step in &test.input {
            self.advance_to(self.now);
            if self.overrun() {
                return;
            }
            match step {
                Step::Digits(digits) => {
                    for digit in digits {
                        self.count_input();
                        self.session.handle_digit(self.now, *digit);
                        self.drain();
                    }
                }
                Step::Wait(d) => self.advance_to(self.now + *d),
            }
        }
        let limit = self.options.origin + MAX_TEST_DURATION;
        while !self.session.is_finished() && !self.overrun() {
            match self.next_deadline() {
                Some(at) if at <= limit => self.advance_to(at),
                Some(_) => {
                    self.seen.failures.push(format!(
                        "the flow was still running after {}s of virtual time",
                        MAX_TEST_DURATION.as_secs()
                    ));
                    return;
                }
                None => return,
            }
        }
    }

    fn overrun(&mut self) -> bool {
        if self.inputs > MAX_TEST_INPUTS {
            if !self.seen.failures.iter().any(|f| f.starts_with("more than")) {
                self.seen.failures.push(format!(
                    "more than {MAX_TEST_INPUTS} inputs: does the flow loop without time passing?"
                ));
            }
            return true;
        }
        false
    }

    fn count_input(&mut self) {
        self.inputs += 1;
    }

    fn next_deadline(&self) -> Option<Instant> {
        let play = self.playing.map(|(_, at)| at);
        match (self.session.poll_timeout(), play) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Lets time pass until `target`, feeding prompt ends and timers as they fall due.
    fn advance_to(&mut self, target: Instant) {
        while let Some(at) = self.next_deadline().filter(|at| *at <= target) {
            if self.overrun() {
                return;
            }
            self.count_input();
            self.now = self.now.max(at);
            match self.playing {
                Some((play_id, end)) if end <= at => {
                    self.playing = None;
                    self.session.handle_play_finished(self.now, play_id);
                }
                _ => self.session.handle_timeout(self.now),
            }
            self.drain();
        }
        self.now = self.now.max(target);
    }

    /// Carries out everything the session asked for; answers mocks at once.
    fn drain(&mut self) {
        loop {
            while let Some(action) = self.session.poll_action() {
                self.act(action);
            }
            while let Some(event) = self.session.poll_event() {
                self.observe(event);
            }
            let Some(answer) = self.answers.pop_front() else {
                return;
            };
            if self.overrun() {
                return;
            }
            self.count_input();
            match answer {
                Answer::Http(id, outcome) => self.session.handle_http_result(self.now, id, outcome),
                Answer::Lookup(id, outcome) => self.session.handle_lookup_result(self.now, id, outcome),
                Answer::Queue(id, outcome) => self.session.handle_queue_result(self.now, id, outcome),
            }
        }
    }

    fn act(&mut self, action: Action) {
        match action {
            Action::Play { play_id, prompts } => {
                let length: Duration = prompts
                    .iter()
                    .filter_map(|p| self.options.prompt_duration.and_then(|f| f(p)))
                    .sum();
                self.seen.prompts.extend(prompts);
                self.playing = Some((play_id, self.now + length));
            }
            Action::StopPlay => self.playing = None,
            Action::Hangup { reason } => self.seen.hangup = Some(reason),
            Action::Transfer { target } => self.seen.transfer = Some(target),
            Action::PauseRecording => self.seen.recording_paused = true,
            Action::ResumeRecording => self.seen.recording_paused = false,
            Action::Http { request_id, url, .. } => {
                let outcome = match self.test.http.get(&url) {
                    Some(HttpMock::Response(r)) => HttpOutcome::Response {
                        status: r.status.unwrap_or(200),
                        body: r.body.clone().unwrap_or(serde_json::Value::Null),
                    },
                    Some(HttpMock::Failed) => HttpOutcome::Failed {
                        reason: "mocked failure".into(),
                    },
                    None => {
                        self.seen.failures.push(format!("no http mock for `{url}`"));
                        HttpOutcome::Failed {
                            reason: "no mock".into(),
                        }
                    }
                };
                self.answers.push_back(Answer::Http(request_id, outcome));
            }
            Action::Lookup { request_id, key, .. } => {
                let outcome = match self.test.lookups.get(key.value()) {
                    Some(LookupMock::Found(c)) => LookupOutcome::Found {
                        customer_id: c.customer_id.clone(),
                        phones: c.phones.clone(),
                        attributes: c.attributes.clone(),
                    },
                    Some(LookupMock::NotFound) | None => LookupOutcome::NotFound,
                    Some(LookupMock::Failed) => LookupOutcome::Failed {
                        reason: "mocked failure".into(),
                    },
                };
                self.answers.push_back(Answer::Lookup(request_id, outcome));
            }
            Action::Enqueue {
                request_id, queue, ..
            } => {
                self.seen.queue = Some(queue);
                let outcome = match &self.test.queue {
                    QueueMock::Connected => QueueOutcome::Connected,
                    QueueMock::Left(reason) => QueueOutcome::Left {
                        reason: reason.clone(),
                    },
                };
                self.answers.push_back(Answer::Queue(request_id, outcome));
            }
        }
    }

    fn observe(&mut self, event: IvrEvent) {
        match event {
            IvrEvent::RecordField { name, value, .. } => {
                self.seen.record.insert(name, value);
            }
            IvrEvent::IdentityVerified { verified, .. } => self.seen.verified = Some(verified),
            IvrEvent::Finished { reason } => self.seen.finished = Some(reason),
            _ => {}
        }
    }

    fn check(mut self) -> Vec<String> {
        let expect = &self.test.expect;
        let mut failures = std::mem::take(&mut self.seen.failures);
        let seen = &self.seen;
        if let Some(path) = &expect.path {
            let actual: Vec<&str> = self
                .session
                .trail()
                .iter()
                .filter(|e| e.kind == TrailKind::Entered)
                .map(|e| e.node.as_str())
                .collect();
            compare_lists("path", path, &actual, &mut failures);
        }
        if let Some(prompts) = &expect.prompts {
            let actual: Vec<&str> = seen.prompts.iter().map(String::as_str).collect();
            compare_lists("prompts", prompts, &actual, &mut failures);
        }
        for (name, want) in &expect.variables {
            let got = self.session.variables().get(name).map_or("", String::as_str);
            if got != want {
                failures.push(format!("variable `{name}`: expected {want:?}, got {got:?}"));
            }
        }
        for (name, want) in &expect.record {
            match seen.record.get(name) {
                Some(got) if got == want => {}
                Some(got) => failures.push(format!("record `{name}`: expected {want:?}, got {got:?}")),
                None => failures.push(format!(
                    "record `{name}`: expected {want:?}, but nothing was stored"
                )),
            }
        }
        let ending = if seen.transfer.is_some() {
            Some(Ending::Transfer)
        } else if seen.hangup.is_some() {
            Some(Ending::Hangup)
        } else if self.session.is_finished() {
            Some(Ending::Enqueue)
        } else {
            None
        };
        if let Some(want) = expect.ended {
            if ending != Some(want) {
                let got = match (ending, &seen.finished) {
                    (None, _) => "the flow is still running".to_owned(),
                    (Some(e), Some(reason)) => format!("{} (reason `{reason}`)", ending_name(e)),
                    (Some(e), None) => ending_name(e).to_owned(),
                };
                failures.push(format!("ended: expected {}, got {got}", ending_name(want)));
            }
        }
        if let Some(want) = &expect.reason {
            match &seen.finished {
                Some(got) if got == want => {}
                Some(got) => failures.push(format!("reason: expected `{want}`, got `{got}`")),
                None => failures.push(format!("reason: expected `{want}`, but the flow did not end")),
            }
        }
        if let Some(want) = &expect.transfer {
            match &seen.transfer {
                Some(got) if got == want => {}
                Some(got) => failures.push(format!("transfer: expected `{want}`, got `{got}`")),
                None => failures.push(format!("transfer: expected `{want}`, but there was no transfer")),
            }
        }
        if let Some(want) = &expect.queue {
            match &seen.queue {
                Some(got) if got == want => {}
                Some(got) => failures.push(format!("queue: expected `{want}`, got `{got}`")),
                None => failures.push(format!("queue: expected `{want}`, but the call was never queued")),
            }
        }
        if let Some(want) = expect.verified {
            match seen.verified {
                Some(got) if got == want => {}
                Some(got) => failures.push(format!("verified: expected {want}, got {got}")),
                None => failures.push(format!(
                    "verified: expected {want}, but no identity verification ended"
                )),
            }
        }
        if seen.recording_paused && self.session.is_finished() {
            failures.push("recording was still paused when the flow ended".to_owned());
        }
        failures
    }
}

fn ending_name(ending: Ending) -> &'static str {
    match ending {
        Ending::Hangup => "hangup",
        Ending::Transfer => "transfer",
        Ending::Enqueue => "enqueue",
    }
}

/// Compares two lists; one message naming the first difference.
fn compare_lists(what: &str, want: &[String], got: &[&str], failures: &mut Vec<String>) {
    if want.iter().map(String::as_str).eq(got.iter().copied()) {
        return;
    }
    let first = want
        .iter()
        .zip(got)
        .position(|(w, g)| w != g)
        .unwrap_or(want.len().min(got.len()));
    let detail = match (want.get(first), got.get(first)) {
        (Some(w), Some(g)) => format!("at {}: expected `{w}`, got `{g}`", first + 1),
        (Some(w), None) => format!("at {}: expected `{w}`, got nothing more", first + 1),
        (None, Some(g)) => format!("at {}: expected nothing more, got `{g}`", first + 1),
        (None, None) => String::new(),
    };
    failures.push(format!(
        "{what}: expected [{}], got [{}] ({detail})",
        want.join(", "),
        got.join(", ")
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::{LoadContext, load_str};
    use crate::session::tests::origin;

    fn flow(src: &str) -> Arc<Flow> {
        let flow = load_str(src, "t.yaml", &LoadContext::permissive()).unwrap_or_else(|d| panic!("{d:#?}"));
        let (mut linked, diags) = crate::link(vec![flow]);
        assert!(diags.is_empty(), "{diags:#?}");
        linked.pop_first().unwrap().1
    }

    fn run(src: &str) -> Vec<TestReport> {
        run_tests(&flow(src), &TestOptions::new(origin()))
    }

    const MENU: &str = "\
flow: t
start: m
nodes:
  m:
    type: menu
    prompt: main-menu
    variable: choice
    store: true
    options:
      '1': {label: Data, next: h}
      '2': {label: Agent, next: x}
    on_fail: bye
  h: {type: http, url: 'https://crm.example/${caller}', map: {tier: tier}, next: q, on_failure: bye}
  q: {type: enqueue, queue: gold, on_left: bye}
  x: {type: transfer, to: 'sip:agent@pbx.example'}
  bye: {type: hangup, reason: done}
tests:
";

    #[test]
    fn passing_tests_report_no_failures() {
        let src = format!(
            "{MENU}  - name: data dip then queue
    caller: '+1'
    input: [{{digits: '1'}}]
    http:
      'https://crm.example/+1': {{response: {{status: 200, body: {{tier: gold}}}}}}
    expect:
      path: [m, h, q]
      prompts: [main-menu]
      variables: {{choice: '1', tier: gold}}
      record: {{choice: '1'}}
      queue: gold
      ended: enqueue
      reason: connected
  - name: transfer
    caller: '+1'
    input: [{{digits: '2'}}]
    expect: {{ended: transfer, transfer: 'sip:agent@pbx.example', reason: transfer}}
  - name: failed dip
    caller: '+1'
    input: [{{digits: '1'}}]
    http: {{'https://crm.example/+1': failed}}
    expect: {{path: [m, h, bye], ended: hangup, reason: done}}
  - name: queue gives back
    caller: '+1'
    input: [{{digits: '1'}}]
    http: {{'https://crm.example/+1': {{response: {{}}}}}}
    queue: {{left: overflow}}
    expect: {{path: [m, h, q, bye], variables: {{tier: ''}}}}
"
        );
        let reports = run(&src);
        assert_eq!(reports.len(), 4);
        for r in &reports {
            assert!(r.passed, "{}: {:#?}", r.name, r.failures);
        }
    }

    #[test]
    fn failing_tests_say_precisely_what_differs() {
        let src = format!(
            "{MENU}  - name: everything wrong
    caller: '+1'
    input: [{{digits: '1'}}]
    expect:
      path: [m, q]
      prompts: [main-menu, goodbye]
      variables: {{choice: '2', tier: gold}}
      record: {{rating: '5'}}
      ended: transfer
      reason: connected
      transfer: 'sip:x@y'
      queue: silver
      verified: true
"
        );
        let reports = run(&src);
        assert_eq!(
            reports,
            [TestReport {
                name: "everything wrong".into(),
                passed: false,
                failures: vec![
                    "no http mock for `https://crm.example/+1`".into(),
                    "path: expected [m, q], got [m, h, bye] (at 2: expected `q`, got `h`)".into(),
                    "prompts: expected [main-menu, goodbye], got [main-menu] (at 2: expected `goodbye`, got nothing more)"
                        .into(),
                    "variable `choice`: expected \"2\", got \"1\"".into(),
                    "variable `tier`: expected \"gold\", got \"\"".into(),
                    "record `rating`: expected \"5\", but nothing was stored".into(),
                    "ended: expected transfer, got hangup (reason `done`)".into(),
                    "reason: expected `connected`, got `done`".into(),
                    "transfer: expected `sip:x@y`, but there was no transfer".into(),
                    "queue: expected `silver`, but the call was never queued".into(),
                    "verified: expected true, but no identity verification ended".into(),
                ],
            }]
        );
    }

    #[test]
    fn prompt_lengths_decide_whether_a_key_barges_in() {
        let src = "\
flow: t
start: m
nodes:
  m: {type: menu, prompt: main-menu, timeout: 2s, retries: 0, options: {'1': {label: One, next: bye}}, on_fail: late}
  bye: {type: hangup}
  late: {type: hangup}
tests:
  - name: key after 3s
    caller: '1'
    input: [{wait: 3s}, {digits: '1'}]
    expect: {path: [m, bye]}
";
        // Instant prompts: the 2 s timeout has passed before the key.
        let reports = run(src);
        assert_eq!(
            reports[0].failures,
            ["path: expected [m, bye], got [m, late] (at 2: expected `bye`, got `late`)"]
        );
        // A 6.7 s prompt: the key comes while it plays.
        let length = |name: &str| (name == "main-menu").then_some(Duration::from_millis(6700));
        let options = TestOptions {
            prompt_duration: Some(&length),
            ..TestOptions::new(origin())
        };
        let reports = run_tests(&flow(src), &options);
        assert!(reports[0].passed, "{:#?}", reports[0].failures);
    }

    #[test]
    fn a_loop_without_time_passing_is_stopped() {
        let src = "\
flow: t
start: a
nodes:
  a: {type: play, prompt: hold-music, next: b}
  b: {type: goto, target: a}
tests:
  - name: hold forever
    caller: '1'
    expect: {ended: hangup}
";
        let reports = run(src);
        assert_eq!(
            reports[0].failures,
            [
                format!("more than {MAX_TEST_INPUTS} inputs: does the flow loop without time passing?"),
                "ended: expected hangup, got the flow is still running".to_owned(),
            ]
        );
        // With a real length the loop passes time, and the test gives up after an hour.
        let length = |_: &str| Some(Duration::from_secs(10));
        let options = TestOptions {
            prompt_duration: Some(&length),
            ..TestOptions::new(origin())
        };
        let reports = run_tests(&flow(src), &options);
        assert_eq!(
            reports[0].failures[0],
            "the flow was still running after 3600s of virtual time"
        );
    }

    #[test]
    fn subflows_run_linked_and_unlinked_flows_are_refused() {
        let main = "\
flow: main
start: a
nodes:
  a: {type: subflow, flow: sub, next: b}
  b: {type: hangup, reason: back}
tests:
  - name: through the subflow
    caller: '1'
    expect: {path: [a, sub/x, b], variables: {from_sub: 'yes'}, reason: back}
";
        let sub = "flow: sub\nstart: x\nnodes:\n  x: {type: set, variables: {from_sub: 'yes'}}\n";
        let load = |src: &str| load_str(src, "t.yaml", &LoadContext::permissive()).unwrap();
        let unlinked = Arc::new(load(main));
        let reports = run_tests(&unlinked, &TestOptions::new(origin()));
        assert_eq!(
            reports[0].failures,
            ["flow `main` calls subflows but was not linked: run the tests on the flows `link` returns"]
        );
        let (linked, _) = crate::link(vec![load(main), load(sub)]);
        let results = run_all(&linked, &TestOptions::new(origin()));
        assert!(results["main"][0].passed, "{:#?}", results["main"][0].failures);
        assert!(results["sub"].is_empty());
    }

    #[test]
    fn lookups_are_mocked_by_key() {
        let src = "\
flow: t
start: v
nodes:
  v: {type: verify_identity, ask: customer_id, lookup: {static: demo}, ani: accept, max_digits: 4, attempts: 1, on_success: ok, on_failure: no}
  ok: {type: hangup, reason: ok}
  no: {type: hangup, reason: no}
tests:
  - name: by ani
    caller: '+4930123'
    lookups: {'+4930123': {found: {customer_id: C-1, phones: ['+49 30 123']}}}
    expect: {verified: true, variables: {verify_method: ani, customer_id: C-1}, reason: ok}
  - name: keyed after ani not found
    caller: '+4930999'
    input: [{digits: '1234'}]
    lookups: {'1234': {found: {customer_id: C-2}}}
    expect: {verified: true, variables: {verify_method: keyed_id, ani_match: 'false'}}
  - name: lookup failure
    caller: '+4930999'
    input: [{digits: '1234'}]
    lookups: {'1234': failed}
    expect: {verified: false, reason: no}
";
        for r in run(src) {
            assert!(r.passed, "{}: {:#?}", r.name, r.failures);
        }
    }
}
