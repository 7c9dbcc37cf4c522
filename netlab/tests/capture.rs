//! `netlab capture` and [`Lab::capture`] on real labs: the article's HTTP GETs seen in the
//! server's container and on the lab host's bridge (with the addresses before and after
//! DNAT), pcapng files read back by Debian's tcpdump, filters, `-c`, `--for`, Ctrl-C, and
//! bad input refused before any capture starts. Root or rootless alike.

mod common;

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use common::{http_server, http_status, lab, lan_lab, shell, sleeper, stdout, wait_http};
use netlab::{Error, Lab, Packet, Protocol, Target, parse_publish};

fn c(name: &str) -> Target {
    Target::Container(name.into())
}

fn netlab(lab: &Lab) -> Command {
    let mut c = Command::cargo_bin("netlab").unwrap();
    c.env("NETLAB_LAB", lab.name()).env_remove("RUST_LOG");
    c
}

/// Where a failing test's captures go (one folder per user: root's and the rootless
/// run's may share /tmp).
fn keep_dir() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("netlab-test-captures-{}", nix::unistd::getuid()))
}

fn ip(a: [u8; 4]) -> IpAddr {
    IpAddr::from(a)
}

/// The first packet `from` → `to` with exactly the flags `[S]`, `[S.]` or `[.]`, by index.
fn find(ps: &[Packet], from: (IpAddr, u16), to: (IpAddr, u16), want: &str) -> Option<usize> {
    ps.iter().position(|p| {
        let f = &p.frame;
        f.protocol == Protocol::Tcp
            && f.src == Some(from.0)
            && f.src_port == Some(from.1)
            && f.dst == Some(to.0)
            && f.dst_port == Some(to.1)
            && f.tcp_flags.is_some_and(|fl| fl.to_string() == want)
    })
}

/// The three packets of a TCP handshake from `client` to `server`, in order; the client's
/// port is taken from its SYN. Panics with the packets seen otherwise.
fn assert_handshake(ps: &[Packet], client: IpAddr, server: (IpAddr, u16), what: &str) {
    let lines = || ps.iter().map(|p| p.line()).collect::<Vec<_>>().join("\n");
    let syn = ps
        .iter()
        .position(|p| {
            p.frame.src == Some(client)
                && p.frame.dst == Some(server.0)
                && p.frame.dst_port == Some(server.1)
                && p.frame.tcp_flags.is_some_and(|f| f.is_syn())
        })
        .unwrap_or_else(|| panic!("{what}: no SYN {client} > {server:?} in:\n{}", lines()));
    let cport = ps[syn].frame.src_port.unwrap();
    let syn_ack = find(ps, server, (client, cport), "[S.]")
        .unwrap_or_else(|| panic!("{what}: no SYN-ACK in:\n{}", lines()));
    let ack = find(ps, (client, cport), server, "[.]")
        .unwrap_or_else(|| panic!("{what}: no ACK in:\n{}", lines()));
    assert!(
        syn < syn_ack && syn_ack < ack,
        "{what}: out of order:\n{}",
        lines()
    );
}

fn container_ip(lab: &Lab, name: &str) -> IpAddr {
    IpAddr::V4(lab.inspect(name).unwrap().ip)
}

