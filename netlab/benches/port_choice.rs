//! Benchmark (not a test): the whole port range, which issue 10 found cubic (8,000 ports
//! took 44 s, 65,535 about half an hour, all under the lab lock). Prints:
//!
//! 1. choosing host ports for 65,535 bindings (`model::publish::choose_host_ports`): all
//!    given (`-p 1-65535:1-65535`) and all chosen from a 1-65535 ephemeral range;
//! 2. rendering the nft document for 65,535 forwards (maps, see `firewall::ruleset`);
//! 3. in a real lab, `run -p 1-65535:1-65535` end to end (choice, nft apply, start);
//! 4. `down` while a request holds the lab lock (its nft frozen with SIGSTOP).
//!
//! Run: `cargo bench -p netlab --bench port_choice` (parts 3 and 4 need root, or rootless
//! where user namespaces are allowed).

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use netlab::bench_internals::{Forward, HostPorts, LabNat, choose_host_ports, ruleset};
use netlab::{CommandSpec, ContainerSpec, Lab, LabSpec, Proto, parse_publish};

const ROUNDS: usize = 5;

/// The fastest of `ROUNDS` runs of `f`.
fn best(mut f: impl FnMut()) -> Duration {
    (0..ROUNDS)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn every_port_container(name: &str) -> ContainerSpec {
    let mut spec = ContainerSpec::new(name, CommandSpec::Exec(vec!["sleep".into(), "1000".into()]));
    spec.publish = parse_publish("1-65535:1-65535").expect("parse");
    spec
}

/// The PID of the supervisor's `nft` child, polled until `deadline`.
fn nft_child(supervisor: i32, deadline: Duration) -> Option<i32> {
    let end = Instant::now() + deadline;
    while Instant::now() < end {
        for e in std::fs::read_dir("/proc").ok()?.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            let (Some(o), Some(c)) = (stat.find('('), stat.rfind(')')) else {
                continue;
            };
            let ppid = stat[c + 1..].split_whitespace().nth(1);
            if &stat[o + 1..c] == "nft" && ppid == Some(&supervisor.to_string()) {
                return Some(pid);
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    None
}

fn main() {
    let given = parse_publish("1-65535:1-65535").expect("parse");
    let open = parse_publish("1-65535").expect("parse");
    let t = best(|| {
        let got = choose_host_ports(&mut HostPorts::new(), given.clone(), "c", (32768, 60999));
        assert_eq!(got.map(|v| v.len()).ok(), Some(65535));
    });
    println!("choose 65,535 given host ports:               {t:>10.2?}");
    let t = best(|| {
        let got = choose_host_ports(&mut HostPorts::new(), open.clone(), "c", (1, 65535));
        assert_eq!(got.map(|v| v.len()).ok(), Some(65535));
    });
    println!("choose 65,535 host ports from 1-65535:        {t:>10.2?}");

    let nat = LabNat {
        bridge: "docker0".into(),
        subnet: "172.17.0.0/16".parse().expect("subnet"),
        forwards: (1..=65535)
            .map(|p| Forward {
                host_ip: None,
                host_port: p,
                proto: Proto::Tcp,
                container_ip: Ipv4Addr::new(172, 17, 0, 2),
                container_port: p,
            })
            .collect(),
    };
    let mut bytes = 0;
    let t = best(|| {
        bytes = serde_json::to_vec(&ruleset(&nat))
            .map(|v| v.len())
            .unwrap_or(0)
    });
    println!(
        "render the nft document for 65,535 forwards:  {t:>10.2?} ({} KiB of JSON)",
        bytes / 1024
    );

    let name = format!("bench-ports-{}", std::process::id());
    let lab = match Lab::create(&LabSpec::new(&name)) {
        Ok(l) => l,
        Err(e) => {
            println!("no lab ({e}); the lab figures need root or user namespaces");
            return;
        }
    };
    let t = Instant::now();
    lab.run(&every_port_container("all")).expect("run");
    println!(
        "run -p 1-65535:1-65535 in a lab:              {:>10.2?} (choice, nft apply, start)",
        t.elapsed()
    );
    lab.rm("all", true).expect("rm");

    let sup = lab.supervisor_pid();
    let busy = {
        let name = name.clone();
        std::thread::spawn(move || {
            Lab::open(&name).and_then(|l| l.run(&every_port_container("again")))
        })
    };
    let Some(nft) = nft_child(sup, Duration::from_secs(60)) else {
        println!("could not catch the supervisor's nft run");
        return;
    };
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(nft),
        nix::sys::signal::Signal::SIGSTOP,
    );
    let t = Instant::now();
    lab.down().expect("down");
    println!(
        "down while a request holds the lab lock:      {:>10.2?} (until the name is free)",
        t.elapsed()
    );
    let _ = busy.join();
}
