//! The benchmark run: traces × seeds × policies against the oracle, aggregated per family, with the target verdict,
//! a markdown table, a CSV and an SVG plot.

use std::fmt::Write as _;

use crate::error::BenchError;
use crate::metrics::Metrics;
use crate::oracle::{Frontier, OracleGrid, StaticOracle, concealment};
use crate::policy::{AdaptLimits, PlayoutPolicy, SimResult, simulate};
use crate::reference::{AsteriskLike, FixedDelay, NetEqLike, SpeexLike};
use crate::traces::{FRAME_MS, Family, LossModel, Trace};

/// Concealment rates at which the oracle frontier is reported.
pub const ORACLE_TARGETS: [f64; 5] = [0.002, 0.005, 0.01, 0.02, 0.05];

/// The target's bound on concealment (network loss excluded).
pub const TARGET_MAX_CONCEALMENT: f64 = 0.01;
/// The target's bound on the excess over the oracle on stationary traces (ms).
pub const TARGET_STATIONARY_MS: f64 = 10.0;
/// The target's bound on the excess over the oracle on non-stationary traces (ms).
pub const TARGET_NON_STATIONARY_MS: f64 = 20.0;
/// On how many of the five main traces our excess must be the lowest.
pub const TARGET_WINS: usize = 4;

/// Whether a policy is the engine's or a reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The engine's policy (`jitter::AdaptivePolicy`): the one the target is about.
    Ours,
    /// A reference re-implementation.
    Reference,
}

/// Builds a fresh policy for one run.
pub type MakePolicy = std::sync::Arc<dyn Fn() -> Box<dyn PlayoutPolicy> + Send + Sync>;

/// A policy to benchmark: a name and a constructor (each run gets a fresh policy).
#[derive(Clone)]
pub struct PolicySpec {
    /// Name in reports.
    pub name: &'static str,
    /// Ours or a reference.
    pub role: Role,
    /// Builds a fresh policy.
    pub make: MakePolicy,
}

impl PolicySpec {
    /// A policy named `name` built by `make` (a closure may capture a configuration, for tuning sweeps).
    pub fn new<P, F>(name: &'static str, role: Role, make: F) -> Self
    where
        P: PlayoutPolicy + 'static,
        F: Fn() -> P + Send + Sync + 'static,
    {
        Self {
            name,
            role,
            make: std::sync::Arc::new(move || Box::new(make()) as Box<dyn PlayoutPolicy>),
        }
    }
}

impl std::fmt::Debug for PolicySpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicySpec")
            .field("name", &self.name)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// The engine's policy (`jitter::AdaptivePolicy` with its default configuration) and the references: NetEQ-like,
/// Asterisk-like, Speex-like, fixed 60 ms.
pub fn default_policies() -> Vec<PolicySpec> {
    vec![
        PolicySpec::new("hotline", Role::Ours, jitter::AdaptivePolicy::default),
        PolicySpec::new("neteq-like", Role::Reference, NetEqLike::default),
        PolicySpec::new("asterisk-like", Role::Reference, AsteriskLike::default),
        PolicySpec::new("speex-like", Role::Reference, SpeexLike::default),
        PolicySpec::new("fixed-60", Role::Reference, || FixedDelay(60.0)),
    ]
}

/// What to run.
#[derive(Clone, Debug, PartialEq)]
pub struct BenchConfig {
    /// Trace families.
    pub families: Vec<Family>,
    /// Seeds (one trace per family and seed).
    pub seeds: Vec<u64>,
    /// Packets per trace (30,000 = 10 minutes of 20 ms frames).
    pub packets: usize,
    /// Network loss layered on every trace.
    pub loss: LossModel,
    /// Slew limits of the simulated buffers.
    pub limits: AdaptLimits,
    /// The oracle's grid.
    pub grid: OracleGrid,
    /// Frontier refinement: largest interpolation error allowed (ms).
    pub frontier_tolerance_ms: f64,
    /// Oracle solves per trace at most.
    pub max_solves: usize,
    /// Worker threads (traces run in parallel; results do not depend on it).
    pub threads: usize,
}

impl Default for BenchConfig {
    /// Every family, seeds 1–5, 10 minutes, ~1.1 % network loss, default limits and grid, 1 thread.
    fn default() -> Self {
        Self {
            families: Family::ALL.to_vec(),
            seeds: (1..=5).collect(),
            packets: 30_000,
            loss: LossModel::DEFAULT,
            limits: AdaptLimits::default(),
            grid: OracleGrid::default(),
            frontier_tolerance_ms: 0.25,
            max_solves: 40,
            threads: 1,
        }
    }
}

/// Summary statistics of a trace's relative delays.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct DelayStats {
    /// Median relative delay (ms).
    pub p50_ms: f64,
    /// 99th percentile (ms).
    pub p99_ms: f64,
    /// Largest (ms).
    pub max_ms: f64,
    /// Fraction of packets lost by the network.
    pub loss: f64,
}

