//! Faults made real: impairments through netlab's link emulator, cables pulled and
//! flapping, partitions in the bridge's nft table; each fault with its timer, and all of
//! them listed, healed one by one or at once, and gone with the lab.
//!
//! **Impairments.** This kernel family has no `sch_netem`, so an impaired cable gets
//! netlab's emulator spliced into it: the container's host-side veth end leaves its bridge,
//! a new veth pair takes its place there, and the emulator relays frames between the two
//! with the faults' delays, losses and rates (see `emu`). Only impaired cables pass through
//! it; the splice is undone when the last impairment on the cable is healed. The rules of
//! a cable are computed again from every fault on it whenever one changes, or an address
//! does (a peer that was restarted elsewhere).
//!
//! **Cables.** A pulled cable is its host-side end set down: the container sees
//! NO-CARRIER and keeps its address and routes, as with a real cable (setting the
//! container's own end down would also delete its routes).
//!
//! **Partitions.** Drop rules in the lab host's `table bridge netlab_faults`, rendered from
//! all partitions with the sides' addresses of now.
//!
//! **Time.** A fault with a duration has a thread that heals it when the time is up; a
//! flapping cable's thread toggles it. Both act under the lab lock and only while their
//! fault is still there, and end when it is healed (their channel closes).

use std::collections::BTreeMap;
use std::io::Read as _;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use super::Shared;
use super::lab::{Lab, gone, now};
use crate::emu::{self, Relay};
use crate::error::{Error, Result};
use crate::firewall::partition::Cut;
use crate::model::fault::{Counters, Direction, FaultKind, FaultSpec, FaultState, Impair};
use crate::model::names::emulator_ifnames;
use crate::model::{ContainerStatus, fault};
use crate::net;

/// A cable: a container's interface; the container is `""` for the lab host's own.
type Cable = (String, String);

/// The lab's faults.
#[derive(Default)]
pub struct Faults {
    next: u64,
    active: Vec<Active>,
    splices: BTreeMap<Cable, Splice>,
}

impl std::fmt::Debug for Faults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Faults")
            .field("active", &self.active.len())
            .field("splices", &self.splices.len())
            .finish()
    }
}

struct Active {
    id: u64,
    name: String,
    spec: FaultSpec,
    seed: u64,
    since: u64,
    until: Option<Instant>,
    /// Dropping it ends the fault's timer or flap thread.
    _cancel: Option<Sender<()>>,
}

/// The emulator spliced into a cable.
struct Splice {
    relay: Relay,
    /// The cable's own host-side end, taken out of its bridge.
    host_end: String,
    /// The end of the new veth that took its place on the bridge.
    bridge_end: String,
    master: u32,
    hairpin: bool,
}

impl Faults {
    fn get(&self, id: u64) -> Option<&Active> {
        self.active.iter().find(|a| a.id == id)
    }

    /// Whether a fault other than `except` keeps `cable` down.
    fn cable_held_down(&self, cable: &Cable, except: u64) -> bool {
        self.active.iter().any(|a| {
            a.id != except
                && matches!(&a.spec.kind,
                    FaultKind::LinkDown { container, ifname } | FaultKind::Flap { container, ifname, .. }
                        if (container, ifname) == (&cable.0, &cable.1))
        })
    }
}

fn random_seed() -> u64 {
    let mut b = [0u8; 8];
    match std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut b)) {
        Ok(()) => u64::from_le_bytes(b),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(7),
    }
}

