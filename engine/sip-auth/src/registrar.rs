//! A registrar (RFC 3261 10.3) for agents' phones: bindings per address-of-record, expiry in
//! virtual time, and the full REGISTER answer.

use std::collections::{BTreeMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac as _};
use sha2::Sha256;
use sip_msg::{Contact, HeaderName, Method, NameAddr, Request, Response, StatusCode, Uri};

use crate::authenticator::{AuthFailure, Authenticator, Credentials, Verdict};
use crate::ban::BanList;
use crate::digest::hex;

/// Registrar settings (all in seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrarConfig {
    /// Shorter non-zero expirations get `423 Interval Too Brief` with `Min-Expires`. Default 60.
    pub min_expires: u32,
    /// Longer expirations are shortened to this. Default 3600.
    pub max_expires: u32,
    /// Used when neither the Contact nor the request says. Default 3600.
    pub default_expires: u32,
    /// Most bindings per AOR; more evict the least recently refreshed. Default 5.
    pub max_bindings_per_aor: usize,
}

impl Default for RegistrarConfig {
    fn default() -> Self {
        Self {
            min_expires: 60,
            max_expires: 3600,
            default_expires: 3600,
            max_bindings_per_aor: 5,
        }
    }
}

/// Why a binding went away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnregisterReason {
    /// Not refreshed in time.
    Expired,
    /// Removed by the phone (`Expires: 0`, `;expires=0` or `Contact: *`).
    Removed,
    /// Pushed out by a newer binding (over `max_bindings_per_aor`).
    Evicted,
}

/// What the server should know about (presence of agents, security log).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RegistrarEvent {
    /// A binding was added or refreshed for `expires` seconds.
    Registered {
        /// The AOR (the agent's username).
        aor: String,
        /// The contact URI.
        contact: Uri,
        /// Granted seconds.
        expires: u32,
    },
    /// A binding went away.
    Unregistered {
        /// The AOR.
        aor: String,
        /// The contact URI.
        contact: Uri,
        /// Why.
        reason: UnregisterReason,
    },
    /// A request carried credentials that were refused (one line per event for fail2ban).
    AuthFailed {
        /// Source address.
        source: IpAddr,
        /// The username claimed, if the header parsed that far.
        username: Option<String>,
        /// Why.
        failure: AuthFailure,
    },
    /// An authenticated user tried to change another AOR's bindings (answered `403`).
    Forbidden {
        /// Source address.
        source: IpAddr,
        /// The authenticated user.
        user: String,
        /// The AOR in `To`.
        aor: String,
    },
    /// A source was banned until `until`.
    SourceBanned {
        /// Source address.
        source: IpAddr,
        /// End of the ban.
        until: Instant,
    },
}

/// One registered contact.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Binding {
    /// The Contact as sent (display name, URI, parameters such as `+sip.instance`), without `expires`.
    pub contact: NameAddr,
    /// When it expires.
    pub expires_at: Instant,
    /// Where the REGISTER came from (the server sends requests there when behind NAT).
    pub source: SocketAddr,
    /// Call-ID of the REGISTER that created or last refreshed it.
    pub call_id: String,
    /// Its CSeq.
    pub cseq: u32,
    id: u64,
    updated_at: Instant,
}

/// Bindings per AOR. Drain contract: after every `handle_*`, drain [`Registrar::poll_event`] and
/// re-arm the timer with [`Registrar::poll_timeout`].
#[derive(Debug)]
pub struct Registrar {
    config: RegistrarConfig,
    tag_key: [u8; 32],
    bindings: BTreeMap<String, Vec<Binding>>,
    /// (expiry, binding id) → AOR.
    expiry: BTreeMap<(Instant, u64), String>,
    next_id: u64,
    events: VecDeque<RegistrarEvent>,
}

/// Status of a REGISTER that failed before any change.
struct Reject(StatusCode);

impl Registrar {
    /// An empty registrar; `tag_key` keys the To-tags it adds (32 random bytes).
    #[must_use]
    pub fn new(config: RegistrarConfig, tag_key: [u8; 32]) -> Self {
        Self {
            config,
            tag_key,
            bindings: BTreeMap::new(),
            expiry: BTreeMap::new(),
            next_id: 0,
            events: VecDeque::new(),
        }
    }

