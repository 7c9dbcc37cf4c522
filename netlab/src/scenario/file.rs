//! The scenario file format and its validation.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::network::{RawAttachment, RawNetwork, attachments_of, check_links, networks_of};
use crate::error::{Error, Result};
use crate::model::fault::{self, FaultKind, FaultSpec, Impair};
use crate::model::links::LinkSpec;
use crate::model::network::NetworkSpec;
use crate::model::pipework::{PipeworkSpec, parse_address, parse_mac};
use crate::model::{
    CommandSpec, ContainerSpec, Ipv4Net, LabSpec, LanNode, Uplink, env, limits, port::parse_expose,
    publish::parse_publish,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    lab: RawLab,
    #[serde(default)]
    container: Vec<RawContainer>,
    #[serde(default)]
    pipework: Vec<RawPipework>,
    #[serde(default)]
    fault: Vec<Spanned<RawFault>>,
    #[serde(default)]
    network: Vec<Spanned<RawNetwork>>,
}

/// A `[[fault]]`, in the CLI's words: an impairment (`delay`, `loss`, ... of a
/// `container`), a `partition = [[A, B], [C]]`, or `link = "down"` / `"flap"`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawFault {
    name: Option<Spanned<String>>,
    container: Option<Spanned<String>>,
    interface: Option<Spanned<String>>,
    #[serde(default)]
    to: Vec<Spanned<String>>,
    direction: Option<Spanned<String>>,
    delay: Option<Spanned<String>>,
    jitter: Option<Spanned<String>>,
    distribution: Option<Spanned<String>>,
    loss: Option<Spanned<String>>,
    burst: Option<Spanned<f64>>,
    duplicate: Option<Spanned<String>>,
    reorder: Option<Spanned<String>>,
    corrupt: Option<Spanned<String>>,
    rate: Option<Spanned<String>>,
    limit: Option<Spanned<u32>>,
    partition: Option<Spanned<Vec<Vec<String>>>>,
    #[serde(default)]
    one_way: bool,
    link: Option<Spanned<String>>,
    period: Option<Spanned<String>>,
    #[serde(rename = "for")]
    duration: Option<Spanned<String>>,
    seed: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawLab {
    name: Option<Spanned<String>>,
    bridge: Option<Spanned<String>>,
    bip: Option<Spanned<String>>,
    ip_range: Option<Spanned<String>>,
    uplink: Option<Spanned<String>>,
    #[serde(default)]
    lan_nodes: Vec<Spanned<String>>,
    #[serde(default)]
    attach_uplink: bool,
    #[serde(default)]
    path: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawContainer {
    name: Spanned<String>,
    service: Option<Spanned<String>>,
    /// A string or a list of strings; read as any value so that a wrong type gets a message
    /// that says what to write (serde's untagged enums only say "did not match").
    command: Option<Spanned<toml::Value>>,
    hostname: Option<Spanned<String>>,
    workdir: Option<Spanned<String>>,
    #[serde(default)]
    env: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    expose: Vec<Spanned<String>>,
    #[serde(default)]
    links: Vec<Spanned<String>>,
    #[serde(default)]
    publish: Vec<Spanned<String>>,
    #[serde(default)]
    publish_all: bool,
    ready: Option<Spanned<RawReady>>,
    /// `run --network` for each entry: a name, or `{ name, aliases, ip, ip6 }`.
    #[serde(default)]
    networks: Vec<Spanned<RawAttachment>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawReady {
    tcp: Option<Spanned<u64>>,
    http: Option<Spanned<u64>>,
    path: Option<String>,
    status: Option<Spanned<u64>>,
    timeout: Option<Spanned<u64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawPipework {
    bridge: Spanned<String>,
    interface: Option<Spanned<String>>,
    host_interface: Option<Spanned<String>>,
    container: Spanned<String>,
    address: Spanned<String>,
    mac: Option<Spanned<String>>,
}

/// A built-in kind of container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// The MongoDB-compatible server that `scripts/mongo-server` finds or builds,
    /// listening on 27017 with its data in the container's private `/dev/shm`.
    Mongo,
}

/// When a container counts as up: a TCP port accepts, or an HTTP GET answers `status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ready {
    /// The container's port to try, from the lab host.
    pub port: u16,
    /// With a path, the check is `GET path` over HTTP/1.0; without, a TCP connect.
    pub http_path: Option<String>,
    /// The HTTP status that counts as ready (200 unless the file says otherwise).
    pub status: u16,
    /// How long to wait before [`Error::NotReady`](crate::Error::NotReady).
    pub timeout_secs: u64,
}

/// One `[[container]]` of a scenario file.
#[derive(Debug, Clone)]
pub struct ScenarioContainer {
    /// The container as [`Lab::run`](crate::Lab::run) takes it.
    pub spec: ContainerSpec,
    /// A built-in kind that supplies the command (`service = "mongo"`).
    pub service: Option<Service>,
    /// What [`up`](crate::scenario::up) waits for before it starts the next container.
    pub ready: Option<Ready>,
}

/// A validated scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The file it came from; relative paths in it are relative to the file's folder.
    pub file: PathBuf,
    /// The `[lab]` table.
    pub lab: LabSpec,
    /// The `[[network]]` tables, created in this order before any container.
    pub networks: Vec<NetworkSpec>,
    /// Directories put in front of every container's PATH (the "image"), absolute.
    pub path: Vec<PathBuf>,
    /// The `[[container]]` tables, started in this order.
    pub containers: Vec<ScenarioContainer>,
    /// The `[[pipework]]` tables, added in this order once every container runs.
    pub pipework: Vec<PipeworkSpec>,
    /// The `[[fault]]` tables, applied in this order once everything else is up.
    pub faults: Vec<FaultSpec>,
}

