//! A function-level playout simulator: runs any [`PlayoutPolicy`] over an arrival trace with the
//! same adaptation limits as [`crate::JitterBuffer`], without RTP bytes or audio.
//!
//! # Semantics
//!
//! `arrivals[i] = (media_ms, arrival)` is frame `i`; `arrival` is `None` for a packet the
//! network lost. Frames play in slice order; frame `i` plays at `media_ms + D_i`.
//!
//! 1. `D_0 = clamp(target)` with the target read before any arrival.
//! 2. For each frame `i`: the policy is fed (in arrival order, ties by index) every packet that
//!    arrived at or before `media_ms_i + D_{i-1}`; then, for `i > 0`,
//!    `D_i = clamp(target, D_{i-1} - max_shrink_ms_per_frame, D_{i-1} + max_grow_ms_per_frame)`
//!    and also clamped into `[min_delay_ms, max_delay_ms]`. Growth inserts
//!    `D_i - D_{i-1}` ms of audio (concealment), shrink removes `D_{i-1} - D_i` ms
//!    (time-compression). The policy is then fed packets up to the new playout time.
//! 3. Frame `i` is **lost** if its arrival is `None`, **late** if `arrival > media_ms + D_i`
//!    (arriving exactly at the playout time is in time), otherwise played.
//! 4. Concealment counts late + lost frames, plus inserted ms / `frame_ms` as fractional frames.
//!
//! The real buffer applies the same limits but grows in whole frames (one PLC frame when the
//! target is at least half a growth step above the current delay) and shrinks in whole
//! samples, so its delay is a quantised version of `D_i`.

use serde::Serialize;

use crate::policy::PlayoutPolicy;

/// How fast the playout delay may change, shared by the simulator and the real buffer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct AdaptLimits {
    /// Largest shrink per frame (time-compression), ms. Default 5 (25 % acceleration).
    pub max_shrink_ms_per_frame: f64,
    /// Largest growth per frame (inserted concealment), ms. Default 20 (one frame).
    pub max_grow_ms_per_frame: f64,
    /// Lower bound of the playout offset, ms. Default 0.
    pub min_delay_ms: f64,
    /// Upper bound of the playout offset, ms. Default 1000.
    pub max_delay_ms: f64,
}

impl Default for AdaptLimits {
    fn default() -> Self {
        Self {
            max_shrink_ms_per_frame: 5.0,
            max_grow_ms_per_frame: 20.0,
            min_delay_ms: 0.0,
            max_delay_ms: 1000.0,
        }
    }
}

impl AdaptLimits {
    fn clamp(&self, d: f64) -> f64 {
        if d.is_nan() {
            return self.min_delay_ms;
        }
        d.clamp(self.min_delay_ms, self.max_delay_ms.max(self.min_delay_ms))
    }
}

/// The outcome of [`simulate`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimResult {
    /// `D_i` of every frame, ms.
    pub per_frame_delay_ms: Vec<f64>,
    /// Frames whose packet arrived after its playout time.
    pub late_frames: usize,
    /// Frames whose packet never arrived (network loss).
    pub lost_frames: usize,
    /// Total growth, ms of inserted concealment.
    pub inserted_ms: f64,
    /// Total shrink, ms of removed audio.
    pub removed_ms: f64,
    /// Frames at which the delay changed.
    pub adaptation_events: usize,
    /// The frame duration the simulation ran with, ms.
    pub frame_ms: f64,
}

impl SimResult {
    pub fn frames(&self) -> usize {
        self.per_frame_delay_ms.len()
    }

    pub fn mean_delay_ms(&self) -> f64 {
        if self.per_frame_delay_ms.is_empty() {
            return 0.0;
        }
        self.per_frame_delay_ms.iter().sum::<f64>() / self.per_frame_delay_ms.len() as f64
    }

    /// Late + lost frames plus inserted time, in (fractional) frames.
    pub fn concealed_frames(&self) -> f64 {
        (self.late_frames + self.lost_frames) as f64 + self.inserted_ms / self.frame_ms
    }

    /// (late + inserted) / frames: the concealment the policy is responsible for, excluding
    /// network loss (the benchmark's "concealment %" / 100).
    pub fn policy_concealment_ratio(&self) -> f64 {
        if self.frames() == 0 {
            return 0.0;
        }
        (self.late_frames as f64 + self.inserted_ms / self.frame_ms) / self.frames() as f64
    }

    /// The `q`-quantile (0..=1) of the per-frame delay, ms.
    pub fn delay_quantile_ms(&self, q: f64) -> f64 {
        let mut v = self.per_frame_delay_ms.clone();
        v.sort_by(f64::total_cmp);
        let last = v.len().saturating_sub(1);
        let k = ((q.clamp(0.0, 1.0) * last as f64).round() as usize).min(last);
        v.get(k).copied().unwrap_or(0.0)
    }
}

