//! Two real users against each other over the labs' control sockets.
//!
//! Any local user can bind any abstract socket name, so an attacker can always bind names
//! that look like another user's lab. These tests make such impostors for real, as a
//! second user that the test creates (`netlab-sec`), and check both directions: a root
//! client never sends a byte or fd to a socket held by that user, and that user's client
//! never sends one to a socket held by root; squatting does not stop the owner from
//! creating the lab; `lab ls` lists only the user's own labs; and a supervisor answers a
//! client of another user only with a refusal.
//!
//! The impostors are small Python programs that log every connection with the number of
//! bytes and fds that reached them; a canary message sent by the test at the end proves
//! that the log is live and complete before it is read. Needs root (to create the user)
//! and unprivileged user namespaces (the user's labs are rootless).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use common::lab_name;
use testkit::poll::wait_until;

const USER: &str = "netlab-sec";
/// Debian's Python (CI installs python3): a user's PATH may lead to another one that the
/// second user cannot run.
const PYTHON: &str = "/usr/bin/python3";

/// The second user, created once per test run.
#[derive(Debug, Clone, Copy)]
struct User {
    uid: u32,
    gid: u32,
}

fn id(flag: &str) -> Option<u32> {
    let out = Command::new("id").args([flag, USER]).output().ok()?;
    String::from_utf8(out.stdout).ok()?.trim().parse().ok()
}

fn other_user() -> User {
    static USER_ONCE: OnceLock<User> = OnceLock::new();
    *USER_ONCE.get_or_init(|| {
        assert!(
            nix::unistd::geteuid().is_root(),
            "the two-user security tests need root, to create the user {USER}; run them as root (CI does)"
        );
        if id("-u").is_none() {
            let st = Command::new("useradd")
                .args(["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", USER])
                .status()
                .expect("run useradd");
            assert!(st.success(), "useradd {USER} failed");
        }
        User {
            uid: id("-u").expect("uid of the test user"),
            gid: id("-g").expect("gid of the test user"),
        }
    })
}

/// A folder both users can read and write: the netlab binary, the impostor program and
/// their logs.
struct Shared {
    dir: tempfile::TempDir,
}

