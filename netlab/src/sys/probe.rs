//! The one packet `netlab trace` sends: a TCP connect, a UDP datagram or an ICMP echo,
//! from a socket opened in the vantage's namespace (a socket stays in the namespace it
//! was created in, whichever thread uses it later). The socket is bound before anything is
//! sent, so the trace rules can match its source port.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::socket::{
    AddressFamily, MsgFlags, SockFlag, SockProtocol, SockType, SockaddrIn, bind, connect,
    getsockname, getsockopt, recv, send, sendto, sockopt,
};

use crate::error::{Error, Result};

/// How a probe ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// TCP connected, a UDP or echo answer came.
    Answered,
    /// TCP reset, ICMP port unreachable.
    Refused,
    /// ICMP host/net unreachable or a local `EHOSTUNREACH`/`ENETUNREACH`.
    Unreachable,
    /// Nothing within the time.
    Silent,
}

/// A bound probe socket.
#[derive(Debug)]
pub struct Probe {
    fd: OwnedFd,
    kind: Kind,
    /// The source port (TCP, UDP) or the echo identifier (ICMP).
    pub id: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Tcp,
    Udp,
    Icmp,
}

fn sock(ty: SockType, flags: SockFlag, proto: Option<SockProtocol>) -> Result<OwnedFd> {
    nix::sys::socket::socket(
        AddressFamily::Inet,
        ty,
        flags | SockFlag::SOCK_CLOEXEC,
        proto,
    )
    .map_err(|e| Error::kernel("socket", "trace probe", e))
}

