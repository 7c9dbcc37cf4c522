//! Placeholder of the embedded DNS server's interface, replaced by the real module (branch
//! `dns`) before this lands.
#![allow(dead_code, clippy::unused_self)]

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::OwnedFd;

use crate::error::Result;

pub enum Upstream {
    Refuse,
    Forward(Vec<SocketAddr>),
}

pub struct DnsServer;

impl DnsServer {
    pub fn start(_upstream: Upstream) -> Result<DnsServer> {
        Ok(DnsServer)
    }
    pub fn attach(&self, _who: &str, _net: &OwnedFd, _networks: Vec<String>) -> Result<()> {
        Ok(())
    }
    pub fn set_networks(&self, _who: &str, _networks: Vec<String>) {}
    pub fn detach(&self, _who: &str) {}
    pub fn set_names(&self, _network: &str, _names: BTreeMap<String, Vec<IpAddr>>) {}
    pub fn remove_network(&self, _network: &str) {}
}
