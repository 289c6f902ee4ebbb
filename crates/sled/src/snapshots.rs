//! Snapshots in the store's database: the kernel's [`SnapshotStore`] for a [`SledStore`], one
//! sealed record per stream (its version, the state's version, the state's bytes).

use service_lifecycle_kernel::{Event, Snapshot, SnapshotError, SnapshotStore, StreamId};

use crate::codec::{open, seal, snapshot_key, Reader};
use crate::storage::{Storage, WriteBatch};
use crate::store::SledStore;

impl<E: Event, S: Storage> SnapshotStore for SledStore<E, S> {
    fn load_snapshot(&self, stream: &StreamId) -> Result<Option<Snapshot>, SnapshotError> {
        let failed = |source| SnapshotError {
            stream: stream.clone(),
            source,
        };
        let key = snapshot_key(stream);
        let Some(value) = self
            .storage()
            .get(&key)
            .map_err(|error| failed(error.into()))?
        else {
            return Ok(None);
        };
        let body = open(&key, value.as_ref()).map_err(|damage| failed(damage.into()))?;
        let mut reader = Reader::new(body);
        let stream_version = reader.u64().map_err(|damage| failed(damage.into()))?;
        let state_version = reader.u32().map_err(|damage| failed(damage.into()))?;
        Ok(Some(Snapshot {
            stream_version,
            state_version,
            state: reader.rest().to_vec(),
        }))
    }

    fn save_snapshot(&self, stream: &StreamId, snapshot: Snapshot) -> Result<(), SnapshotError> {
        self.check_writable().map_err(|error| SnapshotError {
            stream: stream.clone(),
            source: error.into(),
        })?;
        let key = snapshot_key(stream);
        let mut body = Vec::with_capacity(12 + snapshot.state.len());
        body.extend_from_slice(&snapshot.stream_version.to_be_bytes());
        body.extend_from_slice(&snapshot.state_version.to_be_bytes());
        body.extend_from_slice(&snapshot.state);
        let value = seal(&key, body);
        let mut batch = WriteBatch::with_capacity(1);
        batch.insert(key, value);
        // Snapshots are a cache: losing the newest one in a crash costs a replay, nothing more,
        // so they are never flushed on their own.
        self.storage().apply(batch).map_err(|error| SnapshotError {
            stream: stream.clone(),
            source: error.into(),
        })
    }
}
