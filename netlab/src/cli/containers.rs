//! `netlab ps`, `logs`, `stop`, `start`, `rm`.

use crate::client::Lab;
use crate::error::Error;
use crate::model::{ContainerState, ContainerStatus};

#[derive(Debug, clap::Args)]
pub struct PsArgs {
    /// Show stopped containers too.
    #[arg(short = 'a', long)]
    all: bool,
    /// Only print IDs (short, like docker; every command accepts them as names).
    #[arg(short = 'q', long)]
    quiet: bool,
    /// Only the latest created container, running or not (the article's `docker ps -q -l`).
    #[arg(short = 'l', long)]
    latest: bool,
    /// Print JSON (one array of containers).
    #[arg(long)]
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
    names: Vec<String>,
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

fn status_text(c: &ContainerState, now: u64) -> String {
    let ago = |t: Option<u64>| {
        let s = now.saturating_sub(t.unwrap_or(now));
        match s {
            0..=59 => format!("{s} seconds"),
            60..=3599 => format!("{} minutes", s / 60),
            _ => format!("{} hours", s / 3600),
        }
    };
    match c.status {
        ContainerStatus::Running => format!("Up {}", ago(c.started)),
        ContainerStatus::Exited => format!(
            "Exited ({}) {} ago",
            c.exit_code.unwrap_or(0),
            ago(c.finished)
        ),
        ContainerStatus::Created => "Created".into(),
    }
}

pub fn ps(lab: &str, a: PsArgs) -> anyhow::Result<u8> {
    let list = match open_if_exists(lab)? {
        Some(l) => l.ps(a.all || a.latest)?,
        None => vec![],
    };
    // Creation order: the latest is the last.
    let list: Vec<ContainerState> = if a.latest {
        list.into_iter().last().into_iter().collect()
    } else {
        list
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(0);
    }
    if a.quiet {
        for c in &list {
            println!("{}", &c.id[..12]);
        }
        return Ok(0);
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let rows: Vec<[String; 6]> = list
        .iter()
        .map(|c| {
            let mut cmd = c.command.display();
            if cmd.len() > 30 {
                cmd.truncate(27);
                cmd.push_str("...");
            }
            let ports = c
                .expose
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join(", ");
            [
                c.id[..12].to_string(),
                format!("\"{cmd}\""),
                c.ip.to_string(),
                status_text(c, now),
                ports,
                c.name.clone(),
            ]
        })
        .collect();
    let head = [
        "CONTAINER ID",
        "COMMAND",
        "IP ADDRESS",
        "STATUS",
        "PORTS",
        "NAMES",
    ]
    .map(String::from);
    let widths: Vec<usize> = (0..6)
        .map(|i| {
            rows.iter()
                .map(|r| r[i].len())
                .chain([head[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    for r in std::iter::once(&head).chain(rows.iter()) {
        let line: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths[i]))
            .collect();
        println!("{}", line.join("   ").trim_end());
    }
    Ok(0)
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
