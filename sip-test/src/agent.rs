//! An agent's SIP phone for tests: registers with digest auth (SHA-256, computed here independently of
//! the engine's code) and answers the calls the queue offers.

use std::time::Duration;

use sha2::{Digest as _, Sha256};
use sip_msg::{HeaderName, Request, Response, StatusCode};

use crate::peer::Peer;

const REGISTER: &str = "REGISTER sip:127.0.0.1 SIP/2.0
Via: SIP/2.0/UDP {local};branch=z9hG4bK-{call_id}-{cseq};rport
From: <sip:{user}@127.0.0.1>;tag={tag}
To: <sip:{user}@127.0.0.1>
Call-ID: {call_id}
CSeq: {cseq} REGISTER
Contact: <sip:{user}@{local}>
Expires: {expires}
Max-Forwards: 70
{auth}Content-Length: 0
";

fn sha256_hex(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The value of `name="..."` or `name=...` in a challenge.
pub fn param(challenge: &str, name: &str) -> String {
    let i = challenge
        .find(&format!("{name}="))
        .unwrap_or_else(|| panic!("no {name} in {challenge}"))
        + name.len()
        + 1;
    let rest = &challenge[i..];
    if let Some(r) = rest.strip_prefix('"') {
        r[..r.find('"').unwrap_or(r.len())].to_owned()
    } else {
        rest.split([',', ' ']).next().unwrap_or("").to_owned()
    }
}

/// An `Authorization` header line answering a SHA-256 challenge for REGISTER.
pub fn authorization(challenge: &str, user: &str, password: &str) -> String {
    let (realm, nonce) = (param(challenge, "realm"), param(challenge, "nonce"));
    let uri = "sip:127.0.0.1";
    let ha1 = sha256_hex(&format!("{user}:{realm}:{password}"));
    let ha2 = sha256_hex(&format!("REGISTER:{uri}"));
    let response = sha256_hex(&format!("{ha1}:{nonce}:00000001:0a4f113b:auth:{ha2}"));
    let opaque = if challenge.contains("opaque=") {
        format!(", opaque=\"{}\"", param(challenge, "opaque"))
    } else {
        String::new()
    };
    format!(
        "Authorization: Digest username=\"{user}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\", \
         response=\"{response}\", algorithm=SHA-256, qop=auth, nc=00000001, cnonce=\"0a4f113b\"{opaque}\n"
    )
}

/// Sends a REGISTER (with `auth`, an Authorization line or empty).
pub fn send_register(peer: &Peer, user: &str, call_id: &str, cseq: u32, auth: &str) {
    let text = REGISTER
        .replace("{user}", user)
        .replace("{cseq}", &cseq.to_string())
        .replace("{auth}", auth)
        .replace("{expires}", "300");
    peer.send(&text, call_id);
}

/// Registers `user`'s phone: REGISTER, 401, REGISTER with credentials, 200.
pub fn register(peer: &mut Peer, user: &str, password: &str) {
    let call_id = format!("reg-{user}-{}", peer.sip_port());
    send_register(peer, user, &call_id, 1, "");
    let challenge = peer.expect_response(401, "REGISTER", Duration::from_secs(5));
    let sha = challenge
        .headers
        .get_all(&HeaderName::WwwAuthenticate)
        .find(|c| c.contains("SHA-256"))
        .expect("a SHA-256 challenge")
        .to_owned();
    send_register(peer, user, &call_id, 2, &authorization(&sha, user, password));
    peer.expect_response(200, "REGISTER", Duration::from_secs(5));
}

/// Answers an INVITE with 200 and an SDP answer (PCMU + telephone-event) on the peer's RTP port; returns
/// the answer, whose To tag is `agent`.
pub fn answer(peer: &Peer, invite: &Request) -> Response {
    let mut ok = Response::from_request(invite, StatusCode::OK);
    let to = invite.headers.get(&HeaderName::To).unwrap_or("").to_owned();
    ok.headers.set(HeaderName::To, format!("{to};tag=agent"));
    ok.headers.set(
        HeaderName::Contact,
        format!("<sip:agent@127.0.0.1:{}>", peer.sip_port()),
    );
    ok.headers.set(HeaderName::ContentType, "application/sdp");
    ok.body = bytes_from(format!(
        "v=0\r\no=agent 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {} RTP/AVP 0 101\r\n\
         a=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n",
        peer.rtp_port()
    ));
    peer.send_raw(&ok.to_bytes());
    ok
}

/// Hangs up a call this peer answered with [`answer`]: BYE inside its dialog, and waits for the 200.
pub fn hang_up(peer: &mut Peer, invite: &Request) {
    let contacts = invite.headers.contacts().unwrap();
    let target = match &contacts[0] {
        sip_msg::Contact::Addr(a) => a.uri.to_string(),
        sip_msg::Contact::Star => panic!("the INVITE has no Contact"),
    };
    let bye = format!(
        "BYE {target} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{};branch=z9hG4bK-agent-bye;rport\r\nFrom: {};tag=agent\r\n\
         To: {}\r\nCall-ID: {}\r\nCSeq: 1 BYE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
        peer.sip_port(),
        invite.headers.get(&HeaderName::To).unwrap(),
        invite.headers.get(&HeaderName::From).unwrap(),
        invite.headers.call_id().unwrap()
    );
    peer.send_raw(bye.as_bytes());
    peer.expect_response(200, "BYE", Duration::from_secs(10));
}

fn bytes_from(s: String) -> bytes::Bytes {
    bytes::Bytes::from(s)
}

/// SIP INFO carrying one digit, in a call set up by [`dial_test_line`].
const TEST_LINE_INFO: &str = "INFO sip:hotline-test@{target} SIP/2.0
Via: SIP/2.0/UDP {local};branch=z9hG4bK-{call_id}-info{n};rport
From: \"Test\" <sip:+15550001111@127.0.0.1>;tag={tag}
To: <sip:hotline-test@{target}>;tag={to_tag}
Call-ID: {call_id}
CSeq: {n} INFO
Max-Forwards: 70
Content-Type: application/dtmf-relay
Content-Length: {len}

Signal={digit}
Duration=120";

/// `template` (from [`crate::peer`]) addressed to the demo flow's test line.
pub fn test_line(template: &str) -> String {
    template.replace("sip:hotline@{target}", "sip:hotline-test@{target}")
}

/// Calls the demo's test line (always open) and ACKs the answer. Returns the To tag and the engine's
/// media address.
pub fn dial_test_line(caller: &mut Peer, call_id: &str) -> (String, std::net::SocketAddr) {
    caller.send(&test_line(crate::peer::INVITE_PCMU), call_id);
    let ok = caller.expect_response(200, "INVITE", Duration::from_secs(10));
    let to_tag = ok.headers.to().unwrap().tag().unwrap().to_owned();
    caller.send(&test_line(crate::peer::ACK).replace("{to_tag}", &to_tag), call_id);
    (to_tag, crate::peer::sdp_addr(&ok.body))
}

/// Keys 2 (support) and the demo customer number 1001# by SIP INFO (CSeq 2–7): the demo flow verifies
/// the caller and puts them in the support queue.
pub fn key_into_support(caller: &mut Peer, call_id: &str, to_tag: &str) {
    for (n, digit) in (2..).zip("21001#".chars()) {
        key_test_line(caller, call_id, to_tag, digit, n);
    }
}

/// Keys one digit by SIP INFO (CSeq `cseq`) in a call set up by [`dial_test_line`].
pub fn key_test_line(caller: &mut Peer, call_id: &str, to_tag: &str, digit: char, cseq: u32) {
    let info = TEST_LINE_INFO
        .replace("{to_tag}", to_tag)
        .replace("{n}", &cseq.to_string())
        .replace("{digit}", &digit.to_string());
    caller.send(&info, call_id);
    caller.expect_response(200, "INFO", Duration::from_secs(10));
}

/// What a caller's microphone sends to key into support in-band on the test line: 1 s of quiet, 2 (support)
/// while the menu plays, then the customer number 1001# (120 ms tones, 150 ms apart), then 3 s of quiet.
pub fn inband_support_keys() -> Vec<i16> {
    let quiet = |ms: usize| vec![0i16; 8 * ms];
    let mut mic = [quiet(1000), crate::baresip::dtmf_tone('2', 160), quiet(1500)].concat();
    for d in "1001#".chars() {
        mic.extend(crate::baresip::dtmf_tone(d, 120));
        mic.extend(quiet(150));
    }
    mic.extend(quiet(3000));
    mic
}

/// The caller's BYE on the test line (CSeq 9).
pub fn hang_up_test_line(caller: &mut Peer, call_id: &str, to_tag: &str) {
    caller.send(
        &test_line(crate::peer::BYE)
            .replace("{to_tag}", to_tag)
            .replace("{n}", "9"),
        call_id,
    );
    caller.expect_response(200, "BYE", Duration::from_secs(10));
}

/// Creates an agent over REST (`body`: the JSON of `POST /api/v1/agents`).
pub fn create(http_port: u16, body: &[u8]) {
    let (status, text) =
        crate::http::post_json(http_port, "/api/v1/agents", body, Some(crate::engine::TOKEN)).unwrap();
    assert_eq!(status, 201, "{text}");
}

/// Sets an agent idle: from now on it is offered calls.
pub fn set_idle(http_port: u16, id: &str) {
    let (status, text) = crate::http::put_json(
        http_port,
        &format!("/api/v1/agents/{id}/status"),
        br#"{"status": "idle"}"#,
        Some(crate::engine::TOKEN),
    )
    .unwrap();
    assert_eq!(status, 200, "{text}");
}
