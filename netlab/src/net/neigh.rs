//! `ip neigh` and `bridge fdb`: the neighbour table (ARP) and a bridge's forwarding
//! database, both `RTM_GETNEIGH` dumps (`AF_INET` and `AF_BRIDGE`).

use std::net::Ipv4Addr;

use netlink_packet_route::neighbour::{
    NeighbourAddress, NeighbourAttribute, NeighbourMessage, NeighbourState,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use crate::error::Result;
use crate::sys::rtnl::{Netlink, Request};

/// One entry of the neighbour table or of a bridge's FDB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Neigh {
    /// The interface (for an FDB entry: the bridge port, or the bridge itself).
    pub ifindex: u32,
    /// The IPv4 address (neighbour table only).
    pub addr: Option<Ipv4Addr>,
    /// The MAC address.
    pub mac: Option<[u8; 6]>,
    /// The bridge an FDB entry belongs to (`NDA_MASTER`).
    pub master: Option<u32>,
    /// `REACHABLE`, `STALE`, `INCOMPLETE`, `FAILED`, `PERMANENT`, ...
    pub state: String,
    /// A local entry: the address of the bridge or of one of its ports (`permanent`).
    pub permanent: bool,
}

fn dump(nl: &mut dyn Netlink, family: AddressFamily, op: &'static str) -> Result<Vec<Neigh>> {
    let mut m = NeighbourMessage::default();
    m.header.family = family;
    let answers = nl.query(Request::dump(
        RouteNetlinkMessage::GetNeighbour(m),
        op,
        "all",
    ))?;
    Ok(answers
        .into_iter()
        .filter_map(|a| match a {
            RouteNetlinkMessage::NewNeighbour(n) => Some(n),
            _ => None,
        })
        .map(|n| {
            let mut e = Neigh {
                ifindex: n.header.ifindex,
                addr: None,
                mac: None,
                master: None,
                state: state_name(n.header.state),
                permanent: n.header.state == NeighbourState::Permanent,
            };
            for a in n.attributes {
                match a {
                    NeighbourAttribute::Destination(NeighbourAddress::Inet(ip)) => {
                        e.addr = Some(ip)
                    }
                    NeighbourAttribute::LinkLayerAddress(l) if l.len() == 6 => {
                        e.mac = l.try_into().ok()
                    }
                    NeighbourAttribute::Controller(m) => e.master = Some(m),
                    _ => {}
                }
            }
            e
        })
        .collect())
}

fn state_name(s: NeighbourState) -> String {
    match s {
        NeighbourState::Incomplete => "INCOMPLETE".into(),
        NeighbourState::Reachable => "REACHABLE".into(),
        NeighbourState::Stale => "STALE".into(),
        NeighbourState::Delay => "DELAY".into(),
        NeighbourState::Probe => "PROBE".into(),
        NeighbourState::Failed => "FAILED".into(),
        NeighbourState::Noarp => "NOARP".into(),
        NeighbourState::Permanent => "PERMANENT".into(),
        NeighbourState::None => "NONE".into(),
        other => format!("{other:?}"),
    }
}

/// `ip -4 neigh show ADDR dev DEV`: the entry for `addr` on interface `ifindex`, if any.
pub fn get(nl: &mut dyn Netlink, ifindex: u32, addr: Ipv4Addr) -> Result<Option<Neigh>> {
    Ok(dump(nl, AddressFamily::Inet, "ip neigh show")?
        .into_iter()
        .find(|n| n.ifindex == ifindex && n.addr == Some(addr)))
}

/// `bridge fdb show br BRIDGE`, the entries for `mac` (the port's, or the bridge's own).
pub fn fdb(nl: &mut dyn Netlink, bridge: u32, mac: [u8; 6]) -> Result<Vec<Neigh>> {
    Ok(dump(nl, AddressFamily::Bridge, "bridge fdb show")?
        .into_iter()
        .filter(|n| n.mac == Some(mac) && (n.master == Some(bridge) || n.ifindex == bridge))
        .collect())
}

/// `aa:bb:cc:dd:ee:ff`.
pub fn mac_text(mac: [u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}
