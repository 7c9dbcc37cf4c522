//! A lab: a simulated Docker host with its bridge, configured like dockerd
//! (`--bridge`, `--bip`, `--fixed-cidr`, here `--ip-range`).

use serde::{Deserialize, Serialize};

use super::names::{validate_ifname, validate_lab_name};
use super::net::Ipv4Net;
use crate::error::{Error, Result};

pub const DEFAULT_LAB: &str = "default";
pub const DEFAULT_BRIDGE: &str = "docker0";
pub const DEFAULT_BIP: &str = "172.17.0.1/16";

/// A lab to create with [`Lab::create`](crate::Lab::create): the simulated Docker host,
/// configured like dockerd. Start from [`LabSpec::new`] (Docker's defaults: `docker0`,
/// `172.17.0.1/16`) and change what your test needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabSpec {
    /// The lab's name, unique among this user's labs; [`Lab::open`](crate::Lab::open) and
    /// `netlab --lab NAME` find the lab by it.
    pub name: String,
    /// The bridge's name on the lab host, like dockerd's `--bridge`.
    pub bridge: String,
    /// The bridge's own address and the containers' subnet, like dockerd's `--bip`.
    pub bip: Ipv4Net,
    /// Where dynamic addresses come from; the bridge subnet when absent.
    pub ip_range: Option<Ipv4Net>,
    /// A simulated uplink: an interface of the lab host joined to a LAN of `lan_nodes`.
    #[serde(default)]
    pub uplink: Option<Uplink>,
    /// Machines on the simulated LAN, each in a namespace of its own.
    #[serde(default)]
    pub lan_nodes: Vec<LanNode>,
    /// A real interface of this machine to move into the lab host as its uplink (root
    /// only; the kernel gives it back when the lab ends).
    #[serde(default)]
    pub uplink_dev: Option<String>,
    /// Do the article's two steps at creation: remove the uplink's address and enslave the
    /// uplink to the bridge.
    #[serde(default)]
    pub attach_uplink: bool,
    /// Where the embedded DNS of user-defined networks sends the names it does not know
    /// (`--dns-forward IP[:PORT]`, a server the lab host reaches, e.g. on its LAN). None:
    /// such names are answered REFUSED at once, since a lab has no internet of its own.
    #[serde(default)]
    pub dns_forward: Vec<std::net::SocketAddr>,
}

/// The lab host's interface to a simulated LAN (`--uplink eth1=10.2.0.10/16`), the
/// article's `eth1` of the Docker host. Parse it with [`Uplink::parse`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Uplink {
    /// The interface's name on the lab host.
    pub name: String,
    /// Its address, if it has one.
    pub addr: Option<Ipv4Net>,
}

/// A machine on the lab's simulated LAN (`--lan-node lan=10.2.0.1/16`), in a network
/// namespace of its own; reach it with [`Target::Node`](crate::Target::Node). Parse it
/// with [`LanNode::parse`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LanNode {
    /// Its name, the one `Target::Node` takes.
    pub name: String,
    /// Its address on the LAN.
    pub addr: Ipv4Net,
}

impl Uplink {
    /// Parses `NAME=ADDR/PREFIX` or `NAME`.
    pub fn parse(text: &str) -> Result<Self> {
        let (name, addr) = match text.split_once('=') {
            Some((n, a)) => (n, Some(Ipv4Net::parse_as("--uplink", a)?)),
            None => (text, None),
        };
        validate_ifname(name).map_err(|_| {
            Error::spec(
                "--uplink",
                text,
                "write IFNAME=ADDR/PREFIX, e.g. eth1=10.2.0.10/16",
            )
        })?;
        Ok(Uplink {
            name: name.into(),
            addr,
        })
    }
}

impl LanNode {
    /// Parses `NAME=ADDR/PREFIX`.
    pub fn parse(text: &str) -> Result<Self> {
        let (name, addr) = text.split_once('=').ok_or_else(|| {
            Error::spec(
                "--lan-node",
                text,
                "write NAME=ADDR/PREFIX, e.g. lan=10.2.0.1/16",
            )
        })?;
        super::names::validate_container_name(name)?;
        Ok(LanNode {
            name: name.into(),
            addr: Ipv4Net::parse_as("--lan-node", addr)?,
        })
    }
}

