//! Benchmark (not a test) of the lab's embedded DNS server (`dns::DnsServer`): latency of
//! A queries to 127.0.0.11:53 from inside a container's namespace, one at a time
//! (p50, p99, max over 10,000 queries, and the queries per second that makes), over UDP,
//! over one TCP connection, and forwarded to a stub upstream in the lab host's namespace;
//! then the throughput of 4 clients at once. The lab: 50 containers attached, one network
//! of 1,000 names. The aim: p99 under 1 ms for a lab name over UDP.
//!
//! Run: `cargo bench -p netlab --bench dns` as root. Everything lives in throwaway
//! namespaces made here (loopback only); nothing touches the machine's own.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream, UdpSocket};
use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{RData, Record, RecordType};
use netlab::bench_internals::dns::testns::{self, loopback_netns, udp_client};
use netlab::bench_internals::dns::{DNS_ADDR, DnsServer, Upstream, in_netns};

const QUERIES: usize = 10_000;
const CONTAINERS: usize = 50;
const NAMES: usize = 1000;
const CLIENTS: usize = 4;

/// An A query for `name`.
fn query(name: &str, id: u16) -> Vec<u8> {
    testns::query(name, RecordType::A, id)
}

/// One query over UDP, checked: NOERROR, the right ID, one answer.
fn ask_udp(s: &UdpSocket, bytes: &mut [u8], id: u16, buf: &mut [u8]) {
    bytes[..2].copy_from_slice(&id.to_be_bytes());
    s.send(bytes).unwrap();
    let n = s.recv(buf).expect("an answer within 3 s");
    check(&buf[..n], id);
}

fn ask_tcp(s: &mut TcpStream, bytes: &mut [u8], id: u16, buf: &mut [u8]) {
    bytes[..2].copy_from_slice(&id.to_be_bytes());
    let mut framed = (bytes.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(bytes);
    s.write_all(&framed).unwrap();
    let mut len = [0u8; 2];
    s.read_exact(&mut len).unwrap();
    let n = usize::from(u16::from_be_bytes(len));
    s.read_exact(&mut buf[..n]).unwrap();
    check(&buf[..n], id);
}

fn check(answer: &[u8], id: u16) {
    let m = Message::from_vec(answer).unwrap();
    assert_eq!(m.metadata.id, id);
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert_eq!(m.answers.len(), 1);
}

/// p50, p99 and max in microseconds, and queries per second over the whole run.
fn row(what: &str, mut lat: Vec<Duration>, total: Duration) {
    lat.sort();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let p = |q: f64| us(lat[((lat.len() - 1) as f64 * q).round() as usize]);
    println!(
        "{what:<44} {:>8.1} {:>8.1} {:>9.1} {:>10.0}",
        p(0.5),
        p(0.99),
        us(lat[lat.len() - 1]),
        lat.len() as f64 / total.as_secs_f64()
    );
}

fn sequential(what: &str, mut ask: impl FnMut(u16)) {
    for i in 0..500 {
        ask(i);
    }
    let mut lat = Vec::with_capacity(QUERIES);
    let start = Instant::now();
    for i in 0..QUERIES {
        let t = Instant::now();
        ask(i as u16);
        lat.push(t.elapsed());
    }
    row(what, lat, start.elapsed());
}

/// A stub upstream: answers every A query with 192.0.2.1, from its own thread.
fn stub(ns: &OwnedFd, stop: Arc<AtomicBool>) -> (SocketAddr, std::thread::JoinHandle<()>) {
    let addr: SocketAddr = "127.0.0.2:5300".parse().unwrap();
    let socket = in_netns(ns, || Ok(UdpSocket::bind(addr).unwrap())).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let thread = std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        while !stop.load(Ordering::Relaxed) {
            let Ok((n, from)) = socket.recv_from(&mut buf) else {
                continue;
            };
            let mut r = Message::from_vec(&buf[..n]).unwrap();
            r.metadata.message_type = MessageType::Response;
            let name = r.queries[0].name().clone();
            r.add_answer(Record::from_rdata(
                name,
                30,
                RData::A(A(Ipv4Addr::new(192, 0, 2, 1))),
            ));
            socket.send_to(&r.to_vec().unwrap(), from).unwrap();
        }
    });
    (addr, thread)
}

fn main() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "the DNS bench needs root (network namespaces)"
    );
    let host = loopback_netns().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let (upstream, stub_thread) = stub(&host, stop.clone());
    let server = in_netns(&host, || {
        DnsServer::start(Upstream::Forward(vec![upstream]))
    })
    .unwrap();

    let names: BTreeMap<String, Vec<IpAddr>> = (0..NAMES)
        .map(|i| {
            let ip = Ipv4Addr::new(10, 0, (i / 250) as u8, (i % 250 + 2) as u8);
            (format!("c{i}"), vec![IpAddr::V4(ip)])
        })
        .collect();
    server.set_names("front", names);
    let containers: Vec<OwnedFd> = (0..CONTAINERS).map(|_| loopback_netns().unwrap()).collect();
    for (i, ns) in containers.iter().enumerate() {
        server
            .attach(&format!("c{i}"), ns, vec!["front".into()])
            .unwrap();
    }
    let me = &containers[CONTAINERS / 2];
    let mut buf = vec![0u8; 65536];

    println!(
        "DNS server: {CONTAINERS} containers attached, {NAMES} names; {QUERIES} queries each, one at a time"
    );
    println!(
        "{:<44} {:>8} {:>8} {:>9} {:>10}",
        "", "p50 µs", "p99 µs", "max µs", "queries/s"
    );

    let udp = udp_client(me);
    let mut lab_name = query("c777.", 0);
    sequential("A, lab name, UDP", |id| {
        ask_udp(&udp, &mut lab_name, id, &mut buf)
    });

    let mut tcp = in_netns(me, || Ok(TcpStream::connect(DNS_ADDR).unwrap())).unwrap();
    tcp.set_nodelay(true).unwrap();
    let mut lab_name_tcp = query("c777.", 0);
    sequential("A, lab name, TCP (one connection)", |id| {
        ask_tcp(&mut tcp, &mut lab_name_tcp, id, &mut buf)
    });

    let mut outside = query("www.example.", 0);
    sequential("A, forwarded to a stub upstream, UDP", |id| {
        ask_udp(&udp, &mut outside, id, &mut buf)
    });

    // CLIENTS containers asking at once, each one query at a time.
    let start = Instant::now();
    let lat: Vec<Duration> = std::thread::scope(|s| {
        let handles: Vec<_> = containers[..CLIENTS]
            .iter()
            .map(|ns| {
                let sock = udp_client(ns);
                s.spawn(move || {
                    let mut buf = vec![0u8; 4096];
                    let mut q = query("c5.", 0);
                    let mut lat = Vec::with_capacity(QUERIES);
                    for i in 0..QUERIES {
                        let t = Instant::now();
                        ask_udp(&sock, &mut q, i as u16, &mut buf);
                        lat.push(t.elapsed());
                    }
                    lat
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    row(
        &format!("A, lab name, UDP, {CLIENTS} clients at once"),
        lat,
        start.elapsed(),
    );

    drop(server);
    stop.store(true, Ordering::Relaxed);
    stub_thread.join().unwrap();
}
