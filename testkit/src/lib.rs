//! Dev-only test helpers: a real MongoDB-compatible server, started on demand.
//!
//! [`MongoServer::start`] runs the server that `scripts/mongo-server` chooses (`$NETLAB_MONGOD`,
//! `mongod`, `ferretdb`, or FerretDB built from source) on a free loopback port with a fresh
//! data folder, and returns once it answers `ping`. Dropping it kills the server and removes
//! the data folder, also when the test panics. Tests that need a server and cannot get one
//! fail with the reason: they never pass silently.
//!
//! With `NETLAB_MONGO=docker` and a reachable Docker engine (`DOCKER_HOST`, else
//! `/var/run/docker.sock`), a container of `NETLAB_MONGO_IMAGE` (default `mongo:5.0.6`; CI
//! uses the local `netlab/ferretdb` of `scripts/docker-engine images`) is started through
//! testcontainers instead, on a mapped port, and is ready once it answers `ping`. Without an
//! engine that path is skipped with a message on stderr and the local server is used;
//! with `NETLAB_DOCKER_REQUIRE=1` (CI) a missing engine fails the test instead.
//!
//! [`docker`] finds the engine of `scripts/docker-engine` and runs `docker` against it, for
//! tests that compare netlab with Docker.
//!
//! [`poll::wait_until`] (and [`poll::wait_until_async`]) waits for a real condition with a
//! deadline, for every test suite of the workspace.

pub mod cargo;
pub mod docker;
pub mod poll;

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use mongodb::bson::doc;
use mongodb::options::ClientOptions;
use testcontainers::core::{IntoContainerPort, WaitFor};
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, GenericImage, ImageExt};

/// How long a server may take from spawn to answering `ping`. FerretDB needs well under a
/// second; the margin is for a loaded CI machine.
pub const START_DEADLINE: Duration = Duration::from_secs(30);
/// How long creating and starting a container may take: it may pull the image first.
const DOCKER_START_DEADLINE: Duration = Duration::from_secs(300);
/// The image of `NETLAB_MONGO=docker` unless `NETLAB_MONGO_IMAGE` names another; the tag
/// testcontainers-modules' `Mongo` used.
pub const DEFAULT_MONGO_IMAGE: &str = "mongo:5.0.6";

/// The repository's `scripts/mongo-server`, found from this crate's manifest folder so tests
/// work from any current directory.
pub fn mongo_server_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/mongo-server")
}

/// What can go wrong while providing a server. Each message says what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "no MongoDB-compatible server for the tests: `{script} path` failed ({status}): {stderr}\n\
         Install Go (FerretDB is then built once), install MongoDB, or set NETLAB_MONGOD"
    )]
    NoServer {
        script: PathBuf,
        status: ExitStatus,
        stderr: String,
    },
    #[error("could not {action}: {source}")]
    Io {
        action: String,
        #[source]
        source: io::Error,
    },
    #[error(
        "the server {binary} exited ({status}) before answering ping; its log {log} ends with:\n{tail}"
    )]
    Exited {
        binary: PathBuf,
        status: ExitStatus,
        log: PathBuf,
        tail: String,
    },
    #[error(
        "the server at {uri} did not answer ping within {deadline:?}; its log {log} ends with:\n{tail}"
    )]
    NotReady {
        uri: String,
        deadline: Duration,
        log: PathBuf,
        tail: String,
    },
    #[error("the server is not running (killed and not restarted)")]
    NotRunning,
    #[error("MongoDB driver: {0}")]
    Driver(#[from] mongodb::error::Error),
    #[error("docker (NETLAB_MONGO=docker): {0}")]
    Docker(#[from] testcontainers::TestcontainersError),
    #[error(
        "NETLAB_MONGO=docker with {}=1, but the Docker path cannot run: {reason}",
        docker::REQUIRE_VAR
    )]
    DockerRequired { reason: String },
    #[error("the container of {image} exited before answering ping; its output ends with:\n{tail}")]
    ContainerExited { image: String, tail: String },
}

fn io_err(action: impl Into<String>) -> impl FnOnce(io::Error) -> Error {
    let action = action.into();
    move |source| Error::Io { action, source }
}

