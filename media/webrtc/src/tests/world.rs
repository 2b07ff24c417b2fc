//! A scripted world: the hub, str0m "browsers" (full ICE, controlling, offering like Chrome), a
//! lossless zero-latency network and a virtual clock that jumps from deadline to deadline.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use str0m::change::SdpAnswer;
use str0m::format::{Codec, CodecExtra};
use str0m::media::{Direction, Frequency, MediaData, MediaKind, MediaTime, Mid, Pt};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc, RtcConfig};

use crate::{HubConfig, LegId, WebRtcEvent, WebRtcHub};

/// Only differences between instants matter to the hub; any origin will do.
#[allow(clippy::disallowed_methods)] // reason: tests need some Instant to start virtual time from
pub(super) fn origin() -> Instant {
    Instant::now()
}

pub(super) fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

pub(super) const HUB: &str = "192.0.2.1:20000";

/// Bound on clock jumps per `run_for`, so a timer that never settles fails the test instead of
/// hanging it.
const MAX_STEPS: usize = 200_000;
/// Bound on packet exchanges at one instant.
const MAX_FLUSH: usize = 10_000;

/// The codecs a browser offers, in its order.
#[derive(Clone, Copy)]
pub(super) enum Offers {
    /// Chrome: Opus, PCMU, PCMA, telephone-event at 48 and 8 kHz.
    Chrome,
    /// Opus only (and telephone-event at 48 kHz).
    OpusOnly,
    /// A codec we do not speak.
    G722Only,
}

pub(super) struct Browser {
    pub(super) addr: SocketAddr,
    pub(super) rtc: Rtc,
    pub(super) mid: Mid,
    pub(super) timeout: Instant,
    pub(super) connected: bool,
    pub(super) closed: bool,
    /// Deliver datagrams between this browser and the hub (false: it vanished).
    pub(super) online: bool,
    /// Audio received (telephone-events left out).
    pub(super) audio: Vec<MediaData>,
    /// Every datagram it sent, in order.
    pub(super) sent: Vec<Vec<u8>>,
    pending: Option<str0m::change::SdpPendingOffer>,
}

impl Browser {
    fn new(now: Instant, addr: SocketAddr, offers: Offers) -> (Self, String) {
        let mut config = RtcConfig::new().clear_codecs();
        let codecs = config.codec_config();
        match offers {
            Offers::Chrome => {
                codecs.enable_opus(true, false);
                codecs.enable_pcmu(true, false);
                codecs.enable_pcma(true, false);
                codecs.add_config(
                    110.into(),
                    None,
                    Codec::Tele,
                    Frequency::FORTY_EIGHT_KHZ,
                    None,
                    Default::default(),
                );
                codecs.add_config(
                    126.into(),
                    None,
                    Codec::Tele,
                    Frequency::EIGHT_KHZ,
                    None,
                    Default::default(),
                );
            }
            Offers::OpusOnly => {
                codecs.enable_opus(true, false);
                codecs.add_config(
                    110.into(),
                    None,
                    Codec::Tele,
                    Frequency::FORTY_EIGHT_KHZ,
                    None,
                    Default::default(),
                );
            }
            Offers::G722Only => codecs.enable_g722(true, false),
        }
        let mut rtc = config.build(now);
        rtc.add_local_candidate(Candidate::host(addr, "udp").unwrap())
            .unwrap();
        let mut api = rtc.sdp_api();
        let mid = api.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None);
        let (offer, pending) = api.apply().unwrap();
        let browser = Self {
            addr,
            rtc,
            mid,
            timeout: now,
            connected: false,
            closed: false,
            online: true,
            audio: Vec::new(),
            sent: Vec::new(),
            pending: Some(pending),
        };
        (browser, offer.to_sdp_string())
    }

    pub(super) fn accept_answer(&mut self, answer: &str) {
        let pending = self.pending.take().unwrap();
        self.rtc
            .sdp_api()
            .accept_answer(pending, SdpAnswer::from_sdp_string(answer).unwrap())
            .unwrap();
    }

    /// The payload type the browser sends with: the first of the answer, as Chrome does.
    pub(super) fn send_pt(&self) -> Pt {
        self.rtc.media(self.mid).unwrap().remote_pts()[0]
    }

    pub(super) fn send_codec(&self) -> Codec {
        let pt = self.send_pt();
        self.rtc
            .codec_config()
            .find(|p| p.pt() == pt)
            .unwrap()
            .spec()
            .codec
    }

    fn drain(&mut self, to_hub: &mut Vec<(SocketAddr, Vec<u8>)>) {
        loop {
            match self.rtc.poll_output().unwrap() {
                Output::Timeout(t) => {
                    self.timeout = t;
                    return;
                }
                Output::Transmit(t) => {
                    assert_eq!(t.destination, addr(HUB), "browsers only talk to the hub");
                    let bytes: Vec<u8> = t.contents.into();
                    self.sent.push(bytes.clone());
                    if self.online {
                        to_hub.push((self.addr, bytes));
                    }
                }
                Output::Event(Event::Connected) => self.connected = true,
                Output::Event(Event::Closed) => self.closed = true,
                Output::Event(Event::MediaData(d)) => {
                    if !matches!(d.codec_extra, CodecExtra::Tele(_)) {
                        self.audio.push(d);
                    }
                }
                Output::Event(_) => {}
            }
        }
    }
}

