//! MongoDB dies and comes back: requests answer 503 within 2 s meanwhile, the service
//! recovers by itself, every document that got a 201 is still there, and a POST retried
//! with its `Idempotency-Key` is stored exactly once, whatever its first answer was.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;
use testkit::poll::wait_until_async;

/// The promise of the issue, measured at the client.
const UNAVAILABLE_WITHIN: Duration = Duration::from_secs(2);

/// POSTs document `seq` with the key `seq-N` and returns status and how long it took.
async fn post_seq(client: &reqwest::Client, base: &str, seq: u64) -> (u16, Duration) {
    let started = Instant::now();
    let (status, answer) = post_keyed(
        client,
        base,
        Some(&format!("seq-{seq}")),
        &json!({"seq": seq}).to_string(),
    )
    .await;
    if status == 503 {
        // What a 503 left stored is said, for the retry to decide.
        let stored = answer["stored"].as_str().unwrap_or_default();
        assert!(matches!(stored, "nothing" | "unknown"), "{answer}");
    }
    (status, started.elapsed())
}

/// Every stored `seq`, with how many documents carry it.
async fn stored_seqs(client: &reqwest::Client, base: &str) -> BTreeMap<u64, usize> {
    let mut counts = BTreeMap::new();
    for doc in get_json(client, base).await {
        *counts.entry(doc["seq"].as_u64().unwrap()).or_default() += 1;
    }
    counts
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
    let mut unanswered = Vec::new();
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
        } else {
            unanswered.push(seq);
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
    let first = wait_until_async("recovery (a POST stored)", DEADLINE, async || {
        seq += 1;
        let (status, _) = post_seq(&client, &svc.base, seq).await;
        if status == 201 {
            return Ok(seq);
        }
        assert_eq!(status, 503);
        Err(format!("503; the service's log:\n{}", svc.log()))
    })
    .await;
    stored.insert(first);
    for _ in 0..5 {
        seq += 1;
        assert_eq!(post_seq(&client, &svc.base, seq).await.0, 201);
        stored.insert(seq);
    }
    // The in-flight POSTs that got a 503 are retried with their keys: each one is stored
    // now, whether or not its first attempt was.
    for seq in unanswered {
        assert_eq!(
            post_seq(&client, &svc.base, seq).await.0,
            201,
            "retry of {seq}"
        );
        stored.insert(seq);
    }
    // Every document that got a 201 is there, exactly once.
    let listed = stored_seqs(&client, &svc.base).await;
    let missing: Vec<_> = stored.iter().filter(|s| !listed.contains_key(s)).collect();
    assert!(missing.is_empty(), "acknowledged but lost: {missing:?}");
    let twice: Vec<_> = listed.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "stored more than once: {twice:?}");
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
    wait_until_async("recovery (a POST stored)", DEADLINE, async || {
        match post(&client, &svc.base, PHYSICISTS[1]).await.0 {
            201 => Ok(()),
            status => Err(format!("{status}; the service's log:\n{}", svc.log())),
        }
    })
    .await;
    let (status, text) = get_text(&client, &svc.base).await;
    assert_eq!(status, 200);
    assert!(
        text.starts_with("name = James Clerk Maxwell, birthday = 13.06.1831\n"),
        "{text}"
    );
}

/// The write reaches the database, its answer does not (the proxy drops replies): the POST
/// answers 503 saying the outcome is unknown, although the document is stored. Retried with
/// the same key once the database answers again, it gets the original 201, and the document
/// is there once. Without a key the 503 says that a plain retry may store it twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_whose_answer_was_lost_is_stored_once_when_retried_with_its_key() {
    let db = mongo().await;
    let proxy = Proxy::start(db.addr()).await;
    let svc = ServiceProcess::spawn(&["--mongo-uri", &format!("mongodb://{}/", proxy.addr)]).await;
    let client = http();
    let [maxwell, einstein, heisenberg] = PHYSICISTS;
    assert_eq!(
        post_keyed(&client, &svc.base, Some("k-0"), maxwell).await.0,
        201
    );

    proxy.drop_replies();
    let started = Instant::now();
    let (status, answer) = post_keyed(&client, &svc.base, Some("k-1"), einstein).await;
    assert_eq!(status, 503, "{answer}");
    assert!(
        started.elapsed() < UNAVAILABLE_WITHIN,
        "{:?}",
        started.elapsed()
    );
    assert_eq!(answer["stored"], "unknown", "{answer}");
    let message = answer["error"].as_str().unwrap();
    assert!(
        message.contains("outcome is unknown") && message.contains("same Idempotency-Key"),
        "{message}"
    );
    // It was stored all the same (asked directly, not through the proxy): the hazard.
    let direct = mongodb::Client::with_uri_str(db.uri())
        .await
        .unwrap()
        .database("demo")
        .collection::<mongodb::bson::Document>("birthdays");
    wait_until_async("the lost write to show up", DEADLINE, async || {
        let found = direct.find_one(mongodb::bson::doc! {"_id": "k-1"}).await;
        found.unwrap().is_some()
    })
    .await;
    let (status, answer) = post_keyed(&client, &svc.base, None, heisenberg).await;
    assert_eq!(
        (status, &answer["stored"]),
        (503, &json!("unknown")),
        "{answer}"
    );
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("A plain retry may store them twice"),
        "{answer}"
    );

    // Back: the retry with the same key answers the original 201 (after 503s while the
    // driver notices that the server answers again).
    proxy.restore();
    let answer = wait_until_async("recovery (the retry stored)", DEADLINE, async || {
        let (status, answer) = post_keyed(&client, &svc.base, Some("k-1"), einstein).await;
        if status == 201 {
            return Ok(answer);
        }
        assert_eq!(status, 503, "{answer}");
        Err(format!("503 {answer}; the service's log:\n{}", svc.log()))
    })
    .await;
    assert_eq!(answer, json!({"id": "k-1"}));
    let names: Vec<String> = get_json(&client, &svc.base)
        .await
        .iter()
        .map(|d| d["name"].as_str().unwrap().to_owned())
        .collect();
    let count = |name: &str| names.iter().filter(|n| n.as_str() == name).count();
    assert_eq!(count("James Clerk Maxwell"), 1, "{names:?}");
    assert_eq!(count("Albert Einstein"), 1, "{names:?}");
    // The unkeyed one may or may not have been stored; nothing stored it twice.
    assert!(count("Werner Heisenberg") <= 1, "{names:?}");
}
