//! The `netlab` command line: Docker's grammar with `netlab` for `docker`. One file per
//! subcommand or group of them (`containers`: ps, logs, stop, start, rm; `exec`: exec,
//! shell; `port`: port, pipework; `labs`: lab, uplink, down), each a thin layer over
//! [`crate::client::Lab`].

mod capture;
mod containers;
mod exec;
mod fault;
mod graph;
mod inspect;
mod labs;
mod network;
mod port;
mod run;
mod table;
mod trace;
mod up;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::client::Lab;
use crate::error::Error;
use crate::model::LabSpec;
use crate::model::lab::DEFAULT_LAB;

#[derive(Debug, Parser)]
#[command(
    name = "netlab",
    version,
    about = "Docker's networking, rebuilt on real Linux namespaces: labs of containers on a bridge",
    long_about = "netlab builds labs: a simulated Docker host (its own network namespace with a bridge) \
and containers (network namespaces with a veth on that bridge), using rtnetlink and nftables. \
A lab touches nothing in the real machine's network and vanishes without a trace when it ends, \
even after SIGKILL.\n\nThe commands read like the article's docker commands: `netlab run -d --name \
mongodb ...`, `netlab inspect mongodb | grep IPAddress`, `netlab exec --host -- curl ...`."
)]
pub struct Cli {
    /// The lab to act on; created with default settings by the first command that needs it.
    #[arg(long, global = true, env = "NETLAB_LAB", default_value = DEFAULT_LAB)]
    lab: String,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Create and start a container (`docker run`).
    Run(Box<run::RunArgs>),
    /// List containers (`docker ps`).
    Ps(containers::PsArgs),
    /// Print a container's output (`docker logs`).
    Logs(containers::LogsArgs),
    /// Stop running containers: SIGTERM, then SIGKILL after the timeout (`docker stop`).
    Stop(containers::StopArgs),
    /// Start stopped containers again (`docker start`).
    Start(containers::NamesArgs),
    /// Remove containers (`docker rm`).
    Rm(containers::RmArgs),
    /// Show containers in Docker's JSON shape (`docker inspect`).
    Inspect(inspect::InspectArgs),
    /// Run a command in a container, or with --host on the lab host (`docker exec`).
    Exec(exec::ExecArgs),
    /// An interactive shell on the lab host (or in a container), where the article's
    /// `curl http://<container-ip>:8080` works as written.
    Shell(exec::ShellArgs),
    /// List a container's published ports (`docker port`).
    Port(port::PortArgs),
    /// Add an interface with a static address to a container, like the pipework script.
    Pipework(port::PipeworkArgs),
    /// The lab's uplink to its LAN.
    #[command(subcommand)]
    Uplink(labs::UplinkCmd),
    /// Bring up a scenario file: its lab, containers, links, ports and pipework.
    Up(up::UpArgs),
    /// End the lab: stop every container and remove everything it created.
    Down {
        /// A scenario file whose lab to end (otherwise --lab).
        file: Option<std::path::PathBuf>,
    },
    /// Create and list labs.
    #[command(subcommand)]
    Lab(labs::LabCmd),
    /// User-defined networks: create, ls, inspect, rm, connect, disconnect, prune.
    #[command(subcommand)]
    Network(network::NetworkCmd),
    /// Draw a scenario file, or the running lab, as Graphviz DOT or Mermaid.
    Graph(graph::GraphArgs),
    /// Impair a container's traffic: delay, loss, duplication, reordering, corruption, rate.
    Fault(Box<fault::FaultArgs>),
    /// Cut groups of containers off from each other: A,B C,D.
    Partition(fault::PartitionArgs),
    /// Heal faults by name, or all of them.
    Heal(fault::HealArgs),
    /// Pull, plug back or flap an interface's cable.
    #[command(subcommand)]
    Link(fault::LinkCmd),
    /// List the active faults.
    Faults(fault::FaultsArgs),
    /// Send one probe and explain its path: routes, ARP, bridges, nft rules, the listener.
    Trace(trace::TraceArgs),
    /// Capture packets in a container, on the lab host or a LAN machine, like tcpdump.
    Capture(capture::CaptureArgs),
    #[command(name = "__supervisor", hide = true)]
    Supervisor(SupervisorArgs),
}

