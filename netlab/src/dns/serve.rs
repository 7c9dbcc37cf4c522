//! The serving thread: one epoll loop over every attached container's UDP socket and TCP
//! listener, their TCP connections, the upstream socket and a wake-up eventfd.
//!
//! Every socket is non-blocking and every wait is the loop's one `epoll_wait`, so no input
//! can hold the thread: a client that sends half a TCP frame, or never reads its answers,
//! or an upstream that never answers, only costs the bounded state below until its
//! deadline. Bounds (see [`Limits`]):
//!
//! - TCP: at most `tcp_max` connections in all (a connection beyond is closed at once);
//!   one is closed when idle (nothing read) for `tcp_idle`, when the answers it has not
//!   read pass `tcp_out_max` bytes, or on any error. A partial frame is at most 2 +
//!   65,535 bytes, so a connection's buffers are bounded too. Several queries per
//!   connection are answered in order (forwarded ones when the upstream answers).
//! - Forwarding: at most `in_flight_max` queries wait for the upstream; past that, and
//!   after `forward_timeout` without an answer, the client gets SERVFAIL.
//! - Fairness: each wake-up reads at most [`BATCH`] datagrams or connections from one
//!   socket; epoll is level-triggered, so the rest waits for the next round, after the
//!   other sockets had theirs.
//!
//! Writes to TCP use `MSG_NOSIGNAL`: the `netlab` binary restores the default SIGPIPE
//! action (`sys::default_sigpipe`), and a client that resets its connection must not be
//! able to kill the lab's supervisor with it.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, RandomState};
use std::io::{ErrorKind, Read};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::{AsFd, AsRawFd};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, ResponseCode};
use nix::errno::Errno;
use nix::sys::epoll::{Epoll, EpollEvent, EpollFlags, EpollTimeout};
use nix::sys::eventfd::EventFd;
use nix::sys::socket::MsgFlags;

use super::answer::{self, Outcome, Question, Transport};
use super::zone::Zone;
use crate::error::{Error, Result};

/// Most datagrams or connections taken from one socket per wake-up.
const BATCH: usize = 64;

/// The loop's bounds; [`Limits::default`] is what a lab gets, tests shorten the times.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    pub tcp_idle: Duration,
    pub tcp_max: usize,
    pub tcp_out_max: usize,
    pub forward_timeout: Duration,
    pub in_flight_max: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            tcp_idle: Duration::from_secs(5),
            tcp_max: 64,
            tcp_out_max: 128 << 10,
            forward_timeout: Duration::from_secs(2),
            in_flight_max: 1024,
        }
    }
}

/// What the API changes and the loop reads at every query, under one lock: a change is
/// seen by the very next query.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    pub zone: Zone,
    /// Querier -> the networks it is on, in order.
    pub views: HashMap<String, Vec<String>>,
}

/// Changes to the set of sockets, which only the loop touches.
pub(crate) enum Command {
    Attach {
        who: String,
        udp: UdpSocket,
        tcp: TcpListener,
        done: SyncSender<Result<()>>,
    },
    Detach {
        who: String,
        done: SyncSender<()>,
    },
    Stop,
}

/// Where names that are not the lab's go.
pub(crate) struct Upstream {
    /// Non-blocking, in the namespace of the thread that started the server.
    pub socket: UdpSocket,
    pub server: SocketAddr,
}

const WAKER: u64 = 0;
const UPSTREAM: u64 = 1;

/// The loop's state; [`Loop::run`] owns it on the serving thread.
pub(crate) struct Loop {
    epoll: Epoll,
    waker: Arc<EventFd>,
    commands: Receiver<Command>,
    shared: Arc<Mutex<Shared>>,
    limits: Limits,
    sockets: Sockets,
    forwarder: Option<Forwarder>,
    buf: Vec<u8>,
}

/// Every client-facing socket by epoll token. Tokens are never reused, so an answer for a
/// connection that closed meanwhile finds nothing instead of a stranger.
struct Sockets {
    entries: HashMap<u64, Entry>,
    next: u64,
    /// The tokens of the TCP connections (at most `tcp_max`), for deadlines.
    conns: Vec<u64>,
}

enum Entry {
    Udp {
        who: Arc<str>,
        socket: UdpSocket,
    },
    Listener {
        who: Arc<str>,
        listener: TcpListener,
    },
    Conn(Conn),
}

