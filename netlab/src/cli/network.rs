//! `netlab network create|ls|inspect|rm|connect|disconnect|prune`: Docker's network
//! commands, their output in Docker's shapes (`ls` table and `--format`, `inspect` JSON).

use std::io::{BufRead, IsTerminal, Write};

use serde_json::{Map, Value, json};

use super::LabSession;
use super::table::ListFormat;
use crate::client::Lab;
use crate::error::Error;
use crate::model::network::{Attachment, NetworkSpec, NetworkState};
use crate::model::template::{Options, Template};
use crate::model::time::{go_time, rfc3339};

#[derive(Debug, clap::Subcommand)]
pub enum NetworkCmd {
    /// Create a network: a bridge of its own (the default) or macvlan onto a parent.
    Create(Box<CreateArgs>),
    /// List networks.
    #[command(alias = "list")]
    Ls(LsArgs),
    /// Show networks in Docker's JSON shape.
    Inspect(InspectArgs),
    /// Remove networks no container is on.
    #[command(alias = "remove")]
    Rm(super::containers::NamesArgs),
    /// Connect a container to a network: a new interface, with its address and aliases.
    Connect(ConnectArgs),
    /// Disconnect a container from a network: its interface there goes.
    Disconnect(DisconnectArgs),
    /// Remove every network no container is on.
    Prune(PruneArgs),
}

#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    /// The driver: bridge (the default) or macvlan.
    #[arg(short = 'd', long = "driver", default_value = "bridge")]
    driver: String,
    /// A subnet in CIDR form; give one IPv4 and, with --ipv6, one IPv6 subnet.
    #[arg(long = "subnet", value_name = "CIDR")]
    subnet: Vec<String>,
    /// Where containers' addresses come from, inside a subnet.
    #[arg(long = "ip-range", value_name = "CIDR")]
    ip_range: Vec<String>,
    /// The gateway of a subnet (its first address by default).
    #[arg(long = "gateway", value_name = "IP")]
    gateway: Vec<String>,
    /// No route out: nothing is forwarded to or from the network.
    #[arg(long)]
    internal: bool,
    /// Dual stack: the network has an IPv6 subnet too (give it with --subnet).
    #[arg(long)]
    ipv6: bool,
    /// Driver options: parent=IFACE for macvlan.
    #[arg(short = 'o', long = "opt", value_name = "KEY=VALUE")]
    opt: Vec<String>,
    /// Metadata shown by inspect.
    #[arg(long = "label", value_name = "KEY=VALUE")]
    label: Vec<String>,
    /// The network's name.
    name: String,
}

#[derive(Debug, clap::Args)]
pub struct LsArgs {
    /// A Go template, as docker network ls --format: '{{.Name}} {{.Driver}}', or `table ...`.
    #[arg(long)]
    format: Option<String>,
    /// Only IDs.
    #[arg(short, long)]
    quiet: bool,
    /// Whole IDs.
    #[arg(long)]
    no_trunc: bool,
    /// name=TEXT, driver=NAME, id=PREFIX (a name matches when it contains TEXT).
    #[arg(short = 'f', long = "filter", value_name = "KEY=VALUE")]
    filter: Vec<String>,
    /// netlab's own: the lab's records as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// A Go template applied to each network.
    #[arg(short = 'f', long = "format")]
    format: Option<String>,
    #[arg(required = true)]
    names: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct ConnectArgs {
    /// A fixed IPv4 address on the network.
    #[arg(long = "ip")]
    ip: Option<String>,
    /// A fixed IPv6 address on the network.
    #[arg(long = "ip6")]
    ip6: Option<String>,
    /// Another name of the container on this network.
    #[arg(long = "alias")]
    alias: Vec<String>,
    network: String,
    container: String,
}

#[derive(Debug, clap::Args)]
pub struct DisconnectArgs {
    /// Accepted for Docker's grammar; disconnecting never waits.
    #[arg(short, long)]
    force: bool,
    network: String,
    container: String,
}

#[derive(Debug, clap::Args)]
pub struct PruneArgs {
    /// Do not ask.
    #[arg(short, long)]
    force: bool,
}

pub fn network(lab: &str, cmd: NetworkCmd) -> anyhow::Result<u8> {
    match cmd {
        NetworkCmd::Create(a) => create(lab, *a),
        NetworkCmd::Ls(a) => ls(lab, a),
        NetworkCmd::Inspect(a) => inspect(lab, a),
        NetworkCmd::Rm(a) => rm(lab, a),
        NetworkCmd::Connect(a) => {
            let mut at = Attachment::new(&a.network);
            at.aliases = a.alias;
            at.ip =
                a.ip.as_deref()
                    .map(crate::model::network::parse_ip)
                    .transpose()?;
            at.ip6 = a
                .ip6
                .as_deref()
                .map(crate::model::network::parse_ip6)
                .transpose()?;
            Lab::open(lab)?.connect_network(&a.container, &at)?;
            Ok(0)
        }
        NetworkCmd::Disconnect(a) => {
            let _ = a.force;
            Lab::open(lab)?.disconnect_network(&a.network, &a.container)?;
            Ok(0)
        }
        NetworkCmd::Prune(a) => prune(lab, a),
    }
}

fn create(lab: &str, a: CreateArgs) -> anyhow::Result<u8> {
    let spec = NetworkSpec::from_options(
        &a.name,
        &a.driver,
        &a.subnet,
        &a.ip_range,
        &a.gateway,
        a.internal,
        a.ipv6,
        &a.opt,
        &a.label,
    )?;
    let session = LabSession::open_or_create(lab)?;
    let state = session.lab.create_network(&spec)?;
    session.commit()?;
    println!("{}", state.id);
    Ok(0)
}

/// The lab's networks; none for a lab that does not exist yet (`ls` creates no lab, and
/// the predefined networks' IDs are made with it).
fn states(lab: &str) -> anyhow::Result<Vec<NetworkState>> {
    match Lab::open(lab) {
        Ok(l) => Ok(l.networks()?),
        Err(Error::LabNotFound { .. }) => Ok(vec![]),
        Err(e) => Err(e.into()),
    }
}

const DEFAULT_TABLE: &str = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}";

