//! Network faults as values: what a fault does, to which links, for how long, with which
//! seed; the words the CLI and scenario files use for them (`100ms`, `20%`, `10mbit`); and
//! their checks. Pure: the supervisor (`supervisor/faults.rs`) makes them real.
//!
//! A fault is one of four kinds:
//! - **impair**: the traffic of a container's interface (or only the traffic between it and
//!   some peers) is delayed, jittered, lost, duplicated, reordered, corrupted or
//!   rate-limited, by netlab's link emulator (this kernel family has no `sch_netem`);
//! - **link down**: the interface's cable is pulled (its host-side end goes down, so the
//!   container sees NO-CARRIER and keeps its address and routes, as with a real cable);
//! - **flap**: down and up in turn, for a bounded time;
//! - **partition**: the containers of one side cannot reach those of the other (IP and
//!   ARP dropped by the lab host's bridge), both ways or one way.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::limits::{DELAY, FAULT_DURATION, FLAP_PERIOD, JITTER, LIMIT, RATE};
use crate::error::{Error, Result};

/// Which traffic of a container's interface an impairment acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// What the container sends.
    Egress,
    /// What the container receives.
    Ingress,
    /// Both (netem on both ends of the cable).
    #[default]
    Both,
}

impl Direction {
    /// `egress`/`out`, `ingress`/`in` or `both`.
    pub fn parse(text: &str) -> Result<Direction> {
        match text {
            "egress" | "out" => Ok(Direction::Egress),
            "ingress" | "in" => Ok(Direction::Ingress),
            "both" => Ok(Direction::Both),
            _ => Err(Error::spec(
                "direction",
                text,
                "write egress (what the container sends), ingress (what it receives) or both",
            )),
        }
    }

    /// The word for it, as [`Direction::parse`] takes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Egress => "egress",
            Direction::Ingress => "ingress",
            Direction::Both => "both",
        }
    }
}

/// The distribution of the jitter around the delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Distribution {
    /// Uniform in `delay ± jitter` (netem's default).
    #[default]
    Uniform,
    /// Normal with mean `delay` and standard deviation `jitter`, cut at `delay ± 4 jitter`.
    Normal,
}

impl Distribution {
    /// `uniform` or `normal`.
    pub fn parse(text: &str) -> Result<Distribution> {
        match text {
            "uniform" => Ok(Distribution::Uniform),
            "normal" => Ok(Distribution::Normal),
            _ => Err(Error::spec(
                "--distribution",
                text,
                "write uniform or normal",
            )),
        }
    }
}

/// What an impairment does to each frame, netem's knobs. Probabilities are fractions
/// (0.2 is 20%).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Impair {
    /// Added to every frame's way (microseconds).
    #[serde(default)]
    pub delay_us: u64,
    /// Spread of the delay (microseconds).
    #[serde(default)]
    pub jitter_us: u64,
    #[serde(default)]
    /// How the jitter is spread around the delay.
    pub distribution: Distribution,
    /// Probability that a frame is lost.
    #[serde(default)]
    pub loss: f64,
    /// Mean length of a run of lost frames (1: each loss independent).
    #[serde(default = "one")]
    pub burst: f64,
    /// Probability that a frame is sent twice.
    #[serde(default)]
    pub duplicate: f64,
    /// Probability that a frame skips the delay, overtaking the frames before it.
    #[serde(default)]
    pub reorder: f64,
    /// Probability that one bit of a frame's payload is flipped.
    #[serde(default)]
    pub corrupt: f64,
    /// Bits per second at most.
    #[serde(default)]
    pub rate_bps: Option<u64>,
    /// Frames that may wait in the link at once (netem's `limit`); more are dropped.
    #[serde(default = "default_limit")]
    pub limit: u32,
}

fn one() -> f64 {
    1.0
}

fn default_limit() -> u32 {
    DEFAULT_LIMIT
}

/// netem's default queue limit, in frames.
pub const DEFAULT_LIMIT: u32 = 1000;

impl Impair {
    /// No impairment at all (each knob at its neutral value).
    pub fn none() -> Impair {
        Impair {
            burst: 1.0,
            limit: DEFAULT_LIMIT,
            ..Impair::default()
        }
    }

