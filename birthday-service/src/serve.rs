//! Serving the router over HTTP/1.1 with a header read time-out and a graceful shutdown.
//!
//! `axum::serve` sets no timer on hyper, so hyper's header read time-out never runs: a client
//! that sent half of its headers was held forever (50 such connections stayed open until the
//! test gave up). This is the same accept loop with hyper's HTTP/1 builder configured. It is
//! HTTP/1.1 only: hyper-util's automatic HTTP/1-or-2 detection reads the first bytes of a
//! connection with no time-out at all, and the article's clients speak HTTP/1.1. The body's
//! time-out is the handler's (`routes::birthdays`), which knows when a body is expected.

use std::future::Future;
use std::io;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt as _;

/// How long to wait after a failed `accept` (e.g. EMFILE: out of file descriptors) before the
/// next one, instead of spinning; the same as axum's.
const ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

/// Serves `app` on `listener` until `shutdown` completes, then stops accepting, lets every
/// connection finish the request it is serving, and returns once all are closed.
///
/// `header_timeout`: how long a client may take to send a request's line and headers, counted
/// from when the connection is ready for the next request, so it also closes a kept-alive
/// connection that stays idle that long. hyper closes such a connection without an answer.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    header_timeout: Duration,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    // `true` once the shutdown has begun; every connection watches it.
    let (stopping, stop_seen) = watch::channel(false);
    // Every connection holds a receiver; the sender sees when the last one is gone.
    let (open, open_rx) = watch::channel(());
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed; trying again in {ACCEPT_BACKOFF:?}");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let app = app.clone();
        let mut stop_seen = stop_seen.clone();
        let open_rx = open_rx.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                let mut request = request.map(Body::new);
                request.extensions_mut().insert(ConnectInfo(peer));
                app.clone().oneshot(request)
            });
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            let stop = async move {
                // An error means the server is gone: stop as well.
                let _ = stop_seen.wait_for(|stop| *stop).await;
            };
            let result = tokio::select! {
                result = connection.as_mut() => result,
                () = stop => {
                    // Finishes the request in flight (an idle connection closes at once).
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(e) = result {
                // A header time-out ends up here too; the client is gone, nothing to answer.
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
            drop(open_rx);
        });
    }
    drop(listener);
    stopping.send_replace(true);
    drop(open_rx);
    open.closed().await;
    Ok(())
}
