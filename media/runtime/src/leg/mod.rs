//! The sans-IO core of one RTP leg.
//!
//! ```text
//!            handle_command(now, MediaCommand)        poll_transmit() -> Transmit
//!   signalling ─────────────────────┐          ┌────────────────────────────▶ UDP (RTP / RTCP)
//!                                   ▼          │
//!   UDP ─ handle_datagram(now, ..) ─▶  LegCore ─┼─ poll_event() -> MediaEvent ─▶ signalling
//!   clock ─ handle_timeout(now) ───▶           └─ poll_timeout() -> Instant  ─▶ the shell's sleep
//! ```
//!
//! Drain contract: after every `handle_*` call, drain `poll_transmit` and `poll_event` until
//! they return `None`, then sleep until `poll_timeout`. Nothing here reads a clock or touches
//! a socket; tests drive it in virtual time.
//!
//! **Sending.** From the first `Configure` on, a ptime clock ticks every packetisation time
//! (the peer's `a=ptime` when it is 10–120 ms, else [`LegConfig::ptime`]). Each tick pulls
//! one frame: the next prompt frame while playing, else silence. While the direction allows
//! sending, the frame goes out as one RTP packet; sequence numbers are continuous and the
//! timestamp follows the clock (`initial_ts + 8 × elapsed ms`), so after hold the timestamp
//! jumps by the time spent on hold and the marker bit flags the new talkspurt. The clock keeps
//! ticking on hold, so a prompt keeps its pace and finishes on time. A late `handle_timeout`
//! catches up with at most [`MAX_BURST`] packets; beyond that the missed ticks are skipped.
//!
//! **Receiving.** The first RTP packet with a negotiated payload type latches its source
//! address; packets from elsewhere are dropped and counted until a `Configure` names a new
//! remote address. SSRC changes from the latched address restart the statistics. RFC 4733
//! events are accepted whatever their SSRC (SIPp replays DTMF pcaps with their own), one
//! digit per event, reported on its first packet. Audio reaches the in-band DTMF detector
//! through an adaptive jitter buffer (`hotline-jitter`), which puts reordered packets back in
//! order and conceals lost ones, so the detector sees the tone as it was sent; the buffer and
//! the detector are switched off once the peer has sent an RFC 4733 event (a phone sending both
//! must not double its digits). Silence detection reads the audio as it arrives. Bridged audio
//! is forwarded as it comes, with no buffer.
//!
//! **RTCP.** Every `rtcp_interval` an SR (or an RR before we have sent anything) with a
//! report block about the peer's audio, plus SDES CNAME, goes to the latched RTCP source or
//! to the remote port + 1. The interval is not randomised (RFC 3550 §6.2 asks for it in large
//! sessions; a leg is a two-party session). Incoming SR/RR feed the peer-reported loss and
//! jitter of [`LegStats`]. `Close` sends a final report with BYE.

mod playback;
#[cfg(test)]
mod tests;
mod timer;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use audio::PromptLibrary;
use codec::{DtmfDetector, FRAME_SAMPLES};
use jitter::{JitterBuffer, JitterConfig, JitterStats, Poll};
use media::{
    BridgedKind, BridgedPacket, Codec, Digit, DigitSource, Direction, LegStats, MediaCommand, MediaEvent,
    ReceiveBufferStats, RemoteMedia,
};
use rtp::rtcp::{self, RtcpPacket, SDES_CNAME};
use rtp::{
    Bye, NtpTime, PacketKind, Pt, ReceiverReport, RtpPacket, RtpSession, SdesChunk, SdesItem, SenderInfo,
    SenderReport, Seq16, SeqVerdict, Ssrc, TelephoneEvent, Ts32,
};

use self::playback::Playback;
use self::timer::{Timer, TimerTable};
use crate::recorder::{RecorderStats, StereoRecorder};

/// The RTP clock rate of the G.711 codecs and of telephone-event/8000.
const CLOCK_RATE: u32 = 8000;
/// Most packets one late `handle_timeout` sends to catch up (100 ms at 20 ms ptime).
pub const MAX_BURST: u32 = 5;
/// Audio below this RMS (about −45 dBm0) counts as silence.
const SILENCE_RMS: f32 = 90.0;
/// Payload type of comfort noise (RFC 3389): the peer is silent.
const PT_COMFORT_NOISE: u8 = 13;
/// The detection buffer shrinks only through audio quieter than this RMS (about −40 dBFS); a DTMF tone
/// at −10 dBm0 is some 30 dB louder.
const QUIET_SHRINK_RMS: f64 = 300.0;
/// Most frames taken from the detection buffer in one wake-up (a late wake-up catches up this far).
const MAX_DETECT_POLLS: usize = 50;
/// Telephone events remembered for de-duplication.
const EVENT_MEMORY: usize = 16;
/// Media waiting to cross a bridge; beyond it the oldest is dropped (the other leg is not keeping up).
const MAX_BRIDGE_QUEUE: usize = 64;
/// How long an event is remembered after its last packet.
const EVENT_FORGET_AFTER: Duration = Duration::from_secs(5);
/// A replayed event (same SSRC and timestamp, e.g. the same pcap played twice) counts as a
/// new press when it starts again this long after the previous one ended.
const EVENT_REPRESS_GAP: Duration = Duration::from_millis(100);

