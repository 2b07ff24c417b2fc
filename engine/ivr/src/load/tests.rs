use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use super::*;
use crate::limits::{MAX_MENU_OPTIONS, MAX_STRING_LEN};

/// The prompt catalog of `ivr-flows/prompts/`.
pub(crate) const PROMPTS: &[&str] = &[
    "welcome",
    "enter-digits",
    "you-entered",
    "goodbye",
    "invalid",
    "no-input",
    "main-menu",
    "after-hours",
    "hold-music",
    "digit-0",
    "digit-1",
    "digit-2",
    "digit-3",
    "digit-4",
    "digit-5",
    "digit-6",
    "digit-7",
    "digit-8",
    "digit-9",
];

pub(crate) fn known(name: &str) -> bool {
    PROMPTS.contains(&name)
}

/// Static lists the tests' engine has.
pub(crate) fn known_list(name: &str) -> bool {
    name == "demo"
}

/// Flows the tests' engine has.
pub(crate) fn known_flow(name: &str) -> bool {
    matches!(name, "hotline" | "survey" | "answer-hangup" | "sub" | "other")
}

/// The tests' engine: the demo prompts, the `demo` list, a few flows.
pub(crate) fn ctx() -> LoadContext<'static> {
    LoadContext {
        prompts: &known,
        static_lists: &known_list,
        flows: &known_flow,
    }
}

fn flows_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ivr-flows")
}

/// Diagnostics as printed.
fn errors(src: &str) -> Vec<String> {
    match load_str(src, "t.yaml", &ctx()) {
        Ok(_) => Vec::new(),
        Err(diags) => diags.iter().map(ToString::to_string).collect(),
    }
}

fn ok(src: &str) -> Flow {
    match load_str(src, "t.yaml", &ctx()) {
        Ok(flow) => flow,
        Err(diags) => panic!("expected a valid flow, got {diags:#?}"),
    }
}

/// A valid flow with a collect node; tests break one line of it.
const BASE: &str = "\
flow: t
start: a
nodes:
  a:
    type: collect
    variable: v
    max_digits: 4
    next: b
    on_fail: b
  b: {type: hangup}
";

fn base_with(line: &str, replacement: &str) -> String {
    assert!(BASE.contains(line), "{line}");
    BASE.replacen(line, replacement, 1)
}

/// Every flow in `ivr-flows/`, loaded against the real prompt folder and linked as a set.
pub(crate) fn demo_flows() -> BTreeMap<String, Arc<Flow>> {
    let prompt_dir = flows_dir().join("prompts");
    let prompts = |name: &str| prompt_dir.join(format!("{name}.wav")).is_file();
    let ctx = LoadContext {
        prompts: &prompts,
        ..ctx()
    };
    let mut flows = Vec::new();
    for file in DEMO_FILES {
        flows.push(load_file(&flows_dir().join(file), &ctx).unwrap_or_else(|d| panic!("{d:#?}")));
    }
    let (linked, problems) = crate::link(flows);
    assert!(problems.is_empty(), "{problems:#?}");
    linked
}

const DEMO_FILES: [&str; 3] = ["hotline.yaml", "survey.yaml", "answer-hangup.yaml"];

#[test]
fn every_flow_file_is_listed_here() {
    let mut found: Vec<String> = std::fs::read_dir(flows_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    found.sort();
    let mut listed = DEMO_FILES.map(str::to_owned).to_vec();
    listed.sort();
    assert_eq!(found, listed);
}

#[test]
fn demo_flows_load_and_match_plain_serde() {
    let flows = demo_flows();
    for (file, name, start) in [
        ("hotline.yaml", "hotline", "greeting"),
        ("survey.yaml", "survey", "ask_rating"),
        ("answer-hangup.yaml", "answer-hangup", "bye"),
    ] {
        let path = flows_dir().join(file);
        let flow = &flows[name];
        assert_eq!(flow.name(), name);
        assert_eq!(flow.start_node(), start);
        assert_eq!(flow.version().len(), 16);
        assert!(flow.source_file().ends_with(file));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("# yaml-language-server: $schema=schema/flow.schema.json\n"),
            "{file} must name the schema on its first line"
        );
        let plain: FlowFile = serde_saphyr::from_str(&text).unwrap();
        assert_eq!(flow.model(), &plain);
    }
}

