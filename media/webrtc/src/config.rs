//! Limits and timers of the hub.

use std::time::Duration;

/// Default for [`HubConfig::max_legs`]: agent legs one hub serves at once.
pub const MAX_LEGS: usize = 10_000;

/// Default for [`HubConfig::max_offer_bytes`]: a larger SDP offer is refused before it is parsed.
/// Chrome's audio-only offer is about 3 KiB; 64 KiB leaves room for many candidates.
pub const MAX_OFFER_BYTES: usize = 64 * 1024;

/// Default for [`HubConfig::max_datagram`]: a larger datagram is dropped before it is parsed.
/// Above an Ethernet MTU (1500) with room to spare; browsers keep WebRTC datagrams near 1200.
pub const MAX_DATAGRAM: usize = 2048;

/// Default for [`HubConfig::connect_timeout`].
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Default for [`HubConfig::disconnect_grace`].
pub const DISCONNECT_GRACE: Duration = Duration::from_secs(15);

/// Default for [`HubConfig::reorder_packets`].
pub const REORDER_PACKETS: usize = 2;

/// Default for [`HubConfig::reorder_timeout`].
pub const REORDER_TIMEOUT: Duration = Duration::from_millis(100);

/// Limits and timers of a [`WebRtcHub`](crate::WebRtcHub). `Default` gives the `pub const`s of this
/// module.
///
/// | key | unit | default | meaning |
/// |---|---|---|---|
/// | `max_legs` | legs | 10 000 | `accept_offer` past it fails with `TooManyLegs` |
/// | `max_offer_bytes` | bytes | 65 536 | a larger offer fails with `OfferTooLarge`, unparsed |
/// | `max_datagram` | bytes | 2048 | a larger datagram is dropped and counted, unparsed |
/// | `connect_timeout` | duration | 30 s | a leg not connected (ICE + DTLS) by then is closed |
/// | `disconnect_grace` | duration | 15 s | a leg whose ICE stays disconnected this long is closed |
/// | `reorder_packets` | packets | 2 | audio frames str0m holds back waiting for a missing one |
/// | `reorder_timeout` | duration | 100 ms | longest str0m holds a frame back for a missing one |
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubConfig {
    /// Most legs at once.
    pub max_legs: usize,
    /// Largest SDP offer accepted, in bytes.
    pub max_offer_bytes: usize,
    /// Largest datagram looked at, in bytes.
    pub max_datagram: usize,
    /// From `accept_offer` to `Connected`: a leg that has not connected by then is closed with
    /// [`CloseReason::ConnectTimeout`](crate::CloseReason::ConnectTimeout).
    pub connect_timeout: Duration,
    /// str0m's ICE-lite agent reports *disconnected* once no STUN check arrived for 15 s (browsers
    /// check every 2.5–5 s). The leg is closed with
    /// [`CloseReason::IceDisconnected`](crate::CloseReason::IceDisconnected) if ICE stays
    /// disconnected this much longer; 15 s + 15 s matches the browser's own 30 s consent expiry
    /// (RFC 7675).
    pub disconnect_grace: Duration,
    /// How many later audio frames str0m holds back while waiting for a missing one before it
    /// gives up and moves on (`RtcConfig::set_reordering_size_audio`; str0m's default, 15, delays
    /// every frame behind a lost packet by up to 300 ms). Received audio is always delivered in
    /// order; `0` turns reordering off and lets late frames through out of order.
    pub reorder_packets: usize,
    /// The longest str0m holds a received frame back waiting for a missing earlier one
    /// (`RtcConfig::set_reordering_timeout_audio`; str0m's default is 1 s). Matters when the
    /// stream pauses right after a loss (end of a talk spurt); otherwise `reorder_packets` later
    /// frames release it first.
    pub reorder_timeout: Duration,
}

impl Default for HubConfig {
    fn default() -> Self {
        Self {
            max_legs: MAX_LEGS,
            max_offer_bytes: MAX_OFFER_BYTES,
            max_datagram: MAX_DATAGRAM,
            connect_timeout: CONNECT_TIMEOUT,
            disconnect_grace: DISCONNECT_GRACE,
            reorder_packets: REORDER_PACKETS,
            reorder_timeout: REORDER_TIMEOUT,
        }
    }
}
