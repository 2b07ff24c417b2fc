//! A sans-IO stereo call recorder: RTP of one leg in, 8 kHz interleaved stereo PCM out.
//!
//! ```text
//!  caller ─ RTP ─▶ push_left(now, ..)  ─▶ JitterBuffer (fixed 1 s) ─▶ FIFO ─┐
//!                                                                        ├─ tick every 20 ms ─▶ L,R,L,R…
//!  leg    ─ RTP ─▶ push_right(now, ..) ─▶ JitterBuffer (fixed 1 s) ─▶ FIFO ─┘   (take_samples)
//!  clock  ─ handle_timeout(now) / poll_timeout()
//! ```
//!
//! LEFT is the audio the leg receives from the caller, RIGHT the audio it sends to the caller
//! (prompts, music, or the agent's forwarded audio). Each side has its own
//! [`JitterBuffer`] with [`JitterConfig::recording`]'s fixed one-second delay, so the recording
//! lags the call by [`StereoRecorder::DELAY`] and jitter below that loses nothing. The delay
//! counts from a stream's first packet, so a first packet slower than the rest adds its excess
//! to it; the buffers never time-compress audio to take it back (a recording does not mind
//! latency, but a shortened frame would leave a hole in the 20 ms grid).
//!
//! The recorder is pulled by its own clock: one stereo frame per 20 ms tick, starting 20 ms
//! after [`StereoRecorder::new`], whatever arrives. A side with nothing to play gives silence,
//! so the file's length is always the call's length and the two channels stay aligned.
//! Nothing here reads a clock or touches a file; the shell writes [`take_samples`] to a
//! [`WavRecording`](crate::wavfile::WavRecording).
//!
//! Drain contract: call [`handle_timeout`] when [`poll_timeout`] passes, then
//! [`take_samples`]; at hang-up call [`finish`] and take the samples one last time. [`pause`] and
//! [`resume`] take effect on the media of their `now`, whenever its frames are written.
//!
//! [`take_samples`]: StereoRecorder::take_samples
//! [`handle_timeout`]: StereoRecorder::handle_timeout
//! [`poll_timeout`]: StereoRecorder::poll_timeout
//! [`pause`]: StereoRecorder::pause
//! [`resume`]: StereoRecorder::resume
//! [`finish`]: StereoRecorder::finish

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use jitter::{JitterBuffer, JitterConfig, JitterStats, PolicyConfig, Poll};
use media::Codec;
use rtp::RtpPacket;

/// The clock rate of the recording (G.711).
const CLOCK_RATE: u32 = 8000;
/// Samples per side in one 20 ms frame.
const FRAME_SAMPLES: usize = 160;
/// A side's FIFO holds at most this many frames; beyond, its oldest samples are dropped.
const FIFO_MAX_FRAMES: usize = 50;
/// Most ticks one `handle_timeout` (or `finish`) runs: 10 minutes of audio. Only a wildly
/// wrong `now` reaches it; the remaining ticks run on the next call.
const MAX_TICKS_PER_CALL: u32 = 30_000;
/// Most `JitterBuffer::poll` calls per side and tick. A buffer whose first packet arrived long
/// before the current tick catches up its own ticks here; beyond this it goes on at the next tick.
const MAX_POLLS_PER_TICK: usize = 1_000;
/// Pause intervals kept at most; one more pause merges into the last interval instead.
const MAX_PAUSES: usize = 64;
/// How long after its end a pause interval is kept: longer than any media can wait in a side
/// (the jitter buffer re-anchors a stream more than 5 s off, the FIFO holds 1 s).
const PAUSE_MEMORY: Duration = Duration::from_secs(15);
/// Extra ticks [`StereoRecorder::finish`] runs past `now + DELAY` while a side still holds audio
/// (its delay is longer when its first packet was slow): 5 s, the re-anchor threshold.
const MAX_TAIL_TICKS: u32 = 250;

/// Counters of a [`StereoRecorder`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecorderStats {
    /// Stereo frames (20 ms) emitted, muted ones included.
    pub frames: u64,
    /// Frames written as silence because their media time fell inside a pause.
    pub muted_frames: u64,
    /// The caller's side (audio the leg receives).
    pub left: JitterStats,
    /// The leg's side (audio the leg sends to the caller).
    pub right: JitterStats,
}

/// One decoded 20 ms frame of a side, with the media time it carries.
#[derive(Debug)]
struct Frame {
    /// [`FRAME_SAMPLES`] samples.
    pcm: Vec<i16>,
    /// When this audio arrived, as the stream's fastest packets do: the frame's playout tick
    /// minus the buffer's current delay. `None` if the buffer did not say.
    media: Option<Instant>,
}

