//! Labs of Linux network namespaces that reproduce Docker's networking (a bridge,
//! containers with veths, links, published ports, pipework interfaces), built with
//! rtnetlink and nftables, isolated from the real machine, and gone without a trace when
//! they end.
//!
//! netlab is a test harness: a test builds the network it needs in a few milliseconds per
//! container, runs real programs in it, and asserts on what they see. Containers are
//! network namespaces, not images: they run this machine's programs, each with its own
//! interfaces, addresses, routes, hostname and `/etc/hosts`.
//!
//! # Requirements
//!
//! - Linux with network namespaces; root, or a user allowed to create user namespaces
//!   (then netlab enters one first and works the same: a *rootless* lab). `nft`
//!   (nftables) for published ports.
//! - The `netlab` binary: every lab is a supervisor process that runs `netlab
//!   __supervisor`. [`netlab_bin`] finds it: `$NETLAB_BIN` if set; this program when it is
//!   `netlab`; a `netlab` next to this program or one folder up (so netlab's own tests and
//!   examples use the one cargo built, `target/debug/netlab`); else `netlab` on `PATH`.
//!   A crate that uses netlab as a dev-dependency does not get that binary from cargo:
//!   install it (`cargo install --path PATH/TO/netlab`), or build it and set `NETLAB_BIN`,
//!   e.g. in the crate's `.cargo/config.toml`:
//!
//!   ```toml
//!   [env]
//!   NETLAB_BIN = "/abs/path/to/netlab/target/debug/netlab"
//!   ```
//!
//! # Quick start
//!
//! Two containers on the lab's bridge, one pinging the other (in a crate's tests, with
//! `netlab` as a dev-dependency):
//!
//! ```no_run
//! use netlab::{CommandSpec, ContainerSpec, Lab, LabSpec, Target};
//!
//! # fn main() -> netlab::Result<()> {
//! // Lab names are per user: give each test (and each test process) its own.
//! let lab = Lab::create(&LabSpec::new(&format!("quickstart-{}", std::process::id())))?;
//! let sleeper = |name| ContainerSpec::new(name, CommandSpec::Exec(vec!["sleep".into(), "600".into()]));
//! lab.run(&sleeper("a"))?;
//! let b = lab.run(&sleeper("b"))?; // returns once b runs, with the address it got
//! let ping = lab.exec(
//!     &Target::Container("a".into()),
//!     &["ping", "-c", "1", "-W", "2", &b.ip.to_string()],
//! )?;
//! assert_eq!(ping.code, 0, "{}", ping.stdout_str());
//! lab.down()?; // or let `lab` go out of scope
//! # Ok(())
//! # }
//! ```
//!
//! # What a lab offers
//!
//! | Docker / pipework | netlab |
//! |---|---|
//! | `dockerd --bridge --bip --fixed-cidr` | [`LabSpec`], [`Lab::create`] |
//! | `docker run -d --name -e --expose -p -P --link --hostname --workdir` | [`ContainerSpec`], [`Lab::run`] |
//! | `docker exec`, `docker ps`, `inspect`, `logs`, `stop`, `start`, `rm` | [`Lab::exec`], [`Lab::ps`], [`Lab::inspect`], [`Lab::logs`], [`Lab::stop`], [`Lab::start`], [`Lab::rm`] |
//! | `-p 8080:80`, `--expose 27017`, `--link db:mongo` | [`parse_publish`], [`parse_expose`], [`LinkSpec::parse`] |
//! | `pipework br1 -i eth1 web 10.2.0.11/16` | [`PipeworkSpec::new`], [`Lab::pipework`] |
//! | `docker network create [-d macvlan] [--subnet] [--internal] [--ipv6]`, `ls`, `inspect`, `rm`, `prune` | [`NetworkSpec`], [`Lab::create_network`], [`Lab::networks`], [`Lab::inspect_network`], [`Lab::remove_network`], [`Lab::prune_networks`] |
//! | `docker run --network N --network-alias A --ip X`, `network connect`/`disconnect` | [`ContainerSpec::networks`] with an [`Attachment`], [`Lab::connect_network`], [`Lab::disconnect_network`]; names resolve through the embedded DNS at 127.0.0.11 |
//! | `curl` from the host, a container or a LAN machine | [`Lab::connect_tcp`] with a [`Target`] |
//! | `tcpdump -i eth0 -w FILE` in a container, on the lab host or a LAN machine | [`Lab::capture`], [`Captured::write_pcapng`] |
//! | a whole setup as a file | [`scenario::load`], [`scenario::up`]; pictures with [`graph`] |
//!
//! Every request is validated before the lab changes anything, and undone if a step fails;
//! errors ([`Error`]) say what went wrong and how to fix it.
//!
//! # Cleanup
//!
//! A lab's interfaces, addresses, routes and nft rules all live in namespaces that the
//! lab's supervisor holds, so they vanish with it; nothing is created in the real
//! machine's namespaces. A lab from [`Lab::create`] is *owned* by its handle: it ends when
//! the handle is dropped (also on panic) or [`Lab::down`] is called, and when the owning
//! process dies in any way, SIGKILL included, because the supervisor watches a pipe that
//! only the owner holds. [`Lab::detach`] (or [`Lab::create_detached`]) makes a lab live
//! until `down`, like one made by the `netlab` command; [`Lab::open`] attaches to one.
//!
//! # Examples
//!
//! `netlab/examples/` has one small program per thing a user does; each says at its top
//! how to run it and what it prints (`cargo build -p netlab && cargo run -p netlab
//! --example NAME`, as root or rootless):
//!
//! - `two_containers`: a lab, two containers, a ping from one to the other;
//! - `published_port`: `-p 8080:80`, reached from the lab host and from a LAN machine;
//! - `link`: `--link db:mongo`, the variables and `/etc/hosts` entry it gives;
//! - `pipework`: a second bridge with static addresses, pipework's way;
//! - `scenario_from_code`: a scenario file parsed, drawn and brought up from Rust.
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod capture;
mod client;
// The lab's embedded DNS server (127.0.0.11 in every container of a user-defined network),
// driven by `supervisor::dns`; its benchmark reaches it through `bench_internals`.
pub(crate) mod dns;
// Used by the supervisor (issue 13) and reached from outside through `bench_internals`.
#[allow(dead_code, unreachable_pub)]
pub(crate) mod emu;
mod error;
// Reached from outside only through `bench_internals`, whose users read the code, so its
// docs are for maintainers (`cargo doc --document-private-items`).
#[allow(missing_docs, rustdoc::private_intra_doc_links)]
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

    /// The lab's DNS server and throwaway namespaces to query it from.
    pub mod dns {
        pub use crate::dns::testns::{self, loopback_netns};
        pub use crate::dns::{DNS_ADDR, DnsServer, Upstream};
        pub use crate::sys::nsfd::in_netns;
    }

    /// The user-space link emulator and a test bed of namespaces to run it in.
    pub mod emu {
        pub use crate::emu::testbed::{A_IP, B_IP, Testbed, add_address};
        pub use crate::emu::*;
        pub use crate::sys::nsfd::in_netns;
    }
}

