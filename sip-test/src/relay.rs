//! A seeded UDP impairment relay: the machine's kernel has no `tc netem`, so tests put this between a peer
//! and the engine. Each direction applies its own model: loss (independent, or Gilbert–Elliott bursts),
//! a per-packet delay (fixed base plus jitter, which also reorders), and duplication. The same seed gives the
//! same drops and delays for the same packet order.
//!
//! The relay listens on one port. Packets from the engine go back to the last peer address seen; everything
//! else goes to the engine. A sender thread releases delayed packets when they are due.

use std::collections::BinaryHeap;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};

/// How packets are lost.
#[derive(Debug, Clone, Copy)]
pub enum Loss {
    None,
    /// Each packet independently with this probability.
    Random(f64),
    /// Two states: Good loses `loss_good`, Bad loses `loss_bad`; per packet the state flips with
    /// `p_good_to_bad` / `p_bad_to_good`.
    GilbertElliott {
        p_good_to_bad: f64,
        p_bad_to_good: f64,
        loss_good: f64,
        loss_bad: f64,
    },
}

/// How long packets take (added to loopback's own delay).
#[derive(Debug, Clone, Copy)]
pub enum Delay {
    None,
    /// `base_ms` plus a uniform jitter in `0..jitter_ms` (jitter reorders packets closer than it).
    Uniform {
        base_ms: f64,
        jitter_ms: f64,
    },
    /// `base_ms` plus a Pareto tail: `scale_ms · (U^(-1/alpha) − 1)`, capped at `cap_ms`.
    Pareto {
        base_ms: f64,
        scale_ms: f64,
        alpha: f64,
        cap_ms: f64,
    },
}

/// One direction's impairments.
#[derive(Debug, Clone, Copy)]
pub struct Model {
    pub loss: Loss,
    pub delay: Delay,
    /// Probability that a delivered packet is delivered twice.
    pub duplicate: f64,
}

impl Model {
    pub const CLEAN: Self = Self {
        loss: Loss::None,
        delay: Delay::None,
        duplicate: 0.0,
    };

    pub fn random_loss(p: f64) -> Self {
        Self {
            loss: Loss::Random(p),
            ..Self::CLEAN
        }
    }
}

/// Counters of what the relay did.
#[derive(Debug, Default)]
pub struct RelayStats {
    pub received: AtomicU64,
    pub dropped: AtomicU64,
    pub duplicated: AtomicU64,
    pub sent: AtomicU64,
}

struct Direction {
    model: Model,
    bad: bool,
}

impl Direction {
    /// Decides the fate of one packet: `None` when lost, else its extra delay(s).
    fn fate(&mut self, rng: &mut StdRng) -> Option<Vec<Duration>> {
        let lost = match self.model.loss {
            Loss::None => false,
            Loss::Random(p) => rng.random::<f64>() < p,
            Loss::GilbertElliott {
                p_good_to_bad,
                p_bad_to_good,
                loss_good,
                loss_bad,
            } => {
                let flip = if self.bad { p_bad_to_good } else { p_good_to_bad };
                if rng.random::<f64>() < flip {
                    self.bad = !self.bad;
                }
                rng.random::<f64>() < if self.bad { loss_bad } else { loss_good }
            }
        };
        if lost {
            return None;
        }
        let delay_model = self.model.delay;
        let delay = |rng: &mut StdRng| -> Duration {
            let ms = match delay_model {
                Delay::None => 0.0,
                Delay::Uniform { base_ms, jitter_ms } => base_ms + rng.random::<f64>() * jitter_ms,
                Delay::Pareto {
                    base_ms,
                    scale_ms,
                    alpha,
                    cap_ms,
                } => {
                    let u: f64 = rng.random::<f64>().max(1e-12);
                    base_ms + (scale_ms * (u.powf(-1.0 / alpha) - 1.0)).min(cap_ms)
                }
            };
            Duration::from_secs_f64(ms.max(0.0) / 1000.0)
        };
        let mut out = vec![delay(rng)];
        if self.model.duplicate > 0.0 && rng.random::<f64>() < self.model.duplicate {
            out.push(delay(rng));
        }
        Some(out)
    }
}

#[derive(PartialEq, Eq)]
struct Due {
    at: Instant,
    seq: u64,
    to: SocketAddr,
    data: Vec<u8>,
}