/// One side: its jitter buffer and the decoded frames not yet written.
#[derive(Debug)]
struct Side {
    buffer: JitterBuffer,
    fifo: VecDeque<Frame>,
}

impl Side {
    fn new(config: JitterConfig, codec: Codec) -> Self {
        Self {
            buffer: JitterBuffer::new(config, codec, CLOCK_RATE),
            fifo: VecDeque::with_capacity(2),
        }
    }

    /// Polls the buffer for every one of its ticks due at or before `tick` into the FIFO.
    fn poll_until(&mut self, tick: Instant) {
        let mut fresh = Vec::new();
        // The buffer's next tick; if the poll cap cuts a catch-up short, about one frame on.
        let mut next = tick.checked_add(StereoRecorder::FRAME).unwrap_or(tick);
        for _ in 0..MAX_POLLS_PER_TICK {
            match self.buffer.poll(tick) {
                Poll::Frame(pcm) | Poll::Concealed(pcm) => {
                    // Right after the poll, this is the delay of the frame just played.
                    fresh.push((pcm, self.buffer.current_delay_ms(tick)));
                }
                // DTMF is the leg's business, not the recording's.
                Poll::Event(_) => {}
                // An idle tick (silence) was consumed; the next may be due too.
                Poll::Wait(at) if at <= tick => {}
                Poll::Wait(at) => {
                    next = at;
                    break;
                }
            }
        }
        // The frames were played on the buffer's ticks just before `next` (to within a frame
        // when idle ticks came between them).
        let count = fresh.len();
        for (i, (pcm, delay_ms)) in fresh.into_iter().enumerate() {
            let behind = u32::try_from(count - i).unwrap_or(u32::MAX);
            let played = StereoRecorder::FRAME
                .checked_mul(behind)
                .and_then(|d| next.checked_sub(d));
            let delay = delay_ms.and_then(|ms| Duration::try_from_secs_f64(ms.max(0.0) / 1000.0).ok());
            let media = played.zip(delay).and_then(|(t, d)| t.checked_sub(d));
            self.accept(Frame { pcm, media });
        }
    }

    /// Appends a frame, dropping the oldest beyond [`FIFO_MAX_FRAMES`].
    fn accept(&mut self, mut frame: Frame) {
        // Always 160 samples: the recorder's buffers never time-compress. Kept exact anyway so
        // the two channels cannot drift apart.
        frame.pcm.resize(FRAME_SAMPLES, 0);
        self.fifo.push_back(frame);
        while self.fifo.len() > FIFO_MAX_FRAMES {
            self.fifo.pop_front();
        }
    }

    /// Whether audio is still on its way out: buffered packets or unwritten frames.
    fn has_pending(&self) -> bool {
        self.buffer.buffered_packets() > 0 || !self.fifo.is_empty()
    }
}

/// A muted span of media time: `[from, until)`, `until` open while paused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pause {
    from: Instant,
    until: Option<Instant>,
}

impl Pause {
    fn contains(&self, media: Instant) -> bool {
        media >= self.from && self.until.is_none_or(|u| media < u)
    }
}

/// Records one RTP leg as 8 kHz stereo (LEFT = from the caller, RIGHT = to the caller).
///
/// Sans-IO: packets and time come in with a `now`, samples come out of
/// [`take_samples`](Self::take_samples), and [`poll_timeout`](Self::poll_timeout) says when to
/// call [`handle_timeout`](Self::handle_timeout) next. See the [module docs](self).
#[derive(Debug)]
pub struct StereoRecorder {
    left: Side,
    right: Side,
    /// The next 20 ms tick.
    next_tick: Instant,
    /// Pause intervals in media time, oldest first; the last may be open.
    pauses: Vec<Pause>,
    /// Interleaved samples not yet taken.
    out: Vec<i16>,
    frames: u64,
    muted_frames: u64,
    finished: bool,
}

impl StereoRecorder {
    /// One output frame: 160 samples per side at 8 kHz.
    pub const FRAME: Duration = Duration::from_millis(20);
    /// The jitter buffers' fixed delay, counted from each stream's first packet: a tick at `t`
    /// writes the media that arrived at about `t - DELAY`.
    pub const DELAY: Duration = Duration::from_millis(1000);
    /// How long after [`resume`](Self::resume) the audio stays muted: an in-band DTMF tone
    /// keeps sounding a little after it was detected.
    pub const RESUME_TAIL: Duration = Duration::from_millis(200);

