//! What `docker ps` shows of containers: which ones and in what order (newest first,
//! `--filter`, `-n`), their columns (`PORTS` folded like Docker's `DisplayablePorts`,
//! `STATUS`, the quoted `COMMAND`), the fields `--format` templates read, and Go's
//! `tabwriter` that lines the table up. Measured against Docker 20.10.

use std::collections::HashMap;

use regex::Regex;
use serde_json::{Map, Value};

use super::container::{ContainerState, ContainerStatus};
use super::port::Proto;
use super::template::go_quote;
use super::time::{go_time, human_duration};
use crate::error::{Error, Result};

/// Docker's default table: `docker ps` without `--format`.
pub const DEFAULT_TABLE: &str =
    "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";

/// What netlab shows as `.Image`: containers run this machine's programs, not an image.
pub const NO_IMAGE: &str = "-";

/// The fields of `--format` and the headers Docker gives their columns. `IPAddress` is
/// netlab's own (Docker's `ps` has no such field); Docker's `Size` is missing, as netlab
/// has no image layers to measure.
pub const FIELDS: [(&str, &str); 14] = [
    ("ID", "CONTAINER ID"),
    ("Image", "IMAGE"),
    ("Command", "COMMAND"),
    ("CreatedAt", "CREATED AT"),
    ("RunningFor", "CREATED"),
    ("Ports", "PORTS"),
    ("State", "STATE"),
    ("Status", "STATUS"),
    ("LocalVolumes", "LOCAL VOLUMES"),
    ("Names", "NAMES"),
    ("Labels", "LABELS"),
    ("Mounts", "MOUNTS"),
    ("Networks", "NETWORKS"),
    ("IPAddress", "IP ADDRESS"),
];

/// One port as Docker's container list has it: exposed only (`ip` none, `public` 0) or
/// published on `ip:public`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedPort {
    /// The host address it is published on; `None` when it is only exposed.
    pub ip: Option<String>,
    /// The container's port.
    pub private: u16,
    /// The host port (0 when only exposed).
    pub public: u16,
    /// Its protocol.
    pub proto: Proto,
}

/// The ports of a container as Docker lists them: each binding of a port, or the exposed
/// port alone when it has none.
pub fn listed_ports(c: &ContainerState) -> Vec<ListedPort> {
    // A stopped container forwards nothing and lists no ports, as in Docker.
    if !c.connected {
        return vec![];
    }
    let ipv6 = c.networks.first().is_some_and(|e| e.ip6.is_some());
    let mut bound: HashMap<(u16, Proto), Vec<&super::PortBinding>> = HashMap::new();
    for b in &c.ports {
        bound
            .entry((b.container_port, b.proto))
            .or_default()
            .push(b);
    }
    let mut out = Vec::with_capacity(c.expose.len().max(c.ports.len()));
    for p in &c.expose {
        match bound.remove(&(p.port, p.proto)) {
            Some(bs) => out.extend(bs.into_iter().flat_map(|b| {
                b.listen_texts(ipv6).into_iter().map(|ip| ListedPort {
                    ip: Some(ip),
                    private: b.container_port,
                    public: b.host_port.unwrap_or(0),
                    proto: b.proto,
                })
            })),
            None => out.push(ListedPort {
                ip: None,
                private: p.port,
                public: 0,
                proto: p.proto,
            }),
        }
    }
    // Published ports are exposed too; any left over still shows.
    let mut rest: Vec<&super::PortBinding> = bound.into_values().flatten().collect();
    rest.sort_by_key(|b| (b.container_port, b.proto));
    out.extend(rest.into_iter().flat_map(|b| {
        b.listen_texts(ipv6).into_iter().map(|ip| ListedPort {
            ip: Some(ip),
            private: b.container_port,
            public: b.host_port.unwrap_or(0),
            proto: b.proto,
        })
    }));
    out
}