/// An attacker's hook: runs after each datagram the hub handled.
pub(super) type Meddler = Box<dyn FnMut(Instant, &mut WebRtcHub)>;

pub(super) struct World {
    pub(super) now: Instant,
    pub(super) hub: WebRtcHub,
    pub(super) browsers: Vec<Browser>,
    /// Every hub event, with the virtual time it was drained at.
    pub(super) events: Vec<(Instant, LegId, WebRtcEvent)>,
    /// Largest datagram delivered to the hub so far.
    pub(super) max_to_hub: usize,
    /// Called after every datagram the hub handled: an attacker racing the browser.
    pub(super) meddle: Option<Meddler>,
    to_hub: Vec<(SocketAddr, Vec<u8>)>,
}

impl World {
    pub(super) fn new(config: HubConfig) -> Self {
        Self {
            now: origin(),
            hub: WebRtcHub::with_config(addr(HUB), config),
            browsers: Vec::new(),
            events: Vec::new(),
            max_to_hub: 0,
            meddle: None,
            to_hub: Vec::new(),
        }
    }

    /// A new browser and its offer, not yet given to the hub.
    pub(super) fn browser(&mut self, address: &str, offers: Offers) -> (usize, String) {
        let (browser, offer) = Browser::new(self.now, addr(address), offers);
        self.browsers.push(browser);
        (self.browsers.len() - 1, offer)
    }

    /// A Chrome-like browser whose offer the hub answered.
    pub(super) fn offer(&mut self, address: &str) -> (usize, LegId, String) {
        let (b, offer) = self.browser(address, Offers::Chrome);
        let (leg, answer) = self.hub.accept_offer(self.now, &offer).unwrap();
        self.browsers[b].accept_answer(&answer);
        self.flush();
        (b, leg, answer)
    }

    /// A Chrome-like browser, answered and connected on both sides.
    pub(super) fn connect(&mut self, address: &str) -> (usize, LegId) {
        let (b, leg, _) = self.offer(address);
        self.run_until(Duration::from_secs(5), |w| {
            w.browsers[b].connected && w.hub.is_connected(leg)
        });
        (b, leg)
    }

    /// Moves datagrams until nothing is in flight at `now`.
    pub(super) fn flush(&mut self) {
        for round in 0.. {
            assert!(round < MAX_FLUSH, "datagrams never settle");
            for b in &mut self.browsers {
                b.drain(&mut self.to_hub);
            }
            while let Some((leg, event)) = self.hub.poll_event() {
                self.events.push((self.now, leg, event));
            }
            let mut moved = false;
            while let Some((destination, bytes)) = self.hub.poll_transmit() {
                self.deliver(destination, &bytes);
                moved = true;
            }
            for (source, bytes) in std::mem::take(&mut self.to_hub) {
                self.max_to_hub = self.max_to_hub.max(bytes.len());
                self.hub.handle_datagram(self.now, source, &bytes);
                if let Some(meddle) = &mut self.meddle {
                    meddle(self.now, &mut self.hub);
                }
                moved = true;
            }
            if !moved {
                return;
            }
        }
    }

