//! Every node kind of the full language, in virtual time.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde_json::json;

use super::tests::{Clock, actions, ctx, digits, events, hangup, path, play, session};
use super::*;
use crate::limits::{MAX_SUBFLOW_DEPTH, MAX_VALUE_LEN, MAX_VARIABLES};
use crate::load::{LoadContext, load_str};

fn finished(s: &mut Session) -> Option<String> {
    events(s).into_iter().find_map(|e| match e {
        IvrEvent::Finished { reason } => Some(reason),
        _ => None,
    })
}

fn var<'s>(s: &'s Session, name: &str) -> Option<&'s str> {
    s.variables().get(name).map(String::as_str)
}

fn masked_trail(s: &Session) -> Vec<TrailKind> {
    s.trail()
        .iter()
        .filter(|e| e.kind != TrailKind::Entered)
        .map(|e| e.kind)
        .collect()
}

// ----- play -----

#[test]
fn play_with_barge_in_stops_at_a_digit_and_keeps_it_for_the_menu() {
    let src = "\
flow: t
start: a
nodes:
  a: {type: play, prompt: welcome, barge_in: true, next: m}
  m: {type: menu, prompt: main-menu, options: {'1': {label: One, next: bye}}, on_fail: bye}
  bye: {type: hangup}
";
    let clock = Clock::new();
    let mut s = session(src);
    s.start(clock.at(0));
    assert_eq!(actions(&mut s), [play(1, &["welcome"])]);
    digits(&mut s, clock.at(100), "1");
    assert_eq!(actions(&mut s), [Action::StopPlay, hangup("hangup")]);
    assert_eq!(path(&s), ["a", "m", "bye"]);
    // Without barge-in the prompt plays on.
    let mut s = session(&src.replace("barge_in: true", "barge_in: false"));
    s.start(clock.at(0));
    actions(&mut s);
    digits(&mut s, clock.at(100), "1");
    assert_eq!(actions(&mut s), []);
    s.handle_play_finished(clock.at(1000), 1);
    assert_eq!(actions(&mut s), [hangup("hangup")]);
}

// ----- verify_identity -----

const VERIFY: &str = "\
flow: t
start: v
nodes:
  v:
    type: verify_identity
    ask: customer_id
    lookup: {static: demo}
    prompt: enter-digits
    min_digits: 3
    max_digits: 6
    terminator: '#'
    attempts: 3
    invalid_prompt: invalid
    timeout_prompt: no-input
    on_success: ok
    on_failure: no
    on_error: error
  ok: {type: hangup, reason: verified}
  no: {type: hangup, reason: unverified}
  error: {type: hangup, reason: lookup down}
";

fn lookup(request_id: u64, key: IdentityKey) -> Action {
    Action::Lookup {
        request_id,
        source: LookupSource::Static { list: "demo".into() },
        key,
    }
}

#[test]
fn verify_identity_pauses_recording_masks_digits_and_records_the_outcome() {
    let clock = Clock::new();
    let mut s = session(VERIFY);
    s.start(clock.at(0));
    assert_eq!(
        actions(&mut s),
        [Action::PauseRecording, play(1, &["enter-digits"])]
    );
    assert!(s.input_is_masked());
    digits(&mut s, clock.at(1000), "12");
    digits(&mut s, clock.at(1500), "34#");
    let acts = actions(&mut s);
    assert_eq!(
        acts,
        [
            Action::StopPlay,
            Action::ResumeRecording,
            lookup(1, IdentityKey::CustomerId("1234".into())),
        ]
    );
    let logged = format!("{acts:?}");
    assert!(!logged.contains("1234"), "Debug must mask the key: {logged}");
    assert!(logged.contains("CustomerId(\"****\")"), "{logged}");
    assert_eq!(
        events(&mut s),
        [
            IvrEvent::NodeEntered { node: "v".into() },
            IvrEvent::InputCollected {
                node: "v".into(),
                variable: IDENTITY_INPUT.into(),
                value: "****".into(),
            },
        ]
    );
    // A stale answer changes nothing.
    s.handle_lookup_result(clock.at(1600), 99, LookupOutcome::NotFound);
    assert_eq!(actions(&mut s), []);
    s.handle_lookup_result(
        clock.at(1700),
        1,
        LookupOutcome::Found {
            customer_id: "C-7".into(),
            phones: vec!["+1 555 0100".into()],
            attributes: BTreeMap::from([
                ("tier".into(), "gold".into()),
                ("first name".into(), "Ann".into()),
            ]),
        },
    );
    assert_eq!(actions(&mut s), [hangup("verified")]);
    assert_eq!(
        events(&mut s),
        [
            IvrEvent::AniChecked {
                node: "v".into(),
                matched: true
            },
            IvrEvent::IdentityVerified {
                node: "v".into(),
                verified: true,
                method: VerifyMethod::KeyedId,
                attempts: 1,
                customer_id: Some("C-7".into()),
            },
            IvrEvent::NodeEntered { node: "ok".into() },
            IvrEvent::Finished {
                reason: "verified".into()
            },
        ]
    );
    let vars: Vec<(&str, &str)> = s
        .variables()
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        vars,
        [
            ("ani_match", "true"),
            ("customer_first_name", "Ann"),
            ("customer_id", "C-7"),
            ("customer_tier", "gold"),
            ("verified", "true"),
            ("verify_method", "keyed_id"),
        ]
    );
    assert_eq!(masked_trail(&s), [TrailKind::MaskedDigit { buffered: false }; 5]);
    assert!(!s.input_is_masked());
}

