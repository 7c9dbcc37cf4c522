//! What a relay did, per direction: counters its threads bump and a plain snapshot of
//! them for callers (serde, for the supervisor's protocol).

use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

/// Counts of one direction since the relay started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirStats {
    /// Frames read from the source interface (a GSO super-frame counts one).
    pub frames_in: u64,
    /// Frames written to the other interface: duplicates, and each segment of a TCP
    /// super-frame cut for per-packet decisions, count one each.
    pub passed: u64,
    /// Lost independently (`burst` = 1).
    pub lost_random: u64,
    /// Lost in a run of the Gilbert model (`burst` > 1).
    pub lost_burst: u64,
    /// Dropped because the queue held `limit` frames.
    pub dropped: u64,
    /// Sent twice.
    pub duplicated: u64,
    /// Sent at once, ahead of delayed frames.
    pub reordered: u64,
    /// Given a flipped bit (a non-TCP GSO super-frame: dropped whole, see `emu::vnet`).
    pub corrupted: u64,
    /// Frames the kernel refused to take or hand over (see the log for the first).
    pub errors: u64,
}

/// Counts of both directions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// From `a` (the container) to `b` (the bridge).
    pub a_to_b: DirStats,
    /// From `b` to `a`.
    pub b_to_a: DirStats,
}

/// The live counters behind a [`DirStats`].
#[derive(Default)]
pub struct Counters {
    pub frames_in: AtomicU64,
    pub passed: AtomicU64,
    pub lost_random: AtomicU64,
    pub lost_burst: AtomicU64,
    pub dropped: AtomicU64,
    pub duplicated: AtomicU64,
    pub reordered: AtomicU64,
    pub corrupted: AtomicU64,
    pub errors: AtomicU64,
}

impl Counters {
    /// The counts now (each read on its own: a snapshot taken while frames flow may be
    /// off by the frames in flight).
    pub fn snapshot(&self) -> DirStats {
        let r = |a: &AtomicU64| a.load(Ordering::Relaxed);
        DirStats {
            frames_in: r(&self.frames_in),
            passed: r(&self.passed),
            lost_random: r(&self.lost_random),
            lost_burst: r(&self.lost_burst),
            dropped: r(&self.dropped),
            duplicated: r(&self.duplicated),
            reordered: r(&self.reordered),
            corrupted: r(&self.corrupted),
            errors: r(&self.errors),
        }
    }
}
