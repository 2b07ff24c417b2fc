//! Agents register their phones with SIP digest auth (RFC 8760): agents are created through the REST API,
//! the REGISTER is challenged with SHA-256 and MD5, answered with an independently computed SHA-256
//! response, and shows up in the agent list. Nonces are single-use, unknown users look like wrong
//! passwords, and repeated failures ban the source.
#![allow(clippy::unwrap_used)] // tests

use std::time::Duration;

use hotline_sip_test::agent::{self, authorization};
use hotline_sip_test::engine::{Engine, Options, TOKEN};
use hotline_sip_test::peer::Peer;
use sip_msg::{HeaderName, Message};

const T: Duration = Duration::from_secs(5);

fn register(peer: &Peer, user: &str, call_id: &str, cseq: u32, auth: &str) {
    agent::send_register(peer, user, call_id, cseq, auth);
}

/// Sends a REGISTER and returns the SHA-256 challenge of the 401.
fn challenged(peer: &mut Peer, user: &str, call_id: &str, cseq: u32, auth: &str) -> String {
    register(peer, user, call_id, cseq, auth);
    let resp = peer.expect_response(401, "REGISTER", T);
    let challenges: Vec<&str> = resp.headers.get_all(&HeaderName::WwwAuthenticate).collect();
    assert!(
        challenges.len() >= 2,
        "SHA-256 and MD5 are offered: {challenges:?}"
    );
    assert!(
        challenges[0].contains("algorithm=SHA-256"),
        "SHA-256 first (RFC 8760): {challenges:?}"
    );
    assert!(challenges.iter().any(|c| c.contains("algorithm=MD5")));
    challenges[0].to_owned()
}

#[test]
fn an_agent_registers_with_sha256_digest_and_is_listed() {
    let engine = Engine::start(Options::default());
    let body = br#"{"id": "3001", "name": "Grace", "password": "correct horse", "queues": ["support"]}"#;
    let (status, text) =
        hotline_sip_test::http::post_json(engine.http_port, "/api/v1/agents", body, Some(TOKEN)).unwrap();
    assert_eq!(status, 201, "{text}");
    assert!(engine.wait_log("agent created", T));

    let mut peer = Peer::new(engine.sip_port);
    let challenge = challenged(&mut peer, "3001", "reg-1", 1, "");
    let auth = authorization(&challenge, "3001", "correct horse");
    register(&peer, "3001", "reg-1", 2, &auth);
    let ok = peer.expect_response(200, "REGISTER", T);
    let contact = ok.headers.get(&HeaderName::Contact).unwrap().to_owned();
    assert!(contact.contains("expires=300"), "{contact}");
    assert!(engine.wait_log("agent phone registered", T));

    let (status, text) = engine.api_get("/api/v1/agents");
    assert_eq!(status, 200);
    let agents: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(agents[0]["id"], "3001");
    assert_eq!(agents[0]["registered"], true, "{agents:#?}");
    assert!(
        agents[0]["registrations"][0]["contact"]
            .as_str()
            .unwrap()
            .contains(&format!("{}", peer.sip_port()))
    );

    // The same credentials again (same nonce): the nonce is single-use.
    register(&peer, "3001", "reg-1", 3, &auth);
    let stale = peer.expect_response(401, "REGISTER", T);
    assert!(
        stale
            .headers
            .get_all(&HeaderName::WwwAuthenticate)
            .any(|c| c.contains("stale=true")),
        "{stale:?}"
    );
}

#[test]
fn unknown_users_get_the_same_answer_and_repeated_failures_ban_the_source() {
    let engine = Engine::start(Options::default());
    let body = br#"{"id": "3002", "name": "Alan", "password": "enigma-machine"}"#;
    let (status, _) =
        hotline_sip_test::http::post_json(engine.http_port, "/api/v1/agents", body, Some(TOKEN)).unwrap();
    assert_eq!(status, 201);
    assert!(engine.wait_log("agent created", T));
    let mut peer = Peer::new(engine.sip_port);
    // Five failures (wrong password, then unknown user) are each answered 401 with a fresh challenge.
    let mut cseq = 1;
    let mut challenge = challenged(&mut peer, "3002", "ban-1", cseq, "");
    for attempt in 0..5 {
        cseq += 1;
        let user = if attempt % 2 == 0 { "3002" } else { "9999" };
        let auth = authorization(&challenge, user, "wrong password");
        challenge = challenged(&mut peer, user, "ban-1", cseq, &auth);
    }
    // The sixth failure bans the source: no answer, not even to the right password afterwards.
    cseq += 1;
    register(
        &peer,
        "3002",
        "ban-1",
        cseq,
        &authorization(&challenge, "3002", "wrong password"),
    );
    cseq += 1;
    register(
        &peer,
        "3002",
        "ban-1",
        cseq,
        &authorization(&challenge, "3002", "enigma-machine"),
    );
    let answer = peer.recv_where(Duration::from_secs(2), |m| matches!(m, Message::Response(_)));
    assert!(answer.is_none(), "a banned source is not answered: {answer:?}");
    assert!(engine.wait_log("source banned", T));
}
