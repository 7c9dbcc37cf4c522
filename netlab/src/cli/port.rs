//! `netlab port` (like `docker port`) and `netlab pipework`.

use anyhow::bail;

use crate::client::Lab;
use crate::model::pipework::{PipeworkSpec, parse_mac};

#[derive(Debug, clap::Args)]
pub struct PortArgs {
    name: String,
    /// Only this container port: PORT or PORT/PROTO.
    port: Option<String>,
}

pub fn port(lab: &str, a: PortArgs) -> anyhow::Result<u8> {
    let c = Lab::open(lab)?.inspect(&a.name)?;
    // A stopped container forwards nothing: Docker lists no port for it.
    let ports = if c.connected { &c.ports[..] } else { &[] };
    // A container with IPv6 on its first network is published on `::` too, as in Docker.
    let ipv6 = c.networks.first().is_some_and(|e| e.ip6.is_some());
    match a.port {
        None => {
            for b in ports {
                for ip in b.listen_texts(ipv6) {
                    println!(
                        "{}/{} -> {ip}:{}",
                        b.container_port,
                        b.proto.as_str(),
                        b.host_port.unwrap_or(0)
                    );
                }
            }
        }
        Some(p) => {
            let (num, proto) = p.split_once('/').unwrap_or((&p, "tcp"));
            let found: Vec<_> = ports
                .iter()
                .filter(|b| b.container_port.to_string() == num && b.proto.as_str() == proto)
                .collect();
            if found.is_empty() {
                bail!("no public port '{num}/{proto}' published for {}", a.name);
            }
            for b in found {
                for ip in b.listen_texts(ipv6) {
                    println!("{ip}:{}", b.host_port.unwrap_or(0));
                }
            }
        }
    }
    Ok(0)
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example, the article's: netlab pipework docker0 -i eth1 webserver 10.2.0.11/16"
)]
pub struct PipeworkArgs {
    /// The bridge on the lab host; created when it does not exist.
    bridge: String,
    /// The interface's name in the container (default: eth1, or the next free ethN).
    #[arg(short = 'i', value_name = "IFNAME")]
    ifname: Option<String>,
    /// The host-side interface's name.
    #[arg(short = 'l', value_name = "HOSTIFNAME")]
    host_ifname: Option<String>,
    container: String,
    /// IP/PREFIX[@GATEWAY]; the gateway becomes the container's default route.
    address: String,
    /// A MAC address for the interface.
    mac: Option<String>,
}

pub fn pipework(lab: &str, a: PipeworkArgs) -> anyhow::Result<u8> {
    let mut spec = PipeworkSpec::new(&a.bridge, &a.container, &a.address)?;
    spec.ifname = a.ifname;
    spec.host_ifname = a.host_ifname;
    spec.mac = a.mac.as_deref().map(parse_mac).transpose()?;
    spec.validate()?;
    let iface = Lab::open(lab)?.pipework(&spec)?;
    eprintln!(
        "netlab: {} of {} has {} on bridge {} (host side {})",
        iface.ifname, spec.container, iface.addr, iface.bridge, iface.host_ifname
    );
    Ok(0)
}
