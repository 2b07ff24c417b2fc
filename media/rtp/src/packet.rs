//! RTP packets (RFC 3550 §5.1): parse borrowed, write into a buffer.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |V=2|P|X|  CC   |M|     PT      |       sequence number         |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                           timestamp                           |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |           synchronization source (SSRC) identifier            |
//! +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
//! |            contributing source (CSRC) identifiers             |
//! |                             ....                              |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use crate::error::RtpError;
use crate::types::{Pt, Seq16, Ssrc, Ts32};

/// The fixed RTP header length.
pub const RTP_HEADER_LEN: usize = 12;
/// The largest CSRC count the 4-bit CC field holds.
pub const MAX_CSRCS: usize = 15;

/// Up to 15 contributing sources, stored inline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Csrcs {
    list: [Ssrc; MAX_CSRCS],
    len: u8,
}

impl Csrcs {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a source; fails beyond 15.
    pub fn push(&mut self, ssrc: Ssrc) -> Result<(), RtpError> {
        let slot = self
            .list
            .get_mut(usize::from(self.len))
            .ok_or(RtpError::TooMany {
                what: "CSRCs",
                count: MAX_CSRCS + 1,
                max: MAX_CSRCS,
            })?;
        *slot = ssrc;
        self.len += 1;
        Ok(())
    }

    pub fn as_slice(&self) -> &[Ssrc] {
        self.list.get(..usize::from(self.len)).unwrap_or(&[])
    }

    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// A header extension (RFC 3550 §5.3.1): a profile-defined 16-bit value and data whose length
/// is a multiple of four bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderExtension<'a> {
    pub profile: u16,
    pub data: &'a [u8],
}

/// One RTP packet; the payload and extension borrow from the datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    pub marker: bool,
    pub payload_type: Pt,
    pub seq: Seq16,
    pub timestamp: Ts32,
    pub ssrc: Ssrc,
    pub csrcs: Csrcs,
    pub extension: Option<HeaderExtension<'a>>,
    pub payload: &'a [u8],
    /// Number of padding bytes at the end (0 = the P bit is clear).
    pub padding: u8,
}

fn read_u16(data: &[u8], at: usize) -> Result<u16, RtpError> {
    match data.get(at..at + 2) {
        Some(&[a, b]) => Ok(u16::from_be_bytes([a, b])),
        _ => Err(RtpError::Truncated {
            needed: at + 2,
            available: data.len(),
        }),
    }
}

pub(crate) fn read_u32(data: &[u8], at: usize) -> Result<u32, RtpError> {
    match data.get(at..at + 4) {
        Some(&[a, b, c, d]) => Ok(u32::from_be_bytes([a, b, c, d])),
        _ => Err(RtpError::Truncated {
            needed: at + 4,
            available: data.len(),
        }),
    }
}

impl<'a> RtpPacket<'a> {
    /// A packet with no CSRCs, extension or padding.
    pub fn new(payload_type: Pt, seq: Seq16, timestamp: Ts32, ssrc: Ssrc, payload: &'a [u8]) -> Self {
        Self {
            marker: false,
            payload_type,
            seq,
            timestamp,
            ssrc,
            csrcs: Csrcs::new(),
            extension: None,
            payload,
            padding: 0,
        }
    }

