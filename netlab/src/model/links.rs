//! Docker's legacy links (`--link NAME:ALIAS`): the environment variables and `/etc/hosts`
//! entries a container gets for each container it links to, computed as Docker's
//! `links.ToEnv` does, so that the article's `$MONGO_PORT_27017_TCP_ADDR` works unchanged.

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::names::{container_name_rule, validate_container_name};
use crate::model::{ExposedPort, Proto};

/// One `--link NAME[:ALIAS]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkSpec {
    /// The linked container's name.
    pub name: String,
    /// The name the linking container knows it by: its `/etc/hosts` entry and the prefix
    /// of its variables (`mongo` gives `MONGO_PORT_27017_TCP_ADDR`).
    pub alias: String,
}

impl LinkSpec {
    /// Parses `NAME:ALIAS` or `NAME` (the alias is then the name). The alias follows the
    /// container-name rule, as in Docker, and a refusal says that rule and what broke it.
    pub fn parse(text: &str) -> Result<Self> {
        let (name, alias) = match text.split(':').collect::<Vec<_>>().as_slice() {
            [name] => (*name, *name),
            [name, alias] => (*name, *alias),
            _ => {
                return Err(Error::spec(
                    "--link",
                    text,
                    "write NAME:ALIAS or NAME, with one `:`",
                ));
            }
        };
        let check = |part: &str, value: &str| {
            validate_container_name(value).map_err(|e| {
                let why = match e {
                    Error::InvalidName { reason, .. } => reason,
                    other => other.to_string(),
                };
                Error::spec(
                    "--link",
                    text,
                    format!(
                        "the {part} {}: {why}; a {part} is {}",
                        crate::error::quote(value),
                        container_name_rule()
                    ),
                )
            })
        };
        check("name", name)?;
        check("alias", alias)?;
        Ok(LinkSpec {
            name: name.into(),
            alias: alias.into(),
        })
    }
}

/// What a link needs to know about the linked container.
#[derive(Debug, Clone)]
pub struct Linked<'a> {
    pub name: &'a str,
    pub hostname: &'a str,
    pub ip: Ipv4Addr,
    pub ports: &'a [ExposedPort],
    /// The variables the linked container was given (Docker's `Config.Env`).
    pub env: &'a [(String, String)],
}

/// Docker 20.10's order, the engine this project is checked against: by port number, and
/// tcp first only when two ports have the same number. (With `--expose 8000-8002
/// --expose 9000 --expose 53/udp` the engine's `ALIAS_PORT` is `udp://IP:53`.) Newer
/// moby sorts tcp before every other protocol and then by number; netlab follows the
/// engine its differential test runs against.
fn sorted(ports: &[ExposedPort]) -> Vec<ExposedPort> {
    let mut p = ports.to_vec();
    p.sort_by_key(|p| (p.port, p.proto != Proto::Tcp, p.proto));
    p.dedup();
    p
}

