//! The agent workstation (`/workstation/`) in headless Chromium: the agent logs in (a wrong password is
//! refused with a plain message), goes idle, takes a chat offered from the support queue, and talks with the
//! customer, whose side is a WebSocket here; a second chat's arrival leaves the first one's unread count on
//! its tab; a break stops offers; a reload keeps the session, chats and status; ending and logging out work. Screenshots go to the engine's data dir, or
//! to `HOTLINE_SCREENSHOTS` when set (that is how `docs/images/` is refreshed).
#![allow(clippy::unwrap_used)] // tests

use std::path::PathBuf;
use std::time::Duration;

use hotline_sip_test::browser::Browser;
use hotline_sip_test::engine::{Engine, Options};
use hotline_sip_test::ws::Ws;
use hotline_sip_test::{agent, audio, http};
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(10);
const PASSWORD: &str = "workstation-1";

fn open_chat(engine: &Engine, body: Value) -> (String, Ws) {
    let (status, text) = http::post_json(
        engine.http_port,
        "/api/v1/chats",
        body.to_string().as_bytes(),
        None,
    )
    .unwrap();
    assert_eq!(status, 201, "{text}");
    let opened: Value = serde_json::from_str(&text).unwrap();
    let mut ws = Ws::connect(engine.http_port, opened["ws"].as_str().unwrap()).unwrap();
    ws.expect("welcome", T);
    (opened["id"].as_str().unwrap().to_owned(), ws)
}

fn support(engine: &Engine) -> Value {
    let (status, text) = engine.api_get("/api/v1/queues");
    assert_eq!(status, 200, "{text}");
    serde_json::from_str::<Value>(&text).unwrap()["support"].clone()
}

