//! Just enough STUN (RFC 8489) to route a connectivity check: the local username fragment.
//!
//! A browser's binding request carries `USERNAME = <our ufrag>:<its ufrag>` (RFC 8445 §7.2.2).
//! The hub looks our half up to find the one leg whose `Rtc::accepts` then verifies
//! MESSAGE-INTEGRITY, so a check costs one map lookup and one HMAC whatever the number of legs.
//! Nothing here is trusted: a wrong answer only means str0m refuses the datagram.

/// RFC 8489 §5 magic cookie.
const MAGIC_COOKIE: [u8; 4] = [0x21, 0x12, 0xA4, 0x42];
/// RFC 8489 §14.3.
const ATTR_USERNAME: u16 = 0x0006;
const HEADER_LEN: usize = 20;

/// The first byte of a STUN message is 0–3 (RFC 7983 §7).
pub(crate) fn looks_like_stun(datagram: &[u8]) -> bool {
    datagram.first().is_some_and(|b| *b < 4)
}

/// The part of the USERNAME attribute before the first `:`, if the datagram is a STUN message
/// that carries one. Bounds are checked against both the datagram and the header's length.
pub(crate) fn local_ufrag(datagram: &[u8]) -> Option<&str> {
    let header = datagram.get(..HEADER_LEN)?;
    if header[0] & 0xC0 != 0 || header[4..8] != MAGIC_COOKIE {
        return None;
    }
    let len = usize::from(u16::from_be_bytes([header[2], header[3]]));
    let mut attrs = datagram.get(HEADER_LEN..HEADER_LEN + len)?;
    while let Some(tlv) = attrs.get(..4) {
        let typ = u16::from_be_bytes([tlv[0], tlv[1]]);
        let value_len = usize::from(u16::from_be_bytes([tlv[2], tlv[3]]));
        let value = attrs.get(4..4 + value_len)?;
        if typ == ATTR_USERNAME {
            let username = std::str::from_utf8(value).ok()?;
            return username.split(':').next();
        }
        // Values are padded to a multiple of four bytes.
        let padded = 4 + value_len.div_ceil(4) * 4;
        attrs = attrs.get(padded..)?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A binding request with USERNAME "abcd:wxyz" and a 3-byte attribute before it (padded).
    fn request() -> Vec<u8> {
        let mut attrs = vec![0x80, 0x22, 0x00, 0x03, b'x', b'y', b'z', 0x00];
        attrs.extend_from_slice(&[0x00, 0x06, 0x00, 0x09]);
        attrs.extend_from_slice(b"abcd:wxyz\0\0\0");
        let mut msg = vec![0x00, 0x01];
        msg.extend_from_slice(&u16::try_from(attrs.len()).unwrap().to_be_bytes());
        msg.extend_from_slice(&MAGIC_COOKIE);
        msg.extend_from_slice(&[7; 12]);
        msg.extend_from_slice(&attrs);
        msg
    }

    #[test]
    fn finds_local_ufrag_after_padded_attribute() {
        let msg = request();
        assert!(looks_like_stun(&msg));
        assert_eq!(local_ufrag(&msg), Some("abcd"));
    }

    #[test]
    fn refuses_non_stun_and_truncated_messages() {
        let msg = request();
        for cut in 0..msg.len() {
            assert_eq!(local_ufrag(&msg[..cut]), None, "cut at {cut}");
        }
        let mut bad_cookie = msg.clone();
        bad_cookie[5] ^= 1;
        assert_eq!(local_ufrag(&bad_cookie), None);
        let mut rtp = msg;
        rtp[0] = 0x80;
        assert!(!looks_like_stun(&rtp));
        assert_eq!(local_ufrag(&rtp), None);
        assert!(!looks_like_stun(&[]));
    }

    #[test]
    fn never_panics_on_any_short_input() {
        // Every 2-byte prefix over a message whose length field claims more than there is.
        let base = request();
        for a in 0..=255u8 {
            for b in [0u8, 0x06, 0xFF] {
                let mut msg = base.clone();
                msg[HEADER_LEN] = a;
                msg[HEADER_LEN + 3] = b;
                let _ = local_ufrag(&msg);
            }
        }
    }
}
