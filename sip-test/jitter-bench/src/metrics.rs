//! Per-run metrics of a playout schedule, scored against the oracle frontier.

use crate::oracle::{Frontier, StaticOracle, concealment};
use crate::policy::SimResult;

/// A change of less than one 8 kHz sample per frame is not an adaptation a sample-based buffer can make.
pub const ADAPTATION_THRESHOLD_MS: f64 = 0.125;

/// NetEQ's exchange rate for the single scalar: 20 ms of delay ≙ 1 % concealment.
pub const MS_PER_PERCENT: f64 = 20.0;

/// The metrics of one policy on one trace (or their mean over seeds). Rates are fractions (0.01 = 1 %).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Metrics {
    /// (late + inserted frames) / frames: concealment, network loss excluded.
    pub concealment: f64,
    /// Late frames / frames.
    pub late: f64,
    /// Frames lost by the network / frames (concealed too, but not the buffer's doing).
    pub network_loss: f64,
    /// Mean buffer delay (ms).
    pub mean_delay_ms: f64,
    /// 95th percentile of the per-frame buffer delay (ms).
    pub p95_delay_ms: f64,
    /// 99th percentile of the per-frame buffer delay (ms).
    pub p99_delay_ms: f64,
    /// Adaptation events per minute: runs of consecutive frames whose delay moves the same way by more than
    /// [`ADAPTATION_THRESHOLD_MS`].
    pub adaptations_per_min: f64,
    /// Audio inserted to grow the buffer (ms per minute).
    pub inserted_ms_per_min: f64,
    /// Audio removed to shrink it (ms per minute).
    pub removed_ms_per_min: f64,
    /// The oracle's mean delay at this concealment (ms).
    pub oracle_delay_ms: f64,
    /// `mean_delay_ms − oracle_delay_ms`: the distance to the limit (ms).
    pub excess_ms: f64,
    /// The best constant delay with this concealment (ms): see [`StaticOracle`].
    pub static_delay_ms: f64,
}

impl Metrics {
    /// Scores a simulation result against a trace's frontier.
    pub fn score(r: &SimResult, frontier: &Frontier, fixed: &StaticOracle) -> Self {
        let d = &r.per_frame_delay_ms;
        let n = d.len();
        if n == 0 {
            return Self::default();
        }
        let minutes = n as f64 * r.frame_ms / 60_000.0;
        let mean = d.iter().sum::<f64>() / n as f64;
        let mut sorted = d.clone();
        sorted.sort_by(f64::total_cmp);
        let quantile = |q: f64| {
            sorted
                .get(((q * n as f64) as usize).min(n - 1))
                .copied()
                .unwrap_or(0.0)
        };
        let c = concealment(r);
        let oracle = frontier.delay_at(c);
        Self {
            concealment: c,
            late: r.late_frames as f64 / n as f64,
            network_loss: r.lost_frames as f64 / n as f64,
            mean_delay_ms: mean,
            p95_delay_ms: quantile(0.95),
            p99_delay_ms: quantile(0.99),
            adaptations_per_min: adaptation_events(d) as f64 / minutes,
            inserted_ms_per_min: r.inserted_ms / minutes,
            removed_ms_per_min: r.removed_ms / minutes,
            oracle_delay_ms: oracle,
            excess_ms: mean - oracle,
            static_delay_ms: fixed.delay_at(c),
        }
    }

    /// The single scalar `J = mean delay + 20 ms × concealment %` (NetEQ's exchange rate).
    pub fn j_ms(&self) -> f64 {
        self.mean_delay_ms + MS_PER_PERCENT * self.concealment * 100.0
    }

    /// The field-wise mean of several runs (e.g. over seeds).
    pub fn mean(all: &[Self]) -> Self {
        if all.is_empty() {
            return Self::default();
        }
        let k = all.len() as f64;
        let avg = |f: fn(&Self) -> f64| all.iter().map(f).sum::<f64>() / k;
        Self {
            concealment: avg(|m| m.concealment),
            late: avg(|m| m.late),
            network_loss: avg(|m| m.network_loss),
            mean_delay_ms: avg(|m| m.mean_delay_ms),
            p95_delay_ms: avg(|m| m.p95_delay_ms),
            p99_delay_ms: avg(|m| m.p99_delay_ms),
            adaptations_per_min: avg(|m| m.adaptations_per_min),
            inserted_ms_per_min: avg(|m| m.inserted_ms_per_min),
            removed_ms_per_min: avg(|m| m.removed_ms_per_min),
            oracle_delay_ms: avg(|m| m.oracle_delay_ms),
            excess_ms: avg(|m| m.excess_ms),
            static_delay_ms: avg(|m| m.static_delay_ms),
        }
    }
}

/// Counts adaptation events in a delay schedule (see [`Metrics::adaptations_per_min`]).
pub fn adaptation_events(delays: &[f64]) -> usize {
    let mut events = 0;
    let mut last_sign = 0i8;
    for w in delays.windows(2) {
        let delta = w[1] - w[0];
        let sign = if delta > ADAPTATION_THRESHOLD_MS {
            1
        } else if delta < -ADAPTATION_THRESHOLD_MS {
            -1
        } else {
            0
        };
        if sign != 0 && sign != last_sign {
            events += 1;
        }
        last_sign = sign;
    }
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_of_same_direction_changes_is_one_adaptation() {
        assert_eq!(
            adaptation_events(&[0.0, 20.0, 40.0, 40.0, 35.0, 30.0, 30.05, 30.1, 50.0]),
            3
        );
        assert_eq!(adaptation_events(&[10.0; 5]), 0);
        assert_eq!(adaptation_events(&[]), 0);
    }

    #[test]
    fn score_measures_delay_quantiles_and_excess_over_the_frontier() {
        let f = Frontier {
            points: vec![(0.0, 50.0), (0.02, 10.0)],
            solutions: vec![],
            solves: 0,
        };
        let r = SimResult {
            per_frame_delay_ms: (0..100).map(f64::from).collect(),
            late_frames: 1,
            lost_frames: 2,
            inserted_ms: 0.0,
            removed_ms: 0.0,
            adaptation_events: 0,
            frame_ms: 20.0,
        };
        let m = Metrics::score(&r, &f, &StaticOracle::new(&[Some(5.0); 100]));
        assert_eq!(m.concealment, 0.01);
        assert_eq!(m.network_loss, 0.02);
        assert_eq!(m.mean_delay_ms, 49.5);
        assert_eq!((m.p95_delay_ms, m.p99_delay_ms), (95.0, 99.0));
        assert!((m.oracle_delay_ms - 30.0).abs() < 1e-9);
        assert!((m.excess_ms - 19.5).abs() < 1e-9);
        assert!((m.j_ms() - 69.5).abs() < 1e-9);
        assert_eq!(m.static_delay_ms, 5.0);
        // One step up per frame over 100 frames is a single adaptation event in 2 s.
        assert!((m.adaptations_per_min - 30.0).abs() < 1e-9);
    }
}
