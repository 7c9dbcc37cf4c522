//! Containers: `run` in three steps (checked and reserved under the lab lock, built
//! without it, recorded under it again), their processes, states, signals and removal.
//!
//! A container is a network, UTS and mount namespace held by the supervisor's fds, with a
//! veth whose `eth0` end is created directly inside it. Dropping a container closes its
//! namespace fds, which removes its veth pair and addresses with it.

use std::cell::RefCell;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;

use super::exit::ExitWatch;
use super::lifecycle::Event;
use super::logs::Logs;
use super::network::Endpoint;
use super::plan::Plan;
use crate::error::{Error, Result};
use crate::model::command::resolve_program;
use crate::model::container::EndpointState;
use crate::model::links::{self, LinkSpec, Linked, hosts_file};
use crate::model::names::host_veth_name;
use crate::model::net::format_mac;
use crate::model::network::Driver;
use crate::model::publish::check_host_ips;
use crate::model::resolv;
use crate::model::user::{self, Ids};
use crate::model::{
    ContainerSpec, ContainerState, ContainerStatus, ExposedPort, Ipv4Net, PipeworkIf, PortBinding,
    env,
};
use crate::net;
use crate::sys::launch;
use crate::sys::nsfd::{self, Namespaces, NsSetup};
use crate::sys::reaper::Reaper;
use crate::sys::rtnl::{Netlink, Rtnl};
use crate::sys::spawn::{bad_workdir, run_as, spawn_in, spawn_in_terminal};
use crate::sys::terminal;

use super::lab::{Lab, STATE_DIR, gone, now, poisoned};

/// The part of a container that changes when its process starts and ends; the reaper
/// thread updates it without taking the lab lock.
#[derive(Debug, Clone, Default)]
pub struct RunState {
    pub status: ContainerStatus,
    pub pid: i32,
    pub exit_code: Option<i32>,
    pub started: Option<u64>,
    pub finished: Option<u64>,
    /// Counts the runs: which run an exit belongs to.
    pub generation: u64,
    /// The last run whose end the lab acted on (`--rm`, `--restart`), so it acts once.
    pub handled: u64,
    /// `stop` (or `rm -f`) ended the run: no restart until the next `start`.
    pub stopped_by_hand: bool,
    /// Restarts by the `--restart` policy (Docker's `RestartCount`).
    pub restart_count: u32,
    /// Restarts since the last `start` or `run`, for `on-failure:N`.
    pub retries: u32,
    /// A restart is due once its wait has passed (Docker's `State.Restarting`).
    pub restarting: bool,
    /// The last wait before a restart, which the next one doubles.
    pub backoff: Option<Duration>,
    /// When the current or last run started.
    pub since: Option<Instant>,
}

pub struct Container {
    pub spec: ContainerSpec,
    pub id: String,
    pub env: Vec<(String, String)>,
    /// Its places on networks, in the order of its interfaces (`eth0` first); none on
    /// `--network none`.
    pub endpoints: Vec<Endpoint>,
    pub created: u64,
    pub ns: Namespaces,
    /// Who its process runs as (`-u`), resolved when it was created.
    pub user: Option<Ids>,
    pub run: Arc<Mutex<RunState>>,
    /// Tells waiters that the current (or last) run ended, with its exit code; a new one
    /// for every run, so a waiter of one run is not confused by the next.
    pub exited: Mutex<ExitWatch>,
    /// The write end of a `-i` container's input when no client gave one: kept open, so
    /// its process waits for input as under Docker instead of reading an end of file.
    pub stdin_hold: Mutex<Option<OwnedFd>>,
    pub logs: Arc<Logs>,
    pub dir: PathBuf,
    pub links: Vec<LinkSpec>,
    /// Exposed ports: `--expose` plus the container ports of `-p`.
    pub expose: Vec<ExposedPort>,
    pub ports: Vec<PortBinding>,
    pub pipework: Vec<PipeworkIf>,
    /// Whether the container holds its addresses on its networks: from its start until
    /// its process ends, as Docker's endpoints (see `endpoint.rs`); the endpoints keep the
    /// last ones they had.
    pub connected: bool,
    /// The embedded DNS's sockets (127.0.0.11:53, UDP and TCP), bound by the container's
    /// own thread while it was built (outside the lab lock), until the lab hands them to
    /// the DNS server.
    pub dns_sockets: Mutex<Option<(std::net::UdpSocket, std::net::TcpListener)>>,
}

impl Container {
    /// Its first interface's address (`eth0`'s), the one links, published ports and
    /// `inspect`'s top level use; unspecified without a network.
    pub fn ip(&self) -> Ipv4Addr {
        self.endpoints
            .first()
            .map(|e| e.ip)
            .unwrap_or(Ipv4Addr::UNSPECIFIED)
    }

