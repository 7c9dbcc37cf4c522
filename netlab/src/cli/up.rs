//! `netlab up FILE`: a scenario file brought up step by step.

use std::path::PathBuf;

use crate::scenario::{self, Progress};

#[derive(Debug, clap::Args)]
pub struct UpArgs {
    /// The scenario file (see scenarios/*.toml).
    file: PathBuf,
    /// Only check the file and print what it would build.
    #[arg(long)]
    check: bool,
}

pub fn up(lab_name: &str, lab_given: bool, a: UpArgs) -> anyhow::Result<u8> {
    let s = scenario::load(&a.file)?;
    let name = if lab_given {
        lab_name.to_string()
    } else {
        s.lab.name.clone()
    };
    if a.check {
        println!(
            "{}: lab {name:?} with {} networks, {} containers, {} pipework interfaces and {} faults is valid",
            a.file.display(),
            s.networks.len(),
            s.containers.len(),
            s.pipework.len(),
            s.faults.len()
        );
        return Ok(0);
    }
    let mut report = |p: Progress<'_>| match p {
        Progress::Lab { name, bridge, bip } => eprintln!("==> lab {name}: bridge {bridge} {bip}"),
        Progress::Network(n) => eprintln!(
            "==> network {}: {} {}",
            n.name,
            n.driver.as_str(),
            n.subnets
                .iter()
                .map(|s| s.subnet.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        ),
        Progress::MongoServer { binary } => eprintln!("==> MongoDB-compatible server: {binary}"),
        Progress::Started(c) => eprintln!("==> container {} started at {}", c.name, c.ip),
        Progress::Waiting { container, what } => {
            eprintln!("    waiting until {what} ({container})")
        }
        Progress::Ready { container, after } => {
            eprintln!("    {container} is ready after {} ms", after.as_millis())
        }
        Progress::Pipework(i) => eprintln!(
            "==> pipework: {} on bridge {} with {}",
            i.ifname, i.bridge, i.addr
        ),
        Progress::Fault(f) => eprintln!("==> fault {}: {} (seed {})", f.name, f.spec.kind, f.seed),
    };
    let mut lab = scenario::up(&s, Some(&name), &mut report)?;
    lab.detach()?;
    let flag = if name == crate::model::lab::DEFAULT_LAB {
        String::new()
    } else {
        format!("--lab {name} ")
    };
    eprintln!(
        "==> lab {name} is up. Look around: `netlab {flag}ps`, `netlab {flag}shell`; end it: `netlab {flag}down`"
    );
    Ok(0)
}