impl Entry {
    fn who(&self) -> &str {
        match self {
            Entry::Udp { who, .. } | Entry::Listener { who, .. } => who,
            Entry::Conn(c) => &c.who,
        }
    }
}

struct Conn {
    who: Arc<str>,
    stream: TcpStream,
    /// Bytes of frames not complete yet.
    input: Vec<u8>,
    /// Framed answers the client has not taken yet.
    output: Vec<u8>,
    idle_until: Instant,
    /// The client closed its side: answer what is pending, read no more.
    eof: bool,
    /// Forwarded queries of this connection still waiting for the upstream.
    waiting: usize,
    /// The epoll interest now registered.
    interest: EpollFlags,
}

/// Queries relayed to the upstream and waiting for its answer.
struct Forwarder {
    upstream: Upstream,
    pending: HashMap<u16, Pending>,
    /// (deadline, upstream ID, serial), in deadline order since every query waits as
    /// long; entries of answered queries stay until their deadline and are skipped.
    expiry: VecDeque<(Instant, u16, u64)>,
    serial: u64,
    /// Upstream IDs are unpredictable (a hash of a counter with std's random keys), so a
    /// container cannot easily forge the answer to another's query.
    ids: RandomState,
}

struct Pending {
    client: Client,
    question: Question,
    serial: u64,
}

#[derive(Debug, Clone, Copy)]
enum Client {
    Udp { token: u64, addr: SocketAddr },
    Tcp { token: u64 },
}

impl Loop {
    /// Registers the waker and the upstream socket; the containers' sockets come later
    /// by [`Command::Attach`].
    pub(crate) fn new(
        waker: Arc<EventFd>,
        commands: Receiver<Command>,
        shared: Arc<Mutex<Shared>>,
        upstream: Option<Upstream>,
        limits: Limits,
    ) -> Result<Loop> {
        let epoll = Epoll::new(nix::sys::epoll::EpollCreateFlags::EPOLL_CLOEXEC)
            .map_err(|e| Error::kernel("epoll_create", "the DNS server", e))?;
        epoll
            .add(waker.as_fd(), EpollEvent::new(EpollFlags::EPOLLIN, WAKER))
            .map_err(|e| Error::kernel("epoll_ctl", "the DNS server's eventfd", e))?;
        if let Some(up) = &upstream {
            epoll
                .add(
                    up.socket.as_fd(),
                    EpollEvent::new(EpollFlags::EPOLLIN, UPSTREAM),
                )
                .map_err(|e| Error::kernel("epoll_ctl", "the DNS upstream socket", e))?;
        }
        Ok(Loop {
            epoll,
            waker,
            commands,
            shared,
            limits,
            sockets: Sockets {
                entries: HashMap::new(),
                next: UPSTREAM + 1,
                conns: Vec::new(),
            },
            forwarder: upstream.map(|upstream| Forwarder {
                upstream,
                pending: HashMap::new(),
                expiry: VecDeque::new(),
                serial: 0,
                ids: RandomState::new(),
            }),
            buf: vec![0; answer::TCP_MAX + 1],
        })
    }

    /// Serves until [`Command::Stop`] (or the API side is gone); every socket closes when
    /// it returns.
    pub(crate) fn run(mut self) {
        let mut events = vec![EpollEvent::empty(); 64];
        loop {
            let n = match self.epoll.wait(&mut events, self.timeout()) {
                Ok(n) => n,
                Err(Errno::EINTR) => continue,
                Err(e) => {
                    tracing::error!("dns: epoll_wait failed: {e}; the lab's DNS server stops");
                    return;
                }
            };
            for ev in &events[..n] {
                match ev.data() {
                    WAKER => {
                        let _ = self.waker.read();
                        if !self.commands() {
                            return;
                        }
                    }
                    UPSTREAM => self.upstream_readable(),
                    token => self.ready(token, ev.events()),
                }
            }
            self.expire(Instant::now());
        }
    }