/// The server binary `scripts/mongo-server path` chose, resolved once per test process
/// (resolving may build FerretDB, which takes minutes once and milliseconds afterwards).
fn server_binary() -> Result<PathBuf, Error> {
    static BINARY: OnceLock<Result<PathBuf, (ExitStatus, String)>> = OnceLock::new();
    let script = mongo_server_script();
    let found = BINARY.get_or_init(|| {
        let out = Command::new(&script)
            .arg("path")
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .output();
        match out {
            Ok(out) if out.status.success() => Ok(PathBuf::from(
                String::from_utf8_lossy(&out.stdout).trim().to_owned(),
            )),
            Ok(out) => Err((
                out.status,
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )),
            Err(e) => Err((
                ExitStatus::default(),
                format!("cannot execute {}: {e}", script.display()),
            )),
        }
    });
    found.clone().map_err(|(status, stderr)| Error::NoServer {
        script,
        status,
        stderr,
    })
}

/// A free TCP port on 127.0.0.1, as the kernel hands them out. Another process could take it
/// before the server binds it; on a test machine that race is negligible.
pub fn free_port() -> io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

/// Where the data lives: a folder the server owns (removed on drop) or one the caller owns.
enum DataDir {
    Owned(tempfile::TempDir),
    Borrowed(PathBuf),
}

impl DataDir {
    fn path(&self) -> &Path {
        match self {
            DataDir::Owned(dir) => dir.path(),
            DataDir::Borrowed(path) => path,
        }
    }
}

enum Backend {
    Process { child: Option<Child> },
    Docker(Box<ContainerAsync<GenericImage>>),
}

/// A running MongoDB-compatible server for one test. Killed, and its data removed, on drop.
pub struct MongoServer {
    backend: Backend,
    addr: SocketAddr,
    data: DataDir,
    /// Holds the server's log; kept apart from the data so a caller-owned data folder
    /// contains only data.
    scratch: tempfile::TempDir,
    binary: PathBuf,
}

impl std::fmt::Debug for MongoServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MongoServer")
            .field("addr", &self.addr)
            .field("data", &self.data.path())
            .field("binary", &self.binary)
            .field("pid", &self.pid())
            .finish()
    }
}

impl MongoServer {
    /// Starts a server with a fresh data folder that is removed on drop.
    pub async fn start() -> Result<Self, Error> {
        if let Some(server) = Self::try_docker().await? {
            return Ok(server);
        }
        let data = tempfile::Builder::new()
            .prefix("testkit-mongo-data.")
            .tempdir()
            .map_err(io_err("create a data folder"))?;
        Self::start_process(DataDir::Owned(data)).await
    }

    /// Starts a server on a data folder the caller owns (created if missing, kept on drop),
    /// e.g. to start a second server later on the same data.
    pub async fn start_in(data_dir: impl Into<PathBuf>) -> Result<Self, Error> {
        let data_dir = data_dir.into();
        fs::create_dir_all(&data_dir).map_err(io_err(format!("create {}", data_dir.display())))?;
        Self::start_process(DataDir::Borrowed(data_dir)).await
    }

    async fn start_process(data: DataDir) -> Result<Self, Error> {
        let binary = server_binary()?;
        let scratch = tempfile::Builder::new()
            .prefix("testkit-mongo.")
            .tempdir()
            .map_err(io_err("create a scratch folder"))?;
        let port = free_port().map_err(io_err("find a free loopback port"))?;
        let mut server = MongoServer {
            backend: Backend::Process { child: None },
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            data,
            scratch,
            binary,
        };
        server.spawn_and_wait().await?;
        Ok(server)
    }

    /// `NETLAB_MONGO=docker`: a container of `NETLAB_MONGO_IMAGE`, if a Docker engine answers
    /// and its published ports are reachable from here.
    async fn try_docker() -> Result<Option<Self>, Error> {
        if std::env::var("NETLAB_MONGO").as_deref() != Ok("docker") {
            return Ok(None);
        }
        let host = docker::docker_host();
        if let Some(reason) = docker::unreachable(&host).or_else(docker::ports_unreachable) {
            if docker::required() {
                return Err(Error::DockerRequired { reason });
            }
            static SAID: OnceLock<()> = OnceLock::new();
            SAID.get_or_init(|| visible_note(&format!(
                "testkit: NETLAB_MONGO=docker skipped: {reason}; using scripts/mongo-server instead"
            )));
            return Ok(None);
        }
        let image = std::env::var("NETLAB_MONGO_IMAGE")
            .ok()
            .filter(|i| !i.is_empty())
            .unwrap_or_else(|| DEFAULT_MONGO_IMAGE.to_owned());
        let (name, tag) = split_image(&image);
        // A fixed host port (not one Docker picks) so that restart() keeps the address.
        let port = free_port().map_err(io_err("find a free loopback port"))?;
        // Readiness is our own `ping` below, the same for any image; no log line to wait for.
        let container = GenericImage::new(name, tag)
            .with_exposed_port(27017.tcp())
            .with_wait_for(WaitFor::Nothing)
            .with_mapped_port(port, 27017.tcp())
            .with_startup_timeout(DOCKER_START_DEADLINE)
            .start()
            .await?;
        tracing::info!(image = %image, id = container.id(), port, "started MongoDB-compatible container");
        let scratch = tempfile::Builder::new()
            .prefix("testkit-mongo.")
            .tempdir()
            .map_err(io_err("create a scratch folder"))?;
        let mut server = MongoServer {
            backend: Backend::Docker(Box::new(container)),
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            data: DataDir::Borrowed(PathBuf::from("(inside the container)")),
            scratch,
            binary: PathBuf::from(format!("docker image {image}")),
        };
        server.wait_ready(START_DEADLINE).await?;
        Ok(Some(server))
    }

