//! AF_PACKET sockets that carry whole Ethernet frames of one interface, for the link
//! emulator (`crate::emu`).
//!
//! Each socket is `SOCK_RAW` with `ETH_P_ALL`, bound to one interface of the namespace of
//! the thread that opened it (a socket stays in that namespace wherever it is used later),
//! and:
//!
//! - `PACKET_IGNORE_OUTGOING`: the relay sends on the same interfaces it listens on; without
//!   this every frame it sends would come back to it as an outgoing copy;
//! - `PACKET_VNET_HDR`: every frame read or written starts with a `struct virtio_net_hdr`
//!   (10 bytes, see `crate::emu::vnet`). On a veth the kernel hands up TCP super-frames of
//!   up to 64 KiB (GSO/TSO: the segmentation is deferred until a device needs it) with a
//!   checksum still to be computed; the header carries that offload state through user
//!   space, so the frame can be sent on unchanged instead of failing with EMSGSIZE;
//! - `PACKET_QDISC_BYPASS`: sends go straight to the device; a veth has no queue to keep
//!   anyway, and the emulator keeps its own.
//!
//! The socket is non-blocking; [`PacketSocket::wait`] sleeps until a frame arrives or a
//! deadline passes (`ppoll`, with nanosecond timeouts the emulator's timer relies on).

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use crate::error::{Error, Result};

/// Socket buffers asked for (the kernel's defaults, ~200 KiB, hold few 64 KiB frames).
const BUFFER_BYTES: libc::c_int = 8 << 20;

/// `ETH_P_ALL` in network byte order, as `socket` and `sockaddr_ll` want it.
fn eth_p_all() -> u16 {
    (libc::ETH_P_ALL as u16).to_be()
}

/// An AF_PACKET socket bound to one interface; see the module's text for its options.
#[derive(Debug)]
pub struct PacketSocket {
    fd: OwnedFd,
    ifname: String,
}

