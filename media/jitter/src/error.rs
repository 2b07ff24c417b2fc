//! The one error type of this crate.

/// Why a packet was refused. Every variant is the peer's fault; the buffer's state is unchanged
/// except for the `packets_received` counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JitterError {
    /// The datagram is not a valid RTP packet.
    #[error("invalid RTP packet: {0}")]
    Rtp(#[from] rtp::RtpError),
    /// The payload type is neither the audio codec's nor the telephone-event one.
    #[error("unexpected payload type {0}")]
    UnexpectedPayloadType(u8),
}
