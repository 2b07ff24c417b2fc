//! Callbacks on the wire: a caller waiting in support presses `*`, hears that they will be called back,
//! and the engine hangs up. A second caller who joined after them waits on the line. When the agent goes
//! idle, the callback keeps its place and rings first: the agent's phone shows the customer's number
//! (display name "Callback"); the agent answers, hears nothing from the queue, and the engine calls the
//! customer through the trunk (here a scripted peer). Audio crosses both ways, the agent hangs up, the
//! customer gets BYE, and both records tell the story.
#![allow(clippy::unwrap_used)] // tests

use std::time::Duration;

use hotline_sip_test::engine::{Engine, Options};
use hotline_sip_test::peer::{self, Peer};
use hotline_sip_test::{agent, audio, http, tools};

const T: Duration = Duration::from_secs(10);

/// The agent's phone (answering `invite`) sends 1000 Hz and the customer (answering `call` at the trunk)
/// 440 Hz; each must hear the other across the engine's bridge.
fn audio_both_ways(phone: &Peer, invite: &sip_msg::Request, trunk: &Peer, call: &sip_msg::Request) {
    let customer_tone = trunk.stream_tone(peer::sdp_addr(&call.body), 440.0, Duration::from_secs(4));
    let agent_tone = phone.stream_tone(peer::sdp_addr(&invite.body), 1000.0, Duration::from_secs(4));
    let heard_by_agent = audio::pcmu_decoded(&phone.collect_rtp(Duration::from_secs(2)));
    let heard_by_customer = audio::pcmu_decoded(&trunk.collect_rtp(Duration::from_secs(2)));
    let tail = |v: &[i16]| v[v.len().saturating_sub(8000)..].to_vec();
    let agent_440 = audio::tone_ratio(&tail(&heard_by_agent), 440.0, 8000.0);
    let customer_1000 = audio::tone_ratio(&tail(&heard_by_customer), 1000.0, 8000.0);
    assert!(
        agent_440 > 0.2,
        "the agent hears the customer (440 Hz ratio {agent_440:.3})"
    );
    assert!(
        customer_1000 > 0.2,
        "the customer hears the agent (1000 Hz ratio {customer_1000:.3})"
    );
    customer_tone.join().unwrap();
    agent_tone.join().unwrap();
}

#[test]
fn a_caller_who_asks_for_a_callback_keeps_their_place_and_is_called_back_through_the_trunk() {
    called_back(None);
}

#[test]
fn the_same_on_postgresql() {
    if let Some(db) = hotline_sip_test::pg::fresh_database() {
        called_back(Some(db.url.clone()));
    }
}

