//! The article's three ways and the LAN, end to end with real traffic: links, published
//! ports (nft DNAT in the lab host), pipework interfaces, and a simulated LAN.

mod common;

use std::net::{Ipv4Addr, SocketAddr};

use common::{http_server, http_status, lab, lab_name, lan_lab, shell, sleeper, wait_http};
use netlab::{
    Error, Lab, LabSpec, LanNode, LinkSpec, PipeworkSpec, Target, Uplink, parse_expose,
    parse_publish,
};

fn c(name: &str) -> Target {
    Target::Container(name.into())
}

fn sa(ip: [u8; 4], port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::from(ip), port))
}

fn env_of(lab: &Lab, name: &str) -> Vec<String> {
    let out = lab.exec(&c(name), &["env"]).unwrap().stdout_str();
    let mut v: Vec<String> = out.lines().map(String::from).collect();
    v.sort();
    v
}

#[test]
fn link_gives_dockers_variables_and_a_hosts_entry() {
    let lab = lab("link");
    let mut mongo = sleeper("mongodb");
    mongo.expose = parse_expose("27017").unwrap();
    lab.run(&mongo).unwrap();
    let mut web = sleeper("webserver1");
    web.links.push(LinkSpec::parse("mongodb:mongo").unwrap());
    lab.run(&web).unwrap();
    let env: Vec<String> = env_of(&lab, "webserver1")
        .into_iter()
        .filter(|l| l.starts_with("MONGO_"))
        .collect();
    assert_eq!(
        env,
        [
            "MONGO_NAME=/webserver1/mongo",
            "MONGO_PORT=tcp://172.17.0.2:27017",
            "MONGO_PORT_27017_TCP=tcp://172.17.0.2:27017",
            "MONGO_PORT_27017_TCP_ADDR=172.17.0.2",
            "MONGO_PORT_27017_TCP_PORT=27017",
            "MONGO_PORT_27017_TCP_PROTO=tcp",
        ]
    );
    // The alias, the name and the hostname resolve inside the container.
    for n in ["mongo", "mongodb"] {
        let out = lab.exec(&c("webserver1"), &["getent", "hosts", n]).unwrap();
        assert_eq!(
            out.stdout_str().split_whitespace().next(),
            Some("172.17.0.2"),
            "{n}"
        );
    }
    // The article's shell form reaches the linked container through the variables.
    lab.run(&shell("probe", "ping -c1 -W2 $MONGO_PORT_27017_TCP_ADDR"))
        .ok();
    let mut probe = shell("probe2", "exec ping -c1 -W2 $MONGO_PORT_27017_TCP_ADDR");
    probe.links.push(LinkSpec::parse("mongodb:mongo").unwrap());
    lab.run(&probe).unwrap();
    assert_eq!(lab.wait("probe2").unwrap(), 0);
}

