//! Creating a store so that a crash can never leave what looks like a damaged one.
//!
//! sled creates its files when it opens a directory, and the store's format record is written
//! after that: a crash in between leaves a database without a store in it, which reads exactly
//! like a database that lost its contents (damaged). So creation first writes a marker file,
//! `creating`, and removes it only once the format record is flushed. A directory holding the
//! marker is a creation that did not finish: opening it for writing creates the store again, and
//! a reading command is told that there is no store yet, never that one is damaged.

use std::path::Path;

use crate::codec::{encode_format, FORMAT_KEY, FORMAT_VERSION};
use crate::storage::{Storage, StorageError, WriteBatch};

/// The marker file's name in the store's directory.
pub(crate) const CREATING_MARKER: &str = "creating";

/// Whether `path` holds the marker of a creation that has not finished.
pub(crate) fn creation_unfinished(path: &Path) -> bool {
    path.join(CREATING_MARKER).is_file()
}

/// Writes the marker in `path` (made if missing) and syncs it, before sled creates its files.
pub(crate) fn begin_creation(path: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(path)?;
    std::fs::write(
        path.join(CREATING_MARKER),
        "service-lifecycle: this store was being created and its creation has not finished; \
         opening it again to write creates it anew (it holds nothing yet)\n",
    )?;
    std::fs::File::open(path.join(CREATING_MARKER))?.sync_all()?;
    sync_directory(path)
}

/// Removes what the engine (sled or redb) wrote of a creation that did not finish (its marker is there, so nothing of
/// value is), keeping the marker, so that the creation starts again.
pub(crate) fn restart_creation(path: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(path)?.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let sleds = name == "conf"
            || name == "db"
            || name == "blobs"
            || name.starts_with("snap.")
            || name == crate::redb_storage::REDB_FILE;
        if !sleds {
            continue;
        }
        if entry.path().is_dir() {
            std::fs::remove_dir_all(entry.path())?;
        } else {
            std::fs::remove_file(entry.path())?;
        }
    }
    sync_directory(path)
}

/// Removes the marker, if there is one, once the store's first records are flushed.
pub(crate) fn finish_creation(path: &Path) -> std::io::Result<()> {
    if !creation_unfinished(path) {
        return Ok(());
    }
    std::fs::remove_file(path.join(CREATING_MARKER))?;
    sync_directory(path)
}

/// Syncs directory `path`, so that the names created or removed in it are on disk.
pub(crate) fn sync_directory(path: &Path) -> std::io::Result<()> {
    std::fs::File::open(path)?.sync_all()
}

/// Writes the record of a new, empty store (its format) and flushes it.
pub(crate) fn initialize<S: Storage>(storage: &S) -> Result<(), StorageError> {
    let mut batch = WriteBatch::with_capacity(1);
    batch.insert(FORMAT_KEY.to_vec(), encode_format(FORMAT_VERSION));
    storage.apply(batch)?;
    storage.flush()
}
