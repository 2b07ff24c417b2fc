//! The compiled flow: checked, resolved, immutable. Share it as `Arc<Flow>`; a running call keeps
//! the `Arc` it started with, so reloading a flow never changes a call in progress.

use std::time::Duration;

use media::Digit;
use regex::Regex;

use crate::model::FlowFile;
use crate::template::Template;

/// Index of a node in [`Flow::nodes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct NodeId(pub(crate) u32);

/// A checked flow, ready to run.
#[derive(Debug)]
pub struct Flow {
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) source_file: String,
    pub(crate) start: NodeId,
    /// In file order.
    pub(crate) nodes: Vec<CNode>,
    pub(crate) model: FlowFile,
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
        next: Option<NodeId>,
    },
    Collect(Collect),
    Menu(Menu),
    Goto {
        target: NodeId,
    },
    Set {
        assignments: Vec<(String, Template)>,
        next: Option<NodeId>,
    },
    Hangup {
        reason: String,
    },
}

#[derive(Debug)]
pub(crate) struct Collect {
    pub(crate) prompt: Option<String>,
    pub(crate) variable: String,
    pub(crate) min_digits: usize,
    pub(crate) max_digits: usize,
    pub(crate) terminator: Option<Digit>,
    pub(crate) first_digit_timeout: Duration,
    pub(crate) inter_digit_timeout: Duration,
    pub(crate) retries: u32,
    pub(crate) pattern: Option<Regex>,
    pub(crate) barge_in: bool,
    pub(crate) invalid_prompt: Option<String>,
    pub(crate) timeout_prompt: Option<String>,
    pub(crate) next: NodeId,
    pub(crate) on_timeout: NodeId,
    pub(crate) on_fail: NodeId,
}

#[derive(Debug)]
pub(crate) struct Menu {
    pub(crate) prompt: Option<String>,
    pub(crate) options: Vec<MenuChoice>,
    pub(crate) variable: Option<String>,
    pub(crate) timeout: Duration,
    pub(crate) retries: u32,
    pub(crate) barge_in: bool,
    pub(crate) invalid_prompt: Option<String>,
    pub(crate) timeout_prompt: Option<String>,
    pub(crate) on_timeout: NodeId,
    pub(crate) on_fail: NodeId,
}

#[derive(Debug)]
pub(crate) struct MenuChoice {
    pub(crate) key: Digit,
    pub(crate) label: String,
    pub(crate) next: NodeId,
}

impl Kind {
    /// True if the interpreter stops here until something happens (a prompt ends, a digit or a
    /// timeout arrives). A loop must pass such a node.
    pub(crate) fn waits(&self) -> bool {
        match self {
            Self::Play { .. } | Self::Collect(_) | Self::Menu(_) | Self::Hangup { .. } => true,
            Self::Goto { .. } | Self::Set { .. } => false,
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
