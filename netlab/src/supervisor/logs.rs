//! A container's captured output: kept in memory (bounded), copied to followers.
//!
//! In memory on purpose: a lab killed with SIGKILL must leave no files behind.
//!
//! One thread per lab reads every container's stdout and stderr pipes through epoll; two
//! threads per container cost a thread start and stop on every `run`, and a lab of 200
//! containers 400 idle stacks. Followers (`logs -f`) are written by their own request's
//! thread, never by the reader, so a slow follower cannot hold up anyone's output.

use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};

use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};

/// Output kept per container; older output is dropped first.
const KEEP_BYTES: usize = 4 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

#[derive(Debug, Default)]
struct Inner {
    chunks: VecDeque<(Stream, Arc<[u8]>)>,
    /// Sequence number of `chunks[0]`; chunks are numbered from the container's creation.
    first: u64,
    bytes: usize,
    /// Output pipes still open in the current run.
    open: usize,
    /// Bumped at every start, so followers of an older run know it ended.
    generation: u64,
}

impl Inner {
    fn end(&self) -> u64 {
        self.first + self.chunks.len() as u64
    }
}

#[derive(Debug, Default)]
pub struct Logs {
    inner: Mutex<Inner>,
    /// Signalled on new output and when a run's output closes.
    changed: Condvar,
}

impl Logs {
    /// Starts copying a new run's stdout and stderr pipes into the log.
    pub fn attach(self: &Arc<Self>, stdout: impl Into<OwnedFd>, stderr: impl Into<OwnedFd>) {
        if let Ok(mut i) = self.inner.lock() {
            i.open = 2;
            i.generation += 1;
        }
        let pipes = [
            (Stream::Stdout, stdout.into()),
            (Stream::Stderr, stderr.into()),
        ];
        for (stream, fd) in pipes {
            if let Err(e) = reader().and_then(|r| r.watch(self.clone(), stream, fd)) {
                tracing::warn!("container output is not captured: {e}");
                self.closed_one();
            }
        }
    }

    /// Starts copying a new run's terminal into the log: the master end of the
    /// pseudo-terminal its process has as stdin, stdout and stderr (`run -t -d`), one
    /// stream as with Docker. It ends when every slave end is closed (reads fail with EIO).
    pub fn attach_terminal(self: &Arc<Self>, master: impl Into<OwnedFd>) {
        if let Ok(mut i) = self.inner.lock() {
            i.open = 1;
            i.generation += 1;
        }
        if let Err(e) = reader().and_then(|r| r.watch(self.clone(), Stream::Stdout, master.into()))
        {
            tracing::warn!("container output is not captured: {e}");
            self.closed_one();
        }
    }

    fn append(&self, stream: Stream, data: &[u8]) {
        let Ok(mut i) = self.inner.lock() else { return };
        i.bytes += data.len();
        i.chunks.push_back((stream, Arc::from(data)));
        while i.bytes > KEEP_BYTES {
            match i.chunks.pop_front() {
                Some((_, c)) => {
                    i.bytes -= c.len();
                    i.first += 1;
                }
                None => break,
            }
        }
        self.changed.notify_all();
    }

    fn closed_one(&self) {
        if let Ok(mut i) = self.inner.lock() {
            i.open = i.open.saturating_sub(1);
        }
        self.changed.notify_all();
    }

    /// Writes everything kept so far to the two fds; with `follow`, keeps writing until
    /// the current run's output closes or a write fails (the follower went away).
    pub fn copy_to(&self, out: OwnedFd, err: OwnedFd, follow: bool) {
        let mut out = std::fs::File::from(out);
        let mut err = std::fs::File::from(err);
        let Ok(mut i) = self.inner.lock() else { return };
        let generation = i.generation;
        let mut next = i.first;
        loop {
            next = next.max(i.first);
            let skip = (next - i.first) as usize;
            let batch: Vec<(Stream, Arc<[u8]>)> = i.chunks.iter().skip(skip).cloned().collect();
            next = i.end();
            let ended = !follow || i.open == 0 || i.generation != generation;
            drop(i);
            for (s, c) in &batch {
                let w = match s {
                    Stream::Stdout => out.write_all(c),
                    Stream::Stderr => err.write_all(c),
                };
                if w.is_err() {
                    return;
                }
            }
            if ended {
                return;
            }
            i = match self.inner.lock() {
                Ok(i) => i,
                Err(_) => return,
            };
            i = match self.changed.wait_while(i, |i| {
                i.end() == next && i.open > 0 && i.generation == generation
            }) {
                Ok(i) => i,
                Err(_) => return,
            };
        }
    }
}

/// A watched pipe: whose output it carries, which stream, the read end.
type Pipe = (Arc<Logs>, Stream, OwnedFd);

/// The lab's one reader of container output.
struct Reader {
    epoll: Epoll,
    pipes: Mutex<HashMap<u64, Pipe>>,
    next: AtomicU64,
}

