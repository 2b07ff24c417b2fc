//! The queue on the wire: a caller goes through the demo flow (support, verified) into the support queue,
//! a registered agent phone that is idle is offered the call (INVITE with the caller's number in From),
//! answers, and audio crosses the bridge both ways, checked by tone; the agent hangs up and the caller gets
//! BYE; the record says so.
#![allow(clippy::unwrap_used)] // tests

use std::time::Duration;

use hotline_sip_test::engine::{Engine, Options, TOKEN};
use hotline_sip_test::peer::{self, Peer};
use hotline_sip_test::{agent, audio, http, tools};
use sip_msg::HeaderName;

const T: Duration = Duration::from_secs(10);

#[test]
fn a_queued_caller_reaches_a_registered_idle_agent_and_audio_flows_both_ways() {
    queued_call_reaches_an_agent(None);
}

#[test]
fn the_same_on_postgresql() {
    if let Some(db) = hotline_sip_test::pg::fresh_database() {
        queued_call_reaches_an_agent(Some(db.url.clone()));
    }
}

fn queued_call_reaches_an_agent(database: Option<String>) {
    let engine = Engine::start(Options {
        flows: Some(tools::workspace_root().join("ivr-flows")),
        database,
        ..Default::default()
    });
    // The agent: created over REST, phone registered with digest auth, set idle.
    let body =
        br#"{"id": "4001", "name": "Katherine", "password": "orbital-mechanics", "queues": ["support"], "skills": {"support": 5}}"#;
    let (status, text) = http::post_json(engine.http_port, "/api/v1/agents", body, Some(TOKEN)).unwrap();
    assert_eq!(status, 201, "{text}");
    let mut phone = Peer::new(engine.sip_port);
    agent::register(&mut phone, "4001", "orbital-mechanics");
    agent::set_idle(engine.http_port, "4001");

    // The caller: the demo's test line, 2 for support, customer number 1001.
    let mut caller = Peer::new(engine.sip_port);
    let call_id = "queued-1";
    let (to_tag, media) = agent::dial_test_line(&mut caller, call_id);
    let caller_tone = caller.stream_tone(media, 440.0, Duration::from_secs(12));
    agent::key_into_support(&mut caller, call_id, &to_tag);

    // The agent's phone rings with the caller's number and the interaction id.
    let invite = phone.expect_request("INVITE", Duration::from_secs(30));
    assert_eq!(invite.headers.from().unwrap().uri.user(), Some("+15550001111"));
    assert!(
        invite
            .headers
            .get(&HeaderName::Other("X-Hotline-Interaction".into()))
            .is_some()
    );
    agent::answer(&phone, &invite);
    phone.expect_request("ACK", T);
    let agent_tone = phone.stream_tone(peer::sdp_addr(&invite.body), 1000.0, Duration::from_secs(4));

    // Audio both ways across the bridge.
    let heard_by_agent = audio::pcmu_decoded(&phone.collect_rtp(Duration::from_secs(2)));
    let heard_by_caller = audio::pcmu_decoded(&caller.collect_rtp(Duration::from_secs(2)));
    let tail = |v: &[i16]| v[v.len().saturating_sub(8000)..].to_vec();
    let agent_440 = audio::tone_ratio(&tail(&heard_by_agent), 440.0, 8000.0);
    let caller_1000 = audio::tone_ratio(&tail(&heard_by_caller), 1000.0, 8000.0);
    assert!(
        agent_440 > 0.2,
        "the agent hears the caller's 440 Hz tone (ratio {agent_440:.3}, {} samples)",
        heard_by_agent.len()
    );
    assert!(
        caller_1000 > 0.2,
        "the caller hears the agent's 1000 Hz tone (ratio {caller_1000:.3}, {} samples)",
        heard_by_caller.len()
    );
    agent_tone.join().unwrap();

    // The agent hangs up; the caller gets BYE.
    agent::hang_up(&mut phone, &invite);
    let bye = caller.expect_request("BYE", T);
    caller.reply_ok(&bye);

    let calls = engine.ended_calls(1, "queued-1", T);
    let c = &calls[0];
    assert_eq!(c["end_reason"], "agent_hangup", "{c:#}");
    assert_eq!(c["hangup_by"], "agent");
    assert_eq!(c["queue"], "support");
    assert_eq!(c["verification"]["verified"], true);
    assert_eq!(
        c["region"]["region"], "Fictional (NANP 555)",
        "from ivr-flows/regions.csv: {c:#}"
    );
    assert_eq!(c["region"]["country_code"], "1");
    let (_, queues) = engine.api_get("/api/v1/queues");
    let q: serde_json::Value = serde_json::from_str(&queues).unwrap();
    assert_eq!(q["support"]["answered"], 1, "{q:#}");
    caller_tone.join().unwrap();

    // The queue's history in the database: the wait, the offer that was answered, the agent's states.
    let call = c["id"].as_str().unwrap();
    let entries = wait_json(
        &engine,
        &format!("/api/v1/queue-entries?interaction={call}"),
        |v| v[0]["outcome"] == "finished",
    );
    let e = &entries[0];
    assert_eq!(
        (e["queue"].as_str(), e["channel"].as_str()),
        (Some("support"), Some("call")),
        "{e:#}"
    );
    assert_eq!(e["agent"], "4001");
    assert!(e["connected_at_ms"].as_i64() >= e["joined_at_ms"].as_i64());
    assert_eq!(e["offers"][0]["agent"], "4001");
    assert_eq!(e["offers"][0]["outcome"], "answered");
    let history = wait_json(&engine, "/api/v1/agents/4001/status-history", |v| {
        v.as_array()
            .is_some_and(|rows| rows.iter().any(|r| r["state"] == "in_call"))
    });
    let states: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .filter_map(|r| r["state"].as_str())
        .collect();
    let offered = states.iter().position(|s| *s == "offered").expect("offered");
    let in_call = states.iter().position(|s| *s == "in_call").expect("in call");
    assert!(offered < in_call, "offered, then in the call: {states:?}");

    // The recording: from the agent's answer, caller (440 Hz) left and agent (1000 Hz) right.
    let rec_id = c["recording"]
        .as_str()
        .expect("the call names its recording")
        .to_owned();
    let rec = wait_recording_closed(&engine, &rec_id);
    assert_eq!(rec["status"], "complete", "{rec:#}");
    let (status, _) = http::get(
        engine.http_port,
        &format!("/api/v1/recordings/{rec_id}/audio"),
        None,
    )
    .unwrap();
    assert_eq!(status, 401, "recordings are behind the API token");
    let (status, head, wav) = http::get_bytes(
        engine.http_port,
        &format!("/api/v1/recordings/{rec_id}/audio"),
        Some(TOKEN),
    )
    .unwrap();
    assert_eq!(status, 200, "{head}");
    assert!(
        head.to_ascii_lowercase().contains("content-type: audio/wav"),
        "{head}"
    );
    let (left, right, rate) = audio::stereo_wav(&wav);
    assert_eq!(rate, 8000);
    let secs = left.len() as f64 / 8000.0;
    assert!(secs > 3.0, "the recording holds the conversation ({secs:.1} s)");
    let talk = |v: &[i16]| v[8000..v.len().min(8000 * 4)].to_vec();
    let (l440, l1000) = (
        audio::tone_ratio(&talk(&left), 440.0, 8000.0),
        audio::tone_ratio(&talk(&left), 1000.0, 8000.0),
    );
    let (r440, r1000) = (
        audio::tone_ratio(&talk(&right), 440.0, 8000.0),
        audio::tone_ratio(&talk(&right), 1000.0, 8000.0),
    );
    eprintln!(
        "recording {secs:.1} s: left 440 {l440:.2} / 1000 {l1000:.2}, right 440 {r440:.2} / 1000 {r1000:.2}"
    );
    assert!(
        l440 > 0.3 && l1000 < 0.05,
        "the caller's tone is on the left only"
    );
    assert!(
        r1000 > 0.3 && r440 < 0.05,
        "the agent's tone is on the right only"
    );
    assert_eq!(
        rec["duration_ms"].as_i64().unwrap(),
        (left.len() / 8) as i64,
        "the row's duration is the file's"
    );
}

