//! Benchmark of issue 3: bring-up and teardown of a lab with N containers, against the same
//! topology built with `ip` commands the way shell tools (pipework) do it.
//!
//! Run with `cargo bench -p netlab --bench lab_bringup` (as root, or as a user allowed to
//! create user namespaces). It prints a table; it is not a pass/fail test, but it says for
//! each target of the issue whether it was met. Knobs (environment):
//! `NETLAB_BENCH_CLIENTS` (concurrent clients, default 4), `NETLAB_BENCH_SIZES` (default `1,10,50,200,1000`), `NETLAB_BENCH_REPS` (netlab rounds per
//! size, default 3; the median is shown), `NETLAB_BENCH_IP_REPS` (default 1; 0 skips the
//! baseline, e.g. to profile netlab alone under `strace -f -c`).
//!
//! What is measured:
//! - netlab: `Lab::create` (the lab host: namespaces, bridge), bring-up = first `run` to
//!   last `run` of containers running `sleep`, each with its own namespaces, veth, address,
//!   route, hosts file and process; teardown = `Lab::down` until it returns, then until the
//!   supervisor process is gone, and (as root) until the kernel has begun dismantling every
//!   one of the lab's network namespaces, observed as `RTM_DELNSID` events (see
//!   [`NsidWatch`]).
//! - `ip` baseline: per container `ip netns add`, `ip link add … type veth peer …`, `ip
//!   link set … master/up/netns`, and `ip netns exec` for rename, address, up and route,
//!   as pipework does; teardown `ip link del` and `ip netns del` per container. It runs
//!   inside `unshare --net --mount` (plus `--user --map-root-user` when not root) with a
//!   private tmpfs on `/run`, so no link, route or `/run/netns` entry ever appears on the
//!   real machine; the bench checks that before and after.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use netlab::{CommandSpec, ContainerSpec, Lab, LabSpec, Target};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::nsid::{NsidAttribute, NsidMessage};
use rtnetlink::packet_core::{
    NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, NetlinkMessage, NetlinkPayload,
};
use rtnetlink::sys::{Socket, protocols::NETLINK_ROUTE};

/// The targets: issue 3's at N = 200 (bring-up, speed-up over `ip`, teardown) and the
/// renovation issue's at N = 1000 (bring-up on one bridge).
struct Goal {
    n: usize,
    ms_per_container: f64,
    speedup: Option<f64>,
    teardown: Option<Duration>,
}

const GOALS: [Goal; 2] = [
    Goal {
        n: 200,
        ms_per_container: 3.0,
        speedup: Some(10.0),
        teardown: Some(Duration::from_millis(500)),
    },
    Goal {
        n: 1000,
        ms_per_container: 2.5,
        speedup: None,
        teardown: None,
    },
];

/// How long any single wait of the bench (a lab's end, the kernel's cleanup) may take.
const DEADLINE: Duration = Duration::from_secs(30);

fn main() {
    let sizes = env_list("NETLAB_BENCH_SIZES", &[1, 10, 50, 200, 1000]);
    let reps = env_list("NETLAB_BENCH_REPS", &[3])[0].max(1);
    let ip_reps = env_list("NETLAB_BENCH_IP_REPS", &[1])[0];
    let root = nix::unistd::getuid().is_root();
    println!(
        "netlab lab bring-up benchmark: {} as {}, sizes {sizes:?}, {reps} netlab rounds, {ip_reps} ip rounds",
        netlab::netlab_bin()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|e| fail(&format!("no netlab binary: {e}"))),
        if root { "root" } else { "an unprivileged user" },
    );
    let load = loadavg();
    let machine = MachineNet::capture();

    let mut watch = match NsidWatch::new() {
        Ok(w) => Some(w),
        Err(e) => {
            println!("(kernel teardown not observed: {e}; it needs root)");
            None
        }
    };
    let mut rows = Vec::new();
    for &n in &sizes {
        let mut rounds: Vec<NetlabRound> = (0..reps)
            .map(|r| netlab_round(n, r, watch.as_mut()))
            .collect();
        let ip: Vec<IpRound> = (0..ip_reps).map(|_| ip_round(n)).collect();
        let ip = (!ip.is_empty()).then(|| median_ip(ip));
        rounds.sort_by_key(|r| r.bring_up);
        let netlab = rounds.swap_remove(rounds.len() / 2);
        rows.push((n, netlab, ip));
        machine.assert_unchanged();
    }
    print_table(&rows);
    println!("\nload average before: {load}, after: {}", loadavg());
}

