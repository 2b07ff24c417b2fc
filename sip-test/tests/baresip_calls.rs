//! A real softphone (baresip) calls in with a WAV microphone: the audio it heard must be the welcome
//! prompt (envelope similarity), and digits it sends as in-band tones must be recognised.
#![allow(clippy::unwrap_used)] // tests

use std::time::Duration;

use hotline_sip_test::audio;
use hotline_sip_test::baresip::{self, dtmf_tone};
use hotline_sip_test::engine::{Engine, Options};
use hotline_sip_test::tools;

#[test]
fn baresip_hears_the_prompt_and_its_inband_digits_are_recognised() {
    if tools::require("baresip").is_none() {
        return;
    }
    let engine = Engine::start(Options::default());
    // Microphone: 3 s of quiet (the welcome prompt plays), then 7 8 9 # as tones, then quiet while the
    // flow thanks the caller, says goodbye and hangs up.
    let mut mic = vec![0i16; 8000 * 3];
    for d in ['7', '8', '9', '#'] {
        mic.extend(dtmf_tone(d, 120));
        mic.extend(vec![0i16; 8 * 150]);
    }
    mic.extend(vec![0i16; 8000 * 12]);
    let target = format!("sip:hotline@127.0.0.1:{}", engine.sip_port);
    let Some(call) = baresip::call(&target, &mic, Duration::from_secs(20)) else {
        return;
    };

    let calls = engine.ended_calls(1, "", Duration::from_secs(25));
    assert_eq!(calls.len(), 1, "baresip output:\n{}", call.output);
    let c = &calls[0];
    assert_eq!(
        c["keypresses"], "789#",
        "record: {c:#}\nbaresip:\n{}",
        call.output
    );
    assert_eq!(c["end_reason"], "flow_hangup");
    let trail = c["trail"].as_array().unwrap();
    assert!(trail.iter().any(|t| t["source"] == "inband"), "{trail:#?}");

    let heard = call.heard.expect("baresip recorded nothing (sndfile module)");
    let (heard, rate) = audio::read_wav_8k(&heard);
    let (prompt, _) = audio::read_wav_8k(&tools::workspace_root().join("ivr-flows/prompts/welcome.wav"));
    let score = audio::similarity(&prompt, &heard, rate, 2.0);
    assert!(
        score > 0.8,
        "what baresip heard does not match the welcome prompt (similarity {score:.2})"
    );
}
