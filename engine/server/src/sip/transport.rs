//! SIP transports: one UDP socket and one TCP listener on the same address, admission control, and the
//! hand-off of parsed messages to the call shards (by Call-ID, so one call always lands on one shard).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use sip_msg::{HeaderName, Limits, Message, ParseError, Response, StatusCode};
use sip_txn::Transport;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;

use super::admission::{RateLimiter, Verdict};
use crate::metrics::Metrics;

/// A parsed message on its way to a shard.
#[derive(Debug)]
pub(crate) struct Inbound {
    pub(crate) message: Message,
    pub(crate) source: SocketAddr,
    pub(crate) transport: Transport,
}

/// Closes a TCP connection that carried nothing for this long. Long enough for a long call whose caller sends
/// no keep-alives: the BYE at its end must still find the connection.
const TCP_IDLE: Duration = Duration::from_secs(4 * 3600);
/// Messages queued for one TCP connection before more are dropped.
const TCP_OUT_QUEUE: usize = 256;

/// Sends bytes on the transport a transaction runs over.
#[derive(Clone)]
pub(crate) struct Wire {
    udp: Arc<UdpSocket>,
    tcp: Arc<Mutex<HashMap<SocketAddr, mpsc::Sender<Bytes>>>>,
    metrics: Arc<Metrics>,
}

impl Wire {
    pub(crate) fn send(&self, transport: Transport, destination: SocketAddr, bytes: Bytes) {
        Metrics::inc(&self.metrics.sip_messages_sent_total);
        match transport {
            Transport::Udp => {
                if let Err(e) = self.udp.try_send_to(&bytes, destination) {
                    tracing::debug!(error = %e, dest = %model::Pii(destination), "UDP send failed");
                }
            }
            Transport::Tcp => {
                let conn = self.tcp.lock().ok().and_then(|m| m.get(&destination).cloned());
                match conn {
                    Some(tx) => {
                        if tx.try_send(bytes).is_err() {
                            tracing::debug!(dest = %model::Pii(destination), "TCP send queue full; message dropped");
                        }
                    }
                    None => tracing::debug!(dest = %model::Pii(destination), "no TCP connection to send on"),
                }
            }
        }
    }
}

/// Checks, parses and routes what the transports receive.
pub(crate) struct Dispatcher {
    pub(crate) shards: Vec<mpsc::Sender<Inbound>>,
    pub(crate) limits: Limits,
    pub(crate) limiter: Mutex<RateLimiter>,
    pub(crate) wire: Wire,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) retry_after_secs: u32,
}

impl Dispatcher {
    /// A datagram (or a framed stream message's bytes) from the wire.
    fn on_datagram(&self, data: &[u8], source: SocketAddr) {
        if data.len() > self.limits.max_message_size {
            Metrics::inc(&self.metrics.sip_oversize_dropped_total);
            // Answer 513 when the head can be salvaged, so a legitimate peer learns why.
            if let Some(mut resp) = bad_request(
                &data[..data.len().min(self.limits.max_message_size)],
                &ParseError::TooLarge {
                    limit: self.limits.max_message_size,
                },
            ) {
                resp.status = StatusCode(513);
                resp.reason = "Message Too Large".into();
                self.wire.send(Transport::Udp, source, resp.to_bytes());
            }
            return;
        }
        match sip_msg::parse_datagram(data, &self.limits) {
            Ok(message) => self.on_message(message, source, Transport::Udp),
            Err(ParseError::KeepAlive) => {}
            Err(e) => self.on_parse_error(data, &e, source, Transport::Udp),
        }
    }

    fn on_parse_error(&self, data: &[u8], e: &ParseError, source: SocketAddr, transport: Transport) {
        Metrics::inc(&self.metrics.sip_parse_errors_total);
        tracing::debug!(error = %e, source = %model::Pii(source), "malformed SIP message");
        if let Some(resp) = bad_request(data, e) {
            Metrics::inc(&self.metrics.sip_bad_request_total);
            self.wire.send(transport, source, resp.to_bytes());
        }
    }

