//! Whole calls in virtual time.

use std::path::Path;

use super::*;
use crate::load::tests::ctx as load_ctx;
use crate::load::{load_file, load_str, load_str_without_loop_check};

/// Virtual time: milliseconds since an arbitrary origin.
pub(crate) struct Clock(Instant);

impl Clock {
    // Virtual time needs an origin; nothing here waits on the real clock.
    #[expect(clippy::disallowed_methods, reason = "an arbitrary origin for virtual time")]
    pub(crate) fn new() -> Self {
        Self(Instant::now())
    }
    pub(crate) fn at(&self, ms: u64) -> Instant {
        self.0 + Duration::from_millis(ms)
    }
}

/// An arbitrary origin for virtual time.
#[expect(clippy::disallowed_methods, reason = "an arbitrary origin for virtual time")]
pub(crate) fn origin() -> Instant {
    Instant::now()
}

pub(crate) fn ctx() -> CallContext {
    CallContext {
        caller: "+15550100".into(),
        callee: "hotline".into(),
        call_id: "c1".into(),
        ..CallContext::default()
    }
}

/// The first demo flow: greet, ask for an account number, thank, say goodbye. The timing
/// tests below drive it.
const ACCOUNT: &str = "\
flow: account
start: greeting
nodes:
  greeting:
    type: play
    prompt: welcome
    next: ask_account
  ask_account:
    type: collect
    prompt: enter-digits
    variable: account
    min_digits: 1
    max_digits: 12
    terminator: \"#\"
    first_digit_timeout: 6s
    inter_digit_timeout: 4s
    retries: 1
    pattern: \"^[0-9]+$\"
    invalid_prompt: invalid
    next: thanks
    on_timeout: no_input
    on_fail: goodbye
  thanks:
    type: play
    prompt: you-entered
    next: goodbye
  no_input:
    type: play
    prompt: no-input
    next: goodbye
  goodbye:
    type: play
    prompt: goodbye
    next: bye
  bye:
    type: hangup
    reason: completed
";

fn hotline() -> Session {
    session(ACCOUNT)
}

pub(crate) fn session(src: &str) -> Session {
    let flow = load_str(src, "t.yaml", &load_ctx()).unwrap_or_else(|d| panic!("{d:#?}"));
    Session::new(Arc::new(flow), ctx())
}

pub(crate) fn actions(s: &mut Session) -> Vec<Action> {
    std::iter::from_fn(|| s.poll_action()).collect()
}

pub(crate) fn events(s: &mut Session) -> Vec<IvrEvent> {
    std::iter::from_fn(|| s.poll_event()).collect()
}

pub(crate) fn play(play_id: u64, prompts: &[&str]) -> Action {
    Action::Play {
        play_id,
        prompts: prompts.iter().map(|p| (*p).to_owned()).collect(),
    }
}

pub(crate) fn hangup(reason: &str) -> Action {
    Action::Hangup {
        reason: reason.to_owned(),
    }
}

pub(crate) fn digits(s: &mut Session, now: Instant, keys: &str) {
    for c in keys.chars() {
        s.handle_digit(now, Digit::from_char(c).unwrap());
    }
}

pub(crate) fn path(s: &Session) -> Vec<&str> {
    s.trail()
        .iter()
        .filter(|e| e.kind == TrailKind::Entered)
        .map(|e| e.node.as_str())
        .collect()
}

