//! A lab with two containers on its bridge, and a ping from one to the other: the
//! smallest thing netlab does.
//!
//! Run it as root, or as a user allowed to create user namespaces (`cargo build -p netlab`
//! first builds the `netlab` binary that runs the lab):
//!
//! ```text
//! cargo build -p netlab && cargo run -p netlab --example two_containers
//! ```
//!
//! (with sudo: `cargo build -p netlab --bins --examples && sudo target/debug/examples/two_containers`).
//! It prints, with this process's id in the lab's name:
//!
//! ```text
//! lab ex-two-4242: bridge docker0 172.17.0.1/16
//! a: 172.17.0.2/16, veth veth… on docker0
//! b: 172.17.0.3/16, veth veth… on docker0
//! a$ hostname: a
//! a$ ping -c 1 172.17.0.3: 1 packets transmitted, 1 received, 0% packet loss, time 0ms
//! lab ended
//! ```

use netlab::{CommandSpec, ContainerSpec, Lab, LabSpec, Target};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Owned by this handle: the lab ends when `lab` is dropped or this process dies.
    let lab = Lab::create(&LabSpec::new(&format!("ex-two-{}", std::process::id())))?;
    let spec = lab.info()?.spec;
    println!("lab {}: bridge {} {}", lab.name(), spec.bridge, spec.bip);

    for name in ["a", "b"] {
        // A container lives as long as its command; `sleep` keeps it up.
        let command = CommandSpec::Exec(vec!["sleep".into(), "600".into()]);
        let c = lab.run(&ContainerSpec::new(name, command))?;
        println!(
            "{}: {}/{}, veth {} on {}",
            c.name, c.ip, c.prefix, c.host_veth, spec.bridge
        );
    }

    let a = Target::Container("a".into());
    let hostname = lab.exec(&a, &["hostname"])?;
    println!("a$ hostname: {}", hostname.stdout_str().trim());

    let b_ip = lab.inspect("b")?.ip.to_string();
    let ping = lab.exec(&a, &["ping", "-c", "1", "-W", "2", &b_ip])?;
    let summary = ping.stdout_str();
    let summary = summary
        .lines()
        .find(|l| l.contains("packets transmitted"))
        .unwrap_or("no summary");
    println!("a$ ping -c 1 {b_ip}: {summary}");
    if ping.code != 0 {
        return Err(format!("ping failed with code {}", ping.code).into());
    }

    lab.down()?;
    println!("lab ended");
    Ok(())
}
