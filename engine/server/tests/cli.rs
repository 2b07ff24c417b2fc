//! `hotline flow check|test|schema` as an admin runs them: exit codes and exact output.
#![allow(clippy::unwrap_used)] // tests

use std::path::{Path, PathBuf};
use std::process::Command;

fn hotline() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hotline"))
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn temp_flow(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hotline-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn flow_check_prints_only_a_summary_for_valid_flows() {
    let out = hotline()
        .arg("flow")
        .arg("check")
        .arg(repo().join("ivr-flows/hotline.yaml"))
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "1 flow file(s) OK\n");
}

#[test]
fn flow_check_prints_every_error_with_its_location_and_fails() {
    let path = temp_flow(
        "bad",
        "flow: x\nstart: a\nnodes:\n  a: { type: play, prompt: nope, next: b }\n  c: { type: hangup, colour: red }\n",
    );
    let out = hotline()
        .args(["flow", "check", "--prompts"])
        .arg(repo().join("ivr-flows/prompts"))
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let f = path.display();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        [
            format!("{f}:4:28: unknown prompt `nope`"),
            format!("{f}:4:40: unknown node `b`"),
            format!("{f}:5:3: node `c` is unreachable from start node `a`"),
            format!("{f}:5:22: node `c`: unknown field `colour`, expected `reason`"),
        ]
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("4 error(s) in 1 file(s)"));
}

#[test]
fn flow_test_runs_the_tests_a_flow_carries_and_fails_on_a_failing_one() {
    let out = hotline()
        .arg("flow")
        .arg("test")
        .arg(repo().join("ivr-flows/survey.yaml"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stdout).ends_with("3 passed, 0 failed\n"));

    let failing = temp_flow(
        "failing",
        "flow: f\nstart: bye\nnodes:\n  bye: { type: hangup, reason: done }\ntests:\n  - name: expects the wrong reason\n    caller: \"100\"\n    expect: { reason: other }\n",
    );
    let out = hotline()
        .args(["flow", "test", "--prompts"])
        .arg(repo().join("ivr-flows/prompts"))
        .arg(&failing)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("FAILED") && stdout.ends_with("0 passed, 1 failed\n"),
        "{stdout}"
    );
}

#[test]
fn flow_schema_prints_the_schema_kept_in_the_repository() {
    let out = hotline().args(["flow", "schema"]).output().unwrap();
    assert!(out.status.success());
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let kept: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("ivr-flows/schema/flow.schema.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(printed, kept);
}
