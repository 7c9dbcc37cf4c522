//! A nested `cargo` for tests that build something themselves (the lab's binaries, the
//! examples, a crate that depends on netlab).

use std::process::Command;

/// The variables cargo sets for a test process: they describe that test, not a nested
/// build, and some build scripts watch them (ring's watches `CARGO_MANIFEST_DIR`), so
/// inherited they would make cargo rebuild those crates here and again in the next outer
/// build.
fn set_for_a_test(name: &str) -> bool {
    name.starts_with("CARGO_PKG_")
        || name.starts_with("CARGO_BIN_EXE_")
        || [
            "CARGO_MANIFEST_DIR",
            "CARGO_MANIFEST_PATH",
            "CARGO_CRATE_NAME",
            "CARGO_BIN_NAME",
            "CARGO_PRIMARY_PACKAGE",
            "CARGO_TARGET_TMPDIR",
            "CARGO_RUSTC_CURRENT_DIR",
        ]
        .contains(&name)
}

/// The cargo that built the tests, as a command without the variables of the test
/// process that runs it.
pub fn nested() -> Command {
    let mut cmd = Command::new(env!("CARGO"));
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy();
        if set_for_a_test(&k) {
            cmd.env_remove(k.as_ref());
        }
    }
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tests_own_variables_are_not_passed_on() {
        for (name, dropped) in [
            ("CARGO_MANIFEST_DIR", true),
            ("CARGO_PKG_NAME", true),
            ("CARGO_BIN_EXE_netlab", true),
            ("CARGO_TARGET_DIR", false),
            ("CARGO_HOME", false),
            ("PATH", false),
        ] {
            assert_eq!(set_for_a_test(name), dropped, "{name}");
        }
    }
}
