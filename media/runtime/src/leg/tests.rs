//! LegCore in virtual time: a scripted peer, a clock that jumps from deadline to deadline.

use super::*;

use rtp::RtcpPacket;

const PEER: &str = "127.0.0.1:30000";
const OTHER: &str = "127.0.0.1:31000";
const SSRC: u32 = 0x0A0B_0C0D;

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// Only differences between instants matter to the core; any origin will do.
#[allow(clippy::disallowed_methods)] // reason: tests need some Instant to start virtual time from
fn origin() -> Instant {
    Instant::now()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn remote(codec: Codec) -> RemoteMedia {
    RemoteMedia {
        addr: addr(PEER),
        codec,
        payload_type: codec.static_payload_type(),
        dtmf_payload_type: Some(101),
        ptime_ms: 20,
    }
}

fn config() -> LegConfig {
    LegConfig::new(SSRC, 1000, 50_000, "leg-1@hotline.test")
}

/// A prompt whose samples are all distinct from silence and from each other frame.
fn ramp(len: usize) -> Vec<i16> {
    (0..len)
        .map(|i| ((i as i32 * 37) % 16000 - 8000) as i16)
        .collect()
}

/// One RTP packet as the peer saw it.
#[derive(Debug, Clone)]
struct Sent {
    at: Instant,
    destination: SocketAddr,
    marker: bool,
    pt: u8,
    seq: u16,
    ts: u32,
    ssrc: u32,
    payload: Vec<u8>,
}

struct Harness {
    core: LegCore,
    t0: Instant,
    now: Instant,
    rtp: Vec<Sent>,
    rtcp: Vec<(Instant, SocketAddr, Vec<RtcpPacket>)>,
    events: Vec<(Instant, MediaEvent)>,
}

impl Harness {
    fn new(config: LegConfig, prompts: Vec<(&str, Vec<i16>)>) -> Self {
        let t0 = origin();
        let library =
            PromptLibrary::from_samples(prompts.into_iter().map(|(n, s)| (n.to_owned(), s)).collect());
        Self {
            core: LegCore::new(t0, config, Arc::new(library)),
            t0,
            now: t0,
            rtp: Vec::new(),
            rtcp: Vec::new(),
            events: Vec::new(),
        }
    }

    fn at(&self, millis: u64) -> Instant {
        self.t0 + ms(millis)
    }

    fn drain(&mut self) {
        while let Some(t) = self.core.poll_transmit() {
            if t.rtcp {
                self.rtcp.push((
                    self.now,
                    t.destination,
                    rtcp::parse_compound(&t.contents).unwrap(),
                ));
            } else {
                let p = RtpPacket::parse(&t.contents).unwrap();
                self.rtp.push(Sent {
                    at: self.now,
                    destination: t.destination,
                    marker: p.marker,
                    pt: p.payload_type.0,
                    seq: p.seq.0,
                    ts: p.timestamp.0,
                    ssrc: p.ssrc.0,
                    payload: p.payload.to_vec(),
                });
            }
        }
        while let Some(e) = self.core.poll_event() {
            self.events.push((self.now, e));
        }
    }

    fn command(&mut self, cmd: MediaCommand) {
        self.core.handle_command(self.now, cmd);
        self.drain();
    }

    /// Runs every deadline up to and including `millis` after t0, in order.
    fn run_to(&mut self, millis: u64) {
        let end = self.at(millis);
        while let Some(deadline) = self.core.poll_timeout().filter(|d| *d <= end) {
            self.now = deadline.max(self.now);
            self.core.handle_timeout(self.now);
            self.drain();
        }
        self.now = end;
    }

    fn receive(&mut self, from: &str, data: &[u8]) {
        self.core.handle_datagram(self.now, addr(from), data, false);
        self.drain();
    }

    fn receive_rtcp(&mut self, from: &str, data: &[u8]) {
        self.core.handle_datagram(self.now, addr(from), data, true);
        self.drain();
    }

    fn take_events(&mut self) -> Vec<MediaEvent> {
        self.events.drain(..).map(|(_, e)| e).collect()
    }

    fn digits(&self) -> Vec<(Digit, DigitSource)> {
        self.events
            .iter()
            .filter_map(|(_, e)| match e {
                MediaEvent::Digit { digit, source } => Some((*digit, *source)),
                _ => None,
            })
            .collect()
    }

    fn closed_stats(&mut self) -> LegStats {
        self.command(MediaCommand::Close);
        self.events
            .iter()
            .find_map(|(_, e)| match e {
                MediaEvent::Closed { stats } => Some(stats.clone()),
                _ => None,
            })
            .unwrap()
    }
}

fn audio_packet(ssrc: u32, seq: u16, ts: u32, codec: Codec, pcm: &[i16]) -> Vec<u8> {
    let mut payload = Vec::new();
    codec::encode(codec, pcm, &mut payload);
    RtpPacket::new(
        Pt(codec.static_payload_type()),
        Seq16(seq),
        Ts32(ts),
        Ssrc(ssrc),
        &payload,
    )
    .to_vec()
    .unwrap()
}

fn silent_packet(ssrc: u32, seq: u16) -> Vec<u8> {
    audio_packet(ssrc, seq, u32::from(seq) * 160, Codec::Pcmu, &[0; 160])
}

fn event_packet(ssrc: u32, seq: u16, ts: u32, event: u8, end: bool, duration: u16) -> Vec<u8> {
    let payload = TelephoneEvent {
        event,
        end,
        volume: 10,
        duration,
    }
    .to_bytes();
    let mut p = RtpPacket::new(Pt(101), Seq16(seq), Ts32(ts), Ssrc(ssrc), &payload);
    p.marker = duration <= 160 && !end;
    p.to_vec().unwrap()
}

/// The ten packets of one key press as SIPp's dtmf_2833 pcaps carry them: seven updates,
/// then the end packet three times, all with the event's start timestamp.
fn key_press(ssrc: u32, first_seq: u16, ts: u32, event: u8) -> Vec<Vec<u8>> {
    (0..10u16)
        .map(|i| {
            let end = i >= 7;
            let duration = 160 * (i.min(7) + 1);
            event_packet(ssrc, first_seq.wrapping_add(i), ts, event, end, duration)
        })
        .collect()
}

#[test]
fn prompt_frames_go_out_every_20ms_with_continuous_seq_ts_and_a_first_marker() {
    let mut cfg = config();
    cfg.initial_seq = 65534;
    cfg.initial_ts = u32::MAX - 200;
    let prompt = ramp(400);
    let mut h = Harness::new(cfg, vec![("hello", prompt.clone())]);
    assert_eq!(h.core.poll_timeout(), None, "no clock before Configure");
    h.command(MediaCommand::Configure {
        remote: remote(Codec::Pcmu),
    });
    h.command(MediaCommand::Play {
        play_id: 1,
        prompts: vec!["hello".into()],
    });
    h.run_to(100);

    assert_eq!(h.rtp.len(), 6);
    for (k, p) in h.rtp.iter().enumerate() {
        assert_eq!(p.at, h.at(20 * k as u64), "packet {k} paced by the clock");
        assert_eq!(p.destination, addr(PEER));
        assert_eq!(p.seq, 65534u16.wrapping_add(k as u16));
        assert_eq!(p.ts, (u32::MAX - 200).wrapping_add(160 * k as u32));
        assert_eq!(p.marker, k == 0);
        assert_eq!((p.pt, p.ssrc, p.payload.len()), (0, SSRC, 160));
    }
    let encoded = |pcm: &[i16]| {
        let mut v = Vec::new();
        codec::encode(Codec::Pcmu, pcm, &mut v);
        v
    };
    assert_eq!(h.rtp[0].payload, encoded(&prompt[..160]));
    assert_eq!(h.rtp[1].payload, encoded(&prompt[160..320]));
    let mut last = prompt[320..].to_vec();
    last.resize(160, 0);
    assert_eq!(
        h.rtp[2].payload,
        encoded(&last),
        "the last frame is padded with silence"
    );
    assert!(
        h.rtp[3..].iter().all(|p| p.payload.iter().all(|&b| b == 0xFF)),
        "then silence"
    );
    assert_eq!(
        h.events,
        vec![(
            h.at(40),
            MediaEvent::PlayFinished {
                play_id: 1,
                interrupted: false
            }
        )]
    );
}

#[test]
fn an_idle_leg_sends_silence_in_its_codec_and_follows_the_peer_ptime() {
    let mut h = Harness::new(config(), vec![]);
    let mut r = remote(Codec::Pcma);
    r.ptime_ms = 30;
    h.command(MediaCommand::Configure { remote: r });
    h.run_to(90);
    assert_eq!(h.rtp.len(), 4);
    assert!(
        h.rtp
            .iter()
            .all(|p| p.pt == 8 && p.payload.len() == 240 && p.payload.iter().all(|&b| b == 0xD5))
    );
    assert_eq!(h.rtp[3].at, h.at(90));
    assert_eq!(h.rtp[3].ts.wrapping_sub(h.rtp[0].ts), 720);
    assert!(h.events.is_empty());
}

#[test]
fn a_replaced_play_is_reported_interrupted_and_so_is_stop_play() {
    let mut h = Harness::new(
        config(),
        vec![("long", vec![1000; 8000]), ("other", vec![-1000; 8000])],
    );
    h.command(MediaCommand::Configure {
        remote: remote(Codec::Pcmu),
    });
    h.command(MediaCommand::Play {
        play_id: 1,
        prompts: vec!["long".into()],
    });
    h.run_to(40);
    h.command(MediaCommand::Play {
        play_id: 2,
        prompts: vec!["other".into()],
    });
    assert_eq!(
        h.take_events(),
        vec![MediaEvent::PlayFinished {
            play_id: 1,
            interrupted: true
        }]
    );
    h.run_to(60);
    assert_eq!(
        h.rtp.last().unwrap().payload[0],
        codec::linear_to_ulaw(-1000),
        "the new play is on air"
    );
    h.command(MediaCommand::StopPlay);
    assert_eq!(
        h.take_events(),
        vec![MediaEvent::PlayFinished {
            play_id: 2,
            interrupted: true
        }]
    );
    h.command(MediaCommand::StopPlay);
    h.run_to(100);
    assert!(h.take_events().is_empty(), "stopping when idle reports nothing");
    assert_eq!(h.rtp.last().unwrap().payload[0], 0xFF);
}

#[test]
fn unknown_prompts_are_reported_and_skipped() {
    let mut h = Harness::new(config(), vec![("hello", ramp(160))]);
    h.command(MediaCommand::Configure {
        remote: remote(Codec::Pcmu),
    });
    h.command(MediaCommand::Play {
        play_id: 3,
        prompts: vec!["nope".into(), "hello".into()],
    });
    assert_eq!(
        h.take_events(),
        vec![MediaEvent::UnknownPrompt {
            play_id: 3,
            name: "nope".into()
        }]
    );
    h.run_to(0);
    assert_eq!(
        h.take_events(),
        vec![MediaEvent::PlayFinished {
            play_id: 3,
            interrupted: false
        }]
    );
    h.command(MediaCommand::Play {
        play_id: 4,
        prompts: vec!["gone".into()],
    });
    assert_eq!(
        h.take_events(),
        vec![
            MediaEvent::UnknownPrompt {
                play_id: 4,
                name: "gone".into()
            },
            MediaEvent::PlayFinished {
                play_id: 4,
                interrupted: false
            },
        ]
    );
}

#[test]
fn the_first_source_is_latched_and_other_sources_are_dropped_until_a_new_remote() {
    let mut h = Harness::new(config(), vec![]);
    h.command(MediaCommand::Configure {
        remote: remote(Codec::Pcmu),
    });
    h.receive(PEER, &silent_packet(1, 1));
    assert_eq!(h.core.latched_source(), Some(addr(PEER)));
    h.receive(OTHER, &silent_packet(2, 1));
    for p in key_press(3, 10, 500, 5) {
        h.receive(OTHER, &p);
    }
    assert!(
        h.digits().is_empty(),
        "a digit from an unlatched source is ignored"
    );
    assert_eq!(h.core.stats().packets_dropped_unlatched, 11);

    // A re-INVITE to the same address (hold, resume) keeps the latch.
    h.command(MediaCommand::Configure {
        remote: remote(Codec::Pcmu),
    });
    h.receive(OTHER, &silent_packet(2, 2));
    assert_eq!(h.core.latched_source(), Some(addr(PEER)));

    // A new remote address resets it: the next source wins.
    let mut moved = remote(Codec::Pcmu);
    moved.addr = addr("127.0.0.1:32000");
    h.command(MediaCommand::Configure { remote: moved });
    h.receive(OTHER, &silent_packet(2, 3));
    assert_eq!(h.core.latched_source(), Some(addr(OTHER)));
    h.receive(PEER, &silent_packet(1, 2));
    let stats = h.closed_stats();
    assert_eq!(stats.packets_received, 2);
    assert_eq!(stats.packets_dropped_unlatched, 13);
}

#[test]
fn an_ssrc_change_from_the_latched_source_is_tolerated_and_counted() {
    let mut h = Harness::new(config(), vec![]);
    h.command(MediaCommand::Configure {
        remote: remote(Codec::Pcmu),
    });
    for seq in (1..=10).filter(|s| *s != 4) {
        h.receive(PEER, &silent_packet(1, seq));
    }
    for seq in 5000..5010 {
        h.receive(PEER, &silent_packet(2, seq));
    }
    let stats = h.closed_stats();
    assert_eq!(stats.packets_received, 19);
    assert_eq!(stats.ssrc_changes, 1);
    assert_eq!(stats.packets_lost, 1, "the loss of the first SSRC is kept");
    assert_eq!(stats.packets_dropped_unlatched, 0);
}

#[test]
fn rfc4733_events_with_a_foreign_ssrc_give_exactly_one_digit_each() {
    let mut h = Harness::new(config(), vec![]);
    h.command(MediaCommand::Configure {
        remote: remote(Codec::Pcmu),
    });
    for seq in 1..=5 {
        h.receive(PEER, &silent_packet(1, seq));
    }
    // SIPp's pcap for "5": its own SSRC, sequence numbers and timestamps.
    let press = key_press(0xDEAD_BEEF, 40_000, 123_456, 5);
    h.receive(PEER, &press[0]);
    assert_eq!(
        h.digits(),
        vec![(Digit::D5, DigitSource::Rfc4733)],
        "reported on the first packet"
    );
    for p in &press[1..] {
        h.run_to(h.now.duration_since(h.t0).as_millis() as u64 + 20);
        h.receive(PEER, p);
    }
    h.run_to(1000);
    for p in key_press(0xDEAD_BEEF, 40_010, 130_000, 11) {
        h.receive(PEER, &p);
    }
    // The same pcap replayed 400 ms later: same SSRC, sequence numbers and timestamp.
    h.run_to(1400);
    for p in &press {
        h.receive(PEER, p);
    }
    assert_eq!(
        h.digits(),
        vec![
            (Digit::D5, DigitSource::Rfc4733),
            (Digit::Pound, DigitSource::Rfc4733),
            (Digit::D5, DigitSource::Rfc4733)
        ]
    );
    assert_eq!(h.closed_stats().packets_received, 35);
}

#[test]
fn inband_dtmf_in_pcmu_audio_is_detected_once() {
    let mut h = Harness::new(config(), vec![]);
    let mut r = remote(Codec::Pcmu);
    r.dtmf_payload_type = None;
    h.command(MediaCommand::Configure { remote: r });
    let tone = codec::dtmf::synthesize(Digit::D7, -10.0, 0.0, 0, 160 * 5);
    let mut stream: Vec<i16> = vec![0; 160 * 5];
    stream.extend(&tone);
    stream.extend(vec![0; 160 * 5]);
    for (seq, frame) in (1u16..).zip(stream.chunks(160)) {
        h.run_to(20 * u64::from(seq));
        h.receive(
            PEER,
            &audio_packet(1, seq, u32::from(seq) * 160, Codec::Pcmu, frame),
        );
    }
    // The detector reads through the jitter buffer: let its delay pass.
    h.run_to(600);
    assert_eq!(h.digits(), vec![(Digit::D7, DigitSource::Inband)]);
}

#[test]
fn inband_digits_are_still_detected_after_a_re_invite_changes_the_codec() {
    let mut h = Harness::new(config(), vec![]);
    let mut r = remote(Codec::Pcmu);
    r.dtmf_payload_type = None;
    h.command(MediaCommand::Configure { remote: r });
    for seq in 1u16..=10 {
        h.run_to(20 * u64::from(seq));
        h.receive(PEER, &silent_packet(1, seq));
    }
    let mut r = remote(Codec::Pcma);
    r.dtmf_payload_type = None;
    h.command(MediaCommand::Configure { remote: r });
    let tone = codec::dtmf::synthesize(Digit::D9, -10.0, 0.0, 0, 160 * 5);
    let mut stream: Vec<i16> = tone;
    stream.extend(vec![0; 160 * 10]);
    for (seq, frame) in (11u16..).zip(stream.chunks(160)) {
        h.run_to(20 * u64::from(seq));
        h.receive(
            PEER,
            &audio_packet(1, seq, u32::from(seq) * 160, Codec::Pcma, frame),
        );
    }
    h.run_to(1000);
    assert_eq!(h.digits(), vec![(Digit::D9, DigitSource::Inband)]);
}

#[test]
fn inband_digits_survive_jitter_reordering_and_loss_through_the_detection_buffer() {
    let mut h = Harness::new(config(), vec![]);
    let mut r = remote(Codec::Pcmu);
    r.dtmf_payload_type = None;
    h.command(MediaCommand::Configure { remote: r });
    // Two presses of 4 with 100 ms between them, inside silence.
    let tone = codec::dtmf::synthesize(Digit::D4, -10.0, 0.0, 0, 160 * 5);
    let mut stream: Vec<i16> = vec![0; 160 * 10];
    stream.extend(&tone);
    stream.extend(vec![0; 160 * 5]);
    stream.extend(&tone);
    stream.extend(vec![0; 160 * 10]);
    // Sent every 20 ms; each arrives 0–30 ms late, neighbours swap places, and one packet in the
    // first press is lost.
    let mut arrivals: Vec<(u64, Vec<u8>)> = (1u16..)
        .zip(stream.chunks(160))
        .filter(|(seq, _)| *seq != 13)
        .map(|(seq, frame)| {
            let k = u64::from(seq);
            let at = 20 * k + (k * 7 % 4) * 10;
            (at, audio_packet(1, seq, u32::from(seq) * 160, Codec::Pcmu, frame))
        })
        .collect();
    arrivals.sort_by_key(|(at, _)| *at);
    let last = arrivals.last().map_or(0, |(at, _)| *at);
    for (at, packet) in arrivals {
        h.run_to(at);
        h.receive(PEER, &packet);
    }
    h.run_to(last + 500);
    assert_eq!(
        h.digits(),
        vec![(Digit::D4, DigitSource::Inband), (Digit::D4, DigitSource::Inband)],
        "each press once, the gap between them kept"
    );
    let buffer = h
        .closed_stats()
        .receive_buffer
        .expect("the leg reports its buffer");
    assert!(
        buffer.concealed_samples >= 160,
        "the lost packet was concealed: {buffer:?}"
    );
    assert!(buffer.emitted_frames >= 30, "{buffer:?}");
    assert!(buffer.mean_playout_delay_ms > 0.0, "{buffer:?}");
}

#[test]
fn inband_detection_stops_once_the_peer_uses_rfc4733() {
    let mut h = Harness::new(config(), vec![]);
    h.command(MediaCommand::Configure {
        remote: remote(Codec::Pcmu),
    });
    let press = key_press(9, 1, 0, 1);
    let tone = codec::dtmf::synthesize(Digit::D1, -10.0, 0.0, 0, 160 * 6);
    // A phone that sends both the event and the tone.
    for (k, frame) in tone.chunks(160).enumerate() {
        h.receive(PEER, &press[k]);
        h.receive(
            PEER,
            &audio_packet(1, k as u16 + 1, k as u32 * 160, Codec::Pcmu, frame),
        );
    }
    assert_eq!(h.digits(), vec![(Digit::D1, DigitSource::Rfc4733)]);
}

#[test]
fn rtp_timeout_fires_once_at_the_right_virtual_time_and_rearms() {
    let mut cfg = config();
    cfg.rtp_timeout = Duration::from_secs(2);
    let mut h = Harness::new(cfg, vec![]);
    h.command(MediaCommand::Configure {
        remote: remote(Codec::Pcmu),
    });
    for seq in 0..50u16 {
        h.run_to(20 * u64::from(seq));
        h.receive(PEER, &silent_packet(1, seq + 1));
    }
    // Last packet at 980 ms: the timeout is due at 2980 ms, not before.
    h.run_to(2979);
    assert!(h.events.is_empty());
    h.run_to(10_000);
    let timeouts: Vec<Instant> = h
        .events
        .iter()
        .filter(|(_, e)| *e == MediaEvent::RtpTimeout)
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(timeouts, vec![h.at(2980)], "fires once");
    h.receive(PEER, &silent_packet(1, 51));
    h.run_to(12_000);
    assert_eq!(
        h.events
            .iter()
            .filter(|(_, e)| *e == MediaEvent::RtpTimeout)
            .count(),
        2,
        "re-armed by RTP"
    );
    assert_eq!(h.events.last().unwrap().0, h.at(12_000));
}

#[test]
fn rtp_timeout_counts_from_configure_and_not_while_we_hold_the_peer() {
    let mut cfg = config();
    cfg.rtp_timeout = Duration::from_secs(1);
    let mut h = Harness::new(cfg, vec![]);
    h.run_to(500);
    h.command(MediaCommand::Configure {
        remote: remote(Codec::Pcmu),
    });
    h.run_to(1499);
    assert!(h.events.is_empty());
    h.run_to(1500);
    assert_eq!(h.take_events(), vec![MediaEvent::RtpTimeout]);

    // We put the peer on hold (we only send): silence from it is expected.
    h.command(MediaCommand::SetDirection(Direction::SendOnly));
    h.run_to(5000);
    assert!(h.events.is_empty());
    // Resuming gives the peer a fresh timeout.
    h.command(MediaCommand::SetDirection(Direction::SendRecv));
    h.run_to(5999);
    assert!(h.events.is_empty());
    h.run_to(6000);
    assert_eq!(h.take_events(), vec![MediaEvent::RtpTimeout]);
}

#[test]
fn silence_timeout_fires_when_rtp_keeps_coming_but_is_silent() {
    let mut cfg = config();
    cfg.silence_timeout = Duration::from_secs(3);
    let mut h = Harness::new(cfg, vec![]);
    let mut r = remote(Codec::Pcmu);
    r.dtmf_payload_type = None;
    h.command(MediaCommand::Configure { remote: r });
    let voice: Vec<i16> = (0..160)
        .map(|i| ((i as f32 * 0.3).sin() * 3000.0) as i16)
        .collect();
    for seq in 0..300u16 {
        h.run_to(20 * u64::from(seq));
        let pcm = if seq < 50 { voice.clone() } else { vec![0; 160] };
        h.receive(
            PEER,
            &audio_packet(1, seq, u32::from(seq) * 160, Codec::Pcmu, &pcm),
        );
    }
    // Silent from the packet at 1000 ms: the timeout is reported with the packet at 4000 ms.
    assert_eq!(h.events, vec![(h.at(4000), MediaEvent::SilenceTimeout)]);
}

#[test]
fn hold_stops_sending_and_resume_continues_the_sequence_with_a_marker() {
    let mut h = Harness::new(config(), vec![]);
    h.command(MediaCommand::Configure {
        remote: remote(Codec::Pcmu),
    });
    h.run_to(50);
    assert_eq!(h.rtp.len(), 3);
    // The peer put us on hold (a=sendonly from it): we only receive.
    h.command(MediaCommand::SetDirection(Direction::RecvOnly));
    h.run_to(190);
    assert_eq!(h.rtp.len(), 3, "nothing sent on hold");
    h.command(MediaCommand::SetDirection(Direction::Inactive));
    h.run_to(195);
    h.command(MediaCommand::SetDirection(Direction::SendRecv));
    h.run_to(240);
    let resumed = &h.rtp[3];
    assert_eq!(resumed.at, h.at(200));
    assert_eq!(
        resumed.seq,
        h.rtp[2].seq.wrapping_add(1),
        "no gap in sequence numbers"
    );
    assert_eq!(resumed.ts, 50_000 + 200 * 8, "the timestamp follows the clock");
    assert!(resumed.marker, "a new talkspurt");
    assert!(!h.rtp[4].marker);
    assert_eq!(h.rtp.len(), 6);
}

#[test]
fn rtcp_sender_reports_go_out_every_interval_and_peer_reports_reach_the_stats() {
    let mut h = Harness::new(config(), vec![]);
    h.core
        .set_wall_clock(h.t0, SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    h.command(MediaCommand::Configure {
        remote: remote(Codec::Pcmu),
    });
    h.receive(PEER, &silent_packet(77, 1));
    h.run_to(15_000);
    let times: Vec<Instant> = h.rtcp.iter().map(|(t, _, _)| *t).collect();
    assert_eq!(times, vec![h.at(5000), h.at(10_000), h.at(15_000)]);
    let (_, dest, packets) = &h.rtcp[0];
    assert_eq!(*dest, addr("127.0.0.1:30001"), "RTCP goes to the RTP port + 1");
    let RtcpPacket::SenderReport(sr) = &packets[0] else {
        panic!("not an SR: {packets:?}")
    };
    assert_eq!(sr.ssrc, Ssrc(SSRC));
    assert_eq!(sr.info.packet_count, 251, "ticks 0..=5000 ms");
    assert_eq!(sr.info.octet_count, 251 * 160);
    assert_eq!(sr.info.rtp_ts, Ts32(50_000 + 5000 * 8));
    assert_eq!(
        sr.info.ntp,
        NtpTime::from_unix(Duration::from_secs(1_700_000_005))
    );
    assert_eq!(sr.reports.len(), 1);
    assert_eq!(sr.reports[0].ssrc, Ssrc(77));
    let RtcpPacket::Sdes(chunks) = &packets[1] else {
        panic!("no SDES")
    };
    assert_eq!(chunks[0].cname_value().as_deref(), Some("leg-1@hotline.test"));

    // The peer reports on our stream from its own RTCP port: that source is latched for RTCP.
    let rr = RtcpPacket::ReceiverReport(ReceiverReport {
        ssrc: Ssrc(77),
        reports: vec![rtp::ReportBlock {
            ssrc: Ssrc(SSRC),
            cumulative_lost: 3,
            jitter: 80,
            ..Default::default()
        }],
    });
    h.receive_rtcp("127.0.0.1:30005", &rtcp::build_compound(&[rr]).unwrap());
    h.run_to(20_000);
    assert_eq!(h.rtcp.last().unwrap().1, addr("127.0.0.1:30005"));
    let stats = h.closed_stats();
    assert_eq!(stats.peer_packets_lost, Some(3));
    assert_eq!(stats.peer_jitter_ms, Some(10.0));
}

#[test]
fn before_sending_anything_the_report_is_a_receiver_report() {
    let mut h = Harness::new(config(), vec![]);
    h.command(MediaCommand::SetDirection(Direction::RecvOnly));
    h.command(MediaCommand::Configure {
        remote: remote(Codec::Pcmu),
    });
    h.run_to(5000);
    assert!(h.rtp.is_empty());
    assert!(
        matches!(h.rtcp[0].2[0], RtcpPacket::ReceiverReport(_)),
        "RTCP keeps going on hold"
    );
}

#[test]
fn a_late_timeout_catches_up_in_a_bounded_burst() {
    let mut h = Harness::new(config(), vec![]);
    h.command(MediaCommand::Configure {
        remote: remote(Codec::Pcmu),
    });
    h.core.handle_timeout(h.at(0));
    h.core.handle_timeout(h.at(65));
    h.drain();
    assert_eq!(h.rtp.len(), 4, "ticks 0, 20, 40, 60 all sent");
    // A stall of one second: at most MAX_BURST packets, then the clock skips ahead.
    h.now = h.at(1065);
    h.core.handle_timeout(h.now);
    h.drain();
    assert_eq!(h.rtp.len(), 4 + MAX_BURST as usize);
    assert_eq!(
        h.core.poll_timeout(),
        Some(h.at(1080)),
        "the next tick is back on the 20 ms grid"
    );
    h.run_to(1080);
    let next = h.rtp.last().unwrap();
    assert!(next.marker, "the skip is flagged");
    assert_eq!(next.ts, 50_000 + 1080 * 8);
    assert_eq!(next.seq, h.rtp[h.rtp.len() - 2].seq.wrapping_add(1));
}

#[test]
fn close_reports_stats_says_bye_and_stops_everything() {
    let mut h = Harness::new(config(), vec![("hello", vec![500; 8000])]);
    h.command(MediaCommand::Configure {
        remote: remote(Codec::Pcmu),
    });
    h.command(MediaCommand::Play {
        play_id: 9,
        prompts: vec!["hello".into()],
    });
    h.receive(PEER, &silent_packet(1, 1));
    h.run_to(100);
    h.command(MediaCommand::Close);
    let events = h.take_events();
    assert_eq!(
        events[0],
        MediaEvent::PlayFinished {
            play_id: 9,
            interrupted: true
        }
    );
    let MediaEvent::Closed { stats } = &events[1] else {
        panic!("{events:?}")
    };
    assert_eq!((stats.packets_sent, stats.packets_received), (6, 1));
    let (_, _, last) = h.rtcp.last().unwrap();
    assert!(matches!(last.last(), Some(RtcpPacket::Bye(b)) if b.sources == vec![Ssrc(SSRC)]));

    assert!(h.core.is_closed());
    assert_eq!(h.core.poll_timeout(), None);
    let sent = h.rtp.len();
    h.receive(PEER, &silent_packet(1, 2));
    h.command(MediaCommand::Play {
        play_id: 10,
        prompts: vec!["hello".into()],
    });
    h.core.handle_timeout(h.at(5000));
    h.drain();
    assert_eq!(h.rtp.len(), sent);
    assert!(h.events.is_empty(), "a closed leg is silent");
}

#[test]
fn garbage_datagrams_do_not_disturb_the_leg() {
    let mut h = Harness::new(config(), vec![]);
    h.command(MediaCommand::Configure {
        remote: remote(Codec::Pcmu),
    });
    let mut seed = 0x1234_5678u32;
    for len in 0..400usize {
        let data: Vec<u8> = (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                seed as u8
            })
            .collect();
        h.receive(OTHER, &data);
        h.receive_rtcp(OTHER, &data);
        // Truncations of a valid packet, too.
        let valid = silent_packet(1, len as u16);
        h.receive(OTHER, valid.get(..len % valid.len()).unwrap());
    }
    h.run_to(100);
    assert_eq!(h.rtp.len(), 6, "the clock kept its pace");
}

#[test]
fn a_payload_type_we_did_not_negotiate_does_not_latch() {
    let mut h = Harness::new(config(), vec![]);
    h.command(MediaCommand::Configure {
        remote: remote(Codec::Pcmu),
    });
    h.receive(
        OTHER,
        &RtpPacket::new(Pt(96), Seq16(1), Ts32(0), Ssrc(1), &[0; 20])
            .to_vec()
            .unwrap(),
    );
    assert_eq!(h.core.latched_source(), None);
    h.receive(PEER, &silent_packet(1, 1));
    assert_eq!(h.core.latched_source(), Some(addr(PEER)));
    assert_eq!(h.core.stats().packets_received, 1);
}

/// Moves everything leg `from` received for the bridge into leg `to`.
fn cross(from: &mut Harness, to: &mut Harness) -> usize {
    let mut n = 0;
    while let Some(p) = from.core.poll_bridged() {
        to.core.handle_bridged(to.now, p);
        n += 1;
    }
    to.drain();
    n
}

fn bridged_pair(a_codec: Codec, b_codec: Codec) -> (Harness, Harness) {
    let mut a = Harness::new(config(), vec![]);
    let mut b = Harness::new(
        LegConfig {
            ssrc: 0xBBBB,
            ..config()
        },
        vec![],
    );
    a.command(MediaCommand::Configure {
        remote: remote(a_codec),
    });
    b.command(MediaCommand::Configure {
        remote: RemoteMedia {
            addr: addr("192.0.2.20:30000"),
            ..remote(b_codec)
        },
    });
    a.command(MediaCommand::Bridge);
    b.command(MediaCommand::Bridge);
    (a, b)
}

#[test]
fn bridged_audio_crosses_unchanged_when_the_codecs_agree() {
    let (mut a, mut b) = bridged_pair(Codec::Pcmu, Codec::Pcmu);
    let tone = ramp(160);
    for i in 0..5u16 {
        a.receive(
            "192.0.2.10:40000",
            &audio_packet(0x1111, 100 + i, 160 * u32::from(i), Codec::Pcmu, &tone),
        );
    }
    assert_eq!(cross(&mut a, &mut b), 5);
    let sent: Vec<&Sent> = b.rtp.iter().collect();
    assert_eq!(sent.len(), 5);
    let mut expected = Vec::new();
    codec::encode(Codec::Pcmu, &tone, &mut expected);
    assert!(
        sent.iter()
            .all(|p| p.payload == expected && p.pt == 0 && p.ssrc == 0xBBBB)
    );
    assert!(sent.iter().all(|p| p.destination == addr("192.0.2.20:30000")));
    let seqs: Vec<u16> = sent.iter().map(|p| p.seq).collect();
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0].wrapping_add(1)),
        "B's own continuous sequence: {seqs:?}"
    );
}

