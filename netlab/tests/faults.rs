//! Faults on real labs: partitions, impairments through the link emulator, cables pulled
//! and flapping, durations, guards, listing, and bad input refused with nothing applied.

mod common;

use std::time::{Duration, Instant};

use common::{lab, sleeper};
use netlab::{Error, FaultSpec, Lab, Target};
use testkit::poll::wait_until;

fn c(name: &str) -> Target {
    Target::Container(name.into())
}

/// One ping from `from` to `to`'s address: its round trip, or `None` when none came back
/// within `wait`.
fn ping(lab: &Lab, from: &str, to: &str, wait: Duration) -> Option<Duration> {
    let ip = lab.inspect(to).unwrap().ip.to_string();
    let w = wait.as_secs().max(1).to_string();
    let out = lab
        .exec(&c(from), &["ping", "-c1", "-n", "-W", &w, &ip])
        .unwrap();
    if out.code != 0 {
        return None;
    }
    let text = out.stdout_str();
    let ms: f64 = text
        .split("time=")
        .nth(1)?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(Duration::from_secs_f64(ms / 1000.0))
}

fn two(tag: &str) -> Lab {
    let lab = lab(tag);
    lab.run(&sleeper("a")).unwrap();
    lab.run(&sleeper("b")).unwrap();
    assert!(ping(&lab, "a", "b", Duration::from_secs(2)).is_some());
    lab
}

#[test]
fn a_partition_cuts_both_ways_and_heals() {
    let lab = two("partition");
    lab.run(&sleeper("c")).unwrap();
    let cut = lab.fault(&FaultSpec::partition(&["a"], &["b"])).unwrap();
    assert_eq!(cut.name(), "fault-1");
    assert!(ping(&lab, "a", "b", Duration::from_secs(1)).is_none());
    assert!(ping(&lab, "b", "a", Duration::from_secs(1)).is_none());
    assert!(
        ping(&lab, "a", "c", Duration::from_secs(2)).is_some(),
        "c is not cut off"
    );
    assert_eq!(lab.faults().unwrap().len(), 1);
    cut.heal().unwrap();
    assert!(ping(&lab, "a", "b", Duration::from_secs(2)).is_some());
    assert!(lab.faults().unwrap().is_empty());
}

#[test]
fn a_delay_through_the_emulator_shows_in_the_round_trip() {
    let lab = two("delay");
    let before = ping(&lab, "a", "b", Duration::from_secs(2)).unwrap();
    let slow = lab
        .fault(&FaultSpec::delay("a", Duration::from_millis(100)).seed(7))
        .unwrap();
    // Both directions of a's cable: 200 ms a round trip.
    let rtt = ping(&lab, "a", "b", Duration::from_secs(3)).unwrap();
    assert!(rtt >= Duration::from_millis(200), "{rtt:?}");
    assert!(rtt < Duration::from_millis(400), "{rtt:?}");
    assert_eq!(slow.state().seed, 7);
    drop(slow);
    let after = ping(&lab, "a", "b", Duration::from_secs(2)).unwrap();
    assert!(
        after < Duration::from_millis(50),
        "{before:?} then {after:?}"
    );
}

#[test]
fn a_pulled_cable_and_a_timed_fault_revert() {
    let lab = two("cable");
    lab.apply_fault(&FaultSpec::link_down("b", "eth0").lasting(Duration::from_millis(1500)))
        .unwrap();
    assert!(ping(&lab, "a", "b", Duration::from_secs(1)).is_none());
    let t = Instant::now();
    wait_until(
        "the fault to end by itself",
        Duration::from_secs(10),
        || lab.faults().unwrap().is_empty(),
    );
    assert!(t.elapsed() < Duration::from_secs(3));
    assert!(ping(&lab, "a", "b", Duration::from_secs(2)).is_some());
}

#[test]
fn bad_faults_are_refused_and_leave_nothing() {
    let lab = two("badfault");
    let cases = [
        FaultSpec::delay("nope", Duration::from_millis(10)),
        FaultSpec::delay("a", Duration::from_secs(36000)),
        FaultSpec::loss("a", 1.5),
        FaultSpec::rate("a", 0),
        FaultSpec::delay("a", Duration::from_millis(10)).on_interface("eth7"),
        FaultSpec::partition(&["a", "b"], &["b"]),
        FaultSpec::delay("a", Duration::from_millis(10)).to(&["ghost"]),
    ];
    for spec in cases {
        let e = lab.apply_fault(&spec).unwrap_err();
        assert!(
            matches!(
                e,
                Error::InvalidSpec { .. } | Error::UnknownContainer { .. }
            ),
            "{spec:?}: {e:?}"
        );
    }
    lab.stop("b", 1).unwrap();
    let e = lab
        .apply_fault(&FaultSpec::delay("b", Duration::from_millis(10)))
        .unwrap_err();
    assert!(matches!(e, Error::BadState { .. }), "{e:?}");
    assert!(lab.faults().unwrap().is_empty());
    let links = lab
        .exec(&Target::Host, &["ip", "-o", "link"])
        .unwrap()
        .stdout_str();
    assert!(!links.contains("emu"), "{links}");
}

