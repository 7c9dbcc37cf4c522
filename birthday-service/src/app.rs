//! The router: `app(state)` builds the whole service without a socket, so tests can drive it
//! with `oneshot`, and `main` serves it on every address.

use std::net::SocketAddr;
use std::time::Instant;

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;

use crate::error::BODY_LIMIT;
use crate::routes;
use crate::store::Store;

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Store,
}

impl AppState {
    pub fn new(store: Store) -> Self {
        AppState { store }
    }
}

/// The service: `GET /` and `POST /` (the article's API), `/healthz`, `/readyz`.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route(
            "/",
            get(routes::birthdays::list).post(routes::birthdays::create),
        )
        .route("/healthz", get(routes::health::healthz))
        .route("/readyz", get(routes::health::readyz))
        .fallback(routes::not_found)
        .method_not_allowed_fallback(routes::method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn(log_request))
        .with_state(state)
}

/// One info line per request. The peer address shows which path a request took in the
/// networking demos (direct, published port, pipework interface).
async fn log_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        // An IPv4 client of the dual-stack socket shows as ::ffff:a.b.c.d; print a.b.c.d.
        .map(|ConnectInfo(addr)| SocketAddr::new(addr.ip().to_canonical(), addr.port()));
    let response = next.run(request).await;
    let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    match peer {
        Some(peer) => {
            tracing::info!(%method, %path, status = response.status().as_u16(), %peer, micros, "request")
        }
        None => {
            tracing::info!(%method, %path, status = response.status().as_u16(), micros, "request")
        }
    }
    response
}