    /// Its addresses, one per network, in the order of its interfaces.
    pub fn ips(&self) -> Vec<Ipv4Addr> {
        self.endpoints.iter().map(|e| e.ip).collect()
    }

    /// Its first interface's MAC.
    pub fn mac(&self) -> [u8; 6] {
        self.endpoints.first().map(|e| e.mac).unwrap_or_default()
    }

    /// The lab host's end of its first interface's veth (empty for macvlan or none).
    pub fn host_veth(&self) -> &str {
        self.endpoints
            .first()
            .map(|e| e.host_veth.as_str())
            .unwrap_or("")
    }

    /// What a container linking to this one learns of it (its address of now, or the last).
    pub fn linked(&self) -> Linked<'_> {
        // Legacy links live on the default bridge: its address there.
        let ip = self
            .endpoint(crate::model::network::DEFAULT_NETWORK)
            .map(|e| e.ip)
            .unwrap_or_else(|| self.ip());
        Linked {
            name: &self.spec.name,
            hostname: self.spec.hostname(),
            ip,
            ports: &self.expose,
            env: &self.spec.env,
        }
    }

    /// The waiter of the current (or last) run's end.
    pub fn exit_watch(&self) -> ExitWatch {
        self.exited
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// What a foreground `run` attaches to the first run of its container's process.
pub enum Attached {
    /// `run -i`: the client's input.
    Input(OwnedFd),
    /// `run -t`: the slave end of the client's pseudo-terminal, for all three streams.
    Terminal(OwnedFd),
}

impl std::fmt::Debug for Container {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Container")
            .field("name", &self.spec.name)
            .field("ip", &self.ip())
            .finish()
    }
}

/// What building a container needs from the lab, cloned out of it so that building runs
/// without the lab lock.
#[derive(Clone)]
pub struct Builder {
    pub reaper: Arc<Reaper>,
    /// Where a container's process reports its end (see `lifecycle`).
    pub events: Sender<Event>,
}

/// A `run` that passed step 1.
pub struct Prepared {
    pub spec: ContainerSpec,
    pub env: Vec<(String, String)>,
    /// Its endpoints with their addresses taken, `eth0` first.
    pub endpoints: Vec<Endpoint>,
    /// Its `/etc/hosts` lines before its own: `--add-host`, then the links', as Docker.
    pub hosts_lines: Vec<String>,
    pub user: Option<Ids>,
    pub expose: Vec<ExposedPort>,
    pub ports: Vec<PortBinding>,
    pub builder: Builder,
}

