//! The SDP parser: bytes in, [`SessionDescription`] or a typed [`SdpError`] out.
//!
//! Tolerant where real phones are sloppy, strict where offer/answer depends on the value:
//! - CRLF or bare LF line ends; blank lines and trailing whitespace are ignored.
//! - Bytes that are not UTF-8 are replaced (U+FFFD): they only occur in free-text lines.
//! - Unknown line letters and unknown attributes are kept verbatim. A known attribute
//!   whose value does not parse (`a=rtpmap:x`) is kept verbatim as [`Attribute::Other`].
//! - A missing `s=` or `t=` is accepted (`s=-` and `t=0 0` are assumed and printed).
//! - `v=`, `o=`, `c=`, `t=` and `m=` must be well-formed: they are what negotiation reads.

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use media::Direction;

use crate::error::{LineKind, SdpError};
use crate::model::{
    AddrType, Address, Attribute, Connection, Fmtp, Line, MediaDescription, MediaKind, Origin, Rtpmap,
    SessionDescription, Timing,
};

/// Bounds on what the parser accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseLimits {
    /// Largest description, in bytes. Default 16 KiB (SIP over UDP rarely carries 1.5).
    pub max_bytes: usize,
    /// Most `m=` lines. Default 16.
    pub max_media: usize,
}

impl Default for ParseLimits {
    fn default() -> Self {
        Self {
            max_bytes: 16 * 1024,
            max_media: 16,
        }
    }
}

impl SessionDescription {
    /// Parses a description with the default [`ParseLimits`].
    pub fn parse(input: &[u8]) -> Result<Self, SdpError> {
        Self::parse_with_limits(input, &ParseLimits::default())
    }

    /// Parses a description within `limits`.
    pub fn parse_with_limits(input: &[u8], limits: &ParseLimits) -> Result<Self, SdpError> {
        if input.len() > limits.max_bytes {
            return Err(SdpError::TooLarge {
                size: input.len(),
                limit: limits.max_bytes,
            });
        }
        let text: Cow<'_, str> = String::from_utf8_lossy(input);

        let mut lines = text
            .split('\n')
            .enumerate()
            .map(|(i, l)| (i + 1, l.trim_end()))
            .filter(|(_, l)| !l.is_empty());

        match lines.next() {
            Some((_, "v=0")) => {}
            _ => return Err(SdpError::MissingVersion),
        }

        let mut origin = None;
        let mut session_name = None;
        let mut connection = None;
        let mut timing = Vec::new();
        let mut attributes = Vec::new();
        let mut other_lines = Vec::new();
        let mut media: Vec<MediaDescription> = Vec::new();

        for (n, line) in lines {
            let Some((kind, value)) = split_line(line) else {
                return Err(SdpError::Malformed {
                    line: n,
                    kind: LineKind::Syntax,
                });
            };
            if kind == 'm' {
                if media.len() >= limits.max_media {
                    return Err(SdpError::TooManyMedia {
                        limit: limits.max_media,
                    });
                }
                media.push(parse_media(value).ok_or(SdpError::Malformed {
                    line: n,
                    kind: LineKind::Media,
                })?);
                continue;
            }
            if let Some(m) = media.last_mut() {
                match kind {
                    'c' => {
                        if m.connection.is_some() {
                            return Err(SdpError::DuplicateLine {
                                line: n,
                                kind: LineKind::Connection,
                            });
                        }
                        m.connection = Some(parse_connection(value, n)?);
                    }
                    'a' => m.attributes.push(parse_attribute(value)),
                    'v' | 'o' | 's' | 't' => return Err(misplaced(kind, n)),
                    _ => m.other_lines.push(Line {
                        kind,
                        value: value.to_owned(),
                    }),
                }
                continue;
            }
            match kind {
                'v' => {
                    return Err(SdpError::DuplicateLine {
                        line: n,
                        kind: LineKind::Version,
                    });
                }
                'o' => {
                    if origin.is_some() {
                        return Err(SdpError::DuplicateLine {
                            line: n,
                            kind: LineKind::Origin,
                        });
                    }
                    origin = Some(parse_origin(value).ok_or(SdpError::Malformed {
                        line: n,
                        kind: LineKind::Origin,
                    })?);
                }
                's' => {
                    if session_name.is_some() {
                        return Err(SdpError::DuplicateLine {
                            line: n,
                            kind: LineKind::SessionName,
                        });
                    }
                    session_name = Some(value.to_owned());
                }
                'c' => {
                    if connection.is_some() {
                        return Err(SdpError::DuplicateLine {
                            line: n,
                            kind: LineKind::Connection,
                        });
                    }
                    connection = Some(parse_connection(value, n)?);
                }
                't' => timing.push(parse_timing(value).ok_or(SdpError::Malformed {
                    line: n,
                    kind: LineKind::Timing,
                })?),
                'a' => attributes.push(parse_attribute(value)),
                _ => other_lines.push(Line {
                    kind,
                    value: value.to_owned(),
                }),
            }
        }

        if timing.is_empty() {
            timing.push(Timing::default());
        }
        Ok(Self {
            origin: origin.ok_or(SdpError::MissingLine(LineKind::Origin))?,
            session_name: session_name.unwrap_or_else(|| "-".to_owned()),
            connection,
            timing,
            attributes,
            other_lines,
            media,
        })
    }
}

