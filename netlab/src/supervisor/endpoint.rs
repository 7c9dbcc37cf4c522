//! A container's place on the bridge, held only while its process runs, as Docker holds a
//! container's network endpoint.
//!
//! Docker releases a container's address when its process ends and gives it the first
//! free one when it starts again, so a container that was stopped may come back with
//! another address, and a container run meanwhile may have taken its old one: the
//! classic surprise the workshop shows. Its published ports stop forwarding while it is
//! stopped (their host ports stay reserved for it, see [`Lab::disconnect_ended`]), and
//! the containers that link to it get its new address in their `/etc/hosts` (not in
//! their link variables, which, as with Docker, keep the address they were created with).
//!
//! The veth and `eth0` stay: only the address, the default route and the MAC derived from
//! the address change, which is all another container can observe.

use std::net::Ipv4Addr;

use super::lab::{Lab, gone, poisoned};
use crate::error::{Error, Result};
use crate::model::links::{self, hosts_file};
use crate::model::net::docker_mac;
use crate::model::{ContainerStatus, Ipv4Net};
use crate::net;
use crate::sys::nsfd;
use crate::sys::rtnl::Rtnl;

impl Lab {
    /// Releases the address of container `name` if its process has ended: `ip addr flush
    /// dev eth0` inside it (which takes its default route too), the address back to the
    /// pool, and its forwards out of the firewall. Safe to repeat; a container that runs
    /// (again) or holds no address is left alone.
    ///
    /// Host ports stay reserved for the container while it is stopped (Docker gives them
    /// back and binds them again at start): a `-P` port keeps its number across a restart,
    /// and nothing else in the lab can take it meanwhile.
    pub fn disconnect_ended(&mut self, name: &str) -> Result<()> {
        let c = self.get(name)?;
        let running = c.run.lock().map_err(|_| poisoned())?.status == ContainerStatus::Running;
        if running || !c.connected {
            return Ok(());
        }
        let ip = c.ip;
        nsfd::in_netns(&c.ns.net, || {
            let mut nl = Rtnl::open()?;
            let eth0 = net::link::index(&mut nl, "eth0")?.ok_or_else(|| gone("eth0"))?;
            net::addr::flush_v4(&mut nl, eth0, "eth0")
        })?;
        let publishes = !c.ports.is_empty();
        self.ipam.release(ip);
        if let Some(c) = self.containers.get_mut(name) {
            c.connected = false;
        }
        tracing::info!(container = %name, %ip, "address released (the process ended)");
        if publishes {
            self.apply_firewall()?;
        }
        self.refresh_faults();
        self.refresh_summary();
        Ok(())
    }

    /// Gives a stopped container an address again before its process starts: the first
    /// free one, with Docker's MAC for it, `eth0`'s address and default route, its own
    /// `/etc/hosts`, the `/etc/hosts` of every container that links to it, and its
    /// forwards. All or nothing: a failure gives the address back.
    pub fn reconnect(&mut self, name: &str) -> Result<()> {
        if self.get(name)?.connected {
            return Ok(());
        }
        let ip = self.ipam.allocate(&format!("container {name}"))?;
        if let Err(e) = self.attach(name, ip) {
            self.ipam.release(ip);
            return Err(e);
        }
        tracing::info!(container = %name, %ip, "address taken (starting)");
        self.rewrite_hosts_of_linkers(name);
        self.refresh_faults();
        self.refresh_summary();
        Ok(())
    }

