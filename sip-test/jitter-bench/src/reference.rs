//! Reference playout policies, re-implemented (simplified, not the products' code) in the benchmark's harness.
//!
//! All of them read the same two inputs as the engine's policy, `(media_ms, arrival_ms)`, and name a playout offset
//! in the same coordinates (media `m` plays at `m + target`); the simulator applies the same slew limits to all.

use std::collections::VecDeque;

use crate::policy::PlayoutPolicy;

/// A sliding window of the last `cap` values, kept sorted for quantiles.
#[derive(Clone, Debug)]
struct SortedWindow {
    fifo: VecDeque<f64>,
    sorted: Vec<f64>,
    cap: usize,
}

impl SortedWindow {
    fn new(cap: usize) -> Self {
        Self {
            fifo: VecDeque::with_capacity(cap + 1),
            sorted: Vec::with_capacity(cap + 1),
            cap: cap.max(1),
        }
    }

    fn push(&mut self, x: f64) {
        if self.fifo.len() == self.cap
            && let Some(old) = self.fifo.pop_front()
        {
            let at = self.sorted.partition_point(|&v| v < old);
            if at < self.sorted.len() {
                self.sorted.remove(at);
            }
        }
        self.fifo.push_back(x);
        let at = self.sorted.partition_point(|&v| v < x);
        self.sorted.insert(at, x);
    }

    fn len(&self) -> usize {
        self.sorted.len()
    }

    /// The value at rank `k` (0 = smallest), clamped into range.
    fn rank(&self, k: usize) -> f64 {
        self.sorted
            .get(k.min(self.sorted.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0.0)
    }
}

/// A constant offset beyond the fastest packet: "fixed 60 ms" is `FixedDelay(60.0)`.
///
/// Unlike `jitter::FixedPolicy` (anchored on the first packet, as a real buffer is), this one is anchored on the
/// trace's fastest packet, so its late frames are exactly the packets more than `delay` late.
#[derive(Clone, Debug)]
pub struct FixedDelay(pub f64);

impl PlayoutPolicy for FixedDelay {
    fn on_arrival(&mut self, _media_ms: f64, _arrival_ms: f64) {}

    fn target_delay_ms(&self) -> f64 {
        self.0
    }
}

/// Asterisk `jitterbuf.c`-like: target = p97 of the last 500 transits + 40 ms (`JB_TARGET_EXTRA`), recomputed at
/// most every 40 ms (`JB_ADJUST_DELAY`), 40 ms until 10 packets are known.
#[derive(Clone, Debug)]
pub struct AsteriskLike {
    history: SortedWindow,
    target: f64,
    last_change_ms: f64,
}

impl AsteriskLike {
    /// History length (packets).
    pub const HISTORY: usize = 500;
    /// Margin above the 97th percentile (ms).
    pub const TARGET_EXTRA_MS: f64 = 40.0;
    /// Least time between two target changes (ms).
    pub const ADJUST_MS: f64 = 40.0;
}

impl Default for AsteriskLike {
    fn default() -> Self {
        Self {
            history: SortedWindow::new(Self::HISTORY),
            target: 40.0,
            last_change_ms: f64::NEG_INFINITY,
        }
    }
}

impl PlayoutPolicy for AsteriskLike {
    fn on_arrival(&mut self, media_ms: f64, arrival_ms: f64) {
        self.history.push(arrival_ms - media_ms);
        let n = self.history.len();
        if n < 10 || arrival_ms - self.last_change_ms < Self::ADJUST_MS {
            return;
        }
        // Drop the top 3 % as outliers: the highest kept value is the p97.
        let p97 = self.history.rank((n * 97 / 100).saturating_sub(1));
        let target = p97 + Self::TARGET_EXTRA_MS;
        if target != self.target {
            self.target = target;
            self.last_change_ms = arrival_ms;
        }
    }

