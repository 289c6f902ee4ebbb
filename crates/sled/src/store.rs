//! [`SledStore`]: the kernel's [`EventStore`] on sled.

use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use foldhash::{HashMap as FastMap, HashMapExt};
use service_lifecycle_kernel::store::{
    classify_retry, validate_append, CommitSignal, StoredAppend,
};
use service_lifecycle_kernel::{
    AppendError, AppendResult, CommitNotifier, EncodedEnvelope, Envelope, Event, EventDecoder,
    EventId, EventLocation, EventRef, EventStore, ExpectedVersion, NewEvent, ReadError, StreamId,
    Upcasters, VisitError,
};

use crate::append_queue::{settle, AppendQueue, Outcome, PendingAppend};
use crate::codec::{
    self, decode_event_record, decode_format, encode_event_body, encode_stream_number,
    event_id_key, log_key, place_event_body, row_key, stream_key, Damage, EventFields, EventRecord,
    GlobalHead, IdEntry, StreamHead, FORMAT_KEY, FORMAT_VERSION, READ_ONLY_FORMAT_VERSION,
};
use crate::create::{
    begin_creation, creation_unfinished, finish_creation, initialize, restart_creation,
};
use crate::engine::{Engine, EngineStorage};
use crate::heads::{global_head, stream_head, HeadError};
use crate::import::{import_marker, roll_back, RolledBackImport};
use crate::redb_storage::{RedbStorage, REDB_FILE};
use crate::storage::{SledStorage, Storage, StorageError, WriteBatch, DEFAULT_LOCK_TIMEOUT};
use crate::vault_keys::KeyFile;

/// The largest encoded event the store accepts by default: 64 KiB. sled writes larger values to
/// blob files, which it does not fsync.
pub const DEFAULT_MAX_EVENT_SIZE: usize = 64 * 1024;
/// How many stream heads the writer keeps in memory before it forgets them all and reads them
/// again as streams are appended to (one reverse seek each): memory stays bounded however many
/// streams a store or an import touches.
const STREAM_HEAD_CACHE: usize = 65_536;
/// sled's page cache size unless chosen: 128 MiB.
pub const DEFAULT_CACHE_CAPACITY: u64 = 128 * 1024 * 1024;
/// The page cache of a store opened for one pass over it ([`SledOptions::one_pass`]: an export,
/// an import, a migration): 8 MiB. Such a job reads or writes each record once, so a large
/// cache only holds what it will not touch again.
pub const ONE_PASS_CACHE_CAPACITY: u64 = 8 * 1024 * 1024;

/// When an append counts as done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// An append returns `Ok` only once it is durable. Appends that arrive together from several
    /// threads are written as one batch with one flush (group commit). On redb it survives a
    /// power loss; on sled a crash of the process (kill -9) but *not* a power loss: see the
    /// crate docs.
    #[default]
    Flush,
    /// An append returns once it is in the engine's memory; the engine writes it out in the
    /// background (about every half second) and on [`SledStore::flush`] or drop. A crash may
    /// lose the newest appends, never part of one.
    Buffered,
}

/// How a [`SledStore`] is opened.
pub struct SledOptions {
    durability: Durability,
    cache_capacity: u64,
    max_event_size: usize,
    lock_timeout: Duration,
    upcasters: Upcasters,
    existing_only: bool,
    engine: Option<Engine>,
}

impl fmt::Debug for SledOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SledOptions")
            .field("durability", &self.durability)
            .field("cache_capacity", &self.cache_capacity)
            .field("max_event_size", &self.max_event_size)
            .field("lock_timeout", &self.lock_timeout)
            .field("existing_only", &self.existing_only)
            .field("engine", &self.engine)
            .finish_non_exhaustive()
    }
}

impl Default for SledOptions {
    fn default() -> Self {
        Self {
            durability: Durability::default(),
            cache_capacity: DEFAULT_CACHE_CAPACITY,
            max_event_size: DEFAULT_MAX_EVENT_SIZE,
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
            upcasters: Upcasters::new(),
            existing_only: false,
            engine: None,
        }
    }
}

impl SledOptions {
    /// Flush durability, a 128 MiB cache, 64 KiB events, no upcasters.
    pub fn new() -> Self {
        Self::default()
    }

    /// Chooses the engine of a new store ([`Engine::Sled`] unless chosen). An existing store is
    /// opened on the engine whose files its directory holds; naming another is
    /// [`OpenError::NotAStore`].
    pub fn engine(mut self, engine: Engine) -> Self {
        self.engine = Some(engine);
        self
    }

    /// Chooses when an append counts as done.
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// Sets sled's page cache size in bytes.
    pub fn cache_capacity(mut self, bytes: u64) -> Self {
        self.cache_capacity = bytes;
        self
    }

    /// Chooses the small page cache of a job that passes over the store once (an export, an
    /// import, a migration): [`ONE_PASS_CACHE_CAPACITY`]. Its memory then does not grow with the
    /// store.
    pub fn one_pass(self) -> Self {
        self.cache_capacity(ONE_PASS_CACHE_CAPACITY)
    }

    /// Sets the largest encoded event accepted, in bytes (at most 64 KiB is wise: see
    /// [`DEFAULT_MAX_EVENT_SIZE`]).
    pub fn max_event_size(mut self, bytes: usize) -> Self {
        self.max_event_size = bytes;
        self
    }

    /// How long opening waits for the database's lock before it reports
    /// [`OpenError::Locked`]. sled's background threads release the lock a moment after the
    /// last handle of a store is dropped, so reopening in the same process may need to wait.
    pub fn lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout;
        self
    }

    /// Upcasts events stored at older schema versions while reading.
    pub fn upcasters(mut self, upcasters: Upcasters) -> Self {
        self.upcasters = upcasters;
        self
    }

    /// Opens only a store that exists: a database holding no store (its `db` file truncated or
    /// replaced, say) is [`OpenError::Damaged`] instead of becoming a new, empty store. For tools
    /// that read a store and must never mistake a lost one for an empty one.
    pub fn existing_only(mut self) -> Self {
        self.existing_only = true;
        self
    }
}