#[test]
fn bridged_audio_is_transcoded_between_pcmu_and_pcma() {
    let (mut a, mut b) = bridged_pair(Codec::Pcmu, Codec::Pcma);
    let tone = ramp(160);
    a.receive(
        "192.0.2.10:40000",
        &audio_packet(0x1111, 1, 0, Codec::Pcmu, &tone),
    );
    cross(&mut a, &mut b);
    let p = b.rtp.last().unwrap();
    assert_eq!(p.pt, 8);
    let mut pcm = Vec::new();
    codec::decode(Codec::Pcma, &p.payload, &mut pcm);
    let worst = pcm
        .iter()
        .zip(&tone)
        .map(|(x, y)| (i32::from(*x) - i32::from(*y)).abs())
        .max()
        .unwrap();
    assert!(
        worst < 600,
        "transcoding keeps the waveform (worst error {worst})"
    );
}

#[test]
fn a_bridged_leg_sends_no_filler_silence_and_resumes_it_when_unbridged() {
    let (mut a, _b) = bridged_pair(Codec::Pcmu, Codec::Pcmu);
    a.run_to(200);
    assert!(
        a.rtp.is_empty(),
        "no silence while bridged: {} packets",
        a.rtp.len()
    );
    a.command(MediaCommand::Unbridge);
    a.run_to(400);
    assert!(
        a.rtp.len() >= 9,
        "silence again after the bridge: {}",
        a.rtp.len()
    );
}

