//! Loader and validator: flow text in, a compiled [`Flow`] or every problem out.
//!
//! Three passes, so that one mistake does not hide the next:
//! 1. YAML → located tree ([`yaml`]): syntax errors, duplicate keys, size and nesting limits.
//! 2. Tree → [`model`](crate::model) types, one node (and one test) at a time ([`de`]): unknown
//!    keys, wrong types, bad durations. A node that fails here is reported and skipped; the
//!    others go on.
//! 3. Semantic checks and compilation ([`node`], [`when`], [`spec`]): dangling targets, missing
//!    start, unreachable nodes, loops that never wait, keypad keys, patterns, digit bounds,
//!    prompts, static lists, subflows, variables, time zones, calendars, conditions, tests and
//!    limits.
//!
//! All problems are returned at once, sorted by position, each as `file:line:col: message`.

mod de;
mod node;
mod spec;
#[cfg(test)]
pub(crate) mod tests;
#[cfg(test)]
mod tests_language;
mod when;
pub(crate) mod yaml;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::Path;
use std::time::Duration;

use jiff::tz::TimeZone;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use self::node::NodeCtx;
use self::yaml::{Located, Value, Yaml};
use crate::diagnostic::{Diagnostic, Mark, Problem};
use crate::flow::{CNode, Calendar, Flow, Kind, NodeId};
use crate::limits::{MAX_FILE_SIZE, MAX_NAME_LEN, MAX_NODES};
use crate::model::{FlowFile, Node};
use crate::template::{BUILTIN_VARIABLES, is_variable_name};

/// Default `min_digits` of collect and verify_identity nodes.
pub const DEFAULT_MIN_DIGITS: u32 = 1;
/// Default `first_digit_timeout` of collect and verify_identity nodes.
pub const DEFAULT_FIRST_DIGIT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default `inter_digit_timeout` of collect and verify_identity nodes.
pub const DEFAULT_INTER_DIGIT_TIMEOUT: Duration = Duration::from_secs(3);
/// Default `timeout` of a menu node.
pub const DEFAULT_MENU_TIMEOUT: Duration = Duration::from_secs(5);
/// Default `retries` of collect and menu nodes.
pub const DEFAULT_RETRIES: u32 = 2;
/// Default `attempts` of a verify_identity node.
pub const DEFAULT_ATTEMPTS: u32 = 3;
/// Default `timeout` of an http node and of an HTTP lookup (per attempt).
pub const DEFAULT_HTTP_TIMEOUT: Duration = Duration::from_secs(3);
/// Default `reason` of a hangup node.
pub const DEFAULT_HANGUP_REASON: &str = "hangup";

/// What the loader may ask the engine about names a flow uses. Each function says whether a
/// name exists: a prompt in the prompt catalog, a static list in the config's `directory:`, a
/// flow (by its `flow:` name) in the set being loaded. A name that does not exist is an error
/// at the value that uses it.
#[derive(Clone, Copy)]
pub struct LoadContext<'a> {
    pub prompts: &'a dyn Fn(&str) -> bool,
    pub static_lists: &'a dyn Fn(&str) -> bool,
    pub flows: &'a dyn Fn(&str) -> bool,
}

fn any_name(_: &str) -> bool {
    true
}

impl LoadContext<'static> {
    /// Accepts every prompt, static list and flow name: for tools and tests that check a flow
    /// on its own.
    pub fn permissive() -> Self {
        Self {
            prompts: &any_name,
            static_lists: &any_name,
            flows: &any_name,
        }
    }
}

impl std::fmt::Debug for LoadContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadContext").finish_non_exhaustive()
    }
}

/// Loads and checks a flow from its text. `file` names it in diagnostics.
pub fn load_str(source: &str, file: &str, ctx: &LoadContext<'_>) -> Result<Flow, Vec<Diagnostic>> {
    Loader::new(file, ctx, true).load(source)
}

