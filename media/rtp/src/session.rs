//! Receive-side statistics of one source (RFC 3550 appendix A.1, A.3 and A.8).
//!
//! [`RtpSession`] follows the sequence-number bookkeeping of A.1 (`update_seq`, with its
//! `MAX_DROPOUT`/`MAX_MISORDER` rules; probation is not used because the caller has already
//! chosen the source by latching), counts expected vs received packets (A.3) and estimates
//! interarrival jitter (A.8) from arrival times given as `Instant`s.

use std::time::{Duration, Instant};

use crate::rtcp::ReportBlock;
use crate::types::{NtpTime, Seq16, SeqExtender, SeqNo, Ssrc, Ts32, duration_to_1_65536};

const RTP_SEQ_MOD: u32 = 1 << 16;
/// A.1: a jump forward of up to this many is accepted as loss.
const MAX_DROPOUT: u16 = 3000;
/// A.1: a jump backward of up to this many is a late (reordered or duplicated) packet.
const MAX_MISORDER: u16 = 100;

/// What happened to a packet handed to [`RtpSession::on_packet`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeqVerdict {
    /// In order, or after a gap (loss); `SeqNo` is its extended sequence number.
    InOrder(SeqNo),
    /// Older than the highest seen: reordered or a duplicate.
    Late(SeqNo),
    /// A jump too large to be loss; the next packet in sequence after it restarts the count.
    Jump,
    /// The second packet after a large jump: the sequence was restarted here.
    Restarted(SeqNo),
}

/// Receive statistics of one SSRC.
#[derive(Debug, Clone)]
pub struct RtpSession {
    ssrc: Ssrc,
    clock_rate: u32,
    max_seq: u16,
    cycles: u32,
    base_seq: u32,
    bad_seq: u32,
    received: u64,
    expected_prior: u64,
    received_prior: u64,
    /// Loss counted before a restart of the sequence, kept so the total stays cumulative.
    lost_before_restart: i64,
    extender: SeqExtender,
    /// Arrival time and RTP timestamp of the previous packet, for A.8.
    last_arrival: Option<(Instant, Ts32)>,
    jitter: f64,
    last_sr: Option<(NtpTime, Instant)>,
}

impl RtpSession {
    /// Starts statistics for `ssrc` whose first packet carries `first_seq`. Call
    /// [`on_packet`](Self::on_packet) for that first packet too.
    pub fn new(ssrc: Ssrc, first_seq: Seq16, clock_rate: u32) -> Self {
        let mut s = Self {
            ssrc,
            clock_rate: clock_rate.max(1),
            max_seq: 0,
            cycles: 0,
            base_seq: 0,
            bad_seq: 0,
            received: 0,
            expected_prior: 0,
            received_prior: 0,
            lost_before_restart: 0,
            extender: SeqExtender::new(),
            last_arrival: None,
            jitter: 0.0,
            last_sr: None,
        };
        // The first packet is counted by its own `on_packet` call (a zero step from max_seq).
        s.init_seq(first_seq.0);
        s
    }

    fn init_seq(&mut self, seq: u16) {
        self.base_seq = u32::from(seq);
        self.max_seq = seq;
        self.bad_seq = RTP_SEQ_MOD + 1;
        self.cycles = 0;
        self.received = 0;
        self.received_prior = 0;
        self.expected_prior = 0;
        self.extender = SeqExtender::new();
    }

    pub fn ssrc(&self) -> Ssrc {
        self.ssrc
    }

    /// Accounts one packet of this source arriving at `arrival`.
    pub fn on_packet(&mut self, seq: Seq16, timestamp: Ts32, arrival: Instant) -> SeqVerdict {
        let verdict = self.update_seq(seq.0);
        if !matches!(verdict, SeqVerdict::Jump) {
            self.update_jitter(timestamp, arrival);
        }
        verdict
    }

    fn update_seq(&mut self, seq: u16) -> SeqVerdict {
        let udelta = seq.wrapping_sub(self.max_seq);
        let verdict = if udelta < MAX_DROPOUT {
            if seq < self.max_seq {
                self.cycles += RTP_SEQ_MOD;
            }
            self.max_seq = seq;
            SeqVerdict::InOrder(self.extender.extend(Seq16(seq)))
        } else if u32::from(udelta) <= RTP_SEQ_MOD - u32::from(MAX_MISORDER) {
            if u32::from(seq) == self.bad_seq {
                self.lost_before_restart += self.lost_since_start();
                self.init_seq(seq);
                self.last_arrival = None;
                SeqVerdict::Restarted(self.extender.extend(Seq16(seq)))
            } else {
                self.bad_seq = (u32::from(seq) + 1) & (RTP_SEQ_MOD - 1);
                return SeqVerdict::Jump;
            }
        } else {
            SeqVerdict::Late(self.extender.extend(Seq16(seq)))
        };
        self.received += 1;
        verdict
    }

