//! A real Docker engine for tests that compare netlab with Docker, or need Docker at all.
//!
//! The engine is the one `scripts/docker-engine start` runs: Debian's Docker 20.10 in a
//! network namespace of its own, so its containers and published ports live there and the
//! machine's own network is never touched. [`DockerEngine::find`] reads where it is from the
//! environment (`DOCKER_HOST` and `NETLAB_DOCKER_PID`, as `scripts/docker-engine env` prints
//! and `scripts/docker-engine exec` sets) or, when neither is set, asks that script.
//! [`DockerEngine::docker`] runs Debian's client, `/usr/bin/docker`, against it (the machine
//! may have another client first on PATH); [`DockerEngine::in_netns`] builds a command that
//! runs inside the engine's network namespace, where containers and published ports are
//! reachable (network only: the files stay the same).
//!
//! Without an engine a test *skips*: [`DockerEngine::for_test`] prints why on the real
//! stderr and returns `None`. With `NETLAB_DOCKER_REQUIRE=1` (CI) it fails instead, so CI
//! cannot pass without having run the Docker tests.

use std::ffi::OsStr;
use std::io::{self, Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use crate::poll::poll_until;

/// Debian's `docker.io` client, the same version as the engine.
pub const DOCKER: &str = "/usr/bin/docker";

/// How long one `docker` command may take before the test fails (pulls never happen here:
/// images are local).
pub const COMMAND_DEADLINE: Duration = Duration::from_secs(120);

/// When set to `1`, tests that need a Docker engine fail without one instead of skipping.
pub const REQUIRE_VAR: &str = "NETLAB_DOCKER_REQUIRE";

/// The repository's `scripts/docker-engine`.
pub fn engine_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/docker-engine")
}

/// True when `NETLAB_DOCKER_REQUIRE=1`: a missing engine is an error, not a skip.
pub fn required() -> bool {
    std::env::var(REQUIRE_VAR).as_deref() == Ok("1")
}

/// The Docker API address a client uses: `DOCKER_HOST`, else Docker's default socket.
pub fn docker_host() -> String {
    std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".to_owned())
}

/// Why nothing answers at `host`, or None when a Unix socket there accepts connections
/// (other schemes are left to the client to try).
pub fn unreachable(host: &str) -> Option<String> {
    let sock = host.strip_prefix("unix://")?;
    std::os::unix::net::UnixStream::connect(sock)
        .err()
        .map(|e| format!("no Docker engine at {host} ({e})"))
}

/// The inode of a network namespace file, to tell namespaces apart.
fn netns_inode(path: &str) -> io::Result<u64> {
    std::fs::metadata(path).map(|m| m.ino())
}

/// Why this process cannot reach ports the engine publishes, or None when it can: they
/// live in the engine's network namespace (`NETLAB_DOCKER_PID`); an engine without that
/// variable is taken to share ours, like a system Docker.
pub fn ports_unreachable() -> Option<String> {
    let pid = std::env::var("NETLAB_DOCKER_PID").ok()?;
    let theirs = format!("/proc/{pid}/ns/net");
    match (
        netns_inode("/proc/thread-self/ns/net"),
        netns_inode(&theirs),
    ) {
        (Ok(ours), Ok(engine)) if ours == engine => None,
        (Ok(_), Ok(_)) => Some(format!(
            "the engine's published ports live in its network namespace ({theirs}), and this \
             test runs in another one: run it through `scripts/docker-engine exec -- cargo test …`"
        )),
        (_, Err(e)) => Some(format!(
            "NETLAB_DOCKER_PID={pid}: cannot read {theirs}: {e}"
        )),
        (Err(e), _) => Some(format!("cannot read /proc/thread-self/ns/net: {e}")),
    }
}

/// What one `docker` command did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerOutput {
    /// Exit code (-1 when killed by a signal).
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl DockerOutput {
    /// Panics with the whole output unless the command succeeded; returns stdout.
    pub fn ok(&self, what: &str) -> &str {
        assert_eq!(
            self.code, 0,
            "{what} failed ({}):\nstdout: {}\nstderr: {}",
            self.code, self.stdout, self.stderr
        );
        &self.stdout
    }
}

