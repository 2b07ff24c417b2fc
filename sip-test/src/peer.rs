//! A scripted SIP peer for loopback tests: sends hand-written messages, receives and parses the answers.
//! Messages are templates with `{tokens}` filled by [`Peer::render`]; the peer never hides what it sends.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use sip_msg::{Limits, Message, Request, Response};

use crate::ports;

/// A UDP SIP peer with its own RTP socket.
pub struct Peer {
    pub sip: UdpSocket,
    pub rtp: UdpSocket,
    pub target: SocketAddr,
    pub tag: String,
    /// Messages received but not yet taken.
    pending: Vec<Message>,
}

impl Peer {
    pub fn new(target_port: u16) -> Self {
        let port = ports::block(3);
        let sip = UdpSocket::bind(("127.0.0.1", port)).unwrap();
        let rtp = UdpSocket::bind(("127.0.0.1", port + 1)).unwrap();
        Self {
            sip,
            rtp,
            target: SocketAddr::from(([127, 0, 0, 1], target_port)),
            tag: format!("peer{port}"),
            pending: Vec::new(),
        }
    }

    pub fn sip_port(&self) -> u16 {
        self.sip.local_addr().unwrap().port()
    }

    pub fn rtp_port(&self) -> u16 {
        self.rtp.local_addr().unwrap().port()
    }

    /// Fills `{local}` (ip:port), `{rtp_port}`, `{tag}`, `{target}` and `{call_id}` in a template, turns
    /// line ends into CRLF and sets Content-Length when the template says `Content-Length: {len}`.
    pub fn render(&self, template: &str, call_id: &str) -> Vec<u8> {
        let text = template
            .replace("{local}", &format!("127.0.0.1:{}", self.sip_port()))
            .replace("{rtp_port}", &self.rtp_port().to_string())
            .replace("{tag}", &self.tag)
            .replace("{target}", &self.target.to_string())
            .replace("{call_id}", call_id);
        let text: String = text
            .lines()
            .map(|l| l.trim_start())
            .collect::<Vec<_>>()
            .join("\r\n");
        let (head, body) = match text.split_once("\r\n\r\n") {
            Some((h, b)) => (
                h.to_owned(),
                if b.is_empty() {
                    String::new()
                } else {
                    format!("{b}\r\n")
                },
            ),
            None => (text.trim_end().to_owned(), String::new()),
        };
        let head = head.replace("{len}", &body.len().to_string());
        format!("{head}\r\n\r\n{body}").into_bytes()
    }

    pub fn send_raw(&self, bytes: &[u8]) {
        self.sip.send_to(bytes, self.target).unwrap();
    }

    pub fn send(&self, template: &str, call_id: &str) {
        self.send_raw(&self.render(template, call_id));
    }

