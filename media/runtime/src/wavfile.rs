//! A crash-safe WAV writer for call recordings, and [`repair`] for files a crash left behind.
//!
//! The file is 16-bit little-endian PCM with the canonical 44-byte header:
//!
//! ```text
//! offset  0 "RIFF"   4 u32 36 + data size   8 "WAVE"
//!        12 "fmt "  16 u32 16              20 u16 1 (PCM)   22 u16 channels
//!        24 u32 sample rate   28 u32 byte rate   32 u16 block align   34 u16 16 (bits)
//!        36 "data"  40 u32 data size        44 samples…
//! ```
//!
//! [`WavRecording`] patches both sizes every [`HEADER_SYNC_INTERVAL`] bytes of audio, so a
//! process that dies mid-call leaves a playable file that lacks at most the last interval.
//! [`repair`] then makes the header agree with what actually reached the disk.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::Duration;

/// Length of the canonical header; the samples start here.
const HEADER_LEN: u64 = 44;
/// Offset of the RIFF chunk size (`36 + data size`).
const RIFF_SIZE_OFFSET: u64 = 4;
/// Offset of the data chunk size.
const DATA_SIZE_OFFSET: u64 = 40;
/// Bytes per sample (16-bit PCM).
const BYTES_PER_SAMPLE: u16 = 2;

/// Bytes of audio between two automatic [`WavRecording::sync_header`] calls: one second of
/// 8 kHz 16-bit stereo. A crash loses at most this much of the recording.
pub const HEADER_SYNC_INTERVAL: u64 = 32_000;

/// The largest data chunk a WAV file can describe: `u32::MAX - 36` (so that the RIFF size
/// `36 + data` still fits its `u32`), rounded down to a multiple of 4 bytes, which is a whole
/// sample frame for mono and stereo. A file with more channels rounds it down further to its
/// own frame size.
pub const MAX_DATA_BYTES: u64 = (u32::MAX as u64 - 36) / 4 * 4;

/// A WAV file being recorded: 16-bit little-endian PCM, canonical 44-byte header.
///
/// Samples are buffered; the header's sizes are patched every [`HEADER_SYNC_INTERVAL`] bytes
/// and by [`finish`](Self::finish). Dropping a recording without `finish` flushes what is
/// buffered but leaves the header at the last sync, as a crash would; [`repair`] fixes that.
/// After an IO error the recording should be abandoned and the file [`repair`]ed.
#[derive(Debug)]
pub struct WavRecording {
    file: BufWriter<File>,
    channels: u16,
    sample_rate: u32,
    /// Audio bytes written (buffered or not).
    data_bytes: u64,
    /// `data_bytes` at the last header sync.
    synced_bytes: u64,
    /// [`MAX_DATA_BYTES`] rounded down to a whole frame of this file (smaller in tests).
    max_data_bytes: u64,
}

impl WavRecording {
    /// Creates the file at `path` (refusing to overwrite an existing one, with
    /// [`io::ErrorKind::AlreadyExists`]) and writes a header with data size 0.
    ///
    /// `channels` and `sample_rate` must be non-zero and their byte rate must fit a `u32`,
    /// else [`io::ErrorKind::InvalidInput`].
    pub fn create(path: &Path, channels: u16, sample_rate: u32) -> io::Result<Self> {
        let block_align = channels
            .checked_mul(BYTES_PER_SAMPLE)
            .filter(|&b| b > 0)
            .ok_or_else(|| invalid_input("channel count must be 1..=32767"))?;
        let byte_rate = sample_rate
            .checked_mul(u32::from(block_align))
            .filter(|&b| b > 0)
            .ok_or_else(|| invalid_input("sample rate must be non-zero and its byte rate fit 32 bits"))?;
        let file = OpenOptions::new().write(true).create_new(true).open(path)?;
        let mut file = BufWriter::new(file);
        file.write_all(&header(channels, sample_rate, byte_rate, block_align, 0))?;
        let frame = u64::from(block_align);
        Ok(Self {
            file,
            channels,
            sample_rate,
            data_bytes: 0,
            synced_bytes: 0,
            max_data_bytes: MAX_DATA_BYTES / frame * frame,
        })
    }

