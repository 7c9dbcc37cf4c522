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
use tokio::sync::watch;

use super::logs::Logs;
use crate::error::{Error, Result};
use crate::model::command::resolve_program;
use crate::model::names::host_veth_name;
use crate::model::net::{docker_mac, format_mac};
use crate::model::{ContainerSpec, ContainerState, ContainerStatus, Ipam, Ipv4Net, LabSpec, env};
use crate::net;
use crate::proto::{LabInfo, Target};
use crate::sys::nsfd::{self, Namespaces, NsSetup};
use crate::sys::reaper::Reaper;
use crate::sys::spawn::spawn_in;
use crate::sys::{netlink, sysctl};

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
    pub netlink: rtnetlink::Handle,
    pub run: Arc<Mutex<RunState>>,
    /// Tells waiters that the process ended (the value is the run's exit code).
    pub exited: watch::Sender<Option<i32>>,
    pub logs: Arc<Logs>,
    pub dir: PathBuf,
}

impl std::fmt::Debug for Container {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Container")
            .field("name", &self.spec.name)
            .field("ip", &self.ip)
            .finish()
    }
}

pub struct Lab {
    pub spec: LabSpec,
    pub host: rtnetlink::Handle,
    pub host_net: OwnedFd,
    pub bridge_index: u32,
    pub ipam: Ipam,
    pub containers: BTreeMap<String, Container>,
    /// Creation order, which is the order `ps` and teardown use.
    pub order: Vec<String>,
    pub owned: bool,
    pub reaper: Arc<Reaper>,
    pub rt: tokio::runtime::Handle,
    /// Distinguishes veth names if two container names ever hash alike.
    salt: u32,
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
    pub async fn build(spec: LabSpec, reaper: Arc<Reaper>, owned: bool) -> Result<Lab> {
        spec.validate()?;
        let rt = tokio::runtime::Handle::current();
        let host = netlink::open(&rt)?;
        net::link::set_up(&host, 1, "lo").await?;
        let bridge_index = net::link::add_bridge(&host, &spec.bridge).await?;
        net::addr::add(&host, bridge_index, spec.bip, &spec.bridge).await?;
        sysctl::set("net.ipv4.ip_forward", "1")?;
        std::fs::create_dir_all(STATE_DIR)
            .map_err(|e| Error::io(format!("mkdir {STATE_DIR}"), &e))?;
        tracing::info!(lab = %spec.name, bridge = %spec.bridge, bip = %spec.bip, "lab host ready");
        Ok(Lab {
            ipam: Ipam::new(&spec),
            host_net: nsfd::current_net()?,
            spec,
            host,
            bridge_index,
            containers: BTreeMap::new(),
            order: Vec::new(),
            owned,
            reaper,
            rt,
            salt: 0,
        })
    }

