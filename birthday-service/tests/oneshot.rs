//! `app()` driven in-process with `oneshot`: everything that needs no database, plus the
//! behaviour when the database cannot be reached at all.

use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use birthday_service::{AppState, Store, app};
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use tower::ServiceExt as _;

/// The app against a port nobody listens on: the driver is configured lazily, so this works.
async fn app_without_database() -> Router {
    let port = testkit::free_port().unwrap();
    let store = Store::connect(&format!("mongodb://127.0.0.1:{port}/"), "demo", "birthdays")
        .await
        .unwrap();
    app(AppState::new(store))
}

async fn send(app: Router, request: Request<Body>) -> (StatusCode, String, Value) {
    let response = app.oneshot(request).await.unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, content_type, body)
}

fn post(content_type: Option<&str>, body: impl Into<Body>) -> Request<Body> {
    let mut request = Request::post("/");
    if let Some(ct) = content_type {
        request = request.header(header::CONTENT_TYPE, ct);
    }
    request.body(body.into()).unwrap()
}

#[tokio::test]
async fn bad_requests_are_answered_before_any_database_work() {
    let json_ct = Some("application/json");
    let cases: Vec<(Request<Body>, StatusCode, &str)> = vec![
        (
            post(json_ct, "{\"a\":"),
            StatusCode::BAD_REQUEST,
            "malformed JSON: EOF while parsing a value at line 1 column 5",
        ),
        (
            post(json_ct, "true"),
            StatusCode::BAD_REQUEST,
            "expected a JSON object or an array of objects, got a boolean",
        ),
        (
            post(json_ct, "[{}, []]"),
            StatusCode::BAD_REQUEST,
            "element 1 of the array is an array, expected an object",
        ),
        (
            post(json_ct, r#"{"ok":{"$bad":1}}"#),
            StatusCode::BAD_REQUEST,
            r#"field name "ok.$bad" is not allowed: field names must not start with '$'; rename the field"#,
        ),
        (
            post(json_ct, vec![b' '; 1024 * 1024 + 1]),
            StatusCode::PAYLOAD_TOO_LARGE,
            "request body is larger than the limit of 1 MiB (1048576 bytes); split the documents into several requests",
        ),
        (
            post(Some("text/plain"), "{}"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            r#"unsupported Content-Type "text/plain": send the body as application/json"#,
        ),
        (
            post(None, "{}"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "missing Content-Type: send the body as application/json",
        ),
    ];
    let app = app_without_database().await;
    for (request, want_status, want_message) in cases {
        let started = Instant::now();
        let (status, content_type, body) = send(app.clone(), request).await;
        assert_eq!(
            (status, body),
            (want_status, json!({"error": want_message}))
        );
        assert_eq!(content_type, "application/json");
        // No database round trip (it would take the 800 ms server selection timeout).
        assert!(started.elapsed() < Duration::from_millis(500));
    }
}

#[tokio::test]
async fn healthz_needs_no_database() {
    let (status, _, body) = send(
        app_without_database().await,
        Request::get("/healthz").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!((status, body), (StatusCode::OK, json!({"status": "ok"})));
}

#[tokio::test]
async fn an_unreachable_database_is_a_503_within_two_seconds() {
    let app = app_without_database().await;
    let unavailable = json!({"error": "the database is unavailable; try again shortly"});
    // A POST says what it left stored: nothing, since no server could even be selected.
    let nothing_stored = json!({
        "error": "the database is unavailable and nothing was stored; try again shortly",
        "stored": "nothing",
    });
    let requests = [
        (
            post(Some("application/json"), r#"{"name":"Albert Einstein"}"#),
            nothing_stored,
        ),
        (
            Request::get("/").body(Body::empty()).unwrap(),
            unavailable.clone(),
        ),
        (
            Request::get("/readyz").body(Body::empty()).unwrap(),
            unavailable,
        ),
    ];
    for (request, want) in requests {
        let what = format!("{} {}", request.method(), request.uri());
        let started = Instant::now();
        let (status, _, body) = send(app.clone(), request).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{what}");
        assert_eq!(body, want, "{what}");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{what}: {:?}",
            started.elapsed()
        );
    }
}

#[tokio::test]
async fn an_empty_array_stores_nothing_and_needs_no_database() {
    let (status, _, body) = send(
        app_without_database().await,
        post(Some("application/json"), "[]"),
    )
    .await;
    assert_eq!((status, body), (StatusCode::CREATED, json!({"ids": []})));
}
