//! The repository: runs commands against aggregates kept in an event store.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::cache::{CacheTicket, StateCache};
use crate::clock::{Clock, SystemClock};
use crate::context::CommandContext;
use crate::decider::Decider;
use crate::envelope::{Causation, Envelope, Metadata, NewEvent};
use crate::event::{Contains, Event};
use crate::ids::{CommandId, EventId, StreamId};
use crate::snapshot::{Snapshot, SnapshotPolicy, SnapshotStore};
use crate::{AppendError, EventStore, ExpectedVersion, ReadError};

/// The outcome of an executed command.
pub struct Executed<D: Decider> {
    /// The events the command recorded, in order (for a replayed command: the ones it recorded
    /// the first time). Empty when the decider had nothing to record.
    pub events: Vec<D::Event>,
    /// The aggregate's state after the command.
    pub state: Arc<D::State>,
    /// The stream's version after the command.
    pub version: u64,
    /// True when the command id had been executed before and nothing was decided or written now.
    pub replayed: bool,
    /// Where and how the events were recorded; `None` when there are none.
    pub recorded: Option<Recorded>,
}

/// Where and how a command's events were recorded: everything their envelopes hold besides the
/// events themselves. Every event of one command shares it; the `i`-th event's id is
/// [`EventId::derived`]`(command_id, i)`, its version `first_version + i`, its position
/// `first_position + i`.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    /// The stream.
    pub stream_id: StreamId,
    /// The command's id (the one given, or a fresh one).
    pub command_id: CommandId,
    /// The first event's stream version.
    pub first_version: u64,
    /// The first event's global position.
    pub first_position: u64,
    /// When the events were recorded.
    pub recorded_at: DateTime<Utc>,
    /// The chain the events belong to.
    pub correlation_id: uuid::Uuid,
    /// Their direct cause.
    pub causation_id: uuid::Uuid,
    /// The command's metadata.
    pub metadata: Metadata,
}

impl<D: Decider> Executed<D> {
    /// The recorded events as envelopes, for a policy that reacts to them
    /// ([`Causation::following`]) or anything else that needs their ids and places. Built on
    /// request, so a caller that only wants the events pays nothing for it.
    pub fn envelopes(&self) -> Vec<Envelope<D::Event>> {
        let Some(recorded) = &self.recorded else {
            return Vec::new();
        };
        (0u32..)
            .zip(&self.events)
            .map(|(index, event)| Envelope {
                event_id: EventId::derived(recorded.command_id, index),
                stream_id: recorded.stream_id.clone(),
                stream_version: recorded.first_version + u64::from(index),
                position: recorded.first_position + u64::from(index),
                recorded_at: recorded.recorded_at,
                correlation_id: recorded.correlation_id,
                causation_id: recorded.causation_id,
                metadata: recorded.metadata.clone(),
                event: event.clone(),
            })
            .collect()
    }
}

// Written out so that `D` itself (usually a unit struct) needs neither `Clone` nor `Debug`.
impl<D: Decider> Clone for Executed<D> {
    fn clone(&self) -> Self {
        Self {
            events: self.events.clone(),
            state: Arc::clone(&self.state),
            version: self.version,
            replayed: self.replayed,
            recorded: self.recorded.clone(),
        }
    }
}

impl<D: Decider> fmt::Debug for Executed<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Executed")
            .field("events", &self.events)
            .field("state", &self.state)
            .field("version", &self.version)
            .field("replayed", &self.replayed)
            .field("recorded", &self.recorded)
            .finish()
    }
}

/// An aggregate's state as loaded from the store.
#[derive(Debug, Clone)]
pub struct Loaded<S> {
    /// The folded state.
    pub state: Arc<S>,
    /// The stream version it reflects (0: the stream does not exist).
    pub version: u64,
}

/// Why an aggregate could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The store failed to read.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// The stream holds an event that is not one of this aggregate's.
    #[error("stream {stream} version {version} holds event type {event_type}, which is not an event of this aggregate")]
    ForeignEvent {
        /// The stream.
        stream: StreamId,
        /// The event's version.
        version: u64,
        /// Its type name.
        event_type: &'static str,
    },
    /// The stream's versions are not contiguous: the store broke its contract.
    #[error("stream {stream} skips from version {previous} to {found}")]
    VersionGap {
        /// The stream.
        stream: StreamId,
        /// The last version folded.
        previous: u64,
        /// The version read next.
        found: u64,
    },
}

