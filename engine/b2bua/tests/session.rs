//! The call session in virtual time: what it answers, what it tells the media leg and the call record.
#![allow(clippy::unwrap_used)] // tests
// reason: virtual time needs an arbitrary origin; everything after it is advanced by hand.
#![allow(clippy::disallowed_methods)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hotline_b2bua::{CallSession, IncomingCall, Output, Record, SessionConfig};
use media::{Digit, DigitSource, Direction, LegStats, MediaCommand, MediaEvent};
use model::EndReason;
use sip_msg::{Limits, Message, Request, Response};
use sip_txn::{Incoming, Transport, TxnKey, TxnLayer};

const FLOW: &str = "flow: t
start: greet
nodes:
  greet: { type: play, prompt: welcome, next: ask }
  ask:
    type: collect
    prompt: enter-digits
    variable: account
    max_digits: 8
    terminator: \"#\"
    first_digit_timeout: 5s
    inter_digit_timeout: 3s
    retries: 0
    next: bye
    on_fail: bye
  bye: { type: hangup }
";

const OFFER: &str = "v=0\r\no=c 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n\
m=audio 40000 RTP/AVP 8 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=SDIR\r\n";

/// Parses a request written with `\n` line ends (CRLF is restored; Content-Length is `{len}`).
fn request(text: &str) -> Request {
    let normalized = text.replace("\r\n", "\n");
    let (head, body) = normalized.split_once("\n\n").unwrap_or((&normalized, ""));
    let body = body.replace('\n', "\r\n");
    let head = head
        .replace("{len}", &body.len().to_string())
        .replace('\n', "\r\n");
    let text = format!("{head}\r\n\r\n{body}");
    match sip_msg::parse_datagram(text.as_bytes(), &Limits::default()).unwrap() {
        Message::Request(r) => r,
        Message::Response(_) => panic!("not a request"),
    }
}

fn invite(cseq: u32, branch: &str, to_tag: Option<&str>, sdp: Option<&str>) -> Request {
    let to = match to_tag {
        Some(t) => format!("<sip:hotline@192.0.2.1>;tag={t}"),
        None => "<sip:hotline@192.0.2.1>".into(),
    };
    let body = sdp.unwrap_or("");
    let ct = if body.is_empty() {
        String::new()
    } else {
        "Content-Type: application/sdp\n".into()
    };
    request(&format!(
        "INVITE sip:hotline@192.0.2.1 SIP/2.0\nVia: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bK{branch}\n\
         From: <sip:+15550001@192.0.2.10>;tag=caller1\nTo: {to}\nCall-ID: call-1\nCSeq: {cseq} INVITE\n\
         Contact: <sip:c@192.0.2.10:5062>\nMax-Forwards: 70\n{ct}Content-Length: {{len}}\n\n{body}"
    ))
}

fn in_dialog(method: &str, cseq: u32, branch: &str, to_tag: &str, ct: Option<&str>, body: &str) -> Request {
    let ct = ct.map(|c| format!("Content-Type: {c}\n")).unwrap_or_default();
    request(&format!(
        "{method} sip:hotline@192.0.2.1:5060 SIP/2.0\nVia: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bK{branch}\n\
         From: <sip:+15550001@192.0.2.10>;tag=caller1\nTo: <sip:hotline@192.0.2.1>;tag={to_tag}\n\
         Call-ID: call-1\nCSeq: {cseq} {method}\nMax-Forwards: 70\n{ct}Content-Length: {{len}}\n\n{body}"
    ))
}

/// Loads and links a flow source (no subflows), accepting any prompt and list name.
fn linked(source: &str) -> Arc<ivr::Flow> {
    let flow = ivr::load_str(source, "t.yaml", &ivr::LoadContext::permissive()).unwrap();
    let name = flow.name().to_owned();
    let (mut map, errors) = ivr::link(vec![flow]);
    assert!(errors.is_empty(), "{errors:?}");
    map.remove(&name).unwrap()
}

struct Harness {
    txn: TxnLayer,
    session: CallSession,
    now: Instant,
    outputs: Vec<Output>,
}

const SOURCE: &str = "192.0.2.10:5062";

fn config(answer_delay: Duration) -> Arc<SessionConfig> {
    Arc::new(SessionConfig {
        media_ip: "192.0.2.1".parse().unwrap(),
        sip_addr: "192.0.2.1:5060".parse().unwrap(),
        caps: sdp::LocalCaps {
            codecs: vec![media::Codec::Pcmu, media::Codec::Pcma],
            telephone_event: true,
        },
        answer_delay,
        media_close_grace: Duration::from_secs(1),
        server_name: "Hotline/test".into(),
        time_zone: jiff::tz::TimeZone::UTC,
        trunk: Some(hotline_b2bua::Trunk {
            address: TRUNK.parse().unwrap(),
            domain: "carrier.example".into(),
            caller_id: "+15559990000".into(),
            ring_timeout: Duration::from_secs(20),
        }),
        callback_keys: [("support".to_owned(), '*')].into_iter().collect(),
    })
}

const TRUNK: &str = "192.0.2.99:5060";

fn key_of(txn: &mut TxnLayer, now: Instant, req: Request) -> (TxnKey, Request) {
    match txn.handle_request(now, req, SOURCE.parse().unwrap(), Transport::Udp) {
        Incoming::NewRequest { key, request } => (key, request),
        other => panic!("not a new transaction: {other:?}"),
    }
}

impl Harness {
    fn start(answer_delay: Duration, sdp: Option<&str>) -> Self {
        Self::start_with(FLOW, answer_delay, sdp)
    }

    fn start_with(flow_source: &str, answer_delay: Duration, sdp: Option<&str>) -> Self {
        let now = Instant::now();
        let mut txn = TxnLayer::new(Default::default());
        let (key, invite) = key_of(&mut txn, now, invite(1, "inv1", None, sdp));
        let flow = linked(flow_source);
        let source: SocketAddr = SOURCE.parse().unwrap();
        let call = IncomingCall {
            invite,
            key,
            source,
            transport: Transport::Udp,
            flow,
            media_port: 20000,
            seed: 7,
            wall_clock: jiff::Timestamp::UNIX_EPOCH,
        };
        let session = CallSession::new(now, config(answer_delay), call);
        let mut h = Self {
            txn,
            session,
            now,
            outputs: vec![],
        };
        h.drain();
        h
    }

