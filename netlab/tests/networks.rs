//! User-defined networks end to end, with real traffic: isolation both ways, a container
//! on two networks, internal networks, IPv6 (ping, HTTP, a published port), macvlan from
//! the LAN, fixed addresses across restarts, and bad input that leaves nothing half-made.

mod common;

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use common::{http_server, lab, lab_name, shell, sleeper, wait_http, wait_until};
use netlab::{Attachment, ContainerSpec, Error, Lab, LabSpec, NetworkSpec, Target};

fn on(mut spec: ContainerSpec, network: &str) -> ContainerSpec {
    spec.networks.push(Attachment::new(network));
    spec
}

fn net(lab: &Lab, name: &str, args: &[&str]) -> netlab::NetworkState {
    let mut subnets = vec![];
    let mut ipv6 = false;
    let mut internal = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match *a {
            "--subnet" => subnets.push(it.next().unwrap().to_string()),
            "--ipv6" => ipv6 = true,
            "--internal" => internal = true,
            other => panic!("{other}"),
        }
    }
    let spec =
        NetworkSpec::from_options(name, "bridge", &subnets, &[], &[], internal, ipv6, &[], &[])
            .unwrap();
    lab.create_network(&spec).unwrap()
}

fn c(name: &str) -> Target {
    Target::Container(name.into())
}

/// One ping from `from` to `ip`, answered within `wait` seconds.
fn pings(lab: &Lab, from: &Target, ip: IpAddr, wait: u32) -> bool {
    let w = wait.to_string();
    let ip = ip.to_string();
    lab.exec(from, &["ping", "-c", "1", "-W", &w, &ip])
        .map(|o| o.code == 0)
        .unwrap_or(false)
}

fn ip_on(lab: &Lab, container: &str, network: &str) -> IpAddr {
    let s = lab.inspect(container).unwrap();
    let e = s.networks.iter().find(|e| e.network == network).unwrap();
    IpAddr::V4(e.ip)
}

fn reachable(lab: &Lab, from: &Target, ip: IpAddr) {
    wait_until(
        &format!("{from:?} reaches {ip}"),
        Duration::from_secs(10),
        || pings(lab, from, ip, 1),
    );
}

#[test]
fn networks_are_isolated_both_ways_and_a_container_on_two_reaches_both() {
    let lab = lab("iso");
    let a = net(&lab, "neta", &[]);
    let b = net(&lab, "netb", &["--subnet", "10.79.0.0/24"]);
    // The pool skips the default bridge's 172.17.0.0/16.
    assert_eq!(a.subnets[0].subnet.to_string(), "172.18.0.0/16");
    assert_eq!(a.bridge.len(), 15, "br- and 12 digits: {}", a.bridge);
    lab.run(&on(sleeper("a1"), "neta")).unwrap();
    lab.run(&on(sleeper("b1"), "netb")).unwrap();
    lab.run(&sleeper("d1")).unwrap();
    lab.run(&on(sleeper("ab"), "neta")).unwrap();
    let mut to_b = Attachment::new("netb");
    to_b.aliases.push("both".into());
    lab.connect_network("ab", &to_b).unwrap();
    let (a1, b1, d1) = (
        ip_on(&lab, "a1", "neta"),
        ip_on(&lab, "b1", "netb"),
        ip_on(&lab, "d1", "bridge"),
    );
    assert_eq!(b1.to_string(), "10.79.0.2");
    // The container on both has an interface on each, and reaches both sides.
    let ab = lab.inspect("ab").unwrap();
    let ifs: Vec<(&str, &str)> = ab
        .networks
        .iter()
        .map(|e| (e.network.as_str(), e.ifname.as_str()))
        .collect();
    assert_eq!(ifs, [("neta", "eth0"), ("netb", "eth1")]);
    assert_eq!(ab.networks[1].aliases, ["both"]);
    let addrs = lab
        .exec(&c("ab"), &["ip", "-br", "-4", "addr"])
        .unwrap()
        .stdout_str();
    assert!(addrs.contains("eth0") && addrs.contains("eth1"), "{addrs}");
    reachable(&lab, &c("ab"), a1);
    reachable(&lab, &c("ab"), b1);
    // Each side reaches the lab host's bridge of its own network (the route is there)...
    reachable(&lab, &c("a1"), a.subnets[0].gateway.unwrap());
    // Given without --gateway, its gateway is the first address (not recorded, as Docker).
    assert_eq!(b.subnets[0].gateway, None);
    reachable(&lab, &c("b1"), "10.79.0.1".parse().unwrap());
    // ... and nothing of another network, both ways, the default bridge included.
    for (from, to) in [("a1", b1), ("b1", a1), ("d1", a1), ("a1", d1), ("d1", b1)] {
        assert!(!pings(&lab, &c(from), to, 1), "{from} reached {to}");
    }
    // A disconnect takes the interface and its address; the other stays.
    lab.disconnect_network("netb", "ab").unwrap();
    let ab = lab.inspect("ab").unwrap();
    assert_eq!(ab.networks.len(), 1);
    assert!(!pings(&lab, &c("ab"), b1, 1));
    reachable(&lab, &c("ab"), a1);
    let links = lab
        .exec(&c("ab"), &["ip", "-br", "link"])
        .unwrap()
        .stdout_str();
    assert!(!links.contains("eth1"), "{links}");
}