#[test]
fn demo_flows_pass_their_own_tests() {
    let origin = crate::session::tests::origin();
    let prompt_dir = flows_dir().join("prompts");
    // Real prompt lengths (8 kHz, 16-bit mono: 16 000 bytes a second after the 44-byte header).
    let length = |name: &str| {
        let bytes = std::fs::metadata(prompt_dir.join(format!("{name}.wav")))
            .ok()?
            .len();
        Some(Duration::from_micros(
            bytes.saturating_sub(44) * 1_000_000 / 16_000,
        ))
    };
    for real_lengths in [false, true] {
        let options = crate::testing::TestOptions {
            prompt_duration: real_lengths.then_some(&length as &dyn Fn(&str) -> Option<Duration>),
            ..crate::testing::TestOptions::new(origin)
        };
        let results = crate::testing::run_all(&demo_flows(), &options);
        assert_eq!(results["hotline"].len(), 13);
        assert_eq!(results["survey"].len(), 3);
        for (flow, reports) in &results {
            for report in reports {
                assert!(
                    report.passed,
                    "{flow}: {} (real prompt lengths: {real_lengths}): {:#?}",
                    report.name, report.failures
                );
            }
        }
    }
}

#[test]
fn hotline_flow_has_the_documented_path() {
    let flows = demo_flows();
    let flow = &flows["hotline"];
    let Some(Node::Menu(menu)) = flow.model().nodes.get("main_menu") else {
        panic!("menu")
    };
    let keys: Vec<(&str, &str, &str)> = menu
        .options
        .iter()
        .map(|(k, o)| (k.as_str(), o.label.as_str(), o.next.as_str()))
        .collect();
    assert_eq!(
        keys,
        [
            ("1", "Sales", "sales"),
            ("2", "Support", "verify"),
            ("9", "Repeat this menu", "main_menu")
        ]
    );
    let Some(Node::VerifyIdentity(v)) = flow.model().nodes.get("verify") else {
        panic!("verify_identity")
    };
    assert_eq!(v.lookup, crate::model::LookupSpec::Static("demo".into()));
    assert_eq!(v.terminator.as_deref(), Some("#"));
    assert_eq!(v.max_digits, 10);
    assert_eq!(
        flow.time_zone().and_then(|tz| tz.iana_name()),
        Some("Europe/Berlin")
    );
}

#[test]
fn base_flow_is_valid() {
    let flow = ok(BASE);
    assert_eq!(flow.name(), "t");
}

#[test]
fn version_is_a_content_hash() {
    let a = ok(BASE);
    let b = ok(BASE);
    let c = ok(&format!("{BASE}# changed\n"));
    assert_eq!(a.version(), b.version());
    assert_ne!(a.version(), c.version());
}

#[test]
fn yaml_syntax_error_is_located() {
    // The unclosed `[` swallows the next line; the parser stops at the `:` it cannot place.
    let src = base_with("    max_digits: 4\n", "    max_digits: [4\n");
    assert_eq!(
        errors(&src),
        ["t.yaml:8:9: YAML syntax error: illegal placement of ':' indicator"]
    );
    let src = base_with("    variable: v\n", "    variable: \"v\n");
    let errs = errors(&src);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].starts_with("t.yaml:"), "{errs:?}");
}

#[test]
fn unknown_key_points_at_the_key() {
    let src = base_with("    next: b\n", "    next: b\n    nxt: b\n");
    assert_eq!(
        errors(&src),
        [
            "t.yaml:9:5: node `a`: unknown field `nxt`, expected one of `prompt`, `variable`, `min_digits`, \
          `max_digits`, `terminator`, `first_digit_timeout`, `inter_digit_timeout`, `retries`, `pattern`, \
          `barge_in`, `invalid_prompt`, `timeout_prompt`, `store`, `next`, `on_timeout`, `on_fail`"
        ]
    );
}

