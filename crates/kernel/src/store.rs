//! For store implementers: the checks and decisions every [`EventStore`](crate::EventStore) must
//! make alike, shared so that all stores answer alike (the conformance suite of the test kit checks
//! that they do).
//!
//! - [`validate_append`]: what an append is refused for before the store looks at its data.
//! - [`classify_retry`] and [`StoredAppend`]: whether an append is new, an exact retry or a
//!   conflicting reuse of event ids.
//! - [`CommitSignal`]: wakes readers blocked in
//!   [`CommitNotifier::wait_for_commit`](crate::CommitNotifier::wait_for_commit).

use std::collections::HashSet;
use std::sync::atomic::{fence, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::envelope::NewEvent;
use crate::event::Event;
use crate::event_store::{AppendError, AppendResult, EventRef};
use crate::ids::StreamId;
use crate::payload::validate_static_event_type;

/// Wakes readers waiting for new commits, for stores implementing [`CommitNotifier`](crate::CommitNotifier): the writer
/// calls [`notify`](Self::notify) after publishing a new head, which costs it one atomic load when
/// nobody waits; readers call [`wait`](Self::wait).
#[derive(Debug, Default)]
pub struct CommitSignal {
    waiters: AtomicUsize,
    lock: Mutex<()>,
    condvar: Condvar,
}

impl CommitSignal {
    /// A signal nobody waits for yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Wakes every waiter. Call after storing the new head.
    pub fn notify(&self) {
        // Orders the head's store before this load (a waiter does the opposite), so either the
        // waiter sees the new head or this sees the waiter.
        fence(Ordering::SeqCst);
        if self.waiters.load(Ordering::SeqCst) > 0 {
            let _guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
            self.condvar.notify_all();
        }
    }

    /// Blocks until `head` is beyond `after_position` or `timeout` passes; returns `head` then.
    pub fn wait(&self, head: &AtomicU64, after_position: u64, timeout: Duration) -> u64 {
        let deadline = Instant::now() + timeout;
        self.waiters.fetch_add(1, Ordering::SeqCst);
        let mut guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        let head = loop {
            let head = head.load(Ordering::SeqCst);
            let now = Instant::now();
            if head > after_position || now >= deadline {
                break head;
            }
            guard = self
                .condvar
                .wait_timeout(guard, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        };
        drop(guard);
        self.waiters.fetch_sub(1, Ordering::SeqCst);
        head
    }
}

/// Checks what every store must refuse before it looks at its data: an empty append, an invalid
/// event type name, an event id repeated within the append.
pub fn validate_append<E: Event>(
    stream: &StreamId,
    events: &[NewEvent<E>],
) -> Result<(), AppendError> {
    if events.is_empty() {
        return Err(AppendError::Empty {
            stream: stream.clone(),
        });
    }
    // Quadratic search is faster for the small appends commands make; a set for large imports.
    let mut seen = (events.len() > 32).then(|| HashSet::with_capacity(events.len()));
    for (index, new_event) in events.iter().enumerate() {
        let event_type = new_event.event.event_type();
        validate_static_event_type(event_type).map_err(|problem| {
            AppendError::InvalidEventType {
                stream: stream.clone(),
                event_id: new_event.event_id,
                event_type: event_type.to_owned(),
                problem,
            }
        })?;
        let repeated = match &mut seen {
            Some(seen) => !seen.insert(new_event.event_id),
            None => events[..index]
                .iter()
                .any(|earlier| earlier.event_id == new_event.event_id),
        };
        if repeated {
            return Err(AppendError::DuplicateEventId {
                stream: stream.clone(),
                event_id: new_event.event_id,
            });
        }
    }
    Ok(())
}

/// A stored event found under one of an append's ids, with the result of the append that stored it.
#[derive(Debug)]
pub struct StoredAppend<'a, E: Clone> {
    /// The stored event.
    pub envelope: EventRef<'a, E>,
    /// The result of the append that wrote it.
    pub batch: AppendResult,
}

/// Decides whether an append is new or a retry, from what the store holds under its ids.
///
/// `stored(i)` answers for the `i`-th event of the append. Returns `Ok(None)` for a new append,
/// `Ok(Some(original result))` for an exact retry, and the typed error for a partial overlap or a
/// retry with other content. Shared by every store so they all answer alike.
pub fn classify_retry<'a, E: Event>(
    stream: &StreamId,
    events: &[NewEvent<E>],
    mut stored: impl FnMut(usize) -> Result<Option<StoredAppend<'a, E>>, AppendError>,
) -> Result<Option<AppendResult>, AppendError> {
    let mut found = Vec::new();
    for index in 0..events.len() {
        if let Some(existing) = stored(index)? {
            found.push((index, existing));
        }
    }
    let Some((first_index, _)) = found.first() else {
        return Ok(None);
    };
    if found.len() != events.len() {
        return Err(AppendError::PartialRetry {
            stream: stream.clone(),
            first_stored: events[*first_index].event_id,
            stored: found.len(),
            total: events.len(),
        });
    }
    let batch = found[0].1.batch;
    for (index, existing) in &found {
        let new_event = &events[*index];
        let envelope = &existing.envelope;
        let difference = if &envelope.stream_id != stream {
            Some("it is stored in another stream")
        } else if existing.batch != batch
            || batch.len() != events.len() as u64
            || envelope.stream_version != batch.first_version + *index as u64
        {
            Some("the ids were stored by an append with other events or in another order")
        } else if !new_event.same_content_as(envelope) {
            Some("the stored event has other content")
        } else {
            None
        };
        if let Some(difference) = difference {
            return Err(AppendError::IdempotencyMismatch {
                stream: stream.clone(),
                event_id: new_event.event_id,
                existing: format!(
                    "stream {} version {} position {}",
                    envelope.stream_id, envelope.stream_version, envelope.position
                ),
                difference,
            });
        }
    }
    Ok(Some(batch))
}
