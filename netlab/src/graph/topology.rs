//! A lab's topology as data: the [`Topology`] with its nodes and edges, and how it is built
//! from a scenario file ([`from_scenario`]) or from a running lab ([`from_lab`],
//! [`from_lab_networks`]).
//!
//! Both sources are first described the same way (one `NetworkView` per user-defined
//! network, one `ContainerView` per container), then one builder draws the parts in
//! order: the lab host with its bridges (the default one, one per user-defined bridge
//! network, pipework's), the containers with their wires to every network they are on,
//! pipework interfaces, links and ports, and the LAN behind the uplink. A macvlan network
//! has no bridge: its containers' wires go straight to its parent interface (the uplink).

use std::collections::{BTreeMap, HashSet};
use std::net::Ipv4Addr;

use crate::model::network::{self, DEFAULT_NETWORK, Driver, NetworkSpec, NetworkState};

use crate::model::container::EndpointState;
use crate::model::links::LinkSpec;
use crate::model::names::host_veth_name;
use crate::model::pipework::first_free_ifname;
use crate::model::{
    ContainerState, ContainerStatus, ExposedPort, Ipv4Net, LabSpec, PortBinding, Proto,
};
use crate::proto::LabInfo;
use crate::scenario::Scenario;

/// A lab drawn as a graph: nodes in boxes ([`Group`]) and labelled edges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    /// What the picture shows: `scenario article.toml` or `lab NAME`.
    pub title: String,
    /// The interfaces, rules and machines, in file or creation order.
    pub nodes: Vec<Node>,
    /// What joins them.
    pub edges: Vec<Edge>,
}

/// The box a node is drawn in; containers are drawn on their own, as the separate
/// namespaces they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// The lab host: the simulated Docker host with its bridges, uplink and DNAT rules.
    Host,
    /// The simulated LAN behind the uplink: its switch and machines.
    Lan,
}

impl Group {
    /// Every box, in the order the renderers draw them.
    pub(super) const ALL: [Group; 2] = [Group::Host, Group::Lan];

    /// The box's identifier in DOT and Mermaid.
    pub(super) fn id(self) -> &'static str {
        match self {
            Group::Host => "host",
            Group::Lan => "lan",
        }
    }

    /// The box's title.
    pub(super) fn label(self) -> &'static str {
        match self {
            Group::Host => "lab host",
            Group::Lan => "simulated LAN",
        }
    }
}

/// What a node stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    /// The lab's bridge (`docker0`), a user-defined bridge network's, or one that pipework
    /// made.
    Bridge,
    /// The lab host's uplink interface (`eth1`).
    Uplink,
    /// A published port: the lab host's DNAT rule.
    Port,
    /// A container: its own network namespace.
    Container,
    /// The LAN's switch, or the real network behind a real uplink.
    Switch,
    /// A machine on the simulated LAN.
    LanMachine,
}

/// One thing in the picture: an interface, a rule, a container or a machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Unique, and safe as a DOT and Mermaid identifier.
    pub id: String,
    /// What it stands for.
    pub kind: NodeKind,
    /// The box it is drawn in; `None` for a container, drawn on its own.
    pub group: Option<Group>,
    /// The label, one entry per line; the first is the name.
    pub lines: Vec<String>,
}

/// What an edge stands for: a wire, a rule or a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeKind {
    /// A container's interface on the lab's bridge or a user-defined bridge network's: a
    /// veth pair.
    Veth,
    /// A container's macvlan device on a macvlan network's parent interface (the uplink):
    /// no veth and no bridge, its own MAC on the parent's LAN.
    Macvlan,
    /// An interface that pipework added, on its bridge: a veth pair with a static address.
    Pipework,
    /// `--link NAME:ALIAS`: no wire, the linking container knows the other by the alias
    /// (environment and `/etc/hosts`). Drawn dashed, from the linking container.
    Link,
    /// A published port's DNAT rule, from the host's port to the container.
    Publish,
    /// The uplink enslaved to the bridge (the article's `ip link set eth1 master docker0`).
    Attach,
    /// A wire of the LAN: the uplink or a LAN machine to the switch.
    Lan,
}

/// An edge. Wires have no direction of their own; they point outward, from the containers
/// through the host to the LAN, which is the order the pictures read from left to right.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    /// The [`Node::id`] it starts at.
    pub from: String,
    /// The [`Node::id`] it ends at.
    pub to: String,
    /// What it stands for.
    pub kind: EdgeKind,
    /// The label, one entry per line.
    pub lines: Vec<String>,
}