/// Settings of one leg.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegConfig {
    /// Our SSRC (random, from the caller's seeded RNG).
    pub ssrc: u32,
    /// First sequence number sent (random, RFC 3550 §5.1).
    pub initial_seq: u16,
    /// RTP timestamp of the first tick (random, RFC 3550 §5.1).
    pub initial_ts: u32,
    /// Packetisation time used when the peer gave none (20 ms).
    pub ptime: Duration,
    /// Report [`MediaEvent::RtpTimeout`] after this long without RTP while receiving (0 = off).
    pub rtp_timeout: Duration,
    /// Report [`MediaEvent::SilenceTimeout`] after this long of silent RTP (0 = off).
    pub silence_timeout: Duration,
    /// Interval between RTCP reports (5 s, RFC 3550 §6.2 minimum; 0 = no RTCP).
    pub rtcp_interval: Duration,
    /// RTCP SDES CNAME.
    pub cname: String,
}

impl LegConfig {
    /// A config with 20 ms ptime, 5 s RTCP interval and both timeouts off.
    pub fn new(ssrc: u32, initial_seq: u16, initial_ts: u32, cname: impl Into<String>) -> Self {
        Self {
            ssrc,
            initial_seq,
            initial_ts,
            ptime: Duration::from_millis(20),
            rtp_timeout: Duration::ZERO,
            silence_timeout: Duration::ZERO,
            rtcp_interval: Duration::from_secs(5),
            cname: cname.into(),
        }
    }
}

/// A datagram to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    pub destination: SocketAddr,
    /// Send from the RTCP socket (RTP port + 1) rather than the RTP one.
    pub rtcp: bool,
    pub contents: Vec<u8>,
}

/// An RFC 4733 event already reported, keyed as the spec keys events: SSRC + timestamp.
#[derive(Debug, Clone, Copy)]
struct SeenEvent {
    ssrc: Ssrc,
    timestamp: Ts32,
    last_seen: Instant,
    ended: bool,
}

/// One RTP leg, sans-IO. See the module docs for the model and the drain contract.
pub struct LegCore {
    config: LegConfig,
    prompts: Arc<PromptLibrary>,
    created: Instant,
    wall_clock: Option<(Instant, SystemTime)>,
    remote: Option<RemoteMedia>,
    direction: Direction,
    closed: bool,
    timers: TimerTable,

    // Sending.
    clock_origin: Option<Instant>,
    seq: Seq16,
    marker_pending: bool,
    octets_sent: u64,
    play: Option<Playback>,
    /// The shared music on hold, and whether it plays (under any prompt).
    music: Option<Arc<crate::MusicOnHold>>,
    music_on: bool,
    frame: Vec<i16>,
    payload: Vec<u8>,

    // Receiving.
    latched_rtp: Option<SocketAddr>,
    latched_rtcp: Option<SocketAddr>,
    rx: Option<RtpSession>,
    lost_before: u64,
    detector: DtmfDetector,
    /// Decoded audio of the last packet, for the silence check.
    pcm: Vec<i16>,
    /// The adaptive buffer in front of the in-band detector, and when it next has a frame.
    detect: Option<JitterBuffer>,
    /// The payload type the detection buffer was built for (a re-INVITE may switch codecs).
    detect_pt: u8,
    detect_next: Option<Instant>,
    /// The counters of a detection buffer that was switched off.
    detected: Option<JitterStats>,
    rfc4733_seen: bool,
    seen_events: VecDeque<SeenEvent>,
    rtp_timeout_fired: bool,
    silent_since: Option<Instant>,
    silence_fired: bool,

    stats: LegStats,
    transmits: VecDeque<Transmit>,
    events: VecDeque<MediaEvent>,
    /// Joined to another leg: received media is handed out, filler silence is not sent.
    bridged: bool,
    bridge_out: VecDeque<BridgedPacket>,
    /// The RTP timestamp of the telephone event being relayed over the bridge (one per event).
    bridge_event_ts: Option<Ts32>,
    /// Bridged audio keeps its source's timestamp spacing: (source SSRC, offset to our timestamps).
    bridge_ts_map: Option<(u32, u32)>,
    /// The recording of this leg, while one runs (the shell writes its samples to the file).
    recorder: Option<StereoRecorder>,
    /// The last recording's counters, once it has finished.
    recorded: Option<RecorderStats>,
}

impl LegCore {
    /// The shared music on hold this leg plays on [`MediaCommand::Music`].
    #[must_use]
    pub fn with_music(mut self, music: Option<Arc<crate::MusicOnHold>>) -> Self {
        self.music = music;
        self
    }

