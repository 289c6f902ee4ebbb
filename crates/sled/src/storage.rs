//! The thin storage layer under the store: get, range, last, atomic batch, flush.
//!
//! The store never calls an engine directly; it goes through [`Storage`], so tests can put
//! [`FaultyStorage`] in between and fail the Nth operation, and the same store runs on sled
//! ([`SledStorage`]) and on redb ([`RedbStorage`](crate::RedbStorage)).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long opening waits for a locked database unless chosen: 2 seconds.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(2);

/// A key and its value, as a storage hands them out.
pub type KeyValue<B> = (B, B);

/// One key and its value, or `None` for a removal.
pub type BatchOp = (Vec<u8>, Option<Vec<u8>>);

/// Keys and values to write together: all of them or none.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct WriteBatch {
    ops: Vec<BatchOp>,
}

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty batch with room for `capacity` operations.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            ops: Vec::with_capacity(capacity),
        }
    }

    /// Sets `key` to `value`.
    pub fn insert(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.ops.push((key, Some(value)));
    }

    /// Removes `key`.
    pub fn remove(&mut self, key: Vec<u8>) {
        self.ops.push((key, None));
    }

    /// The operations, in the order they were added (a later one for the same key wins).
    pub fn ops(&self) -> &[BatchOp] {
        &self.ops
    }

    /// How many operations the batch holds.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether the batch holds nothing.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// The operations, by value.
    pub fn into_ops(self) -> Vec<BatchOp> {
        self.ops
    }
}

/// A failure of the storage underneath: I/O, a full disk, a lock held by another process, a bug
/// the engine reports.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// The store is in an older storage format, which this version reads but does not write.
    #[error("the store at {path} is in storage format {found}, which this version reads but no longer writes; convert it with `service-lifecycle migrate --store {path}` (it writes the converted store into a new directory, then renames it into place and keeps the old one beside it)")]
    ReadOnlyFormat {
        /// The store's directory.
        path: String,
        /// The store's format version.
        found: u32,
    },
    /// The operating system reported an I/O error.
    #[error("I/O error: {0}")]
    Io(std::io::Error),
    /// The disk holding the store is full. A write that failed so is not in the store, or (a
    /// failed flush) may be in memory only; everything written before is whole.
    #[error("the disk holding the store is full (no space left on device)")]
    DiskFull(std::io::Error),
    /// The engine reported an error of its own.
    #[error("{0}")]
    Engine(String),
    /// The engine panicked on what it read: the database files are damaged (truncated, say).
    #[error("the database files at {path} are damaged: the engine failed reading them ({detail}); restore the directory from a backup, or import an export into a new one")]
    Damaged {
        /// The store's directory.
        path: String,
        /// What the engine said.
        detail: String,
    },
    /// The engine found its own files damaged (a checksum of sled's log failed, say).
    #[error("the database files are damaged: {0}; restore the directory from a backup, or import an export into a new one")]
    Corrupted(String),
    /// Another process (or another handle in this one) has the database open.
    #[error("could not acquire lock: {0}")]
    Locked(String),
    /// A fault injected by [`FaultyStorage`].
    #[error("injected fault at operation {operation} ({kind})")]
    Injected {
        /// The 1-based number of the failed operation.
        operation: u64,
        /// Which kind of operation failed.
        kind: &'static str,
    },
}

impl StorageError {
    /// Whether the engine refused to open because another handle holds the database's lock.
    pub fn is_locked(&self) -> bool {
        match self {
            Self::Locked(_) => true,
            Self::Io(io) => io.to_string().contains("could not acquire lock"),
            _ => false,
        }
    }

    /// Whether the disk holding the store is full.
    pub fn is_disk_full(&self) -> bool {
        matches!(self, Self::DiskFull(_))
    }

