//! SIP signalling through the seeded impairment relay (the kernel here has no `tc netem`): with 10 %, 20 % and
//! 30 % loss in both directions, calls complete as RFC 3261's retransmissions allow. At 10 % loss, 1000 calls
//! complete with no failure. Media through the relay: in-band digits reach the IVR through 5 % loss and
//! jitter that reorders packets.
#![allow(clippy::unwrap_used)] // tests

use std::time::Duration;

use hotline_sip_test::engine::{Engine, Options};
use hotline_sip_test::peer::Peer;
use hotline_sip_test::relay::{Delay, Loss, Model, Relay};
use hotline_sip_test::sipp::{self, Run};
use hotline_sip_test::{agent, tools};

const SCENARIO: &str = include_str!("../scenarios/answer-hangup.xml");

/// Places `calls` answer-and-hang-up calls through a relay losing `loss` of the packets each way.
/// Returns (successful, failed, packets the relay dropped).
fn calls_through_loss(loss: f64, calls: u32, seed: u64) -> Option<(u64, u64, u64)> {
    tools::require("sipp")?;
    let engine = Engine::start(Options {
        flows: Some(tools::workspace_root().join("ivr-flows")),
        extra_config: "routes: {\"*\": answer-hangup}\nrtp_timeout: 0s\n".into(),
        rtp_port_count: Some(800),
        ..Default::default()
    });
    let target = engine.sip_addr().parse().unwrap();
    let relay = Relay::start(target, Model::random_loss(loss), Model::random_loss(loss), seed);
    let mut run = Run::new(SCENARIO, relay.addr.to_string());
    run.calls = calls;
    run.rate = 100;
    run.trace_msg = false;
    run.timeout = Duration::from_secs(150);
    // RFC 3261 retransmission counts: INVITE until Timer B (6 retransmissions), non-INVITE until Timer F.
    run.extra = [
        "-max_invite_retrans",
        "6",
        "-max_non_invite_retrans",
        "10",
        "-l",
        "400",
    ]
    .map(String::from)
    .to_vec();
    let result = sipp::run(&run)?;
    let (ok, failed) = (result.stat("SuccessfulCall(C)"), result.stat("FailedCall(C)"));
    eprintln!(
        "loss {:.0} %: {ok} ok, {failed} failed, relay dropped {} of {} packets, SIPp retransmissions {}",
        loss * 100.0,
        relay.dropped(),
        relay.received(),
        result.stat("Retransmissions(C)")
    );
    if failed > 0 {
        eprintln!("{}", result.traces());
    }
    Some((ok, failed, relay.dropped()))
}

#[test]
fn a_thousand_calls_complete_at_ten_percent_loss() {
    let Some((ok, failed, dropped)) = calls_through_loss(0.10, 1000, 10) else {
        return;
    };
    assert!(dropped > 300, "the relay really dropped packets: {dropped}");
    assert_eq!((ok, failed), (1000, 0));
}

#[test]
fn calls_complete_as_retransmissions_allow_at_twenty_and_thirty_percent_loss() {
    // Each call has an INVITE (7 tries), its 2xx (retransmitted until the ACK), and a BYE (11 tries) whose
    // request and response both cross the lossy link. At 30 % loss per direction a try succeeds with
    // probability 0.49, so a transaction fails with about 0.51^7 ≈ 0.9 % (INVITE) and 0.51^11 ≈ 0.06 % (BYE):
    // around 1 % of calls may fail at 30 %, about 0.03 % at 20 %.
    let Some((ok20, failed20, _)) = calls_through_loss(0.20, 300, 20) else {
        return;
    };
    assert_eq!(ok20 + failed20, 300);
    assert!(failed20 <= 2, "{failed20} of 300 failed at 20 % loss");
    let Some((ok30, failed30, _)) = calls_through_loss(0.30, 300, 30) else {
        return;
    };
    assert_eq!(ok30 + failed30, 300);
    assert!(
        failed30 <= 9,
        "{failed30} of 300 failed at 30 % loss (about 3 expected)"
    );
}

/// A caller keys the demo's menu choice and customer number in-band (G.711 tones) while its RTP crosses the
/// relay with 5 % loss and 10–50 ms of delay (packets closer than 40 ms swap places). The engine's jitter
/// buffer in front of the detector puts them back in order and conceals the losses: the IVR gets every
/// digit, verifies the caller and queues them.
#[test]
fn inband_digits_reach_the_ivr_through_five_percent_loss_and_reordering_jitter() {
    let engine = Engine::start(Options {
        flows: Some(tools::workspace_root().join("ivr-flows")),
        ..Default::default()
    });
    let mut caller = Peer::new(engine.sip_port);
    let call_id = "impaired-digits-1";
    let (to_tag, media) = agent::dial_test_line(&mut caller, call_id);
    let up = Model {
        loss: Loss::Random(0.05),
        delay: Delay::Uniform {
            base_ms: 10.0,
            jitter_ms: 40.0,
        },
        duplicate: 0.0,
    };
    let relay = Relay::start(media, up, Model::CLEAN, 7);
    let mic = agent::inband_support_keys();
    let secs = mic.len() as f64 / 8000.0;
    let talk = caller.stream_samples(relay.addr, mic, Duration::from_secs_f64(secs));
    assert!(
        engine.wait_log("caller joined the queue", Duration::from_secs(20)),
        "the caller did not get through the menu and verification:\n{}",
        engine.log_text()
    );
    talk.join().unwrap();
    agent::hang_up_test_line(&mut caller, call_id, &to_tag);
    let calls = engine.ended_calls(1, call_id, Duration::from_secs(10));
    let c = &calls[0];
    assert_eq!(c["verification"]["verified"], true, "{c:#}");
    assert_eq!(c["queue"], "support");
    assert!(
        relay.dropped() > 0,
        "the relay lost nothing: the test proves nothing"
    );
    let buffer = &c["media_stats"]["receive_buffer"];
    assert!(
        buffer["concealed_samples"].as_u64().unwrap_or(0) > 0,
        "the losses were concealed: {buffer}"
    );
    eprintln!(
        "relay dropped {} of {} packets; receive buffer: {buffer}",
        relay.dropped(),
        relay.received()
    );
}
