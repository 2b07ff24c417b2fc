//! Challenging and verifying requests for one realm.

use std::time::Instant;

use hmac::{Hmac, Mac as _};
use rand::SeedableRng as _;
use rand::rngs::StdRng;
use sha2::Sha256;
use sip_msg::{HeaderName, Request};

use crate::digest::{self, Algorithm, Challenge, DigestAuthorization, ct_eq, hex, parse_authorization};
use crate::error::AuthError;
use crate::nonce::{NonceConfig, NonceManager, NonceStatus};

/// The most `Authorization` headers looked at in one request.
const MAX_AUTHORIZATION_HEADERS: usize = 4;

/// Authenticator settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthConfig {
    /// The realm (RFC 3261 22.1: usually the domain). Example: `"hotline.example.com"`.
    pub realm: String,
    /// Algorithms offered, one challenge each, in order of preference. Default `[SHA-256, MD5]`
    /// (RFC 8760 7: the client uses the first it supports). Only these are accepted.
    pub algorithms: Vec<Algorithm>,
    /// Nonce lifetime and memory bound.
    pub nonce: NonceConfig,
}

impl AuthConfig {
    /// The defaults for `realm`.
    #[must_use]
    pub fn new(realm: impl Into<String>) -> Self {
        Self {
            realm: realm.into(),
            algorithms: vec![Algorithm::Sha256, Algorithm::Md5],
            nonce: NonceConfig::default(),
        }
    }
}

/// What the credential store knows about a user, for this realm.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// The clear password.
    Password(String),
    /// Precomputed `H(username:realm:password)` in lowercase hex, per base algorithm (see
    /// [`digest::ha1`]); a missing one refuses that algorithm like a wrong password.
    Ha1 {
        /// MD5 HA1 (32 hex digits).
        md5: Option<String>,
        /// SHA-256 HA1 (64 hex digits).
        sha256: Option<String>,
    },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credentials(..)")
    }
}

/// Why a request was not authorized. For the server's security log only: the SIP answer is the
/// same for all of them (a `401` with fresh challenges).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthFailure {
    /// The `Authorization` header could not be used.
    Malformed(AuthError),
    /// The realm is not ours.
    WrongRealm,
    /// The nonce was not issued by us (forged, from before a restart, other realm).
    InvalidNonce,
    /// The `opaque` does not echo ours.
    WrongOpaque,
    /// The credential store does not know the user.
    UnknownUser,
    /// The digest does not match the user's credentials.
    WrongResponse,
}

/// The outcome of [`Authenticator::verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The digest is right and the nonce fresh: the request comes from `user`.
    Authorized {
        /// The authenticated username.
        user: String,
    },
    /// Answer `401` with [`Authenticator::challenge`].
    Challenge {
        /// The digest was right but the nonce used or expired: challenge with `stale=true` (the
        /// phone retries without asking for the password). Not a failure.
        stale: bool,
        /// `None` when the request carried no credentials for us (the normal first REGISTER),
        /// else why the credentials were refused: count it against the source.
        failure: Option<AuthFailure>,
    },
}

/// Issues challenges and verifies digest responses for one realm. See the crate docs.
#[derive(Debug)]
pub struct Authenticator {
    config: AuthConfig,
    nonces: NonceManager,
    rng: StdRng,
    opaque: String,
    dummy_password: String,
}

impl Authenticator {
    /// An authenticator whose secrets all derive from `seed` (32 random bytes from the OS, once per
    /// process). Nonces issued before a restart are refused as invalid and phones simply re-register.
    #[must_use]
    pub fn new(config: AuthConfig, seed: [u8; 32], now: Instant) -> Self {
        let nonces = NonceManager::new(config.nonce.clone(), derive(&seed, b"nonce-key"), now);
        let rng = StdRng::from_seed(derive(&seed, b"rng"));
        let opaque = hex(&derive(&seed, b"opaque")[..12]);
        let dummy_password = hex(&derive(&seed, b"dummy-password"));
        Self {
            config,
            nonces,
            rng,
            opaque,
            dummy_password,
        }
    }

    /// The realm.
    #[must_use]
    pub fn realm(&self) -> &str {
        &self.config.realm
    }