#[derive(Debug, clap::Args)]
struct SupervisorArgs {
    #[arg(long)]
    spec: String,
    #[arg(long)]
    owned: bool,
}

/// Exit code for `run`'s own errors and for usage errors, as Docker's.
const EXIT_ERROR: u8 = 125;

/// Which exit-code convention a command follows: Docker 20.10's for its commands
/// (measured), 125 for netlab's own (`lab`, `up`, `pipework`, ...), as for `run`.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Run,
    Exec,
    /// `ps`, `logs`, `stop`, `start`, `rm`, `inspect`, `port`: 1 for any error.
    Docker,
    Netlab,
}

/// A failure for which Docker's CLI exits with a code of its own rather than 125, such
/// as `exec -it` without a terminal (1).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub(crate) struct Exit {
    pub code: u8,
    pub message: String,
}

/// Docker's refusal of `-it` when this command's input is not a terminal (exit 1); `-t`
/// alone still gets one.
pub(crate) fn not_a_tty(command: &str) -> anyhow::Error {
    Exit {
        code: 1,
        message: format!(
            "the input device is not a TTY: -it passes this command's input to a terminal, \
             and the input is not one; leave -i out, or -t when piping into netlab {command}"
        ),
    }
    .into()
}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e),
    };
    if let Cmd::Supervisor(a) = &cli.command {
        init_tracing("warn");
        match serde_json::from_str::<LabSpec>(&a.spec) {
            Ok(spec) => crate::supervisor::main(spec, a.owned),
            Err(e) => {
                eprintln!("netlab __supervisor: bad --spec: {e}");
                return ExitCode::from(2);
            }
        }
    }
    init_tracing("warn");
    crate::sys::default_sigpipe();
    let kind = match &cli.command {
        Cmd::Run(_) => Kind::Run,
        Cmd::Exec(_) => Kind::Exec,
        Cmd::Ps(_)
        | Cmd::Logs(_)
        | Cmd::Stop(_)
        | Cmd::Start(_)
        | Cmd::Rm(_)
        | Cmd::Inspect(_)
        | Cmd::Port(_)
        | Cmd::Network(_) => Kind::Docker,
        _ => Kind::Netlab,
    };
    match dispatch(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // Docker 20.10's codes, measured: `run` exits 125 for its own errors, 127 for a
            // command that is not there and 126 for one that cannot be executed; `exec`
            // exits 1 when the container is missing or not running and 126 when the
            // runtime cannot start the process (no such command, user or directory); `ps`,
            // `logs`, `rm`, `inspect`, ... exit 1.
            let error = e.downcast_ref::<Error>();
            let code = match (e.downcast_ref::<Exit>(), error, kind) {
                (Some(x), _, _) => x.code,
                (_, Some(Error::CommandNotFound { .. }), Kind::Run) => 127,
                (_, Some(Error::CommandNotExecutable { .. }), Kind::Run) => 126,
                (_, _, Kind::Run | Kind::Netlab) => EXIT_ERROR,
                (
                    _,
                    Some(
                        Error::UnknownContainer { .. }
                        | Error::NotRunning { .. }
                        | Error::BadState { .. }
                        | Error::LabNotFound { .. },
                    ),
                    Kind::Exec,
                ) => 1,
                (_, Some(_), Kind::Exec) => 126,
                _ => 1,
            };
            eprintln!("netlab: {e:#}");
            ExitCode::from(code)
        }
    }
}

/// A command line clap refused, answered as Docker's CLI does: `--help` and `--version`
/// print and succeed; anything else is a usage error with exit code 125 (Docker's for
/// every command), and an unknown option is named in Docker's words, never taken as the
/// command or a container's name.
fn usage_error(e: &clap::Error) -> ExitCode {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if !e.use_stderr() {
        let _ = e.print();
        return ExitCode::SUCCESS;
    }
    let command = subcommand_words();
    let unknown = match (e.kind(), e.get(ContextKind::InvalidArg)) {
        (ErrorKind::UnknownArgument, Some(ContextValue::String(arg))) => Some(arg.clone()),
        _ => None,
    };
    match unknown {
        Some(arg) => {
            let what = match arg.strip_prefix('-') {
                Some(short) if !short.starts_with('-') => format!(
                    "unknown shorthand flag: '{}' in {arg}",
                    short.chars().next().unwrap_or('-')
                ),
                _ => format!("unknown flag: {}", arg.split('=').next().unwrap_or(&arg)),
            };
            let command = match command.as_str() {
                "" => "netlab".to_string(),
                c => format!("netlab {c}"),
            };
            eprintln!("{command}: {what}\nSee '{command} --help'.");
        }
        None => {
            let _ = e.print();
        }
    }
    ExitCode::from(EXIT_ERROR)
}

