//! The library API: create, use and end labs. The CLI is a thin layer over this, and tests
//! use it directly; [`crate`]'s documentation is the user's guide to it.
//!
//! A `Lab` talks to the lab's supervisor over the lab's control socket. An owned lab (from
//! [`Lab::create`]) ends when its `Lab` is dropped and also, because the supervisor watches
//! a pipe whose other end only the owner holds, when the owning process dies in any way,
//! SIGKILL included.

use std::io::Read;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::error::{Error, Result};
use crate::model::fault::{FaultSpec, FaultState};
use crate::model::network::{Attachment, NetworkSpec, NetworkState};
use crate::model::{ContainerSpec, ContainerState, LabSpec};
use crate::proto::{Attach, LabInfo, Request, Response, Target};
use crate::sys::{ctl, fdpass, launch, terminal};

/// A lab, seen from a client: the handle every operation goes through.
///
/// A lab is a supervisor process that owns the lab's namespaces; a `Lab` talks to it over
/// the lab's control socket, so several handles (in this process or others of the same
/// user) can use one lab at once. Get one from [`Lab::create`] (a new lab that this handle
/// owns: it ends when the handle is dropped or this process dies), [`Lab::open`] (an
/// existing lab, e.g. one made with `netlab lab create`) or [`scenario::up`].
///
/// Methods are named after the Docker commands they reproduce (`run`, `ps`, `exec`,
/// `inspect`, `stop`, `rm`, `logs`) and after pipework; each is one request, answered
/// when the lab has done it, so no sleeping or polling is needed afterwards.
///
/// [`scenario::up`]: crate::scenario::up
#[derive(Debug)]
pub struct Lab {
    name: String,
    /// The lab's control socket, whose owner was verified when the lab was opened and is
    /// verified again on every connection.
    socket: String,
    /// Write end of the owner pipe; `Some` while this handle owns the lab.
    owner: Option<OwnedFd>,
    supervisor_pid: i32,
}

/// `docker exec`'s options for a process started with [`Lab::exec_stdio`] and its
/// siblings. Start from `ExecOptions::default()` (root, in `/`, with the container's
/// environment) and set what you need.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExecOptions {
    /// `-e KEY=VALUE`: variables added to the container's, or replacing them.
    pub env: Vec<(String, String)>,
    /// `-w DIR`: an absolute working directory; `/` when `None`.
    pub workdir: Option<String>,
    /// `-u USER[:GROUP]`, names or numbers from `/etc/passwd` and `/etc/group`; root
    /// when `None`. Its `HOME` becomes the user's unless the container or `env` set it.
    pub user: Option<String>,
}

/// What a finished [`Lab::exec`] produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// The exit code; 128 + N when signal N ended the process.
    pub code: i32,
    /// Everything it wrote to stdout.
    pub stdout: Vec<u8>,
    /// Everything it wrote to stderr.
    pub stderr: Vec<u8>,
}

impl Output {
    /// `stdout` as text (invalid UTF-8 replaced), for assertions and printing.
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}

fn uid() -> u32 {
    nix::unistd::getuid().as_raw()
}

/// The `netlab` binary that runs supervisors, found in this order: `$NETLAB_BIN`; this
/// very program when it is named `netlab`; a `netlab` next to this program or one
/// directory up (netlab's own tests run from `target/*/deps`, its examples from
/// `target/*/examples`); else `netlab` on `PATH`.
///
/// [`Lab::create`] calls it; call it yourself to fail early with a clear message. A crate
/// that uses netlab as a dev-dependency does not get the binary built by cargo: install it
/// (`cargo install --path PATH/TO/netlab`) or point `NETLAB_BIN` at one (see the crate
/// documentation).
pub fn netlab_bin() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("NETLAB_BIN") {
        return Ok(PathBuf::from(p));
    }
    if let Ok(exe) = std::env::current_exe() {
        if exe.file_name().is_some_and(|n| n == "netlab") {
            return Ok(exe);
        }
        if let Some(dir) = exe.parent() {
            for cand in [dir.join("netlab"), dir.join("../netlab")] {
                if cand.is_file() {
                    return Ok(cand);
                }
            }
        }
    }
    let path = std::env::var("PATH").unwrap_or_default();
    crate::model::command::resolve_program("netlab", &path).map_err(|_| Error::Unsupported {
        problem: "cannot find the netlab binary that runs labs".into(),
        fix: "build it with `cargo build -p netlab`, or set NETLAB_BIN to its path".into(),
    })
}

impl Lab {
    /// Creates a lab owned by this handle: it ends when the handle is dropped or this
    /// process dies. The spec is checked first ([`Error::InvalidSpec`], ...); a lab of this
    /// user with the same name gives [`Error::LabExists`], so give each test its own name.
    pub fn create(spec: &LabSpec) -> Result<Lab> {
        Self::launch(spec, true)
    }