impl Shared {
    fn new() -> Shared {
        let dir = tempfile::Builder::new()
            .prefix("netlab-sec.")
            .tempdir_in("/tmp")
            .unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
        let bin = dir.path().join("netlab");
        std::fs::copy(env!("CARGO_BIN_EXE_netlab"), &bin).unwrap();
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(dir.path().join("impostor.py"), IMPOSTOR).unwrap();
        Shared { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `netlab` as root (`user` None) or as the other user, with a clean environment.
    fn netlab(&self, user: Option<User>, args: &[&str]) -> Output {
        let bin = self.path("netlab");
        let mut c = match user {
            Some(u) => {
                let mut c = Command::new("setpriv");
                c.arg(format!("--reuid={}", u.uid))
                    .arg(format!("--regid={}", u.gid))
                    .args(["--clear-groups", "--"])
                    .arg(&bin);
                c
            }
            None => Command::new(&bin),
        };
        c.args(args)
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
            .env("NETLAB_BIN", &bin)
            .current_dir("/tmp")
            .stdin(Stdio::null());
        c.output().expect("run netlab")
    }
}

/// A Python listener on an abstract name that logs what reaches it, one line per
/// connection: `bytes=N fds=M`.
const IMPOSTOR: &str = r#"
import socket, sys
name, log = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind('\0' + name)
s.listen(64)
print('ready', flush=True)
while True:
    c, _ = s.accept()
    c.settimeout(3)
    got, fds = 0, 0
    try:
        while True:
            msg, anc, _, _ = c.recvmsg(65536, socket.CMSG_SPACE(64 * 4))
            for level, kind, data in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    fds += len(data) // 4
            if not msg:
                break
            got += len(msg)
    except socket.timeout:
        pass
    c.close()
    with open(log, 'a') as f:
        f.write('bytes=%d fds=%d\n' % (got, fds))
"#;

/// A running impostor, killed by PID when dropped.
struct Impostor {
    child: Child,
    name: String,
    log: PathBuf,
}

impl Impostor {
    fn start(shared: &Shared, user: Option<User>, name: &str, tag: &str) -> Impostor {
        let log = shared.path(&format!("{tag}.log"));
        let mut c = match user {
            Some(u) => {
                let mut c = Command::new("setpriv");
                c.arg(format!("--reuid={}", u.uid))
                    .arg(format!("--regid={}", u.gid))
                    .args(["--clear-groups", "--", PYTHON]);
                c
            }
            None => Command::new(PYTHON),
        };
        let mut child = c
            .arg(shared.path("impostor.py"))
            .arg(name)
            .arg(&log)
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the impostor (python3)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(
            line.trim(),
            "ready",
            "the impostor on @{name} did not start"
        );
        Impostor {
            child,
            name: name.into(),
            log,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Every connection that reached the impostor, after a canary of 6 bytes sent by this
    /// test has been logged (so the log is complete); the canary's line is removed.
    fn connections(&self) -> Vec<String> {
        use std::os::linux::net::SocketAddrExt;
        let addr =
            std::os::unix::net::SocketAddr::from_abstract_name(self.name.as_bytes()).unwrap();
        let mut s = std::os::unix::net::UnixStream::connect_addr(&addr).unwrap();
        s.write_all(b"canary").unwrap();
        drop(s);
        let read = || std::fs::read_to_string(&self.log).unwrap_or_default();
        wait_until(
            "the impostor to log the canary",
            Duration::from_secs(10),
            || read().lines().any(|l| l == "bytes=6 fds=0"),
        );
        let mut lines: Vec<String> = read().lines().map(str::to_string).collect();
        let canary = lines.iter().position(|l| l == "bytes=6 fds=0").unwrap();
        lines.remove(canary);
        lines
    }

    /// Asserts that nothing but bare connections reached the impostor.
    fn assert_got_nothing(&self) {
        for l in self.connections() {
            assert_eq!(
                l, "bytes=0 fds=0",
                "something reached the impostor on @{}",
                self.name
            );
        }
    }
}

impl Drop for Impostor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Ends a lab made by the CLI when the test ends, also on panic.
struct Down<'a> {
    shared: &'a Shared,
    user: Option<User>,
    lab: String,
}

impl Drop for Down<'_> {
    fn drop(&mut self) {
        let _ = self.shared.netlab(self.user, &["--lab", &self.lab, "down"]);
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The listening abstract sockets whose name starts with `prefix` (without the `@`).
fn listening(prefix: &str) -> Vec<String> {
    std::fs::read_to_string("/proc/net/unix")
        .unwrap()
        .lines()
        .filter_map(|l| {
            // Accepted connections carry the listener's name too; listeners have
            // the flag __SO_ACCEPTCON.
            let cols: Vec<&str> = l.split_whitespace().collect();
            let name = cols.get(7)?.strip_prefix('@')?;
            (cols.get(3) == Some(&"00010000")).then(|| name.to_string())
        })
        .filter(|n| n.starts_with(prefix))
        .collect()
}

/// One raw request in the control protocol (length-prefixed JSON), as a client that does
/// not check anything would send it; the answer's text.
fn raw_request(name: &str, json: &str) -> String {
    use std::os::linux::net::SocketAddrExt;
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
    let mut s = std::os::unix::net::UnixStream::connect_addr(&addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    // A supervisor that refuses us answers at once and closes: the write may fail, and
    // the answer is still there to read.
    let mut request = (json.len() as u32).to_be_bytes().to_vec();
    request.extend_from_slice(json.as_bytes());
    let _ = s.write_all(&request);
    let mut len = [0u8; 4];
    s.read_exact(&mut len).unwrap();
    let mut answer = vec![0u8; u32::from_be_bytes(len) as usize];
    s.read_exact(&mut answer).unwrap();
    text(&answer)
}

/// The same raw request sent by the other user (through Python), answer on stdout.
fn raw_request_as(shared: &Shared, user: User, name: &str, json: &str) -> String {
    let script = r#"
import socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
s.connect('\0' + sys.argv[1])
body = sys.argv[2].encode()
try:
    s.sendall(struct.pack('>I', len(body)) + body)
except OSError:
    pass  # a supervisor that refuses us answers at once and closes; read the answer
head = b''
while len(head) < 4:
    head += s.recv(4 - len(head))
n = struct.unpack('>I', head)[0]
data = b''
while len(data) < n:
    data += s.recv(n - len(data))
print(data.decode())
"#;
    let path = shared.path("client.py");
    std::fs::write(&path, script).unwrap();
    let out = Command::new("setpriv")
        .arg(format!("--reuid={}", user.uid))
        .arg(format!("--regid={}", user.gid))
        .args(["--clear-groups", "--", PYTHON])
        .arg(&path)
        .arg(name)
        .arg(json)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "client as {USER}: {}",
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// Runs the impersonation scenario with `victim` as the lab's owner and `attacker` as the
/// impostor (None = root).
fn impersonation(victim: Option<User>, attacker: Option<User>, tag: &str) {
    let shared = Shared::new();
    let victim_uid = victim.map_or(0, |u| u.uid);
    let attacker_uid = attacker.map_or(0, |u| u.uid);
    let lab = lab_name(tag);
    let fake = lab_name(&format!("{tag}-fake"));
    // The name a lab had before names had a nonce, a decoy of the current form, and a
    // decoy of a lab the victim does not have.
    let old = Impostor::start(
        &shared,
        attacker,
        &format!("netlab/{victim_uid}/{lab}"),
        "old",
    );
    let decoy = Impostor::start(
        &shared,
        attacker,
        &format!("netlab/{victim_uid}/{lab}/{}", "0".repeat(32)),
        "decoy",
    );
    let ghost = Impostor::start(
        &shared,
        attacker,
        &format!("netlab/{victim_uid}/{fake}/{}", "f".repeat(32)),
        "ghost",
    );

    // Before the lab exists, a command that needs it is refused, naming who holds a name.
    let out = shared.netlab(victim, &["--lab", &lab, "inspect", "mongodb"]);
    let err = text(&out.stderr);
    assert!(!out.status.success(), "inspect reached an impostor: {err}");
    assert!(
        err.contains(&format!("held by uid {attacker_uid} (pid {})", decoy.pid()))
            && err.contains("sent it nothing"),
        "the refusal names the impostor's uid and pid: {err}"
    );

    // Squatting does not keep the victim from creating the lab, and the victim's
    // commands, secrets included, reach the victim's own lab.
    let out = shared.netlab(
        victim,
        &[
            "--lab",
            &lab,
            "exec",
            "--host",
            "-e",
            "DB_PASSWORD=s3cret",
            "--",
            "sh",
            "-c",
            "echo $DB_PASSWORD; id -u",
        ],
    );
    let _down = Down {
        shared: &shared,
        user: victim,
        lab: lab.clone(),
    };
    let err = text(&out.stderr);
    assert!(out.status.success(), "exec: {err}");
    // In the lab host the owner is root, in a user namespace when rootless.
    assert_eq!(text(&out.stdout), "s3cret\n0\n");
    assert!(
        err.contains(&format!("held by uid {attacker_uid}")),
        "the decoy is reported: {err}"
    );
    let again = shared.netlab(victim, &["--lab", &lab, "lab", "create"]);
    assert!(
        text(&again.stderr).contains("exists already"),
        "the real lab is found beside the decoy: {}",
        text(&again.stderr)
    );

    // `lab ls` lists the lab once, and not the decoy of a lab that does not exist.
    let ls = shared.netlab(victim, &["lab", "ls", "--json"]);
    assert!(ls.status.success(), "lab ls: {}", text(&ls.stderr));
    let rows: serde_json::Value = serde_json::from_slice(&ls.stdout).unwrap();
    let names: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["Name"].as_str())
        .collect();
    assert_eq!(names.iter().filter(|n| **n == lab).count(), 1, "{names:?}");
    assert!(
        !names.contains(&fake.as_str()),
        "lab ls lists a decoy: {names:?}"
    );

    // The lab's real socket refuses the attacker as a client.
    let real: Vec<String> = listening(&format!("netlab/{victim_uid}/{lab}/"))
        .into_iter()
        .filter(|n| *n != decoy.name)
        .collect();
    assert_eq!(real.len(), 1, "one real socket: {real:?}");
    let answer = match attacker {
        Some(u) => raw_request_as(&shared, u, &real[0], r#"{"op":"info"}"#),
        None => raw_request(&real[0], r#"{"op":"info"}"#),
    };
    assert!(
        answer.contains("belongs to another user") && !answer.contains("\"bip\""),
        "the supervisor answers another user: {answer}"
    );

    // Nothing but bare connections reached any impostor: no request, no env, no fd.
    assert_eq!(
        old.connections(),
        Vec::<String>::new(),
        "a client connected to the old-style name"
    );
    decoy.assert_got_nothing();
    ghost.assert_got_nothing();
}

#[test]
fn another_user_cannot_pose_as_roots_lab() {
    let user = other_user();
    impersonation(None, Some(user), "sec-root");
}

#[test]
fn root_cannot_pose_as_a_users_lab() {
    let user = other_user();
    impersonation(Some(user), None, "sec-user");
}

/// The lock directory of another user cannot be taken over: a directory planted by
/// somebody else where a user's lock would go is refused with the fix.
#[test]
fn a_planted_lock_directory_is_refused() {
    let user = other_user();
    let shared = Shared::new();
    let runtime = shared.path("xdg");
    // Root plants `netlab` in the user's runtime directory.
    std::fs::create_dir(&runtime).unwrap();
    nix::unistd::chown(
        &runtime,
        Some(nix::unistd::Uid::from_raw(user.uid)),
        Some(nix::unistd::Gid::from_raw(user.gid)),
    )
    .unwrap();
    std::fs::create_dir(runtime.join("netlab")).unwrap();
    let lab = lab_name("sec-lock");
    // Should the refusal fail, the lab must not outlive the test.
    let _down = Down {
        shared: &shared,
        user: Some(user),
        lab: lab.clone(),
    };
    let out = Command::new("setpriv")
        .arg(format!("--reuid={}", user.uid))
        .arg(format!("--regid={}", user.gid))
        .args(["--clear-groups", "--"])
        .arg(shared.path("netlab"))
        .args(["--lab", &lab, "lab", "create"])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("NETLAB_BIN", shared.path("netlab"))
        .env("XDG_RUNTIME_DIR", &runtime)
        .current_dir("/tmp")
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert!(
        !out.status.success(),
        "created a lab under a planted lock: {err}"
    );
    assert!(
        err.contains("is not a private directory of yours") && err.contains("owned by uid 0"),
        "{err}"
    );
}
