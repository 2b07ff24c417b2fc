//! Loader and validator: flow text in, a compiled [`Flow`] or every problem out.
//!
//! Three passes, so that one mistake does not hide the next:
//! 1. YAML → located tree ([`yaml`]): syntax errors, duplicate keys, size and nesting limits.
//! 2. Tree → [`model`](crate::model) types, one node at a time ([`de`]): unknown keys, wrong
//!    types, bad durations. A node that fails here is reported and skipped; the others go on.
//! 3. Semantic checks and compilation: dangling targets, missing start, unreachable nodes,
//!    loops that never wait, keypad keys, patterns, digit bounds, prompts, variables, limits.
//!
//! All problems are returned at once, sorted by position, each as `file:line:col: message`.

mod de;
#[cfg(test)]
pub(crate) mod tests;
pub(crate) mod yaml;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::Path;
use std::time::Duration;

use media::Digit;
use serde::Deserialize;

use self::yaml::{Located, Value, Yaml};
use crate::diagnostic::{Diagnostic, Mark, Problem};
use crate::flow::{self, CNode, Flow, Kind, MenuChoice, NodeId};
use crate::limits::{MAX_DIGITS, MAX_FILE_SIZE, MAX_MENU_OPTIONS, MAX_NAME_LEN, MAX_NODES, MAX_RETRIES};
use crate::model::{self, FlowFile, Node};
use crate::template::{BUILTIN_VARIABLES, Template, is_variable_name};

/// Default `min_digits` of a collect node.
pub const DEFAULT_MIN_DIGITS: u32 = 1;
/// Default `first_digit_timeout` of a collect node.
pub const DEFAULT_FIRST_DIGIT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default `inter_digit_timeout` of a collect node.
pub const DEFAULT_INTER_DIGIT_TIMEOUT: Duration = Duration::from_secs(3);
/// Default `timeout` of a menu node.
pub const DEFAULT_MENU_TIMEOUT: Duration = Duration::from_secs(5);
/// Default `retries` of collect and menu nodes.
pub const DEFAULT_RETRIES: u32 = 2;
/// Default `reason` of a hangup node.
pub const DEFAULT_HANGUP_REASON: &str = "hangup";

/// Loads and checks a flow from its text. `file` names it in diagnostics; `prompts` says
/// whether a prompt name exists in the prompt catalog.
pub fn load_str(source: &str, file: &str, prompts: &dyn Fn(&str) -> bool) -> Result<Flow, Vec<Diagnostic>> {
    Loader::new(file, prompts, true).load(source)
}

/// Reads and loads a flow file (at most [`MAX_FILE_SIZE`] bytes of UTF-8).
pub fn load_file(path: &Path, prompts: &dyn Fn(&str) -> bool) -> Result<Flow, Vec<Diagnostic>> {
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
        Ok(text) => load_str(&text, &file, prompts),
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
    prompts: &dyn Fn(&str) -> bool,
) -> Result<Flow, Vec<Diagnostic>> {
    Loader::new("test.yaml", prompts, false).load(source)
}

fn clamp(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn diagnostic(file: &str, mark: Mark, problem: &Problem) -> Diagnostic {
    Diagnostic {
        file: file.to_owned(),
        line: mark.line,
        col: mark.col,
        message: problem.to_string(),
    }
}

/// The top level, without the nodes (those are read one by one).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    flow: String,
    start: String,
    #[expect(dead_code, reason = "only checked for presence; nodes are read from the tree")]
    nodes: serde::de::IgnoredAny,
}

/// A node as read from the tree.
struct Parsed<'t> {
    name: &'t str,
    key_mark: Mark,
    tree: &'t Yaml,
    node: Option<Node>,
}

struct Loader<'a> {
    file: &'a str,
    prompts: &'a dyn Fn(&str) -> bool,
    check_loops: bool,
    problems: Vec<Located>,
}

fn mark_at(tree: &Yaml, key: &str) -> Mark {
    tree.get(key).map_or(tree.mark, |v| v.mark)
}

fn key_mark_at(tree: &Yaml, key: &str) -> Mark {
    tree.entry(key).map_or(tree.mark, |e| e.key_mark)
}

impl<'a> Loader<'a> {
    fn new(file: &'a str, prompts: &'a dyn Fn(&str) -> bool, check_loops: bool) -> Self {
        Self {
            file,
            prompts,
            check_loops,
            problems: Vec::new(),
        }
    }

