//! `netlab trace`: one real probe from a namespace of the lab, explained hop by hop from
//! the kernel's own evidence.
//!
//! 1. Validate: the vantage and destination exist (a container's name becomes its
//!    address); snapshot the namespaces and the wires between them (which veth end is in
//!    which namespace), under the lab lock, then release it.
//! 2. Bind the probe's socket in the vantage's namespace, so its source port is known; in
//!    every namespace the flow may cross start `nft -a monitor trace` (from a thread that
//!    joined it; reaped by the lab's reaper, as the supervisor is PID 1), and once it
//!    listens install `table inet netlab_trace` (plus `table bridge netlab_trace` on the
//!    lab host) marking that flow with `meta nftrace set 1`; the vantage's table last.
//! 3. Send the probe; stop the monitors; remove the tables.
//! 4. Walk the path with the kernel's answers: `ip route get` in each namespace, the
//!    neighbour entry of the next hop, the FDB entry of each bridge, across the wires the
//!    lab made; a DNAT rule seen in the trace moves the destination. At the end, the
//!    listening socket and its process from `/proc/thread-self/net/*` and `/proc/*/fd`.
//!    Then the reply, walked the same way back to the vantage (un-NATed where the
//!    request was masqueraded).
//!
//! With `--observe` ([`TraceSpec::observe`]) step 2 binds nothing: the tables mark the
//! flow's protocol and ports, the first packet from the vantage to `DEST:PORT` names the
//! flow by its source port, and step 3 waits for that real flow instead of sending one.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::Ipv4Addr;
use std::os::fd::OwnedFd;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::error::{Error, Result};
use crate::firewall::trace::{self as tables, Marker};
use crate::firewall::{Nft, Runner};
use crate::model::trace::{
    DestHost, Leg, ProbeKind, Step, StepKind, Trace, TraceLine, TraceSpec, TraceWhat, Verdict,
    comment, dnat_target, field, parse_trace_line,
};
use crate::model::{ContainerStatus, Proto};
use crate::net;
use crate::net::neigh::mac_text;
use crate::proto::Target;
use crate::sys::nsfd::in_netns;
use crate::sys::probe::{Outcome, Probe};
use crate::sys::reaper::Reaper;
use crate::sys::rtnl::Rtnl;

use super::Shared;
use super::lab::poisoned;

/// How long a TCP or ICMP probe waits for its answer: past the first retransmission (TCP
/// resends a SYN after 1 s), because the very first frame a LAN machine sends through the
/// lab's switch right after the lab came up was seen lost on this kernel. A UDP probe
/// waits less, as silence is its normal answer.
const PATIENCE: Duration = Duration::from_millis(1500);
const UDP_PATIENCE: Duration = Duration::from_millis(300);
/// How long the kernel's trace events may take to reach `nft monitor` after the probe,
/// when the sentinel cannot be sent.
const SETTLE: Duration = Duration::from_millis(15);
/// How long to wait for `nft monitor` to print the sentinel's trace.
const FLUSH: Duration = Duration::from_secs(2);
/// Index of the lab host in [`Snapshot::ns`].
const HOST: usize = 0;

/// One trace at a time per lab: the trace tables have one name.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// A namespace of the lab as a trace sees it.
struct Ns {
    label: String,
    net: OwnedFd,
    /// Whether trace tables go there.
    traced: bool,
}

/// What a trace needs of the lab, copied out of it so the lab lock is free meanwhile.
struct Snapshot {
    ns: Vec<Ns>,
    /// Veth pairs: (namespace, interface) on each end.
    wires: Vec<((usize, String), (usize, String))>,
    vantage: usize,
    dst: Ipv4Addr,
    port: Option<u16>,
    /// The container's port behind a published `port` of the lab host, when the flow may
    /// be DNATed there.
    inner: Option<u16>,
    nft: Nft,
    reaper: Arc<Reaper>,
}

