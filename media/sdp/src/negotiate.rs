//! Offer/answer (RFC 3264) for a G.711 endpoint with RFC 4733 telephone events.
//!
//! Payload type numbers in a description are the ones its author wants to *receive*, so the
//! [`RemoteMedia`] we send with always takes its numbers from the peer's description.

use std::net::{IpAddr, SocketAddr};

use media::{Codec, Direction, RemoteMedia};

use crate::error::SdpError;
use crate::model::{
    Attribute, Connection, Fmtp, MediaDescription, MediaKind, Origin, Rtpmap, SessionDescription, Timing,
};

/// Packetization time when the peer does not say (RFC 3551 §4.5 recommends 20 ms).
pub const DEFAULT_PTIME_MS: u32 = 20;
/// The payload type we offer for `telephone-event/8000` (a dynamic one, as is customary).
pub const OFFER_TELEPHONE_EVENT_PT: u8 = 101;
/// Transports we answer: plain RTP. (`RTP/AVPF` is plain RTP plus feedback we may ignore;
/// SRTP and DTLS profiles are for the WebRTC leg, not SIP trunks.)
const SUPPORTED_PROTOS: [&str; 2] = ["RTP/AVP", "RTP/AVPF"];
/// The RFC 4733 events we handle: DTMF 0–9, *, #, A–D and flash.
const TELEPHONE_EVENTS: &str = "0-16";
const SESSION_NAME: &str = "Hotline";

/// What we can take part in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalCaps {
    /// Supported codecs. Offers list them in this order; answers follow the offerer's order.
    pub codecs: Vec<Codec>,
    /// Whether we accept and send RFC 4733 `telephone-event/8000`.
    pub telephone_event: bool,
}

impl LocalCaps {
    /// PCMU, PCMA and telephone-event.
    pub fn g711() -> Self {
        Self {
            codecs: vec![Codec::Pcmu, Codec::Pcma],
            telephone_event: true,
        }
    }
}

/// The outcome of answering an offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The answer to send back.
    pub sdp: SessionDescription,
    /// Where and how to send media.
    pub remote: RemoteMedia,
    /// OUR direction: [`Direction::RecvOnly`] when the peer put us on hold (we must not send).
    pub direction: Direction,
}

/// Answers `offer` (RFC 3264 §6).
///
/// - The first audio `m=` line with a supported transport (RTP/AVP, RTP/AVPF), a non-zero
///   port and a codec in `caps` is accepted; every other `m=` line is rejected with port 0,
///   in its place.
/// - The codec is the first of the offer's formats that we support (the offerer's
///   preference). Static payload types 0 and 8 need no `rtpmap`; any other number needs
///   one, and an `rtpmap` always wins over the static table.
/// - `telephone-event/8000` is accepted under the offerer's payload type, answered with
///   `a=fmtp:<pt> 0-16`.
/// - The ptime is the offer's `a=ptime` (media, else session level), else 20 ms capped by
///   `a=maxptime`; values that are not a multiple of 10 between 10 and 60 fall back to 20.
/// - Our direction mirrors the offer's (sendonly → recvonly, recvonly → sendonly, inactive
///   stays, sendrecv stays). A connection address of `0.0.0.0` (or `::`), the RFC 2543 hold,
///   additionally means we must not send.
///
/// No usable stream gives [`SdpError::NoCommonCodec`] (answer the INVITE with 488).
pub fn answer_offer(
    offer: &SessionDescription,
    caps: &LocalCaps,
    local_ip: IpAddr,
    local_port: u16,
    session_id: u64,
    session_version: u64,
) -> Result<Answer, SdpError> {
    let (index, chosen) = offer
        .media
        .iter()
        .enumerate()
        .filter(|(_, m)| is_usable_audio(m))
        .find_map(|(i, m)| Some((i, choose_codec(m, caps)?)))
        .ok_or(SdpError::NoCommonCodec)?;
    let Some(offered) = offer.media.get(index) else {
        return Err(SdpError::NoCommonCodec);
    };

    let connection = offer.media_connection(offered);
    let ip = connection
        .and_then(Connection::ip)
        .ok_or(SdpError::NoConnectionAddress { media_index: index })?;
    let dtmf = caps
        .telephone_event
        .then(|| telephone_event_pt(offered))
        .flatten();
    let ptime = ptime_of(offer, offered);

    let mut direction = mirror(offer.media_direction(offered));
    if ip.is_unspecified() {
        direction = from_flags(false, direction.receives());
    }

    let media = offer
        .media
        .iter()
        .enumerate()
        .map(|(i, m)| {
            if i == index {
                audio_media(
                    local_port,
                    &offered.proto,
                    &[(chosen.0, chosen.1)],
                    dtmf,
                    ptime,
                    direction,
                )
            } else {
                rejected(m)
            }
        })
        .collect();

    Ok(Answer {
        sdp: session(local_ip, session_id, session_version, media),
        remote: RemoteMedia {
            addr: SocketAddr::new(ip, offered.port),
            codec: chosen.0,
            payload_type: chosen.1,
            dtmf_payload_type: dtmf,
            ptime_ms: ptime,
        },
        direction,
    })
}