    /// Parses a datagram. Never panics; every inconsistency is an [`RtpError`].
    pub fn parse(data: &'a [u8]) -> Result<Self, RtpError> {
        let (&b0, &b1) = match (data.first(), data.get(1)) {
            (Some(b0), Some(b1)) if data.len() >= RTP_HEADER_LEN => (b0, b1),
            _ => {
                return Err(RtpError::Truncated {
                    needed: RTP_HEADER_LEN,
                    available: data.len(),
                });
            }
        };
        let version = b0 >> 6;
        if version != 2 {
            return Err(RtpError::BadVersion(version));
        }
        let has_padding = b0 & 0x20 != 0;
        let has_extension = b0 & 0x10 != 0;
        let cc = usize::from(b0 & 0x0F);
        let seq = Seq16(read_u16(data, 2)?);
        let timestamp = Ts32(read_u32(data, 4)?);
        let ssrc = Ssrc(read_u32(data, 8)?);

        let mut at = RTP_HEADER_LEN;
        let mut csrcs = Csrcs::new();
        for _ in 0..cc {
            csrcs.push(Ssrc(read_u32(data, at)?))?;
            at += 4;
        }

        let extension = if has_extension {
            let profile = read_u16(data, at)?;
            let words = usize::from(read_u16(data, at + 2)?);
            at += 4;
            let end = at + words * 4;
            let ext = data.get(at..end).ok_or(RtpError::Truncated {
                needed: end,
                available: data.len(),
            })?;
            at = end;
            Some(HeaderExtension { profile, data: ext })
        } else {
            None
        };

        let mut end = data.len();
        let mut padding = 0;
        if has_padding {
            let count = data.last().copied().unwrap_or(0);
            if count == 0 || usize::from(count) > end - at {
                return Err(RtpError::BadPadding {
                    count,
                    len: data.len(),
                });
            }
            padding = count;
            end -= usize::from(count);
        }
        let payload = data.get(at..end).unwrap_or(&[]);
        Ok(Self {
            marker: b1 & 0x80 != 0,
            payload_type: Pt(b1 & 0x7F),
            seq,
            timestamp,
            ssrc,
            csrcs,
            extension,
            payload,
            padding,
        })
    }

    /// The length [`write`](Self::write) will produce.
    pub fn wire_len(&self) -> usize {
        RTP_HEADER_LEN
            + 4 * self.csrcs.len()
            + self.extension.map_or(0, |e| 4 + e.data.len())
            + self.payload.len()
            + usize::from(self.padding)
    }

    /// Appends the packet to `out`.
    pub fn write(&self, out: &mut Vec<u8>) -> Result<(), RtpError> {
        if self.payload_type.0 > 127 {
            return Err(RtpError::PayloadTypeOutOfRange(self.payload_type.0));
        }
        let ext_words = match self.extension {
            Some(ext) if ext.data.len() % 4 != 0 => {
                return Err(RtpError::ExtensionNotAligned(ext.data.len()));
            }
            Some(ext) => {
                Some(u16::try_from(ext.data.len() / 4).map_err(|_| RtpError::ValueTooLong(ext.data.len()))?)
            }
            None => None,
        };
        out.reserve(self.wire_len());
        let cc = self.csrcs.len() as u8;
        let b0 = 0x80 | (u8::from(self.padding > 0) << 5) | (u8::from(self.extension.is_some()) << 4) | cc;
        out.push(b0);
        out.push((u8::from(self.marker) << 7) | self.payload_type.0);
        out.extend_from_slice(&self.seq.0.to_be_bytes());
        out.extend_from_slice(&self.timestamp.0.to_be_bytes());
        out.extend_from_slice(&self.ssrc.0.to_be_bytes());
        for csrc in self.csrcs.as_slice() {
            out.extend_from_slice(&csrc.0.to_be_bytes());
        }
        if let (Some(ext), Some(words)) = (self.extension, ext_words) {
            out.extend_from_slice(&ext.profile.to_be_bytes());
            out.extend_from_slice(&words.to_be_bytes());
            out.extend_from_slice(ext.data);
        }
        out.extend_from_slice(self.payload);
        if self.padding > 0 {
            out.extend(std::iter::repeat_n(0u8, usize::from(self.padding) - 1));
            out.push(self.padding);
        }
        Ok(())
    }

