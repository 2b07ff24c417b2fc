//! The jitter buffer: RTP in, 20 ms frames out, pulled by the caller's clock.

use std::collections::{BTreeSet, VecDeque};
use std::time::Instant;

use codec::Plc;
use media::{Codec, Digit};
use rtp::{RtpPacket, SeqExtender, Ssrc, TelephoneEvent, TsExtender};

use crate::config::{JitterConfig, PolicyConfig};
use crate::error::JitterError;
use crate::policy::{AdaptivePolicy, FixedPolicy, PlayoutPolicy};
use crate::stats::JitterStats;
use crate::store::{Inserted, PacketStore, Stored};

/// What [`JitterBuffer::poll`] hands out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Poll {
    /// One frame of received audio (possibly time-compressed by up to 5 ms to shrink the buffer).
    Frame(Vec<i16>),
    /// One frame that is wholly or partly concealment (loss, late packet, or growth).
    Concealed(Vec<i16>),
    /// A DTMF digit from telephone-event packets, passed out as soon as it arrives.
    Event(Digit),
    /// Nothing to hand out before this instant. While idle (no stream yet, or a silence),
    /// this is the next frame tick: the caller plays silence for the tick and polls again then
    /// or after the next push.
    Wait(Instant),
}

/// Per-SSRC state: wrap extension, duplicate detection, and the mapping from RTP timestamps to
/// the buffer's media sample index.
#[derive(Debug, Clone)]
struct Stream {
    ssrc: Ssrc,
    seqs: SeqExtender,
    tss: TsExtender,
    seen: BTreeSet<u64>,
    /// `index = anchor_index + (extended_ts - anchor_ts)`.
    anchor: Option<(u64, i64)>,
    last_event_ts: Option<u64>,
}