impl Lab {
    /// Applies a fault: checked against the lab first (containers that exist and run,
    /// interfaces they have, a free name), then made real; a failure leaves nothing of it.
    pub(super) fn add_fault(&mut self, spec: FaultSpec, s: &Arc<Shared>) -> Result<FaultState> {
        spec.validate()?;
        for name in spec.containers() {
            if name.is_empty() {
                continue;
            }
            let c = self.get(name)?;
            if c.run.lock().map_err(|_| super::lab::poisoned())?.status != ContainerStatus::Running
            {
                return Err(Error::BadState {
                    name: name.into(),
                    problem: "is not running, so no fault can act on its network".into(),
                    fix: format!("start it first with `netlab start {name}`"),
                });
            }
        }
        self.faults.next += 1;
        let id = self.faults.next;
        let name = spec.name.clone().unwrap_or_else(|| format!("fault-{id}"));
        if self.faults.active.iter().any(|a| a.name == name) {
            return Err(Error::spec(
                "fault name",
                &name,
                "a fault of that name is active; heal it first (`netlab heal NAME`) or pick another name",
            ));
        }
        let seed = spec.seed.unwrap_or_else(random_seed);
        let until = spec
            .duration_ms
            .map(|ms| Instant::now() + Duration::from_millis(ms));
        let mut active = Active {
            id,
            name,
            spec: spec.clone(),
            seed,
            since: now(),
            until,
            _cancel: None,
        };
        match &spec.kind {
            FaultKind::Impair {
                container, ifname, ..
            } => {
                if container.is_empty() {
                    return Err(Error::spec(
                        "impairment",
                        format!("--host {ifname}"),
                        "impairments act on containers' interfaces; the lab host's uplink can be taken down (`netlab link down --host IFNAME`)",
                    ));
                }
                let cable = (container.clone(), ifname.clone());
                let end = self.cable_end(&cable)?;
                let spliced = self.faults.splices.contains_key(&cable);
                if !spliced {
                    self.splice(&cable, &end)?;
                }
                self.faults.active.push(active);
                if let Err(e) = self.refresh_cable(&cable) {
                    self.faults.active.retain(|a| a.id != id);
                    if !spliced {
                        self.unsplice(&cable);
                    }
                    return Err(e);
                }
            }
            FaultKind::LinkDown { container, ifname } => {
                let cable = (container.clone(), ifname.clone());
                let end = self.cable_end(&cable)?;
                self.set_cable(&end, false)?;
                self.faults.active.push(active);
            }
            FaultKind::Flap {
                container,
                ifname,
                period_ms,
            } => {
                let cable = (container.clone(), ifname.clone());
                let end = self.cable_end(&cable)?;
                self.set_cable(&end, false)?;
                active._cancel = Some(spawn_flap(
                    s.clone(),
                    id,
                    end,
                    Duration::from_millis(*period_ms),
                ));
                self.faults.active.push(active);
            }
            FaultKind::Partition { .. } => {
                self.faults.active.push(active);
                if let Err(e) = self.apply_partitions() {
                    self.faults.active.retain(|a| a.id != id);
                    return Err(e);
                }
            }
        }
        if let (Some(until), false) = (until, matches!(spec.kind, FaultKind::Flap { .. })) {
            let cancel = spawn_timer(s.clone(), id, until);
            if let Some(a) = self.faults.active.iter_mut().find(|a| a.id == id) {
                a._cancel = Some(cancel);
            }
        }
        let state = self.fault_state(id).ok_or_else(|| Error::Io {
            op: "fault".into(),
            message: "vanished as it was applied".into(),
        })?;
        tracing::info!(fault = %state.name, what = %spec.kind, seed, "fault applied");
        Ok(state)
    }

