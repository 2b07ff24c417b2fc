//! The playout-policy interface and the simulator every policy runs in: `media/jitter`'s own
//! ([`jitter::PlayoutPolicy`], [`jitter::simulate`]), so the benchmark scores the engine's policy with the engine's
//! adaptation rules, and the reference policies with the same rules.
//!
//! * frame `i` (media time `m_i`) plays at `m_i + D_i`; its packet is **late** (concealed) when it arrives after that;
//! * `D_0` is the policy's target before any arrival; before each later frame the policy sees every packet that
//!   arrived by `m_i + D_{i−1}`, and the buffer moves toward its target by at most 5 ms (time-compression) or
//!   20 ms (stretching) per frame; growing by `x` ms conceals `x / frame_ms` frames;
//! * packets the network lost are neither late nor seen by the policy.

pub use jitter::{AdaptLimits, PlayoutPolicy, SimResult, simulate};