/// Why a store could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The path holds something other than a store.
    #[error("{path} is not a service-lifecycle store: {reason}")]
    NotAStore {
        /// The path.
        path: PathBuf,
        /// What was found.
        reason: String,
    },
    /// The database holds no store although one was expected
    /// ([`SledOptions::existing_only`]): its files were damaged, truncated or replaced.
    #[error("the store at {path} is damaged: {reason}; nothing was changed. Restore the directory from a backup, or import an export into a new directory")]
    Damaged {
        /// The path.
        path: PathBuf,
        /// What was found.
        reason: String,
    },
    /// The store was written in a format version this code does not read (a newer one).
    #[error("{path} holds a store in format version {found}; this code reads version {supported} (and version 1, read-only)")]
    FormatVersion {
        /// The path.
        path: PathBuf,
        /// The stored version.
        found: u32,
        /// The version this code reads and writes.
        supported: u32,
    },
    /// Another process has the store open.
    #[error("{path} is in use by another process (its lock is held): {source}")]
    Locked {
        /// The path.
        path: PathBuf,
        /// What the lock attempt said.
        source: StorageError,
    },
    /// A record read while opening is damaged.
    #[error("{path}: stored record {record} is corrupt: {problem}")]
    Corrupt {
        /// The path.
        path: PathBuf,
        /// Which record.
        record: String,
        /// What is wrong.
        problem: Damage,
    },
    /// The storage failed.
    #[error("{path} could not be opened: {source}")]
    Storage {
        /// The path.
        path: PathBuf,
        /// What failed.
        source: StorageError,
    },
}

/// A durable event store on sled (see the [crate docs](crate)). Cloning gives another handle to
/// the same store.
pub struct SledStore<E, S: Storage = EngineStorage> {
    pub(crate) inner: Arc<Inner<E, S>>,
}

impl<E, S: Storage> Clone for SledStore<E, S> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<E, S: Storage> fmt::Debug for SledStore<E, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SledStore")
            .field("path", &self.inner.path)
            .field("head", &self.inner.head.load(Ordering::Acquire))
            .field("durability", &self.inner.durability)
            .finish_non_exhaustive()
    }
}

pub(crate) struct Inner<E, S: Storage> {
    /// What opening found of an import a crash had stopped, and rolled back.
    rolled_back_import: Option<RolledBackImport>,
    /// The store's format version: [`FORMAT_VERSION`], or [`READ_ONLY_FORMAT_VERSION`] for a
    /// store that is read but never written.
    format: u32,
    pub(crate) storage: S,
    pub(crate) path: PathBuf,
    pub(crate) durability: Durability,
    max_event_size: usize,
    pub(crate) decoder: EventDecoder<E>,
    /// The newest committed position, published after the append's batch is applied.
    pub(crate) head: AtomicU64,
    writer: Mutex<Writer>,
    /// Durable appends waiting for the next group commit.
    pending: AppendQueue<E>,
    pub(crate) flushes: GroupCommit,
    pub(crate) commits: CommitSignal,
    /// The vault's key file, loaded on first use of the vault.
    pub(crate) vault_keys: Mutex<Option<KeyFile>>,
}

/// What only the writer touches, under its lock.
pub(crate) struct Writer {
    pub(crate) head: GlobalHead,
    /// Stream heads read or written so far (filled lazily: opening reads no stream).
    streams: FastMap<StreamId, StreamHead>,
    /// Set when a batch failed: the caches may disagree with the storage and are reloaded.
    stale: bool,
    /// While an import runs: the global head before it, to roll back to.
    pub(crate) importing: Option<GlobalHead>,
}

impl<E: Event> SledStore<E> {
    /// Opens the store in directory `path` with default [`SledOptions`], creating it (on sled)
    /// if the directory does not exist or is empty.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, OpenError> {
        Self::open_with(path, SledOptions::default())
    }

    /// Opens the store in directory `path`, creating it if the directory does not exist or is
    /// empty. The engine is the one whose files the directory holds; a new store is made on
    /// [`SledOptions::engine`] (sled unless chosen).
    pub fn open_with(path: impl AsRef<Path>, options: SledOptions) -> Result<Self, OpenError> {
        let path = path.as_ref();
        check_directory(path)?;
        let holds_nothing =
            std::fs::read_dir(path).map_or(true, |mut entries| entries.next().is_none());
        if options.existing_only && holds_nothing {
            return Err(OpenError::NotAStore {
                path: path.to_path_buf(),
                reason: "there is no store there (the directory is missing or empty)".into(),
            });
        }
        // A creation stopped before the store held anything: whatever files it left (even
        // torn ones) hold nothing of value.
        if options.existing_only && creation_unfinished(path) {
            return Err(OpenError::NotAStore {
                path: path.to_path_buf(),
                reason: "there is no store there yet: its creation was stopped before it held \
                         anything (opening it to write creates it)"
                    .into(),
            });
        }
        let engine = match (Engine::of_directory(path), options.engine) {
            (Some(found), Some(wanted)) if found != wanted => {
                return Err(OpenError::NotAStore {
                    path: path.to_path_buf(),
                    reason: format!(
                        "it holds a store on {found}, not on {wanted} (name it {found}:PATH, or \
                         just PATH)"
                    ),
                })
            }
            (Some(found), _) => found,
            (None, wanted) => wanted.unwrap_or_default(),
        };
        let storage = match engine {
            Engine::Sled => EngineStorage::Sled(open_sled(path, holds_nothing, &options)?),
            Engine::Redb => EngineStorage::Redb(open_redb(path, holds_nothing, &options)?),
        };
        Self::with_storage(storage, path, options)
    }
}

/// What opening the storage failed on, as an [`OpenError`].
fn opening_failed(path: &Path, source: StorageError) -> OpenError {
    let path = path.to_path_buf();
    if source.is_locked() {
        OpenError::Locked { path, source }
    } else {
        OpenError::Storage { path, source }
    }
}

fn io_failed(path: &Path) -> impl Fn(std::io::Error) -> OpenError + '_ {
    move |source| OpenError::Storage {
        path: path.to_path_buf(),
        source: source.into(),
    }
}

/// Opens the sled database of the store in `path`, repairing what a crash of its creation or of
/// sled's snapshotting left.
fn open_sled(
    path: &Path,
    holds_nothing: bool,
    options: &SledOptions,
) -> Result<SledStorage, OpenError> {
    // sled keeps the data in `db` and its configuration in `conf`: with one and not the other
    // the store lost part of itself, and opening would start an empty one in its place.
    let (conf, db) = (path.join("conf").is_file(), path.join("db").is_file());
    if options.existing_only && conf != db {
        let missing = if db { "conf" } else { "db" };
        return Err(OpenError::Damaged {
            path: path.to_path_buf(),
            reason: format!("its file {missing} is missing, so its events cannot be read"),
        });
    }
    // (A creation that did not finish is started again below if sled cannot read its files.)
    if conf && !creation_unfinished(path) {
        check_sled_configuration(path)?;
    }
    if holds_nothing && !options.existing_only {
        begin_creation(path).map_err(io_failed(path))?;
    }
    let open = || SledStorage::open_waiting(path, options.cache_capacity, options.lock_timeout);
    let mut opened = open();
    if matches!(&opened, Err(error) if !error.is_locked()) && creation_unfinished(path) {
        // Torn files of a creation that a crash stopped: start that creation again.
        restart_creation(path).map_err(io_failed(path))?;
        opened = open();
    }
    if matches!(&opened, Err(error) if !error.is_locked()) && remove_unfinished_snapshots(path) {
        opened = open();
    }
    opened.map_err(|source| opening_failed(path, source))
}

