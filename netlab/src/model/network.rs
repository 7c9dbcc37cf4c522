//! Docker's networks as data: what `network create` asks for ([`NetworkSpec`]), the
//! subnet pool a network without `--subnet` takes from, the overlap rule, and what a
//! container asks of a network at `run --network` or `network connect` ([`Attachment`]).
//!
//! The lab's default network is `bridge`: the lab's own bridge (`docker0`) with the
//! article's behaviour (links, no DNS). `host` and `none` exist as in Docker; `none`
//! gives a container nothing but its loopback.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

use super::names::{validate_container_name, validate_ifname};
use super::net::{Ipv4Net, Subnet};
use crate::error::{Error, Result};

/// The default network's name: the lab's bridge.
pub const DEFAULT_NETWORK: &str = "bridge";
/// Docker's network of the host's own namespace.
pub const HOST_NETWORK: &str = "host";
/// Docker's network of a container with only its loopback.
pub const NONE_NETWORK: &str = "none";
/// The names Docker keeps for its predefined networks.
pub const PREDEFINED: [&str; 3] = [DEFAULT_NETWORK, HOST_NETWORK, NONE_NETWORK];

/// How a network's containers are plugged in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Driver {
    /// A bridge of its own on the lab host, each container on a veth.
    #[default]
    Bridge,
    /// Each container gets a macvlan device of a parent interface of the lab host (its
    /// uplink): its own MAC and address straight on the LAN.
    Macvlan,
    /// The predefined `host` network.
    Host,
    /// The predefined `none` network.
    Null,
}

impl Driver {
    /// `--driver`: `bridge` and `macvlan`; the others Docker knows are refused with why.
    pub fn parse(text: &str) -> Result<Driver> {
        let refuse = |why: &str| Err(Error::spec("--driver", text, why));
        match text {
            "bridge" => Ok(Driver::Bridge),
            "macvlan" => Ok(Driver::Macvlan),
            "ipvlan" => refuse(
                "this machine's kernel has no ipvlan devices (CONFIG_IPVLAN), so netlab cannot build one; use --driver macvlan, which puts containers on the parent's LAN the same way with a MAC each",
            ),
            "overlay" => refuse(
                "overlay networks span several Docker hosts of a swarm, and a lab is one host; use --driver bridge",
            ),
            "host" | "null" => refuse(
                "only the predefined networks `host` and `none` use it; use --driver bridge or macvlan",
            ),
            _ => refuse("netlab's drivers are bridge (the default) and macvlan"),
        }
    }

    /// The driver's name as Docker prints it (`null` for `none`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Driver::Bridge => "bridge",
            Driver::Macvlan => "macvlan",
            Driver::Host => "host",
            Driver::Null => "null",
        }
    }
}

/// One `--subnet` with the `--ip-range` and `--gateway` that fall into it (Docker matches
/// them to subnets by address, in any order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubnetSpec {
    /// `--subnet`.
    pub subnet: Subnet,
    /// `--ip-range`: where dynamic addresses come from; the whole subnet when absent.
    #[serde(default)]
    /// Where dynamic addresses come from, inside the subnet (`--ip-range`); all of it when absent.
    pub ip_range: Option<Subnet>,
    /// `--gateway`: the bridge's address (the LAN's router for macvlan); the first
    /// address when absent.
    #[serde(default)]
    /// The gateway (`--gateway`); the subnet's first host address when absent.
    pub gateway: Option<IpAddr>,
}

/// A network to create (`netlab network create`, a scenario's `[[network]]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkSpec {
    /// Unique in the lab; not `bridge`, `host` or `none`.
    pub name: String,
    /// `--driver`.
    #[serde(default)]
    /// How its containers are plugged in (`--driver`).
    pub driver: Driver,
    /// Empty: one IPv4 subnet from the pool.
    #[serde(default)]
    pub subnets: Vec<SubnetSpec>,
    /// `--internal`: no route out of the network, no forwarding to or from it.
    #[serde(default)]
    pub internal: bool,
    /// `--ipv6`: the network also has an IPv6 subnet (which must be given).
    #[serde(default)]
    pub ipv6: bool,
    /// `-o parent=IFACE` for macvlan: an interface of the lab host.
    #[serde(default)]
    pub parent: Option<String>,
    /// `--label KEY=VALUE`, shown by `inspect`.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

