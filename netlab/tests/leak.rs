//! The leak test of issue 3: a lab whose owner (or supervisor) is SIGKILLed leaves nothing
//! behind on the real machine.
//!
//! Each test snapshots what a lab could leak into the machine the tests run on (`ip -j
//! link`, `ip netns`, `nft list ruleset`, `/proc/mounts`, the lab's control sockets and the
//! lab's processes), builds a lab, kills something with SIGKILL, then polls until the
//! snapshot equals the first one again and fails with a diff if it does not within
//! [`CLEAN_DEADLINE`]. The kernel tears network namespaces down asynchronously, so a
//! comparison right after the kill would be a race; polling the real condition is not.
//!
//! The owner is a real separate process, because the point is what happens when a process
//! dies without running any destructor: the test binary re-executes itself to run the
//! ignored [`owner_entry`] helper, which creates the lab, reports on stdout and blocks.
//!
//! Other test binaries (and other people's labs) may run on the machine at the same time,
//! so the process part of the snapshot is limited to processes that can belong to this
//! test's lab: the ones in the lab's PID namespace, the ones whose command line names the
//! lab, and this test's own descendants. The tests of this file run one at a time (they
//! share [`SERIAL`]) so that one test's lab never shows up in another's snapshot.
//!
//! Works as root and rootless; for an unprivileged user `nft list ruleset` fails, and its
//! error text is compared like any other output.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::{lab_name, publishes_every_port, sleeper};
use netlab::{Lab, LabSpec, outer_pid};
use testkit::poll::wait_until;

/// Serialises the tests of this file: each one's snapshot must not see another's lab.
static SERIAL: Mutex<()> = Mutex::new(());

/// Tells a re-executed test binary to act as the owner: `LAB:CONTAINERS[:every-port]`
/// (with `every-port`, one more container publishing all 65,535 ports follows).
const OWNER_ENV: &str = "NETLAB_LEAK_OWNER";
/// Prefix of the owner's report lines, which share stdout with libtest's own output.
const SAY: &str = "netlab-leak:";
/// How long the kernel may take to dismantle a killed lab.
const CLEAN_DEADLINE: Duration = Duration::from_secs(10);
/// How long one step of a lab's bring-up may take before the test gives up.
const STEP_DEADLINE: Duration = Duration::from_secs(60);

fn serial() -> MutexGuard<'static, ()> {
    // A test that failed while holding the lock leaves nothing that the next one needs.
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

// ---------------------------------------------------------------------------------------
// Processes

/// A process, identified by PID and start time so that a recycled PID is not mistaken for
/// the process that was recorded.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Proc {
    pid: i32,
    start: u64,
    what: String,
}

/// What `/proc/PID/stat` says: state, parent PID, start time (clock ticks after boot).
fn stat(pid: i32) -> Option<(char, i32, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may itself contain spaces or `)`.
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // f[0] is field 3 (state), so field N is f[N - 3].
    Some((
        f.first()?.chars().next()?,
        f.get(1)?.parse().ok()?,
        f.get(19)?.parse().ok()?,
    ))
}

fn cmdline(pid: i32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| {
            String::from_utf8_lossy(&b)
                .trim_end_matches('\0')
                .replace('\0', " ")
        })
        .unwrap_or_default()
}

