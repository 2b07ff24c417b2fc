//! Dialogs driven through two real transaction layers: the requests this crate builds are accepted by
//! `sip-txn`, and the ACK it builds for a 2xx is matched to the INVITE server transaction.

use std::net::SocketAddr;
use std::time::Instant;

use rand::SeedableRng;
use rand::rngs::StdRng;
use sip_msg::{Host, Message, Method, NameAddr, StatusCode, Uri};
use sip_txn::{Incoming, Transport, TxnConfig, TxnLayer};

use crate::{Dialog, DialogState, InitialRequest, ViaSpec, new_tag, uas_response};

const CALLER: &str = "198.51.100.1:5060";
const AGENT: &str = "203.0.113.7:5060";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn uri(s: &str) -> Uri {
    s.parse().unwrap()
}

/// Delivers everything `from` wants sent to `to`, returning what `to` made of it.
fn deliver(now: Instant, from: &mut TxnLayer, to: &mut TxnLayer, source: &str) -> Vec<Incoming> {
    let mut out = Vec::new();
    while let Some(t) = from.poll_transmit() {
        out.push(match t.message {
            Message::Request(r) => to.handle_request(now, r, addr(source), Transport::Udp),
            Message::Response(r) => to.handle_response(now, r, addr(source)),
        });
    }
    out
}

#[test]
fn invite_ack_and_bye_built_here_complete_through_two_transaction_layers() {
    #[allow(clippy::disallowed_methods)] // an arbitrary origin for virtual time; only offsets matter
    let now = Instant::now();
    let mut rng = StdRng::seed_from_u64(3);
    let mut caller = TxnLayer::new(TxnConfig::default());
    let mut agent = TxnLayer::new(TxnConfig::default());
    let caller_via = ViaSpec::new("UDP", Host::V4([198, 51, 100, 1].into()), Some(5060));
    let agent_via = ViaSpec::new("UDP", Host::V4([203, 0, 113, 7].into()), Some(5060));

    // The caller's INVITE.
    let invite = InitialRequest {
        method: Method::Invite,
        request_uri: uri("sip:agent@203.0.113.7"),
        from: NameAddr::new(uri("sip:hotline@198.51.100.1")),
        to: NameAddr::new(uri("sip:agent@203.0.113.7")),
        contact: Some(uri("sip:hotline@198.51.100.1:5060")),
        route: Vec::new(),
        call_id: None,
    }
    .build(&caller_via, &mut rng);
    let invite_key = caller
        .send_request(now, invite.clone(), addr(AGENT), Transport::Udp)
        .unwrap();

    // The agent answers 200 and keeps a UAS dialog.
    let mut incoming = deliver(now, &mut caller, &mut agent, CALLER);
    let Some(Incoming::NewRequest { key, request }) = incoming.pop() else {
        panic!("INVITE not delivered")
    };
    let tag = new_tag(&mut rng);
    let ok = uas_response(
        &request,
        StatusCode::OK,
        &tag,
        Some(&uri("sip:agent@203.0.113.7:5060")),
    );
    let mut agent_dialog = Dialog::new_uas(&request, &ok, &mut rng).unwrap();
    agent.respond(now, &key, ok).unwrap();

    // The caller gets the 200 (after the 100), builds its dialog and ACKs outside any transaction.
    let responses = deliver(now, &mut agent, &mut caller, AGENT);
    let Some(Incoming::Response { key: got, response }) = responses.last().cloned() else {
        panic!("no 200")
    };
    assert_eq!((got, response.status), (invite_key, StatusCode::OK));
    let mut caller_dialog = Dialog::new_uac(&invite, &response).unwrap();
    assert_eq!(caller_dialog.state(), DialogState::Confirmed);
    assert_eq!(caller_dialog.id().local_tag, agent_dialog.id().remote_tag);
    assert_eq!(caller_dialog.id().remote_tag, agent_dialog.id().local_tag);
    let ack = caller_dialog.create_request(Method::Ack, &caller_via, &mut rng);
    caller.send_stateless(Message::Request(ack), addr(AGENT), Transport::Udp);
    let acked = deliver(now, &mut caller, &mut agent, CALLER);
    assert!(matches!(acked.as_slice(), [Incoming::AckFor2xx { invite_key, .. }] if *invite_key == key));

    // The agent hangs up; the caller's dialog accepts the BYE and answers it.
    let bye = agent_dialog.create_request(Method::Bye, &agent_via, &mut rng);
    let bye_key = agent
        .send_request(now, bye, addr(CALLER), Transport::Udp)
        .unwrap();
    let mut incoming = deliver(now, &mut agent, &mut caller, AGENT);
    let Some(Incoming::NewRequest { key, request }) = incoming.pop() else {
        panic!("BYE not delivered")
    };
    caller_dialog.validate_in_dialog(&request).unwrap();
    let local_tag = caller_dialog.id().local_tag.clone();
    caller
        .respond(
            now,
            &key,
            uas_response(&request, StatusCode::OK, &local_tag, None),
        )
        .unwrap();
    let done = deliver(now, &mut caller, &mut agent, CALLER);
    assert!(matches!(done.as_slice(), [Incoming::Response { key, response }]
        if *key == bye_key && response.status == StatusCode::OK));
}
