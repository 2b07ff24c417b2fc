//! Music on hold as one shared stream: the tracks of a folder in rotation, played like a radio station.
//!
//! Every leg that plays the music sends the frame that is on air *now* (its position is a function of the
//! time since the stream's epoch, not of when the leg started), so all waiting callers hear the same music
//! at the same moment, as Asterisk's shared music-on-hold classes do. Each frame is encoded once, when the
//! stream is built, for every codec a leg can send: a leg copies 160 bytes per 20 ms and encodes nothing.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use media::Codec;

use codec::FRAME_SAMPLES;

/// Longest rotation kept (all tracks together): 10 minutes, 4.8 M samples, about 19 MB with its two
/// encodings. Tracks that would go past it are left out and reported.
pub const MAX_ROTATION_SECS: u64 = 600;
/// Most tracks in a rotation.
pub const MAX_TRACKS: usize = 64;

const FRAME: Duration = Duration::from_millis(20);
const MAX_SAMPLES: usize = MAX_ROTATION_SECS as usize * 8000;

/// The shared music-on-hold stream (see the module docs).
#[derive(Debug)]
pub struct MusicOnHold {
    epoch: Instant,
    /// Frames in one pass of the rotation.
    frames: usize,
    linear: Arc<[i16]>,
    pcmu: Arc<[u8]>,
    pcma: Arc<[u8]>,
    /// Each track's name and first frame, in play order.
    tracks: Vec<(String, usize)>,
}

impl MusicOnHold {
    /// A stream of `tracks` in the given order, on air since `epoch`. Each track is padded with silence to
    /// a whole frame, so every track starts on a frame. Tracks past [`MAX_TRACKS`] or past
    /// [`MAX_ROTATION_SECS`] in total are left out and named in the returned list. `None` when no track
    /// has any audio.
    pub fn new(epoch: Instant, tracks: Vec<(String, Vec<i16>)>) -> (Option<Self>, Vec<String>) {
        let mut linear: Vec<i16> = Vec::new();
        let mut kept = Vec::new();
        let mut left_out = Vec::new();
        for (name, samples) in tracks {
            if samples.is_empty() {
                continue;
            }
            let padded = samples.len().div_ceil(FRAME_SAMPLES) * FRAME_SAMPLES;
            if kept.len() >= MAX_TRACKS || linear.len() + padded > MAX_SAMPLES {
                left_out.push(name);
                continue;
            }
            kept.push((name, linear.len() / FRAME_SAMPLES));
            linear.extend_from_slice(&samples);
            linear.resize(linear.len() + padded - samples.len(), 0);
        }
        if linear.is_empty() {
            return (None, left_out);
        }
        let encode = |codec| {
            let mut out = Vec::with_capacity(linear.len());
            codec::encode(codec, &linear, &mut out);
            Arc::<[u8]>::from(out)
        };
        let music = Self {
            epoch,
            frames: linear.len() / FRAME_SAMPLES,
            pcmu: encode(Codec::Pcmu),
            pcma: encode(Codec::Pcma),
            linear: linear.into(),
            tracks: kept,
        };
        (Some(music), left_out)
    }

