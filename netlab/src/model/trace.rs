//! `netlab trace`: what a trace asks for ([`TraceSpec`]), what it found ([`Trace`]: steps,
//! each naming the kernel object that decided it, and a [`Verdict`]), and the text the CLI
//! prints. Pure data and pure parsing; the supervisor (`supervisor/trace.rs`) gathers the
//! evidence from the kernel.

use std::fmt;
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::proto::Target;

/// The probe a trace sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeKind {
    /// A TCP connect with a short timeout (the default).
    #[default]
    Tcp,
    /// One UDP datagram.
    Udp,
    /// One ICMP echo request.
    Icmp,
}

impl fmt::Display for ProbeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProbeKind::Tcp => "tcp",
            ProbeKind::Udp => "udp",
            ProbeKind::Icmp => "icmp",
        })
    }
}

/// What `netlab trace [--from VANTAGE] DEST[:PORT] [--udp|--icmp]` asks for
/// ([`Lab::trace`](crate::Lab::trace)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceSpec {
    /// Where the probe starts: the lab host, a container or a LAN machine.
    pub from: Target,
    /// `DEST[:PORT]`: an IPv4 address or a container's name, with the port for TCP and
    /// UDP (80 when absent).
    pub dest: String,
    /// The probe (with [`TraceSpec::observe`]: the protocol of the flow to wait for).
    pub probe: ProbeKind,
    /// `--observe`: send no probe; wait up to this many milliseconds for the next real
    /// flow from the vantage to `DEST:PORT` and explain it (TCP or UDP).
    #[serde(default)]
    pub observe: Option<u64>,
    /// With `observe`: only a flow from this source port.
    #[serde(default)]
    pub sport: Option<u16>,
}

/// How long `netlab trace --observe` waits for a flow when not told.
pub const DEFAULT_OBSERVE: std::time::Duration = std::time::Duration::from_secs(10);

/// The port a TCP or UDP trace uses when `DEST` has none.
pub const DEFAULT_PORT: u16 = 80;

/// Where `DEST[:PORT]` points before names are resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DestHost {
    /// An address.
    Addr(Ipv4Addr),
    /// A container's name (or ID prefix).
    Container(String),
}

impl TraceSpec {
    /// A TCP trace from `from` to `dest` (`ADDR[:PORT]` or `CONTAINER[:PORT]`).
    pub fn new(from: Target, dest: &str) -> TraceSpec {
        TraceSpec {
            from,
            dest: dest.into(),
            probe: ProbeKind::Tcp,
            observe: None,
            sport: None,
        }
    }

    /// The same trace observing the next real flow for up to `wait` instead of sending a
    /// probe.
    pub fn observing(mut self, wait: std::time::Duration) -> TraceSpec {
        self.observe = Some(wait.as_millis().min(u64::MAX as u128) as u64);
        self
    }

    /// The same observing trace, limited to a flow from source port `sport`.
    pub fn with_sport(mut self, sport: u16) -> TraceSpec {
        self.sport = Some(sport);
        self
    }

    /// The same trace with another probe.
    pub fn with_probe(mut self, probe: ProbeKind) -> TraceSpec {
        self.probe = probe;
        self
    }