/// Opens the redb database of the store in `path`, starting again a creation a crash stopped.
fn open_redb(
    path: &Path,
    holds_nothing: bool,
    options: &SledOptions,
) -> Result<RedbStorage, OpenError> {
    if options.existing_only && !path.join(REDB_FILE).is_file() {
        return Err(OpenError::Damaged {
            path: path.to_path_buf(),
            reason: format!("its file {REDB_FILE} is missing, so its events cannot be read"),
        });
    }
    if holds_nothing && !options.existing_only {
        begin_creation(path).map_err(io_failed(path))?;
    }
    let background_flush = options.durability == Durability::Buffered;
    let open = || {
        let deadline = std::time::Instant::now() + options.lock_timeout;
        loop {
            match RedbStorage::open(path, options.cache_capacity, background_flush) {
                Err(error) if error.is_locked() && std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                result => return result,
            }
        }
    };
    let mut opened = open();
    if matches!(&opened, Err(error) if !error.is_locked()) && creation_unfinished(path) {
        restart_creation(path).map_err(io_failed(path))?;
        opened = open();
    }
    opened.map_err(|source| opening_failed(path, source))
}

impl OpenError {
    /// Whether the store exists but is damaged (a lost or truncated data file, a corrupt record,
    /// sled failing on its files), as opposed to absent, locked or of another version.
    pub fn is_damaged(&self) -> bool {
        match self {
            Self::Damaged { .. } | Self::Corrupt { .. } => true,
            Self::Storage { source, .. } => matches!(
                source,
                StorageError::Damaged { .. } | StorageError::Corrupted(_)
            ),
            _ => false,
        }
    }
}

/// Removes the snapshot files sled was still writing when its process died
/// (`snap.<lsn>.generating`); returns whether there were any. sled 0.34 writes a snapshot under
/// that name and renames it when complete, but on opening it reads the newest `snap.*` file,
/// unfinished ones included, and refuses a torn one as corrupt. Such a file holds nothing the
/// log lacks (sled rebuilds its snapshot from the log), so it is the one thing an open removes,
/// and only after sled refused to open for a reason other than another process holding it.
fn remove_unfinished_snapshots(path: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(path) else {
        return false;
    };
    let mut removed = false;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("snap.") && name.ends_with(".generating") {
            removed |= std::fs::remove_file(entry.path()).is_ok();
        }
    }
    removed
}

/// sled's configuration file `conf` (its settings as text lines, then a CRC-32 of them): sled
/// reads a damaged one as a file "created using a sled version earlier than 0.29", or rewrites
/// a short one, so it is checked here first and a damaged one is named as such.
fn check_sled_configuration(path: &Path) -> Result<(), OpenError> {
    let file = path.join("conf");
    let damaged = |reason: String| OpenError::Damaged {
        path: path.to_path_buf(),
        reason: format!(
            "its file conf (sled's settings) is damaged: {reason}; it holds no events, so copying \
             conf from a backup, or from any other store of this version, repairs it"
        ),
    };
    let bytes = std::fs::read(&file).map_err(|error| OpenError::Storage {
        path: path.to_path_buf(),
        source: error.into(),
    })?;
    let Some(split) = bytes.len().checked_sub(4).filter(|&split| split > 4) else {
        return Err(damaged(format!("it is {} bytes long", bytes.len())));
    };
    let (text, stored) = bytes.split_at(split);
    let stored = u32::from_le_bytes([stored[0], stored[1], stored[2], stored[3]]);
    let computed = crc32fast::hash(text);
    if stored != computed {
        return Err(damaged(format!(
            "its checksum does not match (stored {stored:#010x}, computed {computed:#010x})"
        )));
    }
    Ok(())
}

/// Refuses a path that holds something other than a store's database: a file, or a directory
/// with files but none of sled's or redb's.
fn check_directory(path: &Path) -> Result<(), OpenError> {
    let not_a_store = |reason: &str| OpenError::NotAStore {
        path: path.to_path_buf(),
        reason: reason.to_owned(),
    };
    match std::fs::metadata(path) {
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(OpenError::Storage {
            path: path.to_path_buf(),
            source: source.into(),
        }),
        Ok(metadata) if !metadata.is_dir() => Err(not_a_store("it is a file, not a directory")),
        Ok(_) => {
            let mut entries = std::fs::read_dir(path).map_err(|source| OpenError::Storage {
                path: path.to_path_buf(),
                source: source.into(),
            })?;
            let is_empty = entries.next().is_none();
            let creating = creation_unfinished(path);
            if is_empty || creating || Engine::of_directory(path).is_some() {
                Ok(())
            } else {
                Err(not_a_store(
                    "the directory holds files but no database (no sled `conf` or `db` file, no \
                     `store.redb`)",
                ))
            }
        }
    }
}

/// The record of log row `key`/`value`, read where the scan expects `position`: a row of another
/// position, or a record that says another, is damage named by the position expected.
fn log_record<'v>(
    key: &[u8],
    value: &'v [u8],
    position: u64,
) -> Result<EventRecord<'v>, ReadError> {
    if codec::key_number(key, 1) != Some(position) {
        return Err(missing_from_log(position));
    }
    let record = || format!("log position {position}");
    let stored = decode_event_record(key, value).map_err(|damage| corrupt(record(), damage))?;
    if stored.position != position {
        return Err(corrupt(
            record(),
            format!("it holds position {}", stored.position),
        ));
    }
    Ok(stored)
}

fn missing_from_log(position: u64) -> ReadError {
    corrupt(
        format!("log position {position}"),
        "the position is missing from the log",
    )
}

fn corrupt(record: impl Into<String>, problem: impl fmt::Display) -> ReadError {
    ReadError::Corrupt {
        record: record.into(),
        problem: problem.to_string(),
    }
}

