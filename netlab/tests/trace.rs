//! `netlab trace` on real labs: one probe per way of the article, explained from the
//! kernel's evidence and checked against the lab's own state (inspect, the nft table), and
//! the verdicts of the ways a packet fails (partition, closed port, missing route,
//! unanswered ARP); bad input.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use common::{http_server, lab, lan_lab, shell, sleeper, stdout, wait_http};
use netlab::{
    Error, FaultSpec, Lab, Leg, ProbeKind, StepKind, Target, TraceSpec, Verdict, parse_publish,
};

fn c(name: &str) -> Target {
    Target::Container(name.into())
}

/// The trace as text and JSON, for failure messages (and `--nocapture`).
fn show(t: &netlab::Trace) -> String {
    let s = format!("{t}\n{}", serde_json::to_string_pretty(t).unwrap());
    eprintln!("{t}");
    s
}

fn bridge_ports(t: &netlab::Trace) -> Vec<(String, String)> {
    leg_bridge_ports(t, Leg::Request)
}

/// The (bridge, port) pairs the FDB chose for one leg.
fn leg_bridge_ports(t: &netlab::Trace, leg: Leg) -> Vec<(String, String)> {
    t.steps
        .iter()
        .filter(|s| s.leg == leg)
        .filter_map(|s| match &s.kind {
            StepKind::Bridge {
                bridge,
                port: Some(p),
                ..
            } => Some((bridge.clone(), p.clone())),
            _ => None,
        })
        .collect()
}

/// The reply's neighbour entries: (namespace, next hop, MAC).
fn reply_neighbours(t: &netlab::Trace) -> Vec<(String, String, Option<String>)> {
    t.steps
        .iter()
        .filter(|s| s.leg == Leg::Reply)
        .filter_map(|s| match &s.kind {
            StepKind::Neighbour { addr, mac, .. } => {
                Some((s.place.clone(), addr.to_string(), mac.clone()))
            }
            _ => None,
        })
        .collect()
}

/// The trace was delivered to b's python3 through b's bridge port.
fn delivered_to_b(t: &netlab::Trace, b: &netlab::ContainerState, text: &str) {
    assert_eq!(
        t.verdict,
        Verdict::Delivered {
            place: "container b".into(),
            addr: format!("{}:8000", b.ip),
            process: Some("python3".into()),
            pid: Some(b.pid),
        },
        "{text}"
    );
    assert!(
        bridge_ports(t).contains(&("docker0".into(), b.host_veth.clone())),
        "{text}"
    );
}

#[test]
fn link_container_to_container_over_the_bridge() {
    let lab = lab("link");
    lab.run(&sleeper("a")).unwrap();
    let b = lab.run(&shell("b", &http_server(8000))).unwrap();
    wait_http(&lab, &c("a"), SocketAddr::new(b.ip.into(), 8000));
    let t = lab.trace(&TraceSpec::new(c("a"), "b:8000")).unwrap();
    let text = show(&t);
    let b_now = lab.inspect("b").unwrap();
    delivered_to_b(&t, &b_now, &text);
    assert!(
        t.steps.iter().any(|s| s.place == "container a"
            && matches!(&s.kind, StepKind::Route { dev, local: false, .. } if dev == "eth0")),
        "{text}"
    );
    assert!(
        t.steps.iter().any(|s| matches!(&s.kind,
            StepKind::Neighbour { addr, mac: Some(_), .. } if *addr == b.ip)),
        "{text}"
    );
    assert!(
        t.to_string().contains("verdict: delivered to python3 (pid"),
        "{text}"
    );
    // The reply: b's neighbour entry for a (a's MAC), and docker0's FDB sending it to
    // a's veth.
    let a_now = lab.inspect("a").unwrap();
    assert_eq!(
        reply_neighbours(&t),
        vec![(
            "container b".to_string(),
            a_now.ip.to_string(),
            Some(a_now.mac.clone())
        )],
        "{text}"
    );
    assert_eq!(
        leg_bridge_ports(&t, Leg::Reply),
        vec![("docker0".to_string(), a_now.host_veth.clone())],
        "{text}"
    );
    assert!(
        t.steps.iter().any(|s| s.leg == Leg::Reply
            && s.place == "container a"
            && matches!(&s.kind, StepKind::Route { local: true, .. })),
        "the reply ends local to a\n{text}"
    );
}

