//! The leg's timers, in one table (quinn's `TimerTable` shape).

use std::time::Instant;

/// What a leg waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Timer {
    /// The ptime clock: pull one frame and send one packet.
    Ptime,
    /// RFC 3550 §6.2 report interval: send SR/RR + SDES.
    Rtcp,
    /// No RTP from the peer for `rtp_timeout` while receiving is expected.
    RtpTimeout,
}

impl Timer {
    const ALL: [Self; 3] = [Self::Ptime, Self::Rtcp, Self::RtpTimeout];

    fn index(self) -> usize {
        match self {
            Self::Ptime => 0,
            Self::Rtcp => 1,
            Self::RtpTimeout => 2,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct TimerTable([Option<Instant>; 3]);

impl TimerTable {
    pub(crate) fn set(&mut self, timer: Timer, at: Instant) {
        if let Some(slot) = self.0.get_mut(timer.index()) {
            *slot = Some(at);
        }
    }

    pub(crate) fn clear(&mut self, timer: Timer) {
        if let Some(slot) = self.0.get_mut(timer.index()) {
            *slot = None;
        }
    }

    pub(crate) fn get(&self, timer: Timer) -> Option<Instant> {
        self.0.get(timer.index()).copied().flatten()
    }

    /// Whether `timer` is set and due at `now`.
    pub(crate) fn is_due(&self, timer: Timer, now: Instant) -> bool {
        self.get(timer).is_some_and(|t| t <= now)
    }

    pub(crate) fn clear_all(&mut self) {
        self.0 = [None; 3];
    }

    /// The earliest deadline and which timer it belongs to.
    pub(crate) fn next(&self) -> Option<(Instant, Timer)> {
        Timer::ALL
            .iter()
            .filter_map(|&t| self.get(t).map(|at| (at, t)))
            .min_by_key(|(at, _)| *at)
    }
}
