//! netlab: labs of Linux network namespaces that reproduce Docker's networking, built with
//! rtnetlink, isolated from the real machine, and gone without a trace when they end.
//!
//! Layers, from the bottom: `model` (pure data and rules), `sys` (the only unsafe code:
//! namespaces, processes, fd passing), `net` (netlink operations named like `ip`), the
//! lab supervisor that owns a lab's namespaces, and [`Lab`], the API that the CLI and the
//! tests use.
#![deny(unsafe_code)]

mod client;
mod error;
mod firewall;
mod inspect;
mod model;
mod net;
mod proto;
mod supervisor;
mod sys;

pub mod graph;
pub mod scenario;

/// Not API: the `netlab` binary's command line (`src/main.rs` calls [`cli::main`]). It is
/// public only because the binary is a separate crate; it may change at any time.
#[doc(hidden)]
pub mod cli;

/// Not API: internals that netlab's own benchmarks measure directly (host-port choice and
/// the nft document). Public only because benches are separate crates; may change at any
/// time.
#[doc(hidden)]
pub mod bench_internals {
    pub use crate::firewall::{Forward, LabNat, ruleset};
    pub use crate::model::publish::{HostPorts, choose_host_ports};
}

pub use client::{Lab, Output, netlab_bin, outer_pid};
pub use error::{Error, Result};
pub use model::links::LinkSpec;
pub use model::pipework::PipeworkSpec;
pub use model::port::parse_expose;
pub use model::publish::parse_publish;
pub use model::{
    CommandSpec, ContainerSpec, ContainerState, ContainerStatus, ExposedPort, Ipv4Net, LabSpec,
    LanNode, PipeworkIf, PortBinding, Proto, Uplink,
};
pub use proto::{LabInfo, Target};
