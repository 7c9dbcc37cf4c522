//! `ip link`: bridges, veth pairs, up/down, lookups.

use std::os::fd::{AsRawFd, OwnedFd};

use futures::TryStreamExt;
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::link::{
    InfoBridgePort, InfoData, InfoKind, InfoVeth, LinkAttribute, LinkInfo, LinkMessage,
};
use rtnetlink::{Handle, LinkBridge, LinkBridgePort, LinkMessageBuilder, LinkUnspec, LinkVeth};

use crate::error::{Error, Result};
use crate::sys::rtnl::Request;

/// `ip link add NAME address MAC type bridge; ip link set NAME up`; returns its index.
/// A bridge without a MAC of its own takes the lowest of its ports' and changes it as ports
/// come and go (an uplink joining, say), leaving stale neighbour entries behind; Docker
/// gives docker0 a fixed one for the same reason.
pub async fn add_bridge(h: &Handle, name: &str, mac: Option<[u8; 6]>) -> Result<u32> {
    let mut b = LinkBridge::new(name);
    if let Some(m) = mac {
        b = b.address(m.to_vec());
    }
    h.link()
        .add(b.build())
        .execute()
        .await
        .map_err(|e| Error::netlink("ip link add type bridge", name, e))?;
    index(h, name).await?.ok_or_else(|| Error::Io {
        op: format!("ip link show {name}"),
        message: "bridge vanished after creation".into(),
    })
}

/// `ip link add HOST type veth peer name PEER netns NS address MAC; ip link set HOST
/// master BRIDGE up`, in one request. Creating the peer directly inside the target
/// namespace avoids the ~20 ms that moving an interface between namespaces costs.
pub async fn add_veth_into(
    h: &Handle,
    host: &str,
    peer: &str,
    peer_ns: &OwnedFd,
    peer_mac: Option<[u8; 6]>,
    master: Option<u32>,
) -> Result<()> {
    h.link()
        .add(veth_into_msg(host, peer, peer_ns, peer_mac, master))
        .execute()
        .await
        .map_err(|e| Error::netlink("ip link add type veth", format!("{host} (peer {peer})"), e))
}

/// The message of [`add_veth_into`]. The peer stays down: a veth end cannot come up before
/// its pair exists, so the kernel refuses an up flag in the peer's own header (ENOTCONN).
/// Both ends get one queue each instead of one per possible CPU: a lab's veths gain nothing
/// from several, and each queue is a set of sysfs objects the kernel builds under its
/// global RTNL lock (measured: the veth request fell from 1.4 to 0.4 ms on this 2-CPU
/// machine).
fn veth_into_msg(
    host: &str,
    peer: &str,
    peer_ns: &OwnedFd,
    peer_mac: Option<[u8; 6]>,
    master: Option<u32>,
) -> LinkMessage {
    let mut p = LinkMessageBuilder::<LinkUnspec>::new()
        .name(peer.to_string())
        .setns_by_fd(peer_ns.as_raw_fd())
        .append_extra_attribute(LinkAttribute::NumTxQueues(1))
        .append_extra_attribute(LinkAttribute::NumRxQueues(1));
    if let Some(mac) = peer_mac {
        p = p.address(mac.to_vec());
    }
    let mut msg = LinkMessageBuilder::<LinkVeth>::new_with_info_kind(InfoKind::Veth)
        .name(host.to_string())
        .set_info_data(InfoData::Veth(InfoVeth::Peer(p.build())))
        .append_extra_attribute(LinkAttribute::NumTxQueues(1))
        .append_extra_attribute(LinkAttribute::NumRxQueues(1))
        .up();
    if let Some(m) = master {
        msg = msg.controller(m);
    }
    msg.build()
}

/// [`add_veth_into`] as a request for a batch (see [`crate::sys::rtnl`]).
pub fn add_veth_into_req(
    host: &str,
    peer: &str,
    peer_ns: &OwnedFd,
    peer_mac: Option<[u8; 6]>,
    master: Option<u32>,
) -> Request {
    Request::create(
        RouteNetlinkMessage::NewLink(veth_into_msg(host, peer, peer_ns, peer_mac, master)),
        "ip link add type veth",
        format!("{host} (peer {peer})"),
    )
}

fn up_msg(index: u32) -> LinkMessage {
    LinkUnspec::new_with_index(index).up().build()
}

/// [`set_up`] as a request for a batch.
pub fn set_up_req(index: u32, what: &str) -> Request {
    Request::change(
        RouteNetlinkMessage::SetLink(up_msg(index)),
        "ip link set up",
        what,
    )
}

