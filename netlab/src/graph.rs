//! Pictures of a lab: its topology as data ([`Topology`]), drawn as Graphviz DOT
//! ([`to_dot`]) or Mermaid ([`to_mermaid`]).
//!
//! Students understand Docker's networking when they see where the wires go: which veth
//! joins a container to the bridge, which interface pipework added with which static
//! address, that a link is a name and not a wire, that a published port is a rule on the
//! host, and whether the uplink is a port of the bridge. A topology is plain data, built
//! either from a scenario file before it runs ([`from_scenario`]: dynamic addresses are not
//! known yet, so the picture says where they will come from) or from a running lab
//! ([`from_lab`]: the addresses and interface names the lab really has). Both go through
//! one builder, so the two pictures of the same setup differ only in the addresses.
//!
//! Everything here is pure and deterministic (nodes and edges in file or creation order),
//! so the pictures can be snapshot-tested and committed; `netlab graph` does the I/O.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
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
    const ALL: [Group; 2] = [Group::Host, Group::Lan];

    fn id(self) -> &'static str {
        match self {
            Group::Host => "host",
            Group::Lan => "lan",
        }
    }

    fn label(self) -> &'static str {
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
            address: format!("{}/{}", c.ip, c.prefix),
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

fn build(title: String, lab: &LabSpec, containers: &[ContainerView]) -> Topology {
    let mut ids = Ids::default();
    let mut nodes = Vec::new();
    let mut edges = Vec::new();
    let edge = |from: &str, to: &str, kind, lines: Vec<String>| Edge {
        from: from.to_string(),
        to: to.to_string(),
        kind,
        lines,
    };

    // The lab host: its bridge, the bridges pipework makes, the uplink, then the ports.
    let mut bridges: BTreeMap<String, String> = BTreeMap::new();
    let bridge_id = ids.make("br", &lab.bridge);
    bridges.insert(lab.bridge.clone(), bridge_id.clone());
    let mut lines = vec![lab.bridge.clone(), lab.bip.to_string()];
    if let Some(r) = lab.ip_range {
        lines.push(format!("dynamic range {}", r.canonical()));
    }
    nodes.push(Node {
        id: bridge_id.clone(),
        kind: NodeKind::Bridge,
        group: Some(Group::Host),
        lines,
    });
    for p in containers.iter().flat_map(|c| &c.pipework) {
        if !bridges.contains_key(&p.bridge) {
            let id = ids.make("br", &p.bridge);
            bridges.insert(p.bridge.clone(), id.clone());
            nodes.push(Node {
                id,
                kind: NodeKind::Bridge,
                group: Some(Group::Host),
                lines: vec![p.bridge.clone(), "made by pipework".into()],
            });
        }
    }
    let uplink = match (&lab.uplink, &lab.uplink_dev) {
        (Some(u), _) => Some((u.name.clone(), u.addr.map(|a| a.to_string()), false)),
        (None, Some(d)) => Some((d.clone(), None, true)),
        (None, None) => None,
    };
    let uplink_id = uplink.as_ref().map(|(name, addr, real)| {
        let id = ids.make("uplink", "");
        let mut lines = vec![name.clone()];
        if *real {
            lines.push("real interface".into());
        }
        if lab.attach_uplink {
            lines.push(format!("no address, a port of {}", lab.bridge));
        } else {
            lines.push(addr.clone().unwrap_or_else(|| "no address".into()));
            lines.push(format!("not attached to {}", lab.bridge));
        }
        nodes.push(Node {
            id: id.clone(),
            kind: NodeKind::Uplink,
            group: Some(Group::Host),
            lines,
        });
        id
    });

    // Identifiers first, so that a link may point at any container.
    let mut container_ids: BTreeMap<String, String> = BTreeMap::new();
    for c in containers {
        let id = ids.make("c", &c.name);
        container_ids.insert(c.name.clone(), id);
    }
    let mut container_nodes = Vec::new();
    for c in containers {
        let id = container_ids.get(&c.name).cloned().unwrap_or_default();
        let mut lines = vec![c.name.clone(), c.address.clone()];
        if !c.expose.is_empty() {
            let ports: Vec<String> = c.expose.iter().map(ExposedPort::to_string).collect();
            lines.push(format!("expose {}", ports.join(", ")));
        }
        if let Some(s) = c.status {
            lines.push(s.to_string());
        }
        container_nodes.push(Node {
            id: id.clone(),
            kind: NodeKind::Container,
            group: None,
            lines,
        });
        edges.push(edge(
            &id,
            &bridge_id,
            EdgeKind::Veth,
            vec![format!("eth0 ↔ {}", c.host_veth)],
        ));
        for p in &c.pipework {
            let to = bridges.get(&p.bridge).cloned().unwrap_or_default();
            let addr = match p.gateway {
                Some(g) => format!("{} gw {g}", p.addr),
                None => p.addr.to_string(),
            };
            edges.push(edge(
                &id,
                &to,
                EdgeKind::Pipework,
                vec![format!("{} ↔ {}", p.ifname, p.host_ifname), addr],
            ));
        }
        for l in &c.links {
            let to = match container_ids.get(&l.name) {
                Some(to) => to.clone(),
                None => {
                    // Linked to a container the lab no longer has: draw it, say so.
                    let to = ids.make("c", &l.name);
                    container_ids.insert(l.name.clone(), to.clone());
                    container_nodes.push(Node {
                        id: to.clone(),
                        kind: NodeKind::Container,
                        group: None,
                        lines: vec![l.name.clone(), "not in the lab".into()],
                    });
                    to
                }
            };
            edges.push(edge(&id, &to, EdgeKind::Link, vec![l.alias.clone()]));
        }
        for b in &c.ports {
            let port_id = ids.make(
                "p",
                &format!("{}_{}_{}", c.name, b.container_port, b.proto.as_str()),
            );
            nodes.push(Node {
                id: port_id.clone(),
                kind: NodeKind::Port,
                group: Some(Group::Host),
                lines: vec![port_label(b, &c.name)],
            });
            edges.push(edge(&port_id, &id, EdgeKind::Publish, vec!["DNAT".into()]));
        }
    }
    nodes.extend(container_nodes);

    // The uplink and what is behind it.
    if let (Some(up), Some((name, _, real))) = (&uplink_id, &uplink) {
        if lab.attach_uplink {
            edges.push(edge(
                &bridge_id,
                up,
                EdgeKind::Attach,
                vec!["attached".into()],
            ));
        }
        if *real {
            let id = ids.make("lan", "real");
            nodes.push(Node {
                id: id.clone(),
                kind: NodeKind::Switch,
                group: None,
                lines: vec!["the real network".into()],
            });
            edges.push(edge(up, &id, EdgeKind::Lan, vec![name.clone()]));
        } else {
            let switch = ids.make("lan", "switch");
            nodes.push(Node {
                id: switch.clone(),
                kind: NodeKind::Switch,
                group: Some(Group::Lan),
                lines: vec!["switch".into()],
            });
            edges.push(edge(
                up,
                &switch,
                EdgeKind::Lan,
                vec![format!("{name} ↔ uplink")],
            ));
            for (i, n) in lab.lan_nodes.iter().enumerate() {
                let id = ids.make("n", &n.name);
                nodes.push(Node {
                    id: id.clone(),
                    kind: NodeKind::LanMachine,
                    group: Some(Group::Lan),
                    lines: vec![n.name.clone(), n.addr.to_string()],
                });
                edges.push(edge(
                    &switch,
                    &id,
                    EdgeKind::Lan,
                    vec![format!("eth0 ↔ lan{i}")],
                ));
            }
        }
    }
    Topology {
        title,
        nodes,
        edges,
    }
}

