//! Address management of one lab: dynamic addresses from the range, static ones claimed
//! by name, and never the network, broadcast or bridge address.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::lab::LabSpec;
use super::net::{Ipv4Net, Ipv6Net};
use crate::error::{Error, Result};

#[derive(Debug, Clone)]
pub struct Ipam {
    lab: String,
    subnet: Ipv4Net,
    range: Ipv4Net,
    /// Every address in use, with who uses it (for error messages).
    used: BTreeMap<Ipv4Addr, String>,
}

impl Ipam {
    pub fn new(spec: &LabSpec) -> Self {
        Ipam::with(
            &spec.name,
            spec.bip,
            spec.range(),
            Some((spec.bip.addr, format!("the bridge {}", spec.bridge))),
        )
    }

    /// The addresses of one network: `subnet` (its address is the gateway's when there is
    /// one), dynamic ones from `range`, `reserved` (the gateway and who it is) never given.
    pub fn with(
        lab: &str,
        subnet: Ipv4Net,
        range: Ipv4Net,
        reserved: Option<(Ipv4Addr, String)>,
    ) -> Self {
        Ipam {
            lab: lab.to_string(),
            subnet,
            range,
            used: reserved.into_iter().collect(),
        }
    }

    /// The lowest free address of the range, given to `owner`.
    pub fn allocate(&mut self, owner: &str) -> Result<Ipv4Addr> {
        let (net, bcast) = (
            u32::from(self.subnet.network()),
            u32::from(self.subnet.broadcast()),
        );
        // A narrower range (dockerd's --fixed-cidr) skips its own network and broadcast
        // addresses too, so that no container gets an address like 10.2.1.0 that reads
        // as a network (except /31 and /32, which have no such addresses).
        let narrow = self.range.prefix > self.subnet.prefix && self.range.prefix < 31;
        let first = (u32::from(self.range.network()) + u32::from(narrow)).max(net + 1);
        let last = (u32::from(self.range.broadcast()) - u32::from(narrow)).min(bcast - 1);
        let ip = (first..=last)
            .map(Ipv4Addr::from)
            .find(|ip| !self.used.contains_key(ip))
            .ok_or_else(|| Error::AddressExhausted {
                lab: self.lab.clone(),
                range: self.range.to_string(),
            })?;
        self.used.insert(ip, owner.to_string());
        Ok(ip)
    }

    /// Claims a chosen address (pipework's static ones); it may lie outside the bridge
    /// subnet (another bridge), but never on an address in use.
    pub fn claim(&mut self, ip: Ipv4Addr, owner: &str) -> Result<()> {
        self.check_free(ip)?;
        self.used.insert(ip, owner.to_string());
        Ok(())
    }

    /// Whether [`Ipam::claim`] would take `ip` for `owner`, without taking it: a request
    /// is checked in full before anything is applied.
    pub fn check_free(&self, ip: Ipv4Addr) -> Result<()> {
        if let Some(by) = self.used.get(&ip) {
            return Err(Error::AddressInUse {
                addr: ip.to_string(),
                owner: by.clone(),
            });
        }
        if self.subnet.contains(ip)
            && (ip == self.subnet.network() || ip == self.subnet.broadcast())
        {
            return Err(Error::spec(
                "address",
                ip.to_string(),
                format!(
                    "it is the network or broadcast address of {}",
                    self.subnet.canonical()
                ),
            ));
        }
        Ok(())
    }

    pub fn release(&mut self, ip: Ipv4Addr) {
        self.used.remove(&ip);
    }
}

/// The IPv6 addresses of one network: the lowest free one of the range after the network
/// address, as Docker gives them (`fd00:78::2` after the gateway `fd00:78::1`).
#[derive(Debug, Clone)]
pub struct Ipam6 {
    range: Ipv6Net,
    used: BTreeMap<Ipv6Addr, String>,
}

impl Ipam6 {
    pub fn new(range: Ipv6Net, reserved: Option<(Ipv6Addr, String)>) -> Self {
        Ipam6 {
            range: range.canonical(),
            used: reserved.into_iter().collect(),
        }
    }

