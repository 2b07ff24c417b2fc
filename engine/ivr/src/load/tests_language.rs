//! Load errors of the full language, each at its exact line and column.

use super::tests::ctx;
use super::*;
use crate::limits::{MAX_DEPTH, MAX_TEST_STEPS, MAX_TESTS};

fn errors(src: &str) -> Vec<String> {
    match load_str(src, "t.yaml", &ctx()) {
        Ok(_) => Vec::new(),
        Err(diags) => diags.iter().map(ToString::to_string).collect(),
    }
}

fn ok(src: &str) -> Flow {
    load_str(src, "t.yaml", &ctx()).unwrap_or_else(|d| panic!("expected a valid flow, got {d:#?}"))
}

/// A flow whose `x` node is given by the test; `a` (start) leads to it, `end` hangs up.
fn with_node(node: &str) -> String {
    format!(
        "flow: t\nstart: a\nnodes:\n  a: {{type: goto, target: x}}\n  x:\n{node}  end: {{type: hangup}}\n"
    )
}

#[test]
fn every_node_kind_loads() {
    let src = "\
flow: t
timezone: Europe/Berlin
calendars:
  holidays: [2025-12-25, 2025-12-24..2025-12-26, 01-01, 12-31..01-01]
variables:
  tier: ''
start: a
nodes:
  a: {type: play, prompts: [welcome, main-menu], barge_in: true, next: b}
  b:
    type: menu
    title: Main
    prompt: main-menu
    variable: choice
    store: true
    options:
      '1': {label: Verify, next: c}
      '2': {label: Data, next: d}
    on_fail: z
  c:
    type: verify_identity
    ask: phone
    lookup: {http: {url: 'https://crm.example/customers?phone=${key}', timeout: 2s, retries: 1}}
    ani: accept
    max_digits: 15
    on_success: e
    on_failure: z
    on_error: z
  d:
    type: http
    method: POST
    url: 'https://crm.example/calls/${call_id}'
    headers: {Authorization: 'Bearer secret', X-Caller: '${caller}'}
    body: {caller: '${caller}', tags: [a, '${choice}'], n: 1}
    map: {tier: customer.tier, first_phone: phones.0}
    next: e
    on_failure: z
  e:
    type: switch
    cases:
      - when: {variable: tier, in: [gold, platinum]}
        next: f
      - when: {any: [{calendar: holidays}, {not: {days: [mon-fri], time: '08:00-18:00'}}]}
        next: z
      - when: {variable: caller, prefix: '+49', matches: '^\\+49(30|40)'}
        next: g
      - when: {all: [{variable: first_phone, empty: false}, {variable: tier, at_least: 1, at_most: 5}]}
        next: h
    default: z
  f: {type: enqueue, queue: vip, priority: 9, skills: {english: 100}, timeout: 10m, on_timeout: z, on_left: z}
  g: {type: subflow, flow: sub, next: h}
  h: {type: transfer, to: 'sip:agent@example.com'}
  z: {type: return}
";
    let flow = ok(src);
    let kinds: BTreeSet<&str> = flow.model().nodes.values().map(Node::kind).collect();
    assert_eq!(kinds.len(), 9);
    assert_eq!(flow.subflow_names(), ["sub"]);
    assert!(!flow.is_linked());
}

