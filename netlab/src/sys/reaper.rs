//! PID 1's duty: reap every child, including orphans that re-parent to the lab's init, and
//! tell whoever waits for a particular process how it ended.
//!
//! SIGCHLD is blocked in every thread (the mask is set before any thread starts and is
//! inherited) and read from a signalfd on one thread.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

type Waiter = Box<dyn FnOnce(i32) + Send>;

/// Spawning and reaping exclude each other, while spawns run side by side: a spawn holds
/// `reaping` shared from before its fork until its waiter is registered, and the reaping
/// thread takes it exclusively around `waitpid`. So a process that exits at once is never
/// reaped before its waiter exists, and concurrent `run`s do not queue behind each
/// other's fork and exec.
#[derive(Default)]
pub struct Reaper {
    reaping: RwLock<()>,
    waiters: Mutex<HashMap<i32, Waiter>>,
}

impl std::fmt::Debug for Reaper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Reaper")
    }
}

/// Blocks SIGCHLD in the calling thread; call it before any other thread exists.
pub fn block_sigchld() -> nix::Result<()> {
    let mut set = SigSet::empty();
    set.add(Signal::SIGCHLD);
    set.thread_block()
}

/// The write end of the pipe that [`termination_pipe`]'s handler writes to.
static TERMINATION_W: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_termination(_signal: libc::c_int) {
    let fd = TERMINATION_W.load(Ordering::Relaxed);
    if fd >= 0 {
        // SAFETY: write(2) is async-signal-safe; the fd stays open for the process's life.
        unsafe {
            libc::write(fd, b"x".as_ptr().cast(), 1);
        }
    }
}

/// A pipe that becomes readable when SIGTERM or SIGINT arrives: the request to end the
/// lab. A handler rather than a blocked signal read from a signalfd, because a blocked
/// mask is inherited by container processes that std starts with `fork`, and a shell
/// there would never see its Ctrl-C; handlers go back to the default at `exec`.
pub fn termination_pipe() -> nix::Result<std::os::fd::OwnedFd> {
    use nix::sys::signal::{SaFlags, SigAction, SigHandler, sigaction};
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
    TERMINATION_W.store(std::os::fd::IntoRawFd::into_raw_fd(w), Ordering::Relaxed);
    let action = SigAction::new(
        SigHandler::Handler(on_termination),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    for sig in [Signal::SIGTERM, Signal::SIGINT] {
        // SAFETY: the handler only loads an atomic and calls write(2).
        unsafe { sigaction(sig, &action) }?;
    }
    Ok(r)
}

impl Reaper {
    /// Starts the reaping thread.
    pub fn start() -> nix::Result<Arc<Reaper>> {
        let mut set = SigSet::empty();
        set.add(Signal::SIGCHLD);
        let sfd = SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC)?;
        let reaper = Arc::new(Reaper::default());
        let r = reaper.clone();
        std::thread::Builder::new()
            .name("reaper".into())
            .spawn(move || {
                loop {
                    if sfd.read_signal().is_err() {
                        continue;
                    }
                    r.reap_all();
                }
            })
            .map_err(|_| nix::Error::EAGAIN)?;
        Ok(reaper)
    }

    fn reap_all(&self) {
        let _exclusive = self.reaping.write();
        loop {
            let (pid, code) = match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(pid, code)) => (pid, code),
                // Docker's convention: 128 + signal number.
                Ok(WaitStatus::Signaled(pid, sig, _)) => (pid, 128 + sig as i32),
                Ok(WaitStatus::StillAlive) | Err(_) => return,
                Ok(_) => continue,
            };
            let waiter = self
                .waiters
                .lock()
                .map(|mut w| w.remove(&pid.as_raw()))
                .ok()
                .flatten();
            match waiter {
                Some(w) => w(code),
                None => tracing::trace!(pid = pid.as_raw(), code, "reaped an orphan"),
            }
        }
    }

    /// Spawns a process with `spawn` and calls `on_exit` with its exit code when it ends
    /// (see [`Reaper`] for why a quick exit is never missed).
    pub fn spawn<T>(
        &self,
        spawn: impl FnOnce() -> std::io::Result<(i32, T)>,
        on_exit: impl FnOnce(i32) + Send + 'static,
    ) -> std::io::Result<(i32, T)> {
        let _shared = self
            .reaping
            .read()
            .map_err(|_| std::io::Error::other("reaper lock poisoned"))?;
        let (pid, t) = spawn()?;
        self.waiters
            .lock()
            .map_err(|_| std::io::Error::other("reaper lock poisoned"))?
            .insert(pid, Box::new(on_exit));
        Ok((pid, t))
    }
}

/// What a finished helper command produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CmdOutput {
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Reaper {
    /// Runs `cmd` to completion with `input` on its stdin, like `Command::output`, but
    /// waits through the reaper: in PID 1 a plain `wait` would race with the reaping
    /// thread, which may collect the child first and leave `wait` with ECHILD.
    pub fn output(
        &self,
        mut cmd: std::process::Command,
        input: &[u8],
    ) -> std::io::Result<CmdOutput> {
        use std::io::{Read, Write};
        use std::process::Stdio;
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let (tx, rx) = std::sync::mpsc::channel();
        let (_, mut child) = self.spawn(
            || {
                let child = cmd.spawn()?;
                Ok((child.id() as i32, child))
            },
            move |code| {
                let _ = tx.send(code);
            },
        )?;
        let (mut out, mut err) = (child.stdout.take(), child.stderr.take());
        let reader = std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(e) = err.as_mut() {
                let _ = e.read_to_end(&mut buf);
            }
            buf
        });
        if let Some(mut stdin) = child.stdin.take() {
            // A command that fails early stops reading; its status says more than EPIPE.
            let _ = stdin.write_all(input);
        }
        let mut stdout = Vec::new();
        if let Some(o) = out.as_mut() {
            let _ = o.read_to_end(&mut stdout);
        }
        let stderr = reader.join().unwrap_or_default();
        let code = rx
            .recv()
            .map_err(|_| std::io::Error::other("the reaper dropped the waiter"))?;
        Ok(CmdOutput {
            code,
            stdout,
            stderr,
        })
    }
}
