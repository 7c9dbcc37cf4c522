//! The lab's side of the embedded DNS of user-defined networks: which names each network
//! has, and which networks each container asks about. The server itself (`crate::dns`)
//! answers from what the lab tells it here, after every change (run, start, stop,
//! connect, disconnect, rm), so a change is visible to the very next query.
//!
//! A network's names are Docker's: each connected container's name, its aliases on that
//! network, its short ID and its `--hostname`, with its addresses there. A stopped container has none, as
//! with Docker (its endpoint is released).

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::container::Container;
use super::lab::Lab;
use crate::dns::{DnsServer, Member, Upstream};
use crate::error::Result;

/// The server, started with the first user-defined network, and who it serves.
#[derive(Default)]
pub struct Dns {
    server: Option<DnsServer>,
    /// Containers whose sockets are open (by name).
    attached: std::collections::HashSet<String>,
}

impl Lab {
    fn dns_server(&mut self) -> Result<&DnsServer> {
        if self.dns.server.is_none() {
            let upstream = if self.spec.dns_forward.is_empty() {
                Upstream::Refuse
            } else {
                Upstream::Forward(self.spec.dns_forward.clone())
            };
            self.dns.server = Some(DnsServer::start(upstream)?);
        }
        Ok(self.dns.server.as_ref().expect("started above"))
    }

    /// Container `c`'s entry on network `net`: its name, short ID, `--hostname` (Docker
    /// lists it among the aliases) and aliases there, with its addresses there, and its
    /// name for PTR questions (Docker answers the name, never an alias or the short ID);
    /// none while it holds no address (stopped), as Docker releases the endpoint.
    fn member_entry(c: &Container, net: &str) -> Option<Member> {
        let e = c.endpoint(net).filter(|_| c.connected)?;
        let short = c.id.get(..12).unwrap_or(&c.id).to_string();
        Some(Member {
            names: [c.spec.name.clone(), short]
                .into_iter()
                .chain(c.spec.hostname.clone())
                .chain(e.want.aliases.iter().cloned())
                .collect(),
            addrs: std::iter::once(IpAddr::V4(e.ip))
                .chain(e.ip6.map(IpAddr::V6))
                .collect(),
            ptr: Some(c.spec.name.clone()),
        })
    }

    /// The user-defined networks of container `c`, in the order of its interfaces, then
    /// the table of its own link names when it has links on a user-defined network.
    fn dns_view(c: &Container) -> Vec<String> {
        let mut view: Vec<String> = c
            .endpoints
            .iter()
            .filter(|e| e.view.user)
            .map(|e| e.network.clone())
            .collect();
        if !view.is_empty() && !c.spec.legacy_links() && !c.links.is_empty() {
            view.push(links_table(&c.spec.name));
        }
        view
    }

    /// The names `--link NAME:ALIAS` gives container `c` on a user-defined network: each
    /// alias resolves to every address the linked container holds.
    fn link_names(&self, c: &Container) -> BTreeMap<String, Vec<IpAddr>> {
        let mut names: BTreeMap<String, Vec<IpAddr>> = BTreeMap::new();
        for l in &c.links {
            let Some(t) = self.containers.get(&l.name).filter(|t| t.connected) else {
                continue;
            };
            let addrs: Vec<IpAddr> = t
                .endpoints
                .iter()
                .flat_map(|e| std::iter::once(IpAddr::V4(e.ip)).chain(e.ip6.map(IpAddr::V6)))
                .collect();
            names
                .entry(l.alias.to_ascii_lowercase())
                .or_default()
                .extend(addrs);
        }
        names
    }

    /// After container `name` changed (created, started, stopped, connected): its
    /// networks' names again, its sockets opened if it is on a user-defined network.
    pub(super) fn refresh_dns_of(&mut self, name: &str) {
        if let Err(e) = self.try_refresh_dns_of(name) {
            tracing::warn!(container = %name, "embedded DNS not updated: {e}");
        }
    }

    fn try_refresh_dns_of(&mut self, name: &str) -> Result<()> {
        let Some(c) = self.containers.get(name) else {
            return Ok(());
        };
        let view = Self::dns_view(c);
        if view.is_empty() && !self.dns.attached.contains(name) {
            return Ok(());
        }
        // Only this container's entries change: each network's table is built again by
        // the server at its next query, not here (bring-up stays linear).
        let members: Vec<(String, Option<Member>)> = view
            .iter()
            .filter(|n| !is_links_table(n))
            .map(|n| (n.clone(), Self::member_entry(c, n)))
            .collect();
        // Its own link names, and those of the containers linking to it (its addresses
        // may have changed).
        let mut tables: Vec<(String, BTreeMap<String, Vec<IpAddr>>)> = vec![];
        for other in self.containers.values() {
            if (other.spec.name == name || other.links.iter().any(|l| l.name == name))
                && !other.spec.legacy_links()
                && !other.links.is_empty()
            {
                tables.push((links_table(&other.spec.name), self.link_names(other)));
            }
        }
        let attached = self.dns.attached.contains(name);
        // Sockets the container's own thread bound while it was built, if it was.
        let bound = if attached {
            None
        } else {
            c.dns_sockets.lock().ok().and_then(|mut s| s.take())
        };
        let net_fd =
            if attached || bound.is_some() {
                None
            } else {
                Some(c.ns.net.try_clone().map_err(|e| {
                    crate::error::Error::kernel_io("dup", "a network namespace", &e)
                })?)
            };
        let server = self.dns_server()?;
        for (n, m) in members {
            server.set_member(&n, name, m);
        }
        for (n, t) in tables {
            server.set_names(&n, t);
        }
        match (attached, bound, net_fd) {
            (true, _, _) => server.set_networks(name, view),
            (false, Some((udp, tcp)), _) => {
                server.attach_bound(name, udp, tcp, view);
                self.dns.attached.insert(name.to_string());
            }
            (false, None, Some(fd)) => {
                server.attach(name, &fd, view)?;
                self.dns.attached.insert(name.to_string());
            }
            (false, None, None) => {}
        }
        Ok(())
    }

    /// Container `c` (named `name`) was removed: its sockets close, its names go.
    pub(super) fn forget_dns_container(&mut self, name: &str, c: &Container) {
        if !self.dns.attached.remove(name) {
            return;
        }
        let nets: Vec<String> = Self::dns_view(c)
            .into_iter()
            .filter(|n| !is_links_table(n))
            .collect();
        let mut tables: Vec<(String, BTreeMap<String, Vec<IpAddr>>)> = vec![];
        for other in self.containers.values() {
            if other.links.iter().any(|l| l.name == name) && !other.spec.legacy_links() {
                tables.push((links_table(&other.spec.name), self.link_names(other)));
            }
        }
        if let Some(server) = &self.dns.server {
            server.detach(name);
            server.remove_network(&links_table(name));
            for n in nets {
                server.set_member(&n, name, None);
            }
            for (n, t) in tables {
                server.set_names(&n, t);
            }
        }
    }

    /// Container `name` left network `network`: the network's names without it.
    pub(super) fn forget_dns_member(&mut self, name: &str, network: &str) {
        if let Some(server) = &self.dns.server {
            server.set_member(network, name, None);
        }
    }

    /// Network `network` was removed.
    pub(super) fn forget_dns_network(&mut self, network: &str) {
        if let Some(server) = &self.dns.server {
            server.remove_network(network);
        }
    }
}

/// The name of container `name`'s own table of link names (not a network name: those
/// cannot contain `/`).
fn links_table(name: &str) -> String {
    format!("links/{name}")
}

fn is_links_table(n: &str) -> bool {
    n.starts_with("links/")
}
