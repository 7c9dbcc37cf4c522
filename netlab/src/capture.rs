//! Capturing packets in a lab ([`Lab::capture`]): a packet socket that the lab's
//! supervisor opens inside a container, the lab host or a LAN machine and passes to this
//! process, which reads it, decodes each frame, keeps those the filter selects, and can
//! write them as pcapng. Nothing needs to be installed in the lab.
//!
//! The CLI's `netlab capture` reads with the same [`Reader`]; the API's [`Capture`] reads
//! on a background thread so a test can run its traffic meanwhile.

use std::collections::HashMap;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::client::Lab;
use crate::error::{Error, Result};
use crate::model::capture::pcapng::{self, Direction};
use crate::model::capture::{Filter, Frame};
use crate::proto::{Request, Response, Target};
use crate::sys::capture::CaptureSocket;

/// Bytes read of a frame at most (tcpdump's default snapshot length): GSO super-frames on
/// veths reach 64 KiB, and more with BIG TCP.
const SNAPLEN: usize = pcapng::SNAPLEN as usize;

/// One captured frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// When the kernel received or sent it: nanoseconds since the Unix epoch.
    pub ns: u64,
    /// The interface, by its name in the captured namespace.
    pub iface: String,
    /// Whether it left through the interface (tcpdump's `Out`) rather than arrived.
    pub outgoing: bool,
    /// Its length on the wire; `data` holds all of it up to 256 KiB.
    pub len: usize,
    /// The bytes, from the Ethernet header on.
    pub data: Vec<u8>,
    /// What its headers say: addresses, ports, protocol, TCP flags.
    pub frame: Frame,
}

impl Packet {
    /// When it was captured.
    pub fn time(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_nanos(self.ns)
    }

    /// The line `netlab capture` prints, like `tcpdump -i any`'s:
    /// `13:20:01.123456 eth0  In  IP 172.17.0.3.41234 > 172.17.0.2.8000: Flags [S], seq 1, length 0`
    /// (time of day in UTC).
    pub fn line(&self) -> String {
        let secs = self.ns / 1_000_000_000;
        let day = secs % 86_400;
        format!(
            "{:02}:{:02}:{:02}.{:06} {:<6} {:<3} {}",
            day / 3600,
            day / 60 % 60,
            day % 60,
            self.ns % 1_000_000_000 / 1000,
            self.iface,
            if self.outgoing { "Out" } else { "In" },
            self.frame.summary(self.len)
        )
    }
}

/// What a capture holds when it ends ([`Capture::stop`]).
#[derive(Debug, Clone)]
pub struct Captured {
    /// The packets the filter selected, in the order the kernel handed them over.
    pub packets: Vec<Packet>,
    /// Frames the kernel dropped because this process did not read fast enough.
    pub dropped: u64,
    interfaces: Vec<(u32, String)>,
    description: String,
}

impl Captured {
    /// Writes the packets as a pcapng file (for Wireshark or `tcpdump -r`), each
    /// interface described with the lab and the container.
    pub fn write_pcapng(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let op = format!("write {}", path.display());
        let file = std::fs::File::create(path).map_err(|e| Error::io(&op, &e))?;
        let mut w = PcapSink::new(BufWriter::new(file), &self.interfaces, &self.description)
            .map_err(|e| Error::io(&op, &e))?;
        for p in &self.packets {
            w.write(p).map_err(|e| Error::io(&op, &e))?;
        }
        w.finish().map_err(|e| Error::io(&op, &e))
    }
}

/// A pcapng file being written as packets come: an interface block for each interface
/// of the capture up front, and for any other (one created meanwhile) at its first packet.
pub(crate) struct PcapSink<W: std::io::Write> {
    w: pcapng::Writer<W>,
    ids: HashMap<String, u32>,
    description: String,
}

impl<W: std::io::Write> PcapSink<W> {
    pub(crate) fn new(
        out: W,
        interfaces: &[(u32, String)],
        description: &str,
    ) -> std::io::Result<Self> {
        let mut s = PcapSink {
            w: pcapng::Writer::new(out)?,
            ids: HashMap::new(),
            description: description.to_string(),
        };
        for (_, name) in interfaces {
            s.id(name)?;
        }
        Ok(s)
    }

    fn id(&mut self, name: &str) -> std::io::Result<u32> {
        if let Some(id) = self.ids.get(name) {
            return Ok(*id);
        }
        let id = self.w.add_interface(name, &self.description)?;
        self.ids.insert(name.to_string(), id);
        Ok(id)
    }

    pub(crate) fn write(&mut self, p: &Packet) -> std::io::Result<()> {
        let id = self.id(&p.iface)?;
        let dir = match p.outgoing {
            true => Direction::Outbound,
            false => Direction::Inbound,
        };
        self.w
            .write_packet(id, p.ns, p.len as u32, &p.data, Some(dir))
    }

