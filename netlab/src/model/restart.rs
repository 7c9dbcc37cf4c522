//! `--restart`: whether a container's process is started again when it ends, and how
//! long to wait first. The rules are Docker's (its daemon's restart manager):
//!
//! - `no` never; `on-failure[:N]` after a non-zero exit, at most N times (no limit
//!   without N); `always` and `unless-stopped` after any exit. None of them after
//!   `stop` (or `rm -f`): a stopped container stays stopped until `start`.
//! - The first restart waits 100 ms, each further one twice as long, at most a minute; a
//!   run that lasted 10 seconds or more starts the wait at 100 ms again.
//!
//! `always` and `unless-stopped` differ in Docker only when the daemon itself restarts
//! (`always` brings back a container stopped by hand); a lab does not outlive its
//! supervisor, so here they behave the same.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The first wait before a restart.
pub const FIRST_DELAY: Duration = Duration::from_millis(100);
/// The longest wait before a restart.
pub const MAX_DELAY: Duration = Duration::from_secs(60);
/// A run at least this long starts the waits at [`FIRST_DELAY`] again.
pub const RESET_AFTER: Duration = Duration::from_secs(10);

/// A container's `--restart` policy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum RestartPolicy {
    /// `no`: never restart (the default).
    #[default]
    No,
    /// `on-failure[:N]`: after a non-zero exit code, at most `max_retries` times since the
    /// last `start` (0: no limit).
    OnFailure {
        /// N, or 0 for no limit.
        max_retries: u32,
    },
    /// `always`: after every exit.
    Always,
    /// `unless-stopped`: after every exit (see the module's documentation).
    UnlessStopped,
}

impl RestartPolicy {
    /// Parses Docker's `--restart` value: `no`, `on-failure`, `on-failure:N`, `always`,
    /// `unless-stopped`.
    ///
    /// ```
    /// use netlab::RestartPolicy;
    /// assert_eq!(RestartPolicy::parse("on-failure:3")?, RestartPolicy::OnFailure { max_retries: 3 });
    /// assert!(RestartPolicy::parse("always:3").is_err());
    /// # Ok::<(), netlab::Error>(())
    /// ```
    pub fn parse(text: &str) -> Result<Self> {
        let err = |reason: &str| Error::spec("--restart", text, reason);
        let (name, count) = match text.split_once(':') {
            Some((n, c)) => (n, Some(c)),
            None => (text, None),
        };
        let policy = match name {
            "" | "no" => RestartPolicy::No,
            "always" => RestartPolicy::Always,
            "unless-stopped" => RestartPolicy::UnlessStopped,
            "on-failure" => RestartPolicy::OnFailure { max_retries: 0 },
            _ => {
                return Err(err(
                    "the policies are no, on-failure[:MAX-RETRIES], always and unless-stopped",
                ));
            }
        };
        match (policy, count) {
            (_, None) => Ok(policy),
            (RestartPolicy::OnFailure { .. }, Some(c)) => {
                let max_retries = c.parse::<u32>().map_err(|_| {
                    err("the maximum retry count is a whole number, e.g. on-failure:3")
                })?;
                Ok(RestartPolicy::OnFailure { max_retries })
            }
            (_, Some(_)) => Err(err(&format!(
                "a maximum retry count goes only with on-failure, not with {name}"
            ))),
        }
    }

    /// Whether the process that ended with `exit_code` is started again, after `retries`
    /// restarts since the last `start`; never when it was stopped by hand.
    pub fn should_restart(&self, exit_code: i32, retries: u32, stopped_by_hand: bool) -> bool {
        if stopped_by_hand {
            return false;
        }
        match *self {
            RestartPolicy::No => false,
            RestartPolicy::Always | RestartPolicy::UnlessStopped => true,
            RestartPolicy::OnFailure { max_retries } => {
                exit_code != 0 && (max_retries == 0 || retries < max_retries)
            }
        }
    }

    /// Whether it ever restarts.
    pub fn is_none(&self) -> bool {
        *self == RestartPolicy::No
    }
}

/// The wait before the next restart, after a wait of `previous` (`None` before the first)
/// and a run that lasted `ran_for`.
pub fn next_delay(previous: Option<Duration>, ran_for: Duration) -> Duration {
    match previous {
        Some(d) if ran_for < RESET_AFTER => (d * 2).min(MAX_DELAY),
        _ => FIRST_DELAY,
    }
}

impl fmt::Display for RestartPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RestartPolicy::No => f.write_str("no"),
            RestartPolicy::OnFailure { max_retries: 0 } => f.write_str("on-failure"),
            RestartPolicy::OnFailure { max_retries } => write!(f, "on-failure:{max_retries}"),
            RestartPolicy::Always => f.write_str("always"),
            RestartPolicy::UnlessStopped => f.write_str("unless-stopped"),
        }
    }
}

impl TryFrom<String> for RestartPolicy {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        RestartPolicy::parse(&s)
    }
}

impl From<RestartPolicy> for String {
    fn from(p: RestartPolicy) -> String {
        p.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_policies_parse_and_print() {
        for text in [
            "no",
            "on-failure",
            "on-failure:3",
            "always",
            "unless-stopped",
        ] {
            assert_eq!(RestartPolicy::parse(text).unwrap().to_string(), text);
        }
        assert_eq!(RestartPolicy::parse("").unwrap(), RestartPolicy::No);
        for bad in [
            "sometimes",
            "always:3",
            "no:1",
            "on-failure:-1",
            "on-failure:x",
            "on-failure:1:2",
        ] {
            assert!(RestartPolicy::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn who_restarts() {
        use RestartPolicy::*;
        let cases = [
            (No, 1, 0, false, false),
            (Always, 0, 99, false, true),
            (UnlessStopped, 0, 0, false, true),
            (Always, 1, 0, true, false),
            (OnFailure { max_retries: 0 }, 0, 0, false, false),
            (OnFailure { max_retries: 0 }, 1, 1000, false, true),
            (OnFailure { max_retries: 2 }, 1, 1, false, true),
            (OnFailure { max_retries: 2 }, 1, 2, false, false),
            (OnFailure { max_retries: 2 }, 137, 0, true, false),
        ];
        for (policy, code, retries, by_hand, want) in cases {
            assert_eq!(
                policy.should_restart(code, retries, by_hand),
                want,
                "{policy} code {code} retries {retries} by hand {by_hand}"
            );
        }
    }

    #[test]
    fn waits_double_from_100_ms_up_to_a_minute() {
        let short = Duration::from_millis(5);
        let mut d = next_delay(None, short);
        let mut seen = vec![d];
        for _ in 0..12 {
            d = next_delay(Some(d), short);
            seen.push(d);
        }
        assert_eq!(seen[..4], [100, 200, 400, 800].map(Duration::from_millis));
        assert_eq!(*seen.last().unwrap(), MAX_DELAY);
        assert_eq!(
            next_delay(Some(MAX_DELAY), Duration::from_secs(10)),
            FIRST_DELAY
        );
    }
}