/// The link way: a GET from one container to another, seen in the server's container,
/// each packet with its direction.
#[test]
fn the_handshake_of_a_get_between_containers_in_the_server() {
    let lab = lab("cap-link");
    let web = lab.run(&shell("web", &http_server(8000))).unwrap();
    lab.run(&sleeper("client")).unwrap();
    let web_ip = IpAddr::V4(web.ip);
    let client_ip = container_ip(&lab, "client");
    wait_http(&lab, &c("client"), SocketAddr::new(web_ip, 8000));
    let cap = lab
        .capture(&c("web"), None, Some("tcp port 8000"))
        .unwrap()
        .keep_on_panic(keep_dir());
    assert_eq!(cap.iface(), "eth0");
    assert_eq!(
        http_status(&lab, &c("client"), SocketAddr::new(web_ip, 8000)),
        Some(200)
    );
    assert!(
        cap.wait_until(Duration::from_secs(5), |ps| ps.iter().any(|p| p
            .frame
            .tcp_flags
            .is_some_and(
                |f| f.contains(netlab::TcpFlags::FIN) || f.contains(netlab::TcpFlags::RST)
            )))
    );
    let got = cap.stop().unwrap();
    assert_eq!(got.dropped, 0);
    assert_handshake(&got.packets, client_ip, (web_ip, 8000), "in web");
    for p in &got.packets {
        assert_eq!(p.iface, "eth0");
        assert_eq!(p.frame.protocol, Protocol::Tcp);
        // Sent by web exactly when it comes from port 8000.
        assert_eq!(p.outgoing, p.frame.src_port == Some(8000), "{}", p.line());
        assert_eq!(p.data.len(), p.len);
        assert!(p.time() <= std::time::SystemTime::now());
    }
}

/// The complete handshakes (SYN, SYN-ACK, ACK, in order) towards `server`: the clients
/// that made them, by address, in order.
fn handshakes(ps: &[Packet], server: (IpAddr, u16)) -> Vec<IpAddr> {
    ps.iter()
        .enumerate()
        .filter(|(_, p)| {
            p.frame.dst == Some(server.0)
                && p.frame.dst_port == Some(server.1)
                && p.frame.tcp_flags.is_some_and(|f| f.is_syn())
        })
        .filter_map(|(i, p)| {
            let client = (p.frame.src?, p.frame.src_port?);
            let sa = find(&ps[i..], server, client, "[S.]")?;
            find(&ps[i + sa..], client, server, "[.]")?;
            Some(client.0)
        })
        .collect()
}

/// The port way: `curl http://10.2.0.10:8080` from the LAN and from the lab host.
///
/// - On the lab host's uplink (eth1, a port of the bridge) the LAN's request shows as the
///   LAN sent it: to the published port 10.2.0.10:8080, before DNAT.
/// - On the bridge itself (docker0) shows what the lab host's own stack sends and
///   receives: its own request, already translated to the container's 8000. (A bridged
///   frame from another port does not pass the bridge device's own receive path, so the
///   LAN's request is not seen there; tcpdump on docker0 sees the same.)
/// - In the container both requests arrive translated, at port 8000; the LAN shares the
///   bridge's subnet, so the lab's hairpin rule masquerades its request as 10.2.0.10.
#[test]
fn a_published_port_before_dnat_on_the_uplink_and_after_in_the_container() {
    let lab = lan_lab("cap-port");
    let mut spec = shell("web", &http_server(8000));
    spec.publish = parse_publish("8080:8000").unwrap();
    let web = lab.run(&spec).unwrap();
    let web_ip = IpAddr::V4(web.ip);
    let published = SocketAddr::new(ip([10, 2, 0, 10]), 8080);
    let lan = Target::Node("lan".into());
    wait_http(&lab, &lan, published);

    let start = |target: &Target, iface: Option<&str>| {
        lab.capture(target, iface, Some("tcp"))
            .unwrap()
            .keep_on_panic(keep_dir())
    };
    let on_uplink = start(&Target::Host, Some("eth1"));
    let on_bridge = start(&Target::Host, None);
    assert_eq!(on_bridge.iface(), "docker0");
    let in_web = start(&c("web"), None);
    assert_eq!(http_status(&lab, &lan, published), Some(200));
    assert_eq!(http_status(&lab, &Target::Host, published), Some(200));
    let shaken = |cap: &netlab::Capture, server: (IpAddr, u16), n: usize| {
        cap.wait_until(Duration::from_secs(5), |ps| {
            handshakes(ps, server).len() >= n
        })
    };
    let lan_ip = ip([10, 2, 0, 1]);
    let host_ip = ip([10, 2, 0, 10]);
    assert!(shaken(&on_uplink, (host_ip, 8080), 1));
    assert!(shaken(&on_bridge, (web_ip, 8000), 1));
    assert!(shaken(&in_web, (web_ip, 8000), 2));
    let uplink = on_uplink.stop().unwrap().packets;
    let bridge = on_bridge.stop().unwrap().packets;
    let web_side = in_web.stop().unwrap().packets;

    assert_handshake(&uplink, lan_ip, (host_ip, 8080), "uplink, before DNAT");
    assert!(
        uplink.iter().all(|p| p.frame.dst_port != Some(8000)),
        "the LAN never sees the container's port"
    );
    assert_eq!(
        handshakes(&bridge, (web_ip, 8000)),
        [host_ip],
        "bridge, after DNAT"
    );
    assert_handshake(&bridge, host_ip, (web_ip, 8000), "bridge, from the host");
    assert_eq!(
        handshakes(&web_side, (web_ip, 8000)),
        [host_ip, host_ip],
        "in web: the LAN's request (masqueraded) and the host's, both after DNAT"
    );
    assert!(
        web_side.iter().all(|p| p.frame.dst_port != Some(8080)),
        "the container never sees the published port"
    );
    let syn = uplink
        .iter()
        .find(|p| p.frame.tcp_flags.is_some_and(|f| f.is_syn()))
        .unwrap();
    assert!(!syn.outgoing, "arrives from the LAN: {}", syn.line());
    assert_eq!(syn.iface, "eth1");
}

