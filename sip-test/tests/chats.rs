//! Chats on the wire: a customer opens a chat over REST and a WebSocket, it waits in the same `support`
//! queue calls use, a logged-in agent gets the offer on the agent socket, accepts, and messages flow both
//! ways; the history is stored, and the customer's call and chat are one timeline. Also the guards: message
//! size, chats per address, logins, tokens.
#![allow(clippy::unwrap_used)] // tests

use std::time::Duration;

use hotline_sip_test::engine::{Engine, Options, TOKEN};
use hotline_sip_test::peer::Peer;
use hotline_sip_test::ws::{ConnectError, Ws};
use hotline_sip_test::{agent, http, pg};
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(10);
const PASSWORD: &str = "chat-secret-1";

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// Logs an agent in; returns the session token.
fn login(engine: &Engine, agent: &str, password: &str) -> (u16, Value) {
    let body = json!({"agent": agent, "password": password}).to_string();
    let (status, text) =
        http::post_json(engine.http_port, "/api/v1/agent/login", body.as_bytes(), None).unwrap();
    (status, json_of(&text))
}

/// Opens a chat; returns the status and the JSON answer.
fn open_chat(engine: &Engine, body: &Value) -> (u16, Value) {
    let (status, text) = http::post_json(
        engine.http_port,
        "/api/v1/chats",
        body.to_string().as_bytes(),
        None,
    )
    .unwrap();
    (status, json_of(&text))
}

/// An agent logged in, with its socket open and its status idle.
fn idle_agent_socket(engine: &Engine, id: &str) -> Ws {
    agent::create(
        engine.http_port,
        json!({"id": id, "name": "Alice Chat", "password": PASSWORD, "queues": ["support"], "max_chats": 2})
            .to_string()
            .as_bytes(),
    );
    let (status, session) = login(engine, id, PASSWORD);
    assert_eq!(status, 200, "{session}");
    let token = session["token"].as_str().unwrap();
    let mut ws = Ws::connect(engine.http_port, &format!("/api/v1/agent/ws?token={token}")).unwrap();
    let welcome = ws.expect("welcome", T);
    assert_eq!(welcome["agent"], id);
    ws.send(&json!({"type": "status", "status": "idle"}));
    assert_eq!(ws.expect("status", T)["status"], "idle");
    ws
}

/// The chat record once the store has closed it (the writer logs each close).
fn ended_chat(engine: &Engine, id: &str) -> Value {
    assert!(
        engine.wait_log(&format!("chat record closed chat={id}"), T),
        "chat {id} was not closed in the store:\n{}",
        engine.log_text()
    );
    let (code, text) = engine.api_get(&format!("/api/v1/chats/{id}"));
    assert_eq!(code, 200, "{text}");
    json_of(&text)
}

#[test]
fn a_chat_goes_through_the_call_queue_to_an_agent_and_messages_flow_both_ways() {
    chat_reaches_an_agent(None);
}

#[test]
fn the_same_on_postgresql() {
    let Some(db) = pg::fresh_database() else {
        return;
    };
    chat_reaches_an_agent(Some(db.url.clone()));
}

