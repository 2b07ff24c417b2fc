//! HTTP Digest for SIP (RFC 7616, RFC 8760, RFC 3261 22.4): parsing `Authorization`, computing
//! HA1/HA2/response, printing `WWW-Authenticate` challenges.
//!
//! ```text
//! HA1      = H(username ":" realm ":" password)                 (stored per realm)
//! HA1-sess = H(HA1 ":" nonce ":" cnonce)                         (-sess algorithms)
//! HA2      = H(method ":" digest-uri)                            (qop=auth)
//! response = H(HA1 ":" nonce ":" nc ":" cnonce ":" qop ":" HA2)  (qop=auth)
//! response = H(HA1 ":" nonce ":" HA2)                            (no qop, RFC 2069 clients)
//! ```

use std::fmt;

use md5::Md5;
use sha2::{Digest as _, Sha256};

use crate::error::AuthError;

/// The longest `Authorization` value parsed; longer ones are refused before any work.
pub const MAX_AUTHORIZATION_LEN: usize = 4096;
/// The most `name=value` pairs parsed in one `Authorization` value.
pub const MAX_PARAMS: usize = 24;

/// A Digest algorithm (RFC 7616 3.2, RFC 8760). SHA-512/256 is not implemented.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    /// `MD5` (kept for old phones only).
    Md5,
    /// `MD5-sess`.
    Md5Sess,
    /// `SHA-256`.
    Sha256,
    /// `SHA-256-sess`.
    Sha256Sess,
}

impl Algorithm {
    /// The token on the wire (`SHA-256`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Md5 => "MD5",
            Self::Md5Sess => "MD5-sess",
            Self::Sha256 => "SHA-256",
            Self::Sha256Sess => "SHA-256-sess",
        }
    }

    /// Parses the token, ignoring ASCII case.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Md5, Self::Md5Sess, Self::Sha256, Self::Sha256Sess]
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(s))
    }

    /// A `-sess` variant (HA1 is bound to the nonce and cnonce).
    #[must_use]
    pub fn is_session(self) -> bool {
        matches!(self, Self::Md5Sess | Self::Sha256Sess)
    }

    /// The algorithm whose HA1 a `-sess` variant starts from (itself otherwise).
    #[must_use]
    pub fn base(self) -> Self {
        match self {
            Self::Md5 | Self::Md5Sess => Self::Md5,
            Self::Sha256 | Self::Sha256Sess => Self::Sha256,
        }
    }

    /// Length of a hash in lowercase hex.
    #[must_use]
    pub fn hex_len(self) -> usize {
        match self.base() {
            Self::Sha256 => 64,
            _ => 32,
        }
    }

    /// `H(data)` in lowercase hex.
    #[must_use]
    pub fn hash_hex(self, parts: &[&[u8]]) -> String {
        match self.base() {
            Self::Sha256 => {
                let mut h = Sha256::new();
                for p in parts {
                    h.update(p);
                }
                hex(&h.finalize())
            }
            _ => {
                let mut h = Md5::new();
                for p in parts {
                    h.update(p);
                }
                hex(&h.finalize())
            }
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `HA1 = H(username:realm:password)` with the base hash of `alg` (what a credential store keeps).
#[must_use]
pub fn ha1(alg: Algorithm, username: &str, realm: &str, password: &str) -> String {
    alg.hash_hex(&[
        username.as_bytes(),
        b":",
        realm.as_bytes(),
        b":",
        password.as_bytes(),
    ])
}

/// The expected `response` for `auth`, given the stored (non-session) `ha1` and the request method.
#[must_use]
pub fn compute_response(ha1: &str, method: &str, auth: &DigestAuthorization) -> String {
    let alg = auth.algorithm;
    let cnonce = auth.cnonce.as_deref().unwrap_or_default();
    let ha1 = if alg.is_session() {
        alg.hash_hex(&[
            ha1.as_bytes(),
            b":",
            auth.nonce.as_bytes(),
            b":",
            cnonce.as_bytes(),
        ])
    } else {
        ha1.to_owned()
    };
    let ha2 = alg.hash_hex(&[method.as_bytes(), b":", auth.uri.as_bytes()]);
    match auth.qop {
        Some(Qop::Auth) => alg.hash_hex(&[
            ha1.as_bytes(),
            b":",
            auth.nonce.as_bytes(),
            b":",
            auth.nc.as_deref().unwrap_or_default().as_bytes(),
            b":",
            cnonce.as_bytes(),
            b":auth:",
            ha2.as_bytes(),
        ]),
        None => alg.hash_hex(&[ha1.as_bytes(), b":", auth.nonce.as_bytes(), b":", ha2.as_bytes()]),
    }
}

/// Quality of protection. Only `auth` is offered (`auth-int` would hash the body).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Qop {
    /// `auth`.
    Auth,
}

/// A parsed `Authorization: Digest ...` value (RFC 7616 3.4). Quoted values are unescaped.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DigestAuthorization {
    /// `username`.
    pub username: String,
    /// `realm`.
    pub realm: String,
    /// `nonce`, echoed from the challenge.
    pub nonce: String,
    /// `uri` (the digest-uri the client hashed).
    pub uri: String,
    /// `response`, lowercase hex of the algorithm's length.
    pub response: String,
    /// `algorithm` (MD5 when absent, RFC 7616 3.4).
    pub algorithm: Algorithm,
    /// `qop`.
    pub qop: Option<Qop>,
    /// `nc`, exactly 8 hex digits as sent (present with `qop`).
    pub nc: Option<String>,
    /// `cnonce` (present with `qop` or a `-sess` algorithm).
    pub cnonce: Option<String>,
    /// `opaque`, echoed from the challenge.
    pub opaque: Option<String>,
}