/// `ip link set dev INDEX type bridge_slave hairpin on` as a request for a batch (sent as
/// `RTM_NEWLINK` without `NLM_F_CREATE`): lets the bridge send a frame back out of the port
/// it came in by, which a container needs to reach itself through a port published on the
/// host (Docker sets it on its veths for the same reason).
pub fn set_hairpin_req(index: u32, what: &str) -> Request {
    let msg = LinkBridgePort::new(index)
        .append_info_data(InfoBridgePort::HairpinMode(true))
        .build();
    Request::change(
        RouteNetlinkMessage::NewLink(msg),
        "ip link set type bridge_slave hairpin on",
        what,
    )
}

/// `ip link del NAME` as a request for a batch.
pub fn del_by_name_req(name: &str) -> Request {
    Request::change(
        RouteNetlinkMessage::DelLink(LinkUnspec::new_with_name(name).build()),
        "ip link del",
        name,
    )
}

/// `ip link set dev INDEX up`.
pub async fn set_up(h: &Handle, index: u32, what: &str) -> Result<()> {
    h.link()
        .set(up_msg(index))
        .execute()
        .await
        .map_err(|e| Error::netlink("ip link set up", what, e))
}

/// `ip link set dev INDEX master MASTER`.
pub async fn set_master(h: &Handle, index: u32, master: u32, what: &str) -> Result<()> {
    h.link()
        .set(LinkUnspec::new_with_index(index).controller(master).build())
        .execute()
        .await
        .map_err(|e| Error::netlink("ip link set master", what, e))
}

/// `ip link del dev INDEX`; a link already gone counts as deleted.
pub async fn del(h: &Handle, index: u32, what: &str) -> Result<()> {
    match h.link().del(index).execute().await {
        Ok(()) => Ok(()),
        Err(e) => {
            let err = Error::netlink("ip link del", what, e);
            if err.errno() == Some(libc::ENODEV) {
                Ok(())
            } else {
                Err(err)
            }
        }
    }
}

/// `ip link show NAME` → its index, or `None` when there is no such link.
pub async fn index(h: &Handle, name: &str) -> Result<Option<u32>> {
    let mut links = h.link().get().match_name(name.to_string()).execute();
    match links.try_next().await {
        Ok(Some(m)) => Ok(Some(m.header.index)),
        Ok(None) => Ok(None),
        Err(e) => {
            let err = Error::netlink("ip link show", name, e);
            if err.errno() == Some(libc::ENODEV) {
                Ok(None)
            } else {
                Err(err)
            }
        }
    }
}

/// `ip -d link show NAME` → its index and kind (`bridge`, `veth`, ...; `None` for a device
/// without one, like `lo`), or `None` when there is no such link.
pub async fn kind(h: &Handle, name: &str) -> Result<Option<(u32, Option<String>)>> {
    let mut links = h.link().get().match_name(name.to_string()).execute();
    match links.try_next().await {
        Ok(Some(m)) => {
            let kind = m.attributes.iter().find_map(|a| match a {
                LinkAttribute::LinkInfo(infos) => infos.iter().find_map(|i| match i {
                    LinkInfo::Kind(k) => Some(k.to_string()),
                    _ => None,
                }),
                _ => None,
            });
            Ok(Some((m.header.index, kind)))
        }
        Ok(None) => Ok(None),
        Err(e) => {
            let err = Error::netlink("ip -d link show", name, e);
            if err.errno() == Some(libc::ENODEV) {
                Ok(None)
            } else {
                Err(err)
            }
        }
    }
}

/// `ip link show`: names and indexes of every link.
pub async fn list(h: &Handle) -> Result<Vec<(u32, String)>> {
    let mut out = Vec::new();
    let mut links = h.link().get().execute();
    while let Some(m) = links
        .try_next()
        .await
        .map_err(|e| Error::netlink("ip link show", "all", e))?
    {
        let name = m.attributes.iter().find_map(|a| match a {
            LinkAttribute::IfName(n) => Some(n.clone()),
            _ => None,
        });
        out.push((m.header.index, name.unwrap_or_default()));
    }
    Ok(out)
}

/// `ip link set dev INDEX netns NS`: moves a link into the namespace `ns`.
pub async fn set_netns(h: &Handle, index: u32, ns: &OwnedFd, what: &str) -> Result<()> {
    h.link()
        .set(
            LinkUnspec::new_with_index(index)
                .setns_by_fd(ns.as_raw_fd())
                .build(),
        )
        .execute()
        .await
        .map_err(|e| Error::netlink("ip link set netns", what, e))
}

/// The link's MAC address.
pub async fn mac(h: &Handle, index: u32) -> Result<Option<Vec<u8>>> {
    let mut links = h.link().get().match_index(index).execute();
    let m = links
        .try_next()
        .await
        .map_err(|e| Error::netlink("ip link show", index.to_string(), e))?;
    Ok(m.and_then(|m| {
        m.attributes.into_iter().find_map(|a| match a {
            LinkAttribute::Address(mac) => Some(mac),
            _ => None,
        })
    }))
}
