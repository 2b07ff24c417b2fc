//! The prompt library: named 8 kHz mono prompts loaded from a directory of WAV files.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::sync::Arc;

use hound::{SampleFormat, WavReader};

use crate::SAMPLE_RATE;
use crate::error::AudioError;
use crate::resample::resample;

/// Bounds on what [`PromptLibrary::load_dir_with_limits`] accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoadLimits {
    /// Largest WAV file, in bytes (size on disk, header included). Default 50 MiB.
    pub max_file_bytes: u64,
    /// Longest audio, in seconds at the file's own rate. Default 600 (10 minutes).
    pub max_duration_secs: u32,
    /// Most WAV files taken from one directory. Default 4096.
    pub max_files: usize,
}

impl Default for LoadLimits {
    fn default() -> Self {
        Self {
            max_file_bytes: 50 * 1024 * 1024,
            max_duration_secs: 600,
            max_files: 4096,
        }
    }
}

/// Lowest and highest file sample rates accepted (the resampler's kernel grows with the
/// input rate, so the top is bounded).
const MIN_RATE: u32 = 1000;
const MAX_RATE: u32 = 384_000;

/// Named prompts, each 8 kHz mono signed 16-bit PCM, shared cheaply as `Arc<[i16]>`.
///
/// Names are file stems (`welcome.wav` → `welcome`). The library is immutable once built;
/// reloading prompts means building a new one and swapping it in.
#[derive(Clone, Default)]
pub struct PromptLibrary {
    prompts: BTreeMap<String, Arc<[i16]>>,
}

impl PromptLibrary {
    /// Loads every `*.wav` file (extension matched case-insensitively; subdirectories
    /// are not searched) in `dir`, with the default [`LoadLimits`].
    ///
    /// Every file is converted to 8 kHz mono i16: any rate from 1 kHz to 384 kHz is
    /// resampled (windowed-sinc), channels are averaged, and 8/16/24/32-bit integer and
    /// 32-bit float samples are accepted. A file that cannot be used is skipped and
    /// reported in the returned `Vec`; only an unreadable directory is an `Err`.
    /// Files are visited in name order, so the result is deterministic.
    pub fn load_dir(dir: &Path) -> Result<(Self, Vec<AudioError>), AudioError> {
        Self::load_dir_with_limits(dir, &LoadLimits::default())
    }

    /// [`PromptLibrary::load_dir`] with explicit limits.
    pub fn load_dir_with_limits(
        dir: &Path,
        limits: &LoadLimits,
    ) -> Result<(Self, Vec<AudioError>), AudioError> {
        let read_dir_err = |source| AudioError::ReadDir {
            dir: dir.to_path_buf(),
            source,
        };
        let mut paths = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(read_dir_err)? {
            let path = entry.map_err(read_dir_err)?.path();
            let is_wav = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("wav"));
            if is_wav && path.is_file() {
                paths.push(path);
            }
        }
        paths.sort();

        let mut library = Self::default();
        let mut errors = Vec::new();
        for (index, path) in paths.into_iter().enumerate() {
            if index >= limits.max_files {
                errors.push(AudioError::TooManyFiles {
                    path,
                    limit: limits.max_files,
                });
                continue;
            }
            let Some(name) = path.file_stem().and_then(|s| s.to_str()).map(str::to_owned) else {
                errors.push(AudioError::InvalidName { path });
                continue;
            };
            if library.prompts.contains_key(&name) {
                errors.push(AudioError::DuplicateName { path, name });
                continue;
            }
            match decode_file(&path, limits) {
                Ok(samples) => {
                    library.prompts.insert(name, samples.into());
                }
                Err(e) => errors.push(e),
            }
        }
        Ok((library, errors))
    }

    /// A library from samples already at 8 kHz mono. A repeated name keeps the last one.
    pub fn from_samples(prompts: Vec<(String, Vec<i16>)>) -> Self {
        Self {
            prompts: prompts
                .into_iter()
                .map(|(name, samples)| (name, samples.into()))
                .collect(),
        }
    }

    /// The samples of prompt `name` (8 kHz mono), shared.
    pub fn get(&self, name: &str) -> Option<Arc<[i16]>> {
        self.prompts.get(name).cloned()
    }

    /// Whether prompt `name` exists (flows are checked against this at load).
    pub fn contains(&self, name: &str) -> bool {
        self.prompts.contains_key(name)
    }

    /// Prompt names, in sorted order.
    pub fn names(&self) -> impl Iterator<Item = &str> + '_ {
        self.prompts.keys().map(String::as_str)
    }

    /// Number of prompts.
    pub fn len(&self) -> usize {
        self.prompts.len()
    }

    /// Whether the library holds no prompt.
    pub fn is_empty(&self) -> bool {
        self.prompts.is_empty()
    }
}

