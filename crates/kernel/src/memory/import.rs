//! [`AtomicImport`] for the memory store: the runs are checked as they come, kept aside, and
//! appended together once the feed succeeds, so a failed feed leaves the store as it was.

use std::collections::HashSet;

use foldhash::{HashMap as FastMap, HashMapExt};

use super::{capacity_exceeded, MemoryStore, StreamArena};
use crate::atomic_import::{AtomicImport, AtomicImportError, ImportSink};
use crate::envelope::NewEvent;
use crate::event::Event;
use crate::ids::{EventId, StreamId};
use crate::store::validate_append;
use crate::{AppendError, EventStore, ExpectedVersion};

/// Clears the store's "import in progress" mark when the import ends, however it ends (a
/// panicking feed included).
struct ImportMark<'a, E: Event> {
    store: &'a MemoryStore<E>,
}

impl<E: Event> Drop for ImportMark<'_, E> {
    fn drop(&mut self) {
        self.store.lock_writer().importing = false;
    }
}

/// The runs of an import, checked and kept aside until it commits.
struct PendingRuns<'a, E: Event> {
    store: &'a MemoryStore<E>,
    runs: Vec<(StreamId, u64, Vec<NewEvent<E>>)>,
    /// Each stream's version once the runs so far are appended.
    versions: FastMap<StreamId, u64>,
    event_ids: HashSet<EventId>,
    new_streams: usize,
}

impl<E: Event> ImportSink<E> for PendingRuns<'_, E> {
    fn append_run(
        &mut self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent<E>>,
    ) -> Result<(), AppendError> {
        validate_append(stream, &events)?;
        let writer = self.store.lock_writer();
        let current = match self.versions.get(stream) {
            Some(version) => *version,
            None => {
                let stored = self.store.stream_version(stream).unwrap_or(0);
                if !writer.streams.contains_key(stream) {
                    self.new_streams += 1;
                    if writer.streams.len() + self.new_streams > u32::MAX as usize {
                        return Err(capacity_exceeded(stream, "too many streams"));
                    }
                }
                stored
            }
        };
        expected.check(stream, current)?;
        let last = current + events.len() as u64;
        if last > StreamArena::<E>::CAPACITY as u64 {
            return Err(capacity_exceeded(stream, "the stream is too long"));
        }
        for event in &events {
            if writer.event_ids.contains_key(&event.event_id)
                || !self.event_ids.insert(event.event_id)
            {
                return Err(AppendError::DuplicateEventId {
                    stream: stream.clone(),
                    event_id: event.event_id,
                });
            }
        }
        drop(writer);
        self.versions.insert(stream.clone(), last);
        self.runs.push((stream.clone(), current, events));
        Ok(())
    }
}

impl<E: Event> AtomicImport<E> for MemoryStore<E> {
    fn import_atomically<T, X>(
        &self,
        feed: impl FnOnce(&mut dyn ImportSink<E>) -> Result<T, X>,
    ) -> Result<T, AtomicImportError<X>> {
        {
            let mut writer = self.lock_writer();
            if writer.importing {
                return Err(AtomicImportError::InProgress);
            }
            writer.importing = true;
        }
        let _mark = ImportMark { store: self };
        let mut pending = PendingRuns {
            store: self,
            runs: Vec::new(),
            versions: FastMap::new(),
            event_ids: HashSet::new(),
            new_streams: 0,
        };
        let value = feed(&mut pending).map_err(AtomicImportError::Feed)?;
        let mut writer = self.lock_writer();
        // Every run was checked against the store, which took no other append since: appending
        // them cannot fail.
        for (stream, version, events) in pending.runs {
            self.append_locked(&mut writer, &stream, ExpectedVersion::at(version), events)
                .map_err(|error| AtomicImportError::Store {
                    during: "committed",
                    source: Box::new(error),
                    undone: false,
                })?;
        }
        Ok(value)
    }
}
