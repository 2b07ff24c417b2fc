//! `jitter-bench`: runs the jitter-buffer benchmark and writes its table, CSV and plot.
//!
//! ```text
//! cargo run --release -p hotline-jitter-bench -- [--seeds 5] [--minutes 10] [--threads 2] [--loss default] [--check]
//! ```

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use jitter_bench::BenchError;
use jitter_bench::report::{BenchConfig, default_policies, run};
use jitter_bench::traces::{FRAME_MS, Family, LossModel, Trace};

/// Jitter-buffer benchmark: policies against the clairvoyant oracle on seeded traces.
#[derive(Debug, Parser)]
struct Args {
    /// Seeds per family (1..=N).
    #[arg(long, default_value_t = 5)]
    seeds: u64,
    /// Minutes per trace (20 ms packets).
    #[arg(long, default_value_t = 10.0)]
    minutes: f64,
    /// Trace families (comma-separated); all by default.
    #[arg(long, value_delimiter = ',')]
    families: Vec<String>,
    /// Network loss: none, default (~1.1 %) or heavy (~3 %).
    #[arg(long, default_value = "default")]
    loss: String,
    /// Worker threads (results do not depend on it).
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Where to write the SVG plot.
    #[arg(long)]
    svg: Option<PathBuf>,
    /// Where to write the CSV.
    #[arg(long)]
    csv: Option<PathBuf>,
    /// Do not write the SVG and CSV.
    #[arg(long)]
    no_write: bool,
    /// Exit with status 1 when the target does not hold (for CI).
    #[arg(long)]
    check: bool,
    /// Print one trace (`family:seed`) as text (`seq rtp_ts send_ms arrival_ms|lost`) and exit.
    #[arg(long)]
    dump: Option<String>,
}

fn main() -> ExitCode {
    match real_main() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("jitter-bench: {e}");
            ExitCode::from(2)
        }
    }
}

fn real_main() -> Result<ExitCode, BenchError> {
    let args = Args::parse();
    let loss = match args.loss.as_str() {
        "none" => LossModel::NONE,
        "default" => LossModel::DEFAULT,
        "heavy" => LossModel::HEAVY,
        other => {
            return Err(BenchError::UnknownLoss {
                name: other.to_owned(),
            });
        }
    };
    let packets = (args.minutes.max(0.0) * 60_000.0 / FRAME_MS).round() as usize;
    if let Some(spec) = &args.dump {
        let (family, seed) = spec.split_once(':').unwrap_or((spec.as_str(), "1"));
        let seed = seed.parse().unwrap_or(1);
        print!(
            "{}",
            Trace::generate(family.parse()?, seed, packets, loss).to_text()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let families = if args.families.is_empty() {
        Family::ALL.to_vec()
    } else {
        args.families
            .iter()
            .map(|f| f.parse())
            .collect::<Result<_, _>>()?
    };
    let config = BenchConfig {
        families,
        seeds: (1..=args.seeds).collect(),
        packets,
        loss,
        threads: args.threads,
        ..BenchConfig::default()
    };
    let report = run(&config, &default_policies())?;
    println!("{}", report.markdown());
    if !args.no_write {
        let images = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/images");
        let svg = args.svg.unwrap_or_else(|| images.join("jitter-frontier.svg"));
        let csv = args.csv.unwrap_or_else(|| images.join("jitter-frontier.csv"));
        write(&svg, &report.svg())?;
        write(&csv, &report.csv())?;
        let shown = |p: &Path| {
            std::fs::canonicalize(p)
                .unwrap_or_else(|_| p.to_owned())
                .display()
                .to_string()
        };
        println!("wrote {} and {}", shown(&svg), shown(&csv));
    }
    Ok(match report.verdict {
        Some(v) if args.check && !v.holds => ExitCode::from(1),
        _ => ExitCode::SUCCESS,
    })
}

fn write(path: &Path, contents: &str) -> Result<(), BenchError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| BenchError::Write {
            path: dir.to_owned(),
            source,
        })?;
    }
    std::fs::write(path, contents).map_err(|source| BenchError::Write {
        path: path.to_owned(),
        source,
    })
}
