//! Typed views of header values, parsed on demand: Via, name-addr (From/To/Contact...), CSeq.

use std::fmt;

use crate::error::ParseError;
use crate::header::HeaderName;
use crate::limits::Limits;
use crate::method::Method;
use crate::syntax::{is_token, is_wsp, quoted_len, split_top_level, trim_lws, unquote, write_quoted};
use crate::uri::{Host, Param, Uri, find_param, parse_hostport};

/// One Via value (`SIP/2.0/UDP host:port;branch=z9hG4bK...`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Via {
    /// Transport, uppercased (`UDP`, `TCP`, `TLS`, `WS`, `WSS`, `SCTP`...).
    pub transport: String,
    /// sent-by host.
    pub host: Host,
    /// sent-by port.
    pub port: Option<u16>,
    /// Via parameters, values raw (quoted values keep their quotes).
    pub params: Vec<Param>,
}

impl Via {
    /// A Via for `transport` and `host[:port]` with a `branch` parameter.
    pub fn new(transport: &str, host: Host, port: Option<u16>, branch: &str) -> Self {
        Self {
            transport: transport.to_ascii_uppercase(),
            host,
            port,
            params: vec![Param::new("branch", branch)],
        }
    }

    /// Looks up a parameter by case-insensitive name: `None` if absent, `Some(None)` for a flag.
    #[must_use]
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        find_param(&self.params, name)
    }

    /// The `branch` parameter.
    #[must_use]
    pub fn branch(&self) -> Option<&str> {
        self.param("branch").flatten()
    }

    /// The `received` parameter (may be an unbracketed IPv6 address, RFC 5118).
    #[must_use]
    pub fn received(&self) -> Option<&str> {
        self.param("received").flatten()
    }

    /// The `rport` parameter: `None` if absent, `Some(None)` if present without a (valid) value.
    #[must_use]
    pub fn rport(&self) -> Option<Option<u16>> {
        self.param("rport").map(|v| v.and_then(|p| p.parse().ok()))
    }
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SIP/2.0/{} {}", self.transport, self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        write_header_params(f, &self.params)
    }
}

/// `[display-name] <uri>;params` or `uri;params` (From, To, Contact, Route, Refer-To...).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NameAddr {
    /// Display name, unquoted and unescaped. Token-form names have their whitespace runs collapsed.
    pub display_name: Option<String>,
    /// The URI.
    pub uri: Uri,
    /// Header parameters (`tag`, `expires`, `q`...), values raw.
    pub params: Vec<Param>,
}

impl NameAddr {
    /// A name-addr with just a URI.
    pub fn new(uri: Uri) -> Self {
        Self {
            display_name: None,
            uri,
            params: Vec::new(),
        }
    }

    /// Looks up a header parameter by case-insensitive name.
    #[must_use]
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        find_param(&self.params, name)
    }

    /// The `tag` parameter.
    #[must_use]
    pub fn tag(&self) -> Option<&str> {
        self.param("tag").flatten()
    }
}

impl fmt::Display for NameAddr {
    /// Always prints the name-addr form with angle brackets (safe for any URI).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(d) = &self.display_name {
            write_quoted(f, d)?;
            f.write_str(" ")?;
        }
        write!(f, "<{}>", self.uri)?;
        write_header_params(f, &self.params)
    }
}

/// One Contact value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Contact {
    /// `Contact: *` (REGISTER removal of all bindings).
    Star,
    /// A contact address.
    Addr(NameAddr),
}

impl fmt::Display for Contact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Star => f.write_str("*"),
            Self::Addr(a) => a.fmt(f),
        }
    }
}

/// The CSeq header.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CSeq {
    /// Sequence number.
    pub seq: u32,
    /// Method.
    pub method: Method,
}

impl fmt::Display for CSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.seq, self.method)
    }
}

fn write_header_params(f: &mut fmt::Formatter<'_>, params: &[Param]) -> fmt::Result {
    for p in params {
        write!(f, ";{}", p.name)?;
        if let Some(v) = &p.value {
            write!(f, "={v}")?;
        }
    }
    Ok(())
}

/// Keeps structural errors (quotes, brackets, counts) and turns the others into `BadHeader { name }`.
fn in_header(name: HeaderName) -> impl FnOnce(ParseError) -> ParseError {
    move |e| match e {
        ParseError::UnterminatedQuote
        | ParseError::UnbalancedAngle
        | ParseError::TooManyParams
        | ParseError::TooManyListItems => e,
        _ => ParseError::BadHeader { name },
    }
}