fn head_error(error: HeadError) -> ReadError {
    match error {
        HeadError::Storage(error) => read_storage(error),
        HeadError::Corrupt { record, problem } => corrupt(record, problem),
    }
}

fn read_storage(error: StorageError) -> ReadError {
    ReadError::Storage(Box::new(error))
}

fn append_storage(
    stream: &StreamId,
    error: impl std::error::Error + Send + Sync + 'static,
) -> AppendError {
    AppendError::Storage {
        stream: stream.clone(),
        source: Box::new(error),
    }
}

impl<E: Event, S: Storage> SledStore<E, S> {
    /// Opens the store kept in `storage` (tests wrap the sled storage in a
    /// [`FaultyStorage`](crate::FaultyStorage)); `path` names it in errors. Initialises an empty
    /// storage; refuses one that holds other data or another format version. Reads two keys and
    /// nothing else: opening does not scan the store.
    pub fn with_storage(
        storage: S,
        path: impl AsRef<Path>,
        options: SledOptions,
    ) -> Result<Self, OpenError> {
        let path = path.as_ref().to_path_buf();
        let storage_error = |source| OpenError::Storage {
            path: path.clone(),
            source,
        };
        let format = match storage.get(FORMAT_KEY).map_err(storage_error)? {
            None if options.existing_only && creation_unfinished(&path) => {
                return Err(OpenError::NotAStore {
                    path,
                    reason: "there is no store there yet: its creation was stopped before it \
                             held anything (opening it to write creates it)"
                        .into(),
                })
            }
            None if options.existing_only => {
                return Err(OpenError::Damaged {
                    path,
                    reason: "its database holds no store (its data file lost its contents)".into(),
                })
            }
            None => {
                if !storage.is_empty().map_err(storage_error)? {
                    return Err(OpenError::NotAStore {
                        path,
                        reason: "a sled database with other data in it".into(),
                    });
                }
                initialize(&storage).map_err(storage_error)?;
                finish_creation(&path).map_err(|source| storage_error(source.into()))?;
                FORMAT_VERSION
            }
            Some(value) => {
                let format = match decode_format(value.as_ref()) {
                    Ok(found @ (FORMAT_VERSION | READ_ONLY_FORMAT_VERSION)) => found,
                    Ok(found) => {
                        return Err(OpenError::FormatVersion {
                            path,
                            found,
                            supported: FORMAT_VERSION,
                        })
                    }
                    Err(Damage::Invalid(reason)) => {
                        return Err(OpenError::NotAStore { path, reason })
                    }
                    Err(problem) => {
                        return Err(OpenError::Corrupt {
                            path,
                            record: "format".into(),
                            problem,
                        })
                    }
                };
                // A crash after the first records were flushed but before the marker went.
                if !options.existing_only {
                    finish_creation(&path).map_err(|source| storage_error(source.into()))?;
                }
                format
            }
        };
        let marker = import_marker(&storage).map_err(storage_error)?;
        // An import that a crash stopped never committed: its events go before anyone reads. A
        // read-only store is not changed: it reads as it stood before the import.
        let rolled_back_import = match marker {
            Some(saved) if format == FORMAT_VERSION => {
                let removed_events = roll_back(&storage, saved).map_err(storage_error)?;
                Some(RolledBackImport {
                    head: saved.position,
                    removed_events,
                })
            }
            _ => None,
        };
        let head = match marker {
            Some(saved) if format == READ_ONLY_FORMAT_VERSION => saved,
            _ => global_head(&storage, format).map_err(|error| match error {
                HeadError::Storage(source) => storage_error(source),
                HeadError::Corrupt { record, problem } => OpenError::Corrupt {
                    path: path.clone(),
                    record,
                    problem,
                },
            })?,
        };
        Ok(Self {
            inner: Arc::new(Inner {
                rolled_back_import,
                format,
                storage,
                path,
                durability: options.durability,
                max_event_size: options.max_event_size,
                decoder: EventDecoder::new(options.upcasters),
                head: AtomicU64::new(head.position),
                writer: Mutex::new(Writer {
                    head,
                    streams: FastMap::new(),
                    stale: false,
                    importing: None,
                }),
                pending: AppendQueue::default(),
                flushes: GroupCommit::default(),
                commits: CommitSignal::new(),
                vault_keys: Mutex::new(None),
            }),
        })
    }

    /// The import that opening the store found unfinished (a crash stopped it) and rolled back,
    /// if there was one: the store then holds exactly what it held before that import began.
    pub fn rolled_back_import(&self) -> Option<RolledBackImport> {
        self.inner.rolled_back_import
    }

    /// The store's storage format version: [`FORMAT_VERSION`], or [`READ_ONLY_FORMAT_VERSION`]
    /// for a store written by an earlier version, which is read but not written (appends,
    /// snapshots, checkpoints and personal data are refused with
    /// [`StorageError::ReadOnlyFormat`]; [`migrate`](crate::migrate) converts it).
    pub fn format_version(&self) -> u32 {
        self.inner.format
    }

    /// Whether the store is read-only because it is in an earlier storage format.
    pub fn is_read_only(&self) -> bool {
        self.inner.format != FORMAT_VERSION
    }

    /// Refuses a write to a store in an earlier format.
    pub(crate) fn check_writable(&self) -> Result<(), StorageError> {
        if self.is_read_only() {
            return Err(StorageError::ReadOnlyFormat {
                path: self.inner.path.display().to_string(),
                found: self.inner.format,
            });
        }
        Ok(())
    }

    /// The directory (or name) of the store.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The durability chosen when the store was opened.
    pub fn durability(&self) -> Durability {
        self.inner.durability
    }

    /// The storage underneath.
    pub fn storage(&self) -> &S {
        &self.inner.storage
    }

    /// How many streams the store holds.
    pub fn stream_count(&self) -> u64 {
        self.lock_writer().head.streams
    }

    /// Makes every append so far durable (useful with [`Durability::Buffered`]).
    pub fn flush(&self) -> Result<(), StorageError> {
        self.inner.flushes.flush_all(&self.inner.storage)
    }

    pub(crate) fn lock_writer(&self) -> MutexGuard<'_, Writer> {
        // The writer's caches are marked stale before anything can fail half-way, so a poisoned
        // lock holds nothing worse than a stale cache.
        self.inner
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Applies a batch of non-event writes (snapshots, checkpoints, personal data) with the
    /// store's durability.
    pub(crate) fn write(&self, batch: WriteBatch) -> Result<(), StorageError> {
        self.check_writable()?;
        self.inner.storage.apply(batch)?;
        let ticket = self.inner.flushes.written();
        if self.inner.durability == Durability::Flush {
            self.inner
                .flushes
                .make_durable(&self.inner.storage, ticket)?;
        }
        Ok(())
    }

