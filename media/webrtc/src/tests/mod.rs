//! The hub against str0m browsers in virtual time: no sockets, no sleeps, a minute of call in
//! milliseconds.

mod world;

use std::time::Duration;

use str0m::format::Codec;
use str0m::ice::{StunMessage, TransId};
use str0m::media::{Direction, MediaKind, MediaTime, TelephoneEvent};

use crate::{
    AudioCodec, CloseReason, HubConfig, LegId, MAX_DATAGRAM, MAX_LEGS, MAX_OFFER_BYTES, WebRtcError,
    WebRtcEvent,
};
use world::{HUB, Offers, World, addr, frame};

const FRAME: Duration = Duration::from_millis(20);
const B1: &str = "192.0.2.10:40000";
const B2: &str = "192.0.2.11:40000";
const STRANGER: &str = "198.51.100.7:5000";

/// `(ufrag, pwd)` of an SDP.
fn ice_creds(sdp: &str) -> (String, String) {
    let attr = |name: &str| {
        sdp.lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap()
            .trim()
            .to_owned()
    };
    (attr("a=ice-ufrag:"), attr("a=ice-pwd:"))
}

/// A STUN binding request like a controlling browser's, signed with `password`.
fn stun_check(username: &str, password: &str) -> Vec<u8> {
    let crypto = str0m::crypto::from_feature_flags();
    let hmac = |key: &[u8], payloads: &[&[u8]]| crypto.sha1_hmac_provider.sha1_hmac(key, payloads);
    let msg = StunMessage::binding_request(username, TransId::new(), true, 7, 0x6e00_1eff, false);
    let mut buf = vec![0; 1500];
    let n = msg.to_bytes(Some(password.as_bytes()), &mut buf, hmac).unwrap();
    buf.truncate(n);
    buf
}

/// An SDP offer grown to exactly `len` bytes with an attribute nobody knows.
fn pad_offer(offer: &str, len: usize) -> String {
    assert!(offer.ends_with("\r\n"));
    let filler = len - offer.len() - "a=x-pad:\r\n".len();
    let padded = format!("{offer}a=x-pad:{}\r\n", "p".repeat(filler));
    assert_eq!(padded.len(), len);
    padded
}

fn closed_reason(w: &World, leg: LegId) -> Option<CloseReason> {
    w.events_of(leg).into_iter().find_map(|e| match e {
        WebRtcEvent::Closed { reason } => Some(reason),
        _ => None,
    })
}

/// What the hub got from a browser, and what the browser got from the hub: payloads in order.
type Received = (Vec<Vec<u8>>, Vec<Vec<u8>>);

/// Browser `b` and the hub exchange `count` 160-byte frames each way on `leg`, one per 20 ms;
/// returns what each side received of this exchange.
fn exchange(w: &mut World, pairs: &[(usize, LegId, u8)], count: usize) -> Vec<Received> {
    let before: Vec<(usize, usize)> = pairs
        .iter()
        .map(|&(b, leg, _)| (w.audio_of(leg).len(), w.browsers[b].audio.len()))
        .collect();
    for n in 0..count {
        for &(b, leg, tag) in pairs {
            let rtp_time = (n as u32) * 160;
            w.browser_send(b, &frame(tag, n, 160), rtp_time);
            let now = w.now;
            w.hub
                .send_audio(now, leg, &frame(tag ^ 0x80, n, 160), rtp_time)
                .unwrap();
            w.flush();
        }
        w.run_for(FRAME);
    }
    pairs
        .iter()
        .zip(before)
        .map(|(&(b, leg, _), (hub_before, browser_before))| {
            let at_hub = w.audio_of(leg)[hub_before..]
                .iter()
                .map(|(p, _)| p.clone())
                .collect();
            let at_browser = w.browsers[b].audio[browser_before..]
                .iter()
                .map(|d| d.data.to_vec())
                .collect();
            (at_hub, at_browser)
        })
        .collect()
}

fn frames(tag: u8, count: usize) -> Vec<Vec<u8>> {
    (0..count).map(|n| frame(tag, n, 160)).collect()
}