impl std::str::FromStr for SessionDescription {
    type Err = SdpError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s.as_bytes())
    }
}

/// A session-level line after the first `m=`.
fn misplaced(kind: char, line: usize) -> SdpError {
    let kind = match kind {
        'v' => LineKind::Version,
        'o' => LineKind::Origin,
        's' => LineKind::SessionName,
        _ => LineKind::Timing,
    };
    SdpError::MisplacedLine { line, kind }
}

/// `<letter>=<value>`: exactly one character before the `=`.
fn split_line(line: &str) -> Option<(char, &str)> {
    let (kind, value) = line.split_once('=')?;
    let mut chars = kind.chars();
    let c = chars.next()?;
    (chars.next().is_none() && c.is_ascii_alphabetic()).then_some((c, value))
}

fn parse_origin(value: &str) -> Option<Origin> {
    let mut f = value.split_ascii_whitespace();
    let username = f.next()?.to_owned();
    let session_id = f.next()?.parse().ok()?;
    let session_version = f.next()?.parse().ok()?;
    let (addr_type, address) = parse_net(f.next()?, f.next()?, f.next()?)?;
    if f.next().is_some() {
        return None;
    }
    Some(Origin {
        username,
        session_id,
        session_version,
        addr_type,
        address,
    })
}

fn parse_connection(value: &str, line: usize) -> Result<Connection, SdpError> {
    let malformed = SdpError::Malformed {
        line,
        kind: LineKind::Connection,
    };
    let mut f = value.split_ascii_whitespace();
    let (Some(net), Some(ty), Some(addr), None) = (f.next(), f.next(), f.next(), f.next()) else {
        return Err(malformed);
    };
    let (addr, multicast) = match (ty, addr.split_once('/')) {
        // IP4 multicast: address/ttl[/count]. IP6: address[/count].
        (_, Some((a, suffix))) => (a, Some(suffix.to_owned())),
        (_, None) => (addr, None),
    };
    let (addr_type, address) = parse_net(net, ty, addr).ok_or(malformed)?;
    Ok(Connection {
        addr_type,
        address,
        multicast,
    })
}

/// `IN <addrtype> <address>`. The address is typed when it is a literal of that type.
fn parse_net(net: &str, ty: &str, addr: &str) -> Option<(AddrType, Address)> {
    if net != "IN" || addr.is_empty() {
        return None;
    }
    let (addr_type, ip) = match ty {
        "IP4" => (AddrType::Ip4, addr.parse::<Ipv4Addr>().ok().map(IpAddr::V4)),
        "IP6" => (AddrType::Ip6, addr.parse::<Ipv6Addr>().ok().map(IpAddr::V6)),
        _ => return None,
    };
    let address = ip.map_or_else(|| Address::Host(addr.to_owned()), Address::Ip);
    Some((addr_type, address))
}

