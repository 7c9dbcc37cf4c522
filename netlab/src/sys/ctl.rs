//! The lab's control socket: an abstract Unix socket `@netlab/<uid>/<lab>/<nonce>`.
//!
//! Abstract sockets vanish with the last process that holds them, so a lab killed with
//! SIGKILL leaves no socket file behind. The socket belongs to the network namespace it
//! was created in, which is the caller's; the lab's own namespaces never see it.
//!
//! Any local user can bind any abstract name, so a name proves nothing. Three rules make
//! posing as somebody else's lab useless:
//! - **The client checks who answers before it sends anything.** [`connect`] reads the
//!   listener's credentials (SO_PEERCRED, recorded by the kernel when the supervisor called
//!   `listen`, and not forgeable by the peer) and refuses a socket whose uid is not the
//!   caller's, naming that uid and pid. No request, environment or fd ever reaches it.
//! - **Names cannot be predicted.** The last part is 128 random bits chosen at creation,
//!   so another user cannot bind a lab's name before the lab does; a squatter can only
//!   bind decoys, which clients skip because of the first rule.
//! - **Creation is serialised by a lock only the user can take**: an `flock` on the user's
//!   private runtime directory ([`UserLock`]). Under it the creator looks for a live lab of
//!   that name held by itself, and binds a fresh name if there is none, so "create if
//!   nobody has" stays atomic. The directory holds no lab state: nothing of a lab is left
//!   on disk after SIGKILL.
//!
//! The supervisor checks the other direction (a client of another uid is refused) in
//! `supervisor::serve`.

use std::io::Read;
use std::os::fd::{AsFd, AsRawFd};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{SocketAddr, UnixListener, UnixStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use nix::sys::socket::{
    AddressFamily, SockFlag, SockType, UnixAddr, connect as nix_connect, socket,
};

use crate::error::{Error, Result};

/// The part of every lab's socket name before the lab's name: `netlab/<uid>/`.
fn user_prefix(uid: u32) -> String {
    format!("netlab/{uid}/")
}

/// The part of a lab's socket name before its nonce: `netlab/<uid>/<lab>/`.
fn lab_prefix(uid: u32, lab: &str) -> String {
    format!("{}{lab}/", user_prefix(uid))
}

/// A fresh, unpredictable socket name for lab `lab` of `uid`.
pub fn fresh_name(uid: u32, lab: &str) -> Result<String> {
    let mut nonce = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut nonce))
        .map_err(|e| Error::io("read /dev/urandom for the control socket's name", &e))?;
    let hex: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
    debug_assert_eq!(hex.len(), NONCE_HEX);
    Ok(format!("{}{hex}", lab_prefix(uid, lab)))
}

fn addr(name: &str) -> Result<SocketAddr> {
    SocketAddr::from_abstract_name(name.as_bytes())
        .map_err(|e| Error::io(format!("socket name @{name}"), &e))
}

/// Who holds a listening socket, as the kernel recorded it at `listen`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer {
    pub pid: i32,
    pub uid: u32,
}

/// A connection to a listener that belongs to the expected user.
#[derive(Debug)]
pub struct Verified {
    pub stream: UnixStream,
    pub peer: Peer,
}

/// What answered at a name.
#[derive(Debug)]
pub enum Probe {
    /// Nothing listens there (any more).
    Gone,
    /// The expected user's listener: safe to talk to.
    Ours(Verified),
    /// Somebody else's listener. The connection was closed without a byte sent.
    Foreign(Peer),
}

/// How long a connect may wait for room in a listener's backlog. A full backlog is what
/// a hostile listener that never accepts looks like, so the wait is bounded.
const BACKLOG_WAIT: Duration = Duration::from_secs(2);