#[test]
fn leg_connects_with_pcmu_and_carries_audio_both_ways() {
    let mut w = World::new(HubConfig::default());
    let (b, leg, answer) = w.offer(B1);

    // ICE-lite, our one host candidate, PCMU first although the browser put Opus first.
    assert!(answer.contains("a=ice-lite"), "{answer}");
    let candidates: Vec<&str> = answer.lines().filter(|l| l.starts_with("a=candidate")).collect();
    assert_eq!(candidates.len(), 1, "{answer}");
    assert!(candidates[0].contains("192.0.2.1 20000 typ host"), "{answer}");
    let m_audio = answer.lines().find(|l| l.starts_with("m=audio")).unwrap();
    assert_eq!(m_audio.split(' ').nth(3), Some("0"), "{m_audio}");
    assert_eq!(w.hub.codec(leg), Some(AudioCodec::Pcmu));
    assert_eq!(w.browsers[b].send_codec(), Codec::PCMU);

    w.run_until(Duration::from_secs(5), |w| {
        w.browsers[b].connected && w.hub.is_connected(leg)
    });
    assert_eq!(w.events_of(leg), vec![WebRtcEvent::Connected]);

    // Browser → hub: 50 distinct frames, in order, payloads and RTP times intact.
    for n in 0..50 {
        w.browser_send(b, &frame(1, n, 160), 1000 + n as u32 * 160);
        w.run_for(FRAME);
    }
    let want: Vec<(Vec<u8>, u32)> = (0..50)
        .map(|n| (frame(1, n, 160), 1000 + n as u32 * 160))
        .collect();
    assert_eq!(w.audio_of(leg), want);
    let seqs: Vec<u64> = w
        .events_of(leg)
        .into_iter()
        .filter_map(|e| match e {
            WebRtcEvent::Audio { codec, seq, .. } => {
                assert_eq!(codec, AudioCodec::Pcmu);
                Some(seq)
            }
            _ => None,
        })
        .collect();
    assert!(seqs.windows(2).all(|s| s[1] == s[0] + 1), "{seqs:?}");

    // Hub → browser: 50 distinct frames arrive as the browser's MediaData, PT 0. Each leaves
    // the hub with the call that sent it: one SRTP datagram, to the browser.
    for n in 0..50 {
        let now = w.now;
        w.hub
            .send_audio(now, leg, &frame(2, n, 160), 7000 + n as u32 * 160)
            .unwrap();
        let (destination, datagram) = w.hub.poll_transmit().unwrap();
        assert_eq!(
            (destination, datagram[0] & 0xC0, datagram[1] & 0x7F),
            (addr(B1), 0x80, 0)
        );
        w.deliver(destination, &datagram);
        w.flush();
        w.run_for(FRAME);
    }
    let got: Vec<(Vec<u8>, u64)> = w.browsers[b]
        .audio
        .iter()
        .map(|d| {
            assert_eq!(*d.pt, 0);
            (d.data.to_vec(), d.time.numer())
        })
        .collect();
    let want: Vec<(Vec<u8>, u64)> = (0..50)
        .map(|n| (frame(2, n, 160), 7000 + n as u64 * 160))
        .collect();
    assert_eq!(got, want);
    assert_eq!((w.hub.dropped(), w.hub.rejected()), (0, 0));
}

#[test]
fn browser_offering_only_opus_gets_opus_at_48_khz() {
    let mut w = World::new(HubConfig::default());
    let (b, offer) = w.browser(B1, Offers::OpusOnly);
    let (leg, answer) = w.hub.accept_offer(w.now, &offer).unwrap();
    w.browsers[b].accept_answer(&answer);
    assert_eq!(w.hub.codec(leg), Some(AudioCodec::Opus));
    w.run_until(Duration::from_secs(5), |w| w.hub.is_connected(leg));

    for n in 0..10u32 {
        w.browser_send(b, &[0xF8, n as u8, 0xFE], n * 960);
        let now = w.now;
        w.hub.send_audio(now, leg, &[0x78, n as u8], n * 960).unwrap();
        w.flush();
        w.run_for(FRAME);
    }
    let want: Vec<(Vec<u8>, u32)> = (0..10u32).map(|n| (vec![0xF8, n as u8, 0xFE], n * 960)).collect();
    assert_eq!(w.audio_of(leg), want);
    let got: Vec<Vec<u8>> = w.browsers[b].audio.iter().map(|d| d.data.to_vec()).collect();
    assert_eq!(got, (0..10u8).map(|n| vec![0x78, n]).collect::<Vec<_>>());
}

