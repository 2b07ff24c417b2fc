//! In-band DTMF detection (ITU-T Q.23/Q.24 tones) with the Goertzel algorithm.
//!
//! Each 20 ms frame (160 samples at 8 kHz) is measured at the eight DTMF frequencies and at
//! the second harmonics of each. A frame *hits* a key when:
//!
//! 1. both the strongest row tone and the strongest column tone reach `min_tone_dbm0`;
//! 2. the twist is within limits: the row (low-group) tone may exceed the column tone by up to
//!    `normal_twist_db` (8 dB), the column tone may exceed the row tone by up to
//!    `reverse_twist_db` (4 dB) — the same convention as spandsp and Asterisk;
//! 3. each tone beats every other tone of its group by `relative_peak_db`;
//! 4. each tone beats its own second harmonic, by `row_harmonic_db` (4 dB) and
//!    `col_harmonic_db` (12 dB): voices are rich in harmonics, DTMF generators are not. The row
//!    margin is small because the row harmonics (1394–1882 Hz) sit within 60 Hz of the column
//!    tones, whose leakage into them would otherwise reject keys 1.5 % off frequency;
//! 5. the two tones carry at least `tone_to_total` of the frame's energy (speech and noise
//!    spread theirs).
//!
//! A key is reported once it hits `min_hits` consecutive frames (40 ms), and only once per
//! press: the next report needs `gap_frames` frames (40 ms) without a hit first, so a key held
//! for seconds, or a single frame lost in the middle of a tone, gives one digit.
//!
//! The Goertzel filters are evaluated at the exact tone frequencies (not rounded to a DFT
//! bin), so the 160-sample frame loses less than 1 dB on the row tones for a ±1.5 % frequency
//! error; the highest column tone (1633 Hz) loses about 3.7 dB at +1.5 %.
//!
//! Deliberate difference from Q.24: a 20 ms frame resolves 50 Hz, so tones off by 3.5 % are
//! still accepted (Q.24 wants them rejected). Keys are never that far off in practice, and
//! a longer frame would slow detection and blur the inter-digit gap.

use media::Digit;

/// The sample rate the detector works at.
pub const SAMPLE_RATE: u32 = 8000;
/// One 20 ms frame at 8 kHz.
pub const FRAME_SAMPLES: usize = 160;

const ROWS: [f32; 4] = [697.0, 770.0, 852.0, 941.0];
const COLS: [f32; 4] = [1209.0, 1336.0, 1477.0, 1633.0];
const KEYS: [[Digit; 4]; 4] = [
    [Digit::D1, Digit::D2, Digit::D3, Digit::A],
    [Digit::D4, Digit::D5, Digit::D6, Digit::B],
    [Digit::D7, Digit::D8, Digit::D9, Digit::C],
    [Digit::Star, Digit::D0, Digit::Pound, Digit::D],
];

/// Amplitude of a 0 dBm0 sine in 16-bit linear PCM (G.711's maximum, 32 636, is +3.17 dBm0).
pub const DBM0_AMPLITUDE: f32 = 22_670.0;

/// The row and column frequencies of a key, in Hz.
pub fn tone_frequencies(digit: Digit) -> (f32, f32) {
    for (r, row) in KEYS.iter().enumerate() {
        for (c, key) in row.iter().enumerate() {
            if *key == digit {
                return (
                    ROWS.get(r).copied().unwrap_or(0.0),
                    COLS.get(c).copied().unwrap_or(0.0),
                );
            }
        }
    }
    (0.0, 0.0)
}

/// Thresholds of the detector. The defaults follow Q.24 and the common open-source detectors.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DtmfConfig {
    /// Weakest tone accepted, per frequency, in dBm0.
    pub min_tone_dbm0: f32,
    /// How much louder the row (low) tone may be than the column (high) tone, in dB.
    pub normal_twist_db: f32,
    /// How much louder the column (high) tone may be than the row (low) tone, in dB.
    pub reverse_twist_db: f32,
    /// How much each tone must beat the other tones of its group, in dB.
    pub relative_peak_db: f32,
    /// How much the row tone must beat its own second harmonic, in dB.
    pub row_harmonic_db: f32,
    /// How much the column tone must beat its own second harmonic, in dB.
    pub col_harmonic_db: f32,
    /// Share of the frame's energy the two tones must carry (0–1).
    pub tone_to_total: f32,
    /// Consecutive hit frames before a key is reported.
    pub min_hits: u8,
    /// Frames without a hit before another key may be reported.
    pub gap_frames: u8,
}

