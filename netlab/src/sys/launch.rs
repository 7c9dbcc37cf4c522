//! Starting a lab supervisor: the client side (spawn it with its fds) and the supervisor's
//! first steps (enter fresh namespaces, become PID 1), which must run while the process is
//! still single-threaded, i.e. before tokio starts.
//!
//! Fd layout of a freshly exec'd supervisor: 3 = the control socket's listener (bound by
//! the client, so a lab's name is taken atomically), 4 = the read end of the owner pipe
//! (EOF there means the owner died: the lab ends), 5 = the status pipe on which start-up
//! success or the first error is reported.

use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command};

use nix::fcntl::{FcntlArg, FdFlag, OFlag, fcntl};
use nix::mount::{MsFlags, mount};
use nix::sched::{CloneFlags, unshare};
use nix::unistd::{ForkResult, Gid, Uid, fork};

use crate::error::{Error, Result};

pub const LISTENER_FD: RawFd = 3;
pub const OWNER_FD: RawFd = 4;
pub const STATUS_FD: RawFd = 5;

fn dup_high(fd: &OwnedFd) -> Result<OwnedFd> {
    let high = fcntl(fd, FcntlArg::F_DUPFD_CLOEXEC(100))
        .map_err(|e| Error::kernel("fcntl F_DUPFD", "control fd", e))?;
    // SAFETY: F_DUPFD_CLOEXEC returned a new descriptor that we now own.
    Ok(unsafe { OwnedFd::from_raw_fd(high) })
}

/// Spawns `cmd` (the supervisor binary) with the listener, owner pipe and status pipe at
/// fds 3, 4 and 5, in a session of its own so a terminal's signals do not reach the lab.
pub fn spawn_supervisor(
    mut cmd: Command,
    listener: &OwnedFd,
    owner: Option<&OwnedFd>,
    status: &OwnedFd,
) -> Result<Child> {
    // Move the sources above 100 first so that dup2 onto 3..5 cannot clobber one of them.
    let l = dup_high(listener)?;
    let o = owner.map(dup_high).transpose()?;
    let s = dup_high(status)?;
    let (l_raw, o_raw, s_raw) = (
        l.as_raw_fd(),
        o.as_ref().map(|o| o.as_raw_fd()),
        s.as_raw_fd(),
    );
    // SAFETY: the closure runs in the forked child before exec and only makes
    // async-signal-safe system calls (dup2, setsid) on descriptors that stay open in the
    // parent until spawn returns.
    unsafe {
        cmd.pre_exec(move || {
            let dup = |from: RawFd, to: RawFd| {
                if libc::dup2(from, to) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            };
            dup(l_raw, LISTENER_FD)?;
            match o_raw {
                Some(o) => dup(o, OWNER_FD)?,
                None => {
                    libc::close(OWNER_FD);
                }
            }
            dup(s_raw, STATUS_FD)?;
            libc::setsid();
            Ok(())
        });
    }
    let child = cmd.spawn().map_err(|e| Error::Unsupported {
        problem: format!(
            "cannot start the lab supervisor {:?}: {e}",
            cmd.get_program()
        ),
        fix: "build it with `cargo build -p netlab` or point NETLAB_BIN at the netlab binary"
            .into(),
    })?;
    drop((l, o, s));
    Ok(child)
}

/// A pipe whose both ends are close-on-exec.
pub fn pipe() -> Result<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|e| Error::kernel("pipe2", "lab pipe", e))
}

