//! The flow language as plain serde types: what a flow file says, before any checking.
//!
//! A flow file is a [`FlowFile`]: a `flow` name, a `start` node, a map of named [`Node`]s and,
//! optionally, a time zone, holiday calendars, declared variables and the flow's own tests. Each
//! node has a `type` that selects its kind; unknown keys are errors. Optional fields are
//! `Option`s here and get their documented defaults when the flow is compiled, so that a model
//! written back out says exactly what the author wrote.
//!
//! These types deserialize with any serde format (`serde_saphyr::from_str::<FlowFile>` works),
//! but [`crate::load_str`] reads them through its own located YAML tree so that every error has
//! an exact line and column, and then checks what serde cannot (targets, prompts, loops, limits).
//! The JSON Schema for editors ([`crate::json_schema`]) is derived from these types; the doc
//! comments below are its descriptions. `docs/flow-language.md` is the reference for authors.
//!
//! ```yaml
//! flow: hotline
//! start: greeting
//! nodes:
//!   greeting: { type: play, prompt: welcome, next: ask }
//!   ask:
//!     type: collect
//!     prompt: enter-digits
//!     variable: account
//!     max_digits: 12
//!     terminator: "#"
//!     next: bye
//!     on_fail: bye
//!   bye: { type: hangup }
//! ```

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

use crate::limits::MAX_TIMEOUT;

/// A whole flow file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Hotline IVR flow")]
pub struct FlowFile {
    /// The flow's name (letters, digits, `_`, `-`, `.`); `subflow` nodes of other flows call it
    /// by this name.
    pub flow: String,
    /// IANA time zone for `time`, `days` and `calendar` conditions, e.g. `Europe/Berlin`.
    /// Default: the engine's configured zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// Holiday calendars by name: each a list of dates `2025-12-25`, inclusive ranges
    /// `2025-12-24..2025-12-26`, yearly dates `12-25` or yearly ranges `12-24..12-26`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub calendars: BTreeMap<String, Vec<String>>,
    /// Variables this flow reads before any node sets them, with their initial values. A flow
    /// called as a subflow receives the caller's variables; those it expects are declared here.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub variables: BTreeMap<String, String>,
    /// The node a call enters first.
    pub start: String,
    /// The nodes, by name (letters, digits, `_`, `-`, `.`).
    pub nodes: BTreeMap<String, Node>,
    /// The flow's own tests, run by `hotline flow test`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tests: Vec<FlowTest>,
}

/// One node. The YAML key `type` selects the kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum Node {
    /// Plays prompts, then goes on.
    Play(PlayNode),
    /// Offers keypad options.
    Menu(MenuNode),
    /// Collects digits into a variable.
    Collect(CollectNode),
    /// Asks for a customer number or phone number and checks it against a lookup.
    VerifyIdentity(VerifyIdentityNode),
    /// Calls an HTTP endpoint and maps its JSON answer into variables.
    Http(HttpNode),
    /// Sets variables.
    Set(SetNode),
    /// Branches on variables, the caller, the time, the day or a holiday calendar.
    Switch(SwitchNode),
    /// Hands the call to a queue.
    Enqueue(EnqueueNode),
    /// Transfers the call to a SIP URI or a number; the flow ends.
    Transfer(TransferNode),
    /// Jumps to another node.
    Goto(GotoNode),
    /// Runs another flow, then comes back.
    Subflow(SubflowNode),
    /// Ends this flow and returns to the calling flow (or ends the call in a top-level flow).
    Return(ReturnNode),
    /// Ends the call.
    Hangup(HangupNode),
}

impl Node {
    /// Every `type` the language knows, in documentation order.
    pub const KINDS: &'static [&'static str] = &[
        "play",
        "menu",
        "collect",
        "verify_identity",
        "http",
        "set",
        "switch",
        "enqueue",
        "transfer",
        "goto",
        "subflow",
        "return",
        "hangup",
    ];

    /// This node's `type`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Play(_) => "play",
            Self::Menu(_) => "menu",
            Self::Collect(_) => "collect",
            Self::VerifyIdentity(_) => "verify_identity",
            Self::Http(_) => "http",
            Self::Set(_) => "set",
            Self::Switch(_) => "switch",
            Self::Enqueue(_) => "enqueue",
            Self::Transfer(_) => "transfer",
            Self::Goto(_) => "goto",
            Self::Subflow(_) => "subflow",
            Self::Return(_) => "return",
            Self::Hangup(_) => "hangup",
        }
    }
}