    fn attach(&mut self, name: &str, ip: Ipv4Addr) -> Result<()> {
        let (mac, addr, gateway) = (
            docker_mac(ip),
            Ipv4Net {
                addr: ip,
                prefix: self.spec.bip.prefix,
            },
            self.spec.bip.addr,
        );
        let c = self.get(name)?;
        let hosts = hosts_file(ip, c.spec.hostname(), &self.hosts_lines(name)?);
        let file = c.dir.join("hosts");
        nsfd::in_netns(&c.ns.net, || {
            let mut nl = Rtnl::open()?;
            let eth0 = net::link::index(&mut nl, "eth0")?.ok_or_else(|| gone("eth0"))?;
            let wired = nl.batch(vec![
                net::link::set_down(eth0, "eth0"),
                net::link::set_address(eth0, mac, "eth0"),
                net::link::set_up(eth0, "eth0"),
                net::addr::add(eth0, addr, "eth0"),
                net::route::add_default(gateway),
            ]);
            if wired.is_err() {
                let _ = net::addr::flush_v4(&mut nl, eth0, "eth0");
            }
            wired
        })?;
        // Written in place: the file is bind-mounted by inode over the container's
        // /etc/hosts, so a new file would not be seen.
        std::fs::write(&file, hosts)
            .map_err(|e| Error::io(format!("write {}", file.display()), &e))?;
        let publishes = !c.ports.is_empty();
        if let Some(c) = self.containers.get_mut(name) {
            c.ip = ip;
            c.mac = mac;
            c.connected = true;
        }
        if publishes && let Err(e) = self.apply_firewall() {
            self.disconnect_now(name);
            return Err(e);
        }
        Ok(())
    }

    /// Undoes [`Lab::attach`] after a later step failed (the caller releases the address).
    fn disconnect_now(&mut self, name: &str) {
        if let Some(c) = self.containers.get_mut(name) {
            c.connected = false;
            let _ = nsfd::in_netns(&c.ns.net, || {
                let mut nl = Rtnl::open()?;
                let eth0 = net::link::index(&mut nl, "eth0")?.ok_or_else(|| gone("eth0"))?;
                net::addr::flush_v4(&mut nl, eth0, "eth0")
            });
        }
    }

    /// The container's environment with its link variables computed from where the linked
    /// containers are now: Docker does so at every start and every exec (so an exec sees a
    /// linked container's new address while the main process keeps the one it started
    /// with), and refuses both while a linked container is not running.
    pub(super) fn env_now(&self, name: &str) -> Result<Vec<(String, String)>> {
        let c = self.get(name)?;
        let (fresh, _) = self.resolve_links(&c.spec)?;
        let mut env = c.env.clone();
        // What `-e` gave wins over a link variable, as at creation.
        for (k, v) in fresh {
            if c.spec.env.iter().any(|(given, _)| *given == k) {
                continue;
            }
            match env.iter_mut().find(|(ek, _)| *ek == k) {
                Some(e) => e.1 = v,
                None => env.push((k, v)),
            }
        }
        Ok(env)
    }

    /// Before a start: the main process gets the link variables of now ([`Lab::env_now`]).
    pub(super) fn refresh_link_env(&mut self, name: &str) -> Result<()> {
        let env = self.env_now(name)?;
        if let Some(c) = self.containers.get_mut(name) {
            c.env = env;
        }
        Ok(())
    }

    /// A container's `/etc/hosts` lines after localhost: its `--add-host` entries, then one
    /// per link with the linked container's address now (or the last it had).
    pub(super) fn hosts_lines(&self, name: &str) -> Result<Vec<String>> {
        let c = self.get(name)?;
        let mut lines: Vec<String> = c
            .spec
            .extra_hosts
            .iter()
            .map(|h| h.line(self.spec.bip.addr))
            .collect();
        for l in &c.links {
            if let Some(t) = self.containers.get(&l.name) {
                lines.push(links::hosts_entry(&l.alias, &t.linked()));
            }
        }
        Ok(lines)
    }

    /// Writes the `/etc/hosts` of every container linking to `name` again, with its new
    /// address (Docker updates the linking containers' hosts files the same way).
    fn rewrite_hosts_of_linkers(&self, name: &str) {
        for c in self.containers.values() {
            if !c.links.iter().any(|l| l.name == name) {
                continue;
            }
            let Ok(lines) = self.hosts_lines(&c.spec.name) else {
                continue;
            };
            let file = c.dir.join("hosts");
            if let Err(e) = std::fs::write(&file, hosts_file(c.ip, c.spec.hostname(), &lines)) {
                tracing::warn!(container = %c.spec.name, "cannot update {}: {e}", file.display());
            }
        }
    }
}
