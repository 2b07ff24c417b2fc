//! Linking a set of loaded flows: every `subflow` node gets the flow it calls.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::diagnostic::{Diagnostic, Mark, Problem};
use crate::flow::Flow;
use crate::load::{diagnostic, strongly_connected};

/// Resolves every `subflow` reference of `flows` to the [`Arc`] of the called flow as loaded in
/// this same set, so that a running call keeps the versions it started with.
///
/// Returns the linked flows by name, and a diagnostic for every problem, at the `flow:` value
/// of the subflow node (or the `flow:` name of a duplicate): an unknown target, a cycle of
/// subflow calls (a flow that would call itself again without end), a flow defined twice (the
/// first one given wins). A flow with such a problem, or calling one, is left out of the map.
pub fn link(flows: Vec<Flow>) -> (BTreeMap<String, Arc<Flow>>, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let mut unique: Vec<Flow> = Vec::new();
    for flow in flows {
        if let Some(first) = unique.iter().find(|f| f.name == flow.name) {
            diags.push(diagnostic(
                &flow.source_file,
                flow.name_mark,
                &Problem::DuplicateFlow {
                    name: flow.name.clone(),
                    other: first.source_file.clone(),
                },
            ));
            continue;
        }
        unique.push(flow);
    }
    let index: BTreeMap<String, usize> = unique
        .iter()
        .enumerate()
        .map(|(i, f)| (f.name.clone(), i))
        .collect();
    let report = |diags: &mut Vec<Diagnostic>, flow: &Flow, mark: Mark, problem: Problem| {
        diags.push(diagnostic(&flow.source_file, mark, &problem));
    };

    // Unknown targets.
    let mut bad = vec![false; unique.len()];
    let mut succ: Vec<Vec<usize>> = vec![Vec::new(); unique.len()];
    for (i, flow) in unique.iter().enumerate() {
        for slot in &flow.subflows {
            match index.get(&slot.name) {
                Some(&j) => succ[i].push(j),
                None => {
                    bad[i] = true;
                    report(
                        &mut diags,
                        flow,
                        slot.mark,
                        Problem::UnknownFlow {
                            name: slot.name.clone(),
                        },
                    );
                }
            }
        }
    }

    // Cycles.
    for component in strongly_connected(&succ) {
        let Some(&first) = component.iter().min() else {
            continue;
        };
        let cyclic = component.len() > 1 || succ[first].contains(&first);
        if !cyclic {
            continue;
        }
        let mut path = vec![first];
        let mut at = first;
        while let Some(&next) = succ[at].iter().find(|t| component.contains(t)) {
            let repeat = path.contains(&next);
            path.push(next);
            if repeat {
                break;
            }
            at = next;
        }
        let cycle = path
            .iter()
            .map(|&i| unique[i].name.as_str())
            .collect::<Vec<_>>()
            .join(" → ");
        for &i in &component {
            bad[i] = true;
            let flow = &unique[i];
            for slot in &flow.subflows {
                if index.get(&slot.name).is_some_and(|j| component.contains(j)) {
                    report(
                        &mut diags,
                        flow,
                        slot.mark,
                        Problem::SubflowCycle { cycle: cycle.clone() },
                    );
                }
            }
        }
    }

    // Callers of bad flows are bad too.
    loop {
        let mut changed = false;
        for i in 0..unique.len() {
            if bad[i] {
                continue;
            }
            let flow = &unique[i];
            for slot in &flow.subflows {
                if index.get(&slot.name).is_some_and(|&j| bad[j]) {
                    if !bad[i] {
                        changed = true;
                    }
                    bad[i] = true;
                    report(
                        &mut diags,
                        flow,
                        slot.mark,
                        Problem::SubflowUnavailable {
                            name: slot.name.clone(),
                        },
                    );
                }
            }
        }
        if !changed {
            break;
        }
    }

    // Link the good ones, callees first.
    let mut pending: Vec<Option<Flow>> = unique.into_iter().map(Some).collect();
    let mut linked: BTreeMap<String, Arc<Flow>> = BTreeMap::new();
    loop {
        let mut progressed = false;
        for i in 0..pending.len() {
            let ready = match &pending[i] {
                Some(flow) if !bad[i] => flow.subflows.iter().all(|s| linked.contains_key(&s.name)),
                _ => false,
            };
            if !ready {
                continue;
            }
            let Some(mut flow) = pending[i].take() else {
                continue;
            };
            for slot in &mut flow.subflows {
                slot.flow = linked.get(&slot.name).cloned();
            }
            linked.insert(flow.name.clone(), Arc::new(flow));
            progressed = true;
        }
        if !progressed {
            break;
        }
    }
    diags.sort();
    diags.dedup();
    (linked, diags)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::{LoadContext, load_str};

    fn flow(file: &str, src: &str) -> Flow {
        load_str(src, file, &LoadContext::permissive()).unwrap_or_else(|d| panic!("{d:#?}"))
    }

    fn caller(name: &str, callee: &str) -> Flow {
        flow(
            &format!("{name}.yaml"),
            &format!(
                "flow: {name}\nstart: a\nnodes:\n  a: {{type: subflow, flow: {callee}, next: b}}\n  b: {{type: hangup}}\n"
            ),
        )
    }

    fn leaf(name: &str) -> Flow {
        flow(
            &format!("{name}.yaml"),
            &format!("flow: {name}\nstart: a\nnodes:\n  a: {{type: play, prompt: welcome}}\n"),
        )
    }

    fn printed(diags: &[Diagnostic]) -> Vec<String> {
        diags.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn subflows_resolve_to_the_arc_of_the_same_set() {
        let (linked, diags) = link(vec![
            caller("main", "verify"),
            caller("other", "verify"),
            leaf("verify"),
        ]);
        assert!(diags.is_empty(), "{diags:#?}");
        assert_eq!(linked.keys().collect::<Vec<_>>(), ["main", "other", "verify"]);
        let from_main = linked["main"].subflows[0].flow.as_ref().unwrap();
        let from_other = linked["other"].subflows[0].flow.as_ref().unwrap();
        assert!(Arc::ptr_eq(from_main, &linked["verify"]));
        assert!(Arc::ptr_eq(from_other, &linked["verify"]));
        assert!(linked.values().all(|f| f.is_linked()));
        assert!(
            !caller("main", "verify").is_linked(),
            "a loaded flow is not linked yet"
        );
    }

    #[test]
    fn unknown_subflow_is_reported_at_the_flow_value() {
        let (linked, diags) = link(vec![caller("main", "nowhere"), leaf("verify")]);
        assert_eq!(printed(&diags), ["main.yaml:4:28: unknown flow `nowhere`"]);
        assert_eq!(linked.keys().collect::<Vec<_>>(), ["verify"]);
    }

    #[test]
    fn cycles_of_subflow_calls_are_reported_at_each_call() {
        let (linked, diags) = link(vec![
            caller("a", "b"),
            caller("b", "a"),
            caller("top", "a"),
            leaf("fine"),
        ]);
        assert_eq!(
            printed(&diags),
            [
                "a.yaml:4:28: subflows call each other without end: a → b → a",
                "b.yaml:4:28: subflows call each other without end: a → b → a",
                "top.yaml:4:28: subflow `a` cannot be used: it calls a flow that failed to link",
            ]
        );
        assert_eq!(linked.keys().collect::<Vec<_>>(), ["fine"]);
        let (linked, diags) = link(vec![caller("self", "self")]);
        assert_eq!(
            printed(&diags),
            ["self.yaml:4:28: subflows call each other without end: self → self"]
        );
        assert!(linked.is_empty());
    }

    #[test]
    fn a_flow_defined_twice_is_reported_and_the_first_wins() {
        let first = leaf("verify");
        let version = first.version().to_owned();
        let mut second = flow(
            "copy.yaml",
            "flow: verify\nstart: a\nnodes:\n  a: {type: hangup}\n",
        );
        second.source_file = "copy.yaml".into();
        let (linked, diags) = link(vec![first, second]);
        assert_eq!(
            printed(&diags),
            ["copy.yaml:1:7: flow `verify` is defined twice (also in verify.yaml)"]
        );
        assert_eq!(linked["verify"].version(), version);
    }
}
