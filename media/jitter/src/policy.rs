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
    /// Forget factor applied per observation to both histograms (0.9995 ≈ 2000 packets ≈ 40 s
    /// of 20 ms packets of memory). Default 0.9995.
    pub forget: f64,
    /// Window of the running minimum transit (the "fastest packet" base). Short enough to
    /// follow clock drift (0.5 % drift moves it by 10 ms in 2 s). Default 2000.
    pub base_window_ms: f64,
    /// Target relative delay before any statistics exist. Default 40.
    pub initial_delay_ms: f64,
    /// Added to the quantile. Default 2.
    pub margin_ms: f64,
    /// Peak detector: a relative delay this far above the current quantile is a peak.
    /// Default `f64::INFINITY` (off: holding the highest recurring spike cost 20–50 ms of mean
    /// delay on Pareto, Wi-Fi and spiky traces; see docs/jitter-buffer.md).
    pub peak_threshold_ms: f64,
    /// Peak detector: two peaks within this window hold the target at the highest of them until
    /// the window passes after the last. Default 10000.
    pub peak_window_ms: f64,
    /// Largest relative delay tracked (the histogram size, 1 ms bins). Default 1000.
    pub max_delay_ms: f64,
    /// Fast release: once no packet has come within `near_late_ms` of the long-memory target
    /// for this long, the stream is *calm* and the target is capped at
    /// `max(calm quantile, largest relative delay of the last release_window_ms) + margin`.
    /// `f64::INFINITY` disables the release. Default 300.
    pub release_after_ms: f64,
    /// Fast release: the recent window whose largest relative delay is kept covered while
    /// released. Default 300.
    pub release_window_ms: f64,
    /// Fast release: a packet whose relative delay comes within this of the long-memory target
    /// (or exceeds it) is near-late: it ends the calm. Default 10.
    pub near_late_ms: f64,
    /// Fast release: quantile of the *calm* histogram (relative delays of the packets that
    /// arrived while calm) that the released target covers. Above `quantile` because the bursts
    /// themselves spend part of the concealment budget. Default 0.995.
    pub calm_quantile: f64,
}

impl Default for AdaptiveConfig {
    fn default() -> Self {
        Self {
            quantile: 0.99,
            forget: 0.9995,
            base_window_ms: 2000.0,
            initial_delay_ms: 40.0,
            margin_ms: 2.0,
            peak_threshold_ms: f64::INFINITY,
            peak_window_ms: 10_000.0,
            max_delay_ms: 1000.0,
            release_after_ms: 300.0,
            release_window_ms: 300.0,
            near_late_ms: 10.0,
            calm_quantile: 0.995,
        }
    }
}

/// Our policy: `target = base + min(long, released)`, where `long = max(quantile, held peak) +
/// margin` and `released = max(calm quantile, recent max) + margin` applies only while calm.
///
/// - **base**: the minimum transit over the last `base_window_ms` (NetEQ's
///   `PacketArrivalHistory`): relative delays are measured against the fastest recent packet,
///   which removes clock drift and follows route changes within one window.
/// - **quantile** (long memory): of the relative delays in an exponentially forgetting
///   histogram (1 ms bins). A late packet lands in the tail at once, so the target rises on the
///   next frame (fast attack); the tail only fades with the forget factor (slow release).
/// - **fast release**: a packet within `near_late_ms` of the long target marks the stream hot.
///   After `release_after_ms` without one the stream is calm, and the target drops to the
///   `calm_quantile` of a second histogram that only holds packets which arrived while calm
///   (so it describes the link between bursts: spikes, Wi-Fi bursts and the first seconds after
///   a route change stay out of it), but never below the largest relative delay of the last
///   `release_window_ms` (a draining queue is followed down, not dropped under). On links whose
///   delays are independent the calm histogram is an unbiased sample of the whole, so the
///   release changes little there.
/// - **peak detector** (NetEQ `DelayPeakDetector`-like, off by default): recurring spikes (two
///   within `peak_window_ms`) hold the target at the highest recent spike.
#[derive(Debug, Clone)]
pub struct AdaptivePolicy {
    config: AdaptiveConfig,
    /// Monotonic deque of `(arrival_ms, transit)` for the running minimum.
    base: VecDeque<(f64, f64)>,
    /// Every relative delay.
    hist: Histogram,
    /// The relative delays of packets that arrived while calm (no near-late packet for
    /// `release_after_ms`): the level the fast release falls back to.
    calm: Histogram,
    /// Cached quantile of the relative delay.
    quantile_ms: f64,
    /// Cached quantile of the calm relative delays.
    calm_quantile_ms: f64,
    peaks: VecDeque<(f64, f64)>,
    observations: u64,
    /// Monotonic deque of `(arrival_ms, relative delay)` for the recent maximum.
    recent: VecDeque<(f64, f64)>,
    /// `(arrival_ms, media_ms)` of the last near-late packet. Calm needs `release_after_ms` on
    /// both clocks: a draining queue delivers packets faster than real time, so the receiver
    /// clock waits for the drain to end; a packet held in a queue arrives after a gap, and the
    /// media clock does not count that gap as calm.
    last_hot: (f64, f64),
    /// `(arrival_ms, media_ms)`: the largest of each seen.
    last: (f64, f64),
}