    /// The next message matching `pred`, waiting at most `timeout`. Others are kept for later calls.
    pub fn recv_where(&mut self, timeout: Duration, pred: impl Fn(&Message) -> bool) -> Option<Message> {
        if let Some(i) = self.pending.iter().position(&pred) {
            return Some(self.pending.remove(i));
        }
        let deadline = Instant::now() + timeout;
        let mut buf = vec![0u8; 65_536];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            self.sip.set_read_timeout(Some(left)).unwrap();
            let Ok((n, _)) = self.sip.recv_from(&mut buf) else {
                return None;
            };
            let Ok(msg) = sip_msg::parse_datagram(&buf[..n], &Limits::default()) else {
                continue;
            };
            if pred(&msg) {
                return Some(msg);
            }
            self.pending.push(msg);
        }
    }

    /// The next response with this status to a request of this CSeq method.
    pub fn expect_response(&mut self, status: u16, method: &str, timeout: Duration) -> Response {
        let got = self.recv_where(timeout, |m| match m {
            Message::Response(r) => {
                r.status.0 == status && r.headers.cseq().is_ok_and(|c| c.method.as_str() == method)
            }
            Message::Request(_) => false,
        });
        match got {
            Some(Message::Response(r)) => r,
            _ => panic!(
                "no {status} to {method} within {timeout:?}; pending: {:#?}",
                self.pending
            ),
        }
    }

    /// The next request of this method.
    pub fn expect_request(&mut self, method: &str, timeout: Duration) -> Request {
        let got = self.recv_where(
            timeout,
            |m| matches!(m, Message::Request(r) if r.method.as_str() == method),
        );
        match got {
            Some(Message::Request(r)) => r,
            _ => panic!("no {method} within {timeout:?}; pending: {:#?}", self.pending),
        }
    }

    /// Answers a request from the engine with `200 OK` (copying the dialog headers).
    pub fn reply_ok(&self, req: &Request) {
        let resp = Response::from_request(req, sip_msg::StatusCode::OK);
        self.send_raw(&resp.to_bytes());
    }

    /// Throws away the RTP already waiting on the peer's media socket (what was sent before now).
    pub fn drain_rtp(&self) {
        let mut buf = vec![0u8; 2048];
        self.rtp.set_nonblocking(true).unwrap();
        while self.rtp.recv_from(&mut buf).is_ok() {}
        self.rtp.set_nonblocking(false).unwrap();
    }

    /// Receives RTP on the peer's media socket for `dur`; returns the packets' payloads (headers cut).
    pub fn collect_rtp(&self, dur: Duration) -> Vec<Vec<u8>> {
        let deadline = Instant::now() + dur;
        let mut out = Vec::new();
        let mut buf = vec![0u8; 2048];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return out;
            }
            self.rtp.set_read_timeout(Some(left)).unwrap();
            match self.rtp.recv_from(&mut buf) {
                Ok((n, _)) if n >= 12 && buf[0] >> 6 == 2 && !(200..=204).contains(&buf[1]) => {
                    let cc = usize::from(buf[0] & 0x0f);
                    let start = 12 + 4 * cc;
                    if n > start {
                        out.push(buf[start..n].to_vec());
                    }
                }
                Ok(_) => {}
                Err(_) => return out,
            }
        }
    }
}

impl Peer {
    /// Streams PCMU from the peer's media socket to `dest` for `dur`, on a thread: every 20 ms one packet
    /// whose 160 payload bytes `fill` writes. The 20 ms steps pace a media stream as a phone does (absolute
    /// deadlines, so the pace does not drift); nothing here waits for a state.
    pub fn stream(
        &self,
        dest: SocketAddr,
        dur: Duration,
        mut fill: impl FnMut(&mut Vec<u8>) + Send + 'static,
    ) -> std::thread::JoinHandle<()> {
        let sock = self.rtp.try_clone().unwrap();
        std::thread::spawn(move || {
            let start = Instant::now();
            let (mut seq, mut ts) = (1u16, 0u32);
            let mut k = 0u32;
            while start.elapsed() < dur {
                let mut pkt = vec![0x80, 0x00];
                pkt.extend_from_slice(&seq.to_be_bytes());
                pkt.extend_from_slice(&ts.to_be_bytes());
                pkt.extend_from_slice(&0x0070_0E00u32.to_be_bytes());
                fill(&mut pkt);
                let _ = sock.send_to(&pkt, dest);
                seq = seq.wrapping_add(1);
                ts = ts.wrapping_add(160);
                k += 1;
                std::thread::sleep(
                    (start + Duration::from_millis(20) * k).saturating_duration_since(Instant::now()),
                );
            }
        })
    }

    /// Streams one byte value as PCMU payload (0xFF is µ-law silence).
    pub fn stream_rtp(
        &self,
        dest: SocketAddr,
        payload_byte: u8,
        dur: Duration,
    ) -> std::thread::JoinHandle<()> {
        self.stream(dest, dur, move |pkt| {
            pkt.extend(std::iter::repeat_n(payload_byte, 160))
        })
    }