    fn on_message(&self, message: Message, source: SocketAddr, transport: Transport) {
        Metrics::inc(&self.metrics.sip_messages_received_total);
        if let Message::Request(req) = &message {
            let new_invite = req.method == sip_msg::Method::Invite
                && req.headers.to().map(|t| t.tag().is_none()).unwrap_or(true);
            let verdict = match self.limiter.lock() {
                Ok(mut l) => l.check(Instant::now(), source.ip(), new_invite),
                Err(_) => Verdict::Accept,
            };
            match verdict {
                Verdict::Accept => {}
                Verdict::Drop => {
                    Metrics::inc(&self.metrics.sip_rate_limited_total);
                    return;
                }
                Verdict::Refuse => {
                    Metrics::inc(&self.metrics.sip_rate_limited_total);
                    self.refuse(req, source, transport);
                    return;
                }
            }
        }
        let Ok(call_id) = message.call_id() else { return };
        let is_register = match &message {
            Message::Request(r) => r.method == sip_msg::Method::Register,
            Message::Response(r) => r
                .headers
                .cseq()
                .is_ok_and(|c| c.method == sip_msg::Method::Register),
        };
        // Registrations are global state: shard 0 owns the registrar.
        let shard = if is_register {
            0
        } else {
            (fnv1a(call_id.as_bytes()) % self.shards.len() as u64) as usize
        };
        match self.shards[shard].try_send(Inbound {
            message,
            source,
            transport,
        }) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(inb)) | Err(mpsc::error::TrySendError::Closed(inb)) => {
                Metrics::inc(&self.metrics.sip_shard_queue_full_total);
                if let Message::Request(req) = &inb.message {
                    if req.method != sip_msg::Method::Ack {
                        self.refuse(req, source, transport);
                    }
                }
            }
        }
    }

    /// Answers `503 Service Unavailable` with `Retry-After`, statelessly.
    fn refuse(&self, req: &sip_msg::Request, source: SocketAddr, transport: Transport) {
        if req.method == sip_msg::Method::Ack {
            return;
        }
        Metrics::inc(&self.metrics.sip_overload_503_total);
        let mut resp = stateless_response(req, StatusCode::SERVICE_UNAVAILABLE);
        resp.headers
            .push(HeaderName::RetryAfter, self.retry_after_secs.to_string());
        self.wire.send(transport, source, resp.to_bytes());
    }
}

/// `400 Bad Request` (reason saying what is wrong) for a malformed request, with a To tag.
fn bad_request(data: &[u8], e: &ParseError) -> Option<Response> {
    sip_msg::bad_request_response(data, e).map(with_to_tag)
}

/// A response sent without a transaction, with a To tag.
pub(crate) fn stateless_response(req: &sip_msg::Request, status: StatusCode) -> Response {
    with_to_tag(Response::from_request(req, status))
}

/// Adds a To tag to a final response whose request had none (RFC 3261 8.2.6.2). The tag is derived from
/// Call-ID and Via, so a retransmitted request is answered with the same tag.
fn with_to_tag(mut resp: Response) -> Response {
    if let Ok(to) = resp.headers.to() {
        if to.tag().is_none() {
            let seed = format!(
                "{}|{}",
                resp.headers.call_id().unwrap_or(""),
                resp.headers.get(&HeaderName::Via).unwrap_or("")
            );
            resp.headers
                .set(HeaderName::To, format!("{to};tag={:x}", fnv1a(seed.as_bytes())));
        }
    }
    resp
}

