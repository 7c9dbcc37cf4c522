//! The packet socket of a capture: AF_PACKET, `SOCK_RAW`, `ETH_P_ALL`, bound to one
//! interface (or to none: every interface of the namespace, tcpdump's `-i any`), with
//! kernel timestamps (`SO_TIMESTAMPNS`) and a large receive buffer.
//!
//! The lab's supervisor opens it on a thread inside the target's network namespace and
//! passes the fd to the client, which reads it: a socket stays in the namespace it was
//! made in, so the client needs no privilege and no `setns`.
//!
//! Frames are recorded as the kernel hands them over. On veths the kernel may hand over
//! TCP super-frames (GSO, up to 64 KiB) that are segmented later, if ever: a capture
//! shows them as one large packet, as tcpdump does on the same interface.

use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use nix::sys::socket::{
    ControlMessageOwned, LinkAddr, MsgFlags, SockaddrLike, recvmsg, setsockopt, sockopt,
};

use crate::error::{Error, Result};

/// Receive buffer asked for: at 100,000 small frames per second, about a second's worth.
const BUFFER_BYTES: libc::c_int = 32 << 20;

/// `sll_pkttype` of a frame this host sent (`PACKET_OUTGOING`).
const PACKET_OUTGOING: u8 = 4;

/// The interfaces of the calling thread's network namespace: (index, name).
pub fn interfaces() -> Result<Vec<(u32, String)>> {
    let list = nix::net::if_::if_nameindex()
        .map_err(|e| Error::kernel("if_nameindex", "network namespace", e))?;
    Ok(list
        .iter()
        .map(|i| (i.index(), i.name().to_string_lossy().into_owned()))
        .collect())
}

/// A frame's metadata, from the socket address and the control messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameInfo {
    /// Bytes in the buffer.
    pub caplen: usize,
    /// The frame's whole length (longer than `caplen` when the buffer was too small).
    pub len: usize,
    /// The interface's index in the socket's namespace.
    pub ifindex: u32,
    /// Whether this host sent it.
    pub outgoing: bool,
    /// Kernel receive time, nanoseconds since the Unix epoch.
    pub ns: u64,
}

/// The kernel's count for a capture socket (`PACKET_STATISTICS`).
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
struct TpacketStats {
    tp_packets: libc::c_uint,
    tp_drops: libc::c_uint,
}

/// A capture socket; see the module's text.
#[derive(Debug)]
pub struct CaptureSocket {
    fd: OwnedFd,
    /// Drops counted so far (the kernel resets its counters at each read).
    drops: u64,
}