    pub(crate) fn finish(self) -> std::io::Result<()> {
        self.w.into_inner().map(drop)
    }
}

/// Reads a capture socket: waits for frames, decodes them, keeps what the filter selects.
pub(crate) struct Reader {
    sock: CaptureSocket,
    names: HashMap<u32, String>,
    filter: Filter,
    buf: Vec<u8>,
}

impl Reader {
    /// The next frame the filter selects, waiting up to `timeout`; `None` when none came.
    pub(crate) fn next(&mut self, timeout: Duration) -> Result<Option<Packet>> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.sock.recv(&mut self.buf)? {
                Some(info) => {
                    let data = &self.buf[..info.caplen];
                    let frame = Frame::parse(data);
                    if !self.filter.matches(&frame) {
                        if Instant::now() >= deadline {
                            return Ok(None);
                        }
                        continue;
                    }
                    let iface = self
                        .names
                        .get(&info.ifindex)
                        .cloned()
                        .unwrap_or_else(|| format!("if{}", info.ifindex));
                    return Ok(Some(Packet {
                        ns: info.ns,
                        iface,
                        outgoing: info.outgoing,
                        len: info.len,
                        data: data.to_vec(),
                        frame,
                    }));
                }
                None => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() || !self.sock.wait(left)? {
                        return Ok(None);
                    }
                }
            }
        }
    }

    /// Frames the kernel dropped so far.
    pub(crate) fn drops(&mut self) -> Result<u64> {
        self.sock.drops()
    }
}

/// A capture socket just opened, with what to call it.
pub(crate) struct Session {
    pub reader: Reader,
    /// The interface captured (`any` for all).
    pub iface: String,
    /// The interfaces to declare in a pcapng file: the one captured, or all for `any`.
    pub interfaces: Vec<(u32, String)>,
    /// `netlab lab NAME, container X` for pcapng's `if_description`.
    pub description: String,
}

/// The wall-clock time in nanoseconds since the Unix epoch, the clock of the kernel's
/// packet timestamps.
pub(crate) fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// Where a target is, in words: `container web`, `the lab host`, `LAN machine lan`.
pub(crate) fn place(target: &Target) -> String {
    match target {
        Target::Host => "the lab host".into(),
        Target::Container(n) => format!("container {n}"),
        Target::Node(n) => format!("LAN machine {n}"),
    }
}

impl Lab {
    /// Opens a capture socket at `target` on `iface` (its main interface when `None`).
    pub(crate) fn open_capture(
        &self,
        target: &Target,
        iface: Option<&str>,
        filter: Filter,
    ) -> Result<Session> {
        let req = Request::Capture {
            target: target.clone(),
            iface: iface.map(str::to_string),
        };
        let conn = self.connect()?;
        let (answer, mut fds) = self.call_on(&conn, &req, &[])?;
        let Response::Capture { iface, interfaces } = answer else {
            return Err(self.unexpected(answer));
        };
        let fd = fds.pop().ok_or_else(|| Error::Supervisor {
            lab: self.name().into(),
            problem: "no capture socket came back".into(),
        })?;
        let declared = match iface.as_str() {
            "any" => interfaces.clone(),
            _ => interfaces
                .iter()
                .filter(|(_, n)| *n == iface)
                .cloned()
                .collect(),
        };
        Ok(Session {
            reader: Reader {
                sock: CaptureSocket::from_fd(fd),
                names: interfaces.into_iter().collect(),
                filter,
                buf: vec![0; SNAPLEN],
            },
            description: format!("netlab lab {}, {}", self.name(), place(target)),
            iface,
            interfaces: declared,
        })
    }

