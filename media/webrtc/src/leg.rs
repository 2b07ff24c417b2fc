//! One agent's `Rtc` and what the hub keeps beside it.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use str0m::format::CodecExtra;
use str0m::media::{Frequency, MediaData, MediaTime, Mid, Pt};
use str0m::{Event, Input, Output, Rtc};

use crate::event::dtmf_digit;
use crate::{AudioCodec, CloseReason, LegId, WebRtcError, WebRtcEvent};

/// Consecutive `poll_output` errors one drain tolerates from a live `Rtc` before the leg is
/// closed. str0m reports some peer faults (a malformed telephone-event) as an error and carries
/// on; a stuck instance must not spin the hub.
const MAX_ERRORS_PER_DRAIN: usize = 8;

/// How many times one drain feeds str0m a timeout at `now` when it asks for one (it does after a
/// frame is written). Bounded: str0m may keep answering `now` when it has nothing to do.
const IMMEDIATE_ROUNDS: usize = 4;

/// How many source addresses a leg may have in the hub's routing index. A browser checks from
/// each of its candidates (IPv4, IPv6, VPN, …); each needs a valid MESSAGE-INTEGRITY to get in.
pub(crate) const MAX_ADDRS_PER_LEG: usize = 8;

/// What the negotiation settled for the leg's audio m-line.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Negotiated {
    pub(crate) mid: Mid,
    pub(crate) codec: AudioCodec,
    pub(crate) pt: Pt,
    pub(crate) clock: Frequency,
}

impl Negotiated {
    /// The first audio m-line (of `mids`, in offer order) whose answer carries one of our codecs,
    /// taking our [`AudioCodec::PREFERENCE`] over the browser's order.
    pub(crate) fn find(rtc: &Rtc, mids: &[Mid]) -> Option<Self> {
        mids.iter().find_map(|&mid| {
            let media = rtc.media(mid)?;
            if media.kind() != str0m::media::MediaKind::Audio || media.disabled() {
                return None;
            }
            let remote = media.remote_pts();
            AudioCodec::PREFERENCE.iter().find_map(|&codec| {
                let params = rtc
                    .codec_config()
                    .find(|p| p.spec().codec == codec.to_str0m() && remote.contains(&p.pt()))?;
                Some(Self {
                    mid,
                    codec,
                    pt: params.pt(),
                    clock: params.spec().clock_rate,
                })
            })
        })
    }
}

/// Where the leg is. Timers are deadlines checked at the end of every drain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Offer answered; waiting for ICE + DTLS. Closed with `ConnectTimeout` at the deadline.
    Connecting { deadline: Option<Instant> },
    /// `Connected` reported. `grace` is set while ICE is disconnected: the leg is closed with
    /// `IceDisconnected` when it passes.
    Connected { grace: Option<Instant> },
}

/// Output queues of the hub, lent to a leg while it drains its `Rtc`.
pub(crate) struct Sink<'a> {
    pub(crate) transmits: &'a mut VecDeque<(SocketAddr, Vec<u8>)>,
    pub(crate) events: &'a mut VecDeque<(LegId, WebRtcEvent)>,
}

pub(crate) struct Leg {
    pub(crate) id: LegId,
    pub(crate) rtc: Rtc,
    pub(crate) audio: Negotiated,
    /// Our ICE username fragment: the key of this leg in the hub's `by_ufrag` index.
    pub(crate) ufrag: String,
    /// Source addresses of authenticated STUN checks, oldest first: this leg's keys in the hub's
    /// `by_addr` index.
    pub(crate) addrs: VecDeque<SocketAddr>,
    phase: Phase,
    disconnect_grace: Duration,
    /// str0m's next deadline.
    rtc_timeout: Instant,
    /// The media time of the last telephone-event reported, so its three end packets make one
    /// `Dtmf`.
    last_dtmf: Option<u64>,
    /// Set once the leg must go; it is removed after the drain that set it.
    pub(crate) closing: Option<CloseReason>,
    /// The deadline this leg is filed under in the hub's timer index.
    pub(crate) filed_at: Instant,
}

impl Leg {
    pub(crate) fn new(
        id: LegId,
        rtc: Rtc,
        audio: Negotiated,
        ufrag: String,
        now: Instant,
        connect_timeout: Duration,
        disconnect_grace: Duration,
    ) -> Self {
        Self {
            id,
            rtc,
            audio,
            ufrag,
            addrs: VecDeque::new(),
            phase: Phase::Connecting {
                deadline: now.checked_add(connect_timeout),
            },
            disconnect_grace,
            rtc_timeout: now,
            last_dtmf: None,
            closing: None,
            filed_at: now,
        }
    }

    pub(crate) fn is_connected(&self) -> bool {
        matches!(self.phase, Phase::Connected { .. }) && self.closing.is_none()
    }

    /// The earliest of str0m's deadline and ours.
    pub(crate) fn deadline(&self) -> Instant {
        let ours = match self.phase {
            Phase::Connecting { deadline } => deadline,
            Phase::Connected { grace } => grace,
        };
        ours.map_or(self.rtc_timeout, |t| t.min(self.rtc_timeout))
    }

    /// Time passes: str0m's timers, then ours.
    pub(crate) fn handle_timeout(&mut self, now: Instant, sink: &mut Sink<'_>) {
        if let Err(e) = self.rtc.handle_input(Input::Timeout(now)) {
            self.fail(&e);
        }
        self.drain(now, sink);
    }