impl Default for DtmfConfig {
    fn default() -> Self {
        Self {
            min_tone_dbm0: -36.0,
            normal_twist_db: 8.0,
            reverse_twist_db: 4.0,
            relative_peak_db: 8.0,
            row_harmonic_db: 4.0,
            col_harmonic_db: 12.0,
            tone_to_total: 0.5,
            min_hits: 2,
            gap_frames: 2,
        }
    }
}

fn db_to_power_ratio(db: f32) -> f32 {
    10f32.powf(db / 10.0)
}

/// Goertzel DTMF detector over 20 ms frames of 8 kHz audio.
#[derive(Debug, Clone)]
pub struct DtmfDetector {
    /// 2·cos(ω) for the 4 rows, 4 columns, then their 8 second harmonics.
    coeffs: [f32; 16],
    min_power: f32,
    normal_twist: f32,
    reverse_twist: f32,
    relative_peak: f32,
    row_harmonic: f32,
    col_harmonic: f32,
    tone_to_total: f32,
    min_hits: u8,
    gap_frames: u8,
    candidate: Option<Digit>,
    hits: u8,
    misses: u8,
    armed: bool,
}

impl Default for DtmfDetector {
    fn default() -> Self {
        Self::new()
    }
}

impl DtmfDetector {
    pub fn new() -> Self {
        Self::with_config(DtmfConfig::default())
    }

    pub fn with_config(config: DtmfConfig) -> Self {
        let mut coeffs = [0f32; 16];
        let freqs = ROWS.iter().chain(COLS.iter()).copied();
        let harmonics = ROWS.iter().chain(COLS.iter()).map(|f| 2.0 * f);
        for (c, f) in coeffs.iter_mut().zip(freqs.chain(harmonics)) {
            *c = 2.0 * (std::f32::consts::TAU * f / SAMPLE_RATE as f32).cos();
        }
        let min_amp = DBM0_AMPLITUDE / 32768.0 * 10f32.powf(config.min_tone_dbm0 / 20.0);
        Self {
            coeffs,
            min_power: min_amp * min_amp / 2.0,
            normal_twist: db_to_power_ratio(config.normal_twist_db),
            reverse_twist: db_to_power_ratio(config.reverse_twist_db),
            relative_peak: db_to_power_ratio(config.relative_peak_db),
            row_harmonic: db_to_power_ratio(config.row_harmonic_db),
            col_harmonic: db_to_power_ratio(config.col_harmonic_db),
            tone_to_total: config.tone_to_total,
            min_hits: config.min_hits.max(1),
            gap_frames: config.gap_frames.max(1),
            candidate: None,
            hits: 0,
            misses: 0,
            armed: true,
        }
    }

    /// Feeds one frame (normally 160 samples, 20 ms) and returns a digit at most once per key
    /// press. An empty frame changes nothing.
    pub fn push_frame(&mut self, samples: &[i16]) -> Option<Digit> {
        if samples.is_empty() {
            return None;
        }
        match self.analyze(samples) {
            Some(digit) => {
                self.misses = 0;
                if self.candidate == Some(digit) {
                    self.hits = self.hits.saturating_add(1);
                } else {
                    self.candidate = Some(digit);
                    self.hits = 1;
                }
                if self.armed && self.hits >= self.min_hits {
                    self.armed = false;
                    return Some(digit);
                }
            }
            None => {
                self.hits = 0;
                self.candidate = None;
                self.misses = self.misses.saturating_add(1);
                if self.misses >= self.gap_frames {
                    self.armed = true;
                }
            }
        }
        None
    }

    /// Forgets any tone in progress (for instance after a gap in the stream).
    pub fn reset(&mut self) {
        self.candidate = None;
        self.hits = 0;
        self.misses = 0;
        self.armed = true;
    }

