//! The `nft -j` document for a lab's NAT table: pure data, no kernel, unit-tested.
//!
//! The rules are the set found to work in a lab namespace on this machine kind (see
//! NOTES, "nftables port forwarding"): DNAT in a prerouting chain (the LAN) and an output
//! chain (the lab host itself, `127.0.0.1` included), and three masquerades in
//! postrouting (for `127.0.0.1`, for hairpin, and for containers going out).

use std::collections::HashSet;
use std::net::Ipv4Addr;

use nftables::batch::Batch;
use nftables::expr::{
    CT, Expression, Fib, FibFlag, FibResult, Meta, MetaKey, NamedExpression, Payload, PayloadField,
    Prefix,
};
use nftables::schema::{Chain, NfListObject, Nftables, Rule, Table};
use nftables::stmt::{Match, NAT, Operator, Statement};
use nftables::types::{NfChainPolicy, NfChainType, NfFamily, NfHook};

use super::{Forward, LabNat, TABLE};

/// Chain names, as `nft list table ip netlab` shows them.
pub(super) const PREROUTING: &str = "prerouting";
pub(super) const OUTPUT: &str = "output";
pub(super) const POSTROUTING: &str = "postrouting";

/// `priority dstnat`: the standard NAT priorities, where Docker's iptables rules sit too.
const PRIO_DSTNAT: i32 = -100;
/// `priority srcnat`.
const PRIO_SRCNAT: i32 = 100;

/// The whole transaction that makes netlab's table exactly `nat`, equivalent to the `nft`
/// script (for one forward of every local address to `172.17.0.2:80` on bridge `br0`):
///
/// ```text
/// add table ip netlab
/// delete table ip netlab
/// add table ip netlab
/// add chain ip netlab prerouting { type nat hook prerouting priority dstnat; policy accept; }
/// add rule ip netlab prerouting fib daddr type local tcp dport 8080 dnat to 172.17.0.2:80 comment "publish 0.0.0.0:8080->172.17.0.2:80/tcp"
/// add chain ip netlab output { type nat hook output priority -100; policy accept; }
/// add rule ip netlab output fib daddr type local tcp dport 8080 dnat to 172.17.0.2:80 comment "publish 0.0.0.0:8080->172.17.0.2:80/tcp"
/// add chain ip netlab postrouting { type nat hook postrouting priority srcnat; policy accept; }
/// add rule ip netlab postrouting ip saddr 127.0.0.0/8 oifname "br0" masquerade
/// add rule ip netlab postrouting ct status dnat ip saddr 172.17.0.0/16 oifname "br0" masquerade
/// add rule ip netlab postrouting ip saddr 172.17.0.0/16 oifname != "br0" masquerade
/// ```
///
/// The first `add table` makes the `delete` succeed when the table does not exist yet
/// (there is no "delete if exists" in nft 1.0.6), so the same document both creates and
/// replaces the table. A forward bound to one address matches `ip daddr ADDR` instead of
/// `fib daddr type local`.
pub fn ruleset(nat: &LabNat) -> Nftables<'static> {
    let mut batch = Batch::new();
    batch.add(table());
    batch.delete(table());
    batch.add(table());

    // Traffic arriving from outside the lab host (the LAN, other containers through the
    // host's address).
    batch.add(nat_chain(PREROUTING, NfHook::Prerouting, PRIO_DSTNAT));
    for f in &nat.forwards {
        batch.add(dnat_rule(PREROUTING, f));
    }
    // Traffic the lab host sends itself, to any of its addresses including 127.0.0.1:
    // it never passes prerouting.
    batch.add(nat_chain(OUTPUT, NfHook::Output, PRIO_DSTNAT));
    for f in &nat.forwards {
        batch.add(dnat_rule(OUTPUT, f));
    }

    batch.add(nat_chain(POSTROUTING, NfHook::Postrouting, PRIO_SRCNAT));
    let subnet = nat.subnet.canonical();
    let subnet_match = || {
        eq(
            payload("ip", "saddr"),
            prefix(subnet.addr, u32::from(subnet.prefix)),
        )
    };
    let oifname = |op| {
        Statement::Match(Match {
            left: Expression::Named(NamedExpression::Meta(Meta {
                key: MetaKey::Oifname,
            })),
            right: string(nat.bridge.clone()),
            op,
        })
    };
    // A connection to 127.0.0.1 DNATed to a container would leave with source 127.0.0.1,
    // which the container cannot answer; the kernel also drops it as martian unless the
    // bridge has route_localnet=1 (the supervisor sets it).
    batch.add(rule(
        POSTROUTING,
        vec![
            eq(
                payload("ip", "saddr"),
                prefix(Ipv4Addr::new(127, 0, 0, 0), 8),
            ),
            oifname(Operator::EQ),
            masquerade(),
        ],
        format!(
            "published ports via 127.0.0.1: masquerade 127.0.0.0/8 to {}",
            nat.bridge
        ),
    ));
    // Hairpin: a container reaching a published port through the host's address is DNATed
    // back onto its own bridge; without this the reply would go straight from container
    // to container and be dropped. (Bridged traffic does not pass netfilter here, so it
    // only works "by accident" where br_netfilter is loaded.)
    batch.add(rule(
        POSTROUTING,
        vec![
            Statement::Match(Match {
                left: Expression::Named(NamedExpression::CT(CT {
                    key: "status".into(),
                    family: None,
                    dir: None,
                })),
                right: string("dnat"),
                op: Operator::IN,
            }),
            subnet_match(),
            oifname(Operator::EQ),
            masquerade(),
        ],
        format!("hairpin: masquerade DNATed {subnet} back to {}", nat.bridge),
    ));
    // Containers going out of the lab host, like Docker's MASQUERADE rule for docker0.
    batch.add(rule(
        POSTROUTING,
        vec![subnet_match(), oifname(Operator::NEQ), masquerade()],
        format!(
            "outbound: masquerade {subnet} leaving by other than {}",
            nat.bridge
        ),
    ));

    batch.to_nftables()
}

