//! Errors of the benchmark.

use std::path::PathBuf;

/// What went wrong while running the benchmark or writing its outputs.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BenchError {
    /// The caller named a trace family that does not exist.
    #[error("unknown trace family {name:?} (expected one of lan, pareto, wifi, spiky, step, reorder)")]
    UnknownFamily {
        /// The name given.
        name: String,
    },
    /// The caller named a loss model that does not exist.
    #[error("unknown loss model {name:?} (expected none, default or heavy)")]
    UnknownLoss {
        /// The name given.
        name: String,
    },
    /// A run was asked for with nothing to run (no seeds, no packets or no families).
    #[error("empty benchmark: {what} must not be empty")]
    Empty {
        /// Which input was empty.
        what: &'static str,
    },
    /// A worker thread panicked: a bug in a policy or in the oracle (the run is incomplete).
    #[error("a benchmark worker panicked; the run is incomplete")]
    WorkerPanicked,
    /// Writing an output file failed.
    #[error("cannot write {path}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}
