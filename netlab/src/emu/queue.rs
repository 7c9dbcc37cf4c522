//! Time: the delay queue each direction's frames wait in, and the pacer that spaces them
//! out at a link's rate.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

struct Entry<T> {
    due: Instant,
    seq: u64,
    item: T,
}

impl<T> PartialEq for Entry<T> {
    fn eq(&self, o: &Self) -> bool {
        (self.due, self.seq) == (o.due, o.seq)
    }
}
impl<T> Eq for Entry<T> {}
impl<T> PartialOrd for Entry<T> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl<T> Ord for Entry<T> {
    /// Reversed, so that `BinaryHeap`'s top is the earliest; frames due at the same
    /// instant leave in the order they came.
    fn cmp(&self, o: &Self) -> Ordering {
        (o.due, o.seq).cmp(&(self.due, self.seq))
    }
}

/// Items waiting until their due time (a binary heap: O(log n) per frame).
pub struct DelayQueue<T> {
    heap: BinaryHeap<Entry<T>>,
    seq: u64,
}

impl<T> Default for DelayQueue<T> {
    fn default() -> Self {
        DelayQueue {
            heap: BinaryHeap::new(),
            seq: 0,
        }
    }
}

impl<T> DelayQueue<T> {
    /// Adds `item`, due at `due`.
    pub fn push(&mut self, due: Instant, item: T) {
        self.seq += 1;
        self.heap.push(Entry {
            due,
            seq: self.seq,
            item,
        });
    }

    /// The earliest item that is due at `now`, if any.
    pub fn pop_due(&mut self, now: Instant) -> Option<T> {
        if self.heap.peek()?.due <= now {
            self.heap.pop().map(|e| e.item)
        } else {
            None
        }
    }

    /// When the next item is due.
    pub fn next_due(&self) -> Option<Instant> {
        self.heap.peek().map(|e| e.due)
    }

    /// Items waiting.
    pub fn len(&self) -> usize {
        self.heap.len()
    }
}

/// A link of a fixed rate, as netem's `rate`: a frame starts when it is ready and the
/// link has finished the frame before, and takes `bits / rate` to cross. It is a token
/// bucket one frame deep: an idle link earns no credit for a later burst.
#[derive(Debug, Clone, Copy)]
pub struct Pacer {
    bits_per_sec: u64,
    free_at: Option<Instant>,
}

impl Pacer {
    /// A link of `bits_per_sec` (at least 1).
    pub fn new(bits_per_sec: u64) -> Pacer {
        Pacer {
            bits_per_sec: bits_per_sec.max(1),
            free_at: None,
        }
    }

    /// How long `bytes` take to cross the link.
    pub fn transmission(&self, bytes: usize) -> Duration {
        let nanos = (bytes as u128 * 8 * 1_000_000_000).div_ceil(u128::from(self.bits_per_sec));
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    /// When a frame of `bytes`, ready at `ready`, has crossed the link.
    pub fn schedule(&mut self, ready: Instant, bytes: usize) -> Instant {
        let start = match self.free_at {
            Some(f) if f > ready => f,
            _ => ready,
        };
        let done = start + self.transmission(bytes);
        self.free_at = Some(done);
        done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earliest_first_and_ties_in_arrival_order() {
        let t0 = Instant::now();
        let ms = |m| t0 + Duration::from_millis(m);
        let mut q = DelayQueue::default();
        for (due, name) in [(30, "c"), (10, "a"), (20, "b1"), (20, "b2"), (5, "early")] {
            q.push(ms(due), name);
        }
        assert_eq!(q.len(), 5);
        assert_eq!(q.next_due(), Some(ms(5)));
        assert_eq!(q.pop_due(ms(4)), None);
        let mut out = Vec::new();
        while let Some(x) = q.pop_due(ms(25)) {
            out.push(x);
        }
        assert_eq!(out, ["early", "a", "b1", "b2"]);
        assert_eq!(q.pop_due(ms(100)), Some("c"));
        assert_eq!(q.next_due(), None);
    }

    #[test]
    fn pacer_spaces_frames_at_the_rate() {
        let t0 = Instant::now();
        // (rate, frame bytes, frames, ready every, last frame done after)
        let cases = [
            // 1000 frames of 1250 bytes = 10 Mbit: one second at 10 Mbit/s.
            (
                10_000_000,
                1250,
                1000,
                Duration::ZERO,
                Duration::from_secs(1),
            ),
            (
                100_000_000,
                1250,
                1000,
                Duration::ZERO,
                Duration::from_millis(100),
            ),
            // Frames ready more slowly than the link carries them: no waiting, no credit.
            (
                100_000_000,
                1250,
                10,
                Duration::from_millis(1),
                Duration::from_millis(9) + Duration::from_micros(100),
            ),
            // A 64 KiB super-frame's wire bytes at 1 Mbit/s.
            (
                1_000_000,
                65_536,
                1,
                Duration::ZERO,
                Duration::from_nanos(524_288_000),
            ),
        ];
        for (rate, bytes, n, every, want) in cases {
            let mut p = Pacer::new(rate);
            let mut last = t0;
            for i in 0..n {
                last = p.schedule(t0 + every * i, bytes);
            }
            assert_eq!(last - t0, want, "rate {rate}, {n} x {bytes} bytes");
        }
    }
}
