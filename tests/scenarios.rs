//! The article end to end, on every setup: each scenario file is brought up in a lab of
//! its own (in parallel), the three physicists are posted over that setup's own path, and
//! every web server must print the article's exact lines. A second test replays the
//! article's command sequence with the `netlab` CLI.
//!
//! Needs root, or unprivileged user namespaces, and a MongoDB-compatible server from
//! `scripts/mongo-server` (CI installs it). The binaries the labs run (`netlab`,
//! `birthday-service`) are built here first with the same cargo.

mod common;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use common::{bin_dir, repo};
use netlab::scenario::{self, Scenario};
use netlab::{Lab, Target};
use testkit::poll::wait_until;

const PHYSICISTS: [&str; 3] = [
    r#"{"name":"James Clerk Maxwell","birthday":"13.06.1831"}"#,
    r#"{"name":"Albert Einstein","birthday":"14.03.1879"}"#,
    r#"{"name":"Werner Heisenberg","birthday":"05.12.1901"}"#,
];

/// The article's output, line by line.
const EXPECTED: [&str; 3] = [
    "name = James Clerk Maxwell, birthday = 13.06.1831",
    "name = Albert Einstein, birthday = 14.03.1879",
    "name = Werner Heisenberg, birthday = 05.12.1901",
];

/// A scenario file with the freshly built binaries first on its containers' PATH.
fn load(name: &str) -> Scenario {
    let mut s = scenario::load(&repo().join("scenarios").join(format!("{name}.toml")))
        .expect("valid scenario");
    s.path.insert(0, bin_dir().to_path_buf());
    s
}

fn up(name: &str) -> (Lab, Scenario) {
    up_as(name, name)
}

/// [`up`] with a lab named after `tag`: tests that run at once need labs of their own.
fn up_as(name: &str, tag: &str) -> (Lab, Scenario) {
    let s = load(name);
    let lab_name = format!("s{}-{tag}", std::process::id());
    let lab =
        scenario::up(&s, Some(&lab_name), &mut |_| {}).unwrap_or_else(|e| panic!("{name}: {e}"));
    (lab, s)
}

/// One HTTP/1.0 exchange over a connection opened from `from`: (status, body).
fn http(
    lab: &Lab,
    from: &Target,
    addr: SocketAddr,
    method: &str,
    body: Option<&str>,
) -> (u16, String) {
    http_with(lab, from, addr, method, body, &[])
}

/// [`http`] with more header lines (`Idempotency-Key: ...`).
fn http_with(
    lab: &Lab,
    from: &Target,
    addr: SocketAddr,
    method: &str,
    body: Option<&str>,
    headers: &[&str],
) -> (u16, String) {
    let mut s = lab
        .connect_tcp(from, addr)
        .unwrap_or_else(|e| panic!("connect to {addr} from {from:?}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut req = format!("{method} / HTTP/1.0\r\nHost: {addr}\r\n");
    for h in headers {
        req.push_str(h);
        req.push_str("\r\n");
    }
    if let Some(b) = body {
        req.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            b.len()
        ));
    }
    req.push_str("\r\n");
    req.push_str(body.unwrap_or(""));
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, body.to_string())
}

fn post(lab: &Lab, from: &Target, addr: SocketAddr, doc: &str) {
    let (status, body) = http(lab, from, addr, "POST", Some(doc));
    assert_eq!(status, 201, "POST {doc} to {addr} from {from:?}: {body}");
}

fn assert_article_lines(lab: &Lab, from: &Target, addr: SocketAddr) {
    let (status, body) = http(lab, from, addr, "GET", None);
    assert_eq!(status, 200, "GET {addr} from {from:?}: {body}");
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(lines, EXPECTED, "GET {addr} from {from:?}");
}

fn ip(lab: &Lab, container: &str) -> Ipv4Addr {
    lab.inspect(container).unwrap().ip
}

fn at(ip: Ipv4Addr) -> SocketAddr {
    SocketAddr::new(ip.into(), 8080)
}

fn host() -> Target {
    Target::Host
}