impl NetworkSpec {
    /// A bridge network called `name` with a subnet from the pool.
    pub fn new(name: &str) -> Self {
        NetworkSpec {
            name: name.into(),
            driver: Driver::Bridge,
            subnets: vec![],
            internal: false,
            ipv6: false,
            parent: None,
            labels: BTreeMap::new(),
        }
    }

    /// Builds a spec from `network create`'s options as Docker reads them: each
    /// `--ip-range` and `--gateway` belongs to the `--subnet` that contains it; `-o`
    /// takes `parent=IFACE` and `macvlan_mode=bridge`.
    #[allow(clippy::too_many_arguments)]
    pub fn from_options(
        name: &str,
        driver: &str,
        subnets: &[String],
        ranges: &[String],
        gateways: &[String],
        internal: bool,
        ipv6: bool,
        options: &[String],
        labels: &[String],
    ) -> Result<NetworkSpec> {
        let mut spec = NetworkSpec::new(name);
        spec.driver = Driver::parse(driver)?;
        spec.internal = internal;
        spec.ipv6 = ipv6;
        for s in subnets {
            spec.subnets.push(SubnetSpec {
                subnet: Subnet::parse_as("--subnet", s)?,
                ip_range: None,
                gateway: None,
            });
        }
        for r in ranges {
            let range = Subnet::parse_as("--ip-range", r)?;
            let owner = spec
                .subnets
                .iter_mut()
                .find(|s| s.subnet.covers(&range))
                .ok_or_else(|| {
                    Error::spec(
                        "--ip-range",
                        r,
                        "no --subnet contains it; give a range inside one of the subnets",
                    )
                })?;
            if owner.ip_range.is_some() {
                return Err(Error::spec(
                    "--ip-range",
                    r,
                    "its subnet has a range already; give one range per subnet",
                ));
            }
            owner.ip_range = Some(range);
        }
        for g in gateways {
            let gw: IpAddr = g.parse().map_err(|_| {
                Error::spec(
                    "--gateway",
                    g,
                    "write an address without prefix, e.g. 10.78.0.1",
                )
            })?;
            let owner = spec
                .subnets
                .iter_mut()
                .find(|s| s.subnet.contains(gw))
                .ok_or_else(|| {
                    Error::spec(
                        "--gateway",
                        g,
                        "no --subnet contains it; give a gateway inside one of the subnets",
                    )
                })?;
            if owner.gateway.is_some() {
                return Err(Error::spec(
                    "--gateway",
                    g,
                    "its subnet has a gateway already; give one gateway per subnet",
                ));
            }
            owner.gateway = Some(gw);
        }
        for o in options {
            let (k, v) = o
                .split_once('=')
                .ok_or_else(|| Error::spec("-o", o, "write KEY=VALUE, e.g. parent=eth1"))?;
            match (k, v) {
                ("parent", v) => spec.parent = Some(v.to_string()),
                ("macvlan_mode", "bridge") => {}
                ("macvlan_mode", _) => {
                    return Err(Error::spec(
                        "-o",
                        o,
                        "netlab's macvlan devices are in bridge mode (they reach each other); write macvlan_mode=bridge or leave it out",
                    ));
                }
                _ => {
                    return Err(Error::spec(
                        "-o",
                        o,
                        "netlab knows parent=IFACE (macvlan) and macvlan_mode=bridge",
                    ));
                }
            }
        }
        for l in labels {
            let (k, v) = l.split_once('=').unwrap_or((l.as_str(), ""));
            spec.labels.insert(k.to_string(), v.to_string());
        }
        spec.validate()?;
        Ok(spec)
    }

