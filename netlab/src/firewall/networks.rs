//! User-defined networks in nftables: isolation between the lab's bridges, `--internal`
//! networks, the NAT each user bridge needs (what the `netlab` table does for the lab's
//! own bridge), and published ports over IPv6. One `table inet netlab_networks`, replaced
//! whole on every change like the other tables.
//!
//! Why a table apart from `table ip netlab`: that one is IPv4 and its rules are typed JSON
//! tuned for tens of thousands of ports; this one is small, spans both families (`inet`),
//! and exists only in labs with networks of their own.
//!
//! Isolation is Docker's (its `DOCKER-ISOLATION` chains): a packet routed from one of the
//! lab's bridges to another is dropped, so containers of different networks cannot reach
//! each other, while each still reaches the lab host and the outside. An internal network
//! forwards nothing in or out.

use std::fmt::Write as _;
use std::net::Ipv6Addr;

use crate::model::{Ipv4Net, Proto};

/// The table's name (family `inet`).
pub const TABLE: &str = "netlab_networks";

/// One of the lab's bridges as the rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeNet {
    /// The bridge's name on the lab host.
    pub bridge: String,
    /// Its IPv4 subnet, canonical.
    pub subnet: Ipv4Net,
    /// Its IPv6 subnet, `fd00:78::/64`, if it has one.
    pub subnet6: Option<String>,
    pub internal: bool,
    /// The lab's own bridge (`docker0`): isolated like the others, its NAT is in the
    /// `netlab` table already.
    pub default: bool,
}

/// A port published on IPv6: traffic for the lab host's `[host_ip]:host_port` (every
/// local IPv6 address when `None`) goes to `[container_ip]:container_port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forward6 {
    pub host_ip: Option<Ipv6Addr>,
    pub host_port: u16,
    pub proto: Proto,
    pub container_ip: Ipv6Addr,
    pub container_port: u16,
}

/// The whole wanted state of the table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetRules {
    pub bridges: Vec<BridgeNet>,
    pub forwards6: Vec<Forward6>,
}

impl NetRules {
    /// Whether the table is needed at all: not in a lab with only its default bridge.
    pub fn is_empty(&self) -> bool {
        self.bridges.iter().all(|b| b.default) && self.forwards6.is_empty()
    }
}