/// `type: play` — plays one prompt (`prompt`) or several in order (`prompts`), then goes to
/// `next` (or ends the flow when there is no `next`). Digits pressed meanwhile are kept as
/// type-ahead for the next menu, collect or verify_identity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlayNode {
    /// One prompt: a file name (without `.wav`) in the prompts folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// Several prompts, played in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompts: Option<Vec<String>>,
    /// Says the digits of this variable after the prompts (prompts `digit-0` … `digit-9`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub say_digits: Option<String>,
    /// Default false: a digit is kept as type-ahead and the prompt plays on. True: a digit
    /// stops the prompt and the flow goes on at once (the digit is still kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub barge_in: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// `type: collect` — collects up to `max_digits` digits into `variable`.
///
/// The first-digit timer starts when the prompt ends; a digit during the prompt stops it
/// (barge-in). `terminator` ends collection and is not part of the value; so do reaching
/// `max_digits` and the inter-digit timeout. The value must have `min_digits` digits and match
/// `pattern`. A timeout or invalid value re-prompts up to `retries` times, then goes to
/// `on_timeout` (default `on_fail`) or `on_fail`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CollectNode {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// The variable that receives the digits (without the terminator).
    pub variable: String,
    /// Default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_digits: Option<u32>,
    /// 1 to 64.
    pub max_digits: u32,
    /// A key that ends the input early, e.g. `"#"` (quote it: `#` starts a YAML comment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminator: Option<String>,
    /// Default 5s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_digit_timeout: Option<Duration>,
    /// Default 3s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inter_digit_timeout: Option<Duration>,
    /// Default 2 (so three attempts in all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
    /// A regular expression the whole value must match, e.g. `^[0-9]{4}$`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// Default true: a digit stops the prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub barge_in: Option<bool>,
    /// Played before the prompt when re-prompting after an invalid value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalid_prompt: Option<String>,
    /// Played before the prompt when re-prompting after a timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_prompt: Option<String>,
    /// Default false. True: the value also goes to the call record (event `RecordField`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<bool>,
    pub next: String,
    /// After the last attempt timed out. Default: `on_fail`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_timeout: Option<String>,
    /// After the last attempt was invalid.
    pub on_fail: String,
}

/// `type: menu` — plays `prompt` and waits `timeout` for one key of `options`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MenuNode {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// The menu's heading in the app touch menu (ITR). Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Keypad key (`0`-`9`, `*`, `#`, `A`-`D`; quote `*` and `#`) to option.
    pub options: BTreeMap<String, MenuOption>,
    /// Stores the pressed key in this variable too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variable: Option<String>,
    /// Default 5s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// Default 2 (so three attempts in all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
    /// Default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub barge_in: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalid_prompt: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_prompt: Option<String>,
    /// Default false. True: the key also goes to the call record as `variable` (event
    /// `RecordField`); needs `variable`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<bool>,
    /// After the last attempt timed out. Default: `on_fail`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_timeout: Option<String>,
    /// After the last attempt got a key the menu does not offer.
    pub on_fail: String,
}

/// One menu choice: a label (shown by the app touch menu) and where it leads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MenuOption {
    pub label: String,
    pub next: String,
}

/// `type: verify_identity` — the caller keys a customer id or a phone number, which is checked
/// against `lookup`. Recording is paused while the digits are keyed, and the digits never leave
/// the interpreter in clear except inside the lookup request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyIdentityNode {
    /// What the caller keys: `customer_id` or `phone`.
    pub ask: IdentityKind,
    /// Where identities are looked up.
    pub lookup: LookupSpec,
    /// What to do with the caller's own number (ANI). Default `record`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ani: Option<AniPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// How many keyed attempts (not found, too short, no input) before `on_failure`. Default 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts: Option<u32>,
    /// Default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_digits: Option<u32>,
    /// 1 to 64.
    pub max_digits: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminator: Option<String>,
    /// Default 5s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_digit_timeout: Option<Duration>,
    /// Default 3s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inter_digit_timeout: Option<Duration>,
    /// Default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub barge_in: Option<bool>,
    /// Played before the prompt after a value that was not found or too short.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalid_prompt: Option<String>,
    /// Played before the prompt after a timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_prompt: Option<String>,
    /// Verified.
    pub on_success: String,
    /// Not verified after `attempts`.
    pub on_failure: String,
    /// The lookup failed (unreachable, timed out). Default: `on_failure`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_error: Option<String>,
}