/// Receives the numbered datagrams of [`SEND`] on UDP 9999 until a second of silence, and
/// writes the numbers that never came to `/dev/shm/TAG.lost` (a file appears only whole).
const RECEIVE: &str = r#"
import os, socket, sys
tag = sys.argv[1]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 9999))
open(f"/dev/shm/{tag}.bound", "w").close()
got = set()
s.settimeout(30)
while True:
    try:
        d, _ = s.recvfrom(64)
    except socket.timeout:
        break
    got.add(int(d))
    s.settimeout(1.0)
with open(f"/dev/shm/{tag}.tmp", "w") as f:
    f.write(" ".join(str(i) for i in range(10000) if i not in got))
os.rename(f"/dev/shm/{tag}.tmp", f"/dev/shm/{tag}.lost")
"#;

/// Sends datagrams numbered 0..10000 from UDP port 9998 (the same stream every time),
/// paced so that no socket buffer overflows.
const SEND: &str = r#"
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 9998))
for i in range(10000):
    s.sendto(str(i).encode(), (sys.argv[1], 9999))
    if i % 100 == 99:
        time.sleep(0.005)
"#;

/// The numbers of a 10,000-datagram stream from a to b lost under `spec`.
fn lost_under(lab: &Lab, spec: &FaultSpec, tag: &str) -> Vec<u32> {
    let b_ip = lab.inspect("b").unwrap().ip.to_string();
    let argv: Vec<String> = ["python3", "-c", RECEIVE, tag]
        .iter()
        .map(|s| s.to_string())
        .collect();
    lab.exec_detached(&c("b"), &argv, &netlab::ExecOptions::default())
        .unwrap();
    wait_until("the receiver to bind", Duration::from_secs(10), || {
        lab.exec(&c("b"), &["test", "-e", &format!("/dev/shm/{tag}.bound")])
            .unwrap()
            .code
            == 0
    });
    let fault = lab.fault(spec).unwrap();
    let sent = lab.exec(&c("a"), &["python3", "-c", SEND, &b_ip]).unwrap();
    assert_eq!(sent.code, 0, "{}", String::from_utf8_lossy(&sent.stderr));
    let file = format!("/dev/shm/{tag}.lost");
    wait_until("the receiver's report", Duration::from_secs(20), || {
        lab.exec(&c("b"), &["test", "-e", &file]).unwrap().code == 0
    });
    fault.heal().unwrap();
    lab.exec(&c("b"), &["cat", &file])
        .unwrap()
        .stdout_str()
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect()
}

/// The same seed loses the same datagrams of the same stream, run after run; another seed
/// loses others; either way about the set share (the 99% binomial interval of 20% over
/// 10,000 is 18.97% to 21.03%).
#[test]
fn the_same_seed_loses_the_same_datagrams() {
    let lab = two("seeded");
    let loss = |seed| FaultSpec::loss("a", 0.2).to(&["b"]).seed(seed);
    let first = lost_under(&lab, &loss(7), "run1");
    let again = lost_under(&lab, &loss(7), "run2");
    let other = lost_under(&lab, &loss(8), "run3");
    for run in [&first, &again, &other] {
        assert!((1897..=2103).contains(&run.len()), "{} lost", run.len());
    }
    assert_eq!(first, again, "seed 7 twice");
    assert_ne!(first, other, "seed 8");
}