fn called_back(database: Option<String>) {
    let mut trunk = Peer::new(0);
    let engine = Engine::start(Options {
        database,
        flows: Some(tools::workspace_root().join("ivr-flows")),
        extra_config: format!(
            "trunk: {{address: 127.0.0.1:{}, caller_id: \"+15550009999\", ring_timeout: 20s}}\n\
             queues: [{{name: support, callback_key: \"*\", announce_every: 0s}}, {{name: sales}}]\n",
            trunk.sip_port()
        ),
        ..Default::default()
    });
    trunk.target.set_port(engine.sip_port);
    agent::create(
        engine.http_port,
        br#"{"id": "4001", "name": "Katherine", "password": "orbital-mechanics", "queues": ["support"], "skills": {"support": 5}}"#,
    );
    let mut phone = Peer::new(engine.sip_port);
    agent::register(&mut phone, "4001", "orbital-mechanics");

    // First caller: into support, where no agent is idle yet.
    let mut first = Peer::new(engine.sip_port);
    let (first_tag, _) = agent::dial_test_line(&mut first, "callback-first");
    agent::key_into_support(&mut first, "callback-first", &first_tag);
    assert!(
        engine.wait_log("caller joined the queue", T),
        "{}",
        engine.log_text()
    );
    // Second caller: joins after the first and stays on the line.
    let mut second = Peer::new(engine.sip_port);
    let (second_tag, _) = agent::dial_test_line(&mut second, "callback-second");
    agent::key_into_support(&mut second, "callback-second", &second_tag);
    assert!(
        engine.wait_log_count("caller joined the queue", 2, T),
        "{}",
        engine.log_text()
    );

    // The first caller presses *: the confirmation, then our BYE.
    first.drain_rtp();
    agent::key_test_line(&mut first, "callback-first", &first_tag, '*', 8);
    assert!(engine.wait_log("callback parked", T), "{}", engine.log_text());
    let heard = first.collect_rtp(Duration::from_secs(3));
    let said = audio::pcmu_frames_of(&audio::demo_prompt("callback-confirmed"), &heard);
    assert!(
        said >= 50,
        "the caller hears \"We will call you back…\": {said} of {} packets match the prompt",
        heard.len()
    );
    let bye = first.expect_request("BYE", T);
    first.reply_ok(&bye);

    // The agent goes idle: the callback rings first although the second caller is waiting on the line.
    agent::set_idle(engine.http_port, "4001");
    let invite = phone.expect_request("INVITE", T);
    let from = invite.headers.from().unwrap();
    assert_eq!(from.uri.user(), Some("+15550001111"), "the customer's number");
    assert_eq!(
        from.display_name.as_deref(),
        Some("Callback"),
        "the callback is offered before the caller who joined later"
    );
    agent::answer(&phone, &invite);
    phone.expect_request("ACK", T);

    // Only now is the customer called, through the trunk, from our caller id.
    let call = trunk.expect_request("INVITE", T);
    assert_eq!(call.uri.user(), Some("+15550001111"));
    assert_eq!(call.headers.from().unwrap().uri.user(), Some("+15550009999"));
    agent::answer(&trunk, &call);
    trunk.expect_request("ACK", T);
    audio_both_ways(&phone, &invite, &trunk, &call);

    // The agent hangs up; the customer gets BYE.
    agent::hang_up(&mut phone, &invite);
    let bye = trunk.expect_request("BYE", T);
    trunk.reply_ok(&bye);

    let firsts = engine.ended_calls(2, "callback-first", T);
    let original = &firsts[0];
    assert_eq!(original["end_reason"], "callback_requested", "{original:#}");
    assert_eq!(original["queue"], "support");
    let callbacks = engine.ended_calls(2, call.headers.call_id().unwrap(), T);
    let cb = &callbacks[0];
    assert_eq!(cb["end_reason"], "agent_hangup", "{cb:#}");
    assert_eq!(cb["agent"], "4001");
    assert_eq!(cb["queue"], "support");
    assert_eq!(cb["from"], "+15550001111");
    assert_eq!(cb["fields"]["callback_of"], original["id"]);

    // Then the second caller, still waiting, is offered to the same agent once she is free again.
    let next = phone.expect_request("INVITE", Duration::from_secs(30));
    assert_eq!(next.headers.from().unwrap().display_name.as_deref(), Some("Test"));
    agent::hang_up_test_line(&mut second, "callback-second", &second_tag);
}

