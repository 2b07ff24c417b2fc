//! Property tests: no panic on any input; generated messages round-trip; stream chunking is invisible.
#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

use std::net::{Ipv4Addr, Ipv6Addr};

use bytes::Bytes;
use hotline_sip_msg::{
    CSeq, Contact, HeaderName, Host, Limits, Message, Method, NameAddr, Param, Request, Response, SipUri,
    StatusCode, StreamFramer, TelUri, Uri, Via, bad_request_response, parse_datagram, parse_stream_message,
};
use proptest::prelude::*;

/// 96 cases keep `cargo test` fast; set `PROPTEST_CASES` for a longer hunt.
fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(96);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ------------------------------------------------------------------ generators

const TOKEN: &str = "[a-zA-Z0-9.!%*_+`'~-]{1,10}";

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        Just(Method::Invite),
        Just(Method::Ack),
        Just(Method::Bye),
        Just(Method::Cancel),
        Just(Method::Options),
        Just(Method::Register),
        Just(Method::Refer),
        Just(Method::Message),
        Just(Method::Prack),
        "[A-Za-z][A-Za-z0-9.!%*_+`'~-]{0,10}".prop_map(|s| Method::from_token(&s).unwrap()),
    ]
}

fn host() -> impl Strategy<Value = Host> {
    prop_oneof![
        "[a-z][a-z0-9-]{0,8}(\\.[a-z][a-z0-9-]{0,8}){0,3}".prop_map(Host::Domain),
        any::<u32>().prop_map(|a| Host::V4(Ipv4Addr::from(a))),
        any::<u128>().prop_map(|a| Host::V6(Ipv6Addr::from(a))),
    ]
}

/// Any text without control characters (what a header can carry).
fn text(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(prop_oneof![8 => 0x20u32..0x7f, 1 => 0xa0u32..0x3000], 0..max)
        .prop_map(|v| v.into_iter().filter_map(char::from_u32).collect())
}

fn uri_param() -> impl Strategy<Value = Param> {
    ("[a-z][a-z0-9-]{0,6}", proptest::option::of(text(8))).prop_map(|(name, value)| Param { name, value })
}

fn sip_uri() -> impl Strategy<Value = SipUri> {
    (
        any::<bool>(),
        proptest::option::of(text(12).prop_filter("non-empty", |s| !s.is_empty())),
        proptest::option::of(text(6)),
        host(),
        proptest::option::of(any::<u16>()),
        proptest::collection::vec(uri_param(), 0..4),
        proptest::collection::vec(("[A-Za-z][A-Za-z-]{0,6}", text(8)), 0..3),
    )
        .prop_map(|(secure, user, password, host, port, params, headers)| SipUri {
            secure,
            password: user.as_ref().and(password),
            user,
            host,
            port,
            params,
            headers,
        })
}

fn uri() -> BoxedStrategy<Uri> {
    prop_oneof![
        6 => sip_uri().prop_map(Uri::Sip),
        1 => ("\\+?[0-9][0-9-]{0,12}", proptest::collection::vec(uri_param(), 0..3))
            .prop_map(|(number, params)| Uri::Tel(TelUri { number, params })),
        1 => ("(urn|mailto|im)", "[a-z0-9][a-z0-9:.@-]{0,15}").prop_map(|(scheme, rest)| Uri::Other { scheme, rest }),
    ]
    .boxed()
}

fn header_params() -> impl Strategy<Value = Vec<Param>> {
    proptest::collection::vec(
        (
            TOKEN,
            proptest::option::of(prop_oneof![TOKEN.boxed(), "\"[ -!#-\\[\\]-~]{0,8}\"".boxed()]),
        )
            .prop_map(|(name, value)| Param { name, value }),
        0..3,
    )
}

fn name_addr() -> BoxedStrategy<NameAddr> {
    (proptest::option::of(text(16)), uri(), header_params())
        .prop_map(|(display_name, uri, params)| NameAddr {
            display_name,
            uri,
            params,
        })
        .boxed()
}

fn via() -> impl Strategy<Value = Via> {
    (
        "(UDP|TCP|TLS|WS|WSS|SCTP)",
        host(),
        proptest::option::of(any::<u16>()),
        TOKEN,
        header_params(),
    )
        .prop_map(|(transport, host, port, branch, mut params)| {
            params.insert(0, Param::new("branch", format!("z9hG4bK{branch}")));
            Via {
                transport,
                host,
                port,
                params,
            }
        })
}

/// The dialog headers every message carries, as typed values.
#[derive(Debug, Clone)]
struct Core {
    vias: Vec<Vec<Via>>,
    from: NameAddr,
    to: NameAddr,
    call_id: String,
    seq: u32,
    contacts: Vec<NameAddr>,
    max_forwards: Option<u8>,
    extra: Vec<(HeaderName, String)>,
    body: Vec<u8>,
}