    /// Starts capturing at `target` (a container, the lab host or a LAN machine) on
    /// interface `iface` (`eth0`, or the bridge on the lab host, when `None`; `any` for
    /// all of them), keeping the packets that `filter` selects (tcpdump's words: `tcp
    /// port 27017`, `host 172.17.0.2 and not arp`; everything when `None`).
    ///
    /// Packets are read on a background thread from now on until [`Capture::stop`]. An
    /// unknown target or interface, or a filter that does not parse, is an error and
    /// starts nothing.
    ///
    /// ```no_run
    /// # fn main() -> netlab::Result<()> {
    /// # let lab = netlab::Lab::open("default")?;
    /// use netlab::Target;
    /// let cap = lab
    ///     .capture(&Target::Container("mongodb".into()), None, Some("tcp port 27017"))?
    ///     .keep_on_panic("target/captures");
    /// // ... the web server talks to MongoDB ...
    /// let captured = cap.stop()?;
    /// let syns = captured.packets.iter().filter(|p| p.frame.tcp_flags.is_some_and(|f| f.is_syn()));
    /// assert_eq!(syns.count(), 1, "one connection");
    /// captured.write_pcapng("mongodb.pcapng")?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn capture(
        &self,
        target: &Target,
        iface: Option<&str>,
        filter: Option<&str>,
    ) -> Result<Capture> {
        let filter = Filter::parse(filter.unwrap_or(""))?;
        let Session {
            mut reader,
            iface,
            interfaces,
            description,
        } = self.open_capture(target, iface, filter)?;
        let shared = Arc::new(Inner::default());
        let s = shared.clone();
        let thread = std::thread::Builder::new()
            .name("capture".into())
            .spawn(move || -> Result<()> {
                // Once asked to stop, take what the kernel received until then, even if
                // this reader is behind and still finds it queued; nothing later.
                let mut stop_ns: Option<u64> = None;
                loop {
                    let wait = match stop_ns {
                        Some(_) => Duration::ZERO,
                        None => Duration::from_millis(50),
                    };
                    match (reader.next(wait)?, stop_ns) {
                        (Some(p), Some(end)) if p.ns > end => break,
                        (Some(p), _) => s.packets.lock().unwrap_or_else(|e| e.into_inner()).push(p),
                        (None, Some(_)) => break,
                        (None, None) => {}
                    }
                    if stop_ns.is_none() && s.stop.load(Ordering::SeqCst) {
                        stop_ns = Some(now_ns());
                    }
                }
                let drops = reader.drops()?;
                *s.dropped.lock().unwrap_or_else(|e| e.into_inner()) = drops;
                Ok(())
            })
            .map_err(|e| Error::io("start the capture thread", &e))?;
        tracing::info!(lab = %self.name(), %iface, "capture started");
        Ok(Capture {
            shared,
            thread: Some(thread),
            interfaces,
            description,
            iface,
            place: place(target),
            keep: None,
        })
    }
}

#[derive(Debug, Default)]
struct Inner {
    packets: Mutex<Vec<Packet>>,
    dropped: Mutex<u64>,
    stop: AtomicBool,
}

/// A capture running on a background thread ([`Lab::capture`]); [`Capture::stop`] ends it
/// and returns the packets. Dropping it ends it too.
#[derive(Debug)]
pub struct Capture {
    shared: Arc<Inner>,
    thread: Option<JoinHandle<Result<()>>>,
    interfaces: Vec<(u32, String)>,
    description: String,
    iface: String,
    place: String,
    keep: Option<PathBuf>,
}

impl Capture {
    /// The interface captured (`any` for all of them).
    pub fn iface(&self) -> &str {
        &self.iface
    }

    /// The packets captured so far (a copy; the capture goes on).
    pub fn packets(&self) -> Vec<Packet> {
        self.shared
            .packets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Waits until the packets captured so far satisfy `done` (checked every 10 ms) or
    /// `timeout` passes; returns whether they did.
    pub fn wait_until(&self, timeout: Duration, done: impl Fn(&[Packet]) -> bool) -> bool {
        let end = Instant::now() + timeout;
        loop {
            if done(
                &self
                    .shared
                    .packets
                    .lock()
                    .unwrap_or_else(|e| e.into_inner()),
            ) {
                return true;
            }
            if Instant::now() >= end {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// When this capture is dropped while its thread panics (a failing test), it is
    /// saved as a pcapng file in `dir` (created if needed), and the path is printed.
    pub fn keep_on_panic(mut self, dir: impl Into<PathBuf>) -> Self {
        self.keep = Some(dir.into());
        self
    }

    /// Stops capturing (after taking what the kernel has queued already) and returns the
    /// packets and the kernel's drop count.
    pub fn stop(mut self) -> Result<Captured> {
        self.finish()
    }

    fn finish(&mut self) -> Result<Captured> {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            t.join().map_err(|_| Error::Io {
                op: "capture thread".into(),
                message: "panicked".into(),
            })??;
        }
        Ok(Captured {
            packets: std::mem::take(
                &mut *self
                    .shared
                    .packets
                    .lock()
                    .unwrap_or_else(|e| e.into_inner()),
            ),
            dropped: *self
                .shared
                .dropped
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
            interfaces: self.interfaces.clone(),
            description: self.description.clone(),
        })
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        if self.thread.is_none() {
            return;
        }
        let captured = self.finish();
        let Some(dir) = self.keep.take() else { return };
        if !std::thread::panicking() {
            return;
        }
        static SEQ: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let name = format!(
            "{}-{}-{}-{}.pcapng",
            self.place.replace(' ', "-"),
            self.iface,
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        let path = dir.join(name);
        let saved = captured.and_then(|c| {
            std::fs::create_dir_all(&dir).map_err(|e| Error::io("create capture folder", &e))?;
            c.write_pcapng(&path).map(|()| c.packets.len())
        });
        match saved {
            Ok(n) => eprintln!(
                "netlab: the test panicked; the capture of {} on {} ({n} packets) is in {}",
                self.iface,
                self.place,
                path.display()
            ),
            Err(e) => eprintln!("netlab: the test panicked; saving its capture failed: {e}"),
        }
    }
}