    /// Checks the spec on its own; overlaps with the lab's other subnets are the lab's
    /// check (`overlap`).
    pub fn validate(&self) -> Result<()> {
        validate_container_name(&self.name).map_err(|_| Error::InvalidName {
            what: "network".into(),
            name: self.name.clone(),
            reason: super::names::container_name_rule(),
        })?;
        if PREDEFINED.contains(&self.name.as_str()) {
            return Err(Error::spec(
                "network name",
                &self.name,
                "it is one of the predefined networks (bridge, host, none); pick another name",
            ));
        }
        match (self.driver, &self.parent) {
            (Driver::Macvlan, None) => {
                return Err(Error::spec(
                    "--driver",
                    "macvlan",
                    "a macvlan network needs its parent interface: add -o parent=eth1 (the lab host's uplink)",
                ));
            }
            (Driver::Macvlan, Some(p)) if p.contains('.') => {
                return Err(Error::spec(
                    "-o parent",
                    p,
                    "PARENT.VLAN asks for an 802.1q VLAN sub-interface, which Docker creates for you; this machine's kernel has no 802.1q VLAN devices (8021q), so netlab refuses rather than pretend: give the parent itself, e.g. parent=eth1",
                ));
            }
            (Driver::Macvlan, Some(p)) => validate_ifname(p)?,
            (_, Some(p)) => {
                return Err(Error::spec(
                    "-o",
                    format!("parent={p}"),
                    "only macvlan networks have a parent; add --driver macvlan",
                ));
            }
            _ => {}
        }
        let mut seen: Vec<Subnet> = vec![];
        for s in &self.subnets {
            let net = s.subnet.canonical();
            match s.subnet {
                Subnet::V4(n) if n.prefix < 8 || n.prefix > 30 => {
                    return Err(Error::spec(
                        "--subnet",
                        n.to_string(),
                        "use a prefix from /8 to /30 so that containers fit in it",
                    ));
                }
                Subnet::V6(n) if n.prefix < 48 || n.prefix > 124 => {
                    return Err(Error::spec(
                        "--subnet",
                        n.to_string(),
                        "use an IPv6 prefix from /48 to /124, e.g. fd00:78::/64",
                    ));
                }
                Subnet::V6(n) if !self.ipv6 => {
                    return Err(Error::spec(
                        "--subnet",
                        n.to_string(),
                        "it is an IPv6 subnet, and the network is IPv4 only: add --ipv6",
                    ));
                }
                _ => {}
            }
            if let Some(other) = seen.iter().find(|o| o.overlaps(&net)) {
                return Err(Error::spec(
                    "--subnet",
                    s.subnet.to_string(),
                    format!("it overlaps the network's other subnet {other}"),
                ));
            }
            seen.push(net);
            if let Some(gw) = s.gateway {
                let (first, last) = bounds(&s.subnet);
                if gw == first || Some(gw) == last {
                    return Err(Error::spec(
                        "--gateway",
                        gw.to_string(),
                        format!(
                            "it is the network or broadcast address of {net}; give a host address of the subnet"
                        ),
                    ));
                }
            }
        }
        let v4 = self.subnets.iter().filter(|s| !s.subnet.is_v6()).count();
        let v6 = self.subnets.len() - v4;
        if v4 > 1 || v6 > 1 {
            return Err(Error::spec(
                "--subnet",
                self.subnets
                    .iter()
                    .map(|s| s.subnet.to_string())
                    .collect::<Vec<_>>()
                    .join(" "),
                "netlab takes at most one IPv4 and one IPv6 subnet per network",
            ));
        }
        if self.ipv6 && v6 == 0 {
            return Err(Error::spec(
                "--ipv6",
                &self.name,
                "an IPv6 network needs its IPv6 subnet: add --subnet with one, e.g. --subnet fd00:78::/64 (and --subnet for IPv4 too, or one is chosen)",
            ));
        }
        if self.driver == Driver::Macvlan && v4 == 0 {
            return Err(Error::spec(
                "--subnet",
                &self.name,
                "a macvlan network shares the parent's LAN, so give the LAN's subnet (e.g. --subnet 10.2.0.0/16 --ip-range 10.2.100.0/24 --gateway 10.2.0.1): netlab does not pick one from the pool",
            ));
        }
        Ok(())
    }