/// Reads and validates a scenario file.
pub fn load(file: &Path) -> Result<Scenario> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| Error::io(format!("read scenario {}", file.display()), &e))?;
    parse(&text, file)
}

pub(super) struct Ctx<'a> {
    text: &'a str,
    file: &'a Path,
}

impl Ctx<'_> {
    pub(super) fn err(&self, span: Range<usize>, message: impl Into<String>) -> Error {
        let upto = &self.text[..span.start.min(self.text.len())];
        let line = upto.matches('\n').count() + 1;
        let column = upto
            .rsplit('\n')
            .next()
            .map(|l| l.chars().count())
            .unwrap_or(0)
            + 1;
        Error::Scenario {
            file: self.file.display().to_string(),
            line,
            column,
            message: message.into(),
        }
    }

    /// Re-anchors a spec error at the value it came from.
    pub(super) fn at<T>(&self, span: Range<usize>, r: Result<T>) -> Result<T> {
        r.map_err(|e| self.err(span, e.to_string()))
    }
}

/// Parses and validates scenario text; `file` names it in errors and anchors relative paths.
pub fn parse(text: &str, file: &Path) -> Result<Scenario> {
    let cx = Ctx { text, file };
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        cx.err(span, e.message().to_string())
    })?;
    let base = file.parent().map(Path::to_path_buf).unwrap_or_default();
    let base = if base.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        base
    };

    let l = &raw.lab;
    let stem = file
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("default");
    let mut lab = LabSpec::new(
        l.name
            .as_ref()
            .map(|n| n.get_ref().as_str())
            .unwrap_or(crate::model::lab::DEFAULT_LAB),
    );
    if let Some(b) = &l.bridge {
        lab.bridge = b.get_ref().clone();
    }
    if let Some(b) = &l.bip {
        lab.bip = cx.at(b.span(), Ipv4Net::parse_as("bip", b.get_ref()))?;
    }
    if let Some(r) = &l.ip_range {
        lab.ip_range = Some(cx.at(r.span(), Ipv4Net::parse_as("ip-range", r.get_ref()))?);
    }
    if let Some(u) = &l.uplink {
        lab.uplink = Some(cx.at(u.span(), Uplink::parse(u.get_ref()))?);
    }
    for n in &l.lan_nodes {
        lab.lan_nodes
            .push(cx.at(n.span(), LanNode::parse(n.get_ref()))?);
    }
    lab.attach_uplink = l.attach_uplink;
    let lab_span = l
        .name
        .as_ref()
        .map(|n| n.span())
        .or_else(|| l.bip.as_ref().map(|b| b.span()))
        .unwrap_or(0..0);
    cx.at(lab_span, lab.validate())?;
    let _ = stem;
    let path: Vec<PathBuf> = l
        .path
        .iter()
        .map(|p| absolute(&base, p.get_ref()))
        .collect();

    let networks = networks_of(&cx, &raw.network, &lab)?;
    let mut fixed = HashMap::new();

    let mut names: HashSet<String> = HashSet::new();
    let mut containers = Vec::new();
    for c in &raw.container {
        let name = c.name.get_ref().clone();
        if !names.insert(name.clone()) {
            return Err(cx.err(
                c.name.span(),
                format!("a container named {name:?} is defined twice; give each a unique name"),
            ));
        }
        let service = match &c.service {
            None => None,
            Some(s) if s.get_ref() == "mongo" => Some(Service::Mongo),
            Some(s) => {
                return Err(cx.err(
                    s.span(),
                    format!(
                        "unknown service {:?}; the only service is \"mongo\"",
                        s.get_ref()
                    ),
                ));
            }
        };
        let command = match (&c.command, service) {
            (Some(cmd), None) => cx.at(cmd.span(), command_of(cmd.get_ref()))?,
            (None, Some(Service::Mongo)) => CommandSpec::Exec(vec![]),
            (Some(cmd), Some(_)) => return Err(cx.err(cmd.span(), "a service brings its own command; remove `command` or `service`")),
            (None, None) => return Err(cx.err(c.name.span(), format!("container {name:?} needs a `command` (a string runs through /bin/sh -c, a list runs as is) or a `service`"))),
        };
        let mut spec = ContainerSpec::new(&name, command);
        spec.hostname = c.hostname.as_ref().map(|h| h.get_ref().clone());
        spec.workdir = c.workdir.as_ref().map(|w| w.get_ref().clone());
        for (k, v) in &c.env {
            spec.env.push(cx.at(
                v.span(),
                env::parse_env_arg(&format!("{k}={}", v.get_ref())),
            )?);
        }
        for e in &c.expose {
            spec.expose
                .extend(cx.at(e.span(), parse_expose(e.get_ref()))?);
        }
        for l in &c.links {
            let link = cx.at(l.span(), LinkSpec::parse(l.get_ref()))?;
            if !names.contains(&link.name) || link.name == name {
                return Err(cx.err(
                    l.span(),
                    format!("link to {:?}, which is not a container defined above this one; containers start in file order", link.name),
                ));
            }
            spec.links.push(link);
        }
        for p in &c.publish {
            spec.publish
                .extend(cx.at(p.span(), parse_publish(p.get_ref()))?);
        }
        spec.publish_all = c.publish_all;
        spec.networks = attachments_of(&cx, &name, &c.networks, &lab, &networks, &mut fixed)?;
        let on_default_bridge = |linked: &str| {
            containers.iter().any(|o: &ScenarioContainer| {
                o.spec.name == linked
                    && o.spec
                        .attachments()
                        .iter()
                        .any(|a| a.network == crate::model::network::DEFAULT_NETWORK)
            })
        };
        check_links(&cx, &spec, &c.links, &on_default_bridge)?;
        // `none` alone, each network once: the container's own rule, at the entry (a
        // service's command comes at `up`, so a stand-in passes the command's check).
        let mut whole = spec.clone();
        if whole.command == CommandSpec::Exec(vec![]) {
            whole.command = CommandSpec::Shell("service".into());
        }
        if let Err(e @ Error::InvalidSpec { .. }) = whole.validate()
            && let Error::InvalidSpec { what, value, .. } = &e
            && what == "--network"
        {
            let entry = c
                .networks
                .iter()
                .rfind(|n| n.get_ref().name() == value)
                .map_or_else(|| c.name.span(), Spanned::span);
            return Err(cx.err(entry, e.to_string()));
        }
        if service == Some(Service::Mongo) && !spec.expose.iter().any(|p| p.port == 27017) {
            spec.expose.extend(parse_expose("27017")?);
        }
        if spec.command != CommandSpec::Exec(vec![]) {
            cx.at(c.name.span(), spec.validate())?;
        } else {
            cx.at(
                c.name.span(),
                crate::model::names::validate_container_name(&name),
            )?;
        }
        let ready = match &c.ready {
            Some(r) => {
                let raw = r.get_ref();
                let (port, http_path) = match (&raw.tcp, &raw.http) {
                    (Some(p), None) => (p, None),
                    (None, Some(p)) => (p, Some(raw.path.clone().unwrap_or_else(|| "/".into()))),
                    _ => {
                        return Err(cx.err(
                            r.span(),
                            "write ready = { tcp = PORT } or ready = { http = PORT, path = \"/\" }",
                        ));
                    }
                };
                let bounded =
                    |v: &Spanned<u64>, b: limits::Bound| cx.at(v.span(), b.check(*v.get_ref()));
                let port = bounded(port, limits::READY_PORT)?;
                let status = match &raw.status {
                    Some(st) => bounded(st, limits::HTTP_STATUS)?,
                    None => 200,
                };
                let timeout_secs = match &raw.timeout {
                    Some(t) => bounded(t, limits::READY_TIMEOUT)?,
                    None => 30,
                };
                Some(Ready {
                    port: u16::try_from(port).unwrap_or(u16::MAX),
                    http_path,
                    status: u16::try_from(status).unwrap_or(u16::MAX),
                    timeout_secs,
                })
            }
            None if service == Some(Service::Mongo) => Some(Ready {
                port: 27017,
                http_path: None,
                status: 0,
                timeout_secs: 60,
            }),
            None => None,
        };
        containers.push(ScenarioContainer {
            spec,
            service,
            ready,
        });
    }

    let mut pipework = Vec::new();
    for p in &raw.pipework {
        if !names.contains(p.container.get_ref()) {
            return Err(cx.err(
                p.container.span(),
                format!(
                    "pipework for {:?}, which is not a container of this scenario",
                    p.container.get_ref()
                ),
            ));
        }
        let (addr, gateway) = cx.at(p.address.span(), parse_address(p.address.get_ref()))?;
        let spec = PipeworkSpec {
            bridge: p.bridge.get_ref().clone(),
            ifname: p.interface.as_ref().map(|i| i.get_ref().clone()),
            host_ifname: p.host_interface.as_ref().map(|i| i.get_ref().clone()),
            container: p.container.get_ref().clone(),
            addr,
            gateway,
            mac: match &p.mac {
                Some(m) => Some(cx.at(m.span(), parse_mac(m.get_ref()))?),
                None => None,
            },
        };
        cx.at(p.bridge.span(), spec.validate())?;
        pipework.push(spec);
    }
    let mut faults: Vec<FaultSpec> = Vec::new();
    for f in &raw.fault {
        let spec = fault_of(&cx, f, &names)?;
        if let Some(n) = &spec.name
            && faults.iter().any(|g| g.name.as_ref() == Some(n))
        {
            return Err(cx.err(
                f.span(),
                format!("a second fault named {n:?}; names must be unique"),
            ));
        }
        faults.push(spec);
    }
    Ok(Scenario {
        file: file.to_path_buf(),
        lab,
        networks,
        path,
        containers,
        pipework,
        faults,
    })
}

