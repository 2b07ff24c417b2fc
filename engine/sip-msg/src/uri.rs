//! URIs: `sip:`/`sips:` (RFC 3261 19.1), `tel:` (RFC 3966) and any other scheme kept opaque.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use crate::error::ParseError;
use crate::limits::Limits;
use crate::syntax::{
    is_hnv_char, is_param_char, is_password_char, is_user_char, percent_decode, percent_encode,
};

/// A host: domain name, IPv4 or IPv6 address. `Display` prints IPv6 in brackets.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    /// A domain name, as received (case is kept; compare with `eq_ignore_ascii_case`).
    Domain(String),
    /// An IPv4 address.
    V4(Ipv4Addr),
    /// An IPv6 address (written `[..]` in URIs and Via).
    V6(Ipv6Addr),
}

impl Host {
    /// Parses a host as it appears in a URI or Via sent-by: `example.com`, `192.0.2.1` or `[2001:db8::1]`.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        if let Some(inner) = s.strip_prefix('[') {
            let inner = inner.strip_suffix(']').ok_or(ParseError::BadHost)?;
            return inner
                .parse::<Ipv6Addr>()
                .map(Self::V6)
                .map_err(|_| ParseError::BadHost);
        }
        if s.is_empty() {
            return Err(ParseError::BadHost);
        }
        if s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            return s
                .parse::<Ipv4Addr>()
                .map(Self::V4)
                .map_err(|_| ParseError::BadHost);
        }
        let ok = s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
            && !s.starts_with('.')
            && !s.starts_with('-')
            && !s.contains("..");
        if ok {
            Ok(Self::Domain(s.to_owned()))
        } else {
            Err(ParseError::BadHost)
        }
    }

    /// Parses a host that may be an unbracketed IPv6 address (Via `received=`, RFC 5118 section 4.5).
    pub fn parse_lenient(s: &str) -> Result<Self, ParseError> {
        if !s.starts_with('[') && s.contains(':') {
            return s
                .parse::<Ipv6Addr>()
                .map(Self::V6)
                .map_err(|_| ParseError::BadHost);
        }
        Self::parse(s)
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Domain(d) => f.write_str(d),
            Self::V4(a) => write!(f, "{a}"),
            Self::V6(a) => write!(f, "[{a}]"),
        }
    }
}

/// A `name[=value]` parameter.
///
/// In URIs, name and value are percent-decoded (and re-escaped when printed). In header values (Via,
/// From, To, Contact...), the value is kept as received: a quoted-string value keeps its quotes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Param {
    /// Parameter name (compare case-insensitively).
    pub name: String,
    /// Value, or `None` for a flag parameter such as `;lr`.
    pub value: Option<String>,
}

impl Param {
    /// A parameter with a value.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: Some(value.into()),
        }
    }

    /// A flag parameter without value (`;lr`).
    pub fn flag(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: None,
        }
    }
}

/// Finds a parameter by case-insensitive name: `None` if absent, `Some(None)` for a flag.
pub(crate) fn find_param<'a>(params: &'a [Param], name: &str) -> Option<Option<&'a str>> {
    params
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case(name))
        .map(|p| p.value.as_deref())
}

/// A `sip:` or `sips:` URI. User, password, parameters and headers are percent-decoded.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SipUri {
    /// `sips:` rather than `sip:`.
    pub secure: bool,
    /// User part, percent-decoded.
    pub user: Option<String>,
    /// Password, percent-decoded (deprecated by RFC 3261 but parsed).
    pub password: Option<String>,
    /// Host.
    pub host: Host,
    /// Port, if given.
    pub port: Option<u16>,
    /// URI parameters (`;transport=tcp;lr`), percent-decoded.
    pub params: Vec<Param>,
    /// URI headers (`?Subject=x&Priority=urgent`), percent-decoded.
    pub headers: Vec<(String, String)>,
}

