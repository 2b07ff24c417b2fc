//! Checks on audio that arrived: tone power by Goertzel, and speech similarity by cross-correlating
//! log-energy envelopes (robust to codecs, gain and a lag of up to a few seconds).

use std::path::Path;

/// Reads a WAV file as mono 16-bit samples at 8 kHz (downmixing and decimating as needed).
pub fn read_wav_8k(path: &Path) -> (Vec<i16>, u32) {
    let mut reader = hound::WavReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let spec = reader.spec();
    let channels = usize::from(spec.channels.max(1));
    let raw: Vec<i32> = match spec.sample_format {
        hound::SampleFormat::Int => {
            let shift = spec.bits_per_sample.saturating_sub(16);
            reader.samples::<i32>().map(|s| s.unwrap_or(0) >> shift).collect()
        }
        hound::SampleFormat::Float => reader
            .samples::<f32>()
            .map(|s| (s.unwrap_or(0.0) * 32767.0) as i32)
            .collect(),
    };
    let mono: Vec<i32> = raw
        .chunks(channels)
        .map(|c| c.iter().sum::<i32>() / channels as i32)
        .collect();
    let rate = spec.sample_rate;
    let factor = (rate / 8000).max(1) as usize;
    let out = mono
        .chunks(factor)
        .map(|c| (c.iter().sum::<i32>() / c.len() as i32).clamp(-32768, 32767) as i16)
        .collect();
    (out, rate / factor as u32)
}

/// The two channels of a 16-bit stereo WAV held in memory (a recording downloaded from the API), with its
/// sample rate. Panics when the bytes are not such a WAV.
pub fn stereo_wav(bytes: &[u8]) -> (Vec<i16>, Vec<i16>, u32) {
    let mut reader = hound::WavReader::new(std::io::Cursor::new(bytes)).expect("not a WAV file");
    let spec = reader.spec();
    assert_eq!((spec.channels, spec.bits_per_sample), (2, 16), "{spec:?}");
    let all: Vec<i16> = reader.samples::<i16>().map(|s| s.unwrap()).collect();
    let left = all.iter().step_by(2).copied().collect();
    let right = all.iter().skip(1).step_by(2).copied().collect();
    (left, right, spec.sample_rate)
}

/// Power of `freq` in `samples` (Goertzel), normalised by the frame's energy: near 0.5 for a pure tone
/// at that frequency, near 0 without it.
pub fn tone_ratio(samples: &[i16], freq: f64, rate: f64) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let w = 2.0 * std::f64::consts::PI * freq / rate;
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    let mut energy = 0.0;
    for &x in samples {
        let x = f64::from(x);
        energy += x * x;
        let s0 = x + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    if energy <= 0.0 {
        0.0
    } else {
        power / (energy * samples.len() as f64)
    }
}

/// Log-energy envelope in 20 ms frames.
pub fn envelope(samples: &[i16], rate: u32) -> Vec<f64> {
    let frame = (rate as usize / 50).max(1);
    samples
        .chunks(frame)
        .map(|c| {
            let e: f64 = c.iter().map(|&s| f64::from(s) * f64::from(s)).sum::<f64>() / c.len() as f64;
            (e + 1.0).ln()
        })
        .collect()
}

/// Similarity of two recordings' envelopes: the best normalised cross-correlation over lags of up to
/// `max_lag_s` seconds, on the overlap of at least half the shorter one. 1.0 is identical shape.
pub fn similarity(reference: &[i16], heard: &[i16], rate: u32, max_lag_s: f64) -> f64 {
    let a = envelope(reference, rate);
    let b = envelope(heard, rate);
    let max_lag = (max_lag_s * 50.0) as isize;
    let min_overlap = a.len().min(b.len()) / 2;
    let mut best = -1.0f64;
    for lag in -max_lag..=max_lag {
        let pairs: Vec<(f64, f64)> = (0..a.len() as isize)
            .filter_map(|i| {
                let j = i + lag;
                (j >= 0 && (j as usize) < b.len()).then(|| (a[i as usize], b[j as usize]))
            })
            .collect();
        if pairs.len() < min_overlap.max(10) {
            continue;
        }
        best = best.max(pearson(&pairs));
    }
    best
}

