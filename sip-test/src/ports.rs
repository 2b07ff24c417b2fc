//! Fixed ports below the ephemeral range (32768–60999 here), handed out so parallel tests do not clash.

use std::net::{TcpListener, UdpSocket};
use std::sync::atomic::{AtomicU16, Ordering};

static NEXT: AtomicU16 = AtomicU16::new(0);

/// A block of `n` consecutive ports, each free on UDP and TCP at 127.0.0.1 when handed out.
pub fn block(n: u16) -> u16 {
    // Spread processes apart so two test binaries running at once start in different places.
    let base = 21_000 + (std::process::id() % 40) as u16 * 200;
    for _ in 0..500 {
        let offset = NEXT.fetch_add(n, Ordering::Relaxed) % 9_000;
        let start = 21_000 + (base - 21_000 + offset) % 10_000;
        if start + n >= 32_000 {
            continue;
        }
        if (start..start + n).all(free) {
            return start;
        }
    }
    panic!("no free block of {n} ports below 32000");
}

fn free(port: u16) -> bool {
    UdpSocket::bind(("127.0.0.1", port)).is_ok() && TcpListener::bind(("127.0.0.1", port)).is_ok()
}
