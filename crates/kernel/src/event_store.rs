//! The event store contract: what every store (memory, sled, any future one) promises.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::envelope::{Envelope, NewEvent};
use crate::event::Event;
use crate::ids::{EventId, StreamId};
use crate::payload::InvalidEventType;
use crate::upcast::DecodeError;

/// What the writer believes about a stream's version before appending to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExpectedVersion {
    /// No expectation: append whatever the stream's version.
    Any,
    /// The stream must not exist yet (version 0).
    NoStream,
    /// The stream must exist (version 1 or more).
    StreamExists,
    /// The stream must be at exactly this version (0 means it must not exist).
    Exact(u64),
}

impl ExpectedVersion {
    /// The expectation that fits a state loaded at `version`: [`Exact`](Self::Exact), or
    /// [`NoStream`](Self::NoStream) for version 0.
    pub const fn at(version: u64) -> Self {
        if version == 0 {
            Self::NoStream
        } else {
            Self::Exact(version)
        }
    }

    /// Whether a stream at `actual` meets this expectation.
    pub const fn accepts(self, actual: u64) -> bool {
        match self {
            Self::Any => true,
            Self::NoStream => actual == 0,
            Self::StreamExists => actual > 0,
            Self::Exact(expected) => actual == expected,
        }
    }

    /// `Ok` if a stream at `actual` meets this expectation, otherwise the conflict naming both.
    pub fn check(self, stream: &StreamId, actual: u64) -> Result<(), AppendError> {
        if self.accepts(actual) {
            Ok(())
        } else {
            Err(AppendError::Conflict {
                stream: stream.clone(),
                expected: self,
                actual,
            })
        }
    }
}

impl fmt::Display for ExpectedVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Any => f.write_str("any version"),
            Self::NoStream => f.write_str("no stream"),
            Self::StreamExists => f.write_str("an existing stream"),
            Self::Exact(version) => write!(f, "version {version}"),
        }
    }
}

/// Where a successful append put its events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AppendResult {
    /// Stream version of the first appended event.
    pub first_version: u64,
    /// Stream version of the last appended event: the stream's version after the append.
    pub last_version: u64,
    /// Global position of the first appended event.
    pub first_position: u64,
    /// Global position of the last appended event.
    pub last_position: u64,
}

impl AppendResult {
    /// How many events the append wrote.
    pub const fn len(&self) -> u64 {
        self.last_version - self.first_version + 1
    }

    /// The result of the append of `len` events whose event number `offset` (from 0) was stored
    /// at `version` and `position`: how a store answers a retry from one stored event.
    pub const fn containing(version: u64, position: u64, offset: u32, len: u32) -> Self {
        let offset = offset as u64;
        let after = (len as u64).saturating_sub(offset + 1);
        Self {
            first_version: version.saturating_sub(offset),
            last_version: version + after,
            first_position: position.saturating_sub(offset),
            last_position: position + after,
        }
    }

    /// Always false: an append holds at least one event. Present for symmetry with `len`.
    pub const fn is_empty(&self) -> bool {
        false
    }
}

/// Where one stored event is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EventLocation {
    /// Its stream.
    pub stream_id: StreamId,
    /// Its version in the stream.
    pub stream_version: u64,
    /// Its global position.
    pub position: u64,
}

