//! `pipework`: an extra interface with a static address in a container, on the lab's
//! bridge or on a bridge of its own, checked in full and then applied as a plan whose
//! steps carry their own undo.

use std::net::Ipv4Addr;
use std::os::fd::OwnedFd;

use super::plan::Plan;
use crate::error::{Error, Result};
use crate::model::net::format_mac;
use crate::model::pipework::{PipeworkSpec, first_free_ifname};
use crate::model::{Ipam, PipeworkIf, limits};
use crate::net;
use crate::sys::nsfd::{self};
use crate::sys::rtnl::{Netlink, Rtnl};

use super::lab::{Lab, gone};

impl Lab {
    /// `pipework BRIDGE [-i IFNAME] [-l HOSTIF] CONTAINER IP/PREFIX[@GW] [MAC]`: checked in
    /// full, then applied as a [`Plan`] whose steps each carry their undo, so a failure
    /// half-way leaves neither address, bridge nor interface behind.
    pub fn pipework(&mut self, spec: PipeworkSpec) -> Result<PipeworkIf> {
        spec.validate()?;
        self.get(&spec.container)?;
        // An existing interface must be a bridge: the kernel refuses a veth whose master is
        // anything else, in words that do not say so (EOPNOTSUPP for `lo` or the uplink).
        let bridge = net::link::show(&mut self.host, &spec.bridge)?;
        if let Some(b) = &bridge
            && b.kind.as_deref() != Some("bridge")
        {
            let what = match &b.kind {
                Some(k) => format!("a {k} interface"),
                None if spec.bridge == "lo" => "the loopback interface".to_string(),
                None => "an interface".to_string(),
            };
            return Err(Error::spec(
                "pipework bridge",
                &spec.bridge,
                format!(
                    "it is {what} of the lab host, not a bridge; give a bridge (this lab's is {}) or a new name, which pipework creates as a bridge",
                    self.spec.bridge
                ),
            ));
        }
        // The container by its field, so that the lab host's socket stays free to use.
        let c = self
            .containers
            .get(&spec.container)
            .ok_or_else(|| Error::UnknownContainer {
                lab: self.spec.name.clone(),
                name: spec.container.clone(),
            })?;
        // Opened for the occasion: a socket per container would sit idle for its life.
        let mut inside = nsfd::in_netns(&c.ns.net, Rtnl::open)?;
        let existing: Vec<String> = net::link::list(&mut inside)?
            .into_iter()
            .map(|l| l.name)
            .collect();
        let ifname = match &spec.ifname {
            Some(i) if existing.contains(i) => {
                return Err(Error::spec(
                    "-i",
                    i,
                    format!(
                        "container {} already has an interface {i}; pick another name with -i",
                        spec.container
                    ),
                ));
            }
            Some(i) => i.clone(),
            None => first_free_ifname(&existing),
        };
        let host_ifname = match &spec.host_ifname {
            Some(h) => {
                if net::link::index(&mut self.host, h)?.is_some() {
                    return Err(Error::spec(
                        "-l",
                        h,
                        "the lab host has an interface of that name already; pick another",
                    ));
                }
                h.clone()
            }
            None => {
                let mut salt = 0;
                loop {
                    let n =
                        crate::model::names::pipework_host_ifname(&spec.container, &ifname, salt);
                    if net::link::index(&mut self.host, &n)?.is_none() {
                        break n;
                    }
                    salt += 1;
                }
            }
        };
        self.ipam.check_free(spec.addr.addr)?;
        limits::check_bridge_port(&spec.bridge, self.bridge_ports(&spec.bridge))?;
        // The container's default route now, which a gateway replaces.
        let old_gateway = c
            .pipework
            .iter()
            .rev()
            .find_map(|x| x.gateway)
            .unwrap_or(self.spec.bip.addr);
        let plan = pipework_plan(
            &spec,
            &ifname,
            &host_ifname,
            &c.ns.net,
            bridge.is_none(),
            old_gateway,
        );
        let mut ctx = PipeworkCtx {
            host: &mut self.host,
            inside: &mut inside,
            ipam: &mut self.ipam,
            bridges: &mut self.extra_bridges,
        };
        plan.run(&mut ctx)?;
        let mac = match spec.mac {
            Some(m) => format_mac(&m),
            None => net::link::show(&mut inside, &ifname)?
                .and_then(|l| l.mac)
                .map(|m| format_mac(&m))
                .unwrap_or_default(),
        };
        tracing::info!(container = %spec.container, ifname, addr = %spec.addr, bridge = %spec.bridge, "pipework interface added");
        let pif = PipeworkIf {
            bridge: spec.bridge.clone(),
            ifname,
            host_ifname,
            addr: spec.addr,
            gateway: spec.gateway,
            mac,
        };
        if let Some(c) = self.containers.get_mut(&spec.container) {
            c.pipework.push(pif.clone());
        }
        Ok(pif)
    }
}