#[test]
fn link_with_ranges_udp_env_and_a_dashed_alias() {
    let lab = lab("link2");
    let mut db = sleeper("db");
    db.expose = ["8000-8001", "53/udp", "9000"]
        .iter()
        .flat_map(|p| parse_expose(p).unwrap())
        .collect();
    db.env.push(("DB_USER".into(), "ada".into()));
    db.hostname = Some("dbhost".into());
    lab.run(&db).unwrap();
    let mut app = sleeper("app");
    app.links.push(LinkSpec::parse("db:my-db").unwrap());
    lab.run(&app).unwrap();
    let env: Vec<String> = env_of(&lab, "app")
        .into_iter()
        .filter(|l| l.starts_with("MY_DB_"))
        .collect();
    // Docker 20.10: ALIAS_PORT is the lowest port number (53/udp), tcp first only on a tie.
    let mut want: Vec<String> = [
        "MY_DB_PORT=udp://172.17.0.2:53",
        "MY_DB_PORT_8000_TCP_START=tcp://172.17.0.2:8000",
        "MY_DB_PORT_8000_TCP_PORT_START=8000",
        "MY_DB_PORT_8000_TCP_END=tcp://172.17.0.2:8001",
        "MY_DB_PORT_8000_TCP_PORT_END=8001",
        "MY_DB_PORT_8000_TCP=tcp://172.17.0.2:8000",
        "MY_DB_PORT_8000_TCP_ADDR=172.17.0.2",
        "MY_DB_PORT_8000_TCP_PORT=8000",
        "MY_DB_PORT_8000_TCP_PROTO=tcp",
        "MY_DB_PORT_8001_TCP=tcp://172.17.0.2:8001",
        "MY_DB_PORT_8001_TCP_ADDR=172.17.0.2",
        "MY_DB_PORT_8001_TCP_PORT=8001",
        "MY_DB_PORT_8001_TCP_PROTO=tcp",
        "MY_DB_PORT_9000_TCP=tcp://172.17.0.2:9000",
        "MY_DB_PORT_9000_TCP_ADDR=172.17.0.2",
        "MY_DB_PORT_9000_TCP_PORT=9000",
        "MY_DB_PORT_9000_TCP_PROTO=tcp",
        "MY_DB_PORT_53_UDP=udp://172.17.0.2:53",
        "MY_DB_PORT_53_UDP_ADDR=172.17.0.2",
        "MY_DB_PORT_53_UDP_PORT=53",
        "MY_DB_PORT_53_UDP_PROTO=udp",
        "MY_DB_NAME=/app/my-db",
        "MY_DB_ENV_DB_USER=ada",
    ]
    .map(String::from)
    .to_vec();
    want.sort();
    assert_eq!(env, want);
    let out = lab
        .exec(&c("app"), &["getent", "hosts", "my-db"])
        .unwrap()
        .stdout_str();
    assert_eq!(out.trim(), "172.17.0.2      my-db dbhost db");
}

#[test]
fn a_link_to_an_unknown_or_stopped_container_is_refused() {
    let lab = lab("link3");
    let mut web = sleeper("web");
    web.links.push(LinkSpec::parse("ghost:db").unwrap());
    assert!(matches!(lab.run(&web), Err(Error::UnknownContainer { .. })));
    lab.run(&sleeper("db")).unwrap();
    lab.stop("db", 1).unwrap();
    web.links = vec![LinkSpec::parse("db").unwrap()];
    let err = lab.run(&web).unwrap_err();
    assert!(matches!(err, Error::BadState { .. }), "{err}");
    assert!(err.to_string().contains("netlab start db"), "{err}");
    assert_eq!(lab.ps(true).unwrap().len(), 1, "nothing was created");
}

#[test]
fn published_ports_from_the_lan_the_host_and_hairpin() {
    let lab = lan_lab("port");
    let mut web = shell("web", &http_server(8080));
    web.publish = parse_publish("8080:8080").unwrap();
    let st = lab.run(&web).unwrap();
    let lan = Target::Node("lan".into());
    wait_http(&lab, &Target::Host, SocketAddr::new(st.ip.into(), 8080));
    assert_eq!(
        http_status(&lab, &lan, sa([10, 2, 0, 10], 8080)),
        Some(200),
        "LAN -> host's address"
    );
    assert_eq!(
        http_status(&lab, &Target::Host, sa([127, 0, 0, 1], 8080)),
        Some(200),
        "lab host's 127.0.0.1"
    );
    assert_eq!(
        http_status(&lab, &Target::Host, sa([10, 2, 0, 10], 8080)),
        Some(200),
        "lab host's own address"
    );
    lab.run(&sleeper("other")).unwrap();
    assert_eq!(
        http_status(&lab, &c("other"), sa([10, 2, 0, 10], 8080)),
        Some(200),
        "hairpin from another container"
    );
    assert_eq!(
        http_status(&lab, &c("web"), sa([10, 2, 0, 10], 8080)),
        Some(200),
        "hairpin to itself"
    );
    // LAN machines also reach the container on its own address: bridge and LAN are one.
    assert_eq!(
        http_status(&lab, &lan, SocketAddr::new(st.ip.into(), 8080)),
        Some(200)
    );
    let ports = lab.inspect("web").unwrap().ports;
    assert_eq!(
        ports.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
        ["8080/tcp -> 0.0.0.0:8080"]
    );
}

