//! Snapshots in the store's database: the kernel's [`SnapshotStore`], one row per stream.

use service_lifecycle_kernel::{Event, Snapshot, SnapshotError, SnapshotStore, StreamId};

use crate::error::described;
use crate::store::PostgresStore;

impl<E: Event> SnapshotStore for PostgresStore<E> {
    fn load_snapshot(&self, stream: &StreamId) -> Result<Option<Snapshot>, SnapshotError> {
        let failed = |source| SnapshotError {
            stream: stream.clone(),
            source,
        };
        let mut client = self.connection().map_err(failed)?;
        let row = client
            .query_opt(
                &format!(
                    "SELECT stream_version, state_version, state FROM {} WHERE stream_id = $1",
                    self.table("snapshots")
                ),
                &[&stream.as_str()],
            )
            .map_err(|error| failed(Box::new(described(error))))?;
        Ok(row.map(|row| Snapshot {
            stream_version: row.get::<_, i64>(0) as u64,
            state_version: row.get::<_, i32>(1) as u32,
            state: row.get(2),
        }))
    }

    fn save_snapshot(&self, stream: &StreamId, snapshot: Snapshot) -> Result<(), SnapshotError> {
        let failed = |source| SnapshotError {
            stream: stream.clone(),
            source,
        };
        let mut client = self.connection().map_err(failed)?;
        client
            .execute(
                &format!(
                    "INSERT INTO {} VALUES ($1, $2, $3, $4) ON CONFLICT (stream_id) DO UPDATE \
                     SET stream_version = $2, state_version = $3, state = $4",
                    self.table("snapshots")
                ),
                &[
                    &stream.as_str(),
                    &(snapshot.stream_version as i64),
                    &(snapshot.state_version as i32),
                    &snapshot.state,
                ],
            )
            .map_err(|error| failed(Box::new(described(error))))?;
        Ok(())
    }
}