    /// How long epoll may sleep: until the next forward or TCP deadline.
    fn timeout(&self) -> EpollTimeout {
        let forward = self
            .forwarder
            .as_ref()
            .and_then(|f| f.expiry.front().map(|e| e.0));
        let tcp = self
            .sockets
            .conns
            .iter()
            .filter_map(|t| match self.sockets.entries.get(t) {
                Some(Entry::Conn(c)) => Some(c.idle_until),
                _ => None,
            })
            .min();
        let Some(next) = forward.into_iter().chain(tcp).min() else {
            return EpollTimeout::NONE;
        };
        // Rounded up, so the loop does not wake just before the deadline and spin.
        let ms = next
            .saturating_duration_since(Instant::now())
            .as_micros()
            .div_ceil(1000);
        EpollTimeout::try_from(ms.min(60_000)).unwrap_or(EpollTimeout::NONE)
    }

    /// Applies queued commands; false once told to stop.
    fn commands(&mut self) -> bool {
        loop {
            match self.commands.try_recv() {
                Ok(Command::Attach {
                    who,
                    udp,
                    tcp,
                    done,
                }) => {
                    let attached = self.attach(who.as_str().into(), udp, tcp);
                    if let Err(e) = &attached {
                        tracing::warn!("dns: {who} not served: {e}");
                    }
                    let _ = done.send(attached);
                }
                Ok(Command::Detach { who, done }) => {
                    self.detach(&who);
                    let _ = done.send(());
                }
                Ok(Command::Stop) | Err(TryRecvError::Disconnected) => return false,
                Err(TryRecvError::Empty) => return true,
            }
        }
    }

