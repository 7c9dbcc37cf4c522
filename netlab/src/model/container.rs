//! A container as requested (`ContainerSpec`) and as it stands (`ContainerState`).

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use super::command::CommandSpec;
use super::names::validate_container_name;
use super::port::ExposedPort;
use super::publish::PortBinding;
use crate::error::{Error, Result};
use crate::model::links::LinkSpec;

/// What `netlab run` asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerSpec {
    pub name: String,
    pub hostname: Option<String>,
    /// Given variables in order (`-e`, `--env-file`); defaults are added by the lab.
    pub env: Vec<(String, String)>,
    pub command: CommandSpec,
    pub expose: Vec<ExposedPort>,
    pub workdir: Option<String>,
    /// `--link NAME:ALIAS`.
    #[serde(default)]
    pub links: Vec<LinkSpec>,
    /// `-p`.
    #[serde(default)]
    pub publish: Vec<PortBinding>,
    /// `-P`: every exposed port on a free host port.
    #[serde(default)]
    pub publish_all: bool,
}

impl ContainerSpec {
    pub fn new(name: &str, command: CommandSpec) -> Self {
        ContainerSpec {
            name: name.into(),
            hostname: None,
            env: vec![],
            command,
            expose: vec![],
            workdir: None,
            links: vec![],
            publish: vec![],
            publish_all: false,
        }
    }

    pub fn validate(&self) -> Result<()> {
        validate_container_name(&self.name)?;
        if let Some(h) = &self.hostname {
            let ok = !h.is_empty()
                && h.len() <= 63
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
                && !h.starts_with('-');
            if !ok {
                return Err(Error::spec(
                    "--hostname",
                    h,
                    "use letters, digits, `-` and `.`, at most 63 bytes",
                ));
            }
        }
        if let CommandSpec::Exec(v) = &self.command
            && v.is_empty()
        {
            return Err(Error::spec("command", "", "the command is empty"));
        }
        if let Some(w) = &self.workdir
            && !w.starts_with('/')
        {
            return Err(Error::spec("--workdir", w, "give an absolute path"));
        }
        Ok(())
    }

    /// The exposed ports as Docker counts them: `--expose` plus every published container
    /// port, in that order, without repeats.
    pub(crate) fn exposed_ports(&self) -> Vec<ExposedPort> {
        let mut seen = std::collections::HashSet::new();
        let published = self.publish.iter().map(|b| ExposedPort {
            port: b.container_port,
            proto: b.proto,
        });
        self.expose
            .iter()
            .copied()
            .chain(published)
            .filter(|p| seen.insert(*p))
            .collect()
    }

    /// The bindings a run asks for: `-p` as given, then with `-P` every exposed port not
    /// published already, on a host port the lab chooses. The lab and the graph both use it.
    pub(crate) fn wanted_bindings(&self) -> Vec<PortBinding> {
        let mut wanted = self.publish.clone();
        if self.publish_all {
            let published: std::collections::HashSet<ExposedPort> = self
                .publish
                .iter()
                .map(|b| ExposedPort {
                    port: b.container_port,
                    proto: b.proto,
                })
                .collect();
            wanted.extend(
                self.exposed_ports()
                    .into_iter()
                    .filter(|p| !published.contains(p))
                    .map(|p| PortBinding {
                        host_ip: None,
                        host_port: None,
                        container_port: p.port,
                        proto: p.proto,
                    }),
            );
        }
        wanted
    }

    /// Docker's default hostname is the short id; netlab uses the name, which is what a
    /// student expects to see in the prompt.
    pub fn hostname(&self) -> &str {
        self.hostname.as_deref().unwrap_or(&self.name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContainerStatus {
    Created,
    Running,
    Exited,
}

/// A container as the supervisor reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerState {
    pub id: String,
    pub name: String,
    pub hostname: String,
    pub env: Vec<(String, String)>,
    pub command: CommandSpec,
    pub expose: Vec<ExposedPort>,
    pub status: ContainerStatus,
    /// PID inside the lab's PID namespace (0 when not running).
    pub pid: i32,
    pub exit_code: Option<i32>,
    pub ip: Ipv4Addr,
    pub prefix: u8,
    pub gateway: Ipv4Addr,
    pub mac: String,
    pub host_veth: String,
    /// Seconds since the epoch.
    pub created: u64,
    pub started: Option<u64>,
    pub finished: Option<u64>,
    pub links: Vec<LinkSpec>,
    /// Published ports with their host ports decided.
    pub ports: Vec<PortBinding>,
    pub pipework: Vec<PipeworkIf>,
}

/// An interface added by `netlab pipework`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PipeworkIf {
    pub bridge: String,
    pub ifname: String,
    pub host_ifname: String,
    pub addr: super::Ipv4Net,
    pub gateway: Option<Ipv4Addr>,
    pub mac: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation() {
        let ok = ContainerSpec::new("web", CommandSpec::Shell("sleep 1".into()));
        ok.validate().unwrap();
        assert_eq!(ok.hostname(), "web");
        let mut bad = ok.clone();
        bad.name = "-x".into();
        assert!(bad.validate().is_err());
        let mut bad = ok.clone();
        bad.hostname = Some("a b".into());
        assert!(bad.validate().is_err());
        let mut bad = ok.clone();
        bad.workdir = Some("rel".into());
        assert!(bad.validate().is_err());
        let mut bad = ok;
        bad.command = CommandSpec::Exec(vec![]);
        assert!(bad.validate().is_err());
    }
}