/// One `[[fault]]` as the lab takes it, each value checked where it is written.
fn fault_of(cx: &Ctx<'_>, f: &Spanned<RawFault>, names: &HashSet<String>) -> Result<FaultSpec> {
    let raw = f.get_ref();
    let known = |s: &Spanned<String>| -> Result<String> {
        if names.contains(s.get_ref()) {
            Ok(s.get_ref().clone())
        } else {
            Err(cx.err(
                s.span(),
                format!("{:?} is not a container of this scenario", s.get_ref()),
            ))
        }
    };
    let dur = |s: &Option<Spanned<String>>, what: &str| -> Result<Option<Duration>> {
        s.as_ref()
            .map(|d| cx.at(d.span(), fault::parse_duration(what, d.get_ref())))
            .transpose()
    };
    let pct = |s: &Option<Spanned<String>>, what: &str| -> Result<f64> {
        Ok(match s {
            Some(p) => cx.at(p.span(), fault::parse_percent(what, p.get_ref()))?,
            None => 0.0,
        })
    };
    let us =
        |d: Option<Duration>| d.map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
    let ifname = raw
        .interface
        .as_ref()
        .map_or_else(|| "eth0".to_string(), |i| i.get_ref().clone());
    let mut spec = if let Some(p) = &raw.partition {
        let sides = p.get_ref();
        if sides.len() != 2 {
            return Err(cx.err(
                p.span(),
                "write partition = [[\"a\", \"b\"], [\"c\"]]: two lists of containers",
            ));
        }
        for n in sides.iter().flatten() {
            if !names.contains(n) {
                return Err(cx.err(
                    p.span(),
                    format!("{n:?} is not a container of this scenario"),
                ));
            }
        }
        let spec = FaultSpec::partition(&sides[0], &sides[1]);
        cx.at(p.span(), spec.validate())?;
        if raw.one_way { spec.one_way() } else { spec }
    } else {
        let Some(c) = &raw.container else {
            return Err(cx.err(
                f.span(),
                "a fault needs `container = NAME` (or `partition = [[...], [...]]`)",
            ));
        };
        let container = known(c)?;
        if let Some(l) = &raw.link {
            match l.get_ref().as_str() {
                "down" => FaultSpec::link_down(&container, &ifname),
                "flap" => {
                    let period = dur(&raw.period, "period")?.unwrap_or(Duration::from_secs(2));
                    let Some(d) = dur(&raw.duration, "for")? else {
                        return Err(cx.err(
                            l.span(),
                            "a flapping link flaps for a bounded time: add for = \"10s\"",
                        ));
                    };
                    FaultSpec::flap(&container, &ifname, period, d)
                }
                _ => return Err(cx.err(l.span(), "write link = \"down\" or link = \"flap\"")),
            }
        } else {
            let impair = Impair {
                delay_us: us(dur(&raw.delay, "delay")?),
                jitter_us: us(dur(&raw.jitter, "jitter")?),
                distribution: match &raw.distribution {
                    Some(d) => cx.at(d.span(), fault::Distribution::parse(d.get_ref()))?,
                    None => fault::Distribution::Uniform,
                },
                loss: pct(&raw.loss, "loss")?,
                burst: raw.burst.as_ref().map_or(1.0, |b| *b.get_ref()),
                duplicate: pct(&raw.duplicate, "duplicate")?,
                reorder: pct(&raw.reorder, "reorder")?,
                corrupt: pct(&raw.corrupt, "corrupt")?,
                rate_bps: match &raw.rate {
                    Some(r) => Some(cx.at(r.span(), fault::parse_rate("rate", r.get_ref()))?),
                    None => None,
                },
                limit: raw
                    .limit
                    .as_ref()
                    .map_or(fault::DEFAULT_LIMIT, |l| *l.get_ref()),
            };
            // A value out of range is reported where it is written.
            if let Err(e) = impair.validate() {
                let what = match &e {
                    Error::InvalidSpec { what, .. } => what.as_str(),
                    _ => "",
                };
                let at = match what {
                    "delay" => raw.delay.as_ref().map(Spanned::span),
                    "jitter" => raw.jitter.as_ref().map(Spanned::span),
                    "loss" => raw.loss.as_ref().map(Spanned::span),
                    "--burst" => raw.burst.as_ref().map(Spanned::span),
                    "reorder" => raw.reorder.as_ref().map(Spanned::span),
                    "rate" => raw.rate.as_ref().map(Spanned::span),
                    w if w.starts_with("queue limit") => raw.limit.as_ref().map(Spanned::span),
                    _ => None,
                };
                return Err(cx.err(at.unwrap_or_else(|| f.span()), e.to_string()));
            }
            let to = raw.to.iter().map(known).collect::<Result<Vec<_>>>()?;
            let mut spec = FaultSpec::impair(&container, impair)
                .to(&to)
                .on_interface(&ifname);
            if let Some(d) = &raw.direction {
                spec = spec.direction(cx.at(d.span(), fault::Direction::parse(d.get_ref()))?);
            }
            spec
        }
    };
    if !matches!(spec.kind, FaultKind::Flap { .. })
        && let Some(d) = dur(&raw.duration, "for")?
    {
        spec = spec.lasting(d);
    }
    spec.seed = raw.seed;
    spec.name = raw.name.as_ref().map(|n| n.get_ref().clone());
    cx.at(f.span(), spec.validate())?;
    Ok(spec)
}