    /// Hands one datagram from the hub to the browser at `destination`, if one is there.
    pub(super) fn deliver(&mut self, destination: SocketAddr, bytes: &[u8]) {
        let Some(b) = self
            .browsers
            .iter_mut()
            .find(|b| b.addr == destination && b.online)
        else {
            return; // to a vanished browser or an address nobody listens on
        };
        let receive = Receive {
            proto: Protocol::Udp,
            source: addr(HUB),
            destination,
            contents: bytes.try_into().unwrap(),
        };
        b.rtc.handle_input(Input::Receive(self.now, receive)).unwrap();
        b.drain(&mut self.to_hub);
    }

    /// Fires every timer due at `now`, then jumps to the next deadline, until `now + span`.
    pub(super) fn run_for(&mut self, span: Duration) {
        let end = self.now + span;
        self.run_to(end, |_| false);
    }

    /// Like `run_for` but stops as soon as `done` holds; panics if it never does within `limit`.
    pub(super) fn run_until(&mut self, limit: Duration, done: impl Fn(&Self) -> bool) {
        let end = self.now + limit;
        assert!(self.run_to(end, done), "condition not reached within {limit:?}");
    }

    fn run_to(&mut self, end: Instant, done: impl Fn(&Self) -> bool) -> bool {
        for _ in 0..MAX_STEPS {
            self.fire_due();
            self.flush();
            if done(self) {
                return true;
            }
            if self.now >= end {
                return false;
            }
            let mut next = end;
            if let Some(t) = self.hub.poll_timeout() {
                next = next.min(t);
            }
            for b in &self.browsers {
                next = next.min(b.timeout);
            }
            // Always move: a deadline at `now` was just handled.
            self.now = next.max(self.now + Duration::from_millis(1)).min(end);
        }
        panic!("clock did not reach the end in {MAX_STEPS} steps");
    }

    fn fire_due(&mut self) {
        if self.hub.poll_timeout().is_some_and(|t| t <= self.now) {
            self.hub.handle_timeout(self.now);
        }
        for b in &mut self.browsers {
            if b.timeout <= self.now {
                b.rtc.handle_input(Input::Timeout(self.now)).unwrap();
                b.drain(&mut self.to_hub);
            }
        }
    }

    /// The browser writes one frame in the codec it sends with, stamped `now`.
    pub(super) fn browser_send(&mut self, b: usize, payload: &[u8], rtp_time: u32) {
        let now = self.now;
        let browser = &mut self.browsers[b];
        let pt = browser.send_pt();
        let clock = browser
            .rtc
            .codec_config()
            .find(|p| p.pt() == pt)
            .unwrap()
            .spec()
            .clock_rate;
        browser.rtc.handle_input(Input::Timeout(now)).unwrap();
        browser.drain(&mut self.to_hub);
        browser
            .rtc
            .writer(browser.mid)
            .unwrap()
            .write(
                pt,
                now,
                MediaTime::new(u64::from(rtp_time), clock),
                payload.to_vec(),
            )
            .unwrap();
        browser.drain(&mut self.to_hub);
        self.flush();
    }

    /// Hub events of one leg, without the time.
    pub(super) fn events_of(&self, leg: LegId) -> Vec<WebRtcEvent> {
        self.events
            .iter()
            .filter(|(_, l, _)| *l == leg)
            .map(|(_, _, e)| e.clone())
            .collect()
    }

    /// Audio payloads the hub reported for one leg.
    pub(super) fn audio_of(&self, leg: LegId) -> Vec<(Vec<u8>, u32)> {
        self.events_of(leg)
            .into_iter()
            .filter_map(|e| match e {
                WebRtcEvent::Audio {
                    payload, rtp_time, ..
                } => Some((payload, rtp_time)),
                _ => None,
            })
            .collect()
    }
}

/// A `len`-byte frame whose bytes say which browser (`tag`) and which frame (`n`) it is.
pub(super) fn frame(tag: u8, n: usize, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| tag ^ (n as u8).wrapping_mul(31) ^ (i as u8))
        .collect()
}
