//! Starting a process inside a container's namespaces.

use std::ffi::CString;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command};

use super::nsfd::Namespaces;

/// Spawns `cmd` after joining `ns` (mount first: it resets the working directory, so the
/// directory is entered afterwards), in a session of its own.
pub fn spawn_in(
    mut cmd: Command,
    ns: Option<&Namespaces>,
    workdir: Option<CString>,
) -> std::io::Result<Child> {
    let fds = ns.map(|ns| {
        (
            ns.mnt.as_ref().map(|f| f.as_raw_fd()),
            ns.uts.as_ref().map(|f| f.as_raw_fd()),
            ns.net.as_raw_fd(),
        )
    });
    // SAFETY: runs in the forked child before exec; only setns/chdir/setsid system calls on
    // descriptors and a C string prepared before the fork.
    unsafe {
        cmd.pre_exec(move || {
            if let Some((mnt, uts, net)) = fds {
                for (fd, flag) in [
                    (mnt, libc::CLONE_NEWNS),
                    (uts, libc::CLONE_NEWUTS),
                    (Some(net), libc::CLONE_NEWNET),
                ] {
                    if let Some(fd) = fd
                        && libc::setns(fd, flag) < 0
                    {
                        return Err(std::io::Error::last_os_error());
                    }
                }
            }
            if let Some(dir) = &workdir
                && libc::chdir(dir.as_ptr()) < 0
            {
                return Err(std::io::Error::last_os_error());
            }
            libc::setsid();
            Ok(())
        });
    }
    cmd.spawn()
}