#[test]
fn an_internal_network_has_no_way_out() {
    let lab = lab("internal");
    let n = net(&lab, "inside", &["--internal"]);
    lab.run(&on(sleeper("i1"), "inside")).unwrap();
    lab.run(&on(sleeper("i2"), "inside")).unwrap();
    lab.run(&sleeper("out")).unwrap();
    // As with Docker, the route is there (via the network's bridge); the rules keep the
    // traffic in.
    let routes = lab.exec(&c("i1"), &["ip", "route"]).unwrap().stdout_str();
    let gw = n.subnets[0].gateway.unwrap();
    assert!(routes.contains(&format!("default via {gw}")), "{routes}");
    reachable(&lab, &c("i1"), ip_on(&lab, "i2", "inside"));
    assert!(!pings(&lab, &c("i1"), ip_on(&lab, "out", "bridge"), 1));
    // The lab host reaches it on the network's own bridge, as Docker's host does...
    reachable(&lab, &Target::Host, ip_on(&lab, "i1", "inside"));
    // ... but nothing is forwarded in or out of it.
    assert!(!pings(&lab, &c("out"), ip_on(&lab, "i1", "inside"), 1));
    let st = lab.inspect_network("inside").unwrap();
    assert!(st.internal && st.containers.len() == 2, "{st:?}");
    assert_eq!(n.id, st.id);
    // Docker lets `--ip` choose only in a subnet the user gave.
    let mut fixed = sleeper("fixed");
    let mut a = Attachment::new("inside");
    a.ip = Some("172.18.0.9".parse().unwrap());
    fixed.networks.push(a);
    let e = lab.run(&fixed).unwrap_err().to_string();
    assert!(e.contains("user configured subnets"), "{e}");
}

