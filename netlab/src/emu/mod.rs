//! A link emulator in user space: delay, jitter, loss (independent or in bursts),
//! duplication, reordering, corruption and a rate limit for the frames of one link,
//! where the kernel has no `netem` (or `tbf`, or NFQUEUE) to do it.
//!
//! A [`Relay`] runs in the lab's supervisor between two interfaces of one namespace,
//! `a` (the container's side) and `b` (the bridge's side), and forwards every Ethernet
//! frame between them through AF_PACKET sockets (`sys::packet`), after [`Rules`] decided
//! what happens to it. Only impaired links go through a relay: the supervisor splices one
//! in by moving the container's host-side veth off the bridge and putting a new veth pair
//! between relay and bridge.
//!
//! - `rules`: the pure data a caller hands in ([`Rules`], [`Rule`], [`Impairment`]);
//! - `flow`: which stream a frame belongs to, read from its bytes;
//! - `hash` and `impair`: the seeded decisions;
//! - `queue`: the delay queue and the rate pacer;
//! - `vnet`: the offload header AF_PACKET puts in front of frames (why, and what it costs);
//!   `segment`: cutting TCP super-frames into wire packets where decisions are per packet;
//! - `relay`: the threads; `stats`: their counters.
//!
//! # What is reproducible
//!
//! Every decision about a frame is a hash of the seed, the frame's direction, its flow
//! (protocol, addresses and ports, or echo id, or ethertype and MACs: see `flow`) and its
//! index in that flow (the first frame of a flow in a direction has index 0; lost frames
//! count). So, with the same seed:
//!
//! - the same frames of a stream are lost, duplicated, reordered and corrupted (and the
//!   same bit flipped), and each gets the same jitter, whatever other traffic runs beside
//!   it and however fast it is sent; a burst's state is per flow too;
//! - but a stream is the same only if its frames are: TCP's retransmissions are new frames
//!   with new indexes (so which *bytes* a TCP connection loses depends on its timing).
//!   Under a rule that loses, duplicates, reorders or corrupts, TCP super-frames (GSO) are
//!   cut into the packets a wire would carry before deciding (`segment`), so indexes count
//!   packets however the sender batched them; under a rule that only delays or limits the
//!   rate, a super-frame stays one frame (one index, one jitter value);
//! - not reproducible: exact delivery times (scheduling, the timer's accuracy), the order
//!   of frames of *different* flows, and drops for a full queue or a rate limit, which
//!   depend on timing.
//!
//! Indexes run from the relay's start and survive [`Relay::set`]; a new relay (or more
//! than 65,536 flows in a direction, which makes it forget them all) starts them afresh.

mod flow;
mod hash;
mod impair;
mod queue;
mod relay;
mod rules;
mod segment;
mod stats;
pub mod testbed;
mod vnet;

pub use relay::Relay;
pub use rules::{Dir, Distribution, Impairment, MAX_DELAY, Rule, Rules};
pub use stats::{DirStats, Stats};