    /// Streams 8 kHz samples as PCMU, looping them.
    pub fn stream_samples(
        &self,
        dest: SocketAddr,
        samples: Vec<i16>,
        dur: Duration,
    ) -> std::thread::JoinHandle<()> {
        let mut i = 0usize;
        self.stream(dest, dur, move |pkt| {
            for _ in 0..160 {
                let s = samples.get(i % samples.len().max(1)).copied().unwrap_or(0);
                pkt.push(codec::linear_to_ulaw(s));
                i += 1;
            }
        })
    }

    /// Streams a sine tone of `freq` Hz as PCMU.
    pub fn stream_tone(&self, dest: SocketAddr, freq: f64, dur: Duration) -> std::thread::JoinHandle<()> {
        let mut n = 0u64;
        self.stream(dest, dur, move |pkt| {
            for _ in 0..160 {
                let v = (2.0 * std::f64::consts::PI * freq * n as f64 / 8000.0).sin() * 8000.0;
                pkt.push(codec::linear_to_ulaw(v as i16));
                n += 1;
            }
        })
    }
}

/// The RTP address in an SDP body (`c=IN IP4` and `m=audio`).
pub fn sdp_addr(body: &[u8]) -> SocketAddr {
    let body = String::from_utf8_lossy(body);
    let ip = body
        .lines()
        .find_map(|l| l.strip_prefix("c=IN IP4 "))
        .unwrap()
        .trim()
        .to_owned();
    let port = body
        .lines()
        .find_map(|l| l.strip_prefix("m=audio "))
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap();
    format!("{ip}:{port}").parse().unwrap()
}

/// The engine's RTP address from the SDP of its 200 OK.
pub fn sdp_media_addr(resp: &Response) -> SocketAddr {
    let body = String::from_utf8_lossy(&resp.body);
    let ip = body
        .lines()
        .find_map(|l| l.strip_prefix("c=IN IP4 "))
        .unwrap()
        .trim()
        .to_owned();
    let port = body
        .lines()
        .find_map(|l| l.strip_prefix("m=audio "))
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap();
    format!("{ip}:{port}").parse().unwrap()
}

/// A minimal INVITE offering PCMU and telephone-event, for `Peer::send`.
pub const INVITE_PCMU: &str = "INVITE sip:hotline@{target} SIP/2.0
Via: SIP/2.0/UDP {local};branch=z9hG4bK-{call_id}-1;rport
From: \"Test\" <sip:+15550001111@127.0.0.1>;tag={tag}
To: <sip:hotline@{target}>
Call-ID: {call_id}
CSeq: 1 INVITE
Contact: <sip:peer@{local}>
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: {len}

v=0
o=peer 1 1 IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
m=audio {rtp_port} RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=sendrecv";

/// The ACK for a 2xx to [`INVITE_PCMU`]; `{to_tag}` must be replaced by the caller.
pub const ACK: &str = "ACK sip:hotline@{target} SIP/2.0
Via: SIP/2.0/UDP {local};branch=z9hG4bK-{call_id}-ack;rport
From: \"Test\" <sip:+15550001111@127.0.0.1>;tag={tag}
To: <sip:hotline@{target}>;tag={to_tag}
Call-ID: {call_id}
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0
";

/// The caller's BYE in a dialog set up by [`INVITE_PCMU`]; `{to_tag}` and `{n}` (the CSeq) must be replaced.
pub const BYE: &str = "BYE sip:hotline@{target} SIP/2.0
Via: SIP/2.0/UDP {local};branch=z9hG4bK-{call_id}-bye{n};rport
From: \"Test\" <sip:+15550001111@127.0.0.1>;tag={tag}
To: <sip:hotline@{target}>;tag={to_tag}
Call-ID: {call_id}
CSeq: {n} BYE
Max-Forwards: 70
Content-Length: 0
";
