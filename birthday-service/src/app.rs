//! The router: `app(state)` builds the whole service without a socket, so tests can drive it
//! with `oneshot`, and `main` serves it on every address.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{ConnectInfo, Request};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::routes;
use crate::store::Store;

/// Bytes of request bodies being parsed and stored at the same time, across all `POST /`
/// requests; the others wait, their body already read. A body can take several times its
/// size while it is turned into BSON and handed to the driver (1 MiB of `{}` in one array
/// inside one document is 4.4 MiB of BSON, about 15 MiB at the peak with the driver's two
/// copies), so this bounds the memory of all POSTs together however many clients post at
/// once. Small bodies take little of it: hundreds of small POSTs still run at once, and two
/// of the largest keep the database busy, which does the work.
pub const POST_BUDGET: usize = 2 * 1024 * 1024;
/// The unit the budget is counted in; every POST takes at least one.
const POST_BUDGET_UNIT: usize = 4096;

/// How long a client may take to send the body of a POST unless configured otherwise
/// (`--body-timeout`): 1 MiB in 30 s is 35 kB/s, slower than any link a lab has.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Store,
    /// How long a client may take to send a POST's body, from the end of its headers.
    pub body_timeout: Duration,
    /// [`POST_BUDGET`], in units of [`POST_BUDGET_UNIT`].
    posts: Arc<Semaphore>,
}

impl AppState {
    pub fn new(store: Store) -> Self {
        AppState {
            store,
            body_timeout: BODY_TIMEOUT,
            posts: Arc::new(Semaphore::new(POST_BUDGET / POST_BUDGET_UNIT)),
        }
    }

    pub fn with_body_timeout(self, body_timeout: Duration) -> Self {
        AppState {
            body_timeout,
            ..self
        }
    }

    /// Waits until a body of `len` bytes fits in [`POST_BUDGET`]; the share is returned
    /// when the permit is dropped.
    pub async fn post_budget(&self, len: usize) -> OwnedSemaphorePermit {
        let units = len
            .div_ceil(POST_BUDGET_UNIT)
            .clamp(1, POST_BUDGET / POST_BUDGET_UNIT);
        let units = u32::try_from(units).unwrap_or(u32::MAX);
        self.posts
            .clone()
            .acquire_many_owned(units)
            .await
            .expect("the POST budget is never closed")
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
