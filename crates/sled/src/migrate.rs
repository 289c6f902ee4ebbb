//! [`migrate`]: converting a store of an earlier storage format into the current one.
//!
//! The conversion never changes the store it reads. It writes the converted store into a new
//! directory beside it (`NAME.migrating`), flushes it, marks it complete (the file `migrated`
//! in it), and only then renames: the old store to `NAME.format-1`, the new one to `NAME`. A
//! crash before the mark leaves the old store in place and an unfinished `NAME.migrating`,
//! which the next run removes and writes again; a crash after it leaves a complete conversion,
//! whose renames the next run finishes. Either way the store at `NAME` is whole, old or new.

use std::path::{Path, PathBuf};

use service_lifecycle_kernel::{Event, EventStore};

use crate::codec::{
    decode_stream_number, encode_format, encode_stream_number, FORMAT_KEY, FORMAT_VERSION,
    HEAD_KEY, READ_ONLY_FORMAT_VERSION, STREAM_PREFIX,
};
use crate::create::sync_directory;
use crate::storage::{SledStorage, Storage, StorageError, WriteBatch};
use crate::store::{OpenError, SledOptions, SledStore, ONE_PASS_CACHE_CAPACITY};
use crate::vault_keys::KEY_FILE;
use crate::verify::VerifyReport;

/// The file that marks a conversion in `NAME.migrating` as complete.
const MIGRATED_MARKER: &str = "migrated";
/// How many keys one batch of the conversion writes.
const COPY_BATCH: usize = 4_096;

/// What [`migrate`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Migration {
    /// The store is already in the current format: nothing was changed.
    AlreadyCurrent,
    /// The store was converted; the old one is kept, unchanged, at `kept_at`.
    Converted {
        /// The format the store was in.
        from: u32,
        /// How many events it holds.
        events: u64,
        /// How many records (events, index entries, snapshots, personal data...) were written.
        records: u64,
        /// Where the store in the old format now is.
        kept_at: PathBuf,
    },
    /// A conversion that a crash stopped after it was complete: its renames were finished.
    Finished {
        /// Where the store in the old format now is.
        kept_at: PathBuf,
    },
}

impl std::fmt::Display for Migration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::AlreadyCurrent => write!(
                f,
                "the store is already in storage format {FORMAT_VERSION}; nothing was changed"
            ),
            Self::Converted {
                from,
                events,
                records,
                kept_at,
            } => write!(
                f,
                "converted from storage format {from} to {FORMAT_VERSION}: {events} events, \
                 {records} records written; the store in format {from} is kept at {}",
                kept_at.display()
            ),
            Self::Finished { kept_at } => write!(
                f,
                "finished a conversion that was stopped after it was complete; the store in the \
                 earlier format is kept at {}",
                kept_at.display()
            ),
        }
    }
}

/// Why a migration did not happen. The store it was asked to convert is unchanged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MigrateError {
    /// The store could not be opened.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// The store's records have problems: it is not converted, so that no damage is carried
    /// into a new store unnoticed.
    #[error(
        "the store at {path} has problems, so it was not converted (nothing was changed): {report}"
    )]
    Damaged {
        /// The store.
        path: PathBuf,
        /// What verifying it found.
        report: Box<VerifyReport>,
    },
    /// Where the old store would be kept, something is already.
    #[error("{kept_at} exists, and the store in the earlier format would be kept there: move it away, then migrate again (nothing was changed)")]
    KeptPathTaken {
        /// The path.
        kept_at: PathBuf,
    },
    /// The path names no directory a store can be beside (`/`, say).
    #[error("{path} cannot be migrated: it has no directory name to put the new store beside")]
    NoName {
        /// The path.
        path: PathBuf,
    },
    /// Reading the old store or writing the new one failed.
    #[error("migrating {path} failed while {doing}: {source}; the store at {path} is unchanged")]
    Storage {
        /// The store.
        path: PathBuf,
        /// What it was doing.
        doing: &'static str,
        /// What failed.
        source: StorageError,
    },
    /// A file operation failed.
    #[error("migrating {path} failed while {doing}: {source}")]
    Io {
        /// The store.
        path: PathBuf,
        /// What it was doing.
        doing: &'static str,
        /// What failed.
        source: std::io::Error,
    },
}