/// Why an append was refused. Whatever the variant, nothing of the append was written, except
/// for [`AppendError::OutcomeUnknown`], where it may have been (and a retry is safe).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppendError {
    /// The stream is not at the expected version (optimistic concurrency).
    #[error(
        "conflict on stream {stream}: expected {expected}, but the stream is at version {actual}"
    )]
    Conflict {
        /// The stream.
        stream: StreamId,
        /// What the writer expected.
        expected: ExpectedVersion,
        /// The stream's actual version.
        actual: u64,
    },
    /// The append holds no events.
    #[error("append to stream {stream} holds no events")]
    Empty {
        /// The stream.
        stream: StreamId,
    },
    /// An event's type name is not acceptable.
    #[error("event {event_id} for stream {stream} has type name {event_type:?}, which {problem}")]
    InvalidEventType {
        /// The stream.
        stream: StreamId,
        /// The event.
        event_id: EventId,
        /// The offending name.
        event_type: String,
        /// What is wrong with it.
        problem: InvalidEventType,
    },
    /// The same event id appears twice in one append.
    #[error("append to stream {stream} holds event id {event_id} twice")]
    DuplicateEventId {
        /// The stream.
        stream: StreamId,
        /// The repeated id.
        event_id: EventId,
    },
    /// A retry reuses stored event ids with other content, another stream or another grouping.
    #[error("event id {event_id} is already stored ({existing}) and the retry to stream {stream} differs: {difference}")]
    IdempotencyMismatch {
        /// The stream of the retry.
        stream: StreamId,
        /// The first id whose stored event differs.
        event_id: EventId,
        /// Where that id is stored.
        existing: String,
        /// What differs.
        difference: &'static str,
    },
    /// Only some of the append's event ids are already stored.
    #[error("append to stream {stream} overlaps a stored append: {stored} of its {total} event ids are stored (first: {first_stored})")]
    PartialRetry {
        /// The stream.
        stream: StreamId,
        /// The first stored id.
        first_stored: EventId,
        /// How many ids are stored.
        stored: usize,
        /// How many ids the append holds.
        total: usize,
    },
    /// An event could not be encoded for storage.
    #[error("event {event_id} for stream {stream} could not be encoded: {source}")]
    Encode {
        /// The stream.
        stream: StreamId,
        /// The event.
        event_id: EventId,
        /// Why.
        source: crate::payload::CodecError,
    },
    /// An encoded event is larger than the store accepts.
    #[error("event {event_id} for stream {stream} is {size} bytes, more than the {limit} allowed")]
    TooLarge {
        /// The stream.
        stream: StreamId,
        /// The event.
        event_id: EventId,
        /// Its encoded size.
        size: usize,
        /// The store's limit.
        limit: usize,
    },
    /// An import is running on the store (see [`AtomicImport`](crate::AtomicImport)); the
    /// append was not applied and can be retried once the import ends.
    #[error("append to stream {stream} refused: an import is in progress on this store; nothing was written (try again once it ends)")]
    ImportInProgress {
        /// The stream.
        stream: StreamId,
    },
    /// The connection to the storage failed while the append was being committed: it may or
    /// may not be stored. Retrying the same append with the same event ids is safe: if it was
    /// stored, the retry returns its result and writes nothing.
    #[error("the outcome of the append to stream {stream} is unknown: {source}; retry it with the same event ids (a stored append is returned, never written twice)")]
    OutcomeUnknown {
        /// The stream.
        stream: StreamId,
        /// What failed.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The storage underneath failed (I/O, a full disk, …). The append was not applied.
    #[error("storage failed during append to stream {stream}: {source}")]
    Storage {
        /// The stream.
        stream: StreamId,
        /// What failed.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Why a read failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// A stored record is damaged (checksum, truncation, impossible value).
    #[error("stored record {record} is corrupt: {problem}")]
    Corrupt {
        /// Which record, such as `stream product-1 version 7` or `log position 42`.
        record: String,
        /// What is wrong.
        problem: String,
    },
    /// A stored event could not be decoded or upcast to the current event types.
    #[error("event at position {position} could not be decoded: {source}")]
    Decode {
        /// Its global position.
        position: u64,
        /// Why.
        source: DecodeError,
    },
    /// The storage underneath failed.
    #[error("storage failed during read: {0}")]
    Storage(Box<dyn std::error::Error + Send + Sync>),
}

/// An event read from a store: borrowed where the store holds it in memory, owned where it had to
/// be decoded.
pub type EventRef<'a, E> = Cow<'a, Envelope<E>>;

/// A store of events of type `E`.
///
/// # What is an event store?
/// An append-only log of envelopes, organised two ways at once: per *stream* (one aggregate's
/// history, versions 1, 2, 3, …) and globally (every event of every stream in commit order,
/// positions 1, 2, 3, … with no gap ever). Aggregates are loaded from their stream; projections and
/// policies follow the global log.
///
/// # The rules
/// - An append goes to one stream with an [`ExpectedVersion`]; if the stream is elsewhere the append
///   fails with [`AppendError::Conflict`] naming both versions, and nothing is written.
/// - An append of many events is atomic: a reader sees all of them or none.
/// - Appending events whose ids are already stored is a retry: with the same content it returns the
///   original [`AppendResult`] and writes nothing; with other content, or when only some of the ids
///   are stored, it is an error.
/// - Reads are iterators: nothing loads a whole store into memory. Each read sees the store as of the
///   moment it started; events committed later are not seen by it.
///
/// The conformance suite of the test kit (`testing::conformance`, feature `testing`) checks all of
/// this for any store.
pub trait EventStore<E: Event>: Send + Sync {
    /// The iterator [`read_stream`](Self::read_stream) returns.
    type StreamEvents<'a>: Iterator<Item = Result<EventRef<'a, E>, ReadError>>
    where
        Self: 'a;
    /// The iterator [`read_all`](Self::read_all) returns.
    type AllEvents<'a>: Iterator<Item = Result<EventRef<'a, E>, ReadError>>
    where
        Self: 'a;

    /// Appends `events` to `stream` atomically if the stream meets `expected`.
    fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent<E>>,
    ) -> Result<AppendResult, AppendError>;

    /// The events of `stream` from version `from_version` (1 for all) in version order. A stream
    /// that does not exist reads as empty.
    fn read_stream(
        &self,
        stream: &StreamId,
        from_version: u64,
    ) -> Result<Self::StreamEvents<'_>, ReadError>;

    /// Every event from global position `from_position` (1 for all) in commit order.
    fn read_all(&self, from_position: u64) -> Result<Self::AllEvents<'_>, ReadError>;

    /// The stream's current version: 0 if it does not exist.
    fn stream_version(&self, stream: &StreamId) -> Result<u64, ReadError>;

    /// The position of the newest event: 0 for an empty store.
    fn head_position(&self) -> Result<u64, ReadError>;

    /// Checks, writing nothing, what an append of `events` to `stream` would be refused for
    /// whatever the store holds: an empty append, an invalid event type name, an event id
    /// repeated within it, an event the store cannot encode or that exceeds its size limit.
    /// Importers call it on every event before they write any, so a file the store cannot take
    /// is refused before its first append. The default makes the checks every store makes
    /// ([`validate_append`](crate::store::validate_append)); a store with limits of its own adds
    /// them.
    fn check_events(&self, stream: &StreamId, events: &[NewEvent<E>]) -> Result<(), AppendError> {
        crate::store::validate_append(stream, events)
    }

    /// Where the event with this id is stored, if it is.
    fn find_event(&self, event_id: EventId) -> Result<Option<EventLocation>, ReadError>;

    /// Calls `visit` with every event from position `from_position` to `until_position`
    /// (inclusive) in commit order, *encoded*: the envelope's fields with the payload as JSON
    /// bytes and its stored schema version, for copying events out (exports, replication)
    /// without decoding them.
    ///
    /// The default reads the events and encodes each with [`Event::write_payload`]; a store that
    /// keeps payloads encoded (the sled store) hands them out as stored, which may be at an older
    /// schema version than the code's. Stops at the first error, of the store or of `visit`.
    fn visit_encoded(
        &self,
        from_position: u64,
        until_position: u64,
        visit: &mut dyn FnMut(&EncodedEnvelope<'_>) -> Result<(), VisitError>,
    ) -> Result<(), VisitError> {
        let mut payload = Vec::new();
        let count = until_position.saturating_sub(from_position.max(1) - 1);
        for envelope in self.read_all(from_position)?.take(count as usize) {
            let envelope = envelope?;
            EncodedEnvelope::encode(&envelope, &mut payload, |encoded| visit(encoded)).map_err(
                |source| VisitError::Encode {
                    position: envelope.position,
                    source,
                },
            )??;
        }
        Ok(())
    }
}

/// An event as a store keeps it before decoding: every envelope field, the payload as JSON bytes
/// and the schema version it was stored at (see [`EventStore::visit_encoded`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EncodedEnvelope<'a> {
    /// The event's id.
    pub event_id: EventId,
    /// Its stream.
    pub stream_id: &'a str,
    /// Its version in the stream.
    pub stream_version: u64,
    /// Its global position.
    pub position: u64,
    /// When it was recorded.
    pub recorded_at: chrono::DateTime<chrono::Utc>,
    /// The chain it belongs to.
    pub correlation_id: uuid::Uuid,
    /// Its direct cause.
    pub causation_id: uuid::Uuid,
    /// Its metadata pairs, sorted by key.
    pub metadata: &'a [(&'a str, &'a str)],
    /// Its stable type name.
    pub event_type: &'a str,
    /// The schema version of `payload`.
    pub schema_version: u32,
    /// The payload, as JSON bytes.
    pub payload: &'a [u8],
}