impl Snapshot {
    fn take(s: &Shared, spec: &TraceSpec) -> Result<Snapshot> {
        let (dest, port) = spec.parse_dest()?;
        let lab = s.lab();
        let mut ns = vec![Ns {
            label: "lab host".into(),
            net: dup(&lab.host_net)?,
            traced: true,
        }];
        let mut wires = vec![];
        let mut owner: HashMap<Ipv4Addr, usize> = HashMap::new();
        owner.insert(lab.spec.bip.addr, HOST);
        let mut vantage = HOST;
        // Containers with a macvlan interface, and those interfaces' addresses.
        let mut macvlan: std::collections::HashSet<usize> = Default::default();
        let mut macvlan_ips: std::collections::HashSet<Ipv4Addr> = Default::default();
        // Where a published port of the destination may lead.
        let mut publishes: Vec<(usize, Proto, u16, u16)> = vec![];
        for name in &lab.order {
            let Some(c) = lab.containers.get(name) else {
                continue;
            };
            let running = c.run.lock().map_err(|_| poisoned())?.status == ContainerStatus::Running;
            if !running {
                continue;
            }
            let i = ns.len();
            ns.push(Ns {
                label: format!("container {name}"),
                net: dup(&c.ns.net)?,
                traced: false,
            });
            if c.connected {
                for e in &c.endpoints {
                    owner.insert(e.ip, i);
                    if e.host_veth.is_empty() {
                        macvlan.insert(i);
                        macvlan_ips.insert(e.ip);
                    } else {
                        wires.push(((i, e.ifname.clone()), (HOST, e.host_veth.clone())));
                    }
                }
            }
            for p in &c.pipework {
                owner.insert(p.addr.addr, i);
                wires.push(((i, p.ifname.clone()), (HOST, p.host_ifname.clone())));
            }
            for b in &c.ports {
                publishes.push((i, b.proto, b.host_port.unwrap_or(0), b.container_port));
            }
        }
        if let (Some(lan), Some(up)) = (&lab.lan, &lab.spec.uplink) {
            let sw = ns.len();
            ns.push(Ns {
                label: "LAN switch".into(),
                net: dup(&lan._switch_ns)?,
                traced: false,
            });
            wires.push(((HOST, up.name.clone()), (sw, "uplink".to_string())));
            if let Some(a) = up.addr {
                owner.entry(a.addr).or_insert(HOST);
            }
            for (k, n) in lab.spec.lan_nodes.iter().enumerate() {
                let Some(node) = lan.nodes.get(&n.name) else {
                    continue;
                };
                let i = ns.len();
                ns.push(Ns {
                    label: format!("LAN machine {}", n.name),
                    net: dup(&node.ns.net)?,
                    traced: false,
                });
                owner.insert(n.addr.addr, i);
                wires.push(((i, "eth0".to_string()), (sw, format!("lan{k}"))));
            }
        }
        match &spec.from {
            Target::Host => {}
            Target::Container(n) => {
                let n = lab.resolve(n)?;
                let c = lab.get(&n)?;
                if c.run.lock().map_err(|_| poisoned())?.status != ContainerStatus::Running {
                    return Err(Error::NotRunning { name: n });
                }
                vantage = find(&ns, &format!("container {n}"));
            }
            Target::Node(n) => {
                lab.node(n)?;
                vantage = find(&ns, &format!("LAN machine {n}"));
            }
        }
        let dst = match dest {
            DestHost::Addr(a) => a,
            DestHost::Container(n) => {
                let n = lab.resolve(&n)?;
                let c = lab.get(&n)?;
                if !c.connected {
                    return Err(Error::NotRunning { name: n });
                }
                c.ip()
            }
        };
        // A macvlan device meets the LAN on its parent's wire, past the lab host's routing
        // and bridges that a trace follows: say so rather than give a wrong verdict (from
        // the lab host the verdict is right: it cannot reach its macvlan children).
        if vantage != HOST && (macvlan.contains(&vantage) || macvlan_ips.contains(&dst)) {
            return Err(Error::spec(
                "trace",
                format!("{dst}"),
                "it involves a macvlan interface, which talks to the LAN on its parent's wire past the lab host, and netlab trace does not follow that path yet; watch it with `netlab capture` at both ends (`netlab trace --host` does show why the lab host cannot reach it)",
            ));
        }
        // Trace where the flow may go: the vantage, the lab host, the destination's owner,
        // and the containers a published port of that number leads to.
        ns[vantage].traced = true;
        let dest_owner = owner.get(&dst).copied();
        if let Some(o) = dest_owner {
            ns[o].traced = true;
        }
        let local_dest = dst.is_loopback() || dest_owner == Some(HOST) || dest_owner.is_none();
        let mut inner = None;
        if let (true, Some(p)) = (local_dest, port) {
            let proto = match spec.probe {
                ProbeKind::Udp => Proto::Udp,
                _ => Proto::Tcp,
            };
            for (i, pr, hp, cp) in &publishes {
                if *pr == proto && *hp == p {
                    ns[*i].traced = true;
                    inner = Some(*cp);
                }
            }
        }
        let reaper = lab.reaper.clone();
        let r = reaper.clone();
        let runner: Runner = Arc::new(move |cmd, input| {
            let out = r.output(cmd, input)?;
            Ok((out.code, out.stderr))
        });
        Ok(Snapshot {
            ns,
            wires,
            vantage,
            dst,
            port,
            inner,
            nft: Nft::find()?.with_runner(runner),
            reaper,
        })
    }

    fn peer(&self, at: usize, dev: &str) -> Option<(usize, String)> {
        self.wires.iter().find_map(|(a, b)| {
            if a.0 == at && a.1 == dev {
                Some(b.clone())
            } else if b.0 == at && b.1 == dev {
                Some(a.clone())
            } else {
                None
            }
        })
    }
}

fn find(ns: &[Ns], label: &str) -> usize {
    ns.iter().position(|n| n.label == label).unwrap_or(HOST)
}

fn dup(fd: &OwnedFd) -> Result<OwnedFd> {
    fd.try_clone()
        .map_err(|e| Error::kernel_io("dup", "network namespace fd", &e))
}

/// A running `nft -a monitor trace` and the lines it printed.
struct Monitor {
    ns: usize,
    pid: i32,
    lines: Arc<Mutex<Vec<String>>>,
    reader: std::thread::JoinHandle<()>,
}