impl CaptureSocket {
    /// Opens a capture socket on `ifname` of the calling thread's network namespace, or
    /// on all of its interfaces when `None`.
    pub fn open(ifname: Option<&str>) -> Result<OwnedFd> {
        let what = ifname.unwrap_or("any");
        let index = ifname
            .map(|n| {
                nix::net::if_::if_nametoindex(n).map_err(|e| Error::kernel("if_nametoindex", n, e))
            })
            .transpose()?;
        let proto = (libc::ETH_P_ALL as u16).to_be();
        // Protocol 0 first: the socket takes no frame before `bind` names the protocol
        // and the interface, so a bound capture never starts with another interface's.
        // SAFETY: plain syscall with constant arguments; the result is checked below.
        let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if raw < 0 {
            return Err(Error::kernel("socket AF_PACKET", what, nix::Error::last()));
        }
        // SAFETY: `raw` is a fresh, valid fd that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        setsockopt(&fd, sockopt::ReceiveTimestampns, &true)
            .map_err(|e| Error::kernel("setsockopt SO_TIMESTAMPNS", what, e))?;
        // FORCE passes the sysctl cap (needs CAP_NET_ADMIN in the namespace's user
        // namespace, which a lab's supervisor has, rootless too).
        if setsockopt(&fd, sockopt::RcvBufForce, &(BUFFER_BYTES as usize)).is_err() {
            let _ = setsockopt(&fd, sockopt::RcvBuf, &(BUFFER_BYTES as usize));
        }
        // SAFETY: an all-zero sockaddr_ll is a valid value of that plain C struct.
        let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        addr.sll_family = libc::AF_PACKET as u16;
        addr.sll_protocol = proto;
        addr.sll_ifindex = index.unwrap_or(0) as i32;
        // SAFETY: `addr` is a valid sockaddr_ll and the length given is its size.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&raw const addr).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(Error::kernel("bind AF_PACKET", what, nix::Error::last()));
        }
        Ok(fd)
    }

    /// Takes a socket opened by [`CaptureSocket::open`] (passed over from the supervisor).
    pub fn from_fd(fd: OwnedFd) -> CaptureSocket {
        CaptureSocket { fd, drops: 0 }
    }

    /// Sleeps until a frame can be read (`true`) or `timeout` has passed (`false`); a
    /// signal also ends the wait (`false`).
    pub fn wait(&self, timeout: Duration) -> Result<bool> {
        let mut pfd = [nix::poll::PollFd::new(
            self.fd.as_fd(),
            nix::poll::PollFlags::POLLIN,
        )];
        let ms = u16::try_from(timeout.as_millis()).unwrap_or(u16::MAX);
        match nix::poll::poll(&mut pfd, nix::poll::PollTimeout::from(ms)) {
            Ok(n) => Ok(n > 0),
            Err(nix::Error::EINTR) => Ok(false),
            Err(e) => Err(Error::kernel("poll", "capture socket", e)),
        }
    }

    /// Reads one frame into `buf` without waiting; `None` when none is queued. A frame
    /// longer than `buf` is cut to it (`caplen < len`).
    pub fn recv(&self, buf: &mut [u8]) -> Result<Option<FrameInfo>> {
        let mut iov = [std::io::IoSliceMut::new(buf)];
        let mut space = nix::cmsg_space!(nix::sys::time::TimeSpec);
        let msg = match recvmsg::<LinkAddr>(
            self.fd.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::MSG_TRUNC | MsgFlags::MSG_DONTWAIT,
        ) {
            Ok(m) => m,
            Err(nix::Error::EAGAIN | nix::Error::EINTR) => return Ok(None),
            Err(e) => return Err(Error::kernel("recvmsg", "capture socket", e)),
        };
        let mut ns = 0u64;
        if let Ok(cmsgs) = msg.cmsgs() {
            for c in cmsgs {
                if let ControlMessageOwned::ScmTimestampns(t) = c {
                    ns = (t.tv_sec() as u64) * 1_000_000_000 + t.tv_nsec() as u64;
                }
            }
        }
        let (ifindex, outgoing) = match msg.address {
            Some(a) if a.family() == Some(nix::sys::socket::AddressFamily::Packet) => {
                (a.ifindex() as u32, a.pkttype() == PACKET_OUTGOING)
            }
            _ => (0, false),
        };
        let len = msg.bytes;
        Ok(Some(FrameInfo {
            caplen: len.min(buf.len()),
            len,
            ifindex,
            outgoing,
            ns,
        }))
    }

    /// Frames the kernel dropped for want of buffer space since this socket was taken.
    pub fn drops(&mut self) -> Result<u64> {
        let mut st = TpacketStats::default();
        let mut len = std::mem::size_of::<TpacketStats>() as libc::socklen_t;
        // SAFETY: `st` is a plain C struct of the size given, valid for writes.
        let rc = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_STATISTICS,
                (&raw mut st).cast(),
                &raw mut len,
            )
        };
        if rc < 0 {
            return Err(Error::kernel(
                "getsockopt PACKET_STATISTICS",
                "capture socket",
                nix::Error::last(),
            ));
        }
        self.drops += u64::from(st.tp_drops);
        Ok(self.drops)
    }
}
