//! The desk: the application over a store, the reports kept up to date, and the one place where
//! blocking work leaves the async threads.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use service_lifecycle::kernel::{CheckpointStore, EventStore, MemoryStore, Projector, Vault};
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
    /// Where the reports' projector keeps its checkpoints: in memory, so reading a report never
    /// writes to the store (the reports are folded again at each start).
    report_checkpoints: MemoryStore<ServiceEvent>,
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
        let report_checkpoints = MemoryStore::new();
        let mut reports = Projector::new("service-desk.reports", Reports::default());
        reports.catch_up(&store, &report_checkpoints)?;
        Ok(Self {
            service,
            store,
            reports: Mutex::new(reports),
            report_checkpoints,
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
            .map_err(|error| ApiError::Internal(format!("the work stopped: {error}")))?
    }

    /// Tells the background task that a command was recorded (call it where the command is
    /// recorded, so a client that went away meanwhile does not delay the policies).
    pub fn notify_recorded(&self) {
        self.recorded.notify_one();
    }

    /// Reads today's reports, caught up to the head of the log first.
    pub fn with_reports<T>(&self, read: impl FnOnce(&Reports) -> T) -> Result<T, ServiceError> {
        let mut reports = self.reports.lock().unwrap_or_else(PoisonError::into_inner);
        reports.catch_up(&self.store, &self.report_checkpoints)?;
        Ok(read(reports.projection()))
    }

    /// One step of the background work: the policies follow the log, then the reports.
    /// Blocking.
    pub fn follow(&self) -> Result<(), ServiceError> {
        self.service.process_policies()?;
        self.with_reports(|_| ())
    }

    /// The background task: follows the log after every command (and every half second), until
    /// `shutdown` turns true; then saves the policies' checkpoint (following the log to its head
    /// first), trying a few times, so the next start resumes from there. Failures while running
    /// are reported and retried, never fatal: the policies' work stays pending in the store until
    /// it succeeds. Returns the error of the last save if it never succeeded.
    pub async fn follow_until(
        self: Arc<Self>,
        mut shutdown: watch::Receiver<bool>,
    ) -> Result<(), ServiceError> {
        loop {
            let stop = tokio::select! {
                _ = self.recorded.notified() => false,
                _ = tokio::time::sleep(FOLLOW_EVERY) => false,
                changed = shutdown.changed() => changed.is_err() || *shutdown.borrow(),
            };
            if stop {
                return self.save_before_stopping().await;
            }
            let desk = Arc::clone(&self);
            match tokio::task::spawn_blocking(move || desk.follow()).await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => eprintln!("the policies could not follow the log yet: {error}"),
                Err(error) => eprintln!("the background work stopped: {error}"),
            }
        }
    }

    /// The last step of the background task: the checkpoint saved, at the head of the log.
    async fn save_before_stopping(self: &Arc<Self>) -> Result<(), ServiceError> {
        let mut last = Ok(());
        for attempt in 0..3u32 {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
            }
            let desk = Arc::clone(self);
            last = match tokio::task::spawn_blocking(move || desk.service.save_checkpoint()).await {
                Ok(saved) => saved,
                Err(error) => Err(ServiceError::Adapter(Box::new(std::io::Error::other(
                    error.to_string(),
                )))),
            };
            if last.is_ok() {
                break;
            }
        }
        last
    }
}