#[test]
fn every_publish_form_and_unpublished_ports_stay_closed() {
    let lab = lan_lab("port2");
    // One container serving on 80, 81, 7000, 7001 and 9999.
    let serve =
        "for p in 80 81 7000 7001 9999; do python3 -m http.server $p --bind 0.0.0.0 & done; wait";
    let mut web = shell("multi", serve);
    web.publish = ["127.0.0.1:8081:81", "10.2.0.10::80", "7000-7001:7000-7001"]
        .iter()
        .flat_map(|p| parse_publish(p).unwrap())
        .collect();
    let st = lab.run(&web).unwrap();
    for p in [80, 81, 7000, 7001, 9999] {
        wait_http(&lab, &Target::Host, SocketAddr::new(st.ip.into(), p));
    }
    let find = |cp: u16| {
        st.ports
            .iter()
            .find(|b| b.container_port == cp)
            .copied()
            .unwrap()
    };
    let eph = find(80).host_port.unwrap();
    assert!((32768..=60999).contains(&eph), "ephemeral host port {eph}");
    let lan = Target::Node("lan".into());
    let host = Target::Host;
    assert_eq!(
        http_status(&lab, &host, sa([127, 0, 0, 1], 8081)),
        Some(200),
        "127.0.0.1:8081:81"
    );
    assert_eq!(
        http_status(&lab, &lan, sa([10, 2, 0, 10], 8081)),
        None,
        "bound to 127.0.0.1 only"
    );
    assert_eq!(
        http_status(&lab, &lan, sa([10, 2, 0, 10], eph)),
        Some(200),
        "ip::80"
    );
    assert_eq!(
        http_status(&lab, &lan, sa([10, 2, 0, 10], 7000)),
        Some(200),
        "range"
    );
    assert_eq!(
        http_status(&lab, &lan, sa([10, 2, 0, 10], 7001)),
        Some(200),
        "range"
    );
    assert_eq!(
        http_status(&lab, &lan, sa([10, 2, 0, 10], 9999)),
        None,
        "an unpublished port is not forwarded"
    );
    // `-p 80` and `-P` take free host ports; a taken host port is refused.
    let mut auto = shell("auto", &http_server(80));
    auto.publish = parse_publish("80").unwrap();
    auto.expose = parse_expose("80").unwrap();
    let a = lab.run(&auto).unwrap();
    let a_port = a.ports[0].host_port.unwrap();
    assert_ne!(a_port, eph, "the next free ephemeral port");
    let mut all = shell("all", &http_server(5000));
    all.expose = parse_expose("5000").unwrap();
    all.publish_all = true;
    let b = lab.run(&all).unwrap();
    assert_eq!(b.ports.len(), 1);
    wait_http(&lab, &host, SocketAddr::new(b.ip.into(), 5000));
    assert_eq!(
        http_status(
            &lab,
            &lan,
            sa([10, 2, 0, 10], b.ports[0].host_port.unwrap())
        ),
        Some(200),
        "-P"
    );
    let mut clash = sleeper("clash");
    clash.publish = parse_publish("7001:80").unwrap();
    let err = lab.run(&clash).unwrap_err();
    assert!(matches!(err, Error::PortInUse { .. }), "{err}");
    assert!(err.to_string().contains("container multi"), "{err}");
    // Removing a container withdraws its forwards.
    lab.rm("multi", true).unwrap();
    assert_eq!(http_status(&lab, &lan, sa([10, 2, 0, 10], 7000)), None);
}

