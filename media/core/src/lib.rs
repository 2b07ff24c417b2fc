//! Media command vocabulary shared by signalling and media.
//!
//! Signalling (`b2bua`) drives a media leg with [`MediaCommand`]s and hears back from it through
//! [`MediaEvent`]s. Both are plain data: this crate has no behaviour beyond conversions, so that
//! every layer (the sans-IO leg core, the tokio shell, the IVR, tests) speaks the same words.
//!
//! ```
//! use hotline_media::{Digit, MediaCommand};
//!
//! assert_eq!(Digit::from_char('#'), Some(Digit::Pound));
//! assert_eq!(Digit::from_event_code(11), Some(Digit::Pound));
//! let cmd = MediaCommand::Play { play_id: 7, prompts: vec!["welcome".into()] };
//! assert!(matches!(cmd, MediaCommand::Play { play_id: 7, .. }));
//! ```

use std::fmt;
use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

/// A DTMF key: the twelve keys of a phone plus the four column-4 keys `A`–`D`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Digit {
    D0,
    D1,
    D2,
    D3,
    D4,
    D5,
    D6,
    D7,
    D8,
    D9,
    Star,
    Pound,
    A,
    B,
    C,
    D,
}

impl Digit {
    /// All sixteen digits, in RFC 4733 event-code order (0–9, `*`, `#`, A–D).
    pub const ALL: [Self; 16] = [
        Self::D0,
        Self::D1,
        Self::D2,
        Self::D3,
        Self::D4,
        Self::D5,
        Self::D6,
        Self::D7,
        Self::D8,
        Self::D9,
        Self::Star,
        Self::Pound,
        Self::A,
        Self::B,
        Self::C,
        Self::D,
    ];

    /// Parses a key character: `0`–`9`, `*`, `#`, and `A`–`D` in either case.
    pub fn from_char(c: char) -> Option<Self> {
        Some(match c {
            '0'..='9' => {
                let code = u8::try_from(u32::from(c) - u32::from('0')).ok()?;
                return Self::from_event_code(code);
            }
            '*' => Self::Star,
            '#' => Self::Pound,
            'A' | 'a' => Self::A,
            'B' | 'b' => Self::B,
            'C' | 'c' => Self::C,
            'D' | 'd' => Self::D,
            _ => return None,
        })
    }

    /// The key character (`A`–`D` upper case).
    pub fn as_char(self) -> char {
        match self {
            Self::D0 => '0',
            Self::D1 => '1',
            Self::D2 => '2',
            Self::D3 => '3',
            Self::D4 => '4',
            Self::D5 => '5',
            Self::D6 => '6',
            Self::D7 => '7',
            Self::D8 => '8',
            Self::D9 => '9',
            Self::Star => '*',
            Self::Pound => '#',
            Self::A => 'A',
            Self::B => 'B',
            Self::C => 'C',
            Self::D => 'D',
        }
    }

    /// Maps an RFC 4733 §3.2 DTMF event code (0–9, 10 = `*`, 11 = `#`, 12–15 = A–D).
    /// Other event codes (flash, line events) are not digits.
    pub fn from_event_code(code: u8) -> Option<Self> {
        Self::ALL.get(usize::from(code)).copied()
    }

    /// The RFC 4733 event code of this digit.
    pub fn event_code(self) -> u8 {
        self as u8
    }
}

impl fmt::Display for Digit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.as_char())
    }
}

/// How a digit reached us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DigitSource {
    /// RTP telephone-event packets (RFC 4733).
    Rfc4733,
    /// A SIP INFO request (`application/dtmf-relay` or `application/dtmf`).
    SipInfo,
    /// Tones in the audio, found by the Goertzel detector.
    Inband,
}

/// The audio codecs a leg can send and receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Codec {
    /// G.711 µ-law.
    Pcmu,
    /// G.711 A-law.
    Pcma,
}

impl Codec {
    /// The static RTP payload type of RFC 3551 (PCMU 0, PCMA 8).
    pub fn static_payload_type(self) -> u8 {
        match self {
            Self::Pcmu => 0,
            Self::Pcma => 8,
        }
    }

