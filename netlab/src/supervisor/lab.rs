//! The lab as its supervisor holds it: the host's netlink handle, the bridge, the address
//! manager and the containers with the fds that keep their namespaces alive.
//!
//! Every request is validated completely before the kernel is touched; a container whose
//! bring-up fails half-way is dropped, and dropping it closes its namespace fds, which
//! removes its veth pair and addresses with it.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;

use super::exit::ExitWatch;
use super::logs::Logs;
use super::plan::Plan;
use crate::error::{Error, Result};
use crate::firewall::{Firewall, Forward, LabNat, Nft};
use crate::model::command::resolve_program;
use crate::model::links::{self, LinkSpec, Linked, hosts_file};
use crate::model::names::host_veth_name;
use crate::model::net::{docker_mac, format_mac};
use crate::model::pipework::{PipeworkSpec, first_free_ifname};
use crate::model::{
    ContainerSpec, ContainerState, ContainerStatus, ExposedPort, Ipam, Ipv4Net, LabSpec,
    PipeworkIf, PortBinding, env,
    publish::{HostPorts, choose_host_ports},
};
use crate::net;
use crate::proto::{LabInfo, Target};
use crate::sys::nsfd::{self, Namespaces, NsSetup};
use crate::sys::reaper::Reaper;
use crate::sys::rtnl::Rtnl;
use crate::sys::spawn::{bad_workdir, spawn_in};
use crate::sys::sysctl;

/// Where the lab keeps generated files: the lab's private tmpfs (see `setup_lab_mounts`).
const STATE_DIR: &str = "/dev/shm/netlab";

/// The part of a container that changes when its process starts and ends; the reaper
/// thread updates it without taking the lab lock.
#[derive(Debug, Clone)]
pub struct RunState {
    pub status: ContainerStatus,
    pub pid: i32,
    pub exit_code: Option<i32>,
    pub started: Option<u64>,
    pub finished: Option<u64>,
}

pub struct Container {
    pub spec: ContainerSpec,
    pub id: String,
    pub env: Vec<(String, String)>,
    pub ip: Ipv4Addr,
    pub mac: [u8; 6],
    pub host_veth: String,
    pub created: u64,
    pub ns: Namespaces,
    pub run: Arc<Mutex<RunState>>,
    /// Tells waiters that the process ended (the value is the run's exit code).
    pub exited: ExitWatch,
    pub logs: Arc<Logs>,
    pub dir: PathBuf,
    pub links: Vec<LinkSpec>,
    /// Exposed ports: `--expose` plus the container ports of `-p`.
    pub expose: Vec<ExposedPort>,
    pub ports: Vec<PortBinding>,
    pub pipework: Vec<PipeworkIf>,
}

/// What `lab ls` shows about the lab, kept outside the lab lock: answering `Info` must not
/// wait for another client's request, however long that one takes. The lab refreshes it
/// whenever its containers or settings change; run states are shared with the reaper.
#[derive(Debug, Clone)]
pub struct Summary {
    pub spec: LabSpec,
    pub runs: Vec<Arc<Mutex<RunState>>>,
}

impl Summary {
    pub fn info(&self, owned: bool) -> LabInfo {
        let running = self
            .runs
            .iter()
            .filter(|r| {
                r.lock()
                    .map(|r| r.status == ContainerStatus::Running)
                    .unwrap_or(false)
            })
            .count();
        LabInfo {
            spec: self.spec.clone(),
            containers: self.runs.len(),
            running,
            owned,
        }
    }
}

/// A machine on the simulated LAN.
pub struct Node {
    pub ns: Namespaces,
}

/// The simulated LAN: a switch (a bridge in a namespace of its own) joining the lab host's
/// uplink and the LAN machines.
pub struct Lan {
    /// Held only to keep the switch namespace, and with it the LAN, alive.
    _switch_ns: OwnedFd,
    pub nodes: BTreeMap<String, Node>,
}

impl std::fmt::Debug for Container {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Container")
            .field("name", &self.spec.name)
            .field("ip", &self.ip)
            .finish()
    }
}

/// What building a container needs from the lab, cloned out of it so that building runs
/// without the lab lock.
#[derive(Clone)]
pub struct Builder {
    pub reaper: Arc<Reaper>,
    pub bridge_index: u32,
    pub bip: Ipv4Net,
}

/// A `run` that passed step 1.
pub struct Prepared {
    pub spec: ContainerSpec,
    pub env: Vec<(String, String)>,
    pub ip: Ipv4Addr,
    pub link_hosts: Vec<String>,
    pub expose: Vec<ExposedPort>,
    pub ports: Vec<PortBinding>,
    pub builder: Builder,
}

pub struct Lab {
    pub spec: LabSpec,
    pub host: Rtnl,
    pub host_net: OwnedFd,
    pub bridge_index: u32,
    pub ipam: Ipam,
    pub containers: BTreeMap<String, Container>,
    /// Creation order, which is the order `ps` uses.
    pub order: Vec<String>,
    /// Shared with the supervisor, which answers `Info` from it without the lab lock.
    pub summary: Arc<Mutex<Summary>>,
    pub reaper: Arc<Reaper>,
    /// Names of containers being built outside the lock.
    pending: std::collections::HashSet<String>,
    /// Found when the first port is published, so labs without ports need no `nft`.
    firewall: Option<Box<dyn Firewall>>,
    pub lan: Option<Lan>,
    /// Names of the bridges `pipework` made.
    pub extra_bridges: Vec<String>,
}

