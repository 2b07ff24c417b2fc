//! RFC 4733 §2.3 telephone-event payload.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     event     |E|R| volume    |          duration             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! All packets of one event carry the RTP timestamp of its start; the end bit is set on the
//! last (usually three times, RFC 4733 §2.5.1.4).

use crate::error::RtpError;

/// The payload length of one event.
pub const TELEPHONE_EVENT_LEN: usize = 4;

/// One telephone-event block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEvent {
    /// Event code (0–15 are the DTMF keys, see `media::Digit::from_event_code`).
    pub event: u8,
    /// The E bit: this is the end of the event.
    pub end: bool,
    /// Power level as −dBm0, 0–63.
    pub volume: u8,
    /// Duration so far, in timestamp units.
    pub duration: u16,
}

impl TelephoneEvent {
    /// Parses the first event block of a payload (any redundant blocks after it are ignored).
    pub fn parse(payload: &[u8]) -> Result<Self, RtpError> {
        match payload.get(..TELEPHONE_EVENT_LEN) {
            Some(&[event, flags, d0, d1]) => Ok(Self {
                event,
                end: flags & 0x80 != 0,
                volume: flags & 0x3F,
                duration: u16::from_be_bytes([d0, d1]),
            }),
            _ => Err(RtpError::Truncated {
                needed: TELEPHONE_EVENT_LEN,
                available: payload.len(),
            }),
        }
    }

    /// The four payload bytes (the volume is clamped to 63, R is zero).
    pub fn to_bytes(self) -> [u8; TELEPHONE_EVENT_LEN] {
        let [d0, d1] = self.duration.to_be_bytes();
        [
            self.event,
            (u8::from(self.end) << 7) | self.volume.min(63),
            d0,
            d1,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn telephone_events_round_trip() {
        let e = TelephoneEvent {
            event: 11,
            end: true,
            volume: 10,
            duration: 1280,
        };
        let bytes = e.to_bytes();
        assert_eq!(bytes, [11, 0x8A, 0x05, 0x00]);
        assert_eq!(TelephoneEvent::parse(&bytes), Ok(e));
    }

    #[test]
    fn the_reserved_bit_is_ignored_and_short_payloads_are_errors() {
        assert_eq!(
            TelephoneEvent::parse(&[5, 0x40 | 7, 0, 160]),
            Ok(TelephoneEvent {
                event: 5,
                end: false,
                volume: 7,
                duration: 160
            })
        );
        assert!(matches!(
            TelephoneEvent::parse(&[1, 2, 3]),
            Err(RtpError::Truncated { .. })
        ));
    }
}