    /// Whether it changes nothing.
    pub fn is_none(&self) -> bool {
        self.delay_us == 0
            && self.jitter_us == 0
            && self.loss == 0.0
            && self.duplicate == 0.0
            && self.reorder == 0.0
            && self.corrupt == 0.0
            && self.rate_bps.is_none()
    }

    /// Two impairments of the same traffic, one after the other: delays add, jitters add,
    /// probabilities combine as independent events, the slower rate and the shorter
    /// queue win.
    pub fn then(&self, other: &Impair) -> Impair {
        let either = |a: f64, b: f64| match (a, b) {
            (0.0, p) | (p, 0.0) => p,
            _ => 1.0 - (1.0 - a) * (1.0 - b),
        };
        Impair {
            delay_us: self.delay_us.saturating_add(other.delay_us),
            jitter_us: self.jitter_us.saturating_add(other.jitter_us),
            distribution: if other.jitter_us > 0 {
                other.distribution
            } else {
                self.distribution
            },
            loss: either(self.loss, other.loss),
            burst: self.burst.max(other.burst),
            duplicate: either(self.duplicate, other.duplicate),
            reorder: either(self.reorder, other.reorder),
            corrupt: either(self.corrupt, other.corrupt),
            rate_bps: match (self.rate_bps, other.rate_bps) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
            limit: self.limit.min(other.limit),
        }
    }

    /// Checks every knob against its range.
    pub fn validate(&self) -> Result<()> {
        DELAY.check_value(self.delay_us, &format_us(self.delay_us))?;
        JITTER.check_value(self.jitter_us, &format_us(self.jitter_us))?;
        for (what, p) in [
            ("loss", self.loss),
            ("duplicate", self.duplicate),
            ("reorder", self.reorder),
            ("corrupt", self.corrupt),
        ] {
            if !(0.0..=1.0).contains(&p) || p.is_nan() {
                return Err(Error::spec(
                    what,
                    format!("{}%", p * 100.0),
                    "a probability is between 0% and 100%",
                ));
            }
        }
        if !(1.0..=1000.0).contains(&self.burst) || self.burst.is_nan() {
            return Err(Error::spec(
                "--burst",
                self.burst.to_string(),
                "the mean length of a loss burst is between 1 (independent losses) and 1000 frames",
            ));
        }
        // The Gilbert model's odds of entering a loss run, loss / (burst (1 - loss)), are a
        // probability only up to this average loss.
        if self.burst > 1.0 && self.loss > self.burst / (self.burst + 1.0) {
            return Err(Error::spec(
                "loss",
                format!("{}% with --burst {}", self.loss * 100.0, self.burst),
                format!(
                    "with runs of {} frames on average the loss is at most {:.1}%; lower the loss or lengthen the runs",
                    self.burst,
                    100.0 * self.burst / (self.burst + 1.0)
                ),
            ));
        }
        if self.reorder > 0.0 && self.delay_us == 0 {
            return Err(Error::spec(
                "reorder",
                format!("{}%", self.reorder * 100.0),
                "reordering sends some frames ahead of delayed ones, so it needs a delay: add --delay, e.g. --delay 10ms (as netem)",
            ));
        }
        if let Some(r) = self.rate_bps {
            RATE.check_value(r, &format_rate(r))?;
        }
        LIMIT.check_value(u64::from(self.limit), &self.limit.to_string())?;
        Ok(())
    }
}

/// What a fault does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultKind {
    /// Impairs the traffic of `container`'s interface `ifname`: all of it, or only what it
    /// exchanges with `peers` (container names).
    Impair {
        /// The container whose interface it is.
        container: String,
        #[serde(default = "eth0")]
        /// The interface (`eth0`, or one `pipework` added).
        ifname: String,
        #[serde(default)]
        /// Only the traffic with these containers; all traffic when empty.
        peers: Vec<String>,
        #[serde(default)]
        /// What the container sends, receives, or both.
        direction: Direction,
        /// What happens to the frames.
        impair: Impair,
    },
    /// Pulls the cable of `container`'s interface `ifname`.
    LinkDown {
        /// The container (`""`: the lab host, whose own interface `ifname` is then meant).
        container: String,
        #[serde(default = "eth0")]
        /// The interface.
        ifname: String,
    },
    /// Pulls and plugs the cable in turn: down for half of `period_ms`, up for the other.
    Flap {
        /// The container (`""`: the lab host).
        container: String,
        #[serde(default = "eth0")]
        /// The interface.
        ifname: String,
        /// One down and one up, in milliseconds.
        period_ms: u64,
    },
    /// The containers of `a` and of `b` cannot reach each other; with `one_way`, only what
    /// `a` sends to `b` is dropped, replies included (no connection tracking), so `b`'s
    /// UDP and pings reach `a` and get no answer, and TCP fails both ways.
    Partition {
        /// One side.
        a: Vec<String>,
        /// The other side.
        b: Vec<String>,
        #[serde(default)]
        /// Only what `a` sends to `b` is dropped.
        one_way: bool,
    },
}