pub(super) fn random_id() -> String {
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
        let attachments = spec.attachments();
        self.check_attachments(&spec, &attachments)?;
        let (link_env, link_hosts) = self.resolve_links(&spec)?;
        let hosts_lines: Vec<String> = spec
            .extra_hosts
            .iter()
            .map(|h| h.line(self.spec.bip.addr))
            .chain(link_hosts)
            .collect();
        let given: Vec<(String, String)> = link_env
            .into_iter()
            .chain(spec.env.iter().cloned())
            .collect();
        let user = spec.user.as_deref().map(resolve_user).transpose()?;
        let mut env = env::compose(&given, spec.hostname());
        if let Some(ids) = &user {
            home_of(&mut env, &spec.env, ids);
        }
        // Docker's `run -t` gives the process TERM=xterm unless it is set.
        if spec.tty && env::lookup(&env, "TERM").is_none() {
            env.push(("TERM".into(), "xterm".into()));
        }
        let path = env::lookup(&env, "PATH").unwrap_or_default().to_string();
        if let Some(p) = spec.command.program() {
            resolve_program(&p, &path)?;
        }
        let expose = spec.exposed_ports();
        if spec.publish.iter().any(|b| b.scope().is_some()) {
            let addrs = net::addr::all_v4(&mut self.host)?;
            check_host_ips(&spec.publish, &addrs)?;
        }
        let ports = self.resolve_ports(&spec)?;
        if !ports.is_empty() {
            self.firewall()?;
        }
        let endpoints = self.plan_endpoints(&spec.name, &attachments, &[])?;
        self.pending.insert(spec.name.clone());
        let builder = Builder {
            reaper: self.reaper.clone(),
            events: self.events.clone(),
        };
        Ok(Prepared {
            spec,
            env,
            endpoints,
            hosts_lines,
            user,
            expose,
            ports,
            builder,
        })
    }

    /// Step 3 of `run`: records the built and started container (and its published ports),
    /// or releases what step 1 reserved when step 2 failed.
    /// Gives back what [`Lab::prepare_run`] reserved, for a run that will not be built.
    pub fn abandon_run(&mut self, prepared: Prepared) {
        self.pending.remove(&prepared.spec.name);
        self.release_endpoints(&prepared.endpoints);
    }

    pub fn finish_run(
        &mut self,
        prepared: Prepared,
        built: Result<Container>,
    ) -> Result<ContainerState> {
        self.pending.remove(&prepared.spec.name);
        let mut c = match built {
            Ok(c) => c,
            Err(e) => {
                self.release_endpoints(&prepared.endpoints);
                return Err(e);
            }
        };
        c.expose = prepared.expose;
        c.ports = prepared.ports;
        let name = c.spec.name.clone();
        let publishes = !c.ports.is_empty();
        // Recorded, then published: the undo of the record (`remove`) also takes its
        // ports out of the firewall table.
        let mut plan: Plan<'_, Lab> = Plan::new();
        let (n1, n2) = (name.clone(), name.clone());
        plan.step(
            format!("record container {name}"),
            move |lab: &mut Lab| {
                lab.order.push(n1.clone());
                lab.containers.insert(n1.clone(), c);
                lab.refresh_summary();
                lab.refresh_dns_of(&n1);
                Ok(())
            },
            move |lab: &mut Lab| {
                lab.remove(&n2);
                Ok(())
            },
        );
        if publishes {
            plan.covered_step(format!("publish the ports of {name}"), |lab: &mut Lab| {
                lab.apply_firewall()
            });
        }
        plan.run(self)?;
        // A process that ended while its container was being built found no container to
        // act on (`--rm`, `--restart`): report its end again now that there is one.
        let ended = self
            .get(&name)?
            .run
            .lock()
            .map(|r| (r.status == ContainerStatus::Exited).then_some(r.generation))
            .map_err(|_| poisoned())?;
        if let Some(generation) = ended {
            let _ = self.events.send(Event::Exited {
                name: name.clone(),
                id: self.get(&name)?.id.clone(),
                generation,
            });
        }
        self.state(&name)
    }

    /// Docker's link variables and hosts lines for every `--link`; each linked container
    /// must exist and run.
    pub(super) fn resolve_links(&self, spec: &ContainerSpec) -> Result<LinkResolution> {
        let (mut env, mut hosts) = (vec![], vec![]);
        // On a user-defined network a link is a DNS name only (see `dns.rs`), and Docker
        // accepts it whether or not the linked container exists.
        for l in spec.links.iter().filter(|_| spec.legacy_links()) {
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
            if target
                .endpoint(crate::model::network::DEFAULT_NETWORK)
                .is_none()
            {
                // Docker: "Cannot link to /db, as it does not belong to the default network".
                return Err(Error::BadState {
                    name: l.name.clone(),
                    problem: format!(
                        "does not belong to the default network, so --link {}:{} cannot reach it (links are the default bridge's)",
                        l.name, l.alias
                    ),
                    fix: format!(
                        "connect it with `netlab network connect bridge {}`, or put both on a user-defined network, where they find each other by name",
                        l.name
                    ),
                });
            }
            let linked = target.linked();
            env.extend(links::link_env(&spec.name, &l.alias, &linked));
            hosts.push(links::hosts_entry(&l.alias, &linked));
        }
        Ok((env, hosts))
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
    pub fn create(p: &Prepared, first: Option<Attached>) -> Result<Container> {
        let (b, spec) = (&p.builder, p.spec.clone());
        let ips: Vec<Ipv4Addr> = p.endpoints.iter().map(|e| e.ip).collect();
        let host_resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
        // Docker's embedded DNS serves the containers of user-defined networks.
        let resolv = if p.endpoints.first().is_some_and(|e| e.view.user) {
            resolv::for_user_network(&host_resolv)
        } else {
            resolv::for_default_bridge(&host_resolv)
        };
        let hairpin = !p.ports.is_empty();
        let dir = PathBuf::from(STATE_DIR).join(&spec.name);
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::io(format!("mkdir {}", dir.display()), &e))?;
        // The container's own /etc/hosts, /etc/hostname and /etc/resolv.conf, as Docker
        // writes them, bind-mounted over the machine's in its mount namespace (a file the
        // machine lacks is left out: a bind mount needs its target).
        let files = [
            ("hosts", hosts_file(&ips, spec.hostname(), &p.hosts_lines)),
            ("hostname", format!("{}\n", spec.hostname())),
            ("resolv.conf", resolv),
        ];
        let mut binds = Vec::with_capacity(files.len());
        for (name, text) in files {
            let target = PathBuf::from("/etc").join(name);
            if name != "hosts" && !target.exists() {
                continue;
            }
            let file = dir.join(name);
            std::fs::write(&file, text)
                .map_err(|e| Error::io(format!("write {}", file.display()), &e))?;
            binds.push((file, target));
        }
        let setup = NsSetup {
            hostname: spec.hostname().to_string(),
            binds,
        };
        // Opened here, in the lab host's namespace, before the thread leaves it.
        let mut host = Rtnl::open()?;
        nsfd::create(&setup, |ns| {
            // This thread is in the container's namespaces now: what it opens and starts
            // lives there.
            let mut inside = Rtnl::open()?;
            let mut c = Container {
                id: random_id(),
                env: p.env.clone(),
                user: p.user.clone(),
                endpoints: p.endpoints.clone(),
                created: now(),
                ns,
                run: Arc::new(Mutex::new(RunState::default())),
                exited: Mutex::new(ExitWatch::default()),
                stdin_hold: Mutex::new(None),
                logs: Arc::new(Logs::default()),
                dir,
                links: spec.links.clone(),
                expose: spec.expose.clone(),
                ports: vec![],
                pipework: vec![],
                connected: true,
                dns_sockets: Mutex::new(None),
                spec,
            };
            // On a user-defined network the embedded DNS serves it: its sockets are bound
            // here, in its namespace, once `lo` is up, not later under the lab lock.
            let dns = c.endpoints.iter().any(|e| e.view.user);
            let veths: Vec<RefCell<String>> = c
                .endpoints
                .iter()
                .map(|_| RefCell::new(String::new()))
                .collect();
            let wiring = Wiring {
                container: &c.spec.name,
                net: &c.ns.net,
                wires: c.endpoints.iter().map(Wire::of).collect(),
                hairpin,
            };
            let plan = wiring_plan(&wiring, &veths, || {
                if dns {
                    let bound = crate::dns::DnsServer::bind(&c.spec.name)?;
                    *c.dns_sockets.lock().map_err(|_| poisoned())? = Some(bound);
                }
                start(&b.reaper, &b.events, &c, None, first, false)
            });
            plan.run(&mut WiringCtx {
                host: &mut host,
                inside: &mut inside,
            })?;
            for (e, v) in c.endpoints.iter_mut().zip(veths) {
                e.host_veth = v.into_inner();
            }
            tracing::info!(container = %c.spec.name, ip = %c.ip(), veth = %c.host_veth(), "container up");
            Ok(c)
        })
    }

    /// Starts the container's main process (`docker start`), with an address again (see
    /// `endpoint.rs`).
    pub fn start(&mut self, name: &str) -> Result<()> {
        self.refresh_link_env(name)?;
        self.reconnect(name)?;
        let c = self.get(name)?;
        let started = start(&self.reaper, &self.events, c, Some(&c.ns), None, false);
        if started.is_err() {
            let _ = self.disconnect_ended(name);
        }
        started
    }

    /// `stop` (or `rm -f`) is ending the container's run, or it has ended already: no
    /// `--restart` until the next `start`, as with Docker.
    pub fn mark_stopped(&self, name: &str) -> Result<()> {
        self.get(name)?
            .run
            .lock()
            .map_err(|_| poisoned())
            .map(|mut r| {
                r.stopped_by_hand = true;
                r.restarting = false;
            })
    }

    /// Removes container `name` if it is still the one with this `id` (a foreground
    /// `run --rm` once its process ended; `--rm` may have removed it already).
    pub fn remove_if(&mut self, name: &str, id: &str) {
        if self.containers.get(name).is_some_and(|c| c.id == id) {
            self.remove(name);
        }
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
            restart_count: r.restart_count,
            restarting: r.restarting,
            restart_policy: c.spec.restart,
            auto_remove: c.spec.auto_remove,
            network_mode: c.spec.network_mode().to_string(),
            none_network_id: (c.spec.network_mode() == crate::model::network::NONE_NETWORK)
                .then(|| self.network_id(crate::model::network::NONE_NETWORK)),
            ip: c.ip(),
            connected: c.connected && r.status == ContainerStatus::Running,
            prefix: c.endpoints.first().map(|e| e.view.prefix).unwrap_or(0),
            gateway: c
                .endpoints
                .first()
                .and_then(|e| e.view.gateway)
                .unwrap_or(Ipv4Addr::UNSPECIFIED),
            mac: format_mac(&c.mac()),
            host_veth: c.host_veth().to_string(),
            created: c.created,
            started: r.started,
            finished: r.finished,
            links: c.links.clone(),
            ports: c.ports.clone(),
            pipework: c.pipework.clone(),
            faults: self.faults_on(name),
            networks: c
                .endpoints
                .iter()
                .map(|e| EndpointState {
                    network: e.network.clone(),
                    network_id: self.network_id(&e.network),
                    ifname: e.ifname.clone(),
                    ip: e.ip,
                    prefix: e.view.prefix,
                    gateway: e.view.gateway,
                    ip6: e.ip6,
                    prefix6: e.view.prefix6,
                    gateway6: e.view.gateway6,
                    mac: format_mac(&e.mac),
                    host_veth: e.host_veth.clone(),
                    aliases: e.want.aliases.clone(),
                    static_ip: e.want.ip,
                    static_ip6: e.want.ip6,
                })
                .collect(),
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
        Ok(self.get(name)?.exit_watch())
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
        if self.containers.contains_key(name) {
            self.heal_faults_of(name);
        }
        if let Some(c) = self.containers.remove(name) {
            kill_netns_members(&c.ns.net);
            for e in c.endpoints.iter().filter(|e| !e.host_veth.is_empty()) {
                if let Err(e) = net::link::delete(&mut self.host, &e.host_veth) {
                    tracing::warn!("{e}");
                }
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
            if c.connected {
                self.release_endpoints(&c.endpoints);
            }
            self.order.retain(|n| n != name);
            self.forget_dns_container(name, &c);
            self.refresh_summary();
            let _ = std::fs::remove_dir_all(&c.dir);
            tracing::info!(container = %name, "container removed");
        }
    }
}