#[test]
fn two_browsers_each_get_only_their_own_audio() {
    let mut w = World::new(HubConfig::default());
    let (b1, l1) = w.connect(B1);
    let (b2, l2) = w.connect(B2);
    assert_ne!(l1, l2);
    assert_eq!(w.hub.len(), 2);

    let got = exchange(&mut w, &[(b1, l1, 1), (b2, l2, 2)], 20);
    assert_eq!(got[0].0, frames(1, 20), "hub from browser 1");
    assert_eq!(got[1].0, frames(2, 20), "hub from browser 2");
    assert_eq!(got[0].1, frames(0x81, 20), "browser 1 from hub");
    assert_eq!(got[1].1, frames(0x82, 20), "browser 2 from hub");
    assert_eq!((w.hub.dropped(), w.hub.rejected()), (0, 0));
}

#[test]
fn stray_and_forged_datagrams_are_dropped_and_legs_carry_on() {
    let mut w = World::new(HubConfig::default());
    let (b1, l1, answer1) = w.offer(B1);
    let (b2, l2, _) = w.offer(B2);
    w.run_until(Duration::from_secs(5), |w| {
        w.hub.is_connected(l1) && w.hub.is_connected(l2)
    });
    let (hub_ufrag, hub_pwd) = ice_creds(&answer1);
    let browser_ufrag = {
        let offer_side = w.browsers[b1].rtc.direct_api().local_ice_credentials();
        offer_side.ufrag
    };
    let now = w.now;
    let stranger = addr(STRANGER);

    // DTLS-looking (content type 22, DTLS 1.2) from an unknown address.
    let mut dtls = vec![22, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 0, 0, 40];
    dtls.resize(53, 0);
    // RTP-looking (version 2, PT 0) from an unknown address.
    let mut rtp = vec![0x80, 0, 0, 1, 0, 0, 0, 160, 0xDE, 0xAD, 0xBE, 0xEF];
    rtp.extend(frame(9, 0, 160));
    // A check for a ufrag nobody has, from a browser's own address.
    let wrong_user = stun_check(&format!("nosuchufrag:{browser_ufrag}"), &hub_pwd);
    // Our ufrag, but signed with the wrong password.
    let right_user = format!("{hub_ufrag}:{browser_ufrag}");
    let bad_integrity = stun_check(&right_user, "not-the-password-at-all");

    w.hub.handle_datagram(now, stranger, &dtls);
    w.hub.handle_datagram(now, stranger, &rtp);
    w.hub.handle_datagram(now, addr(B1), &wrong_user);
    w.hub.handle_datagram(now, stranger, &bad_integrity);
    w.hub.handle_datagram(now, addr(B2), &[0xFF; 40]); // no protocol starts with 255
    w.hub.handle_datagram(now, addr(B2), &[]);
    assert_eq!(w.hub.dropped(), 6);
    assert!(w.hub.poll_transmit().is_none(), "nothing answered");
    assert!(w.hub.poll_event().is_none());

    // The same check with the right password from a new address is accepted (a peer-reflexive
    // candidate): the one above was refused for its integrity alone.
    w.hub
        .handle_datagram(now, addr("198.51.100.8:6000"), &stun_check(&right_user, &hub_pwd));
    assert_eq!(w.hub.dropped(), 6);
    assert!(w.hub.poll_transmit().is_some(), "a binding response");
    w.flush();

    // Forged SRTP and DTLS from a browser's own (nominated) address reach its leg, which
    // discards them: SRTP authentication fails, a plaintext handshake after the handshake is
    // ignored.
    w.hub.handle_datagram(now, addr(B1), &rtp);
    w.hub.handle_datagram(now, addr(B1), &dtls);
    w.flush();

    assert!(w.hub.is_connected(l1) && w.hub.is_connected(l2));
    let got = exchange(&mut w, &[(b1, l1, 1), (b2, l2, 2)], 10);
    assert_eq!(got[0], (frames(1, 10), frames(0x81, 10)));
    assert_eq!(got[1], (frames(2, 10), frames(0x82, 10)));
    assert_eq!(closed_reason(&w, l1), None);
    assert_eq!(closed_reason(&w, l2), None);
    assert_eq!(w.hub.dropped(), 6);
}

