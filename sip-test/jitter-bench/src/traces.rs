//! Seeded network trace models: per-packet one-way delay (jitter) and network loss.
//!
//! The models are the ones of the reference Python harness (`jbsim.py`, appendix B of
//! `jitter-buffers.md`), ported to Rust, plus `reorder` and a loss overlay:
//!
//! | family | model | stationary |
//! |---|---|---|
//! | `lan` | Gamma(k = 2, θ = 1 ms): mean 2 ms | yes |
//! | `pareto` | Gamma(2, 2 ms) + 6 ms × (Pareto(α = 2.5, x_m = 1) − 1): heavy tail | yes |
//! | `wifi` | Gamma(2, 1.5 ms) + Exp(mean 40 ms) while a Gilbert–Elliott chain is *bad* (good→bad 0.004, bad→good 0.02 per packet: bursts of 50 packets, 1/6 of the time) | yes |
//! | `spiky` | Gamma(2, 3 ms) + queue spikes: with probability 1/1500 per packet a spike of U(150, 400) ms starts and drains at 10 ms per 20 ms packet | no |
//! | `step` | Gamma(2, 2 ms) + 80 ms between the change points n/3 and 2n/3 (a route change and back) | no |
//! | `reorder` | Gamma(2, 1 ms), and 2 % of the packets are held back U(30, 60) ms: they arrive after later packets | yes |
//!
//! "Stationary" means the delay distribution does not change over the trace (wifi's bursts are a stationary Markov
//! chain); `spiky` and `step` change regime, so a buffer has to follow them. The reference document counts `wifi`
//! with the non-stationary traces; this crate follows the issue and counts it as stationary (the stricter bound).
//!
//! Network loss is layered on top from an independent RNG stream, so the delays of a trace do not depend on the loss
//! model: [`LossModel::DEFAULT`] is 0.5 % random loss plus Gilbert–Elliott bursts (good→bad 0.0015, bad→good 0.25,
//! every packet of a burst lost: mean burst 4 packets, about 0.6 % of the packets), about 1.1 % in all.
//!
//! The same models drive a live impairment relay one packet at a time through [`Impairment::next_packet`].

use std::fmt;
use std::str::FromStr;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::error::BenchError;

/// Packet interval of every trace (ms): one 20 ms audio frame per packet.
pub const FRAME_MS: f64 = 20.0;

/// One-way transit of the fastest packet (ms). Arrival times include it; the benchmark measures buffer delay from it.
pub const BASE_TRANSIT_MS: f64 = 40.0;

/// A trace family: one delay model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    /// Low Gamma jitter, mean 2 ms.
    Lan,
    /// Heavy-tailed (Pareto) jitter.
    Pareto,
    /// Gilbert–Elliott bursts of large jitter.
    Wifi,
    /// Queue build-up spikes that drain linearly.
    Spiky,
    /// A route change that adds 80 ms for the middle third of the trace.
    Step,
    /// 2 % of the packets 30–60 ms late (reordered).
    Reorder,
}

impl Family {
    /// Every family, in report order.
    pub const ALL: [Self; 6] = [
        Self::Lan,
        Self::Pareto,
        Self::Wifi,
        Self::Spiky,
        Self::Step,
        Self::Reorder,
    ];

    /// The five main traces of the target (all but `reorder`).
    pub const MAIN: [Self; 5] = [Self::Lan, Self::Pareto, Self::Wifi, Self::Spiky, Self::Step];

    /// The family's name in reports and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Lan => "lan",
            Self::Pareto => "pareto",
            Self::Wifi => "wifi",
            Self::Spiky => "spiky",
            Self::Step => "step",
            Self::Reorder => "reorder",
        }
    }

    /// Whether the delay distribution stays the same over the trace (see the module docs).
    pub fn is_stationary(self) -> bool {
        !matches!(self, Self::Spiky | Self::Step)
    }

    /// Whether the delays are independent from packet to packet (lan, pareto, reorder): a causal buffer cannot
    /// anticipate which packet will be late, so the best constant buffer is about the best it can do.
    pub fn independent_delays(self) -> bool {
        matches!(self, Self::Lan | Self::Pareto | Self::Reorder)
    }

    fn salt(self) -> u64 {
        match self {
            Self::Lan => 0x6c61_6e00,
            Self::Pareto => 0x7061_7265,
            Self::Wifi => 0x7769_6669,
            Self::Spiky => 0x7370_696b,
            Self::Step => 0x7374_6570,
            Self::Reorder => 0x7265_6f72,
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Family {
    type Err = BenchError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| BenchError::UnknownFamily { name: s.to_owned() })
    }
}

