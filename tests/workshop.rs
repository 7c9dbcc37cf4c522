//! The workshop chapters (`docs/workshop/*.md`) run as tests, so the material cannot rot.
//!
//! A chapter's ```` ```console ```` blocks are a terminal session: a line `$ CMD` is a
//! command (a trailing `\` continues it on the next line), the lines after it are its
//! expected output (stdout and stderr as the terminal shows them), and `? N` says it exits
//! with N instead of 0. In expected output, a line `...` stands for any number of lines and
//! `[..]` for any text within a line (IDs, PIDs, times, MAC addresses, the lab's name).
//! Trailing spaces do not count. Any other fenced block is text and does not run; chapters
//! may not use ```` ```sh ````/```` ```bash ```` blocks, so every command they show runs.
//!
//! Each chapter runs in one `bash` (so `export`, `cd` and functions carry over, as in a
//! terminal), every command with stdin from /dev/null and a 60 s limit, inside a fresh
//! network and mount namespace of its own (`unshare --net --mount`): its labs have the
//! names a student sees (`default`) without meeting any other lab on the machine, and
//! nothing reaches the machine's own network. In the mount namespace, `/usr/local/bin` has
//! what `scripts/provision` installs there (netlab, birthday-service, mongo-server and the
//! MongoDB-compatible server) laid over its own files with overlayfs, the binaries built
//! here first with the same cargo; if cargo's target folder is not `./target`, the fresh
//! build is also bind-mounted on `./target/debug` (and `./target/release`, if they exist),
//! since the scenario files put those on their containers' PATH. A guard ends the chapter's labs
//! (`netlab down` inside the namespaces) and its shell, however the test ends.
//!
//! Needs root (the namespaces) and a MongoDB-compatible server from `scripts/mongo-server`
//! (CI installs both). `scripts/vagrant-demo --simulate` is run here too.

mod common;

use common::{bin_dir, repo};
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

// ------------------------------------------------------------------------------ parsing

/// One command of a chapter with what it must print.
#[derive(Debug, Clone, PartialEq)]
struct Step {
    /// `file:line` of the `$ ` line, for messages.
    at: String,
    command: String,
    expected: Vec<String>,
    status: i32,
}

/// The steps of a Markdown text's ```console blocks, in order.
fn parse<'a>(name: &str, md: &'a str, allow_shell_blocks: bool) -> Result<Vec<Step>, String> {
    let mut steps: Vec<Step> = Vec::new();
    let mut lines = md.lines().enumerate().peekable();
    // The open fence's language and indentation (a block in a list item is indented).
    let mut fence: Option<String> = None;
    let mut indent = 0;
    while let Some((i, raw)) = lines.next() {
        let at = format!("{name}:{}", i + 1);
        let trimmed = raw.trim_start();
        if let Some(info) = trimmed.strip_prefix("```") {
            match &fence {
                None => {
                    indent = raw.len() - trimmed.len();
                    let lang = info.trim().to_string();
                    if matches!(lang.as_str(), "sh" | "bash" | "shell" | "shell-session")
                        && !allow_shell_blocks
                    {
                        return Err(format!(
                            "{at}: a ```{lang} block; write commands in ```console blocks (`$ CMD` and its output) so that they run"
                        ));
                    }
                    fence = Some(lang);
                }
                Some(_) => fence = None,
            }
            continue;
        }
        if fence.as_deref() != Some("console") {
            continue;
        }
        // Drop the fence's indentation (or all of a shorter one: blank lines).
        let unindent = |l: &'a str| match l.get(..indent) {
            Some(pad) if pad.trim().is_empty() => &l[indent..],
            _ => l.trim_start(),
        };
        let line = unindent(raw);
        if let Some(cmd) = line.strip_prefix("$ ") {
            let mut command = cmd.to_string();
            while command.ends_with('\\') {
                match lines.next() {
                    Some((_, more)) => {
                        command.push('\n');
                        command.push_str(unindent(more));
                    }
                    None => {
                        return Err(format!(
                            "{at}: the command ends in `\\` at the end of the file"
                        ));
                    }
                }
            }
            steps.push(Step {
                at,
                command,
                expected: Vec::new(),
                status: 0,
            });
        } else if let Some(code) = line.strip_prefix("? ") {
            let step = steps
                .last_mut()
                .ok_or_else(|| format!("{at}: `? N` before any `$ ` command"))?;
            step.status = code
                .trim()
                .parse()
                .map_err(|_| format!("{at}: `? N` wants a number, got {code:?}"))?;
        } else {
            let step = steps.last_mut().ok_or_else(|| {
                format!("{at}: output before any `$ ` command in a ```console block")
            })?;
            step.expected.push(line.trim_end().to_string());
        }
    }
    if fence.is_some() {
        return Err(format!("{name}: a fenced block is not closed"));
    }
    Ok(steps)
}

