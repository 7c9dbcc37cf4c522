//! `netlab fault`, `partition`, `heal`, `link` and `faults`: breaking the lab's network on
//! purpose, and mending it.

use anyhow::{Context as _, bail};

use crate::client::Lab;
use crate::model::fault::{
    self, Direction, Distribution, FaultKind, FaultSpec, FaultState, Impair, format_ms,
    parse_duration, parse_percent, parse_rate,
};

const FAULT_HELP: &str = "\
Examples, with the article's services:
  netlab fault delay webserver1 300ms --to mongodb          # MongoDB is 300 ms away from webserver1
  netlab fault delay webserver1 100ms --jitter 10ms --distribution normal --for 30s --seed 7
  netlab fault loss webserver1 20% --to mongodb --seed 7    # the same frames lost on every run
  netlab fault loss webserver1 5% --burst 4                 # in runs of 4 frames on average
  netlab fault rate webserver1 10mbit
  netlab fault impair webserver1 --delay 50ms --loss 1% --duplicate 1%
  netlab faults                                             # what is active, with seeds and counters
  netlab heal fault-1                                       # or `netlab heal` for all of them

An impairment acts on the frames of one container's interface (eth0 unless --if), both
directions unless --direction, and only the traffic with the containers of --to if given.
It works on any kernel: netlab's own link emulator relays the impaired frames (only those
of impaired interfaces). The fault prints its name; it lasts until healed, for --for, or
until the lab ends.";

#[derive(Debug, clap::Subcommand)]
pub enum FaultCmd {
    /// Delay the frames: DELAY (100ms, 1.5s), with --jitter.
    Delay {
        container: String,
        delay: String,
        /// Spread of the delay (netem's jitter).
        #[arg(long)]
        jitter: Option<String>,
        /// How the jitter is spread: uniform (default) or normal.
        #[arg(long, default_value = "uniform")]
        distribution: String,
        #[command(flatten)]
        common: Common,
    },
    /// Lose frames: PERCENT (20%, 0.5%), independently or in --burst runs.
    Loss {
        container: String,
        percent: String,
        /// Mean length of a run of lost frames (Gilbert model); 1 = independent.
        #[arg(long)]
        burst: Option<f64>,
        #[command(flatten)]
        common: Common,
    },
    /// Send PERCENT of the frames twice.
    Duplicate {
        container: String,
        percent: String,
        #[command(flatten)]
        common: Common,
    },
    /// Send PERCENT of the frames at once, ahead of the others, which are delayed by --delay.
    Reorder {
        container: String,
        percent: String,
        /// The delay the other frames get (reordering needs one, as with netem).
        #[arg(long)]
        delay: String,
        #[command(flatten)]
        common: Common,
    },
    /// Flip one bit in PERCENT of the frames (the receiver's checksum drops them).
    Corrupt {
        container: String,
        percent: String,
        #[command(flatten)]
        common: Common,
    },
    /// Limit the rate: RATE in tc's units (10mbit, 500kbit, 1mbps = bytes).
    Rate {
        container: String,
        rate: String,
        /// Frames that may wait at once; more are dropped (netem's limit, default 1000).
        #[arg(long)]
        limit: Option<u32>,
        #[command(flatten)]
        common: Common,
    },
    /// Several impairments at once.
    Impair {
        container: String,
        #[arg(long)]
        delay: Option<String>,
        #[arg(long)]
        jitter: Option<String>,
        #[arg(long, default_value = "uniform")]
        distribution: String,
        #[arg(long)]
        loss: Option<String>,
        #[arg(long)]
        burst: Option<f64>,
        #[arg(long)]
        duplicate: Option<String>,
        #[arg(long)]
        reorder: Option<String>,
        #[arg(long)]
        corrupt: Option<String>,
        #[arg(long)]
        rate: Option<String>,
        #[arg(long)]
        limit: Option<u32>,
        #[command(flatten)]
        common: Common,
    },
}

