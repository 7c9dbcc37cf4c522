//! Published ports: host ports chosen for `-p`/`-P` (the rule is `model::publish`), and
//! the lab's nft table that forwards them, replaced as a whole when containers come and go.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::firewall::{Firewall, Forward, LabNat, Nft};
use crate::model::{
    ContainerSpec, PortBinding,
    publish::{HostPorts, choose_host_ports},
};

use super::lab::Lab;

impl Lab {
    /// Decides the host port of every binding (`-p`, and `-P` for every exposed port not
    /// published explicitly) and refuses a host port already published in the lab; linear
    /// in the number of ports (see [`choose_host_ports`]).
    pub(super) fn resolve_ports(&self, spec: &ContainerSpec) -> Result<Vec<PortBinding>> {
        let mut taken = HostPorts::new();
        for c in self.containers.values() {
            let owner = format!("container {}", c.spec.name);
            for p in &c.ports {
                taken.insert(p, &owner);
            }
        }
        choose_host_ports(
            &mut taken,
            spec.wanted_bindings(),
            &format!("container {}", spec.name),
            ephemeral_range(),
        )
    }

    pub(super) fn firewall(&mut self) -> Result<&dyn Firewall> {
        if self.firewall.is_none() {
            let reaper = self.reaper.clone();
            let runner: crate::firewall::Runner = Arc::new(move |cmd, input| {
                let out = reaper.output(cmd, input)?;
                Ok((out.code, out.stderr))
            });
            self.firewall = Some(Box::new(Nft::find()?.with_runner(runner)));
        }
        match self.firewall.as_deref() {
            Some(f) => Ok(f),
            None => Err(Error::Io {
                op: "firewall".into(),
                message: "no backend".into(),
            }),
        }
    }

    /// Replaces the lab's nft table with the forwards of every container now in the lab
    /// (and the networks' table, which has the IPv6 ones).
    pub(super) fn apply_firewall(&mut self) -> Result<()> {
        let forwards: Vec<Forward> = self
            .containers
            .values()
            .filter(|c| c.connected)
            .flat_map(|c| {
                c.ports.iter().map(move |b| Forward {
                    host_ip: b.host_ip,
                    host_port: b.host_port.unwrap_or(0),
                    proto: b.proto,
                    container_ip: c.ip(),
                    container_port: b.container_port,
                })
            })
            .collect();
        let nat = LabNat {
            bridge: self.spec.bridge.clone(),
            subnet: self.spec.bip.canonical(),
            forwards,
        };
        self.firewall()?.apply(&nat)?;
        // Ports published over IPv6 live in the networks' table.
        self.apply_network_rules()
    }
}

/// The lab host's ephemeral port range (`net.ipv4.ip_local_port_range`), where `-P` and
/// `-p CONTAINERPORT` take host ports from, like Docker.
fn ephemeral_range() -> (u16, u16) {
    let text =
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").unwrap_or_default();
    let mut it = text
        .split_whitespace()
        .filter_map(|x| x.parse::<u16>().ok());
    match (it.next(), it.next()) {
        (Some(a), Some(b)) if a <= b => (a, b),
        _ => (32768, 60999),
    }
}