/// A container's `command`: a string runs through `/bin/sh -c`, a list of strings runs as
/// is; anything else is refused with what to write.
fn command_of(v: &toml::Value) -> Result<CommandSpec> {
    let how = "write a string (run through /bin/sh -c), e.g. command = \"sleep 1000\", or a list of strings (run as is), e.g. command = [\"sleep\", \"1000\"]";
    match v {
        toml::Value::String(s) => Ok(CommandSpec::Shell(s.clone())),
        toml::Value::Array(items) if items.is_empty() => Err(Error::spec(
            "command",
            "[]",
            format!("the list is empty; {how}"),
        )),
        toml::Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                toml::Value::String(s) => Ok(s.clone()),
                other => Err(Error::spec(
                    "command",
                    other.to_string(),
                    format!(
                        "item {} of the list is {} {}, not a string; {how}",
                        i + 1,
                        article(other.type_str()),
                        other.type_str()
                    ),
                )),
            })
            .collect::<Result<Vec<_>>>()
            .map(CommandSpec::Exec),
        other => Err(Error::spec(
            "command",
            other.to_string(),
            format!(
                "it is {} {}; {how}",
                article(other.type_str()),
                other.type_str()
            ),
        )),
    }
}

fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

fn absolute(base: &Path, p: &str) -> PathBuf {
    let p = Path::new(p);
    let joined = if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    };
    std::path::absolute(&joined).unwrap_or(joined)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err_at(text: &str) -> (usize, usize, String) {
        match parse(text, Path::new("s.toml")) {
            Err(Error::Scenario {
                line,
                column,
                message,
                ..
            }) => (line, column, message),
            other => panic!("expected a scenario error, got {other:?}"),
        }
    }

    const GOOD: &str = r#"
