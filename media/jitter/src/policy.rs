//! Playout policies: the delay estimate, apart from the packet store.
//!
//! A policy sees one observation per packet — the media time the packet carries and the
//! receiver time it arrived — and answers one question: at which offset should media play?
//!
//! # Coordinates
//!
//! Both inputs are milliseconds on arbitrary but fixed origins: `media_ms` from the RTP
//! timestamps, `arrival_ms` from the receiver clock. Their difference is the packet's *transit*
//! (unknown constant + network delay + clock drift). [`PlayoutPolicy::target_delay_ms`] is a
//! *playout offset in the same coordinates*: media time `m` should play at receiver time
//! `m + target`. A packet is late when `arrival_ms > media_ms + offset`.
//!
//! When the trace is normalised so that the smallest transit is 0 (as the benchmark and the
//! reference simulator do), the offset *is* the buffer delay beyond the fastest packet.
//! [`crate::JitterBuffer`] feeds its policy in coordinates where the first packet of a stream has
//! transit 0, and re-anchors so that coordinates stay continuous across SSRC changes and
//! timestamp jumps.

use std::collections::VecDeque;

/// A playout-delay estimator. Implemented by [`AdaptivePolicy`] and [`FixedPolicy`]; the
/// benchmark implements reference policies (NetEQ-like, Asterisk-like, …) against it.
pub trait PlayoutPolicy {
    /// A packet for media time `media_ms` (ms, from RTP timestamps) arrived at `arrival_ms`
    /// (ms, receiver clock). Called in arrival order, for every packet that carries audio,
    /// including packets that arrive too late to be played.
    fn on_arrival(&mut self, media_ms: f64, arrival_ms: f64);

    /// The playout offset (ms) the policy wants now: media time `m` plays at `m + target`.
    /// See the module docs for the coordinates. Callers apply [`crate::AdaptLimits`] on top.
    fn target_delay_ms(&self) -> f64;
}

/// Always the same offset. `FixedPolicy::new(60.0)` is the "fixed 60 ms" reference; the
/// recording configuration uses a large one.
///
/// The offset is measured from the transit of the first observed packet, so it is a buffer
/// delay relative to that packet.
#[derive(Debug, Clone)]
pub struct FixedPolicy {
    delay_ms: f64,
    first_transit: Option<f64>,
}

impl FixedPolicy {
    pub fn new(delay_ms: f64) -> Self {
        Self {
            delay_ms,
            first_transit: None,
        }
    }
}

impl PlayoutPolicy for FixedPolicy {
    fn on_arrival(&mut self, media_ms: f64, arrival_ms: f64) {
        if self.first_transit.is_none() {
            self.first_transit = Some(arrival_ms - media_ms);
        }
    }

    fn target_delay_ms(&self) -> f64 {
        self.first_transit.unwrap_or(0.0) + self.delay_ms
    }
}

/// Tuning of [`AdaptivePolicy`]. All durations in ms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdaptiveConfig {
    /// Quantile of the relative delay to cover (0.99 aims at ≤ 1 % late packets). Default 0.99.
    pub quantile: f64,
    /// Forget factor applied per observation to the histogram (0.998 ≈ 500 packets ≈ 10 s of
    /// 20 ms packets of memory). Default 0.998.
    pub forget: f64,
    /// Window of the running minimum transit (the "fastest packet" base). Short enough to
    /// follow clock drift (0.5 % drift moves it by 10 ms in 2 s). Default 2000.
    pub base_window_ms: f64,
    /// Target relative delay before any statistics exist. Default 40.
    pub initial_delay_ms: f64,
    /// Added to the quantile. Default 2.
    pub margin_ms: f64,
    /// Peak detector: a relative delay this far above the current quantile is a peak. Default 40.
    pub peak_threshold_ms: f64,
    /// Peak detector: two peaks within this window hold the target at the highest of them until
    /// the window passes after the last. Default 10000.
    pub peak_window_ms: f64,
    /// Largest relative delay tracked (the histogram size, 1 ms bins). Default 1000.
    pub max_delay_ms: f64,
}

impl Default for AdaptiveConfig {
    fn default() -> Self {
        Self {
            quantile: 0.99,
            forget: 0.998,
            base_window_ms: 2000.0,
            initial_delay_ms: 40.0,
            margin_ms: 2.0,
            peak_threshold_ms: 40.0,
            peak_window_ms: 10_000.0,
            max_delay_ms: 1000.0,
        }
    }
}

/// Our policy: `target = base + max(quantile, held peak) + margin`.
///
/// - **base**: the minimum transit over the last `base_window_ms` (NetEQ's
///   `PacketArrivalHistory`): relative delays are measured against the fastest recent packet,
///   which removes clock drift and follows route changes within one window.
/// - **quantile**: of the relative delays in an exponentially forgetting histogram (1 ms bins).
///   A late packet lands in the tail at once, so the target rises on the next frame (fast
///   attack); the tail only fades with the forget factor (slow release).
/// - **peak detector** (NetEQ `DelayPeakDetector`-like): recurring spikes (two within
///   `peak_window_ms`) hold the target at the highest recent spike, so bursty links do not
///   pay a late loss on every spike; an isolated spike is not held.
#[derive(Debug, Clone)]
pub struct AdaptivePolicy {
    config: AdaptiveConfig,
    /// Monotonic deque of `(arrival_ms, transit)` for the running minimum.
    base: VecDeque<(f64, f64)>,
    hist: Vec<f64>,
    /// Weight of the next observation; grows by `1/forget` instead of decaying every bin.
    weight: f64,
    total: f64,
    /// Cached quantile of the relative delay.
    quantile_ms: f64,
    peaks: VecDeque<(f64, f64)>,
    observations: u64,
}

