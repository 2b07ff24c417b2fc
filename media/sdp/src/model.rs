//! The SDP data model (RFC 8866, which obsoletes RFC 4566).
//!
//! Only what offer/answer needs is typed: origin, connection, timing, media lines and the
//! `rtpmap`, `fmtp`, `ptime`, `maxptime` and direction attributes. Every other line and
//! attribute is kept verbatim, in order, so that printing a parsed description loses nothing
//! offer/answer could need (ICE candidates, crypto lines, `b=` lines…).

use std::net::IpAddr;

use media::Direction;

/// A whole session description: session-level lines followed by media descriptions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    /// `o=`.
    pub origin: Origin,
    /// `s=`. RFC 8866 suggests `"-"` (or a single space) when there is no name.
    pub session_name: String,
    /// Session-level `c=`, the default for media that have none of their own.
    pub connection: Option<Connection>,
    /// `t=` lines. Printing writes `t=0 0` when empty.
    pub timing: Vec<Timing>,
    /// Session-level `a=` lines, in order.
    pub attributes: Vec<Attribute>,
    /// Other session-level lines (`i=`, `u=`, `e=`, `p=`, `b=`, `r=`, `z=`, `k=` and any
    /// unknown letter), verbatim and in order.
    pub other_lines: Vec<Line>,
    /// `m=` sections, in order. Their index is what RFC 3264 matches offers and answers by.
    pub media: Vec<MediaDescription>,
}

/// `o=<username> <sess-id> <sess-version> IN <addrtype> <unicast-address>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub username: String,
    pub session_id: u64,
    /// Incremented by the author for every changed description (RFC 3264 §8).
    pub session_version: u64,
    pub addr_type: AddrType,
    pub address: Address,
}

/// `c=IN <addrtype> <connection-address>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    pub addr_type: AddrType,
    pub address: Address,
    /// A multicast suffix (`/127` or `/127/3`) kept verbatim, without its leading `/`.
    pub multicast: Option<String>,
}

impl Connection {
    /// A unicast connection line for `ip`.
    pub fn new(ip: IpAddr) -> Self {
        Self {
            addr_type: AddrType::for_ip(ip),
            address: Address::Ip(ip),
            multicast: None,
        }
    }

    /// The IP address, when the line holds one (not a host name).
    pub fn ip(&self) -> Option<IpAddr> {
        match self.address {
            Address::Ip(ip) => Some(ip),
            Address::Host(_) => None,
        }
    }

    /// `0.0.0.0` or `::`: the pre-RFC 3264 way of putting a stream on hold (RFC 2543).
    pub fn is_unspecified(&self) -> bool {
        self.ip().is_some_and(|ip| ip.is_unspecified())
    }
}

/// The address type of `o=` and `c=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddrType {
    /// `IP4`.
    Ip4,
    /// `IP6`.
    Ip6,
}

impl AddrType {
    /// The type matching `ip`.
    pub fn for_ip(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(_) => Self::Ip4,
            IpAddr::V6(_) => Self::Ip6,
        }
    }

    /// The SDP token (`IP4`, `IP6`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ip4 => "IP4",
            Self::Ip6 => "IP6",
        }
    }
}

/// The address of `o=` or `c=`: an IP literal of the line's address type, or anything else
/// (a host name, or a literal of the other family) kept as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Address {
    Ip(IpAddr),
    Host(String),
}

/// `t=<start-time> <stop-time>` (NTP seconds; `0 0` means unbounded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Timing {
    pub start: u64,
    pub stop: u64,
}

/// A line kept verbatim: its type letter and everything after the `=`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub kind: char,
    pub value: String,
}

/// `m=` and the lines that follow it up to the next `m=`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaDescription {
    pub kind: MediaKind,
    /// 0 rejects (in an answer) or disables (in an offer) the stream.
    pub port: u16,
    /// `m=audio 49170/2 …`: the number of ports, when given.
    pub port_count: Option<u16>,
    /// The transport protocol as written (`RTP/AVP`, `RTP/SAVP`, `UDP/TLS/RTP/SAVPF`…).
    pub proto: String,
    /// The format list as written: payload type numbers for RTP protocols.
    pub formats: Vec<String>,
    /// Media-level `c=`, overriding the session's.
    pub connection: Option<Connection>,
    /// Media-level `a=` lines, in order.
    pub attributes: Vec<Attribute>,
    /// Other media-level lines (`i=`, `b=`, `k=`, unknown letters), verbatim and in order.
    pub other_lines: Vec<Line>,
}

/// The media type of an `m=` line.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MediaKind {
    Audio,
    Video,
    Text,
    Application,
    Message,
    Image,
    /// Any other token, as written.
    Other(String),
}

impl MediaKind {
    pub(crate) fn parse(s: &str) -> Self {
        match s {
            "audio" => Self::Audio,
            "video" => Self::Video,
            "text" => Self::Text,
            "application" => Self::Application,
            "message" => Self::Message,
            "image" => Self::Image,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The SDP token.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Audio => "audio",
            Self::Video => "video",
            Self::Text => "text",
            Self::Application => "application",
            Self::Message => "message",
            Self::Image => "image",
            Self::Other(s) => s,
        }
    }
}