/// Connects to `name` and checks, before anything is sent, that the listener belongs to
/// `uid`. The connect is non-blocking, so a listener that never accepts cannot hang us.
pub fn probe(name: &str, uid: u32) -> Result<Probe> {
    let deadline = Instant::now() + BACKLOG_WAIT;
    let mut pause = Duration::from_micros(200);
    let stream = loop {
        let fd = socket(
            AddressFamily::Unix,
            SockType::Stream,
            SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
            None,
        )
        .map_err(|e| Error::kernel("socket", "AF_UNIX", e))?;
        let to = UnixAddr::new_abstract(name.as_bytes())
            .map_err(|e| Error::kernel("socket name", format!("@{name}"), e))?;
        match nix_connect(fd.as_raw_fd(), &to) {
            Ok(()) => break UnixStream::from(fd),
            Err(nix::Error::ECONNREFUSED | nix::Error::ENOENT) => return Ok(Probe::Gone),
            Err(nix::Error::EAGAIN) if Instant::now() < deadline => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            Err(nix::Error::EAGAIN) => {
                return Err(Error::Supervisor {
                    lab: name.into(),
                    problem: format!(
                        "the control socket @{name} accepted no connection for {BACKLOG_WAIT:?} (its backlog is full)"
                    ),
                });
            }
            Err(e) => return Err(Error::kernel("connect", format!("@{name}"), e)),
        }
    };
    let peer = peer(&stream)?;
    if peer.uid != uid {
        return Ok(Probe::Foreign(peer));
    }
    stream
        .set_nonblocking(false)
        .map_err(|e| Error::kernel_io("fcntl O_NONBLOCK", format!("@{name}"), &e))?;
    Ok(Probe::Ours(Verified { stream, peer }))
}

/// Connects to the lab socket `name`, which must belong to `uid`: `Ok(None)` when it is
/// gone, an [`Error::Impostor`] when another user holds it.
pub fn connect(lab: &str, name: &str, uid: u32) -> Result<Option<Verified>> {
    match probe(name, uid)? {
        Probe::Gone => Ok(None),
        Probe::Ours(v) => Ok(Some(v)),
        Probe::Foreign(p) => Err(impostor(lab, name, p, uid)),
    }
}

fn impostor(lab: &str, name: &str, p: Peer, me: u32) -> Error {
    Error::Impostor {
        lab: lab.into(),
        socket: format!("@{name}"),
        uid: p.uid,
        pid: p.pid,
        me,
    }
}

/// Binds the name; `Ok(None)` when somebody holds it already.
pub fn bind(name: &str) -> Result<Option<UnixListener>> {
    match UnixListener::bind_addr(&addr(name)?) {
        Ok(l) => Ok(Some(l)),
        Err(e) if e.raw_os_error() == Some(libc::EADDRINUSE) => Ok(None),
        Err(e) => Err(Error::kernel_io("bind", format!("@{name}"), &e)),
    }
}

/// The peer's pid and uid as the kernel reports them (translated into our namespaces).
pub fn peer(stream: &UnixStream) -> Result<Peer> {
    let c = nix::sys::socket::getsockopt(stream, nix::sys::socket::sockopt::PeerCredentials)
        .map_err(|e| {
            Error::kernel(
                "getsockopt SO_PEERCRED",
                format!("fd {}", stream.as_raw_fd()),
                e,
            )
        })?;
    Ok(Peer {
        pid: c.pid(),
        uid: c.uid(),
    })
}

/// Hex digits of a name's nonce.
const NONCE_HEX: usize = 32;

/// The lab in a socket name `netlab/<uid>/<lab>/<nonce>` of `uid`; `None` for any other
/// name, so that a listener of another form is never even connected to.
fn lab_of(name: &str, uid: u32) -> Option<&str> {
    let rest = name.strip_prefix(&user_prefix(uid))?;
    let (lab, nonce) = rest.split_once('/')?;
    let well_formed = nonce.len() == NONCE_HEX
        && nonce.bytes().all(|b| b.is_ascii_hexdigit())
        && crate::model::names::validate_lab_name(lab).is_ok();
    well_formed.then_some(lab)
}

