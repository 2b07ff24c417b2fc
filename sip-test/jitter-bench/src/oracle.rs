//! The clairvoyant slew-limited oracle: the lowest mean buffer delay any playout schedule can have for a given
//! concealment, knowing the whole trace.
//!
//! It chooses a delay `D_i` per frame on a grid (2 ms by default) with `D_i − D_{i−1}` between `−shrink` and
//! `+grow` grid steps (4 ms and 20 ms for the default 5/20 ms limits: a shrink of 5 ms is not on a 2 ms grid),
//! and minimises
//!
//! ```text
//! Σ D_i + λ · (late frames + Σ max(0, D_i − D_{i−1}) / frame_ms)
//! ```
//!
//! where frame `i` is late when its packet's relative delay `r_i > D_i` (lost packets are never late). The first
//! level is free. Dynamic programming over (frame × level) with the ±grow/shrink transitions solves it exactly; for
//! each λ it gives one point of the delay–concealment frontier (a vertex of its lower convex hull), and sweeping λ
//! traces the frontier.
//!
//! Levels above the largest relative delay never help (capping a schedule there keeps it feasible, makes nothing
//! late and adds no growth), so the grid stops there, which keeps calm traces cheap.

use crate::policy::SimResult;

/// The oracle's grid and slew limits.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OracleGrid {
    /// Grid step (ms).
    pub step_ms: f64,
    /// Largest shrink per frame, in grid steps.
    pub shrink_steps: usize,
    /// Largest growth per frame, in grid steps.
    pub grow_steps: usize,
    /// Number of levels at most (levels are `0, step, …, (max_levels − 1) × step`).
    pub max_levels: usize,
    /// Frame length (ms): growth of `frame_ms` counts as one concealed frame.
    pub frame_ms: f64,
}

impl Default for OracleGrid {
    /// 2 ms grid, shrink ≤ 4 ms (the largest multiple of 2 within 5 ms), growth ≤ 20 ms, levels 0–600 ms, 20 ms frames.
    fn default() -> Self {
        Self {
            step_ms: 2.0,
            shrink_steps: 2,
            grow_steps: 10,
            max_levels: 301,
            frame_ms: 20.0,
        }
    }
}

/// One solution of the oracle.
#[derive(Clone, Debug, PartialEq)]
pub struct OraclePoint {
    /// The λ it was solved for (ms of delay per concealed frame).
    pub lambda: f64,
    /// The objective's value at the optimum (ms·frames).
    pub cost: f64,
    /// The schedule as a simulation result (per-frame delays, late/lost frames, inserted/removed ms).
    pub result: SimResult,
}

impl OraclePoint {
    /// Mean buffer delay (ms).
    pub fn mean_delay_ms(&self) -> f64 {
        let d = &self.result.per_frame_delay_ms;
        if d.is_empty() {
            0.0
        } else {
            d.iter().sum::<f64>() / d.len() as f64
        }
    }

    /// (late + inserted) / frames: concealment excluding network loss.
    pub fn concealment(&self) -> f64 {
        concealment(&self.result)
    }
}

/// (late + inserted frames) / frames of a simulation result: the concealment a policy is responsible for.
pub fn concealment(r: &SimResult) -> f64 {
    let n = r.per_frame_delay_ms.len();
    if n == 0 || r.frame_ms <= 0.0 {
        return 0.0;
    }
    (r.late_frames as f64 + r.inserted_ms / r.frame_ms) / n as f64
}

/// The oracle for one trace of relative delays (`None` = lost), reusable across λ.
#[derive(Clone, Debug)]
pub struct Oracle {
    grid: OracleGrid,
    /// Per frame: the first level at which the frame is on time (0 for lost frames).
    on_time_level: Vec<u16>,
    rel: Vec<Option<f64>>,
    levels: usize,
    /// Back-pointers of the last solve: `(frame × levels)` previous levels.
    back: Vec<u16>,
}