    /// The same error again, for the second of several appends one failure stopped (an I/O
    /// error keeps its kind and text).
    pub fn duplicate(&self) -> Self {
        let io = |error: &std::io::Error| std::io::Error::new(error.kind(), error.to_string());
        match self {
            Self::ReadOnlyFormat { path, found } => Self::ReadOnlyFormat {
                path: path.clone(),
                found: *found,
            },
            Self::Io(error) => Self::Io(io(error)),
            Self::DiskFull(error) => Self::DiskFull(io(error)),
            Self::Engine(text) => Self::Engine(text.clone()),
            Self::Damaged { path, detail } => Self::Damaged {
                path: path.clone(),
                detail: detail.clone(),
            },
            Self::Corrupted(text) => Self::Corrupted(text.clone()),
            Self::Locked(text) => Self::Locked(text.clone()),
            Self::Injected { operation, kind } => Self::Injected {
                operation: *operation,
                kind,
            },
        }
    }
}

/// Whether `error` says the disk is full. sled sometimes hands on an error of its background
/// writer as a new `io::Error` holding the first one's `Debug` text, so the text is read too.
fn is_disk_full(error: &std::io::Error) -> bool {
    error.kind() == std::io::ErrorKind::StorageFull || error.raw_os_error() == Some(28) || {
        let text = error.to_string();
        text.contains("StorageFull") || text.contains("No space left on device")
    }
}

impl From<std::io::Error> for StorageError {
    fn from(error: std::io::Error) -> Self {
        if is_disk_full(&error) {
            Self::DiskFull(error)
        } else {
            Self::Io(error)
        }
    }
}

impl From<sled::Error> for StorageError {
    fn from(error: sled::Error) -> Self {
        match error {
            sled::Error::Io(io) => io.into(),
            sled::Error::Corruption { at, .. } => Self::Corrupted(match at {
                // The pointer type is re-exported by sled 0.34 (pinned) without docs.
                Some(sled::DiskPtr::Inline(offset)) => {
                    format!("sled's log in the file db fails its checksum at byte {offset}")
                }
                Some(sled::DiskPtr::Blob(offset, blob)) => format!(
                    "the blob file blobs/{blob} (named at byte {offset} of the file db) fails its \
                     checksum"
                ),
                None => "one of sled's files fails its checksum".to_owned(),
            }),
            other => Self::Engine(other.to_string()),
        }
    }
}

/// What the store needs of a key-value engine: ordered keys, point reads, range scans, atomic
/// batches and an explicit flush.
pub trait Storage: Send + Sync + 'static {
    /// A value (or key) as the engine hands it out.
    type Bytes: AsRef<[u8]> + Send + 'static;
    /// A scan over a key range, in key order.
    type Range: Iterator<Item = Result<(Self::Bytes, Self::Bytes), StorageError>> + Send + 'static;

    /// The value under `key`.
    fn get(&self, key: &[u8]) -> Result<Option<Self::Bytes>, StorageError>;
    /// The keys from `start` (inclusive) to `end` (exclusive) with their values, in key order.
    fn range(&self, start: &[u8], end: &[u8]) -> Result<Self::Range, StorageError>;
    /// The last key from `start` (inclusive) to `end` (exclusive) with its value: how the store
    /// finds its heads (the newest log position, a stream's newest version) without writing them.
    fn last(&self, start: &[u8], end: &[u8])
        -> Result<Option<KeyValue<Self::Bytes>>, StorageError>;
    /// Writes every operation of `batch` atomically: after a crash, all or none of them.
    fn apply(&self, batch: WriteBatch) -> Result<(), StorageError>;
    /// Makes everything applied so far durable (see the crate docs for what that means on sled).
    fn flush(&self) -> Result<(), StorageError>;
    /// Applies `batch` and makes it durable, with everything applied before it: [`apply`] then
    /// [`flush`] unless the engine does both at once (redb commits one durable transaction).
    ///
    /// [`apply`]: Storage::apply
    /// [`flush`]: Storage::flush
    fn apply_and_flush(&self, batch: WriteBatch) -> Result<(), StorageError> {
        self.apply(batch)?;
        self.flush()
    }
    /// Whether the storage holds no key at all.
    fn is_empty(&self) -> Result<bool, StorageError>;
}