/// What every impairment takes.
#[derive(Debug, clap::Args)]
pub struct Common {
    /// Only the traffic with these containers (comma-separated).
    #[arg(long, value_delimiter = ',')]
    to: Vec<String>,
    /// egress (what the container sends), ingress (what it receives) or both.
    #[arg(long, default_value = "both")]
    direction: String,
    /// The container's interface: eth0, or one `pipework` added.
    #[arg(long = "if", default_value = "eth0")]
    ifname: String,
    #[command(flatten)]
    lasting: Lasting,
}

/// What every fault takes.
#[derive(Debug, clap::Args)]
pub struct Lasting {
    /// It reverts by itself after this long (30s, 500ms).
    #[arg(long = "for")]
    duration: Option<String>,
    /// The seed of an impairment's random choices: the same seed loses, duplicates and
    /// reorders the same frames of a stream (a random one is chosen, and shown,
    /// otherwise). Partitions and cables make no random choice.
    #[arg(long)]
    seed: Option<u64>,
    /// A name to heal it by (fault-N otherwise).
    #[arg(long)]
    name: Option<String>,
}

impl Lasting {
    fn apply(self, mut spec: FaultSpec) -> anyhow::Result<FaultSpec> {
        if let Some(d) = &self.duration {
            spec = spec.lasting(parse_duration("--for", d)?);
        }
        spec.seed = self.seed;
        spec.name = self.name;
        Ok(spec)
    }
}

#[derive(Debug, clap::Args)]
#[command(after_help = FAULT_HELP)]
pub struct FaultArgs {
    #[command(subcommand)]
    cmd: FaultCmd,
}

fn us(what: &str, text: &str) -> anyhow::Result<u64> {
    Ok(u64::try_from(parse_duration(what, text)?.as_micros()).unwrap_or(u64::MAX))
}

fn pct(what: &str, text: Option<&String>) -> anyhow::Result<f64> {
    Ok(match text {
        Some(t) => parse_percent(what, t)?,
        None => 0.0,
    })
}

/// The fault a `netlab fault ...` line describes.
fn spec_of(cmd: FaultCmd) -> anyhow::Result<FaultSpec> {
    let none = Impair::none();
    let (container, impair, common) = match cmd {
        FaultCmd::Delay {
            container,
            delay,
            jitter,
            distribution,
            common,
        } => {
            let impair = Impair {
                delay_us: us("delay", &delay)?,
                jitter_us: jitter.map(|j| us("--jitter", &j)).transpose()?.unwrap_or(0),
                distribution: Distribution::parse(&distribution)?,
                ..none
            };
            (container, impair, common)
        }
        FaultCmd::Loss {
            container,
            percent,
            burst,
            common,
        } => {
            let impair = Impair {
                loss: parse_percent("loss", &percent)?,
                burst: burst.unwrap_or(1.0),
                ..none
            };
            (container, impair, common)
        }
        FaultCmd::Duplicate {
            container,
            percent,
            common,
        } => {
            let impair = Impair {
                duplicate: parse_percent("duplicate", &percent)?,
                ..none
            };
            (container, impair, common)
        }
        FaultCmd::Reorder {
            container,
            percent,
            delay,
            common,
        } => {
            let impair = Impair {
                reorder: parse_percent("reorder", &percent)?,
                delay_us: us("--delay", &delay)?,
                ..none
            };
            (container, impair, common)
        }
        FaultCmd::Corrupt {
            container,
            percent,
            common,
        } => {
            let impair = Impair {
                corrupt: parse_percent("corrupt", &percent)?,
                ..none
            };
            (container, impair, common)
        }
        FaultCmd::Rate {
            container,
            rate,
            limit,
            common,
        } => {
            let impair = Impair {
                rate_bps: Some(parse_rate("rate", &rate)?),
                limit: limit.unwrap_or(fault::DEFAULT_LIMIT),
                ..none
            };
            (container, impair, common)
        }
        FaultCmd::Impair {
            container,
            delay,
            jitter,
            distribution,
            loss,
            burst,
            duplicate,
            reorder,
            corrupt,
            rate,
            limit,
            common,
        } => {
            let impair = Impair {
                delay_us: delay.map(|d| us("--delay", &d)).transpose()?.unwrap_or(0),
                jitter_us: jitter.map(|j| us("--jitter", &j)).transpose()?.unwrap_or(0),
                distribution: Distribution::parse(&distribution)?,
                loss: pct("--loss", loss.as_ref())?,
                burst: burst.unwrap_or(1.0),
                duplicate: pct("--duplicate", duplicate.as_ref())?,
                reorder: pct("--reorder", reorder.as_ref())?,
                corrupt: pct("--corrupt", corrupt.as_ref())?,
                rate_bps: rate.map(|r| parse_rate("--rate", &r)).transpose()?,
                limit: limit.unwrap_or(fault::DEFAULT_LIMIT),
            };
            (container, impair, common)
        }
    };
    let spec = FaultSpec::impair(&container, impair)
        .to(&common.to)
        .direction(Direction::parse(&common.direction)?)
        .on_interface(&common.ifname);
    common.lasting.apply(spec)
}

