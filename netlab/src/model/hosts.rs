//! `--add-host NAME:IP`: extra lines of a container's `/etc/hosts`.
//!
//! Docker writes them after the file's fixed lines and before the linked containers' and
//! the container's own line (libnetwork's sandbox gets the `--add-host` entries first,
//! then one per link, and appends the container's address once its endpoint joins).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Docker's special address of `--add-host NAME:host-gateway`: the host's address on the
/// bridge, here the lab host's.
pub const HOST_GATEWAY: &str = "host-gateway";

/// One `--add-host NAME:IP`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ExtraHost {
    /// The name (Docker takes any non-empty text; netlab refuses whitespace, which would
    /// make it several names).
    pub name: String,
    /// The address; `None` for `host-gateway`.
    pub ip: Option<IpAddr>,
}

impl ExtraHost {
    /// Parses `NAME:IP` (IPv6 allowed: only the first `:` separates) or
    /// `NAME:host-gateway`.
    ///
    /// ```
    /// let h = netlab::ExtraHost::parse("db:10.0.0.5")?;
    /// assert_eq!(h.line("172.17.0.1".parse().unwrap()), "10.0.0.5\tdb");
    /// # Ok::<(), netlab::Error>(())
    /// ```
    pub fn parse(text: &str) -> Result<Self> {
        let err = |reason: &str| Error::spec("--add-host", text, reason);
        let (name, ip) = text
            .split_once(':')
            .ok_or_else(|| err("write NAME:IP, e.g. --add-host db:10.0.0.5"))?;
        if name.is_empty() || name.contains(char::is_whitespace) || name.contains('\0') {
            return Err(err("the name must be non-empty and contain no whitespace"));
        }
        let ip = match ip {
            HOST_GATEWAY => None,
            ip => Some(ip.parse::<IpAddr>().map_err(|_| {
                err("the part after the first `:` must be an IPv4 or IPv6 address, or host-gateway")
            })?),
        };
        Ok(ExtraHost {
            name: name.into(),
            ip,
        })
    }

    /// The `/etc/hosts` line, as Docker writes it (`IP<TAB>NAME`), with `host-gateway`
    /// standing for `gateway`.
    pub fn line(&self, gateway: Ipv4Addr) -> String {
        let ip = self.ip.unwrap_or(IpAddr::V4(gateway));
        format!("{ip}\t{}", self.name)
    }
}

impl fmt::Display for ExtraHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.ip {
            Some(ip) => write!(f, "{}:{ip}", self.name),
            None => write!(f, "{}:{HOST_GATEWAY}", self.name),
        }
    }
}

impl TryFrom<String> for ExtraHost {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        ExtraHost::parse(&s)
    }
}

impl From<ExtraHost> for String {
    fn from(h: ExtraHost) -> String {
        h.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_forms() {
        let gw = Ipv4Addr::new(172, 17, 0, 1);
        let cases = [
            ("db:10.0.0.5", "10.0.0.5\tdb"),
            ("v6:fe80::1", "fe80::1\tv6"),
            ("gw:host-gateway", "172.17.0.1\tgw"),
        ];
        for (text, line) in cases {
            let h = ExtraHost::parse(text).unwrap();
            assert_eq!(h.line(gw), line);
            assert_eq!(h.to_string(), text);
            let json = serde_json::to_string(&h).unwrap();
            assert_eq!(serde_json::from_str::<ExtraHost>(&json).unwrap(), h);
        }
        for bad in [
            "db",
            ":1.2.3.4",
            "db:",
            "db:nope",
            "a b:1.2.3.4",
            "db:1.2.3.4:5",
        ] {
            assert!(ExtraHost::parse(bad).is_err(), "{bad}");
        }
    }
}