    /// Handles a REGISTER from `source` and returns the response to send, or `None` to send nothing
    /// (the source is banned, or this request's failure just banned it).
    ///
    /// Order (RFC 3261 10.3): ban check → `To` must be a SIP URI with a user (`400`) → digest
    /// authentication (`401` with one challenge per algorithm, identical for unknown users and wrong
    /// passwords) → the authenticated user must be the AOR (`403`) → Contact/Expires checks (`400`,
    /// `423` + `Min-Expires`, `500` for an out-of-order CSeq) → apply → `200` with every current
    /// binding and its remaining `expires`.
    pub fn handle_register(
        &mut self,
        now: Instant,
        req: &Request,
        source: SocketAddr,
        auth: &mut Authenticator,
        bans: &mut BanList,
        credentials: &dyn Fn(&str) -> Option<Credentials>,
    ) -> Option<Response> {
        let ip = source.ip();
        if bans.is_banned(now, ip) {
            return None;
        }
        if req.method != Method::Register {
            let mut r = self.response(req, StatusCode::METHOD_NOT_ALLOWED);
            r.headers.push(HeaderName::Allow, "REGISTER");
            return Some(r);
        }
        let Some(aor) = req.headers.to().ok().and_then(|to| match to.uri {
            Uri::Sip(u) => u.user,
            _ => None,
        }) else {
            return Some(self.response(req, StatusCode::BAD_REQUEST));
        };

        let user = match auth.verify(now, req, credentials) {
            Verdict::Authorized { user } => user,
            Verdict::Challenge { stale, failure } => {
                if let Some(failure) = failure {
                    let username = req
                        .headers
                        .get(&HeaderName::Authorization)
                        .and_then(|v| crate::digest::parse_authorization(v).ok())
                        .map(|a| a.username);
                    self.events.push_back(RegistrarEvent::AuthFailed {
                        source: ip,
                        username,
                        failure,
                    });
                    if let Some(until) = bans.record_failure(now, ip) {
                        self.events
                            .push_back(RegistrarEvent::SourceBanned { source: ip, until });
                        return None;
                    }
                }
                let mut r = self.response(req, StatusCode::UNAUTHORIZED);
                for c in auth.challenge(now, stale) {
                    r.headers.push(HeaderName::WwwAuthenticate, c);
                }
                return Some(r);
            }
        };
        if user != aor {
            self.events.push_back(RegistrarEvent::Forbidden {
                source: ip,
                user,
                aor,
            });
            return Some(self.response(req, StatusCode::FORBIDDEN));
        }

        match self.apply(now, req, source, &aor) {
            Ok(()) => {
                let mut r = self.response(req, StatusCode::OK);
                for b in self.bindings.get(&aor).into_iter().flatten() {
                    let left = b.expires_at.saturating_duration_since(now);
                    let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
                    r.headers
                        .push(HeaderName::Contact, format!("{};expires={secs}", b.contact));
                }
                Some(r)
            }
            Err(Reject(status)) => {
                let mut r = self.response(req, status);
                if status == StatusCode::INTERVAL_TOO_BRIEF {
                    r.headers
                        .push(HeaderName::MinExpires, self.config.min_expires.to_string());
                }
                Some(r)
            }
        }
    }

    /// Validates the whole request first, then changes the bindings of `aor`.
    fn apply(&mut self, now: Instant, req: &Request, source: SocketAddr, aor: &str) -> Result<(), Reject> {
        let bad = || Reject(StatusCode::BAD_REQUEST);
        let contacts = req.headers.contacts().map_err(|_| bad())?;
        let header_expires = req.headers.expires().map_err(|_| bad())?;
        let call_id = req.headers.call_id().map_err(|_| bad())?.to_owned();
        let cseq = req.headers.cseq().map_err(|_| bad())?.seq;

        if contacts.contains(&Contact::Star) {
            if contacts.len() != 1 || header_expires != Some(0) {
                return Err(bad());
            }
            for b in self.bindings.remove(aor).unwrap_or_default() {
                self.expiry.remove(&(b.expires_at, b.id));
                self.events.push_back(RegistrarEvent::Unregistered {
                    aor: aor.to_owned(),
                    contact: b.contact.uri,
                    reason: UnregisterReason::Removed,
                });
            }
            return Ok(());
        }

        let mut plan: Vec<(NameAddr, u32)> = Vec::with_capacity(contacts.len());
        for c in contacts {
            let Contact::Addr(mut na) = c else {
                return Err(bad());
            };
            let secs = match na.param("expires") {
                None => header_expires.unwrap_or(self.config.default_expires),
                Some(Some(v)) if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) => {
                    v.parse::<u32>().unwrap_or(u32::MAX)
                }
                Some(_) => return Err(bad()),
            };
            if secs != 0 && secs < self.config.min_expires {
                return Err(Reject(StatusCode::INTERVAL_TOO_BRIEF));
            }
            na.params.retain(|p| !p.name.eq_ignore_ascii_case("expires"));
            let existing = self
                .bindings
                .get(aor)
                .into_iter()
                .flatten()
                .find(|b| b.contact.uri == na.uri);
            if existing.is_some_and(|b| b.call_id == call_id && cseq <= b.cseq) {
                return Err(Reject(StatusCode::SERVER_INTERNAL_ERROR));
            }
            plan.push((na, secs.min(self.config.max_expires)));
        }

