use super::*;
use crate::typed::Contact;
use crate::uri::Host;

fn invite(extra: &str, body: &str) -> String {
    format!(
        "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\r\n\
Max-Forwards: 70\r\n\
To: Bob <sip:bob@biloxi.example.com>\r\n\
From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n\
CSeq: 314159 INVITE\r\n\
Contact: <sip:alice@pc33.atlanta.example.com>\r\n\
{extra}\r\n{body}"
    )
}

/// Removes the first header line starting with `name`.
fn drop_header(msg: &str, name: &str) -> String {
    let start = msg.find(&format!("\r\n{name}")).unwrap() + 2;
    let end = start + msg[start..].find("\r\n").unwrap() + 2;
    format!("{}{}", &msg[..start], &msg[end..])
}

fn parse(s: &str) -> Result<Message, ParseError> {
    parse_datagram(s.as_bytes(), &Limits::default())
}

#[test]
fn parses_a_typical_invite() {
    let m = parse(&invite(
        "Content-Type: application/sdp\r\nContent-Length: 5\r\n",
        "v=0\r\n",
    ))
    .unwrap();
    let Message::Request(r) = &m else {
        panic!("not a request")
    };
    assert_eq!(r.method, Method::Invite);
    assert_eq!(r.uri.user(), Some("bob"));
    assert_eq!(r.body.as_ref(), b"v=0\r\n");
    let h = &r.headers;
    assert_eq!(h.call_id().unwrap(), "a84b4c76e66710@pc33.atlanta.example.com");
    assert_eq!(h.cseq().unwrap().seq, 314_159);
    assert_eq!(h.top_via().unwrap().branch(), Some("z9hG4bK776asdhds"));
    assert_eq!(h.from().unwrap().tag(), Some("1928301774"));
    assert_eq!(h.to().unwrap().display_name.as_deref(), Some("Bob"));
    assert_eq!(h.max_forwards().unwrap(), 70);
    assert_eq!(h.content_type(), Some("application/sdp"));
    assert_eq!(h.contacts().unwrap().len(), 1);
}

#[test]
fn parses_a_response_with_empty_reason() {
    let s = "SIP/2.0 180\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:b@h>\r\n\
Call-ID: x\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
    let Message::Response(r) = parse(s).unwrap() else {
        panic!("not a response")
    };
    assert_eq!(r.status, StatusCode::RINGING);
    assert_eq!(r.reason, "");
}

#[test]
fn compact_forms_mixed_case_and_folding() {
    let s = "OPTIONS sip:h SIP/2.0\r\nv: SIP/2.0/UDP a;branch=z9hG4bK1,\r\n SIP/2.0/TCP b;branch=z9hG4bK2\r\n\
f: <sip:a@h>;tag=1\r\nt: <sip:b@h>\r\ncAlL-iD: abc\r\nCSEQ: 2\r\n\t OPTIONS\r\nSubject: hello\r\n   world  \r\nl: 0\r\n\r\n";
    let m = parse(s).unwrap();
    let h = m.headers();
    let vias = h.vias().unwrap();
    assert_eq!(vias.len(), 2);
    assert_eq!(vias[1].transport, "TCP");
    assert_eq!(h.call_id().unwrap(), "abc");
    assert_eq!(h.cseq().unwrap().method, Method::Options);
    assert_eq!(h.get(&HeaderName::Subject), Some("hello world"));
    assert_eq!(h.get(&HeaderName::CSeq), Some("2 OPTIONS"));
}

#[test]
fn leading_crlf_is_skipped_and_crlf_only_is_keepalive() {
    assert!(parse(&format!("\r\n\r\n{}", invite("", ""))).is_ok());
    assert_eq!(parse("\r\n\r\n"), Err(ParseError::KeepAlive));
    assert_eq!(parse("\r\n"), Err(ParseError::KeepAlive));
    assert_eq!(parse(""), Err(ParseError::KeepAlive));
}

#[test]
fn udp_body_shorter_than_content_length_is_an_error() {
    let r = parse(&invite("Content-Length: 10\r\n", "v=0\r\n"));
    assert_eq!(
        r,
        Err(ParseError::BodyTooShort {
            declared: 10,
            actual: 5
        })
    );
}

#[test]
fn udp_body_longer_than_content_length_is_truncated() {
    let m = parse(&invite("Content-Length: 3\r\n", "v=0\r\ngarbage")).unwrap();
    assert_eq!(m.body().as_ref(), b"v=0");
}