/// Names of listening abstract sockets that start with `prefix`, from `/proc/net/unix`.
/// Anyone can bind any name, so these are only candidates; [`probe`] says whose they are.
fn listening(prefix: &str) -> Vec<String> {
    let text = std::fs::read_to_string("/proc/net/unix").unwrap_or_default();
    let mut names: Vec<String> = text
        .lines()
        .skip(1)
        .filter_map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            // Listening sockets have the flag __SO_ACCEPTCON; abstract names start with `@`.
            let listening = cols.get(3).is_some_and(|f| *f == "00010000");
            let name = cols.get(7)?.strip_prefix('@')?;
            (listening && name.starts_with(prefix)).then(|| name.to_string())
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

/// What a search for a lab found.
#[derive(Debug, Default)]
pub struct Found {
    /// The lab's own socket, verified, with its name.
    pub ours: Option<(String, Verified)>,
    /// Sockets with the lab's name held by other users; nothing was sent to them.
    pub foreign: Vec<(String, Peer)>,
}

impl Found {
    /// The error for a lab that was not found: an impostor's, naming it, when one holds
    /// a name of the lab, else "not found".
    pub fn missing(&self, lab: &str, me: u32) -> Error {
        match self.foreign.first() {
            Some((name, p)) => impostor(lab, name, *p, me),
            None => Error::LabNotFound { lab: lab.into() },
        }
    }

    /// Logs the decoys that were skipped, so that an attack does not go unseen.
    pub fn warn_foreign(&self, lab: &str, me: u32) {
        for (name, p) in &self.foreign {
            tracing::warn!("{}", impostor(lab, name, *p, me));
        }
    }
}

/// Looks for the live lab `lab` of `uid` among the sockets that carry its name.
pub fn find(uid: u32, lab: &str) -> Result<Found> {
    let mut found = Found::default();
    for name in listening(&lab_prefix(uid, lab)) {
        if found.ours.is_some() || lab_of(&name, uid) != Some(lab) {
            break;
        }
        match probe(&name, uid)? {
            Probe::Gone => {}
            Probe::Ours(v) => found.ours = Some((name, v)),
            Probe::Foreign(p) => found.foreign.push((name, p)),
        }
    }
    Ok(found)
}

/// The labs of `uid` that have a live control socket held by `uid`, by name; sockets of
/// other users that pose as such labs are logged and left out.
pub fn list_labs(uid: u32) -> Vec<String> {
    let mut labs = Vec::new();
    for name in listening(&user_prefix(uid)) {
        let Some(lab) = lab_of(&name, uid) else {
            continue;
        };
        if labs.iter().any(|l| l == lab) {
            continue;
        }
        match probe(&name, uid) {
            Ok(Probe::Ours(_)) => labs.push(lab.to_string()),
            Ok(Probe::Foreign(p)) => tracing::warn!("{}", impostor(lab, &name, p, uid)),
            Ok(Probe::Gone) => {}
            Err(e) => tracing::warn!("{e}"),
        }
    }
    labs.sort();
    labs
}

/// Calls `listen` again from the supervisor: the kernel records the listener's credentials
/// at `listen` time, and clients read the supervisor's PID from them (SO_PEERCRED), not
/// the PID of the short-lived client that bound the name.
pub fn claim_listener(listener: &impl AsFd) -> Result<()> {
    use nix::sys::socket::{Backlog, listen};
    listen(listener, Backlog::MAXCONN).map_err(|e| Error::kernel("listen", "control socket", e))
}

/// The user's lock on creating labs: an `flock` on the user's private runtime directory,
/// held while a creator looks for an existing lab and binds the new one's name.
#[derive(Debug)]
pub struct UserLock {
    _lock: nix::fcntl::Flock<std::fs::File>,
}

/// How long a creator waits for another creator of the same user. The lock is held for
/// milliseconds; a longer wait means a stopped process holds it.
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// The user's private runtime directory, created if needed: `/run/netlab` for root,
/// `$XDG_RUNTIME_DIR/netlab` when that is set, else `/tmp/netlab-<uid>`. It must be a
/// directory (not a link) owned by the user that only the user can write, or another user
/// could take the lock.
pub fn runtime_dir(uid: u32) -> Result<PathBuf> {
    let dir = if uid == 0 {
        PathBuf::from("/run/netlab")
    } else {
        match std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
            Some(d) => PathBuf::from(d).join("netlab"),
            None => PathBuf::from(format!("/tmp/netlab-{uid}")),
        }
    };
    match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(Error::kernel_io("mkdir", dir.display().to_string(), &e)),
    }
    let meta = std::fs::symlink_metadata(&dir)
        .map_err(|e| Error::kernel_io("stat", dir.display().to_string(), &e))?;
    let mode = meta.permissions().mode();
    if !meta.is_dir() || meta.uid() != uid || mode & 0o022 != 0 {
        return Err(Error::Unsupported {
            problem: format!(
                "{} is not a private directory of yours (it is {} owned by uid {} with mode {:o}); another user could take netlab's lock there",
                dir.display(),
                if meta.is_dir() { "a directory" } else { "not a directory" },
                meta.uid(),
                mode & 0o7777
            ),
            fix: "remove it (as its owner or root), or set XDG_RUNTIME_DIR to a directory only you can write".into(),
        });
    }
    Ok(dir)
}