impl AdaptivePolicy {
    pub fn new(config: AdaptiveConfig) -> Self {
        let bins = config.max_delay_ms.clamp(1.0, 10_000.0) as usize + 1;
        Self {
            config,
            base: VecDeque::new(),
            hist: Histogram::new(bins),
            calm: Histogram::new(bins),
            quantile_ms: config.initial_delay_ms,
            calm_quantile_ms: config.initial_delay_ms,
            peaks: VecDeque::new(),
            observations: 0,
            recent: VecDeque::new(),
            last_hot: (f64::NEG_INFINITY, f64::NEG_INFINITY),
            last: (f64::NEG_INFINITY, f64::NEG_INFINITY),
        }
    }

    /// The long-memory target: quantile or held peak, plus margin.
    fn long_target_ms(&self) -> f64 {
        let held = if self.peaks.len() >= 2 {
            self.peaks.iter().map(|&(_, h)| h).fold(0.0, f64::max)
        } else {
            0.0
        };
        self.quantile_ms.max(held) + self.config.margin_ms
    }

    /// The relative delay (ms) currently covered: the long-memory target, capped by the released
    /// one while calm.
    pub fn relative_target_ms(&self) -> f64 {
        let long = self.long_target_ms();
        if self.is_calm() && self.calm.observations >= 50 {
            let recent = self.recent.front().map_or(0.0, |&(_, r)| r);
            long.min(recent.max(self.calm_quantile_ms) + self.config.margin_ms)
        } else {
            long
        }
    }

    fn is_calm(&self) -> bool {
        self.observations >= 50
            && self.last.0 - self.last_hot.0 >= self.config.release_after_ms
            && self.last.1 - self.last_hot.1 >= self.config.release_after_ms
    }

    fn base_transit(&self) -> Option<f64> {
        self.base.front().map(|&(_, t)| t)
    }

    fn update_quantile(&mut self) {
        // A few observations are not a distribution: keep the initial delay until ~1 s of data.
        if self.observations < 50 {
            let seen_max = self.hist.max_bin().unwrap_or(0.0);
            self.quantile_ms = self.config.initial_delay_ms.max(seen_max);
            return;
        }
        self.quantile_ms = self.hist.quantile(self.config.quantile);
    }
}

/// An exponentially forgetting histogram of relative delays, 1 ms bins.
#[derive(Debug, Clone)]
struct Histogram {
    bins: Vec<f64>,
    /// Weight of the next observation; grows by `1/forget` instead of decaying every bin.
    weight: f64,
    total: f64,
    observations: u64,
}

impl Histogram {
    fn new(bins: usize) -> Self {
        Self {
            bins: vec![0.0; bins.max(1)],
            weight: 1.0,
            total: 0.0,
            observations: 0,
        }
    }

    fn add(&mut self, rel: f64, forget: f64) {
        let last = self.bins.len() - 1;
        let bin = (rel.round() as usize).min(last);
        self.weight /= forget.clamp(0.5, 1.0);
        if let Some(h) = self.bins.get_mut(bin) {
            *h += self.weight;
        }
        self.total += self.weight;
        if self.weight > 1e100 {
            let scale = 1.0 / self.weight;
            self.bins.iter_mut().for_each(|h| *h *= scale);
            self.total *= scale;
            self.weight = 1.0;
        }
        self.observations += 1;
    }

    fn max_bin(&self) -> Option<f64> {
        self.bins.iter().rposition(|&w| w > 0.0).map(|b| b as f64)
    }

