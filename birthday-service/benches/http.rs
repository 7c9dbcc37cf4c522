//! Benchmark of the service over real HTTP against the real server (FerretDB or mongod):
//! POST and GET requests per second with p50/p99 latency, the service's peak RSS while GET
//! streams 10,000 (and, with `BENCH_LARGE=1`, 1,000,000) documents, and the same documents
//! read with the driver alone, which is the database's own limit.
//!
//!     cargo bench -p birthday-service --bench http                 # about a minute
//!     BENCH_LARGE=1 cargo bench -p birthday-service --bench http   # adds 1,000,000 documents (~5 min)
//!
//! Targets (issue 2): GET of 10,000 documents within 1.2x the driver-alone read; RSS under
//! 64 MiB while streaming 1,000,000 documents. Exits non-zero when a target is missed.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mongodb::bson::{RawDocumentBuf, doc};
use mongodb::{Client, Collection};
use serde_json::json;

const POST_REQUESTS: usize = 4000;
const POST_CONCURRENCY: usize = 8;
const GET_ROUNDS: usize = 20;
const SMALL: usize = 10_000;
const LARGE: usize = 1_000_000;
/// The service reads in batches of this size too (birthday_service::store::BATCH_SIZE).
const BATCH: u32 = birthday_service::store::BATCH_SIZE;

/// The release-built service, killed on drop; stderr is drained so logging never blocks it.
struct Service {
    child: Child,
    base: String,
}

impl Service {
    fn spawn(uri: &str, collection: &str) -> Service {
        let mut child = Command::new(env!("CARGO_BIN_EXE_birthday-service"))
            .args(["0", "--mongo-uri", uri, "--collection", collection])
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run birthday-service");
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let port = loop {
            let line = lines
                .next()
                .expect("birthday-service exited during start-up")
                .unwrap();
            if let Some(addr) = line.split("listening on ").nth(1) {
                let addr: std::net::SocketAddr = addr.trim().parse().unwrap();
                break addr.port();
            }
        };
        std::thread::spawn(move || lines.for_each(drop));
        Service {
            child,
            base: format!("http://127.0.0.1:{port}/"),
        }
    }

    /// Peak resident set size so far (VmHWM), in MiB.
    fn peak_rss_mib(&self) -> f64 {
        status_kib(self.child.id(), "VmHWM:") / 1024.0
    }