/// Docker's `.Networks`: the names of its networks, sorted, comma-separated: `none` for a
/// container run there (`--network none`), nothing for one disconnected from all its
/// networks.
pub fn network_names(c: &ContainerState) -> String {
    if c.none_network_id.is_some() {
        return crate::model::network::NONE_NETWORK.into();
    }
    let mut names: Vec<&str> = c.networks.iter().map(|e| e.network.as_str()).collect();
    names.sort_unstable();
    names.join(",")
}

/// Docker's `PORTS` column (`DisplayablePorts` of Docker 20.10's CLI): sorted by
/// container port, then address, host port, protocol; a port published on the same
/// host port, and exposed ports, fold into ranges per address and protocol
/// (`0.0.0.0:8000-8002->8000-8002/tcp`, `6000-6001/tcp`); a port published on another
/// host port is listed alone, after the rest (`127.0.0.1:7000->80/tcp`). Like Docker, a
/// range interrupted by another port of the same group is written out where it broke.
pub fn display_ports(ports: &[ListedPort]) -> String {
    type Key = (Option<String>, Proto);
    let mut ports: Vec<&ListedPort> = ports.iter().collect();
    ports.sort_by(|a, b| {
        (
            a.private,
            a.ip.as_deref().unwrap_or(""),
            a.public,
            a.proto.as_str(),
        )
            .cmp(&(
                b.private,
                b.ip.as_deref().unwrap_or(""),
                b.public,
                b.proto.as_str(),
            ))
    });
    let form = |key: &Key, first: u16, last: u16| {
        let range = if first == last {
            first.to_string()
        } else {
            format!("{first}-{last}")
        };
        match &key.0 {
            Some(ip) => format!("{ip}:{range}->{range}/{}", key.1.as_str()),
            None => format!("{range}/{}", key.1.as_str()),
        }
    };
    let mut groups: HashMap<Key, (u16, u16)> = HashMap::new();
    let mut order: Vec<Key> = Vec::new();
    let mut result = Vec::new();
    let mut mappings = Vec::new();
    for p in ports {
        if let Some(ip) = &p.ip
            && p.public != p.private
        {
            mappings.push(format!(
                "{ip}:{}->{}/{}",
                p.public,
                p.private,
                p.proto.as_str()
            ));
            continue;
        }
        let key: Key = (p.ip.clone(), p.proto);
        match groups.get_mut(&key) {
            None => {
                groups.insert(key.clone(), (p.private, p.private));
                order.push(key);
            }
            Some(g) if u32::from(p.private) == u32::from(g.1) + 1 => g.1 = p.private,
            Some(g) => {
                result.push(form(&key, g.0, g.1));
                *g = (p.private, p.private);
            }
        }
    }
    for key in &order {
        let (first, last) = groups[key];
        result.push(form(key, first, last));
    }
    result.extend(mappings);
    result.join(", ")
}

/// `STATUS`: `Up 5 seconds`, `Exited (0) 2 minutes ago`, `Created`.
pub fn status_text(c: &ContainerState, now: u64) -> String {
    let ago = |t: Option<u64>| human_duration(now.saturating_sub(t.unwrap_or(now)));
    match c.status {
        ContainerStatus::Running => format!("Up {}", ago(c.started)),
        ContainerStatus::Exited => format!(
            "Exited ({}) {} ago",
            c.exit_code.unwrap_or(0),
            ago(c.finished)
        ),
        ContainerStatus::Created => "Created".into(),
    }
}

/// `.State`: `created`, `running` or `exited`.
pub fn state_word(status: ContainerStatus) -> &'static str {
    match status {
        ContainerStatus::Created => "created",
        ContainerStatus::Running => "running",
        ContainerStatus::Exited => "exited",
    }
}