    /// Decodes the event record under `key` into an envelope; `record` names it in errors.
    /// `known_stream` is the stream the reader expects, reused instead of allocating its name
    /// again when the record names it.
    pub(crate) fn decode_envelope(
        &self,
        key: &[u8],
        value: &[u8],
        known_stream: Option<&StreamId>,
        record: impl Fn() -> String,
    ) -> Result<Envelope<E>, ReadError> {
        let stored = decode_event_record(key, value).map_err(|damage| corrupt(record(), damage))?;
        self.envelope_of(stored, known_stream, record)
    }

    /// The envelope of a decoded record: its stream id (`known_stream`'s, shared, when the name
    /// is the same) and its payload decoded and upcast.
    fn envelope_of(
        &self,
        stored: EventRecord<'_>,
        known_stream: Option<&StreamId>,
        record: impl Fn() -> String,
    ) -> Result<Envelope<E>, ReadError> {
        let stream_id = match known_stream {
            Some(known) if known.as_str() == stored.stream_id => known.clone(),
            _ => StreamId::new(stored.stream_id).map_err(|problem| {
                corrupt(record(), format!("its stream id is invalid: {problem}"))
            })?,
        };
        let event = self
            .inner
            .decoder
            .decode_bytes(stored.event_type, stored.schema_version, stored.payload)
            .map_err(|source| ReadError::Decode {
                position: stored.position,
                source,
            })?;
        Ok(Envelope {
            event_id: stored.event_id,
            stream_id,
            stream_version: stored.stream_version,
            position: stored.position,
            recorded_at: stored.recorded_at,
            correlation_id: stored.correlation_id,
            causation_id: stored.causation_id,
            metadata: stored
                .metadata
                .into_iter()
                .map(|(key, value)| (key.to_owned(), value.to_owned()))
                .collect(),
            event,
        })
    }

    /// The envelope at `position`, if it is stored.
    fn envelope_at(&self, position: u64) -> Result<Option<Envelope<E>>, ReadError> {
        let key = log_key(position);
        let Some(value) = self.inner.storage.get(&key).map_err(read_storage)? else {
            return Ok(None);
        };
        self.decode_envelope(&key, value.as_ref(), None, || {
            format!("log position {position}")
        })
        .map(Some)
    }

    /// The index entry of `event_id` with the envelope it points to.
    fn stored_event(&self, event_id: EventId) -> Result<Option<(IdEntry, Envelope<E>)>, ReadError> {
        let key = event_id_key(event_id);
        let Some(value) = self.inner.storage.get(&key).map_err(read_storage)? else {
            return Ok(None);
        };
        let record = || format!("event id index entry {event_id}");
        let entry =
            IdEntry::decode(&key, value.as_ref()).map_err(|damage| corrupt(record(), damage))?;
        let envelope = self.envelope_at(entry.position)?.ok_or_else(|| {
            corrupt(
                record(),
                format!("position {} is not stored", entry.position),
            )
        })?;
        if envelope.event_id != event_id {
            return Err(corrupt(
                record(),
                format!(
                    "position {} holds event {}",
                    entry.position, envelope.event_id
                ),
            ));
        }
        Ok(Some((entry, envelope)))
    }

    /// A stream's head as stored (not from the writer's cache): its number and last row.
    fn stored_stream_head(&self, stream: &StreamId) -> Result<Option<StreamHead>, ReadError> {
        stream_head(&self.inner.storage, stream, self.inner.format).map_err(head_error)
    }

    /// Encodes the events of an append, outside the writer lock.
    pub(crate) fn encode_events(
        &self,
        stream: &StreamId,
        events: &[NewEvent<E>],
    ) -> Result<Vec<Vec<u8>>, AppendError> {
        events
            .iter()
            .map(|new_event| {
                let event_type = new_event.event.event_type();
                let encode_error = |source| AppendError::Encode {
                    stream: stream.clone(),
                    event_id: new_event.event_id,
                    source,
                };
                let mut payload = Vec::with_capacity(256);
                new_event
                    .event
                    .write_payload(&mut payload)
                    .map_err(encode_error)?;
                let body = encode_event_body(&EventFields {
                    event_id: new_event.event_id,
                    stream_id: stream.as_str(),
                    recorded_at: new_event.recorded_at,
                    correlation_id: new_event.correlation_id,
                    causation_id: new_event.causation_id,
                    metadata: &new_event.metadata,
                    event_type,
                    schema_version: new_event.event.schema_version(),
                    payload: &payload,
                });
                let size = body.len() + 4;
                if size > self.inner.max_event_size {
                    return Err(AppendError::TooLarge {
                        stream: stream.clone(),
                        event_id: new_event.event_id,
                        size,
                        limit: self.inner.max_event_size,
                    });
                }
                Ok(body)
            })
            .collect()
    }
}

/// What planning an append found.
enum Planned {
    /// A retry of an append the store holds: its first result, nothing to write.
    Retry(AppendResult),
    /// The append's keys are in the batch; its result once the batch is applied.
    Written(AppendResult),
}

/// Whether an append commits on its own or is one run of an import.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum AppendMode {
    /// A plain append: published to readers once applied; a retry of a stored append returns
    /// its first result.
    Commit,
    /// A run of an import: not published until the import commits; an event id already stored
    /// is refused.
    ImportRun,
}

impl<E: Event, S: Storage> SledStore<E, S> {
    /// The body of an append, under the writer lock: checks, one atomic batch, the writer's
    /// caches. Returns the result and whether anything was written (not for a retry). The
    /// caller notifies.
    pub(crate) fn append_locked(
        &self,
        writer: &mut Writer,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: &[NewEvent<E>],
        bodies: Vec<Vec<u8>>,
        mode: AppendMode,
    ) -> Result<(AppendResult, bool), AppendError> {
        let inner = &*self.inner;
        writer
            .refresh(&inner.storage)
            .map_err(|error| append_storage(stream, error))?;
        let mut batch = WriteBatch::with_capacity(3 * events.len() + 1);
        let result =
            match self.plan_locked(writer, stream, expected, events, bodies, mode, &mut batch)? {
                Planned::Retry(original) => return Ok((original, false)),
                Planned::Written(result) => result,
            };
        inner
            .storage
            .apply(batch)
            .map_err(|error| append_storage(stream, error))?;
        // The write's ticket, so that a later flush knows there is something to make durable.
        inner.flushes.written();
        writer.stale = false;
        if mode == AppendMode::Commit {
            inner.head.store(result.last_position, Ordering::Release);
        }
        Ok((result, true))
    }

