//! The flow language on the wire: every node kind driven by SIPp calls (SIP INFO digits), identity
//! verification against a real HTTP lookup server started here, the demo hotline and survey flows, and hot
//! reload (file change, SIGHUP, API) with every call keeping the flow version it started with.
#![allow(clippy::unwrap_used)] // tests

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hotline_sip_test::capture::{self, Capture};
use hotline_sip_test::engine::{Engine, Options, TOKEN};
use hotline_sip_test::http_server::{Canned, HttpServer};
use hotline_sip_test::peer::{ACK, INVITE_PCMU, Peer};
use hotline_sip_test::sipp::{self, Run};
use hotline_sip_test::{audio, tools};

const TOUR: &str = include_str!("../scenarios/tour.xml");
const DEMO_SUPPORT: &str = include_str!("../scenarios/demo-support.xml");
const SURVEY: &str = include_str!("../scenarios/survey.xml");
const WAIT_BYE: &str = include_str!("../scenarios/wait-bye.xml");
const T: Duration = Duration::from_secs(10);

/// A flows folder for one test: the fixtures (with `CRM_PORT` filled in) and the repository's prompts.
fn flows_dir(crm_port: u16) -> PathBuf {
    let dir = tools::temp_dir("flows");
    let fixtures = tools::workspace_root().join("sip-test/flows");
    for name in ["tour.yaml", "tour-sub.yaml", "basic.yaml", "verify-table.yaml"] {
        let text = std::fs::read_to_string(fixtures.join(name)).unwrap();
        std::fs::write(dir.join(name), text.replace("CRM_PORT", &crm_port.to_string())).unwrap();
    }
    std::os::unix::fs::symlink(
        tools::workspace_root().join("ivr-flows/prompts"),
        dir.join("prompts"),
    )
    .unwrap();
    dir
}

fn scenario(template: &str, caller: &str, dialed: &str) -> &'static str {
    Box::leak(
        template
            .replace("CALLER", caller)
            .replace("DIALED", dialed)
            .into_boxed_str(),
    )
}

fn crm() -> HttpServer {
    let mut routes = BTreeMap::new();
    routes.insert(
        "/crm?caller=5551230009".to_owned(),
        Canned {
            status: 200,
            body: r#"{"customer":{"tier":"gold"}}"#.into(),
        },
    );
    routes.insert(
        "/customers/1001".to_owned(),
        Canned {
            status: 200,
            body: r#"{"id":"1001","name":"Ada","phones":["5551230009"]}"#.into(),
        },
    );
    HttpServer::start(routes)
}

#[test]
fn every_node_kind_runs_on_a_real_call_with_an_http_lookup_server() {
    if tools::require("sipp").is_none() {
        return;
    }
    let crm = crm();
    let engine = Engine::start(Options {
        flows: Some(flows_dir(crm.port)),
        extra_config: "routes: {tour: tour, \"*\": hotline}\n".into(),
        ..Default::default()
    });
    let mut run = Run::new(scenario(TOUR, "5551230009", "tour"), engine.sip_addr());
    run.call_id_prefix = Some("tour");
    run.timeout = Duration::from_secs(40);
    let Some(result) = sipp::run(&run) else { return };
    assert_eq!(
        result.exit,
        0,
        "the tour failed:\n{}\n{}",
        result.traces(),
        engine.log_text()
    );

    // The stand-in CRM was asked for the data dip and for the identity lookup.
    let paths = crm.paths();
    assert!(paths.contains(&"/crm?caller=5551230009".to_owned()), "{paths:?}");
    assert!(paths.contains(&"/customers/1001".to_owned()), "{paths:?}");

    let calls = engine.ended_calls(1, "tour-", T);
    let c = &calls[0];
    assert_eq!(c["end_reason"], "transferred", "{c:#}");
    assert_eq!(c["verification"]["verified"], true);
    assert_eq!(c["verification"]["method"], "keyed_id");
    assert_eq!(c["verification"]["attempts"], 1);
    assert_eq!(c["verification"]["customer_id"], "1001");
    assert_eq!(c["fields"]["ani_match"], "true", "the caller's number is on file");
    assert_eq!(c["queue"], "support");
    let keys = c["keypresses"].as_str().unwrap();
    assert!(keys.starts_with('1') && keys.ends_with("42#"), "{keys}");
    assert!(!keys.contains("1001"), "the keyed customer id is masked: {keys}");
    let nodes: Vec<&str> = c["trail"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["kind"] == "node")
        .filter_map(|t| t["node"].as_str())
        .collect();
    for node in [
        "greet", "vars", "dip", "route", "menu", "verify", "extra", "jump", "sub", "queue", "xfer",
    ] {
        assert!(nodes.contains(&node), "node {node} not entered: {nodes:?}");
    }
    assert!(
        nodes.iter().any(|n| n.starts_with("tour-sub/")),
        "the subflow ran: {nodes:?}"
    );
}

