//! `ip addr`.

use netlink_packet_route::AddressFamily;
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::address::AddressMessage;
use rtnetlink::AddressMessageBuilder;

use crate::error::Result;
use crate::model::Ipv4Net;
use crate::sys::rtnl::{Request, Rtnl};

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

/// `ip -4 addr flush dev INDEX`: removes every IPv4 address of the link, in one batch.
pub fn flush_v4(nl: &mut Rtnl, index: u32, what: &str) -> Result<()> {
    let req = Request::dump(
        RouteNetlinkMessage::GetAddress(AddressMessage::default()),
        "ip addr show",
        what,
    );
    let dels: Vec<Request> = nl
        .query(req)?
        .into_iter()
        .filter_map(|m| match m {
            RouteNetlinkMessage::NewAddress(a)
                if a.header.family == AddressFamily::Inet && a.header.index == index =>
            {
                Some(Request::change(
                    RouteNetlinkMessage::DelAddress(a),
                    "ip addr del",
                    format!("dev {what}"),
                ))
            }
            _ => None,
        })
        .collect();
    nl.batch(dels)
}
