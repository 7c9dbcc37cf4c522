//! Published ports (Docker's `-p`): kernel DNAT and masquerade in an nftables table that
//! netlab owns on the lab host.
//!
//! Why nftables and not netlink: forwarding a port for every local address needs
//! `fib daddr type local`, which only nftables expresses (the pure-netlink crates cannot,
//! and the one that could is GPL). So the [`Nft`] backend renders the whole table as a
//! typed `nft -j` document ([`ruleset`], pure and unit-tested) and hands it to the `nft`
//! binary, which applies it in one atomic transaction.
//!
//! Why one table, replaced whole: the lab supervisor passes the complete wanted state
//! ([`LabNat`]) on every change, and [`Firewall::apply`] swaps netlab's table for it in a
//! single transaction. Nothing is patched rule by rule, so there are no handles to track,
//! a repeated apply is harmless, and a failed apply leaves the previous table untouched.
//!
//! Where the table lands: `nft` runs in the network namespace of the thread that spawns
//! it, which for the lab supervisor is the lab host's namespace; the table dies with that
//! namespace, so a lab leaves no rule behind on the real machine.
//!
//! [`NoFirewall`] does nothing, for tests of the rest of the lab.

pub mod networks;
mod nft;
pub mod partition;
mod ruleset;
pub mod trace;

use std::fmt;
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::model::{Ipv4Net, Proto};

pub use nft::{Nft, Runner};
pub use ruleset::ruleset;

/// The nftables table netlab owns on a lab host (`table ip netlab`).
pub const TABLE: &str = "netlab";

/// One published port: traffic for `host_ip:host_port` goes to `container_ip:container_port`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Forward {
    /// The lab host's address to listen on; `None` (or `0.0.0.0`) means every local
    /// address, like Docker's default `0.0.0.0`.
    pub host_ip: Option<Ipv4Addr>,
    pub host_port: u16,
    pub proto: Proto,
    pub container_ip: Ipv4Addr,
    pub container_port: u16,
}

impl Forward {
    /// The specific host address this forward is bound to, or `None` for every local
    /// address (`0.0.0.0` counts as every address, as in Docker).
    pub fn bound_ip(&self) -> Option<Ipv4Addr> {
        self.host_ip.filter(|ip| !ip.is_unspecified())
    }
}

/// `0.0.0.0:8080->172.17.0.2:80/tcp`, the form used in rule comments.
impl fmt::Display for Forward {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}->{}:{}/{}",
            self.host_ip.unwrap_or(Ipv4Addr::UNSPECIFIED),
            self.host_port,
            self.container_ip,
            self.container_port,
            self.proto.as_str()
        )
    }
}

/// Everything the lab host's NAT table must contain: the whole wanted state, not a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabNat {
    /// The bridge the containers hang on (`docker0`'s role).
    pub bridge: String,
    /// The bridge's subnet, canonical (`172.17.0.0/16`); a non-canonical one is
    /// canonicalised when rendered.
    pub subnet: Ipv4Net,
    /// The published ports, in the order their rules are added.
    pub forwards: Vec<Forward>,
}

/// A place where a lab's port forwarding lives.
pub trait Firewall: Send + Sync + fmt::Debug {
    /// Makes the lab host's NAT state exactly `nat`, replacing whatever netlab applied
    /// before, atomically: on error nothing changed. Call it from a thread that is in the
    /// lab host's network namespace, because that is where the rules land.
    fn apply(&self, nat: &LabNat) -> Result<()>;

    /// Makes the lab host's partitions exactly `cuts` (see [`partition`]), atomically.
    fn apply_cuts(&self, cuts: &[partition::Cut]) -> Result<()>;

    /// Makes the lab host's network rules exactly `rules` (see [`networks`]), atomically.
    fn apply_networks(&self, rules: &networks::NetRules) -> Result<()>;
}

/// A firewall that does nothing, for tests of the rest of the lab that need no forwarding.
#[cfg(test)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoFirewall;

#[cfg(test)]
impl Firewall for NoFirewall {
    fn apply(&self, nat: &LabNat) -> Result<()> {
        tracing::debug!(
            bridge = %nat.bridge,
            forwards = nat.forwards.len(),
            "no firewall: port forwarding not applied"
        );
        Ok(())
    }

    fn apply_cuts(&self, cuts: &[partition::Cut]) -> Result<()> {
        tracing::debug!(cuts = cuts.len(), "no firewall: partitions not applied");
        Ok(())
    }

    fn apply_networks(&self, rules: &networks::NetRules) -> Result<()> {
        tracing::debug!(
            bridges = rules.bridges.len(),
            "no firewall: networks not applied"
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_display_and_bound_ip() {
        let mut f = Forward {
            host_ip: None,
            host_port: 8080,
            proto: Proto::Tcp,
            container_ip: Ipv4Addr::new(172, 17, 0, 2),
            container_port: 80,
        };
        assert_eq!(f.to_string(), "0.0.0.0:8080->172.17.0.2:80/tcp");
        assert_eq!(f.bound_ip(), None);
        f.host_ip = Some(Ipv4Addr::UNSPECIFIED);
        assert_eq!(f.bound_ip(), None);
        f.host_ip = Some(Ipv4Addr::new(10, 2, 0, 10));
        f.proto = Proto::Udp;
        assert_eq!(f.bound_ip(), Some(Ipv4Addr::new(10, 2, 0, 10)));
        assert_eq!(f.to_string(), "10.2.0.10:8080->172.17.0.2:80/udp");
    }

    #[test]
    fn lab_nat_serde_round_trip() {
        let nat = LabNat {
            bridge: "nl-br0".into(),
            subnet: "172.17.0.0/16".parse().unwrap(),
            forwards: vec![Forward {
                host_ip: Some(Ipv4Addr::LOCALHOST),
                host_port: 53,
                proto: Proto::Udp,
                container_ip: Ipv4Addr::new(172, 17, 0, 3),
                container_port: 5353,
            }],
        };
        let json = serde_json::to_value(&nat).unwrap();
        assert_eq!(json["subnet"], "172.17.0.0/16");
        assert_eq!(json["forwards"][0]["proto"], "udp");
        assert_eq!(json["forwards"][0]["host_ip"], "127.0.0.1");
        assert_eq!(serde_json::from_value::<LabNat>(json).unwrap(), nat);
    }

    #[test]
    fn no_firewall_accepts_anything() {
        let nat = LabNat {
            bridge: "br0".into(),
            subnet: "10.0.0.0/8".parse().unwrap(),
            forwards: vec![],
        };
        assert_eq!(NoFirewall.apply(&nat), Ok(()));
    }
}