impl LabSpec {
    /// A lab called `name` with dockerd's defaults: bridge `docker0` with `172.17.0.1/16`,
    /// addresses from the whole subnet, no uplink.
    pub fn new(name: &str) -> Self {
        LabSpec {
            name: name.into(),
            bridge: DEFAULT_BRIDGE.into(),
            bip: DEFAULT_BIP.parse().unwrap_or(Ipv4Net {
                addr: [172, 17, 0, 1].into(),
                prefix: 16,
            }),
            ip_range: None,
            uplink: None,
            lan_nodes: vec![],
            uplink_dev: None,
            attach_uplink: false,
            dns_forward: vec![],
        }
    }

    /// The addresses the lab's LAN side holds, with who holds them (for error messages):
    /// the uplink's and each LAN machine's. No container may take them.
    pub fn lan_addresses(&self) -> Vec<(std::net::Ipv4Addr, String)> {
        self.uplink
            .iter()
            .filter_map(|u| {
                u.addr
                    .map(|a| (a.addr, format!("the lab host's uplink {}", u.name)))
            })
            .chain(
                self.lan_nodes
                    .iter()
                    .map(|n| (n.addr.addr, format!("LAN machine {}", n.name))),
            )
            .collect()
    }

    /// Checks everything before anything is built.
    pub fn validate(&self) -> Result<()> {
        validate_lab_name(&self.name)?;
        validate_ifname(&self.bridge)?;
        let bip = self.bip;
        if bip.prefix > 30 || bip.prefix < 8 {
            return Err(Error::spec(
                "--bip",
                bip.to_string(),
                "use a prefix from /8 to /30 so containers fit in the subnet",
            ));
        }
        if let Some(why) = bip.host_address_problem() {
            return Err(Error::spec(
                "--bip",
                bip.to_string(),
                format!("the bridge needs a host address: {why}"),
            ));
        }
        let addresses = self
            .uplink
            .iter()
            .filter_map(|u| u.addr.map(|a| ("--uplink", a)))
            .chain(self.lan_nodes.iter().map(|n| ("--lan-node", n.addr)));
        for (what, a) in addresses {
            if let Some(why) = a.host_address_problem() {
                return Err(Error::spec(
                    what,
                    a.to_string(),
                    format!("give a host address: {why}"),
                ));
            }
        }
        if let Some(r) = self.ip_range
            && !bip.covers(&r)
        {
            return Err(Error::spec(
                "--ip-range",
                r.to_string(),
                format!("it must lie inside the bridge subnet {}", bip.canonical()),
            ));
        }
        if !self.lan_nodes.is_empty() && self.uplink.is_none() {
            return Err(Error::spec(
                "--lan-node",
                &self.lan_nodes[0].name,
                "LAN machines need a simulated uplink; add --uplink eth1=ADDR/PREFIX",
            ));
        }
        if self.uplink.is_some() && self.uplink_dev.is_some() {
            return Err(Error::spec(
                "--uplink-dev",
                self.uplink_dev.clone().unwrap_or_default(),
                "use either a simulated --uplink or a real --uplink-dev, not both",
            ));
        }
        if let Some(d) = &self.uplink_dev {
            validate_ifname(d)?;
        }
        if self.attach_uplink && self.uplink.is_none() && self.uplink_dev.is_none() {
            return Err(Error::spec(
                "--attach-uplink",
                "",
                "there is no uplink to attach; add --uplink or --uplink-dev",
            ));
        }
        let mut seen: Vec<(&str, std::net::Ipv4Addr)> = vec![];
        for n in &self.lan_nodes {
            if seen.iter().any(|(name, _)| *name == n.name) {
                return Err(Error::spec(
                    "--lan-node",
                    &n.name,
                    "two LAN machines have this name",
                ));
            }
            let clash = seen
                .iter()
                .map(|(name, ip)| (format!("LAN machine {name}"), *ip))
                .chain(self.uplink.as_ref().and_then(|u| u.addr).map(|a| {
                    (
                        format!(
                            "the uplink {}",
                            self.uplink.as_ref().map(|u| u.name.as_str()).unwrap_or("")
                        ),
                        a.addr,
                    )
                }))
                .chain([(format!("the bridge {}", self.bridge), self.bip.addr)])
                .find(|(_, ip)| *ip == n.addr.addr);
            if let Some((owner, ip)) = clash {
                return Err(Error::AddressInUse {
                    addr: ip.to_string(),
                    owner,
                });
            }
            seen.push((&n.name, n.addr.addr));
        }
        Ok(())
    }

