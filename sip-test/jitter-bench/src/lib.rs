//! Jitter-buffer benchmark: how close a playout policy gets to the physical limit.
//!
//! * [`traces`]: seeded network models (`lan`, `pareto`, `wifi`, `spiky`, `step`, `reorder`) with random and bursty
//!   network loss on top, as whole traces or one packet at a time (for a live impairment relay).
//! * [`oracle`]: the clairvoyant slew-limited oracle, solved exactly by dynamic programming on a 2 ms grid, and its
//!   delay–concealment frontier.
//! * [`reference`]: NetEQ-like, Asterisk-like, Speex-like and fixed-delay policies.
//! * [`report`]: runs traces × seeds × policies through `jitter::simulate`, scores each policy by its excess delay
//!   over the oracle at the same concealment, and prints the verdict of the target.
//!
//! Everything is deterministic: no sockets, no clocks, seeded RNGs.
//!
//! ```no_run
//! use jitter_bench::report::{BenchConfig, default_policies, run};
//!
//! let report = run(&BenchConfig::default(), &default_policies())?;
//! println!("{}", report.markdown());
//! # Ok::<(), jitter_bench::BenchError>(())
//! ```
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod error;
pub mod metrics;
pub mod oracle;
pub mod policy;
pub mod reference;
pub mod report;
pub mod traces;

pub use error::BenchError;
