//! The `netlab` command line, word for word as the article uses `docker`.
//!
//! Each test's lab is created through the library and owned by the test process, so it
//! ends with the test even if the test is killed; the CLI commands then act on it.

mod common;

use assert_cmd::Command;
use common::{lab, stdout};
use netlab::Lab;

fn netlab(lab: &Lab) -> Command {
    let mut c = Command::cargo_bin("netlab").unwrap();
    c.env("NETLAB_LAB", lab.name()).env_remove("RUST_LOG");
    c
}

#[test]
fn help_explains_the_commands() {
    let out = stdout(Command::cargo_bin("netlab").unwrap().arg("--help"));
    for word in [
        "run", "ps", "inspect", "exec", "shell", "down", "lab", "--lab",
    ] {
        assert!(out.contains(word), "--help lacks {word}: {out}");
    }
    let run = stdout(
        Command::cargo_bin("netlab")
            .unwrap()
            .args(["run", "--help"]),
    );
    assert!(run.contains("/bin/sh -c"), "{run}");
}

#[test]
fn the_articles_commands_and_the_inspect_pipeline() {
    let lab = lab("cli-article");
    let id = stdout(netlab(&lab).args([
        "run", "-d", "--name", "mongodb", "--expose", "27017", "sleep", "1000",
    ]));
    assert_eq!(id.trim().len(), 64, "prints the full id like docker: {id}");
    for w in ["webserver1", "webserver2", "webserver3"] {
        stdout(netlab(&lab).args([
            "run",
            "-d",
            "--name",
            w,
            "-e",
            "MONGO=1",
            "--",
            "sleep 1000",
        ]));
    }
    let ps = stdout(netlab(&lab).arg("ps"));
    assert_eq!(ps.lines().count(), 5, "{ps}");
    assert!(ps.lines().next().unwrap().starts_with("CONTAINER ID"));
    assert!(ps.contains("27017/tcp"));
    // `docker inspect webserver1 | grep IPAddress | awk '{print $2}' | tr -d '",\n'`
    let bin = assert_cmd::cargo::cargo_bin("netlab");
    let pipeline = format!(
        "{} inspect webserver1 | grep IPAddress | awk '{{print $2}}' | tr -d '\",\\n'",
        bin.display()
    );
    let mut sh = std::process::Command::new("bash");
    sh.arg("-c").arg(&pipeline).env("NETLAB_LAB", lab.name());
    let ip = stdout(&mut Command::from(sh));
    assert_eq!(ip, "172.17.0.3");
    let fmt = stdout(netlab(&lab).args([
        "inspect",
        "-f",
        "{{ .NetworkSettings.IPAddress }}",
        "webserver3",
    ]));
    assert_eq!(fmt, "172.17.0.5\n");
    let doc: serde_json::Value =
        serde_json::from_str(&stdout(netlab(&lab).args(["inspect", "mongodb"]))).unwrap();
    let c = &doc[0];
    assert_eq!(c["Name"], "/mongodb");
    assert_eq!(c["Config"]["Hostname"], "mongodb");
    assert_eq!(c["State"]["Running"], true);
    assert_eq!(c["NetworkSettings"]["IPPrefixLen"], 16);
    assert_eq!(c["NetworkSettings"]["Gateway"], "172.17.0.1");
    assert_eq!(c["NetworkSettings"]["MacAddress"], "02:42:ac:11:00:02");
    assert!(c["NetworkSettings"]["Ports"].get("27017/tcp").is_some());
    // State.Pid is the PID on this machine: its command line is the container's.
    let pid = c["State"]["Pid"].as_i64().unwrap();
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    assert_eq!(cmdline, b"sleep\x001000\x00");
    // `curl http://<container-ip>:8080` works from the lab host: here a ping.
    stdout(netlab(&lab).args(["exec", "--host", "--", "ping", "-c1", "-W2", "172.17.0.3"]));
    let labs = stdout(
        Command::cargo_bin("netlab")
            .unwrap()
            .args(["lab", "ls", "--json"]),
    );
    assert!(labs.contains(&format!("\"{}\"", lab.name())), "{labs}");
}