    /// Splits `DEST[:PORT]`; refuses an empty destination, a port that is not a number
    /// from 1 to 65535, a port on an ICMP trace, an observed ICMP flow, a source port
    /// without `observe`, and a wait of zero or over an hour.
    pub fn parse_dest(&self) -> Result<(DestHost, Option<u16>)> {
        let d = self.dest.trim();
        match (self.observe, self.sport) {
            (Some(_), _) if self.probe == ProbeKind::Icmp => {
                return Err(Error::spec(
                    "trace --observe",
                    "icmp",
                    "--observe follows a TCP or UDP flow to DEST:PORT; drop --icmp",
                ));
            }
            (Some(ms), _) if ms == 0 || ms > 3_600_000 => {
                return Err(Error::spec(
                    "trace --for",
                    format!("{ms} ms"),
                    "wait from 1 ms to 1 hour for a flow, e.g. --for 30s",
                ));
            }
            (None, Some(p)) => {
                return Err(Error::spec(
                    "trace --sport",
                    p.to_string(),
                    "a source port only narrows an observed flow; add --observe",
                ));
            }
            (Some(_), Some(0)) => {
                return Err(Error::spec(
                    "trace --sport",
                    "0",
                    "a port is a number from 1 to 65535",
                ));
            }
            _ => {}
        }
        let (host, port) = match d.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (d, None),
        };
        if host.is_empty() {
            return Err(Error::spec(
                "trace destination",
                d,
                "give an address or a container's name, e.g. 172.17.0.2:80 or web:80",
            ));
        }
        let port = match port {
            None => None,
            Some(p) => match p.parse::<u32>() {
                Ok(n) if (1..=65535).contains(&n) => Some(n as u16),
                _ => {
                    return Err(Error::spec(
                        "trace port",
                        p,
                        "a port is a number from 1 to 65535, e.g. web:8080",
                    ));
                }
            },
        };
        if self.probe == ProbeKind::Icmp && port.is_some() {
            return Err(Error::spec(
                "trace destination",
                d,
                "an ICMP echo has no port; drop the :PORT or trace TCP/UDP",
            ));
        }
        let port = match self.probe {
            ProbeKind::Icmp => None,
            _ => Some(port.unwrap_or(DEFAULT_PORT)),
        };
        let host = match host.parse::<Ipv4Addr>() {
            Ok(a) => DestHost::Addr(a),
            Err(_) if host.chars().all(|c| c.is_ascii_digit() || c == '.') => {
                return Err(Error::spec(
                    "trace destination",
                    host,
                    "not an IPv4 address; write four numbers from 0 to 255, e.g. 172.17.0.2",
                ));
            }
            Err(_) => DestHost::Container(host.to_string()),
        };
        Ok((host, port))
    }
}

/// Which way a step's packet went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Leg {
    /// From the vantage towards the destination.
    Request,
    /// The answer, back towards the vantage.
    Reply,
}

/// What a step found, with the kernel object that decided it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StepKind {
    /// The kernel's route lookup (`ip route get DST`).
    Route {
        /// The address looked up.
        dst: Ipv4Addr,
        /// The routing table (`main`, `local`, or a number).
        table: String,
        /// The route that matched, as `ip route` prints it (`default via 172.17.0.1`,
        /// `172.17.0.0/16`, `local 172.17.0.1`).
        route: String,
        /// The output interface.
        dev: String,
        /// The gateway, when the route has one.
        gateway: Option<Ipv4Addr>,
        /// The source address the kernel picks.
        src: Option<Ipv4Addr>,
        /// The destination is an address of this namespace.
        local: bool,
    },
    /// The route lookup failed (`ip route get` answered an error).
    NoRoute {
        /// The address looked up.
        dst: Ipv4Addr,
        /// The kernel's answer.
        error: String,
    },
    /// Neighbour resolution (`ip neigh show ADDR dev DEV`).
    Neighbour {
        /// The next hop's address.
        addr: Ipv4Addr,
        /// The interface.
        dev: String,
        /// The MAC address, once resolved.
        mac: Option<String>,
        /// The entry's state (`REACHABLE`, `STALE`, `INCOMPLETE`, `FAILED`, `none`).
        state: String,
    },
    /// A bridge hop (`bridge fdb show br BRIDGE`, the entry of the destination MAC).
    Bridge {
        /// The bridge.
        bridge: String,
        /// The destination MAC.
        mac: String,
        /// The port the frame entered by.
        from_port: Option<String>,
        /// The port the FDB chose; `None` when the frame is for the bridge itself or flooded.
        port: Option<String>,
        /// `fdb` (a learned or static entry), `local` (the bridge's own address: up to
        /// the lab host's IP stack), or `flood` (no entry).
        decision: String,
    },
    /// An nft rule that matched (from the kernel's nftables trace).
    Rule {
        /// `ip`, `inet`, `bridge`.
        family: String,
        /// The table.
        table: String,
        /// The chain.
        chain: String,
        /// The rule's handle.
        handle: Option<u64>,
        /// The rule as `nft` prints it.
        text: String,
        /// Its verdict (`accept`, `drop`, `continue`, ...).
        verdict: String,
        /// For a NAT rule: what it rewrote (`daddr 10.2.0.10:8080 -> 10.2.1.2:8080`).
        translation: Option<String>,
    },
    /// The packet as a namespace saw it (addresses after translation).
    Packet {
        /// Its source.
        src: String,
        /// Its destination.
        dst: String,
        /// The interface it came in by, or went out of.
        dev: Option<String>,
    },
    /// The socket that received it.
    Listener {
        /// Its local address (`0.0.0.0:8000`, `[::]:8000`).
        addr: String,
        /// Its process's name.
        process: Option<String>,
        /// Its process's PID inside the lab.
        pid: Option<i32>,
    },
    /// Nothing listens, or the probe was refused.
    Refused {
        /// Why.
        why: String,
    },
}

