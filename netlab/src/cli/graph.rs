//! `netlab graph [FILE]`: the picture of a scenario file, or of the running lab, as
//! Graphviz DOT or Mermaid, or rendered to SVG through Graphviz's `dot`.
//!
//! The drawing itself is [`crate::graph`]; this layer only reads the file or asks the lab,
//! and runs `dot`. Graphviz is optional: DOT and Mermaid need nothing installed, and
//! `--svg` says how to install Graphviz when `dot` is missing.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

use crate::client::Lab;
use crate::graph::{self, Topology};
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
netlab graph scenarios/article.toml --svg article.svg\n  netlab --lab demo graph"
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
}

pub fn graph(lab_name: &str, a: GraphArgs) -> anyhow::Result<u8> {
    let topology: Topology = match &a.file {
        Some(f) => graph::from_scenario(&scenario::load(f)?),
        None => {
            let lab = Lab::open(lab_name)?;
            graph::from_lab(&lab.info()?, &lab.ps(true)?)
        }
    };
    match (&a.svg, a.format) {
        (Some(out), _) => render_svg(&graph::to_dot(&topology), out)?,
        (None, Format::Dot) => print!("{}", graph::to_dot(&topology)),
        (None, Format::Mermaid) => print!("{}", graph::to_mermaid(&topology)),
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