#[test]
fn unknown_keys_in_new_nodes_and_conditions_point_at_the_key() {
    let src = with_node(
        "    type: switch\n    cases:\n      - when: {variable: caller, prefx: '+49'}\n        next: end\n    default: end\n",
    );
    assert_eq!(
        errors(&src),
        [
            "t.yaml:8:34: node `x`: unknown field `prefx`, expected one of `variable`, `equals`, `in`, \
             `matches`, `prefix`, `at_least`, `at_most`, `empty`, `time`, `days`, `calendar`, `all`, `any`, `not`"
        ]
    );
    let src = with_node(
        "    type: verify_identity\n    ask: phone\n    lookup: {statc: demo}\n    max_digits: 4\n    on_success: end\n    on_failure: end\n",
    );
    assert_eq!(
        errors(&src),
        ["t.yaml:8:14: node `x`: unknown variant `statc`, expected one of `static`, `table`, `http`"]
    );
    let src = with_node(
        "    type: verify_identity\n    ask: phone\n    lookup: {static: demo, table: t}\n    max_digits: 4\n    on_success: end\n    on_failure: end\n",
    );
    assert_eq!(
        errors(&src),
        ["t.yaml:8:13: node `x`: invalid length 2, expected a mapping with exactly one key"]
    );
}

#[test]
fn wrong_types_in_new_nodes_point_at_the_value() {
    let src = with_node("    type: enqueue\n    queue: sales\n    priority: high\n    on_left: end\n");
    assert_eq!(
        errors(&src),
        ["t.yaml:8:15: node `x`: invalid type: string \"high\", expected u8"]
    );
    let src = with_node(
        "    type: verify_identity\n    ask: ssn\n    lookup: {static: demo}\n    max_digits: 4\n    on_success: end\n    on_failure: end\n",
    );
    assert_eq!(
        errors(&src),
        ["t.yaml:7:10: node `x`: unknown variant `ssn`, expected `customer_id` or `phone`"]
    );
    let src = with_node(
        "    type: http\n    method: DELETE\n    url: 'https://x.example'\n    next: end\n    on_failure: end\n",
    );
    assert_eq!(
        errors(&src),
        ["t.yaml:7:13: node `x`: unknown variant `DELETE`, expected `GET` or `POST`"]
    );
}

#[test]
fn missing_default_and_targets_of_new_nodes_are_located() {
    let src = with_node(
        "    type: switch\n    cases:\n      - when: {variable: caller, equals: '1'}\n        next: end\n",
    );
    assert_eq!(errors(&src), ["t.yaml:5:3: node `x`: missing field `default`"]);
    let src = with_node(
        "    type: switch\n    cases:\n      - when: {variable: caller, equals: '1'}\n        next: nowhere\n    default: gone\n",
    );
    assert_eq!(
        errors(&src),
        [
            "t.yaml:9:15: unknown node `nowhere`",
            "t.yaml:10:14: unknown node `gone`",
            "t.yaml:11:3: node `end` is unreachable from start node `a`",
        ]
    );
    let src = with_node(
        "    type: verify_identity\n    ask: phone\n    lookup: {static: demo}\n    max_digits: 4\n    on_success: yes_\n    on_failure: end\n    on_error: no_\n",
    );
    assert_eq!(
        errors(&src),
        [
            "t.yaml:10:17: unknown node `yes_`",
            "t.yaml:12:15: unknown node `no_`"
        ]
    );
    let src =
        with_node("    type: http\n    url: 'https://x.example'\n    next: end\n    on_failure: oops\n");
    assert_eq!(errors(&src), ["t.yaml:9:17: unknown node `oops`"]);
    let src = with_node("    type: enqueue\n    queue: q\n    on_timeout: late\n    on_left: end\n");
    assert_eq!(errors(&src), ["t.yaml:8:17: unknown node `late`"]);
    let src = with_node("    type: subflow\n    flow: sub\n    next: after\n");
    assert_eq!(
        errors(&src),
        [
            "t.yaml:8:11: unknown node `after`",
            "t.yaml:9:3: node `end` is unreachable from start node `a`",
        ]
    );
}