/// Waits (bounded) until the recording's row has been closed on disk, and returns it.
fn wait_recording_closed(engine: &Engine, id: &str) -> serde_json::Value {
    assert!(
        engine.wait_log("recording row closed", T),
        "the recording was not closed:\n{}",
        engine.log_text()
    );
    let (status, text) = engine.api_get(&format!("/api/v1/recordings/{id}"));
    assert_eq!(status, 200, "{text}");
    serde_json::from_str(&text).unwrap()
}

/// Support has no agent and a 2 s max wait overflowing into sales, where an agent (with the support skill
/// the caller still needs) is idle: the caller is moved, rung through to that agent, and the record says
/// sales.
#[test]
fn a_caller_overflows_into_another_queue_after_its_max_wait() {
    let engine = Engine::start(Options {
        flows: Some(tools::workspace_root().join("ivr-flows")),
        extra_config: "queues: [{name: support, max_wait: 2s, overflow: sales}, {name: sales}]\n".into(),
        ..Default::default()
    });
    agent::create(
        engine.http_port,
        br#"{"id": "4003", "name": "Margaret", "password": "apollo-guidance", "queues": ["sales"], "skills": {"support": 2}}"#,
    );
    let mut phone = Peer::new(engine.sip_port);
    agent::register(&mut phone, "4003", "apollo-guidance");
    agent::set_idle(engine.http_port, "4003");

    let mut caller = Peer::new(engine.sip_port);
    let call_id = "overflow-1";
    let (to_tag, _) = agent::dial_test_line(&mut caller, call_id);
    agent::key_into_support(&mut caller, call_id, &to_tag);
    assert!(
        engine.wait_log("caller moved to the overflow queue", Duration::from_secs(30)),
        "{}",
        engine.log_text()
    );
    let invite = phone.expect_request("INVITE", T);
    assert_eq!(invite.headers.from().unwrap().uri.user(), Some("+15550001111"));
    agent::answer(&phone, &invite);
    phone.expect_request("ACK", T);
    assert!(engine.wait_log("contact connected to an agent", T));
    agent::hang_up_test_line(&mut caller, call_id, &to_tag);
    let bye = phone.expect_request("BYE", T);
    phone.reply_ok(&bye);
    let calls = engine.ended_calls(1, call_id, T);
    assert_eq!(calls[0]["queue"], "sales", "{:#}", calls[0]);
    let (_, queues) = engine.api_get("/api/v1/queues");
    let q: serde_json::Value = serde_json::from_str(&queues).unwrap();
    assert_eq!(q["sales"]["answered"], 1, "{q:#}");
    assert_eq!(q["support"]["answered"], 0, "{q:#}");
}