impl AdaptivePolicy {
    pub fn new(config: AdaptiveConfig) -> Self {
        let bins = config.max_delay_ms.clamp(1.0, 10_000.0) as usize + 1;
        Self {
            config,
            base: VecDeque::new(),
            hist: vec![0.0; bins],
            weight: 1.0,
            total: 0.0,
            quantile_ms: config.initial_delay_ms,
            peaks: VecDeque::new(),
            observations: 0,
        }
    }

    /// The relative delay (ms) currently covered: quantile or held peak, plus margin.
    pub fn relative_target_ms(&self) -> f64 {
        let held = if self.peaks.len() >= 2 {
            self.peaks.iter().map(|&(_, h)| h).fold(0.0, f64::max)
        } else {
            0.0
        };
        self.quantile_ms.max(held) + self.config.margin_ms
    }

    fn base_transit(&self) -> Option<f64> {
        self.base.front().map(|&(_, t)| t)
    }

    fn update_quantile(&mut self) {
        // A few observations are not a distribution: keep the initial delay until ~1 s of data.
        if self.observations < 50 {
            let seen_max = self.hist.iter().rposition(|&w| w > 0.0).map_or(0.0, |b| b as f64);
            self.quantile_ms = self.config.initial_delay_ms.max(seen_max);
            return;
        }
        let want = self.config.quantile * self.total;
        let mut acc = 0.0;
        for (bin, w) in self.hist.iter().enumerate() {
            acc += w;
            if acc >= want {
                self.quantile_ms = bin as f64;
                return;
            }
        }
        self.quantile_ms = (self.hist.len() - 1) as f64;
    }
}

impl Default for AdaptivePolicy {
    fn default() -> Self {
        Self::new(AdaptiveConfig::default())
    }
}

impl PlayoutPolicy for AdaptivePolicy {
    fn on_arrival(&mut self, media_ms: f64, arrival_ms: f64) {
        let transit = arrival_ms - media_ms;
        if !transit.is_finite() {
            return;
        }
        while self.base.back().is_some_and(|&(_, t)| t >= transit) {
            self.base.pop_back();
        }
        self.base.push_back((arrival_ms, transit));
        while self
            .base
            .front()
            .is_some_and(|&(a, _)| a < arrival_ms - self.config.base_window_ms)
        {
            self.base.pop_front();
        }
        let rel = (transit - self.base_transit().unwrap_or(transit)).max(0.0);

        if rel > self.quantile_ms + self.config.peak_threshold_ms && self.observations >= 50 {
            self.peaks.push_back((arrival_ms, rel));
        }
        while self
            .peaks
            .front()
            .is_some_and(|&(a, _)| a < arrival_ms - self.config.peak_window_ms)
        {
            self.peaks.pop_front();
        }

        let last = self.hist.len() - 1;
        let bin = (rel.round() as usize).min(last);
        self.weight /= self.config.forget.clamp(0.5, 1.0);
        if let Some(h) = self.hist.get_mut(bin) {
            *h += self.weight;
        }
        self.total += self.weight;
        if self.weight > 1e100 {
            let scale = 1.0 / self.weight;
            self.hist.iter_mut().for_each(|h| *h *= scale);
            self.total *= scale;
            self.weight = 1.0;
        }
        self.observations += 1;
        self.update_quantile();
    }

    fn target_delay_ms(&self) -> f64 {
        self.base_transit().unwrap_or(0.0) + self.relative_target_ms()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(p: &mut dyn PlayoutPolicy, from: usize, to: usize, jitter: impl Fn(usize) -> f64) {
        for i in from..to {
            let media = i as f64 * 20.0;
            p.on_arrival(media, media + jitter(i));
        }
    }

    #[test]
    fn steady_stream_targets_a_small_delay_above_the_jitter() {
        let mut p = AdaptivePolicy::default();
        feed(&mut p, 0, 1000, |i| (i % 5) as f64 * 2.0); // 0..8 ms jitter
        let t = p.target_delay_ms();
        assert!((8.0..=12.0).contains(&t), "target {t}");
    }

    #[test]
    fn a_jump_in_jitter_raises_the_target_within_a_few_packets_and_it_decays_slowly() {
        let mut p = AdaptivePolicy::default();
        feed(&mut p, 0, 500, |_| 0.0);
        feed(&mut p, 500, 520, |i| if i % 2 == 0 { 80.0 } else { 0.0 });
        assert!(p.target_delay_ms() >= 80.0, "{}", p.target_delay_ms());
        feed(&mut p, 520, 600, |_| 0.0); // 1.6 s calm: still covered
        assert!(p.target_delay_ms() >= 60.0);
        feed(&mut p, 600, 3000, |_| 0.0); // 48 s calm: released
        assert!(p.target_delay_ms() < 10.0, "{}", p.target_delay_ms());
    }

    #[test]
    fn drift_is_followed_by_the_running_minimum() {
        let mut p = AdaptivePolicy::default();
        // Receiver clock 0.5 % slower: transit falls by 0.1 ms per packet.
        feed(&mut p, 0, 5000, |i| -(i as f64) * 0.1 + (i % 3) as f64);
        let last_transit = -4999.0 * 0.1;
        let rel = p.target_delay_ms() - last_transit;
        assert!((0.0..20.0).contains(&rel), "relative target {rel}");
    }

    #[test]
    fn fixed_policy_is_relative_to_the_first_packet() {
        let mut p = FixedPolicy::new(60.0);
        assert_eq!(p.target_delay_ms(), 60.0);
        p.on_arrival(0.0, 15.0);
        p.on_arrival(20.0, 90.0);
        assert_eq!(p.target_delay_ms(), 75.0);
    }
}
