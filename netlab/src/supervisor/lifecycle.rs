//! What happens when a container's process ends: `--rm` removes the container, and
//! `--restart` starts the process again after Docker's backoff (the rules are
//! `model::restart`).
//!
//! The reaper only reports the end: it must not wait for the lab lock, since a request
//! holding that lock may be waiting for the reaper to spawn a process. One thread per lab
//! receives the reports and acts on them under the lock, and keeps the restarts that are
//! due later, so that waiting for a backoff holds nothing.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use super::Shared;
use super::container::{RunState, start_by_policy};
use super::lab::Lab;
use crate::model::ContainerStatus;
use crate::model::restart::next_delay;

/// A report to the lifecycle thread.
#[derive(Debug)]
pub enum Event {
    /// Run `generation` of container `name` (the one with `id`) ended.
    Exited {
        name: String,
        id: String,
        generation: u64,
    },
}

/// A restart waiting for its backoff.
#[derive(Debug)]
pub struct Due {
    at: Instant,
    name: String,
    id: String,
    /// The run that ended; a `start` by hand meanwhile makes this restart moot.
    generation: u64,
}

/// Starts the lab's lifecycle thread.
pub fn spawn(shared: Arc<Shared>, events: Receiver<Event>) {
    let spawned = std::thread::Builder::new()
        .name("lifecycle".into())
        .spawn(move || run(&shared, &events));
    if let Err(e) = spawned {
        tracing::error!("no lifecycle thread: --rm and --restart will not act: {e}");
    }
}

fn run(s: &Shared, events: &Receiver<Event>) {
    let mut due: Vec<Due> = vec![];
    loop {
        let next = due.iter().map(|d| d.at).min();
        let event = match next {
            None => match events.recv() {
                Ok(e) => Some(e),
                Err(_) => return,
            },
            Some(at) => match events.recv_timeout(at.saturating_duration_since(Instant::now())) {
                Ok(e) => Some(e),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => return,
            },
        };
        if let Some(Event::Exited {
            name,
            id,
            generation,
        }) = event
        {
            due.extend(s.lab().ended(&name, &id, generation));
        }
        let now = Instant::now();
        let (ready, later): (Vec<Due>, Vec<Due>) = due.into_iter().partition(|d| d.at <= now);
        due = later;
        if s.ending.load(Ordering::SeqCst) {
            continue;
        }
        for d in ready {
            due.extend(s.lab().restart(&d));
        }
    }
}

impl Lab {
    /// Acts once on the end of run `generation` of container `name`: removes it with
    /// `--rm`, or returns the restart its `--restart` policy asks for.
    fn ended(&mut self, name: &str, id: &str, generation: u64) -> Option<Due> {
        self.containers.get(name).filter(|c| c.id == id)?;
        if let Err(e) = self.disconnect_ended(name) {
            tracing::warn!(container = %name, "{e}");
        }
        let c = self.containers.get(name)?;
        let restart = c.spec.restart;
        let remove = c.spec.auto_remove;
        let delay = {
            let mut r = c.run.lock().ok()?;
            if r.generation != generation
                || r.status != ContainerStatus::Exited
                || r.handled >= generation
            {
                return None;
            }
            r.handled = generation;
            let code = r.exit_code.unwrap_or(0);
            (!remove && restart.should_restart(code, r.retries, r.stopped_by_hand))
                .then(|| backoff(&mut r))
        };
        if remove {
            tracing::info!(container = %name, "removing the container (--rm)");
            self.remove(name);
            return None;
        }
        let delay = delay?;
        tracing::debug!(container = %name, ?delay, %restart, "restart due");
        Some(Due {
            at: Instant::now() + delay,
            name: name.into(),
            id: id.into(),
            generation,
        })
    }

    /// Restarts a container whose backoff has passed, unless it was started, stopped or
    /// removed meanwhile; a restart that fails is an end like any other.
    fn restart(&mut self, d: &Due) -> Option<Due> {
        {
            let c = self.containers.get(&d.name).filter(|c| c.id == d.id)?;
            let r = c.run.lock().ok()?;
            if r.generation != d.generation
                || r.status != ContainerStatus::Exited
                || r.stopped_by_hand
            {
                return None;
            }
        }
        let started = match self
            .refresh_link_env(&d.name)
            .and_then(|()| self.reconnect(&d.name))
        {
            Ok(()) => self
                .containers
                .get(&d.name)
                .map_or(Ok(()), |c| start_by_policy(self, c)),
            Err(e) => Err(e),
        };
        match started {
            Ok(()) => None,
            Err(e) => {
                tracing::warn!(container = %d.name, "restart failed: {e}");
                let generation = self.containers.get(&d.name)?.run.lock().ok()?.generation;
                self.ended(&d.name, &d.id, generation)
            }
        }
    }
}

/// The wait before the next restart, recorded in the run state for the one after; the
/// container is restarting from now on.
fn backoff(r: &mut RunState) -> Duration {
    let ran_for = r.since.map(|t| t.elapsed()).unwrap_or_default();
    let delay = next_delay(r.backoff, ran_for);
    r.backoff = Some(delay);
    r.restarting = true;
    delay
}
