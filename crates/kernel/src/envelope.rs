//! The envelope: an event as stored, with everything a store, a projection or an auditor needs to
//! know about it besides the fact itself.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::event::Event;
use crate::ids::{CommandId, EventId, StreamId};

/// Free-form string pairs carried by an event (the user who issued a command, a tenant, a source
/// system). Never put personal data here: envelopes are immutable.
pub type Metadata = BTreeMap<String, String>;

/// Which conversation an event belongs to and what directly caused it.
///
/// The *correlation id* is shared by everything that follows from one original request; the
/// *causation id* names the message (command or event) that directly caused this one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Causation {
    /// The id of the request that started the chain.
    pub correlation_id: Uuid,
    /// The id of the direct cause.
    pub causation_id: Uuid,
}

impl Causation {
    /// The start of a chain: both ids are the originating message's id.
    pub const fn root(id: Uuid) -> Self {
        Self {
            correlation_id: id,
            causation_id: id,
        }
    }

    /// The causation of a command sent by a policy reacting to `trigger`: same correlation, caused
    /// by the triggering event.
    ///
    /// ```
    /// # use service_lifecycle_kernel::{Causation, Envelope};
    /// # fn demo<E>(trigger: &Envelope<E>) {
    /// let next = Causation::following(trigger);
    /// assert_eq!(next.correlation_id, trigger.correlation_id);
    /// assert_eq!(next.causation_id, trigger.event_id.as_uuid());
    /// # }
    /// ```
    pub fn following<E>(trigger: &Envelope<E>) -> Self {
        Self {
            correlation_id: trigger.correlation_id,
            causation_id: trigger.event_id.as_uuid(),
        }
    }

    /// The causation of a command's events: caused by the command itself.
    pub const fn of_command(command: CommandId) -> Self {
        Self::root(command.as_uuid())
    }
}

/// An event as stored: the fact plus its identity, place and provenance.
// `repr(C)` with the event last keeps the event next to the memory store's per-slot flag, so
// folding a stream touches one cache line per event instead of two.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[repr(C)]
pub struct Envelope<E> {
    /// Unique id of this event (UUIDv7).
    pub event_id: EventId,
    /// The stream the event belongs to.
    pub stream_id: StreamId,
    /// Its version within the stream: 1 for the first event, contiguous.
    pub stream_version: u64,
    /// Its position in the whole store's commit order: from 1, contiguous, no gaps ever.
    pub position: u64,
    /// When the event was recorded (wall-clock time of the writer, not business time).
    pub recorded_at: DateTime<Utc>,
    /// The id of the request that started the chain this event belongs to.
    pub correlation_id: Uuid,
    /// The id of the message that directly caused this event.
    pub causation_id: Uuid,
    /// Anything else, as string pairs.
    pub metadata: Metadata,
    /// The fact itself.
    pub event: E,
}

impl<E: Event> Envelope<E> {
    /// The stable type name of the event (from the event itself, so the two can never disagree).
    pub fn event_type(&self) -> &'static str {
        self.event.event_type()
    }

    /// The schema version of the event's payload.
    pub fn schema_version(&self) -> u32 {
        self.event.schema_version()
    }
}

impl<E> Envelope<E> {
    /// The correlation and causation of this event.
    pub fn causation(&self) -> Causation {
        Causation {
            correlation_id: self.correlation_id,
            causation_id: self.causation_id,
        }
    }

    /// The same envelope with the event converted (for example narrowed to one aggregate's type).
    pub fn map<F>(self, convert: impl FnOnce(E) -> F) -> Envelope<F> {
        Envelope {
            event_id: self.event_id,
            stream_id: self.stream_id,
            stream_version: self.stream_version,
            position: self.position,
            recorded_at: self.recorded_at,
            correlation_id: self.correlation_id,
            causation_id: self.causation_id,
            metadata: self.metadata,
            event: convert(self.event),
        }
    }
}

/// An event about to be appended: everything of an [`Envelope`] except what the store assigns
/// (stream, version, position).
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent<E> {
    /// The event's id. Appending the same id again is an idempotent retry.
    pub event_id: EventId,
    /// When the event is recorded.
    pub recorded_at: DateTime<Utc>,
    /// The chain it belongs to.
    pub correlation_id: Uuid,
    /// Its direct cause.
    pub causation_id: Uuid,
    /// Free-form string pairs.
    pub metadata: Metadata,
    /// The fact.
    pub event: E,
}

impl<E> NewEvent<E> {
    /// A new event with a fresh id, recorded at `recorded_at`, starting its own chain.
    pub fn new(event: E, recorded_at: DateTime<Utc>) -> Self {
        let event_id = EventId::new();
        let root = Causation::root(event_id.as_uuid());
        Self {
            event_id,
            recorded_at,
            correlation_id: root.correlation_id,
            causation_id: root.causation_id,
            metadata: Metadata::new(),
            event,
        }
    }

    /// The same event with the given id.
    pub fn with_id(mut self, event_id: EventId) -> Self {
        self.event_id = event_id;
        self
    }

    /// The same event placed in a chain.
    pub fn caused_by(mut self, causation: Causation) -> Self {
        self.correlation_id = causation.correlation_id;
        self.causation_id = causation.causation_id;
        self
    }

    /// The same event with one more metadata pair.
    pub fn with_metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }

    /// Completes the event into an envelope at its place in the store.
    pub fn into_envelope(
        self,
        stream_id: StreamId,
        stream_version: u64,
        position: u64,
    ) -> Envelope<E> {
        Envelope {
            event_id: self.event_id,
            stream_id,
            stream_version,
            position,
            recorded_at: self.recorded_at,
            correlation_id: self.correlation_id,
            causation_id: self.causation_id,
            metadata: self.metadata,
            event: self.event,
        }
    }
}

impl<E: PartialEq> NewEvent<E> {
    /// Whether `stored` records the same fact as this event: same id, event, chain and metadata.
    /// `recorded_at` is not compared: a retry may be stamped later than the original.
    pub fn same_content_as(&self, stored: &Envelope<E>) -> bool {
        self.event_id == stored.event_id
            && self.event == stored.event
            && self.correlation_id == stored.correlation_id
            && self.causation_id == stored.causation_id
            && self.metadata == stored.metadata
    }
}