/// A running Docker engine: where its API is and which process holds its network namespace.
#[derive(Debug, Clone)]
pub struct DockerEngine {
    host: String,
    netns_pid: u32,
    version: String,
}

impl DockerEngine {
    /// Finds the engine (once per test process) or says why there is none.
    pub fn find() -> Result<DockerEngine, String> {
        static FOUND: OnceLock<Result<DockerEngine, String>> = OnceLock::new();
        FOUND.get_or_init(Self::discover).clone()
    }

    /// The engine for a test, or None (after printing why) when there is none and
    /// `NETLAB_DOCKER_REQUIRE` is not `1`; with it, a missing engine fails the test.
    pub fn for_test(test: &str) -> Option<DockerEngine> {
        match Self::find() {
            Ok(engine) => Some(engine),
            Err(reason) if required() => {
                panic!("{test}: {REQUIRE_VAR}=1 but there is no Docker engine: {reason}")
            }
            Err(reason) => {
                let _ = writeln!(
                    io::stderr(),
                    "SKIPPED {test}: no Docker engine ({reason}); start one with \
                     `scripts/docker-engine start`"
                );
                None
            }
        }
    }

    fn discover() -> Result<DockerEngine, String> {
        let (host, pid) = match (
            std::env::var("DOCKER_HOST"),
            std::env::var("NETLAB_DOCKER_PID"),
        ) {
            (Ok(host), Ok(pid)) => (host, pid),
            (Ok(host), Err(_)) => {
                return Err(format!(
                    "DOCKER_HOST={host} is set but NETLAB_DOCKER_PID is not; these tests use the \
                     engine of `scripts/docker-engine` (eval \"$(scripts/docker-engine env)\")"
                ));
            }
            (Err(_), _) => Self::from_script()?,
        };
        let netns_pid: u32 = pid
            .trim()
            .parse()
            .map_err(|_| format!("NETLAB_DOCKER_PID={pid} is not a PID"))?;
        netns_inode(&format!("/proc/{netns_pid}/ns/net"))
            .map_err(|e| format!("the engine's process {netns_pid} is not readable: {e}"))?;
        if let Some(reason) = unreachable(&host) {
            return Err(reason);
        }
        if !Path::new(DOCKER).is_file() {
            return Err(format!(
                "{DOCKER} is missing (Debian's docker.io client): scripts/docker-engine install"
            ));
        }
        let mut engine = DockerEngine {
            host,
            netns_pid,
            version: String::new(),
        };
        let out = engine.docker(["version", "--format", "{{.Server.Version}}"]);
        if out.code != 0 {
            return Err(format!(
                "`docker version` at {} failed: {}",
                engine.host,
                out.stderr.trim()
            ));
        }
        engine.version = out.stdout.trim().to_owned();
        Ok(engine)
    }