/// The topology a scenario file describes, before it runs: dynamic addresses are shown as
/// the range they will come from, static ones (pipework, LAN) as written, and interface
/// names as the lab will derive them.
pub fn from_scenario(s: &Scenario) -> Topology {
    let file = s
        .file
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| s.lab.name.clone());
    let dynamic = format!("dynamic in {}", s.lab.range());
    let networks: Vec<NetworkView> = s.networks.iter().map(NetworkView::of_spec).collect();
    let containers = s
        .containers
        .iter()
        .map(|c| {
            let spec = &c.spec;
            // As the lab does, like Docker: a published port is exposed too, and `-P`
            // publishes every exposed port not published already, on a free host port.
            let expose = spec.exposed_ports();
            let ports = spec.wanted_bindings();
            // Its interfaces eth0, eth1, ... in the order of its networks, each network's
            // veth named as the lab will name it.
            let endpoints: Vec<EndpointView> = spec
                .attachments()
                .iter()
                .enumerate()
                .map(|(i, a)| {
                    let ifname = format!("eth{i}");
                    let net = s.networks.iter().find(|n| n.name == a.network);
                    EndpointView {
                        network: a.network.clone(),
                        host_veth: match net.map(|n| n.driver) {
                            Some(Driver::Macvlan) => String::new(),
                            _ => endpoint_host_veth(&spec.name, &ifname),
                        },
                        addresses: net.map(|n| planned_addresses(a, n)).unwrap_or_default(),
                        aliases: a.aliases.clone(),
                        ifname,
                    }
                })
                .collect();
            let on_default = endpoints.iter().any(|e| e.network == DEFAULT_NETWORK);
            // Pipework names its interface eth1, eth2, ... unless told, in file order.
            let mut taken: Vec<String> = endpoints.iter().map(|e| e.ifname.clone()).collect();
            let pipework = s
                .pipework
                .iter()
                .filter(|p| p.container == spec.name)
                .map(|p| {
                    let ifname = p
                        .ifname
                        .clone()
                        .unwrap_or_else(|| first_free_ifname(&taken));
                    taken.push(ifname.clone());
                    let host_ifname = p
                        .host_ifname
                        .clone()
                        .unwrap_or_else(|| pipework_host_ifname(&p.container, &ifname));
                    PipeView {
                        bridge: p.bridge.clone(),
                        ifname,
                        host_ifname,
                        addr: p.addr,
                        gateway: p.gateway,
                    }
                })
                .collect();
            ContainerView {
                name: spec.name.clone(),
                address: address_line(on_default, &endpoints, dynamic.clone()),
                status: None,
                expose,
                endpoints,
                pipework,
                links: spec.links.clone(),
                ports,
                faults: s
                    .faults
                    .iter()
                    .filter(|f| f.containers().contains(&spec.name.as_str()))
                    .map(|f| match &f.name {
                        Some(n) => format!("{n}: {}", f.kind),
                        None => f.kind.to_string(),
                    })
                    .collect(),
            }
        })
        .collect::<Vec<_>>();
    build(format!("scenario {file}"), &s.lab, &networks, &containers)
}

/// The topology of a running lab: the addresses, interface names and host ports it has.
/// Its user-defined networks are drawn as its containers' endpoints name them; give the
/// networks themselves to [`from_lab_networks`] for their bridges and subnets.
pub fn from_lab(info: &LabInfo, containers: &[ContainerState]) -> Topology {
    from_lab_networks(info, containers, &[])
}

/// [`from_lab`] with the lab's networks ([`Lab::networks`](crate::Lab::networks)): each
/// user-defined bridge network drawn with its bridge, subnets and whether it is internal,
/// each macvlan network on its parent interface. `netlab graph` draws this.
pub fn from_lab_networks(
    info: &LabInfo,
    containers: &[ContainerState],
    networks: &[NetworkState],
) -> Topology {
    let mut nets: Vec<NetworkView> = networks
        .iter()
        .filter(|n| !network::PREDEFINED.contains(&n.name.as_str()))
        .map(NetworkView::of_state)
        .collect();
    // A network an endpoint names that the list does not have (removed meanwhile, or no
    // list given): drawn with what the endpoints say.
    for e in containers.iter().flat_map(|c| &c.networks) {
        if e.network != DEFAULT_NETWORK && !nets.iter().any(|n| n.name == e.network) {
            nets.push(NetworkView::of_endpoint(e));
        }
    }
    let views = containers
        .iter()
        .map(|c| {
            // A state recorded before networks existed has no endpoints: its eth0 is on
            // the default bridge; a container on `none` has neither endpoints nor veth.
            let endpoints: Vec<EndpointView> = if c.networks.is_empty() && !c.host_veth.is_empty() {
                vec![EndpointView {
                    network: DEFAULT_NETWORK.into(),
                    ifname: "eth0".into(),
                    host_veth: c.host_veth.clone(),
                    addresses: vec![],
                    aliases: vec![],
                }]
            } else {
                c.networks
                    .iter()
                    .map(|e| EndpointView {
                        network: e.network.clone(),
                        ifname: e.ifname.clone(),
                        host_veth: e.host_veth.clone(),
                        addresses: if e.network == DEFAULT_NETWORK {
                            vec![]
                        } else if !c.connected {
                            vec!["no address".into()]
                        } else {
                            [Some(format!("{}/{}", e.ip, e.prefix))]
                                .into_iter()
                                .chain([e.ip6.map(|ip6| format!("{ip6}/{}", e.prefix6))])
                                .flatten()
                                .collect()
                        },
                        aliases: e.aliases.clone(),
                    })
                    .collect()
            };
            let default = c.networks.iter().find(|e| e.network == DEFAULT_NETWORK);
            let on_default =
                default.is_some() || (c.networks.is_empty() && !c.host_veth.is_empty());
            // A stopped container holds no address (as with Docker).
            let address = match (c.connected, default) {
                (false, _) => "no address".to_string(),
                (true, Some(e)) => format!("{}/{}", e.ip, e.prefix),
                (true, None) => format!("{}/{}", c.ip, c.prefix),
            };
            ContainerView {
                name: c.name.clone(),
                address: address_line(on_default, &endpoints, address),
                status: match c.status {
                    ContainerStatus::Running => None,
                    ContainerStatus::Created => Some("created"),
                    ContainerStatus::Exited => Some("exited"),
                },
                expose: c.expose.clone(),
                endpoints,
                pipework: c
                    .pipework
                    .iter()
                    .map(|p| PipeView {
                        bridge: p.bridge.clone(),
                        ifname: p.ifname.clone(),
                        host_ifname: p.host_ifname.clone(),
                        addr: p.addr,
                        gateway: p.gateway,
                    })
                    .collect(),
                links: c.links.clone(),
                ports: c.ports.clone(),
                faults: c.faults.clone(),
            }
        })
        .collect::<Vec<_>>();
    build(format!("lab {}", info.spec.name), &info.spec, &nets, &views)
}

