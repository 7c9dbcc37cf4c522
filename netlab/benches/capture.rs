//! Benchmark (not a test): does a capture keep up? Small UDP datagrams (18 bytes of
//! payload, 60-byte frames) flow from container `a` to a sink in container `b` for 10 s
//! at a paced rate, while `b`'s eth0 is captured to a pcapng file, and the kernel's drop
//! count (PACKET_STATISTICS) says whether the reader kept up. Two readers:
//!
//! - the API: [`netlab::Lab::capture`] (a background thread keeping decoded packets in
//!   memory), then `Captured::write_pcapng`;
//! - the CLI: `netlab capture b -w FILE --for ...`, which writes pcapng as it reads.
//!
//! The sender is this very program, started inside container `a` with `lab.exec` (a
//! container runs this machine's programs): a Rust loop of `send` on a connected UDP
//! socket, paced to the rate asked for.
//!
//! Run: `cargo bench -p netlab --bench capture` (as root, or rootless where user
//! namespaces are allowed). `CAPTURE_RATES=100000,200000,0` sets the rates (0: as fast as
//! the sender goes), `CAPTURE_SECS` the duration.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use netlab::{CommandSpec, ContainerSpec, Lab, LabSpec, Target};

const SENDER: &str = "__capture_bench_sender";
const PORT: u16 = 9999;

/// In container `a`: sends for `secs` at `rate` datagrams per second (0: unpaced) and
/// prints how many it sent.
fn sender(to: SocketAddr, rate: u64, secs: f64) {
    let s = UdpSocket::bind("0.0.0.0:0").expect("bind");
    s.connect(to).expect("connect");
    let payload = [0u8; 18];
    let start = Instant::now();
    let end = Duration::from_secs_f64(secs);
    let mut sent = 0u64;
    loop {
        let elapsed = start.elapsed();
        if elapsed >= end {
            break;
        }
        // Datagrams due by now; send them in a burst, then pause briefly.
        let due = match rate {
            0 => sent + 64,
            r => (elapsed.as_secs_f64() * r as f64) as u64,
        };
        if sent >= due {
            std::thread::sleep(Duration::from_micros(50));
            continue;
        }
        while sent < due {
            if s.send(&payload).is_ok() {
                sent += 1;
            }
        }
    }
    println!("{sent}");
}

struct Run {
    sent: u64,
    captured: u64,
    dropped: u64,
    /// Seconds spent writing the pcapng file after the capture (API only).
    write_secs: f64,
}

/// Sends from `a` at `rate` for `secs` and returns how many `a` sent.
fn send(lab: &Lab, to: SocketAddr, rate: u64, secs: f64) -> u64 {
    let me = std::env::current_exe().expect("own path");
    let out = lab
        .exec(
            &Target::Container("a".into()),
            &[
                me.to_str().unwrap(),
                SENDER,
                &to.to_string(),
                &rate.to_string(),
                &secs.to_string(),
            ],
        )
        .expect("run the sender");
    assert_eq!(
        out.code,
        0,
        "sender: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout_str().trim().parse().expect("the sender's count")
}

fn through_api(lab: &Lab, to: SocketAddr, rate: u64, secs: f64, dir: &std::path::Path) -> Run {
    let filter = format!("udp dst port {PORT}");
    let cap = lab
        .capture(&Target::Container("b".into()), None, Some(&filter))
        .expect("capture");
    let sent = send(lab, to, rate, secs);
    std::thread::sleep(Duration::from_millis(200));
    let got = cap.stop().expect("stop");
    let t = Instant::now();
    let file = dir.join("api.pcapng");
    got.write_pcapng(&file).expect("write pcapng");
    let write_secs = t.elapsed().as_secs_f64();
    let _ = std::fs::remove_file(&file);
    Run {
        sent,
        captured: got.packets.len() as u64,
        dropped: got.dropped,
        write_secs,
    }
}

fn through_cli(lab: &Lab, to: SocketAddr, rate: u64, secs: f64, dir: &std::path::Path) -> Run {
    let file = dir.join("cli.pcapng");
    let mut child = std::process::Command::new(netlab::netlab_bin().expect("netlab binary"))
        .env("NETLAB_LAB", lab.name())
        .args(["capture", "b", "-w"])
        .arg(&file)
        .args(["--for", &format!("{}ms", (secs * 1000.0) as u64 + 1500)])
        .args(["udp", "dst", "port", &PORT.to_string()])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("netlab capture");
    // Its first line says it runs.
    let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut err, &mut line).unwrap();
    assert!(line.contains("capturing on"), "{line}");
    let sent = send(lab, to, rate, secs);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut err, &mut rest).unwrap();
    assert!(child.wait().unwrap().success(), "{rest}");
    let _ = std::fs::remove_file(&file);
    // "N packets captured, M dropped by the kernel"
    let nums: Vec<u64> = rest
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .collect();
    Run {
        sent,
        captured: nums[0],
        dropped: nums[1],
        write_secs: 0.0,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == SENDER) {
        let to = args[i + 1].parse().expect("address");
        let rate = args[i + 2].parse().expect("rate");
        let secs = args[i + 3].parse().expect("seconds");
        sender(to, rate, secs);
        return;
    }
    let rates: Vec<u64> = std::env::var("CAPTURE_RATES")
        .unwrap_or_else(|_| "100000,200000,0".into())
        .split(',')
        .map(|r| r.trim().parse().expect("CAPTURE_RATES: numbers"))
        .collect();
    let secs: f64 = std::env::var("CAPTURE_SECS")
        .ok()
        .map(|s| s.parse().expect("CAPTURE_SECS: a number"))
        .unwrap_or(10.0);
    let lab = Lab::create(&LabSpec::new(&format!(
        "bench-capture-{}",
        std::process::id()
    )))
    .expect("create a lab");
    lab.run(&ContainerSpec::new(
        "a",
        CommandSpec::Exec(vec!["sleep".into(), "1000".into()]),
    ))
    .expect("run a");
    // A sink that never reads: datagrams beyond its buffer are dropped by b's UDP
    // layer, after the capture saw them, and no ICMP unreachable comes back.
    let sink = format!(
        "import socket,time\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind(('0.0.0.0',{PORT}))\ntime.sleep(100000)\n"
    );
    let b = lab
        .run(&ContainerSpec::new(
            "b",
            CommandSpec::Exec(vec!["python3".into(), "-c".into(), sink]),
        ))
        .expect("run b");
    let to = SocketAddr::new(b.ip.into(), PORT);
    std::thread::sleep(Duration::from_millis(500));
    let dir = tempfile::tempdir().expect("temporary folder");

    println!("capture of {secs} s of 60-byte UDP frames on b's eth0, written as pcapng");
    println!(
        "{:<6} {:>12} {:>10} {:>10} {:>9} {:>13} {:>9}",
        "reader", "rate asked", "sent", "captured", "dropped", "captured pps", "write s"
    );
    for &rate in &rates {
        for (name, run) in [
            (
                "api",
                through_api as fn(&Lab, SocketAddr, u64, f64, &std::path::Path) -> Run,
            ),
            ("cli", through_cli),
        ] {
            let r = run(&lab, to, rate, secs, dir.path());
            let asked = match rate {
                0 => "unpaced".to_string(),
                r => r.to_string(),
            };
            println!(
                "{:<6} {:>12} {:>10} {:>10} {:>9} {:>13.0} {:>9.2}",
                name,
                asked,
                r.sent,
                r.captured,
                r.dropped,
                r.captured as f64 / secs,
                r.write_secs
            );
        }
    }
}
