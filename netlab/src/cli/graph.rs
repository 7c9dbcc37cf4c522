//! `netlab graph [FILE]`: the picture of a scenario file, or of the running lab, as
//! Graphviz DOT or Mermaid, or rendered to SVG through Graphviz's `dot`.
//!
//! The drawing itself is [`crate::graph`]; this layer only reads the file or asks the lab,
//! and runs `dot`; with `--trace` or `--highlight` it also runs or reads a trace, whose
//! path [`crate::graph::trace_path`] picks out. Graphviz is optional: DOT and Mermaid need
//! nothing installed, and `--svg` says how to install Graphviz when `dot` is missing.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

use crate::client::Lab;
use crate::graph::{self, Highlight, Topology};
use crate::model::trace::{Trace, TraceSpec};
use crate::proto::Target;
use crate::scenario;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Graphviz DOT (render it with `dot -Tsvg`).
    Dot,
    /// A Mermaid flowchart (GitHub and most Markdown viewers draw it).
    Mermaid,
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  netlab graph scenarios/article.toml --format mermaid\n  \
netlab graph scenarios/article.toml --svg article.svg\n  netlab --lab demo graph\n  \
netlab --lab demo graph --trace 10.2.0.10:8080 --node laptop --svg path.svg\n  \
netlab trace --from web mongodb:27017 --json > t.json; netlab graph --highlight t.json\n\n\
A traced path is drawn thick and red: the containers and LAN machines the request was in, \
the bridges it crossed with the wires of the ports their FDB chose, and the published \
port whose DNAT rule it met (in Mermaid: class `traced` and a `linkStyle`)."
)]
pub struct GraphArgs {
    /// A scenario file to draw; without one, the running lab (--lab) is drawn with the
    /// addresses it gave.
    file: Option<PathBuf>,
    /// What to print.
    #[arg(long, value_enum, default_value_t = Format::Dot)]
    format: Format,
    /// Render through Graphviz (`dot -Tsvg`) into this file instead of printing.
    #[arg(long, value_name = "OUT.svg", conflicts_with = "format")]
    svg: Option<PathBuf>,
    /// Trace DEST[:PORT] now (as `netlab trace` does, TCP) and highlight the request's
    /// path in the running lab's picture.
    #[arg(long, value_name = "DEST[:PORT]", conflicts_with_all = ["file", "highlight"])]
    trace: Option<String>,
    /// With --trace: the container the probe starts from (default: the lab host).
    #[arg(long, value_name = "CONTAINER", requires = "trace")]
    from: Option<String>,
    /// With --trace: start from a machine of the lab's simulated LAN.
    #[arg(long, value_name = "NAME", requires = "trace", conflicts_with = "from")]
    node: Option<String>,
    /// Highlight the path of a trace saved by `netlab trace --json` (TRACE.json, or - for
    /// standard input).
    #[arg(long, value_name = "TRACE.json")]
    highlight: Option<PathBuf>,
}

pub fn graph(lab_name: &str, a: GraphArgs) -> anyhow::Result<u8> {
    let mut trace: Option<Trace> = match &a.highlight {
        None => None,
        Some(f) if f.as_os_str() == "-" => Some(
            serde_json::from_reader(std::io::stdin().lock())
                .context("read a trace (netlab trace --json) from standard input")?,
        ),
        Some(f) => {
            let text =
                std::fs::read_to_string(f).with_context(|| format!("read {}", f.display()))?;
            Some(serde_json::from_str(&text).with_context(|| {
                format!(
                    "{} is not a trace: write one with `netlab trace ... --json > {}`",
                    f.display(),
                    f.display()
                )
            })?)
        }
    };
    let mut topology: Topology = match &a.file {
        Some(f) => graph::from_scenario(&scenario::load(f)?),
        None => {
            let lab = Lab::open(lab_name)?;
            if let Some(dest) = &a.trace {
                let from = match (&a.from, &a.node) {
                    (Some(c), _) => Target::Container(c.clone()),
                    (None, Some(n)) => Target::Node(n.clone()),
                    (None, None) => Target::Host,
                };
                let spec = TraceSpec::new(from, dest);
                spec.parse_dest()?;
                trace = Some(lab.trace(&spec)?);
            }
            graph::from_lab_networks(&lab.info()?, &lab.ps(true)?, &lab.networks()?)
        }
    };
    let highlight = match &trace {
        Some(t) => {
            topology.title = format!("{}: {} ({})", topology.title, t.probe, t.verdict);
            graph::trace_path(&topology, t)
        }
        None => Highlight::default(),
    };
    match (&a.svg, a.format) {
        (Some(out), _) => render_svg(&graph::to_dot_with(&topology, &highlight), out)?,
        (None, Format::Dot) => print!("{}", graph::to_dot_with(&topology, &highlight)),
        (None, Format::Mermaid) => print!("{}", graph::to_mermaid_with(&topology, &highlight)),
    }
    Ok(0)
}

/// `dot -Tsvg < DOT > out`.
fn render_svg(dot: &str, out: &Path) -> anyhow::Result<()> {
    let mut child = match Command::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "--svg needs Graphviz's `dot`, which is not installed: install it with \
             `apt-get install graphviz`, or print DOT without --svg and render it elsewhere"
        ),
        Err(e) => return Err(e).context("start Graphviz's `dot -Tsvg`"),
    };
    // Fed from a thread so that neither side can block on a full pipe.
    let mut stdin = child.stdin.take().context("open dot's standard input")?;
    let input = dot.to_owned();
    let feeder = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child
        .wait_with_output()
        .context("wait for Graphviz's `dot -Tsvg`")?;
    let fed = feeder.join();
    if !output.status.success() {
        bail!(
            "`dot -Tsvg` failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    match fed {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(e).context("send the graph to `dot -Tsvg`"),
        Err(_) => bail!("the thread feeding `dot -Tsvg` panicked"),
    }
    std::fs::write(out, &output.stdout).with_context(|| format!("write {}", out.display()))?;
    Ok(())
}