/// `COMMAND`: the program and its arguments as Docker's list joins them (an argument
/// with a space in single quotes), cut to 20 characters with `…` unless `no_trunc`, then
/// quoted like Go (`"sh -c 'echo \"quoted…"`).
pub fn command_text(argv: &[String], no_trunc: bool) -> String {
    let mut words = argv.iter();
    let mut text = words.next().cloned().unwrap_or_default();
    for w in words {
        text.push(' ');
        if w.contains(' ') {
            text.push_str(&format!("'{w}'"));
        } else {
            text.push_str(w);
        }
    }
    if !no_trunc && text.chars().count() > 20 {
        text = text.chars().take(19).collect::<String>() + "…";
    }
    go_quote(&text)
}

/// `--filter` of `ps`: the keys netlab knows, each given once or more (values of one key
/// match if any does, different keys must all match), as Docker combines them.
#[derive(Debug, Default)]
pub struct Filters {
    /// `name=`: regular expressions, matched anywhere in the name, with or without
    /// Docker's leading `/`; one that does not compile matches nothing, as in Docker.
    names: Vec<Option<Regex>>,
    /// `id=`: the same, on the full id.
    ids: Vec<Option<Regex>>,
    /// `status=`: `None` for a status Docker knows and netlab never has (`paused`…).
    statuses: Vec<Option<ContainerStatus>>,
    /// `exited=`: exit codes of exited containers.
    exited: Vec<i32>,
    /// `network=`: a network's name (exactly, as Docker matches it) the container is on.
    networks: Vec<String>,
}

impl Filters {
    /// Parses `KEY=VALUE` options.
    pub fn parse(args: &[String]) -> Result<Filters> {
        let mut f = Filters::default();
        for arg in args {
            let bad = |reason: &str| Error::spec("--filter", arg, reason);
            let Some((key, value)) = arg.split_once('=') else {
                return Err(bad("write KEY=VALUE, e.g. name=web or status=exited"));
            };
            match key {
                "name" => f.names.push(Regex::new(value).ok()),
                "id" => f.ids.push(Regex::new(value).ok()),
                "status" => f.statuses.push(match value {
                    "created" => Some(ContainerStatus::Created),
                    "running" => Some(ContainerStatus::Running),
                    "exited" => Some(ContainerStatus::Exited),
                    "paused" | "restarting" | "removing" | "dead" => None,
                    _ => {
                        return Err(bad(
                            "a status is created, running or exited (Docker also has paused, restarting, removing and dead, which netlab containers never are)",
                        ));
                    }
                }),
                "exited" => f.exited.push(
                    value
                        .parse()
                        .map_err(|_| bad("exited= takes an exit code, e.g. exited=0"))?,
                ),
                "network" => f.networks.push(value.to_string()),
                "ancestor" | "before" | "expose" | "health" | "isolation" | "is-task"
                | "label" | "publish" | "since" | "volume" => {
                    return Err(bad(
                        "netlab's ps filters by name, id, status, exited and network only",
                    ));
                }
                _ => {
                    return Err(bad(
                        "the filters are name, id, status, exited and network (as in docker ps)",
                    ));
                }
            }
        }
        Ok(f)
    }

    /// A status filter lists stopped containers without `-a`, as in Docker.
    pub fn implies_all(&self) -> bool {
        !self.statuses.is_empty()
    }

    /// Whether `c` passes every key given.
    pub fn matches(&self, c: &ContainerState) -> bool {
        let regex_any = |res: &[Option<Regex>], texts: &[&str]| {
            res.is_empty()
                || res
                    .iter()
                    .flatten()
                    .any(|re| texts.iter().any(|t| re.is_match(t)))
        };
        let slashed = format!("/{}", c.name);
        regex_any(&self.names, &[&slashed, &c.name])
            && regex_any(&self.ids, &[&c.id])
            && (self.statuses.is_empty() || self.statuses.contains(&Some(c.status)))
            && (self.exited.is_empty()
                || (c.status == ContainerStatus::Exited
                    && self.exited.contains(&c.exit_code.unwrap_or(0))))
            && (self.networks.is_empty()
                || c.networks
                    .iter()
                    .any(|e| self.networks.contains(&e.network)))
    }
}