fn is_param_value_byte(b: u8) -> bool {
    b > b' ' && b != 0x7f && !matches!(b, b'"' | b'<' | b'>' | b',' | b';' | b'=' | b'\\')
}

/// Parses `;a=b;c;d="q"` header parameters (leading `;` included, or empty).
pub(crate) fn parse_header_params(s: &str, limits: &Limits) -> Result<Vec<Param>, ParseError> {
    let s = trim_lws(s);
    if s.is_empty() {
        return Ok(Vec::new());
    }
    let s = s.strip_prefix(';').ok_or(ParseError::BadHeaderLine)?;
    let pieces = split_top_level(s, b';', limits.max_params, ParseError::TooManyParams)?;
    let mut params = Vec::with_capacity(pieces.len());
    for piece in pieces {
        let (name, value) = match piece.split_once('=') {
            Some((n, v)) => (trim_lws(n), Some(trim_lws(v))),
            None => (trim_lws(piece), None),
        };
        if !is_token(name) {
            return Err(ParseError::BadHeaderLine);
        }
        let value = match value {
            Some(v) if v.starts_with('"') => {
                if quoted_len(v)? != v.len() {
                    return Err(ParseError::BadHeaderLine);
                }
                Some(v.to_owned())
            }
            Some(v) if v.bytes().all(is_param_value_byte) => Some(v.to_owned()),
            Some(_) => return Err(ParseError::BadHeaderLine),
            None => None,
        };
        params.push(Param {
            name: name.to_owned(),
            value,
        });
    }
    Ok(params)
}

/// Parses one via-parm.
fn parse_via(s: &str, limits: &Limits) -> Result<Via, ParseError> {
    let s = trim_lws(s);
    let (proto, rest) = s.split_once('/').ok_or(ParseError::BadHeaderLine)?;
    let (version, rest) = rest.split_once('/').ok_or(ParseError::BadHeaderLine)?;
    if !trim_lws(proto).eq_ignore_ascii_case("SIP") || trim_lws(version) != "2.0" {
        return Err(ParseError::BadHeaderLine);
    }
    let rest = rest.trim_start_matches([' ', '\t']);
    let t_len = rest
        .bytes()
        .take_while(|&b| crate::syntax::is_token_byte(b))
        .count();
    let (transport, rest) = rest.split_at_checked(t_len).ok_or(ParseError::BadHeaderLine)?;
    if transport.is_empty() || !rest.starts_with([' ', '\t']) {
        return Err(ParseError::BadHeaderLine);
    }
    let rest = rest.trim_start_matches([' ', '\t']);
    let (sent_by, params) = match rest.find(';') {
        Some(i) => (
            rest.get(..i).unwrap_or_default(),
            rest.get(i..).unwrap_or_default(),
        ),
        None => (rest, ""),
    };
    let sent_by = trim_lws(sent_by);
    if sent_by.bytes().any(is_wsp) {
        return Err(ParseError::BadHeaderLine);
    }
    let (host, port) = parse_hostport(sent_by)?;
    let params = parse_header_params(params, limits)?;
    if let Some(Some(r)) = find_param(&params, "received") {
        Host::parse_lenient(r)?;
    }
    Ok(Via {
        transport: transport.to_ascii_uppercase(),
        host,
        port,
        params,
    })
}

/// Parses a Via header value (a comma list) and appends to `out`, enforcing `max_list_items` on the total.
pub(crate) fn parse_via_list(value: &str, limits: &Limits, out: &mut Vec<Via>) -> Result<(), ParseError> {
    let room = limits.max_list_items.saturating_sub(out.len());
    if room == 0 {
        return Err(ParseError::TooManyListItems);
    }
    let parts = split_top_level(value, b',', room, ParseError::TooManyListItems)?;
    for p in parts {
        out.push(parse_via(p, limits).map_err(in_header(HeaderName::Via))?);
    }
    Ok(())
}

