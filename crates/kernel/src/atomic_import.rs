//! Many appends taken as one: the contract an import writes through.
//!
//! An import (a JSON export read back, a migration from another system) appends thousands of runs
//! of events to many streams. If it stops half-way — a bad line found late, a full disk, Ctrl-C,
//! kill -9 — the store must not keep half of it: the user could neither use the store nor import
//! the file again. A store implementing [`AtomicImport`] takes the runs of one import all or
//! nothing.

use std::error::Error as StdError;

use crate::envelope::NewEvent;
use crate::event::Event;
use crate::event_store::{AppendError, EventStore, ExpectedVersion};
use crate::ids::StreamId;

/// Where the runs of one import go, handed to the feed of [`AtomicImport::import_atomically`].
pub trait ImportSink<E> {
    /// Appends one run of events to one stream, checked as an append is (expected version,
    /// event ids, size). An event id already stored, or already given earlier in this import, is
    /// refused: an import never repeats what the store holds. Nothing is visible to read-all or
    /// to [`head_position`](EventStore::head_position) before the import commits.
    fn append_run(
        &mut self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent<E>>,
    ) -> Result<(), AppendError>;
}

/// A store that takes the runs of one import as one append: after
/// [`import_atomically`](Self::import_atomically) the store holds all of them, or — if the feed
/// fails, the store fails, or the process dies at any moment — none of them, and the events that
/// were there before are untouched.
///
/// While an import runs, other appends to the store are refused with
/// [`AppendError::ImportInProgress`] (they would otherwise be interleaved with, or rolled back
/// together with, the import's events); they can be retried once it ends.
///
/// ```
/// use service_lifecycle_kernel::testing::fixture::ProbeEvent;
/// use service_lifecycle_kernel::{
///     AtomicImport, AtomicImportError, EventStore, ExpectedVersion, MemoryStore, NewEvent,
///     StreamId,
/// };
///
/// let store = MemoryStore::<ProbeEvent>::new();
/// let stream = StreamId::new("probe-1")?;
/// let outcome = store.import_atomically(|sink| {
///     sink.append_run(&stream, ExpectedVersion::NoStream, vec![NewEvent::new(ProbeEvent::noted(1), chrono::Utc::now())])
///         .map_err(|error| error.to_string())?;
///     Err::<(), _>("the file goes on with a bad line".to_string())
/// });
/// assert!(matches!(outcome, Err(AtomicImportError::Feed(_))));
/// assert_eq!(store.head_position()?, 0, "nothing of the failed import is in the store");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait AtomicImport<E: Event>: EventStore<E> {
    /// Runs `feed`, which appends runs through the sink it is given, and commits them together
    /// if it returns `Ok`; if it returns `Err`, every run it appended is undone. A store that
    /// keeps its data on disk records that an import is in progress before the first run, so
    /// that opening it after a crash rolls the partial import back.
    fn import_atomically<T, X>(
        &self,
        feed: impl FnOnce(&mut dyn ImportSink<E>) -> Result<T, X>,
    ) -> Result<T, AtomicImportError<X>>;
}

/// What the user is told when a store cannot say whether it holds an import.
const UNKNOWN_OUTCOME: &str = "this handle refuses appends from now on; reopen the store: a store on disk then holds all of the import or none of it, never a part";

/// Why [`AtomicImport::import_atomically`] did not commit.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AtomicImportError<X> {
    /// The feed failed; nothing of the import is in the store.
    #[error(transparent)]
    Feed(X),
    /// Another import is running on this store; nothing was written.
    #[error("another import is in progress on this store; nothing was written (wait for it to end, then try again)")]
    InProgress,
    /// The store itself failed while it began or committed the import.
    #[error("the store failed while it {during} the import ({source}); {}", if *.undone {
        "nothing of the import is in the store"
    } else {
        UNKNOWN_OUTCOME
    })]
    Store {
        /// What the store was doing: `began` or `committed`.
        during: &'static str,
        /// What failed.
        source: Box<dyn StdError + Send + Sync>,
        /// Whether the store is known to hold nothing of the import.
        undone: bool,
    },
    /// The feed failed, and undoing what it had appended failed too.
    #[error("{feed}; undoing the import failed too ({source}): {UNKNOWN_OUTCOME}")]
    FeedNotUndone {
        /// The feed's error.
        feed: X,
        /// Why undoing failed.
        source: Box<dyn StdError + Send + Sync>,
    },
}

impl<X> AtomicImportError<X> {
    /// The feed's own error, if the feed is what failed.
    pub fn into_feed(self) -> Option<X> {
        match self {
            Self::Feed(error) | Self::FeedNotUndone { feed: error, .. } => Some(error),
            _ => None,
        }
    }

    /// Whether the store is known to hold nothing of the import.
    pub fn store_unchanged(&self) -> bool {
        match self {
            Self::Feed(_) | Self::InProgress => true,
            Self::Store { undone, .. } => *undone,
            Self::FeedNotUndone { .. } => false,
        }
    }
}

impl<E: Event, S: AtomicImport<E> + ?Sized> AtomicImport<E> for std::sync::Arc<S> {
    fn import_atomically<T, X>(
        &self,
        feed: impl FnOnce(&mut dyn ImportSink<E>) -> Result<T, X>,
    ) -> Result<T, AtomicImportError<X>> {
        (**self).import_atomically(feed)
    }
}
