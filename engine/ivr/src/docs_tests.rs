//! Every YAML example in `docs/flow-language.md` is a complete flow: the valid ones load, link
//! and pass their own tests; the ones marked `# invalid: DIAGNOSTIC` fail with exactly that
//! diagnostic among their errors.

use std::collections::BTreeSet;
use std::path::Path;

use crate::load::{LoadContext, load_str};
use crate::model::Node;
use crate::testing::{TestOptions, run_all};

const MARK: &str = "# invalid:";

fn yaml_blocks(doc: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in doc.lines().enumerate() {
        match &mut current {
            None if line.trim_end() == "```yaml" => current = Some((i + 2, String::new())),
            None => {}
            Some(_) if line.trim_end() == "```" => blocks.extend(current.take()),
            Some((_, text)) => {
                text.push_str(line);
                text.push('\n');
            }
        }
    }
    assert!(current.is_none(), "an unclosed ```yaml block");
    blocks
}

#[test]
fn every_yaml_example_in_the_flow_language_doc_behaves_as_it_says() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/flow-language.md");
    let doc = std::fs::read_to_string(path).unwrap();
    let blocks = yaml_blocks(&doc);
    assert!(blocks.len() >= 20, "only {} yaml blocks found", blocks.len());
    let ctx = LoadContext::permissive();
    let mut valid = Vec::new();
    let mut invalid = 0;
    let mut wrong = Vec::new();
    for (line, text) in &blocks {
        let first = text.lines().next().unwrap_or_default();
        let result = load_str(text, "flow.yaml", &ctx);
        match (first.strip_prefix(MARK), result) {
            (Some(_), Ok(_)) => wrong.push(format!("docs line {line}: marked invalid but it loads")),
            (Some(expected), Err(diags)) => {
                invalid += 1;
                let expected = expected.trim();
                let printed: Vec<String> = diags.iter().map(ToString::to_string).collect();
                if !printed.iter().any(|d| d == expected) {
                    wrong.push(format!(
                        "docs line {line}: expected `{expected}`, got {printed:?}"
                    ));
                }
            }
            (None, Ok(flow)) => valid.push(flow),
            (None, Err(diags)) => {
                let printed: Vec<String> = diags.iter().map(ToString::to_string).collect();
                wrong.push(format!("docs line {line}: {printed:?}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    assert!(invalid >= 8, "only {invalid} invalid examples");
    let kinds: BTreeSet<&str> = valid
        .iter()
        .flat_map(|f| f.model().nodes.values().map(Node::kind))
        .collect();
    assert_eq!(
        kinds,
        Node::KINDS.iter().copied().collect(),
        "every node kind has an example"
    );
    let (linked, diags) = crate::link(valid);
    assert!(diags.is_empty(), "{diags:#?}");
    let origin = crate::session::tests::origin();
    let mut tests = 0;
    for (flow, reports) in run_all(&linked, &TestOptions::new(origin)) {
        for report in reports {
            tests += 1;
            assert!(report.passed, "{flow}: {}: {:#?}", report.name, report.failures);
        }
    }
    assert!(tests >= 20, "only {tests} tests ran");
}