/// Converts the store in directory `path` to the current storage format ([`FORMAT_VERSION`]),
/// crash-safe: into `NAME.migrating`, marked complete, then renamed into place, the old store
/// kept at `NAME.format-1` (docs/storage-format.md, "Format 1, and the migration"). Running it
/// again after a crash finishes what the crash stopped.
///
/// The old store is verified first ([`SledStore::verify`], which decodes every event as `E`):
/// a store with problems is not converted. The new store is opened and verified before the
/// function returns. A store already in the current format is left alone.
pub fn migrate<E: Event>(path: impl AsRef<Path>) -> Result<Migration, MigrateError> {
    let path = path.as_ref();
    let staging = sibling(path, "migrating")?;
    let kept_at = sibling(path, &format!("format-{READ_ONLY_FORMAT_VERSION}"))?;
    let io = |doing: &'static str| {
        move |source| MigrateError::Io {
            path: path.to_path_buf(),
            doing,
            source,
        }
    };
    if staging.join(MIGRATED_MARKER).is_file() {
        if path.exists() {
            if kept_at.exists() {
                return Err(MigrateError::KeptPathTaken { kept_at });
            }
            std::fs::rename(path, &kept_at).map_err(io("keeping the old store"))?;
        }
        put_in_place(path, &staging).map_err(io("renaming the new store into place"))?;
        return Ok(Migration::Finished { kept_at });
    }
    let options = SledOptions::new().existing_only().one_pass();
    let old = SledStore::<E>::open_with(path, options)?;
    if !old.is_read_only() {
        // A crash after the renames may have left the mark in the store: it means nothing now.
        let _ = std::fs::remove_file(path.join(MIGRATED_MARKER));
        return Ok(Migration::AlreadyCurrent);
    }
    if kept_at.exists() {
        return Err(MigrateError::KeptPathTaken { kept_at });
    }
    let storage_error = |doing: &'static str| {
        move |source| MigrateError::Storage {
            path: path.to_path_buf(),
            doing,
            source,
        }
    };
    let report = old.verify().map_err(storage_error("verifying it"))?;
    if !report.is_clean() {
        return Err(MigrateError::Damaged {
            path: path.to_path_buf(),
            report: Box::new(report),
        });
    }
    if staging.exists() {
        // An earlier conversion that did not finish: it is written again.
        std::fs::remove_dir_all(&staging).map_err(io("removing an unfinished conversion"))?;
    }
    let from = old.format_version();
    let events = old.head_position().unwrap_or_default();
    let records = {
        let new = SledStorage::open(&staging, ONE_PASS_CACHE_CAPACITY)
            .map_err(storage_error("creating the new store"))?;
        let records = convert(old.storage(), &new, from)?;
        if old.path().join(KEY_FILE).is_file() {
            copy_synced(&old.path().join(KEY_FILE), &staging.join(KEY_FILE))
                .map_err(io("copying the vault's key file"))?;
        }
        let mut batch = WriteBatch::with_capacity(1);
        batch.insert(FORMAT_KEY.to_vec(), encode_format(FORMAT_VERSION));
        new.apply(batch)
            .and_then(|()| new.flush())
            .map_err(storage_error("writing the new store"))?;
        records
    };
    std::fs::write(
        staging.join(MIGRATED_MARKER),
        "service-lifecycle: this conversion is complete; `service-lifecycle migrate` renames it \
         into place\n",
    )
    .and_then(|()| std::fs::File::open(staging.join(MIGRATED_MARKER))?.sync_all())
    .and_then(|()| sync_directory(&staging))
    .map_err(io("marking the conversion complete"))?;
    drop(old);
    std::fs::rename(path, &kept_at).map_err(io("keeping the old store"))?;
    put_in_place(path, &staging).map_err(io("renaming the new store into place"))?;
    let report = SledStore::<E>::open_with(path, SledOptions::new().existing_only())?
        .verify()
        .map_err(storage_error("verifying the new store"))?;
    if !report.is_clean() {
        return Err(MigrateError::Damaged {
            path: path.to_path_buf(),
            report: Box::new(report),
        });
    }
    Ok(Migration::Converted {
        from,
        events,
        records,
        kept_at,
    })
}

/// Copies every record of `old` (in format `from`) into `new`, as the current format has it.
fn convert<S: Storage>(old: &S, new: &SledStorage, from: u32) -> Result<u64, MigrateError> {
    let failed = |doing: &'static str| {
        let path = new.path().to_path_buf();
        move |source| MigrateError::Storage {
            path,
            doing,
            source,
        }
    };
    let mut records = 0;
    let mut batch = WriteBatch::with_capacity(COPY_BATCH);
    for item in old
        .range(&[], &[u8::MAX])
        .map_err(failed("reading the old store"))?
    {
        let (key, value) = item.map_err(failed("reading the old store"))?;
        let (key, value) = (key.as_ref(), value.as_ref());
        if key == FORMAT_KEY || key == HEAD_KEY {
            continue;
        }
        let value = if key.first() == Some(&STREAM_PREFIX) {
            let (number, _) = decode_stream_number(key, value, from).map_err(|damage| {
                failed("reading the old store")(StorageError::Corrupted(format!(
                    "stream head {}: {damage}",
                    String::from_utf8_lossy(&key[1..])
                )))
            })?;
            encode_stream_number(key, number)
        } else {
            value.to_vec()
        };
        batch.insert(key.to_vec(), value);
        records += 1;
        if batch.len() == COPY_BATCH {
            new.apply(std::mem::replace(
                &mut batch,
                WriteBatch::with_capacity(COPY_BATCH),
            ))
            .map_err(failed("writing the new store"))?;
        }
    }
    if !batch.is_empty() {
        new.apply(batch).map_err(failed("writing the new store"))?;
    }
    Ok(records)
}

/// `NAME.suffix` beside `path` (`NAME` is its last component).
fn sibling(path: &Path, suffix: &str) -> Result<PathBuf, MigrateError> {
    let name = path.file_name().ok_or_else(|| MigrateError::NoName {
        path: path.to_path_buf(),
    })?;
    let mut name = name.to_os_string();
    name.push(".");
    name.push(suffix);
    Ok(path.with_file_name(name))
}

/// Renames the complete conversion `staging` to `path` and removes its mark.
fn put_in_place(path: &Path, staging: &Path) -> std::io::Result<()> {
    std::fs::rename(staging, path)?;
    if let Some(parent) = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        sync_directory(parent)?;
    }
    std::fs::remove_file(path.join(MIGRATED_MARKER))
}

fn copy_synced(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::copy(from, to)?;
    std::fs::File::open(to)?.sync_all()
}