    /// Writes one encoded frame, then drains. The clock is brought to `now` first so the frame is
    /// paced from the right time (str0m: every mutation is followed by a full drain).
    pub(crate) fn send_audio(
        &mut self,
        now: Instant,
        payload: &[u8],
        rtp_time: u32,
        sink: &mut Sink<'_>,
    ) -> Result<(), WebRtcError> {
        self.handle_timeout(now, sink);
        if !self.is_connected() {
            return Err(WebRtcError::NotConnected(self.id));
        }
        let Negotiated { mid, pt, clock, .. } = self.audio;
        let writer = self.rtc.writer(mid).ok_or(WebRtcError::NotConnected(self.id))?;
        let written = writer.write(
            pt,
            now,
            MediaTime::new(u64::from(rtp_time), clock),
            payload.to_vec(),
        );
        // Drain even after an error: the writer may have changed state before refusing.
        self.drain(now, sink);
        written.map_err(|source| WebRtcError::Send { leg: self.id, source })
    }

    /// Local close: str0m queues RTCP BYE and DTLS `close_notify`, we send them and go.
    pub(crate) fn close(&mut self, now: Instant, sink: &mut Sink<'_>) {
        self.closing.get_or_insert(CloseReason::Local);
        if let Err(e) = self.rtc.close() {
            self.fail(&e);
        }
        self.drain(now, sink);
    }

    fn fail(&mut self, error: &str0m::RtcError) {
        if !self.rtc.is_alive() {
            self.closing
                .get_or_insert_with(|| CloseReason::Failed(error.to_string()));
        }
    }

    /// Polls the `Rtc` until it asks for a timeout, translating its output, then applies our
    /// timers.
    pub(crate) fn drain(&mut self, now: Instant, sink: &mut Sink<'_>) {
        let mut errors = 0;
        let mut rounds = 0;
        loop {
            match self.rtc.poll_output() {
                // str0m packetizes a written frame, answers a check, … on a timeout at `now`:
                // give it that at once, so the datagram leaves with this call instead of on the
                // runtime's next turn.
                Ok(Output::Timeout(at)) if at <= now && rounds < IMMEDIATE_ROUNDS => {
                    rounds += 1;
                    if let Err(e) = self.rtc.handle_input(Input::Timeout(now)) {
                        self.fail(&e);
                    }
                }
                Ok(Output::Timeout(at)) => {
                    self.rtc_timeout = at;
                    break;
                }
                Ok(Output::Transmit(t)) => {
                    sink.transmits.push_back((t.destination, t.contents.into()));
                }
                Ok(Output::Event(event)) => self.on_event(now, event, sink),
                Err(e) => {
                    errors += 1;
                    if !self.rtc.is_alive() || errors >= MAX_ERRORS_PER_DRAIN {
                        self.closing
                            .get_or_insert_with(|| CloseReason::Failed(e.to_string()));
                        self.rtc_timeout = now;
                        break;
                    }
                }
            }
        }
        match self.phase {
            Phase::Connecting { deadline: Some(d) } if d <= now => {
                self.closing.get_or_insert(CloseReason::ConnectTimeout);
            }
            Phase::Connected { grace: Some(g) } if g <= now => {
                self.closing.get_or_insert(CloseReason::IceDisconnected);
            }
            _ => {}
        }
        if !self.rtc.is_alive() {
            self.closing
                .get_or_insert_with(|| CloseReason::Failed("connection closed".to_owned()));
        }
    }

    fn on_event(&mut self, now: Instant, event: Event, sink: &mut Sink<'_>) {
        match event {
            Event::Connected => {
                if let Phase::Connecting { .. } = self.phase {
                    self.phase = Phase::Connected { grace: None };
                    sink.events.push_back((self.id, WebRtcEvent::Connected));
                }
            }
            Event::IceConnectionStateChange(state) => {
                if let Phase::Connected { grace } = &mut self.phase {
                    if state.is_disconnected() {
                        if grace.is_none() {
                            *grace = Some(now.checked_add(self.disconnect_grace).unwrap_or(now));
                        }
                    } else if state.is_connected() {
                        *grace = None;
                    }
                }
            }
            Event::MediaData(data) => self.on_media(data, sink),
            Event::Closed => {
                self.closing.get_or_insert(CloseReason::PeerClosed);
            }
            _ => {}
        }
    }

    fn on_media(&mut self, data: MediaData, sink: &mut Sink<'_>) {
        let codec = data.params.spec().codec;
        if codec.is_tele() {
            let CodecExtra::Tele(tele) = data.codec_extra else {
                return;
            };
            // One event = one media time; its end is sent three times (RFC 4733 §2.5.1.4).
            let start = data.time.numer();
            if tele.end && self.last_dtmf != Some(start) {
                self.last_dtmf = Some(start);
                if let Some(digit) = dtmf_digit(tele.event) {
                    sink.events.push_back((self.id, WebRtcEvent::Dtmf { digit }));
                }
            }
            return;
        }
        let Some(codec) = AudioCodec::from_str0m(codec) else {
            return; // comfort noise or a codec we did not answer
        };
        // str0m extends the 32-bit RTP timestamp to 64 bits; the low half is the wire value.
        let rtp_time = (data.time.numer() & u64::from(u32::MAX)) as u32;
        let event = WebRtcEvent::Audio {
            codec,
            payload: data.data.to_vec(),
            rtp_time,
            seq: **data.seq_range.start(),
        };
        sink.events.push_back((self.id, event));
    }
}