    pub fn new(now: Instant, config: LegConfig, prompts: Arc<PromptLibrary>) -> Self {
        let seq = Seq16(config.initial_seq);
        Self {
            config,
            prompts,
            created: now,
            wall_clock: None,
            remote: None,
            direction: Direction::SendRecv,
            closed: false,
            timers: TimerTable::default(),
            clock_origin: None,
            seq,
            marker_pending: true,
            octets_sent: 0,
            play: None,
            music: None,
            music_on: false,
            frame: Vec::with_capacity(FRAME_SAMPLES),
            payload: Vec::with_capacity(FRAME_SAMPLES),
            latched_rtp: None,
            latched_rtcp: None,
            rx: None,
            lost_before: 0,
            detector: DtmfDetector::new(),
            pcm: Vec::with_capacity(2 * FRAME_SAMPLES),
            detect: None,
            detect_pt: 0,
            detect_next: None,
            detected: None,
            rfc4733_seen: false,
            seen_events: VecDeque::with_capacity(EVENT_MEMORY),
            rtp_timeout_fired: false,
            silent_since: None,
            silence_fired: false,
            stats: LegStats::default(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            bridged: false,
            bridge_out: VecDeque::new(),
            bridge_event_ts: None,
            bridge_ts_map: None,
            recorder: None,
            recorded: None,
        }
    }

    /// Anchors the RTCP NTP timestamps: `wall` is the wall-clock time at `now`. Without it,
    /// NTP time counts from the Unix epoch at construction (deterministic, for tests).
    pub fn set_wall_clock(&mut self, now: Instant, wall: SystemTime) {
        self.wall_clock = Some((now, wall));
    }

    /// Whether the leg has been closed (it then ignores every input).
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// The latched RTP source, if any.
    pub fn latched_source(&self) -> Option<SocketAddr> {
        self.latched_rtp
    }

    /// The counters so far (the same as [`MediaEvent::Closed`] carries).
    pub fn stats(&self) -> LegStats {
        let mut stats = self.stats.clone();
        let current = self
            .rx
            .as_ref()
            .map_or(0, |s| u64::try_from(s.cumulative_lost()).unwrap_or(0));
        stats.packets_lost = self.lost_before + current;
        stats.jitter_ms = self.rx.as_ref().map_or(0.0, RtpSession::jitter_ms);
        stats.receive_buffer = self
            .detect
            .as_ref()
            .map(JitterBuffer::stats)
            .or_else(|| self.detected.clone())
            .map(|j| ReceiveBufferStats {
                mean_playout_delay_ms: j.mean_playout_delay_ms,
                target_delay_ms: j.target_delay_ms,
                concealed_samples: j.concealed_samples,
                concealment_events: j.concealment_events,
                late_discarded: j.packets_late_discarded,
                inserted_samples: j.inserted_samples_for_deceleration,
                removed_samples: j.removed_samples_for_acceleration,
                emitted_frames: j.emitted_frames,
            });
        stats
    }

    pub fn handle_command(&mut self, now: Instant, cmd: MediaCommand) {
        if self.closed {
            return;
        }
        match cmd {
            MediaCommand::Configure { remote } => self.configure(now, remote),
            MediaCommand::SetDirection(direction) => self.set_direction(now, direction),
            MediaCommand::Play { play_id, prompts } => self.play(play_id, prompts),
            MediaCommand::StopPlay => {
                self.music_on = false;
                self.stop_play();
            }
            MediaCommand::Music => self.music_on = true,
            MediaCommand::Close => self.close(now),
            MediaCommand::Bridge => {
                self.bridged = true;
                self.bridge_ts_map = None;
            }
            MediaCommand::Unbridge => {
                self.bridged = false;
                self.bridge_out.clear();
                self.bridge_ts_map = None;
            }
            MediaCommand::StartRecording { .. } => self.start_recording(now),
            MediaCommand::PauseRecording => {
                if let Some(r) = self.recorder.as_mut() {
                    r.pause(now);
                }
            }
            MediaCommand::ResumeRecording => {
                if let Some(r) = self.recorder.as_mut() {
                    r.resume(now);
                }
            }
            MediaCommand::StopRecording => self.stop_recording(now),
        }
    }

    /// Whether a recorder exists (running, or stopped with its tail not yet taken).
    pub fn is_recording(&self) -> bool {
        self.recorder.is_some()
    }

    /// Whether the recorder has stopped (its remaining samples are the last).
    pub fn recording_finished(&self) -> bool {
        self.recorder.as_ref().is_some_and(|r| r.poll_timeout().is_none())
    }

    /// Stereo samples the recording produced since the last call (interleaved: received left, sent
    /// right), for the shell to write; `None` when there are none.
    pub fn poll_recorded(&mut self) -> Option<Vec<i16>> {
        let samples = self.recorder.as_mut().map(StereoRecorder::take_samples)?;
        if samples.is_empty() { None } else { Some(samples) }
    }

    /// The counters of the recording that finished last (its tail has been handed out by
    /// [`Self::poll_recorded`] before it finished).
    pub fn take_recording_stats(&mut self) -> Option<RecorderStats> {
        self.recorded.take()
    }

    /// The recorder's own ticks are aligned on the ptime clock, so a leg wakes once per frame.
    fn start_recording(&mut self, now: Instant) {
        if self.recorder.is_some() {
            return;
        }
        let (codec, pt, dtmf) = self.remote.as_ref().map_or((Codec::Pcmu, 0, None), |r| {
            (r.codec, r.payload_type, r.dtmf_payload_type)
        });
        let start = self
            .timers
            .get(Timer::Ptime)
            .and_then(|t| t.checked_sub(StereoRecorder::FRAME))
            .filter(|t| *t <= now)
            .unwrap_or(now);
        self.recorder = Some(StereoRecorder::new(start, codec, pt, dtmf));
    }

    /// Flushes the recording's buffered tail into its samples; the recorder stays until those are
    /// taken ([`Self::finish_recording`]).
    fn stop_recording(&mut self, now: Instant) {
        if let Some(r) = self.recorder.as_mut() {
            r.finish(now);
        }
    }

    /// After [`MediaCommand::StopRecording`] (or `Close`) and the last [`Self::poll_recorded`]: drops
    /// the recorder and keeps its counters. Returns whether there was one.
    pub fn finish_recording(&mut self) -> bool {
        match self.recorder.take() {
            Some(r) => {
                self.recorded = Some(r.stats());
                true
            }
            None => false,
        }
    }

    /// A datagram from `source` on our RTP port, or on our RTCP port when `rtcp_port`.
    pub fn handle_datagram(&mut self, now: Instant, source: SocketAddr, data: &[u8], rtcp_port: bool) {
        if self.closed {
            return;
        }
        match rtp::classify(data) {
            PacketKind::Other => {}
            PacketKind::Rtcp => self.handle_rtcp(now, source, data, rtcp_port),
            PacketKind::Rtp if rtcp_port => {}
            PacketKind::Rtp => self.handle_rtp(now, source, data),
        }
    }

    /// Runs every timer due at `now`: ptime ticks (catching up), RTCP, RTP timeout.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.closed {
            return;
        }
        if self.timers.is_due(Timer::RtpTimeout, now) {
            self.timers.clear(Timer::RtpTimeout);
            self.rtp_timeout_fired = true;
            self.events.push_back(MediaEvent::RtpTimeout);
        }
        self.run_clock(now);
        if self.detect_next.is_some_and(|at| at <= now) {
            self.poll_detect(now);
        }
        if let Some(r) = self.recorder.as_mut() {
            r.handle_timeout(now);
        }
        if let Some(at) = self.timers.get(Timer::Rtcp).filter(|at| *at <= now) {
            self.send_rtcp(now, false);
            let next = at + self.config.rtcp_interval;
            self.timers.set(
                Timer::Rtcp,
                if next > now {
                    next
                } else {
                    now + self.config.rtcp_interval
                },
            );
        }
    }

    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// Media received while bridged, for the other leg ([`Self::handle_bridged`] there).
    pub fn poll_bridged(&mut self) -> Option<BridgedPacket> {
        self.bridge_out.pop_front()
    }

    /// Sends media that arrived on the other leg of a bridge: audio in our codec goes out as it came
    /// (transcoded when the codecs differ), telephone events with our event payload type and one RTP
    /// timestamp per event. Ignored unless bridged, configured and allowed to send.
    pub fn handle_bridged(&mut self, now: Instant, packet: BridgedPacket) {
        if !self.bridged || self.closed || !self.direction.sends() {
            return;
        }
        let Some(remote) = self.remote.clone() else { return };
        let (pt, payload, ts) = match packet.kind {
            BridgedKind::Audio(codec) if codec == remote.codec => {
                let ts = self.bridged_ts(now, &packet);
                (remote.payload_type, packet.payload, ts)
            }
            BridgedKind::Audio(codec) => {
                let mut pcm = Vec::with_capacity(packet.payload.len());
                codec::decode(codec, &packet.payload, &mut pcm);
                let mut out = Vec::with_capacity(pcm.len());
                codec::encode(remote.codec, &pcm, &mut out);
                let ts = self.bridged_ts(now, &packet);
                (remote.payload_type, out, ts)
            }
            BridgedKind::Event => {
                let Some(pt) = remote.dtmf_payload_type else {
                    return;
                };
                let ts = match self.bridge_event_ts {
                    Some(ts) if !packet.marker => ts,
                    _ => self.rtp_ts_at(now),
                };
                // The end bit (byte 1, top bit) closes the event: the next one gets a new timestamp.
                let ended = packet.payload.get(1).is_some_and(|b| b & 0x80 != 0);
                self.bridge_event_ts = if ended { None } else { Some(ts) };
                (pt, packet.payload, ts)
            }
        };
        let mut rtp = RtpPacket::new(Pt(pt), self.seq, ts, Ssrc(self.config.ssrc), &payload);
        rtp.marker = packet.marker || self.marker_pending;
        if let Some(r) = self.recorder.as_mut() {
            r.push_right(now, &rtp);
        }
        if let Ok(contents) = rtp.to_vec() {
            self.transmits.push_back(Transmit {
                destination: remote.addr,
                rtcp: false,
                contents,
            });
            self.seq = self.seq.next();
            self.marker_pending = false;
            self.stats.packets_sent += 1;
            self.octets_sent += payload.len() as u64;
        }
    }

    /// Our timestamp for bridged audio: the source's, shifted by an offset fixed at the first packet of
    /// each source SSRC (and after our own packets interrupted the stream), so the spacing the far end
    /// sees is the sampling, not the network's jitter.
    fn bridged_ts(&mut self, now: Instant, packet: &BridgedPacket) -> Ts32 {
        let offset = match self.bridge_ts_map {
            Some((ssrc, offset)) if ssrc == packet.ssrc => offset,
            _ => {
                let offset = self.rtp_ts_at(now).0.wrapping_sub(packet.timestamp);
                self.bridge_ts_map = Some((packet.ssrc, offset));
                self.marker_pending = true;
                offset
            }
        };
        Ts32(packet.timestamp.wrapping_add(offset))
    }

    fn bridge_forward(&mut self, kind: BridgedKind, packet: &RtpPacket<'_>) {
        if self.bridged {
            if self.bridge_out.len() >= MAX_BRIDGE_QUEUE {
                self.bridge_out.pop_front();
            }
            self.bridge_out.push_back(BridgedPacket {
                kind,
                payload: packet.payload.to_vec(),
                marker: packet.marker,
                timestamp: packet.timestamp.0,
                ssrc: packet.ssrc.0,
            });
        }
    }

    pub fn poll_event(&mut self) -> Option<MediaEvent> {
        self.events.pop_front()
    }

    /// When `handle_timeout` must next be called (`None` once closed or before `Configure`).
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.closed {
            return None;
        }
        let recorder = self.recorder.as_ref().and_then(StereoRecorder::poll_timeout);
        [self.timers.next().map(|(at, _)| at), recorder, self.detect_next]
            .into_iter()
            .flatten()
            .min()
    }

    // ---- commands ------------------------------------------------------------------------

    fn configure(&mut self, now: Instant, remote: RemoteMedia) {
        let same_addr = self.remote.as_ref().is_some_and(|r| r.addr == remote.addr);
        if !same_addr {
            self.latched_rtp = None;
            self.latched_rtcp = None;
        }
        self.remote = Some(remote);
        if self.clock_origin.is_none() {
            self.clock_origin = Some(now);
            self.timers.set(Timer::Ptime, now);
            self.marker_pending = true;
            if !self.config.rtcp_interval.is_zero() {
                self.timers.set(Timer::Rtcp, now + self.config.rtcp_interval);
            }
        }
        self.restart_receive_timers(now);
    }

    fn set_direction(&mut self, now: Instant, direction: Direction) {
        let before = self.direction;
        self.direction = direction;
        if direction.sends() && !before.sends() {
            self.marker_pending = true;
        }
        if direction.receives() && !before.receives() {
            self.restart_receive_timers(now);
        } else if !direction.receives() {
            self.timers.clear(Timer::RtpTimeout);
        }
    }

    /// Gives the peer a fresh `rtp_timeout` / `silence_timeout` from `now`.
    fn restart_receive_timers(&mut self, now: Instant) {
        self.rtp_timeout_fired = false;
        self.silent_since = None;
        self.silence_fired = false;
        self.arm_rtp_timeout(now);
    }

    fn arm_rtp_timeout(&mut self, now: Instant) {
        if self.remote.is_some() && self.direction.receives() && !self.config.rtp_timeout.is_zero() {
            self.timers.set(Timer::RtpTimeout, now + self.config.rtp_timeout);
        } else {
            self.timers.clear(Timer::RtpTimeout);
        }
    }

    fn play(&mut self, play_id: u64, names: Vec<String>) {
        self.stop_play();
        let mut samples = Vec::with_capacity(names.len());
        for name in names {
            match self.prompts.get(&name) {
                Some(s) => samples.push(s),
                None => self.events.push_back(MediaEvent::UnknownPrompt { play_id, name }),
            }
        }
        if samples.iter().all(|s| s.is_empty()) {
            self.events.push_back(MediaEvent::PlayFinished {
                play_id,
                interrupted: false,
            });
        } else {
            self.play = Some(Playback::new(play_id, samples));
        }
    }

    fn stop_play(&mut self) {
        if let Some(old) = self.play.take() {
            self.events.push_back(MediaEvent::PlayFinished {
                play_id: old.play_id,
                interrupted: true,
            });
        }
    }

    fn close(&mut self, now: Instant) {
        self.stop_play();
        self.stop_recording(now);
        if self.remote.is_some() && !self.config.rtcp_interval.is_zero() {
            self.send_rtcp(now, true);
        }
        self.closed = true;
        self.timers.clear_all();
        self.events.push_back(MediaEvent::Closed { stats: self.stats() });
    }

    // ---- sending -------------------------------------------------------------------------

    fn ptime(&self) -> Duration {
        match self.remote.as_ref().map(|r| r.ptime_ms) {
            Some(ms @ 10..=120) => Duration::from_millis(u64::from(ms)),
            _ if self.config.ptime >= Duration::from_millis(10) => self.config.ptime,
            _ => Duration::from_millis(20),
        }
    }

    /// RTP timestamp of the sampling instant `at`: it follows the clock.
    fn rtp_ts_at(&self, at: Instant) -> Ts32 {
        let elapsed = self
            .clock_origin
            .map_or(Duration::ZERO, |o| at.saturating_duration_since(o));
        let samples = elapsed.as_nanos() * u128::from(CLOCK_RATE) / 1_000_000_000;
        Ts32(self.config.initial_ts).advance(samples as u32)
    }

    fn ntp_at(&self, now: Instant) -> NtpTime {
        match self.wall_clock {
            Some((at, wall)) => {
                let t = if now >= at {
                    wall.checked_add(now.duration_since(at))
                } else {
                    wall.checked_sub(at.duration_since(now))
                };
                NtpTime::from_system_time(t.unwrap_or(wall))
            }
            None => NtpTime::from_unix(now.saturating_duration_since(self.created)),
        }
    }

    fn run_clock(&mut self, now: Instant) {
        let mut sent = 0;
        while let Some(tick) = self.timers.get(Timer::Ptime).filter(|t| *t <= now) {
            let ptime = self.ptime();
            if sent >= MAX_BURST {
                // Too late to catch up: skip the missed ticks; the timestamp jumps with the
                // clock and the marker bit flags the discontinuity.
                let behind = now.duration_since(tick).as_nanos() / ptime.as_nanos().max(1);
                let skip = u32::try_from(behind + 1).unwrap_or(u32::MAX);
                self.timers.set(Timer::Ptime, tick + ptime.saturating_mul(skip));
                self.marker_pending = true;
                break;
            }
            self.tick(tick, ptime);
            sent += 1;
            self.timers.set(Timer::Ptime, tick + ptime);
        }
    }

    /// One ptime tick at `at`: pull a frame, send it if the direction allows.
    fn tick(&mut self, at: Instant, ptime: Duration) {
        let samples = usize::try_from(ptime.as_millis()).unwrap_or(20) * (CLOCK_RATE as usize / 1000);
        let mut frame = std::mem::take(&mut self.frame);
        frame.clear();
        frame.resize(samples, 0);
        let playing = self.play.is_some();
        let finished = self
            .play
            .as_mut()
            .and_then(|p| p.fill(&mut frame).then_some(p.play_id));
        if let Some(play_id) = finished {
            self.play = None;
            self.events.push_back(MediaEvent::PlayFinished {
                play_id,
                interrupted: false,
            });
        }

        let music = self.music.as_ref().filter(|_| self.music_on && !playing);
        match &self.remote {
            // Bridged and nothing to play: the other leg's media fills the stream.
            Some(_) if self.bridged && !playing && music.is_none() => {}
            Some(remote) if self.direction.sends() => {
                let mut payload = std::mem::take(&mut self.payload);
                payload.clear();
                if playing {
                    codec::encode(remote.codec, &frame, &mut payload);
                } else if let Some(m) = music {
                    if samples == FRAME_SAMPLES {
                        // The frame on air, encoded once for every listener.
                        payload.extend_from_slice(m.frame(remote.codec, at));
                    } else {
                        m.fill(at, &mut frame);
                        codec::encode(remote.codec, &frame, &mut payload);
                    }
                } else {
                    payload.resize(samples, codec::silence_byte(remote.codec));
                }
                let mut packet = RtpPacket::new(
                    Pt(remote.payload_type),
                    self.seq,
                    self.rtp_ts_at(at),
                    Ssrc(self.config.ssrc),
                    &payload,
                );
                packet.marker = self.marker_pending;
                if let Some(r) = self.recorder.as_mut() {
                    r.push_right(at, &packet);
                }
                if self.bridged {
                    // Our prompt interrupts the bridged stream: re-anchor its timestamps afterwards.
                    self.bridge_ts_map = None;
                }
                match packet.to_vec() {
                    Ok(contents) => {
                        self.transmits.push_back(Transmit {
                            destination: remote.addr,
                            rtcp: false,
                            contents,
                        });
                        self.seq = self.seq.next();
                        self.marker_pending = false;
                        self.stats.packets_sent += 1;
                        self.octets_sent += payload.len() as u64;
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot build RTP packet"),
                }
                self.payload = payload;
            }
            _ => self.marker_pending = true,
        }
        self.frame = frame;
    }

    fn send_rtcp(&mut self, now: Instant, bye: bool) {
        let Some(remote) = &self.remote else { return };
        let destination = self.latched_rtcp.unwrap_or_else(|| {
            let port = remote.addr.port().checked_add(1).unwrap_or(remote.addr.port());
            SocketAddr::new(remote.addr.ip(), port)
        });
        let ssrc = Ssrc(self.config.ssrc);
        let reports = self
            .rx
            .as_mut()
            .map(|s| s.report_block(now))
            .into_iter()
            .collect();
        let report = if self.stats.packets_sent > 0 {
            RtcpPacket::SenderReport(SenderReport {
                ssrc,
                info: SenderInfo {
                    ntp: self.ntp_at(now),
                    rtp_ts: self.rtp_ts_at(now),
                    // RFC 3550 §6.4.1: these counters wrap.
                    packet_count: self.stats.packets_sent as u32,
                    octet_count: self.octets_sent as u32,
                },
                reports,
            })
        } else {
            RtcpPacket::ReceiverReport(ReceiverReport { ssrc, reports })
        };
        let cname = self.config.cname.as_bytes();
        let cname = cname.get(..255).unwrap_or(cname).to_vec();
        let mut packets = vec![
            report,
            RtcpPacket::Sdes(vec![SdesChunk {
                ssrc,
                items: vec![SdesItem {
                    kind: SDES_CNAME,
                    value: cname,
                }],
            }]),
        ];
        if bye {
            packets.push(RtcpPacket::Bye(Bye {
                sources: vec![ssrc],
                reason: None,
            }));
        }
        match rtcp::build_compound(&packets) {
            Ok(contents) => self.transmits.push_back(Transmit {
                destination,
                rtcp: true,
                contents,
            }),
            Err(e) => tracing::warn!(error = %e, "cannot build RTCP packet"),
        }
    }

    // ---- receiving -----------------------------------------------------------------------

    fn handle_rtp(&mut self, now: Instant, source: SocketAddr, data: &[u8]) {
        let Some(remote) = &self.remote else { return };
        let (audio_pt, audio_codec, dtmf_pt) = (remote.payload_type, remote.codec, remote.dtmf_payload_type);
        let Ok(packet) = RtpPacket::parse(data) else {
            return;
        };
        let pt = packet.payload_type.0;
        enum Kind {
            Audio(Codec),
            Event,
            ComfortNoise,
        }
        let kind = if Some(pt) == dtmf_pt {
            Kind::Event
        } else if pt == audio_pt {
            Kind::Audio(audio_codec)
        } else if pt == Codec::Pcmu.static_payload_type() {
            Kind::Audio(Codec::Pcmu)
        } else if pt == Codec::Pcma.static_payload_type() {
            Kind::Audio(Codec::Pcma)
        } else if pt == PT_COMFORT_NOISE {
            Kind::ComfortNoise
        } else {
            return;
        };

        match self.latched_rtp {
            None => self.latched_rtp = Some(source),
            Some(latched) if latched != source => {
                self.stats.packets_dropped_unlatched += 1;
                return;
            }
            Some(_) => {}
        }
        self.stats.packets_received += 1;
        self.rtp_timeout_fired = false;
        self.arm_rtp_timeout(now);

        match kind {
            Kind::Event => self.handle_event(now, &packet),
            Kind::Audio(codec) => self.handle_audio(now, &packet, codec),
            Kind::ComfortNoise => self.on_audio_level(now, true),
        }
    }

    fn handle_event(&mut self, now: Instant, packet: &RtpPacket<'_>) {
        let Ok(event) = TelephoneEvent::parse(packet.payload) else {
            return;
        };
        // Relayed as received (every packet, retransmitted end packets included); digits are still
        // reported once below.
        self.bridge_forward(BridgedKind::Event, packet);
        if !self.rfc4733_seen {
            self.rfc4733_seen = true;
            self.pcm.clear();
            self.detector.reset();
            self.detected = self.detect.take().map(|b| b.stats());
            self.detect_next = None;
        }
        self.seen_events
            .retain(|e| now.saturating_duration_since(e.last_seen) < EVENT_FORGET_AFTER);
        let known = self
            .seen_events
            .iter_mut()
            .find(|e| e.ssrc == packet.ssrc && e.timestamp == packet.timestamp);
        match known {
            Some(seen) => {
                let new_press = seen.ended
                    && !event.end
                    && now.saturating_duration_since(seen.last_seen) >= EVENT_REPRESS_GAP;
                seen.last_seen = now;
                seen.ended = if new_press {
                    event.end
                } else {
                    seen.ended || event.end
                };
                if !new_press {
                    return;
                }
            }
            None => {
                if self.seen_events.len() >= EVENT_MEMORY {
                    self.seen_events.pop_front();
                }
                self.seen_events.push_back(SeenEvent {
                    ssrc: packet.ssrc,
                    timestamp: packet.timestamp,
                    last_seen: now,
                    ended: event.end,
                });
            }
        }
        if let Some(digit) = Digit::from_event_code(event.event) {
            self.events.push_back(MediaEvent::Digit {
                digit,
                source: DigitSource::Rfc4733,
            });
        }
    }

    fn handle_audio(&mut self, now: Instant, packet: &RtpPacket<'_>, codec: Codec) {
        self.bridge_forward(BridgedKind::Audio(codec), packet);
        if let Some(r) = self.recorder.as_mut() {
            r.push_left(now, packet);
        }
        if self.rx.as_ref().is_none_or(|s| s.ssrc() != packet.ssrc) {
            if let Some(old) = self.rx.take() {
                self.stats.ssrc_changes += 1;
                self.lost_before += u64::try_from(old.cumulative_lost()).unwrap_or(0);
            }
            self.rx = Some(RtpSession::new(packet.ssrc, packet.seq, CLOCK_RATE));
            self.detector.reset();
        }
        if !self.rfc4733_seen {
            if self.detect.is_some() && self.detect_pt != packet.payload_type.0 {
                // Another codec now (a re-INVITE): a buffer for the new one (the call record then shows
                // the new buffer's counters).
                self.detected = self.detect.take().map(|b| b.stats());
                self.detector.reset();
            }
            self.detect_pt = packet.payload_type.0;
            // The buffer judges lateness itself (a reordered packet is still in time for it).
            let buffer = self.detect.get_or_insert_with(|| {
                let config = JitterConfig {
                    audio_payload_type: Some(packet.payload_type.0),
                    dtmf_payload_type: None,
                    // Shrinking cuts into a tone's phase; in pauses it costs the detector nothing.
                    quiet_shrink_rms: Some(QUIET_SHRINK_RMS),
                    ..JitterConfig::default()
                };
                JitterBuffer::new(config, codec, CLOCK_RATE)
            });
            // A packet the buffer refuses (another payload type mid-call) only misses detection.
            if buffer.push_packet(now, packet).is_ok() {
                self.poll_detect(now);
            }
        }
        let Some(session) = self.rx.as_mut() else { return };
        if let SeqVerdict::Late(_) = session.on_packet(packet.seq, packet.timestamp, now) {
            // Counted in the statistics only.
            return;
        }

        self.pcm.clear();
        codec::decode(codec, packet.payload, &mut self.pcm);
        let silent = if self.pcm.is_empty() {
            true
        } else {
            let energy: f32 = self.pcm.iter().map(|&s| f32::from(s) * f32::from(s)).sum();
            (energy / self.pcm.len() as f32).sqrt() < SILENCE_RMS
        };
        self.on_audio_level(now, silent);
    }

    /// Takes every frame the detection buffer has due at `now` into the in-band detector, and
    /// notes when the next one is due.
    fn poll_detect(&mut self, now: Instant) {
        let Some(buffer) = self.detect.as_mut() else {
            self.detect_next = None;
            return;
        };
        // If the poll cap cuts a catch-up short, come back a frame later.
        let mut next = now + Duration::from_millis(20);
        for _ in 0..MAX_DETECT_POLLS {
            match buffer.poll(now) {
                Poll::Frame(pcm) | Poll::Concealed(pcm) => {
                    for frame in pcm.chunks_exact(FRAME_SAMPLES) {
                        if let Some(digit) = self.detector.push_frame(frame) {
                            self.events.push_back(MediaEvent::Digit {
                                digit,
                                source: DigitSource::Inband,
                            });
                        }
                    }
                }
                // Events are not pushed into this buffer; RFC 4733 is handled on arrival.
                Poll::Event(_) => {}
                Poll::Wait(at) if at <= now => {}
                Poll::Wait(at) => {
                    next = at;
                    break;
                }
            }
        }
        self.detect_next = Some(next);
    }

    fn on_audio_level(&mut self, now: Instant, silent: bool) {
        if !silent {
            self.silent_since = None;
            self.silence_fired = false;
            return;
        }
        let since = *self.silent_since.get_or_insert(now);
        let timeout = self.config.silence_timeout;
        if !self.silence_fired
            && !timeout.is_zero()
            && self.direction.receives()
            && now.saturating_duration_since(since) >= timeout
        {
            self.silence_fired = true;
            self.events.push_back(MediaEvent::SilenceTimeout);
        }
    }

    fn handle_rtcp(&mut self, now: Instant, source: SocketAddr, data: &[u8], rtcp_port: bool) {
        if self.remote.is_none() {
            return;
        }
        if rtcp_port {
            match self.latched_rtcp {
                None => {
                    if self.latched_rtp.is_some_and(|rtp| rtp.ip() != source.ip()) {
                        return;
                    }
                    self.latched_rtcp = Some(source);
                }
                Some(latched) if latched != source => return,
                Some(_) => {}
            }
        } else if self.latched_rtp != Some(source) {
            // RTCP multiplexed on the RTP port must come from the latched RTP source.
            return;
        }
        let Ok(packets) = rtcp::parse_compound(data) else {
            return;
        };
        let ours = Ssrc(self.config.ssrc);
        for packet in &packets {
            if let RtcpPacket::SenderReport(sr) = packet {
                if let Some(rx) = self.rx.as_mut().filter(|rx| rx.ssrc() == sr.ssrc) {
                    rx.on_sender_report(sr.info.ntp, now);
                }
            }
            for block in packet.report_blocks().iter().filter(|b| b.ssrc == ours) {
                self.stats.peer_packets_lost = Some(i64::from(block.cumulative_lost));
                self.stats.peer_jitter_ms = Some(f64::from(block.jitter) * 1000.0 / f64::from(CLOCK_RATE));
            }
        }
    }
}
