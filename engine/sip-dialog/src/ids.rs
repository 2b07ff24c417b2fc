//! Identifiers: dialog ids, and tags, branches, Call-IDs and CSeq numbers drawn from an injected RNG.

use std::fmt;

use rand::RngCore;
use sip_msg::{HeaderName, Request, Response};

use crate::error::DialogError;

/// The RFC 3261 magic cookie every branch we generate starts with.
pub const MAGIC_COOKIE: &str = "z9hG4bK";

/// A dialog's identity (RFC 3261 12): Call-ID, local tag, remote tag.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DialogId {
    /// The Call-ID.
    pub call_id: String,
    /// Our tag (From tag when we are the UAC, To tag when we are the UAS).
    pub local_tag: String,
    /// The peer's tag.
    pub remote_tag: String,
}

impl DialogId {
    /// The id of the dialog an incoming request belongs to, seen from our side: local tag = To tag,
    /// remote tag = From tag. An out-of-dialog request has no To tag: `local_tag` is then empty.
    pub fn of_incoming_request(request: &Request) -> Result<Self, DialogError> {
        let h = &request.headers;
        Ok(Self {
            call_id: h
                .call_id()
                .map_err(DialogError::malformed(HeaderName::CallId))?
                .to_owned(),
            local_tag: h
                .to()
                .map_err(DialogError::malformed(HeaderName::To))?
                .tag()
                .unwrap_or_default()
                .to_owned(),
            remote_tag: h
                .from()
                .map_err(DialogError::malformed(HeaderName::From))?
                .tag()
                .unwrap_or_default()
                .to_owned(),
        })
    }

    /// The id of the dialog a response to our request belongs to: local tag = From tag, remote tag = To
    /// tag (empty for a 100 without tag).
    pub fn of_incoming_response(response: &Response) -> Result<Self, DialogError> {
        let h = &response.headers;
        Ok(Self {
            call_id: h
                .call_id()
                .map_err(DialogError::malformed(HeaderName::CallId))?
                .to_owned(),
            local_tag: h
                .from()
                .map_err(DialogError::malformed(HeaderName::From))?
                .tag()
                .unwrap_or_default()
                .to_owned(),
            remote_tag: h
                .to()
                .map_err(DialogError::malformed(HeaderName::To))?
                .tag()
                .unwrap_or_default()
                .to_owned(),
        })
    }
}

impl fmt::Display for DialogId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{};local-tag={};remote-tag={}",
            self.call_id, self.local_tag, self.remote_tag
        )
    }
}

/// A From/To tag: 64 random bits as 16 hex digits (RFC 3261 19.3 asks for at least 32).
pub fn new_tag(rng: &mut impl RngCore) -> String {
    format!("{:016x}", rng.next_u64())
}

/// A Via branch: the RFC 3261 magic cookie and 64 random bits (unique in space and time, RFC 3261 8.1.1.7).
pub fn new_branch(rng: &mut impl RngCore) -> String {
    format!("{MAGIC_COOKIE}{:016x}", rng.next_u64())
}

/// A Call-ID: 128 random bits as 32 hex digits (no host part: it would only leak our address).
pub fn new_call_id(rng: &mut impl RngCore) -> String {
    format!("{:016x}{:016x}", rng.next_u64(), rng.next_u64())
}

/// A first local CSeq number: random in 1..2^30 (RFC 3261 8.1.1.5 wants it below 2^31), leaving room for
/// at least a billion increments without wrapping.
pub fn initial_cseq(rng: &mut impl RngCore) -> u32 {
    (rng.next_u32() >> 2).max(1)
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    #[test]
    fn generated_ids_are_well_formed_and_seed_deterministic() {
        let mut a = StdRng::seed_from_u64(7);
        let mut b = StdRng::seed_from_u64(7);
        let branch = new_branch(&mut a);
        assert!(branch.starts_with("z9hG4bK") && branch.len() == 7 + 16);
        assert_eq!(branch, new_branch(&mut b), "same seed, same branch");
        let tag = new_tag(&mut a);
        assert_eq!(tag.len(), 16);
        assert_ne!(tag, new_tag(&mut a));
        let call_id = new_call_id(&mut a);
        assert_eq!(call_id.len(), 32);
        assert!(call_id.bytes().all(|c| c.is_ascii_hexdigit()));
        for _ in 0..1000 {
            let c = initial_cseq(&mut a);
            assert!((1..1 << 30).contains(&c), "{c}");
        }
    }
}