// ------------------------------------------------------------------------------ matching

/// Whether `line` matches `pattern`, where `[..]` in the pattern matches any text.
fn line_matches(pattern: &str, line: &str) -> bool {
    let parts: Vec<&str> = pattern.split("[..]").collect();
    if parts.len() == 1 {
        return pattern == line;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !line.starts_with(first) || line.len() < first.len() + last.len() || !line.ends_with(last) {
        return false;
    }
    let mut rest = &line[first.len()..line.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(p) => rest = &rest[p + part.len()..],
            None => return false,
        }
    }
    true
}

/// Whether `actual` matches `expected`, where a line `...` matches any number of lines.
fn lines_match(expected: &[String], actual: &[String]) -> bool {
    match expected.split_first() {
        None => actual.is_empty(),
        Some((p, rest)) if p == "..." => {
            (0..=actual.len()).any(|skip| lines_match(rest, &actual[skip..]))
        }
        Some((p, rest)) => {
            !actual.is_empty() && line_matches(p, &actual[0]) && lines_match(rest, &actual[1..])
        }
    }
}

/// The command's output as lines, as they are compared: trailing spaces dropped, and
/// the newline that ends the last line is no extra empty line.
fn output_lines(out: &str) -> Vec<String> {
    let out = out.strip_suffix('\n').unwrap_or(out);
    if out.is_empty() {
        return Vec::new();
    }
    out.split('\n').map(|l| l.trim_end().to_string()).collect()
}

/// A line diff (longest common subsequence, wildcards honoured): ` ` same, `-` expected
/// only, `+` actual only.
fn diff(expected: &[String], actual: &[String]) -> String {
    let (n, m) = (expected.len(), actual.len());
    let same = |i: usize, j: usize| expected[i] == "..." || line_matches(&expected[i], &actual[j]);
    let mut lcs = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if same(i, j) {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    while i < n || j < m {
        if i < n && j < m && same(i, j) {
            let _ = writeln!(out, "  {}", actual[j]);
            if expected[i] == "..." && j + 1 < m && (i + 1 >= n || !same(i + 1, j + 1)) {
                j += 1; // `...` goes on swallowing lines
                continue;
            }
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            let _ = writeln!(out, "- {}", expected[i]);
            i += 1;
        } else {
            let _ = writeln!(out, "+ {}", actual[j]);
            j += 1;
        }
    }
    out
}

// ------------------------------------------------------------------------------ binaries

/// The MongoDB-compatible server `scripts/mongo-server` provides (CI installs it first).
fn mongo_server() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let out = Command::new(repo().join("scripts/mongo-server"))
            .arg("path")
            .stderr(Stdio::inherit())
            .output()
            .expect("run scripts/mongo-server path");
        assert!(
            out.status.success(),
            "scripts/mongo-server path found no MongoDB-compatible server; run scripts/mongo-server install"
        );
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
    })
}

/// What `scripts/provision` adds to `/usr/local/bin`: netlab, birthday-service,
/// mongo-server and the database server, as symlinks; laid over the machine's own
/// `/usr/local/bin` (overlayfs) in a chapter's mount namespace.
fn provisioned_bin() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        // In cargo's folder for test files: a static is never dropped, and `cargo clean`
        // takes it away.
        let dir = tempfile::Builder::new()
            .prefix("workshop-bin")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .unwrap();
        let link = |src: &Path, name: &str| {
            std::os::unix::fs::symlink(src, dir.path().join(name)).unwrap();
        };
        for name in ["netlab", "birthday-service"] {
            link(&bin_dir().join(name), name);
        }
        link(&repo().join("scripts/mongo-server"), "mongo-server");
        let server = mongo_server();
        let kind = if server.to_string_lossy().contains("ferretdb") {
            "ferretdb"
        } else {
            "mongod"
        };
        link(server, kind);
        dir
    })
    .path()
}

// ------------------------------------------------------------------------------ the shell

