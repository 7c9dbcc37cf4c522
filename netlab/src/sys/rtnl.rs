//! A blocking route-netlink socket that sends several requests in one `sendmsg` and then
//! collects their acknowledgements.
//!
//! Bringing a container up takes a handful of requests (the veth, `lo` up, the address,
//! the route). Sent one by one through the async handle, each costs a round trip through
//! the runtime's threads; here a namespace thread sends them as one batch and reads the
//! answers itself. The kernel handles the messages of a batch in order, so a later request
//! may depend on an earlier one (the default route on the address).

use netlink_packet_route::RouteNetlinkMessage;
use rtnetlink::packet_core::{
    NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST, NetlinkMessage, NetlinkPayload,
};
use rtnetlink::sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};

use crate::error::{Error, Result};

/// One request of a batch, with what to say when it fails.
pub struct Request {
    msg: RouteNetlinkMessage,
    flags: u16,
    op: &'static str,
    object: String,
}

impl Request {
    /// A request that creates something (`ip link add`, `ip addr add`, `ip route add`):
    /// refused when it exists already.
    pub fn create(msg: RouteNetlinkMessage, op: &'static str, object: impl Into<String>) -> Self {
        Request {
            msg,
            flags: NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
            op,
            object: object.into(),
        }
    }

    /// A request that changes something that exists (`ip link set`), or asks for one
    /// object (`ip link show NAME`).
    pub fn change(msg: RouteNetlinkMessage, op: &'static str, object: impl Into<String>) -> Self {
        Request {
            msg,
            flags: NLM_F_REQUEST | NLM_F_ACK,
            op,
            object: object.into(),
        }
    }

    /// A request with flags of its own (`ip route replace`: create or replace).
    pub fn with_flags(
        msg: RouteNetlinkMessage,
        flags: u16,
        op: &'static str,
        object: impl Into<String>,
    ) -> Self {
        Request {
            msg,
            flags,
            op,
            object: object.into(),
        }
    }

    /// A request for every object of a kind (`ip link show`, `ip addr show`).
    pub fn dump(msg: RouteNetlinkMessage, op: &'static str, object: impl Into<String>) -> Self {
        Request {
            msg,
            flags: NLM_F_REQUEST | NLM_F_DUMP,
            op,
            object: object.into(),
        }
    }
}

#[cfg(test)]
impl Request {
    /// The message, for a fake kernel in unit tests to interpret.
    pub fn message(&self) -> &RouteNetlinkMessage {
        &self.msg
    }

    /// `ip link add type veth` and the like, for messages and fakes.
    pub fn op(&self) -> &'static str {
        self.op
    }

    /// The object acted on, as messages name it.
    pub fn object(&self) -> &str {
        &self.object
    }
}

/// The kernel's route-netlink interface as the supervisor uses it: batches of changes and
/// queries, in one namespace. [`Rtnl`] is the real one; unit tests of the supervisor's
/// plans use a recording fake, so rollback logic is tested without root.
pub trait Netlink {
    /// Sends every request in one write and waits for all the answers; the first failure
    /// in request order is the error.
    fn batch(&mut self, reqs: Vec<Request>) -> Result<()>;
    /// Sends one request and returns the kernel's answers.
    fn query(&mut self, req: Request) -> Result<Vec<RouteNetlinkMessage>>;
    /// The index of link `name`, when the calling thread is in this socket's namespace
    /// and can ask without netlink (`if_nametoindex`); `None` to ask over netlink.
    fn local_index(&mut self, _name: &str) -> Option<Result<Option<u32>>> {
        None
    }
}

impl Netlink for Rtnl {
    fn batch(&mut self, reqs: Vec<Request>) -> Result<()> {
        Rtnl::batch(self, reqs)
    }

    fn query(&mut self, req: Request) -> Result<Vec<RouteNetlinkMessage>> {
        Rtnl::query(self, req)
    }

    /// `if_nametoindex` is an ioctl that takes no lock, while a netlink `RTM_GETLINK`
    /// queues behind the kernel's RTNL lock that every container's bring-up contends for;
    /// usable only from a thread in the socket's own namespace.
    fn local_index(&mut self, name: &str) -> Option<Result<Option<u32>>> {
        let here = std::fs::metadata("/proc/thread-self/ns/net")
            .ok()
            .map(|m| std::os::unix::fs::MetadataExt::ino(&m));
        if here.is_none() || here != self.netns {
            return None;
        }
        Some(match nix::net::if_::if_nametoindex(name) {
            Ok(i) => Ok(Some(i)),
            Err(nix::Error::ENODEV) => Ok(None),
            Err(e) => Err(Error::kernel("if_nametoindex", name, e)),
        })
    }
}

/// A route-netlink socket of the network namespace the calling thread was in when it
/// opened it, wherever it is used later.
pub struct Rtnl {
    sock: Socket,
    seq: u32,
    /// The inode of the network namespace it was opened in.
    netns: Option<u64>,
}

impl std::fmt::Debug for Rtnl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Rtnl")
    }
}

