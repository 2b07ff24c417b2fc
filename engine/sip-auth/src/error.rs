//! Errors of the Digest parser. Every variant is the peer's fault: a malformed or unsupported
//! `Authorization` header. The SIP answer to all of them is the same `401` with a fresh challenge.

/// Why an `Authorization` header value could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The value is longer than [`crate::digest::MAX_AUTHORIZATION_LEN`].
    #[error("Authorization value is {len} bytes, more than the {max} allowed")]
    TooLong {
        /// Received length.
        len: usize,
        /// Limit.
        max: usize,
    },
    /// The scheme is not `Digest` (RFC 4475 3.3.7: answer with a new challenge).
    #[error("authorization scheme is not Digest")]
    NotDigest,
    /// The parameter list does not parse (bad token, missing `=`, unterminated quote...).
    #[error("malformed Digest parameters at byte {at}")]
    Syntax {
        /// Byte offset of the problem.
        at: usize,
    },
    /// More parameters than [`crate::digest::MAX_PARAMS`].
    #[error("more than {max} Digest parameters")]
    TooManyParams {
        /// Limit.
        max: usize,
    },
    /// A known parameter appears twice.
    #[error("duplicate Digest parameter `{0}`")]
    DuplicateParam(&'static str),
    /// A required parameter is missing.
    #[error("missing Digest parameter `{0}`")]
    MissingParam(&'static str),
    /// A parameter has a value of the wrong shape (`nc` not 8 hex digits, `response` not hex...).
    #[error("malformed value of Digest parameter `{0}`")]
    BadValue(&'static str),
    /// `algorithm` is not one this crate implements, or not one the authenticator offered.
    #[error("unsupported Digest algorithm")]
    UnsupportedAlgorithm,
    /// `qop` is not `auth` (`auth-int` is not offered).
    #[error("unsupported qop")]
    UnsupportedQop,
    /// `userhash=true` (RFC 7616 3.4.4) is not offered.
    #[error("userhash is not supported")]
    UserhashUnsupported,
}
