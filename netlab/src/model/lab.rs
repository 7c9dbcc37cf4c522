//! A lab: a simulated Docker host with its bridge, configured like dockerd
//! (`--bridge`, `--bip`, `--fixed-cidr`, here `--ip-range`).

use serde::{Deserialize, Serialize};

use super::names::{validate_ifname, validate_lab_name};
use super::net::Ipv4Net;
use crate::error::{Error, Result};

pub const DEFAULT_LAB: &str = "default";
pub const DEFAULT_BRIDGE: &str = "docker0";
pub const DEFAULT_BIP: &str = "172.17.0.1/16";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabSpec {
    pub name: String,
    pub bridge: String,
    /// The bridge's own address and the containers' subnet, like dockerd's `--bip`.
    pub bip: Ipv4Net,
    /// Where dynamic addresses come from; the bridge subnet when absent.
    pub ip_range: Option<Ipv4Net>,
}

impl LabSpec {
    pub fn new(name: &str) -> Self {
        LabSpec {
            name: name.into(),
            bridge: DEFAULT_BRIDGE.into(),
            bip: DEFAULT_BIP.parse().unwrap_or(Ipv4Net {
                addr: [172, 17, 0, 1].into(),
                prefix: 16,
            }),
            ip_range: None,
        }
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
        if bip.addr == bip.network() || bip.addr == bip.broadcast() {
            return Err(Error::spec(
                "--bip",
                bip.to_string(),
                format!(
                    "the bridge needs a host address, not the network or broadcast address; e.g. {}/{}",
                    std::net::Ipv4Addr::from(u32::from(bip.network()) + 1),
                    bip.prefix
                ),
            ));
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
        Ok(())
    }

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
}