/// A new container's link variables and its `/etc/hosts` lines for the linked containers.
type LinkResolution = (Vec<(String, String)>, Vec<String>);

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

/// `--restart` starts the container's process again (under the lab lock).
pub(super) fn start_by_policy(lab: &Lab, c: &Container) -> Result<()> {
    start(&lab.reaper, &lab.events, c, Some(&c.ns), None, true)
}

/// Starts a container's main process in its namespaces `ns` (`None`: the calling thread is
/// in them already), outside the lab lock when called from `run`, under it for `docker
/// start` and restarts. `first` is what a foreground `run` attaches to the first run;
/// otherwise its streams are the spec's: a pseudo-terminal the lab makes with `-t`, an
/// input held open with `-i`, the logs for the output. `by_policy` says that `--restart`
/// starts it again (counted), not a person (who resets the count of retries).
///
/// A start that fails leaves the run ended with Docker's exit code for the failure, so
/// `--restart` acts on it like on any other end.
fn start(
    reaper: &Reaper,
    events: &Sender<Event>,
    c: &Container,
    ns: Option<&Namespaces>,
    first: Option<Attached>,
    by_policy: bool,
) -> Result<()> {
    let generation = {
        let mut r = c.run.lock().map_err(|_| poisoned())?;
        if r.status == ContainerStatus::Running {
            return Err(Error::BadState {
                name: c.spec.name.clone(),
                problem: "is running already".into(),
                fix: "stop it first with `netlab stop`".into(),
            });
        }
        if by_policy {
            r.restart_count += 1;
            r.retries += 1;
        } else {
            r.stopped_by_hand = false;
            r.retries = 0;
            r.backoff = None;
        }
        r.generation += 1;
        r.restarting = false;
        r.status = ContainerStatus::Running;
        r.pid = 0;
        r.exit_code = None;
        r.started = Some(now());
        r.finished = None;
        r.since = Some(Instant::now());
        r.generation
    };
    let watch = ExitWatch::default();
    *c.exited.lock().map_err(|_| poisoned())? = watch.clone();
    let started = spawn_main(reaper, events, c, ns, first, generation, watch.clone());
    if let Err(e) = &started {
        let code = match e {
            Error::CommandNotFound { .. } => 127,
            Error::CommandNotExecutable { .. } => 126,
            _ => 125,
        };
        if let Ok(mut r) = c.run.lock() {
            r.status = ContainerStatus::Exited;
            r.exit_code = Some(code);
            r.finished = Some(now());
        }
        watch.set(code);
    }
    started
}

