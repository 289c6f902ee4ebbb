//! The repository's state cache: folded states of recently used streams, so that a command on a
//! hot stream does not replay it. Bounded by a number of states and by an estimate of the bytes
//! they hold; least recently used entries are evicted in halves.

use std::sync::{Arc, Mutex, PoisonError};

use foldhash::{HashMap as FastMap, HashMapExt};

use crate::ids::StreamId;

/// Folded states of recently used streams.
pub(crate) struct StateCache<S> {
    capacity: usize,
    /// The most bytes the cached states may hold, by `size`'s estimate.
    budget: usize,
    size: fn(&S) -> usize,
    entries: Mutex<CacheEntries<S>>,
}

struct CacheEntries<S> {
    /// Stream to its slot in `slots`.
    index: FastMap<StreamId, usize>,
    slots: Vec<CachedState<S>>,
    /// A logical clock for least-recently-used eviction.
    tick: u64,
    /// The estimated bytes of every cached entry.
    bytes: usize,
}

struct CachedState<S> {
    stream: StreamId,
    /// `None` while a command holds the state (see [`StateCache::take`]).
    state: Option<Arc<S>>,
    version: u64,
    last_used: u64,
    /// The entry's estimated bytes: its state's, its stream name's and the slot's.
    bytes: usize,
}

/// What an entry costs besides its state: the slot, the index entry and the stream name's
/// allocation, roughly.
fn entry_overhead<S>(stream: &StreamId) -> usize {
    std::mem::size_of::<CachedState<S>>()
        + 2 * std::mem::size_of::<StreamId>()
        + stream.as_str().len()
        + 16
}

/// Where a taken state came from, so putting it back needs no second lookup.
#[derive(Clone, Copy)]
pub(crate) struct CacheTicket(usize);

impl<S> StateCache<S> {
    /// A cache of at most `capacity` states holding at most `budget` bytes by `size`'s estimate.
    pub(crate) fn new(capacity: usize, budget: usize, size: fn(&S) -> usize) -> Self {
        Self {
            capacity,
            budget,
            size,
            entries: Mutex::new(CacheEntries {
                index: FastMap::new(),
                slots: Vec::new(),
                tick: 0,
                bytes: 0,
            }),
        }
    }

    /// The estimated bytes the cached states hold.
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> usize {
        self.lock().bytes
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CacheEntries<S>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().slots.len()
    }

    pub(crate) fn get(&self, stream: &StreamId) -> Option<(Arc<S>, u64)> {
        let mut entries = self.lock();
        entries.tick += 1;
        let tick = entries.tick;
        let slot = *entries.index.get(stream)?;
        let entry = entries.slots.get_mut(slot)?;
        entry.last_used = tick;
        entry
            .state
            .as_ref()
            .map(|state| (Arc::clone(state), entry.version))
    }

    /// Takes a stream's state out, so the caller holds the only reference and can update it in
    /// place. Another command on the same stream meanwhile loads from the store.
    pub(crate) fn take(&self, stream: &StreamId) -> Option<(Arc<S>, u64, CacheTicket)> {
        let mut entries = self.lock();
        let slot = *entries.index.get(stream)?;
        let entry = entries.slots.get_mut(slot)?;
        entry
            .state
            .take()
            .map(|state| (state, entry.version, CacheTicket(slot)))
    }

    /// Stores a state unless a newer one is already cached; `ticket` (from [`take`](Self::take))
    /// finds the slot without hashing when it still holds the stream.
    pub(crate) fn put(
        &self,
        stream: &StreamId,
        state: Arc<S>,
        version: u64,
        ticket: Option<CacheTicket>,
    ) {
        let bytes = (self.size)(&state) + entry_overhead::<S>(stream);
        let mut entries = self.lock();
        entries.tick += 1;
        let tick = entries.tick;
        let slot = match ticket {
            Some(CacheTicket(slot))
                if entries
                    .slots
                    .get(slot)
                    .is_some_and(|entry| entry.stream == *stream) =>
            {
                Some(slot)
            }
            _ => entries.index.get(stream).copied(),
        };
        if bytes > self.budget {
            // A state larger than the whole budget is not kept, and evicts nothing else.
            if let Some(entry) = slot.and_then(|slot| entries.slots.get_mut(slot)) {
                entry.state = None;
                entry.version = 0;
                let before = std::mem::replace(&mut entry.bytes, 0);
                entries.bytes -= before;
            }
            return;
        }
        if let Some(entry) = slot.and_then(|slot| entries.slots.get_mut(slot)) {
            entry.last_used = tick;
            if entry.state.is_none() || entry.version <= version {
                entry.state = Some(state);
                entry.version = version;
                let before = std::mem::replace(&mut entry.bytes, bytes);
                entries.bytes = entries.bytes + bytes - before;
            }
        } else {
            if entries.slots.len() >= self.capacity {
                entries.evict_older_half();
            }
            let slot = entries.slots.len();
            entries.slots.push(CachedState {
                stream: stream.clone(),
                state: Some(state),
                version,
                last_used: tick,
                bytes,
            });
            entries.bytes += bytes;
            entries.index.insert(stream.clone(), slot);
        }
        while entries.bytes > self.budget && !entries.slots.is_empty() {
            entries.evict_older_half();
        }
    }
}

impl<S> CacheEntries<S> {
    /// Drops the least recently used half (at least one entry): amortised O(log n) per
    /// insertion.
    fn evict_older_half(&mut self) {
        let mut ages: Vec<u64> = self.slots.iter().map(|entry| entry.last_used).collect();
        let middle = ages.len() / 2;
        let (_, &mut cutoff, _) = ages.select_nth_unstable(middle);
        self.slots.retain(|entry| entry.last_used > cutoff);
        self.index.clear();
        self.bytes = 0;
        for (slot, entry) in self.slots.iter().enumerate() {
            self.index.insert(entry.stream.clone(), slot);
            self.bytes += entry.bytes;
        }
    }
}