#[test]
fn bridged_telephone_events_keep_one_timestamp_per_event_and_are_still_reported() {
    let (mut a, mut b) = bridged_pair(Codec::Pcmu, Codec::Pcma);
    for p in key_press(0x2222, 500, 16_000, 5) {
        a.receive("192.0.2.10:40000", &p);
    }
    assert_eq!(
        a.digits(),
        vec![(Digit::D5, DigitSource::Rfc4733)],
        "the digit is still reported once"
    );
    cross(&mut a, &mut b);
    let first: Vec<u32> = b.rtp.iter().filter(|p| p.pt == 101).map(|p| p.ts).collect();
    assert_eq!(first.len(), 10, "every packet of the press is relayed");
    assert!(
        first.iter().all(|ts| *ts == first[0]),
        "one RTP timestamp for the whole event"
    );
    // The next press gets a new timestamp.
    b.now += ms(300);
    for p in key_press(0x2222, 600, 20_000, 7) {
        a.receive("192.0.2.10:40000", &p);
    }
    cross(&mut a, &mut b);
    let second: Vec<u32> = b
        .rtp
        .iter()
        .filter(|p| p.pt == 101)
        .skip(10)
        .map(|p| p.ts)
        .collect();
    assert_eq!(second.len(), 10);
    assert_ne!(second[0], first[0]);
}

