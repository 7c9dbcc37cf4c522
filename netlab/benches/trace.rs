//! Benchmark (not a test): how long `netlab trace` takes in a real lab, end to end through
//! the client API: a delivered TCP trace (container to container over the bridge), the
//! same through a published port from a LAN machine (DNAT, two bridges), a closed port,
//! and a trace that a partition drops (it ends when the kernel reports the drop rule, not
//! at the probe's timeout). Prints p50 and worst over ROUNDS rounds.
//!
//! Run: `cargo bench -p netlab --bench trace` (as root, or rootless where user namespaces
//! are allowed). The aim: a delivered trace under 300 ms.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use netlab::{
    CommandSpec, ContainerSpec, FaultSpec, Lab, LabSpec, LanNode, Target, TraceSpec, Uplink,
    parse_publish,
};

const ROUNDS: usize = 20;

fn server(name: &str) -> ContainerSpec {
    ContainerSpec::new(
        name,
        CommandSpec::Shell("exec python3 -m http.server 8080 --bind 0.0.0.0".into()),
    )
}

fn quantiles(mut v: Vec<Duration>) -> (f64, f64) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    (ms(v[v.len() / 2]), ms(v[v.len() - 1]))
}

/// Runs `spec` `rounds` times; checks each verdict with `ok`.
fn measure(
    lab: &Lab,
    what: &str,
    spec: &TraceSpec,
    rounds: usize,
    ok: impl Fn(&netlab::Verdict) -> bool,
) {
    let mut times = vec![];
    for _ in 0..rounds {
        let t0 = Instant::now();
        let t = lab.trace(spec).expect("trace");
        times.push(t0.elapsed());
        assert!(ok(&t.verdict), "{what}: {t}");
    }
    let (p50, worst) = quantiles(times);
    println!("{what:<52} p50 {p50:>7.1} ms   worst {worst:>7.1} ms   ({rounds} rounds)");
}

fn main() {
    let mut spec = LabSpec::new(&format!("bench-trace-{}", std::process::id()));
    spec.bip = "10.2.0.10/16".parse().unwrap();
    spec.ip_range = Some("10.2.1.0/24".parse().unwrap());
    spec.uplink = Some(Uplink::parse("eth1=10.2.0.10/16").unwrap());
    spec.lan_nodes = vec![LanNode::parse("lan=10.2.0.1/16").unwrap()];
    spec.attach_uplink = true;
    let lab = Lab::create(&spec).expect("create a lab");
    lab.run(&ContainerSpec::new(
        "a",
        CommandSpec::Exec(vec!["sleep".into(), "1000".into()]),
    ))
    .expect("run a");
    let mut web = server("web");
    web.publish = parse_publish("8080:8080").unwrap();
    let st = lab.run(&web).expect("run web");
    let to = SocketAddr::new(st.ip.into(), 8080);
    let ready = Instant::now() + Duration::from_secs(10);
    while lab.connect_tcp(&Target::Host, to).is_err() {
        assert!(Instant::now() < ready, "the server in web never answered");
        std::thread::sleep(Duration::from_millis(20));
    }
    let delivered = |v: &netlab::Verdict| v.delivered();
    let a = Target::Container("a".into());
    // A first trace from the LAN warms its path (see PATIENCE in supervisor/trace.rs).
    let lan = TraceSpec::new(Target::Node("lan".into()), "10.2.0.10:8080");
    let _ = lab.trace(&lan);
    measure(
        &lab,
        "delivered: container -> container (link)",
        &TraceSpec::new(a.clone(), "web:8080"),
        ROUNDS,
        delivered,
    );
    measure(
        &lab,
        "delivered: LAN -> published port (DNAT, 2 bridges)",
        &lan,
        ROUNDS,
        delivered,
    );
    measure(
        &lab,
        "refused: closed port",
        &TraceSpec::new(a.clone(), "web:8081"),
        ROUNDS,
        |v| matches!(v, netlab::Verdict::Refused { .. }),
    );
    let _cut = lab
        .fault(&FaultSpec::partition(&["a"], &["web"]))
        .expect("partition");
    measure(
        &lab,
        "dropped: partition (bridge netlab_faults)",
        &TraceSpec::new(a, "web:8080"),
        ROUNDS,
        |v| matches!(v, netlab::Verdict::Dropped { .. }),
    );
}