#[test]
fn loops_through_switch_http_enqueue_and_subflow_do_not_count_as_waiting() {
    let src = "\
flow: t
start: a
nodes:
  a: {type: switch, cases: [{when: {variable: caller, empty: true}, next: b}], default: c}
  b: {type: http, url: 'https://x.example', next: a, on_failure: c}
  c: {type: enqueue, queue: q, on_left: d}
  d: {type: subflow, flow: sub, next: a}
";
    assert_eq!(
        errors(src),
        [
            "t.yaml:4:3: loop without a wait: a → b → a; a loop must pass a play, menu, collect or \
             verify_identity node"
        ]
    );
    // Through a verify_identity (it waits for the caller) a loop is fine.
    let src = "\
flow: t
start: a
nodes:
  a: {type: verify_identity, ask: phone, lookup: {table: customers}, max_digits: 9, on_success: b, on_failure: a}
  b: {type: http, url: 'https://x.example', next: a, on_failure: a}
";
    ok(src);
}

#[test]
fn unknown_prompts_static_lists_and_flows_point_at_the_value() {
    let src = with_node(
        "    type: verify_identity\n    ask: customer_id\n    lookup: {static: crm}\n    prompt: enter-id\n    max_digits: 4\n    on_success: end\n    on_failure: end\n",
    );
    assert_eq!(
        errors(&src),
        [
            "t.yaml:8:22: unknown static list `crm`",
            "t.yaml:9:13: unknown prompt `enter-id`"
        ]
    );
    let src = with_node("    type: subflow\n    flow: nobody\n    next: end\n");
    assert_eq!(errors(&src), ["t.yaml:7:11: unknown flow `nobody`"]);
    let src = with_node(
        "    type: verify_identity\n    ask: phone\n    lookup: {table: 1st-table}\n    max_digits: 4\n    on_success: end\n    on_failure: end\n",
    );
    assert_eq!(
        errors(&src),
        [
            "t.yaml:8:21: invalid table name `1st-table`: use letters, digits and `_`, not starting with a digit"
        ]
    );
}

#[test]
fn verify_identity_bounds_are_checked() {
    let node = |attempts: u32| {
        with_node(&format!(
            "    type: verify_identity\n    ask: phone\n    lookup: {{static: demo}}\n    max_digits: 4\n    attempts: {attempts}\n    on_success: end\n    on_failure: end\n"
        ))
    };
    ok(&node(1));
    ok(&node(crate::limits::MAX_ATTEMPTS));
    assert_eq!(
        errors(&node(0)),
        ["t.yaml:10:15: attempts must be between 1 and 10"]
    );
    assert_eq!(
        errors(&node(11)),
        ["t.yaml:10:15: attempts must be between 1 and 10"]
    );
    let src = with_node(
        "    type: verify_identity\n    ask: phone\n    lookup: {static: demo}\n    max_digits: 65\n    min_digits: 2\n    terminator: x\n    on_success: end\n    on_failure: end\n",
    );
    assert_eq!(
        errors(&src),
        [
            "t.yaml:9:17: max_digits must be between 1 and 64",
            "t.yaml:11:17: terminator cannot be pressed on a keypad: `x` (use one of 0-9 * # A-D)",
        ]
    );
}

#[test]
fn http_urls_headers_bodies_paths_and_retries_are_checked() {
    let src = with_node(
        "    type: http\n    url: 'ftp://x.example/${nobody}'\n    headers: {'Bad Header': x}\n    body: {a: '${caller}', b: ['${ghost}']}\n    retries: 4\n    map: {tier: customer..tier, 2x: a}\n    next: end\n    on_failure: end\n",
    );
    assert_eq!(
        errors(&src),
        [
            "t.yaml:7:10: invalid URL `ftp://x.example/${nobody}`: it must start with http:// or https://",
            "t.yaml:7:10: unknown variable `nobody`",
            "t.yaml:8:15: invalid header name `Bad Header`",
            "t.yaml:9:5: `body` needs `method: POST`",
            "t.yaml:9:32: unknown variable `ghost`",
            "t.yaml:10:14: http retries must be at most 3",
            "t.yaml:11:17: invalid path `customer..tier`: write keys and array indexes separated by dots, e.g. customer.phones.0",
            "t.yaml:11:33: invalid variable name `2x`: use letters, digits and `_`, not starting with a digit",
        ]
    );
    let src = with_node("    type: http\n    url: '${base}/x'\n    next: end\n    on_failure: end\n");
    assert_eq!(errors(&src), ["t.yaml:7:10: unknown variable `base`"]);
    // `${key}` is only known in a lookup URL.
    let src = with_node(
        "    type: http\n    url: 'https://x.example/${key}'\n    next: end\n    on_failure: end\n",
    );
    assert_eq!(errors(&src), ["t.yaml:7:10: unknown variable `key`"]);
}

