//! A container as requested (`ContainerSpec`) and as it stands (`ContainerState`).

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use super::command::CommandSpec;
use super::names::validate_container_name;
use super::port::ExposedPort;
use super::publish::PortBinding;
use crate::error::{Error, Result};
use crate::model::hosts::ExtraHost;
use crate::model::links::LinkSpec;
use crate::model::network::{Attachment, DEFAULT_NETWORK, NONE_NETWORK};
use crate::model::restart::RestartPolicy;

/// A container to start with [`Lab::run`](crate::Lab::run): what `docker run` (and
/// `netlab run`) asks for. Start from [`ContainerSpec::new`] and set the fields of the
/// options you need; the lab checks the whole spec before it builds anything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerSpec {
    /// `--name`: unique in the lab; the name other containers link to and `exec` targets.
    pub name: String,
    /// `--hostname`; the name when absent.
    pub hostname: Option<String>,
    /// Given variables in order (`-e`, `--env-file`); defaults are added by the lab.
    pub env: Vec<(String, String)>,
    /// What runs in the container; the container lives as long as this process does.
    pub command: CommandSpec,
    /// `--expose` (see [`parse_expose`](crate::parse_expose)): ports linked containers
    /// learn about, and that `-P` publishes.
    pub expose: Vec<ExposedPort>,
    /// `--workdir`: an absolute directory to start in; `/` when absent.
    pub workdir: Option<String>,
    /// `--link NAME:ALIAS` (see [`LinkSpec::parse`]).
    #[serde(default)]
    pub links: Vec<LinkSpec>,
    /// `-p` (see [`parse_publish`](crate::parse_publish)).
    #[serde(default)]
    pub publish: Vec<PortBinding>,
    /// `-P`: every exposed port on a free host port.
    #[serde(default)]
    pub publish_all: bool,
    /// `--add-host NAME:IP`: lines of its `/etc/hosts`, before the links' and its own.
    #[serde(default)]
    pub extra_hosts: Vec<ExtraHost>,
    /// `-u USER[:GROUP]`: who its process runs as, names or numbers resolved as Docker's
    /// runtime does against `/etc/passwd` and `/etc/group` (this machine's); root when
    /// absent.
    #[serde(default)]
    pub user: Option<String>,
    /// `--rm`: removed when its process ends (with `-d` too), as if by `rm`.
    #[serde(default)]
    pub auto_remove: bool,
    /// `--restart`: whether its process starts again when it ends.
    #[serde(default)]
    pub restart: RestartPolicy,
    /// `-i`: its process's input stays open (the client's, attached; otherwise an empty
    /// pipe that never ends, so a shell waits for input as under Docker).
    #[serde(default)]
    pub interactive: bool,
    /// `-t`: its process runs on a pseudo-terminal (the client's, attached; otherwise
    /// one the lab makes, whose output becomes the logs).
    #[serde(default)]
    pub tty: bool,
    /// `--network NAME` with `--network-alias`, `--ip`, `--ip6`: the networks it joins,
    /// its first interface (`eth0`) on the first. Empty: the default `bridge`. Docker's
    /// `run` takes one network; a scenario may list several, joined before the process
    /// starts.
    #[serde(default)]
    pub networks: Vec<Attachment>,
}

impl ContainerSpec {
    /// A container called `name` that runs `command`, with every option at Docker's
    /// default: no variables, ports, links or hostname of its own.
    pub fn new(name: &str, command: CommandSpec) -> Self {
        ContainerSpec {
            name: name.into(),
            hostname: None,
            env: vec![],
            command,
            expose: vec![],
            workdir: None,
            links: vec![],
            publish: vec![],
            publish_all: false,
            extra_hosts: vec![],
            user: None,
            auto_remove: false,
            restart: RestartPolicy::No,
            interactive: false,
            tty: false,
            networks: vec![],
        }
    }

    /// Whether its `--link`s are Docker's legacy links (variables, `/etc/hosts` lines): on
    /// the default bridge. On a user-defined network a link is a name only this container
    /// resolves, through the network's DNS, to the linked container's addresses.
    pub fn legacy_links(&self) -> bool {
        self.attachments()
            .first()
            .is_some_and(|a| a.network == DEFAULT_NETWORK)
    }