/// Parses a name-addr or addr-spec followed by header params.
pub(crate) fn parse_name_addr(s: &str, limits: &Limits) -> Result<NameAddr, ParseError> {
    let s = trim_lws(s);
    let (display_name, after_display) = if s.starts_with('"') {
        let q = quoted_len(s)?;
        let quoted = s.get(..q).unwrap_or_default();
        let rest = s.get(q..).unwrap_or_default().trim_start_matches([' ', '\t']);
        if !rest.starts_with('<') {
            return Err(ParseError::BadHeaderLine);
        }
        (Some(unquote(quoted)), rest)
    } else if let Some(lt) = s.find('<') {
        let name = s.get(..lt).unwrap_or_default();
        if name.contains(['"', '>']) {
            return Err(ParseError::BadHeaderLine);
        }
        let name = trim_lws(name);
        let display = if name.is_empty() {
            None
        } else {
            let mut collapsed = String::with_capacity(name.len());
            for (i, word) in name.split([' ', '\t']).filter(|w| !w.is_empty()).enumerate() {
                if i > 0 {
                    collapsed.push(' ');
                }
                collapsed.push_str(word);
            }
            Some(collapsed)
        };
        (display, s.get(lt..).unwrap_or_default())
    } else {
        // addr-spec: the URI ends at the first `;`, the rest are header parameters (RFC 3261 20.10).
        if s.contains('>') {
            return Err(ParseError::UnbalancedAngle);
        }
        let (uri, params) = match s.find(';') {
            Some(i) => (s.get(..i).unwrap_or_default(), s.get(i..).unwrap_or_default()),
            None => (s, ""),
        };
        let uri = trim_lws(uri);
        if uri.bytes().any(|b| is_wsp(b) || b == b'"') {
            return Err(ParseError::BadHeaderLine);
        }
        let uri = Uri::parse_with(uri, limits)?;
        return Ok(NameAddr {
            display_name: None,
            uri,
            params: parse_header_params(params, limits)?,
        });
    };
    let inner = after_display.strip_prefix('<').ok_or(ParseError::BadHeaderLine)?;
    let gt = inner.find('>').ok_or(ParseError::UnbalancedAngle)?;
    let uri = inner.get(..gt).unwrap_or_default();
    if uri.contains('<') {
        return Err(ParseError::UnbalancedAngle);
    }
    let rest = inner.get(gt + 1..).unwrap_or_default();
    if rest.contains(['<', '>']) && !rest.contains('"') {
        return Err(ParseError::UnbalancedAngle);
    }
    let uri = Uri::parse_with(trim_lws(uri), limits)?;
    Ok(NameAddr {
        display_name,
        uri,
        params: parse_header_params(rest, limits)?,
    })
}

/// Parses a From/To-like header value, mapping errors to the header.
pub(crate) fn parse_name_addr_header(
    value: &str,
    limits: &Limits,
    name: HeaderName,
) -> Result<NameAddr, ParseError> {
    parse_name_addr(value, limits).map_err(in_header(name))
}

/// Parses a Contact header value (a comma list or `*`).
pub(crate) fn parse_contact_list(
    value: &str,
    limits: &Limits,
    out: &mut Vec<Contact>,
) -> Result<(), ParseError> {
    if trim_lws(value) == "*" {
        out.push(Contact::Star);
        return Ok(());
    }
    let room = limits.max_list_items.saturating_sub(out.len());
    if room == 0 {
        return Err(ParseError::TooManyListItems);
    }
    let parts = split_top_level(value, b',', room, ParseError::TooManyListItems)?;
    for p in parts {
        let a = parse_name_addr(p, limits).map_err(in_header(HeaderName::Contact))?;
        out.push(Contact::Addr(a));
    }
    Ok(())
}

/// Parses `1*DIGIT LWS Method`.
pub(crate) fn parse_cseq(value: &str) -> Result<CSeq, ParseError> {
    let v = trim_lws(value);
    let digits = v.bytes().take_while(u8::is_ascii_digit).count();
    let (num, rest) = v.split_at_checked(digits).ok_or(ParseError::BadCSeq)?;
    if !rest.starts_with([' ', '\t']) {
        return Err(ParseError::BadCSeq);
    }
    let seq = parse_u32_strict(num).ok_or(ParseError::BadCSeq)?;
    let method = Method::from_token(trim_lws(rest)).map_err(|_| ParseError::BadCSeq)?;
    Ok(CSeq { seq, method })
}

/// Decimal digits only (after trimming), no sign, no overflow.
pub(crate) fn parse_u32_strict(v: &str) -> Option<u32> {
    let v = trim_lws(v);
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse().ok()
}