    /// A recorder started at `now`, for `codec` on `audio_pt`, with RFC 4733 events on
    /// `dtmf_pt` (accepted and ignored). The first tick is at `now + FRAME`.
    pub fn new(now: Instant, codec: Codec, audio_pt: u8, dtmf_pt: Option<u8>) -> Self {
        let mut config = JitterConfig::recording();
        config.policy = PolicyConfig::Fixed(Self::DELAY.as_secs_f64() * 1000.0);
        config.frame = Self::FRAME;
        // A recording is not interactive: keep the delay rather than time-compress audio when
        // the network gets faster than the first packet (a shortened frame would leave a hole
        // in the 20 ms grid).
        config.limits.max_shrink_ms_per_frame = 0.0;
        config.audio_payload_type = Some(audio_pt);
        config.dtmf_payload_type = dtmf_pt;
        Self {
            left: Side::new(config, codec),
            right: Side::new(config, codec),
            next_tick: now + Self::FRAME,
            pauses: Vec::new(),
            out: Vec::new(),
            frames: 0,
            muted_frames: 0,
            finished: false,
        }
    }

    /// Pushes a packet the leg received from the caller at `now` (LEFT). Packets of other
    /// payload types are refused and counted by the buffer; after [`finish`](Self::finish)
    /// packets are ignored.
    pub fn push_left(&mut self, now: Instant, packet: &RtpPacket<'_>) {
        if !self.finished {
            // A refused packet is the peer's fault; the buffer counts it in `packets_received`.
            let _ = self.left.buffer.push_packet(now, packet);
        }
    }

    /// Pushes a packet the leg sent to the caller at `now` (RIGHT). As
    /// [`push_left`](Self::push_left) otherwise.
    pub fn push_right(&mut self, now: Instant, packet: &RtpPacket<'_>) {
        if !self.finished {
            let _ = self.right.buffer.push_packet(now, packet);
        }
    }

    /// Mutes the recording from this instant of media time (the audio that arrives or is sent
    /// from `now` on) until [`resume`](Self::resume). Both channels are muted. Pausing while
    /// paused does nothing.
    pub fn pause(&mut self, now: Instant) {
        if self.is_paused() {
            return;
        }
        if self.pauses.len() >= MAX_PAUSES {
            // Mute more rather than less: reopen the last interval, covering the gap too.
            if let Some(last) = self.pauses.last_mut() {
                last.until = None;
            }
            return;
        }
        self.pauses.push(Pause {
            from: now,
            until: None,
        });
    }

    /// Unmutes the audio from `now + RESUME_TAIL` on. Resuming while not paused does nothing.
    pub fn resume(&mut self, now: Instant) {
        if let Some(last) = self.pauses.last_mut()
            && last.until.is_none()
        {
            let until = now.checked_add(Self::RESUME_TAIL).unwrap_or(now);
            last.until = Some(until.max(last.from));
        }
    }

    /// Whether [`pause`](Self::pause) was called without a [`resume`](Self::resume) since.
    pub fn is_paused(&self) -> bool {
        self.pauses.last().is_some_and(|p| p.until.is_none())
    }

