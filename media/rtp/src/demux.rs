//! Telling RTP from RTCP (and from anything else) on one port, after RFC 5761 §4 and
//! RFC 7983 §7.

/// What a datagram looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketKind {
    Rtp,
    /// RTCP: version 2 and a second byte in 192–223 (SR 200, RR 201, SDES 202, BYE 203,
    /// APP 204, and the feedback/XR types around them).
    Rtcp,
    /// Not version 2 or too short (STUN, DTLS, garbage).
    Other,
}

/// Classifies a datagram by its first two bytes. Works whether RTP and RTCP share a port or not.
pub fn classify(data: &[u8]) -> PacketKind {
    match data {
        [b0, b1, ..] if b0 >> 6 == 2 => {
            if (192..=223).contains(b1) {
                PacketKind::Rtcp
            } else {
                PacketKind::Rtp
            }
        }
        _ => PacketKind::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rtcp_types_are_told_from_rtp_payload_types() {
        for pt in 200..=204u8 {
            assert_eq!(classify(&[0x80, pt, 0, 1]), PacketKind::Rtcp);
        }
        assert_eq!(classify(&[0x81, 201, 0, 7]), PacketKind::Rtcp);
        assert_eq!(classify(&[0x80, 0, 0, 1]), PacketKind::Rtp);
        assert_eq!(
            classify(&[0x80, 0x80 | 101, 0, 1]),
            PacketKind::Rtp,
            "marker + PT 101"
        );
        assert_eq!(classify(&[0x80, 0x80 | 8, 0, 1]), PacketKind::Rtp);
        assert_eq!(
            classify(&[0x00, 0x01, 0, 0]),
            PacketKind::Other,
            "STUN binding request"
        );
        assert_eq!(classify(&[22, 254, 253]), PacketKind::Other, "DTLS handshake");
        assert_eq!(classify(&[0x80]), PacketKind::Other);
        assert_eq!(classify(&[]), PacketKind::Other);
    }
}