fn extra_header() -> impl Strategy<Value = (HeaderName, String)> {
    let value = "[!-~]([ -~]{0,30}[!-~])?";
    prop_oneof![
        ("X-[A-Za-z0-9-]{1,10}", value).prop_map(|(n, v)| (HeaderName::parse(&n), v)),
        value.prop_map(|v| (HeaderName::Subject, v)),
        value.prop_map(|v| (HeaderName::UserAgent, v)),
        text(20).prop_map(|v| (HeaderName::Other("X-Text".into()), v.trim_matches(' ').to_owned())),
    ]
}

fn core() -> BoxedStrategy<Core> {
    (
        proptest::collection::vec(proptest::collection::vec(via(), 1..3), 1..3),
        name_addr(),
        name_addr(),
        "[a-zA-Z0-9.!%*_+`'~-]{1,16}(@[a-z0-9.]{1,10})?",
        any::<u32>(),
        proptest::collection::vec(name_addr(), 0..3),
        proptest::option::of(any::<u8>()),
        proptest::collection::vec(extra_header(), 0..4),
        proptest::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(
            |(vias, from, to, call_id, seq, contacts, max_forwards, extra, body)| Core {
                vias,
                from,
                to,
                call_id,
                seq,
                contacts,
                max_forwards,
                extra,
                body,
            },
        )
        .boxed()
}

fn fill_headers(h: &mut hotline_sip_msg::Headers, c: &Core, method: &Method) {
    for line in &c.vias {
        let v: Vec<String> = line.iter().map(ToString::to_string).collect();
        h.push(HeaderName::Via, v.join(", "));
    }
    if let Some(mf) = c.max_forwards {
        h.push(HeaderName::MaxForwards, mf.to_string());
    }
    h.push(HeaderName::From, c.from.to_string());
    h.push(HeaderName::To, c.to.to_string());
    h.push(HeaderName::CallId, c.call_id.clone());
    h.push(
        HeaderName::CSeq,
        CSeq {
            seq: c.seq,
            method: method.clone(),
        }
        .to_string(),
    );
    if !c.contacts.is_empty() {
        let v: Vec<String> = c.contacts.iter().map(ToString::to_string).collect();
        h.push(HeaderName::Contact, v.join(", "));
    }
    for (n, v) in &c.extra {
        h.push(n.clone(), v.clone());
    }
}

fn request() -> impl Strategy<Value = (Message, Core)> {
    (method(), uri(), core()).prop_map(|(method, uri, c)| {
        let mut r = Request::new(method.clone(), uri);
        fill_headers(&mut r.headers, &c, &method);
        r.body = Bytes::from(c.body.clone());
        (Message::Request(r), c)
    })
}

fn response() -> impl Strategy<Value = (Message, Core)> {
    (100u16..700, text(20), method(), core()).prop_map(|(code, reason, method, c)| {
        let mut r = Response::new(StatusCode(code));
        r.reason = reason;
        fill_headers(&mut r.headers, &c, &method);
        r.body = Bytes::from(c.body.clone());
        (Message::Response(r), c)
    })
}

fn message() -> BoxedStrategy<(Message, Core)> {
    prop_oneof![request(), response()].boxed()
}

/// A printed valid message with a few random byte edits: reaches deep into the parser.
fn mutated() -> impl Strategy<Value = Vec<u8>> {
    let special = prop_oneof![
        Just(b'\r'),
        Just(b'\n'),
        Just(b'"'),
        Just(b'<'),
        Just(b'>'),
        Just(b';'),
        Just(b','),
        Just(b'%'),
        Just(b':'),
        Just(b'['),
        Just(b']'),
        Just(b' '),
        Just(b'\t'),
        Just(0u8),
        Just(0xffu8),
        Just(b'\\'),
        Just(b'='),
        Just(b'@'),
        Just(b'9'),
        Just(b'-'),
    ];
    (
        message(),
        proptest::collection::vec((any::<prop::sample::Index>(), 0u8..3, special), 1..6),
    )
        .prop_map(|((m, _), edits)| {
            let mut bytes = m.to_bytes().to_vec();
            for (at, op, b) in edits {
                if bytes.is_empty() {
                    break;
                }
                let i = at.index(bytes.len());
                match op {
                    0 => bytes.insert(i, b),
                    1 => {
                        bytes.remove(i);
                    }
                    _ => bytes.truncate(i),
                }
            }
            bytes
        })
}

fn without_content_length(mut m: Message) -> Message {
    m.headers_mut().remove(&HeaderName::ContentLength);
    m
}

/// Feeds `data` to a framer split at `cuts`; returns the messages (or errors) and the ping count.
fn frame(data: &[u8], cuts: &[prop::sample::Index], limits: Limits) -> (Vec<Result<Message, String>>, usize) {
    let mut points: Vec<usize> = cuts.iter().map(|c| c.index(data.len() + 1)).collect();
    points.push(0);
    points.push(data.len());
    points.sort_unstable();
    points.dedup();
    let mut f = StreamFramer::new(limits);
    let mut out = Vec::new();
    let mut pings = 0;
    for w in points.windows(2) {
        let chunk = &data[w[0]..w[1]];
        if let Err(e) = f.push(chunk) {
            out.push(Err(format!("push: {e}")));
            break;
        }
        while let Some(m) = f.next_message() {
            out.push(m.map_err(|e| e.to_string()));
        }
        pings += f.take_pings();
    }
    (out, pings)
}

fn exercise(data: &[u8], cuts: &[prop::sample::Index]) {
    let limits = Limits {
        max_message_size: 1500,
        max_body: 1000,
        ..Limits::default()
    };
    for l in [Limits::default(), limits] {
        if let Err(e) = parse_datagram(data, &l) {
            let _ = bad_request_response(data, &e);
        } else if let Ok(m) = parse_datagram(data, &l) {
            // Anything we accept, we can print and accept again.
            // The printer may expand compact names and add the Content-Length header.
            let relaxed = Limits {
                max_message_size: usize::MAX,
                max_headers: l.max_headers + 1,
                ..l
            };
            let again = parse_datagram(&m.to_bytes(), &relaxed);
            prop_assert_ok(&again);
        }
        let _ = parse_stream_message(data, &l);
        let _ = frame(data, cuts, l);
    }
}

fn prop_assert_ok<T: std::fmt::Debug, E: std::fmt::Debug>(r: &Result<T, E>) {
    assert!(r.is_ok(), "reprinted message failed to parse: {r:?}");
}

// ------------------------------------------------------------------ properties

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_bytes_never_panic(
        data in proptest::collection::vec(any::<u8>(), 0..2048),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..8),
    ) {
        exercise(&data, &cuts);
    }

    #[test]
    fn mutated_messages_never_panic(
        data in mutated(),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..8),
    ) {
        exercise(&data, &cuts);
    }

    #[test]
    fn generated_messages_round_trip((msg, core) in message()) {
        let printed = msg.to_bytes();
        let parsed = parse_datagram(&printed, &Limits::default());
        prop_assert!(parsed.is_ok(), "{:?}\n{}", parsed, String::from_utf8_lossy(&printed));
        let parsed = parsed.unwrap();
        prop_assert_eq!(parsed.headers().content_length().unwrap(), Some(core.body.len()));
        prop_assert_eq!(&parsed.to_bytes(), &printed);
        prop_assert_eq!(&without_content_length(parsed.clone()), &msg);

        // The typed views give back what was generated.
        let h = parsed.headers();
        let vias: Vec<Via> = core.vias.iter().flatten().cloned().collect();
        prop_assert_eq!(h.vias().unwrap(), vias);
        prop_assert_eq!(&h.from().unwrap(), &core.from);
        prop_assert_eq!(&h.to().unwrap(), &core.to);
        prop_assert_eq!(h.call_id().unwrap(), core.call_id.as_str());
        prop_assert_eq!(h.cseq().unwrap().seq, core.seq);
        let contacts: Vec<Contact> = core.contacts.iter().cloned().map(Contact::Addr).collect();
        prop_assert_eq!(h.contacts().unwrap(), contacts);
        if let Message::Request(r) = &parsed {
            let Message::Request(orig) = &msg else { unreachable!() };
            prop_assert_eq!(&r.uri, &orig.uri);
            prop_assert_eq!(r.uri.to_string().parse::<Uri>().unwrap(), orig.uri.clone());
        }
    }

    #[test]
    fn stream_chunking_is_invisible(
        msgs in proptest::collection::vec(message(), 1..5),
        seps in proptest::collection::vec(prop_oneof![Just(""), Just("\r\n"), Just("\r\n\r\n")], 5),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..12),
    ) {
        let mut stream = Vec::new();
        let mut expected = Vec::new();
        for (i, (m, _)) in msgs.iter().enumerate() {
            stream.extend_from_slice(seps[i].as_bytes());
            let bytes = m.to_bytes();
            expected.push(parse_stream_message(&bytes, &Limits::default()).map_err(|e| e.to_string()));
            stream.extend_from_slice(&bytes);
        }
        stream.extend_from_slice(seps[4].as_bytes());
        let (whole, whole_pings) = frame(&stream, &[], Limits::default());
        let (chunked, chunked_pings) = frame(&stream, &cuts, Limits::default());
        prop_assert_eq!(&whole, &expected);
        prop_assert_eq!(&chunked, &expected);
        prop_assert_eq!(whole_pings, chunked_pings);
        prop_assert!(expected.iter().all(Result::is_ok));
    }
}
