//! Helpers shared by netlab's integration tests.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use netlab::{CommandSpec, ContainerSpec, Lab, LabSpec};
pub use testkit::poll::wait_until;

/// The article's LAN: bridge 10.2.0.10/16 with dynamic addresses from 10.2.1.0/24, the
/// uplink eth1 (10.2.0.10/16) enslaved to the bridge, and a LAN machine `lan` (10.2.0.1).
pub fn lan_lab(tag: &str) -> Lab {
    let mut spec = LabSpec::new(&lab_name(tag));
    spec.bip = "10.2.0.10/16".parse().unwrap();
    spec.ip_range = Some("10.2.1.0/24".parse().unwrap());
    spec.uplink = Some(netlab::Uplink::parse("eth1=10.2.0.10/16").unwrap());
    spec.lan_nodes = vec![netlab::LanNode::parse("lan=10.2.0.1/16").unwrap()];
    spec.attach_uplink = true;
    Lab::create(&spec).unwrap()
}

/// A lab name unique to this test process and `tag`, so tests can run in parallel.
pub fn lab_name(tag: &str) -> String {
    format!("t{}-{tag}", std::process::id())
}

/// An owned lab with default settings; it ends when dropped, also on panic.
pub fn lab(tag: &str) -> Lab {
    Lab::create(&LabSpec::new(&lab_name(tag))).expect("create lab")
}

pub fn sleeper(name: &str) -> ContainerSpec {
    ContainerSpec::new(name, CommandSpec::Exec(vec!["sleep".into(), "1000".into()]))
}

pub fn shell(name: &str, cmd: &str) -> ContainerSpec {
    ContainerSpec::new(name, CommandSpec::Shell(cmd.into()))
}

/// A shell command that serves HTTP on `port` in the container (Python's http.server).
pub fn http_server(port: u16) -> String {
    format!("exec python3 -m http.server {port} --bind 0.0.0.0")
}

/// One HTTP/1.0 GET over a TCP connection opened from `from`; the status code, or `None`
/// when nothing answers.
pub fn http_status(lab: &Lab, from: &netlab::Target, addr: std::net::SocketAddr) -> Option<u16> {
    use std::io::{Read, Write};
    let mut s = lab.connect_tcp(from, addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(b"GET / HTTP/1.0\r\n\r\n").ok()?;
    let mut head = [0u8; 12];
    s.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

/// Waits until `addr` answers HTTP from `from` (the server in the container is up).
pub fn wait_http(lab: &Lab, from: &netlab::Target, addr: std::net::SocketAddr) {
    wait_until(&format!("HTTP at {addr}"), Duration::from_secs(15), || {
        http_status(lab, from, addr) == Some(200)
    });
}

/// Runs a command that must succeed and returns its standard output; a failure shows the
/// command and its standard error.
pub fn stdout(c: &mut assert_cmd::Command) -> String {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{c:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The PID of a child of `parent` whose command name is `comm` (from `/proc/PID/stat`).
pub fn child_named(parent: i32, comm: &str) -> Option<i32> {
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: i32 = e.file_name().to_str()?.parse().ok()?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let (open, close) = (stat.find('(')?, stat.rfind(')')?);
        let ppid: i32 = stat[close + 1..].split_whitespace().nth(1)?.parse().ok()?;
        (ppid == parent && &stat[open + 1..close] == comm).then_some(pid)
    })
}

/// Finds a child of `parent` named `comm` and freezes it with SIGSTOP, waiting up to
/// `deadline` for one that is really stopped: the work may run several such children one
/// after the other (nft in chunks), and one found a moment before it exits freezes
/// nothing, so the state is checked (`T` in `/proc/PID/stat`) and the next one tried.
pub fn freeze_child(parent: i32, comm: &str, deadline: Duration) -> i32 {
    wait_until(
        &format!("a {comm} child of {parent} to freeze"),
        deadline,
        || try_freeze_child(parent, comm),
    )
}

/// One try of [`freeze_child`]: a child of `parent` named `comm` frozen, if there is one
/// now that stays long enough to be stopped.
pub fn try_freeze_child(parent: i32, comm: &str) -> Option<i32> {
    let pid = child_named(parent, comm)?;
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGSTOP,
    );
    // SIGSTOP takes effect asynchronously: look again until it shows, or the process is
    // gone.
    let state = |pid: i32| {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        stat[stat.rfind(')')? + 1..]
            .split_whitespace()
            .next()?
            .chars()
            .next()
    };
    let end = Instant::now() + Duration::from_secs(1);
    while Instant::now() < end {
        match state(pid) {
            Some('T') => return Some(pid),
            None | Some('Z') | Some('X') => return None,
            _ => std::thread::sleep(Duration::from_millis(1)),
        }
    }
    None
}

/// A container that publishes all 65,535 ports (`-p 1-65535:1-65535`): long work for the
/// supervisor, whose `nft` run for it can be caught and frozen.
pub fn publishes_every_port(name: &str) -> ContainerSpec {
    let mut spec = sleeper(name);
    spec.publish = netlab::parse_publish("1-65535:1-65535").unwrap();
    spec
}

/// Runs `f` on a thread and waits for its result up to `deadline`; `None` if it did not
/// finish (the thread is left behind, and ends with the test process).
pub fn within<T: Send + 'static>(
    deadline: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(deadline).ok()
}

/// The cargo that runs these tests, for a nested build (see `testkit::cargo`).
pub fn cargo() -> std::process::Command {
    testkit::cargo::nested()
}

/// The workspace's root folder (netlab's parent).
pub fn workspace() -> &'static std::path::Path {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("netlab lives in the workspace")
}