#[test]
fn hotline_collects_an_account_number_ended_by_pound() {
    let clock = Clock::new();
    let mut s = hotline();
    s.start(clock.at(0));
    assert_eq!(actions(&mut s), [play(1, &["welcome"])]);
    assert_eq!(s.poll_timeout(), None, "no timer while a play node plays");

    s.handle_play_finished(clock.at(2000), 1);
    assert_eq!(actions(&mut s), [play(2, &["enter-digits"])]);
    s.handle_play_finished(clock.at(5000), 2);
    assert_eq!(
        s.poll_timeout(),
        Some(clock.at(11_000)),
        "first-digit timeout starts when the prompt ends"
    );

    s.handle_digit(clock.at(6000), Digit::D1);
    assert_eq!(
        s.poll_timeout(),
        Some(clock.at(10_000)),
        "inter-digit timeout after each digit"
    );
    s.handle_digit(clock.at(6500), Digit::D2);
    s.handle_digit(clock.at(7000), Digit::D3);
    s.handle_digit(clock.at(7500), Digit::Pound);
    assert_eq!(actions(&mut s), [play(3, &["you-entered"])]);
    s.handle_play_finished(clock.at(8500), 3);
    assert_eq!(actions(&mut s), [play(4, &["goodbye"])]);
    s.handle_play_finished(clock.at(9000), 4);
    assert_eq!(actions(&mut s), [hangup("completed")]);
    assert!(s.is_finished());
    assert_eq!(s.poll_timeout(), None);

    assert_eq!(s.variables().get("account").map(String::as_str), Some("123"));
    assert_eq!(path(&s), ["greeting", "ask_account", "thanks", "goodbye", "bye"]);
    let evs = events(&mut s);
    assert!(evs.contains(&IvrEvent::InputCollected {
        node: "ask_account".into(),
        variable: "account".into(),
        value: "123".into()
    }));
    assert_eq!(
        evs.last(),
        Some(&IvrEvent::Finished {
            reason: "completed".into()
        })
    );

    let pressed: Vec<(Duration, &str, Digit)> = s
        .trail()
        .iter()
        .filter_map(|e| match e.kind {
            TrailKind::Digit {
                digit,
                buffered: false,
            } => Some((e.at, e.node.as_str(), digit)),
            _ => None,
        })
        .collect();
    assert_eq!(
        pressed,
        [
            (Duration::from_millis(6000), "ask_account", Digit::D1),
            (Duration::from_millis(6500), "ask_account", Digit::D2),
            (Duration::from_millis(7000), "ask_account", Digit::D3),
            (Duration::from_millis(7500), "ask_account", Digit::Pound),
        ]
    );
}

#[test]
fn digits_typed_during_the_greeting_feed_the_collect_and_skip_its_prompt() {
    let clock = Clock::new();
    let mut s = hotline();
    s.start(clock.at(0));
    digits(&mut s, clock.at(500), "42#");
    assert_eq!(
        actions(&mut s),
        [play(1, &["welcome"])],
        "type-ahead does not stop a play node"
    );
    s.handle_play_finished(clock.at(2000), 1);
    assert_eq!(actions(&mut s), [play(2, &["you-entered"])]);
    assert_eq!(s.variables().get("account").map(String::as_str), Some("42"));
    let buffered: Vec<(&str, bool)> = s
        .trail()
        .iter()
        .filter_map(|e| match e.kind {
            TrailKind::Digit { buffered, .. } => Some((e.node.as_str(), buffered)),
            _ => None,
        })
        .collect();
    assert_eq!(buffered, [("greeting", true); 3]);
}

#[test]
fn partial_type_ahead_skips_the_prompt_and_waits_for_more() {
    let clock = Clock::new();
    let mut s = hotline();
    s.start(clock.at(0));
    actions(&mut s);
    digits(&mut s, clock.at(500), "7");
    s.handle_play_finished(clock.at(2000), 1);
    assert!(
        actions(&mut s).is_empty(),
        "no enter-digits prompt once the caller is typing"
    );
    assert_eq!(
        s.poll_timeout(),
        Some(clock.at(6000)),
        "inter-digit timer runs from the play's end"
    );
    digits(&mut s, clock.at(3000), "8#");
    assert_eq!(s.variables().get("account").map(String::as_str), Some("78"));
}

