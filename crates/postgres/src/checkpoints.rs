//! Projection checkpoints in the store's database: the kernel's [`CheckpointStore`].

use service_lifecycle_kernel::{CheckpointError, CheckpointStore, Event, SavedReadModel};

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

    fn load_read_model(&self, name: &str) -> Result<Option<SavedReadModel>, CheckpointError> {
        let failed = |source| CheckpointError {
            name: name.to_owned(),
            source,
        };
        let mut client = self.connection().map_err(failed)?;
        let row = client
            .query_opt(
                &format!(
                    "SELECT position, model FROM {} WHERE name = $1",
                    self.table("read_models")
                ),
                &[&name],
            )
            .map_err(|error| failed(Box::new(described(error))))?;
        Ok(row.map(|row| SavedReadModel {
            position: row.get::<_, i64>(0) as u64,
            state: row.get(1),
        }))
    }

    /// Writes the read model and its checkpoint in one transaction.
    fn save_read_model(&self, name: &str, saved: &SavedReadModel) -> Result<(), CheckpointError> {
        let failed = |source| CheckpointError {
            name: name.to_owned(),
            source,
        };
        let mut client = self.connection().map_err(failed)?;
        let position = saved.position as i64;
        let mut transaction = client
            .transaction()
            .map_err(|error| failed(Box::new(described(error))))?;
        transaction
            .execute(
                &format!(
                    "INSERT INTO {} VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE SET position = $2, model = $3",
                    self.table("read_models")
                ),
                &[&name, &position, &saved.state],
            )
            .map_err(|error| failed(Box::new(described(error))))?;
        transaction
            .execute(
                &format!(
                    "INSERT INTO {} VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET position = $2",
                    self.table("checkpoints")
                ),
                &[&name, &position],
            )
            .map_err(|error| failed(Box::new(described(error))))?;
        transaction
            .commit()
            .map_err(|error| failed(Box::new(described(error))))
    }
}