#[test]
fn nothing_crosses_an_unbridged_leg() {
    let mut a = Harness::new(config(), vec![]);
    a.command(MediaCommand::Configure {
        remote: remote(Codec::Pcmu),
    });
    a.receive(
        "192.0.2.10:40000",
        &audio_packet(0x1111, 1, 0, Codec::Pcmu, &ramp(160)),
    );
    assert!(a.core.poll_bridged().is_none());
}

#[test]
fn bridged_audio_keeps_the_sources_timestamp_spacing_whatever_the_arrival_jitter() {
    let (mut a, mut b) = bridged_pair(Codec::Pcmu, Codec::Pcmu);
    // Packets sampled 20 ms apart arrive 0, 35, 41, 60, 95 ms after the first: jitter, not sampling.
    let arrivals = [0u64, 35, 41, 60, 95];
    for (i, at) in arrivals.iter().enumerate() {
        a.now = a.at(*at);
        b.now = b.at(*at);
        let i = u16::try_from(i).unwrap();
        a.receive(
            "192.0.2.10:40000",
            &audio_packet(
                0x1111,
                100 + i,
                9_000 + 160 * u32::from(i),
                Codec::Pcmu,
                &ramp(160),
            ),
        );
        cross(&mut a, &mut b);
    }
    let ts: Vec<u32> = b.rtp.iter().map(|p| p.ts).collect();
    assert_eq!(ts.len(), 5);
    assert!(
        ts.windows(2).all(|w| w[1].wrapping_sub(w[0]) == 160),
        "the far end sees the sampling spacing: {ts:?}"
    );
    assert!(b.rtp[0].marker, "a new source starts with the marker bit");
    // A new source (the agent's phone restarted its stream) is re-anchored on our clock.
    b.now = b.at(400);
    a.now = a.at(400);
    a.receive(
        "192.0.2.10:40000",
        &audio_packet(0x3333, 7, 123, Codec::Pcmu, &ramp(160)),
    );
    cross(&mut a, &mut b);
    let last = b.rtp.last().unwrap();
    assert!(last.marker);
    assert_eq!(
        last.ts.wrapping_sub(ts[0]),
        8 * 400,
        "re-anchored at our clock's position"
    );
}

