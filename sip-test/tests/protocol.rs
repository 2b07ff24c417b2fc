//! The engine on the wire, driven by the scripted peer: answers to odd and bad requests, limits at limit and
//! limit+1, the prompt a caller hears, dead-call timeouts, crash recovery and clean shutdown.
#![allow(clippy::unwrap_used)] // tests

use std::time::Duration;

use hotline_sip_test::audio;
use hotline_sip_test::engine::{Engine, Options};
use hotline_sip_test::peer::{ACK, INVITE_PCMU, Peer};
use hotline_sip_test::tools;

const T: Duration = Duration::from_secs(5);

const OPTIONS: &str = "OPTIONS sip:hotline@{target} SIP/2.0
Via: SIP/2.0/UDP {local};branch=z9hG4bK-{call_id};rport
From: <sip:probe@127.0.0.1>;tag={tag}
To: <sip:hotline@{target}>
Call-ID: {call_id}
CSeq: 7 OPTIONS
Max-Forwards: 70
Content-Length: 0
";

/// Places a call and acknowledges the 200; returns the To tag.
fn answered_call(peer: &mut Peer, call_id: &str) -> String {
    peer.send(INVITE_PCMU, call_id);
    let ok = peer.expect_response(200, "INVITE", T);
    let to_tag = ok.headers.to().unwrap().tag().unwrap().to_owned();
    let body = String::from_utf8_lossy(&ok.body).into_owned();
    assert!(
        body.contains("m=audio "),
        "the 200 carries our SDP answer: {body}"
    );
    assert!(
        body.contains("RTP/AVP 0 101"),
        "PCMU and the caller's telephone-event PT: {body}"
    );
    peer.send(&ACK.replace("{to_tag}", &to_tag), call_id);
    to_tag
}

#[test]
fn options_outside_a_dialog_is_answered_200_with_allow() {
    let engine = Engine::start(Options::default());
    let mut peer = Peer::new(engine.sip_port);
    peer.send(OPTIONS, "opt-1");
    let resp = peer.expect_response(200, "OPTIONS", T);
    assert!(
        resp.headers
            .get(&sip_msg::HeaderName::Allow)
            .unwrap()
            .contains("INVITE")
    );
}

#[test]
fn a_body_shorter_than_content_length_gets_400() {
    let engine = Engine::start(Options::default());
    let mut peer = Peer::new(engine.sip_port);
    let mut bytes = peer.render(OPTIONS, "bad-1");
    // Claim a 50-byte body and send none.
    let text = String::from_utf8(bytes.clone())
        .unwrap()
        .replace("Content-Length: 0", "Content-Length: 50");
    bytes = text.into_bytes();
    peer.send_raw(&bytes);
    let resp = peer.expect_response(400, "OPTIONS", T);
    assert!(
        resp.reason.to_ascii_lowercase().contains("content-length"),
        "reason: {}",
        resp.reason
    );
    // Garbage that cannot be answered is dropped, and the engine keeps serving.
    peer.send_raw(b"\x00\x01garbage\r\n\r\n");
    peer.send(OPTIONS, "after-garbage");
    peer.expect_response(200, "OPTIONS", T);
}

#[test]
fn message_size_limit_is_enforced_at_limit_plus_one() {
    let engine = Engine::start(Options {
        extra_config: "limits: {max_message_size: 1500}\n".into(),
        ..Default::default()
    });
    let mut peer = Peer::new(engine.sip_port);
    let at_limit = padded(&peer, "size-at", 1500);
    peer.send_raw(&at_limit);
    peer.expect_response(200, "OPTIONS", T);
    let over = padded(&peer, "size-over", 1501);
    peer.send_raw(&over);
    peer.expect_response(513, "OPTIONS", T);
}

/// An OPTIONS request padded with an extension header to exactly `total` bytes.
fn padded(peer: &Peer, call_id: &str, total: usize) -> Vec<u8> {
    let text = String::from_utf8(peer.render(OPTIONS, call_id)).unwrap();
    let filler_len = total - text.len() - "X-Pad: \r\n".len();
    let padded = text.replacen(
        "Content-Length: 0",
        &format!("X-Pad: {}\r\nContent-Length: 0", "a".repeat(filler_len)),
        1,
    );
    assert_eq!(padded.len(), total);
    padded.into_bytes()
}

