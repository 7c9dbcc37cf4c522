//! `netlab pipework BRIDGE [-i IFNAME] [-l HOSTIFNAME] CONTAINER IP/PREFIX[@GATEWAY] [MAC]`,
//! as the pipework script has it.

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use super::Ipv4Net;
use super::names::{validate_container_name, validate_ifname};
use crate::error::{Error, Result};

/// An interface to add to a running container with [`Lab::pipework`](crate::Lab::pipework),
/// like the pipework script: `pipework BRIDGE [-i IFNAME] [-l HOSTIFNAME] CONTAINER
/// IP/PREFIX[@GATEWAY] [MAC]`. Build it with [`PipeworkSpec::new`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PipeworkSpec {
    /// The bridge on the lab host; created when the lab has no interface of that name.
    pub bridge: String,
    /// The interface's name inside the container; the first free `ethN` (N >= 1) if absent.
    pub ifname: Option<String>,
    /// The host-side name; derived from the container and interface if absent.
    pub host_ifname: Option<String>,
    /// The running container that gets the interface.
    pub container: String,
    /// The interface's static address.
    pub addr: Ipv4Net,
    /// `@GATEWAY`: becomes the container's default route, through this interface.
    pub gateway: Option<Ipv4Addr>,
    /// The interface's MAC address (unicast); a random one when absent.
    pub mac: Option<[u8; 6]>,
}

/// Parses pipework's `IP/PREFIX[@GATEWAY]`; an address without a prefix is refused with
/// pipework's own advice.
pub fn parse_address(text: &str) -> Result<(Ipv4Net, Option<Ipv4Addr>)> {
    if text == "dhcp" || text.starts_with("dhcp:") {
        return Err(Error::spec(
            "pipework address",
            text,
            "netlab has no DHCP server in the lab; give IP/PREFIX, e.g. 10.2.0.11/16",
        ));
    }
    let (addr, gw) = match text.split_once('@') {
        Some((a, g)) => (
            a,
            Some(g.parse::<Ipv4Addr>().map_err(|_| {
                Error::spec(
                    "pipework gateway",
                    g,
                    "write IP/PREFIX@GATEWAY with an IPv4 gateway",
                )
            })?),
        ),
        None => (text, None),
    };
    if !addr.contains('/') {
        return Err(Error::spec(
            "pipework address",
            text,
            format!("the address needs a prefix length; did you mean {addr}/24?"),
        ));
    }
    let net = Ipv4Net::parse_as("pipework address", addr)?;
    if net.prefix == 32 || net.prefix == 0 {
        return Err(Error::spec(
            "pipework address",
            text,
            "use a prefix from /1 to /31",
        ));
    }
    if let Some(why) = net.host_address_problem() {
        return Err(Error::spec(
            "pipework address",
            text,
            format!("the interface needs a host address: {why}"),
        ));
    }
    if let Some(g) = gw
        && !net.contains(g)
    {
        return Err(Error::spec(
            "pipework gateway",
            g.to_string(),
            format!("the gateway must be inside {}", net.canonical()),
        ));
    }
    Ok((net, gw))
}

/// Parses a MAC address `aa:bb:cc:dd:ee:ff` (unicast only).
pub fn parse_mac(text: &str) -> Result<[u8; 6]> {
    let bad = || {
        Error::spec(
            "MAC address",
            text,
            "write six hex bytes like 02:42:0a:02:00:0b (unicast: the first byte even)",
        )
    };
    let bytes: Vec<u8> = text
        .split(':')
        .map(|b| u8::from_str_radix(b, 16))
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| bad())?;
    let mac: [u8; 6] = bytes.try_into().map_err(|_| bad())?;
    if mac[0] & 1 == 1 || mac == [0; 6] {
        return Err(bad());
    }
    Ok(mac)
}

