use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a call ended, as stored in the call record and reported through the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// The caller sent BYE.
    CallerHangup,
    /// The agent hung up a bridged call.
    AgentHangup,
    /// The flow reached a hangup (or its end) and we sent BYE.
    FlowHangup,
    /// The caller cancelled before we answered.
    Cancelled,
    /// The flow transferred the caller elsewhere (their phone accepted our REFER).
    Transferred,
    /// No RTP arrived for the configured time.
    RtpTimeout,
    /// RTP arrived but carried only silence for the configured time.
    SilenceTimeout,
    /// Our 2xx was never acknowledged.
    AckTimeout,
    /// The engine shut down cleanly and ended the call with BYE.
    Shutdown,
    /// The offer could not be answered (no common codec, malformed SDP).
    MediaRejected,
    /// The call was refused (overload, no flow, resources).
    Rejected,
    /// The engine stopped without finalizing the record (found open at start-up).
    Interrupted,
    /// An internal error ended the call.
    Error,
    /// The caller pressed the queue's callback key and was told they will be called back; their place in
    /// the queue lives on in a callback call.
    CallbackRequested,
    /// A callback's agent answered but the customer's phone did not (busy, refused, no answer in time).
    CallbackFailed,
}

impl EndReason {
    /// The stable text stored in the database and shown by the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CallerHangup => "caller_hangup",
            Self::AgentHangup => "agent_hangup",
            Self::FlowHangup => "flow_hangup",
            Self::Cancelled => "cancelled",
            Self::Transferred => "transferred",
            Self::RtpTimeout => "rtp_timeout",
            Self::SilenceTimeout => "silence_timeout",
            Self::AckTimeout => "ack_timeout",
            Self::Shutdown => "shutdown",
            Self::MediaRejected => "media_rejected",
            Self::Rejected => "rejected",
            Self::Interrupted => "interrupted",
            Self::Error => "error",
            Self::CallbackRequested => "callback_requested",
            Self::CallbackFailed => "callback_failed",
        }
    }

    /// Who ended the call, as far as the record is concerned.
    pub fn hangup_by(self) -> HangupBy {
        match self {
            Self::CallerHangup | Self::Cancelled => HangupBy::Caller,
            Self::AgentHangup => HangupBy::Agent,
            Self::FlowHangup
            | Self::Transferred
            | Self::RtpTimeout
            | Self::SilenceTimeout
            | Self::AckTimeout
            | Self::Shutdown
            | Self::MediaRejected
            | Self::Rejected
            | Self::Error
            | Self::CallbackRequested
            | Self::CallbackFailed => HangupBy::Engine,
            Self::Interrupted => HangupBy::Unknown,
        }
    }
}

impl fmt::Display for EndReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which side ended the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HangupBy {
    Caller,
    Engine,
    Agent,
    Unknown,
}

impl HangupBy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Caller => "caller",
            Self::Engine => "engine",
            Self::Agent => "agent",
            Self::Unknown => "unknown",
        }
    }
}

/// One entry of a call's trail: a node entered by the flow, or a digit the caller pressed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TrailItem {
    /// The flow entered a node.
    Node { node: String, at_ms: u64 },
    /// The caller pressed a digit; `node` is the node that was active, `source` how it arrived.
    Digit {
        digit: String,
        node: Option<String>,
        source: String,
        at_ms: u64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_reasons_serialize_as_their_stored_text() {
        for r in [
            EndReason::CallerHangup,
            EndReason::Interrupted,
            EndReason::RtpTimeout,
        ] {
            let json = serde_json::to_string(&r).unwrap();
            assert_eq!(json, format!("\"{}\"", r.as_str()));
        }
        assert_eq!(EndReason::CallerHangup.hangup_by(), HangupBy::Caller);
        assert_eq!(EndReason::FlowHangup.hangup_by(), HangupBy::Engine);
    }
}