fn node(n: &str) -> Target {
    Target::Node(n.into())
}

const HOST_LAN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::new(10, 2, 0, 10)), 8080);
const PIPEWORK: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::new(10, 2, 0, 11)), 8080);
/// The web server's fixed address on the macvlan network (scenarios/macvlan.toml).
const MACVLAN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::new(10, 2, 100, 10)), 8080);

fn c(name: &str) -> Target {
    Target::Container(name.into())
}

#[test]
fn link_three_web_servers_on_one_database() {
    let (lab, _) = up("link");
    let servers = ["webserver1", "webserver2", "webserver3"];
    // The article's getWebserverIP + curl, from the lab host: one physicist per server.
    for (doc, w) in PHYSICISTS.iter().zip(servers) {
        post(&lab, &host(), at(ip(&lab, w)), doc);
    }
    for w in servers {
        assert_article_lines(&lab, &host(), at(ip(&lab, w)));
    }
}

#[test]
fn port_published_on_the_host() {
    let (lab, _) = up("port");
    let local = SocketAddr::from(([127, 0, 0, 1], 8080));
    post(&lab, &node("lan"), HOST_LAN, PHYSICISTS[0]);
    post(&lab, &host(), local, PHYSICISTS[1]);
    post(&lab, &node("lan"), HOST_LAN, PHYSICISTS[2]);
    assert_article_lines(&lab, &node("lan"), HOST_LAN);
    assert_article_lines(&lab, &host(), local);
    assert_article_lines(&lab, &host(), at(ip(&lab, "webserver")));
}

#[test]
fn pipework_static_address_on_the_bridge() {
    let (lab, _) = up("pipework");
    for doc in PHYSICISTS {
        post(&lab, &node("lan"), PIPEWORK, doc);
    }
    assert_article_lines(&lab, &node("lan"), PIPEWORK);
    assert_article_lines(&lab, &host(), at(ip(&lab, "webserver")));
}

#[test]
fn lan_containers_on_the_hosts_network() {
    let (lab, _) = up("lan");
    let (w1, w2) = (ip(&lab, "webserver1"), ip(&lab, "webserver2"));
    assert!(
        w1.octets()[..3] == [10, 2, 1],
        "dynamic addresses come from --ip-range: {w1}"
    );
    post(&lab, &node("lan"), at(w1), PHYSICISTS[0]);
    post(&lab, &node("lan"), at(w2), PHYSICISTS[1]);
    post(&lab, &node("lan"), HOST_LAN, PHYSICISTS[2]);
    for a in [at(w1), at(w2), HOST_LAN] {
        assert_article_lines(&lab, &node("lan"), a);
    }
}

#[test]
fn article_the_original_demo() {
    let (lab, _) = up("article");
    let web = at(ip(&lab, "webserver"));
    post(&lab, &host(), web, PHYSICISTS[0]);
    post(&lab, &node("laptop"), HOST_LAN, PHYSICISTS[1]);
    post(&lab, &node("laptop"), PIPEWORK, PHYSICISTS[2]);
    assert_article_lines(&lab, &host(), web);
    assert_article_lines(&lab, &node("laptop"), HOST_LAN);
    assert_article_lines(&lab, &node("laptop"), PIPEWORK);
}