fn pearson(pairs: &[(f64, f64)]) -> f64 {
    let n = pairs.len() as f64;
    let (ma, mb) = pairs
        .iter()
        .fold((0.0, 0.0), |(x, y), (a, b)| (x + a / n, y + b / n));
    let (mut cov, mut va, mut vb) = (0.0, 0.0, 0.0);
    for (a, b) in pairs {
        cov += (a - ma) * (b - mb);
        va += (a - ma) * (a - ma);
        vb += (b - mb) * (b - mb);
    }
    if va <= 0.0 || vb <= 0.0 {
        0.0
    } else {
        cov / (va.sqrt() * vb.sqrt())
    }
}

/// How many of the µ-law `payloads` (RTP payloads as sent) are exactly a 20 ms frame of `reference`
/// encoded as µ-law, counting only frames with sound in them (silence would match any quiet stream).
/// The engine encodes prompts frame by frame from their start, so what it plays arrives byte for byte.
pub fn pcmu_frames_of(reference: &[i16], payloads: &[Vec<u8>]) -> usize {
    let frames: std::collections::HashSet<Vec<u8>> = voiced(reference)
        .map(|f| f.iter().map(|&s| codec::linear_to_ulaw(s)).collect())
        .collect();
    payloads.iter().filter(|p| frames.contains(p.as_slice())).count()
}

/// How many 20 ms frames of `reference` have sound in them (what [`pcmu_frames_of`] can find at most).
pub fn voiced_frames(reference: &[i16]) -> usize {
    voiced(reference).count()
}

fn voiced(reference: &[i16]) -> impl Iterator<Item = &[i16]> {
    reference.chunks_exact(160).filter(|f| {
        let energy: f64 = f.iter().map(|&s| f64::from(s) * f64::from(s)).sum::<f64>() / 160.0;
        energy.sqrt() > 300.0
    })
}

/// The samples of RTP payloads carrying PCMU, in order.
pub fn pcmu_decoded(payloads: &[Vec<u8>]) -> Vec<i16> {
    payloads
        .iter()
        .flatten()
        .map(|&b| codec::ulaw_to_linear(b))
        .collect()
}

/// The demo's music on hold (`ivr-flows/moh/*.wav` in name order, each padded to whole 20 ms frames, as
/// the engine plays them) as 8 kHz samples.
pub fn demo_music() -> Vec<i16> {
    let dir = crate::tools::workspace_root().join("ivr-flows/moh");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wav"))
        .collect();
    paths.sort();
    let mut all = Vec::new();
    for p in paths {
        all.extend(read_wav_8k(&p).0);
        all.resize(all.len().div_ceil(160) * 160, 0);
    }
    all
}

/// A demo prompt (`ivr-flows/prompts/<name>.wav`) as 8 kHz samples.
pub fn demo_prompt(name: &str) -> Vec<i16> {
    read_wav_8k(&crate::tools::workspace_root().join(format!("ivr-flows/prompts/{name}.wav"))).0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(freq: f64, n: usize) -> Vec<i16> {
        (0..n)
            .map(|i| ((2.0 * std::f64::consts::PI * freq * i as f64 / 8000.0).sin() * 8000.0) as i16)
            .collect()
    }

    #[test]
    fn goertzel_finds_the_tone_it_looks_for() {
        let t = tone(1000.0, 1600);
        assert!(tone_ratio(&t, 1000.0, 8000.0) > 0.4);
        assert!(tone_ratio(&t, 1400.0, 8000.0) < 0.01);
    }

    #[test]
    fn similarity_prefers_the_same_shape_at_any_lag() {
        // Bursts of tone with an irregular rhythm, and the same shifted by 300 ms and attenuated.
        let mut a = Vec::new();
        for (on, off) in [(3, 2), (7, 4), (2, 6), (5, 3), (9, 2), (4, 5)] {
            a.extend(tone(440.0, on * 160));
            a.extend(vec![0i16; off * 160]);
        }
        let mut b = vec![0i16; 2400];
        b.extend(a.iter().map(|s| s / 3));
        let mut c = Vec::new();
        for (on, off) in [(6, 6), (2, 2), (8, 3), (3, 7), (2, 2), (5, 2)] {
            c.extend(tone(440.0, on * 160));
            c.extend(vec![0i16; off * 160]);
        }
        assert!(similarity(&a, &b, 8000, 2.0) > 0.95);
        assert!(similarity(&a, &c, 8000, 2.0) < similarity(&a, &b, 8000, 2.0));
    }
}
