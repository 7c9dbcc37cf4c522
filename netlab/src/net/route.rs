//! `ip route`.

use std::net::Ipv4Addr;

use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::route::RouteMessage;
use rtnetlink::{Handle, RouteMessageBuilder};

use crate::error::{Error, Result};
use crate::sys::rtnl::Request;

/// `ip route replace default via GW`: pipework's `@GATEWAY`.
pub async fn replace_default(h: &Handle, gw: Ipv4Addr) -> Result<()> {
    h.route()
        .add(default_msg(gw))
        .replace()
        .execute()
        .await
        .map_err(|e| Error::netlink("ip route replace default via", gw.to_string(), e))
}

fn default_msg(gw: Ipv4Addr) -> RouteMessage {
    RouteMessageBuilder::<Ipv4Addr>::new().gateway(gw).build()
}

/// `ip route add default via GW` as a request for a batch.
pub fn add_default_req(gw: Ipv4Addr) -> Request {
    Request::create(
        RouteNetlinkMessage::NewRoute(default_msg(gw)),
        "ip route add default via",
        gw.to_string(),
    )
}
