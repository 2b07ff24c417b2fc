//! The compiled flow: checked, resolved, immutable. Share it as `Arc<Flow>`; a running call keeps
//! the `Arc` it started with, so reloading a flow never changes a call in progress.

use std::sync::Arc;
use std::time::Duration;

use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use media::Digit;
use regex::Regex;

use crate::diagnostic::Mark;
use crate::model::{AniPolicy, FlowFile, HttpMethod, IdentityKind};
use crate::template::Template;
use crate::testing::TestSpec;

/// Index of a node in [`Flow::nodes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct NodeId(pub(crate) u32);

/// A checked flow, ready to run.
#[derive(Debug)]
pub struct Flow {
    pub(crate) name: String,
    /// Where the `flow:` value is, for diagnostics of [`crate::link`].
    pub(crate) name_mark: Mark,
    pub(crate) version: String,
    pub(crate) source_file: String,
    pub(crate) start: NodeId,
    /// In file order.
    pub(crate) nodes: Vec<CNode>,
    pub(crate) model: FlowFile,
    /// The flow's own `timezone:`; `None` uses the call's.
    pub(crate) time_zone: Option<TimeZone>,
    /// Calendars by index ([`Cond::Calendar`]).
    pub(crate) calendars: Vec<Calendar>,
    /// Declared variables and their initial values.
    pub(crate) initial: Vec<(String, String)>,
    /// Every subflow node's target, resolved by [`crate::link`].
    pub(crate) subflows: Vec<SubflowSlot>,
    /// The `tests:`, checked.
    pub(crate) tests: Vec<TestSpec>,
}

impl Flow {
    /// The `flow:` name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A short hash of the source text (FNV-1a, 64 bits, 16 hex digits): two loads of the same
    /// text have the same version.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The file name given to the loader.
    pub fn source_file(&self) -> &str {
        &self.source_file
    }

    /// The name of the start node.
    pub fn start_node(&self) -> &str {
        self.node(self.start).name.as_str()
    }

    /// Node names in file order.
    pub fn node_names(&self) -> impl Iterator<Item = &str> {
        self.nodes.iter().map(|n| n.name.as_str())
    }

    /// The flow as written (after parsing, before defaults).
    pub fn model(&self) -> &FlowFile {
        &self.model
    }

    /// The flow's own time zone (`timezone:`), if it sets one.
    pub fn time_zone(&self) -> Option<&TimeZone> {
        self.time_zone.as_ref()
    }

    /// The names of the flows this flow calls with `subflow` nodes, in file order (repeats
    /// removed).
    pub fn subflow_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for slot in &self.subflows {
            if !names.contains(&slot.name.as_str()) {
                names.push(&slot.name);
            }
        }
        names
    }

    /// True when every subflow this flow calls (and they call) is resolved: the flow came out
    /// of [`crate::link`] or calls no subflow.
    pub fn is_linked(&self) -> bool {
        self.subflows
            .iter()
            .all(|s| s.flow.as_ref().is_some_and(|f| f.is_linked()))
    }

    /// How many `tests:` the flow carries.
    pub fn test_count(&self) -> usize {
        self.tests.len()
    }

    pub(crate) fn node(&self, id: NodeId) -> &CNode {
        // Ids are only made by the compiler, from indices into `nodes`.
        &self.nodes[id.0 as usize]
    }
}