    /// The IPv4 subnet spec, if given.
    pub fn v4(&self) -> Option<&SubnetSpec> {
        self.subnets.iter().find(|s| !s.subnet.is_v6())
    }

    /// The IPv6 subnet spec, if given.
    pub fn v6(&self) -> Option<&SubnetSpec> {
        self.subnets.iter().find(|s| s.subnet.is_v6())
    }
}

/// The network and last addresses of a subnet (`None` for the last of an IPv6 one, which
/// is a host address there).
fn bounds(s: &Subnet) -> (IpAddr, Option<IpAddr>) {
    match s {
        Subnet::V4(n) => (n.network().into(), Some(n.broadcast().into())),
        Subnet::V6(n) => (n.network().into(), None),
    }
}

/// Docker's default address pools: `172.17.0.0/16` to `172.31.0.0/16`, then the /20s of
/// `192.168.0.0/16`; the first one that overlaps nothing in `used` is taken.
pub fn choose_subnet(used: &[Subnet]) -> Option<Ipv4Net> {
    let sixteens = (17..=31).map(|b| Ipv4Net {
        addr: Ipv4Addr::new(172, b, 0, 0),
        prefix: 16,
    });
    let twenties = (0..16).map(|i| Ipv4Net {
        addr: Ipv4Addr::new(192, 168, i * 16, 0),
        prefix: 20,
    });
    sixteens
        .chain(twenties)
        .find(|c| !used.iter().any(|u| u.overlaps(&Subnet::V4(*c))))
}

/// The first of `used` (each with who uses it) that `subnet` overlaps.
pub fn overlap<'a>(subnet: &Subnet, used: &'a [(Subnet, String)]) -> Option<&'a (Subnet, String)> {
    used.iter().find(|(u, _)| u.overlaps(subnet))
}

/// The network's gateway for a subnet: the one given, or the first host address.
pub fn gateway_v4(spec: &SubnetSpec) -> Option<Ipv4Addr> {
    match (spec.subnet, spec.gateway) {
        (Subnet::V4(_), Some(IpAddr::V4(g))) => Some(g),
        (Subnet::V4(n), _) => Some(Ipv4Addr::from(u32::from(n.network()) + 1)),
        _ => None,
    }
}

/// Like [`gateway_v4`] for IPv6 (`fd00:78::1`).
pub fn gateway_v6(spec: &SubnetSpec) -> Option<Ipv6Addr> {
    match (spec.subnet, spec.gateway) {
        (Subnet::V6(_), Some(IpAddr::V6(g))) => Some(g),
        (Subnet::V6(n), _) => Some(Ipv6Addr::from(u128::from(n.network()) + 1)),
        _ => None,
    }
}

/// A new endpoint's interface: the first `ethN` from `eth0` the container does not have
/// (Docker numbers a container's interfaces in the order they join).
pub fn first_free_eth<S: AsRef<str>>(existing: &[S]) -> String {
    (0..)
        .map(|n| format!("eth{n}"))
        .find(|name| !existing.iter().any(|e| e.as_ref() == name))
        .unwrap_or_else(|| "eth0".into())
}

/// Parses `--dns-forward IP[:PORT]` (port 53 when absent).
pub fn parse_dns_forward(text: &str) -> Result<std::net::SocketAddr> {
    if let Ok(sa) = text.parse::<std::net::SocketAddr>() {
        return Ok(sa);
    }
    text.parse::<IpAddr>()
        .map(|ip| std::net::SocketAddr::new(ip, 53))
        .map_err(|_| {
            Error::spec(
                "--dns-forward",
                text,
                "write IP or IP:PORT of a DNS server the lab host reaches, e.g. 10.2.0.1 or [fd00::1]:5353",
            )
        })
}

