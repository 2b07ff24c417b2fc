//! Header names, raw header values, and typed-on-demand accessors.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use crate::error::ParseError;
use crate::limits::Limits;
use crate::syntax::{is_token, trim_lws};
use crate::typed::{self, CSeq, Contact, NameAddr, Via};

macro_rules! header_names {
    ($($variant:ident => $canon:literal, $lower:literal $(, $compact:literal)?;)*) => {
        /// A header field name. Parsed case-insensitively, compact forms included (`i` is Call-ID).
        ///
        /// `Other` keeps the spelling it was received with but compares and hashes case-insensitively;
        /// equality between any two names is by canonical name, ignoring ASCII case.
        #[derive(Debug, Clone)]
        pub enum HeaderName {
            $(
                #[doc = concat!("`", $canon, "`")]
                $variant,
            )*
            /// Any other header, spelled as received.
            Other(String),
        }

        impl HeaderName {
            /// The canonical spelling (`Call-ID`, `CSeq`, `WWW-Authenticate`), or the received one for `Other`.
            #[must_use]
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $canon,)*
                    Self::Other(s) => s,
                }
            }

            /// Parses a header name in any case, including compact forms. Never fails; unknown names
            /// become [`HeaderName::Other`] (the parser checks token syntax separately).
            #[must_use]
            pub fn parse(name: &str) -> Self {
                let mut buf = [0u8; 24];
                let Some(dst) = buf.get_mut(..name.len()) else {
                    return Self::Other(name.to_owned());
                };
                dst.copy_from_slice(name.as_bytes());
                dst.make_ascii_lowercase();
                match &*dst {
                    $(
                        $lower => Self::$variant,
                        $($compact => Self::$variant,)?
                    )*
                    _ => Self::Other(name.to_owned()),
                }
            }
        }
    };
}

header_names! {
    Via => "Via", b"via", b"v";
    From => "From", b"from", b"f";
    To => "To", b"to", b"t";
    CallId => "Call-ID", b"call-id", b"i";
    CSeq => "CSeq", b"cseq";
    Contact => "Contact", b"contact", b"m";
    MaxForwards => "Max-Forwards", b"max-forwards";
    ContentLength => "Content-Length", b"content-length", b"l";
    ContentType => "Content-Type", b"content-type", b"c";
    ContentEncoding => "Content-Encoding", b"content-encoding", b"e";
    Route => "Route", b"route";
    RecordRoute => "Record-Route", b"record-route";
    Allow => "Allow", b"allow";
    Supported => "Supported", b"supported", b"k";
    Require => "Require", b"require";
    ProxyRequire => "Proxy-Require", b"proxy-require";
    Unsupported => "Unsupported", b"unsupported";
    Expires => "Expires", b"expires";
    MinExpires => "Min-Expires", b"min-expires";
    UserAgent => "User-Agent", b"user-agent";
    Server => "Server", b"server";
    Authorization => "Authorization", b"authorization";
    WwwAuthenticate => "WWW-Authenticate", b"www-authenticate";
    ProxyAuthorization => "Proxy-Authorization", b"proxy-authorization";
    ProxyAuthenticate => "Proxy-Authenticate", b"proxy-authenticate";
    Subject => "Subject", b"subject", b"s";
    Event => "Event", b"event", b"o";
    ReferTo => "Refer-To", b"refer-to", b"r";
    ReferredBy => "Referred-By", b"referred-by", b"b";
    AllowEvents => "Allow-Events", b"allow-events", b"u";
    SessionExpires => "Session-Expires", b"session-expires", b"x";
    MinSe => "Min-SE", b"min-se";
    RetryAfter => "Retry-After", b"retry-after";
    Reason => "Reason", b"reason";
    Accept => "Accept", b"accept";
    Date => "Date", b"date";
    Timestamp => "Timestamp", b"timestamp";
}

impl PartialEq for HeaderName {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Other(a), Self::Other(b)) => a.eq_ignore_ascii_case(b),
            (Self::Other(_), _) | (_, Self::Other(_)) => self.as_str().eq_ignore_ascii_case(other.as_str()),
            _ => std::mem::discriminant(self) == std::mem::discriminant(other),
        }
    }
}

impl Eq for HeaderName {}

impl Hash for HeaderName {
    fn hash<H: Hasher>(&self, state: &mut H) {
        for b in self.as_str().bytes() {
            state.write_u8(b.to_ascii_lowercase());
        }
        state.write_u8(0xff);
    }
}

impl FromStr for HeaderName {
    type Err = ParseError;
    /// Like [`HeaderName::parse`] but rejects names that are not RFC 3261 tokens.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if is_token(s) {
            Ok(Self::parse(s))
        } else {
            Err(ParseError::BadHeaderLine)
        }
    }
}

impl From<&str> for HeaderName {
    fn from(s: &str) -> Self {
        Self::parse(s)
    }
}

impl fmt::Display for HeaderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One header field: its name and its raw value (unfolded, trimmed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The name.
    pub name: HeaderName,
    /// The raw value: line folding collapsed to one space, leading and trailing whitespace trimmed.
    pub value: String,
}