/// One step of a trace: in which namespace, which way, what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// Request or reply.
    pub leg: Leg,
    /// The namespace: `lab host`, `container web`, `LAN machine laptop`, `LAN switch`.
    pub place: String,
    /// What happened there.
    #[serde(flatten)]
    pub kind: StepKind,
}

/// How a trace ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// A process received it (a TCP connection was accepted, an echo answered, or a UDP
    /// datagram reached a bound socket).
    Delivered {
        /// Where it arrived.
        place: String,
        /// The socket's address.
        addr: String,
        /// The process's name.
        process: Option<String>,
        /// Its PID inside the lab.
        pid: Option<i32>,
    },
    /// An nft rule dropped it.
    Dropped {
        /// What the rule is (`partition fault-1`, `rule`).
        by: String,
        /// `bridge netlab_faults`.
        table: String,
        /// The chain.
        chain: String,
        /// The rule's handle.
        handle: Option<u64>,
    },
    /// It arrived but was refused (TCP reset, ICMP port unreachable).
    Refused {
        /// The address and port.
        addr: String,
        /// Why.
        why: String,
    },
    /// A namespace has no route to the destination.
    NoRoute {
        /// The destination.
        dst: Ipv4Addr,
        /// The namespace.
        place: String,
    },
    /// Nobody answered ARP for the next hop.
    ArpUnanswered {
        /// The next hop.
        addr: Ipv4Addr,
        /// The namespace that asked.
        place: String,
    },
    /// No answer and no evidence of why within the probe's time.
    NoAnswer {
        /// The destination.
        addr: String,
        /// How long the probe waited, in milliseconds.
        waited_ms: u64,
    },
}

impl Verdict {
    /// Whether the probe was delivered.
    pub fn delivered(&self) -> bool {
        matches!(self, Verdict::Delivered { .. })
    }
}

/// What a trace found: the probe, its steps in order (request, then reply) and the verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trace {
    /// `tcp 172.17.0.2:41234 -> 172.17.0.3:8000`.
    pub probe: String,
    /// Where it started.
    pub from: String,
    /// The steps, request first.
    pub steps: Vec<Step>,
    /// How it ended.
    pub verdict: Verdict,
    /// How long the trace took, in milliseconds.
    pub elapsed_ms: u64,
}

