//! `netlab trace` on real labs: one probe per way of the article, explained from the
//! kernel's evidence and checked against the lab's own state (inspect, the nft table), and
//! the verdicts of the ways a packet fails (partition, closed port, missing route,
//! unanswered ARP); bad input.

mod common;

use std::net::SocketAddr;

use common::{http_server, lab, lab_name, shell, sleeper, wait_http};
use netlab::{
    Error, FaultSpec, Lab, LabSpec, LanNode, ProbeKind, StepKind, Target, TraceSpec, Uplink,
    Verdict, parse_publish,
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

/// The article's LAN (see `ways.rs`): bridge 10.2.0.10/16, dynamic addresses from
/// 10.2.1.0/24, the uplink enslaved to the bridge, a LAN machine `lan` (10.2.0.1).
fn lan_lab(tag: &str) -> Lab {
    let mut spec = LabSpec::new(&lab_name(tag));
    spec.bip = "10.2.0.10/16".parse().unwrap();
    spec.ip_range = Some("10.2.1.0/24".parse().unwrap());
    spec.uplink = Some(Uplink::parse("eth1=10.2.0.10/16").unwrap());
    spec.lan_nodes = vec![LanNode::parse("lan=10.2.0.1/16").unwrap()];
    spec.attach_uplink = true;
    Lab::create(&spec).unwrap()
}

fn bridge_ports(t: &netlab::Trace) -> Vec<(String, String)> {
    t.steps
        .iter()
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

#[test]
fn link_container_to_container_over_the_bridge() {
    let lab = lab("link");
    lab.run(&sleeper("a")).unwrap();
    let b = lab.run(&shell("b", &http_server(8000))).unwrap();
    wait_http(&lab, &c("a"), SocketAddr::new(b.ip.into(), 8000));
    let t = lab.trace(&TraceSpec::new(c("a"), "b:8000")).unwrap();
    let text = show(&t);
    let b_now = lab.inspect("b").unwrap();
    assert_eq!(
        t.verdict,
        Verdict::Delivered {
            place: "container b".into(),
            addr: format!("{}:8000", b.ip),
            process: Some("python3".into()),
            pid: Some(b_now.pid),
        },
        "{text}"
    );
    assert!(
        bridge_ports(&t).contains(&("docker0".into(), b_now.host_veth.clone())),
        "{text}"
    );
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
}
