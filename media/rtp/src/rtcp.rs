//! RTCP (RFC 3550 §6): sender and receiver reports, SDES, BYE, and compound packets.
//!
//! ```text
//! common header of every RTCP packet (RFC 3550 §6.4.1):
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |V=2|P|    RC   |   PT=SR=200   |             length            |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! report block (24 bytes):
//! |                 SSRC_1 (SSRC of first source)                 |
//! | fraction lost |       cumulative number of packets lost       |
//! |           extended highest sequence number received           |
//! |                      interarrival jitter                      |
//! |                         last SR (LSR)                         |
//! |                   delay since last SR (DLSR)                  |
//! ```
//!
//! Parsing is owned (RTCP is a few packets a second) and never panics. Unknown packet types
//! inside a compound packet are kept as [`RtcpPacket::Other`].

use crate::error::RtpError;
use crate::packet::read_u32;
use crate::types::{NtpTime, Ssrc, Ts32};

pub const RTCP_SR: u8 = 200;
pub const RTCP_RR: u8 = 201;
pub const RTCP_SDES: u8 = 202;
pub const RTCP_BYE: u8 = 203;
pub const RTCP_APP: u8 = 204;

/// SDES item type of the canonical name.
pub const SDES_CNAME: u8 = 1;

const MAX_COUNT: usize = 31;
const REPORT_BLOCK_LEN: usize = 24;

/// Reception statistics about one source (RFC 3550 §6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReportBlock {
    pub ssrc: Ssrc,
    /// Fraction lost since the previous report, in 1/256.
    pub fraction_lost: u8,
    /// Cumulative packets lost (24-bit signed on the wire: duplicates can make it negative).
    pub cumulative_lost: i32,
    /// Extended highest sequence number received (cycles in the upper 16 bits).
    pub highest_seq: u32,
    /// Interarrival jitter, in timestamp units.
    pub jitter: u32,
    /// Middle 32 bits of the NTP time of the last SR received from this source (0 = none).
    pub last_sr: u32,
    /// Delay since that SR, in 1/65536 s.
    pub delay_since_last_sr: u32,
}

impl ReportBlock {
    fn parse(data: &[u8], at: usize) -> Result<Self, RtpError> {
        let lost_word = read_u32(data, at + 4)?;
        let fraction_lost = (lost_word >> 24) as u8;
        // Sign-extend the 24-bit count.
        let cumulative_lost = ((lost_word << 8) as i32) >> 8;
        Ok(Self {
            ssrc: Ssrc(read_u32(data, at)?),
            fraction_lost,
            cumulative_lost,
            highest_seq: read_u32(data, at + 8)?,
            jitter: read_u32(data, at + 12)?,
            last_sr: read_u32(data, at + 16)?,
            delay_since_last_sr: read_u32(data, at + 20)?,
        })
    }

    fn write(&self, out: &mut Vec<u8>) {
        let lost = self.cumulative_lost.clamp(-0x80_0000, 0x7F_FFFF) as u32 & 0x00FF_FFFF;
        out.extend_from_slice(&self.ssrc.0.to_be_bytes());
        out.extend_from_slice(&((u32::from(self.fraction_lost) << 24) | lost).to_be_bytes());
        out.extend_from_slice(&self.highest_seq.to_be_bytes());
        out.extend_from_slice(&self.jitter.to_be_bytes());
        out.extend_from_slice(&self.last_sr.to_be_bytes());
        out.extend_from_slice(&self.delay_since_last_sr.to_be_bytes());
    }
}

/// The sender-info section of an SR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SenderInfo {
    pub ntp: NtpTime,
    /// The RTP timestamp corresponding to `ntp`.
    pub rtp_ts: Ts32,
    pub packet_count: u32,
    pub octet_count: u32,
}

/// Sender report (PT 200).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SenderReport {
    pub ssrc: Ssrc,
    pub info: SenderInfo,
    pub reports: Vec<ReportBlock>,
}

/// Receiver report (PT 201).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReceiverReport {
    pub ssrc: Ssrc,
    pub reports: Vec<ReportBlock>,
}