/// What a verify_identity node asks the caller to key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IdentityKind {
    /// A customer number (method `keyed_id`).
    CustomerId,
    /// The phone number on file (method `keyed_number`).
    Phone,
}

/// What a verify_identity node does with the caller's number (ANI).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AniPolicy {
    /// Look the caller's number up first; if it is on file, the caller is verified (method
    /// `ani`) without keying anything. Otherwise ask as usual.
    Accept,
    /// Ask as usual; once a customer is found, record whether the caller's number is one of
    /// theirs (event `AniChecked`, variable `ani_match`).
    Record,
    /// Ask as usual; do not compare.
    Ignore,
}

/// Where a verify_identity node looks identities up. Write exactly one key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum LookupSpec {
    /// A static list from the engine's config (`directory:`), by name, e.g. `{static: demo}`.
    Static(String),
    /// A table in the engine's database, e.g. `{table: customers}`.
    Table(String),
    /// An HTTP endpoint answering JSON.
    Http(HttpLookup),
}

/// An HTTP lookup endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpLookup {
    /// `http://` or `https://` URL; `${key}` is the keyed value (filled in by the engine),
    /// other `${name}`s are flow variables.
    pub url: String,
    /// Per attempt. Default 3s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// Extra attempts after a failure. Default 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
}

/// An HTTP method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    Get,
    Post,
}

/// `type: http` — a data dip: calls `url`, maps the JSON answer into variables and goes to
/// `next`; a transport failure, a timeout or a status outside 200-299 goes to `on_failure`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpNode {
    /// `GET` (default) or `POST`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<HttpMethod>,
    /// `http://` or `https://` URL; may use `${name}`.
    pub url: String,
    /// Request headers; values may use `${name}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// A JSON body (POST only); strings in it may use `${name}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<serde_json::Value>")]
    pub body: Option<serde_json::Value>,
    /// Per attempt. Default 3s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// Extra attempts after a failure. Default 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
    /// Variable to dotted path in the JSON answer: `{tier: customer.tier, first: phones.0}`.
    /// A missing path leaves the variable empty.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub map: BTreeMap<String, String>,
    pub next: String,
    pub on_failure: String,
}

/// `type: set` — sets variables. Values may refer to variables as `${name}`; built-ins are
/// `caller`, `callee` and `call_id`. All values are computed before any is assigned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetNode {
    pub variables: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// `type: switch` — goes to the `next` of the first case whose `when` holds, else to
/// `default`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SwitchNode {
    pub cases: Vec<Case>,
    pub default: String,
}

/// One case of a switch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub when: Condition,
    pub next: String,
}

/// A condition. Every key given must hold (a mapping is an implicit `all`).
///
/// Value tests (`equals`, `in`, `matches`, `prefix`, `at_least`, `at_most`, `empty`) apply to
/// `variable`, which may be a flow variable or a built-in (`caller`, `callee`, `call_id`).
/// Time tests use the flow's time zone.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// The variable the value tests look at, e.g. `tier` or `caller`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variable: Option<String>,
    /// The value is exactly this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<String>,
    /// The value is one of these.
    #[serde(default, rename = "in", skip_serializing_if = "Option::is_none")]
    pub one_of: Option<Vec<String>>,
    /// The value matches this regular expression (anywhere; anchor with `^…$`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matches: Option<String>,
    /// The value starts with this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// The value is a number ≥ this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_least: Option<f64>,
    /// The value is a number ≤ this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_most: Option<f64>,
    /// True: the value is empty or unset. False: it is not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub empty: Option<bool>,
    /// Wall time of day in `HH:MM-HH:MM` (start inclusive, end exclusive; `22:00-06:00` spans
    /// midnight).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// Days of the week: `mon` … `sun`, or ranges such as `mon-fri`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<Vec<String>>,
    /// Today is in this calendar (declared under the top-level `calendars:`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calendar: Option<String>,
    /// Every condition holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all: Option<Vec<Self>>,
    /// At least one condition holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub any: Option<Vec<Self>>,
    /// The condition does not hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not: Option<Box<Self>>,
}