impl fmt::Debug for PromptLibrary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Names and lengths only: the samples would drown the output.
        f.debug_map()
            .entries(self.prompts.iter().map(|(name, s)| (name, s.len())))
            .finish()
    }
}

/// Reads one WAV file and converts it to 8 kHz mono i16, within `limits`.
pub fn decode_file(path: &Path, limits: &LoadLimits) -> Result<Vec<i16>, AudioError> {
    let io_err = |source| AudioError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(io_err)?;
    // Size from the open handle, so the file checked is the file read.
    let size = file.metadata().map_err(io_err)?.len();
    if size > limits.max_file_bytes {
        return Err(AudioError::FileTooLarge {
            path: path.to_path_buf(),
            size,
            limit: limits.max_file_bytes,
        });
    }
    let reader = WavReader::new(BufReader::new(file)).map_err(|source| wav_err(path, source))?;
    decode(reader, path, size, limits)
}

fn wav_err(path: &Path, source: hound::Error) -> AudioError {
    AudioError::Wav {
        path: path.to_path_buf(),
        source,
    }
}

fn decode<R: std::io::Read>(
    mut reader: WavReader<R>,
    path: &Path,
    size: u64,
    limits: &LoadLimits,
) -> Result<Vec<i16>, AudioError> {
    let spec = reader.spec();
    let supported = spec.channels > 0
        && (MIN_RATE..=MAX_RATE).contains(&spec.sample_rate)
        && match spec.sample_format {
            SampleFormat::Int => matches!(spec.bits_per_sample, 8 | 16 | 24 | 32),
            SampleFormat::Float => spec.bits_per_sample == 32,
        };
    if !supported {
        return Err(AudioError::UnsupportedFormat {
            path: path.to_path_buf(),
            format: spec.sample_format,
            bits_per_sample: spec.bits_per_sample,
            sample_rate: spec.sample_rate,
            channels: spec.channels,
        });
    }
    let frames = reader.duration();
    if u64::from(frames) > u64::from(limits.max_duration_secs) * u64::from(spec.sample_rate) {
        return Err(AudioError::TooLong {
            path: path.to_path_buf(),
            frames,
            sample_rate: spec.sample_rate,
            limit_secs: limits.max_duration_secs,
        });
    }
    if frames == 0 {
        return Err(AudioError::Empty {
            path: path.to_path_buf(),
        });
    }
    // The header's frame count is a claim; never reserve more than the file can hold.
    let bytes_per_frame = u64::from(spec.channels) * u64::from(spec.bits_per_sample / 8);
    let capacity = u64::from(frames).min(size / bytes_per_frame.max(1)) as usize;
    let channels = usize::from(spec.channels);

    // Already in the target format: copy the samples as they are.
    if spec.sample_rate == SAMPLE_RATE
        && channels == 1
        && spec.sample_format == SampleFormat::Int
        && spec.bits_per_sample == 16
    {
        let mut out = Vec::with_capacity(capacity);
        for s in reader.samples::<i16>() {
            out.push(s.map_err(|e| wav_err(path, e))?);
        }
        return Ok(out);
    }

    let mut mono = Vec::with_capacity(capacity);
    match spec.sample_format {
        SampleFormat::Float => mix_down(reader.samples::<f32>(), channels, &mut mono, |v| {
            if v.is_finite() { v } else { 0.0 }
        })
        .map_err(|e| wav_err(path, e))?,
        SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (spec.bits_per_sample - 1)) as f32;
            mix_down(reader.samples::<i32>(), channels, &mut mono, |v| v as f32 * scale)
                .map_err(|e| wav_err(path, e))?
        }
    }
    let resampled = resample(&mono, spec.sample_rate, SAMPLE_RATE);
    Ok(resampled.into_iter().map(to_i16).collect())
}

