//! User-defined networks: bring-up of N containers on a network of the lab's own against
//! the same on the default bridge, and the embedded DNS's latency from inside a container.
//!
//! Run with `cargo bench -p netlab --bench networks` (as root, or as a user allowed to
//! create user namespaces). It prints a table and says whether each aim was met:
//! - bring-up of 200 containers on a user-defined network within 10% of the default
//!   bridge's (the network adds an endpoint per container and, on user networks, the DNS
//!   sockets and names);
//! - the embedded DNS answers a name from inside a container in under 1 ms at p99.
//!
//! Knobs: `NETLAB_BENCH_N` (containers, default 200), `NETLAB_BENCH_REPS` (rounds of each
//! kind, alternated so both see the same machine, default 5; medians shown),
//! `NETLAB_BENCH_CLIENTS` (concurrent clients, default 4), `NETLAB_BENCH_QUERIES` (DNS
//! queries, default 10,000).

use std::time::{Duration, Instant};

use netlab::{Attachment, CommandSpec, ContainerSpec, Lab, LabSpec, NetworkSpec, Target};

fn env(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn sleeper(name: &str, network: Option<&str>) -> ContainerSpec {
    let mut s = ContainerSpec::new(name, CommandSpec::Exec(vec!["sleep".into(), "1000".into()]));
    if let Some(n) = network {
        s.networks.push(Attachment::new(n));
    }
    s
}

/// One round: a fresh lab (with network `appnet` when `network`), N containers brought up
/// by `clients` concurrent clients; the time from the first `run` to the last.
fn round(n: usize, clients: usize, network: bool, rep: usize) -> (Duration, Lab) {
    let name = format!("bnet{}-{rep}-{}", std::process::id(), u8::from(network));
    let lab = Lab::create(&LabSpec::new(&name)).expect("create lab");
    if network {
        lab.create_network(&NetworkSpec::new("appnet"))
            .expect("network");
    }
    let net = network.then_some("appnet");
    let start = Instant::now();
    std::thread::scope(|s| {
        for k in 0..clients {
            let lab = Lab::open(&name).expect("open");
            s.spawn(move || {
                for i in (k..n).step_by(clients) {
                    lab.run(&sleeper(&format!("c{i}"), net)).expect("run");
                }
            });
        }
    });
    (start.elapsed(), lab)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// A DNS query for `name` (type A), as bytes: the client side of the measurement only.
const CLIENT: &str = r#"
import socket, struct, sys, time
name, count = sys.argv[1], int(sys.argv[2])
q = b''.join(bytes([len(p)]) + p.encode() for p in name.split('.')) + b'\0'
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
s.connect(('127.0.0.11', 53))
lat = []
for i in range(count):
    msg = struct.pack('>HHHHHH', i & 0xffff, 0x0100, 1, 0, 0, 0) + q + struct.pack('>HH', 1, 1)
    t = time.perf_counter_ns()
    s.send(msg)
    r = s.recv(512)
    lat.append(time.perf_counter_ns() - t)
    assert r[:2] == msg[:2] and (r[3] & 0xf) == 0 and struct.unpack('>H', r[6:8])[0] >= 1, r
lat.sort()
print(lat[len(lat) // 2], lat[len(lat) * 99 // 100], lat[-1], sum(lat))
"#;

fn main() {
    let n = env("NETLAB_BENCH_N", 200);
    let reps = env("NETLAB_BENCH_REPS", 5).max(1);
    let clients = env("NETLAB_BENCH_CLIENTS", 4).max(1);
    let queries = env("NETLAB_BENCH_QUERIES", 10_000).max(100);
    let (mut plain, mut user) = (vec![], vec![]);
    let mut last = None;
    for rep in 0..reps {
        let (d, lab) = round(n, clients, false, rep);
        plain.push(d);
        drop(lab);
        let (d, lab) = round(n, clients, true, rep);
        user.push(d);
        last = Some(lab);
    }
    let (p, u) = (median(plain.clone()), median(user.clone()));
    let ratio = u.as_secs_f64() / p.as_secs_f64();
    println!("bring-up of {n} containers, {clients} clients, median of {reps} rounds each");
    println!(
        "  default bridge:       {:8.1} ms  ({:.2} ms per container)  rounds {:?}",
        p.as_secs_f64() * 1e3,
        p.as_secs_f64() * 1e3 / n as f64,
        plain.iter().map(|d| d.as_millis()).collect::<Vec<_>>()
    );
    println!(
        "  user-defined network: {:8.1} ms  ({:.2} ms per container)  rounds {:?}",
        u.as_secs_f64() * 1e3,
        u.as_secs_f64() * 1e3 / n as f64,
        user.iter().map(|d| d.as_millis()).collect::<Vec<_>>()
    );
    println!(
        "  ratio {:.3}: {}",
        ratio,
        if ratio <= 1.10 {
            "within 10% (aim met)"
        } else {
            "more than 10% slower (aim missed)"
        }
    );

    // DNS from inside a container of the last lab, which has N containers on the network.
    let lab = last.expect("at least one round");
    let target = Target::Container("c0".into());
    let name = format!("c{}", n - 1);
    let out = lab
        .exec(
            &target,
            &["python3", "-c", CLIENT, &name, &queries.to_string()],
        )
        .expect("exec");
    assert_eq!(out.code, 0, "{}", String::from_utf8_lossy(&out.stderr));
    let v: Vec<f64> = out
        .stdout_str()
        .split_whitespace()
        .map(|x| x.parse::<f64>().unwrap() / 1e6)
        .collect();
    println!(
        "embedded DNS, {queries} A queries for {name} over UDP from inside c0 ({n} names on the network):"
    );
    println!(
        "  p50 {:.3} ms  p99 {:.3} ms  max {:.3} ms  {:.0} queries/s: {}",
        v[0],
        v[1],
        v[2],
        queries as f64 / (v[3] / 1e3),
        if v[1] < 1.0 {
            "p99 under 1 ms (aim met)"
        } else {
            "p99 of 1 ms or more (aim missed)"
        }
    );
}
