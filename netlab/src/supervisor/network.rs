//! User-defined networks (`network create/rm/connect/disconnect/prune`): a bridge of their
//! own on the lab host, or macvlan devices of a parent interface, each with its own
//! address management; containers join them through endpoints (`Endpoint`).
//!
//! The default network `bridge` is the lab's own bridge (`docker0`), built with the lab and
//! never removed; its addresses stay in the lab's `ipam`, which also holds the addresses of
//! pipework interfaces, the uplink and the LAN machines. The predefined `none` gives a
//! container only its loopback; `host` is listed as in Docker but refused for containers.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::container::Container;
use super::lab::{Lab, gone, now, poisoned};
use super::plan::Plan;
use crate::error::{Error, Result};
use crate::firewall::networks::{BridgeNet, Forward6, NetRules};
use crate::model::ipam::Ipam6;
use crate::model::net::{Subnet, docker_mac, format_mac};
use crate::model::network::{
    self, Attachment, DEFAULT_NETWORK, Driver, HOST_NETWORK, NONE_NETWORK, NetworkMember,
    NetworkSpec, NetworkState, SubnetSpec,
};
use crate::model::{ContainerStatus, Ipam, Ipv4Net};
use crate::net;
use crate::sys::nsfd;
use crate::sys::rtnl::Rtnl;
use crate::sys::sysctl;

/// A user-defined network as the lab holds it.
pub struct Network {
    /// As created, with the subnets and gateways that were chosen filled in.
    pub spec: NetworkSpec,
    pub id: String,
    pub created: u64,
    /// `br-` and the ID's first 12 digits; empty for macvlan.
    pub bridge: String,
    pub ipam: Ipam,
    pub ipam6: Option<Ipam6>,
    pub view: NetView,
    /// Whether the user gave its IPv4 subnet: only then may `--ip` pick an address in it,
    /// as in Docker.
    pub configured: bool,
}

/// What wiring a container into a network needs to know of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetView {
    pub name: String,
    pub driver: Driver,
    /// The bridge's index on the lab host, or the macvlan parent's.
    pub link: u32,
    pub prefix: u8,
    /// The default gateway it offers (none on an internal network).
    pub gateway: Option<Ipv4Addr>,
    pub prefix6: u8,
    pub gateway6: Option<Ipv6Addr>,
    /// A user-defined network: its containers get the embedded DNS.
    pub user: bool,
}

/// A container's place on one network.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub network: String,
    /// Its interface inside the container (`eth0`, `eth1`, ...).
    pub ifname: String,
    /// Its address now, or the last one it had while the container is stopped.
    pub ip: Ipv4Addr,
    pub ip6: Option<Ipv6Addr>,
    pub mac: [u8; 6],
    /// The veth's end on the lab host, a port of the network's bridge; empty for macvlan.
    pub host_veth: String,
    /// What was asked: aliases and fixed addresses (kept across restarts, as Docker's
    /// `IPAMConfig`).
    pub want: Attachment,
    pub view: NetView,
}

