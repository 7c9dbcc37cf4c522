//! `scripts/provision` without the network: the step list, the "already there" checks of
//! each step (packages, Rust, Go, the database server) against stub programs, `--dry-run`
//! and `--check` changing nothing, and the install step into a temporary prefix, twice,
//! the second time changing nothing. The binaries it installs are stand-ins
//! (`NETLAB_BIN_DIR`), so nothing is compiled here.
//!
//! Each run gets an empty environment with a PATH of stubs first, then `/usr/bin:/bin`,
//! and a temporary HOME, so the machine's own tools do not decide the outcome.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/provision")
}

/// A sandbox: stub programs, a HOME, a prefix and stand-in binaries.
struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Sandbox {
        let s = Sandbox {
            dir: tempfile::Builder::new()
                .prefix("provision")
                .tempdir()
                .unwrap(),
        };
        for d in ["stubs", "home", "prefix", "built"] {
            std::fs::create_dir_all(s.path(d)).unwrap();
        }
        s.built("netlab", "v1");
        s.built("birthday-service", "v1");
        s
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// A stub program on the sandbox's PATH running `body` (POSIX sh).
    fn stub(&self, name: &str, body: &str) {
        write_exe(
            &self.path("stubs").join(name),
            &format!("#!/bin/sh\n{body}\n"),
        );
    }

    /// A stand-in for a built binary, with `version` in it.
    fn built(&self, name: &str, version: &str) {
        write_exe(
            &self.path("built").join(name),
            &format!("#!/bin/sh\necho {name} {version}\n"),
        );
    }

    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new("bash");
        cmd.arg(script())
            .args(args)
            .env_clear()
            .env(
                "PATH",
                format!("{}:/usr/bin:/bin", self.path("stubs").display()),
            )
            .env("HOME", self.path("home"))
            .env("LC_ALL", "C")
            .env("NETLAB_PREFIX", self.path("prefix"))
            .env("NETLAB_BIN_DIR", self.path("built"));
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().expect("run scripts/provision")
    }

    /// Runs and returns (exit status, stdout + stderr).
    fn text(&self, args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
        let out = self.run(args, env);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code().unwrap_or(-1), text)
    }

    /// Every file under the prefix with its size, mtime and inode: a change shows.
    fn snapshot(&self) -> Vec<(PathBuf, u64, i64, u64)> {
        let mut v: Vec<_> = std::fs::read_dir(self.path("prefix/bin"))
            .map(|rd| {
                rd.flatten()
                    .map(|e| {
                        let m = e.metadata().unwrap();
                        (
                            e.path(),
                            m.len(),
                            m.mtime_nsec() + m.mtime() * 1_000_000_000,
                            m.ino(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }
}

fn write_exe(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// dpkg-query that reports every package installed, or all but `missing`.
fn dpkg_stub(sb: &Sandbox, missing: &[&str]) {
    let cases: String = missing
        .iter()
        .map(|p| format!("  {p}) echo 'not-installed'; exit 0 ;;\n"))
        .collect();
    sb.stub(
        "dpkg-query",
        &format!("for last; do :; done\ncase $last in\n{cases}  *) printf installed ;;\nesac"),
    );
}

#[test]
fn lists_its_steps_in_order() {
    let sb = Sandbox::new();
    let (st, out) = sb.text(&["--steps"], &[]);
    assert_eq!(st, 0, "{out}");
    let names: Vec<&str> = out
        .lines()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(
        names,
        ["packages", "rust", "go", "mongo", "build", "install"],
        "{out}"
    );
    let (st, out) = sb.text(&["--only", "nope"], &[]);
    assert_eq!(st, 1);
    assert!(
        out.contains("unknown step 'nope'; the steps are: packages rust go mongo build install"),
        "{out}"
    );
    let (st, out) = sb.text(&["--bogus"], &[]);
    assert_eq!(st, 2, "usage: {out}");
    assert!(out.contains("scripts/provision --steps"), "{out}");
}

#[test]
fn install_to_a_prefix_twice_changes_nothing_the_second_time() {
    let sb = Sandbox::new();
    let (st, out) = sb.text(&["--only", "build,install"], &[]);
    assert_eq!(st, 0, "{out}");
    assert!(out.contains("build: ok (prebuilt binaries in"), "{out}");
    assert!(out.contains("install: to install:"), "{out}");
    for name in ["netlab", "birthday-service", "mongo-server"] {
        let p = sb.path("prefix/bin").join(name);
        let mode = std::fs::metadata(&p).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o755, "{}", p.display());
    }
    let netlab = sb.path("prefix/bin/netlab");
    assert_eq!(
        Command::new(&netlab).output().unwrap().stdout,
        b"netlab v1\n"
    );
    let before = sb.snapshot();
    assert_eq!(before.len(), 3);

    // Again: every step reports ok and no file is touched.
    let (st, out) = sb.text(&["--only", "build,install"], &[]);
    assert_eq!(st, 0, "{out}");
    assert!(out.contains("install: ok ("), "{out}");
    assert!(!out.contains("doing it"), "{out}");
    assert_eq!(sb.snapshot(), before, "a second run changed the prefix");
    let (st, out) = sb.text(&["--check", "--only", "install"], &[]);
    assert_eq!((st, out.contains("install: ok")), (0, true), "{out}");

    // A new build: --check sees it, changes nothing; a run installs exactly that file.
    sb.built("netlab", "v2");
    let (st, out) = sb.text(&["--check", "--only", "install"], &[]);
    assert_eq!(st, 1, "{out}");
    let want = format!("install: needed (to install: {})", netlab.display());
    assert!(out.contains(&want), "{out}");
    assert_eq!(sb.snapshot(), before, "--check changed the prefix");
    let (st, out) = sb.text(&["--only", "install"], &[]);
    assert_eq!(st, 0, "{out}");
    assert_eq!(
        Command::new(&netlab).output().unwrap().stdout,
        b"netlab v2\n"
    );
    let after = sb.snapshot();
    let changed: Vec<_> = after
        .iter()
        .zip(&before)
        .filter(|(a, b)| a != b)
        .map(|(a, _)| a.0.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(changed, ["netlab"]);
}

#[test]
fn dry_run_prints_the_commands_and_runs_none() {
    let sb = Sandbox::new();
    dpkg_stub(&sb, &["graphviz", "nftables"]);
    sb.stub("apt-get", "touch \"$HOME/apt-get-ran\"");
    let (st, out) = sb.text(&["--dry-run", "--only", "packages,install"], &[]);
    assert_eq!(st, 0, "{out}");
    assert!(
        out.contains("packages: needed (missing: nftables graphviz)"),
        "{out}"
    );
    assert!(out.contains("    + apt-get update -qq"), "{out}");
    assert!(
        out.contains("    + env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nftables graphviz"),
        "{out}"
    );
    let bin = sb.path("prefix/bin");
    assert!(
        out.contains(&format!(
            "    + install -D -m 0755 -- {} {}",
            sb.path("built/netlab").display(),
            bin.join("netlab").display()
        )),
        "{out}"
    );
    assert!(!sb.path("home/apt-get-ran").exists(), "apt-get ran");
    assert!(!bin.exists(), "the prefix was touched");
}

#[test]
fn packages_already_installed_need_nothing() {
    let sb = Sandbox::new();
    dpkg_stub(&sb, &[]);
    sb.stub("apt-get", "touch \"$HOME/apt-get-ran\"; exit 1");
    // Not --check: a real run must see that nothing is missing and not call apt-get.
    let (st, out) = sb.text(&["--only", "packages"], &[]);
    assert_eq!(st, 0, "{out}");
    assert!(
        out.contains("packages: ok (all ") && out.contains(" installed)"),
        "{out}"
    );
    assert!(!sb.path("home/apt-get-ran").exists(), "apt-get ran");

    dpkg_stub(&sb, &["graphviz"]);
    let (st, out) = sb.text(&["--check", "--only", "packages"], &[]);
    assert_eq!(st, 1, "{out}");
    assert!(
        out.contains("packages: needed (missing: graphviz)"),
        "{out}"
    );
}

#[test]
fn rust_is_checked_against_the_workspace_rust_version() {
    let sb = Sandbox::new();
    sb.stub("cargo", "echo cargo 1.80.0");
    sb.stub("rustc", "echo 'rustc 1.80.0 (051478957 2024-07-21)'");
    let (st, out) = sb.text(&["--check", "--only", "rust"], &[]);
    assert_eq!(st, 1, "{out}");
    assert!(
        out.contains("rust: needed (rustc 1.80.0 is older than the workspace's rust-version"),
        "{out}"
    );
    // Far in the future: new enough for any rust-version.
    sb.stub("rustc", "echo 'rustc 9.99.0 (000000000 2099-01-01)'");
    let (st, out) = sb.text(&["--check", "--only", "rust"], &[]);
    assert_eq!(st, 0, "{out}");
    assert!(out.contains("rust: ok (rustc 9.99.0 (>= "), "{out}");
}

#[test]
fn go_is_needed_only_without_a_server_and_only_if_too_old() {
    let sb = Sandbox::new();
    let home = sb.path("home");
    let cache = home.join("cache");
    let cache = cache.to_str().unwrap();
    let env = [("NETLAB_CACHE", cache)];
    for (version, status, says) in [
        ("1.19.8", 1, "go: needed (go 1.19.8 is older than 1.21)"),
        (
            "1.23.5",
            0,
            "go: ok (go 1.23.5; it fetches go 1.24 for FerretDB itself (GOTOOLCHAIN=auto))",
        ),
        ("1.24.3", 0, "go: ok (go 1.24.3)"),
    ] {
        sb.stub("go", &format!("echo 'go version go{version} linux/amd64'"));
        let (st, out) = sb.text(&["--check", "--only", "go"], &env);
        assert_eq!(st, status, "{out}");
        assert!(out.contains(says), "want {says:?}:\n{out}");
    }
    // With a server at hand, Go does not matter, however old.
    sb.stub("go", "echo 'go version go1.19.8 linux/amd64'");
    sb.stub("ferretdb", "echo ferretdb");
    let (st, out) = sb.text(&["--check", "--only", "go,mongo"], &env);
    assert_eq!(st, 0, "{out}");
    let ferretdb = sb.path("stubs/ferretdb");
    assert!(
        out.contains(&format!(
            "go: ok (not needed: the server is {})",
            ferretdb.display()
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!("mongo: ok ({})", ferretdb.display())),
        "{out}"
    );
    // NETLAB_MONGOD wins, as in scripts/mongo-server.
    let mongod = sb.path("stubs/mongod-7");
    sb.stub("mongod-7", "exit 0");
    let (st, out) = sb.text(
        &["--check", "--only", "mongo"],
        &[
            ("NETLAB_MONGOD", mongod.to_str().unwrap()),
            ("NETLAB_CACHE", cache),
        ],
    );
    assert_eq!(st, 0, "{out}");
    assert!(
        out.contains(&format!("mongo: ok ({})", mongod.display())),
        "{out}"
    );
}

#[test]
fn a_ferretdb_build_in_the_cache_counts_and_is_put_on_path() {
    let sb = Sandbox::new();
    let cache = sb.path("home/cache");
    let cached = cache.join("ferretdb/bin/ferretdb");
    std::fs::create_dir_all(cached.parent().unwrap()).unwrap();
    write_exe(&cached, "#!/bin/sh\necho 'version: v1.24.2'\n");
    let env = [("NETLAB_CACHE", cache.to_str().unwrap())];
    let (st, out) = sb.text(&["--check", "--only", "go,mongo"], &env);
    assert_eq!(st, 1, "{out}");
    assert!(
        out.contains(&format!(
            "go: ok (not needed: the server is {})",
            cached.display()
        )),
        "{out}"
    );
    assert!(out.contains("not yet on PATH as"), "{out}");
    // The mongo step copies it into the prefix; scripts/mongo-server finds the cached
    // build first (its NETLAB_CACHE), so nothing is built.
    let (st, out) = sb.text(&["--only", "mongo"], &env);
    assert_eq!(st, 0, "{out}");
    let on_path = sb.path("prefix/bin/ferretdb");
    assert_eq!(
        std::fs::read(&on_path).unwrap(),
        std::fs::read(&cached).unwrap()
    );
    let (st, out) = sb.text(&["--check", "--only", "mongo"], &env);
    assert_eq!(st, 0, "{out}");
    assert!(
        out.contains(&format!("mongo: ok ({})", on_path.display())),
        "{out}"
    );
}

#[test]
fn mongodb_community_is_chosen_by_env() {
    let sb = Sandbox::new();
    let env = [("NETLAB_MONGODB", "community")];
    let (st, out) = sb.text(&["--check", "--only", "go,mongo"], &env);
    assert_eq!(st, 1, "{out}");
    assert!(
        out.contains("go: ok (not needed: NETLAB_MONGODB=community)"),
        "{out}"
    );
    assert!(
        out.contains("mongo: needed (no mongod (NETLAB_MONGODB=community))"),
        "{out}"
    );
    sb.stub("mongod", "exit 0");
    let (st, out) = sb.text(&["--check", "--only", "mongo"], &env);
    assert_eq!(st, 0, "{out}");
    let (st, out) = sb.text(
        &["--check", "--only", "mongo"],
        &[("NETLAB_MONGODB", "oracle")],
    );
    assert_eq!(st, 1, "{out}");
    assert!(
        out.contains("NETLAB_MONGODB=oracle: want ferretdb or community"),
        "{out}"
    );
}