#[test]
fn a_recording_puts_what_the_leg_receives_left_and_what_it_sends_right() {
    let prompt: Vec<i16> = (0..8000)
        .map(|i| ((f64::from(i) * 2.0 * std::f64::consts::PI * 1000.0 / 8000.0).sin() * 8000.0) as i16)
        .collect();
    let mut h = Harness::new(config(), vec![("beep", prompt)]);
    h.command(MediaCommand::Configure {
        remote: remote(Codec::Pcmu),
    });
    h.command(MediaCommand::StartRecording {
        id: "r1".into(),
        path: "unused-by-the-core.wav".into(),
    });
    assert!(h.core.is_recording());
    h.command(MediaCommand::Play {
        play_id: 1,
        prompts: vec!["beep".into()],
    });
    // The peer sends a 440 Hz tone for one second while the prompt (1000 Hz) plays.
    let tone: Vec<i16> = (0..8000)
        .map(|i| ((f64::from(i) * 2.0 * std::f64::consts::PI * 440.0 / 8000.0).sin() * 8000.0) as i16)
        .collect();
    let mut samples = Vec::new();
    for (i, frame) in tone.chunks(160).enumerate() {
        let i = u16::try_from(i).unwrap();
        h.run_to(20 * u64::from(i));
        h.receive(
            "192.0.2.10:40000",
            &audio_packet(0x1111, i, 160 * u32::from(i), Codec::Pcmu, frame),
        );
        while let Some(s) = h.core.poll_recorded() {
            samples.extend(s);
        }
    }
    h.run_to(1000);
    h.command(MediaCommand::StopRecording);
    while let Some(s) = h.core.poll_recorded() {
        samples.extend(s);
    }
    assert!(h.core.recording_finished());
    assert!(h.core.finish_recording());
    let stats = h.core.take_recording_stats().unwrap();
    let left: Vec<i16> = samples.iter().step_by(2).copied().collect();
    let right: Vec<i16> = samples.iter().skip(1).step_by(2).copied().collect();
    assert_eq!(left.len(), right.len());
    assert_eq!(u64::try_from(left.len() / 160).unwrap(), stats.frames);
    // The buffers wait a second: the audio is in the second half of the two seconds recorded.
    let power = |v: &[i16], f: f64| {
        let (mut s1, mut s2) = (0.0f64, 0.0f64);
        let k = 2.0 * (2.0 * std::f64::consts::PI * f / 8000.0).cos();
        for x in v {
            let s0 = f64::from(*x) + k * s1 - s2;
            s2 = s1;
            s1 = s0;
        }
        s1 * s1 + s2 * s2 - k * s1 * s2
    };
    let l = &left[left.len() / 2..];
    let r = &right[right.len() / 2..];
    assert!(
        power(l, 440.0) > 100.0 * power(l, 1000.0),
        "left is the peer's 440 Hz"
    );
    assert!(
        power(r, 1000.0) > 100.0 * power(r, 440.0),
        "right is our 1000 Hz prompt"
    );
}