    fn target_delay_ms(&self) -> f64 {
        self.target
    }
}

/// WebRTC NetEQ-like: relative delay against the fastest packet of the last 2 s, one observation per 500 ms (the
/// maximum in that interval) into a histogram of 20 ms bins forgotten by 0.983 per observation; target = the 0.95
/// quantile's upper bin edge above the fastest recent transit; 80 ms until two observations exist.
///
/// The fastest recent transit is added back (NetEQ's buffer level is anchored on the arrival stream, so a route
/// change moves its playout with it); the Python sketch of the reference leaves it out.
#[derive(Clone, Debug)]
pub struct NetEqLike {
    /// Monotone deque of `(arrival_ms, transit)`: its front is the fastest transit of the window.
    base: VecDeque<(f64, f64)>,
    hist: [f64; 100],
    interval_start: Option<f64>,
    interval_max: f64,
    observations: usize,
}

impl NetEqLike {
    /// Window of the fastest-packet base (ms).
    pub const BASE_WINDOW_MS: f64 = 2000.0;
    /// One histogram observation per interval (ms).
    pub const INTERVAL_MS: f64 = 500.0;
    /// Forget factor per observation.
    pub const FORGET: f64 = 0.983;
    /// Quantile covered.
    pub const QUANTILE: f64 = 0.95;
    /// Histogram bin width (ms).
    pub const BIN_MS: f64 = 20.0;
    /// Delay before two observations exist (ms).
    pub const START_MS: f64 = 80.0;
}

impl Default for NetEqLike {
    fn default() -> Self {
        Self {
            base: VecDeque::new(),
            hist: [0.0; 100],
            interval_start: None,
            interval_max: 0.0,
            observations: 0,
        }
    }
}

impl PlayoutPolicy for NetEqLike {
    fn on_arrival(&mut self, media_ms: f64, arrival_ms: f64) {
        let transit = arrival_ms - media_ms;
        while self.base.back().is_some_and(|&(_, t)| t >= transit) {
            self.base.pop_back();
        }
        self.base.push_back((arrival_ms, transit));
        while self
            .base
            .front()
            .is_some_and(|&(a, _)| a < arrival_ms - Self::BASE_WINDOW_MS)
        {
            self.base.pop_front();
        }
        let fastest = self.base.front().map_or(transit, |&(_, t)| t);
        let rel = (transit - fastest).max(0.0);
        let start = *self.interval_start.get_or_insert(arrival_ms);
        self.interval_max = self.interval_max.max(rel);
        if arrival_ms - start >= Self::INTERVAL_MS {
            self.hist.iter_mut().for_each(|h| *h *= Self::FORGET);
            let bin = ((self.interval_max / Self::BIN_MS) as usize).min(self.hist.len() - 1);
            if let Some(h) = self.hist.get_mut(bin) {
                *h += 1.0 - Self::FORGET;
            }
            self.observations += 1;
            self.interval_start = Some(arrival_ms);
            self.interval_max = 0.0;
        }
    }

