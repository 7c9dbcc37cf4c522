//! Namespaces held by file descriptors, created and entered on dedicated threads.
//!
//! A namespace lives while an fd or a process holds it: the supervisor keeps one fd per
//! container namespace, and when the supervisor dies the namespaces, and the veths and
//! routes in them, die with it. `setns`/`unshare` only ever run on a fresh std thread that
//! ends afterwards, never on a pooled tokio thread.

use std::ffi::CString;
use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;

use nix::fcntl::{OFlag, open};
use nix::mount::{MsFlags, mount};
use nix::sched::{CloneFlags, setns, unshare};
use nix::sys::stat::Mode;

use crate::error::{Error, Result};

/// The namespaces of one container (or of the lab host, where `uts`/`mnt` are absent and
/// the supervisor's own are used).
#[derive(Debug)]
pub struct Namespaces {
    pub net: OwnedFd,
    pub uts: Option<OwnedFd>,
    pub mnt: Option<OwnedFd>,
}

/// What a container's namespaces start with.
#[derive(Debug, Clone)]
pub struct NsSetup {
    pub hostname: String,
    /// Files bind-mounted over paths in the container's mount namespace (`/etc/hosts`).
    pub binds: Vec<(PathBuf, PathBuf)>,
}

fn open_ns(kind: &str) -> Result<OwnedFd> {
    let path = format!("/proc/thread-self/ns/{kind}");
    open(
        path.as_str(),
        OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| Error::kernel("open", path, e))
}

/// The calling thread's network namespace.
pub fn current_net() -> Result<OwnedFd> {
    open_ns("net")
}

/// Runs `f` on a fresh thread that first joined network namespace `net`.
pub fn in_netns<T: Send>(net: &OwnedFd, f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
    let fd = net.as_fd();
    std::thread::scope(|s| {
        s.spawn(move || {
            setns(fd, CloneFlags::CLONE_NEWNET)
                .map_err(|e| Error::kernel("setns", "network namespace", e))?;
            f()
        })
        .join()
        .map_err(|_| Error::Io {
            op: "namespace thread".into(),
            message: "panicked".into(),
        })?
    })
}

/// Creates a container's network, UTS and mount namespaces on a fresh thread, prepares
/// them (hostname, private mounts, bind mounts) and hands them to `f`, which runs inside
/// them before the thread ends: it wires the network and may start the first process
/// there, with no further thread or `setns`.
pub fn create<T: Send>(
    setup: &NsSetup,
    f: impl FnOnce(Namespaces) -> Result<T> + Send,
) -> Result<T> {
    std::thread::scope(|s| {
        s.spawn(|| {
            // A thread of a multi-threaded process shares its filesystem context with the
            // others; a new mount namespace needs a private one first.
            unshare(CloneFlags::CLONE_FS).map_err(|e| Error::kernel("unshare", "CLONE_FS", e))?;
            unshare(CloneFlags::CLONE_NEWNET | CloneFlags::CLONE_NEWUTS | CloneFlags::CLONE_NEWNS)
                .map_err(|e| Error::kernel("unshare", "container namespaces", e))?;
            // Like Docker (26 and later) on a network without IPv6: interfaces created from
            // now on (eth0, pipework's) get no IPv6, while `lo` keeps `::1`. Besides matching
            // Docker this matters for speed: every new IPv6 interface sends DAD, router and
            // MLD multicasts that the bridge floods to every other container, work that
            // grows with the square of the lab's size.
            super::sysctl::ipv6_off_for_new_interfaces()?;
            // No `mount --make-rprivate /` here: the lab's own mount namespace is private
            // already (see `launch::setup_lab_mounts`) and a copy keeps that, while a
            // recursive remount walks every mount and costs time per container.
            for (src, dst) in &setup.binds {
                mount(
                    Some(src.as_path()),
                    dst.as_path(),
                    None::<&str>,
                    MsFlags::MS_BIND,
                    None::<&str>,
                )
                .map_err(|e| {
                    Error::kernel(
                        "mount --bind",
                        format!("{} on {}", src.display(), dst.display()),
                        e,
                    )
                })?;
            }
            // Like Docker, every container gets an empty /dev/shm of its own.
            mount(
                Some("shm"),
                "/dev/shm",
                Some("tmpfs"),
                MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
                Some("mode=1777"),
            )
            .map_err(|e| Error::kernel("mount tmpfs", "/dev/shm", e))?;
            // A sysfs of the container's own network namespace, so `/sys/class/net` lists its
            // interfaces, not the machine's (as Docker does). Not fatal where refused.
            if let Err(e) = mount(
                Some("sysfs"),
                "/sys",
                Some("sysfs"),
                MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
                None::<&str>,
            ) {
                tracing::debug!("mount sysfs in a container: {e}; it sees the machine's /sys");
            }
            nix::unistd::sethostname(&setup.hostname)
                .map_err(|e| Error::kernel("sethostname", &setup.hostname, e))?;
            let ns = Namespaces {
                net: open_ns("net")?,
                uts: Some(open_ns("uts")?),
                mnt: Some(open_ns("mnt")?),
            };
            f(ns)
        })
        .join()
        .map_err(|_| Error::Io {
            op: "namespace thread".into(),
            message: "panicked".into(),
        })?
    })
}

/// Creates a bare network namespace (a LAN machine, the other end of a link) and runs `f`
/// inside it on a fresh thread.
pub fn create_net<T: Send>(f: impl FnOnce() -> Result<T> + Send) -> Result<(OwnedFd, T)> {
    std::thread::scope(|s| {
        s.spawn(|| {
            unshare(CloneFlags::CLONE_NEWNET)
                .map_err(|e| Error::kernel("unshare", "CLONE_NEWNET", e))?;
            let net = open_ns("net")?;
            Ok((net, f()?))
        })
        .join()
        .map_err(|_| Error::Io {
            op: "namespace thread".into(),
            message: "panicked".into(),
        })?
    })
}

/// A C string for use after fork, where allocation is not allowed.
pub fn cstring(text: &str) -> Result<CString> {
    CString::new(text).map_err(|_| Error::spec("string", text, "it contains a NUL byte"))
}
