//! `ip route`.

use std::net::Ipv4Addr;

use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::route::RouteMessage;
use rtnetlink::RouteMessageBuilder;
use rtnetlink::packet_core::{NLM_F_ACK, NLM_F_CREATE, NLM_F_REPLACE, NLM_F_REQUEST};

use crate::sys::rtnl::Request;

fn default_msg(gw: Ipv4Addr) -> RouteMessage {
    RouteMessageBuilder::<Ipv4Addr>::new().gateway(gw).build()
}

/// `ip route add default via GW`.
pub fn add_default(gw: Ipv4Addr) -> Request {
    Request::create(
        RouteNetlinkMessage::NewRoute(default_msg(gw)),
        "ip route add default via",
        gw.to_string(),
    )
}

/// `ip route replace default via GW`: pipework's `@GATEWAY`.
pub fn replace_default(gw: Ipv4Addr) -> Request {
    Request::with_flags(
        RouteNetlinkMessage::NewRoute(default_msg(gw)),
        NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE,
        "ip route replace default via",
        gw.to_string(),
    )
}
