//! The in-memory event store: the default store of tests and examples, and fast enough to run a
//! business day's load in a benchmark.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use foldhash::{HashMap as FastMap, HashMapExt};

use crate::arena::{Arena, Cursor};
use crate::envelope::{Envelope, NewEvent};
use crate::event::Event;
use crate::ids::{EventId, StreamId};
use crate::store::{classify_retry, validate_append, CommitSignal, StoredAppend};
use crate::{
    AppendError, AppendResult, CheckpointError, CheckpointStore, CommitNotifier, EventLocation,
    EventRef, EventStore, ExpectedVersion, ReadError, SavedReadModel,
};

/// A stream's events: 8 in the first bucket, doubling, up to 8 × (2²⁴ − 1) ≈ 134 million.
type StreamArena<E> = Arena<Envelope<E>, 3, 24>;
// A stream index must fit the `u32` of a [`Place`].
const _: () = assert!(Arena::<(), 3, 24>::CAPACITY <= u32::MAX as usize);
/// Every stream: 64 in the first bucket, up to 64 × (2³² − 1).
type StreamsArena<E> = Arena<StreamRecord<E>, 6, 32>;

/// An event store held in memory: the default store of tests and examples, and fast enough to
/// run a business day's load in a benchmark. Cloning it gives another handle to the same store.
///
/// # How it is built
/// Events are kept as typed envelopes, never serialized. Each stream holds its envelopes in an
/// append-only arena whose elements never move, so a reader borrows them in place: folding a stream
/// costs no copy, no allocation and no lock per event, and walks memory like a loop over a `Vec`.
/// The global log is a vector of (stream, index) places in commit order, under a read-write lock
/// that readers hold only to copy a page of places out.
///
/// Internal maps hash with foldhash (fast, seeded per process): stream names and event ids are
/// looked up on every append.
///
/// Appends are serialized by one writer lock, which is what makes versions and positions contiguous
/// and commit order equal to position order. The writer publishes an append by storing the stream's
/// new version and the new head position *after* writing every event of it; readers read those
/// watermarks first and never look beyond them, so a multi-event append is seen whole or not at all.
/// Readers take no lock except a short one to look a stream's name up.
pub struct MemoryStore<E> {
    inner: Arc<Inner<E>>,
}

impl<E> Clone for MemoryStore<E> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<E> std::fmt::Debug for MemoryStore<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("head", &self.inner.head.load(Ordering::Acquire))
            .finish_non_exhaustive()
    }
}

impl<E> Default for MemoryStore<E> {
    fn default() -> Self {
        Self::new()
    }
}

struct Inner<E> {
    /// Every stream ever written, by slot. Elements never move.
    streams: StreamsArena<E>,
    /// Stream name to slot, for readers.
    stream_index: RwLock<FastMap<StreamId, u32>>,
    /// The global log: entry `p - 1` locates position `p`. A plain vector under a lock: the writer
    /// pushes under it once per append, and readers copy entries out a page at a time, so neither
    /// holds it for long.
    log: RwLock<Vec<Place>>,
    /// The newest committed position, published after the whole append is written.
    head: AtomicU64,
    writer: Mutex<Writer>,
    checkpoints: Mutex<HashMap<String, u64>>,
    read_models: Mutex<HashMap<String, SavedReadModel>>,
    commits: CommitSignal,
}

struct StreamRecord<E> {
    /// The stream's id as first appended: every envelope of the stream shares its name, so ids
    /// read back compare equal by address (see [`StreamId`]'s equality).
    id: StreamId,
    events: StreamArena<E>,
    /// The committed version, published after the whole append is written.
    version: AtomicU64,
}

/// Where one event is: its stream's slot and its index in the stream (8 bytes, one per event).
/// The arenas' capacities keep both below 2³².
#[derive(Clone, Copy)]
struct Place {
    stream: u32,
    index: u32,
}

/// What only the writer touches, under the writer lock.
struct Writer {
    /// The writer's own copy of the stream index, so appends never wait for readers' lock.
    streams: FastMap<StreamId, u32>,
    /// Every stored event id: where it is and its place in the append that wrote it.
    event_ids: FastMap<EventId, IdEntry>,
    /// Whether an import is running (other appends are refused meanwhile).
    importing: bool,
}

/// Where an event id is stored: 16 bytes, since there is one per event.
#[derive(Clone, Copy)]
struct IdEntry {
    place: Place,
    /// The event's offset in its append.
    offset: u32,
    /// How many events its append held.
    len: u32,
}

impl<E> MemoryStore<E> {
    /// An empty store.
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Inner {
                streams: Arena::new(),
                stream_index: RwLock::new(FastMap::new()),
                log: RwLock::new(Vec::new()),
                head: AtomicU64::new(0),
                writer: Mutex::new(Writer {
                    streams: FastMap::new(),
                    event_ids: FastMap::new(),
                    importing: false,
                }),
                checkpoints: Mutex::new(HashMap::new()),
                read_models: Mutex::new(HashMap::new()),
                commits: CommitSignal::new(),
            }),
        }
    }

    fn stream_record(&self, stream: &StreamId) -> Option<&StreamRecord<E>> {
        let slot = {
            let index = self
                .inner
                .stream_index
                .read()
                .unwrap_or_else(PoisonError::into_inner);
            index.get(stream).copied()
        }?;
        self.inner.streams.get(slot as usize)
    }

    /// The envelope at `place`, when the writer has published it.
    fn envelope(&self, place: Place) -> Option<&Envelope<E>> {
        self.inner
            .streams
            .get(place.stream as usize)?
            .events
            .get(place.index as usize)
    }
}

