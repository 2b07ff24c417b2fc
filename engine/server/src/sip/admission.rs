//! Admission control right after parsing, before a message reaches a call shard: per-source token buckets
//! for requests and for new INVITEs (size limits are checked earlier, before parsing). The table is bounded: when it is full, idle sources are evicted; if none is idle the newcomer is
//! refused (a flood of spoofed sources cannot grow memory).
//!
//! Time is an input (`now`), so the limiter is unit-tested in virtual time.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// A token bucket: `rate` tokens per second, holding at most `burst`.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// What the limiter decided for one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Accept,
    /// Over the source's request rate: drop silently (answering a flood feeds it).
    Drop,
    /// A new INVITE over the source's call rate: answer 503 with Retry-After.
    Refuse,
}

#[derive(Debug)]
pub(crate) struct RateLimiter {
    requests_per_sec: f64,
    invites_per_sec: f64,
    max_sources: usize,
    requests: HashMap<IpAddr, Bucket>,
    invites: HashMap<IpAddr, Bucket>,
}

/// A source whose buckets refilled completely this long ago can be forgotten.
const IDLE_AFTER: Duration = Duration::from_secs(2);

impl RateLimiter {
    pub(crate) fn new(requests_per_sec: u32, invites_per_sec: u32, max_sources: usize) -> Self {
        Self {
            requests_per_sec: f64::from(requests_per_sec.max(1)),
            invites_per_sec: f64::from(invites_per_sec.max(1)),
            max_sources: max_sources.max(1),
            requests: HashMap::new(),
            invites: HashMap::new(),
        }
    }

    /// Checks one request from `source`; `new_invite` is true for an INVITE without a To tag.
    pub(crate) fn check(&mut self, now: Instant, source: IpAddr, new_invite: bool) -> Verdict {
        if !take(
            &mut self.requests,
            self.max_sources,
            now,
            source,
            self.requests_per_sec,
        ) {
            return Verdict::Drop;
        }
        if new_invite
            && !take(
                &mut self.invites,
                self.max_sources,
                now,
                source,
                self.invites_per_sec,
            )
        {
            return Verdict::Refuse;
        }
        Verdict::Accept
    }

    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.requests.len()
    }
}

fn take(table: &mut HashMap<IpAddr, Bucket>, max: usize, now: Instant, source: IpAddr, rate: f64) -> bool {
    if !table.contains_key(&source) && table.len() >= max {
        table.retain(|_, b| now.saturating_duration_since(b.last) < IDLE_AFTER);
        if table.len() >= max {
            return false;
        }
    }
    let burst = rate;
    let b = table.entry(source).or_insert(Bucket {
        tokens: burst,
        last: now,
    });
    let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
    b.tokens = (b.tokens + elapsed * rate).min(burst);
    b.last = now;
    if b.tokens >= 1.0 {
        b.tokens -= 1.0;
        true
    } else {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(n: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, n])
    }

    #[test]
    fn invites_over_the_rate_are_refused_at_limit_plus_one() {
        let t0 = Instant::now();
        let mut rl = RateLimiter::new(1000, 10, 100);
        for _ in 0..10 {
            assert_eq!(rl.check(t0, ip(1), true), Verdict::Accept);
        }
        assert_eq!(
            rl.check(t0, ip(1), true),
            Verdict::Refuse,
            "the 11th INVITE in one second"
        );
        // Other requests from the same source still pass; other sources are unaffected.
        assert_eq!(rl.check(t0, ip(1), false), Verdict::Accept);
        assert_eq!(rl.check(t0, ip(2), true), Verdict::Accept);
        // A tenth of a second refills one token.
        assert_eq!(
            rl.check(t0 + Duration::from_millis(100), ip(1), true),
            Verdict::Accept
        );
        assert_eq!(
            rl.check(t0 + Duration::from_millis(100), ip(1), true),
            Verdict::Refuse
        );
    }

    #[test]
    fn requests_over_the_rate_are_dropped() {
        let t0 = Instant::now();
        let mut rl = RateLimiter::new(5, 5, 100);
        for _ in 0..5 {
            assert_eq!(rl.check(t0, ip(1), false), Verdict::Accept);
        }
        assert_eq!(rl.check(t0, ip(1), false), Verdict::Drop);
        assert_eq!(
            rl.check(t0 + Duration::from_secs(1), ip(1), false),
            Verdict::Accept
        );
    }

    #[test]
    fn the_source_table_is_bounded() {
        let t0 = Instant::now();
        let mut rl = RateLimiter::new(10, 10, 3);
        for n in 1..=3 {
            assert_eq!(rl.check(t0, ip(n), false), Verdict::Accept);
        }
        assert_eq!(
            rl.check(t0, ip(4), false),
            Verdict::Drop,
            "a 4th source while 3 are active"
        );
        assert_eq!(rl.tracked(), 3);
        // Once the others are idle, a newcomer evicts them.
        assert_eq!(
            rl.check(t0 + Duration::from_secs(3), ip(4), false),
            Verdict::Accept
        );
        assert_eq!(rl.tracked(), 1);
    }
}