    /// The `*.wav` files of `dir` in name order (each converted to 8 kHz mono as prompts are). Files that
    /// cannot be read, or that do not fit, are reported in the list and skipped.
    pub fn load_dir(dir: &Path, epoch: Instant) -> std::io::Result<(Option<Self>, Vec<String>)> {
        let mut paths: Vec<_> = std::fs::read_dir(dir)?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| e.eq_ignore_ascii_case("wav"))
            })
            .collect();
        paths.sort();
        let mut problems = Vec::new();
        let mut tracks = Vec::new();
        let limits = audio::LoadLimits::default();
        for path in paths.into_iter().take(MAX_TRACKS + 1) {
            let name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            match audio::decode_file(&path, &limits) {
                Ok(samples) => tracks.push((name, samples)),
                Err(e) => problems.push(e.to_string()),
            }
        }
        let (music, left_out) = Self::new(epoch, tracks);
        problems.extend(left_out.into_iter().map(|n| {
            format!("{n}: left out of the music on hold (over {MAX_TRACKS} tracks or {MAX_ROTATION_SECS} s)")
        }));
        Ok((music, problems))
    }

    /// The frame on air at `at`, in one pass of the rotation.
    pub fn frame_index(&self, at: Instant) -> usize {
        let ticks = at.saturating_duration_since(self.epoch).as_nanos() / FRAME.as_nanos();
        usize::try_from(ticks % self.frames as u128).unwrap_or(0)
    }

    /// The frame on air at `at`, already encoded for `codec` (borrowed from the stream: nothing is encoded
    /// per listener).
    pub fn frame(&self, codec: Codec, at: Instant) -> &[u8] {
        let start = self.frame_index(at) * FRAME_SAMPLES;
        let all = match codec {
            Codec::Pcmu => &self.pcmu,
            Codec::Pcma => &self.pcma,
        };
        all.get(start..start + FRAME_SAMPLES).unwrap_or(&[])
    }

    /// The frame on air at `at` as samples.
    pub fn samples(&self, at: Instant) -> &[i16] {
        let start = self.frame_index(at) * FRAME_SAMPLES;
        self.linear.get(start..start + FRAME_SAMPLES).unwrap_or(&[])
    }

    /// Copies the samples on air from `at` on into `out` (for a ptime other than 20 ms), wrapping around
    /// the rotation.
    pub fn fill(&self, at: Instant, out: &mut [i16]) {
        let mut pos = self.frame_index(at) * FRAME_SAMPLES;
        for s in out.iter_mut() {
            *s = self.linear.get(pos).copied().unwrap_or(0);
            pos = (pos + 1) % self.linear.len();
        }
    }

    /// The track on air at `at`.
    pub fn track_at(&self, at: Instant) -> &str {
        let frame = self.frame_index(at);
        self.tracks
            .iter()
            .rev()
            .find(|(_, first)| *first <= frame)
            .map_or("", |(name, _)| name.as_str())
    }

    /// The tracks in play order.
    pub fn track_names(&self) -> impl Iterator<Item = &str> {
        self.tracks.iter().map(|(n, _)| n.as_str())
    }

    /// One pass of the rotation.
    pub fn duration(&self) -> Duration {
        FRAME * u32::try_from(self.frames).unwrap_or(u32::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only differences between instants matter; any origin will do.
    #[allow(clippy::disallowed_methods)] // reason: tests need some Instant to start virtual time from
    fn origin() -> Instant {
        Instant::now()
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn tracks_play_in_rotation_from_the_epoch_each_starting_on_a_frame() {
        let t0 = origin();
        // 1.5 frames of 100s, then 1 frame of 200s: the first track is padded to 2 frames.
        let (m, left) = MusicOnHold::new(
            t0,
            vec![("a".into(), vec![100; 240]), ("b".into(), vec![200; 160])],
        );
        let m = m.unwrap();
        assert!(left.is_empty());
        assert_eq!(m.duration(), ms(60));
        assert_eq!(m.track_names().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(m.samples(t0)[0], 100);
        assert_eq!(m.samples(t0 + ms(20))[..80], [100; 80]);
        assert_eq!(m.samples(t0 + ms(20))[80..], [0; 80], "padding");
        assert_eq!(m.track_at(t0 + ms(39)), "a");
        assert_eq!(m.track_at(t0 + ms(40)), "b");
        assert_eq!(m.samples(t0 + ms(40))[0], 200);
        assert_eq!(m.track_at(t0 + ms(60)), "a", "back to the first track");
        assert_eq!(
            m.frame_index(t0 + ms(125)),
            0,
            "6.25 frames: frame 6 is frame 0 of the next pass"
        );
    }

    #[test]
    fn every_listener_gets_the_frame_on_air_encoded_once() {
        let t0 = origin();
        let ramp: Vec<i16> = (0..1600).map(|i| (i * 17 % 4000 - 2000) as i16).collect();
        let (m, _) = MusicOnHold::new(t0, vec![("ramp".into(), ramp.clone())]);
        let m = m.unwrap();
        let at = t0 + ms(3 * 20 + 7);
        let mut expected = Vec::new();
        codec::encode(Codec::Pcmu, &ramp[3 * 160..4 * 160], &mut expected);
        assert_eq!(m.frame(Codec::Pcmu, at), expected.as_slice());
        // Two listeners at the same instant share the very same bytes of the stream.
        assert!(std::ptr::eq(m.frame(Codec::Pcma, at), m.frame(Codec::Pcma, at)));
        assert_eq!(m.frame(Codec::Pcma, at).len(), 160);
        assert_eq!(
            m.samples(t0 - ms(100))[0],
            ramp[0],
            "before the epoch: the first frame"
        );
        // A 30 ms ptime takes a frame and a half from the frame on air, wrapping at the end.
        let mut out = [0i16; 240];
        m.fill(t0 + ms(9 * 20), &mut out);
        assert_eq!(out[..160], ramp[9 * 160..]);
        assert_eq!(out[160..], ramp[..80]);
    }

    #[test]
    fn the_demo_music_is_two_ten_second_tracks_in_name_order() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ivr-flows/moh");
        let (m, problems) = MusicOnHold::load_dir(&dir, origin()).unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        let m = m.unwrap();
        assert_eq!(m.track_names().collect::<Vec<_>>(), ["1-arpeggio", "2-arpeggio"]);
        assert_eq!(m.duration(), Duration::from_secs(20));
    }

    #[test]
    fn the_rotation_holds_ten_minutes_and_leaves_out_what_does_not_fit() {
        let t0 = origin();
        let minute = vec![1i16; 8000 * 60];
        let ten: Vec<_> = (0..10).map(|i| (format!("m{i}"), minute.clone())).collect();
        let (m, left) = MusicOnHold::new(t0, ten.clone());
        assert!(left.is_empty(), "exactly the limit fits");
        assert_eq!(m.unwrap().duration(), Duration::from_secs(MAX_ROTATION_SECS));
        let mut over = ten;
        over.push(("one-frame-more".into(), vec![1; 160]));
        over.push(("short".into(), vec![]));
        let (m, left) = MusicOnHold::new(t0, over);
        assert_eq!(left, ["one-frame-more"], "one frame past the limit is left out");
        assert_eq!(m.unwrap().duration(), Duration::from_secs(MAX_ROTATION_SECS));
        let many: Vec<_> = (0..=MAX_TRACKS)
            .map(|i| (format!("t{i:02}"), vec![1; 160]))
            .collect();
        let (m, left) = MusicOnHold::new(t0, many);
        assert_eq!(m.unwrap().track_names().count(), MAX_TRACKS);
        assert_eq!(left, [format!("t{MAX_TRACKS:02}")]);
        assert!(MusicOnHold::new(t0, vec![("silent".into(), vec![])]).0.is_none());
    }
}