pub use capture::{Capture, Captured, Packet};
pub use client::{ExecOptions, FaultGuard, Forward, Lab, Output, netlab_bin, outer_pid};
pub use error::{Error, Result};
pub use model::capture::{Filter, Frame, Icmp, Protocol, TcpFlags};
pub use model::container::EndpointState;
pub use model::fault::{
    Counters, Direction, Distribution, FaultKind, FaultSpec, FaultState, Impair,
};
pub use model::hosts::ExtraHost;
pub use model::links::LinkSpec;
pub use model::net::{Ipv6Net, Subnet};
pub use model::network::{
    Attachment, DEFAULT_NETWORK, Driver, NetworkMember, NetworkSpec, NetworkState, SubnetSpec,
};
pub use model::pipework::PipeworkSpec;
pub use model::port::parse_expose;
pub use model::publish::parse_publish;
pub use model::restart::RestartPolicy;
pub use model::trace::{
    DEFAULT_OBSERVE, DEFAULT_PORT, Leg, ProbeKind, Step, StepKind, Trace, TraceSpec, Verdict,
};
pub use model::{
    CommandSpec, ContainerSpec, ContainerState, ContainerStatus, ExposedPort, Ipv4Net, LabSpec,
    LanNode, PipeworkIf, PortBinding, Proto, Uplink,
};
pub use proto::{LabInfo, Target};