#[test]
fn switch_conditions_are_checked_at_their_place() {
    let src = "\
flow: t
start: a
nodes:
  a:
    type: switch
    cases:
      - when: {time: '8:00-18:00'}
        next: b
      - when: {days: [mon, funday, fri-sat]}
        next: b
      - when: {calendar: holidays}
        next: b
      - when: {variable: tier, matches: '(gold'}
        next: b
      - when: {equals: gold}
        next: b
      - when: {variable: caller}
        next: b
      - when: {}
        next: b
      - when: {variable: caller, at_least: 5, at_most: 1}
        next: b
      - when: {any: [], days: []}
        next: b
      - when: {not: {time: '18:00-18:00'}}
        next: b
    default: b
  b: {type: hangup}
";
    assert_eq!(
        errors(src),
        [
            "t.yaml:7:22: invalid time range `8:00-18:00`: write HH:MM-HH:MM, e.g. 08:00-18:00",
            "t.yaml:9:28: unknown day `funday`: use mon, tue, wed, thu, fri, sat, sun or a range such as mon-fri",
            "t.yaml:11:26: unknown calendar `holidays`",
            "t.yaml:13:26: unknown variable `tier`",
            "t.yaml:13:41: invalid pattern: unclosed group",
            "t.yaml:15:16: `equals` needs `variable`",
            "t.yaml:17:16: `variable` needs a test: equals, in, matches, prefix, at_least, at_most or empty",
            "t.yaml:19:15: empty condition: give a test such as `variable` with `equals`, `time`, `days` or `calendar`",
            "t.yaml:21:44: at_least (5) is greater than at_most (1)",
            "t.yaml:23:21: `any` needs at least one entry",
            "t.yaml:23:31: `days` needs at least one entry",
            "t.yaml:25:28: invalid time range `18:00-18:00`: write HH:MM-HH:MM, e.g. 08:00-18:00",
        ]
    );
    let src = "flow: t\nstart: a\nnodes:\n  a: {type: switch, cases: [], default: b}\n  b: {type: hangup}\n";
    assert_eq!(errors(src), ["t.yaml:4:28: a switch needs at least one case"]);
}

#[test]
fn time_zones_and_calendars_are_checked_at_their_place() {
    let src = "\
flow: t
timezone: Europe/Atlantis
calendars:
  holidays:
    - 2025-12-25
    - 2025-02-30
    - 2025-12-26..2025-12-24
    - christmas
  bad name: [01-01]
start: a
nodes:
  a: {type: hangup}
";
    assert_eq!(
        errors(src),
        [
            "t.yaml:2:11: unknown time zone `Europe/Atlantis` (use an IANA name such as Europe/Berlin)",
            "t.yaml:6:7: invalid date `2025-02-30`: write 2025-12-25, a range 2025-12-24..2025-12-26, or \
             12-25 (12-24..12-26) for every year",
            "t.yaml:7:7: date range `2025-12-26..2025-12-24` ends before it starts",
            "t.yaml:8:7: invalid date `christmas`: write 2025-12-25, a range 2025-12-24..2025-12-26, or \
             12-25 (12-24..12-26) for every year",
            "t.yaml:9:3: invalid calendar name `bad name`: use letters, digits, `_`, `-` and `.`",
        ]
    );
    let src = "flow: t\ncalendars: [2025-12-25]\nstart: a\nnodes:\n  a: {type: hangup}\n";
    assert_eq!(
        errors(src),
        ["t.yaml:2:12: invalid type: sequence, expected a map"]
    );
}