#[test]
fn verify_identity_retries_short_missing_and_unknown_values_then_fails() {
    let clock = Clock::new();
    let mut s = session(VERIFY);
    s.start(clock.at(0));
    actions(&mut s);
    s.handle_play_finished(clock.at(3000), 1);
    assert_eq!(s.poll_timeout(), Some(clock.at(8000)), "first-digit timeout");
    // Too short: asked again, recording stays paused.
    digits(&mut s, clock.at(4000), "12#");
    assert_eq!(actions(&mut s), [play(2, &["invalid", "enter-digits"])]);
    s.handle_play_finished(clock.at(7000), 2);
    // No digit: asked again with the timeout prompt.
    s.handle_timeout(clock.at(12_000));
    assert_eq!(actions(&mut s), [play(3, &["no-input", "enter-digits"])]);
    digits(&mut s, clock.at(13_000), "999#");
    assert_eq!(
        actions(&mut s),
        [
            Action::StopPlay,
            Action::ResumeRecording,
            lookup(1, IdentityKey::CustomerId("999".into())),
        ]
    );
    s.handle_lookup_result(clock.at(13_100), 1, LookupOutcome::NotFound);
    assert_eq!(actions(&mut s), [hangup("unverified")]);
    let evs = events(&mut s);
    assert!(evs.contains(&IvrEvent::IdentityVerified {
        node: "v".into(),
        verified: false,
        method: VerifyMethod::KeyedId,
        attempts: 3,
        customer_id: None,
    }));
    let invalid = evs
        .iter()
        .filter(|e| matches!(e, IvrEvent::InvalidInput { .. }))
        .count();
    let no_input = evs
        .iter()
        .filter(|e| matches!(e, IvrEvent::NoInput { .. }))
        .count();
    assert_eq!((invalid, no_input), (2, 1));
    assert_eq!(var(&s, "verified"), Some("false"));
    assert_eq!(var(&s, "customer_id"), Some(""));
    assert_eq!(var(&s, "ani_match"), Some(""));
}

#[test]
fn verify_identity_asks_again_after_not_found() {
    let clock = Clock::new();
    let mut s = session(VERIFY);
    s.start(clock.at(0));
    actions(&mut s);
    digits(&mut s, clock.at(500), "111#");
    actions(&mut s);
    s.handle_lookup_result(clock.at(600), 1, LookupOutcome::NotFound);
    assert_eq!(
        actions(&mut s),
        [Action::PauseRecording, play(2, &["invalid", "enter-digits"])]
    );
}

#[test]
fn verify_identity_goes_to_on_error_when_the_lookup_fails_or_never_answers() {
    let clock = Clock::new();
    let mut s = session(VERIFY);
    s.start(clock.at(0));
    digits(&mut s, clock.at(500), "123#");
    actions(&mut s);
    s.handle_lookup_result(
        clock.at(600),
        1,
        LookupOutcome::Failed {
            reason: "db down".into(),
        },
    );
    assert_eq!(actions(&mut s), [hangup("lookup down")]);

    let mut s = session(VERIFY);
    s.start(clock.at(0));
    digits(&mut s, clock.at(500), "123#");
    actions(&mut s);
    // Static and table lookups get the default budget (3s) plus the slack (2s).
    assert_eq!(s.poll_timeout(), Some(clock.at(5500)));
    s.handle_timeout(clock.at(5499));
    assert_eq!(actions(&mut s), []);
    s.handle_timeout(clock.at(5500));
    assert_eq!(actions(&mut s), [hangup("lookup down")]);
    // The late answer is ignored.
    s.handle_lookup_result(clock.at(9000), 1, LookupOutcome::NotFound);
    assert_eq!(actions(&mut s), []);
}