    /// Plans an append under the writer lock: its checks, its keys added to `batch`, and the
    /// writer's caches moved on as if the batch were applied (marked stale until it is). Nothing
    /// is added or moved when a check fails. The caller refreshes the caches first.
    #[allow(clippy::too_many_arguments)]
    fn plan_locked(
        &self,
        writer: &mut Writer,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: &[NewEvent<E>],
        bodies: Vec<Vec<u8>>,
        mode: AppendMode,
        batch: &mut WriteBatch,
    ) -> Result<Planned, AppendError> {
        let inner = &*self.inner;
        if mode == AppendMode::ImportRun {
            // An import never repeats what the store holds, so an id already stored is refused
            // outright rather than read as a retry.
            for new_event in events {
                let key = event_id_key(new_event.event_id);
                let stored = inner
                    .storage
                    .get(&key)
                    .map_err(|error| append_storage(stream, error))?;
                if stored.is_some() {
                    return Err(AppendError::DuplicateEventId {
                        stream: stream.clone(),
                        event_id: new_event.event_id,
                    });
                }
            }
        } else {
            let retry = classify_retry(stream, events, |index| {
                let stored = self
                    .stored_event(events[index].event_id)
                    .map_err(|error| append_storage(stream, error))?;
                Ok(stored.map(|(entry, envelope)| StoredAppend {
                    batch: AppendResult::containing(
                        envelope.stream_version,
                        entry.position,
                        entry.offset,
                        entry.len,
                    ),
                    envelope: Cow::Owned(envelope),
                }))
            })?;
            if let Some(original) = retry {
                return Ok(Planned::Retry(original));
            }
        }

        let cached = writer.streams.get(stream).copied();
        let stream_head = match cached {
            Some(head) => Some(head),
            None => self
                .stored_stream_head(stream)
                .map_err(|error| append_storage(stream, error))?,
        };
        let current_version = stream_head.map_or(0, |head| head.version);
        expected.check(stream, current_version)?;

        let count = events.len() as u64;
        let global = writer.head;
        let (number, streams) = match stream_head {
            Some(head) => (head.number, global.streams),
            None => (global.streams + 1, global.streams + 1),
        };
        let result = AppendResult {
            first_version: current_version + 1,
            last_version: current_version + count,
            first_position: global.position + 1,
            last_position: global.position + count,
        };
        let len = u32::try_from(events.len()).map_err(|_| {
            append_storage(
                stream,
                StorageError::Engine("more than 2^32 - 1 events in one append".into()),
            )
        })?;
        for ((offset, new_event), body) in (0u32..).zip(events).zip(bodies) {
            let version = result.first_version + u64::from(offset);
            let position = result.first_position + u64::from(offset);
            let row = row_key(number, version);
            batch.insert(row.to_vec(), codec::encode_u64(&row, position));
            batch.insert(
                log_key(position).to_vec(),
                place_event_body(body, version, position),
            );
            let id_key = event_id_key(new_event.event_id);
            let entry = IdEntry {
                position,
                offset,
                len,
            };
            batch.insert(id_key.to_vec(), entry.encode(&id_key));
        }
        if stream_head.is_none() {
            // The stream's number, written once: its version is its last row from now on.
            let key = stream_key(stream);
            let value = encode_stream_number(&key, number);
            batch.insert(key, value);
        }
        let new_stream_head = StreamHead {
            number,
            version: result.last_version,
        };
        let new_global = GlobalHead {
            position: result.last_position,
            streams,
        };

        writer.stale = true;
        writer.head = new_global;
        if writer.streams.len() >= STREAM_HEAD_CACHE {
            writer.streams.clear();
        }
        writer.streams.insert(stream.clone(), new_stream_head);
        Ok(Planned::Written(result))
    }
}

impl<E: Event, S: Storage> SledStore<E, S> {
    /// A durable append, committed in a group (see [`AppendQueue`]): the append waits in line;
    /// the leader plans every append waiting (each checked against the ones before it, as if
    /// they came one by one) into one batch and writes it durably at once
    /// ([`Storage::apply_and_flush`]: on redb one durable transaction, on sled a batch and a
    /// flush). Appends that arrive while a group is being written form the next group, so under
    /// load each durable write carries many appends.
    fn append_durably(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent<E>>,
        bodies: Vec<Vec<u8>>,
    ) -> Result<AppendResult, AppendError> {
        let append = PendingAppend {
            stream: stream.clone(),
            expected,
            events,
            bodies,
            outcome: Arc::new(Outcome::default()),
        };
        self.inner.pending.submit(append, |queue| {
            let mut writer = self.lock_writer();
            let group = queue.take_group();
            let started = std::time::Instant::now();
            self.commit_group(&mut writer, group);
            queue.wrote(started.elapsed());
        })
    }

    /// Plans and writes `group` under the writer lock, settling each append's outcome.
    fn commit_group(&self, writer: &mut Writer, group: Vec<PendingAppend<E>>) {
        let inner = &*self.inner;
        let mut batch = WriteBatch::new();
        let mut written: Vec<(Arc<Outcome>, StreamId, AppendResult)> = Vec::new();
        let mut ids: foldhash::HashSet<EventId> = foldhash::HashSet::default();
        for append in group {
            if writer.importing.is_some() {
                let refused = AppendError::ImportInProgress {
                    stream: append.stream.clone(),
                };
                settle(&append.outcome, Err(refused));
                continue;
            }
            // An append repeating an id of this group (a retry racing its original) goes in the
            // next batch, where the original is stored and the retry is recognised as one.
            if append
                .events
                .iter()
                .any(|event| ids.contains(&event.event_id))
            {
                self.write_group(
                    writer,
                    std::mem::take(&mut batch),
                    std::mem::take(&mut written),
                );
                ids.clear();
            }
            // Only before the group's first plan (or after a failed batch): the plans move the
            // caches ahead of the storage, and reloading them would undo that.
            if written.is_empty() {
                if let Err(error) = writer.refresh(&inner.storage) {
                    settle(&append.outcome, Err(append_storage(&append.stream, error)));
                    continue;
                }
            }
            let planned = self.plan_locked(
                writer,
                &append.stream,
                append.expected,
                &append.events,
                append.bodies,
                AppendMode::Commit,
                &mut batch,
            );
            match planned {
                Ok(Planned::Retry(original)) => settle(&append.outcome, Ok(original)),
                Ok(Planned::Written(result)) => {
                    ids.extend(append.events.iter().map(|event| event.event_id));
                    written.push((append.outcome, append.stream, result));
                }
                Err(error) => settle(&append.outcome, Err(error)),
            }
        }
        self.write_group(writer, batch, written);
    }

