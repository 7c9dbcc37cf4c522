//! The Mermaid renderer: a [`Topology`] as a `flowchart LR` that GitHub and most Markdown
//! viewers draw, with the lab host and the LAN as subgraphs.

use std::fmt::Write as _;

use super::highlight::Highlight;
use super::topology::{EdgeKind, Group, Node, NodeKind, Topology};

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
/// the LAN as subgraphs, wires as `---` (veths, pipework, macvlan devices, the LAN's),
/// links as dashed `-.->|alias|`, DNAT as `-->`.
pub fn to_mermaid(t: &Topology) -> String {
    to_mermaid_with(t, &Highlight::default())
}

/// How a highlighted node (`classDef traced`) or edge (`linkStyle`) is drawn.
const HIGHLIGHT: &str = "stroke:#d62728,stroke-width:3px";

/// [`to_mermaid`] with the nodes of `h` in class `traced` and its edges styled by
/// `linkStyle` (Mermaid numbers links in the order they are written, which is the order
/// of [`Topology::edges`]), both thick and red.
pub fn to_mermaid_with(t: &Topology, h: &Highlight) -> String {
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
            EdgeKind::Veth | EdgeKind::Pipework | EdgeKind::Lan | EdgeKind::Macvlan => "---",
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
    // The kinds' classes come first, so the traced class's stroke wins.
    let traced: Vec<&str> = t
        .nodes
        .iter()
        .filter(|n| h.nodes.contains(&n.id))
        .map(|n| n.id.as_str())
        .collect();
    if !traced.is_empty() {
        let _ = writeln!(out, "  classDef traced {HIGHLIGHT}");
        let _ = writeln!(out, "  class {} traced", traced.join(","));
    }
    let links: Vec<String> = h
        .edges
        .iter()
        .filter(|&&i| i < t.edges.len())
        .map(|i| i.to_string())
        .collect();
    if !links.is_empty() {
        let _ = writeln!(out, "  linkStyle {} {HIGHLIGHT}", links.join(","));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::graph::fixtures::{networks_scenario, scenario, small_lab};
    use crate::graph::from_scenario;

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

    /// User-defined networks: each bridge network a bridge of its own (subnets, range,
    /// gateway, `internal`), wires with addresses and aliases, the macvlan network on the
    /// uplink, a container on `none` with no wire, a fault on the wire it names.
    const NETWORKS_MERMAID: &str = r##"---
title: "scenario networks-demo.toml"
---
flowchart LR
  subgraph host["lab host"]
    br_docker0{{"docker0<br/>172.17.0.1/16"}}
    net_appnet{{"appnet<br/>10.78.0.0/24 gw 10.78.0.1<br/>dynamic range 10.78.0.128/25<br/>fd00:78::/64"}}
    net_backend{{"backend<br/>subnet from the pool<br/>internal"}}
    uplink(["eth1<br/>10.2.0.10/16<br/>not attached to docker0<br/>macvlan network lannet<br/>10.2.0.0/16 gw 10.2.0.1<br/>dynamic range 10.2.100.0/24"])
    p_web_8080_tcp[/"0.0.0.0:8080 → web:8080"/]
  end
  subgraph lan["simulated LAN"]
    lan_switch{{"switch"}}
    n_laptop("laptop<br/>10.2.0.1/16")
  end
  c_db["db"]
  c_web["web<br/>expose 8080/tcp"]
  c_old["old<br/>dynamic in 172.17.0.0/16"]
  c_client["client<br/>dynamic in 172.17.0.0/16"]
  c_alone["alone<br/>no network (loopback only)"]
  c_db ---|"eth0 ↔ vethfa287c0eb3<br/>10.78.0.2/24 (aka mongodb, mongo)<br/>dynamic in fd00:78::/64"| net_appnet
  c_db ---|"eth1 ↔ vpw52f7b403ed<br/>dynamic, subnet from the pool<br/>⚡ delay 100ms on db/eth1"| net_backend
  c_web ---|"eth0 ↔ veth128132d181<br/>dynamic in 10.78.0.128/25<br/>dynamic in fd00:78::/64"| net_appnet
  c_web ---|"eth1 macvlan of eth1 (lannet)<br/>10.2.100.10/16"| uplink
  p_web_8080_tcp -->|DNAT| c_web
  c_old ---|"eth0 ↔ veth12f849d2a6"| br_docker0
  c_old ---|"eth1 ↔ vpw77490b2378<br/>dynamic in 10.78.0.128/25<br/>dynamic in fd00:78::/64"| net_appnet
  c_client ---|"eth0 ↔ vethadccde9a0e"| br_docker0
  c_client -.->|legacy| c_old
  uplink ---|"eth1 ↔ uplink"| lan_switch
  lan_switch ---|"eth0 ↔ lan0"| n_laptop
  classDef bridge fill:#ffe0b3,stroke:#b36b00
  class br_docker0,net_appnet,net_backend,lan_switch bridge
  classDef iface fill:#eeeeee,stroke:#666666
  class uplink iface
  classDef port fill:#dcefc8,stroke:#3a7d1e
  class p_web_8080_tcp port
  classDef container fill:#d6e9ff,stroke:#2f5f9e
  class c_db,c_web,c_old,c_client,c_alone container
  classDef machine fill:#e8e0f5,stroke:#5b4a8a
  class n_laptop machine
"##;

    #[test]
    fn snapshots() {
        let cases = [
            ("small lab", small_lab(), SMALL_MERMAID),
            (
                "article.toml",
                from_scenario(&scenario("article")),
                ARTICLE_MERMAID,
            ),
            (
                "networks-demo.toml",
                from_scenario(&networks_scenario()),
                NETWORKS_MERMAID,
            ),
        ];
        for (name, t, mermaid) in cases {
            assert_eq!(
                to_mermaid(&t),
                mermaid,
                "Mermaid of {name}:\n{}",
                to_mermaid(&t)
            );
        }
    }

    #[test]
    fn highlighted_nodes_are_a_class_and_edges_a_link_style() {
        let t = small_lab();
        let h = Highlight {
            nodes: ["c_a_b_2".to_string(), "br_docker0".to_string()].into(),
            edges: [2, 6, 99].into(),
        };
        let m = to_mermaid_with(&t, &h);
        assert!(
            m.ends_with(
                "  classDef traced stroke:#d62728,stroke-width:3px\n  \
                 class br_docker0,c_a_b_2 traced\n  \
                 linkStyle 2,6 stroke:#d62728,stroke-width:3px\n"
            ),
            "{m}"
        );
        // Link 2 and 6 as Mermaid counts them: the third and seventh written.
        let links: Vec<&str> = m.lines().filter(|l| l.contains("|")).collect();
        assert!(
            links[2].starts_with("  c_a_b_2 ---|\"eth0 ↔ veth0000000002"),
            "{m}"
        );
        assert!(
            links[6].starts_with("  p_a_b_80_tcp -->|DNAT| c_a_b_2"),
            "{m}"
        );
        assert_eq!(to_mermaid_with(&t, &Highlight::default()), to_mermaid(&t));
    }

    #[test]
    fn labels_are_escaped() {
        let lines = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
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
    }
}
