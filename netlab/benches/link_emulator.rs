//! Benchmark (not a test) of the user-space link emulator (`emu::Relay`, issue 13).
//!
//! Run: `cargo bench -p netlab --bench link_emulator` as root. It builds its own
//! throwaway namespaces (`emu::testbed`), nothing else:
//!
//! ```text
//! relayed: A [eth0 10.9.0.1] -- veth -- hub [a  relay  b] -- veth -- B [eth0 10.9.0.2]
//! direct:  A [eth0 10.9.0.1] ------------- veth ---------------------- B [eth0 10.9.0.2]
//! ```
//!
//! and prints a table: packets per second, TCP bulk throughput and round-trip latency
//! through a relay without impairment against the direct veth; delay accuracy at 10, 50
//! and 200 ms with and without jitter; measured loss at 1% and 20%; TCP goodput under a
//! rate limit of 10 and 100 Mbit/s. Targets (from the issue) are printed beside each.
//! `NETLAB_BENCH_SECS` sets the seconds per throughput run (default 2).

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::OwnedFd;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use netlab::bench_internals::emu::{
    A_IP, B_IP, Dir, Distribution, Impairment, Relay, Rule, Rules, Testbed, in_netns,
};

fn in_ns<T: Send>(ns: &OwnedFd, f: impl FnOnce() -> T + Send) -> T {
    in_netns(ns, || Ok(f())).expect("enter the namespace")
}

fn udp(ns: &OwnedFd, ip: Ipv4Addr, port: u16) -> UdpSocket {
    let s = in_ns(ns, || UdpSocket::bind((ip, port))).expect("bind");
    s.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    nix::sys::socket::setsockopt(&s, nix::sys::socket::sockopt::RcvBufForce, &(8 << 20)).unwrap();
    s
}

/// Nanoseconds since the bench started: the clock both namespaces' threads share.
fn now_ns() -> u64 {
    static BASE: OnceLock<Instant> = OnceLock::new();
    BASE.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn impaired(imp: Impairment) -> Rules {
    Rules {
        seed: 1,
        rules: vec![Rule {
            dir: Dir::AtoB,
            peers: vec![B_IP.into()],
            impair: imp,
        }],
    }
}

/// Datagrams per second B receives while A sends as fast as it can for `secs`
/// (`payload` bytes each).
fn udp_pps(tb: &Testbed, payload: usize, secs: f64) -> f64 {
    let tx = udp(&tb.a, A_IP, 6001);
    let rx = udp(&tb.b, B_IP, 7001);
    let stop = AtomicBool::new(false);
    let count = AtomicU64::new(0);
    let to = SocketAddr::new(B_IP.into(), 7001);
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut buf = [0u8; 2048];
            while !stop.load(Ordering::Relaxed) {
                if rx.recv(&mut buf).is_ok() {
                    count.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
        let buf = vec![0u8; payload];
        // Warm-up, then count over a window.
        let t = Instant::now();
        while t.elapsed() < Duration::from_millis(200) {
            let _ = tx.send_to(&buf, to);
        }
        let c0 = count.load(Ordering::Relaxed);
        let t = Instant::now();
        while t.elapsed().as_secs_f64() < secs {
            let _ = tx.send_to(&buf, to);
        }
        let n = count.load(Ordering::Relaxed) - c0;
        let pps = n as f64 / t.elapsed().as_secs_f64();
        stop.store(true, Ordering::Relaxed);
        pps
    })
}

/// Bulk TCP from A to B for `secs`; returns the goodput B sees in Mbit/s, measured after
/// the first `settle` seconds.
fn tcp_mbps(tb: &Testbed, port: u16, secs: f64, settle: f64) -> f64 {
    let l = in_ns(&tb.b, || TcpListener::bind((B_IP, port))).expect("listen");
    let c = in_ns(&tb.a, || TcpStream::connect((B_IP, port))).expect("connect");
    c.set_write_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut c = c;
            let buf = vec![0x5au8; 1 << 18];
            while !stop.load(Ordering::Relaxed) {
                let _ = c.write(&buf);
            }
        });
        let (mut conn, _) = l.accept().unwrap();
        conn.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let mut buf = vec![0u8; 1 << 18];
        let t0 = Instant::now();
        let mut counted = 0u64;
        let mut start = None;
        while t0.elapsed().as_secs_f64() < secs {
            let n = conn.read(&mut buf).unwrap_or(0) as u64;
            if t0.elapsed().as_secs_f64() >= settle {
                start.get_or_insert_with(Instant::now);
                counted += n;
            }
        }
        stop.store(true, Ordering::Relaxed);
        let secs = start.map_or(1.0, |s| s.elapsed().as_secs_f64());
        counted as f64 * 8.0 / secs / 1e6
    })
}

