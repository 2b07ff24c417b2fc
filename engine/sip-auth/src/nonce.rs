//! Self-verifying, single-use nonces.
//!
//! A nonce is 64 lowercase hex digits: `issued (8 bytes, ms since the manager's epoch) ‖ random (8) ‖
//! tag (16)`, where `tag` is HMAC-SHA-256 over `issued ‖ random ‖ realm` with the manager's secret,
//! truncated to 16 bytes. Forged nonces fail the tag. Nonces are never stored when issued (a REGISTER
//! flood costs no memory); a nonce is stored only once it is *used*, until it expires on its own, in
//! a set bounded by [`NonceConfig::max_tracked`]. When that set is full the oldest entry is dropped
//! and every nonce issued at or before it becomes stale: the bound shortens the lifetime during a
//! flood but never allows a replay.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac as _};
use rand::RngCore;
use sha2::Sha256;

use crate::digest::{hex, unhex};

type HmacSha256 = Hmac<Sha256>;

/// Nonce settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NonceConfig {
    /// How long a nonce may be used after it was issued. Default 60 s.
    pub lifetime: Duration,
    /// How many used nonces are remembered at most. Default 65 536 (about 2.5 MB).
    pub max_tracked: usize,
}

impl Default for NonceConfig {
    fn default() -> Self {
        Self {
            lifetime: Duration::from_secs(60),
            max_tracked: 65_536,
        }
    }
}

/// What a presented nonce turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceStatus {
    /// Issued by us, within its lifetime, never used before. It is now used.
    Fresh,
    /// Issued by us, but already used or too old (answer with `stale=true` if the digest was right).
    Stale,
    /// Not issued by us (bad tag, bad shape, other realm, from the future).
    Invalid,
}

/// Issues and checks nonces. See the module docs for the format.
#[derive(Debug)]
pub struct NonceManager {
    config: NonceConfig,
    key: [u8; 32],
    epoch: Instant,
    /// Used nonces, by (issued ms, random).
    used: BTreeSet<(u64, [u8; 8])>,
    /// Every nonce issued at or before this tick is stale (raised when `used` overflows).
    floor: Option<u64>,
}

impl NonceManager {
    /// A manager whose nonces are keyed by `key` and timed from `epoch` (pass the `now` of startup).
    #[must_use]
    pub fn new(config: NonceConfig, key: [u8; 32], epoch: Instant) -> Self {
        Self {
            config,
            key,
            epoch,
            used: BTreeSet::new(),
            floor: None,
        }
    }

    fn tick(&self, now: Instant) -> u64 {
        u64::try_from(now.saturating_duration_since(self.epoch).as_millis()).unwrap_or(u64::MAX)
    }

    fn lifetime_ms(&self) -> u64 {
        u64::try_from(self.config.lifetime.as_millis()).unwrap_or(u64::MAX)
    }

    fn mac(&self, issued: u64, random: [u8; 8], realm: &str) -> HmacSha256 {
        // HMAC accepts keys of any length, so this cannot fail.
        #[allow(clippy::expect_used)] // reason: infallible for HMAC
        let mut m = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key length");
        m.update(&issued.to_be_bytes());
        m.update(&random);
        m.update(realm.as_bytes());
        m
    }

    /// A new nonce for `realm`.
    pub fn issue(&mut self, now: Instant, realm: &str, rng: &mut impl RngCore) -> String {
        let issued = self.tick(now);
        let mut random = [0u8; 8];
        rng.fill_bytes(&mut random);
        let tag = self.mac(issued, random, realm).finalize().into_bytes();
        let mut raw = [0u8; 32];
        raw[..8].copy_from_slice(&issued.to_be_bytes());
        raw[8..16].copy_from_slice(&random);
        raw[16..].copy_from_slice(&tag[..16]);
        hex(&raw)
    }

    /// Checks `nonce` for `realm` and, if it is [`NonceStatus::Fresh`], marks it used.
    pub fn check(&mut self, now: Instant, nonce: &str, realm: &str) -> NonceStatus {
        self.prune(now);
        let Some(raw) = unhex::<32>(nonce) else {
            return NonceStatus::Invalid;
        };
        let (head, tag) = raw.split_at(16);
        let (issued, random) = head.split_at(8);
        let (Ok(issued), Ok(random)) = (<[u8; 8]>::try_from(issued), <[u8; 8]>::try_from(random)) else {
            return NonceStatus::Invalid;
        };
        let issued = u64::from_be_bytes(issued);
        if self
            .mac(issued, random, realm)
            .verify_truncated_left(tag)
            .is_err()
        {
            return NonceStatus::Invalid;
        }
        let now_ms = self.tick(now);
        if issued > now_ms {
            return NonceStatus::Invalid;
        }
        if now_ms - issued >= self.lifetime_ms() || self.floor.is_some_and(|f| issued <= f) {
            return NonceStatus::Stale;
        }
        if !self.used.insert((issued, random)) {
            return NonceStatus::Stale;
        }
        while self.used.len() > self.config.max_tracked {
            if let Some((oldest, _)) = self.used.pop_first() {
                self.floor = Some(self.floor.map_or(oldest, |f| f.max(oldest)));
            }
        }
        NonceStatus::Fresh
    }