impl fmt::Display for StepKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StepKind::Route {
                dst,
                table,
                route,
                dev,
                src,
                local,
                ..
            } => {
                write!(f, "route   {dst}: table {table}, {route}")?;
                if !local {
                    write!(f, " dev {dev}")?;
                }
                if let Some(s) = src {
                    write!(f, " src {s}")?;
                }
                if *local {
                    write!(f, " (an address of this namespace)")?;
                }
                Ok(())
            }
            StepKind::NoRoute { dst, error } => write!(f, "route   {dst}: none ({error})"),
            StepKind::Neighbour {
                addr,
                dev,
                mac,
                state,
            } => match mac {
                Some(m) => write!(f, "neigh   {addr} dev {dev} lladdr {m} {state}"),
                None => write!(f, "neigh   {addr} dev {dev} unresolved {state}"),
            },
            StepKind::Bridge {
                bridge,
                mac,
                from_port,
                port,
                decision,
            } => {
                write!(f, "bridge  {bridge}")?;
                if let Some(p) = from_port {
                    write!(f, " in {p}")?;
                }
                match (decision.as_str(), port) {
                    ("fdb", Some(p)) => write!(f, ": fdb {mac} -> port {p}"),
                    ("local", _) => write!(f, ": {mac} is the bridge's own: up to the IP stack"),
                    _ => write!(f, ": no fdb entry for {mac}, flooded"),
                }
            }
            StepKind::Rule {
                family,
                table,
                chain,
                handle,
                text,
                verdict,
                translation,
            } => {
                write!(f, "nft     {family} {table} {chain}")?;
                if let Some(h) = handle {
                    write!(f, " handle {h}")?;
                }
                write!(f, ": {text} => {verdict}")?;
                if let Some(t) = translation {
                    write!(f, " ({t})")?;
                }
                Ok(())
            }
            StepKind::Packet { src, dst, dev } => {
                write!(f, "packet  {src} -> {dst}")?;
                if let Some(d) = dev {
                    write!(f, " on {d}")?;
                }
                Ok(())
            }
            StepKind::Listener { addr, process, pid } => {
                write!(f, "socket  listening on {addr}")?;
                match (process, pid) {
                    (Some(p), Some(pid)) => write!(f, ": {p} (pid {pid})"),
                    _ => Ok(()),
                }
            }
            StepKind::Refused { why } => write!(f, "refused {why}"),
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Delivered {
                place,
                addr,
                process,
                pid,
            } => match (process, pid) {
                (Some(p), Some(pid)) => {
                    write!(
                        f,
                        "delivered to {p} (pid {pid}) listening on {addr} in {place}"
                    )
                }
                _ => write!(f, "delivered to {addr} in {place}"),
            },
            Verdict::Dropped {
                by,
                table,
                chain,
                handle,
            } => {
                write!(f, "dropped by {by} (table {table}, chain {chain}")?;
                if let Some(h) = handle {
                    write!(f, ", handle {h}")?;
                }
                f.write_str(")")
            }
            Verdict::Refused { addr, why } => write!(f, "no listener on {addr} ({why})"),
            Verdict::NoRoute { dst, place } => write!(f, "no route to {dst} in {place}"),
            Verdict::ArpUnanswered { addr, place } => {
                write!(f, "ARP for {addr} unanswered (asked by {place})")
            }
            Verdict::NoAnswer { addr, waited_ms } => {
                write!(
                    f,
                    "no answer from {addr} within {waited_ms} ms, and no rule dropped it"
                )
            }
        }
    }
}

impl fmt::Display for Trace {
    /// The CLI's text: the probe, one line per step grouped by leg and namespace, the
    /// verdict.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "trace {} from {}", self.probe, self.from)?;
        let mut last: Option<(Leg, &str)> = None;
        for s in &self.steps {
            if last.map(|(l, _)| l) != Some(s.leg) {
                writeln!(
                    f,
                    "{}:",
                    match s.leg {
                        Leg::Request => "request",
                        Leg::Reply => "reply",
                    }
                )?;
                last = None;
            }
            if last.map(|(_, p)| p) != Some(s.place.as_str()) {
                writeln!(f, "  [{}]", s.place)?;
            }
            last = Some((s.leg, &s.place));
            writeln!(f, "    {}", s.kind)?;
        }
        write!(f, "verdict: {}", self.verdict)
    }
}

/// A line of `nft -a monitor trace`, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceLine {
    /// The trace id: one per packet per namespace.
    pub id: String,
    /// `ip`, `inet`, `bridge`.
    pub family: String,
    /// The table.
    pub table: String,
    /// The chain.
    pub chain: String,
    /// What the line reports.
    pub what: TraceWhat,
}

/// What a trace line reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TraceWhat {
    /// `packet: iif "eth0" ... ip saddr A ip daddr B ... tcp sport S tcp dport D ...`.
    Packet(String),
    /// `rule TEXT # handle N (verdict V)`.
    Rule {
        /// The rule's text.
        text: String,
        /// Its handle.
        handle: Option<u64>,
        /// Its verdict.
        verdict: String,
    },
    /// `policy V` or `verdict V` (the chain's end).
    Policy(String),
}

