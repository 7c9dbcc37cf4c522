//! The real binary: three web servers on one database (the article's setup), and a graceful
//! shutdown that lets an in-flight response finish.

mod common;

use common::*;
use mongodb::bson::{Document, doc};
use testkit::poll::wait_until_async;

#[tokio::test]
async fn three_instances_on_one_database_see_each_others_writes() {
    let db = mongo().await;
    let addr = db.addr();
    let (host, port) = (addr.ip().to_string(), addr.port().to_string());
    // Started the way the article starts them: PORT MONGO_HOST MONGO_PORT.
    let webservers = [
        ServiceProcess::spawn(&[&host, &port]).await,
        ServiceProcess::spawn(&[&host, &port]).await,
        ServiceProcess::spawn(&[&host, &port]).await,
    ];
    let client = http();
    // One physicist to each web server, as in the article.
    for (webserver, physicist) in webservers.iter().zip(PHYSICISTS) {
        let (status, body) = post(&client, &webserver.base, physicist).await;
        assert_eq!(status, 201, "{body}");
    }
    // Every web server lists all three, in posting order.
    for webserver in &webservers {
        assert_eq!(
            get_text(&client, &webserver.base).await,
            (200, ARTICLE_OUTPUT.to_owned())
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_an_in_flight_response_finish() {
    let db = mongo().await;
    // 2,000 documents of 10 KB: 20 MB, more than the socket buffers between us hold, so the
    // response is still streaming when the signal arrives.
    const N: usize = 2000;
    let coll = mongodb::Client::with_uri_str(db.uri())
        .await
        .unwrap()
        .database("demo")
        .collection::<Document>("birthdays");
    let filler = "x".repeat(10_000);
    for start in (0..N).step_by(500) {
        let docs: Vec<Document> = (start..start + 500)
            .map(|i| doc! {"n": i as i64, "filler": &filler})
            .collect();
        coll.insert_many(docs).await.unwrap();
    }
    let mut svc = ServiceProcess::spawn(&["--mongo-uri", &db.uri()]).await;
    let client = http();
    let mut response = client.get(format!("{}/", svc.base)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let first = response.chunk().await.unwrap().expect("a first chunk");

    svc.signal("TERM");
    svc.wait_for_line("shutting down").await;
    // New connections are refused once it shuts down (polled: the log line may come a
    // moment before the listener closes)...
    let healthz = format!("{}/healthz", svc.base);
    wait_until_async(
        "the service to refuse new connections",
        DEADLINE,
        async || client.get(&healthz).send().await.is_err(),
    )
    .await;
    // ...but the response in flight completes, every line of it.
    let mut body = first.to_vec();
    while let Some(chunk) = response.chunk().await.unwrap() {
        body.extend_from_slice(&chunk);
    }
    let text = String::from_utf8(body).unwrap();
    assert_eq!(text.lines().count(), N);
    assert!(text.ends_with(&format!("n = {}, filler = {filler}\n", N - 1)));
    assert!(
        svc.wait_exit().await,
        "exit status after SIGTERM; log:\n{}",
        svc.log()
    );
}

#[tokio::test]
async fn sigint_stops_an_idle_service_cleanly() {
    let mut svc = ServiceProcess::spawn(&["--mongo-uri", "mongodb://127.0.0.1:1/"]).await;
    svc.signal("INT");
    assert!(
        svc.wait_exit().await,
        "exit status after SIGINT; log:\n{}",
        svc.log()
    );
    assert!(svc.log().contains("SIGINT"));
}