impl Probe {
    /// A TCP (`udp` false) or UDP socket bound to an ephemeral port, in the calling
    /// thread's network namespace.
    pub fn ports(udp: bool) -> Result<Probe> {
        let (ty, kind) = match udp {
            false => (SockType::Stream, Kind::Tcp),
            true => (SockType::Datagram, Kind::Udp),
        };
        let fd = sock(ty, SockFlag::SOCK_NONBLOCK, None)?;
        bind(
            fd.as_raw_fd(),
            &SockaddrIn::from(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0)),
        )
        .map_err(|e| Error::kernel("bind", "trace probe", e))?;
        let local: SockaddrIn = getsockname(fd.as_raw_fd())
            .map_err(|e| Error::kernel("getsockname", "trace probe", e))?;
        Ok(Probe {
            fd,
            kind,
            id: local.port(),
        })
    }

    /// A raw ICMP socket for one echo with identifier `id`.
    pub fn echo(id: u16) -> Result<Probe> {
        let fd = sock(
            SockType::Raw,
            SockFlag::SOCK_NONBLOCK,
            Some(SockProtocol::Icmp),
        )?;
        Ok(Probe {
            fd,
            kind: Kind::Icmp,
            id,
        })
    }

    /// Sends the probe to `dst` (`port` ignored for ICMP) and waits up to `patience`, or
    /// until `give_up` says the answer will not come (asked every few milliseconds).
    pub fn run(
        &self,
        dst: Ipv4Addr,
        port: u16,
        patience: Duration,
        give_up: &dyn Fn() -> bool,
    ) -> Result<Outcome> {
        let raw = self.fd.as_raw_fd();
        let to = SockaddrIn::from(SocketAddrV4::new(dst, port));
        let deadline = Instant::now() + patience;
        match self.kind {
            Kind::Tcp => {
                match connect(raw, &to) {
                    Ok(()) => return Ok(Outcome::Answered),
                    Err(Errno::EINPROGRESS) => {}
                    Err(e) => return Ok(classify(e)),
                }
                if !self.wait(PollFlags::POLLOUT, deadline, give_up)? {
                    return Ok(Outcome::Silent);
                }
                let err = getsockopt(&self.fd, sockopt::SocketError)
                    .map_err(|e| Error::kernel("getsockopt SO_ERROR", "trace probe", e))?;
                Ok(match err {
                    0 => Outcome::Answered,
                    e => classify(Errno::from_raw(e)),
                })
            }
            Kind::Udp => {
                connect(raw, &to).map_err(|e| Error::kernel("connect", dst.to_string(), e))?;
                if let Err(e) = send(raw, b"netlab trace\n", MsgFlags::empty()) {
                    return Ok(classify(e));
                }
                let mut buf = [0u8; 512];
                loop {
                    if !self.wait(PollFlags::POLLIN, deadline, give_up)? {
                        return Ok(Outcome::Silent);
                    }
                    match recv(raw, &mut buf, MsgFlags::MSG_DONTWAIT) {
                        Ok(_) => return Ok(Outcome::Answered),
                        Err(Errno::EAGAIN) => continue,
                        Err(e) => return Ok(classify(e)),
                    }
                }
            }
            Kind::Icmp => {
                let mut pkt = [0u8; 24];
                pkt[0] = 8; // echo request
                pkt[4..6].copy_from_slice(&self.id.to_be_bytes());
                pkt[6..8].copy_from_slice(&1u16.to_be_bytes());
                pkt[8..].copy_from_slice(b"netlab trace....");
                let sum = checksum(&pkt);
                pkt[2..4].copy_from_slice(&sum.to_be_bytes());
                if let Err(e) = sendto(raw, &pkt, &to, MsgFlags::empty()) {
                    return Ok(classify(e));
                }
                let mut buf = [0u8; 1500];
                loop {
                    if !self.wait(PollFlags::POLLIN, deadline, give_up)? {
                        return Ok(Outcome::Silent);
                    }
                    let n = match recv(raw, &mut buf, MsgFlags::MSG_DONTWAIT) {
                        Ok(n) => n,
                        Err(Errno::EAGAIN) => continue,
                        Err(e) => return Ok(classify(e)),
                    };
                    // A raw socket hands over the IP header too.
                    let ihl = usize::from(buf[0] & 0x0f) * 4;
                    if n < ihl + 8 {
                        continue;
                    }
                    let icmp = &buf[ihl..n];
                    let from = Ipv4Addr::new(buf[12], buf[13], buf[14], buf[15]);
                    match icmp[0] {
                        0 if from == dst && icmp[4..6] == self.id.to_be_bytes() => {
                            return Ok(Outcome::Answered);
                        }
                        // Unreachable, about our echo (its header follows the error's).
                        3 if icmp.len() >= 8 + 20 + 8 => {
                            let inner = &icmp[8..];
                            let ihl2 = usize::from(inner[0] & 0x0f) * 4;
                            if inner.len() >= ihl2 + 6
                                && inner[ihl2 + 4..ihl2 + 6] == self.id.to_be_bytes()
                            {
                                return Ok(Outcome::Unreachable);
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
    }

    /// Waits for `flags` until `deadline` or `give_up`; false when the time is up.
    fn wait(
        &self,
        flags: PollFlags,
        deadline: Instant,
        give_up: &dyn Fn() -> bool,
    ) -> Result<bool> {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || give_up() {
                return Ok(false);
            }
            let ms = u16::try_from(left.as_millis().clamp(1, 5)).unwrap_or(5);
            let mut fds = [PollFd::new(self.fd.as_fd(), flags)];
            match poll(&mut fds, PollTimeout::from(ms)) {
                Ok(0) => continue,
                Ok(_) => return Ok(true),
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(Error::kernel("poll", "trace probe", e)),
            }
        }
    }
}

fn classify(e: Errno) -> Outcome {
    match e {
        Errno::ECONNREFUSED => Outcome::Refused,
        Errno::EHOSTUNREACH | Errno::ENETUNREACH => Outcome::Unreachable,
        _ => Outcome::Silent,
    }
}

/// The Internet checksum (RFC 1071).
fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for c in data.chunks(2) {
        let w = u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]);
        sum += u32::from(w);
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}
