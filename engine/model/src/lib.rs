//! Hotline's domain model: identifiers, the `Pii` wrapper for personal data in logs, the call record
//! vocabulary shared by the call sessions, the store and the API, and where a caller's number is from
//! ([`RegionTable`]).
//!
//! This crate is pure: no IO, no clocks, no randomness. Identifiers that need randomness take it as input.
//! The one exception is [`RegionTable::load_file`], a thin reader in front of [`RegionTable::parse_csv`].
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod ids;
mod pii;
mod record;
mod region;

pub use ids::{CallId, InteractionId, LegId};
pub use pii::{Pii, set_pii_redaction};
pub use record::{EndReason, HangupBy, TrailItem};
pub use region::{LineProblem, RegionError, RegionInfo, RegionTable};
