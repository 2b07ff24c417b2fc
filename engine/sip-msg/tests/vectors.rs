//! Runs every vector in `sip-test/vectors/{valid,invalid}`.
//!
//! - valid: parses, prints, re-parses to an equal message (Content-Length aside, which the printer always
//!   rewrites), prints identically again, survives the stream framer, and its typed headers parse;
//! - invalid: fails with the expected error, and `bad_request_response` builds a 400 exactly when the
//!   request's Via, From, To, Call-ID and CSeq can be salvaged.
#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

use std::path::{Path, PathBuf};

use hotline_sip_msg::{
    HeaderName, Limits, Message, Method, ParseError, StatusCode, StreamFramer, bad_request_response,
    parse_datagram,
};

fn dir(kind: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../sip-test/vectors")
        .join(kind)
}

fn load(kind: &str) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<_> = std::fs::read_dir(dir(kind))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sip"))
        .map(|p| {
            (
                p.file_stem().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

fn without_content_length(mut m: Message) -> Message {
    m.headers_mut().remove(&HeaderName::ContentLength);
    m
}

/// Expected outcome of each invalid vector: the error, and whether a 400 can be built.
fn expected_invalid(name: &str) -> Option<(ParseError, bool)> {
    use ParseError as E;
    Some(match name {
        "i01-body-shorter-than-content-length" => (
            E::BodyTooShort {
                declared: 120,
                actual: 5,
            },
            true,
        ),
        "i02-bad-start-line" => (E::BadStartLine, true),
        "i03-bad-version" => (E::BadVersion, true),
        "i04-missing-call-id" => (E::MissingHeader(HeaderName::CallId), false),
        "i05-non-numeric-cseq" => (E::BadCSeq, true),
        "i06-negative-content-length" => (E::BadContentLength, true),
        "i07-nul-byte" => (E::NulByte, true),
        "i08-unterminated-quote" => (E::UnterminatedQuote, true),
        "i09-unbalanced-angle" => (E::UnbalancedAngle, true),
        "i10-too-many-headers" => (E::TooManyHeaders { limit: 100 }, true),
        "i11-too-large" => (E::TooLarge { limit: 65_535 }, true),
        "i12-bad-ipv6" => (E::BadUri, true),
        "i13-bad-status-code" => (E::BadStatusCode, false),
        "i14-cseq-method-mismatch" => (E::CSeqMethodMismatch, true),
        "i15-invalid-utf8" => (E::InvalidUtf8 { line: 8 }, true),
        "i16-cseq-overflow" => (E::BadCSeq, true),
        "i17-content-length-overflow" => (E::BadContentLength, true),
        "i18-missing-via" => (E::MissingHeader(HeaderName::Via), false),
        "i19-conflicting-content-length" => (E::BadContentLength, true),
        "i20-status-code-out-of-range" => (E::BadStatusCode, false),
        "i21-bad-escape" => (E::BadUri, true),
        "i22-header-without-colon" => (E::BadHeaderLine, true),
        "i23-too-many-vias" => (E::TooManyListItems, true),
        "i24-too-many-uri-params" => (E::TooManyParams, true),
        "i25-header-line-too-long" => (E::HeaderLineTooLong { limit: 8192 }, true),
        "i26-bad-port" => (
            E::BadHeader {
                name: HeaderName::Via,
            },
            false,
        ),
        "i27-via-bad-ipv6-received" => (
            E::BadHeader {
                name: HeaderName::Via,
            },
            false,
        ),
        "i28-no-end-of-head" => (E::Incomplete, true),
        "i29-response-missing-cseq" => (E::MissingHeader(HeaderName::CSeq), false),
        _ => return None,
    })
}

#[test]
fn there_are_at_least_forty_vectors() {
    let valid = load("valid").len();
    let invalid = load("invalid").len();
    assert!(valid >= 28, "{valid} valid vectors");
    assert!(invalid >= 16, "{invalid} invalid vectors");
    assert!(valid + invalid >= 40);
}

#[test]
fn valid_vectors_parse_print_and_reparse_equal() {
    let limits = Limits::default();
    for (name, data) in load("valid") {
        let first = parse_datagram(&data, &limits).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        let h = first.headers();
        assert!(!h.vias().unwrap().is_empty(), "{name}");
        h.from().unwrap_or_else(|e| panic!("{name}: From {e:?}"));
        h.to().unwrap_or_else(|e| panic!("{name}: To {e:?}"));
        h.cseq().unwrap_or_else(|e| panic!("{name}: CSeq {e:?}"));
        h.call_id().unwrap();
        h.contacts().unwrap_or_else(|e| panic!("{name}: Contact {e:?}"));
        h.expires().unwrap_or_else(|e| panic!("{name}: Expires {e:?}"));

        let printed = first.to_bytes();
        let second = parse_datagram(&printed, &limits).unwrap_or_else(|e| panic!("{name}: reparse {e:?}"));
        assert_eq!(
            second.headers().content_length().unwrap(),
            Some(second.body().len()),
            "{name}"
        );
        assert_eq!(second.to_bytes(), printed, "{name}: printing is not stable");
        assert_eq!(
            without_content_length(second),
            without_content_length(first.clone()),
            "{name}"
        );

        // The printed form always carries Content-Length, so it also frames on a stream, in any chunking.
        let mut framer = StreamFramer::new(limits);
        let mut framed = Vec::new();
        for chunk in printed.chunks(7) {
            framer.push(chunk).unwrap();
            while let Some(m) = framer.next_message() {
                framed.push(m.unwrap());
            }
        }
        assert_eq!(framed.len(), 1, "{name}");
        assert_eq!(
            without_content_length(framed.remove(0)),
            without_content_length(first),
            "{name}"
        );
    }
}

#[test]
fn valid_vectors_mean_what_they_say() {
    let limits = Limits::default();
    let get = |name: &str| {
        let data = std::fs::read(dir("valid").join(format!("{name}.sip"))).unwrap();
        parse_datagram(&data, &limits).unwrap()
    };
    let m = get("v03-line-folding");
    assert_eq!(
        m.headers().get(&HeaderName::Subject),
        Some("I know you're there, pick up the phone and talk to me!")
    );
    assert_eq!(m.headers().cseq().unwrap().method, Method::Options);
    assert_eq!(m.headers().from().unwrap().tag(), Some("f03"));

    let vias = get("v04-multi-via-one-line").headers().vias().unwrap();
    let branches: Vec<_> = vias.iter().map(|v| v.branch().unwrap().to_owned()).collect();
    assert_eq!(
        branches,
        ["z9hG4bKvec04a", "z9hG4bKvec04b", "z9hG4bKvec04c", "z9hG4bKvec04d"]
    );

    let via = get("v06-ipv6-via-received").headers().top_via().unwrap();
    assert_eq!(via.received(), Some("2001:db8::9:255"));
    assert_eq!(via.rport(), Some(Some(6050)));

    let Message::Request(r) = get("v08-escaped-user") else {
        panic!()
    };
    assert_eq!(r.uri.user(), Some("alice smith"));
    assert_eq!(r.uri.to_string(), "sip:alice%20smith@atlanta.test;lr");
    assert_eq!(r.headers.from().unwrap().uri.user(), Some("100%done"));

    let Message::Request(r) = get("v11-lowercase-method") else {
        panic!()
    };
    assert_eq!(r.method, Method::Other("invite".into()));

    let m = get("v13-odd-whitespace");
    assert_eq!(m.headers().top_via().unwrap().branch(), Some("z9hG4bKvec13"));
    assert_eq!(m.headers().from().unwrap().tag(), Some("w13"));
    assert_eq!(m.headers().get(&HeaderName::Subject), Some("spaced   out"));

    assert_eq!(
        get("v18-datagram-longer-than-content-length").body().as_ref(),
        b"hello"
    );
    assert!(get("v16-no-content-length-udp").body().is_empty());

    let from = get("v20-quoted-display-names").headers().from().unwrap();
    assert_eq!(from.display_name.as_deref(), Some(r#""Al" \ Smith, <boss>"#));
    assert_eq!(
        get("v20-quoted-display-names")
            .headers()
            .contacts()
            .unwrap()
            .len(),
        2
    );

    let to = get("v22-addr-spec-form").headers().from().unwrap();
    assert_eq!(to.tag(), Some("s22"));

    let Message::Response(r) = get("v24-utf8-reason") else {
        panic!()
    };
    assert_eq!(r.status, StatusCode::BUSY_HERE);
    assert_eq!(r.reason, "Besetzt – bitte später");

    let Message::Request(r) = get("v31-user-with-semicolon") else {
        panic!()
    };
    let sip = r.uri.as_sip().unwrap();
    assert_eq!(
        sip.user.as_deref(),
        Some("+12125550100;phone-context=example.test")
    );
    assert_eq!(sip.param("user"), Some(Some("phone")));
}

#[test]
fn invalid_vectors_fail_with_the_expected_error() {
    let limits = Limits::default();
    for (name, data) in load("invalid") {
        let (expected, salvageable) =
            expected_invalid(&name).unwrap_or_else(|| panic!("{name}: add it to expected_invalid()"));
        let err = parse_datagram(&data, &limits).expect_err(&name);
        assert_eq!(err, expected, "{name}");
        match bad_request_response(&data, &err) {
            Some(resp) => {
                assert!(salvageable, "{name}: unexpected 400");
                assert_eq!(resp.status, StatusCode::BAD_REQUEST, "{name}");
                assert!(
                    resp.reason.starts_with("Bad Request - "),
                    "{name}: {}",
                    resp.reason
                );
                let printed = resp.to_bytes();
                let back = parse_datagram(&printed, &limits);
                // The 400 copies the offending header verbatim when it is one of the five it must copy;
                // otherwise it is a well-formed message.
                let copies_the_fault = matches!(
                    expected,
                    ParseError::BadCSeq
                        | ParseError::UnterminatedQuote
                        | ParseError::UnbalancedAngle
                        | ParseError::TooManyListItems
                );
                if !copies_the_fault {
                    back.unwrap_or_else(|e| panic!("{name}: the 400 does not parse: {e:?}"));
                }
            }
            None => assert!(!salvageable, "{name}: expected a 400"),
        }
    }
}

#[test]
fn bad_request_reason_names_the_problem() {
    let data = std::fs::read(dir("invalid").join("i01-body-shorter-than-content-length.sip")).unwrap();
    let err = parse_datagram(&data, &Limits::default()).unwrap_err();
    let resp = bad_request_response(&data, &err).unwrap();
    assert_eq!(resp.reason, "Bad Request - Content-Length larger than body");
    assert_eq!(resp.headers.call_id().unwrap(), "vec-i01@hotline.test");
    assert_eq!(resp.headers.top_via().unwrap().branch(), Some("z9hG4bKveci01"));
}