#[test]
fn a_digit_during_the_collect_prompt_stops_it() {
    let clock = Clock::new();
    let mut s = hotline();
    s.start(clock.at(0));
    actions(&mut s);
    s.handle_play_finished(clock.at(2000), 1);
    assert_eq!(actions(&mut s), [play(2, &["enter-digits"])]);
    s.handle_digit(clock.at(2500), Digit::D5);
    assert_eq!(actions(&mut s), [Action::StopPlay]);
    // The media side may still report the stopped prompt: it changes nothing.
    s.handle_play_finished(clock.at(2600), 2);
    assert_eq!(s.poll_timeout(), Some(clock.at(6500)));
    digits(&mut s, clock.at(3000), "#");
    assert_eq!(s.variables().get("account").map(String::as_str), Some("5"));
}

#[test]
fn no_input_retries_once_then_plays_no_input_and_goodbye() {
    let clock = Clock::new();
    let mut s = hotline();
    s.start(clock.at(0));
    s.handle_play_finished(clock.at(2000), 1);
    s.handle_play_finished(clock.at(5000), 2);
    assert_eq!(
        actions(&mut s),
        [play(1, &["welcome"]), play(2, &["enter-digits"])]
    );
    s.handle_timeout(clock.at(10_999));
    assert!(actions(&mut s).is_empty(), "not yet due");
    s.handle_timeout(clock.at(11_000));
    assert_eq!(actions(&mut s), [play(3, &["enter-digits"])], "re-prompt");
    s.handle_play_finished(clock.at(14_000), 3);
    s.handle_timeout(clock.at(20_000));
    assert_eq!(actions(&mut s), [play(4, &["no-input"])]);
    s.handle_play_finished(clock.at(21_000), 4);
    s.handle_play_finished(clock.at(22_000), 5);
    assert_eq!(actions(&mut s), [play(5, &["goodbye"]), hangup("completed")]);
    let no_input = events(&mut s)
        .iter()
        .filter(|e| matches!(e, IvrEvent::NoInput { .. }))
        .count();
    assert_eq!(no_input, 2);
    assert_eq!(
        path(&s),
        ["greeting", "ask_account", "no_input", "goodbye", "bye"]
    );
    assert!(s.variables().is_empty());
}

#[test]
fn inter_digit_timeout_ends_collection_with_the_digits_so_far() {
    let clock = Clock::new();
    let mut s = hotline();
    s.start(clock.at(0));
    s.handle_play_finished(clock.at(1000), 1);
    s.handle_play_finished(clock.at(2000), 2);
    digits(&mut s, clock.at(3000), "99");
    s.handle_timeout(clock.at(7000));
    assert_eq!(s.variables().get("account").map(String::as_str), Some("99"));
    assert_eq!(path(&s), ["greeting", "ask_account", "thanks"]);
}

#[test]
fn invalid_value_plays_invalid_and_asks_again() {
    let clock = Clock::new();
    let mut s = hotline();
    s.start(clock.at(0));
    s.handle_play_finished(clock.at(1000), 1);
    s.handle_play_finished(clock.at(2000), 2);
    actions(&mut s);
    digits(&mut s, clock.at(3000), "#");
    assert_eq!(actions(&mut s), [play(3, &["invalid", "enter-digits"])]);
    assert!(events(&mut s).contains(&IvrEvent::InvalidInput {
        node: "ask_account".into()
    }));
    digits(&mut s, clock.at(3500), "1*2#");
    assert_eq!(
        actions(&mut s),
        [Action::StopPlay, play(4, &["goodbye"])],
        "pattern fails twice: on_fail"
    );
    assert_eq!(path(&s), ["greeting", "ask_account", "goodbye"]);
}

#[test]
fn reaching_max_digits_ends_collection() {
    let clock = Clock::new();
    let mut s = hotline();
    s.start(clock.at(0));
    s.handle_play_finished(clock.at(1000), 1);
    s.handle_play_finished(clock.at(2000), 2);
    digits(&mut s, clock.at(3000), "1234567890123");
    assert_eq!(
        s.variables().get("account").map(String::as_str),
        Some("123456789012")
    );
    // The 13th digit arrived during `thanks` and waits as type-ahead.
    assert_eq!(
        s.trail().last().map(|e| (e.node.as_str(), e.kind)),
        Some((
            "thanks",
            TrailKind::Digit {
                digit: Digit::D3,
                buffered: true
            }
        ))
    );
}

