//! IVR flow language: model, loader/validator, interpreter.
//!
//! A flow is data. It is written in YAML ([`model`] lists every node kind and field), checked as
//! a whole when it is loaded ([`load_str`], [`load_file`]), compiled into an immutable [`Flow`],
//! and run per call by a sans-IO step machine ([`Session`]).
//!
//! - **Load.** Every problem in a file is reported at once, sorted, as `file:line:col: message`
//!   ([`Diagnostic`]): YAML syntax, unknown keys, wrong types, dangling targets, a missing start,
//!   unreachable nodes, loops that never wait, keys a keypad cannot press, bad patterns, digit
//!   bounds, unknown prompts and variables, duplicate keys and every [`limits`] entry.
//! - **Run.** A [`Session`] takes inputs with the current time and hands out [`Action`]s for
//!   the call, [`IvrEvent`]s for CTI and the next deadline. It never reads a clock, so tests run
//!   whole calls in virtual time. One input never enters more than
//!   [`limits::MAX_STEPS_PER_INPUT`] nodes (the call is hung up with reason `step limit`).
//! - **Share.** A [`Flow`] is immutable; hold it in an `Arc`. A session keeps the flow it started
//!   with, so reloading a file never disturbs a call. [`Flow::version`] tells versions apart.
//!
//! ## Node kinds
//!
//! | `type`   | waits for            | goes to                                             |
//! |----------|----------------------|-----------------------------------------------------|
//! | `play`   | the prompts to end   | `next` (or ends the call)                           |
//! | `collect`| digits / timeouts    | `next`, or after `retries`: `on_timeout` / `on_fail`|
//! | `menu`   | one key / timeout    | the option's `next`, or `on_timeout` / `on_fail`    |
//! | `goto`   | —                    | `target`                                            |
//! | `set`    | —                    | `next` (or ends the call)                           |
//! | `hangup` | —                    | ends the call with `reason`                         |
//!
//! A loop made only of `goto` and `set` nodes is a load error; a loop through a `play` (music
//! on hold) is allowed, because a prompt takes time and the caller can hang up.
//!
//! ## Surfaces
//!
//! - **Config keys:** the flow language itself; every field, its unit and default is documented
//!   on the [`model`] types (defaults also as `DEFAULT_*` constants here). Limits: [`limits`].
//! - **Actions** (to the call): [`Action::Play`], [`Action::StopPlay`], [`Action::Hangup`].
//! - **Events** (to CTI): [`IvrEvent`] — `NodeEntered`, `InputCollected`, `OptionSelected`,
//!   `NoInput`, `InvalidInput`, `Finished`; plus the keypress [`Session::trail`].
//!
//! ## Choices worth knowing
//!
//! - Locations come from our own YAML tree built from serde-saphyr's parser
//!   (`serde_saphyr::granit_parser`): serde-saphyr's `Spanned<T>` and its errors lose the exact
//!   position inside `#[serde(tag = "type")]` enums (it points at the node's name instead).
//! - A plain scalar is accepted where a string is expected (`1:` as a menu key, `yes` as a set
//!   value); numbers must be plain (`max_digits: "4"` is a type error).
//! - Aliases are expanded and keep the location of their anchor. Tags are ignored.
//! - Variables are checked flow-wide: `${x}` must be assigned by some node (or be a built-in),
//!   not necessarily on every path; an unassigned variable renders empty.
//! - Menu keys `a`-`d` mean `A`-`D`.
//!
//! ## The run loop
//!
//! The owner (the call's task in `b2bua`) drives a session like this; media and timers are its
//! business, the session only says what to do:
//!
//! ```no_run
//! use std::path::Path;
//! use std::sync::Arc;
//! use std::time::Instant;
//!
//! # use hotline_ivr as ivr; // dependents import the package as `ivr`
//! use ivr::{Action, CallContext, IvrEvent, Session};
//!
//! # fn wait_for_input(deadline: Option<Instant>) -> (Instant, Option<media::Digit>, Option<u64>) {
//! #     (deadline.unwrap_or_else(Instant::now), None, None)
//! # }
//! let catalog = ["welcome", "enter-digits", "you-entered", "goodbye", "no-input", "invalid"];
//! let known = |name: &str| catalog.contains(&name) || name.starts_with("digit-");
//! let flow = match ivr::load_file(Path::new("ivr-flows/hotline.yaml"), &known) {
//!     Ok(flow) => Arc::new(flow),
//!     Err(diagnostics) => {
//!         for d in diagnostics {
//!             eprintln!("{d}"); // ivr-flows/hotline.yaml:12:11: unknown node `nowhere`
//!         }
//!         return;
//!     }
//! };
//! let ctx = CallContext { caller: "+15550100".into(), callee: "hotline".into(), call_id: "abc".into() };
//! let mut session = Session::new(flow, ctx);
//! session.start(Instant::now());
//! loop {
//!     // Drain everything the last input produced.
//!     while let Some(action) = session.poll_action() {
//!         match action {
//!             Action::Play { play_id, prompts } => { /* start playing; remember play_id */ }
//!             Action::StopPlay => { /* stop the current prompt */ }
//!             Action::Hangup { reason } => { /* send BYE */ }
//!             _ => {}
//!         }
//!     }
//!     while let Some(event) = session.poll_event() {
//!         if let IvrEvent::InputCollected { variable, value, .. } = event { /* CTI */ }
//!     }
//!     if session.is_finished() {
//!         break;
//!     }
//!     // Wait for a digit, the end of a prompt, or the session's deadline.
//!     let (now, digit, finished_play) = wait_for_input(session.poll_timeout());
//!     match (digit, finished_play) {
//!         (Some(digit), _) => session.handle_digit(now, digit),
//!         (None, Some(play_id)) => session.handle_play_finished(now, play_id),
//!         (None, None) => session.handle_timeout(now),
//!     }
//! }
//! ```
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod diagnostic;
mod flow;
pub mod limits;
mod load;
pub mod model;
mod session;
mod template;

pub use diagnostic::Diagnostic;
pub use flow::Flow;
pub use load::{
    DEFAULT_FIRST_DIGIT_TIMEOUT, DEFAULT_HANGUP_REASON, DEFAULT_INTER_DIGIT_TIMEOUT, DEFAULT_MENU_TIMEOUT,
    DEFAULT_MIN_DIGITS, DEFAULT_RETRIES, load_file, load_str,
};
pub use session::{
    Action, CallContext, IvrEvent, REASON_END_OF_FLOW, REASON_STEP_LIMIT, Session, TrailEntry, TrailKind,
};