/// What a container asks of one network: `run --network NAME --network-alias A --ip X
/// --ip6 Y`, `network connect --alias A --ip X NAME C`, or an entry of a scenario's
/// `networks = [...]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// The network's name.
    pub network: String,
    /// More names the container answers to on this network (in its DNS).
    #[serde(default)]
    pub aliases: Vec<String>,
    /// A fixed IPv4 address (user-defined networks only, as in Docker).
    #[serde(default)]
    pub ip: Option<Ipv4Addr>,
    /// A fixed IPv6 address (IPv6 networks only).
    #[serde(default)]
    pub ip6: Option<Ipv6Addr>,
}

impl Attachment {
    /// Joining `network` with no alias and addresses of the network's choice.
    pub fn new(network: &str) -> Self {
        Attachment {
            network: network.into(),
            aliases: vec![],
            ip: None,
            ip6: None,
        }
    }

    /// Checks what does not depend on the network: alias names.
    pub fn validate(&self) -> Result<()> {
        for a in &self.aliases {
            validate_container_name(a).map_err(|_| {
                Error::spec("--network-alias", a, super::names::container_name_rule())
            })?;
        }
        Ok(())
    }

    /// What the default bridge refuses, as Docker does: fixed addresses and aliases (it
    /// has no DNS to answer them; links give names there).
    pub fn check_default_bridge(&self) -> Result<()> {
        if self.ip.is_some() || self.ip6.is_some() {
            return Err(Error::spec(
                "--ip",
                self.ip
                    .map(|i| i.to_string())
                    .or(self.ip6.map(|i| i.to_string()))
                    .unwrap_or_default(),
                "user specified IP address is supported on user defined networks only; create a network with `netlab network create --subnet ...` and run with --network",
            ));
        }
        if !self.aliases.is_empty() {
            return Err(Error::spec(
                "--network-alias",
                self.aliases.join(","),
                "network-scoped aliases are supported for user-defined networks only (the default bridge has no DNS); use --link on the default bridge",
            ));
        }
        Ok(())
    }

    /// Checks fixed addresses against the subnets `net` was given, before any lab exists
    /// (a scenario file): as Docker, a fixed address needs a subnet the user chose (one
    /// from the pool is not known in advance), inside it; a fixed IPv6 address needs the
    /// network's IPv6 subnet.
    pub fn check_fixed_addresses(&self, net: &NetworkSpec) -> Result<()> {
        if (self.ip.is_some() || self.ip6.is_some()) && net.v4().is_none() {
            return Err(Error::spec(
                if self.ip.is_some() { "--ip" } else { "--ip6" },
                self.ip
                    .map(|i| i.to_string())
                    .or(self.ip6.map(|i| i.to_string()))
                    .unwrap_or_default(),
                format!(
                    "user specified IP address is supported only when connecting to networks with user configured subnets; network {} got its subnet from the pool: create it with --subnet",
                    net.name
                ),
            ));
        }
        if let Some(ip) = self.ip
            && let Some(s) = net.v4()
            && !s.subnet.contains(IpAddr::V4(ip))
        {
            return Err(Error::spec(
                "--ip",
                ip.to_string(),
                format!(
                    "it is outside network {}'s subnet {}; pick an address inside it",
                    net.name, s.subnet
                ),
            ));
        }
        if let Some(ip6) = self.ip6 {
            match net.v6() {
                None => {
                    return Err(Error::spec(
                        "--ip6",
                        ip6.to_string(),
                        format!(
                            "network {} has no IPv6 subnet; create it with --ipv6 --subnet ...",
                            net.name
                        ),
                    ));
                }
                Some(s) if !s.subnet.contains(IpAddr::V6(ip6)) => {
                    return Err(Error::spec(
                        "--ip6",
                        ip6.to_string(),
                        format!("it is outside network {}'s IPv6 subnet", net.name),
                    ));
                }
                Some(_) => {}
            }
        }
        Ok(())
    }
}

