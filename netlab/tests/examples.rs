//! The programs in `netlab/examples/` run, print what their headers promise and end their
//! labs. Like every lab test they need root (or rootless user namespaces); the examples
//! also use ping, python3 and curl in their containers.
//!
//! `cargo test` builds the examples only when no target is selected, and does not tell a
//! test where, so this test builds them itself, once per process, with the cargo that runs
//! it: `cargo build -p netlab --bins --examples`. After `cargo test -p netlab` that is a
//! no-op; under `cargo test --workspace` it resolves netlab's own features, which
//! `scripts/test-rootless` builds in CI anyway.

mod common;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// Each example's executable, by name.
fn examples() -> &'static HashMap<String, PathBuf> {
    static EXES: OnceLock<HashMap<String, PathBuf>> = OnceLock::new();
    EXES.get_or_init(|| {
        let mut cmd = common::cargo();
        cmd.args(["build", "-p", "netlab", "--bins", "--examples"])
            .arg("--message-format=json")
            .current_dir(common::workspace());
        if !cfg!(debug_assertions) {
            cmd.arg("--release");
        }
        let out = cmd
            .stderr(Stdio::inherit())
            .output()
            .expect("run cargo build");
        assert!(out.status.success(), "cargo build of the examples failed");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["target"]["kind"] == serde_json::json!(["example"]))
            .filter_map(|v| {
                let name = v["target"]["name"].as_str()?.to_string();
                Some((name, PathBuf::from(v["executable"].as_str()?)))
            })
            .collect()
    })
}

/// Runs example `name` (finding the `netlab` binary the documented way: next to it, one
/// folder up), checks that it succeeded, that `expected` appear in its output in this
/// order, and that its lab is gone; returns the output.
fn run(name: &str, lab_prefix: &str, expected: &[&str]) -> String {
    let exe = examples()
        .get(name)
        .unwrap_or_else(|| panic!("cargo built no example {name}"));
    let child = Command::new(exe)
        .env_remove("NETLAB_BIN")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the example");
    let lab = format!("{lab_prefix}-{}", child.id());
    let out = child.wait_with_output().expect("wait for the example");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{name} failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let mut rest = stdout.as_str();
    for want in expected {
        let at = rest
            .find(want)
            .unwrap_or_else(|| panic!("{name}: {want:?} missing (or out of order) in:\n{stdout}"));
        rest = &rest[at + want.len()..];
    }
    assert!(
        matches!(
            netlab::Lab::open(&lab),
            Err(netlab::Error::LabNotFound { .. })
        ),
        "{name} left its lab {lab} behind"
    );
    stdout
}

#[test]
fn two_containers() {
    run(
        "two_containers",
        "ex-two",
        &[
            "lab ex-two-",
            ": bridge docker0 172.17.0.1/16\n",
            "a: 172.17.0.2/16, veth veth",
            "b: 172.17.0.3/16, veth veth",
            "a$ hostname: a\n",
            "a$ ping -c 1 172.17.0.3: 1 packets transmitted, 1 received, 0% packet loss",
            "lab ended\n",
        ],
    );
}

#[test]
fn published_port() {
    run(
        "published_port",
        "ex-port",
        &[
            "web: 172.17.0.2, 80/tcp -> 0.0.0.0:8080\n",
            "from lan (10.2.0.1), GET http://10.2.0.10:8080/: HTTP/1.0 200 OK\n",
            "from the lab host, GET http://127.0.0.1:8080/: HTTP/1.0 200 OK\n",
            "lab ended\n",
        ],
    );
}

#[test]
fn link() {
    run(
        "link",
        "ex-link",
        &[
            "mongodb: 172.17.0.2, exposes 27017/tcp\n",
            "  MONGO_NAME=/webserver/mongo\n",
            "  MONGO_PORT=tcp://172.17.0.2:27017\n",
            "  MONGO_PORT_27017_TCP_ADDR=172.17.0.2\n",
            "  MONGO_PORT_27017_TCP_PORT=27017\n",
            "its /etc/hosts: 172.17.0.2 mongo mongodb\n",
            "curl http://$MONGO_PORT_27017_TCP_ADDR:$MONGO_PORT_27017_TCP_PORT/: 200\n",
            "curl http://mongo:27017/: 200\n",
            "lab ended\n",
        ],
    );
}

#[test]
fn pipework() {
    run(
        "pipework",
        "ex-pipework",
        &[
            "a: eth1 192.168.1.1/24 on br1 (host side ",
            "b: eth1 192.168.1.2/24 on br1 (host side ",
            "), default route via 192.168.1.254\n",
            " 172.17.0.2/16",
            " 192.168.1.1/24",
            "b$ ip route show default: default via 192.168.1.254 dev eth1",
            "a$ ping -c 1 192.168.1.2: 1 packets transmitted, 1 received, 0% packet loss",
            "lab ended\n",
        ],
    );
}

#[test]
fn scenario_from_code() {
    run(
        "scenario_from_code",
        "ex-scenario",
        &[
            "flowchart LR\n",
            "c_client -.->|www| c_web",
            "up: lab ex-scenario-",
            "up: web started at 172.17.0.2\n",
            "up: waiting until HTTP GET http://172.17.0.2:8080/ answers 200\n",
            "up: web ready after ",
            "up: client started at 172.17.0.3\n",
            "up: client has eth1 192.168.7.2/24 on br1\n",
            "client$ curl http://www:8080/: 200\n",
            "lab ended\n",
        ],
    );
}
