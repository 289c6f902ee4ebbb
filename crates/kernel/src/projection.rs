//! Projections: read models kept up to date from the global log.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::envelope::Envelope;
use crate::event::Event;
use crate::{CheckpointError, CheckpointStore, CommitNotifier, EventStore, ReadError};

/// A read model fed by the global log.
pub trait Projection<E>: Send {
    /// Folds one event into the read model. Events arrive in commit order, each exactly once.
    fn apply(&mut self, envelope: &Envelope<E>);
}

/// Why a projection could not catch up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProjectionError {
    /// Reading the log failed.
    #[error("projection {name:?} could not read the log: {source}")]
    Read {
        /// The projection.
        name: String,
        /// Why.
        source: ReadError,
    },
    /// Loading or saving the checkpoint failed.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// The read model could not be serialized to be saved.
    #[error("projection {name:?} could not be serialized: {source}")]
    Encode {
        /// The projection.
        name: String,
        /// What serde_json said.
        source: serde_json::Error,
    },
    /// A stopped subscription's projector is still referenced elsewhere (its thread did not end).
    #[error("the subscription's projector is still in use")]
    StillShared,
}

/// How many events a projector applies between two checkpoint saves, by default.
pub const DEFAULT_CHECKPOINT_EVERY: u64 = 10_000;

/// Runs one projection over a store, keeping its checkpoint.
///
/// # What is a projection?
/// Aggregates answer "may this happen?"; they are bad at "which units are waiting for delivery?".
/// A projection folds *every* event of the store, in commit order, into a read model shaped for one
/// question. It remembers the position it has applied up to (its checkpoint), so it can stop and
/// resume, and it can always be rebuilt from position 0: a rebuilt read model equals one maintained
/// incrementally, because both applied the same events in the same order.
///
/// [`Projector`] runs one projection: [`catch_up`](Projector::catch_up) applies what is new and saves
/// the checkpoint; [`rebuild`](Projector::rebuild) starts over from zero. [`Subscription`] runs a
/// projector on its own thread, waking after each commit.
#[derive(Debug)]
pub struct Projector<P> {
    name: String,
    projection: P,
    position: u64,
    checkpoint_every: u64,
}

impl<P> Projector<P> {
    /// A projector for a read model that has applied nothing yet.
    pub fn new(name: impl Into<String>, projection: P) -> Self {
        Self {
            name: name.into(),
            projection,
            position: 0,
            checkpoint_every: DEFAULT_CHECKPOINT_EVERY,
        }
    }

    /// A projector for a persistent read model that has applied everything up to the checkpoint
    /// saved under `name`. Only for read models that keep their own state across restarts: an
    /// in-memory model starts empty and must be [built from zero](Self::new).
    pub fn resume(
        name: impl Into<String>,
        projection: P,
        checkpoints: &dyn CheckpointStore,
    ) -> Result<Self, CheckpointError> {
        let name = name.into();
        let position = checkpoints.load_checkpoint(&name)?;
        Ok(Self {
            name,
            projection,
            position,
            checkpoint_every: DEFAULT_CHECKPOINT_EVERY,
        })
    }

    /// Saves the checkpoint every `events` applied events (and always at the end of a catch-up).
    pub fn checkpoint_every(mut self, events: u64) -> Self {
        self.checkpoint_every = events.max(1);
        self
    }

    /// The projection's name (its checkpoint's key).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The read model.
    pub fn projection(&self) -> &P {
        &self.projection
    }

    /// The position applied up to.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// The read model, giving up the projector.
    pub fn into_projection(self) -> P {
        self.projection
    }

    /// Applies every event committed after the projector's position; returns how many.
    pub fn catch_up<E, S>(
        &mut self,
        store: &S,
        checkpoints: &dyn CheckpointStore,
    ) -> Result<u64, ProjectionError>
    where
        E: Event,
        S: EventStore<E> + ?Sized,
        P: Projection<E>,
    {
        let read_error = |name: &str, source| ProjectionError::Read {
            name: name.to_owned(),
            source,
        };
        let events = store
            .read_all(self.position + 1)
            .map_err(|error| read_error(&self.name, error))?;
        let mut applied = 0;
        for stored in events {
            let stored = stored.map_err(|error| read_error(&self.name, error))?;
            self.projection.apply(&stored);
            self.position = stored.position;
            applied += 1;
            if applied % self.checkpoint_every == 0 {
                checkpoints.save_checkpoint(&self.name, self.position)?;
            }
        }
        if applied % self.checkpoint_every != 0 {
            checkpoints.save_checkpoint(&self.name, self.position)?;
        }
        Ok(applied)
    }

    /// Starts over with `fresh` from position 0 and applies the whole log.
    pub fn rebuild<E, S>(
        &mut self,
        fresh: P,
        store: &S,
        checkpoints: &dyn CheckpointStore,
    ) -> Result<u64, ProjectionError>
    where
        E: Event,
        S: EventStore<E> + ?Sized,
        P: Projection<E>,
    {
        self.projection = fresh;
        self.position = 0;
        checkpoints.save_checkpoint(&self.name, 0)?;
        self.catch_up(store, checkpoints)
    }
}