#[test]
fn concurrent_call_limit_answers_503_with_retry_after_at_limit_plus_one() {
    let engine = Engine::start(Options {
        extra_config: "limits: {max_calls: 1, retry_after_secs: 7}\n".into(),
        ..Default::default()
    });
    let mut first = Peer::new(engine.sip_port);
    answered_call(&mut first, "limit-1");
    let mut second = Peer::new(engine.sip_port);
    second.send(INVITE_PCMU, "limit-2");
    let resp = second.expect_response(503, "INVITE", T);
    assert_eq!(resp.headers.get(&sip_msg::HeaderName::RetryAfter), Some("7"));
}

#[test]
fn invites_per_source_are_rate_limited_at_limit_plus_one() {
    let engine = Engine::start(Options {
        extra_config: "limits: {invites_per_source_per_sec: 3}\n".into(),
        ..Default::default()
    });
    let mut peer = Peer::new(engine.sip_port);
    for n in 0..3 {
        peer.send(INVITE_PCMU, &format!("rate-{n}"));
    }
    for _ in 0..3 {
        peer.expect_response(200, "INVITE", T);
    }
    peer.send(INVITE_PCMU, "rate-3");
    let resp = peer.expect_response(503, "INVITE", T);
    assert!(resp.headers.get(&sip_msg::HeaderName::RetryAfter).is_some());
}

#[test]
fn a_required_extension_we_lack_gets_420_with_unsupported() {
    let engine = Engine::start(Options::default());
    let mut peer = Peer::new(engine.sip_port);
    let invite = INVITE_PCMU.replace("Max-Forwards: 70", "Max-Forwards: 70\nRequire: 100rel, timer");
    peer.send(&invite, "require-1");
    let resp = peer.expect_response(420, "INVITE", T);
    assert_eq!(
        resp.headers.get(&sip_msg::HeaderName::Unsupported),
        Some("100rel, timer")
    );
    // Supported (not Require) is fine.
    let invite = INVITE_PCMU.replace("Max-Forwards: 70", "Max-Forwards: 70\nSupported: 100rel, timer");
    peer.send(&invite, "require-2");
    peer.expect_response(200, "INVITE", T);
}

#[test]
fn requests_for_unknown_dialogs_get_481_register_is_challenged_and_others_get_405() {
    let engine = Engine::start(Options::default());
    let mut peer = Peer::new(engine.sip_port);
    let bye = OPTIONS
        .replace("OPTIONS sip", "BYE sip")
        .replace("CSeq: 7 OPTIONS", "CSeq: 7 BYE")
        .replace(
            "To: <sip:hotline@{target}>",
            "To: <sip:hotline@{target}>;tag=nosuchdialog",
        );
    peer.send(&bye, "ghost-1");
    peer.expect_response(481, "BYE", T);
    let register = OPTIONS
        .replace("OPTIONS sip:hotline@", "REGISTER sip:")
        .replace("CSeq: 7 OPTIONS", "CSeq: 7 REGISTER");
    peer.send(&register, "reg-1");
    let resp = peer.expect_response(401, "REGISTER", T);
    assert!(resp.headers.get(&sip_msg::HeaderName::WwwAuthenticate).is_some());
    let message = OPTIONS
        .replace("OPTIONS sip", "MESSAGE sip")
        .replace("CSeq: 7 OPTIONS", "CSeq: 7 MESSAGE");
    peer.send(&message, "msg-1");
    let resp = peer.expect_response(405, "MESSAGE", T);
    assert!(resp.headers.get(&sip_msg::HeaderName::Allow).is_some());
}

#[test]
fn the_caller_hears_the_welcome_prompt() {
    let engine = Engine::start(Options::default());
    let mut peer = Peer::new(engine.sip_port);
    answered_call(&mut peer, "hear-1");
    let payloads = peer.collect_rtp(Duration::from_secs(3));
    assert!(payloads.len() > 100, "only {} RTP packets in 3 s", payloads.len());
    let heard: Vec<i16> = payloads
        .iter()
        .flatten()
        .map(|&b| codec::ulaw_to_linear(b))
        .collect();
    let (prompt, rate) = audio::read_wav_8k(&tools::workspace_root().join("ivr-flows/prompts/welcome.wav"));
    let score = audio::similarity(&prompt, &heard, rate, 2.0);
    assert!(
        score > 0.8,
        "the audio heard does not match the welcome prompt (similarity {score:.2})"
    );
    let (other, _) = audio::read_wav_8k(&tools::workspace_root().join("ivr-flows/prompts/main-menu.wav"));
    let other_score = audio::similarity(&other, &heard, rate, 2.0);
    assert!(
        other_score < score,
        "a different prompt scored {other_score:.2} against {score:.2}"
    );
}