#[test]
fn ipv6_ping_http_and_a_port_published_on_both_families() {
    let lab = lab("ipv6");
    let n = net(
        &lab,
        "dual",
        &[
            "--ipv6",
            "--subnet",
            "10.78.0.0/24",
            "--subnet",
            "fd00:78::/64",
        ],
    );
    assert!(n.ipv6);
    let mut web = on(
        shell("web", "exec python3 -m http.server 80 --bind ::"),
        "dual",
    );
    web.publish = netlab::parse_publish("8080:80").unwrap();
    lab.run(&web).unwrap();
    lab.run(&on(sleeper("client"), "dual")).unwrap();
    let w = lab.inspect("web").unwrap();
    let e = &w.networks[0];
    assert_eq!(e.ip6.unwrap().to_string(), "fd00:78::2");
    assert_eq!(e.gateway6.unwrap().to_string(), "fd00:78::1");
    assert_eq!(e.prefix6, 64);
    // Ping and HTTP over IPv6 between containers.
    reachable(&lab, &c("client"), IpAddr::V6(e.ip6.unwrap()));
    let v6 = SocketAddr::new(IpAddr::V6(e.ip6.unwrap()), 80);
    wait_http(&lab, &c("client"), v6);
    // The published port answers on the lab host's IPv6 address too (and on IPv4).
    let gw6 = SocketAddr::new(IpAddr::V6(e.gateway6.unwrap()), 8080);
    wait_http(&lab, &Target::Host, gw6);
    wait_http(&lab, &c("client"), gw6);
    wait_http(&lab, &Target::Host, "127.0.0.1:8080".parse().unwrap());
    // `port` lists both, as Docker does.
    let out = assert_cmd::Command::new(netlab::netlab_bin().unwrap())
        .args(["--lab", &lab_name("ipv6"), "port", "web"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "80/tcp -> 0.0.0.0:8080\n80/tcp -> :::8080\n"
    );
    // The default bridge stays IPv4-only, like Docker's.
    lab.run(&sleeper("plain")).unwrap();
    let p = lab.inspect("plain").unwrap();
    assert!(p.networks[0].ip6.is_none());
}

#[test]
fn macvlan_puts_a_container_on_the_lan() {
    let mut spec = LabSpec::new(&lab_name("macvlan"));
    spec.uplink = Some(netlab::Uplink::parse("eth1=10.2.0.10/16").unwrap());
    spec.lan_nodes = vec![netlab::LanNode::parse("lan=10.2.0.1/16").unwrap()];
    let lab = Lab::create(&spec).unwrap();
    let n = NetworkSpec::from_options(
        "lannet",
        "macvlan",
        &["10.2.0.0/16".into()],
        &["10.2.100.0/24".into()],
        &["10.2.0.1".into()],
        false,
        false,
        &["parent=eth1".into()],
        &[],
    )
    .unwrap();
    let st = lab.create_network(&n).unwrap();
    assert_eq!(st.bridge, "", "macvlan has no bridge");
    let mut web = ContainerSpec::new("web", netlab::CommandSpec::Shell(http_server(8080)));
    let mut a = Attachment::new("lannet");
    a.ip = Some("10.2.100.10".parse().unwrap());
    web.networks.push(a);
    lab.run(&web).unwrap();
    lab.run(&on(sleeper("dyn"), "lannet")).unwrap();
    let w = lab.inspect("web").unwrap();
    assert_eq!(w.networks[0].ip.to_string(), "10.2.100.10");
    assert_eq!(w.networks[0].host_veth, "", "no veth: a macvlan device");
    assert_eq!(w.networks[0].mac, "02:42:0a:02:64:0a");
    assert_eq!(ip_on(&lab, "dyn", "lannet").to_string(), "10.2.100.1");
    let kind = lab
        .exec(&c("web"), &["ip", "-d", "link", "show", "eth0"])
        .unwrap()
        .stdout_str();
    assert!(kind.contains("macvlan mode bridge"), "{kind}");
    // The LAN machine reaches it directly, as it reached pipework's address.
    let lan = Target::Node("lan".into());
    wait_http(&lab, &lan, "10.2.100.10:8080".parse().unwrap());
    reachable(&lab, &c("dyn"), "10.2.0.1".parse().unwrap());
    reachable(&lab, &c("dyn"), "10.2.100.10".parse().unwrap());
    let routes = lab.exec(&c("web"), &["ip", "route"]).unwrap().stdout_str();
    assert!(routes.contains("default via 10.2.0.1 dev eth0"), "{routes}");
    // `trace` does not follow a macvlan device's path yet, and says so instead of
    // giving a wrong verdict.
    let out = assert_cmd::Command::new(netlab::netlab_bin().unwrap())
        .args([
            "--lab",
            &lab_name("macvlan"),
            "trace",
            "--node",
            "lan",
            "10.2.100.10:8080",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "{err}");
    assert!(err.contains("macvlan interface"), "{err}");
}

#[test]
fn fixed_addresses_stay_across_restarts_and_stopped_containers_hold_none() {
    let lab = lab("restart");
    net(&lab, "appnet", &["--subnet", "10.80.0.0/24"]);
    let mut fixed = sleeper("fixed");
    let mut a = Attachment::new("appnet");
    a.ip = Some("10.80.0.50".parse().unwrap());
    fixed.networks.push(a);
    lab.run(&fixed).unwrap();
    lab.run(&on(sleeper("dynamic"), "appnet")).unwrap();
    assert_eq!(ip_on(&lab, "dynamic", "appnet").to_string(), "10.80.0.2");
    lab.stop("fixed", 1).unwrap();
    lab.stop("dynamic", 1).unwrap();
    let st = lab.inspect_network("appnet").unwrap();
    assert!(st.containers.iter().all(|m| m.ipv4.is_empty()), "{st:?}");
    // Someone takes the dynamic address meanwhile.
    lab.run(&on(sleeper("late"), "appnet")).unwrap();
    assert_eq!(ip_on(&lab, "late", "appnet").to_string(), "10.80.0.2");
    lab.start("fixed").unwrap();
    lab.start("dynamic").unwrap();
    assert_eq!(ip_on(&lab, "fixed", "appnet").to_string(), "10.80.0.50");
    assert_eq!(ip_on(&lab, "dynamic", "appnet").to_string(), "10.80.0.3");
    reachable(&lab, &c("late"), "10.80.0.50".parse().unwrap());
    reachable(&lab, &c("late"), "10.80.0.3".parse().unwrap());
}

/// The lab host's interfaces and the networks, to compare before and after a refusal.
fn footprint(lab: &Lab) -> (String, Vec<String>) {
    let links = lab
        .exec(&Target::Host, &["ip", "-br", "link"])
        .unwrap()
        .stdout_str();
    let mut links: Vec<&str> = links
        .lines()
        .map(|l| l.split_whitespace().next().unwrap_or(""))
        .collect();
    links.sort();
    let nets = lab
        .networks()
        .unwrap()
        .into_iter()
        .map(|n| n.name)
        .collect();
    (links.join(" "), nets)
}

fn refused(r: netlab::Result<impl std::fmt::Debug>, says: &str) {
    match r {
        Err(e) => assert!(e.to_string().contains(says), "{e} (wanted {says:?})"),
        Ok(v) => panic!("accepted, wanted an error with {says:?}: {v:?}"),
    }
}

#[test]
fn bad_input_is_refused_with_the_fix_and_nothing_is_half_made() {
    let mut spec = LabSpec::new(&lab_name("bad"));
    spec.uplink = Some(netlab::Uplink::parse("eth1=10.2.0.10/16").unwrap());
    spec.lan_nodes = vec![netlab::LanNode::parse("lan=10.2.0.1/16").unwrap()];
    let lab = Lab::create(&spec).unwrap();
    net(&lab, "appnet", &["--subnet", "10.80.0.0/24"]);
    lab.run(&on(sleeper("web"), "appnet")).unwrap();
    let before = footprint(&lab);
    let spec_of = |name: &str, driver: &str, subnets: &[&str], opts: &[&str]| {
        NetworkSpec::from_options(
            name,
            driver,
            &subnets.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            &[],
            &[],
            false,
            false,
            &opts.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            &[],
        )
    };
    refused(
        lab.create_network(&spec_of("x", "bridge", &["10.80.0.128/25"], &[]).unwrap()),
        "overlaps network appnet",
    );
    refused(
        lab.create_network(&spec_of("x", "bridge", &["172.17.9.0/24"], &[]).unwrap()),
        "overlaps the default network bridge",
    );
    refused(
        lab.create_network(&spec_of("x", "bridge", &["10.2.3.0/24"], &[]).unwrap()),
        "overlaps the lab's LAN",
    );
    refused(
        lab.create_network(&spec_of("appnet", "bridge", &[], &[]).unwrap()),
        "has a network of that name already",
    );
    refused(
        lab.create_network(&spec_of("x", "macvlan", &["10.3.0.0/16"], &["parent=eth7"]).unwrap()),
        "no interface of that name (it has: docker0, eth1)",
    );
    refused(
        NetworkSpec::from_options(
            "x",
            "bridge",
            &["10.81.0.0/24".into()],
            &[],
            &["10.82.0.1".into()],
            false,
            false,
            &[],
            &[],
        ),
        "no --subnet contains it",
    );
    refused(spec_of("x", "ipvlan", &[], &[]), "no ipvlan");
    refused(lab.remove_network("appnet"), "active endpoints (web)");
    refused(lab.remove_network("bridge"), "pre-defined network");
    refused(lab.remove_network("nope"), "no network of that name");
    refused(
        lab.connect_network("web", &Attachment::new("appnet")),
        "already connected",
    );
    refused(
        lab.connect_network("web", &Attachment::new("nope")),
        "no network of that name",
    );
    refused(lab.disconnect_network("bridge", "web"), "not connected");
    let mut alone = sleeper("alone");
    alone.networks.push(Attachment::new("none"));
    let st = lab.run(&alone).unwrap();
    assert!(st.networks.is_empty());
    let links = lab
        .exec(&c("alone"), &["ip", "-br", "link"])
        .unwrap()
        .stdout_str();
    assert_eq!(links.lines().count(), 1, "only lo: {links}");
    refused(
        lab.connect_network("alone", &Attachment::new("appnet")),
        "none network",
    );
    lab.rm("alone", true).unwrap();
    let mut x = sleeper("x");
    let mut a = Attachment::new("bridge");
    a.ip = Some("172.17.0.9".parse().unwrap());
    x.networks = vec![a];
    refused(lab.run(&x), "user defined networks only");
    let mut a = Attachment::new("appnet");
    a.ip = Some("10.99.0.9".parse().unwrap());
    x.networks = vec![a];
    refused(lab.run(&x), "outside network appnet's subnet 10.80.0.0/24");
    let mut a = Attachment::new("appnet");
    a.ip = Some(ip_on(&lab, "web", "appnet").to_string().parse().unwrap());
    x.networks = vec![a];
    refused(lab.run(&x), "already used by container web");
    x.networks = vec![Attachment::new("nope")];
    refused(lab.run(&x), "no network of that name");
    let mut linked = sleeper("y");
    linked.networks.push(Attachment::new("none"));
    linked.links.push(netlab::LinkSpec::parse("web:w").unwrap());
    refused(lab.run(&linked), "none network");
    // A legacy link from the default bridge to a container only on a user network.
    let mut z = sleeper("z");
    z.links.push(netlab::LinkSpec::parse("web:w").unwrap());
    refused(lab.run(&z), "does not belong to the default network");
    // Nothing was half-made: same interfaces, same networks, no container x or y.
    assert_eq!(footprint(&lab), before);
    assert!(matches!(
        lab.inspect("x"),
        Err(Error::UnknownContainer { .. })
    ));
    // And the lab still works: a valid network and container after all the refusals.
    net(&lab, "fine", &[]);
    lab.run(&on(sleeper("ok"), "fine")).unwrap();
    lab.disconnect_network("appnet", "web").unwrap();
    lab.remove_network("appnet").unwrap();
    assert_eq!(lab.prune_networks().unwrap(), Vec::<String>::new());
    lab.rm("ok", true).unwrap();
    assert_eq!(lab.prune_networks().unwrap(), ["fine"]);
}

/// `getent` in container `from` (glibc: `/etc/resolv.conf`, so the embedded DNS); the
/// addresses it printed, or `None` when the name did not resolve.
fn getent(lab: &Lab, from: &str, db: &str, name: &str) -> Option<Vec<String>> {
    let out = lab.exec(&c(from), &["getent", db, name]).unwrap();
    if out.code != 0 {
        return None;
    }
    let mut v: Vec<String> = out
        .stdout_str()
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(String::from))
        .collect();
    v.sort();
    v.dedup();
    Some(v)
}

fn v4(lab: &Lab, from: &str, name: &str) -> Option<Vec<String>> {
    getent(lab, from, "ahostsv4", name)
}

#[test]
fn the_embedded_dns_answers_names_and_aliases_and_follows_every_change() {
    let lab = lab("dns");
    net(
        &lab,
        "appnet",
        &[
            "--ipv6",
            "--subnet",
            "10.81.0.0/24",
            "--subnet",
            "fd00:81::/64",
        ],
    );
    net(&lab, "othernet", &["--subnet", "10.82.0.0/24"]);
    let mut db = sleeper("db");
    let mut a = Attachment::new("appnet");
    a.aliases.push("database".into());
    db.networks.push(a);
    let db_state = lab.run(&db).unwrap();
    lab.run(&on(sleeper("web"), "appnet")).unwrap();
    lab.run(&on(sleeper("x"), "othernet")).unwrap();
    lab.run(&sleeper("classic")).unwrap();
    // Docker's resolv.conf on a user-defined network.
    let resolv = lab
        .exec(&c("web"), &["cat", "/etc/resolv.conf"])
        .unwrap()
        .stdout_str();
    let servers: Vec<&str> = resolv
        .lines()
        .filter(|l| l.starts_with("nameserver"))
        .collect();
    assert_eq!(servers, ["nameserver 127.0.0.11"], "{resolv}");
    assert!(resolv.contains("ndots:0"), "{resolv}");
    // A and AAAA by name, alias, short ID; case does not matter.
    assert_eq!(v4(&lab, "web", "db").unwrap(), ["10.81.0.2"]);
    assert_eq!(v4(&lab, "web", "DataBase").unwrap(), ["10.81.0.2"]);
    assert_eq!(v4(&lab, "web", &db_state.id[..12]).unwrap(), ["10.81.0.2"]);
    assert_eq!(
        getent(&lab, "web", "ahostsv6", "db").unwrap(),
        ["fd00:81::2"]
    );
    // Both ways: the database resolves the web server too (what links could not do).
    assert_eq!(v4(&lab, "db", "web").unwrap(), ["10.81.0.3"]);
    // Names of other networks, and names outside the lab, do not resolve.
    assert_eq!(v4(&lab, "x", "db"), None);
    assert_eq!(v4(&lab, "web", "x"), None);
    assert_eq!(v4(&lab, "web", "example.org"), None);
    // Traffic by name works.
    reachable(&lab, &c("web"), "10.81.0.2".parse().unwrap());
    let ping = lab
        .exec(&c("web"), &["ping", "-c", "1", "-W", "2", "database"])
        .unwrap();
    assert_eq!(ping.code, 0, "{}", String::from_utf8_lossy(&ping.stderr));
    // A restart with another address is answered with the new one at once.
    lab.stop("db", 1).unwrap();
    assert_eq!(
        v4(&lab, "web", "db"),
        None,
        "a stopped container has no address"
    );
    lab.run(&on(sleeper("late"), "appnet")).unwrap();
    assert_eq!(v4(&lab, "web", "late").unwrap(), ["10.81.0.2"]);
    lab.start("db").unwrap();
    assert_eq!(v4(&lab, "web", "db").unwrap(), ["10.81.0.4"]);
    // Disconnect: gone at once; connect with another alias: there at once.
    lab.disconnect_network("appnet", "db").unwrap();
    assert_eq!(v4(&lab, "web", "db"), None);
    let mut back = Attachment::new("appnet");
    back.aliases.push("mongo".into());
    lab.connect_network("db", &back).unwrap();
    assert!(v4(&lab, "web", "mongo").is_some());
    assert_eq!(
        v4(&lab, "web", "database"),
        None,
        "the old alias went with the endpoint"
    );
    // A container on two networks is found on both, by each network's members.
    lab.connect_network("db", &Attachment::new("othernet"))
        .unwrap();
    let on_other = v4(&lab, "x", "db").unwrap();
    assert!(on_other[0].starts_with("10.82.0."), "{on_other:?}");
    // A link on a user-defined network is a name for the linking container only.
    let mut z = on(sleeper("z"), "appnet");
    z.links.push(netlab::LinkSpec::parse("web:wlink").unwrap());
    let zs = lab.run(&z).unwrap();
    assert!(
        zs.env.iter().all(|(k, _)| !k.starts_with("WLINK_")),
        "{:?}",
        zs.env
    );
    assert_eq!(v4(&lab, "z", "wlink").unwrap(), ["10.81.0.3"]);
    assert_eq!(v4(&lab, "web", "wlink"), None);
    // rm: gone at once.
    lab.rm("db", true).unwrap();
    assert_eq!(v4(&lab, "web", "mongo"), None);
    // The default bridge has no embedded DNS, as in Docker.
    let resolv = lab
        .exec(&c("classic"), &["cat", "/etc/resolv.conf"])
        .unwrap()
        .stdout_str();
    assert!(!resolv.contains("127.0.0.11"), "{resolv}");
    // ... until it joins a user-defined network: its resolv.conf switches to the embedded
    // DNS (as Docker's does), and back once it leaves.
    lab.connect_network("classic", &Attachment::new("appnet"))
        .unwrap();
    let web = v4(&lab, "classic", "web").expect("web resolves from the bridge's container");
    assert!(web[0].starts_with("10.81.0."), "{web:?}");
    lab.disconnect_network("appnet", "classic").unwrap();
    let resolv = lab
        .exec(&c("classic"), &["cat", "/etc/resolv.conf"])
        .unwrap()
        .stdout_str();
    assert!(!resolv.contains("127.0.0.11"), "{resolv}");
}

/// A DNS server for the LAN machine: answers every A query with 192.0.2.7 (the upstream
/// the embedded DNS forwards to; a stand-in for the LAN's resolver, not for netlab).
const UPSTREAM: &str = r#"
import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('10.2.0.1', 53))
while True:
    q, peer = s.recvfrom(512)
    end = 12
    while q[end]:
        end += q[end] + 1
    question = q[12:end + 5]
    head = q[:2] + struct.pack('>HHHHH', 0x8180, 1, 1, 0, 0)
    answer = b'\xc0\x0c' + struct.pack('>HHIH', 1, 1, 60, 4) + bytes([192, 0, 2, 7])
    s.sendto(head + question + answer, peer)
