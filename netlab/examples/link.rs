//! A link (`docker run --link mongodb:mongo`): the linking container gets the linked one's
//! address and exposed ports as variables (`MONGO_PORT_27017_TCP_ADDR`, ...) and as a
//! name in its `/etc/hosts`, exactly as Docker's legacy links, so a command can find its
//! database without being told the address.
//!
//! `mongodb` here is a stand-in that answers HTTP on 27017 (`python3 -m http.server`), so
//! python3 and curl must be installed.
//!
//! Run it as root, or as a user allowed to create user namespaces:
//!
//! ```text
//! cargo build -p netlab && cargo run -p netlab --example link
//! ```
//!
//! It prints:
//!
//! ```text
//! mongodb: 172.17.0.2, exposes 27017/tcp
//! webserver links to mongodb as mongo; its variables:
//!   MONGO_NAME=/webserver/mongo
//!   MONGO_PORT=tcp://172.17.0.2:27017
//!   MONGO_PORT_27017_TCP=tcp://172.17.0.2:27017
//!   MONGO_PORT_27017_TCP_ADDR=172.17.0.2
//!   MONGO_PORT_27017_TCP_PORT=27017
//!   MONGO_PORT_27017_TCP_PROTO=tcp
//! its /etc/hosts: 172.17.0.2 mongo mongodb
//! curl http://$MONGO_PORT_27017_TCP_ADDR:$MONGO_PORT_27017_TCP_PORT/: 200
//! curl http://mongo:27017/: 200
//! lab ended
//! ```

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use netlab::{CommandSpec, ContainerSpec, Lab, LabSpec, LinkSpec, Target, parse_expose};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let lab = Lab::create(&LabSpec::new(&format!("ex-link-{}", std::process::id())))?;

    let mut db = ContainerSpec::new(
        "mongodb",
        CommandSpec::Shell("exec python3 -m http.server 27017 --bind 0.0.0.0".into()),
    );
    // `--expose 27017`: the port a link tells about.
    db.expose = parse_expose("27017")?;
    let db = lab.run(&db)?;
    println!("mongodb: {}, exposes {}", db.ip, db.expose[0]);

    let mut web = ContainerSpec::new(
        "webserver",
        CommandSpec::Exec(vec!["sleep".into(), "600".into()]),
    );
    web.links.push(LinkSpec::parse("mongodb:mongo")?);
    lab.run(&web)?;

    // `exec` runs with the container's environment, like `docker exec`.
    let webserver = Target::Container("webserver".into());
    let env = lab.exec(&webserver, &["sh", "-c", "env | grep ^MONGO_ | sort"])?;
    println!("webserver links to mongodb as mongo; its variables:");
    for line in env.stdout_str().lines() {
        println!("  {line}");
    }
    let hosts = lab.exec(&webserver, &["grep", "mongo", "/etc/hosts"])?;
    let hosts = hosts
        .stdout_str()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    println!("its /etc/hosts: {hosts}");

    // The server needs a moment after its process starts; wait until it accepts.
    wait_until_listening(&lab, SocketAddr::new(db.ip.into(), 27017))?;
    for url in [
        "http://$MONGO_PORT_27017_TCP_ADDR:$MONGO_PORT_27017_TCP_PORT/",
        "http://mongo:27017/",
    ] {
        // One string through `sh -c` in the container, so its variables expand there.
        let curl = format!("curl -s -o /dev/null -w '%{{http_code}}' {url}");
        let out = lab.exec(&webserver, &["sh", "-c", &curl])?;
        println!("curl {url}: {}", out.stdout_str());
    }

    lab.down()?;
    println!("lab ended");
    Ok(())
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