/// A DOT string literal.
fn dot_str(lines: &[String]) -> String {
    let escaped: Vec<String> = lines
        .iter()
        .map(|l| l.replace('\\', "\\\\").replace('"', "\\\""))
        .collect();
    format!("\"{}\"", escaped.join("\\n"))
}

fn dot_node_attrs(kind: NodeKind) -> &'static str {
    match kind {
        NodeKind::Bridge => r##"shape=box, fillcolor="#ffe0b3""##,
        NodeKind::Uplink => r##"shape=ellipse, fillcolor="#eeeeee""##,
        NodeKind::Port => r##"shape=cds, fillcolor="#dcefc8""##,
        NodeKind::Container => r##"shape=box, style="rounded,filled", fillcolor="#d6e9ff""##,
        NodeKind::Switch => r##"shape=box, fillcolor="#ffe0b3""##,
        NodeKind::LanMachine => r##"shape=box, style="rounded,filled", fillcolor="#e8e0f5""##,
    }
}

fn dot_edge_attrs(kind: EdgeKind) -> &'static str {
    match kind {
        EdgeKind::Veth | EdgeKind::Pipework | EdgeKind::Lan => "dir=none",
        EdgeKind::Link => "style=dashed",
        EdgeKind::Publish => r##"color="#3a7d1e""##,
        EdgeKind::Attach => "dir=none, penwidth=2.5",
    }
}

