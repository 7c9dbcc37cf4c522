//! The test helper against the real server: start, answer, kill, restart, clean up.

use std::path::PathBuf;

use mongodb::bson::{Document, doc};
use testkit::MongoServer;

async fn client(server: &MongoServer) -> mongodb::Client {
    mongodb::Client::with_uri_str(server.uri()).await.unwrap()
}

fn alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

#[tokio::test]
async fn starts_answers_and_cleans_up_on_drop() {
    let server = MongoServer::start()
        .await
        .expect("a MongoDB-compatible server");
    assert!(server.addr().ip().is_loopback());
    let pid = server.pid().expect("a process");
    let data = server.data_dir().to_path_buf();
    let db = client(&server).await.database("testkit");
    db.run_command(doc! {"ping": 1}).await.unwrap();
    db.collection::<Document>("c")
        .insert_one(doc! {"a": 1})
        .await
        .unwrap();
    assert!(data.is_dir());
    drop(server);
    assert!(!alive(pid), "server PID {pid} still running after drop");
    assert!(!data.exists(), "data folder {data:?} left behind");
}

#[tokio::test]
async fn kill_and_restart_keep_the_data() {
    let mut server = MongoServer::start().await.unwrap();
    let coll = client(&server)
        .await
        .database("testkit")
        .collection::<Document>("c");
    coll.insert_one(doc! {"n": 1}).await.unwrap();
    let old_pid = server.pid().unwrap();
    server.kill().await.unwrap();
    assert!(!alive(old_pid));
    assert!(server.pid().is_none());
    server.restart().await.unwrap();
    // A fresh client: the point is the data, not the driver's reconnection (tested in the service).
    let coll = client(&server)
        .await
        .database("testkit")
        .collection::<Document>("c");
    assert_eq!(coll.count_documents(doc! {}).await.unwrap(), 1);
}

#[tokio::test]
async fn start_in_a_given_folder_keeps_it() {
    let dir = tempfile::tempdir().unwrap();
    let data: PathBuf = dir.path().join("data");
    {
        let server = MongoServer::start_in(&data).await.unwrap();
        client(&server)
            .await
            .database("testkit")
            .collection::<Document>("c")
            .insert_one(doc! {"kept": true})
            .await
            .unwrap();
    }
    assert!(
        data.is_dir(),
        "a caller's data folder must survive the server"
    );
    let server = MongoServer::start_in(&data).await.unwrap();
    let n = client(&server)
        .await
        .database("testkit")
        .collection::<Document>("c")
        .count_documents(doc! {"kept": true})
        .await
        .unwrap();
    assert_eq!(n, 1);
}

#[tokio::test]
async fn a_panicking_test_still_cleans_up() {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(async move {
        let server = MongoServer::start().await.unwrap();
        tx.send((server.pid().unwrap(), server.data_dir().to_path_buf()))
            .unwrap();
        panic!("on purpose, with a server running");
    });
    let (pid, data) = rx.await.unwrap();
    assert!(task.await.unwrap_err().is_panic());
    assert!(!alive(pid), "server PID {pid} survived the panic");
    assert!(!data.exists(), "data folder {data:?} survived the panic");
}
