//! The session's timers, in one table.

use std::time::{Duration, Instant};

/// A named input timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Timer {
    /// No digit yet: a collect's `first_digit_timeout` or a menu's `timeout`. Starts when the
    /// prompt ends (or at once when there is no prompt).
    NoInput,
    /// A collect's or verify_identity's `inter_digit_timeout`, restarted by every digit.
    InterDigit,
    /// The interpreter's own limit on an http, lookup or queue request: the request's time
    /// budget plus [`crate::limits::REQUEST_GUARD_SLACK`]. A lost answer never hangs a call.
    Request,
}

impl Timer {
    const ALL: [Self; 3] = [Self::NoInput, Self::InterDigit, Self::Request];

    fn slot(self) -> usize {
        match self {
            Self::NoInput => 0,
            Self::InterDigit => 1,
            Self::Request => 2,
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct TimerTable([Option<Instant>; 3]);

impl TimerTable {
    /// Arms `timer` for `now + after`. A deadline past the end of `Instant` never fires.
    pub(crate) fn set(&mut self, timer: Timer, now: Instant, after: Duration) {
        if let Some(slot) = self.0.get_mut(timer.slot()) {
            *slot = now.checked_add(after);
        }
    }

    pub(crate) fn clear(&mut self, timer: Timer) {
        if let Some(slot) = self.0.get_mut(timer.slot()) {
            *slot = None;
        }
    }

    pub(crate) fn clear_all(&mut self) {
        self.0 = [None; 3];
    }

    /// The earliest deadline and its timer.
    pub(crate) fn next(&self) -> Option<(Instant, Timer)> {
        Timer::ALL
            .iter()
            .filter_map(|&t| self.0.get(t.slot()).copied().flatten().map(|at| (at, t)))
            .min_by_key(|(at, _)| *at)
    }

    /// Disarms and returns the earliest timer due at `now`.
    pub(crate) fn pop_expired(&mut self, now: Instant) -> Option<Timer> {
        let (at, timer) = self.next()?;
        if at > now {
            return None;
        }
        self.clear(timer);
        Some(timer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[expect(clippy::disallowed_methods, reason = "an arbitrary origin for virtual time")]
    fn earliest_timer_fires_first_and_only_when_due() {
        let t0 = Instant::now();
        let mut table = TimerTable::default();
        table.set(Timer::NoInput, t0, Duration::from_secs(5));
        table.set(Timer::InterDigit, t0, Duration::from_secs(3));
        assert_eq!(
            table.next(),
            Some((t0 + Duration::from_secs(3), Timer::InterDigit))
        );
        assert_eq!(table.pop_expired(t0 + Duration::from_secs(2)), None);
        assert_eq!(
            table.pop_expired(t0 + Duration::from_secs(6)),
            Some(Timer::InterDigit)
        );
        assert_eq!(
            table.pop_expired(t0 + Duration::from_secs(6)),
            Some(Timer::NoInput)
        );
        assert_eq!(table.next(), None);
    }
}