fn eth0() -> String {
    "eth0".into()
}

/// A fault as asked for: what it does, its name, how long it lasts and its seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultSpec {
    /// A name to heal it by; the lab names it `fault-N` otherwise.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(flatten)]
    /// What it does.
    pub kind: FaultKind,
    /// It reverts by itself after this long (milliseconds).
    #[serde(default)]
    pub duration_ms: Option<u64>,
    /// The seed of its random choices; the lab picks one (and shows it) otherwise.
    #[serde(default)]
    pub seed: Option<u64>,
}

impl FaultSpec {
    fn new(kind: FaultKind) -> FaultSpec {
        FaultSpec {
            name: None,
            kind,
            duration_ms: None,
            seed: None,
        }
    }

    /// Impairs all traffic of `container`'s `eth0` with `impair`.
    pub fn impair(container: &str, impair: Impair) -> FaultSpec {
        FaultSpec::new(FaultKind::Impair {
            container: container.into(),
            ifname: eth0(),
            peers: vec![],
            direction: Direction::Both,
            impair,
        })
    }

    /// `netlab fault delay CONTAINER DELAY`.
    pub fn delay(container: &str, delay: Duration) -> FaultSpec {
        FaultSpec::impair(
            container,
            Impair {
                delay_us: duration_us(delay),
                ..Impair::none()
            },
        )
    }

    /// `netlab fault loss CONTAINER PERCENT` (`loss` is a fraction: 0.2 is 20%).
    pub fn loss(container: &str, loss: f64) -> FaultSpec {
        FaultSpec::impair(
            container,
            Impair {
                loss,
                ..Impair::none()
            },
        )
    }

    /// `netlab fault rate CONTAINER RATE` (bits per second).
    pub fn rate(container: &str, bits_per_second: u64) -> FaultSpec {
        FaultSpec::impair(
            container,
            Impair {
                rate_bps: Some(bits_per_second),
                ..Impair::none()
            },
        )
    }

    /// `netlab partition A,B C,D`.
    pub fn partition<S: AsRef<str>>(a: &[S], b: &[S]) -> FaultSpec {
        let names = |v: &[S]| v.iter().map(|s| s.as_ref().to_string()).collect();
        FaultSpec::new(FaultKind::Partition {
            a: names(a),
            b: names(b),
            one_way: false,
        })
    }

    /// `netlab link down CONTAINER IFNAME`.
    pub fn link_down(container: &str, ifname: &str) -> FaultSpec {
        FaultSpec::new(FaultKind::LinkDown {
            container: container.into(),
            ifname: ifname.into(),
        })
    }

    /// `netlab link flap CONTAINER IFNAME --period P --for D`.
    pub fn flap(container: &str, ifname: &str, period: Duration, duration: Duration) -> FaultSpec {
        let mut f = FaultSpec::new(FaultKind::Flap {
            container: container.into(),
            ifname: ifname.into(),
            period_ms: duration_ms(period),
        });
        f.duration_ms = Some(duration_ms(duration));
        f
    }

    /// Adds jitter (an impairment only; other kinds are left as they are).
    pub fn jitter(mut self, jitter: Duration, distribution: Distribution) -> FaultSpec {
        if let FaultKind::Impair { impair, .. } = &mut self.kind {
            impair.jitter_us = duration_us(jitter);
            impair.distribution = distribution;
        }
        self
    }

    /// Only the traffic with these containers (an impairment only).
    pub fn to<S: AsRef<str>>(mut self, peers: &[S]) -> FaultSpec {
        if let FaultKind::Impair { peers: p, .. } = &mut self.kind {
            *p = peers.iter().map(|s| s.as_ref().to_string()).collect();
        }
        self
    }