/// 64-bit FNV-1a: a stable, cheap hash to pick a shard from a Call-ID.
pub(crate) fn fnv1a(data: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in data {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Binds UDP and TCP on `addr`.
pub(crate) async fn bind(
    addr: SocketAddr,
    metrics: Arc<Metrics>,
) -> std::io::Result<(Wire, Arc<UdpSocket>, TcpListener)> {
    let udp = Arc::new(UdpSocket::bind(addr).await?);
    let tcp = TcpListener::bind(addr).await?;
    let wire = Wire {
        udp: udp.clone(),
        tcp: Arc::new(Mutex::new(HashMap::new())),
        metrics,
    };
    Ok((wire, udp, tcp))
}

/// Receives datagrams until the task is aborted.
pub(crate) async fn run_udp(socket: Arc<UdpSocket>, dispatcher: Arc<Dispatcher>) {
    // One byte more than the limit, so an oversize datagram is seen as such rather than truncated.
    let mut buf = vec![0u8; 65_536];
    loop {
        match socket.recv_from(&mut buf).await {
            Ok((n, source)) => dispatcher.on_datagram(&buf[..n], source),
            Err(e) => {
                // ICMP port-unreachable from a peer surfaces here on Linux; it is not fatal.
                tracing::debug!(error = %e, "UDP receive error");
            }
        }
    }
}

/// Accepts TCP connections until the task is aborted.
pub(crate) async fn run_tcp(listener: TcpListener, dispatcher: Arc<Dispatcher>, max_connections: usize) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!(error = %e, "TCP accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let open = dispatcher.wire.tcp.lock().map(|m| m.len()).unwrap_or(0);
        if open >= max_connections {
            Metrics::inc(&dispatcher.metrics.tcp_connections_refused_total);
            drop(stream);
            continue;
        }
        let d = dispatcher.clone();
        tokio::spawn(async move { serve_connection(stream, peer, d).await });
    }
}

async fn serve_connection(stream: TcpStream, peer: SocketAddr, d: Arc<Dispatcher>) {
    let _ = stream.set_nodelay(true);
    let (mut reader, mut writer) = stream.into_split();
    let (tx, mut rx) = mpsc::channel::<Bytes>(TCP_OUT_QUEUE);
    if let Ok(mut m) = d.wire.tcp.lock() {
        m.insert(peer, tx.clone());
    }
    d.metrics
        .tcp_connections
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let write_task = tokio::spawn(async move {
        while let Some(bytes) = rx.recv().await {
            if writer.write_all(&bytes).await.is_err() {
                break;
            }
        }
    });
    let mut framer = sip_msg::StreamFramer::new(d.limits);
    let mut buf = vec![0u8; 16 * 1024];
    'conn: loop {
        let n = match tokio::time::timeout(TCP_IDLE, reader.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => n,
        };
        if let Err(e) = framer.push(&buf[..n]) {
            tracing::debug!(error = %e, peer = %model::Pii(peer), "TCP stream refused");
            Metrics::inc(&d.metrics.sip_parse_errors_total);
            break;
        }
        for _ in 0..framer.take_pings() {
            // RFC 5626 keep-alive: answer a double CRLF with a single CRLF.
            let _ = tx.try_send(Bytes::from_static(b"\r\n"));
        }
        while let Some(next) = framer.next_frame() {
            match next {
                Ok(frame) => match sip_msg::parse_stream_message(&frame, &d.limits) {
                    Ok(message) => d.on_message(message, peer, Transport::Tcp),
                    // Framed correctly but malformed: answer 400 and keep the connection.
                    Err(e) => d.on_parse_error(&frame, &e, peer, Transport::Tcp),
                },
                Err(e) => {
                    // Framing itself is lost (no or bad Content-Length, over a limit): close the connection.
                    Metrics::inc(&d.metrics.sip_parse_errors_total);
                    tracing::debug!(error = %e, peer = %model::Pii(peer), "unframeable bytes on TCP; closing");
                    break 'conn;
                }
            }
        }
    }
    if let Ok(mut m) = d.wire.tcp.lock() {
        m.remove(&peer);
    }
    d.metrics
        .tcp_connections
        .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    drop(tx);
    let _ = write_task.await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_spreads_call_ids() {
        let mut buckets = [0u32; 4];
        for n in 0..4000 {
            buckets[(fnv1a(format!("{n}@host").as_bytes()) % 4) as usize] += 1;
        }
        assert!(buckets.iter().all(|&b| (800..1200).contains(&b)), "{buckets:?}");
    }
}
