//! IP networks as Docker's options write them (`--bip 172.17.0.1/16`, `--subnet
//! fd00:78::/64`).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// An interface address with its prefix, e.g. `172.17.0.1/16`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Ipv4Net {
    /// The address (an interface's own, or the network's).
    pub addr: Ipv4Addr,
    /// The prefix length, 0 to 32.
    pub prefix: u8,
}

impl Ipv4Net {
    /// `addr/prefix`; refuses a prefix over 32. Parse text with `str::parse`.
    pub fn new(addr: Ipv4Addr, prefix: u8) -> Result<Self> {
        if prefix > 32 {
            return Err(Error::spec(
                "CIDR",
                format!("{addr}/{prefix}"),
                "the prefix is 0 to 32",
            ));
        }
        Ok(Self { addr, prefix })
    }

    /// The netmask as a number (`/16` is `0xffff_0000`).
    pub fn mask(&self) -> u32 {
        if self.prefix == 0 {
            0
        } else {
            u32::MAX << (32 - self.prefix)
        }
    }

    /// The network address (`172.17.0.0` for `172.17.0.1/16`).
    pub fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) & self.mask())
    }

    /// The broadcast address (`172.17.255.255` for `172.17.0.1/16`).
    pub fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) | !self.mask())
    }

    /// True when `ip` is in this network.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & self.mask() == u32::from(self.addr) & self.mask()
    }

    /// True when every address of `other` lies in `self`.
    pub fn covers(&self, other: &Ipv4Net) -> bool {
        other.prefix >= self.prefix && self.contains(other.network())
    }

    /// The same network written with its network address (`10.2.0.0/16`).
    pub fn canonical(&self) -> Ipv4Net {
        Ipv4Net {
            addr: self.network(),
            prefix: self.prefix,
        }
    }

    /// Parses `A.B.C.D/N`; `what` names the option in the error (`--bip`).
    pub(crate) fn parse_as(what: &str, s: &str) -> Result<Self> {
        let (addr, prefix) = parse_cidr(what, s, "IPv4", 32, "172.17.0.1/16")?;
        Ok(Self { addr, prefix })
    }
}

/// `ADDR/N` of one family (`family`, prefixes up to `max`); `what` names the option and
/// `example` shows the form in the error.
fn parse_cidr<A: FromStr>(
    what: &str,
    s: &str,
    family: &str,
    max: u8,
    example: &str,
) -> Result<(A, u8)> {
    let (a, p) = s.split_once('/').ok_or_else(|| {
        Error::spec(
            what,
            s,
            format!("write an address with its prefix length, e.g. {example}"),
        )
    })?;
    let addr = A::from_str(a)
        .map_err(|_| Error::spec(what, s, format!("{a:?} is not an {family} address")))?;
    let prefix = p
        .parse::<u8>()
        .ok()
        .filter(|p| *p <= max)
        .ok_or_else(|| Error::spec(what, s, format!("{p:?} is not a prefix length 0-{max}")))?;
    Ok((addr, prefix))
}

/// `ADDR/PREFIX` as text both ways, for a network type with `addr`, `prefix` and
/// `parse_as` (serde goes through it: `try_from = "String"`).
macro_rules! cidr_text {
    ($t:ident) => {
        impl FromStr for $t {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self> {
                Self::parse_as("CIDR", s)
            }
        }

        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}/{}", self.addr, self.prefix)
            }
        }

        impl TryFrom<String> for $t {
            type Error = Error;
            fn try_from(s: String) -> Result<Self> {
                s.parse()
            }
        }

        impl From<$t> for String {
            fn from(n: $t) -> String {
                n.to_string()
            }
        }
    };
}

cidr_text!(Ipv4Net);

impl Ipv4Net {
    /// Why this address cannot be an interface's own address in its network, if it
    /// cannot: the rule for `--bip`, pipework, the uplink and LAN machines. The network
    /// and broadcast addresses count only for prefixes up to /30 (a /31 has neither).
    pub(crate) fn host_address_problem(&self) -> Option<String> {
        let a = self.addr;
        let first = a.octets()[0];
        let fixed = match () {
            _ if first == 0 => "0.0.0.0/8 means \"this network\" and is no host's address",
            _ if a.is_loopback() => "127.0.0.0/8 is every machine's own loopback range",
            _ if a.is_multicast() => "224.0.0.0/4 is for multicast groups",
            _ if a.is_broadcast() => "255.255.255.255 is the broadcast address",
            _ if first >= 240 => "240.0.0.0/4 is reserved",
            _ => "",
        };
        if !fixed.is_empty() {
            return Some(fixed.to_string());
        }
        let net = self.canonical();
        if self.prefix <= 30 && (a == self.network() || a == self.broadcast()) {
            let which = if a == self.network() {
                "network"
            } else {
                "broadcast"
            };
            return Some(format!(
                "it is the {which} address of {net}; a host address is e.g. {}/{}",
                Ipv4Addr::from(u32::from(self.network()) + 1),
                self.prefix
            ));
        }
        None
    }
}

