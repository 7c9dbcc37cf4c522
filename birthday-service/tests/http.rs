//! The article's API over real HTTP (reqwest) against a real MongoDB-compatible server.

mod common;

use common::*;
use serde_json::{Value, json};

#[tokio::test]
async fn the_three_physicists_print_as_in_the_article() {
    let db = mongo().await;
    let svc = serve_in_process(&db.uri(), "birthdays").await;
    let client = http();
    for physicist in PHYSICISTS {
        let (status, body) = post(&client, &svc.base, physicist).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["id"].as_str().map(str::len), Some(24), "{body}");
    }
    let r = client.get(format!("{}/", svc.base)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/plain; charset=utf-8");
    assert_eq!(r.text().await.unwrap(), ARTICLE_OUTPUT);
}

#[tokio::test]
async fn arbitrary_documents_round_trip() {
    let db = mongo().await;
    let svc = serve_in_process(&db.uri(), "any").await;
    let client = http();
    let docs = [
        r#"{"zeta":1,"alpha":2,"mid":3}"#,
        r#"{"nested":{"deep":{"deeper":[1,{"x":"y"}]}},"list":[true,false,null]}"#,
        r#"{"name":"Erwin Schrödinger","greek":"Ψ","emoji":"🐈","cjk":"薛定谔"}"#,
        r#"{"int":42,"neg":-7,"big":9007199254740993,"float":2.5,"whole_float":3.0,"exp":1e-7}"#,
        r#"{"empty_obj":{},"empty_list":[],"empty_str":""}"#,
    ];
    for doc in docs {
        let (status, body) = post(&client, &svc.base, doc).await;
        assert_eq!(status, 201, "{doc}: {body}");
    }
    // JSON: every document back, same values, same key order, ids as strings.
    let stored = get_json(&client, &svc.base).await;
    assert_eq!(stored.len(), docs.len());
    for (got, sent) in stored.iter().zip(docs) {
        let mut got = got.as_object().unwrap().clone();
        let id = got.shift_remove("_id").expect("an _id");
        assert!(id.is_string(), "{id}");
        let sent: serde_json::Map<String, Value> = serde_json::from_str(sent).unwrap();
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            sent.keys().collect::<Vec<_>>()
        );
        assert_eq!(got, sent);
    }
    // Text: strings bare, everything else compact JSON, document order.
    let (status, text) = get_text(&client, &svc.base).await;
    assert_eq!(status, 200);
    let want = "\
zeta = 1, alpha = 2, mid = 3
nested = {\"deep\":{\"deeper\":[1,{\"x\":\"y\"}]}}, list = [true,false,null]
name = Erwin Schrödinger, greek = Ψ, emoji = 🐈, cjk = 薛定谔
int = 42, neg = -7, big = 9007199254740993, float = 2.5, whole_float = 3.0, exp = 1e-7
empty_obj = {}, empty_list = [], empty_str = 
";
    assert_eq!(text, want);
}