impl std::fmt::Debug for Lab {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lab").field("spec", &self.spec).finish()
    }
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn random_id() -> String {
    let mut bytes = [0u8; 32];
    if std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes))
        .is_err()
    {
        let t = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        bytes[..16].copy_from_slice(&t.to_le_bytes());
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Lab {
    /// Builds the lab host's network in the supervisor's own (fresh) namespace:
    /// `ip link set lo up; ip link add docker0 type bridge; ip addr add BIP dev docker0;
    /// sysctl -w net.ipv4.ip_forward=1`.
    pub fn build(spec: LabSpec, reaper: Arc<Reaper>) -> Result<Lab> {
        spec.validate()?;
        let mut host = Rtnl::open()?;
        host.batch(vec![
            net::link::set_up(1, "lo"),
            net::link::add_bridge(&spec.bridge, Some(docker_mac(spec.bip.addr))),
        ])?;
        let bridge_index =
            net::link::index(&mut host, &spec.bridge)?.ok_or_else(|| gone(&spec.bridge))?;
        host.batch(vec![net::addr::add(bridge_index, spec.bip, &spec.bridge)])?;
        sysctl::set("net.ipv4.ip_forward", "1")?;
        // The lab's network is IPv4, like the article's: the host ends of the veths (and
        // the uplink, pipework bridges) get no IPv6 of their own, which spares each new
        // container the IPv6 address, DAD and MLD work on its host end; docker0, created
        // above, keeps its link-local address as on a Docker host.
        sysctl::ipv6_off_for_new_interfaces()?;
        // Published ports answer on 127.0.0.1 too: the kernel must route loopback-sourced
        // packets out of the bridge (then masqueraded by the firewall table).
        sysctl::set_path(
            &["net", "ipv4", "conf", &spec.bridge, "route_localnet"],
            "1",
        )?;
        std::fs::create_dir_all(STATE_DIR)
            .map_err(|e| Error::io(format!("mkdir {STATE_DIR}"), &e))?;
        let mut ipam = Ipam::new(&spec);
        if let Some(up) = &spec.uplink {
            if let Some(a) = up.addr
                && a.addr != spec.bip.addr
            {
                ipam.claim(a.addr, &format!("the lab host's uplink {}", up.name))?;
            }
            for n in &spec.lan_nodes {
                ipam.claim(n.addr.addr, &format!("LAN machine {}", n.name))?;
            }
        }
        let mut lab = Lab {
            host_net: nsfd::current_net()?,
            ipam,
            spec: spec.clone(),
            host,
            bridge_index,
            containers: BTreeMap::new(),
            order: Vec::new(),
            summary: Arc::new(Mutex::new(Summary {
                spec: spec.clone(),
                runs: vec![],
            })),
            reaper,
            pending: Default::default(),
            firewall: None,
            lan: None,
            extra_bridges: vec![],
        };
        lab.build_lan()?;
        if spec.attach_uplink && spec.uplink.is_some() {
            lab.attach_uplink()?;
        }
        lab.refresh_summary();
        tracing::info!(lab = %spec.name, bridge = %spec.bridge, bip = %spec.bip, "lab host ready");
        Ok(lab)
    }

    /// The simulated LAN: `ip link add switch type bridge` in a namespace of its own, the lab
    /// host's uplink (`eth1`) wired to it, and each LAN machine's `eth0` too.
    fn build_lan(&mut self) -> Result<()> {
        let Some(up) = self.spec.uplink.clone() else {
            return Ok(());
        };
        let (switch_ns, mut switch) = nsfd::create_net(Rtnl::open)?;
        switch.batch(vec![
            net::link::set_up(1, "lo"),
            net::link::add_bridge("switch", None),
        ])?;
        let lan0 = net::link::index(&mut switch, "switch")?.ok_or_else(|| gone("switch"))?;
        // The uplink: its lab-host end is `eth1`, its switch end `uplink` on the switch.
        self.host.batch(vec![net::link::add_veth_into(
            &up.name, "uplink", &switch_ns, None, None,
        )])?;
        let port = net::link::index(&mut switch, "uplink")?.ok_or_else(|| gone("uplink"))?;
        switch.batch(vec![
            net::link::set_master(port, lan0, "uplink"),
            net::link::set_up(port, "uplink"),
        ])?;
        let eth1 = net::link::index(&mut self.host, &up.name)?.ok_or_else(|| gone(&up.name))?;
        let mut reqs = Vec::new();
        if let Some(a) = up.addr {
            reqs.push(net::addr::add(eth1, a, &up.name));
        }
        reqs.push(net::link::set_up(eth1, &up.name));
        self.host.batch(reqs)?;
        let mut nodes = BTreeMap::new();
        for (i, n) in self.spec.lan_nodes.iter().enumerate() {
            let dir = PathBuf::from(STATE_DIR).join(format!("node-{}", n.name));
            std::fs::create_dir_all(&dir)
                .map_err(|e| Error::io(format!("mkdir {}", dir.display()), &e))?;
            let hosts = dir.join("hosts");
            std::fs::write(&hosts, hosts_file(n.addr.addr, &n.name, &[]))
                .map_err(|e| Error::io("write hosts file", &e))?;
            let setup = NsSetup {
                hostname: n.name.clone(),
                binds: vec![(hosts, PathBuf::from("/etc/hosts"))],
            };
            let (ns, mut nl) = nsfd::create(&setup, |ns| Ok((ns, Rtnl::open()?)))?;
            let sw_end = format!("lan{i}");
            switch.batch(vec![net::link::add_veth_into(
                &sw_end,
                "eth0",
                &ns.net,
                None,
                Some(lan0),
            )])?;
            let eth0 = net::link::index(&mut nl, "eth0")?.ok_or_else(|| gone("eth0"))?;
            nl.batch(vec![
                net::link::set_up(1, "lo"),
                net::addr::add(eth0, n.addr, "eth0"),
                net::link::set_up(eth0, "eth0"),
            ])?;
            tracing::info!(node = %n.name, addr = %n.addr, "LAN machine ready");
            nodes.insert(n.name.clone(), Node { ns });
        }
        self.lan = Some(Lan {
            _switch_ns: switch_ns,
            nodes,
        });
        Ok(())
    }

    /// The article's two steps on the lab host: `ip addr del ADDR dev eth1; ip link set
    /// eth1 master docker0`. Safe to repeat.
    pub fn attach_uplink(&mut self) -> Result<()> {
        let name = match (&self.spec.uplink, &self.spec.uplink_dev) {
            (Some(u), _) => u.name.clone(),
            (None, Some(d)) => d.clone(),
            (None, None) => {
                return Err(Error::spec(
                    "uplink attach",
                    &self.spec.name,
                    "this lab has no uplink; create it with --uplink or --uplink-dev",
                ));
            }
        };
        let idx = net::link::index(&mut self.host, &name)?.ok_or_else(|| gone(&name))?;
        net::addr::flush_v4(&mut self.host, idx, &name)?;
        self.host
            .batch(vec![net::link::set_master(idx, self.bridge_index, &name)])?;
        // `lab ls` and `graph` report it from the spec.
        self.spec.attach_uplink = true;
        self.refresh_summary();
        tracing::info!(uplink = %name, bridge = %self.spec.bridge, "uplink enslaved to the bridge");
        Ok(())
    }

    /// Moves a real interface of the caller's namespace `from` into the lab host (`ip link
    /// set DEV netns LAB`) and brings it up. The kernel returns it when the lab ends.
    pub fn adopt_uplink(&mut self, dev: &str, from: &OwnedFd) -> Result<()> {
        let mut outside = nsfd::in_netns(from, Rtnl::open)?;
        let idx = net::link::index(&mut outside, dev)?.ok_or_else(|| {
            Error::spec(
                "--uplink-dev",
                dev,
                "there is no such interface on this machine",
            )
        })?;
        outside.batch(vec![net::link::set_netns(idx, &self.host_net, dev)])?;
        let idx = net::link::index(&mut self.host, dev)?.ok_or_else(|| gone(dev))?;
        self.host.batch(vec![net::link::set_up(idx, dev)])?;
        tracing::info!(dev, "real uplink moved into the lab host");
        Ok(())
    }

    /// Brings the summary that `Info` reads up to date; call it after every change of the
    /// containers or the settings.
    pub fn refresh_summary(&self) {
        let fresh = Summary {
            spec: self.spec.clone(),
            runs: self
                .order
                .iter()
                .filter_map(|n| self.containers.get(n))
                .map(|c| c.run.clone())
                .collect(),
        };
        match self.summary.lock() {
            Ok(mut s) => *s = fresh,
            Err(p) => *p.into_inner() = fresh,
        }
    }

    /// A container's name from its name or, like Docker, a unique prefix of its ID (names
    /// win); unknown references stay as they are, so the caller's lookup names them.
    pub fn resolve(&self, reference: &str) -> Result<String> {
        if self.containers.contains_key(reference)
            || reference.is_empty()
            || !reference.chars().all(|c| c.is_ascii_hexdigit())
        {
            return Ok(reference.to_string());
        }
        let hits: Vec<&Container> = self
            .containers
            .values()
            .filter(|c| c.id.starts_with(reference))
            .collect();
        match hits.as_slice() {
            [one] => Ok(one.spec.name.clone()),
            [] => Ok(reference.to_string()),
            many => Err(Error::spec(
                "container",
                reference,
                format!(
                    "the ID prefix matches {} containers; give more of the ID or a name",
                    many.len()
                ),
            )),
        }
    }

    pub fn get(&self, name: &str) -> Result<&Container> {
        self.containers
            .get(name)
            .ok_or_else(|| Error::UnknownContainer {
                lab: self.spec.name.clone(),
                name: name.into(),
            })
    }

    /// `docker run -d`: validate, allocate, build the namespaces and veth, start.
    /// `docker run -d`, step 1 of 3, under the lab lock: validate everything, resolve links
    /// and ports, reserve the name and an address. Step 2 ([`Lab::create`]) runs without
    /// the lock; step 3 ([`Lab::finish_run`]) takes it again.
    pub fn prepare_run(&mut self, spec: ContainerSpec) -> Result<Prepared> {
        spec.validate()?;
        if self.containers.contains_key(&spec.name) || self.pending.contains(&spec.name) {
            return Err(Error::DuplicateName {
                lab: self.spec.name.clone(),
                name: spec.name.clone(),
            });
        }
        let (link_env, link_hosts) = self.resolve_links(&spec)?;
        let given: Vec<(String, String)> = link_env
            .into_iter()
            .chain(spec.env.iter().cloned())
            .collect();
        let env = env::compose(&given, spec.hostname());
        let path = env::lookup(&env, "PATH").unwrap_or_default().to_string();
        if let Some(p) = spec.command.program() {
            resolve_program(&p, &path)?;
        }
        let expose = spec.exposed_ports();
        let ports = self.resolve_ports(&spec)?;
        if !ports.is_empty() {
            self.firewall()?;
        }
        let ip = self.ipam.allocate(&format!("container {}", spec.name))?;
        self.pending.insert(spec.name.clone());
        let builder = Builder {
            reaper: self.reaper.clone(),
            bridge_index: self.bridge_index,
            bip: self.spec.bip,
        };
        Ok(Prepared {
            spec,
            env,
            ip,
            link_hosts,
            expose,
            ports,
            builder,
        })
    }

    /// Step 3 of `run`: records the built and started container (and its published ports),
    /// or releases what step 1 reserved when step 2 failed.
    pub fn finish_run(&mut self, p: Prepared, built: Result<Container>) -> Result<ContainerState> {
        self.pending.remove(&p.spec.name);
        let mut c = match built {
            Ok(c) => c,
            Err(e) => {
                self.ipam.release(p.ip);
                return Err(e);
            }
        };
        c.expose = p.expose;
        c.ports = p.ports;
        let name = c.spec.name.clone();
        let publishes = !c.ports.is_empty();
        self.order.push(name.clone());
        self.containers.insert(name.clone(), c);
        self.refresh_summary();
        if publishes && let Err(e) = self.apply_firewall() {
            self.remove(&name);
            return Err(e);
        }
        self.state(&name)
    }

    /// Docker's link variables and hosts lines for every `--link`; each linked container
    /// must exist and run.
    fn resolve_links(&self, spec: &ContainerSpec) -> Result<LinkResolution> {
        let (mut env, mut hosts) = (vec![], vec![]);
        for l in &spec.links {
            let target = self
                .containers
                .get(&l.name)
                .ok_or_else(|| Error::UnknownContainer {
                    lab: self.spec.name.clone(),
                    name: l.name.clone(),
                })?;
            if target
                .run
                .lock()
                .map(|r| r.status != ContainerStatus::Running)
                .unwrap_or(true)
            {
                return Err(Error::BadState {
                    name: l.name.clone(),
                    problem: format!(
                        "is not running, so --link {}:{} cannot use it",
                        l.name, l.alias
                    ),
                    fix: format!("start it first with `netlab start {}`", l.name),
                });
            }
            let linked = Linked {
                name: &target.spec.name,
                hostname: target.spec.hostname(),
                ip: target.ip,
                ports: &target.expose,
                env: &target.spec.env,
            };
            env.extend(links::link_env(&spec.name, &l.alias, &linked));
            hosts.push(links::hosts_entry(&l.alias, &linked));
        }
        Ok((env, hosts))
    }

    /// Decides the host port of every binding (`-p`, and `-P` for every exposed port not
    /// published explicitly) and refuses a host port already published in the lab; linear
    /// in the number of ports (see [`choose_host_ports`]).
    fn resolve_ports(&self, spec: &ContainerSpec) -> Result<Vec<PortBinding>> {
        let mut taken = HostPorts::new();
        for c in self.containers.values() {
            let owner = format!("container {}", c.spec.name);
            for p in &c.ports {
                taken.insert(p, &owner);
            }
        }
        choose_host_ports(
            &mut taken,
            spec.wanted_bindings(),
            &format!("container {}", spec.name),
            ephemeral_range(),
        )
    }

    fn firewall(&mut self) -> Result<&dyn Firewall> {
        if self.firewall.is_none() {
            let reaper = self.reaper.clone();
            let runner: crate::firewall::Runner = Arc::new(move |cmd, input| {
                let out = reaper.output(cmd, input)?;
                Ok((out.code, out.stderr))
            });
            self.firewall = Some(Box::new(Nft::find()?.with_runner(runner)));
        }
        match self.firewall.as_deref() {
            Some(f) => Ok(f),
            None => Err(Error::Io {
                op: "firewall".into(),
                message: "no backend".into(),
            }),
        }
    }

    /// Replaces the lab's nft table with the forwards of every container now in the lab.
    fn apply_firewall(&mut self) -> Result<()> {
        let forwards: Vec<Forward> = self
            .containers
            .values()
            .flat_map(|c| {
                c.ports.iter().map(move |b| Forward {
                    host_ip: b.host_ip,
                    host_port: b.host_port.unwrap_or(0),
                    proto: b.proto,
                    container_ip: c.ip,
                    container_port: b.container_port,
                })
            })
            .collect();
        let nat = LabNat {
            bridge: self.spec.bridge.clone(),
            subnet: self.spec.bip.canonical(),
            forwards,
        };
        self.firewall()?.apply(&nat)
    }

    /// Builds a container's namespaces and network and starts its process; runs without
    /// the lab lock (see [`Lab::prepare_run`]), so several containers come up at once.
    ///
    /// All of it happens on the one thread that creates the namespaces, with blocking
    /// netlink batches and no runtime round trips: `ip link add HOST type veth peer name
    /// eth0 netns C address MAC; ip link set HOST master docker0 up` from the lab host,
    /// then inside the container `ip link set lo up; ip link set eth0 up; ip addr add
    /// IP/PREFIX dev eth0; ip route add default via BRIDGE-IP` in one write, then the
    /// process starts right there. Bridge hairpin mode is set only on the veth of a
    /// container that publishes ports: only such a container can send traffic that comes
    /// back by its own bridge port (to itself through the host's published port).
    pub fn create(
        b: &Builder,
        spec: ContainerSpec,
        env: Vec<(String, String)>,
        ip: Ipv4Addr,
        link_hosts: &[String],
        hairpin: bool,
    ) -> Result<Container> {
        let dir = PathBuf::from(STATE_DIR).join(&spec.name);
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::io(format!("mkdir {}", dir.display()), &e))?;
        let hosts = dir.join("hosts");
        std::fs::write(&hosts, hosts_file(ip, spec.hostname(), link_hosts))
            .map_err(|e| Error::io("write hosts file", &e))?;
        let setup = NsSetup {
            hostname: spec.hostname().to_string(),
            binds: vec![(hosts, PathBuf::from("/etc/hosts"))],
        };
        // Opened here, in the lab host's namespace, before the thread leaves it.
        let mut host = Rtnl::open()?;
        let mac = docker_mac(ip);
        nsfd::create(&setup, |ns| {
            let host_veth = add_container_veth(&mut host, &spec.name, &ns, mac, b.bridge_index)?;
            let c = Container {
                id: random_id(),
                env,
                ip,
                mac,
                host_veth,
                created: now(),
                ns,
                run: Arc::new(Mutex::new(RunState {
                    status: ContainerStatus::Created,
                    pid: 0,
                    exit_code: None,
                    started: None,
                    finished: None,
                })),
                exited: ExitWatch::default(),
                logs: Arc::new(Logs::default()),
                dir,
                links: spec.links.clone(),
                expose: spec.expose.clone(),
                ports: vec![],
                pipework: vec![],
                spec,
            };
            let started = wire_inside(ip, b.bip)
                .and_then(|()| match hairpin {
                    true => set_hairpin(&mut host, &c.host_veth),
                    false => Ok(()),
                })
                // This thread is in the container's namespaces already: the process starts
                // from here.
                .and_then(|()| start(&b.reaper, &c, None));
            if let Err(e) = started {
                // Frees the veth's name at once; the namespaces go when `c` drops.
                let _ = net::link::delete(&mut host, &c.host_veth);
                return Err(e);
            }
            tracing::info!(container = %c.spec.name, %ip, veth = %c.host_veth, "container up");
            Ok(c)
        })
    }

    /// Starts the container's main process (`docker start`).
    pub fn start(&self, name: &str) -> Result<()> {
        let c = self.get(name)?;
        start(&self.reaper, c, Some(&c.ns))
    }

    pub fn state(&self, name: &str) -> Result<ContainerState> {
        let c = self.get(name)?;
        let r = c.run.lock().map_err(|_| poisoned())?.clone();
        Ok(ContainerState {
            id: c.id.clone(),
            name: c.spec.name.clone(),
            hostname: c.spec.hostname().to_string(),
            env: c.env.clone(),
            command: c.spec.command.clone(),
            expose: c.expose.clone(),
            status: r.status,
            pid: r.pid,
            exit_code: r.exit_code,
            ip: c.ip,
            prefix: self.spec.bip.prefix,
            gateway: self.spec.bip.addr,
            mac: format_mac(&c.mac),
            host_veth: c.host_veth.clone(),
            created: c.created,
            started: r.started,
            finished: r.finished,
            links: c.links.clone(),
            ports: c.ports.clone(),
            pipework: c.pipework.clone(),
        })
    }

    pub fn list(&self, all: bool) -> Result<Vec<ContainerState>> {
        let mut out = Vec::new();
        for name in &self.order {
            let s = self.state(name)?;
            if all || s.status == ContainerStatus::Running {
                out.push(s);
            }
        }
        Ok(out)
    }

    /// A receiver that yields once the container's current run has ended.
    pub fn exit_watch(&self, name: &str) -> Result<ExitWatch> {
        Ok(self.get(name)?.exited.clone())
    }

    /// Sends `sig` to the container's process group and, for SIGKILL, to every other
    /// process in its network namespace (daemons that left the group), like Docker does
    /// with the container's cgroup.
    pub fn signal(&self, name: &str, sig: Signal) -> Result<()> {
        let c = self.get(name)?;
        let pid = c.run.lock().map_err(|_| poisoned())?.pid;
        if pid > 0 {
            let _ = killpg(Pid::from_raw(pid), sig).or_else(|_| kill(Pid::from_raw(pid), sig));
        }
        if sig == Signal::SIGKILL {
            kill_netns_members(&c.ns.net);
        }
        Ok(())
    }

    /// Removes a container: `ip link del` of its host-side veth (so its name and address
    /// are free when `rm` returns; namespace teardown alone is asynchronous), then its
    /// namespaces close.
    pub fn remove(&mut self, name: &str) {
        if let Some(c) = self.containers.remove(name) {
            kill_netns_members(&c.ns.net);
            if let Err(e) = net::link::delete(&mut self.host, &c.host_veth) {
                tracing::warn!("{e}");
            }
            for p in &c.pipework {
                self.ipam.release(p.addr.addr);
                if let Err(e) = net::link::delete(&mut self.host, &p.host_ifname) {
                    tracing::warn!("{e}");
                }
            }
            if !c.ports.is_empty()
                && let Err(e) = self.apply_firewall()
            {
                tracing::warn!("{e}");
            }
            self.ipam.release(c.ip);
            self.order.retain(|n| n != name);
            self.refresh_summary();
            let _ = std::fs::remove_dir_all(&c.dir);
            tracing::info!(container = %name, "container removed");
        }
    }

    /// The namespaces of a target.
    pub fn namespaces(&self, target: &Target) -> Result<Option<&Namespaces>> {
        match target {
            Target::Host => Ok(None),
            Target::Container(n) => Ok(Some(&self.get(n)?.ns)),
            Target::Node(n) => Ok(Some(&self.node(n)?.ns)),
        }
    }

    pub fn node(&self, name: &str) -> Result<&Node> {
        self.lan
            .as_ref()
            .and_then(|l| l.nodes.get(name))
            .ok_or_else(|| {
                let known: Vec<&str> = self
                    .spec
                    .lan_nodes
                    .iter()
                    .map(|n| n.name.as_str())
                    .collect();
                Error::spec(
                    "--node",
                    name,
                    format!(
                        "lab {:?} has no LAN machine of that name (it has: {})",
                        self.spec.name,
                        if known.is_empty() {
                            "none".to_string()
                        } else {
                            known.join(", ")
                        }
                    ),
                )
            })
    }

    /// `pipework BRIDGE [-i IFNAME] [-l HOSTIF] CONTAINER IP/PREFIX[@GW] [MAC]`: checked in
    /// full, then applied as a [`Plan`] whose steps each carry their undo, so a failure
    /// half-way leaves neither address, bridge nor interface behind.
    pub fn pipework(&mut self, p: PipeworkSpec) -> Result<PipeworkIf> {
        p.validate()?;
        self.get(&p.container)?;
        // An existing interface must be a bridge: the kernel refuses a veth whose master is
        // anything else, in words that do not say so (EOPNOTSUPP for `lo` or the uplink).
        let bridge = net::link::show(&mut self.host, &p.bridge)?;
        if let Some(b) = &bridge
            && b.kind.as_deref() != Some("bridge")
        {
            let what = match &b.kind {
                Some(k) => format!("a {k} interface"),
                None if p.bridge == "lo" => "the loopback interface".to_string(),
                None => "an interface".to_string(),
            };
            return Err(Error::spec(
                "pipework bridge",
                &p.bridge,
                format!(
                    "it is {what} of the lab host, not a bridge; give a bridge (this lab's is {}) or a new name, which pipework creates as a bridge",
                    self.spec.bridge
                ),
            ));
        }
        // The container by its field, so that the lab host's socket stays free to use.
        let c = self
            .containers
            .get(&p.container)
            .ok_or_else(|| Error::UnknownContainer {
                lab: self.spec.name.clone(),
                name: p.container.clone(),
            })?;
        // Opened for the occasion: a socket per container would sit idle for its life.
        let mut inside = nsfd::in_netns(&c.ns.net, Rtnl::open)?;
        let existing: Vec<String> = net::link::list(&mut inside)?
            .into_iter()
            .map(|l| l.name)
            .collect();
        let ifname = match &p.ifname {
            Some(i) if existing.contains(i) => {
                return Err(Error::spec(
                    "-i",
                    i,
                    format!(
                        "container {} already has an interface {i}; pick another name with -i",
                        p.container
                    ),
                ));
            }
            Some(i) => i.clone(),
            None => first_free_ifname(&existing),
        };
        let host_ifname = match &p.host_ifname {
            Some(h) => {
                if net::link::index(&mut self.host, h)?.is_some() {
                    return Err(Error::spec(
                        "-l",
                        h,
                        "the lab host has an interface of that name already; pick another",
                    ));
                }
                h.clone()
            }
            None => {
                let mut salt = 0;
                loop {
                    let n = crate::model::names::pipework_host_ifname(&p.container, &ifname, salt);
                    if net::link::index(&mut self.host, &n)?.is_none() {
                        break n;
                    }
                    salt += 1;
                }
            }
        };
        self.ipam.check_free(p.addr.addr)?;
        // The container's default route now, which a gateway replaces.
        let old_gateway = c
            .pipework
            .iter()
            .rev()
            .find_map(|x| x.gateway)
            .unwrap_or(self.spec.bip.addr);
        let plan = pipework_plan(
            &p,
            &ifname,
            &host_ifname,
            &c.ns.net,
            bridge.is_none(),
            old_gateway,
        );
        let mut ctx = PipeworkCtx {
            host: &mut self.host,
            inside: &mut inside,
            ipam: &mut self.ipam,
            bridges: &mut self.extra_bridges,
        };
        plan.run(&mut ctx)?;
        let mac = match p.mac {
            Some(m) => format_mac(&m),
            None => net::link::show(&mut inside, &ifname)?
                .and_then(|l| l.mac)
                .map(|m| format_mac(&m))
                .unwrap_or_default(),
        };
        tracing::info!(container = %p.container, ifname, addr = %p.addr, bridge = %p.bridge, "pipework interface added");
        let pif = PipeworkIf {
            bridge: p.bridge.clone(),
            ifname,
            host_ifname,
            addr: p.addr,
            gateway: p.gateway,
            mac,
        };
        if let Some(c) = self.containers.get_mut(&p.container) {
            c.pipework.push(pif.clone());
        }
        Ok(pif)
    }

    /// The network namespace of a target.
    pub fn net_fd(&self, target: &Target) -> Result<&OwnedFd> {
        Ok(match self.namespaces(target)? {
            None => &self.host_net,
            Some(ns) => &ns.net,
        })
    }
}