/// What a pipework plan acts on: the lab host's and the container's netlink sockets, the
/// lab's address manager and its list of bridges made by pipework.
pub struct PipeworkCtx<'l> {
    pub host: &'l mut dyn Netlink,
    pub inside: &'l mut dyn Netlink,
    pub ipam: &'l mut Ipam,
    pub bridges: &'l mut Vec<String>,
}

/// The steps of a checked pipework request: claim the address; create the bridge if it
/// is new; `ip link add HOSTIF type veth peer name IFNAME netns C [address MAC] master
/// BRIDGE`; in the container `ip addr add` and `ip link set up` (gone with the veth); and
/// `ip route replace default via GW`, whose undo puts the old default back.
pub fn pipework_plan<'a>(
    p: &'a PipeworkSpec,
    ifname: &'a str,
    host_ifname: &'a str,
    container_net: &'a OwnedFd,
    new_bridge: bool,
    old_gateway: Ipv4Addr,
) -> Plan<'a, PipeworkCtx<'a>> {
    let mut plan: Plan<'a, PipeworkCtx<'a>> = Plan::new();
    let owner = format!("pipework {ifname} of container {}", p.container);
    let addr = p.addr;
    plan.step(
        format!("claim {}", addr.addr),
        move |c: &mut PipeworkCtx<'_>| c.ipam.claim(addr.addr, &owner),
        move |c: &mut PipeworkCtx<'_>| {
            c.ipam.release(addr.addr);
            Ok(())
        },
    );
    let bridge = p.bridge.as_str();
    if new_bridge {
        plan.step(
            format!("ip link add {bridge} type bridge"),
            move |c: &mut PipeworkCtx<'_>| {
                c.host.batch(vec![net::link::add_bridge(bridge, None)])?;
                c.bridges.push(bridge.to_string());
                tracing::info!(bridge, "bridge created by pipework");
                Ok(())
            },
            move |c: &mut PipeworkCtx<'_>| {
                c.bridges.retain(|b| b != bridge);
                net::link::delete(c.host, bridge)
            },
        );
    }
    let mac = p.mac;
    plan.step(
        format!("ip link add {host_ifname} type veth peer name {ifname}"),
        move |c: &mut PipeworkCtx<'_>| {
            let master = net::link::index(c.host, bridge)?.ok_or_else(|| gone(bridge))?;
            c.host.batch(vec![net::link::add_veth_into(
                host_ifname,
                ifname,
                container_net,
                mac,
                Some(master),
            )])
        },
        move |c: &mut PipeworkCtx<'_>| net::link::delete(c.host, host_ifname),
    );
    plan.covered_step(
        format!("ip addr add {addr} dev {ifname}; ip link set {ifname} up"),
        move |c: &mut PipeworkCtx<'_>| {
            let idx = net::link::index(c.inside, ifname)?.ok_or_else(|| gone(ifname))?;
            c.inside.batch(vec![
                net::addr::add(idx, addr, ifname),
                net::link::set_up(idx, ifname),
            ])
        },
    );
    if let Some(gw) = p.gateway {
        plan.step(
            format!("ip route replace default via {gw}"),
            move |c: &mut PipeworkCtx<'_>| c.inside.batch(vec![net::route::replace_default(gw)]),
            move |c: &mut PipeworkCtx<'_>| {
                c.inside
                    .batch(vec![net::route::replace_default(old_gateway)])
            },
        );
    }
    plan
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;

    use super::*;
    use crate::model::LabSpec;
    use crate::supervisor::fake::{FakeKernel, NsState};

    /// The lab host with docker0, a container with `lo` and `eth0` and its default route.
    fn kernel() -> Rc<RefCell<FakeKernel>> {
        FakeKernel::lab(NsState {
            links: [("eth0".to_string(), vec![]), ("lo".to_string(), vec![])].into(),
            default_gw: Some(Ipv4Addr::new(172, 17, 0, 1)),
        })
    }

    fn spec() -> PipeworkSpec {
        PipeworkSpec::new("br1", "web", "10.2.0.11/16@10.2.0.1").unwrap()
    }

    /// Runs the plan of `pipework br1 web 10.2.0.11/16@10.2.0.1` (a new bridge, a gateway)
    /// with the kernel's request number `fail_at` failing.
    fn run(fail_at: Option<usize>) -> (Result<()>, Rc<RefCell<FakeKernel>>, Ipam, Vec<String>) {
        let k = kernel();
        k.borrow_mut().fail_at = fail_at;
        let (mut host, mut inside) = FakeKernel::sockets(&k);
        let mut ipam = Ipam::new(&LabSpec::new("t"));
        let mut bridges = vec![];
        let p = spec();
        let fd = OwnedFd::from(std::fs::File::open("/dev/null").unwrap());
        let plan = pipework_plan(&p, "eth1", "vpw1", &fd, true, Ipv4Addr::new(172, 17, 0, 1));
        let result = plan.run(&mut PipeworkCtx {
            host: &mut host,
            inside: &mut inside,
            ipam: &mut ipam,
            bridges: &mut bridges,
        });
        (result, k, ipam, bridges)
    }

    #[test]
    fn the_plan_makes_the_bridge_the_veth_the_address_and_the_route() {
        let (result, k, ipam, bridges) = run(None);
        result.unwrap();
        let k = k.borrow();
        let host: Vec<&String> = k.ns["host"].links.keys().collect();
        assert_eq!(host, ["br1", "docker0", "vpw1"]);
        assert_eq!(k.ns["inside"].links["eth1"], ["10.2.0.11/16 dev eth1"]);
        assert_eq!(k.ns["inside"].default_gw, Some(Ipv4Addr::new(10, 2, 0, 1)));
        assert!(ipam.check_free(Ipv4Addr::new(10, 2, 0, 11)).is_err());
        assert_eq!(bridges, ["br1"]);
    }

    /// A failure at every kernel request of the plan leaves the kernel, the address
    /// manager and the lab's list of bridges as they were.
    #[test]
    fn a_failure_at_every_request_leaves_nothing_behind() {
        let (_, k, _, _) = run(None);
        let total = k.borrow().requests.len();
        assert!(total >= 6, "{:?}", k.borrow().requests);
        let before = kernel().borrow().ns.clone();
        for fail_at in 0..total {
            let (result, k, ipam, bridges) = run(Some(fail_at));
            let k = k.borrow();
            let failed = &k.requests[fail_at];
            assert!(
                result.is_err(),
                "request {fail_at} ({failed}) failed, the plan did not"
            );
            assert_eq!(
                k.ns, before,
                "after a failure of {failed}; requests {:?}",
                k.requests
            );
            assert!(
                ipam.check_free(Ipv4Addr::new(10, 2, 0, 11)).is_ok(),
                "address still claimed after a failure of {failed}"
            );
            assert!(bridges.is_empty(), "after a failure of {failed}");
        }
    }
}