/// The machine's load average: wall-clock figures mean little when other work competes
/// for the CPUs, which is why the table also shows CPU time.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn fail(msg: &str) -> ! {
    eprintln!("lab_bringup: {msg}");
    std::process::exit(1)
}

fn env_list(var: &str, default: &[usize]) -> Vec<usize> {
    match std::env::var(var) {
        Ok(v) => v
            .split(',')
            .map(|x| {
                x.trim()
                    .parse()
                    .unwrap_or_else(|_| fail(&format!("{var}: {x:?} is not a number")))
            })
            .collect(),
        Err(_) => default.to_vec(),
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

// ---------------------------------------------------------------------------------------
// netlab

#[derive(Debug)]
struct NetlabRound {
    create: Duration,
    bring_up: Duration,
    /// CPU time the bring-up cost: the supervisor, the containers' start, this client.
    cpu: Duration,
    /// `Lab::down` until it returned.
    down: Duration,
    /// From the start of `down` until the supervisor process no longer exists.
    gone: Duration,
    /// From the start of `down` until the kernel began dismantling every namespace.
    kernel: Option<Duration>,
    /// The supervisor's resident memory with the containers, less that of the empty lab.
    rss_growth_kib: u64,
}

fn sleeper(name: &str) -> ContainerSpec {
    ContainerSpec::new(name, CommandSpec::Exec(vec!["sleep".into(), "1000".into()]))
}

fn netlab_round(n: usize, rep: usize, watch: Option<&mut NsidWatch>) -> NetlabRound {
    let name = format!("bench{}-{n}-{rep}", std::process::id());
    let t = Instant::now();
    let lab = Lab::create(&LabSpec::new(&name)).unwrap_or_else(|e| fail(&format!("{e}")));
    let create = t.elapsed();
    let sup = lab.supervisor_pid();
    let rss_empty = rss_kib(sup);

    let cpu_before = cpu_time(sup) + cpu_time(std::process::id() as i32);
    let t = Instant::now();
    // Several clients at once, as a harness that starts containers from several threads
    // does; the supervisor builds containers outside its lock (NETLAB_BENCH_CLIENTS; 1
    // measures one container after the other, as `netlab up` starts them).
    let clients: usize = std::env::var("NETLAB_BENCH_CLIENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4)
        .max(1);
    let last = std::thread::scope(|s| {
        let lab = &lab;
        let hs: Vec<_> = (0..clients.min(n))
            .map(|k| {
                s.spawn(move || {
                    let mut last = None;
                    for i in (k..n).step_by(clients) {
                        let c = lab
                            .run(&sleeper(&format!("c{i}")))
                            .unwrap_or_else(|e| fail(&format!("run c{i}: {e}")));
                        last = Some(c);
                    }
                    last
                })
            })
            .collect();
        hs.into_iter()
            .filter_map(|h| h.join().unwrap_or(None))
            .last()
    });
    let bring_up = t.elapsed();
    let cpu_after = cpu_time(sup) + cpu_time(std::process::id() as i32);
    let rss_growth_kib = rss_kib(sup).saturating_sub(rss_empty);

    // Not timed: the lab is what it claims to be.
    let running = lab.ps(false).unwrap_or_else(|e| fail(&format!("ps: {e}")));
    if running.len() != n {
        fail(&format!("{} of {n} containers are running", running.len()));
    }
    if let Some(c) = &last {
        let ip = c.ip.to_string();
        let out = lab
            .exec(&Target::Host, &["ping", "-c1", "-W2", &ip])
            .unwrap_or_else(|e| fail(&format!("ping: {e}")));
        if out.code != 0 {
            fail(&format!("the lab host cannot ping {ip}: {out:?}"));
        }
    }
    let pids = lab_pids(sup);
    let outer: Vec<i32> = running
        .iter()
        .map(|c| {
            *pids
                .get(&c.pid)
                .unwrap_or_else(|| fail(&format!("no process for container {}", c.name)))
        })
        .collect();
    // The containers' own start-up (the child side of fork, exec, the loader) is part of
    // the bring-up's work, as the `ip` processes' is part of the baseline's.
    let cpu =
        cpu_after.saturating_sub(cpu_before) + outer.iter().map(|&p| cpu_time(p)).sum::<Duration>();

    let sup_start = start_time(sup);
    let mut watched = Vec::new();
    let mut watch = watch;
    if let Some(w) = watch.as_deref_mut() {
        for p in std::iter::once(sup).chain(outer.iter().copied()) {
            let id = w
                .watch(&format!("/proc/{p}/ns/net"))
                .unwrap_or_else(|e| fail(&format!("watching the namespace of {p}: {e}")));
            watched.push(id);
        }
    }

    let t = Instant::now();
    lab.down().unwrap_or_else(|e| fail(&format!("down: {e}")));
    let down = t.elapsed();
    poll("the supervisor to end", || start_time(sup) != sup_start);
    let gone = t.elapsed();
    let kernel = watch.map(|w| {
        w.wait_deleted(&watched)
            .unwrap_or_else(|e| fail(&format!("waiting for the kernel: {e}")));
        t.elapsed()
    });
    NetlabRound {
        create,
        bring_up,
        cpu,
        down,
        gone,
        kernel,
        rss_growth_kib,
    }
}

/// The process's resident memory (VmRSS) in KiB; 0 when it cannot be read.
fn rss_kib(pid: i32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

/// Fields of `/proc/PID/stat` after the command name: `f[0]` is field 3 (state).
fn stat_fields(pid: i32) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    Some(rest.split_whitespace().map(str::to_string).collect())
}

/// User plus system CPU time of a process, all its threads (dead ones included).
fn cpu_time(pid: i32) -> Duration {
    let ticks = stat_fields(pid)
        .map(|f| {
            let field = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
            field(11) + field(12)
        })
        .unwrap_or(0);
    let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .map_or(100, |v| v.max(1) as u64);
    Duration::from_micros(ticks * 1_000_000 / hz)
}

/// The lab's processes: PID inside the lab → PID here, from one pass over /proc.
fn lab_pids(sup: i32) -> std::collections::HashMap<i32, i32> {
    let ns = std::fs::read_link(format!("/proc/{sup}/ns/pid")).ok();
    let mut map = std::collections::HashMap::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if std::fs::read_link(format!("/proc/{pid}/ns/pid")).ok() != ns {
            continue;
        }
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let inner = status
            .lines()
            .find_map(|l| l.strip_prefix("NSpid:"))
            .and_then(|l| l.split_whitespace().last()?.parse().ok());
        if let Some(inner) = inner {
            map.insert(inner, pid);
        }
    }
    map
}

/// The process's start time, or `None` once it is gone (or a zombie, which holds nothing).
fn start_time(pid: i32) -> Option<u64> {
    let f = stat_fields(pid)?;
    (f.first().map(String::as_str) != Some("Z")).then(|| f.get(19)?.parse().ok())?
}

/// Polls a real condition (never a guessed sleep); gives up after [`DEADLINE`].
fn poll(what: &str, mut cond: impl FnMut() -> bool) {
    let end = Instant::now() + DEADLINE;
    while !cond() {
        if Instant::now() > end {
            fail(&format!("timed out waiting for {what}"));
        }
        std::thread::sleep(Duration::from_micros(200));
    }
}

// ---------------------------------------------------------------------------------------
// Observing the kernel's namespace teardown

/// A route-netlink socket in a private, empty network namespace of the bench's own, in
/// which each namespace to watch gets an id (`ip netns set`'s RTM_NEWNSID, by fd). The id
/// holds no reference, so it does not keep the namespace alive; when the kernel's
/// `cleanup_net` starts dismantling a namespace it removes the id and sends RTM_DELNSID,
/// which the socket receives. Done in a namespace of its own so that nothing is recorded
/// in the real machine's namespace; needs root (CAP_NET_ADMIN there and a new namespace).
struct NsidWatch {
    sock: Socket,
    next_id: i32,
    deleted: std::collections::BTreeSet<i32>,
}

/// The rtnetlink multicast group of namespace id events.
const RTNLGRP_NSID: u32 = 28;

impl NsidWatch {
    fn new() -> io::Result<NsidWatch> {
        // A thread of its own enters the new namespace (and ends); the socket stays in it.
        let sock = std::thread::spawn(|| -> io::Result<Socket> {
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).map_err(io::Error::from)?;
            let mut s = Socket::new(NETLINK_ROUTE)?;
            s.bind_auto()?;
            s.add_membership(RTNLGRP_NSID)?;
            // The teardown of a big lab sends one RTM_DELNSID per namespace in a burst;
            // the default buffer (about 200 events) overflows with ENOBUFS at N = 1000.
            // A large buffer avoids most overflows, and `resync` recovers from the rest.
            nix::sys::socket::setsockopt(&s, nix::sys::socket::sockopt::RcvBufForce, &(64 << 20))
                .map_err(io::Error::from)?;
            // So that waiting for an event that never comes still sees its deadline.
            let tick = nix::sys::time::TimeVal::new(0, 100_000);
            nix::sys::socket::setsockopt(&s, nix::sys::socket::sockopt::ReceiveTimeout, &tick)
                .map_err(io::Error::from)?;
            Ok(s)
        })
        .join()
        .map_err(|_| io::Error::other("observer thread panicked"))??;
        Ok(NsidWatch {
            sock,
            next_id: 0,
            deleted: Default::default(),
        })
    }

    /// Gives the network namespace at `path` (`/proc/PID/ns/net`) an id; returns it.
    fn watch(&mut self, path: &str) -> io::Result<i32> {
        let ns = File::open(path)?;
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = NsidMessage::default();
        msg.attributes = vec![
            NsidAttribute::Fd(ns.as_raw_fd() as u32),
            NsidAttribute::Id(id),
        ];
        let mut req = NetlinkMessage::from(RouteNetlinkMessage::NewNsId(msg));
        req.header.flags = NLM_F_REQUEST | NLM_F_ACK;
        req.header.sequence_number = id as u32;
        req.finalize();
        let mut buf = vec![0; req.buffer_len()];
        req.serialize(&mut buf);
        self.sock.send(&buf, 0)?;
        loop {
            for m in self.recv()? {
                if let NetlinkPayload::Error(e) = m.payload
                    && m.header.sequence_number == id as u32
                {
                    return match e.code {
                        None => Ok(id),
                        Some(code) => Err(io::Error::from_raw_os_error(-code.get())),
                    };
                }
            }
        }
    }

    /// Waits until RTM_DELNSID came for every id in `ids`.
    fn wait_deleted(&mut self, ids: &[i32]) -> io::Result<()> {
        let end = Instant::now() + DEADLINE;
        while !ids.iter().all(|id| self.deleted.contains(id)) {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::Error::other(format!(
                    "{} of {} namespaces still not dismantled after {DEADLINE:?}",
                    ids.iter().filter(|id| !self.deleted.contains(id)).count(),
                    ids.len()
                )));
            }
            match self.recv() {
                // The receive timeout passed: look at the deadline again.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                // Events were lost: ask the kernel which ids are left instead.
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => self.resync(ids)?,
                Err(e) => return Err(e),
                Ok(_) => {}
            }
        }
        Ok(())
    }

    /// After an overflow: dumps the ids the kernel still has (RTM_GETNSID with
    /// NLM_F_DUMP, `ip netns list-id`) and counts every watched id not among them as
    /// dismantled, which is what its missing RTM_DELNSID would have said.
    fn resync(&mut self, ids: &[i32]) -> io::Result<()> {
        const SEQ: u32 = u32::MAX;
        let mut req = NetlinkMessage::from(RouteNetlinkMessage::GetNsId(NsidMessage::default()));
        req.header.flags = NLM_F_REQUEST | NLM_F_DUMP;
        req.header.sequence_number = SEQ;
        req.finalize();
        let mut buf = vec![0; req.buffer_len()];
        req.serialize(&mut buf);
        self.sock.send(&buf, 0)?;
        let mut alive = std::collections::BTreeSet::new();
        'dump: loop {
            let msgs = match self.recv() {
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => continue,
                other => other?,
            };
            for m in msgs {
                if m.header.sequence_number != SEQ {
                    continue;
                }
                match m.payload {
                    NetlinkPayload::Done(_) => break 'dump,
                    NetlinkPayload::Error(e) => {
                        return Err(io::Error::other(format!("dumping namespace ids: {e:?}")));
                    }
                    NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewNsId(n)) => {
                        for a in &n.attributes {
                            if let NsidAttribute::Id(id) = a {
                                alive.insert(*id);
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        self.deleted
            .extend(ids.iter().filter(|id| !alive.contains(id)).copied());
        Ok(())
    }

    /// Reads one datagram; notes every RTM_DELNSID in it and returns all its messages.
    fn recv(&mut self) -> io::Result<Vec<NetlinkMessage<RouteNetlinkMessage>>> {
        let mut buf = Vec::with_capacity(1 << 16);
        self.sock.recv(&mut buf, 0)?;
        let mut out = Vec::new();
        let mut off = 0;
        while off + 16 <= buf.len() {
            let m = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&buf[off..])
                .map_err(|e| io::Error::other(format!("netlink: {e}")))?;
            let len = m.header.length as usize;
            if let NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelNsId(d)) = &m.payload {
                for a in &d.attributes {
                    if let NsidAttribute::Id(id) = a {
                        self.deleted.insert(*id);
                    }
                }
            }
            out.push(m);
            if len == 0 {
                break;
            }
            off += len.next_multiple_of(4);
        }
        Ok(out)
    }
}

// ---------------------------------------------------------------------------------------
// The `ip` baseline

#[derive(Debug)]
struct IpRound {
    bring_up: Duration,
    /// CPU time of the bring-up: the shell and every `ip` it ran.
    cpu: Duration,
    teardown: Duration,
}

/// pipework's recipe for N containers on a bridge, run in a throwaway namespace.
const IP_SCRIPT: &str = r#"
set -eu
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
n=$1
mount --make-rprivate /
mount -t tmpfs netlab-bench /run
mkdir /run/netns
ip link set lo up
ip link add docker0 type bridge
ip addr add 172.17.0.1/16 dev docker0
ip link set docker0 up
t0=$(date +%s%N)
times >/run/times0
i=0
while [ "$i" -lt "$n" ]; do
  k=$((i + 2))
  ip netns add "c$i"
  ip netns exec "c$i" ip link set lo up
  ip link add "veth$i" type veth peer name "vethp$i"
  ip link set "veth$i" master docker0
  ip link set "veth$i" up
  ip link set "vethp$i" netns "c$i"
  ip netns exec "c$i" ip link set "vethp$i" name eth0
  ip netns exec "c$i" ip addr add "172.17.$((k / 256)).$((k % 256))/16" dev eth0
  ip netns exec "c$i" ip link set eth0 up
  ip netns exec "c$i" ip route add default via 172.17.0.1
  i=$((i + 1))
done
times >/run/times1
t1=$(date +%s%N)
ports=$(ip -o link show master docker0 | wc -l)
spaces=$(ip netns list | wc -l)
k=$((n + 1))
if ping -c1 -W2 "172.17.$((k / 256)).$((k % 256))" >/dev/null; then reach=yes; else reach=no; fi
t2=$(date +%s%N)
i=0
while [ "$i" -lt "$n" ]; do
  ip link del "veth$i"
  ip netns del "c$i"
  i=$((i + 1))
done
t3=$(date +%s%N)
echo "result $t0 $t1 $t2 $t3 $ports $spaces $reach $(cat /run/times0 /run/times1 | tr '\n' ' ')"
"#;

fn ip_round(n: usize) -> IpRound {
    let mut cmd = Command::new(system_tool("unshare"));
    if !nix::unistd::getuid().is_root() {
        cmd.args(["--user", "--map-root-user"]);
    }
    let out = cmd
        .args(["--net", "--mount", "--propagation", "private", "--"])
        .args(["/bin/sh", "-c", IP_SCRIPT, "sh", &n.to_string()])
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| fail(&format!("unshare: {e}")));
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find_map(|l| l.strip_prefix("result "));
    let (Some(line), true) = (line, out.status.success()) else {
        fail(&format!(
            "the ip baseline failed ({}): {}{}",
            out.status,
            text,
            String::from_utf8_lossy(&out.stderr)
        ))
    };
    let f: Vec<&str> = line.split_whitespace().collect();
    let ns = |i: usize| -> u64 { f[i].parse().unwrap_or_else(|_| fail("bad timestamp")) };
    let (ports, spaces, reach) = (f[4], f[5], f[6]);
    if ports != n.to_string() || spaces != n.to_string() || reach != "yes" {
        fail(&format!(
            "the ip baseline built {ports} bridge ports and {spaces} namespaces for {n}, ping: {reach}"
        ));
    }
    // `times`: the shell's user and system time, then its children's, at t0 and at t1.
    let cpu_at = |i: usize| -> Duration { (i..i + 4).map(|j| shell_time(f.get(j).copied())).sum() };
    IpRound {
        cpu: cpu_at(11).saturating_sub(cpu_at(7)),
        bring_up: Duration::from_nanos(ns(1) - ns(0)),
        teardown: Duration::from_nanos(ns(3) - ns(2)),
    }
}