    /// Creates a lab that lives until `down`, like one made by the CLI.
    pub fn create_detached(spec: &LabSpec) -> Result<Lab> {
        let mut lab = Self::launch(spec, true)?;
        lab.detach()?;
        Ok(lab)
    }

    /// Opens an existing lab of this user. A socket with the lab's name held by another
    /// user is refused before anything is sent to it ([`Error::Impostor`]).
    pub fn open(name: &str) -> Result<Lab> {
        crate::model::names::validate_lab_name(name)?;
        let found = ctl::find(uid(), name)?;
        let Some((socket, verified)) = found.ours.as_ref() else {
            return Err(found.missing(name, uid()));
        };
        found.warn_foreign(name, uid());
        Ok(Lab {
            name: name.into(),
            socket: socket.clone(),
            owner: None,
            supervisor_pid: verified.peer.pid,
        })
    }

    /// Opens the lab, or creates it with `spec` owned by this handle; the bool says
    /// whether it was created. The CLI detaches a lab it created once its command worked,
    /// so a command that fails or is killed half-way leaves no lab behind.
    pub fn open_or_create(spec: &LabSpec) -> Result<(Lab, bool)> {
        match Self::open(&spec.name) {
            Ok(l) => Ok((l, false)),
            // A squatter's decoy is no lab: create the real one beside it (launch warns).
            Err(Error::LabNotFound { .. } | Error::Impostor { .. }) => {
                match Self::launch(spec, true) {
                    Ok(l) => Ok((l, true)),
                    // Somebody else created it meanwhile.
                    Err(Error::LabExists { .. }) => Ok((Self::open(&spec.name)?, false)),
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Names of the caller's running labs (`netlab lab ls`).
    pub fn list() -> Vec<String> {
        ctl::list_labs(uid())
    }

    fn launch(spec: &LabSpec, owned: bool) -> Result<Lab> {
        spec.validate()?;
        let (sock, listener) = Self::claim_name(&spec.name)?;
        let listener = OwnedFd::from(listener);
        let (owner_r, owner_w) = launch::pipe()?;
        let (status_r, status_w) = launch::pipe()?;
        let mut cmd = Command::new(netlab_bin()?);
        let spec_json = serde_json::to_string(spec).map_err(|e| Error::Io {
            op: "encode lab spec".into(),
            message: e.to_string(),
        })?;
        cmd.arg("__supervisor").arg("--spec").arg(spec_json);
        if owned {
            cmd.arg("--owned");
        }
        cmd.stdin(Stdio::null()).stdout(Stdio::null());
        if std::env::var_os("NETLAB_SUPERVISOR_LOG").is_none() {
            cmd.stderr(Stdio::null());
        }
        let mut child =
            launch::spawn_supervisor(cmd, &listener, owned.then_some(&owner_r), &status_w)?;
        drop((listener, owner_r, status_w));
        let mut status = String::new();
        let _ = std::fs::File::from(status_r).read_to_string(&mut status);
        let _ = child.wait();
        match status.strip_prefix("err ") {
            Some(json) => {
                return Err(serde_json::from_str(json.trim()).unwrap_or_else(|_| {
                    Error::Supervisor {
                        lab: spec.name.clone(),
                        problem: json.trim().to_string(),
                    }
                }));
            }
            None if status.trim() != "ok" => {
                return Err(Error::Supervisor {
                    lab: spec.name.clone(),
                    problem: "the supervisor ended during start-up without a word; run with NETLAB_SUPERVISOR_LOG=1 to see its log".into(),
                });
            }
            None => {}
        }
        let conn = ctl::connect(&spec.name, &sock, uid())?.ok_or_else(|| Error::Supervisor {
            lab: spec.name.clone(),
            problem: "the supervisor reported a good start but its control socket is gone".into(),
        })?;
        let lab = Lab {
            name: spec.name.clone(),
            socket: sock,
            owner: owned.then_some(owner_w),
            supervisor_pid: conn.peer.pid,
        };
        drop(conn);
        tracing::info!(lab = %spec.name, pid = lab.supervisor_pid, "lab created");
        if let Some(dev) = &spec.uplink_dev {
            // Dropping `lab` on error ends the half-made lab (it is still owned here).
            let me = crate::sys::nsfd::current_net()?;
            let conn = lab.connect()?;
            lab.call_on(
                &conn,
                &Request::AdoptUplink { dev: dev.clone() },
                &[me.as_raw_fd()],
            )?;
            if spec.attach_uplink {
                lab.uplink_attach()?;
            }
        }
        Ok(lab)
    }

    /// Binds a fresh control-socket name for lab `name`, unless a live lab of this user
    /// has that name. The user's lock makes the look and the bind one atomic step.
    fn claim_name(name: &str) -> Result<(String, std::os::unix::net::UnixListener)> {
        let _lock = ctl::lock_user(uid())?;
        let found = ctl::find(uid(), name)?;
        if found.ours.is_some() {
            return Err(Error::LabExists { lab: name.into() });
        }
        found.warn_foreign(name, uid());
        // 128 random bits: a taken name means a squatter guessed it, which it cannot.
        for _ in 0..4 {
            let sock = ctl::fresh_name(uid(), name)?;
            if let Some(listener) = ctl::bind(&sock)? {
                return Ok((sock, listener));
            }
        }
        Err(Error::Supervisor {
            lab: name.into(),
            problem: "four fresh random control-socket names were all taken".into(),
        })
    }

    /// The lab's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The supervisor's PID as this process sees it.
    pub fn supervisor_pid(&self) -> i32 {
        self.supervisor_pid
    }

    /// Whether dropping this handle ends the lab.
    pub fn is_owner(&self) -> bool {
        self.owner.is_some()
    }

    /// A connection to the lab's supervisor, whose uid is checked before anything is sent.
    pub(crate) fn connect(&self) -> Result<UnixStream> {
        ctl::connect(&self.name, &self.socket, uid())?
            .map(|v| v.stream)
            .ok_or_else(|| Error::LabNotFound {
                lab: self.name.clone(),
            })
    }

    pub(crate) fn call_on(
        &self,
        conn: &UnixStream,
        req: &Request,
        fds: &[i32],
    ) -> Result<(Response, Vec<OwnedFd>)> {
        self.send_on(conn, req, fds)?;
        self.answer_on(conn)
    }

    fn lost(&self, e: std::io::Error) -> Error {
        Error::Supervisor {
            lab: self.name.clone(),
            problem: format!("lost the lab's supervisor: {e}"),
        }
    }

    fn send_on(&self, conn: &UnixStream, req: &Request, fds: &[i32]) -> Result<()> {
        let bytes = serde_json::to_vec(req).map_err(|e| Error::Io {
            op: "encode request".into(),
            message: e.to_string(),
        })?;
        fdpass::send(conn, &bytes, fds).map_err(|e| self.lost(e))
    }

    fn answer_on(&self, conn: &UnixStream) -> Result<(Response, Vec<OwnedFd>)> {
        let lost = |e| self.lost(e);
        let (payload, fds) =
            fdpass::recv(conn)
                .map_err(lost)?
                .ok_or_else(|| Error::Supervisor {
                    lab: self.name.clone(),
                    problem: "the supervisor closed the connection (the lab ended?)".into(),
                })?;
        match serde_json::from_slice::<Response>(&payload) {
            Ok(Response::Error { error }) => Err(error),
            Ok(r) => Ok((r, fds)),
            Err(e) => Err(Error::Supervisor {
                lab: self.name.clone(),
                problem: format!("malformed answer: {e}"),
            }),
        }
    }

    fn call(&self, req: &Request) -> Result<Response> {
        Ok(self.call_on(&self.connect()?, req, &[])?.0)
    }

    pub(crate) fn unexpected(&self, r: Response) -> Error {
        Error::Supervisor {
            lab: self.name.clone(),
            problem: format!("unexpected answer {r:?}"),
        }
    }

    fn container(&self, req: &Request) -> Result<ContainerState> {
        match self.call(req)? {
            Response::Container { container } => Ok(container),
            r => Err(self.unexpected(r)),
        }
    }

    /// The lab's spec and counts, as `netlab lab ls` shows them.
    pub fn info(&self) -> Result<LabInfo> {
        match self.call(&Request::Info)? {
            Response::Info { info } => Ok(info),
            r => Err(self.unexpected(r)),
        }
    }

    /// `docker run -d`: builds the container (namespaces, veth on the bridge, address,
    /// routes, `/etc/hosts`, published ports) and starts its command; returns once it runs,
    /// with the address and host ports the lab chose. Nothing is left behind when it fails.
    pub fn run(&self, spec: &ContainerSpec) -> Result<ContainerState> {
        self.container(&Request::Run {
            spec: spec.clone(),
            attach: None,
        })
    }

    /// `docker run` in the foreground: builds and starts the container like [`Lab::run`],
    /// with `stdin` as its process's input when given (`-i`; otherwise none), copies its
    /// output to `stdout` and `stderr` as it comes, and returns the exit code when the
    /// process ends. A `--rm` container is removed by then.
    pub fn run_attached(
        &self,
        spec: &ContainerSpec,
        stdin: Option<&dyn AsRawFd>,
        stdout: &dyn AsRawFd,
        stderr: &dyn AsRawFd,
    ) -> Result<i32> {
        let conn = self.connect()?;
        let req = Request::Run {
            spec: spec.clone(),
            attach: Some(Attach::Output {
                stdin: stdin.is_some(),
            }),
        };
        let fds: Vec<i32> = stdin
            .into_iter()
            .chain([stdout, stderr])
            .map(|f| f.as_raw_fd())
            .collect();
        let answer = self.call_on(&conn, &req, &fds)?.0;
        self.exit_code(answer)
    }

    /// `docker run -t [-i]` in the foreground: like [`Lab::run_attached`], but the process
    /// runs on a new pseudo-terminal that becomes its controlling terminal, `output` is
    /// the screen and `input` (`-i`), when given, the keyboard (a terminal is put in raw
    /// mode meanwhile). Returns its exit code.
    pub fn run_terminal(
        &self,
        spec: &ContainerSpec,
        input: Option<BorrowedFd<'_>>,
        output: &mut dyn std::io::Write,
    ) -> Result<i32> {
        let req = Request::Run {
            spec: spec.clone(),
            attach: Some(Attach::Terminal),
        };
        self.on_terminal(&req, input, output)
    }

    /// Several `docker run -d` at once, for containers that do not link to each other:
    /// addresses are taken in the list's order (as one `run` after the other would take
    /// them), the containers are built side by side, and either all run afterwards or none
    /// is left. `netlab up` starts each wave of a scenario this way.
    pub fn run_many(&self, specs: &[ContainerSpec]) -> Result<Vec<ContainerState>> {
        match self.call(&Request::RunMany {
            specs: specs.to_vec(),
        })? {
            Response::Containers { containers } => Ok(containers),
            r => Err(self.unexpected(r)),
        }
    }

    /// `docker ps [-a]`: the running containers, or with `all` every container.
    pub fn ps(&self, all: bool) -> Result<Vec<ContainerState>> {
        match self.call(&Request::Ps { all })? {
            Response::Containers { containers } => Ok(containers),
            r => Err(self.unexpected(r)),
        }
    }

    /// `docker inspect NAME`: the container's state, addresses and ports.
    pub fn inspect(&self, name: &str) -> Result<ContainerState> {
        self.container(&Request::Inspect { name: name.into() })
    }

    /// `docker start NAME`: runs a created or exited container's command again, with the
    /// same address.
    pub fn start(&self, name: &str) -> Result<ContainerState> {
        self.container(&Request::Start { name: name.into() })
    }

    /// `docker stop -t SECS NAME`: SIGTERM, then SIGKILL after `timeout_secs`; returns once
    /// the container's processes are gone.
    pub fn stop(&self, name: &str, timeout_secs: u64) -> Result<()> {
        self.call(&Request::Stop {
            name: name.into(),
            timeout_secs,
        })
        .map(drop)
    }

    /// `docker rm [-f] NAME`: removes the container and everything made for it (with
    /// `force`, a running one is killed first).
    pub fn rm(&self, name: &str, force: bool) -> Result<()> {
        self.call(&Request::Rm {
            name: name.into(),
            force,
        })
        .map(drop)
    }

    /// Waits until the container's current run ends; returns its exit code.
    pub fn wait(&self, name: &str) -> Result<i32> {
        match self.call(&Request::Wait { name: name.into() })? {
            Response::Exited { code } => Ok(code),
            r => Err(self.unexpected(r)),
        }
    }

    /// `docker logs [-f]`: copies the container's output to `out` and `err` (any file
    /// descriptors: a file, a pipe, this process's stdout); with `follow`, until it ends.
    pub fn logs(
        &self,
        name: &str,
        follow: bool,
        out: &impl AsRawFd,
        err: &impl AsRawFd,
    ) -> Result<()> {
        let conn = self.connect()?;
        self.call_on(
            &conn,
            &Request::Logs {
                name: name.into(),
                follow,
            },
            &[out.as_raw_fd(), err.as_raw_fd()],
        )
        .map(drop)
    }

    /// Runs `argv` at `target` (in `workdir`, `/` if `None`) with the given fds as its
    /// stdin, stdout and stderr; returns its exit code. The process is killed if this call
    /// is abandoned.
    pub fn exec_with(
        &self,
        target: &Target,
        argv: &[String],
        env: &[(String, String)],
        workdir: Option<&str>,
        stdio: [&dyn AsRawFd; 3],
    ) -> Result<i32> {
        let opts = ExecOptions {
            env: env.to_vec(),
            workdir: workdir.map(str::to_string),
            ..ExecOptions::default()
        };
        self.exec_stdio(target, argv, &opts, stdio)
    }

    /// `docker exec [-e …] [-w DIR] [-u USER]`: runs `argv` at `target` with `opts` and
    /// the given fds as its stdin, stdout and stderr; returns its exit code. The process
    /// is killed if this call is abandoned. A container that is not running is
    /// [`Error::NotRunning`].
    pub fn exec_stdio(
        &self,
        target: &Target,
        argv: &[String],
        opts: &ExecOptions,
        stdio: [&dyn AsRawFd; 3],
    ) -> Result<i32> {
        let conn = self.connect()?;
        let req = exec_request(target, argv, opts, false);
        let fds = stdio.map(|f| f.as_raw_fd());
        let answer = self.call_on(&conn, &req, &fds)?.0;
        self.exit_code(answer)
    }

    fn exit_code(&self, answer: Response) -> Result<i32> {
        match answer {
            Response::Exited { code } => Ok(code),
            r => Err(self.unexpected(r)),
        }
    }

    /// `docker exec -it`: runs `argv` at `target` on a new pseudo-terminal that becomes its
    /// controlling terminal, with `terminal` (the user's, put in raw mode meanwhile) as the
    /// keyboard and `output` as the screen. Ctrl-C, Ctrl-Z and window sizes reach the
    /// process as they would on a login.
    pub fn exec_terminal(
        &self,
        target: &Target,
        argv: &[String],
        env: &[(String, String)],
        workdir: Option<&str>,
        terminal: BorrowedFd<'_>,
        output: &mut dyn std::io::Write,
    ) -> Result<i32> {
        let opts = ExecOptions {
            env: env.to_vec(),
            workdir: workdir.map(str::to_string),
            ..ExecOptions::default()
        };
        self.exec_pty(target, argv, &opts, Some(terminal), output)
    }

    /// `docker exec -d`: starts `argv` at `target` with no input or output (`/dev/null`)
    /// and returns once it runs; it lives on after this call, until it ends or the lab
    /// does.
    pub fn exec_detached(
        &self,
        target: &Target,
        argv: &[String],
        opts: &ExecOptions,
    ) -> Result<()> {
        let conn = self.connect()?;
        let mut req = exec_request(target, argv, opts, false);
        if let Request::Exec { detach, .. } = &mut req {
            *detach = true;
        }
        match self.call_on(&conn, &req, &[])?.0 {
            Response::Ok => Ok(()),
            r => Err(self.unexpected(r)),
        }
    }

    /// `docker exec -t [-i]`: runs `argv` at `target` on a new pseudo-terminal that
    /// becomes its controlling terminal, with `output` as the screen and `input` (`-i`),
    /// when given, as the keyboard: a terminal is put in raw mode meanwhile, so Ctrl-C,
    /// Ctrl-Z and window sizes reach the process as they would on a login. Returns its
    /// exit code.
    pub fn exec_pty(
        &self,
        target: &Target,
        argv: &[String],
        opts: &ExecOptions,
        input: Option<BorrowedFd<'_>>,
        output: &mut dyn std::io::Write,
    ) -> Result<i32> {
        let req = exec_request(target, argv, opts, true);
        self.on_terminal(&req, input, output)
    }

    /// Sends `req` (an `exec` or `run` on a terminal) with a new pseudo-terminal's slave
    /// end, relays between it and the user until the answer comes, and returns the exit
    /// code.
    fn on_terminal(
        &self,
        req: &Request,
        input: Option<BorrowedFd<'_>>,
        output: &mut dyn std::io::Write,
    ) -> Result<i32> {
        let pty = terminal::open_pty(input)?;
        let conn = self.connect()?;
        let slave = pty.slave.as_raw_fd();
        let fds: &[i32] = match req {
            Request::Run { .. } => &[slave],
            _ => &[slave, slave, slave],
        };
        self.send_on(&conn, req, fds)?;
        // Only the process may hold the slave end, or the pty never reports its end.
        drop(pty.slave);
        let raw = match input {
            Some(fd) if terminal::is_terminal(fd) => Some(terminal::RawMode::enter(fd)?),
            _ => None,
        };
        let relayed = terminal::relay(&pty.master, input, output, conn.as_fd());
        drop(raw);
        relayed?;
        let answer = self.answer_on(&conn)?.0;
        self.exit_code(answer)
    }

    /// `docker exec`: runs `argv` at `target` (a container, the lab host or a LAN machine)
    /// with no input and collects its output; returns when it ends. A non-zero exit is no
    /// error: look at [`Output::code`].
    pub fn exec(&self, target: &Target, argv: &[&str]) -> Result<Output> {
        let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
        let devnull =
            std::fs::File::open("/dev/null").map_err(|e| Error::io("open /dev/null", &e))?;
        let (out_r, out_w) = launch::pipe()?;
        let (err_r, err_w) = launch::pipe()?;
        let reader = |fd: OwnedFd| {
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let _ = std::fs::File::from(fd).read_to_end(&mut buf);
                buf
            })
        };
        let (ro, re) = (reader(out_r), reader(err_r));
        let code = self.exec_with(target, &argv, &[], None, [&devnull, &out_w, &err_w]);
        drop((out_w, err_w));
        let stdout = ro.join().unwrap_or_default();
        let stderr = re.join().unwrap_or_default();
        Ok(Output {
            code: code?,
            stdout,
            stderr,
        })
    }

    /// A TCP connection opened from inside `target` (the lab host or a container) to
    /// `addr`. The socket lives in that namespace, so it works for rootless labs too,
    /// where this process could not enter the namespace itself.
    pub fn connect_tcp(&self, target: &Target, addr: SocketAddr) -> Result<std::net::TcpStream> {
        self.socket_from(&Request::Connect {
            target: target.clone(),
            addr,
        })
        .map(std::net::TcpStream::from)
    }

    /// The socket the supervisor opened for `req` in a namespace of the lab.
    fn socket_from(&self, req: &Request) -> Result<OwnedFd> {
        let conn = self.connect()?;
        let (_, mut fds) = self.call_on(&conn, req, &[])?;
        fds.pop().ok_or_else(|| Error::Supervisor {
            lab: self.name.clone(),
            problem: "no socket came back".into(),
        })
    }

    /// A TCP listener at `addr` inside `target` (the lab host or a container): what
    /// connects to it there is accepted here, by this process.
    pub fn listen_tcp(&self, target: &Target, addr: SocketAddr) -> Result<std::net::TcpListener> {
        self.socket_from(&Request::Listen {
            target: target.clone(),
            addr,
        })
        .map(std::net::TcpListener::from)
    }

    /// Makes a service of this process's world answer inside the lab: connections to
    /// `listen` in `target` are relayed to `to`, which this process connects to from its
    /// own network namespace (a MongoDB that testcontainers started on this machine's
    /// loopback, say, reached by the lab's containers as `mongodb:27017`). The relay runs
    /// in this process's threads until the returned guard is dropped; it works for
    /// rootless labs too.
    pub fn forward(&self, target: &Target, listen: SocketAddr, to: SocketAddr) -> Result<Forward> {
        Forward::start(self.listen_tcp(target, listen)?, to)
    }

    /// `netlab trace`: sends one probe (TCP connect, UDP datagram or ICMP echo) from
    /// `spec.from` to `spec.dest` and explains its path from the kernel's evidence: route
    /// lookups, neighbour entries, bridge FDB entries, the nft rules it met (from nftables
    /// tracing), the listening socket and its process, and a [`Verdict`](crate::Verdict).
    pub fn trace(&self, spec: &crate::model::trace::TraceSpec) -> Result<crate::Trace> {
        match self.call(&Request::Trace { spec: spec.clone() })? {
            Response::Trace { trace } => Ok(trace),
            r => Err(self.unexpected(r)),
        }
    }

    /// `pipework BRIDGE [-i IF] [-l HOSTIF] CONTAINER IP/PREFIX[@GW] [MAC]`.
    pub fn pipework(
        &self,
        spec: &crate::model::pipework::PipeworkSpec,
    ) -> Result<crate::model::PipeworkIf> {
        match self.call(&Request::Pipework { spec: spec.clone() })? {
            Response::Pipework { iface } => Ok(iface),
            r => Err(self.unexpected(r)),
        }
    }

    /// Applies a fault and returns a guard that heals it when dropped, so a test that
    /// panics leaves no fault behind (the lab's end removes every fault anyway). A fault
    /// with a duration also heals itself when the time is up.
    ///
    /// ```no_run
    /// # fn main() -> netlab::Result<()> {
    /// # let lab = netlab::Lab::open("default")?;
    /// use std::time::Duration;
    /// use netlab::FaultSpec;
    /// let cut = lab.fault(&FaultSpec::partition(&["webserver1"], &["mongodb"]))?;
    /// // ... the web server answers 503 ...
    /// cut.heal()?; // or let it go out of scope
    /// let _slow = lab.fault(&FaultSpec::delay("webserver1", Duration::from_millis(300)).to(&["mongodb"]))?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn fault(&self, spec: &FaultSpec) -> Result<FaultGuard<'_>> {
        let state = self.apply_fault(spec)?;
        Ok(FaultGuard {
            lab: self,
            state: Some(state),
        })
    }

    /// Applies a fault that stays until healed by name ([`Lab::heal`]), its duration ends
    /// or the lab does (`netlab fault ...`).
    pub fn apply_fault(&self, spec: &FaultSpec) -> Result<FaultState> {
        match self.call(&Request::Fault { spec: spec.clone() })? {
            Response::Fault { fault } => Ok(fault),
            r => Err(self.unexpected(r)),
        }
    }

    /// Heals the faults named (their names or `fault-N`); every fault when `names` is
    /// empty. Returns the names healed.
    pub fn heal(&self, names: &[&str]) -> Result<Vec<String>> {
        let names = names.iter().map(|n| n.to_string()).collect();
        match self.call(&Request::Heal { names })? {
            Response::Healed { names } => Ok(names),
            r => Err(self.unexpected(r)),
        }
    }

    /// The active faults (`netlab faults`).
    pub fn faults(&self) -> Result<Vec<FaultState>> {
        match self.call(&Request::Faults)? {
            Response::Faults { faults } => Ok(faults),
            r => Err(self.unexpected(r)),
        }
    }

    /// `docker network create`: a network of the lab's own (a bridge, or macvlan devices
    /// of a parent interface), as the lab made it (with the subnet it chose).
    ///
    /// ```no_run
    /// # fn main() -> netlab::Result<()> {
    /// # let lab = netlab::Lab::open("default")?;
    /// use netlab::{Attachment, CommandSpec, ContainerSpec, NetworkSpec};
    /// lab.create_network(&NetworkSpec::new("appnet"))?;
    /// let mut db = ContainerSpec::new("mongodb", CommandSpec::Shell("sleep 600".into()));
    /// db.networks.push(Attachment::new("appnet"));
    /// lab.run(&db)?; // web servers on appnet reach it as `mongodb` through the DNS
    /// # Ok(()) }
    /// ```
    pub fn create_network(&self, spec: &NetworkSpec) -> Result<NetworkState> {
        match self.call(&Request::NetworkCreate { spec: spec.clone() })? {
            Response::Network { network } => Ok(network),
            r => Err(self.unexpected(r)),
        }
    }

    /// `docker network rm`: refused while a container is on it.
    pub fn remove_network(&self, name: &str) -> Result<()> {
        self.call(&Request::NetworkRm { name: name.into() })
            .map(drop)
    }

    /// `docker network ls`: `bridge`, `host`, `none`, then the lab's own by name.
    pub fn networks(&self) -> Result<Vec<NetworkState>> {
        match self.call(&Request::NetworkLs)? {
            Response::Networks { networks } => Ok(networks),
            r => Err(self.unexpected(r)),
        }
    }

    /// `docker network inspect` of one network (by name or ID prefix).
    pub fn inspect_network(&self, name: &str) -> Result<NetworkState> {
        match self.call(&Request::NetworkInspect { name: name.into() })? {
            Response::Network { network } => Ok(network),
            r => Err(self.unexpected(r)),
        }
    }

    /// `docker network connect [--ip IP] [--alias A] NET CONTAINER`: a new interface in
    /// the container (the first free `ethN`) on `attachment.network`.
    pub fn connect_network(&self, container: &str, attachment: &Attachment) -> Result<()> {
        self.call(&Request::NetworkConnect {
            container: container.into(),
            attachment: attachment.clone(),
        })
        .map(drop)
    }

    /// `docker network disconnect NET CONTAINER`.
    pub fn disconnect_network(&self, network: &str, container: &str) -> Result<()> {
        self.call(&Request::NetworkDisconnect {
            network: network.into(),
            container: container.into(),
        })
        .map(drop)
    }

    /// `docker network prune`: removes the networks no container is on; returns their names.
    pub fn prune_networks(&self) -> Result<Vec<String>> {
        match self.call(&Request::NetworkPrune)? {
            Response::Pruned { names } => Ok(names),
            r => Err(self.unexpected(r)),
        }
    }

    /// The article's last section on the lab host: `ip addr del ADDR dev eth1; ip link set
    /// eth1 master docker0`.
    pub fn uplink_attach(&self) -> Result<()> {
        self.call(&Request::UplinkAttach).map(drop)
    }

    /// Makes the lab independent of this handle: it lives until `down`.
    pub fn detach(&mut self) -> Result<()> {
        if self.owner.is_some() {
            self.call(&Request::Detach)?;
            self.owner = None;
        }
        Ok(())
    }

    /// Ends the lab and waits until its supervisor is gone.
    pub fn down(mut self) -> Result<()> {
        // Closing the owner pipe first would make the supervisor end the lab on its own
        // and possibly exit before reading `Down`, failing this call with ECONNRESET.
        let owner = self.owner.take();
        let result = self.down_inner();
        drop(owner);
        result
    }

    fn down_inner(&self) -> Result<()> {
        let conn = self.connect()?;
        self.call_on(&conn, &Request::Down, &[])?;
        // The supervisor exits after answering; EOF tells that it is going.
        let mut c = &conn;
        let _ = c.read(&mut [0u8; 1]);
        // The kernel may release this connection before the listener of the exiting
        // process (deferred fput), so wait until the lab's name is free too: a `down`
        // that returned means the name can be used again at once.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let mut pause = std::time::Duration::from_micros(200);
        while !matches!(ctl::probe(&self.socket, uid())?, ctl::Probe::Gone) {
            if std::time::Instant::now() > deadline {
                return Err(Error::Supervisor {
                    lab: self.name.clone(),
                    problem: "the supervisor answered `down` but did not exit within 5 s".into(),
                });
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(std::time::Duration::from_millis(20));
        }
        Ok(())
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if self.owner.is_some() {
            if let Err(e) = self.down_inner() {
                tracing::debug!("ending lab {}: {e}", self.name);
            }
            self.owner = None;
        }
    }
}

/// The PID, as this process sees it, of the process that is `inner` in the PID namespace
/// of `supervisor` (the lab's init): turns a [`ContainerState::pid`] and
/// [`Lab::supervisor_pid`] into a PID to signal or look up in `/proc`. `None` when no such
/// process is visible (it ended, or the lab is another user's).
pub fn outer_pid(supervisor: i32, inner: i32) -> Option<i32> {
    if inner <= 0 {
        return None;
    }
    let ns = std::fs::read_link(format!("/proc/{supervisor}/ns/pid")).ok()?;
    for e in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
            continue;
        };
        let nspid: Vec<i32> = status
            .lines()
            .find_map(|l| l.strip_prefix("NSpid:"))
            .map(|l| {
                l.split_whitespace()
                    .filter_map(|x| x.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        if nspid.len() >= 2
            && nspid.last() == Some(&inner)
            && std::fs::read_link(format!("/proc/{pid}/ns/pid"))
                .ok()
                .as_ref()
                == Some(&ns)
        {
            return Some(pid);
        }
    }
    None
}

fn exec_request(target: &Target, argv: &[String], opts: &ExecOptions, tty: bool) -> Request {
    Request::Exec {
        target: target.clone(),
        argv: argv.to_vec(),
        env: opts.env.clone(),
        workdir: opts.workdir.clone(),
        tty,
        user: opts.user.clone(),
        detach: false,
    }
}

/// A fault applied by [`Lab::fault`]: healed when dropped, unless [`FaultGuard::keep`]
/// let it stay.
#[must_use = "the fault is healed as soon as the guard is dropped"]
#[derive(Debug)]
pub struct FaultGuard<'l> {
    lab: &'l Lab,
    state: Option<FaultState>,
}

impl FaultGuard<'_> {
    /// The fault as the lab applied it: its name, its seed (to replay it), ...
    pub fn state(&self) -> &FaultState {
        self.state
            .as_ref()
            .expect("a guard holds its fault until it is consumed")
    }

    /// The name to heal it by.
    pub fn name(&self) -> &str {
        &self.state().name
    }

    /// Heals it now, with the error if healing fails.
    pub fn heal(mut self) -> Result<()> {
        match self.state.take() {
            Some(s) => self.lab.heal(&[&s.name]).map(drop),
            None => Ok(()),
        }
    }

    /// Lets the fault stay after the guard (until healed by name, its duration, or the lab's end).
    pub fn keep(mut self) -> FaultState {
        self.state
            .take()
            .expect("a guard holds its fault until it is consumed")
    }
}

impl Drop for FaultGuard<'_> {
    fn drop(&mut self) {
        if let Some(s) = self.state.take()
            && let Err(e) = self.lab.heal(&[&s.name])
        {
            // Healed by its duration meanwhile, or the lab is gone: nothing is left.
            tracing::debug!("healing {} on drop: {e}", s.name);
        }
    }
}

