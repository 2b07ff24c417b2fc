//! Fuzzes the SIP parser: datagram parsing, 400 salvage, stream framing in input-chosen chunks, and
//! print → re-parse of everything that parses.
#![no_main]

use hotline_sip_msg::{
    HeaderName, Limits, Message, StreamFramer, bad_request_response, parse_datagram, parse_stream_message,
};
use libfuzzer_sys::fuzz_target;

fn without_content_length(mut m: Message) -> Message {
    m.headers_mut().remove(&HeaderName::ContentLength);
    m
}

fn check_datagram(data: &[u8], limits: &Limits) {
    match parse_datagram(data, limits) {
        Ok(msg) => {
            // Everything accepted prints to something accepted, equal up to Content-Length (the printer
            // always writes the real one, which may add a header). Canonical names can make it longer,
            // so lift the size limit.
            let printed = msg.to_bytes();
            let relaxed = Limits {
                max_message_size: usize::MAX,
                max_headers: limits.max_headers + 1,
                ..*limits
            };
            let again = parse_datagram(&printed, &relaxed).expect("a printed message must parse");
            assert_eq!(again.to_bytes(), printed, "printing must be stable");
            // Typed views must not panic either.
            let h = msg.headers();
            let _ = (
                h.contacts(),
                h.expires(),
                h.max_forwards(),
                h.content_type(),
                h.vias(),
            );
            assert_eq!(without_content_length(again), without_content_length(msg));
        }
        Err(e) => {
            if let Some(resp) = bad_request_response(data, &e) {
                let _ = resp.to_bytes();
            }
        }
    }
}

fn check_stream(data: &[u8], limits: Limits) {
    // The first byte picks the chunk size, so the fuzzer explores split points too.
    let Some((&k, rest)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(k % 64) + 1;
    let mut framer = StreamFramer::new(limits);
    for piece in rest.chunks(chunk) {
        if framer.push(piece).is_err() {
            return;
        }
        while let Some(m) = framer.next_message() {
            if let Ok(m) = m {
                let printed = m.to_bytes();
                let relaxed = Limits {
                    max_message_size: usize::MAX,
                    max_headers: limits.max_headers + 1,
                    ..limits
                };
                assert!(
                    parse_stream_message(&printed, &relaxed).is_ok(),
                    "a printed frame must parse"
                );
            }
        }
        let _ = framer.take_pings();
    }
}

fuzz_target!(|data: &[u8]| {
    let default = Limits::default();
    let tight = Limits {
        max_message_size: 2048,
        max_headers: 16,
        max_header_line: 256,
        max_body: 512,
        max_params: 4,
        max_list_items: 4,
    };
    check_datagram(data, &default);
    check_datagram(data, &tight);
    check_stream(data, default);
    check_stream(data, tight);
});
