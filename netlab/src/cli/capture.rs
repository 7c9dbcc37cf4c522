//! `netlab capture`: tcpdump for a lab's namespaces, with nothing installed in them.

use std::io::{BufWriter, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use crate::capture::{PcapSink, Session, place};
use crate::client::Lab;
use crate::model::capture::Filter;
use crate::model::fault::parse_duration;
use crate::proto::Target;

const CAPTURE_HELP: &str = "\
FILTER, in tcpdump's words: host A, src host A, dst host A, net CIDR, port N, src port N,
dst port N, tcp, udp, icmp, icmp6, arp, ip, ip6, combined with and, or, not and parentheses;
words side by side mean `and` (`tcp port 80`).

Examples:
  netlab capture webserver1                                  # eth0 of a container
  netlab capture --host tcp port 8080                        # the bridge (docker0) on the lab host
  netlab capture --host -i any -c 10 'not arp'
  netlab capture mongodb -w mongo.pcapng --for 30s port 27017   # then: tcpdump -r mongo.pcapng";

#[derive(Debug, clap::Args)]
#[command(after_help = CAPTURE_HELP)]
pub struct CaptureArgs {
    /// Capture on the lab host (the simulated Docker host); its main interface is the bridge.
    #[arg(long, conflicts_with = "node")]
    host: bool,
    /// Capture on a machine of the lab's simulated LAN.
    #[arg(long, value_name = "NAME")]
    node: Option<String>,
    /// The interface (default: eth0, or the bridge on the lab host; `any` for all).
    #[arg(short = 'i', long = "interface", value_name = "IFACE")]
    iface: Option<String>,
    /// Write the packets to FILE as pcapng (for Wireshark or `tcpdump -r`) instead of
    /// printing them.
    #[arg(short = 'w', value_name = "FILE")]
    write: Option<std::path::PathBuf>,
    /// Stop after COUNT packets that pass the filter.
    #[arg(short = 'c', value_name = "COUNT")]
    count: Option<u64>,
    /// Stop after this long (e.g. 5s, 200ms, 1m).
    #[arg(long = "for", value_name = "DURATION")]
    duration: Option<String>,
    /// `CONTAINER [FILTER...]`, or `[FILTER...]` with --host or --node.
    #[arg(value_name = "ARGS")]
    args: Vec<String>,
}

pub fn capture(lab: &str, a: CaptureArgs) -> anyhow::Result<u8> {
    let mut args = a.args;
    let target = if a.host {
        Target::Host
    } else if let Some(n) = a.node {
        Target::Node(n)
    } else if args.is_empty() {
        bail!("give the container to capture in, or --host, or --node NAME");
    } else {
        Target::Container(args.remove(0))
    };
    if args.first().is_some_and(|a| a == "--") {
        args.remove(0);
    }
    // Everything is checked before the capture starts.
    let filter = Filter::parse(&args.join(" "))?;
    let until = a
        .duration
        .as_deref()
        .map(|d| parse_duration("--for", d))
        .transpose()?
        .map(|d| Instant::now() + d);
    if a.count == Some(0) {
        bail!("-c 0 would capture nothing; give a count of 1 or more, or leave -c out");
    }
    let lab = Lab::open(lab)?;
    let file = match &a.write {
        Some(path) => Some((
            std::fs::File::create(path)
                .with_context(|| format!("cannot write the capture to {}", path.display()))?,
            path,
        )),
        None => None,
    };
    let session = match lab.open_capture(&target, a.iface.as_deref(), filter.clone()) {
        Ok(s) => s,
        Err(e) => {
            if let Some((_, path)) = &file {
                let _ = std::fs::remove_file(path);
            }
            return Err(e.into());
        }
    };
    let Session {
        mut reader,
        iface,
        interfaces,
        description,
    } = session;
    let mut sink = match file {
        Some((f, _)) => Some(PcapSink::new(BufWriter::new(f), &interfaces, &description)?),
        None => None,
    };
    // Ctrl-C (or SIGTERM) ends the capture cleanly: the file is complete, the counts shown.
    let stop = Arc::new(AtomicBool::new(false));
    let pipe = crate::sys::reaper::termination_pipe().context("catching Ctrl-C")?;
    {
        let stop = stop.clone();
        std::thread::spawn(move || {
            use std::io::Read;
            let _ = std::fs::File::from(pipe).read(&mut [0u8; 1]);
            stop.store(true, Ordering::SeqCst);
        });
    }
    let filter_text = match filter.is_empty() {
        true => String::new(),
        false => format!(" for `{filter}`"),
    };
    eprintln!(
        "netlab: capturing on {iface} of {}{filter_text}; Ctrl-C stops",
        place(&target)
    );
    let mut out = std::io::stdout().lock();
    let mut captured = 0u64;
    // `--for`: what the kernel received before the time is up is taken even when this
    // reader is behind and finds it queued later; the kernel's timestamp tells.
    let until_ns = a
        .duration
        .as_deref()
        .map(|d| parse_duration("--for", d))
        .transpose()?
        .map(|d| crate::capture::now_ns() + d.as_nanos() as u64);
    loop {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let expired = until.is_some_and(|u| Instant::now() >= u);
        let wait = match until {
            _ if expired => Duration::ZERO,
            Some(u) => u
                .saturating_duration_since(Instant::now())
                .min(Duration::from_millis(100)),
            None => Duration::from_millis(100),
        };
        let p = match reader.next(wait)? {
            Some(p) => p,
            None if expired => break,
            None => continue,
        };
        if until_ns.is_some_and(|u| p.ns > u) {
            break;
        }
        captured += 1;
        match &mut sink {
            Some(s) => s.write(&p)?,
            None => {
                // A reader that went away (`| head`) ends the capture like tcpdump's.
                if writeln!(out, "{}", p.line()).is_err() {
                    break;
                }
            }
        }
        if a.count.is_some_and(|c| captured >= c) {
            break;
        }
    }
    let _ = out.flush();
    if let Some(s) = sink {
        s.finish().context("writing the capture file")?;
    }
    let dropped = reader.drops()?;
    eprintln!("{captured} packets captured, {dropped} dropped by the kernel");
    Ok(0)
}
