//! The Graphviz DOT renderer: a [`Topology`] as text that `dot -Tsvg` draws, with the lab
//! host and the LAN as clusters, wires without arrowheads and links dashed.

use std::fmt::Write as _;

use super::highlight::Highlight;
use super::topology::{EdgeKind, Group, Node, NodeKind, Topology};

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
        // No veth: a device of the parent, drawn in the LAN machines' colour.
        EdgeKind::Macvlan => r##"dir=none, style=bold, color="#5b4a8a""##,
    }
}

/// How a highlighted node or edge is drawn: thick and red (written last, so it wins over
/// the kind's own colour).
const HIGHLIGHT: &str = r##", color="#d62728", penwidth=3"##;

/// Graphviz DOT (`dot -Tsvg` draws it): the lab host and the LAN as clusters, wires
/// without arrowheads, links dashed.
pub fn to_dot(t: &Topology) -> String {
    to_dot_with(t, &Highlight::default())
}

/// [`to_dot`] with the nodes and edges of `h` drawn thick and red (a traced path, see
/// [`trace_path`](super::trace_path)).
pub fn to_dot_with(t: &Topology, h: &Highlight) -> String {
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
            "{indent}{} [label={}, {}{}];",
            n.id,
            dot_str(&n.lines),
            dot_node_attrs(n.kind),
            if h.nodes.contains(&n.id) {
                HIGHLIGHT
            } else {
                ""
            }
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
    for (i, e) in t.edges.iter().enumerate() {
        // A DNAT edge is written backwards with its arrowhead at the container, so that
        // the host's ports rank beside the bridge instead of left of the containers.
        let (from, to, back) = match e.kind {
            EdgeKind::Publish => (&e.to, &e.from, ", dir=back"),
            _ => (&e.from, &e.to, ""),
        };
        let _ = writeln!(
            out,
            "  {from} -> {to} [label={}, {}{back}{}];",
            dot_str(&e.lines),
            dot_edge_attrs(e.kind),
            if h.edges.contains(&i) { HIGHLIGHT } else { "" }
        );
    }
    let _ = writeln!(out, "}}");
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::graph::fixtures::{networks_scenario, scenario, small_lab};
    use crate::graph::from_scenario;

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

    /// User-defined networks: each bridge network a bridge of its own (subnets, range,
    /// gateway, `internal`), wires with addresses and aliases, the macvlan network on the
    /// uplink, a container on `none` with no wire, a fault on the wire it names.
    const NETWORKS_DOT: &str = r##"digraph netlab {
  graph [rankdir=LR, label="scenario networks-demo.toml", labelloc=t, fontname="Helvetica"];
  node [fontname="Helvetica", fontsize=11, style=filled];
  edge [fontname="Helvetica", fontsize=9];
  subgraph cluster_host {
    label="lab host"; style="rounded,filled"; fillcolor="#f7f7f7";
    br_docker0 [label="docker0\n172.17.0.1/16", shape=box, fillcolor="#ffe0b3"];
    net_appnet [label="appnet\n10.78.0.0/24 gw 10.78.0.1\ndynamic range 10.78.0.128/25\nfd00:78::/64", shape=box, fillcolor="#ffe0b3"];
    net_backend [label="backend\nsubnet from the pool\ninternal", shape=box, fillcolor="#ffe0b3"];
    uplink [label="eth1\n10.2.0.10/16\nnot attached to docker0\nmacvlan network lannet\n10.2.0.0/16 gw 10.2.0.1\ndynamic range 10.2.100.0/24", shape=ellipse, fillcolor="#eeeeee"];
    p_web_8080_tcp [label="0.0.0.0:8080 → web:8080", shape=cds, fillcolor="#dcefc8"];
  }
  subgraph cluster_lan {
    label="simulated LAN"; style="rounded,filled"; fillcolor="#f7f7f7";
    lan_switch [label="switch", shape=box, fillcolor="#ffe0b3"];
    n_laptop [label="laptop\n10.2.0.1/16", shape=box, style="rounded,filled", fillcolor="#e8e0f5"];
  }
  c_db [label="db", shape=box, style="rounded,filled", fillcolor="#d6e9ff"];
  c_web [label="web\nexpose 8080/tcp", shape=box, style="rounded,filled", fillcolor="#d6e9ff"];
  c_old [label="old\ndynamic in 172.17.0.0/16", shape=box, style="rounded,filled", fillcolor="#d6e9ff"];
  c_client [label="client\ndynamic in 172.17.0.0/16", shape=box, style="rounded,filled", fillcolor="#d6e9ff"];
  c_alone [label="alone\nno network (loopback only)", shape=box, style="rounded,filled", fillcolor="#d6e9ff"];
  c_db -> net_appnet [label="eth0 ↔ vethfa287c0eb3\n10.78.0.2/24 (aka mongodb, mongo)\ndynamic in fd00:78::/64", dir=none];
  c_db -> net_backend [label="eth1 ↔ vpw52f7b403ed\ndynamic, subnet from the pool\n⚡ delay 100ms on db/eth1", dir=none];
  c_web -> net_appnet [label="eth0 ↔ veth128132d181\ndynamic in 10.78.0.128/25\ndynamic in fd00:78::/64", dir=none];
  c_web -> uplink [label="eth1 macvlan of eth1 (lannet)\n10.2.100.10/16", dir=none, style=bold, color="#5b4a8a"];
  c_web -> p_web_8080_tcp [label="DNAT", color="#3a7d1e", dir=back];
  c_old -> br_docker0 [label="eth0 ↔ veth12f849d2a6", dir=none];
  c_old -> net_appnet [label="eth1 ↔ vpw77490b2378\ndynamic in 10.78.0.128/25\ndynamic in fd00:78::/64", dir=none];
  c_client -> br_docker0 [label="eth0 ↔ vethadccde9a0e", dir=none];
  c_client -> c_old [label="legacy", style=dashed];
  uplink -> lan_switch [label="eth1 ↔ uplink", dir=none];
  lan_switch -> n_laptop [label="eth0 ↔ lan0", dir=none];
}
"##;

    #[test]
    fn snapshots() {
        let cases = [
            ("small lab", small_lab(), SMALL_DOT),
            (
                "article.toml",
                from_scenario(&scenario("article")),
                ARTICLE_DOT,
            ),
            (
                "networks-demo.toml",
                from_scenario(&networks_scenario()),
                NETWORKS_DOT,
            ),
        ];
        for (name, t, dot) in cases {
            assert_eq!(to_dot(&t), dot, "DOT of {name}:\n{}", to_dot(&t));
        }
    }

    #[test]
    fn highlighted_nodes_and_edges_are_thick_and_red() {
        let t = small_lab();
        let h = Highlight {
            nodes: ["c_a_b".to_string(), "br_docker0".to_string()].into(),
            edges: [0, 1].into(),
        };
        let dot = to_dot_with(&t, &h);
        for want in [
            r##"    br_docker0 [label="docker0\n192.168.5.1/24", shape=box, fillcolor="#ffe0b3", color="#d62728", penwidth=3];"##,
            r##"  c_a_b [label="a.b\n192.168.5.2/24\nexpose 53/udp", shape=box, style="rounded,filled", fillcolor="#d6e9ff", color="#d62728", penwidth=3];"##,
            r##"  c_a_b -> br_docker0 [label="eth0 ↔ veth0000000001", dir=none, color="#d62728", penwidth=3];"##,
            r##"  c_a_b -> p_a_b_53_udp [label="DNAT", color="#3a7d1e", dir=back, color="#d62728", penwidth=3];"##,
            r##"  c_a_b_2 -> br_docker0 [label="eth0 ↔ veth0000000002", dir=none];"##,
            r##"    br_br1 [label="br1\nmade by pipework", shape=box, fillcolor="#ffe0b3"];"##,
        ] {
            assert!(dot.lines().any(|l| l == want), "no {want}\nin {dot}");
        }
        assert_eq!(to_dot_with(&t, &Highlight::default()), to_dot(&t));
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
        let s = crate::scenario::parse("", Path::new("/x/we\"ird.toml")).unwrap();
        let t = from_scenario(&s);
        assert!(
            to_dot(&t).contains(r#"label="scenario we\"ird.toml""#),
            "{}",
            to_dot(&t)
        );
    }
}
