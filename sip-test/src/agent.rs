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

fn bytes_from(s: String) -> bytes::Bytes {
    bytes::Bytes::from(s)
}