#[test]
fn unknown_top_level_key_points_at_the_key_and_node_errors_still_come() {
    let src = base_with("start: a\n", "start: a\nversion: 2\n");
    let src = src.replace("    next: b\n", "    next: nowhere\n");
    assert_eq!(
        errors(&src),
        [
            "t.yaml:3:1: unknown field `version`, expected one of `flow`, `timezone`, `calendars`, `variables`, \
             `start`, `nodes`, `tests`",
            "t.yaml:9:11: unknown node `nowhere`",
        ]
    );
}

#[test]
fn wrong_type_points_at_the_value() {
    let src = base_with("    max_digits: 4\n", "    max_digits: many\n");
    assert_eq!(
        errors(&src),
        ["t.yaml:7:17: node `a`: invalid type: string \"many\", expected u32"]
    );
    let src = base_with("    variable: v\n", "    variable: [v]\n");
    assert_eq!(
        errors(&src),
        ["t.yaml:6:15: node `a`: invalid type: sequence, expected a string"]
    );
}

#[test]
fn bad_duration_points_at_the_value() {
    let src = base_with(
        "    max_digits: 4\n",
        "    max_digits: 4\n    first_digit_timeout: 5x\n",
    );
    assert_eq!(
        errors(&src),
        [
            "t.yaml:8:26: node `a`: invalid duration `5x`: write a whole number and a unit (ms, s or m), e.g. 500ms, 5s, 2m"
        ]
    );
    let src = base_with(
        "    max_digits: 4\n",
        "    max_digits: 4\n    inter_digit_timeout: 11m\n",
    );
    assert_eq!(
        errors(&src),
        ["t.yaml:8:26: node `a`: duration `11m` is out of range (1ms to 10m)"]
    );
}

#[test]
fn unknown_type_points_at_the_type_value() {
    let src = base_with("  b: {type: hangup}\n", "  b: {type: hang_up}\n");
    assert_eq!(
        errors(&src),
        [
            "t.yaml:10:13: unknown node type `hang_up`, expected one of play, menu, collect, verify_identity, http, set, switch, enqueue, transfer, goto, subflow, return, hangup"
        ]
    );
}

#[test]
fn missing_type_and_missing_field_point_at_the_node_name() {
    let src = base_with("    type: collect\n", "");
    assert_eq!(
        errors(&src),
        [
            "t.yaml:4:3: node `a` has no `type`; expected one of play, menu, collect, verify_identity, http, set, switch, enqueue, transfer, goto, subflow, return, hangup"
        ]
    );
    let src = base_with("    next: b\n", "");
    assert_eq!(errors(&src), ["t.yaml:4:3: node `a`: missing field `next`"]);
}

#[test]
fn dangling_target_points_at_the_value() {
    let src = base_with("    on_fail: b\n", "    on_fail: nowhere\n");
    assert_eq!(errors(&src), ["t.yaml:9:14: unknown node `nowhere`"]);
}

#[test]
fn missing_start_points_at_the_start_value() {
    let src = base_with("start: a\n", "start: begin\n");
    // `a` is then unreachable too, but reachability needs a start: only the start is reported.
    assert_eq!(errors(&src), ["t.yaml:2:8: start node `begin` does not exist"]);
    let src = base_with("start: a\n", "");
    assert_eq!(errors(&src), ["t.yaml:1:1: missing field `start`"]);
}

#[test]
fn unreachable_node_points_at_its_name() {
    let src = format!("{BASE}  lost: {{type: goto, target: b}}\n");
    assert_eq!(
        errors(&src),
        ["t.yaml:11:3: node `lost` is unreachable from start node `a`"]
    );
}