const MENU: &str = "\
flow: m
start: menu
nodes:
  menu:
    type: menu
    prompt: main-menu
    variable: choice
    timeout: 4s
    retries: 1
    invalid_prompt: invalid
    timeout_prompt: no-input
    options:
      '1': {label: Sales, next: sales}
      '2': {label: Support, next: support}
    on_fail: bye
  sales: {type: play, prompt: welcome, next: bye}
  support: {type: play, prompt: after-hours, next: bye}
  bye: {type: hangup, reason: done}
";

#[test]
fn menu_selects_an_option_and_stores_the_key() {
    let clock = Clock::new();
    let mut s = session(MENU);
    s.start(clock.at(0));
    s.handle_digit(clock.at(500), Digit::D2);
    assert_eq!(
        actions(&mut s),
        [
            play(1, &["main-menu"]),
            Action::StopPlay,
            play(2, &["after-hours"])
        ]
    );
    assert_eq!(s.variables().get("choice").map(String::as_str), Some("2"));
    assert!(events(&mut s).contains(&IvrEvent::OptionSelected {
        node: "menu".into(),
        key: Digit::D2,
        label: "Support".into()
    }));
}

#[test]
fn menu_reprompts_after_invalid_key_and_timeout_then_fails() {
    let clock = Clock::new();
    let mut s = session(MENU);
    s.start(clock.at(0));
    s.handle_play_finished(clock.at(3000), 1);
    s.handle_digit(clock.at(3500), Digit::D7);
    assert_eq!(
        actions(&mut s),
        [play(1, &["main-menu"]), play(2, &["invalid", "main-menu"])]
    );
    s.handle_play_finished(clock.at(6000), 2);
    assert_eq!(s.poll_timeout(), Some(clock.at(10_000)));
    s.handle_timeout(clock.at(10_000));
    assert_eq!(actions(&mut s), [hangup("done")], "retries used up: on_fail");
    assert_eq!(path(&s), ["menu", "bye"]);

    let mut s = session(MENU);
    s.start(clock.at(0));
    s.handle_play_finished(clock.at(3000), 1);
    s.handle_timeout(clock.at(7000));
    assert_eq!(
        actions(&mut s),
        [play(1, &["main-menu"]), play(2, &["no-input", "main-menu"])]
    );
}

#[test]
fn set_interpolates_variables_and_builtins_and_play_says_digits() {
    let src = "\
flow: s
start: ask
nodes:
  ask: {type: collect, variable: pin, max_digits: 2, next: set, on_fail: set}
  set:
    type: set
    variables: {who: '${caller} pin ${pin}', call: '${call_id}'}
    next: say
  say: {type: play, prompt: you-entered, say_digits: pin}
";
    let clock = Clock::new();
    let mut s = session(src);
    s.start(clock.at(0));
    digits(&mut s, clock.at(100), "40");
    assert_eq!(
        s.variables().get("who").map(String::as_str),
        Some("+15550100 pin 40")
    );
    assert_eq!(s.variables().get("call").map(String::as_str), Some("c1"));
    assert_eq!(actions(&mut s), [play(1, &["you-entered", "digit-4", "digit-0"])]);
    s.handle_play_finished(clock.at(2000), 1);
    assert_eq!(
        actions(&mut s),
        [hangup(REASON_END_OF_FLOW)],
        "a node without next ends the call"
    );
}

#[test]
fn answer_hangup_flow_hangs_up_at_once() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ivr-flows/answer-hangup.yaml");
    let mut s = Session::new(Arc::new(load_file(&path, &load_ctx()).unwrap()), ctx());
    s.start(Clock::new().at(0));
    assert_eq!(actions(&mut s), [hangup("benchmark")]);
    assert!(s.is_finished());
}