/// The article on a user-defined network: no links, the web servers are told the name
/// `mongodb` and find it through the network's embedded DNS; the physicists are posted
/// through the three web servers from the lab host, and read back from it and, by name,
/// from a container on the network.
#[test]
fn networks_three_web_servers_find_mongodb_by_name() {
    let (lab, _) = up("networks");
    for w in WEB {
        let state = lab.inspect(w).unwrap();
        let networks: Vec<&str> = state.networks.iter().map(|e| e.network.as_str()).collect();
        assert_eq!(networks, ["appnet"], "{w}");
        assert!(state.links.is_empty(), "{w}: {:?}", state.links);
        // No link variables, neither in its record nor in what its processes see.
        let env = lab.exec(&c(w), &["env"]).unwrap();
        assert_eq!(env.code, 0, "{w}: env: {}", env.stdout_str());
        let link_vars: Vec<String> = state
            .env
            .iter()
            .map(|(k, _)| k.clone())
            .chain(env.stdout_str().lines().map(|l| l.to_string()))
            .filter(|v| v.starts_with("MONGO"))
            .collect();
        assert!(
            link_vars.is_empty(),
            "{w} has link variables: {link_vars:?}"
        );
    }
    for (doc, w) in PHYSICISTS.iter().zip(WEB) {
        post(&lab, &host(), at(ip(&lab, w)), doc);
    }
    for w in WEB {
        assert_article_lines(&lab, &host(), at(ip(&lab, w)));
    }
    // From a container of the network, by the web servers' names.
    for w in WEB {
        let out = lab
            .exec(
                &c("mongodb"),
                &["curl", "-sf", "-m", "10", &format!("http://{w}:8080/")],
            )
            .unwrap();
        assert_eq!(out.code, 0, "curl http://{w}:8080/ from mongodb: {out:?}");
        assert_eq!(
            out.stdout_str().lines().collect::<Vec<_>>(),
            EXPECTED,
            "{w}"
        );
    }
}

/// The web server on the LAN through macvlan, at the fixed address the file gives it: the
/// LAN machine posts the physicists and reads them back there, as on pipework's address;
/// the web server reaches MongoDB (on the same macvlan network) by name.
#[test]
fn macvlan_web_server_on_the_lan() {
    let (lab, _) = up("macvlan");
    let web = lab.inspect("webserver").unwrap();
    assert_eq!(SocketAddr::new(web.ip.into(), 8080), MACVLAN);
    assert_eq!(web.networks[0].network, "lannet");
    assert_eq!(web.networks[0].host_veth, "", "a macvlan device, no veth");
    // The first frame a LAN machine sends right after bring-up may be lost (it resolves
    // the container's MAC first): retry until a deadline.
    wait_until(
        "the LAN machine to reach the web server",
        Duration::from_secs(10),
        || {
            lab.connect_tcp(&node("lan"), MACVLAN)
                .map(|mut s| {
                    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                    let _ = s.write_all(b"GET /readyz HTTP/1.0\r\n\r\n");
                    let mut head = String::new();
                    let _ = s.read_to_string(&mut head);
                    head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200")
                })
                .unwrap_or(false)
        },
    );
    for doc in PHYSICISTS {
        post(&lab, &node("lan"), MACVLAN, doc);
    }
    assert_article_lines(&lab, &node("lan"), MACVLAN);
    // As the file says: the lab host, the macvlan parent's owner, cannot reach it.
    let from_host = lab
        .exec(
            &host(),
            &["curl", "-s", "-m", "1", &format!("http://{MACVLAN}/")],
        )
        .unwrap();
    assert_ne!(
        from_host.code, 0,
        "the lab host reached a macvlan container"
    );
}