#[test]
fn legs_playing_the_music_send_the_frame_on_air_whenever_they_started() {
    let epoch = origin();
    let music = Arc::new(
        crate::MusicOnHold::new(epoch, vec![("ramp".into(), ramp(8000))])
            .0
            .unwrap(),
    );
    let mut early = Harness::new(config(), vec![("beep", ramp(320))]);
    early.core =
        LegCore::new(epoch, config(), Arc::new(PromptLibrary::default())).with_music(Some(music.clone()));
    early.t0 = epoch;
    early.now = epoch;
    early.command(MediaCommand::Configure {
        remote: remote(Codec::Pcmu),
    });
    early.command(MediaCommand::Music);
    early.run_to(1000);
    // A second leg starts 370 ms later on its own ptime clock, and plays the same music.
    let mut late = Harness::new(config(), vec![("beep", ramp(320))]);
    late.t0 = epoch + ms(370);
    late.now = late.t0;
    late.core = LegCore::new(late.t0, config(), late.core.prompts.clone()).with_music(Some(music.clone()));
    late.command(MediaCommand::Configure {
        remote: remote(Codec::Pcmu),
    });
    late.command(MediaCommand::Music);
    late.run_to(630);
    // Every packet carries the frame on air when it was sent: the same bytes for both legs.
    for sent in early.rtp.iter().chain(&late.rtp) {
        assert_eq!(
            sent.payload,
            music.frame(Codec::Pcmu, sent.at),
            "at {:?}",
            sent.at - epoch
        );
    }
    let shared: std::collections::HashSet<_> = early.rtp.iter().map(|s| s.payload.clone()).collect();
    let late_frames = late.rtp.iter().filter(|s| shared.contains(&s.payload)).count();
    assert!(
        late_frames >= late.rtp.len() - 1,
        "{late_frames} of {}",
        late.rtp.len()
    );

    // A prompt goes over the music; the music is back after it; StopPlay ends it (silence).
    late.command(MediaCommand::Play {
        play_id: 9,
        prompts: vec!["beep".into()],
    });
    let before = late.rtp.len();
    late.run_to(630 + 100);
    let after: Vec<_> = late.rtp[before..].to_vec();
    let mut beep = Vec::new();
    codec::encode(Codec::Pcmu, &ramp(320)[..160], &mut beep);
    assert_eq!(after[0].payload, beep, "the prompt first");
    let last = after.last().unwrap();
    assert_eq!(
        last.payload,
        music.frame(Codec::Pcmu, last.at),
        "then the music again"
    );
    late.command(MediaCommand::StopPlay);
    let before = late.rtp.len();
    late.run_to(630 + 200);
    assert!(
        late.rtp[before..]
            .iter()
            .all(|s| s.payload.iter().all(|&b| b == 0xFF)),
        "silence"
    );
}
