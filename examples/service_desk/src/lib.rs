//! The service desk: an async web application over [`service_lifecycle`], the way an embedding
//! application is built (docs/async.md explains the threading model).
//!
//! - [`router`]: the JSON API of the daily work under `/api` (register customers and units,
//!   sell, deliver, open and resolve service requests, dispatch, reserve parts, the reports as
//!   of a date, any command as a command line) and the dashboard of the morning reports at `/`.
//! - [`Desk`]: the application over a store; every store call runs on tokio's blocking threads
//!   ([`Desk::blocking`]), and the policies and reports follow the log in one background task
//!   ([`Desk::follow_until`]) that the application stops cleanly.
//! - [`ApiError`]: errors as answers: 400 bad input (naming the field), 404 a missing entity,
//!   422 a command the rules refuse (the rule in words), 409 a conflict, 503 a failing store;
//!   never a 500 for input.

mod api;
mod dashboard;
mod desk;
mod error;

use std::future::Future;
use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;

pub use desk::{Desk, DeskStore};
pub use error::ApiError;

/// The routes of the desk over `desk`.
pub fn router<S: DeskStore>(desk: Arc<Desk<S>>) -> Router {
    Router::new()
        .route("/", get(dashboard::dashboard::<S>))
        .route("/api/commands", post(api::any_command::<S>))
        .route("/api/models", post(api::introduce_model::<S>))
        .route("/api/customers", post(api::register_customer::<S>))
        .route("/api/technicians", post(api::hire_technician::<S>))
        .route("/api/units", post(api::receive_unit::<S>))
        .route("/api/units/{unit}/{step}", post(api::unit_step::<S>))
        .route("/api/service-requests", post(api::open_request::<S>))
        .route(
            "/api/service-requests/{call}/{step}",
            post(api::request_step::<S>),
        )
        .route(
            "/api/parts/{part}/reservations",
            post(api::reserve_parts::<S>),
        )
        .route("/api/reports/{name}", get(api::report::<S>))
        .with_state(desk)
}

/// Serves the desk on `listener` until `shutdown` completes, with its background task; then
/// lets the requests in flight finish, stops the background task (which saves the policies'
/// checkpoint) and returns.
pub async fn serve<S: DeskStore>(
    listener: tokio::net::TcpListener,
    desk: Arc<Desk<S>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let follower = tokio::spawn(Arc::clone(&desk).follow_until(stopped));
    let served = axum::serve(listener, router(Arc::clone(&desk)))
        .with_graceful_shutdown(shutdown)
        .await;
    let _ = stop.send(true);
    let saved = follower
        .await
        .map_err(std::io::Error::other)
        .and_then(|saved| saved.map_err(std::io::Error::other));
    // The last handle of the desk closes its store (a flush, a pool of connections): blocking
    // work, done off the async threads.
    let _ = tokio::task::spawn_blocking(move || drop(desk)).await;
    served.and(saved)
}