    /// `WWW-Authenticate` values, one per configured algorithm in order of preference, sharing one
    /// fresh nonce.
    pub fn challenge(&mut self, now: Instant, stale: bool) -> Vec<String> {
        let nonce = self.nonces.issue(now, &self.config.realm, &mut self.rng);
        self.config
            .algorithms
            .iter()
            .map(|&algorithm| {
                Challenge {
                    realm: self.config.realm.clone(),
                    nonce: nonce.clone(),
                    opaque: self.opaque.clone(),
                    algorithm,
                    stale,
                }
                .to_string()
            })
            .collect()
    }

    /// Verifies the request's `Authorization` header. `credentials` is asked once per request that
    /// carries a parsable header for our realm, for existing and unknown users alike. An unknown user
    /// is checked against a secret dummy password, so the work done and the verdict are the same as
    /// for a wrong password. The nonce is consumed whatever the outcome.
    pub fn verify(
        &mut self,
        now: Instant,
        req: &Request,
        credentials: &dyn Fn(&str) -> Option<Credentials>,
    ) -> Verdict {
        let auth = match self.pick_authorization(req) {
            Ok(Some(a)) => a,
            Ok(None) => {
                return Verdict::Challenge {
                    stale: false,
                    failure: None,
                };
            }
            Err(e) => return challenge(AuthFailure::Malformed(e)),
        };
        if !self.config.algorithms.contains(&auth.algorithm) {
            return challenge(AuthFailure::Malformed(AuthError::UnsupportedAlgorithm));
        }

        // The same work for every user: one password hash, one response hash, one comparison.
        let stored = credentials(&auth.username);
        let known = stored.is_some();
        let base = auth.algorithm.base();
        let (password, stored_ha1) = match &stored {
            Some(Credentials::Password(p)) => (p.as_str(), None),
            Some(Credentials::Ha1 { md5, sha256 }) => {
                let h = if base == Algorithm::Sha256 { sha256 } else { md5 };
                (self.dummy_password.as_str(), Some(h.as_deref()))
            }
            None => (self.dummy_password.as_str(), None),
        };
        let computed_ha1 = digest::ha1(base, &auth.username, &self.config.realm, password);
        let (ha1, has_secret) = match stored_ha1 {
            Some(Some(h)) => (h.to_ascii_lowercase(), true),
            Some(None) => (computed_ha1, false),
            None => (computed_ha1, known),
        };
        let expected = digest::compute_response(&ha1, req.method.as_str(), &auth);
        let digest_ok = ct_eq(expected.as_bytes(), auth.response.as_bytes()) & has_secret;
        let opaque_ok = auth.opaque.as_deref().is_none_or(|o| o == self.opaque);

        match self.nonces.check(now, &auth.nonce, &self.config.realm) {
            NonceStatus::Invalid => challenge(AuthFailure::InvalidNonce),
            _ if !opaque_ok => challenge(AuthFailure::WrongOpaque),
            _ if !known => challenge(AuthFailure::UnknownUser),
            _ if !digest_ok => challenge(AuthFailure::WrongResponse),
            NonceStatus::Stale => Verdict::Challenge {
                stale: true,
                failure: None,
            },
            NonceStatus::Fresh => Verdict::Authorized { user: auth.username },
        }
    }

