//! The `nft -j` document for a lab's NAT table: pure data, no kernel, unit-tested.
//!
//! The rules are the set measured to work in a lab namespace: DNAT in a prerouting chain
//! (the LAN) and an output chain (the lab host itself, `127.0.0.1` included), both
//! matching `fib daddr type local`; and three masquerades in postrouting: for
//! `127.0.0.1` (with `route_localnet` on the bridge, which the lab host sets), for
//! hairpin (DNATed traffic from the bridge subnet back onto the bridge, `ct status dnat`,
//! without which hairpin works only by accident where `br_netfilter` is loaded), and for
//! containers going out.
//!
//! A table with few forwards has one rule per forward, each with a comment: what a student
//! reads in `nft list table ip netlab`. Past [`RULES_UP_TO`] forwards, the forwards go
//! into maps instead, two rules per protocol in each DNAT chain: thousands of rules would
//! take seconds to apply (about 4 s per 65,535, and twice that for both chains) and every
//! packet would walk them in turn, while a map of all 65,535 ports applies in about half a
//! second and is one hash lookup per packet.
//!
//! The maps' elements go in further transactions ([`map_elements`]) of at most
//! [`ELEMENTS_PER_TRANSACTION`] each: nft sends a transaction in one netlink write, and an
//! unprivileged nft (a rootless lab) cannot enlarge its socket buffer past the default
//! 208 KiB, about 3,000 elements ("Message too long").

use std::collections::{BTreeMap, HashSet};
use std::net::Ipv4Addr;

use nftables::batch::Batch;
use nftables::expr::{
    CT, Expression, Fib, FibFlag, FibResult, Map as MapLookup, Meta, MetaKey, NamedExpression,
    Payload, PayloadField, Prefix,
};
use nftables::schema::{
    Chain, Element, Map, NfListObject, Nftables, Rule, SetType, SetTypeValue, Table,
};
use nftables::stmt::{Match, NAT, Operator, Statement};
use nftables::types::{NfChainPolicy, NfChainType, NfFamily, NfHook};

use super::{Forward, LabNat, TABLE};
use crate::model::Proto;

/// The most forwards that get a rule each; more go into maps (see the module comment).
pub const RULES_UP_TO: usize = 64;

/// The most map elements one transaction adds (about 64 KiB of netlink).
pub const ELEMENTS_PER_TRANSACTION: usize = 2048;

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
/// `fib daddr type local`. Past [`RULES_UP_TO`] forwards the document has empty maps and
/// their lookup rules instead, and the transactions of [`map_elements`] fill the maps.
pub fn ruleset(nat: &LabNat) -> Nftables<'static> {
    let mut batch = Batch::new();
    batch.add(table());
    batch.delete(table());
    batch.add(table());

    // Traffic arriving from outside the lab host (the LAN, other containers through the
    // host's address).
    let maps = (nat.forwards.len() > RULES_UP_TO).then(|| ForwardMaps::new(&nat.forwards));
    if let Some(m) = &maps {
        for map in m.declarations() {
            batch.add(map);
        }
    }
    let dnat = |batch: &mut Batch<'static>, chain: &'static str| match &maps {
        Some(m) => m.rules(chain).into_iter().for_each(|r| batch.add(r)),
        None => nat
            .forwards
            .iter()
            .for_each(|f| batch.add(dnat_rule(chain, f))),
    };
    batch.add(nat_chain(PREROUTING, NfHook::Prerouting, PRIO_DSTNAT));
    dnat(&mut batch, PREROUTING);
    // Traffic the lab host sends itself, to any of its addresses including 127.0.0.1:
    // it never passes prerouting.
    batch.add(nat_chain(OUTPUT, NfHook::Output, PRIO_DSTNAT));
    dnat(&mut batch, OUTPUT);

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
        None => local_daddr(),
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

