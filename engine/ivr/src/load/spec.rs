//! The `tests:` a flow file carries: checked at load like the nodes.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use jiff::tz::TimeZone;
use media::Digit;

use super::yaml::{Value, Yaml};
use super::{Loader, item_mark, mark_at};
use crate::diagnostic::Problem;
use crate::flow::NodeId;
use crate::limits::{MAX_TEST_STEPS, MAX_TESTS};
use crate::model::{FlowTest, QueueMock, TestStep};
use crate::testing::{Step, TestSpec};

/// The default wall time of a test: Monday 2025-01-06, noon UTC.
pub(crate) const DEFAULT_TEST_TIME: &str = "2025-01-06T12:00:00Z";

/// Checks every test; the compiled tests and their models (in file order).
pub(crate) fn tests(
    loader: &mut Loader<'_>,
    root: &Yaml,
    ids: &BTreeMap<&str, NodeId>,
    subflows: &BTreeSet<String>,
) -> (Vec<TestSpec>, Vec<FlowTest>) {
    let mut specs = Vec::new();
    let mut models = Vec::new();
    let Some(tree) = root.get("tests").filter(|t| !t.is_null()) else {
        return (specs, models);
    };
    let Value::Seq(items) = &tree.value else {
        loader.report(
            tree.mark,
            Problem::TestShape("`tests` must be a list of tests".into()),
        );
        return (specs, models);
    };
    if let Some(extra) = items.get(MAX_TESTS) {
        loader.report(
            extra.mark,
            Problem::TooManyTests {
                count: items.len(),
                limit: MAX_TESTS,
            },
        );
        return (specs, models);
    }
    let mut names = BTreeSet::new();
    for item in items {
        let Some(test) = loader.piece::<FlowTest>(item, &[], item.mark, Problem::TestShape) else {
            continue;
        };
        if !names.insert(test.name.clone()) {
            loader.report(
                mark_at(item, "name"),
                Problem::DuplicateTest {
                    name: test.name.clone(),
                },
            );
        }
        if let Some(spec) = compile(loader, item, &test, ids, subflows) {
            specs.push(spec);
        }
        models.push(test);
    }
    (specs, models)
}

fn compile(
    loader: &mut Loader<'_>,
    tree: &Yaml,
    test: &FlowTest,
    ids: &BTreeMap<&str, NodeId>,
    subflows: &BTreeSet<String>,
) -> Option<TestSpec> {
    let before = loader.problems.len();
    let at_text = test.at.as_deref().unwrap_or(DEFAULT_TEST_TIME);
    let at = match at_text.parse::<Timestamp>() {
        Ok(at) => Some(at),
        Err(_) => {
            loader.report(
                mark_at(tree, "at"),
                Problem::BadTimestamp {
                    text: at_text.to_owned(),
                },
            );
            None
        }
    };
    let time_zone = test.timezone.as_ref().and_then(|name| match TimeZone::get(name) {
        Ok(tz) => Some(tz),
        Err(_) => {
            loader.report(
                mark_at(tree, "timezone"),
                Problem::UnknownTimeZone { name: name.clone() },
            );
            None
        }
    });
    if let Some(extra) = tree.get("input").and_then(|t| t.index(MAX_TEST_STEPS)) {
        loader.report(
            extra.mark,
            Problem::TooManySteps {
                count: test.input.len(),
                limit: MAX_TEST_STEPS,
            },
        );
    }
    let mut input = Vec::new();
    for (i, step) in test.input.iter().enumerate() {
        match step {
            TestStep::Digits(keys) => {
                let mark = tree
                    .get("input")
                    .and_then(|t| t.index(i))
                    .and_then(|t| t.get("digits"))
                    .map_or(tree.mark, |t| t.mark);
                let mut digits = Vec::new();
                for c in keys.chars() {
                    match Digit::from_char(c) {
                        Some(d) => digits.push(d),
                        None => loader.report(mark, Problem::BadDigit { key: c }),
                    }
                }
                input.push(Step::Digits(digits));
            }
            TestStep::Wait(d) => input.push(Step::Wait(d.0)),
        }
    }
    let expect_tree = tree.get("expect").unwrap_or(tree);
    if let Some(path) = &test.expect.path {
        for (i, name) in path.iter().enumerate() {
            let known = match name.split_once('/') {
                Some((flow, _)) => subflows.contains(flow),
                None => ids.contains_key(name.as_str()),
            };
            if !known {
                loader.report(
                    item_mark(expect_tree, "path", i),
                    Problem::UnknownPathNode { name: name.clone() },
                );
            }
        }
    }
    if let Some(prompts) = &test.expect.prompts {
        for (i, name) in prompts.iter().enumerate() {
            if !(loader.ctx.prompts)(name) {
                loader.report(
                    item_mark(expect_tree, "prompts", i),
                    Problem::UnknownPrompt { name: name.clone() },
                );
            }
        }
    }
    for (key, map) in [
        ("variables", &test.expect.variables),
        ("record", &test.expect.record),
    ] {
        let map_tree = expect_tree.get(key);
        for name in map.keys() {
            let mark = map_tree
                .and_then(|t| t.entry(name))
                .map_or(expect_tree.mark, |e| e.key_mark);
            loader.check_variable(name, mark);
        }
    }
    if loader.problems.len() > before {
        return None;
    }
    Some(TestSpec {
        name: test.name.clone(),
        caller: test.caller.clone(),
        callee: test.callee.clone(),
        at: at?,
        time_zone,
        input,
        lookups: test.lookups.clone(),
        http: test.http.clone(),
        queue: test.queue.clone().unwrap_or(QueueMock::Connected),
        expect: test.expect.clone(),
    })
}