    fn update_jitter(&mut self, timestamp: Ts32, arrival: Instant) {
        if let Some((prev_arrival, prev_ts)) = self.last_arrival {
            // D(i-1, i) = (R_i - R_{i-1}) - (S_i - S_{i-1}), in timestamp units.
            let arrival_delta = if arrival >= prev_arrival {
                arrival.duration_since(prev_arrival).as_secs_f64()
            } else {
                -prev_arrival.duration_since(arrival).as_secs_f64()
            };
            let d = arrival_delta * f64::from(self.clock_rate) - f64::from(timestamp.delta(prev_ts));
            self.jitter += (d.abs() - self.jitter) / 16.0;
        }
        self.last_arrival = Some((arrival, timestamp));
    }

    /// The extended highest sequence number received (A.3).
    pub fn extended_max(&self) -> u64 {
        u64::from(self.cycles) + u64::from(self.max_seq)
    }

    /// Packets expected since the start (or restart) of the sequence.
    pub fn expected(&self) -> u64 {
        (self.extended_max() + 1).saturating_sub(u64::from(self.base_seq))
    }

    /// Packets received, duplicates included, since the start (or restart) of the sequence.
    pub fn received(&self) -> u64 {
        self.received
    }

    fn lost_since_start(&self) -> i64 {
        self.expected() as i64 - self.received as i64
    }

    /// Cumulative packets lost (negative when duplicates outnumber losses), across restarts.
    pub fn cumulative_lost(&self) -> i64 {
        self.lost_before_restart + self.lost_since_start()
    }

    /// Interarrival jitter estimate, in timestamp units.
    pub fn jitter(&self) -> f64 {
        self.jitter
    }

    /// Interarrival jitter estimate, in milliseconds.
    pub fn jitter_ms(&self) -> f64 {
        self.jitter * 1000.0 / f64::from(self.clock_rate)
    }

    /// Remembers a sender report of this source, for the LSR/DLSR fields of our next report.
    pub fn on_sender_report(&mut self, ntp: NtpTime, arrival: Instant) {
        self.last_sr = Some((ntp, arrival));
    }

    /// A report block about this source, as of `now`. Computes the fraction lost since the
    /// previous call (A.3), so call it once per report sent.
    pub fn report_block(&mut self, now: Instant) -> ReportBlock {
        let expected = self.expected();
        let expected_interval = expected.saturating_sub(self.expected_prior);
        let received_interval = self.received.saturating_sub(self.received_prior);
        self.expected_prior = expected;
        self.received_prior = self.received;
        let lost_interval = expected_interval.saturating_sub(received_interval);
        let fraction_lost = (lost_interval << 8)
            .checked_div(expected_interval)
            .map_or(0, |f| u8::try_from(f).unwrap_or(u8::MAX));
        let (last_sr, delay_since_last_sr) = match self.last_sr {
            Some((ntp, at)) => (
                ntp.middle32(),
                duration_to_1_65536(now.saturating_duration_since(at)),
            ),
            None => (0, 0),
        };
        ReportBlock {
            ssrc: self.ssrc,
            fraction_lost,
            cumulative_lost: i32::try_from(self.cumulative_lost()).unwrap_or(i32::MAX),
            highest_seq: self.extended_max() as u32,
            jitter: self.jitter as u32,
            last_sr,
            delay_since_last_sr,
        }
    }
}