impl EncodedEnvelope<'_> {
    /// Encodes `envelope` (its payload written into `payload` with [`Event::write_payload`]) and
    /// calls `then` with it: what a store without encoded payloads hands out.
    pub fn encode<E: Event, R>(
        envelope: &Envelope<E>,
        payload: &mut Vec<u8>,
        then: impl FnOnce(&EncodedEnvelope<'_>) -> R,
    ) -> Result<R, crate::payload::CodecError> {
        payload.clear();
        envelope.event.write_payload(payload)?;
        let metadata: Vec<(&str, &str)> = envelope
            .metadata
            .iter()
            .map(|(key, value)| (key.as_str(), value.as_str()))
            .collect();
        Ok(then(&EncodedEnvelope {
            event_id: envelope.event_id,
            stream_id: envelope.stream_id.as_str(),
            stream_version: envelope.stream_version,
            position: envelope.position,
            recorded_at: envelope.recorded_at,
            correlation_id: envelope.correlation_id,
            causation_id: envelope.causation_id,
            metadata: &metadata,
            event_type: envelope.event.event_type(),
            schema_version: envelope.event.schema_version(),
            payload,
        }))
    }
}

/// Why [`EventStore::visit_encoded`] stopped.
#[derive(Debug, thiserror::Error)]
pub enum VisitError {
    /// Reading the store failed.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// An event could not be encoded.
    #[error("event at position {position} could not be encoded: {source}")]
    Encode {
        /// Its position.
        position: u64,
        /// Why.
        source: crate::payload::CodecError,
    },
    /// The visitor failed (writing an export, say).
    #[error(transparent)]
    Visitor(Box<dyn std::error::Error + Send + Sync>),
}