    fn drain(&mut self) {
        while let Some(o) = self.session.poll_output() {
            self.outputs.push(o);
        }
    }

    fn take(&mut self) -> Vec<Output> {
        std::mem::take(&mut self.outputs)
    }

    fn advance(&mut self, d: Duration) {
        let target = self.now + d;
        while let Some(t) = self.session.poll_timeout() {
            if t > target {
                break;
            }
            self.now = t.max(self.now);
            self.session.handle_timeout(self.now);
            self.drain();
        }
        self.now = target;
    }

    fn request(&mut self, req: Request) {
        let (key, req) = key_of(&mut self.txn, self.now, req);
        self.session.handle_request(self.now, key, req);
        self.drain();
    }

    fn media(&mut self, ev: MediaEvent) {
        self.session.handle_media_event(self.now, ev);
        self.drain();
    }
}

fn responses(outs: &[Output]) -> Vec<&Response> {
    outs.iter()
        .filter_map(|o| {
            if let Output::Respond { response, .. } = o {
                Some(response)
            } else {
                None
            }
        })
        .collect()
}

fn media_cmds(outs: &[Output]) -> Vec<&MediaCommand> {
    outs.iter()
        .filter_map(|o| if let Output::Media(c) = o { Some(c) } else { None })
        .collect()
}

fn final_record(outs: &[Output]) -> Option<(EndReason, String)> {
    outs.iter().find_map(|o| match o {
        Output::Record(Record::Final {
            reason, keypresses, ..
        }) => Some((*reason, keypresses.clone())),
        _ => None,
    })
}

fn to_tag(outs: &[Output]) -> String {
    responses(outs)[0].headers.to().unwrap().tag().unwrap().to_owned()
}

fn answered() -> (Harness, String) {
    let mut h = Harness::start(Duration::ZERO, Some(&OFFER.replace("SDIR", "sendrecv")));
    let outs = h.take();
    let tag = to_tag(&outs);
    let ack = in_dialog("ACK", 1, "ack1", &tag, None, "");
    h.session.handle_ack(h.now, &ack);
    h.drain();
    (h, tag)
}

#[test]
fn an_invite_is_answered_with_the_callers_codec_and_the_flow_starts_on_ack() {
    let mut h = Harness::start(Duration::ZERO, Some(&OFFER.replace("SDIR", "sendrecv")));
    let outs = h.take();
    let resp = responses(&outs);
    assert_eq!(resp.len(), 1);
    assert_eq!(resp[0].status.0, 200);
    let body = String::from_utf8_lossy(&resp[0].body).into_owned();
    assert!(
        body.contains("m=audio 20000 RTP/AVP 8 101"),
        "PCMA first, as the caller preferred: {body}"
    );
    assert!(resp[0].headers.contacts().is_ok());
    let cmds = media_cmds(&outs);
    assert!(
        matches!(cmds[0], MediaCommand::Configure { remote } if remote.codec == media::Codec::Pcma
        && remote.addr == "192.0.2.10:40000".parse().unwrap() && remote.dtmf_payload_type == Some(101))
    );
    assert!(
        outs.iter()
            .any(|o| matches!(o, Output::Record(Record::Answered { .. })))
    );
    // Nothing plays before the ACK.
    assert!(!cmds.iter().any(|c| matches!(c, MediaCommand::Play { .. })));
    let tag = to_tag(&outs);
    h.session
        .handle_ack(h.now, &in_dialog("ACK", 1, "ack1", &tag, None, ""));
    h.drain();
    let outs = h.take();
    assert!(
        media_cmds(&outs).iter().any(
            |c| matches!(c, MediaCommand::Play { prompts, .. } if prompts == &vec!["welcome".to_owned()])
        )
    );
}

#[test]
fn an_offer_without_a_common_codec_gets_488_and_a_media_rejected_record() {
    let offer = OFFER
        .replace("RTP/AVP 8 0 101", "RTP/AVP 9 18")
        .replace("a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n", "");
    let mut h = Harness::start(Duration::ZERO, Some(&offer.replace("SDIR", "sendrecv")));
    let outs = h.take();
    assert_eq!(responses(&outs)[0].status.0, 488);
    assert!(media_cmds(&outs).iter().any(|c| matches!(c, MediaCommand::Close)));
    h.media(MediaEvent::Closed {
        stats: LegStats::default(),
    });
    assert_eq!(
        final_record(&h.take()).map(|r| r.0),
        Some(EndReason::MediaRejected)
    );
    assert!(h.session.is_done());
}

#[test]
fn cancel_while_ringing_answers_200_and_487() {
    let mut h = Harness::start(Duration::from_secs(3), Some(&OFFER.replace("SDIR", "sendrecv")));
    let outs = h.take();
    assert_eq!(responses(&outs)[0].status.0, 180);
    let cancel = request(
        "CANCEL sip:hotline@192.0.2.1 SIP/2.0\nVia: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bKinv1\n\
         From: <sip:+15550001@192.0.2.10>;tag=caller1\nTo: <sip:hotline@192.0.2.1>\nCall-ID: call-1\n\
         CSeq: 1 CANCEL\nMax-Forwards: 70\nContent-Length: 0\n\n",
    );
    let (key, cancel) = key_of(&mut h.txn, h.now, cancel);
    h.session.handle_cancel(h.now, key, &cancel);
    h.drain();
    let outs = h.take();
    let codes: Vec<u16> = responses(&outs).iter().map(|r| r.status.0).collect();
    assert_eq!(codes, vec![200, 487]);
    // No stats from the media leg: the record is finalized after the grace period anyway.
    h.advance(Duration::from_secs(2));
    assert_eq!(final_record(&h.take()).map(|r| r.0), Some(EndReason::Cancelled));
}

#[test]
fn the_answer_waits_for_answer_delay() {
    let mut h = Harness::start(Duration::from_secs(2), Some(&OFFER.replace("SDIR", "sendrecv")));
    h.take();
    h.advance(Duration::from_millis(1999));
    assert!(responses(&h.take()).is_empty());
    h.advance(Duration::from_millis(2));
    assert_eq!(responses(&h.take())[0].status.0, 200);
}