/// Takes the user's creation lock, waiting at most [`LOCK_WAIT`].
pub fn lock_user(uid: u32) -> Result<UserLock> {
    use nix::fcntl::{Flock, FlockArg};
    let dir = runtime_dir(uid)?;
    let deadline = Instant::now() + LOCK_WAIT;
    let mut pause = Duration::from_micros(200);
    loop {
        let f = std::fs::File::open(&dir)
            .map_err(|e| Error::kernel_io("open", dir.display().to_string(), &e))?;
        match Flock::lock(f, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => return Ok(UserLock { _lock: lock }),
            Err((_, nix::Error::EWOULDBLOCK)) if Instant::now() < deadline => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            Err((_, e)) => {
                return Err(Error::Unsupported {
                    problem: format!(
                        "cannot take netlab's lock on {} within {LOCK_WAIT:?}: {}",
                        dir.display(),
                        e.desc()
                    ),
                    fix: format!(
                        "another netlab command of yours holds it; find it with `fuser -v {}`",
                        dir.display()
                    ),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_names_differ_and_fit_an_abstract_address() {
        let lab = "a".repeat(32);
        let a = fresh_name(4_294_967_295, &lab).unwrap();
        let b = fresh_name(4_294_967_295, &lab).unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with(&lab_prefix(4_294_967_295, &lab)));
        // sun_path has 108 bytes, one of them the leading NUL of an abstract name.
        assert!(a.len() <= 107, "{} bytes", a.len());
        addr(&a).unwrap();
    }

    #[test]
    fn only_names_of_the_labs_form_are_candidates() {
        let nonce = "0123456789abcdef0123456789ABCDEF";
        for (name, lab) in [
            (format!("netlab/0/web/{nonce}"), Some("web")),
            (format!("netlab/7/web/{nonce}"), None),
            ("netlab/0/web".to_string(), None),
            ("netlab/0/web/".to_string(), None),
            (format!("netlab/0/web/{nonce}0"), None),
            (format!("netlab/0/web/{}", "g".repeat(32)), None),
            (format!("netlab/0/-web/{nonce}"), None),
            (format!("netlab/0/a/b/{nonce}"), None),
        ] {
            assert_eq!(lab_of(&name, 0), lab, "{name}");
        }
    }

    #[test]
    fn a_lab_prefix_does_not_match_a_longer_lab_name() {
        assert!(!"netlab/0/ab/00".starts_with(&lab_prefix(0, "a")));
        assert!("netlab/0/a/00".starts_with(&lab_prefix(0, "a")));
    }
}