/// The containers `ps` shows, newest first: running ones, or all with `all`, a status
/// filter or `last`; those the filters pass; at most `last` of them (0: no limit, as
/// Docker's `-n 0`). `list` is in creation order, as the lab lists it.
pub fn select(
    list: Vec<ContainerState>,
    all: bool,
    last: Option<usize>,
    filters: &Filters,
) -> Vec<ContainerState> {
    let limit = last.filter(|n| *n > 0);
    let all = all || limit.is_some() || filters.implies_all();
    list.into_iter()
        .rev()
        .filter(|c| (all || c.status == ContainerStatus::Running) && filters.matches(c))
        .take(limit.unwrap_or(usize::MAX))
        .collect()
}

/// The fields `--format` reads for `c`, keys sorted as Docker's `{{json .}}` writes them.
/// `everyone` is the whole lab, for the names links give (`mongodb,webserver1/mongo`
/// with `no_trunc`); `now` is seconds since the epoch.
pub fn fields(
    c: &ContainerState,
    everyone: &[ContainerState],
    now: u64,
    no_trunc: bool,
) -> Map<String, Value> {
    let id = if no_trunc {
        c.id.clone()
    } else {
        c.id.chars().take(12).collect()
    };
    let mut names = vec![c.name.clone()];
    if no_trunc {
        for other in everyone {
            names.extend(
                other
                    .links
                    .iter()
                    .filter(|l| l.name == c.name)
                    .map(|l| format!("{}/{}", other.name, l.alias)),
            );
        }
    }
    let argv = c.command.argv();
    let values = [
        ("Command", command_text(&argv, no_trunc)),
        ("CreatedAt", go_time(c.created)),
        ("ID", id),
        (
            "IPAddress",
            if c.connected {
                c.ip.to_string()
            } else {
                String::new()
            },
        ),
        ("Image", NO_IMAGE.into()),
        ("Labels", String::new()),
        ("LocalVolumes", "0".into()),
        ("Mounts", String::new()),
        ("Names", names.join(",")),
        ("Networks", network_names(c)),
        ("Ports", display_ports(&listed_ports(c))),
        (
            "RunningFor",
            format!("{} ago", human_duration(now.saturating_sub(c.created))),
        ),
        ("State", state_word(c.status).into()),
        ("Status", status_text(c, now)),
    ];
    values
        .into_iter()
        .map(|(k, v)| (k.to_string(), Value::String(v)))
        .collect()
}

/// The header row's values: each field's column name.
pub fn header_fields() -> Map<String, Value> {
    FIELDS
        .iter()
        .map(|(k, h)| (k.to_string(), Value::String(h.to_string())))
        .collect()
}

/// Go's `tabwriter` as Docker's tables use it (minimum width 10, padding 3, spaces):
/// cells end at tabs, each column is as wide as its widest cell plus 3 (at least 10),
/// the last cell of a line is not padded, and a column's width holds for a run of
/// consecutive lines that have that column.
pub fn tabwrite(text: &str) -> String {
    let lines: Vec<Vec<&str>> = text.split('\n').map(|l| l.split('\t').collect()).collect();
    let mut out = String::new();
    format_block(&mut out, &lines, &mut Vec::new(), 0, lines.len());
    out
}

/// Go's `Writer.format`: lines `line0..line1`, whose columns left of `widths.len()` are
/// decided.
fn format_block(
    out: &mut String,
    lines: &[Vec<&str>],
    widths: &mut Vec<usize>,
    line0: usize,
    line1: usize,
) {
    const MIN_WIDTH: usize = 10;
    const PADDING: usize = 3;
    let column = widths.len();
    let mut start = line0;
    let mut this = line0;
    while this < line1 {
        if column + 1 >= lines[this].len() {
            this += 1;
            continue;
        }
        // A block of lines that have a cell in this column begins here.
        write_lines(out, lines, widths, start, this);
        start = this;
        let mut width = MIN_WIDTH;
        while this < line1 && column + 1 < lines[this].len() {
            width = width.max(lines[this][column].chars().count() + PADDING);
            this += 1;
        }
        widths.push(width);
        format_block(out, lines, widths, start, this);
        widths.pop();
        start = this;
    }
    write_lines(out, lines, widths, start, line1);
}

