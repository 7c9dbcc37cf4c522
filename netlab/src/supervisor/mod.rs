//! The lab supervisor: PID 1 of the lab's PID namespace, living in the lab host's network
//! namespace, holding every container's namespaces, and answering clients on the lab's
//! control socket. When it dies, for whatever reason, the kernel removes the whole lab.

mod capture;
mod container;
mod dns;
mod endpoint;
mod exit;
#[cfg(test)]
mod fake;
mod faults;
mod lab;
mod lan;
mod lifecycle;
mod logs;
mod network;
mod pipework;
pub(crate) mod plan;
mod publish;
mod trace;

use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::error::{Error, Result};
use crate::model::{
    ContainerSpec, ContainerState, ContainerStatus, LabSpec, command::resolve_program, env, limits,
};
use crate::proto::{Attach, Request, Response, Target};
use crate::sys::launch::{self, LISTENER_FD, OWNER_FD, STATUS_FD};
use crate::sys::nsfd;
use crate::sys::reaper::{self, Reaper};
use crate::sys::spawn::{bad_workdir, run_as, spawn_in, spawn_in_terminal};
use crate::sys::{ctl, fdpass};
use container::{Attached, Container, Prepared};
use lab::{Lab, Summary};

/// How long `down` lets processes end after SIGTERM before PID 1 exits, which kills the
/// rest: short, because `down` must end a lab within a second whatever it is doing.
const DOWN_GRACE: Duration = Duration::from_millis(500);

struct Shared {
    lab: Mutex<Lab>,
    /// What `Info` answers, readable while a request holds the lab lock.
    summary: Arc<Mutex<Summary>>,
    owned: AtomicBool,
    name: String,
    /// The lab is ending: `--restart` starts nothing any more.
    ending: AtomicBool,
}