fn chat_reaches_an_agent(database: Option<String>) {
    let engine = Engine::start(Options {
        database,
        ..Options::default()
    });

    // The customer called before: a call from the same number, hung up at once.
    let mut caller = Peer::new(engine.sip_port);
    let (to_tag, _) = agent::dial_test_line(&mut caller, "chat-timeline-call");
    agent::hang_up_test_line(&mut caller, "chat-timeline-call", &to_tag);

    let mut alice = idle_agent_socket(&engine, "alice");

    let (status, opened) = open_chat(
        &engine,
        &json!({"queue": "support", "number": "+1 555 000 1111", "name": "Dana", "text": "My card is blocked"}),
    );
    assert_eq!(status, 201, "{opened}");
    let chat = opened["id"].as_str().unwrap().to_owned();
    let mut customer = Ws::connect(engine.http_port, opened["ws"].as_str().unwrap()).unwrap();
    let welcome = customer.expect("welcome", T);
    assert_eq!(welcome["status"], "queued");
    assert_eq!(welcome["messages"][0]["text"], "My card is blocked");

    // The offer reaches the agent's socket with the customer and the first words.
    let offer = alice.expect("chat_offered", T);
    assert_eq!(offer["chat"], chat.as_str());
    assert_eq!(offer["queue"], "support");
    assert_eq!(offer["customer"]["name"], "Dana");
    assert_eq!(offer["preview"], "My card is blocked");
    alice.send(&json!({"type": "accept", "offer": offer["offer"]}));
    let started = alice.expect("chat_started", T);
    assert_eq!(started["chat"], chat.as_str());
    assert_eq!(started["messages"][0]["text"], "My card is blocked");
    assert_eq!(customer.expect("agent_joined", T)["agent"], "alice");

    // Messages both ways.
    alice.send(&json!({"type": "message", "chat": chat, "text": "Let me check that for you."}));
    let to_customer = customer.expect("message", T);
    assert_eq!(to_customer["from"], "agent");
    assert_eq!(to_customer["text"], "Let me check that for you.");
    customer.send(&json!({"type": "message", "text": "Thank you"}));
    let echo = customer.expect("message", T);
    assert_eq!(
        (echo["seq"].as_u64(), echo["from"].as_str()),
        (Some(3), Some("customer")),
        "the sender sees its own message numbered"
    );
    let to_agent = alice.expect("message", T);
    assert_eq!(
        (to_agent["from"].as_str(), to_agent["text"].as_str()),
        (Some("agent"), Some("Let me check that for you."))
    );
    let to_agent = alice.expect("message", T);
    assert_eq!(
        (to_agent["from"].as_str(), to_agent["text"].as_str()),
        (Some("customer"), Some("Thank you"))
    );

    // The size limit, at the limit and one byte over.
    let at_limit = "x".repeat(4096);
    customer.send(&json!({"type": "message", "text": at_limit}));
    assert_eq!(customer.expect("message", T)["seq"], 4);
    customer.send(&json!({"type": "message", "text": "y".repeat(4097)}));
    assert_eq!(customer.expect("error", T)["code"], "too_large");

    // The chat counts in the same queue as the calls.
    let (_, queues) = engine.api_get("/api/v1/queues");
    let queues = json_of(&queues);
    assert_eq!(queues["support"]["answered"], 1, "{queues}");

    // The customer ends it: both sides are told, the customer's socket closes.
    customer.send(&json!({"type": "end"}));
    assert_eq!(alice.expect("ended", T)["chat"], chat.as_str());
    assert!(
        customer.closes_within(T),
        "the customer's socket stays open: {:?}",
        customer.seen
    );
    assert!(
        customer
            .seen
            .iter()
            .any(|v| v["type"] == "ended" && v["reason"] == "customer_ended")
    );

    // History, in order, in the database.
    let record = ended_chat(&engine, &chat);
    assert_eq!(record["status"], "ended");
    assert_eq!(record["agent"], "alice");
    assert_eq!(record["queue"], "support");
    assert_eq!(record["end_reason"], "customer_ended");
    let list: Vec<(String, String)> = record["message_list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["sender"].as_str().unwrap().to_owned(),
                m["body"].as_str().unwrap().chars().take(30).collect(),
            )
        })
        .collect();
    assert_eq!(
        list,
        [
            ("customer".into(), "My card is blocked".into()),
            ("agent".into(), "Let me check that for you.".into()),
            ("customer".into(), "Thank you".into()),
            ("customer".into(), "x".repeat(30)),
        ]
    );

    // One timeline: the call and the chat of the same number, newest first.
    engine.ended_calls(1, "chat-timeline-call", T);
    let (code, text) = engine.api_get("/api/v1/timeline?number=%2B15550001111");
    assert_eq!(code, 200, "{text}");
    let items = json_of(&text);
    let kinds: Vec<&str> = items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["chat", "call"], "{items}");
    assert_eq!(items[0]["id"], chat.as_str());
    assert_eq!(items[0]["agent"], "alice");
}

