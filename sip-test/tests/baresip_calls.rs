//! A real softphone (baresip) calls in with a WAV microphone: the audio it heard must be the welcome
//! prompt (envelope similarity), and digits it sends as in-band tones must be recognised. And baresip as
//! an agent's phone: registered with digest auth, offered a queued call, speech crossing both ways.
#![allow(clippy::unwrap_used)] // tests

use std::time::Duration;

use hotline_sip_test::baresip::{self, AgentPhone, dtmf_tone};
use hotline_sip_test::engine::{Engine, Options};
use hotline_sip_test::peer::Peer;
use hotline_sip_test::{agent, audio, tools};

const T: Duration = Duration::from_secs(10);

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

/// A caller queued through the demo flow reaches a baresip phone registered as an agent (digest auth,
/// auto-answer). Speech crosses the bridge both ways: the agent's phone records the caller's words and
/// the caller receives the agent's, each matched to its source by envelope similarity.
#[test]
fn a_registered_baresip_agent_answers_a_queued_caller_and_speech_crosses_both_ways() {
    if tools::require("baresip").is_none() {
        return;
    }
    // baresip 1.0 (libre 1.x) gives up on a challenge list that has any algorithm but MD5, so this
    // engine offers MD5 only (docs/operations.md, "Agent phones").
    let engine = Engine::start(Options {
        flows: Some(tools::workspace_root().join("ivr-flows")),
        extra_config: "sip_digest_algorithms: [MD5]\n".into(),
        ..Default::default()
    });
    agent::create(
        engine.http_port,
        br#"{"id": "4002", "name": "Grace", "password": "compiler-first", "queues": ["support"], "skills": {"support": 3}}"#,
    );

    let prompts = tools::workspace_root().join("ivr-flows/prompts");
    let second = |s: usize| vec![0i16; 8000 * s];
    // The agent says "rate-service" 1 s after answering; the caller says "after-hours".
    let (agent_words, _) = audio::read_wav_8k(&prompts.join("rate-service.wav"));
    let (caller_words, _) = audio::read_wav_8k(&prompts.join("after-hours.wav"));
    let mic = [second(1), agent_words.clone(), second(8)].concat();
    let Some(mut phone) = AgentPhone::start(engine.sip_port, "4002", "compiler-first", &mic) else {
        return;
    };
    assert!(
        engine.wait_log("agent phone registered agent=4002", T),
        "baresip did not register:\n{}",
        engine.log_text()
    );
    agent::set_idle(engine.http_port, "4002");

    // The caller: test line, 2 for support, customer 1001.
    let mut caller = Peer::new(engine.sip_port);
    let call_id = "baresip-agent-1";
    let (to_tag, media) = agent::dial_test_line(&mut caller, call_id);
    agent::key_into_support(&mut caller, call_id, &to_tag);
    assert!(
        engine.wait_log("contact connected to an agent", Duration::from_secs(30)),
        "the agent was not connected:\n{}",
        engine.log_text()
    );
    // What the caller received before the bridge (prompts, music) is not the agent's.
    caller.drain_rtp();
    let talk = caller.stream_samples(
        media,
        [second(1), caller_words.clone(), second(2)].concat(),
        Duration::from_secs(7),
    );
    let heard_by_caller: Vec<i16> = caller
        .collect_rtp(Duration::from_secs(7))
        .iter()
        .flatten()
        .map(|&b| codec::ulaw_to_linear(b))
        .collect();
    talk.join().unwrap();

    // The caller hangs up; the agent's phone is sent BYE and its recording closes.
    agent::hang_up_test_line(&mut caller, call_id, &to_tag);
    let calls = engine.ended_calls(1, call_id, T);
    assert_eq!(calls[0]["end_reason"], "caller_hangup", "{:#}", calls[0]);
    assert_eq!(calls[0]["queue"], "support");
    phone.stop();

    let score = audio::similarity(&agent_words, &heard_by_caller, 8000, 3.0);
    eprintln!("caller hears the agent: similarity {score:.2}");
    assert!(
        score > 0.8,
        "the caller did not hear the agent's words (similarity {score:.2}, {} samples)",
        heard_by_caller.len()
    );
    let recording = phone.heard().expect("the agent's baresip recorded nothing");
    let (heard_by_agent, rate) = audio::read_wav_8k(&recording);
    let score = audio::similarity(&caller_words, &heard_by_agent, rate, 8.0);
    eprintln!("agent hears the caller: similarity {score:.2}");
    assert!(
        score > 0.8,
        "the agent did not hear the caller's words (similarity {score:.2}, {} samples)",
        heard_by_agent.len()
    );
}
