//! Packet-loss concealment for G.711 frames, in the spirit of G.711 Appendix I.
//!
//! While frames arrive, [`Plc::good_frame`] keeps the last 30 ms of audio. When a frame is
//! missing, [`Plc::conceal`] estimates the pitch period of that history (normalised
//! autocorrelation over 5–15 ms lags) and repeats the last period, or the last 20 ms when no
//! clear pitch is found. The repetition keeps full gain for the first 10 ms of a loss, then fades
//! linearly to silence at 60 ms. The first good frame after a loss is cross-faded with the
//! continued concealment over 2.5 ms so the seam does not click.

/// Audio history kept, in samples (30 ms at 8 kHz).
const HISTORY: usize = 240;
/// Pitch lags searched: 40–120 samples (200–66 Hz), as in G.711 Appendix I.
const MIN_PITCH: usize = 40;
const MAX_PITCH: usize = 120;
/// Correlation below which there is no usable pitch.
const MIN_CORRELATION: f32 = 0.5;
/// Full gain for this many concealed samples (10 ms), then a linear fade to zero at 60 ms.
const HOLD: usize = 80;
const FADE_END: usize = 480;
/// Cross-fade length when audio resumes (2.5 ms).
const RESUME_FADE: usize = 20;
/// Fallback period when no pitch is found (20 ms).
const FALLBACK_PERIOD: usize = 160;

/// Concealment state of one incoming stream.
#[derive(Debug, Clone, Default)]
pub struct Plc {
    history: Vec<i16>,
    /// Period being repeated and the position in it, while concealing.
    period: Option<usize>,
    position: usize,
    /// Samples concealed in the current loss.
    concealed: usize,
}

impl Plc {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a frame that arrived. After a loss, its start is cross-faded in place with the
    /// continued concealment.
    pub fn good_frame(&mut self, frame: &mut [i16]) {
        if self.period.is_some() && self.concealed < FADE_END {
            let mut tail = vec![0i16; RESUME_FADE.min(frame.len())];
            self.fill(&mut tail);
            let n = tail.len();
            for (i, (s, c)) in frame.iter_mut().zip(tail).enumerate() {
                let w = (i + 1) as f32 / (n + 1) as f32;
                *s = (f32::from(*s) * w + f32::from(c) * (1.0 - w)) as i16;
            }
        }
        self.period = None;
        self.position = 0;
        self.concealed = 0;
        self.history.extend_from_slice(frame);
        let excess = self.history.len().saturating_sub(HISTORY);
        self.history.drain(..excess);
    }

    /// Fills `out` with a concealment frame for a missing one.
    pub fn conceal(&mut self, out: &mut [i16]) {
        if self.period.is_none() {
            self.period = Some(self.estimate_period());
            self.position = 0;
        }
        self.fill(out);
    }

    /// Whether the stream is currently being concealed.
    pub fn is_concealing(&self) -> bool {
        self.period.is_some()
    }

    fn fill(&mut self, out: &mut [i16]) {
        let period = self.period.unwrap_or(FALLBACK_PERIOD).min(self.history.len());
        let start = self.history.len() - period;
        let cycle = self.history.get(start..).unwrap_or(&[]);
        for s in out.iter_mut() {
            let gain = if self.concealed < HOLD {
                1.0
            } else if self.concealed < FADE_END {
                1.0 - (self.concealed - HOLD) as f32 / (FADE_END - HOLD) as f32
            } else {
                0.0
            };
            let v = if cycle.is_empty() {
                0
            } else {
                cycle.get(self.position % cycle.len()).copied().unwrap_or(0)
            };
            *s = (f32::from(v) * gain) as i16;
            self.position += 1;
            self.concealed = self.concealed.saturating_add(1);
        }
    }

