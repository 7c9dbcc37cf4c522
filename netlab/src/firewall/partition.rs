//! Partitions: the lab host's bridge drops what one group of containers sends to another,
//! in an nftables table of the `bridge` family that netlab owns (`table bridge
//! netlab_faults`), replaced whole on every change like the NAT table.
//!
//! Why the bridge family: containers on one bridge talk without routing, so only a rule
//! in the bridge's forward hook sees their frames (no `br_netfilter` needed, and it sees
//! frames that passed the link emulator too). Why IP *and* ARP for a two-way cut: with ARP
//! still answered, a cut looks like a silent host; without it, like a pulled cable. Both
//! show the same to TCP; ARP is dropped so `ip neigh` tells the truth. A one-way cut drops
//! IP only: dropping A's ARP to B would also drop A's ARP replies to B's questions, which
//! would cut the other way too.

use std::fmt::Write as _;
use std::net::Ipv4Addr;

/// The table's name.
pub const TABLE: &str = "netlab_faults";

/// Frames from `from` to `to` are dropped (IP always, ARP when `arp`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cut {
    /// The fault's name, for the rule's comment.
    pub name: String,
    pub from: Vec<Ipv4Addr>,
    pub to: Vec<Ipv4Addr>,
    pub arp: bool,
}

/// The `nft -f -` script that makes the table exactly `cuts` in one transaction (a cut with
/// an empty side, of stopped containers, adds no rule). No cut: the table is removed.
pub fn script(cuts: &[Cut]) -> String {
    let mut s = format!("add table bridge {TABLE}\ndelete table bridge {TABLE}\n");
    let live: Vec<&Cut> = cuts
        .iter()
        .filter(|c| !c.from.is_empty() && !c.to.is_empty())
        .collect();
    if live.is_empty() {
        return s;
    }
    let _ = writeln!(s, "table bridge {TABLE} {{");
    s.push_str("\tchain forward {\n\t\ttype filter hook forward priority filter; policy accept;\n");
    for c in live {
        let (from, to) = (set(&c.from), set(&c.to));
        let comment = c.name.replace('"', "");
        let _ = writeln!(
            s,
            "\t\tether type ip ip saddr {from} ip daddr {to} counter drop comment \"{comment}\""
        );
        if c.arp {
            let _ = writeln!(
                s,
                "\t\tether type arp arp saddr ip {from} arp daddr ip {to} counter drop comment \"{comment}\""
            );
        }
    }
    s.push_str("\t}\n}\n");
    s
}

fn set(ips: &[Ipv4Addr]) -> String {
    let mut v: Vec<String> = ips.iter().map(ToString::to_string).collect();
    v.sort();
    v.dedup();
    format!("{{ {} }}", v.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> Ipv4Addr {
        Ipv4Addr::new(172, 17, 0, last)
    }

    #[test]
    fn no_cut_removes_the_table() {
        assert_eq!(
            script(&[]),
            "add table bridge netlab_faults\ndelete table bridge netlab_faults\n"
        );
        let empty_side = Cut {
            name: "p".into(),
            from: vec![ip(2)],
            to: vec![],
            arp: true,
        };
        assert!(!script(&[empty_side]).contains("chain"));
    }

    #[test]
    fn cuts_become_drop_rules_with_sets() {
        let s = script(&[
            Cut {
                name: "web-db".into(),
                from: vec![ip(4), ip(3), ip(3)],
                to: vec![ip(2)],
                arp: true,
            },
            Cut {
                name: "oneway".into(),
                from: vec![ip(5)],
                to: vec![ip(2)],
                arp: false,
            },
        ]);
        assert!(s.contains(
            "ip saddr { 172.17.0.3, 172.17.0.4 } ip daddr { 172.17.0.2 } counter drop comment \"web-db\""
        ), "{s}");
        assert!(
            s.contains("arp saddr ip { 172.17.0.3, 172.17.0.4 } arp daddr ip { 172.17.0.2 }"),
            "{s}"
        );
        assert_eq!(s.matches("arp saddr").count(), 1, "{s}");
    }
}
