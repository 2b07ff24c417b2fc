//! Memory per idle agent connection: the engine's resident memory before and after `N` agents hold an open,
//! idle agent WebSocket (`/api/v1/agent/ws`), side by side in the same run with `N` idle HTTP/1.1 keep-alive
//! connections to the same server (the cost of a bare connection in axum/hyper, with no WebSocket on it).
//!
//! ```text
//! cargo build --release -p hotline-server -p hotline-sip-test
//! HOTLINE_BIN=target/release/hotline target/release/bench-agent-sockets [--connections 1000]
//! ```
//!
//! Each phase runs on a fresh engine (so neither reuses memory the other freed) with the same `N` agents logged
//! in, opens its connections, and reports the growth of the engine's resident set (read from /proc) divided by
//! `N`. Every connection is taken only once the engine has answered on it (the HTTP response, the `welcome`
//! frame), so whatever the engine allocates for it is allocated by the time the set is read.
#![allow(clippy::unwrap_used)] // a benchmark tool: failing loudly is fine

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::Duration;

use hotline_sip_test::engine::{Engine, Options};
use hotline_sip_test::http;
use hotline_sip_test::ws::Ws;
use serde_json::{Value, json};

/// The engine's resident set size in KiB, from /proc.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// A fresh engine with `n` agents, each logged in; returns it and their session tokens.
fn engine_with_sessions(n: usize) -> (Engine, Vec<String>) {
    let engine = Engine::start(Options::default());
    let port = engine.http_port;
    let mut tokens = Vec::with_capacity(n);
    for i in 0..n {
        let id = format!("agent{i:05}");
        let body = json!({"id": id, "name": id, "password": "idle-socket-bench"}).to_string();
        let (status, text) = http::post_json(
            port,
            "/api/v1/agents",
            body.as_bytes(),
            Some(hotline_sip_test::engine::TOKEN),
        )
        .unwrap();
        assert_eq!(status, 201, "{text}");
        let login = json!({"agent": id, "password": "idle-socket-bench"}).to_string();
        let (status, text) = http::post_json(port, "/api/v1/agent/login", login.as_bytes(), None).unwrap();
        assert_eq!(status, 200, "{text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        tokens.push(v["token"].as_str().unwrap().to_owned());
    }
    (engine, tokens)
}

/// Resident growth per connection (KiB) of `n` idle keep-alive connections, each after one answered request.
fn keep_alive_phase(n: usize) -> (f64, u64, u64) {
    let (engine, _) = engine_with_sessions(n);
    let before = rss_kib(engine.pid());
    let mut plain = Vec::with_capacity(n);
    for _ in 0..n {
        let mut s = TcpStream::connect(("127.0.0.1", engine.http_port)).unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: bench\r\nConnection: keep-alive\r\n\r\n")
            .unwrap();
        let mut buf = [0u8; 1024];
        let got = s.read(&mut buf).unwrap();
        assert!(buf[..got].starts_with(b"HTTP/1.1 200"));
        plain.push(s);
    }
    let after = rss_kib(engine.pid());
    (after.saturating_sub(before) as f64 / n as f64, before, after)
}

/// Resident growth per connection (KiB) of `n` idle agent WebSockets, each past its `welcome`.
fn agent_socket_phase(n: usize) -> (f64, u64, u64) {
    let (engine, tokens) = engine_with_sessions(n);
    let before = rss_kib(engine.pid());
    let mut sockets = Vec::with_capacity(n);
    for t in &tokens {
        let mut ws = Ws::connect(engine.http_port, &format!("/api/v1/agent/ws?token={t}")).unwrap();
        ws.expect("welcome", Duration::from_secs(10));
        sockets.push(ws);
    }
    let after = rss_kib(engine.pid());
    (after.saturating_sub(before) as f64 / n as f64, before, after)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args
        .iter()
        .position(|a| a == "--connections")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    // Each phase on a fresh engine, so neither reuses memory the other freed.
    let (plain, p0, p1) = keep_alive_phase(n);
    let (ws, w0, w1) = agent_socket_phase(n);
    println!("connections: {n}");
    println!("keep-alive engine RSS {p0} -> {p1} KiB; agent-socket engine RSS {w0} -> {w1} KiB");
    println!("idle HTTP keep-alive connection: {plain:.2} KiB each");
    println!("idle agent WebSocket:            {ws:.2} KiB each");
    if plain > 0.0 {
        println!("ratio agent socket / keep-alive connection: {:.2}", ws / plain);
    }
}
