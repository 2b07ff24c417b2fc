//! Every input of the flow language and the interpreter has a limit.
//!
//! Each limit is tested at the limit and one past it. Going past a limit at load time is a
//! [`Diagnostic`](crate::Diagnostic); at run time the session degrades in the documented way
//! (digits dropped, trail capped, call hung up with reason `step limit`). Nothing panics and no
//! memory grows without bound.

use std::time::Duration;

/// Largest flow file, in bytes.
pub const MAX_FILE_SIZE: usize = 256 * 1024;
/// Most nodes in one flow.
pub const MAX_NODES: usize = 1000;
/// Most options in one menu (a keypad has 16 keys).
pub const MAX_MENU_OPTIONS: usize = 16;
/// Longest node, flow, variable or prompt name, in characters.
pub const MAX_NAME_LEN: usize = 64;
/// Longest string value (labels, patterns, set values, reasons), in characters.
pub const MAX_STRING_LEN: usize = 1024;
/// Deepest nesting of YAML mappings and sequences.
pub const MAX_DEPTH: usize = 32;
/// Most YAML values in one file, counted after aliases are expanded (guards against "billion
/// laughs" alias bombs).
pub const MAX_VALUES: usize = 100_000;
/// Largest `max_digits` of a collect node.
pub const MAX_DIGITS: u32 = 64;
/// Largest `retries` of a collect or menu node.
pub const MAX_RETRIES: u32 = 10;
/// Largest `attempts` of a verify_identity node.
pub const MAX_ATTEMPTS: u32 = 10;
/// Largest `retries` of an http node or an HTTP lookup.
pub const MAX_HTTP_RETRIES: u32 = 3;
/// Largest `priority` of an enqueue node.
pub const MAX_PRIORITY: u8 = 9;
/// Largest skill level of an enqueue node.
pub const MAX_SKILL_LEVEL: u8 = 100;
/// Most `tests:` in one flow file.
pub const MAX_TESTS: usize = 100;
/// Most `input:` steps in one test.
pub const MAX_TEST_STEPS: usize = 1000;
/// Longest virtual time one flow test may run; a test still running then fails.
pub const MAX_TEST_DURATION: Duration = Duration::from_secs(3600);
/// Longest timeout (`first_digit_timeout`, `inter_digit_timeout`, menu `timeout`).
pub const MAX_TIMEOUT: Duration = Duration::from_secs(600);
/// Most nodes the interpreter enters while handling one input (`start`, a digit, a timeout, a
/// finished prompt). Past it the call is hung up with reason `step limit`.
pub const MAX_STEPS_PER_INPUT: u32 = 1000;
/// Deepest stack of subflow calls at run time (the top-level flow is depth 1). A subflow node
/// past it hangs the call up with reason `subflow depth`. [`crate::link`] already refuses
/// cycles; this bounds long chains.
pub const MAX_SUBFLOW_DEPTH: usize = 8;
/// Slack the interpreter adds to an http or lookup request's own time budget
/// (`timeout × (retries + 1)`) before it gives up on the answer itself.
pub const REQUEST_GUARD_SLACK: Duration = Duration::from_secs(2);
/// Most type-ahead digits kept while no node takes input; later digits are dropped.
pub const MAX_TYPEAHEAD: usize = 32;
/// Most variables one call holds; setting a new one past it is ignored.
pub const MAX_VARIABLES: usize = 1000;
/// Longest variable value, in characters (longer values, e.g. a mapped JSON object, are cut).
pub const MAX_VALUE_LEN: usize = 4096;
/// Most entries kept in a session's trail; later entries are dropped.
pub const MAX_TRAIL: usize = 10_000;
