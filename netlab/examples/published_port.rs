//! A published port (`docker run -p 8080:80`): a web server in a container, reached through
//! the lab host's port 8080 from a machine on the lab's LAN and from the lab host itself.
//!
//! The lab is the article's: the lab host has an uplink `eth1` (10.2.0.10/16) to a
//! simulated LAN with one machine, `lan` (10.2.0.1/16). The container runs
//! `python3 -m http.server`, so python3 must be installed.
//!
//! Run it as root, or as a user allowed to create user namespaces:
//!
//! ```text
//! cargo build -p netlab && cargo run -p netlab --example published_port
//! ```
//!
//! It prints:
//!
//! ```text
//! web: 172.17.0.2, 80/tcp -> 0.0.0.0:8080
//! from lan (10.2.0.1), GET http://10.2.0.10:8080/: HTTP/1.0 200 OK
//! from the lab host, GET http://127.0.0.1:8080/: HTTP/1.0 200 OK
//! lab ended
//! ```

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use netlab::{CommandSpec, ContainerSpec, Lab, LabSpec, LanNode, Target, Uplink, parse_publish};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut spec = LabSpec::new(&format!("ex-port-{}", std::process::id()));
    spec.uplink = Some(Uplink::parse("eth1=10.2.0.10/16")?);
    spec.lan_nodes = vec![LanNode::parse("lan=10.2.0.1/16")?];
    let lab = Lab::create(&spec)?;

    let mut web = ContainerSpec::new(
        "web",
        CommandSpec::Shell("exec python3 -m http.server 80 --bind 0.0.0.0".into()),
    );
    web.publish = parse_publish("8080:80")?;
    let web = lab.run(&web)?;
    // The lab chose nothing here (8080 was given); with `-p 80` it picks a free host port,
    // and `ports` says which.
    println!("web: {}, {}", web.ip, web.ports[0]);

    // The server needs a moment after its process starts; wait until it accepts.
    wait_until_listening(&lab, SocketAddr::new(web.ip.into(), 80))?;

    let lan = Target::Node("lan".into());
    let status = http_get(&lab, &lan, "10.2.0.10:8080".parse()?)?;
    println!("from lan (10.2.0.1), GET http://10.2.0.10:8080/: {status}");
    let status = http_get(&lab, &Target::Host, "127.0.0.1:8080".parse()?)?;
    println!("from the lab host, GET http://127.0.0.1:8080/: {status}");

    lab.down()?;
    println!("lab ended");
    Ok(())
}

/// One HTTP/1.0 GET over a connection opened from `from`; the status line.
fn http_get(
    lab: &Lab,
    from: &Target,
    addr: SocketAddr,
) -> Result<String, Box<dyn std::error::Error>> {
    // The socket is made inside `from`'s network namespace and handed over: it works
    // for rootless labs too, where this process cannot enter the namespace.
    let mut s = lab.connect_tcp(from, addr)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.write_all(format!("GET / HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())?;
    let mut answer = String::new();
    s.read_to_string(&mut answer)?;
    Ok(answer.lines().next().unwrap_or_default().to_string())
}

/// Polls until `addr` accepts a connection from the lab host.
fn wait_until_listening(lab: &Lab, addr: SocketAddr) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while lab.connect_tcp(&Target::Host, addr).is_err() {
        if Instant::now() > deadline {
            return Err(format!("nothing listens on {addr} after 10 s"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}
