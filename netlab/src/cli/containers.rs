//! `netlab ps`, `logs`, `stop`, `start`, `rm`.

use super::table::ListFormat;
use crate::client::Lab;
use crate::error::Error;
use crate::model::ps::{self, Filters};

#[derive(Debug, clap::Args)]
pub struct PsArgs {
    /// Show all containers (without it, the running ones).
    #[arg(short = 'a', long)]
    all: bool,
    /// Filter, as docker ps: name=REGEX (matched anywhere in the name), id=REGEX,
    /// status=created|running|exited (implies -a), exited=CODE. Repeat a key to accept any
    /// of its values; different keys must all match.
    #[arg(short = 'f', long = "filter", value_name = "KEY=VALUE")]
    filter: Vec<String>,
    /// A Go template, as docker ps --format: '{{.Names}}: {{.Status}}', or with `table`
    /// first a table with Docker's headers: 'table {{.ID}}\t{{.Names}}\t{{.Ports}}'
    /// (`\t` and `\n` are a tab and a newline); `table` alone is the default table,
    /// `raw` Docker's raw list. Fields: .ID .Image .Command .CreatedAt .RunningFor .Ports
    /// .State .Status .Names .Labels .Mounts .Networks .LocalVolumes, and netlab's
    /// .IPAddress. .Image is always "-": netlab's containers run this machine's programs,
    /// not images; .Labels and .Mounts are empty, .Networks is "bridge".
    #[arg(long, value_name = "TEMPLATE")]
    format: Option<String>,
    /// The N containers created last, running or not (0: no limit).
    #[arg(short = 'n', long = "last", value_name = "N")]
    last: Option<usize>,
    /// The container created last, running or not (`-n 1`; the article's `docker ps -q -l`).
    #[arg(short = 'l', long)]
    latest: bool,
    /// Full IDs and commands, and the names links give (`mongodb,webserver1/mongo`).
    #[arg(long)]
    no_trunc: bool,
    /// Only print IDs (short, like docker; every command accepts them as names).
    #[arg(short = 'q', long)]
    quiet: bool,
    /// Print JSON: one array of containers as the library reports them (netlab's own).
    #[arg(long, conflicts_with_all = ["format", "quiet"])]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub struct LogsArgs {
    /// Keep printing until the container stops.
    #[arg(short = 'f', long)]
    follow: bool,
    name: String,
}

#[derive(Debug, clap::Args)]
pub struct StopArgs {
    /// Seconds to wait after SIGTERM before SIGKILL (0 to 3600).
    #[arg(short = 't', long = "time", default_value_t = 10)]
    time: u64,
    #[arg(required = true)]
    names: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct NamesArgs {
    #[arg(required = true)]
    pub(crate) names: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct RmArgs {
    /// Kill the container first if it is running.
    #[arg(short = 'f', long)]
    force: bool,
    #[arg(required = true)]
    names: Vec<String>,
}

/// A lab that does not exist has no containers: listing it is not an error.
fn open_if_exists(lab: &str) -> Result<Option<Lab>, Error> {
    match Lab::open(lab) {
        Ok(l) => Ok(Some(l)),
        Err(Error::LabNotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Docker's `--format raw`.
const RAW_FORMAT: &str = "container_id: {{.ID}}\nimage: {{.Image}}\ncommand: {{.Command}}\ncreated_at: {{.CreatedAt}}\nstate: {{- pad .State 1 0}}\nstatus: {{- pad .Status 1 0}}\nnames: {{.Names}}\nlabels: {{- pad .Labels 1 0}}\nports: {{- pad .Ports 1 0}}\n";

/// `docker ps` as Docker 20.10 does it (measured): newest first everywhere; a `--format`
/// wins over `-q`; `table` prints Docker's headers and lines the columns up with Go's
/// tabwriter; a template that does not parse or fails on a container prints nothing but
/// the error, exit 1.
pub fn ps(lab: &str, a: PsArgs) -> anyhow::Result<u8> {
    let filters = Filters::parse(&a.filter)?;
    let format = match a.format.as_deref() {
        None | Some("table") if a.quiet => "{{.ID}}",
        None | Some("table") => ps::DEFAULT_TABLE,
        Some("raw") => RAW_FORMAT,
        Some(f) => f,
    };
    let list_format = match ListFormat::parse(format) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{e}");
            return Ok(1);
        }
    };
    let everyone = match open_if_exists(lab)? {
        Some(l) => l.ps(true)?,
        None => vec![],
    };
    let last = a.last.or(a.latest.then_some(1));
    let list = ps::select(everyone.clone(), a.all, last, &filters);
    if a.json {
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(0);
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let rows = list
        .iter()
        .map(|c| ps::fields(c, &everyone, now, a.no_trunc));
    match list_format.render(rows, ps::header_fields()) {
        Ok(text) => {
            print!("{text}");
            Ok(0)
        }
        Err(e) => {
            eprintln!("{e}");
            Ok(1)
        }
    }
}

pub fn logs(lab: &str, a: LogsArgs) -> anyhow::Result<u8> {
    Lab::open(lab)?.logs(&a.name, a.follow, &std::io::stdout(), &std::io::stderr())?;
    Ok(0)
}

pub fn stop(lab: &str, a: StopArgs) -> anyhow::Result<u8> {
    crate::model::limits::STOP_TIMEOUT.check(a.time)?;
    let lab = Lab::open(lab)?;
    for n in &a.names {
        lab.stop(n, a.time)?;
        println!("{n}");
    }
    Ok(0)
}

pub fn start(lab: &str, a: NamesArgs) -> anyhow::Result<u8> {
    let lab = Lab::open(lab)?;
    for n in &a.names {
        lab.start(n)?;
        println!("{n}");
    }
    Ok(0)
}

/// `docker rm [-f] NAME...`: every name is tried; the removed ones are printed, the
/// failures reported together at the end. With `-f` a container that does not exist is no
/// failure (Docker 20.10 says so on stderr and exits 0), as a lab that does not exist.
pub fn rm(lab: &str, a: RmArgs) -> anyhow::Result<u8> {
    let lab = match Lab::open(lab) {
        Ok(l) => l,
        Err(e @ Error::LabNotFound { .. }) if a.force => {
            eprintln!("netlab: {e}");
            return Ok(0);
        }
        Err(e) => return Err(e.into()),
    };
    let mut failures = vec![];
    for n in &a.names {
        match lab.rm(n, a.force) {
            Ok(()) => println!("{n}"),
            Err(e @ Error::UnknownContainer { .. }) if a.force => eprintln!("netlab: {e}"),
            Err(e) => failures.push(e.to_string()),
        }
    }
    match failures.as_slice() {
        [] => Ok(0),
        _ => anyhow::bail!("{}", failures.join("\nnetlab: ")),
    }
}