        for (contact, secs) in plan {
            let list = self.bindings.entry(aor.to_owned()).or_default();
            let pos = list.iter().position(|b| b.contact.uri == contact.uri);
            if secs == 0 {
                if let Some(b) = pos.map(|i| list.remove(i)) {
                    self.expiry.remove(&(b.expires_at, b.id));
                    self.events.push_back(RegistrarEvent::Unregistered {
                        aor: aor.to_owned(),
                        contact: b.contact.uri,
                        reason: UnregisterReason::Removed,
                    });
                }
                continue;
            }
            let expires_at = now + Duration::from_secs(u64::from(secs));
            let b = match pos.and_then(|i| list.get_mut(i)) {
                Some(b) => {
                    self.expiry.remove(&(b.expires_at, b.id));
                    b
                }
                None => {
                    self.next_id += 1;
                    list.push(Binding {
                        contact: contact.clone(),
                        expires_at,
                        source,
                        call_id: call_id.clone(),
                        cseq,
                        id: self.next_id,
                        updated_at: now,
                    });
                    let Some(b) = list.last_mut() else { continue };
                    b
                }
            };
            b.contact = contact;
            b.expires_at = expires_at;
            b.source = source;
            b.call_id.clone_from(&call_id);
            b.cseq = cseq;
            b.updated_at = now;
            self.expiry.insert((expires_at, b.id), aor.to_owned());
            self.events.push_back(RegistrarEvent::Registered {
                aor: aor.to_owned(),
                contact: b.contact.uri.clone(),
                expires: secs,
            });
        }