/// Parses one line of `nft -a monitor trace`; `None` for lines of another shape.
pub fn parse_trace_line(line: &str) -> Option<TraceLine> {
    let rest = line.trim_end().strip_prefix("trace id ")?;
    let mut it = rest.splitn(5, ' ');
    let (id, family, table, chain, body) =
        (it.next()?, it.next()?, it.next()?, it.next()?, it.next()?);
    let what = if let Some(p) = body.strip_prefix("packet: ") {
        TraceWhat::Packet(p.trim().to_string())
    } else if let Some(r) = body.strip_prefix("rule ") {
        let (main, verdict) = match r.rfind(" (verdict ") {
            Some(i) => (
                &r[..i],
                r[i + 10..].trim_end_matches(')').trim().to_string(),
            ),
            None => (r, String::new()),
        };
        let (text, handle) = match main.rfind(" # handle ") {
            Some(i) => (&main[..i], main[i + 10..].trim().parse().ok()),
            None => (main, None),
        };
        TraceWhat::Rule {
            text: text.trim().to_string(),
            handle,
            verdict,
        }
    } else if let Some(v) = body
        .strip_prefix("policy ")
        .or_else(|| body.strip_prefix("verdict "))
    {
        TraceWhat::Policy(v.trim().to_string())
    } else {
        return None;
    };
    Some(TraceLine {
        id: id.into(),
        family: family.into(),
        table: table.into(),
        chain: chain.into(),
        what,
    })
}

/// The value after `key` in nft's `key value` text (`ip saddr 1.2.3.4`).
pub fn field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let keys: Vec<&str> = key.split(' ').collect();
    words
        .windows(keys.len() + 1)
        .find(|w| w[..keys.len()] == keys[..])
        .map(|w| w[keys.len()].trim_matches('"'))
}

/// The target of a `dnat to ADDR[:PORT]` in a rule's text.
pub fn dnat_target(text: &str) -> Option<(Ipv4Addr, Option<u16>)> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let i = words.iter().position(|w| *w == "dnat")?;
    let to = words[i + 1..].iter().skip_while(|w| **w != "to").nth(1)?;
    let (a, p) = match to.split_once(':') {
        Some((a, p)) => (a, p.parse().ok()),
        None => (*to, None),
    };
    Some((a.parse().ok()?, p))
}

