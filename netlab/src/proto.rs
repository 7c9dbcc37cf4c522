//! What clients and a lab supervisor say to each other over the control socket: one
//! length-prefixed JSON message each way, with fds attached where a process needs the
//! client's terminal or the client needs a socket from inside the lab.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::model::{ContainerSpec, ContainerState, LabSpec};

/// Where a process runs ([`Lab::exec`](crate::Lab::exec)) or a TCP connection starts
/// ([`Lab::connect_tcp`](crate::Lab::connect_tcp)): one of the lab's network namespaces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// The lab host: the simulated Docker host with the bridge.
    Host,
    /// The container of this name.
    Container(String),
    /// A machine on the lab's simulated LAN.
    Node(String),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    Info,
    /// Create (and start) a container. Without `attach` (`run -d`) answered with the
    /// container once it runs; with it (a foreground `run`) answered `Exited` when its
    /// first run ends.
    Run {
        spec: ContainerSpec,
        #[serde(default)]
        attach: Option<Attach>,
    },
    /// Create (and start) several containers that do not link to each other: addresses
    /// are taken in the list's order, the containers are built side by side, and either
    /// all of them run afterwards or none is left.
    RunMany {
        specs: Vec<ContainerSpec>,
    },
    Ps {
        all: bool,
    },
    Inspect {
        name: String,
    },
    Start {
        name: String,
    },
    Stop {
        name: String,
        timeout_secs: u64,
    },
    Rm {
        name: String,
        force: bool,
    },
    /// Copies the container's output to the two attached fds (stdout, stderr); with
    /// `follow`, keeps copying until the container exits.
    Logs {
        name: String,
        follow: bool,
    },
    /// Answers `Exited` once the container's current run has ended.
    Wait {
        name: String,
    },
    /// Runs a process at `target` with the three attached fds as its stdio; answered
    /// with `Exited` when it ends. Closing the connection kills it.
    Exec {
        target: Target,
        argv: Vec<String>,
        env: Vec<(String, String)>,
        workdir: Option<String>,
        /// The three fds are a pseudo-terminal's slave end that becomes the process's
        /// controlling terminal (`exec -t`).
        #[serde(default)]
        tty: bool,
        /// `-u USER[:GROUP]`: who it runs as; root when absent.
        #[serde(default)]
        user: Option<String>,
        /// `-d`: no fds are attached (its stdio is `/dev/null`); answered `Ok` once it
        /// started, and it outlives the connection.
        #[serde(default)]
        detach: bool,
    },
    /// Opens a TCP connection from `target` to `addr`; the connected socket is attached to
    /// the answer.
    Connect {
        target: Target,
        addr: SocketAddr,
    },
    /// Opens a TCP listener at `addr` inside `target`; the listening socket is attached to
    /// the answer.
    Listen {
        target: Target,
        addr: SocketAddr,
    },
    /// Opens a packet socket on interface `iface` of `target` (its main interface when
    /// `None`, all of them for `any`); answered `Capture`, the socket attached.
    Capture {
        target: Target,
        iface: Option<String>,
    },
    /// Adds an interface with a static address to a container (pipework).
    Pipework {
        spec: crate::model::pipework::PipeworkSpec,
    },
    /// The article's two steps: remove the uplink's address, enslave it to the bridge.
    UplinkAttach,
    /// Moves the real interface `dev` from the namespace of the attached fd into the lab
    /// host (root only).
    AdoptUplink {
        dev: String,
    },
    /// Applies a fault; answered `Fault` with it as the lab holds it.
    Fault {
        spec: crate::model::fault::FaultSpec,
    },
    /// Heals the faults named (by name or `fault-N`), or all of them when `names` is
    /// empty; answered `Healed` with the names healed.
    Heal {
        names: Vec<String>,
    },
    /// The active faults; answered `Faults`.
    Faults,
    /// `netlab trace`: one probe, explained; answered `Trace`.
    Trace {
        spec: crate::model::trace::TraceSpec,
    },
    /// `network create`; answered `Network`.
    NetworkCreate {
        spec: crate::model::network::NetworkSpec,
    },
    /// `network rm`; answered `Ok`.
    NetworkRm {
        name: String,
    },
    /// `network ls`; answered `Networks`.
    NetworkLs,
    /// `network inspect`; answered `Network`.
    NetworkInspect {
        name: String,
    },
    /// `network connect`: `attachment.network` names the network; answered `Ok`.
    NetworkConnect {
        container: String,
        attachment: crate::model::network::Attachment,
    },
    /// `network disconnect`; answered `Ok`.
    NetworkDisconnect {
        network: String,
        container: String,
    },
    /// `network prune`; answered `Pruned` with the networks removed.
    NetworkPrune,
    /// The lab stops depending on its owner: it lives until `Down`.
    Detach,
    Down,
}

/// How a foreground `run` attaches its client to the container's first run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Attach {
    /// The output goes to the two attached fds (stdout, stderr) as it comes, after the
    /// client's input (a third fd, first) with `stdin` (`run -i`).
    Output { stdin: bool },
    /// The attached fd is a pseudo-terminal's slave end: the process's three streams and
    /// controlling terminal (`run -t`).
    Terminal,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "answer", rename_all = "snake_case")]
pub enum Response {
    Ok,
    Info {
        info: LabInfo,
    },
    Containers {
        containers: Vec<ContainerState>,
    },
    Container {
        container: ContainerState,
    },
    Exited {
        code: i32,
    },
    Pipework {
        iface: crate::model::PipeworkIf,
    },
    Fault {
        fault: crate::model::fault::FaultState,
    },
    Faults {
        faults: Vec<crate::model::fault::FaultState>,
    },
    Healed {
        names: Vec<String>,
    },
    Trace {
        trace: crate::model::trace::Trace,
    },
    /// The capture socket's interface, and every interface of its namespace (index, name).
    Capture {
        iface: String,
        interfaces: Vec<(u32, String)>,
    },
    Network {
        network: crate::model::network::NetworkState,
    },
    Networks {
        networks: Vec<crate::model::network::NetworkState>,
    },
    Pruned {
        names: Vec<String>,
    },
    Error {
        error: Error,
    },
}

/// What `netlab lab ls` shows about one lab ([`Lab::info`](crate::Lab::info)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabInfo {
    /// The spec the lab was created with.
    pub spec: LabSpec,
    /// How many containers it has.
    pub containers: usize,
    /// How many of them are running.
    pub running: usize,
    /// Whether the lab ends when its owner's connection does.
    pub owned: bool,
}