    /// Writes a planned group's batch durably and settles its appends.
    fn write_group(
        &self,
        writer: &mut Writer,
        batch: WriteBatch,
        written: Vec<(Arc<Outcome>, StreamId, AppendResult)>,
    ) {
        let Some(last) = written.last().map(|(_, _, result)| result.last_position) else {
            return;
        };
        let inner = &*self.inner;
        match inner.flushes.apply_durably(&inner.storage, batch) {
            Ok(()) => {
                writer.stale = false;
                inner.head.store(last, Ordering::Release);
                inner.commits.notify();
                for (outcome, _, result) in written {
                    settle(&outcome, Ok(result));
                }
            }
            Err(error) => {
                // Reloaded from the storage before the next append: it holds all of the batch
                // (a failed flush) or none of it.
                writer.stale = true;
                for (outcome, stream, _) in written {
                    settle(&outcome, Err(append_storage(&stream, error.duplicate())));
                }
            }
        }
    }
}

impl Writer {
    /// Marks the caches stale: they are reloaded before the next append.
    pub(crate) fn mark_stale(&mut self) {
        self.stale = true;
    }

    /// Reloads the global head and forgets cached stream heads after a failed batch.
    pub(crate) fn refresh<S: Storage>(&mut self, storage: &S) -> Result<(), ReadError> {
        if self.stale {
            self.head = global_head(storage, FORMAT_VERSION).map_err(head_error)?;
            self.streams.clear();
            self.stale = false;
        }
        Ok(())
    }
}

impl<E: Event, S: Storage> EventStore<E> for SledStore<E, S> {
    type StreamEvents<'a>
        = StreamEvents<'a, E, S>
    where
        Self: 'a;
    type AllEvents<'a>
        = AllEvents<'a, E, S>
    where
        Self: 'a;

    fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent<E>>,
    ) -> Result<AppendResult, AppendError> {
        validate_append(stream, &events)?;
        self.check_writable()
            .map_err(|error| append_storage(stream, error))?;
        let bodies = self.encode_events(stream, &events)?;
        let inner = &*self.inner;
        if inner.durability == Durability::Flush {
            return self.append_durably(stream, expected, events, bodies);
        }
        let mut writer = self.lock_writer();
        if writer.importing.is_some() {
            return Err(AppendError::ImportInProgress {
                stream: stream.clone(),
            });
        }
        let (result, wrote) = self.append_locked(
            &mut writer,
            stream,
            expected,
            &events,
            bodies,
            AppendMode::Commit,
        )?;
        drop(writer);
        if wrote {
            // (A retry of a stored append wrote nothing, and wakes nobody.)
            inner.commits.notify();
        }
        Ok(result)
    }

    fn read_stream(
        &self,
        stream: &StreamId,
        from_version: u64,
    ) -> Result<Self::StreamEvents<'_>, ReadError> {
        let head = self.stored_stream_head(stream)?;
        let rows = match head {
            Some(head) if from_version <= head.version => {
                let start = row_key(head.number, from_version.max(1));
                let end = row_key(head.number, head.version + 1);
                Some(
                    self.inner
                        .storage
                        .range(&start, &end)
                        .map_err(read_storage)?,
                )
            }
            _ => None,
        };
        Ok(StreamEvents {
            store: self,
            stream: stream.clone(),
            rows,
            next_version: from_version.max(1),
            end_version: head.map_or(0, |head| head.version),
        })
    }

    fn read_all(&self, from_position: u64) -> Result<Self::AllEvents<'_>, ReadError> {
        let end = self.inner.head.load(Ordering::Acquire);
        let start = from_position.max(1);
        let log = if start <= end {
            Some(
                self.inner
                    .storage
                    .range(&log_key(start), &log_key(end + 1))
                    .map_err(read_storage)?,
            )
        } else {
            None
        };
        Ok(AllEvents {
            store: self,
            last_stream: None,
            log,
            next: start,
            end,
        })
    }

    fn stream_version(&self, stream: &StreamId) -> Result<u64, ReadError> {
        Ok(self
            .stored_stream_head(stream)?
            .map_or(0, |head| head.version))
    }

    fn head_position(&self) -> Result<u64, ReadError> {
        Ok(self.inner.head.load(Ordering::Acquire))
    }

    /// Hands out the stored records as they are, checksums checked, payloads not decoded: an
    /// export copies bytes instead of decoding and re-encoding every event.
    fn visit_encoded(
        &self,
        from_position: u64,
        until_position: u64,
        visit: &mut dyn FnMut(&EncodedEnvelope<'_>) -> Result<(), VisitError>,
    ) -> Result<(), VisitError> {
        let start = from_position.max(1);
        let end = until_position.min(self.inner.head.load(Ordering::Acquire));
        if start > end {
            return Ok(());
        }
        let rows = self
            .inner
            .storage
            .range(&log_key(start), &log_key(end + 1))
            .map_err(read_storage)?;
        let mut expected = start;
        for row in rows {
            let (key, value) = row.map_err(read_storage)?;
            let stored = log_record(key.as_ref(), value.as_ref(), expected)?;
            visit(&EncodedEnvelope {
                event_id: stored.event_id,
                stream_id: stored.stream_id,
                stream_version: stored.stream_version,
                position: stored.position,
                recorded_at: stored.recorded_at,
                correlation_id: stored.correlation_id,
                causation_id: stored.causation_id,
                metadata: &stored.metadata,
                event_type: stored.event_type,
                schema_version: stored.schema_version,
                payload: stored.payload,
            })?;
            expected += 1;
        }
        if expected <= end {
            return Err(missing_from_log(expected).into());
        }
        Ok(())
    }

    fn check_events(&self, stream: &StreamId, events: &[NewEvent<E>]) -> Result<(), AppendError> {
        validate_append(stream, events)?;
        self.encode_events(stream, events).map(drop)
    }

    fn find_event(&self, event_id: EventId) -> Result<Option<EventLocation>, ReadError> {
        Ok(self
            .stored_event(event_id)?
            .map(|(_, envelope)| EventLocation {
                stream_id: envelope.stream_id,
                stream_version: envelope.stream_version,
                position: envelope.position,
            }))
    }
}