/// The inode of the process's PID namespace.
fn pid_ns(pid: i32) -> Option<u64> {
    let link = std::fs::read_link(format!("/proc/{pid}/ns/pid")).ok()?;
    link.to_str()?
        .strip_prefix("pid:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

fn all_pids() -> Vec<i32> {
    let mut pids: Vec<i32> = std::fs::read_dir("/proc")
        .expect("read /proc")
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect();
    pids.sort_unstable();
    pids
}

fn proc_of(pid: i32) -> Option<Proc> {
    let (_, _, start) = stat(pid)?;
    Some(Proc {
        pid,
        start,
        what: cmdline(pid),
    })
}

/// Whether the recorded process no longer exists. A zombie counts as gone: it holds no
/// namespace, fd or memory any more, and reaping it is the job of whoever inherited it
/// (the machine's init for a lab supervisor), not of netlab.
fn is_gone(p: &Proc) -> bool {
    match stat(p.pid) {
        None => true,
        Some((state, _, start)) => start != p.start || state == 'Z',
    }
}

// ---------------------------------------------------------------------------------------
// What a lab could leave behind

/// The labs a test watches: their names, and once known, their PID namespaces and every
/// process that was seen in them.
#[derive(Debug, Default)]
struct Watched {
    labs: Vec<String>,
    pid_namespaces: BTreeSet<u64>,
    processes: BTreeSet<Proc>,
}

impl Watched {
    fn new(lab: &str) -> Self {
        Watched {
            labs: vec![lab.to_string()],
            ..Default::default()
        }
    }

    /// Records the lab whose init (the supervisor) is `supervisor`, and every process it
    /// has now; returns how many processes that is.
    fn record_lab(&mut self, supervisor: i32) -> usize {
        let ns = pid_ns(supervisor)
            .unwrap_or_else(|| panic!("cannot read the PID namespace of supervisor {supervisor}"));
        self.pid_namespaces.insert(ns);
        let members: Vec<Proc> = all_pids()
            .into_iter()
            .filter(|&p| pid_ns(p) == Some(ns))
            .filter_map(proc_of)
            .collect();
        assert!(
            members.iter().any(|p| p.pid == supervisor),
            "supervisor {supervisor} is not in its own PID namespace"
        );
        let n = members.len();
        self.processes.extend(members);
        n
    }

    /// Records one container's main process, given by its PID inside the lab.
    fn record_container(&mut self, supervisor: i32, name: &str, inner: i32) {
        let outer = outer_pid(supervisor, inner).unwrap_or_else(|| {
            panic!(
                "container {name}: no process is PID {inner} in the lab of supervisor {supervisor}"
            )
        });
        let p = proc_of(outer).unwrap_or_else(|| panic!("container {name}: PID {outer} vanished"));
        assert!(
            p.what.starts_with("sleep"),
            "container {name}: PID {outer} runs {:?}, not its sleep",
            p.what
        );
        self.processes.insert(p);
    }

    /// Whether a command line belongs to one of the watched labs: a supervisor's
    /// `--spec {"name":"LAB",...}` or a CLI's `--lab LAB`.
    fn names_a_lab(&self, cmd: &str) -> bool {
        self.labs.iter().any(|lab| {
            cmd.contains(&format!("\"name\":\"{lab}\"")) || cmd.split(' ').any(|w| w == lab)
        })
    }
}

/// Everything compared before and after: section name → lines.
type Snapshot = BTreeMap<&'static str, Vec<String>>;

/// The path of a system tool; an unprivileged user's PATH often lacks `/usr/sbin`.
fn tool(name: &str) -> PathBuf {
    ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("the leak test needs `{name}`; install it (iproute2, nftables)"))
}

/// A command's stdout, stderr and failure as lines; an error is part of the picture (an
/// unprivileged user may not read the ruleset) and must be the same before and after.
fn output_lines(name: &str, args: &[&str]) -> Vec<String> {
    let out = Command::new(tool(name))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {name}: {e}"));
    let mut lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    lines.extend(
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .map(|l| format!("stderr: {l}")),
    );
    if !out.status.success() {
        lines.push(format!("exit status: {}", out.status));
    }
    lines
}

/// `ip -j link`, one line per interface.
fn links() -> Vec<String> {
    let raw = output_lines("ip", &["-j", "link"]);
    match serde_json::from_str::<serde_json::Value>(&raw.join("\n")) {
        Ok(serde_json::Value::Array(links)) => links.iter().map(|l| l.to_string()).collect(),
        _ => raw,
    }
}

fn snapshot(w: &Watched) -> Snapshot {
    let mut s = Snapshot::new();
    s.insert("ip -j link", links());
    s.insert("ip netns", output_lines("ip", &["netns"]));
    s.insert(
        "nft list ruleset",
        output_lines("nft", &["list", "ruleset"]),
    );
    let mut mounts: Vec<String> = std::fs::read_to_string("/proc/self/mounts")
        .expect("read /proc/self/mounts")
        .lines()
        .map(str::to_string)
        .collect();
    mounts.sort();
    s.insert("/proc/mounts", mounts);
    // Abstract sockets are listed with a leading `@`; the lab's is `@netlab/UID/LAB/NONCE`.
    let sockets: Vec<String> = std::fs::read_to_string("/proc/net/unix")
        .expect("read /proc/net/unix")
        .lines()
        .filter_map(|l| l.split_whitespace().nth(7))
        .filter(|p| {
            w.labs
                .iter()
                .any(|lab| p.starts_with("@netlab/") && p.contains(&format!("/{lab}/")))
        })
        .map(str::to_string)
        .collect();
    s.insert("lab control sockets", sockets);
    s.insert("lab processes", lab_processes(w));
    s
}

/// The processes that could belong to the watched labs (see the module comment).
fn lab_processes(w: &Watched) -> Vec<String> {
    let me = std::process::id() as i32;
    let mut parent = BTreeMap::new();
    let mut live = Vec::new();
    for pid in all_pids() {
        if let Some((state, ppid, _)) = stat(pid) {
            parent.insert(pid, ppid);
            if state != 'Z' && pid != me {
                live.push(pid);
            }
        }
    }
    let descends_from_me = |mut pid: i32| {
        for _ in 0..64 {
            match parent.get(&pid) {
                Some(&pp) if pp == me => return true,
                Some(&pp) if pp > 1 => pid = pp,
                _ => return false,
            }
        }
        false
    };
    live.into_iter()
        .filter_map(|pid| {
            let cmd = cmdline(pid);
            let ns = pid_ns(pid);
            let related = ns.is_some_and(|n| w.pid_namespaces.contains(&n))
                || w.names_a_lab(&cmd)
                || descends_from_me(pid);
            related.then(|| format!("pid {pid} (pid ns {ns:?}): {cmd}"))
        })
        .collect()
}

/// Lines of each section that are only in `before` (`-`) or only in `after` (`+`).
fn diff(before: &Snapshot, after: &Snapshot) -> String {
    let mut out = String::new();
    for (section, b) in before {
        let a = after.get(section).cloned().unwrap_or_default();
        let count = |v: &[String]| {
            let mut m: BTreeMap<String, i64> = BTreeMap::new();
            for l in v {
                *m.entry(l.clone()).or_default() += 1;
            }
            m
        };
        let (cb, ca) = (count(b), count(&a));
        let keys: BTreeSet<&String> = cb.keys().chain(ca.keys()).collect();
        let mut lines = Vec::new();
        for k in keys {
            let d = ca.get(k).copied().unwrap_or(0) - cb.get(k).copied().unwrap_or(0);
            let sign = if d < 0 { '-' } else { '+' };
            for _ in 0..d.abs() {
                lines.push(format!("  {sign} {k}"));
            }
        }
        if !lines.is_empty() {
            out.push_str(&format!("[{section}]\n{}\n", lines.join("\n")));
        }
    }
    out
}

/// Polls until the machine looks as it did in `before` and every recorded lab process is
/// gone; fails with what is left over after [`CLEAN_DEADLINE`].
fn assert_clean(before: &Snapshot, w: &Watched) {
    assert!(
        !w.processes.is_empty() && !w.pid_namespaces.is_empty(),
        "nothing was recorded about the lab, so its absence would prove nothing"
    );
    let start = Instant::now();
    // Polling the real condition: the kernel frees namespaces in its own time.
    wait_until(
        &format!("lab {:?} to leave no traces after the kill", w.labs),
        CLEAN_DEADLINE,
        || {
            let after = snapshot(w);
            let left: Vec<&Proc> = w.processes.iter().filter(|p| !is_gone(p)).collect();
            if after == *before && left.is_empty() {
                return Ok(());
            }
            let procs: Vec<String> = left
                .iter()
                .map(|p| format!("  pid {} {}", p.pid, p.what))
                .collect();
            Err(format!(
                "changes since before the lab (- gone, + new):\n{}\n\
                 recorded lab processes still alive:\n{}",
                diff(before, &after),
                procs.join("\n")
            ))
        },
    );
    eprintln!(
        "lab {:?}: clean {:?} after the kill ({} processes had been recorded)",
        w.labs,
        start.elapsed(),
        w.processes.len()
    );
}

// ---------------------------------------------------------------------------------------
// The owner process

/// A re-executed copy of this test binary running [`owner_entry`]; killed on drop so that a
/// failing test never leaves an owner (and with it its lab) behind.
struct Owner {
    child: Child,
    lines: Receiver<String>,
    stderr: Option<JoinHandle<String>>,
    lab: String,
}

impl Owner {
    fn start(lab: &str, containers: usize) -> Owner {
        Self::start_as(lab, &containers.to_string())
    }

    /// An owner with `containers` containers, each recorded in `w` as it becomes ready;
    /// returns once all are, with the supervisor's PID.
    fn all_ready(lab: &str, containers: usize, w: &mut Watched) -> (Owner, i32) {
        let mut owner = Self::start(lab, containers);
        let sup = owner.supervisor();
        for _ in 0..containers {
            let (name, inner) = owner.ready();
            w.record_container(sup, &name, inner);
        }
        assert_eq!(owner.next(), "all-ready");
        (owner, sup)
    }

    /// `spec` is what follows `LAB:` in [`OWNER_ENV`].
    fn start_as(lab: &str, spec: &str) -> Owner {
        let exe = std::env::current_exe().expect("current_exe");
        let mut child = Command::new(exe)
            .args(["--exact", "owner_entry", "--ignored", "--nocapture"])
            .arg("--test-threads=1")
            .env(OWNER_ENV, format!("{lab}:{spec}"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the owner process");
        let out = child.stdout.take().expect("owner stdout");
        let mut err = child.stderr.take().expect("owner stderr");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                // Found anywhere in the line: libtest may have begun one of its own.
                if let Some(i) = line.find(SAY)
                    && tx.send(line[i + SAY.len()..].trim().to_string()).is_err()
                {
                    return;
                }
            }
        });
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        });
        Owner {
            child,
            lines,
            stderr: Some(stderr),
            lab: lab.to_string(),
        }
    }

    /// SIGKILLs the owner and waits for it; returns what it had said but not yet been
    /// read, up to its death.
    fn kill(&mut self) -> Vec<String> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mut rest = Vec::new();
        while let Ok(l) = self.lines.recv_timeout(STEP_DEADLINE) {
            rest.push(l);
        }
        rest
    }

    /// The owner's next report line; fails with its stderr if it ended or hung.
    fn next(&mut self) -> String {
        match self.lines.recv_timeout(STEP_DEADLINE) {
            Ok(l) => l,
            Err(e) => {
                self.kill();
                let stderr = self
                    .stderr
                    .take()
                    .and_then(|h| h.join().ok())
                    .unwrap_or_default();
                let why = match e {
                    RecvTimeoutError::Timeout => format!("said nothing for {STEP_DEADLINE:?}"),
                    RecvTimeoutError::Disconnected => "ended".to_string(),
                };
                panic!("the owner of lab {} {why}; its stderr:\n{stderr}", self.lab);
            }
        }
    }

    /// Reads `lab SUPERVISOR_PID`.
    fn supervisor(&mut self) -> i32 {
        let l = self.next();
        l.strip_prefix("lab ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("expected `lab PID` from the owner, got {l:?}"))
    }

    /// Reads `ready NAME PID` (the PID inside the lab).
    fn ready(&mut self) -> (String, i32) {
        let l = self.next();
        parse_ready(&l).unwrap_or_else(|| panic!("expected `ready NAME PID`, got {l:?}"))
    }
}