/// Network loss layered on top of the delays.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LossModel {
    /// Independent (Bernoulli) loss probability per packet.
    pub random: f64,
    /// Gilbert–Elliott: probability per packet to enter the bad (losing) state.
    pub good_to_bad: f64,
    /// Gilbert–Elliott: probability per packet to leave the bad state.
    pub bad_to_good: f64,
    /// Loss probability per packet in the bad state.
    pub loss_in_bad: f64,
}

impl LossModel {
    /// No network loss.
    pub const NONE: Self = Self {
        random: 0.0,
        good_to_bad: 0.0,
        bad_to_good: 1.0,
        loss_in_bad: 0.0,
    };

    /// About 1.1 %: 0.5 % random + bursts of mean 4 packets covering about 0.6 % (see the module docs).
    pub const DEFAULT: Self = Self {
        random: 0.005,
        good_to_bad: 0.0015,
        bad_to_good: 0.25,
        loss_in_bad: 1.0,
    };

    /// About 3 %: 1.5 % random + bursts covering about 1.5 %.
    pub const HEAVY: Self = Self {
        random: 0.015,
        good_to_bad: 0.004,
        bad_to_good: 0.25,
        loss_in_bad: 1.0,
    };

    /// Long-run fraction of packets lost.
    pub fn expected_rate(&self) -> f64 {
        let bad = if self.good_to_bad + self.bad_to_good > 0.0 {
            self.good_to_bad / (self.good_to_bad + self.bad_to_good)
        } else {
            0.0
        };
        let burst = bad * self.loss_in_bad;
        burst + (1.0 - burst) * self.random
    }
}

/// One packet of a trace: sent at `send_ms` (= its media time), received at `arrival_ms` or lost.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Packet {
    /// Sequence number (0-based, no wrap: traces are short).
    pub seq: u32,
    /// RTP timestamp at 8 kHz.
    pub rtp_ts: u32,
    /// Send time = media time (ms from the start of the call).
    pub send_ms: f64,
    /// Arrival time (ms), `None` when the network lost the packet.
    pub arrival_ms: Option<f64>,
}

/// A generated trace: one packet per 20 ms frame, in send order.
#[derive(Clone, Debug, PartialEq)]
pub struct Trace {
    /// The delay model.
    pub family: Family,
    /// The seed it was generated from.
    pub seed: u64,
    /// The packets in send order.
    pub packets: Vec<Packet>,
}

impl Trace {
    /// Generates `n` packets of `family` from `seed`, with `loss` on top. Deterministic per (family, seed, n, loss).
    pub fn generate(family: Family, seed: u64, n: usize, loss: LossModel) -> Self {
        let mut imp = Impairment::new(family, seed, n, loss);
        let packets = (0..n)
            .map(|i| {
                let send_ms = i as f64 * FRAME_MS;
                let arrival_ms = imp.next_packet().map(|d| send_ms + BASE_TRANSIT_MS + d);
                Packet {
                    seq: i as u32,
                    rtp_ts: (i as u32).wrapping_mul(160),
                    send_ms,
                    arrival_ms,
                }
            })
            .collect();
        Self {
            family,
            seed,
            packets,
        }
    }

    /// Number of packets sent.
    pub fn len(&self) -> usize {
        self.packets.len()
    }

    /// Whether the trace has no packets.
    pub fn is_empty(&self) -> bool {
        self.packets.is_empty()
    }

    /// Transit time of the fastest received packet (ms), `None` if every packet was lost.
    pub fn min_transit_ms(&self) -> Option<f64> {
        self.packets
            .iter()
            .filter_map(|p| p.arrival_ms.map(|a| a - p.send_ms))
            .reduce(f64::min)
    }

    /// Per-frame `(media_ms, arrival_ms)` with arrival times shifted so that the fastest packet has zero transit:
    /// a buffer delay `D` plays frame `i` at `media_ms + D`, and `arrival_ms − media_ms` is the packet's delay
    /// beyond the fastest one. This is what the simulator and the oracle consume.
    pub fn arrivals(&self) -> Vec<(f64, Option<f64>)> {
        let base = self.min_transit_ms().unwrap_or(0.0);
        self.packets
            .iter()
            .map(|p| (p.send_ms, p.arrival_ms.map(|a| a - base)))
            .collect()
    }

    /// Relative delays `arrival − media` of [`Trace::arrivals`] (`None` = lost).
    pub fn relative_delays(&self) -> Vec<Option<f64>> {
        self.arrivals()
            .into_iter()
            .map(|(m, a)| a.map(|a| a - m))
            .collect()
    }