/// Applies `spec` and prints its name, as `docker run -d` prints an ID.
fn apply(lab: &str, spec: FaultSpec) -> anyhow::Result<u8> {
    let state = Lab::open(lab)?.apply_fault(&spec)?;
    println!("{}", state.name);
    Ok(0)
}

pub fn fault(lab: &str, a: FaultArgs) -> anyhow::Result<u8> {
    apply(lab, spec_of(a.cmd)?)
}

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  netlab partition webserver1,webserver2,webserver3 mongodb   # the web servers lose the database
  netlab partition --one-way webserver1 mongodb --for 5s       # only what webserver1 sends is dropped
  netlab heal                                                  # every fault, or: netlab heal NAME

The bridge drops the frames between the two sides (IP, and ARP unless --one-way); the
containers keep their addresses and see silence, as across a failed switch.")]
pub struct PartitionArgs {
    /// One side: containers, comma-separated (A,B).
    a: String,
    /// The other side (C,D).
    b: String,
    /// Only what the first side sends to the second is dropped.
    #[arg(long)]
    one_way: bool,
    #[command(flatten)]
    lasting: Lasting,
}

pub fn partition(lab: &str, a: PartitionArgs) -> anyhow::Result<u8> {
    let side = |s: &str| -> Vec<String> {
        s.split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(String::from)
            .collect()
    };
    let mut spec = FaultSpec::partition(&side(&a.a), &side(&a.b));
    if a.one_way {
        spec = spec.one_way();
    }
    apply(lab, a.lasting.apply(spec)?)
}

#[derive(Debug, clap::Args)]
pub struct HealArgs {
    /// The faults to heal, by name (`netlab faults` lists them); all of them when none is given.
    names: Vec<String>,
}

pub fn heal(lab: &str, a: HealArgs) -> anyhow::Result<u8> {
    let names: Vec<&str> = a.names.iter().map(String::as_str).collect();
    for n in Lab::open(lab)?.heal(&names)? {
        println!("{n}");
    }
    Ok(0)
}

#[derive(Debug, clap::Subcommand)]
#[command(after_help = "\
Examples:
  netlab link down webserver1                  # its eth0 cable is pulled
  netlab link up webserver1                    # and plugged back
  netlab link down webserver1 eth1 --for 5s    # an interface pipework added, for 5 seconds
  netlab link down --host eth1                 # the lab host's uplink to its LAN
  netlab link flap webserver1 --period 2s --for 20s

The cable's far end (on the lab host) goes down: the container sees NO-CARRIER and keeps
its address and routes, as with a real cable.")]
pub enum LinkCmd {
    /// Pull an interface's cable.
    Down(LinkArgs),
    /// Plug it back (heals the faults that keep it down).
    Up(LinkArgs),
    /// Pull and plug it in turn, every half --period, for --for.
    Flap {
        #[command(flatten)]
        link: LinkArgs,
        /// One down and one up (1s: down 500ms, up 500ms).
        #[arg(long, default_value = "2s")]
        period: String,
    },
}