    /// Appends interleaved samples (buffered). Every [`HEADER_SYNC_INTERVAL`] bytes of audio
    /// it calls [`sync_header`](Self::sync_header) itself.
    ///
    /// Nothing is written, and an error returned, when `interleaved` is not a whole number of
    /// frames ([`io::ErrorKind::InvalidInput`]) or when the data chunk would grow past
    /// [`MAX_DATA_BYTES`] ([`io::ErrorKind::FileTooLarge`]).
    pub fn write_samples(&mut self, interleaved: &[i16]) -> io::Result<()> {
        if interleaved.len() % usize::from(self.channels) != 0 {
            return Err(invalid_input("samples must be whole interleaved frames"));
        }
        let len = interleaved.len() as u64 * u64::from(BYTES_PER_SAMPLE);
        if self.data_bytes.saturating_add(len) > self.max_data_bytes {
            return Err(io::Error::new(
                io::ErrorKind::FileTooLarge,
                "a WAV data chunk cannot hold more audio",
            ));
        }
        let bytes: Vec<u8> = interleaved.iter().flat_map(|s| s.to_le_bytes()).collect();
        self.file.write_all(&bytes)?;
        self.data_bytes += len;
        if self.data_bytes - self.synced_bytes >= HEADER_SYNC_INTERVAL {
            self.sync_header()?;
        }
        Ok(())
    }

    /// Flushes the buffer and patches the RIFF size (offset 4) and the data size (offset 40)
    /// to what has been written, then seeks back to the end. A crash after this loses nothing
    /// written before it, and the file stays playable.
    pub fn sync_header(&mut self) -> io::Result<()> {
        self.file.flush()?;
        let data = u32::try_from(self.data_bytes).map_err(|_| invalid_input("data chunk too large"))?;
        let file = self.file.get_mut();
        patch_sizes(file, data)?;
        file.seek(SeekFrom::End(0))?;
        self.synced_bytes = self.data_bytes;
        Ok(())
    }

    /// Audio bytes written so far (the data chunk's size once synced).
    pub fn data_bytes(&self) -> u64 {
        self.data_bytes
    }

    /// Duration of the audio written so far.
    pub fn duration(&self) -> Duration {
        let frame = u64::from(self.channels) * u64::from(BYTES_PER_SAMPLE);
        let frames = u128::from(self.data_bytes / frame.max(1));
        let nanos = frames * 1_000_000_000 / u128::from(self.sample_rate.max(1));
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    /// Syncs the header and the file's data to the disk ([`File::sync_all`]); returns the
    /// audio bytes written.
    pub fn finish(mut self) -> io::Result<u64> {
        self.sync_header()?;
        self.file.get_ref().sync_all()?;
        Ok(self.data_bytes)
    }

    /// Lowers the size limit (rounded down to a whole frame) so tests can reach it.
    #[cfg(test)]
    fn with_max_data_bytes(mut self, max: u64) -> Self {
        let frame = u64::from(self.channels) * u64::from(BYTES_PER_SAMPLE);
        self.max_data_bytes = max.min(MAX_DATA_BYTES) / frame * frame;
        self
    }
}

/// What [`repair`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Repair {
    /// The header's sizes already matched the file.
    Intact,
    /// The sizes were patched (and a trailing partial frame cut off); the data chunk now holds
    /// `data_bytes` bytes.
    Repaired {
        /// The data chunk's size after the repair.
        data_bytes: u64,
    },
    /// Not a canonical 16-bit PCM WAV file; it was left untouched.
    NotWav,
}