/// An offer for one sendrecv audio stream with `caps.codecs` (static payload types) and,
/// if enabled, `telephone-event/8000` as payload type 101; ptime 20.
pub fn create_offer(
    caps: &LocalCaps,
    local_ip: IpAddr,
    local_port: u16,
    session_id: u64,
    session_version: u64,
) -> SessionDescription {
    let mut codecs: Vec<(Codec, u8)> = Vec::new();
    for c in &caps.codecs {
        if !codecs.iter().any(|(seen, _)| seen == c) {
            codecs.push((*c, c.static_payload_type()));
        }
    }
    let dtmf = caps.telephone_event.then_some(OFFER_TELEPHONE_EVENT_PT);
    let m = audio_media(
        local_port,
        "RTP/AVP",
        &codecs,
        dtmf,
        DEFAULT_PTIME_MS,
        Direction::SendRecv,
    );
    session(local_ip, session_id, session_version, vec![m])
}

/// Reads the answer to an offer we sent (as made by [`create_offer`]) and returns where and
/// how to send, and OUR direction.
///
/// The answer must have one `m=` line per offered one. The stream used is the first audio
/// stream of our offer that the answer accepted (non-zero port) with a codec we offered;
/// the codec is the first such format in the answer. Our direction is what we offered,
/// narrowed by the mirror of the answer's (and by an RFC 2543 `0.0.0.0` hold).
pub fn parse_answer(
    offer: &SessionDescription,
    answer: &SessionDescription,
) -> Result<(RemoteMedia, Direction), SdpError> {
    if offer.media.len() != answer.media.len() {
        return Err(SdpError::MediaCountMismatch {
            offered: offer.media.len(),
            answered: answer.media.len(),
        });
    }
    let offered_codecs = |m: &MediaDescription| -> Vec<Codec> {
        m.payload_types().filter_map(|pt| codec_for(m, pt)).collect()
    };
    let (index, ours, theirs, (codec, pt)) = offer
        .media
        .iter()
        .zip(&answer.media)
        .enumerate()
        .filter(|(_, (o, a))| is_usable_audio(o) && is_usable_audio(a))
        .find_map(|(i, (o, a))| {
            let caps = LocalCaps {
                codecs: offered_codecs(o),
                telephone_event: false,
            };
            Some((i, o, a, choose_codec(a, &caps)?))
        })
        .ok_or(SdpError::NoCommonCodec)?;

    let ip = answer
        .media_connection(theirs)
        .and_then(Connection::ip)
        .ok_or(SdpError::NoConnectionAddress { media_index: index })?;
    // Telephone events only if we offered them too.
    let dtmf = telephone_event_pt(ours).and_then(|_| telephone_event_pt(theirs));

    let mine = offer.media_direction(ours);
    let mirrored = mirror(answer.media_direction(theirs));
    let send = mine.sends() && mirrored.sends() && !ip.is_unspecified();
    let direction = from_flags(send, mine.receives() && mirrored.receives());

    let remote = RemoteMedia {
        addr: SocketAddr::new(ip, theirs.port),
        codec,
        payload_type: pt,
        dtmf_payload_type: dtmf,
        ptime_ms: ptime_of(answer, theirs),
    };
    Ok((remote, direction))
}

