//! The flow language as plain serde types: what a flow file says, before any checking.
//!
//! A flow file is a [`FlowFile`]: a `flow` name, a `start` node and a map of named [`Node`]s.
//! Each node has a `type` that selects its kind; unknown keys are errors. Optional fields are
//! `Option`s here and get their documented defaults when the flow is compiled, so that a model
//! written back out says exactly what the author wrote.
//!
//! These types deserialize with any serde format (`serde_saphyr::from_str::<FlowFile>` works),
//! but [`crate::load_str`] reads them through its own located YAML tree so that every error has
//! an exact line and column, and then checks what serde cannot (targets, prompts, loops, limits).
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

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::limits::MAX_TIMEOUT;

/// A whole flow file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowFile {
    /// The flow's name (letters, digits, `_`, `-`, `.`).
    pub flow: String,
    /// The node a call enters first.
    pub start: String,
    /// The nodes, by name.
    pub nodes: BTreeMap<String, Node>,
}

/// One node. The YAML key `type` selects the kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum Node {
    /// Plays prompts, then goes on.
    Play(PlayNode),
    /// Collects digits into a variable.
    Collect(CollectNode),
    /// Offers keypad options.
    Menu(MenuNode),
    /// Jumps to another node.
    Goto(GotoNode),
    /// Sets variables.
    Set(SetNode),
    /// Ends the call.
    Hangup(HangupNode),
}

impl Node {
    /// Every `type` the language knows, in documentation order.
    pub const KINDS: &'static [&'static str] = &["play", "collect", "menu", "goto", "set", "hangup"];

    /// This node's `type`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Play(_) => "play",
            Self::Collect(_) => "collect",
            Self::Menu(_) => "menu",
            Self::Goto(_) => "goto",
            Self::Set(_) => "set",
            Self::Hangup(_) => "hangup",
        }
    }
}

/// `type: play` — plays one prompt (`prompt`) or several in order (`prompts`), then goes to
/// `next` (or ends the call when there is no `next`). Digits pressed meanwhile are kept as
/// type-ahead for the next collect or menu.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlayNode {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompts: Option<Vec<String>>,
    /// Says the digits of this variable after the prompts (prompts `digit-0` … `digit-9`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub say_digits: Option<String>,
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectNode {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    pub variable: String,
    /// Default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_digits: Option<u32>,
    pub max_digits: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminator: Option<String>,
    /// Default 5s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_digit_timeout: Option<Duration>,
    /// Default 3s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inter_digit_timeout: Option<Duration>,
    /// Default 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
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
    pub next: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_timeout: Option<String>,
    pub on_fail: String,
}

/// `type: menu` — plays `prompt` and waits `timeout` for one key of `options`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MenuNode {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// Keypad key (`0`-`9`, `*`, `#`, `A`-`D`) to option.
    pub options: BTreeMap<String, MenuOption>,
    /// Stores the pressed key in this variable too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variable: Option<String>,
    /// Default 5s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// Default 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
    /// Default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub barge_in: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalid_prompt: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_prompt: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_timeout: Option<String>,
    pub on_fail: String,
}

/// One menu choice: a label (shown by ITR) and where it leads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MenuOption {
    pub label: String,
    pub next: String,
}

/// `type: goto` — continues at `target`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GotoNode {
    pub target: String,
}

/// `type: set` — sets variables. Values may refer to variables as `${name}`; built-ins are
/// `caller`, `callee` and `call_id`. All values are computed before any is assigned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetNode {
    pub variables: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// `type: hangup` — ends the call (`reason` defaults to `hangup`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HangupNode {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
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
        let src = "flow: f\nstart: a\nnodes:\n  a: {type: play, prompt: p, next: b}\n  b: {type: goto, target: c}\n  c: {type: set, variables: {x: z}, next: d}\n  d: {type: menu, options: {'1': {label: L, next: e}}, on_fail: e}\n  e: {type: collect, variable: v, max_digits: 3, next: f, on_fail: f}\n  f: {type: hangup}\n";
        let file: FlowFile = serde_saphyr::from_str(src).unwrap();
        let mut kinds: Vec<_> = file.nodes.values().map(Node::kind).collect();
        kinds.sort_unstable();
        let mut expected = Node::KINDS.to_vec();
        expected.sort_unstable();
        assert_eq!(kinds, expected);
    }
}
