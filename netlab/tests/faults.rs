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
