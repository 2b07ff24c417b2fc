//! Routing decisions per second with 10,000 waiting contacts and 1,000 agents.
//!
//! `flock -o /tmp/hotline-cargo.lock cargo run --release -p hotline-queue --example route_bench`
//!
//! One queue per strategy family is not needed: one `longest-idle-agent` queue, contacts with one of
//! 10 skills (levels 1–5) and priorities 0–9, agents with 3 skills each (levels 3–10). All agents start
//! on break; 10,000 contacts are enqueued; then each cycle frees one agent (accept + finish of its
//! contact, wrap-up 0), which triggers one routing decision (an offer) while a new contact keeps the
//! queue at 10,000. The figure is offers per wall-clock second over the whole cycle.
#![allow(clippy::unwrap_used)] // a benchmark: failing loudly is the point
#![allow(clippy::disallowed_methods)] // the benchmark is the shell: it reads the wall clock to time the core

use std::time::{Duration, Instant};

use hotline_queue::{
    Acd, AcdConfig, AgentConfig, AgentStatus, Channel, NewContact, QueueConfig, QueueEvent, Skill, Strategy,
};

const CONTACTS: usize = 10_000;
const AGENTS: usize = 1_000;
const CYCLES: usize = 200_000;

fn main() {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut rnd = move |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    let t0 = Instant::now();
    let mut now = t0;
    let mut acd = Acd::new(AcdConfig::default(), 1);
    let mut q = QueueConfig::new("q");
    q.strategy = Strategy::LongestIdleAgent;
    q.max_len = CONTACTS + 1;
    q.wrap_up = Duration::ZERO;
    q.starvation_age = Some(Duration::from_secs(120));
    acd.add_queue(q).unwrap();
    for a in 0..AGENTS {
        let mut cfg = AgentConfig::new(&format!("agent{a}"), &["q"]);
        cfg.skills = (0..3)
            .map(|_| Skill::new(&format!("s{}", rnd(10)), 3 + rnd(8) as u8))
            .collect();
        acd.add_agent(cfg).unwrap();
    }
    let contact = |acd: &mut Acd, now: Instant, rnd: &mut dyn FnMut(u64) -> u64| {
        let mut c = NewContact::new("q", Channel::Call);
        c.priority = rnd(10) as u8;
        c.skills = vec![Skill::new(&format!("s{}", rnd(10)), 1 + rnd(5) as u8)];
        acd.enqueue(now, c).unwrap();
    };
    for _ in 0..CONTACTS {
        contact(&mut acd, now, &mut rnd);
    }
    while acd.poll_event().is_some() {}
    let mut pending = Vec::new();
    let start = Instant::now();
    for a in 0..AGENTS {
        acd.set_status(now, &format!("agent{a}").as_str().into(), AgentStatus::Idle)
            .unwrap();
    }
    let mut decisions = 0usize;
    let mut connected = std::collections::VecDeque::new();
    let drain = |acd: &mut Acd, pending: &mut Vec<_>, decisions: &mut usize| {
        while let Some(e) = acd.poll_event() {
            if let QueueEvent::Offered { offer, contact, .. } = e {
                pending.push((offer, contact));
                *decisions += 1;
            }
        }
    };
    drain(&mut acd, &mut pending, &mut decisions);
    let initial = decisions;
    for _ in 0..CYCLES {
        now += Duration::from_millis(10);
        if let Some((offer, c)) = pending.pop() {
            acd.accept(now, offer).unwrap();
            connected.push_back(c);
        }
        if connected.len() > AGENTS / 2 {
            if let Some(c) = connected.pop_front() {
                acd.finish(now, c).unwrap();
            }
        }
        contact(&mut acd, now, &mut rnd);
        drain(&mut acd, &mut pending, &mut decisions);
        if acd.poll_timeout().is_some_and(|t| t <= now) {
            acd.handle_timeout(now);
            drain(&mut acd, &mut pending, &mut decisions);
        }
    }
    let elapsed = start.elapsed();
    let waiting = acd.stats(now, "q").unwrap().waiting;
    println!(
        "{decisions} routing decisions ({initial} at start-up) in {:.3} s: {:.0} decisions/s \
         ({CONTACTS} contacts, {AGENTS} agents, {waiting} waiting at the end, {CYCLES} command cycles)",
        elapsed.as_secs_f64(),
        decisions as f64 / elapsed.as_secs_f64(),
    );
}