#[test]
fn udp_body_without_content_length_is_the_rest() {
    let m = parse(&invite("", "v=0\r\n")).unwrap();
    assert_eq!(m.body().as_ref(), b"v=0\r\n");
    assert!(parse_stream_message(invite("", "v=0\r\n").as_bytes(), &Limits::default()).is_err());
}

#[test]
fn bad_content_lengths() {
    for cl in ["-1", "abc", "99999999999999999999999", "1 2", ""] {
        let r = parse(&invite(&format!("Content-Length: {cl}\r\n"), ""));
        assert_eq!(r, Err(ParseError::BadContentLength), "{cl}");
    }
    let r = parse(&invite("Content-Length: 0\r\nl: 3\r\n", "abc"));
    assert_eq!(r, Err(ParseError::BadContentLength));
}

#[test]
fn start_line_errors() {
    let ok = invite("", "");
    let cases = [
        (
            ok.replace("SIP/2.0\r\nVia", "SIP/7.0\r\nVia"),
            ParseError::BadVersion,
        ),
        (
            ok.replace(
                "INVITE sip:bob@biloxi.example.com SIP/2.0",
                "INVITE  sip:bob@biloxi.example.com SIP/2.0",
            ),
            ParseError::BadStartLine,
        ),
        (
            ok.replace(
                "INVITE sip:bob@biloxi.example.com SIP/2.0",
                "INVITE sip:bob@biloxi.example.com",
            ),
            ParseError::BadStartLine,
        ),
        (
            ok.replace(
                "INVITE sip:bob@biloxi.example.com SIP/2.0",
                "INVITE sip:bob@[::1 SIP/2.0",
            ),
            ParseError::BadUri,
        ),
        (
            ok.replace("INVITE sip:bob@biloxi.example.com SIP/2.0", "INVITE bob SIP/2.0"),
            ParseError::BadUri,
        ),
    ];
    for (msg, err) in cases {
        assert_eq!(parse(&msg), Err(err));
    }
    let resp = "SIP/2.0 2000 OK\r\n\r\n";
    assert_eq!(parse(resp), Err(ParseError::BadStatusCode));
    assert_eq!(parse("SIP/2.0 099 Low\r\n\r\n"), Err(ParseError::BadStatusCode));
    assert_eq!(parse("SIP/2.0 700 High\r\n\r\n"), Err(ParseError::BadStatusCode));
}

#[test]
fn missing_required_headers_are_errors() {
    let ok = invite("", "");
    let drop = |name: &str| drop_header(&ok, name);
    assert_eq!(
        parse(&drop("Call-ID")),
        Err(ParseError::MissingHeader(HeaderName::CallId))
    );
    assert_eq!(
        parse(&drop("Via")),
        Err(ParseError::MissingHeader(HeaderName::Via))
    );
    assert_eq!(
        parse(&drop("From")),
        Err(ParseError::MissingHeader(HeaderName::From))
    );
    assert_eq!(parse(&drop("To")), Err(ParseError::MissingHeader(HeaderName::To)));
    assert_eq!(
        parse(&drop("CSeq")),
        Err(ParseError::MissingHeader(HeaderName::CSeq))
    );
    assert!(parse(&drop("Max-Forwards")).is_ok());
}

#[test]
fn control_bytes_and_bad_utf8_are_errors() {
    let with_nul = invite("Subject: a\0b\r\n", "");
    assert_eq!(parse(&with_nul), Err(ParseError::NulByte));
    let mut bytes = invite("Subject: caf\u{e9}\r\n", "").into_bytes();
    let i = bytes
        .windows(4)
        .position(|w| w == "caf\u{e9}".as_bytes().get(..4).unwrap())
        .unwrap();
    bytes[i + 3] = 0xff;
    let r = parse_datagram(&bytes, &Limits::default());
    assert!(matches!(r, Err(ParseError::InvalidUtf8 { .. })), "{r:?}");
}

#[test]
fn structural_errors_are_typed() {
    let q = invite("", "").replace("From: Alice", "From: \"Alice");
    assert_eq!(parse(&q), Err(ParseError::UnterminatedQuote));
    let a = invite("", "").replace(
        "To: Bob <sip:bob@biloxi.example.com>",
        "To: Bob <sip:bob@biloxi.example.com",
    );
    assert_eq!(parse(&a), Err(ParseError::UnbalancedAngle));
    let c = invite("", "").replace("CSeq: 314159 INVITE", "CSeq: 314159 BYE");
    assert_eq!(parse(&c), Err(ParseError::CSeqMethodMismatch));
    let c = invite("", "").replace("CSeq: 314159 INVITE", "CSeq: -1 INVITE");
    assert_eq!(parse(&c), Err(ParseError::BadCSeq));
    let v = invite("", "").replace("pc33.atlanta.example.com;branch", "[2001:db8::1;branch");
    assert_eq!(
        parse(&v),
        Err(ParseError::BadHeader {
            name: HeaderName::Via
        })
    );
}

