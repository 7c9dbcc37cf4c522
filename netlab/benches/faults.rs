//! Benchmark (not a test): how long applying and healing a fault takes in a real lab, and
//! how soon its effect shows. Prints, for a partition, an impairment (the link emulator
//! spliced into a cable) and a pulled cable: the p50 and worst of the apply and heal calls
//! over ROUNDS rounds, and whether the first probe sent after the call returned was
//! already affected (a TCP connect from container `a` to a listener in `b`: refused to
//! complete by a partition or a pulled cable, slowed by the delay).
//!
//! Run: `cargo bench -p netlab --bench faults` (as root, or rootless where user
//! namespaces are allowed).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use netlab::{CommandSpec, ContainerSpec, FaultSpec, Lab, LabSpec, Target};

const ROUNDS: usize = 30;
const DELAY: Duration = Duration::from_millis(50);

fn sleeper(name: &str) -> ContainerSpec {
    ContainerSpec::new(name, CommandSpec::Exec(vec!["sleep".into(), "1000".into()]))
}

/// A TCP listener on port 7000 that accepts forever.
fn listener(name: &str) -> ContainerSpec {
    ContainerSpec::new(
        name,
        CommandSpec::Exec(vec![
            "python3".into(),
            "-c".into(),
            "import socket\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\ns.bind(('0.0.0.0',7000))\ns.listen(512)\nwhile True:\n    c,_=s.accept()\n    c.close()\n".into(),
        ]),
    )
}

/// How long a TCP connect from `a` to `to` takes; `None` if it fails within a second.
fn connect(lab: &Lab, to: SocketAddr) -> Option<Duration> {
    let t = Instant::now();
    let s = lab.connect_tcp(&Target::Container("a".into()), to).ok()?;
    drop(s);
    Some(t.elapsed())
}

fn quantiles(mut v: Vec<Duration>) -> (f64, f64) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    (ms(v[v.len() / 2]), ms(v[v.len() - 1]))
}

fn main() {
    let name = format!("bench-faults-{}", std::process::id());
    let lab = Lab::create(&LabSpec::new(&name)).expect("create a lab");
    lab.run(&sleeper("a")).expect("run a");
    let b = lab.run(&listener("b")).expect("run b");
    let to = SocketAddr::new(b.ip.into(), 7000);
    let ready = Instant::now() + Duration::from_secs(10);
    while connect(&lab, to).is_none() {
        assert!(Instant::now() < ready, "the listener in b never answered");
    }
    let base: Vec<Duration> = (0..ROUNDS).filter_map(|_| connect(&lab, to)).collect();
    let (base_p50, _) = quantiles(base);
    println!("TCP connect a -> b without a fault: p50 {base_p50:.3} ms");
    println!();
    println!(
        "{:<34} {:>10} {:>10} {:>10} {:>10} {:>22}",
        "fault", "apply p50", "apply max", "heal p50", "heal max", "first probe affected"
    );
    type Check = fn(Option<Duration>) -> bool;
    let kinds: [(&str, FaultSpec, Check); 3] = [
        (
            "partition a | b",
            FaultSpec::partition(&["a"], &["b"]),
            |c| c.is_none(),
        ),
        (
            "delay 50ms a -> b (emulator)",
            FaultSpec::delay("a", DELAY)
                .to(&["b"])
                .direction(netlab::Direction::Egress),
            |c| c.is_some_and(|d| d >= DELAY),
        ),
        ("link down b/eth0", FaultSpec::link_down("b", "eth0"), |c| {
            c.is_none()
        }),
    ];
    for (what, spec, affected) in kinds {
        let (mut apply, mut heal, mut hits) = (vec![], vec![], 0);
        for _ in 0..ROUNDS {
            let t = Instant::now();
            let f = lab.apply_fault(&spec).expect("apply");
            apply.push(t.elapsed());
            if affected(connect(&lab, to)) {
                hits += 1;
            }
            let t = Instant::now();
            lab.heal(&[&f.name]).expect("heal");
            heal.push(t.elapsed());
            // Healed before the next round: the next probe is unaffected again.
            let until = Instant::now() + Duration::from_secs(5);
            while connect(&lab, to).is_none_or(|d| d >= DELAY) {
                assert!(Instant::now() < until, "{what}: not healed");
            }
        }
        let (ap50, amax) = quantiles(apply);
        let (hp50, hmax) = quantiles(heal);
        println!(
            "{what:<34} {ap50:>7.2} ms {amax:>7.2} ms {hp50:>7.2} ms {hmax:>7.2} ms {:>15}/{ROUNDS}",
            hits
        );
    }
    lab.down().expect("down");
}