fn capacity_exceeded(stream: &StreamId, what: &str) -> AppendError {
    AppendError::Storage {
        stream: stream.clone(),
        source: format!("the memory store is full: {what}").into(),
    }
}

impl<E: Event> MemoryStore<E> {
    fn lock_writer(&self) -> std::sync::MutexGuard<'_, Writer> {
        // A panic while holding the lock cannot leave a half-published append (the watermarks
        // are stored last), so a poisoned lock is safe to keep using.
        self.inner
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// An append, under the writer lock.
    fn append_locked(
        &self,
        writer: &mut Writer,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent<E>>,
    ) -> Result<AppendResult, AppendError> {
        let inner = &*self.inner;
        let retry = classify_retry(stream, &events, |index| {
            Ok(writer
                .event_ids
                .get(&events[index].event_id)
                .and_then(|entry| {
                    self.envelope(entry.place).map(|envelope| StoredAppend {
                        batch: AppendResult::containing(
                            envelope.stream_version,
                            envelope.position,
                            entry.offset,
                            entry.len,
                        ),
                        envelope: Cow::Borrowed(envelope),
                    })
                }))
        })?;
        if let Some(original) = retry {
            return Ok(original);
        }

        let slot = writer.streams.get(stream).copied();
        let record = slot.and_then(|slot| inner.streams.get(slot as usize));
        let current_version = record.map_or(0, |record| record.version.load(Ordering::Relaxed));
        expected.check(stream, current_version)?;

        let len = u32::try_from(events.len())
            .map_err(|_| capacity_exceeded(stream, "more than 2^32 - 1 events in one append"))?;
        let (slot, record) = match (slot, record) {
            (Some(slot), Some(record)) => (slot, record),
            _ => {
                let slot = u32::try_from(writer.streams.len())
                    .map_err(|_| capacity_exceeded(stream, "too many streams"))?;
                let fresh = StreamRecord {
                    id: stream.clone(),
                    events: Arena::new(),
                    version: AtomicU64::new(0),
                };
                inner
                    .streams
                    .set(slot as usize, fresh)
                    .map_err(|_| capacity_exceeded(stream, "too many streams"))?;
                let record = inner
                    .streams
                    .get(slot as usize)
                    .ok_or_else(|| capacity_exceeded(stream, "too many streams"))?;
                writer.streams.insert(stream.clone(), slot);
                inner
                    .stream_index
                    .write()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(stream.clone(), slot);
                (slot, record)
            }
        };
        let head = inner.head.load(Ordering::Relaxed);
        let count = u64::from(len);
        // Checked before anything is written, so an append that does not fit writes nothing.
        if current_version + count > StreamArena::<E>::CAPACITY as u64 {
            return Err(capacity_exceeded(stream, "the stream is too long"));
        }
        let batch = AppendResult {
            first_version: current_version + 1,
            last_version: current_version + count,
            first_position: head + 1,
            last_position: head + count,
        };
        writer.event_ids.reserve(events.len());
        let mut log = inner.log.write().unwrap_or_else(PoisonError::into_inner);
        log.reserve(events.len());
        for (offset, new_event) in (0u32..).zip(events) {
            let event_id = new_event.event_id;
            let version = current_version + u64::from(offset) + 1;
            let position = batch.first_position + u64::from(offset);
            // The capacities were checked above, so the index fits and each slot is free.
            let place = Place {
                stream: slot,
                index: (version - 1) as u32,
            };
            let envelope = new_event.into_envelope(record.id.clone(), version, position);
            record
                .events
                .set(place.index as usize, envelope)
                .map_err(|_| capacity_exceeded(stream, "the stream is too long"))?;
            log.push(place);
            writer
                .event_ids
                .insert(event_id, IdEntry { place, offset, len });
        }
        drop(log);
        // Publish: the stream's version first, then the head, so a reader that sees a position
        // also sees its stream's version.
        record.version.store(batch.last_version, Ordering::Release);
        inner.head.store(batch.last_position, Ordering::Release);
        inner.commits.notify();
        Ok(batch)
    }
}

impl<E: Event> EventStore<E> for MemoryStore<E> {
    type StreamEvents<'a> = StreamEvents<'a, E>;
    type AllEvents<'a> = AllEvents<'a, E>;

    fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent<E>>,
    ) -> Result<AppendResult, AppendError> {
        validate_append(stream, &events)?;
        let mut writer = self.lock_writer();
        if writer.importing {
            return Err(AppendError::ImportInProgress {
                stream: stream.clone(),
            });
        }
        self.append_locked(&mut writer, stream, expected, events)
    }

    fn read_stream(
        &self,
        stream: &StreamId,
        from_version: u64,
    ) -> Result<Self::StreamEvents<'_>, ReadError> {
        let start = from_version.max(1) as usize - 1;
        let cursor = self
            .stream_record(stream)
            .map_or_else(Cursor::empty, |record| {
                let end = record.version.load(Ordering::Acquire) as usize;
                record.events.range(start, end)
            });
        Ok(StreamEvents { cursor })
    }

    fn read_all(&self, from_position: u64) -> Result<Self::AllEvents<'_>, ReadError> {
        let end = self.inner.head.load(Ordering::Acquire) as usize;
        let start = from_position.max(1) as usize - 1;
        Ok(AllEvents {
            store: self,
            page: Vec::new(),
            page_at: 0,
            next: start,
            end,
        })
    }

    fn stream_version(&self, stream: &StreamId) -> Result<u64, ReadError> {
        Ok(self
            .stream_record(stream)
            .map_or(0, |record| record.version.load(Ordering::Acquire)))
    }

    fn head_position(&self) -> Result<u64, ReadError> {
        Ok(self.inner.head.load(Ordering::Acquire))
    }

    fn find_event(&self, event_id: EventId) -> Result<Option<EventLocation>, ReadError> {
        let entry = {
            let writer = self
                .inner
                .writer
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            writer.event_ids.get(&event_id).copied()
        };
        Ok(entry
            .and_then(|entry| self.envelope(entry.place))
            .map(|envelope| EventLocation {
                stream_id: envelope.stream_id.clone(),
                stream_version: envelope.stream_version,
                position: envelope.position,
            }))
    }
}

/// The events of one stream, borrowed from a [`MemoryStore`].
pub struct StreamEvents<'a, E> {
    cursor: Cursor<'a, Envelope<E>, 3, 24>,
}

impl<'a, E: Clone> Iterator for StreamEvents<'a, E> {
    type Item = Result<EventRef<'a, E>, ReadError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        self.cursor
            .next()
            .map(|envelope| Ok(Cow::Borrowed(envelope)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.cursor.size_hint()
    }
}

/// How many log entries a read-all copies out per lock.
const LOG_PAGE: usize = 4_096;

/// Every event in commit order, borrowed from a [`MemoryStore`].
pub struct AllEvents<'a, E> {
    store: &'a MemoryStore<E>,
    /// Log entries copied out, for the positions from `next - page_at + 1`.
    page: Vec<Place>,
    page_at: usize,
    /// Index of the next position to yield (position - 1).
    next: usize,
    /// Index one past the head when the read began.
    end: usize,
}

impl<E> AllEvents<'_, E> {
    /// Copies the next page of log entries out, holding the lock only for the copy.
    #[cold]
    fn fill_page(&mut self) {
        let log = self
            .store
            .inner
            .log
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let until = self.end.min(self.next + LOG_PAGE).min(log.len());
        self.page.clear();
        self.page
            .extend_from_slice(log.get(self.next..until).unwrap_or_default());
        self.page_at = 0;
    }
}

impl<'a, E: Clone> Iterator for AllEvents<'a, E> {
    type Item = Result<EventRef<'a, E>, ReadError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.end {
            return None;
        }
        if self.page_at >= self.page.len() {
            self.fill_page();
        }
        let place = *self.page.get(self.page_at)?;
        self.page_at += 1;
        self.next += 1;
        let envelope = self.store.envelope(place)?;
        Some(Ok(Cow::Borrowed(envelope)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let remaining = self.end.saturating_sub(self.next);
        (remaining, Some(remaining))
    }
}

impl<E> CommitNotifier for MemoryStore<E> {
    fn wait_for_commit(&self, after_position: u64, timeout: Duration) -> Result<u64, ReadError> {
        let inner = &*self.inner;
        Ok(inner.commits.wait(&inner.head, after_position, timeout))
    }
}

impl<E: Send + Sync> CheckpointStore for MemoryStore<E> {
    fn load_checkpoint(&self, name: &str) -> Result<u64, CheckpointError> {
        let checkpoints = self
            .inner
            .checkpoints
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Ok(checkpoints.get(name).copied().unwrap_or(0))
    }

    fn save_checkpoint(&self, name: &str, position: u64) -> Result<(), CheckpointError> {
        let mut checkpoints = self
            .inner
            .checkpoints
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        checkpoints.insert(name.to_owned(), position);
        Ok(())
    }

    fn load_read_model(&self, name: &str) -> Result<Option<SavedReadModel>, CheckpointError> {
        let read_models = self
            .inner
            .read_models
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Ok(read_models.get(name).cloned())
    }

    fn save_read_model(&self, name: &str, saved: &SavedReadModel) -> Result<(), CheckpointError> {
        // Both under the read models' lock, so no reader sees one without the other.
        let mut read_models = self
            .inner
            .read_models
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        read_models.insert(name.to_owned(), saved.clone());
        self.save_checkpoint(name, saved.position)
    }
}

mod import;
#[cfg(test)]
mod tests;
