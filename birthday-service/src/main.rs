//! `birthday-service`: configuration, logging, listening on every address, and a graceful
//! shutdown on SIGTERM/SIGINT. Everything else lives in the library.

use std::io::IsTerminal as _;
use std::process::ExitCode;

use anyhow::Context as _;
use birthday_service::config::{self, Cli};
use birthday_service::{AppState, Store, app, listen, serve};
use clap::{CommandFactory as _, Parser as _};
use futures::FutureExt as _;
use tokio::signal::unix::{SignalKind, signal};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // Address errors are usage errors: clap prints them with the usage line, exit code 2.
    let uri = match cli.mongo_uri() {
        Ok(uri) => uri,
        Err(e) => {
            let kind = match e {
                config::ConfigError::NoAddress => clap::error::ErrorKind::MissingRequiredArgument,
                config::ConfigError::InvalidPort(_) => clap::error::ErrorKind::ValueValidation,
            };
            Cli::command().error(kind, e).exit()
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    match run(cli, uri).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli, uri: String) -> anyhow::Result<()> {
    // Signal handlers first: a SIGTERM that arrives while we start must not kill us mid-way.
    let mut sigterm = signal(SignalKind::terminate()).context("install the SIGTERM handler")?;
    let mut sigint = signal(SignalKind::interrupt()).context("install the SIGINT handler")?;
    let shutdown = async move {
        let name = tokio::select! {
            _ = sigterm.recv() => "SIGTERM",
            _ = sigint.recv() => "SIGINT",
        };
        tracing::info!(signal = name, "shutting down: finishing in-flight requests");
    }
    .shared();

    let store = Store::connect(&uri, &cli.db, &cli.collection)
        .await
        .context("configure the MongoDB client")?;
    tracing::info!(
        mongodb = %config::redact_uri(&uri),
        db = %cli.db,
        collection = %cli.collection,
        "database configured (connects in the background)"
    );
    let listeners = listen::bind_all(cli.port)
        .await
        .with_context(|| format!("listen on port {}", cli.port))?;
    let app = app(AppState::new(store.clone()).with_body_timeout(cli.body_timeout));
    tracing::info!(
        header_timeout = ?cli.header_timeout,
        body_timeout = ?cli.body_timeout,
        "time-outs for clients"
    );
    let servers = listeners.into_iter().map(|listener| {
        match listener.local_addr() {
            Ok(addr) => tracing::info!("listening on {addr}"),
            Err(e) => tracing::warn!(error = %e, "listening on an unknown address"),
        }
        serve::serve(listener, app.clone(), cli.header_timeout, shutdown.clone())
    });
    let served = futures::future::try_join_all(servers).await;
    // The router and its handles are gone now: this is the driver's last handle.
    store.close().await;
    served.context("serve HTTP")?;
    tracing::info!("stopped");
    Ok(())
}