fn table() -> NfListObject<'static> {
    NfListObject::Table(Table {
        family: NfFamily::IP,
        name: TABLE.into(),
        handle: None,
    })
}

fn nat_chain(name: &'static str, hook: NfHook, prio: i32) -> NfListObject<'static> {
    NfListObject::Chain(Chain {
        family: NfFamily::IP,
        table: TABLE.into(),
        name: name.into(),
        _type: Some(NfChainType::NAT),
        hook: Some(hook),
        prio: Some(prio),
        policy: Some(NfChainPolicy::Accept),
        ..Chain::default()
    })
}

fn rule(
    chain: &'static str,
    expr: Vec<Statement<'static>>,
    comment: String,
) -> NfListObject<'static> {
    NfListObject::Rule(Rule {
        family: NfFamily::IP,
        table: TABLE.into(),
        chain: chain.into(),
        expr: expr.into(),
        comment: Some(comment.into()),
        ..Rule::default()
    })
}

/// `[ip daddr ADDR | fib daddr type local] PROTO dport HP dnat to CIP:CP`.
fn dnat_rule(chain: &'static str, f: &Forward) -> NfListObject<'static> {
    let to_host = match f.bound_ip() {
        Some(ip) => eq(payload("ip", "daddr"), string(ip.to_string())),
        None => eq(
            Expression::Named(NamedExpression::Fib(Fib {
                result: FibResult::Type,
                flags: HashSet::from([FibFlag::Daddr]),
            })),
            string("local"),
        ),
    };
    rule(
        chain,
        vec![
            to_host,
            eq(
                payload(f.proto.as_str(), "dport"),
                Expression::Number(u32::from(f.host_port)),
            ),
            Statement::DNAT(Some(NAT {
                addr: Some(string(f.container_ip.to_string())),
                family: None,
                port: Some(Expression::Number(u32::from(f.container_port))),
                flags: None,
            })),
        ],
        format!("publish {f}"),
    )
}

fn eq(left: Expression<'static>, right: Expression<'static>) -> Statement<'static> {
    Statement::Match(Match {
        left,
        right,
        op: Operator::EQ,
    })
}