/// `type: enqueue` — hands the call to `queue` and waits. When an agent answers, the flow
/// ends (the call goes on with the agent). When the queue gives the call back, the flow goes
/// on at `on_timeout` (reason `timeout`) or `on_left` (any reason).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnqueueNode {
    /// The queue's name.
    pub queue: String,
    /// 0 to 9, higher is served first. Default 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<u8>,
    /// Skill to minimum level (0 to 100) an agent needs.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub skills: BTreeMap<String, u8>,
    /// Longest wait before the queue gives the call back (reason `timeout`). Default: the
    /// queue's own setting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// After the queue gave the call back for reason `timeout`. Default: `on_left`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_timeout: Option<String>,
    /// After the queue gave the call back (timeout, overflow, unavailable, …).
    pub on_left: String,
}

/// `type: transfer` — transfers the caller to `to` and ends the flow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferNode {
    /// A SIP URI (`sip:…`, `sips:…`), a `tel:` URI or a number (`+4930123456`); may use
    /// `${name}`.
    pub to: String,
}

/// `type: goto` — continues at `target`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GotoNode {
    pub target: String,
}

/// `type: subflow` — runs the flow named `flow` (it shares the call's variables); when it
/// returns, goes on at `next` (or ends this flow when there is no `next`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubflowNode {
    /// The called flow's `flow:` name.
    pub flow: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// `type: return` — ends this flow: a subflow returns to its caller's `next`; a top-level flow
/// ends the call (reason `end of flow`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnNode {}

/// `type: hangup` — ends the call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HangupNode {
    /// Default `hangup`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

// ----- tests -----

/// One test of the flow: a call in virtual time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowTest {
    pub name: String,
    /// The caller's number (`${caller}`).
    pub caller: String,
    /// The dialed number (`${callee}`). Default: the flow's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callee: Option<String>,
    /// Wall time when the call starts, RFC 3339 (`2025-03-03T10:00:00+01:00`). Default
    /// `2025-01-06T12:00:00Z` (a Monday).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// The engine's time zone for this call (a flow's own `timezone:` still wins). Default UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// What the caller does, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub input: Vec<TestStep>,
    /// Identity lookups by key (the keyed value, or the caller's number for `ani: accept`).
    /// A key not listed is not found.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub lookups: BTreeMap<String, LookupMock>,
    /// HTTP answers by URL (after `${…}` are filled in). A URL not listed fails the test.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub http: BTreeMap<String, HttpMock>,
    /// What every queue answers. Default `connected`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<QueueMock>,
    pub expect: Expect,
}

/// One step of a test's input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum TestStep {
    /// Press these keys, one after another, at the current time: `digits: "12#"`.
    Digits(String),
    /// Let this much time pass: `wait: 3s`.
    Wait(Duration),
}

/// A mocked identity lookup answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum LookupMock {
    /// `found: {customer_id: C-1, phones: ["+4930123456"]}`.
    Found(MockCustomer),
    /// `not_found`.
    NotFound,
    /// `failed`: the lookup service could not answer.
    Failed,
}

/// A customer a mocked lookup finds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MockCustomer {
    pub customer_id: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phones: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
}

/// A mocked HTTP answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum HttpMock {
    /// `response: {status: 200, body: {…}}`.
    Response(MockResponse),
    /// `failed`: no answer (connection refused, timeout).
    Failed,
}

/// A mocked HTTP response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MockResponse {
    /// Default 200.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Default null.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<serde_json::Value>")]
    pub body: Option<serde_json::Value>,
}

/// A mocked queue outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum QueueMock {
    /// `connected`: an agent answers.
    Connected,
    /// `left: timeout`: the queue gives the call back for this reason.
    Left(String),
}

/// What a test expects. Only what is given is checked.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// Every node entered, in order (subflow nodes as `flow/node`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<Vec<String>>,
    /// Every prompt played, in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompts: Option<Vec<String>>,
    /// Variables and their values at the end (others are not checked). `""` means unset.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub variables: BTreeMap<String, String>,
    /// Fields put on the call record (`store: true`, `RecordField` events).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub record: BTreeMap<String, String>,
    /// How the flow ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended: Option<Ending>,
    /// The end reason (`Finished` event): a hangup's `reason`, `transfer`, `connected`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The transfer target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer: Option<String>,
    /// The last queue the call was handed to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// The identity verification outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<bool>,
}

/// How a flow ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Ending {
    /// The call was hung up (a hangup node, the end of the flow, a limit).
    Hangup,
    /// The call was transferred.
    Transfer,
    /// The call was handed to a queue and an agent answered.
    Enqueue,
}

