//! Receive statistics, named after W3C webrtc-stats `RTCInboundRtpStreamStats`.

use serde::Serialize;

/// Counters of one [`crate::JitterBuffer`]. Samples are at the codec clock rate.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct JitterStats {
    /// Every RTP packet pushed, including DTMF, duplicates and refused ones (`packetsReceived`).
    pub packets_received: u64,
    /// Packets whose sequence number was already seen.
    pub packets_duplicated: u64,
    /// Packets with a sequence number below the highest seen.
    pub packets_reordered: u64,
    /// Packets that arrived after their playout time (`packetsDiscarded`, late part).
    pub packets_late_discarded: u64,
    /// Packets dropped because `max_packets` were already held (oldest first).
    pub packets_overflow_discarded: u64,
    /// Audio samples received in accepted packets (`totalSamplesReceived`).
    pub total_samples_received: u64,
    /// Frames that played at least one received sample (`jitterBufferEmittedCount`).
    pub emitted_frames: u64,
    /// Sum over emitted frames of (playout − arrival) of their first packet, ms
    /// (`jitterBufferDelay`).
    pub jitter_buffer_delay_ms: f64,
    /// `jitter_buffer_delay_ms / emitted_frames`: the mean playout delay, ms.
    pub mean_playout_delay_ms: f64,
    /// The policy's current target, as a buffer delay beyond the fastest recent packet, ms
    /// (`jitterBufferTargetDelay`).
    pub target_delay_ms: f64,
    /// Samples synthesised by PLC for missing or late audio (`concealedSamples`).
    pub concealed_samples: u64,
    /// Runs of concealment (`concealmentEvents`).
    pub concealment_events: u64,
    /// Samples of concealment inserted to grow the buffer (`insertedSamplesForDeceleration`).
    pub inserted_samples_for_deceleration: u64,
    /// Samples removed by time-compression to shrink it (`removedSamplesForAcceleration`).
    pub removed_samples_for_acceleration: u64,
    /// Times the SSRC changed (the stream was reset).
    pub ssrc_changes: u64,
    /// Timestamp jumps re-anchored.
    pub reanchors: u64,
    /// Playout restarts after an idle period (DTX, long silence, start of stream).
    pub playout_restarts: u64,
    /// DTMF digits passed out.
    pub dtmf_events: u64,
}