    fn quantile(&self, q: f64) -> f64 {
        let want = q * self.total;
        let mut acc = 0.0;
        for (bin, w) in self.bins.iter().enumerate() {
            acc += w;
            if acc >= want {
                return bin as f64;
            }
        }
        (self.bins.len() - 1) as f64
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

        self.last = (self.last.0.max(arrival_ms), self.last.1.max(media_ms));
        if self.config.release_after_ms.is_finite() && self.is_calm() {
            self.calm.add(rel, self.config.forget);
            self.calm_quantile_ms = self.calm.quantile(self.config.calm_quantile);
        }
        if self.last_hot.0 == f64::NEG_INFINITY || rel > self.long_target_ms() - self.config.near_late_ms {
            self.last_hot = (arrival_ms, media_ms);
        }
        while self.recent.back().is_some_and(|&(_, r)| r <= rel) {
            self.recent.pop_back();
        }
        self.recent.push_back((arrival_ms, rel));
        while self
            .recent
            .front()
            .is_some_and(|&(a, _)| a < arrival_ms - self.config.release_window_ms)
        {
            self.recent.pop_front();
        }

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

        self.hist.add(rel, self.config.forget);
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
    fn a_jump_in_jitter_raises_the_target_at_once_and_calm_releases_it_fast() {
        let mut p = AdaptivePolicy::default();
        feed(&mut p, 0, 500, |_| 0.0);
        feed(&mut p, 500, 520, |i| if i % 2 == 0 { 80.0 } else { 0.0 });
        assert!(p.target_delay_ms() >= 80.0, "{}", p.target_delay_ms());
        feed(&mut p, 520, 530, |_| 0.0); // 0.2 s calm: not yet released
        assert!(p.target_delay_ms() >= 80.0, "{}", p.target_delay_ms());
        feed(&mut p, 530, 600, |_| 0.0); // 1.6 s calm: released
        assert!(p.target_delay_ms() < 10.0, "{}", p.target_delay_ms());
        // A new burst is covered at once again.
        feed(&mut p, 600, 602, |_| 80.0);
        assert!(p.target_delay_ms() >= 80.0, "{}", p.target_delay_ms());
    }

    #[test]
    fn without_fast_release_the_tail_decays_with_the_forget_factor() {
        let mut p = AdaptivePolicy::new(AdaptiveConfig {
            release_after_ms: f64::INFINITY,
            ..AdaptiveConfig::default()
        });
        feed(&mut p, 0, 500, |_| 0.0);
        feed(&mut p, 500, 520, |i| if i % 2 == 0 { 80.0 } else { 0.0 });
        assert!(p.target_delay_ms() >= 80.0, "{}", p.target_delay_ms());
        feed(&mut p, 520, 600, |_| 0.0); // 1.6 s calm: still covered
        assert!(p.target_delay_ms() >= 60.0);
        feed(&mut p, 600, 3000, |_| 0.0); // 48 s calm: released
        assert!(p.target_delay_ms() < 10.0, "{}", p.target_delay_ms());
    }

    #[test]
    fn independent_delays_are_not_released_below_their_quantile() {
        // 2 % of the packets at 50 ms, the rest at 0..9 ms, in a fixed pseudo-random order: the
        // 0.99 quantile is 50, and calm gaps between the outliers must not lower the target.
        let jitter = |i: usize| {
            let h = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40;
            if h % 50 == 0 { 50.0 } else { (h % 10) as f64 }
        };
        let mut p = AdaptivePolicy::default();
        feed(&mut p, 0, 3000, jitter);
        let mut below = 0;
        for i in 3000..13_000 {
            let media = i as f64 * 20.0;
            if p.relative_target_ms() < 50.0 {
                below += 1;
            }
            p.on_arrival(media, media + jitter(i));
        }
        assert!(
            below <= 100,
            "target below the 0.99 quantile for {below} of 10000 packets"
        );
    }

    #[test]
    fn a_draining_queue_spike_is_released_soon_after_it_drains() {
        let spike = |i: usize| {
            if (1000..1030).contains(&i) {
                300.0 - (i - 1000) as f64 * 10.0 // a 300 ms queue that drains by 10 ms per packet
            } else {
                (i % 5) as f64
            }
        };
        let mut slow = AdaptivePolicy::new(AdaptiveConfig {
            release_after_ms: f64::INFINITY,
            ..AdaptiveConfig::default()
        });
        let mut fast = AdaptivePolicy::default();
        feed(&mut slow, 0, 1030, spike);
        feed(&mut fast, 0, 1030, spike);
        // During the drain, the release does not go under the queue of the last 300 ms.
        assert!(
            fast.relative_target_ms() >= 10.0 + 2.0,
            "{}",
            fast.relative_target_ms()
        );
        // 2 s after the drain: 0.3 s to become calm, 1 s to learn the calm level (the link was
        // never calm before: its delays were all within `near_late_ms` of the target).
        feed(&mut slow, 1030, 1130, spike);
        feed(&mut fast, 1030, 1130, spike);
        assert!(fast.relative_target_ms() < 15.0, "{}", fast.relative_target_ms());
        assert!(slow.relative_target_ms() > 100.0, "{}", slow.relative_target_ms());
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