/// Converts a jitter in timestamp units to a duration.
pub fn jitter_duration(jitter: u32, clock_rate: u32) -> Duration {
    Duration::from_secs_f64(f64::from(jitter) / f64::from(clock_rate.max(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An arbitrary origin: only differences between instants matter to the statistics.
    #[allow(clippy::disallowed_methods)] // reason: tests need some Instant to start from
    fn origin() -> Instant {
        Instant::now()
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn jitter_matches_the_hand_computed_rfc3550_example() {
        // 20 ms packets at 8 kHz (160 samples) arriving at 0, 20, 45 and 60 ms.
        //   p2: D = 160 - 160 = 0           → J = 0
        //   p3: D = 200 - 160 = 40          → J = 0 + (40 - 0) / 16 = 2.5
        //   p4: D = 120 - 160 = -40, |D|=40 → J = 2.5 + (40 - 2.5) / 16 = 4.84375
        let t0 = origin();
        let mut s = RtpSession::new(Ssrc(1), Seq16(10), 8000);
        s.on_packet(Seq16(10), Ts32(0), t0);
        s.on_packet(Seq16(11), Ts32(160), t0 + ms(20));
        assert!(s.jitter().abs() < 1e-9);
        s.on_packet(Seq16(12), Ts32(320), t0 + ms(45));
        assert!((s.jitter() - 2.5).abs() < 1e-9);
        s.on_packet(Seq16(13), Ts32(480), t0 + ms(60));
        assert!((s.jitter() - 4.843_75).abs() < 1e-9);
        assert!((s.jitter_ms() - 0.605_468_75).abs() < 1e-9);
        assert_eq!(s.report_block(t0).jitter, 4);
    }

    #[test]
    fn loss_is_expected_minus_received_across_the_wrap() {
        let t0 = origin();
        let mut s = RtpSession::new(Ssrc(1), Seq16(65530), 8000);
        let mut seq = Seq16(65530);
        let mut ts = Ts32(0);
        for i in 0..20u64 {
            // Drop two packets: the 4th and the 9th (the latter after the wrap).
            if i != 3 && i != 8 {
                let v = s.on_packet(seq, ts, t0 + ms(20 * i));
                assert!(matches!(v, SeqVerdict::InOrder(_)), "{v:?}");
            }
            seq = seq.next();
            ts = ts.advance(160);
        }
        assert_eq!(s.expected(), 20);
        assert_eq!(s.received(), 18);
        assert_eq!(s.cumulative_lost(), 2);
        assert_eq!(s.extended_max(), 65536 + 13);
        let rb = s.report_block(t0 + ms(400));
        assert_eq!(rb.cumulative_lost, 2);
        assert_eq!(rb.fraction_lost, (2 * 256 / 20) as u8);
        assert_eq!(rb.highest_seq, 65536 + 13);
        // Nothing new since the last report: fraction lost is zero, the total stays.
        let rb = s.report_block(t0 + ms(500));
        assert_eq!(rb.fraction_lost, 0);
        assert_eq!(rb.cumulative_lost, 2);
    }

    #[test]
    fn late_and_duplicate_packets_are_counted_as_received() {
        let t0 = origin();
        let mut s = RtpSession::new(Ssrc(1), Seq16(1), 8000);
        assert!(matches!(
            s.on_packet(Seq16(1), Ts32(0), t0),
            SeqVerdict::InOrder(_)
        ));
        assert!(matches!(
            s.on_packet(Seq16(3), Ts32(320), t0),
            SeqVerdict::InOrder(_)
        ));
        let SeqVerdict::Late(late) = s.on_packet(Seq16(2), Ts32(160), t0) else {
            panic!("not late")
        };
        let SeqVerdict::Late(dup) = s.on_packet(Seq16(2), Ts32(160), t0) else {
            panic!("not late")
        };
        assert_eq!(late, dup);
        assert_eq!(s.expected(), 3);
        assert_eq!(s.received(), 4);
        assert_eq!(s.cumulative_lost(), -1);
    }

    #[test]
    fn a_large_jump_restarts_after_two_sequential_packets() {
        let t0 = origin();
        let mut s = RtpSession::new(Ssrc(1), Seq16(100), 8000);
        for i in 0..5u16 {
            s.on_packet(Seq16(100 + i), Ts32(u32::from(i) * 160), t0);
        }
        s.on_packet(Seq16(106), Ts32(960), t0); // one lost
        assert_eq!(s.cumulative_lost(), 1);
        assert_eq!(s.on_packet(Seq16(40_000), Ts32(0), t0), SeqVerdict::Jump);
        assert!(matches!(
            s.on_packet(Seq16(40_001), Ts32(160), t0),
            SeqVerdict::Restarted(_)
        ));
        assert!(matches!(
            s.on_packet(Seq16(40_002), Ts32(320), t0),
            SeqVerdict::InOrder(_)
        ));
        assert_eq!(s.expected(), 2);
        assert_eq!(s.received(), 2);
        assert_eq!(s.cumulative_lost(), 1, "loss before the restart is kept");
    }

    #[test]
    fn report_blocks_echo_the_last_sender_report() {
        let t0 = origin();
        let mut s = RtpSession::new(Ssrc(5), Seq16(1), 8000);
        s.on_packet(Seq16(1), Ts32(0), t0);
        let ntp = NtpTime(0x0001_0002_0003_0004);
        s.on_sender_report(ntp, t0);
        let rb = s.report_block(t0 + ms(250));
        assert_eq!(rb.ssrc, Ssrc(5));
        assert_eq!(rb.last_sr, 0x0002_0003);
        assert_eq!(rb.delay_since_last_sr, 16384);
        assert_eq!(jitter_duration(80, 8000), ms(10));
    }
}