    /// Runs every 20 ms tick due at or before `now`, each emitting exactly one stereo frame
    /// (320 interleaved samples, L,R,L,R…).
    ///
    /// A tick polls both jitter buffers up to its instant into their FIFOs and takes one frame
    /// from each; a side without audio for the tick (idle, not started, on hold) gives zeros.
    /// Concealed frames count as audio, DTMF events are ignored. A FIFO longer than 50 frames
    /// drops its oldest.
    ///
    /// A frame is written as zeros on both channels, and counted in
    /// [`RecorderStats::muted_frames`], when its media time falls inside a pause
    /// (`[pause, resume + RESUME_TAIL)`). Its media time is the tick − [`DELAY`](Self::DELAY)
    /// and, for each side playing audio, that side's own: the playout tick minus the buffer's
    /// actual delay. The two differ when the stream's first packet was slower than the later
    /// ones (the fixed delay counts from the first packet), so a slow start could otherwise
    /// let the end of a paused span through; muting on either errs on the side of privacy.
    ///
    /// A late call catches up every missed tick — a recording has no gaps — but one call runs
    /// at most 30 000 ticks (10 minutes), which only a wildly wrong `now` reaches; the rest run
    /// at the next call ([`poll_timeout`](Self::poll_timeout) is then already due). Does
    /// nothing after [`finish`](Self::finish).
    pub fn handle_timeout(&mut self, now: Instant) {
        if !self.finished {
            self.run_until(now);
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) should run next: the next tick, or `None`
    /// after [`finish`](Self::finish).
    pub fn poll_timeout(&self) -> Option<Instant> {
        (!self.finished).then_some(self.next_tick)
    }

    /// Takes the interleaved stereo samples produced so far (possibly none).
    pub fn take_samples(&mut self) -> Vec<i16> {
        std::mem::take(&mut self.out)
    }

    /// At call end: runs the ticks up to `now + DELAY`, so the buffered last second is not
    /// lost, and more (at most 5 s) while a side still holds audio; then stops accepting input
    /// and ticking. Calling it again does nothing.
    pub fn finish(&mut self, now: Instant) {
        if self.finished {
            return;
        }
        self.run_until(now.checked_add(Self::DELAY).unwrap_or(now));
        let mut extra = 0;
        while extra < MAX_TAIL_TICKS && (self.left.has_pending() || self.right.has_pending()) {
            self.tick();
            extra += 1;
        }
        self.finished = true;
    }

    /// The counters so far.
    pub fn stats(&self) -> RecorderStats {
        RecorderStats {
            frames: self.frames,
            muted_frames: self.muted_frames,
            left: self.left.buffer.stats(),
            right: self.right.buffer.stats(),
        }
    }

    fn run_until(&mut self, end: Instant) {
        let mut ticks = 0;
        while self.next_tick <= end && ticks < MAX_TICKS_PER_CALL {
            self.tick();
            ticks += 1;
        }
    }

    /// Runs the tick at `next_tick`: one stereo frame.
    fn tick(&mut self) {
        let tick = self.next_tick;
        self.left.poll_until(tick);
        self.right.poll_until(tick);
        let left = self.left.fifo.pop_front();
        let right = self.right.fifo.pop_front();

        // The media time by the nominal delay, and each side's own (which is longer when the
        // first packet was slower than the later ones): muted if any falls inside a pause.
        let nominal = tick.checked_sub(Self::DELAY);
        let media = [
            nominal,
            left.as_ref().and_then(|f| f.media),
            right.as_ref().and_then(|f| f.media),
        ];
        let muted = media
            .into_iter()
            .flatten()
            .any(|m| self.pauses.iter().any(|p| p.contains(m)));
        self.out.reserve(2 * FRAME_SAMPLES);
        if muted {
            self.out.extend(std::iter::repeat_n(0, 2 * FRAME_SAMPLES));
            self.muted_frames += 1;
        } else {
            let left = left.map(|f| f.pcm).unwrap_or_default();
            let right = right.map(|f| f.pcm).unwrap_or_default();
            for i in 0..FRAME_SAMPLES {
                let sample = |side: &[i16]| side.get(i).copied().unwrap_or(0);
                self.out.extend([sample(&left), sample(&right)]);
            }
        }
        self.frames += 1;
        // No later frame can carry media this old: forget intervals that ended before it.
        self.pauses.retain(|p| {
            p.until
                .is_none_or(|u| u.checked_add(PAUSE_MEMORY).is_none_or(|t| t > tick))
        });
        self.next_tick = tick + Self::FRAME;
    }

    /// Samples waiting in the (left, right) FIFOs.
    #[cfg(test)]
    fn fifo_len(&self) -> (usize, usize) {
        let samples = |side: &Side| side.fifo.iter().map(|f| f.pcm.len()).sum();
        (samples(&self.left), samples(&self.right))
    }
}
#[cfg(test)]
mod tests {
    use rtp::{Pt, Seq16, Ssrc, Ts32};

    use super::*;

    const LEFT_SSRC: u32 = 0x1111;
    const RIGHT_SSRC: u32 = 0x2222;