fn write_lines(out: &mut String, lines: &[Vec<&str>], widths: &[usize], from: usize, to: usize) {
    for (i, line) in lines.iter().enumerate().take(to).skip(from) {
        for (j, cell) in line.iter().enumerate() {
            out.push_str(cell);
            if j + 1 < line.len() {
                let pad = widths
                    .get(j)
                    .map_or(0, |w| w.saturating_sub(cell.chars().count()));
                out.extend(std::iter::repeat_n(' ', pad));
            }
        }
        if i + 1 < lines.len() {
            out.push('\n');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CommandSpec, ExposedPort, PortBinding};

    fn port(ip: Option<&str>, private: u16, public: u16, proto: Proto) -> ListedPort {
        ListedPort {
            ip: ip.map(String::from),
            private,
            public,
            proto,
        }
    }

    #[test]
    fn ports_column_as_docker_folds_it() {
        use Proto::*;
        let all = Some("0.0.0.0");
        let cases: Vec<(Vec<ListedPort>, &str)> = vec![
            (vec![], ""),
            (vec![port(None, 27017, 0, Tcp)], "27017/tcp"),
            (vec![port(all, 8080, 8080, Tcp)], "0.0.0.0:8080->8080/tcp"),
            (
                (8000..=8002).map(|p| port(None, p, 0, Tcp)).collect(),
                "8000-8002/tcp",
            ),
            // Docker 20.10, measured: -p 8000-8002:8000-8002 -p 9000-9001:9000-9001/udp
            // -p 127.0.0.1:7000:80 -p 5000:5000 -p 5001:5002 --expose 6000-6001 (IPv4 part).
            (
                vec![
                    port(all, 9001, 9001, Udp),
                    port(all, 8001, 8001, Tcp),
                    port(Some("127.0.0.1"), 80, 7000, Tcp),
                    port(None, 6000, 0, Tcp),
                    port(all, 5000, 5000, Tcp),
                    port(all, 8000, 8000, Tcp),
                    port(None, 6001, 0, Tcp),
                    port(all, 5002, 5001, Tcp),
                    port(all, 8002, 8002, Tcp),
                    port(all, 9000, 9000, Udp),
                ],
                "0.0.0.0:5000->5000/tcp, 0.0.0.0:8000-8002->8000-8002/tcp, 6000-6001/tcp, 0.0.0.0:9000-9001->9000-9001/udp, 127.0.0.1:7000->80/tcp, 0.0.0.0:5001->5002/tcp",
            ),
            // -P: host ports the lab chose, each listed alone.
            (
                vec![
                    port(Some("127.0.0.1"), 81, 32769, Tcp),
                    port(all, 82, 32768, Tcp),
                ],
                "127.0.0.1:32769->81/tcp, 0.0.0.0:32768->82/tcp",
            ),
            // tcp and udp of the same numbers fold apart; sorted by port first.
            (
                vec![
                    port(None, 54, 0, Udp),
                    port(None, 53, 0, Tcp),
                    port(None, 53, 0, Udp),
                    port(None, 54, 0, Tcp),
                ],
                "53-54/tcp, 53-54/udp",
            ),
            // A gap starts a new range; the broken one is written where it broke.
            (
                vec![
                    port(None, 1, 0, Tcp),
                    port(None, 2, 0, Tcp),
                    port(None, 4, 0, Tcp),
                    port(None, 3, 0, Udp),
                ],
                "1-2/tcp, 4/tcp, 3/udp",
            ),
        ];
        for (ports, want) in cases {
            assert_eq!(display_ports(&ports), want, "{ports:?}");
        }
    }

    fn container(name: &str, status: ContainerStatus) -> ContainerState {
        ContainerState {
            id: format!("{:0<64}", name.len()),
            name: name.into(),
            hostname: name.into(),
            env: vec![],
            command: CommandSpec::Exec(vec!["sleep".into(), "1000".into()]),
            expose: vec![],
            status,
            pid: 0,
            exit_code: (status == ContainerStatus::Exited).then_some(3),
            restart_count: 0,
            restarting: false,
            restart_policy: Default::default(),
            auto_remove: false,
            network_mode: "default".into(),
            none_network_id: None,
            ip: "172.17.0.2".parse().unwrap(),
            connected: true,
            faults: vec![],
            networks: vec![],
            prefix: 16,
            gateway: "172.17.0.1".parse().unwrap(),
            mac: "02:42:ac:11:00:02".into(),
            host_veth: "veth0".into(),
            created: 1000,
            started: Some(1000),
            finished: Some(1100),
            links: vec![],
            ports: vec![],
            pipework: vec![],
        }
    }

    #[test]
    fn listed_ports_of_a_container() {
        let mut c = container("web", ContainerStatus::Running);
        c.expose = vec![
            ExposedPort {
                port: 8080,
                proto: Proto::Tcp,
            },
            ExposedPort {
                port: 27017,
                proto: Proto::Tcp,
            },
        ];
        c.ports = vec![PortBinding {
            host_ip: None,
            host_port: Some(8080),
            container_port: 8080,
            proto: Proto::Tcp,
        }];
        assert_eq!(
            display_ports(&listed_ports(&c)),
            "0.0.0.0:8080->8080/tcp, 27017/tcp"
        );
    }

    #[test]
    fn columns() {
        let argv = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            command_text(&argv(&["sleep", "1000"]), false),
            "\"sleep 1000\""
        );
        assert_eq!(
            command_text(
                &argv(&["sh", "-c", "while true; do sleep 1000; done"]),
                false
            ),
            "\"sh -c 'while true; …\""
        );
        assert_eq!(
            command_text(&argv(&["sh", "-c", "echo \"quoted\" é"]), false),
            "\"sh -c 'echo \\\"quoted…\""
        );
        assert_eq!(
            command_text(&argv(&["sh", "-c", "echo \"quoted\" é"]), true),
            "\"sh -c 'echo \\\"quoted\\\" é'\""
        );
        let c = container("web", ContainerStatus::Running);
        assert_eq!(status_text(&c, 1005), "Up 5 seconds");
        assert_eq!(status_text(&c, 1000), "Up Less than a second");
        let e = container("done", ContainerStatus::Exited);
        assert_eq!(status_text(&e, 1220), "Exited (3) 2 minutes ago");
        let n = container("new", ContainerStatus::Created);
        assert_eq!(status_text(&n, 2000), "Created");
        let f = fields(&c, &[], 1065, false);
        assert_eq!(f["ID"], "300000000000");
        assert_eq!(f["RunningFor"], "About a minute ago");
        assert_eq!(f["CreatedAt"], "1970-01-01 00:16:40 +0000 UTC");
        assert_eq!(
            f["Networks"], "",
            "a container disconnected from every network"
        );
        let mut none = c.clone();
        none.none_network_id = Some("1".repeat(64));
        assert_eq!(fields(&none, &[], 1065, false)["Networks"], "none");
        let mut two = c.clone();
        for net in ["zeta", "appnet"] {
            two.networks.push(crate::model::container::EndpointState {
                network: net.into(),
                network_id: String::new(),
                ifname: "eth0".into(),
                ip: "10.0.0.2".parse().unwrap(),
                prefix: 24,
                gateway: None,
                ip6: None,
                prefix6: 0,
                gateway6: None,
                mac: String::new(),
                host_veth: String::new(),
                aliases: vec![],
                static_ip: None,
                static_ip6: None,
            });
        }
        assert_eq!(fields(&two, &[], 1065, false)["Networks"], "appnet,zeta");
        let on = |n: &str| Filters::parse(&[format!("network={n}")]).unwrap();
        assert!(
            on("appnet").matches(&two) && !on("app").matches(&two) && !on("appnet").matches(&c)
        );
        assert_eq!(f["State"], "running");
        let keys: Vec<&String> = f.keys().collect();
        assert_eq!(keys.len(), FIELDS.len(), "a header for every field");
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(
            keys, sorted,
            "{{json .}} writes the keys sorted, as Docker does"
        );
    }

    #[test]
    fn link_names_with_no_trunc() {
        let db = container("mongodb", ContainerStatus::Running);
        let mut web = container("web1", ContainerStatus::Running);
        web.links = vec![crate::LinkSpec::parse("mongodb:mongo").unwrap()];
        let lab = vec![db.clone(), web];
        assert_eq!(fields(&db, &lab, 0, false)["Names"], "mongodb");
        assert_eq!(fields(&db, &lab, 0, true)["Names"], "mongodb,web1/mongo");
    }

    #[test]
    fn selection_filters_and_order() {
        use ContainerStatus::*;
        let lab = vec![
            container("mongodb", Running),
            container("web1", Running),
            container("exited", Exited),
            container("created", Created),
            container("web2", Running),
        ];
        let names = |all: bool, last: Option<usize>, filters: &[&str]| {
            let f =
                Filters::parse(&filters.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
            select(lab.clone(), all, last, &f)
                .into_iter()
                .map(|c| c.name)
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert_eq!(names(false, None, &[]), "web2 web1 mongodb");
        assert_eq!(names(true, None, &[]), "web2 created exited web1 mongodb");
        assert_eq!(names(false, Some(2), &[]), "web2 created");
        assert_eq!(names(false, Some(0), &[]), "web2 web1 mongodb");
        assert_eq!(names(false, None, &["name=web"]), "web2 web1");
        assert_eq!(
            names(false, None, &["name=^/mon", "name=2$"]),
            "web2 mongodb"
        );
        assert_eq!(names(false, None, &["name=^mon"]), "mongodb");
        assert_eq!(names(false, None, &["name=["]), "");
        assert_eq!(names(false, None, &["status=exited"]), "exited");
        assert_eq!(
            names(false, None, &["status=exited", "status=created"]),
            "created exited"
        );
        assert_eq!(
            names(false, None, &["status=running", "name=web"]),
            "web2 web1"
        );
        assert_eq!(names(false, None, &["status=paused"]), "");
        assert_eq!(names(true, None, &["exited=3"]), "exited");
        assert_eq!(names(true, None, &["exited=0"]), "");
        assert_eq!(names(false, Some(1), &["status=running"]), "web2");
        assert_eq!(names(false, None, &["id=^4"]), "web2 web1");
        for bad in ["name", "status=bogus", "exited=x", "label=a", "colour=red"] {
            assert!(
                matches!(
                    Filters::parse(&[bad.to_string()]),
                    Err(Error::InvalidSpec { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn tabwriter_as_docker_pads() {
        // Measured: `docker ps -a --format 'table {{.ID}}\t{{.Names}}\t{{.Ports}}'`.
        let text = "CONTAINER ID\tNAMES\tPORTS\nc11c84e02876\tlongcmd\t\n629e7a15f94b\tmongodb\t27017/tcp\n";
        assert_eq!(
            tabwrite(text),
            "CONTAINER ID   NAMES     PORTS\nc11c84e02876   longcmd   \n629e7a15f94b   mongodb   27017/tcp\n"
        );
        // A line without tabs ends the block: the columns after it are measured anew.
        assert_eq!(
            tabwrite("a\tb\nlong text\nxxxxxxxxxxxxx\ty"),
            "a         b\nlong text\nxxxxxxxxxxxxx   y"
        );
        assert_eq!(tabwrite(""), "");
    }
}
