//! The lab as its supervisor holds it: the lab host's netlink socket, the bridge, the
//! address manager and the containers with the fds that keep their namespaces alive.
//! What the lab does is in one file per concept beside this one: `container`, `publish`,
//! `pipework`, `lan`; every change to the kernel is validated first and then applied as a
//! `plan` whose steps carry their own undo.

use std::collections::BTreeMap;
use std::os::fd::OwnedFd;
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use super::container::{Container, RunState};
use super::lan::{Lan, Node};
use super::lifecycle::Event;
use crate::error::{Error, Result};
use crate::firewall::Firewall;
use crate::model::net::docker_mac;
use crate::model::{ContainerStatus, Ipam, LabSpec};
use crate::net;
use crate::proto::{LabInfo, Target};
use crate::sys::nsfd::{self, Namespaces};
use crate::sys::reaper::Reaper;
use crate::sys::rtnl::Rtnl;
use crate::sys::sysctl;

/// Where the lab keeps generated files: the lab's private tmpfs (see `setup_lab_mounts`).
pub(super) const STATE_DIR: &str = "/dev/shm/netlab";

/// What `lab ls` shows about the lab, kept outside the lab lock: answering `Info` must not
/// wait for another client's request, however long that one takes. The lab refreshes it
/// whenever its containers or settings change; run states are shared with the reaper.
#[derive(Debug, Clone)]
pub struct Summary {
    pub spec: LabSpec,
    pub runs: Vec<Arc<Mutex<RunState>>>,
}

impl Summary {
    pub fn info(&self, owned: bool) -> LabInfo {
        let running = self
            .runs
            .iter()
            .filter(|r| {
                r.lock()
                    .map(|r| r.status == ContainerStatus::Running)
                    .unwrap_or(false)
            })
            .count();
        LabInfo {
            spec: self.spec.clone(),
            containers: self.runs.len(),
            running,
            owned,
        }
    }
}

pub struct Lab {
    pub spec: LabSpec,
    pub host: Rtnl,
    pub host_net: OwnedFd,
    pub bridge_index: u32,
    pub ipam: Ipam,
    pub containers: BTreeMap<String, Container>,
    /// Creation order, which is the order `ps` uses.
    pub order: Vec<String>,
    /// Shared with the supervisor, which answers `Info` from it without the lab lock.
    pub summary: Arc<Mutex<Summary>>,
    pub reaper: Arc<Reaper>,
    /// Where containers' processes report their ends, for the lab's `lifecycle` thread.
    pub events: Sender<Event>,
    /// Names of containers being built outside the lock.
    pub(super) pending: std::collections::HashSet<String>,
    /// Found when the first port is published, so labs without ports need no `nft`.
    pub(super) firewall: Option<Box<dyn Firewall>>,
    pub lan: Option<Lan>,
    /// Names of the bridges `pipework` made.
    pub extra_bridges: Vec<String>,
    /// The faults acting on the lab's network now.
    pub faults: super::faults::Faults,
    /// The user-defined networks, by name.
    pub networks: BTreeMap<String, super::network::Network>,
    /// Whether the networks' nft table exists (so that removing the last network
    /// removes it).
    pub(super) network_rules_applied: bool,
    /// The default network's ID, as `network ls` shows it.
    pub default_network_id: String,
    /// When the lab was built, in seconds since the epoch.
    pub created: u64,
    /// The embedded DNS of the user-defined networks.
    pub(super) dns: super::dns::Dns,
}

