//! The one error type of this crate.

/// Why a packet could not be parsed or built.
///
/// Parse errors are the peer's fault (`Truncated`, `BadVersion`, `BadPadding`, `BadLength`,
/// `BadSdes`); build errors are local API misuse (`PayloadTypeOutOfRange`, `TooMany`,
/// `ExtensionNotAligned`, `ValueTooLong`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RtpError {
    /// The peer sent fewer bytes than the headers announce.
    #[error("packet truncated: {needed} bytes needed, {available} available")]
    Truncated { needed: usize, available: usize },
    /// The version field is not 2.
    #[error("unsupported RTP/RTCP version {0}")]
    BadVersion(u8),
    /// The padding count is zero or runs past the start of the payload.
    #[error("invalid padding count {count} in a {len}-byte packet")]
    BadPadding { count: u8, len: usize },
    /// An RTCP length field disagrees with the bytes present.
    #[error("RTCP length field announces {declared} bytes, {available} present")]
    BadLength { declared: usize, available: usize },
    /// An SDES chunk without its END item or with an item running past the packet.
    #[error("malformed SDES chunk")]
    BadSdes,
    /// An empty datagram or an empty compound RTCP packet.
    #[error("empty packet")]
    Empty,
    /// Local misuse: a payload type above 127.
    #[error("payload type {0} is out of range 0..=127")]
    PayloadTypeOutOfRange(u8),
    /// Local misuse: more CSRCs (15), report blocks or SSRCs (31) than the count field holds.
    #[error("too many {what}: {count}, at most {max}")]
    TooMany {
        what: &'static str,
        count: usize,
        max: usize,
    },
    /// Local misuse: header extension data must be a multiple of 4 bytes.
    #[error("header extension of {0} bytes is not a multiple of 4")]
    ExtensionNotAligned(usize),
    /// Local misuse: an SDES item or BYE reason longer than 255 bytes, or a packet too long
    /// for its 16-bit length field.
    #[error("value of {0} bytes is too long")]
    ValueTooLong(usize),
}
