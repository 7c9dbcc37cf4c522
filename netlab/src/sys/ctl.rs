//! The lab's control socket: an abstract Unix socket `@netlab/<uid>/<lab>`.
//!
//! Abstract sockets vanish with the last process that holds them, so a lab killed with
//! SIGKILL leaves no socket file behind, and binding the name is an atomic "create the lab
//! if nobody has". The socket belongs to the network namespace it was created in, which
//! is the caller's; the lab's own namespaces never see it.

use std::os::fd::AsRawFd;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixListener, UnixStream};

use crate::error::{Error, Result};

pub fn socket_name(uid: u32, lab: &str) -> String {
    format!("netlab/{uid}/{lab}")
}

fn addr(name: &str) -> Result<SocketAddr> {
    SocketAddr::from_abstract_name(name.as_bytes())
        .map_err(|e| Error::io(format!("socket name {name}"), &e))
}

/// Connects to a lab; `Ok(None)` when no lab has that name.
pub fn connect(name: &str) -> Result<Option<UnixStream>> {
    match UnixStream::connect_addr(&addr(name)?) {
        Ok(s) => Ok(Some(s)),
        Err(e)
            if e.raw_os_error() == Some(libc::ECONNREFUSED)
                || e.raw_os_error() == Some(libc::ENOENT) =>
        {
            Ok(None)
        }
        Err(e) => Err(Error::kernel_io("connect", format!("@{name}"), &e)),
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

/// The peer's pid and uid as the kernel reports them (pid translated into our namespace).
pub fn peer(stream: &UnixStream) -> Result<(i32, u32)> {
    let c = nix::sys::socket::getsockopt(stream, nix::sys::socket::sockopt::PeerCredentials)
        .map_err(|e| {
            Error::kernel(
                "getsockopt SO_PEERCRED",
                format!("fd {}", stream.as_raw_fd()),
                e,
            )
        })?;
    Ok((c.pid(), c.uid()))
}

/// Lab names of `uid` that have a live control socket, from `/proc/net/unix`.
pub fn list_labs(uid: u32) -> Vec<String> {
    let prefix = format!("@netlab/{uid}/");
    let text = std::fs::read_to_string("/proc/net/unix").unwrap_or_default();
    let mut labs: Vec<String> = text
        .lines()
        .skip(1)
        .filter_map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            // Listening sockets have state 01 (SS_UNCONNECTED) and flag __SO_ACCEPTCON.
            let path = cols.get(7)?;
            let listening = cols.get(3).is_some_and(|f| *f == "00010000");
            (listening && path.starts_with(&prefix)).then(|| path[prefix.len()..].to_string())
        })
        .collect();
    labs.sort();
    labs.dedup();
    labs
}

/// Calls `listen` again from the supervisor: the kernel records the listener's credentials
/// at `listen` time, and clients read the supervisor's PID from them (SO_PEERCRED), not
/// the PID of the short-lived client that bound the name.
pub fn claim_listener(listener: &impl std::os::fd::AsFd) -> Result<()> {
    use nix::sys::socket::{Backlog, listen};
    listen(listener, Backlog::MAXCONN).map_err(|e| Error::kernel("listen", "control socket", e))
}
