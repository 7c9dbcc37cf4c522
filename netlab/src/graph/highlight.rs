//! The path a trace took, as the parts of a [`Topology`] to highlight ([`Highlight`]):
//! pure, so that a picture of a lab and a [`Trace`] of it give the same highlighted
//! picture every time.
//!
//! The trace names kernel objects (a namespace, a bridge and the port its FDB chose, an
//! nft rule); the topology names the same objects as nodes and wires. Matching goes by
//! name: a namespace `container web` is the container node `web`, a bridge port is the
//! wire whose label ends with `↔ PORT` on that bridge (a veth, a pipework interface, a
//! LAN wire) or the uplink the bridge holds, and a DNAT rule is the published port whose
//! host port it matched, leading to the container the request arrived in.

use std::collections::BTreeSet;

use super::topology::{EdgeKind, NodeKind, Topology};
use crate::model::trace::{Leg, StepKind, Trace, field};

/// What to draw highlighted: node ids and edge indices (into [`Topology::edges`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Highlight {
    /// The [`Node::id`](super::Node::id)s of the highlighted nodes.
    pub nodes: BTreeSet<String>,
    /// The positions in [`Topology::edges`] of the highlighted edges.
    pub edges: BTreeSet<usize>,
}

impl Highlight {
    /// Whether nothing is highlighted.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty() && self.edges.is_empty()
    }
}

/// The node of one of `kinds` called `name`: its first line, or for a user-defined
/// network's bridge its second (the node is named after the network, the trace after the
/// bridge, `br-…`).
fn node_named(t: &Topology, kinds: &[NodeKind], name: &str) -> Option<String> {
    let called = |n: &super::Node| {
        n.lines.first().map(String::as_str) == Some(name)
            || (n.kind == NodeKind::Bridge
                && n.id.starts_with("net_")
                && n.lines.get(1).map(String::as_str) == Some(name))
    };
    t.nodes
        .iter()
        .find(|n| kinds.contains(&n.kind) && called(n))
        .map(|n| n.id.clone())
}

/// The node of a trace's namespace (`container web`, `LAN machine lan`); `None` for the
/// lab host and the LAN switch, which are drawn as their bridges.
fn place_node(t: &Topology, place: &str) -> Option<String> {
    if let Some(c) = place.strip_prefix("container ") {
        node_named(t, &[NodeKind::Container], c)
    } else if let Some(m) = place.strip_prefix("LAN machine ") {
        node_named(t, &[NodeKind::LanMachine], m)
    } else {
        None
    }
}

/// The parts of `t` that the request of `trace` crossed: the containers and LAN machines
/// it was in, the bridges it crossed with the wires of the ports it entered and left by,
/// the uplink, and the published port whose DNAT rule it met.
pub fn trace_path(t: &Topology, trace: &Trace) -> Highlight {
    let mut h = Highlight::default();
    for s in trace.steps.iter().filter(|s| s.leg == Leg::Request) {
        if let Some(n) = place_node(t, &s.place) {
            h.nodes.insert(n);
        }
        match &s.kind {
            StepKind::Bridge {
                bridge,
                from_port,
                port,
                ..
            } => {
                let kinds: &[NodeKind] = if s.place == "LAN switch" {
                    &[NodeKind::Switch]
                } else {
                    &[NodeKind::Bridge]
                };
                let Some(b) = node_named(t, kinds, bridge) else {
                    continue;
                };
                h.nodes.insert(b.clone());
                for p in [from_port, port].into_iter().flatten() {
                    wire(t, &b, p, &mut h);
                }
            }
            StepKind::Rule { text, .. } if s.place == "lab host" && text.contains("dnat") => {
                let dport = field(text, "tcp dport").or_else(|| field(text, "udp dport"));
                publish(t, trace, dport, &mut h);
            }
            _ => {}
        }
    }
    h
}

/// The wire of port `port` on bridge node `bridge`, and what is at its other end.
fn wire(t: &Topology, bridge: &str, port: &str, h: &mut Highlight) {
    let suffix = format!("↔ {port}");
    let uplink = node_named(t, &[NodeKind::Uplink], port);
    for (i, e) in t.edges.iter().enumerate() {
        if e.from != bridge && e.to != bridge {
            continue;
        }
        let other = if e.from == bridge { &e.to } else { &e.from };
        let by_label = e.lines.first().is_some_and(|l| l.ends_with(&suffix));
        let to_uplink = uplink.as_ref() == Some(other);
        if by_label || to_uplink {
            h.edges.insert(i);
            h.nodes.insert(other.clone());
            // The uplink's own wire to the LAN goes with it.
            if to_uplink {
                for (j, e2) in t.edges.iter().enumerate() {
                    if e2.kind == EdgeKind::Lan && (&e2.from == other || &e2.to == other) {
                        h.edges.insert(j);
                    }
                }
            }
        }
    }
}