/// One trace: its frontier and every policy's metrics.
#[derive(Clone, Debug)]
pub struct TraceRun {
    /// Family.
    pub family: Family,
    /// Seed.
    pub seed: u64,
    /// Relative-delay statistics.
    pub stats: DelayStats,
    /// The oracle frontier.
    pub frontier: Frontier,
    /// The static (non-adapting) oracle at each of [`ORACLE_TARGETS`] (ms).
    pub static_oracle_ms: [f64; 5],
    /// The static oracle of the trace.
    pub static_oracle: StaticOracle,
    /// `(policy name, metrics)` in policy order.
    pub policies: Vec<(&'static str, Metrics)>,
}

/// One family, averaged over seeds.
#[derive(Clone, Debug)]
pub struct FamilySummary {
    /// Family.
    pub family: Family,
    /// Mean relative-delay statistics.
    pub stats: DelayStats,
    /// Mean oracle delay at each of [`ORACLE_TARGETS`] (ms).
    pub oracle_ms: [f64; 5],
    /// Mean static-oracle delay at each of [`ORACLE_TARGETS`] (ms).
    pub static_oracle_ms: [f64; 5],
    /// The mean frontier sampled on a concealment grid: `(concealment, mean delay ms)`.
    pub frontier: Vec<(f64, f64)>,
    /// The mean static oracle (best constant buffer) on the same grid.
    pub static_frontier: Vec<(f64, f64)>,
    /// `(policy, role, mean metrics)` in policy order.
    pub policies: Vec<(&'static str, Role, Metrics)>,
}

/// The verdict of the target on one family.
#[derive(Clone, Debug, PartialEq)]
pub struct FamilyVerdict {
    /// Family.
    pub family: Family,
    /// Allowed excess (ms).
    pub bound_ms: f64,
    /// Our concealment.
    pub concealment: f64,
    /// Our excess over the oracle (ms).
    pub excess_ms: f64,
    /// Concealment ≤ 1 % and excess ≤ bound.
    pub within: bool,
    /// The reference with the lowest excess and that excess.
    pub best_reference: (&'static str, f64),
    /// Our excess is lower than every reference's.
    pub lowest_excess: bool,
    /// How far the best constant buffer at our concealment lies above the oracle (ms): on traces of independent
    /// delays, the part of the excess no causal policy can remove.
    pub static_gap_ms: f64,
}

/// The verdict of the whole target.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    /// Per family.
    pub families: Vec<FamilyVerdict>,
    /// Main traces on which our excess is the lowest.
    pub wins_on_main: usize,
    /// Main traces present in the run.
    pub main_present: usize,
    /// Every family within its bound and at least [`TARGET_WINS`] wins.
    pub holds: bool,
}

/// A complete benchmark run.
#[derive(Clone, Debug)]
pub struct Report {
    /// What ran.
    pub config: BenchConfig,
    /// Policy names, in order.
    pub policy_names: Vec<&'static str>,
    /// Every trace.
    pub runs: Vec<TraceRun>,
    /// Per family.
    pub families: Vec<FamilySummary>,
    /// The target's verdict (`None` without a policy of role [`Role::Ours`]).
    pub verdict: Option<Verdict>,
}

/// Runs one trace.
pub fn run_trace(family: Family, seed: u64, config: &BenchConfig, policies: &[PolicySpec]) -> TraceRun {
    let trace = Trace::generate(family, seed, config.packets, config.loss);
    let arrivals = trace.arrivals();
    let rel = trace.relative_delays();
    let mut sorted: Vec<f64> = rel.iter().flatten().copied().collect();
    sorted.sort_by(f64::total_cmp);
    let fixed = StaticOracle::new(&rel);
    let q = |p: f64| {
        let k = ((p * sorted.len() as f64).floor() as usize).min(sorted.len().saturating_sub(1));
        sorted.get(k).copied().unwrap_or(0.0)
    };
    let stats = DelayStats {
        p50_ms: q(0.5),
        p99_ms: q(0.99),
        max_ms: q(1.0),
        loss: trace.loss_rate(),
    };
    let static_oracle_ms = ORACLE_TARGETS.map(|p| fixed.delay_at(p));
    let results: Vec<(&'static str, SimResult)> = policies
        .iter()
        .map(|p| {
            let mut policy = (p.make)();
            (
                p.name,
                simulate(policy.as_mut(), &arrivals, FRAME_MS, config.limits),
            )
        })
        .collect();
    // Resolve the frontier where it is read: at every policy's concealment and at the reported targets.
    let at: Vec<f64> = results
        .iter()
        .map(|(_, r)| concealment(r))
        .chain(ORACLE_TARGETS)
        .collect();
    let frontier = Frontier::sweep(
        &rel,
        config.grid,
        config.frontier_tolerance_ms,
        &at,
        config.max_solves,
    );
    let policies = results
        .iter()
        .map(|(name, r)| (*name, Metrics::score(r, &frontier, &fixed)))
        .collect();
    TraceRun {
        family,
        seed,
        stats,
        frontier,
        static_oracle_ms,
        static_oracle: fixed,
        policies,
    }
}

/// Runs the benchmark.
pub fn run(config: &BenchConfig, policies: &[PolicySpec]) -> Result<Report, BenchError> {
    if config.families.is_empty() {
        return Err(BenchError::Empty { what: "families" });
    }
    if config.seeds.is_empty() {
        return Err(BenchError::Empty { what: "seeds" });
    }
    if config.packets == 0 {
        return Err(BenchError::Empty { what: "packets" });
    }
    if policies.is_empty() {
        return Err(BenchError::Empty { what: "policies" });
    }
    let jobs: Vec<(Family, u64)> = config
        .families
        .iter()
        .flat_map(|&f| config.seeds.iter().map(move |&s| (f, s)))
        .collect();
    let threads = config.threads.clamp(1, jobs.len());
    // Job k runs on thread k mod threads (families of very different cost interleave); results keep job order.
    let mut runs: Vec<Option<TraceRun>> = vec![None; jobs.len()];
    let mut failed = false;
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let jobs = &jobs;
                scope.spawn(move || {
                    jobs.iter()
                        .enumerate()
                        .skip(t)
                        .step_by(threads)
                        .map(|(k, &(family, seed))| (k, run_trace(family, seed, config, policies)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for h in handles {
            match h.join() {
                Ok(done) => {
                    for (k, r) in done {
                        if let Some(slot) = runs.get_mut(k) {
                            *slot = Some(r);
                        }
                    }
                }
                Err(_) => failed = true,
            }
        }
    });
    if failed {
        return Err(BenchError::WorkerPanicked);
    }
    let runs: Vec<TraceRun> = runs.into_iter().flatten().collect();
    let families = config
        .families
        .iter()
        .map(|&f| summarize(f, &runs, policies))
        .collect::<Vec<_>>();
    let verdict = verdict(&families);
    Ok(Report {
        config: config.clone(),
        policy_names: policies.iter().map(|p| p.name).collect(),
        runs,
        families,
        verdict,
    })
}

fn summarize(family: Family, runs: &[TraceRun], policies: &[PolicySpec]) -> FamilySummary {
    let mine: Vec<&TraceRun> = runs.iter().filter(|r| r.family == family).collect();
    let k = mine.len().max(1) as f64;
    let avg = |f: &dyn Fn(&TraceRun) -> f64| mine.iter().map(|r| f(r)).sum::<f64>() / k;
    let stats = DelayStats {
        p50_ms: avg(&|r| r.stats.p50_ms),
        p99_ms: avg(&|r| r.stats.p99_ms),
        max_ms: avg(&|r| r.stats.max_ms),
        loss: avg(&|r| r.stats.loss),
    };
    let oracle_ms = ORACLE_TARGETS.map(|p| avg(&|r| r.frontier.delay_at(p)));
    let mut static_oracle_ms = [0.0; 5];
    for (i, s) in static_oracle_ms.iter_mut().enumerate() {
        *s = avg(&|r| r.static_oracle_ms.get(i).copied().unwrap_or(0.0));
    }
    let frontier = (0..=400)
        .map(|i| {
            let c = f64::from(i) * 0.0005; // 0 … 20 %
            (c, avg(&|r| r.frontier.delay_at(c)))
        })
        .collect();
    let static_frontier = (0..=400)
        .map(|i| {
            let c = f64::from(i) * 0.0005;
            (c, avg(&|r| r.static_oracle.delay_at(c)))
        })
        .collect();
    let policies = policies
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let all: Vec<Metrics> = mine
                .iter()
                .filter_map(|r| r.policies.get(i).map(|x| x.1))
                .collect();
            (p.name, p.role, Metrics::mean(&all))
        })
        .collect();
    FamilySummary {
        family,
        stats,
        oracle_ms,
        static_oracle_ms,
        frontier,
        static_frontier,
        policies,
    }
}

fn verdict(families: &[FamilySummary]) -> Option<Verdict> {
    let mut out = Vec::new();
    for f in families {
        let ours = f.policies.iter().find(|p| p.1 == Role::Ours)?.2;
        let best_reference = f
            .policies
            .iter()
            .filter(|p| p.1 == Role::Reference)
            .map(|p| (p.0, p.2.excess_ms))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap_or(("none", f64::INFINITY));
        let bound_ms = if f.family.is_stationary() {
            TARGET_STATIONARY_MS
        } else {
            TARGET_NON_STATIONARY_MS
        };
        out.push(FamilyVerdict {
            family: f.family,
            bound_ms,
            concealment: ours.concealment,
            excess_ms: ours.excess_ms,
            within: ours.concealment <= TARGET_MAX_CONCEALMENT && ours.excess_ms <= bound_ms,
            best_reference,
            lowest_excess: ours.excess_ms < best_reference.1,
            static_gap_ms: ours.static_delay_ms - ours.oracle_delay_ms,
        });
    }
    let main: Vec<&FamilyVerdict> = out.iter().filter(|v| Family::MAIN.contains(&v.family)).collect();
    let wins_on_main = main.iter().filter(|v| v.lowest_excess).count();
    let holds = out.iter().all(|v| v.within) && wins_on_main >= TARGET_WINS;
    Some(Verdict {
        main_present: main.len(),
        families: out,
        wins_on_main,
        holds,
    })
}

fn pct(x: f64) -> String {
    format!("{:.2}", x * 100.0)
}

impl Report {
    /// The results as markdown: trace statistics with the oracle frontier, the policy table, the verdict.
    pub fn markdown(&self) -> String {
        let c = &self.config;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{} families × {} seeds × {} packets ({:.1} min of 20 ms frames), network loss ≈ {:.1} % (random + \
             Gilbert–Elliott bursts), slew limits −{}/+{} ms per frame, oracle on a {} ms grid.\n",
            c.families.len(),
            c.seeds.len(),
            c.packets,
            c.packets as f64 * FRAME_MS / 60_000.0,
            c.loss.expected_rate() * 100.0,
            c.limits.max_shrink_ms_per_frame,
            c.limits.max_grow_ms_per_frame,
            c.grid.step_ms,
        );
        s.push_str("Traces (relative delay beyond the fastest packet, mean over seeds) and the oracle's mean buffer delay at a concealment target (static oracle = best constant delay):\n\n");
        s.push_str("| trace | stationary | p50 / p99 / max ms | net loss % | oracle @0.2 % | @0.5 % | @1 % | @2 % | @5 % | static @0.5 % | static @1 % |\n");
        s.push_str("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for f in &self.families {
            let o = f.oracle_ms;
            let _ = writeln!(
                s,
                "| {} | {} | {:.1} / {:.1} / {:.0} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} |",
                f.family,
                if f.family.is_stationary() { "yes" } else { "no" },
                f.stats.p50_ms,
                f.stats.p99_ms,
                f.stats.max_ms,
                pct(f.stats.loss),
                o[0],
                o[1],
                o[2],
                o[3],
                o[4],
                f.static_oracle_ms[1],
                f.static_oracle_ms[2],
            );
        }
        s.push_str("\nPolicies (mean over seeds). Concealment = late + inserted frames, network loss excluded; excess = mean delay − oracle at the same concealment; J = mean + 20 ms × concealment %:\n\n");
        s.push_str("| trace | policy | conceal % | late % | mean ms | p95 ms | p99 ms | adapt/min | oracle ms | excess ms | static ms | J ms |\n");
        s.push_str("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for f in &self.families {
            for (name, role, m) in &f.policies {
                let shown = if *role == Role::Ours {
                    format!("**{name}**")
                } else {
                    (*name).to_owned()
                };
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:+.1} | {:.1} | {:.1} |",
                    f.family,
                    shown,
                    pct(m.concealment),
                    pct(m.late),
                    m.mean_delay_ms,
                    m.p95_delay_ms,
                    m.p99_delay_ms,
                    m.adaptations_per_min,
                    m.oracle_delay_ms,
                    m.excess_ms,
                    m.static_delay_ms,
                    m.j_ms(),
                );
            }
        }
        if let Some(v) = &self.verdict {
            s.push('\n');
            s.push_str(&v.markdown());
        }
        s
    }