/// The transactions that fill the maps of [`ruleset`]'s document, in order, each adding
/// at most [`ELEMENTS_PER_TRANSACTION`] elements (`add element ip netlab tcp_addr { 80 :
/// 172.17.0.2, ... }`); none when the table has a rule per forward.
pub fn map_elements(nat: &LabNat) -> Vec<Nftables<'static>> {
    if nat.forwards.len() <= RULES_UP_TO {
        return vec![];
    }
    let all: Vec<(String, Expression<'static>)> = ForwardMaps::new(&nat.forwards)
        .maps()
        .into_iter()
        .flat_map(|(name, elems)| elems.into_iter().map(move |e| (name.clone(), e)))
        .collect();
    all.chunks(ELEMENTS_PER_TRANSACTION)
        .map(|chunk| {
            let mut batch = Batch::new();
            // Consecutive elements of one map go in one command.
            for group in chunk.chunk_by(|a, b| a.0 == b.0) {
                batch.add(NfListObject::Element(Element {
                    family: NfFamily::IP,
                    table: TABLE.into(),
                    name: group[0].0.clone().into(),
                    elem: group
                        .iter()
                        .map(|(_, e)| e.clone())
                        .collect::<Vec<_>>()
                        .into(),
                }));
            }
            batch.to_nftables()
        })
        .collect()
}

/// The forwards of a large table as nft maps, per protocol: for every local address
/// `PROTO_addr` and `PROTO_port` (host port → container address, → container port), for
/// one address `PROTO_ip_addr` and `PROTO_ip_port` (host address . host port → ...). Two
/// maps with one lookup each rather than one map to `ipv4_addr . inet_service`, because
/// nft 1.0.6 (Debian 12) reads no concatenated map values in JSON.
struct ForwardMaps {
    /// `(proto, port)` → `(container address, container port)`.
    any: BTreeMap<(Proto, u16), (Ipv4Addr, u16)>,
    /// `(proto, host address, port)` → the same.
    bound: BTreeMap<(Proto, Ipv4Addr, u16), (Ipv4Addr, u16)>,
}

impl ForwardMaps {
    /// The first forward of a key wins, as the first rule would.
    fn new(forwards: &[Forward]) -> Self {
        let mut m = ForwardMaps {
            any: BTreeMap::new(),
            bound: BTreeMap::new(),
        };
        for f in forwards {
            let to = (f.container_ip, f.container_port);
            match f.bound_ip() {
                None => m.any.entry((f.proto, f.host_port)).or_insert(to),
                Some(ip) => m.bound.entry((f.proto, ip, f.host_port)).or_insert(to),
            };
        }
        m
    }

    fn protos(&self) -> [(Proto, bool, bool); 2] {
        [Proto::Tcp, Proto::Udp].map(|p| {
            (
                p,
                self.any.keys().any(|k| k.0 == p),
                self.bound.keys().any(|k| k.0 == p),
            )
        })
    }

    /// `add map ip netlab tcp_addr { type inet_service : ipv4_addr; }` and its siblings,
    /// only those that get elements, empty: the same names in the same order as
    /// [`ForwardMaps::maps`].
    fn declarations(&self) -> Vec<NfListObject<'static>> {
        let port = || SetTypeValue::Single(SetType::InetService);
        let addr_port =
            || SetTypeValue::Concatenated(vec![SetType::Ipv4Addr, SetType::InetService].into());
        let mut out = Vec::new();
        for (proto, any, bound) in self.protos() {
            let p = proto.as_str();
            if any {
                out.push(map(format!("{p}_addr"), port(), SetType::Ipv4Addr));
                out.push(map(format!("{p}_port"), port(), SetType::InetService));
            }
            if bound {
                out.push(map(format!("{p}_ip_addr"), addr_port(), SetType::Ipv4Addr));
                out.push(map(
                    format!("{p}_ip_port"),
                    addr_port(),
                    SetType::InetService,
                ));
            }
        }
        out
    }

    /// Each map's name and its elements (`[key, value]`).
    fn maps(&self) -> Vec<(String, Vec<Expression<'static>>)> {
        let mut out = Vec::new();
        for (proto, any, bound) in self.protos() {
            let p = proto.as_str();
            if any {
                let elems = |value: fn(&(Ipv4Addr, u16)) -> Expression<'static>| {
                    self.any
                        .iter()
                        .filter(|(k, _)| k.0 == proto)
                        .map(|((_, port), to)| {
                            Expression::List(vec![Expression::Number(u32::from(*port)), value(to)])
                        })
                        .collect::<Vec<_>>()
                };
                out.push((format!("{p}_addr"), elems(addr_of)));
                out.push((format!("{p}_port"), elems(port_of)));
            }
            if bound {
                let elems = |value: fn(&(Ipv4Addr, u16)) -> Expression<'static>| {
                    self.bound
                        .iter()
                        .filter(|(k, _)| k.0 == proto)
                        .map(|((_, ip, port), to)| {
                            let key = Expression::Named(NamedExpression::Concat(vec![
                                string(ip.to_string()),
                                Expression::Number(u32::from(*port)),
                            ]));
                            Expression::List(vec![key, value(to)])
                        })
                        .collect::<Vec<_>>()
                };
                out.push((format!("{p}_ip_addr"), elems(addr_of)));
                out.push((format!("{p}_ip_port"), elems(port_of)));
            }
        }
        out
    }

    /// In `chain`: `dnat to ip daddr . tcp dport map @tcp_ip_addr : ip daddr . tcp dport map
    /// @tcp_ip_port` and `fib daddr type local dnat to tcp dport map @tcp_addr : tcp dport
    /// map @tcp_port`, per protocol in use. A packet whose key is in no map is not matched.
    fn rules(&self, chain: &'static str) -> Vec<NfListObject<'static>> {
        let mut out = Vec::new();
        for (proto, any, bound) in self.protos() {
            let p = proto.as_str();
            if bound {
                let key = || {
                    Expression::Named(NamedExpression::Concat(vec![
                        payload("ip", "daddr"),
                        payload(p, "dport"),
                    ]))
                };
                out.push(rule(
                    chain,
                    vec![dnat_lookup(key, &format!("{p}_ip"))],
                    format!(
                        "publish {p} ports of one address: `nft list map ip {TABLE} {p}_ip_addr`"
                    ),
                ));
            }
            if any {
                out.push(rule(
                    chain,
                    vec![local_daddr(), dnat_lookup(|| payload(p, "dport"), p)],
                    format!(
                        "publish {p} ports of every address: `nft list map ip {TABLE} {p}_addr`"
                    ),
                ));
            }
        }
        out
    }
}

