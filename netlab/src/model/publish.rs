//! Published ports (`-p`), in all of Docker's forms:
//! `ip:hostPort:containerPort`, `ip::containerPort`, `hostPort:containerPort`,
//! `containerPort`, ranges (`8000-8002:8000-8002`) and a `/tcp` or `/udp` suffix.

use std::collections::HashMap;
use std::fmt;
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use super::port::{Proto, parse_range};
use crate::error::{Error, Result, quote};

/// One published port: traffic to the lab host's `host_ip:host_port` goes to the
/// container's `container_port`. `host_port` is `None` until the lab picks a free
/// ephemeral port; [`ContainerState::ports`](crate::ContainerState::ports) has the port it
/// picked. Parse Docker's `-p` syntax with [`parse_publish`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortBinding {
    /// The lab host's address to listen on; `None` for every address (`0.0.0.0`).
    pub host_ip: Option<Ipv4Addr>,
    /// The lab host's port; `None` asks the lab for a free one.
    pub host_port: Option<u16>,
    /// The container's port.
    pub container_port: u16,
    /// Its protocol.
    pub proto: Proto,
}

impl PortBinding {
    /// Docker's `HostIp` (`0.0.0.0` for every address of the host).
    pub(crate) fn host_ip_text(&self) -> String {
        self.host_ip
            .map(|i| i.to_string())
            .unwrap_or_else(|| "0.0.0.0".into())
    }

    /// The host addresses this binding listens on as Docker lists them: `0.0.0.0`, and `::`
    /// too when it is published for every address of a container with IPv6 (the lab host
    /// forwards both families then).
    pub(crate) fn listen_texts(&self, ipv6: bool) -> Vec<String> {
        let mut out = vec![self.host_ip_text()];
        if ipv6 && self.scope().is_none() {
            out.push("::".into());
        }
        out
    }

    /// The one host address this binding listens on; `None` for every address (`0.0.0.0`
    /// counts as every address, as in Docker).
    pub(crate) fn scope(&self) -> Option<Ipv4Addr> {
        self.host_ip.filter(|ip| !ip.is_unspecified())
    }

    /// Two bindings compete for the same host port (same protocol and port, and address
    /// sets that overlap: equal, or one of them is every address).
    #[cfg(test)]
    pub(crate) fn conflicts_with(&self, other: &PortBinding) -> bool {
        self.proto == other.proto
            && self.host_port.is_some()
            && self.host_port == other.host_port
            && (self.scope().is_none() || other.scope().is_none() || self.scope() == other.scope())
    }
}

impl fmt::Display for PortBinding {
    /// `docker port`'s line: `8080/tcp -> 0.0.0.0:8080`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hp = self
            .host_port
            .map(|p| p.to_string())
            .unwrap_or_else(|| "?".into());
        write!(
            f,
            "{}/{} -> {}:{hp}",
            self.container_port,
            self.proto.as_str(),
            self.host_ip_text()
        )
    }
}

/// The host ports published in a lab, indexed so that checking a binding costs the same
/// whatever the number of ports: the rule is `PortBinding::conflicts_with` (the tests' oracle), but looked up
/// instead of compared with every binding in turn (which made `-p 1-65535` cubic).
#[derive(Debug, Default)]
pub struct HostPorts {
    /// `(proto, port, address)` → owner, with `None` for every address.
    exact: HashMap<(Proto, u16, Option<Ipv4Addr>), usize>,
    /// `(proto, port)` → the owner of some binding of that port, whatever its address.
    any: HashMap<(Proto, u16), usize>,
    /// Who published what (`container web`), referred to by index.
    owners: Vec<String>,
}

impl HostPorts {
    /// No port published yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a binding whose host port is decided; one without is ignored.
    pub fn insert(&mut self, binding: &PortBinding, owner: &str) {
        let Some(port) = binding.host_port else {
            return;
        };
        if self.owners.last().map(String::as_str) != Some(owner) {
            self.owners.push(owner.to_string());
        }
        let who = self.owners.len() - 1;
        self.exact
            .entry((binding.proto, port, binding.scope()))
            .or_insert(who);
        self.any.entry((binding.proto, port)).or_insert(who);
    }

    /// Who holds a host port that `b` competes for, if anybody does.
    pub fn conflict(&self, binding: &PortBinding) -> Option<&str> {
        let port = binding.host_port?;
        let who = match binding.scope() {
            None => self.any.get(&(binding.proto, port)),
            Some(ip) => self
                .exact
                .get(&(binding.proto, port, None))
                .or_else(|| self.exact.get(&(binding.proto, port, Some(ip)))),
        }?;
        self.owners.get(*who).map(String::as_str)
    }
}