#[test]
fn enqueue_transfer_store_and_variables_are_checked() {
    let src = with_node(
        "    type: enqueue\n    queue: sales team\n    priority: 10\n    skills: {english: 101, 'bad skill': 1}\n    on_left: end\n",
    );
    assert_eq!(
        errors(&src),
        [
            "t.yaml:7:12: invalid queue name `sales team`: use letters, digits, `_`, `-` and `.`",
            "t.yaml:8:15: priority must be between 0 and 9",
            "t.yaml:9:23: skill level must be between 0 and 100",
            "t.yaml:9:28: invalid skill name `bad skill`: use letters, digits, `_`, `-` and `.`",
        ]
    );
    for bad in ["agent@example.com", "+49 30 1234", "sip:", "0800-HOTLINE"] {
        let src = with_node(&format!("    type: transfer\n    to: '{bad}'\n"));
        assert_eq!(
            errors(&src),
            [
                format!(
                    "t.yaml:7:9: invalid transfer target `{bad}`: use a SIP URI (sip:…), a tel: URI or a number such as +4930123456"
                ),
                "t.yaml:8:3: node `end` is unreachable from start node `a`".to_owned(),
            ]
        );
    }
    for good in [
        "sip:agent@example.com",
        "sips:a@b",
        "tel:+4930123",
        "+4930123456",
        "100",
        "${caller}",
    ] {
        let src = format!("flow: t\nstart: a\nnodes:\n  a: {{type: transfer, to: '{good}'}}\n");
        ok(&src);
    }
    let src = with_node(
        "    type: menu\n    options: {'1': {label: L, next: end}}\n    store: true\n    on_fail: end\n",
    );
    assert_eq!(errors(&src), ["t.yaml:8:12: `store` needs `variable`"]);
    let src =
        "flow: t\nvariables: {1x: a, ok: b}\nstart: a\nnodes:\n  a: {type: set, variables: {y: '${ok}'}}\n";
    assert_eq!(
        errors(src),
        ["t.yaml:2:13: invalid variable name `1x`: use letters, digits and `_`, not starting with a digit"]
    );
}

#[test]
fn verify_identity_variables_and_customer_attributes_are_known() {
    let src = "\
flow: t
start: a
nodes:
  a: {type: verify_identity, ask: customer_id, lookup: {static: demo}, max_digits: 6, on_success: b, on_failure: b}
  b: {type: set, variables: {note: '${verified} ${verify_method} ${customer_id} ${ani_match} ${customer_tier}'}}
";
    ok(src);
    let src = "flow: t\nstart: b\nnodes:\n  b: {type: set, variables: {note: '${customer_tier}'}}\n";
    assert_eq!(errors(src), ["t.yaml:4:36: unknown variable `customer_tier`"]);
}