/// A relay from a listener in a lab to an address of this process's world
/// ([`Lab::forward`]); stops accepting, and closes every relayed connection, when dropped.
#[derive(Debug)]
pub struct Forward {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    local: SocketAddr,
    acceptor: Option<std::thread::JoinHandle<()>>,
}

impl Forward {
    fn start(listener: std::net::TcpListener, to: SocketAddr) -> Result<Forward> {
        use std::sync::atomic::{AtomicBool, Ordering};
        let local = listener
            .local_addr()
            .map_err(|e| Error::kernel_io("getsockname", "forward listener", &e))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| Error::kernel_io("fcntl", "forward listener", &e))?;
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let acceptor = std::thread::Builder::new()
            .name(format!("forward {local}"))
            .spawn(move || {
                let mut open: Vec<std::net::TcpStream> = vec![];
                while !flag.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((inside, _)) => match relay(inside, to) {
                            Ok(kept) => open.extend(kept),
                            Err(e) => tracing::warn!("forward to {to}: {e}"),
                        },
                        // Polled: the listener is non-blocking so that the guard's drop is
                        // seen within this period.
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                            std::thread::sleep(std::time::Duration::from_millis(20));
                        }
                        Err(e) => tracing::warn!("forward {local}: accept: {e}"),
                    }
                }
                for s in open {
                    let _ = s.shutdown(std::net::Shutdown::Both);
                }
            })
            .map_err(|e| Error::kernel_io("spawn", "forward thread", &e))?;
        Ok(Forward {
            stop,
            local,
            acceptor: Some(acceptor),
        })
    }

    /// Where it listens, inside the lab.
    pub fn listen_addr(&self) -> SocketAddr {
        self.local
    }
}

/// Connects to `to` and copies both ways between it and `inside` on two threads; returns
/// the two streams kept to shut them down when the forward ends.
fn relay(inside: std::net::TcpStream, to: SocketAddr) -> std::io::Result<Vec<std::net::TcpStream>> {
    inside.set_nonblocking(false)?;
    let outside = std::net::TcpStream::connect_timeout(&to, std::time::Duration::from_secs(5))?;
    let _ = inside.set_nodelay(true);
    let _ = outside.set_nodelay(true);
    let keep = vec![inside.try_clone()?, outside.try_clone()?];
    for (mut from, mut into) in [
        (inside.try_clone()?, outside.try_clone()?),
        (outside, inside),
    ] {
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut from, &mut into);
            let _ = into.shutdown(std::net::Shutdown::Write);
        });
    }
    Ok(keep)
}

impl Drop for Forward {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.acceptor.take() {
            let _ = t.join();
        }
    }
}