impl PacketSocket {
    /// Opens a socket on interface `ifname` of the calling thread's network namespace.
    pub fn open(ifname: &str) -> Result<PacketSocket> {
        let index = nix::net::if_::if_nametoindex(ifname)
            .map_err(|e| Error::kernel("if_nametoindex", ifname, e))?;
        // Protocol 0 at first: a socket created with ETH_P_ALL receives from every
        // interface of the namespace until `bind` narrows it to one.
        // SAFETY: plain syscall with constant arguments; the result is checked below.
        let raw = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
                0,
            )
        };
        if raw < 0 {
            return Err(Error::kernel(
                "socket AF_PACKET",
                ifname,
                nix::Error::last(),
            ));
        }
        // SAFETY: `raw` is a fresh, valid fd that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let sock = PacketSocket {
            fd,
            ifname: ifname.to_string(),
        };
        sock.set_int(
            libc::SOL_PACKET,
            libc::PACKET_VNET_HDR,
            1,
            "PACKET_VNET_HDR",
        )?;
        sock.set_int(
            libc::SOL_PACKET,
            libc::PACKET_IGNORE_OUTGOING,
            1,
            "PACKET_IGNORE_OUTGOING",
        )?;
        sock.set_int(
            libc::SOL_PACKET,
            libc::PACKET_QDISC_BYPASS,
            1,
            "PACKET_QDISC_BYPASS",
        )?;
        // The FORCE variants pass the sysctl caps (root only); fall back to what is allowed.
        if sock
            .set_int(libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, BUFFER_BYTES, "")
            .is_err()
        {
            sock.set_int(libc::SOL_SOCKET, libc::SO_RCVBUF, BUFFER_BYTES, "SO_RCVBUF")?;
        }
        if sock
            .set_int(libc::SOL_SOCKET, libc::SO_SNDBUFFORCE, BUFFER_BYTES, "")
            .is_err()
        {
            sock.set_int(libc::SOL_SOCKET, libc::SO_SNDBUF, BUFFER_BYTES, "SO_SNDBUF")?;
        }
        // SAFETY: an all-zero sockaddr_ll is a valid value of that plain C struct.
        let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        addr.sll_family = libc::AF_PACKET as u16;
        addr.sll_protocol = eth_p_all();
        addr.sll_ifindex = index as i32;
        // SAFETY: `addr` is a valid sockaddr_ll and the length given is its size.
        let rc = unsafe {
            libc::bind(
                sock.fd.as_raw_fd(),
                (&raw const addr).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(Error::kernel("bind AF_PACKET", ifname, nix::Error::last()));
        }
        Ok(sock)
    }

    fn set_int(&self, level: i32, name: i32, value: libc::c_int, what: &str) -> Result<()> {
        // SAFETY: `value` is a c_int that outlives the call, and its size is passed.
        let rc = unsafe {
            libc::setsockopt(
                self.fd.as_raw_fd(),
                level,
                name,
                (&raw const value).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(Error::kernel(
                format!("setsockopt {what}"),
                &self.ifname,
                nix::Error::last(),
            ));
        }
        Ok(())
    }

    /// The interface the socket is bound to.
    pub fn ifname(&self) -> &str {
        &self.ifname
    }

    /// Sleeps until a frame can be read (`true`) or `timeout` has passed (`false`).
    pub fn wait(&self, timeout: Duration) -> Result<bool> {
        self.poll(libc::POLLIN, timeout)
    }

    fn poll(&self, events: libc::c_short, timeout: Duration) -> Result<bool> {
        let mut pfd = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events,
            revents: 0,
        };
        let ts = libc::timespec {
            tv_sec: timeout.as_secs() as libc::time_t,
            tv_nsec: timeout.subsec_nanos() as libc::c_long,
        };
        // SAFETY: one valid pollfd, a valid timespec, no signal mask (null).
        let rc = unsafe { libc::ppoll(&raw mut pfd, 1, &raw const ts, std::ptr::null()) };
        if rc < 0 {
            let e = nix::Error::last();
            if e == nix::Error::EINTR {
                return Ok(false);
            }
            return Err(Error::kernel("ppoll", &self.ifname, e));
        }
        if pfd.revents & (libc::POLLERR | libc::POLLNVAL) != 0 {
            return Err(Error::kernel("ppoll", &self.ifname, nix::Error::EIO));
        }
        Ok(rc > 0)
    }

    /// Reads one frame (with its virtio_net_hdr in front) into `buf`; `None` when no frame
    /// is waiting. A frame longer than `buf` is an error (EMSGSIZE), never a cut frame.
    pub fn recv(&self, buf: &mut [u8]) -> Result<Option<usize>> {
        // SAFETY: `buf` is valid for writes of its length for the whole call.
        let n = unsafe {
            libc::recv(
                self.fd.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_TRUNC,
            )
        };
        if n < 0 {
            let e = nix::Error::last();
            if e == nix::Error::EAGAIN || e == nix::Error::EINTR {
                return Ok(None);
            }
            return Err(Error::kernel("recv AF_PACKET", &self.ifname, e));
        }
        let n = n as usize;
        if n > buf.len() {
            return Err(Error::kernel(
                "recv AF_PACKET (frame larger than the buffer)",
                &self.ifname,
                nix::Error::EMSGSIZE,
            ));
        }
        Ok(Some(n))
    }

    /// Sends one frame (with its virtio_net_hdr in front) out of the interface. When the
    /// socket's buffer is full it waits for room for up to `patience`, then gives up with
    /// EAGAIN.
    pub fn send(&self, frame: &[u8], patience: Duration) -> Result<()> {
        let mut waited = false;
        loop {
            // SAFETY: `frame` is valid for reads of its length for the whole call.
            let n = unsafe {
                libc::send(
                    self.fd.as_raw_fd(),
                    frame.as_ptr().cast(),
                    frame.len(),
                    libc::MSG_DONTWAIT,
                )
            };
            if n >= 0 {
                return Ok(());
            }
            let e = nix::Error::last();
            match e {
                nix::Error::EINTR => continue,
                // Once only: a socket that stays full after `patience` is stuck.
                nix::Error::EAGAIN if !waited && !patience.is_zero() => {
                    waited = true;
                    self.poll(libc::POLLOUT, patience)?;
                }
                _ => return Err(Error::kernel("send AF_PACKET", &self.ifname, e)),
            }
        }
    }
}
