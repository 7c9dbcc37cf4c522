//! `ip addr`.

use std::net::IpAddr;

use futures::TryStreamExt;
use netlink_packet_route::AddressFamily;
use netlink_packet_route::RouteNetlinkMessage;
use rtnetlink::{AddressMessageBuilder, Handle};

use crate::error::{Error, Result};
use crate::model::Ipv4Net;
use crate::sys::rtnl::Request;

/// `ip addr add ADDR/PREFIX dev INDEX`.
pub async fn add(h: &Handle, index: u32, net: Ipv4Net, what: &str) -> Result<()> {
    h.address()
        .add(index, IpAddr::V4(net.addr), net.prefix)
        .execute()
        .await
        .map_err(|e| Error::netlink("ip addr add", format!("{net} dev {what}"), e))
}

/// `ip -4 addr flush dev INDEX`: removes every IPv4 address of the link.
pub async fn flush_v4(h: &Handle, index: u32, what: &str) -> Result<()> {
    let addrs: Vec<_> = h
        .address()
        .get()
        .set_link_index_filter(index)
        .execute()
        .try_collect()
        .await
        .map_err(|e| Error::netlink("ip addr show", what, e))?;
    for a in addrs
        .into_iter()
        .filter(|a| a.header.family == AddressFamily::Inet && a.header.index == index)
    {
        h.address()
            .del(a)
            .execute()
            .await
            .map_err(|e| Error::netlink("ip addr del", format!("dev {what}"), e))?;
    }
    Ok(())
}

/// `ip addr add ADDR/PREFIX dev INDEX` as a request for a batch (the same message [`add`]
/// sends).
pub fn add_req(index: u32, net: Ipv4Net, what: &str) -> Request {
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
