//! Pure data: what a lab and its containers are, and the rules they obey.
//!
//! Nothing here touches the kernel, so every rule is unit-tested on plain values; the
//! supervisor validates a whole request with these types before it changes anything.

pub mod capture;
pub mod command;
pub mod container;
pub mod env;
pub mod fault;
pub mod hosts;
pub mod ipam;
pub mod lab;
pub mod limits;
pub mod links;
pub mod names;
pub mod net;
pub mod network;
pub mod pipework;
pub mod port;
pub mod ps;
pub mod publish;
pub mod resolv;
pub mod restart;
pub mod template;
pub mod time;
pub mod trace;
pub mod user;

pub use command::CommandSpec;
pub use container::{ContainerSpec, ContainerState, ContainerStatus, PipeworkIf};
pub use ipam::Ipam;
pub use lab::{LabSpec, LanNode, Uplink};
pub use net::Ipv4Net;
pub use port::{ExposedPort, Proto};
pub use publish::PortBinding;