fn parse_timing(value: &str) -> Option<Timing> {
    let mut f = value.split_ascii_whitespace();
    let t = Timing {
        start: f.next()?.parse().ok()?,
        stop: f.next()?.parse().ok()?,
    };
    f.next().is_none().then_some(t)
}

fn parse_media(value: &str) -> Option<MediaDescription> {
    let mut f = value.split_ascii_whitespace();
    let kind = MediaKind::parse(f.next()?);
    let port = f.next()?;
    let (port, port_count) = match port.split_once('/') {
        Some((p, n)) => (p.parse().ok()?, Some(n.parse().ok()?)),
        None => (port.parse().ok()?, None),
    };
    let proto = f.next()?.to_owned();
    let formats = f.map(str::to_owned).collect();
    Some(MediaDescription {
        kind,
        port,
        port_count,
        proto,
        formats,
        connection: None,
        attributes: Vec::new(),
        other_lines: Vec::new(),
    })
}

fn parse_attribute(value: &str) -> Attribute {
    let (name, val) = match value.split_once(':') {
        Some((n, v)) => (n, Some(v)),
        None => (value, None),
    };
    let typed = match (name, val) {
        ("rtpmap", Some(v)) => parse_rtpmap(v).map(Attribute::Rtpmap),
        ("fmtp", Some(v)) => parse_fmtp(v).map(Attribute::Fmtp),
        ("ptime", Some(v)) => parse_ms(v).map(Attribute::Ptime),
        ("maxptime", Some(v)) => parse_ms(v).map(Attribute::MaxPtime),
        ("sendrecv", None) => Some(Attribute::Direction(Direction::SendRecv)),
        ("sendonly", None) => Some(Attribute::Direction(Direction::SendOnly)),
        ("recvonly", None) => Some(Attribute::Direction(Direction::RecvOnly)),
        ("inactive", None) => Some(Attribute::Direction(Direction::Inactive)),
        _ => None,
    };
    typed.unwrap_or_else(|| Attribute::Other {
        name: name.to_owned(),
        value: val.map(str::to_owned),
    })
}

/// `<pt> <encoding>/<clock>[/<channels>]`.
fn parse_rtpmap(v: &str) -> Option<Rtpmap> {
    let (pt, rest) = v.trim().split_once(' ')?;
    let payload_type: u8 = pt.parse().ok().filter(|pt| *pt < 128)?;
    let mut parts = rest.trim().split('/');
    let encoding = parts.next().filter(|e| !e.is_empty())?.to_owned();
    let clock_rate = parts.next()?.trim().parse().ok()?;
    let channels = match parts.next() {
        Some(c) => Some(c.trim().parse().ok()?),
        None => None,
    };
    parts.next().is_none().then_some(Rtpmap {
        payload_type,
        encoding,
        clock_rate,
        channels,
    })
}

/// `<format> [<params>]`.
fn parse_fmtp(v: &str) -> Option<Fmtp> {
    let v = v.trim();
    let (format, params) = v.split_once(' ').unwrap_or((v, ""));
    (!format.is_empty()).then(|| Fmtp {
        format: format.to_owned(),
        params: params.trim_start().to_owned(),
    })
}

