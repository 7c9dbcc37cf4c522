//! netlab as other projects use it: a tiny crate with `netlab` as a dev-dependency (by
//! path) builds a lab in its own `cargo test`: two containers, one pinging the other, with
//! nothing but the public API. Like every lab test it needs root (or rootless user
//! namespaces).
//!
//! The crate gets the workspace's `Cargo.lock`, so it resolves offline to the same
//! versions, and builds into the workspace's target folder, so it compiles only itself
//! once netlab's dependencies are there with the features a dependent gets (those of
//! `cargo build -p netlab`, which `scripts/test-rootless` builds in CI anyway). Measured on
//! 2 cores: 1-8 s when they are there, 76 s from an empty target folder. It finds the
//! `netlab` binary the way the crate documentation tells a dependent to: `NETLAB_BIN` in
//! the crate's `.cargo/config.toml`.

mod common;

use std::path::Path;
use std::time::Instant;

const LAB_TEST: &str = r#"
use netlab::{CommandSpec, ContainerSpec, Lab, LabSpec, Target};

#[test]
fn one_container_pings_the_other() {
    let lab = Lab::create(&LabSpec::new(&format!("dep-{}", std::process::id()))).unwrap();
    let sleeper = |name| {
        ContainerSpec::new(name, CommandSpec::Exec(vec!["sleep".into(), "600".into()]))
    };
    lab.run(&sleeper("a")).unwrap();
    let b = lab.run(&sleeper("b")).unwrap();
    let a = Target::Container("a".into());
    let ping = lab.exec(&a, &["ping", "-c", "1", "-W", "2", &b.ip.to_string()]).unwrap();
    assert_eq!(ping.code, 0, "{}", ping.stdout_str());
    lab.down().unwrap();
}
"#;

#[test]
fn a_crate_with_netlab_as_dev_dependency_runs_a_lab_in_its_tests() {
    let netlab_bin = Path::new(env!("CARGO_BIN_EXE_netlab"));
    // target/<profile>/netlab
    let target = netlab_bin
        .parent()
        .and_then(Path::parent)
        .expect("the binary is in target/<profile>");
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let manifest = format!(
        r#"[package]
name = "uses-netlab"
version = "0.1.0"
edition = "2024"
publish = false

[dev-dependencies]
netlab = {{ path = {:?} }}
"#,
        env!("CARGO_MANIFEST_DIR")
    );
    let config = format!(
        "[env]\nNETLAB_BIN = {:?}\n",
        netlab_bin.display().to_string()
    );
    for (path, text) in [
        ("Cargo.toml", manifest.as_str()),
        ("src/lib.rs", "//! Uses netlab in its tests only.\n"),
        ("tests/lab.rs", LAB_TEST),
        (".cargo/config.toml", config.as_str()),
    ] {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    std::fs::copy(
        common::workspace().join("Cargo.lock"),
        root.join("Cargo.lock"),
    )
    .unwrap();

    let mut cargo = common::cargo();
    cargo
        .args(["test", "--offline"])
        .current_dir(root)
        .env("CARGO_TARGET_DIR", target)
        // The crate's config says where the binary is; a caller's own setting would win.
        .env_remove("NETLAB_BIN");
    if !cfg!(debug_assertions) {
        cargo.arg("--release");
    }
    let started = Instant::now();
    let out = cargo.output().expect("run cargo test");
    eprintln!("cargo test of the dependent crate: {:?}", started.elapsed());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "cargo test of the dependent crate failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("test one_container_pings_the_other ... ok"),
        "{stdout}"
    );
}