/// Averages each frame's channels into one sample, normalized to [-1, 1].
fn mix_down<S, I>(
    samples: I,
    channels: usize,
    out: &mut Vec<f32>,
    to_f32: impl Fn(S) -> f32,
) -> Result<(), hound::Error>
where
    I: Iterator<Item = Result<S, hound::Error>>,
{
    let mut acc = 0.0f32;
    let mut n = 0;
    for s in samples {
        acc += to_f32(s?);
        n += 1;
        if n == channels {
            out.push(acc / channels as f32);
            acc = 0.0;
            n = 0;
        }
    }
    Ok(())
}

fn to_i16(v: f32) -> i16 {
    (v * 32768.0).round().clamp(-32768.0, 32767.0) as i16
}

#[cfg(test)]
mod tests {
    use super::*;
    use hound::{WavSpec, WavWriter};
    use std::path::PathBuf;

    fn unique_temp_dir(tag: &str) -> PathBuf {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("hotline-audio-{}-{tag}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// A temp directory removed when dropped.
    struct TempDir(PathBuf);
    impl TempDir {
        fn new(tag: &str) -> Self {
            Self(unique_temp_dir(tag))
        }
        fn file(&self, name: &str) -> PathBuf {
            self.0.join(name)
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn spec(rate: u32, channels: u16, bits: u16, format: SampleFormat) -> WavSpec {
        WavSpec {
            channels,
            sample_rate: rate,
            bits_per_sample: bits,
            sample_format: format,
        }
    }

    /// Writes `frames` frames of a 1 kHz tone at amplitude 0.5 in every channel.
    fn write_tone(path: &Path, spec: WavSpec, frames: u32) {
        let mut w = WavWriter::create(path, spec).unwrap();
        for i in 0..frames {
            let v = 0.5
                * (2.0 * std::f64::consts::PI * 1000.0 * f64::from(i) / f64::from(spec.sample_rate)).sin();
            for _ in 0..spec.channels {
                match (spec.sample_format, spec.bits_per_sample) {
                    (SampleFormat::Float, _) => w.write_sample(v as f32).unwrap(),
                    (SampleFormat::Int, 8) => w.write_sample((v * 127.0).round() as i8).unwrap(),
                    (SampleFormat::Int, 16) => w.write_sample((v * 32767.0).round() as i16).unwrap(),
                    (SampleFormat::Int, 24) => w.write_sample((v * 8_388_607.0).round() as i32).unwrap(),
                    (SampleFormat::Int, _) => w.write_sample((v * 2_147_483_647.0).round() as i32).unwrap(),
                }
            }
        }
        w.finalize().unwrap();
    }

    fn write_i16(path: &Path, rate: u32, samples: &[i16]) {
        let mut w = WavWriter::create(path, spec(rate, 1, 16, SampleFormat::Int)).unwrap();
        samples.iter().for_each(|s| w.write_sample(*s).unwrap());
        w.finalize().unwrap();
    }

    fn peak(x: &[i16]) -> i32 {
        x.iter().map(|v| i32::from(*v).abs()).max().unwrap_or(0)
    }

    /// Samples at 8 kHz of a 1 kHz tone repeat every 8 samples: compare against a
    /// reference sine fitted at the phase of the first sample.
    fn assert_is_1khz_tone_at_half_scale(x: &[i16], what: &str) {
        let mid = &x[x.len() / 4..x.len() * 3 / 4];
        let p = peak(mid);
        assert!(
            (15_800..=16_800).contains(&p),
            "{what}: peak {p}, expected about 16384"
        );
        // Periodic with period 8 (1 kHz at 8 kHz).
        for w in mid.windows(9) {
            assert!(
                (i32::from(w[0]) - i32::from(w[8])).abs() < 200,
                "{what}: not a 1 kHz tone"
            );
        }
    }

    #[test]
    fn loads_every_supported_encoding_as_8khz_mono() {
        let dir = TempDir::new("encodings");
        let cases = [
            ("int8-8k", spec(8000, 1, 8, SampleFormat::Int)),
            ("int16-8k", spec(8000, 1, 16, SampleFormat::Int)),
            ("int16-44k1-stereo", spec(44_100, 2, 16, SampleFormat::Int)),
            ("int24-48k", spec(48_000, 1, 24, SampleFormat::Int)),
            ("int32-16k-stereo", spec(16_000, 2, 32, SampleFormat::Int)),
            ("float32-22k05", spec(22_050, 1, 32, SampleFormat::Float)),
            ("float32-48k-stereo", spec(48_000, 2, 32, SampleFormat::Float)),
        ];
        for (name, s) in cases {
            write_tone(&dir.file(&format!("{name}.wav")), s, s.sample_rate / 2);
        }
        let (lib, errors) = PromptLibrary::load_dir(&dir.0).unwrap();
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(lib.len(), cases.len());
        for (name, _) in cases {
            let samples = lib.get(name).unwrap();
            assert_eq!(samples.len(), 4000, "{name}: half a second at 8 kHz");
            assert_is_1khz_tone_at_half_scale(&samples, name);
        }
    }

    #[test]
    fn mono_16_bit_8khz_is_loaded_bit_exact() {
        let dir = TempDir::new("exact");
        let samples: Vec<i16> = (0..800).map(|i| (i * 41 % 65_536 - 32_768) as i16).collect();
        write_i16(&dir.file("exact.wav"), 8000, &samples);
        let (lib, errors) = PromptLibrary::load_dir(&dir.0).unwrap();
        assert!(errors.is_empty());
        assert_eq!(&*lib.get("exact").unwrap(), &samples[..]);
    }

    #[test]
    fn stereo_channels_are_averaged() {
        let dir = TempDir::new("stereo");
        let mut w = WavWriter::create(dir.file("lr.wav"), spec(8000, 2, 16, SampleFormat::Int)).unwrap();
        for _ in 0..100 {
            w.write_sample(10_000i16).unwrap(); // left
            w.write_sample(-2_000i16).unwrap(); // right
        }
        w.finalize().unwrap();
        let (lib, _) = PromptLibrary::load_dir(&dir.0).unwrap();
        assert!(lib.get("lr").unwrap().iter().all(|v| *v == 4000));
    }

    #[test]
    fn bad_files_are_reported_and_skipped() {
        let dir = TempDir::new("bad");
        write_i16(&dir.file("good.wav"), 8000, &[1, 2, 3]);
        std::fs::write(dir.file("garbage.wav"), b"RIFF\x10\0\0\0WAVEjunkjunk").unwrap();
        std::fs::write(dir.file("text.wav"), b"hello, I am not audio").unwrap();
        write_i16(&dir.file("empty.wav"), 8000, &[]);
        // A truncated file: header promises 1000 samples, only some bytes follow.
        write_i16(&dir.file("cut.wav"), 8000, &[7; 1000]);
        let bytes = std::fs::read(dir.file("cut.wav")).unwrap();
        std::fs::write(dir.file("cut.wav"), &bytes[..100]).unwrap();
        std::fs::write(dir.file("readme.txt"), b"not a wav, ignored").unwrap();
        std::fs::create_dir(dir.file("sub.wav")).unwrap(); // a directory: ignored

        let (lib, errors) = PromptLibrary::load_dir(&dir.0).unwrap();
        assert_eq!(lib.names().collect::<Vec<_>>(), ["good"]);
        let mut reported: Vec<_> = errors.iter().map(|e| e.prompt_name().unwrap()).collect();
        reported.sort();
        assert_eq!(reported, ["cut", "empty", "garbage", "text"]);
        assert!(errors.iter().any(|e| matches!(e, AudioError::Empty { .. })));
        assert!(
            errors.iter().all(|e| e.to_string().contains(".wav")),
            "messages name the file"
        );
    }

    #[test]
    fn unsupported_encoding_is_reported() {
        let dir = TempDir::new("unsupported");
        // 16-bit at 500 Hz: below the accepted range.
        write_i16(&dir.file("slow.wav"), 500, &[0; 100]);
        let (lib, errors) = PromptLibrary::load_dir(&dir.0).unwrap();
        assert!(lib.is_empty());
        assert!(matches!(
            errors[..],
            [AudioError::UnsupportedFormat { sample_rate: 500, .. }]
        ));
    }

    #[test]
    fn missing_directory_is_fatal() {
        let dir = std::env::temp_dir().join(format!("hotline-audio-{}-does-not-exist", std::process::id()));
        let err = PromptLibrary::load_dir(&dir).unwrap_err();
        assert!(matches!(err, AudioError::ReadDir { .. }));
        assert_eq!(err.prompt_name(), None);
    }

    #[test]
    fn file_size_limit_accepts_at_limit_and_rejects_one_byte_more() {
        let dir = TempDir::new("size");
        write_i16(&dir.file("p.wav"), 8000, &[100; 500]);
        let size = std::fs::metadata(dir.file("p.wav")).unwrap().len();
        let at = LoadLimits {
            max_file_bytes: size,
            ..LoadLimits::default()
        };
        let (lib, errors) = PromptLibrary::load_dir_with_limits(&dir.0, &at).unwrap();
        assert!(errors.is_empty() && lib.contains("p"));

        let below = LoadLimits {
            max_file_bytes: size - 1,
            ..LoadLimits::default()
        };
        let (lib, errors) = PromptLibrary::load_dir_with_limits(&dir.0, &below).unwrap();
        assert!(!lib.contains("p"));
        assert!(matches!(errors[..], [AudioError::FileTooLarge { size: s, .. }] if s == size));
    }

    #[test]
    fn duration_limit_accepts_at_limit_and_rejects_one_frame_more() {
        let dir = TempDir::new("duration");
        let limits = LoadLimits {
            max_duration_secs: 1,
            ..LoadLimits::default()
        };
        write_i16(&dir.file("at.wav"), 8000, &vec![5; 8000]);
        write_i16(&dir.file("over.wav"), 8000, &vec![5; 8001]);
        write_tone(
            &dir.file("over-44k1.wav"),
            spec(44_100, 2, 16, SampleFormat::Int),
            44_101,
        );
        let (lib, errors) = PromptLibrary::load_dir_with_limits(&dir.0, &limits).unwrap();
        assert_eq!(lib.names().collect::<Vec<_>>(), ["at"]);
        assert_eq!(lib.get("at").unwrap().len(), 8000);
        assert_eq!(errors.len(), 2);
        assert!(
            errors
                .iter()
                .all(|e| matches!(e, AudioError::TooLong { limit_secs: 1, .. }))
        );
    }

    #[test]
    fn default_limits_are_50_mib_and_10_minutes() {
        let l = LoadLimits::default();
        assert_eq!((l.max_file_bytes, l.max_duration_secs), (52_428_800, 600));
    }

    #[test]
    fn file_count_limit_skips_the_rest_in_name_order() {
        let dir = TempDir::new("count");
        for name in ["c", "a", "b"] {
            write_i16(&dir.file(&format!("{name}.wav")), 8000, &[1]);
        }
        let limits = LoadLimits {
            max_files: 2,
            ..LoadLimits::default()
        };
        let (lib, errors) = PromptLibrary::load_dir_with_limits(&dir.0, &limits).unwrap();
        assert_eq!(lib.names().collect::<Vec<_>>(), ["a", "b"]);
        assert!(matches!(&errors[..], [AudioError::TooManyFiles { limit: 2, .. }]));
    }

    #[test]
    fn extension_is_case_insensitive_and_duplicates_are_reported() {
        let dir = TempDir::new("case");
        write_i16(&dir.file("Hello.WAV"), 8000, &[1]);
        write_i16(&dir.file("x.wav"), 8000, &[2]);
        write_i16(&dir.file("x.WAV"), 8000, &[3]);
        let (lib, errors) = PromptLibrary::load_dir(&dir.0).unwrap();
        assert!(lib.contains("Hello"));
        // Name order: "x.WAV" sorts before "x.wav", so it wins.
        assert_eq!(&*lib.get("x").unwrap(), &[3]);
        assert!(matches!(&errors[..], [AudioError::DuplicateName { name, .. }] if name == "x"));
    }

    #[test]
    fn from_samples_serves_prompts_by_name() {
        let lib = PromptLibrary::from_samples(vec![("beep".into(), vec![1, 2, 3]), ("boop".into(), vec![])]);
        assert_eq!(&*lib.get("beep").unwrap(), &[1, 2, 3]);
        assert!(lib.contains("boop") && !lib.contains("nope"));
        assert!(lib.get("nope").is_none());
        assert_eq!(lib.names().collect::<Vec<_>>(), ["beep", "boop"]);
        assert_eq!(format!("{lib:?}"), r#"{"beep": 3, "boop": 0}"#);
    }

    #[test]
    fn project_prompts_load_cleanly() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ivr-flows/prompts");
        let (lib, errors) = PromptLibrary::load_dir(&dir).unwrap();
        assert!(errors.is_empty(), "{errors:?}");
        for name in [
            "welcome",
            "enter-digits",
            "main-menu",
            "goodbye",
            "callback-confirmed",
            "digit-0",
            "digit-9",
        ] {
            let p = lib.get(name).unwrap_or_else(|| panic!("missing prompt {name}"));
            assert!(p.len() > 1600, "{name} is at least 0.2 s long");
        }
    }
}
