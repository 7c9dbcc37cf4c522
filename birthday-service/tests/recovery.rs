//! MongoDB dies and comes back: requests answer 503 within 2 s meanwhile, the service
//! recovers by itself, and every document that got a 201 is still there.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

/// The promise of the issue, measured at the client.
const UNAVAILABLE_WITHIN: Duration = Duration::from_secs(2);

/// POSTs document `seq` and returns status and how long it took.
async fn post_seq(client: &reqwest::Client, base: &str, seq: u64) -> (u16, Duration) {
    let started = Instant::now();
    let (status, _) = post(client, base, &json!({"seq": seq}).to_string()).await;
    (status, started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_database_gives_fast_503s_and_the_service_recovers_without_restart() {
    let mut db = mongo().await;
    let mut svc = ServiceProcess::spawn(&["--mongo-uri", &db.uri()]).await;
    let client = http();
    wait_status(&client, &format!("{}/readyz", svc.base), 200).await;

    let mut stored = BTreeSet::new();
    let mut seq = 0;
    // A writer in full swing...
    for _ in 0..20 {
        seq += 1;
        let (status, _) = post_seq(&client, &svc.base, seq).await;
        assert_eq!(status, 201);
        stored.insert(seq);
    }
    // ...then the database dies mid-run, with concurrent requests in flight.
    let in_flight: Vec<_> = (0..8)
        .map(|i| {
            let client = client.clone();
            let base = svc.base.clone();
            tokio::spawn(async move { (1000 + i, post_seq(&client, &base, 1000 + i).await) })
        })
        .collect();
    db.kill().await.unwrap();
    for task in in_flight {
        let (seq, (status, took)) = task.await.unwrap();
        assert!(
            status == 201 || status == 503,
            "in-flight POST {seq}: {status}"
        );
        assert!(
            took < UNAVAILABLE_WITHIN,
            "in-flight POST {seq} took {took:?}"
        );
        if status == 201 {
            stored.insert(seq);
        }
    }
    // While it is down: POST, GET and /readyz answer 503 within 2 s (concurrently, as a
    // busy service would see them); /healthz stays 200.
    seq += 1;
    let get = |path: &'static str| {
        let client = client.clone();
        let url = format!("{}{path}", svc.base);
        async move {
            let started = Instant::now();
            let r = client.get(url).send().await.unwrap();
            (r, started.elapsed())
        }
    };
    let ((post_status, post_took), (list, list_took), (ready, ready_took), (health, _)) = tokio::join!(
        post_seq(&client, &svc.base, seq),
        get("/"),
        get("/readyz"),
        get("/healthz"),
    );
    assert_eq!(post_status, 503, "POST while the database is down");
    assert!(
        post_took < UNAVAILABLE_WITHIN,
        "POST 503 took {post_took:?}"
    );
    assert_eq!(list.status(), 503);
    assert!(list_took < UNAVAILABLE_WITHIN, "GET 503 took {list_took:?}");
    assert_eq!(list.headers()["retry-after"], "1");
    let error: serde_json::Value = list.json().await.unwrap();
    assert_eq!(
        error["error"],
        "the database is unavailable; try again shortly"
    );
    assert_eq!(ready.status(), 503);
    assert!(
        ready_took < UNAVAILABLE_WITHIN,
        "/readyz 503 took {ready_took:?}"
    );
    assert_eq!(health.status(), 200);

    // Back on the same data folder: the same service process recovers by itself.
    db.restart().await.unwrap();
    let until = Instant::now() + DEADLINE;
    loop {
        seq += 1;
        let (status, _) = post_seq(&client, &svc.base, seq).await;
        if status == 201 {
            stored.insert(seq);
            break;
        }
        assert_eq!(status, 503);
        assert!(
            Instant::now() < until,
            "no recovery within {DEADLINE:?}:\n{}",
            svc.log()
        );
    }
    for _ in 0..5 {
        seq += 1;
        assert_eq!(post_seq(&client, &svc.base, seq).await.0, 201);
        stored.insert(seq);
    }
    // Every document that got a 201 is there (in-flight ones that got 503 may or may not be).
    let listed: BTreeSet<u64> = get_json(&client, &svc.base)
        .await
        .iter()
        .map(|d| d["seq"].as_u64().unwrap())
        .collect();
    let missing: Vec<_> = stored.difference(&listed).collect();
    assert!(missing.is_empty(), "acknowledged but lost: {missing:?}");
    assert!(
        svc.wait_for_line("database unavailable")
            .await
            .contains("WARN")
    );
}

#[tokio::test]
async fn starts_before_the_database_and_serves_once_it_is_up() {
    let mut db = mongo().await;
    db.kill().await.unwrap();
    // The article starts the web servers right after the database container.
    let svc = ServiceProcess::spawn(&["--mongo-uri", &db.uri()]).await;
    let client = http();
    let r = client
        .get(format!("{}/healthz", svc.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let started = Instant::now();
    let (status, _) = post(&client, &svc.base, PHYSICISTS[0]).await;
    assert_eq!(status, 503);
    assert!(started.elapsed() < UNAVAILABLE_WITHIN);
    db.restart().await.unwrap();
    wait_status(&client, &format!("{}/readyz", svc.base), 200).await;
    assert_eq!(post(&client, &svc.base, PHYSICISTS[0]).await.0, 201);
    assert_eq!(
        get_text(&client, &svc.base).await.1,
        "name = James Clerk Maxwell, birthday = 13.06.1831\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_goes_silent_also_gives_503s_within_two_seconds() {
    let db = mongo().await;
    let proxy = Proxy::start(db.addr()).await;
    let svc = ServiceProcess::spawn(&["--mongo-uri", &format!("mongodb://{}/", proxy.addr)]).await;
    let client = http();
    assert_eq!(post(&client, &svc.base, PHYSICISTS[0]).await.0, 201);

    // TCP stays up, nothing answers: no reset tells the driver anything.
    proxy.blackhole();
    let get = |path: &'static str| {
        let client = client.clone();
        let url = format!("{}{path}", svc.base);
        async move {
            let started = Instant::now();
            let status = client.get(url).send().await.unwrap().status().as_u16();
            (status, started.elapsed())
        }
    };
    let ((post_status, post_took), (list, list_took), (ready, ready_took)) =
        tokio::join!(post_seq(&client, &svc.base, 1), get("/"), get("/readyz"),);
    assert_eq!((post_status, list, ready), (503, 503, 503));
    for took in [post_took, list_took, ready_took] {
        assert!(took < UNAVAILABLE_WITHIN, "a 503 took {took:?}");
    }

    // Back: the same process recovers by itself.
    proxy.restore();
    let until = Instant::now() + DEADLINE;
    while post(&client, &svc.base, PHYSICISTS[1]).await.0 != 201 {
        assert!(
            Instant::now() < until,
            "no recovery within {DEADLINE:?}:\n{}",
            svc.log()
        );
    }
    let (status, text) = get_text(&client, &svc.base).await;
    assert_eq!(status, 200);
    assert!(
        text.starts_with("name = James Clerk Maxwell, birthday = 13.06.1831\n"),
        "{text}"
    );
}