#[test]
fn chat_and_agent_sockets_refuse_what_they_must() {
    let engine = Engine::start(Options::default());
    agent::create(
        engine.http_port,
        json!({"id": "bob", "name": "Bob", "password": PASSWORD, "queues": ["support"]})
            .to_string()
            .as_bytes(),
    );

    // An unknown queue, and a first message over the limit.
    let (status, body) = open_chat(&engine, &json!({"queue": "nowhere"}));
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("bad_request")),
        "{body}"
    );
    let (status, _) = open_chat(&engine, &json!({"queue": "support", "text": "z".repeat(4097)}));
    assert_eq!(status, 400);

    // A wrong chat token is answered like an unknown chat.
    let (status, opened) = open_chat(&engine, &json!({"queue": "support"}));
    assert_eq!(status, 201);
    let id = opened["id"].as_str().unwrap();
    match Ws::connect(engine.http_port, &format!("/api/v1/chats/{id}/ws?token=wrong")) {
        Err(ConnectError::Status(404)) => {}
        other => panic!("a wrong chat token must get 404, got {:?}", other.err()),
    }
    match Ws::connect(
        engine.http_port,
        "/api/v1/chats/01ARZ3NDEKTSV4RRFFQ69G5FAV/ws?token=x",
    ) {
        Err(ConnectError::Status(404)) => {}
        other => panic!("an unknown chat must get 404, got {:?}", other.err()),
    }

    // Chats open from one address: the limit (20, one is open already) passes, one more is refused.
    for n in 2..=20 {
        let (status, body) = open_chat(&engine, &json!({"queue": "support"}));
        assert_eq!(status, 201, "chat {n}: {body}");
    }
    let (status, body) = open_chat(&engine, &json!({"queue": "support"}));
    assert_eq!(
        (status, body["error"].as_str()),
        (429, Some("too_many_requests")),
        "{body}"
    );

    // Agent sockets need a session.
    match Ws::connect(engine.http_port, "/api/v1/agent/ws?token=not-a-session") {
        Err(ConnectError::Status(401)) => {}
        other => panic!("a socket without a session must get 401, got {:?}", other.err()),
    }

    // Logins: an unknown agent gets the same answer as a wrong password. Five failures from one address
    // are tolerated; the sixth bans it, and then even the right password is refused.
    let (status, unknown) = login(&engine, "nobody", PASSWORD);
    assert_eq!(status, 401);
    let (status, wrong) = login(&engine, "bob", "wrong-password");
    assert_eq!(status, 401);
    assert_eq!(unknown, wrong);
    for _ in 0..3 {
        assert_eq!(login(&engine, "bob", "wrong-password").0, 401);
    }
    let (status, session) = login(&engine, "bob", PASSWORD);
    assert_eq!(status, 200, "after five failures: {session}");
    assert_eq!(login(&engine, "bob", "wrong-password").0, 401);
    let (status, banned) = login(&engine, "bob", PASSWORD);
    assert_eq!(status, 429, "after the sixth failure: {banned}");

    // Logging out ends the session: its token no longer opens a socket.
    let token = session["token"].as_str().unwrap();
    let mut ws = Ws::connect(engine.http_port, &format!("/api/v1/agent/ws?token={token}")).unwrap();
    ws.expect("welcome", T);
    let (status, text) = http::get(engine.http_port, "/api/v1/agent/session", Some(token)).unwrap();
    assert_eq!(status, 200, "a live session: {text}");
    let (status, text) = http::post(engine.http_port, "/api/v1/agent/logout", b"", Some(token)).unwrap();
    assert_eq!(status, 204, "{text}");
    let (status, _) = http::get(engine.http_port, "/api/v1/agent/session", Some(token)).unwrap();
    assert_eq!(status, 401, "a session that ended");
    assert!(ws.closes_within(T), "the agent socket stays open after logout");
    match Ws::connect(engine.http_port, &format!("/api/v1/agent/ws?token={token}")) {
        Err(ConnectError::Status(401)) => {}
        other => panic!("a logged-out session must get 401, got {:?}", other.err()),
    }

    // The session is in the database: started from this address, ended by the logout.
    assert!(engine.wait_log("session_ended", T), "{}", engine.log_text());
    let (status, text) = http::get(engine.http_port, "/api/v1/agents/bob/sessions", Some(TOKEN)).unwrap();
    assert_eq!(status, 200, "{text}");
    let sessions: Value = serde_json::from_str(&text).unwrap();
    let s = &sessions[0];
    assert_eq!(
        (s["agent"].as_str(), s["end_reason"].as_str()),
        (Some("bob"), Some("logout")),
        "{sessions:#}"
    );
    assert_eq!(s["source"], "127.0.0.1");
    assert!(s["token"].is_null(), "the secret token is not in the record");
    let (status, _) = http::get(engine.http_port, "/api/v1/agents/nobody/sessions", Some(TOKEN)).unwrap();
    assert_eq!(status, 404);

    // The chat history API is behind the API token.
    let (status, _) = http::get(engine.http_port, &format!("/api/v1/chats/{id}"), None).unwrap();
    assert_eq!(status, 401);
    let (status, _) = http::get(engine.http_port, &format!("/api/v1/chats/{id}"), Some(TOKEN)).unwrap();
    assert_eq!(status, 200);
}