/// Milliseconds; `20.0` is accepted and rounded (some gateways write decimals).
fn parse_ms(v: &str) -> Option<u32> {
    let v = v.trim();
    v.parse::<u32>().ok().or_else(|| {
        let f: f64 = v.parse().ok()?;
        (f.is_finite() && (0.0..=f64::from(u32::MAX)).contains(&f)).then_some(f.round() as u32)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vectors::{BARESIP, LINPHONE, SIPP, crlf, sdp_line};
    use proptest::prelude::*;

    fn parse(s: &str) -> Result<SessionDescription, SdpError> {
        SessionDescription::parse(s.as_bytes())
    }

    #[test]
    fn parses_a_sipp_offer() {
        let sdp = parse(&crlf(SIPP)).unwrap();
        assert_eq!(sdp.origin.username, "user1");
        assert_eq!(
            (sdp.origin.session_id, sdp.origin.session_version),
            (53_655_765, 2_353_687_637)
        );
        assert_eq!(
            sdp.connection.as_ref().and_then(Connection::ip),
            Some("127.0.0.1".parse().unwrap())
        );
        assert_eq!(sdp.timing, [Timing { start: 0, stop: 0 }]);
        let [m] = &sdp.media[..] else {
            panic!("one m= line")
        };
        assert_eq!(
            (m.kind.clone(), m.port, m.proto.as_str()),
            (MediaKind::Audio, 6000, "RTP/AVP")
        );
        assert_eq!(m.payload_types().collect::<Vec<_>>(), [0, 101]);
        assert_eq!(
            m.rtpmap(101).map(|r| (r.encoding.as_str(), r.clock_rate)),
            Some(("telephone-event", 8000))
        );
        assert_eq!(m.fmtp(101), Some("0-11,16"));
        assert_eq!(m.direction(), None);
        assert_eq!(sdp.media_direction(m), Direction::SendRecv);
    }

    #[test]
    fn lf_only_and_crlf_parse_the_same() {
        for v in [SIPP, BARESIP, LINPHONE] {
            assert_eq!(parse(v).unwrap(), parse(&crlf(v)).unwrap());
        }
    }

    #[test]
    fn printing_a_parsed_offer_gives_it_back_byte_for_byte() {
        for v in [SIPP, BARESIP, LINPHONE] {
            let text = crlf(v);
            assert_eq!(parse(&text).unwrap().to_string(), text);
        }
    }

    #[test]
    fn unknown_lines_and_attributes_are_kept() {
        let sdp = parse(&crlf(LINPHONE)).unwrap();
        assert!(sdp.attributes.iter().any(|a| a.name() == "ice-ufrag"));
        let audio = &sdp.media[0];
        let candidates = audio
            .attributes
            .iter()
            .filter(|a| a.name() == "candidate")
            .count();
        assert_eq!(candidates, 3);
        assert!(audio.has_attribute("rtcp"));

        let odd = parse("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=x\ni=info\nx=experimental\nt=0 0\nm=audio 1 RTP/AVP 0\nb=AS:64\ny=what\n").unwrap();
        assert_eq!(
            odd.other_lines,
            [
                Line {
                    kind: 'i',
                    value: "info".into()
                },
                Line {
                    kind: 'x',
                    value: "experimental".into()
                }
            ]
        );
        assert_eq!(odd.media[0].other_lines.len(), 2);
        let printed = odd.to_string();
        assert!(printed.contains("i=info\r\n") && printed.contains("x=experimental\r\n"));
        assert!(printed.contains("b=AS:64\r\ny=what\r\n"));
        assert_eq!(parse(&printed).unwrap(), odd);
    }

    #[test]
    fn ipv6_and_host_name_connections() {
        let sdp = parse("v=0\no=- 1 1 IN IP6 2001:db8::1\ns=-\nc=IN IP6 2001:db8::1\nt=0 0\nm=audio 5004 RTP/AVP 0\nc=IN IP4 pbx.example.com\n").unwrap();
        assert_eq!(sdp.origin.addr_type, AddrType::Ip6);
        assert_eq!(
            sdp.connection.as_ref().and_then(Connection::ip),
            Some("2001:db8::1".parse().unwrap())
        );
        let media_c = sdp.media[0].connection.as_ref().unwrap();
        assert_eq!(media_c.address, Address::Host("pbx.example.com".into()));
        assert_eq!(media_c.ip(), None);
        assert!(sdp.to_string().contains("c=IN IP6 2001:db8::1\r\n"));
    }

    #[test]
    fn multicast_suffix_and_port_count_are_kept() {
        let sdp = parse("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 233.252.0.1/127\nt=0 0\nm=audio 49170/2 RTP/AVP 0\n").unwrap();
        let c = sdp.connection.as_ref().unwrap();
        assert_eq!(
            (c.ip(), c.multicast.as_deref()),
            (Some("233.252.0.1".parse().unwrap()), Some("127"))
        );
        assert_eq!((sdp.media[0].port, sdp.media[0].port_count), (49170, Some(2)));
        assert!(
            sdp.to_string()
                .contains("c=IN IP4 233.252.0.1/127\r\nt=0 0\r\nm=audio 49170/2 RTP/AVP 0\r\n")
        );
    }

    #[test]
    fn known_attributes_are_typed() {
        let sdp = parse("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nt=0 0\na=recvonly\nm=audio 1 RTP/AVP 0\na=ptime:30\na=maxptime:40\na=sendonly\na=ptime:20.0\n").unwrap();
        assert_eq!(sdp.direction(), Some(Direction::RecvOnly));
        let m = &sdp.media[0];
        assert_eq!(
            (m.ptime(), m.maxptime(), m.direction()),
            (Some(30), Some(40), Some(Direction::SendOnly))
        );
        assert_eq!(m.attributes[3], Attribute::Ptime(20), "decimal ptime is rounded");
    }

    #[test]
    fn malformed_known_attributes_are_kept_verbatim() {
        let text = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\nm=audio 1 RTP/AVP 0\r\na=rtpmap:x PCMU/8000\r\na=rtpmap:200 PCMU/8000\r\na=ptime:soon\r\na=sendonly:now\r\na=fmtp:\r\n";
        let sdp = parse(text).unwrap();
        assert!(
            sdp.media[0]
                .attributes
                .iter()
                .all(|a| matches!(a, Attribute::Other { .. }))
        );
        assert_eq!(sdp.media[0].rtpmap(200), None);
        assert_eq!(sdp.to_string(), text);
    }

    #[test]
    fn malformed_lines_are_typed_errors_with_line_numbers() {
        let head = "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nt=0 0\n";
        let cases = [
            ("m=audio abc RTP/AVP 0\n", LineKind::Media),
            ("m=audio 70000 RTP/AVP 0\n", LineKind::Media),
            ("m=audio\n", LineKind::Media),
            ("c=IN IP4\n", LineKind::Connection),
            ("c=IN IPX 192.0.2.1\n", LineKind::Connection),
            ("c=ATM NSAP 47.0091\n", LineKind::Connection),
            ("t=now later\n", LineKind::Timing),
            ("this is not sdp\n", LineKind::Syntax),
            ("ab=cd\n", LineKind::Syntax),
            ("=x\n", LineKind::Syntax),
        ];
        for (bad, kind) in cases {
            let err = parse(&format!("{head}{bad}")).unwrap_err();
            assert_eq!(err, SdpError::Malformed { line: 5, kind }, "{bad:?}");
            assert_eq!(err.sip_status(), 400);
        }
        let bad_origin = parse("v=0\no=- one 1 IN IP4 192.0.2.1\ns=-\n").unwrap_err();
        assert_eq!(
            bad_origin,
            SdpError::Malformed {
                line: 2,
                kind: LineKind::Origin
            }
        );
    }

    #[test]
    fn structure_errors() {
        assert_eq!(parse(""), Err(SdpError::MissingVersion));
        assert_eq!(
            parse("v=1\no=- 1 1 IN IP4 192.0.2.1\n"),
            Err(SdpError::MissingVersion)
        );
        assert_eq!(
            parse("o=- 1 1 IN IP4 192.0.2.1\nv=0\n"),
            Err(SdpError::MissingVersion)
        );
        assert_eq!(
            parse("v=0\ns=-\nt=0 0\n"),
            Err(SdpError::MissingLine(LineKind::Origin))
        );
        let dup = parse("v=0\no=- 1 1 IN IP4 192.0.2.1\nc=IN IP4 192.0.2.1\nc=IN IP4 192.0.2.2\n");
        assert_eq!(
            dup,
            Err(SdpError::DuplicateLine {
                line: 4,
                kind: LineKind::Connection
            })
        );
        let late = parse("v=0\no=- 1 1 IN IP4 192.0.2.1\nm=audio 1 RTP/AVP 0\no=- 1 1 IN IP4 192.0.2.1\n");
        assert_eq!(
            late,
            Err(SdpError::MisplacedLine {
                line: 4,
                kind: LineKind::Origin
            })
        );
    }

    #[test]
    fn missing_name_and_time_are_tolerated() {
        let sdp = parse("v=0\no=- 1 1 IN IP4 192.0.2.1\n\n\nm=audio 1 RTP/AVP 0  \n").unwrap();
        assert_eq!(sdp.session_name, "-");
        assert!(
            sdp.to_string()
                .contains("s=-\r\nt=0 0\r\nm=audio 1 RTP/AVP 0\r\n")
        );
        // RFC 8866's "no name" (a single space) survives a round trip as a single space.
        let blank = parse("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns= \r\nt=0 0\r\n").unwrap();
        assert_eq!(blank.session_name, "");
        assert!(blank.to_string().contains("\r\ns= \r\n"));
    }

    #[test]
    fn non_utf8_bytes_are_replaced_not_fatal() {
        let mut bytes = b"v=0\no=- 1 1 IN IP4 192.0.2.1\ns=Caf".to_vec();
        bytes.extend_from_slice(&[0xE9, b'\n']); // Latin-1 é
        let sdp = SessionDescription::parse(&bytes).unwrap();
        assert_eq!(sdp.session_name, "Caf\u{FFFD}");
    }

    /// A valid description of exactly `len` bytes (padded with one long attribute).
    fn sdp_of_len(len: usize) -> String {
        let head = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\na=x:";
        let pad = len - head.len() - 2;
        format!("{head}{}\r\n", "p".repeat(pad))
    }

    #[test]
    fn size_limit_accepts_at_limit_and_rejects_one_byte_more() {
        let limit = ParseLimits::default().max_bytes;
        assert_eq!(limit, 16 * 1024);
        let at = sdp_of_len(limit);
        assert_eq!(at.len(), limit);
        assert!(parse(&at).is_ok());
        let over = sdp_of_len(limit + 1);
        assert_eq!(
            parse(&over),
            Err(SdpError::TooLarge {
                size: limit + 1,
                limit
            })
        );
        assert_eq!(parse(&over).unwrap_err().sip_status(), 413);
    }

    #[test]
    fn media_count_limit_accepts_at_limit_and_rejects_one_more() {
        let limit = ParseLimits::default().max_media;
        assert_eq!(limit, 16);
        let with = |n: usize| {
            let mut s = String::from("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n");
            (0..n).for_each(|i| s += &format!("m=audio {} RTP/AVP 0\r\n", 2000 + 2 * i));
            s
        };
        assert_eq!(parse(&with(limit)).unwrap().media.len(), limit);
        assert_eq!(parse(&with(limit + 1)), Err(SdpError::TooManyMedia { limit }));
        let small = ParseLimits {
            max_media: 1,
            ..ParseLimits::default()
        };
        assert!(SessionDescription::parse_with_limits(with(2).as_bytes(), &small).is_err());
    }

    #[test]
    fn printed_values_cannot_inject_lines() {
        let mut sdp = parse(&crlf(SIPP)).unwrap();
        sdp.session_name = "evil\r\nm=video 1 RTP/AVP 0".into();
        let reparsed = parse(&sdp.to_string()).unwrap();
        assert_eq!(reparsed.media.len(), 1);
        assert_eq!(reparsed.session_name, "evil  m=video 1 RTP/AVP 0");
    }

    proptest! {
        // Fixed seed and no regression files: the same cases on every run.
        #![proptest_config(ProptestConfig {
            cases: 1000,
            rng_seed: proptest::test_runner::RngSeed::Fixed(0x5D9_0FFE),
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        #[test]
        fn parser_never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = SessionDescription::parse(&bytes);
        }

        #[test]
        fn whatever_parses_prints_and_reparses_to_the_same(
            lines in proptest::collection::vec(sdp_line(), 0..24),
            lf in any::<bool>(),
        ) {
            let text = format!("v=0\no=- 1 2 IN IP4 192.0.2.1\n{}", lines.join(if lf { "\n" } else { "\r\n" }));
            if let Ok(sdp) = parse(&text) {
                let printed = sdp.to_string();
                prop_assert_eq!(parse(&printed), Ok(sdp));
                prop_assert_eq!(parse(&printed).unwrap().to_string(), printed);
            }
        }
    }
}