    /// The SDP `rtpmap` encoding name.
    pub fn encoding_name(self) -> &'static str {
        match self {
            Self::Pcmu => "PCMU",
            Self::Pcma => "PCMA",
        }
    }

    /// The RTP clock rate in Hz (8000 for both G.711 laws).
    pub fn clock_rate(self) -> u32 {
        8000
    }
}

/// Media direction, seen from our side: whether we send and whether we receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Direction {
    #[default]
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    /// Whether we send RTP in this direction.
    pub fn sends(self) -> bool {
        matches!(self, Self::SendRecv | Self::SendOnly)
    }

    /// Whether we expect to receive RTP in this direction.
    pub fn receives(self) -> bool {
        matches!(self, Self::SendRecv | Self::RecvOnly)
    }
}

/// What offer/answer agreed about the peer's media.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteMedia {
    /// Where to send RTP (RTCP goes to port + 1 until the peer's RTCP source is latched).
    pub addr: SocketAddr,
    pub codec: Codec,
    /// The payload type negotiated for `codec` (usually its static one).
    pub payload_type: u8,
    /// The payload type of `telephone-event/8000`, when negotiated.
    pub dtmf_payload_type: Option<u8>,
    /// Packetisation time in milliseconds (`a=ptime`, 20 by default).
    pub ptime_ms: u32,
}

/// What signalling asks of a media leg.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MediaCommand {
    /// After offer/answer (initial or re-INVITE). A new remote address resets source latching.
    Configure { remote: RemoteMedia },
    /// Hold and resume: we stop sending when the peer put us on hold (`RecvOnly` / `Inactive`).
    SetDirection(Direction),
    /// Plays prompts (names in the prompt library) one after the other. Replaces any current
    /// play, which is reported as interrupted.
    Play { play_id: u64, prompts: Vec<String> },
    /// Stops the current play (reported as interrupted) and the music on hold; no-op when idle.
    StopPlay,
    /// Plays the shared music on hold (the frame on air, like a radio) until `StopPlay`; a `Play` goes over
    /// it and the music is back when the play ends. Silence when the engine has no music.
    Music,
    /// Ends the leg: it reports [`MediaEvent::Closed`] and stops.
    Close,
    /// Joins this leg to another one: what this leg receives is handed out as [`BridgedPacket`]s for the
    /// other leg to send, and this leg stops sending its own silence (prompts still play over the top).
    /// Which leg is the other one is the runtime's business (its shell connects the two).
    Bridge,
    /// Leaves the bridge: back to silence and prompts.
    Unbridge,
    /// Starts recording the leg as a stereo WAV at `path` (created; never overwritten): left is what the
    /// leg receives, right is what it sends. One recording per leg; a second start is ignored.
    /// The end is reported as [`MediaEvent::RecordingEnded`] with this `id`.
    StartRecording { id: String, path: String },
    /// Mutes the recording from now on (verification digits are about to be keyed).
    PauseRecording,
    /// Records again (audio from a moment after now, so a tone's tail is not kept).
    ResumeRecording,
    /// Closes the recording (also done by [`MediaCommand::Close`]).
    StopRecording,
}

/// Media crossing a bridge from one leg to the other, as received (payload only; the sending leg writes
/// its own RTP header).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BridgedPacket {
    pub kind: BridgedKind,
    pub payload: Vec<u8>,
    /// The start of a talkspurt (or of a new event).
    pub marker: bool,
    /// The RTP timestamp and SSRC it arrived with: the sending leg keeps the spacing of the source's
    /// timestamps, so the far end's jitter buffer sees when the audio was sampled, not when it crossed.
    pub timestamp: u32,
    pub ssrc: u32,
}

/// What a [`BridgedPacket`] carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BridgedKind {
    /// Audio in this codec (forwarded as is when both legs agree, transcoded otherwise).
    Audio(Codec),
    /// An RFC 4733 telephone-event payload (sent with the receiving leg's event payload type).
    Event,
}

