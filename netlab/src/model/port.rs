//! Exposed ports (`--expose 27017`, `--expose 53/udp`, `--expose 8000-8002`).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A transport protocol of a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    /// TCP, the default of every port option.
    Tcp,
    /// UDP (`53/udp`).
    Udp,
}

impl Proto {
    /// `tcp` or `udp`, as Docker writes it.
    pub fn as_str(&self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }
}

/// One exposed port; Docker writes it `27017/tcp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ExposedPort {
    /// The port number, 1 to 65535.
    pub port: u16,
    /// Its protocol.
    pub proto: Proto,
}

impl fmt::Display for ExposedPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.port, self.proto.as_str())
    }
}

/// Parses one `--expose` value (`27017`, `53/udp`, `8000-8002`); a range gives several
/// ports. Put the result in [`ContainerSpec::expose`](crate::ContainerSpec::expose).
///
/// ```
/// let ports = netlab::parse_expose("8000-8002/udp")?;
/// assert_eq!(ports.len(), 3);
/// assert_eq!(ports[0].to_string(), "8000/udp");
/// # Ok::<(), netlab::Error>(())
/// ```
pub fn parse_expose(text: &str) -> Result<Vec<ExposedPort>> {
    let err = |reason: &str| Error::spec("--expose", text, reason);
    let (ports, proto) = match text.split_once('/') {
        None => (text, Proto::Tcp),
        Some((p, "tcp")) => (p, Proto::Tcp),
        Some((p, "udp")) => (p, Proto::Udp),
        Some(_) => return Err(err("the protocol is tcp or udp, e.g. 53/udp")),
    };
    let (lo, hi) =
        parse_range(ports).ok_or_else(|| err("write PORT or START-END with ports 1-65535"))?;
    Ok((lo..=hi).map(|port| ExposedPort { port, proto }).collect())
}

/// `8080` or `8000-8002` (1..=65535, start <= end). Only decimal digits: Rust's integer
/// parser would also take `+80`, which no port grammar (Docker's included) allows.
pub fn parse_range(text: &str) -> Option<(u16, u16)> {
    let one = |p: &str| {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        p.parse::<u16>().ok().filter(|p| *p > 0)
    };
    match text.split_once('-') {
        None => one(text).map(|p| (p, p)),
        Some((a, b)) => {
            let (a, b) = (one(a)?, one(b)?);
            (a <= b).then_some((a, b))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expose_forms() {
        let t = |p| ExposedPort {
            port: p,
            proto: Proto::Tcp,
        };
        assert_eq!(parse_expose("27017").unwrap(), vec![t(27017)]);
        assert_eq!(parse_expose("8080/tcp").unwrap(), vec![t(8080)]);
        assert_eq!(
            parse_expose("53/udp").unwrap(),
            vec![ExposedPort {
                port: 53,
                proto: Proto::Udp
            }]
        );
        assert_eq!(
            parse_expose("8000-8002").unwrap(),
            vec![t(8000), t(8001), t(8002)]
        );
        assert_eq!(t(27017).to_string(), "27017/tcp");
    }

    #[test]
    fn expose_errors() {
        for bad in [
            "", "0", "65536", "80/sctp", "9-8", "x", "80-", "-80", "+80", "+80-+81", " 80", "80 ",
            "8_0", "0x50",
        ] {
            assert!(
                matches!(parse_expose(bad), Err(Error::InvalidSpec { .. })),
                "{bad}"
            );
        }
    }
}
