//! Transaction identity (RFC 3261 17.1.3 and 17.2.3).

use std::cmp::Ordering;
use std::fmt;

use sip_msg::{Method, Request, Response};

use crate::error::TxnError;
use crate::wire;

/// The RFC 3261 magic cookie that starts every RFC 3261 branch.
pub const MAGIC_COOKIE: &str = "z9hG4bK";

/// Which side of a transaction we are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// We sent the request.
    Client,
    /// We received the request.
    Server,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Client => "client",
            Self::Server => "server",
        })
    }
}

/// The identity of one transaction: branch + method + sent-by + role.
///
/// * **RFC 3261 requests** (top Via branch starts with `z9hG4bK`): the branch, the sent-by of the top Via,
///   and the method, where an ACK is filed under INVITE (it belongs to the INVITE server transaction of a
///   non-2xx response) and a CANCEL under CANCEL (it is a transaction of its own, RFC 3261 9.2).
/// * **RFC 2543 requests** (no branch or no cookie, RFC 3261 17.2.3 fallback): the branch slot holds
///   `rfc2543:` followed by the Request-URI, From tag, Call-ID, CSeq number and the whole top Via. The
///   To tag is deliberately not part of the key, so an ACK matches the INVITE it acknowledges without the
///   layer remembering the To tag it sent; a CANCEL has the same fields as its INVITE, so
///   [`crate::TxnLayer::cancel_target`] works for these requests too.
/// * **Responses** are matched to client transactions by the branch and sent-by of their top Via and the
///   method of their CSeq (RFC 3261 17.1.3). Our own requests always carry an RFC 3261 branch.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TxnKey {
    branch: String,
    method: Method,
    sent_by: String,
    role: Role,
}

impl TxnKey {
    /// The key of the server transaction a request from the wire belongs to (ACK → its INVITE).
    pub(crate) fn for_server_request(req: &Request) -> Result<Self, TxnError> {
        let via = wire::top_via(&req.headers)?;
        let cseq = wire::cseq(&req.headers)?;
        if cseq.method != req.method {
            return Err(TxnError::CSeqMethodMismatch);
        }
        let method = match &req.method {
            Method::Ack => Method::Invite,
            m => m.clone(),
        };
        let branch = match via.branch.as_deref() {
            Some(b) if is_rfc3261_branch(b) => b.to_owned(),
            _ => {
                // RFC 2543 fallback (17.2.3): no usable branch, so identify the transaction by the fields
                // that RFC 2543 used. None of them can contain the separator we use without being quoted,
                // and a real branch (a token) never contains ':'.
                let from_tag = wire::from_tag(&req.headers)?.unwrap_or_default();
                let call_id = wire::call_id(&req.headers)?;
                format!(
                    "rfc2543:{}|{}|{}|{}|{}",
                    req.uri, from_tag, call_id, cseq.seq, via.raw
                )
            }
        };
        Ok(Self {
            branch,
            method,
            sent_by: via.sent_by,
            role: Role::Server,
        })
    }

    /// The key of the client transaction a request we are about to send creates. Requires an RFC 3261
    /// branch.
    pub(crate) fn for_client_request(req: &Request) -> Result<Self, TxnError> {
        let via = wire::top_via(&req.headers)?;
        let branch = via.branch.ok_or(TxnError::MissingBranch)?;
        if !is_rfc3261_branch(&branch) {
            return Err(TxnError::NotRfc3261Branch(branch));
        }
        Ok(Self {
            branch,
            method: req.method.clone(),
            sent_by: via.sent_by,
            role: Role::Client,
        })
    }

    /// The key of the client transaction a response from the wire belongs to (RFC 3261 17.1.3).
    pub(crate) fn for_response(resp: &Response) -> Result<Self, TxnError> {
        let via = wire::top_via(&resp.headers)?;
        let cseq = wire::cseq(&resp.headers)?;
        let branch = via.branch.ok_or(TxnError::MissingBranch)?;
        Ok(Self {
            branch,
            method: cseq.method,
            sent_by: via.sent_by,
            role: Role::Client,
        })
    }

    /// The same transaction identity with another method (used to find the INVITE of a CANCEL).
    #[must_use]
    pub(crate) fn with_method(&self, method: Method) -> Self {
        Self {
            method,
            ..self.clone()
        }
    }

    /// The branch (or, for RFC 2543 requests, the synthesized `rfc2543:` identity).
    #[must_use]
    pub fn branch(&self) -> &str {
        &self.branch
    }

    /// The transaction's method (INVITE for the INVITE transaction an ACK belongs to).
    #[must_use]
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The sent-by (`host[:port]`) of the top Via.
    #[must_use]
    pub fn sent_by(&self) -> &str {
        &self.sent_by
    }

    /// Client or server.
    #[must_use]
    pub fn role(&self) -> Role {
        self.role
    }

    /// Whether the branch is an RFC 3261 branch (not the RFC 2543 fallback).
    #[must_use]
    pub fn is_rfc3261(&self) -> bool {
        is_rfc3261_branch(&self.branch)
    }

    /// Whether this is an INVITE transaction.
    #[must_use]
    pub fn is_invite(&self) -> bool {
        self.method == Method::Invite
    }

    fn sort_tuple(&self) -> (&str, &str, &str, Role) {
        (&self.branch, self.method.as_str(), &self.sent_by, self.role)
    }
}

impl PartialOrd for TxnKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for TxnKey {
    fn cmp(&self, other: &Self) -> Ordering {
        self.sort_tuple().cmp(&other.sort_tuple())
    }
}

impl fmt::Display for TxnKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} via {}",
            self.role, self.method, self.branch, self.sent_by
        )
    }
}

/// Whether `branch` carries the RFC 3261 magic cookie and something after it.
#[must_use]
pub fn is_rfc3261_branch(branch: &str) -> bool {
    branch.len() > MAGIC_COOKIE.len() && branch.starts_with(MAGIC_COOKIE)
}