/// Graphviz DOT (`dot -Tsvg` draws it): the lab host and the LAN as clusters, wires
/// without arrowheads, links dashed.
pub fn to_dot(t: &Topology) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "digraph netlab {{");
    let _ = writeln!(
        out,
        "  graph [rankdir=LR, label={}, labelloc=t, fontname=\"Helvetica\"];",
        dot_str(std::slice::from_ref(&t.title))
    );
    let _ = writeln!(
        out,
        "  node [fontname=\"Helvetica\", fontsize=11, style=filled];"
    );
    let _ = writeln!(out, "  edge [fontname=\"Helvetica\", fontsize=9];");
    let node_line = |out: &mut String, indent: &str, n: &Node| {
        let _ = writeln!(
            out,
            "{indent}{} [label={}, {}];",
            n.id,
            dot_str(&n.lines),
            dot_node_attrs(n.kind)
        );
    };
    for g in Group::ALL {
        let members: Vec<&Node> = t.nodes.iter().filter(|n| n.group == Some(g)).collect();
        if members.is_empty() {
            continue;
        }
        let _ = writeln!(out, "  subgraph cluster_{} {{", g.id());
        let _ = writeln!(
            out,
            "    label={}; style=\"rounded,filled\"; fillcolor=\"#f7f7f7\";",
            dot_str(&[g.label().to_string()])
        );
        for n in members {
            node_line(&mut out, "    ", n);
        }
        let _ = writeln!(out, "  }}");
    }
    for n in t.nodes.iter().filter(|n| n.group.is_none()) {
        node_line(&mut out, "  ", n);
    }
    for e in &t.edges {
        // A DNAT edge is written backwards with its arrowhead at the container, so that
        // the host's ports rank beside the bridge instead of left of the containers.
        let (from, to, back) = match e.kind {
            EdgeKind::Publish => (&e.to, &e.from, ", dir=back"),
            _ => (&e.from, &e.to, ""),
        };
        let _ = writeln!(
            out,
            "  {from} -> {to} [label={}, {}{back}];",
            dot_str(&e.lines),
            dot_edge_attrs(e.kind)
        );
    }
    let _ = writeln!(out, "}}");
    out
}

/// Text inside a Mermaid label: quotes and angle brackets as entities (labels are HTML),
/// lines joined with `<br/>`.
fn mermaid_text(lines: &[String]) -> String {
    let escaped: Vec<String> = lines
        .iter()
        .map(|l| {
            l.replace('#', "#35;")
                .replace('"', "#quot;")
                .replace('<', "#lt;")
                .replace('>', "#gt;")
        })
        .collect();
    escaped.join("<br/>")
}

/// An edge label: bare when it is a plain word (`-.->|mongo|`), else quoted.
fn mermaid_edge_label(lines: &[String]) -> String {
    let plain = lines.len() == 1
        && lines[0]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if plain {
        lines[0].clone()
    } else {
        format!("\"{}\"", mermaid_text(lines))
    }
}

fn mermaid_node(n: &Node) -> String {
    let text = mermaid_text(&n.lines);
    match n.kind {
        NodeKind::Bridge | NodeKind::Switch => format!("{}{{{{\"{text}\"}}}}", n.id),
        NodeKind::Uplink => format!("{}([\"{text}\"])", n.id),
        NodeKind::Port => format!("{}[/\"{text}\"/]", n.id),
        NodeKind::Container => format!("{}[\"{text}\"]", n.id),
        NodeKind::LanMachine => format!("{}(\"{text}\")", n.id),
    }
}