    fn attach(&mut self, who: Arc<str>, udp: UdpSocket, tcp: TcpListener) -> Result<()> {
        let udp_token = self.sockets.token();
        let tcp_token = self.sockets.token();
        let add = |fd: std::os::fd::BorrowedFd<'_>, token, what: &str| {
            self.epoll
                .add(fd, EpollEvent::new(EpollFlags::EPOLLIN, token))
                .map_err(|e| Error::kernel("epoll_ctl", format!("DNS {what} of {who}"), e))
        };
        add(udp.as_fd(), udp_token, "UDP socket")?;
        if let Err(e) = add(tcp.as_fd(), tcp_token, "TCP listener") {
            let _ = self.epoll.delete(udp.as_fd());
            return Err(e);
        }
        let entries = &mut self.sockets.entries;
        entries.insert(
            udp_token,
            Entry::Udp {
                who: who.clone(),
                socket: udp,
            },
        );
        entries.insert(tcp_token, Entry::Listener { who, listener: tcp });
        Ok(())
    }

    /// Closes every socket of `who`: its UDP socket, listener and TCP connections.
    fn detach(&mut self, who: &str) {
        let tokens: Vec<u64> = self
            .sockets
            .entries
            .iter()
            .filter(|(_, e)| e.who() == who)
            .map(|(t, _)| *t)
            .collect();
        for token in tokens {
            self.sockets.close(&self.epoll, token);
        }
    }

    fn ready(&mut self, token: u64, flags: EpollFlags) {
        match self.sockets.entries.get(&token) {
            Some(Entry::Udp { .. }) => self.udp_readable(token),
            Some(Entry::Listener { .. }) => self.accept(token),
            Some(Entry::Conn(_)) => self.conn_ready(token, flags),
            None => {}
        }
    }

    fn udp_readable(&mut self, token: u64) {
        for _ in 0..BATCH {
            let Some(Entry::Udp { who, socket }) = self.sockets.entries.get(&token) else {
                return;
            };
            let (len, from) = match socket.recv_from(&mut self.buf) {
                Ok(got) => got,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                // An ICMP error for an earlier answer (the client went away): next one.
                Err(e) => {
                    tracing::debug!("dns: recv from {who}'s UDP socket: {e}");
                    continue;
                }
            };
            let outcome = resolve(&self.shared, who, &self.buf[..len], Transport::Udp);
            let bytes = match outcome {
                Outcome::Reply(bytes) => bytes,
                Outcome::Ignore => continue,
                Outcome::NotInLab(q) => {
                    let client = Client::Udp { token, addr: from };
                    match not_in_lab(&mut self.forwarder, &self.limits, who, client, q) {
                        Some(bytes) => bytes,
                        None => continue,
                    }
                }
            };
            send_udp(socket, &bytes, from);
        }
    }

    fn accept(&mut self, token: u64) {
        for _ in 0..BATCH {
            let Some(Entry::Listener { who, listener }) = self.sockets.entries.get(&token) else {
                return;
            };
            let stream = match listener.accept() {
                Ok((stream, _)) => stream,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) => {
                    tracing::debug!("dns: accept on {who}'s listener: {e}");
                    return;
                }
            };
            if self.sockets.conns.len() >= self.limits.tcp_max {
                tracing::debug!(
                    "dns: {} TCP connections already; a new one from {who} is closed",
                    self.sockets.conns.len()
                );
                continue;
            }
            let who = who.clone();
            if let Err(e) = stream.set_nonblocking(true) {
                tracing::debug!("dns: a TCP connection of {who}: {e}");
                continue;
            }
            // Answers are small and written whole: no reason to wait for an ACK.
            let _ = stream.set_nodelay(true);
            let conn_token = self.sockets.token();
            let interest = EpollFlags::EPOLLIN;
            if let Err(e) = self
                .epoll
                .add(stream.as_fd(), EpollEvent::new(interest, conn_token))
            {
                tracing::debug!("dns: epoll_ctl for a TCP connection of {who}: {e}");
                continue;
            }
            self.sockets.conns.push(conn_token);
            self.sockets.entries.insert(
                conn_token,
                Entry::Conn(Conn {
                    who,
                    stream,
                    input: Vec::new(),
                    output: Vec::new(),
                    idle_until: Instant::now() + self.limits.tcp_idle,
                    eof: false,
                    waiting: 0,
                    interest,
                }),
            );
        }
    }

    fn conn_ready(&mut self, token: u64, flags: EpollFlags) {
        let Some(Entry::Conn(conn)) = self.sockets.entries.get_mut(&token) else {
            return;
        };
        let mut close = flags.intersects(EpollFlags::EPOLLERR | EpollFlags::EPOLLHUP);
        if !close && !conn.eof && flags.contains(EpollFlags::EPOLLIN) {
            close = !read_frames(
                conn,
                token,
                &mut self.buf,
                &self.shared,
                &mut self.forwarder,
                &self.limits,
            );
        }
        if !close {
            close = !conn.settle(&self.epoll, token);
        }
        if close {
            self.sockets.close(&self.epoll, token);
        }
    }

    fn upstream_readable(&mut self) {
        let Some(fwd) = &mut self.forwarder else {
            return;
        };
        for _ in 0..BATCH {
            let (len, from) = match fwd.upstream.socket.recv_from(&mut self.buf) {
                Ok(got) => got,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) => {
                    tracing::debug!("dns: recv from the upstream socket: {e}");
                    continue;
                }
            };
            if from != fwd.upstream.server {
                tracing::debug!("dns: a datagram from {from}, not the upstream; ignored");
                continue;
            }
            let Ok(msg) = Message::from_vec(&self.buf[..len]) else {
                tracing::debug!("dns: an undecodable answer from the upstream; ignored");
                continue;
            };
            let id = msg.metadata.id;
            let Some(bytes) = fwd.pending.get(&id).and_then(|p| p.question.relay(&msg)) else {
                tracing::debug!("dns: an upstream answer matching no pending query; ignored");
                continue;
            };
            if let Some(p) = fwd.pending.remove(&id) {
                tracing::debug!("dns: {} answered by the upstream", p.question.describe());
                self.sockets.deliver(&self.epoll, p.client, &bytes);
            }
        }
    }

    /// SERVFAIL for forwards past their deadline; closes idle TCP connections.
    fn expire(&mut self, now: Instant) {
        if let Some(fwd) = &mut self.forwarder {
            while let Some(&(deadline, id, serial)) = fwd.expiry.front() {
                if deadline > now {
                    break;
                }
                fwd.expiry.pop_front();
                if fwd.pending.get(&id).is_some_and(|p| p.serial == serial) {
                    let p = fwd.pending.remove(&id).expect("just seen");
                    tracing::debug!(
                        "dns: no upstream answer to {} in {:?}; SERVFAIL",
                        p.question.describe(),
                        self.limits.forward_timeout
                    );
                    let bytes = p.question.reply(ResponseCode::ServFail);
                    self.sockets.deliver(&self.epoll, p.client, &bytes);
                }
            }
        }
        let idle: Vec<u64> = self
            .sockets
            .conns
            .iter()
            .copied()
            .filter(|t| {
                matches!(self.sockets.entries.get(t), Some(Entry::Conn(c)) if c.idle_until <= now)
            })
            .collect();
        for token in idle {
            tracing::debug!(
                "dns: a TCP connection idle for {:?}; closed",
                self.limits.tcp_idle
            );
            self.sockets.close(&self.epoll, token);
        }
    }
}

