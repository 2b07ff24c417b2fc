//! Hotline's domain model: identifiers, the `Pii` wrapper for personal data in logs, and the call record
//! vocabulary shared by the call sessions, the store and the API.
//!
//! This crate is pure: no IO, no clocks, no randomness. Identifiers that need randomness take it as input.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod ids;
mod pii;
mod record;

pub use ids::{CallId, InteractionId, LegId};
pub use pii::{Pii, set_pii_redaction};
pub use record::{EndReason, HangupBy, TrailItem};