/// The article's commands, typed into the `netlab` CLI.
#[test]
fn the_articles_command_sequence_with_the_cli() {
    let bins = bin_dir();
    let netlab_bin = bins.join("netlab");
    let lab_name = format!("s{}-cli", std::process::id());
    // Owned by this test process: the lab ends with it, however it ends.
    let lab = Lab::create(&netlab::LabSpec::new(&lab_name)).unwrap();
    let cli = |args: &[&str]| {
        let mut c = assert_cmd::Command::new(&netlab_bin);
        c.env("NETLAB_LAB", &lab_name).args(args);
        c
    };
    let stdout = |mut c: assert_cmd::Command| {
        String::from_utf8(c.assert().success().get_output().stdout.clone()).unwrap()
    };
    let (script, mongod) = scenario::mongo_server(&repo().join("scenarios/link.toml")).unwrap();
    let mongod_env = format!("NETLAB_MONGOD={}", mongod.display());
    // > docker run -d -name mongodb docker-network-demo/mongodb:latest
    stdout(cli(&[
        "run",
        "-d",
        "--name",
        "mongodb",
        "--expose",
        "27017",
        "-e",
        &mongod_env,
        "--",
        &script.display().to_string(),
        "run",
        "--listen",
        "0.0.0.0:27017",
        "--data",
        "/dev/shm/mongodb",
    ]));
    // > docker run -d -name webserverN -link mongodb:mongo docker-network-demo/webserver:latest
    let path = format!(
        "PATH={}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        bins.display()
    );
    for w in ["webserver1", "webserver2", "webserver3"] {
        stdout(cli(&[
            "run",
            "-d",
            "--name",
            w,
            "--link",
            "mongodb:mongo",
            "-e",
            &path,
            "birthday-service 8080 $MONGO_PORT_27017_TCP_ADDR $MONGO_PORT_27017_TCP_PORT",
        ]));
    }
    // function getWebserverIP() { docker inspect $1 | grep IPAddress | awk '{print $2}' | tr -d '",\n'; }
    let get_ip = |w: &str| {
        let pipeline = format!(
            "{} inspect {w} | grep IPAddress | awk '{{print $2}}' | tr -d '\",\\n'",
            netlab_bin.display()
        );
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(pipeline)
            .env("NETLAB_LAB", &lab_name)
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let ips: Vec<String> = ["webserver1", "webserver2", "webserver3"]
        .map(get_ip)
        .to_vec();
    for ip in &ips {
        assert!(
            ip.parse::<Ipv4Addr>().is_ok(),
            "the pipeline prints exactly the address: {ip:?}"
        );
        // Wait until the web server answers and reaches MongoDB through its link.
        let url = format!("http://{ip}:8080/readyz");
        wait_until(
            &format!("{url} to be ready"),
            Duration::from_secs(60),
            || {
                let curl = [
                    "exec",
                    "--host",
                    "--",
                    "curl",
                    "-sf",
                    "-o",
                    "/dev/null",
                    &url,
                ];
                cli(&curl).output().unwrap().status.success()
            },
        );
    }
    // > curl -X POST -H "Content-Type: application/json" -d '{...}' http://$(getWebserverIP webserverN):8080
    for (doc, ip) in PHYSICISTS.iter().zip(&ips) {
        stdout(cli(&[
            "exec",
            "--host",
            "--",
            "curl",
            "-sf",
            "-X",
            "POST",
            "-H",
            "Content-Type: application/json",
            "-d",
            doc,
            &format!("http://{ip}:8080"),
        ]));
    }
    // > curl http://$(getWebserverIP webserver1):8080
    let out = stdout(cli(&[
        "exec",
        "--host",
        "--",
        "curl",
        "-sf",
        &format!("http://{}:8080", ips[0]),
    ]));
    assert_eq!(out.lines().collect::<Vec<_>>(), EXPECTED);
    drop(lab);
}

// ------------------------------------------------------------------ the article's lab under faults

/// One HTTP exchange as [`http`] does, with how long the answer took.
fn timed(lab: &Lab, addr: SocketAddr, method: &str, body: Option<&str>) -> (u16, String, Duration) {
    let t = std::time::Instant::now();
    let (status, body) = http(lab, &host(), addr, method, body);
    (status, body, t.elapsed())
}

const WEB: [&str; 3] = ["webserver1", "webserver2", "webserver3"];

/// The web servers cut off from MongoDB answer 503, soon (the service's promise: within
/// 2 s), and keep running; healed, they answer 200 again without a restart, and every
/// document that got a 201 is there.
#[test]
fn partitioned_from_mongodb_the_web_servers_answer_503_and_recover_when_healed() {
    let (lab, _) = up_as("link", "partition");
    post(&lab, &host(), at(ip(&lab, WEB[0])), PHYSICISTS[0]);
    let cut = lab
        .fault(&netlab::FaultSpec::partition(&WEB, &["mongodb"]))
        .unwrap();
    for w in WEB {
        for (method, body) in [("GET", None), ("POST", Some(PHYSICISTS[1]))] {
            let (status, text, took) = timed(&lab, at(ip(&lab, w)), method, body);
            assert_eq!(status, 503, "{method} {w} during the partition: {text}");
            assert!(
                took < Duration::from_secs(2),
                "{method} {w}: 503 after {took:?}"
            );
        }
        let state = lab.inspect(w).unwrap();
        assert_eq!(state.status, netlab::ContainerStatus::Running, "{w}");
        assert_eq!(state.restart_count, 0);
    }
    let pids: Vec<i32> = WEB.iter().map(|w| lab.inspect(w).unwrap().pid).collect();
    cut.heal().unwrap();
    for w in WEB {
        wait_until(
            &format!("{w} to answer 200 after the heal"),
            Duration::from_secs(2),
            || http(&lab, &host(), at(ip(&lab, w)), "GET", None).0 == 200,
        );
    }
    let after: Vec<i32> = WEB.iter().map(|w| lab.inspect(w).unwrap().pid).collect();
    assert_eq!(pids, after, "no web server was restarted");
    // The 201 before the partition is there (a POST answered 503 may or may not be: the
    // service said so in its answer).
    post(&lab, &host(), at(ip(&lab, WEB[1])), PHYSICISTS[2]);
    let (status, body) = http(&lab, &host(), at(ip(&lab, WEB[2])), "GET", None);
    assert_eq!(status, 200);
    for line in [EXPECTED[0], EXPECTED[2]] {
        assert!(body.lines().any(|l| l == line), "{line} missing: {body}");
    }
}

/// With 20% of the frames between a web server and MongoDB lost (both ways, seeded), the
/// article's three POSTs and its GET still succeed, with a client that does what the
/// service tells it: TCP retransmits, and when a segment is lost so often that an
/// operation outlasts the service's patience, its 503 says the outcome is unknown and to
/// retry with the same `Idempotency-Key`, which stores nothing twice. Then GETs go on until
/// the emulator has lost frames of that traffic, each answering the article exactly.
#[test]
fn twenty_percent_loss_to_mongodb_still_serves_the_article() {
    let (lab, _) = up_as("link", "loss");
    let _lossy = lab
        .fault(
            &netlab::FaultSpec::loss(WEB[0], 0.2)
                .to(&["mongodb"])
                .seed(7),
        )
        .unwrap();
    let web = at(ip(&lab, WEB[0]));
    let mut retries = 0;
    for (i, doc) in PHYSICISTS.iter().enumerate() {
        let key = format!("Idempotency-Key: physicist-{i}");
        wait_until(
            &format!("POST {doc} to answer 201"),
            Duration::from_secs(60),
            || {
                let (status, body) = http_with(&lab, &host(), web, "POST", Some(doc), &[&key]);
                match status {
                    201 => true,
                    503 => {
                        retries += 1;
                        false
                    }
                    _ => panic!("POST {doc}: {status} {body}"),
                }
            },
        );
    }
    let lost = || {
        lab.faults().unwrap()[0]
            .counters
            .expect("an impairment has counters")
            .lost
    };
    let mut gets = 0;
    wait_until(
        "the emulator to lose frames",
        Duration::from_secs(120),
        || {
            let (status, body) = http(&lab, &host(), web, "GET", None);
            gets += 1;
            match status {
                200 => assert_eq!(body.lines().collect::<Vec<_>>(), EXPECTED),
                503 => retries += 1,
                _ => panic!("GET: {status} {body}"),
            }
            lost() > 0
        },
    );
    eprintln!(
        "20% loss: {} frames lost; {gets} GETs; {retries} answers of 503 retried",
        lost()
    );
}

/// With MongoDB 300 ms away from a web server, a GET through it takes at least 300 ms and
/// still succeeds; the other web servers are as fast as before.
#[test]
fn three_hundred_ms_to_mongodb_slows_a_get_and_it_still_succeeds() {
    let (lab, _) = up_as("link", "delay");
    post(&lab, &host(), at(ip(&lab, WEB[1])), PHYSICISTS[0]);
    let _slow = lab
        .fault(
            &netlab::FaultSpec::delay(WEB[0], Duration::from_millis(300))
                .to(&["mongodb"])
                .direction(netlab::Direction::Egress),
        )
        .unwrap();
    let (status, body, took) = timed(&lab, at(ip(&lab, WEB[0])), "GET", None);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body.lines().next(), Some(EXPECTED[0]));
    assert!(took >= Duration::from_millis(300), "{took:?}");
    let (status, _, other) = timed(&lab, at(ip(&lab, WEB[1])), "GET", None);
    assert_eq!(status, 200);
    assert!(
        other < Duration::from_millis(300),
        "webserver2 is not delayed: {other:?}"
    );
}