/// Answers `bytes` from `who` with the zone as it is now.
fn resolve(shared: &Mutex<Shared>, who: &str, bytes: &[u8], transport: Transport) -> Outcome {
    let _span = tracing::debug_span!("dns", who).entered();
    let mut shared = shared.lock().unwrap_or_else(PoisonError::into_inner);
    shared.zone.refresh();
    let networks = shared.views.get(who).map(Vec::as_slice).unwrap_or_default();
    answer::answer(bytes, &shared.zone.view(networks), transport)
}

/// A name that is not the lab's: REFUSED at once without an upstream, else forwarded;
/// returns the answer to send now, if any.
fn not_in_lab(
    forwarder: &mut Option<Forwarder>,
    limits: &Limits,
    who: &str,
    client: Client,
    question: Question,
) -> Option<Vec<u8>> {
    let Some(fwd) = forwarder else {
        tracing::debug!(
            "dns: {} from {who} is no lab name and the lab has no upstream; REFUSED",
            question.describe()
        );
        return Some(question.reply(ResponseCode::Refused));
    };
    fwd.forward(client, question, limits).err()
}

impl Forwarder {
    /// Sends `question` upstream under a fresh ID; `Err` holds the SERVFAIL to send
    /// instead when too many wait already or the send fails.
    fn forward(
        &mut self,
        client: Client,
        question: Question,
        limits: &Limits,
    ) -> Result<(), Vec<u8>> {
        if self.pending.len() >= limits.in_flight_max {
            tracing::debug!(
                "dns: {} queries wait for the upstream already; SERVFAIL for {}",
                self.pending.len(),
                question.describe()
            );
            return Err(question.reply(ResponseCode::ServFail));
        }
        let id = self.fresh_id();
        let sent = question
            .upstream_query(id)
            .ok_or_else(|| std::io::Error::other("cannot encode"))
            .and_then(|bytes| self.upstream.socket.send_to(&bytes, self.upstream.server));
        if let Err(e) = sent {
            tracing::debug!(
                "dns: forwarding {} to {}: {e}; SERVFAIL",
                question.describe(),
                self.upstream.server
            );
            return Err(question.reply(ResponseCode::ServFail));
        }
        tracing::debug!(
            "dns: {} forwarded to {}",
            question.describe(),
            self.upstream.server
        );
        self.serial += 1;
        // Answered queries leave stale expiry entries until their deadline; at a high rate
        // of quick answers they would pile up, so drop them now and then.
        if self.expiry.len() >= 4 * limits.in_flight_max.max(1) {
            let pending = &self.pending;
            self.expiry
                .retain(|(_, id, s)| pending.get(id).is_some_and(|p| p.serial == *s));
        }
        self.expiry
            .push_back((Instant::now() + limits.forward_timeout, id, self.serial));
        self.pending.insert(
            id,
            Pending {
                client,
                question,
                serial: self.serial,
            },
        );
        Ok(())
    }

    fn fresh_id(&mut self) -> u16 {
        loop {
            self.serial += 1;
            let id = self.ids.hash_one(self.serial) as u16;
            if !self.pending.contains_key(&id) {
                return id;
            }
        }
    }
}