#[test]
fn digits_are_recorded_once_whatever_carries_them() {
    let (mut h, tag) = answered();
    h.take();
    h.media(MediaEvent::Digit {
        digit: Digit::D1,
        source: DigitSource::Rfc4733,
    });
    // The same key arriving as in-band tone after RFC 4733 was seen is ignored.
    h.media(MediaEvent::Digit {
        digit: Digit::D1,
        source: DigitSource::Inband,
    });
    // The same key by INFO within the duplicate window is ignored too (a phone sending both).
    h.request(in_dialog(
        "INFO",
        2,
        "info1",
        &tag,
        Some("application/dtmf-relay"),
        "Signal=1\r\nDuration=100\r\n",
    ));
    h.advance(Duration::from_millis(500));
    h.request(in_dialog(
        "INFO",
        3,
        "info2",
        &tag,
        Some("application/dtmf-relay"),
        "Signal=2\r\nDuration=100\r\n",
    ));
    h.request(in_dialog("INFO", 4, "info3", &tag, Some("text/plain"), "3"));
    let outs = h.take();
    let codes: Vec<u16> = responses(&outs).iter().map(|r| r.status.0).collect();
    assert_eq!(codes, vec![200, 200, 415]);
    h.request(in_dialog("BYE", 5, "bye1", &tag, None, ""));
    h.media(MediaEvent::Closed {
        stats: LegStats::default(),
    });
    let outs = h.take();
    assert_eq!(responses(&outs)[0].status.0, 200);
    assert_eq!(
        final_record(&outs),
        Some((EndReason::CallerHangup, "12".to_owned()))
    );
}

#[test]
fn hold_and_unhold_mirror_the_direction_and_tell_the_media_leg() {
    let (mut h, tag) = answered();
    h.take();
    h.request(invite(
        2,
        "reinv1",
        Some(&tag),
        Some(&OFFER.replace("SDIR", "sendonly")),
    ));
    let outs = h.take();
    let body = String::from_utf8_lossy(&responses(&outs)[0].body).into_owned();
    assert!(body.contains("a=recvonly"), "{body}");
    assert!(
        media_cmds(&outs)
            .iter()
            .any(|c| matches!(c, MediaCommand::SetDirection(Direction::RecvOnly)))
    );
    h.request(invite(
        3,
        "reinv2",
        Some(&tag),
        Some(&OFFER.replace("SDIR", "sendrecv")),
    ));
    let outs = h.take();
    assert!(String::from_utf8_lossy(&responses(&outs)[0].body).contains("a=sendrecv"));
    assert!(
        media_cmds(&outs)
            .iter()
            .any(|c| matches!(c, MediaCommand::SetDirection(Direction::SendRecv)))
    );
}

#[test]
fn a_missing_ack_ends_the_call_with_bye() {
    let mut h = Harness::start(Duration::ZERO, Some(&OFFER.replace("SDIR", "sendrecv")));
    h.take();
    h.session.handle_ack_timeout(h.now);
    h.drain();
    let outs = h.take();
    let bye = outs
        .iter()
        .find_map(|o| {
            if let Output::Send { request, .. } = o {
                Some(request)
            } else {
                None
            }
        })
        .unwrap();
    assert_eq!(bye.method, sip_msg::Method::Bye);
    h.media(MediaEvent::Closed {
        stats: LegStats::default(),
    });
    assert_eq!(final_record(&h.take()).map(|r| r.0), Some(EndReason::AckTimeout));
}

#[test]
fn the_flow_collects_digits_and_hangs_up_with_bye() {
    let (mut h, _tag) = answered();
    // The greeting ends, then the collect prompt ends; then the caller keys 4 2 #.
    for expected in ["welcome", "enter-digits"] {
        let outs = h.take();
        let play_id = media_cmds(&outs)
            .iter()
            .find_map(|c| match c {
                MediaCommand::Play { play_id, prompts } if prompts[0] == expected => Some(*play_id),
                _ => None,
            })
            .unwrap_or_else(|| panic!("{expected} not played: {outs:#?}"));
        h.media(MediaEvent::PlayFinished {
            play_id,
            interrupted: false,
        });
    }
    for d in [Digit::D4, Digit::D2, Digit::Pound] {
        h.media(MediaEvent::Digit {
            digit: d,
            source: DigitSource::Rfc4733,
        });
    }
    let outs = h.take();
    let bye = outs.iter().find_map(|o| {
        if let Output::Send { request, .. } = o {
            Some(request)
        } else {
            None
        }
    });
    assert_eq!(
        bye.map(|b| b.method.clone()),
        Some(sip_msg::Method::Bye),
        "{outs:#?}"
    );
    h.media(MediaEvent::Closed {
        stats: LegStats {
            packets_received: 50,
            ..Default::default()
        },
    });
    let outs = h.take();
    let (reason, keys) = final_record(&outs).unwrap();
    assert_eq!((reason, keys.as_str()), (EndReason::FlowHangup, "42#"));
    let trail = outs.iter().find_map(|o| match o {
        Output::Record(Record::Final { trail, media, .. }) => Some((trail.clone(), media.clone())),
        _ => None,
    });
    let (trail, media) = trail.unwrap();
    assert_eq!(media.unwrap().packets_received, 50);
    assert!(
        trail
            .iter()
            .any(|t| matches!(t, model::TrailItem::Node { node, .. } if node == "ask"))
    );
}

#[test]
fn rtp_timeout_ends_the_call_with_bye() {
    let (mut h, _) = answered();
    h.take();
    h.media(MediaEvent::RtpTimeout);
    let outs = h.take();
    assert!(
        outs.iter()
            .any(|o| matches!(o, Output::Send { request, .. } if request.method == sip_msg::Method::Bye))
    );
    h.media(MediaEvent::Closed {
        stats: LegStats::default(),
    });
    assert_eq!(final_record(&h.take()).map(|r| r.0), Some(EndReason::RtpTimeout));
}

#[test]
fn an_invite_without_contact_is_refused_with_400() {
    let now = Instant::now();
    let mut txn = TxnLayer::new(Default::default());
    let mut text = invite(1, "nocontact", None, Some(&OFFER.replace("SDIR", "sendrecv")));
    text.headers.remove(&sip_msg::HeaderName::Contact);
    let (key, invite) = key_of(&mut txn, now, text);
    let flow = linked(FLOW);
    let call = IncomingCall {
        invite,
        key,
        source: SOURCE.parse().unwrap(),
        transport: Transport::Udp,
        flow,
        media_port: 20000,
        seed: 1,
        wall_clock: jiff::Timestamp::UNIX_EPOCH,
    };
    let mut session = CallSession::new(now, config(Duration::ZERO), call);
    let mut outs = vec![];
    while let Some(o) = session.poll_output() {
        outs.push(o);
    }
    assert_eq!(responses(&outs)[0].status.0, 400);
    assert!(responses(&outs)[0].reason.contains("Contact"));
}