    /// Only one direction of the traffic (an impairment only).
    pub fn direction(mut self, direction: Direction) -> FaultSpec {
        if let FaultKind::Impair { direction: d, .. } = &mut self.kind {
            *d = direction;
        }
        self
    }

    /// One way only (a partition only).
    pub fn one_way(mut self) -> FaultSpec {
        if let FaultKind::Partition { one_way, .. } = &mut self.kind {
            *one_way = true;
        }
        self
    }

    /// On another interface than `eth0` (a pipework one, `eth1`...).
    pub fn on_interface(mut self, name: &str) -> FaultSpec {
        match &mut self.kind {
            FaultKind::Impair { ifname, .. }
            | FaultKind::LinkDown { ifname, .. }
            | FaultKind::Flap { ifname, .. } => *ifname = name.into(),
            FaultKind::Partition { .. } => {}
        }
        self
    }

    /// Reverts by itself after `d`.
    pub fn lasting(mut self, d: Duration) -> FaultSpec {
        self.duration_ms = Some(duration_ms(d));
        self
    }

    /// The seed of its random choices (the same seed drops the same frames of a stream).
    pub fn seed(mut self, seed: u64) -> FaultSpec {
        self.seed = Some(seed);
        self
    }

    /// The name to heal it by (`fault-N` otherwise).
    pub fn named(mut self, name: &str) -> FaultSpec {
        self.name = Some(name.into());
        self
    }

    /// The containers it names, each once, in order.
    pub fn containers(&self) -> Vec<&str> {
        let all: Vec<&str> = match &self.kind {
            FaultKind::Impair {
                container, peers, ..
            } => std::iter::once(container)
                .chain(peers)
                .map(String::as_str)
                .collect(),
            FaultKind::LinkDown { container, .. } | FaultKind::Flap { container, .. } => {
                vec![container.as_str()]
            }
            FaultKind::Partition { a, b, .. } => a.iter().chain(b).map(String::as_str).collect(),
        };
        let mut out: Vec<&str> = Vec::with_capacity(all.len());
        for n in all {
            if !out.contains(&n) {
                out.push(n);
            }
        }
        out
    }

