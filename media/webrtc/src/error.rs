//! The one error type of this crate.

use std::net::SocketAddr;

use crate::LegId;

/// Why a call into the [`WebRtcHub`](crate::WebRtcHub) failed. Each variant says who is at fault:
/// the browser's offer (peer incompatible or misbehaved), the caller (API misuse), or a local limit.
/// A failed call leaves the hub as it was: a refused offer creates no leg.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebRtcError {
    /// Local limit: the hub already serves [`HubConfig::max_legs`](crate::HubConfig::max_legs)
    /// legs.
    #[error("too many WebRTC legs (limit {limit})")]
    TooManyLegs {
        /// The configured limit.
        limit: usize,
    },
    /// Peer misbehaved: the offer is larger than
    /// [`HubConfig::max_offer_bytes`](crate::HubConfig::max_offer_bytes); it was not parsed.
    #[error("SDP offer of {len} bytes is larger than {limit}")]
    OfferTooLarge {
        /// Size of the offer.
        len: usize,
        /// The configured limit.
        limit: usize,
    },
    /// Peer misbehaved: the offer is not valid SDP.
    #[error("invalid SDP offer: {0}")]
    BadOffer(#[source] str0m::error::SdpError),
    /// Peer incompatible: the offer asks for something this engine does not do (video, a data
    /// channel).
    #[error("unsupported SDP offer: {0}")]
    Unsupported(&'static str),
    /// Peer incompatible: no audio m-line offers PCMU, PCMA or Opus.
    #[error("the offer has no audio codec in common with us (PCMU, PCMA, Opus)")]
    NoCommonCodec,
    /// Peer incompatible or misbehaved: str0m refused the offer (for example no DTLS
    /// fingerprint, or both sides ICE-lite).
    #[error("offer refused: {0}")]
    OfferRefused(#[source] str0m::RtcError),
    /// Local configuration: the public address cannot be an ICE host candidate (unspecified,
    /// multicast, broadcast or link-local).
    #[error("public address {0} cannot be advertised as an ICE candidate")]
    BadPublicAddr(SocketAddr),
    /// API misuse: no such leg (never created, or already closed and removed).
    #[error("unknown WebRTC leg {0}")]
    UnknownLeg(LegId),
    /// API misuse: the leg has not reported `Connected` yet, or is closing.
    #[error("WebRTC leg {0} is not connected")]
    NotConnected(LegId),
    /// str0m refused the frame (for example the browser offered `recvonly`, so we may not send).
    #[error("sending on WebRTC leg {leg} failed: {source}")]
    Send {
        /// The leg.
        leg: LegId,
        /// What str0m said.
        #[source]
        source: str0m::RtcError,
    },
}