fn network_id() -> String {
    let mut bytes = [0u8; 32];
    if std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes))
        .is_err()
    {
        bytes[..16].copy_from_slice(&now().to_le_bytes().repeat(2));
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Lab {
    /// How a container joins network `name`: the default `bridge` or a user-defined one.
    pub fn net_view(&self, name: &str) -> Result<NetView> {
        match name {
            DEFAULT_NETWORK => Ok(NetView {
                name: DEFAULT_NETWORK.into(),
                driver: Driver::Bridge,
                link: self.bridge_index,
                prefix: self.spec.bip.prefix,
                gateway: Some(self.spec.bip.addr),
                prefix6: 0,
                gateway6: None,
                user: false,
            }),
            HOST_NETWORK => Err(Error::spec(
                "--network",
                name,
                "netlab does not share the lab host's network namespace with a container; use the default bridge or a network of your own",
            )),
            _ => self
                .networks
                .get(name)
                .map(|n| n.view.clone())
                .ok_or_else(|| unknown_network(name)),
        }
    }

    /// The network by its name or a unique prefix of its ID, as Docker finds them.
    pub fn resolve_network(&self, reference: &str) -> Result<String> {
        if self.networks.contains_key(reference) || network::PREDEFINED.contains(&reference) {
            return Ok(reference.to_string());
        }
        let hits: Vec<&String> = self
            .networks
            .iter()
            .filter(|(_, n)| !reference.is_empty() && n.id.starts_with(reference))
            .map(|(k, _)| k)
            .collect();
        match hits.as_slice() {
            [one] => Ok((*one).clone()),
            _ => Err(unknown_network(reference)),
        }
    }

    /// Every subnet the lab uses, with who uses it: the default bridge, the networks, the
    /// uplink and LAN, pipework interfaces.
    pub fn used_subnets(&self) -> Vec<(Subnet, String)> {
        let mut used = vec![(
            Subnet::V4(self.spec.bip.canonical()),
            format!("the default network bridge ({})", self.spec.bridge),
        )];
        for n in self.networks.values() {
            for s in &n.spec.subnets {
                used.push((s.subnet.canonical(), format!("network {}", n.spec.name)));
            }
        }
        if let Some(a) = self.spec.uplink.as_ref().and_then(|u| u.addr) {
            used.push((
                Subnet::V4(a.canonical()),
                "the lab's LAN (its uplink)".into(),
            ));
        }
        for n in &self.spec.lan_nodes {
            used.push((
                Subnet::V4(n.addr.canonical()),
                format!("the lab's LAN (machine {})", n.name),
            ));
        }
        for c in self.containers.values() {
            for p in &c.pipework {
                used.push((
                    Subnet::V4(p.addr.canonical()),
                    format!("pipework interface {} of {}", p.ifname, c.spec.name),
                ));
            }
        }
        used
    }

    /// `docker network create`: checks the spec against the lab, chooses a subnet when
    /// none is given, builds the bridge (or checks the macvlan parent) and the rules.
    pub fn create_network(&mut self, mut spec: NetworkSpec) -> Result<NetworkState> {
        spec.validate()?;
        if self.networks.contains_key(&spec.name) {
            return Err(Error::spec(
                "network name",
                &spec.name,
                format!(
                    "lab {:?} has a network of that name already; pick another name or remove it with `netlab network rm {}`",
                    self.spec.name, spec.name
                ),
            ));
        }
        // A macvlan network lies on its parent's LAN by design: only other networks count.
        let used: Vec<(Subnet, String)> = self
            .used_subnets()
            .into_iter()
            .filter(|(_, who)| spec.driver != Driver::Macvlan || !who.starts_with("the lab's LAN"))
            .collect();
        for s in &spec.subnets {
            if let Some((_, who)) = network::overlap(&s.subnet, &used) {
                return Err(Error::spec(
                    "--subnet",
                    s.subnet.to_string(),
                    format!(
                        "it overlaps {who}; choose a subnet that overlaps nothing in the lab, or leave --subnet out to get a free one"
                    ),
                ));
            }
        }
        // Docker lets `--ip` choose an address only in a subnet the user gave.
        let configured = spec.v4().is_some();
        if !configured {
            let subnets: Vec<Subnet> = used.iter().map(|(s, _)| *s).collect();
            let chosen = network::choose_subnet(&subnets).ok_or_else(|| {
                Error::spec(
                    "--subnet",
                    &spec.name,
                    "every subnet of the default pools (172.17-31.0.0/16, 192.168.0.0/16 in /20s) is used in this lab; give one with --subnet",
                )
            })?;
            // Docker records the gateway of a subnet it chose (not of one given without).
            spec.subnets.insert(
                0,
                SubnetSpec {
                    subnet: Subnet::V4(chosen),
                    ip_range: None,
                    gateway: Some(IpAddr::V4(Ipv4Addr::from(u32::from(chosen.network()) + 1))),
                },
            );
        }
        if spec.driver == Driver::Macvlan
            && let Some(other) = self
                .networks
                .values()
                .find(|n| n.spec.driver == Driver::Macvlan && n.spec.parent == spec.parent)
        {
            return Err(Error::spec(
                "-o parent",
                spec.parent.clone().unwrap_or_default(),
                format!(
                    "network {} is already using parent interface {}; put the containers on that network, or remove it first",
                    other.spec.name,
                    spec.parent.clone().unwrap_or_default()
                ),
            ));
        }
        for s in spec.subnets.iter_mut() {
            s.subnet = s.subnet.canonical();
        }
        let id = network_id();
        let v4 = spec
            .v4()
            .cloned()
            .ok_or_else(|| unknown_network(&spec.name))?;
        let gw4 = network::gateway_v4(&v4).ok_or_else(|| unknown_network(&spec.name))?;
        let Subnet::V4(subnet4) = v4.subnet else {
            return Err(unknown_network(&spec.name));
        };
        let range = match v4.ip_range {
            Some(Subnet::V4(r)) => r,
            _ => subnet4,
        };
        let gw_net = Ipv4Net {
            addr: gw4,
            prefix: subnet4.prefix,
        };
        let v6 = spec.v6().cloned();
        let gw6 = v6.as_ref().and_then(network::gateway_v6);
        let prefix6 = v6.as_ref().map(|s| s.subnet.prefix()).unwrap_or(0);
        let (bridge, link) = match spec.driver {
            Driver::Macvlan => {
                let parent = spec.parent.clone().unwrap_or_default();
                let link = net::link::index(&mut self.host, &parent)?
                    .ok_or_else(|| self.unknown_parent(&parent))?;
                (String::new(), link)
            }
            _ => {
                let bridge = format!("br-{}", &id[..12]);
                let link = self.build_bridge(&bridge, gw_net, gw6.map(|g| (g, prefix6)))?;
                (bridge, link)
            }
        };
        let gateway_owner = if spec.driver == Driver::Macvlan {
            format!("the gateway of network {} (on the LAN)", spec.name)
        } else {
            format!("the bridge {bridge} of network {}", spec.name)
        };
        let mut ipam = Ipam::with(
            &self.spec.name,
            gw_net,
            range,
            Some((gw4, gateway_owner.clone())),
        );
        let mut ipam6 = v6.as_ref().map(|s| {
            let Subnet::V6(n) = s.subnet else {
                unreachable!("v6() returns an IPv6 subnet")
            };
            let range = match s.ip_range {
                Some(Subnet::V6(r)) => r,
                _ => n,
            };
            Ipam6::new(range, gw6.map(|g| (g, gateway_owner.clone())))
        });
        if spec.driver == Driver::Macvlan {
            // The LAN's machines keep their addresses.
            for (ip, who) in self.spec.lan_addresses() {
                if subnet4.contains(ip) && ip != gw4 {
                    let _ = ipam.claim(ip, &who);
                }
            }
        }
        if let Some(i6) = ipam6.as_mut()
            && let Some(g) = gw6
        {
            let _ = i6.claim(g, "gateway");
        }
        let view = NetView {
            name: spec.name.clone(),
            driver: spec.driver,
            link,
            prefix: subnet4.prefix,
            // An internal network's containers get its gateway as their default route too,
            // as with Docker: the nft rules, not the routes, keep their traffic in.
            gateway: Some(gw4),
            prefix6,
            gateway6: gw6,
            user: true,
        };
        let name = spec.name.clone();
        self.networks.insert(
            name.clone(),
            Network {
                spec,
                id,
                created: now(),
                bridge: bridge.clone(),
                ipam,
                ipam6,
                view,
                configured,
            },
        );
        if let Err(e) = self.apply_network_rules() {
            self.networks.remove(&name);
            if !bridge.is_empty() {
                let _ = net::link::delete(&mut self.host, &bridge);
            }
            return Err(e);
        }
        tracing::info!(network = %name, bridge = %bridge, "network created");
        self.network_state(&name)
    }

    fn unknown_parent(&mut self, parent: &str) -> Error {
        let known: Vec<String> = net::link::list(&mut self.host)
            .map(|l| {
                l.into_iter()
                    .filter(|l| l.master.is_none())
                    .map(|l| l.name)
                    // Not the containers' veths, pipework's, the link emulator's, the
                    // networks' bridges: the lab's own interfaces.
                    .filter(|n| {
                        n != "lo"
                            && !["br-", "veth", "vpw", "emu"]
                                .iter()
                                .any(|p| n.starts_with(p))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Error::spec(
            "-o parent",
            parent,
            format!(
                "the lab host has no interface of that name (it has: {}); a lab made with --uplink eth1=... has eth1",
                known.join(", ")
            ),
        )
    }

    /// `ip link add BR type bridge; ip addr add GW/P dev BR; [ip -6 addr add GW6/P6 dev BR];
    /// ip link set BR up`, with `route_localnet` for published ports via 127.0.0.1, all
    /// undone if a step fails.
    fn build_bridge(
        &mut self,
        bridge: &str,
        gw: Ipv4Net,
        gw6: Option<(Ipv6Addr, u8)>,
    ) -> Result<u32> {
        let mut plan: Plan<'_, Rtnl> = Plan::new();
        let b = bridge.to_string();
        let (b1, b2) = (b.clone(), b.clone());
        plan.step(
            format!("ip link add {b} type bridge"),
            move |nl: &mut Rtnl| {
                nl.batch(vec![net::link::add_bridge(&b1, Some(docker_mac(gw.addr)))])
            },
            move |nl: &mut Rtnl| net::link::delete(nl, &b2),
        );
        let b3 = b.clone();
        plan.covered_step("address the bridge", move |nl: &mut Rtnl| {
            let index = net::link::index(nl, &b3)?.ok_or_else(|| gone(&b3))?;
            let mut reqs = vec![net::addr::add(index, gw, &b3)];
            if let Some((g6, p6)) = gw6 {
                sysctl::set_path(&["net", "ipv6", "conf", &b3, "disable_ipv6"], "0")?;
                sysctl::set("net.ipv6.conf.all.forwarding", "1")?;
                reqs.push(net::addr::add6(index, g6, p6, &b3));
            }
            reqs.push(net::link::set_up(index, &b3));
            nl.batch(reqs)?;
            sysctl::set_path(&["net", "ipv4", "conf", &b3, "route_localnet"], "1")
        });
        plan.run(&mut self.host)?;
        net::link::index(&mut self.host, bridge)?.ok_or_else(|| gone(bridge))
    }

    /// `docker network rm`: refused while a container is on it, like Docker.
    pub fn remove_network(&mut self, name: &str) -> Result<()> {
        if network::PREDEFINED.contains(&name) {
            return Err(Error::spec(
                "network",
                name,
                format!("{name} is a pre-defined network and cannot be removed"),
            ));
        }
        let n = self
            .networks
            .get(name)
            .ok_or_else(|| unknown_network(name))?;
        let users: Vec<&str> = self
            .order
            .iter()
            .filter_map(|c| self.containers.get(c))
            .filter(|c| c.endpoint(name).is_some())
            .map(|c| c.spec.name.as_str())
            .collect();
        if !users.is_empty() {
            return Err(Error::spec(
                "network",
                name,
                format!(
                    "it has active endpoints ({}); disconnect them first with `netlab network disconnect {name} CONTAINER` or remove the containers",
                    users.join(", ")
                ),
            ));
        }
        let bridge = n.bridge.clone();
        let removed = self.networks.remove(name);
        if let Err(e) = self.apply_network_rules() {
            if let Some(n) = removed {
                self.networks.insert(name.to_string(), n);
            }
            return Err(e);
        }
        if !bridge.is_empty() {
            net::link::delete(&mut self.host, &bridge)?;
        }
        self.forget_dns_network(name);
        tracing::info!(network = %name, "network removed");
        Ok(())
    }

    /// `docker network prune`: removes every user-defined network without containers,
    /// and says which.
    pub fn prune_networks(&mut self) -> Result<Vec<String>> {
        let unused: Vec<String> = self
            .networks
            .keys()
            .filter(|n| !self.containers.values().any(|c| c.endpoint(n).is_some()))
            .cloned()
            .collect();
        for n in &unused {
            self.remove_network(n)?;
        }
        Ok(unused)
    }

    /// The nft rules of every network (isolation, internal, NAT, IPv6 ports), applied in
    /// one transaction; nothing to do in a lab without networks of its own.
    pub(super) fn apply_network_rules(&mut self) -> Result<()> {
        let mut bridges = vec![BridgeNet {
            bridge: self.spec.bridge.clone(),
            subnet: self.spec.bip.canonical(),
            subnet6: None,
            internal: false,
            default: true,
        }];
        for n in self.networks.values().filter(|n| !n.bridge.is_empty()) {
            let Some(Subnet::V4(s)) = n.spec.v4().map(|s| s.subnet) else {
                continue;
            };
            bridges.push(BridgeNet {
                bridge: n.bridge.clone(),
                subnet: s,
                subnet6: n.spec.v6().map(|s| s.subnet.canonical().to_string()),
                internal: n.spec.internal,
                default: false,
            });
        }
        let forwards6: Vec<Forward6> = self
            .containers
            .values()
            .filter(|c| c.connected)
            .filter_map(|c| c.endpoints.first().and_then(|e| e.ip6).map(|ip6| (c, ip6)))
            .flat_map(|(c, ip6)| {
                c.ports
                    .iter()
                    .filter(|b| b.host_ip.is_none())
                    .map(move |b| Forward6 {
                        host_ip: None,
                        host_port: b.host_port.unwrap_or(0),
                        proto: b.proto,
                        container_ip: ip6,
                        container_port: b.container_port,
                    })
            })
            .collect();
        let rules = NetRules { bridges, forwards6 };
        if rules.is_empty() && !self.network_rules_applied {
            return Ok(());
        }
        self.firewall()?.apply_networks(&rules)?;
        self.network_rules_applied = !rules.is_empty();
        Ok(())
    }

    /// Takes an address (and an IPv6 one on an IPv6 network) on network `net` for
    /// container `owner`: the fixed ones asked for, or the first free.
    pub(super) fn allocate_on(
        &mut self,
        want: &Attachment,
        owner: &str,
    ) -> Result<(Ipv4Addr, Option<Ipv6Addr>)> {
        let who = format!("container {owner}");
        if want.network == DEFAULT_NETWORK {
            want.check_default_bridge()?;
            return Ok((self.ipam.allocate(&who)?, None));
        }
        let lab = self.spec.name.clone();
        let n = self
            .networks
            .get_mut(&want.network)
            .ok_or_else(|| unknown_network(&want.network))?;
        if (want.ip.is_some() || want.ip6.is_some()) && !n.configured {
            return Err(Error::spec(
                if want.ip.is_some() { "--ip" } else { "--ip6" },
                want.ip
                    .map(|i| i.to_string())
                    .or(want.ip6.map(|i| i.to_string()))
                    .unwrap_or_default(),
                format!(
                    "user specified IP address is supported only when connecting to networks with user configured subnets; network {} got its subnet from the pool: create it with --subnet",
                    want.network
                ),
            ));
        }
        if want.ip6.is_some() && n.ipam6.is_none() {
            return Err(Error::spec(
                "--ip6",
                want.ip6.map(|i| i.to_string()).unwrap_or_default(),
                format!(
                    "network {} has no IPv6 subnet; create it with --ipv6 --subnet ...",
                    want.network
                ),
            ));
        }
        let subnet = n.spec.v4().map(|s| s.subnet);
        let ip = match want.ip {
            Some(ip) => {
                if !subnet.is_some_and(|s| s.contains(IpAddr::V4(ip))) {
                    return Err(Error::spec(
                        "--ip",
                        ip.to_string(),
                        format!(
                            "it is outside network {}'s subnet {}; pick an address inside it",
                            want.network,
                            subnet.map(|s| s.to_string()).unwrap_or_default()
                        ),
                    ));
                }
                n.ipam.claim(ip, &who)?;
                ip
            }
            None => n.ipam.allocate(&who).map_err(|e| match e {
                Error::AddressExhausted { range, .. } => Error::AddressExhausted { lab, range },
                e => e,
            })?,
        };
        let ip6 = match (n.ipam6.as_mut(), want.ip6) {
            (None, _) => None,
            (Some(i6), Some(v6)) => {
                let subnet6 = n.spec.v6().map(|s| s.subnet);
                if !subnet6.is_some_and(|s| s.contains(IpAddr::V6(v6))) {
                    n.ipam.release(ip);
                    return Err(Error::spec(
                        "--ip6",
                        v6.to_string(),
                        format!("it is outside network {}'s IPv6 subnet", want.network),
                    ));
                }
                if let Err(e) = i6.claim(v6, &who) {
                    n.ipam.release(ip);
                    return Err(e);
                }
                Some(v6)
            }
            (Some(i6), None) => match i6.allocate(&who) {
                Ok(v6) => Some(v6),
                Err(e) => {
                    n.ipam.release(ip);
                    return Err(e);
                }
            },
        };
        Ok((ip, ip6))
    }

    /// Gives back what [`Lab::allocate_on`] took.
    pub(super) fn release_on(&mut self, network: &str, ip: Ipv4Addr, ip6: Option<Ipv6Addr>) {
        if network == DEFAULT_NETWORK {
            self.ipam.release(ip);
        } else if let Some(n) = self.networks.get_mut(network) {
            n.ipam.release(ip);
            if let (Some(i6), Some(v6)) = (n.ipam6.as_mut(), ip6) {
                i6.release(v6);
            }
        }
    }

    /// Network `name` as `network inspect` shows it.
    pub fn network_state(&self, name: &str) -> Result<NetworkState> {
        // The containers on `net` with their addresses there: running ones only, as
        // Docker lists a network's endpoints (a stopped container has none); on `none`,
        // those run there, with no address.
        let members = |net: &str| -> Result<Vec<NetworkMember>> {
            let mut out = vec![];
            for c in self.order.iter().filter_map(|n| self.containers.get(n)) {
                let running =
                    c.run.lock().map_err(|_| poisoned())?.status == ContainerStatus::Running;
                if !running {
                    continue;
                }
                let member = |mac, ipv4, ipv6| NetworkMember {
                    name: c.spec.name.clone(),
                    id: c.id.clone(),
                    mac,
                    ipv4,
                    ipv6,
                };
                if net == NONE_NETWORK {
                    if c.spec.network_mode() == NONE_NETWORK {
                        out.push(member(String::new(), String::new(), String::new()));
                    }
                    continue;
                }
                let Some(e) = c.endpoint(net) else { continue };
                if !c.connected {
                    continue;
                }
                out.push(member(
                    format_mac(&e.mac),
                    format!("{}/{}", e.ip, e.view.prefix),
                    e.ip6
                        .map(|v6| format!("{v6}/{}", e.view.prefix6))
                        .unwrap_or_default(),
                ));
            }
            Ok(out)
        };
        match name {
            DEFAULT_NETWORK => Ok(NetworkState {
                id: self.default_network_id.clone(),
                name: DEFAULT_NETWORK.into(),
                driver: Driver::Bridge,
                created: self.created,
                // Docker shows the default bridge's subnet without its gateway.
                subnets: vec![SubnetSpec {
                    subnet: Subnet::V4(self.spec.bip.canonical()),
                    ip_range: self.spec.ip_range.map(Subnet::V4),
                    gateway: None,
                }],
                internal: false,
                ipv6: false,
                bridge: self.spec.bridge.clone(),
                parent: None,
                labels: BTreeMap::new(),
                containers: members(DEFAULT_NETWORK)?,
            }),
            HOST_NETWORK | NONE_NETWORK => Ok(NetworkState {
                id: predefined_id(&self.default_network_id, name),
                name: name.into(),
                driver: if name == HOST_NETWORK {
                    Driver::Host
                } else {
                    Driver::Null
                },
                created: self.created,
                subnets: vec![],
                internal: false,
                ipv6: false,
                bridge: String::new(),
                parent: None,
                labels: BTreeMap::new(),
                containers: if name == NONE_NETWORK {
                    members(NONE_NETWORK)?
                } else {
                    vec![]
                },
            }),
            _ => {
                let n = self
                    .networks
                    .get(name)
                    .ok_or_else(|| unknown_network(name))?;
                Ok(NetworkState {
                    id: n.id.clone(),
                    name: n.spec.name.clone(),
                    driver: n.spec.driver,
                    created: n.created,
                    subnets: n.spec.subnets.clone(),
                    internal: n.spec.internal,
                    ipv6: n.spec.ipv6,
                    bridge: n.bridge.clone(),
                    parent: n.spec.parent.clone(),
                    labels: n.spec.labels.clone(),
                    containers: members(name)?,
                })
            }
        }
    }

    /// Every network by name, the predefined ones among them (`network ls`'s order).
    pub fn network_states(&self) -> Result<Vec<NetworkState>> {
        let mut names: Vec<String> = network::PREDEFINED.iter().map(|s| s.to_string()).collect();
        names.extend(self.networks.keys().cloned());
        names.sort();
        names.iter().map(|n| self.network_state(n)).collect()
    }
}

impl Lab {
    /// The ID of network `name` (empty for an unknown one).
    pub fn network_id(&self, name: &str) -> String {
        match name {
            DEFAULT_NETWORK => self.default_network_id.clone(),
            HOST_NETWORK | NONE_NETWORK => predefined_id(&self.default_network_id, name),
            _ => self
                .networks
                .get(name)
                .map(|n| n.id.clone())
                .unwrap_or_default(),
        }
    }
}

/// IDs for `host` and `none`, stable for the lab: derived from the default network's.
fn predefined_id(default: &str, name: &str) -> String {
    let salt = if name == HOST_NETWORK { 1u8 } else { 2 };
    default
        .bytes()
        .map(|b| {
            let d = (b as char).to_digit(16).unwrap_or(0) as u8;
            format!("{:x}", (d + salt) % 16)
        })
        .collect()
}

pub(super) fn unknown_network(name: &str) -> Error {
    Error::spec(
        "network",
        name,
        "no network of that name in the lab; `netlab network ls` lists them, `netlab network create NAME` makes one",
    )
}

impl Container {
    /// Its endpoint on network `name`, if it is on it.
    pub fn endpoint(&self, name: &str) -> Option<&Endpoint> {
        self.endpoints.iter().find(|e| e.network == name)
    }
}

/// Sets IPv6 on for interface `ifname` of the calling thread's namespace: new interfaces
/// there start without it (see `sysctl::ipv6_off_for_new_interfaces`).
pub(super) fn ipv6_on(ifname: &str) -> Result<()> {
    sysctl::set_path(&["net", "ipv6", "conf", ifname, "disable_ipv6"], "0")
}

/// Runs `f` in the container's network namespace with a netlink socket opened there.
pub(super) fn inside<T: Send>(
    c: &Container,
    f: impl FnOnce(&mut Rtnl) -> Result<T> + Send,
) -> Result<T> {
    nsfd::in_netns(&c.ns.net, || {
        let mut nl = Rtnl::open()?;
        f(&mut nl)
    })
}