fn mermaid_class(kind: NodeKind) -> &'static str {
    match kind {
        NodeKind::Bridge | NodeKind::Switch => "bridge",
        NodeKind::Uplink => "iface",
        NodeKind::Port => "port",
        NodeKind::Container => "container",
        NodeKind::LanMachine => "machine",
    }
}

/// Mermaid (`flowchart LR`; GitHub and most Markdown viewers draw it): the lab host and
/// the LAN as subgraphs, wires as `---`, links as dashed `-.->|alias|`, DNAT as `-->`.
pub fn to_mermaid(t: &Topology) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "---");
    // A YAML string, quoted so that any file name is one.
    let _ = writeln!(
        out,
        "title: \"{}\"",
        t.title.replace('\\', "\\\\").replace('"', "\\\"")
    );
    let _ = writeln!(out, "---");
    let _ = writeln!(out, "flowchart LR");
    for g in Group::ALL {
        let members: Vec<&Node> = t.nodes.iter().filter(|n| n.group == Some(g)).collect();
        if members.is_empty() {
            continue;
        }
        let _ = writeln!(out, "  subgraph {}[\"{}\"]", g.id(), g.label());
        for n in members {
            let _ = writeln!(out, "    {}", mermaid_node(n));
        }
        let _ = writeln!(out, "  end");
    }
    for n in t.nodes.iter().filter(|n| n.group.is_none()) {
        let _ = writeln!(out, "  {}", mermaid_node(n));
    }
    for e in &t.edges {
        let arrow = match e.kind {
            EdgeKind::Veth | EdgeKind::Pipework | EdgeKind::Lan => "---",
            EdgeKind::Link => "-.->",
            EdgeKind::Publish => "-->",
            EdgeKind::Attach => "===",
        };
        let _ = writeln!(
            out,
            "  {} {arrow}|{}| {}",
            e.from,
            mermaid_edge_label(&e.lines),
            e.to
        );
    }
    let classes = [
        ("bridge", "fill:#ffe0b3,stroke:#b36b00"),
        ("iface", "fill:#eeeeee,stroke:#666666"),
        ("port", "fill:#dcefc8,stroke:#3a7d1e"),
        ("container", "fill:#d6e9ff,stroke:#2f5f9e"),
        ("machine", "fill:#e8e0f5,stroke:#5b4a8a"),
    ];
    for (class, style) in classes {
        let members: Vec<&str> = t
            .nodes
            .iter()
            .filter(|n| mermaid_class(n.kind) == class)
            .map(|n| n.id.as_str())
            .collect();
        if !members.is_empty() {
            let _ = writeln!(out, "  classDef {class} {style}");
            let _ = writeln!(out, "  class {} {class}", members.join(","));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::model::{CommandSpec, LanNode, PipeworkIf, Uplink};

    fn scenario(name: &str) -> Scenario {
        let file = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../scenarios")
            .join(format!("{name}.toml"));
        crate::scenario::load(&file).unwrap()
    }

    fn state(name: &str, ip: [u8; 4], veth: &str) -> ContainerState {
        ContainerState {
            id: format!("{name}-id"),
            name: name.into(),
            hostname: name.into(),
            env: vec![],
            command: CommandSpec::Shell("sleep 1000".into()),
            expose: vec![],
            status: ContainerStatus::Running,
            pid: 2,
            exit_code: None,
            restart_count: 0,
            restarting: false,
            restart_policy: Default::default(),
            auto_remove: false,
            ip: ip.into(),
            prefix: 24,
            gateway: [192, 168, 5, 1].into(),
            mac: "02:42:c0:a8:05:02".into(),
            host_veth: veth.into(),
            created: 0,
            started: Some(0),
            finished: None,
            links: vec![],
            ports: vec![],
            pipework: vec![],
        }
    }

    /// A running lab with one of everything: a udp port on a random host port, a pipework
    /// interface with a gateway on a bridge of its own, an exited container, a link to a
    /// container that is gone, names that clash once made identifiers, and an uplink that
    /// is not attached.
    fn small_lab() -> Topology {
        let mut spec = LabSpec::new("small");
        spec.bip = "192.168.5.1/24".parse().unwrap();
        spec.uplink = Some(Uplink::parse("eth1=10.9.0.2/24").unwrap());
        spec.lan_nodes = vec![LanNode::parse("pc=10.9.0.1/24").unwrap()];
        let info = LabInfo {
            spec,
            containers: 3,
            running: 2,
            owned: true,
        };
        let mut db = state("a.b", [192, 168, 5, 2], "veth0000000001");
        db.expose = crate::model::port::parse_expose("53/udp").unwrap();
        db.ports = vec![PortBinding {
            host_ip: Some([127, 0, 0, 1].into()),
            host_port: None,
            container_port: 53,
            proto: Proto::Udp,
        }];
        let mut web = state("a_b", [192, 168, 5, 3], "veth0000000002");
        web.links = vec![
            LinkSpec::parse("a.b:db").unwrap(),
            LinkSpec::parse("gone").unwrap(),
        ];
        web.ports = crate::model::publish::parse_publish("8080:80").unwrap();
        web.pipework = vec![PipeworkIf {
            bridge: "br1".into(),
            ifname: "eth1".into(),
            host_ifname: "vpw0000000003".into(),
            addr: "10.3.0.5/24".parse().unwrap(),
            gateway: Some([10, 3, 0, 1].into()),
            mac: "02:00:00:00:00:01".into(),
        }];
        let mut old = state("old", [192, 168, 5, 4], "veth0000000004");
        old.status = ContainerStatus::Exited;
        from_lab(&info, &[db, web, old])
    }

    const SMALL_DOT: &str = r##"digraph netlab {
  graph [rankdir=LR, label="lab small", labelloc=t, fontname="Helvetica"];
  node [fontname="Helvetica", fontsize=11, style=filled];
  edge [fontname="Helvetica", fontsize=9];
  subgraph cluster_host {
    label="lab host"; style="rounded,filled"; fillcolor="#f7f7f7";
    br_docker0 [label="docker0\n192.168.5.1/24", shape=box, fillcolor="#ffe0b3"];
    br_br1 [label="br1\nmade by pipework", shape=box, fillcolor="#ffe0b3"];
    uplink [label="eth1\n10.9.0.2/24\nnot attached to docker0", shape=ellipse, fillcolor="#eeeeee"];
    p_a_b_53_udp [label="127.0.0.1:random → a.b:53/udp", shape=cds, fillcolor="#dcefc8"];
    p_a_b_80_tcp [label="0.0.0.0:8080 → a_b:80", shape=cds, fillcolor="#dcefc8"];
  }
  subgraph cluster_lan {
    label="simulated LAN"; style="rounded,filled"; fillcolor="#f7f7f7";
    lan_switch [label="switch", shape=box, fillcolor="#ffe0b3"];
    n_pc [label="pc\n10.9.0.1/24", shape=box, style="rounded,filled", fillcolor="#e8e0f5"];
  }
  c_a_b [label="a.b\n192.168.5.2/24\nexpose 53/udp", shape=box, style="rounded,filled", fillcolor="#d6e9ff"];
  c_a_b_2 [label="a_b\n192.168.5.3/24", shape=box, style="rounded,filled", fillcolor="#d6e9ff"];
  c_gone [label="gone\nnot in the lab", shape=box, style="rounded,filled", fillcolor="#d6e9ff"];
  c_old [label="old\n192.168.5.4/24\nexited", shape=box, style="rounded,filled", fillcolor="#d6e9ff"];
  c_a_b -> br_docker0 [label="eth0 ↔ veth0000000001", dir=none];
  c_a_b -> p_a_b_53_udp [label="DNAT", color="#3a7d1e", dir=back];
  c_a_b_2 -> br_docker0 [label="eth0 ↔ veth0000000002", dir=none];
  c_a_b_2 -> br_br1 [label="eth1 ↔ vpw0000000003\n10.3.0.5/24 gw 10.3.0.1", dir=none];
  c_a_b_2 -> c_a_b [label="db", style=dashed];
  c_a_b_2 -> c_gone [label="gone", style=dashed];
  c_a_b_2 -> p_a_b_80_tcp [label="DNAT", color="#3a7d1e", dir=back];
  c_old -> br_docker0 [label="eth0 ↔ veth0000000004", dir=none];
  uplink -> lan_switch [label="eth1 ↔ uplink", dir=none];
  lan_switch -> n_pc [label="eth0 ↔ lan0", dir=none];
}
"##;
    const SMALL_MERMAID: &str = r##"---
title: "lab small"
---
flowchart LR
  subgraph host["lab host"]
    br_docker0{{"docker0<br/>192.168.5.1/24"}}
    br_br1{{"br1<br/>made by pipework"}}
    uplink(["eth1<br/>10.9.0.2/24<br/>not attached to docker0"])
    p_a_b_53_udp[/"127.0.0.1:random → a.b:53/udp"/]
    p_a_b_80_tcp[/"0.0.0.0:8080 → a_b:80"/]
  end
  subgraph lan["simulated LAN"]
    lan_switch{{"switch"}}
    n_pc("pc<br/>10.9.0.1/24")
  end
  c_a_b["a.b<br/>192.168.5.2/24<br/>expose 53/udp"]
  c_a_b_2["a_b<br/>192.168.5.3/24"]
  c_gone["gone<br/>not in the lab"]
  c_old["old<br/>192.168.5.4/24<br/>exited"]
  c_a_b ---|"eth0 ↔ veth0000000001"| br_docker0
  p_a_b_53_udp -->|DNAT| c_a_b
  c_a_b_2 ---|"eth0 ↔ veth0000000002"| br_docker0
  c_a_b_2 ---|"eth1 ↔ vpw0000000003<br/>10.3.0.5/24 gw 10.3.0.1"| br_br1
  c_a_b_2 -.->|db| c_a_b
  c_a_b_2 -.->|gone| c_gone
  p_a_b_80_tcp -->|DNAT| c_a_b_2
  c_old ---|"eth0 ↔ veth0000000004"| br_docker0
  uplink ---|"eth1 ↔ uplink"| lan_switch
  lan_switch ---|"eth0 ↔ lan0"| n_pc
  classDef bridge fill:#ffe0b3,stroke:#b36b00
  class br_docker0,br_br1,lan_switch bridge
  classDef iface fill:#eeeeee,stroke:#666666
  class uplink iface
  classDef port fill:#dcefc8,stroke:#3a7d1e
  class p_a_b_53_udp,p_a_b_80_tcp port
  classDef container fill:#d6e9ff,stroke:#2f5f9e
  class c_a_b,c_a_b_2,c_gone,c_old container
  classDef machine fill:#e8e0f5,stroke:#5b4a8a
  class n_pc machine
"##;
    const ARTICLE_DOT: &str = r##"digraph netlab {
  graph [rankdir=LR, label="scenario article.toml", labelloc=t, fontname="Helvetica"];
  node [fontname="Helvetica", fontsize=11, style=filled];
  edge [fontname="Helvetica", fontsize=9];
  subgraph cluster_host {
    label="lab host"; style="rounded,filled"; fillcolor="#f7f7f7";
    br_docker0 [label="docker0\n10.2.0.10/16\ndynamic range 10.2.1.0/24", shape=box, fillcolor="#ffe0b3"];
    uplink [label="eth1\nno address, a port of docker0", shape=ellipse, fillcolor="#eeeeee"];
    p_webserver_8080_tcp [label="0.0.0.0:8080 → webserver:8080", shape=cds, fillcolor="#dcefc8"];
  }
  subgraph cluster_lan {
    label="simulated LAN"; style="rounded,filled"; fillcolor="#f7f7f7";
    lan_switch [label="switch", shape=box, fillcolor="#ffe0b3"];
    n_laptop [label="laptop\n10.2.0.1/16", shape=box, style="rounded,filled", fillcolor="#e8e0f5"];
  }
  c_mongodb [label="mongodb\ndynamic in 10.2.1.0/24\nexpose 27017/tcp", shape=box, style="rounded,filled", fillcolor="#d6e9ff"];
  c_webserver [label="webserver\ndynamic in 10.2.1.0/24\nexpose 8080/tcp", shape=box, style="rounded,filled", fillcolor="#d6e9ff"];
  c_mongodb -> br_docker0 [label="eth0 ↔ veth06f3e66d51", dir=none];
  c_webserver -> br_docker0 [label="eth0 ↔ veth0d9aad8de6", dir=none];
  c_webserver -> br_docker0 [label="eth1 ↔ vpw115aba3594\n10.2.0.11/16", dir=none];
  c_webserver -> c_mongodb [label="mongo", style=dashed];
  c_webserver -> p_webserver_8080_tcp [label="DNAT", color="#3a7d1e", dir=back];
  br_docker0 -> uplink [label="attached", dir=none, penwidth=2.5];
  uplink -> lan_switch [label="eth1 ↔ uplink", dir=none];
  lan_switch -> n_laptop [label="eth0 ↔ lan0", dir=none];
}
"##;
    const ARTICLE_MERMAID: &str = r##"---
