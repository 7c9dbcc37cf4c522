//! Starting a process inside a container's namespaces.

use std::ffi::{CString, OsStr};
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

fn spawn_there(
    mut cmd: Command,
    ns: Option<&Namespaces>,
    workdir: Option<CString>,
) -> std::io::Result<Child> {
    if let Some(dir) = &workdir {
        cmd.current_dir(OsStr::from_bytes(dir.as_bytes()));
    }
    let Some(ns) = ns else {
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
            cmd.spawn()
        })
        .join()
        .map_err(|_| std::io::Error::other("spawn thread panicked"))?
    })
}
