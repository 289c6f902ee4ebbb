//! # service-lifecycle-core
//!
//! The event-sourcing kernel of service-lifecycle, a library that sellers and manufacturers of
//! durable goods embed to run the whole service life of what they sell.
//!
//! Everything is re-exported flat from the crate root:
//!
//! - **Deciders** ([`Decider`], [`Event`]): an aggregate is a pure `decide` and a total `apply`.
//! - **Envelopes** ([`Envelope`], [`NewEvent`], [`Causation`]): an event as stored, with its ids,
//!   place in the stream and in the global log, time and provenance.
//! - **Stores** ([`EventStore`], [`MemoryStore`]): append with an [`ExpectedVersion`], read a
//!   stream, read all in commit order; idempotent retries by event id.
//! - **The repository** ([`Repository`]): load, decide, append, retry on conflict; idempotent
//!   commands by [`CommandId`]; a state cache and [snapshots](SnapshotStore).
//! - **Schema evolution** ([`Upcasters`], [`EventDecoder`]).
//! - **Projections** ([`Projection`], [`Projector`], [`Subscription`]).
//! - **The test kit** (feature `testing`): the `testing` module holds given/when/then, the store
//!   conformance suite, the domain laws and a fixture aggregate.
//!
//! The service-lifecycle domain built on the kernel lives in [`domain`].
//!
//! The design is explained in `docs/architecture.md` and the records in `docs/decisions/`.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod domain;
pub mod kernel;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use kernel::envelope::{Causation, Envelope, Metadata, NewEvent};
pub use kernel::event::{
    tagged_from_payload_bytes, validate_event_type, validate_static_event_type,
    write_tagged_payload, CodecError, Contains, Decider, Event, EventSchema, InvalidEventType,
    MAX_EVENT_TYPE_LEN,
};
pub use kernel::ids::{CommandId, EventId, InvalidStreamId, StreamId, MAX_STREAM_ID_LEN};
pub use kernel::memory::{AllEvents, MemoryStore, StreamEvents};
pub use kernel::projection::{
    Projection, ProjectionError, Projector, Subscription, DEFAULT_CHECKPOINT_EVERY,
};
pub use kernel::repository::{
    Clock, CommandContext, ExecuteError, Executed, FixedClock, LoadError, Loaded, Repository,
    SystemClock, DEFAULT_MAX_ATTEMPTS,
};
pub use kernel::snapshot::{
    MemorySnapshotStore, Snapshot, SnapshotError, SnapshotPolicy, SnapshotStore,
};
pub use kernel::store::{
    classify_retry, validate_append, AppendError, AppendResult, CheckpointError, CheckpointStore,
    CommitNotifier, CommitSignal, EncodedEnvelope, EventLocation, EventRef, EventStore,
    ExpectedVersion, ReadError, StoredAppend, VisitError,
};
pub use kernel::upcast::{DecodeError, EncodedEvent, EventDecoder, UpcastStep, Upcasters};