#[test]
fn a_call_without_rtp_is_ended_by_the_rtp_timeout() {
    let engine = Engine::start(Options {
        extra_config: "rtp_timeout: 2s\n".into(),
        ..Default::default()
    });
    let mut peer = Peer::new(engine.sip_port);
    answered_call(&mut peer, "dead-1");
    // The peer sends no RTP: the engine gives up after 2 s and says BYE.
    let bye = peer.expect_request("BYE", Duration::from_secs(8));
    peer.reply_ok(&bye);
    let calls = engine.ended_calls(1, "dead-1", T);
    assert_eq!(calls[0]["end_reason"], "rtp_timeout");
    assert_eq!(calls[0]["hangup_by"], "engine");
}

#[test]
fn a_call_carrying_only_silence_is_ended_by_the_silence_timeout() {
    let engine = Engine::start(Options {
        extra_config: "silence_timeout: 2s\n".into(),
        ..Default::default()
    });
    let mut peer = Peer::new(engine.sip_port);
    peer.send(INVITE_PCMU, "quiet-1");
    let ok = peer.expect_response(200, "INVITE", T);
    let to_tag = ok.headers.to().unwrap().tag().unwrap().to_owned();
    peer.send(&ACK.replace("{to_tag}", &to_tag), "quiet-1");
    let sender = peer.stream_rtp(
        hotline_sip_test::peer::sdp_media_addr(&ok),
        0xff,
        Duration::from_secs(6),
    );
    let bye = peer.expect_request("BYE", Duration::from_secs(8));
    peer.reply_ok(&bye);
    let calls = engine.ended_calls(1, "quiet-1", T);
    assert_eq!(calls[0]["end_reason"], "silence_timeout");
    let received = calls[0]["media_stats"]["packets_received"].as_u64().unwrap_or(0);
    assert!(
        received > 50,
        "the engine saw the silent stream: {}",
        calls[0]["media_stats"]
    );
    sender.join().unwrap();
}

#[test]
fn a_crash_leaves_the_record_marked_interrupted_after_restart() {
    let mut engine = Engine::start(Options::default());
    let mut peer = Peer::new(engine.sip_port);
    answered_call(&mut peer, "crash-1");
    // The record is written when the call starts: it is visible while the call runs.
    assert!(engine.wait_log("call record opened", T));
    let open = engine.calls();
    assert_eq!(open[0]["status"], "active");
    assert!(open[0]["ended_at"].is_null());
    engine.restart();
    let calls = engine.calls();
    let c = calls.iter().find(|c| c["sip_call_id"] == "crash-1").unwrap();
    assert_eq!(c["end_reason"], "interrupted");
    assert_eq!(c["status"], "ended");
}

#[test]
fn shutdown_ends_calls_with_bye_and_finalizes_their_records() {
    let mut engine = Engine::start(Options::default());
    let mut peer = Peer::new(engine.sip_port);
    answered_call(&mut peer, "stop-1");
    assert!(engine.wait_log("new call", T));
    let data_dir = engine.data_dir.clone();
    let stopper = std::thread::spawn(move || {
        let ok = engine.terminate();
        (ok, engine)
    });
    let bye = peer.expect_request("BYE", Duration::from_secs(10));
    peer.reply_ok(&bye);
    let (ok, engine) = stopper.join().unwrap();
    assert!(ok, "the engine did not exit cleanly");
    // Read the record from a fresh engine on the same data dir.
    let again = Engine::start(Options {
        data_dir: Some(data_dir),
        ..Default::default()
    });
    let calls = again.calls();
    let c = calls.iter().find(|c| c["sip_call_id"] == "stop-1").unwrap();
    assert_eq!(c["end_reason"], "shutdown", "{c:#}");
    drop(engine);
}

#[test]
fn cancel_for_an_unknown_transaction_gets_481() {
    let engine = Engine::start(Options::default());
    let mut peer = Peer::new(engine.sip_port);
    let cancel = OPTIONS
        .replace("OPTIONS sip", "CANCEL sip")
        .replace("CSeq: 7 OPTIONS", "CSeq: 7 CANCEL");
    peer.send(&cancel, "nocancel-1");
    peer.expect_response(481, "CANCEL", T);
}