    /// Per trace and seed: every policy's metrics and the oracle at the targets, as CSV.
    pub fn csv(&self) -> String {
        let mut s = String::from(
            "family,seed,kind,name,concealment_pct,late_pct,network_loss_pct,mean_ms,p95_ms,p99_ms,\
             adaptations_per_min,inserted_ms_per_min,removed_ms_per_min,oracle_ms,excess_ms,static_ms,j_ms\n",
        );
        for r in &self.runs {
            for (name, m) in &r.policies {
                let _ = writeln!(
                    s,
                    "{},{},policy,{},{:.4},{:.4},{:.4},{:.3},{:.3},{:.3},{:.2},{:.2},{:.2},{:.3},{:.3},{:.3},{:.3}",
                    r.family,
                    r.seed,
                    name,
                    m.concealment * 100.0,
                    m.late * 100.0,
                    m.network_loss * 100.0,
                    m.mean_delay_ms,
                    m.p95_delay_ms,
                    m.p99_delay_ms,
                    m.adaptations_per_min,
                    m.inserted_ms_per_min,
                    m.removed_ms_per_min,
                    m.oracle_delay_ms,
                    m.excess_ms,
                    m.static_delay_ms,
                    m.j_ms(),
                );
            }
            for sol in &r.frontier.solutions {
                let m = Metrics::score(&sol.result, &r.frontier, &r.static_oracle);
                let _ = writeln!(
                    s,
                    "{},{},oracle,lambda={},{:.4},{:.4},{:.4},{:.3},{:.3},{:.3},{:.2},{:.2},{:.2},{:.3},{:.3},{:.3},{:.3}",
                    r.family,
                    r.seed,
                    sol.lambda,
                    m.concealment * 100.0,
                    m.late * 100.0,
                    m.network_loss * 100.0,
                    m.mean_delay_ms,
                    m.p95_delay_ms,
                    m.p99_delay_ms,
                    m.adaptations_per_min,
                    m.inserted_ms_per_min,
                    m.removed_ms_per_min,
                    m.oracle_delay_ms,
                    m.excess_ms,
                    m.static_delay_ms,
                    m.j_ms(),
                );
            }
        }
        s
    }