#[test]
fn a_late_offer_whose_ack_has_no_answer_ends_the_call() {
    let mut h = Harness::start(Duration::ZERO, None);
    let outs = h.take();
    let ok = responses(&outs)[0];
    assert!(
        String::from_utf8_lossy(&ok.body).contains("m=audio 20000"),
        "we offer in the 200"
    );
    let tag = to_tag(&outs);
    h.session
        .handle_ack(h.now, &in_dialog("ACK", 1, "ack1", &tag, None, ""));
    h.drain();
    let outs = h.take();
    assert!(
        outs.iter()
            .any(|o| matches!(o, Output::Send { request, .. } if request.method == sip_msg::Method::Bye))
    );
    h.media(MediaEvent::Closed {
        stats: LegStats::default(),
    });
    assert_eq!(
        final_record(&h.take()).map(|r| r.0),
        Some(EndReason::MediaRejected)
    );
}

#[test]
fn a_late_offer_answered_in_the_ack_configures_media() {
    let mut h = Harness::start(Duration::ZERO, None);
    let outs = h.take();
    let tag = to_tag(&outs);
    let answer = OFFER
        .replace("SDIR", "sendrecv")
        .replace("RTP/AVP 8 0 101", "RTP/AVP 0 101");
    h.session.handle_ack(
        h.now,
        &in_dialog("ACK", 1, "ack1", &tag, Some("application/sdp"), &answer),
    );
    h.drain();
    let outs = h.take();
    assert!(
        media_cmds(&outs)
            .iter()
            .any(|c| matches!(c, MediaCommand::Configure { remote } if remote.codec == media::Codec::Pcmu))
    );
    assert!(
        media_cmds(&outs)
            .iter()
            .any(|c| matches!(c, MediaCommand::Play { .. }))
    );
}

const FLOW_VERIFY: &str = "flow: v
start: verify
nodes:
  verify:
    type: verify_identity
    ask: customer_id
    lookup: { static: demo }
    ani: record
    max_digits: 6
    terminator: \"#\"
    attempts: 1
    on_success: queue
    on_failure: bye
  queue:
    type: enqueue
    queue: support
    timeout: 3s
    on_timeout: xfer
    on_left: xfer
  xfer:
    type: transfer
    to: \"sip:operator@192.0.2.99\"
  bye:
    type: hangup
";

fn answered_with(flow: &str) -> (Harness, String) {
    let mut h = Harness::start_with(flow, Duration::ZERO, Some(&OFFER.replace("SDIR", "sendrecv")));
    let outs = h.take();
    let tag = to_tag(&outs);
    h.session
        .handle_ack(h.now, &in_dialog("ACK", 1, "ack1", &tag, None, ""));
    h.drain();
    (h, tag)
}

#[test]
fn verification_digits_are_masked_and_the_outcome_recorded_then_hold_music_then_refer() {
    let (mut h, _) = answered_with(FLOW_VERIFY);
    let first = h.take();
    assert!(
        media_cmds(&first).contains(&&MediaCommand::PauseRecording),
        "the leg's recording is muted before the id is keyed: {first:#?}"
    );
    for d in [Digit::D1, Digit::D0, Digit::D0, Digit::D1, Digit::Pound] {
        h.media(MediaEvent::Digit {
            digit: d,
            source: DigitSource::Rfc4733,
        });
    }
    let outs = h.take();
    assert!(
        media_cmds(&outs).contains(&&MediaCommand::ResumeRecording),
        "recording resumes once the id is keyed: {outs:#?}"
    );
    // The lookup goes out with the keyed id, and nowhere else does the id appear in clear.
    let (request_id, key) = outs
        .iter()
        .find_map(|o| match o {
            Output::Io(hotline_b2bua::IoRequest::Lookup { request_id, key, .. }) => {
                Some((*request_id, key.clone()))
            }
            _ => None,
        })
        .expect("a lookup");
    assert_eq!(key.value(), "1001");
    for o in &outs {
        if let Output::Record(Record::Progress { keypresses, trail }) = o {
            assert!(!keypresses.contains("1001"), "keyed id in clear: {keypresses}");
            assert!(
                trail
                    .iter()
                    .all(|t| !matches!(t, model::TrailItem::Digit { digit, .. } if digit == "1"))
            );
        }
    }
    let found = ivr::LookupOutcome::Found {
        customer_id: "1001".into(),
        phones: vec!["+15550001".into()],
        attributes: Default::default(),
    };
    h.session
        .handle_io_result(h.now, request_id, hotline_b2bua::IoResult::Lookup(found));
    h.drain();
    let outs = h.take();
    assert!(outs.iter().any(|o| matches!(o, Output::Record(Record::Verification { verified: true, method, attempts: 1, customer_id: Some(c) }) if method == "keyed_id" && c == "1001")), "{outs:#?}");
    assert!(
        outs.iter()
            .any(|o| matches!(o, Output::Record(Record::Queue { queue }) if queue == "support"))
    );
    assert!(
        media_cmds(&outs).iter().any(|c| matches!(c, MediaCommand::Music)),
        "the shared music on hold plays while the call waits"
    );
    // The queue timeout sends the flow on to the transfer: a REFER to the caller.
    h.advance(Duration::from_secs(4));
    let outs = h.take();
    let refer = outs
        .iter()
        .find_map(|o| match o {
            Output::Send { request, .. } if request.method == sip_msg::Method::Refer => Some(request.clone()),
            _ => None,
        })
        .expect("a REFER");
    assert_eq!(
        refer.headers.get(&sip_msg::HeaderName::ReferTo),
        Some("<sip:operator@192.0.2.99>")
    );
    // The phone accepts: we hang up our leg, the record says transferred.
    let accepted = Response::from_request(&refer, sip_msg::StatusCode(202));
    h.session.handle_response(h.now, &accepted);
    h.drain();
    let outs = h.take();
    assert!(
        outs.iter()
            .any(|o| matches!(o, Output::Send { request, .. } if request.method == sip_msg::Method::Bye))
    );
    h.media(MediaEvent::Closed {
        stats: LegStats::default(),
    });
    let outs = h.take();
    let (reason, keys) = final_record(&outs).unwrap();
    assert_eq!(reason, EndReason::Transferred);
    assert_eq!(
        keys,
        "xxxx#".replace('#', if keys.ends_with('#') { "#" } else { "x" }),
        "digits keyed for verification are masked"
    );
    let fields = outs.iter().find_map(|o| match o {
        Output::Record(Record::Final { fields, .. }) => Some(fields.clone()),
        _ => None,
    });
    assert!(fields.unwrap().contains_key("ani_match"));
}

