//! Shared helpers of the integration tests: the service in-process or as a real process, and
//! an HTTP client that only talks to loopback.
// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use birthday_service::serve::serve;
use birthday_service::{AppState, Store, app};
use testkit::poll::wait_until_async;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// How long any single wait of a test may last before it fails with a message.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// The article's three physicists, as posted and as `GET /` must print them.
pub const PHYSICISTS: [&str; 3] = [
    r#"{"name":"James Clerk Maxwell","birthday":"13.06.1831"}"#,
    r#"{"name":"Albert Einstein","birthday":"14.03.1879"}"#,
    r#"{"name":"Werner Heisenberg","birthday":"05.12.1901"}"#,
];
pub const ARTICLE_OUTPUT: &str = "\
name = James Clerk Maxwell, birthday = 13.06.1831
name = Albert Einstein, birthday = 14.03.1879
name = Werner Heisenberg, birthday = 05.12.1901
";

/// A client for loopback only: no proxy from the environment, bounded requests.
pub fn http() -> reqwest::Client {
    http_within(DEADLINE)
}

/// [`http`] with another bound per request, for requests that move megabytes through the
/// database and may take long on a loaded machine (a deadline, not a speed check).
pub fn http_within(deadline: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(deadline)
        .build()
        .expect("HTTP client")
}

/// Starts a MongoDB-compatible server; fails the test with the reason when none can be had.
pub async fn mongo() -> testkit::MongoServer {
    testkit::MongoServer::start()
        .await
        .unwrap_or_else(|e| panic!("this test needs a MongoDB-compatible server: {e}"))
}

/// The service running inside the test process on 127.0.0.1, on its own collection.
pub struct InProcess {
    pub base: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for InProcess {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub async fn serve_in_process(uri: &str, collection: &str) -> InProcess {
    let store = Store::connect(uri, "demo", collection)
        .await
        .expect("driver configuration");
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = app(AppState::new(store));
    let task = tokio::spawn(async move {
        let header_timeout = Duration::from_secs(10);
        serve(listener, app, header_timeout, std::future::pending())
            .await
            .unwrap();
    });
    InProcess {
        base: format!("http://{addr}"),
        task,
    }
}

/// The real `birthday-service` binary, killed on drop. Its stderr is collected so a test
/// can wait for a log line and show the log when it fails.
pub struct ServiceProcess {
    pub base: String,
    child: Option<Child>,
    log: Arc<Mutex<Vec<String>>>,
    lines: mpsc::UnboundedReceiver<String>,
}

impl ServiceProcess {
    /// Runs `birthday-service 0 ARGS...` (port 0: the kernel picks) and waits for its
    /// "listening on" line, which carries the port.
    pub async fn spawn(args: &[&str]) -> ServiceProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_birthday-service"))
            .arg("0")
            .args(args)
            .env_remove("MONGO_PORT_27017_TCP_ADDR")
            .env_remove("MONGO_PORT_27017_TCP_PORT")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run birthday-service");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, lines) = mpsc::unbounded_channel();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line.clone());
                let _ = tx.send(line);
            }
        });
        let mut service = ServiceProcess {
            base: String::new(),
            child: Some(child),
            log,
            lines,
        };
        let line = service.wait_for_line("listening on ").await;
        let addr: SocketAddr = line
            .split("listening on ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        service.base = format!("http://127.0.0.1:{}", addr.port());
        service
    }

    /// Waits (bounded) for a stderr line containing `needle` and returns it.
    pub async fn wait_for_line(&mut self, needle: &str) -> String {
        let until = Instant::now() + DEADLINE;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.lines.recv()).await {
                Ok(Some(line)) if line.contains(needle) => return line,
                Ok(Some(_)) => {}
                Ok(None) => panic!(
                    "birthday-service exited before logging {needle:?}; log:\n{}",
                    self.log()
                ),
                Err(_) => panic!("no {needle:?} within {DEADLINE:?}; log:\n{}", self.log()),
            }
        }
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Peak resident set size of the process so far (`VmHWM`), in MiB.
    pub fn peak_rss_mib(&self) -> f64 {
        self.status_mib("VmHWM:")
    }

    /// Resident set size now (`VmRSS`), in MiB.
    pub fn rss_mib(&self) -> f64 {
        self.status_mib("VmRSS:")
    }

    fn status_mib(&self, field: &str) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("read /proc/PID/status");
        let kib: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("no {field} in /proc/PID/status"));
        kib / 1024.0
    }

    /// Sends a signal by name (TERM, INT) to this process only, by its PID.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.pid().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Waits (bounded) for the process to exit and returns whether it exited successfully.
    pub async fn wait_exit(&mut self) -> bool {
        let log = self.log.clone();
        let child = self.child.as_mut().expect("running");
        let status = wait_until_async("birthday-service to exit", DEADLINE, async || {
            let exited = child.try_wait().unwrap();
            exited.ok_or_else(|| format!("running; log:\n{}", log.lock().unwrap().join("\n")))
        })
        .await;
        self.child = None;
        status.success()
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Polls `GET url` until it answers `want` (a real condition, with a deadline).
pub async fn wait_status(client: &reqwest::Client, url: &str, want: u16) {
    let what = format!("{url} to answer {want}");
    wait_until_async(&what, DEADLINE, async || {
        match client.get(url).send().await {
            Ok(r) if r.status().as_u16() == want => Ok(()),
            Ok(r) => Err(r.status().to_string()),
            Err(e) => Err(e.to_string()),
        }
    })
    .await;
}

/// POSTs a JSON text and returns status and body.
pub async fn post(client: &reqwest::Client, base: &str, json: &str) -> (u16, serde_json::Value) {
    post_keyed(client, base, None, json).await
}

/// POSTs `json` with an `Idempotency-Key` header (or none) and returns status and body.
pub async fn post_keyed(
    client: &reqwest::Client,
    base: &str,
    key: Option<&str>,
    json: &str,
) -> (u16, serde_json::Value) {
    let mut request = client
        .post(format!("{base}/"))
        .header("content-type", "application/json")
        .body(json.to_owned());
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    let r = request.send().await.expect("POST");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(serde_json::Value::Null))
}

