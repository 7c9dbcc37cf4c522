//! `docker exec -it`: a pseudo-terminal between the user's terminal and a process in the
//! lab, so that the process has a controlling terminal of its own. With it, Ctrl-C stops
//! the shell's foreground job instead of the `netlab` client, job control works, and
//! full-screen programs see the window's size.
//!
//! The client opens the pty, switches its own terminal to raw mode (every key, Ctrl-C
//! included, goes through as a byte), hands the pty's slave end to the supervisor as the
//! process's stdio, and copies bytes both ways until the supervisor reports the exit.
//! The supervisor starts the process as a session leader with the slave as its
//! controlling terminal ([`spawn_attach`]).

use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::Command;

use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::pty::{Winsize, openpty};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::termios::{SetArg, Termios, cfmakeraw, tcgetattr, tcsetattr};

use crate::error::{Error, Result};

nix::ioctl_read_bad!(get_winsize, libc::TIOCGWINSZ, Winsize);
nix::ioctl_write_ptr_bad!(set_winsize, libc::TIOCSWINSZ, Winsize);

/// The window size of terminal `fd`, if it is one.
fn window(fd: BorrowedFd<'_>) -> Option<Winsize> {
    let mut ws = Winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one `winsize` into the pointed-to struct.
    unsafe { get_winsize(fd.as_raw_fd(), &mut ws) }.ok()?;
    Some(ws)
}

fn copy_window(from: BorrowedFd<'_>, to: BorrowedFd<'_>) {
    if let Some(ws) = window(from) {
        // SAFETY: TIOCSWINSZ reads one `winsize` from the pointer.
        let _ = unsafe { set_winsize(to.as_raw_fd(), &ws) };
    }
}

/// A pseudo-terminal's two ends.
pub struct Pty {
    pub master: OwnedFd,
    pub slave: OwnedFd,
}

/// A new pseudo-terminal with the window size of `like` when that is a terminal, else of
/// this process's stdout when that is one (`exec -t` with input from a pipe), else the
/// kernel's default (0 by 0, which programs read as "unknown").
pub fn open_pty(like: Option<BorrowedFd<'_>>) -> Result<Pty> {
    let ws = like
        .and_then(window)
        .or_else(|| window(std::io::stdout().as_fd()));
    let p = openpty(ws.as_ref(), None).map_err(|e| Error::kernel("openpty", "/dev/ptmx", e))?;
    Ok(Pty {
        master: p.master,
        slave: p.slave,
    })
}

/// Whether `fd` is a terminal.
pub fn is_terminal(fd: BorrowedFd<'_>) -> bool {
    nix::unistd::isatty(fd).unwrap_or(false)
}

/// The user's terminal in raw mode until this is dropped.
pub struct RawMode<'a> {
    fd: BorrowedFd<'a>,
    saved: Termios,
}

impl<'a> RawMode<'a> {
    pub fn enter(fd: BorrowedFd<'a>) -> Result<RawMode<'a>> {
        let saved = tcgetattr(fd).map_err(|e| Error::kernel("tcgetattr", "the terminal", e))?;
        let mut raw = saved.clone();
        cfmakeraw(&mut raw);
        tcsetattr(fd, SetArg::TCSANOW, &raw)
            .map_err(|e| Error::kernel("tcsetattr", "the terminal", e))?;
        Ok(RawMode { fd, saved })
    }
}

impl Drop for RawMode<'_> {
    fn drop(&mut self) {
        let _ = tcsetattr(self.fd, SetArg::TCSAFLUSH, &self.saved);
    }
}

/// Copies the user's input (if any: `-i`) to the pty and the pty's output to `output`
/// until `done` becomes readable (the supervisor's answer arrived), then drains what the
/// process wrote last. Window size changes (SIGWINCH) follow the user's terminal.
pub fn relay(
    master: &OwnedFd,
    input: Option<BorrowedFd<'_>>,
    output: &mut dyn Write,
    done: BorrowedFd<'_>,
) -> Result<()> {
    let io = |op: &str, e: std::io::Error| Error::kernel_io(op, "the pseudo-terminal", &e);
    // Blocked before the input thread starts, so the signal stays pending for the
    // signalfd and never interrupts anything.
    let mut winch = SigSet::empty();
    winch.add(Signal::SIGWINCH);
    winch
        .thread_block()
        .map_err(|e| Error::kernel("sigprocmask", "SIGWINCH", e))?;
    let sfd = SignalFd::with_flags(&winch, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
        .map_err(|e| Error::kernel("signalfd", "SIGWINCH", e))?;
    if let Some(input) = input {
        let mut to_pty = std::fs::File::from(master.try_clone().map_err(|e| io("dup", e))?);
        let mut from_user =
            std::fs::File::from(input.try_clone_to_owned().map_err(|e| io("dup", e))?);
        // Ends when the process is gone (writes fail) or the user's input ends; a thread
        // still blocked reading the keyboard then goes with the client's exit.
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            loop {
                match from_user.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if to_pty.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                }
            }
        });
    }
    let mut from_pty = std::fs::File::from(master.try_clone().map_err(|e| io("dup", e))?);
    let mut buf = [0u8; 16 * 1024];
    let mut pty_open = true;
    loop {
        let mut fds = vec![
            PollFd::new(done, PollFlags::POLLIN),
            PollFd::new(sfd.as_fd(), PollFlags::POLLIN),
        ];
        if pty_open {
            fds.push(PollFd::new(master.as_fd(), PollFlags::POLLIN));
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) => {}
            Err(nix::Error::EINTR) => continue,
            Err(e) => return Err(Error::kernel("poll", "the pseudo-terminal", e)),
        }
        let ready = |f: &PollFd| f.revents().is_some_and(|r| !r.is_empty());
        let (finished, resized) = (ready(&fds[0]), ready(&fds[1]));
        let pty_ready = pty_open && ready(&fds[2]);
        drop(fds);
        if resized {
            while let Ok(Some(_)) = sfd.read_signal() {}
            if let Some(input) = input {
                copy_window(input, master.as_fd());
            }
        }
        if pty_ready {
            match from_pty.read(&mut buf) {
                // EIO: every slave end is closed, the process and its children are gone.
                Ok(0) | Err(_) => pty_open = false,
                Ok(n) => {
                    output.write_all(&buf[..n]).map_err(|e| io("write", e))?;
                    output.flush().map_err(|e| io("write", e))?;
                }
            }
        }
        if finished {
            break;
        }
    }
    // The last output may still sit in the pty after the answer came.
    if pty_open {
        let flags = fcntl(master, FcntlArg::F_GETFL).unwrap_or(0);
        let _ = fcntl(
            master,
            FcntlArg::F_SETFL(OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK),
        );
        while let Ok(n) = from_pty.read(&mut buf) {
            if n == 0 {
                break;
            }
            let _ = output.write_all(&buf[..n]);
        }
        let _ = output.flush();
    }
    let _ = winch.thread_unblock();
    Ok(())
}

/// Makes the child a session leader whose controlling terminal is its stdin (the pty's
/// slave end): what a login or `docker exec -t` gives a shell. Forces `fork` instead of
/// `posix_spawn`, which is fine for an interactive process.
pub fn spawn_attach(cmd: &mut Command) {
    // SAFETY: between fork and exec only async-signal-safe calls (setsid, ioctl) run.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}