#[test]
fn goto_and_set_loops_are_rejected_but_play_loops_are_not() {
    let src = "\
flow: t
start: a
nodes:
  a: {type: set, variables: {x: '1'}, next: b}
  b: {type: goto, target: a}
";
    assert_eq!(
        errors(src),
        [
            "t.yaml:4:3: loop without a wait: a → b → a; a loop must pass a play, menu, collect or verify_identity node"
        ]
    );
    let src = "flow: t\nstart: a\nnodes:\n  a: {type: goto, target: a}\n";
    assert_eq!(
        errors(src),
        [
            "t.yaml:4:3: loop without a wait: a → a; a loop must pass a play, menu, collect or verify_identity node"
        ]
    );
    let hold = "\
flow: t
start: a
nodes:
  a: {type: play, prompt: hold-music, next: b}
  b: {type: goto, target: a}
";
    ok(hold);
}

#[test]
fn menu_option_keys_must_be_keypad_keys() {
    let src = "\
flow: t
start: m
nodes:
  m:
    type: menu
    prompt: main-menu
    options:
      '1': {label: Sales, next: bye}
      '12': {label: Support, next: bye}
      x: {label: X, next: bye}
      a: {label: A, next: bye}
      A: {label: A again, next: bye}
    on_fail: bye
  bye: {type: hangup}
";
    assert_eq!(
        errors(src),
        [
            "t.yaml:9:7: option key cannot be pressed on a keypad: `12` (use one of 0-9 * # A-D)",
            "t.yaml:10:7: option key cannot be pressed on a keypad: `x` (use one of 0-9 * # A-D)",
            "t.yaml:12:7: option `A` is given twice",
        ]
    );
}

#[test]
fn invalid_pattern_points_at_the_pattern() {
    let src = base_with(
        "    max_digits: 4\n",
        "    max_digits: 4\n    pattern: \"^[0-9+$\"\n",
    );
    assert_eq!(
        errors(&src),
        ["t.yaml:8:14: invalid pattern: unclosed character class"]
    );
}

#[test]
fn min_above_max_points_at_min_digits() {
    let src = base_with("    max_digits: 4\n", "    max_digits: 4\n    min_digits: 5\n");
    assert_eq!(
        errors(&src),
        ["t.yaml:8:17: min_digits (5) is greater than max_digits (4)"]
    );
    let src = base_with("    max_digits: 4\n", "    max_digits: 0\n");
    assert_eq!(
        errors(&src),
        [
            "t.yaml:7:17: max_digits must be between 1 and 64",
            "t.yaml:7:17: min_digits (1) is greater than max_digits (0)"
        ]
    );
}

#[test]
fn unknown_prompts_point_at_each_value() {
    let src = "\
flow: t
start: a
nodes:
  a: {type: play, prompts: [welcome, wellcome, goodby], next: b}
  b: {type: play, prompt: nope}
";
    assert_eq!(
        errors(src),
        [
            "t.yaml:4:38: unknown prompt `wellcome`",
            "t.yaml:4:48: unknown prompt `goodby`",
            "t.yaml:5:27: unknown prompt `nope`",
        ]
    );
    let src = base_with("    variable: v\n", "    variable: v\n    prompt: enter-digit\n");
    assert_eq!(errors(&src), ["t.yaml:7:13: unknown prompt `enter-digit`"]);
}

#[test]
fn play_needs_exactly_one_of_prompt_and_prompts() {
    let src = "flow: t\nstart: a\nnodes:\n  a: {type: play, prompt: welcome, prompts: [goodbye]}\n";
    assert_eq!(
        errors(src),
        ["t.yaml:4:36: use either `prompt` or `prompts`, not both"]
    );
    let src = "flow: t\nstart: a\nnodes:\n  a: {type: play}\n";
    assert_eq!(
        errors(src),
        ["t.yaml:4:6: a play node needs `prompt` or `prompts`"]
    );
    let src = "flow: t\nstart: a\nnodes:\n  a: {type: play, prompts: []}\n";
    assert_eq!(
        errors(src),
        ["t.yaml:4:28: `prompts` must list at least one prompt"]
    );
}

#[test]
fn duplicate_node_is_reported_at_the_second_definition() {
    let src = format!("{BASE}  b: {{type: hangup, reason: again}}\n");
    assert_eq!(errors(&src), ["t.yaml:11:3: duplicate key `b`"]);
}