#[test]
fn verify_identity_masks_digits_typed_ahead_into_it() {
    let src = format!(
        "flow: t\nstart: hello\nnodes:\n  hello: {{type: play, prompt: welcome, next: v}}\n{}",
        VERIFY.split_once("nodes:\n").unwrap().1
    );
    let clock = Clock::new();
    let mut s = session(&src);
    s.start(clock.at(0));
    actions(&mut s);
    digits(&mut s, clock.at(100), "4242#");
    assert_eq!(
        masked_trail(&s)[0],
        TrailKind::Digit {
            digit: Digit::D4,
            buffered: true
        },
        "not yet known to be secret"
    );
    s.handle_play_finished(clock.at(1000), 1);
    assert_eq!(
        actions(&mut s),
        [
            Action::PauseRecording,
            Action::ResumeRecording,
            lookup(1, IdentityKey::CustomerId("4242".into())),
        ]
    );
    assert_eq!(masked_trail(&s), [TrailKind::MaskedDigit { buffered: true }; 5]);
}

#[test]
fn verify_identity_with_ani_accept_verifies_a_known_caller_without_keying() {
    let src = "\
flow: t
start: v
nodes:
  v: {type: verify_identity, ask: phone, lookup: {table: customers}, ani: accept, prompt: enter-digits, max_digits: 12, on_success: ok, on_failure: no}
  ok: {type: hangup, reason: verified}
  no: {type: hangup, reason: unverified}
";
    let clock = Clock::new();
    let mut s = session(src);
    s.start(clock.at(0));
    let table = LookupSource::Table {
        table: "customers".into(),
    };
    assert_eq!(
        actions(&mut s),
        [Action::Lookup {
            request_id: 1,
            source: table.clone(),
            key: IdentityKey::Phone("+15550100".into()),
        }]
    );
    s.handle_lookup_result(
        clock.at(100),
        1,
        LookupOutcome::Found {
            customer_id: "C-1".into(),
            phones: vec!["+15550100".into()],
            attributes: BTreeMap::new(),
        },
    );
    assert_eq!(actions(&mut s), [hangup("verified")]);
    assert!(events(&mut s).contains(&IvrEvent::IdentityVerified {
        node: "v".into(),
        verified: true,
        method: VerifyMethod::Ani,
        attempts: 0,
        customer_id: Some("C-1".into()),
    }));
    assert_eq!(var(&s, "verify_method"), Some("ani"));

    // Not on file: the caller keys their number; it is not the number they call from.
    let mut s = session(src);
    s.start(clock.at(0));
    actions(&mut s);
    s.handle_lookup_result(clock.at(100), 1, LookupOutcome::NotFound);
    assert_eq!(
        actions(&mut s),
        [Action::PauseRecording, play(1, &["enter-digits"])]
    );
    s.handle_play_finished(clock.at(3000), 1);
    digits(&mut s, clock.at(3500), "5550199");
    s.handle_timeout(clock.at(6500));
    assert_eq!(
        actions(&mut s),
        [
            Action::ResumeRecording,
            Action::Lookup {
                request_id: 2,
                source: table,
                key: IdentityKey::Phone("5550199".into()),
            }
        ]
    );
    s.handle_lookup_result(
        clock.at(6600),
        2,
        LookupOutcome::Found {
            customer_id: "C-2".into(),
            phones: vec!["5550199".into()],
            attributes: BTreeMap::new(),
        },
    );
    let evs = events(&mut s);
    assert!(evs.contains(&IvrEvent::AniChecked {
        node: "v".into(),
        matched: false
    }));
    assert!(evs.contains(&IvrEvent::IdentityVerified {
        node: "v".into(),
        verified: true,
        method: VerifyMethod::KeyedNumber,
        attempts: 1,
        customer_id: Some("C-2".into()),
    }));
}