impl Rtnl {
    pub fn open() -> Result<Rtnl> {
        let err = |e: std::io::Error| Error::kernel_io("socket", "NETLINK_ROUTE", &e);
        let mut sock = Socket::new(NETLINK_ROUTE).map_err(err)?;
        sock.bind_auto().map_err(err)?;
        sock.connect(&SocketAddr::new(0, 0)).map_err(err)?;
        let netns = std::fs::metadata("/proc/thread-self/ns/net")
            .ok()
            .map(|m| std::os::unix::fs::MetadataExt::ino(&m));
        Ok(Rtnl {
            sock,
            seq: 0,
            netns,
        })
    }

    /// Sends one request and returns the kernel's answers (one object for a `show NAME`,
    /// all of them for a dump).
    pub fn query(&mut self, req: Request) -> Result<Vec<RouteNetlinkMessage>> {
        let mut out = Vec::new();
        self.exchange(vec![req], |m| out.push(m))?;
        Ok(out)
    }

    /// Sends every request in one write and waits for all the answers. Returns the first
    /// failure in request order (later requests that depended on it fail too, and say
    /// less).
    pub fn batch(&mut self, reqs: Vec<Request>) -> Result<()> {
        self.exchange(reqs, |_| {})
    }

    /// [`Rtnl::batch`], handing every answer that is not an acknowledgement to `answer`.
    fn exchange(
        &mut self,
        reqs: Vec<Request>,
        mut answer: impl FnMut(RouteNetlinkMessage),
    ) -> Result<()> {
        // The kernel answers an empty write with ENODATA; nothing asked, nothing to do.
        if reqs.is_empty() {
            return Ok(());
        }
        let first = self.seq.wrapping_add(1);
        let mut out = Vec::new();
        let mut labels = Vec::with_capacity(reqs.len());
        for r in reqs {
            self.seq = self.seq.wrapping_add(1);
            let mut m = NetlinkMessage::from(r.msg);
            m.header.flags = r.flags;
            m.header.sequence_number = self.seq;
            m.finalize();
            let at = out.len();
            out.resize(at + m.buffer_len(), 0);
            m.serialize(&mut out[at..]);
            labels.push((r.op, r.object));
        }
        self.sock
            .send(&out, 0)
            .map_err(|e| Error::kernel_io("sendmsg", "NETLINK_ROUTE", &e))?;
        let mut answers: Vec<Option<i32>> = vec![None; labels.len()];
        let mut pending = labels.len();
        let mut buf = Vec::with_capacity(64 * 1024);
        while pending > 0 {
            buf.clear();
            self.sock
                .recv(&mut buf, 0)
                .map_err(|e| Error::kernel_io("recvmsg", "NETLINK_ROUTE", &e))?;
            let mut off = 0;
            while off < buf.len() {
                let msg = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&buf[off..]).map_err(
                    |e| Error::Io {
                        op: "netlink answer".into(),
                        message: e.to_string(),
                    },
                )?;
                let len = msg.header.length as usize;
                if len == 0 {
                    break;
                }
                off += (len + 3) & !3;
                let slot = msg.header.sequence_number.wrapping_sub(first) as usize;
                match msg.payload {
                    // The end of a dump: its request is answered.
                    NetlinkPayload::Done(_) => {
                        if let Some(a) = answers.get_mut(slot)
                            && a.is_none()
                        {
                            *a = Some(0);
                            pending -= 1;
                        }
                    }
                    NetlinkPayload::Error(e) => {
                        if let Some(a) = answers.get_mut(slot)
                            && a.is_none()
                        {
                            *a = Some(e.code.map(|c| c.get().abs()).unwrap_or(0));
                            pending -= 1;
                        }
                    }
                    NetlinkPayload::InnerMessage(m) if slot < answers.len() => answer(m),
                    _ => {}
                }
            }
        }
        for (code, (op, object)) in answers.into_iter().zip(labels) {
            if let Some(errno) = code.filter(|c| *c != 0) {
                return Err(Error::kernel(op, object, nix::Error::from_raw(errno)));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::link;
    use crate::sys::nsfd;

    fn root() -> bool {
        nix::unistd::geteuid().is_root()
    }

    /// In a throwaway namespace of its own: a batch that creates a veth and brings `lo`
    /// up works, and a failing request reports its own errno and label.
    #[test]
    fn batch_in_a_scratch_namespace() {
        if !root() {
            eprintln!("skipped: needs root for a scratch network namespace");
            return;
        }
        let (_ns, ()) = nsfd::create_net(|| {
            let mut nl = Rtnl::open()?;
            let own = nsfd::current_net()?;
            nl.batch(vec![
                link::add_veth_into("va0", "vb0", &own, None, None),
                link::set_up(1, "lo"),
            ])?;
            assert!(link::index(&mut nl, "va0")?.is_some());
            assert!(link::index(&mut nl, "vb0")?.is_some());
            assert_eq!(link::index(&mut nl, "nothere")?, None);
            let names: Vec<String> = link::list(&mut nl)?.into_iter().map(|l| l.name).collect();
            for want in ["lo", "va0", "vb0"] {
                assert!(names.iter().any(|n| n == want), "{want} in {names:?}");
            }
            let again = rtnetlink::LinkVeth::new("va0", "vc0").build();
            let err = nl
                .batch(vec![Request::create(
                    RouteNetlinkMessage::NewLink(again),
                    "ip link add",
                    "va0 again",
                )])
                .unwrap_err();
            assert_eq!(err.errno(), Some(libc::EEXIST), "{err}");
            assert!(err.to_string().contains("va0 again"), "{err}");
            Ok(())
        })
        .unwrap();
    }
}
