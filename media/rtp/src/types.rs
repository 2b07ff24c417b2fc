//! Newtypes for the identifiers and wrapping numbers of RTP.
//!
//! Wire values wrap (`Seq16`, `Ts32`); never compare them with `<`. Extend them first
//! ([`SeqExtender`], [`TsExtender`]) into [`SeqNo`] / [`RtpTs`], which do not wrap.

use std::fmt;
use std::time::{Duration, SystemTime};

/// Synchronisation source identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Ssrc(pub u32);

impl fmt::Display for Ssrc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08x}", self.0)
    }
}

/// RTP payload type (7 bits on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Pt(pub u8);

impl fmt::Display for Pt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A 16-bit sequence number as carried on the wire. It wraps: use [`Seq16::delta`] or a
/// [`SeqExtender`] rather than comparing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Seq16(pub u16);

impl Seq16 {
    /// The next sequence number, wrapping after 65535.
    #[must_use]
    pub fn next(self) -> Self {
        Self(self.0.wrapping_add(1))
    }

    /// Signed distance from `earlier` to `self`, assuming they are less than 32768 apart.
    pub fn delta(self, earlier: Self) -> i16 {
        self.0.wrapping_sub(earlier.0) as i16
    }
}

/// An extended (never wrapping) sequence number: the wire value plus 65536 × cycles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct SeqNo(pub u64);

impl SeqNo {
    /// The wire value.
    pub fn wire(self) -> Seq16 {
        Seq16(self.0 as u16)
    }
}

impl fmt::Display for SeqNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A 32-bit RTP timestamp as carried on the wire. It wraps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Ts32(pub u32);

impl Ts32 {
    /// This timestamp advanced by `samples`, wrapping.
    #[must_use]
    pub fn advance(self, samples: u32) -> Self {
        Self(self.0.wrapping_add(samples))
    }

    /// Signed distance from `earlier` to `self`, assuming they are less than 2³¹ apart.
    pub fn delta(self, earlier: Self) -> i32 {
        self.0.wrapping_sub(earlier.0) as i32
    }
}

/// An extended (never wrapping) RTP timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct RtpTs(pub u64);

impl RtpTs {
    /// The wire value.
    pub fn wire(self) -> Ts32 {
        Ts32(self.0 as u32)
    }
}

/// Extends a wrapping counter of `bits` bits. The first value lands in cycle 1, so that a
/// value reordered from just before it (across a wrap) still extends below it.
#[derive(Debug, Clone, Copy, Default)]
struct Extender {
    highest: Option<u64>,
}

impl Extender {
    fn extend(&mut self, value: u64, bits: u32) -> u64 {
        let modulus = 1u64 << bits;
        let half = modulus / 2;
        let Some(highest) = self.highest else {
            let first = modulus + value;
            self.highest = Some(first);
            return first;
        };
        let mut candidate = (highest & !(modulus - 1)) | value;
        if candidate + half < highest {
            candidate += modulus;
        } else if candidate > highest + half && candidate >= modulus {
            candidate -= modulus;
        }
        if candidate > highest {
            self.highest = Some(candidate);
        }
        candidate
    }
}

/// Turns wire sequence numbers into extended ones, wrap-safely, tolerating reordering of
/// up to half the number space. The first value extends to `65536 + value`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SeqExtender(Extender);

impl SeqExtender {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn extend(&mut self, seq: Seq16) -> SeqNo {
        SeqNo(self.0.extend(u64::from(seq.0), 16))
    }

    /// The highest extended value seen so far.
    pub fn highest(&self) -> Option<SeqNo> {
        self.0.highest.map(SeqNo)
    }
}

/// Turns wire timestamps into extended ones. The first value extends to `2³² + value`.
#[derive(Debug, Clone, Copy, Default)]
pub struct TsExtender(Extender);

impl TsExtender {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn extend(&mut self, ts: Ts32) -> RtpTs {
        RtpTs(self.0.extend(u64::from(ts.0), 32))
    }
}

/// Seconds from 1900-01-01 (NTP era 0) to 1970-01-01 (Unix epoch).
const NTP_UNIX_OFFSET_SECS: u64 = 2_208_988_800;