/// Decides the host port of every binding in `wanted`, in order, for `owner`: a given host
/// port must be free, a missing one becomes the lowest free port of the `ephemeral` range
/// (`net.ipv4.ip_local_port_range`, like Docker). Each choice goes into `taken`, so the
/// bindings of one request do not collide either.
///
/// One pass: a cursor per protocol and address only moves up, because a port that was
/// taken stays taken while choosing; the work is linear in the number of bindings plus the
/// size of the range (all 65,535 ports: milliseconds, see `benches/port_choice.rs`).
pub fn choose_host_ports(
    taken: &mut HostPorts,
    wanted: Vec<PortBinding>,
    owner: &str,
    ephemeral: (u16, u16),
) -> Result<Vec<PortBinding>> {
    let (lo, hi) = ephemeral;
    let total = wanted.len();
    let mut next: HashMap<(Proto, Option<Ipv4Addr>), u32> = HashMap::new();
    let mut out = Vec::with_capacity(total);
    for mut b in wanted {
        match b.host_port {
            Some(port) => {
                if let Some(by) = taken.conflict(&b) {
                    return Err(Error::PortInUse {
                        port: format!("{}:{port}/{}", b.host_ip_text(), b.proto.as_str()),
                        owner: by.to_string(),
                        container_port: b.container_port,
                    });
                }
            }
            None => {
                let cursor = next.entry((b.proto, b.scope())).or_insert(u32::from(lo));
                let free = (*cursor..=u32::from(hi))
                    .filter_map(|p| u16::try_from(p).ok())
                    .find(|p| {
                        taken
                            .conflict(&PortBinding {
                                host_port: Some(*p),
                                ..b
                            })
                            .is_none()
                    });
                let Some(port) = free else {
                    return Err(Error::spec(
                        "-p",
                        b.to_string(),
                        format!(
                            "no free host port is left in the ephemeral range {lo}-{hi} ({} ports) after {} of the {total} ports asked for; publish fewer ports or give host ports (HOSTPORT:CONTAINERPORT)",
                            u32::from(hi) - u32::from(lo) + 1,
                            out.len()
                        ),
                    ));
                };
                *cursor = u32::from(port) + 1;
                b.host_port = Some(port);
            }
        }
        taken.insert(&b, owner);
        out.push(b);
    }
    Ok(out)
}

/// Parses one `-p` value, in any of Docker's forms, into one binding per port. Put the
/// result in [`ContainerSpec::publish`](crate::ContainerSpec::publish); the published port
/// is reachable on the lab host (e.g. from [`Target::Host`](crate::Target::Host)).
///
/// ```
/// let b = netlab::parse_publish("127.0.0.1:8080:80")?;
/// assert_eq!((b[0].host_port, b[0].container_port), (Some(8080), 80));
/// assert_eq!(netlab::parse_publish("8000-8002:9000-9002/udp")?.len(), 3);
/// # Ok::<(), netlab::Error>(())
/// ```
pub fn parse_publish(text: &str) -> Result<Vec<PortBinding>> {
    let err = |reason: &str| Error::spec("-p", text, reason);
    let (spec, proto) = match text.rsplit_once('/') {
        None => (text, Proto::Tcp),
        Some((p, "tcp")) => (p, Proto::Tcp),
        Some((p, "udp")) => (p, Proto::Udp),
        Some(_) => return Err(err("the protocol is tcp or udp, e.g. 53:53/udp")),
    };
    let parts: Vec<&str> = spec.split(':').collect();
    let (ip, host, cont) = match parts.as_slice() {
        [c] => (None, None, *c),
        [h, c] => (None, Some(*h), *c),
        [ip, h, c] => (Some(*ip), (!h.is_empty()).then_some(*h), *c),
        _ => {
            return Err(err(
                "use ip:hostPort:containerPort, ip::containerPort, hostPort:containerPort or containerPort",
            ));
        }
    };
    let host_ip = match ip {
        None | Some("") | Some("0.0.0.0") => None,
        Some(ip) => Some(
            ip.parse::<Ipv4Addr>()
                .map_err(|_| err(&format!("{} is not an IPv4 address", quote(ip))))?,
        ),
    };
    let (cs, ce) =
        parse_range(cont).ok_or_else(|| err("container ports are 1-65535, a port or START-END"))?;
    let host_range = match host {
        None => None,
        Some(h) => {
            Some(parse_range(h).ok_or_else(|| err("host ports are 1-65535, a port or START-END"))?)
        }
    };
    if let Some((hs, he)) = host_range
        && he - hs != ce - cs
    {
        return Err(err(
            "the host and container ranges must have the same length, e.g. 8000-8002:8000-8002",
        ));
    }
    Ok((cs..=ce)
        .enumerate()
        .map(|(i, container_port)| PortBinding {
            host_ip,
            host_port: host_range.map(|(hs, _)| hs + i as u16),
            container_port,
            proto,
        })
        .collect())
}