/// A duration written as a whole number and a unit: `500ms`, `5s`, `2m`. Between 1ms and
/// [`MAX_TIMEOUT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(pub std::time::Duration);

/// Why a duration string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DurationError {
    #[error("invalid duration `{0}`: write a whole number and a unit (ms, s or m), e.g. 500ms, 5s, 2m")]
    Syntax(String),
    #[error("duration `{0}` is out of range (1ms to 10m)")]
    Range(String),
}

impl std::str::FromStr for Duration {
    type Err = DurationError;

    fn from_str(s: &str) -> Result<Self, DurationError> {
        let digits = s.bytes().take_while(u8::is_ascii_digit).count();
        let (number, unit) = s.split_at(digits);
        let n: u64 = number.parse().map_err(|_| DurationError::Syntax(s.to_owned()))?;
        let d = match unit {
            "ms" => Some(std::time::Duration::from_millis(n)),
            "s" => Some(std::time::Duration::from_secs(n)),
            "m" => n.checked_mul(60).map(std::time::Duration::from_secs),
            _ => return Err(DurationError::Syntax(s.to_owned())),
        };
        match d {
            Some(d) if !d.is_zero() && d <= MAX_TIMEOUT => Ok(Self(d)),
            _ => Err(DurationError::Range(s.to_owned())),
        }
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_millis();
        if ms % 60_000 == 0 {
            write!(f, "{}m", ms / 60_000)
        } else if ms % 1000 == 0 {
            write!(f, "{}s", ms / 1000)
        } else {
            write!(f, "{ms}ms")
        }
    }
}

impl Serialize for Duration {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Duration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as 500ms, 5s or 2m")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Duration, E> {
                v.parse().map_err(E::custom)
            }
        }
        deserializer.deserialize_str(V)
    }
}

impl JsonSchema for Duration {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": "^[0-9]+(ms|s|m)$",
            "description": "A whole number and a unit (ms, s or m), from 1ms to 10m, e.g. 500ms, 5s, 2m.",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_in_three_units_and_print_back() {
        for (text, ms) in [
            ("500ms", 500),
            ("5s", 5000),
            ("2m", 120_000),
            ("10m", 600_000),
            ("1ms", 1),
        ] {
            let d: Duration = text.parse().unwrap();
            assert_eq!(d.0.as_millis(), ms);
            assert_eq!(d.to_string(), text);
        }
    }

    #[test]
    fn durations_out_of_range_or_malformed_are_refused() {
        for text in ["0s", "11m", "601s", "99999999999999999999m"] {
            assert!(
                matches!(
                    text.parse::<Duration>(),
                    Err(DurationError::Range(_)) | Err(DurationError::Syntax(_))
                ),
                "{text}"
            );
        }
        for text in ["5", "s", "5 s", "1.5s", "5h", "-1s", ""] {
            assert!(
                matches!(text.parse::<Duration>(), Err(DurationError::Syntax(_))),
                "{text}"
            );
        }
        assert!(matches!("0ms".parse::<Duration>(), Err(DurationError::Range(_))));
    }

    #[test]
    fn node_kinds_match_the_serde_tags() {
        let src = "\
flow: f
start: a
nodes:
  a: {type: play, prompt: p, next: b}
  b: {type: goto, target: c}
  c: {type: set, variables: {x: z}, next: d}
  d: {type: menu, options: {'1': {label: L, next: e}}, on_fail: e}
  e: {type: collect, variable: v, max_digits: 3, next: f, on_fail: f}
  f: {type: verify_identity, ask: phone, lookup: {static: demo}, max_digits: 12, on_success: g, on_failure: g}
  g: {type: http, url: 'https://x', next: h, on_failure: h}
  h: {type: switch, cases: [{when: {variable: caller, prefix: '+49'}, next: i}], default: i}
  i: {type: enqueue, queue: sales, on_left: j}
  j: {type: subflow, flow: other, next: k}
  k: {type: transfer, to: 'sip:a@b'}
  l: {type: return}
  m: {type: hangup}
";
        let file: FlowFile = serde_saphyr::from_str(src).unwrap();
        let mut kinds: Vec<_> = file.nodes.values().map(Node::kind).collect();
        kinds.sort_unstable();
        let mut expected = Node::KINDS.to_vec();
        expected.sort_unstable();
        assert_eq!(kinds, expected);
    }
}