/// Makes the header of a WAV file left by a crashed [`WavRecording`] agree with its length.
///
/// If the header's sizes disagree with the file length, a trailing partial sample frame is
/// truncated and both sizes are patched to the whole frames present (then the file is synced to
/// the disk). A file shorter than 44 bytes, or whose header is not the canonical
/// RIFF/WAVE/`fmt `(16-byte PCM, 16 bits)/`data` layout, is [`Repair::NotWav`] and left
/// untouched. The data chunk is assumed to run to the end of the file, as [`WavRecording`]
/// writes it: a file with chunks after the data (e.g. `LIST`) must not be passed here.
///
/// A file whose audio exceeds [`MAX_DATA_BYTES`] cannot be described by a WAV header; it is left
/// untouched and [`io::ErrorKind::FileTooLarge`] returned.
pub fn repair(path: &Path) -> io::Result<Repair> {
    let mut file = OpenOptions::new().read(true).write(true).open(path)?;
    let len = file.metadata()?.len();
    if len < HEADER_LEN {
        return Ok(Repair::NotWav);
    }
    let mut head = [0u8; HEADER_LEN as usize];
    file.read_exact(&mut head)?;
    let Some(block_align) = canonical_block_align(&head) else {
        return Ok(Repair::NotWav);
    };
    let frame = u64::from(block_align);
    let whole = (len - HEADER_LEN) / frame * frame;
    if whole > MAX_DATA_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::FileTooLarge,
            "the audio exceeds what a WAV header can describe",
        ));
    }
    let riff = u32_at(&head, RIFF_SIZE_OFFSET as usize);
    let data = u32_at(&head, DATA_SIZE_OFFSET as usize);
    if len == HEADER_LEN + whole && u64::from(data) == whole && u64::from(riff) == 36 + whole {
        return Ok(Repair::Intact);
    }
    if len != HEADER_LEN + whole {
        file.set_len(HEADER_LEN + whole)?;
    }
    let data = u32::try_from(whole).map_err(|_| invalid_input("data chunk too large"))?;
    patch_sizes(&mut file, data)?;
    file.sync_all()?;
    Ok(Repair::Repaired { data_bytes: whole })
}

/// The canonical header for a data chunk of `data` bytes.
fn header(channels: u16, sample_rate: u32, byte_rate: u32, block_align: u16, data: u32) -> [u8; 44] {
    let mut h = [0u8; 44];
    let fields: [&[u8]; 13] = [
        b"RIFF",
        &data.saturating_add(36).to_le_bytes(),
        b"WAVE",
        b"fmt ",
        &16u32.to_le_bytes(),
        &1u16.to_le_bytes(),
        &channels.to_le_bytes(),
        &sample_rate.to_le_bytes(),
        &byte_rate.to_le_bytes(),
        &block_align.to_le_bytes(),
        &(BYTES_PER_SAMPLE * 8).to_le_bytes(),
        b"data",
        &data.to_le_bytes(),
    ];
    let mut at = 0;
    for field in fields {
        if let Some(dst) = h.get_mut(at..at + field.len()) {
            dst.copy_from_slice(field);
        }
        at += field.len();
    }
    h
}

/// The block align of a canonical 16-bit PCM header, or `None` if `head` is not one.
fn canonical_block_align(head: &[u8; 44]) -> Option<u16> {
    let tag = |at: usize, want: &[u8; 4]| head.get(at..at + 4) == Some(&want[..]);
    if !(tag(0, b"RIFF") && tag(8, b"WAVE") && tag(12, b"fmt ") && tag(36, b"data")) {
        return None;
    }
    let u16_at = |at: usize| u16::from_le_bytes([head[at], head[at + 1]]);
    let channels = u16_at(22);
    let block_align = u16_at(32);
    let canonical = u32_at(head, 16) == 16
        && u16_at(20) == 1
        && u16_at(34) == BYTES_PER_SAMPLE * 8
        && channels > 0
        && channels.checked_mul(BYTES_PER_SAMPLE) == Some(block_align);
    canonical.then_some(block_align)
}

fn u32_at(head: &[u8; 44], at: usize) -> u32 {
    u32::from_le_bytes([head[at], head[at + 1], head[at + 2], head[at + 3]])
}