impl std::fmt::Debug for Lab {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lab").field("spec", &self.spec).finish()
    }
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Lab {
    /// Builds the lab host's network in the supervisor's own (fresh) namespace:
    /// `ip link set lo up; ip link add docker0 type bridge; ip addr add BIP dev docker0;
    /// sysctl -w net.ipv4.ip_forward=1`.
    pub fn build(spec: LabSpec, reaper: Arc<Reaper>, events: Sender<Event>) -> Result<Lab> {
        spec.validate()?;
        let mut host = Rtnl::open()?;
        host.batch(vec![
            net::link::set_up(1, "lo"),
            net::link::add_bridge(&spec.bridge, Some(docker_mac(spec.bip.addr))),
        ])?;
        let bridge_index =
            net::link::index(&mut host, &spec.bridge)?.ok_or_else(|| gone(&spec.bridge))?;
        host.batch(vec![net::addr::add(bridge_index, spec.bip, &spec.bridge)])?;
        sysctl::set("net.ipv4.ip_forward", "1")?;
        // The lab's network is IPv4, like the article's: the host ends of the veths (and
        // the uplink, pipework bridges) get no IPv6 of their own, which spares each new
        // container the IPv6 address, DAD and MLD work on its host end; docker0, created
        // above, keeps its link-local address as on a Docker host.
        sysctl::ipv6_off_for_new_interfaces()?;
        // Published ports answer on 127.0.0.1 too: the kernel must route loopback-sourced
        // packets out of the bridge (then masqueraded by the firewall table).
        sysctl::set_path(
            &["net", "ipv4", "conf", &spec.bridge, "route_localnet"],
            "1",
        )?;
        std::fs::create_dir_all(STATE_DIR)
            .map_err(|e| Error::io(format!("mkdir {STATE_DIR}"), &e))?;
        let mut ipam = Ipam::new(&spec);
        if spec.uplink.is_some() {
            // The uplink may hold the bridge's own address (the article's -bip trick).
            for (ip, who) in spec.lan_addresses() {
                if ip != spec.bip.addr {
                    ipam.claim(ip, &who)?;
                }
            }
        }
        let mut lab = Lab {
            host_net: nsfd::current_net()?,
            ipam,
            spec: spec.clone(),
            host,
            bridge_index,
            containers: BTreeMap::new(),
            order: Vec::new(),
            summary: Arc::new(Mutex::new(Summary {
                spec: spec.clone(),
                runs: vec![],
            })),
            reaper,
            events,
            pending: Default::default(),
            firewall: None,
            lan: None,
            extra_bridges: vec![],
            faults: Default::default(),
            networks: BTreeMap::new(),
            network_rules_applied: false,
            default_network_id: super::container::random_id(),
            created: now(),
            dns: Default::default(),
        };
        lab.build_lan()?;
        if spec.attach_uplink && spec.uplink.is_some() {
            lab.attach_uplink()?;
        }
        lab.refresh_summary();
        tracing::info!(lab = %spec.name, bridge = %spec.bridge, bip = %spec.bip, "lab host ready");
        Ok(lab)
    }

    /// Brings the summary that `Info` reads up to date; call it after every change of the
    /// containers or the settings.
    pub fn refresh_summary(&self) {
        let fresh = Summary {
            spec: self.spec.clone(),
            runs: self
                .order
                .iter()
                .filter_map(|n| self.containers.get(n))
                .map(|c| c.run.clone())
                .collect(),
        };
        match self.summary.lock() {
            Ok(mut s) => *s = fresh,
            Err(p) => *p.into_inner() = fresh,
        }
    }

    /// A container's name from its name or, like Docker, a unique prefix of its ID (names
    /// win); unknown references stay as they are, so the caller's lookup names them.
    pub fn resolve(&self, reference: &str) -> Result<String> {
        if self.containers.contains_key(reference)
            || reference.is_empty()
            || !reference.chars().all(|c| c.is_ascii_hexdigit())
        {
            return Ok(reference.to_string());
        }
        let hits: Vec<&Container> = self
            .containers
            .values()
            .filter(|c| c.id.starts_with(reference))
            .collect();
        match hits.as_slice() {
            [one] => Ok(one.spec.name.clone()),
            [] => Ok(reference.to_string()),
            many => Err(Error::spec(
                "container",
                reference,
                format!(
                    "the ID prefix matches {} containers; give more of the ID or a name",
                    many.len()
                ),
            )),
        }
    }

    /// How many ports `bridge` of the lab host has: every container's veth and those
    /// being built when it is the lab's bridge, the pipework interfaces on it, and the
    /// uplink once attached.
    pub fn bridge_ports(&self, bridge: &str) -> usize {
        let own = bridge == self.spec.bridge;
        let network = if own {
            Some(crate::model::network::DEFAULT_NETWORK)
        } else {
            self.networks
                .values()
                .find(|n| n.bridge == bridge)
                .map(|n| n.spec.name.as_str())
        };
        let containers = match network {
            Some(net) => {
                self.containers
                    .values()
                    .filter(|c| c.endpoint(net).is_some())
                    .count()
                    + self.pending.len()
            }
            None => 0,
        };
        let pipework = self
            .containers
            .values()
            .flat_map(|c| &c.pipework)
            .filter(|p| p.bridge == bridge)
            .count();
        let uplink = usize::from(own && self.spec.attach_uplink);
        containers + pipework + uplink
    }

    pub fn get(&self, name: &str) -> Result<&Container> {
        self.containers
            .get(name)
            .ok_or_else(|| Error::UnknownContainer {
                lab: self.spec.name.clone(),
                name: name.into(),
            })
    }

    /// The namespaces of a target.
    pub fn namespaces(&self, target: &Target) -> Result<Option<&Namespaces>> {
        match target {
            Target::Host => Ok(None),
            Target::Container(n) => Ok(Some(&self.get(n)?.ns)),
            Target::Node(n) => Ok(Some(&self.node(n)?.ns)),
        }
    }

    pub fn node(&self, name: &str) -> Result<&Node> {
        self.lan
            .as_ref()
            .and_then(|l| l.nodes.get(name))
            .ok_or_else(|| {
                let known: Vec<&str> = self
                    .spec
                    .lan_nodes
                    .iter()
                    .map(|n| n.name.as_str())
                    .collect();
                Error::spec(
                    "--node",
                    name,
                    format!(
                        "lab {:?} has no LAN machine of that name (it has: {})",
                        self.spec.name,
                        if known.is_empty() {
                            "none".to_string()
                        } else {
                            known.join(", ")
                        }
                    ),
                )
            })
    }

    /// The network namespace of a target.
    pub fn net_fd(&self, target: &Target) -> Result<&OwnedFd> {
        Ok(match self.namespaces(target)? {
            None => &self.host_net,
            Some(ns) => &ns.net,
        })
    }
}

pub(super) fn gone(what: &str) -> Error {
    Error::Io {
        op: format!("ip link show {what}"),
        message: "the interface vanished right after it was made".into(),
    }
}

pub(super) fn poisoned() -> Error {
    Error::Io {
        op: "lab state".into(),
        message: "a lock was poisoned by a panic".into(),
    }
}