    fn target_delay_ms(&self) -> f64 {
        let fastest = self.base.front().map_or(0.0, |&(_, t)| t);
        if self.observations < 2 {
            return fastest + Self::START_MS;
        }
        let total: f64 = self.hist.iter().sum();
        let mut acc = 0.0;
        for (bin, h) in self.hist.iter().enumerate() {
            acc += h;
            if acc >= Self::QUANTILE * total {
                return fastest + (bin + 1) as f64 * Self::BIN_MS;
            }
        }
        fastest + self.hist.len() as f64 * Self::BIN_MS
    }
}

/// SpeexDSP `compute_opt_delay`-like: over the transits of the last 1000 packets, pick the delay `D` that minimises
/// `D + late_cost × late(D)`, where `late(D)` counts the packets later than `D`; candidates late at most 4 %
/// (`max_late_rate`); `late_cost` = 20 ms per 1 % late (NetEQ's exchange rate, in place of Speex's auto trade-off).
#[derive(Clone, Debug)]
pub struct SpeexLike {
    history: SortedWindow,
    target: f64,
}

impl SpeexLike {
    /// History length (packets): Speex's `window_size = 100 × TOP_DELAY / max_late_rate`.
    pub const WINDOW: usize = 1000;
    /// Largest late rate a candidate may have.
    pub const MAX_LATE_RATE: f64 = 0.04;
    /// Cost of 1 % late packets, in ms of delay.
    pub const MS_PER_PERCENT_LATE: f64 = 20.0;
    /// Packets needed before the first estimate (`TOP_DELAY`).
    pub const MIN_PACKETS: usize = 40;
}

impl Default for SpeexLike {
    fn default() -> Self {
        Self {
            history: SortedWindow::new(Self::WINDOW),
            target: 40.0,
        }
    }
}

impl PlayoutPolicy for SpeexLike {
    fn on_arrival(&mut self, media_ms: f64, arrival_ms: f64) {
        self.history.push(arrival_ms - media_ms);
        let n = self.history.len();
        if n < Self::MIN_PACKETS {
            return;
        }
        let per_packet = Self::MS_PER_PERCENT_LATE * 100.0 / n as f64;
        let max_late = (Self::MAX_LATE_RATE * n as f64) as usize;
        let mut best = (f64::INFINITY, self.target);
        // Candidate: the `late`-th largest transit, so exactly `late` packets are later than it (ties aside).
        for late in 0..=max_late.min(n - 1) {
            let d = self.history.rank(n - 1 - late);
            let cost = d + per_packet * late as f64;
            if cost < best.0 {
                best = (cost, d);
            }
        }
        self.target = best.1;
    }

    fn target_delay_ms(&self) -> f64 {
        self.target
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(p: &mut dyn PlayoutPolicy, from: usize, to: usize, jitter: impl Fn(usize) -> f64) {
        for i in from..to {
            let m = i as f64 * 20.0;
            p.on_arrival(m, m + jitter(i));
        }
    }

    #[test]
    fn sorted_window_keeps_the_last_values_in_order() {
        let mut w = SortedWindow::new(3);
        for x in [5.0, 1.0, 3.0, 2.0, 2.0] {
            w.push(x);
        }
        assert_eq!(w.sorted, vec![2.0, 2.0, 3.0]);
        assert_eq!(w.rank(99), 3.0);
    }

    #[test]
    fn asterisk_like_targets_p97_plus_forty() {
        let mut p = AsteriskLike::default();
        // Transits 0..99 ms, each once, five times over: p97 is 96.
        feed(&mut p, 0, 500, |i| (i % 100) as f64);
        assert_eq!(p.target_delay_ms(), 96.0 + 40.0);
    }

    #[test]
    fn neteq_like_covers_the_interval_maxima_and_follows_a_route_change() {
        let mut p = NetEqLike::default();
        assert_eq!(p.target_delay_ms(), 80.0);
        // One 30 ms packet per 500 ms interval, the rest on time: every interval maximum is 30 → bin 20..40.
        feed(&mut p, 0, 3000, |i| if i % 25 == 0 { 30.0 } else { 0.0 });
        assert_eq!(p.target_delay_ms(), 40.0);
        // A route change adds 80 ms to every packet: after the 2 s base window the target moves with it.
        feed(&mut p, 3000, 6000, |i| {
            80.0 + if i % 25 == 0 { 30.0 } else { 0.0 }
        });
        assert_eq!(p.target_delay_ms(), 120.0);
    }

    #[test]
    fn speex_like_trades_twenty_ms_per_percent_late() {
        let mut p = SpeexLike::default();
        // 1000 transits: 98 % at 0 ms, 2 % at 100 ms. Covering them costs 100 ms, conceding them 2 % × 20 = 40 ms.
        feed(&mut p, 0, 1000, |i| if i % 50 == 0 { 100.0 } else { 0.0 });
        assert_eq!(p.target_delay_ms(), 0.0);
        // With the outliers at 30 ms, covering them (30 ms) is cheaper than 40 ms of penalty.
        feed(&mut p, 1000, 2000, |i| if i % 50 == 0 { 30.0 } else { 0.0 });
        assert_eq!(p.target_delay_ms(), 30.0);
    }
}