#[test]
fn a_failed_data_dip_takes_the_failure_branch_to_a_hangup() {
    if tools::require("sipp").is_none() {
        return;
    }
    let crm = crm();
    let engine = Engine::start(Options {
        flows: Some(flows_dir(crm.port)),
        extra_config: "routes: {tour: tour}\n".into(),
        ..Default::default()
    });
    // This caller is unknown to the CRM: 404 → on_failure → bye (hangup).
    let mut run = Run::new(scenario(WAIT_BYE, "5550000000", "tour"), engine.sip_addr());
    run.call_id_prefix = Some("dipfail");
    let Some(result) = sipp::run(&run) else { return };
    assert_eq!(result.exit, 0, "{}", result.traces());
    let calls = engine.ended_calls(1, "dipfail-", T);
    assert_eq!(calls[0]["end_reason"], "flow_hangup");
    let nodes: Vec<&str> = calls[0]["trail"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["node"].as_str())
        .collect();
    assert!(nodes.contains(&"bye") && !nodes.contains(&"menu"), "{nodes:?}");
}

#[test]
fn the_demo_hotline_verifies_a_caller_and_queues_them_for_support() {
    if tools::require("sipp").is_none() {
        return;
    }
    let engine = Engine::start(Options {
        flows: Some(tools::workspace_root().join("ivr-flows")),
        ..Default::default()
    });
    let mut run = Run::new(
        scenario(DEMO_SUPPORT, "+15551230001", "hotline-test"),
        engine.sip_addr(),
    );
    run.call_id_prefix = Some("demo");
    run.timeout = Duration::from_secs(40);
    // What reaches SIPp's media port: the prompts, then the music while the caller waits.
    let media_port = hotline_sip_test::ports::block(4);
    run.media_port = Some(media_port);
    let capture = Capture::start(media_port);
    let Some(result) = sipp::run(&run) else { return };
    assert_eq!(result.exit, 0, "{}\n{}", result.traces(), engine.log_text());
    if let Some(capture) = capture {
        let payloads = capture::pcmu_payloads(&capture.stop());
        let heard = audio::pcmu_frames_of(&audio::demo_music(), &payloads);
        eprintln!("hold music: {heard} frames of {} packets", payloads.len());
        // The scenario waits 6 s in the queue after its last key; the verified prompt takes part of it.
        assert!(
            heard >= 100,
            "the queued caller heard {heard} frames of hold music (of {} packets)",
            payloads.len()
        );
    }
    let calls = engine.ended_calls(1, "demo-", T);
    let c = &calls[0];
    assert_eq!(c["flow"], "hotline");
    assert_eq!(c["verification"]["verified"], true, "{c:#}");
    assert_eq!(c["verification"]["customer_id"], "1001");
    assert_eq!(
        c["fields"]["ani_match"], "true",
        "+15551230001 is on file for customer 1001"
    );
    assert_eq!(c["queue"], "support");
    assert_eq!(c["end_reason"], "caller_hangup");
}