fn parse_ready(l: &str) -> Option<(String, i32)> {
    let mut w = l.strip_prefix("ready ")?.split(' ');
    Some((w.next()?.to_string(), w.next()?.parse().ok()?))
}

impl Drop for Owner {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The owner: creates a lab with `CONTAINERS` sleeping containers, reporting the
/// supervisor's PID and each container as it becomes ready, then blocks until killed.
#[test]
#[ignore = "helper process for the leak test, run by it"]
fn owner_entry() {
    let spec = std::env::var(OWNER_ENV).unwrap_or_else(|_| {
        panic!(
            "owner_entry is the owner process the leak tests start with {OWNER_ENV}=LAB:COUNT; \
             run the leak tests instead"
        )
    });
    let mut parts = spec.split(':');
    let name = parts.next().expect("LAB");
    let count: usize = parts.next().and_then(|c| c.parse().ok()).expect("COUNT");
    let every_port = parts.next() == Some("every-port");
    // Straight to stdout, past libtest's output capture.
    let say = |line: String| {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{SAY} {line}").expect("write to the leak test");
        out.flush().expect("flush to the leak test");
    };
    let lab = Lab::create(&LabSpec::new(name)).expect("create the lab");
    say(format!("lab {}", lab.supervisor_pid()));
    for i in 0..count {
        let c = lab
            .run(&sleeper(&format!("c{i}")))
            .expect("run a container");
        say(format!("ready {} {}", c.name, c.pid));
    }
    if every_port {
        let c = lab
            .run(&publishes_every_port("all"))
            .expect("run a container publishing every port");
        say(format!("ready {} {}", c.name, c.pid));
    }
    say("all-ready".into());
    loop {
        std::thread::park();
    }
}

// ---------------------------------------------------------------------------------------
// The tests

/// Kills the owner after it reported two of `total` containers ready, while it is still
/// bringing up the rest.
#[test]
fn owner_killed_during_bring_up_leaves_nothing() {
    let _serial = serial();
    const TOTAL: usize = 40;
    let lab = lab_name("leak-mid");
    let mut w = Watched::new(&lab);
    let before = snapshot(&w);

    let mut owner = Owner::start(&lab, TOTAL);
    let sup = owner.supervisor();
    for _ in 0..2 {
        let (name, inner) = owner.ready();
        w.record_container(sup, &name, inner);
    }
    let seen = w.record_lab(sup);
    let rest = owner.kill();
    let ready = 2 + rest.iter().filter(|l| parse_ready(l).is_some()).count();
    assert!(
        ready < TOTAL,
        "all {TOTAL} containers were ready before the owner died, so this did not test a kill \
         in the middle of bring-up"
    );
    eprintln!("owner killed with {ready}/{TOTAL} containers ready, {seen} lab processes seen");
    assert_clean(&before, &w);
}

/// Kills the owner once its whole lab is up.
#[test]
fn owner_killed_after_bring_up_leaves_nothing() {
    let _serial = serial();
    const TOTAL: usize = 6;
    let lab = lab_name("leak-full");
    let mut w = Watched::new(&lab);
    let before = snapshot(&w);

    let (mut owner, sup) = Owner::all_ready(&lab, TOTAL, &mut w);
    // Seen from another client, the lab is really up.
    let running = Lab::open(&lab)
        .expect("open the owner's lab")
        .ps(false)
        .expect("ps");
    assert_eq!(running.len(), TOTAL, "running containers: {running:?}");
    let seen = w.record_lab(sup);
    assert!(
        seen > TOTAL,
        "expected the supervisor and {TOTAL} containers in the lab, saw {seen} processes"
    );
    owner.kill();
    assert_clean(&before, &w);
}

/// Kills the owner while its lab's supervisor is in the middle of a request that holds the
/// lab lock: the nft run for a container publishing all 65,535 ports, frozen with SIGSTOP
/// so that the request cannot end by itself. The lab must still end with its owner.
#[test]
fn owner_killed_mid_request_leaves_nothing() {
    let _serial = serial();
    let lab = lab_name("leak-busy");
    let mut w = Watched::new(&lab);
    let before = snapshot(&w);

    let mut owner = Owner::start_as(&lab, "1:every-port");
    let sup = owner.supervisor();
    let (name, inner) = owner.ready();
    w.record_container(sup, &name, inner);
    let nft = common::freeze_child(sup, "nft", STEP_DEADLINE);
    let seen = w.record_lab(sup);
    assert!(
        w.processes.iter().any(|p| p.pid == nft),
        "the frozen nft is a process of the lab ({seen} seen)"
    );
    let rest = owner.kill();
    assert!(
        !rest.iter().any(|l| l == "all-ready"),
        "the request finished before the owner died: {rest:?}"
    );
    assert_clean(&before, &w);
}

/// Kills the owner while its lab has every kind of fault active: the link emulator
/// spliced into a cable (its relay threads and veth pair), a partition table, a pulled
/// cable and a flapping one with their timer threads. Nothing of them may outlive it.
#[test]
fn owner_killed_with_active_faults_leaves_nothing() {
    use std::time::Duration;
    let _serial = serial();
    const TOTAL: usize = 4;
    let lab = lab_name("leak-faults");
    let mut w = Watched::new(&lab);
    let before = snapshot(&w);

    let (mut owner, sup) = Owner::all_ready(&lab, TOTAL, &mut w);
    let client = Lab::open(&lab).expect("open the owner's lab");
    for spec in [
        netlab::FaultSpec::delay("c0", Duration::from_millis(50)).to(&["c1"]),
        netlab::FaultSpec::loss("c1", 0.1).lasting(Duration::from_secs(600)),
        netlab::FaultSpec::partition(&["c0"], &["c2"]),
        netlab::FaultSpec::link_down("c3", "eth0"),
        netlab::FaultSpec::flap(
            "c2",
            "eth0",
            Duration::from_millis(200),
            Duration::from_secs(600),
        ),
    ] {
        client.apply_fault(&spec).expect("apply a fault");
    }
    assert_eq!(client.faults().expect("faults").len(), 5);
    drop(client);
    w.record_lab(sup);
    owner.kill();
    assert_clean(&before, &w);
}

/// Kills the owner while its lab has networks of its own: two bridge networks (one dual
/// stack, one internal), their nft table, a macvlan network (parent docker0) with a macvlan
/// device in a container, containers on two networks, and the embedded DNS serving them.
#[test]
fn owner_killed_with_networks_leaves_nothing() {
    let _serial = serial();
    const TOTAL: usize = 2;
    let lab = lab_name("leak-nets");
    let mut w = Watched::new(&lab);
    let before = snapshot(&w);

    let (mut owner, sup) = Owner::all_ready(&lab, TOTAL, &mut w);
    let client = Lab::open(&lab).expect("open the owner's lab");
    let create = |name: &str, driver: &str, subnets: &[&str], internal: bool, opts: &[&str]| {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let spec = netlab::NetworkSpec::from_options(
            name,
            driver,
            &s(subnets),
            &[],
            &[],
            internal,
            subnets.iter().any(|x| x.contains(':')),
            &s(opts),
            &[],
        )
        .expect("network spec");
        client.create_network(&spec).expect("create a network");
    };
    create(
        "dual",
        "bridge",
        &["10.78.0.0/24", "fd00:78::/64"],
        false,
        &[],
    );
    create("inside", "bridge", &[], true, &[]);
    create(
        "mac",
        "macvlan",
        &["10.77.0.0/24"],
        false,
        &["parent=docker0"],
    );
    for (name, net) in [("d0", "dual"), ("i0", "inside"), ("m0", "mac")] {
        let mut c = sleeper(name);
        c.networks.push(netlab::Attachment::new(net));
        let st = client.run(&c).expect("run on a network");
        w.record_container(sup, &st.name, st.pid);
    }
    client
        .connect_network("c0", &netlab::Attachment::new("dual"))
        .expect("connect");
    assert_eq!(client.networks().expect("networks").len(), 6);
    drop(client);
    w.record_lab(sup);
    owner.kill();
    assert_clean(&before, &w);
}

/// A lab made by the CLI (detached, so it does not depend on any owner) whose supervisor
/// is SIGKILLed.
#[test]
fn detached_cli_lab_with_killed_supervisor_leaves_nothing() {
    let _serial = serial();
    const TOTAL: usize = 5;
    let lab = lab_name("leak-cli");
    let bin = netlab::netlab_bin().expect("find the netlab binary");
    let netlab = |args: &[&str]| -> String {
        let out = Command::new(&bin)
            .arg("--lab")
            .arg(&lab)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run netlab");
        assert!(
            out.status.success(),
            "netlab {args:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let mut w = Watched::new(&lab);
    let before = snapshot(&w);
    // Whatever happens below, the detached lab must not outlive the test.
    let _down = DownOnDrop {
        bin: bin.clone(),
        lab: lab.clone(),
    };

    for i in 0..TOTAL {
        netlab(&["run", "-d", "--name", &format!("c{i}"), "sleep", "1000"]);
    }
    let labs: serde_json::Value =
        serde_json::from_str(&netlab(&["lab", "ls", "--json"])).expect("lab ls --json");
    let sup = labs
        .as_array()
        .and_then(|a| a.iter().find(|l| l["Name"] == lab.as_str()))
        .and_then(|l| l["SupervisorPid"].as_i64())
        .unwrap_or_else(|| panic!("lab {lab} is not in `netlab lab ls --json`: {labs}"))
        as i32;
    assert_eq!(
        Lab::open(&lab).expect("open the lab").supervisor_pid(),
        sup,
        "the CLI and the library disagree on the supervisor"
    );
    for i in 0..TOTAL {
        let name = format!("c{i}");
        // `inspect` shows the PID as the caller sees it; the library gives the inner one.
        let shown: i32 = netlab(&["inspect", "-f", "{{ .State.Pid }}", &name])
            .trim()
            .parse()
            .expect("a PID from inspect");
        let inner = Lab::open(&lab)
            .expect("open")
            .inspect(&name)
            .expect("inspect")
            .pid;
        assert_eq!(outer_pid(sup, inner), Some(shown), "container {name}");
        w.record_container(sup, &name, inner);
    }
    let seen = w.record_lab(sup);
    assert!(seen > TOTAL, "saw only {seen} processes in the lab");

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(sup),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("SIGKILL the supervisor");
    assert_clean(&before, &w);
}

/// `netlab --lab LAB down` on drop: ends a detached lab that a failed test left running
/// (a no-op once the lab is gone).
struct DownOnDrop {
    bin: PathBuf,
    lab: String,
}

impl Drop for DownOnDrop {
    fn drop(&mut self) {
        let _ = Command::new(&self.bin)
            .args(["--lab", &self.lab, "down"])
            .stdin(Stdio::null())
            .output();
    }
}