/// An IPv6 interface address or network with its prefix, e.g. `fd00:78::1/64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Ipv6Net {
    /// The address (an interface's own, or the network's).
    pub addr: Ipv6Addr,
    /// The prefix length, 0 to 128.
    pub prefix: u8,
}

impl Ipv6Net {
    fn mask(&self) -> u128 {
        if self.prefix == 0 {
            0
        } else {
            u128::MAX << (128 - u32::from(self.prefix))
        }
    }

    /// The network address (`fd00:78::` for `fd00:78::1/64`).
    pub fn network(&self) -> Ipv6Addr {
        Ipv6Addr::from(u128::from(self.addr) & self.mask())
    }

    /// The last address of the network.
    pub fn last(&self) -> Ipv6Addr {
        Ipv6Addr::from(u128::from(self.addr) | !self.mask())
    }

    /// True when `ip` is in this network.
    pub fn contains(&self, ip: Ipv6Addr) -> bool {
        u128::from(ip) & self.mask() == u128::from(self.addr) & self.mask()
    }

    /// The same network written with its network address (`fd00:78::/64`).
    pub fn canonical(&self) -> Ipv6Net {
        Ipv6Net {
            addr: self.network(),
            prefix: self.prefix,
        }
    }

    /// Parses `ADDR/N`; `what` names the option in the error (`--subnet`).
    pub(crate) fn parse_as(what: &str, s: &str) -> Result<Self> {
        let (addr, prefix) = parse_cidr(what, s, "IPv6", 128, "fd00:78::/64")?;
        Ok(Self { addr, prefix })
    }
}

cidr_text!(Ipv6Net);

/// A subnet of either family, as `--subnet` takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Subnet {
    /// An IPv4 subnet.
    V4(Ipv4Net),
    /// An IPv6 subnet.
    V6(Ipv6Net),
}

impl Subnet {
    /// Parses an IPv4 or IPv6 CIDR; `what` names the option in the error.
    pub(crate) fn parse_as(what: &str, s: &str) -> Result<Self> {
        if s.contains(':') {
            Ipv6Net::parse_as(what, s).map(Subnet::V6)
        } else {
            Ipv4Net::parse_as(what, s).map(Subnet::V4)
        }
    }

    /// The same subnet written with its network address.
    pub fn canonical(&self) -> Subnet {
        match self {
            Subnet::V4(n) => Subnet::V4(n.canonical()),
            Subnet::V6(n) => Subnet::V6(n.canonical()),
        }
    }

    /// Its prefix length.
    pub fn prefix(&self) -> u8 {
        match self {
            Subnet::V4(n) => n.prefix,
            Subnet::V6(n) => n.prefix,
        }
    }

    /// True for an IPv6 subnet.
    pub fn is_v6(&self) -> bool {
        matches!(self, Subnet::V6(_))
    }

    /// True when `ip` is in this subnet (an address of the other family never is).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self, ip) {
            (Subnet::V4(n), IpAddr::V4(a)) => n.contains(a),
            (Subnet::V6(n), IpAddr::V6(a)) => n.contains(a),
            _ => false,
        }
    }

    /// True when the two share an address (one contains the other's network).
    pub fn overlaps(&self, other: &Subnet) -> bool {
        match (self, other) {
            (Subnet::V4(a), Subnet::V4(b)) => a.contains(b.network()) || b.contains(a.network()),
            (Subnet::V6(a), Subnet::V6(b)) => a.contains(b.network()) || b.contains(a.network()),
            _ => false,
        }
    }

    /// True when every address of `other` lies in `self`.
    pub fn covers(&self, other: &Subnet) -> bool {
        other.prefix() >= self.prefix() && self.overlaps(other)
    }
}

impl fmt::Display for Subnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subnet::V4(n) => n.fmt(f),
            Subnet::V6(n) => n.fmt(f),
        }
    }
}