/// A caller waiting in support, with no agent, hears their place in line every 5 s ("You are number one in
/// line."), and the hold music comes back after each announcement.
#[test]
fn a_waiting_caller_hears_their_place_in_line_between_the_music() {
    let engine = Engine::start(Options {
        flows: Some(tools::workspace_root().join("ivr-flows")),
        extra_config: "queues: [{name: support, announce_every: 5s}, {name: sales}]\n".into(),
        ..Default::default()
    });
    let mut caller = Peer::new(engine.sip_port);
    let call_id = "announce-1";
    let (to_tag, _) = agent::dial_test_line(&mut caller, call_id);
    agent::key_into_support(&mut caller, call_id, &to_tag);
    assert!(
        engine.wait_log("queue position announced", Duration::from_secs(15)),
        "{}",
        engine.log_text()
    );
    assert!(
        engine.log_text().contains("position=1"),
        "the only caller is first in line"
    );
    // The announcement (about 2 s), then music; the next announcement is due 5 s after this one.
    let announcement = caller.collect_rtp(Duration::from_secs(3));
    let after = caller.collect_rtp(Duration::from_millis(1500));
    let said = audio::pcmu_frames_of(&audio::demo_prompt("queue-position"), &announcement);
    let voiced = audio::voiced_frames(&audio::demo_prompt("queue-position"));
    assert!(
        said * 10 >= voiced * 8,
        "the caller heard {said} of the {voiced} voiced frames of \"You are number\""
    );
    let music = audio::pcmu_frames_of(&audio::demo_music(), &after);
    assert!(
        music >= 40,
        "the hold music is back after the announcement: {music} of {} packets",
        after.len()
    );
    agent::hang_up_test_line(&mut caller, call_id, &to_tag);
}

