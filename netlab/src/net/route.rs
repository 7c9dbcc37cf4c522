//! `ip route`.

use std::net::Ipv4Addr;

use netlink_packet_route::route::RouteMessage;
use rtnetlink::{Handle, RouteMessageBuilder};

use crate::error::{Error, Result};

/// `ip route add default via GW`.
pub async fn add_default(h: &Handle, gw: Ipv4Addr) -> Result<()> {
    h.route()
        .add(default_msg(gw))
        .execute()
        .await
        .map_err(|e| Error::netlink("ip route add default via", gw.to_string(), e))
}

/// `ip route replace default via GW`: pipework's `@GATEWAY`.
pub async fn replace_default(h: &Handle, gw: Ipv4Addr) -> Result<()> {
    let msg = RouteMessageBuilder::<Ipv4Addr>::new().gateway(gw).build();
    h.route()
        .add(msg)
        .replace()
        .execute()
        .await
        .map_err(|e| Error::netlink("ip route replace default via", gw.to_string(), e))
}

/// `ip route add default via GW` as a request for a batch.
pub fn default_msg(gw: Ipv4Addr) -> RouteMessage {
    RouteMessageBuilder::<Ipv4Addr>::new().gateway(gw).build()
}
