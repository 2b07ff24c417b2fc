//! The packet store: decoded packets ordered by their position on the media timeline. It knows
//! nothing of delay; the playout side asks it for samples at a position.

use std::collections::BTreeMap;
use std::time::Instant;

/// One decoded packet.
#[derive(Debug, Clone)]
pub(crate) struct Stored {
    pub(crate) samples: Vec<i16>,
    pub(crate) arrival: Instant,
}

/// What [`PacketStore::insert`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Inserted {
    Kept,
    /// A packet already starts at that position.
    Duplicate,
    /// Kept, and the oldest packet was dropped to respect the limit.
    KeptDroppedOldest,
}

/// Packets keyed by the media sample index of their first sample.
#[derive(Debug, Clone)]
pub(crate) struct PacketStore {
    packets: BTreeMap<i64, Stored>,
    max_packets: usize,
}

impl PacketStore {
    pub(crate) fn new(max_packets: usize) -> Self {
        Self {
            packets: BTreeMap::new(),
            max_packets: max_packets.max(1),
        }
    }

    pub(crate) fn insert(&mut self, start: i64, packet: Stored) -> Inserted {
        if self.packets.contains_key(&start) {
            return Inserted::Duplicate;
        }
        self.packets.insert(start, packet);
        if self.packets.len() > self.max_packets {
            self.packets.pop_first();
            return Inserted::KeptDroppedOldest;
        }
        Inserted::Kept
    }

    pub(crate) fn len(&self) -> usize {
        self.packets.len()
    }

    pub(crate) fn first_start(&self) -> Option<i64> {
        self.packets.keys().next().copied()
    }

    pub(crate) fn clear(&mut self) {
        self.packets.clear();
    }

    /// Copies the samples at `pos..pos + out.len()` into `out`, marking which are present.
    /// Returns the arrival time of the packet that holds the first present sample.
    pub(crate) fn read(&self, pos: i64, out: &mut [i16], present: &mut [bool]) -> Option<Instant> {
        out.fill(0);
        present.fill(false);
        let end = pos + out.len() as i64;
        let mut first: Option<(i64, Instant)> = None;
        // The packet that starts before `pos` may overlap it, then every packet starting inside.
        let before = self.packets.range(..pos).next_back();
        let inside = self.packets.range(pos..end);
        for (&start, p) in before.into_iter().chain(inside) {
            for (k, &s) in p.samples.iter().enumerate() {
                let at = start + k as i64;
                if at < pos {
                    continue;
                }
                if at >= end {
                    break;
                }
                let i = (at - pos) as usize;
                if let (Some(o), Some(m)) = (out.get_mut(i), present.get_mut(i)) {
                    *o = s;
                    *m = true;
                    if first.is_none_or(|(f, _)| at < f) {
                        first = Some((at, p.arrival));
                    }
                }
            }
        }
        first.map(|(_, a)| a)
    }

    /// Whether any packet holds samples at or after `pos`.
    pub(crate) fn has_from(&self, pos: i64) -> bool {
        self.packets
            .iter()
            .next_back()
            .is_some_and(|(&s, p)| s + p.samples.len() as i64 > pos)
    }

    /// Drops packets that end at or before `pos`.
    pub(crate) fn drop_before(&mut self, pos: i64) {
        while let Some(entry) = self.packets.first_entry() {
            if *entry.key() + entry.get().samples.len() as i64 <= pos {
                entry.remove();
            } else {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::disallowed_methods)] // reason: tests need some Instant to start virtual time from
    fn start() -> Instant {
        Instant::now()
    }

    fn pkt(now: Instant, v: i16) -> Stored {
        Stored {
            samples: vec![v; 160],
            arrival: now,
        }
    }

    #[test]
    fn reads_across_packets_and_marks_gaps() {
        let now = start();
        let mut s = PacketStore::new(10);
        s.insert(0, pkt(now, 1));
        s.insert(320, pkt(now, 3));
        let mut out = [0i16; 400];
        let mut present = [false; 400];
        s.read(100, &mut out, &mut present);
        assert_eq!(out[0], 1);
        assert!(present[59] && !present[60] && !present[219] && present[220]);
        assert_eq!(out[220], 3);
        s.drop_before(160);
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn at_the_limit_everything_is_kept_and_one_more_drops_the_oldest() {
        let now = start();
        let mut s = PacketStore::new(500);
        for k in 0..500 {
            assert_eq!(s.insert(k * 160, pkt(now, 0)), Inserted::Kept);
        }
        assert_eq!(s.len(), 500);
        assert_eq!(s.insert(500 * 160, pkt(now, 0)), Inserted::KeptDroppedOldest);
        assert_eq!(s.len(), 500);
        assert_eq!(s.first_start(), Some(160));
        assert_eq!(s.insert(160, pkt(now, 0)), Inserted::Duplicate);
    }
}
