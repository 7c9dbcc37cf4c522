//! A container's places on its networks (endpoints), held only while its process runs,
//! as Docker holds a container's network endpoints; and `network connect`/`disconnect`.
//!
//! Docker releases a container's addresses when its process ends and gives it the first
//! free ones when it starts again (fixed `--ip` ones stay), so a container that was
//! stopped may come back with another address, and a container run meanwhile may have
//! taken its old one: the classic surprise the workshop shows. Its published ports stop
//! forwarding while it is stopped (their host ports stay reserved for it, see
//! [`Lab::disconnect_ended`]), the containers that link to it get its new address in their
//! `/etc/hosts` (not in their link variables, which, as with Docker, keep the address they
//! were created with), and the embedded DNS answers with the new address at once.
//!
//! The interfaces stay: only the addresses, the default routes and the MACs derived from
//! the addresses change, which is all another container can observe.

use std::cell::RefCell;
use std::net::Ipv4Addr;

use super::container::{Container, Wire, add_link_step, inside_requests};
use super::lab::{Lab, gone, poisoned};
use super::network::{Endpoint, inside};
use super::plan::Plan;
use crate::error::{Error, Result};
use crate::model::links::{self, hosts_file};
use crate::model::net::docker_mac;
use crate::model::network::{Attachment, DEFAULT_NETWORK, Driver, first_free_eth};
use crate::model::{ContainerSpec, ContainerStatus, limits, resolv};
use crate::net;
use crate::sys::rtnl::{Netlink, Rtnl};

impl Lab {
    /// Checks a run's networks before anything is taken: each exists, links only on the
    /// default bridge (as Docker's legacy links), room on each bridge.
    pub(super) fn check_attachments(
        &self,
        spec: &ContainerSpec,
        attachments: &[Attachment],
    ) -> Result<()> {
        for a in attachments {
            let view = self.net_view(&a.network)?;
            if view.driver == Driver::Bridge {
                let bridge = self.bridge_of(&a.network);
                limits::check_bridge_port(&bridge, self.bridge_ports(&bridge))?;
            }
        }
        spec.check_links_network()?;
        Ok(())
    }

    /// The bridge of network `name` on the lab host (none for macvlan).
    pub(super) fn bridge_of(&self, name: &str) -> String {
        if name == DEFAULT_NETWORK {
            return self.spec.bridge.clone();
        }
        self.networks
            .get(name)
            .map(|n| n.bridge.clone())
            .unwrap_or_default()
    }

    /// Takes the addresses of a container's endpoints on `attachments`, its interfaces
    /// named after those it has (`taken`): all or none.
    pub(super) fn plan_endpoints(
        &mut self,
        container: &str,
        attachments: &[Attachment],
        taken: &[String],
    ) -> Result<Vec<Endpoint>> {
        let mut names: Vec<String> = taken.to_vec();
        let mut out: Vec<Endpoint> = vec![];
        for a in attachments {
            let made = self.net_view(&a.network).and_then(|view| {
                let (ip, ip6) = self.allocate_on(a, container)?;
                Ok((view, ip, ip6))
            });
            let (view, ip, ip6) = match made {
                Ok(m) => m,
                Err(e) => {
                    self.release_endpoints(&out);
                    return Err(e);
                }
            };
            let ifname = first_free_eth(&names);
            names.push(ifname.clone());
            out.push(Endpoint {
                network: a.network.clone(),
                ifname,
                ip,
                ip6,
                mac: docker_mac(ip),
                host_veth: String::new(),
                want: a.clone(),
                view,
            });
        }
        Ok(out)
    }

    /// Gives back the addresses of `endpoints`.
    pub(super) fn release_endpoints(&mut self, endpoints: &[Endpoint]) {
        for e in endpoints {
            self.release_on(&e.network, e.ip, e.ip6);
        }
    }

