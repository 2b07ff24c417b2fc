//! Banning sources after repeated authentication failures.
//!
//! Policy: a source may fail [`BanConfig::max_failures`] times within [`BanConfig::window`]; the
//! next failure bans it for [`BanConfig::ban_for`]. A banned source gets **no answer at all** (the
//! registrar returns `None`), as many SBCs do: a scanner learns nothing, not even that a SIP stack
//! listens. Successes do not reset the count (an attacker holding one valid account behind the
//! same address could otherwise interleave successes); failures simply age out of the window.
//!
//! Sources are keyed by address, IPv6 by its /64 (one subscriber usually owns a whole /64) and
//! IPv4-mapped IPv6 as IPv4. Allow-listed addresses (a call center's NAT) are never banned. The
//! table holds at most [`BanConfig::max_sources`] entries; when full, the entry seen longest ago
//! that is not banned is evicted (or, if all are banned, the ban that ends first).

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv6Addr};
use std::time::{Duration, Instant};

/// Ban settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BanConfig {
    /// Failures tolerated within `window`; one more bans. Default 5.
    pub max_failures: usize,
    /// Sliding window for counting failures. Default 60 s.
    pub window: Duration,
    /// Ban duration. Default 10 min.
    pub ban_for: Duration,
    /// Most sources tracked. Default 10 000.
    pub max_sources: usize,
    /// Never banned (compared after /64 normalisation).
    pub allow: Vec<IpAddr>,
}

impl Default for BanConfig {
    fn default() -> Self {
        Self {
            max_failures: 5,
            window: Duration::from_secs(60),
            ban_for: Duration::from_secs(600),
            max_sources: 10_000,
            allow: Vec::new(),
        }
    }
}

#[derive(Debug)]
struct Source {
    failures: VecDeque<Instant>,
    banned_until: Option<Instant>,
    last_seen: Instant,
}

/// Failure counts and bans per source address.
#[derive(Debug)]
pub struct BanList {
    config: BanConfig,
    sources: HashMap<IpAddr, Source>,
    allow: Vec<IpAddr>,
}

/// The key a source is counted under: IPv4 as is, IPv4-mapped IPv6 as IPv4, other IPv6 by /64.
#[must_use]
pub fn source_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(v6.to_bits() & !u128::from(u64::MAX))),
        },
    }
}

impl BanList {
    /// An empty list.
    #[must_use]
    pub fn new(config: BanConfig) -> Self {
        let allow = config.allow.iter().copied().map(source_key).collect();
        Self {
            config,
            sources: HashMap::new(),
            allow,
        }
    }

    /// Whether `ip` is banned at `now`.
    #[must_use]
    pub fn is_banned(&self, now: Instant, ip: IpAddr) -> bool {
        self.sources
            .get(&source_key(ip))
            .and_then(|s| s.banned_until)
            .is_some_and(|until| now < until)
    }

    /// Counts one failure from `ip`. Returns the end of the ban if this failure started one.
    pub fn record_failure(&mut self, now: Instant, ip: IpAddr) -> Option<Instant> {
        let key = source_key(ip);
        if self.allow.contains(&key) || self.is_banned(now, key) {
            return None;
        }
        if !self.sources.contains_key(&key) && self.sources.len() >= self.config.max_sources {
            self.evict_one(now);
        }
        let window = self.config.window;
        let s = self.sources.entry(key).or_insert_with(|| Source {
            failures: VecDeque::new(),
            banned_until: None,
            last_seen: now,
        });
        s.last_seen = now;
        s.banned_until = None;
        while s.failures.front().is_some_and(|&t| t + window <= now) {
            s.failures.pop_front();
        }
        s.failures.push_back(now);
        if s.failures.len() > self.config.max_failures {
            s.failures.clear();
            let until = now + self.config.ban_for;
            s.banned_until = Some(until);
            Some(until)
        } else {
            None
        }
    }

    fn evict_one(&mut self, now: Instant) {
        // O(n), only when the table is full: bounded by `max_sources`.
        let victim = self
            .sources
            .iter()
            .filter(|(_, s)| s.banned_until.is_none_or(|u| u <= now))
            .min_by_key(|(ip, s)| (s.last_seen, **ip))
            .or_else(|| self.sources.iter().min_by_key(|(ip, s)| (s.banned_until, **ip)))
            .map(|(ip, _)| *ip);
        if let Some(ip) = victim {
            self.sources.remove(&ip);
        }
    }

    /// Forgets ended bans and sources whose failures all left the window.
    pub fn handle_timeout(&mut self, now: Instant) {
        let window = self.config.window;
        self.sources.retain(|_, s| {
            if s.banned_until.is_some_and(|u| u <= now) {
                s.banned_until = None;
            }
            while s.failures.front().is_some_and(|&t| t + window <= now) {
                s.failures.pop_front();
            }
            s.banned_until.is_some() || !s.failures.is_empty()
        });
    }