/// Refuses a binding to a host address the lab host does not have (`-p 1.2.3.4::80`):
/// Docker would create the container and then fail to start it (`bind: cannot assign
/// requested address`); netlab says so before anything is made, naming the addresses the
/// lab host has. Every address (`0.0.0.0`) and loopback addresses always work.
pub fn check_host_ips(bindings: &[PortBinding], host_addrs: &[Ipv4Addr]) -> Result<()> {
    for b in bindings {
        let Some(ip) = b.scope() else { continue };
        if ip.is_loopback() || host_addrs.contains(&ip) {
            continue;
        }
        let mut have: Vec<Ipv4Addr> = host_addrs.to_vec();
        have.sort();
        have.dedup();
        let have: Vec<String> = have.iter().map(Ipv4Addr::to_string).collect();
        let host_port = b.host_port.map(|p| p.to_string()).unwrap_or_default();
        return Err(Error::spec(
            "-p",
            format!("{ip}:{host_port}:{}/{}", b.container_port, b.proto.as_str()),
            format!(
                "{ip} is not an address of the lab host, which has {} (and 0.0.0.0 for all of them); publish on one of those, or leave the address out",
                have.join(", ")
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_address_must_be_the_lab_hosts() {
        let host = [Ipv4Addr::new(172, 17, 0, 1), Ipv4Addr::new(127, 0, 0, 1)];
        for ok in [
            "8080",
            "0.0.0.0:80:80",
            "172.17.0.1::80",
            "127.0.0.1:80:80",
            "127.0.0.2::80",
        ] {
            check_host_ips(&parse_publish(ok).unwrap(), &host).unwrap();
        }
        let e = check_host_ips(&parse_publish("1.2.3.4::80").unwrap(), &host)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("1.2.3.4 is not an address of the lab host")
                && e.contains("127.0.0.1, 172.17.0.1"),
            "{e}"
        );
    }

    fn b(ip: Option<[u8; 4]>, hp: Option<u16>, cp: u16, proto: Proto) -> PortBinding {
        PortBinding {
            host_ip: ip.map(Ipv4Addr::from),
            host_port: hp,
            container_port: cp,
            proto,
        }
    }

    #[test]
    fn every_docker_form() {
        use Proto::*;
        let cases: &[(&str, Vec<PortBinding>)] = &[
            ("8080:8080", vec![b(None, Some(8080), 8080, Tcp)]),
            ("80", vec![b(None, None, 80, Tcp)]),
            (
                "127.0.0.1:8080:80",
                vec![b(Some([127, 0, 0, 1]), Some(8080), 80, Tcp)],
            ),
            (
                "10.2.0.10::80",
                vec![b(Some([10, 2, 0, 10]), None, 80, Tcp)],
            ),
            ("0.0.0.0:8080:80/tcp", vec![b(None, Some(8080), 80, Tcp)]),
            ("53:53/udp", vec![b(None, Some(53), 53, Udp)]),
            (
                "8000-8002:9000-9002",
                vec![
                    b(None, Some(8000), 9000, Tcp),
                    b(None, Some(8001), 9001, Tcp),
                    b(None, Some(8002), 9002, Tcp),
                ],
            ),
            (
                "7000-7001",
                vec![b(None, None, 7000, Tcp), b(None, None, 7001, Tcp)],
            ),
        ];
        for (s, want) in cases {
            assert_eq!(&parse_publish(s).unwrap(), want, "{s}");
        }
    }

    #[test]
    fn errors() {
        for bad in [
            "",
            "a:80",
            "8080:0",
            "1:2:3:4",
            "300.1.1.1:80:80",
            "80/sctp",
            "8000-8002:80",
            "9-8:9-8",
            "70000",
            "+80",
            "+80:80",
            "80:+80",
            "127.0.0.1:+80:80",
            "80:80/",
        ] {
            assert!(
                matches!(parse_publish(bad), Err(Error::InvalidSpec { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn conflicts_and_display() {
        let all = parse_publish("8080:80").unwrap()[0];
        let local = parse_publish("127.0.0.1:8080:81").unwrap()[0];
        let other_ip = parse_publish("10.0.0.1:8080:81").unwrap()[0];
        let udp = parse_publish("8080:80/udp").unwrap()[0];
        assert!(all.conflicts_with(&local));
        assert!(!local.conflicts_with(&other_ip));
        assert!(!all.conflicts_with(&udp));
        assert_eq!(all.to_string(), "80/tcp -> 0.0.0.0:8080");
        assert_eq!(local.to_string(), "81/tcp -> 127.0.0.1:8080");
    }

    const EPHEMERAL: (u16, u16) = (32768, 60999);

    fn owned(specs: &[&str]) -> Vec<PortBinding> {
        specs
            .iter()
            .flat_map(|s| parse_publish(s).unwrap())
            .collect()
    }

    #[test]
    fn host_port_choice_table() {
        // (published before, by "container a"; asked for now; chosen host ports or error)
        type Case<'a> = (&'a [&'a str], &'a [&'a str], Result<&'a [u16], &'a str>);
        let cases: &[Case] = &[
            (&[], &["80"], Ok(&[32768])),
            (&[], &["80", "81", "53/udp"], Ok(&[32768, 32769, 32768])),
            (&["32768:1"], &["80"], Ok(&[32769])),
            // Another address does not take the port from 127.0.0.1, every address does.
            (&["10.0.0.1:32768:1"], &["127.0.0.1::80"], Ok(&[32768])),
            (&["10.0.0.1:32768:1"], &["80"], Ok(&[32769])),
            (&["32768:1/udp"], &["80"], Ok(&[32768])),
            (&[], &["8080:80", "80"], Ok(&[8080, 32768])),
            (&["8080:80"], &["8080:81"], Err("container a")),
            (&["8080:80"], &["127.0.0.1:8080:81"], Err("container a")),
            (&["127.0.0.1:8080:80"], &["8080:81"], Err("container a")),
            (&[], &["8080:80", "8080:81"], Err("container b")),
            (&["127.0.0.1:8080:80"], &["10.0.0.1:8080:81"], Ok(&[8080])),
        ];
        for (before, asked, want) in cases {
            let mut taken = HostPorts::new();
            for b in owned(before) {
                taken.insert(&b, "container a");
            }
            let got = choose_host_ports(&mut taken, owned(asked), "container b", EPHEMERAL);
            match (want, got) {
                (Ok(ports), Ok(got)) => {
                    let hp: Vec<u16> = got.iter().map(|b| b.host_port.unwrap()).collect();
                    assert_eq!(&hp, ports, "{before:?} then {asked:?}");
                    let mut again = HostPorts::new();
                    for b in &got {
                        assert!(again.conflict(b).is_none(), "{b} chosen twice");
                        again.insert(b, "x");
                    }
                }
                (Err(owner), Err(Error::PortInUse { owner: o, .. })) => {
                    assert_eq!(&o, owner, "{before:?} then {asked:?}")
                }
                (want, got) => panic!("{before:?} then {asked:?}: want {want:?}, got {got:?}"),
            }
        }
    }

    #[test]
    fn the_whole_port_range_in_one_pass() {
        // -p 1-65535:1-65535: every host port as given.
        let all = parse_publish("1-65535:1-65535").unwrap();
        let got = choose_host_ports(&mut HostPorts::new(), all, "c", EPHEMERAL).unwrap();
        assert_eq!(got.len(), 65535);
        assert!(got.iter().all(|b| b.host_port == Some(b.container_port)));

        // -p 1-65535 with a random host port each: the ephemeral range holds 28,232, so the
        // request is refused, saying how far it got.
        let err = choose_host_ports(
            &mut HostPorts::new(),
            parse_publish("1-65535").unwrap(),
            "c",
            EPHEMERAL,
        )
        .unwrap_err();
        let m = err.to_string();
        assert!(m.contains("after 28232 of the 65535 ports"), "{m}");

        // With the whole range ephemeral, every port is chosen once, lowest first, skipping
        // what another container holds and what this request gave explicitly.
        let mut taken = HostPorts::new();
        taken.insert(&parse_publish("1000:1").unwrap()[0], "container a");
        let mut wanted = parse_publish("2000:2").unwrap();
        wanted.extend(parse_publish("1-65533").unwrap());
        let got = choose_host_ports(&mut taken, wanted, "c", (1, 65535)).unwrap();
        let mut ports: Vec<u16> = got.iter().map(|b| b.host_port.unwrap()).collect();
        assert_eq!(ports[1..4], [1, 2, 3]);
        assert!(
            !ports[1..].contains(&1000) && ports[1..].iter().filter(|p| **p == 2000).count() == 0
        );
        ports.sort_unstable();
        ports.dedup();
        assert_eq!(ports.len(), 65534, "no host port twice");
        assert!(matches!(
            choose_host_ports(&mut taken, parse_publish("9").unwrap(), "c", (1, 65535)),
            Err(Error::InvalidSpec { .. })
        ));
    }
}