impl SipUri {
    /// A plain `sip:` URI for a host, without user, port or parameters.
    pub fn new(host: Host) -> Self {
        Self {
            secure: false,
            user: None,
            password: None,
            host,
            port: None,
            params: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// Looks up a URI parameter by case-insensitive name: `None` if absent, `Some(None)` for a flag.
    #[must_use]
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        find_param(&self.params, name)
    }

    /// The `transport` parameter value, if any.
    #[must_use]
    pub fn transport(&self) -> Option<&str> {
        self.param("transport").flatten()
    }

    fn parse_after_scheme(secure: bool, s: &str, limits: &Limits) -> Result<Self, ParseError> {
        let (user, password, rest) = match s.find('@') {
            Some(at) => {
                let userinfo = s.get(..at).unwrap_or_default();
                let rest = s.get(at + 1..).unwrap_or_default();
                let (u, p) = match userinfo.find(':') {
                    Some(c) => (
                        userinfo.get(..c).unwrap_or_default(),
                        Some(percent_decode(
                            userinfo.get(c + 1..).unwrap_or_default(),
                            is_password_char,
                        )?),
                    ),
                    None => (userinfo, None),
                };
                if u.is_empty() {
                    return Err(ParseError::BadUri);
                }
                (Some(percent_decode(u, is_user_char)?), p, rest)
            }
            None => (None, None, s),
        };
        let (hostport, after) = match rest.find([';', '?']) {
            Some(i) => (
                rest.get(..i).unwrap_or_default(),
                rest.get(i..).unwrap_or_default(),
            ),
            None => (rest, ""),
        };
        let (host, port) = parse_hostport(hostport)?;
        let (params_str, headers_str) = match after.find('?') {
            Some(i) => (
                after.get(..i).unwrap_or_default(),
                Some(after.get(i + 1..).unwrap_or_default()),
            ),
            None => (after, None),
        };
        let params = parse_uri_params(params_str, limits)?;
        let mut headers = Vec::new();
        if let Some(hs) = headers_str {
            for h in hs.split('&') {
                if headers.len() >= limits.max_params {
                    return Err(ParseError::TooManyParams);
                }
                let (n, v) = h.split_once('=').ok_or(ParseError::BadUri)?;
                if n.is_empty() {
                    return Err(ParseError::BadUri);
                }
                headers.push((percent_decode(n, is_hnv_char)?, percent_decode(v, is_hnv_char)?));
            }
        }
        Ok(Self {
            secure,
            user,
            password,
            host,
            port,
            params,
            headers,
        })
    }
}

/// Parses `host[:port]` where host may be `[IPv6]`.
pub(crate) fn parse_hostport(s: &str) -> Result<(Host, Option<u16>), ParseError> {
    let (host, port) = if s.starts_with('[') {
        let end = s.find(']').ok_or(ParseError::BadHost)?;
        let host = s.get(..=end).unwrap_or_default();
        let rest = s.get(end + 1..).unwrap_or_default();
        if rest.is_empty() {
            (host, None)
        } else {
            (host, Some(rest.strip_prefix(':').ok_or(ParseError::BadHost)?))
        }
    } else {
        match s.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    let host = Host::parse(host)?;
    let port = match port {
        Some(p) => Some(parse_port(p)?),
        None => None,
    };
    Ok((host, port))
}

pub(crate) fn parse_port(p: &str) -> Result<u16, ParseError> {
    if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::BadPort);
    }
    p.parse::<u16>().map_err(|_| ParseError::BadPort)
}

/// Parses `;a=b;c` URI parameters (the leading `;` included).
fn parse_uri_params(s: &str, limits: &Limits) -> Result<Vec<Param>, ParseError> {
    let mut params = Vec::new();
    if s.is_empty() {
        return Ok(params);
    }
    let s = s.strip_prefix(';').ok_or(ParseError::BadUri)?;
    for p in s.split(';') {
        if params.len() >= limits.max_params {
            return Err(ParseError::TooManyParams);
        }
        let (n, v) = match p.split_once('=') {
            Some((n, v)) => (n, Some(percent_decode(v, is_param_char)?)),
            None => (p, None),
        };
        if n.is_empty() {
            return Err(ParseError::BadUri);
        }
        params.push(Param {
            name: percent_decode(n, is_param_char)?,
            value: v,
        });
    }
    Ok(params)
}