#[test]
fn foreground_run_exec_and_logs_pass_output_and_exit_codes() {
    let lab = lab("cli-fg");
    let out = netlab(&lab)
        .args([
            "run",
            "--name",
            "fg",
            "--",
            "sh -c 'echo hi; echo oops >&2; exit 3'",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hi\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "oops\n");
    assert_eq!(stdout(netlab(&lab).args(["logs", "fg"])), "hi\n");
    stdout(netlab(&lab).args(["run", "-d", "--name", "bg", "sleep", "1000"]));
    netlab(&lab)
        .args(["exec", "bg", "sh", "-c", "exit 7"])
        .assert()
        .code(7);
    netlab(&lab)
        .args(["exec", "bg", "--", "hostname"])
        .assert()
        .success()
        .stdout("bg\n");
    netlab(&lab)
        .args(["stop", "-t", "1", "bg"])
        .assert()
        .success();
    let ids = stdout(netlab(&lab).args(["ps", "-a", "-q"]));
    assert_eq!(ids.lines().count(), 2, "{ids}");
    assert!(
        ids.lines()
            .all(|l| l.len() == 12 && l.chars().all(|c| c.is_ascii_hexdigit())),
        "{ids}"
    );
    // `$(docker ps -q -l)`: the latest container's ID, accepted wherever a name is.
    let latest = stdout(netlab(&lab).args(["ps", "-q", "-l"]));
    assert_eq!(latest, ids.lines().nth(1).unwrap().to_string() + "\n");
    netlab(&lab)
        .args(["inspect", "-f", "{{.Name}}", latest.trim()])
        .assert()
        .success()
        .stdout("/bg\n");
    assert_eq!(stdout(netlab(&lab).args(["ps", "-q"])), "");
    netlab(&lab).args(["start", "bg"]).assert().success();
    netlab(&lab)
        .args(["rm", "-f", "bg", "fg"])
        .assert()
        .success();
    assert_eq!(stdout(netlab(&lab).args(["ps", "-a", "-q"])), "");
    assert_eq!(stdout(netlab(&lab).args(["ps", "-q", "-l"])), "");
}

/// Runs a failing command and returns its stderr.
fn fails(c: &mut Command, code: i32) -> String {
    let out = c.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(code),
        "{c:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn errors_name_the_problem_and_the_fix_and_change_nothing() {
    let lab = lab("cli-err");
    stdout(netlab(&lab).args(["run", "-d", "--name", "web", "sleep", "1000"]));
    let before = stdout(netlab(&lab).args(["ps", "-a", "--json"]));
    let e = fails(
        netlab(&lab).args(["run", "-d", "--name", "web", "sleep", "1"]),
        125,
    );
    assert!(
        e.contains("already exists") && e.contains("netlab rm -f web"),
        "{e}"
    );
    let e = fails(
        netlab(&lab).args(["run", "-d", "--name", "bad name", "sleep", "1"]),
        125,
    );
    assert!(e.contains("invalid container name"), "{e}");
    let e = fails(
        netlab(&lab).args([
            "run", "-d", "--name", "x", "--expose", "99999", "sleep", "1",
        ]),
        125,
    );
    assert!(e.contains("--expose"), "{e}");
    let e = fails(
        netlab(&lab).args(["run", "-d", "--name", "x", "-e", "NOVALUE", "sleep", "1"]),
        125,
    );
    assert!(e.contains("KEY=VALUE"), "{e}");
    let e = fails(
        netlab(&lab).args(["run", "-d", "--name", "x", "no-such-binary-xyz"]),
        127,
    );
    assert!(e.contains("not found") && e.contains("PATH"), "{e}");
    let e = fails(netlab(&lab).args(["inspect", "ghost"]), 125);
    assert!(
        e.contains("no container named \"ghost\"") && e.contains("netlab ps -a"),
        "{e}"
    );
    let e = fails(netlab(&lab).args(["rm", "web"]), 125);
    assert!(e.contains("is running") && e.contains("rm -f"), "{e}");
    assert_eq!(
        stdout(netlab(&lab).args(["ps", "-a", "--json"])),
        before,
        "the lab is unchanged"
    );

    let e = fails(
        Command::cargo_bin("netlab").unwrap().args([
            "--lab",
            &common::lab_name("cli-bip"),
            "lab",
            "create",
            "--bip",
            "10.2.0.10",
        ]),
        125,
    );
    assert!(e.contains("--bip") && e.contains("prefix"), "{e}");
    let e = fails(
        Command::cargo_bin("netlab").unwrap().args([
            "--lab",
            &common::lab_name("cli-missing"),
            "inspect",
            "x",
        ]),
        125,
    );
    assert!(e.contains("does not exist"), "{e}");
    let e = fails(netlab(&lab).args(["lab", "create"]), 125);
    assert!(e.contains("exists already"), "{e}");
}

/// Issue 10's bad inputs at the command line: each refused (exit 125) with what to fix,
/// and the lab unchanged.
#[test]
fn bad_inputs_of_every_class_say_what_to_fix() {
    let lab = lab("cli-bad10");
    stdout(netlab(&lab).args(["run", "-d", "--name", "web", "sleep", "1000"]));
    let before = stdout(netlab(&lab).args(["ps", "-a", "--json"]));
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, body: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, body).unwrap();
        p.display().to_string()
    };
    let command5 = file(
        "command5.toml",
        "[[container]]\nname = \"a\"\ncommand = 5\n",
    );
    let timeout = file(
        "timeout.toml",
        "[[container]]\nname = \"a\"\ncommand = \"x\"\nready = { tcp = 80, timeout = 9223372036854775807 }\n",
    );
    let long_lab = "l".repeat(200);
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["run", "-d", "--name", "x", "-p", "+80", "sleep", "1"],
            &["-p", "\"+80\""],
        ),
        (
            &["--lab", &long_lab, "ps"],
            &["it has 200 bytes, at most 32 are allowed"],
        ),
        (
            &[
                "--lab",
                &common::lab_name("cli-bip0"),
                "lab",
                "create",
                "--bip",
                "0.0.0.1/8",
            ],
            &["--bip", "this network", "host address"],
        ),
        (
            &["stop", "-t", "99999999999", "web"],
            &["the allowed range is 0 to 3600 seconds"],
        ),
        (
            &[
                "run",
                "-d",
                "--name",
                "wd1",
                "-w",
                "/nonexistent/dir",
                "sleep",
                "1000",
            ],
            &["\"/nonexistent/dir\"", "no such directory in container wd1"],
        ),
        (
            &["exec", "-w", "/nonexistent/dir", "web", "--", "true"],
            &["mkdir -p /nonexistent/dir"],
        ),
        (
            &["pipework", "lo", "web", "10.9.0.5/24"],
            &["loopback", "not a bridge", "docker0"],
        ),
        (
            &["pipework", "docker0", "web", "0.0.0.0/8"],
            &["this network"],
        ),
        (
            &["pipework", "docker0", "web", "255.255.255.255/24"],
            &["broadcast"],
        ),
        (
            &["run", "-d", "--name", "y", "--link", "web:-w", "sleep", "1"],
            &["the alias \"-w\"", "a letter or digit"],
        ),
        (
            &["up", "--check", &command5],
            &["command5.toml:3:11", "it is an integer"],
        ),
        (
            &["up", "--check", &timeout],
            &["timeout.toml:4:31", "1 to 3600 seconds"],
        ),
    ];
    for (args, words) in cases {
        let e = fails(netlab(&lab).args(*args), 125);
        for w in *words {
            assert!(e.contains(w), "netlab {args:?}: {w:?} not in {e:?}");
        }
        assert!(
            !e.contains("Operation not supported") && !e.contains("did not match any variant"),
            "{e}"
        );
    }
    assert_eq!(
        stdout(netlab(&lab).args(["ps", "-a", "--json"])),
        before,
        "the lab is unchanged"
    );
    // -e HOSTNAME sets the variable, as Docker's does.
    let out = stdout(netlab(&lab).args([
        "run",
        "--name",
        "h",
        "-e",
        "HOSTNAME=x",
        "sh",
        "-c",
        "echo $HOSTNAME; hostname",
    ]));
    assert_eq!(out, "x\nh\n");
}