impl Ord for Due {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        // A min-heap on (at, seq).
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

impl PartialOrd for Due {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// A running relay. Dropping it stops its threads.
pub struct Relay {
    pub addr: SocketAddr,
    pub stats: Arc<RelayStats>,
    stop: Arc<AtomicBool>,
}

impl Relay {
    /// Starts a relay on a free port in front of `target`: `up` applies to packets towards the target,
    /// `down` to packets back to the peer.
    pub fn start(target: SocketAddr, up: Model, down: Model, seed: u64) -> Self {
        let socket = UdpSocket::bind(("127.0.0.1", crate::ports::block(1))).unwrap();
        let addr = socket.local_addr().unwrap();
        socket.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
        let send_socket = socket.try_clone().unwrap();
        let stats = Arc::new(RelayStats::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::channel::<Due>();

        let peer: Arc<Mutex<Option<SocketAddr>>> = Arc::new(Mutex::new(None));
        let (stats_rx, stop_rx) = (stats.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut rng = StdRng::seed_from_u64(seed);
            let mut dirs = [
                Direction {
                    model: up,
                    bad: false,
                },
                Direction {
                    model: down,
                    bad: false,
                },
            ];
            let mut buf = vec![0u8; 65_536];
            let mut seq = 0u64;
            while !stop_rx.load(Ordering::Relaxed) {
                let Ok((n, from)) = socket.recv_from(&mut buf) else {
                    continue;
                };
                stats_rx.received.fetch_add(1, Ordering::Relaxed);
                let (dir, to) = if from == target {
                    let Some(p) = *peer.lock().unwrap() else { continue };
                    (1, p)
                } else {
                    *peer.lock().unwrap() = Some(from);
                    (0, target)
                };
                match dirs[dir].fate(&mut rng) {
                    None => {
                        stats_rx.dropped.fetch_add(1, Ordering::Relaxed);
                    }
                    Some(delays) => {
                        if delays.len() > 1 {
                            stats_rx.duplicated.fetch_add(1, Ordering::Relaxed);
                        }
                        let now = Instant::now();
                        for d in delays {
                            seq += 1;
                            let _ = tx.send(Due {
                                at: now + d,
                                seq,
                                to,
                                data: buf[..n].to_vec(),
                            });
                        }
                    }
                }
            }
        });
        let (stats_tx, stop_tx) = (stats.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut heap = BinaryHeap::new();
            while !stop_tx.load(Ordering::Relaxed) {
                // Release everything due, then wait for the next packet or the next due time.
                let now = Instant::now();
                while heap.peek().is_some_and(|d: &Due| d.at <= now) {
                    if let Some(d) = heap.pop() {
                        let _ = send_socket.send_to(&d.data, d.to);
                        stats_tx.sent.fetch_add(1, Ordering::Relaxed);
                    }
                }
                let wait = heap
                    .peek()
                    .map(|d| d.at.saturating_duration_since(now))
                    .unwrap_or(Duration::from_millis(100));
                match rx.recv_timeout(wait) {
                    Ok(d) => heap.push(d),
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                    Err(mpsc::RecvTimeoutError::Disconnected) => return,
                }
            }
        });
        Self { addr, stats, stop }
    }

    pub fn dropped(&self) -> u64 {
        self.stats.dropped.load(Ordering::Relaxed)
    }

    pub fn received(&self) -> u64 {
        self.stats.received.load(Ordering::Relaxed)
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_loss_is_seeded_and_close_to_its_rate() {
        let run = |seed| {
            let mut d = Direction {
                model: Model::random_loss(0.2),
                bad: false,
            };
            let mut rng = StdRng::seed_from_u64(seed);
            (0..10_000).filter(|_| d.fate(&mut rng).is_none()).count()
        };
        assert_eq!(run(7), run(7), "same seed, same drops");
        let lost = run(7);
        assert!((1800..2200).contains(&lost), "{lost} of 10000 lost at 20 %");
    }

    #[test]
    fn gilbert_elliott_losses_come_in_bursts() {
        let model = Model {
            loss: Loss::GilbertElliott {
                p_good_to_bad: 0.01,
                p_bad_to_good: 0.2,
                loss_good: 0.0,
                loss_bad: 0.8,
            },
            ..Model::CLEAN
        };
        let mut d = Direction { model, bad: false };
        let mut rng = StdRng::seed_from_u64(3);
        let lost: Vec<bool> = (0..50_000).map(|_| d.fate(&mut rng).is_none()).collect();
        let total = lost.iter().filter(|&&l| l).count();
        let runs = lost.windows(2).filter(|w| w[0] && w[1]).count();
        assert!(total > 500, "{total}");
        assert!(
            runs * 2 > total,
            "consecutive losses dominate: {runs} pairs of {total} losses"
        );
    }
}