/// Parses an `Authorization` (or `Proxy-Authorization`) header value. Lenient about case and
/// whitespace, strict about what the digest computation needs, bounded in size, never panics.
pub fn parse_authorization(value: &str) -> Result<DigestAuthorization, AuthError> {
    if value.len() > MAX_AUTHORIZATION_LEN {
        return Err(AuthError::TooLong {
            len: value.len(),
            max: MAX_AUTHORIZATION_LEN,
        });
    }
    let mut p = Cursor {
        b: value.as_bytes(),
        i: 0,
    };
    p.skip_ws();
    let scheme = p.token();
    if !scheme.eq_ignore_ascii_case(b"Digest") {
        return Err(AuthError::NotDigest);
    }
    if p.i < p.b.len() && !p.skip_ws() {
        return Err(AuthError::NotDigest);
    }

    const NAMES: [&str; 11] = [
        "username",
        "realm",
        "nonce",
        "uri",
        "response",
        "algorithm",
        "qop",
        "nc",
        "cnonce",
        "opaque",
        "userhash",
    ];
    let mut found: [Option<String>; 11] = Default::default();
    let mut count = 0usize;
    loop {
        while p.skip_ws() || p.eat(b',') {}
        if p.i >= p.b.len() {
            break;
        }
        count += 1;
        if count > MAX_PARAMS {
            return Err(AuthError::TooManyParams { max: MAX_PARAMS });
        }
        let name = p.token();
        if name.is_empty() {
            return Err(AuthError::Syntax { at: p.i });
        }
        p.skip_ws();
        if !p.eat(b'=') {
            return Err(AuthError::Syntax { at: p.i });
        }
        p.skip_ws();
        let v = p.value()?;
        p.skip_ws();
        if p.i < p.b.len() && !p.eat(b',') {
            return Err(AuthError::Syntax { at: p.i });
        }
        let slot = NAMES.iter().position(|n| n.as_bytes().eq_ignore_ascii_case(name));
        if let Some((n, slot)) = slot.and_then(|i| Some((*NAMES.get(i)?, found.get_mut(i)?))) {
            if slot.is_some() {
                return Err(AuthError::DuplicateParam(n));
            }
            *slot = Some(v);
        }
    }

    let [
        username,
        realm,
        nonce,
        uri,
        response,
        algorithm,
        qop,
        nc,
        cnonce,
        opaque,
        userhash,
    ] = found;
    if userhash.is_some_and(|u| u.eq_ignore_ascii_case("true")) {
        return Err(AuthError::UserhashUnsupported);
    }
    let algorithm = match algorithm {
        None => Algorithm::Md5,
        Some(a) => Algorithm::parse(&a).ok_or(AuthError::UnsupportedAlgorithm)?,
    };
    let qop = match qop {
        None => None,
        Some(q) if q.eq_ignore_ascii_case("auth") => Some(Qop::Auth),
        Some(_) => return Err(AuthError::UnsupportedQop),
    };
    let response = response.ok_or(AuthError::MissingParam("response"))?;
    if response.len() != algorithm.hex_len() || !response.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AuthError::BadValue("response"));
    }
    let nc = match (qop, nc) {
        (Some(_), None) => return Err(AuthError::MissingParam("nc")),
        (_, Some(n)) if n.len() != 8 || !n.bytes().all(|b| b.is_ascii_hexdigit()) => {
            return Err(AuthError::BadValue("nc"));
        }
        (_, nc) => nc,
    };
    if cnonce.is_none() && (qop.is_some() || algorithm.is_session()) {
        return Err(AuthError::MissingParam("cnonce"));
    }
    Ok(DigestAuthorization {
        username: username.ok_or(AuthError::MissingParam("username"))?,
        realm: realm.ok_or(AuthError::MissingParam("realm"))?,
        nonce: nonce.ok_or(AuthError::MissingParam("nonce"))?,
        uri: uri.ok_or(AuthError::MissingParam("uri"))?,
        response: response.to_ascii_lowercase(),
        algorithm,
        qop,
        nc,
        cnonce,
        opaque,
    })
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    /// Skips spaces, tabs and (already unfolded) line breaks; true if it skipped any.
    fn skip_ws(&mut self) -> bool {
        let start = self.i;
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.i += 1;
        }
        self.i > start
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    /// An RFC 3261 token (possibly empty).
    fn token(&mut self) -> &'a [u8] {
        let start = self.i;
        while self.peek().is_some_and(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
                )
        }) {
            self.i += 1;
        }
        self.b.get(start..self.i).unwrap_or_default()
    }

    /// A quoted-string (unescaped) or, leniently, any run of bytes up to whitespace or a comma.
    fn value(&mut self) -> Result<String, AuthError> {
        let start = self.i;
        let mut out = Vec::new();
        if self.eat(b'"') {
            loop {
                match self.peek() {
                    None => return Err(AuthError::Syntax { at: start }),
                    Some(b'"') => {
                        self.i += 1;
                        break;
                    }
                    Some(b'\\') => {
                        self.i += 1;
                        let c = self.peek().ok_or(AuthError::Syntax { at: self.i })?;
                        out.push(c);
                        self.i += 1;
                    }
                    Some(c) => {
                        out.push(c);
                        self.i += 1;
                    }
                }
            }
        } else {
            while let Some(c) = self.peek() {
                if matches!(c, b' ' | b'\t' | b'\r' | b'\n' | b',' | b'"') {
                    break;
                }
                out.push(c);
                self.i += 1;
            }
            if out.is_empty() {
                return Err(AuthError::Syntax { at: start });
            }
        }
        String::from_utf8(out).map_err(|_| AuthError::Syntax { at: start })
    }
}