    /// Docker's `HostConfig.NetworkMode`: the network `run --network` named, `default`
    /// without one. It stays when the container is disconnected from that network.
    pub fn network_mode(&self) -> &str {
        self.networks
            .first()
            .map_or("default", |a| a.network.as_str())
    }

    /// The networks it joins in order: its `networks`, or the default bridge; none for
    /// `--network none`.
    pub fn attachments(&self) -> Vec<Attachment> {
        match self.networks.first() {
            None => vec![Attachment::new(DEFAULT_NETWORK)],
            Some(a) if a.network == NONE_NETWORK => vec![],
            Some(_) => self.networks.clone(),
        }
    }

    /// A container on `none` has no network to reach a linked container by: its links
    /// are refused (on the default bridge they are Docker's legacy links, on a
    /// user-defined network names its DNS answers, see [`legacy_links`]). The lab checks
    /// it before it builds anything, and so does a scenario file, in the same words.
    ///
    /// [`legacy_links`]: ContainerSpec::legacy_links
    pub fn check_links_network(&self) -> Result<()> {
        if !self.links.is_empty() && self.attachments().is_empty() {
            return Err(Error::spec(
                "--link",
                self.links
                    .iter()
                    .map(|l| format!("{}:{}", l.name, l.alias))
                    .collect::<Vec<_>>()
                    .join(" "),
                "a container on the none network has no network to reach a linked container by; drop --network none or the link",
            ));
        }
        Ok(())
    }

    /// Checks the spec on its own (name, hostname, command, workdir), as [`Lab::run`]
    /// does before it changes anything; what depends on the lab (a free name, the linked
    /// containers, free host ports) is checked by the lab.
    ///
    /// [`Lab::run`]: crate::Lab::run
    pub fn validate(&self) -> Result<()> {
        validate_container_name(&self.name)?;
        if let Some(h) = &self.hostname {
            let ok = !h.is_empty()
                && h.len() <= 63
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
                && !h.starts_with('-');
            if !ok {
                return Err(Error::spec(
                    "--hostname",
                    h,
                    "use letters, digits, `-` and `.`, at most 63 bytes",
                ));
            }
        }
        if let CommandSpec::Exec(v) = &self.command
            && v.is_empty()
        {
            return Err(Error::spec("command", "", "the command is empty"));
        }
        if let Some(w) = &self.workdir
            && !w.starts_with('/')
        {
            return Err(Error::spec("--workdir", w, "give an absolute path"));
        }
        for (i, a) in self.networks.iter().enumerate() {
            a.validate()?;
            if a.network == NONE_NETWORK && self.networks.len() > 1 {
                return Err(Error::spec(
                    "--network",
                    NONE_NETWORK,
                    "a container on the none network has no other network; give none alone",
                ));
            }
            if self.networks[..i].iter().any(|b| b.network == a.network) {
                return Err(Error::spec(
                    "--network",
                    &a.network,
                    "the network is listed twice; give each network once",
                ));
            }
        }
        if self.auto_remove && !self.restart.is_none() {
            // Docker's words: "Conflicting options: --restart and --rm".
            return Err(Error::spec(
                "--restart",
                self.restart.to_string(),
                "it conflicts with --rm: a container removed when it ends cannot be restarted; give one of the two",
            ));
        }
        Ok(())
    }

    /// The exposed ports as Docker counts them: `--expose` plus every published container
    /// port, in that order, without repeats.
    pub(crate) fn exposed_ports(&self) -> Vec<ExposedPort> {
        let mut seen = std::collections::HashSet::new();
        let published = self.publish.iter().map(|b| ExposedPort {
            port: b.container_port,
            proto: b.proto,
        });
        self.expose
            .iter()
            .copied()
            .chain(published)
            .filter(|p| seen.insert(*p))
            .collect()
    }

