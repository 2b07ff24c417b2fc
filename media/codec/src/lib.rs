//! G.711 codecs, a Goertzel DTMF detector and packet-loss concealment. Pure: no IO, no clock.
//!
//! - [`g711`]: µ-law and A-law, tables built at compile time; [`encode`]/[`decode`] by
//!   [`media::Codec`].
//! - [`DtmfDetector`]: in-band DTMF on 20 ms frames of 8 kHz audio, one report per key press.
//! - [`Plc`]: concealment of lost G.711 frames (pitch repetition with fade).
//!
//! ```
//! use hotline_codec::{DtmfDetector, FRAME_SAMPLES, decode, encode, dtmf::synthesize};
//! use media::{Codec, Digit};
//!
//! let tone = synthesize(Digit::Pound, -10.0, 0.0, 0, FRAME_SAMPLES * 4);
//! let mut wire = Vec::new();
//! encode(Codec::Pcmu, &tone, &mut wire);
//! let mut pcm = Vec::new();
//! decode(Codec::Pcmu, &wire, &mut pcm);
//! let mut detector = DtmfDetector::new();
//! let digits: Vec<Digit> = pcm.chunks(FRAME_SAMPLES).filter_map(|f| detector.push_frame(f)).collect();
//! assert_eq!(digits, vec![Digit::Pound]);
//! ```
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod dtmf;
pub mod g711;
mod plc;

pub use dtmf::{DtmfConfig, DtmfDetector, FRAME_SAMPLES, SAMPLE_RATE};
pub use g711::{
    alaw_to_linear, decode, encode, linear_to_alaw, linear_to_ulaw, silence_byte, ulaw_to_linear,
};
pub use plc::Plc;
