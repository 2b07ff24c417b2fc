//! Offers as real clients send them, for tests (`\n`-joined; tests add CRLF as needed),
//! and a generator of plausible SDP lines for property tests.

use proptest::prelude::*;

/// SIPp's built-in UAC (`-sn uac`), PCMU plus RFC 4733 events.
pub(crate) const SIPP: &str = "v=0
o=user1 53655765 2353687637 IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
m=audio 6000 RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-11,16
";

/// baresip with several codecs, PCMA first, plus bandwidth, rtcp-mux and ssrc lines.
pub(crate) const BARESIP: &str = "v=0
o=- 1414396474 3082486830 IN IP4 192.168.1.50
s=-
c=IN IP4 192.168.1.50
t=0 0
m=audio 10928 RTP/AVP 8 0 9 96 101
b=AS:64
a=rtpmap:8 PCMA/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:9 G722/8000
a=rtpmap:96 opus/48000/2
a=fmtp:96 stereo=1;sprop-stereo=1
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=rtcp-mux
a=ssrc:2719254466 cname:9ba6c1f3-9b0b-4dbc-b47a-4e71d6c0b7e5
a=ptime:20
a=sendrecv
";

/// Linphone-like: dynamic payload types first, three telephone-event rates, ICE
/// candidates, RTCP-XR at session level, and a video stream.
pub(crate) const LINPHONE: &str = "v=0
o=alice 2819 3617 IN IP4 10.0.0.23
s=Talk
c=IN IP4 10.0.0.23
t=0 0
a=ice-pwd:5a3f7e9c2b1d4e8f0a6c3b7d
a=ice-ufrag:b8e2a4f1
a=rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics
m=audio 7078 RTP/AVP 96 97 98 0 8 101 99 100
a=rtpmap:96 opus/48000/2
a=fmtp:96 useinbandfec=1
a=rtpmap:97 speex/16000
a=fmtp:97 vbr=on
a=rtpmap:98 speex/8000
a=fmtp:98 vbr=on
a=rtpmap:101 telephone-event/48000
a=rtpmap:99 telephone-event/16000
a=rtpmap:100 telephone-event/8000
a=rtcp:7079
a=candidate:1 1 UDP 2130706431 10.0.0.23 7078 typ host
a=candidate:1 2 UDP 2130706430 10.0.0.23 7079 typ host
a=candidate:2 1 UDP 1694498815 203.0.113.5 7078 typ srflx raddr 10.0.0.23 rport 7078
a=rtcp-fb:* trr-int 1000
a=rtcp-fb:* ccm tmmbr
m=video 9078 RTP/AVP 96 97
a=rtpmap:96 VP8/90000
a=rtpmap:97 H264/90000
a=fmtp:97 profile-level-id=42801F
a=rtcp-fb:* nack pli
";

/// Joins `sdp`'s lines with CRLF, as a well-behaved client sends them.
pub(crate) fn crlf(sdp: &str) -> String {
    sdp.lines().map(|l| format!("{l}\r\n")).collect()
}

/// Lines that are mostly plausible, in any order: reaches deep into the parser (about a
/// quarter of the generated descriptions parse, so the round trip is exercised).
pub(crate) fn sdp_line() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => Just("s=-".to_owned()),
        4 => Just("t=0 0".to_owned()),
        4 => Just("c=IN IP6 ::".to_owned()),
        4 => Just("a=sendonly".to_owned()),
        10 => "m=(audio|video) [0-9]{1,5}(/[0-9])? (RTP/AVP|RTP/SAVP)( [0-9]{1,3}){0,4}",
        4 => "c=IN IP[46] [0-9a-f.:/]{0,20}",
        10 => "a=(rtpmap|fmtp|ptime|maxptime):[ -~]{0,20}",
        6 => "a=(rtpmap|fmtp):[0-9]{1,3} [A-Za-z-]{1,8}/[0-9]{1,5}(/[0-9])?",
        4 => "[b-z]=[ -~]{0,20}",
        1 => "[ -~]{0,30}",
        1 => Just("v=0".to_owned()),
    ]
}

/// A structurally valid offer with random media sections: session header, then 0–4
/// `m=` sections of plausible lines. Most of these parse, so negotiation is exercised.
pub(crate) fn offer_text() -> impl Strategy<Value = String> {
    let conn = r"c=IN (IP4 192\.0\.2\.9|IP4 0\.0\.0\.0|IP6 ::|IP6 2001:db8::9|IP4 pbx\.example\.com)";
    let media_attr = prop_oneof![
        "a=rtpmap:(0|8|9|96|101|110) (PCMU|PCMA|pcmu|telephone-event|opus|G722)/(8000|16000|48000)(/2)?",
        "a=fmtp:(96|101) [ -~]{0,12}",
        "a=(sendrecv|sendonly|recvonly|inactive|rtcp-mux)",
        "a=(ptime|maxptime):[0-9]{1,3}",
        "a=candidate:1 1 UDP 2130706431 10.0.0.23 7078 typ host",
        "b=AS:[0-9]{1,3}",
    ];
    let section = (
        "m=(audio|audio|audio|video|image) (0|[1-9][0-9]{0,3}) (RTP/AVP|RTP/AVP|RTP/AVPF|RTP/SAVP|udptl)( (0|8|0|8|9|96|101|110|t38)){1,5}",
        proptest::option::of(conn),
        proptest::collection::vec(media_attr, 0..7),
    )
        .prop_map(|(m, c, attrs)| {
            let lines = std::iter::once(m).chain(c).chain(attrs);
            lines.map(|l| format!("{l}\r\n")).collect::<String>()
        });
    (
        proptest::option::weighted(0.8, conn),
        proptest::option::of("a=(sendonly|recvonly|inactive|ptime:30)"),
        proptest::collection::vec(section, 0..5),
    )
        .prop_map(|(c, a, sections)| {
            let mut s = String::from("v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\ns=-\r\n");
            c.iter().chain(&a).for_each(|l| s += &format!("{l}\r\n"));
            s += "t=0 0\r\n";
            sections.iter().for_each(|m| s += m);
            s
        })
}
