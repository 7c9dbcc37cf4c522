//! The ranges of the numbers netlab takes from scenario files, command lines and clients.
//!
//! Every number that becomes a duration or a port is checked against one of these before
//! it is used, so no value can overflow a deadline (a timeout of `i64::MAX` seconds once
//! panicked with "overflow when adding duration to instant") or make a wait endless; a
//! refused value is answered with the range that is allowed.

use crate::error::{Error, Result};

/// An inclusive range of accepted values, with what the value is and its unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bound {
    pub what: &'static str,
    pub min: u64,
    pub max: u64,
    pub unit: &'static str,
}

/// The most ports a Linux bridge takes: the kernel numbers a bridge's ports in 10 bits
/// (`BR_MAX_PORTS` = 1024) and keeps number 0 for itself; past that, adding a port fails
/// with EXFULL, which says nothing of bridges. Docker's networks have the same limit.
pub const BRIDGE_PORTS: usize = 1023;

/// Refuses a new port on `bridge`, which has `ports` already, once it is full.
pub fn check_bridge_port(bridge: &str, ports: usize) -> Result<()> {
    if ports >= BRIDGE_PORTS {
        return Err(Error::BridgeFull {
            bridge: bridge.into(),
            ports,
        });
    }
    Ok(())
}

/// `netlab stop -t`: seconds between SIGTERM and SIGKILL (Docker's default is 10).
pub const STOP_TIMEOUT: Bound = Bound {
    what: "stop timeout (-t)",
    min: 0,
    max: 3600,
    unit: "seconds",
};

/// A scenario's `ready = { ..., timeout = N }`.
pub const READY_TIMEOUT: Bound = Bound {
    what: "ready timeout",
    min: 1,
    max: 3600,
    unit: "seconds",
};

/// A scenario's `ready = { tcp = PORT }` or `{ http = PORT }`.
pub const READY_PORT: Bound = Bound {
    what: "ready port",
    min: 1,
    max: 65535,
    unit: "",
};

/// A scenario's `ready = { http = PORT, status = N }`: an HTTP status code.
pub const HTTP_STATUS: Bound = Bound {
    what: "ready status",
    min: 100,
    max: 599,
    unit: "",
};

/// The longest delay or jitter: a minute is already far past any TCP timer worth testing,
/// and a longer one only fills the emulator's queue.
pub const DELAY: Bound = Bound {
    what: "delay",
    min: 0,
    max: 60_000_000,
    unit: "microseconds (at most 60s)",
};

pub const JITTER: Bound = Bound {
    what: "jitter",
    min: 0,
    max: 60_000_000,
    unit: "microseconds (at most 60s)",
};

/// A rate limit: at least 8 bit/s (one byte a second), at most 100 Gbit/s.
pub const RATE: Bound = Bound {
    what: "rate",
    min: 8,
    max: 100_000_000_000,
    unit: "bits per second (8bit to 100gbit)",
};

/// The emulator's queue, in frames.
pub const LIMIT: Bound = Bound {
    what: "queue limit (--limit)",
    min: 1,
    max: 100_000,
    unit: "frames",
};

/// How long a fault may last before it reverts by itself: a day.
pub const FAULT_DURATION: Bound = Bound {
    what: "fault duration (--for)",
    min: 1,
    max: 86_400_000,
    unit: "milliseconds (1ms to 24h)",
};

/// A flap's period (one down and one up).
pub const FLAP_PERIOD: Bound = Bound {
    what: "flap period (--period)",
    min: 20,
    max: 3_600_000,
    unit: "milliseconds (20ms to 1h)",
};

impl Bound {
    /// `value` if it lies in the range, else an error that names the range.
    pub fn check(&self, value: u64) -> Result<u64> {
        if (self.min..=self.max).contains(&value) {
            return Ok(value);
        }
        let unit = if self.unit.is_empty() {
            String::new()
        } else {
            format!(" {}", self.unit)
        };
        Err(Error::spec(
            self.what,
            value.to_string(),
            format!("the allowed range is {} to {}{unit}", self.min, self.max),
        ))
    }

    /// [`Bound::check`] for a value that was written in other units (`10h`, `0mbit`):
    /// the error shows it as written.
    pub fn check_value(&self, value: u64, written: &str) -> Result<u64> {
        self.check(value).map_err(|e| match e {
            Error::InvalidSpec { what, reason, .. } => Error::InvalidSpec {
                what,
                value: written.into(),
                reason,
            },
            other => other,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_in_and_out_of_range() {
        let cases: &[(Bound, u64, bool)] = &[
            (STOP_TIMEOUT, 0, true),
            (STOP_TIMEOUT, 3600, true),
            (STOP_TIMEOUT, 3601, false),
            (STOP_TIMEOUT, u64::MAX, false),
            (READY_TIMEOUT, 0, false),
            (READY_TIMEOUT, 30, true),
            (READY_TIMEOUT, 1_000_000_000_000, false),
            (READY_TIMEOUT, i64::MAX as u64, false),
            (READY_PORT, 0, false),
            (READY_PORT, 65535, true),
            (HTTP_STATUS, 99, false),
            (HTTP_STATUS, 204, true),
            (HTTP_STATUS, 600, false),
        ];
        for (b, v, ok) in cases {
            match b.check(*v) {
                Ok(got) => assert!(*ok && got == *v, "{} {v}", b.what),
                Err(e) => {
                    assert!(!ok, "{} {v}: {e}", b.what);
                    let m = e.to_string();
                    assert!(
                        m.contains(&format!("the allowed range is {} to {}", b.min, b.max)),
                        "{m}"
                    );
                }
            }
        }
        assert_eq!(
            READY_TIMEOUT
                .check(1_000_000_000_000)
                .unwrap_err()
                .to_string(),
            "invalid ready timeout \"1000000000000\": the allowed range is 1 to 3600 seconds"
        );
    }
}
