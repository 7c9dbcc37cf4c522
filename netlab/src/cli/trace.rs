//! `netlab trace`: one probe through the lab, explained hop by hop (see
//! [`crate::Lab::trace`]).

use crate::client::Lab;
use crate::model::trace::{ProbeKind, TraceSpec};
use crate::proto::Target;

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  netlab trace --from web mongodb:27017\n  \
netlab trace --node laptop 10.2.0.10:8080\n  netlab trace --host 127.0.0.1:8080 --json\n  \
netlab trace --from web 172.17.0.1 --icmp")]
pub struct TraceArgs {
    /// DEST[:PORT]: an address or a container's name; the port defaults to 80 (TCP, UDP).
    dest: String,
    /// The container the probe starts from (default: the lab host).
    #[arg(long, value_name = "CONTAINER", conflicts_with_all = ["host", "node"])]
    from: Option<String>,
    /// Start from the lab host (the default).
    #[arg(long, conflicts_with = "node")]
    host: bool,
    /// Start from a machine of the lab's simulated LAN.
    #[arg(long, value_name = "NAME")]
    node: Option<String>,
    /// Send one UDP datagram instead of a TCP connect.
    #[arg(long, conflicts_with = "icmp")]
    udp: bool,
    /// Send one ICMP echo request (no port).
    #[arg(long)]
    icmp: bool,
    /// Print the trace as JSON (`netlab::Trace`).
    #[arg(long)]
    json: bool,
}

pub fn trace(lab: &str, a: TraceArgs) -> anyhow::Result<u8> {
    let from = match (a.from, a.node) {
        (Some(c), _) => Target::Container(c),
        (None, Some(n)) => Target::Node(n),
        (None, None) => Target::Host,
    };
    let probe = match (a.udp, a.icmp) {
        (true, _) => ProbeKind::Udp,
        (_, true) => ProbeKind::Icmp,
        _ => ProbeKind::Tcp,
    };
    let spec = TraceSpec::new(from, &a.dest).with_probe(probe);
    // Refused before the lab is asked, so a typo needs no lab.
    spec.parse_dest()?;
    let t = Lab::open(lab)?.trace(&spec)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&t)?);
    } else {
        println!("{t}");
    }
    // Like ping and curl, a probe that did not arrive is a failure of the command.
    Ok(if t.verdict.delivered() { 0 } else { 1 })
}
