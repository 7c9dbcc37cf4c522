//! `ip route`: adding routes, and asking the kernel which route it takes (`ip route get`).

use std::net::Ipv4Addr;

use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteFlags, RouteMessage, RouteScope, RouteType,
};
use rtnetlink::RouteMessageBuilder;
use rtnetlink::packet_core::{NLM_F_ACK, NLM_F_CREATE, NLM_F_REPLACE, NLM_F_REQUEST};

use crate::error::{Error, Result};
use crate::sys::rtnl::{Netlink, Request};

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

/// `ip -6 route add default via GW`.
pub fn add_default6(gw: std::net::Ipv6Addr) -> Request {
    let msg = RouteMessageBuilder::<std::net::Ipv6Addr>::new()
        .gateway(gw)
        .build();
    Request::create(
        RouteNetlinkMessage::NewRoute(msg),
        "ip -6 route add default via",
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

/// What the kernel answered to `ip route get DST` (and `ip route get fibmatch DST`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteGet {
    /// The table the lookup ended in (254 = main, 255 = local).
    pub table: u32,
    /// The matched route's prefix (`0.0.0.0/0` for the default route).
    pub prefix: (Ipv4Addr, u8),
    /// The output interface's index.
    pub oif: Option<u32>,
    /// The gateway, when the route has one.
    pub gateway: Option<Ipv4Addr>,
    /// The source address the kernel would use.
    pub src: Option<Ipv4Addr>,
    /// The destination is an address of this namespace (`local`).
    pub local: bool,
}

fn get_msg(dst: Ipv4Addr, from: Option<Ipv4Addr>, flags: RouteFlags) -> RouteMessage {
    let mut b = RouteMessageBuilder::<Ipv4Addr>::new().destination_prefix(dst, 32);
    if let Some(f) = from {
        b = b.source_prefix(f, 32);
    }
    let mut m = b.build();
    m.header.flags = flags;
    // A query names no table, protocol or scope of its own.
    m.header.table = 0;
    m.header.protocol = Default::default();
    m.header.scope = RouteScope::Universe;
    m.header.kind = Default::default();
    m.attributes
        .retain(|a| matches!(a, RouteAttribute::Destination(_)));
    m
}

/// `ip route get DST`: the kernel's own lookup (`RTM_GETROUTE` with
/// `RTM_F_LOOKUP_TABLE`), then `ip route get fibmatch DST` for the route that matched.
pub fn get(nl: &mut dyn Netlink, dst: Ipv4Addr) -> Result<RouteGet> {
    get_from(nl, dst, None)
}

/// `ip route get DST from SRC`: the lookup for a packet whose source is already chosen
/// (a reply, sent from the address the request came to).
pub fn get_from(nl: &mut dyn Netlink, dst: Ipv4Addr, from: Option<Ipv4Addr>) -> Result<RouteGet> {
    let first = nl.query(Request::change(
        RouteNetlinkMessage::GetRoute(get_msg(dst, from, RouteFlags::LookupTable)),
        "ip route get",
        dst.to_string(),
    ))?;
    let mut out = RouteGet {
        table: 0,
        prefix: (dst, 32),
        oif: None,
        gateway: None,
        src: None,
        local: false,
    };
    let Some(RouteNetlinkMessage::NewRoute(m)) = first.into_iter().next() else {
        return Err(Error::Io {
            op: format!("ip route get {dst}"),
            message: "the kernel answered no route".into(),
        });
    };
    out.table = u32::from(m.header.table);
    out.local = m.header.kind == RouteType::Local;
    for a in &m.attributes {
        match a {
            RouteAttribute::Table(t) => out.table = *t,
            RouteAttribute::Oif(i) => out.oif = Some(*i),
            RouteAttribute::Gateway(RouteAddress::Inet(g)) => out.gateway = Some(*g),
            RouteAttribute::PrefSource(RouteAddress::Inet(s)) => out.src = Some(*s),
            _ => {}
        }
    }
    // A packet whose source is chosen (a reply from a connected socket) keeps it,
    // whatever the route's preferred source.
    if from.is_some() {
        out.src = from;
    }
    let fib = nl.query(Request::change(
        RouteNetlinkMessage::GetRoute(get_msg(
            dst,
            from,
            RouteFlags::LookupTable | RouteFlags::FibMatch,
        )),
        "ip route get fibmatch",
        dst.to_string(),
    ))?;
    if let Some(RouteNetlinkMessage::NewRoute(m)) = fib.into_iter().next() {
        let mut prefix = (Ipv4Addr::UNSPECIFIED, m.header.destination_prefix_length);
        for a in &m.attributes {
            if let RouteAttribute::Destination(RouteAddress::Inet(d)) = a {
                prefix.0 = *d;
            }
        }
        out.prefix = prefix;
    }
    Ok(out)
}