"#;

#[test]
fn names_outside_the_lab_are_forwarded_when_the_lab_says_so() {
    let mut spec = LabSpec::new(&lab_name("fwd"));
    spec.uplink = Some(netlab::Uplink::parse("eth1=10.2.0.10/16").unwrap());
    spec.lan_nodes = vec![netlab::LanNode::parse("lan=10.2.0.1/16").unwrap()];
    spec.dns_forward = vec!["10.2.0.1:53".parse().unwrap()];
    let lab = Lab::create(&spec).unwrap();
    let lan = Target::Node("lan".into());
    let argv = ["python3", "-c", UPSTREAM].map(String::from);
    lab.exec_detached(&lan, &argv, &netlab::ExecOptions::default())
        .unwrap();
    net(&lab, "appnet", &[]);
    lab.run(&on(sleeper("web"), "appnet")).unwrap();
    lab.run(&on(sleeper("db"), "appnet")).unwrap();
    // The LAN's server answers what the lab does not know (its first query may meet the
    // server still starting: wait with a deadline).
    wait_until(
        "the upstream answers through the lab",
        Duration::from_secs(10),
        || v4(&lab, "web", "printer.lan") == Some(vec!["192.0.2.7".to_string()]),
    );
    // The lab's own names are still the lab's.
    assert_eq!(v4(&lab, "web", "db").unwrap(), ["172.18.0.3"]);
}

