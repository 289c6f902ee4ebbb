//! [`AtomicImport`] for the sled store: an import marker, runs written but not published, and a
//! rollback that opening the store runs after a crash.
//!
//! Beginning an import writes the marker `Mimport` (the global head before the import) and
//! flushes it. Each run is then an ordinary atomic batch, not flushed and not published to
//! read-all. Committing removes the marker and flushes; since sled recovers a prefix of its
//! log, a crash leaves either the marker with some runs after it, or all runs without it. Undoing
//! (a failed feed, or opening a store that holds a marker) removes the runs from the newest down,
//! one atomic batch per slice of the log, each leaving a store that ends at an earlier position;
//! the last batch restores the head and removes the marker. A crash during the rollback leaves
//! the marker, so the next open finishes it.

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use service_lifecycle_kernel::store::validate_append;
use service_lifecycle_kernel::{
    AppendError, AtomicImport, AtomicImportError, Event, ExpectedVersion, ImportSink, NewEvent,
    StreamId,
};

use crate::codec::{
    self, decode_event_record, decode_stream_number, event_id_key, log_key, row_key, GlobalHead,
    FORMAT_VERSION, IMPORT_KEY,
};
use crate::heads::global_head;
use crate::storage::{Storage, StorageError, WriteBatch};
use crate::store::{AppendMode, Durability, SledStore, Writer};

/// How many events one batch of a rollback removes.
const ROLLBACK_SLICE: u64 = 4_096;

/// What opening a store found of an import that never committed, and rolled back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RolledBackImport {
    /// The head the store was rolled back to: its head before the import began.
    pub head: u64,
    /// How many events of the import were removed.
    pub removed_events: u64,
}

impl std::fmt::Display for RolledBackImport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "an import that never finished was rolled back: {} of its events were removed, and the store ends at position {} as it did before the import",
            self.removed_events, self.head
        )
    }
}

/// Reads the import marker, if an import is in progress (or was, when a crash stopped it).
pub(crate) fn import_marker<S: Storage>(storage: &S) -> Result<Option<GlobalHead>, StorageError> {
    let Some(value) = storage.get(IMPORT_KEY)? else {
        return Ok(None);
    };
    GlobalHead::decode_under(IMPORT_KEY, value.as_ref())
        .map(Some)
        .map_err(|damage| StorageError::Corrupted(format!("the import marker: {damage}")))
}

/// Removes every event after `saved.position` (and the streams the import created) and removes
/// the marker; flushes. Returns how many events it removed. The heads follow from the rows.
pub(crate) fn roll_back<S: Storage>(storage: &S, saved: GlobalHead) -> Result<u64, StorageError> {
    let corrupt = |record: String, problem: &dyn std::fmt::Display| {
        StorageError::Corrupted(format!(
            "{record}: {problem} (while rolling an import back)"
        ))
    };
    let mut removed = 0;
    loop {
        let head = global_head(storage, FORMAT_VERSION)
            .map_err(|error| corrupt("the store's heads".into(), &error))?;
        if head.position <= saved.position {
            let mut batch = WriteBatch::with_capacity(1);
            batch.remove(IMPORT_KEY.to_vec());
            storage.apply(batch)?;
            storage.flush()?;
            return Ok(removed);
        }
        let low = head
            .position
            .saturating_sub(ROLLBACK_SLICE - 1)
            .max(saved.position + 1);
        let mut batch = WriteBatch::with_capacity(3 * (head.position - low + 1) as usize);
        // Each stream of the slice, and whether its first event is in it (then it goes too).
        let mut created: HashMap<String, bool> = HashMap::new();
        let mut versions: Vec<(String, u64)> = Vec::new();
        for row in storage.range(&log_key(low), &log_key(head.position + 1))? {
            let (key, value) = row?;
            let record = decode_event_record(key.as_ref(), value.as_ref()).map_err(|damage| {
                let position = codec::key_number(key.as_ref(), 1).unwrap_or_default();
                corrupt(format!("log position {position}"), &damage)
            })?;
            batch.remove(key.as_ref().to_vec());
            batch.remove(event_id_key(record.event_id).to_vec());
            *created.entry(record.stream_id.to_owned()).or_default() |= record.stream_version == 1;
            versions.push((record.stream_id.to_owned(), record.stream_version));
            removed += 1;
        }
        let mut numbers: HashMap<String, u64> = HashMap::new();
        for (stream, created) in &created {
            let key = codec::stream_key_of(stream);
            let value = storage
                .get(&key)?
                .ok_or_else(|| corrupt(format!("stream head of {stream}"), &"it is missing"))?;
            let (number, _) = decode_stream_number(&key, value.as_ref(), FORMAT_VERSION)
                .map_err(|damage| corrupt(format!("stream head of {stream}"), &damage))?;
            numbers.insert(stream.clone(), number);
            if *created {
                batch.remove(key);
            }
        }
        for (stream, version) in versions {
            batch.remove(row_key(numbers[&stream], version).to_vec());
        }
        storage.apply(batch)?;
    }
}

/// Where the runs of an import on a sled store go.
struct SledSink<'a, E, S: Storage> {
    store: &'a SledStore<E, S>,
}