/// The header fields of a message, in wire order.
///
/// Values are kept raw; typed accessors (`vias()`, `from()`, `cseq()`...) parse on demand with the
/// [`Limits`] the message was parsed with (or the defaults for `Headers::new()`).
#[derive(Debug, Clone, Default)]
pub struct Headers(Vec<Header>, Option<Limits>);

impl PartialEq for Headers {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl Eq for Headers {}

impl Headers {
    /// No headers.
    #[must_use]
    pub fn new() -> Self {
        Self(Vec::new(), None)
    }

    pub(crate) fn with_capacity(n: usize, limits: Limits) -> Self {
        Self(Vec::with_capacity(n), Some(limits))
    }

    pub(crate) fn limits(&self) -> Limits {
        self.1.unwrap_or_default()
    }

    /// The value of the first header with this name.
    #[must_use]
    pub fn get(&self, name: &HeaderName) -> Option<&str> {
        self.0.iter().find(|h| &h.name == name).map(|h| h.value.as_str())
    }

    /// The values of all headers with this name, in order.
    pub fn get_all<'a>(&'a self, name: &HeaderName) -> impl Iterator<Item = &'a str> + use<'a> {
        let name = name.clone();
        self.0
            .iter()
            .filter(move |h| h.name == name)
            .map(|h| h.value.as_str())
    }

    /// Appends a header.
    pub fn push(&mut self, name: HeaderName, value: impl Into<String>) {
        self.0.push(Header {
            name,
            value: value.into(),
        });
    }

    /// Replaces every header of this name by one with `value`, at the position of the first one
    /// (or at the end if there was none).
    pub fn set(&mut self, name: HeaderName, value: impl Into<String>) {
        let value = value.into();
        match self.0.iter().position(|h| h.name == name) {
            Some(i) => {
                self.0.retain_mut_first(i, &name, value);
            }
            None => self.0.push(Header { name, value }),
        }
    }

    /// Removes every header with this name.
    pub fn remove(&mut self, name: &HeaderName) {
        self.0.retain(|h| &h.name != name);
    }

    /// Iterates the headers in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Header> {
        self.0.iter()
    }

    /// Number of header fields.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// No header fields.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// All Via values in order, splitting comma lists across every Via header.
    pub fn vias(&self) -> Result<Vec<Via>, ParseError> {
        let limits = self.limits();
        let mut out = Vec::new();
        for v in self.get_all(&HeaderName::Via) {
            typed::parse_via_list(v, &limits, &mut out)?;
        }
        if out.is_empty() {
            Err(ParseError::MissingHeader(HeaderName::Via))
        } else {
            Ok(out)
        }
    }

    /// The topmost Via.
    pub fn top_via(&self) -> Result<Via, ParseError> {
        let limits = self.limits();
        let v = self
            .get(&HeaderName::Via)
            .ok_or(ParseError::MissingHeader(HeaderName::Via))?;
        let mut out = Vec::with_capacity(1);
        typed::parse_via_list(v, &limits, &mut out)?;
        out.into_iter()
            .next()
            .ok_or(ParseError::MissingHeader(HeaderName::Via))
    }

    /// The From header.
    pub fn from(&self) -> Result<NameAddr, ParseError> {
        self.name_addr(HeaderName::From)
    }

    /// The To header.
    pub fn to(&self) -> Result<NameAddr, ParseError> {
        self.name_addr(HeaderName::To)
    }

    fn name_addr(&self, name: HeaderName) -> Result<NameAddr, ParseError> {
        let v = self
            .get(&name)
            .ok_or_else(|| ParseError::MissingHeader(name.clone()))?;
        typed::parse_name_addr_header(v, &self.limits(), name)
    }

    /// The Call-ID (non-empty, no whitespace).
    pub fn call_id(&self) -> Result<&str, ParseError> {
        let v = self
            .get(&HeaderName::CallId)
            .ok_or(ParseError::MissingHeader(HeaderName::CallId))?;
        if v.is_empty() || v.bytes().any(|b| b.is_ascii_whitespace()) {
            return Err(ParseError::BadHeader {
                name: HeaderName::CallId,
            });
        }
        Ok(v)
    }

    /// The CSeq header.
    pub fn cseq(&self) -> Result<CSeq, ParseError> {
        let v = self
            .get(&HeaderName::CSeq)
            .ok_or(ParseError::MissingHeader(HeaderName::CSeq))?;
        typed::parse_cseq(v)
    }

    /// All Contact values across every Contact header, in order.
    pub fn contacts(&self) -> Result<Vec<Contact>, ParseError> {
        let limits = self.limits();
        let mut out = Vec::new();
        for v in self.get_all(&HeaderName::Contact) {
            typed::parse_contact_list(v, &limits, &mut out)?;
        }
        Ok(out)
    }

    /// Max-Forwards (missing is an error here; requests without it are accepted by the parser).
    pub fn max_forwards(&self) -> Result<u32, ParseError> {
        let v = self
            .get(&HeaderName::MaxForwards)
            .ok_or(ParseError::MissingHeader(HeaderName::MaxForwards))?;
        typed::parse_u32_strict(v).ok_or(ParseError::BadMaxForwards)
    }

    /// Content-Length, if present. Several copies must agree.
    pub fn content_length(&self) -> Result<Option<usize>, ParseError> {
        let mut found = None;
        for v in self.get_all(&HeaderName::ContentLength) {
            let n = typed::parse_usize_strict(v).ok_or(ParseError::BadContentLength)?;
            if found.is_some_and(|f| f != n) {
                return Err(ParseError::BadContentLength);
            }
            found = Some(n);
        }
        Ok(found)
    }

    /// Content-Type, raw (`application/sdp`).
    #[must_use]
    pub fn content_type(&self) -> Option<&str> {
        self.get(&HeaderName::ContentType)
    }

    /// Expires, if present (delta-seconds; values above `u32::MAX` saturate, as RFC 3261 20.19 allows).
    pub fn expires(&self) -> Result<Option<u32>, ParseError> {
        let Some(v) = self.get(&HeaderName::Expires) else {
            return Ok(None);
        };
        let v = trim_lws(v);
        if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseError::BadHeader {
                name: HeaderName::Expires,
            });
        }
        Ok(Some(v.parse::<u32>().unwrap_or(u32::MAX)))
    }
}

