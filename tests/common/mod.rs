//! Helpers shared by the root package's end-to-end tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;

/// The repository's root (the root package's folder).
pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Builds the binaries the labs run (`netlab`, `birthday-service`) with this very cargo,
/// once per test process, and returns their folder. `cargo test --test scenarios` alone
/// does not build other packages' binaries, and a stale binary would test old code.
///
/// The build covers the workspace's tests too, so that cargo unifies dependency features
/// exactly as `cargo test --workspace` (the README's test command) does: after that command
/// built everything this is a no-op, while building only the two binaries resolved other
/// features and compiled a second copy of several dependencies (a minute in CI).
pub fn bin_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let mut cmd = testkit::cargo::nested();
        cmd.args([
            "build",
            "--workspace",
            "--bins",
            "--tests",
            "--message-format=json",
        ])
        .current_dir(repo());
        if !cfg!(debug_assertions) {
            cmd.arg("--release");
        }
        let out = cmd
            .stderr(Stdio::inherit())
            .output()
            .expect("run cargo build");
        assert!(
            out.status.success(),
            "cargo build of netlab and birthday-service failed"
        );
        let exe = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|v| v["executable"].as_str().map(PathBuf::from))
            .find(|p| p.file_name().is_some_and(|n| n == "birthday-service"))
            .expect("cargo reported the birthday-service executable");
        exe.parent().expect("a folder").to_path_buf()
    })
}