/// Reads and loads a flow file (at most [`MAX_FILE_SIZE`] bytes of UTF-8).
pub fn load_file(path: &Path, ctx: &LoadContext<'_>) -> Result<Flow, Vec<Diagnostic>> {
    let file = path.display().to_string();
    let fail = |mark: Mark, problem: Problem| Err(vec![diagnostic(&file, mark, &problem)]);
    let mut bytes = Vec::new();
    let read =
        std::fs::File::open(path).and_then(|f| f.take(MAX_FILE_SIZE as u64 + 1).read_to_end(&mut bytes));
    if let Err(e) = read {
        return fail(Mark::START, Problem::Io(e.kind()));
    }
    if bytes.len() > MAX_FILE_SIZE {
        let size =
            std::fs::metadata(path).map_or(bytes.len(), |m| usize::try_from(m.len()).unwrap_or(usize::MAX));
        return fail(
            Mark::START,
            Problem::FileTooLarge {
                size,
                limit: MAX_FILE_SIZE,
            },
        );
    }
    match String::from_utf8(bytes) {
        Ok(text) => load_str(&text, &file, ctx),
        Err(e) => {
            let valid = e
                .as_bytes()
                .get(..e.utf8_error().valid_up_to())
                .unwrap_or_default();
            let valid = std::str::from_utf8(valid).unwrap_or_default();
            let line = valid.matches('\n').count() + 1;
            let col = valid.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            let mark = Mark {
                line: clamp(line),
                col: clamp(col),
            };
            fail(mark, Problem::NotUtf8)
        }
    }
}

/// Test support: loads without the loop check, to exercise the interpreter's step cap.
#[cfg(test)]
pub(crate) fn load_str_without_loop_check(
    source: &str,
    ctx: &LoadContext<'_>,
) -> Result<Flow, Vec<Diagnostic>> {
    Loader::new("test.yaml", ctx, false).load(source)
}

pub(crate) fn clamp(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

pub(crate) fn diagnostic(file: &str, mark: Mark, problem: &Problem) -> Diagnostic {
    Diagnostic {
        file: file.to_owned(),
        line: mark.line,
        col: mark.col,
        message: problem.to_string(),
    }
}

/// The top level. Everything but `flow` and `start` is read piece by piece from the tree, so
/// that a mistake in one piece does not hide the others; here they are only checked for shape.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[expect(dead_code, reason = "the ignored pieces are read from the tree")]
struct Header {
    flow: String,
    #[serde(default)]
    timezone: serde::de::IgnoredAny,
    #[serde(default)]
    calendars: serde::de::IgnoredAny,
    #[serde(default)]
    variables: serde::de::IgnoredAny,
    start: String,
    nodes: serde::de::IgnoredAny,
    #[serde(default)]
    tests: serde::de::IgnoredAny,
}

/// A node as read from the tree.
pub(crate) struct Parsed<'t> {
    pub(crate) name: &'t str,
    pub(crate) key_mark: Mark,
    pub(crate) tree: &'t Yaml,
    pub(crate) node: Option<Node>,
}

pub(crate) struct Loader<'a> {
    pub(crate) file: &'a str,
    pub(crate) ctx: &'a LoadContext<'a>,
    check_loops: bool,
    pub(crate) problems: Vec<Located>,
}

pub(crate) fn mark_at(tree: &Yaml, key: &str) -> Mark {
    tree.get(key).map_or(tree.mark, |v| v.mark)
}

pub(crate) fn key_mark_at(tree: &Yaml, key: &str) -> Mark {
    tree.entry(key).map_or(tree.mark, |e| e.key_mark)
}

/// The mark of the `index`th item of the sequence under `key` (else of `key`'s value).
pub(crate) fn item_mark(tree: &Yaml, key: &str, index: usize) -> Mark {
    tree.get(key).map_or(tree.mark, |list| {
        list.index(index).map_or(list.mark, |item| item.mark)
    })
}

/// Everything the top level declares besides nodes.
#[derive(Default)]
pub(crate) struct Declarations {
    pub(crate) time_zone: Option<TimeZone>,
    pub(crate) timezone_name: Option<String>,
    pub(crate) calendars: BTreeMap<String, Vec<String>>,
    pub(crate) compiled_calendars: Vec<Calendar>,
    pub(crate) calendar_ids: BTreeMap<String, usize>,
    pub(crate) variables: BTreeMap<String, String>,
}

impl<'a> Loader<'a> {
    fn new(file: &'a str, ctx: &'a LoadContext<'a>, check_loops: bool) -> Self {
        Self {
            file,
            ctx,
            check_loops,
            problems: Vec::new(),
        }
    }

    pub(crate) fn report(&mut self, mark: Mark, problem: Problem) {
        self.problems.push((mark, problem));
    }

