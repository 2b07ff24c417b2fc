//! Layer tests in virtual time: an `Instant` variable is advanced to each deadline, so a 32-second
//! timeout runs in microseconds.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use sip_msg::{HeaderName, Message, Method, Request, Response, StatusCode, Uri};

use crate::{
    CancelMatch, Incoming, InviteClientState, InviteServerState, NonInviteClientState, NonInviteServerState,
    Timer, TimerConfig, Transmit, Transport, TxnConfig, TxnError, TxnEvent, TxnKey, TxnLayer, TxnState,
};

const UAC: &str = "192.0.2.1:5060";
const UAS: &str = "192.0.2.2:5060";

/// An arbitrary origin for virtual time; only differences from it matter.
#[allow(clippy::disallowed_methods)] // tests need some Instant to start from; no test reads the clock again
fn t0() -> Instant {
    Instant::now()
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// A request as a UA at 192.0.2.1 would send it.
fn request(method: Method, branch: Option<&str>, seq: u32) -> Request {
    let mut req = Request::new(method.clone(), "sip:bob@example.com".parse::<Uri>().unwrap());
    let via = match branch {
        Some(b) => format!("SIP/2.0/UDP 192.0.2.1:5060;branch={b}"),
        None => "SIP/2.0/UDP 192.0.2.1:5060".to_owned(),
    };
    req.headers.push(HeaderName::Via, via);
    req.headers.push(HeaderName::MaxForwards, "70");
    req.headers
        .push(HeaderName::From, "Alice <sip:alice@example.com>;tag=from1");
    req.headers.push(HeaderName::To, "Bob <sip:bob@example.com>");
    req.headers.push(HeaderName::CallId, "call-1@192.0.2.1");
    req.headers.push(HeaderName::CSeq, format!("{seq} {method}"));
    req
}

fn invite(branch: &str) -> Request {
    request(Method::Invite, Some(branch), 1)
}

/// A response to `req` with a To tag for anything above 100.
fn answer(req: &Request, status: StatusCode) -> Response {
    let mut resp = Response::from_request(req, status);
    if status.0 > 100 {
        let to = format!("{};tag=to1", req.headers.get(&HeaderName::To).unwrap());
        resp.headers.set(HeaderName::To, to);
    }
    resp
}

/// An ACK for a 2xx: new branch, same Call-ID, CSeq number and From tag.
fn ack_for_2xx(invite: &Request, branch: &str) -> Request {
    let mut ack = request(Method::Ack, Some(branch), invite.headers.cseq().unwrap().seq);
    ack.headers
        .set(HeaderName::To, "Bob <sip:bob@example.com>;tag=to1");
    ack
}

fn transmits(layer: &mut TxnLayer) -> Vec<Transmit> {
    std::iter::from_fn(|| layer.poll_transmit()).collect()
}

fn events(layer: &mut TxnLayer) -> Vec<TxnEvent> {
    std::iter::from_fn(|| layer.poll_event()).collect()
}

fn status_of(t: &Transmit) -> Option<u16> {
    match &t.message {
        Message::Response(r) => Some(r.status.0),
        Message::Request(_) => None,
    }
}

fn method_of(t: &Transmit) -> Option<Method> {
    match &t.message {
        Message::Request(r) => Some(r.method.clone()),
        Message::Response(_) => None,
    }
}

/// Runs the layer's timers up to `until`, returning (offset from `start`, transmit) for everything sent.
fn run_until(layer: &mut TxnLayer, start: Instant, until: Instant) -> Vec<(Duration, Transmit)> {
    let mut sent = Vec::new();
    while let Some((at, _)) = layer.poll_timeout() {
        if at > until {
            break;
        }
        layer.handle_timeout(at);
        for t in transmits(layer) {
            sent.push((at - start, t));
        }
    }
    sent
}

fn new_request(incoming: Incoming) -> (TxnKey, Request) {
    match incoming {
        Incoming::NewRequest { key, request } => (key, request),
        other => panic!("expected a new request, got {other:?}"),
    }
}

fn client_layer() -> TxnLayer {
    TxnLayer::new(TxnConfig::default())
}

#[test]
fn timer_a_retransmits_invite_at_doubling_intervals_until_timer_b() {
    let start = t0();
    let mut layer = client_layer();
    let key = layer
        .send_request(start, invite("z9hG4bK-a"), addr(UAS), Transport::Udp)
        .unwrap();
    assert_eq!(transmits(&mut layer).len(), 1, "the INVITE goes out at once");

    let sent = run_until(&mut layer, start, start + secs(40));
    let at: Vec<Duration> = sent.iter().map(|(d, _)| *d).collect();
    // Intervals 0.5, 1, 2, 4, 8, 16 s: retransmissions at these offsets, then Timer B at 32 s.
    assert_eq!(
        at,
        [ms(500), ms(1500), ms(3500), ms(7500), ms(15_500), ms(31_500)]
    );
    assert!(sent.iter().all(|(_, t)| method_of(t) == Some(Method::Invite)));
    assert_eq!(
        events(&mut layer),
        [
            TxnEvent::Timeout { key: key.clone() },
            TxnEvent::Terminated { key }
        ],
        "Timer B reports a timeout (the TU's 408)"
    );
    assert!(layer.is_empty());
}

#[test]
fn timer_b_fires_at_64_t1_and_reports_timeout() {
    let start = t0();
    let mut layer = client_layer();
    let key = layer
        .send_request(start, invite("z9hG4bK-b"), addr(UAS), Transport::Udp)
        .unwrap();
    let _ = transmits(&mut layer);
    run_until(&mut layer, start, start + secs(32) - ms(1));
    assert!(events(&mut layer).is_empty(), "nothing before 32 s");
    assert_eq!(
        layer.state(&key),
        Some(TxnState::InviteClient(InviteClientState::Calling))
    );
    assert_eq!(layer.poll_timeout(), Some((start + secs(32), Timer::B)));
    layer.handle_timeout(start + secs(32));
    assert_eq!(events(&mut layer).first(), Some(&TxnEvent::Timeout { key }));
}

#[test]
fn provisional_response_stops_invite_retransmissions_and_the_timeout() {
    let start = t0();
    let mut layer = client_layer();
    let req = invite("z9hG4bK-p");
    let key = layer
        .send_request(start, req.clone(), addr(UAS), Transport::Udp)
        .unwrap();
    let _ = transmits(&mut layer);
    let incoming = layer.handle_response(start + ms(100), answer(&req, StatusCode::RINGING), addr(UAS));
    assert!(
        matches!(incoming, Incoming::Response { ref response, .. } if response.status == StatusCode::RINGING)
    );
    assert_eq!(
        layer.state(&key),
        Some(TxnState::InviteClient(InviteClientState::Proceeding))
    );
    assert_eq!(
        layer.poll_timeout(),
        None,
        "Proceeding waits for the final response without timers"
    );
    assert!(run_until(&mut layer, start, start + secs(120)).is_empty());
}

#[test]
fn non_2xx_final_to_invite_is_acked_on_the_same_branch_and_retransmissions_are_re_acked() {
    let start = t0();
    let mut layer = client_layer();
    let req = invite("z9hG4bK-busy");
    let key = layer
        .send_request(start, req.clone(), addr(UAS), Transport::Udp)
        .unwrap();
    let _ = transmits(&mut layer);
    let busy = answer(&req, StatusCode::BUSY_HERE);

    let incoming = layer.handle_response(start + ms(50), busy.clone(), addr(UAS));
    assert!(
        matches!(incoming, Incoming::Response { .. }),
        "the 486 goes to the TU once"
    );
    let sent = transmits(&mut layer);
    assert_eq!(sent.len(), 1);
    let Message::Request(ack) = &sent[0].message else {
        panic!("expected the ACK")
    };
    assert_eq!(ack.method, Method::Ack);
    assert_eq!(ack.uri, req.uri);
    assert_eq!(ack.headers.top_via().unwrap().branch(), Some("z9hG4bK-busy"));
    assert_eq!(
        ack.headers.to().unwrap().tag(),
        Some("to1"),
        "To comes from the response"
    );
    assert_eq!(ack.headers.cseq().unwrap().to_string(), "1 ACK");
    assert_eq!(sent[0].destination, addr(UAS));
    assert_eq!(
        layer.state(&key),
        Some(TxnState::InviteClient(InviteClientState::Completed))
    );

    assert!(matches!(
        layer.handle_response(start + ms(600), busy, addr(UAS)),
        Incoming::Absorbed
    ));
    let again = transmits(&mut layer);
    assert_eq!(again.len(), 1, "a retransmitted 486 is ACKed again");
    assert_eq!(method_of(&again[0]), Some(Method::Ack));

    assert_eq!(layer.poll_timeout(), Some((start + ms(50) + secs(32), Timer::D)));
    layer.handle_timeout(start + ms(50) + secs(32));
    assert!(layer.is_empty(), "Timer D ends the transaction");
}

#[test]
fn invite_2xx_enters_accepted_and_forwards_retransmissions_until_timer_m() {
    let start = t0();
    let mut layer = client_layer();
    let req = invite("z9hG4bK-ok");
    let key = layer
        .send_request(start, req.clone(), addr(UAS), Transport::Udp)
        .unwrap();
    let _ = transmits(&mut layer);
    let ok = answer(&req, StatusCode::OK);
    assert!(matches!(
        layer.handle_response(start + ms(10), ok.clone(), addr(UAS)),
        Incoming::Response { .. }
    ));
    assert!(
        transmits(&mut layer).is_empty(),
        "the layer never ACKs a 2xx: the dialog does"
    );
    assert_eq!(
        layer.state(&key),
        Some(TxnState::InviteClient(InviteClientState::Accepted))
    );
    assert!(
        matches!(
            layer.handle_response(start + secs(1), ok.clone(), addr(UAS)),
            Incoming::Response { .. }
        ),
        "RFC 6026: 2xx retransmissions reach the TU so it can ACK again"
    );
    assert!(matches!(
        layer.handle_response(start + secs(1), answer(&req, StatusCode::RINGING), addr(UAS)),
        Incoming::Absorbed
    ));
    layer.handle_timeout(start + ms(10) + secs(32));
    assert!(layer.is_empty(), "Timer M ends Accepted");
    assert!(matches!(
        layer.handle_response(start + secs(40), ok, addr(UAS)),
        Incoming::StrayResponse(_)
    ));
}

#[test]
fn non_invite_timer_e_doubles_and_caps_at_t2_then_timer_f_times_out() {
    let start = t0();
    let mut layer = client_layer();
    let key = layer
        .send_request(
            start,
            request(Method::Options, Some("z9hG4bK-opt"), 1),
            addr(UAS),
            Transport::Udp,
        )
        .unwrap();
    let _ = transmits(&mut layer);
    let sent = run_until(&mut layer, start, start + secs(40));
    let at: Vec<Duration> = sent.iter().map(|(d, _)| *d).collect();
    // 0.5, 1, 2, 4, then 4 s steps: offsets 0.5, 1.5, 3.5, 7.5, 11.5, ... 31.5.
    let expected: Vec<Duration> = [
        500, 1500, 3500, 7500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500,
    ]
    .into_iter()
    .map(ms)
    .collect();
    assert_eq!(at, expected);
    assert_eq!(
        events(&mut layer),
        [
            TxnEvent::Timeout { key: key.clone() },
            TxnEvent::Terminated { key }
        ]
    );
}

#[test]
fn non_invite_provisional_keeps_retransmitting_at_t2_and_final_waits_timer_k() {
    let start = t0();
    let mut layer = client_layer();
    let req = request(Method::Bye, Some("z9hG4bK-bye"), 2);
    let key = layer
        .send_request(start, req.clone(), addr(UAS), Transport::Udp)
        .unwrap();
    let _ = transmits(&mut layer);
    let _ = layer.handle_response(start + ms(100), answer(&req, StatusCode::TRYING), addr(UAS));
    assert_eq!(
        layer.state(&key),
        Some(TxnState::NonInviteClient(NonInviteClientState::Proceeding))
    );
    let sent = run_until(&mut layer, start, start + ms(4600));
    // The first E (armed at 0 for 0.5 s) still fires; from then on Proceeding retransmits every T2.
    assert_eq!(
        sent.iter().map(|(d, _)| *d).collect::<Vec<_>>(),
        [ms(500), ms(4500)]
    );

    let ok = answer(&req, StatusCode::OK);
    assert!(matches!(
        layer.handle_response(start + secs(5), ok.clone(), addr(UAS)),
        Incoming::Response { .. }
    ));
    assert!(matches!(
        layer.handle_response(start + secs(6), ok, addr(UAS)),
        Incoming::Absorbed
    ));
    assert_eq!(
        layer.poll_timeout(),
        Some((start + secs(10), Timer::K)),
        "K = T4 after the final"
    );
    layer.handle_timeout(start + secs(10));
    assert!(layer.is_empty());
}

#[test]
fn server_invite_sends_trying_and_answers_retransmissions_with_the_last_provisional() {
    let start = t0();
    let mut layer = TxnLayer::new(TxnConfig::default());
    let req = invite("z9hG4bK-srv");
    let (key, _) = new_request(layer.handle_request(start, req.clone(), addr(UAC), Transport::Udp));
    let sent = transmits(&mut layer);
    assert_eq!(sent.iter().map(status_of).collect::<Vec<_>>(), [Some(100)]);
    assert_eq!(sent[0].destination, addr(UAC), "responses go back to the source");

    layer
        .respond(start + ms(10), &key, answer(&req, StatusCode::RINGING))
        .unwrap();
    assert_eq!(
        transmits(&mut layer).iter().map(status_of).collect::<Vec<_>>(),
        [Some(180)]
    );

    let again = layer.handle_request(start + ms(500), req, addr(UAC), Transport::Udp);
    assert!(
        matches!(again, Incoming::Absorbed),
        "a retransmitted INVITE is not a new request"
    );
    assert_eq!(
        transmits(&mut layer).iter().map(status_of).collect::<Vec<_>>(),
        [Some(180)]
    );
    assert_eq!(layer.len(), 1);
}

#[test]
fn server_non_2xx_final_is_retransmitted_on_timer_g_until_the_ack_then_timer_i_ends_it() {
    let start = t0();
    let mut layer = TxnLayer::new(TxnConfig::default());
    let req = invite("z9hG4bK-g");
    let (key, _) = new_request(layer.handle_request(start, req.clone(), addr(UAC), Transport::Udp));
    let _ = transmits(&mut layer);
    layer
        .respond(start, &key, answer(&req, StatusCode::BUSY_HERE))
        .unwrap();
    let _ = transmits(&mut layer);
    assert_eq!(
        layer.state(&key),
        Some(TxnState::InviteServer(InviteServerState::Completed))
    );

    let sent = run_until(&mut layer, start, start + ms(11_600));
    let at: Vec<Duration> = sent.iter().map(|(d, _)| *d).collect();
    assert_eq!(
        at,
        [ms(500), ms(1500), ms(3500), ms(7500), ms(11_500)],
        "G: 0.5, 1, 2, 4, 4 s"
    );
    assert!(sent.iter().all(|(_, t)| status_of(t) == Some(486)));

    // The retransmitted INVITE also gets the 486.
    assert!(matches!(
        layer.handle_request(start + secs(12), req, addr(UAC), Transport::Udp),
        Incoming::Absorbed
    ));
    assert_eq!(
        transmits(&mut layer).iter().map(status_of).collect::<Vec<_>>(),
        [Some(486)]
    );

    let mut ack = request(Method::Ack, Some("z9hG4bK-g"), 1);
    ack.headers
        .set(HeaderName::To, "Bob <sip:bob@example.com>;tag=to1");
    assert!(matches!(
        layer.handle_request(start + secs(13), ack.clone(), addr(UAC), Transport::Udp),
        Incoming::Absorbed
    ));
    assert_eq!(
        layer.state(&key),
        Some(TxnState::InviteServer(InviteServerState::Confirmed))
    );
    assert!(matches!(
        layer.handle_request(start + secs(14), ack, addr(UAC), Transport::Udp),
        Incoming::Absorbed
    ));
    assert_eq!(
        layer.poll_timeout(),
        Some((start + secs(18), Timer::I)),
        "I = T4 after the ACK"
    );
    assert!(
        run_until(&mut layer, start, start + secs(18)).is_empty(),
        "no retransmission after the ACK"
    );
    assert!(layer.is_empty());
    assert_eq!(events(&mut layer), [TxnEvent::Terminated { key }]);
}

#[test]
fn server_non_2xx_final_without_ack_times_out_on_timer_h() {
    let start = t0();
    let mut layer = TxnLayer::new(TxnConfig::default());
    let req = invite("z9hG4bK-h");
    let (key, _) = new_request(layer.handle_request(start, req.clone(), addr(UAC), Transport::Udp));
    layer
        .respond(start, &key, answer(&req, StatusCode::DECLINE))
        .unwrap();
    let sent = run_until(&mut layer, start, start + secs(60));
    assert!(sent.iter().all(|(d, _)| *d < secs(32)));
    assert_eq!(
        events(&mut layer),
        [
            TxnEvent::Timeout { key: key.clone() },
            TxnEvent::Terminated { key }
        ]
    );
}

#[test]
fn server_2xx_is_retransmitted_until_the_ack_for_2xx_arrives() {
    let start = t0();
    let mut layer = TxnLayer::new(TxnConfig::default());
    let req = invite("z9hG4bK-2xx");
    let (key, _) = new_request(layer.handle_request(start, req.clone(), addr(UAC), Transport::Udp));
    let _ = transmits(&mut layer);
    layer.respond(start, &key, answer(&req, StatusCode::OK)).unwrap();
    assert_eq!(
        transmits(&mut layer).iter().map(status_of).collect::<Vec<_>>(),
        [Some(200)]
    );
    assert_eq!(
        layer.state(&key),
        Some(TxnState::InviteServer(InviteServerState::Accepted))
    );

    let sent = run_until(&mut layer, start, start + ms(3600));
    assert_eq!(
        sent.iter().map(|(d, _)| *d).collect::<Vec<_>>(),
        [ms(500), ms(1500), ms(3500)]
    );
    assert!(sent.iter().all(|(_, t)| status_of(t) == Some(200)));

    let ack = ack_for_2xx(&req, "z9hG4bK-ack-new-branch");
    match layer.handle_request(start + secs(4), ack.clone(), addr(UAC), Transport::Udp) {
        Incoming::AckFor2xx { invite_key, ack: got } => {
            assert_eq!(invite_key, key);
            assert_eq!(got, ack);
        }
        other => panic!("expected AckFor2xx, got {other:?}"),
    }
    assert!(
        matches!(
            layer.handle_request(start + secs(5), ack.clone(), addr(UAC), Transport::Udp),
            Incoming::Absorbed
        ),
        "a repeated ACK is absorbed"
    );
    assert!(
        run_until(&mut layer, start, start + secs(40)).is_empty(),
        "no 2xx after the ACK"
    );
    assert!(layer.is_empty(), "Timer L ends Accepted");
    assert_eq!(
        events(&mut layer),
        [TxnEvent::Terminated { key }],
        "no AckTimeout once ACKed"
    );
    assert!(matches!(
        layer.handle_request(start + secs(41), ack, addr(UAC), Transport::Udp),
        Incoming::StrayAck(_)
    ));
}

#[test]
fn server_2xx_without_ack_reports_ack_timeout_at_timer_l() {
    let start = t0();
    let mut layer = TxnLayer::new(TxnConfig::default());
    let req = invite("z9hG4bK-noack");
    let (key, _) = new_request(layer.handle_request(start, req.clone(), addr(UAC), Transport::Udp));
    let _ = transmits(&mut layer);
    layer.respond(start, &key, answer(&req, StatusCode::OK)).unwrap();
    let _ = transmits(&mut layer);
    let sent = run_until(&mut layer, start, start + secs(33));
    // 0.5, 1.5, 3.5, 7.5, then every 4 s: 11.5 ... 31.5.
    assert_eq!(sent.len(), 10);
    assert_eq!(
        events(&mut layer),
        [
            TxnEvent::AckTimeout { key: key.clone() },
            TxnEvent::Terminated { key }
        ]
    );
}

#[test]
fn non_invite_server_absorbs_retransmissions_and_ends_on_timer_j() {
    let start = t0();
    let mut layer = TxnLayer::new(TxnConfig::default());
    let req = request(Method::Bye, Some("z9hG4bK-nis"), 2);
    let (key, _) = new_request(layer.handle_request(start, req.clone(), addr(UAC), Transport::Udp));
    assert!(
        transmits(&mut layer).is_empty(),
        "no automatic 100 for non-INVITE"
    );
    assert!(matches!(
        layer.handle_request(start + ms(500), req.clone(), addr(UAC), Transport::Udp),
        Incoming::Absorbed
    ));
    assert!(transmits(&mut layer).is_empty(), "Trying absorbs silently");
    assert_eq!(
        layer.state(&key),
        Some(TxnState::NonInviteServer(NonInviteServerState::Trying))
    );

    layer
        .respond(start + secs(1), &key, answer(&req, StatusCode::OK))
        .unwrap();
    assert_eq!(transmits(&mut layer).len(), 1);
    assert!(matches!(
        layer.handle_request(start + secs(2), req, addr(UAC), Transport::Udp),
        Incoming::Absorbed
    ));
    assert_eq!(
        transmits(&mut layer).iter().map(status_of).collect::<Vec<_>>(),
        [Some(200)]
    );
    assert_eq!(layer.poll_timeout(), Some((start + secs(33), Timer::J)));
    layer.handle_timeout(start + secs(33));
    assert!(layer.is_empty());
}

#[test]
fn tcp_transactions_never_retransmit_and_end_without_absorb_timers() {
    let start = t0();
    let mut client = client_layer();
    let req = invite("z9hG4bK-tcp");
    let key = client
        .send_request(start, req.clone(), addr(UAS), Transport::Tcp)
        .unwrap();
    assert_eq!(transmits(&mut client).len(), 1);
    assert_eq!(
        client.poll_timeout(),
        Some((start + secs(32), Timer::B)),
        "only Timer B is armed"
    );
    let _ = client.handle_response(start + ms(10), answer(&req, StatusCode::NOT_FOUND), addr(UAS));
    assert_eq!(
        transmits(&mut client).iter().map(method_of).collect::<Vec<_>>(),
        [Some(Method::Ack)]
    );
    assert!(client.is_empty(), "Timer D is zero on TCP");
    assert!(events(&mut client).contains(&TxnEvent::Terminated { key }));

    let opts = request(Method::Options, Some("z9hG4bK-tcp-o"), 1);
    client
        .send_request(start, opts.clone(), addr(UAS), Transport::Tcp)
        .unwrap();
    let _ = client.handle_response(start + ms(10), answer(&opts, StatusCode::OK), addr(UAS));
    assert!(client.is_empty(), "Timer K is zero on TCP");

    let mut server = TxnLayer::new(TxnConfig::default());
    let (key, _) = new_request(server.handle_request(start, req.clone(), addr(UAC), Transport::Tcp));
    server
        .respond(start, &key, answer(&req, StatusCode::BUSY_HERE))
        .unwrap();
    assert_eq!(
        server.poll_timeout(),
        Some((start + secs(32), Timer::H)),
        "no Timer G on TCP"
    );
    let mut ack = request(Method::Ack, Some("z9hG4bK-tcp"), 1);
    ack.headers
        .set(HeaderName::To, "Bob <sip:bob@example.com>;tag=to1");
    let _ = server.handle_request(start + ms(5), ack, addr(UAC), Transport::Tcp);
    assert!(server.is_empty(), "Timer I is zero on TCP");

    let (key, _) = new_request(server.handle_request(start, opts.clone(), addr(UAC), Transport::Tcp));
    server
        .respond(start, &key, answer(&opts, StatusCode::OK))
        .unwrap();
    assert!(server.is_empty(), "Timer J is zero on TCP");

    let (key, _) =
        new_request(server.handle_request(start, invite("z9hG4bK-tcp2"), addr(UAC), Transport::Tcp));
    server
        .respond(start, &key, answer(&invite("z9hG4bK-tcp2"), StatusCode::OK))
        .unwrap();
    let _ = transmits(&mut server);
    assert!(
        run_until(&mut server, start, start + secs(40)).is_empty(),
        "no 2xx retransmission on TCP"
    );
    assert!(events(&mut server).contains(&TxnEvent::AckTimeout { key }));
}

#[test]
fn cancel_finds_the_invite_in_proceeding_only() {
    let start = t0();
    let mut layer = TxnLayer::new(TxnConfig::default());
    let inv = invite("z9hG4bK-c");
    let (invite_key, _) = new_request(layer.handle_request(start, inv.clone(), addr(UAC), Transport::Udp));
    let (cancel_key, cancel) = new_request(layer.handle_request(
        start + ms(10),
        request(Method::Cancel, Some("z9hG4bK-c"), 1),
        addr(UAC),
        Transport::Udp,
    ));
    assert_ne!(cancel_key, invite_key, "CANCEL is a transaction of its own");
    assert_eq!(layer.cancel_target(&cancel_key), Some(invite_key.clone()));
    assert_eq!(
        layer.cancel_target(&invite_key),
        None,
        "only CANCEL keys have targets"
    );

    // The TU's job: 200 to the CANCEL, 487 to the INVITE.
    layer
        .respond(start + ms(10), &cancel_key, answer(&cancel, StatusCode::OK))
        .unwrap();
    layer
        .respond(
            start + ms(10),
            &invite_key,
            answer(&inv, StatusCode::REQUEST_TERMINATED),
        )
        .unwrap();
    let statuses: Vec<_> = transmits(&mut layer).iter().map(status_of).collect();
    assert_eq!(statuses, [Some(100), Some(200), Some(487)]);
    // A retransmitted CANCEL now gets its 200 again and no longer has a target.
    let again = layer.handle_request(
        start + ms(20),
        request(Method::Cancel, Some("z9hG4bK-c"), 1),
        addr(UAC),
        Transport::Udp,
    );
    assert!(matches!(again, Incoming::Absorbed));
    assert_eq!(layer.cancel_target(&cancel_key), None, "the INVITE is Completed");
    assert_eq!(
        layer.cancel_match(&cancel_key),
        CancelMatch::Answered(invite_key),
        "so a new CANCEL gets 200 only"
    );

    let (lonely, _) = new_request(layer.handle_request(
        start,
        request(Method::Cancel, Some("z9hG4bK-none"), 1),
        addr(UAC),
        Transport::Udp,
    ));
    assert_eq!(
        layer.cancel_target(&lonely),
        None,
        "no INVITE: the TU answers 481"
    );
}

#[test]
fn sending_cancel_bounds_the_invite_client_wait_in_proceeding() {
    let start = t0();
    let mut layer = client_layer();
    let req = invite("z9hG4bK-cc");
    let key = layer
        .send_request(start, req.clone(), addr(UAS), Transport::Udp)
        .unwrap();
    let _ = layer.handle_response(start + ms(10), answer(&req, StatusCode::RINGING), addr(UAS));
    assert_eq!(layer.poll_timeout(), None);
    let cancel = request(Method::Cancel, Some("z9hG4bK-cc"), 1);
    layer
        .send_request(start + secs(60), cancel, addr(UAS), Transport::Udp)
        .unwrap();
    assert_eq!(
        layer.timers(&key).and_then(|t| t.get(Timer::B)),
        Some(start + secs(92))
    );
    run_until(&mut layer, start, start + secs(100));
    assert!(
        events(&mut layer).contains(&TxnEvent::Timeout { key }),
        "no 487 within 64*T1: give up"
    );
    assert!(layer.is_empty());
}

#[test]
fn overload_limit_admits_up_to_the_limit_and_refuses_one_more() {
    let start = t0();
    let mut layer = TxnLayer::new(TxnConfig {
        max_transactions: 2,
        ..TxnConfig::default()
    });
    let first = invite("z9hG4bK-o1");
    let _ = new_request(layer.handle_request(start, first.clone(), addr(UAC), Transport::Udp));
    let _ = new_request(layer.handle_request(start, invite("z9hG4bK-o2"), addr(UAC), Transport::Udp));
    assert_eq!(layer.len(), 2, "at the limit");
    let _ = transmits(&mut layer);
    match layer.handle_request(start, invite("z9hG4bK-o3"), addr(UAC), Transport::Udp) {
        Incoming::Overloaded { request } => {
            assert_eq!(request.headers.top_via().unwrap().branch(), Some("z9hG4bK-o3"))
        }
        other => panic!("limit+1 must be refused, got {other:?}"),
    }
    assert!(
        transmits(&mut layer).is_empty(),
        "the layer itself sends nothing for a refused request"
    );
    assert_eq!(layer.len(), 2);
    assert!(
        matches!(
            layer.handle_request(start, first, addr(UAC), Transport::Udp),
            Incoming::Absorbed
        ),
        "retransmissions of live transactions are still handled at the limit"
    );
}

#[test]
fn rfc2543_requests_without_a_branch_are_matched_by_their_fields() {
    let start = t0();
    let mut layer = TxnLayer::new(TxnConfig::default());
    let req = request(Method::Invite, None, 7);
    let (key, _) = new_request(layer.handle_request(start, req.clone(), addr(UAC), Transport::Udp));
    assert!(!key.is_rfc3261());
    assert!(matches!(
        layer.handle_request(start + ms(500), req.clone(), addr(UAC), Transport::Udp),
        Incoming::Absorbed
    ));

    let (cancel_key, _) =
        new_request(layer.handle_request(start, request(Method::Cancel, None, 7), addr(UAC), Transport::Udp));
    assert_eq!(layer.cancel_target(&cancel_key), Some(key.clone()));

    layer
        .respond(start, &key, answer(&req, StatusCode::BUSY_HERE))
        .unwrap();
    let mut ack = request(Method::Ack, None, 7);
    ack.headers
        .set(HeaderName::To, "Bob <sip:bob@example.com>;tag=to1");
    assert!(matches!(
        layer.handle_request(start + ms(10), ack, addr(UAC), Transport::Udp),
        Incoming::Absorbed
    ));
    assert_eq!(
        layer.state(&key),
        Some(TxnState::InviteServer(InviteServerState::Confirmed))
    );

    let other = request(Method::Invite, None, 8);
    assert!(
        matches!(
            layer.handle_request(start, other, addr(UAC), Transport::Udp),
            Incoming::NewRequest { .. }
        ),
        "another CSeq is another transaction"
    );
}

#[test]
fn misuse_is_reported_with_typed_errors() {
    let start = t0();
    let mut layer = TxnLayer::new(TxnConfig::default());
    let req = invite("z9hG4bK-e");
    let (key, _) = new_request(layer.handle_request(start, req.clone(), addr(UAC), Transport::Udp));
    layer
        .respond(start, &key, answer(&req, StatusCode::BUSY_HERE))
        .unwrap();
    assert!(matches!(
        layer.respond(start, &key, answer(&req, StatusCode::OK)),
        Err(TxnError::InvalidState {
            state: TxnState::InviteServer(InviteServerState::Completed),
            ..
        })
    ));
    assert!(matches!(
        layer.respond(start, &key, Response::new(StatusCode(99))),
        Err(TxnError::InvalidStatus(_))
    ));

    let client = layer
        .send_request(start, invite("z9hG4bK-e2"), addr(UAS), Transport::Udp)
        .unwrap();
    assert!(matches!(
        layer.respond(start, &client, answer(&req, StatusCode::OK)),
        Err(TxnError::WrongRole { .. })
    ));
    assert!(matches!(
        layer.send_request(start, invite("z9hG4bK-e2"), addr(UAS), Transport::Udp),
        Err(TxnError::DuplicateTransaction(_))
    ));
    assert_eq!(
        layer.send_request(start, request(Method::Bye, None, 1), addr(UAS), Transport::Udp),
        Err(TxnError::MissingBranch)
    );
    assert!(matches!(
        layer.send_request(
            start,
            request(Method::Bye, Some("1234"), 1),
            addr(UAS),
            Transport::Udp
        ),
        Err(TxnError::NotRfc3261Branch(_))
    ));
    assert_eq!(
        layer.send_request(
            start,
            request(Method::Ack, Some("z9hG4bK-x"), 1),
            addr(UAS),
            Transport::Udp
        ),
        Err(TxnError::AckIsNotATransaction)
    );
    layer.abandon(&client).unwrap();
    assert!(matches!(
        layer.abandon(&client),
        Err(TxnError::UnknownTransaction(_))
    ));
}

#[test]
fn malformed_and_unmatched_messages_are_reported_not_panicked_on() {
    let start = t0();
    let mut layer = TxnLayer::new(TxnConfig::default());
    let mut no_via = invite("z9hG4bK-v");
    no_via.headers.remove(&HeaderName::Via);
    assert!(matches!(
        layer.handle_request(start, no_via, addr(UAC), Transport::Udp),
        Incoming::Invalid { .. }
    ));
    let mut mismatch = invite("z9hG4bK-m");
    mismatch.headers.set(HeaderName::CSeq, "1 BYE");
    assert!(matches!(
        layer.handle_request(start, mismatch, addr(UAC), Transport::Udp),
        Incoming::Invalid {
            error: TxnError::CSeqMethodMismatch,
            ..
        }
    ));
    let stray = answer(&invite("z9hG4bK-nobody"), StatusCode::OK);
    assert!(matches!(
        layer.handle_response(start, stray, addr(UAS)),
        Incoming::StrayResponse(_)
    ));
    let ack = ack_for_2xx(&invite("z9hG4bK-q"), "z9hG4bK-q2");
    assert!(matches!(
        layer.handle_request(start, ack, addr(UAC), Transport::Udp),
        Incoming::StrayAck(_)
    ));
    assert!(layer.is_empty());
}

#[test]
fn poll_timeout_is_the_earliest_deadline_over_all_transactions() {
    let start = t0();
    let mut layer = client_layer();
    for i in 0..100u64 {
        let req = request(Method::Options, Some(&format!("z9hG4bK-many-{i}")), 1);
        layer
            .send_request(start + ms(100 - i), req, addr(UAS), Transport::Udp)
            .unwrap();
    }
    assert_eq!(layer.poll_timeout(), Some((start + ms(1) + ms(500), Timer::E)));
    assert_eq!(layer.len(), 100);
}

#[test]
fn degenerate_timer_config_neither_hangs_nor_panics() {
    let start = t0();
    let timers = TimerConfig {
        t1: Duration::ZERO,
        t2: Duration::ZERO,
        t4: Duration::MAX,
        timer_d: Duration::MAX,
    };
    let mut layer = TxnLayer::new(TxnConfig {
        timers,
        ..TxnConfig::default()
    });
    assert_eq!(layer.config().timers.t1, ms(1), "T1 is raised to 1 ms");
    let req = invite("z9hG4bK-zero");
    layer
        .send_request(start, req.clone(), addr(UAS), Transport::Udp)
        .unwrap();
    let sent = run_until(&mut layer, start, start + ms(50));
    assert!(
        !sent.is_empty() && sent.len() < 20,
        "A still backs off: {} retransmissions",
        sent.len()
    );
    let _ = layer.handle_response(start + ms(50), answer(&req, StatusCode::BUSY_HERE), addr(UAS));
    assert_eq!(
        layer.len(),
        1,
        "a Timer D beyond Instant's range simply never fires"
    );
    assert_eq!(layer.poll_timeout(), None);
}

mod lossy_network {
    //! Two layers talk through an in-memory network that drops 30 % of messages (seeded), with two tiny TUs
    //! on top: INVITE/180/200/ACK, then BYE/200, must all complete.

    use std::collections::BTreeMap;

    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    use super::*;

    const LOSS: f64 = 0.3;
    const LATENCY: Duration = Duration::from_millis(40);

    #[derive(Default)]
    struct Outcome {
        uas_got_ack: bool,
        uac_got_bye_ok: bool,
        uas_got_bye: bool,
        timeouts: usize,
        dropped: usize,
        delivered: usize,
    }

    fn run(seed: u64) -> (Outcome, TxnLayer, TxnLayer) {
        let start = t0();
        let mut rng = StdRng::seed_from_u64(seed);
        let mut uac = TxnLayer::new(TxnConfig::default());
        let mut uas = TxnLayer::new(TxnConfig::default());
        // In flight: (arrival, sequence) -> (to_uas, message).
        let mut wire: BTreeMap<(Instant, u64), (bool, Message)> = BTreeMap::new();
        let mut seq = 0u64;
        let mut out = Outcome::default();

        let inv = invite("z9hG4bK-lossy-inv");
        let invite_key = uac
            .send_request(start, inv.clone(), addr(UAS), Transport::Udp)
            .unwrap();
        let bye = {
            let mut b = request(Method::Bye, Some("z9hG4bK-lossy-bye"), 2);
            b.headers.set(HeaderName::To, "Bob <sip:bob@example.com>;tag=to1");
            b
        };
        let mut bye_at: Option<Instant> = None;
        let mut now = start;

        for _ in 0..10_000 {
            // Everything the layers want sent enters the network (or is lost).
            for (from_uac, layer) in [(true, &mut uac), (false, &mut uas)] {
                while let Some(t) = layer.poll_transmit() {
                    assert_eq!(t.destination, addr(if from_uac { UAS } else { UAC }));
                    if rng.random_bool(LOSS) {
                        out.dropped += 1;
                    } else {
                        seq += 1;
                        wire.insert((now + LATENCY, seq), (from_uac, t.message));
                    }
                }
            }
            for layer in [&mut uac, &mut uas] {
                while let Some(e) = layer.poll_event() {
                    if matches!(e, TxnEvent::Timeout { .. } | TxnEvent::AckTimeout { .. }) {
                        out.timeouts += 1;
                    }
                }
            }
            // The next thing to happen, in virtual time.
            let next = [
                wire.keys().next().map(|(at, _)| *at),
                uac.poll_timeout().map(|(at, _)| at),
                uas.poll_timeout().map(|(at, _)| at),
                bye_at,
            ]
            .into_iter()
            .flatten()
            .min();
            let Some(next) = next else { break };
            now = next;

            if bye_at.is_some_and(|at| at <= now) {
                bye_at = None;
                uac.send_request(now, bye.clone(), addr(UAS), Transport::Udp)
                    .unwrap();
            }
            uac.handle_timeout(now);
            uas.handle_timeout(now);

            while let Some(entry) = wire.first_entry() {
                if entry.key().0 > now {
                    break;
                }
                let (to_uas, message) = entry.remove();
                out.delivered += 1;
                if to_uas {
                    let incoming = match message {
                        Message::Request(r) => uas.handle_request(now, r, addr(UAC), Transport::Udp),
                        Message::Response(r) => uas.handle_response(now, r, addr(UAC)),
                    };
                    match incoming {
                        Incoming::NewRequest { key, request } => {
                            if request.method == Method::Invite {
                                uas.respond(now, &key, answer(&request, StatusCode::RINGING))
                                    .unwrap();
                                uas.respond(now, &key, answer(&request, StatusCode::OK)).unwrap();
                            } else {
                                out.uas_got_bye |= request.method == Method::Bye;
                                uas.respond(now, &key, answer(&request, StatusCode::OK)).unwrap();
                            }
                        }
                        Incoming::AckFor2xx { .. } => out.uas_got_ack = true,
                        Incoming::Absorbed | Incoming::StrayAck(_) => {}
                        other => panic!("UAS did not expect {other:?}"),
                    }
                } else {
                    let Message::Response(r) = message else {
                        panic!("the UAS sends only responses")
                    };
                    match uac.handle_response(now, r, addr(UAS)) {
                        Incoming::Response { key, response } if key == invite_key => {
                            if response.status.is_success() {
                                // The TU (dialog) ACKs every 2xx it is handed, outside the transaction.
                                let ack = ack_for_2xx(&inv, "z9hG4bK-lossy-ack");
                                uac.send_stateless(Message::Request(ack), addr(UAS), Transport::Udp);
                                if bye_at.is_none() && !out.uac_got_bye_ok {
                                    bye_at = Some(now + secs(2));
                                }
                            }
                        }
                        Incoming::Response { response, .. } => {
                            out.uac_got_bye_ok |= response.status == StatusCode::OK;
                        }
                        Incoming::Absorbed | Incoming::StrayResponse(_) => {}
                        other => panic!("UAC did not expect {other:?}"),
                    }
                }
            }
        }
        (out, uac, uas)
    }

    #[test]
    fn invite_ack_and_bye_complete_through_a_network_losing_30_percent() {
        let (mut dropped, mut sent) = (0, 0);
        for seed in 0..20 {
            let (out, uac, uas) = run(seed);
            dropped += out.dropped;
            sent += out.dropped + out.delivered;
            assert!(
                out.uas_got_ack,
                "seed {seed}: the ACK for the 200 reached the UAS"
            );
            assert!(out.uas_got_bye, "seed {seed}: the BYE reached the UAS");
            assert!(
                out.uac_got_bye_ok,
                "seed {seed}: the 200 for the BYE reached the UAC"
            );
            assert_eq!(out.timeouts, 0, "seed {seed}: retransmissions beat the loss");
            assert!(
                uac.is_empty() && uas.is_empty(),
                "seed {seed}: every transaction ended"
            );
        }
        let rate = dropped as f64 / sent as f64;
        assert!(
            (0.2..0.4).contains(&rate),
            "the network lost {dropped} of {sent} messages"
        );
    }
}
