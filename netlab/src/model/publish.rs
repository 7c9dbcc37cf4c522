//! Published ports (`-p`), in all of Docker's forms:
//! `ip:hostPort:containerPort`, `ip::containerPort`, `hostPort:containerPort`,
//! `containerPort`, ranges (`8000-8002:8000-8002`) and a `/tcp` or `/udp` suffix.

use std::fmt;
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use super::port::{Proto, parse_range};
use crate::error::{Error, Result};

/// One published port; `host_port` is `None` until the lab picks a free ephemeral port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortBinding {
    pub host_ip: Option<Ipv4Addr>,
    pub host_port: Option<u16>,
    pub container_port: u16,
    pub proto: Proto,
}

impl PortBinding {
    /// Docker's `HostIp` (`0.0.0.0` for every address of the host).
    pub fn host_ip_text(&self) -> String {
        self.host_ip
            .map(|i| i.to_string())
            .unwrap_or_else(|| "0.0.0.0".into())
    }

    /// Two bindings compete for the same host port (same protocol and port, and address
    /// sets that overlap: equal, or one of them is every address).
    pub fn conflicts_with(&self, other: &PortBinding) -> bool {
        self.proto == other.proto
            && self.host_port.is_some()
            && self.host_port == other.host_port
            && (self.host_ip.is_none() || other.host_ip.is_none() || self.host_ip == other.host_ip)
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

/// Parses one `-p` value into one binding per port.
pub fn parse_publish(s: &str) -> Result<Vec<PortBinding>> {
    let err = |reason: &str| Error::spec("-p", s, reason);
    let (spec, proto) = match s.rsplit_once('/') {
        None => (s, Proto::Tcp),
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
                .map_err(|_| err(&format!("{ip:?} is not an IPv4 address")))?,
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