#[test]
fn forged_datagrams_during_the_handshake_do_not_break_it() {
    let mut w = World::new(HubConfig::default());
    let (b, offer) = w.browser(B1, Offers::Chrome);
    let (leg, answer) = w.hub.accept_offer(w.now, &offer).unwrap();
    w.browsers[b].accept_answer(&answer);
    // After every datagram of ICE and DTLS, one forged record of each DTLS content type, from
    // the browser's address (its leg takes them) and from elsewhere (no leg does).
    let forged: Vec<Vec<u8>> = (20u8..=25)
        .map(|content_type| {
            let mut d = vec![content_type, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 9, 0, 20];
            d.extend([0xAB; 20]);
            d
        })
        .collect();
    let handled = std::rc::Rc::new(std::cell::Cell::new(0u64));
    let counter = std::rc::Rc::clone(&handled);
    w.meddle = Some(Box::new(move |now, hub| {
        counter.set(counter.get() + 1);
        for d in &forged {
            hub.handle_datagram(now, addr(B1), d);
            hub.handle_datagram(now, addr(STRANGER), d);
        }
    }));
    w.run_until(Duration::from_secs(5), |w| {
        w.browsers[b].connected && w.hub.is_connected(leg)
    });
    w.meddle = None;
    let handled = handled.get();
    assert!(
        handled >= 3,
        "STUN and DTLS flights went through the hub: {handled}"
    );
    // Those from elsewhere were dropped; the browser's address reached the leg, which ignored them.
    assert_eq!(w.hub.dropped(), handled * 6);
    let got = exchange(&mut w, &[(b, leg, 1)], 5);
    assert_eq!(got[0], (frames(1, 5), frames(0x81, 5)));
}

#[test]
fn max_legs_at_limit_and_one_past() {
    let mut w = World::new(HubConfig {
        max_legs: 2,
        ..HubConfig::default()
    });
    let (_, l1, _) = w.offer(B1);
    let (_, _l2, _) = w.offer(B2);
    assert_eq!(w.hub.len(), 2);

    let (b3, offer3) = w.browser("192.0.2.12:40000", Offers::Chrome);
    let err = w.hub.accept_offer(w.now, &offer3).unwrap_err();
    assert!(matches!(err, WebRtcError::TooManyLegs { limit: 2 }), "{err}");
    assert_eq!(w.hub.len(), 2);

    // A leg ends, a place frees up.
    let now = w.now;
    w.hub.close(now, l1);
    w.flush();
    let (l3, answer) = w.hub.accept_offer(w.now, &offer3).unwrap();
    w.browsers[b3].accept_answer(&answer);
    w.run_until(Duration::from_secs(5), |w| w.hub.is_connected(l3));
    assert_eq!(w.hub.len(), 2);
}

#[test]
fn max_offer_bytes_at_limit_and_one_past() {
    const LIMIT: usize = 8 * 1024;
    let mut w = World::new(HubConfig {
        max_offer_bytes: LIMIT,
        ..HubConfig::default()
    });
    let (b, offer) = w.browser(B1, Offers::Chrome);
    let (leg, answer) = w.hub.accept_offer(w.now, &pad_offer(&offer, LIMIT)).unwrap();
    w.browsers[b].accept_answer(&answer);
    w.run_until(Duration::from_secs(5), |w| w.hub.is_connected(leg));

    let (_, offer) = w.browser(B2, Offers::Chrome);
    let err = w
        .hub
        .accept_offer(w.now, &pad_offer(&offer, LIMIT + 1))
        .unwrap_err();
    assert!(
        matches!(err, WebRtcError::OfferTooLarge { len, limit } if len == LIMIT + 1 && limit == LIMIT),
        "{err}"
    );
    assert_eq!(w.hub.len(), 1);
}

