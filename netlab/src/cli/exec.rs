//! `netlab exec` and `netlab shell`: processes in a container or on the lab host, with
//! this terminal as their stdio.

use std::io::IsTerminal;
use std::os::fd::AsFd;

use anyhow::bail;

use super::LabSession;
use crate::client::{ExecOptions, Lab};
use crate::proto::Target;

#[derive(Debug, clap::Args)]
pub struct ExecArgs {
    /// Run on the lab host (the simulated Docker host) instead of in a container.
    #[arg(long, conflicts_with = "node")]
    host: bool,
    /// Run on a machine of the lab's simulated LAN (see `lab create --lan-node`).
    #[arg(long, value_name = "NAME")]
    node: Option<String>,
    /// Set an environment variable (KEY=VALUE); repeatable.
    #[arg(short = 'e', long = "env", value_name = "KEY=VALUE")]
    env: Vec<String>,
    /// Working directory of the command (an absolute path; default `/`).
    #[arg(short = 'w', long = "workdir", value_name = "DIR")]
    workdir: Option<String>,
    /// Run as this user: USER[:GROUP], names or numbers from this machine's /etc/passwd
    /// and /etc/group; by default the container's user (`run -u`), root elsewhere.
    #[arg(short = 'u', long = "user", value_name = "USER[:GROUP]")]
    user: Option<String>,
    /// Give the command a terminal of its own (a pseudo-terminal, as `docker exec -t`,
    /// with TERM=xterm unless set): with -i, Ctrl-C stops its foreground job, job control
    /// and full-screen programs work, and this command's input must be a terminal.
    #[arg(short = 't', long)]
    tty: bool,
    /// Give the command this command's input; without -i its input is empty, as with
    /// `docker exec`.
    #[arg(short = 'i', long = "interactive")]
    interactive: bool,
    /// Start the command and return at once; it runs on with no input or output.
    #[arg(short = 'd', long, conflicts_with_all = ["tty", "interactive"])]
    detach: bool,
    /// `NAME CMD...`, or `CMD...` with --host or --node; a `--` before CMD is allowed.
    /// Options end at the first of these words, as `docker exec`'s end at the container:
    /// what follows is the command's.
    #[arg(required = true, trailing_var_arg = true, value_name = "ARGS")]
    args: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct ShellArgs {
    /// Open the shell on this LAN machine instead.
    #[arg(long, value_name = "NAME", conflicts_with = "name")]
    node: Option<String>,
    /// A container to open the shell in (default: the lab host).
    name: Option<String>,
}

fn split(
    host: bool,
    node: Option<String>,
    mut args: Vec<String>,
) -> anyhow::Result<(Target, Vec<String>)> {
    let target = if host {
        Target::Host
    } else if let Some(n) = node {
        Target::Node(n)
    } else {
        let name = args.remove(0);
        if name == "--" {
            bail!("give the container's name before `--`, or use --host for the lab host");
        }
        Target::Container(name)
    };
    if args.first().is_some_and(|a| a == "--") {
        args.remove(0);
    }
    if args.is_empty() {
        bail!("give the command to run, e.g. `netlab exec web -- ip addr`");
    }
    Ok((target, args))
}

/// Runs a command with this process's output, and its input with `interactive`; on a
/// pseudo-terminal of its own with `tty`.
fn run_attached(
    lab: &Lab,
    target: &Target,
    argv: &[String],
    opts: &ExecOptions,
    tty: bool,
    interactive: bool,
) -> anyhow::Result<u8> {
    let stdin = std::io::stdin();
    let code = if tty {
        let input = interactive.then(|| stdin.as_fd());
        lab.exec_pty(target, argv, opts, input, &mut std::io::stdout())?
    } else {
        let null = std::fs::File::open("/dev/null")?;
        let input: &dyn std::os::fd::AsRawFd = match interactive {
            true => &stdin,
            false => &null,
        };
        lab.exec_stdio(
            target,
            argv,
            opts,
            [input, &std::io::stdout(), &std::io::stderr()],
        )?
    };
    Ok(u8::try_from(code).unwrap_or(255))
}

pub fn exec(lab: &str, a: ExecArgs) -> anyhow::Result<u8> {
    let (target, argv) = split(a.host, a.node, a.args)?;
    let env = a
        .env
        .iter()
        .map(|e| crate::model::env::parse_env_arg(e))
        .collect::<Result<Vec<_>, _>>()?;
    if a.tty && a.interactive && !std::io::stdin().is_terminal() {
        return Err(super::not_a_tty("exec"));
    }
    let lab = match target {
        Target::Host => LabSession::open_or_create(lab)?.commit()?,
        Target::Container(_) | Target::Node(_) => Lab::open(lab)?,
    };
    let opts = ExecOptions {
        env,
        workdir: a.workdir,
        user: a.user,
    };
    if a.detach {
        lab.exec_detached(&target, &argv, &opts)?;
        return Ok(0);
    }
    run_attached(&lab, &target, &argv, &opts, a.tty, a.interactive)
}

pub fn shell(lab_name: &str, a: ShellArgs) -> anyhow::Result<u8> {
    let (target, lab) = match (a.name, a.node) {
        (Some(n), _) => (Target::Container(n), Lab::open(lab_name)?),
        (None, Some(n)) => (Target::Node(n), Lab::open(lab_name)?),
        (None, None) => (
            Target::Host,
            LabSession::open_or_create(lab_name)?.commit()?,
        ),
    };
    let place = match &target {
        Target::Host => "lab host".to_string(),
        Target::Container(n) => n.clone(),
        Target::Node(n) => format!("LAN machine {n}"),
    };
    let shell = if std::path::Path::new("/bin/bash").exists() {
        "/bin/bash"
    } else {
        "/bin/sh"
    };
    let env = vec![
        (
            "PS1".to_string(),
            format!("[netlab {lab_name}: {place}] \\w# "),
        ),
        (
            "TERM".to_string(),
            std::env::var("TERM").unwrap_or_else(|_| "xterm".into()),
        ),
    ];
    eprintln!("netlab: shell on {place} of lab {lab_name:?}; `exit` to leave");
    let argv = if shell == "/bin/bash" {
        vec![shell.to_string(), "--norc".into(), "-i".into()]
    } else {
        vec![shell.to_string(), "-i".into()]
    };
    // On a terminal the shell gets one of its own, so that Ctrl-C stops a `ping` in it
    // rather than the shell; fed from a pipe it reads commands as they come.
    let tty = std::io::stdin().is_terminal();
    let opts = ExecOptions {
        env,
        ..ExecOptions::default()
    };
    run_attached(&lab, &target, &argv, &opts, tty, true)
}
