//! Snapshots: a cache of folded state, never the truth.

use std::collections::HashMap;
use std::num::NonZeroU64;
use std::sync::{Mutex, PoisonError};

use crate::ids::StreamId;

/// A saved state: its serialized bytes, the stream version it reflects, and its schema version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The stream version the state reflects (the last event folded into it).
    pub stream_version: u64,
    /// The [`Decider::STATE_VERSION`](crate::Decider::STATE_VERSION) it was written with.
    pub state_version: u32,
    /// The state, as JSON bytes.
    pub state: Vec<u8>,
}

/// Why a snapshot could not be loaded or saved. The repository treats both as a cache miss.
#[derive(Debug, thiserror::Error)]
#[error("snapshot of stream {stream}: {source}")]
pub struct SnapshotError {
    /// The stream.
    pub stream: StreamId,
    /// What failed.
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

/// Where snapshots are kept.
///
/// A long stream is slow to fold from its first event, so the repository may save the state it
/// reached together with the stream version and the state's schema version. Loading then starts
/// from the snapshot and folds only the tail. A snapshot of another state version, one that does not
/// decode, or one ahead of its stream is ignored and the stream replayed in full: deleting every
/// snapshot is always safe.
pub trait SnapshotStore: Send + Sync {
    /// The latest snapshot of `stream`, if any.
    fn load_snapshot(&self, stream: &StreamId) -> Result<Option<Snapshot>, SnapshotError>;
    /// Replaces the snapshot of `stream`.
    fn save_snapshot(&self, stream: &StreamId, snapshot: Snapshot) -> Result<(), SnapshotError>;
}

/// When the repository saves a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SnapshotPolicy {
    /// Never.
    #[default]
    Never,
    /// Whenever a command carries the stream across a multiple of this many events.
    EveryNEvents(NonZeroU64),
}

impl SnapshotPolicy {
    /// A snapshot every `n` events; `Never` for 0.
    pub fn every(n: u64) -> Self {
        NonZeroU64::new(n).map_or(Self::Never, Self::EveryNEvents)
    }

    /// Whether a command that moved a stream from `before` to `after` should leave a snapshot.
    pub fn is_due(self, before: u64, after: u64) -> bool {
        match self {
            Self::Never => false,
            Self::EveryNEvents(n) => before / n.get() != after / n.get(),
        }
    }
}

/// Snapshots held in memory.
#[derive(Debug, Default)]
pub struct MemorySnapshotStore {
    snapshots: Mutex<HashMap<StreamId, Snapshot>>,
}

impl MemorySnapshotStore {
    /// An empty snapshot store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl SnapshotStore for MemorySnapshotStore {
    fn load_snapshot(&self, stream: &StreamId) -> Result<Option<Snapshot>, SnapshotError> {
        let snapshots = self
            .snapshots
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Ok(snapshots.get(stream).cloned())
    }

    fn save_snapshot(&self, stream: &StreamId, snapshot: Snapshot) -> Result<(), SnapshotError> {
        let mut snapshots = self
            .snapshots
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        snapshots.insert(stream.clone(), snapshot);
        Ok(())
    }
}

impl<S: SnapshotStore + ?Sized> SnapshotStore for std::sync::Arc<S> {
    fn load_snapshot(&self, stream: &StreamId) -> Result<Option<Snapshot>, SnapshotError> {
        (**self).load_snapshot(stream)
    }
    fn save_snapshot(&self, stream: &StreamId, snapshot: Snapshot) -> Result<(), SnapshotError> {
        (**self).save_snapshot(stream, snapshot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_n_events_is_due_when_a_command_crosses_a_multiple() {
        let policy = SnapshotPolicy::every(10);
        assert!(!policy.is_due(0, 9));
        assert!(policy.is_due(9, 10));
        assert!(policy.is_due(8, 12));
        assert!(!policy.is_due(10, 19));
        assert!(!SnapshotPolicy::every(0).is_due(0, 1_000));
    }
}