[lab]
bip = "10.2.0.10/16"
ip-range = "10.2.1.0/24"
uplink = "eth1=10.2.0.10/16"
lan-nodes = ["lan=10.2.0.1/16"]
attach-uplink = true
path = ["bin"]

[[container]]
name = "mongodb"
service = "mongo"

[[container]]
name = "web"
command = "birthday-service 8080 $MONGO_PORT_27017_TCP_ADDR $MONGO_PORT_27017_TCP_PORT"
links = ["mongodb:mongo"]
publish = ["8080:8080"]
env = { RUST_LOG = "info" }
ready = { http = 8080, path = "/healthz" }

[[pipework]]
bridge = "docker0"
interface = "eth1"
container = "web"
address = "10.2.0.11/16"
"#;

    #[test]
    fn a_good_file() {
        let s = parse(GOOD, Path::new("/x/scenarios/lan.toml")).unwrap();
        assert_eq!(s.lab.bip.to_string(), "10.2.0.10/16");
        assert_eq!(s.lab.lan_nodes.len(), 1);
        assert!(s.lab.attach_uplink);
        assert_eq!(s.path, vec![PathBuf::from("/x/scenarios/bin")]);
        assert_eq!(s.containers.len(), 2);
        assert_eq!(s.containers[0].service, Some(Service::Mongo));
        assert_eq!(s.containers[0].ready.as_ref().unwrap().port, 27017);
        let web = &s.containers[1];
        assert!(matches!(web.spec.command, CommandSpec::Shell(_)));
        assert_eq!(web.spec.links[0].alias, "mongo");
        assert_eq!(web.spec.publish[0].host_port, Some(8080));
        assert_eq!(
            web.ready.as_ref().unwrap().http_path.as_deref(),
            Some("/healthz")
        );
        assert_eq!(s.pipework[0].addr.to_string(), "10.2.0.11/16");
    }

    #[test]
    fn errors_point_at_line_and_column() {
        let (l, c, m) = err_at("[lab]\nbip = \"10.2.0.10\"\n");
        assert_eq!((l, c), (2, 7), "{m}");
        assert!(m.contains("prefix"), "{m}");
        let (l, _, m) = err_at("[lab]\nbridgee = \"x\"\n");
        assert_eq!(l, 2);
        assert!(m.contains("unknown field"), "{m}");
        let (l, c, m) =
            err_at("[[container]]\nname = \"web\"\ncommand = \"x\"\nlinks = [\"db:mongo\"]\n");
        assert_eq!((l, c), (4, 10), "{m}");
        assert!(m.contains("\"db\""), "{m}");
        let (l, _, m) = err_at(
            "[[container]]\nname = \"a\"\ncommand = \"x\"\n[[container]]\nname = \"a\"\ncommand = \"y\"\n",
        );
        assert_eq!(l, 5, "{m}");
        let (l, _, m) =
            err_at("[[container]]\nname = \"a\"\ncommand = \"x\"\npublish = [\"1:2:3:4\"]\n");
        assert_eq!(l, 4, "{m}");
        let (l, _, m) = err_at("[[container]]\nname = \"a\"\n");
        assert!(m.contains("needs a `command`"), "{l}: {m}");
        let (l, _, m) = err_at(
            "[[pipework]]\nbridge = \"br1\"\ncontainer = \"ghost\"\naddress = \"1.2.3.4/24\"\n",
        );
        assert_eq!(l, 3, "{m}");
        let (l, _, m) = err_at("[[container]]\nname = \"a\"\nservice = \"redis\"\n");
        assert_eq!(l, 3, "{m}");
        let (l, _, m) =
            err_at("[[container]]\nname = \"a\"\ncommand = \"x\"\nready = { tcp = 1, http = 2 }\n");
        assert_eq!(l, 4, "{m}");
        let (l, _, _) = err_at("[lab\n");
        assert_eq!(l, 1);
    }

    const TWO: &str = "[[container]]\nname = \"web\"\ncommand = \"x\"\n[[container]]\nname = \"db\"\ncommand = \"y\"\n";

    /// `[[fault]]` entries in the CLI's words become the lab's faults, in file order.
    #[test]
    fn faults_in_the_clis_words() {
        let text = format!(
            "{TWO}[[fault]]\ncontainer = \"web\"\ndelay = \"300ms\"\njitter = \"10ms\"\nto = [\"db\"]\nfor = \"30s\"\nseed = 7\nname = \"slow\"\n\
             [[fault]]\npartition = [[\"web\"], [\"db\"]]\none-way = true\n\
             [[fault]]\ncontainer = \"db\"\nlink = \"flap\"\nperiod = \"1s\"\nfor = \"10s\"\n\
             [[fault]]\ncontainer = \"web\"\nloss = \"20%\"\nburst = 3.0\nrate = \"10mbit\"\ndirection = \"egress\"\n"
        );
        let s = parse(&text, Path::new("s.toml")).unwrap();
        let kinds: Vec<String> = s.faults.iter().map(|f| f.kind.to_string()).collect();
        assert_eq!(
            kinds,
            [
                "delay 300ms ±10ms on web/eth0 with db",
                "partition web -> db",
                "flap db/eth0 every 1s",
                "loss 20% burst 3, rate 10mbit on web/eth0 (egress)",
            ]
        );
        assert_eq!(s.faults[0].seed, Some(7));
        assert_eq!(s.faults[0].duration_ms, Some(30_000));
        assert_eq!(s.faults[0].name.as_deref(), Some("slow"));
        assert_eq!(s.faults[2].duration_ms, Some(10_000));
    }

    /// A bad `[[fault]]` is an error at the value, with what to write.
    #[test]
    fn bad_faults_point_at_their_value() {
        let cases: &[(&str, usize, &str)] = &[
            (
                "[[fault]]\ncontainer = \"ghost\"\ndelay = \"1ms\"\n",
                8,
                "not a container",
            ),
            (
                "[[fault]]\ncontainer = \"web\"\ndelay = \"10h\"\n",
                9,
                "delay",
            ),
            (
                "[[fault]]\ncontainer = \"web\"\nloss = \"150%\"\n",
                9,
                "between 0% and 100%",
            ),
            (
                "[[fault]]\ncontainer = \"web\"\nrate = \"0mbit\"\n",
                9,
                "rate",
            ),
            (
                "[[fault]]\ncontainer = \"web\"\ndelay = \"fast\"\n",
                9,
                "unit",
            ),
            ("[[fault]]\ncontainer = \"web\"\n", 7, "at least one"),
            ("[[fault]]\ndelay = \"1ms\"\n", 7, "needs `container"),
            (
                "[[fault]]\npartition = [[\"web\"], [\"web\"]]\n",
                8,
                "both sides",
            ),
            ("[[fault]]\npartition = [[\"web\"]]\n", 8, "two lists"),
            (
                "[[fault]]\ncontainer = \"web\"\nlink = \"flap\"\n",
                9,
                "bounded",
            ),
            (
                "[[fault]]\ncontainer = \"web\"\nlink = \"sideways\"\n",
                9,
                "down",
            ),
            (
                "[[fault]]\ncontainer = \"web\"\ndelay = \"1ms\"\nfrobnicate = 1\n",
                10,
                "unknown field",
            ),
            (
                "[[fault]]\ncontainer = \"web\"\nloss = \"90%\"\nburst = 4.0\n",
                9,
                "at most",
            ),
        ];
        for (fault, line, needle) in cases {
            let (l, _, m) = err_at(&format!("{TWO}{fault}"));
            assert_eq!(l, *line, "{fault}: {m}");
            assert!(m.contains(needle), "{fault}: {m}");
        }
    }

    /// Every bad value a file can hold is an error at its place, with what to write, and
    /// never a panic.
    #[test]
    fn bad_values_say_where_and_what_is_allowed() {
        let c = |rest: &str| format!("[[container]]\nname = \"a\"\n{rest}\n");
        let cases: &[(&str, (usize, usize), &[&str])] = &[
            (
                "command = \"x\"\nready = { tcp = 80, timeout = 9223372036854775807 }",
                (4, 31),
                &["ready timeout", "the allowed range is 1 to 3600 seconds"],
            ),
            (
                "command = \"x\"\nready = { tcp = 80, timeout = 1000000000000 }",
                (4, 31),
                &["1000000000000", "1 to 3600"],
            ),
            (
                "command = \"x\"\nready = { tcp = 80, timeout = 0 }",
                (4, 31),
                &["1 to 3600"],
            ),
            (
                "command = \"x\"\nready = { tcp = 0 }",
                (4, 17),
                &["1 to 65535"],
            ),
            (
                "command = \"x\"\nready = { tcp = 70000 }",
                (4, 17),
                &["1 to 65535"],
            ),
            (
                "command = \"x\"\nready = { http = 80, status = 1000 }",
                (4, 31),
                &["100 to 599"],
            ),
            (
                "command = \"x\"\nready = { tcp = 80, timeout = -1 }",
                (4, 31),
                &["u64"],
            ),
            (
                "command = 5",
                (3, 11),
                &["it is an integer", "write a string", "list of strings"],
            ),
            (
                "command = [\"sleep\", 5]",
                (3, 11),
                &["item 2 of the list is an integer"],
            ),
            ("command = []", (3, 11), &["the list is empty"]),
            ("command = { a = 1 }", (3, 11), &["it is a table"]),
            (
                "command = \"x\"\npublish = [\"+80\"]",
                (4, 12),
                &["-p", "\"+80\""],
            ),
        ];
        for (rest, at, words) in cases {
            let (l, col, m) = err_at(&c(rest));
            assert_eq!((l, col), *at, "{rest}: {m}");
            for w in *words {
                assert!(m.contains(w), "{rest}: {w:?} not in {m:?}");
            }
            assert!(!m.contains("did not match any variant"), "{m}");
        }
    }

    #[test]
    fn a_huge_command_makes_a_short_message() {
        let big = "x".repeat(10 << 20);
        let text = format!("[[container]]\nname = \"a\"\ncommand = {{ x = \"{big}\" }}\n");
        let (_, _, m) = err_at(&text);
        assert!(m.len() < 1000, "{} bytes", m.len());
    }

    const NETWORKS: &str = r#"
