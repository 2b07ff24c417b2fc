//! IVR flow language: model, loader/validator, linker, interpreter, test runner, JSON Schema.
//!
//! A flow is data. It is written in YAML ([`model`] lists every node kind and field;
//! `docs/flow-language.md` is the reference for authors), checked as a whole when it is loaded
//! ([`load_str`], [`load_file`]), linked with the flows it calls ([`link`]), and run per call by
//! a sans-IO step machine ([`Session`]). Flow files carry their own tests ([`testing`]).
//!
//! - **Load.** Every problem in a file is reported at once, sorted, as `file:line:col: message`
//!   ([`Diagnostic`]): YAML syntax, unknown keys, wrong types, dangling targets, a missing start,
//!   unreachable nodes, loops that never wait, keys a keypad cannot press, bad patterns, digit
//!   bounds, unknown prompts, static lists, subflows and variables, bad time zones, dates, time
//!   ranges and day names, unknown calendars, duplicate keys, bad tests and every [`limits`]
//!   entry. The engine says which names exist through a [`LoadContext`].
//! - **Link.** [`link`] resolves `subflow` nodes within a set of loaded flows, refusing unknown
//!   targets and cycles; the run-time call depth is capped by [`limits::MAX_SUBFLOW_DEPTH`].
//! - **Run.** A [`Session`] takes inputs with the current time and hands out [`Action`]s for
//!   the call, [`IvrEvent`]s for CTI and the call record, and the next deadline. It never reads
//!   a clock, so tests run whole calls in virtual time. One input never enters more than
//!   [`limits::MAX_STEPS_PER_INPUT`] nodes (the call is hung up with reason `step limit`).
//!   IO (http, identity lookups, queues) is requested as actions carrying a `request_id` and
//!   answered through `handle_*_result`; the session also enforces its own deadline on each.
//! - **Share.** A [`Flow`] is immutable; hold it in an `Arc`. A session keeps the flow (and the
//!   subflows) it started with, so reloading a file never disturbs a call. [`Flow::version`]
//!   tells versions apart.
//!
//! ## Node kinds
//!
//! | `type`            | waits for                 | goes to                                                  |
//! |-------------------|---------------------------|----------------------------------------------------------|
//! | `play`            | the prompts to end        | `next` (or ends the flow)                                |
//! | `menu`            | one key / timeout         | the option's `next`, or `on_timeout` / `on_fail`         |
//! | `collect`         | digits / timeouts         | `next`, or after `retries`: `on_timeout` / `on_fail`     |
//! | `verify_identity` | digits, then a lookup     | `on_success`, `on_failure` (after `attempts`), `on_error`|
//! | `http`            | the engine's answer       | `next` (2xx), `on_failure`                               |
//! | `set`             | —                         | `next` (or ends the flow)                                |
//! | `switch`          | —                         | the first matching case's `next`, else `default`         |
//! | `enqueue`         | the queue                 | ends the flow when connected; `on_timeout` / `on_left`   |
//! | `transfer`        | —                         | ends the flow ([`Action::Transfer`])                     |
//! | `goto`            | —                         | `target`                                                 |
//! | `subflow`         | the called flow           | `next` when it returns (or ends the flow)                |
//! | `return`          | —                         | back to the calling flow (or ends the call)              |
//! | `hangup`          | —                         | ends the call with `reason`                              |
//!
//! A loop made only of nodes that do not wait for the caller (`goto`, `set`, `switch`, `http`,
//! `enqueue`, `subflow`) is a load error; a loop through a `play` (music on hold), `menu`,
//! `collect` or `verify_identity` is allowed.
//!
//! ## Surfaces
//!
//! - **Config keys:** the flow language itself; every field, its unit and default is documented
//!   on the [`model`] types and in `docs/flow-language.md` (defaults also as `DEFAULT_*`
//!   constants here). Limits: [`limits`]. The JSON Schema: [`json_schema`].
//! - **Actions** (to the call): [`Action::Play`], [`Action::StopPlay`], [`Action::Hangup`],
//!   [`Action::Http`], [`Action::Lookup`], [`Action::PauseRecording`],
//!   [`Action::ResumeRecording`], [`Action::Enqueue`], [`Action::Transfer`].
//! - **Events** (to CTI and the call record): [`IvrEvent`] — `NodeEntered`, `InputCollected`,
//!   `OptionSelected`, `NoInput`, `InvalidInput`, `IdentityVerified`, `AniChecked`,
//!   `HttpCompleted`, `RecordField`, `Finished`; plus the keypress [`Session::trail`].
//!
//! ## Choices worth knowing
//!
//! - Locations come from our own YAML tree built from serde-saphyr's parser
//!   (`serde_saphyr::granit_parser`): serde-saphyr's `Spanned<T>` and its errors lose the exact
//!   position inside `#[serde(tag = "type")]` enums (it points at the node's name instead).
//! - A plain scalar is accepted where a string is expected (`1:` as a menu key, `yes` as a set
//!   value); numbers must be plain (`max_digits: "4"` is a type error).
//! - Aliases are expanded and keep the location of their anchor. Tags are ignored.
//! - Variables are checked flow-wide: `${x}` must be assigned by some node, declared under
//!   `variables:`, or be a built-in; not necessarily on every path. An unassigned variable
//!   renders empty.
//! - Menu keys `a`-`d` mean `A`-`D`.
//! - Verification digits never leave the session in clear except inside [`Action::Lookup`]
//!   (whose `Debug` masks them): events carry them masked, the trail records
//!   [`TrailKind::MaskedDigit`].
//!
//! ## The run loop
//!
//! The owner (the call's task) drives a session like this; media, timers and IO are its
//! business, the session only says what to do:
//!
//! ```no_run
//! use std::path::Path;
//! use std::sync::Arc;
//! use std::time::Instant;
//!
//! # use hotline_ivr as ivr; // dependents import the package as `ivr`
//! use ivr::{Action, CallContext, IvrEvent, LoadContext, Session};
//!
//! # enum Input { Digit(media::Digit), PlayFinished(u64), Http(u64, ivr::HttpOutcome),
//! #     Lookup(u64, ivr::LookupOutcome), Queue(u64, ivr::QueueOutcome), Timeout }
//! # fn wait_for_input(deadline: Option<Instant>) -> (Instant, Input) { (Instant::now(), Input::Timeout) }
//! let catalog = ["welcome", "enter-digits", "goodbye", "no-input", "invalid"];
//! let prompts = |name: &str| catalog.contains(&name) || name.starts_with("digit-");
//! let lists = |name: &str| name == "demo";
//! let flows = |name: &str| name == "hotline";
//! let ctx = LoadContext { prompts: &prompts, static_lists: &lists, flows: &flows };
//! let flow = match ivr::load_file(Path::new("ivr-flows/hotline.yaml"), &ctx) {
//!     Ok(flow) => flow,
//!     Err(diagnostics) => {
//!         for d in diagnostics {
//!             eprintln!("{d}"); // ivr-flows/hotline.yaml:12:11: unknown node `nowhere`
//!         }
//!         return;
//!     }
//! };
//! let (linked, problems) = ivr::link(vec![flow]);
//! assert!(problems.is_empty());
//! let call = CallContext {
//!     caller: "+15550100".into(),
//!     callee: "hotline".into(),
//!     call_id: "abc".into(),
//!     wall_clock: jiff::Timestamp::now(),
//!     time_zone: jiff::tz::TimeZone::system(),
//! };
//! let mut session = Session::new(Arc::clone(&linked["hotline"]), call);
//! session.start(Instant::now());
//! loop {
//!     // Drain everything the last input produced.
//!     while let Some(action) = session.poll_action() {
//!         match action {
//!             Action::Play { play_id, prompts } => { /* start playing; remember play_id */ }
//!             Action::Lookup { request_id, source, key } => { /* look up; answer later */ }
//!             Action::Hangup { reason } => { /* send BYE */ }
//!             _ => {}
//!         }
//!     }
//!     while let Some(event) = session.poll_event() {
//!         if let IvrEvent::IdentityVerified { verified, .. } = event { /* call record, agent */ }
//!     }
//!     if session.is_finished() {
//!         break;
//!     }
//!     // Wait for a digit, the end of a prompt, an answer, or the session's deadline.
//!     match wait_for_input(session.poll_timeout()) {
//!         (now, Input::Digit(digit)) => session.handle_digit(now, digit),
//!         (now, Input::PlayFinished(id)) => session.handle_play_finished(now, id),
//!         (now, Input::Http(id, outcome)) => session.handle_http_result(now, id, outcome),
//!         (now, Input::Lookup(id, outcome)) => session.handle_lookup_result(now, id, outcome),
//!         (now, Input::Queue(id, outcome)) => session.handle_queue_result(now, id, outcome),
//!         (now, Input::Timeout) => session.handle_timeout(now),
//!     }
//! }
//! ```
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod diagnostic;
#[cfg(test)]
mod docs_tests;
mod flow;
pub mod limits;
mod link;
mod load;
pub mod model;
mod schema;
mod session;
mod template;
pub mod testing;

pub use diagnostic::Diagnostic;
pub use flow::Flow;
pub use link::link;
pub use load::{
    DEFAULT_ATTEMPTS, DEFAULT_FIRST_DIGIT_TIMEOUT, DEFAULT_HANGUP_REASON, DEFAULT_HTTP_TIMEOUT,
    DEFAULT_INTER_DIGIT_TIMEOUT, DEFAULT_MENU_TIMEOUT, DEFAULT_MIN_DIGITS, DEFAULT_RETRIES, LoadContext,
    load_file, load_str,
};
pub use schema::{SCHEMA_PATH, json_schema, json_schema_text};
pub use session::{
    Action, CallContext, HttpMethod, HttpOutcome, IDENTITY_INPUT, IdentityKey, IvrEvent, LookupOutcome,
    LookupSource, MASK, MenuView, MenuViewOption, QueueOutcome, REASON_CONNECTED, REASON_END_OF_FLOW,
    REASON_NOT_LINKED, REASON_STEP_LIMIT, REASON_SUBFLOW_DEPTH, REASON_TRANSFER, Session, TrailEntry,
    TrailKind, VerifyMethod,
};