/// Decimal digits only (after trimming), no sign, no overflow.
pub(crate) fn parse_usize_strict(v: &str) -> Option<usize> {
    let v = trim_lws(v);
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits::default()
    }

    #[test]
    fn via_list_with_ipv6_received_and_rport() {
        let mut out = Vec::new();
        parse_via_list(
            "SIP/2.0/udp [2001:db8::9]:5070;branch=z9hG4bKa;received=2001:db8::9;rport=5070 , SIP / 2.0 / TCP b.example;branch=z9hG4bKb;rport",
            &limits(),
            &mut out,
        )
        .unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].transport, "UDP");
        assert_eq!(out[0].host, Host::V6("2001:db8::9".parse().unwrap()));
        assert_eq!(out[0].port, Some(5070));
        assert_eq!(out[0].received(), Some("2001:db8::9"));
        assert_eq!(out[0].rport(), Some(Some(5070)));
        assert_eq!(out[1].branch(), Some("z9hG4bKb"));
        assert_eq!(out[1].rport(), Some(None));
        assert_eq!(
            out[0].to_string(),
            "SIP/2.0/UDP [2001:db8::9]:5070;branch=z9hG4bKa;received=2001:db8::9;rport=5070"
        );
    }

    #[test]
    fn via_rejects_bad_ipv6_and_missing_host() {
        let mut out = Vec::new();
        assert!(parse_via_list("SIP/2.0/UDP [2001:db8::9;branch=x", &limits(), &mut out).is_err());
        assert!(parse_via_list("SIP/2.0/UDP h;received=2001:zz::1", &limits(), &mut out).is_err());
        assert!(parse_via_list("SIP/2.0/UDP", &limits(), &mut out).is_err());
        assert!(parse_via_list("SIP/3.0/UDP h", &limits(), &mut out).is_err());
    }

    #[test]
    fn via_list_limit_counts_across_headers() {
        let l = Limits {
            max_list_items: 2,
            ..Limits::default()
        };
        let mut out = Vec::new();
        parse_via_list("SIP/2.0/UDP a, SIP/2.0/UDP b", &l, &mut out).unwrap();
        assert_eq!(
            parse_via_list("SIP/2.0/UDP c", &l, &mut out),
            Err(ParseError::TooManyListItems)
        );
    }

    #[test]
    fn name_addr_forms() {
        let a = parse_name_addr(
            r#""Bob \"B\" Smith" <sip:bob@example.com;transport=tcp>;tag=abc"#,
            &limits(),
        )
        .unwrap();
        assert_eq!(a.display_name.as_deref(), Some(r#"Bob "B" Smith"#));
        assert_eq!(a.tag(), Some("abc"));
        assert_eq!(a.uri.as_sip().unwrap().transport(), Some("tcp"));
        assert_eq!(
            a.to_string(),
            r#""Bob \"B\" Smith" <sip:bob@example.com;transport=tcp>;tag=abc"#
        );

        let b = parse_name_addr("sip:alice@example.com;tag=xyz", &limits()).unwrap();
        assert_eq!(b.tag(), Some("xyz"));
        assert!(b.uri.as_sip().unwrap().params.is_empty());

        let c = parse_name_addr("Alice   Liddell <tel:+15551234>", &limits()).unwrap();
        assert_eq!(c.display_name.as_deref(), Some("Alice Liddell"));
        assert_eq!(c.uri.user(), Some("+15551234"));
    }

    #[test]
    fn name_addr_structural_errors() {
        assert_eq!(
            parse_name_addr(r#""Bob <sip:b@h>"#, &limits()),
            Err(ParseError::UnterminatedQuote)
        );
        assert_eq!(
            parse_name_addr("<sip:b@h", &limits()),
            Err(ParseError::UnbalancedAngle)
        );
        assert_eq!(
            parse_name_addr("sip:b@h>", &limits()),
            Err(ParseError::UnbalancedAngle)
        );
        let l = Limits {
            max_params: 1,
            ..Limits::default()
        };
        assert_eq!(
            parse_name_addr("<sip:b@h>;a;b", &l),
            Err(ParseError::TooManyParams)
        );
    }

    #[test]
    fn contact_star_and_lists() {
        let mut out = Vec::new();
        parse_contact_list("*", &limits(), &mut out).unwrap();
        parse_contact_list(
            r#"<sip:a@h;x=1>;q=0.5, "B, C" <sip:b@h>;expires=60"#,
            &limits(),
            &mut out,
        )
        .unwrap();
        assert_eq!(out.len(), 3);
        assert_eq!(out[0], Contact::Star);
    }

    #[test]
    fn cseq_parsing() {
        assert_eq!(
            parse_cseq("314159 INVITE").unwrap(),
            CSeq {
                seq: 314_159,
                method: Method::Invite
            }
        );
        assert!(parse_cseq("-1 INVITE").is_err());
        assert!(parse_cseq("abc INVITE").is_err());
        assert!(parse_cseq("4294967296 INVITE").is_err());
        assert!(parse_cseq("1").is_err());
        assert!(parse_cseq("1 IN@VITE").is_err());
    }
}