#[test]
fn tests_are_checked_at_load_at_their_place() {
    let src = "\
flow: t
start: a
nodes:
  a: {type: hangup}
tests:
  - name: one
    caller: '+1'
    at: yesterday
    timezone: Mars/Olympus
    input:
      - digits: '12x'
      - wait: 1s
    expect:
      path: [a, b, sub/x, nope/y]
      prompts: [welcome, nosuch]
      variables: {1x: a}
  - name: one
    caller: '+1'
    expect: {}
  - name: two
    caller: '+1'
    inputs: []
    expect: {}
  - name: three
    expect: {}
  - name: four
    caller: '+1'
    input: [{press: '1'}]
    expect: {}
  - name: five
    caller: '+1'
    expect: {ended: bye}
";
    assert_eq!(
        errors(src),
        [
            "t.yaml:8:9: invalid time `yesterday`: write RFC 3339, e.g. 2025-03-03T10:00:00+01:00",
            "t.yaml:9:15: unknown time zone `Mars/Olympus` (use an IANA name such as Europe/Berlin)",
            "t.yaml:11:17: key cannot be pressed on a keypad: `x` (use one of 0-9 * # A-D)",
            "t.yaml:14:17: unknown node `b` in the expected path",
            "t.yaml:14:20: unknown node `sub/x` in the expected path",
            "t.yaml:14:27: unknown node `nope/y` in the expected path",
            "t.yaml:15:26: unknown prompt `nosuch`",
            "t.yaml:16:19: invalid variable name `1x`: use letters, digits and `_`, not starting with a digit",
            "t.yaml:17:11: test `one` is defined twice",
            "t.yaml:22:5: test: unknown field `inputs`, expected one of `name`, `caller`, `callee`, `at`, \
             `timezone`, `input`, `lookups`, `http`, `queue`, `expect`",
            "t.yaml:24:5: test: missing field `caller`",
            "t.yaml:28:14: test: unknown variant `press`, expected `digits` or `wait`",
            "t.yaml:32:21: test: unknown variant `bye`, expected one of `hangup`, `transfer`, `enqueue`",
        ]
    );
}

// ----- limits: at the limit and one past it -----

#[test]
fn nesting_depth_through_the_loader_at_the_limit_and_one_past() {
    // `not` nests a condition two YAML levels deeper each time; pad with a sequence to land
    // exactly on the limit.
    let nest = |depth: usize| {
        let mut src = String::from("flow: t\nstart: a\nnodes:\n  a: {type: set, variables: {x: ");
        // root map (1) → nodes map (2) → node map (3) → variables map (4) → value.
        let levels = depth - 4;
        src.push_str(&"[".repeat(levels));
        src.push('y');
        src.push_str(&"]".repeat(levels));
        src.push_str("}}\n");
        src
    };
    // At the limit the tree is accepted (the value then has the wrong type: a string is needed).
    assert_eq!(
        errors(&nest(MAX_DEPTH)),
        ["t.yaml:4:33: node `a`: invalid type: sequence, expected a string"]
    );
    assert_eq!(
        errors(&nest(MAX_DEPTH + 1)),
        [format!(
            "t.yaml:4:{}: nesting is too deep (the limit is {MAX_DEPTH} levels)",
            33 + MAX_DEPTH - 4
        )]
    );
}

fn with_tests(count: usize, steps: usize) -> String {
    let mut src = String::from("flow: t\nstart: a\nnodes:\n  a: {type: hangup}\ntests:\n");
    for i in 0..count {
        src.push_str(&format!("  - name: t{i}\n    caller: '1'\n"));
        if steps > 0 {
            src.push_str("    input:\n");
        }
        for _ in 0..steps {
            src.push_str("      - wait: 1s\n");
        }
        src.push_str("    expect: {ended: hangup}\n");
    }
    src
}

#[test]
fn test_count_at_the_limit_loads_and_one_more_fails() {
    assert_eq!(ok(&with_tests(MAX_TESTS, 0)).test_count(), MAX_TESTS);
    let line = 6 + MAX_TESTS * 3;
    assert_eq!(
        errors(&with_tests(MAX_TESTS + 1, 0)),
        [format!(
            "t.yaml:{line}:5: too many tests (101; the limit is {MAX_TESTS})"
        )]
    );
}

#[test]
fn test_steps_at_the_limit_load_and_one_more_fails() {
    ok(&with_tests(1, MAX_TEST_STEPS));
    let line = 9 + MAX_TEST_STEPS;
    assert_eq!(
        errors(&with_tests(1, MAX_TEST_STEPS + 1)),
        [format!(
            "t.yaml:{line}:9: too many input steps (1001; the limit is {MAX_TEST_STEPS})"
        )]
    );
}