    /// Mean buffer delay (y) against concealment % (x): the oracle frontier as a line and each policy as a point,
    /// one panel per family.
    pub fn svg(&self) -> String {
        const COLORS: [&str; 6] = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2"];
        let (pw, ph) = (380.0, 270.0); // panel size
        let (ml, mr, mt, mb) = (52.0, 14.0, 28.0, 40.0); // margins inside a panel
        let cols = 3usize;
        let rows = self.families.len().div_ceil(cols).max(1);
        let legend_h = 42.0;
        let width = pw * cols as f64;
        let height = ph * rows as f64 + legend_h;
        let mut s = String::new();
        let _ = writeln!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">"#
        );
        let _ = writeln!(s, r#"<rect width="{width}" height="{height}" fill="white"/>"#);
        // Legend.
        let _ = writeln!(
            s,
            r#"<line x1="10" y1="15" x2="34" y2="15" stroke="black" stroke-width="2"/><text x="38" y="19">oracle frontier (mean over seeds)</text><line x1="10" y1="30" x2="34" y2="30" stroke="gray" stroke-width="1.5" stroke-dasharray="5,3"/><text x="38" y="34">best constant buffer (static oracle)</text>"#
        );
        let mut lx = 240.0;
        for (i, name) in self.policy_names.iter().enumerate() {
            let color = COLORS.get(i).copied().unwrap_or("gray");
            let _ = writeln!(
                s,
                r#"<circle cx="{lx}" cy="15" r="5" fill="{color}"/><text x="{}" y="19">{name}</text>"#,
                lx + 8.0
            );
            lx += 16.0 + 7.0 * name.len() as f64 + 10.0;
        }
        for (idx, f) in self.families.iter().enumerate() {
            let ox = pw * (idx % cols) as f64;
            let oy = legend_h + ph * (idx / cols) as f64;
            let (x0, y0) = (ox + ml, oy + mt);
            let (w, h) = (pw - ml - mr, ph - mt - mb);
            // Axes cover every policy within 10 % concealment; points beyond are drawn on the edge with a label.
            let max_c = f
                .policies
                .iter()
                .map(|p| p.2.concealment)
                .filter(|&c| c <= 0.10)
                .fold(0.0, f64::max);
            let (x_max, x_step) = axis((max_c * 125.0).max(2.0));
            let max_d = f.policies.iter().map(|p| p.2.mean_delay_ms).fold(0.0, f64::max);
            let frontier_at_1 = f.frontier.iter().find(|p| p.0 >= 0.001).map_or(0.0, |p| p.1);
            let (y_max, y_step) = axis((max_d.max(frontier_at_1) * 1.15).max(10.0));
            let px = |c_pct: f64| x0 + (c_pct / x_max).clamp(0.0, 1.0) * w;
            let py = |d: f64| y0 + h - (d / y_max).clamp(0.0, 1.0) * h;
            let _ = writeln!(
                s,
                r#"<text x="{}" y="{}" font-size="13" font-weight="bold" text-anchor="middle">{} ({})</text>"#,
                x0 + w / 2.0,
                oy + 18.0,
                f.family,
                if f.family.is_stationary() {
                    "stationary"
                } else {
                    "non-stationary"
                }
            );
            let _ = writeln!(
                s,
                r##"<rect x="{x0}" y="{y0}" width="{w}" height="{h}" fill="none" stroke="#999"/>"##
            );
            for xv in ticks(x_max, x_step) {
                let _ = writeln!(
                    s,
                    r##"<line x1="{x}" y1="{y0}" x2="{x}" y2="{yb}" stroke="#eee"/><text x="{x}" y="{yt}" text-anchor="middle">{}</text>"##,
                    tick_label(xv),
                    x = px(xv),
                    yb = y0 + h,
                    yt = y0 + h + 14.0,
                );
            }
            for yv in ticks(y_max, y_step) {
                let _ = writeln!(
                    s,
                    r##"<line x1="{x0}" y1="{y}" x2="{xr}" y2="{y}" stroke="#eee"/><text x="{xt}" y="{yt}" text-anchor="end">{}</text>"##,
                    tick_label(yv),
                    y = py(yv),
                    xr = x0 + w,
                    xt = x0 - 4.0,
                    yt = py(yv) + 4.0,
                );
            }
            let _ = writeln!(
                s,
                r#"<text x="{}" y="{}" text-anchor="middle">concealment % (network loss excluded)</text>"#,
                x0 + w / 2.0,
                y0 + h + 30.0
            );
            let _ = writeln!(
                s,
                r#"<text x="{}" y="{}" text-anchor="middle" transform="rotate(-90 {} {})">mean buffer delay (ms)</text>"#,
                ox + 14.0,
                y0 + h / 2.0,
                ox + 14.0,
                y0 + h / 2.0
            );
            let dashed: Vec<String> = f
                .static_frontier
                .iter()
                .filter(|p| p.0 * 100.0 <= x_max && p.1 <= y_max)
                .map(|&(c, d)| format!("{:.1},{:.1}", px(c * 100.0), py(d)))
                .collect();
            let _ = writeln!(
                s,
                r#"<polyline points="{}" fill="none" stroke="gray" stroke-width="1.5" stroke-dasharray="5,3"/>"#,
                dashed.join(" ")
            );
            let points: Vec<String> = f
                .frontier
                .iter()
                .filter(|p| p.0 * 100.0 <= x_max)
                .map(|&(c, d)| format!("{:.1},{:.1}", px(c * 100.0), py(d)))
                .collect();
            let _ = writeln!(
                s,
                r#"<polyline points="{}" fill="none" stroke="black" stroke-width="2"/>"#,
                points.join(" ")
            );
            for (i, (name, _, m)) in f.policies.iter().enumerate() {
                let color = COLORS.get(i).copied().unwrap_or("gray");
                let (cx, cy) = (px(m.concealment * 100.0), py(m.mean_delay_ms));
                let off_chart = m.concealment * 100.0 > x_max || m.mean_delay_ms > y_max;
                let _ = writeln!(
                    s,
                    r#"<circle cx="{cx:.1}" cy="{cy:.1}" r="5" fill="{color}" fill-opacity="{}"><title>{name}: {:.2} %, {:.1} ms (excess {:+.1} ms)</title></circle>"#,
                    if off_chart { "0.4" } else { "0.9" },
                    m.concealment * 100.0,
                    m.mean_delay_ms,
                    m.excess_ms,
                );
                if off_chart {
                    let _ = writeln!(
                        s,
                        r#"<text x="{:.1}" y="{:.1}" text-anchor="end" fill="{color}">{name}: {:.1} %, {:.0} ms →</text>"#,
                        cx - 8.0,
                        cy - 8.0,
                        m.concealment * 100.0,
                        m.mean_delay_ms,
                    );
                }
            }
        }
        s.push_str("</svg>\n");
        s
    }
}

