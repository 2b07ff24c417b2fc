//! Two engine processes on one PostgreSQL database share the agents: an agent registered with both and
//! idle on both is claimed in the database before either rings it, so it never gets two calls at once.
//! While the first engine's call is up, the second engine finds the agent held and keeps its caller
//! waiting; when the call ends, the claim is released and the second engine rings the agent.
#![allow(clippy::unwrap_used)] // tests

use std::net::SocketAddr;
use std::time::Duration;

use hotline_sip_test::engine::{Engine, Options};
use hotline_sip_test::peer::Peer;
use hotline_sip_test::{agent, pg};
use sip_msg::HeaderName;

const T: Duration = Duration::from_secs(10);

fn engine_addr(engine: &Engine) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], engine.sip_port))
}

fn options(db: &pg::Database, node: &str) -> Options {
    Options {
        database: Some(db.url.clone()),
        extra_config: format!("node_id: {node}\nqueues: [{{name: support, wrap_up: 0s}}, {{name: sales}}]\n"),
        ..Options::default()
    }
}

/// The agent's BYE for a call it answered.
fn agent_bye(phone: &Peer, invite: &sip_msg::Request) -> Vec<u8> {
    let target = match &invite.headers.contacts().unwrap()[0] {
        sip_msg::Contact::Addr(a) => a.uri.to_string(),
        sip_msg::Contact::Star => panic!("no contact"),
    };
    format!(
        "BYE {target} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{};branch=z9hG4bK-bye-{};rport\r\nFrom: {};tag=agent\r\n\
         To: {}\r\nCall-ID: {}\r\nCSeq: 1 BYE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
        phone.sip_port(),
        invite.headers.call_id().unwrap().len(),
        invite.headers.get(&HeaderName::To).unwrap(),
        invite.headers.get(&HeaderName::From).unwrap(),
        invite.headers.call_id().unwrap()
    )
    .into_bytes()
}

#[test]
fn two_engines_on_one_database_never_ring_one_agent_twice() {
    let Some(db) = pg::fresh_database() else {
        return;
    };
    let one = Engine::start(options(&db, "node-1"));
    agent::create(
        one.http_port,
        br#"{"id": "alice", "name": "Alice", "password": "alice-secret-1", "queues": ["support"], "skills": {"support": 5}}"#,
    );
    // The second engine reads the agent from the shared database at start.
    let two = Engine::start(options(&db, "node-2"));

    // Alice's phone registers with both engines and she is idle on both.
    let mut phone = Peer::new(one.sip_port);
    agent::register(&mut phone, "alice", "alice-secret-1");
    phone.target = engine_addr(&two);
    agent::register(&mut phone, "alice", "alice-secret-1");
    agent::set_idle(one.http_port, "alice");
    agent::set_idle(two.http_port, "alice");

    // A caller on the first engine reaches her.
    let mut caller_one = Peer::new(one.sip_port);
    let (tag_one, _) = agent::dial_test_line(&mut caller_one, "two-engines-1");
    agent::key_into_support(&mut caller_one, "two-engines-1", &tag_one);
    let first = phone.expect_request("INVITE", T);
    phone.target = engine_addr(&one);
    agent::answer(&phone, &first);
    phone.expect_request("ACK", T);

    // A caller on the second engine joins support: the second engine finds Alice held by the first.
    let mut caller_two = Peer::new(two.sip_port);
    let (tag_two, _) = agent::dial_test_line(&mut caller_two, "two-engines-2");
    agent::key_into_support(&mut caller_two, "two-engines-2", &tag_two);
    assert!(
        two.wait_log("agent is held by another engine", T),
        "the second engine never met the first one's claim:\n{}",
        two.log_text()
    );
    assert!(
        phone
            .recv_where(Duration::from_millis(300), |m| {
                matches!(m, sip_msg::Message::Request(r) if r.method.as_str() == "INVITE")
            })
            .is_none(),
        "the agent was rung a second time during her call"
    );

    // Alice ends the first call; the claim is released and the second engine rings her.
    phone.send_raw(&agent_bye(&phone, &first));
    phone.expect_response(200, "BYE", T);
    let bye = caller_one.expect_request("BYE", T);
    caller_one.reply_ok(&bye);
    let second = phone.expect_request("INVITE", Duration::from_secs(20));
    let via = second.headers.get(&HeaderName::Via).unwrap().to_owned();
    assert!(
        via.contains(&format!(":{}", two.sip_port)),
        "the second call comes from the second engine: {via}"
    );
    assert_eq!(second.headers.from().unwrap().uri.user(), Some("+15550001111"));
    phone.target = engine_addr(&two);
    agent::answer(&phone, &second);
    phone.expect_request("ACK", T);
    phone.send_raw(&agent_bye(&phone, &second));
    phone.expect_response(200, "BYE", T);
    let bye = caller_two.expect_request("BYE", T);
    caller_two.reply_ok(&bye);

    // Each engine's record names the agent.
    let calls_one = one.ended_calls(1, "two-engines-1", T);
    let calls_two = two.ended_calls(1, "two-engines-2", T);
    assert_eq!(calls_one[0]["agent"], "alice", "{:#}", calls_one[0]);
    assert_eq!(calls_two[0]["agent"], "alice", "{:#}", calls_two[0]);
    assert_eq!(calls_two[0]["node_id"], "node-2");
}
