//! Throwaway namespaces to try a relay in, for netlab's own tests and benchmarks:
//!
//! ```text
//! relayed: A [eth0 10.9.0.1/24] -- veth -- hub [a   relay   b] -- veth -- B [eth0 10.9.0.2/24]
//! direct:  A [eth0 10.9.0.1/24] ------------- veth ------------------------- B [eth0 10.9.0.2/24]
//! ```
//!
//! Every namespace is created here and held only by the returned fds, so everything in
//! it vanishes when the [`Testbed`] is dropped; nothing touches the calling namespace.

use std::net::Ipv4Addr;
use std::os::fd::OwnedFd;

use crate::error::Result;
use crate::model::Ipv4Net;
use crate::net::{addr, link};
use crate::sys::nsfd::{create_net, in_netns};
use crate::sys::rtnl::Rtnl;
use crate::sys::sysctl;

/// A's address.
pub const A_IP: Ipv4Addr = Ipv4Addr::new(10, 9, 0, 1);
/// B's address.
pub const B_IP: Ipv4Addr = Ipv4Addr::new(10, 9, 0, 2);

/// The namespaces of a test bed.
#[derive(Debug)]
pub struct Testbed {
    /// Namespace A, with `eth0` at [`A_IP`].
    pub a: OwnedFd,
    /// Namespace B, with `eth0` at [`B_IP`].
    pub b: OwnedFd,
    /// The namespace between them with interfaces `a` (towards A) and `b` (towards B),
    /// both up and without addresses; `None` for a direct veth.
    pub hub: Option<OwnedFd>,
}

/// A namespace with IPv6 off for new interfaces (no router or DAD chatter on the link).
fn quiet_net() -> Result<OwnedFd> {
    Ok(create_net(|| {
        sysctl::ipv6_off_for_new_interfaces()?;
        let mut nl = Rtnl::open()?;
        nl.batch(vec![link::set_up(1, "lo")])
    })?
    .0)
}

/// `ip addr add IP/24 dev eth0; ip link set eth0 up` in `net`.
fn address(net: &OwnedFd, ip: Ipv4Addr) -> Result<()> {
    in_netns(net, || {
        let mut nl = Rtnl::open()?;
        let index = link::index(&mut nl, "eth0")?.expect("eth0 was just created");
        nl.batch(vec![
            addr::add(index, Ipv4Net::new(ip, 24)?, "eth0"),
            link::set_up(index, "eth0"),
        ])
    })
}

/// `ip addr add IP/24 dev eth0` in `net` (A or B of a test bed): a second address, for
/// rules that match some peers only.
pub fn add_address(net: &OwnedFd, ip: Ipv4Addr) -> Result<()> {
    in_netns(net, || {
        let mut nl = Rtnl::open()?;
        let index = link::index(&mut nl, "eth0")?.expect("the test bed has eth0");
        nl.batch(vec![addr::add(index, Ipv4Net::new(ip, 24)?, "eth0")])
    })
}

impl Testbed {
    /// A and B joined through the hub's `a` and `b`, for a relay to run between.
    pub fn relayed() -> Result<Testbed> {
        let a = quiet_net()?;
        let b = quiet_net()?;
        let hub = quiet_net()?;
        in_netns(&hub, || {
            let mut nl = Rtnl::open()?;
            nl.batch(vec![
                link::add_veth_into("a", "eth0", &a, None, None),
                link::add_veth_into("b", "eth0", &b, None, None),
            ])
        })?;
        address(&a, A_IP)?;
        address(&b, B_IP)?;
        Ok(Testbed {
            a,
            b,
            hub: Some(hub),
        })
    }

    /// A and B on the two ends of one veth, the baseline a relay is measured against.
    pub fn direct() -> Result<Testbed> {
        let b = quiet_net()?;
        let a = quiet_net()?;
        in_netns(&a, || {
            let mut nl = Rtnl::open()?;
            nl.batch(vec![link::add_veth_into("eth0", "eth0", &b, None, None)])
        })?;
        address(&a, A_IP)?;
        address(&b, B_IP)?;
        Ok(Testbed { a, b, hub: None })
    }
}