    /// When [`BanList::handle_timeout`] has something to forget next (O(n); call it after changes).
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.sources
            .values()
            .filter_map(|s| {
                let f = s.failures.back().map(|&t| t + self.config.window);
                match (s.banned_until, f) {
                    (Some(b), Some(f)) => Some(b.min(f)),
                    (b, f) => b.or(f),
                }
            })
            .min()
    }

    /// Sources tracked.
    #[must_use]
    pub fn len(&self) -> usize {
        self.sources.len()
    }

    /// No source tracked.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn limit_failures_are_tolerated_and_limit_plus_one_bans_until_expiry() {
        let t0 = crate::t0();
        let mut b = BanList::new(BanConfig::default());
        let a = ip("198.51.100.7");
        for i in 0..5 {
            assert_eq!(b.record_failure(t0 + Duration::from_secs(i), a), None);
        }
        assert!(!b.is_banned(t0 + Duration::from_secs(5), a));
        let until = b.record_failure(t0 + Duration::from_secs(5), a);
        assert_eq!(until, Some(t0 + Duration::from_secs(605)));
        assert!(b.is_banned(t0 + Duration::from_secs(604), a));
        assert!(!b.is_banned(t0 + Duration::from_secs(605), a));
        assert!(!b.is_banned(t0 + Duration::from_secs(10), ip("198.51.100.8")));
        // After the ban, the count starts from zero.
        b.handle_timeout(t0 + Duration::from_secs(605));
        assert_eq!(b.record_failure(t0 + Duration::from_secs(606), a), None);
    }

    #[test]
    fn failures_slide_out_of_the_window() {
        let t0 = crate::t0();
        let mut b = BanList::new(BanConfig::default());
        let a = ip("198.51.100.7");
        for i in 0..5 {
            b.record_failure(t0 + Duration::from_secs(i), a);
        }
        // The first failure (t0) has left the 60 s window at t0+60.
        assert_eq!(b.record_failure(t0 + Duration::from_secs(60), a), None);
        assert!(b.record_failure(t0 + Duration::from_secs(60), a).is_some());
    }

    #[test]
    fn ipv6_is_counted_per_64_and_allow_list_is_never_banned() {
        let t0 = crate::t0();
        let mut b = BanList::new(BanConfig {
            allow: vec![ip("203.0.113.1")],
            ..BanConfig::default()
        });
        for i in 0..6u16 {
            b.record_failure(t0, IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 0, 0, 0, i)));
            b.record_failure(t0, ip("203.0.113.1"));
        }
        assert!(b.is_banned(t0, ip("2001:db8:0:1:ffff::1")));
        assert!(!b.is_banned(t0, ip("2001:db8:0:2::1")));
        assert!(!b.is_banned(t0, ip("203.0.113.1")));
        assert_eq!(source_key(ip("::ffff:192.0.2.1")), ip("192.0.2.1"));
    }

    #[test]
    fn table_is_bounded_and_keeps_bans_over_idle_sources() {
        let t0 = crate::t0();
        let mut b = BanList::new(BanConfig {
            max_sources: 3,
            max_failures: 0,
            ..BanConfig::default()
        });
        assert!(b.record_failure(t0, ip("192.0.2.1")).is_some());
        let mut cfg_free = BanList::new(BanConfig {
            max_sources: 3,
            ..BanConfig::default()
        });
        for i in 0..100u8 {
            cfg_free.record_failure(
                t0 + Duration::from_millis(u64::from(i)),
                IpAddr::from([10, 0, 0, i]),
            );
            assert!(cfg_free.len() <= 3);
        }
        // Banned 192.0.2.1 survives a flood of new sources that are banned too: the oldest ban goes.
        for i in 0..2u8 {
            b.record_failure(t0 + Duration::from_secs(1), IpAddr::from([10, 0, 1, i]));
        }
        assert_eq!(b.len(), 3);
        assert!(b.is_banned(t0 + Duration::from_secs(2), ip("192.0.2.1")));
        b.record_failure(t0 + Duration::from_secs(3), ip("10.0.2.1"));
        assert_eq!(b.len(), 3);
        assert!(!b.is_banned(t0 + Duration::from_secs(3), ip("192.0.2.1")));
    }

    #[test]
    fn poll_timeout_reports_the_next_cleanup() {
        let t0 = crate::t0();
        let mut b = BanList::new(BanConfig::default());
        assert_eq!(b.poll_timeout(), None);
        b.record_failure(t0, ip("192.0.2.1"));
        assert_eq!(b.poll_timeout(), Some(t0 + Duration::from_secs(60)));
        b.handle_timeout(t0 + Duration::from_secs(60));
        assert!(b.is_empty());
    }
}
