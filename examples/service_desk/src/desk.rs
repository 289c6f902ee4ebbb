//! The desk: the application over a store, the reports kept up to date, and the one place where
//! blocking work leaves the async threads.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use service_lifecycle::kernel::{CheckpointStore, EventStore, Projector, Vault};
use service_lifecycle::reports::Reports;
use service_lifecycle::{PolicyMode, ServiceError, ServiceEvent, ServiceLifecycle};
use tokio::sync::{watch, Notify};

use crate::error::ApiError;

/// What the desk needs of a store: events, checkpoints and the personal-data vault, shared
/// between threads (the sled store and the PostgreSQL store both are).
pub trait DeskStore:
    EventStore<ServiceEvent> + CheckpointStore + Vault + Clone + Send + Sync + 'static
{
}

impl<T> DeskStore for T where
    T: EventStore<ServiceEvent> + CheckpointStore + Vault + Clone + Send + Sync + 'static
{
}

/// How often the background task follows the log when no command asked it to.
const FOLLOW_EVERY: Duration = Duration::from_millis(500);

/// The service desk's state: the application (its policies in the background mode, so a request
/// returns as soon as its command is recorded), the store, and today's reports kept up to date.
pub struct Desk<S> {
    service: ServiceLifecycle<S>,
    store: S,
    reports: Mutex<Projector<Reports>>,
    recorded: Notify,
}

impl<S: DeskStore> Desk<S> {
    /// Opens the desk over `store` (blocking: call it off the async threads, or before the
    /// runtime starts). Pending policy work is completed first.
    pub fn open(store: S) -> Result<Self, ServiceError> {
        let service = ServiceLifecycle::builder(store.clone())
            .personal_data(store.clone())
            .policies(PolicyMode::Background)
            .open()?;
        let mut reports = Projector::new("service-desk.reports", Reports::default());
        reports.catch_up(&store, &store)?;
        Ok(Self {
            service,
            store,
            reports: Mutex::new(reports),
            recorded: Notify::new(),
        })
    }

    /// The application.
    pub fn service(&self) -> &ServiceLifecycle<S> {
        &self.service
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Runs blocking `work` (a command, a report) on tokio's blocking threads, never on an async
    /// one: the library is synchronous and a store call may wait on the disk or the network.
    pub async fn blocking<T: Send + 'static>(
        self: &Arc<Self>,
        work: impl FnOnce(&Desk<S>) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let desk = Arc::clone(self);
        tokio::task::spawn_blocking(move || work(&desk))
            .await
            .map_err(|error| ApiError::Unavailable(format!("the work stopped: {error}")))?
    }

    /// Tells the background task that a command was recorded.
    pub fn recorded(&self) {
        self.recorded.notify_one();
    }

    /// Reads today's reports, caught up to the head of the log first.
    pub fn with_reports<T>(&self, read: impl FnOnce(&Reports) -> T) -> Result<T, ServiceError> {
        let mut reports = self.reports.lock().unwrap_or_else(PoisonError::into_inner);
        reports.catch_up(&self.store, &self.store)?;
        Ok(read(reports.projection()))
    }

    /// One step of the background work: the policies follow the log, then the reports.
    /// Blocking.
    pub fn follow(&self) -> Result<(), ServiceError> {
        self.service.process_policies()?;
        self.with_reports(|_| ())
    }

    /// The background task: follows the log after every command (and every half second), until
    /// `shutdown` turns true; then follows it once more and saves the policies' checkpoint, so
    /// the next start resumes from there. Failures are reported and retried, never fatal: the
    /// policies' work stays pending in the store until it succeeds.
    pub async fn follow_until(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        loop {
            let stop = tokio::select! {
                _ = self.recorded.notified() => false,
                _ = tokio::time::sleep(FOLLOW_EVERY) => false,
                changed = shutdown.changed() => changed.is_err() || *shutdown.borrow(),
            };
            let desk = Arc::clone(&self);
            let followed = tokio::task::spawn_blocking(move || {
                desk.follow()?;
                if stop {
                    desk.service.save_checkpoint()?;
                }
                Ok::<(), ServiceError>(())
            })
            .await;
            match followed {
                Ok(Ok(())) => {}
                Ok(Err(error)) => eprintln!("the policies could not follow the log yet: {error}"),
                Err(error) => eprintln!("the background work stopped: {error}"),
            }
            if stop {
                return;
            }
        }
    }
}