/// [`start`]'s work: the process with its streams, its end reported to the run state, its
/// waiters and the lab's `lifecycle`.
fn spawn_main(
    reaper: &Reaper,
    events: &Sender<Event>,
    c: &Container,
    ns: Option<&Namespaces>,
    first: Option<Attached>,
    generation: u64,
    exited: ExitWatch,
) -> Result<()> {
    let name = c.spec.name.as_str();
    let path = env::lookup(&c.env, "PATH").unwrap_or_default();
    let argv = c.spec.command.argv();
    let program = resolve_program(&argv[0], path)?;
    let mut cmd = Command::new(&program);
    cmd.arg0(&argv[0])
        .args(&argv[1..])
        .env_clear()
        .envs(c.env.iter().cloned());
    let dup = |fd: &OwnedFd| {
        fd.try_clone()
            .map_err(|e| Error::kernel_io("dup", "a terminal", &e))
    };
    // The streams: a terminal (the client's, or one whose master end feeds the logs), or
    // pipes to the logs with the client's input, an input held open, or none.
    let mut log_terminal = None;
    let mut hold = None;
    let terminal = match first {
        Some(Attached::Terminal(slave)) => Some(slave),
        Some(Attached::Input(fd)) => {
            cmd.stdin(fd);
            None
        }
        None if c.spec.tty => {
            let pty = terminal::open_pty(None)?;
            log_terminal = Some(pty.master);
            Some(pty.slave)
        }
        None if c.spec.interactive => {
            let (r, w) = launch::pipe()?;
            cmd.stdin(r);
            hold = Some(w);
            None
        }
        None => {
            cmd.stdin(Stdio::null());
            None
        }
    };
    let on_terminal = terminal.is_some();
    match terminal {
        Some(slave) => {
            cmd.stdin(dup(&slave)?).stdout(dup(&slave)?).stderr(slave);
        }
        None => {
            cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        }
    }
    if let Some(u) = &c.user {
        run_as(&mut cmd, u.uid, u.gid, u.groups.clone());
    }
    let workdir = nsfd::cstring(c.spec.workdir.as_deref().unwrap_or("/"))?;
    let run = c.run.clone();
    let events = events.clone();
    let (cname, id) = (name.to_string(), c.id.clone());
    let spawned = reaper.spawn(
        || {
            let child = match on_terminal {
                true => spawn_in_terminal(cmd, ns, Some(workdir))?,
                false => spawn_in(cmd, ns, Some(workdir))?,
            };
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
            // On the reaper's thread, which must not wait for the lab lock: the lab's
            // lifecycle thread acts on it. Reported before the waiters hear of the end,
            // so that whoever waited (`stop`) knows the report is on its way.
            let _ = events.send(Event::Exited {
                name: cname,
                id,
                generation,
            });
            exited.set(code);
        },
    );
    let (pid, mut child) = match spawned {
        Ok(x) => x,
        Err(e) => {
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
            return Err(exec_failure(&e, &argv[0], path)
                .unwrap_or_else(|| Error::kernel_io("start", format!("container {name}"), &e)));
        }
    };
    if let (Some(out), Some(err)) = (child.stdout.take(), child.stderr.take()) {
        c.logs.attach(out, err);
    }
    if let Some(master) = log_terminal {
        c.logs.attach_terminal(master);
    }
    *c.stdin_hold.lock().map_err(|_| poisoned())? = hold;
    tracing::info!(container = %name, pid, "container started");
    Ok(())
}

