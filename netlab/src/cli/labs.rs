//! `netlab lab create|ls` and `netlab down`.

use clap::Subcommand;

use crate::client::Lab;
use crate::error::Error;
use crate::model::{Ipv4Net, LabSpec};

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
        } => {
            let mut spec = LabSpec::new(name);
            spec.bridge = bridge;
            spec.bip = Ipv4Net::parse_as("--bip", &bip)?;
            spec.ip_range = ip_range
                .map(|r| Ipv4Net::parse_as("--ip-range", &r))
                .transpose()?;
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