    pub fn info(&self) -> LabInfo {
        let running = self
            .containers
            .values()
            .filter(|c| {
                c.run
                    .lock()
                    .map(|r| r.status == ContainerStatus::Running)
                    .unwrap_or(false)
            })
            .count();
        LabInfo {
            spec: self.spec.clone(),
            containers: self.containers.len(),
            running,
            owned: self.owned,
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
    pub async fn run(&mut self, spec: ContainerSpec) -> Result<ContainerState> {
        spec.validate()?;
        if self.containers.contains_key(&spec.name) {
            return Err(Error::DuplicateName {
                lab: self.spec.name.clone(),
                name: spec.name.clone(),
            });
        }
        let env = env::compose(&spec.env, spec.hostname());
        let path = env::lookup(&env, "PATH").unwrap_or_default().to_string();
        if let Some(p) = spec.command.program() {
            resolve_program(&p, &path)?;
        }
        let ip = self.ipam.allocate(&format!("container {}", spec.name))?;
        match self.create(spec, env, ip).await {
            Ok(c) => {
                let name = c.spec.name.clone();
                self.order.push(name.clone());
                self.containers.insert(name.clone(), c);
                let started = self.start(&name);
                if let Err(e) = started {
                    self.remove(&name).await;
                    return Err(e);
                }
                self.state(&name)
            }
            Err(e) => {
                self.ipam.release(ip);
                Err(e)
            }
        }
    }

    async fn create(
        &mut self,
        spec: ContainerSpec,
        env: Vec<(String, String)>,
        ip: Ipv4Addr,
    ) -> Result<Container> {
        let dir = PathBuf::from(STATE_DIR).join(&spec.name);
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::io(format!("mkdir {}", dir.display()), &e))?;
        let hosts = dir.join("hosts");
        std::fs::write(&hosts, hosts_file(ip, spec.hostname()))
            .map_err(|e| Error::io("write hosts file", &e))?;
        let setup = NsSetup {
            hostname: spec.hostname().to_string(),
            binds: vec![(hosts, PathBuf::from("/etc/hosts"))],
        };
        let rt = self.rt.clone();
        let (ns, nl) = nsfd::create(&setup, || netlink::open(&rt))?;
        let mut host_veth = host_veth_name(&spec.name, self.salt);
        while net::link::index(&self.host, &host_veth).await?.is_some() {
            self.salt += 1;
            host_veth = host_veth_name(&spec.name, self.salt);
        }
        let mac = docker_mac(ip);
        net::link::add_veth_into(
            &self.host,
            &host_veth,
            "eth0",
            &ns.net,
            Some(mac),
            Some(self.bridge_index),
        )
        .await?;
        // Inside the container: `ip link set lo up; ip link set eth0 up;
        // ip addr add IP/PREFIX dev eth0; ip route add default via BRIDGE-IP`.
        net::link::set_up(&nl, 1, "lo").await?;
        let eth0 = net::link::index(&nl, "eth0")
            .await?
            .ok_or_else(|| Error::Io {
                op: "ip link show eth0".into(),
                message: "the container's eth0 did not appear".into(),
            })?;
        net::link::set_up(&nl, eth0, "eth0").await?;
        net::addr::add(
            &nl,
            eth0,
            Ipv4Net {
                addr: ip,
                prefix: self.spec.bip.prefix,
            },
            "eth0",
        )
        .await?;
        net::route::add_default(&nl, self.spec.bip.addr).await?;
        let (exited, _) = watch::channel(None);
        tracing::info!(container = %spec.name, %ip, veth = %host_veth, "container network ready");
        Ok(Container {
            id: random_id(),
            env,
            ip,
            mac,
            host_veth,
            created: now(),
            ns,
            netlink: nl,
            run: Arc::new(Mutex::new(RunState {
                status: ContainerStatus::Created,
                pid: 0,
                exit_code: None,
                started: None,
                finished: None,
            })),
            exited,
            logs: Arc::new(Logs::default()),
            dir,
            spec,
        })
    }

    /// Starts the container's main process (`docker start`).
    pub fn start(&self, name: &str) -> Result<()> {
        let c = self.get(name)?;
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
        c.exited.send_replace(None);
        let run = c.run.clone();
        let exited = c.exited.clone();
        let cname = name.to_string();
        let spawned = self.reaper.spawn(
            || {
                let child = spawn_in(cmd, Some(&c.ns), Some(workdir))?;
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
                exited.send_replace(Some(code));
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
                return Err(Error::kernel_io("start", format!("container {name}"), &e));
            }
        };
        if let (Some(out), Some(err)) = (child.stdout.take(), child.stderr.take()) {
            c.logs.attach(out, err);
        }
        tracing::info!(container = %name, pid, "container started");
        Ok(())
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
            expose: c.spec.expose.clone(),
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
    pub fn exit_watch(&self, name: &str) -> Result<watch::Receiver<Option<i32>>> {
        Ok(self.get(name)?.exited.subscribe())
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
    pub async fn remove(&mut self, name: &str) {
        if let Some(c) = self.containers.remove(name) {
            kill_netns_members(&c.ns.net);
            match net::link::index(&self.host, &c.host_veth).await {
                Ok(Some(i)) => {
                    if let Err(e) = net::link::del(&self.host, i, &c.host_veth).await {
                        tracing::warn!("{e}");
                    }
                }
                Ok(None) => {}
                Err(e) => tracing::warn!("{e}"),
            }
            self.ipam.release(c.ip);
            self.order.retain(|n| n != name);
            let _ = std::fs::remove_dir_all(&c.dir);
            tracing::info!(container = %name, "container removed");
        }
    }

    /// The namespaces of a target.
    pub fn namespaces(&self, target: &Target) -> Result<Option<&Namespaces>> {
        match target {
            Target::Host => Ok(None),
            Target::Container(n) => Ok(Some(&self.get(n)?.ns)),
        }
    }

    pub fn net_fd(&self, target: &Target) -> Result<&OwnedFd> {
        Ok(match self.namespaces(target)? {
            None => &self.host_net,
            Some(ns) => &ns.net,
        })
    }
}

fn poisoned() -> Error {
    Error::Io {
        op: "lab state".into(),
        message: "a lock was poisoned by a panic".into(),
    }
}

/// Docker's /etc/hosts of a container without links.
pub fn hosts_file(ip: Ipv4Addr, hostname: &str) -> String {
    format!(
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n{ip}\t{hostname}\n"
    )
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