/// What a pipework plan acts on: the lab host's and the container's netlink sockets, the
/// lab's address manager and its list of bridges made by pipework.
pub struct PipeworkCtx<'l> {
    pub host: &'l mut Rtnl,
    pub inside: &'l mut Rtnl,
    pub ipam: &'l mut Ipam,
    pub bridges: &'l mut Vec<String>,
}

/// The steps of a checked pipework request: claim the address; create the bridge if it
/// is new; `ip link add HOSTIF type veth peer name IFNAME netns C [address MAC] master
/// BRIDGE`; in the container `ip addr add` and `ip link set up` (gone with the veth); and
/// `ip route replace default via GW`, whose undo puts the old default back.
pub fn pipework_plan<'a>(
    p: &'a PipeworkSpec,
    ifname: &'a str,
    host_ifname: &'a str,
    container_net: &'a OwnedFd,
    new_bridge: bool,
    old_gateway: Ipv4Addr,
) -> Plan<'a, PipeworkCtx<'a>> {
    let mut plan: Plan<'a, PipeworkCtx<'a>> = Plan::new();
    let owner = format!("pipework {ifname} of container {}", p.container);
    let addr = p.addr;
    plan.step(
        format!("claim {}", addr.addr),
        move |c: &mut PipeworkCtx<'_>| c.ipam.claim(addr.addr, &owner),
        move |c: &mut PipeworkCtx<'_>| {
            c.ipam.release(addr.addr);
            Ok(())
        },
    );
    let bridge = p.bridge.as_str();
    if new_bridge {
        plan.step(
            format!("ip link add {bridge} type bridge"),
            move |c: &mut PipeworkCtx<'_>| {
                c.host.batch(vec![net::link::add_bridge(bridge, None)])?;
                c.bridges.push(bridge.to_string());
                tracing::info!(bridge, "bridge created by pipework");
                Ok(())
            },
            move |c: &mut PipeworkCtx<'_>| {
                c.bridges.retain(|b| b != bridge);
                net::link::delete(c.host, bridge)
            },
        );
    }
    let mac = p.mac;
    plan.step(
        format!("ip link add {host_ifname} type veth peer name {ifname}"),
        move |c: &mut PipeworkCtx<'_>| {
            let master = net::link::index(c.host, bridge)?.ok_or_else(|| gone(bridge))?;
            c.host.batch(vec![net::link::add_veth_into(
                host_ifname,
                ifname,
                container_net,
                mac,
                Some(master),
            )])
        },
        move |c: &mut PipeworkCtx<'_>| net::link::delete(c.host, host_ifname),
    );
    plan.covered_step(
        format!("ip addr add {addr} dev {ifname}; ip link set {ifname} up"),
        move |c: &mut PipeworkCtx<'_>| {
            let idx = net::link::index(c.inside, ifname)?.ok_or_else(|| gone(ifname))?;
            c.inside.batch(vec![
                net::addr::add(idx, addr, ifname),
                net::link::set_up(idx, ifname),
            ])
        },
    );
    if let Some(gw) = p.gateway {
        plan.step(
            format!("ip route replace default via {gw}"),
            move |c: &mut PipeworkCtx<'_>| c.inside.batch(vec![net::route::replace_default(gw)]),
            move |c: &mut PipeworkCtx<'_>| {
                c.inside
                    .batch(vec![net::route::replace_default(old_gateway)])
            },
        );
    }
    plan
}