/// One SDES item: type (1 = CNAME) and up to 255 bytes of text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdesItem {
    pub kind: u8,
    pub value: Vec<u8>,
}

/// The items describing one source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdesChunk {
    pub ssrc: Ssrc,
    pub items: Vec<SdesItem>,
}

impl SdesChunk {
    /// A chunk carrying only a CNAME.
    pub fn cname(ssrc: Ssrc, cname: &str) -> Self {
        Self {
            ssrc,
            items: vec![SdesItem {
                kind: SDES_CNAME,
                value: cname.as_bytes().to_vec(),
            }],
        }
    }

    /// The CNAME item, if any (lossy UTF-8).
    pub fn cname_value(&self) -> Option<String> {
        self.items
            .iter()
            .find(|i| i.kind == SDES_CNAME)
            .map(|i| String::from_utf8_lossy(&i.value).into_owned())
    }
}

/// Goodbye (PT 203).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Bye {
    pub sources: Vec<Ssrc>,
    pub reason: Option<Vec<u8>>,
}

/// One packet of a compound RTCP packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RtcpPacket {
    SenderReport(SenderReport),
    ReceiverReport(ReceiverReport),
    Sdes(Vec<SdesChunk>),
    Bye(Bye),
    /// APP, feedback, XR and anything else: kept raw.
    Other {
        packet_type: u8,
        count: u8,
        body: Vec<u8>,
    },
}

impl RtcpPacket {
    /// The report blocks of an SR or RR (empty for the other kinds).
    pub fn report_blocks(&self) -> &[ReportBlock] {
        match self {
            Self::SenderReport(sr) => &sr.reports,
            Self::ReceiverReport(rr) => &rr.reports,
            _ => &[],
        }
    }

    fn parse_one(packet_type: u8, count: u8, body: &[u8]) -> Result<Self, RtpError> {
        let count_usize = usize::from(count);
        Ok(match packet_type {
            RTCP_SR => {
                let ssrc = Ssrc(read_u32(body, 0)?);
                let msw = u64::from(read_u32(body, 4)?);
                let lsw = u64::from(read_u32(body, 8)?);
                let info = SenderInfo {
                    ntp: NtpTime((msw << 32) | lsw),
                    rtp_ts: Ts32(read_u32(body, 12)?),
                    packet_count: read_u32(body, 16)?,
                    octet_count: read_u32(body, 20)?,
                };
                let reports = (0..count_usize)
                    .map(|i| ReportBlock::parse(body, 24 + i * REPORT_BLOCK_LEN))
                    .collect::<Result<_, _>>()?;
                Self::SenderReport(SenderReport { ssrc, info, reports })
            }
            RTCP_RR => {
                let ssrc = Ssrc(read_u32(body, 0)?);
                let reports = (0..count_usize)
                    .map(|i| ReportBlock::parse(body, 4 + i * REPORT_BLOCK_LEN))
                    .collect::<Result<_, _>>()?;
                Self::ReceiverReport(ReceiverReport { ssrc, reports })
            }
            RTCP_SDES => Self::Sdes(parse_sdes(body, count_usize)?),
            RTCP_BYE => {
                let sources = (0..count_usize)
                    .map(|i| read_u32(body, i * 4).map(Ssrc))
                    .collect::<Result<Vec<_>, _>>()?;
                let at = count_usize * 4;
                let reason = match body.get(at) {
                    Some(&len) => {
                        let end = at + 1 + usize::from(len);
                        let text = body.get(at + 1..end).ok_or(RtpError::Truncated {
                            needed: end,
                            available: body.len(),
                        })?;
                        Some(text.to_vec())
                    }
                    None => None,
                };
                Self::Bye(Bye { sources, reason })
            }
            _ => Self::Other {
                packet_type,
                count,
                body: body.to_vec(),
            },
        })
    }