    /// The connection string, e.g. `mongodb://127.0.0.1:40123/`.
    pub fn uri(&self) -> String {
        format!("mongodb://{}/", self.addr)
    }

    /// Host and port the server listens on (always loopback).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The data folder (for the Docker backend, a description of where it is).
    pub fn data_dir(&self) -> &Path {
        self.data.path()
    }

    /// The server's log file (stdout and stderr of the server).
    pub fn log_path(&self) -> PathBuf {
        self.scratch.path().join("server.log")
    }

    /// The server binary in use.
    pub fn binary(&self) -> &Path {
        &self.binary
    }

    /// PID of the server process while it runs (the script execs it, so this is the server's).
    pub fn pid(&self) -> Option<u32> {
        match &self.backend {
            Backend::Process { child } => child.as_ref().map(Child::id),
            Backend::Docker(_) => None,
        }
    }

    /// Kills the server at once (SIGKILL, no clean shutdown), as a crash would; the data stays.
    pub async fn kill(&mut self) -> Result<(), Error> {
        match &mut self.backend {
            Backend::Process { child } => match child.take() {
                Some(child) => kill_and_reap(child).map_err(io_err("kill the server")),
                None => Err(Error::NotRunning),
            },
            Backend::Docker(container) => Ok(container.stop_with_timeout(Some(0)).await?),
        }
    }

    /// Starts the server again on the same port and data folder and waits for `ping`.
    pub async fn restart(&mut self) -> Result<(), Error> {
        match &mut self.backend {
            Backend::Process { child } => {
                if let Some(child) = child.take() {
                    kill_and_reap(child).map_err(io_err("kill the server"))?;
                }
                self.spawn_and_wait().await
            }
            Backend::Docker(container) => {
                container.start().await?;
                self.wait_ready(START_DEADLINE).await
            }
        }
    }

