//! Checks and compiles one node of each kind.

use std::collections::BTreeMap;

use media::Digit;

use super::yaml::{Value, Yaml};
use super::{
    DEFAULT_ATTEMPTS, DEFAULT_FIRST_DIGIT_TIMEOUT, DEFAULT_HANGUP_REASON, DEFAULT_HTTP_TIMEOUT,
    DEFAULT_INTER_DIGIT_TIMEOUT, DEFAULT_MENU_TIMEOUT, DEFAULT_MIN_DIGITS, DEFAULT_RETRIES, Declarations,
    KnownVariables, Loader, key_mark_at, mark_at, when,
};
use crate::diagnostic::{Mark, Problem};
use crate::flow::{self, DigitInput, Kind, MenuChoice, NodeId, SubflowSlot};
use crate::limits::{
    MAX_ATTEMPTS, MAX_DIGITS, MAX_HTTP_RETRIES, MAX_MENU_OPTIONS, MAX_NAME_LEN, MAX_PRIORITY, MAX_RETRIES,
    MAX_SKILL_LEVEL,
};
use crate::model::{self, AniPolicy, HttpMethod, LookupSpec, Node};
use crate::template::{Template, is_variable_name};

/// Checks and compiles one node.
pub(crate) struct NodeCtx<'l, 'a> {
    pub(crate) loader: &'l mut Loader<'a>,
    pub(crate) ids: &'l BTreeMap<&'l str, NodeId>,
    pub(crate) known_vars: &'l KnownVariables,
    pub(crate) decls: &'l Declarations,
    pub(crate) subflows: &'l mut Vec<SubflowSlot>,
    /// Targets that resolved, for the graph checks.
    pub(crate) edges: Vec<NodeId>,
}

/// The digit-input keys shared by collect and verify_identity.
struct InputKeys<'m> {
    min_digits: Option<u32>,
    max_digits: u32,
    terminator: Option<&'m String>,
    first_digit_timeout: Option<model::Duration>,
    inter_digit_timeout: Option<model::Duration>,
    barge_in: Option<bool>,
}

