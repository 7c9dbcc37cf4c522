//! The relay: two AF_PACKET sockets, one thread per direction, each with its own delay
//! queue, flows and counters.
//!
//! A direction's thread reads frames from its source interface, asks the rules and
//! [`decide`] what to do with each, sends at once what need not wait, and keeps the rest
//! in its [`DelayQueue`] until due, sleeping in `ppoll` until the next due frame or the
//! next arriving one. One thread per direction means no hand-over between threads on the
//! way (and no lock): a frame that no rule delays is written back from the buffer it was
//! read into.

use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::flow;
use super::impair::{FlowState, Loss, decide};
use super::queue::{DelayQueue, Pacer};
use super::rules::{Dir, Rules};
use super::segment;
use super::stats::{Counters, Stats};
use super::vnet::{self, VnetHdr};
use crate::error::{Error, Result};
use crate::sys::nsfd::in_netns;
use crate::sys::packet::PacketSocket;

/// The longest a thread sleeps without looking at its stop flag: bounds how long
/// dropping a [`Relay`] takes.
const IDLE: Duration = Duration::from_millis(10);

/// Frames read in a row before the thread looks at its queue again.
const BATCH: usize = 32;

/// Flows remembered per direction; beyond that the table starts afresh (every flow's
/// index back to 0), so a scan of many addresses cannot grow it without bound.
const MAX_FLOWS: usize = 65_536;

/// How long a send waits for room in the socket's buffer before the frame counts as an
/// error.
const SEND_PATIENCE: Duration = Duration::from_millis(5);

/// A frame with its virtio_net_hdr: 64 KiB of GSO payload plus headers, with room to
/// spare.
const BUFFER: usize = 128 * 1024;

/// What both directions' threads and the handle share.
struct Shared {
    stop: AtomicBool,
    rules: Mutex<Arc<Rules>>,
    /// Bumped by [`Relay::set`]; threads compare it with theirs before every batch.
    generation: AtomicU64,
    /// `[AtoB, BtoA]`.
    counters: [Counters; 2],
}

/// A running link emulator between interfaces `a` (the container's side) and `b` (the
/// bridge's side) of one network namespace. Dropping it stops and joins its threads
/// (within about 10 ms); frames still queued then are discarded.
pub struct Relay {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
    a: String,
    b: String,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Relay({} <-> {})", self.a, self.b)
    }
}

impl Relay {
    /// Relays frames between `a` (the container's side) and `b` (the bridge's side), both
    /// up and in network namespace `net`, with `rules` (checked first). The sockets are
    /// opened on a thread that joined `net`; the relay's own threads need not be there.
    ///
    /// `a` and `b` should have no addresses and not be bridge ports: the namespace's own
    /// stack sees every frame they receive too, and must not answer or forward it.
    pub fn start(net: &OwnedFd, a: &str, b: &str, rules: Rules) -> Result<Relay> {
        rules.validate()?;
        let (sa, sb) = in_netns(net, || {
            Ok((
                Arc::new(PacketSocket::open(a)?),
                Arc::new(PacketSocket::open(b)?),
            ))
        })?;
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            rules: Mutex::new(Arc::new(rules)),
            generation: AtomicU64::new(1),
            counters: Default::default(),
        });
        let mut relay = Relay {
            shared: shared.clone(),
            threads: Vec::new(),
            a: a.to_string(),
            b: b.to_string(),
        };
        for (way, rx, tx) in [
            (Dir::AtoB, sa.clone(), sb.clone()),
            (Dir::BtoA, sb.clone(), sa.clone()),
        ] {
            let worker = Worker::new(way, rx, tx, shared.clone());
            // Thread names show in `top -H` and /proc (cut to 15 bytes by the kernel).
            let name = match way {
                Dir::AtoB => format!("emu {a}>{b}"),
                _ => format!("emu {b}>{a}"),
            };
            let t = std::thread::Builder::new()
                .name(name)
                .spawn(move || worker.run())
                .map_err(|e| Error::io("start a link emulator thread", &e))?;
            // On an error here `relay`'s Drop stops the thread already started.
            relay.threads.push(t);
        }
        tracing::info!(a, b, "link emulator started");
        Ok(relay)
    }

    /// Replaces the rules (checked first). The threads take them before the next frame
    /// they read; frames already queued keep the delays they got, and each flow keeps its
    /// frame index and loss state, so the switch itself loses nothing.
    pub fn set(&self, rules: Rules) -> Result<()> {
        rules.validate()?;
        tracing::debug!(
            a = self.a,
            b = self.b,
            rules = rules.rules.len(),
            "link emulator rules set"
        );
        *self.shared.rules.lock().unwrap_or_else(|e| e.into_inner()) = Arc::new(rules);
        self.shared.generation.fetch_add(1, Ordering::Release);
        Ok(())
    }

    /// The rules in force.
    pub fn rules(&self) -> Rules {
        (**self.shared.rules.lock().unwrap_or_else(|e| e.into_inner())).clone()
    }

    /// What happened to the frames so far, per direction.
    pub fn stats(&self) -> Stats {
        Stats {
            a_to_b: self.shared.counters[0].snapshot(),
            b_to_a: self.shared.counters[1].snapshot(),
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        tracing::info!(a = self.a, b = self.b, "link emulator stopped");
    }
}