const FLOW_QUEUE: &str = "flow: q
start: queue
nodes:
  queue:
    type: enqueue
    queue: support
    on_left: bye
  bye:
    type: hangup
";

fn waiting_in_queue() -> Harness {
    let (mut h, _) = answered_with(FLOW_QUEUE);
    let outs = h.take();
    assert!(
        outs.iter()
            .any(|o| matches!(o, Output::Record(Record::Queue { queue }) if queue == "support"))
    );
    h
}

fn target(offer: u64) -> hotline_b2bua::AgentTarget {
    hotline_b2bua::AgentTarget {
        offer,
        agent: "2001".into(),
        contact: "sip:2001@192.0.2.50:5080".parse().unwrap(),
        destination: "192.0.2.50:5080".parse().unwrap(),
        media_port: 20002,
        call_id: "agent-leg-1".into(),
        interaction: "01JCALL".into(),
    }
}

fn sent_invite(outs: &[Output]) -> Request {
    outs.iter()
        .find_map(|o| match o {
            Output::Send { request, .. } if request.method == sip_msg::Method::Invite => {
                Some(request.clone())
            }
            _ => None,
        })
        .expect("an INVITE to the agent")
}

/// The agent phone's 200 with an SDP answer (PCMU, port 41000).
fn agent_ok(invite: &Request) -> Response {
    let mut ok = Response::from_request(invite, sip_msg::StatusCode::OK);
    ok.headers.set(
        sip_msg::HeaderName::To,
        format!(
            "{};tag=agenttag",
            invite.headers.get(&sip_msg::HeaderName::To).unwrap()
        ),
    );
    ok.headers
        .set(sip_msg::HeaderName::Contact, "<sip:2001@192.0.2.50:5080>");
    ok.headers
        .set(sip_msg::HeaderName::ContentType, "application/sdp");
    ok.body = bytes::Bytes::from(
        "v=0\r\no=a 1 1 IN IP4 192.0.2.50\r\ns=-\r\nc=IN IP4 192.0.2.50\r\nt=0 0\r\nm=audio 41000 RTP/AVP 0 101\r\n\
         a=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n",
    );
    ok
}

#[test]
fn an_offered_agent_is_invited_with_the_callers_number_and_bridged_on_answer() {
    let mut h = waiting_in_queue();
    h.session.offer_agent(h.now, target(7));
    h.drain();
    let outs = h.take();
    let invite = sent_invite(&outs);
    assert_eq!(invite.uri.to_string(), "sip:2001@192.0.2.50:5080");
    assert_eq!(
        invite.headers.from().unwrap().uri.user(),
        Some("+15550001"),
        "the caller's number in From"
    );
    assert_eq!(invite.headers.call_id().unwrap(), "agent-leg-1");
    assert_eq!(
        invite
            .headers
            .get(&sip_msg::HeaderName::Other("X-Hotline-Interaction".into())),
        Some("01JCALL")
    );
    assert!(String::from_utf8_lossy(&invite.body).contains("m=audio 20002 RTP/AVP"));

    let ok = agent_ok(&invite);
    h.session.handle_response(h.now, &ok);
    h.drain();
    let outs = h.take();
    let ack = outs.iter().find_map(|o| match o {
        Output::Stateless {
            message: Message::Request(r),
            destination,
            ..
        } => Some((r.clone(), *destination)),
        _ => None,
    });
    let (ack, dest) = ack.expect("the 2xx is acknowledged");
    assert_eq!(
        (ack.method.clone(), dest),
        (sip_msg::Method::Ack, "192.0.2.50:5080".parse().unwrap())
    );
    assert_eq!(ack.headers.to().unwrap().tag(), Some("agenttag"));
    assert!(outs.iter().any(|o| matches!(o, Output::AgentMedia(MediaCommand::Configure { remote }) if remote.addr == "192.0.2.50:41000".parse().unwrap())));
    assert!(outs.iter().any(|o| matches!(o, Output::Bridge)));
    assert!(
        outs.iter()
            .any(|o| matches!(o, Output::Agent(hotline_b2bua::AgentEvent::Answered { offer: 7 })))
    );
    assert!(
        media_cmds(&outs)
            .iter()
            .any(|c| matches!(c, MediaCommand::StopPlay)),
        "hold music stops"
    );
    // A retransmitted 2xx is acknowledged again, nothing else happens.
    h.session.handle_response(h.now, &ok);
    h.drain();
    let outs = h.take();
    assert_eq!(outs.len(), 1);
    assert!(matches!(&outs[0], Output::Stateless { .. }));

    // The agent hangs up: 200, the caller gets BYE, the record says the agent ended it.
    let bye = request(&format!(
        "BYE sip:hotline@192.0.2.1:5060 SIP/2.0\nVia: SIP/2.0/UDP 192.0.2.50:5080;branch=z9hG4bKagentbye\n\
         From: <sip:2001@192.0.2.1>;tag=agenttag\nTo: {};tag={}\nCall-ID: agent-leg-1\nCSeq: 9 BYE\n\
         Max-Forwards: 70\nContent-Length: 0\n\n",
        invite
            .headers
            .get(&sip_msg::HeaderName::From)
            .unwrap()
            .split(";tag=")
            .next()
            .unwrap(),
        invite.headers.from().unwrap().tag().unwrap()
    ));
    h.request(bye);
    let outs = h.take();
    assert_eq!(responses(&outs)[0].status.0, 200);
    assert!(outs.iter().any(|o| matches!(
        o,
        Output::Agent(hotline_b2bua::AgentEvent::Ended {
            offer: 7,
            by_agent: true
        })
    )));
    assert!(
        outs.iter()
            .any(|o| matches!(o, Output::Send { request, destination, .. }
        if request.method == sip_msg::Method::Bye && *destination == SOURCE.parse().unwrap()))
    );
    h.media(MediaEvent::Closed {
        stats: LegStats::default(),
    });
    assert_eq!(final_record(&h.take()).map(|r| r.0), Some(EndReason::AgentHangup));
}