/// The sled database a store lives in: one tree (the default one), opened with an explicit cache.
#[derive(Clone)]
pub struct SledStorage {
    db: sled::Db,
    path: PathBuf,
}

impl fmt::Debug for SledStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SledStorage")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SledStorage {
    /// Opens (or creates) the sled database in `path` with a page cache of `cache_capacity` bytes,
    /// waiting up to [`DEFAULT_LOCK_TIMEOUT`] for a lock held by another handle (see
    /// [`SledStorage::open_waiting`]).
    pub fn open(path: &Path, cache_capacity: u64) -> Result<Self, StorageError> {
        Self::open_waiting(path, cache_capacity, DEFAULT_LOCK_TIMEOUT)
    }

    /// Opens (or creates) the sled database in `path` with a page cache of `cache_capacity` bytes,
    /// retrying while its lock is held, for at most `lock_timeout`.
    ///
    /// sled's background threads keep the lock for a moment after the last handle of a database
    /// is dropped, so reopening in the same process can find it still taken. Past the timeout the
    /// lock error is returned ([`StorageError::is_locked`] tells it apart).
    pub fn open_waiting(
        path: &Path,
        cache_capacity: u64,
        lock_timeout: Duration,
    ) -> Result<Self, StorageError> {
        let deadline = Instant::now() + lock_timeout;
        loop {
            match Self::open_once(path, cache_capacity) {
                Err(error) if error.is_locked() && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                result => return result,
            }
        }
    }

    fn open_once(path: &Path, cache_capacity: u64) -> Result<Self, StorageError> {
        let db = guard(path, || {
            Ok(sled::Config::new()
                .path(path)
                .cache_capacity(cache_capacity)
                .mode(sled::Mode::HighThroughput)
                .open()?)
        })?;
        Ok(Self {
            db,
            path: path.to_path_buf(),
        })
    }

    /// The directory of the database.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many bytes the database takes on disk.
    pub fn size_on_disk(&self) -> Result<u64, StorageError> {
        Ok(self.db.size_on_disk()?)
    }
}

/// A sled range scan with sled's errors (and panics on damaged files) converted.
pub struct SledRange {
    iter: sled::Iter,
    path: PathBuf,
}

impl Iterator for SledRange {
    type Item = Result<(sled::IVec, sled::IVec), StorageError>;

    fn next(&mut self) -> Option<Self::Item> {
        let iter = &mut self.iter;
        guard(&self.path, || Ok(iter.next()))
            .map(|item| item.map(|item| item.map_err(StorageError::from)))
            .unwrap_or_else(|damaged| Some(Err(damaged)))
    }
}

impl SledStorage {
    /// Runs one call into sled, turning a panic inside it (sled 0.34 panics on some damaged
    /// files, a truncated `db` for one) into [`StorageError::Damaged`] naming the directory.
    fn guarded<T>(
        &self,
        call: impl FnOnce() -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        guard(&self.path, call)
    }
}

/// [`SledStorage::guarded`] for a directory, also before a database is open; redb's calls run
/// under it too (redb's debug builds panic on some damaged files).
pub(crate) fn guard<T>(
    path: &Path,
    call: impl FnOnce() -> Result<T, StorageError>,
) -> Result<T, StorageError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(call)).unwrap_or_else(|panic| {
        let detail = panic
            .downcast_ref::<&str>()
            .map(|text| (*text).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_owned());
        Err(StorageError::Damaged {
            path: path.display().to_string(),
            detail,
        })
    })
}

impl Storage for SledStorage {
    type Bytes = sled::IVec;
    type Range = SledRange;

    fn get(&self, key: &[u8]) -> Result<Option<sled::IVec>, StorageError> {
        self.guarded(|| Ok(self.db.get(key)?))
    }