/// The handles of `nft -a list table ip netlab` in the lab host, with their rule text.
fn nat_handles(lab: &Lab) -> Vec<(u64, String)> {
    let out = lab
        .exec(
            &Target::Host,
            &["nft", "-a", "list", "table", "ip", "netlab"],
        )
        .unwrap()
        .stdout_str();
    out.lines()
        .filter_map(|l| {
            let (text, h) = l.trim().rsplit_once(" # handle ")?;
            Some((h.trim().parse().ok()?, text.to_string()))
        })
        .collect()
}

fn dnat_rule(t: &netlab::Trace) -> Option<(String, u64, String, Option<String>)> {
    t.steps.iter().find_map(|s| match &s.kind {
        StepKind::Rule {
            table,
            handle: Some(h),
            text,
            translation,
            chain,
            ..
        } if text.contains("dnat") && s.place == "lab host" => Some((
            format!("{table}/{chain}"),
            *h,
            text.clone(),
            translation.clone(),
        )),
        _ => None,
    })
}

#[test]
fn port_from_the_lan_the_hosts_loopback_and_hairpin() {
    let lab = lan_lab("port");
    let mut web = shell("web", &http_server(8080));
    web.publish = parse_publish("8080:8080").unwrap();
    let st = lab.run(&web).unwrap();
    lab.run(&sleeper("other")).unwrap();
    wait_http(&lab, &Target::Host, SocketAddr::new(st.ip.into(), 8080));
    let web_now = lab.inspect("web").unwrap();
    assert_eq!(web_now.ports[0].to_string(), "8080/tcp -> 0.0.0.0:8080");
    let handles = nat_handles(&lab);
    let other = lab.inspect("other").unwrap();
    // The reply, un-NATed by the lab host: the bridges' ports back to the vantage, and
    // the neighbour entries it used.
    let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    };
    let other_ip = other.ip.to_string();
    let back = [
        (
            pairs(&[("docker0", "eth1"), ("switch", "lan0")]),
            pairs(&[("container web", "10.2.0.10"), ("lab host", "10.2.0.1")]),
        ),
        (vec![], pairs(&[("container web", "10.2.0.10")])),
        (
            pairs(&[("docker0", &other.host_veth)]),
            pairs(&[("container web", "10.2.0.10"), ("lab host", &other_ip)]),
        ),
    ];
    for ((from, dest), (ports, neighs)) in [
        (Target::Node("lan".into()), "10.2.0.10:8080"),
        (Target::Host, "127.0.0.1:8080"),
        (c("other"), "10.2.0.10:8080"),
    ]
    .into_iter()
    .zip(back)
    {
        let t = lab.trace(&TraceSpec::new(from.clone(), dest)).unwrap();
        let text = show(&t);
        assert_eq!(
            t.verdict,
            Verdict::Delivered {
                place: "container web".into(),
                addr: format!("{}:8080", st.ip),
                process: Some("python3".into()),
                pid: Some(web_now.pid),
            },
            "{from:?} {dest}: {text}"
        );
        // The DNAT rule: the lab's own, by handle, and where it sent the packet.
        let (_, handle, rule, translation) = dnat_rule(&t).expect(&text);
        assert!(
            handles
                .iter()
                .any(|(h, r)| *h == handle && r.contains("dnat") && r.contains("8080")),
            "handle {handle} ({rule}) not a DNAT rule of {handles:?}\n{text}"
        );
        assert_eq!(
            translation.as_deref(),
            Some(&*format!("destination becomes {}:8080", st.ip)),
            "{text}"
        );
        assert!(
            bridge_ports(&t).contains(&("docker0".into(), web_now.host_veth.clone())),
            "{text}"
        );
        assert_eq!(leg_bridge_ports(&t, Leg::Reply), ports, "{from:?}: {text}");
        let got: Vec<(String, String)> = reply_neighbours(&t)
            .into_iter()
            .map(|(place, addr, mac)| {
                assert!(mac.is_some(), "{place} {addr}: {text}");
                (place, addr)
            })
            .collect();
        assert_eq!(got, neighs, "{from:?}: {text}");
    }
}

