//! Pictures of a lab: its topology as data ([`Topology`]), drawn as Graphviz DOT
//! ([`to_dot`]) or Mermaid ([`to_mermaid`]).
//!
//! Students understand Docker's networking when they see where the wires go: which veth
//! joins a container to the bridge, which interface pipework added with which static
//! address, that a link is a name and not a wire, that a published port is a rule on the
//! host, and whether the uplink is a port of the bridge. A topology is plain data, built
//! either from a scenario file before it runs ([`from_scenario`]: dynamic addresses are not
//! known yet, so the picture says where they will come from) or from a running lab
//! ([`from_lab_networks`]: the addresses and interface names the lab really has). Both go
//! through one builder, so the two pictures of the same setup differ only in the addresses
//! (and in the bridge names of user-defined networks, which the lab derives from their
//! random IDs). A user-defined network is a bridge of its own, its containers' wires
//! labelled with their addresses and aliases; a macvlan network has no bridge, its
//! containers' wires go to its parent interface.
//!
//! A picture can highlight the path a [`Trace`](crate::Trace) took ([`trace_path`] gives
//! the nodes and edges; [`to_dot_with`] and [`to_mermaid_with`] draw them thick and red).
//!
//! Everything here is pure and deterministic (nodes and edges in file or creation order),
//! so the pictures can be snapshot-tested and committed; `netlab graph` does the I/O.

// The data and its builders in topology.rs, one renderer per file; the public paths are
// the re-exports below.
mod dot;
mod highlight;
mod mermaid;
mod topology;

pub use dot::{to_dot, to_dot_with};
pub use highlight::{Highlight, trace_path};
pub use mermaid::{to_mermaid, to_mermaid_with};
pub use topology::{
    Edge, EdgeKind, Group, Node, NodeKind, Topology, from_lab, from_lab_networks, from_scenario,
};

/// What the tests of the builders and of both renderers draw: the scenario files, and a
/// running lab with one of everything.
#[cfg(test)]
mod fixtures {
    use std::path::PathBuf;

    use super::{Topology, from_lab};
    use crate::model::links::LinkSpec;
    use crate::model::{
        CommandSpec, ContainerState, ContainerStatus, LabSpec, LanNode, PipeworkIf, PortBinding,
        Proto, Uplink,
    };
    use crate::proto::LabInfo;
    use crate::scenario::Scenario;

    pub(crate) fn scenario(name: &str) -> Scenario {
        let file = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../scenarios")
            .join(format!("{name}.toml"));
        crate::scenario::load(&file).unwrap()
    }

    /// A scenario with one of every kind of network: a dual-stack bridge network with a
    /// range and aliases, an internal one from the pool, a macvlan one on the uplink; a
    /// container on two networks (one of them macvlan), one on the default bridge and a
    /// network, one linking to it, one on `none`, and a fault on a network's wire.
    pub(crate) fn networks_scenario() -> Scenario {
        let text = r#"
[lab]
uplink = "eth1=10.2.0.10/16"
lan-nodes = ["laptop=10.2.0.1/16"]

[[network]]
name = "appnet"
subnet = ["10.78.0.0/24", "fd00:78::/64"]
ip-range = "10.78.0.128/25"
gateway = "10.78.0.1"
ipv6 = true

[[network]]
name = "backend"
internal = true

[[network]]
name = "lannet"
driver = "macvlan"
parent = "eth1"
subnet = "10.2.0.0/16"
ip-range = "10.2.100.0/24"
gateway = "10.2.0.1"

[[container]]
name = "db"
command = "sleep 1000"
networks = [{ name = "appnet", aliases = ["mongodb", "mongo"], ip = "10.78.0.2" }, "backend"]

[[container]]
name = "web"
command = "sleep 1000"
networks = ["appnet", { name = "lannet", ip = "10.2.100.10" }]
publish = ["8080:8080"]

[[container]]
name = "old"
command = "sleep 1000"
networks = ["bridge", "appnet"]

[[container]]
name = "client"
command = "sleep 1000"
links = ["old:legacy"]

[[container]]
name = "alone"
command = "sleep 1000"
networks = ["none"]

[[fault]]
container = "db"
interface = "eth1"
delay = "100ms"
"#;
        crate::scenario::parse(text, &PathBuf::from("/x/networks-demo.toml")).unwrap()
    }

    pub(crate) fn state(name: &str, ip: [u8; 4], veth: &str) -> ContainerState {
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
            network_mode: "default".into(),
            none_network_id: None,
            ip: ip.into(),
            connected: true,
            faults: vec![],
            networks: vec![],
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
    pub(crate) fn small_lab() -> Topology {
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
}