/// The `comment "..."` of a rule's text.
pub fn comment(text: &str) -> Option<&str> {
    let i = text.find("comment \"")?;
    let rest = &text[i + 9..];
    Some(&rest[..rest.find('"')?])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_and_ports() {
        let t = |d: &str, p| TraceSpec::new(Target::Host, d).with_probe(p).parse_dest();
        assert_eq!(
            t("172.17.0.2:8000", ProbeKind::Tcp).unwrap(),
            (DestHost::Addr([172, 17, 0, 2].into()), Some(8000))
        );
        assert_eq!(
            t("web", ProbeKind::Tcp).unwrap(),
            (DestHost::Container("web".into()), Some(80))
        );
        assert_eq!(
            t("web", ProbeKind::Icmp).unwrap(),
            (DestHost::Container("web".into()), None)
        );
        for (bad, p, what) in [
            ("web:70000", ProbeKind::Tcp, "1 to 65535"),
            ("web:0", ProbeKind::Udp, "1 to 65535"),
            ("web:http", ProbeKind::Tcp, "1 to 65535"),
            (":80", ProbeKind::Tcp, "address or a container"),
            ("10.0.0.300", ProbeKind::Tcp, "IPv4"),
            ("web:80", ProbeKind::Icmp, "no port"),
        ] {
            let e = t(bad, p).unwrap_err();
            assert!(e.to_string().contains(what), "{bad}: {e}");
        }
    }

    #[test]
    fn observing() {
        let s = |p| TraceSpec::new(Target::Host, "web:8000").with_probe(p);
        let sec = std::time::Duration::from_secs(1);
        assert_eq!(
            s(ProbeKind::Udp)
                .observing(sec)
                .with_sport(5353)
                .parse_dest()
                .unwrap(),
            (DestHost::Container("web".into()), Some(8000))
        );
        for (spec, what) in [
            (
                TraceSpec::new(Target::Host, "web")
                    .with_probe(ProbeKind::Icmp)
                    .observing(sec),
                "TCP or UDP",
            ),
            (s(ProbeKind::Tcp).with_sport(4000), "add --observe"),
            (s(ProbeKind::Tcp).observing(sec).with_sport(0), "1 to 65535"),
            (
                s(ProbeKind::Tcp).observing(std::time::Duration::ZERO),
                "1 ms to 1 hour",
            ),
        ] {
            let e = spec.parse_dest().unwrap_err();
            assert!(e.to_string().contains(what), "{spec:?}: {e}");
        }
        // Older clients send no `observe` or `sport`.
        let old: TraceSpec =
            serde_json::from_str(r#"{"from":{"container":"a"},"dest":"b:80","probe":"tcp"}"#)
                .unwrap();
        assert_eq!(old.observe, None);
    }

    #[test]
    fn nft_trace_lines() {
        let l = parse_trace_line(
            "trace id 88fff85d inet t2 o rule tcp dport 9 counter packets 0 bytes 0 reject with tcp reset # handle 2 (verdict drop)",
        )
        .unwrap();
        assert_eq!(
            (l.family.as_str(), l.table.as_str(), l.chain.as_str()),
            ("inet", "t2", "o")
        );
        assert_eq!(
            l.what,
            TraceWhat::Rule {
                text: "tcp dport 9 counter packets 0 bytes 0 reject with tcp reset".into(),
                handle: Some(2),
                verdict: "drop".into()
            }
        );
        let p = parse_trace_line("trace id 88fff85d inet netlab_trace out packet: oif \"lo\" ip saddr 127.0.0.1 ip daddr 127.0.0.2 tcp sport 5 tcp dport 9 ").unwrap();
        let TraceWhat::Packet(text) = p.what else {
            panic!()
        };
        assert_eq!(field(&text, "ip daddr"), Some("127.0.0.2"));
        assert_eq!(field(&text, "oif"), Some("lo"));
        assert_eq!(field(&text, "tcp sport"), Some("5"));
        assert_eq!(
            parse_trace_line("trace id 1 inet x y policy accept")
                .unwrap()
                .what,
            TraceWhat::Policy("accept".into())
        );
        assert!(parse_trace_line("something else").is_none());
        assert_eq!(
            dnat_target("fib daddr type local tcp dport 8080 dnat ip to 10.2.1.2:8080"),
            Some(([10, 2, 1, 2].into(), Some(8080)))
        );
        assert_eq!(
            dnat_target("dnat to 10.0.0.1"),
            Some(([10, 0, 0, 1].into(), None))
        );
        assert_eq!(
            comment("ip saddr 1.1.1.1 drop comment \"fault-1\""),
            Some("fault-1")
        );
    }

    #[test]
    fn text_rendering() {
        let t = Trace {
            probe: "tcp 172.17.0.2:4000 -> 172.17.0.3:8000".into(),
            from: "container a".into(),
            steps: vec![Step {
                leg: Leg::Request,
                place: "container a".into(),
                kind: StepKind::Route {
                    dst: [172, 17, 0, 3].into(),
                    table: "main".into(),
                    route: "172.17.0.0/16".into(),
                    dev: "eth0".into(),
                    gateway: None,
                    src: Some([172, 17, 0, 2].into()),
                    local: false,
                },
            }],
            verdict: Verdict::Delivered {
                place: "container b".into(),
                addr: "172.17.0.3:8000".into(),
                process: Some("python3".into()),
                pid: Some(7),
            },
            elapsed_ms: 40,
        };
        let s = t.to_string();
        assert!(s.contains("  [container a]\n    route   172.17.0.3: table main, 172.17.0.0/16 dev eth0 src 172.17.0.2"), "{s}");
        assert!(
            s.ends_with(
                "verdict: delivered to python3 (pid 7) listening on 172.17.0.3:8000 in container b"
            ),
            "{s}"
        );
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(serde_json::from_str::<Trace>(&json).unwrap(), t);
    }
}