#[test]
fn http_lookup_keeps_the_key_placeholder_for_the_engine() {
    let src = "\
flow: t
variables: {region: eu}
start: v
nodes:
  v: {type: verify_identity, ask: customer_id, lookup: {http: {url: 'https://crm.example/${region}/c/${key}', timeout: 1s, retries: 2}}, max_digits: 4, on_success: ok, on_failure: ok}
  ok: {type: hangup}
";
    let clock = Clock::new();
    let mut s = session(src);
    s.start(clock.at(0));
    digits(&mut s, clock.at(10), "1234");
    let acts = actions(&mut s);
    assert_eq!(
        acts.last(),
        Some(&Action::Lookup {
            request_id: 1,
            source: LookupSource::Http {
                url: "https://crm.example/eu/c/${key}".into(),
                timeout: Duration::from_secs(1),
                retries: 2,
            },
            key: IdentityKey::CustomerId("1234".into()),
        })
    );
    // The guard: 1s × 3 attempts + 2s slack.
    assert_eq!(s.poll_timeout(), Some(clock.at(5010)));
}

// ----- http -----

const HTTP: &str = "\
flow: t
variables: {account: '123'}
start: h
nodes:
  h:
    type: http
    url: 'https://crm.example/accounts/${account}?from=${caller}'
    headers: {Authorization: 'Bearer t-${call_id}'}
    timeout: 2s
    retries: 1
    map: {tier: customer.tier, phone: customer.phones.1, count: stats.calls, missing: customer.nope, flags: customer.flags}
    next: ok
    on_failure: fail
  ok: {type: hangup, reason: ok}
  fail: {type: hangup, reason: fail}
";

