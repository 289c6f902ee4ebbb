//! The event store of service-lifecycle on PostgreSQL: the engine to scale out on, where many
//! processes (several instances of a web application, the CLI's reports at night) share one
//! database, with every guarantee the embedded stores give.
//!
//! [`PostgresStore`] implements the kernel's [`EventStore`](service_lifecycle_kernel::EventStore),
//! [`CommitNotifier`](service_lifecycle_kernel::CommitNotifier),
//! [`AtomicImport`](service_lifecycle_kernel::AtomicImport),
//! [`CheckpointStore`](service_lifecycle_kernel::CheckpointStore),
//! [`SnapshotStore`](service_lifecycle_kernel::SnapshotStore) and
//! [`Vault`](service_lifecycle_kernel::Vault), and passes the kernel's conformance suite
//! against a real server.
//!
//! ```no_run
//! use service_lifecycle_kernel::testing::fixture::ProbeEvent;
//! use service_lifecycle_kernel::{EventStore, ExpectedVersion, NewEvent, StreamId};
//! use service_lifecycle_postgres::{PostgresOptions, PostgresStore};
//!
//! let store = PostgresStore::<ProbeEvent>::open_with(
//!     "postgres://app@localhost/dealership",
//!     PostgresOptions::new().schema("service_lifecycle"),
//! )?;
//! let stream = StreamId::new("probe-1")?;
//! let event = NewEvent::new(ProbeEvent::noted(1), chrono::Utc::now());
//! let done = store.append(&stream, ExpectedVersion::NoStream, vec![event])?;
//! assert_eq!(done.last_version, 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # How it keeps the global log gapless
//! An append is one transaction: it locks its stream's row, checks the expected version, and
//! inserts its events without a global position. After the commit, a short *sequencer* step
//! (one at a time, under an advisory lock) numbers every committed, unnumbered append in one
//! transaction, contiguously after the head, and notifies listeners. A reader of the log only
//! ever sees numbered events, and numbers become visible all at once, so it never meets a gap,
//! however many transactions are still committing. Commits share the server's WAL flushes; the
//! sequencer numbers all appends that committed meanwhile in one step
//! (docs/decisions/0006-postgres-positions.md).
//!
//! # Durability
//! [`Durability::Flush`] commits with `synchronous_commit = on`; [`Durability::Buffered`] with
//! `off` for the append's transaction: a server crash may lose the newest appends, never part of
//! one. A connection lost during a commit is
//! [`AppendError::OutcomeUnknown`](service_lifecycle_kernel::AppendError::OutcomeUnknown):
//! retrying the same append with the same event ids is safe. Every statement runs under a statement and a lock timeout, and the error names which
//! one expired.
//!
//! # Read models in SQL
//! [`TransactionalProjector`] catches a [`SqlProjection`] up with the log, writing its rows into
//! the application's own tables in the transaction that also moves its checkpoint: after a
//! failure or a crash the two agree, and two processes running it take turns.
//!
//! [`ThrowawayServer`] starts a PostgreSQL server of its own in a temporary directory, for tests
//! and trials.

mod checkpoints;
mod error;
mod import;
mod listen;
mod read_model;
mod schema;
mod snapshots;
mod store;
mod throwaway;
mod vault;

pub use error::DatabaseError;
pub use read_model::{ProjectionError, SqlProjection, TransactionalProjector};
pub use schema::{SchemaError, SCHEMA_VERSION};
pub use store::{redacted, Durability, OpenError, Paged, PostgresOptions, PostgresStore};
pub use throwaway::{ThrowawayError, ThrowawayServer, REQUIRE_POSTGRES};
