//! The command line: help, the missing-address error, invalid ports.

use assert_cmd::Command;

fn service() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_birthday-service"));
    cmd.env_remove("MONGO_PORT_27017_TCP_ADDR")
        .env_remove("MONGO_PORT_27017_TCP_PORT")
        .timeout(std::time::Duration::from_secs(20));
    cmd
}

fn stderr_of(cmd: &mut Command) -> String {
    let out = cmd.assert().failure().code(2).get_output().clone();
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn help_explains_the_start_line_the_variables_and_the_uri() {
    let out = service()
        .arg("--help")
        .assert()
        .success()
        .get_output()
        .clone();
    let help = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "birthday-service 8080 $MONGO_PORT_27017_TCP_ADDR $MONGO_PORT_27017_TCP_PORT",
        "MONGO_PORT_27017_TCP_ADDR",
        "MONGO_PORT_27017_TCP_PORT",
        "--mongo-uri",
        "--db",
        "--collection",
        "RUST_LOG",
        "SIGTERM",
        "IPv6",
        "1 MiB and 10,000 documents",
        "Idempotency-Key",
        "--header-timeout",
        "BIRTHDAY_HEADER_TIMEOUT",
        "[default: 10s]",
        "--body-timeout",
        "BIRTHDAY_BODY_TIMEOUT",
        "[default: 30s]",
    ] {
        assert!(help.contains(needle), "--help lacks {needle:?}:\n{help}");
    }
}

#[test]
fn no_address_at_all_names_the_variables() {
    for args in [&[][..], &["8080"][..], &["8080", ""][..]] {
        let err = stderr_of(service().args(args));
        assert!(err.contains("no MongoDB address"), "{args:?}: {err}");
        assert!(err.contains("MONGO_PORT_27017_TCP_ADDR"), "{err}");
        assert!(err.contains("MONGO_PORT_27017_TCP_PORT"), "{err}");
        assert!(err.contains("--mongo-uri"), "{err}");
    }
    // The article's line when no link exists: the shell expands both variables to nothing.
    let err = stderr_of(
        service()
            .args(["8080"])
            .env("MONGO_PORT_27017_TCP_ADDR", "")
            .env("MONGO_PORT_27017_TCP_PORT", ""),
    );
    assert!(err.contains("no MongoDB address"), "{err}");
}

#[test]
fn invalid_ports_are_refused() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["99999", "127.0.0.1", "27017"],
            "invalid value '99999' for '[PORT]'",
        ),
        (
            &["http", "127.0.0.1", "27017"],
            "invalid value 'http' for '[PORT]'",
        ),
        (
            &["8080", "127.0.0.1", "70000"],
            "invalid MongoDB port \"70000\"",
        ),
        (
            &["8080", "127.0.0.1", "abc"],
            "invalid MongoDB port \"abc\"",
        ),
    ];
    for (args, want) in cases {
        let err = stderr_of(service().args(*args));
        assert!(err.contains(want), "{args:?}: {err}");
    }
    let err = stderr_of(
        service()
            .arg("8080")
            .env("MONGO_PORT_27017_TCP_ADDR", "10.2.0.2")
            .env("MONGO_PORT_27017_TCP_PORT", "x"),
    );
    assert!(err.contains("invalid MongoDB port \"x\""), "{err}");
}

#[test]
fn a_port_in_use_is_a_clear_start_up_error() {
    let taken = std::net::TcpListener::bind("[::]:0")
        .or_else(|_| std::net::TcpListener::bind("0.0.0.0:0"))
        .unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = service()
        .args([&port, "127.0.0.1", "27017"])
        .assert()
        .failure()
        .code(1)
        .get_output()
        .clone();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains(&format!("listen on port {port}")), "{err}");
    assert!(err.contains("in use"), "{err}");
}