    fn rss_mib(&self) -> f64 {
        status_kib(self.child.id(), "VmRSS:") / 1024.0
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn status_kib(pid: u32, field: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(f64::NAN)
}

struct Stats {
    count: usize,
    wall: Duration,
    latencies: Vec<Duration>,
}

impl Stats {
    fn new(wall: Duration, mut latencies: Vec<Duration>) -> Stats {
        latencies.sort_unstable();
        Stats {
            count: latencies.len(),
            wall,
            latencies,
        }
    }
    fn rps(&self) -> f64 {
        self.count as f64 / self.wall.as_secs_f64()
    }
    fn pct(&self, p: f64) -> Duration {
        let i = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[i]
    }
    fn line(&self, what: &str) -> String {
        format!(
            "{what:<34} {:>9.1} req/s   p50 {:>9.2} ms   p99 {:>9.2} ms   (n={})",
            self.rps(),
            ms(self.pct(0.50)),
            ms(self.pct(0.99)),
            self.count
        )
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(600))
        .build()
        .unwrap()
}

async fn bench_post(uri: &str) -> (Stats, f64) {
    let service = Service::spawn(uri, "bench_post");
    let client = http();
    let post = |client: reqwest::Client, base: String, i: usize| async move {
        let body = json!({"name": format!("Physicist {i}"), "birthday": "13.06.1831"}).to_string();
        let started = Instant::now();
        let r = client
            .post(&base)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        r.bytes().await.unwrap();
        started.elapsed()
    };
    for i in 0..200 {
        post(client.clone(), service.base.clone(), i).await;
    }
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..POST_CONCURRENCY)
        .map(|_| {
            let (client, base, next) = (client.clone(), service.base.clone(), next.clone());
            tokio::spawn(async move {
                let mut lat = Vec::new();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= POST_REQUESTS {
                        return lat;
                    }
                    lat.push(post(client.clone(), base.clone(), i).await);
                }
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for w in workers {
        latencies.extend(w.await.unwrap());
    }
    (
        Stats::new(started.elapsed(), latencies),
        service.peak_rss_mib(),
    )
}

/// The same inserts with the driver alone, same concurrency: the database's own write limit.
async fn bench_driver_insert(client: &Client) -> Stats {
    let coll = client
        .database("demo")
        .collection::<mongodb::bson::Document>("bench_post_driver");
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..POST_CONCURRENCY)
        .map(|_| {
            let (coll, next) = (coll.clone(), next.clone());
            tokio::spawn(async move {
                let mut lat = Vec::new();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= POST_REQUESTS {
                        return lat;
                    }
                    let t = Instant::now();
                    coll.insert_one(
                        doc! {"name": format!("Physicist {i}"), "birthday": "13.06.1831"},
                    )
                    .await
                    .unwrap();
                    lat.push(t.elapsed());
                }
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for w in workers {
        latencies.extend(w.await.unwrap());
    }
    Stats::new(started.elapsed(), latencies)
}

/// Inserts `n` small documents straight through the driver (seeding, not measured).
async fn seed(coll: &Collection<RawDocumentBuf>, n: usize) -> Duration {
    let started = Instant::now();
    let docs = coll.clone_with_type::<mongodb::bson::Document>();
    let mut i = 0;
    while i < n {
        let end = (i + 10_000).min(n);
        let batch: Vec<_> = (i..end)
            .map(|k| doc! {"name": format!("Physicist {k}"), "birthday": "13.06.1831", "n": k as i64})
            .collect();
        docs.insert_many(batch).await.unwrap();
        i = end;
    }
    started.elapsed()
}

/// One full GET; returns latency and the number of lines.
async fn get_all(client: &reqwest::Client, base: &str) -> (Duration, usize) {
    let started = Instant::now();
    let mut r = client.get(base).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let mut lines = 0;
    while let Some(chunk) = r.chunk().await.unwrap() {
        lines += chunk.iter().filter(|b| **b == b'\n').count();
    }
    (started.elapsed(), lines)
}

/// The same read with the driver alone: every document of the cursor, touched, not parsed.
async fn driver_read(coll: &Collection<RawDocumentBuf>) -> (Duration, usize) {
    let started = Instant::now();
    let mut cursor = coll.find(doc! {}).batch_size(BATCH).await.unwrap();
    let mut n = 0;
    let mut bytes = 0;
    while cursor.advance().await.unwrap() {
        bytes += cursor.current().as_bytes().len();
        n += 1;
    }
    std::hint::black_box(bytes);
    (started.elapsed(), n)
}

struct GetResult {
    http: Stats,
    driver: Stats,
    peak_rss: f64,
    idle_rss: f64,
    seed: Duration,
}

/// Seeds `n` documents, then reads them `rounds` times each way, after one warm-up read each
/// way when `warm_up` (skipped for the large case, where one read takes minutes).
async fn bench_get(
    client: &Client,
    uri: &str,
    n: usize,
    rounds: usize,
    warm_up: bool,
) -> GetResult {
    let name = format!("bench_{n}");
    let coll: Collection<RawDocumentBuf> = client.database("demo").collection(&name);
    coll.drop().await.unwrap();
    let seed = seed(&coll, n).await;
    let service = Service::spawn(uri, &name);
    let http = http();
    if warm_up {
        // Both paths once (connections, the server's caches).
        assert_eq!(get_all(&http, &service.base).await.1, n);
        assert_eq!(driver_read(&coll).await.1, n);
    }
    let idle_rss = service.rss_mib();
    let (mut h, mut d) = (Vec::new(), Vec::new());
    let (mut hw, mut dw) = (Duration::ZERO, Duration::ZERO);
    // Interleaved, so both see the same machine state.
    for _ in 0..rounds {
        let (t, lines) = get_all(&http, &service.base).await;
        assert_eq!(lines, n);
        h.push(t);
        hw += t;
        let (t, docs) = driver_read(&coll).await;
        assert_eq!(docs, n);
        d.push(t);
        dw += t;
    }
    GetResult {
        http: Stats::new(hw, h),
        driver: Stats::new(dw, d),
        peak_rss: service.peak_rss_mib(),
        idle_rss,
        seed,
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let ok = runtime.block_on(run());
    if !ok {
        std::process::exit(1);
    }
}

async fn run() -> bool {
    let large = std::env::var("BENCH_LARGE").is_ok_and(|v| v == "1");
    let server = testkit::MongoServer::start()
        .await
        .unwrap_or_else(|e| panic!("the benchmark needs a MongoDB-compatible server: {e}"));
    println!("server: {} at {}", server.binary().display(), server.uri());
    let client = Client::with_uri_str(server.uri()).await.unwrap();
    let mut ok = true;

    let (post, post_rss) = bench_post(&server.uri()).await;
    println!(
        "{}   peak RSS {post_rss:.1} MiB",
        post.line(&format!("POST 1 doc (concurrency {POST_CONCURRENCY})"))
    );
    let insert = bench_driver_insert(&client).await;
    println!(
        "{}",
        insert.line(&format!(
            "insert 1 doc, driver alone (c {POST_CONCURRENCY})"
        ))
    );

    let small = bench_get(&client, &server.uri(), SMALL, GET_ROUNDS, true).await;
    report(SMALL, &small);
    let ratio = ms(small.http.pct(0.5)) / ms(small.driver.pct(0.5));
    println!("GET {SMALL} / driver-alone read (p50): {ratio:.2}x   target <= 1.20x");
    ok &= ratio <= 1.2;

    if large {
        let big = bench_get(&client, &server.uri(), LARGE, 1, false).await;
        report(LARGE, &big);
        let ratio = ms(big.http.pct(0.5)) / ms(big.driver.pct(0.5));
        println!("GET {LARGE} / driver-alone read (p50): {ratio:.2}x");
        println!(
            "peak RSS while streaming {LARGE}: {:.1} MiB   target < 64 MiB",
            big.peak_rss
        );
        ok &= big.peak_rss < 64.0;
        coll_drop(&client, LARGE).await;
    } else {
        println!("(set BENCH_LARGE=1 to stream {LARGE} documents too)");
    }
    println!("{}", if ok { "targets met" } else { "TARGET MISSED" });
    ok
}

/// The large collection takes about a gigabyte of the server's disk: drop it when done.
async fn coll_drop(client: &Client, n: usize) {
    let coll: Collection<RawDocumentBuf> =
        client.database("demo").collection(&format!("bench_{n}"));
    let _ = coll.drop().await;
}

fn report(n: usize, r: &GetResult) {
    println!(
        "seeded {n} documents through the driver in {:.1} s",
        r.seed.as_secs_f64()
    );
    println!("{}", r.http.line(&format!("GET {n} docs over HTTP")));
    println!("{}", r.driver.line(&format!("read {n} docs, driver alone")));
    println!(
        "service RSS: {:.1} MiB after warm-up, peak {:.1} MiB while streaming {n}",
        r.idle_rss, r.peak_rss
    );
}