/// The fields `network ls --format` knows, as Docker's.
fn fields(n: &NetworkState, no_trunc: bool) -> Map<String, Value> {
    let id = if no_trunc {
        n.id.clone()
    } else {
        n.id.chars().take(12).collect()
    };
    let labels = n
        .labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    let mut m = Map::new();
    m.insert("ID".into(), json!(id));
    m.insert("Name".into(), json!(n.name));
    m.insert("Driver".into(), json!(n.driver.as_str()));
    m.insert("Scope".into(), json!("local"));
    m.insert("IPv6".into(), json!(n.ipv6.to_string()));
    m.insert("Internal".into(), json!(n.internal.to_string()));
    m.insert("Labels".into(), json!(labels));
    m.insert("CreatedAt".into(), json!(go_time(n.created)));
    m
}

fn header() -> Map<String, Value> {
    [
        ("ID", "NETWORK ID"),
        ("Name", "NAME"),
        ("Driver", "DRIVER"),
        ("Scope", "SCOPE"),
        ("IPv6", "IPV6"),
        ("Internal", "INTERNAL"),
        ("Labels", "LABELS"),
        ("CreatedAt", "CREATED AT"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), json!(v)))
    .collect()
}

fn matches(n: &NetworkState, filters: &[(String, String)]) -> anyhow::Result<bool> {
    for (k, v) in filters {
        let ok = match k.as_str() {
            "name" => n.name.contains(v.as_str()),
            "driver" => n.driver.as_str() == v,
            "id" => n.id.starts_with(v.as_str()),
            "label" => match v.split_once('=') {
                Some((lk, lv)) => n.labels.get(lk).is_some_and(|x| x == lv),
                None => n.labels.contains_key(v),
            },
            "type" => match v.as_str() {
                "builtin" => crate::model::network::PREDEFINED.contains(&n.name.as_str()),
                "custom" => !crate::model::network::PREDEFINED.contains(&n.name.as_str()),
                _ => anyhow::bail!("invalid filter 'type={v}': use builtin or custom"),
            },
            _ => anyhow::bail!(
                "invalid filter {k:?}: netlab network ls filters by name, driver, id, label and type"
            ),
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

fn ls(lab: &str, a: LsArgs) -> anyhow::Result<u8> {
    let mut filters = vec![];
    for f in &a.filter {
        let (k, v) = f
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("bad format of filter (expected name=value)"))?;
        filters.push((k.to_string(), v.to_string()));
    }
    let mut list = vec![];
    for n in states(lab)? {
        if matches(&n, &filters)? {
            list.push(n);
        }
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(0);
    }
    let format = match a.format.as_deref() {
        None | Some("table") if a.quiet => "{{.ID}}",
        None | Some("table") => DEFAULT_TABLE,
        Some(f) => f,
    };
    let list_format = match ListFormat::parse(format) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{e}");
            return Ok(1);
        }
    };
    match list_format.render(list.iter().map(|n| fields(n, a.no_trunc)), header()) {
        Ok(text) => {
            print!("{text}");
            Ok(0)
        }
        Err(e) => {
            eprintln!("{e}");
            Ok(1)
        }
    }
}