    /// Where the containers' addresses come from: `ip_range`, else the bridge subnet.
    pub fn range(&self) -> Ipv4Net {
        self.ip_range.unwrap_or(self.bip).canonical()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_dockers() {
        let l = LabSpec::new("default");
        assert_eq!(l.bridge, "docker0");
        assert_eq!(l.bip.to_string(), "172.17.0.1/16");
        l.validate().unwrap();
    }

    #[test]
    fn rejects_inconsistent_settings() {
        let mut l = LabSpec::new("x");
        l.bip = "10.2.0.0/16".parse().unwrap();
        assert!(l.validate().is_err());
        l.bip = "10.2.0.10/16".parse().unwrap();
        l.ip_range = Some("10.3.0.0/24".parse().unwrap());
        assert!(l.validate().is_err());
        l.ip_range = Some("10.2.1.0/24".parse().unwrap());
        l.validate().unwrap();
        l.bridge = "this-is-too-long-for-linux".into();
        assert!(l.validate().is_err());
        let mut l = LabSpec::new("bad name");
        assert!(l.validate().is_err());
        l.name = "ok".into();
        l.bip = "10.0.0.1/31".parse().unwrap();
        assert!(l.validate().is_err());
    }

    #[test]
    fn the_bridge_and_lan_need_host_addresses() {
        for bip in [
            "0.0.0.1/8",
            "127.0.0.1/8",
            "10.2.0.0/16",
            "10.2.255.255/16",
            "224.0.0.1/8",
        ] {
            let mut l = LabSpec::new("x");
            l.bip = bip.parse().unwrap();
            let e = l.validate().unwrap_err();
            assert!(
                matches!(&e, Error::InvalidSpec { what, .. } if what == "--bip"),
                "{bip}: {e}"
            );
            assert!(e.to_string().contains("host address"), "{e}");
        }
        let mut l = LabSpec::new("x");
        l.bip = "10.2.0.10/16".parse().unwrap();
        l.uplink = Some(Uplink::parse("eth1=10.2.255.255/16").unwrap());
        assert!(l.validate().unwrap_err().to_string().contains("--uplink"));
        l.uplink = Some(Uplink::parse("eth1=10.2.0.10/16").unwrap());
        l.lan_nodes.push(LanNode::parse("lan=0.0.0.0/8").unwrap());
        assert!(l.validate().unwrap_err().to_string().contains("--lan-node"));
    }

    #[test]
    fn uplinks_and_lan_nodes() {
        let mut l = LabSpec::new("lan");
        l.bip = "10.2.0.10/16".parse().unwrap();
        l.lan_nodes.push(LanNode::parse("lan=10.2.0.1/16").unwrap());
        assert!(l.validate().is_err(), "a LAN machine needs an uplink");
        l.uplink = Some(Uplink::parse("eth1=10.2.0.10/16").unwrap());
        l.validate().unwrap();
        l.lan_nodes
            .push(LanNode::parse("lan2=10.2.0.1/16").unwrap());
        assert!(matches!(l.validate(), Err(Error::AddressInUse { .. })));
        l.lan_nodes[1] = LanNode::parse("lan=10.2.0.2/16").unwrap();
        assert!(l.validate().is_err(), "duplicate name");
        l.lan_nodes[1] = LanNode::parse("other=10.2.0.10/16").unwrap();
        assert!(
            matches!(l.validate(), Err(Error::AddressInUse { .. })),
            "the host's address"
        );
        assert!(Uplink::parse("eth1=10.2.0.10").is_err());
        assert!(LanNode::parse("lan").is_err());
        assert_eq!(Uplink::parse("eth1").unwrap().addr, None);
    }
}