    /// Heals the faults named (by name or `fault-N`), or every fault when `names` is
    /// empty; an unknown name is an error and heals nothing.
    pub(super) fn heal(&mut self, names: &[String]) -> Result<Vec<String>> {
        let ids: Vec<u64> = if names.is_empty() {
            self.faults.active.iter().map(|a| a.id).collect()
        } else {
            let mut ids = vec![];
            for n in names {
                let a = self
                    .faults
                    .active
                    .iter()
                    .find(|a| &a.name == n || format!("fault-{}", a.id) == *n)
                    .ok_or_else(|| {
                        Error::spec(
                            "fault",
                            n,
                            "no active fault has that name; `netlab faults` lists them",
                        )
                    })?;
                ids.push(a.id);
            }
            ids
        };
        let mut healed = vec![];
        let mut failed = None;
        for id in ids {
            match self.heal_one(id) {
                Ok(Some(name)) => healed.push(name),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!("healing fault {id}: {e}");
                    failed.get_or_insert(e);
                }
            }
        }
        match failed {
            Some(e) => Err(e),
            None => Ok(healed),
        }
    }

    /// Heals fault `id` (gone already: `None`). The fault is removed even if reverting
    /// part of it fails (the cable or container may be gone); the error says so.
    pub(super) fn heal_one(&mut self, id: u64) -> Result<Option<String>> {
        let Some(pos) = self.faults.active.iter().position(|a| a.id == id) else {
            return Ok(None);
        };
        let a = self.faults.active.remove(pos);
        let reverted = match &a.spec.kind {
            FaultKind::Impair {
                container, ifname, ..
            } => self.refresh_cable(&(container.clone(), ifname.clone())),
            FaultKind::LinkDown { container, ifname }
            | FaultKind::Flap {
                container, ifname, ..
            } => {
                let cable = (container.clone(), ifname.clone());
                if self.faults.cable_held_down(&cable, id) {
                    Ok(())
                } else {
                    match self.cable_end(&cable) {
                        Ok(end) => self.set_cable(&end, true),
                        // The container was stopped or removed: nothing to plug back.
                        Err(_) => Ok(()),
                    }
                }
            }
            FaultKind::Partition { .. } => self.apply_partitions(),
        };
        tracing::info!(fault = %a.name, "fault healed");
        reverted.map(|()| Some(a.name))
    }

    /// Heals every fault that names container `name` (it is being removed).
    pub(super) fn heal_faults_of(&mut self, name: &str) {
        let ids: Vec<u64> = self
            .faults
            .active
            .iter()
            .filter(|a| a.spec.containers().contains(&name))
            .map(|a| a.id)
            .collect();
        for id in ids {
            if let Err(e) = self.heal_one(id) {
                tracing::warn!("{e}");
            }
        }
        let cables: Vec<Cable> = self
            .faults
            .splices
            .keys()
            .filter(|c| c.0 == name)
            .cloned()
            .collect();
        for c in cables {
            self.unsplice(&c);
        }
    }

    /// Addresses changed (a container stopped or started): the rules that name
    /// containers are rendered again.
    pub(super) fn refresh_faults(&mut self) {
        let cables: Vec<Cable> = self.faults.splices.keys().cloned().collect();
        for c in cables {
            if let Err(e) = self.refresh_cable(&c) {
                tracing::warn!("{e}");
            }
        }
        if self
            .faults
            .active
            .iter()
            .any(|a| matches!(a.spec.kind, FaultKind::Partition { .. }))
            && let Err(e) = self.apply_partitions()
        {
            tracing::warn!("{e}");
        }
    }

    /// `netlab faults`.
    pub(super) fn fault_states(&self) -> Vec<FaultState> {
        self.faults
            .active
            .iter()
            .filter_map(|a| self.fault_state(a.id))
            .collect()
    }

    /// The one-line descriptions of the faults that act on container `name`.
    pub(super) fn faults_on(&self, name: &str) -> Vec<String> {
        self.faults
            .active
            .iter()
            .filter(|a| a.spec.containers().contains(&name))
            .map(|a| format!("{}: {}", a.name, a.spec.kind))
            .collect()
    }

    fn fault_state(&self, id: u64) -> Option<FaultState> {
        let a = self.faults.get(id)?;
        let counters = match &a.spec.kind {
            FaultKind::Impair {
                container, ifname, ..
            } => self
                .faults
                .splices
                .get(&(container.clone(), ifname.clone()))
                .map(|s| counters(&s.relay.stats())),
            _ => None,
        };
        Some(FaultState {
            id: a.id,
            name: a.name.clone(),
            spec: a.spec.clone(),
            seed: a.seed,
            since: a.since,
            remaining_ms: a.until.map(|u| {
                u64::try_from(u.saturating_duration_since(Instant::now()).as_millis())
                    .unwrap_or(u64::MAX)
            }),
            counters,
        })
    }

    /// The host-side end of a cable: a container's veth on one of its networks or a
    /// pipework veth, or an
    /// interface of the lab host itself (its uplink).
    fn cable_end(&mut self, (container, ifname): &Cable) -> Result<String> {
        if container.is_empty() {
            let exists = net::link::index(&mut self.host, ifname)?.is_some();
            if !exists || ifname == "lo" || *ifname == self.spec.bridge {
                let uplink = self
                    .spec
                    .uplink
                    .as_ref()
                    .map(|u| format!("its uplink is {}", u.name))
                    .unwrap_or_else(|| "it has no uplink".into());
                return Err(Error::spec(
                    "--host interface",
                    ifname,
                    format!(
                        "name an interface of the lab host other than lo and the bridge; {uplink}"
                    ),
                ));
            }
            return Ok(ifname.clone());
        }
        let c = self.get(container)?;
        if let Some(e) = c.endpoints.iter().find(|e| &e.ifname == ifname) {
            if e.host_veth.is_empty() {
                return Err(Error::spec(
                    "interface",
                    ifname,
                    format!(
                        "it is a macvlan device of the lab host's {}: it has no cable of its own on the lab host to impair or pull; put the fault on the uplink's cable (`--host`) or on another interface",
                        e.view.name
                    ),
                ));
            }
            return Ok(e.host_veth.clone());
        }
        if let Some(p) = c.pipework.iter().find(|p| &p.ifname == ifname) {
            return Ok(p.host_ifname.clone());
        }
        let mut names: Vec<String> = c.endpoints.iter().map(|e| e.ifname.clone()).collect();
        names.extend(c.pipework.iter().map(|p| p.ifname.clone()));
        Err(Error::spec(
            "interface",
            ifname,
            format!(
                "container {container} has {}; pick one of them",
                names.join(", ")
            ),
        ))
    }

    /// `ip link set END up|down`.
    fn set_cable(&mut self, end: &str, up: bool) -> Result<()> {
        let index = net::link::index(&mut self.host, end)?.ok_or_else(|| gone(end))?;
        let req = if up {
            net::link::set_up(index, end)
        } else {
            net::link::set_down(index, end)
        };
        self.host.batch(vec![req])
    }

    /// Splices the emulator into a cable: `ip link add B type veth peer name A; ip link set
    /// B master BRIDGE up; ip link set A up; ip link set END nomaster`, then the relay
    /// between END and A. Each step is undone if a later one fails.
    fn splice(&mut self, cable: &Cable, end: &str) -> Result<()> {
        let link = net::link::show(&mut self.host, end)?.ok_or_else(|| gone(end))?;
        let master = link.master.ok_or_else(|| {
            Error::spec(
                "interface",
                &cable.1,
                "its cable is not plugged into a bridge of the lab host, so the emulator has nowhere to splice in",
            )
        })?;
        let hairpin = cable.1 == "eth0" && self.get(&cable.0).is_ok_and(|c| !c.ports.is_empty());
        let (a, b) = emulator_ifnames(&cable.0, &cable.1);
        let _ = net::link::delete(&mut self.host, &b);
        self.host.batch(vec![net::link::add_veth_into(
            &b,
            &a,
            &self.host_net,
            None,
            Some(master),
        )])?;
        let rest = (|| {
            let ai = net::link::index(&mut self.host, &a)?.ok_or_else(|| gone(&a))?;
            let bi = net::link::index(&mut self.host, &b)?.ok_or_else(|| gone(&b))?;
            let mut reqs = vec![net::link::set_up(ai, &a)];
            if hairpin {
                reqs.push(net::link::set_hairpin(bi, &b));
            }
            reqs.push(net::link::set_nomaster(link.index, end));
            self.host.batch(reqs)?;
            match Relay::start(&self.host_net, end, &a, emu::Rules::default()) {
                Ok(r) => Ok(r),
                Err(e) => {
                    let _ = self
                        .host
                        .batch(vec![net::link::set_master(link.index, master, end)]);
                    Err(e)
                }
            }
        })();
        match rest {
            Ok(relay) => {
                tracing::info!(cable = %format!("{}/{}", cable.0, cable.1), "link emulator spliced in");
                self.faults.splices.insert(
                    cable.clone(),
                    Splice {
                        relay,
                        host_end: end.into(),
                        bridge_end: b,
                        master,
                        hairpin,
                    },
                );
                Ok(())
            }
            Err(e) => {
                let _ = net::link::delete(&mut self.host, &b);
                Err(e)
            }
        }
    }

    /// Takes the emulator out of a cable: the relay stops, the cable's end goes back into
    /// its bridge (with hairpin mode again), the spliced veth goes.
    fn unsplice(&mut self, cable: &Cable) {
        let Some(s) = self.faults.splices.remove(cable) else {
            return;
        };
        drop(s.relay);
        if let Ok(Some(index)) = net::link::index(&mut self.host, &s.host_end) {
            let mut reqs = vec![net::link::set_master(index, s.master, &s.host_end)];
            if s.hairpin {
                reqs.push(net::link::set_hairpin(index, &s.host_end));
            }
            if let Err(e) = self.host.batch(reqs) {
                tracing::warn!("{e}");
            }
        }
        if let Err(e) = net::link::delete(&mut self.host, &s.bridge_end) {
            tracing::warn!("{e}");
        }
        tracing::info!(cable = %format!("{}/{}", cable.0, cable.1), "link emulator taken out");
    }

    /// The address of container `name` now, if it holds one.
    fn address_of(&self, name: &str) -> Option<Ipv4Addr> {
        self.containers
            .get(name)
            .filter(|c| c.connected)
            .map(|c| c.ip())
    }

    /// Sets the emulator rules of a cable from the impairments on it; a cable left with
    /// none is unspliced.
    fn refresh_cable(&mut self, cable: &Cable) -> Result<()> {
        let mut seed = 0u64;
        let mut any = false;
        let faults: Vec<(Direction, Option<Vec<Ipv4Addr>>, Impair)> = self
            .faults
            .active
            .iter()
            .filter_map(|a| match &a.spec.kind {
                FaultKind::Impair {
                    container,
                    ifname,
                    peers,
                    direction,
                    impair,
                } if (container, ifname) == (&cable.0, &cable.1) => {
                    seed ^= a.seed;
                    any = true;
                    let peers = (!peers.is_empty())
                        .then(|| peers.iter().filter_map(|p| self.address_of(p)).collect());
                    Some((*direction, peers, *impair))
                }
                _ => None,
            })
            .collect();
        if !any {
            self.unsplice(cable);
            return Ok(());
        }
        let rules = emu_rules(seed, &compose(&faults));
        let splice = self.faults.splices.get(cable).ok_or_else(|| Error::Io {
            op: format!("fault on {}/{}", cable.0, cable.1),
            message: "the link emulator is not spliced in".into(),
        })?;
        splice.relay.set(rules)
    }

    /// Makes the partition table what the active partitions say, with the addresses of now.
    fn apply_partitions(&mut self) -> Result<()> {
        let mut cuts = vec![];
        for a in &self.faults.active {
            if let FaultKind::Partition {
                a: l,
                b: r,
                one_way,
            } = &a.spec.kind
            {
                let ips = |names: &Vec<String>| -> Vec<Ipv4Addr> {
                    names.iter().filter_map(|n| self.address_of(n)).collect()
                };
                cuts.push(Cut {
                    name: a.name.clone(),
                    from: ips(l),
                    to: ips(r),
                    arp: !one_way,
                });
                if !one_way {
                    cuts.push(Cut {
                        name: a.name.clone(),
                        from: ips(r),
                        to: ips(l),
                        arp: true,
                    });
                }
            }
        }
        self.firewall()?.apply_cuts(&cuts)
    }
}

