//! [`WebRtcHub`]: every agent leg behind one UDP socket.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use str0m::change::SdpOffer;
use str0m::config::{CryptoProvider, DtlsCert};
use str0m::format::Codec;
use str0m::media::{Frequency, MediaKind, Mid};
use str0m::net::{DatagramRecv, Protocol, Receive};
use str0m::{Candidate, IceCreds, Input, Rtc};

use crate::leg::{Leg, MAX_ADDRS_PER_LEG, Negotiated, Sink};
use crate::stun;
use crate::{HubConfig, LegId, WebRtcError, WebRtcEvent};

/// Payload types we configure for RFC 4733 telephone-event, one per audio clock. A browser's
/// sendrecv offer fixes the numbers it receives on, so these only show in our own offers.
const PT_TELEPHONE_EVENT_8K: u8 = 101;
const PT_TELEPHONE_EVENT_48K: u8 = 110;

/// The engine's side of every browser agent's audio: one sans-IO hub holding one str0m `Rtc` per
/// leg, all behind one UDP socket (see the [crate docs](crate) for the design and the run loop).
///
/// Contract: after each `accept_offer`, `handle_datagram`, `handle_timeout`, `send_audio` or
/// `close`, drain [`poll_transmit`](Self::poll_transmit) and [`poll_event`](Self::poll_event) and
/// re-arm the timer with [`poll_timeout`](Self::poll_timeout). Every `Rtc` is driven to its
/// timeout inside each call, so the hub never holds an undrained instance.
pub struct WebRtcHub {
    config: HubConfig,
    public_addr: SocketAddr,
    crypto: Arc<CryptoProvider>,
    /// One DTLS certificate for every leg: generating a key pair per call costs more than it buys
    /// (browsers keep one certificate per origin for a long time too). `None` if the provider
    /// cannot generate one; str0m then makes one per leg.
    cert: Option<DtlsCert>,
    legs: BTreeMap<LegId, Leg>,
    next_leg: u64,
    /// Routing index: our ICE ufrag → leg, for STUN checks from an address not seen yet.
    by_ufrag: HashMap<String, LegId>,
    /// Routing index: source address of an authenticated STUN check → leg, for DTLS/SRTP/RTCP and
    /// later checks.
    by_addr: HashMap<SocketAddr, LegId>,
    /// Timer index: each leg filed under its earliest deadline.
    timers: BTreeSet<(Instant, LegId)>,
    transmits: VecDeque<(SocketAddr, Vec<u8>)>,
    events: VecDeque<(LegId, WebRtcEvent)>,
    dropped: u64,
    rejected: u64,
}

impl std::fmt::Debug for WebRtcHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebRtcHub")
            .field("public_addr", &self.public_addr)
            .field("legs", &self.legs.len())
            .field("dropped", &self.dropped)
            .field("rejected", &self.rejected)
            .finish_non_exhaustive()
    }
}

impl WebRtcHub {
    /// A hub with the default [`HubConfig`]. `public_addr`: the address advertised as our only
    /// (host) candidate; the socket the runtime binds (or its 1:1 NAT address).
    pub fn new(public_addr: SocketAddr) -> Self {
        Self::with_config(public_addr, HubConfig::default())
    }

    /// A hub with explicit limits and timers.
    pub fn with_config(public_addr: SocketAddr, config: HubConfig) -> Self {
        // The crypto backend comes from str0m's feature flags (`rust-crypto` in this workspace),
        // not from a process-wide default someone else may install.
        let crypto = Arc::new(str0m::crypto::from_feature_flags());
        let cert = crypto.dtls_provider.generate_certificate();
        Self {
            config,
            public_addr,
            crypto,
            cert,
            legs: BTreeMap::new(),
            next_leg: 1,
            by_ufrag: HashMap::new(),
            by_addr: HashMap::new(),
            timers: BTreeSet::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            dropped: 0,
            rejected: 0,
        }
    }

    /// The configuration the hub runs with.
    pub fn config(&self) -> &HubConfig {
        &self.config
    }