#[test]
fn lab_create_with_dockerd_settings_and_down() {
    let name = common::lab_name("cli-create");
    let mut cmd = Command::cargo_bin("netlab").unwrap();
    cmd.args([
        "--lab",
        &name,
        "lab",
        "create",
        "--bridge",
        "br0",
        "--bip",
        "10.2.0.10/16",
        "--ip-range",
        "10.2.1.0/24",
    ]);
    stdout(&mut cmd);
    // From here the lab is detached: make sure the test ends it whatever happens.
    struct Down(String);
    impl Drop for Down {
        fn drop(&mut self) {
            let _ = Command::cargo_bin("netlab")
                .unwrap()
                .args(["--lab", &self.0, "down"])
                .output();
        }
    }
    let _guard = Down(name.clone());
    let run = |n: &str| {
        stdout(
            Command::cargo_bin("netlab")
                .unwrap()
                .args(["--lab", &name, "run", "-d", "--name", n, "sleep", "1000"]),
        )
    };
    run("a");
    let ip = stdout(Command::cargo_bin("netlab").unwrap().args(["--lab", &name, "inspect", "-f", "{{.NetworkSettings.IPAddress}}/{{.NetworkSettings.IPPrefixLen}} {{.NetworkSettings.Gateway}}", "a"]));
    assert_eq!(ip, "10.2.1.1/16 10.2.0.10\n");
    let host = stdout(Command::cargo_bin("netlab").unwrap().args([
        "--lab", &name, "exec", "--host", "--", "ip", "-4", "-o", "addr", "show", "br0",
    ]));
    assert!(host.contains("inet 10.2.0.10/16"), "{host}");
    stdout(
        Command::cargo_bin("netlab")
            .unwrap()
            .args(["--lab", &name, "down"]),
    );
    assert!(matches!(
        Lab::open(&name),
        Err(netlab::Error::LabNotFound { .. })
    ));
}