/// A new container's link variables and its `/etc/hosts` lines for the linked containers.
type LinkResolution = (Vec<(String, String)>, Vec<String>);

fn gone(what: &str) -> Error {
    Error::Io {
        op: format!("ip link show {what}"),
        message: "the interface vanished right after it was made".into(),
    }
}

/// The lab host's ephemeral port range (`net.ipv4.ip_local_port_range`), where `-P` and
/// `-p CONTAINERPORT` take host ports from, like Docker.
fn ephemeral_range() -> (u16, u16) {
    let text =
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").unwrap_or_default();
    let mut it = text
        .split_whitespace()
        .filter_map(|x| x.parse::<u16>().ok());
    match (it.next(), it.next()) {
        (Some(a), Some(b)) if a <= b => (a, b),
        _ => (32768, 60999),
    }
}

fn poisoned() -> Error {
    Error::Io {
        op: "lab state".into(),
        message: "a lock was poisoned by a panic".into(),
    }
}

/// SIGKILLs every process whose network namespace is `net` (the lab's own /proc shows only
/// the lab's processes).
pub fn kill_netns_members(net: &OwnedFd) {
    let Ok(meta) = nix::sys::stat::fstat(net) else {
        return;
    };
    let ino = meta.st_ino;
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return;
    };
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if pid == 1 {
            continue;
        }
        let same = std::fs::metadata(format!("/proc/{pid}/ns/net"))
            .map(|m| std::os::unix::fs::MetadataExt::ino(&m) == ino);
        if same.unwrap_or(false) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
}

