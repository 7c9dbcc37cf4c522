//! The netlab core on real namespaces: containers on a bridge, their environment and
//! files, exec, lifecycle, isolation of parallel labs, and every bad input.
//!
//! Runs as root, and rootless where unprivileged user namespaces are allowed (CI runs it
//! both ways).

mod common;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

use common::{lab, lab_name, publishes_every_port, shell, sleeper, within};
use netlab::{
    CommandSpec, ContainerStatus, Error, Lab, LabSpec, PipeworkSpec, Target, parse_expose,
    parse_publish,
};
use testkit::poll::wait_until;

fn c(name: &str) -> Target {
    Target::Container(name.into())
}

#[test]
fn containers_ping_each_other_over_the_bridge() {
    let lab = lab("ping");
    let a = lab.run(&sleeper("a")).unwrap();
    let b = lab.run(&sleeper("b")).unwrap();
    assert_eq!(a.ip.to_string(), "172.17.0.2");
    assert_eq!(b.ip.to_string(), "172.17.0.3");
    assert_eq!(a.gateway.to_string(), "172.17.0.1");
    assert_eq!(a.mac, "02:42:ac:11:00:02");
    let out = lab
        .exec(&c("a"), &["ping", "-c1", "-W2", &b.ip.to_string()])
        .unwrap();
    assert_eq!(out.code, 0, "{}", out.stdout_str());
    // The lab host reaches both, and a container reaches the bridge (its gateway).
    assert_eq!(
        lab.exec(&Target::Host, &["ping", "-c1", "-W2", "172.17.0.2"])
            .unwrap()
            .code,
        0
    );
    assert_eq!(
        lab.exec(&c("b"), &["ping", "-c1", "-W2", "172.17.0.1"])
            .unwrap()
            .code,
        0
    );
    // Inside: eth0 with the address and the default route via the bridge.
    let addr = lab
        .exec(&c("a"), &["ip", "-4", "-o", "addr", "show", "dev", "eth0"])
        .unwrap()
        .stdout_str();
    assert!(addr.contains("inet 172.17.0.2/16"), "{addr}");
    let route = lab
        .exec(&c("a"), &["ip", "route", "show", "default"])
        .unwrap()
        .stdout_str();
    assert!(
        route.starts_with("default via 172.17.0.1 dev eth0"),
        "{route}"
    );
}

#[test]
fn the_lab_host_reaches_a_service_in_a_container() {
    let lab = lab("svc");
    let srv = lab
        .run(&shell("web", "exec python3 -c 'import http.server as h; h.HTTPServer((\"0.0.0.0\", 8080), h.SimpleHTTPRequestHandler).serve_forever()'"))
        .unwrap();
    let addr = SocketAddr::new(srv.ip.into(), 8080);
    let mut s = wait_until(
        "the web server in the container to accept",
        Duration::from_secs(10),
        || lab.connect_tcp(&Target::Host, addr),
    );
    s.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    let mut reply = String::new();
    s.read_to_string(&mut reply).unwrap();
    assert!(reply.starts_with("HTTP/1.0 200"), "{reply}");
    // The real machine got no bridge or veth for it: the lab lives in its own namespaces.
    // (No traffic is sent from the real machine to the lab's addresses: outside the lab
    // they would be routed to the real network.)
    let root_links = std::process::Command::new("ip")
        .args(["-o", "link"])
        .output()
        .unwrap();
    let root_links = String::from_utf8_lossy(&root_links.stdout);
    assert!(!root_links.contains(&srv.host_veth), "{root_links}");
}

#[test]
fn environment_is_given_plus_docker_defaults_and_nothing_from_the_caller() {
    let lab = lab("env");
    let mut spec = shell("envy", "echo \"$GREETING $HOSTNAME\"; env | sort");
    spec.env.push(("GREETING".into(), "hello".into()));
    spec.hostname = Some("box".into());
    lab.run(&spec).unwrap();
    assert_eq!(lab.wait("envy").unwrap(), 0);
    let (mut out_r, out_w) = std::io::pipe().unwrap();
    let (mut err_r, err_w) = std::io::pipe().unwrap();
    lab.logs("envy", false, &out_w, &err_w).unwrap();
    drop((out_w, err_w));
    let mut out = String::new();
    out_r.read_to_string(&mut out).unwrap();
    let mut err = String::new();
    err_r.read_to_string(&mut err).unwrap();
    let mut lines = out.lines();
    assert_eq!(
        lines.next(),
        Some("hello box"),
        "shell form expands variables inside the container"
    );
    let vars: Vec<&str> = lines
        .filter(|l| !l.starts_with("PWD=") && !l.starts_with("SHLVL=") && !l.starts_with("_="))
        .collect();
    assert_eq!(
        vars,
        [
            "GREETING=hello",
            "HOME=/root",
            "HOSTNAME=box",
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        ]
    );
    let st = lab.inspect("envy").unwrap();
    assert_eq!(st.status, ContainerStatus::Exited);
    assert_eq!(st.exit_code, Some(0));
    assert!(st.env.contains(&("HOSTNAME".into(), "box".into())));
}