impl Shared {
    /// The lab lock. A request that panicked while holding it poisons it; the lab stays
    /// usable (each operation validates before it applies and rolls back on failure), as
    /// it did before the lock was a std one.
    fn lab(&self) -> MutexGuard<'_, Lab> {
        self.lab.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Entry of `netlab __supervisor`: never returns.
pub fn main(spec: LabSpec, owned: bool) -> ! {
    let Some(status) = launch::take_fd(STATUS_FD) else {
        eprintln!("netlab __supervisor is started by netlab itself, not by hand");
        std::process::exit(2);
    };
    let fail = |status: OwnedFd, e: Error| -> ! {
        launch::report_status(status, Some(&e));
        std::process::exit(1)
    };
    let Some(listener) = launch::take_fd(LISTENER_FD) else {
        fail(
            status,
            Error::Supervisor {
                lab: spec.name.clone(),
                problem: "started without its control socket".into(),
            },
        )
    };
    let owner = if owned {
        launch::take_fd(OWNER_FD)
    } else {
        None
    };
    let early = launch::enter_lab_namespaces()
        .and_then(|()| launch::become_pid1())
        .and_then(|()| {
            reaper::block_sigchld().map_err(|e| Error::kernel("sigprocmask", "SIGCHLD", e))
        })
        .and_then(|()| launch::setup_lab_mounts());
    launch::raise_fd_limit();
    if let Err(e) = early {
        fail(status, e);
    }
    let reaper = match Reaper::start() {
        Ok(r) => r,
        Err(e) => fail(status, Error::kernel("signalfd", "SIGCHLD", e)),
    };
    let name = spec.name.clone();
    let (events, ended) = std::sync::mpsc::channel();
    let lab = match Lab::build(spec, reaper, events) {
        Ok(lab) => lab,
        Err(e) => fail(status, e),
    };
    let shared = Arc::new(Shared {
        summary: lab.summary.clone(),
        lab: Mutex::new(lab),
        owned: AtomicBool::new(owned),
        name,
        ending: AtomicBool::new(false),
    });
    lifecycle::spawn(shared.clone(), ended);
    if let Err(e) = ctl::claim_listener(&listener) {
        fail(status, e);
    }
    launch::report_status(status, None);

    if let Some(owner) = owner {
        let s = shared.clone();
        std::thread::spawn(move || {
            // Nothing is ever written: read returns when the owner's end closes, which
            // the kernel does when the owner exits, however it exits.
            let mut f = std::fs::File::from(owner);
            let _ = f.read(&mut [0u8; 1]);
            if s.owned.load(Ordering::SeqCst) {
                tracing::info!("owner is gone; ending the lab");
                shutdown(&s);
            }
        });
    }
    match reaper::termination_pipe() {
        Ok(pipe) => {
            let s = shared.clone();
            std::thread::spawn(move || {
                // SIGTERM or SIGINT ends the lab.
                let _ = std::fs::File::from(pipe).read(&mut [0u8; 1]);
                shutdown(&s);
            });
        }
        Err(e) => tracing::warn!("SIGTERM will not end the lab gracefully: {e}"),
    }
    let listener = UnixListener::from(listener);
    for conn in listener.incoming() {
        let Ok(conn) = conn else { continue };
        let s = shared.clone();
        let _ = std::thread::Builder::new()
            .name("client".into())
            .spawn(move || serve(&s, conn));
    }
    std::process::exit(0)
}

/// Ends the lab: SIGTERM to every process of the lab, a short grace, then PID 1 exits and
/// the kernel kills what is left and frees the namespaces.
///
/// It takes no lock and asks nothing of the lab's state, so it ends the lab just as fast
/// while another client's request holds the lab lock or is in the middle of long work
/// (that request's thread dies with the process). As PID 1 of the lab's PID namespace,
/// `kill(-1, ...)` reaches every other process of the lab and nothing outside it.
fn shutdown(s: &Shared) -> ! {
    s.ending.store(true, Ordering::SeqCst);
    let everyone = Pid::from_raw(-1);
    let _ = kill(everyone, Signal::SIGTERM);
    let deadline = Instant::now() + DOWN_GRACE;
    let mut pause = Duration::from_millis(1);
    // Signal 0 to everyone fails with ESRCH once no other process is left (the reaper
    // thread reaps them as they end).
    while kill(everyone, None).is_ok() && Instant::now() < deadline {
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
    tracing::info!(lab = %s.name, "lab down");
    std::process::exit(0)
}

fn serve(s: &Arc<Shared>, conn: UnixStream) {
    // Only the lab's owner may talk to it. The kernel translates the client's uid into
    // this lab's user namespace, so in a rootless lab the owner shows as 0 like us, and
    // every other user as the overflow uid.
    match ctl::peer(&conn) {
        Ok(p) if p.uid == nix::unistd::getuid().as_raw() => {}
        Ok(p) => {
            tracing::warn!(pid = p.pid, uid = p.uid, "refused a client of another user");
            let error = Error::Supervisor {
                lab: s.name.clone(),
                problem: "this lab belongs to another user; it answers only its owner".into(),
            };
            let _ = reply(&conn, &Response::Error { error }, &[]);
            return;
        }
        Err(e) => {
            tracing::warn!("refused a client whose credentials cannot be read: {e}");
            return;
        }
    }
    loop {
        let (req, fds) = match fdpass::recv(&conn) {
            Ok(Some((payload, fds))) => match serde_json::from_slice::<Request>(&payload) {
                Ok(r) => (r, fds),
                Err(e) => {
                    let error = Error::Supervisor {
                        lab: s.name.clone(),
                        problem: format!("malformed request: {e}"),
                    };
                    let _ = reply(&conn, &Response::Error { error }, &[]);
                    return;
                }
            },
            _ => return,
        };
        tracing::debug!(?req, "request");
        let down = matches!(req, Request::Down);
        // After an exec a watcher thread reads this connection to notice a vanished client,
        // so nothing else may be read from it.
        let last = matches!(req, Request::Exec { .. });
        let answer = handle(s, &conn, req, fds);
        let (resp, fds) = match answer {
            Ok((r, fds)) => (r, fds),
            Err(error) => (Response::Error { error }, vec![]),
        };
        let raw: Vec<i32> = fds.iter().map(|f| f.as_raw_fd()).collect();
        if reply(&conn, &resp, &raw).is_err() {
            return;
        }
        if down {
            shutdown(s);
        }
        if last {
            return;
        }
    }
}

fn reply(conn: &UnixStream, resp: &Response, fds: &[i32]) -> std::io::Result<()> {
    let bytes = serde_json::to_vec(resp).map_err(std::io::Error::other)?;
    fdpass::send(conn, &bytes, fds)
}

type Answer = Result<(Response, Vec<OwnedFd>)>;

fn ok(r: Response) -> Answer {
    Ok((r, vec![]))
}

/// Rewrites container references given as an ID prefix (`netlab ps -q`) to names. Only a
/// request that names a container waits for the lab lock here.
fn resolve_names(s: &Shared, req: Request) -> Result<Request> {
    let names_one = match &req {
        Request::Inspect { .. }
        | Request::Start { .. }
        | Request::Stop { .. }
        | Request::Rm { .. }
        | Request::Logs { .. }
        | Request::Wait { .. }
        | Request::Pipework { .. } => true,
        Request::Exec { target, .. }
        | Request::Connect { target, .. }
        | Request::Capture { target, .. } => {
            matches!(target, Target::Container(_))
        }
        _ => false,
    };
    if !names_one {
        return Ok(req);
    }
    let lab = s.lab();
    let mut req = req;
    match &mut req {
        Request::Inspect { name }
        | Request::Start { name }
        | Request::Stop { name, .. }
        | Request::Rm { name, .. }
        | Request::Logs { name, .. }
        | Request::Wait { name } => *name = lab.resolve(name)?,
        Request::Pipework { spec } => spec.container = lab.resolve(&spec.container)?,
        Request::Exec {
            target: Target::Container(name),
            ..
        }
        | Request::Connect {
            target: Target::Container(name),
            ..
        }
        | Request::Capture {
            target: Target::Container(name),
            ..
        } => *name = lab.resolve(name)?,
        _ => {}
    }
    Ok(req)
}

fn handle(s: &Arc<Shared>, conn: &UnixStream, req: Request, fds: Vec<OwnedFd>) -> Answer {
    let req = resolve_names(s, req)?;
    match req {
        Request::Info => {
            let owned = s.owned.load(Ordering::SeqCst);
            let info = match s.summary.lock() {
                Ok(sum) => sum.info(owned),
                Err(p) => p.into_inner().info(owned),
            };
            ok(Response::Info { info })
        }
        Request::Run { spec, attach: None } => {
            let p = s.lab().prepare_run(spec)?;
            let built = build(&p);
            let c = s.lab().finish_run(p, built)?;
            ok(Response::Container { container: c })
        }
        Request::Run {
            spec,
            attach: Some(attach),
        } => run_attached(s, spec, attach, fds),
        Request::RunMany { specs } => ok(Response::Containers {
            containers: run_many(s, specs)?,
        }),
        Request::Ps { all } => ok(Response::Containers {
            containers: s.lab().list(all)?,
        }),
        Request::Inspect { name } => ok(Response::Container {
            container: s.lab().state(&name)?,
        }),
        Request::Start { name } => {
            let mut lab = s.lab();
            lab.start(&name)?;
            ok(Response::Container {
                container: lab.state(&name)?,
            })
        }
        Request::Stop { name, timeout_secs } => {
            let secs = limits::STOP_TIMEOUT.check(timeout_secs)?;
            stop(s, &name, Duration::from_secs(secs))?;
            ok(Response::Ok)
        }
        Request::Rm { name, force } => {
            {
                let lab = s.lab();
                if lab.state(&name)?.status == ContainerStatus::Running && !force {
                    return Err(Error::BadState {
                        name,
                        problem: "is running".into(),
                        fix: "stop it first with `netlab stop`, or remove it with `netlab rm -f`"
                            .into(),
                    });
                }
            }
            stop(s, &name, Duration::ZERO)?;
            s.lab().remove(&name);
            ok(Response::Ok)
        }
        Request::Logs { name, follow } => {
            let logs = s.lab().get(&name)?.logs.clone();
            let mut fds = fds.into_iter();
            let (Some(out), Some(err)) = (fds.next(), fds.next()) else {
                return Err(Error::Supervisor {
                    lab: s.name.clone(),
                    problem: "logs needs two fds".into(),
                });
            };
            logs.copy_to(out, err, follow);
            ok(Response::Ok)
        }
        Request::Wait { name } => {
            let exited = s.lab().exit_watch(&name)?;
            let code = exited.wait(None).unwrap_or(255);
            disconnect_ended(s, &name)?;
            ok(Response::Exited { code })
        }
        Request::Exec {
            target,
            argv,
            env,
            workdir,
            tty,
            user,
            detach,
        } => exec(
            s,
            conn,
            ExecReq {
                target,
                argv,
                env,
                workdir,
                tty,
                user,
                detach,
            },
            fds,
        ),
        Request::Connect { target, addr } => {
            // A copy of the namespace's fd, so that the connection (up to 5 s towards an
            // address that does not answer) is made without the lab lock.
            let net = net_fd_copy(s, &target)?;
            let stream = nsfd::in_netns(&net, || {
                std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5))
                    .map_err(|e| Error::kernel_io("connect", addr.to_string(), &e))
            })?;
            Ok((Response::Ok, vec![OwnedFd::from(stream)]))
        }
        Request::Listen { target, addr } => {
            let net = net_fd_copy(s, &target)?;
            let listener = nsfd::in_netns(&net, || {
                std::net::TcpListener::bind(addr)
                    .map_err(|e| Error::kernel_io("bind", addr.to_string(), &e))
            })?;
            Ok((Response::Ok, vec![OwnedFd::from(listener)]))
        }
        Request::Capture { target, iface } => capture::open(s, &target, iface),
        Request::Pipework { spec } => {
            let iface = s.lab().pipework(spec)?;
            ok(Response::Pipework { iface })
        }
        Request::UplinkAttach => {
            s.lab().attach_uplink()?;
            ok(Response::Ok)
        }
        Request::Fault { spec } => {
            let fault = s.lab().add_fault(spec, s)?;
            ok(Response::Fault { fault })
        }
        Request::Heal { names } => {
            let names = s.lab().heal(&names)?;
            ok(Response::Healed { names })
        }
        Request::Faults => ok(Response::Faults {
            faults: s.lab().fault_states(),
        }),
        Request::AdoptUplink { dev } => {
            let from = fds.into_iter().next().ok_or_else(|| Error::Supervisor {
                lab: s.name.clone(),
                problem: "adopting an uplink needs the caller's network namespace".into(),
            })?;
            s.lab().adopt_uplink(&dev, &from)?;
            ok(Response::Ok)
        }
        Request::Trace { spec } => ok(Response::Trace {
            trace: trace::trace(s, spec)?,
        }),
        Request::NetworkCreate { spec } => ok(Response::Network {
            network: s.lab().create_network(spec)?,
        }),
        Request::NetworkRm { name } => {
            let mut lab = s.lab();
            let name = lab.resolve_network(&name)?;
            lab.remove_network(&name)?;
            ok(Response::Ok)
        }
        Request::NetworkLs => ok(Response::Networks {
            networks: s.lab().network_states()?,
        }),
        Request::NetworkInspect { name } => {
            let lab = s.lab();
            let name = lab.resolve_network(&name)?;
            ok(Response::Network {
                network: lab.network_state(&name)?,
            })
        }
        Request::NetworkConnect {
            container,
            mut attachment,
        } => {
            let mut lab = s.lab();
            attachment.network = lab.resolve_network(&attachment.network)?;
            let name = lab.resolve(&container)?;
            lab.connect_network(&name, attachment)?;
            ok(Response::Ok)
        }
        Request::NetworkDisconnect { network, container } => {
            let mut lab = s.lab();
            let network = lab.resolve_network(&network)?;
            let name = lab.resolve(&container)?;
            lab.disconnect_network(&name, &network)?;
            ok(Response::Ok)
        }
        Request::NetworkPrune => ok(Response::Pruned {
            names: s.lab().prune_networks()?,
        }),
        Request::Detach => {
            s.owned.store(false, Ordering::SeqCst);
            ok(Response::Ok)
        }
        Request::Down => ok(Response::Ok),
    }
}