fn tcpdump() -> std::process::Command {
    let found = ["/usr/bin/tcpdump", "/usr/sbin/tcpdump"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("tcpdump is needed to read the pcapng files back: apt-get install tcpdump");
    std::process::Command::new(found)
}

/// `tcpdump -r FILE`'s packet lines.
fn tcpdump_lines(file: &std::path::Path) -> Vec<String> {
    let out = tcpdump().args(["-n", "-r"]).arg(file).output().unwrap();
    assert!(
        out.status.success(),
        "tcpdump -r {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

/// A file from `Captured::write_pcapng` is read by Debian's tcpdump, packet for packet,
/// with the interface and its description in the file.
#[test]
fn pcapng_from_the_api_is_read_by_tcpdump_with_the_same_count() {
    let lab = lab("cap-pcapng");
    let web = lab.run(&shell("web", &http_server(8000))).unwrap();
    lab.run(&sleeper("client")).unwrap();
    let addr = SocketAddr::new(IpAddr::V4(web.ip), 8000);
    wait_http(&lab, &c("client"), addr);
    let cap = lab.capture(&c("web"), Some("any"), None).unwrap();
    for _ in 0..3 {
        assert_eq!(http_status(&lab, &c("client"), addr), Some(200));
    }
    let out = lab
        .exec(
            &c("client"),
            &["ping", "-c", "2", "-i", "0.2", &web.ip.to_string()],
        )
        .unwrap();
    assert_eq!(out.code, 0);
    let got = cap.stop().unwrap();
    // Three connections of at least 8 packets each, 4 pings.
    assert!(got.packets.len() >= 3 * 8 + 4, "{}", got.packets.len());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("web.pcapng");
    got.write_pcapng(&file).unwrap();
    let lines = tcpdump_lines(&file);
    assert_eq!(lines.len(), got.packets.len(), "{lines:#?}");
    assert!(
        lines.iter().any(|l| l.contains("ICMP echo request")),
        "{lines:#?}"
    );
    assert!(lines.iter().any(|l| l.contains("Flags [S.]")), "{lines:#?}");
    let bytes = std::fs::read(&file).unwrap();
    let has = |s: &str| bytes.windows(s.len()).any(|w| w == s.as_bytes());
    assert!(has("eth0") && has(&format!("netlab lab {}, container web", lab.name())));
}

/// Filters keep exactly the packets they name.
#[test]
fn filters_select_the_right_packets() {
    let lab = lab("cap-filter");
    let web = lab.run(&shell("web", &http_server(8000))).unwrap();
    lab.run(&sleeper("client")).unwrap();
    let client_ip = container_ip(&lab, "client");
    let addr = SocketAddr::new(IpAddr::V4(web.ip), 8000);
    wait_http(&lab, &c("client"), addr);
    let filters = [
        "icmp",
        "tcp port 8000",
        "not tcp",
        &format!("src host {client_ip} and (icmp or dst port 8000)"),
        "udp",
    ];
    let caps: Vec<_> = filters
        .iter()
        .map(|f| lab.capture(&c("web"), None, Some(f)).unwrap())
        .collect();
    let all = lab.capture(&c("web"), None, None).unwrap();
    // Compared within the time when every capture ran: a fresh interface sends neighbour
    // and router solicitations on its own at any moment.
    let now_ns = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
    };
    let t0 = now_ns();
    assert_eq!(http_status(&lab, &c("client"), addr), Some(200));
    let ping = lab
        .exec(
            &c("client"),
            &["ping", "-c", "2", "-i", "0.2", &web.ip.to_string()],
        )
        .unwrap();
    assert_eq!(ping.code, 0);
    assert!(all.wait_until(Duration::from_secs(5), |ps| {
        ps.iter()
            .filter(|p| p.frame.protocol == Protocol::Icmp)
            .count()
            >= 4
    }));
    let t1 = now_ns();
    let window = |ps: Vec<Packet>| -> Vec<Packet> {
        ps.into_iter()
            .filter(|p| p.ns >= t0 && p.ns <= t1)
            .collect()
    };
    let all = window(all.stop().unwrap().packets);
    let got: Vec<Vec<Packet>> = caps
        .into_iter()
        .map(|c| window(c.stop().unwrap().packets))
        .collect();
    let keep = |pred: &dyn Fn(&Packet) -> bool| -> Vec<Packet> {
        all.iter().filter(|p| pred(p)).cloned().collect()
    };
    // The same frames in the same order. (Not the same timestamps: without a socket
    // that asks for hardware or early timestamps the kernel stamps an incoming frame
    // for each socket as it delivers it, microseconds apart.)
    let same = |a: &[Packet], b: &[Packet], what: &str| {
        let key = |p: &Packet| p.data.clone();
        assert_eq!(
            a.iter().map(key).collect::<Vec<_>>(),
            b.iter().map(key).collect::<Vec<_>>(),
            "{what}"
        );
    };
    same(
        &got[0],
        &keep(&|p| p.frame.protocol == Protocol::Icmp),
        "icmp",
    );
    assert_eq!(got[0].len(), 4, "two requests and two replies");
    let http = keep(&|p| p.frame.src_port == Some(8000) || p.frame.dst_port == Some(8000));
    same(&got[1], &http, "tcp port 8000");
    same(
        &got[2],
        &keep(&|p| p.frame.protocol != Protocol::Tcp),
        "not tcp",
    );
    let from_client = keep(&|p| {
        p.frame.src == Some(client_ip)
            && (p.frame.protocol == Protocol::Icmp || p.frame.dst_port == Some(8000))
    });
    same(&got[3], &from_client, "src host and (...)");
    assert!(got[3].len() >= 5);
    assert!(got[4].is_empty(), "no UDP at all");
}

/// The CLI prints one line per packet like tcpdump, stops after `-c`, writes pcapng with
/// `-w` that tcpdump reads with the same count, and prints the counts.
#[test]
fn cli_prints_lines_and_writes_pcapng_and_stops_on_count() {
    let lab = lab("cap-cli");
    let web = lab.run(&sleeper("web")).unwrap();
    lab.run(&sleeper("client")).unwrap();
    let web_ip = web.ip.to_string();
    // A steady trickle of pings for the captures below.
    lab.exec_detached(
        &c("client"),
        &[
            "ping".into(),
            "-i".into(),
            "0.1".into(),
            "-c".into(),
            "300".into(),
            web_ip.clone(),
        ],
        &netlab::ExecOptions::default(),
    )
    .unwrap();
    let t = Instant::now();
    let out = netlab(&lab)
        .args(["capture", "web", "-c", "4", "icmp"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(t.elapsed() < Duration::from_secs(10));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(
        lines.iter().any(|l| l.contains(" eth0   In  IP ")
            && l.contains(&format!("> {web_ip}: ICMP echo request, id "))),
        "{text}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains(" Out ") && l.contains("ICMP echo reply")),
        "{text}"
    );
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("capturing on eth0 of container web for `icmp`"),
        "{err}"
    );
    assert!(
        err.contains("4 packets captured, 0 dropped by the kernel"),
        "{err}"
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ping.pcapng");
    let out = netlab(&lab)
        .args(["capture", "web", "-c", "6", "-w"])
        .arg(&file)
        .arg("icmp")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, b"", "-w prints no packet");
    assert!(String::from_utf8_lossy(&out.stderr).contains("6 packets captured"));
    let lines = tcpdump_lines(&file);
    assert_eq!(lines.len(), 6, "{lines:#?}");
    assert!(lines.iter().all(|l| l.contains("ICMP echo")), "{lines:#?}");
}

/// `--for` ends the capture on time, and SIGINT ends it cleanly: the file is whole and
/// the counts are printed.
#[test]
fn for_duration_and_ctrl_c_stop_cleanly() {
    let lab = lab("cap-stop");
    lab.run(&sleeper("web")).unwrap();
    let t = Instant::now();
    let out = netlab(&lab)
        .args(["capture", "web", "--for", "1500ms", "tcp"])
        .output()
        .unwrap();
    let took = t.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_secs(5),
        "--for 1500ms took {took:?}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("0 packets captured, 0 dropped"));

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("x.pcapng");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("netlab"))
        .env("NETLAB_LAB", lab.name())
        .args(["capture", "--host", "-i", "any", "-w"])
        .arg(&file)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the capture runs (its first line), then make traffic and press Ctrl-C.
    let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut first = String::new();
    std::io::BufRead::read_line(&mut err, &mut first).unwrap();
    assert!(
        first.contains("capturing on any of the lab host"),
        "{first}"
    );
    let ping = lab
        .exec(
            &Target::Host,
            &["ping", "-c", "2", "-i", "0.2", "127.0.0.1"],
        )
        .unwrap();
    assert_eq!(ping.code, 0);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let status = child.wait().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut err, &mut rest).unwrap();
    assert!(status.success(), "{status:?} {rest}");
    let n: usize = rest
        .split(" packets captured")
        .next()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| panic!("no count in {rest:?}"));
    // Two echo requests and replies on lo, each seen going out and coming in.
    assert!(n >= 8, "{rest}");
    let lines = tcpdump_lines(&file);
    assert_eq!(lines.len(), n, "{lines:#?}");
}

