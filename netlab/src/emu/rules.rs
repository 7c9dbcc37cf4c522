//! What a relay does to frames: plain data (serde), so the supervisor can take rules over
//! its protocol, check them, and hand them to a running relay with `Relay::set`.

use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The rules of one relay. The first rule that matches a frame applies; a frame that no
/// rule matches passes at once.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Rules {
    /// Chooses which frames are lost, duplicated, reordered and corrupted, and the jitter
    /// of each: the same seed gives the same choices for the same stream (see `emu`'s
    /// text for what exactly is reproducible).
    pub seed: u64,
    /// In order of precedence.
    pub rules: Vec<Rule>,
}

impl Rules {
    /// Checks every rule's impairment; the first bad value is the error.
    pub fn validate(&self) -> Result<()> {
        self.rules.iter().try_for_each(|r| r.impair.validate())
    }
}

/// Which way frames travel, seen from the container: `a` is the container's side of the
/// relay, `b` the bridge's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dir {
    /// From `a` to `b`: what the container sends (egress).
    AtoB,
    /// From `b` to `a`: what the container receives (ingress).
    BtoA,
    /// Both ways (each way with its own queue, flows and decisions).
    Both,
}

impl Dir {
    /// Whether a rule for `self` applies to frames travelling `way` (`AtoB` or `BtoA`).
    pub fn covers(self, way: Dir) -> bool {
        self == Dir::Both || self == way
    }
}

/// One rule: which frames, and what happens to them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// Which way.
    pub dir: Dir,
    /// Empty: every frame. Else only IP frames whose other end (the destination for
    /// `AtoB`, the source for `BtoA`) is one of these.
    #[serde(default)]
    pub peers: Vec<IpAddr>,
    /// What happens to the frames.
    pub impair: Impairment,
}

/// How delays spread around their mean.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Distribution {
    /// Evenly within `delay ± jitter`.
    #[default]
    Uniform,
    /// Normal with mean `delay` and standard deviation `jitter` (cut at 0).
    Normal,
}

/// The faults of a link, named like netem's options.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Impairment {
    /// Added to every frame that is not lost or reordered.
    pub delay: Duration,
    /// Spread of the delay (see `distribution`); frames may overtake each other, as with
    /// netem.
    pub jitter: Duration,
    /// How the jitter is spread.
    pub distribution: Distribution,
    /// Fraction of frames lost, 0 to 1.
    pub loss: f64,
    /// Mean length of a run of lost frames, at least 1. 1: every frame is lost
    /// independently of the others. Above 1: a Gilbert model per flow (a good state that
    /// loses nothing, a bad one that loses everything) whose switching odds keep the
    /// average loss at `loss` and make bad runs last `burst` frames on average.
    pub burst: f64,
    /// Fraction of frames sent twice.
    pub duplicate: f64,
    /// Fraction of frames sent at once, ahead of the delayed ones (netem's `reorder`);
    /// meaningful with a delay.
    pub reorder: f64,
    /// Fraction of frames with one bit flipped in their layer-4 payload, so that the
    /// receiver's checksum check fails and it drops them.
    pub corrupt: f64,
    /// Bits per second the link carries, counting whole frames (Ethernet header to the
    /// end, like netem's `rate`); `None`: unlimited.
    pub rate: Option<u64>,
    /// Frames that may wait in the direction's queue; beyond that a frame is dropped and
    /// counted (netem's `limit`, 1000 by default).
    pub limit: u32,
}

impl Default for Impairment {
    fn default() -> Self {
        Impairment {
            delay: Duration::ZERO,
            jitter: Duration::ZERO,
            distribution: Distribution::Uniform,
            loss: 0.0,
            burst: 1.0,
            duplicate: 0.0,
            reorder: 0.0,
            corrupt: 0.0,
            rate: None,
            limit: 1000,
        }
    }
}

/// The longest delay or jitter accepted: an hour, far beyond any network, short enough
/// that due times never overflow.
pub const MAX_DELAY: Duration = Duration::from_secs(3600);

