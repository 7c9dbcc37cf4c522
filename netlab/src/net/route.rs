//! `ip route`.

use std::net::Ipv4Addr;

use netlink_packet_route::route::RouteMessage;
use rtnetlink::{Handle, RouteMessageBuilder};

use crate::error::{Error, Result};

/// `ip route replace default via GW`: pipework's `@GATEWAY`.
pub async fn replace_default(h: &Handle, gw: Ipv4Addr) -> Result<()> {
    h.route()
        .add(default_msg(gw))
        .replace()
        .execute()
        .await
        .map_err(|e| Error::netlink("ip route replace default via", gw.to_string(), e))
}

/// `ip route add default via GW` as a request (for a batch, or `replace`d).
pub fn default_msg(gw: Ipv4Addr) -> RouteMessage {
    RouteMessageBuilder::<Ipv4Addr>::new().gateway(gw).build()
}