#[test]
fn udp_ports_are_forwarded_too() {
    let lab = lan_lab("udp");
    let echo = "exec python3 -c \"import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind(('0.0.0.0',5353))\nwhile True:\n d,a=s.recvfrom(100)\n s.sendto(d,a)\"";
    let mut u = shell("echo", echo);
    u.publish = parse_publish("5353:5353/udp").unwrap();
    lab.run(&u).unwrap();
    // The client retries within its own deadline until the server answers.
    let client = "import socket,time\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.settimeout(0.2)\nend=time.time()+10\nwhile time.time()<end:\n s.sendto(b'hi',('10.2.0.10',5353))\n try:\n  print(s.recvfrom(100)[0].decode()); break\n except socket.timeout: pass";
    let out = lab
        .exec(&Target::Node("lan".into()), &["python3", "-c", client])
        .unwrap();
    assert_eq!(
        out.stdout_str(),
        "hi\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn pipework_the_articles_way_on_the_lan() {
    let lab = lan_lab("pipe");
    let st = lab.run(&shell("webserver", &http_server(8080))).unwrap();
    let mut spec = PipeworkSpec::new("docker0", "webserver", "10.2.0.11/16").unwrap();
    spec.ifname = Some("eth1".into());
    let iface = lab.pipework(&spec).unwrap();
    assert_eq!(iface.ifname, "eth1");
    wait_http(&lab, &Target::Host, SocketAddr::new(st.ip.into(), 8080));
    assert_eq!(
        http_status(&lab, &Target::Node("lan".into()), sa([10, 2, 0, 11], 8080)),
        Some(200)
    );
    let inside = lab
        .exec(&c("webserver"), &["ip", "-4", "-o", "addr", "show", "eth1"])
        .unwrap()
        .stdout_str();
    assert!(inside.contains("inet 10.2.0.11/16"), "{inside}");
    assert_eq!(
        lab.inspect("webserver").unwrap().pipework,
        vec![iface.clone()]
    );
    // Every address in use is refused, and so is a name the container has; nothing changes.
    for (ip, owner) in [
        ("10.2.0.11/16", "pipework"),
        ("10.2.0.10/16", "bridge"),
        ("10.2.0.1/16", "LAN machine lan"),
        (&*format!("{}/16", st.ip), "container webserver"),
    ] {
        let mut dup = spec.clone();
        dup.ifname = Some("eth2".into());
        dup.addr = ip.parse().unwrap();
        let err = lab.pipework(&dup).unwrap_err();
        assert!(matches!(err, Error::AddressInUse { .. }), "{ip}: {err}");
        assert!(err.to_string().contains(owner), "{err}");
    }
    let mut again = spec.clone();
    again.addr = "10.2.0.12/16".parse().unwrap();
    let err = lab.pipework(&again).unwrap_err();
    assert!(
        err.to_string().contains("already has an interface eth1"),
        "{err}"
    );
    let links = lab
        .exec(&c("webserver"), &["ip", "-o", "link"])
        .unwrap()
        .stdout_str();
    assert_eq!(links.lines().count(), 3, "lo, eth0, eth1 only: {links}");
    assert!(
        PipeworkSpec::new("docker0", "webserver", "10.2.0.11")
            .unwrap_err()
            .to_string()
            .contains("10.2.0.11/24")
    );
    // Removing the container removes its pipework interface and frees the address.
    lab.rm("webserver", true).unwrap();
    let host_links = lab
        .exec(&Target::Host, &["ip", "-o", "link"])
        .unwrap()
        .stdout_str();
    assert!(!host_links.contains(&iface.host_ifname), "{host_links}");
    lab.run(&sleeper("next")).unwrap();
    let mut reuse = spec;
    reuse.container = "next".into();
    lab.pipework(&reuse).unwrap();
}

#[test]
fn pipework_on_a_separate_bridge_joins_two_containers() {
    let lab = lab("br1");
    lab.run(&sleeper("a")).unwrap();
    lab.run(&sleeper("b")).unwrap();
    for (name, ip) in [
        ("a", "192.168.1.1/24"),
        ("b", "192.168.1.2/24@192.168.1.254"),
    ] {
        let spec = PipeworkSpec::new("br1", name, ip).unwrap();
        let i = lab.pipework(&spec).unwrap();
        assert_eq!(i.ifname, "eth1", "the first free ethN");
    }
    let out = lab
        .exec(&c("a"), &["ping", "-c1", "-W2", "192.168.1.2"])
        .unwrap();
    assert_eq!(out.code, 0, "{}", out.stdout_str());
    let route = lab
        .exec(&c("b"), &["ip", "route", "show", "default"])
        .unwrap()
        .stdout_str();
    assert!(
        route.starts_with("default via 192.168.1.254 dev eth1"),
        "@GATEWAY replaced the default route: {route}"
    );
    let br = lab
        .exec(
            &Target::Host,
            &["ip", "-o", "link", "show", "master", "br1"],
        )
        .unwrap()
        .stdout_str();
    assert_eq!(br.lines().count(), 2, "{br}");
    // A MAC can be given, as with pipework.
    let mut spec = PipeworkSpec::new("br1", "a", "192.168.1.3/24").unwrap();
    spec.ifname = Some("eth2".into());
    spec.host_ifname = Some("pw-a2".into());
    spec.mac = Some([2, 0, 0, 0, 0, 0x33]);
    assert_eq!(lab.pipework(&spec).unwrap().mac, "02:00:00:00:00:33");
}

#[test]
fn a_simple_uplink_before_and_after_attach() {
    // The article's problem first: the uplink and the bridge both carry 10.2.0.10/16, so
    // the lab host has two routes to the LAN subnet and answers the LAN through the wrong
    // one. The article's two steps (`uplink attach`) make bridge and LAN one segment.
    let mut spec = LabSpec::new(&lab_name("attach"));
    spec.bip = "10.2.0.10/16".parse().unwrap();
    spec.ip_range = Some("10.2.1.0/24".parse().unwrap());
    spec.uplink = Some(Uplink::parse("eth1=10.2.0.10/16").unwrap());
    spec.lan_nodes = vec![LanNode::parse("lan=10.2.0.1/16").unwrap()];
    let lab = Lab::create(&spec).unwrap();
    let st = lab.run(&shell("web", &http_server(8080))).unwrap();
    wait_http(&lab, &Target::Host, SocketAddr::new(st.ip.into(), 8080));
    let lan = Target::Node("lan".into());
    assert_ne!(
        lab.exec(&lan, &["ping", "-c1", "-W1", "10.2.0.10"])
            .unwrap()
            .code,
        0,
        "replies leave by docker0"
    );
    assert_eq!(
        http_status(&lab, &lan, SocketAddr::new(st.ip.into(), 8080)),
        None,
        "not yet one segment"
    );
    lab.uplink_attach().unwrap();
    // Neighbour entries learnt while the segment was split take a probe to heal.
    let reaches_host = || {
        lab.exec(&lan, &["ping", "-c1", "-W1", "10.2.0.10"])
            .unwrap()
            .code
            == 0
    };
    testkit::poll::wait_until(
        "the LAN to reach the host after attach",
        std::time::Duration::from_secs(10),
        reaches_host,
    );
    assert_eq!(
        http_status(&lab, &lan, SocketAddr::new(st.ip.into(), 8080)),
        Some(200)
    );
    let eth1 = lab
        .exec(&Target::Host, &["ip", "-o", "-4", "addr", "show", "eth1"])
        .unwrap()
        .stdout_str();
    assert_eq!(eth1, "", "the uplink lost its address");
    // Attaching again changes nothing.
    lab.uplink_attach().unwrap();
    assert!(reaches_host());
}

/// `--uplink-dev`: a real interface moves into the lab host and is enslaved to the bridge.
/// The "real machine" here is a scratch network namespace that only this test's thread
/// enters, so the machine's own interfaces are never touched.
#[test]
fn a_real_uplink_device_moves_into_the_lab_host() {
    assert!(
        nix::unistd::getuid().is_root(),
        "this test needs root: it makes a scratch network namespace for its thread"
    );
    std::thread::spawn(|| {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        let ip = |args: &[&str]| {
            let out = std::process::Command::new("ip")
                .args(args)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "ip {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        ip(&[
            "link", "add", "uplnk0", "type", "veth", "peer", "name", "peer0",
        ]);
        let mut spec = LabSpec::new(&lab_name("updev"));
        spec.bip = "10.2.0.10/16".parse().unwrap();
        spec.uplink_dev = Some("uplnk0".into());
        spec.attach_uplink = true;
        let lab = Lab::create(&spec).unwrap();
        assert!(
            !ip(&["-o", "link"]).contains("uplnk0"),
            "the interface left the scratch namespace"
        );
        let ports = lab
            .exec(
                &Target::Host,
                &["ip", "-o", "link", "show", "master", "docker0"],
            )
            .unwrap()
            .stdout_str();
        assert!(ports.contains("uplnk0"), "{ports}");
        let mut missing = LabSpec::new(&lab_name("updev2"));
        missing.uplink_dev = Some("nosuchdev0".into());
        let err = Lab::create(&missing).unwrap_err();
        assert!(err.to_string().contains("no such interface"), "{err}");
        let after = Lab::open(&missing.name);
        assert!(
            matches!(after, Err(Error::LabNotFound { .. })),
            "the half-made lab is gone: {after:?}"
        );
    })
    .join()
    .unwrap();
}
