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
    // `$(docker ps -q -l)`: the latest container's ID, accepted wherever a name is; the
    // list is newest first, as Docker's, so it is also `ps -a -q | head -1`.
    let latest = stdout(netlab(&lab).args(["ps", "-q", "-l"]));
    assert_eq!(latest, ids.lines().next().unwrap().to_string() + "\n");
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

/// Runs `c` and returns its exit code, standard output and standard error.
fn outcome(c: &mut Command) -> (Option<i32>, String, String) {
    let out = c.output().unwrap();
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn ps_is_newest_first_with_dockers_columns_filters_and_templates() {
    let lab = lab("cli-ps");
    stdout(netlab(&lab).args([
        "run", "-d", "--name", "mongodb", "--expose", "27017", "sleep", "1000",
    ]));
    stdout(netlab(&lab).args([
        "run",
        "-d",
        "--name",
        "web",
        "--link",
        "mongodb:mongo",
        "-p",
        "8080:8080",
        "-p",
        "127.0.0.1:7000:80",
        "-p",
        "9000-9001:9000-9001/udp",
        "--expose",
        "6000-6001",
        "--",
        "sleep",
        "1000",
    ]));
    netlab(&lab)
        .args(["run", "--name", "done", "sh", "-c", "exit 3"])
        .assert()
        .code(3);
    let names = |args: &[&str]| {
        let mut c = netlab(&lab);
        c.args(["ps", "--format", "{{.Names}}"]).args(args);
        stdout(&mut c).lines().collect::<Vec<_>>().join(" ")
    };

    // Docker's default table, the newest running container first.
    let ps = stdout(netlab(&lab).arg("ps"));
    let lines: Vec<&str> = ps.lines().collect();
    assert_eq!(lines.len(), 3, "{ps}");
    let head: Vec<&str> = lines[0]
        .split("   ")
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .collect();
    assert_eq!(
        head,
        [
            "CONTAINER ID",
            "IMAGE",
            "COMMAND",
            "CREATED",
            "STATUS",
            "PORTS",
            "NAMES"
        ],
        "{ps}"
    );
    assert!(
        lines[1].ends_with(" web") && lines[2].ends_with(" mongodb"),
        "{ps}"
    );
    assert!(
        lines[1].contains("   -         \"sleep 1000\"   ") && lines[1].contains("   Up "),
        "{ps}"
    );
    assert!(
        lines[1].contains(
            "   6000-6001/tcp, 0.0.0.0:8080->8080/tcp, 0.0.0.0:9000-9001->9000-9001/udp, 127.0.0.1:7000->80/tcp   "
        ),
        "PORTS as Docker folds it: {ps}"
    );
    assert!(lines[2].contains("   27017/tcp   "), "{ps}");

    // Newest first everywhere: -q, -l, -n, --json.
    let ids = stdout(netlab(&lab).args(["ps", "-a", "-q"]));
    assert_eq!(ids.lines().count(), 3, "{ids}");
    let latest = stdout(netlab(&lab).args(["ps", "-q", "-l"]));
    assert_eq!(
        latest.trim(),
        ids.lines().next().unwrap(),
        "ps -q -l is ps -a -q | head -1"
    );
    assert_eq!(names(&["-a"]), "done web mongodb");
    assert_eq!(names(&["-n", "2"]), "done web");
    assert_eq!(names(&["-l"]), "done");
    let json: serde_json::Value =
        serde_json::from_str(&stdout(netlab(&lab).args(["ps", "-a", "--json"]))).unwrap();
    let order: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(order, ["done", "web", "mongodb"]);

    // Filters: values of one key OR'ed, keys AND'ed, a status implies -a.
    assert_eq!(names(&["-f", "name=o"]), "mongodb");
    assert_eq!(names(&["-a", "-f", "name=o"]), "done mongodb");
    assert_eq!(names(&["-f", "status=exited"]), "done");
    assert_eq!(
        names(&["-f", "name=web", "-f", "name=^mongo"]),
        "web mongodb"
    );
    assert_eq!(names(&["-f", "name=web", "-f", "status=exited"]), "");
    assert_eq!(names(&["-a", "-f", "exited=3"]), "done");
    assert_eq!(
        names(&["--no-trunc", "-f", "name=mongo"]),
        "mongodb,web/mongo"
    );

    // Docker's fields and `table`.
    let done = stdout(netlab(&lab).args([
        "ps",
        "-l",
        "--format",
        "{{.Status}}|{{.State}}|{{.Command}}|{{.Image}}|{{.Networks}}|{{len .ID}}",
    ]));
    assert!(
        done.starts_with("Exited (3) ")
            && done.ends_with(" ago|exited|\"sh -c 'exit 3'\"|-|bridge|12\n"),
        "{done}"
    );
    let table =
        stdout(netlab(&lab).args(["ps", "-a", "--format", "table {{.Names}}\\t{{.Ports}}"]));
    assert_eq!(
        table,
        "NAMES     PORTS\ndone      \nweb       6000-6001/tcp, 0.0.0.0:8080->8080/tcp, 0.0.0.0:9000-9001->9000-9001/udp, 127.0.0.1:7000->80/tcp\nmongodb   27017/tcp\n"
    );
    let custom = stdout(netlab(&lab).args(["ps", "-q", "--format", "{{.Names}}={{upper .State}}"]));
    assert_eq!(
        custom, "web=RUNNING\nmongodb=RUNNING\n",
        "a --format wins over -q"
    );

    // Template errors: Docker's words, exit 1, nothing else printed.
    let (code, out, err) = outcome(netlab(&lab).args(["ps", "--format", "{{.Nope}}"]));
    assert_eq!((code, out.as_str()), (Some(1), ""));
    assert_eq!(
        err,
        "failed to execute template: template: :1:2: executing \"\" at <.Nope>: map has no entry for key \"Nope\"\n"
    );
    let (code, _, err) = outcome(netlab(&lab).args(["ps", "--format", "{{.Names"]));
    assert_eq!(code, Some(1));
    assert_eq!(
        err,
        "failed to parse template: template: :1: unclosed action\n"
    );
    let err = fails(netlab(&lab).args(["ps", "-f", "status=bogus"]), 1);
    assert!(err.contains("created, running or exited"), "{err}");
}

#[test]
fn inspect_runs_go_templates_and_reports_missing_names_after_the_found_ones() {
    let lab = lab("cli-inspect");
    stdout(netlab(&lab).args([
        "run", "-d", "--name", "mongodb", "--expose", "27017", "sleep", "1000",
    ]));
    stdout(netlab(&lab).args([
        "run",
        "-d",
        "--name",
        "web",
        "--link",
        "mongodb:mongo",
        "-p",
        "8080:8080",
        "sleep",
        "1000",
    ]));
    let f = |template: &str, names: &[&str]| {
        stdout(netlab(&lab).args(["inspect", "-f", template]).args(names))
    };
    // Docker's documented idiom, and the keys the document gained.
    assert_eq!(
        f(
            "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
            &["web"]
        ),
        "172.17.0.3\n"
    );
    assert_eq!(
        f(
            "{{range $name, $n := .NetworkSettings.Networks}}{{$name}}:{{$n.Gateway}}/{{$n.IPPrefixLen}} {{$n.MacAddress}}{{end}}",
            &["web"]
        ),
        "bridge:172.17.0.1/16 02:42:ac:11:00:03\n"
    );
    assert_eq!(
        f(
            "{{json .HostConfig.RestartPolicy}} {{.HostConfig.NetworkMode}} {{json .HostConfig.PortBindings}}",
            &["web"]
        ),
        "{\"Name\":\"no\",\"MaximumRetryCount\":0} default {\"8080/tcp\":[{\"HostIp\":\"\",\"HostPort\":\"8080\"}]}\n"
    );
    assert_eq!(
        f(
            "{{index .NetworkSettings.Ports \"8080/tcp\"}} {{(index (index .NetworkSettings.Ports \"8080/tcp\") 0).HostPort}}",
            &["web"]
        ),
        "[map[HostIp:0.0.0.0 HostPort:8080]] 8080\n"
    );
    assert_eq!(
        f(
            "{{if .State.Running}}up{{else}}down{{end}} {{.State.OOMKilled}} [{{.State.Error}}] {{join .HostConfig.Links \",\"}}",
            &["web"]
        ),
        "up false [] /mongodb:/web/mongo\n"
    );
    assert_eq!(
        f(
            "{{json .Config.ExposedPorts}}{{println}}{{- .Name -}}",
            &["mongodb"]
        ),
        "{\"27017/tcp\":{}}\n/mongodb\n"
    );

    // Several names: the found ones first, then an error per missing one, exit 1.
    assert_eq!(f("{{.Name}}", &["web", "mongodb"]), "/web\n/mongodb\n");
    let (code, out, err) =
        outcome(netlab(&lab).args(["inspect", "-f", "{{.Name}}", "web", "nope", "mongodb"]));
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (Some(1), "/web\n/mongodb\n", "Error: No such object: nope\n")
    );
    let (code, out, err) = outcome(netlab(&lab).args(["inspect", "web", "nope"]));
    assert_eq!(
        (code, err.as_str()),
        (Some(1), "Error: No such object: nope\n")
    );
    let docs: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(docs.as_array().unwrap().len(), 1);
    assert_eq!(
        docs[0]["NetworkSettings"]["Networks"]["bridge"]["IPAddress"],
        "172.17.0.3"
    );
    let (code, out, _) = outcome(netlab(&lab).args(["inspect", "nope"]));
    assert_eq!((code, out.as_str()), (Some(1), "[]\n"));

    // Template errors as Docker words them: running fails per container (exit 1),
    // parsing fails before anything (exit 64).
    let (code, out, err) = outcome(netlab(&lab).args(["inspect", "-f", "{{.State.Nope}}", "web"]));
    assert_eq!((code, out.as_str()), (Some(1), "\n"));
    assert_eq!(
        err,
        "template parsing error: template: :1:8: executing \"\" at <.State.Nope>: map has no entry for key \"Nope\"\n"
    );
    let (code, _, err) = outcome(netlab(&lab).args(["inspect", "-f", "{{if}}{{end}}", "web"]));
    assert_eq!(
        (code, err.as_str()),
        (
            Some(64),
            "template parsing error: template: :1: missing value for if\n"
        )
    );
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
    // (`inspect ghost` answers in Docker's words instead: see the inspect test.)
    let e = fails(netlab(&lab).args(["logs", "ghost"]), 1);
    assert!(
        e.contains("no container named \"ghost\"") && e.contains("netlab ps -a"),
        "{e}"
    );
    let e = fails(netlab(&lab).args(["rm", "web"]), 1);
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
        1,
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
            &[
                "run",
                "-d",
                "--name",
                "x",
                "-p",
                "1.2.3.4::80",
                "sleep",
                "1",
            ],
            &[
                "1.2.3.4 is not an address of the lab host",
                "127.0.0.1, 172.17.0.1",
            ],
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
        // Docker's codes: 1 for its other commands' errors, 126 for exec's runtime
        // failures (a missing working directory), 125 for run's and netlab's own.
        let code = match args.iter().find(|a| !a.starts_with('-') && **a != long_lab) {
            Some(&"ps" | &"stop") => 1,
            Some(&"exec") => 126,
            _ => 125,
        };
        let e = fails(netlab(&lab).args(*args), code);
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
    // An address the lab host has is fine.
    stdout(netlab(&lab).args([
        "run",
        "-d",
        "--name",
        "pub",
        "-p",
        "172.17.0.1::8080",
        "sleep",
        "1000",
    ]));
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

/// Docker's grammar: options come before the first word that is not one (the image for
/// `docker run`, here the command; the container for `exec`), and everything after it
/// belongs to the command. An option netlab does not know is a usage error in Docker's
/// words (exit 125), never the command or a container's name.
#[test]
fn unknown_options_are_usage_errors_and_options_end_at_the_command() {
    let lab = lab("cli-grammar");
    stdout(netlab(&lab).args(["run", "-d", "--name", "web", "sleep", "1000"]));
    let before = stdout(netlab(&lab).args(["ps", "-a", "--json"]));
    let cases: &[(&[&str], &str, &str)] = &[
        (
            &["run", "--frobnicate", "env"],
            "unknown flag: --frobnicate",
            "run",
        ),
        (
            &["run", "-d", "-Q", "env"],
            "unknown shorthand flag: 'Q' in -Q",
            "run",
        ),
        (
            &["run", "--frobnicate=1", "env"],
            "unknown flag: --frobnicate",
            "run",
        ),
        (
            &["exec", "--frobnicate", "web", "pwd"],
            "unknown flag: --frobnicate",
            "exec",
        ),
        (&["ps", "--frobnicate"], "unknown flag: --frobnicate", "ps"),
    ];
    for (args, words, sub) in cases {
        let e = fails(netlab(&lab).args(*args), 125);
        assert!(e.contains(words), "netlab {args:?}: {e}");
        assert!(
            e.contains(&format!("See 'netlab {sub} --help'.")),
            "netlab {args:?}: {e}"
        );
    }
    // Docker's options about images have no meaning without images: refused, saying why.
    for opt in ["--pull", "--platform", "--entrypoint"] {
        let e = fails(netlab(&lab).args(["run", opt, "x", "sleep", "1"]), 125);
        assert!(e.contains(opt) && e.contains("no images"), "{e}");
    }
    let e = fails(
        netlab(&lab).args(["run", "--disable-content-trust", "sleep", "1"]),
        125,
    );
    assert!(e.contains("no images"), "{e}");
    assert_eq!(
        stdout(netlab(&lab).args(["ps", "-a", "--json"])),
        before,
        "nothing ran"
    );
    // After the command's first word, what looks like an option is the command's.
    assert_eq!(
        stdout(netlab(&lab).args(["run", "--name", "e", "echo", "-n", "--frobnicate", "-w"])),
        "--frobnicate -w"
    );
    assert_eq!(
        stdout(netlab(&lab).args(["exec", "web", "echo", "-w", "/tmp"])),
        "-w /tmp\n"
    );
    // Options before the container are exec's (this looked for a container named `-w`).
    assert_eq!(
        stdout(netlab(&lab).args(["exec", "-w", "/tmp", "web", "pwd"])),
        "/tmp\n"
    );
}

/// Docker's exit codes: 127 for a command that is not there, 126 for one that cannot be
/// executed, 1 for `exec` into a container that is not running.
#[test]
fn exit_codes_say_not_found_not_executable_and_not_running() {
    use std::os::unix::fs::PermissionsExt;
    let lab = lab("cli-codes");
    stdout(netlab(&lab).args(["run", "-d", "--name", "web", "sleep", "1000"]));
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, body: &str, mode: u32| {
        let p = dir.path().join(name);
        std::fs::write(&p, body).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p.display().to_string()
    };
    let plain = file("plain", "echo hi\n", 0o644);
    // Executable, but its interpreter is missing (ENOENT from execve).
    let no_interp = file("no-interp", "#!/nonexistent/interpreter\n", 0o755);
    let dir_path = dir.path().display().to_string();
    // Docker 20.10 (measured): `run` says 127 for a command not found and 126 for one
    // that cannot be executed; `exec` says 126 for both (the runtime's failure).
    for (cmd, run_code, words) in [
        (&plain, 126, "no execute permission"),
        (&dir_path, 126, "it is a directory"),
        (&no_interp, 127, "not found"),
        (&"no-such-binary-xyz".to_string(), 127, "not found"),
    ] {
        let e = fails(netlab(&lab).args(["exec", "web", cmd]), 126);
        assert!(e.contains(words), "exec {cmd}: {e}");
        let e = fails(netlab(&lab).args(["run", cmd]), run_code);
        assert!(e.contains(words), "run {cmd}: {e}");
    }
    let e = fails(netlab(&lab).args(["run", "sh", "-c", "exit 126"]), 126);
    assert_eq!(e, "");
    netlab(&lab)
        .args(["stop", "-t", "1", "web"])
        .assert()
        .success();
    let e = fails(netlab(&lab).args(["exec", "web", "true"]), 1);
    assert!(
        e.contains("container \"web\" is not running") && e.contains("netlab start web"),
        "{e}"
    );
}

/// `docker rm`: every name is tried; with `-f` a missing one is no failure (Docker 20.10
/// measured: exit 0, and `rm -f a b` removes b although a is missing).
#[test]
fn rm_goes_on_past_a_missing_name_and_rm_f_of_one_succeeds() {
    let lab = lab("cli-rm");
    for n in ["a", "b", "c"] {
        stdout(netlab(&lab).args(["run", "-d", "--name", n, "sleep", "1000"]));
    }
    let out = netlab(&lab)
        .args(["rm", "-f", "ghost", "a"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "a\n");
    assert!(String::from_utf8_lossy(&out.stderr).contains("ghost"));
    netlab(&lab).args(["rm", "-f", "ghost"]).assert().success();
    // Without -f a missing name fails the command, but the others are still removed.
    netlab(&lab)
        .args(["stop", "-t", "1", "b"])
        .assert()
        .success();
    let out = netlab(&lab)
        .args(["rm", "ghost", "b", "c"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "b\n");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("\"ghost\"") && err.contains("is running"),
        "{err}"
    );
    let left: serde_json::Value =
        serde_json::from_str(&stdout(netlab(&lab).args(["ps", "-a", "--json"]))).unwrap();
    let names: Vec<&str> = left
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["c"]);
    // A lab that does not exist has no containers either.
    Command::cargo_bin("netlab")
        .unwrap()
        .args(["--lab", &common::lab_name("cli-rm-none"), "rm", "-f", "x"])
        .assert()
        .success();
}

/// `run -h NAME` (Docker's short form of --hostname) and `--add-host`, whose lines come
/// before the links' and the container's own, as in Docker's /etc/hosts.
#[test]
fn hostname_and_add_host_make_the_containers_names() {
    let lab = lab("cli-hosts");
    stdout(netlab(&lab).args(["run", "-d", "--name", "web", "sleep", "1000"]));
    let out = stdout(netlab(&lab).args([
        "run",
        "--name",
        "c",
        "-h",
        "box",
        "--add-host",
        "db:10.0.0.5",
        "--add-host=gw:host-gateway",
        "--add-host",
        "v6:fe80::1",
        "--link",
        "web:w",
        "sh -c 'hostname; tail -n 5 /etc/hosts'",
    ]));
    assert_eq!(
        out,
        "box\n10.0.0.5\tdb\n172.17.0.1\tgw\nfe80::1\tv6\n172.17.0.2\tw web\n172.17.0.3\tbox\n"
    );
    let e = fails(
        netlab(&lab).args(["run", "--add-host", "db", "sleep", "1"]),
        125,
    );
    assert!(e.contains("--add-host") && e.contains("NAME:IP"), "{e}");
    // -h is the hostname; --help still helps.
    let help = stdout(netlab(&lab).args(["run", "--help"]));
    assert!(help.contains("-h, --hostname"), "{help}");
}

/// `run -u` and `exec -u`; HOME given with -e stays. Rootless, only uid 0 exists.
#[test]
fn user_options_of_run_and_exec() {
    let lab = lab("cli-user");
    if !nix::unistd::geteuid().is_root() {
        let e = fails(netlab(&lab).args(["run", "-u", "4242", "true"]), 125);
        assert!(e.contains("rootless") && e.contains("-u 0"), "{e}");
        assert_eq!(
            stdout(netlab(&lab).args(["run", "-u", "0:0", "id", "-u"])),
            "0\n"
        );
        return;
    }
    assert_eq!(
        stdout(netlab(&lab).args([
            "run",
            "--name",
            "a",
            "-u",
            "4242:4343",
            "-e",
            "HOME=/x",
            "sh -c 'id -u; id -g; echo $HOME'",
        ])),
        "4242\n4343\n/x\n"
    );
    stdout(netlab(&lab).args(["run", "-d", "--name", "web", "sleep", "1000"]));
    assert_eq!(
        stdout(netlab(&lab).args(["exec", "-u", "4242", "web", "id", "-u"])),
        "4242\n"
    );
    let e = fails(
        netlab(&lab).args(["exec", "--user", "no-such-user-xyz", "web", "true"]),
        126,
    );
    assert!(e.contains("no user \"no-such-user-xyz\""), "{e}");
}

/// `run --rm` (foreground: gone when the command returns; with -d: once its process
/// ends), `--restart`, and `-i`/`-t` of a foreground and a detached run.
#[test]
fn run_rm_restart_interactive_and_terminal_options() {
    let lab = lab("cli-runopts");
    let gone = |name: &str| {
        !stdout(netlab(&lab).args(["ps", "-a", "--json"]))
            .contains(&format!("\"name\": \"{name}\""))
    };
    let out = netlab(&lab)
        .args(["run", "--rm", "--name", "a", "sh", "-c", "echo bye; exit 4"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "bye\n");
    assert!(gone("a"));
    stdout(netlab(&lab).args(["run", "-d", "--rm", "--name", "b", "true"]));
    common::wait_until("b to go", std::time::Duration::from_secs(15), || gone("b"));
    let e = fails(
        netlab(&lab).args(["run", "--rm", "--restart", "always", "true"]),
        125,
    );
    assert!(e.contains("--restart") && e.contains("--rm"), "{e}");
    let e = fails(
        netlab(&lab).args(["run", "--restart", "always:3", "true"]),
        125,
    );
    assert!(e.contains("on-failure"), "{e}");
    stdout(netlab(&lab).args([
        "run",
        "-d",
        "--restart",
        "on-failure:1",
        "--name",
        "r",
        "sh",
        "-c",
        "exit 2",
    ]));
    common::wait_until("one restart", std::time::Duration::from_secs(15), || {
        stdout(netlab(&lab).args(["ps", "-a", "--json"])).contains("\"restart_count\": 1")
    });

    // Input only with -i, as docker run.
    assert_eq!(
        stdout(
            netlab(&lab)
                .args(["run", "--name", "noi", "cat"])
                .write_stdin("hello")
        ),
        ""
    );
    assert_eq!(
        stdout(
            netlab(&lab)
                .args(["run", "-i", "--name", "i", "cat"])
                .write_stdin("hello")
        ),
        "hello"
    );
    // -t: a terminal even when the input is a pipe, TERM=xterm; -it needs a terminal.
    let out = stdout(
        netlab(&lab)
            .args(["run", "-t", "--name", "t", "sh", "-c", "tty; echo $TERM"])
            .write_stdin("ignored"),
    );
    assert!(
        out.starts_with("/dev/pts/") && out.ends_with("\r\nxterm\r\n"),
        "{out:?}"
    );
    let e = fails(netlab(&lab).args(["run", "-it", "--name", "it", "true"]), 1);
    assert!(e.contains("the input device is not a TTY"), "{e}");
    // Detached: -t gives a terminal whose output is the log; -i an input that stays open.
    stdout(netlab(&lab).args(["run", "-d", "-t", "--name", "dt", "sh", "-c", "tty"]));
    common::wait_until(
        "dt's terminal in its log",
        std::time::Duration::from_secs(15),
        || stdout(netlab(&lab).args(["logs", "dt"])).starts_with("/dev/pts/"),
    );
    stdout(netlab(&lab).args(["run", "-d", "-i", "--name", "di", "cat"]));
    let pid = stdout(netlab(&lab).args(["inspect", "-f", "{{.State.Pid}}", "di"]));
    let stdin = std::fs::read_link(format!("/proc/{}/fd/0", pid.trim())).unwrap();
    assert!(
        stdin.to_string_lossy().starts_with("pipe:"),
        "{}",
        stdin.display()
    );
    netlab(&lab).args(["exec", "di", "true"]).assert().success();
}

/// `run -it` on a terminal: the container's process has it as its controlling terminal,
/// reads the keyboard, and its exit code is the command's.
#[test]
fn run_it_on_a_terminal_is_interactive() {
    use std::io::Write;
    let lab = lab("cli-runtty");
    let pty = nix::pty::openpty(None, None).unwrap();
    let slave = std::fs::File::from(pty.slave);
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("netlab"))
        .env("NETLAB_LAB", lab.name())
        .env_remove("RUST_LOG")
        .args(["run", "-it", "--rm", "--name", "box", "sh"])
        .stdin(slave.try_clone().unwrap())
        .stdout(slave.try_clone().unwrap())
        .stderr(slave)
        .spawn()
        .unwrap();
    let master = std::fs::File::from(pty.master);
    let mut keys = master.try_clone().unwrap();
    let screen = Screen::watch(master);
    keys.write_all(b"tty; echo in-$((40+2)); exit 5\r").unwrap();
    let shown = screen.wait_for("in-42");
    assert!(shown.contains("/dev/pts/"), "{shown}");
    let end = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            std::time::Instant::now() < end,
            "netlab run -it did not end"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(5));
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

/// `docker exec`'s terminal and input options: -t alone gets a terminal whatever the
/// input is (with TERM=xterm unless set); -it needs a terminal as input (Docker's refusal,
/// exit 1); without -i the command's input is empty; -d returns at once and the command
/// runs on without the client.
#[test]
fn exec_terminal_input_and_detach_options() {
    let lab = lab("cli-notty");
    lab.run(&common::sleeper("web")).unwrap();
    let out = stdout(
        netlab(&lab)
            .args(["exec", "-t", "web", "sh", "-c", "tty; echo $TERM"])
            .write_stdin("ignored"),
    );
    assert!(
        out.starts_with("/dev/pts/") && out.ends_with("\r\nxterm\r\n"),
        "{out:?}"
    );
    assert_eq!(
        stdout(netlab(&lab).args([
            "exec",
            "-t",
            "-e",
            "TERM=dumb",
            "web",
            "sh",
            "-c",
            "echo $TERM"
        ])),
        "dumb\r\n"
    );
    let e = fails(netlab(&lab).args(["exec", "-it", "web", "--", "true"]), 1);
    assert!(e.contains("the input device is not a TTY"), "{e}");
    assert_eq!(
        stdout(netlab(&lab).args(["exec", "web", "cat"]).write_stdin("hi")),
        ""
    );
    assert_eq!(
        stdout(
            netlab(&lab)
                .args(["exec", "-i", "web", "cat"])
                .write_stdin("hi")
        ),
        "hi"
    );
    assert_eq!(
        stdout(netlab(&lab).args([
            "exec",
            "-d",
            "web",
            "sh",
            "-c",
            "sleep 0.2; echo done > /dev/shm/marker",
        ])),
        ""
    );
    common::wait_until(
        "the detached command to write its marker",
        std::time::Duration::from_secs(15),
        || {
            netlab(&lab)
                .args(["exec", "web", "cat", "/dev/shm/marker"])
                .output()
                .unwrap()
                .stdout
                == b"done\n"
        },
    );
}

/// `netlab fault`, `partition`, `link`, `faults` and `heal` as a user types them: each
/// fault prints its name, `faults` lists them (also as JSON), `heal` names what it
/// healed; bad values are usage errors (125) that say what to write, and apply nothing.
#[test]
fn faults_from_the_command_line() {
    let lab = lab("cli-faults");
    for n in ["web", "db"] {
        stdout(netlab(&lab).args(["run", "-d", "--name", n, "sleep", "1000"]));
    }
    let help = stdout(netlab(&lab).args(["fault", "--help"]));
    for word in ["delay", "loss", "rate", "--to", "--seed", "netlab faults"] {
        assert!(help.contains(word), "fault --help lacks {word}: {help}");
    }
    let name = |args: &[&str]| stdout(netlab(&lab).args(args)).trim().to_string();
    assert_eq!(
        name(&[
            "fault", "delay", "web", "100ms", "--jitter", "10ms", "--to", "db", "--seed", "7"
        ]),
        "fault-1"
    );
    assert_eq!(
        name(&["partition", "web", "db", "--one-way", "--name", "cut"]),
        "cut"
    );
    assert_eq!(name(&["link", "down", "db", "--for", "1h"]), "fault-3");
    let table = stdout(netlab(&lab).arg("faults"));
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 4, "{table}");
    assert!(lines[0].starts_with("NAME"), "{table}");
    assert!(
        lines[1].contains("delay 100ms ±10ms on web/eth0 with db") && lines[1].contains(" 7 "),
        "{table}"
    );
    assert!(lines[2].contains("partition web -> db"), "{table}");
    assert!(
        lines[3].contains("link down db/eth0")
            && (lines[3].contains("59m") || lines[3].contains(" 1h ")),
        "{table}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&stdout(netlab(&lab).args(["faults", "--json"]))).unwrap();
    assert_eq!(json[0]["spec"]["impair"]["delay_us"], 100_000);
    assert_eq!(json[0]["seed"], 7);
    let inspect =
        stdout(netlab(&lab).args(["inspect", "-f", "{{json .NetworkSettings.Faults}}", "db"]));
    assert!(inspect.contains("cut: partition web -> db"), "{inspect}");

    assert_eq!(name(&["link", "up", "db"]), "fault-3");
    let err = fails(netlab(&lab).args(["link", "up", "db"]), 125);
    assert!(err.contains("no fault keeps db/eth0 down"), "{err}");
    for (args, needle) in [
        (&["fault", "loss", "web", "150%"][..], "between 0% and 100%"),
        (&["fault", "delay", "web", "100"], "unit"),
        (&["fault", "rate", "web", "0mbit"], "rate"),
        (&["fault", "delay", "ghost", "1ms"], "no container named"),
        (
            &["fault", "delay", "web", "1ms", "--if", "eth9"],
            "has eth0",
        ),
        (&["partition", "web,db", "db"], "both sides"),
        (&["link", "flap", "web"], "bounded time"),
        (&["heal", "nothing-of-that-name"], "no active fault"),
    ] {
        let err = fails(netlab(&lab).args(args), 125);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    assert_eq!(stdout(netlab(&lab).arg("heal")), "fault-1\ncut\n");
    assert_eq!(stdout(netlab(&lab).arg("faults")).lines().count(), 1);
}