/// The output of `argv` run in container `name` as `user`.
fn exec_as(lab: &Lab, name: &str, user: Option<&str>, argv: &[&str]) -> String {
    let (r, w) = nix::unistd::pipe().unwrap();
    let mut opts = netlab::ExecOptions::default();
    opts.user = user.map(String::from);
    let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
    let code = lab
        .exec_stdio(
            &c(name),
            &argv,
            &opts,
            [&std::io::stdin(), &w, &std::io::stderr()],
        )
        .unwrap();
    drop(w);
    let mut out = String::new();
    std::fs::File::from(r).read_to_string(&mut out).unwrap();
    assert_eq!(code, 0, "{argv:?} as {user:?}: {out}");
    out
}

/// `-u`: the container's process, and an exec by default, runs as the user given; `HOME`
/// is that user's. In a rootless lab only the owner (uid 0 inside) exists, and another
/// user is refused with that reason.
#[test]
fn a_container_runs_as_the_user_given() {
    let lab = lab("user");
    let mut spec = sleeper("u");
    spec.user = Some("4242:4343".into());
    let rootless = !nix::unistd::geteuid().is_root();
    if rootless {
        let e = lab.run(&spec).unwrap_err();
        assert!(
            matches!(&e, Error::InvalidSpec { .. }) && e.to_string().contains("rootless"),
            "{e}"
        );
        spec.user = Some("0:0".into());
        lab.run(&spec).unwrap();
        assert_eq!(exec_as(&lab, "u", None, &["id", "-u"]), "0\n");
        return;
    }
    lab.run(&spec).unwrap();
    let state = lab.inspect("u").unwrap();
    let status = std::fs::read_to_string(format!(
        "/proc/{}/status",
        netlab::outer_pid(lab.supervisor_pid(), state.pid).unwrap()
    ))
    .unwrap();
    assert!(status.contains("Uid:\t4242\t4242\t4242\t4242"), "{status}");
    assert!(status.contains("Gid:\t4343\t4343\t4343\t4343"), "{status}");
    // exec runs as the container's user unless told otherwise, as docker exec does.
    assert_eq!(
        exec_as(&lab, "u", None, &["sh", "-c", "id -u; id -g; echo $HOME"]),
        "4242\n4343\n/\n"
    );
    assert_eq!(exec_as(&lab, "u", Some("0"), &["id", "-u"]), "0\n");
    let nobody_home = std::fs::read_to_string("/etc/passwd")
        .unwrap()
        .lines()
        .find_map(|l| {
            l.strip_prefix("nobody:")
                .map(|r| r.split(':').nth(4).unwrap().to_string())
        })
        .expect("a nobody user in /etc/passwd");
    assert_eq!(
        exec_as(
            &lab,
            "u",
            Some("nobody"),
            &["sh", "-c", "id -un; echo $HOME"]
        ),
        format!("nobody\n{nobody_home}\n")
    );
    let mut bad = sleeper("ghost");
    bad.user = Some("no-such-user-xyz".into());
    let e = lab.run(&bad).unwrap_err();
    assert!(
        e.to_string().contains("no user \"no-such-user-xyz\""),
        "{e}"
    );
}

/// Returns once the lab has acted on every end reported so far: a `--rm` container that
/// ends at once is removed by the lab's lifecycle thread, which takes reports in order.
fn lifecycle_settled(lab: &Lab, tag: &str) {
    let name = format!("settle-{tag}");
    let mut marker = netlab::ContainerSpec::new(&name, CommandSpec::Exec(vec!["true".into()]));
    marker.auto_remove = true;
    lab.run(&marker).unwrap();
    wait_until(
        &format!("--rm to remove {name}"),
        Duration::from_secs(15),
        || matches!(lab.inspect(&name), Err(Error::UnknownContainer { .. })),
    );
}

/// `--restart`: on-failure:N restarts a failing process N times and no more, and not a
/// successful one; always restarts after success too, but never after `stop`; `start`
/// brings the policy back. The count is Docker's RestartCount.
#[test]
fn restart_policies_as_docker_and_never_after_stop() {
    use netlab::RestartPolicy;
    let lab = lab("restart");
    let mut fails = shell("fails", "exit 3");
    fails.restart = RestartPolicy::OnFailure { max_retries: 2 };
    lab.run(&fails).unwrap();
    let mut succeeds = shell("succeeds", "exit 0");
    succeeds.restart = RestartPolicy::OnFailure { max_retries: 0 };
    lab.run(&succeeds).unwrap();
    wait_until("two restarts of fails", Duration::from_secs(30), || {
        let s = lab.inspect("fails").unwrap();
        s.restart_count == 2 && s.status == ContainerStatus::Exited
    });
    lifecycle_settled(&lab, "1");
    let f = lab.inspect("fails").unwrap();
    assert_eq!(
        (f.status, f.restart_count, f.restarting, f.exit_code),
        (ContainerStatus::Exited, 2, false, Some(3))
    );
    let s = lab.inspect("succeeds").unwrap();
    assert_eq!(
        (s.status, s.restart_count, s.restarting),
        (ContainerStatus::Exited, 0, false)
    );

    let mut always = shell("always", "exit 0");
    always.restart = RestartPolicy::Always;
    lab.run(&always).unwrap();
    wait_until("two restarts of always", Duration::from_secs(30), || {
        lab.inspect("always").unwrap().restart_count >= 2
    });
    lab.stop("always", 1).unwrap();
    lifecycle_settled(&lab, "2");
    let a = lab.inspect("always").unwrap();
    assert_eq!((a.status, a.restarting), (ContainerStatus::Exited, false));
    let stopped_at = a.restart_count;
    lab.start("always").unwrap();
    wait_until("a restart after start", Duration::from_secs(30), || {
        lab.inspect("always").unwrap().restart_count > stopped_at
    });
    lab.rm("always", true).unwrap();
}