impl Stream {
    fn new(ssrc: Ssrc) -> Self {
        Self {
            ssrc,
            seqs: SeqExtender::new(),
            tss: TsExtender::new(),
            seen: BTreeSet::new(),
            anchor: None,
            last_event_ts: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Nothing playing: waiting for a packet to be due.
    Idle,
    Playing,
}

/// Frame decoding and concealment. G.711 only today; Opus will add a variant whose `conceal`
/// calls the decoder's own PLC (and FEC from the next packet) instead of [`Plc`].
#[derive(Debug, Clone)]
enum Decoder {
    G711 { codec: Codec, plc: Plc },
}

impl Decoder {
    fn decode(&self, payload: &[u8], out: &mut Vec<i16>) {
        match self {
            Self::G711 { codec, .. } => codec::decode(*codec, payload, out),
        }
    }

    fn conceal(&mut self, out: &mut [i16]) {
        match self {
            Self::G711 { plc, .. } => plc.conceal(out),
        }
    }

    fn good(&mut self, frame: &mut [i16]) {
        match self {
            Self::G711 { plc, .. } => plc.good_frame(frame),
        }
    }

    fn is_concealing(&self) -> bool {
        match self {
            Self::G711 { plc, .. } => plc.is_concealing(),
        }
    }
}

/// How many recent transits the buffer keeps to re-anchor streams.
const RECENT_TRANSITS: usize = 50;

/// An adaptive jitter buffer for one incoming audio stream. Pure: time comes in as `now`.
///
/// Packets go into a [`PacketStore`] keyed by media sample index; a [`PlayoutPolicy`] sees every
/// audio packet's (media, arrival) time and sets the target delay; each [`poll`](Self::poll) at
/// a frame tick plays 20 ms from the playout position, growing the delay by inserting one
/// concealment frame when the target is at least half a growth step above it and shrinking it
/// by time-compressing up to `max_shrink_ms_per_frame` of a fully received frame.
pub struct JitterBuffer {
    config: JitterConfig,
    decoder: Decoder,
    audio_pt: u8,
    samples_per_ms: f64,
    frame_samples: usize,
    policy: Box<dyn PlayoutPolicy + Send>,
    store: PacketStore,
    events: VecDeque<Digit>,
    stream: Option<Stream>,
    /// Origin of `arrival_ms` and `tick_ms`: the first packet's arrival.
    epoch: Option<Instant>,
    transits: VecDeque<f64>,
    state: State,
    /// Next media sample index to play; `None` before the first playout.
    pos: Option<i64>,
    next_tick: Option<Instant>,
    concealed_run: u32,
    /// Packetisation grid: the start and length (samples) of the last stored packet.
    grid: Option<(i64, i64)>,
    stats: JitterStats,
}

impl std::fmt::Debug for JitterBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JitterBuffer")
            .field("state", &self.state)
            .field("pos", &self.pos)
            .field("buffered", &self.store.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl JitterBuffer {
    /// A buffer for `codec` at `clock_rate` Hz, with the policy named by the configuration.
    pub fn new(config: JitterConfig, codec: Codec, clock_rate: u32) -> Self {
        let policy: Box<dyn PlayoutPolicy + Send> = match config.policy {
            PolicyConfig::Adaptive(c) => Box::new(AdaptivePolicy::new(c)),
            PolicyConfig::Fixed(ms) => Box::new(FixedPolicy::new(ms)),
        };
        Self::with_policy(config, codec, clock_rate, policy)
    }

    /// A buffer driven by any policy (the benchmark runs reference policies through this).
    pub fn with_policy(
        config: JitterConfig,
        codec: Codec,
        clock_rate: u32,
        policy: Box<dyn PlayoutPolicy + Send>,
    ) -> Self {
        let clock_rate = clock_rate.max(1000);
        let samples_per_ms = f64::from(clock_rate) / 1000.0;
        let frame_samples = ((config.frame.as_secs_f64() * f64::from(clock_rate)).round() as usize).max(1);
        Self {
            decoder: Decoder::G711 {
                codec,
                plc: Plc::new(),
            },
            audio_pt: config.audio_payload_type.unwrap_or(codec.static_payload_type()),
            samples_per_ms,
            frame_samples,
            policy,
            store: PacketStore::new(config.max_packets),
            events: VecDeque::new(),
            stream: None,
            epoch: None,
            transits: VecDeque::new(),
            state: State::Idle,
            pos: None,
            next_tick: None,
            concealed_run: 0,
            grid: None,
            stats: JitterStats::default(),
            config,
        }
    }

    /// Parses and pushes one RTP datagram.
    pub fn push(&mut self, now: Instant, datagram: &[u8]) -> Result<(), JitterError> {
        let packet = RtpPacket::parse(datagram).inspect_err(|_| self.stats.packets_received += 1)?;
        self.push_packet(now, &packet)
    }

    /// Pushes one parsed RTP packet that arrived at `now`.
    pub fn push_packet(&mut self, now: Instant, packet: &RtpPacket<'_>) -> Result<(), JitterError> {
        self.stats.packets_received += 1;
        let pt = packet.payload_type.0;
        let is_dtmf = Some(pt) == self.config.dtmf_payload_type;
        if !is_dtmf && pt != self.audio_pt {
            return Err(JitterError::UnexpectedPayloadType(pt));
        }
        if self.stream.as_ref().is_some_and(|s| s.ssrc != packet.ssrc) {
            self.stats.ssrc_changes += 1;
            self.store.clear();
            self.state = State::Idle;
            self.stream = None;
        }
        let epoch = *self.epoch.get_or_insert(now);
        if self.next_tick.is_none() {
            self.next_tick = Some(now);
        }
        let arrival_ms = ms_between(epoch, now);
        let stream = self.stream.get_or_insert_with(|| Stream::new(packet.ssrc));

        let seq = stream.seqs.extend(packet.seq).0;
        if !stream.seen.insert(seq) {
            self.stats.packets_duplicated += 1;
            return Ok(());
        }
        if stream.seqs.highest().is_some_and(|h| h.0 > seq) {
            self.stats.packets_reordered += 1;
        }
        if stream.seen.len() > 4096 {
            let keep_from = seq.saturating_sub(2048);
            stream.seen = stream.seen.split_off(&keep_from);
        }
        let ts = stream.tss.extend(packet.timestamp).0;

        if is_dtmf {
            // Never delayed, never concealed: one digit per event (all its packets share the ts).
            if stream.last_event_ts != Some(ts) {
                stream.last_event_ts = Some(ts);
                if let Ok(ev) = TelephoneEvent::parse(packet.payload)
                    && let Some(d) = Digit::from_event_code(ev.event)
                {
                    self.events.push_back(d);
                    self.stats.dtmf_events += 1;
                }
            }
            return Ok(());
        }

        let min_transit = self.transits.iter().copied().fold(f64::INFINITY, f64::min);
        let min_transit = if min_transit.is_finite() { min_transit } else { 0.0 };
        let spms = self.samples_per_ms;
        let anchor_here = |arrival_ms: f64| (ts, ((arrival_ms - min_transit) * spms).round() as i64);
        let (anchor_ts, anchor_index) = match stream.anchor {
            None => *stream.anchor.insert(anchor_here(arrival_ms)),
            Some((ats, aidx)) => {
                let idx = aidx + (ts as i64 - ats as i64);
                let transit = arrival_ms - idx as f64 / spms;
                if (transit - min_transit).abs() > self.config.reanchor_threshold_ms {
                    self.stats.reanchors += 1;
                    *stream.anchor.insert(anchor_here(arrival_ms))
                } else {
                    (ats, aidx)
                }
            }
        };
        let index = anchor_index + (ts as i64 - anchor_ts as i64);
        let media_ms = index as f64 / spms;
        if self.transits.len() >= RECENT_TRANSITS {
            self.transits.pop_front();
        }
        self.transits.push_back(arrival_ms - media_ms);
        self.policy.on_arrival(media_ms, arrival_ms);

        let mut samples = Vec::with_capacity(packet.payload.len());
        self.decoder.decode(packet.payload, &mut samples);
        let end = index + samples.len() as i64;
        if self.pos.is_some_and(|p| end <= p) {
            self.stats.packets_late_discarded += 1;
            return Ok(());
        }
        let len = samples.len() as u64;
        if len > 0 {
            self.grid = Some((index, len as i64));
        }
        match self.store.insert(
            index,
            Stored {
                samples,
                arrival: now,
            },
        ) {
            Inserted::Duplicate => self.stats.packets_duplicated += 1,
            Inserted::Kept => self.stats.total_samples_received += len,
            Inserted::KeptDroppedOldest => {
                self.stats.total_samples_received += len;
                self.stats.packets_overflow_discarded += 1;
            }
        }
        if packet.marker && self.store.len() == 1 && self.state == State::Playing && self.concealed_run > 0 {
            // Start of a talkspurt while starving: restart at the target instead of concealing.
            self.state = State::Idle;
        }
        Ok(())
    }

    /// Hands out the next event, frame or deadline. Call it when the returned `Wait` instant
    /// passes (and after pushes, for DTMF); it returns at most one frame per frame tick.
    pub fn poll(&mut self, now: Instant) -> Poll {
        if let Some(d) = self.events.pop_front() {
            return Poll::Event(d);
        }
        let (Some(tick), Some(epoch)) = (self.next_tick, self.epoch) else {
            return Poll::Wait(now + self.config.frame);
        };
        if now < tick {
            return Poll::Wait(tick);
        }
        let next = tick + self.config.frame;
        self.next_tick = Some(next);
        let tick_ms = ms_between(epoch, tick);
        let target = self.clamped_target();
        self.stats.target_delay_ms = target - self.min_transit();

        if self.state == State::Idle {
            let floor = self.pos.unwrap_or(i64::MIN);
            self.store.drop_before(floor);
            let Some(first) = self.store.first_start() else {
                return Poll::Wait(next);
            };
            let start = first.max(floor);
            if tick_ms - start as f64 / self.samples_per_ms < target - 0.5 {
                return Poll::Wait(next);
            }
            self.state = State::Playing;
            self.pos = Some(start);
            self.concealed_run = 0;
            self.stats.playout_restarts += 1;
        }
        let pos = self.pos.unwrap_or(0);
        if !self.store.has_from(pos) && self.concealed_run >= self.config.max_conceal_frames {
            self.state = State::Idle;
            return Poll::Wait(next);
        }

        let limits = self.config.limits;
        let n = self.frame_samples;
        let delay = self.effective_delay(tick_ms, pos);
        if target - delay > 0.5 {
            // Grow: play one frame of concealment without advancing the playout position.
            // Growth is in whole frames (≤ `max_grow_ms_per_frame` is not split): the deadline
            // the target asks for is met at once, at the cost of up to one frame of excess.
            let mut frame = vec![0i16; n];
            if !self.decoder.is_concealing() {
                self.stats.concealment_events += 1;
            }
            self.decoder.conceal(&mut frame);
            self.stats.inserted_samples_for_deceleration += n as u64;
            return Poll::Concealed(frame);
        }
        // Shrink: compress by up to `max_shrink` ms, but only as far as the next frame still
        // meets the target — packets are needed whole, so the deadline moves by whole packets.
        let frame_ms = n as f64 / self.samples_per_ms;
        let mut remove = 0;
        let max_remove = (limits.max_shrink_ms_per_frame * self.samples_per_ms) as usize;
        let mut r = max_remove.min(n);
        while r >= 8 {
            let raw = tick_ms - pos as f64 / self.samples_per_ms;
            let next = self.effective_delay(tick_ms + frame_ms, pos + (n + r) as i64);
            if raw - r as f64 / self.samples_per_ms >= target && next >= target {
                remove = r;
                break;
            }
            r /= 2;
        }
        let mut buf = vec![0i16; n + remove];
        let mut present = vec![false; n + remove];
        let arrival = self.store.read(pos, &mut buf, &mut present);
        let too_loud = |buf: &[i16], limit: f64| {
            let energy: f64 = buf.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
            (energy / buf.len().max(1) as f64).sqrt() >= limit
        };
        let refuse = present.iter().any(|p| !p) // only compress fully received audio
            || self.config.quiet_shrink_rms.is_some_and(|limit| too_loud(&buf, limit));
        if remove > 0 && refuse {
            remove = 0;
            buf.truncate(n);
            present.truncate(n);
        }
        let missing = present.iter().filter(|p| !**p).count();
        // PLC, segment by segment: concealment for gaps, history for received audio.
        let mut i = 0;
        while i < buf.len() {
            let here = present.get(i).copied().unwrap_or(false);
            let len = present.iter().skip(i).take_while(|&&p| p == here).count();
            if let Some(seg) = buf.get_mut(i..i + len) {
                if here {
                    self.decoder.good(seg);
                } else {
                    if !self.decoder.is_concealing() {
                        self.stats.concealment_events += 1;
                    }
                    self.decoder.conceal(seg);
                }
            }
            i += len.max(1);
        }
        let frame = if remove > 0 {
            self.stats.removed_samples_for_acceleration += remove as u64;
            compress(&buf, remove)
        } else {
            buf
        };
        let new_pos = pos + (n + remove) as i64;
        self.pos = Some(new_pos);
        self.store.drop_before(new_pos);
        self.stats.concealed_samples += missing as u64;
        if let Some(a) = arrival {
            self.stats.emitted_frames += 1;
            self.stats.jitter_buffer_delay_ms += tick.saturating_duration_since(a).as_secs_f64() * 1000.0;
        }
        if missing == 0 {
            self.concealed_run = 0;
            Poll::Frame(frame)
        } else {
            if missing == n + remove {
                self.concealed_run += 1;
            }
            Poll::Concealed(frame)
        }
    }

    /// The counters so far.
    pub fn stats(&self) -> JitterStats {
        let mut s = self.stats.clone();
        if s.emitted_frames > 0 {
            s.mean_playout_delay_ms = s.jitter_buffer_delay_ms / s.emitted_frames as f64;
        }
        s
    }

    /// Packets held.
    pub fn buffered_packets(&self) -> usize {
        self.store.len()
    }

    /// The current playout offset beyond the fastest recent packet, ms (`None` while idle):
    /// how long a packet with the recent minimum transit waits in the buffer.
    pub fn current_delay_ms(&self, now: Instant) -> Option<f64> {
        let (Some(epoch), Some(pos), State::Playing) = (self.epoch, self.pos, self.state) else {
            return None;
        };
        let tick = self.next_tick.unwrap_or(now);
        Some(self.effective_delay(ms_between(epoch, tick), pos) - self.min_transit())
    }

    /// The playout offset that packets must meet for a frame at `tick_ms` starting at `pos`:
    /// the tick minus the media time of the packet that holds the frame's last sample.
    fn effective_delay(&self, tick_ms: f64, pos: i64) -> f64 {
        let last = pos + self.frame_samples as i64 - 1;
        let start = match self.grid {
            Some((a, len)) if len > 0 => a + (last - a).div_euclid(len) * len,
            _ => pos,
        };
        tick_ms - start as f64 / self.samples_per_ms
    }

    fn min_transit(&self) -> f64 {
        let m = self.transits.iter().copied().fold(f64::INFINITY, f64::min);
        if m.is_finite() { m } else { 0.0 }
    }

    fn clamped_target(&self) -> f64 {
        let base = self.min_transit();
        let l = self.config.limits;
        self.policy
            .target_delay_ms()
            .clamp(base + l.min_delay_ms, base + l.max_delay_ms.max(l.min_delay_ms))
    }
}

fn ms_between(epoch: Instant, t: Instant) -> f64 {
    t.saturating_duration_since(epoch).as_secs_f64() * 1000.0
}

/// Shortens `buf` by `remove` samples: keeps the head and tail and cross-fades the `remove`
/// samples before the cut into the `remove` samples after it (overlap-add, no pitch search).
fn compress(buf: &[i16], remove: usize) -> Vec<i16> {
    let out_len = buf.len().saturating_sub(remove);
    let a = out_len.saturating_sub(remove) / 2;
    let mut out = Vec::with_capacity(out_len);
    out.extend(buf.iter().take(a));
    let fade_out = buf.iter().skip(a).take(remove);
    let fade_in = buf.iter().skip(a + remove).take(remove);
    for (k, (&x, &y)) in fade_out.zip(fade_in).enumerate() {
        let w = (k + 1) as f32 / (remove + 1) as f32;
        out.push((f32::from(x) * (1.0 - w) + f32::from(y) * w) as i16);
    }
    out.extend(buf.iter().skip(a + 2 * remove));
    out.truncate(out_len);
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use codec::ulaw_to_linear;
    use rtp::{Pt, Seq16, Ts32};

    use super::*;
    use crate::policy::AdaptiveConfig;
    use crate::sim::AdaptLimits;

    const SSRC: Ssrc = Ssrc(0x1234);

    #[allow(clippy::disallowed_methods)] // reason: tests need some Instant to start virtual time from
    fn start() -> Instant {
        Instant::now()
    }

    /// One 20 ms PCMU packet whose 160 samples are all the µ-law code `code`.
    fn audio(ssrc: Ssrc, seq: u16, ts: u32, code: u8) -> Vec<u8> {
        let payload = [code; 160];
        RtpPacket::new(Pt(0), Seq16(seq), Ts32(ts), ssrc, &payload)
            .to_vec()
            .unwrap()
    }

    fn dtmf(seq: u16, ts: u32, event: u8, end: bool) -> Vec<u8> {
        let payload = TelephoneEvent {
            event,
            end,
            volume: 10,
            duration: 800,
        }
        .to_bytes();
        RtpPacket::new(Pt(101), Seq16(seq), Ts32(ts), SSRC, &payload)
            .to_vec()
            .unwrap()
    }

    /// A code per packet index, so that order can be checked on the output (0x80..=0xFE avoid
    /// the silence code 0xFF).
    fn code(k: u64) -> u8 {
        0x80 + (k % 0x7F) as u8
    }

    fn fixed(ms: f64) -> JitterConfig {
        JitterConfig {
            policy: PolicyConfig::Fixed(ms),
            ..JitterConfig::default()
        }
    }

    #[derive(Debug)]
    struct Out {
        at: Instant,
        poll: Poll,
        delay: Option<f64>,
        /// Samples removed by time-compression for this output.
        removed: u64,
    }

    /// Drives the buffer in virtual time: pushes each datagram at its arrival, polls at every
    /// deadline, until `until` or until every packet has been pushed and played out.
    fn drive(
        jb: &mut JitterBuffer,
        t0: Instant,
        mut packets: Vec<(Instant, Vec<u8>)>,
        until: Instant,
    ) -> Vec<Out> {
        packets.sort_by_key(|(at, _)| *at);
        let mut packets = packets.into_iter().peekable();
        let mut out = Vec::new();
        let mut deadline = t0;
        let mut removed_before = 0;
        while deadline <= until {
            if packets.peek().is_none() && jb.buffered_packets() == 0 {
                break;
            }
            while let Some((at, bytes)) = packets.next_if(|(at, _)| *at <= deadline) {
                jb.push(at, &bytes).unwrap();
            }
            loop {
                let poll = jb.poll(deadline);
                if let Poll::Wait(next) = poll {
                    // Wake up for the next arrival if it comes first.
                    deadline = match packets.peek() {
                        Some((at, _)) if *at < next => *at,
                        _ => next,
                    };
                    break;
                }
                let removed = jb.stats().removed_samples_for_acceleration - removed_before;
                removed_before += removed;
                out.push(Out {
                    at: deadline,
                    poll,
                    delay: jb.current_delay_ms(deadline),
                    removed,
                });
            }
        }
        out
    }

    fn ms(t0: Instant, ms: f64) -> Instant {
        t0 + Duration::from_secs_f64(ms / 1000.0)
    }

    /// `n` packets from seq/ts 0, arriving at `20 k + jitter(k)` ms (None = lost).
    fn stream(t0: Instant, n: u64, mut jitter: impl FnMut(u64) -> Option<f64>) -> Vec<(Instant, Vec<u8>)> {
        (0..n)
            .filter_map(|k| {
                let j = jitter(k)?;
                Some((
                    ms(t0, k as f64 * 20.0 + j),
                    audio(SSRC, k as u16, (k * 160) as u32, code(k)),
                ))
            })
            .collect()
    }

    fn frames(out: &[Out]) -> Vec<&Vec<i16>> {
        out.iter()
            .filter_map(|o| match &o.poll {
                Poll::Frame(f) | Poll::Concealed(f) => Some(f),
                _ => None,
            })
            .collect()
    }

    fn concealed(out: &[Out]) -> usize {
        out.iter()
            .filter(|o| matches!(o.poll, Poll::Concealed(_)))
            .count()
    }

    /// Deterministic uniform numbers in [0, 1).
    fn lcg(seed: u64) -> impl FnMut() -> f64 {
        let mut s = seed;
        move || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    #[test]
    fn in_order_stream_plays_every_packet_at_the_target_delay() {
        let t0 = start();
        let mut jb = JitterBuffer::new(fixed(60.0), Codec::Pcmu, 8000);
        let out = drive(&mut jb, t0, stream(t0, 500, |_| Some(0.0)), ms(t0, 10_500.0));
        let f = frames(&out);
        assert_eq!(concealed(&out), 0);
        assert_eq!(f.len(), 500);
        for (k, frame) in f.iter().enumerate() {
            assert!(
                frame.iter().all(|&s| s == ulaw_to_linear(code(k as u64))),
                "frame {k}"
            );
        }
        let s = jb.stats();
        assert!(
            (s.mean_playout_delay_ms - 60.0).abs() < 0.01,
            "{}",
            s.mean_playout_delay_ms
        );
        assert_eq!(s.concealed_samples, 0);
        assert_eq!(s.total_samples_received, 500 * 160);
        // The first frame plays 60 ms after the first packet arrives.
        assert_eq!(out[0].at, ms(t0, 60.0));
    }

    #[test]
    fn adaptive_buffer_shrinks_a_clean_stream_to_a_low_delay() {
        let t0 = start();
        let mut jb = JitterBuffer::new(JitterConfig::default(), Codec::Pcmu, 8000);
        let out = drive(
            &mut jb,
            t0,
            stream(t0, 1000, |k| Some((k % 4) as f64)),
            ms(t0, 20_000.0),
        );
        for o in out.iter().take(80) {
            eprintln!(
                "{:?} {:?} {:?} {:?}",
                o.at - t0,
                matches!(o.poll, Poll::Concealed(_)),
                o.delay,
                jb.stats().target_delay_ms
            );
        }
        assert_eq!(jb.stats().concealed_samples, 0);
        assert_eq!(jb.stats().packets_late_discarded, 0);
        let late: Vec<f64> = out.iter().skip(500).filter_map(|o| o.delay).collect();
        assert!(late.iter().all(|&d| d <= 25.0), "{late:?}");
        assert!(jb.stats().removed_samples_for_acceleration > 0);
        // At most 5 ms (40 samples) of audio removed per 20 ms frame.
        assert!(out.iter().all(|o| o.removed <= 40));
        assert!(frames(&out).iter().all(|f| f.len() == 160));
    }

    #[test]
    fn a_buffer_told_to_shrink_in_quiet_audio_only_leaves_loud_audio_whole() {
        let t0 = start();
        let config = JitterConfig {
            quiet_shrink_rms: Some(300.0),
            ..JitterConfig::default()
        };
        // Loud audio all along: the buffer keeps its initial delay rather than cut into it.
        let mut loud = JitterBuffer::new(config, Codec::Pcmu, 8000);
        let constant = |code: u8| -> Vec<(Instant, Vec<u8>)> {
            (0..500u64)
                .map(|k| {
                    let at = ms(t0, k as f64 * 20.0 + (k % 4) as f64);
                    (at, audio(SSRC, k as u16, (k * 160) as u32, code))
                })
                .collect()
        };
        // µ-law 0x90: about 4000 in 16-bit samples.
        let out = drive(&mut loud, t0, constant(0x90), ms(t0, 11_000.0));
        assert_eq!(loud.stats().removed_samples_for_acceleration, 0);
        assert_eq!(loud.stats().concealed_samples, 0);
        assert_eq!(frames(&out).len(), 500);
        // The same stream in silence (µ-law 0xFF): it shrinks as a buffer without the option does.
        let mut quiet = JitterBuffer::new(config, Codec::Pcmu, 8000);
        let out = drive(&mut quiet, t0, constant(0xFF), ms(t0, 11_000.0));
        assert!(quiet.stats().removed_samples_for_acceleration > 0);
        let late: Vec<f64> = out.iter().skip(300).filter_map(|o| o.delay).collect();
        assert!(late.iter().all(|&d| d <= 25.0), "{late:?}");
    }

    #[test]
    fn reordering_within_the_delay_is_fixed() {
        let t0 = start();
        let mut jb = JitterBuffer::new(fixed(60.0), Codec::Pcmu, 8000);
        // Every odd packet overtakes its predecessor.
        let out = drive(
            &mut jb,
            t0,
            stream(t0, 300, |k| Some(if k % 2 == 0 { 25.0 } else { 0.0 })),
            ms(t0, 7_000.0),
        );
        assert_eq!(concealed(&out), 0);
        let f = frames(&out);
        assert_eq!(f.len(), 300);
        for (k, frame) in f.iter().enumerate() {
            assert_eq!(frame[80], ulaw_to_linear(code(k as u64)), "frame {k}");
        }
        assert_eq!(jb.stats().packets_reordered, 150); // packet 0 arrives after packet 1
    }

    #[test]
    fn duplicates_are_dropped_and_counted() {
        let t0 = start();
        let mut jb = JitterBuffer::new(fixed(40.0), Codec::Pcmu, 8000);
        let mut p = stream(t0, 200, |_| Some(0.0));
        let dups: Vec<_> = p
            .iter()
            .map(|(at, b)| (*at + Duration::from_millis(3), b.clone()))
            .collect();
        p.extend(dups);
        let out = drive(&mut jb, t0, p, ms(t0, 5_000.0));
        assert_eq!(frames(&out).len(), 200);
        assert_eq!(concealed(&out), 0);
        assert_eq!(jb.stats().packets_duplicated, 200);
        assert_eq!(jb.stats().packets_received, 400);
    }

    #[test]
    fn sequence_and_timestamp_wrap_play_through() {
        let t0 = start();
        let mut jb = JitterBuffer::new(fixed(40.0), Codec::Pcmu, 8000);
        let p: Vec<_> = (0..100u64)
            .map(|k| {
                let seq = 65_500u16.wrapping_add(k as u16);
                let ts = (u32::MAX - 160 * 50).wrapping_add((k * 160) as u32);
                (ms(t0, k as f64 * 20.0), audio(SSRC, seq, ts, code(k)))
            })
            .collect();
        let out = drive(&mut jb, t0, p, ms(t0, 3_000.0));
        let f = frames(&out);
        assert_eq!(f.len(), 100);
        assert_eq!(concealed(&out), 0);
        assert_eq!(f[99][0], ulaw_to_linear(code(99)));
        assert_eq!(jb.stats().reanchors, 0);
    }

    #[test]
    fn lost_packets_are_concealed_with_plc_and_counted() {
        let t0 = start();
        let mut jb = JitterBuffer::new(fixed(40.0), Codec::Pcmu, 8000);
        let lost = |k: u64| k == 100 || (200..203).contains(&k);
        let out = drive(
            &mut jb,
            t0,
            stream(t0, 300, |k| (!lost(k)).then_some(0.0)),
            ms(t0, 7_000.0),
        );
        assert_eq!(frames(&out).len(), 300);
        assert_eq!(concealed(&out), 4);
        let s = jb.stats();
        assert_eq!(s.concealed_samples, 4 * 160);
        assert_eq!(s.concealment_events, 2);
        // PLC repeats the last period instead of playing silence.
        let f = frames(&out);
        assert!(f[100].iter().any(|&s| s != 0));
    }

    #[test]
    fn a_delay_spike_grows_the_buffer_fast_and_it_shrinks_back_slowly_after_calm() {
        let t0 = start();
        let mut jb = JitterBuffer::new(JitterConfig::default(), Codec::Pcmu, 8000);
        // 20 s calm, 4 s of 0/80 ms jitter, then calm for 60 s.
        let jitter = |k: u64| {
            Some(if (1000..1200).contains(&k) && k % 2 == 0 {
                80.0
            } else {
                1.0
            })
        };
        let out = drive(&mut jb, t0, stream(t0, 4200, jitter), ms(t0, 84_500.0));
        let delay_at = |t_ms: f64| {
            out.iter()
                .filter(|o| o.at <= ms(t0, t_ms))
                .filter_map(|o| o.delay)
                .next_back()
                .unwrap()
        };
        assert!(delay_at(19_900.0) < 25.0, "before: {}", delay_at(19_900.0));
        assert!(delay_at(20_500.0) >= 75.0, "attack: {}", delay_at(20_500.0));
        assert!(delay_at(25_000.0) >= 60.0, "hold: {}", delay_at(25_000.0));
        assert!(delay_at(84_000.0) < 25.0, "release: {}", delay_at(84_000.0));
        let s = jb.stats();
        assert!(
            s.packets_late_discarded <= 10,
            "late {}",
            s.packets_late_discarded
        );
        assert!(s.inserted_samples_for_deceleration >= 3 * 160);
        // At most 5 ms (40 samples) of audio removed per 20 ms frame.
        assert!(out.iter().all(|o| o.removed <= 40));
        assert!(frames(&out).iter().all(|f| f.len() == 160));
    }

    #[test]
    fn an_ssrc_change_resets_the_stream() {
        let t0 = start();
        let mut jb = JitterBuffer::new(fixed(40.0), Codec::Pcmu, 8000);
        let mut p = stream(t0, 100, |_| Some(0.0));
        let other = Ssrc(99);
        p.extend((0..100u64).map(|k| {
            let at = ms(t0, 2000.0 + k as f64 * 20.0);
            (
                at,
                audio(
                    other,
                    40_000u16.wrapping_add(k as u16),
                    7_777_777 + (k * 160) as u32,
                    0x10,
                ),
            )
        }));
        let out = drive(&mut jb, t0, p, ms(t0, 5_000.0));
        let s = jb.stats();
        assert_eq!(s.ssrc_changes, 1);
        assert_eq!(s.packets_late_discarded, 0);
        let new_audio = frames(&out)
            .iter()
            .filter(|f| f[0] == ulaw_to_linear(0x10))
            .count();
        assert!(new_audio >= 98, "{new_audio}");
        assert!(concealed(&out) <= 2);
    }

    #[test]
    fn a_timestamp_jump_re_anchors_instead_of_waiting() {
        let t0 = start();
        let mut jb = JitterBuffer::new(fixed(40.0), Codec::Pcmu, 8000);
        let p: Vec<_> = (0..200u64)
            .map(|k| {
                let ts = if k < 100 { k * 160 } else { 50_000_000 + k * 160 };
                (ms(t0, k as f64 * 20.0), audio(SSRC, k as u16, ts as u32, code(k)))
            })
            .collect();
        let out = drive(&mut jb, t0, p, ms(t0, 5_000.0));
        assert_eq!(jb.stats().reanchors, 1);
        let f = frames(&out);
        assert!(f.len() >= 199 && f.len() <= 202, "{}", f.len());
        assert_eq!(f.last().unwrap()[0], ulaw_to_linear(code(199)));
        assert!(concealed(&out) <= 2);
    }

    #[test]
    fn dtmf_events_pass_through_at_once_and_only_once() {
        let t0 = start();
        let mut jb = JitterBuffer::new(fixed(200.0), Codec::Pcmu, 8000);
        for k in 0..5u64 {
            jb.push(
                ms(t0, k as f64 * 20.0),
                &audio(SSRC, k as u16, (k * 160) as u32, code(k)),
            )
            .unwrap();
        }
        let at = ms(t0, 100.0);
        jb.push(at, &dtmf(5, 800, 11, false)).unwrap();
        assert_eq!(jb.poll(at), Poll::Event(Digit::Pound));
        for (i, seq) in (6..9).enumerate() {
            jb.push(at + Duration::from_millis(i as u64), &dtmf(seq, 800, 11, true))
                .unwrap();
        }
        assert!(matches!(jb.poll(at), Poll::Wait(_)));
        assert_eq!(jb.stats().dtmf_events, 1);
        // Audio is still waiting for its 200 ms: the digit did not.
        assert!(matches!(jb.poll(ms(t0, 150.0)), Poll::Wait(_)));
    }

    #[test]
    fn a_long_silence_does_not_produce_minutes_of_concealment() {
        let t0 = start();
        let mut jb = JitterBuffer::new(JitterConfig::default(), Codec::Pcmu, 8000);
        // 2 s of talk, 2 minutes of DTX (timestamps keep counting), 2 s of talk.
        let talk = |k: u64| k < 100 || (6100..6200).contains(&k);
        let out = drive(
            &mut jb,
            t0,
            stream(t0, 6200, |k| talk(k).then_some(1.0)),
            ms(t0, 125_000.0),
        );
        let s = jb.stats();
        assert!(
            s.concealed_samples <= 2 * 5 * 160,
            "concealed {}",
            s.concealed_samples
        );
        assert_eq!(s.playout_restarts, 2);
        // The second talkspurt plays in full and in order; the gap is silence, not concealment.
        let played: Vec<i16> = out
            .iter()
            .filter_map(|o| match &o.poll {
                Poll::Frame(f) => Some(f[0]),
                _ => None,
            })
            .collect();
        let second: Vec<i16> = (6100..6200).map(|k| ulaw_to_linear(code(k))).collect();
        assert_eq!(played[played.len() - 100..], second[..]);
        // The first talkspurt shrank its 40 ms start-up delay by time-compression.
        assert!(played.len() >= 195, "{}", played.len());
        assert!(concealed(&out) <= 2 * 5);
    }

    fn drift(rate: f64) -> (JitterStats, Vec<f64>) {
        let t0 = start();
        let mut jb = JitterBuffer::new(JitterConfig::default(), Codec::Pcmu, 8000);
        let mut rnd = lcg(7);
        // 10 minutes; the sender's 20 ms last 20 × rate ms of receiver time.
        let n = 30_000;
        let out = drive(
            &mut jb,
            t0,
            stream(t0, n, |k| Some(k as f64 * 20.0 * (rate - 1.0) + rnd() * 10.0)),
            ms(t0, n as f64 * 20.0 * rate + 500.0),
        );
        let delays = out.iter().skip(500).filter_map(|o| o.delay).collect();
        (jb.stats(), delays)
    }

    #[test]
    fn clock_drift_of_half_a_percent_keeps_the_delay_bounded() {
        for rate in [1.005, 0.995] {
            let (s, delays) = drift(rate);
            let max = delays.iter().copied().fold(0.0, f64::max);
            assert!(max < 80.0, "rate {rate}: max delay {max}");
            assert!(
                s.mean_playout_delay_ms < 50.0,
                "rate {rate}: mean {}",
                s.mean_playout_delay_ms
            );
            // Late loss stays small: no starvation.
            assert!(
                s.packets_late_discarded < 300,
                "rate {rate}: late {}",
                s.packets_late_discarded
            );
            assert!(
                s.emitted_frames > 29_000,
                "rate {rate}: emitted {}",
                s.emitted_frames
            );
        }
    }

    #[test]
    fn the_recording_config_never_discards_a_late_packet_on_a_jittery_trace() {
        let t0 = start();
        let mut jb = JitterBuffer::new(JitterConfig::recording(), Codec::Pcmu, 8000);
        let mut rnd = lcg(3);
        // Up to 400 ms of jitter, with spikes and heavy reordering.
        let out = drive(
            &mut jb,
            t0,
            stream(t0, 3000, |_| {
                Some(if rnd() < 0.05 { 400.0 * rnd() } else { 60.0 * rnd() })
            }),
            ms(t0, 62_000.0),
        );
        let s = jb.stats();
        assert_eq!(s.packets_late_discarded, 0);
        assert_eq!(s.concealed_samples, 0);
        assert_eq!(frames(&out).len(), 3000);
        // Same jittery trace through the interactive config does lose some: the test bites.
        let mut jb = JitterBuffer::new(fixed(40.0), Codec::Pcmu, 8000);
        let mut rnd = lcg(3);
        drive(
            &mut jb,
            t0,
            stream(t0, 3000, |_| {
                Some(if rnd() < 0.05 { 400.0 * rnd() } else { 60.0 * rnd() })
            }),
            ms(t0, 62_000.0),
        );
        assert!(jb.stats().packets_late_discarded > 0);
    }

    #[test]
    fn the_packet_limit_keeps_the_limit_and_drops_the_oldest_beyond_it() {
        let t0 = start();
        let config = JitterConfig {
            max_packets: 500,
            ..fixed(60.0)
        };
        let mut jb = JitterBuffer::new(config, Codec::Pcmu, 8000);
        for k in 0..500u64 {
            jb.push(t0, &audio(SSRC, k as u16, (k * 160) as u32, code(k)))
                .unwrap();
        }
        assert_eq!(jb.buffered_packets(), 500);
        assert_eq!(jb.stats().packets_overflow_discarded, 0);
        jb.push(t0, &audio(SSRC, 500, 500 * 160, code(500))).unwrap();
        assert_eq!(jb.buffered_packets(), 500);
        assert_eq!(jb.stats().packets_overflow_discarded, 1);
        // The oldest (packet 0) is gone: playout starts with packet 1.
        let first = (0..10).find_map(|i| match jb.poll(ms(t0, 60.0 + 20.0 * f64::from(i))) {
            Poll::Frame(f) => Some(f),
            _ => None,
        });
        assert_eq!(first.unwrap()[0], ulaw_to_linear(code(1)));
    }

    #[test]
    fn foreign_payload_types_and_garbage_are_refused_with_typed_errors() {
        let t0 = start();
        let mut jb = JitterBuffer::new(JitterConfig::default(), Codec::Pcmu, 8000);
        let payload = [0u8; 160];
        let pcma = RtpPacket::new(Pt(8), Seq16(1), Ts32(0), SSRC, &payload)
            .to_vec()
            .unwrap();
        assert_eq!(jb.push(t0, &pcma), Err(JitterError::UnexpectedPayloadType(8)));
        assert!(matches!(jb.push(t0, &[0x80, 0]), Err(JitterError::Rtp(_))));
        assert_eq!(jb.stats().packets_received, 2);
        assert_eq!(jb.buffered_packets(), 0);
    }

    #[test]
    fn stats_serialize_with_webrtc_like_names() {
        let t0 = start();
        let mut jb = JitterBuffer::new(
            JitterConfig {
                policy: PolicyConfig::Adaptive(AdaptiveConfig::default()),
                limits: AdaptLimits::default(),
                ..JitterConfig::default()
            },
            Codec::Pcma,
            8000,
        );
        drive(&mut jb, t0, Vec::new(), ms(t0, 100.0));
        let json = serde_json::to_value(jb.stats()).unwrap();
        for key in [
            "concealed_samples",
            "concealment_events",
            "packets_late_discarded",
            "mean_playout_delay_ms",
            "target_delay_ms",
            "inserted_samples_for_deceleration",
            "removed_samples_for_acceleration",
            "packets_duplicated",
            "packets_reordered",
        ] {
            assert!(json.get(key).is_some(), "{key}");
        }
    }
}