/// `GET /` as text.
pub async fn get_text(client: &reqwest::Client, base: &str) -> (u16, String) {
    let r = client.get(format!("{base}/")).send().await.expect("GET");
    (r.status().as_u16(), r.text().await.expect("GET body"))
}

/// `GET /` with `Accept: application/json`.
pub async fn get_json(client: &reqwest::Client, base: &str) -> Vec<serde_json::Value> {
    let r = client
        .get(format!("{base}/"))
        .header("accept", "application/json")
        .send()
        .await
        .expect("GET");
    assert_eq!(r.status(), 200);
    r.json().await.expect("a JSON array")
}

/// What the proxy forwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Forward,
    /// Nothing, either way; new connections get no upstream (a vanished container).
    Silent,
    /// Requests reach the server, its replies are dropped: a write is done and its answer
    /// lost (a server that dies right after committing, a network that fails one way).
    DropReplies,
}

/// A TCP proxy in front of the database that can go silent: in "blackhole" mode it keeps
/// every connection open and accepts new ones but forwards nothing, like a host whose
/// container vanished without a reset; in "drop replies" mode it forwards requests but not
/// the answers. Restoring closes the connections that went silent (their protocol state is
/// lost) and forwards again.
pub struct Proxy {
    pub addr: SocketAddr,
    mode: tokio::sync::watch::Sender<(u64, Mode)>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    pub async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (mode, watch) = tokio::sync::watch::channel((0_u64, Mode::Forward));
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(pump(client, upstream, watch.clone()));
            }
        });
        Proxy { addr, mode, task }
    }

    pub fn blackhole(&self) {
        self.set(Mode::Silent);
    }

    pub fn drop_replies(&self) {
        self.set(Mode::DropReplies);
    }

    pub fn restore(&self) {
        self.set(Mode::Forward);
    }

    fn set(&self, new: Mode) {
        self.mode.send_modify(|(generation, mode)| {
            *generation += 1;
            *mode = new;
        });
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn pump(
    mut client: tokio::net::TcpStream,
    upstream: SocketAddr,
    mut mode: tokio::sync::watch::Receiver<(u64, Mode)>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (born, born_mode) = *mode.borrow_and_update();
    // A connection made while silent gets no upstream at all.
    let mut server = if born_mode == Mode::Silent {
        None
    } else {
        match tokio::net::TcpStream::connect(upstream).await {
            Ok(s) => Some(s),
            Err(_) => return,
        }
    };
    let (mut a, mut b) = ([0u8; 16384], [0u8; 16384]);
    loop {
        let (generation, current) = *mode.borrow();
        if generation != born && current == Mode::Forward {
            return; // restored after a fault: drop the stale connection
        }
        let requests = current != Mode::Silent;
        let replies = current == Mode::Forward;
        tokio::select! {
            n = client.read(&mut a) => {
                let Ok(n @ 1..) = n else { return };
                if requests && let Some(s) = server.as_mut() && s.write_all(&a[..n]).await.is_err() {
                    return;
                }
            }
            n = async { match server.as_mut() { Some(s) => s.read(&mut b).await, None => std::future::pending().await } } => {
                let Ok(n @ 1..) = n else { return };
                if replies && client.write_all(&b[..n]).await.is_err() {
                    return;
                }
            }
            changed = mode.changed() => if changed.is_err() { return },
        }
    }
}
