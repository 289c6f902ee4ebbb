//! The store's second engine: [redb](https://docs.rs/redb/5), one file `store.redb` in the
//! store's directory.
//!
//! Every [`Storage::apply`] is one redb write transaction committed without durability
//! (`Durability::None`): atomic, visible to readers at once, on disk at the next durable commit.
//! [`Storage::flush`] is an empty write transaction committed with `Durability::Immediate`,
//! which redb makes durable (its commit slot written and `fsync`ed) together with every
//! non-durable commit before it: durable against power loss, not only against a crash of the
//! process. The store's group commit shares one such flush among the appends waiting for it.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};

use crate::storage::{guard, KeyValue, Storage, StorageError, WriteBatch};

/// The file of the database in the store's directory.
pub const REDB_FILE: &str = "store.redb";

/// The one table that holds every key of the store (the same keys as on sled).
const TABLE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("store");

/// How often a store with buffered durability writes out what it holds: as sled does.
const BACKGROUND_FLUSH: Duration = Duration::from_millis(500);

/// The redb database a store lives in.
#[derive(Clone)]
pub struct RedbStorage {
    shared: Arc<Shared>,
}

struct Shared {
    db: redb::Database,
    path: PathBuf,
    /// Whether something was committed since the last durable commit.
    dirty: AtomicBool,
}

impl fmt::Debug for RedbStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedbStorage")
            .field("path", &self.shared.path)
            .finish_non_exhaustive()
    }
}

impl From<redb::Error> for StorageError {
    fn from(error: redb::Error) -> Self {
        match error {
            redb::Error::Io(io) => io.into(),
            redb::Error::DatabaseAlreadyOpen => Self::Locked(
                "the redb database is open in another process (or another handle)".into(),
            ),
            redb::Error::Corrupted(detail) => Self::Corrupted(format!(
                "redb reports its file {REDB_FILE} corrupt: {detail}"
            )),
            other => Self::Engine(format!("redb: {other}")),
        }
    }
}

/// Converts any of redb's error types through [`redb::Error`].
fn engine<T, X: Into<redb::Error>>(result: Result<T, X>) -> Result<T, StorageError> {
    result.map_err(|error| StorageError::from(error.into()))
}

impl RedbStorage {
    /// Opens (or creates) the database `store.redb` in directory `path` with a page cache of
    /// `cache_capacity` bytes. With `background_flush`, a thread makes what was applied durable
    /// every half second (for stores whose appends do not wait for a flush), until the last
    /// handle is dropped.
    pub fn open(
        path: &Path,
        cache_capacity: u64,
        background_flush: bool,
    ) -> Result<Self, StorageError> {
        std::fs::create_dir_all(path)?;
        let file = path.join(REDB_FILE);
        let db = guard(path, || {
            let mut builder = redb::Database::builder();
            builder.set_cache_size(usize::try_from(cache_capacity).unwrap_or(usize::MAX));
            engine(builder.create(&file))
        })?;
        let storage = Self {
            shared: Arc::new(Shared {
                db,
                path: path.to_path_buf(),
                dirty: AtomicBool::new(false),
            }),
        };
        // The table exists from the first open on, so that reads never find it missing.
        storage.write(|_| Ok(()), true)?;
        if background_flush {
            let weak = Arc::downgrade(&storage.shared);
            std::thread::Builder::new()
                .name("redb-flush".into())
                .spawn(move || flush_in_background(&weak))?;
        }
        Ok(storage)
    }

    /// The directory of the database.
    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// How many bytes the database file takes on disk.
    pub fn size_on_disk(&self) -> Result<u64, StorageError> {
        Ok(std::fs::metadata(self.shared.path.join(REDB_FILE))?.len())
    }

    fn guarded<T>(
        &self,
        call: impl FnOnce() -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        guard(&self.shared.path, call)
    }