title: "scenario article.toml"
---
flowchart LR
  subgraph host["lab host"]
    br_docker0{{"docker0<br/>10.2.0.10/16<br/>dynamic range 10.2.1.0/24"}}
    uplink(["eth1<br/>no address, a port of docker0"])
    p_webserver_8080_tcp[/"0.0.0.0:8080 → webserver:8080"/]
  end
  subgraph lan["simulated LAN"]
    lan_switch{{"switch"}}
    n_laptop("laptop<br/>10.2.0.1/16")
  end
  c_mongodb["mongodb<br/>dynamic in 10.2.1.0/24<br/>expose 27017/tcp"]
  c_webserver["webserver<br/>dynamic in 10.2.1.0/24<br/>expose 8080/tcp"]
  c_mongodb ---|"eth0 ↔ veth06f3e66d51"| br_docker0
  c_webserver ---|"eth0 ↔ veth0d9aad8de6"| br_docker0
  c_webserver ---|"eth1 ↔ vpw115aba3594<br/>10.2.0.11/16"| br_docker0
  c_webserver -.->|mongo| c_mongodb
  p_webserver_8080_tcp -->|DNAT| c_webserver
  br_docker0 ===|attached| uplink
  uplink ---|"eth1 ↔ uplink"| lan_switch
  lan_switch ---|"eth0 ↔ lan0"| n_laptop
  classDef bridge fill:#ffe0b3,stroke:#b36b00
  class br_docker0,lan_switch bridge
  classDef iface fill:#eeeeee,stroke:#666666
  class uplink iface
  classDef port fill:#dcefc8,stroke:#3a7d1e
  class p_webserver_8080_tcp port
  classDef container fill:#d6e9ff,stroke:#2f5f9e
  class c_mongodb,c_webserver container
  classDef machine fill:#e8e0f5,stroke:#5b4a8a
  class n_laptop machine
