//! The durable embedded event store of service-lifecycle, on
//! [sled](https://docs.rs/sled/0.34.7) 0.34.7 (the default) or [redb](https://docs.rs/redb/5) 5.
//!
//! [`SledStore`] implements the kernel's [`EventStore`](service_lifecycle_kernel::EventStore) and
//! passes the kernel's conformance suite unchanged, on either engine. It is an embedded
//! database: it opens a directory, there is nothing else to start. A new store is made on the
//! engine [`SledOptions::engine`] names ([`Engine::Sled`] unless chosen); an existing one is
//! opened on the engine whose files its directory holds. Both keep the same keys and values;
//! what differs is what a flush promises (below) and how fast each is
//! (docs/benchmarks.md). docs/decisions/0007-embedded-engines.md says which to choose when.
//!
//! ```
//! use service_lifecycle_kernel::testing::fixture::ProbeEvent;
//! use service_lifecycle_kernel::{EventStore, ExpectedVersion, NewEvent, StreamId};
//! use service_lifecycle_sled::{Durability, SledOptions, SledStore};
//!
//! # let dir = tempfile::tempdir()?;
//! let store = SledStore::<ProbeEvent>::open_with(
//!     dir.path().join("events"),
//!     SledOptions::new().durability(Durability::Flush),
//! )?;
//! let stream = StreamId::new("probe-1")?;
//! let event = NewEvent::new(ProbeEvent::noted(1), chrono::Utc::now());
//! let done = store.append(&stream, ExpectedVersion::NoStream, vec![event])?;
//! assert_eq!((done.last_version, done.last_position), (1, 1));
//! assert!(store.verify()?.is_clean());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # How it stores events
//! One ordered table, keys with one-byte prefixes and big-endian integers (the format, version
//! [`FORMAT_VERSION`], is docs/storage-format.md). An append is **one** atomic batch, written
//! under the store's writer lock, holding every key it writes: for each event its record in the
//! global log (by position), its stream row (by stream number and version, pointing to the
//! position) and its event-id entry, three small keys; and the stream's number when the append
//! creates the stream. No head is written: the newest position and the number of streams are the
//! last log and stream rows, found at open by one reverse seek each, and a stream's version is
//! its last row. Versions and positions are `head + 1` computed under the lock, so they are
//! contiguous and read-all never skips. Opening never scans. A store written in format 1 (by an
//! earlier version) opens read-only; [`migrate`] converts it.
//!
//! # Durability, honestly
//! - [`Durability::Flush`] (the default): an append returns `Ok` once it is durable. Appends
//!   that arrive together from several threads are written as one batch with one flush (group
//!   commit: the crate's append queue). On **redb** that is a durable commit, which writes redb's
//!   commit slot and `fsync`s the file: it survives a power loss or a kernel crash. On **sled**
//!   it is sled's `flush`, which writes sled's log and calls `fsync` on it: it survives a crash of
//!   the *process* (kill -9, a panic, an OOM kill) — the crash test kills a writer 200 times on
//!   each engine and loses nothing acknowledged — but **not** a power loss or a kernel crash:
//!   sled 0.34 does not `fsync` the directory, and it keeps values larger than a page in blob
//!   files that it never `fsync`s (hence the 64 KiB event size cap).
//! - [`Durability::Buffered`]: an append returns once it is applied in memory; the engine writes
//!   it out in the background (every half second). A crash may lose the newest appends, never
//!   part of one.
//!
//! # Integrity
//! Every value carries a CRC-32 of its key and bytes. A damaged record is a
//! [`ReadError::Corrupt`](service_lifecycle_kernel::ReadError::Corrupt) naming it (stream and
//! version, or log position), never a panic and never different data. [`SledStore::verify`]
//! checks every invariant of a whole store.
//!
//! # Imports, all or nothing
//! [`SledStore`] implements the kernel's
//! [`AtomicImport`](service_lifecycle_kernel::AtomicImport): the runs of an import are appended
//! like appends but published only when the import commits. Before the first run the head is
//! saved in the database; a failed feed, a panic or a crash (kill -9 at any moment) undoes the
//! import, at once or on the next open, which removes every record above the saved head.
//! [`SledStore::rolled_back_import`] says what an open rolled back.
//!
//! # Also in the database
//! Snapshots ([`SnapshotStore`](service_lifecycle_kernel::SnapshotStore)), projection checkpoints
//! ([`CheckpointStore`](service_lifecycle_kernel::CheckpointStore)), read models committed together
//! with their checkpoint ([`DurableProjector`]), and a [`Vault`](service_lifecycle_kernel::Vault)
//! of private records (the domain keeps customers' personal data there). Each record is
//! encrypted (ChaCha20-Poly1305) with a random key of its own subject, kept in the file
//! `vault-keys` beside sled's files. sled is log-structured, so a removed value's bytes stay in
//! its files for a while; erasure therefore first overwrites the subject's key in place with
//! zeros and syncs it, then removes the record. Once `erase` returns, no file of the store holds
//! the subject's data in a readable form. Back up `vault-keys` with the rest of the directory;
//! a backup taken before an erasure still holds that subject's key, so erase in backups too (or
//! keep them only as long as the law allows). Filesystems that copy on write (btrfs, ZFS) and
//! SSDs may keep an overwritten block for a while; encrypt the disk where that matters.
//!
//! # Errors
//! A directory that is not a store, a store of another format version, a store another process
//! has open, damaged records, events over the size cap and I/O failures are typed errors
//! ([`OpenError`], [`AppendError`](service_lifecycle_kernel::AppendError),
//! [`ReadError`](service_lifecycle_kernel::ReadError)). A failed append writes nothing, except that
//! a failed *flush* after the batch was applied returns an error for an append that is stored
//! and may or may not be durable; the store stays consistent either way.

mod append_queue;
mod checkpoints;
mod codec;
mod create;
mod engine;
mod heads;
mod import;
mod migrate;
mod read_model;
mod redb_storage;
mod snapshots;
mod storage;
mod store;
mod vault;
mod vault_keys;
mod verify;

pub use codec::{Damage, FORMAT_VERSION, READ_ONLY_FORMAT_VERSION};
pub use engine::{Engine, EngineBytes, EngineRange, EngineStorage};
pub use import::RolledBackImport;
pub use migrate::{migrate, MigrateError, Migration};
pub use read_model::{DurableProjector, ReadModelError};
pub use redb_storage::{RedbRange, RedbStorage, REDB_FILE};
pub use storage::DEFAULT_LOCK_TIMEOUT;
pub use storage::{
    BatchOp, FaultMode, FaultyStorage, KeyValue, SledRange, SledStorage, Storage, StorageError,
    WriteBatch,
};
pub use store::{
    AllEvents, Durability, OpenError, SledOptions, SledStore, StreamEvents, DEFAULT_CACHE_CAPACITY,
    DEFAULT_MAX_EVENT_SIZE, ONE_PASS_CACHE_CAPACITY,
};
pub use verify::VerifyReport;
