//! Frame sources and sinks: WAV prompts and the prompt player.
//!
//! Everything here is passive and pure: nothing reads a clock or a socket. The media
//! runtime's ptime tick pulls 20 ms frames of 8 kHz mono `i16` audio.
//!
//! - [`PromptLibrary`] loads a directory of WAV files once, converting each to 8 kHz mono
//!   16-bit (any rate, 8/16/24/32-bit integer or 32-bit float, any channel count), within
//!   [`LoadLimits`]. A bad file is reported and skipped, never fatal.
//! - [`PromptPlayer`] plays a list of prompts back to back, one frame per call.
//!
//! ```no_run
//! use std::path::Path;
//! use hotline_audio::{PromptLibrary, PromptPlayer, FRAME_SAMPLES};
//!
//! let (library, problems) = PromptLibrary::load_dir(Path::new("ivr-flows/prompts"))?;
//! for p in &problems {
//!     eprintln!("prompt skipped: {p}");
//! }
//! let prompts = ["welcome", "main-menu"].iter().filter_map(|n| library.get(n)).collect();
//! let mut player = PromptPlayer::new(prompts);
//! let mut frame = [0i16; FRAME_SAMPLES];
//! while player.next_frame(&mut frame) {
//!     // encode `frame` and send it, once per 20 ms tick
//! }
//! # Ok::<(), hotline_audio::AudioError>(())
//! ```
//!
//! Resampling uses our own windowed-sinc resampler (see `resample.rs` for the kernel and
//! why not `rubato`): prompts are converted once at load, never on the live path.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod error;
mod player;
mod prompts;
mod resample;

pub use error::AudioError;
pub use player::PromptPlayer;
pub use prompts::{LoadLimits, PromptLibrary, decode_file};

/// Sample rate of every prompt and frame, in Hz.
pub const SAMPLE_RATE: u32 = 8000;
/// Samples in one 20 ms frame at [`SAMPLE_RATE`].
pub const FRAME_SAMPLES: usize = 160;