    fn report(&mut self, mark: Mark, problem: Problem) {
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
        let known_vars = known_variables(&parsed);
        let mut compiled = Vec::with_capacity(parsed.len());
        let mut edges = Vec::with_capacity(parsed.len());
        let mut waits = Vec::with_capacity(parsed.len());
        for p in &parsed {
            self.check_name("node", p.name, p.key_mark);
            let mut ctx = NodeCtx {
                loader: &mut self,
                ids: &ids,
                known_vars: &known_vars,
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
            version: flow::content_hash(source),
            source_file: self.file.to_owned(),
            start,
            nodes,
            model: FlowFile {
                flow: header.flow.clone(),
                start: header.start,
                nodes: model_nodes,
            },
            name: header.flow,
        })
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
        let result = match kind_name {
            "play" => de::from_yaml(tree, skip).map(Node::Play),
            "collect" => de::from_yaml(tree, skip).map(Node::Collect),
            "menu" => de::from_yaml(tree, skip).map(Node::Menu),
            "goto" => de::from_yaml(tree, skip).map(Node::Goto),
            "set" => de::from_yaml(tree, skip).map(Node::Set),
            "hangup" => de::from_yaml(tree, skip).map(Node::Hangup),
            _ => {
                self.report(
                    kind.mark,
                    Problem::UnknownType {
                        found: kind_name.to_owned(),
                        expected: expected(),
                    },
                );
                return None;
            }
        };
        match result {
            Ok(node) => Some(node),
            Err(e) => {
                // A missing field is reported at the node's name, not at its first key.
                let mark = match e.mark {
                    Some(m) if m != tree.mark => m,
                    _ => key_mark,
                };
                self.report(
                    mark,
                    Problem::NodeShape {
                        node: name.to_owned(),
                        message: e.message,
                    },
                );
                None
            }
        }
    }