#[test]
fn variables_and_templates_are_checked() {
    let src = "\
flow: t
start: a
nodes:
  a:
    type: set
    variables:
      greeting: 'hi ${caller}, ${who}'
      1bad: x
      open: '${caller'
    next: b
  b: {type: play, prompt: welcome, say_digits: nobody}
";
    assert_eq!(
        errors(src),
        [
            "t.yaml:7:17: unknown variable `who`",
            "t.yaml:8:7: invalid variable name `1bad`: use letters, digits and `_`, not starting with a digit",
            "t.yaml:9:13: unclosed `${` in value",
            "t.yaml:11:48: unknown variable `nobody`",
        ]
    );
}

#[test]
fn say_digits_needs_the_digit_prompts() {
    let src = "flow: t\nstart: a\nnodes:\n  a: {type: play, prompt: welcome, say_digits: caller}\n";
    let no_digits = |name: &str| name == "welcome";
    let only_welcome = LoadContext {
        prompts: &no_digits,
        ..ctx()
    };
    let errs: Vec<String> = load_str(src, "t.yaml", &only_welcome)
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        errs,
        ["t.yaml:4:48: prompt `digit-0` (needed by `say_digits`) is not in the prompt catalog"]
    );
    ok(src);
}

#[test]
fn terminator_must_be_a_keypad_key() {
    let src = base_with("    max_digits: 4\n", "    max_digits: 4\n    terminator: '##'\n");
    assert_eq!(
        errors(&src),
        ["t.yaml:8:17: terminator cannot be pressed on a keypad: `##` (use one of 0-9 * # A-D)"]
    );
}

#[test]
fn retries_are_bounded() {
    let src = base_with("    max_digits: 4\n", "    max_digits: 4\n    retries: 10\n");
    ok(&src);
    let src = base_with("    max_digits: 4\n", "    max_digits: 4\n    retries: 11\n");
    assert_eq!(errors(&src), ["t.yaml:8:14: retries must be at most 10"]);
}

#[test]
fn every_error_is_reported_at_once_in_file_order() {
    let src = "\
flow: t
start: a
nodes:
  z: {type: goto, target: a}
  a:
    type: collect
    prompt: nope
    variable: v
    max_digits: 4
    min_digits: 9
    pattern: '('
    next: nowhere
    on_fail: b
  b: {type: menu, options: {'10': {label: X, next: b}}, on_fail: b, retries: x}
  c: {type: hangup}
";
    assert_eq!(
        errors(src),
        [
            "t.yaml:4:3: node `z` is unreachable from start node `a`",
            "t.yaml:7:13: unknown prompt `nope`",
            "t.yaml:10:17: min_digits (9) is greater than max_digits (4)",
            "t.yaml:11:14: invalid pattern: unclosed group",
            "t.yaml:12:11: unknown node `nowhere`",
            "t.yaml:14:78: node `b`: invalid type: string \"x\", expected u32",
            "t.yaml:15:3: node `c` is unreachable from start node `a`",
        ]
    );
}

#[test]
fn non_mapping_root_and_nodes_are_rejected() {
    assert_eq!(
        errors("- a\n- b\n"),
        ["t.yaml:1:1: a flow file is a mapping with `flow`, `start` and `nodes`"]
    );
    assert_eq!(
        errors("flow: t\nstart: a\nnodes: [a]\n"),
        [
            "t.yaml:2:8: start node `a` does not exist",
            "t.yaml:3:8: `nodes` must be a mapping from node names to nodes"
        ]
    );
    assert_eq!(errors(""), ["t.yaml:1:1: flow file is empty"]);
}

#[test]
fn node_names_are_checked() {
    let src = "flow: t\nstart: a\nnodes:\n  a: {type: goto, target: b c}\n  b c: {type: hangup}\n";
    assert_eq!(
        errors(src),
        ["t.yaml:5:3: invalid node name `b c`: use letters, digits, `_`, `-` and `.`"]
    );
}

// ----- limits: at the limit and one past it -----