fn write_uri_params(f: &mut fmt::Formatter<'_>, params: &[Param]) -> fmt::Result {
    for p in params {
        f.write_str(";")?;
        percent_encode(f, &p.name, is_param_char)?;
        if let Some(v) = &p.value {
            f.write_str("=")?;
            percent_encode(f, v, is_param_char)?;
        }
    }
    Ok(())
}

impl fmt::Display for SipUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.secure { "sips:" } else { "sip:" })?;
        if let Some(u) = &self.user {
            percent_encode(f, u, is_user_char)?;
            if let Some(p) = &self.password {
                f.write_str(":")?;
                percent_encode(f, p, is_password_char)?;
            }
            f.write_str("@")?;
        }
        write!(f, "{}", self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        write_uri_params(f, &self.params)?;
        for (i, (n, v)) in self.headers.iter().enumerate() {
            f.write_str(if i == 0 { "?" } else { "&" })?;
            percent_encode(f, n, is_hnv_char)?;
            f.write_str("=")?;
            percent_encode(f, v, is_hnv_char)?;
        }
        Ok(())
    }
}

/// A `tel:` URI (RFC 3966). The number keeps its visual separators; parameters are percent-decoded.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TelUri {
    /// The number as written (`+1-201-555-0123`).
    pub number: String,
    /// Parameters such as `phone-context`.
    pub params: Vec<Param>,
}

impl TelUri {
    fn parse_after_scheme(s: &str, limits: &Limits) -> Result<Self, ParseError> {
        let (number, params) = match s.find(';') {
            Some(i) => (s.get(..i).unwrap_or_default(), s.get(i..).unwrap_or_default()),
            None => (s, ""),
        };
        let ok = !number.is_empty()
            && number.bytes().all(|b| {
                b.is_ascii_hexdigit() || matches!(b, b'+' | b'*' | b'#' | b'-' | b'.' | b'(' | b')')
            });
        if !ok {
            return Err(ParseError::BadUri);
        }
        Ok(Self {
            number: number.to_owned(),
            params: parse_uri_params(params, limits)?,
        })
    }
}

impl fmt::Display for TelUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("tel:")?;
        f.write_str(&self.number)?;
        write_uri_params(f, &self.params)
    }
}

/// Any URI found in a Request-URI or name-addr.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Uri {
    /// `sip:` or `sips:`.
    Sip(SipUri),
    /// `tel:`.
    Tel(TelUri),
    /// Another scheme, kept verbatim (`urn:service:sos`, `mailto:...`).
    Other {
        /// The scheme, as received.
        scheme: String,
        /// Everything after the first `:`, verbatim.
        rest: String,
    },
}

impl Uri {
    /// Parses a URI with the given limits (max parameters).
    pub fn parse_with(s: &str, limits: &Limits) -> Result<Self, ParseError> {
        let (scheme, rest) = s.split_once(':').ok_or(ParseError::BadUri)?;
        if scheme.eq_ignore_ascii_case("sip") {
            SipUri::parse_after_scheme(false, rest, limits).map(Self::Sip)
        } else if scheme.eq_ignore_ascii_case("sips") {
            SipUri::parse_after_scheme(true, rest, limits).map(Self::Sip)
        } else if scheme.eq_ignore_ascii_case("tel") {
            TelUri::parse_after_scheme(rest, limits).map(Self::Tel)
        } else {
            let scheme_ok = scheme.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
                && scheme
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
            let rest_ok = !rest.is_empty()
                && rest
                    .bytes()
                    .all(|b| b > b' ' && b != 0x7f && b != b'<' && b != b'>' && b != b'"');
            if scheme_ok && rest_ok {
                Ok(Self::Other {
                    scheme: scheme.to_owned(),
                    rest: rest.to_owned(),
                })
            } else {
                Err(ParseError::BadUri)
            }
        }
    }