/// Starts a container's main process in its namespaces `ns` (`None`: the calling thread is
/// in them already), outside the lab lock when called from `run`, under it for `docker
/// start`.
fn start(reaper: &Reaper, c: &Container, ns: Option<&Namespaces>) -> Result<()> {
    let name = c.spec.name.as_str();
    {
        let run = c.run.lock().map_err(|_| poisoned())?;
        if run.status == ContainerStatus::Running {
            return Err(Error::BadState {
                name: name.into(),
                problem: "is running already".into(),
                fix: "stop it first with `netlab stop`".into(),
            });
        }
    }
    let path = env::lookup(&c.env, "PATH").unwrap_or_default();
    let argv = c.spec.command.argv();
    let program = resolve_program(&argv[0], path)?;
    let mut cmd = Command::new(&program);
    cmd.arg0(&argv[0])
        .args(&argv[1..])
        .env_clear()
        .envs(c.env.iter().cloned());
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let workdir = nsfd::cstring(c.spec.workdir.as_deref().unwrap_or("/"))?;
    {
        let mut r = c.run.lock().map_err(|_| poisoned())?;
        *r = RunState {
            status: ContainerStatus::Running,
            pid: 0,
            exit_code: None,
            started: Some(now()),
            finished: None,
        };
    }
    c.exited.reset();
    let run = c.run.clone();
    let exited = c.exited.clone();
    let cname = name.to_string();
    let spawned = reaper.spawn(
        || {
            let child = spawn_in(cmd, ns, Some(workdir))?;
            let pid = child.id() as i32;
            // Still under the reaper's lock: the exit callback cannot run before this.
            if let Ok(mut r) = c.run.lock() {
                r.pid = pid;
            }
            Ok((pid, child))
        },
        move |code| {
            if let Ok(mut r) = run.lock() {
                r.status = ContainerStatus::Exited;
                r.exit_code = Some(code);
                r.finished = Some(now());
                r.pid = 0;
            }
            tracing::info!(container = %cname, code, "container exited");
            exited.set(code);
        },
    );
    let (pid, mut child) = match spawned {
        Ok(x) => x,
        Err(e) => {
            if let Ok(mut r) = c.run.lock() {
                r.status = ContainerStatus::Exited;
                r.exit_code = Some(127);
                r.finished = Some(now());
            }
            if let Some(w) = bad_workdir(&e) {
                return Err(Error::spec(
                    "--workdir",
                    &w.dir,
                    format!(
                        "{} in container {name}, which sees this machine's files; create it or give another directory with -w",
                        w.problem
                    ),
                ));
            }
            return Err(Error::kernel_io("start", format!("container {name}"), &e));
        }
    };
    if let (Some(out), Some(err)) = (child.stdout.take(), child.stderr.take()) {
        c.logs.attach(out, err);
    }
    tracing::info!(container = %name, pid, "container started");
    Ok(())
}

