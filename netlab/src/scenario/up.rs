//! Bringing a scenario up: create the lab and its networks, start the containers in file
//! order (each with its readiness check, polled until a deadline, never a fixed sleep),
//! then the pipework interfaces. The lab stays owned by the caller until it detaches, so a failed or killed
//! bring-up leaves nothing behind.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::file::{Ready, Scenario, Service};
use crate::client::Lab;
use crate::error::{Error, Result};
use crate::model::network::{Driver, NetworkState};
use crate::model::{CommandSpec, ContainerSpec, ContainerState, ContainerStatus, PipeworkIf, env};
use crate::proto::Target;

/// Steps reported while a scenario comes up, for a caller that shows them (`netlab up`
/// prints one line each); pass `&mut |_| {}` to ignore them.
#[derive(Debug)]
pub enum Progress<'a> {
    /// The lab was created.
    Lab {
        /// Its name.
        name: &'a str,
        /// Its bridge.
        bridge: &'a str,
        /// The bridge's address.
        bip: String,
    },
    /// A `[[network]]` was created.
    Network(&'a NetworkState),
    /// The MongoDB-compatible server that `service = "mongo"` containers run was found.
    MongoServer {
        /// Its path.
        binary: &'a str,
    },
    /// A container started.
    Started(&'a ContainerState),
    /// Waiting for a container's readiness check.
    Waiting {
        /// The container.
        container: &'a str,
        /// The check, in words.
        what: &'a str,
    },
    /// A container's readiness check passed.
    Ready {
        /// The container.
        container: &'a str,
        /// How long it took.
        after: Duration,
    },
    /// A pipework interface was added.
    Pipework(&'a PipeworkIf),
    /// A `[[fault]]` was applied.
    Fault(&'a crate::model::fault::FaultState),
}

/// Brings `s` up as lab `name` (the file's lab name if `None`): creates the lab and its
/// networks (in file order), starts the containers in file order, those that link to
/// others after the linked ones' readiness checks passed,
/// then adds the pipework interfaces, then applies the faults. The lab is owned by the returned handle, so a
/// failure half-way, or this process dying, leaves nothing behind; call
/// [`Lab::detach`] to keep it after the handle is gone, as `netlab up` does.
pub fn up(s: &Scenario, name: Option<&str>, progress: &mut dyn FnMut(Progress<'_>)) -> Result<Lab> {
    let mut spec = s.lab.clone();
    if let Some(n) = name {
        spec.name = n.to_string();
    }
    let mongo = if s
        .containers
        .iter()
        .any(|c| c.service == Some(Service::Mongo))
    {
        Some(mongo_server(&s.file)?)
    } else {
        None
    };
    let lab = Lab::create(&spec)?;
    progress(Progress::Lab {
        name: &spec.name,
        bridge: &spec.bridge,
        bip: spec.bip.to_string(),
    });
    for n in &s.networks {
        let state = lab.create_network(n)?;
        progress(Progress::Network(&state));
    }
    if let Some((_, bin)) = &mongo {
        progress(Progress::MongoServer {
            binary: &bin.display().to_string(),
        });
    }
    let specs: Vec<ContainerSpec> = s
        .containers
        .iter()
        .map(|c| container_spec(s, c, mongo.as_ref()))
        .collect();
    let mut first = 0;
    while first < specs.len() {
        let end = wave_end(&specs, first);
        start_wave(
            &lab,
            s,
            &specs[first..end],
            &s.containers[first..end],
            progress,
        )?;
        first = end;
    }
    for p in &s.pipework {
        let iface = lab.pipework(p)?;
        progress(Progress::Pipework(&iface));
    }
    // Faults last: the services came up on a sound network, as a test wants them.
    for f in &s.faults {
        let state = lab.apply_fault(f)?;
        progress(Progress::Fault(&state));
    }
    Ok(lab)
}

/// The container as the lab runs it: a `service = "mongo"` container gets the server's
/// command line, and the scenario's `path` folders go before the default PATH.
fn container_spec(
    s: &Scenario,
    c: &super::file::ScenarioContainer,
    mongo: Option<&(PathBuf, PathBuf)>,
) -> ContainerSpec {
    let mut cs = c.spec.clone();
    if let (Some(Service::Mongo), Some((script, bin))) = (c.service, mongo) {
        let data = format!("/dev/shm/{}-data", cs.name);
        cs.command = CommandSpec::Exec(vec![
            script.display().to_string(),
            "run".into(),
            "--listen".into(),
            "0.0.0.0:27017".into(),
            "--data".into(),
            data,
        ]);
        cs.env
            .push(("NETLAB_MONGOD".into(), bin.display().to_string()));
    }
    if !s.path.is_empty() && env::lookup(&cs.env, "PATH").is_none() {
        let dirs: Vec<String> = s.path.iter().map(|p| p.display().to_string()).collect();
        cs.env.push((
            "PATH".into(),
            format!("{}:{}", dirs.join(":"), env::DEFAULT_PATH),
        ));
    }
    cs
}

/// Where the wave that starts at `first` ends: links decide the order, so a wave is the
/// longest run of containers, in file order, none of which links to another of the run.
/// A container linked to must be running, and ready, before the containers that link to
/// it start; containers without such a tie start side by side.
pub fn wave_end(specs: &[ContainerSpec], first: usize) -> usize {
    let mut end = first + 1;
    while end < specs.len()
        && !specs[end]
            .links
            .iter()
            .any(|l| specs[first..end].iter().any(|c| c.name == l.name))
    {
        end += 1;
    }
    end
}

/// Starts one wave in one request (addresses in file order, containers built side by
/// side), waits for all its readiness checks at once, and reports each container's steps
/// in file order, as one container after the other would have, so the output does not
/// depend on which check passed first.
fn start_wave(
    lab: &Lab,
    s: &Scenario,
    specs: &[ContainerSpec],
    entries: &[super::file::ScenarioContainer],
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<()> {
    let states = lab.run_many(specs)?;
    let t = Instant::now();
    let checks: Vec<Option<(String, Result<Duration>)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = states
            .iter()
            .zip(entries)
            .map(|(state, entry)| {
                let from = ready_from(s, &entry.spec);
                scope.spawn(move || {
                    let r = entry.ready.as_ref()?;
                    let what = ready_words(state, r);
                    let result = wait_ready(lab, &from, state, r, &what).map(|()| t.elapsed());
                    Some((what, result))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Some((
                        "the readiness check".into(),
                        Err(Error::Io {
                            op: "readiness check".into(),
                            message: "the checking thread panicked".into(),
                        }),
                    ))
                })
            })
            .collect()
    });
    for (state, check) in states.iter().zip(checks) {
        progress(Progress::Started(state));
        if let Some((what, result)) = check {
            progress(Progress::Waiting {
                container: &state.name,
                what: &what,
            });
            progress(Progress::Ready {
                container: &state.name,
                after: result?,
            });
        }
    }
    Ok(())
}

/// Where a container's readiness is checked from: the lab host, which reaches its
/// bridges; but a container whose `eth0` is a macvlan device is checked from inside itself,
/// because the kernel passes no frames between a macvlan parent (the lab host's uplink)
/// and its macvlan devices, so the lab host cannot reach it (the LAN can).
fn ready_from(s: &Scenario, spec: &ContainerSpec) -> Target {
    let first = spec.attachments().into_iter().next();
    let macvlan = first.is_some_and(|a| {
        s.networks
            .iter()
            .any(|n| n.name == a.network && n.driver == Driver::Macvlan)
    });
    if macvlan {
        Target::Container(spec.name.clone())
    } else {
        Target::Host
    }
}

/// A readiness check in words: `TCP port 172.17.0.2:27017 accepts`.
fn ready_words(state: &ContainerState, r: &Ready) -> String {
    match &r.http_path {
        Some(p) => format!(
            "HTTP GET http://{}:{}{p} answers {}",
            state.ip, r.port, r.status
        ),
        None => format!("TCP port {}:{} accepts", state.ip, r.port),
    }
}

/// Polls the readiness condition from `from` until it holds, the container exits, or the
/// deadline passes.
fn wait_ready(lab: &Lab, from: &Target, c: &ContainerState, r: &Ready, what: &str) -> Result<()> {
    let addr = SocketAddr::new(c.ip.into(), r.port);
    // A `Ready` made by a library caller has not passed the file's checks.
    let secs = crate::model::limits::READY_TIMEOUT.check(r.timeout_secs)?;
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut pause = Duration::from_millis(2);
    loop {
        if check(lab, from, addr, r) {
            return Ok(());
        }
        let st = lab.inspect(&c.name)?;
        if st.status != ContainerStatus::Running {
            return Err(Error::NotReady {
                container: c.name.clone(),
                problem: format!(
                    "it exited with code {} before {what}",
                    st.exit_code.unwrap_or(0)
                ),
            });
        }
        if Instant::now() >= deadline {
            return Err(Error::NotReady {
                container: c.name.clone(),
                problem: format!("{what} did not happen within {} s", r.timeout_secs),
            });
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

fn check(lab: &Lab, from: &Target, addr: SocketAddr, r: &Ready) -> bool {
    let Ok(mut s) = lab.connect_tcp(from, addr) else {
        return false;
    };
    let Some(path) = &r.http_path else {
        return true;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())
        .is_err()
    {
        return false;
    }
    let mut head = [0u8; 12];
    if s.read_exact(&mut head).is_err() {
        return false;
    }
    std::str::from_utf8(&head[9..12])
        .ok()
        .and_then(|c| c.parse::<u16>().ok())
        == Some(r.status)
}

/// The repository's `scripts/mongo-server` and the server binary it finds or builds:
/// `$NETLAB_MONGO_SCRIPT`, else `scripts/mongo-server` in a folder above the scenario
/// file, else `mongo-server` on PATH.
pub fn mongo_server(scenario: &Path) -> Result<(PathBuf, PathBuf)> {
    let script = std::env::var_os("NETLAB_MONGO_SCRIPT")
        .map(PathBuf::from)
        .or_else(|| {
            let start = std::path::absolute(scenario).ok()?;
            start
                .ancestors()
                .map(|d| d.join("scripts/mongo-server"))
                .find(|p| p.is_file())
        });
    let script = match script {
        Some(s) => s,
        None => crate::model::command::resolve_program("mongo-server", &std::env::var("PATH").unwrap_or_default()).map_err(|_| {
            Error::Unsupported {
                problem: "cannot find scripts/mongo-server, which provides the MongoDB-compatible server".into(),
                fix: "run netlab from the netlab repository, or set NETLAB_MONGO_SCRIPT to the script's path".into(),
            }
        })?,
    };
    let out = std::process::Command::new(&script)
        .arg("path")
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| Error::io(format!("run {} path", script.display()), &e))?;
    if !out.status.success() {
        return Err(Error::Unsupported {
            problem: format!("{} path found no MongoDB-compatible server", script.display()),
            fix: "see its message above: install Go (to build FerretDB) or MongoDB, or set NETLAB_MONGOD".into(),
        });
    }
    let bin = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let script = std::path::absolute(&script).unwrap_or(script);
    Ok((script, bin))
}

#[cfg(test)]
mod wave_tests {
    use super::*;
    use crate::model::links::LinkSpec;

    fn c(name: &str, links: &[&str]) -> ContainerSpec {
        let mut spec = ContainerSpec::new(name, CommandSpec::Shell("true".into()));
        spec.links = links
            .iter()
            .map(|l| LinkSpec::parse(&format!("{l}:{l}")).unwrap())
            .collect();
        spec
    }

    /// Splits a file into its waves: the end of each, from the start.
    fn waves(specs: &[ContainerSpec]) -> Vec<Vec<&str>> {
        let mut out = Vec::new();
        let mut first = 0;
        while first < specs.len() {
            let end = wave_end(specs, first);
            out.push(specs[first..end].iter().map(|c| c.name.as_str()).collect());
            first = end;
        }
        out
    }

    #[test]
    fn links_decide_the_waves() {
        // The article: the database, then the three web servers side by side.
        let article = [
            c("mongodb", &[]),
            c("web1", &["mongodb"]),
            c("web2", &["mongodb"]),
            c("web3", &["mongodb"]),
        ];
        assert_eq!(
            waves(&article),
            [vec!["mongodb"], vec!["web1", "web2", "web3"]]
        );
        // No links: one wave.
        assert_eq!(waves(&[c("a", &[]), c("b", &[])]), [vec!["a", "b"]]);
        // A chain: one container per wave.
        assert_eq!(
            waves(&[c("a", &[]), c("b", &["a"]), c("c", &["b"])]),
            [vec!["a"], vec!["b"], vec!["c"]]
        );
        // A link to a container of an earlier wave does not split the current one.
        assert_eq!(
            waves(&[c("a", &[]), c("b", &["a"]), c("x", &[]), c("d", &["a"])]),
            [vec!["a"], vec!["b", "x", "d"]]
        );
        assert!(waves(&[]).is_empty());
    }
}
