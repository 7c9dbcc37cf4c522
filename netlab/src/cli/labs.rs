//! `netlab lab create|ls` and `netlab down`.

use clap::Subcommand;

use crate::client::Lab;
use crate::error::Error;
use crate::model::{Ipv4Net, LabSpec, LanNode, Uplink};

#[derive(Debug, Subcommand)]
pub enum LabCmd {
    /// Create a lab with dockerd's network settings.
    Create {
        /// The bridge's name (dockerd --bridge).
        #[arg(long, default_value = "docker0")]
        bridge: String,
        /// The bridge's address and the containers' subnet (dockerd --bip).
        #[arg(long, default_value = "172.17.0.1/16")]
        bip: String,
        /// Give containers dynamic addresses only from this part of the subnet
        /// (dockerd --fixed-cidr).
        #[arg(long = "ip-range")]
        ip_range: Option<String>,
        /// A simulated uplink of the lab host: IFNAME=ADDR/PREFIX, e.g. eth1=10.2.0.10/16.
        #[arg(long, value_name = "IFNAME=CIDR")]
        uplink: Option<String>,
        /// A machine on the uplink's simulated LAN: NAME=ADDR/PREFIX; repeatable.
        #[arg(long = "lan-node", value_name = "NAME=CIDR", requires = "uplink")]
        lan_node: Vec<String>,
        /// Move this real interface into the lab host as its uplink (root only; use it in
        /// a VM, never on a machine whose network you need).
        #[arg(long = "uplink-dev", value_name = "IFACE", conflicts_with = "uplink")]
        uplink_dev: Option<String>,
        /// Also do the article's two steps: remove the uplink's address and enslave it to
        /// the bridge (`netlab uplink attach` later does the same).
        #[arg(long = "attach-uplink")]
        attach_uplink: bool,
        /// Where the embedded DNS of user-defined networks sends names it does not know:
        /// IP[:PORT] of a server the lab host reaches (e.g. on the LAN); repeatable.
        /// Without it such names are answered REFUSED at once: a lab has no internet.
        #[arg(long = "dns-forward", value_name = "IP[:PORT]")]
        dns_forward: Vec<String>,
    },
    /// List your running labs.
    Ls {
        #[arg(long)]
        json: bool,
    },
}

pub fn lab(name: &str, cmd: LabCmd) -> anyhow::Result<u8> {
    match cmd {
        LabCmd::Create {
            bridge,
            bip,
            ip_range,
            uplink,
            lan_node,
            uplink_dev,
            attach_uplink,
            dns_forward,
        } => {
            let mut spec = LabSpec::new(name);
            spec.bridge = bridge;
            spec.bip = Ipv4Net::parse_as("--bip", &bip)?;
            spec.ip_range = ip_range
                .map(|r| Ipv4Net::parse_as("--ip-range", &r))
                .transpose()?;
            spec.uplink = uplink.as_deref().map(Uplink::parse).transpose()?;
            spec.lan_nodes = lan_node
                .iter()
                .map(|n| LanNode::parse(n))
                .collect::<Result<_, _>>()?;
            spec.uplink_dev = uplink_dev;
            spec.attach_uplink = attach_uplink;
            spec.dns_forward = dns_forward
                .iter()
                .map(|d| crate::model::network::parse_dns_forward(d))
                .collect::<Result<_, _>>()?;
            let lab = Lab::create_detached(&spec)?;
            println!("{}", lab.name());
            Ok(0)
        }
        LabCmd::Ls { json } => {
            let mut rows = Vec::new();
            for n in Lab::list() {
                let Ok(lab) = Lab::open(&n) else { continue };
                let Ok(info) = lab.info() else { continue };
                rows.push(serde_json::json!({
                    "Name": n,
                    "Bridge": info.spec.bridge,
                    "Bip": info.spec.bip.to_string(),
                    "IpRange": info.spec.ip_range.map(|r| r.to_string()),
                    "Containers": info.containers,
                    "Running": info.running,
                    "SupervisorPid": lab.supervisor_pid(),
                }));
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                println!(
                    "{:<16} {:<10} {:<18} {:<10} SUPERVISOR PID",
                    "LAB", "BRIDGE", "BIP", "CONTAINERS"
                );
                for r in &rows {
                    println!(
                        "{:<16} {:<10} {:<18} {:<10} {}",
                        r["Name"].as_str().unwrap_or(""),
                        r["Bridge"].as_str().unwrap_or(""),
                        r["Bip"].as_str().unwrap_or(""),
                        format!("{}/{}", r["Running"], r["Containers"]),
                        r["SupervisorPid"]
                    );
                }
            }
            Ok(0)
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum UplinkCmd {
    /// Remove the uplink's address and enslave it to the bridge (the article's
    /// `ip addr del ... dev eth1; ip link set eth1 master docker0`).
    Attach,
}

pub fn uplink(name: &str, cmd: UplinkCmd) -> anyhow::Result<u8> {
    match cmd {
        UplinkCmd::Attach => {
            Lab::open(name)?.uplink_attach()?;
            eprintln!("netlab: the uplink of lab {name:?} is now a port of its bridge");
            Ok(0)
        }
    }
}

pub fn down(name: &str) -> anyhow::Result<u8> {
    match Lab::open(name) {
        Ok(lab) => {
            lab.down()?;
            eprintln!("netlab: lab {name:?} is down");
            Ok(0)
        }
        Err(Error::LabNotFound { .. }) => {
            eprintln!("netlab: lab {name:?} is not running; nothing to do");
            Ok(0)
        }
        Err(e) => Err(e.into()),
    }
}