/// Writes `36 + data` at offset 4 and `data` at offset 40; leaves the position after the latter.
fn patch_sizes(file: &mut File, data: u32) -> io::Result<()> {
    file.seek(SeekFrom::Start(RIFF_SIZE_OFFSET))?;
    file.write_all(&data.saturating_add(36).to_le_bytes())?;
    file.seek(SeekFrom::Start(DATA_SIZE_OFFSET))?;
    file.write_all(&data.to_le_bytes())
}

fn invalid_input(what: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, what)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    /// A fresh directory under the system temp dir, removed when dropped.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> Self {
            let dir = std::env::temp_dir().join(format!("hotline-wavfile-{}-{name}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            Self(dir)
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

    /// `frames` stereo frames, every sample distinct from its neighbours (L even, R odd).
    fn stereo(start: usize, frames: usize) -> Vec<i16> {
        (start * 2..(start + frames) * 2)
            .map(|i| (i % 30_011) as i16 - 15_000)
            .collect()
    }

    fn read_back(path: &Path) -> (hound::WavSpec, Vec<i16>) {
        let mut reader = hound::WavReader::open(path).unwrap();
        let spec = reader.spec();
        let samples = reader.samples::<i16>().collect::<Result<Vec<_>, _>>().unwrap();
        (spec, samples)
    }

    #[test]
    fn max_data_bytes_is_the_largest_whole_frame_that_fits_the_riff_size() {
        assert_eq!(MAX_DATA_BYTES, 4_294_967_256);
        assert!(MAX_DATA_BYTES + 36 <= u64::from(u32::MAX));
        assert_eq!(MAX_DATA_BYTES % 4, 0);
    }

    #[test]
    fn a_finished_recording_reads_back_exactly() {
        let dir = TempDir::new("finished");
        let path = dir.file("call.wav");
        let mut wav = WavRecording::create(&path, 2, 8000).unwrap();
        let audio = stereo(0, 8000 * 3 / 2);
        for frame in audio.chunks(320) {
            wav.write_samples(frame).unwrap();
        }
        assert_eq!(wav.data_bytes(), 48_000);
        assert_eq!(wav.duration(), Duration::from_millis(1500));
        assert_eq!(wav.finish().unwrap(), 48_000);

        let (spec, samples) = read_back(&path);
        assert_eq!(
            (spec.channels, spec.sample_rate, spec.bits_per_sample),
            (2, 8000, 16)
        );
        assert_eq!(spec.sample_format, hound::SampleFormat::Int);
        assert_eq!(samples, audio);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 44 + 48_000);
        assert_eq!(repair(&path).unwrap(), Repair::Intact);
    }

    #[test]
    fn a_crashed_recording_is_playable_and_repair_recovers_every_whole_frame() {
        let dir = TempDir::new("crash");
        let path = dir.file("call.wav");
        let mut wav = WavRecording::create(&path, 2, 8000).unwrap();
        let audio = stereo(0, 8000 * 5 / 2); // 2.5 s: the header was last synced at 2 s
        for frame in audio.chunks(320) {
            wav.write_samples(frame).unwrap();
        }
        drop(wav); // no finish: the header still says 2 s

        let reader = hound::WavReader::open(&path).unwrap();
        assert!(
            reader.duration() >= 16_000,
            "only {} frames readable",
            reader.duration()
        );
        let (_, samples) = read_back(&path);
        assert_eq!(samples.as_slice(), &audio[..samples.len()]);

        // The crash also tore the last frame: three bytes of it reached the disk.
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(&[0xAB, 0xCD, 0xEF]).unwrap();
        drop(file);

        assert_eq!(repair(&path).unwrap(), Repair::Repaired { data_bytes: 80_000 });
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 44 + 80_000);
        let (_, samples) = read_back(&path);
        assert_eq!(samples, audio);
        assert_eq!(repair(&path).unwrap(), Repair::Intact);
    }

    #[test]
    fn a_recording_killed_before_the_first_sync_repairs_to_its_data() {
        let dir = TempDir::new("early-crash");
        let path = dir.file("call.wav");
        let mut wav = WavRecording::create(&path, 1, 8000).unwrap();
        wav.write_samples(&[1, -2, 3, -4]).unwrap();
        drop(wav);
        assert_eq!(hound::WavReader::open(&path).unwrap().duration(), 0);
        assert_eq!(repair(&path).unwrap(), Repair::Repaired { data_bytes: 8 });
        assert_eq!(read_back(&path).1, vec![1, -2, 3, -4]);
    }

    #[test]
    fn repair_leaves_files_that_are_not_canonical_wav_untouched() {
        let dir = TempDir::new("notwav");
        let short = dir.file("short.wav");
        std::fs::write(&short, b"RIFF\0\0\0\0WA").unwrap();
        assert_eq!(repair(&short).unwrap(), Repair::NotWav);
        assert_eq!(std::fs::read(&short).unwrap(), b"RIFF\0\0\0\0WA");

        let text = dir.file("text.wav");
        let junk = vec![b'x'; 100];
        std::fs::write(&text, &junk).unwrap();
        assert_eq!(repair(&text).unwrap(), Repair::NotWav);
        assert_eq!(std::fs::read(&text).unwrap(), junk);

        // Canonical layout but 8-bit samples.
        let eight = dir.file("eight.wav");
        let mut h = header(1, 8000, 8000, 1, 0).to_vec();
        h[34] = 8;
        h.extend_from_slice(&[1, 2, 3]);
        std::fs::write(&eight, &h).unwrap();
        assert_eq!(repair(&eight).unwrap(), Repair::NotWav);
        assert_eq!(std::fs::read(&eight).unwrap(), h);
    }

    #[test]
    fn create_refuses_to_overwrite_and_bad_formats() {
        let dir = TempDir::new("exists");
        let path = dir.file("call.wav");
        std::fs::write(&path, b"precious").unwrap();
        let err = WavRecording::create(&path, 2, 8000).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&path).unwrap(), b"precious");

        let other = dir.file("other.wav");
        for (channels, rate) in [(0, 8000), (2, 0), (2, u32::MAX)] {
            let err = WavRecording::create(&other, channels, rate).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        }
        assert!(!other.exists());
    }

    #[test]
    fn write_samples_refuses_partial_frames() {
        let dir = TempDir::new("partial");
        let path = dir.file("call.wav");
        let mut wav = WavRecording::create(&path, 2, 8000).unwrap();
        let err = wav.write_samples(&[1, 2, 3]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(wav.data_bytes(), 0);
        assert_eq!(wav.finish().unwrap(), 0);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 44);
    }

    #[test]
    fn the_data_chunk_stops_at_its_limit_and_writes_nothing_past_it() {
        let dir = TempDir::new("limit");
        let limit_frames = 10;
        let cap = limit_frames * 4 + 3; // rounded down to 10 stereo frames

        // Exactly at the limit, then one frame more.
        let path = dir.file("at.wav");
        let mut wav = WavRecording::create(&path, 2, 8000)
            .unwrap()
            .with_max_data_bytes(cap);
        wav.write_samples(&stereo(0, limit_frames as usize)).unwrap();
        assert_eq!(wav.data_bytes(), 40);
        let err = wav.write_samples(&stereo(10, 1)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::FileTooLarge);
        assert_eq!(wav.data_bytes(), 40);
        assert_eq!(wav.finish().unwrap(), 40);
        assert_eq!(read_back(&path).1, stereo(0, 10));

        // Limit + 1 frames in one call: nothing at all is written.
        let path = dir.file("over.wav");
        let mut wav = WavRecording::create(&path, 2, 8000)
            .unwrap()
            .with_max_data_bytes(cap);
        let err = wav
            .write_samples(&stereo(0, limit_frames as usize + 1))
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::FileTooLarge);
        assert_eq!(wav.finish().unwrap(), 0);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 44);
    }
}
