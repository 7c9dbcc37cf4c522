//! Length-prefixed JSON messages with file descriptors attached (SCM_RIGHTS).
//!
//! Passing fds lets the supervisor give a process in a lab the client's own terminal, and
//! give the client a socket created inside a lab namespace that it could not enter itself.

use std::io::{IoSlice, IoSliceMut, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;

use nix::sys::socket::{ControlMessage, ControlMessageOwned, MsgFlags, recvmsg, sendmsg};

/// Most fds one message carries.
pub const MAX_FDS: usize = 4;
/// Largest message; a bigger length prefix means a confused peer.
const MAX_LEN: u32 = 64 << 20;

/// Sends `payload` with `fds` attached to its first byte.
pub fn send(stream: &UnixStream, payload: &[u8], fds: &[RawFd]) -> std::io::Result<()> {
    let len =
        u32::try_from(payload.len()).map_err(|_| std::io::Error::other("message too large"))?;
    let header = len.to_be_bytes();
    let iov = [IoSlice::new(&header)];
    let cmsgs: Vec<ControlMessage> = if fds.is_empty() {
        vec![]
    } else {
        vec![ControlMessage::ScmRights(fds)]
    };
    let sent = loop {
        match sendmsg::<()>(
            stream.as_raw_fd(),
            &iov,
            &cmsgs,
            MsgFlags::MSG_NOSIGNAL,
            None,
        ) {
            Err(nix::Error::EINTR) => continue,
            other => break other.map_err(std::io::Error::from)?,
        }
    };
    send_all(stream, &header[sent..])?;
    send_all(stream, payload)
}

/// `write_all` with MSG_NOSIGNAL: a peer that went away gives EPIPE, never SIGPIPE.
fn send_all(stream: &UnixStream, mut buf: &[u8]) -> std::io::Result<()> {
    while !buf.is_empty() {
        match nix::sys::socket::send(stream.as_raw_fd(), buf, MsgFlags::MSG_NOSIGNAL) {
            Ok(n) => buf = &buf[n..],
            Err(nix::Error::EINTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Receives one message and the fds that came with it; `Ok(None)` on a clean EOF.
pub fn recv(stream: &UnixStream) -> std::io::Result<Option<(Vec<u8>, Vec<OwnedFd>)>> {
    let mut header = [0u8; 4];
    let mut fds = Vec::new();
    let got = {
        let mut iov = [IoSliceMut::new(&mut header)];
        let mut space = nix::cmsg_space!([RawFd; MAX_FDS]);
        let msg = loop {
            match recvmsg::<()>(
                stream.as_raw_fd(),
                &mut iov,
                Some(&mut space),
                MsgFlags::MSG_CMSG_CLOEXEC,
            ) {
                Err(nix::Error::EINTR) => continue,
                other => break other.map_err(std::io::Error::from)?,
            }
        };
        for c in msg.cmsgs().map_err(std::io::Error::from)? {
            if let ControlMessageOwned::ScmRights(raw) = c {
                // SAFETY: the kernel just installed these descriptors in our table for us;
                // nothing else owns them.
                fds.extend(
                    raw.into_iter()
                        .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }),
                );
            }
        }
        msg.bytes
    };
    if got == 0 {
        return Ok(None);
    }
    let mut r = stream;
    r.read_exact(&mut header[got..])?;
    let len = u32::from_be_bytes(header);
    if len > MAX_LEN {
        return Err(std::io::Error::other(format!(
            "message of {len} bytes is too large"
        )));
    }
    let mut payload = vec![0u8; len as usize];
    r.read_exact(&mut payload)?;
    Ok(Some((payload, fds)))
}