    fn check_name(&mut self, what: &'static str, name: &str, mark: Mark) {
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
fn strongly_connected(succ: &[Vec<usize>]) -> Vec<Vec<usize>> {
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

/// Variables some node assigns, plus the built-ins.
fn known_variables(parsed: &[Parsed<'_>]) -> BTreeSet<String> {
    let mut vars: BTreeSet<String> = BUILTIN_VARIABLES.iter().map(|v| (*v).to_owned()).collect();
    for node in parsed.iter().filter_map(|p| p.node.as_ref()) {
        match node {
            Node::Collect(c) => {
                vars.insert(c.variable.clone());
            }
            Node::Menu(m) => vars.extend(m.variable.clone()),
            Node::Set(s) => vars.extend(s.variables.keys().cloned()),
            Node::Play(_) | Node::Goto(_) | Node::Hangup(_) => {}
        }
    }
    vars
}

/// Checks and compiles one node.
struct NodeCtx<'l, 'a> {
    loader: &'l mut Loader<'a>,
    ids: &'l BTreeMap<&'l str, NodeId>,
    known_vars: &'l BTreeSet<String>,
    /// Targets that resolved, for the graph checks.
    edges: Vec<NodeId>,
}

impl NodeCtx<'_, '_> {
    fn report(&mut self, mark: Mark, problem: Problem) {
        self.loader.report(mark, problem);
    }

    /// Resolves a target name. A dangling one is reported; the returned id is then a
    /// placeholder that is never run (the load fails).
    fn target(&mut self, name: &str, mark: Mark) -> NodeId {
        match self.ids.get(name) {
            Some(&id) => {
                self.edges.push(id);
                id
            }
            None => {
                self.report(
                    mark,
                    Problem::UnknownNode {
                        target: name.to_owned(),
                    },
                );
                NodeId(0)
            }
        }
    }

    fn prompt(&mut self, name: &str, mark: Mark) {
        let len = name.chars().count();
        if len > MAX_NAME_LEN {
            self.report(
                mark,
                Problem::NameTooLong {
                    what: "prompt",
                    len,
                    limit: MAX_NAME_LEN,
                },
            );
        } else if !(self.loader.prompts)(name) {
            self.report(
                mark,
                Problem::UnknownPrompt {
                    name: name.to_owned(),
                },
            );
        }
    }

    fn optional_prompt(&mut self, tree: &Yaml, key: &str, name: Option<&String>) -> Option<String> {
        let name = name?;
        self.prompt(name, mark_at(tree, key));
        Some(name.clone())
    }

    fn variable(&mut self, name: &str, mark: Mark) {
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

    fn retries(&mut self, tree: &Yaml, retries: Option<u32>) -> u32 {
        let retries = retries.unwrap_or(DEFAULT_RETRIES);
        if retries > MAX_RETRIES {
            self.report(
                mark_at(tree, "retries"),
                Problem::RetriesRange { limit: MAX_RETRIES },
            );
        }
        retries
    }

    fn compile(&mut self, tree: &Yaml, node: &Node) -> Kind {
        match node {
            Node::Play(p) => self.play(tree, p),
            Node::Collect(c) => Kind::Collect(self.collect(tree, c)),
            Node::Menu(m) => Kind::Menu(self.menu(tree, m)),
            Node::Goto(g) => Kind::Goto {
                target: self.target(&g.target, mark_at(tree, "target")),
            },
            Node::Set(s) => self.set(tree, s),
            Node::Hangup(h) => Kind::Hangup {
                reason: h
                    .reason
                    .clone()
                    .unwrap_or_else(|| DEFAULT_HANGUP_REASON.to_owned()),
            },
        }
    }

    fn play(&mut self, tree: &Yaml, p: &model::PlayNode) -> Kind {
        let prompts: Vec<(String, Mark)> = match (&p.prompt, &p.prompts) {
            (Some(_), Some(_)) => {
                self.report(key_mark_at(tree, "prompts"), Problem::PromptAndPrompts);
                Vec::new()
            }
            (None, None) if p.say_digits.is_none() => {
                self.report(tree.mark, Problem::NoPrompt);
                Vec::new()
            }
            (None, None) => Vec::new(),
            (Some(one), None) => vec![(one.clone(), mark_at(tree, "prompt"))],
            (None, Some(list)) => {
                if list.is_empty() {
                    self.report(mark_at(tree, "prompts"), Problem::EmptyPrompts);
                }
                let list_tree = tree.get("prompts");
                list.iter()
                    .enumerate()
                    .map(|(i, name)| {
                        let mark = list_tree.and_then(|t| t.index(i)).map_or(tree.mark, |t| t.mark);
                        (name.clone(), mark)
                    })
                    .collect()
            }
        };
        for (name, mark) in &prompts {
            self.prompt(name, *mark);
        }
        if let Some(var) = &p.say_digits {
            let mark = mark_at(tree, "say_digits");
            if !self.known_vars.contains(var) {
                self.report(mark, Problem::UnknownVariable { name: var.clone() });
            }
            if let Some(missing) = DIGIT_PROMPTS.iter().find(|d| !(self.loader.prompts)(d)) {
                self.report(
                    mark,
                    Problem::MissingDigitPrompt {
                        name: (*missing).to_owned(),
                    },
                );
            }
        }
        let next = p.next.as_ref().map(|n| self.target(n, mark_at(tree, "next")));
        Kind::Play {
            prompts: prompts.into_iter().map(|(n, _)| n).collect(),
            say_digits: p.say_digits.clone(),
            next,
        }
    }

    fn collect(&mut self, tree: &Yaml, c: &model::CollectNode) -> flow::Collect {
        let prompt = self.optional_prompt(tree, "prompt", c.prompt.as_ref());
        let invalid_prompt = self.optional_prompt(tree, "invalid_prompt", c.invalid_prompt.as_ref());
        let timeout_prompt = self.optional_prompt(tree, "timeout_prompt", c.timeout_prompt.as_ref());
        self.variable(&c.variable, mark_at(tree, "variable"));
        if c.max_digits == 0 || c.max_digits > MAX_DIGITS {
            self.report(
                mark_at(tree, "max_digits"),
                Problem::MaxDigitsRange { limit: MAX_DIGITS },
            );
        }
        let min_digits = c.min_digits.unwrap_or(DEFAULT_MIN_DIGITS);
        if min_digits > c.max_digits {
            let mark = tree
                .get("min_digits")
                .map_or_else(|| mark_at(tree, "max_digits"), |t| t.mark);
            self.report(
                mark,
                Problem::MinAboveMax {
                    min: min_digits,
                    max: c.max_digits,
                },
            );
        }
        let terminator = c.terminator.as_ref().and_then(|t| {
            let key = keypad_key(t);
            if key.is_none() {
                self.report(
                    mark_at(tree, "terminator"),
                    Problem::BadTerminator { key: t.clone() },
                );
            }
            key
        });
        let pattern = c.pattern.as_ref().and_then(|p| match compile_pattern(p) {
            Ok(re) => Some(re),
            Err(message) => {
                self.report(mark_at(tree, "pattern"), Problem::BadPattern(message));
                None
            }
        });
        let retries = self.retries(tree, c.retries);
        let next = self.target(&c.next, mark_at(tree, "next"));
        let on_fail = self.target(&c.on_fail, mark_at(tree, "on_fail"));
        let on_timeout = match &c.on_timeout {
            Some(t) => self.target(t, mark_at(tree, "on_timeout")),
            None => on_fail,
        };
        flow::Collect {
            prompt,
            variable: c.variable.clone(),
            min_digits: min_digits as usize,
            max_digits: c.max_digits as usize,
            terminator,
            first_digit_timeout: c.first_digit_timeout.map_or(DEFAULT_FIRST_DIGIT_TIMEOUT, |d| d.0),
            inter_digit_timeout: c.inter_digit_timeout.map_or(DEFAULT_INTER_DIGIT_TIMEOUT, |d| d.0),
            retries,
            pattern,
            barge_in: c.barge_in.unwrap_or(true),
            invalid_prompt,
            timeout_prompt,
            next,
            on_timeout,
            on_fail,
        }
    }

    fn menu(&mut self, tree: &Yaml, m: &model::MenuNode) -> flow::Menu {
        let prompt = self.optional_prompt(tree, "prompt", m.prompt.as_ref());
        let invalid_prompt = self.optional_prompt(tree, "invalid_prompt", m.invalid_prompt.as_ref());
        let timeout_prompt = self.optional_prompt(tree, "timeout_prompt", m.timeout_prompt.as_ref());
        if let Some(v) = &m.variable {
            self.variable(v, mark_at(tree, "variable"));
        }
        let mut options: Vec<MenuChoice> = Vec::new();
        let options_tree = tree.get("options");
        let entries = match options_tree.map(|t| &t.value) {
            Some(Value::Map(entries)) => entries.as_slice(),
            _ => &[],
        };
        if entries.is_empty() {
            self.report(mark_at(tree, "options"), Problem::EmptyMenu);
        }
        if let Some(extra) = entries.get(MAX_MENU_OPTIONS) {
            let count = entries.len();
            self.report(
                extra.key_mark,
                Problem::TooManyOptions {
                    count,
                    limit: MAX_MENU_OPTIONS,
                },
            );
        }
        for entry in entries {
            let Some(option) = m.options.get(&entry.key) else {
                continue;
            };
            let next = self.target(&option.next, mark_at(&entry.value, "next"));
            let Some(key) = keypad_key(&entry.key) else {
                self.report(
                    entry.key_mark,
                    Problem::BadOptionKey {
                        key: entry.key.clone(),
                    },
                );
                continue;
            };
            if options.iter().any(|o| o.key == key) {
                self.report(entry.key_mark, Problem::DuplicateOption { key: key.as_char() });
                continue;
            }
            options.push(MenuChoice {
                key,
                label: option.label.clone(),
                next,
            });
        }
        let retries = self.retries(tree, m.retries);
        let on_fail = self.target(&m.on_fail, mark_at(tree, "on_fail"));
        let on_timeout = match &m.on_timeout {
            Some(t) => self.target(t, mark_at(tree, "on_timeout")),
            None => on_fail,
        };
        flow::Menu {
            prompt,
            options,
            variable: m.variable.clone(),
            timeout: m.timeout.map_or(DEFAULT_MENU_TIMEOUT, |d| d.0),
            retries,
            barge_in: m.barge_in.unwrap_or(true),
            invalid_prompt,
            timeout_prompt,
            on_timeout,
            on_fail,
        }
    }

    fn set(&mut self, tree: &Yaml, s: &model::SetNode) -> Kind {
        let vars_tree = tree.get("variables");
        if s.variables.is_empty() {
            self.report(mark_at(tree, "variables"), Problem::EmptySet);
        }
        let mut assignments = Vec::new();
        for (name, value) in &s.variables {
            let entry = vars_tree.and_then(|t| t.entry(name));
            let key_mark = entry.map_or(tree.mark, |e| e.key_mark);
            let value_mark = entry.map_or(tree.mark, |e| e.value.mark);
            self.variable(name, key_mark);
            match Template::parse(value) {
                Ok(template) => {
                    let unknown: Vec<String> = template
                        .variables()
                        .filter(|v| !self.known_vars.contains(*v))
                        .map(str::to_owned)
                        .collect();
                    for name in unknown {
                        self.report(value_mark, Problem::UnknownVariable { name });
                    }
                    assignments.push((name.clone(), template));
                }
                Err(problem) => self.report(value_mark, problem),
            }
        }
        let next = s.next.as_ref().map(|n| self.target(n, mark_at(tree, "next")));
        Kind::Set { assignments, next }
    }
}

/// The prompts `say_digits` needs.
pub(crate) const DIGIT_PROMPTS: [&str; 10] = [
    "digit-0", "digit-1", "digit-2", "digit-3", "digit-4", "digit-5", "digit-6", "digit-7", "digit-8",
    "digit-9",
];

/// One key of a phone keypad (`0`-`9`, `*`, `#`, `A`-`D`, letters in either case).
fn keypad_key(text: &str) -> Option<Digit> {
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => Digit::from_char(c),
        _ => None,
    }
}

/// Compiles a validation pattern, with a size limit; the error is one line.
fn compile_pattern(pattern: &str) -> Result<regex::Regex, String> {
    regex::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| {
            let text = e.to_string();
            let line = text
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("invalid regex");
            line.trim_start_matches("error: ").to_owned()
        })
}
