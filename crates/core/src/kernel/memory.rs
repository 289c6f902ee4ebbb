//! The in-memory event store: the default store of tests and examples, and fast enough to run a
//! business day's load in a benchmark.
//!
//! # How it is built
//! Events are kept as typed envelopes, never serialized. Each stream holds its envelopes in an
//! append-only vector whose elements never move ([`boxcar::Vec`]), so a reader borrows them in
//! place: folding a stream costs no copy, no allocation and no lock per event. The global log is a
//! second append-only vector of (stream, index) pairs in commit order.
//!
//! Appends are serialized by one writer lock, which is what makes versions and positions contiguous
//! and commit order equal to position order. The writer publishes an append by storing the stream's
//! new version and the new head position *after* writing every event of it; readers read those
//! watermarks first and never look beyond them, so a multi-event append is seen whole or not at all.
//! Readers take no lock except a short one to look a stream's name up.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use super::envelope::{Envelope, NewEvent};
use super::event::Event;
use super::ids::{EventId, StreamId};
use super::store::{
    classify_retry, validate_append, AppendError, AppendResult, CheckpointError, CheckpointStore,
    CommitNotifier, EventLocation, EventRef, EventStore, ExpectedVersion, ReadError, StoredAppend,
};

/// An event store held in memory. Cloning it gives another handle to the same store.
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
            .field("streams", &self.inner.streams.count())
            .field("head", &self.inner.head.load(Ordering::Acquire))
            .finish()
    }
}

impl<E> Default for MemoryStore<E> {
    fn default() -> Self {
        Self::new()
    }
}

struct Inner<E> {
    /// Every stream ever written, by index. Never shrinks; elements never move.
    streams: boxcar::Vec<StreamRecord<E>>,
    /// Stream name to index, for readers.
    stream_index: RwLock<HashMap<StreamId, usize>>,
    /// The global log: entry `p - 1` locates position `p`.
    log: boxcar::Vec<LogEntry>,
    /// The newest committed position, published after the whole append is written.
    head: AtomicU64,
    writer: Mutex<Writer>,
    checkpoints: Mutex<HashMap<String, u64>>,
    commits: CommitSignal,
}

struct StreamRecord<E> {
    events: boxcar::Vec<Envelope<E>>,
    /// The committed version, published after the whole append is written.
    version: AtomicU64,
}

#[derive(Clone, Copy)]
struct LogEntry {
    stream: usize,
    index: usize,
}

/// What only the writer touches, under the writer lock.
#[derive(Default)]
struct Writer {
    /// The writer's own copy of the stream index, so appends never wait for readers' lock.
    streams: HashMap<StreamId, usize>,
    /// Every stored event id: where it is and the append that wrote it.
    event_ids: HashMap<EventId, IdEntry>,
}

#[derive(Clone, Copy)]
struct IdEntry {
    stream: usize,
    index: usize,
    batch: AppendResult,
}

/// Wakes readers waiting for new commits; costs the writer one atomic load when nobody waits.
#[derive(Default)]
struct CommitSignal {
    waiters: AtomicUsize,
    lock: Mutex<()>,
    condvar: Condvar,
}