        if let Some(list) = self.bindings.get_mut(aor) {
            while list.len() > self.config.max_bindings_per_aor {
                let Some(i) = list
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, b)| (b.updated_at, b.id))
                    .map(|(i, _)| i)
                else {
                    break;
                };
                let b = list.remove(i);
                self.expiry.remove(&(b.expires_at, b.id));
                self.events.push_back(RegistrarEvent::Unregistered {
                    aor: aor.to_owned(),
                    contact: b.contact.uri,
                    reason: UnregisterReason::Evicted,
                });
            }
            if list.is_empty() {
                self.bindings.remove(aor);
            }
        }
        Ok(())
    }

    /// A response to `req` with a To-tag derived from its Call-ID and From-tag (stable across
    /// retransmissions, no RNG needed, and the same for every user).
    fn response(&self, req: &Request, status: StatusCode) -> Response {
        let mut r = Response::from_request(req, status);
        if let Some(to) = req.headers.get(&HeaderName::To)
            && req.headers.to().is_ok_and(|t| t.tag().is_none())
        {
            #[allow(clippy::expect_used)] // reason: HMAC accepts any key length, this cannot fail
            let mut m = Hmac::<Sha256>::new_from_slice(&self.tag_key).expect("HMAC takes any key length");
            m.update(
                req.headers
                    .get(&HeaderName::CallId)
                    .unwrap_or_default()
                    .as_bytes(),
            );
            m.update(b"\0");
            m.update(
                req.headers
                    .from()
                    .ok()
                    .and_then(|f| f.tag().map(str::to_owned))
                    .unwrap_or_default()
                    .as_bytes(),
            );
            let tag = hex(&m.finalize().into_bytes()[..8]);
            r.headers.set(HeaderName::To, format!("{to};tag={tag}"));
        }
        r
    }

    /// Expires every binding due at or before `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(entry) = self.expiry.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let ((_, id), aor) = entry.remove_entry();
            let Some(list) = self.bindings.get_mut(&aor) else {
                continue;
            };
            if let Some(i) = list.iter().position(|b| b.id == id) {
                let b = list.remove(i);
                self.events.push_back(RegistrarEvent::Unregistered {
                    aor: aor.clone(),
                    contact: b.contact.uri,
                    reason: UnregisterReason::Expired,
                });
            }
            if list.is_empty() {
                self.bindings.remove(&aor);
            }
        }
    }

    /// The next binding expiry.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.expiry.keys().next().map(|(t, _)| *t)
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<RegistrarEvent> {
        self.events.pop_front()
    }

    /// The current bindings of `aor` (where to send calls for that agent).
    pub fn bindings(&self, aor: &str) -> impl Iterator<Item = &Binding> {
        self.bindings.get(aor).into_iter().flatten()
    }

    /// The AORs with at least one binding, in order.
    pub fn aors(&self) -> impl Iterator<Item = &str> {
        self.bindings.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use sip_msg::{Limits, Message, parse_datagram};

    use super::*;
    use crate::authenticator::tests::{REALM, answer};
    use crate::{AuthConfig, BanConfig};

    const PHONE: &str = "192.0.2.10:5060";

    struct Env {
        t0: Instant,
        reg: Registrar,
        auth: Authenticator,
        bans: BanList,
    }

    fn env() -> Env {
        let t0 = crate::t0();
        Env {
            t0,
            reg: Registrar::new(RegistrarConfig::default(), [3; 32]),
            auth: Authenticator::new(AuthConfig::new(REALM), [9; 32], t0),
            bans: BanList::new(BanConfig::default()),
        }
    }

    fn store(user: &str) -> Option<Credentials> {
        match user {
            "1001" | "1002" => Some(Credentials::Password(format!("pw-{user}"))),
            _ => None,
        }
    }

    fn at(e: &Env, secs: u64) -> Instant {
        e.t0 + Duration::from_secs(secs)
    }

    /// A REGISTER for `aor` with extra header lines.
    fn register(aor: &str, cseq: u32, extra: &str) -> Request {
        let wire = format!(
            "REGISTER sip:{REALM} SIP/2.0\r\nVia: SIP/2.0/UDP {PHONE};branch=z9hG4bK-{cseq}\r\n\
             From: <sip:{aor}@{REALM}>;tag=f1\r\nTo: <sip:{aor}@{REALM}>\r\nCall-ID: call-1\r\n\
             CSeq: {cseq} REGISTER\r\n{extra}Content-Length: 0\r\n\r\n"
        );
        match parse_datagram(wire.as_bytes(), &Limits::default()).unwrap() {
            Message::Request(r) => r,
            Message::Response(_) => unreachable!(),
        }
    }

    impl Env {
        fn send(&mut self, now: Instant, req: &Request, from: &str) -> Option<Response> {
            let source: SocketAddr = from.parse().unwrap();
            self.reg
                .handle_register(now, req, source, &mut self.auth, &mut self.bans, &store)
        }

        /// Answers a fresh challenge as `user` with `password` and sends the REGISTER.
        fn send_authed(
            &mut self,
            now: Instant,
            aor: &str,
            cseq: u32,
            extra: &str,
            user: &str,
            password: &str,
        ) -> Option<Response> {
            let c = self.auth.challenge(now, false);
            let a = answer(&c[0], user, password, "REGISTER", &format!("sip:{REALM}"));
            let req = register(aor, cseq, &format!("{extra}Authorization: {a}\r\n"));
            self.send(now, &req, PHONE)
        }

        fn events(&mut self) -> Vec<RegistrarEvent> {
            std::iter::from_fn(|| self.reg.poll_event()).collect()
        }
    }

    fn contacts(r: &Response) -> Vec<&str> {
        r.headers.get_all(&HeaderName::Contact).collect()
    }

    fn uri(s: &str) -> Uri {
        s.parse().unwrap()
    }

    #[test]
    fn full_register_flow_refresh_expiry_and_removal() {
        let mut e = env();
        let t0 = e.t0;
        let contact = "Contact: <sip:1001@192.0.2.10:5060>\r\n";

        // 1. No credentials: 401 with SHA-256 then MD5, and a To-tag.
        let r = e.send(t0, &register("1001", 1, contact), PHONE).unwrap();
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        let challenges: Vec<&str> = r.headers.get_all(&HeaderName::WwwAuthenticate).collect();
        assert_eq!(challenges.len(), 2);
        assert!(challenges[0].contains("algorithm=SHA-256") && challenges[1].contains("algorithm=MD5"));
        assert!(r.headers.to().unwrap().tag().is_some());
        assert!(
            e.events().is_empty(),
            "a first REGISTER without credentials is not a failure"
        );

        // 2. Answer the challenge of that 401: 200 with the binding and the default expiry.
        let a = answer(
            challenges[0],
            "1001",
            "pw-1001",
            "REGISTER",
            &format!("sip:{REALM}"),
        );
        let req = register("1001", 2, &format!("{contact}Authorization: {a}\r\n"));
        let r = e.send(t0, &req, PHONE).unwrap();
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(contacts(&r), ["<sip:1001@192.0.2.10:5060>;expires=3600"]);
        assert_eq!(
            e.events(),
            [RegistrarEvent::Registered {
                aor: "1001".into(),
                contact: uri("sip:1001@192.0.2.10:5060"),
                expires: 3600
            }]
        );
        assert_eq!(e.reg.poll_timeout(), Some(at(&e, 3600)));
        assert_eq!(e.reg.bindings("1001").count(), 1);

        // 3. Refresh at +1800 for 120 s (Expires header).
        let r = e
            .send_authed(
                at(&e, 1800),
                "1001",
                3,
                &format!("{contact}Expires: 120\r\n"),
                "1001",
                "pw-1001",
            )
            .unwrap();
        assert_eq!(contacts(&r), ["<sip:1001@192.0.2.10:5060>;expires=120"]);
        assert_eq!(e.reg.poll_timeout(), Some(at(&e, 1920)));
        e.events();

        // 4. Expiry fires at exactly +1920, not a millisecond before.
        e.reg.handle_timeout(at(&e, 1920) - Duration::from_millis(1));
        assert!(e.events().is_empty());
        e.reg.handle_timeout(at(&e, 1920));
        assert_eq!(
            e.events(),
            [RegistrarEvent::Unregistered {
                aor: "1001".into(),
                contact: uri("sip:1001@192.0.2.10:5060"),
                reason: UnregisterReason::Expired
            }]
        );
        assert_eq!(e.reg.poll_timeout(), None);
        assert_eq!(e.reg.aors().count(), 0);

        // 5. Register again, then remove with Expires: 0.
        e.send_authed(at(&e, 2000), "1001", 4, contact, "1001", "pw-1001")
            .unwrap();
        let r = e
            .send_authed(
                at(&e, 2001),
                "1001",
                5,
                &format!("{contact}Expires: 0\r\n"),
                "1001",
                "pw-1001",
            )
            .unwrap();
        assert_eq!(r.status, StatusCode::OK);
        assert!(contacts(&r).is_empty());
        let ev = e.events();
        assert!(matches!(
            ev.last(),
            Some(RegistrarEvent::Unregistered {
                reason: UnregisterReason::Removed,
                ..
            })
        ));
        assert_eq!(e.reg.poll_timeout(), None);
    }

    #[test]
    fn star_with_expires_zero_removes_all_and_otherwise_is_400() {
        let mut e = env();
        let t = e.t0;
        let two = "Contact: <sip:1001@192.0.2.10:5060>;expires=300, <sip:1001@192.0.2.11:5060>\r\n";
        let r = e.send_authed(t, "1001", 1, two, "1001", "pw-1001").unwrap();
        assert_eq!(
            contacts(&r),
            [
                "<sip:1001@192.0.2.10:5060>;expires=300",
                "<sip:1001@192.0.2.11:5060>;expires=3600"
            ]
        );
        let r = e
            .send_authed(t, "1001", 2, "Contact: *\r\n", "1001", "pw-1001")
            .unwrap();
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert_eq!(e.reg.bindings("1001").count(), 2);
        let r = e
            .send_authed(t, "1001", 3, "Contact: *\r\nExpires: 0\r\n", "1001", "pw-1001")
            .unwrap();
        assert_eq!(r.status, StatusCode::OK);
        assert!(contacts(&r).is_empty());
        assert_eq!(e.reg.bindings("1001").count(), 0);
        assert_eq!(e.reg.poll_timeout(), None);
    }

    #[test]
    fn too_brief_is_423_with_min_expires_and_too_long_is_clamped() {
        let mut e = env();
        let t = e.t0;
        let r = e
            .send_authed(
                t,
                "1001",
                1,
                "Contact: <sip:1001@h>;expires=59\r\n",
                "1001",
                "pw-1001",
            )
            .unwrap();
        assert_eq!(r.status, StatusCode::INTERVAL_TOO_BRIEF);
        assert_eq!(r.headers.get(&HeaderName::MinExpires), Some("60"));
        assert_eq!(e.reg.bindings("1001").count(), 0);
        let r = e
            .send_authed(
                t,
                "1001",
                2,
                "Contact: <sip:1001@h>\r\nExpires: 86400\r\n",
                "1001",
                "pw-1001",
            )
            .unwrap();
        assert_eq!(contacts(&r), ["<sip:1001@h>;expires=3600"]);
        let r = e
            .send_authed(
                t,
                "1001",
                3,
                "Contact: <sip:1001@h>;expires=soon\r\n",
                "1001",
                "pw-1001",
            )
            .unwrap();
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        // Same Call-ID, older CSeq: refused without change.
        let r = e
            .send_authed(t, "1001", 2, "Contact: <sip:1001@h>\r\n", "1001", "pw-1001")
            .unwrap();
        assert_eq!(r.status, StatusCode::SERVER_INTERNAL_ERROR);
    }

    #[test]
    fn unknown_user_and_wrong_password_get_byte_identical_answers() {
        let mut e = env();
        let t = e.t0;
        let contact = "Contact: <sip:x@192.0.2.10>\r\n";
        let known = e.send_authed(t, "1001", 1, contact, "1001", "wrong").unwrap();
        let unknown = e.send_authed(t, "7777", 1, contact, "7777", "wrong").unwrap();
        let mask = |r: &Response, user: &str| {
            let mut text = String::from_utf8(r.to_bytes().to_vec())
                .unwrap()
                .replace(user, "USER");
            for c in r.headers.get_all(&HeaderName::WwwAuthenticate) {
                let n = c.find("nonce=\"").unwrap() + 7;
                text = text.replace(&c[n..n + 64], "NONCE");
            }
            text
        };
        assert_eq!(known.status, StatusCode::UNAUTHORIZED);
        assert_eq!(mask(&known, "1001"), mask(&unknown, "7777"));
        // Both are counted as failures, told apart only in the security log.
        let ev = e.events();
        assert!(matches!(
            &ev[0],
            RegistrarEvent::AuthFailed {
                failure: AuthFailure::WrongResponse,
                ..
            }
        ));
        assert!(matches!(
            &ev[1],
            RegistrarEvent::AuthFailed {
                failure: AuthFailure::UnknownUser,
                ..
            }
        ));
        // Without credentials the two answers are identical too.
        let a = e.send(t, &register("1001", 9, contact), PHONE).unwrap();
        let b = e.send(t, &register("7777", 9, contact), PHONE).unwrap();
        assert_eq!(mask(&a, "1001"), mask(&b, "7777"));
    }

    #[test]
    fn reused_and_expired_nonces_get_401_stale() {
        let mut e = env();
        let t = e.t0;
        let c = e.auth.challenge(t, false);
        let a = answer(&c[1], "1001", "pw-1001", "REGISTER", &format!("sip:{REALM}"));
        let req = register(
            "1001",
            1,
            &format!("Contact: <sip:1001@h>\r\nAuthorization: {a}\r\n"),
        );
        assert_eq!(e.send(t, &req, PHONE).unwrap().status, StatusCode::OK);
        let req2 = register(
            "1001",
            2,
            &format!("Contact: <sip:1001@h>\r\nAuthorization: {a}\r\n"),
        );
        let r = e.send(t, &req2, PHONE).unwrap();
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert!(
            r.headers
                .get_all(&HeaderName::WwwAuthenticate)
                .all(|c| c.ends_with("stale=true"))
        );

        let c = e.auth.challenge(t, false);
        let a = answer(&c[0], "1001", "pw-1001", "REGISTER", &format!("sip:{REALM}"));
        let req = register(
            "1001",
            3,
            &format!("Contact: <sip:1001@h>\r\nAuthorization: {a}\r\n"),
        );
        let r = e.send(at(&e, 61), &req, PHONE).unwrap();
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert!(
            r.headers
                .get(&HeaderName::WwwAuthenticate)
                .unwrap()
                .ends_with("stale=true")
        );
        assert!(
            !e.events()
                .iter()
                .any(|ev| matches!(ev, RegistrarEvent::AuthFailed { .. })),
            "a stale nonce with the right password is not a failure"
        );
    }

    #[test]
    fn repeated_failures_ban_the_source_silently_until_the_ban_ends() {
        let mut e = env();
        let contact = "Contact: <sip:1001@h>\r\n";
        for i in 0..5 {
            let r = e
                .send_authed(at(&e, i), "1001", 1, contact, "1001", "guess")
                .unwrap();
            assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        }
        // Failure number 6 (limit + 1) bans: no answer, and none for the right password either.
        assert!(
            e.send_authed(at(&e, 5), "1001", 1, contact, "1001", "guess")
                .is_none()
        );
        assert!(
            e.events()
                .iter()
                .any(|ev| matches!(ev, RegistrarEvent::SourceBanned { .. }))
        );
        assert!(
            e.send_authed(at(&e, 6), "1001", 2, contact, "1001", "pw-1001")
                .is_none()
        );
        assert!(e.send(at(&e, 7), &register("1001", 3, contact), PHONE).is_none());
        // Another source is not affected.
        let c = e.auth.challenge(at(&e, 7), false);
        let a = answer(&c[0], "1001", "pw-1001", "REGISTER", &format!("sip:{REALM}"));
        let req = register("1001", 4, &format!("{contact}Authorization: {a}\r\n"));
        assert_eq!(
            e.send(at(&e, 7), &req, "192.0.2.99:5060").unwrap().status,
            StatusCode::OK
        );
        // The ban (600 s from +5) ends at +605.
        assert!(
            e.send_authed(at(&e, 604), "1001", 5, contact, "1001", "pw-1001")
                .is_none()
        );
        let r = e
            .send_authed(at(&e, 605), "1001", 6, contact, "1001", "pw-1001")
            .unwrap();
        assert_eq!(r.status, StatusCode::OK);
    }

    #[test]
    fn a_user_cannot_register_someone_elses_aor() {
        let mut e = env();
        let r = e
            .send_authed(e.t0, "1002", 1, "Contact: <sip:evil@h>\r\n", "1001", "pw-1001")
            .unwrap();
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert_eq!(e.reg.bindings("1002").count(), 0);
        assert!(matches!(
            e.events().as_slice(),
            [RegistrarEvent::Forbidden { .. }]
        ));
    }

    #[test]
    fn bindings_per_aor_are_capped_by_evicting_the_least_recently_refreshed() {
        let mut e = env();
        for i in 0..6u32 {
            let contact = format!("Contact: <sip:1001@192.0.2.{i}>\r\n");
            let r = e
                .send_authed(at(&e, u64::from(i)), "1001", i + 1, &contact, "1001", "pw-1001")
                .unwrap();
            assert_eq!(r.status, StatusCode::OK);
        }
        assert_eq!(e.reg.bindings("1001").count(), 5);
        assert!(
            e.reg
                .bindings("1001")
                .all(|b| b.contact.uri != uri("sip:1001@192.0.2.0"))
        );
        assert!(e.events().contains(&RegistrarEvent::Unregistered {
            aor: "1001".into(),
            contact: uri("sip:1001@192.0.2.0"),
            reason: UnregisterReason::Evicted
        }));
        // The evicted binding's timer is gone too: the next expiry is the second one's.
        assert_eq!(e.reg.poll_timeout(), Some(at(&e, 3601)));
    }

    #[test]
    fn non_sip_to_is_400_and_a_query_lists_bindings() {
        let mut e = env();
        let wire = format!(
            "REGISTER sip:{REALM} SIP/2.0\r\nVia: SIP/2.0/UDP {PHONE};branch=z9hG4bK-x\r\n\
             From: <sip:1001@{REALM}>;tag=f1\r\nTo: <mailto:1001@example.com>\r\nCall-ID: c\r\n\
             CSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n"
        );
        let Message::Request(req) = parse_datagram(wire.as_bytes(), &Limits::default()).unwrap() else {
            unreachable!()
        };
        assert_eq!(e.send(e.t0, &req, PHONE).unwrap().status, StatusCode::BAD_REQUEST);
        e.send_authed(e.t0, "1001", 1, "Contact: <sip:1001@h>\r\n", "1001", "pw-1001")
            .unwrap();
        let r = e
            .send_authed(at(&e, 10), "1001", 2, "", "1001", "pw-1001")
            .unwrap();
        assert_eq!(contacts(&r), ["<sip:1001@h>;expires=3590"]);
    }
}