/// What a terminal shows: everything read from a pty's master end so far.
struct Screen {
    text: std::sync::Arc<(std::sync::Mutex<String>, std::sync::Condvar)>,
}

impl Screen {
    fn watch(master: std::fs::File) -> Screen {
        use std::io::Read;
        let text = std::sync::Arc::new((std::sync::Mutex::new(String::new()), Default::default()));
        let t = text.clone();
        std::thread::spawn(move || {
            let mut master = master;
            let mut buf = [0u8; 4096];
            while let Ok(n) = master.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let (m, c): &(std::sync::Mutex<String>, std::sync::Condvar) = &t;
                m.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
                c.notify_all();
            }
        });
        Screen { text }
    }

    /// Waits until `what` is on the screen, and says what was there if it never comes.
    fn wait_for(&self, what: &str) -> String {
        let (m, c) = &*self.text;
        let end = std::time::Instant::now() + std::time::Duration::from_secs(15);
        let mut s = m.lock().unwrap();
        while !s.contains(what) {
            let left = end.saturating_duration_since(std::time::Instant::now());
            assert!(!left.is_zero(), "{what:?} never appeared; the screen:\n{s}");
            s = c.wait_timeout(s, left).unwrap().0;
        }
        s.clone()
    }
}

/// `netlab shell` on a terminal, as a student uses it: the shell gets a terminal of its
/// own, so Ctrl-C stops the running `sleep` and the shell stays; `exit 3` is the exit
/// code. (With the user's terminal passed through as it is, Ctrl-C never reached the
/// shell's job, and `sleep 30` held the shell for 30 seconds.)
#[test]
fn shell_on_a_terminal_has_job_control_and_ctrl_c() {
    use std::io::Write;
    let lab = lab("cli-tty");
    let pty = nix::pty::openpty(None, None).unwrap();
    let slave = std::fs::File::from(pty.slave);
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("netlab"))
        .env("NETLAB_LAB", lab.name())
        .env("TERM", "dumb")
        .env_remove("RUST_LOG")
        .arg("shell")
        .stdin(slave.try_clone().unwrap())
        .stdout(slave.try_clone().unwrap())
        .stderr(slave)
        .spawn()
        .unwrap();
    let master = std::fs::File::from(pty.master);
    let mut keys = master.try_clone().unwrap();
    let screen = Screen::watch(master);
    screen.wait_for("# ");
    keys.write_all(b"tty; sleep 37.25\r").unwrap();
    // Ctrl-C once `sleep` is the terminal's foreground job (earlier, it would interrupt
    // the shell while it starts the job, a different thing).
    testkit::poll::wait_until(
        "sleep to be the terminal's foreground job",
        std::time::Duration::from_secs(15),
        foreground_sleep,
    );
    keys.write_all(b"\x03").unwrap();
    keys.write_all(b"echo alive-$((40+2))\r").unwrap();
    let shown = screen.wait_for("alive-42");
    assert!(shown.contains("/dev/pts/"), "the shell has a pty: {shown}");
    assert!(!shown.contains("no job control"), "{shown}");
    keys.write_all(b"exit 3\r").unwrap();
    let status = testkit::poll::wait_until(
        "netlab shell to end",
        std::time::Duration::from_secs(15),
        || {
            let ended = child.try_wait().unwrap();
            ended.ok_or_else(|| format!("the screen:\n{}", screen.wait_for("")))
        },
    );
    assert_eq!(status.code(), Some(3));
}

/// Whether a `sleep 37.25` runs as the foreground process group of its terminal.
fn foreground_sleep() -> bool {
    std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
        let p = e.path();
        let cmdline = std::fs::read(p.join("cmdline")).unwrap_or_default();
        if cmdline != b"sleep\x0037.25\x00" {
            return false;
        }
        let stat = std::fs::read_to_string(p.join("stat")).unwrap_or_default();
        let f: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.split_whitespace().collect())
            .unwrap_or_default();
        // After the name: state, ppid, pgrp, session, tty_nr, tpgid.
        f.len() > 5 && f[2] == f[5]
    })
}

#[test]
fn exec_t_without_a_terminal_says_so() {
    let lab = lab("cli-notty");
    lab.run(&common::sleeper("web")).unwrap();
    let out = netlab(&lab)
        .args(["exec", "-it", "web", "--", "true"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("-t needs a terminal"), "{err}");
}