/// Creates the container's veth from the lab host (`HOST` on the bridge, `eth0` with its
/// MAC in the container, both up) under the first free host-side name; returns that name.
fn add_container_veth(
    host: &mut Rtnl,
    container: &str,
    ns: &Namespaces,
    mac: [u8; 6],
    bridge: u32,
) -> Result<String> {
    let mut salt = 0;
    loop {
        let name = host_veth_name(container, salt);
        let req = net::link::add_veth_into(&name, "eth0", &ns.net, Some(mac), Some(bridge));
        match host.batch(vec![req]) {
            // Another container's veth has that name (names are a hash of the container's).
            Err(e) if e.errno() == Some(libc::EEXIST) && salt < 16 => salt += 1,
            Err(e) => return Err(e),
            Ok(()) => return Ok(name),
        }
    }
}

/// Inside the container, in one batch: `ip link set lo up; ip link set eth0 up; ip addr
/// add IP/PREFIX dev eth0; ip route add default via GW`.
fn wire_inside(ip: Ipv4Addr, bip: Ipv4Net) -> Result<()> {
    let eth0 = nix::net::if_::if_nametoindex("eth0")
        .map_err(|e| Error::kernel("ip link show", "eth0 in the container", e))?;
    let addr = Ipv4Net {
        addr: ip,
        prefix: bip.prefix,
    };
    Rtnl::open()?.batch(vec![
        net::link::set_up(1, "lo"),
        net::link::set_up(eth0, "eth0"),
        net::addr::add(eth0, addr, "eth0"),
        net::route::add_default(bip.addr),
    ])
}

/// `ip link set dev HOST type bridge_slave hairpin on`, from the lab host.
fn set_hairpin(host: &mut Rtnl, veth: &str) -> Result<()> {
    let index = net::link::index(host, veth)?.ok_or_else(|| gone(veth))?;
    host.batch(vec![net::link::set_hairpin(index, veth)])
}