/// `--rm`: the container goes when its process ends, also when `stop` ends it.
#[test]
fn rm_removes_a_container_when_its_process_ends() {
    let lab = lab("autorm");
    let mut quick = shell("quick", "exit 0");
    quick.auto_remove = true;
    lab.run(&quick).unwrap();
    let mut long = sleeper("long");
    long.auto_remove = true;
    lab.run(&long).unwrap();
    lab.stop("long", 1).unwrap();
    for name in ["quick", "long"] {
        wait_until(&format!("{name} to go"), Duration::from_secs(15), || {
            matches!(lab.inspect(name), Err(Error::UnknownContainer { .. }))
        });
    }
    // A foreground run answers once the container is gone.
    let (r, w) = nix::unistd::pipe().unwrap();
    let mut fg = shell("fg", "echo bye; exit 4");
    fg.auto_remove = true;
    let code = lab.run_attached(&fg, None, &w, &std::io::stderr()).unwrap();
    drop(w);
    let mut out = String::new();
    std::fs::File::from(r).read_to_string(&mut out).unwrap();
    assert_eq!((code, out.as_str()), (4, "bye\n"));
    assert!(matches!(
        lab.inspect("fg"),
        Err(Error::UnknownContainer { .. })
    ));
    // --rm and --restart conflict, as in Docker.
    let mut both = sleeper("both");
    both.auto_remove = true;
    both.restart = netlab::RestartPolicy::Always;
    assert!(matches!(lab.run(&both), Err(Error::InvalidSpec { .. })));
}

#[test]
fn hostname_and_a_private_etc_hosts() {
    let lab = lab("hosts");
    let mut spec = sleeper("db");
    spec.hostname = Some("mongo-host".into());
    lab.run(&spec).unwrap();
    let out = lab
        .exec(&c("db"), &["sh", "-c", "hostname; cat /etc/hosts"])
        .unwrap()
        .stdout_str();
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("mongo-host"));
    assert!(out.lines().any(|l| l == "172.17.0.2\tmongo-host"), "{out}");
    assert!(out.contains("127.0.0.1\tlocalhost"));
    // The real machine's /etc/hosts and hostname are untouched.
    let real = std::fs::read_to_string("/etc/hosts").unwrap();
    assert!(!real.contains("mongo-host"));
    assert_ne!(nix::unistd::gethostname().unwrap(), "mongo-host");
}

