//! What the hub tells the engine: leg ids, codecs, events.

use std::fmt;

use str0m::format::Codec;

/// One agent's WebRTC leg on a [`WebRtcHub`](crate::WebRtcHub). Ids are never reused by a hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LegId(pub u64);

impl fmt::Display for LegId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "webrtc-{}", self.0)
    }
}

/// The audio codecs a leg may negotiate, in the order we prefer them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AudioCodec {
    /// G.711 µ-law, 8 kHz RTP clock, static payload type 0.
    Pcmu,
    /// G.711 A-law, 8 kHz RTP clock, static payload type 8.
    Pcma,
    /// Opus, 48 kHz RTP clock (whatever the audio bandwidth), dynamic payload type.
    Opus,
}

impl AudioCodec {
    /// Our preference when answering: G.711 first, so an agent leg bridges to the PSTN side
    /// without transcoding; Opus only for a browser that offers neither.
    pub const PREFERENCE: [Self; 3] = [Self::Pcmu, Self::Pcma, Self::Opus];

    /// The RTP clock rate, in Hz: the unit of `rtp_time`.
    pub fn clock_rate(self) -> u32 {
        match self {
            Self::Pcmu | Self::Pcma => 8_000,
            Self::Opus => 48_000,
        }
    }

    pub(crate) fn from_str0m(codec: Codec) -> Option<Self> {
        match codec {
            Codec::PCMU => Some(Self::Pcmu),
            Codec::PCMA => Some(Self::Pcma),
            Codec::Opus => Some(Self::Opus),
            _ => None,
        }
    }

    pub(crate) fn to_str0m(self) -> Codec {
        match self {
            Self::Pcmu => Codec::PCMU,
            Self::Pcma => Codec::PCMA,
            Self::Opus => Codec::Opus,
        }
    }
}

impl fmt::Display for AudioCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Pcmu => "PCMU",
            Self::Pcma => "PCMA",
            Self::Opus => "opus",
        })
    }
}

/// Why a leg ended. It is removed from the hub right after [`WebRtcEvent::Closed`] is queued.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// [`WebRtcHub::close`](crate::WebRtcHub::close) was called.
    Local,
    /// The browser closed the connection (DTLS `close_notify`, e.g. `RTCPeerConnection.close()`).
    PeerClosed,
    /// ICE and DTLS did not complete within
    /// [`HubConfig::connect_timeout`](crate::HubConfig::connect_timeout).
    ConnectTimeout,
    /// The browser stopped its STUN checks: ICE disconnected and stayed so for
    /// [`HubConfig::disconnect_grace`](crate::HubConfig::disconnect_grace).
    IceDisconnected,
    /// str0m gave up on the connection (for example a DTLS failure or a certificate that does not
    /// match the offer's fingerprint). The text is str0m's.
    Failed(String),
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Local => f.write_str("closed locally"),
            Self::PeerClosed => f.write_str("closed by the browser"),
            Self::ConnectTimeout => f.write_str("ICE/DTLS did not connect in time"),
            Self::IceDisconnected => f.write_str("ICE disconnected (no STUN checks)"),
            Self::Failed(why) => write!(f, "failed: {why}"),
        }
    }
}

/// What happened on a leg; drained with [`WebRtcHub::poll_event`](crate::WebRtcHub::poll_event).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebRtcEvent {
    /// ICE and DTLS are done and SRTP keys are set: media can flow both ways. Reported once.
    Connected,
    /// One received audio packet, decrypted, in sequence order (see
    /// [`HubConfig::reorder_packets`](crate::HubConfig::reorder_packets)).
    Audio {
        /// The codec of this packet's payload type.
        codec: AudioCodec,
        /// The RTP payload as the browser sent it (one encoded frame).
        payload: Vec<u8>,
        /// The RTP timestamp, in the codec's clock ([`AudioCodec::clock_rate`]).
        rtp_time: u32,
        /// The RTP sequence number, extended past 16 bits (str0m's `SeqNo`): gaps are losses.
        seq: u64,
    },
    /// An RFC 4733 telephone-event from the browser, once per key press, at the end of the event.
    /// Digits `0`–`9`, `*`, `#`, `A`–`D`; other events (flash, …) are ignored.
    Dtmf {
        /// The key.
        digit: char,
    },
    /// The leg ended and has been removed; nothing more is reported for it.
    Closed {
        /// Why.
        reason: CloseReason,
    },
}

/// RFC 4733 §3.2 DTMF event codes to keys.
pub(crate) fn dtmf_digit(event: u8) -> Option<char> {
    match event {
        0..=9 => Some(char::from(b'0' + event)),
        10 => Some('*'),
        11 => Some('#'),
        12..=15 => Some(char::from(b'A' + event - 12)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtmf_codes_map_to_keys() {
        let keys: String = (0..=16).filter_map(dtmf_digit).collect();
        assert_eq!(keys, "0123456789*#ABCD");
    }

    #[test]
    fn codec_round_trips_through_str0m() {
        for codec in AudioCodec::PREFERENCE {
            assert_eq!(AudioCodec::from_str0m(codec.to_str0m()), Some(codec));
        }
        assert_eq!(AudioCodec::from_str0m(Codec::G722), None);
        assert_eq!(AudioCodec::Opus.clock_rate(), 48_000);
        assert_eq!(LegId(7).to_string(), "webrtc-7");
    }
}