/// The address line of a container's node: its address on the default bridge (or where
/// it will come from); `None` when it is not on the default bridge, where its wires
/// carry its addresses, and "loopback only" on `none`.
fn address_line(on_default: bool, endpoints: &[EndpointView], address: String) -> Option<String> {
    if on_default {
        Some(address)
    } else if endpoints.is_empty() {
        Some("no network (loopback only)".into())
    } else {
        None
    }
}

/// The host-side name of the veth of a container's `ifname`, as the lab derives it: the
/// container's own for `eth0`, pipework's kind of name for the others.
fn endpoint_host_veth(container: &str, ifname: &str) -> String {
    if ifname == "eth0" {
        host_veth_name(container, 0)
    } else {
        pipework_host_ifname(container, ifname)
    }
}

/// Where a scenario container's addresses on network `n` come from: a fixed one as
/// written (with the subnet's prefix), else the range or subnet the network hands them
/// out from, or the pool when the network has no subnet yet.
fn planned_addresses(a: &network::Attachment, n: &NetworkSpec) -> Vec<String> {
    let mut out = vec![];
    match (a.ip, n.v4()) {
        (Some(ip), Some(s)) => out.push(format!("{ip}/{}", s.subnet.prefix())),
        (None, Some(s)) => out.push(format!(
            "dynamic in {}",
            s.ip_range.unwrap_or(s.subnet).canonical()
        )),
        (_, None) => out.push("dynamic, subnet from the pool".into()),
    }
    match (a.ip6, n.v6()) {
        (Some(ip6), Some(s)) => out.push(format!("{ip6}/{}", s.subnet.prefix())),
        (None, Some(s)) => out.push(format!(
            "dynamic in {}",
            s.ip_range.unwrap_or(s.subnet).canonical()
        )),
        _ => {}
    }
    out
}

/// The host-side name pipework gives an interface when not told one, derived as the lab
/// supervisor derives it (a hash of `container/ifname`, salted apart from the veths).
fn pipework_host_ifname(container: &str, ifname: &str) -> String {
    crate::model::names::pipework_host_ifname(container, ifname, 0)
}

/// A user-defined network as both sources describe it.
struct NetworkView {
    name: String,
    driver: Driver,
    /// Its lines below the name: its bridge (once the lab made one), subnets, ranges,
    /// `internal`.
    lines: Vec<String>,
    /// A macvlan network's parent interface.
    parent: Option<String>,
}

impl NetworkView {
    fn of_spec(n: &NetworkSpec) -> NetworkView {
        let mut lines = vec![];
        if n.subnets.is_empty() {
            lines.push("subnet from the pool".into());
        }
        NetworkView::subnet_lines(&n.subnets, &mut lines);
        NetworkView::with(
            n.name.clone(),
            n.driver,
            n.internal,
            n.parent.clone(),
            lines,
        )
    }

    fn of_state(n: &NetworkState) -> NetworkView {
        let mut lines = vec![];
        if !n.bridge.is_empty() {
            lines.push(n.bridge.clone());
        }
        NetworkView::subnet_lines(&n.subnets, &mut lines);
        NetworkView::with(
            n.name.clone(),
            n.driver,
            n.internal,
            n.parent.clone(),
            lines,
        )
    }

    /// A network known only from an endpoint on it: a macvlan one when the endpoint has
    /// no veth, its parent unknown.
    fn of_endpoint(e: &EndpointState) -> NetworkView {
        let driver = if e.host_veth.is_empty() {
            Driver::Macvlan
        } else {
            Driver::Bridge
        };
        NetworkView::with(e.network.clone(), driver, false, None, vec![])
    }

    fn with(
        name: String,
        driver: Driver,
        internal: bool,
        parent: Option<String>,
        mut lines: Vec<String>,
    ) -> NetworkView {
        if internal {
            lines.push("internal".into());
        }
        NetworkView {
            name,
            driver,
            lines,
            parent,
        }
    }

    /// `10.78.0.0/24 gw 10.78.0.1` (the gateway when the network records one), then
    /// `dynamic range 10.78.0.128/25` when it has one, per subnet.
    fn subnet_lines(subnets: &[network::SubnetSpec], lines: &mut Vec<String>) {
        for s in subnets {
            lines.push(match s.gateway {
                Some(g) => format!("{} gw {g}", s.subnet.canonical()),
                None => s.subnet.canonical().to_string(),
            });
            if let Some(r) = s.ip_range {
                lines.push(format!("dynamic range {}", r.canonical()));
            }
        }
    }
}

/// One interface of a container on a network.
struct EndpointView {
    network: String,
    ifname: String,
    /// The veth's end on the lab host; empty for a macvlan device.
    host_veth: String,
    /// Its addresses, drawn on its wire; none on the default bridge, whose address the
    /// container's node shows (as before there were networks).
    addresses: Vec<String>,
    /// Its other names on the network.
    aliases: Vec<String>,
}

/// One container as both sources describe it.
struct ContainerView {
    name: String,
    /// Its node's address line (see [`address_line`]).
    address: Option<String>,
    status: Option<&'static str>,
    expose: Vec<ExposedPort>,
    /// Its interfaces on networks, `eth0` first; none on `none`.
    endpoints: Vec<EndpointView>,
    pipework: Vec<PipeView>,
    links: Vec<LinkSpec>,
    ports: Vec<PortBinding>,
    /// The faults acting on it, one line each, drawn on the wire of the interface each
    /// names (`eth0` when it names none).
    faults: Vec<String>,
}