impl Sockets {
    fn token(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    fn close(&mut self, epoll: &Epoll, token: u64) {
        let Some(entry) = self.entries.remove(&token) else {
            return;
        };
        // Dropping the fd would remove it from epoll too; saying so keeps it obvious.
        let _ = match &entry {
            Entry::Udp { socket, .. } => epoll.delete(socket.as_fd()),
            Entry::Listener { listener, .. } => epoll.delete(listener.as_fd()),
            Entry::Conn(c) => {
                self.conns.retain(|t| *t != token);
                epoll.delete(c.stream.as_fd())
            }
        };
    }

    /// Sends a later answer (relayed or SERVFAIL) to `client`, if its socket is still
    /// there.
    fn deliver(&mut self, epoll: &Epoll, client: Client, bytes: &[u8]) {
        match client {
            Client::Udp { token, addr } => {
                if let Some(Entry::Udp { socket, .. }) = self.entries.get(&token) {
                    send_udp(socket, bytes, addr);
                }
            }
            Client::Tcp { token } => {
                let Some(Entry::Conn(conn)) = self.entries.get_mut(&token) else {
                    return;
                };
                conn.waiting = conn.waiting.saturating_sub(1);
                conn.queue(bytes);
                if !conn.settle(epoll, token) {
                    self.close(epoll, token);
                }
            }
        }
    }
}

/// Reads what `conn` has (up to a few buffers), answers every complete frame; false when
/// the connection must close (an error, or too many answers left unread).
fn read_frames(
    conn: &mut Conn,
    token: u64,
    buf: &mut [u8],
    shared: &Mutex<Shared>,
    forwarder: &mut Option<Forwarder>,
    limits: &Limits,
) -> bool {
    for _ in 0..16 {
        let n = match conn.stream.read(&mut buf[..16 << 10]) {
            Ok(0) => {
                conn.eof = true;
                return true;
            }
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => return true,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => {
                tracing::debug!("dns: a TCP connection of {}: {e}", conn.who);
                return false;
            }
        };
        conn.idle_until = Instant::now() + limits.tcp_idle;
        conn.input.extend_from_slice(&buf[..n]);
        while let Some(frame_len) = complete_frame(&conn.input) {
            let frame = &conn.input[2..2 + frame_len];
            let bytes = match resolve(shared, &conn.who, frame, Transport::Tcp) {
                Outcome::Reply(bytes) => Some(bytes),
                Outcome::Ignore => None,
                Outcome::NotInLab(q) => {
                    let client = Client::Tcp { token };
                    let now = not_in_lab(forwarder, limits, &conn.who, client, q);
                    if now.is_none() {
                        conn.waiting += 1;
                    }
                    now
                }
            };
            conn.input.drain(..2 + frame_len);
            if let Some(bytes) = bytes {
                conn.queue(&bytes);
            }
            if conn.output.len() > limits.tcp_out_max {
                tracing::debug!(
                    "dns: {} leaves its TCP answers unread; connection closed",
                    conn.who
                );
                return false;
            }
        }
    }
    true
}

/// The length of the first frame of `input` when all of it is there.
fn complete_frame(input: &[u8]) -> Option<usize> {
    let len = usize::from(u16::from_be_bytes([*input.first()?, *input.get(1)?]));
    (input.len() >= 2 + len).then_some(len)
}

impl Conn {
    /// Adds one answer with its 2-byte length.
    fn queue(&mut self, bytes: &[u8]) {
        // answer::encode keeps every message within TCP_MAX, so the length fits.
        let Ok(len) = u16::try_from(bytes.len()) else {
            return;
        };
        self.output.extend_from_slice(&len.to_be_bytes());
        self.output.extend_from_slice(bytes);
    }

    /// Writes what it can and registers the interest left (more input unless the client
    /// is done, output while some is left); false when the connection must close.
    fn settle(&mut self, epoll: &Epoll, token: u64) -> bool {
        while !self.output.is_empty() {
            match nix::sys::socket::send(
                self.stream.as_raw_fd(),
                &self.output,
                MsgFlags::MSG_NOSIGNAL | MsgFlags::MSG_DONTWAIT,
            ) {
                Ok(n) => {
                    self.output.drain(..n);
                }
                Err(Errno::EAGAIN) => break,
                Err(Errno::EINTR) => continue,
                Err(e) => {
                    tracing::debug!("dns: writing to a TCP connection of {}: {e}", self.who);
                    return false;
                }
            }
        }
        if self.eof && self.output.is_empty() && self.waiting == 0 {
            return false;
        }
        let mut interest = EpollFlags::empty();
        if !self.eof {
            interest |= EpollFlags::EPOLLIN;
        }
        if !self.output.is_empty() {
            interest |= EpollFlags::EPOLLOUT;
        }
        if interest != self.interest {
            let mut event = EpollEvent::new(interest, token);
            if epoll.modify(self.stream.as_fd(), &mut event).is_err() {
                return false;
            }
            self.interest = interest;
        }
        true
    }
}

fn send_udp(socket: &UdpSocket, bytes: &[u8], to: SocketAddr) {
    // Non-blocking: a full send buffer drops the answer, as the network could have.
    if let Err(e) = socket.send_to(bytes, to) {
        tracing::debug!("dns: answer to {to}: {e}");
    }
}