fn payload(protocol: &'static str, field: &'static str) -> Expression<'static> {
    Expression::Named(NamedExpression::Payload(Payload::PayloadField(
        PayloadField {
            protocol: protocol.into(),
            field: field.into(),
        },
    )))
}

fn prefix(addr: Ipv4Addr, len: u32) -> Expression<'static> {
    Expression::Named(NamedExpression::Prefix(Prefix {
        addr: Box::new(string(addr.to_string())),
        len,
    }))
}

fn string(s: impl Into<String>) -> Expression<'static> {
    Expression::String(s.into().into())
}

fn masquerade() -> Statement<'static> {
    Statement::Masquerade(None)
}

#[cfg(test)]
pub(super) mod tests {
    use serde_json::Value;

    use super::*;
    use crate::model::Proto;

    /// Renders one rule of the JSON document back into nft's text syntax, for the few
    /// expression forms this module emits; anything else fails the test.
    fn render(rule: &Value) -> String {
        let exprs = rule["expr"].as_array().expect("expr array");
        let words: Vec<String> = exprs.iter().map(render_stmt).collect();
        words.join(" ")
    }

    fn render_stmt(s: &Value) -> String {
        if let Some(m) = s.get("match") {
            let op = match m["op"].as_str().expect("op") {
                "==" | "in" => "",
                "!=" => "!= ",
                other => panic!("unexpected op {other}"),
            };
            return format!(
                "{} {op}{}",
                render_expr(&m["left"]),
                render_expr(&m["right"])
            );
        }
        if let Some(d) = s.get("dnat") {
            return format!(
                "dnat to {}:{}",
                d["addr"].as_str().expect("addr"),
                d["port"]
            );
        }
        if s.get("masquerade").is_some() {
            return "masquerade".into();
        }
        panic!("unexpected statement {s}")
    }

    fn render_expr(e: &Value) -> String {
        match e {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Object(o) => {
                if let Some(p) = o.get("payload") {
                    format!(
                        "{} {}",
                        p["protocol"].as_str().unwrap(),
                        p["field"].as_str().unwrap()
                    )
                } else if let Some(f) = o.get("fib") {
                    assert_eq!(f["flags"], serde_json::json!(["daddr"]));
                    format!("fib daddr {}", f["result"].as_str().unwrap())
                } else if let Some(m) = o.get("meta") {
                    m["key"].as_str().unwrap().to_string()
                } else if let Some(c) = o.get("ct") {
                    format!("ct {}", c["key"].as_str().unwrap())
                } else if let Some(p) = o.get("prefix") {
                    format!("{}/{}", p["addr"].as_str().unwrap(), p["len"])
                } else {
                    panic!("unexpected expression {e}")
                }
            }
            other => panic!("unexpected expression {other}"),
        }
    }

    /// The commands of the document, as (command, object kind, object).
    fn commands(doc: &Value) -> Vec<(&str, &str, &Value)> {
        doc["nftables"]
            .as_array()
            .expect("nftables array")
            .iter()
            .map(|cmd| {
                let (verb, obj) = cmd.as_object().unwrap().iter().next().unwrap();
                let (kind, obj) = obj.as_object().unwrap().iter().next().unwrap();
                (verb.as_str(), kind.as_str(), obj)
            })
            .collect()
    }

    /// The rules added to `chain`, rendered as nft text, each with its comment.
    fn chain_rules(doc: &Value, chain: &str) -> Vec<(String, String)> {
        commands(doc)
            .into_iter()
            .filter(|(verb, kind, obj)| *verb == "add" && *kind == "rule" && obj["chain"] == chain)
            .map(|(_, _, obj)| {
                (
                    render(obj),
                    obj["comment"]
                        .as_str()
                        .expect("every rule has a comment")
                        .to_string(),
                )
            })
            .collect()
    }