impl<E> MemoryStore<E> {
    /// An empty store.
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Inner {
                streams: boxcar::Vec::new(),
                stream_index: RwLock::new(HashMap::new()),
                log: boxcar::Vec::new(),
                head: AtomicU64::new(0),
                writer: Mutex::new(Writer::default()),
                checkpoints: Mutex::new(HashMap::new()),
                commits: CommitSignal::default(),
            }),
        }
    }

    fn stream_slot(&self, stream: &StreamId) -> Option<usize> {
        let index = self
            .inner
            .stream_index
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        index.get(stream).copied()
    }

    /// The envelope at `(stream, index)`, when the writer has published it.
    fn envelope(&self, stream: usize, index: usize) -> Option<&Envelope<E>> {
        self.inner.streams.get(stream)?.events.get(index)
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
        let inner = &*self.inner;
        // A panic while holding the lock cannot leave a half-published append (the watermarks
        // are stored last), so a poisoned lock is safe to keep using.
        let mut writer = inner.writer.lock().unwrap_or_else(PoisonError::into_inner);

        let retry = classify_retry(stream, &events, |index| {
            Ok(writer
                .event_ids
                .get(&events[index].event_id)
                .and_then(|entry| {
                    self.envelope(entry.stream, entry.index)
                        .map(|envelope| StoredAppend {
                            envelope: Cow::Borrowed(envelope),
                            batch: entry.batch,
                        })
                }))
        })?;
        if let Some(original) = retry {
            return Ok(original);
        }

        let slot = writer.streams.get(stream).copied();
        let current_version = match slot {
            Some(slot) => inner.streams[slot].version.load(Ordering::Relaxed),
            None => 0,
        };
        expected.check(stream, current_version)?;

        let slot = match slot {
            Some(slot) => slot,
            None => {
                let slot = inner.streams.push(StreamRecord {
                    events: boxcar::Vec::new(),
                    version: AtomicU64::new(0),
                });
                writer.streams.insert(stream.clone(), slot);
                inner
                    .stream_index
                    .write()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(stream.clone(), slot);
                slot
            }
        };
        let record = &inner.streams[slot];
        let head = inner.head.load(Ordering::Relaxed);
        let count = events.len() as u64;
        let batch = AppendResult {
            first_version: current_version + 1,
            last_version: current_version + count,
            first_position: head + 1,
            last_position: head + count,
        };
        writer.event_ids.reserve(events.len());
        for (offset, new_event) in (0u64..).zip(events) {
            let event_id = new_event.event_id;
            let envelope = new_event.into_envelope(
                stream.clone(),
                batch.first_version + offset,
                batch.first_position + offset,
            );
            let index = record.events.push(envelope);
            inner.log.push(LogEntry {
                stream: slot,
                index,
            });
            writer.event_ids.insert(
                event_id,
                IdEntry {
                    stream: slot,
                    index,
                    batch,
                },
            );
        }
        // Publish: the stream's version first, then the head, so a reader that sees a position
        // also sees its stream's version.
        record.version.store(batch.last_version, Ordering::Release);
        inner.head.store(batch.last_position, Ordering::SeqCst);
        drop(writer);
        inner.commits.notify();
        Ok(batch)
    }

    fn read_stream(
        &self,
        stream: &StreamId,
        from_version: u64,
    ) -> Result<Self::StreamEvents<'_>, ReadError> {
        let record = self
            .stream_slot(stream)
            .and_then(|slot| self.inner.streams.get(slot));
        let end = record.map_or(0, |record| record.version.load(Ordering::Acquire) as usize);
        Ok(StreamEvents {
            record,
            next: from_version.max(1) as usize - 1,
            end,
        })
    }

    fn read_all(&self, from_position: u64) -> Result<Self::AllEvents<'_>, ReadError> {
        let end = self.inner.head.load(Ordering::Acquire) as usize;
        Ok(AllEvents {
            store: self,
            next: from_position.max(1) as usize - 1,
            end,
        })
    }

    fn stream_version(&self, stream: &StreamId) -> Result<u64, ReadError> {
        Ok(self
            .stream_slot(stream)
            .and_then(|slot| self.inner.streams.get(slot))
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
            .and_then(|entry| self.envelope(entry.stream, entry.index))
            .map(|envelope| EventLocation {
                stream_id: envelope.stream_id.clone(),
                stream_version: envelope.stream_version,
                position: envelope.position,
            }))
    }
}

/// The events of one stream, borrowed from a [`MemoryStore`].
pub struct StreamEvents<'a, E> {
    record: Option<&'a StreamRecord<E>>,
    next: usize,
    end: usize,
}

impl<'a, E: Clone> Iterator for StreamEvents<'a, E> {
    type Item = Result<EventRef<'a, E>, ReadError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.end {
            return None;
        }
        let envelope = self.record?.events.get(self.next)?;
        self.next += 1;
        Some(Ok(Cow::Borrowed(envelope)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let remaining = self.end.saturating_sub(self.next);
        (remaining, Some(remaining))
    }
}

/// Every event in commit order, borrowed from a [`MemoryStore`].
pub struct AllEvents<'a, E> {
    store: &'a MemoryStore<E>,
    next: usize,
    end: usize,
}

impl<'a, E: Clone> Iterator for AllEvents<'a, E> {
    type Item = Result<EventRef<'a, E>, ReadError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.end {
            return None;
        }
        let entry = *self.store.inner.log.get(self.next)?;
        self.next += 1;
        let envelope = self.store.envelope(entry.stream, entry.index)?;
        Some(Ok(Cow::Borrowed(envelope)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let remaining = self.end.saturating_sub(self.next);
        (remaining, Some(remaining))
    }
}

impl CommitSignal {
    fn notify(&self) {
        if self.waiters.load(Ordering::SeqCst) > 0 {
            let _guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
            self.condvar.notify_all();
        }
    }
}

impl<E> CommitNotifier for MemoryStore<E> {
    fn wait_for_commit(&self, after_position: u64, timeout: Duration) -> Result<u64, ReadError> {
        let inner = &*self.inner;
        let deadline = Instant::now() + timeout;
        inner.commits.waiters.fetch_add(1, Ordering::SeqCst);
        let mut guard = inner
            .commits
            .lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let head = loop {
            let head = inner.head.load(Ordering::SeqCst);
            let now = Instant::now();
            if head > after_position || now >= deadline {
                break head;
            }
            guard = inner
                .commits
                .condvar
                .wait_timeout(guard, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        };
        drop(guard);
        inner.commits.waiters.fetch_sub(1, Ordering::SeqCst);
        Ok(head)
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
}

#[cfg(test)]
mod tests;