#[test]
fn file_size_at_the_limit_loads_and_one_byte_more_fails() {
    let pad = |total: usize| {
        let mut src = BASE.to_owned();
        src.push('#');
        src.push_str(&"x".repeat(total - src.len() - 1));
        src.push('\n');
        assert_eq!(src.len(), total);
        src
    };
    ok(&pad(MAX_FILE_SIZE));
    assert_eq!(
        errors(&pad(MAX_FILE_SIZE + 1)),
        [format!(
            "t.yaml:1:1: flow file is too large ({} bytes; the limit is {MAX_FILE_SIZE})",
            MAX_FILE_SIZE + 1
        )]
    );
}

fn chain(nodes: usize) -> String {
    let mut src = String::from("flow: t\nstart: n0\nnodes:\n");
    for i in 0..nodes - 1 {
        writeln!(src, "  n{i}: {{type: goto, target: n{}}}", i + 1).unwrap();
    }
    writeln!(src, "  n{}: {{type: hangup}}", nodes - 1).unwrap();
    src
}

#[test]
fn node_count_at_the_limit_loads_and_one_more_fails() {
    ok(&chain(MAX_NODES));
    let line = MAX_NODES + 4;
    assert_eq!(
        errors(&chain(MAX_NODES + 1)),
        [format!(
            "t.yaml:{line}:3: too many nodes ({}; the limit is {MAX_NODES})",
            MAX_NODES + 1
        )]
    );
}

fn menu(options: usize) -> String {
    let mut src =
        String::from("flow: t\nstart: m\nnodes:\n  m:\n    type: menu\n    on_fail: bye\n    options:\n");
    for key in "0123456789*#ABCD".chars().take(options) {
        writeln!(src, "      '{key}': {{label: L, next: bye}}").unwrap();
    }
    if options > 16 {
        src.push_str("      '11': {label: L, next: bye}\n");
    }
    src.push_str("  bye: {type: hangup}\n");
    src
}

#[test]
fn menu_options_at_the_limit_load_and_one_more_fails() {
    ok(&menu(MAX_MENU_OPTIONS));
    assert_eq!(
        errors(&menu(MAX_MENU_OPTIONS + 1)),
        [
            "t.yaml:24:7: option key cannot be pressed on a keypad: `11` (use one of 0-9 * # A-D)".to_owned(),
            format!("t.yaml:24:7: too many menu options (17; the limit is {MAX_MENU_OPTIONS})"),
        ]
    );
}

#[test]
fn name_length_at_the_limit_loads_and_one_more_fails() {
    let named = |len: usize| {
        let name = "n".repeat(len);
        format!("flow: t\nstart: {name}\nnodes:\n  {name}: {{type: hangup}}\n")
    };
    ok(&named(MAX_NAME_LEN));
    assert_eq!(
        errors(&named(MAX_NAME_LEN + 1)),
        ["t.yaml:4:3: node name is too long (65 characters; the limit is 64)"]
    );
}

#[test]
fn string_length_at_the_limit_loads_and_one_more_fails() {
    let reason = |len: usize| {
        format!(
            "flow: t\nstart: a\nnodes:\n  a: {{type: hangup, reason: {}}}\n",
            "r".repeat(len)
        )
    };
    ok(&reason(MAX_STRING_LEN));
    assert_eq!(
        errors(&reason(MAX_STRING_LEN + 1)),
        ["t.yaml:4:29: string is too long (1025 characters; the limit is 1024)"]
    );
}

#[test]
fn load_file_reports_unreadable_and_non_utf8_files() {
    let missing = flows_dir().join("does-not-exist.yaml");
    let errs = load_file(&missing, &ctx()).unwrap_err();
    assert_eq!((errs[0].line, errs[0].col), (1, 1));
    assert!(
        errs[0].message.starts_with("cannot read flow file"),
        "{}",
        errs[0]
    );

    let dir = std::env::temp_dir().join(format!("hotline-ivr-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("latin1.yaml");
    std::fs::write(&path, b"flow: t\nstart: caf\xe9\n").unwrap();
    let errs = load_file(&path, &ctx()).unwrap_err();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(
        (errs[0].line, errs[0].col, errs[0].message.as_str()),
        (2, 11, "flow file is not valid UTF-8")
    );
}
