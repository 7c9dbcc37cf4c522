//! Helpers shared by netlab's integration tests.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use netlab::{CommandSpec, ContainerSpec, Lab, LabSpec};

/// A lab name unique to this test process and `tag`, so tests can run in parallel.
pub fn lab_name(tag: &str) -> String {
    format!("t{}-{tag}", std::process::id())
}

/// An owned lab with default settings; it ends when dropped, also on panic.
pub fn lab(tag: &str) -> Lab {
    Lab::create(&LabSpec::new(&lab_name(tag))).expect("create lab")
}

pub fn sleeper(name: &str) -> ContainerSpec {
    ContainerSpec::new(name, CommandSpec::Exec(vec!["sleep".into(), "1000".into()]))
}

pub fn shell(name: &str, cmd: &str) -> ContainerSpec {
    ContainerSpec::new(name, CommandSpec::Shell(cmd.into()))
}

/// Polls `cond` until it holds or `deadline` passes; the condition is the real thing
/// waited for (a port that answers, a process that ended), never a guess of time.
pub fn wait_until(what: &str, deadline: Duration, mut cond: impl FnMut() -> bool) {
    let end = Instant::now() + deadline;
    let mut pause = Duration::from_millis(1);
    while !cond() {
        assert!(
            Instant::now() < end,
            "timed out after {deadline:?} waiting for {what}"
        );
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}