/// The variables `child` (named `child_name`) gets from a link to `linked` as `alias`, in
/// the engine's order: `ALIAS_PORT` for the first port, then for each port its four
/// variables, and after the last port of a run of consecutive ports of one protocol the
/// run's `_START`/`_END` variables; then `ALIAS_NAME` and the linked container's own
/// variables (less HOME and PATH) as `ALIAS_ENV_*`.
pub fn link_env(child_name: &str, alias: &str, linked: &Linked<'_>) -> Vec<(String, String)> {
    let a = alias.to_uppercase().replace('-', "_");
    let ip = linked.ip;
    let ports = sorted(linked.ports);
    let mut env = Vec::new();
    let mut push = |k: String, v: String| env.push((k, v));
    if let Some(p) = ports.first() {
        push(
            format!("{a}_PORT"),
            format!("{}://{ip}:{}", p.proto.as_str(), p.port),
        );
    }
    let mut run_start = 0;
    for (i, p) in ports.iter().enumerate() {
        let (proto, up, n) = (p.proto.as_str(), p.proto.as_str().to_uppercase(), p.port);
        push(format!("{a}_PORT_{n}_{up}"), format!("{proto}://{ip}:{n}"));
        push(format!("{a}_PORT_{n}_{up}_ADDR"), ip.to_string());
        push(format!("{a}_PORT_{n}_{up}_PORT"), n.to_string());
        push(format!("{a}_PORT_{n}_{up}_PROTO"), proto.to_string());
        let continues = ports
            .get(i + 1)
            .is_some_and(|next| next.proto == p.proto && u32::from(next.port) == u32::from(n) + 1);
        if continues {
            continue;
        }
        if i > run_start {
            let s = ports[run_start];
            let (sproto, sup) = (s.proto.as_str(), s.proto.as_str().to_uppercase());
            push(
                format!("{a}_PORT_{}_{sup}_START", s.port),
                format!("{sproto}://{ip}:{}", s.port),
            );
            push(
                format!("{a}_PORT_{}_{sup}_PORT_START", s.port),
                s.port.to_string(),
            );
            push(
                format!("{a}_PORT_{}_{sup}_END", s.port),
                format!("{proto}://{ip}:{n}"),
            );
            push(format!("{a}_PORT_{}_{sup}_PORT_END", s.port), n.to_string());
        }
        run_start = i + 1;
    }
    push(format!("{a}_NAME"), format!("/{child_name}/{alias}"));
    for (k, v) in linked.env {
        if k != "HOME" && k != "PATH" {
            push(format!("{a}_ENV_{k}"), v.clone());
        }
    }
    env
}

/// The `/etc/hosts` line for a link: the alias, the linked container's hostname and name.
pub fn hosts_entry(alias: &str, linked: &Linked<'_>) -> String {
    let mut names = vec![alias];
    for n in [linked.hostname, linked.name] {
        if !names.contains(&n) {
            names.push(n);
        }
    }
    format!("{}\t{}", linked.ip, names.join(" "))
}