/// Round trips of a 64-byte UDP echo between A and B, in ms.
fn rtts(tb: &Testbed, n: usize) -> Vec<f64> {
    let a = udp(&tb.a, A_IP, 6002);
    let b = udp(&tb.b, B_IP, 7002);
    let to = SocketAddr::new(B_IP.into(), 7002);
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut buf = [0u8; 64];
            for _ in 0..n {
                let Ok((len, from)) = b.recv_from(&mut buf) else {
                    break;
                };
                b.send_to(&buf[..len], from).unwrap();
            }
        });
        let mut out = Vec::with_capacity(n);
        let mut buf = [0u8; 64];
        for _ in 0..n {
            let t = Instant::now();
            a.send_to(&[0u8; 64], to).unwrap();
            if a.recv(&mut buf).is_ok() {
                out.push(t.elapsed().as_secs_f64() * 1e3);
            }
        }
        out
    })
}

/// One-way delays (ms) of `n` datagrams sent 1 ms apart from A to B.
fn one_way(tb: &Testbed, n: usize) -> Vec<f64> {
    let a = udp(&tb.a, A_IP, 6003);
    let b = udp(&tb.b, B_IP, 7003);
    let to = SocketAddr::new(B_IP.into(), 7003);
    std::thread::scope(|s| {
        let r = s.spawn(|| {
            let mut out = Vec::with_capacity(n);
            let mut buf = [0u8; 64];
            while out.len() < n {
                match b.recv(&mut buf) {
                    Ok(8..) => {
                        let sent = u64::from_be_bytes(buf[..8].try_into().unwrap());
                        out.push((now_ns() - sent) as f64 / 1e6);
                    }
                    Ok(_) => {}
                    Err(_) if out.is_empty() => {}
                    Err(_) => break,
                }
            }
            out
        });
        for _ in 0..n {
            a.send_to(&now_ns().to_be_bytes(), to).unwrap();
            std::thread::sleep(Duration::from_millis(1));
        }
        r.join().unwrap()
    })
}

