//! Read models in the application's own tables, written in the transaction that also moves the
//! projection's checkpoint: after any failure or crash the tables and the checkpoint agree, so no
//! event is applied twice and none is skipped.

use service_lifecycle_kernel::{Envelope, Event, EventStore, ReadError};

use crate::error::{described, DatabaseError};
use crate::store::PostgresStore;

/// A projection whose read model is rows of the application's tables, in the store's database.
/// `apply` writes them through the transaction it is given; it must not commit it.
pub trait SqlProjection<E> {
    /// Applies one event to the read model's rows.
    fn apply(
        &mut self,
        transaction: &mut postgres::Transaction<'_>,
        envelope: &Envelope<E>,
    ) -> Result<(), postgres::Error>;
}

/// Why a catch-up stopped. What was applied before the failing batch stays committed with its
/// checkpoint; the failing batch left nothing.
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
    /// The database refused a statement of the projection or of its checkpoint.
    #[error("projection {name:?}: {source}; its last committed batch and checkpoint stand")]
    Database {
        /// The projection.
        name: String,
        /// What the database said.
        source: DatabaseError,
    },
    /// No connection.
    #[error("projection {name:?}: {source}")]
    Connection {
        /// The projection.
        name: String,
        /// Why.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Catches a [`SqlProjection`] up with the log in transactions of at most `batch` events, each
/// committing the read model's rows with the projection's checkpoint (in the store's
/// `checkpoints`, under the projection's name). The checkpoint's row is locked for each batch, so
/// two processes running the same projection take turns and never apply an event twice.
#[derive(Debug, Clone)]
pub struct TransactionalProjector {
    name: String,
    batch: u64,
}

impl TransactionalProjector {
    /// The projector of the projection named `name` (its checkpoint's name), in batches of 1,000.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            batch: 1_000,
        }
    }

    /// Commits at most `events` events per transaction.
    pub fn batch(mut self, events: u64) -> Self {
        self.batch = events.max(1);
        self
    }

    /// The projection's checkpoint: the position its committed rows reflect.
    pub fn position<E: Event>(&self, store: &PostgresStore<E>) -> Result<u64, ProjectionError> {
        let mut client = store
            .connection()
            .map_err(|source| ProjectionError::Connection {
                name: self.name.clone(),
                source,
            })?;
        let row = client
            .query_opt(
                &format!(
                    "SELECT position FROM {} WHERE name = $1",
                    store.table("checkpoints")
                ),
                &[&self.name],
            )
            .map_err(|error| self.database(error))?;
        Ok(row.map_or(0, |row| row.get::<_, i64>(0) as u64))
    }

    /// Applies every event after the checkpoint; returns how many this call applied.
    pub fn catch_up<E: Event, P: SqlProjection<E>>(
        &self,
        store: &PostgresStore<E>,
        projection: &mut P,
    ) -> Result<u64, ProjectionError> {
        let mut client = store
            .connection()
            .map_err(|source| ProjectionError::Connection {
                name: self.name.clone(),
                source,
            })?;
        let checkpoints = store.table("checkpoints");
        let mut applied = 0;
        loop {
            let mut transaction = client.transaction().map_err(|error| self.database(error))?;
            // Another process applying this projection holds the checkpoint's row: wait for
            // its batch to commit (bounded by the statement timeout), then go on after it.
            transaction
                .batch_execute("SET LOCAL lock_timeout = 0")
                .map_err(|error| self.database(error))?;
            transaction
                .execute(
                    &format!("INSERT INTO {checkpoints} VALUES ($1, 0) ON CONFLICT DO NOTHING"),
                    &[&self.name],
                )
                .map_err(|error| self.database(error))?;
            let position: i64 = transaction
                .query_one(
                    &format!("SELECT position FROM {checkpoints} WHERE name = $1 FOR UPDATE"),
                    &[&self.name],
                )
                .map_err(|error| self.database(error))?
                .get(0);
            let position = position as u64;
            let head = store
                .head_position()
                .map_err(|source| ProjectionError::Read {
                    name: self.name.clone(),
                    source,
                })?;
            if position >= head {
                transaction.commit().map_err(|error| self.database(error))?;
                return Ok(applied);
            }
            let until = head.min(position.saturating_add(self.batch));
            let events = store
                .read_all(position + 1)
                .map_err(|source| ProjectionError::Read {
                    name: self.name.clone(),
                    source,
                })?;
            for envelope in events.take((until - position) as usize) {
                let envelope = envelope.map_err(|source| ProjectionError::Read {
                    name: self.name.clone(),
                    source,
                })?;
                projection
                    .apply(&mut transaction, &envelope)
                    .map_err(|error| self.database(error))?;
            }
            transaction
                .execute(
                    &format!("UPDATE {checkpoints} SET position = $2 WHERE name = $1"),
                    &[&self.name, &(until as i64)],
                )
                .map_err(|error| self.database(error))?;
            transaction.commit().map_err(|error| self.database(error))?;
            applied += until - position;
        }
    }

    fn database(&self, error: postgres::Error) -> ProjectionError {
        ProjectionError::Database {
            name: self.name.clone(),
            source: described(error),
        }
    }
}