    /// A browser's SDP offer for a new agent leg: we answer as ICE-lite with one host candidate,
    /// audio only, preferring PCMU, then PCMA, then Opus whatever the browser's order (see
    /// [`AudioCodec::PREFERENCE`](crate::AudioCodec::PREFERENCE)). Telephone-event is answered
    /// too, so the browser can send DTMF. Returns the leg and the SDP answer text.
    ///
    /// Refused, with no leg created: past [`HubConfig::max_legs`] or
    /// [`HubConfig::max_offer_bytes`], unparsable SDP, a video or data channel m-line, no common
    /// audio codec, or anything str0m rejects (no fingerprint, ICE-lite browser, …).
    pub fn accept_offer(&mut self, now: Instant, offer_sdp: &str) -> Result<(LegId, String), WebRtcError> {
        if self.legs.len() >= self.config.max_legs {
            return Err(WebRtcError::TooManyLegs {
                limit: self.config.max_legs,
            });
        }
        if offer_sdp.len() > self.config.max_offer_bytes {
            return Err(WebRtcError::OfferTooLarge {
                len: offer_sdp.len(),
                limit: self.config.max_offer_bytes,
            });
        }
        let offer = SdpOffer::from_sdp_string(offer_sdp).map_err(WebRtcError::BadOffer)?;
        if offer.media_lines.iter().any(|m| m.typ.is_channel()) {
            return Err(WebRtcError::Unsupported(
                "data channels (m=application) are not served",
            ));
        }
        // The parser guarantees one a=mid per m-line.
        let mids: Vec<Mid> = offer.media_lines.iter().map(|m| m.mid()).collect();

        let candidate = Candidate::host(self.public_addr, "udp")
            .map_err(|_| WebRtcError::BadPublicAddr(self.public_addr))?;
        let id = LegId(self.next_leg);
        self.next_leg += 1;
        let ufrag = Self::ufrag_for(id);
        let mut rtc = self.rtc_config(ufrag.clone()).build(now);
        if rtc.add_local_candidate(candidate).is_none() {
            return Err(WebRtcError::BadPublicAddr(self.public_addr));
        }
        let answer = rtc
            .sdp_api()
            .accept_offer(offer)
            .map_err(WebRtcError::OfferRefused)?;
        // str0m answers a video m-line with port 0 and no formats, which RFC 4566 does not allow
        // and a browser may refuse: say no here instead.
        if mids
            .iter()
            .any(|&mid| rtc.media(mid).is_some_and(|m| m.kind() == MediaKind::Video))
        {
            return Err(WebRtcError::Unsupported("video (m=video) is not served"));
        }
        let audio = Negotiated::find(&rtc, &mids).ok_or(WebRtcError::NoCommonCodec)?;

        let mut leg = Leg::new(
            id,
            rtc,
            audio,
            ufrag.clone(),
            now,
            self.config.connect_timeout,
            self.config.disconnect_grace,
        );
        leg.drain(now, &mut self.sink());
        self.by_ufrag.insert(ufrag, id);
        self.legs.insert(id, leg);
        self.refile(id);
        Ok((id, answer.to_sdp_string()))
    }

    /// One datagram from the shared socket, received at `now` from `source`.
    ///
    /// Routed without scanning the legs: a STUN check by the ufrag in its USERNAME, anything else
    /// by its source address (learned from the leg's authenticated checks). The leg found must
    /// then accept it (str0m's `Rtc::accepts`: nominated address, or a STUN message with our
    /// ufrag and a valid MESSAGE-INTEGRITY). A datagram no leg accepts — larger than
    /// [`HubConfig::max_datagram`], not STUN/DTLS/RTP/RTCP, from an unknown address, a check with a
    /// wrong username or integrity — is dropped and counted in [`dropped`](Self::dropped); it
    /// never touches a leg. One a leg accepts but str0m then refuses is counted in
    /// [`rejected`](Self::rejected); the leg stays up unless str0m itself gives up on it.
    pub fn handle_datagram(&mut self, now: Instant, source: SocketAddr, contents: &[u8]) {
        if contents.len() > self.config.max_datagram {
            self.dropped += 1;
            return;
        }
        let Ok(parsed) = DatagramRecv::try_from(contents) else {
            self.dropped += 1;
            return;
        };
        let is_stun = stun::looks_like_stun(contents);
        let target = match stun::local_ufrag(contents).filter(|_| is_stun) {
            // A check names its leg; a wrong name is not for any leg, whatever the address.
            Some(ufrag) => self.by_ufrag.get(ufrag).copied(),
            None => self.by_addr.get(&source).copied(),
        };
        let Some(id) = target else {
            self.dropped += 1;
            return;
        };
        let mut sink = Sink {
            transmits: &mut self.transmits,
            events: &mut self.events,
        };
        let Some(leg) = self.legs.get_mut(&id) else {
            self.dropped += 1;
            return;
        };
        let input = Input::Receive(
            now,
            Receive {
                proto: Protocol::Udp,
                source,
                destination: self.public_addr,
                contents: parsed,
            },
        );
        if !leg.rtc.accepts(&input) {
            self.dropped += 1;
            return;
        }
        let handled = leg.rtc.handle_input(input);
        leg.drain(now, &mut sink);
        match handled {
            Err(_) => self.rejected += 1,
            Ok(()) if is_stun => self.learn_addr(id, source),
            Ok(()) => {}
        }
        self.settle(id);
    }