#[test]
fn an_agent_takes_chats_in_the_browser_workstation() {
    let Some(mut b) = Browser::launch() else {
        return;
    };
    let engine = Engine::start(Options::default());
    let shots = std::env::var_os("HOTLINE_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| engine.data_dir.clone());
    agent::create(
        engine.http_port,
        json!({"id": "alice", "name": "Alice", "password": PASSWORD, "queues": ["support"], "max_chats": 3})
            .to_string()
            .as_bytes(),
    );
    let base = format!("http://127.0.0.1:{}", engine.http_port);
    b.goto(&format!("{base}/workstation/"));

    // Logging in: a wrong password says so; the right one opens the workstation.
    b.fill("#login-agent", "alice");
    b.fill("#login-password", "not-the-password");
    b.click("#login-submit");
    b.wait_text("#login-error", "Wrong agent or password");
    b.fill("#login-password", PASSWORD);
    b.click("#login-submit");
    b.wait("#main");
    assert_eq!(b.text("#agent-name"), "alice");
    b.click("button[data-status=idle]");
    b.wait("button[data-status=idle][aria-pressed=true]");
    b.screenshot(&shots.join("workstation-idle.png"));

    // A customer opens a chat in support: the offer shows the first words; the agent accepts.
    let (first, mut dana) = open_chat(
        &engine,
        json!({"queue": "support", "name": "Dana", "number": "+15550001111", "text": "My card is blocked"}),
    );
    b.wait_text(".offer .offer-preview", "My card is blocked");
    b.screenshot(&shots.join("workstation-offer.png"));
    b.click(".offer .offer-accept");
    assert_eq!(dana.expect("agent_joined", T)["agent"], "alice");
    b.wait_text(".chat-log .msg[data-from=customer]", "My card is blocked");
    assert_eq!(b.count(".offer"), 0, "the accepted offer is gone");

    // Messages both ways.
    b.fill("#chat-input", "Let me check that for you.");
    b.click("#chat-send");
    let heard = dana.expect("message", T);
    assert_eq!(
        (heard["from"].as_str(), heard["text"].as_str()),
        (Some("agent"), Some("Let me check that for you."))
    );
    dana.send(&json!({"type": "message", "text": "Thank you"}));
    b.wait_text(".chat-log .msg[data-from=customer]", "Thank you");

    // A second chat: taking it moves the view there, and the first chat's new message shows as unread.
    let (second, mut erik) = open_chat(
        &engine,
        json!({"queue": "support", "name": "Erik", "text": "Hello?"}),
    );
    b.wait_text(".offer .offer-preview", "Hello?");
    b.click(".offer .offer-accept");
    erik.expect("agent_joined", T);
    b.wait(&format!(".chat-tab[data-chat='{second}'][aria-selected=true]"));
    dana.send(&json!({"type": "message", "text": "Are you still there?"}));
    b.wait_text(&format!(".chat-tab[data-chat='{first}'] .unread"), "1");
    b.screenshot(&shots.join("workstation-chats.png"));
    b.click(&format!(".chat-tab[data-chat='{first}']"));
    b.wait_text(".chat-log .msg[data-from=customer]", "Are you still there?");
    assert_eq!(
        b.attr(&format!(".chat-tab[data-chat='{first}'] .unread"), "hidden"),
        Some(String::new()),
        "reading the chat clears its unread count"
    );

    // A break stops offers: a new chat waits, nobody is offered it.
    b.click("button[data-status=break]");
    b.wait("button[data-status=break][aria-pressed=true]");
    // Reloading the page keeps the session, the chats and the status.
    b.goto(&format!("{base}/workstation/"));
    b.wait("button[data-status=break][aria-pressed=true]");
    b.wait(&format!(".chat-tab[data-chat='{first}']"));
    b.click(&format!(".chat-tab[data-chat='{first}']"));
    b.wait_text(".chat-log .msg[data-from=customer]", "Are you still there?");
    let (_third, _fay) = open_chat(&engine, json!({"queue": "support", "name": "Fay", "text": "Hi"}));
    let q = support(&engine);
    assert_eq!(
        (q["waiting"].as_u64(), q["offering"].as_u64()),
        (Some(1), Some(0)),
        "{q}"
    );
    assert_eq!(q["agents_away"], 1, "{q}");
    assert_eq!(b.count(".offer"), 0);

    // The agent ends the first chat; the customer is told. Then logs out.
    b.click("#chat-end");
    let ended = dana.expect("ended", T);
    assert_eq!(ended["reason"], "agent_ended");
    b.wait_text(".chat-log .msg.ended", "agent_ended");
    b.click("#logout");
    b.wait_text("#login-error", "Logged out");
}

/// An agent who answers calls on a SIP phone works in the workstation beside it: while the phone rings, the
/// caller panel shows the number, its region, the verification result, the keypress trail and the queue;
/// during the call the agent writes notes that go to the call record; afterwards the call is in their last
/// calls, and removing it from the list leaves the record in place.
#[test]
fn the_caller_panel_shows_who_is_calling_and_notes_go_to_the_record() {
    let Some(mut b) = Browser::launch() else {
        return;
    };
    let engine = Engine::start(Options {
        flows: Some(hotline_sip_test::tools::workspace_root().join("ivr-flows")),
        extra_config: "queues: [{name: support, announce_every: 0s}, {name: sales}]\n".into(),
        ..Default::default()
    });
    let shots = std::env::var_os("HOTLINE_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| engine.data_dir.clone());
    agent::create(
        engine.http_port,
        json!({"id": "carol", "name": "Carol", "password": PASSWORD, "queues": ["support"], "skills": {"support": 5}, "max_chats": 0})
            .to_string()
            .as_bytes(),
    );
    let mut phone = hotline_sip_test::peer::Peer::new(engine.sip_port);
    agent::register(&mut phone, "carol", PASSWORD);
    let base = format!("http://127.0.0.1:{}", engine.http_port);
    b.goto(&format!("{base}/workstation/"));
    b.fill("#login-agent", "carol");
    b.fill("#login-password", PASSWORD);
    b.click("#login-submit");
    b.wait("#main");
    b.wait("#recent-empty");
    b.click("button[data-status=idle]");
    b.wait("button[data-status=idle][aria-pressed=true]");

    // A caller keys into support on the demo's test line and is verified as customer 1001.
    let mut caller = hotline_sip_test::peer::Peer::new(engine.sip_port);
    let (to_tag, _) = agent::dial_test_line(&mut caller, "panel-1");
    agent::key_into_support(&mut caller, "panel-1", &to_tag);
    let invite = phone.expect_request("INVITE", Duration::from_secs(20));
    b.wait_text("#call-phase", "Ringing");
    b.wait_text("#call-number", "+15550001111");
    b.wait_text("#call-region", "Fictional (NANP 555)");
    b.wait_text("#call-verification", "verified (keyed id), customer 1001");
    b.wait_text("#call-queue", "support");
    assert!(
        b.text("#call-trail").starts_with('2'),
        "the menu key first: {}",
        b.text("#call-trail")
    );
    b.screenshot(&shots.join("workstation-ringing.png"));

    agent::answer(&phone, &invite);
    phone.expect_request("ACK", T);
    b.wait_text("#call-phase", "In call with");
    b.fill("#call-notes", "Card blocked after three wrong PINs; unblocked.");
    b.click("#notes-save");
    b.wait_text("#notes-status", "Saved.");
    b.screenshot(&shots.join("workstation-in-call.png"));

    // Hold: the caller hears the music on hold; Resume: the agent's voice (a 1000 Hz tone here) again.
    b.click("#call-hold");
    b.wait("#call-hold[aria-pressed=true]");
    caller.drain_rtp();
    let held = caller.collect_rtp(Duration::from_millis(1500));
    let music = audio::pcmu_frames_of(&audio::demo_music(), &held);
    assert!(
        music * 10 >= held.len() * 7,
        "on hold the caller hears the music: {music} of {} packets",
        held.len()
    );
    b.click("#call-hold");
    b.wait("#call-hold[aria-pressed=false]");
    let voice = phone.stream_tone(
        hotline_sip_test::peer::sdp_addr(&invite.body),
        1000.0,
        Duration::from_secs(2),
    );
    caller.drain_rtp();
    let heard = audio::pcmu_decoded(&caller.collect_rtp(Duration::from_millis(1500)));
    let tail = &heard[heard.len().saturating_sub(4000)..];
    let ratio = audio::tone_ratio(tail, 1000.0, 8000.0);
    assert!(
        ratio > 0.2,
        "after Resume the caller hears the agent (1000 Hz ratio {ratio:.3})"
    );
    voice.join().unwrap();

    agent::hang_up_test_line(&mut caller, "panel-1", &to_tag);
    let bye = phone.expect_request("BYE", T);
    phone.reply_ok(&bye);
    b.wait_text("#call-phase", "Call ended");
    b.wait_text("#recent-calls tr td", "+15550001111");
    let calls = engine.ended_calls(1, "panel-1", T);
    let id = calls[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(calls[0]["agent"], "carol");
    let (_, record) = engine.api_get(&format!("/api/v1/calls/{id}"));
    let record: Value = serde_json::from_str(&record).unwrap();
    assert_eq!(
        record["notes"], "Card blocked after three wrong PINs; unblocked.",
        "{record:#}"
    );
    assert_eq!(record["notes_by"], "carol");
    b.wait_text("#recent-calls tr td", "Card blocked");

    // Notes are limited to 4000 bytes (at the limit saved, one more refused); only the agent who took the call
    // writes them.
    let (status, text) = http::post_json(
        engine.http_port,
        "/api/v1/agent/login",
        json!({"agent": "carol", "password": PASSWORD})
            .to_string()
            .as_bytes(),
        None,
    )
    .unwrap();
    assert_eq!(status, 200, "{text}");
    let token = serde_json::from_str::<Value>(&text).unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let notes_path = format!("/api/v1/agent/calls/{id}/notes");
    let put = |notes: String, token: &str| {
        http::put_json(
            engine.http_port,
            &notes_path,
            json!({"notes": notes}).to_string().as_bytes(),
            Some(token),
        )
        .unwrap()
    };
    assert_eq!(put("n".repeat(4000), &token).0, 204);
    assert_eq!(put("n".repeat(4001), &token).0, 400);
    agent::create(
        engine.http_port,
        json!({"id": "dave", "name": "Dave", "password": PASSWORD})
            .to_string()
            .as_bytes(),
    );
    let (_, text) = http::post_json(
        engine.http_port,
        "/api/v1/agent/login",
        json!({"agent": "dave", "password": PASSWORD})
            .to_string()
            .as_bytes(),
        None,
    )
    .unwrap();
    let dave = serde_json::from_str::<Value>(&text).unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(put("mine now".into(), &dave).0, 403, "not Dave's call");
    assert_eq!(put("x".into(), "not-a-session").0, 401);

    // Removing the call from the list: the list is empty again, the record stays.
    b.click(&format!("#recent-calls tr[data-call='{id}'] .remove-call"));
    b.wait("#recent-empty:not([hidden])");
    assert_eq!(b.count("#recent-calls tr"), 0);
    let (status, _) = engine.api_get(&format!("/api/v1/calls/{id}"));
    assert_eq!(status, 200, "the record itself stays");
}

/// Dialling out from the workstation: an agent allowed to dial out types a number; their phone rings, and once
/// they answer the trunk gets the call. An agent without the right is told so in plain words.
#[test]
fn an_agent_dials_a_number_from_the_workstation() {
    let Some(mut b) = Browser::launch() else {
        return;
    };
    let mut trunk = hotline_sip_test::peer::Peer::new(0);
    let engine = Engine::start(Options {
        flows: Some(hotline_sip_test::tools::workspace_root().join("ivr-flows")),
        extra_config: format!("trunk: {{address: 127.0.0.1:{}}}\n", trunk.sip_port()),
        ..Default::default()
    });
    trunk.target.set_port(engine.sip_port);
    for (id, right) in [("erin", true), ("frank", false)] {
        agent::create(
            engine.http_port,
            json!({"id": id, "name": id, "password": PASSWORD, "can_dial_out": right})
                .to_string()
                .as_bytes(),
        );
    }
    let mut phone = hotline_sip_test::peer::Peer::new(engine.sip_port);
    agent::register(&mut phone, "erin", PASSWORD);
    let base = format!("http://127.0.0.1:{}", engine.http_port);
    let log_in = |b: &mut Browser, agent: &str| {
        b.goto(&format!("{base}/workstation/"));
        b.fill("#login-agent", agent);
        b.fill("#login-password", PASSWORD);
        b.click("#login-submit");
        b.wait("#main");
    };

    log_in(&mut b, "frank");
    b.fill("#dial-number", "+15557654321");
    b.click("#dial-submit");
    b.wait_text("#dial-status", "You may not place outbound calls");
    b.click("#logout");
    b.wait("#login");

    log_in(&mut b, "erin");
    b.fill("#dial-number", "12x");
    b.click("#dial-submit");
    b.wait_text("#dial-status", "Enter a phone number");
    b.fill("#dial-number", "+15557654321");
    b.click("#dial-submit");
    b.wait_text("#dial-status", "Your phone rings");
    let invite = phone.expect_request("INVITE", T);
    assert_eq!(invite.headers.from().unwrap().uri.user(), Some("+15557654321"));
    agent::answer(&phone, &invite);
    phone.expect_request("ACK", T);
    let call = trunk.expect_request("INVITE", T);
    assert_eq!(call.uri.user(), Some("+15557654321"));
    agent::answer(&trunk, &call);
    trunk.expect_request("ACK", T);
    agent::hang_up(&mut phone, &invite);
    let bye = trunk.expect_request("BYE", T);
    trunk.reply_ok(&bye);
    let calls = engine.ended_calls(1, call.headers.call_id().unwrap(), T);
    assert_eq!(calls[0]["end_reason"], "agent_hangup", "{:#}", calls[0]);
    assert_eq!(calls[0]["fields"]["outbound_by"], "erin");
}