/// Takes ownership of one of the fds the client handed over, marking it close-on-exec so
/// that container processes never inherit it.
pub fn take_fd(fd: RawFd) -> Option<OwnedFd> {
    fcntl(
        // SAFETY: a plain fcntl probe on a small fd number; an unused number yields EBADF.
        unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) },
        FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC),
    )
    .ok()?;
    // SAFETY: the fd is open (F_SETFD succeeded) and was handed to this process to own.
    Some(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Reports start-up success (`None`) or the error on the status pipe, then closes it.
pub fn report_status(status: OwnedFd, err: Option<&Error>) {
    let mut f = std::fs::File::from(status);
    let line = match err {
        None => "ok\n".to_string(),
        Some(e) => format!("err {}\n", serde_json::to_string(e).unwrap_or_default()),
    };
    let _ = f.write_all(line.as_bytes());
}

/// Enters the namespaces a lab lives in. Unprivileged callers first get a user namespace in
/// which they are root (`unshare -r`), which is what makes rootless labs possible.
/// Must be called while the process is single-threaded.
pub fn enter_lab_namespaces() -> Result<()> {
    let uid = Uid::current();
    if !uid.is_root() {
        let gid = Gid::current();
        unshare(CloneFlags::CLONE_NEWUSER).map_err(|e| Error::Unsupported {
            problem: format!("cannot create a user namespace as uid {uid}: {}", e.desc()),
            fix: "run netlab as root, or allow unprivileged user namespaces (sysctl user.max_user_namespaces=15000, kernel.unprivileged_userns_clone=1 where it exists, and no AppArmor restriction)".into(),
        })?;
        let write = |path: &str, text: String| {
            std::fs::write(path, text).map_err(|e| Error::kernel_io("write", path, &e))
        };
        write("/proc/self/setgroups", "deny".into())?;
        write("/proc/self/uid_map", format!("0 {uid} 1"))?;
        write("/proc/self/gid_map", format!("0 {gid} 1"))?;
    }
    let flags = CloneFlags::CLONE_NEWNS
        | CloneFlags::CLONE_NEWNET
        | CloneFlags::CLONE_NEWUTS
        | CloneFlags::CLONE_NEWIPC
        | CloneFlags::CLONE_NEWPID;
    unshare(flags).map_err(|e| Error::Unsupported {
        problem: format!("cannot create the lab's namespaces: {}", e.desc()),
        fix: "run netlab as root or as a user allowed to create user namespaces".into(),
    })
}

/// Raises the soft limit on open files to the hard one: the supervisor holds three
/// namespace fds per container, so a lab of a thousand containers needs more than the
/// usual soft limit of 1024 (a rootless user's especially), as dockerd raises its own.
pub fn raise_fd_limit() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok((soft, hard)) if soft < hard => {
            if let Err(e) = setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
                tracing::warn!("cannot raise the open-file limit from {soft} to {hard}: {e}");
            }
        }
        Ok(_) => {}
        Err(e) => tracing::warn!("cannot read the open-file limit: {e}"),
    }
}

/// Forks so that the child is PID 1 of the new PID namespace; the parent exits at once.
/// When PID 1 dies the kernel kills every process of the namespace, which is what makes a
/// SIGKILLed lab leave no process behind.
pub fn become_pid1() -> Result<()> {
    // SAFETY: called while the process is single-threaded (before any runtime or thread
    // starts), so the child may run arbitrary code.
    match unsafe { fork() }.map_err(|e| Error::kernel("fork", "lab init", e))? {
        ForkResult::Parent { .. } => {
            // SAFETY: _exit skips atexit handlers and buffered-stdio flushing that belong
            // to the child now.
            unsafe { libc::_exit(0) }
        }
        ForkResult::Child => Ok(()),
    }
}

/// Makes the lab's mount namespace private (so nothing mounted in it reaches the real
/// machine), mounts a fresh `/proc` for the lab's PID namespace and a private tmpfs on
/// `/dev/shm` that holds the lab's generated files (hosts files). Both mounts vanish with
/// the mount namespace.
pub fn setup_lab_mounts() -> Result<()> {
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(|e| Error::kernel("mount --make-rprivate", "/", e))?;
    let nosuid = MsFlags::MS_NOSUID | MsFlags::MS_NODEV;
    if let Err(e) = mount(
        Some("proc"),
        "/proc",
        Some("proc"),
        nosuid | MsFlags::MS_NOEXEC,
        None::<&str>,
    ) {
        tracing::debug!("mount proc: {e}; keeping the inherited /proc");
    }
    mount(
        Some("tmpfs"),
        "/dev/shm",
        Some("tmpfs"),
        nosuid,
        Some("mode=1777"),
    )
    .map_err(|e| Error::kernel("mount tmpfs", "/dev/shm", e))?;
    Ok(())
}