    /// The SIP user, or the tel number.
    #[must_use]
    pub fn user(&self) -> Option<&str> {
        match self {
            Self::Sip(u) => u.user.as_deref(),
            Self::Tel(t) => Some(&t.number),
            Self::Other { .. } => None,
        }
    }

    /// The SIP URI, if this is one.
    #[must_use]
    pub fn as_sip(&self) -> Option<&SipUri> {
        match self {
            Self::Sip(u) => Some(u),
            _ => None,
        }
    }
}

impl FromStr for Uri {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse_with(s, &Limits::default())
    }
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sip(u) => u.fmt(f),
            Self::Tel(t) => t.fmt(f),
            Self::Other { scheme, rest } => write!(f, "{scheme}:{rest}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sip(s: &str) -> SipUri {
        match s.parse::<Uri>().unwrap() {
            Uri::Sip(u) => u,
            other => panic!("not sip: {other:?}"),
        }
    }

    #[test]
    fn escaped_user_is_decoded_and_printed_minimally() {
        let u = sip("sip:%61lice@example.com");
        assert_eq!(u.user.as_deref(), Some("alice"));
        assert_eq!(u.to_string(), "sip:alice@example.com");
    }

    #[test]
    fn percent_is_never_double_escaped() {
        let u = sip("sip:100%25done@example.com");
        assert_eq!(u.user.as_deref(), Some("100%done"));
        assert_eq!(u.to_string(), "sip:100%25done@example.com");
        let again = sip(&u.to_string());
        assert_eq!(again, u);
    }

    #[test]
    fn space_in_user_is_escaped_when_printed() {
        let u = sip("sip:a%20b@h");
        assert_eq!(u.to_string(), "sip:a%20b@h");
    }

    #[test]
    fn ipv6_host_with_port_and_params() {
        let u = sip("sips:bob:secret@[2001:db8::1]:5061;transport=TCP;lr?Subject=hi%20there");
        assert!(u.secure);
        assert_eq!(u.password.as_deref(), Some("secret"));
        assert_eq!(u.host, Host::V6("2001:db8::1".parse().unwrap()));
        assert_eq!(u.port, Some(5061));
        assert_eq!(u.transport(), Some("TCP"));
        assert_eq!(u.param("LR"), Some(None));
        assert_eq!(u.headers, vec![("Subject".to_owned(), "hi there".to_owned())]);
        assert_eq!(
            u.to_string(),
            "sips:bob:secret@[2001:db8::1]:5061;transport=TCP;lr?Subject=hi%20there"
        );
    }

    #[test]
    fn bad_hosts_and_ports_are_rejected() {
        for bad in [
            "sip:[2001:db8::1",
            "sip:[::g]",
            "sip:a@",
            "sip:host:99999",
            "sip:host:",
            "sip:1.2.3.400",
            "sip:@h",
        ] {
            assert!(bad.parse::<Uri>().is_err(), "{bad} should fail");
        }
    }

    #[test]
    fn tel_and_other_schemes() {
        let t: Uri = "tel:+1-201-555-0123;phone-context=example.com".parse().unwrap();
        assert_eq!(t.user(), Some("+1-201-555-0123"));
        assert_eq!(t.to_string(), "tel:+1-201-555-0123;phone-context=example.com");
        let o: Uri = "urn:service:sos".parse().unwrap();
        assert_eq!(
            o,
            Uri::Other {
                scheme: "urn".into(),
                rest: "service:sos".into()
            }
        );
        assert_eq!(o.to_string(), "urn:service:sos");
    }

    #[test]
    fn too_many_uri_params_is_an_error() {
        let limits = Limits {
            max_params: 2,
            ..Limits::default()
        };
        assert_eq!(
            Uri::parse_with("sip:h;a;b;c", &limits),
            Err(ParseError::TooManyParams)
        );
        assert!(Uri::parse_with("sip:h;a;b", &limits).is_ok());
    }
}