#[test]
fn header_count_limit_at_and_over() {
    let base = invite("", "");
    let count = base.lines().count() - 2; // start line and blank line
    let limits = Limits {
        max_headers: count + 3,
        ..Limits::default()
    };
    let at = invite("X-A: 1\r\nX-B: 2\r\nX-C: 3\r\n", "");
    assert!(parse_datagram(at.as_bytes(), &limits).is_ok());
    let over = invite("X-A: 1\r\nX-B: 2\r\nX-C: 3\r\nX-D: 4\r\n", "");
    assert_eq!(
        parse_datagram(over.as_bytes(), &limits),
        Err(ParseError::TooManyHeaders { limit: count + 3 })
    );
}

#[test]
fn header_line_limit_at_and_over_including_folds() {
    let limits = Limits {
        max_header_line: 100,
        ..Limits::default()
    };
    let at = invite(&format!("X-L: {}\r\n", "a".repeat(95)), "");
    assert!(parse_datagram(at.as_bytes(), &limits).is_ok());
    let over = invite(&format!("X-L: {}\r\n", "a".repeat(96)), "");
    assert_eq!(
        parse_datagram(over.as_bytes(), &limits),
        Err(ParseError::HeaderLineTooLong { limit: 100 })
    );
    let folded = invite(&format!("X-L: {}\r\n {}\r\n", "a".repeat(50), "b".repeat(50)), "");
    assert_eq!(
        parse_datagram(folded.as_bytes(), &limits),
        Err(ParseError::HeaderLineTooLong { limit: 100 })
    );
}

#[test]
fn message_size_limit_at_and_over() {
    let msg = invite("", "");
    let at = Limits {
        max_message_size: msg.len(),
        ..Limits::default()
    };
    assert!(parse_datagram(msg.as_bytes(), &at).is_ok());
    let under = Limits {
        max_message_size: msg.len() - 1,
        ..Limits::default()
    };
    assert_eq!(
        parse_datagram(msg.as_bytes(), &under),
        Err(ParseError::TooLarge { limit: msg.len() - 1 })
    );
}

#[test]
fn body_limit_at_and_over() {
    let limits = Limits {
        max_body: 4,
        ..Limits::default()
    };
    assert!(parse_datagram(invite("Content-Length: 4\r\n", "abcd").as_bytes(), &limits).is_ok());
    let r = parse_datagram(invite("Content-Length: 5\r\n", "abcde").as_bytes(), &limits);
    assert_eq!(r, Err(ParseError::BodyTooLarge { limit: 4 }));
    let r = parse_datagram(invite("", "abcde").as_bytes(), &limits);
    assert_eq!(r, Err(ParseError::BodyTooLarge { limit: 4 }));
}

#[test]
fn params_limit_applies_to_request_uri_and_headers() {
    let limits = Limits {
        max_params: 2,
        ..Limits::default()
    };
    let uri = invite("", "").replace(
        "INVITE sip:bob@biloxi.example.com SIP",
        "INVITE sip:bob@biloxi.example.com;a;b;c SIP",
    );
    assert_eq!(
        parse_datagram(uri.as_bytes(), &limits),
        Err(ParseError::TooManyParams)
    );
    let via = invite("", "").replace("branch=z9hG4bK776asdhds", "branch=z9hG4bK776asdhds;a;b");
    assert_eq!(
        parse_datagram(via.as_bytes(), &limits),
        Err(ParseError::TooManyParams)
    );
}

#[test]
fn ipv6_everywhere() {
    let s = "REGISTER sip:[2001:db8::10] SIP/2.0\r\n\
Via: SIP/2.0/UDP [2001:db8::9:1]:5070;branch=z9hG4bKas3-111;received=2001:db8::9:255;rport=5070\r\n\
From: <sip:user@[2001:db8::10]>;tag=81x2\r\nTo: <sip:user@[2001:db8::10]>\r\nCall-ID: SSG9559905523997077@hlau_4100\r\n\
CSeq: 98176 REGISTER\r\nContact: \"Caller\" <sip:caller@[2001:db8::9:1]:5070>;expires=3600\r\nContent-Length: 0\r\n\r\n";
    let m = parse(s).unwrap();
    let via = m.headers().top_via().unwrap();
    assert_eq!(via.host, Host::V6("2001:db8::9:1".parse().unwrap()));
    assert_eq!(via.received(), Some("2001:db8::9:255"));
    let Contact::Addr(c) = &m.headers().contacts().unwrap()[0] else {
        panic!("star")
    };
    assert_eq!(c.uri.as_sip().unwrap().port, Some(5070));
}