    /// The key one frame shows, if any, with no duration logic.
    fn analyze(&self, samples: &[i16]) -> Option<Digit> {
        let n = samples.len() as f32;
        let mut s1 = [0f32; 16];
        let mut s2 = [0f32; 16];
        let mut total = 0f32;
        for &x in samples {
            let x = f32::from(x) / 32768.0;
            total += x * x;
            for ((a, b), c) in s1.iter_mut().zip(s2.iter_mut()).zip(self.coeffs.iter()) {
                let s = x + c * *a - *b;
                *b = *a;
                *a = s;
            }
        }
        let total = total / n;
        let mut power = [0f32; 16];
        for (((p, a), b), c) in power.iter_mut().zip(s1).zip(s2).zip(self.coeffs) {
            // |X(ω)|² scaled so that a sine of amplitude A reads A²/2, its mean power.
            *p = (a * a + b * b - c * a * b).max(0.0) * 2.0 / (n * n);
        }
        let (rows, rest) = power.split_at(4);
        let (cols, harmonics) = rest.split_at(4);
        let (best_row, row_power) = strongest(rows)?;
        let (best_col, col_power) = strongest(cols)?;

        if row_power < self.min_power || col_power < self.min_power {
            return None;
        }
        if row_power > col_power * self.normal_twist || col_power > row_power * self.reverse_twist {
            return None;
        }
        let dominates = |group: &[f32], best: usize, peak: f32| {
            group
                .iter()
                .enumerate()
                .all(|(i, p)| i == best || p * self.relative_peak < peak)
        };
        if !dominates(rows, best_row, row_power) || !dominates(cols, best_col, col_power) {
            return None;
        }
        let row_harmonic = harmonics.get(best_row).copied().unwrap_or(0.0);
        let col_harmonic = harmonics.get(4 + best_col).copied().unwrap_or(0.0);
        if row_harmonic * self.row_harmonic > row_power || col_harmonic * self.col_harmonic > col_power {
            return None;
        }
        if row_power + col_power < total * self.tone_to_total {
            return None;
        }
        KEYS.get(best_row).and_then(|r| r.get(best_col)).copied()
    }
}

fn strongest(group: &[f32]) -> Option<(usize, f32)> {
    group
        .iter()
        .copied()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(&b.1))
}

