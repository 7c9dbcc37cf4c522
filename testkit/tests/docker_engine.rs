//! The Docker engine of `scripts/docker-engine` answers, and works as the later comparison
//! with netlab needs: containers run, legacy links set their variables, published ports are
//! reachable inside the engine's network namespace (and only there).
//!
//! Each test SKIPS, printing why on stderr, when no engine is found (start one with
//! `scripts/docker-engine start && scripts/docker-engine images`); with
//! `NETLAB_DOCKER_REQUIRE=1`, as in CI, a missing engine fails it instead. Containers get
//! names of their own (with this process's ID) and are removed even when a test fails.

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

use testkit::docker::DockerEngine;
use testkit::poll::wait_until;

fn name(what: &str) -> String {
    format!("netlab-smoke-{}-{what}", std::process::id())
}

/// Docker runs a container of the local busybox image and hands back its output.
#[test]
fn docker_run_prints_the_containers_output() {
    let Some(engine) = DockerEngine::for_test("docker_run_prints_the_containers_output") else {
        return;
    };
    let out = engine.docker(["run", "--rm", "busybox", "echo", "hi"]);
    assert_eq!(out.ok("docker run --rm busybox echo hi"), "hi\n");
}

/// The article's `--link db:mongo` gives the second container the alias's variables.
#[test]
fn docker_link_sets_the_aliases_variables() {
    let Some(engine) = DockerEngine::for_test("docker_link_sets_the_aliases_variables") else {
        return;
    };
    let db = name("db");
    let _db = engine.remove_on_drop(&db);
    engine
        .docker([
            "run", "-d", "--name", &db, "--expose", "27017", "busybox", "sleep", "1000",
        ])
        .ok("docker run -d db");
    let link = format!("{db}:mongo");
    let out = engine.docker(["run", "--rm", "--link", &link, "busybox", "env"]);
    let env = out.ok("docker run --link");
    assert!(
        env.lines()
            .any(|l| l.starts_with("MONGO_PORT_27017_TCP_ADDR=172.")),
        "no MONGO_PORT_27017_TCP_ADDR in:\n{env}"
    );
    assert!(env.contains("MONGO_PORT_27017_TCP_PORT=27017\n"), "{env}");
}

/// A port published on 127.0.0.1 answers inside the engine's network namespace, through
/// `in_netns`; from the machine's own namespace nothing listens there.
#[test]
fn published_port_answers_inside_the_engines_namespace() {
    let Some(engine) =
        DockerEngine::for_test("published_port_answers_inside_the_engines_namespace")
    else {
        return;
    };
    let web = name("web");
    let _web = engine.remove_on_drop(&web);
    engine
        .docker([
            "run",
            "-d",
            "--name",
            &web,
            "-p",
            "127.0.0.1::80",
            "busybox",
            "httpd",
            "-f",
            "-p",
            "80",
            "-h",
            "/etc",
        ])
        .ok("docker run -d httpd");
    let port = engine.docker(["port", &web, "80"]);
    let addr: SocketAddr = port
        .ok("docker port")
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("docker port printed {:?}: {e}", port.stdout));
    assert_eq!(addr.ip(), Ipv4Addr::LOCALHOST);

    // httpd needs a moment after the container starts: poll the real answer, bounded.
    let url = format!("http://{addr}/passwd");
    let what = format!("curl {url} in the engine's namespace to succeed");
    let body = wait_until(&what, Duration::from_secs(20), || {
        let out = engine.run(
            engine
                .in_netns("curl")
                .args(["-fsS", "--max-time", "5", &url]),
        );
        if out.code == 0 {
            Ok(out.stdout)
        } else {
            Err(out.stderr)
        }
    });
    assert!(body.starts_with("root:x:0:0:"), "{body}");

    if !engine.shares_netns() {
        assert!(
            TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_err(),
            "{addr} answers in the machine's own network namespace too"
        );
    }
}
