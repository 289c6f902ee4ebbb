//! The kernel's [`Vault`] in the store's database: one row per subject.
//!
//! Erasure deletes the row. PostgreSQL keeps a deleted row's bytes in the table's files until
//! `VACUUM` reuses the space, in the write-ahead log until it is recycled, and in every backup
//! taken before; docs/postgres.md says what to do where erasure must reach the disk.

use service_lifecycle_kernel::{Event, SubjectId, Vault, VaultError};

use crate::error::described;
use crate::store::PostgresStore;

impl<E: Event> Vault for PostgresStore<E> {
    fn put(&self, subject: SubjectId, record: Vec<u8>) -> Result<(), VaultError> {
        let failed = |source| VaultError { subject, source };
        let mut client = self.connection().map_err(failed)?;
        client
            .execute(
                &format!(
                    "INSERT INTO {} VALUES ($1, $2) ON CONFLICT (subject) DO UPDATE SET record = $2",
                    self.table("vault")
                ),
                &[&subject.as_uuid(), &record],
            )
            .map_err(|error| failed(Box::new(described(error))))?;
        Ok(())
    }

    fn get(&self, subject: SubjectId) -> Result<Option<Vec<u8>>, VaultError> {
        let failed = |source| VaultError { subject, source };
        let mut client = self.connection().map_err(failed)?;
        let row = client
            .query_opt(
                &format!(
                    "SELECT record FROM {} WHERE subject = $1",
                    self.table("vault")
                ),
                &[&subject.as_uuid()],
            )
            .map_err(|error| failed(Box::new(described(error))))?;
        Ok(row.map(|row| row.get(0)))
    }

    fn erase(&self, subject: SubjectId) -> Result<bool, VaultError> {
        let failed = |source| VaultError { subject, source };
        let mut client = self.connection().map_err(failed)?;
        let deleted = client
            .execute(
                &format!("DELETE FROM {} WHERE subject = $1", self.table("vault")),
                &[&subject.as_uuid()],
            )
            .map_err(|error| failed(Box::new(described(error))))?;
        Ok(deleted > 0)
    }
}
