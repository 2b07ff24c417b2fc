//! Sweeps `jitter::AdaptiveConfig` variants against the oracle, for tuning the engine's policy.
//!
//! ```text
//! cargo run --release -p hotline-jitter-bench --example tune -- [SEEDS] [VARIANTS_FILE]
//! ```
//!
//! Prints, per family, each variant's concealment %, mean delay (ms) and excess over the oracle (ms), next to the
//! reference policies. Every variant runs in the same run, so the oracle frontiers are computed once per trace.
//!
//! Without `VARIANTS_FILE` a built-in sweep runs. A variants file has one variant per line: a name, then
//! `key=value` changes to `AdaptiveConfig::default()` (`q`, `forget`, `margin`, `peak`, `peak_window`,
//! `base_window`, `initial`, `release_after`, `release_window`, `near_late`, `calm_q`; `inf` for infinity).
//! `#` starts a comment. Example line: `calm-.998 calm_q=0.998 release_after=500`.

use std::process::ExitCode;

use jitter::{AdaptiveConfig, AdaptivePolicy};
use jitter_bench::report::{BenchConfig, PolicySpec, Role, default_policies, run};

fn parse_variant(line: &str) -> Result<(String, AdaptiveConfig), String> {
    let mut words = line.split_whitespace();
    let name = words.next().ok_or("empty line")?.to_owned();
    let mut c = AdaptiveConfig::default();
    for kv in words {
        let (k, v) = kv.split_once('=').ok_or_else(|| format!("not key=value: {kv}"))?;
        let v: f64 = if v == "inf" {
            f64::INFINITY
        } else {
            v.parse().map_err(|e| format!("{kv}: {e}"))?
        };
        match k {
            "q" => c.quantile = v,
            "forget" => c.forget = v,
            "margin" => c.margin_ms = v,
            "peak" => c.peak_threshold_ms = v,
            "peak_window" => c.peak_window_ms = v,
            "base_window" => c.base_window_ms = v,
            "initial" => c.initial_delay_ms = v,
            "release_after" => c.release_after_ms = v,
            "release_window" => c.release_window_ms = v,
            "near_late" => c.near_late_ms = v,
            "calm_q" => c.calm_quantile = v,
            other => return Err(format!("unknown key {other}")),
        }
    }
    Ok((name, c))
}

fn builtin() -> Vec<(String, AdaptiveConfig)> {
    [
        "old-default peak=40 forget=0.998 release_after=inf",
        "no-release release_after=inf",
        "calm-q.99 calm_q=0.99",
        "calm-q.998 calm_q=0.998",
        "release-.5s release_after=500 release_window=500",
        "q.995 q=0.995",
        "forget.998 forget=0.998",
    ]
    .iter()
    .filter_map(|l| parse_variant(l).ok())
    .collect()
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let seeds: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(2);
    let variants = match args.next() {
        None => builtin(),
        Some(path) => {
            let text = match std::fs::read_to_string(&path) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("tune: {path}: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let mut out = Vec::new();
            for line in text.lines() {
                let line = line.split('#').next().unwrap_or("").trim();
                if line.is_empty() {
                    continue;
                }
                match parse_variant(line) {
                    Ok(v) => out.push(v),
                    Err(e) => {
                        eprintln!("tune: {path}: {e}");
                        return ExitCode::FAILURE;
                    }
                }
            }
            out
        }
    };
    let mut policies = default_policies();
    for (name, config) in variants {
        // Names live for the whole run; leaking a few short strings is fine in a tuning tool.
        let name: &'static str = Box::leak(name.into_boxed_str());
        policies.push(PolicySpec::new(name, Role::Reference, move || {
            AdaptivePolicy::new(config)
        }));
    }
    let config = BenchConfig {
        seeds: (1..=seeds).collect(),
        threads: 2,
        ..BenchConfig::default()
    };
    let report = match run(&config, &policies) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("tune: {e}");
            return ExitCode::FAILURE;
        }
    };
    print!("{:22}", "policy (conceal/late % / mean / excess)");
    for f in &report.families {
        print!(" {:>20}", f.family.name());
    }
    println!();
    for (i, name) in report.policy_names.iter().enumerate() {
        print!("{name:22}");
        for f in &report.families {
            if let Some((_, _, m)) = f.policies.get(i) {
                print!(
                    " {:>4.2}/{:>4.2} {:>5.1} {:>+5.1}",
                    m.concealment * 100.0,
                    m.late * 100.0,
                    m.mean_delay_ms,
                    m.excess_ms
                );
            }
        }
        println!();
    }
    ExitCode::SUCCESS
}