#[test]
fn the_survey_stores_the_rating_on_the_call_record() {
    if tools::require("sipp").is_none() {
        return;
    }
    let engine = Engine::start(Options {
        flows: Some(tools::workspace_root().join("ivr-flows")),
        extra_config: "routes: {survey: survey, \"*\": hotline}\n".into(),
        ..Default::default()
    });
    let mut run = Run::new(scenario(SURVEY, "+15551230002", "survey"), engine.sip_addr());
    run.call_id_prefix = Some("survey");
    let Some(result) = sipp::run(&run) else { return };
    assert_eq!(result.exit, 0, "{}", result.traces());
    let calls = engine.ended_calls(1, "survey-", T);
    assert_eq!(calls[0]["rating"], 4, "{:#}", calls[0]);
    assert_eq!(calls[0]["end_reason"], "flow_hangup");
}

/// The basic fixture flow with its greeting node renamed, to tell versions apart in a trail.
fn basic_variant(dir: &Path, greeting: &str) {
    let text = std::fs::read_to_string(tools::workspace_root().join("sip-test/flows/basic.yaml")).unwrap();
    let text = text
        .replace("start: greeting", &format!("start: {greeting}"))
        .replace("  greeting:\n", &format!("  {greeting}:\n"));
    std::fs::write(dir.join("basic.yaml"), text).unwrap();
}

fn answered(peer: &mut Peer, call_id: &str) -> String {
    peer.send(INVITE_PCMU, call_id);
    let ok = peer.expect_response(200, "INVITE", T);
    let to_tag = ok.headers.to().unwrap().tag().unwrap().to_owned();
    peer.send(&ACK.replace("{to_tag}", &to_tag), call_id);
    to_tag
}

fn bye(peer: &mut Peer, call_id: &str, to_tag: &str) {
    let bye = ACK
        .replace("ACK sip", "BYE sip")
        .replace("CSeq: 1 ACK", "CSeq: 2 BYE")
        .replace("-ack;", "-bye;")
        .replace("{to_tag}", to_tag);
    peer.send(&bye, call_id);
    peer.expect_response(200, "BYE", T);
}