    fn finish(self) -> Vec<Diagnostic> {
        let mut out: Vec<Diagnostic> = self
            .problems
            .iter()
            .map(|(mark, p)| diagnostic(self.file, *mark, p))
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Deserializes one piece; a problem is reported (as `wrap` of the message) and `None`
    /// comes back.
    pub(crate) fn piece<T: DeserializeOwned>(
        &mut self,
        tree: &Yaml,
        skip: &[&str],
        fallback: Mark,
        wrap: impl FnOnce(String) -> Problem,
    ) -> Option<T> {
        match de::from_yaml::<T>(tree, skip) {
            Ok(value) => Some(value),
            Err(e) => {
                // A missing field is reported at the fallback (a name), not at the mapping.
                let mark = match e.mark {
                    Some(m) if m != tree.mark => m,
                    _ => fallback,
                };
                self.report(mark, wrap(e.message));
                None
            }
        }
    }

    fn load(mut self, source: &str) -> Result<Flow, Vec<Diagnostic>> {
        if source.len() > MAX_FILE_SIZE {
            self.report(
                Mark::START,
                Problem::FileTooLarge {
                    size: source.len(),
                    limit: MAX_FILE_SIZE,
                },
            );
            return Err(self.finish());
        }
        let Some(root) = yaml::parse(source, &mut self.problems) else {
            return Err(self.finish());
        };
        if !matches!(root.value, Value::Map(_)) {
            self.report(root.mark, Problem::RootNotMapping);
            return Err(self.finish());
        }
        let header = match de::from_yaml::<Header>(&root, &[]) {
            Ok(h) => Some(h),
            Err(e) => {
                self.report(e.mark.unwrap_or(root.mark), Problem::Shape(e.message));
                None
            }
        };
        if let Some(h) = &header {
            self.check_name("flow", &h.flow, mark_at(&root, "flow"));
        }
        let decls = self.declarations(&root);

        // Pass 2: nodes, one by one.
        let mut parsed = Vec::new();
        let mut complete = true; // false when the node list itself is unusable
        if let Some(nodes) = root.get("nodes") {
            match &nodes.value {
                Value::Map(entries) => {
                    if let Some(extra) = entries.get(MAX_NODES) {
                        // Too big to check further: say only that.
                        let count = entries.len();
                        self.report(
                            extra.key_mark,
                            Problem::TooManyNodes {
                                count,
                                limit: MAX_NODES,
                            },
                        );
                        return Err(self.finish());
                    }
                    for entry in entries {
                        let node = self.parse_node(&entry.key, entry.key_mark, &entry.value);
                        parsed.push(Parsed {
                            name: &entry.key,
                            key_mark: entry.key_mark,
                            tree: &entry.value,
                            node,
                        });
                    }
                }
                _ if nodes.is_null() => {}
                _ => {
                    self.report(nodes.mark, Problem::NodesNotMapping);
                    complete = false;
                }
            }
        }

        // Pass 3: semantics.
        let ids: BTreeMap<&str, NodeId> = parsed
            .iter()
            .enumerate()
            .map(|(i, p)| (p.name, NodeId(clamp(i))))
            .collect();
        let known_vars = known_variables(&parsed, &decls);
        let mut compiled = Vec::with_capacity(parsed.len());
        let mut edges = Vec::with_capacity(parsed.len());
        let mut waits = Vec::with_capacity(parsed.len());
        let mut subflows = Vec::new();
        for p in &parsed {
            self.check_name("node", p.name, p.key_mark);
            let mut ctx = NodeCtx {
                loader: &mut self,
                ids: &ids,
                known_vars: &known_vars,
                decls: &decls,
                subflows: &mut subflows,
                edges: Vec::new(),
            };
            let kind = p.node.as_ref().map(|node| ctx.compile(p.tree, node));
            if kind.is_none() {
                // A node that did not parse may still lead somewhere: count every scalar in it
                // that names a node, so that nothing is called unreachable because of it.
                loose_targets(p.tree, &ids, &mut ctx.edges);
            }
            edges.push(ctx.edges);
            waits.push(kind.as_ref().is_none_or(Kind::waits));
            compiled.push(kind);
        }
        // The start node, even when the header had other problems.
        let start_name = match root.get("start").filter(|s| !s.is_null()).map(|s| &s.value) {
            Some(Value::Scalar { text, .. }) => Some(text.as_str()),
            _ => None,
        };
        let start = start_name.and_then(|name| {
            let id = ids.get(name).copied();
            if id.is_none() {
                self.report(
                    mark_at(&root, "start"),
                    Problem::MissingStart {
                        start: name.to_owned(),
                    },
                );
            }
            id
        });
        if let (Some(start), Some(name), true) = (start, start_name, complete) {
            self.check_reachable(&parsed, &edges, start, name);
        }
        if self.check_loops {
            self.check_loops(&parsed, &edges, &waits);
        }
        let subflow_names: BTreeSet<String> = subflows.iter().map(|s| s.name.clone()).collect();
        let (tests, test_models) = spec::tests(&mut self, &root, &ids, &subflow_names);

        let (Some(header), Some(start), true) = (header, start, self.problems.is_empty()) else {
            return Err(self.finish());
        };
        let mut nodes = Vec::with_capacity(parsed.len());
        let mut model_nodes = BTreeMap::new();
        for (p, kind) in parsed.into_iter().zip(compiled) {
            let (Some(node), Some(kind)) = (p.node, kind) else {
                return Err(self.finish());
            };
            nodes.push(CNode {
                name: p.name.to_owned(),
                kind,
            });
            model_nodes.insert(p.name.to_owned(), node);
        }
        Ok(Flow {
            version: crate::flow::content_hash(source),
            source_file: self.file.to_owned(),
            name_mark: mark_at(&root, "flow"),
            start,
            nodes,
            model: FlowFile {
                flow: header.flow.clone(),
                timezone: decls.timezone_name,
                calendars: decls.calendars,
                variables: decls.variables.clone(),
                start: header.start,
                nodes: model_nodes,
                tests: test_models,
            },
            name: header.flow,
            time_zone: decls.time_zone,
            calendars: decls.compiled_calendars,
            initial: decls.variables.into_iter().collect(),
            subflows,
            tests,
        })
    }

    /// `timezone`, `calendars` and `variables`.
    fn declarations(&mut self, root: &Yaml) -> Declarations {
        let mut decls = Declarations::default();
        if let Some(tree) = root.get("timezone").filter(|t| !t.is_null()) {
            if let Some(name) = self.piece::<String>(tree, &[], tree.mark, Problem::Shape) {
                match TimeZone::get(&name) {
                    Ok(tz) => decls.time_zone = Some(tz),
                    Err(_) => self.report(tree.mark, Problem::UnknownTimeZone { name: name.clone() }),
                }
                decls.timezone_name = Some(name);
            }
        }
        if let Some(tree) = root.get("calendars").filter(|t| !t.is_null()) {
            if let Some(calendars) =
                self.piece::<BTreeMap<String, Vec<String>>>(tree, &[], tree.mark, Problem::Shape)
            {
                // In file order, so that ids follow the file.
                if let Value::Map(entries) = &tree.value {
                    for entry in entries {
                        let Some(dates) = calendars.get(&entry.key) else {
                            continue;
                        };
                        self.check_name("calendar", &entry.key, entry.key_mark);
                        let calendar = when::calendar(self, &entry.value, dates);
                        decls
                            .calendar_ids
                            .insert(entry.key.clone(), decls.compiled_calendars.len());
                        decls.compiled_calendars.push(calendar);
                    }
                }
                decls.calendars = calendars;
            }
        }
        if let Some(tree) = root.get("variables").filter(|t| !t.is_null()) {
            if let Some(vars) = self.piece::<BTreeMap<String, String>>(tree, &[], tree.mark, Problem::Shape) {
                if let Value::Map(entries) = &tree.value {
                    for entry in entries {
                        self.check_variable(&entry.key, entry.key_mark);
                    }
                }
                decls.variables = vars;
            }
        }
        decls
    }

    /// Reads one node: dispatches on `type`, then deserializes that kind's struct.
    fn parse_node(&mut self, name: &str, key_mark: Mark, tree: &Yaml) -> Option<Node> {
        let expected = || Node::KINDS.join(", ");
        if !matches!(tree.value, Value::Map(_)) {
            self.report(
                tree.mark,
                Problem::NodeNotMapping {
                    node: name.to_owned(),
                },
            );
            return None;
        }
        let Some(kind) = tree.get("type") else {
            self.report(
                key_mark,
                Problem::MissingType {
                    node: name.to_owned(),
                    expected: expected(),
                },
            );
            return None;
        };
        let kind_name = match &kind.value {
            Value::Scalar { text, .. } => text.as_str(),
            _ => "",
        };
        let skip = &["type"];
        let wrap = |message| Problem::NodeShape {
            node: name.to_owned(),
            message,
        };
        match kind_name {
            "play" => self.piece(tree, skip, key_mark, wrap).map(Node::Play),
            "menu" => self.piece(tree, skip, key_mark, wrap).map(Node::Menu),
            "collect" => self.piece(tree, skip, key_mark, wrap).map(Node::Collect),
            "verify_identity" => self.piece(tree, skip, key_mark, wrap).map(Node::VerifyIdentity),
            "http" => self.piece(tree, skip, key_mark, wrap).map(Node::Http),
            "set" => self.piece(tree, skip, key_mark, wrap).map(Node::Set),
            "switch" => self.piece(tree, skip, key_mark, wrap).map(Node::Switch),
            "enqueue" => self.piece(tree, skip, key_mark, wrap).map(Node::Enqueue),
            "transfer" => self.piece(tree, skip, key_mark, wrap).map(Node::Transfer),
            "goto" => self.piece(tree, skip, key_mark, wrap).map(Node::Goto),
            "subflow" => self.piece(tree, skip, key_mark, wrap).map(Node::Subflow),
            "return" => self.piece(tree, skip, key_mark, wrap).map(Node::Return),
            "hangup" => self.piece(tree, skip, key_mark, wrap).map(Node::Hangup),
            _ => {
                self.report(
                    kind.mark,
                    Problem::UnknownType {
                        found: kind_name.to_owned(),
                        expected: expected(),
                    },
                );
                None
            }
        }
    }

    pub(crate) fn check_name(&mut self, what: &'static str, name: &str, mark: Mark) {
        let len = name.chars().count();
        if len > MAX_NAME_LEN {
            self.report(
                mark,
                Problem::NameTooLong {
                    what,
                    len,
                    limit: MAX_NAME_LEN,
                },
            );
        } else if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        {
            self.report(
                mark,
                Problem::InvalidName {
                    what,
                    name: name.to_owned(),
                },
            );
        }
    }

    pub(crate) fn check_variable(&mut self, name: &str, mark: Mark) {
        let len = name.chars().count();
        if len > MAX_NAME_LEN {
            self.report(
                mark,
                Problem::NameTooLong {
                    what: "variable",
                    len,
                    limit: MAX_NAME_LEN,
                },
            );
        } else if !is_variable_name(name) {
            self.report(
                mark,
                Problem::InvalidVariable {
                    name: name.to_owned(),
                },
            );
        }
    }

    fn check_reachable(
        &mut self,
        parsed: &[Parsed<'_>],
        edges: &[Vec<NodeId>],
        start: NodeId,
        start_name: &str,
    ) {
        let mut seen = vec![false; parsed.len()];
        let mut todo = vec![start];
        while let Some(id) = todo.pop() {
            let i = id.0 as usize;
            if seen.get(i).copied().unwrap_or(true) {
                continue;
            }
            seen[i] = true;
            todo.extend(edges.get(i).into_iter().flatten().copied());
        }
        for (p, seen) in parsed.iter().zip(seen) {
            if !seen {
                let problem = Problem::Unreachable {
                    node: p.name.to_owned(),
                    start: start_name.to_owned(),
                };
                self.report(p.key_mark, problem);
            }
        }
    }

    /// Reports every strongly connected set of nodes that never wait (goto and set cycles), once,
    /// at the member that comes first in the file.
    fn check_loops(&mut self, parsed: &[Parsed<'_>], edges: &[Vec<NodeId>], waits: &[bool]) {
        let succ: Vec<Vec<usize>> = edges
            .iter()
            .enumerate()
            .map(|(i, out)| {
                if waits.get(i).copied().unwrap_or(true) {
                    return Vec::new();
                }
                let out = out.iter().map(|t| t.0 as usize);
                out.filter(|&t| !waits.get(t).copied().unwrap_or(true)).collect()
            })
            .collect();
        for component in strongly_connected(&succ) {
            let Some(&first) = component.iter().min() else {
                continue;
            };
            let cyclic = component.len() > 1 || succ.get(first).is_some_and(|s| s.contains(&first));
            if !cyclic {
                continue;
            }
            // Walk inside the component from the first member until a node repeats.
            let mut path = vec![first];
            let mut at = first;
            while let Some(&next) = succ
                .get(at)
                .and_then(|s| s.iter().find(|t| component.contains(t)))
            {
                let repeat = path.contains(&next);
                path.push(next);
                if repeat {
                    break;
                }
                at = next;
            }
            let names: Vec<&str> = path
                .iter()
                .filter_map(|&i| parsed.get(i).map(|p| p.name))
                .collect();
            if let Some(p) = parsed.get(first) {
                self.report(
                    p.key_mark,
                    Problem::InputFreeLoop {
                        cycle: names.join(" → "),
                    },
                );
            }
        }
    }
}

/// Tarjan's algorithm, iterative. Components come out in reverse topological order.
pub(crate) fn strongly_connected(succ: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let n = succ.len();
    let mut index: Vec<Option<usize>> = vec![None; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut next_index = 0;
    let mut out = Vec::new();
    for root in 0..n {
        if index[root].is_some() {
            continue;
        }
        let mut calls = vec![(root, 0usize)];
        index[root] = Some(next_index);
        low[root] = next_index;
        next_index += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some(&(v, pos)) = calls.last() {
            if let Some(&w) = succ[v].get(pos) {
                if let Some(top) = calls.last_mut() {
                    top.1 += 1;
                }
                match index[w] {
                    None => {
                        index[w] = Some(next_index);
                        low[w] = next_index;
                        next_index += 1;
                        stack.push(w);
                        on_stack[w] = true;
                        calls.push((w, 0));
                    }
                    Some(iw) if on_stack[w] => low[v] = low[v].min(iw),
                    Some(_) => {}
                }
            } else {
                calls.pop();
                if let Some(&(u, _)) = calls.last() {
                    low[u] = low[u].min(low[v]);
                }
                if Some(low[v]) == index[v] {
                    let mut component = Vec::new();
                    while let Some(w) = stack.pop() {
                        on_stack[w] = false;
                        component.push(w);
                        if w == v {
                            break;
                        }
                    }
                    out.push(component);
                }
            }
        }
    }
    out
}

/// Every scalar under `tree` that names a node.
fn loose_targets(tree: &Yaml, ids: &BTreeMap<&str, NodeId>, out: &mut Vec<NodeId>) {
    match &tree.value {
        Value::Scalar { text, .. } => out.extend(ids.get(text.as_str()).copied()),
        Value::Seq(items) => items.iter().for_each(|item| loose_targets(item, ids, out)),
        Value::Map(entries) => entries.iter().for_each(|e| loose_targets(&e.value, ids, out)),
    }
}

/// Variables set by verify_identity (besides `customer_<attribute>`).
pub(crate) const VERIFY_VARIABLES: [&str; 4] = ["verified", "verify_method", "customer_id", "ani_match"];

/// Variables some node assigns, the declared ones, and the built-ins. With a verify_identity
/// node, every `customer_<attribute>` counts as known too.
pub(crate) struct KnownVariables {
    names: BTreeSet<String>,
    customer_attributes: bool,
}

impl KnownVariables {
    pub(crate) fn contains(&self, name: &str) -> bool {
        self.names.contains(name) || (self.customer_attributes && name.starts_with("customer_"))
    }
}

fn known_variables(parsed: &[Parsed<'_>], decls: &Declarations) -> KnownVariables {
    let mut names: BTreeSet<String> = BUILTIN_VARIABLES.iter().map(|v| (*v).to_owned()).collect();
    names.extend(decls.variables.keys().cloned());
    let mut customer_attributes = false;
    for node in parsed.iter().filter_map(|p| p.node.as_ref()) {
        match node {
            Node::Collect(c) => {
                names.insert(c.variable.clone());
            }
            Node::Menu(m) => names.extend(m.variable.clone()),
            Node::Set(s) => names.extend(s.variables.keys().cloned()),
            Node::Http(h) => names.extend(h.map.keys().cloned()),
            Node::VerifyIdentity(_) => {
                names.extend(VERIFY_VARIABLES.iter().map(|v| (*v).to_owned()));
                customer_attributes = true;
            }
            _ => {}
        }
    }
    KnownVariables {
        names,
        customer_attributes,
    }
}