/// Resolves `-u USER[:GROUP]` against the lab's `/etc/passwd` and `/etc/group` (this
/// machine's, which containers share) and the ids the lab's user namespace maps.
pub(super) fn resolve_user(spec: &str) -> Result<Ids> {
    let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
    let ids = user::resolve(spec, &read("/etc/passwd"), &read("/etc/group"))?;
    user::check_mapped(
        spec,
        &ids,
        &read("/proc/self/uid_map"),
        &read("/proc/self/gid_map"),
    )?;
    Ok(ids)
}

/// Sets `HOME` to the home of the user a process runs as, unless it was given (`given`
/// are the variables set explicitly), as Docker's runtime does.
pub(super) fn home_of(env: &mut Vec<(String, String)>, given: &[(String, String)], ids: &Ids) {
    if given.iter().any(|(k, _)| k == "HOME") {
        return;
    }
    match env.iter_mut().find(|(k, _)| k == "HOME") {
        Some(e) => e.1 = ids.home.clone(),
        None => env.push(("HOME".into(), ids.home.clone())),
    }
}

/// The error of a spawn whose `execve` failed for a reason Docker reports with an exit
/// code of its own: 126 for a program that cannot be executed, 127 for one not there
/// (e.g. a script whose interpreter is missing); `None` for any other failure.
pub(super) fn exec_failure(e: &std::io::Error, program: &str, path: &str) -> Option<Error> {
    match e.raw_os_error()? {
        libc::EACCES | libc::ENOEXEC | libc::EISDIR | libc::ETXTBSY => {
            Some(Error::CommandNotExecutable {
                command: program.into(),
                problem: std::io::Error::from_raw_os_error(e.raw_os_error()?).to_string(),
            })
        }
        libc::ENOENT => Some(Error::CommandNotFound {
            command: program.into(),
            path: path.into(),
        }),
        _ => None,
    }
}

/// One interface to wire: a veth into a bridge, or a macvlan device of a parent.
#[derive(Debug, Clone)]
pub struct Wire {
    pub ifname: String,
    pub mac: [u8; 6],
    pub driver: Driver,
    /// The bridge's index on the lab host, or the macvlan parent's.
    pub link: u32,
    pub addr: Ipv4Net,
    pub gateway: Option<Ipv4Addr>,
    pub addr6: Option<(Ipv6Addr, u8)>,
    pub gateway6: Option<Ipv6Addr>,
}