#[test]
fn pipework_from_the_lan_to_the_containers_second_interface() {
    let lab = lan_lab("pipe");
    let st = lab.run(&shell("webserver", &http_server(8080))).unwrap();
    let mut spec = netlab::PipeworkSpec::new("docker0", "webserver", "10.2.0.11/16").unwrap();
    spec.ifname = Some("eth1".into());
    let iface = lab.pipework(&spec).unwrap();
    wait_http(&lab, &Target::Host, SocketAddr::new(st.ip.into(), 8080));
    let t = lab
        .trace(&TraceSpec::new(
            Target::Node("lan".into()),
            "10.2.0.11:8080",
        ))
        .unwrap();
    let text = show(&t);
    let pid = lab.inspect("webserver").unwrap().pid;
    assert_eq!(
        t.verdict,
        Verdict::Delivered {
            place: "container webserver".into(),
            addr: "10.2.0.11:8080".into(),
            process: Some("python3".into()),
            pid: Some(pid),
        },
        "{text}"
    );
    let ports = bridge_ports(&t);
    assert!(
        ports.contains(&("switch".into(), "uplink".into())),
        "{text}"
    );
    assert!(
        ports.contains(&("docker0".into(), iface.host_ifname.clone())),
        "{text}"
    );
    assert!(dnat_rule(&t).is_none(), "no NAT on this way\n{text}");
    // The reply leaves by eth1 too, straight back over docker0 and the LAN's switch.
    assert_eq!(
        leg_bridge_ports(&t, Leg::Reply),
        vec![
            ("docker0".to_string(), "eth1".to_string()),
            ("switch".to_string(), "lan0".to_string())
        ],
        "{text}"
    );
    let neighs = reply_neighbours(&t);
    assert_eq!(neighs.len(), 1, "{text}");
    assert_eq!(
        (neighs[0].0.as_str(), neighs[0].1.as_str()),
        ("container webserver", "10.2.0.1"),
        "{text}"
    );
    assert!(neighs[0].2.is_some(), "{text}");
}

#[test]
fn verdicts_partition_closed_port_missing_route_unanswered_arp() {
    let lab = lab("fail");
    lab.run(&sleeper("a")).unwrap();
    let b = lab.run(&shell("b", &http_server(8000))).unwrap();
    wait_http(&lab, &c("a"), SocketAddr::new(b.ip.into(), 8000));

    // A closed port: the RST, and no socket.
    let t = lab.trace(&TraceSpec::new(c("a"), "b:8081")).unwrap();
    let text = show(&t);
    assert_eq!(
        t.verdict,
        Verdict::Refused {
            addr: format!("{}:8081", b.ip),
            why: "connection refused".into()
        },
        "{text}"
    );
    assert!(
        t.to_string().ends_with(&format!(
            "no listener on {}:8081 (connection refused)",
            b.ip
        )),
        "{text}"
    );

    // A partition: the fault's own rule, by name and handle.
    let fault = lab
        .apply_fault(&FaultSpec::partition(&["a"], &["b"]))
        .unwrap();
    let t = lab.trace(&TraceSpec::new(c("a"), "b:8000")).unwrap();
    let text = show(&t);
    let Verdict::Dropped {
        by,
        table,
        chain,
        handle,
    } = &t.verdict
    else {
        panic!("{text}")
    };
    assert_eq!(by, &format!("partition {}", fault.name), "{text}");
    assert_eq!(
        (table.as_str(), chain.as_str()),
        ("bridge netlab_faults", "forward"),
        "{text}"
    );
    let listed = lab
        .exec(
            &Target::Host,
            &["nft", "-a", "list", "table", "bridge", "netlab_faults"],
        )
        .unwrap()
        .stdout_str();
    assert!(
        listed.contains(&format!("# handle {}", handle.unwrap())),
        "{listed}\n{text}"
    );
    assert!(
        t.to_string().contains(&format!(
            "dropped by partition {} (table bridge netlab_faults, chain forward, handle",
            fault.name
        )),
        "{text}"
    );
    lab.heal(&[]).unwrap();

    // The trace tables are gone afterwards.
    let ruleset = lab
        .exec(&Target::Host, &["nft", "list", "tables"])
        .unwrap()
        .stdout_str();
    assert!(!ruleset.contains("netlab_trace"), "{ruleset}");

    // An address in the subnet that nobody has.
    let t = lab
        .trace(&TraceSpec::new(c("a"), "172.17.0.200:80"))
        .unwrap();
    let text = show(&t);
    assert_eq!(
        t.verdict,
        Verdict::ArpUnanswered {
            addr: "172.17.0.200".parse().unwrap(),
            place: "container a".into()
        },
        "{text}"
    );
    assert!(
        t.to_string()
            .ends_with("ARP for 172.17.0.200 unanswered (asked by container a)"),
        "{text}"
    );

    // A container without its default route.
    let del = lab
        .exec(&c("a"), &["ip", "route", "del", "default"])
        .unwrap();
    assert_eq!(del.code, 0, "{}", String::from_utf8_lossy(&del.stderr));
    let t = lab
        .trace(&TraceSpec::new(c("a"), "192.168.5.1:80"))
        .unwrap();
    let text = show(&t);
    assert_eq!(
        t.verdict,
        Verdict::NoRoute {
            dst: "192.168.5.1".parse().unwrap(),
            place: "container a".into()
        },
        "{text}"
    );
    assert!(
        t.to_string()
            .ends_with("no route to 192.168.5.1 in container a"),
        "{text}"
    );

    // ICMP and UDP probes.
    let t = lab
        .trace(&TraceSpec::new(c("a"), "b").with_probe(ProbeKind::Icmp))
        .unwrap();
    assert!(t.verdict.delivered(), "{}", show(&t));
    let t = lab
        .trace(&TraceSpec::new(c("a"), "b:9999").with_probe(ProbeKind::Udp))
        .unwrap();
    assert!(matches!(t.verdict, Verdict::Refused { .. }), "{}", show(&t));
}

