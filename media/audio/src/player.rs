//! A passive prompt player: the media clock pulls one 20 ms frame at a time.

use std::sync::Arc;

use crate::FRAME_SAMPLES;

/// Plays a sequence of prompts back to back as one continuous stream of 8 kHz frames.
///
/// Passive (pjmedia-port style): it never reads a clock; whoever owns the ptime tick
/// calls [`PromptPlayer::next_frame`] once per 20 ms. Prompts are joined without a gap, so a
/// frame may hold the end of one prompt and the start of the next; only the very last frame
/// is padded with silence.
///
/// ```
/// use std::sync::Arc;
/// use hotline_audio::PromptPlayer;
///
/// let beep: Arc<[i16]> = vec![1000; 200].into();
/// let mut player = PromptPlayer::new(vec![beep]);
/// let mut frame = [0i16; 160];
/// assert!(player.next_frame(&mut frame)); // samples 0..160
/// assert!(player.next_frame(&mut frame)); // samples 160..200, then 120 zeros
/// assert_eq!(frame[39..41], [1000, 0]);
/// assert!(!player.next_frame(&mut frame)); // finished: silence
/// ```
#[derive(Clone, Debug)]
pub struct PromptPlayer {
    prompts: Vec<Arc<[i16]>>,
    /// Index of the prompt being played.
    current: usize,
    /// Next sample within `prompts[current]`.
    offset: usize,
}

impl PromptPlayer {
    /// A player for `prompts`, in order (8 kHz mono samples, e.g. from
    /// [`PromptLibrary::get`](crate::PromptLibrary::get)).
    pub fn new(prompts: Vec<Arc<[i16]>>) -> Self {
        Self {
            prompts,
            current: 0,
            offset: 0,
        }
    }

    /// Fills `out` with the next 20 ms. Returns `true` if the frame holds prompt audio
    /// (a last, partial frame is padded with zeros) and `false` once everything has been
    /// played, in which case `out` is all zeros.
    pub fn next_frame(&mut self, out: &mut [i16; FRAME_SAMPLES]) -> bool {
        let mut filled = 0;
        while filled < FRAME_SAMPLES {
            let Some(prompt) = self.prompts.get(self.current) else {
                break;
            };
            let rest = prompt.get(self.offset..).unwrap_or(&[]);
            let n = rest.len().min(FRAME_SAMPLES - filled);
            if let (Some(dst), Some(src)) = (out.get_mut(filled..filled + n), rest.get(..n)) {
                dst.copy_from_slice(src);
            }
            filled += n;
            self.offset += n;
            if self.offset >= prompt.len() {
                self.current += 1;
                self.offset = 0;
            }
        }
        if let Some(tail) = out.get_mut(filled..) {
            tail.fill(0);
        }
        filled > 0
    }

    /// Whether every prompt has been played.
    pub fn is_finished(&self) -> bool {
        // Skips trailing empty prompts too.
        self.prompts
            .get(self.current..)
            .unwrap_or(&[])
            .iter()
            .all(|p| p.is_empty())
            || self.current >= self.prompts.len()
    }

    /// Samples left to play (for a caller that wants to know the remaining time).
    pub fn remaining_samples(&self) -> usize {
        let rest: usize = self.prompts.iter().skip(self.current).map(|p| p.len()).sum();
        rest.saturating_sub(self.offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prompt(range: std::ops::Range<i16>) -> Arc<[i16]> {
        range.collect::<Vec<_>>().into()
    }

    fn drain(player: &mut PromptPlayer) -> (Vec<i16>, usize) {
        let mut all = Vec::new();
        let mut frames = 0;
        let mut out = [7i16; FRAME_SAMPLES];
        while player.next_frame(&mut out) {
            all.extend_from_slice(&out);
            frames += 1;
            assert!(frames < 10_000, "player never finishes");
        }
        assert!(out.iter().all(|s| *s == 0), "a finished player gives silence");
        (all, frames)
    }

    #[test]
    fn plays_prompts_back_to_back_and_pads_only_the_last_frame() {
        let mut p = PromptPlayer::new(vec![prompt(1..101), prompt(101..301)]);
        assert_eq!(p.remaining_samples(), 300);
        let (all, frames) = drain(&mut p);
        assert_eq!(frames, 2);
        let expected: Vec<i16> = (1..301).chain(std::iter::repeat_n(0, 20)).collect();
        assert_eq!(all, expected);
        assert!(p.is_finished());
        assert_eq!(p.remaining_samples(), 0);
    }

    #[test]
    fn exact_multiple_of_a_frame_ends_without_an_extra_frame() {
        let mut p = PromptPlayer::new(vec![vec![3; 320].into()]);
        let (all, frames) = drain(&mut p);
        assert_eq!((frames, all.len()), (2, 320));
        assert!(all.iter().all(|s| *s == 3));
    }

    #[test]
    fn empty_prompts_are_skipped() {
        let empty: Arc<[i16]> = Vec::new().into();
        let mut p = PromptPlayer::new(vec![empty.clone(), prompt(1..11), empty.clone()]);
        assert!(!p.is_finished());
        let mut out = [0; FRAME_SAMPLES];
        assert!(p.next_frame(&mut out));
        assert_eq!(out[..11], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0]);
        assert!(p.is_finished());
        assert!(!p.next_frame(&mut out));

        let mut nothing = PromptPlayer::new(vec![empty]);
        assert!(nothing.is_finished());
        assert!(!nothing.next_frame(&mut out));
        assert!(!PromptPlayer::new(Vec::new()).next_frame(&mut out));
    }

    #[test]
    fn same_prompt_can_be_queued_twice() {
        let digit = prompt(1..5);
        let mut p = PromptPlayer::new(vec![digit.clone(), digit]);
        let (all, _) = drain(&mut p);
        assert_eq!(all[..9], [1, 2, 3, 4, 1, 2, 3, 4, 0]);
    }
}