/// `--ip`: an IPv4 address without prefix.
pub fn parse_ip(text: &str) -> Result<Ipv4Addr> {
    text.parse().map_err(|_| {
        Error::spec(
            "--ip",
            text,
            "write an IPv4 address without prefix, e.g. 10.78.0.20",
        )
    })
}

/// `--ip6`: an IPv6 address without prefix.
pub fn parse_ip6(text: &str) -> Result<Ipv6Addr> {
    text.parse().map_err(|_| {
        Error::spec(
            "--ip6",
            text,
            "write an IPv6 address without prefix, e.g. fd00:78::20",
        )
    })
}

/// A network as `network inspect` and `network ls` report it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkState {
    /// 64 hex digits, like Docker's.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its driver.
    pub driver: Driver,
    /// Seconds since the epoch.
    pub created: u64,
    /// Each subnet with its range and gateway (the default chosen ones filled in).
    pub subnets: Vec<SubnetSpec>,
    /// `--internal`.
    pub internal: bool,
    /// `--ipv6`.
    pub ipv6: bool,
    /// The bridge on the lab host (`br-` and 12 digits of the ID, `docker0` for
    /// `bridge`); empty for macvlan, host and none.
    pub bridge: String,
    /// The parent interface of a macvlan network.
    pub parent: Option<String>,
    /// `--label`s.
    pub labels: BTreeMap<String, String>,
    /// The containers on it now, by name.
    pub containers: Vec<NetworkMember>,
}