impl PipeworkSpec {
    /// `pipework BRIDGE CONTAINER IP/PREFIX[@GATEWAY]`: an interface on `bridge` for
    /// `container` with a static address, and with `@GATEWAY` the container's default
    /// route through it. The address needs its prefix (pipework's own rule) and must be a
    /// host address. The interface names and the MAC are left to the defaults; set
    /// [`ifname`](Self::ifname), [`host_ifname`](Self::host_ifname) and
    /// [`mac`](Self::mac) for pipework's `-i`, `-l` and MAC.
    ///
    /// ```
    /// let mut spec = netlab::PipeworkSpec::new("br1", "web", "192.168.1.2/24@192.168.1.254")?;
    /// spec.ifname = Some("eth1".into());
    /// assert_eq!(spec.gateway, Some([192, 168, 1, 254].into()));
    /// assert!(netlab::PipeworkSpec::new("br1", "web", "192.168.1.2").is_err(), "no prefix");
    /// # Ok::<(), netlab::Error>(())
    /// ```
    pub fn new(bridge: &str, container: &str, address: &str) -> Result<Self> {
        let (addr, gateway) = parse_address(address)?;
        Ok(PipeworkSpec {
            bridge: bridge.into(),
            ifname: None,
            host_ifname: None,
            container: container.into(),
            addr,
            gateway,
            mac: None,
        })
    }

    /// Checks the names (bridge, container, interfaces), as the lab does before it
    /// changes anything.
    pub fn validate(&self) -> Result<()> {
        validate_ifname(&self.bridge)?;
        validate_container_name(&self.container)?;
        if let Some(i) = &self.ifname {
            validate_ifname(i)?;
        }
        if let Some(i) = &self.host_ifname {
            validate_ifname(i)?;
        }
        Ok(())
    }
}

/// The name pipework gives a new interface when `-i` is absent: the first `ethN` (N >= 1)
/// that the container does not have yet. The lab and the picture of a scenario (which
/// counts the interfaces the file adds, in file order) both ask this.
pub fn first_free_ifname<S: AsRef<str>>(existing: &[S]) -> String {
    (1..)
        .map(|n| format!("eth{n}"))
        .find(|name| !existing.iter().any(|e| e.as_ref() == name))
        .unwrap_or_else(|| "eth1".into())
}

#[cfg(test)]
mod tests {

    #[test]
    fn first_free_ifname_skips_what_the_container_has() {
        let cases: [(&[&str], &str); 4] = [
            (&["lo", "eth0"], "eth1"),
            (&["lo", "eth0", "eth1", "eth3"], "eth2"),
            (&[], "eth1"),
            (&["eth0", "eth1", "eth2"], "eth3"),
        ];
        for (existing, want) in cases {
            assert_eq!(first_free_ifname(existing), want, "{existing:?}");
        }
    }

    use super::*;

    #[test]
    fn addresses() {
        let (n, g) = parse_address("10.2.0.11/16").unwrap();
        assert_eq!((n.to_string(), g), ("10.2.0.11/16".into(), None));
        let (n, g) = parse_address("192.168.1.5/24@192.168.1.1").unwrap();
        assert_eq!((n.prefix, g), (24, Some(Ipv4Addr::new(192, 168, 1, 1))));
        let e = parse_address("10.2.0.11").unwrap_err();
        assert!(e.to_string().contains("10.2.0.11/24"), "{e}");
        for bad in [
            "dhcp",
            "10.2.0.11/16@10.3.0.1",
            "10.2.0.11/16@x",
            "x/16",
            "10.2.0.11/32",
            "0.0.0.0/8",
            "0.0.0.5/8",
            "255.255.255.255/24",
            "10.2.0.0/16",
            "192.168.1.255/24",
            "127.0.0.2/8",
            "239.1.1.1/8",
        ] {
            let e = parse_address(bad).unwrap_err();
            assert!(
                matches!(&e, Error::InvalidSpec { what, .. } if what.starts_with("pipework")),
                "{bad}: {e}"
            );
        }
        // A /31 has no network or broadcast address: both ends are hosts.
        assert!(parse_address("10.0.0.0/31").is_ok());
    }

    #[test]
    fn macs() {
        assert_eq!(
            parse_mac("02:42:0a:02:00:0b").unwrap(),
            [2, 0x42, 10, 2, 0, 11]
        );
        for bad in [
            "01:00:00:00:00:01",
            "02:42:0a:02:00",
            "zz:42:0a:02:00:0b",
            "00:00:00:00:00:00",
        ] {
            assert!(parse_mac(bad).is_err(), "{bad}");
        }
    }
}