/// The published port a DNAT rule for `dport` stands for: its node and its edge to the
/// container the trace arrived in (any container the trace was in, when the verdict names
/// none).
fn publish(t: &Topology, trace: &Trace, dport: Option<&str>, h: &mut Highlight) {
    let arrived = match &trace.verdict {
        crate::model::trace::Verdict::Delivered { place, .. } => place_node(t, place),
        _ => None,
    };
    for (i, e) in t.edges.iter().enumerate() {
        if e.kind != EdgeKind::Publish {
            continue;
        }
        let to_arrival = match &arrived {
            Some(a) => &e.to == a,
            None => h.nodes.contains(&e.to),
        };
        let label = t
            .nodes
            .iter()
            .find(|n| n.id == e.from)
            .and_then(|n| n.lines.first());
        let port_ok = match (dport, label) {
            (Some(p), Some(l)) => l.contains(&format!(":{p} →")) || l.contains(":random →"),
            _ => true,
        };
        if to_arrival && port_ok {
            h.edges.insert(i);
            h.nodes.insert(e.from.clone());
            h.nodes.insert(e.to.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::fixtures::small_lab;
    use crate::model::trace::{Step, Verdict};

    fn step(place: &str, kind: StepKind) -> Step {
        Step {
            leg: Leg::Request,
            place: place.into(),
            kind,
        }
    }

    fn bridge(name: &str, from: Option<&str>, port: Option<&str>) -> StepKind {
        StepKind::Bridge {
            bridge: name.into(),
            mac: "02:42:00:00:00:01".into(),
            from_port: from.map(Into::into),
            port: port.map(Into::into),
            decision: if port.is_some() { "fdb" } else { "local" }.into(),
        }
    }

    fn trace(steps: Vec<Step>, arrived: &str) -> Trace {
        Trace {
            probe: "tcp 10.9.0.1:4000 -> 10.9.0.2:8080".into(),
            from: "x".into(),
            steps,
            verdict: Verdict::Delivered {
                place: arrived.into(),
                addr: "192.168.5.3:80".into(),
                process: None,
                pid: None,
            },
            elapsed_ms: 1,
        }
    }

    fn edges(t: &Topology, h: &Highlight) -> Vec<String> {
        h.edges
            .iter()
            .map(|&i| format!("{} {}", t.edges[i].from, t.edges[i].to))
            .collect()
    }

    #[test]
    fn paths_of_the_ways() {
        let t = small_lab();
        let dnat = StepKind::Rule {
            family: "ip".into(),
            table: "netlab".into(),
            chain: "prerouting".into(),
            handle: Some(2),
            text: "fib daddr type local tcp dport 8080 dnat to 192.168.5.3:80".into(),
            verdict: "accept".into(),
            translation: None,
        };
        let cases: Vec<(&str, Trace, Vec<&str>, Vec<&str>)> = vec![
            (
                "link: a.b to a_b over docker0",
                trace(
                    vec![
                        step(
                            "container a.b",
                            bridge("docker0", Some("veth0000000001"), Some("veth0000000002")),
                        ),
                        step("container a_b", StepKind::Refused { why: "-".into() }),
                    ],
                    "container a_b",
                ),
                vec!["br_docker0", "c_a_b", "c_a_b_2"],
                vec!["c_a_b br_docker0", "c_a_b_2 br_docker0"],
            ),
            (
                "port: the LAN machine through the switch and the uplink to a published port",
                trace(
                    vec![
                        step("LAN machine pc", StepKind::Refused { why: "-".into() }),
                        step("LAN switch", bridge("switch", Some("lan0"), Some("uplink"))),
                        step("lab host", dnat),
                        step("lab host", bridge("docker0", None, Some("veth0000000002"))),
                    ],
                    "container a_b",
                ),
                vec![
                    "br_docker0",
                    "c_a_b_2",
                    "lan_switch",
                    "n_pc",
                    "p_a_b_80_tcp",
                    "uplink",
                ],
                vec![
                    "c_a_b_2 br_docker0",
                    "p_a_b_80_tcp c_a_b_2",
                    "uplink lan_switch",
                    "lan_switch n_pc",
                ],
            ),
            (
                "pipework: br1's port",
                trace(
                    vec![step("lab host", bridge("br1", None, Some("vpw0000000003")))],
                    "container a_b",
                ),
                vec!["br_br1", "c_a_b_2"],
                vec!["c_a_b_2 br_br1"],
            ),
            (
                "nothing known: nothing highlighted",
                trace(
                    vec![step("lab host", bridge("nobr", None, Some("x")))],
                    "container ghost",
                ),
                vec![],
                vec![],
            ),
        ];
        for (name, tr, nodes, want_edges) in cases {
            let h = trace_path(&t, &tr);
            let got: Vec<&str> = h.nodes.iter().map(String::as_str).collect();
            assert_eq!(got, nodes, "{name}");
            let mut got = edges(&t, &h);
            let mut want: Vec<String> = want_edges.iter().map(|s| s.to_string()).collect();
            got.sort();
            want.sort();
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn the_reply_is_not_drawn() {
        let t = small_lab();
        let mut s = step(
            "container a.b",
            bridge("docker0", None, Some("veth0000000001")),
        );
        s.leg = Leg::Reply;
        assert!(trace_path(&t, &trace(vec![s], "container zz")).is_empty());
    }
}