fn is_usable_audio(m: &MediaDescription) -> bool {
    m.kind == MediaKind::Audio && m.port != 0 && SUPPORTED_PROTOS.contains(&m.proto.as_str())
}

/// The first of `m`'s formats that is a codec in `caps`, with its payload type.
fn choose_codec(m: &MediaDescription, caps: &LocalCaps) -> Option<(Codec, u8)> {
    m.payload_types().find_map(|pt| {
        codec_for(m, pt)
            .filter(|c| caps.codecs.contains(c))
            .map(|c| (c, pt))
    })
}

/// The codec payload type `pt` stands for in `m`: its `rtpmap` if present (encoding names
/// are case-insensitive; 8000 Hz, one channel), else the static table of RFC 3551.
fn codec_for(m: &MediaDescription, pt: u8) -> Option<Codec> {
    match m.rtpmap(pt) {
        Some(map) => {
            let mono = map.channels.is_none_or(|c| c == 1);
            [Codec::Pcmu, Codec::Pcma].into_iter().find(|c| {
                map.encoding.eq_ignore_ascii_case(c.encoding_name())
                    && map.clock_rate == c.clock_rate()
                    && mono
            })
        }
        None => [Codec::Pcmu, Codec::Pcma]
            .into_iter()
            .find(|c| c.static_payload_type() == pt),
    }
}

/// The payload type of `telephone-event/8000` among `m`'s formats.
fn telephone_event_pt(m: &MediaDescription) -> Option<u8> {
    m.payload_types().find(|pt| {
        m.rtpmap(*pt)
            .is_some_and(|map| map.encoding.eq_ignore_ascii_case("telephone-event") && map.clock_rate == 8000)
    })
}

fn ptime_of(sdp: &SessionDescription, m: &MediaDescription) -> u32 {
    let valid = |p: u32| (10..=60).contains(&p) && p % 10 == 0;
    match m.ptime().or_else(|| sdp.ptime()) {
        Some(p) if valid(p) => p,
        Some(_) => DEFAULT_PTIME_MS,
        None => match m.maxptime() {
            Some(max) if max < DEFAULT_PTIME_MS && valid(max) => max,
            _ => DEFAULT_PTIME_MS,
        },
    }
}

/// The direction that answers `theirs`, seen from our side.
fn mirror(theirs: Direction) -> Direction {
    match theirs {
        Direction::SendRecv => Direction::SendRecv,
        Direction::SendOnly => Direction::RecvOnly,
        Direction::RecvOnly => Direction::SendOnly,
        Direction::Inactive => Direction::Inactive,
    }
}

fn from_flags(send: bool, recv: bool) -> Direction {
    match (send, recv) {
        (true, true) => Direction::SendRecv,
        (true, false) => Direction::SendOnly,
        (false, true) => Direction::RecvOnly,
        (false, false) => Direction::Inactive,
    }
}

fn session(
    ip: IpAddr,
    session_id: u64,
    session_version: u64,
    media: Vec<MediaDescription>,
) -> SessionDescription {
    let c = Connection::new(ip);
    SessionDescription {
        origin: Origin {
            username: "-".to_owned(),
            session_id,
            session_version,
            addr_type: c.addr_type,
            address: c.address.clone(),
        },
        session_name: SESSION_NAME.to_owned(),
        connection: Some(c),
        timing: vec![Timing::default()],
        attributes: Vec::new(),
        other_lines: Vec::new(),
        media,
    }
}

fn audio_media(
    port: u16,
    proto: &str,
    codecs: &[(Codec, u8)],
    dtmf: Option<u8>,
    ptime: u32,
    direction: Direction,
) -> MediaDescription {
    let mut formats: Vec<String> = codecs.iter().map(|(_, pt)| pt.to_string()).collect();
    let mut attributes: Vec<Attribute> = codecs
        .iter()
        .map(|(c, pt)| {
            Attribute::Rtpmap(Rtpmap {
                payload_type: *pt,
                encoding: c.encoding_name().to_owned(),
                clock_rate: c.clock_rate(),
                channels: None,
            })
        })
        .collect();
    if let Some(pt) = dtmf {
        formats.push(pt.to_string());
        attributes.push(Attribute::Rtpmap(Rtpmap {
            payload_type: pt,
            encoding: "telephone-event".to_owned(),
            clock_rate: 8000,
            channels: None,
        }));
        attributes.push(Attribute::Fmtp(Fmtp {
            format: pt.to_string(),
            params: TELEPHONE_EVENTS.to_owned(),
        }));
    }
    attributes.push(Attribute::Ptime(ptime));
    attributes.push(Attribute::Direction(direction));
    MediaDescription {
        kind: MediaKind::Audio,
        port,
        port_count: None,
        proto: proto.to_owned(),
        formats,
        connection: None,
        attributes,
        other_lines: Vec::new(),
    }
}

