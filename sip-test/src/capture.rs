//! Captures UDP datagrams on loopback with tshark, for checking what a peer that keeps no recording
//! (SIPp) received: how many packets came from the engine, and the audio in them.

use std::io::{BufRead as _, Read as _};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::tools;

/// One captured datagram.
#[derive(Debug, Clone)]
pub struct Datagram {
    pub src_port: u16,
    pub payload: Vec<u8>,
}

/// A running tshark, capturing UDP datagrams sent to one port on loopback.
pub struct Capture {
    child: Child,
    /// Reads tshark's output as it comes: a full pipe would block tshark, and it would not stop.
    output: Option<std::thread::JoinHandle<String>>,
}

impl Drop for Capture {
    fn drop(&mut self) {
        // A failed assertion must not leave tshark running.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Capture {
    /// Starts capturing datagrams to `port` and waits (at most 20 s) until tshark says it captures.
    /// `None` when tshark is missing outside CI (the caller skips that part).
    pub fn start(port: u16) -> Option<Self> {
        let tshark = tools::require("tshark")?;
        let mut child = Command::new(tshark)
            .args(["-i", "lo", "-l", "-n", "-f"])
            .arg(format!("udp and dst port {port}"))
            .args(["-T", "fields", "-e", "udp.srcport", "-e", "udp.payload"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let output = std::thread::spawn(move || {
            let mut out = String::new();
            let _ = stdout.read_to_string(&mut out);
            out
        });
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) if line.contains("Capturing on") => {
                    return Some(Self {
                        child,
                        output: Some(output),
                    });
                }
                Ok(_) => {}
                Err(_) => panic!("tshark did not start capturing"),
            }
        }
    }

    /// Stops tshark (SIGINT, so it flushes) and returns what it captured, in arrival order.
    pub fn stop(mut self) -> Vec<Datagram> {
        let _ = Command::new("kill")
            .arg("-INT")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
        let out = self.output.take().and_then(|t| t.join().ok()).unwrap_or_default();
        out.lines().filter_map(parse_line).collect()
    }
}

fn parse_line(line: &str) -> Option<Datagram> {
    let mut fields = line.split('\t');
    let src_port = fields.next()?.trim().parse().ok()?;
    let hex = fields.next().unwrap_or("").trim();
    let payload = (0..hex.len() / 2)
        .filter_map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok())
        .collect();
    Some(Datagram { src_port, payload })
}

/// The payloads of the µ-law RTP packets (payload type 0) among `datagrams`, in arrival order.
pub fn pcmu_payloads<'a>(datagrams: impl IntoIterator<Item = &'a Datagram>) -> Vec<Vec<u8>> {
    datagrams
        .into_iter()
        .filter_map(|d| rtp::RtpPacket::parse(&d.payload).ok())
        .filter(|p| p.payload_type.0 == 0)
        .map(|p| p.payload.to_vec())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tshark_line_gives_the_source_port_and_the_payload_bytes() {
        let d = parse_line("16002\t80000001ff").unwrap();
        assert_eq!(d.src_port, 16002);
        assert_eq!(d.payload, vec![0x80, 0, 0, 1, 0xff]);
        assert!(parse_line("not a port\tab").is_none());
    }
}