struct PipeView {
    bridge: String,
    ifname: String,
    host_ifname: String,
    addr: Ipv4Net,
    gateway: Option<Ipv4Addr>,
}

/// Hands out identifiers that DOT and Mermaid both accept (`[A-Za-z0-9_]`, prefixed by the
/// kind so that no name becomes a keyword such as Mermaid's `end`), unique even when two
/// names differ only in punctuation (`a.b`, `a_b`).
#[derive(Default)]
struct Ids(HashSet<String>);

impl Ids {
    fn make(&mut self, prefix: &str, name: &str) -> String {
        let clean: String = name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let base = if name.is_empty() {
            prefix.to_string()
        } else {
            format!("{prefix}_{clean}")
        };
        let mut id = base.clone();
        let mut n = 2;
        while !self.0.insert(id.clone()) {
            id = format!("{base}_{n}");
            n += 1;
        }
        id
    }
}

/// A macvlan network's lines on its parent's node: `macvlan network lannet`, then its
/// subnets as a bridge network's node shows them.
fn macvlan_lines(n: &NetworkView) -> Vec<String> {
    let mut lines = vec![format!("macvlan network {}", n.name)];
    lines.extend(n.lines.iter().cloned());
    lines
}

fn port_label(b: &PortBinding, container: &str) -> String {
    let host_port = b
        .host_port
        .map(|p| p.to_string())
        .unwrap_or_else(|| "random".into());
    let proto = match b.proto {
        Proto::Tcp => "",
        Proto::Udp => "/udp",
    };
    format!(
        "{}:{host_port} → {container}:{}{proto}",
        b.host_ip_text(),
        b.container_port
    )
}

/// Both sources end here, so the two pictures of one setup differ only in what the sources
/// know. Nodes are drawn in this order: the lab host (bridges, uplink, then the published
/// ports, found with their containers), the containers, then the LAN.
fn build(
    title: String,
    lab: &LabSpec,
    networks: &[NetworkView],
    containers: &[ContainerView],
) -> Topology {
    let mut b = Builder::default();
    let host = b.lab_host(lab, networks, containers);
    b.containers(&host, containers);
    b.lan(lab, &host);
    Topology {
        title,
        nodes: b.nodes,
        edges: b.edges,
    }
}

/// A topology being built: the identifiers handed out so far (in drawing order, which
/// decides who gets a suffix), and the nodes and edges in drawing order.
#[derive(Default)]
struct Builder {
    ids: Ids,
    nodes: Vec<Node>,
    edges: Vec<Edge>,
}

/// What containers and the LAN connect to on the lab host.
struct Host {
    /// The node of the lab's bridge.
    bridge: String,
    /// Every bridge by name, the lab's and the ones pipework makes, to its node.
    bridges: BTreeMap<String, String>,
    /// Every user-defined network by name: the node its containers' wires go to (its
    /// bridge, or a macvlan network's parent) and its driver.
    networks: BTreeMap<String, (String, Driver)>,
    /// The uplink, if the lab has one.
    uplink: Option<UplinkNode>,
}

struct UplinkNode {
    id: String,
    /// The interface's name.
    name: String,
    /// A real interface of the machine (`uplink_dev`), not a veth to a simulated LAN.
    real: bool,
}

impl Builder {
    fn node(&mut self, id: &str, kind: NodeKind, group: Option<Group>, lines: Vec<String>) {
        self.nodes.push(Node {
            id: id.to_string(),
            kind,
            group,
            lines,
        });
    }

    fn edge(&mut self, from: &str, to: &str, kind: EdgeKind, lines: Vec<String>) {
        self.edges.push(Edge {
            from: from.to_string(),
            to: to.to_string(),
            kind,
            lines,
        });
    }

    /// The lab host: its bridge, the user-defined networks' bridges, the bridges pipework
    /// makes, the uplink (with the macvlan networks it is the parent of), and any other
    /// macvlan parent. The published ports are the host's too; they are drawn with the
    /// containers that publish them.
    fn lab_host(
        &mut self,
        lab: &LabSpec,
        networks: &[NetworkView],
        containers: &[ContainerView],
    ) -> Host {
        let bridge = self.ids.make("br", &lab.bridge);
        let mut lines = vec![lab.bridge.clone(), lab.bip.to_string()];
        if let Some(r) = lab.ip_range {
            lines.push(format!("dynamic range {}", r.canonical()));
        }
        self.node(&bridge, NodeKind::Bridge, Some(Group::Host), lines);
        let mut bridges = BTreeMap::from([(lab.bridge.clone(), bridge.clone())]);
        let mut nets = BTreeMap::new();
        for n in networks.iter().filter(|n| n.driver != Driver::Macvlan) {
            let id = self.ids.make("net", &n.name);
            let mut lines = vec![n.name.clone()];
            lines.extend(n.lines.iter().cloned());
            self.node(&id, NodeKind::Bridge, Some(Group::Host), lines);
            nets.insert(n.name.clone(), (id, n.driver));
        }
        self.pipework_bridges(containers, &mut bridges);
        let macvlans: Vec<&NetworkView> = networks
            .iter()
            .filter(|n| n.driver == Driver::Macvlan)
            .collect();
        let uplink = self.uplink(lab, &macvlans);
        for n in macvlans {
            let parent = n.parent.clone().unwrap_or_default();
            let to = match (&uplink, bridges.get(&parent)) {
                (Some(u), _) if u.name == parent || n.parent.is_none() => u.id.clone(),
                (_, Some(b)) => b.clone(),
                _ => {
                    // A parent the lab host does not have (or not known): drawn as such.
                    let id = self.ids.make("parent", &parent);
                    let mut lines = vec![if parent.is_empty() {
                        "macvlan parent".to_string()
                    } else {
                        parent.clone()
                    }];
                    lines.extend(macvlan_lines(n));
                    self.node(&id, NodeKind::Uplink, Some(Group::Host), lines);
                    id
                }
            };
            nets.insert(n.name.clone(), (to, Driver::Macvlan));
        }
        Host {
            bridge,
            bridges,
            networks: nets,
            uplink,
        }
    }