impl Wire {
    /// The wire of an endpoint whose addresses are taken.
    pub fn of(e: &Endpoint) -> Wire {
        Wire {
            ifname: e.ifname.clone(),
            mac: e.mac,
            driver: e.view.driver,
            link: e.view.link,
            addr: Ipv4Net {
                addr: e.ip,
                prefix: e.view.prefix,
            },
            gateway: e.view.gateway,
            addr6: e.ip6.map(|a| (a, e.view.prefix6)),
            gateway6: e.view.gateway6,
        }
    }
}

/// What wiring a new container takes: its interfaces (`eth0` first) and whether its
/// first veth needs hairpin mode.
pub struct Wiring<'a> {
    pub container: &'a str,
    /// The container's network namespace, where the interfaces are created.
    pub net: &'a OwnedFd,
    pub wires: Vec<Wire>,
    pub hairpin: bool,
}

/// The lab host's and the container's netlink sockets, which a wiring plan acts on.
pub struct WiringCtx<'l> {
    pub host: &'l mut dyn Netlink,
    pub inside: &'l mut dyn Netlink,
}

/// `ip link add HOST type veth peer name ethN netns C address MAC; ip link set HOST master
/// BRIDGE up` from the lab host for a bridge network, under the first free host-side name
/// (written to `veth`); `ip link add link PARENT name ethN netns C address MAC type
/// macvlan mode bridge` for a macvlan one. Deleting the host end (or the macvlan device
/// inside) takes it back.
pub fn add_link_step<'a, C: 'a>(
    plan: &mut Plan<'a, C>,
    container: &'a str,
    net: &'a OwnedFd,
    w: Wire,
    veth: &'a RefCell<String>,
    sockets: impl Fn(&mut C) -> (&mut dyn Netlink, &mut dyn Netlink) + Copy + 'a,
) {
    let ifname = w.ifname.clone();
    plan.step(
        format!("ip link add {} for {container}", w.ifname),
        move |c: &mut C| {
            let (host, _) = sockets(c);
            if w.driver == Driver::Macvlan {
                return host.batch(vec![net::link::add_macvlan_into(
                    &w.ifname, w.link, net, w.mac,
                )]);
            }
            let mut salt = 0;
            loop {
                let name = if w.ifname == "eth0" {
                    host_veth_name(container, salt)
                } else {
                    crate::model::names::pipework_host_ifname(container, &w.ifname, salt)
                };
                let req =
                    net::link::add_veth_into(&name, &w.ifname, net, Some(w.mac), Some(w.link));
                match host.batch(vec![req]) {
                    // Another container's veth has that name (names are a hash of the
                    // container's).
                    Err(e) if e.errno() == Some(libc::EEXIST) && salt < 16 => salt += 1,
                    Err(e) => return Err(e),
                    Ok(()) => {
                        *veth.borrow_mut() = name;
                        return Ok(());
                    }
                }
            }
        },
        move |c: &mut C| {
            let (host, inside) = sockets(c);
            if veth.borrow().is_empty() {
                net::link::delete(inside, &ifname)
            } else {
                net::link::delete(host, &veth.borrow())
            }
        },
    );
}

/// The requests that address and route the interfaces inside the container: `ip link set
/// lo up`, each interface up with its addresses, and the default routes of the first
/// interfaces that offer a gateway (IPv4 and IPv6 apart). IPv6 is switched on for the
/// interfaces that have an IPv6 address (sysctl; new interfaces start without it).
pub fn inside_requests(
    nl: &mut dyn Netlink,
    wires: &[Wire],
    lo: bool,
) -> Result<Vec<crate::sys::rtnl::Request>> {
    let mut reqs = vec![];
    if lo {
        reqs.push(net::link::set_up(1, "lo"));
    }
    for w in wires {
        let index = net::link::index(nl, &w.ifname)?.ok_or_else(|| gone(&w.ifname))?;
        if w.addr6.is_some() {
            super::network::ipv6_on(&w.ifname)?;
        }
        reqs.push(net::link::set_up(index, &w.ifname));
        reqs.push(net::addr::add(index, w.addr, &w.ifname));
        if let Some((a6, p6)) = w.addr6 {
            reqs.push(net::addr::add6(index, a6, p6, &w.ifname));
        }
    }
    if let Some(gw) = wires.iter().find_map(|w| w.gateway) {
        reqs.push(net::route::add_default(gw));
    }
    if let Some(gw6) = wires.iter().find_map(|w| w.gateway6) {
        reqs.push(net::route::add_default6(gw6));
    }
    Ok(reqs)
}