/// Unknown container, LAN machine or interface, a filter that does not parse, and a file
/// that cannot be written: each refused in clear words, exit 125, and nothing started.
#[test]
fn bad_input_is_refused_before_any_capture() {
    let lab = lab("cap-bad");
    lab.run(&sleeper("web")).unwrap();
    match lab.capture(&c("nosuch"), None, None).unwrap_err() {
        Error::UnknownContainer { name, .. } => assert_eq!(name, "nosuch"),
        e => panic!("{e:?}"),
    }
    let e = lab.capture(&c("web"), Some("eth7"), None).unwrap_err();
    assert!(
        matches!(&e, Error::InvalidSpec { what, .. } if what == "capture -i"),
        "{e:?}"
    );
    assert!(e.to_string().contains("it has lo, eth0"), "{e}");
    let e = lab
        .capture(&c("web"), None, Some("tcp and por 80"))
        .unwrap_err();
    assert!(
        e.to_string().contains("unknown word \"por\" at column 9"),
        "{e}"
    );

    let dir = tempfile::tempdir().unwrap();
    let locked = dir.path().join("missing-folder").join("x.pcapng");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["nosuch".into()], "no container named \"nosuch\""),
        (
            vec!["--node".into(), "ghost".into()],
            "has no LAN machine of that name",
        ),
        (
            vec!["web".into(), "-i".into(), "eth7".into()],
            "has no interface of that name",
        ),
        (
            vec![
                "web".into(),
                "tcp".into(),
                "and".into(),
                "por".into(),
                "80".into(),
            ],
            "invalid filter \"tcp and por 80\": unknown word \"por\" at column 9",
        ),
        (
            vec!["web".into(), "-w".into(), locked.display().to_string()],
            "cannot write the capture to",
        ),
        (
            vec!["web".into(), "--for".into(), "5q".into()],
            "invalid --for \"5q\"",
        ),
        (vec![], "give the container to capture in"),
    ];
    for (args, want) in cases {
        let out = netlab(&lab).arg("capture").args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(125), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
        assert!(
            !err.contains("capturing on"),
            "{args:?} started a capture: {err}"
        );
    }
    // An unknown interface with -w leaves no empty file behind.
    let file = dir.path().join("never.pcapng");
    let out = netlab(&lab)
        .args(["capture", "web", "-i", "eth7", "-w"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert!(!file.exists());
}

/// A capture with `keep_on_panic` is saved when its test panics, and its path printed.
#[test]
fn keep_on_panic_saves_the_capture_of_a_failing_test() {
    let lab = lab("cap-panic");
    let web = lab.run(&sleeper("web")).unwrap();
    lab.run(&sleeper("client")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let keep = dir.path().join("kept");
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let cap = lab
            .capture(&c("web"), None, Some("icmp"))
            .unwrap()
            .keep_on_panic(&keep);
        let ping = lab
            .exec(&c("client"), &["ping", "-c", "1", &web.ip.to_string()])
            .unwrap();
        assert_eq!(ping.code, 0);
        assert!(cap.wait_until(Duration::from_secs(5), |ps| ps.len() >= 2));
        panic!("the test fails here on purpose");
    }));
    assert!(result.is_err());
    let files: Vec<_> = std::fs::read_dir(&keep).unwrap().flatten().collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let lines = tcpdump_lines(&files[0].path());
    assert_eq!(lines.len(), 2, "{lines:#?}");
    // Without a panic nothing is kept.
    let cap = lab
        .capture(&c("web"), None, None)
        .unwrap()
        .keep_on_panic(&keep);
    drop(cap);
    assert_eq!(std::fs::read_dir(&keep).unwrap().count(), 1);
}

