//! Call recordings on the wire: recorded from the engine's answer (`recording: {from: answer}`), the
//! caller's verification digits keyed as in-band tones are muted while the menu key before them is kept;
//! a crash (SIGKILL) mid-call leaves a file that the next start repairs and that plays; through the
//! impairment relay (loss and reordering jitter), a recording has no gap beyond the packets the network lost.
#![allow(clippy::unwrap_used)] // tests

use std::time::Duration;

use hotline_sip_test::engine::{Engine, Options, TOKEN};
use hotline_sip_test::peer::Peer;
use hotline_sip_test::relay::{Delay, Loss, Model, Relay};
use hotline_sip_test::{agent, audio, http, tools};

const T: Duration = Duration::from_secs(10);

fn demo_engine(database: Option<String>) -> Engine {
    Engine::start(Options {
        flows: Some(tools::workspace_root().join("ivr-flows")),
        extra_config: "recording: {from: answer}\n".into(),
        database,
        ..Default::default()
    })
}

fn download(engine: &Engine, id: &str) -> (Vec<i16>, Vec<i16>) {
    let (status, head, wav) = http::get_bytes(
        engine.http_port,
        &format!("/api/v1/recordings/{id}/audio"),
        Some(TOKEN),
    )
    .unwrap();
    assert_eq!(status, 200, "{head}");
    let (left, right, rate) = audio::stereo_wav(&wav);
    assert_eq!(rate, 8000);
    (left, right)
}

/// The strongest 20 ms window of `freq` in `samples` (tone ratio, 0.5 for a pure tone).
fn peak(samples: &[i16], freq: f64) -> f64 {
    samples
        .chunks(160)
        .map(|w| audio::tone_ratio(w, freq, 8000.0))
        .fold(0.0, f64::max)
}

#[test]
fn verification_digits_are_muted_in_a_recording_made_from_the_answer() {
    let engine = demo_engine(None);
    let mut caller = Peer::new(engine.sip_port);
    let call_id = "rec-verify-1";
    let (to_tag, media) = agent::dial_test_line(&mut caller, call_id);
    // In-band keys: 2 (support) while the menu plays, then the customer number 1001#.
    let mic = agent::inband_support_keys();
    let secs = mic.len() as f64 / 8000.0;
    let talk = caller.stream_samples(media, mic, Duration::from_secs_f64(secs));
    assert!(
        engine.wait_log("caller joined the queue", Duration::from_secs(20)),
        "the caller did not reach the queue:\n{}",
        engine.log_text()
    );
    talk.join().unwrap();
    agent::hang_up_test_line(&mut caller, call_id, &to_tag);

    let calls = engine.ended_calls(1, call_id, T);
    let c = &calls[0];
    assert_eq!(c["verification"]["verified"], true, "{c:#}");
    let id = c["recording"].as_str().expect("the call was recorded").to_owned();
    assert!(
        engine.wait_log("recording row closed", T),
        "{}",
        engine.log_text()
    );
    let (left, right) = download(&engine, &id);
    // 2 is 697 + 1336 Hz; the digits 1, 0 and # need 1209, 941 and 1477 Hz, which nothing else sends.
    let (two, one, zero) = (peak(&left, 1336.0), peak(&left, 1209.0), peak(&left, 941.0));
    eprintln!(
        "left channel peaks: 1336 Hz {two:.2}, 1209 Hz {one:.2}, 941 Hz {zero:.2}; {:.1} s",
        left.len() as f64 / 8000.0
    );
    assert!(two > 0.15, "the menu key before verification is recorded");
    assert!(
        one < 0.05 && zero < 0.05,
        "the customer number's tones must not be in the recording"
    );
    // The right channel carries what the caller heard: the prompts and then the hold music.
    let loud = right
        .chunks(160)
        .filter(|w| w.iter().any(|s| s.unsigned_abs() > 2000))
        .count();
    assert!(
        loud > 100,
        "the prompts are on the right channel ({loud} loud frames)"
    );
}

#[test]
fn a_crash_leaves_a_recording_that_the_next_start_repairs_and_that_plays() {
    crash_and_repair(None);
}

#[test]
fn a_crash_mid_recording_is_repaired_on_postgresql_too() {
    if let Some(db) = hotline_sip_test::pg::fresh_database() {
        crash_and_repair(Some(db.url.clone()));
    }
}

