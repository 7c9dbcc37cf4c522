//! The server for real: throwaway namespaces (root needed; without it every test here
//! fails saying so), queries to 127.0.0.11:53 from inside them over UDP and TCP, built and
//! read with hickory. Waits are bounded reads with deadlines, never sleeps.

use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, UdpSocket};
use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{RData, Record, RecordType};

use super::serve::Limits;
use super::testns::{loopback_netns, query, record_texts, udp_client};
use super::{DNS_ADDR, DnsServer, Upstream};
use crate::sys::nsfd::in_netns;

/// A supervisor may share one server between threads.
#[test]
fn the_server_is_send_and_sync() {
    fn shared<T: Send + Sync>() {}
    shared::<DnsServer>();
}

fn need_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "needs root for throwaway network namespaces; run the lib's tests as root (CI does)"
    );
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn names(rows: &[(&str, &[&str])]) -> BTreeMap<String, Vec<IpAddr>> {
    rows.iter()
        .map(|(n, a)| (n.to_string(), a.iter().map(|s| ip(s)).collect()))
        .collect()
}

fn nets(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn tcp_client(ns: &OwnedFd) -> std::io::Result<TcpStream> {
    let s = in_netns(ns, || Ok(TcpStream::connect(DNS_ADDR))).unwrap()?;
    s.set_read_timeout(Some(Duration::from_secs(3)))?;
    Ok(s)
}

fn ask_udp(s: &UdpSocket, name: &str, rtype: RecordType) -> Message {
    let id = 0x4242;
    s.send(&query(name, rtype, id)).unwrap();
    recv_id(s, id).unwrap_or_else(|e| panic!("{name} {rtype}: {e}"))
}

/// The next answer with `id`, skipping answers to earlier garbage.
fn recv_id(s: &UdpSocket, id: u16) -> std::io::Result<Message> {
    let mut buf = [0u8; 4096];
    loop {
        let n = s.recv(&mut buf)?;
        let m = Message::from_vec(&buf[..n]).unwrap();
        if m.metadata.id == id {
            return Ok(m);
        }
    }
}

fn send_frame(s: &mut TcpStream, bytes: &[u8]) {
    let mut framed = (bytes.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(bytes);
    s.write_all(&framed).unwrap();
}

fn read_frame(s: &mut TcpStream) -> std::io::Result<Message> {
    let mut len = [0u8; 2];
    s.read_exact(&mut len)?;
    let mut body = vec![0u8; usize::from(u16::from_be_bytes(len))];
    s.read_exact(&mut body)?;
    Ok(Message::from_vec(&body).unwrap())
}

fn ask_tcp(s: &mut TcpStream, name: &str, rtype: RecordType) -> Message {
    send_frame(s, &query(name, rtype, 0x5151));
    let m = read_frame(s).unwrap_or_else(|e| panic!("{name} {rtype} over TCP: {e}"));
    assert_eq!(m.metadata.id, 0x5151);
    m
}

/// The addresses (or PTR targets) of an answer, after checking it is NOERROR.
fn found(m: &Message) -> Vec<String> {
    assert_eq!(m.metadata.response_code, ResponseCode::NoError, "{m}");
    record_texts(m)
}

/// True when the server closed `s` (EOF or reset) within `within`.
fn closed_within(s: &mut TcpStream, within: Duration) -> bool {
    s.set_read_timeout(Some(within)).unwrap();
    let mut byte = [0u8; 1];
    match s.read(&mut byte) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => !matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
    }
}

/// Two containers on different networks: each sees the names of its own networks, over
/// UDP and TCP (two queries on one connection), PTR in Docker's form; set_names and
/// set_networks show at the very next query; detach and drop close the sockets.
#[test]
fn answers_by_network_over_udp_and_tcp() {
    need_root();
    let c1 = loopback_netns().unwrap();
    let c2 = loopback_netns().unwrap();
    let server = DnsServer::start(Upstream::Refuse).unwrap();
    server.set_names(
        "front",
        names(&[("web", &["10.0.0.2"]), ("db", &["10.0.0.3", "fd00::3"])]),
    );
    server.set_names("back", names(&[("cache", &["10.1.0.4"])]));
    server.attach("c1", &c1, nets(&["front"])).unwrap();
    server.attach("c2", &c2, nets(&["front", "back"])).unwrap();

    let u1 = udp_client(&c1);
    let u2 = udp_client(&c2);
    assert_eq!(found(&ask_udp(&u1, "web.", RecordType::A)), ["10.0.0.2"]);
    assert_eq!(found(&ask_udp(&u1, "DB.", RecordType::AAAA)), ["fd00::3"]);
    assert_eq!(
        found(&ask_udp(&u1, "web.", RecordType::AAAA)),
        [] as [&str; 0]
    );
    assert_eq!(
        found(&ask_udp(&u1, "2.0.0.10.in-addr.arpa.", RecordType::PTR)),
        ["web.front."]
    );
    // Not on c1's networks, and not in the lab at all: REFUSED (no upstream).
    for name in ["cache.", "example.org."] {
        let m = ask_udp(&u1, name, RecordType::A);
        assert_eq!(m.metadata.response_code, ResponseCode::Refused, "{name}");
    }
    assert_eq!(found(&ask_udp(&u2, "cache.", RecordType::A)), ["10.1.0.4"]);
    assert_eq!(
        found(&ask_udp(&u2, "cache.back.", RecordType::A)),
        ["10.1.0.4"]
    );

    let mut t1 = tcp_client(&c1).unwrap();
    assert_eq!(
        found(&ask_tcp(&mut t1, "web.", RecordType::A)),
        ["10.0.0.2"]
    );
    assert_eq!(found(&ask_tcp(&mut t1, "db.", RecordType::A)), ["10.0.0.3"]);

    // Changes show at once.
    server.set_names("front", names(&[("web", &["10.0.0.9"])]));
    assert_eq!(found(&ask_udp(&u1, "web.", RecordType::A)), ["10.0.0.9"]);
    assert_eq!(
        ask_udp(&u1, "db.", RecordType::A).metadata.response_code,
        ResponseCode::Refused
    );
    server.set_networks("c1", nets(&["front", "back"]));
    assert_eq!(
        found(&ask_tcp(&mut t1, "cache.", RecordType::A)),
        ["10.1.0.4"]
    );
    server.remove_network("back");
    assert_eq!(
        ask_udp(&u1, "cache.", RecordType::A).metadata.response_code,
        ResponseCode::Refused
    );

    // Detach: c1's sockets and connections are closed when it returns; c2 is served on.
    server.detach("c1");
    u1.send(&query("web.", RecordType::A, 1)).unwrap();
    let err = u1.recv(&mut [0u8; 512]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
    assert_eq!(
        tcp_client(&c1).unwrap_err().kind(),
        ErrorKind::ConnectionRefused
    );
    assert!(closed_within(&mut t1, Duration::from_secs(2)));
    assert_eq!(found(&ask_udp(&u2, "web.", RecordType::A)), ["10.0.0.9"]);

    // Attach again (a restarted container), then drop the server: everything closes.
    server.attach("c1", &c1, nets(&["front"])).unwrap();
    assert_eq!(found(&ask_udp(&u1, "web.", RecordType::A)), ["10.0.0.9"]);
    drop(server);
    for ns in [&c1, &c2] {
        assert_eq!(
            tcp_client(ns).unwrap_err().kind(),
            ErrorKind::ConnectionRefused
        );
    }
}

/// A stub upstream on 127.0.0.2:5300 in a namespace of its own (the lab host's): it
/// answers `*.example.` with 192.0.2.1, 100 records for `big.example.`, and nothing for
/// `silent.example.`.
struct Stub {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Stub {
    fn start(ns: &OwnedFd) -> Stub {
        let addr: SocketAddr = "127.0.0.2:5300".parse().unwrap();
        let socket = in_netns(ns, || Ok(UdpSocket::bind(addr).unwrap())).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while !stopped.load(Ordering::Relaxed) {
                let Ok((n, from)) = socket.recv_from(&mut buf) else {
                    continue;
                };
                let q = Message::from_vec(&buf[..n]).unwrap();
                let name = q.queries[0].name().clone();
                let count = match name.to_ascii().as_str() {
                    "silent.example." => continue,
                    "big.example." => 100,
                    _ => 1,
                };
                let mut r = q.clone();
                r.metadata.message_type = MessageType::Response;
                r.metadata.recursion_available = true;
                for i in 0..count {
                    let a = RData::A(A([192, 0, 2, 1 + i as u8].into()));
                    r.add_answer(Record::from_rdata(name.clone(), 30, a));
                }
                // Sent whole even past 512 bytes, as a careless upstream would.
                socket.send_to(&r.to_vec().unwrap(), from).unwrap();
            }
        });
        Stub {
            addr,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Stub {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Names not in the lab go to the upstream from the lab host's namespace and its answer
/// comes back under the client's ID (UDP and TCP, truncated to 512 bytes over UDP);
/// lab names are still answered locally; a silent upstream gives SERVFAIL after about
/// 2 s, and the server answers others meanwhile.
#[test]
fn forwards_to_the_upstream_and_servfails_when_it_is_silent() {
    need_root();
    let host = loopback_netns().unwrap();
    let c = loopback_netns().unwrap();
    let stub = Stub::start(&host);
    let server = in_netns(&host, || {
        DnsServer::start(Upstream::Forward(vec![stub.addr]))
    })
    .unwrap();
    server.set_names("front", names(&[("web", &["10.0.0.2"])]));
    server.attach("c", &c, nets(&["front"])).unwrap();

    let u = udp_client(&c);
    assert_eq!(
        found(&ask_udp(&u, "www.example.", RecordType::A)),
        ["192.0.2.1"]
    );
    assert_eq!(found(&ask_udp(&u, "web.", RecordType::A)), ["10.0.0.2"]);
    let mut t = tcp_client(&c).unwrap();
    assert_eq!(
        found(&ask_tcp(&mut t, "www.example.", RecordType::A)),
        ["192.0.2.1"]
    );
    let big = ask_udp(&u, "big.example.", RecordType::A);
    assert!(big.metadata.truncation && big.answers.len() < 100, "{big}");
    assert_eq!(
        ask_tcp(&mut t, "big.example.", RecordType::A).answers.len(),
        100
    );

    let start = Instant::now();
    let silent = udp_client(&c);
    silent
        .send(&query("silent.example.", RecordType::A, 7))
        .unwrap();
    // Answered meanwhile: the wait blocks nothing.
    assert_eq!(found(&ask_udp(&u, "web.", RecordType::A)), ["10.0.0.2"]);
    assert!(start.elapsed() < Duration::from_millis(500));
    let mut buf = [0u8; 512];
    let n = silent.recv(&mut buf).expect("SERVFAIL within 3 s");
    let waited = start.elapsed();
    let m = Message::from_vec(&buf[..n]).unwrap();
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
    assert_eq!(m.metadata.id, 7);
    assert!(
        waited >= Duration::from_millis(1900) && waited < Duration::from_millis(3000),
        "{waited:?}"
    );
}

/// Garbage over UDP and TCP is ignored (or FORMERR) and the server answers afterwards; a
/// connection that stalls mid-frame is closed when idle, and UDP is answered meanwhile.
#[test]
fn garbage_and_a_stalled_frame() {
    need_root();
    let c = loopback_netns().unwrap();
    let limits = Limits {
        tcp_idle: Duration::from_millis(500),
        ..Limits::default()
    };
    let server = DnsServer::start_with(Upstream::Refuse, limits).unwrap();
    server.set_names("front", names(&[("web", &["10.0.0.2"])]));
    server.attach("c", &c, nets(&["front"])).unwrap();
    let u = udp_client(&c);

    // UDP: nothing, a short packet, random bytes, a response: never a crash (random bytes
    // with a query's header may get FORMERR under a random ID, skipped by recv_id).
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut random = |len: usize| -> Vec<u8> {
        (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect()
    };
    let mut response = query("web.", RecordType::A, 9);
    response[2] |= 0x80;
    for bad in [vec![], vec![1, 2, 3], random(300), random(4000), response] {
        u.send(&bad).unwrap();
    }
    // A header and garbage: FORMERR, then the next real query is answered as usual.
    let mut formerr = query("web.", RecordType::A, 0x4343)[..12].to_vec();
    formerr.extend(random(40).iter().map(|b| b | 0xc0));
    u.send(&formerr).unwrap();
    let m = recv_id(&u, 0x4343).unwrap();
    assert_eq!(m.metadata.response_code, ResponseCode::FormErr);
    assert_eq!(found(&ask_udp(&u, "web.", RecordType::A)), ["10.0.0.2"]);

    // TCP: a frame of garbage gets FORMERR and the connection stays usable.
    let mut t = tcp_client(&c).unwrap();
    send_frame(&mut t, &formerr);
    assert_eq!(
        read_frame(&mut t).unwrap().metadata.response_code,
        ResponseCode::FormErr
    );
    assert_eq!(found(&ask_tcp(&mut t, "web.", RecordType::A)), ["10.0.0.2"]);
    // Half a frame, then silence: closed after the idle time, UDP answered meanwhile.
    let mut stalled = tcp_client(&c).unwrap();
    stalled.write_all(&[0xff, 0xff, 1, 2, 3]).unwrap();
    let start = Instant::now();
    assert_eq!(found(&ask_udp(&u, "web.", RecordType::A)), ["10.0.0.2"]);
    assert!(start.elapsed() < Duration::from_millis(400));
    assert!(closed_within(&mut stalled, Duration::from_secs(2)));
    assert!(start.elapsed() >= Duration::from_millis(450));
    // A client that half-closes still gets its answers, then the server closes.
    let mut half = tcp_client(&c).unwrap();
    send_frame(&mut half, &query("web.", RecordType::A, 3));
    half.shutdown(std::net::Shutdown::Write).unwrap();
    assert_eq!(found(&read_frame(&mut half).unwrap()), ["10.0.0.2"]);
    assert!(closed_within(&mut half, Duration::from_secs(2)));
}

/// 20 connections against a limit of 8: 12 are closed at once, the 8 others are served,
/// and UDP is not delayed.
#[test]
fn connections_beyond_the_limit_are_closed() {
    need_root();
    let c = loopback_netns().unwrap();
    let limits = Limits {
        tcp_max: 8,
        ..Limits::default()
    };
    let server = DnsServer::start_with(Upstream::Refuse, limits).unwrap();
    server.set_names("front", names(&[("web", &["10.0.0.2"])]));
    server.attach("c", &c, nets(&["front"])).unwrap();
    let u = udp_client(&c);
    let mut conns: Vec<TcpStream> = (0..20).map(|_| tcp_client(&c).unwrap()).collect();
    let start = Instant::now();
    assert_eq!(found(&ask_udp(&u, "web.", RecordType::A)), ["10.0.0.2"]);
    assert!(start.elapsed() < Duration::from_millis(500));
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut closed = vec![false; conns.len()];
    while closed.iter().filter(|c| **c).count() < 12 && Instant::now() < deadline {
        for (i, s) in conns.iter_mut().enumerate() {
            if !closed[i] {
                closed[i] = closed_within(s, Duration::from_millis(10));
            }
        }
    }
    assert_eq!(closed.iter().filter(|c| **c).count(), 12, "{closed:?}");
    for (s, _) in conns.iter_mut().zip(&closed).filter(|(_, c)| !**c) {
        s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        assert_eq!(found(&ask_tcp(s, "web.", RecordType::A)), ["10.0.0.2"]);
    }
}

/// With the default limits (64 connections, 5 s idle): 100 connections each holding half
/// a frame do not delay a UDP query.
#[test]
fn a_hundred_stalled_connections_do_not_stall_udp() {
    need_root();
    let c = loopback_netns().unwrap();
    let server = DnsServer::start(Upstream::Refuse).unwrap();
    server.set_names("front", names(&[("web", &["10.0.0.2"])]));
    server.attach("c", &c, nets(&["front"])).unwrap();
    let u = udp_client(&c);
    let mut conns = Vec::new();
    for _ in 0..100 {
        let mut s = tcp_client(&c).unwrap();
        s.write_all(&[0x00, 0x40, 0xab]).unwrap();
        conns.push(s);
    }
    for _ in 0..100 {
        let start = Instant::now();
        assert_eq!(found(&ask_udp(&u, "web.", RecordType::A)), ["10.0.0.2"]);
        // Far below the 5 s a blocked loop would take, with room for a busy CI machine.
        assert!(
            start.elapsed() < Duration::from_millis(500),
            "{:?}",
            start.elapsed()
        );
    }
}

/// Past `in_flight_max` queries waiting for the upstream, the next gets SERVFAIL at once.
#[test]
fn queries_in_flight_are_bounded() {
    need_root();
    let host = loopback_netns().unwrap();
    let c = loopback_netns().unwrap();
    let stub = Stub::start(&host);
    let limits = Limits {
        in_flight_max: 2,
        ..Limits::default()
    };
    let server = in_netns(&host, || {
        DnsServer::start_with(Upstream::Forward(vec![stub.addr]), limits)
    })
    .unwrap();
    server.attach("c", &c, nets(&["front"])).unwrap();
    let u = udp_client(&c);
    for id in [1, 2] {
        u.send(&query("silent.example.", RecordType::A, id))
            .unwrap();
    }
    let start = Instant::now();
    u.send(&query("silent.example.", RecordType::A, 3)).unwrap();
    let m = recv_id(&u, 3).unwrap();
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
    assert!(
        start.elapsed() < Duration::from_millis(500),
        "{:?}",
        start.elapsed()
    );
}
