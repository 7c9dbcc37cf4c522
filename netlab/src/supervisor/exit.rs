//! The end of one run of a container's process (each run has its own), for whoever waits
//! for it (`netlab wait`, `stop`, a foreground `run`): the exit code behind a lock and a
//! condition variable, so that waiting needs no async runtime and a waiter that comes
//! after the end sees it at once.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Default)]
pub struct ExitWatch(Arc<(Mutex<Option<i32>>, Condvar)>);

impl ExitWatch {
    fn code(&self) -> MutexGuard<'_, Option<i32>> {
        // The value is a plain Option: a panic elsewhere cannot leave it half-written.
        self.0.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The run ended with `code`; wakes every waiter.
    pub fn set(&self, code: i32) {
        *self.code() = Some(code);
        self.0.1.notify_all();
    }

    /// The exit code once the run has ended, waiting at most `limit` (`None`: for ever);
    /// `None` when the limit passed first.
    pub fn wait(&self, limit: Option<Duration>) -> Option<i32> {
        let deadline = limit.map(|l| Instant::now() + l);
        let mut code = self.code();
        loop {
            if let Some(c) = *code {
                return Some(c);
            }
            code = match deadline {
                None => self.0.1.wait(code).unwrap_or_else(|p| p.into_inner()),
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return None;
                    }
                    self.0
                        .1
                        .wait_timeout(code, left)
                        .unwrap_or_else(|p| p.into_inner())
                        .0
                }
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_waiter_sees_an_end_that_came_before_or_after_it() {
        let w = ExitWatch::default();
        assert_eq!(w.wait(Some(Duration::ZERO)), None);
        let w2 = w.clone();
        let t = std::thread::spawn(move || w2.wait(None));
        w.set(3);
        assert_eq!(t.join().unwrap(), Some(3));
        assert_eq!(w.wait(Some(Duration::ZERO)), Some(3));
    }
}