/// FNV-1a, 64 bits.
pub(crate) fn content_hash(source: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in source.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// The target of one subflow node.
#[derive(Debug)]
pub(crate) struct SubflowSlot {
    /// The called flow's name.
    pub(crate) name: String,
    /// Where the `flow:` value of the subflow node is.
    pub(crate) mark: Mark,
    /// Filled in by [`crate::link`].
    pub(crate) flow: Option<Arc<Flow>>,
}

/// A compiled node.
#[derive(Debug)]
pub(crate) struct CNode {
    pub(crate) name: String,
    pub(crate) kind: Kind,
}

#[derive(Debug)]
pub(crate) enum Kind {
    Play {
        prompts: Vec<String>,
        say_digits: Option<String>,
        barge_in: bool,
        next: Option<NodeId>,
    },
    Collect(Collect),
    Menu(Menu),
    Verify(Verify),
    Http(Http),
    Goto {
        target: NodeId,
    },
    Set {
        assignments: Vec<(String, Template)>,
        next: Option<NodeId>,
    },
    Switch {
        cases: Vec<(Cond, NodeId)>,
        default: NodeId,
    },
    Enqueue(Enqueue),
    Transfer {
        to: Template,
    },
    Subflow {
        /// Index into [`Flow::subflows`].
        slot: usize,
        next: Option<NodeId>,
    },
    Return,
    Hangup {
        reason: String,
    },
}

/// How digits are keyed: shared by collect and verify_identity.
#[derive(Debug)]
pub(crate) struct DigitInput {
    pub(crate) min_digits: usize,
    pub(crate) max_digits: usize,
    pub(crate) terminator: Option<Digit>,
    pub(crate) first_digit_timeout: Duration,
    pub(crate) inter_digit_timeout: Duration,
    pub(crate) barge_in: bool,
}

#[derive(Debug)]
pub(crate) struct Collect {
    pub(crate) prompt: Option<String>,
    pub(crate) variable: String,
    pub(crate) input: DigitInput,
    pub(crate) retries: u32,
    pub(crate) pattern: Option<Regex>,
    pub(crate) invalid_prompt: Option<String>,
    pub(crate) timeout_prompt: Option<String>,
    pub(crate) store: bool,
    pub(crate) next: NodeId,
    pub(crate) on_timeout: NodeId,
    pub(crate) on_fail: NodeId,
}

#[derive(Debug)]
pub(crate) struct Menu {
    pub(crate) prompt: Option<String>,
    pub(crate) title: Option<String>,
    pub(crate) options: Vec<MenuChoice>,
    pub(crate) variable: Option<String>,
    pub(crate) timeout: Duration,
    pub(crate) retries: u32,
    pub(crate) barge_in: bool,
    pub(crate) invalid_prompt: Option<String>,
    pub(crate) timeout_prompt: Option<String>,
    pub(crate) store: bool,
    pub(crate) on_timeout: NodeId,
    pub(crate) on_fail: NodeId,
}

#[derive(Debug)]
pub(crate) struct MenuChoice {
    pub(crate) key: Digit,
    pub(crate) label: String,
    pub(crate) next: NodeId,
}

#[derive(Debug)]
pub(crate) struct Verify {
    pub(crate) ask: IdentityKind,
    pub(crate) lookup: Lookup,
    pub(crate) ani: AniPolicy,
    pub(crate) prompt: Option<String>,
    pub(crate) attempts: u32,
    pub(crate) input: DigitInput,
    pub(crate) invalid_prompt: Option<String>,
    pub(crate) timeout_prompt: Option<String>,
    pub(crate) on_success: NodeId,
    pub(crate) on_failure: NodeId,
    pub(crate) on_error: NodeId,
}

#[derive(Debug)]
pub(crate) enum Lookup {
    Http {
        url: Template,
        timeout: Duration,
        retries: u32,
    },
    Table(String),
    Static(String),
}

#[derive(Debug)]
pub(crate) struct Http {
    pub(crate) method: HttpMethod,
    pub(crate) url: Template,
    pub(crate) headers: Vec<(String, Template)>,
    /// Strings in it are templates, checked at load.
    pub(crate) body: Option<serde_json::Value>,
    pub(crate) timeout: Duration,
    pub(crate) retries: u32,
    /// Variable and the path segments into the JSON answer.
    pub(crate) map: Vec<(String, Vec<String>)>,
    pub(crate) next: NodeId,
    pub(crate) on_failure: NodeId,
}

#[derive(Debug)]
pub(crate) struct Enqueue {
    pub(crate) queue: String,
    pub(crate) priority: u8,
    pub(crate) skills: Vec<(String, u8)>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) on_timeout: NodeId,
    pub(crate) on_left: NodeId,
}

/// A compiled switch condition.
#[derive(Debug)]
pub(crate) enum Cond {
    All(Vec<Self>),
    Any(Vec<Self>),
    Not(Box<Self>),
    Value {
        variable: String,
        test: ValueTest,
    },
    /// Minutes since midnight; `start > end` spans midnight.
    Time {
        start: u16,
        end: u16,
    },
    /// Bit `n` set for the weekday `n` days after Monday.
    Days(u8),
    /// Index into [`Flow::calendars`].
    Calendar(usize),
}