impl<E: Event, S: Storage> ImportSink<E> for SledSink<'_, E, S> {
    fn append_run(
        &mut self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent<E>>,
    ) -> Result<(), AppendError> {
        validate_append(stream, &events)?;
        let bodies = self.store.encode_events(stream, &events)?;
        let mut writer = self.store.lock_writer();
        self.store
            .append_locked(
                &mut writer,
                stream,
                expected,
                &events,
                bodies,
                AppendMode::ImportRun,
            )
            .map(drop)
    }
}

/// Undoes the import if the feed panics.
struct UndoOnUnwind<'a, E: Event, S: Storage> {
    store: &'a SledStore<E, S>,
    armed: bool,
}

impl<E: Event, S: Storage> Drop for UndoOnUnwind<'_, E, S> {
    fn drop(&mut self) {
        if self.armed {
            // Nobody to report to while unwinding: if this fails, the marker stays and the next
            // open rolls the import back; this handle keeps refusing appends meanwhile.
            let _ = self.store.undo_import();
        }
    }
}

impl<E: Event, S: Storage> SledStore<E, S> {
    /// Rolls the running import back under the writer lock; the handle takes appends again
    /// only if that succeeds.
    fn undo_import(&self) -> Result<u64, StorageError> {
        let mut writer = self.lock_writer();
        self.undo_locked(&mut writer)
    }

    fn undo_locked(&self, writer: &mut Writer) -> Result<u64, StorageError> {
        let Some(saved) = writer.importing else {
            return Ok(0);
        };
        writer.mark_stale();
        let removed = roll_back(&self.inner.storage, saved)?;
        writer.importing = None;
        Ok(removed)
    }

    /// Removes the marker and publishes the import.
    fn commit_import(&self) -> Result<(), StorageError> {
        let inner = &*self.inner;
        let mut writer = self.lock_writer();
        let mut batch = WriteBatch::with_capacity(1);
        batch.remove(IMPORT_KEY.to_vec());
        inner.storage.apply(batch)?;
        let ticket = inner.flushes.written();
        if inner.durability == Durability::Flush {
            inner.flushes.make_durable(&inner.storage, ticket)?;
        }
        writer.importing = None;
        inner.head.store(writer.head.position, Ordering::Release);
        drop(writer);
        inner.commits.notify();
        Ok(())
    }

    fn begin_import(&self) -> Result<(), AtomicImportErrorKind> {
        self.check_writable()
            .map_err(|error| AtomicImportErrorKind::Store(Box::new(error)))?;
        let inner = &*self.inner;
        let mut writer = self.lock_writer();
        if writer.importing.is_some() {
            return Err(AtomicImportErrorKind::InProgress);
        }
        writer
            .refresh(&inner.storage)
            .map_err(|error| AtomicImportErrorKind::Store(Box::new(error)))?;
        let saved = writer.head;
        writer.importing = Some(saved);
        let mut batch = WriteBatch::with_capacity(1);
        batch.insert(IMPORT_KEY.to_vec(), saved.encode_under(IMPORT_KEY));
        let written = inner
            .storage
            .apply(batch)
            .and_then(|()| inner.storage.flush());
        if let Err(error) = written {
            // The marker may be in sled's memory: remove it, or the next crash would roll back
            // appends made after this failed begin.
            return match self.undo_locked(&mut writer) {
                Ok(_) => Err(AtomicImportErrorKind::Store(Box::new(error))),
                Err(_) => Err(AtomicImportErrorKind::StoreNotUndone(Box::new(error))),
            };
        }
        Ok(())
    }
}

/// Why beginning an import failed, before the feed's error type is known.
enum AtomicImportErrorKind {
    InProgress,
    Store(Box<dyn std::error::Error + Send + Sync>),
    StoreNotUndone(Box<dyn std::error::Error + Send + Sync>),
}

impl<E: Event, S: Storage> AtomicImport<E> for SledStore<E, S> {
    fn import_atomically<T, X>(
        &self,
        feed: impl FnOnce(&mut dyn ImportSink<E>) -> Result<T, X>,
    ) -> Result<T, AtomicImportError<X>> {
        self.begin_import().map_err(|kind| match kind {
            AtomicImportErrorKind::InProgress => AtomicImportError::InProgress,
            AtomicImportErrorKind::Store(source) => AtomicImportError::Store {
                during: "began",
                source,
                undone: true,
            },
            AtomicImportErrorKind::StoreNotUndone(source) => AtomicImportError::Store {
                during: "began",
                source,
                undone: false,
            },
        })?;
        let mut guard = UndoOnUnwind {
            store: self,
            armed: true,
        };
        let mut sink = SledSink { store: self };
        let outcome = feed(&mut sink);
        guard.armed = false;
        match outcome {
            Err(error) => match self.undo_import() {
                Ok(_) => Err(AtomicImportError::Feed(error)),
                Err(source) => Err(AtomicImportError::FeedNotUndone {
                    feed: error,
                    source: Box::new(source),
                }),
            },
            Ok(value) => match self.commit_import() {
                Ok(()) => Ok(value),
                Err(error) => {
                    let undone = self.undo_import().is_ok();
                    Err(AtomicImportError::Store {
                        during: "committed",
                        source: Box::new(error),
                        undone,
                    })
                }
            },
        }
    }
}