/// The events of one stream, read from a [`SledStore`]: a scan of the stream's rows, each
/// followed to its event in the log.
pub struct StreamEvents<'a, E, S: Storage> {
    store: &'a SledStore<E, S>,
    stream: StreamId,
    rows: Option<S::Range>,
    next_version: u64,
    end_version: u64,
}

impl<E: Event, S: Storage> StreamEvents<'_, E, S> {
    fn read_row(&mut self, key: &[u8], value: &[u8]) -> Result<Envelope<E>, ReadError> {
        let version = self.next_version;
        let record = || format!("stream {} version {version}", self.stream);
        if codec::key_number(key, 9) != Some(version) {
            return Err(corrupt(
                record(),
                "the version is missing from the stream's rows",
            ));
        }
        let position = codec::decode_u64(key, value).map_err(|damage| corrupt(record(), damage))?;
        let log = log_key(position);
        let stored = self
            .store
            .inner
            .storage
            .get(&log)
            .map_err(read_storage)?
            .ok_or_else(|| {
                corrupt(
                    record(),
                    format!("its position {position} is not in the log"),
                )
            })?;
        let envelope =
            self.store
                .decode_envelope(&log, stored.as_ref(), Some(&self.stream), || {
                    format!(
                        "stream {} version {version} (log position {position})",
                        self.stream
                    )
                })?;
        if envelope.stream_id != self.stream || envelope.stream_version != version {
            return Err(corrupt(
                record(),
                format!(
                    "its position {position} holds stream {} version {}",
                    envelope.stream_id, envelope.stream_version
                ),
            ));
        }
        Ok(envelope)
    }
}

impl<'a, E: Event, S: Storage> Iterator for StreamEvents<'a, E, S> {
    type Item = Result<EventRef<'a, E>, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        let rows = self.rows.as_mut()?;
        let item = match rows.next() {
            Some(Ok((key, value))) => self.read_row(key.as_ref(), value.as_ref()),
            Some(Err(error)) => Err(read_storage(error)),
            None if self.next_version <= self.end_version => Err(corrupt(
                format!("stream {} version {}", self.stream, self.next_version),
                "the row is missing",
            )),
            None => return None,
        };
        if item.is_err() {
            // One error ends the read: nothing after a damaged record is trusted.
            self.rows = None;
        }
        self.next_version += 1;
        Some(item.map(Cow::Owned))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let remaining = self.end_version.saturating_sub(self.next_version - 1) as usize;
        (0, Some(remaining.saturating_add(1)))
    }
}

/// Every event in commit order, read from a [`SledStore`]: one scan of the log.
pub struct AllEvents<'a, E, S: Storage> {
    store: &'a SledStore<E, S>,
    /// The stream of the previous event: consecutive events of one stream share its name.
    last_stream: Option<StreamId>,
    log: Option<S::Range>,
    next: u64,
    end: u64,
}

impl<'a, E: Event, S: Storage> Iterator for AllEvents<'a, E, S> {
    type Item = Result<EventRef<'a, E>, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        let log = self.log.as_mut()?;
        let position = self.next;
        let record = || format!("log position {position}");
        let item = match log.next() {
            Some(Ok((key, value))) => {
                log_record(key.as_ref(), value.as_ref(), position).and_then(|stored| {
                    self.store
                        .envelope_of(stored, self.last_stream.as_ref(), record)
                })
            }
            Some(Err(error)) => Err(read_storage(error)),
            None if position <= self.end => Err(missing_from_log(position)),
            None => return None,
        };
        match &item {
            Ok(envelope) => self.last_stream = Some(envelope.stream_id.clone()),
            Err(_) => self.log = None,
        }
        self.next += 1;
        Some(item.map(Cow::Owned))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let remaining = (self.end + 1).saturating_sub(self.next) as usize;
        (0, Some(remaining))
    }
}

/// Group commit: writers that need a flush at the same time share one. Every successful write
/// takes a ticket; a flush started after ticket `t` was taken makes `t` durable.
#[derive(Default)]
pub(crate) struct GroupCommit {
    tickets: AtomicU64,
    state: Mutex<FlushState>,
    flushed: Condvar,
}

#[derive(Default)]
struct FlushState {
    /// Every ticket up to this one is durable.
    durable: u64,
    /// Whether a writer is flushing now.
    flushing: bool,
}

impl GroupCommit {
    /// Takes the ticket of a write that has just been applied.
    pub(crate) fn written(&self) -> u64 {
        self.tickets.fetch_add(1, Ordering::AcqRel) + 1
    }

    /// Applies `batch` and makes it durable with everything applied before it.
    pub(crate) fn apply_durably<S: Storage>(
        &self,
        storage: &S,
        batch: WriteBatch,
    ) -> Result<(), StorageError> {
        let covered = self.tickets.load(Ordering::Acquire);
        storage.apply_and_flush(batch)?;
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.durable = state.durable.max(covered);
        Ok(())
    }

    /// Makes everything written so far durable.
    fn flush_all<S: Storage>(&self, storage: &S) -> Result<(), StorageError> {
        let ticket = self.tickets.load(Ordering::Acquire);
        self.make_durable(storage, ticket)
    }

    /// Returns once `ticket` is durable: joins the flush in progress if it covers the ticket, or
    /// leads the next one.
    pub(crate) fn make_durable<S: Storage>(
        &self,
        storage: &S,
        ticket: u64,
    ) -> Result<(), StorageError> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if state.durable >= ticket {
                return Ok(());
            }
            if state.flushing {
                state = self
                    .flushed
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            // Lead a flush covering every write applied before it starts.
            state.flushing = true;
            let target = self.tickets.load(Ordering::Acquire);
            drop(state);
            let outcome = storage.flush();
            state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            state.flushing = false;
            if outcome.is_ok() {
                state.durable = state.durable.max(target);
            }
            self.flushed.notify_all();
            outcome?;
        }
    }
}

impl<E, S: Storage> CommitNotifier for SledStore<E, S> {
    fn wait_for_commit(&self, after_position: u64, timeout: Duration) -> Result<u64, ReadError> {
        let inner = &*self.inner;
        Ok(inner.commits.wait(&inner.head, after_position, timeout))
    }
}

impl<E, S: Storage> Drop for Inner<E, S> {
    fn drop(&mut self) {
        // Best effort: a buffered store writes out what it holds when the last handle goes. An
        // error here has nobody to report to; the next open sees what was durable.
        let _ = self.storage.flush();
    }
}