#[derive(Debug, clap::Args)]
pub struct LinkArgs {
    /// The container (leave out with --host).
    #[arg(required_unless_present = "host")]
    container: Option<String>,
    /// Its interface.
    #[arg(default_value = "eth0")]
    ifname: String,
    /// An interface of the lab host itself (its uplink) instead of a container's.
    #[arg(long, conflicts_with = "container")]
    host: Option<String>,
    #[command(flatten)]
    lasting: Lasting,
}

impl LinkArgs {
    /// The cable: (container, interface), the container `""` for the lab host.
    fn cable(&self) -> (String, String) {
        match &self.host {
            Some(i) => (String::new(), i.clone()),
            None => (
                self.container.clone().unwrap_or_default(),
                self.ifname.clone(),
            ),
        }
    }
}

pub fn link(lab: &str, c: LinkCmd) -> anyhow::Result<u8> {
    match c {
        LinkCmd::Down(a) => {
            let (container, ifname) = a.cable();
            apply(
                lab,
                a.lasting.apply(FaultSpec::link_down(&container, &ifname))?,
            )
        }
        LinkCmd::Flap { link, period } => {
            let (container, ifname) = link.cable();
            let period = parse_duration("--period", &period)?;
            let Some(d) = &link.lasting.duration else {
                bail!("a flapping link flaps for a bounded time: add --for, e.g. --for 10s");
            };
            let duration = parse_duration("--for", d)?;
            let mut spec = FaultSpec::flap(&container, &ifname, period, duration);
            spec.seed = link.lasting.seed;
            spec.name = link.lasting.name;
            apply(lab, spec)
        }
        LinkCmd::Up(a) => {
            let cable = a.cable();
            let lab = Lab::open(lab)?;
            let holding: Vec<String> = lab
                .faults()?
                .into_iter()
                .filter(|f| match &f.spec.kind {
                    FaultKind::LinkDown { container, ifname }
                    | FaultKind::Flap {
                        container, ifname, ..
                    } => (container, ifname) == (&cable.0, &cable.1),
                    _ => false,
                })
                .map(|f| f.name)
                .collect();
            if holding.is_empty() {
                let what = if cable.0.is_empty() {
                    format!("the lab host's {}", cable.1)
                } else {
                    format!("{}/{}", cable.0, cable.1)
                };
                bail!("no fault keeps {what} down; `netlab faults` lists the active faults");
            }
            let names: Vec<&str> = holding.iter().map(String::as_str).collect();
            for n in lab.heal(&names).context("plugging the cable back")? {
                println!("{n}");
            }
            Ok(0)
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct FaultsArgs {
    /// As JSON: every field, with the emulator's counters.
    #[arg(long)]
    json: bool,
}

pub fn faults(lab: &str, a: FaultsArgs) -> anyhow::Result<u8> {
    let faults = Lab::open(lab)?.faults()?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&faults)?);
        return Ok(0);
    }
    print!("{}", table(&faults));
    Ok(0)
}

/// `netlab faults`: one line per fault, columns as wide as their widest cell.
fn table(faults: &[FaultState]) -> String {
    let mut rows = vec![[
        "NAME".to_string(),
        "FAULT".into(),
        "SEED".into(),
        "REMAINING".into(),
        "FRAMES".into(),
        "LOST".into(),
    ]];
    for f in faults {
        let (frames, lost) = match f.counters {
            Some(c) => (
                c.frames.to_string(),
                (c.lost + c.dropped_queue_full).to_string(),
            ),
            None => ("-".into(), "-".into()),
        };
        rows.push([
            f.name.clone(),
            f.spec.kind.to_string(),
            // Only an impairment makes random choices.
            if matches!(f.spec.kind, FaultKind::Impair { .. }) {
                f.seed.to_string()
            } else {
                "-".into()
            },
            f.remaining_ms.map_or_else(|| "-".into(), format_ms_rounded),
            frames,
            lost,
        ]);
    }
    let widths: Vec<usize> = (0..6)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in rows {
        let line: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        out.push_str(line.join("   ").trim_end());
        out.push('\n');
    }
    out
}

/// Remaining time to the tenth of a second: the milliseconds change on every call.
fn format_ms_rounded(ms: u64) -> String {
    format_ms(ms.div_ceil(100) * 100)
}