    /// Forgets used nonces that are too old to be accepted anyway.
    fn prune(&mut self, now: Instant) {
        let now_ms = self.tick(now);
        let Some(cutoff) = now_ms.checked_sub(self.lifetime_ms()) else {
            return;
        };
        // Entries with issued <= cutoff are expired: keep those strictly after it.
        self.used = self.used.split_off(&(cutoff.saturating_add(1), [0u8; 8]));
    }

    /// How many used nonces are remembered now.
    #[must_use]
    pub fn tracked(&self) -> usize {
        self.used.len()
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng as _;
    use rand::rngs::StdRng;

    use super::*;

    fn manager(t0: Instant) -> (NonceManager, StdRng) {
        (
            NonceManager::new(NonceConfig::default(), [7; 32], t0),
            StdRng::seed_from_u64(1),
        )
    }

    #[test]
    fn a_nonce_is_accepted_once_then_stale() {
        let t0 = crate::t0();
        let (mut m, mut rng) = manager(t0);
        let n = m.issue(t0, "r", &mut rng);
        assert_eq!(n.len(), 64);
        assert_eq!(m.check(t0 + Duration::from_secs(1), &n, "r"), NonceStatus::Fresh);
        assert_eq!(m.check(t0 + Duration::from_secs(2), &n, "r"), NonceStatus::Stale);
    }

    #[test]
    fn a_nonce_expires_at_its_lifetime() {
        let t0 = crate::t0();
        let (mut m, mut rng) = manager(t0);
        let a = m.issue(t0, "r", &mut rng);
        let b = m.issue(t0, "r", &mut rng);
        assert_eq!(
            m.check(t0 + Duration::from_millis(59_999), &a, "r"),
            NonceStatus::Fresh
        );
        assert_eq!(m.check(t0 + Duration::from_secs(60), &b, "r"), NonceStatus::Stale);
    }

    #[test]
    fn forged_other_realm_and_garbage_nonces_are_invalid() {
        let t0 = crate::t0();
        let (mut m, mut rng) = manager(t0);
        let n = m.issue(t0, "r", &mut rng);
        assert_eq!(m.check(t0, &n, "other"), NonceStatus::Invalid);
        let mut forged = n.clone().into_bytes();
        forged[63] = if forged[63] == b'0' { b'1' } else { b'0' };
        assert_eq!(
            m.check(t0, &String::from_utf8(forged).unwrap(), "r"),
            NonceStatus::Invalid
        );
        assert_eq!(m.check(t0, "xyz", "r"), NonceStatus::Invalid);
        let other = NonceManager::new(NonceConfig::default(), [8; 32], t0).issue(t0, "r", &mut rng);
        assert_eq!(m.check(t0, &other, "r"), NonceStatus::Invalid);
        // None of these consumed the real nonce.
        assert_eq!(m.check(t0, &n, "r"), NonceStatus::Fresh);
    }

    #[test]
    fn used_set_is_bounded_and_overflow_never_allows_replay() {
        let t0 = crate::t0();
        let config = NonceConfig {
            lifetime: Duration::from_secs(60),
            max_tracked: 100,
        };
        let mut m = NonceManager::new(config, [1; 32], t0);
        let mut rng = StdRng::seed_from_u64(2);
        let mut all = Vec::new();
        for i in 0..1_000u64 {
            let at = t0 + Duration::from_millis(i);
            let n = m.issue(at, "r", &mut rng);
            assert_eq!(m.check(at, &n, "r"), NonceStatus::Fresh);
            all.push(n);
            assert!(m.tracked() <= 100);
        }
        let later = t0 + Duration::from_secs(1);
        for n in &all {
            assert_eq!(m.check(later, n, "r"), NonceStatus::Stale);
        }
    }

    #[test]
    fn used_nonces_are_forgotten_after_their_lifetime() {
        let t0 = crate::t0();
        let (mut m, mut rng) = manager(t0);
        for _ in 0..10 {
            let n = m.issue(t0, "r", &mut rng);
            m.check(t0, &n, "r");
        }
        assert_eq!(m.tracked(), 10);
        let n = m.issue(t0 + Duration::from_secs(61), "r", &mut rng);
        assert_eq!(m.check(t0 + Duration::from_secs(61), &n, "r"), NonceStatus::Fresh);
        assert_eq!(m.tracked(), 1);
    }
}