/// Music on hold is one stream shared by every waiting caller, like a radio: two callers who joined the queue
/// seconds apart hear the same frames of the `moh/` tracks at the same moments.
#[test]
fn waiting_callers_share_one_music_on_hold_stream() {
    let engine = Engine::start(Options {
        flows: Some(tools::workspace_root().join("ivr-flows")),
        extra_config: "queues: [{name: support, announce_every: 0s}, {name: sales}]\n".into(),
        ..Default::default()
    });
    let mut first = Peer::new(engine.sip_port);
    let (first_tag, _) = agent::dial_test_line(&mut first, "moh-1");
    agent::key_into_support(&mut first, "moh-1", &first_tag);
    assert!(
        engine.wait_log("caller joined the queue", T),
        "{}",
        engine.log_text()
    );
    // The second caller goes through the menu and verification prompts only now: seconds behind.
    let mut second = Peer::new(engine.sip_port);
    let (second_tag, _) = agent::dial_test_line(&mut second, "moh-2");
    agent::key_into_support(&mut second, "moh-2", &second_tag);
    assert!(
        engine.wait_log_count("caller joined the queue", 2, T),
        "{}",
        engine.log_text()
    );
    first.drain_rtp();
    second.drain_rtp();
    let (heard_first, heard_second) = std::thread::scope(|s| {
        let a = s.spawn(|| first.collect_rtp(Duration::from_secs(3)));
        let b = s.spawn(|| second.collect_rtp(Duration::from_secs(3)));
        (a.join().unwrap(), b.join().unwrap())
    });
    let music = audio::demo_music();
    for (who, heard) in [("first", &heard_first), ("second", &heard_second)] {
        let frames = audio::pcmu_frames_of(&music, heard);
        assert!(
            frames * 10 >= heard.len() * 8,
            "the {who} caller hears the moh/ music: {frames} of {} packets",
            heard.len()
        );
    }
    let on_air: std::collections::HashSet<&Vec<u8>> = heard_second.iter().collect();
    let shared = heard_first.iter().filter(|p| on_air.contains(p)).count();
    assert!(
        shared * 10 >= heard_first.len() * 9,
        "both callers hear the same frames at the same time: {shared} of {} shared",
        heard_first.len()
    );
    agent::hang_up_test_line(&mut first, "moh-1", &first_tag);
    agent::hang_up_test_line(&mut second, "moh-2", &second_tag);
}

/// Reads `path` until `done` holds for its JSON, looking again after each history write (the history is
/// written behind the call), for at most 10 s.
fn wait_json(engine: &Engine, path: &str, done: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    let deadline = std::time::Instant::now() + T;
    loop {
        let (status, text) = engine.api_get(path);
        assert_eq!(status, 200, "{path}: {text}");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        if done(&v) {
            return v;
        }
        // Wait for the writer's next commit, then look again.
        let written = engine.log_text().matches("queue history written").count();
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        assert!(
            engine.wait_log_count("queue history written", written + 1, left),
            "{path} never got there: {v:#}"
        );
    }
}