    fn range(&self, start: &[u8], end: &[u8]) -> Result<SledRange, StorageError> {
        self.guarded(|| {
            Ok(SledRange {
                iter: self.db.range(start..end),
                path: self.path.clone(),
            })
        })
    }

    fn last(&self, start: &[u8], end: &[u8]) -> Result<Option<KeyValue<sled::IVec>>, StorageError> {
        self.guarded(|| Ok(self.db.range(start..end).next_back().transpose()?))
    }

    fn apply(&self, batch: WriteBatch) -> Result<(), StorageError> {
        let mut sled_batch = sled::Batch::default();
        for (key, value) in batch.into_ops() {
            match value {
                Some(value) => sled_batch.insert(key, value),
                None => sled_batch.remove(key),
            }
        }
        self.guarded(|| Ok(self.db.apply_batch(sled_batch)?))
    }

    fn flush(&self) -> Result<(), StorageError> {
        self.guarded(|| {
            self.db.flush()?;
            Ok(())
        })
    }

    fn is_empty(&self) -> Result<bool, StorageError> {
        self.guarded(|| Ok(self.db.first()?.is_none()))
    }
}

/// How [`FaultyStorage`] fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultMode {
    /// Only the chosen operation fails; later ones succeed (a transient error).
    Once,
    /// The chosen operation and every later one fail (a disk gone bad or full).
    FromThenOn,
}

/// A storage that fails its Nth operation (counting gets, range scans, batches and flushes from
/// 1), for fault-injection tests. Operation 0 never comes, so `FaultyStorage::new(inner, 0, _)`
/// never fails and counts how many operations a script makes.
#[derive(Debug)]
pub struct FaultyStorage<S> {
    inner: S,
    fail_at: u64,
    mode: FaultMode,
    operations: AtomicU64,
}

impl<S: Storage> FaultyStorage<S> {
    /// Wraps `inner`, failing operation number `fail_at` (and, in `FromThenOn` mode, all after).
    pub fn new(inner: S, fail_at: u64, mode: FaultMode) -> Self {
        Self {
            inner,
            fail_at,
            mode,
            operations: AtomicU64::new(0),
        }
    }

    /// How many operations have been attempted so far.
    pub fn operations(&self) -> u64 {
        self.operations.load(Ordering::SeqCst)
    }

    /// The storage underneath.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    fn check(&self, kind: &'static str) -> Result<(), StorageError> {
        let operation = self.operations.fetch_add(1, Ordering::SeqCst) + 1;
        let fails = match self.mode {
            FaultMode::Once => operation == self.fail_at,
            FaultMode::FromThenOn => self.fail_at != 0 && operation >= self.fail_at,
        };
        if fails {
            Err(StorageError::Injected { operation, kind })
        } else {
            Ok(())
        }
    }
}

impl<S: Storage> Storage for FaultyStorage<S> {
    type Bytes = S::Bytes;
    type Range = S::Range;

    fn get(&self, key: &[u8]) -> Result<Option<S::Bytes>, StorageError> {
        self.check("get")?;
        self.inner.get(key)
    }

    fn range(&self, start: &[u8], end: &[u8]) -> Result<S::Range, StorageError> {
        self.check("range")?;
        self.inner.range(start, end)
    }

    fn last(&self, start: &[u8], end: &[u8]) -> Result<Option<KeyValue<S::Bytes>>, StorageError> {
        self.check("last")?;
        self.inner.last(start, end)
    }

    fn apply(&self, batch: WriteBatch) -> Result<(), StorageError> {
        self.check("apply")?;
        self.inner.apply(batch)
    }

    fn flush(&self) -> Result<(), StorageError> {
        self.check("flush")?;
        self.inner.flush()
    }

    fn is_empty(&self) -> Result<bool, StorageError> {
        self.check("is_empty")?;
        self.inner.is_empty()
    }
}