/// A store that can tell a waiting reader that new events were committed.
pub trait CommitNotifier {
    /// Blocks until the head position is beyond `after_position` or `timeout` passes, and returns
    /// the head position then.
    fn wait_for_commit(&self, after_position: u64, timeout: Duration) -> Result<u64, ReadError>;
}

impl<E: Event, S: EventStore<E> + ?Sized> EventStore<E> for Arc<S> {
    type StreamEvents<'a>
        = S::StreamEvents<'a>
    where
        Self: 'a;
    type AllEvents<'a>
        = S::AllEvents<'a>
    where
        Self: 'a;

    fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent<E>>,
    ) -> Result<AppendResult, AppendError> {
        (**self).append(stream, expected, events)
    }
    fn read_stream(
        &self,
        stream: &StreamId,
        from_version: u64,
    ) -> Result<Self::StreamEvents<'_>, ReadError> {
        (**self).read_stream(stream, from_version)
    }
    fn read_all(&self, from_position: u64) -> Result<Self::AllEvents<'_>, ReadError> {
        (**self).read_all(from_position)
    }
    fn stream_version(&self, stream: &StreamId) -> Result<u64, ReadError> {
        (**self).stream_version(stream)
    }
    fn head_position(&self) -> Result<u64, ReadError> {
        (**self).head_position()
    }
    fn find_event(&self, event_id: EventId) -> Result<Option<EventLocation>, ReadError> {
        (**self).find_event(event_id)
    }

    fn check_events(&self, stream: &StreamId, events: &[NewEvent<E>]) -> Result<(), AppendError> {
        (**self).check_events(stream, events)
    }
    fn visit_encoded(
        &self,
        from_position: u64,
        until_position: u64,
        visit: &mut dyn FnMut(&EncodedEnvelope<'_>) -> Result<(), VisitError>,
    ) -> Result<(), VisitError> {
        (**self).visit_encoded(from_position, until_position, visit)
    }
}

impl<S: CommitNotifier + ?Sized> CommitNotifier for Arc<S> {
    fn wait_for_commit(&self, after_position: u64, timeout: Duration) -> Result<u64, ReadError> {
        (**self).wait_for_commit(after_position, timeout)
    }
}
