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
/// Longest timeout (`first_digit_timeout`, `inter_digit_timeout`, menu `timeout`).
pub const MAX_TIMEOUT: Duration = Duration::from_secs(600);
/// Most nodes the interpreter enters while handling one input (`start`, a digit, a timeout, a
/// finished prompt). Past it the call is hung up with reason `step limit`.
pub const MAX_STEPS_PER_INPUT: u32 = 1000;
/// Most type-ahead digits kept while no node takes input; later digits are dropped.
pub const MAX_TYPEAHEAD: usize = 32;
/// Most entries kept in a session's trail; later entries are dropped.
pub const MAX_TRAIL: usize = 10_000;
