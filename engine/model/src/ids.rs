use std::fmt;

use serde::{Deserialize, Serialize};

/// Our identifier of a call (one caller interaction on the phone). A ULID: sortable by creation time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CallId(pub ulid::Ulid);

impl CallId {
    /// Builds an id from a millisecond timestamp and 80 random bits, both supplied by the caller.
    pub fn from_parts(unix_ms: u64, random: u128) -> Self {
        Self(ulid::Ulid::from_parts(unix_ms, random))
    }
}

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::str::FromStr for CallId {
    type Err = ulid::DecodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ulid::Ulid::from_string(s).map(Self)
    }
}

/// One leg (one SIP dialog and its media) of a call, unique within a process run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LegId(pub u64);

impl fmt::Display for LegId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "leg-{}", self.0)
    }
}

/// An interaction: a call or a chat, from first contact to completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct InteractionId(pub ulid::Ulid);

impl InteractionId {
    /// An id from a wall-clock time (ms since the Unix epoch) and randomness: ids sort by time.
    pub fn from_parts(unix_ms: u64, random: u128) -> Self {
        Self(ulid::Ulid::from_parts(unix_ms, random))
    }
}

impl fmt::Display for InteractionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_id_round_trips_through_text() {
        let id = CallId::from_parts(1_700_000_000_000, 42);
        let text = id.to_string();
        assert_eq!(text.len(), 26);
        assert_eq!(text.parse::<CallId>().unwrap(), id);
    }

    #[test]
    fn call_ids_sort_by_time() {
        let a = CallId::from_parts(1_000, u128::MAX >> 48);
        let b = CallId::from_parts(2_000, 0);
        assert!(a < b);
    }
}