    pub(in crate::firewall) fn fwd(
        host_ip: Option<[u8; 4]>,
        host_port: u16,
        proto: Proto,
        container_ip: [u8; 4],
        container_port: u16,
    ) -> Forward {
        Forward {
            host_ip: host_ip.map(Ipv4Addr::from),
            host_port,
            proto,
            container_ip: Ipv4Addr::from(container_ip),
            container_port,
        }
    }

    pub(in crate::firewall) fn lab(bridge: &str, subnet: &str, forwards: Vec<Forward>) -> LabNat {
        LabNat {
            bridge: bridge.into(),
            subnet: subnet.parse().unwrap(),
            forwards,
        }
    }

    /// Cases shared with the tests that feed the document to the real `nft`.
    pub(in crate::firewall) fn cases() -> Vec<(&'static str, LabNat, Vec<&'static str>)> {
        use Proto::{Tcp, Udp};
        vec![
            ("no forwards", lab("br0", "172.17.0.0/16", vec![]), vec![]),
            (
                "every local address, tcp",
                lab(
                    "br0",
                    "172.17.0.0/16",
                    vec![fwd(None, 8080, Tcp, [172, 17, 0, 2], 80)],
                ),
                vec!["fib daddr type local tcp dport 8080 dnat to 172.17.0.2:80"],
            ),
            (
                "0.0.0.0 means every local address",
                lab(
                    "br0",
                    "172.17.0.0/16",
                    vec![fwd(Some([0, 0, 0, 0]), 8080, Tcp, [172, 17, 0, 2], 8080)],
                ),
                vec!["fib daddr type local tcp dport 8080 dnat to 172.17.0.2:8080"],
            ),
            (
                "one host address",
                lab(
                    "nl-x-br",
                    "10.2.0.0/16",
                    vec![fwd(Some([10, 2, 0, 10]), 80, Tcp, [10, 2, 0, 5], 8000)],
                ),
                vec!["ip daddr 10.2.0.10 tcp dport 80 dnat to 10.2.0.5:8000"],
            ),
            (
                "udp on 127.0.0.1",
                lab(
                    "br0",
                    "172.17.0.0/16",
                    vec![fwd(Some([127, 0, 0, 1]), 5353, Udp, [172, 17, 0, 3], 53)],
                ),
                vec!["ip daddr 127.0.0.1 udp dport 5353 dnat to 172.17.0.3:53"],
            ),
            (
                "several, in order, same port tcp and udp",
                lab(
                    "br0",
                    "172.17.0.0/16",
                    vec![
                        fwd(None, 53, Tcp, [172, 17, 0, 2], 53),
                        fwd(None, 53, Udp, [172, 17, 0, 2], 53),
                        fwd(Some([10, 0, 0, 1]), 65535, Tcp, [172, 17, 0, 4], 1),
                    ],
                ),
                vec![
                    "fib daddr type local tcp dport 53 dnat to 172.17.0.2:53",
                    "fib daddr type local udp dport 53 dnat to 172.17.0.2:53",
                    "ip daddr 10.0.0.1 tcp dport 65535 dnat to 172.17.0.4:1",
                ],
            ),
        ]
    }

    #[test]
    fn dnat_rules_per_forward_in_prerouting_and_output() {
        for (name, nat, want) in cases() {
            let doc = serde_json::to_value(ruleset(&nat)).unwrap();
            for chain in [PREROUTING, OUTPUT] {
                let rules = chain_rules(&doc, chain);
                let got: Vec<&str> = rules.iter().map(|(r, _)| r.as_str()).collect();
                assert_eq!(got, want, "{name}: chain {chain}");
                for ((_, comment), f) in rules.iter().zip(&nat.forwards) {
                    assert_eq!(comment, &format!("publish {f}"), "{name}");
                }
            }
        }
    }

