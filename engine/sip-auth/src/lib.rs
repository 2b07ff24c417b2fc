//! SIP digest authentication (RFC 7616, RFC 8760), single-use nonces, source bans and a registrar
//! (RFC 3261 10.3) for agents' phones. Sans-IO: time (`now`) and the secrets' seed are inputs.
//!
//! # Model
//! - [`digest`]: parse `Authorization`, compute HA1/HA2/response (MD5, SHA-256 and their `-sess`
//!   variants), print `WWW-Authenticate` [`digest::Challenge`]s.
//! - [`NonceManager`]: stateless-verifiable nonces (HMAC over issue time and randomness) that are
//!   also single-use and expire ([`NonceConfig`], default 60 s).
//! - [`Authenticator`]: one realm; [`Authenticator::challenge`] gives one header value per algorithm
//!   (SHA-256 first, then MD5); [`Authenticator::verify`] gives a [`Verdict`].
//! - [`BanList`]: failures per source address in a sliding window, then a ban.
//! - [`Registrar`]: bindings per AOR, expiry in virtual time, [`RegistrarEvent`]s, and
//!   [`Registrar::handle_register`], which returns the complete response to send.
//!
//! # Run loop
//! Drain contract: after every `handle_*`, drain [`Registrar::poll_event`], then re-arm one timer at
//! the earliest of [`Registrar::poll_timeout`] and [`BanList::poll_timeout`].
//! ```no_run
//! use std::net::SocketAddr;
//! use std::time::Instant;
//!
//! use hotline_sip_auth::{
//!     AuthConfig, Authenticator, BanConfig, BanList, Credentials, Registrar, RegistrarConfig,
//! };
//! use sip_msg::{Request, Response};
//!
//! fn run(
//!     seed: [u8; 32],
//!     tag_key: [u8; 32],
//!     start: Instant,
//!     mut recv: impl FnMut() -> (Instant, Request, SocketAddr),
//!     mut send: impl FnMut(Response, SocketAddr),
//! ) {
//!     let mut auth = Authenticator::new(AuthConfig::new("hotline.example.com"), seed, start);
//!     let mut bans = BanList::new(BanConfig::default());
//!     let mut registrar = Registrar::new(RegistrarConfig::default(), tag_key);
//!     let agents = |user: &str| (user == "1001").then(|| Credentials::Password("secret".into()));
//!     loop {
//!         // A REGISTER from the transaction layer (a timer firing instead calls
//!         // `registrar.handle_timeout(now)` and `bans.handle_timeout(now)`).
//!         let (now, req, source) = recv();
//!         if let Some(resp) =
//!             registrar.handle_register(now, &req, source, &mut auth, &mut bans, &agents)
//!         {
//!             send(resp, source); // through the server transaction
//!         }
//!         while let Some(ev) = registrar.poll_event() {
//!             let _ = ev; // agent presence; one security-log line per AuthFailed/SourceBanned
//!         }
//!         let _next = [registrar.poll_timeout(), bans.poll_timeout()].into_iter().flatten().min();
//!     }
//! }
//! ```
//!
//! # Security choices
//! - **Nonces** are verifiable without state (HMAC-SHA-256 with a key derived from the seed, over the
//!   issue time, 8 random bytes and the realm), so a REGISTER flood that only collects challenges
//!   costs no memory. They are also **single-use**: a nonce is remembered once *used*, until its
//!   lifetime ends, in a set bounded by [`NonceConfig::max_tracked`]; when the set overflows, every
//!   nonce issued up to the dropped one turns stale, so the bound can shorten lifetimes but never
//!   allows a replay. SIPVicious' `svcrack -n` (nonce reuse) gains nothing. A used or expired nonce
//!   with the right digest is answered `stale=true` (the phone retries silently); with a wrong digest
//!   it is an ordinary failure. Nonces from before a restart are invalid: phones re-register.
//! - **Unknown users** are checked against a secret dummy password: the store is asked for every
//!   user, one password hash and one response hash are computed on every path, the comparison is
//!   constant-time, and the answer is the same `401` (status, reason, headers, realm, nonce format,
//!   deterministic To-tag). An unknown user can never be authorized.
//! - **Failures** never get `403`: unknown user, wrong password, forged nonce, wrong opaque and
//!   malformed headers all get a fresh `401` and count against the source. `403` is only for an
//!   authenticated user touching another AOR.
//! - **Bans**: more than [`BanConfig::max_failures`] failures (default 5) within
//!   [`BanConfig::window`] (60 s) ban the source for [`BanConfig::ban_for`] (10 min). Banned sources
//!   get **no answer** (`handle_register` returns `None`), including the request that tripped the
//!   ban. IPv6 is counted per /64; an allow-list covers call-center NATs; the table is bounded.
//!
//! # Deliberate differences from the RFCs
//! - `qop=auth` only (no `auth-int`), no `userhash`, no SHA-512/256; clients without `qop`
//!   (RFC 2069) are accepted (replay is still prevented by single-use nonces).
//! - The digest `uri` is not compared with the Request-URI (the response covers it, and the nonce
//!   cannot be reused anyway). The Request-URI domain is not checked (the server routes by domain).
//! - An out-of-order CSeq for a binding (same Call-ID, CSeq not higher) gets `500`, as OpenSIPS does.
//! - Contacts are matched by parsed URI equality, an approximation of RFC 3261 19.1.4.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod authenticator;
mod ban;
pub mod digest;
mod error;
mod nonce;
mod registrar;

pub use authenticator::{AuthConfig, AuthFailure, Authenticator, Credentials, Verdict};
pub use ban::{BanConfig, BanList, source_key};
pub use error::AuthError;
pub use nonce::{NonceConfig, NonceManager, NonceStatus};
pub use registrar::{Binding, Registrar, RegistrarConfig, RegistrarEvent, UnregisterReason};

/// An arbitrary origin for virtual time in tests; only offsets from it matter.
#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests need some Instant to start from; no test reads the clock again
pub(crate) fn t0() -> std::time::Instant {
    std::time::Instant::now()
}
