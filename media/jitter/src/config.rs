//! Configuration of [`crate::JitterBuffer`].

use std::time::Duration;

use crate::policy::AdaptiveConfig;
use crate::sim::AdaptLimits;

/// Which [`crate::PlayoutPolicy`] a buffer built from a [`JitterConfig`] uses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PolicyConfig {
    /// [`crate::AdaptivePolicy`] with this tuning.
    Adaptive(AdaptiveConfig),
    /// [`crate::FixedPolicy`] with this delay (ms).
    Fixed(f64),
}

/// Buffer configuration. [`JitterConfig::default`] is for interactive calls,
/// [`JitterConfig::recording`] for the recorder.
///
/// | key | unit | default | recording |
/// |---|---|---|---|
/// | `policy` | | `Adaptive(default)` | `Fixed(1000)` |
/// | `limits` | ms/frame, ms | shrink 5, grow 20, 0..1000 | shrink 5, grow 20, 0..2000 |
/// | `frame` | duration | 20 ms | 20 ms |
/// | `max_packets` | packets | 500 | 500 |
/// | `max_conceal_frames` | frames | 5 (100 ms) | 5 |
/// | `reanchor_threshold_ms` | ms | 2000 | 5000 |
/// | `quiet_shrink_rms` | sample RMS | none (any audio) | none |
/// | `audio_payload_type` | PT | codec's static PT | same |
/// | `dtmf_payload_type` | PT | `Some(101)` | same |
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JitterConfig {
    pub policy: PolicyConfig,
    pub limits: AdaptLimits,
    /// Duration of one output frame (20 ms = 160 samples at 8 kHz).
    pub frame: Duration,
    /// Packets held at most; one more drops the oldest (counted as an overflow discard).
    pub max_packets: usize,
    /// With nothing buffered, conceal at most this many frames, then go idle (silence, no
    /// concealment counted) until the next packet, which restarts playout at the target delay.
    pub max_conceal_frames: u32,
    /// A packet whose transit differs from the recent minimum by more than this is a
    /// timestamp jump: the stream is re-anchored instead of waiting or discarding.
    pub reanchor_threshold_ms: f64,
    /// Audio payload type; `None` means the codec's static one (PCMU 0, PCMA 8).
    pub audio_payload_type: Option<u8>,
    /// RFC 4733 telephone-event payload type, if negotiated.
    pub dtmf_payload_type: Option<u8>,
    /// Time-compress (shrink) only audio quieter than this RMS (16-bit samples); `None` compresses
    /// any fully received audio. Compression cuts and cross-fades: harmless in pauses, but it breaks
    /// the phase of a tone, so the buffer in front of a DTMF detector shrinks only in pauses.
    pub quiet_shrink_rms: Option<f64>,
}

impl Default for JitterConfig {
    fn default() -> Self {
        Self {
            policy: PolicyConfig::Adaptive(AdaptiveConfig::default()),
            limits: AdaptLimits::default(),
            frame: Duration::from_millis(20),
            max_packets: 500,
            max_conceal_frames: 5,
            reanchor_threshold_ms: 2000.0,
            audio_payload_type: None,
            dtmf_payload_type: Some(101),
            quiet_shrink_rms: None,
        }
    }
}

impl JitterConfig {
    /// For the recorder: not interactive, so a fixed 1 s delay. A packet is only discarded if it
    /// arrives more than 1 s after the first packet's transit would have put it, so jittery
    /// traces record with zero late loss.
    pub fn recording() -> Self {
        Self {
            policy: PolicyConfig::Fixed(1000.0),
            limits: AdaptLimits {
                max_delay_ms: 2000.0,
                ..AdaptLimits::default()
            },
            reanchor_threshold_ms: 5000.0,
            ..Self::default()
        }
    }
}