/// Synthesises a DTMF key (for tests and tone generation): `samples` samples of the two tones,
/// each at `dbm0` (row) and `dbm0 + twist_db` (column), starting at phase sample `offset`.
pub fn synthesize(digit: Digit, dbm0: f32, twist_db: f32, offset: usize, samples: usize) -> Vec<i16> {
    let (row, col) = tone_frequencies(digit);
    let row_amp = DBM0_AMPLITUDE * 10f32.powf(dbm0 / 20.0);
    let col_amp = DBM0_AMPLITUDE * 10f32.powf((dbm0 + twist_db) / 20.0);
    (offset..offset + samples)
        .map(|i| {
            let t = i as f32 / SAMPLE_RATE as f32;
            let v = row_amp * (std::f32::consts::TAU * row * t).sin()
                + col_amp * (std::f32::consts::TAU * col * t).sin();
            v.clamp(-32768.0, 32767.0) as i16
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f32::consts::TAU;

    /// Feeds a sample stream in 20 ms frames and collects what the detector reports.
    fn detect(detector: &mut DtmfDetector, stream: &[i16]) -> Vec<Digit> {
        stream
            .chunks(FRAME_SAMPLES)
            .filter_map(|f| detector.push_frame(f))
            .collect()
    }

    fn silence(samples: usize) -> Vec<i16> {
        vec![0; samples]
    }

    fn ms(n: usize) -> usize {
        n * 8
    }

    /// A small deterministic PRNG (xorshift) for noise.
    struct Noise(u32);
    impl Noise {
        fn next(&mut self) -> f32 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 17;
            self.0 ^= self.0 << 5;
            (self.0 as f32 / u32::MAX as f32) * 2.0 - 1.0
        }
    }

    fn white_noise(seed: u32, dbm0_rms: f32, samples: usize) -> Vec<i16> {
        // A uniform variable on [-1, 1] has RMS 1/√3.
        let rms = DBM0_AMPLITUDE / 2f32.sqrt() * 10f32.powf(dbm0_rms / 20.0);
        let scale = rms * 3f32.sqrt();
        let mut n = Noise(seed);
        (0..samples).map(|_| (n.next() * scale) as i16).collect()
    }

    fn mix(a: &[i16], b: &[i16]) -> Vec<i16> {
        a.iter().zip(b).map(|(x, y)| x.saturating_add(*y)).collect()
    }

    #[test]
    fn all_sixteen_digits_are_detected_once_at_several_levels() {
        for level in [-6.0, -12.0, -20.0, -30.0] {
            for (i, digit) in Digit::ALL.into_iter().enumerate() {
                let mut d = DtmfDetector::new();
                // Start at varied offsets so tones do not line up with frame boundaries.
                let lead = ms(30) + i * 13;
                let mut stream = silence(lead);
                stream.extend(synthesize(digit, level, 2.0, 0, ms(70)));
                stream.extend(silence(ms(100)));
                assert_eq!(detect(&mut d, &stream), vec![digit], "{digit} at {level} dBm0");
            }
        }
    }

    #[test]
    fn tones_off_frequency_by_1_5_percent_are_accepted() {
        for digit in Digit::ALL {
            for factor in [0.985f32, 1.015] {
                let (row, col) = tone_frequencies(digit);
                let amp = DBM0_AMPLITUDE * 10f32.powf(-10.0 / 20.0);
                let mut stream: Vec<i16> = (0..ms(80))
                    .map(|i| {
                        let t = i as f32 / 8000.0;
                        (amp * ((TAU * row * factor * t).sin() + (TAU * col * factor * t).sin())) as i16
                    })
                    .collect();
                stream.extend(silence(ms(60)));
                let mut d = DtmfDetector::new();
                assert_eq!(detect(&mut d, &stream), vec![digit], "{digit} at {factor}");
            }
        }
    }

    #[test]
    fn twist_within_limits_is_accepted_and_beyond_is_rejected() {
        for digit in [Digit::D1, Digit::D5, Digit::Pound, Digit::D] {
            let run = |twist: f32| {
                let mut d = DtmfDetector::new();
                let mut stream = synthesize(digit, -10.0, twist, 0, ms(100));
                stream.extend(silence(ms(60)));
                detect(&mut d, &stream)
            };
            // twist_db is column minus row.
            assert_eq!(run(-6.0), vec![digit], "row 6 dB louder (normal twist)");
            assert_eq!(run(3.0), vec![digit], "column 3 dB louder (reverse twist)");
            assert!(run(-11.0).is_empty(), "row 11 dB louder");
            assert!(run(6.0).is_empty(), "column 6 dB louder");
        }
    }

    #[test]
    fn a_long_press_is_one_digit_and_two_presses_are_two() {
        let mut d = DtmfDetector::new();
        let mut stream = synthesize(Digit::D7, -8.0, 0.0, 0, ms(1000));
        stream.extend(silence(ms(60)));
        stream.extend(synthesize(Digit::D7, -8.0, 0.0, 0, ms(60)));
        stream.extend(silence(ms(60)));
        assert_eq!(detect(&mut d, &stream), vec![Digit::D7, Digit::D7]);
    }

    #[test]
    fn a_single_lost_frame_inside_a_tone_does_not_double_the_digit() {
        let mut d = DtmfDetector::new();
        let mut stream = synthesize(Digit::D3, -8.0, 0.0, 0, ms(80));
        stream.extend(silence(ms(20)));
        stream.extend(synthesize(Digit::D3, -8.0, 0.0, ms(100), ms(80)));
        stream.extend(silence(ms(60)));
        assert_eq!(detect(&mut d, &stream), vec![Digit::D3]);
    }

    #[test]
    fn tones_shorter_than_the_minimum_or_too_weak_are_ignored() {
        let mut d = DtmfDetector::new();
        let mut stream = synthesize(Digit::D2, -8.0, 0.0, 0, ms(20));
        stream.extend(silence(ms(100)));
        stream.extend(synthesize(Digit::D9, -45.0, 0.0, 0, ms(200)));
        stream.extend(silence(ms(100)));
        assert!(detect(&mut d, &stream).is_empty());
    }

    #[test]
    fn a_digit_is_found_through_moderate_noise() {
        let mut d = DtmfDetector::new();
        let tone = synthesize(Digit::D6, -10.0, 0.0, 0, ms(100));
        // Two tones at -10 dBm0 each against noise at -30 dBm0 RMS.
        let noisy = mix(&tone, &white_noise(7, -30.0, tone.len()));
        let mut stream = white_noise(9, -30.0, ms(50));
        stream.extend(noisy);
        stream.extend(white_noise(11, -30.0, ms(100)));
        assert_eq!(detect(&mut d, &stream), vec![Digit::D6]);
    }

    #[test]
    fn noise_alone_is_not_a_digit() {
        for (seed, level) in [(1, -5.0), (2, -20.0), (3, -35.0)] {
            let mut d = DtmfDetector::new();
            assert!(
                detect(&mut d, &white_noise(seed, level, ms(5000))).is_empty(),
                "{level} dBm0"
            );
        }
    }

    #[test]
    fn a_1khz_test_tone_is_not_a_digit() {
        let mut d = DtmfDetector::new();
        let amp = DBM0_AMPLITUDE * 10f32.powf(-3.0 / 20.0);
        let tone: Vec<i16> = (0..ms(3000))
            .map(|i| (amp * (TAU * 1000.0 * i as f32 / 8000.0).sin()) as i16)
            .collect();
        assert!(detect(&mut d, &tone).is_empty());
        // Nor is a single DTMF frequency alone.
        let row: Vec<i16> = (0..ms(1000))
            .map(|i| (amp * (TAU * 697.0 * i as f32 / 8000.0).sin()) as i16)
            .collect();
        assert!(detect(&mut d, &row).is_empty());
    }

    /// A voiced, speech-like signal: a glottal pulse train (harmonics with a -12 dB/octave
    /// tilt) through three vowel formants, with a gliding pitch and changing vowels.
    fn speech_like(samples: usize) -> Vec<i16> {
        // (F1, F2, F3) of /a/, /i/, /u/, /e/, /o/.
        let vowels = [
            (730.0, 1090.0, 2440.0),
            (270.0, 2290.0, 3010.0),
            (300.0, 870.0, 2240.0),
            (530.0, 1840.0, 2480.0),
            (570.0, 840.0, 2410.0),
        ];
        let bandwidth = 90.0f32;
        let mut out = Vec::with_capacity(samples);
        let mut phase = 0f32;
        for i in 0..samples {
            let t = i as f32 / 8000.0;
            // Pitch glides between 100 and 220 Hz over 1.3 s.
            let f0 = 160.0 + 60.0 * (TAU * t / 1.3).sin();
            phase += TAU * f0 / 8000.0;
            // Vowels of 180 ms each.
            let (f1, f2, f3) = vowels[(i / 1440) % vowels.len()];
            let mut v = 0f32;
            let mut h = 1.0f32;
            while h * f0 < 3800.0 {
                let f = h * f0;
                let formant = |fc: f32| 1.0 / (1.0 + ((f - fc) / bandwidth).powi(2));
                let gain = (formant(f1) + 0.7 * formant(f2) + 0.4 * formant(f3) + 0.02) / h;
                v += gain * (phase * h).sin();
                h += 1.0;
            }
            out.push(v);
        }
        let peak = out.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-6);
        out.iter().map(|v| (v / peak * 16000.0) as i16).collect()
    }

    #[test]
    fn speech_like_audio_is_not_a_digit() {
        let speech = speech_like(ms(10_000));
        let mut d = DtmfDetector::new();
        assert!(detect(&mut d, &speech).is_empty());
        // Not even a single frame looks like a key.
        let single = DtmfDetector::with_config(DtmfConfig {
            min_hits: 1,
            ..DtmfConfig::default()
        });
        assert_eq!(
            speech
                .chunks(FRAME_SAMPLES)
                .filter(|f| single.analyze(f).is_some())
                .count(),
            0
        );
    }

    #[test]
    fn reset_forgets_a_tone_in_progress() {
        let mut d = DtmfDetector::new();
        let tone = synthesize(Digit::D8, -8.0, 0.0, 0, ms(20));
        assert_eq!(d.push_frame(&tone), None);
        d.reset();
        assert_eq!(d.push_frame(&tone), None, "the first hit was forgotten");
        assert_eq!(d.push_frame(&tone), Some(Digit::D8));
        assert_eq!(d.push_frame(&[]), None);
        assert_eq!(tone_frequencies(Digit::D0), (941.0, 1336.0));
    }
}