trait RetainFirst {
    fn retain_mut_first(&mut self, first: usize, name: &HeaderName, value: String);
}

impl RetainFirst for Vec<Header> {
    /// Sets the value at `first` and drops every later header called `name`.
    fn retain_mut_first(&mut self, first: usize, name: &HeaderName, value: String) {
        let mut i = 0;
        self.retain_mut(|h| {
            let idx = i;
            i += 1;
            if idx == first {
                h.value.clone_from(&value);
                true
            } else {
                idx < first || &h.name != name
            }
        });
    }
}

impl<'a> IntoIterator for &'a Headers {
    type Item = &'a Header;
    type IntoIter = std::slice::Iter<'a, Header>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl FromIterator<Header> for Headers {
    fn from_iter<T: IntoIterator<Item = Header>>(iter: T) -> Self {
        Self(iter.into_iter().collect(), None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_in_any_case_and_compact_form() {
        assert_eq!(HeaderName::parse("cAlL-iD"), HeaderName::CallId);
        assert_eq!(HeaderName::parse("i"), HeaderName::CallId);
        assert_eq!(HeaderName::parse("I"), HeaderName::CallId);
        assert_eq!(HeaderName::parse("x").as_str(), "Session-Expires");
        assert_eq!(HeaderName::parse("WWW-AUTHENTICATE").as_str(), "WWW-Authenticate");
        assert_eq!(HeaderName::parse("cseq").as_str(), "CSeq");
    }

    #[test]
    fn other_names_keep_spelling_but_compare_case_insensitively() {
        let a = HeaderName::parse("X-Custom-Thing");
        assert_eq!(a.as_str(), "X-Custom-Thing");
        assert_eq!(a, HeaderName::Other("x-custom-thing".into()));
        assert_eq!(HeaderName::Other("via".into()), HeaderName::Via);
        use std::hash::BuildHasher;
        let rs = std::collections::hash_map::RandomState::new();
        assert_eq!(
            rs.hash_one(&a),
            rs.hash_one(HeaderName::Other("X-CUSTOM-THING".into()))
        );
        assert_eq!(
            rs.hash_one(HeaderName::Via),
            rs.hash_one(HeaderName::Other("VIA".into()))
        );
    }

    #[test]
    fn set_replaces_all_copies_in_place() {
        let mut h = Headers::new();
        h.push(HeaderName::Via, "a");
        h.push(HeaderName::To, "t");
        h.push(HeaderName::Via, "b");
        h.set(HeaderName::Via, "c");
        let v: Vec<_> = h.iter().map(|h| h.value.as_str()).collect();
        assert_eq!(v, ["c", "t"]);
        h.set(HeaderName::Subject, "s");
        assert_eq!(h.get(&HeaderName::Subject), Some("s"));
        h.remove(&HeaderName::Via);
        assert_eq!(h.len(), 2);
    }

    #[test]
    fn get_all_accepts_a_temporary_name_and_keeps_order() {
        let mut h = Headers::new();
        h.push(HeaderName::parse("X-Trace"), "1");
        h.push(HeaderName::Via, "v");
        h.push(HeaderName::parse("x-trace"), "2");
        let all: Vec<&str> = h.get_all(&HeaderName::Other("X-TRACE".to_owned())).collect();
        assert_eq!(all, ["1", "2"]);
    }

    #[test]
    fn content_length_copies_must_agree() {
        let mut h = Headers::new();
        h.push(HeaderName::ContentLength, "5");
        h.push(HeaderName::ContentLength, "5");
        assert_eq!(h.content_length(), Ok(Some(5)));
        h.push(HeaderName::ContentLength, "6");
        assert_eq!(h.content_length(), Err(ParseError::BadContentLength));
    }
}
