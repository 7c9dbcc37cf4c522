//! `netlab graph`: the pictures of scenario files and of running labs, `--svg` through
//! Graphviz, and the committed pictures in docs/pictures, which must match what the
//! command prints now (regenerate them with `scripts/pictures`).
//!
//! Labs here are created through the library and owned by the test process, so they end
//! with it even if it is killed.

mod common;

use common::stdout;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use netlab::graph::{self, EdgeKind, NodeKind};
use netlab::{Lab, LabSpec};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn scenario_file(name: &str) -> PathBuf {
    root().join("scenarios").join(format!("{name}.toml"))
}

fn netlab() -> Command {
    let mut c = Command::cargo_bin("netlab").unwrap();
    c.env_remove("NETLAB_LAB").env_remove("RUST_LOG");
    c
}

/// Runs a command that must fail; its standard error.
fn failure(c: &mut Command) -> String {
    let out = c.output().unwrap();
    assert!(
        !out.status.success(),
        "{c:?} succeeded: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stderr).unwrap()
}

fn assert_contains(text: &str, wanted: &[&str]) {
    for w in wanted {
        assert!(text.contains(w), "no {w:?} in:\n{text}");
    }
}

fn lab_name(tag: &str) -> String {
    format!("g{}{tag}", std::process::id())
}

#[test]
fn the_articles_scenario_in_both_formats() {
    let file = scenario_file("article");
    let dot = stdout(netlab().arg("graph").arg(&file));
    assert!(dot.starts_with("digraph netlab {"), "{dot}");
    assert_contains(
        &dot,
        &[
            r#"c_webserver -> c_mongodb [label="mongo", style=dashed]"#,
            r#"c_webserver -> br_docker0 [label="eth1 ↔ vpw"#,
            r#"\n10.2.0.11/16", dir=none]"#,
            r#"p_webserver_8080_tcp [label="0.0.0.0:8080 → webserver:8080""#,
            r#"c_webserver -> p_webserver_8080_tcp [label="DNAT""#,
            r#"n_laptop [label="laptop\n10.2.0.1/16""#,
            r#"br_docker0 -> uplink [label="attached""#,
            r#"uplink [label="eth1\nno address, a port of docker0""#,
            r#"uplink -> lan_switch [label="eth1 ↔ uplink""#,
            r#"c_mongodb [label="mongodb\ndynamic in 10.2.1.0/24"#,
        ],
    );
    let mermaid = stdout(
        netlab()
            .arg("graph")
            .arg(&file)
            .args(["--format", "mermaid"]),
    );
    assert!(
        mermaid.starts_with("---\ntitle: \"scenario article.toml\"\n---\nflowchart LR\n"),
        "{mermaid}"
    );
    assert_contains(
        &mermaid,
        &[
            "c_webserver -.->|mongo| c_mongodb",
            "<br/>10.2.0.11/16\"| br_docker0",
            "p_webserver_8080_tcp[/\"0.0.0.0:8080 → webserver:8080\"/]",
            "p_webserver_8080_tcp -->|DNAT| c_webserver",
            "n_laptop(\"laptop<br/>10.2.0.1/16\")",
            "br_docker0 ===|attached| uplink",
            "uplink([\"eth1<br/>no address, a port of docker0\"])",
            "subgraph lan[\"simulated LAN\"]",
        ],
    );
}

#[test]
fn a_running_lab_is_drawn_with_its_real_addresses() {
    let lab = Lab::create(&LabSpec::new(&lab_name("run"))).unwrap();
    let name = lab.name().to_string();
    let cli = |args: &[&str]| {
        let mut c = netlab();
        c.args(["--lab", &name]).args(args);
        stdout(&mut c)
    };
    cli(&[
        "run", "-d", "--name", "a", "--expose", "80", "sleep", "1000",
    ]);
    cli(&[
        "run", "-d", "--name", "b", "--link", "a:db", "-p", "8080:80", "sleep", "1000",
    ]);
    cli(&["pipework", "docker0", "-i", "eth1", "b", "10.9.0.5/24"]);
    let a = lab.inspect("a").unwrap();
    let b = lab.inspect("b").unwrap();
    assert_ne!(a.ip, b.ip);

    let dot = cli(&["graph"]);
    let a_label = format!(r#"c_a [label="a\n{}/{}\nexpose 80/tcp""#, a.ip, a.prefix);
    // A published port is exposed too, as in Docker.
    let b_label = format!(r#"c_b [label="b\n{}/{}\nexpose 80/tcp""#, b.ip, b.prefix);
    let a_veth = format!(r#"c_a -> br_docker0 [label="eth0 ↔ {}""#, a.host_veth);
    let b_pipework = format!(
        r#"c_b -> br_docker0 [label="eth1 ↔ {}\n10.9.0.5/24""#,
        b.pipework[0].host_ifname
    );
    assert_contains(
        &dot,
        &[
            &format!(r#"label="lab {name}""#),
            &a_label,
            &b_label,
            &a_veth,
            &b_pipework,
            r#"c_b -> c_a [label="db", style=dashed]"#,
            r#"p_b_80_tcp [label="0.0.0.0:8080 → b:80""#,
            r#"br_docker0 [label="docker0\n172.17.0.1/16""#,
        ],
    );
    assert!(!dot.contains("dynamic in"), "{dot}");
    assert!(!dot.contains("uplink"), "this lab has none: {dot}");
    // The command draws exactly what the library draws from the lab's own answers.
    let t = graph::from_lab(&lab.info().unwrap(), &lab.ps(true).unwrap());
    assert_eq!(dot, graph::to_dot(&t));

    let mermaid = cli(&["graph", "--format", "mermaid"]);
    assert_eq!(mermaid, graph::to_mermaid(&t));
    assert_contains(
        &mermaid,
        &[
            &format!("c_a[\"a<br/>{}/{}<br/>expose 80/tcp\"]", a.ip, a.prefix),
            "c_b -.->|db| c_a",
            "p_b_80_tcp -->|DNAT| c_b",
        ],
    );
}

/// A scenario drawn before it runs and the lab it brings up differ only in the addresses
/// that the lab hands out: the interface names the picture predicts are the real ones.
#[test]
fn a_scenario_and_its_running_lab_draw_alike() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mini.toml");
    std::fs::write(
        &file,
        r#"
[lab]
bip = "10.7.0.1/16"
ip-range = "10.7.1.0/24"

[[container]]
name = "db"
command = "sleep 1000"
expose = ["5432"]

[[container]]
name = "web"
command = "sleep 1000"
links = ["db:database"]
publish = ["8080:80", "9000"]

[[pipework]]
bridge = "br7"
container = "web"
address = "10.8.0.5/24"

[[pipework]]
bridge = "docker0"
container = "web"
address = "10.7.2.9/16"
"#,
    )
    .unwrap();
    let s = netlab::scenario::load(&file).unwrap();
    let before = graph::from_scenario(&s);
    let lab = netlab::scenario::up(&s, Some(&lab_name("up")), &mut |_| {}).unwrap();
    let after = graph::from_lab(&lab.info().unwrap(), &lab.ps(true).unwrap());

    assert_eq!(before.title, "scenario mini.toml");
    assert_eq!(after.title, format!("lab {}", lab.name()));
    assert_eq!(before.nodes.len(), after.nodes.len());
    for (b, a) in before.nodes.iter().zip(&after.nodes) {
        assert_eq!((&b.id, b.kind, b.group), (&a.id, a.kind, a.group));
        match b.kind {
            NodeKind::Container => {
                assert_eq!(b.lines[1], "dynamic in 10.7.1.0/24");
                assert!(a.lines[1].starts_with("10.7.1."), "{a:?}");
                assert_eq!((&b.lines[0], &b.lines[2..]), (&a.lines[0], &a.lines[2..]));
            }
            // The one port published on a random host port gets its real one.
            NodeKind::Port if b.lines[0].contains("random") => {
                assert_eq!(b.lines[0], "0.0.0.0:random → web:9000");
                assert!(!a.lines[0].contains("random"), "{a:?}");
            }
            _ => assert_eq!(b.lines, a.lines),
        }
    }
    assert_eq!(before.edges, after.edges);
    let pipework: Vec<_> = after
        .edges
        .iter()
        .filter(|e| e.kind == EdgeKind::Pipework)
        .map(|e| e.lines[0].split(' ').next().unwrap_or_default())
        .collect();
    assert_eq!(pipework, ["eth1", "eth2"]);
}

/// The same with user-defined networks: the lab's bridges, veths (eth1's too) and macvlan
/// devices are where the scenario's picture put them; only addresses and the bridges'
/// names (from the networks' random IDs) are new. `netlab graph` draws exactly that.
#[test]
fn a_scenario_with_networks_and_its_running_lab_draw_alike() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("nets.toml");
    std::fs::write(
        &file,
        r#"
[lab]
uplink = "eth1=10.2.0.10/16"
lan-nodes = ["lan=10.2.0.1/16"]

[[network]]
name = "appnet"
subnet = "10.79.0.0/24"
gateway = "10.79.0.1"

[[network]]
name = "lannet"
driver = "macvlan"
parent = "eth1"
subnet = "10.2.0.0/16"
ip-range = "10.2.100.0/24"
gateway = "10.2.0.1"

[[container]]
name = "db"
command = "sleep 1000"
networks = [{ name = "appnet", aliases = ["mongo"] }]

[[container]]
name = "web"
command = "sleep 1000"
networks = ["bridge", "appnet", { name = "lannet", ip = "10.2.100.10" }]
"#,
    )
    .unwrap();
    let s = netlab::scenario::load(&file).unwrap();
    let before = graph::from_scenario(&s);
    let lab = netlab::scenario::up(&s, Some(&lab_name("nets")), &mut |_| {}).unwrap();
    let after = graph::from_lab_networks(
        &lab.info().unwrap(),
        &lab.ps(true).unwrap(),
        &lab.networks().unwrap(),
    );
    let appnet = lab.inspect_network("appnet").unwrap();
    assert!(appnet.bridge.starts_with("br-"), "{appnet:?}");

    assert_eq!(before.nodes.len(), after.nodes.len());
    for (b, a) in before.nodes.iter().zip(&after.nodes) {
        assert_eq!((&b.id, b.kind, b.group), (&a.id, a.kind, a.group));
        match b.id.as_str() {
            "net_appnet" => {
                assert_eq!(b.lines, ["appnet", "10.79.0.0/24 gw 10.79.0.1"]);
                assert_eq!(
                    a.lines,
                    ["appnet", &appnet.bridge, "10.79.0.0/24 gw 10.79.0.1"]
                );
            }
            "c_web" => assert!(a.lines[1].starts_with("172.17.0."), "{a:?}"),
            _ => assert_eq!(b.lines, a.lines, "{}", b.id),
        }
    }
    assert_eq!(before.edges.len(), after.edges.len());
    let web = lab.inspect("web").unwrap();
    let db = lab.inspect("db").unwrap();
    for (b, a) in before.edges.iter().zip(&after.edges) {
        assert_eq!((&b.from, &b.to, b.kind), (&a.from, &a.to, a.kind));
        // The interface and veth names are what the picture predicted.
        assert_eq!(b.lines[0], a.lines[0]);
    }
    let wires: Vec<String> = after.edges.iter().map(|e| e.lines.join(" / ")).collect();
    for want in [
        format!(
            "eth0 ↔ {} / {}/24 (aka mongo)",
            db.host_veth, db.networks[0].ip
        ),
        format!("eth0 ↔ {}", web.host_veth),
        format!(
            "eth1 ↔ {} / {}/24",
            web.networks[1].host_veth, web.networks[1].ip
        ),
        "eth2 macvlan of eth1 (lannet) / 10.2.100.10/16".to_string(),
    ] {
        assert!(wires.contains(&want), "no {want:?} in {wires:#?}");
    }
    let dot = stdout(netlab().args(["--lab", lab.name(), "graph"]));
    assert_eq!(dot, graph::to_dot(&after));
}

#[test]
fn a_lab_that_does_not_exist_is_an_error() {
    let name = lab_name("none");
    let err = failure(netlab().args(["--lab", &name, "graph"]));
    let want = netlab::Error::LabNotFound { lab: name.clone() }.to_string();
    assert!(err.contains(&want), "{err}");
    assert!(Lab::open(&name).is_err(), "graph must not create the lab");
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
}

const GRAPHVIZ_HINT: &str = "apt-get install graphviz";

/// Renders when Graphviz is installed, and names the package when it is not: whichever
/// holds on this machine is asserted.
#[test]
fn svg_renders_through_graphviz_or_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("article.svg");
    let mut c = netlab();
    c.arg("graph")
        .arg(scenario_file("article"))
        .arg("--svg")
        .arg(&out);
    if on_path("dot") {
        assert_eq!(stdout(&mut c), "", "--svg prints nothing");
        let svg = std::fs::read_to_string(&out).unwrap();
        assert!(svg.contains("<svg"), "{svg}");
        assert_contains(&svg, &["webserver", "mongo", "10.2.0.11/16", "laptop"]);
    } else {
        let err = failure(&mut c);
        assert!(err.contains(GRAPHVIZ_HINT), "{err}");
        assert!(!out.exists());
    }
}

/// Without `dot` on PATH (an empty one here), `--svg` says how to get it.
#[test]
fn svg_without_graphviz_says_how_to_install_it() {
    let empty = tempfile::tempdir().unwrap();
    let out = empty.path().join("x.svg");
    let err = failure(
        netlab()
            .env("PATH", empty.path())
            .arg("graph")
            .arg(scenario_file("link"))
            .arg("--svg")
            .arg(&out),
    );
    assert!(err.contains(GRAPHVIZ_HINT), "{err}");
    assert!(!out.exists());
}

#[test]
fn svg_and_format_do_not_mix() {
    let err = failure(
        netlab()
            .arg("graph")
            .arg(scenario_file("link"))
            .args(["--format", "mermaid", "--svg", "x.svg"]),
    );
    assert!(err.contains("cannot be used with"), "{err}");
}

/// docs/pictures holds a Mermaid picture (and an SVG) of every scenario, equal to what
/// `netlab graph --format mermaid` prints now.
#[test]
fn the_committed_pictures_are_current() {
    let pictures = root().join("docs/pictures");
    let mut scenarios: Vec<PathBuf> = std::fs::read_dir(root().join("scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    scenarios.sort();
    assert!(scenarios.len() >= 5, "{scenarios:?}");
    let stem = |p: &Path| p.file_stem().unwrap().to_string_lossy().into_owned();
    for s in &scenarios {
        let name = stem(s);
        let now = stdout(netlab().arg("graph").arg(s).args(["--format", "mermaid"]));
        let mmd = pictures.join(format!("{name}.mmd"));
        let committed = std::fs::read_to_string(&mmd).unwrap_or_default();
        assert!(
            committed == now,
            "{} is not what `netlab graph --format mermaid` prints now; run scripts/pictures\n\
             --- committed\n{committed}\n--- now\n{now}",
            mmd.display()
        );
        let svg = pictures.join(format!("{name}.svg"));
        assert!(svg.is_file(), "no {}; run scripts/pictures", svg.display());
    }
    // And no picture of a scenario that is gone.
    for e in std::fs::read_dir(&pictures).unwrap() {
        let p = e.unwrap().path();
        let name = stem(&p);
        assert!(
            scenarios.iter().any(|s| stem(s) == name),
            "{} has no scenario; remove it or run scripts/pictures",
            p.display()
        );
    }
}