#[test]
fn max_datagram_at_limit_and_one_past() {
    // The limit must let the DTLS handshake through: measure its largest datagram first.
    let handshake_max = {
        let mut w = World::new(HubConfig::default());
        w.connect(B1);
        w.max_to_hub
    };
    let limit = handshake_max + 64;
    let mut w = World::new(HubConfig {
        max_datagram: limit,
        ..HubConfig::default()
    });
    let (b, leg) = w.connect(B1);

    // RTP overhead (header, extensions, SRTP tag) from a few ordinary frames.
    let last_rtp_len = |w: &World| {
        w.browsers[b]
            .sent
            .iter()
            .rev()
            .find(|d| d[0] & 0xC0 == 0x80 && d[1] & 0x7F == 0)
            .unwrap()
            .len()
    };
    for n in 0..5 {
        w.browser_send(b, &frame(1, n, 100), n as u32 * 160);
        w.run_for(FRAME);
    }
    let overhead = last_rtp_len(&w) - 100;
    let at_limit = frame(2, 0, limit - overhead);
    w.browser_send(b, &at_limit, 5 * 160);
    w.run_for(FRAME);
    assert_eq!(last_rtp_len(&w), limit);
    assert_eq!(w.hub.dropped(), 0);
    assert_eq!(w.audio_of(leg).last().unwrap().0, at_limit);

    w.browser_send(b, &frame(3, 0, limit - overhead + 1), 6 * 160);
    w.run_for(FRAME);
    assert_eq!(last_rtp_len(&w), limit + 1);
    assert_eq!(w.hub.dropped(), 1);
    assert_eq!(w.audio_of(leg).len(), 6);

    // The leg is fine: the next ordinary frame arrives (the jump over the dropped one is a gap).
    w.browser_send(b, &frame(4, 0, 160), 7 * 160);
    w.run_for(Duration::from_millis(200));
    assert_eq!(w.audio_of(leg).last().unwrap().0, frame(4, 0, 160));
    assert!(w.hub.is_connected(leg));
}

#[test]
fn silent_browser_is_closed_after_ice_disconnects_and_removed() {
    let mut w = World::new(HubConfig::default());
    let (b, leg) = w.connect(B1);
    let got = exchange(&mut w, &[(b, leg, 1)], 5);
    assert_eq!(got[0].0, frames(1, 5));

    w.browsers[b].online = false; // tab killed, network gone: nothing more either way
    let gone = w.now;
    w.run_until(Duration::from_secs(60), |w| w.hub.is_empty());
    let (at, l, event) = w.events.last().unwrap().clone();
    assert_eq!(l, leg);
    assert_eq!(
        event,
        WebRtcEvent::Closed {
            reason: CloseReason::IceDisconnected
        }
    );
    // str0m: no check for 15 s → disconnected; then our 15 s grace.
    let after = at - gone;
    assert!(
        after >= Duration::from_secs(25) && after <= Duration::from_secs(31),
        "{after:?}"
    );
    assert_eq!(w.hub.poll_timeout(), None);
    let now = w.now;
    let err = w.hub.send_audio(now, leg, &[0; 160], 0).unwrap_err();
    assert!(matches!(err, WebRtcError::UnknownLeg(l) if l == leg), "{err}");
}

#[test]
fn dtmf_from_browser_is_reported_once_per_key_press() {
    let mut w = World::new(HubConfig::default());
    let (b, leg) = w.connect(B1);
    for (n, event) in [1u8, 11, 10, 5, 5, 13].into_iter().enumerate() {
        let now = w.now;
        let browser = &mut w.browsers[b];
        let pt = browser.send_pt();
        browser
            .rtc
            .writer(browser.mid)
            .unwrap()
            .telephone_event(TelephoneEvent {
                event,
                end: true,
                volume: 10,
                duration: Duration::from_millis(100),
            })
            .write(
                pt,
                now,
                MediaTime::new(n as u64 * 8000, str0m::media::Frequency::EIGHT_KHZ),
                [],
            )
            .unwrap();
        w.run_for(Duration::from_millis(400));
    }
    let digits: String = w
        .events_of(leg)
        .into_iter()
        .filter_map(|e| match e {
            WebRtcEvent::Dtmf { digit } => Some(digit),
            _ => None,
        })
        .collect();
    assert_eq!(digits, "1#*55B");
    assert!(w.audio_of(leg).is_empty(), "telephone-events are not audio");
}

#[test]
fn local_close_sends_close_notify_and_removes_the_leg() {
    let mut w = World::new(HubConfig::default());
    let (b, leg) = w.connect(B1);
    let now = w.now;
    w.hub.close(now, leg);
    assert!(w.hub.is_empty());
    w.flush();
    assert_eq!(closed_reason(&w, leg), Some(CloseReason::Local));
    w.run_until(Duration::from_secs(1), |w| w.browsers[b].closed);
    let err = w.hub.send_audio(w.now, leg, &[0; 160], 0).unwrap_err();
    assert!(matches!(err, WebRtcError::UnknownLeg(_)), "{err}");
    w.hub.close(now, leg); // unknown now: ignored
}

