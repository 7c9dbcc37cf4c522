//! Pipework (`pipework br1 -i eth1 CONTAINER 192.168.1.1/24`): a second interface with a
//! static address for running containers, on a bridge of its own that the lab host
//! creates, beside the containers' `eth0` on `docker0`.
//!
//! Run it as root, or as a user allowed to create user namespaces:
//!
//! ```text
//! cargo build -p netlab && cargo run -p netlab --example pipework
//! ```
//!
//! It prints:
//!
//! ```text
//! a: eth1 192.168.1.1/24 on br1 (host side …)
//! b: eth1 192.168.1.2/24 on br1 (host side …), default route via 192.168.1.254
//! a$ ip -br -4 addr
//! lo               UNKNOWN        127.0.0.1/8
//! eth0@if3         UP             172.17.0.2/16
//! eth1@if6         UP             192.168.1.1/24
//! b$ ip route show default: default via 192.168.1.254 dev eth1 proto static
//! a$ ping -c 1 192.168.1.2: 1 packets transmitted, 1 received, 0% packet loss, time 0ms
//! lab ended
//! ```

use netlab::{CommandSpec, ContainerSpec, Lab, LabSpec, PipeworkSpec, Target};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let lab = Lab::create(&LabSpec::new(&format!(
        "ex-pipework-{}",
        std::process::id()
    )))?;
    for name in ["a", "b"] {
        let command = CommandSpec::Exec(vec!["sleep".into(), "600".into()]);
        lab.run(&ContainerSpec::new(name, command))?;
    }

    // pipework's arguments: bridge, container, IP/PREFIX[@GATEWAY]. The interface is the
    // first free ethN unless `ifname` says otherwise (`-i`).
    for (container, address) in [
        ("a", "192.168.1.1/24"),
        ("b", "192.168.1.2/24@192.168.1.254"),
    ] {
        let spec = PipeworkSpec::new("br1", container, address)?;
        let iface = lab.pipework(&spec)?;
        print!(
            "{container}: {} {} on {} (host side {})",
            iface.ifname, iface.addr, iface.bridge, iface.host_ifname
        );
        match iface.gateway {
            Some(gw) => println!(", default route via {gw}"),
            None => println!(),
        }
    }

    let (a, b) = (Target::Container("a".into()), Target::Container("b".into()));
    println!("a$ ip -br -4 addr");
    print!(
        "{}",
        lab.exec(&a, &["ip", "-br", "-4", "addr"])?.stdout_str()
    );
    let route = lab
        .exec(&b, &["ip", "route", "show", "default"])?
        .stdout_str();
    println!("b$ ip route show default: {}", route.trim());

    let ping = lab.exec(&a, &["ping", "-c", "1", "-W", "2", "192.168.1.2"])?;
    let out = ping.stdout_str();
    let summary = out.lines().find(|l| l.contains("packets transmitted"));
    println!(
        "a$ ping -c 1 192.168.1.2: {}",
        summary.unwrap_or("no summary")
    );
    if ping.code != 0 {
        return Err(format!("ping failed with code {}", ping.code).into());
    }

    lab.down()?;
    println!("lab ended");
    Ok(())
}