    /// Sends one audio frame, already encoded in the leg's negotiated codec
    /// ([`codec`](Self::codec)), on a connected leg; `rtp_time` in the codec's clock. str0m
    /// numbers the packets and sets the SSRC; the RTP timestamp on the wire is `rtp_time`.
    pub fn send_audio(
        &mut self,
        now: Instant,
        leg: LegId,
        payload: &[u8],
        rtp_time: u32,
    ) -> Result<(), WebRtcError> {
        let mut sink = Sink {
            transmits: &mut self.transmits,
            events: &mut self.events,
        };
        let Some(l) = self.legs.get_mut(&leg) else {
            return Err(WebRtcError::UnknownLeg(leg));
        };
        let sent = l.send_audio(now, payload, rtp_time, &mut sink);
        self.settle(leg);
        sent
    }

    /// The codec negotiated for a leg.
    pub fn codec(&self, leg: LegId) -> Option<crate::AudioCodec> {
        self.legs.get(&leg).map(|l| l.audio.codec)
    }

    /// Whether the leg has reported `Connected` and is not closing.
    pub fn is_connected(&self, leg: LegId) -> bool {
        self.legs.get(&leg).is_some_and(Leg::is_connected)
    }

    /// Closes a leg: str0m sends RTCP BYE and DTLS `close_notify` (in
    /// [`poll_transmit`](Self::poll_transmit)), then the leg reports
    /// `Closed { reason: CloseReason::Local }` and is removed. An unknown leg is ignored.
    pub fn close(&mut self, now: Instant, leg: LegId) {
        let mut sink = Sink {
            transmits: &mut self.transmits,
            events: &mut self.events,
        };
        if let Some(l) = self.legs.get_mut(&leg) {
            l.close(now, &mut sink);
            self.settle(leg);
        }
    }

    /// Time passes: every leg whose deadline is at or before `now` is driven (each once).
    pub fn handle_timeout(&mut self, now: Instant) {
        let mut due = Vec::new();
        while let Some(&(at, id)) = self.timers.first() {
            if at > now {
                break;
            }
            self.timers.pop_first();
            due.push(id);
        }
        for id in due {
            let mut sink = Sink {
                transmits: &mut self.transmits,
                events: &mut self.events,
            };
            if let Some(leg) = self.legs.get_mut(&id) {
                leg.handle_timeout(now, &mut sink);
                self.settle(id);
            }
        }
    }

