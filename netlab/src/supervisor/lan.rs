//! The simulated LAN and the uplink: a switch in a namespace of its own, LAN machines on
//! it, the lab host's `eth1`, and the article's last section (the uplink enslaved to the
//! bridge) or a real interface adopted from the machine (`--uplink-dev`).

use std::collections::BTreeMap;
use std::os::fd::OwnedFd;
use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::model::links::hosts_file;
use crate::net;
use crate::sys::nsfd::{self, Namespaces, NsSetup};
use crate::sys::rtnl::Rtnl;

use super::lab::{Lab, STATE_DIR, gone};
use super::plan::Plan;

/// A machine on the simulated LAN.
pub struct Node {
    pub ns: Namespaces,
}

/// The simulated LAN: a switch (a bridge in a namespace of its own) joining the lab host's
/// uplink and the LAN machines.
pub struct Lan {
    /// Held only to keep the switch namespace, and with it the LAN, alive.
    pub(super) _switch_ns: OwnedFd,
    pub nodes: BTreeMap<String, Node>,
}

impl Lab {
    /// The simulated LAN: `ip link add switch type bridge` in a namespace of its own, the lab
    /// host's uplink (`eth1`) wired to it, and each LAN machine's `eth0` too.
    pub(super) fn build_lan(&mut self) -> Result<()> {
        let Some(up) = self.spec.uplink.clone() else {
            return Ok(());
        };
        let (switch_ns, mut switch) = nsfd::create_net(Rtnl::open)?;
        switch.batch(vec![
            net::link::set_up(1, "lo"),
            net::link::add_bridge("switch", None),
        ])?;
        let lan0 = net::link::index(&mut switch, "switch")?.ok_or_else(|| gone("switch"))?;
        // The uplink: its lab-host end is `eth1`, its switch end `uplink` on the switch.
        self.host.batch(vec![net::link::add_veth_into(
            &up.name, "uplink", &switch_ns, None, None,
        )])?;
        let port = net::link::index(&mut switch, "uplink")?.ok_or_else(|| gone("uplink"))?;
        switch.batch(vec![
            net::link::set_master(port, lan0, "uplink"),
            net::link::set_up(port, "uplink"),
        ])?;
        let eth1 = net::link::index(&mut self.host, &up.name)?.ok_or_else(|| gone(&up.name))?;
        let mut reqs = Vec::new();
        if let Some(a) = up.addr {
            reqs.push(net::addr::add(eth1, a, &up.name));
        }
        reqs.push(net::link::set_up(eth1, &up.name));
        self.host.batch(reqs)?;
        let mut nodes = BTreeMap::new();
        for (i, n) in self.spec.lan_nodes.iter().enumerate() {
            let dir = PathBuf::from(STATE_DIR).join(format!("node-{}", n.name));
            std::fs::create_dir_all(&dir)
                .map_err(|e| Error::io(format!("mkdir {}", dir.display()), &e))?;
            let hosts = dir.join("hosts");
            std::fs::write(&hosts, hosts_file(&[n.addr.addr], &n.name, &[]))
                .map_err(|e| Error::io("write hosts file", &e))?;
            let setup = NsSetup {
                hostname: n.name.clone(),
                binds: vec![(hosts, PathBuf::from("/etc/hosts"))],
            };
            let (ns, mut nl) = nsfd::create(&setup, |ns| Ok((ns, Rtnl::open()?)))?;
            let sw_end = format!("lan{i}");
            switch.batch(vec![net::link::add_veth_into(
                &sw_end,
                "eth0",
                &ns.net,
                None,
                Some(lan0),
            )])?;
            let eth0 = net::link::index(&mut nl, "eth0")?.ok_or_else(|| gone("eth0"))?;
            nl.batch(vec![
                net::link::set_up(1, "lo"),
                net::addr::add(eth0, n.addr, "eth0"),
                net::link::set_up(eth0, "eth0"),
            ])?;
            tracing::info!(node = %n.name, addr = %n.addr, "LAN machine ready");
            nodes.insert(n.name.clone(), Node { ns });
        }
        self.lan = Some(Lan {
            _switch_ns: switch_ns,
            nodes,
        });
        Ok(())
    }

    /// The article's two steps on the lab host: `ip addr del ADDR dev eth1; ip link set
    /// eth1 master docker0`. Safe to repeat.
    pub fn attach_uplink(&mut self) -> Result<()> {
        let name = match (&self.spec.uplink, &self.spec.uplink_dev) {
            (Some(u), _) => u.name.clone(),
            (None, Some(d)) => d.clone(),
            (None, None) => {
                return Err(Error::spec(
                    "uplink attach",
                    &self.spec.name,
                    "this lab has no uplink; create it with --uplink or --uplink-dev",
                ));
            }
        };
        let idx = net::link::index(&mut self.host, &name)?.ok_or_else(|| gone(&name))?;
        // Should enslaving fail, the uplink gets its addresses back.
        let addrs = net::addr::list_v4(&mut self.host, idx, &name)?;
        let bridge = self.bridge_index;
        let mut plan: Plan<'_, Rtnl> = Plan::new();
        plan.step(
            format!("ip -4 addr flush dev {name}"),
            |nl: &mut Rtnl| net::addr::flush_v4(nl, idx, &name),
            |nl: &mut Rtnl| {
                nl.batch(
                    addrs
                        .iter()
                        .map(|a| net::addr::add(idx, *a, &name))
                        .collect(),
                )
            },
        )
        .covered_step(format!("ip link set {name} master"), |nl: &mut Rtnl| {
            nl.batch(vec![net::link::set_master(idx, bridge, &name)])
        });
        plan.run(&mut self.host)?;
        // `lab ls` and `graph` report it from the spec.
        self.spec.attach_uplink = true;
        self.refresh_summary();
        tracing::info!(uplink = %name, bridge = %self.spec.bridge, "uplink enslaved to the bridge");
        Ok(())
    }

    /// Moves a real interface of the caller's namespace `from` into the lab host (`ip link
    /// set DEV netns LAB`) and brings it up. The kernel returns it when the lab ends.
    pub fn adopt_uplink(&mut self, dev: &str, from: &OwnedFd) -> Result<()> {
        let mut outside = nsfd::in_netns(from, Rtnl::open)?;
        let idx = net::link::index(&mut outside, dev)?.ok_or_else(|| {
            Error::spec(
                "--uplink-dev",
                dev,
                "there is no such interface on this machine",
            )
        })?;
        outside.batch(vec![net::link::set_netns(idx, &self.host_net, dev)])?;
        let idx = net::link::index(&mut self.host, dev)?.ok_or_else(|| gone(dev))?;
        self.host.batch(vec![net::link::set_up(idx, dev)])?;
        tracing::info!(dev, "real uplink moved into the lab host");
        Ok(())
    }
}