#[test]
fn observe_the_next_real_flow_of_a_client() {
    let lab = lab("obs");
    let a = lab.run(&sleeper("a")).unwrap();
    let b = lab.run(&shell("b", &http_server(8000))).unwrap();
    wait_http(&lab, &c("a"), SocketAddr::new(b.ip.into(), 8000));
    let spec = TraceSpec::new(c("a"), "b:8000").observing(Duration::from_secs(10));
    let (t, sport) = std::thread::scope(|sc| {
        let tracer = sc.spawn(|| lab.trace(&spec));
        // Armed: the supervisor installs the vantage's trace table last, once every
        // monitor listens.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let tables = lab
                .exec(&c("a"), &["nft", "list", "tables"])
                .unwrap()
                .stdout_str();
            if tables.contains("netlab_trace") {
                break;
            }
            assert!(Instant::now() < deadline, "the trace was never armed");
            assert!(!tracer.is_finished(), "the trace ended before it was armed");
            std::thread::sleep(Duration::from_millis(10));
        }
        // The real client: a connection, a request, the answer.
        let py = format!(
            "import socket; s = socket.create_connection(('{}', 8000)); \
             print(s.getsockname()[1]); s.sendall(b'GET / HTTP/1.0\\r\\n\\r\\n'); s.recv(100)",
            b.ip
        );
        let out = lab.exec(&c("a"), &["python3", "-c", &py]).unwrap();
        assert_eq!(out.code, 0, "{}", String::from_utf8_lossy(&out.stderr));
        let sport: u16 = out.stdout_str().trim().parse().unwrap();
        (tracer.join().unwrap().unwrap(), sport)
    });
    let text = show(&t);
    assert_eq!(
        t.probe,
        format!("tcp {}:{sport} -> {}:8000 (observed)", a.ip, b.ip),
        "{text}"
    );
    let (a_now, b_now) = (lab.inspect("a").unwrap(), lab.inspect("b").unwrap());
    delivered_to_b(&t, &b_now, &text);
    assert_eq!(
        leg_bridge_ports(&t, Leg::Reply),
        vec![("docker0".to_string(), a_now.host_veth.clone())],
        "{text}"
    );
    // No flow in time: a clear error, and the tables are gone.
    let started = Instant::now();
    let e = lab
        .trace(&TraceSpec::new(c("a"), "b:8000").observing(Duration::from_millis(300)))
        .unwrap_err();
    assert!(matches!(e, Error::NoFlow { .. }), "{e:?}");
    assert!(e.to_string().contains("--for"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(5));
    let tables = lab
        .exec(&c("a"), &["nft", "list", "tables"])
        .unwrap()
        .stdout_str();
    assert!(!tables.contains("netlab_trace"), "{tables}");
}