[lab]
uplink = "eth1=10.2.0.10/16"
lan-nodes = ["lan=10.2.0.1/16"]

[[network]]
name = "appnet"
driver = "bridge"
subnet = ["10.78.0.0/24", "fd00:78::/64"]
ip-range = "10.78.0.128/25"
gateway = "10.78.0.1"
internal = false
ipv6 = true
labels = { team = "physics" }

[[network]]
name = "backend"
internal = true

[[network]]
name = "lannet"
driver = "macvlan"
parent = "eth1"
subnet = "10.2.0.0/16"
ip-range = "10.2.100.0/24"
gateway = "10.2.0.1"

[[container]]
name = "mongodb"
service = "mongo"
networks = [{ name = "appnet", aliases = ["db"], ip = "10.78.0.10", ip6 = "fd00:78::10" }, "backend"]

[[container]]
name = "webserver1"
command = "birthday-service 8080 --mongo-uri mongodb://mongodb:27017"
networks = ["appnet", { name = "lannet", aliases = ["web"], ip = "10.2.100.10" }]

[[container]]
name = "legacy"
command = "sleep 1000"
networks = ["bridge", "appnet"]

[[container]]
name = "client"
command = "sleep 1000"
links = ["legacy:l"]

[[container]]
name = "alone"
command = "sleep 1000"
networks = ["none"]