/// An agent's outbound call: the agent (allowed to dial out) asks for a number over the agent API, their
/// phone rings first, and once they answer the engine calls the number through the trunk and bridges them.
/// An agent without the right gets 403, a bad number 400, a second call while one runs 409.
#[test]
fn an_agent_dials_out_their_phone_rings_first_then_the_number_through_the_trunk() {
    let mut trunk = Peer::new(0);
    let engine = Engine::start(Options {
        flows: Some(tools::workspace_root().join("ivr-flows")),
        extra_config: format!(
            "trunk: {{address: 127.0.0.1:{}, caller_id: \"+15550009999\"}}\n",
            trunk.sip_port()
        ),
        ..Default::default()
    });
    trunk.target.set_port(engine.sip_port);
    agent::create(
        engine.http_port,
        br#"{"id": "5001", "name": "Olive", "password": "dial-out-please", "queues": ["sales"], "can_dial_out": true}"#,
    );
    agent::create(
        engine.http_port,
        br#"{"id": "5002", "name": "Pat", "password": "dial-out-please", "queues": ["sales"]}"#,
    );
    let mut phone = Peer::new(engine.sip_port);
    agent::register(&mut phone, "5001", "dial-out-please");
    agent::set_idle(engine.http_port, "5001");
    let token = |agent: &str| {
        let body = format!(r#"{{"agent": "{agent}", "password": "dial-out-please"}}"#);
        let (status, text) =
            http::post_json(engine.http_port, "/api/v1/agent/login", body.as_bytes(), None).unwrap();
        assert_eq!(status, 200, "{text}");
        serde_json::from_str::<serde_json::Value>(&text).unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (olive, pat) = (token("5001"), token("5002"));
    let dial = |token: &str, number: &str| {
        http::post_json(
            engine.http_port,
            "/api/v1/agent/dial",
            format!(r#"{{"number": "{number}"}}"#).as_bytes(),
            Some(token),
        )
        .unwrap()
    };
    assert_eq!(dial(&pat, "+15557654321").0, 403, "Pat may not dial out");
    let twenty = format!("+{}", "5".repeat(19));
    assert_eq!(
        dial(&pat, &twenty).0,
        403,
        "20 characters is a number (then the right is checked)"
    );
    assert_eq!(dial(&pat, &format!("{twenty}5")).0, 400, "21 characters is not");
    assert_eq!(dial(&olive, "12x").0, 400);
    let (status, text) = dial(&olive, "+15557654321");
    assert_eq!(status, 202, "{text}");
    let call_id = serde_json::from_str::<serde_json::Value>(&text).unwrap()["call"]
        .as_str()
        .unwrap()
        .to_owned();

    // Olive's phone rings with the number she dialled; the number is called only once she answers.
    let invite = phone.expect_request("INVITE", T);
    let from = invite.headers.from().unwrap();
    assert_eq!(from.uri.user(), Some("+15557654321"));
    assert_eq!(from.display_name.as_deref(), Some("Outbound call"));
    assert_eq!(dial(&olive, "+15557654322").0, 409, "one outbound call at a time");
    agent::answer(&phone, &invite);
    phone.expect_request("ACK", T);
    let call = trunk.expect_request("INVITE", T);
    assert_eq!(call.uri.user(), Some("+15557654321"));
    assert_eq!(call.headers.from().unwrap().uri.user(), Some("+15550009999"));
    agent::answer(&trunk, &call);
    trunk.expect_request("ACK", T);
    audio_both_ways(&phone, &invite, &trunk, &call);

    // The callee hangs up: Olive's phone gets BYE; the record says who dialled what.
    agent::hang_up(&mut trunk, &call);
    let bye = phone.expect_request("BYE", T);
    phone.reply_ok(&bye);
    let records = engine.ended_calls(1, call.headers.call_id().unwrap(), T);
    let r = &records[0];
    assert_eq!(r["id"], call_id.as_str());
    assert_eq!(
        (r["from"].as_str(), r["to"].as_str()),
        (Some("+15557654321"), Some("outbound")),
        "{r:#}"
    );
    assert_eq!(r["agent"], "5001");
    assert_eq!(r["fields"]["outbound_by"], "5001");
    assert_eq!(r["end_reason"], "caller_hangup", "the callee ended it");

    // Free again: a new call is placed; Olive declines it on her phone and it ends without ringing anyone.
    assert!(engine.wait_log("outbound call ended", T));
    let (status, text) = dial(&olive, "+15557654321");
    assert_eq!(status, 202, "{text}");
    let again = phone.expect_request("INVITE", T);
    let busy = sip_msg::Response::from_request(&again, sip_msg::StatusCode::BUSY_HERE);
    phone.send_raw(&busy.to_bytes());
    assert!(
        engine.wait_log_count("outbound call ended", 2, T),
        "{}",
        engine.log_text()
    );
}
