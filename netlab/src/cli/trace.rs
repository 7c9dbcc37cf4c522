//! `netlab trace`: one probe through the lab, explained hop by hop (see
//! [`crate::Lab::trace`]).

use crate::client::Lab;
use crate::model::fault::parse_duration;
use crate::model::trace::{DEFAULT_OBSERVE, ProbeKind, TraceSpec};
use crate::proto::Target;

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  netlab trace --from web mongodb:27017\n  \
netlab trace --node laptop 10.2.0.10:8080\n  netlab trace --host 127.0.0.1:8080 --json\n  \
netlab trace --from web 172.17.0.1 --icmp\n  \
netlab trace --observe --from web mongodb:27017 --for 30s   # then start the real client\n\n\
With --observe no probe is sent: the trace is armed for the flow's protocol and port (and \
--sport) and waits for the next real flow from the vantage to DEST:PORT, which it \
explains the same way. The trace is armed once the vantage's namespace has \
`table inet netlab_trace` (`netlab exec web nft list tables`).")]
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
    /// Send no probe: wait for the next real TCP (or, with --udp, UDP) flow from the
    /// vantage to DEST:PORT and explain it.
    #[arg(long, conflicts_with = "icmp")]
    observe: bool,
    /// With --observe: how long to wait for the flow (`10s`, `500ms`, `2m`).
    #[arg(long = "for", value_name = "DURATION", requires = "observe")]
    wait: Option<String>,
    /// With --observe: only the flow from this source port.
    #[arg(long, value_name = "PORT", requires = "observe")]
    sport: Option<u16>,
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
    let mut spec = TraceSpec::new(from, &a.dest).with_probe(probe);
    if a.observe {
        let wait = match &a.wait {
            Some(d) => parse_duration("--for", d)?,
            None => DEFAULT_OBSERVE,
        };
        spec = spec.observing(wait);
    }
    if let Some(p) = a.sport {
        spec = spec.with_sport(p);
    }
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
