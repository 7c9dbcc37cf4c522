//! A scenario file used from Rust: parsed and checked (errors name line and column), drawn
//! as a Mermaid picture, brought up step by step with its readiness checks, used, ended.
//! The file is inline here; `netlab::scenario::load(path)` reads one from disk, such as
//! the repository's `scenarios/*.toml`.
//!
//! `web` runs `python3 -m http.server` and the client uses curl, so both must be
//! installed.
//!
//! Run it as root, or as a user allowed to create user namespaces:
//!
//! ```text
//! cargo build -p netlab && cargo run -p netlab --example scenario_from_code
//! ```
//!
//! It prints the picture (a `flowchart LR` of Mermaid), then:
//!
//! ```text
//! up: lab ex-scenario-4242 (docker0 172.17.0.1/16)
//! up: web started at 172.17.0.2
//! up: waiting until HTTP GET http://172.17.0.2:8080/ answers 200
//! up: web ready after 150ms
//! up: client started at 172.17.0.3
//! up: client has eth1 192.168.7.2/24 on br1
//! client$ curl http://www:8080/: 200
//! lab ended
//! ```

use std::path::Path;

use netlab::scenario::{self, Progress};
use netlab::{Target, graph};

const SCENARIO: &str = r#"
# A web server, and a client that reaches it by a link's name; the client also gets a
# second interface on a bridge of its own, pipework's way.

[[container]]
name = "web"
command = "exec python3 -m http.server 8080 --bind 0.0.0.0"
expose = ["8080"]
publish = ["8080:8080"]
ready = { http = 8080, path = "/" }

[[container]]
name = "client"
command = ["sleep", "600"]
links = ["web:www"]

[[pipework]]
bridge = "br1"
container = "client"
address = "192.168.7.2/24"
"#;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The path names the scenario in errors and anchors its relative paths.
    let s = scenario::parse(SCENARIO, Path::new("inline.toml"))?;
    print!("{}", graph::to_mermaid(&graph::from_scenario(&s)));

    let name = format!("ex-scenario-{}", std::process::id());
    // The lab is owned by `lab`: a failed readiness check, or this process dying, ends it.
    let lab = scenario::up(&s, Some(&name), &mut |step| match step {
        Progress::Lab { name, bridge, bip } => println!("up: lab {name} ({bridge} {bip})"),
        Progress::Started(c) => println!("up: {} started at {}", c.name, c.ip),
        Progress::Waiting { what, .. } => println!("up: waiting until {what}"),
        Progress::Ready { container, after } => println!("up: {container} ready after {after:?}"),
        Progress::Pipework(i) => println!("up: client has {} {} on {}", i.ifname, i.addr, i.bridge),
        Progress::Fault(f) => println!("up: fault {}: {}", f.name, f.spec.kind),
        other => println!("up: {other:?}"),
    })?;

    let curl = [
        "curl",
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "http://www:8080/",
    ];
    let out = lab.exec(&Target::Container("client".into()), &curl)?;
    println!("client$ curl http://www:8080/: {}", out.stdout_str());

    lab.down()?;
    println!("lab ended");
    Ok(())
}