/// An `a=` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attribute {
    /// `a=rtpmap:<pt> <encoding>/<clock rate>[/<channels>]`.
    Rtpmap(Rtpmap),
    /// `a=fmtp:<format> <parameters>`.
    Fmtp(Fmtp),
    /// `a=ptime:<ms>`.
    Ptime(u32),
    /// `a=maxptime:<ms>`.
    MaxPtime(u32),
    /// `a=sendrecv`, `a=sendonly`, `a=recvonly`, `a=inactive`, from the point of view of
    /// whoever wrote the description.
    Direction(Direction),
    /// Anything else, including a known attribute whose value did not parse: `a=<name>` or
    /// `a=<name>:<value>`, verbatim.
    Other { name: String, value: Option<String> },
}

/// `a=rtpmap`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rtpmap {
    pub payload_type: u8,
    pub encoding: String,
    pub clock_rate: u32,
    /// Encoding parameters: the channel count for audio.
    pub channels: Option<u16>,
}

/// `a=fmtp`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fmtp {
    /// The format the parameters apply to (a payload type number for RTP).
    pub format: String,
    /// The parameters, verbatim (`0-16`, `annexb=no`…).
    pub params: String,
}

impl SessionDescription {
    /// Session-level direction attribute, if any.
    pub fn direction(&self) -> Option<Direction> {
        direction_of(&self.attributes)
    }

    /// Session-level `a=ptime`, if any (non-standard there, but seen in the wild).
    pub fn ptime(&self) -> Option<u32> {
        self.attributes.iter().find_map(|a| match a {
            Attribute::Ptime(p) => Some(*p),
            _ => None,
        })
    }

    /// The direction in force for `media`: its own attribute, else the session's, else
    /// `sendrecv` (RFC 3264 §5.1).
    pub fn media_direction(&self, media: &MediaDescription) -> Direction {
        media
            .direction()
            .or_else(|| self.direction())
            .unwrap_or(Direction::SendRecv)
    }

    /// The connection in force for `media`: its own `c=`, else the session's.
    pub fn media_connection<'a>(&'a self, media: &'a MediaDescription) -> Option<&'a Connection> {
        media.connection.as_ref().or(self.connection.as_ref())
    }
}

impl MediaDescription {
    /// The formats that are RTP payload type numbers (0–127), in order.
    pub fn payload_types(&self) -> impl Iterator<Item = u8> + '_ {
        self.formats
            .iter()
            .filter_map(|f| f.parse::<u8>().ok())
            .filter(|pt| *pt < 128)
    }

    /// The `a=rtpmap` for `pt`, if present.
    pub fn rtpmap(&self, pt: u8) -> Option<&Rtpmap> {
        self.attributes.iter().find_map(|a| match a {
            Attribute::Rtpmap(m) if m.payload_type == pt => Some(m),
            _ => None,
        })
    }

    /// The `a=fmtp` parameters for `pt`, if present.
    pub fn fmtp(&self, pt: u8) -> Option<&str> {
        self.attributes.iter().find_map(|a| match a {
            Attribute::Fmtp(f) if f.format.parse::<u8>().ok() == Some(pt) => Some(f.params.as_str()),
            _ => None,
        })
    }

    /// `a=ptime`, if present.
    pub fn ptime(&self) -> Option<u32> {
        self.attributes.iter().find_map(|a| match a {
            Attribute::Ptime(p) => Some(*p),
            _ => None,
        })
    }

    /// `a=maxptime`, if present.
    pub fn maxptime(&self) -> Option<u32> {
        self.attributes.iter().find_map(|a| match a {
            Attribute::MaxPtime(p) => Some(*p),
            _ => None,
        })
    }

    /// The media-level direction attribute, if any.
    pub fn direction(&self) -> Option<Direction> {
        direction_of(&self.attributes)
    }

    /// Whether an attribute named `name` is present (any kind, e.g. `"rtcp-mux"`).
    pub fn has_attribute(&self, name: &str) -> bool {
        self.attributes.iter().any(|a| a.name() == name)
    }
}

impl Attribute {
    /// The attribute name (`rtpmap`, `sendonly`, `candidate`…).
    pub fn name(&self) -> &str {
        match self {
            Self::Rtpmap(_) => "rtpmap",
            Self::Fmtp(_) => "fmtp",
            Self::Ptime(_) => "ptime",
            Self::MaxPtime(_) => "maxptime",
            Self::Direction(d) => direction_name(*d),
            Self::Other { name, .. } => name,
        }
    }
}

pub(crate) fn direction_name(d: Direction) -> &'static str {
    match d {
        Direction::SendRecv => "sendrecv",
        Direction::SendOnly => "sendonly",
        Direction::RecvOnly => "recvonly",
        Direction::Inactive => "inactive",
    }
}

fn direction_of(attributes: &[Attribute]) -> Option<Direction> {
    attributes.iter().find_map(|a| match a {
        Attribute::Direction(d) => Some(*d),
        _ => None,
    })
}