#[test]
fn step_cap_hangs_up_a_runaway_loop() {
    let src = "flow: l\nstart: a\nnodes:\n  a: {type: goto, target: b}\n  b: {type: goto, target: a}\n";
    let flow = load_str_without_loop_check(src, &load_ctx()).unwrap();
    let mut s = Session::new(Arc::new(flow), ctx());
    s.start(Clock::new().at(0));
    assert_eq!(actions(&mut s), [hangup(REASON_STEP_LIMIT)]);
    assert_eq!(path(&s).len(), MAX_STEPS_PER_INPUT as usize);
}

#[test]
fn step_cap_allows_exactly_the_limit() {
    // MAX_STEPS_PER_INPUT nodes entered by one input: the last is the hangup.
    let mut src = String::from("flow: c\nstart: n0\nnodes:\n");
    let n = MAX_STEPS_PER_INPUT as usize;
    for i in 0..n - 1 {
        src.push_str(&format!("  n{i}: {{type: goto, target: n{}}}\n", i + 1));
    }
    src.push_str(&format!("  n{}: {{type: hangup}}\n", n - 1));
    let mut s = session(&src);
    s.start(Clock::new().at(0));
    assert_eq!(actions(&mut s), [hangup("hangup")]);

    // One step more: the last goto leads back to n0, so the 1001st entry trips the cap (the flow
    // is at the node-count limit, so the extra step must come from a loop).
    let src = src.replace(
        &format!("  n{}: {{type: hangup}}\n", n - 1),
        &format!("  n{}: {{type: goto, target: n0}}\n", n - 1),
    );
    let flow = load_str_without_loop_check(&src, &load_ctx()).unwrap();
    let mut s = Session::new(Arc::new(flow), ctx());
    s.start(Clock::new().at(0));
    assert_eq!(actions(&mut s), [hangup(REASON_STEP_LIMIT)]);
}

#[test]
fn type_ahead_is_capped() {
    let clock = Clock::new();
    let mut s = hotline();
    s.start(clock.at(0));
    for _ in 0..MAX_TYPEAHEAD + 5 {
        s.handle_digit(clock.at(100), Digit::D1);
    }
    assert_eq!(s.typeahead.len(), MAX_TYPEAHEAD);
    s.handle_play_finished(clock.at(1000), 1);
    // 12 digits fill the account; the other 20 wait for a later node.
    assert_eq!(
        s.variables().get("account").map(String::as_str),
        Some("111111111111")
    );
    assert_eq!(s.typeahead.len(), MAX_TYPEAHEAD - 12);
}

#[test]
fn trail_is_capped() {
    let clock = Clock::new();
    let mut s = hotline();
    s.start(clock.at(0));
    for _ in 0..MAX_TRAIL + 10 {
        s.handle_digit(clock.at(100), Digit::D1);
    }
    assert_eq!(s.trail().len(), MAX_TRAIL);
}

#[test]
fn inputs_before_start_and_after_the_end_are_ignored() {
    let clock = Clock::new();
    let mut s = session("flow: f\nstart: a\nnodes:\n  a: {type: play, prompt: welcome}\n");
    s.handle_digit(clock.at(0), Digit::D1);
    s.handle_play_finished(clock.at(0), 1);
    s.handle_timeout(clock.at(0));
    assert!(actions(&mut s).is_empty());
    assert!(s.trail().is_empty());
    s.start(clock.at(0));
    s.handle_play_finished(clock.at(10), 99);
    assert_eq!(
        actions(&mut s),
        [play(1, &["welcome"])],
        "an unknown play id changes nothing"
    );
    s.handle_play_finished(clock.at(1000), 1);
    assert_eq!(actions(&mut s), [hangup(REASON_END_OF_FLOW)]);
    s.handle_digit(clock.at(1100), Digit::D1);
    s.start(clock.at(1200));
    assert!(actions(&mut s).is_empty());
    assert_eq!(s.trail().len(), 1);
}

#[test]
fn flows_are_shareable_and_sessions_can_move_between_threads() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<Flow>();
    send::<Session>();
}
