//! A passive prompt player: the ptime clock pulls one frame at a time.

use std::collections::VecDeque;
use std::sync::Arc;

/// Prompts queued for one `Play` command, played back to back without gaps.
#[derive(Debug)]
pub(crate) struct Playback {
    pub(crate) play_id: u64,
    queue: VecDeque<Arc<[i16]>>,
    current: Option<Arc<[i16]>>,
    position: usize,
}

impl Playback {
    pub(crate) fn new(play_id: u64, prompts: Vec<Arc<[i16]>>) -> Self {
        Self {
            play_id,
            queue: prompts.into(),
            current: None,
            position: 0,
        }
    }

    /// Copies the next samples into `out` (already zeroed: what is left stays silence).
    /// Returns `true` when nothing is left to play after this frame.
    pub(crate) fn fill(&mut self, out: &mut [i16]) -> bool {
        let mut written = 0;
        while written < out.len() {
            let Some(current) = &self.current else {
                match self.queue.pop_front() {
                    Some(next) => {
                        self.current = Some(next);
                        self.position = 0;
                        continue;
                    }
                    None => break,
                }
            };
            let remaining = current.get(self.position..).unwrap_or(&[]);
            if remaining.is_empty() {
                self.current = None;
                continue;
            }
            let n = remaining.len().min(out.len() - written);
            if let (Some(dst), Some(src)) = (out.get_mut(written..written + n), remaining.get(..n)) {
                dst.copy_from_slice(src);
            }
            written += n;
            self.position += n;
        }
        self.is_done()
    }

    fn is_done(&self) -> bool {
        self.queue.iter().all(|p| p.is_empty())
            && self.current.as_ref().is_none_or(|c| self.position >= c.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompts_play_back_to_back_and_the_last_frame_is_padded() {
        let a: Arc<[i16]> = vec![1; 100].into();
        let b: Arc<[i16]> = vec![2; 100].into();
        let mut p = Playback::new(1, vec![a, b]);
        let mut frame = [0i16; 160];
        assert!(!p.fill(&mut frame));
        assert!(frame[..100].iter().all(|&s| s == 1) && frame[100..].iter().all(|&s| s == 2));
        let mut frame = [0i16; 160];
        assert!(
            p.fill(&mut frame),
            "done after the frame holding the last samples"
        );
        assert!(frame[..40].iter().all(|&s| s == 2) && frame[40..].iter().all(|&s| s == 0));
    }

    #[test]
    fn a_prompt_ending_on_a_frame_boundary_finishes_with_that_frame() {
        let a: Arc<[i16]> = vec![3; 320].into();
        let mut p = Playback::new(1, vec![a]);
        let mut frame = [0i16; 160];
        assert!(!p.fill(&mut frame));
        assert!(p.fill(&mut frame));
    }
}