/// A time as the shell's `times` prints it: `1m2.345000s`.
fn shell_time(t: Option<&str>) -> Duration {
    let parse = || -> Option<Duration> {
        let (m, s) = t?.strip_suffix('s')?.split_once('m')?;
        Some(Duration::from_secs_f64(
            m.parse::<f64>().ok()? * 60.0 + s.parse::<f64>().ok()?,
        ))
    };
    parse().unwrap_or_else(|| fail(&format!("cannot read the shell's `times`: {t:?}")))
}

fn median_ip(mut v: Vec<IpRound>) -> IpRound {
    v.sort_by_key(|r| r.bring_up);
    v.swap_remove(v.len() / 2)
}

fn system_tool(name: &str) -> PathBuf {
    ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| fail(&format!("the bench needs `{name}`")))
}

/// What the bench must never change: the real machine's links, `/run/netns` and mounts.
struct MachineNet(Vec<String>);

impl MachineNet {
    fn capture() -> MachineNet {
        let run = |args: &[&str]| {
            let out = Command::new(system_tool("ip"))
                .args(args)
                .output()
                .unwrap_or_else(|e| fail(&format!("ip: {e}")));
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr)
        };
        let mut lines: Vec<String> = run(&["-o", "link"])
            .lines()
            .chain(run(&["netns"]).lines())
            .map(str::to_string)
            .collect();
        lines.extend(
            std::fs::read_to_string("/proc/self/mounts")
                .unwrap_or_default()
                .lines()
                .map(str::to_string),
        );
        lines.sort();
        MachineNet(lines)
    }

    fn assert_unchanged(&self) {
        let now = MachineNet::capture();
        if now.0 != self.0 {
            let new: Vec<&String> = now.0.iter().filter(|l| !self.0.contains(l)).collect();
            let gone: Vec<&String> = self.0.iter().filter(|l| !now.0.contains(l)).collect();
            fail(&format!(
                "the real machine's network or mounts changed during the bench!\nnew: {new:#?}\ngone: {gone:#?}"
            ));
        }
    }
}