fn crash_and_repair(database: Option<String>) {
    let mut engine = demo_engine(database);
    let mut caller = Peer::new(engine.sip_port);
    let (_to_tag, media) = agent::dial_test_line(&mut caller, &format!("rec-crash-{}", engine.sip_port));
    let tone = caller.stream_tone(media, 440.0, Duration::from_secs(5));
    assert!(engine.wait_log("recording started", T), "{}", engine.log_text());
    tone.join().unwrap();
    // Five seconds of call; the header has been kept current every second. Then a crash.
    engine.restart();
    assert!(
        engine.wait_log("recording left open by a previous run closed", T),
        "{}",
        engine.log_text()
    );
    let (status, text) = engine.api_get("/api/v1/recordings?limit=1");
    assert_eq!(status, 200, "{text}");
    let list: serde_json::Value = serde_json::from_str(&text).unwrap();
    let rec = &list[0];
    assert_eq!(rec["status"], "repaired", "{rec:#}");
    let id = rec["id"].as_str().unwrap();
    let (left, _) = download(&engine, id);
    let secs = left.len() as f64 / 8000.0;
    eprintln!("repaired recording: {secs:.1} s, row {rec:#}");
    assert!(
        secs >= 2.0,
        "at most about a second is lost to the crash ({secs:.1} s kept)"
    );
    assert_eq!(rec["duration_ms"].as_i64().unwrap(), (left.len() / 8) as i64);
    assert!(
        audio::tone_ratio(&left[8000..], 440.0, 8000.0) > 0.3,
        "the caller's tone plays from the repaired file"
    );
    let (status, _) = engine.api_get(&format!("/api/v1/calls/{id}"));
    assert_eq!(status, 200);
}

/// The caller's RTP crosses the impairment relay: 5 % loss and 10–50 ms of delay, so packets closer than
/// 40 ms swap places. The recorder reads through its own fixed one-second buffer: nothing that arrived is
/// late for it, reordered packets go back in place, and an isolated loss is concealed. The caller's tone
/// runs through the left channel for as long as it was sent, with fewer silent frames than lost packets.
#[test]
fn a_recording_through_loss_and_jitter_has_no_gap_beyond_the_lost_packets() {
    let engine = demo_engine(None);
    let mut caller = Peer::new(engine.sip_port);
    let call_id = "rec-impaired-1";
    let (to_tag, media) = agent::dial_test_line(&mut caller, call_id);
    let up = Model {
        loss: Loss::Random(0.05),
        delay: Delay::Uniform {
            base_ms: 10.0,
            jitter_ms: 40.0,
        },
        duplicate: 0.0,
    };
    let relay = Relay::start(media, up, Model::CLEAN, 11);
    let sent = Duration::from_secs(6);
    caller.stream_tone(relay.addr, 440.0, sent).join().unwrap();
    agent::hang_up_test_line(&mut caller, call_id, &to_tag);
    let calls = engine.ended_calls(1, call_id, T);
    let id = calls[0]["recording"]
        .as_str()
        .expect("the call was recorded")
        .to_owned();
    assert!(
        engine.wait_log("recording row closed", T),
        "{}",
        engine.log_text()
    );
    let (left, _) = download(&engine, &id);

    // The tone's span on the left channel: from its first loud frame to its last.
    let loud =
        |f: &[i16]| (f.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / f.len() as f64).sqrt() > 300.0;
    let frames: Vec<&[i16]> = left.chunks_exact(160).collect();
    let first = frames.iter().position(|f| loud(f)).expect("the tone is recorded");
    let last = frames.iter().rposition(|f| loud(f)).unwrap();
    let span = &frames[first..=last];
    let silent = span.iter().filter(|f| !loud(f)).count();
    let dropped = relay.dropped();
    eprintln!(
        "tone span {} frames ({:.2} s sent), {silent} silent frames inside, relay dropped {dropped} of {} packets",
        span.len(),
        sent.as_secs_f64(),
        relay.received()
    );
    assert!(dropped > 0, "the relay lost nothing: the test proves nothing");
    assert!(
        silent as u64 <= dropped,
        "{silent} silent frames, more than the {dropped} packets the network lost"
    );
    // No time compression in a recording: the span is as long as what was sent, less what was lost at its
    // very ends.
    let sent_frames = (sent.as_millis() / 20) as usize;
    assert!(
        span.len() + 5 >= sent_frames && span.len() <= sent_frames + 1,
        "the tone lasts {} frames; {sent_frames} were sent",
        span.len()
    );
    let tone = span.concat();
    assert!(
        audio::tone_ratio(&tone, 440.0, 8000.0) > 0.3,
        "the tone is intact"
    );
}