/// A scenario file's `[[fault]]`s are applied once its services are ready: webserver1 is
/// 300 ms from MongoDB, webserver2 loses 20% of its frames with it, webserver3 is healthy;
/// all three still serve the article.
#[test]
fn a_scenario_with_faults_brings_them_up_after_its_services() {
    let (lab, _) = up("faults");
    let names: Vec<String> = lab.faults().unwrap().into_iter().map(|f| f.name).collect();
    assert_eq!(names, ["slow-database", "lossy-database"]);
    for (doc, w) in PHYSICISTS.iter().zip(WEB) {
        post(&lab, &host(), at(ip(&lab, w)), doc);
    }
    for w in WEB {
        assert_article_lines(&lab, &host(), at(ip(&lab, w)));
    }
    let (_, _, slow) = timed(&lab, at(ip(&lab, WEB[0])), "GET", None);
    assert!(slow >= Duration::from_millis(300), "{slow:?}");
}

/// The link scenario with its MongoDB outside the lab, as a test harness has it: started
/// by testkit (through testcontainers with `NETLAB_MONGO=docker`, which CI's Docker step
/// sets, with the FerretDB image it builds; otherwise the machine's own server on
/// loopback), and reached by the web servers as `mongodb:27017` through the link, where
/// the lab's `mongodb` container listens and this process relays ([`Lab::forward`]).
#[test]
fn link_with_mongodb_outside_the_lab_through_a_forward() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // testcontainers removes its container on drop, from within a runtime.
    let _in_runtime = rt.enter();
    let mongo = rt
        .block_on(testkit::MongoServer::start())
        .unwrap_or_else(|e| panic!("a MongoDB-compatible server for this test: {e}"));
    eprintln!(
        "MongoDB outside the lab: {} ({})",
        mongo.addr(),
        mongo.binary().display()
    );
    let mut s = load("link");
    let db = &mut s.containers[0];
    assert_eq!(db.spec.name, "mongodb");
    db.service = None;
    db.ready = None;
    db.spec.command = netlab::CommandSpec::Exec(vec!["sleep".into(), "infinity".into()]);
    // The web servers' readiness needs the database, which the forward brings after `up`.
    for w in &mut s.containers[1..] {
        w.ready = None;
    }
    let lab_name = format!("s{}-outside", std::process::id());
    let lab = scenario::up(&s, Some(&lab_name), &mut |_| {}).unwrap();
    let _forward = lab
        .forward(
            &Target::Container("mongodb".into()),
            "0.0.0.0:27017".parse().unwrap(),
            mongo.addr(),
        )
        .unwrap();
    for w in WEB {
        let ready = SocketAddr::new(ip(&lab, w).into(), 8080);
        wait_until(
            &format!("{w} to reach MongoDB"),
            Duration::from_secs(30),
            || {
                let Ok(mut c) = lab.connect_tcp(&host(), ready) else {
                    return false;
                };
                let _ = c.set_read_timeout(Some(Duration::from_secs(5)));
                let _ = c.write_all(b"GET /readyz HTTP/1.0\r\n\r\n");
                let mut head = String::new();
                let _ = c.read_to_string(&mut head);
                head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200")
            },
        );
    }
    for (doc, w) in PHYSICISTS.iter().zip(WEB) {
        post(&lab, &host(), at(ip(&lab, w)), doc);
    }
    for w in WEB {
        assert_article_lines(&lab, &host(), at(ip(&lab, w)));
    }
}