/// The `nft -f -` script that makes the table exactly `rules`, in one transaction (the
/// table removed when nothing is wanted).
pub fn script(rules: &NetRules) -> String {
    let mut s = format!("add table inet {TABLE}\ndelete table inet {TABLE}\n");
    if rules.is_empty() {
        return s;
    }
    let _ = writeln!(s, "table inet {TABLE} {{");
    s.push_str("\tchain forward {\n\t\ttype filter hook forward priority filter; policy accept;\n");
    for b in &rules.bridges {
        let name = quote(&b.bridge);
        if b.internal {
            let _ = writeln!(
                s,
                "\t\tiifname {name} oifname != {name} counter drop comment \"internal network on {}: nothing leaves\"",
                b.bridge
            );
            let _ = writeln!(
                s,
                "\t\toifname {name} iifname != {name} counter drop comment \"internal network on {}: nothing enters\"",
                b.bridge
            );
            continue;
        }
        let others: Vec<String> = rules
            .bridges
            .iter()
            .filter(|o| o.bridge != b.bridge)
            .map(|o| quote(&o.bridge))
            .collect();
        if !others.is_empty() {
            let _ = writeln!(
                s,
                "\t\tiifname {name} oifname {{ {} }} counter drop comment \"isolation: {} reaches no other network\"",
                others.join(", "),
                b.bridge
            );
        }
    }
    s.push_str("\t}\n");
    s.push_str(
        "\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n",
    );
    for b in rules.bridges.iter().filter(|b| !b.default) {
        let (name, subnet) = (quote(&b.bridge), b.subnet.canonical());
        let _ = writeln!(
            s,
            "\t\tip saddr 127.0.0.0/8 oifname {name} masquerade comment \"published ports via 127.0.0.1 to {}\"",
            b.bridge
        );
        let _ = writeln!(
            s,
            "\t\tct status dnat ip saddr {subnet} oifname {name} masquerade comment \"hairpin on {}\"",
            b.bridge
        );
        if let Some(s6) = &b.subnet6 {
            let _ = writeln!(
                s,
                "\t\tct status dnat ip6 saddr {s6} oifname {name} masquerade comment \"hairpin on {} (IPv6)\"",
                b.bridge
            );
        }
        if !b.internal {
            let _ = writeln!(
                s,
                "\t\tip saddr {subnet} oifname != {name} masquerade comment \"outbound from {}\"",
                b.bridge
            );
        }
    }
    s.push_str("\t}\n");
    for (chain, hook, prio) in [
        ("prerouting", "prerouting", "dstnat"),
        ("output", "output", "-100"),
    ] {
        let _ = writeln!(
            s,
            "\tchain {chain} {{\n\t\ttype nat hook {hook} priority {prio}; policy accept;"
        );
        for f in &rules.forwards6 {
            let to_host = match f.host_ip.filter(|ip| !ip.is_unspecified()) {
                Some(ip) => format!("ip6 daddr {ip}"),
                None => "meta nfproto ipv6 fib daddr type local".to_string(),
            };
            let proto = f.proto.as_str();
            let _ = writeln!(
                s,
                "\t\t{to_host} {proto} dport {} dnat ip6 to [{}]:{} comment \"publish [{}]:{}->[{}]:{}/{proto}\"",
                f.host_port,
                f.container_ip,
                f.container_port,
                f.host_ip.unwrap_or(Ipv6Addr::UNSPECIFIED),
                f.host_port,
                f.container_ip,
                f.container_port,
            );
        }
        s.push_str("\t}\n");
    }
    s.push_str("}\n");
    s
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', ""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bridge(name: &str, subnet: &str, internal: bool, default: bool) -> BridgeNet {
        BridgeNet {
            bridge: name.into(),
            subnet: subnet.parse().unwrap(),
            subnet6: None,
            internal,
            default,
        }
    }

    #[test]
    fn only_the_default_bridge_needs_no_table() {
        let rules = NetRules {
            bridges: vec![bridge("docker0", "172.17.0.0/16", false, true)],
            forwards6: vec![],
        };
        assert_eq!(
            script(&rules),
            "add table inet netlab_networks\ndelete table inet netlab_networks\n"
        );
    }

    #[test]
    fn bridges_are_isolated_internal_ones_closed_and_v6_ports_forwarded() {
        let mut a = bridge("br-aaa", "172.18.0.0/16", false, false);
        a.subnet6 = Some("fd00:78::/64".into());
        let rules = NetRules {
            bridges: vec![
                bridge("docker0", "172.17.0.0/16", false, true),
                a,
                bridge("br-int", "172.19.0.0/16", true, false),
            ],
            forwards6: vec![Forward6 {
                host_ip: None,
                host_port: 8080,
                proto: Proto::Tcp,
                container_ip: "fd00:78::2".parse().unwrap(),
                container_port: 80,
            }],
        };
        let s = script(&rules);
        for want in [
            "iifname \"docker0\" oifname { \"br-aaa\", \"br-int\" } counter drop",
            "iifname \"br-aaa\" oifname { \"docker0\", \"br-int\" } counter drop",
            "iifname \"br-int\" oifname != \"br-int\" counter drop",
            "oifname \"br-int\" iifname != \"br-int\" counter drop",
            "ip saddr 172.18.0.0/16 oifname != \"br-aaa\" masquerade",
            "ct status dnat ip6 saddr fd00:78::/64 oifname \"br-aaa\" masquerade",
            "meta nfproto ipv6 fib daddr type local tcp dport 8080 dnat ip6 to [fd00:78::2]:80",
        ] {
            assert!(s.contains(want), "{want}\n{s}");
        }
        // No outbound masquerade for the internal network, none for docker0 here.
        assert!(!s.contains("ip saddr 172.19.0.0/16 oifname !="), "{s}");
        assert!(!s.contains("ip saddr 172.17.0.0/16"), "{s}");
    }
}
