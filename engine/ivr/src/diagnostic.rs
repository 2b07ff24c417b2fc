//! Load errors: what is wrong ([`Problem`]) and where ([`Diagnostic`]).

use std::fmt;

/// One load error, at a 1-based line and column (counted in characters) of a flow file.
///
/// `Display` prints `file:line:col: message`, the form editors and CI annotate.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Diagnostic {
    pub file: String,
    pub line: u32,
    pub col: u32,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file, self.line, self.col, self.message)
    }
}

impl std::error::Error for Diagnostic {}

/// A 1-based position in a flow file (column counted in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Mark {
    pub(crate) line: u32,
    pub(crate) col: u32,
}

impl Mark {
    pub(crate) const START: Self = Self { line: 1, col: 1 };
}

/// Everything the loader can find wrong with a flow file. All of it is the flow author's fault;
/// the message says what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Problem {
    // File and YAML level.
    #[error("cannot read flow file: {0}")]
    Io(std::io::ErrorKind),
    #[error("flow file is not valid UTF-8")]
    NotUtf8,
    #[error("flow file is too large ({size} bytes; the limit is {limit})")]
    FileTooLarge { size: usize, limit: usize },
    #[error("YAML syntax error: {0}")]
    Syntax(String),
    #[error("flow file is empty")]
    Empty,
    #[error("a flow file holds exactly one YAML document")]
    MultipleDocuments,
    #[error("nesting is too deep (the limit is {limit} levels)")]
    TooDeep { limit: usize },
    #[error("too many YAML values after expanding aliases (the limit is {limit})")]
    TooManyValues { limit: usize },
    #[error("string is too long ({len} characters; the limit is {limit})")]
    StringTooLong { len: usize, limit: usize },
    #[error("duplicate key `{key}`")]
    DuplicateKey { key: String },
    #[error("mapping keys must be plain strings")]
    ComplexKey,

    // Shape (serde) level.
    #[error("{0}")]
    Shape(String),
    #[error("a flow file is a mapping with `flow`, `start` and `nodes`")]
    RootNotMapping,
    #[error("`nodes` must be a mapping from node names to nodes")]
    NodesNotMapping,
    #[error("node `{node}` must be a mapping with a `type`")]
    NodeNotMapping { node: String },
    #[error("node `{node}` has no `type`; expected one of {expected}")]
    MissingType { node: String, expected: String },
    #[error("unknown node type `{found}`, expected one of {expected}")]
    UnknownType { found: String, expected: String },
    #[error("node `{node}`: {message}")]
    NodeShape { node: String, message: String },
    #[error("too many nodes ({count}; the limit is {limit})")]
    TooManyNodes { count: usize, limit: usize },

    // Names.
    #[error("invalid {what} name `{name}`: use letters, digits, `_`, `-` and `.`")]
    InvalidName { what: &'static str, name: String },
    #[error("invalid variable name `{name}`: use letters, digits and `_`, not starting with a digit")]
    InvalidVariable { name: String },
    #[error("{what} name is too long ({len} characters; the limit is {limit})")]
    NameTooLong {
        what: &'static str,
        len: usize,
        limit: usize,
    },

    // Semantics.
    #[error("unknown node `{target}`")]
    UnknownNode { target: String },
    #[error("start node `{start}` does not exist")]
    MissingStart { start: String },
    #[error("node `{node}` is unreachable from start node `{start}`")]
    Unreachable { node: String, start: String },
    #[error("loop without a wait: {cycle}; a loop must pass a play, menu, collect or verify_identity node")]
    InputFreeLoop { cycle: String },
    #[error("unknown prompt `{name}`")]
    UnknownPrompt { name: String },
    #[error("prompt `{name}` (needed by `say_digits`) is not in the prompt catalog")]
    MissingDigitPrompt { name: String },
    #[error("a play node needs `prompt` or `prompts`")]
    NoPrompt,
    #[error("use either `prompt` or `prompts`, not both")]
    PromptAndPrompts,
    #[error("`prompts` must list at least one prompt")]
    EmptyPrompts,
    #[error("unknown variable `{name}`")]
    UnknownVariable { name: String },
    #[error("unclosed `${{` in value")]
    UnclosedInterpolation,
    #[error("`set` needs at least one variable")]
    EmptySet,
    #[error("a menu needs at least one option")]
    EmptyMenu,
    #[error("too many menu options ({count}; the limit is {limit})")]
    TooManyOptions { count: usize, limit: usize },
    #[error("option key cannot be pressed on a keypad: `{key}` (use one of 0-9 * # A-D)")]
    BadOptionKey { key: String },
    #[error("option `{key}` is given twice")]
    DuplicateOption { key: char },
    #[error("terminator cannot be pressed on a keypad: `{key}` (use one of 0-9 * # A-D)")]
    BadTerminator { key: String },
    #[error("invalid pattern: {0}")]
    BadPattern(String),
    #[error("min_digits ({min}) is greater than max_digits ({max})")]
    MinAboveMax { min: u32, max: u32 },
    #[error("max_digits must be between 1 and {limit}")]
    MaxDigitsRange { limit: u32 },
    #[error("retries must be at most {limit}")]
    RetriesRange { limit: u32 },
    #[error("`store` needs `variable`")]
    StoreNeedsVariable,

    // Time zone and calendars.
    #[error("unknown time zone `{name}` (use an IANA name such as Europe/Berlin)")]
    UnknownTimeZone { name: String },
    #[error(
        "invalid date `{text}`: write 2025-12-25, a range 2025-12-24..2025-12-26, or 12-25 (12-24..12-26) for every year"
    )]
    BadDate { text: String },
    #[error("date range `{text}` ends before it starts")]
    BackwardsDateRange { text: String },

    // verify_identity and http.
    #[error("unknown static list `{name}`")]
    UnknownStaticList { name: String },
    #[error("invalid table name `{name}`: use letters, digits and `_`, not starting with a digit")]
    InvalidTable { name: String },
    #[error("attempts must be between 1 and {limit}")]
    AttemptsRange { limit: u32 },
    #[error("invalid URL `{url}`: it must start with http:// or https://")]
    BadUrl { url: String },
    #[error("`body` needs `method: POST`")]
    BodyWithoutPost,
    #[error("invalid header name `{name}`")]
    BadHeaderName { name: String },
    #[error("invalid path `{path}`: write keys and array indexes separated by dots, e.g. customer.phones.0")]
    BadPath { path: String },
    #[error("http retries must be at most {limit}")]
    HttpRetriesRange { limit: u32 },

    // switch.
    #[error("a switch needs at least one case")]
    EmptySwitch,
    #[error("empty condition: give a test such as `variable` with `equals`, `time`, `days` or `calendar`")]
    EmptyCondition,
    #[error("`{key}` needs `variable`")]
    TestWithoutVariable { key: &'static str },
    #[error("`variable` needs a test: equals, in, matches, prefix, at_least, at_most or empty")]
    VariableWithoutTest,
    #[error("`{key}` needs at least one entry")]
    EmptyList { key: &'static str },
    #[error("at_least ({min}) is greater than at_most ({max})")]
    BackwardsNumberRange { min: String, max: String },
    #[error("invalid time range `{text}`: write HH:MM-HH:MM, e.g. 08:00-18:00")]
    BadTimeRange { text: String },
    #[error("unknown day `{text}`: use mon, tue, wed, thu, fri, sat, sun or a range such as mon-fri")]
    UnknownDay { text: String },
    #[error("unknown calendar `{name}`")]
    UnknownCalendar { name: String },

    // enqueue, transfer, subflow.
    #[error("priority must be between 0 and {limit}")]
    PriorityRange { limit: u8 },
    #[error("skill level must be between 0 and {limit}")]
    SkillLevelRange { limit: u8 },
    #[error(
        "invalid transfer target `{to}`: use a SIP URI (sip:…), a tel: URI or a number such as +4930123456"
    )]
    BadTransferTarget { to: String },
    #[error("unknown flow `{name}`")]
    UnknownFlow { name: String },

    // tests.
    #[error("test: {0}")]
    TestShape(String),
    #[error("too many tests ({count}; the limit is {limit})")]
    TooManyTests { count: usize, limit: usize },
    #[error("too many input steps ({count}; the limit is {limit})")]
    TooManySteps { count: usize, limit: usize },
    #[error("test `{name}` is defined twice")]
    DuplicateTest { name: String },
    #[error("invalid time `{text}`: write RFC 3339, e.g. 2025-03-03T10:00:00+01:00")]
    BadTimestamp { text: String },
    #[error("key cannot be pressed on a keypad: `{key}` (use one of 0-9 * # A-D)")]
    BadDigit { key: char },
    #[error("unknown node `{name}` in the expected path")]
    UnknownPathNode { name: String },

    // Linking a set of flows.
    #[error("flow `{name}` is defined twice (also in {other})")]
    DuplicateFlow { name: String, other: String },
    #[error("subflows call each other without end: {cycle}")]
    SubflowCycle { cycle: String },
    #[error("subflow `{name}` cannot be used: it calls a flow that failed to link")]
    SubflowUnavailable { name: String },
}
