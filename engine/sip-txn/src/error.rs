//! The one error type of this crate.

use crate::key::TxnKey;
use crate::layer::TxnState;

/// What went wrong in the transaction layer, and who is at fault.
///
/// Peer-caused variants ([`TxnError::MalformedMessage`], [`TxnError::CSeqMethodMismatch`]) describe requests
/// the transport should answer with `400 Bad Request` when it can; the others are local API misuse by the
/// transaction user (TU).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TxnError {
    /// Peer: a header the layer needs to match the message (Via, CSeq, Call-ID, From) is missing or malformed.
    #[error("peer sent a message with a missing or malformed header: {0}")]
    MalformedMessage(sip_msg::ParseError),
    /// Peer: the CSeq method of a request differs from its method (RFC 3261 8.1.1.5).
    #[error("peer sent a request whose CSeq method differs from its method")]
    CSeqMethodMismatch,
    /// Local misuse: no live transaction has this key (it may have terminated already).
    #[error("no transaction {0}")]
    UnknownTransaction(TxnKey),
    /// Local misuse: a response was given to a client transaction, or the like.
    #[error("transaction {key} cannot do this as a {role}")]
    WrongRole {
        /// The transaction.
        key: TxnKey,
        /// Its role.
        role: crate::key::Role,
    },
    /// Local misuse: the transaction's state does not allow this response.
    #[error("transaction {key} is in state {state:?} and cannot send a {status} response")]
    InvalidState {
        /// The transaction.
        key: TxnKey,
        /// Its state when the call was made.
        state: TxnState,
        /// The status the TU tried to send.
        status: sip_msg::StatusCode,
    },
    /// Local misuse: a status code outside 100..=699.
    #[error("status code {0} is outside 100..=699")]
    InvalidStatus(sip_msg::StatusCode),
    /// Local misuse: a request sent by the TU has no Via branch.
    #[error("the request's top Via has no branch parameter")]
    MissingBranch,
    /// Local misuse: our own requests must carry an RFC 3261 branch (`z9hG4bK` + unique part).
    #[error("the branch {0:?} lacks the RFC 3261 magic cookie z9hG4bK")]
    NotRfc3261Branch(String),
    /// Local misuse: a client transaction with this key already exists (reused branch).
    #[error("transaction {0} already exists")]
    DuplicateTransaction(TxnKey),
    /// Local misuse: ACK is not a transaction; send an ACK for a 2xx with [`crate::TxnLayer::send_stateless`].
    #[error("ACK does not create a transaction; use send_stateless")]
    AckIsNotATransaction,
}

impl From<sip_msg::ParseError> for TxnError {
    fn from(e: sip_msg::ParseError) -> Self {
        Self::MalformedMessage(e)
    }
}