/// PTR through the embedded DNS, as Docker answers it: an address of a container on the
/// asker's network gives `NAME.NETWORK` (its name, not its alias or short ID); an address
/// of another network is not the lab's (REFUSED, so no name).
#[test]
fn the_embedded_dns_answers_ptr_with_the_containers_name() {
    let lab = lab("dnsptr");
    net(&lab, "appnet", &["--subnet", "10.83.0.0/24"]);
    net(&lab, "othernet", &["--subnet", "10.84.0.0/24"]);
    let mut db = sleeper("db");
    let mut a = Attachment::new("appnet");
    a.aliases.push("database".into());
    db.networks.push(a);
    lab.run(&db).unwrap();
    lab.run(&on(sleeper("web"), "appnet")).unwrap();
    lab.run(&on(sleeper("x"), "othernet")).unwrap();
    let out = lab
        .exec(&c("web"), &["getent", "hosts", "10.83.0.2"])
        .unwrap();
    assert_eq!(out.code, 0, "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        out.stdout_str().split_whitespace().collect::<Vec<_>>(),
        ["10.83.0.2", "db.appnet"]
    );
    let out = lab
        .exec(&c("web"), &["getent", "hosts", "10.84.0.2"])
        .unwrap();
    assert_ne!(out.code, 0, "{}", out.stdout_str());
}