impl Oracle {
    /// Prepares the oracle for `rel` (relative delays per frame, `None` = lost).
    pub fn new(rel: &[Option<f64>], grid: OracleGrid) -> Self {
        let step = if grid.step_ms > 0.0 { grid.step_ms } else { 2.0 };
        let grid = OracleGrid {
            step_ms: step,
            max_levels: grid.max_levels.clamp(1, u16::MAX as usize),
            ..grid
        };
        let level_of = |r: f64| -> usize { (r / step - 1e-9).ceil().max(0.0) as usize };
        let max_level = rel.iter().flatten().map(|&r| level_of(r)).max().unwrap_or(0);
        let levels = (max_level + 1).min(grid.max_levels);
        // A frame later than the top level is late at every level: its threshold is past the grid.
        let on_time_level = rel
            .iter()
            .map(|r| r.map_or(0, |r| level_of(r).min(levels) as u16))
            .collect();
        Self {
            grid,
            on_time_level,
            rel: rel.to_vec(),
            levels,
            back: Vec::new(),
        }
    }

    /// Number of grid levels in use.
    pub fn levels(&self) -> usize {
        self.levels
    }

    /// Solves for one λ (ms of delay per concealed frame).
    pub fn solve(&mut self, lambda: f64) -> OraclePoint {
        let n = self.on_time_level.len();
        let l = self.levels;
        let g = self.grid;
        let grow_cost = lambda * g.step_ms / g.frame_ms; // per grid step of growth
        let level_ms: Vec<f64> = (0..l).map(|d| d as f64 * g.step_ms).collect();
        let bias: Vec<f64> = (0..l).map(|j| grow_cost * j as f64).collect();
        self.back.clear();
        self.back.resize(n * l, 0);
        let mut prev = vec![0.0f64; l];
        let mut next = vec![0.0f64; l];
        // Growth from j < d costs grow_cost × (d − j): minimise prev[j] − grow_cost × j over the window
        // j ∈ [d − grow, d − 1], then add grow_cost × d. Window minima by van Herk / Gil-Werman: prefix and suffix
        // minima within blocks of the window's length, so each query is one comparison.
        let w = g.grow_steps.max(1);
        let (mut pre_v, mut pre_i) = (vec![0.0f64; l], vec![0u16; l]);
        let (mut suf_v, mut suf_i) = (vec![0.0f64; l], vec![0u16; l]);

        for (i, (&k, row)) in self
            .on_time_level
            .iter()
            .zip(self.back.chunks_exact_mut(l))
            .enumerate()
        {
            let k = usize::from(k);
            if i == 0 {
                for d in 0..l {
                    next[d] = level_ms[d] + if d < k { lambda } else { 0.0 };
                    row[d] = d as u16;
                }
                std::mem::swap(&mut prev, &mut next);
                continue;
            }
            // Prefix minima, restarting at every block start (j multiple of w).
            let (mut bv, mut bi, mut pos) = (0.0f64, 0u16, 0usize);
            for j in 0..l {
                let b = prev[j] - bias[j];
                if pos == 0 || b < bv {
                    bv = b;
                    bi = j as u16;
                }
                pre_v[j] = bv;
                pre_i[j] = bi;
                pos += 1;
                if pos == w {
                    pos = 0;
                }
            }
            // Suffix minima, restarting at every block end (and at the top level).
            let mut pos = (l - 1) % w;
            let mut restart = true;
            for j in (0..l).rev() {
                let b = prev[j] - bias[j];
                if restart || b <= bv {
                    bv = b;
                    bi = j as u16;
                }
                suf_v[j] = bv;
                suf_i[j] = bi;
                restart = pos == 0;
                pos = if pos == 0 { w - 1 } else { pos - 1 };
            }
            for d in 0..l {
                // Stay or shrink: from j in [d, d + shrink].
                let mut best = prev[d];
                let mut best_j = d as u16;
                let hi = (d + g.shrink_steps).min(l - 1);
                for (j, &v) in prev.iter().enumerate().take(hi + 1).skip(d + 1) {
                    if v < best {
                        best = v;
                        best_j = j as u16;
                    }
                }
                // Grow: from j in [d − grow, d − 1].
                if d > 0 {
                    let (v, j) = if d >= w && suf_v[d - w] <= pre_v[d - 1] {
                        (suf_v[d - w], suf_i[d - w])
                    } else {
                        (pre_v[d - 1], pre_i[d - 1])
                    };
                    let c = v + bias[d];
                    if c < best {
                        best = c;
                        best_j = j;
                    }
                }
                next[d] = best + level_ms[d] + if d < k { lambda } else { 0.0 };
                row[d] = best_j;
            }
            std::mem::swap(&mut prev, &mut next);
        }

        // Best final level, then walk the back-pointers.
        let (mut d, cost) =
            prev.iter().enumerate().fold(
                (0, f64::INFINITY),
                |acc, (d, &c)| if c < acc.1 { (d, c) } else { acc },
            );
        let mut path = vec![0usize; n];
        for i in (0..n).rev() {
            path[i] = d;
            d = self.back.get(i * l + d).map_or(0, |&b| b as usize);
        }
        let cost = if n == 0 { 0.0 } else { cost };
        OraclePoint {
            lambda,
            cost,
            result: self.schedule_result(&path),
        }
    }