/// A new container's bring-up as a [`Plan`]: each interface's link ([`add_link_step`]),
/// then inside, in one batch, [`inside_requests`]; bridge hairpin mode on the host end of
/// the first veth of a container that publishes ports (only such a container can send
/// traffic that comes back by its own bridge port, to itself through a published port);
/// and `start`. Deleting the links takes all of it back (the namespaces go when the
/// container is dropped).
pub fn wiring_plan<'a>(
    w: &'a Wiring<'a>,
    veths: &'a [RefCell<String>],
    start: impl FnOnce() -> Result<()> + 'a,
) -> Plan<'a, WiringCtx<'a>> {
    let mut plan: Plan<'a, WiringCtx<'a>> = Plan::new();
    for (wire, veth) in w.wires.iter().zip(veths) {
        add_link_step(
            &mut plan,
            w.container,
            w.net,
            wire.clone(),
            veth,
            |c: &mut WiringCtx<'_>| (&mut *c.host, &mut *c.inside),
        );
    }
    plan.covered_step(
        "wire the interfaces inside",
        move |c: &mut WiringCtx<'_>| {
            let reqs = inside_requests(c.inside, &w.wires, true)?;
            c.inside.batch(reqs)
        },
    );
    if w.hairpin
        && let Some(veth) = veths.first()
    {
        plan.covered_step("hairpin on", move |c: &mut WiringCtx<'_>| {
            let name = veth.borrow().clone();
            if name.is_empty() {
                return Ok(());
            }
            let index = net::link::index(c.host, &name)?.ok_or_else(|| gone(&name))?;
            c.host.batch(vec![net::link::set_hairpin(index, &name)])
        });
    }
    plan.covered_step("start the process", move |_: &mut WiringCtx<'_>| start());
    plan
}

#[cfg(test)]
mod tests {
    use std::cell::{Cell, RefCell};
    use std::rc::Rc;

    use super::*;
    use crate::supervisor::fake::{FakeKernel, NsState};

    fn kernel() -> Rc<RefCell<FakeKernel>> {
        FakeKernel::lab(NsState::default())
    }

    /// Runs the wiring of a container that publishes ports (so with hairpin mode), the
    /// kernel failing request `fail_at` and the start failing when `start_fails`.
    fn run(
        fail_at: Option<usize>,
        start_fails: bool,
    ) -> (Result<()>, Rc<RefCell<FakeKernel>>, bool) {
        let k = kernel();
        k.borrow_mut().fail_at = fail_at;
        let (mut host, mut inside) = FakeKernel::sockets(&k);
        let fd = OwnedFd::from(std::fs::File::open("/dev/null").unwrap());
        let w = Wiring {
            container: "web",
            net: &fd,
            wires: vec![Wire {
                ifname: "eth0".into(),
                mac: crate::model::net::docker_mac(Ipv4Addr::new(172, 17, 0, 2)),
                driver: Driver::Bridge,
                link: 1,
                addr: "172.17.0.2/16".parse().unwrap(),
                gateway: Some(Ipv4Addr::new(172, 17, 0, 1)),
                addr6: None,
                gateway6: None,
            }],
            hairpin: true,
        };
        let veth = [RefCell::new(String::new())];
        let started = Cell::new(false);
        let result = wiring_plan(&w, &veth, || {
            if start_fails {
                return Err(Error::Io {
                    op: "start".into(),
                    message: "injected failure".into(),
                });
            }
            started.set(true);
            Ok(())
        })
        .run(&mut WiringCtx {
            host: &mut host,
            inside: &mut inside,
        });
        (result, k, started.get())
    }

    #[test]
    fn the_wiring_makes_the_veth_and_eth0_then_starts() {
        let (result, k, started) = run(None, false);
        result.unwrap();
        assert!(started);
        let k = k.borrow();
        assert_eq!(k.ns["host"].links.len(), 2, "{:?}", k.ns["host"]);
        assert_eq!(k.ns["inside"].links["eth0"], ["172.17.0.2/16 dev eth0"]);
        assert_eq!(
            k.ns["inside"].default_gw,
            Some(Ipv4Addr::new(172, 17, 0, 1))
        );
    }

    /// A failure of any kernel request, or of the start, leaves no veth behind.
    #[test]
    fn a_failure_at_every_step_leaves_no_veth() {
        let (_, k, _) = run(None, false);
        let total = k.borrow().requests.len();
        assert!(total >= 7, "{:?}", k.borrow().requests);
        let links_before = kernel().borrow().ns["host"].links.clone();
        let cases = (0..total).map(|n| (Some(n), false)).chain([(None, true)]);
        for (fail_at, start_fails) in cases {
            let (result, k, started) = run(fail_at, start_fails);
            let k = k.borrow();
            assert!(result.is_err() && !started, "{fail_at:?}: {:?}", k.requests);
            assert_eq!(
                k.ns["host"].links, links_before,
                "{fail_at:?}: {:?}",
                k.requests
            );
            assert!(
                k.ns["inside"].links.is_empty(),
                "{fail_at:?}: {:?}",
                k.requests
            );
        }
    }
}