/// A bash in namespaces of its own, fed one command at a time. Dropping it ends the
/// chapter's labs and the shell.
struct Shell {
    child: Child,
    stdin: ChildStdin,
    out: Receiver<Vec<u8>>,
    buf: Vec<u8>,
    /// Keep the namespaces reachable for the cleanup even if the shell has died.
    netns: std::fs::File,
    mntns: std::fs::File,
    seq: u32,
}

impl Shell {
    fn start() -> Shell {
        assert!(
            Command::new("id")
                .arg("-u")
                .output()
                .is_ok_and(|o| o.stdout == b"0\n"),
            "the workshop tests need root (unshare --net --mount, and the labs); CI runs as root"
        );
        let (reader, writer) = std::io::pipe().expect("pipe");
        let mut child = Command::new("unshare")
            .args(["--net", "--mount", "--propagation", "private", "--"])
            .args(["bash", "--noprofile", "--norc"])
            .current_dir(repo())
            .env_remove("NETLAB_LAB")
            .env("LC_ALL", "C.UTF-8")
            .env("TERM", "dumb")
            .stdin(Stdio::piped())
            .stdout(writer.try_clone().unwrap())
            .stderr(writer)
            .process_group(0)
            .spawn()
            .expect("spawn unshare bash (util-linux)");
        let stdin = child.stdin.take().unwrap();
        let (tx, out) = channel();
        std::thread::spawn(move || {
            let mut reader = reader;
            let mut chunk = [0u8; 8192];
            while let Ok(n) = reader.read(&mut chunk) {
                if n == 0 || tx.send(chunk[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        // unshare has exec'd bash once the shell answers; then its namespaces are final.
        let mut sh = Shell {
            netns: std::fs::File::open("/dev/null").unwrap(),
            mntns: std::fs::File::open("/dev/null").unwrap(),
            child,
            stdin,
            out,
            buf: Vec::new(),
            seq: 0,
        };
        let (st, out) = sh.run("true");
        assert_eq!(st, 0, "the chapter's shell did not start: {out}");
        let pid = sh.child.id();
        sh.netns = std::fs::File::open(format!("/proc/{pid}/ns/net")).unwrap();
        sh.mntns = std::fs::File::open(format!("/proc/{pid}/ns/mnt")).unwrap();
        // The provisioned machine, in this mount namespace only.
        let mut setup = format!(
            "set -e; mount -t overlay overlay -o lowerdir={}:/usr/local/bin /usr/local/bin",
            sh_quote(provisioned_bin())
        );
        for profile in ["debug", "release"] {
            let dir = repo().join("target").join(profile);
            if dir.is_dir() && dir != bin_dir() {
                let _ = write!(
                    setup,
                    "; mount --bind {} {}",
                    sh_quote(bin_dir()),
                    sh_quote(&dir)
                );
            }
        }
        setup.push_str("; set +e");
        let (st, out) = sh.run(&setup);
        assert_eq!(st, 0, "setting up the chapter's namespaces failed: {out}");
        sh
    }

    /// Runs one command; returns its exit status and output.
    fn run(&mut self, command: &str) -> (i32, String) {
        self.seq += 1;
        let marker = format!("@@workshop-{}-{}@@", std::process::id(), self.seq);
        let script = format!("{{ {command}\n}} </dev/null\nprintf '\\n{marker} %s\\n' \"$?\"\n");
        self.stdin
            .write_all(script.as_bytes())
            .and_then(|()| self.stdin.flush())
            .unwrap_or_else(|e| panic!("the chapter's shell is gone ({e}) before: {command}"));
        let end = format!("\n{marker} ");
        let deadline = Instant::now() + COMMAND_TIMEOUT;
        loop {
            let text = String::from_utf8_lossy(&self.buf);
            if let Some(pos) = text.find(&end)
                && let Some(nl) = text[pos + end.len()..].find('\n')
            {
                let status: i32 = text[pos + end.len()..pos + end.len() + nl].parse().unwrap();
                let output = text[..pos].to_string();
                let rest = text[pos + end.len() + nl + 1..].as_bytes().to_vec();
                self.buf = rest;
                return (status, output);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.out.recv_timeout(left) {
                Ok(chunk) => self.buf.extend(chunk),
                Err(RecvTimeoutError::Timeout) => panic!(
                    "`{command}` did not finish within {} s; its output so far:\n{text}",
                    COMMAND_TIMEOUT.as_secs()
                ),
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("the chapter's shell ended during `{command}`; output:\n{text}")
                }
            }
        }
    }

    /// Runs a command in the shell's namespaces from outside it (for the cleanup).
    fn nsenter(&self, args: &[&str]) -> std::process::Output {
        let me = std::process::id();
        let fd = |f: &std::fs::File| {
            use std::os::fd::AsRawFd;
            format!("/proc/{me}/fd/{}", f.as_raw_fd())
        };
        Command::new("nsenter")
            .arg(format!("--net={}", fd(&self.netns)))
            .arg(format!("--mount={}", fd(&self.mntns)))
            .arg("--")
            .args(args)
            .env_remove("NETLAB_LAB")
            .output()
            .expect("run nsenter")
    }
}

impl Drop for Shell {
    fn drop(&mut self) {
        // Every lab of the chapter, found and ended from inside its network namespace.
        let netlab = bin_dir().join("netlab");
        let netlab = netlab.to_str().unwrap();
        let ls = self.nsenter(&[netlab, "lab", "ls", "--json"]);
        let labs: Vec<String> = serde_json::from_slice::<serde_json::Value>(&ls.stdout)
            .ok()
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|l| l["Name"].as_str().map(String::from))
            .collect();
        for lab in labs {
            let out = self.nsenter(&[netlab, "--lab", &lab, "down"]);
            if !out.status.success() {
                eprintln!(
                    "workshop: netlab --lab {lab} down failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
        // The shell's process group: this test started it.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.wait();
    }
}

fn sh_quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', r"'\''"))
}

// ------------------------------------------------------------------------------ chapters

/// Runs every command of a chapter and checks its output; reports every mismatch.
fn run_chapter(file: &str) {
    let path = repo().join("docs/workshop").join(file);
    let md = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    // The README alone may show setup commands that cannot run here (see `readme`).
    let steps = parse(&format!("docs/workshop/{file}"), &md, file == "README.md")
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!steps.is_empty(), "{file} shows no ```console command");
    bin_dir();
    let started = Instant::now();
    let mut sh = Shell::start();
    let mut failures = String::new();
    for step in &steps {
        let t = Instant::now();
        let (status, out) = sh.run(&step.command);
        let actual = output_lines(&out);
        let ok_out = lines_match(&step.expected, &actual);
        if !ok_out || status != step.status {
            let _ = writeln!(
                failures,
                "\n{}: $ {}\n  exit status: expected {}, got {}\n  output (- expected, + actual):\n{}",
                step.at,
                step.command,
                step.status,
                status,
                diff(&step.expected, &actual)
            );
            // Later commands build on this one: stop at the first failure.
            break;
        }
        eprintln!(
            "{} ok ({} ms): $ {}",
            step.at,
            t.elapsed().as_millis(),
            step.command
        );
    }
    drop(sh);
    assert!(
        failures.is_empty(),
        "{file} does not match what the commands do:{failures}"
    );
    eprintln!(
        "{file}: {} commands as shown, in {:.1} s",
        steps.len(),
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn chapter_01_link() {
    run_chapter("01-link.md");
}

#[test]
fn chapter_02_port() {
    run_chapter("02-port.md");
}

#[test]
fn chapter_03_pipework() {
    run_chapter("03-pipework.md");
}

#[test]
fn chapter_04_lan() {
    run_chapter("04-lan.md");
}

#[test]
fn chapter_05_faults() {
    run_chapter("05-faults.md");
}

#[test]
fn chapter_06_networks() {
    run_chapter("06-networks.md");
}

#[test]
fn chapter_07_macvlan() {
    run_chapter("07-macvlan.md");
}

/// The README's ```console blocks run like a chapter's. Its setup commands (`vagrant up`,
/// `scripts/provision`, `curl` from the laptop) are ```sh blocks, which cannot run here:
/// scripts/check-vagrant validates the Vagrantfile and tests/provision.rs the provisioning.
#[test]
fn readme() {
    run_chapter("README.md");
}

/// Every chapter in docs/workshop has a test above.
#[test]
fn every_chapter_is_tested() {
    let tested = [
        "01-link.md",
        "02-port.md",
        "03-pipework.md",
        "04-lan.md",
        "05-faults.md",
        "06-networks.md",
        "07-macvlan.md",
    ];
    let mut found: Vec<String> = std::fs::read_dir(repo().join("docs/workshop"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".md") && n != "README.md")
        .collect();
    found.sort();
    assert_eq!(found, tested, "add a #[test] for each chapter");
}

/// `scripts/vagrant-demo --simulate`: the Vagrant demo's exact sequence on a simulated
/// uplink, in the namespaces of a chapter.
#[test]
fn vagrant_demo_simulated() {
    bin_dir();
    let mut sh = Shell::start();
    let t = Instant::now();
    let (status, out) = sh.run("NETLAB_LAB=vagrant scripts/vagrant-demo --simulate 2>&1");
    assert_eq!(status, 0, "scripts/vagrant-demo --simulate failed:\n{out}");
    for line in [
        "name = James Clerk Maxwell, birthday = 13.06.1831",
        "name = Albert Einstein, birthday = 14.03.1879",
        "name = Werner Heisenberg, birthday = 05.12.1901",
    ] {
        assert_eq!(
            out.matches(line).count(),
            3,
            "{line:?} once per address:\n{out}"
        );
    }
    let (status, out) =
        sh.run("netlab --lab vagrant exec --node laptop -- curl -sS http://10.2.0.11:8080");
    assert_eq!(status, 0, "{out}");
    assert_eq!(output_lines(&out).len(), 3, "{out}");
    eprintln!(
        "vagrant-demo --simulate: {:.1} s",
        t.elapsed().as_secs_f64()
    );
    // The real mode looks for the NIC holding 10.2.0.10; in this (empty) network namespace
    // there is none, and it must stop before touching anything.
    let (status, out) = sh.run("scripts/vagrant-demo 2>&1");
    assert_eq!(status, 1, "{out}");
    assert!(
        out.contains("no interface of this machine has 10.2.0.10"),
        "{out}"
    );
}

// ------------------------------------------------------------------------------ the runner's own tests

#[test]
fn runner_parses_commands_outputs_and_statuses() {
    let md =
        "text\n```console\n$ echo a \\\n  b\na b\n$ false\n? 1\n```\n```text\n$ not run\n```\n";
    let steps = parse("t.md", md, false).unwrap();
    assert_eq!(steps.len(), 2);
    assert_eq!(steps[0].command, "echo a \\\n  b");
    assert_eq!(steps[0].expected, ["a b"]);
    assert_eq!(steps[0].at, "t.md:3");
    assert_eq!((steps[1].status, steps[1].expected.len()), (1, 0));
    assert!(parse("t.md", "```sh\nls\n```\n", false).is_err());
    assert!(parse("t.md", "```sh\nls\n```\n", true).is_ok());
    assert!(parse("t.md", "```console\noutput first\n```\n", false).is_err());
    assert!(parse("t.md", "```console\n$ x\n", false).is_err());
    let indented = parse(
        "t.md",
        "1. item\n\n   ```console\n   $ echo \\\n   x\n   x\n\n   ? 3\n   ```\n",
        false,
    )
    .unwrap();
    assert_eq!(indented[0].command, "echo \\\nx");
    assert_eq!(
        (indented[0].expected.clone(), indented[0].status),
        (vec!["x".to_string(), String::new()], 3)
    );
}

#[test]
fn runner_wildcards() {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    for (pattern, line, ok) in [
        ("abc", "abc", true),
        ("abc", "abd", false),
        ("a[..]c", "abbbc", true),
        ("a[..]c", "ac", true),
        ("a[..]c", "acx", false),
        ("[..]", "", true),
        ("x[..]y[..]z", "x1y2z", true),
        ("x[..]y[..]z", "x1z2y", false),
        ("ab[..]ba", "aba", false),
    ] {
        assert_eq!(line_matches(pattern, line), ok, "{pattern:?} vs {line:?}");
    }
    assert!(lines_match(
        &s(&["a", "...", "d"]),
        &s(&["a", "b", "c", "d"])
    ));
    assert!(lines_match(&s(&["a", "...", "d"]), &s(&["a", "d"])));
    assert!(lines_match(&s(&["..."]), &s(&[])));
    assert!(!lines_match(&s(&["a", "..."]), &s(&["b"])));
    assert!(!lines_match(&s(&["a"]), &s(&["a", "b"])));
    assert_eq!(output_lines("x\ny\n"), ["x", "y"]);
    assert_eq!(output_lines("x  \n\ny"), ["x", "", "y"]);
    assert!(output_lines("").is_empty());
    let d = diff(&s(&["a", "b", "c"]), &s(&["a", "x", "c"]));
    assert_eq!(d, "  a\n- b\n+ x\n  c\n");
}