#[derive(Debug)]
pub(crate) enum ValueTest {
    Equals(String),
    In(Vec<String>),
    Matches(Regex),
    Prefix(String),
    AtLeast(f64),
    AtMost(f64),
    Empty(bool),
}

/// What a condition needs to know about the call now.
pub(crate) struct CondInput<'a> {
    pub(crate) value: &'a dyn Fn(&str) -> Option<String>,
    pub(crate) date: Date,
    /// Minutes since midnight.
    pub(crate) minute: u16,
    pub(crate) calendars: &'a [Calendar],
}

impl Cond {
    pub(crate) fn holds(&self, input: &CondInput<'_>) -> bool {
        match self {
            Self::All(all) => all.iter().all(|c| c.holds(input)),
            Self::Any(any) => any.iter().any(|c| c.holds(input)),
            Self::Not(c) => !c.holds(input),
            Self::Value { variable, test } => {
                let value = (input.value)(variable).unwrap_or_default();
                test.holds(&value)
            }
            Self::Time { start, end } => {
                let m = input.minute;
                if start <= end {
                    *start <= m && m < *end
                } else {
                    m >= *start || m < *end
                }
            }
            Self::Days(mask) => mask & weekday_bit(input.date.weekday()) != 0,
            Self::Calendar(i) => input.calendars.get(*i).is_some_and(|c| c.contains(input.date)),
        }
    }
}

impl ValueTest {
    fn holds(&self, value: &str) -> bool {
        let number = || value.trim().parse::<f64>().ok().filter(|n| n.is_finite());
        match self {
            Self::Equals(v) => value == v,
            Self::In(vs) => vs.iter().any(|v| v == value),
            Self::Matches(re) => re.is_match(value),
            Self::Prefix(p) => value.starts_with(p.as_str()),
            Self::AtLeast(n) => number().is_some_and(|v| v >= *n),
            Self::AtMost(n) => number().is_some_and(|v| v <= *n),
            Self::Empty(empty) => value.is_empty() == *empty,
        }
    }
}

/// The bit of a weekday in [`Cond::Days`].
pub(crate) fn weekday_bit(day: Weekday) -> u8 {
    1 << (day.to_monday_zero_offset() as u8)
}

/// A holiday calendar.
#[derive(Debug, Default)]
pub(crate) struct Calendar {
    pub(crate) rules: Vec<DateRule>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DateRule {
    Day(Date),
    /// Inclusive.
    Range(Date, Date),
    /// Month and day, every year.
    Yearly(i8, i8),
    /// Inclusive, every year; wraps over the new year when the end comes first.
    YearlyRange((i8, i8), (i8, i8)),
}

impl Calendar {
    pub(crate) fn contains(&self, date: Date) -> bool {
        self.rules.iter().any(|r| match *r {
            DateRule::Day(d) => d == date,
            DateRule::Range(a, b) => a <= date && date <= b,
            DateRule::Yearly(m, d) => date.month() == m && date.day() == d,
            DateRule::YearlyRange(a, b) => {
                let day = (date.month(), date.day());
                if a <= b {
                    a <= day && day <= b
                } else {
                    day >= a || day <= b
                }
            }
        })
    }
}

impl Kind {
    /// True if the interpreter stops here until the caller does something or a prompt ends.
    /// A loop must pass such a node. (http, enqueue and subflow wait too, but not for the
    /// caller: a loop through them alone could hammer a server or a queue.)
    pub(crate) fn waits(&self) -> bool {
        match self {
            Self::Play { .. }
            | Self::Collect(_)
            | Self::Menu(_)
            | Self::Verify(_)
            | Self::Transfer { .. }
            | Self::Return
            | Self::Hangup { .. } => true,
            Self::Goto { .. }
            | Self::Set { .. }
            | Self::Switch { .. }
            | Self::Http(_)
            | Self::Enqueue(_)
            | Self::Subflow { .. } => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_hash_is_stable_and_sensitive() {
        assert_eq!(content_hash(""), "cbf29ce484222325");
        assert_eq!(content_hash("a"), "af63dc4c8601ec8c");
        assert_ne!(content_hash("flow: a"), content_hash("flow: b"));
    }
}