/// `-i any` on the lab host sees the bridge and `lo`; a LAN machine's default is eth0.
#[test]
fn any_interface_and_a_lan_machine() {
    let lab = lan_lab("cap-any");
    let cap = lab
        .capture(&Target::Host, Some("any"), Some("icmp"))
        .unwrap();
    let on_lan = lab
        .capture(&Target::Node("lan".into()), None, Some("icmp"))
        .unwrap();
    assert_eq!(on_lan.iface(), "eth0");
    let lan = Target::Node("lan".into());
    assert_eq!(
        lab.exec(&lan, &["ping", "-c", "1", "10.2.0.10"])
            .unwrap()
            .code,
        0
    );
    assert_eq!(
        lab.exec(&Target::Host, &["ping", "-c", "1", "127.0.0.1"])
            .unwrap()
            .code,
        0
    );
    assert!(cap.wait_until(Duration::from_secs(5), |ps| {
        ps.iter().any(|p| p.iface == "lo")
    }));
    let got = cap.stop().unwrap().packets;
    let ifaces: std::collections::BTreeSet<&str> = got.iter().map(|p| p.iface.as_str()).collect();
    assert!(
        ifaces.contains("lo") && ifaces.contains("docker0"),
        "{ifaces:?}"
    );
    assert!(
        ifaces.contains("eth1"),
        "the uplink, a port of the bridge: {ifaces:?}"
    );
    let lan_got = on_lan.stop().unwrap().packets;
    assert_eq!(lan_got.len(), 2, "{lan_got:#?}");
    assert!(lan_got[0].outgoing && !lan_got[1].outgoing);
}

#[test]
fn help_shows_the_filter_words() {
    let help = stdout(
        Command::cargo_bin("netlab")
            .unwrap()
            .args(["capture", "--help"]),
    );
    for w in [
        "-w <FILE>",
        "-c <COUNT>",
        "--for <DURATION>",
        "--host",
        "--node",
        "src port N",
        "tcpdump -r",
    ] {
        assert!(help.contains(w), "{w}: {help}");
    }
}