/// A copy of the fd of `target`'s network namespace, to work there without the lab lock.
fn net_fd_copy(s: &Shared, target: &Target) -> Result<OwnedFd> {
    s.lab()
        .net_fd(target)?
        .try_clone()
        .map_err(|e| Error::kernel_io("dup", "network namespace fd", &e))
}

/// Step 2 of a `run`, without the lab lock: the container's namespaces, wiring and start.
fn build(p: &Prepared) -> Result<Container> {
    Lab::create(p, None)
}

/// A foreground `run` (`docker run` without `-d`): the container is built and started
/// with the client's input or terminal, its output copied to the client until the run
/// ends, then answered with the exit code; a `--rm` container is gone by then.
fn run_attached(s: &Shared, spec: ContainerSpec, attach: Attach, fds: Vec<OwnedFd>) -> Answer {
    let mut fds = fds.into_iter();
    let missing = || Error::Supervisor {
        lab: s.name.clone(),
        problem: "a foreground run needs the client's streams".into(),
    };
    let (first, output) = match attach {
        Attach::Output { stdin } => {
            let input = match stdin {
                true => Some(Attached::Input(fds.next().ok_or_else(missing)?)),
                false => None,
            };
            let (out, err) = (
                fds.next().ok_or_else(missing)?,
                fds.next().ok_or_else(missing)?,
            );
            (input, Some((out, err)))
        }
        Attach::Terminal => (
            Some(Attached::Terminal(fds.next().ok_or_else(missing)?)),
            None,
        ),
    };
    let auto_remove = spec.auto_remove;
    let p = s.lab().prepare_run(spec)?;
    let built = Lab::create(&p, first);
    // The first run's waiter and output, taken before the container is recorded: once it
    // is, a `--rm` may remove it at any moment.
    let first_run = built
        .as_ref()
        .ok()
        .map(|c| (c.exit_watch(), c.logs.clone()));
    let state = s.lab().finish_run(p, built)?;
    let Some((exited, logs)) = first_run else {
        return Err(missing());
    };
    if let Some((out, err)) = output {
        logs.copy_to(out, err, true);
    }
    let code = exited.wait(None).unwrap_or(255);
    if auto_remove {
        s.lab().remove_if(&state.name, &state.id);
    }
    ok(Response::Exited { code })
}