    pub fn allocate(&mut self, owner: &str) -> Result<Ipv6Addr> {
        let first = u128::from(self.range.network()) + 1;
        let last = u128::from(self.range.last());
        // The used addresses are few: the first gap after them is found in their count.
        let ip = (first..=last)
            .take(self.used.len() + 1)
            .map(Ipv6Addr::from)
            .find(|ip| !self.used.contains_key(ip))
            .ok_or_else(|| Error::AddressExhausted {
                lab: String::new(),
                range: self.range.to_string(),
            })?;
        self.used.insert(ip, owner.to_string());
        Ok(ip)
    }

    pub fn claim(&mut self, ip: Ipv6Addr, owner: &str) -> Result<()> {
        self.check_free(ip)?;
        self.used.insert(ip, owner.to_string());
        Ok(())
    }

    pub fn check_free(&self, ip: Ipv6Addr) -> Result<()> {
        match self.used.get(&ip) {
            Some(by) => Err(Error::AddressInUse {
                addr: ip.to_string(),
                owner: by.clone(),
            }),
            None => Ok(()),
        }
    }

    pub fn release(&mut self, ip: Ipv6Addr) {
        self.used.remove(&ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lab(bip: &str, range: Option<&str>) -> LabSpec {
        let mut l = LabSpec::new("t");
        l.bip = bip.parse().unwrap();
        l.ip_range = range.map(|r| r.parse().unwrap());
        l
    }

    #[test]
    fn allocates_lowest_free_skipping_bridge() {
        let mut ipam = Ipam::new(&lab("172.17.0.1/16", None));
        assert_eq!(ipam.allocate("a").unwrap(), Ipv4Addr::new(172, 17, 0, 2));
        assert_eq!(ipam.allocate("b").unwrap(), Ipv4Addr::new(172, 17, 0, 3));
        ipam.release(Ipv4Addr::new(172, 17, 0, 2));
        assert_eq!(ipam.allocate("c").unwrap(), Ipv4Addr::new(172, 17, 0, 2));
    }

    #[test]
    fn range_and_exhaustion() {
        // /29 range at the start of the subnet: .0 and .7 are its network and broadcast
        // addresses, .1 is the bridge.
        let mut ipam = Ipam::new(&lab("10.2.0.1/16", Some("10.2.0.0/29")));
        for i in 2..=6 {
            assert_eq!(ipam.allocate("a").unwrap(), Ipv4Addr::new(10, 2, 0, i));
        }
        assert!(matches!(
            ipam.allocate("c"),
            Err(Error::AddressExhausted { .. })
        ));
        // A /31 range has two usable addresses.
        let mut ipam = Ipam::new(&lab("10.2.0.1/16", Some("10.2.3.0/31")));
        assert_eq!(ipam.allocate("a").unwrap(), Ipv4Addr::new(10, 2, 3, 0));
        assert_eq!(ipam.allocate("b").unwrap(), Ipv4Addr::new(10, 2, 3, 1));
        // A /30 bridge subnet: broadcast excluded too.
        let mut ipam = Ipam::new(&lab("10.9.0.1/30", None));
        assert_eq!(ipam.allocate("a").unwrap(), Ipv4Addr::new(10, 9, 0, 2));
        assert!(ipam.allocate("b").is_err());
    }

    #[test]
    fn statics_conflict_with_everything_in_use() {
        let mut ipam = Ipam::new(&lab("10.2.0.10/16", Some("10.2.1.0/24")));
        let a = ipam.allocate("container web").unwrap();
        assert_eq!(a, Ipv4Addr::new(10, 2, 1, 1));
        assert!(
            matches!(ipam.claim(a, "x"), Err(Error::AddressInUse { owner, .. }) if owner == "container web")
        );
        assert!(matches!(
            ipam.claim(Ipv4Addr::new(10, 2, 0, 10), "x"),
            Err(Error::AddressInUse { .. })
        ));
        ipam.claim(Ipv4Addr::new(10, 2, 0, 11), "pipework").unwrap();
        assert!(ipam.claim(Ipv4Addr::new(10, 2, 0, 11), "again").is_err());
        assert!(ipam.claim(Ipv4Addr::new(10, 2, 255, 255), "bcast").is_err());
    }
}