    /// The earliest deadline of any leg; `None` without legs.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.first().map(|&(at, _)| at)
    }

    /// The next datagram to send from the shared socket: `(destination, contents)`.
    pub fn poll_transmit(&mut self) -> Option<(SocketAddr, Vec<u8>)> {
        self.transmits.pop_front()
    }

    /// The next event, in the order it happened.
    pub fn poll_event(&mut self) -> Option<(LegId, WebRtcEvent)> {
        self.events.pop_front()
    }

    /// Datagrams dropped because no leg accepted them.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Datagrams a leg accepted but str0m refused to process (the leg carried on).
    pub fn rejected(&self) -> u64 {
        self.rejected
    }

    /// Number of legs.
    pub fn len(&self) -> usize {
        self.legs.len()
    }

    /// Whether the hub has no legs.
    pub fn is_empty(&self) -> bool {
        self.legs.is_empty()
    }

    fn sink(&mut self) -> Sink<'_> {
        Sink {
            transmits: &mut self.transmits,
            events: &mut self.events,
        }
    }

    /// The `Rtc` of one agent leg: ICE-lite, our credentials, G.711 then Opus, telephone-event.
    fn rtc_config(&self, ufrag: String) -> str0m::RtcConfig {
        let mut config = Rtc::builder()
            .set_crypto_provider(Arc::clone(&self.crypto))
            .set_ice_lite(true)
            .set_local_ice_credentials(IceCreds {
                ufrag,
                pass: IceCreds::new().pass,
            })
            .set_reordering_size_audio(self.config.reorder_packets)
            .set_reordering_timeout_audio(Some(self.config.reorder_timeout))
            .clear_codecs()
            // Order matters: the answer lists codecs in this order and browsers send the first.
            .enable_pcmu(true, false)
            .enable_pcma(true, false)
            .enable_opus(true, false);
        if let Some(cert) = &self.cert {
            config = config.set_dtls_cert(cert.clone());
        }
        let codecs = config.codec_config();
        for (pt, clock) in [
            (PT_TELEPHONE_EVENT_8K, Frequency::EIGHT_KHZ),
            (PT_TELEPHONE_EVENT_48K, Frequency::FORTY_EIGHT_KHZ),
        ] {
            codecs.add_config(pt.into(), None, Codec::Tele, clock, None, Default::default());
        }
        config
    }

    /// Our ICE ufrag for a new leg: 16 random characters (unguessable, as RFC 8445 §5.3 asks)
    /// followed by the leg id in fixed-width hex, so it is unique by construction: it is the
    /// routing key of STUN checks.
    fn ufrag_for(id: LegId) -> String {
        format!("{}{:016x}", IceCreds::new().ufrag, id.0)
    }

    /// Indexes `source` for the leg after an authenticated check, evicting its oldest address
    /// past [`MAX_ADDRS_PER_LEG`]. An address that moved to this leg is taken from its old one.
    fn learn_addr(&mut self, id: LegId, source: SocketAddr) {
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        if let Some(pos) = leg.addrs.iter().position(|a| *a == source) {
            leg.addrs.remove(pos);
        } else if leg.addrs.len() >= MAX_ADDRS_PER_LEG {
            if let Some(old) = leg.addrs.pop_front() {
                if self.by_addr.get(&old) == Some(&id) {
                    self.by_addr.remove(&old);
                }
            }
        }
        leg.addrs.push_back(source);
        if let Some(previous) = self.by_addr.insert(source, id) {
            if previous != id {
                if let Some(other) = self.legs.get_mut(&previous) {
                    other.addrs.retain(|a| *a != source);
                }
            }
        }
    }

    /// After a leg was driven: remove it if it is closing (reporting `Closed` last), else refile
    /// its deadline.
    fn settle(&mut self, id: LegId) {
        let closing = self.legs.get(&id).and_then(|l| l.closing.clone());
        match closing {
            Some(reason) => self.remove(id, reason),
            None => self.refile(id),
        }
    }

    fn refile(&mut self, id: LegId) {
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        let deadline = leg.deadline();
        self.timers.remove(&(leg.filed_at, id));
        leg.filed_at = deadline;
        self.timers.insert((deadline, id));
    }

    fn remove(&mut self, id: LegId, reason: crate::CloseReason) {
        let Some(leg) = self.legs.remove(&id) else {
            return;
        };
        self.timers.remove(&(leg.filed_at, id));
        if self.by_ufrag.get(&leg.ufrag) == Some(&id) {
            self.by_ufrag.remove(&leg.ufrag);
        }
        for addr in &leg.addrs {
            if self.by_addr.get(addr) == Some(&id) {
                self.by_addr.remove(addr);
            }
        }
        self.events.push_back((id, WebRtcEvent::Closed { reason }));
    }
}
