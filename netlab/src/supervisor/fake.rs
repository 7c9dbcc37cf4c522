//! A fake kernel for unit tests of the supervisor's plans: it keeps what the real one
//! would (links by namespace, veth pairs, addresses, the default route), records every
//! request, and fails the request it is told to, so that each plan can be run with a
//! failure at every one of its steps, without root.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::rc::Rc;

use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::link::{InfoData, InfoVeth, LinkAttribute, LinkInfo, LinkMessage};

use crate::error::{Error, Result};
use crate::sys::rtnl::{Netlink, Request};

/// One namespace's state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NsState {
    /// Link name → its addresses (as `ip addr add` names them).
    pub links: BTreeMap<String, Vec<String>>,
    pub default_gw: Option<Ipv4Addr>,
}

/// One end of a veth: its namespace and name.
type End = (&'static str, String);

/// The kernel: namespaces by name, veth pairs, every request seen, and a failure to inject.
#[derive(Debug, Default)]
pub struct FakeKernel {
    pub ns: BTreeMap<&'static str, NsState>,
    /// The two ends of each veth.
    pairs: Vec<(End, End)>,
    pub requests: Vec<String>,
    /// Fail the request with this number (0 = the first request of the run).
    pub fail_at: Option<usize>,
}

/// A netlink socket of one namespace of a shared [`FakeKernel`]. A veth's peer goes to
/// `peer_ns` (the fake cannot tell namespaces by their fds).
#[derive(Debug, Clone)]
pub struct FakeNs {
    pub kernel: Rc<RefCell<FakeKernel>>,
    pub ns: &'static str,
    pub peer_ns: &'static str,
}

fn ifname(m: &LinkMessage) -> Option<String> {
    m.attributes.iter().find_map(|a| match a {
        LinkAttribute::IfName(n) => Some(n.clone()),
        _ => None,
    })
}

fn veth_peer(m: &LinkMessage) -> Option<String> {
    m.attributes.iter().find_map(|a| match a {
        LinkAttribute::LinkInfo(infos) => infos.iter().find_map(|i| match i {
            LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(p))) => ifname(p),
            _ => None,
        }),
        _ => None,
    })
}

impl FakeKernel {
    /// The index a link has: its position among all links of its namespace, from 1.
    fn index_of(&self, ns: &str, name: &str) -> Option<u32> {
        let pos = self.ns.get(ns)?.links.keys().position(|n| n == name)?;
        Some(pos as u32 + 1)
    }

    fn name_of(&self, ns: &str, index: u32) -> Option<String> {
        self.ns
            .get(ns)?
            .links
            .keys()
            .nth(index.checked_sub(1)? as usize)
            .cloned()
    }

    fn remove_link(&mut self, ns: &'static str, name: &str) {
        if let Some(state) = self.ns.get_mut(ns) {
            state.links.remove(name);
        }
        let mut peers = Vec::new();
        self.pairs.retain(|(a, b)| {
            if a.0 == ns && a.1 == name {
                peers.push(b.clone());
                false
            } else if b.0 == ns && b.1 == name {
                peers.push(a.clone());
                false
            } else {
                true
            }
        });
        for (pns, pname) in peers {
            if let Some(state) = self.ns.get_mut(pns) {
                state.links.remove(&pname);
            }
        }
    }

