//! The temporary tables of `netlab trace`: `table inet netlab_trace` (and, on the lab
//! host, `table bridge netlab_trace` for frames that are only switched) with chains at the
//! earliest hooks that set `meta nftrace set 1` on the probe's packets only, so that
//! `nft monitor trace` reports every rule those packets meet in the namespace.
//!
//! They live in the lab's namespaces, so a trace killed half-way leaves them only until
//! the lab ends; the next trace replaces them (`add table; delete table` first).

use std::fmt::Write as _;

/// The tables' name.
pub const TABLE: &str = "netlab_trace";

/// Where netlab sends a datagram in each traced namespace after the probe (it stays on
/// `lo`): its trace event comes after every event of the probe, so once `nft monitor`
/// printed it, it has printed everything of the probe.
pub const SENTINEL: (std::net::Ipv4Addr, u16) = (std::net::Ipv4Addr::new(127, 0, 0, 9), 9);

/// Which packets are the probe's: its protocol and the ports or ICMP id that netlab chose
/// before sending it (the kernel bound the source port, so it is known in advance).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    /// TCP or UDP from source port `sport`, and everything back to it; plus ICMP errors
    /// (a port unreachable answers a UDP probe).
    Ports {
        /// `tcp` or `udp`.
        proto: &'static str,
        /// The probe's source port.
        sport: u16,
    },
    /// ICMP echo with this identifier, request and reply.
    Echo {
        /// The echo identifier.
        id: u16,
    },
    /// A real flow to observe (`netlab trace --observe`): TCP or UDP to `dport` (or to
    /// `inner`, the container's port a published port leads to, after DNAT), from `sport`
    /// when given, and everything back; plus ICMP errors. Other flows to the same port
    /// are marked too: the supervisor keeps the first one it sees from the vantage.
    Flow {
        /// `tcp` or `udp`.
        proto: &'static str,
        /// The destination port asked for.
        dport: u16,
        /// The container's port behind a published `dport`, when it differs.
        inner: Option<u16>,
        /// The source port, when the user named it.
        sport: Option<u16>,
    },
}

impl Marker {
    fn matches(&self) -> Vec<String> {
        match *self {
            Marker::Ports { proto, sport } => vec![
                format!("meta l4proto {proto} th sport {sport}"),
                format!("meta l4proto {proto} th dport {sport}"),
                "meta l4proto icmp icmp type { destination-unreachable, time-exceeded }".into(),
            ],
            Marker::Echo { id } => vec![format!(
                "icmp type {{ echo-request, echo-reply }} icmp id {id}"
            )],
            Marker::Flow {
                proto,
                dport,
                inner,
                sport,
            } => {
                let ports = match inner.filter(|i| *i != dport) {
                    Some(i) => format!("{{ {dport}, {i} }}"),
                    None => dport.to_string(),
                };
                let (to, back) = match sport {
                    Some(s) => (format!(" th sport {s}"), format!(" th dport {s}")),
                    None => (String::new(), String::new()),
                };
                vec![
                    format!("meta l4proto {proto} th dport {ports}{to}"),
                    format!("meta l4proto {proto} th sport {ports}{back}"),
                    "meta l4proto icmp icmp type { destination-unreachable, time-exceeded }".into(),
                ]
            }
        }
    }
}

/// The `nft -f -` script that installs the trace tables (replacing any left over);
/// `bridge` adds the bridge-family table, for the lab host.
pub fn install(marker: Marker, bridge: bool) -> String {
    let mut s = remove(bridge);
    let _ = writeln!(s, "table inet {TABLE} {{");
    for (chain, hook) in [("pre", "prerouting"), ("out", "output")] {
        let _ = writeln!(
            s,
            "\tchain {chain} {{\n\t\ttype filter hook {hook} priority -350; policy accept;"
        );
        if chain == "out" {
            let _ = writeln!(
                s,
                "\t\tip daddr {} udp dport {} meta nftrace set 1",
                SENTINEL.0, SENTINEL.1
            );
        }
        for m in marker.matches() {
            let _ = writeln!(s, "\t\t{m} meta nftrace set 1");
        }
        s.push_str("\t}\n");
    }
    s.push_str("}\n");
    if bridge {
        let _ = writeln!(s, "table bridge {TABLE} {{");
        s.push_str(
            "\tchain pre {\n\t\ttype filter hook prerouting priority -350; policy accept;\n",
        );
        for m in marker.matches() {
            let _ = writeln!(s, "\t\tether type ip {m} meta nftrace set 1");
        }
        s.push_str("\t}\n}\n");
    }
    s
}

/// The script that removes the trace tables; harmless when they are gone.
pub fn remove(bridge: bool) -> String {
    let mut s = format!("add table inet {TABLE}\ndelete table inet {TABLE}\n");
    if bridge {
        let _ = write!(s, "add table bridge {TABLE}\ndelete table bridge {TABLE}\n");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts() {
        let s = install(
            Marker::Ports {
                proto: "tcp",
                sport: 40000,
            },
            true,
        );
        assert!(s.starts_with("add table inet netlab_trace\ndelete table inet netlab_trace\n"));
        assert!(
            s.contains("meta l4proto tcp th sport 40000 meta nftrace set 1"),
            "{s}"
        );
        assert!(s.contains("type filter hook output priority -350"), "{s}");
        assert!(s.contains("table bridge netlab_trace"), "{s}");
        let e = install(Marker::Echo { id: 7 }, false);
        assert!(e.contains("icmp id 7 meta nftrace set 1"), "{e}");
        assert!(!e.contains("bridge"), "{e}");
        let f = install(
            Marker::Flow {
                proto: "udp",
                dport: 8080,
                inner: Some(80),
                sport: Some(5000),
            },
            false,
        );
        for want in [
            "meta l4proto udp th dport { 8080, 80 } th sport 5000 meta nftrace set 1",
            "meta l4proto udp th sport { 8080, 80 } th dport 5000 meta nftrace set 1",
        ] {
            assert!(f.contains(want), "{f}");
        }
        let f = install(
            Marker::Flow {
                proto: "tcp",
                dport: 80,
                inner: Some(80),
                sport: None,
            },
            false,
        );
        assert!(
            f.contains("\t\tmeta l4proto tcp th dport 80 meta nftrace set 1\n"),
            "{f}"
        );
    }
}