#[test]
fn bad_request_for_short_body_copies_the_dialog_headers() {
    let data = invite("Content-Length: 50\r\n", "v=0\r\n");
    let err = parse(&data).unwrap_err();
    let r = bad_request_response(data.as_bytes(), &err).unwrap();
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.reason, "Bad Request - Content-Length larger than body");
    assert_eq!(
        r.headers.call_id().unwrap(),
        "a84b4c76e66710@pc33.atlanta.example.com"
    );
    assert_eq!(r.headers.top_via().unwrap().branch(), Some("z9hG4bK776asdhds"));
    assert_eq!(r.headers.cseq().unwrap().seq, 314_159);
    assert_eq!(r.headers.from().unwrap().tag(), Some("1928301774"));
}

#[test]
fn bad_request_is_not_built_for_responses_acks_or_unroutable_requests() {
    let data = invite("Content-Length: 50\r\n", "");
    let err = ParseError::BodyTooShort {
        declared: 50,
        actual: 0,
    };
    assert!(bad_request_response(data.replace("INVITE sip", "ACK sip").as_bytes(), &err).is_none());
    let no_callid = drop_header(&data, "Call-ID");
    assert!(bad_request_response(no_callid.as_bytes(), &err).is_none());
    let bad_via = data.replace("SIP/2.0/UDP pc33", "garbage pc33");
    assert!(bad_request_response(bad_via.as_bytes(), &err).is_none());
    assert!(bad_request_response(b"\r\n\r\n", &ParseError::KeepAlive).is_none());
    assert!(bad_request_response(b"SIP/2.0 200 OK\r\n\r\n", &err).is_none());
}

#[test]
fn response_from_request_copies_vias_in_order() {
    let data = invite("Via: SIP/2.0/UDP second;branch=z9hG4bK2\r\n", "");
    let Message::Request(req) = parse(&data).unwrap() else {
        panic!("not a request")
    };
    let resp = Response::from_request(&req, StatusCode::BUSY_HERE);
    assert_eq!(resp.reason, "Busy Here");
    let vias = resp.headers.vias().unwrap();
    assert_eq!(vias.len(), 2);
    assert_eq!(vias[1].branch(), Some("z9hG4bK2"));
    assert_eq!(resp.headers.to().unwrap().tag(), None);
    let Message::Response(mut again) = parse_datagram(&resp.to_bytes(), &Limits::default()).unwrap() else {
        panic!("not a response")
    };
    assert_eq!(again.headers.get(&HeaderName::ContentLength), Some("0"));
    again.headers.remove(&HeaderName::ContentLength);
    assert_eq!(again, resp);
}

#[test]
fn printing_replaces_content_length_and_prints_canonical_names() {
    let m = parse(&invite("l: 3\r\nX-Thing: a\r\n", "abc")).unwrap();
    let Message::Request(mut r) = m else {
        panic!("not a request")
    };
    r.body = Bytes::from_static(b"hello");
    let text = String::from_utf8(r.to_bytes().to_vec()).unwrap();
    assert!(
        text.contains("\r\nContent-Length: 5\r\nX-Thing: a\r\n\r\nhello"),
        "{text}"
    );
    assert!(text.contains("\r\nCall-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"));
    r.headers.remove(&HeaderName::ContentLength);
    let text = String::from_utf8(r.to_bytes().to_vec()).unwrap();
    assert!(
        text.ends_with("X-Thing: a\r\nContent-Length: 5\r\n\r\nhello"),
        "{text}"
    );
}

#[test]
fn printing_never_lets_a_value_inject_a_header() {
    let Message::Request(mut r) = parse(&invite("", "")).unwrap() else {
        panic!("not a request")
    };
    r.headers.push(HeaderName::Subject, "hi\r\nEvil: 1");
    let m = parse_datagram(&r.to_bytes(), &Limits::default()).unwrap();
    assert_eq!(m.headers().get(&HeaderName::Other("Evil".into())), None);
}