    async fn spawn_and_wait(&mut self) -> Result<(), Error> {
        let log_path = self.log_path();
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(io_err(format!("open {}", log_path.display())))?;
        let log2 = log
            .try_clone()
            .map_err(io_err(format!("open {}", log_path.display())))?;
        let script = mongo_server_script();
        // setpriv --pdeathsig: if the test process dies without running drop (SIGKILL, a
        // timeout), the kernel kills the server too instead of leaving it behind. The signal
        // follows the *thread* that spawned it; tokio worker threads and test threads live
        // until the server is dropped, but do not start a server from spawn_blocking.
        let mut cmd = if Path::new("/usr/bin/setpriv").exists() {
            let mut cmd = Command::new("/usr/bin/setpriv");
            cmd.args(["--pdeathsig", "KILL", "--"]).arg(&script);
            cmd
        } else {
            Command::new(&script)
        };
        cmd.arg("run")
            .arg("--listen")
            .arg(self.addr.to_string())
            .arg("--data")
            .arg(self.data.path())
            .env("NETLAB_MONGOD", &self.binary)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2);
        let child = cmd
            .spawn()
            .map_err(io_err(format!("run {} run", script.display())))?;
        tracing::info!(pid = child.id(), addr = %self.addr, binary = %self.binary.display(), "started MongoDB-compatible server");
        self.backend = Backend::Process { child: Some(child) };
        self.wait_ready(START_DEADLINE).await
    }

    /// Waits until the server accepts TCP and answers `ping`, or fails with its log's tail.
    /// Polls a real condition every few milliseconds; the deadline bounds the wait.
    async fn wait_ready(&mut self, deadline: Duration) -> Result<(), Error> {
        let until = Instant::now() + deadline;
        // First the listening socket: cheap to poll, and once it accepts, the driver's first
        // connection succeeds instead of waiting for its 500 ms monitor back-off.
        loop {
            self.check_alive().await?;
            if TcpStream::connect_timeout(&self.addr, Duration::from_millis(200)).is_ok() {
                break;
            }
            if Instant::now() >= until {
                return Err(self.not_ready(deadline));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let mut options = ClientOptions::parse(self.uri()).await?;
        options.server_selection_timeout = Some(Duration::from_millis(500));
        options.connect_timeout = Some(Duration::from_millis(500));
        let client = mongodb::Client::with_options(options)?;
        loop {
            self.check_alive().await?;
            match client.database("admin").run_command(doc! {"ping": 1}).await {
                Ok(_) => return Ok(()),
                Err(e) if Instant::now() >= until => {
                    tracing::debug!(error = %e, "last ping failed");
                    return Err(self.not_ready(deadline));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    }

    /// Fails with the exit status and log when the server process (or container) has
    /// already exited.
    async fn check_alive(&mut self) -> Result<(), Error> {
        match &mut self.backend {
            Backend::Process { child: Some(child) } => {
                if let Some(status) = child.try_wait().map_err(io_err("wait for the server"))? {
                    return Err(Error::Exited {
                        binary: self.binary.clone(),
                        status,
                        log: self.log_path(),
                        tail: log_tail(&self.log_path()),
                    });
                }
            }
            Backend::Process { child: None } => {}
            Backend::Docker(container) => {
                if !container.is_running().await? {
                    let mut out = container.stdout_to_vec().await.unwrap_or_default();
                    out.extend(container.stderr_to_vec().await.unwrap_or_default());
                    let text = String::from_utf8_lossy(&out);
                    let tail = text.get(text.len().saturating_sub(4000)..).unwrap_or(&text);
                    return Err(Error::ContainerExited {
                        image: self.binary.display().to_string(),
                        tail: if tail.is_empty() { "(no output)" } else { tail }.to_owned(),
                    });
                }
            }
        }
        Ok(())
    }

    fn not_ready(&self, deadline: Duration) -> Error {
        Error::NotReady {
            uri: self.uri(),
            deadline,
            log: self.log_path(),
            tail: log_tail(&self.log_path()),
        }
    }
}

impl Drop for MongoServer {
    fn drop(&mut self) {
        if let Backend::Process { child } = &mut self.backend
            && let Some(child) = child.take()
        {
            let pid = child.id();
            if let Err(e) = kill_and_reap(child) {
                visible_note(&format!("testkit: could not kill server PID {pid}: {e}"));
            }
        }
        // The TempDirs remove themselves; the Docker container removes itself on drop.
    }
}

fn kill_and_reap(mut child: Child) -> io::Result<()> {
    match child.try_wait()? {
        Some(_) => Ok(()),
        None => {
            child.kill()?;
            child.wait().map(drop)
        }
    }
}

/// The last lines of a log file, for error messages.
fn log_tail(path: &Path) -> String {
    const MAX: u64 = 4000;
    let Ok(mut file) = File::open(path) else {
        return "(no log)".to_owned();
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = file.seek(SeekFrom::Start(len.saturating_sub(MAX)));
    let mut text = String::new();
    let _ = file.read_to_string(&mut text);
    if text.is_empty() {
        "(empty log)".to_owned()
    } else {
        text
    }
}

/// `name[:tag]` of an image reference; the tag defaults to `latest`. A colon before the
/// last slash belongs to a registry's port (`localhost:5000/mongo`), not to a tag.
fn split_image(image: &str) -> (&str, &str) {
    match image.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => (name, tag),
        _ => (image, "latest"),
    }
}

/// Writes to the real stderr, bypassing the test harness's capture, so a skipped path is
/// seen in every run and not only in failing ones.
fn visible_note(message: &str) {
    let _ = writeln!(io::stderr(), "{message}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_is_found_from_the_manifest_folder() {
        assert!(
            mongo_server_script().is_file(),
            "{:?}",
            mongo_server_script()
        );
    }

    #[test]
    fn free_port_is_bindable() {
        let port = free_port().unwrap();
        assert_ne!(port, 0);
        TcpListener::bind((Ipv4Addr::LOCALHOST, port)).unwrap();
    }

    #[test]
    fn image_references_split_into_name_and_tag() {
        for (image, want) in [
            ("mongo", ("mongo", "latest")),
            ("mongo:5.0.6", ("mongo", "5.0.6")),
            ("netlab/ferretdb:latest", ("netlab/ferretdb", "latest")),
            ("localhost:5000/mongo", ("localhost:5000/mongo", "latest")),
            ("localhost:5000/mongo:7", ("localhost:5000/mongo", "7")),
        ] {
            assert_eq!(split_image(image), want, "{image}");
        }
    }

    #[test]
    fn log_tail_of_missing_file_says_so() {
        assert_eq!(log_tail(Path::new("/nonexistent/log")), "(no log)");
    }
}