    /// Fraction of the packets the network lost.
    pub fn loss_rate(&self) -> f64 {
        if self.packets.is_empty() {
            return 0.0;
        }
        self.packets.iter().filter(|p| p.arrival_ms.is_none()).count() as f64 / self.packets.len() as f64
    }

    /// The trace as text, one line per packet: `seq rtp_ts send_ms arrival_ms|lost`.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "# family={} seed={} packets={}\n",
            self.family,
            self.seed,
            self.len()
        );
        for p in &self.packets {
            match p.arrival_ms {
                Some(a) => out.push_str(&format!("{} {} {:.3} {:.3}\n", p.seq, p.rtp_ts, p.send_ms, a)),
                None => out.push_str(&format!("{} {} {:.3} lost\n", p.seq, p.rtp_ts, p.send_ms)),
            }
        }
        out
    }
}

/// A per-packet impairment generator: the delay model of a family plus network loss.
///
/// Use it directly to impair a live stream (one call per packet, in send order); [`Trace::generate`] is built on it.
#[derive(Clone, Debug)]
pub struct Impairment {
    family: Family,
    jitter_rng: StdRng,
    loss_rng: StdRng,
    loss: LossModel,
    index: usize,
    len: usize,
    /// Gilbert–Elliott state of the wifi delay chain.
    wifi_bad: bool,
    /// Remaining queue of the current spike (ms).
    spike_ms: f64,
    /// Gilbert–Elliott state of the loss chain.
    loss_bad: bool,
}

impl Impairment {
    /// Creates the generator for a stream of `len` packets (`len` places the step's change points).
    pub fn new(family: Family, seed: u64, len: usize, loss: LossModel) -> Self {
        let mix = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        Self {
            family,
            jitter_rng: StdRng::seed_from_u64(mix ^ family.salt()),
            loss_rng: StdRng::seed_from_u64(mix ^ 0x6c6f_7373_0000_0000),
            loss,
            index: 0,
            len,
            wifi_bad: false,
            spike_ms: 0.0,
            loss_bad: false,
        }
    }

    /// Delay of the next packet beyond the base transit (ms), or `None` if the network loses it.
    ///
    /// The delay is drawn even for lost packets, so the delays do not depend on the loss model.
    pub fn next_packet(&mut self) -> Option<f64> {
        let delay = self.next_delay();
        let lost = self.next_lost();
        self.index += 1;
        (!lost).then_some(delay)
    }

    /// Whether the packet just generated was in the wifi chain's bad state (for tests and plots).
    pub fn wifi_bad(&self) -> bool {
        self.wifi_bad
    }

    fn next_delay(&mut self) -> f64 {
        let i = self.index;
        let rng = &mut self.jitter_rng;
        match self.family {
            Family::Lan => gamma2(rng, 1.0),
            Family::Pareto => gamma2(rng, 2.0) + (pareto(rng, 2.5) - 1.0) * 6.0,
            Family::Wifi => {
                if self.wifi_bad {
                    if rng.random_bool(0.02) {
                        self.wifi_bad = false;
                    }
                } else if rng.random_bool(0.004) {
                    self.wifi_bad = true;
                }
                let base = gamma2(rng, 1.5);
                if self.wifi_bad {
                    base + exponential(rng, 40.0)
                } else {
                    base
                }
            }
            Family::Spiky => {
                if self.spike_ms <= 0.0 && rng.random_bool(1.0 / 1500.0) {
                    self.spike_ms = rng.random_range(150.0..400.0);
                }
                let d = gamma2(rng, 3.0) + self.spike_ms.max(0.0);
                // The queue drains at half real time: 10 ms per 20 ms packet.
                self.spike_ms -= FRAME_MS * 0.5;
                d
            }
            Family::Step => {
                let base = gamma2(rng, 2.0);
                if (self.len / 3..2 * self.len / 3).contains(&i) {
                    base + STEP_MS
                } else {
                    base
                }
            }
            Family::Reorder => {
                let base = gamma2(rng, 1.0);
                if rng.random_bool(REORDER_FRACTION) {
                    base + rng.random_range(30.0..60.0)
                } else {
                    base
                }
            }
        }
    }

    fn next_lost(&mut self) -> bool {
        let m = self.loss;
        let rng = &mut self.loss_rng;
        if self.loss_bad {
            if rng.random_bool(m.bad_to_good.clamp(0.0, 1.0)) {
                self.loss_bad = false;
            }
        } else if rng.random_bool(m.good_to_bad.clamp(0.0, 1.0)) {
            self.loss_bad = true;
        }
        let burst = self.loss_bad && rng.random_bool(m.loss_in_bad.clamp(0.0, 1.0));
        let random = rng.random_bool(m.random.clamp(0.0, 1.0));
        burst || random
    }
}