[[container]]
name = "dns-link"
command = "sleep 1000"
networks = ["appnet"]
links = ["mongodb:database"]
"#;

    /// `[[network]]` tables become the lab's networks in file order, as `network create`
    /// builds them; `networks = [...]` the containers' attachments, as `run --network`.
    #[test]
    fn networks_in_the_clis_words() {
        let s = parse(NETWORKS, Path::new("n.toml")).unwrap();
        let names: Vec<&str> = s.networks.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["appnet", "backend", "lannet"]);
        let appnet = &s.networks[0];
        let same = NetworkSpec::from_options(
            "appnet",
            "bridge",
            &["10.78.0.0/24".into(), "fd00:78::/64".into()],
            &["10.78.0.128/25".into()],
            &["10.78.0.1".into()],
            false,
            true,
            &[],
            &["team=physics".into()],
        )
        .unwrap();
        assert_eq!(appnet, &same);
        assert!(s.networks[1].internal && s.networks[1].subnets.is_empty());
        let lannet = &s.networks[2];
        assert_eq!(lannet.driver, crate::model::network::Driver::Macvlan);
        assert_eq!(lannet.parent.as_deref(), Some("eth1"));
        assert_eq!(
            lannet.v4().unwrap().ip_range.unwrap().to_string(),
            "10.2.100.0/24"
        );
        let nets = |i: usize| -> Vec<String> {
            s.containers[i]
                .spec
                .networks
                .iter()
                .map(|a| a.network.clone())
                .collect()
        };
        assert_eq!(nets(0), ["appnet", "backend"]);
        let db = &s.containers[0].spec.networks[0];
        assert_eq!(db.aliases, ["db"]);
        assert_eq!(db.ip, Some("10.78.0.10".parse().unwrap()));
        assert_eq!(db.ip6, Some("fd00:78::10".parse().unwrap()));
        assert_eq!(nets(1), ["appnet", "lannet"]);
        assert_eq!(s.containers[1].spec.networks[1].aliases, ["web"]);
        assert_eq!(nets(2), ["bridge", "appnet"]);
        // No `networks`: the default bridge, where links work.
        assert!(nets(3).is_empty());
        assert_eq!(s.containers[3].spec.links[0].name, "legacy");
        assert_eq!(nets(4), ["none"]);
        assert!(s.containers[4].spec.attachments().is_empty());
        // On a user-defined network a link is a name its DNS answers, to any container.
        assert!(!s.containers[5].spec.legacy_links());
        assert_eq!(s.containers[5].spec.links[0].alias, "database");
    }

    /// A bad `[[network]]` or `networks` entry is an error at its value, in the CLI's
    /// words, with what to write; references across the file are checked too.
    #[test]
    fn bad_networks_point_at_their_value() {
        let net = "[[network]]\nname = \"appnet\"\n";
        let appnet = "[[network]]\nname = \"appnet\"\nsubnet = \"10.78.0.0/24\"\n";
        let lan = "[lab]\nuplink = \"eth1=10.2.0.10/16\"\nlan-nodes = [\"lan=10.2.0.1/16\", \"pc=10.2.0.5/16\"]\n";
        let macvlan = "driver = \"macvlan\"\nparent = \"eth1\"\nsubnet = \"10.2.0.0/16\"\n";
        let c = |networks: &str| {
            format!("{appnet}[[container]]\nname = \"a\"\ncommand = \"x\"\nnetworks = {networks}\n")
        };
        let cases: Vec<(String, (usize, usize), &[&str])> = vec![
            (
                format!("{net}subnet = \"10.78.0.0\""),
                (3, 10),
                &["--subnet \"10.78.0.0\"", "prefix length"],
            ),
            (
                format!("{net}subnet = [\"10.78.0.0/24\", \"10.79.0.0\"]"),
                (3, 27),
                &["\"10.79.0.0\""],
            ),
            (
                format!("{net}subnet = 5"),
                (3, 10),
                &["a string or a list of strings"],
            ),
            (
                format!("{net}subnet = [\"10.78.0.0/24\", 5]"),
                (3, 27),
                &["expected a string"],
            ),
            (format!("{net}driver = \"overlay\""), (3, 10), &["swarm"]),
            (
                format!("{net}driver = \"macvlan\"\nsubnet = \"10.2.0.0/16\""),
                (3, 10),
                &["parent=eth1"],
            ),
            (
                format!("{net}parent = \"eth1\""),
                (3, 10),
                &["only macvlan networks have a parent"],
            ),
            (
                format!("{net}subnet = \"10.78.0.0/24\"\ngateway = \"10.79.0.1\""),
                (4, 11),
                &["no --subnet contains it"],
            ),
            (
                format!("{net}ipv6 = true"),
                (3, 8),
                &["needs its IPv6 subnet"],
            ),
            (format!("{net}{net}"), (4, 8), &["defined twice"]),
            (
                "[[network]]\nname = \"bridge\"\n".into(),
                (2, 8),
                &["predefined"],
            ),
            (format!("{net}frob = 1"), (3, 1), &["unknown field `frob`"]),
            (
                format!("{net}labels = {{ a = 1 }}"),
                (3, 16),
                &["expected a string"],
            ),
            (
                format!("{net}subnet = \"172.17.5.0/24\""),
                (3, 10),
                &["overlaps the default network bridge (docker0)"],
            ),
            (
                format!("{appnet}[[network]]\nname = \"b\"\nsubnet = \"10.78.0.128/25\""),
                (6, 10),
                &["overlaps network appnet"],
            ),
            (
                format!("{net}{macvlan}"),
                (4, 10),
                &["no interface \"eth1\" (it has: docker0)", "uplink = "],
            ),
            (
                format!("{lan}attach-uplink = true\n{net}{macvlan}"),
                (8, 10),
                &["cannot be a macvlan parent"],
            ),
            (
                format!("{lan}{net}{macvlan}[[network]]\nname = \"m2\"\n{macvlan}"),
                (12, 10),
                &["network appnet is already using parent interface eth1"],
            ),
            (
                format!(
                    "{lan}{net}{macvlan}[[container]]\nname = \"a\"\ncommand = \"x\"\nnetworks = [{{ name = \"appnet\", ip = \"10.2.0.5\" }}]"
                ),
                (12, 37),
                &["10.2.0.5 is already used by LAN machine pc"],
            ),
            (
                c("[\"ghost\"]"),
                (7, 13),
                &["\"ghost\"", "bridge, none, appnet"],
            ),
            (c("[5]"), (7, 13), &["a network's name", "or a table"]),
            (
                c("[{ nam = \"appnet\" }]"),
                (7, 15),
                &["unknown field `nam`"],
            ),
            (
                c("[{ name = \"appnet\", ip = \"10.79.0.5\" }]"),
                (7, 37),
                &["outside network appnet's subnet 10.78.0.0/24"],
            ),
            (
                c("[{ name = \"appnet\", ip = \"10.78.0.300\" }]"),
                (7, 37),
                &["write an IPv4 address"],
            ),
            (
                c("[{ name = \"appnet\", ip = \"10.78.0.1\" }]"),
                (7, 37),
                &["already used by the gateway of network appnet"],
            ),
            (
                c("[{ name = \"appnet\", ip6 = \"fd00::5\" }]"),
                (7, 38),
                &["has no IPv6 subnet"],
            ),
            (
                c("[{ name = \"appnet\", aliases = [\"ok\", \"-x\"] }]"),
                (7, 49),
                &["--network-alias \"-x\""],
            ),
            (
                c("[{ name = \"bridge\", ip = \"172.17.0.9\" }]"),
                (7, 37),
                &["user defined networks only"],
            ),
            (
                c("[{ name = \"bridge\", aliases = [\"x\"] }]"),
                (7, 43),
                &["the default bridge has no DNS"],
            ),
            (
                c("[{ name = \"none\", aliases = [\"x\"] }]"),
                (7, 41),
                &["only its loopback"],
            ),
            (c("[\"appnet\", \"appnet\"]"), (7, 23), &["listed twice"]),
            (c("[\"none\", \"appnet\"]"), (7, 13), &["give none alone"]),
            (
                format!(
                    "{net}[[container]]\nname = \"a\"\ncommand = \"x\"\nnetworks = [{{ name = \"appnet\", ip = \"10.78.0.1\" }}]"
                ),
                (6, 37),
                &["user configured subnets", "create it with --subnet"],
            ),
            (
                format!(
                    "{}[[container]]\nname = \"b\"\ncommand = \"x\"\nnetworks = [{{ name = \"appnet\", ip = \"10.78.0.9\" }}]\n",
                    c("[{ name = \"appnet\", ip = \"10.78.0.9\" }]")
                ),
                (11, 37),
                &["10.78.0.9 is already used by container a"],
            ),
            (
                format!(
                    "{}[[container]]\nname = \"b\"\ncommand = \"x\"\nlinks = [\"a:db\"]\n",
                    c("[\"appnet\"]")
                ),
                (11, 10),
                &[
                    "cannot link to \"a\"",
                    "does not belong to the default network",
                ],
            ),
            (
                format!(
                    "{}[[container]]\nname = \"b\"\ncommand = \"x\"\nnetworks = [\"none\"]\nlinks = [\"a:db\"]\n",
                    c("[\"bridge\"]")
                ),
                (12, 10),
                &[
                    "--link \"a:db\"",
                    "on the none network",
                    "drop --network none",
                ],
            ),
        ];
        for (text, at, words) in &cases {
            let (l, col, m) = err_at(text);
            assert_eq!((l, col), *at, "{text}\n{m}");
            for w in *words {
                assert!(m.contains(w), "{text}\n{w:?} not in {m:?}");
            }
        }
    }

    /// The students' files are valid, and say what the tests rely on.
    #[test]
    fn the_network_scenarios_are_valid() {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
        let s = load(&dir.join("networks.toml")).unwrap();
        assert_eq!(s.networks.len(), 1);
        for c in &s.containers {
            assert_eq!(c.spec.networks[0].network, "appnet", "{}", c.spec.name);
            assert!(c.spec.links.is_empty());
        }
        let s = load(&dir.join("macvlan.toml")).unwrap();
        assert_eq!(s.networks[0].driver, crate::model::network::Driver::Macvlan);
        let web = s
            .containers
            .iter()
            .find(|c| c.spec.name == "webserver")
            .unwrap();
        assert_eq!(
            web.spec.networks[0].ip,
            Some("10.2.100.10".parse().unwrap())
        );
    }
}