/// A 64-bit NTP timestamp (32.32 fixed point seconds since 1900), as in RTCP sender reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct NtpTime(pub u64);

impl NtpTime {
    /// The NTP time of a wall-clock instant (before 1970 maps to the Unix epoch).
    pub fn from_system_time(t: SystemTime) -> Self {
        let since_unix = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
        Self::from_unix(since_unix)
    }

    /// The NTP time `since_unix` after the Unix epoch.
    pub fn from_unix(since_unix: Duration) -> Self {
        let secs = since_unix.as_secs().wrapping_add(NTP_UNIX_OFFSET_SECS);
        let frac = (u64::from(since_unix.subsec_nanos()) << 32) / 1_000_000_000;
        Self((secs << 32) | frac)
    }

    /// The middle 32 bits, as carried in a report block's LSR field.
    pub fn middle32(self) -> u32 {
        (self.0 >> 16) as u32
    }
}

/// Converts a duration to RTCP's 1/65536 s units (DLSR), saturating.
pub fn duration_to_1_65536(d: Duration) -> u32 {
    let units = d.as_secs().saturating_mul(65536) + (u64::from(d.subsec_nanos()) << 16) / 1_000_000_000;
    u32::try_from(units).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_numbers_extend_across_the_wrap_at_65535() {
        let mut ext = SeqExtender::new();
        let a = ext.extend(Seq16(65534));
        let b = ext.extend(Seq16(65535));
        let c = ext.extend(Seq16(0));
        let d = ext.extend(Seq16(1));
        assert_eq!(b.0, a.0 + 1);
        assert_eq!(c.0, a.0 + 2);
        assert_eq!(d.0, a.0 + 3);
        assert_eq!(d.wire(), Seq16(1));
        assert_eq!(ext.highest(), Some(d));
    }

    #[test]
    fn reordered_sequence_numbers_extend_below_the_highest() {
        let mut ext = SeqExtender::new();
        let first = ext.extend(Seq16(2));
        let late = ext.extend(Seq16(65533)); // sent just before the first, across the wrap
        assert_eq!(first.0 - late.0, 5);
        let after_wrap = ext.extend(Seq16(3));
        assert_eq!(after_wrap.0, first.0 + 1);
        assert_eq!(ext.highest(), Some(after_wrap));
    }

    #[test]
    fn sequence_numbers_keep_counting_over_many_cycles() {
        let mut ext = SeqExtender::new();
        let start = ext.extend(Seq16(100));
        let mut seq = Seq16(100);
        let mut last = start;
        for _ in 0..200_000 {
            seq = seq.next();
            last = ext.extend(seq);
        }
        assert_eq!(last.0 - start.0, 200_000);
    }

    #[test]
    fn timestamps_extend_across_the_32_bit_wrap() {
        let mut ext = TsExtender::new();
        let a = ext.extend(Ts32(u32::MAX - 159));
        let b = ext.extend(Ts32(u32::MAX - 159).advance(160));
        assert_eq!(b.0 - a.0, 160);
        assert_eq!(b.wire(), Ts32(0));
        assert_eq!(Ts32(5).delta(Ts32(u32::MAX - 4)), 10);
        assert_eq!(Seq16(3).delta(Seq16(65535)), 4);
        assert_eq!(Seq16(65535).delta(Seq16(3)), -4);
    }

    #[test]
    fn ntp_time_counts_from_1900() {
        let t = NtpTime::from_unix(Duration::from_millis(1500));
        assert_eq!(t.0 >> 32, NTP_UNIX_OFFSET_SECS + 1);
        assert_eq!(t.0 & 0xFFFF_FFFF, 1 << 31);
        assert_eq!(t.middle32(), (((NTP_UNIX_OFFSET_SECS + 1) as u32) << 16) | 0x8000);
        assert_eq!(
            NtpTime::from_system_time(SystemTime::UNIX_EPOCH).0 >> 32,
            NTP_UNIX_OFFSET_SECS
        );
        assert_eq!(duration_to_1_65536(Duration::from_millis(500)), 32768);
    }
}