    /// The bindings a run asks for: `-p` as given, then with `-P` every exposed port not
    /// published already, on a host port the lab chooses. The lab and the graph both use it.
    pub(crate) fn wanted_bindings(&self) -> Vec<PortBinding> {
        let mut wanted = self.publish.clone();
        if self.publish_all {
            let published: std::collections::HashSet<ExposedPort> = self
                .publish
                .iter()
                .map(|b| ExposedPort {
                    port: b.container_port,
                    proto: b.proto,
                })
                .collect();
            wanted.extend(
                self.exposed_ports()
                    .into_iter()
                    .filter(|p| !published.contains(p))
                    .map(|p| PortBinding {
                        host_ip: None,
                        host_port: None,
                        container_port: p.port,
                        proto: p.proto,
                    }),
            );
        }
        wanted
    }

    /// Docker's default hostname is the short id; netlab uses the name, which is what a
    /// student expects to see in the prompt.
    pub fn hostname(&self) -> &str {
        self.hostname.as_deref().unwrap_or(&self.name)
    }
}

/// Where a container is in its life, as `docker ps` shows it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContainerStatus {
    /// Built (namespaces, veth, address) but its process has not started.
    #[default]
    Created,
    /// Its process is running.
    Running,
    /// Its process ended; [`ContainerState::exit_code`] says how. The container keeps its
    /// address and can be started again ([`Lab::start`](crate::Lab::start)).
    Exited,
}

/// A container as the lab reports it ([`Lab::run`](crate::Lab::run),
/// [`Lab::inspect`](crate::Lab::inspect), [`Lab::ps`](crate::Lab::ps)): what `docker
/// inspect` shows, with the addresses and host ports the lab decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerState {
    /// A random 64-hex-digit id, like Docker's.
    pub id: String,
    /// The container's name.
    pub name: String,
    /// Its hostname (the name unless `--hostname` was given).
    pub hostname: String,
    /// The environment its processes get: the given variables, the link variables and
    /// the defaults (`PATH`, `HOSTNAME`, `HOME`).
    pub env: Vec<(String, String)>,
    /// What it runs.
    pub command: CommandSpec,
    /// Its exposed ports: `--expose` plus every published container port.
    pub expose: Vec<ExposedPort>,
    /// Created, running or exited.
    pub status: ContainerStatus,
    /// PID inside the lab's PID namespace (0 when not running); see
    /// [`outer_pid`](crate::outer_pid) for the PID this process sees.
    pub pid: i32,
    /// The exit code of the last run, once it ended (128 + N after signal N).
    pub exit_code: Option<i32>,
    /// How many times its `--restart` policy started it again (Docker's `RestartCount`).
    #[serde(default)]
    pub restart_count: u32,
    /// Its `--restart` policy will start it again once the wait is over (Docker's
    /// `State.Restarting`); its status stays `exited` meanwhile.
    #[serde(default)]
    pub restarting: bool,
    /// Its `--restart` policy (Docker's `HostConfig.RestartPolicy`).
    #[serde(default)]
    pub restart_policy: RestartPolicy,
    /// `--rm` (Docker's `HostConfig.AutoRemove`).
    #[serde(default)]
    pub auto_remove: bool,
    /// Docker's `HostConfig.NetworkMode` (see [`ContainerSpec::network_mode`]).
    #[serde(default = "default_network_mode")]
    pub network_mode: String,
    /// The `none` network's ID when it runs there (`--network none`): Docker lists that
    /// network among its networks, with no address.
    #[serde(default)]
    pub none_network_id: Option<String>,
    /// Its address on the lab's bridge (`eth0`) while it runs; the last one it had once
    /// stopped (see `connected`).
    pub ip: Ipv4Addr,
    /// Whether it holds `ip` now. As with Docker, a container's address (and its
    /// published ports' forwards) are released when its process ends, and it takes the
    /// first free address when started again, which may be another one: inspect shows no
    /// address for a stopped container.
    #[serde(default)]
    pub connected: bool,
    /// The prefix length of that address (the bridge subnet's).
    pub prefix: u8,
    /// Its default gateway: the bridge's address.
    pub gateway: Ipv4Addr,
    /// `eth0`'s MAC address, Docker's `02:42:` followed by the address bytes.
    pub mac: String,
    /// The host end of its veth on the lab host, a port of the bridge.
    pub host_veth: String,
    /// Seconds since the epoch.
    pub created: u64,
    /// When the current or last run started, in seconds since the epoch.
    pub started: Option<u64>,
    /// When the last run ended, in seconds since the epoch.
    pub finished: Option<u64>,
    /// The containers it links to.
    pub links: Vec<LinkSpec>,
    /// Published ports with their host ports decided.
    pub ports: Vec<PortBinding>,
    /// The interfaces [`Lab::pipework`](crate::Lab::pipework) added.
    pub pipework: Vec<PipeworkIf>,
    /// The active faults that act on it, one line each (`fault-1: delay 100ms on web/eth0`).
    #[serde(default)]
    pub faults: Vec<String>,
    /// Its endpoints, one per network it is on, in the order of its interfaces; the
    /// top-level `ip`, `prefix`, `gateway`, `mac` and `host_veth` are the first one's.
    #[serde(default)]
    pub networks: Vec<EndpointState>,
}

