//! The link emulator on real namespaces, with real UDP and TCP sockets:
//!
//! ```text
//! A [eth0 10.9.0.1/24] -- veth -- hub [a  relay  b] -- veth -- B [eth0 10.9.0.2/24]
//! ```
//!
//! Every namespace is made by the test and held only by its fds, so nothing outlives it
//! and the machine's own network is never touched. Needs root (new network namespaces
//! and AF_PACKET sockets); without it the test fails, saying so.
//!
//! One test function on purpose: its parts measure delays and count datagrams, and two of
//! them running at once on a small machine would disturb each other.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

use netlab::bench_internals::emu::{
    A_IP, B_IP, Dir, Impairment, Relay, Rule, Rules, Testbed, add_address, in_netns,
};

/// Runs `f` on a thread in namespace `ns`; sockets made there stay in `ns`.
fn in_ns<T: Send>(ns: &OwnedFd, f: impl FnOnce() -> T + Send) -> T {
    in_netns(ns, || Ok(f())).expect("enter the namespace")
}

fn udp(ns: &OwnedFd, ip: Ipv4Addr, port: u16) -> UdpSocket {
    let s = in_ns(ns, || UdpSocket::bind((ip, port))).expect("bind a UDP socket");
    s.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    // Room for bursts, so that every loss counted is the relay's.
    nix::sys::socket::setsockopt(&s, nix::sys::socket::sockopt::RcvBufForce, &(4 << 20))
        .expect("SO_RCVBUFFORCE");
    s
}

/// Sends datagrams `0..n` (their number in the first 4 bytes) from `tx` to `to` while
/// `rx` collects them; returns how often each number arrived. Paced in bursts of 50, so
/// that no socket buffer on the way overflows: every loss is the relay's.
fn stream(tx: &UdpSocket, rx: &UdpSocket, to: SocketAddr, n: u32) -> BTreeMap<u32, u32> {
    std::thread::scope(|s| {
        let got = s.spawn(|| {
            let mut seen = BTreeMap::new();
            let mut buf = [0u8; 2048];
            while let Ok(len) = rx.recv(&mut buf) {
                if len >= 4 {
                    let k = u32::from_be_bytes(buf[..4].try_into().unwrap());
                    *seen.entry(k).or_insert(0) += 1;
                }
            }
            seen
        });
        let mut payload = [0x77u8; 64];
        for i in 0..n {
            payload[..4].copy_from_slice(&i.to_be_bytes());
            tx.send_to(&payload, to).expect("send a datagram");
            if i % 50 == 49 {
                std::thread::sleep(Duration::from_micros(300));
            }
        }
        got.join().unwrap()
    })
}

fn impair(dir: Dir, imp: Impairment) -> Rules {
    Rules {
        seed: 0,
        rules: vec![Rule {
            dir,
            peers: vec![],
            impair: imp,
        }],
    }
}

/// Threads of this process whose name says they belong to a relay.
fn relay_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|c| c.starts_with("emu "))
        .count()
}

/// Sends `bytes` of a known pattern over TCP from A to B; returns what B read and the
/// seconds it took.
fn tcp_transfer(tb: &Testbed, port: u16, bytes: usize) -> (Vec<u8>, f64) {
    let l = in_ns(&tb.b, || TcpListener::bind((B_IP, port))).expect("listen in B");
    let c = in_ns(&tb.a, || TcpStream::connect((B_IP, port))).expect("connect from A");
    let t = Instant::now();
    std::thread::scope(|s| {
        let reader = s.spawn(|| {
            let (mut conn, _) = l.accept().unwrap();
            let mut all = Vec::with_capacity(bytes);
            conn.read_to_end(&mut all).unwrap();
            all
        });
        let data: Vec<u8> = (0..bytes).map(|i| (i % 251) as u8).collect();
        let mut c = c;
        c.write_all(&data).unwrap();
        c.shutdown(std::net::Shutdown::Write).unwrap();
        (reader.join().unwrap(), t.elapsed().as_secs_f64())
    })
}

fn pattern_ok(got: &[u8], bytes: usize) -> bool {
    got.len() == bytes && got.iter().enumerate().all(|(i, b)| *b == (i % 251) as u8)
}