    /// The packet as a new buffer.
    pub fn to_vec(&self) -> Result<Vec<u8>, RtpError> {
        let mut out = Vec::with_capacity(self.wire_len());
        self.write(&mut out)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_packet_round_trips() {
        let payload = [0xFFu8; 160];
        let mut p = RtpPacket::new(
            Pt(0),
            Seq16(65535),
            Ts32(0xDEAD_BEEF),
            Ssrc(0x1234_5678),
            &payload,
        );
        p.marker = true;
        let bytes = p.to_vec().unwrap();
        assert_eq!(bytes.len(), 172);
        assert_eq!(&bytes[..4], &[0x80, 0x80, 0xFF, 0xFF]);
        let back = RtpPacket::parse(&bytes).unwrap();
        assert_eq!(back, p);
    }

    #[test]
    fn csrcs_extension_and_padding_round_trip() {
        let payload = [1u8, 2, 3];
        let ext = [9u8; 8];
        let mut p = RtpPacket::new(Pt(101), Seq16(7), Ts32(8), Ssrc(9), &payload);
        p.csrcs.push(Ssrc(1)).unwrap();
        p.csrcs.push(Ssrc(2)).unwrap();
        p.extension = Some(HeaderExtension {
            profile: 0xBEDE,
            data: &ext,
        });
        p.padding = 5;
        let bytes = p.to_vec().unwrap();
        assert_eq!(bytes.len(), p.wire_len());
        assert_eq!(bytes[0], 0x80 | 0x20 | 0x10 | 2);
        let back = RtpPacket::parse(&bytes).unwrap();
        assert_eq!(back, p);
        assert_eq!(back.csrcs.as_slice(), &[Ssrc(1), Ssrc(2)]);
        assert_eq!(back.payload, &payload);
    }

    #[test]
    fn malformed_packets_are_errors_not_panics() {
        assert!(matches!(RtpPacket::parse(&[]), Err(RtpError::Truncated { .. })));
        assert!(matches!(
            RtpPacket::parse(&[0x80; 11]),
            Err(RtpError::Truncated { .. })
        ));
        let mut v1 = [0u8; 12];
        v1[0] = 0x40;
        assert_eq!(RtpPacket::parse(&v1), Err(RtpError::BadVersion(1)));
        // CC = 15 but no CSRCs present.
        let mut cc = [0u8; 12];
        cc[0] = 0x8F;
        assert!(matches!(RtpPacket::parse(&cc), Err(RtpError::Truncated { .. })));
        // Extension announced, missing.
        let mut x = [0u8; 14];
        x[0] = 0x90;
        assert!(matches!(RtpPacket::parse(&x), Err(RtpError::Truncated { .. })));
        // Extension length runs past the end.
        let mut xl = [0u8; 16];
        xl[0] = 0x90;
        xl[14] = 0xFF;
        assert!(matches!(RtpPacket::parse(&xl), Err(RtpError::Truncated { .. })));
        // Padding of zero, and padding longer than the payload.
        let mut p0 = [0u8; 13];
        p0[0] = 0xA0;
        assert!(matches!(
            RtpPacket::parse(&p0),
            Err(RtpError::BadPadding { count: 0, .. })
        ));
        p0[12] = 2;
        assert!(matches!(
            RtpPacket::parse(&p0),
            Err(RtpError::BadPadding { count: 2, .. })
        ));
    }

    #[test]
    fn every_short_prefix_and_every_bit_flip_parses_without_panic() {
        let payload = [0x55u8; 20];
        let mut p = RtpPacket::new(Pt(8), Seq16(1), Ts32(2), Ssrc(3), &payload);
        p.csrcs.push(Ssrc(4)).unwrap();
        p.padding = 3;
        let bytes = p.to_vec().unwrap();
        for len in 0..bytes.len() {
            let _ = RtpPacket::parse(&bytes[..len]);
        }
        for i in 0..bytes.len() * 8 {
            let mut b = bytes.clone();
            b[i / 8] ^= 1 << (i % 8);
            let _ = RtpPacket::parse(&b);
        }
    }

    #[test]
    fn writing_rejects_misuse() {
        let ext = [0u8; 3];
        let mut p = RtpPacket::new(Pt(128), Seq16(0), Ts32(0), Ssrc(0), &[]);
        assert_eq!(p.to_vec(), Err(RtpError::PayloadTypeOutOfRange(128)));
        p.payload_type = Pt(0);
        p.extension = Some(HeaderExtension {
            profile: 1,
            data: &ext,
        });
        assert_eq!(p.to_vec(), Err(RtpError::ExtensionNotAligned(3)));
        let mut c = Csrcs::new();
        for i in 0..15 {
            c.push(Ssrc(i)).unwrap();
        }
        assert!(matches!(c.push(Ssrc(99)), Err(RtpError::TooMany { max: 15, .. })));
    }
}