/// A container's endpoint as its network's `inspect` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkMember {
    /// The container's name.
    pub name: String,
    /// The container's ID.
    pub id: String,
    /// Its interface's MAC on this network, empty while the container is stopped.
    pub mac: String,
    /// `172.18.0.2/16`, empty while the container is stopped.
    pub ipv4: String,
    /// `fd00:78::2/64`, empty without IPv6.
    pub ipv6: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(t: &str) -> Subnet {
        t.parse().unwrap()
    }

    fn create(args: &[&str]) -> Result<NetworkSpec> {
        let mut subnets = vec![];
        let mut ranges = vec![];
        let mut gws = vec![];
        let mut opts = vec![];
        let (mut driver, mut ipv6) = ("bridge".to_string(), false);
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut v = || it.next().unwrap().to_string();
            match *a {
                "--subnet" => subnets.push(v()),
                "--ip-range" => ranges.push(v()),
                "--gateway" => gws.push(v()),
                "-o" => opts.push(v()),
                "--driver" => driver = v(),
                "--ipv6" => ipv6 = true,
                _ => panic!("{a}"),
            }
        }
        NetworkSpec::from_options(
            "net1",
            &driver,
            &subnets,
            &ranges,
            &gws,
            false,
            ipv6,
            &opts,
            &[],
        )
    }

    #[test]
    fn options_match_ranges_and_gateways_to_subnets() {
        let n = create(&[
            "--ipv6",
            "--subnet",
            "fd00:78::/64",
            "--subnet",
            "10.78.0.0/24",
            "--gateway",
            "10.78.0.254",
            "--ip-range",
            "10.78.0.128/25",
        ])
        .unwrap();
        let v4 = n.v4().unwrap();
        assert_eq!(v4.gateway, Some("10.78.0.254".parse().unwrap()));
        assert_eq!(v4.ip_range, Some(s("10.78.0.128/25")));
        assert_eq!(
            gateway_v6(n.v6().unwrap()),
            Some("fd00:78::1".parse().unwrap())
        );
        assert_eq!(gateway_v4(v4), Some("10.78.0.254".parse().unwrap()));
    }

    #[test]
    fn bad_options_say_what_to_write() {
        for (args, says) in [
            (
                &["--subnet", "10.78.0.0/24", "--gateway", "10.79.0.1"][..],
                "no --subnet contains it",
            ),
            (&["--gateway", "10.79.0.1"][..], "no --subnet contains it"),
            (
                &["--subnet", "10.78.0.0/24", "--ip-range", "10.78.1.0/25"][..],
                "no --subnet contains it",
            ),
            (
                &["--subnet", "10.78.0.0/24", "--gateway", "10.78.0.0"][..],
                "network or broadcast",
            ),
            (&["--subnet", "fd00:78::/64"][..], "add --ipv6"),
            (&["--ipv6"][..], "needs its IPv6 subnet"),
            (
                &["--subnet", "10.78.0.0/24", "--subnet", "10.78.0.0/25"][..],
                "overlaps the network's other subnet",
            ),
            (&["--subnet", "10.78.0.0/31"][..], "/8 to /30"),
            (&["--driver", "ipvlan"][..], "no ipvlan"),
            (&["--driver", "overlay"][..], "swarm"),
            (&["--driver", "foo"][..], "bridge (the default) and macvlan"),
            (
                &["--driver", "macvlan", "--subnet", "10.2.0.0/16"][..],
                "-o parent=eth1",
            ),
            (
                &["--driver", "macvlan", "-o", "parent=eth1"][..],
                "give the LAN's subnet",
            ),
            (&["-o", "parent=eth1"][..], "add --driver macvlan"),
            (&["-o", "mtu=1400"][..], "netlab knows parent"),
            (
                &[
                    "--driver",
                    "macvlan",
                    "--subnet",
                    "10.2.0.0/16",
                    "-o",
                    "parent=eth1.10",
                ][..],
                "802.1q",
            ),
            (&["-o", "macvlan_mode=private"][..], "bridge mode"),
            (&["--subnet", "10.78.0.0"][..], "prefix length"),
        ] {
            let e = create(args).unwrap_err().to_string();
            assert!(e.contains(says), "{args:?}: {e}");
        }
        let mut n = NetworkSpec::new("bridge");
        assert!(n.validate().unwrap_err().to_string().contains("predefined"));
        n.name = "-x".into();
        assert!(n.validate().is_err());
    }

    #[test]
    fn the_pool_skips_what_is_used() {
        assert_eq!(
            choose_subnet(&[s("172.17.0.0/16")]).unwrap().to_string(),
            "172.18.0.0/16"
        );
        assert_eq!(
            choose_subnet(&[s("172.17.0.0/16"), s("172.18.5.0/24")])
                .unwrap()
                .to_string(),
            "172.19.0.0/16"
        );
        // A /8 over all of 172.16.0.0/12 sends the choice to 192.168.0.0/20.
        assert_eq!(
            choose_subnet(&[s("172.0.0.0/8")]).unwrap().to_string(),
            "192.168.0.0/20"
        );
        let all: Vec<Subnet> = vec![s("172.0.0.0/8"), s("192.168.0.0/16")];
        assert_eq!(choose_subnet(&all), None);
        let used = vec![(s("10.2.0.0/16"), "the LAN".to_string())];
        assert_eq!(overlap(&s("10.2.3.0/24"), &used).unwrap().1, "the LAN");
        assert!(overlap(&s("10.3.0.0/24"), &used).is_none());
    }

    #[test]
    fn dns_forward_takes_an_address_and_a_port() {
        assert_eq!(
            parse_dns_forward("10.2.0.1").unwrap().to_string(),
            "10.2.0.1:53"
        );
        assert_eq!(
            parse_dns_forward("[fd00::1]:5353").unwrap().to_string(),
            "[fd00::1]:5353"
        );
        assert!(
            parse_dns_forward("dns.example")
                .unwrap_err()
                .to_string()
                .contains("IP:PORT")
        );
    }

    #[test]
    fn interfaces_are_numbered_from_eth0() {
        assert_eq!(first_free_eth::<&str>(&[]), "eth0");
        assert_eq!(first_free_eth(&["eth0", "eth2"]), "eth1");
    }

    #[test]
    fn attachments_check_aliases() {
        let mut a = Attachment::new("net1");
        a.aliases.push("db".into());
        a.validate().unwrap();
        a.aliases.push("-bad".into());
        assert!(a.validate().is_err());
    }
}