#[test]
fn a_withdrawn_offer_cancels_the_ringing_agent_and_a_busy_agent_fails_the_offer() {
    let mut h = waiting_in_queue();
    h.session.offer_agent(h.now, target(1));
    h.drain();
    let invite = sent_invite(&h.take());
    h.session.withdraw_offer(h.now, 1);
    h.drain();
    let outs = h.take();
    let cancel = outs.iter().find_map(|o| match o {
        Output::Send { request, .. } if request.method == sip_msg::Method::Cancel => Some(request.clone()),
        _ => None,
    });
    assert_eq!(
        cancel.unwrap().headers.top_via().unwrap().branch(),
        invite.headers.top_via().unwrap().branch()
    );
    // The 487 that answers the CANCEL reports nothing more: the queue already knows.
    let terminated = Response::from_request(&invite, sip_msg::StatusCode::REQUEST_TERMINATED);
    h.session.handle_response(h.now, &terminated);
    h.drain();
    assert!(!h.take().iter().any(|o| matches!(o, Output::Agent(_))));

    // The next agent is busy: the queue hears of it.
    h.session.offer_agent(
        h.now,
        hotline_b2bua::AgentTarget {
            call_id: "agent-leg-2".into(),
            ..target(2)
        },
    );
    h.drain();
    let invite = sent_invite(&h.take());
    let busy = Response::from_request(&invite, sip_msg::StatusCode::BUSY_HERE);
    h.session.handle_response(h.now, &busy);
    h.drain();
    let outs = h.take();
    assert!(outs.iter().any(|o| matches!(
        o,
        Output::Agent(hotline_b2bua::AgentEvent::Failed {
            offer: 2,
            status: Some(486)
        })
    )));
    assert!(
        outs.iter()
            .any(|o| matches!(o, Output::AgentMedia(MediaCommand::Close)))
    );
}

#[test]
fn an_offer_to_a_call_not_waiting_in_a_queue_fails_at_once() {
    let (mut h, _) = answered();
    h.take();
    h.session.offer_agent(h.now, target(3));
    h.drain();
    let outs = h.take();
    assert!(outs.iter().any(|o| matches!(
        o,
        Output::Agent(hotline_b2bua::AgentEvent::Failed {
            offer: 3,
            status: None
        })
    )));
    assert!(!outs.iter().any(|o| matches!(o, Output::Send { .. })));
}