fn trail_nodes(call: &serde_json::Value) -> Vec<String> {
    call["trail"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["node"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn hot_reload_keeps_running_calls_on_their_version_and_refuses_bad_flows() {
    let dir = tools::temp_dir("reload");
    std::os::unix::fs::symlink(
        tools::workspace_root().join("ivr-flows/prompts"),
        dir.join("prompts"),
    )
    .unwrap();
    basic_variant(&dir, "greeting_v1");
    let engine = Engine::start(Options {
        flows: Some(dir.clone()),
        extra_config: "flow_watch: 100ms\n".into(),
        ..Default::default()
    });

    // Call A starts on version 1 and stays in the call.
    let mut a = Peer::new(engine.sip_port);
    let tag_a = answered(&mut a, "reload-a");

    // Version 2 by file change: picked up by the watcher.
    basic_variant(&dir, "greeting_v2");
    assert!(
        engine.wait_log_count("flows reloaded", 1, T),
        "{}",
        engine.log_text()
    );
    let mut b = Peer::new(engine.sip_port);
    let tag_b = answered(&mut b, "reload-b");

    // A broken file is refused with its location; version 2 stays active.
    std::fs::write(
        dir.join("basic.yaml"),
        "flow: hotline\nstart: nowhere\nnodes:\n  a: { type: hangup, colour: red }\n",
    )
    .unwrap();
    assert!(engine.wait_log_count("flows reloaded", 2, T));
    let (status, body) = engine.api_get("/api/v1/flows");
    assert_eq!(status, 200);
    let flows: serde_json::Value = serde_json::from_str(&body).unwrap();
    let refused = &flows["refused"][0];
    assert!(
        refused["file"].as_str().unwrap().ends_with("basic.yaml"),
        "{flows:#}"
    );
    assert!(
        refused["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["line"] == 4 && d["message"].as_str().unwrap().contains("colour")),
        "{flows:#}"
    );
    let mut c = Peer::new(engine.sip_port);
    let tag_c = answered(&mut c, "reload-c");

    // SIGHUP reloads too (a valid version 3), and so does the API.
    basic_variant(&dir, "greeting_v3");
    let _ = std::process::Command::new("kill")
        .arg("-HUP")
        .arg(engine.pid().to_string())
        .status();
    assert!(
        engine.wait_log("reason=\"SIGHUP\"", T) || engine.wait_log("reason=SIGHUP", T),
        "{}",
        engine.log_text()
    );
    let (status, body) =
        hotline_sip_test::http::post(engine.http_port, "/api/v1/flows/reload", b"", Some(TOKEN)).unwrap();
    assert_eq!(status, 200, "{body}");
    let report: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        report["unchanged"][0], "hotline",
        "nothing changed since the SIGHUP: {report:#}"
    );

    for (peer, id, tag) in [
        (&mut a, "reload-a", &tag_a),
        (&mut b, "reload-b", &tag_b),
        (&mut c, "reload-c", &tag_c),
    ] {
        bye(peer, id, tag);
    }
    let calls = engine.ended_calls(3, "reload-", T);
    let by_id = |id: &str| calls.iter().find(|c| c["sip_call_id"] == id).unwrap().clone();
    let (ca, cb, cc) = (by_id("reload-a"), by_id("reload-b"), by_id("reload-c"));
    assert!(trail_nodes(&ca).contains(&"greeting_v1".to_owned()), "{ca:#}");
    assert!(trail_nodes(&cb).contains(&"greeting_v2".to_owned()), "{cb:#}");
    assert!(
        trail_nodes(&cc).contains(&"greeting_v2".to_owned()),
        "the refused file did not replace v2: {cc:#}"
    );
    assert_ne!(ca["flow_version"], cb["flow_version"]);
    assert_eq!(cb["flow_version"], cc["flow_version"]);

    // Every activated version is kept.
    let (status, body) = engine.api_get("/api/v1/flows/hotline/versions");
    assert_eq!(status, 200);
    let versions: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
    assert_eq!(versions.len(), 3, "{versions:#?}");
    for v in [&ca["flow_version"], &cb["flow_version"]] {
        assert!(versions.iter().any(|x| &x["version"] == v));
    }
}

#[test]
fn the_validate_endpoint_reports_errors_with_their_location() {
    let engine = Engine::start(Options::default());
    let bad = b"flow: x\nstart: a\nnodes:\n  a: { type: play, prompt: nope, next: a2 }\n";
    let (status, body) = hotline_sip_test::http::post(
        engine.http_port,
        "/api/v1/flows/validate?file=x.yaml",
        bad,
        Some(TOKEN),
    )
    .unwrap();
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["valid"], false);
    let diags = v["diagnostics"].as_array().unwrap();
    assert!(
        diags
            .iter()
            .any(|d| d["file"] == "x.yaml" && d["line"] == 4 && d["col"] == 28),
        "{v:#}"
    );
}

#[test]
fn identity_is_verified_against_the_customers_table() {
    if tools::require("sipp").is_none() {
        return;
    }
    // The customer is in the engine's database before it starts.
    let data_dir = tools::temp_dir("table-data");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = store::Store::connect(&format!("sqlite://{}/hotline.db", data_dir.display()))
            .await
            .unwrap();
        store
            .upsert_customer(&store::Customer {
                id: "C-77".into(),
                name: "Katherine Johnson".into(),
                phones: vec!["+1 555 010 7777".into()],
                attributes: BTreeMap::new(),
            })
            .await
            .unwrap();
        store.close().await;
    });
    let engine = Engine::start(Options {
        flows: Some(flows_dir(0)),
        data_dir: Some(data_dir),
        extra_config: "routes: {\"*\": verify-table}\n".into(),
        ..Default::default()
    });
    let xml = sipp::info_digits_then_bye("5550001234", "verify", "15550107777#", 300);
    let mut run = Run::new(&xml, engine.sip_addr());
    run.call_id_prefix = Some("table");
    let Some(result) = sipp::run(&run) else { return };
    assert_eq!(result.exit, 0, "{}\n{}", result.traces(), engine.log_text());
    let calls = engine.ended_calls(1, "table-", T);
    let c = &calls[0];
    assert_eq!(c["verification"]["verified"], true, "{c:#}");
    assert_eq!(c["verification"]["method"], "keyed_number");
    assert_eq!(c["verification"]["customer_id"], "C-77");
    assert!(
        c["trail"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["node"] == "known")
    );
}
