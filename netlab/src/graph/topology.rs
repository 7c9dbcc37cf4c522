//! A lab's topology as data: the [`Topology`] with its nodes and edges, and how it is built
//! from a scenario file ([`from_scenario`]) or from a running lab ([`from_lab`]).
//!
//! Both sources are first described the same way (one `ContainerView` per container),
//! then one builder draws the parts in order: the lab host, the containers with their
//! pipework interfaces, links and ports, and the LAN behind the uplink.

use std::collections::{BTreeMap, HashSet};
use std::net::Ipv4Addr;

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
    /// The lab's bridge (`docker0`) or one that pipework made.
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
    /// A container's `eth0` on the lab's bridge: a veth pair.
    Veth,
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
    let containers = s
        .containers
        .iter()
        .map(|c| {
            let spec = &c.spec;
            // As the lab does, like Docker: a published port is exposed too, and `-P`
            // publishes every exposed port not published already, on a free host port.
            let expose = spec.exposed_ports();
            let ports = spec.wanted_bindings();
            // Pipework names its interface eth1, eth2, ... unless told, in file order.
            let mut taken = vec!["eth0".to_string()];
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
                address: dynamic.clone(),
                status: None,
                expose,
                host_veth: host_veth_name(&spec.name, 0),
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
    build(format!("scenario {file}"), &s.lab, &containers)
}

/// The topology of a running lab: the addresses, interface names and host ports it has.
pub fn from_lab(info: &LabInfo, containers: &[ContainerState]) -> Topology {
    let views = containers
        .iter()
        .map(|c| ContainerView {
            name: c.name.clone(),
            // A stopped container holds no address (as with Docker).
            address: if c.connected {
                format!("{}/{}", c.ip, c.prefix)
            } else {
                "no address".into()
            },
            status: match c.status {
                ContainerStatus::Running => None,
                ContainerStatus::Created => Some("created"),
                ContainerStatus::Exited => Some("exited"),
            },
            expose: c.expose.clone(),
            host_veth: c.host_veth.clone(),
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
        })
        .collect::<Vec<_>>();
    build(format!("lab {}", info.spec.name), &info.spec, &views)
}

/// The host-side name pipework gives an interface when not told one, derived as the lab
/// supervisor derives it (a hash of `container/ifname`, salted apart from the veths).
fn pipework_host_ifname(container: &str, ifname: &str) -> String {
    crate::model::names::pipework_host_ifname(container, ifname, 0)
}

/// One container as both sources describe it.
struct ContainerView {
    name: String,
    address: String,
    status: Option<&'static str>,
    expose: Vec<ExposedPort>,
    host_veth: String,
    pipework: Vec<PipeView>,
    links: Vec<LinkSpec>,
    ports: Vec<PortBinding>,
    /// The faults acting on it, one line each, drawn on its `eth0` wire.
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
fn build(title: String, lab: &LabSpec, containers: &[ContainerView]) -> Topology {
    let mut b = Builder::default();
    let host = b.lab_host(lab, containers);
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

    /// The lab host: its bridge, the bridges pipework makes, and the uplink. The published
    /// ports are the host's too; they are drawn with the containers that publish them.
    fn lab_host(&mut self, lab: &LabSpec, containers: &[ContainerView]) -> Host {
        let bridge = self.ids.make("br", &lab.bridge);
        let mut lines = vec![lab.bridge.clone(), lab.bip.to_string()];
        if let Some(r) = lab.ip_range {
            lines.push(format!("dynamic range {}", r.canonical()));
        }
        self.node(&bridge, NodeKind::Bridge, Some(Group::Host), lines);
        let mut bridges = BTreeMap::from([(lab.bridge.clone(), bridge.clone())]);
        self.pipework_bridges(containers, &mut bridges);
        let uplink = self.uplink(lab);
        Host {
            bridge,
            bridges,
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
    fn uplink(&mut self, lab: &LabSpec) -> Option<UplinkNode> {
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
            let mut wire = vec![format!("eth0 ↔ {}", c.host_veth)];
            wire.extend(c.faults.iter().map(|f| format!("⚡ {f}")));
            self.edge(&id, &host.bridge, EdgeKind::Veth, wire);
            self.pipework(c, &id, &host.bridges);
            self.links(c, &id, &mut ids, &mut drawn);
            self.ports(c, &id);
        }
        self.nodes.extend(drawn);
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
    let mut lines = vec![c.name.clone(), c.address.clone()];
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
        for name in ["link", "port", "pipework", "lan", "article"] {
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
            assert_eq!(count(EdgeKind::Veth), s.containers.len(), "{name}");
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