fn plays(outs: &[Output]) -> Vec<(u64, Vec<String>)> {
    media_cmds(outs)
        .into_iter()
        .filter_map(|c| match c {
            MediaCommand::Play { play_id, prompts } => Some((*play_id, prompts.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn a_queue_announcement_pauses_the_hold_music_and_the_music_comes_back_after_it() {
    let mut h = waiting_in_queue();
    let now = h.now;
    h.session.announce_position(now, 3, Some(Duration::from_secs(90)));
    h.drain();
    let outs = h.take();
    let played = plays(&outs);
    assert_eq!(played.len(), 1, "{outs:?}");
    let (announcement, prompts) = &played[0];
    assert_eq!(
        prompts,
        &[
            "queue-position",
            "number-3",
            "queue-in-line",
            "queue-wait",
            "number-2",
            "minutes"
        ]
    );
    // The music it replaced reports itself interrupted: that does not restart anything.
    h.media(MediaEvent::PlayFinished {
        play_id: announcement - 1,
        interrupted: true,
    });
    assert!(plays(&h.take()).is_empty());
    // The announcement ends: the music starts again.
    h.media(MediaEvent::PlayFinished {
        play_id: *announcement,
        interrupted: false,
    });
    assert!(
        media_cmds(&h.take())
            .iter()
            .any(|c| matches!(c, MediaCommand::Music))
    );
}

#[test]
fn announcements_say_numbers_up_to_twenty_and_round_the_wait_up() {
    use hotline_b2bua::announcement_prompts as say;
    assert_eq!(say(1, None), ["queue-position", "number-1", "queue-in-line"]);
    assert_eq!(say(20, None), ["queue-position", "number-20", "queue-in-line"]);
    assert_eq!(say(21, None), ["queue-many"]);
    assert_eq!(
        say(2, Some(Duration::from_secs(59)))[3..],
        ["queue-wait", "number-1", "minute"]
    );
    assert_eq!(
        say(2, Some(Duration::from_secs(20 * 60)))[3..],
        ["queue-wait", "number-20", "minutes"]
    );
    assert_eq!(
        say(2, Some(Duration::from_secs(20 * 60 + 1)))[3..],
        ["queue-wait-long"]
    );
    assert_eq!(
        say(2, Some(Duration::ZERO))[3..],
        ["queue-wait", "number-1", "minute"]
    );
}

fn digit(h: &mut Harness, d: Digit) {
    h.media(MediaEvent::Digit {
        digit: d,
        source: DigitSource::Rfc4733,
    });
}

fn sent(outs: &[Output], method: sip_msg::Method) -> Vec<(Request, SocketAddr)> {
    outs.iter()
        .filter_map(|o| match o {
            Output::Send {
                request, destination, ..
            } if request.method == method => Some((request.clone(), *destination)),
            _ => None,
        })
        .collect()
}

#[test]
fn the_callback_key_asks_for_a_callback_and_once_taken_the_caller_hears_so_and_is_hung_up() {
    let mut h = waiting_in_queue();
    h.session.offer_agent(h.now, target(4));
    h.drain();
    h.take();
    digit(&mut h, Digit::Star);
    let outs = h.take();
    let asked: Vec<_> = outs
        .iter()
        .filter_map(|o| match o {
            Output::Queue(q) => Some(q.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        asked,
        vec![hotline_b2bua::QueueRequest::Callback {
            queue: "support".into(),
            number: "+15550001".into()
        }]
    );
    assert!(
        !media_cmds(&outs)
            .iter()
            .any(|c| matches!(c, MediaCommand::StopPlay)),
        "the music goes on until the engine has taken the callback"
    );
    // A second press while the first is pending asks nothing more; a refusal lets the caller ask again.
    digit(&mut h, Digit::Star);
    assert!(!h.take().iter().any(|o| matches!(o, Output::Queue(_))));
    h.session.callback_refused(h.now);
    h.advance(Duration::from_secs(1));
    digit(&mut h, Digit::Star);
    assert!(h.take().iter().any(|o| matches!(o, Output::Queue(_))));

    // Taken: the ringing agent is cancelled, the caller hears the confirmation, then BYE.
    h.session.callback_accepted(h.now);
    h.drain();
    let outs = h.take();
    assert_eq!(
        sent(&outs, sip_msg::Method::Cancel).len(),
        1,
        "the ringing agent is cancelled"
    );
    let (play_id, prompts) = plays(&outs).pop().unwrap();
    assert_eq!(prompts, vec!["callback-confirmed".to_owned()]);
    assert!(
        sent(&outs, sip_msg::Method::Bye).is_empty(),
        "not before the prompt has played"
    );
    h.media(MediaEvent::PlayFinished {
        play_id,
        interrupted: false,
    });
    let outs = h.take();
    let byes = sent(&outs, sip_msg::Method::Bye);
    assert_eq!(byes[0].1, SOURCE.parse().unwrap());
    assert!(
        !outs
            .iter()
            .any(|o| matches!(o, Output::Queue(hotline_b2bua::QueueRequest::Leave))),
        "the queue entry lives on in the callback"
    );
    h.media(MediaEvent::Closed {
        stats: LegStats::default(),
    });
    assert_eq!(
        final_record(&h.take()).map(|r| r.0),
        Some(EndReason::CallbackRequested)
    );
}

#[test]
fn the_callback_key_is_an_ordinary_digit_outside_a_queue_with_callbacks() {
    let (mut h, _) = answered();
    h.take();
    digit(&mut h, Digit::Star);
    assert!(!h.take().iter().any(|o| matches!(o, Output::Queue(_))));
}

fn parked(number: &str) -> Option<Harness> {
    let now = Instant::now();
    let call = hotline_b2bua::CallbackCall {
        number: number.into(),
        target: None,
        label: "Callback".into(),
        queue: Some("support".into()),
        call_id: "cb-1".into(),
        media_port: 20010,
        seed: 9,
        flow: linked(FLOW_QUEUE),
        wall_clock: jiff::Timestamp::UNIX_EPOCH,
        fields: [("callback_of".to_owned(), "01JORIGINAL".to_owned())].into(),
        agent_ring_timeout: None,
    };
    let session = CallSession::callback(now, config(Duration::ZERO), call)?;
    let mut h = Harness {
        txn: TxnLayer::new(Default::default()),
        session,
        now,
        outputs: vec![],
    };
    h.drain();
    Some(h)
}

/// A parked callback whose agent answered: returns the harness and the INVITE sent to the customer.
fn dialing() -> (Harness, Request) {
    let mut h = parked("+15550001").unwrap();
    assert!(
        h.take()
            .iter()
            .any(|o| matches!(o, Output::Record(Record::Queue { queue }) if queue == "support"))
    );
    h.session.offer_agent(h.now, target(5));
    h.drain();
    let invite = sent_invite(&h.take());
    let from = invite.headers.from().unwrap();
    assert_eq!(
        from.uri.user(),
        Some("+15550001"),
        "the customer's number for the agent"
    );
    assert_eq!(from.display_name.as_deref(), Some("Callback"));
    h.session.handle_response(h.now, &agent_ok(&invite));
    h.drain();
    let outs = h.take();
    assert!(
        outs.iter()
            .any(|o| matches!(o, Output::Agent(hotline_b2bua::AgentEvent::Answered { offer: 5 })))
    );
    assert!(
        !outs.iter().any(|o| matches!(o, Output::Bridge)),
        "nobody to bridge to yet"
    );
    assert!(outs.iter().any(
        |o| matches!(o, Output::AgentMedia(MediaCommand::Play { prompts, .. })
        if prompts == &vec!["callback-dialing".to_owned()])
    ));
    let calls = sent(&outs, sip_msg::Method::Invite);
    assert_eq!(
        calls.len(),
        1,
        "the customer is called once the agent is on the line"
    );
    let (call, dest) = calls[0].clone();
    assert_eq!(dest, TRUNK.parse().unwrap());
    assert_eq!(call.uri.to_string(), "sip:+15550001@carrier.example");
    assert_eq!(call.headers.from().unwrap().uri.user(), Some("+15559990000"));
    assert_eq!(call.headers.call_id().unwrap(), "cb-1");
    assert!(String::from_utf8_lossy(&call.body).contains("m=audio 20010 RTP/AVP"));
    (h, call)
}

#[test]
fn a_callback_rings_the_agent_first_then_calls_the_customer_and_bridges_them() {
    let (mut h, call) = dialing();
    h.session.handle_response(
        h.now,
        &Response::from_request(&call, sip_msg::StatusCode::RINGING),
    );
    h.drain();
    assert!(h.take().is_empty(), "ringing changes nothing");
    let ok = agent_ok(&call);
    h.session.handle_response(h.now, &ok);
    h.drain();
    let outs = h.take();
    assert!(
        outs.iter()
            .any(|o| matches!(o, Output::Stateless { destination, .. }
        if *destination == TRUNK.parse().unwrap()))
    );
    assert!(
        media_cmds(&outs)
            .iter()
            .any(|c| matches!(c, MediaCommand::Configure { remote }
        if remote.addr == "192.0.2.50:41000".parse().unwrap()))
    );
    assert!(outs.iter().any(|o| matches!(o, Output::Bridge)));
    assert!(
        outs.iter()
            .any(|o| matches!(o, Output::Record(Record::Answered { .. })))
    );

    // The customer hangs up: 200, BYE to the agent, the record keeps where the callback came from.
    let bye = request(&format!(
        "BYE sip:hotline@192.0.2.1:5060 SIP/2.0\nVia: SIP/2.0/UDP 192.0.2.99:5060;branch=z9hG4bKcustbye\n\
         From: {};tag=agenttag\nTo: {}\nCall-ID: cb-1\nCSeq: 3 BYE\nMax-Forwards: 70\nContent-Length: 0\n\n",
        call.headers.get(&sip_msg::HeaderName::To).unwrap(),
        call.headers.get(&sip_msg::HeaderName::From).unwrap(),
    ));
    h.request(bye);
    let outs = h.take();
    assert_eq!(responses(&outs)[0].status.0, 200);
    let byes = sent(&outs, sip_msg::Method::Bye);
    assert_eq!(
        byes[0].1,
        "192.0.2.50:5080".parse().unwrap(),
        "the agent is hung up"
    );
    h.media(MediaEvent::Closed {
        stats: LegStats::default(),
    });
    let fin = h.take().into_iter().find_map(|o| match o {
        Output::Record(Record::Final { reason, fields, .. }) => Some((reason, fields)),
        _ => None,
    });
    let (reason, fields) = fin.unwrap();
    assert_eq!(reason, EndReason::CallerHangup);
    assert_eq!(fields.get("callback_of").map(String::as_str), Some("01JORIGINAL"));
}

#[test]
fn a_callback_the_customer_refuses_or_never_answers_fails_and_frees_the_agent() {
    // Refused (486): the agent is hung up and the queue hears the call ended.
    let (mut h, call) = dialing();
    h.session.handle_response(
        h.now,
        &Response::from_request(&call, sip_msg::StatusCode::BUSY_HERE),
    );
    h.drain();
    let outs = h.take();
    assert_eq!(
        sent(&outs, sip_msg::Method::Bye)[0].1,
        "192.0.2.50:5080".parse().unwrap()
    );
    assert!(
        sent(&outs, sip_msg::Method::Cancel).is_empty(),
        "nothing rings any more"
    );
    assert!(outs.iter().any(|o| matches!(
        o,
        Output::Agent(hotline_b2bua::AgentEvent::Ended {
            offer: 5,
            by_agent: false
        })
    )));
    h.media(MediaEvent::Closed {
        stats: LegStats::default(),
    });
    assert_eq!(
        final_record(&h.take()).map(|r| r.0),
        Some(EndReason::CallbackFailed)
    );

    // No answer within the ring timeout (20 s): CANCEL, then the same; not a moment before.
    let (mut h, call) = dialing();
    h.advance(Duration::from_millis(19_999));
    assert!(sent(&h.take(), sip_msg::Method::Cancel).is_empty());
    h.advance(Duration::from_millis(1));
    let outs = h.take();
    let cancels = sent(&outs, sip_msg::Method::Cancel);
    assert_eq!(cancels[0].1, TRUNK.parse().unwrap());
    assert_eq!(
        cancels[0].0.headers.top_via().unwrap().branch(),
        call.headers.top_via().unwrap().branch()
    );
    assert_eq!(sent(&outs, sip_msg::Method::Bye).len(), 1, "the agent is hung up");
    // A 200 that crosses the CANCEL is acknowledged and hung up at once.
    h.session.handle_response(h.now, &agent_ok(&call));
    h.drain();
    let outs = h.take();
    assert!(outs.iter().any(|o| matches!(o, Output::Stateless { .. })));
    assert_eq!(sent(&outs, sip_msg::Method::Bye)[0].1, TRUNK.parse().unwrap());
    assert!(!outs.iter().any(|o| matches!(o, Output::Bridge)));
}

#[test]
fn a_callback_needs_a_dialable_number() {
    assert!(parked("+15550001").is_some());
    assert!(parked("").is_none(), "anonymous");
    assert!(parked("alice").is_none());
    assert!(parked("+1234567890123456789").is_some(), "20 characters");
    assert!(parked("+12345678901234567890").is_none(), "21 characters");
}

#[test]
fn hold_separates_the_legs_and_plays_music_to_the_caller_and_resume_joins_them_again() {
    let mut h = waiting_in_queue();
    assert!(
        !h.session.hold(h.now, true),
        "nothing to hold before an agent answers"
    );
    h.session.offer_agent(h.now, target(8));
    h.drain();
    let invite = sent_invite(&h.take());
    h.session.handle_response(h.now, &agent_ok(&invite));
    h.drain();
    h.take();
    assert!(h.session.hold(h.now, true));
    h.drain();
    let outs = h.take();
    assert!(matches!(outs[0], Output::Unbridge), "{outs:?}");
    assert!(matches!(outs[1], Output::Media(MediaCommand::Music)), "{outs:?}");
    assert!(h.session.hold(h.now, false));
    h.drain();
    let outs = h.take();
    assert!(
        matches!(outs[0], Output::Media(MediaCommand::StopPlay)),
        "{outs:?}"
    );
    assert!(matches!(outs[1], Output::Bridge), "{outs:?}");
}

#[test]
fn an_outbound_call_gives_up_an_agent_who_does_not_answer_their_own_ring() {
    let now = Instant::now();
    let call = hotline_b2bua::CallbackCall {
        number: "+15557654321".into(),
        target: None,
        label: "Outbound call".into(),
        queue: None,
        call_id: "out-1".into(),
        media_port: 20012,
        seed: 11,
        flow: linked(FLOW_QUEUE),
        wall_clock: jiff::Timestamp::UNIX_EPOCH,
        fields: [("outbound_by".to_owned(), "2001".to_owned())].into(),
        agent_ring_timeout: Some(Duration::from_secs(30)),
    };
    let session = CallSession::callback(now, config(Duration::ZERO), call).unwrap();
    let mut h = Harness {
        txn: TxnLayer::new(Default::default()),
        session,
        now,
        outputs: vec![],
    };
    h.drain();
    assert!(h.take().is_empty(), "an outbound call joins no queue");
    h.session.offer_agent(h.now, target(u64::MAX));
    h.drain();
    let invite = sent_invite(&h.take());
    assert_eq!(
        invite.headers.from().unwrap().display_name.as_deref(),
        Some("Outbound call")
    );
    h.advance(Duration::from_millis(29_999));
    assert!(h.take().is_empty(), "still ringing");
    h.advance(Duration::from_millis(1));
    let outs = h.take();
    assert_eq!(
        sent(&outs, sip_msg::Method::Cancel).len(),
        1,
        "the agent's phone stops ringing"
    );
    assert!(outs.iter().any(|o| matches!(
        o,
        Output::Agent(hotline_b2bua::AgentEvent::Failed {
            offer: u64::MAX,
            status: None
        })
    )));
}