    fn count_and_type(&self) -> Result<(usize, u8), RtpError> {
        let (count, pt) = match self {
            Self::SenderReport(sr) => (sr.reports.len(), RTCP_SR),
            Self::ReceiverReport(rr) => (rr.reports.len(), RTCP_RR),
            Self::Sdes(chunks) => (chunks.len(), RTCP_SDES),
            Self::Bye(bye) => (bye.sources.len(), RTCP_BYE),
            Self::Other {
                packet_type, count, ..
            } => (usize::from(*count), *packet_type),
        };
        if count > MAX_COUNT {
            let what = match self {
                Self::Sdes(_) => "SDES chunks",
                Self::Bye(_) => "BYE sources",
                _ => "report blocks",
            };
            return Err(RtpError::TooMany {
                what,
                count,
                max: MAX_COUNT,
            });
        }
        Ok((count, pt))
    }

    /// Appends this packet (header included) to `out`.
    pub fn write(&self, out: &mut Vec<u8>) -> Result<(), RtpError> {
        let (count, pt) = self.count_and_type()?;
        let start = out.len();
        out.extend_from_slice(&[0x80 | count as u8, pt, 0, 0]);
        match self {
            Self::SenderReport(sr) => {
                out.extend_from_slice(&sr.ssrc.0.to_be_bytes());
                out.extend_from_slice(&sr.info.ntp.0.to_be_bytes());
                out.extend_from_slice(&sr.info.rtp_ts.0.to_be_bytes());
                out.extend_from_slice(&sr.info.packet_count.to_be_bytes());
                out.extend_from_slice(&sr.info.octet_count.to_be_bytes());
                sr.reports.iter().for_each(|r| r.write(out));
            }
            Self::ReceiverReport(rr) => {
                out.extend_from_slice(&rr.ssrc.0.to_be_bytes());
                rr.reports.iter().for_each(|r| r.write(out));
            }
            Self::Sdes(chunks) => {
                for chunk in chunks {
                    out.extend_from_slice(&chunk.ssrc.0.to_be_bytes());
                    let chunk_start = out.len();
                    for item in &chunk.items {
                        let len = u8::try_from(item.value.len())
                            .map_err(|_| RtpError::ValueTooLong(item.value.len()))?;
                        out.push(item.kind);
                        out.push(len);
                        out.extend_from_slice(&item.value);
                    }
                    // END item, then zero padding to a 32-bit boundary (at least one zero).
                    out.push(0);
                    while (out.len() - chunk_start) % 4 != 0 {
                        out.push(0);
                    }
                }
            }
            Self::Bye(bye) => {
                bye.sources
                    .iter()
                    .for_each(|s| out.extend_from_slice(&s.0.to_be_bytes()));
                if let Some(reason) = &bye.reason {
                    let len = u8::try_from(reason.len()).map_err(|_| RtpError::ValueTooLong(reason.len()))?;
                    out.push(len);
                    out.extend_from_slice(reason);
                }
            }
            Self::Other { body, .. } => out.extend_from_slice(body),
        }
        while (out.len() - start) % 4 != 0 {
            out.push(0);
        }
        let words = (out.len() - start) / 4 - 1;
        let words = u16::try_from(words).map_err(|_| RtpError::ValueTooLong(out.len() - start))?;
        if let Some(len_field) = out.get_mut(start + 2..start + 4) {
            len_field.copy_from_slice(&words.to_be_bytes());
        }
        Ok(())
    }
}

fn parse_sdes(body: &[u8], count: usize) -> Result<Vec<SdesChunk>, RtpError> {
    let mut chunks = Vec::with_capacity(count);
    let mut at = 0;
    for _ in 0..count {
        let ssrc = Ssrc(read_u32(body, at)?);
        at += 4;
        let chunk_start = at;
        let mut items = Vec::new();
        loop {
            let kind = *body.get(at).ok_or(RtpError::BadSdes)?;
            if kind == 0 {
                at += 1;
                // Skip the padding up to the next 32-bit boundary.
                at += (4 - (at - chunk_start) % 4) % 4;
                break;
            }
            let len = usize::from(*body.get(at + 1).ok_or(RtpError::BadSdes)?);
            let value = body.get(at + 2..at + 2 + len).ok_or(RtpError::BadSdes)?;
            items.push(SdesItem {
                kind,
                value: value.to_vec(),
            });
            at += 2 + len;
        }
        chunks.push(SdesChunk { ssrc, items });
    }
    Ok(chunks)
}

