//! Sweeps `jitter::AdaptiveConfig` variants against the oracle, for tuning the engine's policy.
//!
//! ```text
//! cargo run --release -p hotline-jitter-bench --example tune -- [SEEDS]
//! ```
//!
//! Prints, per family, each variant's concealment %, mean delay (ms) and excess over the oracle (ms), next to the
//! reference policies. Every variant runs in the same run, so the oracle frontiers are computed once per trace.

use std::process::ExitCode;

use jitter::{AdaptiveConfig, AdaptivePolicy};
use jitter_bench::report::{BenchConfig, PolicySpec, Role, default_policies, run};

fn main() -> ExitCode {
    let seeds: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(2);
    let d = AdaptiveConfig::default();
    let no_peak = AdaptiveConfig {
        peak_threshold_ms: f64::INFINITY,
        ..d
    };
    let variants: [(&'static str, AdaptiveConfig); 7] = [
        ("no-peak", no_peak),
        (
            "no-peak q.995",
            AdaptiveConfig {
                quantile: 0.995,
                ..no_peak
            },
        ),
        (
            "no-peak q.98",
            AdaptiveConfig {
                quantile: 0.98,
                ..no_peak
            },
        ),
        (
            "no-peak f.9995",
            AdaptiveConfig {
                forget: 0.9995,
                ..no_peak
            },
        ),
        (
            "no-peak f.995",
            AdaptiveConfig {
                forget: 0.995,
                ..no_peak
            },
        ),
        (
            "no-peak q.995 f.9995",
            AdaptiveConfig {
                quantile: 0.995,
                forget: 0.9995,
                ..no_peak
            },
        ),
        (
            "peak 80 ms / 5 s",
            AdaptiveConfig {
                peak_threshold_ms: 80.0,
                peak_window_ms: 5000.0,
                ..d
            },
        ),
    ];
    let mut policies = default_policies();
    for (name, config) in variants {
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
    print!("{:22}", "policy (conceal % / mean / excess)");
    for f in &report.families {
        print!(" {:>20}", f.family.name());
    }
    println!();
    for (i, name) in report.policy_names.iter().enumerate() {
        print!("{name:22}");
        for f in &report.families {
            if let Some((_, _, m)) = f.policies.get(i) {
                print!(
                    " {:>5.2} {:>6.1} {:>+6.1}",
                    m.concealment * 100.0,
                    m.mean_delay_ms,
                    m.excess_ms
                );
            }
        }
        println!();
    }
    ExitCode::SUCCESS
}
