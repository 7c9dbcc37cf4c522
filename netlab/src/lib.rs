//! netlab: labs of Linux network namespaces that reproduce Docker's networking, built with
//! rtnetlink, isolated from the real machine, and gone without a trace when they end.
//!
//! Layers, from the bottom: [`model`] (pure data and rules), [`sys`] (the only unsafe code:
//! namespaces, processes, fd passing), [`net`] (netlink operations named like `ip`), the
//! lab supervisor that owns a lab's namespaces, and [`client::Lab`], the API that the CLI
//! and the tests use.
#![deny(unsafe_code)]

pub mod cli;
pub mod client;
pub mod error;
pub mod firewall;
pub mod graph;
pub mod inspect;
pub mod model;
pub mod net;
pub mod proto;
pub mod scenario;
pub mod supervisor;
pub mod sys;

pub use client::{Lab, Output, outer_pid};
pub use error::{Error, Result};
pub use model::{CommandSpec, ContainerSpec, ContainerState, ContainerStatus, LabSpec};
pub use proto::Target;