fn default_network_mode() -> String {
    "default".into()
}

/// A container's place on one network, as `inspect` shows it (Docker's
/// `NetworkSettings.Networks.NAME`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointState {
    /// The network's name.
    pub network: String,
    /// The network's ID.
    pub network_id: String,
    /// Its interface in the container (`eth0`, ...).
    pub ifname: String,
    /// Its IPv4 address while connected, the last one otherwise (see `connected`).
    pub ip: Ipv4Addr,
    /// The prefix length of the network's IPv4 subnet.
    pub prefix: u8,
    /// The gateway it offers (the network's bridge; the LAN's router for macvlan).
    pub gateway: Option<Ipv4Addr>,
    /// Its IPv6 address, on an IPv6 network.
    pub ip6: Option<std::net::Ipv6Addr>,
    /// The prefix length of the network's IPv6 subnet (0 without one).
    pub prefix6: u8,
    /// The IPv6 gateway it offers.
    pub gateway6: Option<std::net::Ipv6Addr>,
    /// Its interface's MAC: Docker's `02:42` and the IPv4 address bytes.
    pub mac: String,
    /// The veth's end on the lab host (empty for macvlan).
    pub host_veth: String,
    /// `--network-alias`/`--alias`: its other names on this network.
    pub aliases: Vec<String>,
    /// Fixed addresses asked for (Docker's `IPAMConfig`).
    pub static_ip: Option<Ipv4Addr>,
    /// The fixed IPv6 address asked for.
    pub static_ip6: Option<std::net::Ipv6Addr>,
}

/// An interface added by [`Lab::pipework`](crate::Lab::pipework), as it was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PipeworkIf {
    /// The bridge on the lab host it is plugged into.
    pub bridge: String,
    /// Its name inside the container (`eth1`, ...).
    pub ifname: String,
    /// The name of the veth's other end, on the lab host.
    pub host_ifname: String,
    /// Its static address.
    pub addr: super::Ipv4Net,
    /// The container's default route through it, when one was given.
    pub gateway: Option<Ipv4Addr>,
    /// Its MAC address.
    pub mac: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation() {
        let ok = ContainerSpec::new("web", CommandSpec::Shell("sleep 1".into()));
        ok.validate().unwrap();
        assert_eq!(ok.hostname(), "web");
        let mut bad = ok.clone();
        bad.name = "-x".into();
        assert!(bad.validate().is_err());
        let mut bad = ok.clone();
        bad.hostname = Some("a b".into());
        assert!(bad.validate().is_err());
        let mut bad = ok.clone();
        bad.workdir = Some("rel".into());
        assert!(bad.validate().is_err());
        let mut bad = ok.clone();
        bad.command = CommandSpec::Exec(vec![]);
        assert!(bad.validate().is_err());
        let mut bad = ok;
        bad.auto_remove = true;
        bad.validate().unwrap();
        bad.restart = RestartPolicy::Always;
        assert!(bad.validate().unwrap_err().to_string().contains("--rm"));
    }
}