    /// The simulation result of a schedule of levels.
    fn schedule_result(&self, path: &[usize]) -> SimResult {
        let g = self.grid;
        let per_frame_delay_ms: Vec<f64> = path.iter().map(|&d| d as f64 * g.step_ms).collect();
        let mut r = SimResult {
            per_frame_delay_ms,
            late_frames: 0,
            lost_frames: 0,
            inserted_ms: 0.0,
            removed_ms: 0.0,
            adaptation_events: 0,
            frame_ms: g.frame_ms,
        };
        for (i, rel) in self.rel.iter().enumerate() {
            let d = r.per_frame_delay_ms.get(i).copied().unwrap_or(0.0);
            match rel {
                None => r.lost_frames += 1,
                Some(x) if *x > d + 1e-9 => r.late_frames += 1,
                Some(_) => {}
            }
        }
        for w in r.per_frame_delay_ms.windows(2) {
            let delta = w[1] - w[0];
            if delta > 0.0 {
                r.inserted_ms += delta;
            } else {
                r.removed_ms -= delta;
            }
            if delta != 0.0 {
                r.adaptation_events += 1;
            }
        }
        r
    }
}

/// The oracle's delay–concealment frontier of one trace: points sorted by concealment (ascending), delay descending.
#[derive(Clone, Debug, PartialEq)]
pub struct Frontier {
    /// `(concealment, mean delay ms)` vertices, concealment ascending.
    pub points: Vec<(f64, f64)>,
    /// The oracle solutions behind them, same order.
    pub solutions: Vec<OraclePoint>,
    /// Dynamic programs solved to find them.
    pub solves: usize,
}

impl Frontier {
    /// Traces the frontier's lower convex hull, exact to within `tolerance_ms` at each concealment in `at`.
    ///
    /// A coarse sweep (λ = 4², 4³, …, 4¹³ ms per concealed frame; the last one is enough for zero concealment on
    /// 30,000 frames of up to 600 ms) gives hull vertices. Between two neighbouring vertices the hull lies below the
    /// chord and above both vertices' supporting lines (slopes −λ), so the interpolation error at `c` is at most the
    /// chord's height above those lines at `c`. The edge with the largest bound at one of the `at` points is refined
    /// by solving at the chord's slope, which either finds a new vertex below the chord or proves the chord is a hull
    /// edge (bound 0). Stops when every bound is within `tolerance_ms` or after `max_solves` solves.
    pub fn sweep(
        rel: &[Option<f64>],
        grid: OracleGrid,
        tolerance_ms: f64,
        at: &[f64],
        max_solves: usize,
    ) -> Self {
        let mut oracle = Oracle::new(rel, grid);
        let coarse: Vec<OraclePoint> = (2..=13).map(|e| oracle.solve(4f64.powi(e))).collect();
        let mut solves = coarse.len();
        let mut hull = Self::from_solutions(coarse).solutions;
        // Edges (by their vertices' λ bits) proven to be hull edges.
        let mut confirmed: Vec<(u64, u64)> = Vec::new();
        while solves < max_solves {
            let worst = at
                .iter()
                .filter_map(|&c| {
                    let w = hull
                        .windows(2)
                        .find(|w| w[0].concealment() <= c && c <= w[1].concealment())?;
                    let key = (w[0].lambda.to_bits(), w[1].lambda.to_bits());
                    if confirmed.contains(&key) {
                        return None;
                    }
                    Some((
                        error_at(&w[0], &w[1], c),
                        w[0].lambda,
                        w[1].lambda,
                        chord_slope(&w[0], &w[1]),
                    ))
                })
                .max_by(|a, b| a.0.total_cmp(&b.0));
            let Some((error, la, lb, slope)) = worst else {
                break;
            };
            if error <= tolerance_ms {
                break;
            }
            let p = oracle.solve(slope);
            solves += 1;
            let (Some(a), Some(b)) = (
                hull.iter().find(|s| s.lambda == la),
                hull.iter().find(|s| s.lambda == lb),
            ) else {
                break;
            };
            let chord = a.mean_delay_ms() + slope * a.concealment();
            if p.mean_delay_ms() + slope * p.concealment() < chord - 1e-9
                && p.concealment() > a.concealment()
                && p.concealment() < b.concealment()
            {
                hull.push(p);
                hull = Self::from_solutions(hull).solutions;
            } else {
                confirmed.push((la.to_bits(), lb.to_bits()));
            }
        }
        Self {
            solves,
            ..Self::from_solutions(hull)
        }
    }