#[test]
fn exec_passes_exit_codes_and_output() {
    let lab = lab("exec");
    lab.run(&sleeper("x")).unwrap();
    let out = lab
        .exec(&c("x"), &["sh", "-c", "echo out; echo err >&2; exit 42"])
        .unwrap();
    assert_eq!(out.code, 42);
    assert_eq!(out.stdout_str(), "out\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "err\n");
    assert_eq!(lab.exec(&Target::Host, &["true"]).unwrap().code, 0);
    assert_eq!(
        lab.exec(&Target::Host, &["sh", "-c", "kill -9 $$"])
            .unwrap()
            .code,
        137
    );
    assert!(matches!(
        lab.exec(&c("x"), &["no-such-program-xyz"]),
        Err(Error::CommandNotFound { .. })
    ));
    assert!(matches!(
        lab.exec(&c("nope"), &["true"]),
        Err(Error::UnknownContainer { .. })
    ));
}

#[test]
fn stop_start_rm_and_address_reuse() {
    let lab = lab("life");
    let a = lab.run(&sleeper("a")).unwrap();
    assert_eq!(a.status, ContainerStatus::Running);
    assert!(a.pid > 0);
    lab.stop("a", 5).unwrap();
    let st = lab.inspect("a").unwrap();
    assert_eq!(st.status, ContainerStatus::Exited);
    assert_eq!(st.exit_code, Some(128 + 15), "sleep ends on SIGTERM");
    assert_eq!(lab.ps(false).unwrap().len(), 0);
    assert_eq!(lab.ps(true).unwrap().len(), 1);
    lab.start("a").unwrap();
    assert_eq!(lab.inspect("a").unwrap().status, ContainerStatus::Running);
    assert!(matches!(lab.rm("a", false), Err(Error::BadState { .. })));
    lab.rm("a", true).unwrap();
    assert!(matches!(
        lab.inspect("a"),
        Err(Error::UnknownContainer { .. })
    ));
    // Its veth is gone from the lab host and its address is free again.
    let links = lab
        .exec(&Target::Host, &["ip", "-o", "link"])
        .unwrap()
        .stdout_str();
    assert!(!links.contains(&a.host_veth), "{links}");
    assert_eq!(lab.run(&sleeper("b")).unwrap().ip, a.ip);
}

/// As with Docker: a stopped container gives its address back and forwards nothing; a new
/// container takes the first free address (its old one); `start` gives it the next free
/// one, with the MAC and default route for it, and the forwards follow; the linking
/// container's `/etc/hosts`, and its link variables in an exec, follow too, while its main
/// process keeps what it started with; `exec` is refused while the linked one is stopped.
/// `rm` of the stopped container frees nothing another container holds.
#[test]
fn a_stopped_container_releases_its_address_and_takes_a_free_one_at_start() {
    let lab = lab("endpoint");
    let mut web = shell("web", &common::http_server(80));
    web.publish = netlab::parse_publish("18081:80").unwrap();
    let web0 = lab.run(&web).unwrap();
    let mut client = sleeper("client");
    client.links = vec![netlab::LinkSpec::parse("web:site").unwrap()];
    lab.run(&client).unwrap();
    let published: SocketAddr = "127.0.0.1:18081".parse().unwrap();
    common::wait_http(&lab, &Target::Host, published);

    lab.stop("web", 5).unwrap();
    let stopped = lab.inspect("web").unwrap();
    assert!(!stopped.connected);
    assert_eq!(common::http_status(&lab, &Target::Host, published), None);
    let refused = lab.exec(&c("client"), &["true"]);
    assert!(
        matches!(refused, Err(Error::BadState { .. })),
        "{refused:?}"
    );

    let other = lab.run(&sleeper("other")).unwrap();
    assert_eq!(
        other.ip, web0.ip,
        "the first free address is the stopped one's"
    );
    lab.start("web").unwrap();
    let web1 = lab.inspect("web").unwrap();
    assert!(web1.connected);
    assert_ne!(web1.ip, web0.ip);
    assert_eq!(
        web1.mac,
        format!(
            "02:42:{}",
            web1.ip.octets().map(|o| format!("{o:02x}")).join(":")
        )
    );
    let inside = lab
        .exec(
            &c("web"),
            &[
                "sh",
                "-c",
                "ip -4 -o addr show dev eth0; ip route show default",
            ],
        )
        .unwrap()
        .stdout_str();
    assert!(inside.contains(&format!("inet {}/16", web1.ip)), "{inside}");
    assert!(
        inside.contains("default via 172.17.0.1 dev eth0"),
        "{inside}"
    );
    common::wait_http(&lab, &Target::Host, published);
    let hosts = lab
        .exec(&c("client"), &["cat", "/etc/hosts"])
        .unwrap()
        .stdout_str();
    assert!(hosts.contains(&format!("{}\tsite web", web1.ip)), "{hosts}");
    let env = lab
        .exec(&c("client"), &["sh", "-c", "echo $SITE_PORT"])
        .unwrap()
        .stdout_str();
    assert_eq!(env, format!("tcp://{}:80\n", web1.ip));
    let client_pid = lab.inspect("client").unwrap().pid;
    let outer = netlab::outer_pid(lab.supervisor_pid(), client_pid).unwrap();
    let main_env = std::fs::read(format!("/proc/{outer}/environ")).unwrap();
    let main_env = String::from_utf8_lossy(&main_env);
    assert!(
        main_env.contains(&format!("SITE_PORT=tcp://{}:80", web0.ip)),
        "{main_env}"
    );

    lab.stop("other", 1).unwrap();
    let freed = lab.inspect("other").unwrap().ip;
    lab.rm("other", false).unwrap();
    let next = lab.run(&sleeper("next")).unwrap();
    assert_eq!(next.ip, freed);
    lab.stop("web", 1).unwrap();
    lab.rm("web", false).unwrap();
    assert_eq!(lab.inspect("next").unwrap().ip, freed);
    let last = lab.run(&sleeper("last")).unwrap();
    assert_ne!(last.ip, next.ip);
}

#[test]
fn bad_inputs_are_refused_and_change_nothing() {
    let lab = lab("bad");
    lab.run(&sleeper("web")).unwrap();
    let before = lab.ps(true).unwrap();
    assert!(matches!(
        lab.run(&sleeper("web")),
        Err(Error::DuplicateName { .. })
    ));
    assert!(matches!(
        lab.run(&sleeper("-bad")),
        Err(Error::InvalidName { .. })
    ));
    let missing =
        netlab::ContainerSpec::new("m", CommandSpec::Exec(vec!["no-such-binary-xyz".into()]));
    let err = lab.run(&missing).unwrap_err();
    assert!(matches!(err, Error::CommandNotFound { .. }));
    assert!(
        err.to_string().contains("-e PATH="),
        "the message says how to fix it: {err}"
    );
    assert!(matches!(
        lab.run(&shell("m2", "no-such-binary-xyz --flag")),
        Err(Error::CommandNotFound { .. })
    ));
    assert!(matches!(
        lab.stop("ghost", 1),
        Err(Error::UnknownContainer { .. })
    ));
    assert!(matches!(
        lab.rm("ghost", true),
        Err(Error::UnknownContainer { .. })
    ));
    assert_eq!(lab.ps(true).unwrap(), before, "nothing changed");
    // The next container still gets the next address: failed runs released theirs.
    assert_eq!(
        lab.run(&sleeper("web2")).unwrap().ip.to_string(),
        "172.17.0.3"
    );
    assert!(parse_expose("70000").is_err());

    let mut spec = LabSpec::new(&lab_name("badbip"));
    spec.bip = "10.0.0.0/16".parse().unwrap();
    assert!(matches!(Lab::create(&spec), Err(Error::InvalidSpec { .. })));
    assert!(
        matches!(Lab::open(&spec.name), Err(Error::LabNotFound { .. })),
        "no lab was left behind"
    );
    assert!(matches!(
        Lab::create(&LabSpec::new(lab.name())),
        Err(Error::LabExists { .. })
    ));
}

#[test]
fn an_exhausted_range_is_a_clear_error() {
    let mut spec = LabSpec::new(&lab_name("small"));
    spec.bip = "10.9.0.1/16".parse().unwrap();
    spec.ip_range = Some("10.9.3.0/31".parse().unwrap());
    let lab = Lab::create(&spec).unwrap();
    assert_eq!(lab.run(&sleeper("a")).unwrap().ip.to_string(), "10.9.3.0");
    assert_eq!(lab.run(&sleeper("b")).unwrap().ip.to_string(), "10.9.3.1");
    let err = lab.run(&sleeper("c")).unwrap_err();
    assert!(matches!(err, Error::AddressExhausted { .. }), "{err}");
    assert!(err.to_string().contains("--ip-range"));
}

#[test]
fn four_labs_with_the_same_names_and_subnets_do_not_see_each_other() {
    let labs: Vec<Lab> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..4)
            .map(|i| {
                s.spawn(move || {
                    let lab = lab(&format!("par{i}"));
                    lab.run(&sleeper("webserver1")).unwrap();
                    lab.run(&sleeper("webserver2")).unwrap();
                    lab
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (i, lab) in labs.iter().enumerate() {
        let names: Vec<String> = lab.ps(false).unwrap().into_iter().map(|c| c.name).collect();
        assert_eq!(names, ["webserver1", "webserver2"]);
        // Each lab has exactly its own two containers' veths on its own bridge.
        let out = lab
            .exec(
                &Target::Host,
                &["ip", "-o", "link", "show", "master", "docker0"],
            )
            .unwrap()
            .stdout_str();
        assert_eq!(out.lines().count(), 2, "lab {i}: {out}");
        assert_eq!(
            lab.exec(&c("webserver1"), &["ping", "-c1", "-W2", "172.17.0.3"])
                .unwrap()
                .code,
            0
        );
        // Mark one lab's container and check no other lab sees the mark.
        let mark = lab
            .exec(
                &c("webserver1"),
                &[
                    "ip",
                    "link",
                    "add",
                    &format!("mark{i}"),
                    "type",
                    "veth",
                    "peer",
                    "name",
                    &format!("peer{i}"),
                ],
            )
            .unwrap();
        assert_eq!(mark.code, 0, "{}", String::from_utf8_lossy(&mark.stderr));
    }
    for (i, lab) in labs.iter().enumerate() {
        let out = lab
            .exec(&c("webserver1"), &["ip", "-o", "link"])
            .unwrap()
            .stdout_str();
        for j in 0..4 {
            assert_eq!(
                out.contains(&format!("mark{j}:")),
                i == j,
                "lab {i} sees mark{j}: {out}"
            );
        }
    }
}

#[test]
fn concurrent_runs_get_distinct_addresses_and_names_stay_unique() {
    let lab = lab("conc");
    // Eight clients at once for six names: c0 and c1 are asked for twice.
    let results: Vec<netlab::Result<netlab::ContainerState>> = std::thread::scope(|s| {
        let lab = &lab;
        let hs: Vec<_> = (0..8)
            .map(|i| s.spawn(move || lab.run(&sleeper(&format!("c{}", i % 6)))))
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let ok: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    let dups = results
        .iter()
        .filter(|r| matches!(r, Err(Error::DuplicateName { .. })))
        .count();
    assert_eq!((ok.len(), dups), (6, 2), "{results:?}");
    let mut ips: Vec<_> = ok.iter().map(|c| c.ip).collect();
    ips.sort();
    ips.dedup();
    assert_eq!(ips.len(), 6, "every container got its own address");
    for c in &ok {
        assert_eq!(
            lab.exec(&Target::Host, &["ping", "-c1", "-W2", &c.ip.to_string()])
                .unwrap()
                .code,
            0,
            "{}",
            c.name
        );
    }
}

/// Whether the process is gone (a zombie counts: it holds nothing any more).
fn is_gone(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => {
            stat.rfind(')')
                .and_then(|i| stat[i + 1..].split_whitespace().next())
                == Some("Z")
        }
    }
}

/// A request that holds the lab lock for as long as it likes (the nft run of a container
/// publishing all 65,535 ports, frozen with SIGSTOP) blocks neither `Info`, which `lab ls`
/// asks every lab, nor `down`, which ends the lab at once.
#[test]
fn info_and_down_do_not_wait_for_a_request_in_progress() {
    let lab = lab("busy");
    let name = lab.name().to_string();
    let sup = lab.supervisor_pid();
    // The run's nft children are short-lived: on a busy machine one may come and go
    // between two looks, and the run may end before one is caught; then another run.
    let mut runs = 0;
    let (busy, nft) = loop {
        runs += 1;
        assert!(
            runs <= 5,
            "no nft child of the supervisor could be frozen in 5 runs"
        );
        let busy = {
            let name = name.clone();
            let spec = publishes_every_port(&format!("all{runs}"));
            std::thread::spawn(move || Lab::open(&name)?.run(&spec))
        };
        let caught =
            testkit::poll::poll_until("an nft child to freeze", Duration::from_secs(60), || {
                if busy.is_finished() {
                    return Some(None);
                }
                common::try_freeze_child(sup, "nft").map(Some)
            })
            .expect("the run neither ended nor ran nft");
        match caught {
            Some(nft) => break (busy, nft),
            // Its container holds every host port: gone before the next run.
            None => {
                busy.join().unwrap().expect("a run that ended");
                lab.rm(&format!("all{runs}"), true).unwrap();
            }
        }
    };
    // From here the run holds the lab lock until nft goes on, which it never does.
    let info = {
        let name = name.clone();
        within(Duration::from_secs(10), move || Lab::open(&name)?.info())
            .expect("Info waited for the request in progress")
            .expect("Info")
    };
    // The frozen run's container is recorded (its ports not yet published); the runs
    // before it were removed.
    assert_eq!((info.containers, info.running), (1, 1));
    within(Duration::from_secs(10), move || lab.down())
        .expect("down waited for the request in progress")
        .expect("down");
    assert!(matches!(Lab::open(&name), Err(Error::LabNotFound { .. })));
    let run = within(Duration::from_secs(10), move || busy.join().unwrap())
        .expect("the interrupted run returned");
    assert!(run.is_err(), "{run:?}");
    wait_until(
        "the frozen nft to end with the lab",
        Duration::from_secs(10),
        || is_gone(nft),
    );
}

#[test]
fn dash_e_hostname_sets_the_variable_and_not_the_hostname() {
    let lab = lab("hostenv");
    let mut spec = shell("web", "echo \"$HOSTNAME\"; hostname");
    spec.env.push(("HOSTNAME".into(), "x".into()));
    lab.run(&spec).unwrap();
    assert_eq!(lab.wait("web").unwrap(), 0);
    let (mut out_r, out_w) = std::io::pipe().unwrap();
    let (_err_r, err_w) = std::io::pipe().unwrap();
    lab.logs("web", false, &out_w, &err_w).unwrap();
    drop((out_w, err_w));
    let mut out = String::new();
    out_r.read_to_string(&mut out).unwrap();
    assert_eq!(out, "x\nweb\n");
    assert!(
        lab.inspect("web")
            .unwrap()
            .env
            .contains(&("HOSTNAME".into(), "x".into()))
    );
}

/// Issue 10's classes of bad input, each refused with a message that names the problem
/// and the fix, and none of them changing the lab.
#[test]
fn every_class_of_bad_input_is_refused_with_its_fix() {
    let lab = lab("badclass");
    lab.run(&sleeper("web")).unwrap();
    let before = lab.ps(true).unwrap();
    let text = |r: netlab::Result<_>| -> (Error, String) {
        let e = r.map(|_: ()| ()).unwrap_err();
        let m = e.to_string();
        assert!(m.len() < 1000, "a message of {} bytes", m.len());
        (e, m)
    };

    // A working directory that does not exist: named, and where.
    let mut wd = sleeper("wd1");
    wd.workdir = Some("/nonexistent/dir".into());
    let (e, m) = text(lab.run(&wd).map(drop));
    assert!(
        matches!(&e, Error::InvalidSpec { value, .. } if value == "/nonexistent/dir"),
        "{e:?}"
    );
    assert!(
        m.contains("no such directory in container wd1") && m.contains("-w"),
        "{m}"
    );
    let (e, m) = text(
        lab.exec_with(
            &c("web"),
            &["true".to_string()],
            &[],
            Some("/nonexistent/dir"),
            [&std::io::stdin(), &std::io::stdout(), &std::io::stderr()],
        )
        .map(drop),
    );
    assert!(matches!(e, Error::InvalidSpec { .. }), "{e:?}");
    assert!(m.contains("mkdir -p /nonexistent/dir"), "{m}");

    // A 10 MB command: a short message.
    let big = "x".repeat(10 << 20);
    let (e, m) = text(
        lab.run(&netlab::ContainerSpec::new(
            "big",
            CommandSpec::Exec(vec![big.clone()]),
        ))
        .map(drop),
    );
    assert!(matches!(e, Error::CommandNotFound { .. }), "{e:?}");
    assert!(m.contains(&format!("({} bytes)", big.len())), "{m}");

    // Pipework onto something that is not a bridge.
    let pw = |bridge: &str| PipeworkSpec::new(bridge, "web", "10.9.0.5/24").unwrap();
    let (e, m) = text(lab.pipework(&pw("lo")).map(drop));
    assert!(matches!(e, Error::InvalidSpec { .. }), "{e:?}");
    assert!(
        m.contains("loopback") && m.contains("not a bridge") && m.contains("docker0"),
        "{m}"
    );
    for bad in ["0.0.0.0/8", "255.255.255.255/24"] {
        assert!(PipeworkSpec::new("docker0", "web", bad).is_err(), "{bad}");
    }

    // Numbers out of range, and port grammar.
    let (_, m) = text(lab.stop("web", u64::MAX));
    assert!(m.contains("the allowed range is 0 to 3600 seconds"), "{m}");
    assert!(parse_publish("+80").is_err());
    assert_eq!(lab.ps(true).unwrap(), before, "nothing changed");

    // Lab settings: a bridge address that is no host's, a name over the limit.
    let mut spec = LabSpec::new(&lab_name("bip0"));
    spec.bip = "0.0.0.1/8".parse().unwrap();
    let (_, m) = text(Lab::create(&spec).map(drop));
    assert!(m.contains("--bip") && m.contains("this network"), "{m}");
    let (e, m) = text(Lab::create(&LabSpec::new(&"l".repeat(200))).map(drop));
    assert!(matches!(e, Error::InvalidName { .. }), "{e:?}");
    assert!(m.contains("at most 32"), "{m}");
}

#[test]
fn pipework_onto_the_uplink_says_it_is_not_a_bridge() {
    let mut spec = LabSpec::new(&lab_name("pwup"));
    spec.bip = "10.2.0.10/16".parse().unwrap();
    spec.uplink = Some(netlab::Uplink::parse("eth1=10.2.0.10/16").unwrap());
    let lab = Lab::create(&spec).unwrap();
    lab.run(&sleeper("web")).unwrap();
    let e = lab
        .pipework(&PipeworkSpec::new("eth1", "web", "10.2.0.11/16").unwrap())
        .unwrap_err();
    let m = e.to_string();
    assert!(
        m.contains("a veth interface of the lab host, not a bridge"),
        "{m}"
    );
    // The address was not taken: the right bridge gets it.
    let pw = PipeworkSpec::new("docker0", "web", "10.2.0.11/16").unwrap();
    assert_eq!(lab.pipework(&pw).unwrap().ifname, "eth1");
}

#[test]
fn a_ready_timeout_built_in_code_is_refused_not_a_panic() {
    let mut s = netlab::scenario::parse(
        "[lab]\nname = \"x\"\n[[container]]\nname = \"a\"\ncommand = [\"sleep\", \"1000\"]\nready = { tcp = 80 }\n",
        std::path::Path::new("s.toml"),
    )
    .unwrap();
    s.containers[0].ready.as_mut().unwrap().timeout_secs = u64::MAX;
    let e = netlab::scenario::up(&s, Some(&lab_name("readymax")), &mut |_| {}).unwrap_err();
    assert!(
        e.to_string().contains("the allowed range is 1 to 3600"),
        "{e}"
    );
    assert!(matches!(
        Lab::open(&lab_name("readymax")),
        Err(Error::LabNotFound { .. })
    ));
}

/// Past 64 published ports the lab's nft table holds them in maps: traffic still reaches
/// the container through them, from the lab host's own addresses.
#[test]
fn many_published_ports_forward_through_maps() {
    let lab = lab("maps");
    let mut spec = shell("web", &common::http_server(8050));
    spec.publish = parse_publish("20000-20099:8000-8099").unwrap();
    spec.publish
        .extend(parse_publish("127.0.0.1:21050:8050").unwrap());
    lab.run(&spec).unwrap();
    for addr in ["127.0.0.1:20050", "172.17.0.1:20050", "127.0.0.1:21050"] {
        common::wait_http(&lab, &Target::Host, addr.parse().unwrap());
    }
    let table = lab
        .exec(
            &Target::Host,
            &["nft", "list", "chain", "ip", "netlab", "output"],
        )
        .unwrap()
        .stdout_str();
    assert!(table.contains("map @tcp_addr"), "{table}");
}

/// A Linux bridge takes 1,023 ports: the lab fills docker0 to that, then refuses the next
/// container (and a pipework interface on docker0) with an error that names the limit,
/// instead of the kernel's EXFULL ("Exchange full"). Containers go in batches, built side
/// by side, as `netlab up` starts a wave.
#[test]
fn a_full_bridge_is_refused_with_its_limit() {
    let lab = lab("full");
    let specs: Vec<_> = (0..1023).map(|i| sleeper(&format!("c{i}"))).collect();
    for batch in specs.chunks(128) {
        let started = lab.run_many(batch).unwrap();
        assert_eq!(started.len(), batch.len());
    }
    let err = lab.run(&sleeper("one-more")).unwrap_err();
    assert!(
        matches!(err, Error::BridgeFull { ports: 1023, .. }),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("1023 ports, the most a Linux bridge takes"),
        "{err}"
    );
    let pipework = PipeworkSpec::new("docker0", "c0", "172.17.250.1/16").unwrap();
    assert!(matches!(
        lab.pipework(&pipework),
        Err(Error::BridgeFull { .. })
    ));
    // Room again after a removal.
    lab.rm("c0", true).unwrap();
    lab.run(&sleeper("one-more")).unwrap();
}

/// A batch runs whole or not at all: one bad container in it leaves none of the others.
#[test]
fn a_batch_with_a_bad_container_leaves_none() {
    let lab = lab("batch");
    let mut bad = sleeper("b");
    bad.command = CommandSpec::Exec(vec!["no-such-program-xyz".into()]);
    let err = lab
        .run_many(&[sleeper("a"), bad, sleeper("c")])
        .unwrap_err();
    assert!(matches!(err, Error::CommandNotFound { .. }), "{err}");
    assert!(lab.ps(true).unwrap().is_empty());
    // The addresses were given back: the next container gets the first one.
    let a = lab.run(&sleeper("a")).unwrap();
    assert_eq!(a.ip.to_string(), "172.17.0.2");
}

/// Each container sees its own `/etc/hostname` and Docker's `/etc/resolv.conf` for the
/// default bridge (the machine's file less loopback and IPv6 nameservers, with Docker's
/// fallback when none is left), while the machine's files stay as they are.
#[test]
fn a_container_has_its_own_hostname_and_resolv_conf() {
    let lab = lab("identity");
    lab.run(&sleeper("web")).unwrap();
    let cat = |file: &str| {
        let out = lab.exec(&c("web"), &["cat", file]).unwrap();
        assert_eq!(out.code, 0, "{out:?}");
        out.stdout_str()
    };
    assert_eq!(cat("/etc/hostname"), "web\n");
    let resolv = cat("/etc/resolv.conf");
    let servers: Vec<std::net::IpAddr> = resolv
        .lines()
        .filter_map(|l| l.strip_prefix("nameserver "))
        .map(|a| a.trim().parse().unwrap())
        .collect();
    assert!(!servers.is_empty(), "{resolv}");
    assert!(
        servers.iter().all(|a| a.is_ipv4() && !a.is_loopback()),
        "{resolv}"
    );
    let host = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    for line in host.lines().filter(|l| !l.starts_with("nameserver")) {
        assert!(resolv.lines().any(|r| r == line), "{line:?} kept: {resolv}");
    }
    assert_ne!(
        std::fs::read_to_string("/etc/hostname").unwrap_or_default(),
        "web\n",
        "the machine's file is untouched"
    );
}

/// A service of this process's world answers inside the lab through a forward: a
/// container connects to another container's address, and this process relays to its own
/// loopback; dropping the forward closes it.
#[test]
fn a_forward_brings_a_service_of_the_callers_world_into_the_lab() {
    let lab = lab("forward");
    lab.run(&sleeper("svc")).unwrap();
    lab.run(&sleeper("client")).unwrap();
    let echo = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let outside = echo.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in echo.incoming().flatten() {
            std::thread::spawn(move || {
                let mut r = s.try_clone().unwrap();
                let mut w = s;
                let _ = std::io::copy(&mut r, &mut w);
            });
        }
    });
    let svc_ip = lab.inspect("svc").unwrap().ip;
    let forward = lab
        .forward(&c("svc"), "0.0.0.0:7777".parse().unwrap(), outside)
        .unwrap();
    assert_eq!(forward.listen_addr().port(), 7777);
    let talk = || {
        let mut s = lab
            .connect_tcp(&c("client"), SocketAddr::new(svc_ip.into(), 7777))
            .ok()?;
        s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        s.write_all(b"hello").ok()?;
        let mut got = [0u8; 5];
        s.read_exact(&mut got).ok()?;
        Some(got)
    };
    assert_eq!(talk().as_ref(), Some(b"hello"));
    drop(forward);
    assert_eq!(talk(), None, "nothing listens once the forward is dropped");
}
