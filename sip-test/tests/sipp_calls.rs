//! Real calls from SIPp over loopback: RFC 4733 and SIP INFO digits, hold/unhold re-INVITEs, CANCEL, TCP.
//! Each test asserts what a caller and an admin would see: SIP responses, RTP that arrived, and the call
//! record the API shows.
#![allow(clippy::unwrap_used)] // tests

use std::time::Duration;

use hotline_sip_test::capture::Capture;
use hotline_sip_test::engine::{Engine, Options};
use hotline_sip_test::sipp::{self, Run};
use hotline_sip_test::tools;

const RFC4733: &str = include_str!("../scenarios/dtmf-rfc4733.xml");
const INFO: &str = include_str!("../scenarios/dtmf-info.xml");
const HOLD: &str = include_str!("../scenarios/hold.xml");
const CANCEL: &str = include_str!("../scenarios/cancel.xml");

/// Five seconds of µ-law silence for SIPp's `rtp_stream` (raw, no header), as a file beside the scenario.
fn silence() -> (String, Vec<u8>) {
    ("silence.ulaw".into(), vec![0xffu8; 8000 * 5])
}

#[test]
fn sipp_call_with_rfc4733_digits_is_answered_heard_recorded_and_hung_up() {
    if tools::require("sipp").is_none() {
        return;
    }
    let engine = Engine::start(Options::default());
    let mut run = Run::new(RFC4733, engine.sip_addr());
    run.call_id_prefix = Some("rfc4733");
    run.timeout = Duration::from_secs(40);
    // Capture what arrives at SIPp's media port: the engine's prompts.
    let media_port = hotline_sip_test::ports::block(4);
    run.media_port = Some(media_port);
    run.files = vec![silence()];
    let capture = Capture::start(media_port);
    let result = sipp::run(&run);
    let Some(result) = result else { return };
    assert_eq!(result.exit, 0, "SIPp call failed:\n{}", result.traces());
    assert_eq!(result.stat("SuccessfulCall(C)"), 1);
    assert_eq!(result.stat("FailedCall(C)"), 0);

    if let Some(capture) = capture {
        let sources: Vec<u16> = capture.stop().iter().map(|d| d.src_port).collect();
        let from_engine = sources
            .iter()
            .filter(|p| (engine.rtp_lo..=engine.rtp_hi).contains(p))
            .count();
        // A call of a few seconds at 20 ms packets: well over a hundred packets from the engine's RTP port.
        assert!(
            from_engine > 100,
            "only {from_engine} RTP packets arrived from the engine: {sources:?}"
        );
    }

    let calls = engine.ended_calls(1, "rfc4733-", Duration::from_secs(10));
    assert_eq!(calls.len(), 1, "{calls:#?}");
    let c = &calls[0];
    assert_eq!(c["keypresses"], "123#", "{c:#}");
    assert_eq!(c["end_reason"], "flow_hangup");
    assert_eq!(c["hangup_by"], "engine");
    assert_eq!(c["from"], "+15551230001");
    assert_eq!(c["to"], "hotline");
    assert!(c["answered_at"].is_string());
    assert!(c["ended_at"].is_string());
    let trail = c["trail"].as_array().unwrap();
    assert!(
        trail
            .iter()
            .any(|t| t["kind"] == "digit" && t["source"] == "rfc4733"),
        "{trail:#?}"
    );
    assert!(trail.iter().any(|t| t["kind"] == "node"), "{trail:#?}");
}

#[test]
fn sipp_call_with_sip_info_digits_records_them_and_the_callers_bye() {
    if tools::require("sipp").is_none() {
        return;
    }
    let engine = Engine::start(Options::default());
    let mut run = Run::new(INFO, engine.sip_addr());
    run.call_id_prefix = Some("info");
    let Some(result) = sipp::run(&run) else { return };
    assert_eq!(result.exit, 0, "SIPp call failed:\n{}", result.traces());
    let calls = engine.ended_calls(1, "info-", Duration::from_secs(10));
    let c = &calls[0];
    assert_eq!(c["keypresses"], "45#", "{c:#}");
    assert_eq!(c["end_reason"], "caller_hangup");
    assert_eq!(c["hangup_by"], "caller");
    let trail = c["trail"].as_array().unwrap();
    assert!(
        trail.iter().filter(|t| t["source"] == "sip_info").count() == 3,
        "{trail:#?}"
    );
}

#[test]
fn sipp_hold_and_unhold_are_answered_with_the_mirrored_direction() {
    if tools::require("sipp").is_none() {
        return;
    }
    let engine = Engine::start(Options::default());
    let mut run = Run::new(HOLD, engine.sip_addr());
    run.call_id_prefix = Some("hold");
    let Some(result) = sipp::run(&run) else { return };
    assert_eq!(result.exit, 0, "hold/unhold failed:\n{}", result.traces());
    let calls = engine.ended_calls(1, "hold-", Duration::from_secs(10));
    assert_eq!(calls[0]["end_reason"], "caller_hangup");
}

#[test]
fn sipp_cancel_while_ringing_gets_487_and_a_cancelled_record() {
    if tools::require("sipp").is_none() {
        return;
    }
    let engine = Engine::start(Options {
        extra_config: "answer_delay: 5s\n".into(),
        ..Default::default()
    });
    let mut run = Run::new(CANCEL, engine.sip_addr());
    run.call_id_prefix = Some("cancel");
    let Some(result) = sipp::run(&run) else { return };
    assert_eq!(result.exit, 0, "CANCEL flow failed:\n{}", result.traces());
    let calls = engine.ended_calls(1, "cancel-", Duration::from_secs(10));
    let c = &calls[0];
    assert_eq!(c["end_reason"], "cancelled");
    assert_eq!(c["hangup_by"], "caller");
    assert!(
        c["answered_at"].is_null(),
        "a cancelled call was never answered: {c:#}"
    );
}

#[test]
fn sipp_call_over_tcp_completes() {
    if tools::require("sipp").is_none() {
        return;
    }
    let engine = Engine::start(Options::default());
    let mut run = Run::new(INFO, engine.sip_addr());
    run.call_id_prefix = Some("info");
    run.extra = vec!["-t".into(), "t1".into()];
    let Some(result) = sipp::run(&run) else { return };
    assert_eq!(result.exit, 0, "TCP call failed:\n{}", result.traces());
    let calls = engine.ended_calls(1, "info-", Duration::from_secs(10));
    assert_eq!(calls[0]["keypresses"], "45#");
    assert_eq!(calls[0]["end_reason"], "caller_hangup");
}