/// What a media leg reports to signalling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum MediaEvent {
    Digit {
        digit: Digit,
        source: DigitSource,
    },
    PlayFinished {
        play_id: u64,
        interrupted: bool,
    },
    /// A prompt name the library does not know; the play goes on with the next one and
    /// then reports `PlayFinished`.
    UnknownPrompt {
        play_id: u64,
        name: String,
    },
    /// No RTP received for the configured time while receiving is expected.
    RtpTimeout,
    /// RTP arrives but has been silent for the configured time.
    SilenceTimeout,
    Closed {
        stats: LegStats,
    },
    /// A recording was closed (stopped, leg closed, or failed: then `error` says why and the file holds
    /// what was written before).
    RecordingEnded {
        id: String,
        duration_ms: u64,
        bytes: u64,
        error: Option<String>,
    },
}

/// Counters of one leg, reported when it closes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LegStats {
    pub packets_sent: u64,
    pub packets_received: u64,
    /// Audio packets missing from the peer's sequence numbers (RFC 3550 A.3), over all its SSRCs.
    pub packets_lost: u64,
    /// RTP packets from an address other than the latched source.
    pub packets_dropped_unlatched: u64,
    pub ssrc_changes: u32,
    /// Interarrival jitter of the received audio (RFC 3550 A.8), in milliseconds.
    pub jitter_ms: f64,
    /// Cumulative loss of our stream as the peer last reported it in RTCP, if it did.
    pub peer_packets_lost: Option<i64>,
    /// Jitter of our stream as the peer last reported it in RTCP, in milliseconds, if it did.
    pub peer_jitter_ms: Option<f64>,
    /// The adaptive jitter buffer in front of in-band digit detection, while the leg had one (it is
    /// dropped once the peer sends RFC 4733 events).
    #[serde(default)]
    pub receive_buffer: Option<ReceiveBufferStats>,
}

/// How the leg's adaptive jitter buffer played the received audio (names after W3C webrtc-stats).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReceiveBufferStats {
    /// Mean delay from a frame's arrival to its playout, ms (`jitterBufferDelay / jitterBufferEmittedCount`).
    pub mean_playout_delay_ms: f64,
    /// The policy's target delay at the end, ms (`jitterBufferTargetDelay`).
    pub target_delay_ms: f64,
    /// Samples synthesised for missing or late audio (`concealedSamples`).
    pub concealed_samples: u64,
    /// Runs of concealment (`concealmentEvents`).
    pub concealment_events: u64,
    /// Packets that came after their playout time (`packetsDiscarded`).
    pub late_discarded: u64,
    /// Samples inserted to grow the buffer (`insertedSamplesForDeceleration`).
    pub inserted_samples: u64,
    /// Samples removed to shrink it (`removedSamplesForAcceleration`).
    pub removed_samples: u64,
    /// Frames played from received audio (`jitterBufferEmittedCount`).
    pub emitted_frames: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_round_trip_through_char_and_event_code() {
        for (code, digit) in Digit::ALL.iter().enumerate() {
            let code = u8::try_from(code).unwrap_or(u8::MAX);
            assert_eq!(digit.event_code(), code);
            assert_eq!(Digit::from_event_code(code), Some(*digit));
            assert_eq!(Digit::from_char(digit.as_char()), Some(*digit));
            assert_eq!(digit.to_string(), digit.as_char().to_string());
        }
        assert_eq!(Digit::from_event_code(10), Some(Digit::Star));
        assert_eq!(Digit::from_event_code(11), Some(Digit::Pound));
        assert_eq!(Digit::from_event_code(12), Some(Digit::A));
        assert_eq!(Digit::from_event_code(16), None);
        assert_eq!(Digit::from_char('d'), Some(Digit::D));
        assert_eq!(Digit::from_char('x'), None);
        assert_eq!(Digit::from_char('٣'), None);
    }

    #[test]
    fn codecs_know_their_static_payload_types_and_names() {
        assert_eq!(Codec::Pcmu.static_payload_type(), 0);
        assert_eq!(Codec::Pcma.static_payload_type(), 8);
        assert_eq!(Codec::Pcmu.encoding_name(), "PCMU");
        assert_eq!(Codec::Pcma.encoding_name(), "PCMA");
    }

    #[test]
    fn directions_say_who_sends() {
        assert!(Direction::SendRecv.sends() && Direction::SendRecv.receives());
        assert!(Direction::SendOnly.sends() && !Direction::SendOnly.receives());
        assert!(!Direction::RecvOnly.sends() && Direction::RecvOnly.receives());
        assert!(!Direction::Inactive.sends() && !Direction::Inactive.receives());
    }
}