#[test]
fn relay_on_real_namespaces() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test needs root: it creates network namespaces and AF_PACKET sockets"
    );
    let started = Instant::now();
    let tb = Testbed::relayed().expect("build the test bed");
    let hub = tb.hub.as_ref().unwrap();
    let to_b = SocketAddr::new(B_IP.into(), 7000);
    let before = relay_threads();

    // Nothing set: everything passes, both ways, and big TCP super-frames too.
    let relay = Relay::start(hub, "a", "b", Rules::default()).expect("start the relay");
    // A thread names itself once it runs: give them a moment.
    let t = Instant::now();
    while relay_threads() < before + 2 && t.elapsed() < Duration::from_secs(1) {
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(relay_threads(), before + 2);
    let tx = udp(&tb.a, A_IP, 6000);
    let rx = udp(&tb.b, B_IP, 7000);
    let got = stream(&tx, &rx, to_b, 2000);
    assert_eq!(got.len(), 2000, "every datagram arrives");
    assert!(got.values().all(|n| *n == 1));
    let back = stream(&rx, &tx, SocketAddr::new(A_IP.into(), 6000), 500);
    assert_eq!(back.len(), 500, "and back");
    let (data, secs) = tcp_transfer(&tb, 5001, 32 << 20);
    assert!(pattern_ok(&data, 32 << 20), "TCP data intact");
    let st = relay.stats();
    assert_eq!(st.a_to_b.errors + st.b_to_a.errors, 0, "{st:?}");
    eprintln!(
        "zero impairment: 32 MiB of TCP in {secs:.2} s ({:.0} Mbit/s, debug build), {st:?}",
        (32 << 23) as f64 / secs / 1e6
    );

    // 100 ms each way: a UDP echo takes at least 200 ms.
    relay
        .set(impair(
            Dir::Both,
            Impairment {
                delay: Duration::from_millis(100),
                ..Impairment::default()
            },
        ))
        .unwrap();
    let mut rtts = Vec::new();
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut buf = [0u8; 64];
            for _ in 0..5 {
                let Ok((n, from)) = rx.recv_from(&mut buf) else {
                    break;
                };
                rx.send_to(&buf[..n], from).unwrap();
            }
        });
        tx.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        for i in 0..5u8 {
            let t = Instant::now();
            tx.send_to(&[i], to_b).unwrap();
            let mut buf = [0u8; 64];
            tx.recv(&mut buf).expect("the echo comes back");
            rtts.push(t.elapsed());
        }
    });
    tx.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    rtts.sort();
    let half = rtts[2] / 2;
    assert!(
        half >= Duration::from_millis(100) && half < Duration::from_millis(110),
        "RTT/2 {half:?} (all: {rtts:?})"
    );

    // Live switches lose nothing: 5,000 datagrams while the rules flip 100 times.
    std::thread::scope(|s| {
        let flipper = s.spawn(|| {
            for i in 0..100 {
                let rules = if i % 2 == 0 {
                    Rules::default()
                } else {
                    impair(
                        Dir::AtoB,
                        Impairment {
                            delay: Duration::from_millis(1),
                            ..Impairment::default()
                        },
                    )
                };
                relay.set(rules).unwrap();
                std::thread::sleep(Duration::from_millis(1));
            }
        });
        let got = stream(&tx, &rx, to_b, 5000);
        flipper.join().unwrap();
        assert_eq!(got.len(), 5000, "no datagram lost by the switches");
    });
    // And a switch takes effect at once: all lost, then all through again.
    relay
        .set(impair(
            Dir::AtoB,
            Impairment {
                loss: 1.0,
                ..Impairment::default()
            },
        ))
        .unwrap();
    assert!(stream(&tx, &rx, to_b, 300).is_empty(), "loss 1 loses all");
    relay.set(Rules::default()).unwrap();
    assert_eq!(stream(&tx, &rx, to_b, 300).len(), 300);

    // Dropping stops both threads, promptly.
    let t = Instant::now();
    drop(relay);
    let took = t.elapsed();
    assert_eq!(relay_threads(), before, "no relay thread left");
    assert!(took < Duration::from_millis(50), "drop took {took:?}");

    // 20% loss, seed 7: the same 10,000-datagram stream loses the same datagrams twice;
    // seed 8 loses others. Each run on a fresh relay, so the flow starts at index 0; the
    // neighbour entries are warm from above.
    let lost_with = |seed: u64| {
        let relay = Relay::start(hub, "a", "b", Rules::default()).unwrap();
        let mut rules = impair(
            Dir::AtoB,
            Impairment {
                loss: 0.2,
                ..Impairment::default()
            },
        );
        rules.seed = seed;
        // For B only, i.e. IP: the neighbour probes (ARP) of the stream must not be lost.
        rules.rules[0].peers = vec![B_IP.into()];
        relay.set(rules).unwrap();
        let got = stream(&tx, &rx, to_b, 10_000);
        let st = relay.stats().a_to_b;
        let lost: Vec<u32> = (0..10_000).filter(|i| !got.contains_key(i)).collect();
        assert_eq!(st.lost_random, lost.len() as u64, "{st:?}");
        assert_eq!(st.passed, got.len() as u64, "{st:?}");
        // The 99% binomial interval of 10,000 draws at 0.2: 2000 ± 103.
        assert!((1897..=2103).contains(&lost.len()), "{} lost", lost.len());
        lost
    };
    let seven = lost_with(7);
    assert_eq!(seven, lost_with(7), "seed 7 twice loses the same datagrams");
    let eight = lost_with(8);
    assert_ne!(seven, eight, "seed 8 loses others");

    // Duplicates arrive twice, as many as counted; corruption makes B's kernel drop the
    // datagram (the relay completed the offloaded checksum before flipping a bit).
    let relay = Relay::start(hub, "a", "b", Rules::default()).unwrap();
    relay
        .set(impair(
            Dir::AtoB,
            Impairment {
                duplicate: 0.3,
                ..Impairment::default()
            },
        ))
        .unwrap();
    let got = stream(&tx, &rx, to_b, 2000);
    let twice = got.values().filter(|n| **n == 2).count() as u64;
    assert_eq!(got.len(), 2000);
    assert_eq!(twice, relay.stats().a_to_b.duplicated);
    assert!((500..700).contains(&twice), "{twice} duplicated of 2000");
    relay
        .set(impair(
            Dir::AtoB,
            Impairment {
                corrupt: 1.0,
                ..Impairment::default()
            },
        ))
        .unwrap();
    assert!(
        stream(&tx, &rx, to_b, 200).is_empty(),
        "corrupt datagrams are dropped"
    );
    assert_eq!(relay.stats().a_to_b.corrupted, 200);
    // TCP survives 2% corruption and 2% loss with its data intact: it notices and sends
    // again. Its 64 KiB super-frames are cut into ~2,900 wire segments first, so about 58
    // of them are corrupted (and the relay counts segments, not super-frames).
    relay
        .set(impair(
            Dir::AtoB,
            Impairment {
                corrupt: 0.02,
                loss: 0.02,
                ..Impairment::default()
            },
        ))
        .unwrap();
    let (data, _) = tcp_transfer(&tb, 5002, 4 << 20);
    assert!(
        pattern_ok(&data, 4 << 20),
        "TCP data intact despite corruption"
    );
    let st = relay.stats().a_to_b;
    assert!(st.corrupted > 200 + 20, "{st:?}");
    assert!(st.lost_random > 20, "{st:?}");
    assert!(st.passed > st.frames_in, "segments counted: {st:?}");

    // Bursts: losses come in runs (mean 5 frames) and are counted as such.
    relay
        .set(Rules {
            seed: 3,
            rules: vec![Rule {
                dir: Dir::AtoB,
                peers: vec![B_IP.into()],
                impair: Impairment {
                    loss: 0.2,
                    burst: 5.0,
                    ..Impairment::default()
                },
            }],
        })
        .unwrap();
    let before_burst = relay.stats().a_to_b.lost_burst;
    let got = stream(&tx, &rx, to_b, 5000);
    let lost: Vec<bool> = (0..5000).map(|i| !got.contains_key(&i)).collect();
    let runs = lost.windows(2).filter(|w| w[1] && !w[0]).count() + usize::from(lost[0]);
    let n_lost = lost.iter().filter(|l| **l).count();
    assert_eq!(
        relay.stats().a_to_b.lost_burst - before_burst,
        n_lost as u64
    );
    let mean_run = n_lost as f64 / runs as f64;
    assert!((3.5..7.0).contains(&mean_run), "mean run {mean_run}");

    // Reordering: with 20 ms of delay, a quarter goes at once and overtakes the others.
    relay
        .set(impair(
            Dir::AtoB,
            Impairment {
                delay: Duration::from_millis(20),
                reorder: 0.25,
                ..Impairment::default()
            },
        ))
        .unwrap();
    let order = std::thread::scope(|s| {
        let r = s.spawn(|| {
            let mut order = Vec::new();
            let mut buf = [0u8; 64];
            while let Ok(n) = rx.recv(&mut buf) {
                if n >= 4 {
                    order.push(u32::from_be_bytes(buf[..4].try_into().unwrap()));
                }
            }
            order
        });
        for i in 0..200u32 {
            tx.send_to(&i.to_be_bytes(), to_b).unwrap();
            std::thread::sleep(Duration::from_micros(200));
        }
        r.join().unwrap()
    });
    assert_eq!(order.len(), 200);
    let overtaken = order.windows(2).filter(|w| w[1] < w[0]).count();
    assert!(overtaken > 10, "{overtaken} inversions in {order:?}");

    // A rule for one peer leaves the others alone: B gets a second address, the rule
    // loses everything sent to it and nothing sent to 10.9.0.2.
    add_address(&tb.b, Ipv4Addr::new(10, 9, 0, 3)).expect("a second address in B");
    let rx3 = udp(&tb.b, Ipv4Addr::new(10, 9, 0, 3), 7000);
    relay
        .set(Rules {
            seed: 1,
            rules: vec![Rule {
                dir: Dir::AtoB,
                peers: vec![IpAddr::V4(Ipv4Addr::new(10, 9, 0, 3))],
                impair: Impairment {
                    loss: 1.0,
                    ..Impairment::default()
                },
            }],
        })
        .unwrap();
    let to_3 = SocketAddr::new(Ipv4Addr::new(10, 9, 0, 3).into(), 7000);
    assert!(
        stream(&tx, &rx3, to_3, 500).is_empty(),
        "the peer's are lost"
    );
    assert_eq!(stream(&tx, &rx, to_b, 500).len(), 500, "the other's pass");
    drop(relay);
    assert_eq!(relay_threads(), before);

    let total = started.elapsed();
    eprintln!("emulator test took {total:?}");
    assert!(total < Duration::from_secs(30), "took {total:?}");
}