/// One direction: reads from `rx`, sends to `tx`.
struct Worker {
    way: Dir,
    rx: Arc<PacketSocket>,
    tx: Arc<PacketSocket>,
    shared: Arc<Shared>,
    rules: Arc<Rules>,
    generation: u64,
    /// One per rule with a rate, made when the rule first sends.
    pacers: Vec<Option<Pacer>>,
    flows: HashMap<u64, FlowState>,
    queue: DelayQueue<Vec<u8>>,
    buf: Vec<u8>,
    /// Whether an error was logged already (logged once, then only counted).
    told: bool,
}

impl Worker {
    fn new(way: Dir, rx: Arc<PacketSocket>, tx: Arc<PacketSocket>, shared: Arc<Shared>) -> Self {
        Worker {
            way,
            rx,
            tx,
            shared,
            rules: Arc::new(Rules::default()),
            generation: 0,
            pacers: Vec::new(),
            flows: HashMap::new(),
            queue: DelayQueue::default(),
            buf: vec![0; BUFFER],
            told: false,
        }
    }

    fn counters(&self) -> &Counters {
        &self.shared.counters[usize::from(self.way == Dir::BtoA)]
    }

    fn run(mut self) {
        while !self.shared.stop.load(Ordering::Relaxed) {
            self.send_due();
            let wait = self.queue.next_due().map_or(IDLE, |d| {
                d.saturating_duration_since(Instant::now()).min(IDLE)
            });
            match self.rx.wait(wait) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    // An interface that went away: say so once, then idle until dropped.
                    if !std::mem::replace(&mut self.told, true) {
                        tracing::error!("link emulator on {}: {e}", self.rx.ifname());
                    }
                    std::thread::sleep(IDLE);
                    continue;
                }
            }
            for _ in 0..BATCH {
                // Per frame (one atomic load): a `set` that returned applies to every
                // frame read after it.
                self.refresh();
                match self.rx.recv(&mut self.buf) {
                    Ok(Some(n)) => self.handle(n),
                    Ok(None) => break,
                    Err(e) => {
                        self.counters().errors.fetch_add(1, Ordering::Relaxed);
                        tracing::debug!("link emulator: {e}");
                    }
                }
                if self.queue.next_due().is_some_and(|d| d <= Instant::now()) {
                    self.send_due();
                }
            }
        }
    }

    fn refresh(&mut self) {
        let g = self.shared.generation.load(Ordering::Acquire);
        if g != self.generation {
            self.rules = self
                .shared
                .rules
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            self.generation = g;
            self.pacers = vec![None; self.rules.rules.len()];
        }
    }

    fn send_due(&mut self) {
        let now = Instant::now();
        while let Some(f) = self.queue.pop_due(now) {
            self.send(&f);
        }
    }

    fn send(&mut self, frame: &[u8]) {
        match self.tx.send(frame, SEND_PATIENCE) {
            Ok(()) => {
                self.counters().passed.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                self.counters().errors.fetch_add(1, Ordering::Relaxed);
                if !std::mem::replace(&mut self.told, true) {
                    tracing::warn!("link emulator: {e} (further send errors are only counted)");
                }
            }
        }
    }

    /// Sends the frame in `buf[..n]` on unchanged.
    fn forward(&mut self, n: usize) {
        let frame = std::mem::take(&mut self.buf);
        self.send(&frame[..n]);
        self.buf = frame;
    }

    /// Decides and acts on the frame in `buf[..n]` (virtio_net_hdr first).
    fn handle(&mut self, n: usize) {
        let c = self.counters();
        c.frames_in.fetch_add(1, Ordering::Relaxed);
        if n < vnet::LEN {
            c.errors.fetch_add(1, Ordering::Relaxed);
            return;
        }
        // Without rules nothing is decided: straight back out, no parsing.
        if self.rules.rules.is_empty() {
            return self.forward(n);
        }
        let Some(parsed) = flow::parse(&self.buf[vnet::LEN..n]) else {
            return self.forward(n);
        };
        let id = parsed.key.id();
        if self.flows.len() >= MAX_FLOWS && !self.flows.contains_key(&id) {
            tracing::debug!("link emulator: {MAX_FLOWS} flows, forgetting them all");
            self.flows.clear();
        }
        let way = self.way;
        let matched = self.rules.rules.iter().position(|r| {
            r.dir.covers(way)
                && (r.peers.is_empty()
                    || parsed.ips().is_some_and(|(src, dst)| {
                        r.peers.contains(if way == Dir::AtoB { &dst } else { &src })
                    }))
        });
        let Some(ri) = matched else {
            // Unmatched frames still count in their flow, so a rule that starts matching
            // later sees the same indexes as one that matched all along.
            self.flows.entry(id).or_default().next += 1;
            return self.forward(n);
        };
        let imp = &self.rules.rules[ri].impair;
        let per_packet =
            imp.loss > 0.0 || imp.duplicate > 0.0 || imp.reorder > 0.0 || imp.corrupt > 0.0;
        let hdr = VnetHdr::read(&self.buf).unwrap_or_default();
        // Decisions about packets are made per packet of the wire, not per super-frame.
        if per_packet
            && hdr.is_gso()
            && let Some(segs) = parsed
                .l4
                .and_then(|l4| segment::tcp_segments(&hdr, &self.buf[vnet::LEN..n], l4))
        {
            for seg in segs {
                let mut pkt = vec![0u8; vnet::LEN];
                pkt.extend_from_slice(&seg);
                let len = pkt.len();
                self.impair(ri, id, &parsed, &mut pkt, len);
            }
            return;
        }
        let mut pkt = std::mem::take(&mut self.buf);
        self.impair(ri, id, &parsed, &mut pkt, n);
        self.buf = pkt;
    }

    /// Applies rule `ri` to the frame in `pkt[..n]` (virtio_net_hdr first) of flow `id`.
    fn impair(&mut self, ri: usize, id: u64, parsed: &flow::Parsed, pkt: &mut [u8], n: usize) {
        let rules = self.rules.clone();
        let imp = &rules.rules[ri].impair;
        let way = self.way;
        let state = self.flows.entry(id).or_default();
        let fate = decide(imp, rules.seed, way, id, state);
        let shared = self.shared.clone();
        let c = &shared.counters[usize::from(way == Dir::BtoA)];
        match fate.lost {
            Some(Loss::Random) => {
                c.lost_random.fetch_add(1, Ordering::Relaxed);
                return;
            }
            Some(Loss::Burst) => {
                c.lost_burst.fetch_add(1, Ordering::Relaxed);
                return;
            }
            None => {}
        }
        let mut hdr = VnetHdr::read(pkt).unwrap_or_default();
        if let Some(bit) = fate.corrupt {
            c.corrupted.fetch_add(1, Ordering::Relaxed);
            // A super-frame that could not be cut (not TCP) cannot carry a failing
            // checksum (see `vnet`): it goes whole.
            if hdr.is_gso() {
                return;
            }
            let frame = &mut pkt[vnet::LEN..n];
            if !vnet::complete_checksum(&mut hdr, frame) {
                return;
            }
            let len = frame.len();
            let range = match (parsed.payload, parsed.l4) {
                (Some(p), _) if p < len => p..len,
                (_, Some(l4)) if l4 < len => l4..len,
                _ => 14.min(len)..len,
            };
            vnet::flip_bit(frame, range, bit);
            hdr.write(pkt);
        }
        let copies = if fate.duplicate {
            c.duplicated.fetch_add(1, Ordering::Relaxed);
            2
        } else {
            1
        };
        if fate.at_once {
            c.reordered.fetch_add(1, Ordering::Relaxed);
        }
        let now = Instant::now();
        let ready = now + fate.delay;
        if !fate.at_once && (ready > now || imp.rate.is_some()) {
            if self.queue.len() + copies > imp.limit as usize {
                c.dropped.fetch_add(1, Ordering::Relaxed);
                return;
            }
            let mut due = ready;
            if let Some(bps) = imp.rate {
                let headers = parsed.payload.unwrap_or(n - vnet::LEN);
                let bytes = hdr.wire_bytes(n - vnet::LEN, headers);
                let pacer = self.pacers[ri].get_or_insert_with(|| Pacer::new(bps));
                due = pacer.schedule(ready, bytes * copies);
            }
            for _ in 0..copies {
                self.queue.push(due, pkt[..n].to_vec());
            }
            return;
        }
        for _ in 0..copies {
            self.send(&pkt[..n]);
        }
    }
}