/// One `WWW-Authenticate` challenge (RFC 7616 3.3). `Display` prints the header value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// `realm`.
    pub realm: String,
    /// `nonce`.
    pub nonce: String,
    /// `opaque`.
    pub opaque: String,
    /// `algorithm`.
    pub algorithm: Algorithm,
    /// `stale=true`: the previous nonce was used or expired but the credentials were right.
    pub stale: bool,
}

impl fmt::Display for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Digest realm=")?;
        write_quoted(f, &self.realm)?;
        f.write_str(", nonce=")?;
        write_quoted(f, &self.nonce)?;
        f.write_str(", opaque=")?;
        write_quoted(f, &self.opaque)?;
        write!(f, ", algorithm={}, qop=\"auth\"", self.algorithm)?;
        if self.stale {
            f.write_str(", stale=true")?;
        }
        Ok(())
    }
}

fn write_quoted(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("\"")?;
    for c in s.chars() {
        match c {
            '"' | '\\' => write!(f, "\\{c}")?,
            '\r' | '\n' => f.write_str(" ")?,
            c => write!(f, "{c}")?,
        }
    }
    f.write_str("\"")
}

/// Lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

/// Decodes lowercase or uppercase hex into exactly `N` bytes.
pub(crate) fn unhex<const N: usize>(s: &str) -> Option<[u8; N]> {
    if s.len() != N * 2 {
        return None;
    }
    let mut out = [0u8; N];
    for (o, pair) in out.iter_mut().zip(s.as_bytes().chunks_exact(2)) {
        let hi = char::from(*pair.first()?).to_digit(16)?;
        let lo = char::from(*pair.get(1)?).to_digit(16)?;
        *o = u8::try_from(hi * 16 + lo).ok()?;
    }
    Some(out)
}