impl Impairment {
    /// Checks every value against its range; the error names the field, the value and
    /// what is allowed.
    pub fn validate(&self) -> Result<()> {
        let bad = |field: &str, value: String, allowed: String| {
            Err(Error::Impairment {
                field: field.into(),
                value,
                allowed,
            })
        };
        for (field, d) in [("delay", self.delay), ("jitter", self.jitter)] {
            if d > MAX_DELAY {
                return bad(field, format!("{d:?}"), format!("0 to {MAX_DELAY:?}"));
            }
        }
        for (field, p) in [
            ("loss", self.loss),
            ("duplicate", self.duplicate),
            ("reorder", self.reorder),
            ("corrupt", self.corrupt),
        ] {
            if !(0.0..=1.0).contains(&p) {
                return bad(field, p.to_string(), "a fraction from 0 to 1".into());
            }
        }
        if !self.burst.is_finite() || self.burst < 1.0 {
            return bad(
                "burst",
                self.burst.to_string(),
                "a mean run length of at least 1 (1: independent losses)".into(),
            );
        }
        // The Gilbert model's odds of entering the bad state, loss / (burst (1 - loss)),
        // must be a probability.
        if self.burst > 1.0 && self.loss > 0.0 && self.loss > self.burst / (self.burst + 1.0) {
            return bad(
                "loss",
                self.loss.to_string(),
                format!(
                    "at most burst / (burst + 1) = {:.3} with burst {}: longer runs of loss are needed for a higher average",
                    self.burst / (self.burst + 1.0),
                    self.burst
                ),
            );
        }
        if self.rate == Some(0) {
            return bad(
                "rate",
                "0".into(),
                "at least 1 bit per second, or none for unlimited".into(),
            );
        }
        if self.limit == 0 {
            return bad("limit", "0".into(), "at least 1 frame".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_names_the_field() {
        let ok = Impairment::default();
        let cases: Vec<(Impairment, Option<&str>)> = vec![
            (ok.clone(), None),
            (
                Impairment {
                    loss: 1.5,
                    ..ok.clone()
                },
                Some("loss"),
            ),
            (
                Impairment {
                    duplicate: -0.1,
                    ..ok.clone()
                },
                Some("duplicate"),
            ),
            (
                Impairment {
                    corrupt: f64::NAN,
                    ..ok.clone()
                },
                Some("corrupt"),
            ),
            (
                Impairment {
                    burst: 0.5,
                    ..ok.clone()
                },
                Some("burst"),
            ),
            (
                Impairment {
                    loss: 0.7,
                    burst: 2.0,
                    ..ok.clone()
                },
                Some("loss"),
            ),
            (
                Impairment {
                    loss: 0.6,
                    burst: 2.0,
                    ..ok.clone()
                },
                None,
            ),
            (
                Impairment {
                    rate: Some(0),
                    ..ok.clone()
                },
                Some("rate"),
            ),
            (
                Impairment {
                    limit: 0,
                    ..ok.clone()
                },
                Some("limit"),
            ),
            (
                Impairment {
                    delay: Duration::from_secs(7200),
                    ..ok.clone()
                },
                Some("delay"),
            ),
        ];
        for (imp, want) in cases {
            match (imp.validate(), want) {
                (Ok(()), None) => {}
                (Err(Error::Impairment { field, .. }), Some(w)) => assert_eq!(field, w),
                (got, want) => panic!("{imp:?}: got {got:?}, want field {want:?}"),
            }
        }
    }

    #[test]
    fn rules_round_trip_through_json() {
        let rules = Rules {
            seed: 7,
            rules: vec![Rule {
                dir: Dir::AtoB,
                peers: vec!["10.9.0.2".parse().unwrap()],
                impair: Impairment {
                    delay: Duration::from_millis(100),
                    loss: 0.2,
                    ..Impairment::default()
                },
            }],
        };
        let text = serde_json::to_string(&rules).unwrap();
        assert_eq!(serde_json::from_str::<Rules>(&text).unwrap(), rules);
        // Omitted fields take netem's defaults.
        let short: Impairment = serde_json::from_str(r#"{"loss":0.1}"#).unwrap();
        assert_eq!(short.limit, 1000);
        assert_eq!(short.burst, 1.0);
    }
}