/// The cable of an interface pipework added, and the lab host's uplink to its LAN, can be
/// pulled like `eth0`'s; the LAN machine sees the difference.
#[test]
fn pipework_and_uplink_cables_can_be_pulled() {
    use netlab::{LabSpec, LanNode, PipeworkSpec, Uplink};
    let mut spec = LabSpec::new(&common::lab_name("cables"));
    spec.uplink = Some(Uplink::parse("eth1=10.2.0.10/16").unwrap());
    spec.lan_nodes = vec![LanNode::parse("lan=10.2.0.1/16").unwrap()];
    let lab = Lab::create(&spec).unwrap();
    lab.run(&sleeper("web")).unwrap();
    lab.run(&sleeper("peer")).unwrap();
    for (name, addr) in [("web", "10.3.0.5/24"), ("peer", "10.3.0.6/24")] {
        lab.pipework(&PipeworkSpec::new("br1", name, addr).unwrap())
            .unwrap();
    }
    let peer = c("peer");
    let lan = Target::Node("lan".into());
    let ping_from =
        |t: &Target, ip: &str| lab.exec(t, &["ping", "-c1", "-W1", "-n", ip]).unwrap().code == 0;
    assert!(ping_from(&peer, "10.3.0.5"));
    // The simulated LAN's switch takes a moment before it forwards.
    wait_until(
        "the LAN to reach the uplink",
        Duration::from_secs(20),
        || ping_from(&lan, "10.2.0.10"),
    );

    let eth1 = lab.fault(&FaultSpec::link_down("web", "eth1")).unwrap();
    assert!(!ping_from(&peer, "10.3.0.5"));
    let link = lab
        .exec(&c("web"), &["ip", "link", "show", "eth1"])
        .unwrap()
        .stdout_str();
    assert!(
        link.contains("NO-CARRIER"),
        "the container sees NO-CARRIER: {link}"
    );
    let routes = lab
        .exec(&c("web"), &["ip", "-4", "addr", "show", "eth1"])
        .unwrap()
        .stdout_str();
    assert!(
        routes.contains("10.3.0.5/24"),
        "the address stays: {routes}"
    );
    drop(eth1);
    assert!(ping_from(&peer, "10.3.0.5"));

    let uplink = lab.fault(&FaultSpec::link_down("", "eth1")).unwrap();
    assert!(!ping_from(&lan, "10.2.0.10"));
    drop(uplink);
    wait_until(
        "the LAN to reach the uplink again",
        Duration::from_secs(20),
        || ping_from(&lan, "10.2.0.10"),
    );
    // The lab host's bridge is not a cable.
    assert!(
        lab.apply_fault(&FaultSpec::link_down("", "docker0"))
            .is_err()
    );
}

/// A flapping cable goes down and up in turn while the fault lasts, and ends up.
#[test]
fn a_flapping_cable_toggles_then_stays_up() {
    let lab = two("flap");
    let veth = lab.inspect("b").unwrap().host_veth;
    // `ip -br link`'s state column: DOWN while the cable is pulled.
    let state = || {
        let out = lab
            .exec(&Target::Host, &["ip", "-br", "link", "show", "dev", &veth])
            .unwrap();
        assert_eq!(out.code, 0, "{}", String::from_utf8_lossy(&out.stderr));
        out.stdout_str()
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_string()
    };
    lab.apply_fault(&FaultSpec::flap(
        "b",
        "eth0",
        Duration::from_millis(200),
        Duration::from_millis(1500),
    ))
    .unwrap();
    let mut seen = std::collections::BTreeSet::new();
    wait_until("the fault to end", Duration::from_secs(10), || {
        seen.insert(state());
        lab.faults().unwrap().is_empty()
    });
    assert!(seen.contains("DOWN") && seen.contains("UP"), "{seen:?}");
    assert_eq!(state(), "UP");
    assert!(ping(&lab, "a", "b", Duration::from_secs(2)).is_some());
}

/// `inspect` and `graph` show a fault on the containers it acts on; a fault without a
/// seed gets one, shown so that it can be replayed.
#[test]
fn active_faults_are_visible_and_carry_their_seed() {
    let lab = two("visible");
    let f = lab
        .fault(
            &FaultSpec::delay("a", Duration::from_millis(20))
                .to(&["b"])
                .named("slow"),
        )
        .unwrap();
    let seed = f.state().seed;
    assert_eq!(lab.faults().unwrap()[0].seed, seed);
    for name in ["a", "b"] {
        let faults = lab.inspect(name).unwrap().faults;
        assert_eq!(faults, ["slow: delay 20ms on a/eth0 with b"], "{name}");
    }
    let dot = netlab::graph::to_dot(&netlab::graph::from_lab(
        &lab.info().unwrap(),
        &lab.ps(true).unwrap(),
    ));
    assert!(
        dot.contains("⚡ slow: delay 20ms on a/eth0 with b"),
        "{dot}"
    );
    drop(f);
    assert!(lab.inspect("a").unwrap().faults.is_empty());
}