#[test]
fn http_sends_the_interpolated_request_and_maps_the_answer() {
    let clock = Clock::new();
    let mut s = session(HTTP);
    s.start(clock.at(0));
    assert_eq!(
        actions(&mut s),
        [Action::Http {
            request_id: 1,
            method: HttpMethod::Get,
            url: "https://crm.example/accounts/123?from=+15550100".into(),
            headers: vec![("Authorization".into(), "Bearer t-c1".into())],
            body: None,
            timeout: Duration::from_secs(2),
            retries: 1,
        }]
    );
    assert!(!s.is_finished());
    s.handle_http_result(
        clock.at(50),
        7,
        HttpOutcome::Response {
            status: 200,
            body: json!({}),
        },
    );
    assert_eq!(actions(&mut s), [], "a stale id is ignored");
    s.handle_http_result(
        clock.at(100),
        1,
        HttpOutcome::Response {
            status: 200,
            body: json!({"customer": {"tier": "gold", "phones": ["a", "b"], "flags": {"vip": true}}, "stats": {"calls": 7}}),
        },
    );
    assert_eq!(actions(&mut s), [hangup("ok")]);
    assert!(events(&mut s).contains(&IvrEvent::HttpCompleted {
        node: "h".into(),
        ok: true,
        status: Some(200)
    }));
    assert_eq!(var(&s, "tier"), Some("gold"));
    assert_eq!(var(&s, "phone"), Some("b"));
    assert_eq!(var(&s, "count"), Some("7"));
    assert_eq!(var(&s, "missing"), Some(""));
    assert_eq!(var(&s, "flags"), Some(r#"{"vip":true}"#));
}

#[test]
fn http_failures_statuses_and_lost_answers_go_to_on_failure() {
    let clock = Clock::new();
    for (outcome, status) in [
        (
            HttpOutcome::Response {
                status: 404,
                body: serde_json::Value::Null,
            },
            Some(404),
        ),
        (
            HttpOutcome::Failed {
                reason: "refused".into(),
            },
            None,
        ),
    ] {
        let mut s = session(HTTP);
        s.start(clock.at(0));
        actions(&mut s);
        s.handle_http_result(clock.at(10), 1, outcome);
        assert_eq!(actions(&mut s), [hangup("fail")]);
        assert!(events(&mut s).contains(&IvrEvent::HttpCompleted {
            node: "h".into(),
            ok: false,
            status
        }));
    }
    // The interpreter's own deadline: 2s × 2 attempts + 2s slack.
    let mut s = session(HTTP);
    s.start(clock.at(0));
    actions(&mut s);
    assert_eq!(s.poll_timeout(), Some(clock.at(6000)));
    s.handle_timeout(clock.at(6000));
    assert_eq!(finished(&mut s).as_deref(), Some("fail"));
    s.handle_http_result(
        clock.at(7000),
        1,
        HttpOutcome::Response {
            status: 200,
            body: json!({}),
        },
    );
    assert_eq!(actions(&mut s), [hangup("fail")], "only the first hangup");
}

#[test]
fn http_post_fills_in_the_body() {
    let src = "\
flow: t
variables: {account: '123'}
start: h
nodes:
  h: {type: http, method: POST, url: 'https://x.example/calls', body: {caller: '${caller}', list: ['${account}', 5, true, null]}, next: ok, on_failure: ok}
  ok: {type: hangup}
";
    let mut s = session(src);
    s.start(Clock::new().at(0));
    let Some(Action::Http { method, body, .. }) = s.poll_action() else {
        panic!("http")
    };
    assert_eq!(method, HttpMethod::Post);
    assert_eq!(
        body,
        Some(json!({"caller": "+15550100", "list": ["123", 5, true, null]}))
    );
}

// ----- switch -----

/// Which way a switch with one case goes: `yes` or `no`.
fn branch(when: &str, vars: &str, wall: &str, flow_tz: Option<&str>, call_tz: &str) -> String {
    let tz_line = flow_tz.map_or(String::new(), |tz| format!("timezone: {tz}\n"));
    let src = format!(
        "flow: t\n{tz_line}calendars: {{holidays: [2025-12-25, 12-31]}}\nvariables: {{{vars}}}\nstart: s\nnodes:\n  s: {{type: switch, cases: [{{when: {when}, next: 'yes'}}], default: 'no'}}\n  'yes': {{type: hangup, reason: 'yes'}}\n  'no': {{type: hangup, reason: 'no'}}\n"
    );
    let flow = load_str(&src, "t.yaml", &LoadContext::permissive()).unwrap_or_else(|d| panic!("{d:#?}"));
    let ctx = CallContext {
        wall_clock: wall.parse::<Timestamp>().unwrap(),
        time_zone: TimeZone::get(call_tz).unwrap(),
        ..ctx()
    };
    let mut s = Session::new(Arc::new(flow), ctx);
    s.start(Clock::new().at(0));
    finished(&mut s).unwrap()
}

const MONDAY_NOON: &str = "2025-01-06T12:00:00Z";

#[test]
fn switch_tests_variables_and_the_caller() {
    let b = |when: &str, vars: &str| branch(when, vars, MONDAY_NOON, None, "UTC");
    assert_eq!(b("{variable: tier, equals: gold}", "tier: gold"), "yes");
    assert_eq!(b("{variable: tier, equals: gold}", "tier: silver"), "no");
    assert_eq!(
        b("{variable: tier, in: [gold, platinum]}", "tier: platinum"),
        "yes"
    );
    assert_eq!(b("{variable: tier, matches: '^pl'}", "tier: platinum"), "yes");
    assert_eq!(b("{variable: caller, prefix: '+1555'}", "x: ''"), "yes");
    assert_eq!(b("{variable: caller, prefix: '+49'}", "x: ''"), "no");
    assert_eq!(
        b("{variable: caller, in: ['+15550100', '+15550101']}", "x: ''"),
        "yes"
    );
    assert_eq!(
        b(
            "{variable: balance, at_least: 40, at_most: 50}",
            "balance: '42.5'"
        ),
        "yes"
    );
    assert_eq!(b("{variable: balance, at_least: 43}", "balance: '42.5'"), "no");
    assert_eq!(b("{variable: balance, at_most: 0}", "balance: abc"), "no");
    assert_eq!(b("{variable: note, empty: true}", "note: ''"), "yes");
    assert_eq!(b("{variable: note, empty: false}", "note: ''"), "no");
    assert_eq!(
        b(
            "{all: [{variable: tier, equals: gold}, {variable: caller, prefix: '+1'}]}",
            "tier: gold"
        ),
        "yes"
    );
    assert_eq!(
        b(
            "{any: [{variable: tier, equals: gold}, {variable: tier, equals: silver}]}",
            "tier: bronze"
        ),
        "no"
    );
    assert_eq!(b("{not: {variable: tier, equals: gold}}", "tier: bronze"), "yes");
    // Several keys in one condition must all hold.
    assert_eq!(
        b(
            "{variable: tier, prefix: g, equals: gold, days: [mon]}",
            "tier: gold"
        ),
        "yes"
    );
    assert_eq!(b("{variable: tier, prefix: g, days: [tue]}", "tier: gold"), "no");
}

#[test]
fn switch_tests_time_of_day_days_and_calendars() {
    let at = |when: &str, wall: &str| branch(when, "x: ''", wall, None, "UTC");
    let hours = "{time: '08:00-18:00'}";
    assert_eq!(at(hours, "2025-01-06T07:59:59Z"), "no");
    assert_eq!(at(hours, "2025-01-06T08:00:00Z"), "yes");
    assert_eq!(at(hours, "2025-01-06T17:59:59Z"), "yes");
    assert_eq!(at(hours, "2025-01-06T18:00:00Z"), "no");
    let night = "{time: '22:00-06:00'}";
    assert_eq!(at(night, "2025-01-06T23:30:00Z"), "yes");
    assert_eq!(at(night, "2025-01-06T05:59:00Z"), "yes");
    assert_eq!(at(night, "2025-01-06T06:00:00Z"), "no");
    assert_eq!(at("{days: [mon-fri]}", "2025-01-06T12:00:00Z"), "yes");
    assert_eq!(at("{days: [mon-fri]}", "2025-01-11T12:00:00Z"), "no");
    assert_eq!(at("{days: [sat-sun]}", "2025-01-11T12:00:00Z"), "yes");
    assert_eq!(at("{days: [fri-mon]}", "2025-01-08T12:00:00Z"), "no");
    assert_eq!(at("{calendar: holidays}", "2025-12-25T12:00:00Z"), "yes");
    assert_eq!(at("{calendar: holidays}", "2025-12-26T12:00:00Z"), "no");
    assert_eq!(
        at("{calendar: holidays}", "2031-12-31T12:00:00Z"),
        "yes",
        "yearly"
    );
}

#[test]
fn switch_uses_the_flow_time_zone_else_the_call_time_zone() {
    // 17:30 UTC is 18:30 in Berlin.
    let wall = "2025-01-06T17:30:00Z";
    let hours = "{time: '08:00-18:00'}";
    assert_eq!(branch(hours, "x: ''", wall, None, "UTC"), "yes");
    assert_eq!(branch(hours, "x: ''", wall, None, "Europe/Berlin"), "no");
    assert_eq!(branch(hours, "x: ''", wall, Some("Europe/Berlin"), "UTC"), "no");
    assert_eq!(branch(hours, "x: ''", wall, Some("UTC"), "Europe/Berlin"), "yes");
    // Daylight saving time: 16:30 UTC in July is 18:30 in Berlin.
    assert_eq!(
        branch(
            hours,
            "x: ''",
            "2025-07-07T15:30:00Z",
            Some("Europe/Berlin"),
            "UTC"
        ),
        "yes"
    );
    assert_eq!(
        branch(
            hours,
            "x: ''",
            "2025-07-07T16:30:00Z",
            Some("Europe/Berlin"),
            "UTC"
        ),
        "no"
    );
}

#[test]
fn switch_sees_the_wall_clock_move_with_the_call() {
    let src = "\
flow: t
start: p
nodes:
  p: {type: play, prompt: welcome, next: s}
  s: {type: switch, cases: [{when: {time: '08:00-18:00'}, next: open}], default: closed}
  open: {type: hangup, reason: open}
  closed: {type: hangup, reason: closed}
";
    let flow = load_str(src, "t.yaml", &LoadContext::permissive()).unwrap();
    let ctx = CallContext {
        wall_clock: "2025-01-06T17:59:58Z".parse().unwrap(),
        ..ctx()
    };
    let clock = Clock::new();
    let mut s = Session::new(Arc::new(flow), ctx);
    s.start(clock.at(0));
    s.handle_play_finished(clock.at(3000), 1);
    assert_eq!(finished(&mut s).as_deref(), Some("closed"));
}

// ----- enqueue -----

const QUEUE: &str = "\
flow: t
start: q
nodes:
  q: {type: enqueue, queue: support, priority: 5, skills: {english: 3, billing: 1}, timeout: 1m, on_timeout: late, on_left: left}
  late: {type: hangup, reason: late}
  left: {type: hangup, reason: left}
";

#[test]
fn enqueue_hands_over_and_ends_without_hangup_when_connected() {
    let clock = Clock::new();
    let mut s = session(QUEUE);
    s.start(clock.at(0));
    assert_eq!(
        actions(&mut s),
        [Action::Enqueue {
            request_id: 1,
            queue: "support".into(),
            priority: 5,
            skills: BTreeMap::from([("billing".into(), 1), ("english".into(), 3)]),
            timeout: Some(Duration::from_secs(60)),
        }]
    );
    assert!(!s.is_finished());
    digits(&mut s, clock.at(1000), "5");
    assert_eq!(
        s.trail().last().map(|e| e.kind),
        Some(TrailKind::Digit {
            digit: Digit::D5,
            buffered: true
        })
    );
    s.handle_queue_result(clock.at(20_000), 2, QueueOutcome::Connected);
    assert!(!s.is_finished(), "a stale id is ignored");
    s.handle_queue_result(clock.at(20_000), 1, QueueOutcome::Connected);
    assert!(s.is_finished());
    assert_eq!(actions(&mut s), [], "no hangup: the call goes on with the agent");
    assert_eq!(finished(&mut s).as_deref(), Some(REASON_CONNECTED));
}

#[test]
fn enqueue_goes_on_when_the_queue_gives_the_call_back() {
    let clock = Clock::new();
    for (reason, then) in [("timeout", "late"), ("overflow", "left"), ("unavailable", "left")] {
        let mut s = session(QUEUE);
        s.start(clock.at(0));
        s.handle_queue_result(
            clock.at(10),
            1,
            QueueOutcome::Left {
                reason: reason.into(),
            },
        );
        assert_eq!(finished(&mut s).as_deref(), Some(then), "{reason}");
    }
    // The queue's own timeout plus the slack, if the queue never answers.
    let mut s = session(QUEUE);
    s.start(clock.at(0));
    assert_eq!(s.poll_timeout(), Some(clock.at(62_000)));
    s.handle_timeout(clock.at(62_000));
    assert_eq!(finished(&mut s).as_deref(), Some("late"));
}

// ----- transfer, return, store, menu view -----

#[test]
fn transfer_ends_the_flow_without_hangup() {
    let src = "\
flow: t
start: a
nodes:
  a: {type: set, variables: {agent: alice}, next: b}
  b: {type: transfer, to: 'sip:${agent}@pbx.example'}
";
    let mut s = session(src);
    s.start(Clock::new().at(0));
    assert_eq!(
        actions(&mut s),
        [Action::Transfer {
            target: "sip:alice@pbx.example".into()
        }]
    );
    assert!(s.is_finished());
    assert_eq!(finished(&mut s).as_deref(), Some(REASON_TRANSFER));
}

#[test]
fn return_in_the_top_level_flow_ends_the_call() {
    let mut s = session("flow: t\nstart: a\nnodes:\n  a: {type: return}\n");
    s.start(Clock::new().at(0));
    assert_eq!(actions(&mut s), [hangup(REASON_END_OF_FLOW)]);
}

#[test]
fn stored_inputs_go_to_the_call_record() {
    let src = "\
flow: t
start: m
nodes:
  m: {type: menu, title: Rate us, variable: rating, store: true, options: {'4': {label: Good, next: c}}, on_fail: bye}
  c: {type: collect, variable: account, max_digits: 2, store: true, next: bye, on_fail: bye}
  bye: {type: hangup}
";
    let clock = Clock::new();
    let mut s = session(src);
    s.start(clock.at(0));
    assert_eq!(
        s.menu(),
        Some(MenuView {
            node: "m".into(),
            title: Some("Rate us".into()),
            options: vec![MenuViewOption {
                key: Digit::D4,
                label: "Good".into()
            }],
        })
    );
    digits(&mut s, clock.at(100), "4");
    assert_eq!(s.menu(), None);
    digits(&mut s, clock.at(200), "12");
    let fields: Vec<(String, String)> = events(&mut s)
        .into_iter()
        .filter_map(|e| match e {
            IvrEvent::RecordField { name, value, .. } => Some((name, value)),
            _ => None,
        })
        .collect();
    assert_eq!(
        fields,
        [("rating".into(), "4".into()), ("account".into(), "12".into())]
    );
}

// ----- subflows -----

const MAIN: &str = "\
flow: main
variables: {code: ''}
start: a
nodes:
  a: {type: set, variables: {who: main}, next: b}
  b: {type: subflow, flow: sub, next: c}
  c: {type: play, prompt: goodbye, say_digits: code}
";

const SUB: &str = "\
flow: sub
variables: {who: '', greeting: hi}
start: x
nodes:
  x: {type: set, variables: {code: '42', seen: '${who}'}, next: y}
  y: {type: play, prompt: welcome}
";

fn linked(sources: &[&str]) -> BTreeMap<String, Arc<Flow>> {
    let flows = sources
        .iter()
        .map(|src| load_str(src, "t.yaml", &LoadContext::permissive()).unwrap_or_else(|d| panic!("{d:#?}")))
        .collect();
    let (linked, diags) = crate::link(flows);
    assert!(diags.is_empty(), "{diags:#?}");
    linked
}

#[test]
fn subflow_runs_with_shared_variables_and_returns_to_next() {
    let flows = linked(&[MAIN, SUB]);
    let clock = Clock::new();
    let mut s = Session::new(Arc::clone(&flows["main"]), ctx());
    s.start(clock.at(0));
    assert_eq!(actions(&mut s), [play(1, &["welcome"])]);
    assert_eq!(path(&s), ["a", "b", "sub/x", "sub/y"]);
    assert_eq!(
        var(&s, "who"),
        Some("main"),
        "a declared variable does not overwrite"
    );
    assert_eq!(
        var(&s, "greeting"),
        Some("hi"),
        "declared variables start with their value"
    );
    assert_eq!(var(&s, "seen"), Some("main"));
    s.handle_play_finished(clock.at(2000), 1);
    assert_eq!(actions(&mut s), [play(2, &["goodbye", "digit-4", "digit-2"])]);
    assert_eq!(path(&s), ["a", "b", "sub/x", "sub/y", "c"]);
    s.handle_play_finished(clock.at(4000), 2);
    assert_eq!(actions(&mut s), [hangup(REASON_END_OF_FLOW)]);
    assert!(Arc::ptr_eq(s.flow(), &flows["main"]));

    // `return` returns at once.
    let flows = linked(&[
        MAIN,
        &SUB.replace("{type: play, prompt: welcome}", "{type: return}"),
    ]);
    let mut s = Session::new(Arc::clone(&flows["main"]), ctx());
    s.start(clock.at(0));
    assert_eq!(path(&s), ["a", "b", "sub/x", "sub/y", "c"]);
}

#[test]
fn subflow_in_an_unlinked_flow_hangs_up() {
    let mut s = session(&MAIN.replace("flow: sub", "flow: other"));
    s.start(Clock::new().at(0));
    assert_eq!(actions(&mut s), [hangup(REASON_NOT_LINKED)]);
}

/// `depth` flows, each calling the next; the last hangs up with `deepest`.
fn chain(depth: usize) -> Vec<String> {
    (1..=depth)
        .map(|i| {
            if i == depth {
                format!("flow: f{i}\nstart: a\nnodes:\n  a: {{type: hangup, reason: deepest}}\n")
            } else {
                format!(
                    "flow: f{i}\nstart: a\nnodes:\n  a: {{type: subflow, flow: f{}, next: b}}\n  b: {{type: hangup}}\n",
                    i + 1
                )
            }
        })
        .collect()
}

#[test]
fn subflow_depth_at_the_limit_runs_and_one_more_hangs_up() {
    for (depth, reason) in [
        (MAX_SUBFLOW_DEPTH, "deepest"),
        (MAX_SUBFLOW_DEPTH + 1, REASON_SUBFLOW_DEPTH),
    ] {
        let sources = chain(depth);
        let refs: Vec<&str> = sources.iter().map(String::as_str).collect();
        let flows = linked(&refs);
        let mut s = Session::new(Arc::clone(&flows["f1"]), ctx());
        s.start(Clock::new().at(0));
        assert_eq!(actions(&mut s), [hangup(reason)], "depth {depth}");
    }
}

// ----- limits on variables -----

#[test]
fn variable_values_are_cut_at_the_limit() {
    let clock = Clock::new();
    for len in [MAX_VALUE_LEN, MAX_VALUE_LEN + 1] {
        let mut s = session(HTTP);
        s.start(clock.at(0));
        s.handle_http_result(
            clock.at(10),
            1,
            HttpOutcome::Response {
                status: 200,
                body: json!({"customer": {"tier": "é".repeat(len)}}),
            },
        );
        assert_eq!(var(&s, "tier").map(|v| v.chars().count()), Some(MAX_VALUE_LEN));
    }
}

#[test]
fn variables_at_the_limit_are_kept_and_one_more_is_dropped() {
    let clock = Clock::new();
    // verify_identity sets four variables, then one per attribute.
    for extra in [0, 1] {
        let attributes: BTreeMap<String, String> = (0..MAX_VARIABLES - 4 + extra)
            .map(|i| (format!("a{i:04}"), "x".to_owned()))
            .collect();
        let mut s = session(VERIFY);
        s.start(clock.at(0));
        digits(&mut s, clock.at(10), "123#");
        s.handle_lookup_result(
            clock.at(20),
            1,
            LookupOutcome::Found {
                customer_id: "C".into(),
                phones: Vec::new(),
                attributes,
            },
        );
        assert_eq!(s.variables().len(), MAX_VARIABLES);
        assert_eq!(var(&s, "customer_id"), Some("C"));
        let last = format!("customer_a{:04}", MAX_VARIABLES - 5 + extra);
        assert_eq!(var(&s, &last).is_some(), extra == 0, "{last}");
    }
}
