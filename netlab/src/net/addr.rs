//! `ip addr`.

use netlink_packet_route::AddressFamily;
use netlink_packet_route::RouteNetlinkMessage;
use std::net::IpAddr;

use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use rtnetlink::AddressMessageBuilder;

use crate::error::Result;
use crate::model::Ipv4Net;
use crate::sys::rtnl::{Netlink, Request};

/// `ip addr add ADDR/PREFIX dev INDEX`.
pub fn add(index: u32, net: Ipv4Net, what: &str) -> Request {
    let msg = AddressMessageBuilder::<std::net::Ipv4Addr>::new()
        .index(index)
        .address(net.addr, net.prefix)
        .build();
    Request::create(
        RouteNetlinkMessage::NewAddress(msg),
        "ip addr add",
        format!("{net} dev {what}"),
    )
}

/// `ip -6 addr add ADDR/PREFIX dev INDEX nodad`: usable at once, without the second of
/// duplicate address detection (the lab's IPAM already guarantees the address is unique).
pub fn add6(index: u32, addr: std::net::Ipv6Addr, prefix: u8, what: &str) -> Request {
    let mut msg = AddressMessageBuilder::<std::net::Ipv6Addr>::new()
        .index(index)
        .address(addr, prefix)
        .build();
    msg.attributes.push(AddressAttribute::Flags(
        netlink_packet_route::address::AddressFlags::Nodad,
    ));
    Request::create(
        RouteNetlinkMessage::NewAddress(msg),
        "ip -6 addr add",
        format!("{addr}/{prefix} dev {what} nodad"),
    )
}

/// The IPv4 addresses of link `index` (`ip -4 addr show dev INDEX`), as the kernel
/// describes them.
fn show_v4(nl: &mut dyn Netlink, index: u32, what: &str) -> Result<Vec<AddressMessage>> {
    let req = Request::dump(
        RouteNetlinkMessage::GetAddress(AddressMessage::default()),
        "ip addr show",
        what,
    );
    Ok(nl
        .query(req)?
        .into_iter()
        .filter_map(|m| match m {
            RouteNetlinkMessage::NewAddress(a)
                if a.header.family == AddressFamily::Inet && a.header.index == index =>
            {
                Some(a)
            }
            _ => None,
        })
        .collect())
}

/// The IPv4 addresses of link `index` with their prefixes (`ip -4 addr show dev INDEX`).
pub fn list_v4(nl: &mut dyn Netlink, index: u32, what: &str) -> Result<Vec<Ipv4Net>> {
    Ok(show_v4(nl, index, what)?
        .into_iter()
        .filter_map(|a| {
            let addr = a.attributes.iter().find_map(|x| match x {
                AddressAttribute::Local(IpAddr::V4(v))
                | AddressAttribute::Address(IpAddr::V4(v)) => Some(*v),
                _ => None,
            })?;
            Some(Ipv4Net {
                addr,
                prefix: a.header.prefix_len,
            })
        })
        .collect())
}

/// Every IPv4 address of the namespace, on whatever link (`ip -4 -o addr show`).
pub fn all_v4(nl: &mut dyn Netlink) -> Result<Vec<std::net::Ipv4Addr>> {
    let req = Request::dump(
        RouteNetlinkMessage::GetAddress(AddressMessage::default()),
        "ip addr show",
        "all links",
    );
    Ok(nl
        .query(req)?
        .into_iter()
        .filter_map(|m| match m {
            RouteNetlinkMessage::NewAddress(a) if a.header.family == AddressFamily::Inet => {
                a.attributes.iter().find_map(|x| match x {
                    AddressAttribute::Local(IpAddr::V4(v))
                    | AddressAttribute::Address(IpAddr::V4(v)) => Some(*v),
                    _ => None,
                })
            }
            _ => None,
        })
        .collect())
}

/// `ip -4 addr flush dev INDEX`: removes every IPv4 address of the link, in one batch.
pub fn flush_v4(nl: &mut dyn Netlink, index: u32, what: &str) -> Result<()> {
    let dels: Vec<Request> = show_v4(nl, index, what)?
        .into_iter()
        .map(|a| {
            Request::change(
                RouteNetlinkMessage::DelAddress(a),
                "ip addr del",
                format!("dev {what}"),
            )
        })
        .collect();
    nl.batch(dels)
}

/// `ip -6 addr flush scope global dev INDEX`: the IPv6 addresses the lab gave, not the
/// link-local one the kernel made.
pub fn flush_v6_global(nl: &mut dyn Netlink, index: u32, what: &str) -> Result<()> {
    let req = Request::dump(
        RouteNetlinkMessage::GetAddress(AddressMessage::default()),
        "ip -6 addr show",
        what,
    );
    let dels: Vec<Request> = nl
        .query(req)?
        .into_iter()
        .filter_map(|m| match m {
            RouteNetlinkMessage::NewAddress(a)
                if a.header.family == AddressFamily::Inet6
                    && a.header.index == index
                    && a.header.scope == netlink_packet_route::address::AddressScope::Universe =>
            {
                Some(Request::change(
                    RouteNetlinkMessage::DelAddress(a),
                    "ip -6 addr del",
                    format!("dev {what}"),
                ))
            }
            _ => None,
        })
        .collect();
    nl.batch(dels)
}