    /// The bridges that pipework makes: each one a container's pipework names that is not
    /// in `bridges` yet, once, in file or creation order.
    fn pipework_bridges(
        &mut self,
        containers: &[ContainerView],
        bridges: &mut BTreeMap<String, String>,
    ) {
        for p in containers.iter().flat_map(|c| &c.pipework) {
            if !bridges.contains_key(&p.bridge) {
                let id = self.ids.make("br", &p.bridge);
                bridges.insert(p.bridge.clone(), id.clone());
                self.node(
                    &id,
                    NodeKind::Bridge,
                    Some(Group::Host),
                    vec![p.bridge.clone(), "made by pipework".into()],
                );
            }
        }
    }

    /// The uplink: a veth to the simulated LAN (`uplink`) or a real interface of the
    /// machine (`uplink_dev`); either with its address, or without one as a port of the
    /// bridge.
    fn uplink(&mut self, lab: &LabSpec, macvlans: &[&NetworkView]) -> Option<UplinkNode> {
        let (name, addr, real) = match (&lab.uplink, &lab.uplink_dev) {
            (Some(u), _) => (u.name.clone(), u.addr.map(|a| a.to_string()), false),
            (None, Some(d)) => (d.clone(), None, true),
            (None, None) => return None,
        };
        let id = self.ids.make("uplink", "");
        let mut lines = vec![name.clone()];
        if real {
            lines.push("real interface".into());
        }
        if lab.attach_uplink {
            lines.push(format!("no address, a port of {}", lab.bridge));
        } else {
            lines.push(addr.unwrap_or_else(|| "no address".into()));
            lines.push(format!("not attached to {}", lab.bridge));
        }
        for n in macvlans {
            if n.parent.as_deref().is_none_or(|p| p == name) {
                lines.extend(macvlan_lines(n));
            }
        }
        self.node(&id, NodeKind::Uplink, Some(Group::Host), lines);
        Some(UplinkNode { id, name, real })
    }

    /// The containers, each with its veth on the lab's bridge, its pipework interfaces, its
    /// links and its published ports. The containers' nodes come after the host's, ports
    /// included.
    fn containers(&mut self, host: &Host, containers: &[ContainerView]) {
        // Identifiers first, so that a link may point at any container.
        let mut ids: BTreeMap<String, String> = BTreeMap::new();
        for c in containers {
            let id = self.ids.make("c", &c.name);
            ids.insert(c.name.clone(), id);
        }
        let mut drawn = Vec::new();
        for c in containers {
            let id = ids.get(&c.name).cloned().unwrap_or_default();
            drawn.push(container_node(c, &id));
            self.endpoints(c, &id, host);
            self.pipework(c, &id, &host.bridges);
            self.links(c, &id, &mut ids, &mut drawn);
            self.ports(c, &id);
        }
        self.nodes.extend(drawn);
    }

    /// A container's wires to its networks, in the order of its interfaces: a veth to the
    /// default bridge (`eth0 ↔ veth…`, its address on the container's node), a veth to a
    /// user-defined network's bridge with its addresses and aliases (`10.78.0.2/24 (aka
    /// db)`), or a macvlan device on the network's parent. A fault is drawn on the wire of
    /// the interface it names.
    fn endpoints(&mut self, c: &ContainerView, id: &str, host: &Host) {
        let names_wire = |f: &str, ifname: &str| {
            f.contains(&format!("{}/{ifname} ", c.name))
                || f.ends_with(&format!("{}/{ifname}", c.name))
        };
        for (i, e) in c.endpoints.iter().enumerate() {
            let (to, driver) = if e.network == DEFAULT_NETWORK {
                (host.bridge.clone(), Driver::Bridge)
            } else {
                host.networks.get(&e.network).cloned().unwrap_or_default()
            };
            let (kind, mut wire) = match driver {
                Driver::Macvlan => (
                    EdgeKind::Macvlan,
                    vec![format!(
                        "{} macvlan of {} ({})",
                        e.ifname,
                        self.node_name(&to),
                        e.network
                    )],
                ),
                _ => (
                    EdgeKind::Veth,
                    vec![format!("{} ↔ {}", e.ifname, e.host_veth)],
                ),
            };
            for (j, a) in e.addresses.iter().enumerate() {
                if j == 0 && !e.aliases.is_empty() {
                    wire.push(format!("{a} (aka {})", e.aliases.join(", ")));
                } else {
                    wire.push(a.clone());
                }
            }
            if e.addresses.is_empty() && !e.aliases.is_empty() {
                wire.push(format!("aka {}", e.aliases.join(", ")));
            }
            // A fault names its interface; one that names none of the wires is drawn on
            // the first, where the faults were drawn before there were networks.
            let here = c.faults.iter().filter(|f| {
                names_wire(f, &e.ifname)
                    || (i == 0 && !c.endpoints.iter().any(|o| names_wire(f, &o.ifname)))
            });
            wire.extend(here.map(|f| format!("⚡ {f}")));
            self.edge(id, &to, kind, wire);
        }
    }