    /// Only differences between instants matter to the recorder; any origin will do.
    #[allow(clippy::disallowed_methods)] // reason: tests need some Instant to start virtual time from
    fn origin() -> Instant {
        Instant::now()
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn recorder(base: Instant) -> StereoRecorder {
        StereoRecorder::new(base, Codec::Pcmu, 0, Some(101))
    }

    /// `frames` 20 ms frames of a sine at `freq` Hz.
    fn tone(freq: f64, frames: usize) -> Vec<i16> {
        (0..frames * FRAME_SAMPLES)
            .map(|i| (8000.0 * (std::f64::consts::TAU * freq * i as f64 / 8000.0).sin()) as i16)
            .collect()
    }

    /// What G.711 makes of `pcm`: the audio the recorder should reproduce.
    fn through_g711(pcm: &[i16]) -> Vec<i16> {
        let mut bytes = Vec::new();
        codec::encode(Codec::Pcmu, pcm, &mut bytes);
        let mut out = Vec::new();
        codec::decode(Codec::Pcmu, &bytes, &mut out);
        out
    }

    /// Packet `k` (20 ms, PCMU) of `pcm`.
    fn packet(ssrc: u32, k: usize, pcm: &[i16]) -> Vec<u8> {
        let mut payload = Vec::new();
        codec::encode(
            Codec::Pcmu,
            &pcm[k * FRAME_SAMPLES..(k + 1) * FRAME_SAMPLES],
            &mut payload,
        );
        RtpPacket::new(
            Pt(0),
            Seq16(k as u16),
            Ts32((k * FRAME_SAMPLES) as u32),
            Ssrc(ssrc),
            &payload,
        )
        .to_vec()
        .unwrap()
    }

    #[derive(Debug, Clone)]
    enum Input {
        Left(Vec<u8>),
        Right(Vec<u8>),
        Pause,
        Resume,
    }

    /// Feeds `inputs` (any order) in time order, running the recorder's ticks in between, then
    /// ticks up to `end`. Returns every sample produced.
    fn drive(
        rec: &mut StereoRecorder,
        base: Instant,
        mut inputs: Vec<(Duration, Input)>,
        end: Duration,
    ) -> Vec<i16> {
        inputs.sort_by_key(|(at, _)| *at); // stable: equal instants keep their order
        let mut out = Vec::new();
        for (at, input) in inputs {
            let now = base + at;
            rec.handle_timeout(now);
            match input {
                Input::Left(d) => rec.push_left(now, &RtpPacket::parse(&d).unwrap()),
                Input::Right(d) => rec.push_right(now, &RtpPacket::parse(&d).unwrap()),
                Input::Pause => rec.pause(now),
                Input::Resume => rec.resume(now),
            }
            out.extend(rec.take_samples());
        }
        rec.handle_timeout(base + end);
        out.extend(rec.take_samples());
        out
    }

    /// Every packet of `pcm` arriving 20 ms apart from `offset` on.
    fn steady(side: fn(Vec<u8>) -> Input, ssrc: u32, pcm: &[i16], offset: u64) -> Vec<(Duration, Input)> {
        (0..pcm.len() / FRAME_SAMPLES)
            .map(|k| (ms(offset + 20 * k as u64), side(packet(ssrc, k, pcm))))
            .collect()
    }

    fn channel(stereo: &[i16], ch: usize) -> Vec<i16> {
        stereo.iter().skip(ch).step_by(2).copied().collect()
    }

    /// Asserts `got == want` and, when not, says where they part instead of printing both.
    #[track_caller]
    fn assert_same(got: &[i16], want: &[i16]) {
        let first = got.iter().zip(want).position(|(g, w)| g != w);
        assert!(
            first.is_none() && got.len() == want.len(),
            "lengths {} vs {}, first difference at sample {first:?} (frame {:?})",
            got.len(),
            want.len(),
            first.map(|i| i / FRAME_SAMPLES),
        );
    }

    fn is_silent(frame: &[i16]) -> bool {
        frame.iter().all(|&s| s == 0)
    }

    /// Signal power at `freq` Hz (Goertzel), normalised by the block length.
    fn goertzel(samples: &[i16], freq: f64) -> f64 {
        let coeff = 2.0 * (std::f64::consts::TAU * freq / 8000.0).cos();
        let (mut s1, mut s2) = (0.0, 0.0);
        for &x in samples {
            let s = f64::from(x) + coeff * s1 - s2;
            s2 = s1;
            s1 = s;
        }
        let n = samples.len().max(1) as f64;
        (s1 * s1 + s2 * s2 - coeff * s1 * s2) / (n * n)
    }

    /// A small deterministic LCG for arrival jitter.
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self, bound: u64) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (self.0 >> 33) % bound
        }
    }

    /// The frames between the first and the last non-silent one (inclusive).
    fn audible_span(ch: &[i16]) -> &[i16] {
        let frames: Vec<&[i16]> = ch.chunks(FRAME_SAMPLES).collect();
        let first = frames.iter().position(|f| !is_silent(f)).unwrap();
        let last = frames.iter().rposition(|f| !is_silent(f)).unwrap();
        &ch[first * FRAME_SAMPLES..(last + 1) * FRAME_SAMPLES]
    }

    #[test]
    fn jittered_tones_land_on_their_own_channel_without_gaps() {
        let base = origin();
        let mut rec = recorder(base);
        let n = 250; // 5 s per side
        let (left_tone, right_tone) = (tone(440.0, n), tone(1000.0, n));
        let mut jitter = Lcg(7);
        let mut inputs = Vec::new();
        for k in 0..n {
            let sent = 20 * k as u64;
            inputs.push((
                ms(sent + jitter.next(301)),
                Input::Left(packet(LEFT_SSRC, k, &left_tone)),
            ));
            inputs.push((
                ms(sent + jitter.next(301)),
                Input::Right(packet(RIGHT_SSRC, k, &right_tone)),
            ));
        }
        let out = drive(&mut rec, base, inputs, ms(7000));

        let stats = rec.stats();
        assert_eq!(stats.frames, 7000 / 20);
        assert_eq!(out.len(), 350 * 2 * FRAME_SAMPLES);
        assert!(stats.left.packets_reordered > 0 && stats.right.packets_reordered > 0);
        assert_eq!(
            stats.left.packets_late_discarded + stats.right.packets_late_discarded,
            0
        );

        for (ch, own, other) in [(0, 440.0, 1000.0), (1, 1000.0, 440.0)] {
            let samples = channel(&out, ch);
            let span = audible_span(&samples);
            assert!(
                span.len() >= n * FRAME_SAMPLES,
                "channel {ch}: only {} samples",
                span.len()
            );
            // No hole anywhere inside the tone: not even a few zero samples in a row.
            let longest_zero_run = span.split(|&s| s != 0).map(<[i16]>::len).max().unwrap_or(0);
            assert!(
                longest_zero_run < 3,
                "channel {ch}: {longest_zero_run} zero samples in a row"
            );
            for (i, frame) in span.chunks(FRAME_SAMPLES).enumerate() {
                let (p_own, p_other) = (goertzel(frame, own), goertzel(frame, other));
                assert!(
                    p_own > 100.0 * p_other,
                    "channel {ch} frame {i}: {p_own} vs {p_other}"
                );
            }
        }
        // And each tone is absent from the other channel altogether.
        let (left, right) = (channel(&out, 0), channel(&out, 1));
        assert!(goertzel(&left, 1000.0) * 1000.0 < goertzel(&right, 1000.0));
        assert!(goertzel(&right, 440.0) * 1000.0 < goertzel(&left, 440.0));
    }

    #[test]
    fn a_network_that_gets_faster_does_not_cut_holes_in_the_audio() {
        let base = origin();
        let mut rec = recorder(base);
        let n = 250;
        let pcm = tone(440.0, n);
        // The first 2 s arrive 1.5 s late, the rest on time: once playout has started the
        // network is 1.5 s faster than the first packet said, beyond the fixed delay's slack.
        let inputs = (0..n)
            .map(|k| {
                let at = 20 * k as u64 + if k < 100 { 1500 } else { 0 };
                (ms(at), Input::Left(packet(LEFT_SSRC, k, &pcm)))
            })
            .collect();
        let out = drive(&mut rec, base, inputs, ms(9000));
        let stats = rec.stats();
        assert_eq!(stats.left.removed_samples_for_acceleration, 0);
        assert_eq!(stats.left.packets_late_discarded, 0);
        let left = channel(&out, 0);
        let first = left.chunks(FRAME_SAMPLES).position(|f| !is_silent(f)).unwrap();
        assert_same(
            &left[first * FRAME_SAMPLES..(first + n) * FRAME_SAMPLES],
            &through_g711(&pcm),
        );
    }

    #[test]
    fn a_slow_first_packet_does_not_let_paused_media_through() {
        let base = origin();
        let mut rec = recorder(base);
        let n = 250;
        let pcm = tone(440.0, n);
        // The first 15 packets are held up and arrive together at 300 ms, the rest on time: the
        // buffer's delay is 1.3 s, and packet k is written by the tick at 1300 + 20 k ms.
        let mut inputs: Vec<_> = (0..n)
            .map(|k| {
                let at = (20 * k as u64).max(300);
                (ms(at), Input::Left(packet(LEFT_SSRC, k, &pcm)))
            })
            .collect();
        inputs.push((ms(2000), Input::Pause));
        inputs.push((ms(3000), Input::Resume));
        let mut out = drive(&mut rec, base, inputs, ms(5000));
        rec.finish(base + ms(5000));
        out.extend(rec.take_samples());

        let left = channel(&out, 0);
        let frames: Vec<&[i16]> = left.chunks(FRAME_SAMPLES).skip(64).take(n).collect();
        for (k, frame) in frames.iter().enumerate() {
            // Packets 100..160 arrived in [2 s, 3.2 s): muted. By the nominal delay alone the
            // ticks 3000..4200 ms would be muted, i.e. packets 85..145, and 145..160 heard.
            let muted = (85..160).contains(&k);
            assert_eq!(is_silent(frame), muted, "packet {k}");
        }
        assert_eq!(rec.stats().muted_frames, 75);
    }

    #[test]
    fn reordered_and_duplicated_packets_record_like_in_order_ones() {
        let n = 150;
        let (left_tone, right_tone) = (tone(440.0, n), tone(1000.0, n));
        let in_order = || {
            let mut inputs = steady(Input::Left, LEFT_SSRC, &left_tone, 50);
            inputs.extend(steady(Input::Right, RIGHT_SSRC, &right_tone, 50));
            inputs
        };
        let base = origin();
        let mut rec = recorder(base);
        let expected = drive(&mut rec, base, in_order(), ms(4500));

        // Every odd packet after the first arrives 25 ms late (after its successor), and every
        // seventh arrives twice.
        let mut scrambled = Vec::new();
        for (k, (at, input)) in in_order().into_iter().enumerate() {
            let k = k % n;
            let at = if k % 2 == 1 { at + ms(25) } else { at };
            if k % 7 == 3 {
                scrambled.push((at + ms(33), input.clone()));
            }
            scrambled.push((at, input));
        }
        let mut rec2 = recorder(base);
        let got = drive(&mut rec2, base, scrambled, ms(4500));

        let stats = rec2.stats();
        assert!(stats.left.packets_reordered > 50 && stats.right.packets_reordered > 50);
        assert!(stats.left.packets_duplicated > 10 && stats.right.packets_duplicated > 10);
        // The in-order run is the input itself (the one-second delay, then every packet once).
        let left = channel(&expected, 0);
        let first = left.chunks(FRAME_SAMPLES).position(|f| !is_silent(f)).unwrap();
        let heard = &left[first * FRAME_SAMPLES..(first + n) * FRAME_SAMPLES];
        assert_same(heard, &through_g711(&left_tone));
        assert_same(&got, &expected);
    }

    #[test]
    fn pause_mutes_the_media_from_pause_to_resume_plus_tail() {
        let base = origin();
        let mut rec = recorder(base);
        let n = 250; // packet k arrives at k × 20 ms and is written by the tick at 1000 + k × 20 ms
        let (left_tone, right_tone) = (tone(440.0, n), tone(1000.0, n));
        let mut inputs = steady(Input::Left, LEFT_SSRC, &left_tone, 0);
        inputs.extend(steady(Input::Right, RIGHT_SSRC, &right_tone, 0));
        inputs.push((ms(2000), Input::Pause));
        inputs.push((ms(3000), Input::Resume));
        let mut out = drive(&mut rec, base, inputs, ms(5000));
        assert!(!rec.is_paused());
        rec.finish(base + ms(5000));
        out.extend(rec.take_samples());

        let frames: Vec<&[i16]> = out.chunks(2 * FRAME_SAMPLES).collect();
        assert_eq!(frames.len(), 300);
        // Tick i (at 20 (i + 1) ms) carries packet k = i - 49, whose media time is k × 20 ms.
        for (k, frame) in frames.iter().skip(49).take(n).enumerate() {
            let muted = (100..160).contains(&k); // media in [2 s, 3.2 s)
            let (l, r) = (channel(frame, 0), channel(frame, 1));
            if muted {
                assert!(is_silent(frame), "packet {k} should be muted");
            } else {
                assert!(
                    !is_silent(&l) && !is_silent(&r),
                    "packet {k} should be heard on both sides"
                );
            }
        }
        assert_eq!(rec.stats().muted_frames, 60);
    }

    #[test]
    fn pause_and_resume_track_the_paused_state() {
        let base = origin();
        let mut rec = recorder(base);
        assert!(!rec.is_paused());
        rec.resume(base); // not paused: nothing to resume
        assert!(!rec.is_paused());
        rec.pause(base + ms(100));
        rec.pause(base + ms(500)); // already paused: the first pause stands
        assert!(rec.is_paused());
        rec.resume(base + ms(200));
        assert!(!rec.is_paused());
        rec.handle_timeout(base + ms(3000));
        // Media [100, 400) ms: ticks at 1100..1400 ms.
        assert_eq!(rec.stats().muted_frames, 15);
    }

    #[test]
    fn many_pauses_stay_bounded_and_never_unmute_what_was_paused() {
        let base = origin();
        let mut rec = recorder(base);
        for j in 0..100 {
            rec.pause(base + ms(10 * j));
            rec.resume(base + ms(10 * j + 5));
        }
        assert!(rec.pauses.len() <= MAX_PAUSES);
        rec.handle_timeout(base + ms(3000));
        // Media [0, 995 + 200) ms is muted: ticks at 1000..2180 ms.
        assert_eq!(rec.stats().muted_frames, 60);
        assert!(
            !rec.pauses.is_empty(),
            "kept while a slow buffer could still play their media"
        );
        rec.handle_timeout(base + ms(1200) + PAUSE_MEMORY);
        assert!(rec.pauses.is_empty(), "ended intervals are forgotten");
        assert_eq!(rec.stats().muted_frames, 60);
    }

    #[test]
    fn finish_flushes_the_buffered_last_second() {
        let base = origin();
        let mut rec = recorder(base);
        let n = 150; // 3 s
        let pcm = tone(440.0, n);
        let mut out = drive(&mut rec, base, steady(Input::Left, LEFT_SSRC, &pcm, 0), ms(3000));
        let heard = |out: &[i16]| {
            channel(out, 0)
                .chunks(FRAME_SAMPLES)
                .filter(|f| !is_silent(f))
                .count()
        };
        assert_eq!(
            heard(&out),
            n - 49,
            "without finish the last second is still buffered"
        );

        rec.finish(base + ms(3000));
        out.extend(rec.take_samples());
        assert_eq!(rec.stats().frames, 4000 / 20);
        let left = channel(&out, 0);
        // Silence for the delay, then every packet, the last one in the last frame but one;
        // the last frame is the jitter buffer's concealment after the stream stopped.
        assert!(is_silent(&left[..49 * FRAME_SAMPLES]));
        assert_same(
            &left[49 * FRAME_SAMPLES..199 * FRAME_SAMPLES],
            &through_g711(&pcm),
        );

        // Finished: no more input, ticks or deadline.
        assert_eq!(rec.poll_timeout(), None);
        let received = rec.stats().left.packets_received;
        let late = packet(LEFT_SSRC, 0, &pcm);
        rec.push_left(base + ms(3100), &RtpPacket::parse(&late).unwrap());
        rec.handle_timeout(base + ms(10_000));
        rec.finish(base + ms(10_000));
        assert_eq!(rec.stats().left.packets_received, received);
        assert_eq!(rec.stats().frames, 200);
        assert!(rec.take_samples().is_empty());
    }

    #[test]
    fn a_side_without_packets_records_silence() {
        let base = origin();
        let mut rec = recorder(base);
        let pcm = tone(440.0, 100);
        let mut out = drive(&mut rec, base, steady(Input::Left, LEFT_SSRC, &pcm, 0), ms(2000));
        rec.finish(base + ms(2000));
        out.extend(rec.take_samples());
        assert_eq!(out.len(), 150 * 2 * FRAME_SAMPLES);
        assert!(is_silent(&channel(&out, 1)));
        assert_same(
            &channel(&out, 0)[49 * FRAME_SAMPLES..149 * FRAME_SAMPLES],
            &through_g711(&pcm),
        );
        assert_eq!(rec.stats().right, JitterStats::default());
    }

    #[test]
    fn a_burst_keeps_at_most_fifty_frames_and_the_newest_audio() {
        let base = origin();
        let mut rec = recorder(base);
        rec.handle_timeout(base + ms(10_000));
        assert_eq!(rec.stats().frames, 500);
        let _ = rec.take_samples();
        // Six seconds of packets stamped long before the recorder's clock: the buffer catches up
        // its own ticks and hands out 300 frames (plus concealment) in one go.
        let pcm = tone(440.0, 300);
        for k in 0..300 {
            let d = packet(LEFT_SSRC, k, &pcm);
            rec.push_left(base + ms(20 * k as u64), &RtpPacket::parse(&d).unwrap());
        }
        rec.handle_timeout(base + ms(10_020));
        let (left, right) = rec.fifo_len();
        assert_eq!(
            left,
            (FIFO_MAX_FRAMES - 1) * FRAME_SAMPLES,
            "one frame taken of the 50 kept"
        );
        assert_eq!(right, 0);
        // The kept frames are the newest: the tick wrote packet 255 (the 45 last packets and 5
        // concealment frames were kept).
        let out = rec.take_samples();
        assert_same(
            &channel(&out, 0),
            &through_g711(&pcm[255 * FRAME_SAMPLES..256 * FRAME_SAMPLES]),
        );
        // The FIFO then drains one frame per tick, never growing.
        for _ in 0..60 {
            let next = rec.poll_timeout().unwrap();
            rec.handle_timeout(next);
            assert!(rec.fifo_len().0 < (FIFO_MAX_FRAMES - 1) * FRAME_SAMPLES);
        }
        assert_eq!(rec.fifo_len(), (0, 0));
        assert_eq!(rec.stats().frames, 561);
    }

    #[test]
    fn a_late_call_catches_up_every_tick_in_bounded_steps() {
        let base = origin();
        let mut rec = recorder(base);
        assert_eq!(rec.poll_timeout(), Some(base + ms(20)));
        let now = base + ms(700_000); // 35 000 ticks overdue
        rec.handle_timeout(now);
        assert_eq!(rec.stats().frames, u64::from(MAX_TICKS_PER_CALL));
        assert_eq!(rec.take_samples().len(), 30_000 * 2 * FRAME_SAMPLES);
        assert!(rec.poll_timeout().unwrap() <= now, "the rest is due at once");
        rec.handle_timeout(now);
        assert_eq!(rec.stats().frames, 35_000);
        assert_eq!(rec.poll_timeout(), Some(now + ms(20)));
    }
}