/// The subcommand a command line names (`run`, `lab create`), for "see --help" hints.
fn subcommand_words() -> String {
    use clap::CommandFactory;
    let mut cmd = Cli::command();
    let mut words = vec![];
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--lab" {
            args.next();
            continue;
        }
        if a.starts_with('-') {
            continue;
        }
        match cmd.find_subcommand(&a) {
            Some(sub) => {
                words.push(a);
                cmd = sub.clone();
            }
            None => break,
        }
    }
    words.join(" ")
}

fn init_tracing(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("RUST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

fn dispatch(cli: Cli) -> anyhow::Result<u8> {
    // Whether --lab (or NETLAB_LAB) was given, so that a scenario file's own lab name
    // applies otherwise.
    let lab_given = std::env::args().any(|a| a == "--lab" || a.starts_with("--lab="))
        || std::env::var_os("NETLAB_LAB").is_some();
    let lab = cli.lab;
    // Before anything uses it: the lab's name is also its control socket's, whose own
    // limit would otherwise be the first to complain, and in the socket's terms.
    crate::model::names::validate_lab_name(&lab)?;
    match cli.command {
        Cmd::Run(a) => run::run(&lab, *a),
        Cmd::Ps(a) => containers::ps(&lab, a),
        Cmd::Logs(a) => containers::logs(&lab, a),
        Cmd::Stop(a) => containers::stop(&lab, a),
        Cmd::Start(a) => containers::start(&lab, a),
        Cmd::Rm(a) => containers::rm(&lab, a),
        Cmd::Inspect(a) => inspect::inspect(&lab, a),
        Cmd::Exec(a) => exec::exec(&lab, a),
        Cmd::Shell(a) => exec::shell(&lab, a),
        Cmd::Port(a) => port::port(&lab, a),
        Cmd::Pipework(a) => port::pipework(&lab, a),
        Cmd::Uplink(c) => labs::uplink(&lab, c),
        Cmd::Up(a) => up::up(&lab, lab_given, a),
        Cmd::Down { file } => match file {
            Some(f) if !lab_given => labs::down(&crate::scenario::load(&f)?.lab.name),
            _ => labs::down(&lab),
        },
        Cmd::Lab(c) => labs::lab(&lab, c),
        Cmd::Network(c) => network::network(&lab, c),
        Cmd::Graph(a) => graph::graph(&lab, a),
        Cmd::Fault(a) => fault::fault(&lab, *a),
        Cmd::Partition(a) => fault::partition(&lab, a),
        Cmd::Heal(a) => fault::heal(&lab, a),
        Cmd::Link(c) => fault::link(&lab, c),
        Cmd::Faults(a) => fault::faults(&lab, a),
        Cmd::Trace(a) => trace::trace(&lab, a),
        Cmd::Capture(a) => capture::capture(&lab, a),
        Cmd::Supervisor(_) => Ok(0),
    }
}

/// The lab for a command that needs one: opened, or created with default settings. A lab
/// created here stays owned by this process until `commit`, so a failing or killed command
/// leaves no half-made lab behind.
pub(crate) struct LabSession {
    pub lab: Lab,
    /// Whether this command created the lab.
    pub created: bool,
}

impl LabSession {
    pub fn open_or_create(name: &str) -> Result<Self, Error> {
        let (lab, created) = Lab::open_or_create(&LabSpec::new(name))?;
        if created {
            eprintln!(
                "netlab: created lab {name:?} (bridge docker0, 172.17.0.1/16); end it with `netlab --lab {name} down`"
            );
        }
        Ok(LabSession { lab, created })
    }

    pub fn commit(mut self) -> Result<Lab, Error> {
        self.lab.detach()?;
        Ok(self.lab)
    }
}

#[cfg(test)]
mod tests {
    /// clap checks a command line's definition only when that subcommand is parsed (in
    /// debug builds): this checks all of them at once, so a bad definition fails here
    /// rather than panicking in a user's hands.
    #[test]
    fn every_subcommand_is_well_defined() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
