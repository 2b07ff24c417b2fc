//! The one error type of the media runtime.

use std::io;
use std::net::IpAddr;

/// What can go wrong in the media runtime.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RuntimeError {
    /// Local misuse: the configured range holds no even RTP port with its RTCP port.
    #[error("RTP port range {lo}-{hi} holds no even port pair")]
    InvalidPortRange { lo: u16, hi: u16 },
    /// Every port pair of the range is taken (by our legs or by other processes).
    #[error("no free RTP port pair in {lo}-{hi} on {ip}")]
    PortsExhausted { ip: IpAddr, lo: u16, hi: u16 },
    /// A socket could not be bound for a reason other than the port being taken (an address
    /// not on this host, no permission).
    #[error("cannot bind {ip}:{port}: {source}")]
    Bind {
        ip: IpAddr,
        port: u16,
        #[source]
        source: io::Error,
    },
    /// The leg's task has ended (after `Close`, or its event receiver was dropped).
    #[error("the media leg has ended")]
    LegClosed,
    /// The leg's command queue is full: the leg is not keeping up.
    #[error("the media leg's command queue is full")]
    CommandQueueFull,
}