/// Compares in time that depends only on the lengths (which are public: they follow the algorithm).
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7616 3.9.1 inputs.
    const NONCE: &str = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
    const CNONCE: &str = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
    const OPAQUE: &str = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS";
    const REALM: &str = "http-auth@example.org";

    fn rfc_header(alg: &str, response: &str) -> String {
        format!(
            "Digest username=\"Mufasa\", realm=\"{REALM}\", uri=\"/dir/index.html\", algorithm={alg}, \
             nonce=\"{NONCE}\", nc=00000001, cnonce=\"{CNONCE}\", qop=auth, response=\"{response}\", \
             opaque=\"{OPAQUE}\""
        )
    }

    #[test]
    fn rfc7616_md5_vector_matches() {
        let auth = parse_authorization(&rfc_header("MD5", "8ca523f5e9506fed4657c9700eebdbec")).unwrap();
        let ha1 = ha1(Algorithm::Md5, "Mufasa", REALM, "Circle of Life");
        assert_eq!(compute_response(&ha1, "GET", &auth), auth.response);
        assert_eq!(auth.response, "8ca523f5e9506fed4657c9700eebdbec");
    }

    #[test]
    fn rfc7616_sha256_vector_matches() {
        let expected = "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1";
        let auth = parse_authorization(&rfc_header("SHA-256", expected)).unwrap();
        assert_eq!(auth.algorithm, Algorithm::Sha256);
        let ha1 = ha1(Algorithm::Sha256, "Mufasa", REALM, "Circle of Life");
        assert_eq!(compute_response(&ha1, "GET", &auth), expected);
        // A different password or method does not match.
        let wrong = super::ha1(Algorithm::Sha256, "Mufasa", REALM, "Circle of life");
        assert_ne!(compute_response(&wrong, "GET", &auth), expected);
        assert_ne!(compute_response(&ha1, "POST", &auth), expected);
    }

    #[test]
    fn sess_variant_binds_ha1_to_nonce_and_cnonce() {
        let zeros = "0".repeat(64);
        let mut auth = parse_authorization(&rfc_header("SHA-256-sess", &zeros)).unwrap();
        assert!(auth.algorithm.is_session());
        let base = ha1(Algorithm::Sha256, "Mufasa", REALM, "Circle of Life");
        let sess_ha1 =
            Algorithm::Sha256.hash_hex(&[base.as_bytes(), b":", NONCE.as_bytes(), b":", CNONCE.as_bytes()]);
        let mut plain = auth.clone();
        plain.algorithm = Algorithm::Sha256;
        assert_eq!(
            compute_response(&base, "GET", &auth),
            compute_response(&sess_ha1, "GET", &plain)
        );
        auth.cnonce = Some("other".into());
        assert_ne!(
            compute_response(&base, "GET", &auth),
            compute_response(&sess_ha1, "GET", &plain)
        );
    }

    #[test]
    fn parses_leniently_case_spaces_and_escapes() {
        let a = parse_authorization(
            "  dIgEsT   UserName = \"a\\\"b\\\\c\" ,REALM=r,nonce=\"n\",, uri = \"sip:h\" , \
             response=\"0123456789ABCDEF0123456789abcdef\", x-unknown=\"ignored, really\"",
        )
        .unwrap();
        assert_eq!(a.username, "a\"b\\c");
        assert_eq!(a.realm, "r");
        assert_eq!(a.uri, "sip:h");
        assert_eq!(a.algorithm, Algorithm::Md5);
        assert_eq!(a.qop, None);
        assert_eq!(a.response, "0123456789abcdef0123456789abcdef");
    }

    #[test]
    fn rejects_with_typed_errors() {
        let ok_tail = "realm=\"r\", nonce=\"n\", uri=\"u\", response=\"0123456789abcdef0123456789abcdef\"";
        assert_eq!(parse_authorization("Basic abc"), Err(AuthError::NotDigest));
        assert_eq!(parse_authorization("Digestive x=1"), Err(AuthError::NotDigest));
        assert_eq!(
            parse_authorization(&format!("Digest username=\"a\", username=\"b\", {ok_tail}")),
            Err(AuthError::DuplicateParam("username"))
        );
        assert_eq!(
            parse_authorization(&format!("Digest {ok_tail}")),
            Err(AuthError::MissingParam("username"))
        );
        assert_eq!(
            parse_authorization(&format!(
                "Digest username=\"a\", {ok_tail}, qop=auth, nc=00000001"
            )),
            Err(AuthError::MissingParam("cnonce"))
        );
        assert_eq!(
            parse_authorization(&format!("Digest username=\"a\", {ok_tail}, qop=auth-int")),
            Err(AuthError::UnsupportedQop)
        );
        assert_eq!(
            parse_authorization(&format!(
                "Digest username=\"a\", {ok_tail}, algorithm=SHA-512-256"
            )),
            Err(AuthError::UnsupportedAlgorithm)
        );
        assert_eq!(
            parse_authorization(&format!("Digest username=\"a\", {ok_tail}, algorithm=SHA-256")),
            Err(AuthError::BadValue("response"))
        );
        assert_eq!(
            parse_authorization("Digest username=\"unterminated"),
            Err(AuthError::Syntax { at: 16 })
        );
        let long = format!("Digest username=\"{}\"", "a".repeat(MAX_AUTHORIZATION_LEN));
        assert!(matches!(
            parse_authorization(&long),
            Err(AuthError::TooLong { .. })
        ));
        let many = format!("Digest {}", "x=1,".repeat(MAX_PARAMS + 1));
        assert_eq!(
            parse_authorization(&many),
            Err(AuthError::TooManyParams { max: MAX_PARAMS })
        );
    }

    #[test]
    fn challenge_prints_rfc8760_shape_and_escapes_realm() {
        let c = Challenge {
            realm: "call \"center\"".into(),
            nonce: "abc".into(),
            opaque: "op".into(),
            algorithm: Algorithm::Sha256,
            stale: true,
        };
        assert_eq!(
            c.to_string(),
            "Digest realm=\"call \\\"center\\\"\", nonce=\"abc\", opaque=\"op\", algorithm=SHA-256, qop=\"auth\", stale=true"
        );
    }

    #[test]
    fn hex_round_trips_and_ct_eq_compares() {
        let b = [0u8, 1, 0xab, 0xff];
        assert_eq!(hex(&b), "0001abff");
        assert_eq!(unhex::<4>("0001ABff"), Some(b));
        assert_eq!(unhex::<4>("0001abf"), None);
        assert_eq!(unhex::<4>("0001abfg"), None);
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_values_never_panic(s in ".{0,300}") {
            let _ = parse_authorization(&s);
        }

        #[test]
        fn digest_like_values_never_panic(
            parts in proptest::collection::vec(
                "(username|realm|nonce|uri|response|algorithm|qop|nc|cnonce|opaque|userhash|x)[ =\"\\\\,a-f0-9]{0,12}",
                0..30,
            )
        ) {
            let s = format!("Digest {}", parts.join(","));
            let _ = parse_authorization(&s);
        }
    }
}
