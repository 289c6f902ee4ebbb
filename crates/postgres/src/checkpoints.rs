//! Projection checkpoints in the store's database: the kernel's [`CheckpointStore`].

use service_lifecycle_kernel::{CheckpointError, CheckpointStore, Event};

use crate::error::described;
use crate::store::PostgresStore;

impl<E: Event> CheckpointStore for PostgresStore<E> {
    fn load_checkpoint(&self, name: &str) -> Result<u64, CheckpointError> {
        let failed = |source| CheckpointError {
            name: name.to_owned(),
            source,
        };
        let mut client = self.connection().map_err(failed)?;
        let row = client
            .query_opt(
                &format!(
                    "SELECT position FROM {} WHERE name = $1",
                    self.table("checkpoints")
                ),
                &[&name],
            )
            .map_err(|error| failed(Box::new(described(error))))?;
        Ok(row.map_or(0, |row| row.get::<_, i64>(0) as u64))
    }

    fn save_checkpoint(&self, name: &str, position: u64) -> Result<(), CheckpointError> {
        let failed = |source| CheckpointError {
            name: name.to_owned(),
            source,
        };
        let mut client = self.connection().map_err(failed)?;
        client
            .execute(
                &format!(
                    "INSERT INTO {} VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET position = $2",
                    self.table("checkpoints")
                ),
                &[&name, &(position as i64)],
            )
            .map_err(|error| failed(Box::new(described(error))))?;
        Ok(())
    }
}
