//! Read models persisted in the store's database, committed in one batch with their checkpoint,
//! so that a crash never leaves a saved model ahead of or behind its position.

use serde::de::DeserializeOwned;
use serde::Serialize;
use service_lifecycle_kernel::{
    CheckpointError, CheckpointStore, Event, EventStore, Projection, ReadError, SavedReadModel,
};

use crate::storage::Storage;
use crate::store::SledStore;

/// Why a persisted read model could not be loaded, caught up or saved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadModelError {
    /// Reading the log failed.
    #[error("read model {name:?} could not read the log: {source}")]
    Read {
        /// The read model.
        name: String,
        /// Why.
        source: ReadError,
    },
    /// The stored read model is damaged or does not decode.
    #[error("read model {name:?} is stored damaged: {problem}")]
    Corrupt {
        /// The read model.
        name: String,
        /// What is wrong.
        problem: String,
    },
    /// The read model could not be serialized.
    #[error("read model {name:?} could not be serialized: {source}")]
    Encode {
        /// The read model.
        name: String,
        /// What serde_json said.
        source: serde_json::Error,
    },
    /// The saved read model could not be read or written (the storage failed, or what it
    /// holds is damaged).
    #[error("read model {name:?}: {source}")]
    Saved {
        /// The read model.
        name: String,
        /// What failed.
        source: CheckpointError,
    },
}

/// A read model kept in the store's database: its state and its checkpoint are committed together
/// in one atomic batch, so after a crash it resumes exactly where its saved state ends: no event
/// is applied twice, none is skipped.
///
/// ```
/// # use service_lifecycle_kernel::testing::fixture::ProbeEvent;
/// # use service_lifecycle_kernel::{Envelope, Projection};
/// # use service_lifecycle_sled::{DurableProjector, SledStore};
/// #[derive(Default, serde::Serialize, serde::Deserialize)]
/// struct Count(u64);
/// impl Projection<ProbeEvent> for Count {
///     fn apply(&mut self, _: &Envelope<ProbeEvent>) { self.0 += 1; }
/// }
/// # let dir = tempfile::tempdir().unwrap();
/// let store = SledStore::<ProbeEvent>::open(dir.path())?;
/// let mut count = DurableProjector::<Count>::load(&store, "count")?;
/// count.catch_up(&store)?;
/// assert_eq!(count.projection().0, 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct DurableProjector<P> {
    name: String,
    projection: P,
    position: u64,
    commit_every: u64,
}

impl<P: Serialize + DeserializeOwned + Default> DurableProjector<P> {
    /// Loads the read model saved under `name` with its checkpoint, or starts an empty one at
    /// position 0.
    pub fn load<E: Event, S: Storage>(
        store: &SledStore<E, S>,
        name: impl Into<String>,
    ) -> Result<Self, ReadModelError> {
        let name = name.into();
        let saved = store
            .load_read_model(&name)
            .map_err(|source| ReadModelError::Saved {
                name: name.clone(),
                source,
            })?;
        let (projection, position) = match saved {
            None => (P::default(), 0),
            Some(saved) => {
                let projection = serde_json::from_slice(&saved.state).map_err(|error| {
                    ReadModelError::Corrupt {
                        name: name.clone(),
                        problem: error.to_string(),
                    }
                })?;
                (projection, saved.position)
            }
        };
        Ok(Self {
            name,
            projection,
            position,
            commit_every: service_lifecycle_kernel::DEFAULT_CHECKPOINT_EVERY,
        })
    }

    /// Commits the read model at least every `events` events while catching up (at the end of
    /// each catch-up in any case).
    pub fn commit_every(mut self, events: u64) -> Self {
        self.commit_every = events.max(1);
        self
    }

    /// The read model's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The read model.
    pub fn projection(&self) -> &P {
        &self.projection
    }

    /// The position the read model has applied up to.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// Applies every event after the read model's position and commits it with its checkpoint;
    /// returns how many events were applied.
    pub fn catch_up<E: Event, S: Storage>(
        &mut self,
        store: &SledStore<E, S>,
    ) -> Result<u64, ReadModelError>
    where
        P: Projection<E>,
    {
        let read_error = |source| ReadModelError::Read {
            name: self.name.clone(),
            source,
        };
        let events = store.read_all(self.position + 1).map_err(read_error)?;
        let mut applied = 0;
        let mut uncommitted = 0;
        for envelope in events {
            let envelope = envelope.map_err(|source| ReadModelError::Read {
                name: self.name.clone(),
                source,
            })?;
            self.projection.apply(&envelope);
            self.position = envelope.position;
            applied += 1;
            uncommitted += 1;
            if uncommitted >= self.commit_every {
                self.commit(store)?;
                uncommitted = 0;
            }
        }
        if uncommitted > 0 {
            self.commit(store)?;
        }
        Ok(applied)
    }

    /// Writes the read model and its position in one batch.
    fn commit<E: Event, S: Storage>(&self, store: &SledStore<E, S>) -> Result<(), ReadModelError> {
        let state =
            serde_json::to_vec(&self.projection).map_err(|source| ReadModelError::Encode {
                name: self.name.clone(),
                source,
            })?;
        store
            .save_read_model(
                &self.name,
                &SavedReadModel {
                    position: self.position,
                    state,
                },
            )
            .map_err(|source| ReadModelError::Saved {
                name: self.name.clone(),
                source,
            })
    }
}