#[tokio::test]
async fn an_array_is_stored_in_order_with_its_ids() {
    let db = mongo().await;
    let svc = serve_in_process(&db.uri(), "bulk").await;
    let client = http();
    let array = format!("[{}]", PHYSICISTS.join(","));
    let (status, body) = post(&client, &svc.base, &array).await;
    assert_eq!(status, 201, "{body}");
    let ids: Vec<&str> = body["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 3);
    let stored = get_json(&client, &svc.base).await;
    let stored_ids: Vec<&str> = stored.iter().map(|d| d["_id"].as_str().unwrap()).collect();
    assert_eq!(stored_ids, ids);
    assert_eq!(get_text(&client, &svc.base).await.1, ARTICLE_OUTPUT);
    // A client-chosen _id is kept, and reported as a string.
    let (status, body) = post(&client, &svc.base, r#"{"_id":"maxwell","x":1}"#).await;
    assert_eq!((status, body), (201, json!({"id": "maxwell"})));
}

#[tokio::test]
async fn every_bad_request_gets_its_status_and_message() {
    let db = mongo().await;
    let svc = serve_in_process(&db.uri(), "bad").await;
    let client = http();
    let (status, _) = post(&client, &svc.base, r#"{"_id":"taken"}"#).await;
    assert_eq!(status, 201);

    let json_ct = Some("application/json");
    let big = format!(r#"{{"x":"{}"}}"#, "a".repeat(1024 * 1024));
    let cases: Vec<(Option<&str>, String, u16, &str)> = vec![
        (json_ct, "{".into(), 400, "malformed JSON"),
        (json_ct, "".into(), 400, "malformed JSON"),
        (
            json_ct,
            "42".into(),
            400,
            "expected a JSON object or an array of objects, got a number",
        ),
        (json_ct, r#""text""#.into(), 400, "got a string"),
        (
            json_ct,
            r#"[{"a":1}, "b"]"#.into(),
            400,
            "element 1 of the array is a string",
        ),
        (
            json_ct,
            r#"{"$where":"1"}"#.into(),
            400,
            r#"field name "$where" is not allowed"#,
        ),
        (json_ct, r#"{"a":{"$inc":1}}"#.into(), 400, r#""a.$inc""#),
        (json_ct, r#"{"a.b":1}"#.into(), 400, "must not contain '.'"),
        (
            json_ct,
            r#"{"_id":[1,2]}"#.into(),
            400,
            "_id must not be an array",
        ),
        (
            json_ct,
            r#"[{"_id":"twice"},{"_id":"twice"}]"#.into(),
            400,
            "element 1 has the same _id as element 0",
        ),
        (
            json_ct,
            format!("[{}]", vec!["{}"; 10_001].join(",")),
            413,
            "more than 10000 documents",
        ),
        (
            json_ct,
            r#"{"_id":"taken","x":1}"#.into(),
            409,
            r#"a different document with _id "taken" is already stored"#,
        ),
        (json_ct, big, 413, "1 MiB"),
        (Some("text/plain"), "{}".into(), 415, "application/json"),
        (
            Some("application/x-www-form-urlencoded"),
            "a=b".into(),
            415,
            "application/json",
        ),
        (None, "{}".into(), 415, "Content-Type"),
    ];
    for (content_type, body, want_status, want_message) in cases {
        let mut request = client.post(format!("{}/", svc.base)).body(body.clone());
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        let r = request.send().await.unwrap();
        let shown = &body[..body.len().min(40)];
        assert_eq!(r.status().as_u16(), want_status, "{content_type:?} {shown}");
        assert_eq!(r.headers()["content-type"], "application/json");
        let error: Value = r.json().await.unwrap();
        let message = error["error"].as_str().unwrap_or_default();
        assert!(
            message.contains(want_message),
            "{content_type:?} {shown}: {message:?} lacks {want_message:?}"
        );
        // Database error text never reaches the client.
        assert!(!message.contains("E11000") && !message.contains("cannot be of type"));
    }
    // Exactly 1 MiB is still accepted.
    let exact = format!(r#"{{"x":"{}"}}"#, "a".repeat(1024 * 1024 - 8));
    assert_eq!(exact.len(), 1024 * 1024);
    assert_eq!(post(&client, &svc.base, &exact).await.0, 201);
    // Nothing bad was stored: the taken id and the 1 MiB document only.
    assert_eq!(get_json(&client, &svc.base).await.len(), 2);
}

#[tokio::test]
async fn get_streams_thousands_of_documents_in_insertion_order() {
    let db = mongo().await;
    let svc = serve_in_process(&db.uri(), "many").await;
    let client = http();
    const N: usize = 5000;
    for chunk in (0..N).collect::<Vec<_>>().chunks(1000) {
        let docs: Vec<Value> = chunk
            .iter()
            .map(|i| json!({"name": format!("physicist {i}"), "n": i}))
            .collect();
        let (status, body) = post(&client, &svc.base, &Value::Array(docs).to_string()).await;
        assert_eq!(status, 201, "{body}");
    }
    let (status, text) = get_text(&client, &svc.base).await;
    assert_eq!(status, 200);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), N);
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(*line, format!("name = physicist {i}, n = {i}"));
    }
    assert_eq!(get_json(&client, &svc.base).await.len(), N);
}

#[tokio::test]
async fn probes_and_unknown_routes() {
    let db = mongo().await;
    let svc = serve_in_process(&db.uri(), "probes").await;
    let client = http();
    let get = |path: &str| client.get(format!("{}{path}", svc.base)).send();
    assert_eq!(get("/healthz").await.unwrap().status(), 200);
    assert_eq!(get("/readyz").await.unwrap().status(), 200);
    let r = get("/nope").await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"error": "no route for /nope"})
    );
    let r = client
        .delete(format!("{}/", svc.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
}