/// The answer's line for a stream we refuse: same media and transport, port 0, and the
/// offered formats (at least one is required; RFC 3264 §6 says they do not matter).
fn rejected(offered: &MediaDescription) -> MediaDescription {
    let mut formats = offered.formats.clone();
    if formats.is_empty() {
        formats.push("0".to_owned());
    }
    MediaDescription {
        kind: offered.kind.clone(),
        port: 0,
        port_count: None,
        proto: offered.proto.clone(),
        formats,
        connection: None,
        attributes: Vec::new(),
        other_lines: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vectors::{BARESIP, LINPHONE, SIPP, crlf, offer_text};
    use proptest::prelude::*;
    use std::net::Ipv4Addr;

    const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7));

    fn offer(text: &str) -> SessionDescription {
        SessionDescription::parse(crlf(text).as_bytes()).unwrap()
    }

    fn answer(text: &str) -> Result<Answer, SdpError> {
        answer_offer(&offer(text), &LocalCaps::g711(), LOCAL, 40_000, 42, 1)
    }

    /// A minimal offer with `m` as its only media section (LF-joined lines).
    fn with_audio(m: &str) -> String {
        format!("v=0\no=- 1 1 IN IP4 192.0.2.10\ns=-\nc=IN IP4 192.0.2.10\nt=0 0\n{m}")
    }

    #[test]
    fn sipp_offer_is_answered_with_pcmu_and_its_telephone_event() {
        let a = answer(SIPP).unwrap();
        assert_eq!(
            a.remote,
            RemoteMedia {
                addr: "127.0.0.1:6000".parse().unwrap(),
                codec: Codec::Pcmu,
                payload_type: 0,
                dtmf_payload_type: Some(101),
                ptime_ms: 20,
            }
        );
        assert_eq!(a.direction, Direction::SendRecv);
        assert_eq!(
            a.sdp.to_string(),
            "v=0\r\n\
             o=- 42 1 IN IP4 198.51.100.7\r\n\
             s=Hotline\r\n\
             c=IN IP4 198.51.100.7\r\n\
             t=0 0\r\n\
             m=audio 40000 RTP/AVP 0 101\r\n\
             a=rtpmap:0 PCMU/8000\r\n\
             a=rtpmap:101 telephone-event/8000\r\n\
             a=fmtp:101 0-16\r\n\
             a=ptime:20\r\n\
             a=sendrecv\r\n"
        );
    }

    #[test]
    fn answer_reparses_to_itself() {
        for v in [SIPP, BARESIP, LINPHONE] {
            let a = answer(v).unwrap();
            assert_eq!(
                SessionDescription::parse(a.sdp.to_string().as_bytes()).unwrap(),
                a.sdp
            );
        }
    }

    #[test]
    fn baresip_offer_gets_its_first_choice_pcma() {
        let a = answer(BARESIP).unwrap();
        assert_eq!((a.remote.codec, a.remote.payload_type), (Codec::Pcma, 8));
        assert_eq!(a.remote.dtmf_payload_type, Some(101));
        assert_eq!(a.remote.addr, "192.168.1.50:10928".parse().unwrap());
        let m = &a.sdp.media[0];
        assert_eq!(
            m.formats,
            ["8", "101"],
            "only the chosen codec and telephone-event"
        );
        assert_eq!(m.rtpmap(8).map(|r| r.encoding.as_str()), Some("PCMA"));
    }

    #[test]
    fn our_preference_does_not_override_the_callers() {
        // We list PCMA first; the caller lists PCMU first: the caller wins.
        let caps = LocalCaps {
            codecs: vec![Codec::Pcma, Codec::Pcmu],
            telephone_event: true,
        };
        let a = answer_offer(&offer(SIPP), &caps, LOCAL, 40_000, 1, 1).unwrap();
        assert_eq!(a.remote.codec, Codec::Pcmu);
    }

    #[test]
    fn linphone_offer_picks_pcmu_and_8khz_events_and_rejects_video() {
        let a = answer(LINPHONE).unwrap();
        assert_eq!((a.remote.codec, a.remote.payload_type), (Codec::Pcmu, 0));
        assert_eq!(
            a.remote.dtmf_payload_type,
            Some(100),
            "telephone-event/8000, not the 48 kHz one"
        );
        assert_eq!(a.remote.addr, "10.0.0.23:7078".parse().unwrap());
        assert_eq!(a.sdp.media.len(), 2, "one answer line per offered line");
        let video = &a.sdp.media[1];
        assert_eq!((video.kind.clone(), video.port), (MediaKind::Video, 0));
        let text = a.sdp.to_string();
        assert!(text.contains("m=video 0 RTP/AVP 96 97\r\n"));
        assert!(text.contains("a=fmtp:100 0-16\r\n"));
        assert!(!text.contains("candidate"), "we do not do ICE on SIP legs");
    }

    #[test]
    fn dynamic_payload_types_need_an_rtpmap() {
        let a = answer(&with_audio(
            "m=audio 5000 RTP/AVP 96 110\na=rtpmap:110 pcma/8000\n",
        ))
        .unwrap();
        assert_eq!(
            (a.remote.codec, a.remote.payload_type),
            (Codec::Pcma, 110),
            "96 has no rtpmap"
        );
        assert_eq!(a.sdp.media[0].formats, ["110"]);
        assert_eq!(
            a.sdp.media[0].rtpmap(110).map(|r| r.encoding.as_str()),
            Some("PCMA")
        );
        assert_eq!(
            answer(&with_audio("m=audio 5000 RTP/AVP 96\n")),
            Err(SdpError::NoCommonCodec)
        );
    }

    #[test]
    fn an_rtpmap_overrides_the_static_table() {
        let o = with_audio("m=audio 5000 RTP/AVP 0 8\na=rtpmap:0 opus/48000/2\n");
        assert_eq!(answer(&o).unwrap().remote.codec, Codec::Pcma);
        let stereo = with_audio("m=audio 5000 RTP/AVP 0\na=rtpmap:0 PCMU/8000/2\n");
        assert_eq!(answer(&stereo), Err(SdpError::NoCommonCodec));
    }

    #[test]
    fn direction_mirrors_the_offer() {
        let cases = [
            ("a=sendonly\n", Direction::RecvOnly, "a=recvonly"),
            ("a=recvonly\n", Direction::SendOnly, "a=sendonly"),
            ("a=inactive\n", Direction::Inactive, "a=inactive"),
            ("a=sendrecv\n", Direction::SendRecv, "a=sendrecv"),
            ("", Direction::SendRecv, "a=sendrecv"),
        ];
        for (attr, ours, line) in cases {
            let a = answer(&with_audio(&format!("m=audio 5000 RTP/AVP 0\n{attr}"))).unwrap();
            assert_eq!(a.direction, ours, "offer {attr:?}");
            assert!(
                a.sdp.to_string().contains(&format!("{line}\r\n")),
                "offer {attr:?}"
            );
        }
        assert!(!Direction::RecvOnly.sends(), "on hold we must not send");
    }

    #[test]
    fn session_level_direction_applies_unless_the_media_overrides_it() {
        let held = "v=0\no=- 1 2 IN IP4 192.0.2.10\ns=-\nc=IN IP4 192.0.2.10\nt=0 0\na=sendonly\nm=audio 5000 RTP/AVP 0\n";
        assert_eq!(answer(held).unwrap().direction, Direction::RecvOnly);
        let overridden = format!("{held}a=sendrecv\n");
        assert_eq!(answer(&overridden).unwrap().direction, Direction::SendRecv);
    }

    #[test]
    fn old_style_hold_with_zero_address_means_we_must_not_send() {
        let o = "v=0\no=- 1 2 IN IP4 192.0.2.10\ns=-\nc=IN IP4 0.0.0.0\nt=0 0\nm=audio 5000 RTP/AVP 0\n";
        let a = answer(o).unwrap();
        assert_eq!(a.direction, Direction::RecvOnly);
        assert!(!a.direction.sends());
        assert!(a.sdp.to_string().contains("a=recvonly\r\n"));
        let both = answer(&format!("{o}a=sendonly\n")).unwrap();
        assert_eq!(both.direction, Direction::RecvOnly);
        let inactive = answer(&format!("{o}a=recvonly\n")).unwrap();
        assert_eq!(inactive.direction, Direction::Inactive);
    }

    #[test]
    fn no_common_codec_is_488() {
        let err = answer(&with_audio(
            "m=audio 5000 RTP/AVP 9 18 96\na=rtpmap:96 opus/48000/2\n",
        ))
        .unwrap_err();
        assert_eq!(err, SdpError::NoCommonCodec);
        assert_eq!(err.sip_status(), 488);
        let no_g711_caps = LocalCaps {
            codecs: vec![],
            telephone_event: true,
        };
        assert_eq!(
            answer_offer(&offer(SIPP), &no_g711_caps, LOCAL, 1, 1, 1).unwrap_err(),
            SdpError::NoCommonCodec
        );
    }

    #[test]
    fn srtp_disabled_and_non_audio_streams_are_not_usable() {
        for m in [
            "m=audio 5000 RTP/SAVP 0\n",
            "m=audio 5000 UDP/TLS/RTP/SAVPF 0\n",
            "m=audio 0 RTP/AVP 0\n",
            "m=video 5000 RTP/AVP 0\n",
        ] {
            assert_eq!(answer(&with_audio(m)), Err(SdpError::NoCommonCodec), "{m}");
        }
        let no_media = "v=0\no=- 1 1 IN IP4 192.0.2.10\ns=-\nt=0 0\n";
        assert_eq!(answer(no_media), Err(SdpError::NoCommonCodec));
    }

    #[test]
    fn first_audio_line_with_a_common_codec_wins_and_the_others_are_rejected_in_place() {
        let o = with_audio(
            "m=audio 5000 RTP/AVP 9\n\
             m=audio 5002 RTP/SAVP 0\n\
             m=audio 5004 RTP/AVPF 8\n\
             m=audio 5006 RTP/AVP 0\n",
        );
        let a = answer(&o).unwrap();
        assert_eq!(a.remote.addr.port(), 5004);
        assert_eq!(a.remote.codec, Codec::Pcma);
        let ports: Vec<u16> = a.sdp.media.iter().map(|m| m.port).collect();
        assert_eq!(ports, [0, 0, 40_000, 0]);
        assert_eq!(
            a.sdp.media[2].proto, "RTP/AVPF",
            "the answer keeps the offered transport"
        );
        assert_eq!(a.sdp.media[1].proto, "RTP/SAVP");
    }

    #[test]
    fn ipv6_offer_and_ipv6_answer() {
        let o =
            "v=0\no=- 1 1 IN IP6 2001:db8::10\ns=-\nc=IN IP6 2001:db8::10\nt=0 0\nm=audio 5000 RTP/AVP 8\n";
        let local: IpAddr = "2001:db8::7".parse().unwrap();
        let a = answer_offer(&offer(o), &LocalCaps::g711(), local, 40_000, 1, 1).unwrap();
        assert_eq!(a.remote.addr, "[2001:db8::10]:5000".parse().unwrap());
        let text = a.sdp.to_string();
        assert!(text.contains("o=- 1 1 IN IP6 2001:db8::7\r\n") && text.contains("c=IN IP6 2001:db8::7\r\n"));
    }

    #[test]
    fn media_level_connection_overrides_the_session_one() {
        let a = answer(&with_audio("m=audio 5000 RTP/AVP 0\nc=IN IP4 203.0.113.9\n")).unwrap();
        assert_eq!(a.remote.addr, "203.0.113.9:5000".parse().unwrap());
    }

    #[test]
    fn missing_or_host_name_connection_is_an_error() {
        let none = "v=0\no=- 1 1 IN IP4 192.0.2.10\ns=-\nt=0 0\nm=audio 5000 RTP/AVP 0\n";
        assert_eq!(
            answer(none),
            Err(SdpError::NoConnectionAddress { media_index: 0 })
        );
        let host =
            "v=0\no=- 1 1 IN IP4 192.0.2.10\ns=-\nc=IN IP4 pbx.example.com\nt=0 0\nm=audio 5000 RTP/AVP 0\n";
        assert_eq!(answer(host).unwrap_err().sip_status(), 488);
    }

    #[test]
    fn ptime_comes_from_the_offer() {
        let ptime = |attrs: &str| answer(&with_audio(&format!("m=audio 5000 RTP/AVP 0\n{attrs}"))).unwrap();
        assert_eq!(ptime("a=ptime:30\n").remote.ptime_ms, 30);
        assert!(ptime("a=ptime:30\n").sdp.to_string().contains("a=ptime:30\r\n"));
        assert_eq!(ptime("").remote.ptime_ms, 20);
        assert_eq!(
            ptime("a=ptime:7\n").remote.ptime_ms,
            20,
            "unusable ptime falls back"
        );
        assert_eq!(ptime("a=ptime:0\n").remote.ptime_ms, 20);
        assert_eq!(ptime("a=maxptime:10\n").remote.ptime_ms, 10);
        assert_eq!(ptime("a=maxptime:60\n").remote.ptime_ms, 20);
        let session_level = "v=0\no=- 1 1 IN IP4 192.0.2.10\ns=-\nc=IN IP4 192.0.2.10\nt=0 0\na=ptime:40\nm=audio 5000 RTP/AVP 0\n";
        assert_eq!(answer(session_level).unwrap().remote.ptime_ms, 40);
    }

    #[test]
    fn telephone_event_is_left_out_when_we_or_they_do_not_support_it() {
        let caps = LocalCaps {
            codecs: vec![Codec::Pcmu],
            telephone_event: false,
        };
        let a = answer_offer(&offer(SIPP), &caps, LOCAL, 40_000, 1, 1).unwrap();
        assert_eq!(a.remote.dtmf_payload_type, None);
        assert_eq!(a.sdp.media[0].formats, ["0"]);
        assert!(!a.sdp.to_string().contains("telephone-event"));

        let plain = answer(&with_audio("m=audio 5000 RTP/AVP 0\n")).unwrap();
        assert_eq!(plain.remote.dtmf_payload_type, None);
    }

    #[test]
    fn session_id_and_version_are_ours() {
        let a = answer_offer(&offer(SIPP), &LocalCaps::g711(), LOCAL, 40_000, 77, 3).unwrap();
        assert_eq!((a.sdp.origin.session_id, a.sdp.origin.session_version), (77, 3));
    }

    #[test]
    fn create_offer_lists_our_codecs_and_telephone_event() {
        let o = create_offer(&LocalCaps::g711(), LOCAL, 30_000, 5, 1);
        assert_eq!(
            o.to_string(),
            "v=0\r\n\
             o=- 5 1 IN IP4 198.51.100.7\r\n\
             s=Hotline\r\n\
             c=IN IP4 198.51.100.7\r\n\
             t=0 0\r\n\
             m=audio 30000 RTP/AVP 0 8 101\r\n\
             a=rtpmap:0 PCMU/8000\r\n\
             a=rtpmap:8 PCMA/8000\r\n\
             a=rtpmap:101 telephone-event/8000\r\n\
             a=fmtp:101 0-16\r\n\
             a=ptime:20\r\n\
             a=sendrecv\r\n"
        );
    }

    #[test]
    fn offer_answer_round_trip_between_two_of_us() {
        let peer_ip: IpAddr = "192.0.2.50".parse().unwrap();
        let our_offer = create_offer(&LocalCaps::g711(), LOCAL, 30_000, 5, 1);
        let pcma_only = LocalCaps {
            codecs: vec![Codec::Pcma],
            telephone_event: true,
        };
        let their = answer_offer(&our_offer, &pcma_only, peer_ip, 50_000, 9, 1).unwrap();
        let (remote, dir) = parse_answer(&our_offer, &their.sdp).unwrap();
        assert_eq!(
            remote,
            RemoteMedia {
                addr: "192.0.2.50:50000".parse().unwrap(),
                codec: Codec::Pcma,
                payload_type: 8,
                dtmf_payload_type: Some(101),
                ptime_ms: 20,
            }
        );
        assert_eq!(dir, Direction::SendRecv);
    }

    fn answer_to_our_offer(m: &str) -> Result<(RemoteMedia, Direction), SdpError> {
        let our_offer = create_offer(&LocalCaps::g711(), LOCAL, 30_000, 5, 1);
        let text = format!("v=0\no=- 9 1 IN IP4 192.0.2.50\ns=-\nc=IN IP4 192.0.2.50\nt=0 0\n{m}");
        parse_answer(&our_offer, &offer(&text))
    }

    #[test]
    fn parse_answer_reads_their_codec_direction_and_hold() {
        let (r, d) = answer_to_our_offer("m=audio 50000 RTP/AVP 8 0\na=sendonly\na=ptime:30\n").unwrap();
        assert_eq!(
            (r.codec, r.payload_type, r.dtmf_payload_type, r.ptime_ms),
            (Codec::Pcma, 8, None, 30)
        );
        assert_eq!(d, Direction::RecvOnly);

        let (_, d) = answer_to_our_offer("m=audio 50000 RTP/AVP 0\nc=IN IP4 0.0.0.0\n").unwrap();
        assert_eq!(d, Direction::RecvOnly, "zero address: we must not send");

        let (r, _) =
            answer_to_our_offer("m=audio 50000 RTP/AVP 0 96\na=rtpmap:96 telephone-event/8000\n").unwrap();
        assert_eq!(
            r.dtmf_payload_type,
            Some(96),
            "their number for events is the one we send"
        );
    }

    #[test]
    fn parse_answer_rejects_a_refused_or_mismatched_answer() {
        assert_eq!(
            answer_to_our_offer("m=audio 0 RTP/AVP 0\n"),
            Err(SdpError::NoCommonCodec)
        );
        assert_eq!(
            answer_to_our_offer("m=audio 50000 RTP/AVP 9\n"),
            Err(SdpError::NoCommonCodec)
        );
        assert_eq!(
            answer_to_our_offer("m=audio 50000 RTP/AVP 0\nm=video 0 RTP/AVP 96\n"),
            Err(SdpError::MediaCountMismatch {
                offered: 1,
                answered: 2
            })
        );
        // A codec we did not offer is not accepted even if we could decode it.
        let our_pcmu_only = create_offer(
            &LocalCaps {
                codecs: vec![Codec::Pcmu],
                telephone_event: false,
            },
            LOCAL,
            1,
            1,
            1,
        );
        let pcma = offer(&with_audio("m=audio 50000 RTP/AVP 8\n"));
        assert_eq!(parse_answer(&our_pcmu_only, &pcma), Err(SdpError::NoCommonCodec));
    }

    // About 15 % of the generated offers get an answer; the rest exercise the error paths.
    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 1000,
            rng_seed: proptest::test_runner::RngSeed::Fixed(0xA115_3264),
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        #[test]
        fn any_offer_gets_a_well_formed_answer_or_an_error(text in offer_text()) {
            let o = SessionDescription::parse(text.as_bytes());
            prop_assert!(o.is_ok(), "generated offers are valid: {:?}", o);
            let Ok(o) = o else { return Ok(()) };
            if let Ok(a) = answer_offer(&o, &LocalCaps::g711(), LOCAL, 40_000, 1, 1) {
                prop_assert_eq!(a.sdp.media.len(), o.media.len());
                prop_assert_eq!(a.sdp.media.iter().filter(|m| m.port != 0).count(), 1);
                prop_assert!(a.sdp.media.iter().all(|m| !m.formats.is_empty()));
                let reparsed = SessionDescription::parse(a.sdp.to_string().as_bytes());
                prop_assert_eq!(reparsed, Ok(a.sdp.clone()));
                // And we, as the offerer, understand that answer.
                prop_assert!(parse_answer(&o, &a.sdp).is_ok());
            }
        }
    }
}