    /// The first line of a node: its name.
    fn node_name(&self, id: &str) -> String {
        self.nodes
            .iter()
            .find(|n| n.id == id)
            .and_then(|n| n.lines.first().cloned())
            .unwrap_or_default()
    }

    /// A container's pipework interfaces: a veth pair with a static address each, on the
    /// bridge pipework was told.
    fn pipework(&mut self, c: &ContainerView, id: &str, bridges: &BTreeMap<String, String>) {
        for p in &c.pipework {
            let to = bridges.get(&p.bridge).cloned().unwrap_or_default();
            let addr = match p.gateway {
                Some(g) => format!("{} gw {g}", p.addr),
                None => p.addr.to_string(),
            };
            self.edge(
                id,
                &to,
                EdgeKind::Pipework,
                vec![format!("{} ↔ {}", p.ifname, p.host_ifname), addr],
            );
        }
    }

    /// A container's links, each to the container it names (`ids`); one the lab no longer
    /// has is added to `drawn`, saying so.
    fn links(
        &mut self,
        c: &ContainerView,
        id: &str,
        ids: &mut BTreeMap<String, String>,
        drawn: &mut Vec<Node>,
    ) {
        for l in &c.links {
            let to = match ids.get(&l.name) {
                Some(to) => to.clone(),
                None => {
                    let to = self.ids.make("c", &l.name);
                    ids.insert(l.name.clone(), to.clone());
                    drawn.push(Node {
                        id: to.clone(),
                        kind: NodeKind::Container,
                        group: None,
                        lines: vec![l.name.clone(), "not in the lab".into()],
                    });
                    to
                }
            };
            self.edge(id, &to, EdgeKind::Link, vec![l.alias.clone()]);
        }
    }

    /// A container's published ports: a DNAT rule on the lab host each.
    fn ports(&mut self, c: &ContainerView, id: &str) {
        for b in &c.ports {
            let port_id = self.ids.make(
                "p",
                &format!("{}_{}_{}", c.name, b.container_port, b.proto.as_str()),
            );
            self.node(
                &port_id,
                NodeKind::Port,
                Some(Group::Host),
                vec![port_label(b, &c.name)],
            );
            self.edge(&port_id, id, EdgeKind::Publish, vec!["DNAT".into()]);
        }
    }

    /// The uplink attached to the bridge (if it is), and what is behind it: the real
    /// network behind a real interface, or the simulated LAN's switch and machines.
    fn lan(&mut self, lab: &LabSpec, host: &Host) {
        let Some(up) = &host.uplink else {
            return;
        };
        if lab.attach_uplink {
            self.edge(
                &host.bridge,
                &up.id,
                EdgeKind::Attach,
                vec!["attached".into()],
            );
        }
        if up.real {
            let id = self.ids.make("lan", "real");
            self.node(&id, NodeKind::Switch, None, vec!["the real network".into()]);
            self.edge(&up.id, &id, EdgeKind::Lan, vec![up.name.clone()]);
            return;
        }
        let switch = self.ids.make("lan", "switch");
        self.node(
            &switch,
            NodeKind::Switch,
            Some(Group::Lan),
            vec!["switch".into()],
        );
        self.edge(
            &up.id,
            &switch,
            EdgeKind::Lan,
            vec![format!("{} ↔ uplink", up.name)],
        );
        for (i, n) in lab.lan_nodes.iter().enumerate() {
            let id = self.ids.make("n", &n.name);
            self.node(
                &id,
                NodeKind::LanMachine,
                Some(Group::Lan),
                vec![n.name.clone(), n.addr.to_string()],
            );
            self.edge(&switch, &id, EdgeKind::Lan, vec![format!("eth0 ↔ lan{i}")]);
        }
    }
}