    /// One write transaction: `change` on the table, then a commit, `durable` or not.
    fn write(
        &self,
        change: impl FnOnce(
            &mut redb::Table<'_, &'static [u8], &'static [u8]>,
        ) -> Result<(), StorageError>,
        durable: bool,
    ) -> Result<(), StorageError> {
        self.guarded(|| {
            let mut transaction = engine(self.shared.db.begin_write())?;
            let durability = if durable {
                redb::Durability::Immediate
            } else {
                redb::Durability::None
            };
            engine(transaction.set_durability(durability))?;
            if durable {
                // A crash then costs a quick check at the next open, not a walk of the file.
                transaction.set_quick_repair(true);
            }
            {
                let mut table = engine(transaction.open_table(TABLE))?;
                change(&mut table)?;
            }
            engine(transaction.commit())?;
            self.shared.dirty.store(!durable, Ordering::Release);
            Ok(())
        })
    }

    fn read_table(
        &self,
    ) -> Result<redb::ReadOnlyTable<&'static [u8], &'static [u8]>, StorageError> {
        let transaction = engine(self.shared.db.begin_read())?;
        engine(transaction.open_table(TABLE))
    }
}

fn flush_in_background(shared: &Weak<Shared>) {
    loop {
        std::thread::sleep(BACKGROUND_FLUSH);
        let Some(shared) = shared.upgrade() else {
            return;
        };
        if shared.dirty.load(Ordering::Acquire) {
            let storage = RedbStorage { shared };
            // Nobody to report to: the next flush, or the next open, sees what was durable.
            let _ = storage.flush();
        }
    }
}

/// A range scan of the store's table, its keys and values copied out.
pub struct RedbRange {
    inner: redb::OwnedRange<&'static [u8], &'static [u8]>,
    path: PathBuf,
}

impl fmt::Debug for RedbRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedbRange")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

type Entry = (
    redb::OwnedAccessGuard<&'static [u8]>,
    redb::OwnedAccessGuard<&'static [u8]>,
);

fn copied(entry: Result<Entry, redb::StorageError>) -> Result<KeyValue<Vec<u8>>, StorageError> {
    let (key, value) = engine(entry)?;
    Ok((key.value().to_vec(), value.value().to_vec()))
}

impl Iterator for RedbRange {
    type Item = Result<KeyValue<Vec<u8>>, StorageError>;

    fn next(&mut self) -> Option<Self::Item> {
        let inner = &mut self.inner;
        guard(&self.path, || Ok(inner.next().map(copied)))
            .unwrap_or_else(|damaged| Some(Err(damaged)))
    }
}

/// The operations of `batch`, on the table of a write transaction.
fn write_ops(
    table: &mut redb::Table<'_, &'static [u8], &'static [u8]>,
    batch: &WriteBatch,
) -> Result<(), StorageError> {
    for (key, value) in batch.ops() {
        match value {
            Some(value) => {
                engine(table.insert(key.as_slice(), value.as_slice()))?;
            }
            None => {
                engine(table.remove(key.as_slice()))?;
            }
        }
    }
    Ok(())
}

impl Storage for RedbStorage {
    type Bytes = Vec<u8>;
    type Range = RedbRange;

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        self.guarded(|| {
            let table = self.read_table()?;
            let value = engine(table.get(key))?.map(|value| value.value().to_vec());
            Ok(value)
        })
    }

    fn range(&self, start: &[u8], end: &[u8]) -> Result<RedbRange, StorageError> {
        self.guarded(|| {
            let table = self.read_table()?;
            let inner = engine(table.range_owned(start..end))?;
            Ok(RedbRange {
                inner,
                path: self.shared.path.clone(),
            })
        })
    }

    fn last(&self, start: &[u8], end: &[u8]) -> Result<Option<KeyValue<Vec<u8>>>, StorageError> {
        self.guarded(|| {
            let table = self.read_table()?;
            let last = engine(table.range(start..end))?
                .next_back()
                .map(|entry| {
                    let (key, value) = engine(entry)?;
                    Ok((key.value().to_vec(), value.value().to_vec()))
                })
                .transpose();
            last
        })
    }

    fn apply(&self, batch: WriteBatch) -> Result<(), StorageError> {
        self.write(|table| write_ops(table, &batch), false)
    }

    fn flush(&self) -> Result<(), StorageError> {
        self.write(|_| Ok(()), true)
    }

    fn apply_and_flush(&self, batch: WriteBatch) -> Result<(), StorageError> {
        self.write(|table| write_ops(table, &batch), true)
    }

    fn is_empty(&self) -> Result<bool, StorageError> {
        self.guarded(|| engine(self.read_table()?.is_empty()))
    }
}