    fn estimate_period(&self) -> usize {
        let h = &self.history;
        if h.len() < MAX_PITCH * 2 {
            return FALLBACK_PERIOD.min(h.len());
        }
        // Compare the last MAX_PITCH samples with the window `lag` samples earlier.
        let end = h.len();
        let window = MAX_PITCH;
        let recent = h.get(end - window..).unwrap_or(&[]);
        let mut best = (FALLBACK_PERIOD, MIN_CORRELATION);
        for lag in MIN_PITCH..=MAX_PITCH {
            let Some(past) = h.get(end - window - lag..end - lag) else {
                continue;
            };
            let (mut xy, mut xx, mut yy) = (0f32, 0f32, 0f32);
            for (a, b) in recent.iter().zip(past) {
                let (a, b) = (f32::from(*a), f32::from(*b));
                xy += a * b;
                xx += a * a;
                yy += b * b;
            }
            let denom = (xx * yy).sqrt();
            if denom > 0.0 {
                let corr = xy / denom;
                if corr > best.1 {
                    best = (lag, corr);
                }
            }
        }
        best.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f32::consts::TAU;

    fn sine(freq: f32, amp: f32, from: usize, len: usize) -> Vec<i16> {
        (from..from + len)
            .map(|i| (amp * (TAU * freq * i as f32 / 8000.0).sin()) as i16)
            .collect()
    }

    fn rms(x: &[i16]) -> f32 {
        (x.iter().map(|&s| f32::from(s).powi(2)).sum::<f32>() / x.len().max(1) as f32).sqrt()
    }

    #[test]
    fn a_lost_frame_of_a_voiced_signal_continues_its_waveform() {
        // 200 Hz: a 40-sample period.
        let mut plc = Plc::new();
        for k in 0..3 {
            let mut f = sine(200.0, 8000.0, k * 160, 160);
            plc.good_frame(&mut f);
        }
        let mut out = [0i16; 80];
        plc.conceal(&mut out);
        let truth = sine(200.0, 8000.0, 480, 80);
        let err: Vec<i16> = out.iter().zip(&truth).map(|(a, b)| a - b).collect();
        assert!(
            rms(&err) < 0.05 * rms(&truth),
            "concealment tracks the true waveform"
        );
        assert!(plc.is_concealing());
    }

    #[test]
    fn concealment_fades_to_silence_after_60_ms() {
        let mut plc = Plc::new();
        let mut f = sine(150.0, 8000.0, 0, 240);
        plc.good_frame(&mut f);
        let mut frames = Vec::new();
        for _ in 0..4 {
            let mut out = [0i16; 160];
            plc.conceal(&mut out);
            frames.push(out);
        }
        assert!(rms(&frames[0][..80]) > 4000.0, "first 10 ms at full level");
        assert!(rms(&frames[1]) < rms(&frames[0]), "then fading");
        assert_eq!(rms(&frames[3]), 0.0, "silent from 60 ms on");
    }

    #[test]
    fn without_history_concealment_is_silence_and_resuming_clears_it() {
        let mut plc = Plc::new();
        let mut out = [5i16; 160];
        plc.conceal(&mut out);
        assert!(out.iter().all(|&s| s == 0));
        let mut good = sine(300.0, 1000.0, 0, 160);
        let original = good.clone();
        plc.good_frame(&mut good);
        assert!(!plc.is_concealing());
        assert_eq!(
            good[RESUME_FADE..],
            original[RESUME_FADE..],
            "only the start is cross-faded"
        );
    }

    #[test]
    fn noise_without_pitch_repeats_the_last_20_ms() {
        let mut plc = Plc::new();
        let mut seed = 12345u32;
        let mut noise: Vec<i16> = (0..240)
            .map(|_| {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                ((seed >> 16) as i16) / 4
            })
            .collect();
        plc.good_frame(&mut noise);
        let mut out = [0i16; 80];
        plc.conceal(&mut out);
        assert_eq!(out[..], noise[80..160], "the last 160 samples, from their start");
    }
}