    /// Asks `scripts/docker-engine env` for DOCKER_HOST and NETLAB_DOCKER_PID.
    fn from_script() -> Result<(String, String), String> {
        let script = engine_script();
        let out = Command::new(&script)
            .arg("env")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
        if !out.status.success() {
            return Err(format!(
                "DOCKER_HOST is not set and `{} env` says: {}",
                script.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let var = |name: &str| {
            text.lines()
                .filter_map(|l| l.trim().strip_prefix("export "))
                .filter_map(|l| l.split_once('='))
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_owned())
                .ok_or_else(|| format!("`{} env` printed no {name}", script.display()))
        };
        Ok((var("DOCKER_HOST")?, var("NETLAB_DOCKER_PID")?))
    }

    /// The engine's API address, e.g. `unix:///tmp/netlab-docker/engine/docker.sock`.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// A process in the engine's network namespace (dockerd).
    pub fn netns_pid(&self) -> u32 {
        self.netns_pid
    }

    /// The engine's network namespace, e.g. `/proc/1234/ns/net`.
    pub fn netns_path(&self) -> PathBuf {
        PathBuf::from(format!("/proc/{}/ns/net", self.netns_pid))
    }

    /// The engine's version, e.g. `20.10.24+dfsg1`.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// True when this process already runs in the engine's network namespace.
    pub fn shares_netns(&self) -> bool {
        matches!(
            (netns_inode("/proc/thread-self/ns/net"), netns_inode(&self.netns_path().to_string_lossy())),
            (Ok(a), Ok(b)) if a == b
        )
    }

    /// `docker ARGS…` with Debian's client against this engine: exit code, stdout, stderr.
    /// Fails the test if the command cannot run or exceeds [`COMMAND_DEADLINE`].
    pub fn docker<I, S>(&self, args: I) -> DockerOutput
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Command::new(DOCKER);
        cmd.args(args).env("DOCKER_HOST", &self.host);
        run_bounded(&mut cmd, COMMAND_DEADLINE)
    }

    /// A command that runs `program` inside the engine's network namespace (`nsenter --net`),
    /// where containers' addresses and published ports are reachable. Needs root.
    pub fn in_netns(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new("nsenter");
        cmd.arg(format!("--net={}", self.netns_path().display()))
            .arg("--")
            .arg(program)
            .env("DOCKER_HOST", &self.host)
            .env("NETLAB_DOCKER_PID", self.netns_pid.to_string());
        cmd
    }

    /// Runs a command built by [`in_netns`](Self::in_netns) (or any other), bounded by
    /// [`COMMAND_DEADLINE`]: exit code, stdout, stderr.
    pub fn run(&self, cmd: &mut Command) -> DockerOutput {
        run_bounded(cmd, COMMAND_DEADLINE)
    }
}

/// Removes a container (`docker rm -f NAME`) when dropped, also when the test panics.
#[derive(Debug)]
pub struct RemoveOnDrop {
    host: String,
    name: String,
}

impl DockerEngine {
    /// A guard that removes the container `name` when it goes out of scope.
    pub fn remove_on_drop(&self, name: impl Into<String>) -> RemoveOnDrop {
        RemoveOnDrop {
            host: self.host.clone(),
            name: name.into(),
        }
    }
}

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        // No deadline and no panic here: a drop may run while a test already panics.
        let out = Command::new(DOCKER)
            .args(["rm", "-f", &self.name])
            .env("DOCKER_HOST", &self.host)
            .stdin(Stdio::null())
            .output();
        match out {
            Ok(out) if out.status.success() => {}
            Ok(out) => {
                let _ = writeln!(
                    io::stderr(),
                    "testkit: docker rm -f {} failed: {}",
                    self.name,
                    String::from_utf8_lossy(&out.stderr).trim()
                );
            }
            Err(e) => {
                let _ = writeln!(
                    io::stderr(),
                    "testkit: cannot run {DOCKER} rm -f {}: {e}",
                    self.name
                );
            }
        }
    }
}

/// Runs a command with piped output, killing it at the deadline (then the test fails).
fn run_bounded(cmd: &mut Command, deadline: Duration) -> DockerOutput {
    let shown = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {shown}: {e}"));
    // Both pipes are drained on threads, so a chatty command cannot block on a full pipe.
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            let _ = pipe.read_to_end(&mut text);
            String::from_utf8_lossy(&text).into_owned()
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("piped stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("piped stderr")));
    let ended = poll_until(&format!("{shown} to finish"), deadline, || {
        child
            .try_wait()
            .unwrap_or_else(|e| panic!("waiting for {shown}: {e}"))
    });
    let status = match ended {
        Ok(status) => status,
        Err(timed_out) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{timed_out}");
        }
    };
    DockerOutput {
        code: status.code().unwrap_or(-1),
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_unix_host_without_a_listener_is_unreachable() {
        let dir = tempfile::tempdir().unwrap();
        let host = format!("unix://{}/none.sock", dir.path().display());
        assert!(unreachable(&host).unwrap().contains(&host));
        assert_eq!(unreachable("tcp://127.0.0.1:2375"), None);
    }

    #[test]
    fn a_command_that_hangs_is_killed_at_the_deadline() {
        let result = std::panic::catch_unwind(|| {
            run_bounded(Command::new("sleep").arg("10"), Duration::from_millis(50))
        });
        assert!(result.is_err());
    }

    #[test]
    fn output_and_exit_code_are_kept() {
        let out = run_bounded(
            Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]),
            Duration::from_secs(10),
        );
        assert_eq!(
            out,
            DockerOutput {
                code: 3,
                stdout: "out\n".into(),
                stderr: "err\n".into()
            }
        );
    }
}
