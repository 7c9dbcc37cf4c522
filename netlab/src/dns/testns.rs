//! Throwaway network namespaces for the DNS server's tests and benchmark: nothing but `lo`,
//! up, so 127.0.0.11 can be bound there. Held only by the returned fd: the namespace and
//! every socket in it vanish with the last fd or socket.

use std::os::fd::OwnedFd;

use crate::error::Result;
use crate::net::link;
use crate::sys::nsfd::create_net;
use crate::sys::rtnl::Rtnl;

/// `ip netns add X; ip -n X link set lo up`, without a name in `/run/netns`. Needs root
/// (or a user namespace of one's own).
pub fn loopback_netns() -> Result<OwnedFd> {
    Ok(create_net(|| {
        let mut nl = Rtnl::open()?;
        // `lo` is always index 1 in a new namespace.
        nl.batch(vec![link::set_up(1, "lo")])
    })?
    .0)
}