#[test]
fn browser_close_is_reported_as_peer_closed() {
    let mut w = World::new(HubConfig::default());
    let (b, leg) = w.connect(B1);
    w.browsers[b].rtc.close().unwrap();
    w.run_until(Duration::from_secs(1), |w| w.hub.is_empty());
    assert_eq!(closed_reason(&w, leg), Some(CloseReason::PeerClosed));
}

#[test]
fn leg_never_contacted_is_closed_at_connect_timeout() {
    let mut w = World::new(HubConfig::default());
    let (_, offer) = w.browser(B1, Offers::Chrome);
    let start = w.now;
    let (leg, _answer) = w.hub.accept_offer(start, &offer).unwrap(); // answer never delivered
    let err = w.hub.send_audio(start, leg, &[0; 160], 0).unwrap_err();
    assert!(matches!(err, WebRtcError::NotConnected(l) if l == leg), "{err}");
    w.run_until(Duration::from_secs(40), |w| w.hub.is_empty());
    assert_eq!(closed_reason(&w, leg), Some(CloseReason::ConnectTimeout));
    let (at, _, _) = w.events.last().unwrap();
    assert_eq!(*at - start, crate::CONNECT_TIMEOUT);
}

#[test]
fn offers_we_cannot_serve_are_refused_without_a_leg() {
    let mut w = World::new(HubConfig::default());
    let (_, g722) = w.browser(B1, Offers::G722Only);
    let err = w.hub.accept_offer(w.now, &g722).unwrap_err();
    assert!(matches!(err, WebRtcError::NoCommonCodec), "{err}");

    let err = w.hub.accept_offer(w.now, "v=0\r\nhello\r\n").unwrap_err();
    assert!(matches!(err, WebRtcError::BadOffer(_)), "{err}");

    let mut browser = str0m::Rtc::new(w.now);
    let mut api = browser.sdp_api();
    api.add_channel("chat".into());
    let (offer, _) = api.apply().unwrap();
    let err = w.hub.accept_offer(w.now, &offer.to_sdp_string()).unwrap_err();
    assert!(matches!(err, WebRtcError::Unsupported(_)), "{err}");

    let mut config = str0m::RtcConfig::new().clear_codecs();
    config.codec_config().enable_pcmu(true, false);
    config.codec_config().enable_vp8(true);
    let mut browser = config.build(w.now);
    let mut api = browser.sdp_api();
    api.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None);
    api.add_media(MediaKind::Video, Direction::SendRecv, None, None, None);
    let (offer, _) = api.apply().unwrap();
    let err = w.hub.accept_offer(w.now, &offer.to_sdp_string()).unwrap_err();
    assert!(matches!(err, WebRtcError::Unsupported(_)), "{err}");

    assert!(w.hub.is_empty());
    assert_eq!(w.hub.poll_timeout(), None);
    let err = w.hub.send_audio(w.now, LegId(99), &[0; 160], 0).unwrap_err();
    assert!(matches!(err, WebRtcError::UnknownLeg(LegId(99))), "{err}");
}

#[test]
fn an_unadvertisable_public_address_is_a_local_error() {
    let mut hub = crate::WebRtcHub::new(addr("0.0.0.0:20000"));
    let mut w = World::new(HubConfig::default());
    let (_, offer) = w.browser(B1, Offers::Chrome);
    let err = hub.accept_offer(w.now, &offer).unwrap_err();
    assert!(matches!(err, WebRtcError::BadPublicAddr(_)), "{err}");
    assert!(hub.is_empty());
}

#[test]
fn defaults_are_the_published_limits() {
    let config = HubConfig::default();
    assert_eq!(config.max_legs, MAX_LEGS);
    assert_eq!(config.max_offer_bytes, MAX_OFFER_BYTES);
    assert_eq!(config.max_datagram, MAX_DATAGRAM);
    const { assert!(MAX_DATAGRAM >= 1500) };
    assert_eq!(crate::WebRtcHub::new(addr(HUB)).config(), &config);
}