// ---------------------------------------------------------------------------------------
// Report

fn print_table(rows: &[(usize, NetlabRound, Option<IpRound>)]) {
    println!();
    println!(
        "{:>5} | {:>7} {:>9} {:>7} {:>7} {:>7} | {:>7} {:>7} {:>7} | {:>9} {:>7} {:>7} {:>9} | {:>7} {:>7}",
        "N",
        "lab",
        "up",
        "up/c",
        "cpu/c",
        "rss/c",
        "down",
        "gone",
        "kernel",
        "ip up",
        "up/c",
        "cpu/c",
        "ip down",
        "speedup",
        "cpu x"
    );
    let opt = |v: Option<f64>, prec: usize| match v {
        Some(v) => format!("{v:.prec$}"),
        None => "n/a".into(),
    };
    for (n, l, ip) in rows {
        let per = |d: Duration| ms(d) / *n as f64;
        let ip = ip.as_ref();
        println!(
            "{:>5} | {:>7.1} {:>9.1} {:>7.2} {:>7} {:>7.1} | {:>7.1} {:>7.1} {:>7} | {:>9} {:>7} {:>7} {:>9} | {:>7} {:>7}",
            n,
            ms(l.create),
            ms(l.bring_up),
            per(l.bring_up),
            opt((!l.cpu.is_zero()).then(|| per(l.cpu)), 2),
            l.rss_growth_kib as f64 / *n as f64,
            ms(l.down),
            ms(l.gone),
            opt(l.kernel.map(ms), 1),
            opt(ip.map(|i| ms(i.bring_up)), 1),
            opt(ip.map(|i| per(i.bring_up)), 2),
            opt(ip.map(|i| per(i.cpu)), 2),
            opt(ip.map(|i| ms(i.teardown)), 1),
            opt(ip.map(|i| ms(i.bring_up) / ms(l.bring_up)), 1),
            opt(
                ip.filter(|_| !l.cpu.is_zero())
                    .map(|i| ms(i.cpu) / ms(l.cpu)),
                1
            ),
        );
    }
    for line in [
        "",
        "All times in ms; /c = per container.",
        "lab    = Lab::create (the lab host: namespaces, bridge).",
        "up     = first run to last run, wall clock.",
        "cpu    = CPU time of the bring-up: supervisor, containers' start-up and client; for ip,",
        "         the shell and its ip commands. Clock ticks (10 ms in all), so only N >= 50 counts.",
        "rss/c  = growth of the supervisor's resident memory (KiB) from the empty lab to N containers.",
        "down   = Lab::down returned; gone = the supervisor ended; kernel = RTM_DELNSID came for",
        "         every namespace (the kernel began dismantling it); all three from the start of down.",
        "ip     = pipework-style ip commands in a throwaway namespace.",
        "speedup = ip up / netlab up; cpu x = the same in CPU time, which other load hardly changes.",
    ] {
        println!("{line}");
    }
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    for (n, l, ip) in rows {
        let Some(goal) = GOALS.iter().find(|t| t.n == *n) else {
            continue;
        };
        let per = ms(l.bring_up) / *n as f64;
        println!("\ntargets at N = {n}:");
        println!(
            "  bring-up {per:.2} ms per container (target <= {} ms): {}",
            goal.ms_per_container,
            verdict(per <= goal.ms_per_container)
        );
        if let (Some(want), Some(ip)) = (goal.speedup, ip) {
            let speedup = ms(ip.bring_up) / ms(l.bring_up);
            println!(
                "  {speedup:.1}x faster than the ip baseline (target >= {want}x): {}",
                verdict(speedup >= want)
            );
        }
        if let Some(want) = goal.teardown {
            let (teardown, what) = match l.kernel {
                Some(k) => (k, "until the kernel began dismantling the namespaces"),
                None => (l.gone, "until the supervisor ended"),
            };
            println!(
                "  teardown {:.1} ms {what} (target < {} ms): {}",
                ms(teardown),
                ms(want),
                verdict(teardown < want)
            );
        }
    }
}