    /// Releases the addresses of container `name` if its process has ended: `ip addr
    /// flush` of each interface inside it (which takes its default routes too), the
    /// addresses back to their networks, and its forwards out of the firewall. Safe to
    /// repeat; a container that runs (again) or holds no address is left alone.
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
        let ifnames: Vec<String> = c.endpoints.iter().map(|e| e.ifname.clone()).collect();
        inside(c, |nl| {
            for ifname in &ifnames {
                flush(nl, ifname)?;
            }
            Ok(())
        })?;
        let publishes = !c.ports.is_empty();
        let endpoints = c.endpoints.clone();
        self.release_endpoints(&endpoints);
        if let Some(c) = self.containers.get_mut(name) {
            c.connected = false;
        }
        tracing::info!(container = %name, ip = %endpoints.first().map(|e| e.ip).unwrap_or(Ipv4Addr::UNSPECIFIED), "addresses released (the process ended)");
        if publishes {
            self.apply_firewall()?;
        }
        self.refresh_dns_of(name);
        self.refresh_faults();
        self.refresh_summary();
        Ok(())
    }

    /// Gives a stopped container its addresses again before its process starts: the fixed
    /// ones it asked for, or the first free, with Docker's MAC for each, the interfaces'
    /// addresses and default routes, its own `/etc/hosts`, the `/etc/hosts` of every
    /// container that links to it, and its forwards. All or nothing: a failure gives the
    /// addresses back.
    pub fn reconnect(&mut self, name: &str) -> Result<()> {
        let c = self.get(name)?;
        if c.connected {
            return Ok(());
        }
        let wants: Vec<Attachment> = c.endpoints.iter().map(|e| e.want.clone()).collect();
        let old: Vec<String> = c.endpoints.iter().map(|e| e.ifname.clone()).collect();
        let mut fresh = self.plan_endpoints(name, &wants, &[])?;
        for (e, ifname) in fresh.iter_mut().zip(&old) {
            e.ifname = ifname.clone();
        }
        if let Err(e) = self.attach(name, &fresh) {
            self.release_endpoints(&fresh);
            return Err(e);
        }
        tracing::info!(container = %name, ip = %fresh.first().map(|e| e.ip).unwrap_or(Ipv4Addr::UNSPECIFIED), "addresses taken (starting)");
        self.rewrite_hosts_of_linkers(name);
        self.refresh_dns_of(name);
        self.refresh_faults();
        self.refresh_summary();
        Ok(())
    }

    fn attach(&mut self, name: &str, fresh: &[Endpoint]) -> Result<()> {
        let c = self.get(name)?;
        let ips: Vec<Ipv4Addr> = fresh.iter().map(|e| e.ip).collect();
        let hosts = hosts_file(&ips, c.spec.hostname(), &self.hosts_lines(name)?);
        let file = c.dir.join("hosts");
        let wires: Vec<Wire> = fresh.iter().map(Wire::of).collect();
        inside(c, |nl| {
            let mut reqs = vec![];
            for w in &wires {
                let index = net::link::index(nl, &w.ifname)?.ok_or_else(|| gone(&w.ifname))?;
                reqs.push(net::link::set_down(index, &w.ifname));
                reqs.push(net::link::set_address(index, w.mac, &w.ifname));
            }
            reqs.extend(inside_requests(nl, &wires, false)?);
            let wired = nl.batch(reqs);
            if wired.is_err() {
                for w in &wires {
                    let _ = flush(nl, &w.ifname);
                }
            }
            wired
        })?;
        // Written in place: the file is bind-mounted by inode over the container's
        // /etc/hosts, so a new file would not be seen.
        std::fs::write(&file, hosts)
            .map_err(|e| Error::io(format!("write {}", file.display()), &e))?;
        let publishes = !c.ports.is_empty();
        if let Some(c) = self.containers.get_mut(name) {
            for (e, f) in c.endpoints.iter_mut().zip(fresh) {
                e.ip = f.ip;
                e.ip6 = f.ip6;
                e.mac = f.mac;
            }
            c.connected = true;
        }
        if publishes && let Err(e) = self.apply_firewall() {
            self.disconnect_now(name);
            return Err(e);
        }
        Ok(())
    }

    /// Undoes [`Lab::attach`] after a later step failed (the caller releases the addresses).
    fn disconnect_now(&mut self, name: &str) {
        if let Some(c) = self.containers.get_mut(name) {
            c.connected = false;
            let ifnames: Vec<String> = c.endpoints.iter().map(|e| e.ifname.clone()).collect();
            let _ = inside(c, |nl| {
                for i in &ifnames {
                    let _ = flush(nl, i);
                }
                Ok(())
            });
        }
    }

    /// `docker network connect [--ip IP] [--alias A] NET CONTAINER`: a new interface
    /// (the first free `ethN`) on the network, with its address when the container runs
    /// (a stopped one gets it at its next start); the default route comes with it if the
    /// container had none.
    pub fn connect_network(&mut self, name: &str, want: Attachment) -> Result<()> {
        want.validate()?;
        let c = self.get(name)?;
        if c.spec.attachments().is_empty() {
            // Docker: "container cannot be connected to multiple networks with one of the
            // networks in private (none) mode".
            return Err(Error::spec(
                "network",
                &want.network,
                format!(
                    "container {name} runs on the none network, which is its only one; run it again with --network {} instead",
                    want.network
                ),
            ));
        }
        if c.endpoint(&want.network).is_some() {
            return Err(Error::spec(
                "network",
                &want.network,
                format!(
                    "container {name} is already connected to it; `netlab network disconnect {} {name}` first to change how",
                    want.network
                ),
            ));
        }
        let view = self.net_view(&want.network)?;
        if view.driver == Driver::Bridge {
            let bridge = self.bridge_of(&want.network);
            limits::check_bridge_port(&bridge, self.bridge_ports(&bridge))?;
        }
        let c = self.get(name)?;
        let connected = c.connected;
        let mut taken: Vec<String> = c.endpoints.iter().map(|e| e.ifname.clone()).collect();
        taken.extend(c.pipework.iter().map(|p| p.ifname.clone()));
        let had_gateway = c.endpoints.iter().any(|e| e.view.gateway.is_some());
        let had_gateway6 = c.endpoints.iter().any(|e| e.view.gateway6.is_some());
        let mut planned = self.plan_endpoints(name, std::slice::from_ref(&want), &taken)?;
        let mut e = planned.remove(0);
        let c = self.get(name)?;
        let wired = self.wire_one(c, &e, connected, had_gateway, had_gateway6);
        match wired {
            Ok(veth) => e.host_veth = veth,
            Err(err) => {
                self.release_endpoints(std::slice::from_ref(&e));
                return Err(err);
            }
        }
        if !connected {
            // A stopped container takes its addresses at its next start.
            self.release_endpoints(std::slice::from_ref(&e));
        }
        tracing::info!(container = %name, network = %e.network, ifname = %e.ifname, ip = %e.ip, "connected");
        if let Some(c) = self.containers.get_mut(name) {
            c.endpoints.push(e);
        }
        self.rewrite_own_hosts(name);
        self.rewrite_own_resolv(name);
        self.refresh_dns_of(name);
        self.refresh_faults();
        self.refresh_summary();
        Ok(())
    }

    /// Makes endpoint `e`'s interface in container `c` (addressed and routed when
    /// `addressed`); returns the veth's host end.
    fn wire_one(
        &self,
        c: &Container,
        e: &Endpoint,
        addressed: bool,
        had_gateway: bool,
        had_gateway6: bool,
    ) -> Result<String> {
        let mut wire = Wire::of(e);
        if had_gateway {
            wire.gateway = None;
        }
        if had_gateway6 {
            wire.gateway6 = None;
        }
        let mut host = Rtnl::open()?;
        let container = c.spec.name.as_str();
        let net_fd = &c.ns.net;
        let w2 = wire.clone();
        inside(c, move |nl| {
            let veth = RefCell::new(String::new());
            {
                let mut ctx = (&mut host as &mut dyn Netlink, nl as &mut dyn Netlink);
                let mut plan: Plan<'_, (&mut dyn Netlink, &mut dyn Netlink)> = Plan::new();
                add_link_step(&mut plan, container, net_fd, wire, &veth, |c| {
                    (&mut *c.0, &mut *c.1)
                });
                plan.covered_step("wire it inside", move |c| {
                    let reqs = if addressed {
                        inside_requests(c.1, std::slice::from_ref(&w2), false)?
                    } else {
                        let index =
                            net::link::index(c.1, &w2.ifname)?.ok_or_else(|| gone(&w2.ifname))?;
                        vec![net::link::set_up(index, &w2.ifname)]
                    };
                    c.1.batch(reqs)
                });
                plan.run(&mut ctx)?;
            }
            Ok(veth.into_inner())
        })
    }

    /// `docker network disconnect NET CONTAINER`: its interface on the network goes, with
    /// its address; if that interface carried the default route, the next network with a
    /// gateway gives it.
    pub fn disconnect_network(&mut self, name: &str, network: &str) -> Result<()> {
        let c = self.get(name)?;
        let Some(pos) = c.endpoints.iter().position(|e| e.network == network) else {
            return Err(Error::spec(
                "network",
                network,
                format!(
                    "container {name} is not connected to it; `netlab inspect {name}` lists its networks"
                ),
            ));
        };
        let e = c.endpoints[pos].clone();
        let connected = c.connected;
        let rest: Vec<Wire> = c
            .endpoints
            .iter()
            .filter(|o| o.network != network)
            .map(Wire::of)
            .collect();
        let lost_gateway = c
            .endpoints
            .iter()
            .find_map(|o| o.view.gateway.map(|_| o.network.clone()))
            == Some(network.to_string());
        let lost_gateway6 = c
            .endpoints
            .iter()
            .find_map(|o| o.view.gateway6.map(|_| o.network.clone()))
            == Some(network.to_string());
        if e.host_veth.is_empty() {
            inside(c, |nl| net::link::delete(nl, &e.ifname))?;
        } else {
            net::link::delete(&mut self.host, &e.host_veth)?;
        }
        if connected && (lost_gateway || lost_gateway6) {
            let gw = rest.iter().find_map(|w| w.gateway).filter(|_| lost_gateway);
            let gw6 = rest
                .iter()
                .find_map(|w| w.gateway6)
                .filter(|_| lost_gateway6);
            let c = self.get(name)?;
            let moved = inside(c, |nl| {
                let mut reqs = vec![];
                if let Some(g) = gw {
                    reqs.push(net::route::replace_default(g));
                }
                if let Some(g) = gw6 {
                    reqs.push(net::route::add_default6(g));
                }
                nl.batch(reqs)
            });
            if let Err(err) = moved {
                tracing::warn!(container = %name, "default route after disconnect: {err}");
            }
        }
        if connected {
            self.release_on(&e.network, e.ip, e.ip6);
        }
        let publishes = pos == 0 && !self.get(name)?.ports.is_empty();
        if let Some(c) = self.containers.get_mut(name) {
            c.endpoints.remove(pos);
        }
        if publishes {
            self.apply_firewall()?;
        }
        self.apply_network_rules()?;
        tracing::info!(container = %name, network = %network, "disconnected");
        self.rewrite_own_hosts(name);
        self.rewrite_own_resolv(name);
        self.refresh_dns_of(name);
        self.forget_dns_member(name, network);
        self.refresh_faults();
        self.refresh_summary();
        Ok(())
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
            .map(|h| h.line(self.gateway_of(c)))
            .collect();
        for l in c.links.iter().filter(|_| c.spec.legacy_links()) {
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
            if let Err(e) = std::fs::write(&file, hosts_file(&c.ips(), c.spec.hostname(), &lines)) {
                tracing::warn!(container = %c.spec.name, "cannot update {}: {e}", file.display());
            }
        }
    }

    /// Writes a container's `/etc/resolv.conf` again after `network connect` or
    /// `disconnect`: the embedded DNS (127.0.0.11) while it is on a user-defined network,
    /// as Docker switches a default-bridge container to it at connect; the host's servers
    /// once it is on none. (Docker keeps 127.0.0.11 after the disconnect, where nothing
    /// answers any more until the container is created again.)
    fn rewrite_own_resolv(&self, name: &str) {
        let Ok(c) = self.get(name) else { return };
        let host = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
        let text = if c.endpoints.iter().any(|e| e.view.user) {
            resolv::for_user_network(&host)
        } else {
            resolv::for_default_bridge(&host)
        };
        let file = c.dir.join("resolv.conf");
        if std::fs::read_to_string(&file).is_ok_and(|old| old == text) {
            return;
        }
        // Written in place: the file is bind-mounted by inode.
        if let Err(e) = std::fs::write(&file, text) {
            tracing::warn!(container = %name, "cannot update {}: {e}", file.display());
        }
    }

    /// Writes a running container's own `/etc/hosts` again after `network connect` or
    /// `disconnect`: a line for each address it has now. (Docker appends a line at
    /// connect, and at disconnect removes every line of its own, the other networks'
    /// too; netlab keeps the file true.)
    fn rewrite_own_hosts(&self, name: &str) {
        let Ok(c) = self.get(name) else { return };
        if !c.connected {
            return;
        }
        let Ok(lines) = self.hosts_lines(name) else {
            return;
        };
        let file = c.dir.join("hosts");
        // Written in place: the file is bind-mounted by inode.
        if let Err(e) = std::fs::write(&file, hosts_file(&c.ips(), c.spec.hostname(), &lines)) {
            tracing::warn!(container = %name, "cannot update {}: {e}", file.display());
        }
    }
}

/// `ip -4 addr flush dev IFNAME` and `ip -6 addr flush scope global dev IFNAME`.
fn flush(nl: &mut dyn Netlink, ifname: &str) -> Result<()> {
    let index = net::link::index(nl, ifname)?.ok_or_else(|| gone(ifname))?;
    net::addr::flush_v4(nl, index, ifname)?;
    net::addr::flush_v6_global(nl, index, ifname)
}

impl Lab {
    /// What `--add-host NAME:host-gateway` means for container `c`: its first network's
    /// gateway (the lab's bridge address on the default network).
    pub(super) fn gateway_of(&self, c: &Container) -> Ipv4Addr {
        c.endpoints
            .first()
            .and_then(|e| e.view.gateway)
            .unwrap_or(self.spec.bip.addr)
    }
}