fn addr_of(to: &(Ipv4Addr, u16)) -> Expression<'static> {
    string(to.0.to_string())
}

fn port_of(to: &(Ipv4Addr, u16)) -> Expression<'static> {
    Expression::Number(u32::from(to.1))
}

fn map(name: String, key: SetTypeValue<'static>, value: SetType) -> NfListObject<'static> {
    NfListObject::Map(Box::new(Map {
        family: NfFamily::IP,
        table: TABLE.into(),
        name: name.into(),
        set_type: key,
        map: SetTypeValue::Single(value),
        ..Map::default()
    }))
}

/// `dnat to KEY map @PREFIX_addr : KEY map @PREFIX_port`.
fn dnat_lookup(key: impl Fn() -> Expression<'static>, prefix: &str) -> Statement<'static> {
    let lookup = |suffix: &str| {
        Expression::Named(NamedExpression::Map(Box::new(MapLookup {
            key: key(),
            data: string(format!("@{prefix}_{suffix}")),
        })))
    };
    Statement::DNAT(Some(NAT {
        addr: Some(lookup("addr")),
        family: None,
        port: Some(lookup("port")),
        flags: None,
    }))
}

/// `fib daddr type local`: any address of the lab host.
fn local_daddr() -> Statement<'static> {
    eq(
        Expression::Named(NamedExpression::Fib(Fib {
            result: FibResult::Type,
            flags: HashSet::from([FibFlag::Daddr]),
        })),
        string("local"),
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
    use std::collections::BTreeMap;

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

    /// `n` forwards of every address (tcp, ports 1..=n to the same port of one container),
    /// plus one bound to an address and one udp.
    pub(in crate::firewall) fn many(n: u16) -> LabNat {
        let mut forwards: Vec<Forward> = (1..=n)
            .map(|p| fwd(None, p, Proto::Tcp, [172, 17, 0, 2], p))
            .collect();
        forwards.push(fwd(
            Some([127, 0, 0, 1]),
            5353,
            Proto::Udp,
            [172, 17, 0, 3],
            53,
        ));
        forwards.push(fwd(None, 53, Proto::Udp, [172, 17, 0, 3], 5353));
        lab("br0", "172.17.0.0/16", forwards)
    }

    #[test]
    fn rules_up_to_the_threshold_then_maps() {
        let rules_in = |nat: &LabNat, chain| {
            let doc = serde_json::to_value(ruleset(nat)).unwrap();
            commands(&doc)
                .iter()
                .filter(|(v, k, o)| *v == "add" && *k == "rule" && o["chain"] == chain)
                .count()
        };
        let small = many(RULES_UP_TO as u16 - 2);
        assert_eq!(small.forwards.len(), RULES_UP_TO);
        assert_eq!(rules_in(&small, PREROUTING), RULES_UP_TO);
        assert!(map_elements(&small).is_empty());
        let big = many(RULES_UP_TO as u16 - 1);
        // tcp of every address, udp of every address, udp of one address.
        assert_eq!(rules_in(&big, PREROUTING), 3);
        assert_eq!(rules_in(&big, OUTPUT), 3);
    }

    #[test]
    fn maps_hold_every_forward_once_and_the_rules_look_them_up() {
        let mut nat = many(65535);
        // A repeated key keeps its first forward, as the first rule would win.
        nat.forwards
            .push(fwd(None, 80, Proto::Tcp, [172, 17, 0, 9], 9));
        let doc = serde_json::to_value(ruleset(&nat)).unwrap();
        let cmds = commands(&doc);
        let maps: BTreeMap<&str, &Value> = cmds
            .iter()
            .filter(|(v, k, _)| *v == "add" && *k == "map")
            .map(|(_, _, m)| (m["name"].as_str().unwrap(), *m))
            .collect();
        let names: Vec<&str> = maps.keys().copied().collect();
        assert_eq!(
            names,
            [
                "tcp_addr",
                "tcp_port",
                "udp_addr",
                "udp_ip_addr",
                "udp_ip_port",
                "udp_port"
            ]
        );
        assert_eq!(maps["tcp_addr"]["type"], "inet_service");
        assert_eq!(maps["tcp_addr"]["map"], "ipv4_addr");
        assert_eq!(maps["tcp_port"]["map"], "inet_service");
        assert_eq!(
            maps["udp_ip_port"]["type"],
            serde_json::json!(["ipv4_addr", "inet_service"])
        );
        assert!(
            maps.values().all(|m| m.get("elem").is_none()),
            "declared empty"
        );
        // The elements come in transactions of at most ELEMENTS_PER_TRANSACTION.
        let mut filled: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        let docs = map_elements(&nat);
        assert_eq!(
            docs.len(),
            (2 * 65535 + 4usize).div_ceil(ELEMENTS_PER_TRANSACTION)
        );
        for d in &docs {
            let d = serde_json::to_value(d).unwrap();
            let mut count = 0;
            for (verb, kind, obj) in commands(&d) {
                assert_eq!((verb, kind), ("add", "element"));
                assert_eq!(obj["table"], TABLE);
                let elem = obj["elem"].as_array().unwrap();
                count += elem.len();
                filled
                    .entry(obj["name"].as_str().unwrap().to_string())
                    .or_default()
                    .extend(elem.iter().cloned());
            }
            assert!(count <= ELEMENTS_PER_TRANSACTION);
        }
        let elems = |name: &str| filled[name].clone();
        assert_eq!(elems("tcp_addr").len(), 65535);
        assert_eq!(elems("tcp_port").len(), 65535);
        assert_eq!(elems("tcp_port")[79], serde_json::json!([80, 80]));
        assert_eq!(elems("tcp_addr")[79], serde_json::json!([80, "172.17.0.2"]));
        assert_eq!(
            elems("udp_ip_port"),
            [serde_json::json!([{"concat": ["127.0.0.1", 5353]}, 53])]
        );
        assert_eq!(elems("udp_port"), [serde_json::json!([53, 5353])]);
        for chain in [PREROUTING, OUTPUT] {
            let rules: Vec<&Value> = cmds
                .iter()
                .filter(|(v, k, o)| *v == "add" && *k == "rule" && o["chain"] == chain)
                .map(|(_, _, r)| *r)
                .collect();
            assert_eq!(rules.len(), 3, "{chain}");
            let tcp = rules[0]["expr"].as_array().unwrap();
            assert_eq!(render_stmt(&tcp[0]), "fib daddr type local");
            assert_eq!(
                tcp[1]["dnat"]["addr"]["map"],
                serde_json::json!({"key": {"payload": {"protocol": "tcp", "field": "dport"}}, "data": "@tcp_addr"})
            );
            assert_eq!(tcp[1]["dnat"]["port"]["map"]["data"], "@tcp_port");
            let bound = rules[1]["expr"].as_array().unwrap();
            assert_eq!(bound[0]["dnat"]["addr"]["map"]["data"], "@udp_ip_addr");
            assert_eq!(
                bound[0]["dnat"]["port"]["map"]["key"]["concat"][0]["payload"]["field"],
                "daddr"
            );
            for r in rules {
                assert!(r["comment"].as_str().unwrap().len() <= 128, "{r}");
            }
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