/// Why a command was not executed. Whatever the variant, nothing was written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExecuteError<R: std::error::Error + 'static> {
    /// The aggregate rejected the command: the domain rule it breaks.
    #[error("command rejected: {0}")]
    Rejected(#[source] R),
    /// The aggregate could not be loaded.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The store refused the append for a reason other than a lost race.
    #[error(transparent)]
    Append(AppendError),
    /// Every attempt lost the race to another writer of the same stream.
    #[error("stream {stream}: gave up after {attempts} attempts, each losing a race with another writer")]
    TooManyConflicts {
        /// The stream.
        stream: StreamId,
        /// How many times the command was decided.
        attempts: u32,
    },
    /// The command id was already used for a command on another stream.
    #[error("command {command_id} was executed on stream {executed_on}, not on {stream}")]
    CommandIdReused {
        /// The command id.
        command_id: CommandId,
        /// The stream this execution targets.
        stream: StreamId,
        /// The stream the id was executed on.
        executed_on: StreamId,
    },
}

impl<R: std::error::Error + 'static> ExecuteError<R> {
    /// Whether the aggregate rejected the command (a domain rule), as opposed to a failure of the
    /// store, a lost race or a reused command id: a rejection is an answer about the command, the
    /// others say the command could not be decided or kept.
    pub fn is_rejection(&self) -> bool {
        matches!(self, Self::Rejected(_))
    }
}

impl<R: std::error::Error + 'static> From<ReadError> for ExecuteError<R> {
    fn from(error: ReadError) -> Self {
        Self::Load(LoadError::Read(error))
    }
}

/// Runs commands of the aggregate `D` against a store of application events `E`.
///
/// ```
/// use service_lifecycle_kernel::testing::fixture::{Counter, CounterCommand, CounterEvent};
/// use service_lifecycle_kernel::{CommandContext, CommandId, MemoryStore, Repository, StreamId};
///
/// let store = MemoryStore::<CounterEvent>::new();
/// let counters = Repository::<Counter, _, _>::new(store.clone()).with_state_cache(1_000);
/// let stream = StreamId::new("counter-1").unwrap();
/// let context = CommandContext::with_command_id(CommandId::new());
///
/// let first = counters.execute(&stream, &CounterCommand::Increment { by: 2 }, &context).unwrap();
/// assert_eq!(first.state.value, 2);
///
/// // The same command id again: the first result, nothing written.
/// let again = counters.execute(&stream, &CounterCommand::Increment { by: 2 }, &context).unwrap();
/// assert!(again.replayed);
/// assert_eq!(again.version, 1);
/// ```
///
/// # What happens when a command is executed
/// 1. If the command carries a [`CommandId`] that was executed before, the events it produced then
///    are read back and returned; nothing is decided or written again.
/// 2. The aggregate's state is loaded: from the state cache if it holds the stream, else from the
///    latest usable snapshot plus the events after it, else by folding the whole stream.
/// 3. The decider decides. A rejection is returned as [`ExecuteError::Rejected`], after checking
///    that the state it was decided on is current (a cached state may be behind another writer).
/// 4. The events are appended with the version the state was loaded at. If another writer got there
///    first, the state catches up with the new events and the command is decided again, a bounded
///    number of times.
/// 5. The new state goes back into the cache, and a snapshot is saved when the policy says so.
///
/// Every command has an id (the caller's, or a fresh one) and its events' ids are
/// [derived](EventId::derived) from it, so "was this command executed?" is a lookup of its first
/// event id in the store: it survives restarts and works across processes sharing a store, with no
/// separate table to keep in step. It also means [`Executed`] carries the decided events as they are
/// and rebuilds their envelopes only when asked ([`Executed::envelopes`]).
pub struct Repository<D: Decider, E, S> {
    store: S,
    cache: Option<StateCache<D::State>>,
    snapshots: Option<(Arc<dyn SnapshotStore>, SnapshotPolicy)>,
    clock: Arc<dyn Clock>,
    max_attempts: u32,
    snapshot_failures: std::sync::atomic::AtomicU64,
    _types: PhantomData<fn() -> E>,
}

impl<D: Decider, E, S: fmt::Debug> fmt::Debug for Repository<D, E, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Repository")
            .field("store", &self.store)
            .field("cached_states", &self.cache.as_ref().map(StateCache::len))
            .field(
                "snapshots",
                &self.snapshots.as_ref().map(|(_, policy)| *policy),
            )
            .field("max_attempts", &self.max_attempts)
            .finish()
    }
}

/// How many times a command is decided before [`ExecuteError::TooManyConflicts`], by default.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;

