//! Calls per second at zero failures: `hotline serve` with an answer-and-hang-up flow, side by side with
//! SIPp's own UAS in the same run (same machine, same client, alternating rates).
//!
//! ```text
//! cargo build --release -p hotline-server -p hotline-sip-test
//! HOTLINE_BIN=target/release/hotline target/release/bench-cps [--seconds 5] [--rates 250,500,1000,1500,2000]
//! ```
//!
//! For each rate, SIPp places `rate × seconds` calls against each target. A rate passes when every call
//! succeeded. The result is the highest passing rate per target and their ratio; CPU seconds the engine
//! used are read from /proc for a per-call cost.
#![allow(clippy::unwrap_used)] // a benchmark tool: failing loudly is fine

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hotline_sip_test::engine::{Engine, Options};
use hotline_sip_test::sipp::{self, Run};
use hotline_sip_test::{ports, tools};

const SCENARIO: &str = include_str!("../../scenarios/answer-hangup.xml");

struct Outcome {
    ok: u64,
    failed: u64,
    retrans: u64,
    elapsed: Duration,
}

fn run_against(scenario: &str, target: String, rate: u32, seconds: u32) -> Outcome {
    let mut r = Run::new(scenario, target);
    r.calls = rate * seconds;
    r.rate = rate;
    r.trace_msg = false;
    r.timeout = Duration::from_secs(u64::from(seconds) * 4 + 20);
    r.extra = vec!["-l".into(), "20000".into(), "-d".into(), "0".into()];
    let start = Instant::now();
    let out = sipp::run(&r).expect("sipp is required for the benchmark");
    Outcome {
        ok: out.stat("SuccessfulCall(C)"),
        failed: out.stat("FailedCall(C)"),
        retrans: out.stat("Retransmissions(C)"),
        elapsed: start.elapsed(),
    }
}

/// CPU seconds (user + system) a process has used, from /proc.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks: f64 = fields.get(11).and_then(|u| u.parse::<f64>().ok()).unwrap_or(0.0)
        + fields.get(12).and_then(|s| s.parse::<f64>().ok()).unwrap_or(0.0);
    ticks / 100.0
}

/// SIPp's built-in UAS, in the foreground as our child (stopped by PID at the end).
fn sipp_uas() -> (Child, u16) {
    let port = ports::block(2);
    let child = Command::new(tools::require("sipp").unwrap())
        .args([
            "-sn",
            "uas",
            "-i",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-nostdin",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    (child, port)
}

/// SIPp's built-in UAC scenario as XML (`sipp -sd uac`): INVITE, 200, ACK, BYE, 200.
fn builtin_uac() -> String {
    let out = Command::new(tools::require("sipp").unwrap())
        .args(["-sd", "uac"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    // The built-in UAC pauses before its BYE; the engine's flow hangs up at once, so compare like with like.
    text.replace("<pause/>", "")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let seconds: u32 = arg("--seconds").and_then(|s| s.parse().ok()).unwrap_or(5);
    let rates: Vec<u32> = arg("--rates")
        .unwrap_or_else(|| "250,500,1000,1500,2000".into())
        .split(',')
        .filter_map(|r| r.trim().parse().ok())
        .collect();

    let engine = Engine::start(Options {
        extra_config: "routes: {\"*\": answer-hangup}\nrtp_timeout: 0s\n\
                       limits: {max_calls: 20000, invites_per_source_per_sec: 1000000, \
                       requests_per_source_per_sec: 1000000, shard_queue: 65536}\n"
            .into(),
        rtp_port_count: Some(4000),
        flows: Some(tools::workspace_root().join("ivr-flows")),
        ..Default::default()
    });
    let (mut uas, uas_port) = sipp_uas();
    let uac = builtin_uac();

    println!(
        "| rate (calls/s) | hotline ok/failed/retrans | hotline CPU ms/call | SIPp UAS ok/failed/retrans |"
    );
    println!("|---|---|---|---|");
    let mut best = (0u32, 0u32);
    for &rate in &rates {
        let cpu0 = cpu_seconds(engine.pid());
        let h = run_against(SCENARIO, engine.sip_addr(), rate, seconds);
        let cpu = cpu_seconds(engine.pid()) - cpu0;
        let s = run_against(&uac, format!("127.0.0.1:{uas_port}"), rate, seconds);
        let per_call = if h.ok > 0 { cpu * 1000.0 / h.ok as f64 } else { 0.0 };
        println!(
            "| {rate} | {}/{}/{} ({:.1} s) | {per_call:.3} | {}/{}/{} ({:.1} s) |",
            h.ok,
            h.failed,
            h.retrans,
            h.elapsed.as_secs_f64(),
            s.ok,
            s.failed,
            s.retrans,
            s.elapsed.as_secs_f64()
        );
        let calls = u64::from(rate * seconds);
        if h.failed == 0 && h.ok == calls {
            best.0 = rate;
        }
        if s.failed == 0 && s.ok == calls {
            best.1 = rate;
        }
    }
    println!();
    println!(
        "highest rate with zero failures: hotline {} calls/s, SIPp UAS {} calls/s",
        best.0, best.1
    );
    if best.1 > 0 {
        println!(
            "ratio hotline / SIPp UAS: {:.2}",
            f64::from(best.0) / f64::from(best.1)
        );
    }
    let _ = uas.kill();
    let _ = uas.wait();
}
