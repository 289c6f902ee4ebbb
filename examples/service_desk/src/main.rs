//! `service-desk [STORE]`: the service desk on a store (a sled directory, by default
//! `target/service-desk-store`; or the store `SERVICE_LIFECYCLE_STORE` names, a PostgreSQL URL
//! included), at `http://127.0.0.1:8080/` (or `SERVICE_DESK_ADDR`). Ctrl-C or SIGTERM stops it
//! cleanly.

use std::process::ExitCode;
use std::sync::Arc;

use service_desk::{serve, Desk, DeskStore};
use service_lifecycle::postgres::{PostgresOptions, PostgresStore};
use service_lifecycle::sled::{Engine, SledOptions, SledStore};
use service_lifecycle::ServiceEvent;
use service_lifecycle_cli::location::{StoreLocation, STORE_VARIABLE};

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let location: StoreLocation = match (std::env::args().nth(1), std::env::var(STORE_VARIABLE)) {
        (Some(argument), _) => argument.parse()?,
        (None, Ok(variable)) => variable.parse()?,
        (None, Err(_)) => "target/service-desk-store".parse()?,
    };
    let address = std::env::var("SERVICE_DESK_ADDR").unwrap_or_else(|_| "127.0.0.1:8080".into());
    match location {
        StoreLocation::Sled(path) => {
            let store = tokio::task::spawn_blocking(move || SledStore::<ServiceEvent>::open(path))
                .await??;
            desk_on(store, &address).await
        }
        StoreLocation::Redb(path) => {
            let store = tokio::task::spawn_blocking(move || {
                SledStore::<ServiceEvent>::open_with(path, SledOptions::new().engine(Engine::Redb))
            })
            .await??;
            desk_on(store, &address).await
        }
        StoreLocation::Postgres { url, schema } => {
            let store = tokio::task::spawn_blocking(move || {
                PostgresStore::<ServiceEvent>::open_with(
                    &url,
                    PostgresOptions::new().schema(schema),
                )
            })
            .await??;
            desk_on(store, &address).await
        }
    }
}

async fn desk_on<S: DeskStore>(store: S, address: &str) -> Result<(), Box<dyn std::error::Error>> {
    // Opening folds what the policies had not followed yet: blocking work, off the async threads.
    let desk = Arc::new(tokio::task::spawn_blocking(move || Desk::open(store)).await??);
    let listener = tokio::net::TcpListener::bind(address).await?;
    println!(
        "the service desk runs at http://{}/ (the dashboard; the API is under /api); Ctrl-C stops it",
        listener.local_addr()?
    );
    serve(listener, desk, async {
        stop_asked().await;
        eprintln!("stopping: the requests in flight finish, the policies save their checkpoint");
    })
    .await?;
    Ok(())
}

/// Ctrl-C, or the SIGTERM a service manager (systemd, docker) sends.
async fn stop_asked() {
    let mut terminate =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let terminated = async {
        match terminate.as_mut() {
            Some(signal) => {
                signal.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminated => {}
    }
}