/// Delay the `step` family adds between its change points (ms).
pub const STEP_MS: f64 = 80.0;

/// Fraction of the `reorder` family's packets held back 30–60 ms.
pub const REORDER_FRACTION: f64 = 0.02;

/// Exponential variate with the given mean.
fn exponential(rng: &mut StdRng, mean: f64) -> f64 {
    // 1 − U is in (0, 1], so the logarithm is finite.
    -(1.0 - rng.random::<f64>()).ln() * mean
}

/// Gamma(shape 2, scale θ) variate: the sum of two exponentials of mean θ.
fn gamma2(rng: &mut StdRng, scale: f64) -> f64 {
    exponential(rng, scale) + exponential(rng, scale)
}

/// Pareto variate with x_m = 1 (Python's `paretovariate(alpha)`).
fn pareto(rng: &mut StdRng, alpha: f64) -> f64 {
    (1.0 - rng.random::<f64>()).powf(-1.0 / alpha)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delays(family: Family, seed: u64, n: usize) -> Vec<f64> {
        let mut imp = Impairment::new(family, seed, n, LossModel::NONE);
        (0..n).filter_map(|_| imp.next_packet()).collect()
    }

    fn mean(v: &[f64]) -> f64 {
        v.iter().sum::<f64>() / v.len() as f64
    }

    #[test]
    fn traces_are_deterministic_per_seed_and_differ_across_seeds() {
        for family in Family::ALL {
            let a = Trace::generate(family, 7, 2000, LossModel::DEFAULT);
            let b = Trace::generate(family, 7, 2000, LossModel::DEFAULT);
            let c = Trace::generate(family, 8, 2000, LossModel::DEFAULT);
            assert_eq!(a, b, "{family}");
            assert_ne!(a, c, "{family}");
        }
    }

    #[test]
    fn loss_overlay_does_not_change_the_delays() {
        let clean = Trace::generate(Family::Pareto, 3, 3000, LossModel::NONE);
        let lossy = Trace::generate(Family::Pareto, 3, 3000, LossModel::HEAVY);
        assert_eq!(clean.loss_rate(), 0.0);
        for (c, l) in clean.packets.iter().zip(&lossy.packets) {
            if let Some(a) = l.arrival_ms {
                assert_eq!(c.arrival_ms, Some(a));
            }
        }
    }

    #[test]
    fn network_loss_is_near_its_expected_rate_and_bursty() {
        let n = 200_000;
        let t = Trace::generate(Family::Lan, 1, n, LossModel::DEFAULT);
        let rate = t.loss_rate();
        let expected = LossModel::DEFAULT.expected_rate();
        assert!((rate - expected).abs() < 0.002, "loss {rate} vs {expected}");
        // Bursty: a loss follows a loss far more often than the marginal rate.
        let lost: Vec<bool> = t.packets.iter().map(|p| p.arrival_ms.is_none()).collect();
        let pairs = lost.windows(2).filter(|w| w[0]).count();
        let both = lost.windows(2).filter(|w| w[0] && w[1]).count();
        let conditional = both as f64 / pairs as f64;
        assert!(
            conditional > 10.0 * rate,
            "P(loss | loss) = {conditional}, marginal {rate}"
        );
    }

    #[test]
    fn lan_jitter_has_mean_two_ms() {
        let d = delays(Family::Lan, 11, 50_000);
        assert!((mean(&d) - 2.0).abs() < 0.05, "{}", mean(&d));
    }

    #[test]
    fn pareto_tail_is_heavier_than_gamma() {
        let mut d = delays(Family::Pareto, 5, 50_000);
        d.sort_by(f64::total_cmp);
        let p50 = d[d.len() / 2];
        let p999 = d[d.len() * 999 / 1000];
        // Gamma(2, 2) alone has p99.9 ≈ 18.5 ms; the Pareto term (tail ∝ x^-2.5) pushes it far beyond.
        assert!(p50 > 3.0 && p50 < 8.0, "p50 {p50}");
        assert!(p999 > 40.0, "p99.9 {p999}");
    }

    #[test]
    fn reorder_holds_back_two_percent_by_thirty_to_sixty_ms() {
        let n = 50_000;
        let d = delays(Family::Reorder, 9, n);
        // The base jitter is Gamma(2, 1): P(> 25 ms) ≈ 4e-10, so every delay above 25 ms is a held-back packet.
        let held: Vec<f64> = d.iter().copied().filter(|&x| x > 25.0).collect();
        let fraction = held.len() as f64 / n as f64;
        assert!(
            (fraction - REORDER_FRACTION).abs() < 0.003,
            "held back {fraction}"
        );
        assert!(held.iter().all(|&x| (30.0..60.0 + 25.0).contains(&x)));
        assert!((mean(&held) - 47.0).abs() < 1.5, "mean hold {}", mean(&held));
        // They really are reordered: most arrive after the next packet.
        let t = Trace::generate(Family::Reorder, 9, n, LossModel::NONE);
        let overtaken = t
            .packets
            .windows(2)
            .filter(|w| matches!((w[0].arrival_ms, w[1].arrival_ms), (Some(a), Some(b)) if a > b))
            .count();
        assert!(
            overtaken as f64 > 0.9 * held.len() as f64,
            "{overtaken} overtaken of {}",
            held.len()
        );
    }

    #[test]
    fn step_adds_eighty_ms_between_the_change_points() {
        let n = 30_000;
        let d = delays(Family::Step, 4, n);
        let before = mean(&d[..n / 3]);
        let during = mean(&d[n / 3..2 * n / 3]);
        let after = mean(&d[2 * n / 3..]);
        assert!(
            (during - before - STEP_MS).abs() < 0.5,
            "before {before} during {during}"
        );
        assert!((after - before).abs() < 0.5, "before {before} after {after}");
        // The change is a step, not a ramp: the first packet after the change point already carries it.
        assert!(d[n / 3] >= STEP_MS && d[n / 3 - 1] < STEP_MS);
    }

    #[test]
    fn wifi_bursts_follow_the_gilbert_elliott_chain() {
        let n = 200_000;
        let mut imp = Impairment::new(Family::Wifi, 2, n, LossModel::NONE);
        let mut bad = Vec::with_capacity(n);
        for _ in 0..n {
            imp.next_packet();
            bad.push(imp.wifi_bad());
        }
        let bad_fraction = bad.iter().filter(|&&b| b).count() as f64 / n as f64;
        // Stationary bad fraction 0.004 / (0.004 + 0.02) = 1/6; mean burst 1 / 0.02 = 50 packets.
        assert!((bad_fraction - 1.0 / 6.0).abs() < 0.03, "bad {bad_fraction}");
        let bursts = bad.windows(2).filter(|w| !w[0] && w[1]).count();
        let mean_burst = bad.iter().filter(|&&b| b).count() as f64 / bursts as f64;
        assert!((mean_burst - 50.0).abs() < 8.0, "mean burst {mean_burst}");
        // And the delays are bursty: a packet delayed > 20 ms is followed by another far more often than average.
        let d = delays(Family::Wifi, 2, n);
        let high: Vec<bool> = d.iter().map(|&x| x > 20.0).collect();
        let marginal = high.iter().filter(|&&h| h).count() as f64 / n as f64;
        let after_high = high.windows(2).filter(|w| w[0]).count();
        let high_high = high.windows(2).filter(|w| w[0] && w[1]).count();
        let conditional = high_high as f64 / after_high as f64;
        assert!(
            conditional > 3.0 * marginal,
            "P(high | high) {conditional} vs {marginal}"
        );
    }

    #[test]
    fn spikes_build_up_and_drain_linearly() {
        let n = 30_000;
        let d = delays(Family::Spiky, 6, n);
        let spikes = d.windows(2).filter(|w| w[1] - w[0] > 120.0).count();
        // Expected about n / (1500 + mean drain length) ≈ 19.
        assert!((8..=35).contains(&spikes), "{spikes} spikes");
        // After the largest delay, the next packets come down by about 10 ms per packet.
        let peak = d
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(i, _)| i)
            .unwrap();
        let drop = d[peak] - d[peak + 5];
        assert!((drop - 50.0).abs() < 25.0, "drained {drop} ms in 5 packets");
    }

    #[test]
    fn arrivals_are_relative_to_the_fastest_packet() {
        let t = Trace::generate(Family::Pareto, 1, 1000, LossModel::DEFAULT);
        let r = t.relative_delays();
        let min = r.iter().flatten().copied().fold(f64::INFINITY, f64::min);
        assert_eq!(min, 0.0);
        assert_eq!(
            r.iter().filter(|x| x.is_none()).count(),
            t.packets.iter().filter(|p| p.arrival_ms.is_none()).count()
        );
        assert!(t.to_text().lines().count() == 1001);
    }

    #[test]
    fn family_names_round_trip() {
        for f in Family::ALL {
            assert_eq!(f.name().parse::<Family>().unwrap(), f);
        }
        assert!("adsl".parse::<Family>().is_err());
    }
}