/// One direction's rule of a cable: the traffic with `peers` (all traffic when empty)
/// gets `impair`.
type DirRule = (Direction, Vec<Ipv4Addr>, Impair);

/// The rules of one cable from its faults (direction, peers' addresses or `None` for all
/// traffic, impairment), so that each frame gets every fault that applies to it composed:
/// per direction, one rule per group of peers whose traffic gets the same composition
/// (their own faults, then the all-traffic ones), then one rule for all other traffic.
/// A fault limited to peers that hold no address (stopped) acts on nothing.
fn compose(faults: &[(Direction, Option<Vec<Ipv4Addr>>, Impair)]) -> Vec<DirRule> {
    let mut out = vec![];
    for d in [Direction::Egress, Direction::Ingress] {
        let covers = |fd: Direction| fd == Direction::Both || fd == d;
        let general = faults
            .iter()
            .filter(|f| covers(f.0) && f.1.is_none())
            .fold(Impair::none(), |acc, f| acc.then(&f.2));
        let mut peers: Vec<Ipv4Addr> = faults
            .iter()
            .filter(|f| covers(f.0))
            .filter_map(|f| f.1.as_ref())
            .flatten()
            .copied()
            .collect();
        peers.sort_unstable();
        peers.dedup();
        let mut groups: Vec<(Impair, Vec<Ipv4Addr>)> = vec![];
        for ip in peers {
            let own = faults
                .iter()
                .filter(|f| covers(f.0) && f.1.as_ref().is_some_and(|v| v.contains(&ip)))
                .fold(Impair::none(), |acc, f| acc.then(&f.2));
            let imp = own.then(&general);
            match groups.iter_mut().find(|g| g.0 == imp) {
                Some(g) => g.1.push(ip),
                None => groups.push((imp, vec![ip])),
            }
        }
        out.extend(groups.into_iter().map(|(imp, ips)| (d, ips, imp)));
        if !general.is_none() {
            out.push((d, vec![], general));
        }
    }
    out
}