/// Parses a compound RTCP packet (RFC 3550 §6.1). A padding bit is honoured on any packet.
pub fn parse_compound(data: &[u8]) -> Result<Vec<RtcpPacket>, RtpError> {
    if data.is_empty() {
        return Err(RtpError::Empty);
    }
    let mut packets = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let (b0, pt, len_words) = match rest {
            [b0, pt, l0, l1, ..] => (*b0, *pt, usize::from(u16::from_be_bytes([*l0, *l1]))),
            _ => {
                return Err(RtpError::Truncated {
                    needed: 4,
                    available: rest.len(),
                });
            }
        };
        let version = b0 >> 6;
        if version != 2 {
            return Err(RtpError::BadVersion(version));
        }
        let total = (len_words + 1) * 4;
        let packet = rest.get(..total).ok_or(RtpError::BadLength {
            declared: total,
            available: rest.len(),
        })?;
        let mut body = packet.get(4..).unwrap_or(&[]);
        if b0 & 0x20 != 0 {
            let count = body.last().copied().unwrap_or(0);
            if count == 0 || usize::from(count) > body.len() {
                return Err(RtpError::BadPadding { count, len: total });
            }
            body = body.get(..body.len() - usize::from(count)).unwrap_or(&[]);
        }
        packets.push(RtcpPacket::parse_one(pt, b0 & 0x1F, body)?);
        rest = rest.get(total..).unwrap_or(&[]);
    }
    Ok(packets)
}