"##;

    #[test]
    fn snapshots() {
        let cases = [
            ("small lab", small_lab(), SMALL_DOT, SMALL_MERMAID),
            (
                "article.toml",
                from_scenario(&scenario("article")),
                ARTICLE_DOT,
                ARTICLE_MERMAID,
            ),
        ];
        for (name, t, dot, mermaid) in cases {
            assert_eq!(to_dot(&t), dot, "DOT of {name}:\n{}", to_dot(&t));
            assert_eq!(
                to_mermaid(&t),
                mermaid,
                "Mermaid of {name}:\n{}",
                to_mermaid(&t)
            );
        }
    }

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

    #[test]
    fn labels_are_escaped() {
        let lines = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let dot = [
            (lines(&["a"]), r#""a""#),
            (lines(&["a\"b", "c\\d"]), r#""a\"b\nc\\d""#),
        ];
        for (input, want) in dot {
            assert_eq!(dot_str(&input), want, "{input:?}");
        }
        let mermaid = [
            (lines(&["mongo"]), "mongo"),
            (lines(&["web-1.x_y"]), "web-1.x_y"),
            (lines(&["DNAT", "x"]), r#""DNAT<br/>x""#),
            (lines(&["eth0 ↔ veth1"]), r#""eth0 ↔ veth1""#),
            (lines(&["a\"<b>#1"]), r#""a#quot;#lt;b#gt;#35;1""#),
        ];
        for (input, want) in mermaid {
            assert_eq!(mermaid_edge_label(&input), want, "{input:?}");
        }
        let s = crate::scenario::parse("", Path::new("/x/we\"ird.toml")).unwrap();
        let t = from_scenario(&s);
        assert!(
            to_mermaid(&t).starts_with("---\ntitle: \"scenario we\\\"ird.toml\"\n---\n"),
            "{}",
            to_mermaid(&t)
        );
        assert!(
            to_dot(&t).contains(r#"label="scenario we\"ird.toml""#),
            "{}",
            to_dot(&t)
        );
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