impl NodeCtx<'_, '_> {
    pub(crate) fn report(&mut self, mark: Mark, problem: Problem) {
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

    fn target_at(&mut self, tree: &Yaml, key: &str, name: &str) -> NodeId {
        self.target(name, mark_at(tree, key))
    }

    fn optional_target(&mut self, tree: &Yaml, key: &str, name: Option<&String>) -> Option<NodeId> {
        name.map(|n| self.target(n, mark_at(tree, key)))
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
        } else if !(self.loader.ctx.prompts)(name) {
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
        self.loader.check_variable(name, mark);
    }

    /// Reports a variable that no node sets and the flow does not declare.
    pub(crate) fn known_variable(&mut self, name: &str, mark: Mark) {
        if !self.known_vars.contains(name) {
            self.report(
                mark,
                Problem::UnknownVariable {
                    name: name.to_owned(),
                },
            );
        }
    }

    /// Parses a `${name}` template and checks its variables; `extra` names are allowed too.
    fn template(&mut self, text: &str, mark: Mark, extra: &[&str]) -> Template {
        match Template::parse(text) {
            Ok(template) => {
                let unknown: Vec<String> = template
                    .variables()
                    .filter(|v| !extra.contains(v) && !self.known_vars.contains(v))
                    .map(str::to_owned)
                    .collect();
                for name in unknown {
                    self.report(mark, Problem::UnknownVariable { name });
                }
                template
            }
            Err(problem) => {
                self.report(mark, problem);
                Template::literal(text)
            }
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

    fn http_retries(&mut self, tree: &Yaml, retries: Option<u32>) -> u32 {
        let retries = retries.unwrap_or(0);
        if retries > MAX_HTTP_RETRIES {
            self.report(
                mark_at(tree, "retries"),
                Problem::HttpRetriesRange {
                    limit: MAX_HTTP_RETRIES,
                },
            );
        }
        retries
    }

    pub(crate) fn compile(&mut self, tree: &Yaml, node: &Node) -> Kind {
        match node {
            Node::Play(p) => self.play(tree, p),
            Node::Menu(m) => Kind::Menu(self.menu(tree, m)),
            Node::Collect(c) => Kind::Collect(self.collect(tree, c)),
            Node::VerifyIdentity(v) => Kind::Verify(self.verify(tree, v)),
            Node::Http(h) => Kind::Http(self.http(tree, h)),
            Node::Set(s) => self.set(tree, s),
            Node::Switch(s) => self.switch(tree, s),
            Node::Enqueue(e) => Kind::Enqueue(self.enqueue(tree, e)),
            Node::Transfer(t) => self.transfer(tree, t),
            Node::Goto(g) => Kind::Goto {
                target: self.target_at(tree, "target", &g.target),
            },
            Node::Subflow(s) => self.subflow(tree, s),
            Node::Return(_) => Kind::Return,
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
                list.iter()
                    .enumerate()
                    .map(|(i, name)| (name.clone(), super::item_mark(tree, "prompts", i)))
                    .collect()
            }
        };
        for (name, mark) in &prompts {
            self.prompt(name, *mark);
        }
        if let Some(var) = &p.say_digits {
            let mark = mark_at(tree, "say_digits");
            self.known_variable(var, mark);
            if let Some(missing) = DIGIT_PROMPTS.iter().find(|d| !(self.loader.ctx.prompts)(d)) {
                self.report(
                    mark,
                    Problem::MissingDigitPrompt {
                        name: (*missing).to_owned(),
                    },
                );
            }
        }
        let next = self.optional_target(tree, "next", p.next.as_ref());
        Kind::Play {
            prompts: prompts.into_iter().map(|(n, _)| n).collect(),
            say_digits: p.say_digits.clone(),
            barge_in: p.barge_in.unwrap_or(false),
            next,
        }
    }

    fn digit_input(&mut self, tree: &Yaml, keys: &InputKeys<'_>) -> DigitInput {
        if keys.max_digits == 0 || keys.max_digits > MAX_DIGITS {
            self.report(
                mark_at(tree, "max_digits"),
                Problem::MaxDigitsRange { limit: MAX_DIGITS },
            );
        }
        let min_digits = keys.min_digits.unwrap_or(DEFAULT_MIN_DIGITS);
        if min_digits > keys.max_digits {
            let mark = tree
                .get("min_digits")
                .map_or_else(|| mark_at(tree, "max_digits"), |t| t.mark);
            self.report(
                mark,
                Problem::MinAboveMax {
                    min: min_digits,
                    max: keys.max_digits,
                },
            );
        }
        let terminator = keys.terminator.and_then(|t| {
            let key = keypad_key(t);
            if key.is_none() {
                self.report(
                    mark_at(tree, "terminator"),
                    Problem::BadTerminator { key: t.clone() },
                );
            }
            key
        });
        DigitInput {
            min_digits: min_digits as usize,
            max_digits: keys.max_digits as usize,
            terminator,
            first_digit_timeout: keys
                .first_digit_timeout
                .map_or(DEFAULT_FIRST_DIGIT_TIMEOUT, |d| d.0),
            inter_digit_timeout: keys
                .inter_digit_timeout
                .map_or(DEFAULT_INTER_DIGIT_TIMEOUT, |d| d.0),
            barge_in: keys.barge_in.unwrap_or(true),
        }
    }

    fn collect(&mut self, tree: &Yaml, c: &model::CollectNode) -> flow::Collect {
        let prompt = self.optional_prompt(tree, "prompt", c.prompt.as_ref());
        let invalid_prompt = self.optional_prompt(tree, "invalid_prompt", c.invalid_prompt.as_ref());
        let timeout_prompt = self.optional_prompt(tree, "timeout_prompt", c.timeout_prompt.as_ref());
        self.variable(&c.variable, mark_at(tree, "variable"));
        let input = self.digit_input(
            tree,
            &InputKeys {
                min_digits: c.min_digits,
                max_digits: c.max_digits,
                terminator: c.terminator.as_ref(),
                first_digit_timeout: c.first_digit_timeout,
                inter_digit_timeout: c.inter_digit_timeout,
                barge_in: c.barge_in,
            },
        );
        let pattern = c.pattern.as_ref().and_then(|p| match compile_pattern(p) {
            Ok(re) => Some(re),
            Err(message) => {
                self.report(mark_at(tree, "pattern"), Problem::BadPattern(message));
                None
            }
        });
        let retries = self.retries(tree, c.retries);
        let next = self.target_at(tree, "next", &c.next);
        let on_fail = self.target_at(tree, "on_fail", &c.on_fail);
        let on_timeout = self
            .optional_target(tree, "on_timeout", c.on_timeout.as_ref())
            .unwrap_or(on_fail);
        flow::Collect {
            prompt,
            variable: c.variable.clone(),
            input,
            retries,
            pattern,
            invalid_prompt,
            timeout_prompt,
            store: c.store.unwrap_or(false),
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
        let store = m.store.unwrap_or(false);
        if store && m.variable.is_none() {
            self.report(mark_at(tree, "store"), Problem::StoreNeedsVariable);
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
        let on_fail = self.target_at(tree, "on_fail", &m.on_fail);
        let on_timeout = self
            .optional_target(tree, "on_timeout", m.on_timeout.as_ref())
            .unwrap_or(on_fail);
        flow::Menu {
            prompt,
            title: m.title.clone(),
            options,
            variable: m.variable.clone(),
            timeout: m.timeout.map_or(DEFAULT_MENU_TIMEOUT, |d| d.0),
            retries,
            barge_in: m.barge_in.unwrap_or(true),
            invalid_prompt,
            timeout_prompt,
            store,
            on_timeout,
            on_fail,
        }
    }

    fn verify(&mut self, tree: &Yaml, v: &model::VerifyIdentityNode) -> flow::Verify {
        let prompt = self.optional_prompt(tree, "prompt", v.prompt.as_ref());
        let invalid_prompt = self.optional_prompt(tree, "invalid_prompt", v.invalid_prompt.as_ref());
        let timeout_prompt = self.optional_prompt(tree, "timeout_prompt", v.timeout_prompt.as_ref());
        let lookup_tree = tree.get("lookup").unwrap_or(tree);
        let lookup = match &v.lookup {
            LookupSpec::Static(name) => {
                let mark = mark_at(lookup_tree, "static");
                if !(self.loader.ctx.static_lists)(name) {
                    self.report(mark, Problem::UnknownStaticList { name: name.clone() });
                }
                flow::Lookup::Static(name.clone())
            }
            LookupSpec::Table(name) => {
                if !is_variable_name(name) || name.chars().count() > MAX_NAME_LEN {
                    self.report(
                        mark_at(lookup_tree, "table"),
                        Problem::InvalidTable { name: name.clone() },
                    );
                }
                flow::Lookup::Table(name.clone())
            }
            LookupSpec::Http(h) => {
                let http_tree = lookup_tree.get("http").unwrap_or(lookup_tree);
                let url = self.url(http_tree, &h.url, &["key"]);
                let retries = self.http_retries(http_tree, h.retries);
                flow::Lookup::Http {
                    url,
                    timeout: h.timeout.map_or(DEFAULT_HTTP_TIMEOUT, |d| d.0),
                    retries,
                }
            }
        };
        let attempts = v.attempts.unwrap_or(DEFAULT_ATTEMPTS);
        if attempts == 0 || attempts > MAX_ATTEMPTS {
            self.report(
                mark_at(tree, "attempts"),
                Problem::AttemptsRange { limit: MAX_ATTEMPTS },
            );
        }
        let input = self.digit_input(
            tree,
            &InputKeys {
                min_digits: v.min_digits,
                max_digits: v.max_digits,
                terminator: v.terminator.as_ref(),
                first_digit_timeout: v.first_digit_timeout,
                inter_digit_timeout: v.inter_digit_timeout,
                barge_in: v.barge_in,
            },
        );
        let on_success = self.target_at(tree, "on_success", &v.on_success);
        let on_failure = self.target_at(tree, "on_failure", &v.on_failure);
        let on_error = self
            .optional_target(tree, "on_error", v.on_error.as_ref())
            .unwrap_or(on_failure);
        flow::Verify {
            ask: v.ask,
            lookup,
            ani: v.ani.unwrap_or(AniPolicy::Record),
            prompt,
            attempts,
            input,
            invalid_prompt,
            timeout_prompt,
            on_success,
            on_failure,
            on_error,
        }
    }

    /// A URL template: its literal start must be `http://` or `https://` (unless it starts with
    /// a variable).
    fn url(&mut self, tree: &Yaml, url: &str, extra: &[&str]) -> Template {
        let mark = mark_at(tree, "url");
        let template = self.template(url, mark, extra);
        let scheme_ok = url.starts_with("${")
            || url.get(..8).is_some_and(|s| s.eq_ignore_ascii_case("https://"))
            || url.get(..7).is_some_and(|s| s.eq_ignore_ascii_case("http://"));
        if !scheme_ok || url.len() <= "http://".len() {
            self.report(mark, Problem::BadUrl { url: url.to_owned() });
        }
        template
    }

    fn http(&mut self, tree: &Yaml, h: &model::HttpNode) -> flow::Http {
        let method = h.method.unwrap_or(HttpMethod::Get);
        let url = self.url(tree, &h.url, &[]);
        let mut headers = Vec::new();
        let headers_tree = tree.get("headers");
        for (name, value) in &h.headers {
            let entry = headers_tree.and_then(|t| t.entry(name));
            let key_mark = entry.map_or(tree.mark, |e| e.key_mark);
            let value_mark = entry.map_or(tree.mark, |e| e.value.mark);
            let token = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
            if !token {
                self.report(key_mark, Problem::BadHeaderName { name: name.clone() });
            }
            let value = self.template(value, value_mark, &[]);
            headers.push((name.clone(), value));
        }
        if h.body.is_some() && method != HttpMethod::Post {
            self.report(key_mark_at(tree, "body"), Problem::BodyWithoutPost);
        }
        if let Some(body_tree) = tree.get("body") {
            self.body_templates(body_tree);
        }
        let retries = self.http_retries(tree, h.retries);
        let mut map = Vec::new();
        let map_tree = tree.get("map");
        for (variable, path) in &h.map {
            let entry = map_tree.and_then(|t| t.entry(variable));
            let key_mark = entry.map_or(tree.mark, |e| e.key_mark);
            let value_mark = entry.map_or(tree.mark, |e| e.value.mark);
            self.variable(variable, key_mark);
            let segments: Vec<String> = path.split('.').map(str::to_owned).collect();
            if segments.iter().any(String::is_empty) {
                self.report(value_mark, Problem::BadPath { path: path.clone() });
            }
            map.push((variable.clone(), segments));
        }
        let next = self.target_at(tree, "next", &h.next);
        let on_failure = self.target_at(tree, "on_failure", &h.on_failure);
        flow::Http {
            method,
            url,
            headers,
            body: h.body.clone(),
            timeout: h.timeout.map_or(DEFAULT_HTTP_TIMEOUT, |d| d.0),
            retries,
            map,
            next,
            on_failure,
        }
    }

    /// Checks the `${…}` in every string of a JSON body.
    fn body_templates(&mut self, tree: &Yaml) {
        match &tree.value {
            Value::Scalar { text, .. } => {
                self.template(text, tree.mark, &[]);
            }
            Value::Seq(items) => items.iter().for_each(|item| self.body_templates(item)),
            Value::Map(entries) => entries.iter().for_each(|e| self.body_templates(&e.value)),
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
            let template = self.template(value, value_mark, &[]);
            assignments.push((name.clone(), template));
        }
        let next = self.optional_target(tree, "next", s.next.as_ref());
        Kind::Set { assignments, next }
    }

    fn switch(&mut self, tree: &Yaml, s: &model::SwitchNode) -> Kind {
        if s.cases.is_empty() {
            self.report(mark_at(tree, "cases"), Problem::EmptySwitch);
        }
        let mut cases = Vec::new();
        for (i, case) in s.cases.iter().enumerate() {
            let case_tree = tree.get("cases").and_then(|t| t.index(i)).unwrap_or(tree);
            let when_tree = case_tree.get("when").unwrap_or(case_tree);
            let cond = when::condition(self, when_tree, &case.when);
            let next = self.target_at(case_tree, "next", &case.next);
            cases.push((cond, next));
        }
        let default = self.target_at(tree, "default", &s.default);
        Kind::Switch { cases, default }
    }

    pub(crate) fn calendar_id(&self, name: &str) -> Option<usize> {
        self.decls.calendar_ids.get(name).copied()
    }

    fn enqueue(&mut self, tree: &Yaml, e: &model::EnqueueNode) -> flow::Enqueue {
        self.loader.check_name("queue", &e.queue, mark_at(tree, "queue"));
        let priority = e.priority.unwrap_or(0);
        if priority > MAX_PRIORITY {
            self.report(
                mark_at(tree, "priority"),
                Problem::PriorityRange { limit: MAX_PRIORITY },
            );
        }
        let skills_tree = tree.get("skills");
        let mut skills = Vec::new();
        for (name, level) in &e.skills {
            let entry = skills_tree.and_then(|t| t.entry(name));
            let key_mark = entry.map_or(tree.mark, |e| e.key_mark);
            let value_mark = entry.map_or(tree.mark, |e| e.value.mark);
            self.loader.check_name("skill", name, key_mark);
            if *level > MAX_SKILL_LEVEL {
                self.report(
                    value_mark,
                    Problem::SkillLevelRange {
                        limit: MAX_SKILL_LEVEL,
                    },
                );
            }
            skills.push((name.clone(), *level));
        }
        let on_left = self.target_at(tree, "on_left", &e.on_left);
        let on_timeout = self
            .optional_target(tree, "on_timeout", e.on_timeout.as_ref())
            .unwrap_or(on_left);
        flow::Enqueue {
            queue: e.queue.clone(),
            priority,
            skills,
            timeout: e.timeout.map(|d| d.0),
            on_timeout,
            on_left,
        }
    }

    fn transfer(&mut self, tree: &Yaml, t: &model::TransferNode) -> Kind {
        let mark = mark_at(tree, "to");
        let to = self.template(&t.to, mark, &[]);
        if !t.to.contains("${") && !valid_transfer_target(&t.to) {
            self.report(mark, Problem::BadTransferTarget { to: t.to.clone() });
        }
        Kind::Transfer { to }
    }

    fn subflow(&mut self, tree: &Yaml, s: &model::SubflowNode) -> Kind {
        let mark = mark_at(tree, "flow");
        self.loader.check_name("flow", &s.flow, mark);
        if !(self.loader.ctx.flows)(&s.flow) {
            self.report(mark, Problem::UnknownFlow { name: s.flow.clone() });
        }
        let slot = self.subflows.len();
        self.subflows.push(SubflowSlot {
            name: s.flow.clone(),
            mark,
            flow: None,
        });
        let next = self.optional_target(tree, "next", s.next.as_ref());
        Kind::Subflow { slot, next }
    }
}

/// `sip:…`, `sips:…`, `tel:…` (no spaces) or a dial string `+?[0-9*#]+`.
fn valid_transfer_target(to: &str) -> bool {
    let lower = to.to_ascii_lowercase();
    for scheme in ["sip:", "sips:", "tel:"] {
        if let Some(rest) = lower.strip_prefix(scheme) {
            return !rest.is_empty() && !rest.chars().any(char::is_whitespace);
        }
    }
    let digits = to.strip_prefix('+').unwrap_or(to);
    !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit() || c == '*' || c == '#')
}

/// The prompts `say_digits` needs.
pub(crate) const DIGIT_PROMPTS: [&str; 10] = [
    "digit-0", "digit-1", "digit-2", "digit-3", "digit-4", "digit-5", "digit-6", "digit-7", "digit-8",
    "digit-9",
];

/// One key of a phone keypad (`0`-`9`, `*`, `#`, `A`-`D`, letters in either case).
pub(crate) fn keypad_key(text: &str) -> Option<Digit> {
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => Digit::from_char(c),
        _ => None,
    }
}

/// Compiles a validation pattern, with a size limit; the error is one line.
pub(crate) fn compile_pattern(pattern: &str) -> Result<regex::Regex, String> {
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