/// The emulator's form of the rules: the container's side is the relay's `a`.
fn emu_rules(seed: u64, rules: &[DirRule]) -> emu::Rules {
    emu::Rules {
        seed,
        rules: rules
            .iter()
            .map(|(d, peers, i)| emu::Rule {
                dir: match d {
                    Direction::Egress => emu::Dir::AtoB,
                    Direction::Ingress => emu::Dir::BtoA,
                    Direction::Both => emu::Dir::Both,
                },
                peers: peers.iter().map(|p| IpAddr::V4(*p)).collect(),
                impair: emu::Impairment {
                    delay: Duration::from_micros(i.delay_us),
                    jitter: Duration::from_micros(i.jitter_us),
                    distribution: match i.distribution {
                        fault::Distribution::Uniform => emu::Distribution::Uniform,
                        fault::Distribution::Normal => emu::Distribution::Normal,
                    },
                    loss: i.loss,
                    burst: i.burst,
                    duplicate: i.duplicate,
                    reorder: i.reorder,
                    corrupt: i.corrupt,
                    rate: i.rate_bps,
                    limit: i.limit,
                },
            })
            .collect(),
    }
}

fn counters(s: &emu::Stats) -> Counters {
    let mut c = Counters::default();
    for d in [&s.a_to_b, &s.b_to_a] {
        c.frames += d.frames_in;
        c.passed += d.passed;
        c.lost += d.lost_random + d.lost_burst;
        c.dropped_queue_full += d.dropped;
        c.duplicated += d.duplicated;
        c.reordered += d.reordered;
        c.corrupted += d.corrupted;
    }
    c
}

