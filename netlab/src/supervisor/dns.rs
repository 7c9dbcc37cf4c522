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
use crate::dns::{DnsServer, Upstream};
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

    /// The names of network `net` with their addresses now.
    pub(super) fn dns_names(&self, net: &str) -> BTreeMap<String, Vec<IpAddr>> {
        let mut names: BTreeMap<String, Vec<IpAddr>> = BTreeMap::new();
        for c in self.order.iter().filter_map(|n| self.containers.get(n)) {
            if !c.connected {
                continue;
            }
            let Some(e) = c.endpoint(net) else { continue };
            let mut addrs = vec![IpAddr::V4(e.ip)];
            addrs.extend(e.ip6.map(IpAddr::V6));
            let short = c.id.get(..12).unwrap_or(&c.id).to_string();
            // A `--hostname` is a name too: Docker lists it among the aliases.
            for name in [c.spec.name.clone(), short]
                .into_iter()
                .chain(c.spec.hostname.clone())
                .chain(e.want.aliases.iter().cloned())
            {
                let list = names.entry(name.to_ascii_lowercase()).or_default();
                for a in &addrs {
                    if !list.contains(a) {
                        list.push(*a);
                    }
                }
            }
        }
        names
    }

    /// The one name a PTR question gets for each address on network `net`: the
    /// container's name, as Docker answers (`NAME.NETWORK`), not an alias or the short ID.
    /// A table of link names answers no PTR question.
    pub(super) fn dns_reverse(&self, net: &str) -> BTreeMap<IpAddr, String> {
        let mut names = BTreeMap::new();
        if is_links_table(net) {
            return names;
        }
        for c in self.order.iter().filter_map(|n| self.containers.get(n)) {
            if !c.connected {
                continue;
            }
            let Some(e) = c.endpoint(net) else { continue };
            for a in std::iter::once(IpAddr::V4(e.ip)).chain(e.ip6.map(IpAddr::V6)) {
                names
                    .entry(a)
                    .or_insert_with(|| c.spec.name.to_ascii_lowercase());
            }
        }
        names
    }

    /// [`Lab::dns_reverse`] of each table's network.
    fn dns_reverse_of<T>(&self, tables: &[(String, T)]) -> Vec<(String, BTreeMap<IpAddr, String>)> {
        tables
            .iter()
            .map(|(n, _)| (n.clone(), self.dns_reverse(n)))
            .collect()
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
        let mut tables: Vec<(String, BTreeMap<String, Vec<IpAddr>>)> = view
            .iter()
            .filter(|n| !is_links_table(n))
            .map(|n| (n.clone(), self.dns_names(n)))
            .collect();
        // Its own link names, and those of the containers linking to it (its addresses
        // may have changed).
        for other in self.containers.values() {
            if (other.spec.name == name || other.links.iter().any(|l| l.name == name))
                && !other.spec.legacy_links()
                && !other.links.is_empty()
            {
                tables.push((links_table(&other.spec.name), self.link_names(other)));
            }
        }
        let net_fd =
            c.ns.net
                .try_clone()
                .map_err(|e| crate::error::Error::kernel_io("dup", "a network namespace", &e))?;
        let reverse = self.dns_reverse_of(&tables);
        let attached = self.dns.attached.contains(name);
        let server = self.dns_server()?;
        for (n, t) in tables {
            server.set_names(&n, t);
        }
        for (n, r) in reverse {
            server.set_reverse(&n, r);
        }
        if attached {
            server.set_networks(name, view);
        } else {
            server.attach(name, &net_fd, view)?;
            self.dns.attached.insert(name.to_string());
        }
        Ok(())
    }

    /// Container `c` (named `name`) was removed: its sockets close, its names go.
    pub(super) fn forget_dns_container(&mut self, name: &str, c: &Container) {
        if !self.dns.attached.remove(name) {
            return;
        }
        let nets = Self::dns_view(c);
        let mut tables: Vec<(String, BTreeMap<String, Vec<IpAddr>>)> = nets
            .iter()
            .filter(|n| !is_links_table(n))
            .map(|n| (n.clone(), self.dns_names(n)))
            .collect();
        for other in self.containers.values() {
            if other.links.iter().any(|l| l.name == name) && !other.spec.legacy_links() {
                tables.push((links_table(&other.spec.name), self.link_names(other)));
            }
        }
        let reverse = self.dns_reverse_of(&tables);
        if let Some(server) = &self.dns.server {
            server.detach(name);
            server.remove_network(&links_table(name));
            for (n, t) in tables {
                server.set_names(&n, t);
            }
            for (n, r) in reverse {
                server.set_reverse(&n, r);
            }
        }
    }

    /// Container `name` left network `network`: the network's names without it.
    pub(super) fn forget_dns_member(&mut self, _name: &str, network: &str) {
        let table = self.dns_names(network);
        let reverse = self.dns_reverse(network);
        if let Some(server) = &self.dns.server {
            server.set_names(network, table);
            server.set_reverse(network, reverse);
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