/// A container's node: its name, its address (or where it will come from), the ports it
/// exposes, and its status unless it runs.
fn container_node(c: &ContainerView, id: &str) -> Node {
    let mut lines = vec![c.name.clone()];
    lines.extend(c.address.clone());
    if !c.expose.is_empty() {
        let ports: Vec<String> = c.expose.iter().map(ExposedPort::to_string).collect();
        lines.push(format!("expose {}", ports.join(", ")));
    }
    if let Some(s) = c.status {
        lines.push(s.to_string());
    }
    Node {
        id: id.to_string(),
        kind: NodeKind::Container,
        group: None,
        lines,
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::graph::fixtures::scenario;
    use crate::graph::to_mermaid;

    #[test]
    fn identifiers_are_safe_and_unique() {
        let mut ids = Ids::default();
        let cases = [
            ("c", "web", "c_web"),
            ("c", "a.b", "c_a_b"),
            ("c", "a_b", "c_a_b_2"),
            ("c", "a-b", "c_a_b_3"),
            ("c", "end", "c_end"),
            ("br", "br-1.2", "br_br_1_2"),
            ("uplink", "", "uplink"),
        ];
        for (prefix, name, want) in cases {
            assert_eq!(ids.make(prefix, name), want, "{prefix} {name}");
        }
    }

    /// Every node once, every edge between nodes that exist, every link and port drawn.
    #[test]
    fn every_scenario_is_a_consistent_graph() {
        for name in [
            "link", "port", "pipework", "lan", "article", "networks", "macvlan",
        ] {
            let s = scenario(name);
            let t = from_scenario(&s);
            let ids: HashSet<&str> = t.nodes.iter().map(|n| n.id.as_str()).collect();
            assert_eq!(ids.len(), t.nodes.len(), "{name}: duplicate ids");
            for e in &t.edges {
                assert!(
                    ids.contains(e.from.as_str()) && ids.contains(e.to.as_str()),
                    "{name}: {e:?}"
                );
            }
            let count = |k: EdgeKind| t.edges.iter().filter(|e| e.kind == k).count();
            let links: usize = s.containers.iter().map(|c| c.spec.links.len()).sum();
            let ports: usize = s.containers.iter().map(|c| c.spec.publish.len()).sum();
            // One wire per network a container is on: a veth, or a macvlan device.
            let on = |macvlan: bool| -> usize {
                s.containers
                    .iter()
                    .flat_map(|c| c.spec.attachments())
                    .filter(|a| {
                        let driver = s.networks.iter().find(|n| n.name == a.network);
                        driver.is_some_and(|n| n.driver == Driver::Macvlan) == macvlan
                    })
                    .count()
            };
            assert_eq!(count(EdgeKind::Veth), on(false), "{name}");
            assert_eq!(count(EdgeKind::Macvlan), on(true), "{name}");
            assert_eq!(count(EdgeKind::Link), links, "{name}");
            assert_eq!(count(EdgeKind::Publish), ports, "{name}");
            assert_eq!(count(EdgeKind::Pipework), s.pipework.len(), "{name}");
            assert_eq!(count(EdgeKind::Attach), usize::from(s.lab.attach_uplink));
        }
    }

    fn labels(t: &Topology) -> Vec<String> {
        t.nodes
            .iter()
            .map(|n| n.lines.join(" / "))
            .chain(t.edges.iter().map(|e| e.lines.join(" / ")))
            .collect()
    }

    #[test]
    fn what_a_scenario_does_not_say_is_derived_as_the_lab_will() {
        let text = r#"
[lab]
uplink = "eth1=10.2.0.10/16"
lan-nodes = ["pc=10.2.0.1/16"]

[[container]]
name = "web"
command = "sleep 1000"
expose = ["8080", "53/udp"]
publish = ["127.0.0.1:9000:8080"]
publish-all = true

[[pipework]]
bridge = "br1"
container = "web"
address = "10.3.0.5/24@10.3.0.1"

[[pipework]]
bridge = "docker0"
container = "web"
host-interface = "pw-web"
address = "172.17.5.5/16"
"#;
        let t = from_scenario(&crate::scenario::parse(text, Path::new("x.toml")).unwrap());
        let labels = labels(&t);
        let eth1 = pipework_host_ifname("web", "eth1");
        let cases = [
            "web / dynamic in 172.17.0.0/16 / expose 8080/tcp, 53/udp".to_string(),
            format!("eth0 ↔ {}", host_veth_name("web", 0)),
            "127.0.0.1:9000 → web:8080".into(),
            "0.0.0.0:random → web:53/udp".into(),
            format!("eth1 ↔ {eth1} / 10.3.0.5/24 gw 10.3.0.1"),
            "eth2 ↔ pw-web / 172.17.5.5/16".into(),
            "br1 / made by pipework".into(),
            "eth1 / 10.2.0.10/16 / not attached to docker0".into(),
            "pc / 10.2.0.1/16".into(),
        ];
        for want in cases {
            assert!(labels.contains(&want), "no {want:?} in {labels:#?}");
        }
        assert!(eth1.starts_with("vpw") && eth1.len() <= 15, "{eth1}");
        assert!(
            !labels.iter().any(|l| l.contains("→ web:8080/")),
            "{labels:#?}"
        );
        assert!(t.edges.iter().all(|e| e.kind != EdgeKind::Attach));
    }

    fn endpoint(network: &str, ifname: &str, addr: &str, veth: &str) -> EndpointState {
        let net: Ipv4Net = addr.parse().unwrap();
        EndpointState {
            network: network.into(),
            network_id: format!("{network}-id"),
            ifname: ifname.into(),
            ip: net.addr,
            prefix: net.prefix,
            gateway: None,
            ip6: None,
            prefix6: 0,
            gateway6: None,
            mac: "02:42:00:00:00:01".into(),
            host_veth: veth.into(),
            aliases: vec![],
            static_ip: None,
            static_ip6: None,
        }
    }

    fn network(
        name: &str,
        driver: Driver,
        bridge: &str,
        subnets: &[(&str, Option<&str>)],
    ) -> NetworkState {
        NetworkState {
            id: format!("{name}-id"),
            name: name.into(),
            driver,
            created: 0,
            subnets: subnets
                .iter()
                .map(|(s, r)| network::SubnetSpec {
                    subnet: s.parse().unwrap(),
                    ip_range: r.map(|r| r.parse().unwrap()),
                    gateway: None,
                })
                .collect(),
            internal: false,
            ipv6: false,
            bridge: bridge.into(),
            parent: None,
            labels: BTreeMap::new(),
            containers: vec![],
        }
    }

    /// A running lab's networks: each bridge network with its real bridge and subnets, each
    /// container's wires with the addresses and aliases it has, the macvlan network on the
    /// uplink; a network the list lacks is drawn from its endpoints; a stopped container's
    /// wires have no address; a trace through a network's bridge highlights its wire.
    #[test]
    fn a_running_labs_networks_are_drawn_with_what_the_lab_has() {
        use crate::graph::fixtures::state;
        let mut spec = LabSpec::new("nets");
        spec.uplink = Some(crate::model::Uplink::parse("eth1=10.2.0.10/16").unwrap());
        let info = LabInfo {
            spec,
            containers: 4,
            running: 3,
            owned: true,
        };
        let mut db = state("db", [10, 78, 0, 2], "veth0000000001");
        let mut on_appnet = endpoint("appnet", "eth0", "10.78.0.2/24", "veth0000000001");
        on_appnet.aliases = vec!["mongo".into()];
        on_appnet.ip6 = Some("fd00:78::2".parse().unwrap());
        on_appnet.prefix6 = 64;
        db.networks = vec![
            on_appnet,
            endpoint("backend", "eth1", "172.18.0.2/16", "vpw0000000002"),
        ];
        db.faults = vec!["fault-1: loss 20% on db/eth1".into()];
        let mut web = state("web", [172, 17, 0, 2], "veth0000000003");
        web.networks = vec![
            endpoint("bridge", "eth0", "172.17.0.2/16", "veth0000000003"),
            endpoint("lannet", "eth1", "10.2.100.10/16", ""),
        ];
        let mut gone = state("gone", [10, 78, 0, 3], "veth0000000004");
        gone.networks = vec![endpoint("appnet", "eth0", "10.78.0.3/24", "veth0000000004")];
        gone.connected = false;
        gone.status = ContainerStatus::Exited;
        let mut alone = state("alone", [0, 0, 0, 0], "");
        alone.networks = vec![];
        let mut appnet = network(
            "appnet",
            Driver::Bridge,
            "br-0123456789ab",
            &[("10.78.0.0/24", None), ("fd00:78::/64", None)],
        );
        appnet.subnets[0].gateway = Some("10.78.0.1".parse().unwrap());
        appnet.internal = true;
        let mut lannet = network(
            "lannet",
            Driver::Macvlan,
            "",
            &[("10.2.0.0/16", Some("10.2.100.0/24"))],
        );
        lannet.parent = Some("eth1".into());
        let predefined = network(
            "bridge",
            Driver::Bridge,
            "docker0",
            &[("172.17.0.0/16", None)],
        );
        let t = from_lab_networks(
            &info,
            &[db, web, gone, alone],
            &[predefined, appnet, lannet],
        );
        let labels = labels(&t);
        for want in [
            "appnet / br-0123456789ab / 10.78.0.0/24 gw 10.78.0.1 / fd00:78::/64 / internal",
            "backend",
            "db",
            "eth0 ↔ veth0000000001 / 10.78.0.2/24 (aka mongo) / fd00:78::2/64",
            "eth1 ↔ vpw0000000002 / 172.18.0.2/16 / ⚡ fault-1: loss 20% on db/eth1",
            "web / 172.17.0.2/16",
            "eth0 ↔ veth0000000003",
            "eth1 macvlan of eth1 (lannet) / 10.2.100.10/16",
            "gone / exited",
            "eth0 ↔ veth0000000004 / no address",
            "alone / no network (loopback only)",
            "eth1 / 10.2.0.10/16 / not attached to docker0 / macvlan network lannet / 10.2.0.0/16 / dynamic range 10.2.100.0/24",
        ] {
            assert!(
                labels.iter().any(|l| l == want),
                "no {want:?} in {labels:#?}"
            );
        }
        // The predefined networks are not drawn again: docker0 is the lab's bridge.
        assert_eq!(
            t.nodes
                .iter()
                .filter(|n| n.kind == NodeKind::Bridge)
                .count(),
            3,
            "{labels:#?}"
        );
        let count = |k: EdgeKind| t.edges.iter().filter(|e| e.kind == k).count();
        assert_eq!((count(EdgeKind::Veth), count(EdgeKind::Macvlan)), (4, 1));

        // A request from web's LAN to db crosses appnet's bridge, by the trace's names.
        let trace = crate::model::trace::Trace {
            probe: "tcp 10.78.0.9:4000 -> 10.78.0.2:27017".into(),
            from: "x".into(),
            steps: vec![crate::model::trace::Step {
                leg: crate::model::trace::Leg::Request,
                place: "lab host".into(),
                kind: crate::model::trace::StepKind::Bridge {
                    bridge: "br-0123456789ab".into(),
                    mac: "02:42:00:00:00:01".into(),
                    from_port: None,
                    port: Some("veth0000000001".into()),
                    decision: "fdb".into(),
                },
            }],
            verdict: crate::model::trace::Verdict::Delivered {
                place: "container db".into(),
                addr: "10.78.0.2:27017".into(),
                process: None,
                pid: None,
            },
            elapsed_ms: 1,
        };
        let h = crate::graph::trace_path(&t, &trace);
        assert_eq!(
            h.nodes.iter().map(String::as_str).collect::<Vec<_>>(),
            ["c_db", "net_appnet"]
        );
        let wires: Vec<(&str, &str)> = h
            .edges
            .iter()
            .map(|&i| (t.edges[i].from.as_str(), t.edges[i].to.as_str()))
            .collect();
        assert_eq!(wires, [("c_db", "net_appnet")]);
    }

    #[test]
    fn a_real_uplink_leads_to_the_real_network() {
        let mut spec = LabSpec::new("vm");
        spec.uplink_dev = Some("enp0s8".into());
        spec.attach_uplink = true;
        let info = LabInfo {
            spec,
            containers: 0,
            running: 0,
            owned: false,
        };
        let t = from_lab(&info, &[]);
        let labels = labels(&t);
        for want in [
            "enp0s8 / real interface / no address, a port of docker0",
            "the real network",
            "attached",
            "enp0s8",
        ] {
            assert!(
                labels.iter().any(|l| l == want),
                "no {want:?} in {labels:#?}"
            );
        }
        assert!(!t.nodes.iter().any(|n| n.group == Some(Group::Lan)));
        assert!(!to_mermaid(&t).contains("subgraph lan"));
    }
}