/// `RunMany`: every container checked and given its address in the list's order under one
/// lock, built side by side without it, then recorded in order; if any fails, the others
/// are removed again, so the batch runs whole or not at all.
fn run_many(s: &Shared, specs: Vec<ContainerSpec>) -> Result<Vec<ContainerState>> {
    let prepared = {
        let mut lab = s.lab();
        let mut prepared = Vec::with_capacity(specs.len());
        for spec in specs {
            match lab.prepare_run(spec) {
                Ok(p) => prepared.push(p),
                Err(e) => {
                    for p in prepared {
                        lab.abandon_run(p);
                    }
                    return Err(e);
                }
            }
        }
        prepared
    };
    let built: Vec<Result<Container>> = std::thread::scope(|scope| {
        let handles: Vec<_> = prepared
            .iter()
            .map(|p| scope.spawn(move || build(p)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(Error::Supervisor {
                        lab: s.name.clone(),
                        problem: "building a container panicked".into(),
                    })
                })
            })
            .collect()
    });
    let mut lab = s.lab();
    let mut states = Vec::with_capacity(prepared.len());
    let mut first_error = None;
    for (p, b) in prepared.into_iter().zip(built) {
        match lab.finish_run(p, b) {
            Ok(c) => states.push(c),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    if let Some(e) = first_error {
        for c in &states {
            lab.remove(&c.name);
        }
        return Err(e);
    }
    Ok(states)
}

/// `docker stop`: SIGTERM, wait up to `grace`, then SIGKILL; the lab lock is not held
/// while waiting, so other clients go on.
fn stop(s: &Shared, name: &str, grace: Duration) -> Result<()> {
    let exited = {
        let lab = s.lab();
        lab.mark_stopped(name)?;
        if lab.state(name)?.status != ContainerStatus::Running {
            drop(lab);
            return disconnect_ended(s, name);
        }
        lab.signal(
            name,
            if grace.is_zero() {
                Signal::SIGKILL
            } else {
                Signal::SIGTERM
            },
        )?;
        lab.exit_watch(name)?
    };
    // A `--rm` container may be gone as soon as its process is: then so is the rest of it.
    let kill = || match s.lab().signal(name, Signal::SIGKILL) {
        Err(Error::UnknownContainer { .. }) => Ok(()),
        other => other,
    };
    if exited.wait(Some(grace)).is_none() {
        kill()?;
        let _ = exited.wait(Some(Duration::from_secs(10)));
    }
    // Daemons the main process left behind go with the container, as with Docker.
    kill()?;
    disconnect_ended(s, name)
}

/// Releases the address of a container whose process has ended before `stop` or `wait`
/// answers, so what the client does next (`inspect`, `run`) sees it released, as with
/// Docker; a `--rm` container may be gone already.
fn disconnect_ended(s: &Shared, name: &str) -> Result<()> {
    match s.lab().disconnect_ended(name) {
        Err(Error::UnknownContainer { .. }) => Ok(()),
        other => other,
    }
}

/// An `exec` request's fields.
struct ExecReq {
    target: Target,
    argv: Vec<String>,
    env: Vec<(String, String)>,
    workdir: Option<String>,
    tty: bool,
    user: Option<String>,
    detach: bool,
}

fn exec(s: &Arc<Shared>, conn: &UnixStream, req: ExecReq, fds: Vec<OwnedFd>) -> Answer {
    let ExecReq {
        target,
        argv,
        env: extra_env,
        workdir,
        tty,
        user,
        detach,
    } = req;
    if argv.is_empty() {
        return Err(Error::spec(
            "command",
            "",
            "give the command to run after --",
        ));
    }
    if let Some(w) = &workdir
        && !w.starts_with('/')
    {
        return Err(Error::spec(
            "exec -w",
            w,
            "give an absolute path, e.g. -w /tmp",
        ));
    }
    // `exec -d`: no stdio of the client's; the process is on its own.
    let stdio = match detach {
        true => None,
        false => {
            let mut fds = fds.into_iter();
            let (Some(fd0), Some(fd1), Some(fd2)) = (fds.next(), fds.next(), fds.next()) else {
                return Err(Error::Supervisor {
                    lab: s.name.clone(),
                    problem: "exec needs three fds".into(),
                });
            };
            Some((fd0, fd1, fd2))
        }
    };
    let (place, where_) = match &target {
        Target::Host => ("the lab host".to_string(), "--host".to_string()),
        Target::Container(n) => (format!("container {n}"), n.clone()),
        Target::Node(n) => (format!("LAN machine {n}"), format!("--node {n}")),
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let pid = {
        let lab = s.lab();
        let base = match &target {
            Target::Host => env::compose(&[], &lab.spec.name),
            Target::Container(n) => {
                let c = lab.get(n)?;
                // Its namespaces outlive its process, but Docker runs nothing in a
                // container that is not running, and neither does netlab.
                if c.run.lock().map_err(|_| lab::poisoned())?.status != ContainerStatus::Running {
                    return Err(Error::NotRunning { name: n.clone() });
                }
                // Docker computes the link variables again for every exec, from where the
                // linked containers are now (and refuses when one is not running).
                lab.env_now(n)?
            }
            Target::Node(n) => {
                lab.node(n)?;
                env::compose(&[], n)
            }
        };
        let mut full = base;
        let extra_given = extra_env.clone();
        for (k, v) in extra_env {
            match full.iter_mut().find(|(ek, _)| *ek == k) {
                Some(e) => e.1 = v,
                None => full.push((k, v)),
            }
        }
        // Docker's `exec -t` gives the process TERM=xterm unless its environment has one.
        if tty && env::lookup(&full, "TERM").is_none() {
            full.push(("TERM".into(), "xterm".into()));
        }
        let given_user = user.as_deref().map(container::resolve_user).transpose()?;
        if let Some(ids) = &given_user {
            // HOME is the user's unless the container or this exec set it.
            let given: Vec<(String, String)> = match &target {
                Target::Container(n) => lab.get(n)?.spec.env.clone(),
                _ => vec![],
            };
            container::home_of(&mut full, &[given, extra_given].concat(), ids);
        }
        let path = env::lookup(&full, "PATH").unwrap_or_default().to_string();
        let program = resolve_program(&argv[0], &path)?;
        let mut cmd = Command::new(program);
        cmd.arg0(&argv[0]).args(&argv[1..]).env_clear().envs(full);
        // Like `docker exec`, a process in a container runs as the container's user
        // unless -u says otherwise.
        let ids = match (given_user, &target) {
            (Some(ids), _) => Some(ids),
            (None, Target::Container(n)) => lab.get(n)?.user.clone(),
            (None, _) => None,
        };
        if let Some(ids) = ids {
            run_as(&mut cmd, ids.uid, ids.gid, ids.groups);
        }
        match stdio {
            Some((fd0, fd1, fd2)) => cmd.stdin(fd0).stdout(fd1).stderr(fd2),
            None => cmd
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        };
        let dir = nsfd::cstring(workdir.as_deref().unwrap_or("/"))?;
        let ns = lab.namespaces(&target)?;
        let (pid, _child) = lab
            .reaper
            .spawn(
                || {
                    let child = match tty && !detach {
                        true => spawn_in_terminal(cmd, ns, Some(dir))?,
                        false => spawn_in(cmd, ns, Some(dir))?,
                    };
                    Ok((child.id() as i32, child))
                },
                move |code| {
                    let _ = tx.send(code);
                },
            )
            .map_err(|e| match bad_workdir(&e) {
                Some(w) => Error::spec(
                    "exec -w",
                    &w.dir,
                    format!(
                        "{} in {place}; create it (`netlab exec {where_} -- mkdir -p {}`) or give another directory with -w",
                        w.problem,
                        w.dir
                    ),
                ),
                None => container::exec_failure(&e, &argv[0], &path)
                    .unwrap_or_else(|| Error::kernel_io("exec", argv[0].clone(), &e)),
            })?;
        pid
    };
    if detach {
        tracing::info!(pid, %place, "exec -d started");
        return ok(Response::Ok);
    }
    // A client that goes away takes its process with it.
    let done = Arc::new(AtomicBool::new(false));
    if let Ok(watch) = conn.try_clone() {
        let done = done.clone();
        std::thread::spawn(move || {
            let mut w = &watch;
            let _ = w.read(&mut [0u8; 1]);
            if !done.load(Ordering::SeqCst) {
                let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pid), Signal::SIGKILL);
            }
        });
    }
    let code = rx.recv().unwrap_or(255);
    done.store(true, Ordering::SeqCst);
    ok(Response::Exited { code })
}