/// Docker's /etc/hosts of a container: localhost, the link entries, then itself: a line
/// for each of its addresses, one per network, in the order it joined them.
pub fn hosts_file(ips: &[std::net::Ipv4Addr], hostname: &str, links: &[String]) -> String {
    let mut s = String::from(
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n",
    );
    for l in links {
        s.push_str(l);
        s.push('\n');
    }
    // A container without a network (`--network none`) has no line of its own.
    for ip in ips.iter().filter(|ip| !ip.is_unspecified()) {
        s.push_str(&format!("{ip}\t{hostname}\n"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp(port: u16) -> ExposedPort {
        ExposedPort {
            port,
            proto: Proto::Tcp,
        }
    }
    fn udp(port: u16) -> ExposedPort {
        ExposedPort {
            port,
            proto: Proto::Udp,
        }
    }
    fn kv(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_articles_mongo_link() {
        let linked = Linked {
            name: "mongodb",
            hostname: "mongodb",
            ip: Ipv4Addr::new(172, 17, 0, 2),
            ports: &[tcp(27017)],
            env: &[],
        };
        assert_eq!(
            link_env("webserver1", "mongo", &linked),
            kv(&[
                ("MONGO_PORT", "tcp://172.17.0.2:27017"),
                ("MONGO_PORT_27017_TCP", "tcp://172.17.0.2:27017"),
                ("MONGO_PORT_27017_TCP_ADDR", "172.17.0.2"),
                ("MONGO_PORT_27017_TCP_PORT", "27017"),
                ("MONGO_PORT_27017_TCP_PROTO", "tcp"),
                ("MONGO_NAME", "/webserver1/mongo"),
            ])
        );
        assert_eq!(hosts_entry("mongo", &linked), "172.17.0.2\tmongo mongodb");
    }

    #[test]
    fn ranges_udp_env_and_dashed_aliases() {
        let ports = [udp(53), tcp(8002), tcp(8000), tcp(8001), tcp(9000), udp(54)];
        let env = kv(&[
            ("PATH", "/x"),
            ("HOME", "/root"),
            ("DB_USER", "ada"),
            ("EMPTY", ""),
        ]);
        let linked = Linked {
            name: "db-1",
            hostname: "dbhost",
            ip: Ipv4Addr::new(10, 0, 0, 5),
            ports: &ports,
            env: &env,
        };
        let got = link_env("web", "my-db", &linked);
        // Docker 20.10: by number (53/udp first), a run's range variables after its last
        // port.
        let expected = kv(&[
            ("MY_DB_PORT", "udp://10.0.0.5:53"),
            ("MY_DB_PORT_53_UDP", "udp://10.0.0.5:53"),
            ("MY_DB_PORT_53_UDP_ADDR", "10.0.0.5"),
            ("MY_DB_PORT_53_UDP_PORT", "53"),
            ("MY_DB_PORT_53_UDP_PROTO", "udp"),
            ("MY_DB_PORT_54_UDP", "udp://10.0.0.5:54"),
            ("MY_DB_PORT_54_UDP_ADDR", "10.0.0.5"),
            ("MY_DB_PORT_54_UDP_PORT", "54"),
            ("MY_DB_PORT_54_UDP_PROTO", "udp"),
            ("MY_DB_PORT_53_UDP_START", "udp://10.0.0.5:53"),
            ("MY_DB_PORT_53_UDP_PORT_START", "53"),
            ("MY_DB_PORT_53_UDP_END", "udp://10.0.0.5:54"),
            ("MY_DB_PORT_53_UDP_PORT_END", "54"),
            ("MY_DB_PORT_8000_TCP", "tcp://10.0.0.5:8000"),
            ("MY_DB_PORT_8000_TCP_ADDR", "10.0.0.5"),
            ("MY_DB_PORT_8000_TCP_PORT", "8000"),
            ("MY_DB_PORT_8000_TCP_PROTO", "tcp"),
            ("MY_DB_PORT_8001_TCP", "tcp://10.0.0.5:8001"),
            ("MY_DB_PORT_8001_TCP_ADDR", "10.0.0.5"),
            ("MY_DB_PORT_8001_TCP_PORT", "8001"),
            ("MY_DB_PORT_8001_TCP_PROTO", "tcp"),
            ("MY_DB_PORT_8002_TCP", "tcp://10.0.0.5:8002"),
            ("MY_DB_PORT_8002_TCP_ADDR", "10.0.0.5"),
            ("MY_DB_PORT_8002_TCP_PORT", "8002"),
            ("MY_DB_PORT_8002_TCP_PROTO", "tcp"),
            ("MY_DB_PORT_8000_TCP_START", "tcp://10.0.0.5:8000"),
            ("MY_DB_PORT_8000_TCP_PORT_START", "8000"),
            ("MY_DB_PORT_8000_TCP_END", "tcp://10.0.0.5:8002"),
            ("MY_DB_PORT_8000_TCP_PORT_END", "8002"),
            ("MY_DB_PORT_9000_TCP", "tcp://10.0.0.5:9000"),
            ("MY_DB_PORT_9000_TCP_ADDR", "10.0.0.5"),
            ("MY_DB_PORT_9000_TCP_PORT", "9000"),
            ("MY_DB_PORT_9000_TCP_PROTO", "tcp"),
            ("MY_DB_NAME", "/web/my-db"),
            ("MY_DB_ENV_DB_USER", "ada"),
            ("MY_DB_ENV_EMPTY", ""),
        ]);
        assert_eq!(got, expected);
        assert_eq!(hosts_entry("my-db", &linked), "10.0.0.5\tmy-db dbhost db-1");
    }

    /// The engine's `ALIAS_PORT`: the lowest number wins whatever its protocol; tcp only
    /// breaks a tie; a udp port between tcp ports of one number ends no tcp run.
    #[test]
    fn alias_port_is_the_lowest_number_tcp_first_on_a_tie() {
        let cases: [(&[ExposedPort], &str); 4] = [
            (&[tcp(8000), tcp(9000), udp(53)], "udp://10.0.0.5:53"),
            (&[udp(80), tcp(80)], "tcp://10.0.0.5:80"),
            (&[tcp(443), udp(80)], "udp://10.0.0.5:80"),
            (&[tcp(27017)], "tcp://10.0.0.5:27017"),
        ];
        for (ports, want) in cases {
            let linked = Linked {
                name: "db",
                hostname: "db",
                ip: Ipv4Addr::new(10, 0, 0, 5),
                ports,
                env: &[],
            };
            let env = link_env("web", "db", &linked);
            assert_eq!(
                env[0],
                ("DB_PORT".to_string(), want.to_string()),
                "{ports:?}"
            );
        }
        // 80/tcp, 80/udp, 81/tcp: sorted by number the udp port sits between the two tcp
        // ones, and the engine makes no range of them.
        let ports = [tcp(80), udp(80), tcp(81)];
        let linked = Linked {
            name: "db",
            hostname: "db",
            ip: Ipv4Addr::new(10, 0, 0, 5),
            ports: &ports,
            env: &[],
        };
        let env = link_env("web", "db", &linked);
        assert!(!env.iter().any(|(k, _)| k.ends_with("_START")), "{env:?}");
    }

    #[test]
    fn a_link_without_ports_still_names_the_container() {
        let linked = Linked {
            name: "a",
            hostname: "a",
            ip: Ipv4Addr::new(172, 17, 0, 9),
            ports: &[],
            env: &[],
        };
        assert_eq!(link_env("b", "a", &linked), kv(&[("A_NAME", "/b/a")]));
        assert_eq!(hosts_entry("a", &linked), "172.17.0.9\ta");
    }

    #[test]
    fn parses_link_options() {
        assert_eq!(
            LinkSpec::parse("mongodb:mongo").unwrap(),
            LinkSpec {
                name: "mongodb".into(),
                alias: "mongo".into()
            }
        );
        assert_eq!(
            LinkSpec::parse("db").unwrap(),
            LinkSpec {
                name: "db".into(),
                alias: "db".into()
            }
        );
        // (input, words the message must have)
        let rule = container_name_rule();
        let cases: &[(&str, &[&str])] = &[
            ("", &["the name \"\"", "the name is empty", &rule]),
            (":x", &["the name \"\""]),
            ("x:", &["the alias \"\"", "the name is empty"]),
            ("a b:c", &["' ' is not allowed"]),
            ("x:y:z", &["one `:`"]),
            (
                "db:-mongo",
                &[
                    "the alias \"-mongo\"",
                    "must start with a letter or digit",
                    &rule,
                ],
            ),
            ("db:_m", &["must start with a letter or digit"]),
            ("db:m/x", &["'/' is not allowed"]),
        ];
        for (bad, words) in cases {
            let m = LinkSpec::parse(bad).unwrap_err().to_string();
            for w in *words {
                assert!(m.contains(w), "{bad}: {w:?} not in {m:?}");
            }
        }
        // What the message promises is what the check accepts.
        let longest = "a".repeat(64);
        for ok in ["db:m", "db:M0", "db:m.x-y_z", "db:0m"] {
            assert!(LinkSpec::parse(ok).is_ok(), "{ok}");
        }
        assert!(LinkSpec::parse(&format!("db:{longest}")).is_ok());
        let m = LinkSpec::parse(&format!("db:{longest}a"))
            .unwrap_err()
            .to_string();
        assert!(m.contains("at most 64"), "{m}");
    }

    #[test]
    fn hosts_has_a_line_per_address() {
        let ips = ["172.18.0.2".parse().unwrap(), "10.0.0.5".parse().unwrap()];
        let text = hosts_file(&ips, "web", &["172.17.0.3\tdb".to_string()]);
        let tail: Vec<&str> = text.lines().skip(6).collect();
        assert_eq!(tail, ["172.17.0.3\tdb", "172.18.0.2\tweb", "10.0.0.5\tweb"]);
        assert_eq!(
            hosts_file(&[std::net::Ipv4Addr::UNSPECIFIED], "alone", &[])
                .lines()
                .count(),
            6,
            "no line of its own without a network"
        );
    }
}