impl FromStr for Subnet {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse_as("--subnet", s)
    }
}

impl TryFrom<String> for Subnet {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

impl From<Subnet> for String {
    fn from(n: Subnet) -> String {
        n.to_string()
    }
}

/// Docker's MAC for a container address: `02:42` followed by the four address bytes, so a
/// MAC tells which address it carries and never collides inside one subnet.
pub fn docker_mac(ip: Ipv4Addr) -> [u8; 6] {
    let o = ip.octets();
    [0x02, 0x42, o[0], o[1], o[2], o[3]]
}

pub fn format_mac(mac: &[u8]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_computes() {
        let n: Ipv4Net = "10.2.0.10/16".parse().unwrap();
        assert_eq!(n.network(), Ipv4Addr::new(10, 2, 0, 0));
        assert_eq!(n.broadcast(), Ipv4Addr::new(10, 2, 255, 255));
        assert!(n.contains(Ipv4Addr::new(10, 2, 200, 1)));
        assert!(!n.contains(Ipv4Addr::new(10, 3, 0, 1)));
        assert_eq!(n.to_string(), "10.2.0.10/16");
        assert_eq!(n.canonical().to_string(), "10.2.0.0/16");
        let r: Ipv4Net = "10.2.1.0/24".parse().unwrap();
        assert!(n.covers(&r));
        assert!(!r.covers(&n));
    }

    #[test]
    fn rejects_bad_cidrs() {
        for bad in [
            "10.2.0.10",
            "10.2.0.10/33",
            "10.2.0/16",
            "x/8",
            "10.2.0.10/-1",
            "",
        ] {
            assert!(
                matches!(
                    Ipv4Net::parse_as("--bip", bad),
                    Err(Error::InvalidSpec { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn host_addresses() {
        for ok in [
            "172.17.0.1/16",
            "10.2.0.10/16",
            "10.0.0.0/31",
            "10.0.0.1/31",
            "192.168.1.254/24",
            "1.0.0.1/8",
        ] {
            let n: Ipv4Net = ok.parse().unwrap();
            assert_eq!(n.host_address_problem(), None, "{ok}");
        }
        for (bad, why) in [
            ("0.0.0.1/8", "this network"),
            ("0.0.0.0/8", "this network"),
            ("127.0.0.1/8", "loopback"),
            ("224.0.0.1/4", "multicast"),
            ("255.255.255.255/24", "broadcast address"),
            ("250.1.1.1/8", "reserved"),
            (
                "10.2.0.0/16",
                "network address of 10.2.0.0/16; a host address is e.g. 10.2.0.1/16",
            ),
            ("10.2.255.255/16", "broadcast address of 10.2.0.0/16"),
            ("192.168.1.255/24", "broadcast address of 192.168.1.0/24"),
        ] {
            let n: Ipv4Net = bad.parse().unwrap();
            let got = n.host_address_problem().unwrap_or_default();
            assert!(got.contains(why), "{bad}: {got:?}");
        }
    }

    #[test]
    fn ipv6_and_either_family() {
        let n: Ipv6Net = "fd00:78::1/64".parse().unwrap();
        assert_eq!(n.network(), "fd00:78::".parse::<Ipv6Addr>().unwrap());
        assert!(n.contains("fd00:78::ffff".parse().unwrap()));
        assert!(!n.contains("fd00:79::1".parse().unwrap()));
        assert_eq!(n.canonical().to_string(), "fd00:78::/64");
        assert!("fd00::/129".parse::<Ipv6Net>().is_err());
        let a: Subnet = "10.78.0.0/24".parse().unwrap();
        let b: Subnet = "10.78.0.128/25".parse().unwrap();
        let c: Subnet = "10.79.0.0/24".parse().unwrap();
        let d: Subnet = "fd00:78::/64".parse().unwrap();
        assert!(a.overlaps(&b) && b.overlaps(&a) && a.covers(&b) && !b.covers(&a));
        assert!(!a.overlaps(&c) && !a.overlaps(&d));
        assert!(d.is_v6() && d.contains("fd00:78::2".parse().unwrap()));
        assert!(!d.contains("10.78.0.2".parse().unwrap()));
    }

    #[test]
    fn mac_like_docker() {
        assert_eq!(
            format_mac(&docker_mac(Ipv4Addr::new(172, 17, 0, 2))),
            "02:42:ac:11:00:02"
        );
    }
}