    fn apply(&mut self, at: &FakeNs, req: &Request) -> Result<Vec<RouteNetlinkMessage>> {
        let n = self.requests.len();
        self.requests
            .push(format!("{}: {} {}", at.ns, req.op(), req.object()));
        let fail = || Error::Kernel {
            op: req.op().into(),
            object: req.object().into(),
            errno: libc::EIO,
            message: "injected failure".into(),
        };
        if self.fail_at == Some(n) {
            return Err(fail());
        }
        let nodev = || Error::Kernel {
            op: req.op().into(),
            object: req.object().into(),
            errno: libc::ENODEV,
            message: "No such device".into(),
        };
        let ns = at.ns;
        match req.message() {
            RouteNetlinkMessage::NewLink(m) if req.op().starts_with("ip link add") => {
                let name = ifname(m).ok_or_else(fail)?;
                let state = self.ns.entry(ns).or_default();
                if state.links.contains_key(&name) {
                    return Err(Error::Kernel {
                        op: req.op().into(),
                        object: req.object().into(),
                        errno: libc::EEXIST,
                        message: "File exists".into(),
                    });
                }
                state.links.insert(name.clone(), vec![]);
                if let Some(peer) = veth_peer(m) {
                    self.ns
                        .entry(at.peer_ns)
                        .or_default()
                        .links
                        .insert(peer.clone(), vec![]);
                    self.pairs.push(((ns, name), (at.peer_ns, peer)));
                }
            }
            RouteNetlinkMessage::DelLink(m) => {
                let name = ifname(m).ok_or_else(fail)?;
                if !self.ns.entry(ns).or_default().links.contains_key(&name) {
                    return Err(nodev());
                }
                self.remove_link(ns, &name);
            }
            RouteNetlinkMessage::NewAddress(a) => {
                let name = self.name_of(ns, a.header.index).ok_or_else(nodev)?;
                if let Some(addrs) = self.ns.entry(ns).or_default().links.get_mut(&name) {
                    addrs.push(req.object().to_string());
                }
            }
            RouteNetlinkMessage::NewRoute(_) => {
                let gw: Ipv4Addr = req.object().parse().map_err(|_| fail())?;
                self.ns.entry(ns).or_default().default_gw = Some(gw);
            }
            RouteNetlinkMessage::GetLink(m) => {
                let name = ifname(m);
                let links: Vec<String> = match &name {
                    Some(n) => {
                        if self.index_of(ns, n).is_none() {
                            return Err(nodev());
                        }
                        vec![n.clone()]
                    }
                    None => self
                        .ns
                        .get(ns)
                        .map(|s| s.links.keys().cloned().collect())
                        .unwrap_or_default(),
                };
                return Ok(links
                    .into_iter()
                    .map(|l| {
                        let mut msg = LinkMessage::default();
                        msg.header.index = self.index_of(ns, &l).unwrap_or(0);
                        msg.attributes.push(LinkAttribute::IfName(l));
                        RouteNetlinkMessage::NewLink(msg)
                    })
                    .collect());
            }
            // `ip link set ... up / master / hairpin`: nothing the tests look at.
            _ => {}
        }
        Ok(vec![])
    }
}

impl Netlink for FakeNs {
    fn batch(&mut self, reqs: Vec<Request>) -> Result<()> {
        let mut k = self.kernel.borrow_mut();
        for r in &reqs {
            k.apply(self, r)?;
        }
        Ok(())
    }

    fn query(&mut self, req: Request) -> Result<Vec<RouteNetlinkMessage>> {
        self.kernel.borrow_mut().apply(self, &req)
    }
}

impl FakeKernel {
    /// A lab host with `docker0` and a container namespace holding `inside` (a new
    /// container's is empty; one that runs has `lo`, `eth0` and its default route).
    pub fn lab(inside: NsState) -> Rc<RefCell<FakeKernel>> {
        let mut k = FakeKernel::default();
        k.ns.insert(
            "host",
            NsState {
                links: [("docker0".to_string(), vec![])].into(),
                default_gw: None,
            },
        );
        k.ns.insert("inside", inside);
        Rc::new(RefCell::new(k))
    }

    /// The lab host's and the container's sockets into `kernel`, a veth's peer going to
    /// the other one.
    pub fn sockets(kernel: &Rc<RefCell<FakeKernel>>) -> (FakeNs, FakeNs) {
        let at = |ns, peer_ns| FakeNs {
            kernel: kernel.clone(),
            ns,
            peer_ns,
        };
        (at("host", "inside"), at("inside", "host"))
    }
}