/// The network commands through the CLI, in Docker's shapes and exit codes.
#[test]
fn the_network_commands_speak_dockers_cli() {
    let name = lab_name("cli");
    let _lab = lab("cli");
    let run = |args: &[&str]| {
        let out = assert_cmd::Command::new(netlab::netlab_bin().unwrap())
            .arg("--lab")
            .arg(&name)
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, id, _) = run(&[
        "network",
        "create",
        "--subnet",
        "10.90.0.0/24",
        "--label",
        "team=physics",
        "appnet",
    ]);
    assert_eq!(code, 0);
    assert_eq!(id.trim().len(), 64, "the full ID: {id}");
    let (_, ls, _) = run(&["network", "ls"]);
    let lines: Vec<&str> = ls.lines().collect();
    assert_eq!(lines[0], "NETWORK ID     NAME      DRIVER    SCOPE");
    let names: Vec<&str> = lines[1..]
        .iter()
        .map(|l| l.split_whitespace().nth(1).unwrap())
        .collect();
    assert_eq!(names, ["appnet", "bridge", "host", "none"], "by name: {ls}");
    assert!(
        ls.contains(&format!("{}   appnet    bridge    local", &id.trim()[..12])),
        "{ls}"
    );
    let (_, q, _) = run(&["network", "ls", "-q", "--filter", "name=app"]);
    assert_eq!(q.trim(), &id.trim()[..12]);
    let (_, f, _) = run(&[
        "network",
        "ls",
        "--format",
        "{{.Name}} {{.Driver}} {{.Labels}}",
        "-f",
        "driver=null",
    ]);
    assert_eq!(f, "none null \n");
    let (_, subnet, _) = run(&[
        "network",
        "inspect",
        "-f",
        "{{range .IPAM.Config}}{{.Subnet}}{{end}} {{.Labels.team}}",
        "appnet",
    ]);
    assert_eq!(subnet, "10.90.0.0/24 physics\n");
    let (code, json, _) = run(&["network", "inspect", "appnet", "bridge"]);
    assert_eq!(code, 0);
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        doc[1]["Options"]["com.docker.network.bridge.name"],
        "docker0"
    );
    assert_eq!(doc[0]["IPAM"]["Config"][0]["Subnet"], "10.90.0.0/24");
    run(&[
        "run",
        "-d",
        "--name",
        "web",
        "--network",
        "appnet",
        "--network-alias",
        "www",
        "sleep",
        "1000",
    ]);
    run(&["run", "-d", "--name", "old", "sleep", "1000"]);
    let (code, _, _) = run(&["network", "connect", "--alias", "legacy", "appnet", "old"]);
    assert_eq!(code, 0);
    let (_, nets, _) = run(&[
        "ps",
        "--format",
        "{{.Names}} {{.Networks}}",
        "--filter",
        "network=appnet",
    ]);
    assert_eq!(nets, "old appnet,bridge\nweb appnet\n");
    let (_, members, _) = run(&[
        "network",
        "inspect",
        "-f",
        "{{range .Containers}}{{.Name}} {{.IPv4Address}};{{end}}",
        "appnet",
    ]);
    // A map keyed by container ID: its order is the IDs'.
    let mut members: Vec<&str> = members
        .trim()
        .split(';')
        .filter(|m| !m.is_empty())
        .collect();
    members.sort_unstable();
    assert_eq!(members, ["old 10.90.0.3/24", "web 10.90.0.2/24"]);
    let (_, aliases, _) = run(&[
        "inspect",
        "-f",
        "{{range $k, $v := .NetworkSettings.Networks}}{{$k}}={{$v.Aliases}} {{end}}",
        "old",
    ]);
    assert!(aliases.starts_with("appnet=[legacy "), "{aliases}");
    // Errors: exit 1 for `network`, as Docker; the message names the fix.
    let (code, _, err) = run(&["network", "rm", "appnet"]);
    assert_eq!(code, 1);
    assert!(err.contains("active endpoints (web, old)"), "{err}");
    let (code, _, err) = run(&["network", "create", "--subnet", "10.90.0.0/16", "x"]);
    assert_eq!(
        (code, err.contains("overlaps network appnet")),
        (1, true),
        "{err}"
    );
    let (code, _, err) = run(&["network", "create", "-d", "ipvlan", "x"]);
    assert_eq!((code, err.contains("no ipvlan")), (1, true), "{err}");
    let (code, _, err) = run(&[
        "run",
        "-d",
        "--name",
        "y",
        "--ip",
        "172.17.0.50",
        "sleep",
        "1",
    ]);
    assert_eq!(
        (code, err.contains("user defined networks only")),
        (125, true),
        "{err}"
    );
    let (code, _, err) = run(&["network", "inspect", "nope"]);
    assert_eq!((code, err.trim()), (1, "Error: No such network: nope"));
    run(&["network", "disconnect", "appnet", "old"]);
    run(&["rm", "-f", "web"]);
    run(&["network", "create", "spare"]);
    let (code, out, _) = run(&["network", "prune", "-f"]);
    assert_eq!(code, 0);
    assert_eq!(out, "Deleted Networks:\nappnet\nspare\n\n");
}
