//! Waiting in tests for a real condition: poll it until it holds or a deadline passes, with
//! pauses that grow from 1 ms to 50 ms, then fail saying what was awaited and for how long.
//!
//! The condition is the thing waited for (a port that answers, a process that ended, a
//! document that shows up), never a guess of time. What it returns says how it went
//! ([`Ready`]): `bool`; `Option<T>`, ready with the `T`; or `Result<T, E>`, where `Err`
//! means "not yet" and says what was seen instead, which ends the failure message when time
//! runs out (a last HTTP status, a log, what is left over).
//!
//! ```
//! use std::time::Duration;
//! use testkit::poll::wait_until;
//!
//! let mut polls = 0;
//! let n = wait_until("the third poll", Duration::from_secs(5), || {
//!     polls += 1;
//!     (polls == 3).then_some(polls)
//! });
//! assert_eq!(n, 3);
//! ```

use std::fmt::Display;
use std::time::Duration;

/// The first pause between two polls; each next one is twice as long, up to [`MAX_PAUSE`].
pub const FIRST_PAUSE: Duration = Duration::from_millis(1);
/// The longest pause between two polls: a condition that holds is seen within this much.
pub const MAX_PAUSE: Duration = Duration::from_millis(50);

/// What a polled condition returns: ready with a value, or not yet.
pub trait Ready {
    /// What the wait returns once the condition holds.
    type Value;
    /// The value when ready; otherwise what was seen instead, if the condition says.
    fn ready(self) -> Result<Self::Value, Option<String>>;
}

impl Ready for bool {
    type Value = ();
    fn ready(self) -> Result<(), Option<String>> {
        if self { Ok(()) } else { Err(None) }
    }
}

impl<T> Ready for Option<T> {
    type Value = T;
    fn ready(self) -> Result<T, Option<String>> {
        self.ok_or(None)
    }
}

/// `Err` is "not yet", and what it says is shown if the wait times out.
impl<T, E: Display> Ready for Result<T, E> {
    type Value = T;
    fn ready(self) -> Result<T, Option<String>> {
        self.map_err(|e| Some(e.to_string()))
    }
}

/// A wait whose condition did not hold by its deadline.
#[derive(Debug, thiserror::Error)]
#[error(
    "timed out after {deadline:?} waiting for {what}{}",
    last.as_ref().map(|l| format!("; last seen: {l}")).unwrap_or_default()
)]
pub struct TimedOut {
    /// What was awaited, as the caller named it.
    pub what: String,
    /// How long it was awaited.
    pub deadline: Duration,
    /// What the condition saw instead at its last poll, if it said.
    pub last: Option<String>,
}

/// Polls `cond` until it is ready, for up to `deadline`; its value, or [`TimedOut`] naming
/// `what`. For a caller that must clean up before it fails; tests call [`wait_until`].
pub fn poll_until<R: Ready>(
    what: &str,
    deadline: Duration,
    mut cond: impl FnMut() -> R,
) -> Result<R::Value, TimedOut> {
    let end = std::time::Instant::now() + deadline;
    let mut pause = FIRST_PAUSE;
    loop {
        let last = match cond().ready() {
            Ok(value) => return Ok(value),
            Err(last) => last,
        };
        let left = end.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Err(timed_out(what, deadline, last));
        }
        // The last poll falls on the deadline, not a pause after it.
        std::thread::sleep(pause.min(left));
        pause = (pause * 2).min(MAX_PAUSE);
    }
}

/// Polls `cond` until it is ready and returns its value; panics naming `what`, the
/// deadline and what was last seen if it is not ready within `deadline`.
#[track_caller]
pub fn wait_until<R: Ready>(what: &str, deadline: Duration, cond: impl FnMut() -> R) -> R::Value {
    match poll_until(what, deadline, cond) {
        Ok(value) => value,
        Err(e) => panic!("{e}"),
    }
}