/// Runs `policy` over `arrivals` (see the module docs for the exact semantics).
pub fn simulate(
    policy: &mut dyn PlayoutPolicy,
    arrivals: &[(f64, Option<f64>)],
    frame_ms: f64,
    limits: AdaptLimits,
) -> SimResult {
    let mut order: Vec<(usize, f64)> = arrivals
        .iter()
        .enumerate()
        .filter_map(|(i, &(_, a))| a.map(|a| (i, a)))
        .collect();
    order.sort_by(|x, y| x.1.total_cmp(&y.1).then(x.0.cmp(&y.0)));
    let mut next = 0;
    let mut feed_until = |policy: &mut dyn PlayoutPolicy, t: f64| {
        while let Some(&(k, a)) = order.get(next) {
            if a > t {
                break;
            }
            if let Some(&(m, _)) = arrivals.get(k) {
                policy.on_arrival(m, a);
            }
            next += 1;
        }
    };

    let mut result = SimResult {
        per_frame_delay_ms: Vec::with_capacity(arrivals.len()),
        late_frames: 0,
        lost_frames: 0,
        inserted_ms: 0.0,
        removed_ms: 0.0,
        adaptation_events: 0,
        frame_ms,
    };
    let mut d = limits.clamp(policy.target_delay_ms());
    for (i, &(media, arrival)) in arrivals.iter().enumerate() {
        feed_until(policy, media + d);
        if i > 0 {
            let target = limits.clamp(policy.target_delay_ms());
            let nd = limits.clamp(target.clamp(
                d - limits.max_shrink_ms_per_frame,
                d + limits.max_grow_ms_per_frame,
            ));
            if nd > d {
                result.inserted_ms += nd - d;
            } else {
                result.removed_ms += d - nd;
            }
            if nd != d {
                result.adaptation_events += 1;
            }
            d = nd;
            feed_until(policy, media + d);
        }
        match arrival {
            None => result.lost_frames += 1,
            Some(a) if a > media + d => result.late_frames += 1,
            Some(_) => {}
        }
        result.per_frame_delay_ms.push(d);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{AdaptivePolicy, FixedPolicy};

    fn trace(n: usize, mut rel: impl FnMut(usize) -> Option<f64>) -> Vec<(f64, Option<f64>)> {
        (0..n)
            .map(|i| {
                let m = i as f64 * 20.0;
                (m, rel(i).map(|r| m + r))
            })
            .collect()
    }

    #[test]
    fn fixed_delay_counts_late_and_lost_frames() {
        let t = trace(100, |i| match i {
            10 => None,
            20 => Some(60.0),   // exactly at the playout time: in time
            30 => Some(60.001), // late
            _ => Some(0.0),
        });
        let r = simulate(&mut FixedPolicy::new(60.0), &t, 20.0, AdaptLimits::default());
        assert_eq!(r.lost_frames, 1);
        assert_eq!(r.late_frames, 1);
        assert_eq!(r.mean_delay_ms(), 60.0);
        assert_eq!(r.inserted_ms, 0.0);
        assert_eq!(r.concealed_frames(), 2.0);
    }

    #[test]
    fn shrink_is_limited_to_five_ms_per_frame_and_growth_to_twenty() {
        let t = trace(400, |i| Some(if (200..205).contains(&i) { 100.0 } else { 1.0 }));
        let r = simulate(&mut AdaptivePolicy::default(), &t, 20.0, AdaptLimits::default());
        for w in r.per_frame_delay_ms.windows(2) {
            assert!(w[1] - w[0] <= 20.0 + 1e-9 && w[0] - w[1] <= 5.0 + 1e-9, "{w:?}");
        }
        assert!(r.inserted_ms > 0.0 && r.removed_ms > 0.0);
        // The start-up delay of 40 ms has been shrunk to the tiny jitter before the spike.
        assert!(r.per_frame_delay_ms[150] < 10.0, "{}", r.per_frame_delay_ms[150]);
    }

    #[test]
    fn adaptive_policy_keeps_late_loss_near_one_percent_on_gamma_like_jitter() {
        // Deterministic pseudo-random jitter (LCG), heavy-ish tail.
        let mut s: u64 = 42;
        let t = trace(15_000, |_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let u = ((s >> 11) as f64 / (1u64 << 53) as f64).max(1e-12);
            Some(-u.ln() * 5.0)
        });
        let r = simulate(&mut AdaptivePolicy::default(), &t, 20.0, AdaptLimits::default());
        let late = r.late_frames as f64 / r.frames() as f64;
        assert!(late < 0.02, "late {late}");
        // p99 of exp(5 ms) is 23 ms: the mean delay must stay near it, far below fixed 60.
        assert!(r.mean_delay_ms() < 35.0, "mean {}", r.mean_delay_ms());
    }
}