    /// Builds the frontier from oracle solutions (any order; duplicates and dominated points dropped).
    pub fn from_solutions(mut sols: Vec<OraclePoint>) -> Self {
        sols.sort_by(|a, b| {
            a.concealment()
                .total_cmp(&b.concealment())
                .then(a.mean_delay_ms().total_cmp(&b.mean_delay_ms()))
        });
        let mut kept: Vec<OraclePoint> = Vec::new();
        for s in sols {
            // Keep only points that lower the delay (the frontier is non-increasing in concealment).
            if kept
                .last()
                .is_none_or(|k| s.mean_delay_ms() < k.mean_delay_ms() - 1e-9)
            {
                kept.push(s);
            }
        }
        let points = kept
            .iter()
            .map(|s| (s.concealment(), s.mean_delay_ms()))
            .collect();
        let solves = kept.len();
        Self {
            points,
            solutions: kept,
            solves,
        }
    }

    /// The oracle's mean delay at `concealment`, linearly interpolated between vertices; clamped to the first/last
    /// vertex outside the sampled range.
    pub fn delay_at(&self, concealment: f64) -> f64 {
        let Some(&(c0, d0)) = self.points.first() else {
            return 0.0;
        };
        if concealment <= c0 {
            return d0;
        }
        for w in self.points.windows(2) {
            let ((ca, da), (cb, db)) = (w[0], w[1]);
            if concealment <= cb {
                let t = if cb > ca {
                    (concealment - ca) / (cb - ca)
                } else {
                    1.0
                };
                return da + t * (db - da);
            }
        }
        self.points.last().map_or(d0, |&(_, d)| d)
    }

    /// The oracle's cheapest `Σ D + λ·concealed` per frame over the sampled solutions (a lower bound holds for any
    /// schedule on the grid at every λ; this checks the sampled ones).
    pub fn min_objective_per_frame(&self, lambda: f64) -> f64 {
        self.points
            .iter()
            .map(|&(c, d)| d + lambda * c)
            .fold(f64::INFINITY, f64::min)
    }
}

/// The static (non-adapting) oracle: the smallest constant buffer delay with a given late rate, i.e. a high
/// quantile of the trace's relative delays. For independent delays a causal policy cannot do better than this (its
/// delay cannot anticipate the next packet's), so `static − clairvoyant` at the same concealment is the part of the
/// excess no causal policy can remove on such traces.
#[derive(Clone, Debug, PartialEq)]
pub struct StaticOracle {
    sorted: Vec<f64>,
    frames: usize,
}

impl StaticOracle {
    /// From relative delays per frame (`None` = lost: never late, but a frame).
    pub fn new(rel: &[Option<f64>]) -> Self {
        let mut sorted: Vec<f64> = rel.iter().flatten().copied().collect();
        sorted.sort_by(f64::total_cmp);
        Self {
            sorted,
            frames: rel.len(),
        }
    }

    /// The smallest constant delay (ms) whose late frames are at most `concealment × frames`.
    pub fn delay_at(&self, concealment: f64) -> f64 {
        let allowed = (concealment.max(0.0) * self.frames as f64 + 1e-9).floor() as usize;
        let m = self.sorted.len();
        if allowed >= m {
            return 0.0;
        }
        self.sorted.get(m - 1 - allowed).copied().unwrap_or(0.0).max(0.0)
    }
}