/// [`wait_until`] for a condition that awaits (an HTTP request, a database query), pausing
/// with `tokio::time::sleep` and measuring with tokio's clock, so that a test with paused
/// time waits in virtual time. The condition may borrow and change what it captures.
pub async fn wait_until_async<R: Ready>(
    what: &str,
    deadline: Duration,
    mut cond: impl AsyncFnMut() -> R,
) -> R::Value {
    let end = tokio::time::Instant::now() + deadline;
    let mut pause = FIRST_PAUSE;
    loop {
        let last = match cond().await.ready() {
            Ok(value) => return value,
            Err(last) => last,
        };
        let left = end.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            panic!("{}", timed_out(what, deadline, last));
        }
        tokio::time::sleep(pause.min(left)).await;
        pause = (pause * 2).min(MAX_PAUSE);
    }
}

fn timed_out(what: &str, deadline: Duration, last: Option<String>) -> TimedOut {
    TimedOut {
        what: what.to_owned(),
        deadline,
        last,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    const LONG: Duration = Duration::from_secs(10);

    #[test]
    fn each_kind_of_condition_returns_its_value_once_ready() {
        let mut polls = 0;
        wait_until("a bool", LONG, || {
            polls += 1;
            polls == 3
        });
        assert_eq!(polls, 3);
        let mut polls = 0;
        let got = wait_until("an option", LONG, || {
            polls += 1;
            (polls == 4).then(|| format!("after {polls}"))
        });
        assert_eq!(got, "after 4");
        let mut polls = 0;
        let got = wait_until("a result", LONG, || {
            polls += 1;
            if polls == 2 { Ok(polls) } else { Err("no") }
        });
        assert_eq!(got, 2);
    }

    #[test]
    fn a_ready_condition_is_polled_once() {
        let mut polls = 0;
        wait_until("at once", LONG, || {
            polls += 1;
            true
        });
        assert_eq!(polls, 1);
    }

    /// The message names what was awaited, the deadline and what was last seen; the wait
    /// lasts the deadline, polling with growing pauses (not a busy loop), and the last poll
    /// is at the deadline.
    #[test]
    fn a_condition_that_never_holds_times_out_saying_what_was_awaited() {
        let deadline = Duration::from_millis(300);
        let started = Instant::now();
        let mut polls = 0;
        let mut last_poll = started;
        let e = poll_until("the impossible", deadline, || {
            polls += 1;
            last_poll = Instant::now();
            Err::<(), _>(format!("poll {polls}"))
        })
        .unwrap_err();
        let took = started.elapsed();
        assert!(
            took >= deadline && took < deadline + Duration::from_secs(1),
            "{took:?}"
        );
        assert!(last_poll.duration_since(started) >= deadline, "{e}");
        // 1 + 2 + 4 + ... + 32 ms, then every 50 ms: about 11 polls in 300 ms (fewer on a
        // loaded machine, whose sleeps last longer; never a busy loop).
        assert!((3..=20).contains(&polls), "{polls} polls");
        assert_eq!(
            e.to_string(),
            format!("timed out after 300ms waiting for the impossible; last seen: poll {polls}")
        );
        let e = poll_until("nothing said", Duration::ZERO, || false).unwrap_err();
        assert_eq!(
            e.to_string(),
            "timed out after 0ns waiting for nothing said"
        );
    }

    #[test]
    #[should_panic(expected = "timed out after 10ms waiting for a flag; last seen: still 0")]
    fn wait_until_panics_with_the_message() {
        wait_until("a flag", Duration::from_millis(10), || {
            Err::<(), _>("still 0")
        });
    }

    #[tokio::test]
    async fn the_async_wait_returns_the_value_and_may_change_what_it_captures() {
        let mut seen = Vec::new();
        let got = wait_until_async("the third poll", LONG, async || {
            tokio::task::yield_now().await;
            seen.push(seen.len());
            (seen.len() == 3).then_some("done")
        })
        .await;
        assert_eq!((got, seen), ("done", vec![0, 1, 2]));
    }

    /// With paused time the deadline passes in virtual time, so this is instant.
    #[tokio::test(start_paused = true)]
    #[should_panic(expected = "timed out after 3600s waiting for an hour; last seen: 503")]
    async fn the_async_wait_panics_at_the_deadline() {
        wait_until_async("an hour", Duration::from_secs(3600), async || {
            Err::<(), _>(503)
        })
        .await;
    }
}