impl<P: serde::Serialize + serde::de::DeserializeOwned + Default> Projector<P> {
    /// A projector resuming the read model saved under `name` in `store` by
    /// [`save`](Self::save): its state as of its position, so a catch-up folds only what came
    /// after. Starts empty at position 0 when none was saved, when it does not decode (a saved
    /// read model is a cache of the log, never the truth) or when the store keeps none.
    pub fn load_saved(
        name: impl Into<String>,
        store: &dyn CheckpointStore,
    ) -> Result<Self, CheckpointError> {
        let name = name.into();
        let saved = store.load_read_model(&name)?.and_then(|saved| {
            let projection = serde_json::from_slice(&saved.state).ok()?;
            Some((projection, saved.position))
        });
        let (projection, position) = saved.unwrap_or_default();
        Ok(Self {
            name,
            projection,
            position,
            checkpoint_every: DEFAULT_CHECKPOINT_EVERY,
        })
    }

    /// Saves the read model with its position in one write
    /// ([`CheckpointStore::save_read_model`]), for [`load_saved`](Self::load_saved).
    pub fn save(&self, store: &dyn CheckpointStore) -> Result<(), ProjectionError> {
        let state =
            serde_json::to_vec(&self.projection).map_err(|source| ProjectionError::Encode {
                name: self.name.clone(),
                source,
            })?;
        store.save_read_model(
            &self.name,
            &crate::SavedReadModel {
                position: self.position,
                state,
            },
        )?;
        Ok(())
    }
}

/// A projector running on its own thread: it catches up, then follows the store, woken by each
/// commit. Read the model with [`read`](Self::read); stop it with [`stop`](Self::stop).
pub struct Subscription<P> {
    projector: Arc<Mutex<Projector<P>>>,
    stop: Arc<AtomicBool>,
    worker: Option<JoinHandle<Result<(), ProjectionError>>>,
}

impl<P> std::fmt::Debug for Subscription<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("running", &self.worker.is_some())
            .finish()
    }
}

/// How long a subscription's thread sleeps between checks of its stop flag when nothing is committed.
const FOLLOW_POLL: Duration = Duration::from_millis(50);

impl<P: Send + 'static> Subscription<P> {
    /// Starts following `store` with `projector`, saving checkpoints to `checkpoints`.
    pub fn start<E, S, C>(store: S, projector: Projector<P>, checkpoints: C) -> Self
    where
        E: Event,
        P: Projection<E>,
        S: EventStore<E> + CommitNotifier + 'static,
        C: CheckpointStore + 'static,
    {
        let name = projector.name().to_owned();
        let projector = Arc::new(Mutex::new(projector));
        let stop = Arc::new(AtomicBool::new(false));
        let worker = {
            let projector = Arc::clone(&projector);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || -> Result<(), ProjectionError> {
                loop {
                    let position = {
                        let mut projector =
                            projector.lock().unwrap_or_else(PoisonError::into_inner);
                        projector.catch_up(&store, &checkpoints)?;
                        projector.position()
                    };
                    if stop.load(Ordering::Acquire) {
                        return Ok(());
                    }
                    store
                        .wait_for_commit(position, FOLLOW_POLL)
                        .map_err(|source| ProjectionError::Read {
                            name: name.clone(),
                            source,
                        })?;
                }
            })
        };
        Self {
            projector,
            stop,
            worker: Some(worker),
        }
    }

    /// Reads the read model as it is now.
    pub fn read<R>(&self, read: impl FnOnce(&P) -> R) -> R {
        let projector = self
            .projector
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        read(projector.projection())
    }

    /// The position the projection has applied up to.
    pub fn position(&self) -> u64 {
        self.projector
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .position()
    }

    /// Waits until the projection has applied `position`, or `timeout` passes; true if it has.
    pub fn wait_for(&self, position: u64, timeout: Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if self.position() >= position {
                return true;
            }
            if std::time::Instant::now() >= deadline
                || self.worker.as_ref().is_none_or(JoinHandle::is_finished)
            {
                return self.position() >= position;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Stops the thread after its current catch-up and returns the projector, or the error that
    /// stopped the thread earlier.
    pub fn stop(mut self) -> Result<Projector<P>, ProjectionError> {
        self.stop.store(true, Ordering::Release);
        if let Some(worker) = self.worker.take() {
            match worker.join() {
                Ok(result) => result?,
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        let projector = Arc::clone(&self.projector);
        drop(self);
        // The worker has ended and dropped its handle, so this is the last one.
        Arc::try_unwrap(projector)
            .map(|mutex| mutex.into_inner().unwrap_or_else(PoisonError::into_inner))
            .map_err(|_| ProjectionError::StillShared)
    }
}

impl<P> Drop for Subscription<P> {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

#[cfg(test)]
mod tests;