/// Builds a compound RTCP packet from its parts, in order.
pub fn build_compound(packets: &[RtcpPacket]) -> Result<Vec<u8>, RtpError> {
    let mut out = Vec::with_capacity(128);
    for p in packets {
        p.write(&mut out)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(ssrc: u32) -> ReportBlock {
        ReportBlock {
            ssrc: Ssrc(ssrc),
            fraction_lost: 25,
            cumulative_lost: -3,
            highest_seq: 0x0001_0005,
            jitter: 37,
            last_sr: 0xAABB_CCDD,
            delay_since_last_sr: 65536,
        }
    }

    #[test]
    fn sender_report_with_sdes_round_trips_as_a_compound_packet() {
        let sr = RtcpPacket::SenderReport(SenderReport {
            ssrc: Ssrc(0x1111_1111),
            info: SenderInfo {
                ntp: NtpTime(0xE000_0000_8000_0000),
                rtp_ts: Ts32(160_000),
                packet_count: 1000,
                octet_count: 160_000,
            },
            reports: vec![block(0x2222_2222)],
        });
        let sdes = RtcpPacket::Sdes(vec![SdesChunk::cname(Ssrc(0x1111_1111), "leg@hotline")]);
        let bytes = build_compound(&[sr.clone(), sdes.clone()]).unwrap();
        assert_eq!(bytes.len() % 4, 0);
        assert_eq!(&bytes[..2], &[0x81, 200]);
        // SR: 4 header + 24 sender info + 24 block = 52 bytes = 13 words, length field 12.
        assert_eq!(&bytes[2..4], &[0, 12]);
        let parsed = parse_compound(&bytes).unwrap();
        assert_eq!(parsed, vec![sr, sdes]);
        let RtcpPacket::Sdes(chunks) = &parsed[1] else {
            panic!("not SDES")
        };
        assert_eq!(chunks[0].cname_value().as_deref(), Some("leg@hotline"));
        assert_eq!(parsed[0].report_blocks()[0].cumulative_lost, -3);
    }

    #[test]
    fn receiver_report_and_bye_round_trip() {
        let rr = RtcpPacket::ReceiverReport(ReceiverReport {
            ssrc: Ssrc(7),
            reports: vec![block(1), block(2)],
        });
        let bye = RtcpPacket::Bye(Bye {
            sources: vec![Ssrc(7)],
            reason: Some(b"hangup".to_vec()),
        });
        let bytes = build_compound(&[rr.clone(), bye.clone()]).unwrap();
        assert_eq!(parse_compound(&bytes).unwrap(), vec![rr, bye]);
        let empty_rr = RtcpPacket::ReceiverReport(ReceiverReport {
            ssrc: Ssrc(9),
            reports: vec![],
        });
        let bytes = build_compound(std::slice::from_ref(&empty_rr)).unwrap();
        assert_eq!(bytes.len(), 8);
        assert_eq!(parse_compound(&bytes).unwrap(), vec![empty_rr]);
    }

    #[test]
    fn cumulative_loss_is_clamped_to_24_bits() {
        let mut b = block(1);
        b.cumulative_lost = 10_000_000;
        let bytes = build_compound(&[RtcpPacket::ReceiverReport(ReceiverReport {
            ssrc: Ssrc(2),
            reports: vec![b],
        })])
        .unwrap();
        let parsed = parse_compound(&bytes).unwrap();
        assert_eq!(parsed[0].report_blocks()[0].cumulative_lost, 0x7F_FFFF);
    }

    #[test]
    fn a_bye_from_a_real_stack_parses() {
        // BYE with one SSRC and no reason, then a padded APP packet.
        let bytes = [
            0x81, 203, 0, 1, 0xDE, 0xAD, 0xBE, 0xEF, //
            0xA0, 204, 0, 3, 0, 0, 0, 1, b'n', b'a', b'm', b'e', 0, 0, 0, 4,
        ];
        let parsed = parse_compound(&bytes).unwrap();
        assert_eq!(
            parsed[0],
            RtcpPacket::Bye(Bye {
                sources: vec![Ssrc(0xDEAD_BEEF)],
                reason: None
            })
        );
        assert_eq!(
            parsed[1],
            RtcpPacket::Other {
                packet_type: 204,
                count: 0,
                body: vec![0, 0, 0, 1, b'n', b'a', b'm', b'e']
            }
        );
    }

    #[test]
    fn malformed_rtcp_is_an_error_not_a_panic() {
        assert_eq!(parse_compound(&[]), Err(RtpError::Empty));
        assert!(matches!(
            parse_compound(&[0x80, 200, 0]),
            Err(RtpError::Truncated { .. })
        ));
        assert_eq!(parse_compound(&[0x40, 200, 0, 0]), Err(RtpError::BadVersion(1)));
        assert!(matches!(
            parse_compound(&[0x80, 201, 0, 9, 0, 0, 0, 0]),
            Err(RtpError::BadLength { .. })
        ));
        // RR announcing one block without it.
        assert!(matches!(
            parse_compound(&[0x81, 201, 0, 1, 0, 0, 0, 1]),
            Err(RtpError::Truncated { .. })
        ));
        // SDES chunk without END.
        assert_eq!(
            parse_compound(&[0x81, 202, 0, 2, 0, 0, 0, 1, 1, 9, b'a', b'b']),
            Err(RtpError::BadSdes)
        );
        // Padding count larger than the body.
        assert!(matches!(
            parse_compound(&[0xA0, 201, 0, 1, 0, 0, 0, 9]),
            Err(RtpError::BadPadding { .. })
        ));
        let too_many = RtcpPacket::ReceiverReport(ReceiverReport {
            ssrc: Ssrc(1),
            reports: vec![block(1); 32],
        });
        assert!(matches!(
            build_compound(&[too_many]),
            Err(RtpError::TooMany { max: 31, .. })
        ));
    }

    #[test]
    fn every_prefix_and_bit_flip_of_a_compound_packet_parses_without_panic() {
        let bytes = build_compound(&[
            RtcpPacket::SenderReport(SenderReport {
                ssrc: Ssrc(1),
                info: SenderInfo::default(),
                reports: vec![block(2)],
            }),
            RtcpPacket::Sdes(vec![SdesChunk::cname(Ssrc(1), "x@y")]),
            RtcpPacket::Bye(Bye {
                sources: vec![Ssrc(1)],
                reason: Some(b"bye".to_vec()),
            }),
        ])
        .unwrap();
        for len in 0..bytes.len() {
            let _ = parse_compound(&bytes[..len]);
        }
        for i in 0..bytes.len() * 8 {
            let mut b = bytes.clone();
            b[i / 8] ^= 1 << (i % 8);
            let _ = parse_compound(&b);
        }
    }
}
