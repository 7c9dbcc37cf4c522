//! A container's captured output: kept in memory (bounded), copied to followers.
//!
//! In memory on purpose: a lab killed with SIGKILL must leave no files behind.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::sync::{Arc, Condvar, Mutex};

/// Output kept per container; older output is dropped first.
const KEEP_BYTES: usize = 4 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

#[derive(Debug)]
struct Follower {
    out: std::fs::File,
    err: std::fs::File,
}

#[derive(Debug, Default)]
struct Inner {
    chunks: VecDeque<(Stream, Vec<u8>)>,
    bytes: usize,
    followers: Vec<Follower>,
    /// Output pipes still open in the current run.
    open: usize,
    /// Bumped at every start, so followers of an older run know it ended.
    generation: u64,
}

#[derive(Debug, Default)]
pub struct Logs {
    inner: Mutex<Inner>,
    closed: Condvar,
}

impl Logs {
    /// Starts copying a new run's stdout and stderr pipes into the log.
    pub fn attach(
        self: &Arc<Self>,
        stdout: impl Read + Send + 'static,
        stderr: impl Read + Send + 'static,
    ) {
        if let Ok(mut i) = self.inner.lock() {
            i.open = 2;
            i.generation += 1;
        }
        for (stream, pipe) in [
            (Stream::Stdout, Box::new(stdout) as Box<dyn Read + Send>),
            (Stream::Stderr, Box::new(stderr)),
        ] {
            let logs = self.clone();
            let _ = std::thread::Builder::new()
                .name("logs".into())
                .spawn(move || logs.pump(stream, pipe));
        }
    }

    fn pump(&self, stream: Stream, mut pipe: Box<dyn Read + Send>) {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match pipe.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let Ok(mut i) = self.inner.lock() else { return };
            let chunk = buf[..n].to_vec();
            i.followers.retain_mut(|f| {
                let w = match stream {
                    Stream::Stdout => &mut f.out,
                    Stream::Stderr => &mut f.err,
                };
                w.write_all(&chunk).is_ok()
            });
            i.bytes += n;
            i.chunks.push_back((stream, chunk));
            while i.bytes > KEEP_BYTES {
                match i.chunks.pop_front() {
                    Some((_, c)) => i.bytes -= c.len(),
                    None => break,
                }
            }
        }
        if let Ok(mut i) = self.inner.lock() {
            i.open = i.open.saturating_sub(1);
            if i.open == 0 {
                i.followers.clear();
                self.closed.notify_all();
            }
        }
    }

    /// Writes everything kept so far to the two fds; with `follow`, keeps writing until
    /// the current run's output closes.
    pub fn copy_to(&self, out: OwnedFd, err: OwnedFd, follow: bool) {
        let mut out = std::fs::File::from(out);
        let mut err = std::fs::File::from(err);
        let Ok(mut i) = self.inner.lock() else { return };
        for (s, c) in &i.chunks {
            let _ = match s {
                Stream::Stdout => out.write_all(c),
                Stream::Stderr => err.write_all(c),
            };
        }
        if !follow || i.open == 0 {
            return;
        }
        let generation = i.generation;
        i.followers.push(Follower { out, err });
        let _unused = self
            .closed
            .wait_while(i, |i| i.open > 0 && i.generation == generation);
    }
}
