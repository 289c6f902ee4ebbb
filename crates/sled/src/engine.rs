//! Which embedded database a store keeps its records in: sled or redb, chosen when the store is
//! created and found again from its files when it is opened.
//!
//! Both hold the same keys and values (docs/storage-format.md) and the store's code above
//! [`Storage`] is the same; what differs is what a flush promises. sled 0.34's flush survives a
//! crash of the process; redb's durable commit also survives a power loss or a kernel crash.
//! docs/decisions/0007-embedded-engines.md says which to choose when.

use std::fmt;
use std::path::Path;

use crate::redb_storage::{RedbRange, RedbStorage, REDB_FILE};
use crate::storage::{KeyValue, SledRange, SledStorage, Storage, StorageError, WriteBatch};

/// The embedded database under a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Engine {
    /// [sled](https://docs.rs/sled/0.34.7) 0.34.7: the default.
    #[default]
    Sled,
    /// [redb](https://docs.rs/redb/5) 5: durable commits that survive a power loss.
    Redb,
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Sled => "sled",
            Self::Redb => "redb",
        })
    }
}

impl Engine {
    /// The engine whose files the directory `path` holds, if it holds any.
    pub fn of_directory(path: &Path) -> Option<Self> {
        if path.join(REDB_FILE).is_file() {
            Some(Self::Redb)
        } else if path.join("conf").is_file() || path.join("db").is_file() {
            Some(Self::Sled)
        } else {
            None
        }
    }
}

/// The storage of a store opened by path: sled's or redb's.
#[derive(Debug, Clone)]
pub enum EngineStorage {
    /// A sled database.
    Sled(SledStorage),
    /// A redb database.
    Redb(RedbStorage),
}

impl EngineStorage {
    /// Which engine this is.
    pub fn engine(&self) -> Engine {
        match self {
            Self::Sled(_) => Engine::Sled,
            Self::Redb(_) => Engine::Redb,
        }
    }

    /// The directory of the database.
    pub fn path(&self) -> &Path {
        match self {
            Self::Sled(storage) => storage.path(),
            Self::Redb(storage) => storage.path(),
        }
    }

    /// How many bytes the database takes on disk.
    pub fn size_on_disk(&self) -> Result<u64, StorageError> {
        match self {
            Self::Sled(storage) => storage.size_on_disk(),
            Self::Redb(storage) => storage.size_on_disk(),
        }
    }
}

/// A key or value read from either engine.
#[derive(Debug, Clone)]
pub enum EngineBytes {
    /// sled's shared buffer.
    Sled(sled::IVec),
    /// A copy out of redb's pages.
    Redb(Vec<u8>),
}

impl AsRef<[u8]> for EngineBytes {
    fn as_ref(&self) -> &[u8] {
        match self {
            Self::Sled(bytes) => bytes.as_ref(),
            Self::Redb(bytes) => bytes.as_slice(),
        }
    }
}

impl std::ops::Deref for EngineBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.as_ref()
    }
}

/// A range scan of either engine.
pub enum EngineRange {
    /// sled's.
    Sled(SledRange),
    /// redb's.
    Redb(RedbRange),
}

fn pair<B>(
    item: Result<KeyValue<B>, StorageError>,
    wrap: fn(B) -> EngineBytes,
) -> Result<KeyValue<EngineBytes>, StorageError> {
    item.map(|(key, value)| (wrap(key), wrap(value)))
}

impl Iterator for EngineRange {
    type Item = Result<KeyValue<EngineBytes>, StorageError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Self::Sled(range) => range.next().map(|item| pair(item, EngineBytes::Sled)),
            Self::Redb(range) => range.next().map(|item| pair(item, EngineBytes::Redb)),
        }
    }
}

impl Storage for EngineStorage {
    type Bytes = EngineBytes;
    type Range = EngineRange;

    fn get(&self, key: &[u8]) -> Result<Option<EngineBytes>, StorageError> {
        Ok(match self {
            Self::Sled(storage) => storage.get(key)?.map(EngineBytes::Sled),
            Self::Redb(storage) => storage.get(key)?.map(EngineBytes::Redb),
        })
    }

    fn range(&self, start: &[u8], end: &[u8]) -> Result<EngineRange, StorageError> {
        Ok(match self {
            Self::Sled(storage) => EngineRange::Sled(storage.range(start, end)?),
            Self::Redb(storage) => EngineRange::Redb(storage.range(start, end)?),
        })
    }

    fn last(
        &self,
        start: &[u8],
        end: &[u8],
    ) -> Result<Option<KeyValue<EngineBytes>>, StorageError> {
        match self {
            Self::Sled(storage) => storage
                .last(start, end)
                .map(|last| last.map(|(k, v)| (EngineBytes::Sled(k), EngineBytes::Sled(v)))),
            Self::Redb(storage) => storage
                .last(start, end)
                .map(|last| last.map(|(k, v)| (EngineBytes::Redb(k), EngineBytes::Redb(v)))),
        }
    }

    fn apply(&self, batch: WriteBatch) -> Result<(), StorageError> {
        match self {
            Self::Sled(storage) => storage.apply(batch),
            Self::Redb(storage) => storage.apply(batch),
        }
    }

    fn flush(&self) -> Result<(), StorageError> {
        match self {
            Self::Sled(storage) => storage.flush(),
            Self::Redb(storage) => storage.flush(),
        }
    }

    fn apply_and_flush(&self, batch: WriteBatch) -> Result<(), StorageError> {
        match self {
            Self::Sled(storage) => storage.apply_and_flush(batch),
            Self::Redb(storage) => storage.apply_and_flush(batch),
        }
    }

    fn is_empty(&self) -> Result<bool, StorageError> {
        match self {
            Self::Sled(storage) => storage.is_empty(),
            Self::Redb(storage) => storage.is_empty(),
        }
    }
}