    /// The first Digest `Authorization` for our realm. `Ok(None)` if the request carries none (or
    /// only for other realms); the first parse error otherwise.
    fn pick_authorization(&self, req: &Request) -> Result<Option<DigestAuthorization>, AuthError> {
        let mut first_err = None;
        for value in req
            .headers
            .get_all(&HeaderName::Authorization)
            .take(MAX_AUTHORIZATION_HEADERS)
        {
            match parse_authorization(value) {
                Ok(a) if a.realm == self.config.realm => return Ok(Some(a)),
                Ok(_) => {}
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        first_err.map_or(Ok(None), Err)
    }
}

fn challenge(failure: AuthFailure) -> Verdict {
    Verdict::Challenge {
        stale: false,
        failure: Some(failure),
    }
}

/// `HMAC-SHA-256(seed, label)`: independent keys from one seed.
fn derive(seed: &[u8; 32], label: &[u8]) -> [u8; 32] {
    #[allow(clippy::expect_used)] // reason: HMAC accepts any key length, this cannot fail
    let mut m = Hmac::<Sha256>::new_from_slice(seed).expect("HMAC takes any key length");
    m.update(label);
    m.finalize().into_bytes().into()
}

#[cfg(test)]
pub(crate) mod tests {
    use std::time::Duration;

    use sip_msg::{Limits, Message, parse_datagram};

    use super::*;

    pub(crate) const REALM: &str = "hotline.test";

    fn register(auth: Option<String>) -> Request {
        let mut wire = String::from(
            "REGISTER sip:hotline.test SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-1\r\n\
             From: <sip:1001@hotline.test>;tag=f1\r\nTo: <sip:1001@hotline.test>\r\nCall-ID: c1\r\n\
             CSeq: 1 REGISTER\r\nContact: <sip:1001@192.0.2.10:5060>\r\n",
        );
        if let Some(a) = auth {
            wire.push_str(&format!("Authorization: {a}\r\n"));
        }
        wire.push_str("Content-Length: 0\r\n\r\n");
        match parse_datagram(wire.as_bytes(), &Limits::default()).unwrap() {
            Message::Request(r) => r,
            Message::Response(_) => unreachable!(),
        }
    }

    /// What a phone sends back for `challenge` (a `WWW-Authenticate` value).
    pub(crate) fn answer(challenge: &str, user: &str, password: &str, method: &str, uri: &str) -> String {
        let field = |name: &str| -> String {
            let start = challenge.find(&format!("{name}=")).unwrap() + name.len() + 1;
            let rest = &challenge[start..];
            match rest.strip_prefix('"') {
                Some(q) => q[..q.find('"').unwrap()].to_owned(),
                None => rest.split([',', ' ']).next().unwrap().to_owned(),
            }
        };
        let (realm, nonce, opaque, alg) = (
            field("realm"),
            field("nonce"),
            field("opaque"),
            field("algorithm"),
        );
        let algorithm = Algorithm::parse(&alg).unwrap();
        let header = format!(
            "Digest username=\"{user}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\", \
             response=\"{}\", algorithm={alg}, qop=auth, nc=00000001, cnonce=\"0a4f113b\", opaque=\"{opaque}\"",
            "0".repeat(algorithm.hex_len())
        );
        let mut parsed = parse_authorization(&header).unwrap();
        let ha1 = digest::ha1(algorithm.base(), user, &realm, password);
        parsed.response = digest::compute_response(&ha1, method, &parsed);
        header.replace(&"0".repeat(algorithm.hex_len()), &parsed.response)
    }

    fn store(user: &str) -> Option<Credentials> {
        (user == "1001").then(|| Credentials::Password("s3cret".into()))
    }

    fn setup() -> (Authenticator, Instant) {
        let t0 = crate::t0();
        (Authenticator::new(AuthConfig::new(REALM), [42; 32], t0), t0)
    }

    #[test]
    fn offers_sha256_then_md5_with_one_nonce() {
        let (mut a, t0) = setup();
        let c = a.challenge(t0, false);
        assert_eq!(c.len(), 2);
        assert!(c[0].contains("algorithm=SHA-256") && c[1].contains("algorithm=MD5"));
        assert!(c[0].starts_with("Digest realm=\"hotline.test\", nonce=\""));
        assert_eq!(c[0].replace("SHA-256", "MD5"), c[1]);
    }

    #[test]
    fn no_credentials_is_a_plain_challenge_not_a_failure() {
        let (mut a, t0) = setup();
        assert_eq!(
            a.verify(t0, &register(None), &store),
            Verdict::Challenge {
                stale: false,
                failure: None
            }
        );
    }

    #[test]
    fn sha256_and_md5_answers_are_authorized_once() {
        for idx in [0, 1] {
            let (mut a, t0) = setup();
            let c = a.challenge(t0, false);
            let req = register(Some(answer(
                &c[idx],
                "1001",
                "s3cret",
                "REGISTER",
                "sip:hotline.test",
            )));
            assert_eq!(
                a.verify(t0, &req, &store),
                Verdict::Authorized { user: "1001".into() }
            );
            // Replaying the same request: right digest, used nonce.
            assert_eq!(
                a.verify(t0 + Duration::from_secs(1), &req, &store),
                Verdict::Challenge {
                    stale: true,
                    failure: None
                }
            );
        }
    }

    #[test]
    fn expired_nonce_with_right_digest_is_stale() {
        let (mut a, t0) = setup();
        let c = a.challenge(t0, false);
        let req = register(Some(answer(
            &c[0],
            "1001",
            "s3cret",
            "REGISTER",
            "sip:hotline.test",
        )));
        assert_eq!(
            a.verify(t0 + Duration::from_secs(60), &req, &store),
            Verdict::Challenge {
                stale: true,
                failure: None
            }
        );
    }

    #[test]
    fn reused_nonce_with_wrong_password_is_a_failure_not_stale() {
        let (mut a, t0) = setup();
        let c = a.challenge(t0, false);
        let good = register(Some(answer(
            &c[0],
            "1001",
            "s3cret",
            "REGISTER",
            "sip:hotline.test",
        )));
        let bad = register(Some(answer(
            &c[0],
            "1001",
            "guess",
            "REGISTER",
            "sip:hotline.test",
        )));
        assert!(matches!(a.verify(t0, &good, &store), Verdict::Authorized { .. }));
        assert_eq!(a.verify(t0, &bad, &store), challenge(AuthFailure::WrongResponse));
    }

    #[test]
    fn unknown_user_and_wrong_password_get_the_same_verdict_kind() {
        let (mut a, t0) = setup();
        let c = a.challenge(t0, false);
        let unknown = register(Some(answer(
            &c[0],
            "9999",
            "s3cret",
            "REGISTER",
            "sip:hotline.test",
        )));
        let v = a.verify(t0, &unknown, &store);
        assert_eq!(v, challenge(AuthFailure::UnknownUser));
        let c = a.challenge(t0, false);
        let wrong = register(Some(answer(
            &c[0],
            "1001",
            "nope",
            "REGISTER",
            "sip:hotline.test",
        )));
        assert_eq!(
            a.verify(t0, &wrong, &store),
            challenge(AuthFailure::WrongResponse)
        );
    }

    #[test]
    fn stored_ha1_works_and_a_missing_algorithm_is_refused() {
        let (mut a, t0) = setup();
        let sha = digest::ha1(Algorithm::Sha256, "1001", REALM, "s3cret");
        let only_sha = |u: &str| {
            (u == "1001").then(|| Credentials::Ha1 {
                md5: None,
                sha256: Some(sha.clone()),
            })
        };
        let c = a.challenge(t0, false);
        let req = register(Some(answer(
            &c[0],
            "1001",
            "s3cret",
            "REGISTER",
            "sip:hotline.test",
        )));
        assert!(matches!(
            a.verify(t0, &req, &only_sha),
            Verdict::Authorized { .. }
        ));
        let c = a.challenge(t0, false);
        let req = register(Some(answer(
            &c[1],
            "1001",
            "s3cret",
            "REGISTER",
            "sip:hotline.test",
        )));
        assert_eq!(
            a.verify(t0, &req, &only_sha),
            challenge(AuthFailure::WrongResponse)
        );
    }

    #[test]
    fn forged_nonce_other_scheme_and_wrong_opaque_are_failures() {
        let (mut a, t0) = setup();
        let c = a.challenge(t0, false);
        let forged = answer(&c[0], "1001", "s3cret", "REGISTER", "sip:hotline.test");
        let nonce_at = forged.find("nonce=\"").unwrap() + 7;
        let mut bytes = forged.into_bytes();
        bytes[nonce_at] = if bytes[nonce_at] == b'a' { b'b' } else { b'a' };
        let req = register(Some(String::from_utf8(bytes).unwrap()));
        assert_eq!(a.verify(t0, &req, &store), challenge(AuthFailure::InvalidNonce));

        let req = register(Some("Basic QWxhZGRpbjpvcGVu".into()));
        assert_eq!(
            a.verify(t0, &req, &store),
            challenge(AuthFailure::Malformed(AuthError::NotDigest))
        );

        let c = a.challenge(t0, false);
        let wrong_opaque = answer(&c[0], "1001", "s3cret", "REGISTER", "sip:hotline.test")
            .replace(a.opaque.as_str(), "deadbeef");
        let req = register(Some(wrong_opaque));
        assert_eq!(a.verify(t0, &req, &store), challenge(AuthFailure::WrongOpaque));
    }

    #[test]
    fn unoffered_algorithm_is_refused() {
        let t0 = crate::t0();
        let mut config = AuthConfig::new(REALM);
        config.algorithms = vec![Algorithm::Sha256];
        let mut a = Authenticator::new(config, [1; 32], t0);
        let c = a.challenge(t0, false);
        assert_eq!(c.len(), 1);
        let md5 = answer(
            &c[0].replace("SHA-256", "MD5"),
            "1001",
            "s3cret",
            "REGISTER",
            "sip:hotline.test",
        );
        assert_eq!(
            a.verify(t0, &register(Some(md5)), &store),
            challenge(AuthFailure::Malformed(AuthError::UnsupportedAlgorithm))
        );
    }
}