    #[test]
    fn postrouting_masquerades() {
        for (bridge, subnet, canonical) in [
            ("br0", "172.17.0.0/16", "172.17.0.0/16"),
            ("nl-lab1-br", "10.2.0.10/16", "10.2.0.0/16"),
            ("b", "192.168.1.77/24", "192.168.1.0/24"),
        ] {
            let doc = serde_json::to_value(ruleset(&lab(bridge, subnet, vec![]))).unwrap();
            let rules = chain_rules(&doc, POSTROUTING);
            let got: Vec<&str> = rules.iter().map(|(r, _)| r.as_str()).collect();
            assert_eq!(
                got,
                [
                    format!("ip saddr 127.0.0.0/8 oifname {bridge} masquerade"),
                    format!("ct status dnat ip saddr {canonical} oifname {bridge} masquerade"),
                    format!("ip saddr {canonical} oifname != {bridge} masquerade"),
                ],
                "{bridge} {subnet}"
            );
            let comments: Vec<&str> = rules.iter().map(|(_, c)| c.as_str()).collect();
            assert!(comments[0].contains("127.0.0.1"), "{comments:?}");
            assert!(comments[1].starts_with("hairpin"), "{comments:?}");
            assert!(comments[2].starts_with("outbound"), "{comments:?}");
        }
    }

    #[test]
    fn replaces_the_table_then_builds_nat_chains() {
        let doc = serde_json::to_value(ruleset(&cases()[1].1)).unwrap();
        let cmds = commands(&doc);
        let head: Vec<(&str, &str)> = cmds.iter().take(3).map(|(v, k, _)| (*v, *k)).collect();
        assert_eq!(
            head,
            [("add", "table"), ("delete", "table"), ("add", "table")]
        );
        for (_, _, t) in &cmds[..3] {
            assert_eq!(*t, &serde_json::json!({"family": "ip", "name": TABLE}));
        }
        let chains: Vec<(&str, &str, i64)> = cmds
            .iter()
            .filter(|(v, k, _)| *v == "add" && *k == "chain")
            .map(|(_, _, c)| {
                assert_eq!(c["family"], "ip");
                assert_eq!(c["table"], TABLE);
                assert_eq!(c["type"], "nat");
                assert_eq!(c["policy"], "accept");
                (
                    c["name"].as_str().unwrap(),
                    c["hook"].as_str().unwrap(),
                    c["prio"].as_i64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            chains,
            [
                ("prerouting", "prerouting", -100),
                ("output", "output", -100),
                ("postrouting", "postrouting", 100)
            ]
        );
        // Only adds after the first delete: nothing else is removed.
        assert!(cmds[3..].iter().all(|(v, _, _)| *v == "add"));
        // Every rule lands in netlab's table, and carries a comment nft accepts (<= 128).
        for (_, _, obj) in cmds.iter().filter(|(_, k, _)| *k == "rule") {
            assert_eq!(obj["table"], TABLE);
            assert_eq!(obj["family"], "ip");
            assert!(obj["comment"].as_str().unwrap().len() <= 128, "{obj}");
        }
    }

    #[test]
    fn longest_comment_fits_nft_limit() {
        let nat = lab(
            "fifteen-bytes-x",
            "255.255.255.255/32",
            vec![fwd(
                Some([255, 255, 255, 255]),
                65535,
                Proto::Udp,
                [255, 255, 255, 255],
                65535,
            )],
        );
        let doc = serde_json::to_value(ruleset(&nat)).unwrap();
        for (_, _, obj) in commands(&doc).iter().filter(|(_, k, _)| *k == "rule") {
            assert!(obj["comment"].as_str().unwrap().len() <= 128, "{obj}");
        }
    }

    #[test]
    fn document_is_typed_nftables_json() {
        let doc = ruleset(&cases()[5].1);
        let text = serde_json::to_string(&doc).unwrap();
        let back: Nftables<'static> = serde_json::from_str(&text).unwrap();
        assert_eq!(back, doc);
    }
}