/// The slope (as a λ) of the chord between two frontier vertices, `a` at the lower concealment.
fn chord_slope(a: &OraclePoint, b: &OraclePoint) -> f64 {
    let dc = b.concealment() - a.concealment();
    if dc > 0.0 {
        (a.mean_delay_ms() - b.mean_delay_ms()) / dc
    } else {
        a.lambda
    }
}

/// Gap (ms) at concealment `c` between the chord from `a` to `b` and the hull below it, bounded by the vertices'
/// supporting lines `d = d_v − λ_v (c − c_v)`.
fn error_at(a: &OraclePoint, b: &OraclePoint, c: f64) -> f64 {
    let (ca, da, la) = (a.concealment(), a.mean_delay_ms(), a.lambda);
    let (cb, db, lb) = (b.concealment(), b.mean_delay_ms(), b.lambda);
    if cb <= ca {
        return 0.0;
    }
    let chord = da + (db - da) * (c - ca) / (cb - ca);
    let lines = (da - la * (c - ca)).max(db - lb * (c - cb));
    (chord - lines).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{AdaptLimits, simulate};
    use crate::reference::{AsteriskLike, FixedDelay, NetEqLike, SpeexLike};
    use crate::traces::{Family, LossModel, Trace};

    /// Exhaustive search over every schedule of levels (all slew-feasible paths) for the same objective.
    struct BruteForce<'a> {
        on_time: &'a [u16],
        levels: usize,
        grid: OracleGrid,
        lambda: f64,
        best: f64,
    }

    impl BruteForce<'_> {
        fn go(&mut self, i: usize, d: usize, acc: f64) {
            let g = self.grid;
            let late = if d < usize::from(self.on_time[i]) {
                self.lambda
            } else {
                0.0
            };
            let here = acc + d as f64 * g.step_ms + late;
            if i + 1 == self.on_time.len() {
                self.best = self.best.min(here);
                return;
            }
            for nd in d.saturating_sub(g.shrink_steps)..=(d + g.grow_steps).min(self.levels - 1) {
                let grow = nd.saturating_sub(d) as f64 * g.step_ms / g.frame_ms * self.lambda;
                self.go(i + 1, nd, here + grow);
            }
        }
    }

    fn brute_force(on_time: &[u16], levels: usize, grid: OracleGrid, lambda: f64) -> f64 {
        let mut search = BruteForce {
            on_time,
            levels,
            grid,
            lambda,
            best: f64::INFINITY,
        };
        for d0 in 0..levels {
            search.go(0, d0, 0.0);
        }
        search.best
    }

    fn tiny_rng(seed: u64) -> impl FnMut() -> f64 {
        let mut s = seed;
        move || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    #[test]
    fn dynamic_program_equals_exhaustive_search_on_tiny_traces() {
        // Coarse grid: 5 ms steps, shrink 1 step, grow 4 steps, levels 0..35 ms: 8 frames, every feasible path.
        let g = OracleGrid {
            step_ms: 5.0,
            shrink_steps: 1,
            grow_steps: 4,
            max_levels: 8,
            frame_ms: 20.0,
        };
        for seed in 0..12 {
            let mut u = tiny_rng(seed);
            let rel: Vec<Option<f64>> = (0..8)
                .map(|_| {
                    if u() < 0.1 {
                        None
                    } else if u() < 0.3 {
                        Some(u() * 60.0)
                    } else {
                        Some(u() * 12.0)
                    }
                })
                .collect();
            for lambda in [0.5, 5.0, 20.0, 60.0, 200.0, 5000.0] {
                let mut o = Oracle::new(&rel, g);
                let p = o.solve(lambda);
                let bf = brute_force(&o.on_time_level, o.levels, g, lambda);
                assert!(
                    (p.cost - bf).abs() < 1e-9,
                    "seed {seed} λ {lambda}: dp {} brute {bf}",
                    p.cost
                );
                // The reported schedule really has that cost.
                let r = &p.result;
                let sum: f64 = r.per_frame_delay_ms.iter().sum();
                let recomputed = sum + lambda * (r.late_frames as f64 + r.inserted_ms / g.frame_ms);
                assert!(
                    (recomputed - p.cost).abs() < 1e-9,
                    "schedule cost {recomputed} vs {}",
                    p.cost
                );
                for w in r.per_frame_delay_ms.windows(2) {
                    assert!(w[1] - w[0] <= 20.0 + 1e-9 && w[0] - w[1] <= 5.0 + 1e-9);
                }
            }
        }
    }

    #[test]
    fn frontier_trades_delay_for_concealment() {
        let t = Trace::generate(Family::Pareto, 1, 1500, LossModel::DEFAULT);
        let at: Vec<f64> = (1..=50).map(|i| f64::from(i) * 0.001).collect();
        let f = Frontier::sweep(&t.relative_delays(), OracleGrid::default(), 0.25, &at, 40);
        assert!(f.points.len() >= 5, "{:?}", f.points);
        for w in f.points.windows(2) {
            assert!(w[0].0 < w[1].0 && w[0].1 > w[1].1, "{:?}", f.points);
        }
        // Zero concealment is reachable (at a delay near the largest relative delay), and the cheapest λ conceals a lot.
        assert_eq!(f.points[0].0, 0.0);
        assert!(f.points.last().unwrap().0 > 0.05, "{:?}", f.points.last());
        // Interpolation stays between the neighbours.
        let (a, b) = (f.points[1], f.points[2]);
        let mid = f.delay_at((a.0 + b.0) / 2.0);
        assert!(mid <= a.1 && mid >= b.1);
    }

    #[test]
    fn oracle_is_never_worse_than_a_causal_policy_at_equal_concealment() {
        // At every λ the oracle's objective is at most the policy's (up to the grid: one step of 2 ms and the 4 vs
        // 5 ms shrink), so the policy's point never lies below the frontier.
        for family in [Family::Pareto, Family::Wifi, Family::Spiky, Family::Step] {
            let t = Trace::generate(family, 3, 1500, LossModel::DEFAULT);
            let mut oracle = Oracle::new(&t.relative_delays(), OracleGrid::default());
            let policies: Vec<(&str, Box<dyn PlayoutPolicy>)> = vec![
                ("fixed", Box::new(FixedDelay(60.0))),
                ("asterisk", Box::new(AsteriskLike::default())),
                ("neteq", Box::new(NetEqLike::default())),
                ("speex", Box::new(SpeexLike::default())),
            ];
            for (name, mut p) in policies {
                let r = simulate(p.as_mut(), &t.arrivals(), 20.0, AdaptLimits::default());
                let n = r.per_frame_delay_ms.len() as f64;
                let mean = r.per_frame_delay_ms.iter().sum::<f64>() / n;
                let c = concealment(&r);
                for lambda in [10.0, 100.0, 1000.0, 10_000.0] {
                    let o = oracle.solve(lambda);
                    let policy_objective = mean + lambda * c;
                    let oracle_objective = o.cost / n;
                    assert!(
                        oracle_objective <= policy_objective + 2.0,
                        "{family} {name} λ {lambda}: oracle {oracle_objective} policy {policy_objective}"
                    );
                }
            }
        }
    }

    #[test]
    fn static_oracle_is_the_quantile_that_meets_the_late_rate() {
        let rel: Vec<Option<f64>> = (0..100)
            .map(|i| if i == 50 { None } else { Some(f64::from(i)) })
            .collect();
        let s = StaticOracle::new(&rel);
        assert_eq!(s.delay_at(0.0), 99.0);
        // 2 % of 100 frames may be late: the two largest (99, 98) are, 97 plays.
        assert_eq!(s.delay_at(0.02), 97.0);
        assert_eq!(s.delay_at(1.0), 0.0);
        let fixed = simulate(
            &mut FixedDelay(97.0),
            &rel.iter()
                .enumerate()
                .map(|(i, r)| {
                    let m = i as f64 * 20.0;
                    (m, r.map(|r| m + r))
                })
                .collect::<Vec<_>>(),
            20.0,
            AdaptLimits::default(),
        );
        assert_eq!(fixed.late_frames, 2);
    }

    #[test]
    fn frames_beyond_the_grid_are_late_at_every_level() {
        let g = OracleGrid {
            max_levels: 5,
            ..OracleGrid::default()
        };
        let mut o = Oracle::new(&[Some(1.0), Some(100.0), Some(1.0)], g);
        let p = o.solve(1e6);
        assert_eq!(p.result.late_frames, 1);
        assert_eq!(o.levels(), 5);
    }

    use crate::policy::PlayoutPolicy;
}