    /// Checks what can be checked without the lab: values in range, a partition's sides
    /// not empty and apart, a flap bounded in time.
    pub fn validate(&self) -> Result<()> {
        if let Some(n) = &self.name {
            super::names::validate_container_name(n).map_err(|_| {
                Error::spec(
                    "fault name",
                    n,
                    "a fault name has letters, digits, '_', '.' or '-', and starts with a letter or digit",
                )
            })?;
        }
        if let Some(d) = self.duration_ms {
            FAULT_DURATION.check_value(d, &format_ms(d))?;
        }
        match &self.kind {
            FaultKind::Impair {
                impair,
                container,
                peers,
                ..
            } => {
                impair.validate()?;
                if impair.is_none() {
                    return Err(Error::spec(
                        "impairment",
                        "nothing",
                        "give at least one of a delay, jitter, loss, duplication, reordering, corruption or rate",
                    ));
                }
                if peers.contains(container) {
                    return Err(Error::spec(
                        "--to",
                        container,
                        "a container's own traffic with itself never crosses its interface; name other containers",
                    ));
                }
            }
            FaultKind::LinkDown { .. } => {}
            FaultKind::Flap { period_ms, .. } => {
                FLAP_PERIOD.check_value(*period_ms, &format_ms(*period_ms))?;
                if self.duration_ms.is_none() {
                    return Err(Error::spec(
                        "flap",
                        "without --for",
                        "a flapping link flaps for a bounded time: add --for, e.g. --for 10s",
                    ));
                }
            }
            FaultKind::Partition { a, b, .. } => {
                if a.is_empty() || b.is_empty() {
                    return Err(Error::spec(
                        "partition",
                        format!("{} | {}", a.join(","), b.join(",")),
                        "a partition has two sides, each with at least one container: netlab partition A,B C,D",
                    ));
                }
                if let Some(both) = a.iter().find(|n| b.contains(n)) {
                    return Err(Error::spec(
                        "partition",
                        format!("{} | {}", a.join(","), b.join(",")),
                        format!(
                            "container {both} is on both sides; a container cannot be cut off from itself"
                        ),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// One line about a fault, for `netlab faults`, `inspect` and graphs:
/// `delay 100ms ±10ms normal, loss 5% on webserver1/eth0 with mongodb (both)`.
impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultKind::Impair {
                container,
                ifname,
                peers,
                direction,
                impair,
            } => {
                write!(f, "{} on {container}/{ifname}", describe(impair))?;
                if !peers.is_empty() {
                    write!(f, " with {}", peers.join(","))?;
                }
                if *direction != Direction::Both {
                    write!(f, " ({})", direction.as_str())?;
                }
                Ok(())
            }
            FaultKind::LinkDown { container, ifname } => {
                write!(f, "link down {container}/{ifname}")
            }
            FaultKind::Flap {
                container,
                ifname,
                period_ms,
            } => write!(
                f,
                "flap {container}/{ifname} every {}",
                format_ms(*period_ms)
            ),
            FaultKind::Partition { a, b, one_way } => write!(
                f,
                "partition {} {} {}",
                a.join(","),
                if *one_way { "->" } else { "|" },
                b.join(",")
            ),
        }
    }
}

/// `delay 100ms ±10ms, loss 5%`: the knobs that are set.
pub fn describe(i: &Impair) -> String {
    let pct = |p: f64| format!("{}%", trim_float(p * 100.0));
    let mut parts = vec![];
    if i.delay_us > 0 || i.jitter_us > 0 {
        let mut s = format!("delay {}", format_us(i.delay_us));
        if i.jitter_us > 0 {
            s.push_str(&format!(" ±{}", format_us(i.jitter_us)));
            if i.distribution == Distribution::Normal {
                s.push_str(" normal");
            }
        }
        parts.push(s);
    }
    if i.loss > 0.0 {
        let mut s = format!("loss {}", pct(i.loss));
        if i.burst > 1.0 {
            s.push_str(&format!(" burst {}", trim_float(i.burst)));
        }
        parts.push(s);
    }
    for (what, p) in [
        ("duplicate", i.duplicate),
        ("reorder", i.reorder),
        ("corrupt", i.corrupt),
    ] {
        if p > 0.0 {
            parts.push(format!("{what} {}", pct(p)));
        }
    }
    if let Some(r) = i.rate_bps {
        parts.push(format!("rate {}", format_rate(r)));
    }
    parts.join(", ")
}

fn trim_float(x: f64) -> String {
    let s = format!("{x:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn duration_us(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// `1500us` → `1.5ms`, `2000000` → `2s`, `5400000000` → `1h30m`.
pub fn format_us(us: u64) -> String {
    if us >= 60_000_000 {
        let (h, rest) = (us / 3_600_000_000, us % 3_600_000_000);
        let (m, rest) = (rest / 60_000_000, rest % 60_000_000);
        let mut s = String::new();
        if h > 0 {
            s.push_str(&format!("{h}h"));
        }
        if m > 0 {
            s.push_str(&format!("{m}m"));
        }
        if rest > 0 {
            s.push_str(&format!("{}s", trim_float(rest as f64 / 1e6)));
        }
        s
    } else if us >= 1_000_000 && us.is_multiple_of(1000) {
        format!("{}s", trim_float(us as f64 / 1e6))
    } else if us >= 1000 {
        format!("{}ms", trim_float(us as f64 / 1e3))
    } else {
        format!("{us}us")
    }
}

pub fn format_ms(ms: u64) -> String {
    format_us(ms.saturating_mul(1000))
}

/// `10000000` → `10mbit`.
pub fn format_rate(bps: u64) -> String {
    for (unit, n) in [("gbit", 1_000_000_000), ("mbit", 1_000_000), ("kbit", 1000)] {
        if bps >= n {
            return format!("{}{unit}", trim_float(bps as f64 / n as f64));
        }
    }
    format!("{bps}bit")
}

/// A duration as people write it: `100ms`, `1.5s`, `2m`, `250us`, `1h` (a bare number is
/// refused: its unit would be a guess).
pub fn parse_duration(what: &str, text: &str) -> Result<Duration> {
    let units = [
        ("us", 1e-6),
        ("µs", 1e-6),
        ("ms", 1e-3),
        ("s", 1.0),
        ("m", 60.0),
        ("min", 60.0),
        ("h", 3600.0),
    ];
    let secs = scaled(text, &units, 1e9).ok_or_else(|| {
        Error::spec(
            what,
            text,
            "write a number with a unit: us, ms, s, m or h (e.g. 100ms, 1.5s)",
        )
    })?;
    Ok(Duration::from_secs_f64(secs))
}

/// `NUMBER UNIT` as the number times the unit's scale, when the unit is one of `units`
/// (case-insensitive) and the result a finite value from 0 to `max`.
fn scaled(text: &str, units: &[(&str, f64)], max: f64) -> Option<f64> {
    let t = text.trim().to_lowercase();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().ok()?;
    let scale = units.iter().find(|(u, _)| *u == unit.trim())?.1;
    let v = n * scale;
    (v.is_finite() && (0.0..=max).contains(&v)).then_some(v)
}

/// A probability as people write it: `20%` or `0.5%`; a bare number is a percentage too,
/// as with `tc netem loss 20`.
pub fn parse_percent(what: &str, text: &str) -> Result<f64> {
    let t = text.trim();
    let num = t.strip_suffix('%').unwrap_or(t);
    let p: f64 = num.trim().parse().map_err(|_| {
        Error::spec(
            what,
            text,
            "write a percentage between 0% and 100%, e.g. 20% or 0.5%",
        )
    })?;
    if !(0.0..=100.0).contains(&p) {
        return Err(Error::spec(
            what,
            text,
            "a percentage is between 0% and 100%",
        ));
    }
    Ok(p / 100.0)
}

/// A rate as `tc` writes it: `10mbit`, `500kbit`, `1gbit`, `64bit` (bits per second), or
/// `1mbps`, `100kbps` (bytes per second). A bare number is refused.
pub fn parse_rate(what: &str, text: &str) -> Result<u64> {
    let units = [
        ("bit", 1.0),
        ("kbit", 1e3),
        ("mbit", 1e6),
        ("gbit", 1e9),
        ("bps", 8.0),
        ("kbps", 8e3),
        ("mbps", 8e6),
        ("gbps", 8e9),
    ];
    let bps = scaled(text, &units, 1e15).ok_or_else(|| {
        Error::spec(
            what,
            text,
            "write a rate with tc's units: bit, kbit, mbit, gbit (bits per second) or bps, kbps, mbps, gbps (bytes), e.g. 10mbit",
        )
    })?;
    let bps = bps.round() as u64;
    RATE.check_value(bps, text)?;
    Ok(bps)
}

/// A fault of the lab as `netlab faults` lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultState {
    /// The lab's number for it (`fault-N` is its default name).
    pub id: u64,
    /// Its name (given, or `fault-N`).
    pub name: String,
    /// What was asked for.
    pub spec: FaultSpec,
    /// The seed in use (the one given, or the one the lab picked).
    pub seed: u64,
    /// When it was applied, in seconds since the epoch.
    pub since: u64,
    /// Milliseconds until it reverts by itself.
    pub remaining_ms: Option<u64>,
    /// What the link emulator did so far (impairments only).
    #[serde(default)]
    pub counters: Option<Counters>,
}

/// Frames an impaired link has seen and what it did with them, both directions together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Counters {
    /// Frames that entered the emulator.
    pub frames: u64,
    /// Frames it sent on (duplicates included).
    pub passed: u64,
    /// Frames lost (randomly or in bursts).
    pub lost: u64,
    /// Frames dropped because the link's queue was full.
    pub dropped_queue_full: u64,
    /// Frames sent twice.
    pub duplicated: u64,
    /// Frames sent ahead of delayed ones.
    pub reordered: u64,
    /// Frames with a flipped bit.
    pub corrupted: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_percentages_and_rates_parse_as_people_write_them() {
        let ms = |s| parse_duration("delay", s).map(|d| d.as_micros());
        assert_eq!(ms("100ms").unwrap(), 100_000);
        assert_eq!(ms("1.5s").unwrap(), 1_500_000);
        assert_eq!(ms("250us").unwrap(), 250);
        assert_eq!(ms("2m").unwrap(), 120_000_000);
        for bad in ["100", "ms", "-5ms", "1e3ms", "5 parsecs", ""] {
            assert!(ms(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_percent("loss", "20%").unwrap(), 0.2);
        assert_eq!(parse_percent("loss", "0.5").unwrap(), 0.005);
        for bad in ["150%", "-1%", "lots", "NaN%"] {
            assert!(parse_percent("loss", bad).is_err(), "{bad}");
        }
        assert_eq!(parse_rate("rate", "10mbit").unwrap(), 10_000_000);
        assert_eq!(parse_rate("rate", "1mbps").unwrap(), 8_000_000);
        assert_eq!(parse_rate("rate", "64bit").unwrap(), 64);
        for bad in ["0mbit", "0", "10", "fast", "1000gbit", "2bit"] {
            assert!(parse_rate("rate", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn absurd_and_contradictory_faults_are_refused() {
        let d = |ms| FaultSpec::delay("web", Duration::from_millis(ms));
        assert!(d(100).validate().is_ok());
        assert!(d(10 * 3600 * 1000).validate().is_err(), "10 hours");
        assert!(FaultSpec::loss("web", 1.5).validate().is_err());
        assert!(FaultSpec::loss("web", f64::NAN).validate().is_err());
        assert!(FaultSpec::rate("web", 0).validate().is_err());
        assert!(
            FaultSpec::loss("web", 0.0).validate().is_err(),
            "does nothing"
        );
        assert!(d(10).to(&["web"]).validate().is_err(), "itself as peer");
        assert!(
            FaultSpec::partition(&["a", "b"], &["b", "c"])
                .validate()
                .is_err()
        );
        assert!(
            FaultSpec::partition::<&str>(&[], &["c"])
                .validate()
                .is_err()
        );
        let flap = FaultSpec::flap(
            "web",
            "eth0",
            Duration::from_secs(1),
            Duration::from_secs(5),
        );
        assert!(flap.validate().is_ok());
        let mut endless = flap.clone();
        endless.duration_ms = None;
        assert!(endless.validate().is_err());
        let reorder_only = FaultSpec::impair(
            "web",
            Impair {
                reorder: 0.25,
                ..Impair::none()
            },
        );
        assert!(reorder_only.validate().is_err(), "reorder needs a delay");
        let bursty = |loss, burst| {
            FaultSpec::impair(
                "web",
                Impair {
                    loss,
                    burst,
                    ..Impair::none()
                },
            )
        };
        assert!(bursty(0.5, 4.0).validate().is_ok());
        assert!(bursty(0.9, 4.0).validate().is_err(), "past burst/(burst+1)");
        assert!(d(10).named("bad name!").validate().is_err());
        assert!(
            d(10)
                .lasting(Duration::from_secs(25 * 3600))
                .validate()
                .is_err()
        );
    }

    #[test]
    fn impairments_of_the_same_traffic_compose() {
        let a = Impair {
            delay_us: 100_000,
            loss: 0.1,
            rate_bps: Some(10_000_000),
            ..Impair::none()
        };
        let b = Impair {
            delay_us: 50_000,
            loss: 0.1,
            rate_bps: Some(1_000_000),
            ..Impair::none()
        };
        let c = a.then(&b);
        assert_eq!(c.delay_us, 150_000);
        assert!((c.loss - 0.19).abs() < 1e-9);
        assert_eq!(c.rate_bps, Some(1_000_000));
        assert_eq!(Impair::none().then(&a), a);
    }

    #[test]
    fn faults_describe_themselves_in_one_line() {
        let f = FaultSpec::delay("webserver1", Duration::from_millis(100))
            .jitter(Duration::from_millis(10), Distribution::Normal)
            .to(&["mongodb"]);
        assert_eq!(
            f.kind.to_string(),
            "delay 100ms ±10ms normal on webserver1/eth0 with mongodb"
        );
        let p = FaultSpec::partition(&["web1", "web2"], &["mongodb"]).one_way();
        assert_eq!(p.kind.to_string(), "partition web1,web2 -> mongodb");
        assert_eq!(
            FaultSpec::rate("x", 10_000_000).kind.to_string(),
            "rate 10mbit on x/eth0"
        );
        assert_eq!(format_us(1_500), "1.5ms");
        assert_eq!(format_us(2_000_000), "2s");
        assert_eq!(format_us(5_400_000_000), "1h30m");
        assert_eq!(format_us(3_599_900_000), "59m59.9s");
    }

    #[test]
    fn a_fault_travels_as_json_and_back() {
        let f = FaultSpec::loss("web", 0.2)
            .seed(7)
            .lasting(Duration::from_secs(5))
            .named("lossy");
        let text = serde_json::to_string(&f).unwrap();
        assert_eq!(serde_json::from_str::<FaultSpec>(&text).unwrap(), f);
    }
}
