//! The one error type of this crate.

use sip_msg::{HeaderName, ParseError, StatusCode};

/// Why a dialog could not be created or a request was refused, and what to answer.
///
/// Peer-caused variants map to the status the UAS sends ([`DialogError::status`]); local misuse
/// ([`DialogError::NotDialogCreating`]) is a bug in the TU.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DialogError {
    /// Peer: a header the dialog needs is missing or malformed.
    #[error("malformed or missing {header} header: {source}")]
    Malformed {
        /// The header at fault.
        header: HeaderName,
        /// What the parser said.
        source: ParseError,
    },
    /// Peer: a dialog-creating message lacks the tag that identifies its side of the dialog (From tag of a
    /// request, To tag of a response).
    #[error("the {header} header has no tag")]
    MissingTag {
        /// From or To.
        header: HeaderName,
    },
    /// Peer: a dialog-creating message has no usable Contact (a SIP URI is required, RFC 3261 12.1).
    #[error("no Contact to use as remote target")]
    MissingContact,
    /// Peer: the request does not belong to this dialog (Call-ID or tags differ): answer 481.
    #[error("request does not match the dialog")]
    NotInDialog,
    /// Peer: the request's CSeq is lower than the last one seen (RFC 3261 12.2.2): answer 500.
    #[error("CSeq {received} is lower than the last remote CSeq {last}")]
    CSeqOutOfOrder {
        /// The CSeq number of the refused request.
        received: u32,
        /// The remote CSeq of the dialog.
        last: u32,
    },
    /// Local misuse: a dialog is only created by a 101-299 response (with a To tag).
    #[error("a {0} response does not create a dialog")]
    NotDialogCreating(StatusCode),
}

impl DialogError {
    /// The status code a UAS answers the offending request with.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Malformed { .. } | Self::MissingTag { .. } | Self::MissingContact => {
                StatusCode::BAD_REQUEST
            }
            Self::NotInDialog => StatusCode::CALL_TRANSACTION_DOES_NOT_EXIST,
            Self::CSeqOutOfOrder { .. } | Self::NotDialogCreating(_) => StatusCode::SERVER_INTERNAL_ERROR,
        }
    }

    pub(crate) fn malformed(header: HeaderName) -> impl FnOnce(ParseError) -> Self {
        move |source| Self::Malformed { header, source }
    }
}