/// A round axis for values up to `x`: `(max, step)` with at most 5 steps of 1, 2, 2.5 or 5 × 10ⁿ.
fn axis(x: f64) -> (f64, f64) {
    if !(x.is_finite() && x > 0.0) {
        return (1.0, 0.25);
    }
    let e = 10f64.powf((x / 5.0).log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * e)
        .find(|&step| (x / step - 1e-9).ceil() <= 5.0)
        .unwrap_or(10.0 * e);
    ((x / step - 1e-9).ceil() * step, step)
}

/// The tick values `0, step, …, max`.
fn ticks(max: f64, step: f64) -> Vec<f64> {
    let n = (max / step).round() as usize;
    (0..=n).map(|i| i as f64 * step).collect()
}

/// A tick value without float noise or trailing zeros.
fn tick_label(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

impl Verdict {
    /// The verdict as markdown: per family, then the overall answer.
    pub fn markdown(&self) -> String {
        let mut s = String::new();
        s.push_str("Target: mean delay within +10 ms (stationary) / +20 ms (non-stationary) of the oracle at ≤ 1 % concealment (network loss excluded), and the lowest excess of all policies on ≥ 4 of the 5 main traces (lan, pareto, wifi, spiky, step).\n\n");
        s.push_str("| trace | bound ms | hotline conceal % | hotline excess ms | within | best reference (excess ms) | lowest excess |\n");
        s.push_str("|---|---:|---:|---:|---|---|---|\n");
        for v in &self.families {
            let _ = writeln!(
                s,
                "| {} | +{:.0} | {} | {:+.1} | {} | {} ({:+.1}) | {} |",
                v.family,
                v.bound_ms,
                pct(v.concealment),
                v.excess_ms,
                if v.within { "yes" } else { "**no**" },
                v.best_reference.0,
                v.best_reference.1,
                if v.lowest_excess { "yes" } else { "no" },
            );
        }
        let _ = writeln!(
            s,
            "\nLowest excess on {} of {} main traces (need {}). **Target {}.**",
            self.wins_on_main,
            self.main_present,
            TARGET_WINS,
            if self.holds { "holds" } else { "does not hold" }
        );
        for v in self.families.iter().filter(|v| !v.within) {
            let mut why = Vec::new();
            if v.concealment > TARGET_MAX_CONCEALMENT {
                why.push(format!("concealment {} % > 1 %", pct(v.concealment)));
            }
            if v.excess_ms > v.bound_ms {
                why.push(format!(
                    "excess {:+.1} ms > +{:.0} ms (by {:.1} ms)",
                    v.excess_ms,
                    v.bound_ms,
                    v.excess_ms - v.bound_ms
                ));
            }
            if v.family.independent_delays() && v.static_gap_ms > v.bound_ms {
                why.push(format!(
                    "out of reach for a causal policy: the delays are independent, so no causal policy can do much \
                     better than the best constant buffer, which at this concealment is already {:+.1} ms above the \
                     oracle",
                    v.static_gap_ms
                ));
            }
            let _ = writeln!(s, "- {}: {}", v.family, why.join("; "));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> BenchConfig {
        BenchConfig {
            families: vec![Family::Lan, Family::Step],
            seeds: vec![1, 2],
            packets: 1500,
            max_solves: 32,
            threads: 2,
            ..BenchConfig::default()
        }
    }

    /// One small run shared by the tests that only read it.
    fn small_report() -> &'static Report {
        static REPORT: std::sync::OnceLock<Report> = std::sync::OnceLock::new();
        REPORT.get_or_init(|| run(&small(), &default_policies()).unwrap())
    }

    #[test]
    fn fixed_sixty_conceals_exactly_the_packets_later_than_sixty_ms() {
        let later_than_60 = |t: &Trace| {
            t.relative_delays()
                .iter()
                .flatten()
                .filter(|&&r| r > 60.0)
                .count()
        };
        for family in Family::ALL {
            let trace = Trace::generate(family, 4, 3000, LossModel::DEFAULT);
            let r = simulate(
                &mut FixedDelay(60.0),
                &trace.arrivals(),
                FRAME_MS,
                AdaptLimits::default(),
            );
            assert_eq!(r.late_frames, later_than_60(&trace), "{family}");
            assert_eq!(r.inserted_ms, 0.0);
            assert_eq!(
                r.lost_frames,
                trace.packets.iter().filter(|p| p.arrival_ms.is_none()).count()
            );
        }
        // And the report scores it so: its concealment is that count over the frames, its delay 60 ms.
        let config = small();
        for run in &small_report().runs {
            let trace = Trace::generate(run.family, run.seed, config.packets, config.loss);
            let fixed = run.policies.iter().find(|p| p.0 == "fixed-60").unwrap().1;
            let expected = later_than_60(&trace) as f64 / config.packets as f64;
            assert!(
                (fixed.concealment - expected).abs() < 1e-12,
                "{} {}",
                run.family,
                run.seed
            );
            assert_eq!(fixed.mean_delay_ms, 60.0);
        }
    }

    #[test]
    fn a_run_is_deterministic_and_independent_of_threads() {
        let a = small_report();
        let b = run(
            &BenchConfig {
                threads: 1,
                ..small()
            },
            &default_policies(),
        )
        .unwrap();
        assert_eq!(a.markdown(), b.markdown());
        assert_eq!(a.csv(), b.csv());
        assert_eq!(a.runs.len(), 4);
    }

    #[test]
    fn every_policy_lies_on_or_above_the_oracle_frontier() {
        let report = small_report();
        for r in &report.runs {
            for (name, m) in &r.policies {
                // Within the grid's resolution (2 ms levels, 4 ms instead of 5 ms shrink).
                assert!(
                    m.excess_ms > -2.0,
                    "{} seed {} {name}: excess {}",
                    r.family,
                    r.seed,
                    m.excess_ms
                );
            }
        }
    }

    #[test]
    fn report_outputs_carry_every_family_and_policy() {
        let report = small_report();
        let md = report.markdown();
        for name in [
            "hotline",
            "neteq-like",
            "asterisk-like",
            "speex-like",
            "fixed-60",
            "| lan |",
            "| step |",
        ] {
            assert!(md.contains(name), "{name} missing from\n{md}");
        }
        assert!(md.contains("Target holds") || md.contains("Target does not hold"));
        let csv = report.csv();
        assert_eq!(csv.lines().next().unwrap().split(',').count(), 17);
        assert!(csv.lines().skip(1).all(|l| l.split(',').count() == 17));
        assert_eq!(csv.lines().filter(|l| l.contains(",policy,")).count(), 4 * 5);
        let svg = report.svg();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<polyline").count(), 2 * 2);
        assert_eq!(svg.matches("<circle").count(), 5 + 2 * 5);
    }

    #[test]
    fn verdict_requires_the_bound_and_four_wins() {
        let report = small_report();
        let v = report.verdict.as_ref().unwrap();
        assert_eq!(v.families.len(), 2);
        assert_eq!(v.main_present, 2);
        // Two main traces cannot give four wins.
        assert!(!v.holds);
        let none = run(&small(), &default_policies()[1..]).unwrap();
        assert!(none.verdict.is_none());
    }

    #[test]
    fn an_empty_run_is_an_error() {
        let e = run(
            &BenchConfig {
                seeds: vec![],
                ..small()
            },
            &default_policies(),
        )
        .unwrap_err();
        assert!(matches!(e, BenchError::Empty { what: "seeds" }));
    }

    #[test]
    fn axes_have_round_ticks() {
        assert_eq!(axis(5.1), (6.0, 2.0));
        assert_eq!(axis(206.0), (250.0, 50.0));
        assert_eq!(axis(2.0), (2.0, 0.5));
        assert_eq!(axis(f64::NAN), (1.0, 0.25));
        assert_eq!(ticks(2.0, 0.5), vec![0.0, 0.5, 1.0, 1.5, 2.0]);
        assert_eq!(tick_label(0.1 * 3.0), "0.3");
        assert_eq!(tick_label(250.0), "250");
    }
}
