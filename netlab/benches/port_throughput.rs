//! Benchmark (not a test): bulk TCP throughput through a published port (nft DNAT on the
//! lab host) against straight to the container's own address, in one run, from a machine
//! on the lab's simulated LAN. Target: the published path reaches at least 90% of the
//! direct one.
//!
//! Run: `cargo bench -p netlab --bench port_throughput` (root, or rootless where user
//! namespaces are allowed). Set `NETLAB_BENCH_MIB` to change the volume per run.
//!
//! The sink inside the container is this very binary started with `--sink PORT` (the
//! container sees the machine's files), so no traffic tool has to be installed.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};

use netlab::{CommandSpec, ContainerSpec, Lab, LabSpec, LanNode, Target, Uplink, parse_publish};

const PORT: u16 = 5001;
const PUBLISHED: u16 = 15001;
const ROUNDS: usize = 5;

/// Reads every connection to its end and answers with the byte count.
fn sink(port: u16) -> ! {
    let l = TcpListener::bind(("0.0.0.0", port)).expect("bind the sink");
    for conn in l.incoming() {
        let Ok(mut c) = conn else { continue };
        let mut buf = vec![0u8; 1 << 18];
        let mut total: u64 = 0;
        loop {
            match c.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => total += n as u64,
            }
        }
        let _ = c.write_all(&total.to_be_bytes());
    }
    std::process::exit(0)
}

/// Sends `bytes` over a connection opened from the LAN machine; returns MiB/s.
fn send(lab: &Lab, addr: SocketAddr, bytes: u64) -> f64 {
    let mut s = lab
        .connect_tcp(&Target::Node("lan".into()), addr)
        .expect("connect from the LAN machine");
    let buf = vec![0x5au8; 1 << 18];
    let t = Instant::now();
    let mut left = bytes;
    while left > 0 {
        let n = left.min(buf.len() as u64) as usize;
        s.write_all(&buf[..n]).expect("send");
        left -= n as u64;
    }
    s.shutdown(std::net::Shutdown::Write).expect("shutdown");
    let mut ack = [0u8; 8];
    s.read_exact(&mut ack).expect("the sink's count");
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(
        u64::from_be_bytes(ack),
        bytes,
        "the sink received everything"
    );
    bytes as f64 / (1024.0 * 1024.0) / secs
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--sink") {
        sink(args.get(i + 1).and_then(|p| p.parse().ok()).unwrap_or(PORT));
    }
    if args.iter().any(|a| a == "--list") {
        return; // `cargo bench -- --list` asks benches to name themselves; nothing to list.
    }
    let mib: u64 = std::env::var("NETLAB_BENCH_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(512);
    let bytes = mib << 20;
    let mut spec = LabSpec::new(&format!("bench-port-{}", std::process::id()));
    spec.bip = "10.2.0.10/16".parse().unwrap();
    spec.ip_range = Some("10.2.1.0/24".parse().unwrap());
    spec.uplink = Some(Uplink::parse("eth1=10.2.0.10/16").unwrap());
    spec.lan_nodes = vec![LanNode::parse("lan=10.2.0.1/16").unwrap()];
    spec.attach_uplink = true;
    let lab = Lab::create(&spec).expect("create the lab");
    let me = std::env::current_exe()
        .expect("this binary")
        .display()
        .to_string();
    let mut c = ContainerSpec::new(
        "sink",
        CommandSpec::Exec(vec![me, "--sink".into(), PORT.to_string()]),
    );
    c.publish = parse_publish(&format!("{PUBLISHED}:{PORT}")).unwrap();
    let st = lab.run(&c).expect("run the sink");
    let direct = SocketAddr::new(st.ip.into(), PORT);
    let published = SocketAddr::from(([10, 2, 0, 10], PUBLISHED));
    let deadline = Instant::now() + Duration::from_secs(10);
    while lab
        .connect_tcp(&Target::Node("lan".into()), direct)
        .is_err()
    {
        assert!(Instant::now() < deadline, "the sink did not start");
        std::thread::sleep(Duration::from_millis(5));
    }
    // Warm up both paths (ARP, conntrack, TCP windows), then alternate them.
    send(&lab, direct, 64 << 20);
    send(&lab, published, 64 << 20);
    let (mut d, mut p) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        d.push(send(&lab, direct, bytes));
        p.push(send(&lab, published, bytes));
    }
    let (dm, pm) = (median(d.clone()), median(p.clone()));
    println!("bulk TCP from a LAN machine, {mib} MiB per run, median of {ROUNDS} runs");
    println!("{:<42} {:>10}", "path", "MiB/s");
    println!(
        "{:<42} {:>10.0}   runs {:?}",
        format!("direct to the container {direct}"),
        dm,
        d.iter().map(|x| x.round()).collect::<Vec<_>>()
    );
    println!(
        "{:<42} {:>10.0}   runs {:?}",
        format!("published port {published} (nft DNAT)"),
        pm,
        p.iter().map(|x| x.round()).collect::<Vec<_>>()
    );
    println!(
        "published / direct = {:.1}% (target: at least 90%)",
        100.0 * pm / dm
    );
}
