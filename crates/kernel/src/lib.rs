//! # service-lifecycle-kernel
//!
//! The event-sourcing kernel of service-lifecycle. It knows nothing of durable goods: the
//! service-lifecycle domain is built on it (crate `service-lifecycle-core`), and so are the stores
//! (`service-lifecycle-sled`, and any store of yours), which never see the domain.
//!
//! A guided tour, in the order an application meets the pieces:
//!
//! 1. **Deciders** ([`Decider`], [`Event`]): an aggregate is a pure `decide` (command and state to
//!    events, or a typed rejection) and a total `apply` (state and event to the next state).
//! 2. **Envelopes** ([`Envelope`], [`NewEvent`], [`Causation`]): an event as stored, with its ids,
//!    its place in its stream and in the global log, its time and its provenance.
//! 3. **Stores** ([`EventStore`], [`MemoryStore`]): append with an [`ExpectedVersion`], read a
//!    stream, read all in commit order; a retry of the same events is recognised by their ids.
//! 4. **The repository** ([`Repository`]): load, decide, append, retry on conflict; idempotent
//!    commands by [`CommandId`]; a state cache and [snapshots](SnapshotStore).
//! 5. **Schema evolution** ([`Upcasters`], [`EventDecoder`]): old payloads read as today's events.
//! 6. **Projections** ([`Projection`], [`Projector`], [`Subscription`]): read models folded from the
//!    global log, resumable from a [checkpoint](CheckpointStore).
//! 7. **The vault** ([`Vault`], [`MemoryVault`]): private bytes kept beside the events, keyed by a
//!    [`SubjectId`] and erasable, for what must never enter an immutable event.
//!
//! Two modules are for the authors of building blocks rather than their users:
//! [`codec`] helps implement [`Event`] for an enum of events, [`store`] helps implement
//! [`EventStore`] so that every store answers alike. The test kit (feature `testing`) is
//! `testing`: given/when/then, the store conformance suite, the decider laws and a fixture
//! aggregate.
//!
//! ```
//! use service_lifecycle_kernel::testing::fixture::ProbeEvent;
//! use service_lifecycle_kernel::{EventStore, ExpectedVersion, MemoryStore, NewEvent, StreamId};
//!
//! let store = MemoryStore::<ProbeEvent>::new();
//! let stream = StreamId::new("probe-1")?;
//! let event = NewEvent::new(ProbeEvent::noted(1), chrono::Utc::now());
//! let done = store.append(&stream, ExpectedVersion::NoStream, vec![event])?;
//! assert_eq!((done.last_version, done.last_position), (1, 1));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The design is explained in `docs/architecture.md` of the repository.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod arena;
mod atomic_import;
mod cache;
mod checkpoint;
mod clock;
mod context;
mod decider;
mod envelope;
mod event;
mod event_store;
mod ids;
mod memory;
mod payload;
mod projection;
mod repository;
mod snapshot;
mod upcast;
mod vault;

pub mod codec;
pub mod store;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use atomic_import::{AtomicImport, AtomicImportError, ImportSink};
pub use checkpoint::{CheckpointError, CheckpointStore, SavedReadModel};
pub use clock::{Clock, FixedClock, SystemClock};
pub use context::CommandContext;
pub use decider::Decider;
pub use envelope::{Causation, Envelope, Metadata, NewEvent};
pub use event::{Contains, Event, EventSchema};
pub use event_store::{
    AppendError, AppendResult, CommitNotifier, EncodedEnvelope, EventLocation, EventRef,
    EventStore, ExpectedVersion, ReadError, VisitError,
};
pub use ids::{derived_uuid, CommandId, EventId, InvalidStreamId, StreamId, MAX_STREAM_ID_LEN};
pub use memory::{AllEvents, MemoryStore, StreamEvents};
pub use payload::{CodecError, InvalidEventType};
pub use projection::{
    Projection, ProjectionError, Projector, Subscription, DEFAULT_CHECKPOINT_EVERY,
};
pub use repository::{
    ExecuteError, Executed, LoadError, Loaded, Recorded, Repository, DEFAULT_MAX_ATTEMPTS,
};
pub use snapshot::{MemorySnapshotStore, Snapshot, SnapshotError, SnapshotPolicy, SnapshotStore};
pub use upcast::{DecodeError, EncodedEvent, EventDecoder, UpcastStep, Upcasters};
pub use vault::{MemoryVault, SubjectId, Vault, VaultError};