/// A network in Docker 20.10's `network inspect` shape.
pub fn to_docker_json(n: &NetworkState) -> Value {
    let config: Vec<Value> = n
        .subnets
        .iter()
        .map(|s| {
            let mut c = Map::new();
            c.insert("Subnet".into(), json!(s.subnet.to_string()));
            if let Some(r) = s.ip_range {
                c.insert("IPRange".into(), json!(r.to_string()));
            }
            if let Some(g) = s.gateway {
                c.insert("Gateway".into(), json!(g.to_string()));
            }
            Value::Object(c)
        })
        .collect();
    let containers: Map<String, Value> = n
        .containers
        .iter()
        .map(|m| {
            (
                m.id.clone(),
                json!({
                    "Name": m.name,
                    "EndpointID": endpoint_id(&m.id, &n.id),
                    "MacAddress": m.mac,
                    "IPv4Address": m.ipv4,
                    "IPv6Address": m.ipv6,
                }),
            )
        })
        .collect();
    let mut options = Map::new();
    if let Some(p) = &n.parent {
        options.insert("parent".into(), json!(p));
    }
    if n.name == crate::model::network::DEFAULT_NETWORK {
        for (k, v) in [
            ("com.docker.network.bridge.default_bridge", "true"),
            ("com.docker.network.bridge.enable_icc", "true"),
            ("com.docker.network.bridge.enable_ip_masquerade", "true"),
            ("com.docker.network.bridge.host_binding_ipv4", "0.0.0.0"),
            ("com.docker.network.bridge.name", n.bridge.as_str()),
            ("com.docker.network.driver.mtu", "1500"),
        ] {
            options.insert(k.into(), json!(v));
        }
    }
    json!({
        "Name": n.name,
        "Id": n.id,
        "Created": rfc3339(Some(n.created)),
        "Scope": "local",
        "Driver": n.driver.as_str(),
        "EnableIPv6": n.ipv6,
        "IPAM": {
            "Driver": "default",
            // Docker's: null for the predefined networks, {} for the user's.
            "Options": if crate::model::network::PREDEFINED.contains(&n.name.as_str()) { Value::Null } else { json!({}) },
            "Config": config,
        },
        "Internal": n.internal,
        "Attachable": false,
        "Ingress": false,
        "ConfigFrom": {"Network": ""},
        "ConfigOnly": false,
        "Containers": containers,
        "Options": options,
        "Labels": n.labels,
        // netlab's own: the bridge on the lab host (empty for macvlan, host and none).
        "Bridge": n.bridge,
    })
}

/// A stable endpoint ID for a container on a network (Docker's are random; netlab's are
/// derived, so that they are the same at every inspect).
fn endpoint_id(container: &str, network: &str) -> String {
    container
        .bytes()
        .zip(network.bytes().cycle())
        .map(|(a, b)| {
            let x = (a as char).to_digit(16).unwrap_or(0) ^ (b as char).to_digit(16).unwrap_or(0);
            std::char::from_digit(x, 16).unwrap_or('0')
        })
        .collect()
}

/// The entries of `IPAM.Config`, whose fields Docker's JSON leaves out when empty
/// (`omitempty`): `{{.Gateway}}` of a subnet given without one is empty, as with Docker.
fn omitted(doc: &Value) -> Vec<(&Map<String, Value>, &'static [&'static str])> {
    const FIELDS: &[&str] = &["Subnet", "IPRange", "Gateway"];
    doc.pointer("/IPAM/Config")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .map(|c| (c, FIELDS))
        .collect()
}

fn inspect(lab: &str, a: InspectArgs) -> anyhow::Result<u8> {
    let handle = match Lab::open(lab) {
        Ok(l) => Some(l),
        Err(Error::LabNotFound { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    let mut docs = vec![];
    let mut failed = false;
    for name in &a.names {
        let found = match &handle {
            Some(l) => l.inspect_network(name),
            None => Err(Error::spec("network", name, "no such network")),
        };
        match found {
            Ok(n) => docs.push(to_docker_json(&n)),
            Err(e) => {
                eprintln!("Error: No such network: {name}");
                tracing::debug!("{e}");
                failed = true;
            }
        }
    }
    match &a.format {
        Some(f) => {
            let template = match Template::parse(f) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("Template parsing error: {e}");
                    return Ok(1);
                }
            };
            for d in &docs {
                let options = Options {
                    omitted: omitted(d),
                    ..Options::default()
                };
                match template.execute(d, &options) {
                    Ok(line) => println!("{line}"),
                    Err(e) => {
                        eprintln!("Template parsing error: {e}");
                        return Ok(1);
                    }
                }
            }
        }
        None => println!("{}", crate::inspect::to_pretty_json(&docs)),
    }
    Ok(u8::from(failed))
}

fn rm(lab: &str, a: super::containers::NamesArgs) -> anyhow::Result<u8> {
    let l = Lab::open(lab)?;
    let mut failed = false;
    for name in &a.names {
        match l.remove_network(name) {
            Ok(()) => println!("{name}"),
            Err(e) => {
                eprintln!("netlab: {e}");
                failed = true;
            }
        }
    }
    Ok(u8::from(failed))
}

fn prune(lab: &str, a: PruneArgs) -> anyhow::Result<u8> {
    if !a.force {
        print!(
            "WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue? [y/N] "
        );
        std::io::stdout().flush()?;
        let stdin = std::io::stdin();
        let mut answer = String::new();
        if stdin.is_terminal() || !stdin.lock().fill_buf()?.is_empty() {
            stdin.lock().read_line(&mut answer)?;
        }
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            println!();
            return Ok(0);
        }
    }
    let names = match Lab::open(lab) {
        Ok(l) => l.prune_networks()?,
        Err(Error::LabNotFound { .. }) => vec![],
        Err(e) => return Err(e.into()),
    };
    if !names.is_empty() {
        println!("Deleted Networks:");
        for n in names {
            println!("{n}");
        }
        println!();
    }
    Ok(0)
}