/// Heals fault `id` at `until`, unless it is healed before (the returned sender is
/// dropped).
fn spawn_timer(s: Arc<Shared>, id: u64, until: Instant) -> Sender<()> {
    let (tx, rx) = mpsc::channel::<()>();
    let spawned = std::thread::Builder::new()
        .name(format!("fault-{id} timer"))
        .spawn(move || {
            if let Err(RecvTimeoutError::Timeout) =
                rx.recv_timeout(until.saturating_duration_since(Instant::now()))
                && let Err(e) = s.lab().heal_one(id)
            {
                tracing::warn!("fault-{id} at its end: {e}");
            }
        });
    if let Err(e) = spawned {
        tracing::error!("no timer for fault-{id}: {e}");
    }
    tx
}

/// Toggles cable `end` every half `period` while fault `id` lasts, then heals it.
fn spawn_flap(s: Arc<Shared>, id: u64, end: String, period: Duration) -> Sender<()> {
    let (tx, rx) = mpsc::channel::<()>();
    let half = (period / 2).max(Duration::from_millis(10));
    let spawned = std::thread::Builder::new()
        .name(format!("fault-{id} flap"))
        .spawn(move || {
            let mut up = false;
            let mut next = Instant::now() + half;
            loop {
                match rx.recv_timeout(next.saturating_duration_since(Instant::now())) {
                    Err(RecvTimeoutError::Timeout) => {}
                    _ => return,
                }
                let mut lab = s.lab();
                let Some(until) = lab.faults.get(id).map(|a| a.until) else {
                    return;
                };
                if until.is_some_and(|u| Instant::now() >= u) {
                    if let Err(e) = lab.heal_one(id) {
                        tracing::warn!("fault-{id} at its end: {e}");
                    }
                    return;
                }
                up = !up;
                if let Err(e) = lab.set_cable(&end, up) {
                    tracing::warn!("fault-{id}: {e}");
                }
                next += half;
            }
        });
    if let Err(e) = spawned {
        tracing::error!("no flap thread for fault-{id}: {e}");
    }
    tx
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> Ipv4Addr {
        Ipv4Addr::new(172, 17, 0, last)
    }

    fn delay(ms: u64) -> Impair {
        Impair {
            delay_us: ms * 1000,
            ..Impair::none()
        }
    }

    #[test]
    fn every_fault_that_applies_to_a_frame_is_composed_into_its_rule() {
        let rules = compose(&[
            (Direction::Both, None, delay(100)),
            (Direction::Egress, Some(vec![ip(2)]), delay(10)),
            (Direction::Both, Some(vec![ip(2), ip(3)]), delay(1)),
        ]);
        assert_eq!(
            rules,
            vec![
                (Direction::Egress, vec![ip(2)], delay(111)),
                (Direction::Egress, vec![ip(3)], delay(101)),
                (Direction::Egress, vec![], delay(100)),
                (Direction::Ingress, vec![ip(2), ip(3)], delay(101)),
                (Direction::Ingress, vec![], delay(100)),
            ]
        );
    }

    #[test]
    fn a_fault_whose_peers_hold_no_address_acts_on_nothing() {
        assert_eq!(
            compose(&[(Direction::Both, Some(vec![]), delay(5))]),
            vec![]
        );
        assert_eq!(
            compose(&[(Direction::Ingress, None, delay(5))]),
            vec![(Direction::Ingress, vec![], delay(5))]
        );
    }
}