#[test]
fn bad_input_is_refused_clearly() {
    let lab = lab("bad");
    lab.run(&sleeper("a")).unwrap();
    for (spec, what) in [
        (TraceSpec::new(c("nope"), "172.17.0.2:80"), "nope"),
        (
            TraceSpec::new(Target::Node("laptop".into()), "172.17.0.2:80"),
            "LAN machine",
        ),
        (TraceSpec::new(c("a"), "ghost:80"), "ghost"),
        (TraceSpec::new(c("a"), "a:70000"), "1 to 65535"),
        (
            TraceSpec::new(c("a"), "a:80").with_probe(ProbeKind::Icmp),
            "no port",
        ),
    ] {
        let e = lab.trace(&spec).unwrap_err();
        assert!(e.to_string().contains(what), "{spec:?}: {e}");
        assert!(
            matches!(
                e,
                Error::UnknownContainer { .. } | Error::InvalidSpec { .. }
            ),
            "{spec:?}: {e:?}"
        );
    }
}

fn netlab(lab: &Lab) -> Command {
    let mut c = Command::cargo_bin("netlab").unwrap();
    c.env("NETLAB_LAB", lab.name()).env_remove("RUST_LOG");
    c
}

/// The command's exit code and standard error.
fn fails(c: &mut Command) -> (Option<i32>, String) {
    let out = c.output().unwrap();
    (out.status.code(), String::from_utf8(out.stderr).unwrap())
}

#[test]
fn cli_text_json_exit_codes_and_usage_errors() {
    let lab = lab("cli");
    lab.run(&sleeper("a")).unwrap();
    let b = lab.run(&shell("b", &http_server(8000))).unwrap();
    wait_http(&lab, &c("a"), SocketAddr::new(b.ip.into(), 8000));
    let text = stdout(netlab(&lab).args(["trace", "--from", "a", "b:8000"]));
    assert!(text.starts_with("trace tcp 172.17.0.2:"), "{text}");
    assert!(text.contains("  [container b]\n"), "{text}");
    let pid = lab.inspect("b").unwrap().pid;
    assert!(
        text.trim_end().ends_with(&format!(
            "verdict: delivered to python3 (pid {pid}) listening on {}:8000 in container b",
            b.ip
        )),
        "{text}"
    );
    let json = stdout(netlab(&lab).args(["trace", "--host", &format!("{}:8000", b.ip), "--json"]));
    let t: netlab::Trace = serde_json::from_str(&json).unwrap();
    assert!(t.verdict.delivered(), "{json}");
    assert_eq!(t.from, "lab host");
    // The picture with the traced path: a's and b's wires to docker0, thick and red.
    let (a_veth, b_veth) = (
        lab.inspect("a").unwrap().host_veth,
        lab.inspect("b").unwrap().host_veth,
    );
    let dot = stdout(netlab(&lab).args(["graph", "--trace", "b:8000", "--from", "a"]));
    for (c, veth) in [("c_a", &a_veth), ("c_b", &b_veth)] {
        let want = format!(
            r##"  {c} -> br_docker0 [label="eth0 ↔ {veth}", dir=none, color="#d62728", penwidth=3];"##
        );
        assert!(dot.lines().any(|l| l == want), "no {want} in\n{dot}");
    }
    assert!(dot.contains(": tcp 172.17.0.2:"), "{dot}");
    // A saved trace from standard input, in Mermaid: b and docker0 (not a) are traced.
    let mermaid = stdout(
        netlab(&lab)
            .args(["graph", "--format", "mermaid", "--highlight", "-"])
            .write_stdin(json.clone()),
    );
    assert!(
        mermaid.contains("  class br_docker0,c_b traced\n  linkStyle 1 stroke:#d62728"),
        "{mermaid}"
    );
    // Not delivered: exit 1 with the verdict on stdout, like curl's failures.
    let out = netlab(&lab)
        .args(["trace", "--from", "a", "b:8081"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("verdict: no listener on"),
        "{out:?}"
    );
    for (args, says) in [
        (vec!["trace", "--from", "ghost", "b:80"], "ghost"),
        (vec!["trace", "--node", "laptop", "b:80"], "laptop"),
        (vec!["trace", "nobody:80"], "nobody"),
        (vec!["trace", "b:65536"], "1 to 65535"),
        (vec!["trace", "--icmp", "b:80"], "no port"),
        (vec!["trace", "--udp", "--icmp", "b"], "cannot be used with"),
        (
            vec!["trace", "--observe", "--icmp", "b"],
            "cannot be used with",
        ),
        (vec!["trace", "--sport", "5", "b:80"], "--observe"),
        (vec!["trace", "--observe", "--for", "10", "b:80"], "--for"),
    ] {
        let (code, err) = fails(netlab(&lab).args(&args));
        assert_eq!(code, Some(125), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
}