/// The reader, started on first use; the error when the kernel gave no epoll instance,
/// in which case containers run with their output not captured (and `attach` says so).
fn reader() -> Result<&'static Reader, nix::Error> {
    static READER: OnceLock<Result<Reader, nix::Error>> = OnceLock::new();
    READER
        .get_or_init(|| {
            let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC)?;
            let spawned = std::thread::Builder::new().name("logs".into()).spawn(|| {
                if let Ok(r) = reader() {
                    r.run();
                }
            });
            if let Err(e) = spawned {
                tracing::error!("no log reader thread: {e}");
            }
            Ok(Reader {
                epoll,
                pipes: Mutex::default(),
                next: AtomicU64::new(1),
            })
        })
        .as_ref()
        .map_err(|e| *e)
}

impl Reader {
    fn watch(&self, logs: Arc<Logs>, stream: Stream, fd: OwnedFd) -> nix::Result<()> {
        let token = self.next.fetch_add(1, Ordering::Relaxed);
        let mut pipes = self.pipes.lock().map_err(|_| nix::Error::EIO)?;
        self.epoll
            .add(fd.as_fd(), EpollEvent::new(EpollFlags::EPOLLIN, token))?;
        pipes.insert(token, (logs, stream, fd));
        Ok(())
    }

    fn run(&self) {
        let mut events = vec![EpollEvent::empty(); 64];
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match self.epoll.wait(&mut events, EpollTimeout::NONE) {
                Ok(n) => n,
                Err(nix::Error::EINTR) => continue,
                Err(e) => {
                    tracing::error!("log reader: epoll_wait: {e}");
                    return;
                }
            };
            for ev in &events[..n] {
                self.ready(ev.data(), &mut buf);
            }
        }
    }

    /// Reads once from a ready pipe (level-triggered: more comes with the next wait), or
    /// retires it at end of file. A ready pipe's read does not block, so holding the map
    /// while reading only delays an `attach` by that read.
    fn ready(&self, token: u64, buf: &mut [u8]) {
        let Ok(mut pipes) = self.pipes.lock() else {
            return;
        };
        let Some((logs, stream, fd)) = pipes.get(&token) else {
            return;
        };
        match nix::unistd::read(fd, buf) {
            Err(nix::Error::EINTR | nix::Error::EAGAIN) => {}
            Ok(n) if n > 0 => logs.append(*stream, &buf[..n]),
            _ => {
                if let Some((logs, _, fd)) = pipes.remove(&token) {
                    let _ = self.epoll.delete(fd.as_fd());
                    drop(fd);
                    logs.closed_one();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::time::{Duration, Instant};

    fn pipe() -> (OwnedFd, std::fs::File) {
        let (r, w) = nix::unistd::pipe().unwrap();
        (r, std::fs::File::from(w))
    }

    /// Waits (bounded) until the run's output has closed, the reader's last step.
    fn wait_closed(logs: &Logs) {
        let end = Instant::now() + Duration::from_secs(10);
        let mut i = logs.inner.lock().unwrap();
        while i.open > 0 {
            let left = end.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "the output pipes were never seen closing");
            i = logs.changed.wait_timeout(i, left).unwrap().0;
        }
    }

    fn read_all(f: OwnedFd) -> String {
        let mut s = String::new();
        std::fs::File::from(f).read_to_string(&mut s).unwrap();
        s
    }

    #[test]
    fn keeps_both_streams_of_many_containers_apart() {
        let all: Vec<_> = (0..20)
            .map(|k| {
                let logs = Arc::new(Logs::default());
                let ((out_r, mut out_w), (err_r, mut err_w)) = (pipe(), pipe());
                logs.attach(out_r, err_r);
                writeln!(out_w, "out of {k}").unwrap();
                writeln!(err_w, "err of {k}").unwrap();
                (logs, out_w, err_w)
            })
            .collect();
        for (k, (logs, out_w, err_w)) in all.into_iter().enumerate() {
            drop((out_w, err_w));
            wait_closed(&logs);
            let ((o_r, o_w), (e_r, e_w)) = (pipe(), pipe());
            logs.copy_to(o_w.into(), e_w.into(), false);
            assert_eq!(read_all(o_r), format!("out of {k}\n"));
            assert_eq!(read_all(e_r), format!("err of {k}\n"));
        }
    }

    #[test]
    fn a_follower_gets_later_output_until_the_run_ends() {
        let logs = Arc::new(Logs::default());
        let ((out_r, mut out_w), (err_r, err_w)) = (pipe(), pipe());
        logs.attach(out_r, err_r);
        writeln!(out_w, "before").unwrap();
        let ((f_r, f_w), (g_r, g_w)) = (pipe(), pipe());
        let follower = {
            let logs = logs.clone();
            std::thread::spawn(move || logs.copy_to(f_w.into(), g_w.into(), true))
        };
        writeln!(out_w, "after").unwrap();
        drop((out_w, err_w));
        follower.join().unwrap();
        assert_eq!(read_all(f_r), "before\nafter\n");
        assert_eq!(read_all(g_r), "");
    }
}