/// Fraction of 10,000 paced datagrams that do not arrive.
fn measured_loss(tb: &Testbed) -> f64 {
    let tx = udp(&tb.a, A_IP, 6004);
    let rx = udp(&tb.b, B_IP, 7004);
    let to = SocketAddr::new(B_IP.into(), 7004);
    let n = 10_000u32;
    std::thread::scope(|s| {
        let r = s.spawn(|| {
            let mut got = 0u32;
            let mut buf = [0u8; 64];
            while rx.recv(&mut buf).is_ok() {
                got += 1;
            }
            got
        });
        for i in 0..n {
            tx.send_to(&i.to_be_bytes(), to).unwrap();
            if i % 50 == 49 {
                std::thread::sleep(Duration::from_micros(300));
            }
        }
        1.0 - f64::from(r.join().unwrap()) / f64::from(n)
    })
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` asks benches to name themselves.
    }
    assert!(
        nix::unistd::geteuid().is_root(),
        "the link emulator bench needs root (network namespaces, AF_PACKET)"
    );
    let secs: f64 = std::env::var("NETLAB_BENCH_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2.0);
    now_ns();
    let direct = Testbed::direct().expect("direct test bed");
    let relayed = Testbed::relayed().expect("relayed test bed");
    let hub = relayed.hub.as_ref().unwrap();
    let relay = Relay::start(hub, "a", "b", Rules::default()).expect("start the relay");

    println!("link emulator (user-space relay, PACKET_VNET_HDR), {secs} s per throughput run");
    println!();
    println!(
        "{:<44} {:>12} {:>12} {:>10}  target",
        "zero impairment", "direct veth", "relay", "ratio"
    );
    let row = |what: &str, d: f64, r: f64, target: &str| {
        println!(
            "{what:<44} {d:>12.0} {r:>12.0} {:>9.0}%  {target}",
            100.0 * r / d
        );
    };
    let (d, r) = (udp_pps(&direct, 64, secs), udp_pps(&relayed, 64, secs));
    row("UDP 64-byte datagrams, packets/s", d, r, ">= 50,000 pps");
    let (d1, r1) = (udp_pps(&direct, 1472, secs), udp_pps(&relayed, 1472, secs));
    row("UDP 1472-byte datagrams (MTU frames), pkt/s", d1, r1, "");
    println!(
        "{:<44} {:>12.0} {:>12.0} {:>10}  (frame rate x 1514 B: what TCP would get with offloads off)",
        "  = Mbit/s of MTU frames",
        d1 * 1514.0 * 8.0 / 1e6,
        r1 * 1514.0 * 8.0 / 1e6,
        ""
    );
    let (d, r) = (
        tcp_mbps(&direct, 5101, secs, 0.3),
        tcp_mbps(&relayed, 5102, secs, 0.3),
    );
    row("TCP bulk, Mbit/s (GSO super-frames)", d, r, ">= 500 Mbit/s");
    // Per-packet decisions cut TCP super-frames into wire segments in software.
    relay
        .set(impaired(Impairment {
            loss: 0.0001,
            ..Impairment::default()
        }))
        .unwrap();
    let cut = tcp_mbps(&relayed, 5103, secs, 0.3);
    relay.set(Rules::default()).unwrap();
    println!(
        "{:<44} {:>12} {cut:>12.0} {:>10}  (super-frames cut into segments)",
        "TCP bulk, Mbit/s, rule with 0.01% loss", "", ""
    );
    let (mut dr, mut rr) = (rtts(&direct, 2000), rtts(&relayed, 2000));
    let (d50, r50) = (pct(&mut dr, 0.5), pct(&mut rr, 0.5));
    println!(
        "{:<44} {:>12.3} {:>12.3} {:>10}",
        "UDP echo RTT p50, ms", d50, r50, ""
    );
    println!(
        "{:<44} {:>12} {:>12.3} {:>10}  < 0.2 ms",
        "added latency p50 per direction, ms",
        "",
        (r50 - d50) / 2.0,
        ""
    );
    let st = relay.stats();
    println!("relay counters: {st:?}");

    println!();
    println!(
        "{:<32} {:>10} {:>10} {:>10}  target: p50 within +-1 ms",
        "delay accuracy (one-way, 500 x)", "p50 ms", "p90 ms", "p50 error"
    );
    for ms in [10u64, 50, 200] {
        for jitter in [0u64, 5] {
            relay
                .set(impaired(Impairment {
                    delay: Duration::from_millis(ms),
                    jitter: Duration::from_millis(jitter),
                    distribution: Distribution::Uniform,
                    ..Impairment::default()
                }))
                .unwrap();
            let mut v = one_way(&relayed, 500);
            let (p50, p90) = (pct(&mut v, 0.5), pct(&mut v, 0.9));
            println!(
                "{:<32} {p50:>10.3} {p90:>10.3} {:>+10.3}",
                format!("delay {ms} ms, jitter {jitter} ms"),
                p50 - ms as f64
            );
        }
    }

    println!();
    println!(
        "{:<32} {:>10}  target: within the 99% binomial interval",
        "loss over 10,000 datagrams", "measured"
    );
    for loss in [0.01, 0.2] {
        relay
            .set(impaired(Impairment {
                loss,
                ..Impairment::default()
            }))
            .unwrap();
        let m = measured_loss(&relayed);
        let sd = (loss * (1.0 - loss) / 10_000.0).sqrt();
        println!(
            "{:<32} {:>9.2}%  interval {:.2}% to {:.2}%",
            format!("loss {}%", loss * 100.0),
            m * 100.0,
            (loss - 2.576 * sd) * 100.0,
            (loss + 2.576 * sd) * 100.0
        );
    }

    println!();
    println!(
        "{:<32} {:>10} {:>10} {:>12}  target: within 5%",
        "rate limit, TCP bulk", "goodput", "/ rate", "wire / rate"
    );
    for (i, mbit) in [10u64, 100].into_iter().enumerate() {
        relay
            .set(impaired(Impairment {
                rate: Some(mbit * 1_000_000),
                ..Impairment::default()
            }))
            .unwrap();
        let g = tcp_mbps(&relayed, 5110 + i as u16, 4.0, 1.5);
        // A full segment: 1448 bytes of data in 1514 bytes of frame (Ethernet, IP, TCP
        // with timestamps); the pacer counts frames, so goodput is that share of the rate.
        let wire = g * 1514.0 / 1448.0;
        println!(
            "{:<32} {:>10.2} {:>9.1}% {:>11.1}%",
            format!("rate {mbit} Mbit/s"),
            g,
            100.0 * g / mbit as f64,
            100.0 * wire / mbit as f64
        );
    }
    println!("relay counters: {:?}", relay.stats());
}
