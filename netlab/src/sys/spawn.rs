//! Starting a process inside a container's namespaces.

use std::ffi::{CString, OsStr};
use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command};

use nix::sched::{CloneFlags, setns, unshare};

use super::nsfd::Namespaces;

/// Spawns `cmd` in `ns`, in a process group of its own, from a fresh thread that first
/// joined the namespaces (mount first: it resets the working directory, which the child
/// then enters). Joining in the thread rather than in a `pre_exec` hook lets std use
/// `posix_spawn` (a vfork-style clone that shares the address space) instead of `fork`,
/// whose cost grows with the supervisor's address space and so with the lab's size.
pub fn spawn_in(
    mut cmd: Command,
    ns: Option<&Namespaces>,
    workdir: Option<CString>,
) -> std::io::Result<Child> {
    cmd.process_group(0);
    spawn_there(cmd, ns, workdir)
}

/// Like [`spawn_in`], but as the leader of a session of its own whose controlling terminal
/// is its stdin, a pseudo-terminal's slave end (`exec -t`, `shell`; see
/// [`super::terminal`]). Its process group is its PID too, so the same `killpg` ends it.
pub fn spawn_in_terminal(
    mut cmd: Command,
    ns: Option<&Namespaces>,
    workdir: Option<CString>,
) -> std::io::Result<Child> {
    super::terminal::spawn_attach(&mut cmd);
    spawn_there(cmd, ns, workdir)
}

/// Makes the child run as `uid`, `gid` with supplementary `groups` (`-u`), switched in
/// the child just before `exec`, after its namespaces, working directory and terminal are
/// set up as root.
///
/// A user namespace that may not change groups (a rootless lab's: `/proc/self/setgroups`
/// is `deny`) refuses `setgroups`; with no supplementary groups wanted that is let pass,
/// since there is nothing to set.
pub fn run_as(cmd: &mut Command, uid: u32, gid: u32, groups: Vec<u32>) {
    // SAFETY: only raw setgroups/setresgid/setresuid system calls run in the child; they
    // change the calling thread's credentials, and the forked child has only that thread
    // (glibc's wrappers would try to signal the parent's other threads). `groups` was
    // allocated before the fork and is only read.
    unsafe {
        cmd.pre_exec(move || {
            let set = libc::syscall(
                libc::SYS_setgroups,
                groups.len() as libc::size_t,
                groups.as_ptr(),
            );
            if set < 0 {
                let e = std::io::Error::last_os_error();
                if !(groups.is_empty() && e.raw_os_error() == Some(libc::EPERM)) {
                    return Err(e);
                }
            }
            if libc::syscall(libc::SYS_setresgid, gid, gid, gid) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::syscall(libc::SYS_setresuid, uid, uid, uid) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// The working directory asked for is no directory where the process would run; carried
/// inside the `io::Error` of a spawn so that the caller can say which directory and where
/// (the child's own `chdir` failure only says "No such file or directory").
#[derive(Debug)]
pub struct BadWorkdir {
    pub dir: String,
    /// `there is no such directory`, `it is not a directory`, or the system's words.
    pub problem: String,
}

impl fmt::Display for BadWorkdir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "working directory {}: {}", self.dir, self.problem)
    }
}

impl std::error::Error for BadWorkdir {}

/// The [`BadWorkdir`] a spawn failed with, if that was why.
pub fn bad_workdir(e: &std::io::Error) -> Option<&BadWorkdir> {
    e.get_ref()?.downcast_ref()
}

/// Checks, in the calling thread's mount namespace (the process's), that `dir` is a
/// directory.
fn check_workdir(dir: &OsStr) -> std::io::Result<()> {
    let bad = |kind, problem: String| {
        std::io::Error::new(
            kind,
            BadWorkdir {
                dir: dir.to_string_lossy().into_owned(),
                problem,
            },
        )
    };
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(bad(
            std::io::ErrorKind::NotADirectory,
            "it is not a directory".into(),
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(bad(e.kind(), "there is no such directory".into()))
        }
        Err(e) => Err(bad(e.kind(), e.to_string())),
    }
}

fn spawn_there(
    mut cmd: Command,
    ns: Option<&Namespaces>,
    workdir: Option<CString>,
) -> std::io::Result<Child> {
    // The supervisor blocks SIGCHLD to read it from a signalfd, and a forked child keeps
    // the mask; a container's process starts with none blocked, as under Docker.
    // SAFETY: only sigemptyset and sigprocmask, both async-signal-safe, run in the child.
    unsafe {
        cmd.pre_exec(|| {
            let mut none: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut none);
            if libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut()) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let dir = workdir.as_ref().map(|d| OsStr::from_bytes(d.as_bytes()));
    if let Some(dir) = dir {
        cmd.current_dir(dir);
    }
    let Some(ns) = ns else {
        if let Some(dir) = dir {
            check_workdir(dir)?;
        }
        return cmd.spawn();
    };
    std::thread::scope(|s| {
        s.spawn(|| {
            // setns into a mount namespace needs a filesystem context of this thread's own.
            unshare(CloneFlags::CLONE_FS)?;
            if let Some(mnt) = &ns.mnt {
                setns(mnt, CloneFlags::CLONE_NEWNS)?;
            }
            if let Some(uts) = &ns.uts {
                setns(uts, CloneFlags::CLONE_NEWUTS)?;
            }
            setns(&ns.net, CloneFlags::CLONE_NEWNET)?;
            if let Some(dir) = dir {
                check_workdir(dir)?;
            }
            cmd.spawn()
        })
        .join()
        .map_err(|_| std::io::Error::other("spawn thread panicked"))?
    })
}