/// Waits until `nft monitor trace` of process `pid` has joined the trace group
/// (NFNLGRP_NFTRACE = 9: bit 8 of the groups column of `/proc/PID/net/netlink`).
fn wait_subscribed(pid: i32, deadline: Instant) {
    let path = format!("/proc/{pid}/net/netlink");
    while Instant::now() < deadline {
        if let Ok(text) = std::fs::read_to_string(&path) {
            let ready = text.lines().skip(1).any(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                f.len() > 4
                    && f[1] == "12"
                    && f[2] == pid.to_string()
                    && u32::from_str_radix(f[3], 16).is_ok_and(|g| g & 0x100 != 0)
            });
            if ready {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    tracing::warn!(pid, "nft monitor trace did not subscribe in time");
}

fn start_monitor(snap: &Snapshot, i: usize) -> Result<Monitor> {
    let nft = snap.nft.binary().to_path_buf();
    let reaper = snap.reaper.clone();
    let (pid, mut child) = in_netns(&snap.ns[i].net, || {
        reaper
            .spawn(
                || {
                    let child = Command::new(&nft)
                        .args(["-a", "monitor", "trace"])
                        .env("LC_ALL", "C")
                        .stdin(Stdio::null())
                        .stdout(Stdio::piped())
                        .stderr(Stdio::null())
                        .spawn()?;
                    Ok((child.id() as i32, child))
                },
                |_| {},
            )
            .map_err(|e| Error::kernel_io("spawn", "nft monitor trace", &e))
    })?;
    let lines = Arc::new(Mutex::new(Vec::new()));
    let out = child.stdout.take();
    let sink = lines.clone();
    let reader = std::thread::spawn(move || {
        let Some(out) = out else { return };
        for line in BufReader::new(out)
            .lines()
            .map_while(std::result::Result::ok)
        {
            if let Ok(mut v) = sink.lock() {
                v.push(line);
            }
        }
    });
    Ok(Monitor {
        ns: i,
        pid,
        lines,
        reader,
    })
}

/// Waits until monitor `m` has printed every event of the probe: sends the sentinel
/// datagram in its namespace and waits for its trace line, which the kernel queued after
/// the probe's.
fn flush(snap: &Snapshot, m: &Monitor) {
    let (addr, port) = tables::SENTINEL;
    let needle = format!("ip daddr {addr} ");
    let deadline = Instant::now() + FLUSH;
    let sent = in_netns(&snap.ns[m.ns].net, || {
        let s = std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|s| s.send_to(b"netlab trace: end", (addr, port)).map(|_| s))
            .map_err(|e| Error::kernel_io("sendto", "trace sentinel", &e))?;
        Ok(s)
    });
    if let Err(e) = sent {
        tracing::warn!("trace sentinel in {}: {e}", snap.ns[m.ns].label);
        std::thread::sleep(SETTLE);
        return;
    }
    while Instant::now() < deadline {
        let seen = m
            .lines
            .lock()
            .map(|v| v.iter().any(|l| l.contains(&needle)))
            .unwrap_or(true);
        if seen {
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    tracing::warn!(
        "nft monitor trace in {} did not catch up",
        snap.ns[m.ns].label
    );
}

/// The namespaces' trace lines, grouped per namespace and tagged with their leg.
type Lines = Vec<Vec<(Leg, TraceLine)>>;

/// Arms a trace: in each traced namespace (one thread each) `nft monitor trace`,
/// subscribed, then the trace tables; the vantage's tables last, so that once they exist
/// the whole trace is armed (what a client of `--observe` may wait for). Returns the
/// monitors that started, and the first error.
fn arm(snap: &Snapshot, traced: &[usize], marker: Marker) -> (Vec<Monitor>, Option<Error>) {
    let install = |i: usize| {
        in_netns(&snap.ns[i].net, || {
            snap.nft
                .run_script(&tables::install(marker, i == HOST), "nft trace tables")
        })
    };
    let started: Vec<(Option<Monitor>, Option<Error>)> = std::thread::scope(|sc| {
        let hs: Vec<_> = traced
            .iter()
            .map(|&i| {
                let install = &install;
                sc.spawn(move || {
                    let m = match start_monitor(snap, i) {
                        Ok(m) => m,
                        Err(e) => return (None, Some(e)),
                    };
                    wait_subscribed(m.pid, Instant::now() + Duration::from_secs(2));
                    let e = if i == snap.vantage {
                        None
                    } else {
                        install(i).err()
                    };
                    (Some(m), e)
                })
            })
            .collect();
        hs.into_iter()
            .map(|h| h.join().unwrap_or_else(|_| (None, Some(panicked()))))
            .collect()
    });
    let mut mons = vec![];
    let mut first_err = None;
    for (m, e) in started {
        mons.extend(m);
        if let Some(e) = e {
            first_err.get_or_insert(e);
        }
    }
    if first_err.is_none()
        && let Err(e) = install(snap.vantage)
    {
        first_err = Some(e);
    }
    (mons, first_err)
}

/// Waits until every monitor printed the flow's events, stops them, and returns the lines
/// each namespace printed.
fn collect(snap: &Snapshot, mons: Vec<Monitor>) -> Result<Vec<Vec<String>>> {
    std::thread::scope(|sc| {
        for m in &mons {
            sc.spawn(move || flush(snap, m));
        }
    });
    let mut lines: Vec<Vec<String>> = vec![vec![]; snap.ns.len()];
    for m in mons {
        let _ = kill(Pid::from_raw(m.pid), Signal::SIGTERM);
        let _ = m.reader.join();
        lines[m.ns] = std::mem::take(&mut *m.lines.lock().map_err(|_| poisoned())?);
    }
    Ok(lines)
}

/// Removes the trace tables from the traced namespaces (a failure is logged: the tables
/// die with the lab anyway).
fn disarm(snap: &Snapshot, traced: &[usize]) {
    std::thread::scope(|sc| {
        for &i in traced {
            sc.spawn(move || {
                let r = in_netns(&snap.ns[i].net, || {
                    snap.nft
                        .run_script(&tables::remove(i == HOST), "nft trace tables removal")
                });
                if let Err(e) = r {
                    tracing::warn!("removing the trace tables in {}: {e}", snap.ns[i].label);
                }
            });
        }
    });
}

/// Whether a monitor saw a rule drop a packet of the flow.
fn any_drop(mons: &[Monitor]) -> bool {
    mons.iter()
        .any(|m| m.lines.lock().is_ok_and(|v| v.iter().any(|l| is_drop(l))))
}

/// `Lab::trace`: see the module's comment.
pub(super) fn trace(s: &Shared, spec: TraceSpec) -> Result<Trace> {
    let started = Instant::now();
    let snap = Snapshot::take(s, &spec)?;
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(ms) = spec.observe {
        return observe(&snap, &spec, Duration::from_millis(ms), started);
    }
    let port = snap.port.unwrap_or(0);
    // An echo identifier of this trace's own (a raw socket gets no kernel-chosen one).
    let echo_id = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u16)
        .unwrap_or(1)
        | 1;
    let probe = in_netns(&snap.ns[snap.vantage].net, || match spec.probe {
        ProbeKind::Tcp => Probe::ports(false),
        ProbeKind::Udp => Probe::ports(true),
        ProbeKind::Icmp => Probe::echo(echo_id),
    })?;
    let marker = match spec.probe {
        ProbeKind::Tcp => Marker::Ports {
            proto: "tcp",
            sport: probe.id,
        },
        ProbeKind::Udp => Marker::Ports {
            proto: "udp",
            sport: probe.id,
        },
        ProbeKind::Icmp => Marker::Echo { id: probe.id },
    };
    let traced: Vec<usize> = (0..snap.ns.len()).filter(|i| snap.ns[*i].traced).collect();
    let (mons, first_err) = arm(&snap, &traced, marker);
    // A rule that dropped the probe ends the wait: no answer will come.
    let dropped = || any_drop(&mons);
    let outcome = match first_err {
        None => probe.run(
            snap.dst,
            port,
            match spec.probe {
                ProbeKind::Udp => UDP_PATIENCE,
                _ => PATIENCE,
            },
            &dropped,
        ),
        Some(e) => Err(e),
    };
    let probe_ms = started.elapsed().as_millis() as u64;
    let lines = collect(&snap, mons)?;
    // The probe's socket closes only now, so its FIN or RST is not in the trace.
    let src_port = probe.id;
    drop(probe);
    disarm(&snap, &traced);
    let outcome = outcome?;
    let lines = tag_lines(&lines, spec.probe, src_port, false);
    let mut w = Walk {
        snap: &snap,
        lines: &lines,
        nl: (0..snap.ns.len()).map(|_| None).collect(),
        links: HashMap::new(),
        steps: vec![],
        entered: vec![false; snap.ns.len()],
        entered_reply: vec![false; snap.ns.len()],
    };
    let mut t = w.explain(&spec, outcome, src_port, probe_ms)?;
    t.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(t)
}

/// `netlab trace --observe`: arms the trace for the flow's protocol and ports (see
/// [`Marker::Flow`]), waits up to `wait` for the first packet from the vantage to
/// `DEST:PORT` (its source port names the flow), then for its answer back at the vantage
/// (or a drop, or [`PATIENCE`]), and explains that flow like a probe's.
fn observe(snap: &Snapshot, spec: &TraceSpec, wait: Duration, started: Instant) -> Result<Trace> {
    let proto = match spec.probe {
        ProbeKind::Udp => "udp",
        _ => "tcp",
    };
    let dport = snap.port.unwrap_or(crate::model::trace::DEFAULT_PORT);
    let marker = Marker::Flow {
        proto,
        dport,
        inner: snap.inner,
        sport: spec.sport,
    };
    let traced: Vec<usize> = (0..snap.ns.len()).filter(|i| snap.ns[*i].traced).collect();
    let (mons, first_err) = arm(snap, &traced, marker);
    let armed = Instant::now();
    let deadline = armed + wait;
    let mut flow: Option<(u16, Instant)> = None;
    let mut answer = None;
    if first_err.is_none() {
        tracing::debug!("trace armed: waiting for {proto} to {}:{dport}", snap.dst);
        let vantage = mons.iter().find(|m| m.ns == snap.vantage);
        loop {
            let lines = vantage
                .and_then(|m| m.lines.lock().ok().map(|v| v.clone()))
                .unwrap_or_default();
            if flow.is_none() {
                flow = first_flow(&lines, proto, snap.dst, dport, spec.sport)
                    .map(|sp| (sp, Instant::now()));
            }
            match flow {
                Some((sp, seen)) => {
                    answer = flow_answer(&lines, proto, sp);
                    if answer.is_some() || any_drop(&mons) || seen.elapsed() > PATIENCE {
                        break;
                    }
                }
                None if Instant::now() > deadline => break,
                None => {}
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    let waited_ms = armed.elapsed().as_millis() as u64;
    let lines = collect(snap, mons)?;
    disarm(snap, &traced);
    if let Some(e) = first_err {
        return Err(e);
    }
    let Some((sport, _)) = flow else {
        return Err(Error::NoFlow {
            proto: proto.into(),
            from: snap.ns[snap.vantage].label.clone(),
            dest: format!("{}:{dport}", snap.dst),
            waited_ms,
        });
    };
    let outcome = match answer {
        Some(Answer::Reset) => Outcome::Refused,
        Some(Answer::Reply) => Outcome::Answered,
        None => Outcome::Silent,
    };
    let lines = tag_lines(&lines, spec.probe, sport, true);
    let mut w = Walk {
        snap,
        lines: &lines,
        nl: (0..snap.ns.len()).map(|_| None).collect(),
        links: HashMap::new(),
        steps: vec![],
        entered: vec![false; snap.ns.len()],
        entered_reply: vec![false; snap.ns.len()],
    };
    let mut t = w.explain(spec, outcome, sport, waited_ms)?;
    t.probe = format!("{} (observed)", t.probe);
    t.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(t)
}

/// How an observed flow was answered at the vantage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// A packet came back (a SYN-ACK, a datagram).
    Reply,
    /// A TCP reset or an ICMP unreachable came back.
    Reset,
}

/// The source port of the first packet in `lines` (one namespace's `nft monitor trace`)
/// of `proto` to `dst:dport` (from `sport`, when given).
fn first_flow(
    lines: &[String],
    proto: &str,
    dst: Ipv4Addr,
    dport: u16,
    sport: Option<u16>,
) -> Option<u16> {
    let (d, dp) = (dst.to_string(), dport.to_string());
    lines.iter().find_map(|l| match parse_trace_line(l)?.what {
        TraceWhat::Packet(p)
            if field(&p, "ip daddr") == Some(d.as_str())
                && field(&p, &format!("{proto} dport")) == Some(dp.as_str()) =>
        {
            let sp = field(&p, &format!("{proto} sport"))?.parse().ok()?;
            sport.is_none_or(|s| s == sp).then_some(sp)
        }
        _ => None,
    })
}

/// The answer to the flow from source port `sport` in `lines`: a packet back to that port
/// (a reset when its TCP flags have RST), or an ICMP error.
fn flow_answer(lines: &[String], proto: &str, sport: u16) -> Option<Answer> {
    let sp = sport.to_string();
    lines.iter().find_map(|l| match parse_trace_line(l)?.what {
        TraceWhat::Packet(p) if field(&p, &format!("{proto} dport")) == Some(sp.as_str()) => {
            Some(if tcp_reset(&p) {
                Answer::Reset
            } else {
                Answer::Reply
            })
        }
        TraceWhat::Packet(p) if p.contains("icmp type destination-unreachable") => {
            Some(Answer::Reset)
        }
        _ => None,
    })
}

/// Whether a packet line's TCP flags (`tcp flags == rst | ack`, or `== 0x14` from older
/// nft) have RST.
fn tcp_reset(p: &str) -> bool {
    let Some(i) = p.find("tcp flags == ") else {
        return false;
    };
    let rest = &p[i + 13..];
    let value = rest.split(" tcp ").next().unwrap_or(rest);
    value.split(['|', ' ']).any(|w| w == "rst")
        || value
            .strip_prefix("0x")
            .and_then(|h| u8::from_str_radix(h.split_whitespace().next()?, 16).ok())
            .is_some_and(|f| f & 0x04 != 0)
}

/// A line of `nft monitor trace` that says a rule or a chain's policy dropped a packet
/// (not netlab's own trace rules, which never drop).
fn is_drop(line: &str) -> bool {
    let l = line.trim_end();
    (l.ends_with("(verdict drop)") || l.ends_with(" policy drop")) && !l.contains(tables::TABLE)
}

fn panicked() -> Error {
    Error::Io {
        op: "trace thread".into(),
        message: "panicked".into(),
    }
}

/// Parses every namespace's lines and tags each with its leg: a trace id's packet line
/// says which way its packet went (from the probe's port: request; to it: reply). With
/// `only_flow` (an observed flow: the tables marked every flow to its port), the packets
/// of other flows are left out: neither from nor to `sport`, nor ICMP.
fn tag_lines(raw: &[Vec<String>], probe: ProbeKind, sport: u16, only_flow: bool) -> Lines {
    raw.iter()
        .map(|ls| {
            let mut legs: HashMap<String, Leg> = HashMap::new();
            let mut out = vec![];
            let (sentinel, _) = tables::SENTINEL;
            let sentinel = format!("ip daddr {sentinel} ");
            let mut skip = std::collections::HashSet::new();
            for l in ls {
                let Some(t) = parse_trace_line(l) else {
                    continue;
                };
                if let TraceWhat::Packet(p) = &t.what
                    && (p.contains(&sentinel)
                        || (only_flow
                            && !p.contains(&format!("sport {sport} "))
                            && !p.contains(&format!("dport {sport} "))
                            && !p.contains("icmp")))
                {
                    skip.insert(t.id.clone());
                }
                if skip.contains(&t.id) {
                    continue;
                }
                if let TraceWhat::Packet(p) = &t.what {
                    let leg = match probe {
                        ProbeKind::Icmp if p.contains("echo-reply") => Leg::Reply,
                        ProbeKind::Icmp => Leg::Request,
                        _ if p.contains(&format!("sport {sport} ")) => Leg::Request,
                        _ if p.contains("ether type arp") || p.contains("arp ") => Leg::Request,
                        _ => Leg::Reply,
                    };
                    legs.entry(t.id.clone()).or_insert(leg);
                }
                let leg = legs.get(&t.id).copied().unwrap_or(Leg::Request);
                out.push((leg, t));
            }
            out
        })
        .collect()
}

/// The path, walked with the kernel's answers.
struct Walk<'a> {
    snap: &'a Snapshot,
    lines: &'a Lines,
    nl: Vec<Option<Rtnl>>,
    links: HashMap<(usize, u32), net::link::Link>,
    steps: Vec<Step>,
    entered: Vec<bool>,
    /// The namespaces whose reply rules are listed already.
    entered_reply: Vec<bool>,
}

/// Where a bridge sends a frame.
enum Hop {
    Port(String),
    Local,
    Flood,
}

impl Walk<'_> {
    fn nl(&mut self, at: usize) -> Result<&mut Rtnl> {
        if self.nl[at].is_none() {
            self.nl[at] = Some(in_netns(&self.snap.ns[at].net, Rtnl::open)?);
        }
        self.nl[at].as_mut().ok_or_else(panicked)
    }

    fn link_by_index(&mut self, at: usize, index: u32) -> Result<Option<net::link::Link>> {
        if !self.links.contains_key(&(at, index)) {
            for l in net::link::list(self.nl(at)?)? {
                self.links.insert((at, l.index), l);
            }
        }
        Ok(self.links.get(&(at, index)).cloned())
    }

    fn link_by_name(&mut self, at: usize, name: &str) -> Result<Option<net::link::Link>> {
        if !self.links.keys().any(|k| k.0 == at) {
            self.link_by_index(at, 0)?;
        }
        Ok(self
            .links
            .iter()
            .find(|((n, _), l)| *n == at && l.name == name)
            .map(|(_, l)| l.clone()))
    }

    fn name(&mut self, at: usize, index: u32) -> Result<String> {
        Ok(self
            .link_by_index(at, index)?
            .map(|l| l.name)
            .unwrap_or_else(|| format!("if{index}")))
    }

    /// `ip neigh show NH dev OIF` in namespace `at` for route `r`'s next hop `nh`, as a step
    /// of `leg`; the MAC when it is resolved (not INCOMPLETE or FAILED).
    fn neighbour(
        &mut self,
        leg: Leg,
        at: usize,
        r: &net::route::RouteGet,
        nh: Ipv4Addr,
        dev: &str,
    ) -> Result<Option<[u8; 6]>> {
        let n = net::neigh::get(self.nl(at)?, r.oif.unwrap_or(0), nh)?;
        let mac = n
            .as_ref()
            .filter(|n| !matches!(n.state.as_str(), "INCOMPLETE" | "FAILED"))
            .and_then(|n| n.mac);
        self.push(
            leg,
            at,
            StepKind::Neighbour {
                addr: nh,
                dev: dev.to_string(),
                mac: mac.map(mac_text),
                state: n.map(|n| n.state).unwrap_or_else(|| "none".into()),
            },
        );
        Ok(mac)
    }

    fn push(&mut self, leg: Leg, at: usize, kind: StepKind) {
        self.steps.push(Step {
            leg,
            place: self.snap.ns[at].label.clone(),
            kind,
        });
    }

    /// The first time the request enters a namespace: the packet as it saw it, and the
    /// rules it met there.
    fn enter(&mut self, at: usize) {
        if std::mem::replace(&mut self.entered[at], true) {
            return;
        }
        if let Some(p) = self.lines[at].iter().find_map(|(l, t)| match &t.what {
            TraceWhat::Packet(p) if *l == Leg::Request && !p.contains("arp") => Some(p.clone()),
            _ => None,
        }) {
            self.push(Leg::Request, at, packet_step(&p));
        }
        for k in rules(&self.lines[at], Leg::Request) {
            self.push(Leg::Request, at, k);
        }
    }

    /// The first time leg `leg` enters namespace `at`: for the request, the packet and
    /// the rules ([`Walk::enter`]); for the reply, the rules it met there.
    fn enter_leg(&mut self, leg: Leg, at: usize) {
        match leg {
            Leg::Request => self.enter(at),
            Leg::Reply => {
                if std::mem::replace(&mut self.entered_reply[at], true) {
                    return;
                }
                for k in rules(&self.lines[at], Leg::Reply) {
                    self.push(Leg::Reply, at, k);
                }
            }
        }
    }

    /// The bridge `bridge` of namespace `at` forwarding a frame of leg `leg` for `mac`.
    fn bridge_hop(
        &mut self,
        leg: Leg,
        at: usize,
        bridge: u32,
        mac: [u8; 6],
        from: Option<String>,
    ) -> Result<Hop> {
        self.enter_leg(leg, at);
        let entries = net::neigh::fdb(self.nl(at)?, bridge, mac)?;
        let hop = if entries.iter().any(|e| e.permanent) {
            Hop::Local
        } else if let Some(e) = entries.iter().find(|e| e.master == Some(bridge)) {
            Hop::Port(self.name(at, e.ifindex)?)
        } else {
            Hop::Flood
        };
        let bname = self.name(at, bridge)?;
        let (port, decision) = match &hop {
            Hop::Port(p) => (Some(p.clone()), "fdb"),
            Hop::Local => (None, "local"),
            Hop::Flood => (None, "flood"),
        };
        self.push(
            leg,
            at,
            StepKind::Bridge {
                bridge: bname,
                mac: mac_text(mac),
                from_port: from,
                port,
                decision: decision.into(),
            },
        );
        Ok(hop)
    }

    /// A frame of leg `leg` for `mac` leaves namespace `at` by `dev`: across wires and
    /// bridges to the namespace whose IP stack takes it, if the FDB says where.
    fn follow(&mut self, leg: Leg, at: usize, dev: &str, mac: [u8; 6]) -> Result<Option<usize>> {
        let mut out = (at, dev.to_string());
        for _ in 0..8 {
            let link = self.link_by_name(out.0, &out.1)?;
            if let Some(l) = link
                .as_ref()
                .filter(|l| l.kind.as_deref() == Some("bridge"))
            {
                match self.bridge_hop(leg, out.0, l.index, mac, None)? {
                    Hop::Local => return Ok(Some(out.0)),
                    Hop::Port(p) => {
                        out = (out.0, p);
                        continue;
                    }
                    Hop::Flood => return Ok(None),
                }
            }
            let Some((pns, pdev)) = self.snap.peer(out.0, &out.1) else {
                return Ok(None);
            };
            let pl = self.link_by_name(pns, &pdev)?;
            match pl.and_then(|l| l.master) {
                Some(b) => match self.bridge_hop(leg, pns, b, mac, Some(pdev))? {
                    Hop::Local => return Ok(Some(pns)),
                    Hop::Port(p) => out = (pns, p),
                    Hop::Flood => return Ok(None),
                },
                None => return Ok(Some(pns)),
            }
        }
        Ok(None)
    }

    fn explain(
        &mut self,
        spec: &TraceSpec,
        outcome: Outcome,
        sport: u16,
        waited_ms: u64,
    ) -> Result<Trace> {
        let snap = self.snap;
        let (mut dst, mut port) = (snap.dst, snap.port);
        let mut at = snap.vantage;
        let mut arrived = None;
        let mut stop = None;
        self.enter(at);
        for _ in 0..12 {
            let r = match net::route::get(self.nl(at)?, dst) {
                Ok(r) => r,
                Err(e) => {
                    let error = match e.errno() {
                        Some(n) => nix::Error::from_raw(n).desc().to_string(),
                        None => e.to_string(),
                    };
                    self.push(Leg::Request, at, StepKind::NoRoute { dst, error });
                    stop = Some(Verdict::NoRoute {
                        dst,
                        place: snap.ns[at].label.clone(),
                    });
                    break;
                }
            };
            let dev = match r.oif {
                Some(i) => self.name(at, i)?,
                None => "-".into(),
            };
            self.push(Leg::Request, at, route_step(dst, &r, &dev));
            if r.local {
                if let Some((to, p)) = self.dnat(at)
                    && to != dst
                {
                    dst = to;
                    port = p.or(port);
                    continue;
                }
                arrived = Some(at);
                break;
            }
            let nh = r.gateway.unwrap_or(dst);
            let mac = self.neighbour(Leg::Request, at, &r, nh, &dev)?;
            let Some(mac) = mac else {
                stop = Some(Verdict::ArpUnanswered {
                    addr: nh,
                    place: snap.ns[at].label.clone(),
                });
                break;
            };
            match self.follow(Leg::Request, at, &dev, mac)? {
                // A rule dropped it on the way (a bridge's forward chain): it never got
                // there.
                Some(_) if self.drop_rule().is_some() => break,
                Some(next) => {
                    at = next;
                    self.enter(at);
                    if self.drop_rule().is_some() {
                        break;
                    }
                }
                None => break,
            }
        }
        // The rules of namespaces the walk did not reach (a flood, an unknown wire).
        for i in 0..snap.ns.len() {
            if !self.entered[i] && !self.lines[i].is_empty() {
                self.enter(i);
            }
        }
        let dest = |port: Option<u16>| match port {
            Some(p) => format!("{dst}:{p}"),
            None => dst.to_string(),
        };
        let mut listener = None;
        if let Some(a) = arrived {
            if let Some(p) = port {
                listener = find_listener(&snap.ns[a].net, spec.probe, dst, p)?;
                match &listener {
                    Some(l) => self.push(Leg::Request, a, l.step()),
                    None => self.push(
                        Leg::Request,
                        a,
                        StepKind::Refused {
                            why: format!("no socket bound to {}", dest(Some(p))),
                        },
                    ),
                }
            }
            // The vantage's own address: where the reply ends, once un-NATed.
            let vantage = snap.ns[snap.vantage].label.clone();
            let origin = self.steps.iter().find_map(|s| match &s.kind {
                StepKind::Route { src, .. } if s.place == vantage => *src,
                _ => None,
            });
            self.reply(a, dst, origin)?;
        }
        let dropped = self.drop_rule();
        let place = arrived
            .map(|a| snap.ns[a].label.clone())
            .unwrap_or_default();
        let verdict = match (stop, dropped) {
            (Some(v @ Verdict::NoRoute { .. }), _) => v,
            (_, Some(d)) => d,
            (Some(v), None) => v,
            (None, None) => match outcome {
                Outcome::Answered => delivered(place, listener, dest(port)),
                Outcome::Silent if spec.probe == ProbeKind::Udp && listener.is_some() => {
                    delivered(place, listener, dest(port))
                }
                Outcome::Refused => Verdict::Refused {
                    addr: dest(port),
                    why: match spec.probe {
                        ProbeKind::Udp => "ICMP port unreachable".into(),
                        _ => "connection refused".into(),
                    },
                },
                Outcome::Unreachable | Outcome::Silent => Verdict::NoAnswer {
                    addr: dest(port),
                    waited_ms,
                },
            },
        };
        let from_addr = self
            .steps
            .iter()
            .find_map(|s| match &s.kind {
                StepKind::Route { src: Some(a), .. } => Some(a.to_string()),
                _ => None,
            })
            .unwrap_or_else(|| "?".into());
        let probe = match spec.probe {
            ProbeKind::Icmp => format!("icmp echo {from_addr} -> {}", snap.dst),
            p => format!(
                "{p} {from_addr}:{sport} -> {}:{}",
                snap.dst,
                snap.port.unwrap_or(0)
            ),
        };
        Ok(Trace {
            probe,
            from: snap.ns[snap.vantage].label.clone(),
            steps: std::mem::take(&mut self.steps),
            verdict,
            elapsed_ms: 0,
        })
    }

    /// The reply, walked like the request with the kernel's answers: from where the
    /// request arrived, the route back (`ip route get SRC from LOCAL`, to its source as
    /// seen there, from the address it came to), the neighbour entry of its next hop and
    /// each bridge's FDB choice for that MAC, namespace by namespace, until it is local to
    /// the vantage. A namespace that masqueraded the request un-NATs the reply before
    /// routing it (conntrack, in prerouting): there the reply's destination becomes the
    /// vantage's own address `origin` again. The rules each namespace's reply met come
    /// with it; those of namespaces the walk did not reach follow at the end.
    fn reply(&mut self, arrived: usize, local: Ipv4Addr, origin: Option<Ipv4Addr>) -> Result<()> {
        let seen_src = self.lines[arrived].iter().find_map(|(l, t)| match &t.what {
            TraceWhat::Packet(p) if *l == Leg::Request => {
                field(p, "ip saddr").and_then(|a| a.parse::<Ipv4Addr>().ok())
            }
            _ => None,
        });
        self.enter_leg(Leg::Reply, arrived);
        if let Some(mut dst) = seen_src {
            let mut at = arrived;
            let mut from = Some(local);
            for _ in 0..12 {
                let Ok(r) = net::route::get_from(self.nl(at)?, dst, from) else {
                    break;
                };
                if r.local
                    && at != self.snap.vantage
                    && let Some(o) = origin.filter(|o| *o != dst)
                {
                    // Un-NAT before routing: the lookup the kernel makes is for `o`.
                    dst = o;
                    from = None;
                    continue;
                }
                let dev = match r.oif {
                    Some(i) => self.name(at, i)?,
                    None => "-".into(),
                };
                self.push(Leg::Reply, at, route_step(dst, &r, &dev));
                if r.local {
                    break;
                }
                let nh = r.gateway.unwrap_or(dst);
                let mac = self.neighbour(Leg::Reply, at, &r, nh, &dev)?;
                let Some(mac) = mac else { break };
                match self.follow(Leg::Reply, at, &dev, mac)? {
                    Some(next) if next != at => {
                        at = next;
                        from = None;
                        self.enter_leg(Leg::Reply, at);
                    }
                    _ => break,
                }
            }
        }
        let mut order: Vec<usize> = vec![arrived];
        order.extend((0..self.snap.ns.len()).rev().filter(|i| *i != arrived));
        for i in order {
            self.enter_leg(Leg::Reply, i);
        }
        Ok(())
    }

    /// A DNAT rule the request met in namespace `at`: where it sent the packet.
    fn dnat(&self, at: usize) -> Option<(Ipv4Addr, Option<u16>)> {
        self.lines[at].iter().find_map(|(l, t)| match &t.what {
            TraceWhat::Rule { text, .. } if *l == Leg::Request => dnat_target(text),
            _ => None,
        })
    }

    /// The first rule (not netlab's trace rules) that dropped a packet of the flow.
    fn drop_rule(&self) -> Option<Verdict> {
        self.lines
            .iter()
            .flatten()
            .find_map(|(_, t)| match &t.what {
                TraceWhat::Rule {
                    text,
                    handle,
                    verdict,
                } if t.table != tables::TABLE && verdict == "drop" => Some(Verdict::Dropped {
                    by: match (t.table.as_str(), comment(text)) {
                        (crate::firewall::partition::TABLE, Some(c)) => format!("partition {c}"),
                        (_, Some(c)) => format!("rule {c:?}"),
                        _ => "rule".into(),
                    },
                    table: format!("{} {}", t.family, t.table),
                    chain: t.chain.clone(),
                    handle: *handle,
                }),
                TraceWhat::Policy(v) if t.table != tables::TABLE && v == "drop" => {
                    Some(Verdict::Dropped {
                        by: "the chain's policy".into(),
                        table: format!("{} {}", t.family, t.table),
                        chain: t.chain.clone(),
                        handle: None,
                    })
                }
                _ => None,
            })
    }
}

fn delivered(place: String, listener: Option<Listener>, addr: String) -> Verdict {
    match listener {
        Some(l) => Verdict::Delivered {
            place,
            addr,
            process: l.process,
            pid: l.pid,
        },
        None => Verdict::Delivered {
            place,
            addr,
            process: None,
            pid: None,
        },
    }
}

fn route_step(dst: Ipv4Addr, r: &net::route::RouteGet, dev: &str) -> StepKind {
    let table = match r.table {
        254 => "main".to_string(),
        255 => "local".to_string(),
        253 => "default".to_string(),
        n => n.to_string(),
    };
    let route = if r.local {
        format!("local {dst}")
    } else if r.prefix.1 == 0 {
        match r.gateway {
            Some(g) => format!("default via {g}"),
            None => "default".into(),
        }
    } else {
        let p = format!("{}/{}", r.prefix.0, r.prefix.1);
        match r.gateway {
            Some(g) => format!("{p} via {g}"),
            None => p,
        }
    };
    StepKind::Route {
        dst,
        table,
        route,
        dev: dev.into(),
        gateway: r.gateway,
        src: r.src,
        local: r.local,
    }
}

fn packet_step(p: &str) -> StepKind {
    let port = |k: &str| {
        ["tcp", "udp"]
            .iter()
            .find_map(|pr| field(p, &format!("{pr} {k}")))
            .map(|v| format!(":{v}"))
            .unwrap_or_default()
    };
    StepKind::Packet {
        src: format!("{}{}", field(p, "ip saddr").unwrap_or("?"), port("sport")),
        dst: format!("{}{}", field(p, "ip daddr").unwrap_or("?"), port("dport")),
        dev: field(p, "iif")
            .map(|d| format!("in {d}"))
            .or_else(|| field(p, "oif").map(|d| format!("out {d}"))),
    }
}

/// The rules of one leg in one namespace, in order, each once (later packets of the same
/// flow meet the same filter rules again), without netlab's own trace rules.
fn rules(lines: &[(Leg, TraceLine)], leg: Leg) -> Vec<StepKind> {
    let mut seen = std::collections::HashSet::new();
    let mut out = vec![];
    for (l, t) in lines {
        if *l != leg || t.table == tables::TABLE {
            continue;
        }
        let TraceWhat::Rule {
            text,
            handle,
            verdict,
        } = &t.what
        else {
            continue;
        };
        if !seen.insert((t.family.clone(), t.table.clone(), t.chain.clone(), *handle)) {
            continue;
        }
        let translation = if let Some((a, p)) = dnat_target(text) {
            Some(match p {
                Some(p) => format!("destination becomes {a}:{p}"),
                None => format!("destination becomes {a}"),
            })
        } else if text.contains("masquerade") {
            Some("source becomes the output interface's address".into())
        } else if text.contains("snat") {
            Some("source rewritten".into())
        } else {
            None
        };
        out.push(StepKind::Rule {
            family: t.family.clone(),
            table: t.table.clone(),
            chain: t.chain.clone(),
            handle: *handle,
            text: text.clone(),
            verdict: verdict.clone(),
            translation,
        });
    }
    out
}

/// A socket found bound to the probe's port, and its process.
struct Listener {
    addr: String,
    process: Option<String>,
    pid: Option<i32>,
}

impl Listener {
    fn step(&self) -> StepKind {
        StepKind::Listener {
            addr: self.addr.clone(),
            process: self.process.clone(),
            pid: self.pid,
        }
    }
}

/// The socket listening on (or, for UDP, bound to) `dst:port` in a namespace, from
/// `/proc/thread-self/net/{tcp,tcp6,udp,udp6}` read by a thread in it, and its process from
/// the socket inodes in `/proc/*/fd` (the lab's own `/proc`: PIDs as the lab sees them).
fn find_listener(
    net: &OwnedFd,
    probe: ProbeKind,
    dst: Ipv4Addr,
    port: u16,
) -> Result<Option<Listener>> {
    let (files, state) = match probe {
        ProbeKind::Udp => (["udp", "udp6"], "07"),
        _ => (["tcp", "tcp6"], "0A"),
    };
    let found = in_netns(net, || {
        for f in files {
            let text =
                std::fs::read_to_string(format!("/proc/thread-self/net/{f}")).unwrap_or_default();
            for line in text.lines().skip(1) {
                let c: Vec<&str> = line.split_whitespace().collect();
                if c.len() < 10 || c[3] != state {
                    continue;
                }
                let Some((a, p)) = c[1].split_once(':') else {
                    continue;
                };
                if u16::from_str_radix(p, 16).ok() != Some(port) {
                    continue;
                }
                let Some(addr) = proc_addr(a) else { continue };
                let ok = match addr {
                    std::net::IpAddr::V4(v) => v.is_unspecified() || v == dst,
                    std::net::IpAddr::V6(v) => {
                        v.is_unspecified() || v.to_ipv4_mapped() == Some(dst)
                    }
                };
                if ok {
                    let shown = match addr {
                        std::net::IpAddr::V4(v) => format!("{v}:{port}"),
                        std::net::IpAddr::V6(v) => format!("[{v}]:{port}"),
                    };
                    return Ok(Some((shown, c[9].to_string())));
                }
            }
        }
        Ok(None)
    })?;
    let Some((addr, inode)) = found else {
        return Ok(None);
    };
    let want = format!("socket:[{inode}]");
    let mut owner = None;
    if let Ok(dir) = std::fs::read_dir("/proc") {
        'procs: for e in dir.flatten() {
            let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            let Ok(fds) = std::fs::read_dir(e.path().join("fd")) else {
                continue;
            };
            for fd in fds.flatten() {
                if std::fs::read_link(fd.path()).is_ok_and(|l| l.as_os_str() == want.as_str()) {
                    let comm = std::fs::read_to_string(e.path().join("comm"))
                        .map(|c| c.trim().to_string())
                        .ok();
                    owner = Some((comm, pid));
                    break 'procs;
                }
            }
        }
    }
    Ok(Some(Listener {
        addr,
        process: owner.as_ref().and_then(|o| o.0.clone()),
        pid: owner.map(|o| o.1),
    }))
}

/// An address of `/proc/net/tcp`: the bytes in memory order, printed as native words.
fn proc_addr(hex: &str) -> Option<std::net::IpAddr> {
    match hex.len() {
        8 => {
            let v = u32::from_str_radix(hex, 16).ok()?;
            Some(Ipv4Addr::from(v.to_ne_bytes()).into())
        }
        32 => {
            let mut b = [0u8; 16];
            for i in 0..4 {
                let w = u32::from_str_radix(&hex[i * 8..i * 8 + 8], 16).ok()?;
                b[i * 4..i * 4 + 4].copy_from_slice(&w.to_ne_bytes());
            }
            Some(std::net::Ipv6Addr::from(b).into())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observed_flows() {
        let lines: Vec<String> = [
            "trace id 1 inet netlab_trace out packet: oif \"eth0\" ip saddr 10.0.0.2 ip daddr 10.0.0.9 tcp sport 4000 tcp dport 80 tcp flags == syn ",
            "trace id 2 inet netlab_trace out packet: oif \"eth0\" ip saddr 10.0.0.2 ip daddr 10.0.0.3 tcp sport 4001 tcp dport 80 tcp flags == syn ",
            "trace id 3 inet netlab_trace pre packet: iif \"eth0\" ip saddr 10.0.0.3 ip daddr 10.0.0.2 tcp sport 80 tcp dport 4001 tcp flags == syn | ack tcp window 65160 ",
            "trace id 4 inet netlab_trace pre packet: iif \"eth0\" ip saddr 10.0.0.3 ip daddr 10.0.0.2 tcp sport 80 tcp dport 4002 tcp flags == 0x14 tcp window 0 ",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let dst: Ipv4Addr = [10, 0, 0, 3].into();
        assert_eq!(first_flow(&lines, "tcp", dst, 80, None), Some(4001));
        assert_eq!(first_flow(&lines, "tcp", dst, 80, Some(4001)), Some(4001));
        assert_eq!(first_flow(&lines, "tcp", dst, 80, Some(5)), None);
        assert_eq!(first_flow(&lines, "udp", dst, 80, None), None);
        assert_eq!(first_flow(&lines, "tcp", dst, 81, None), None);
        assert_eq!(flow_answer(&lines, "tcp", 4001), Some(Answer::Reply));
        assert_eq!(flow_answer(&lines, "tcp", 4002), Some(Answer::Reset));
        assert_eq!(flow_answer(&lines, "tcp", 4000), None);
        assert!(tcp_reset("tcp flags == rst | ack tcp window 0"));
        assert!(!tcp_reset("tcp flags == syn | ack tcp window 0"));
        assert!(!tcp_reset("udp sport 5"));
        // Other flows to the port are left out of an observed flow's lines.
        let tagged = tag_lines(&[lines], ProbeKind::Tcp, 4001, true);
        let ids: Vec<&str> = tagged[0].iter().map(|(_, t)| t.id.as_str()).collect();
        assert_eq!(ids, ["2", "3"]);
        assert_eq!(tagged[0][1].0, Leg::Reply);
    }

    #[test]
    fn proc_net_addresses() {
        if cfg!(target_endian = "little") {
            assert_eq!(
                proc_addr("0100007F"),
                Some(Ipv4Addr::new(127, 0, 0, 1).into())
            );
            assert_eq!(
                proc_addr("0000000000000000FFFF00000300A8C0"),
                Some(std::net::IpAddr::V6(
                    Ipv4Addr::new(192, 168, 0, 3).to_ipv6_mapped()
                ))
            );
        }
    }
}
