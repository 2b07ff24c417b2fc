//! RFC 3261 §17 timers, named after the RFC, and the per-transaction [`TimerTable`].

use std::fmt;
use std::time::{Duration, Instant};

/// The transaction timers of RFC 3261 §17 (table 4) and RFC 6026 §8.
///
/// | timer | machine | meaning | default |
/// |---|---|---|---|
/// | A | INVITE client | request retransmission (UDP) | T1, doubling |
/// | B | INVITE client | transaction timeout in Calling (and after a CANCEL, RFC 3261 9.1) | 64·T1 |
/// | D | INVITE client | wait for response retransmissions in Completed | 32 s UDP, 0 TCP |
/// | E | non-INVITE client | request retransmission (UDP) | T1, doubling to T2 |
/// | F | non-INVITE client | transaction timeout | 64·T1 |
/// | G | INVITE server | response retransmission (UDP); also paces the 2xx retransmission of RFC 3261 13.3.1.4 in Accepted | T1, doubling to T2 |
/// | H | INVITE server | wait for ACK in Completed | 64·T1 |
/// | I | INVITE server | absorb ACK retransmissions in Confirmed | T4 UDP, 0 TCP |
/// | J | non-INVITE server | absorb request retransmissions in Completed | 64·T1 UDP, 0 TCP |
/// | K | non-INVITE client | absorb response retransmissions in Completed | T4 UDP, 0 TCP |
/// | L | INVITE server | Accepted lifetime; an ACK-less expiry is an ACK timeout (RFC 6026) | 64·T1 |
/// | M | INVITE client | Accepted lifetime, forwarding 2xx retransmissions (RFC 6026) | 64·T1 |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Timer {
    /// INVITE request retransmission.
    A,
    /// INVITE transaction timeout.
    B,
    /// INVITE client wait time in Completed.
    D,
    /// Non-INVITE request retransmission.
    E,
    /// Non-INVITE transaction timeout.
    F,
    /// INVITE response retransmission.
    G,
    /// Wait time for ACK receipt.
    H,
    /// Wait time for ACK retransmissions.
    I,
    /// Wait time for non-INVITE request retransmissions.
    J,
    /// Wait time for non-INVITE response retransmissions.
    K,
    /// INVITE server Accepted lifetime (RFC 6026).
    L,
    /// INVITE client Accepted lifetime (RFC 6026).
    M,
}

impl Timer {
    /// Every timer, in table order.
    pub const ALL: [Self; 12] = [
        Self::A,
        Self::B,
        Self::D,
        Self::E,
        Self::F,
        Self::G,
        Self::H,
        Self::I,
        Self::J,
        Self::K,
        Self::L,
        Self::M,
    ];

    const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timer {self:?}")
    }
}

/// The deadlines of one transaction, one slot per [`Timer`] (quinn-proto's `TimerTable`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TimerTable([Option<Instant>; Timer::ALL.len()]);

impl TimerTable {
    /// Arms `timer` at `deadline`, replacing an earlier setting; returns the previous deadline.
    pub fn set(&mut self, timer: Timer, deadline: Instant) -> Option<Instant> {
        self.slot(timer).replace(deadline)
    }

    /// Disarms `timer`; returns the deadline it had.
    pub fn stop(&mut self, timer: Timer) -> Option<Instant> {
        self.slot(timer).take()
    }

    /// The deadline of `timer`, if armed.
    #[must_use]
    pub fn get(&self, timer: Timer) -> Option<Instant> {
        self.0.get(timer.index()).copied().flatten()
    }

    /// The earliest armed deadline and its timer.
    #[must_use]
    pub fn next_timeout(&self) -> Option<(Instant, Timer)> {
        Timer::ALL
            .iter()
            .filter_map(|&t| self.get(t).map(|at| (at, t)))
            .min()
    }

    /// Every armed timer with its deadline, in table order.
    pub fn armed(&self) -> impl Iterator<Item = (Timer, Instant)> + '_ {
        Timer::ALL.iter().filter_map(|&t| self.get(t).map(|at| (t, at)))
    }

    fn slot(&mut self, timer: Timer) -> &mut Option<Instant> {
        // `Timer::index` is always in bounds: the array has one slot per variant.
        &mut self.0[timer.index()]
    }
}

/// RFC 3261 timer values. Defaults are the RFC's (T1 = 500 ms, T2 = 4 s, T4 = 5 s, Timer D = 32 s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerConfig {
    /// RTT estimate (RFC 3261 T1). Default 500 ms.
    pub t1: Duration,
    /// Maximum retransmit interval for non-INVITE requests and INVITE responses (T2). Default 4 s.
    pub t2: Duration,
    /// Maximum duration a message remains in the network (T4). Default 5 s.
    pub t4: Duration,
    /// Timer D on unreliable transports; the RFC asks for at least 32 s. Default 32 s.
    pub timer_d: Duration,
}

impl Default for TimerConfig {
    fn default() -> Self {
        Self {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
            timer_d: Duration::from_secs(32),
        }
    }
}

impl TimerConfig {
    /// 64·T1: Timers B, F, H, L, M, and J on unreliable transports.
    #[must_use]
    pub fn t1x64(&self) -> Duration {
        self.t1.saturating_mul(64)
    }

    /// The configuration with T1 of at least 1 ms and T2 of at least T1, so retransmission timers always
    /// move forward (a zero T1 would re-arm Timer A at the same instant forever).
    #[must_use]
    pub fn sanitized(self) -> Self {
        let t1 = self.t1.max(Duration::from_millis(1));
        Self {
            t1,
            t2: self.t2.max(t1),
            ..self
        }
    }

    /// The next retransmission interval after `current`, doubled and capped at T2 (Timers E and G).
    #[must_use]
    pub fn backoff_capped(&self, current: Duration) -> Duration {
        current.saturating_mul(2).min(self.t2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::disallowed_methods)] // an arbitrary origin for virtual time; only offsets matter
    fn table_reports_the_earliest_deadline() {
        let t0 = Instant::now();
        let mut table = TimerTable::default();
        assert_eq!(table.next_timeout(), None);
        table.set(Timer::B, t0 + Duration::from_secs(32));
        table.set(Timer::A, t0 + Duration::from_millis(500));
        assert_eq!(
            table.next_timeout(),
            Some((t0 + Duration::from_millis(500), Timer::A))
        );
        assert_eq!(table.stop(Timer::A), Some(t0 + Duration::from_millis(500)));
        assert_eq!(
            table.next_timeout(),
            Some((t0 + Duration::from_secs(32), Timer::B))
        );
    }

    #[test]
    fn capped_backoff_stops_at_t2() {
        let c = TimerConfig::default();
        assert_eq!(
            c.backoff_capped(Duration::from_millis(500)),
            Duration::from_secs(1)
        );
        assert_eq!(c.backoff_capped(Duration::from_secs(2)), Duration::from_secs(4));
        assert_eq!(c.backoff_capped(Duration::from_secs(4)), Duration::from_secs(4));
        assert_eq!(c.t1x64(), Duration::from_secs(32));
    }
}
