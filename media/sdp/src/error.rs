/// Why a description could not be parsed or negotiated.
///
/// Every variant is the peer's doing: either it sent something malformed
/// ([`SdpError::sip_status`] 400), too big (413, or 488 for too many streams), or something well-formed that we cannot
/// take part in (488 Not Acceptable Here).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SdpError {
    // --- over a limit ---
    /// The description is larger than [`ParseLimits::max_bytes`](crate::ParseLimits).
    #[error("SDP is {size} bytes, the limit is {limit}")]
    TooLarge { size: usize, limit: usize },
    /// More `m=` lines than [`ParseLimits::max_media`](crate::ParseLimits) (answer 488).
    #[error("SDP has more than {limit} media descriptions")]
    TooManyMedia { limit: usize },

    // --- peer misbehaved: the description is not valid SDP ---
    /// The description does not start with `v=0`.
    #[error("SDP does not start with v=0")]
    MissingVersion,
    /// A line required by RFC 8866 is absent.
    #[error("SDP has no {0:?} line")]
    MissingLine(LineKind),
    /// A line appears twice where only one is allowed.
    #[error("line {line}: duplicate {kind:?} line")]
    DuplicateLine { line: usize, kind: LineKind },
    /// A session-level line (`v=`, `o=`, `s=`, `t=`) after the first `m=` line.
    #[error("line {line}: {kind:?} line inside a media description")]
    MisplacedLine { line: usize, kind: LineKind },
    /// A line cannot be parsed; `line` is 1-based.
    #[error("line {line}: malformed {kind:?} line")]
    Malformed { line: usize, kind: LineKind },

    // --- peer incompatible: valid SDP we cannot accept ---
    /// No offered audio stream has a transport and codec we support (answer 488).
    #[error("no audio stream with a codec in common")]
    NoCommonCodec,
    /// The chosen audio stream has no connection address, or one that is not an IP
    /// literal (a host name would need a resolver).
    #[error("media description {media_index} has no usable connection address")]
    NoConnectionAddress { media_index: usize },
    /// An answer does not have one `m=` line per offered one (RFC 3264 §6).
    #[error("answer has {answered} media descriptions, the offer had {offered}")]
    MediaCountMismatch { offered: usize, answered: usize },
}

/// An SDP line type, for error reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LineKind {
    /// A line that is not `<letter>=<value>`.
    Syntax,
    /// `v=`.
    Version,
    /// `o=`.
    Origin,
    /// `s=`.
    SessionName,
    /// `c=`.
    Connection,
    /// `t=`.
    Timing,
    /// `m=`.
    Media,
}

impl SdpError {
    /// The SIP status a UAS answers an INVITE whose SDP failed with this error.
    pub fn sip_status(&self) -> u16 {
        match self {
            Self::TooLarge { .. } => 413,
            Self::MissingVersion
            | Self::MissingLine(_)
            | Self::DuplicateLine { .. }
            | Self::MisplacedLine { .. }
            | Self::Malformed { .. } => 400,
            Self::TooManyMedia { .. }
            | Self::NoCommonCodec
            | Self::NoConnectionAddress { .. }
            | Self::MediaCountMismatch { .. } => 488,
        }
    }
}