impl<D, E, S> Repository<D, E, S>
where
    D: Decider,
    E: Event + Contains<D::Event>,
    S: EventStore<E>,
{
    /// A repository over `store`, with no state cache, no snapshots and the system clock.
    pub fn new(store: S) -> Self {
        Self {
            store,
            cache: None,
            snapshots: None,
            clock: Arc::new(SystemClock),
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            snapshot_failures: std::sync::atomic::AtomicU64::new(0),
            _types: PhantomData,
        }
    }

    /// Keeps the folded states of up to `capacity` streams in memory, so a hot aggregate is not
    /// folded again for every command. When full, the least recently used half is dropped.
    pub fn with_state_cache(mut self, capacity: usize) -> Self {
        self.cache = (capacity > 0).then(|| StateCache::new(capacity, usize::MAX, D::state_size));
        self
    }

    /// Keeps folded states in memory up to about `bytes` (by [`Decider::state_size`]'s estimate
    /// of each state, plus its entry), so the memory the cache holds does not grow with the
    /// number of streams. When over, the least recently used half is dropped.
    pub fn with_state_cache_bytes(mut self, bytes: usize) -> Self {
        self.cache = (bytes > 0).then(|| StateCache::new(usize::MAX, bytes, D::state_size));
        self
    }

    /// Loads from and saves snapshots to `snapshots`, saving per `policy`.
    pub fn with_snapshots(
        mut self,
        snapshots: impl SnapshotStore + 'static,
        policy: SnapshotPolicy,
    ) -> Self {
        self.snapshots = Some((Arc::new(snapshots), policy));
        self
    }

    /// Stamps `recorded_at` from `clock` instead of the system clock.
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Decides a command at most `attempts` times when racing other writers (at least once).
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The store underneath.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// How many snapshots could not be encoded or saved since the repository was made. Commands
    /// do not fail for it (a snapshot is a cache), so this is where it shows.
    pub fn snapshot_failures(&self) -> u64 {
        self.snapshot_failures
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The current state of `stream`, caught up with every committed event.
    pub fn load(&self, stream: &StreamId) -> Result<Loaded<D::State>, LoadError> {
        let (mut state, mut version) = match self.cache.as_ref().and_then(|cache| cache.get(stream))
        {
            Some(cached) => cached,
            None => self.load_from_store(stream)?,
        };
        // Only copy a shared state when there is something to fold into it.
        if self.store.stream_version(stream)? > version {
            version = self.fold_tail(Arc::make_mut(&mut state), stream, version)?;
            if let Some(cache) = &self.cache {
                cache.put(stream, Arc::clone(&state), version, None);
            }
        }
        Ok(Loaded { state, version })
    }

    /// Executes `command` on the aggregate in `stream` (see [`Repository`] for the steps).
    pub fn execute(
        &self,
        stream: &StreamId,
        command: &D::Command,
        context: &CommandContext,
    ) -> Result<Executed<D>, ExecuteError<D::Error>> {
        if let Some(command_id) = context.command_id {
            if let Some(replayed) = self.replay(stream, command_id)? {
                return Ok(replayed);
            }
        }
        let (mut state, mut version, ticket) =
            match self.cache.as_ref().and_then(|cache| cache.take(stream)) {
                Some((state, version, ticket)) => (state, version, Some(ticket)),
                None => {
                    let (mut state, version) = self.load_from_store(stream)?;
                    let version = self.fold_tail(Arc::make_mut(&mut state), stream, version)?;
                    (state, version, None)
                }
            };
        let recorded_at = self.clock.now();
        // Every command has an id: the event ids derive from it, so the envelopes can be rebuilt
        // from `Recorded` and a retry of the same command is recognised by the store.
        let command_id = context
            .command_id
            .unwrap_or_else(|| CommandId::new_at(recorded_at));
        let causation = context
            .causation
            .unwrap_or(Causation::of_command(command_id));
        let mut attempts = 0;
        loop {
            attempts += 1;
            let decision = D::decide(&state, command);
            // An accepted decision is checked by the append's expected version. A rejection or
            // an empty decision writes nothing, so check here that it was not made on a stale
            // cached state; if it was, catch up and decide again.
            if !matches!(&decision, Ok(events) if !events.is_empty()) {
                let current = self.store.stream_version(stream)?;
                if current != version && attempts < self.max_attempts {
                    version = self.fold_tail(Arc::make_mut(&mut state), stream, version)?;
                    continue;
                }
            }
            let events = match decision {
                Ok(events) if events.is_empty() => {
                    self.cache_put(stream, Arc::clone(&state), version, ticket);
                    return Ok(Executed {
                        events,
                        state,
                        version,
                        replayed: false,
                        recorded: None,
                    });
                }
                Ok(events) => events,
                Err(rejection) => {
                    self.cache_put(stream, state, version, ticket);
                    return Err(ExecuteError::Rejected(rejection));
                }
            };
            let new_events = (0u32..)
                .zip(&events)
                .map(|(index, event)| NewEvent {
                    event_id: EventId::derived(command_id, index),
                    recorded_at,
                    correlation_id: causation.correlation_id,
                    causation_id: causation.causation_id,
                    metadata: context.metadata.clone(),
                    event: E::from(event.clone()),
                })
                .collect();
            match self
                .store
                .append(stream, ExpectedVersion::at(version), new_events)
            {
                Ok(result) => {
                    let state_mut = Arc::make_mut(&mut state);
                    for event in &events {
                        D::apply(state_mut, event);
                    }
                    let before = version;
                    version = result.last_version;
                    self.cache_put(stream, Arc::clone(&state), version, ticket);
                    self.snapshot_if_due(stream, &state, before, version);
                    let recorded = Recorded {
                        stream_id: stream.clone(),
                        command_id,
                        first_version: result.first_version,
                        first_position: result.first_position,
                        recorded_at,
                        correlation_id: causation.correlation_id,
                        causation_id: causation.causation_id,
                        metadata: context.metadata.clone(),
                    };
                    return Ok(Executed {
                        events,
                        state,
                        version,
                        replayed: false,
                        recorded: Some(recorded),
                    });
                }
                Err(AppendError::Conflict { .. }) if attempts < self.max_attempts => {
                    version = self.fold_tail(Arc::make_mut(&mut state), stream, version)?;
                }
                Err(AppendError::Conflict { .. }) => {
                    return Err(ExecuteError::TooManyConflicts {
                        stream: stream.clone(),
                        attempts,
                    })
                }
                Err(
                    error @ (AppendError::IdempotencyMismatch { .. }
                    | AppendError::PartialRetry { .. }),
                ) => {
                    // The same command may have been executed concurrently by another writer.
                    if let Some(replayed) = self.replay(stream, command_id)? {
                        return Ok(replayed);
                    }
                    return Err(ExecuteError::Append(error));
                }
                Err(error) => return Err(ExecuteError::Append(error)),
            }
        }
    }

    /// The stored result of an already executed command, if it was executed.
    fn replay(
        &self,
        stream: &StreamId,
        command_id: CommandId,
    ) -> Result<Option<Executed<D>>, ExecuteError<D::Error>> {
        let Some(location) = self.store.find_event(EventId::derived(command_id, 0))? else {
            return Ok(None);
        };
        if &location.stream_id != stream {
            return Err(ExecuteError::CommandIdReused {
                command_id,
                stream: stream.clone(),
                executed_on: location.stream_id,
            });
        }
        let mut events = Vec::new();
        let mut recorded = None;
        for (index, stored) in
            (0u32..).zip(self.store.read_stream(stream, location.stream_version)?)
        {
            let stored = stored?;
            if stored.event_id != EventId::derived(command_id, index) {
                break;
            }
            let Some(event) = stored.event.narrow().cloned() else {
                return Err(ExecuteError::Load(
                    FoldFailure::Foreign {
                        version: stored.stream_version,
                        event_type: stored.event.event_type(),
                    }
                    .into_error(stream),
                ));
            };
            events.push(event);
            recorded.get_or_insert_with(|| Recorded {
                stream_id: stored.stream_id.clone(),
                command_id,
                first_version: stored.stream_version,
                first_position: stored.position,
                recorded_at: stored.recorded_at,
                correlation_id: stored.correlation_id,
                causation_id: stored.causation_id,
                metadata: stored.metadata.clone(),
            });
        }
        let loaded = self.load(stream)?;
        Ok(Some(Executed {
            events,
            state: loaded.state,
            version: loaded.version,
            replayed: true,
            recorded,
        }))
    }

    /// The state from the latest usable snapshot, or the initial state.
    fn load_from_store(&self, stream: &StreamId) -> Result<(Arc<D::State>, u64), LoadError> {
        let initial = (Arc::new(D::State::default()), 0);
        let Some((snapshots, _)) = &self.snapshots else {
            return Ok(initial);
        };
        let Ok(Some(snapshot)) = snapshots.load_snapshot(stream) else {
            return Ok(initial);
        };
        if snapshot.state_version != D::STATE_VERSION
            || snapshot.stream_version > self.store.stream_version(stream)?
        {
            return Ok(initial);
        }
        match serde_json::from_slice::<D::State>(&snapshot.state) {
            Ok(state) => Ok((Arc::new(state), snapshot.stream_version)),
            Err(_) => Ok(initial),
        }
    }

    /// Folds the events after `version` into `state`; returns the new version.
    fn fold_tail(
        &self,
        state: &mut D::State,
        stream: &StreamId,
        version: u64,
    ) -> Result<u64, LoadError> {
        // Fold into a local so the state lives in registers, not behind a pointer the loop's
        // error paths could alias; the error paths themselves are kept out of line.
        let mut folded = std::mem::take(state);
        let outcome = fold_events::<D, E, _>(
            &mut folded,
            self.store.read_stream(stream, version + 1)?,
            version,
        );
        *state = folded;
        outcome.map_err(|failure| failure.into_error(stream))
    }

    fn cache_put(
        &self,
        stream: &StreamId,
        state: Arc<D::State>,
        version: u64,
        ticket: Option<CacheTicket>,
    ) {
        if let Some(cache) = &self.cache {
            cache.put(stream, state, version, ticket);
        }
    }

    fn snapshot_if_due(&self, stream: &StreamId, state: &D::State, before: u64, after: u64) {
        let Some((snapshots, policy)) = &self.snapshots else {
            return;
        };
        if !policy.is_due(before, after) {
            return;
        }
        // A snapshot is only a cache: failing to write one loses speed, never data. The failure
        // is counted so that it does not go unnoticed (`snapshot_failures`).
        let saved = serde_json::to_vec(state).ok().is_some_and(|bytes| {
            let snapshot = Snapshot {
                stream_version: after,
                state_version: D::STATE_VERSION,
                state: bytes,
            };
            snapshots.save_snapshot(stream, snapshot).is_ok()
        });
        if !saved {
            self.snapshot_failures
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

/// Why [`fold_events`] stopped; turned into a [`LoadError`] out of the hot loop.
enum FoldFailure {
    Read(ReadError),
    Gap {
        previous: u64,
        found: u64,
    },
    Foreign {
        version: u64,
        event_type: &'static str,
    },
}

impl FoldFailure {
    #[cold]
    fn into_error(self, stream: &StreamId) -> LoadError {
        match self {
            Self::Read(error) => LoadError::Read(error),
            Self::Gap { previous, found } => LoadError::VersionGap {
                stream: stream.clone(),
                previous,
                found,
            },
            Self::Foreign {
                version,
                event_type,
            } => LoadError::ForeignEvent {
                stream: stream.clone(),
                version,
                event_type,
            },
        }
    }
}

/// Folds stored events into `state`; returns the last version folded.
///
/// The store guarantees contiguous versions (its conformance suite checks it), so the loop checks
/// that the first event continues from `version` and counts from there: reading every event's
/// version would touch a second cache line per event for no information.
#[inline]
fn fold_events<'a, D, E, I>(
    state: &mut D::State,
    events: I,
    version: u64,
) -> Result<u64, FoldFailure>
where
    D: Decider,
    E: Contains<D::Event> + 'a,
    I: Iterator<Item = Result<crate::EventRef<'a, E>, ReadError>>,
{
    let mut events = events;
    let mut last = version;
    // The first event is checked to continue from `version`; the rest are counted. Peeling it
    // off keeps that check out of the loop.
    if let Some(first) = events.next() {
        let first = first.map_err(FoldFailure::Read)?;
        if first.stream_version != version + 1 {
            return Err(FoldFailure::Gap {
                previous: version,
                found: first.stream_version,
            });
        }
        apply_one::<D, E>(state, &first)?;
        last += 1;
    }
    for stored in events {
        let stored = match stored {
            Ok(stored) => stored,
            Err(error) => return Err(FoldFailure::Read(error)),
        };
        apply_one::<D, E>(state, &stored)?;
        last += 1;
    }
    Ok(last)
}

/// Folds one stored event, which must be one of the aggregate's.
#[inline(always)]
fn apply_one<D: Decider, E: Contains<D::Event>>(
    state: &mut D::State,
    stored: &Envelope<E>,
) -> Result<(), FoldFailure> {
    let Some(event) = stored.event.narrow() else {
        return Err(FoldFailure::Foreign {
            version: stored.stream_version,
            event_type: stored.event.event_type(),
        });
    };
    D::apply(state, event);
    Ok(())
}
#[cfg(test)]
mod tests;
