//! The kernel's [`Vault`] in the store's database: one sealed record per subject, beside the
//! events, so private data is stored, backed up and erased with the store. Erasure removes the
//! record from every read path at once; sled is log-structured, so the old bytes stay in its files
//! until sled rewrites that segment.

use service_lifecycle_kernel::{Event, SubjectId, Vault, VaultError};

use crate::codec::{open, seal, vault_key};
use crate::storage::{Storage, WriteBatch};
use crate::store::SledStore;

impl<E: Event, S: Storage> Vault for SledStore<E, S> {
    fn put(&self, subject: SubjectId, record: Vec<u8>) -> Result<(), VaultError> {
        let failed = |source| VaultError { subject, source };
        let key = vault_key(subject);
        let value = seal(&key, record);
        let mut batch = WriteBatch::with_capacity(1);
        batch.insert(key, value);
        self.write(batch).map_err(|error| failed(error.into()))
    }

    fn get(&self, subject: SubjectId) -> Result<Option<Vec<u8>>, VaultError> {
        let failed = |source| VaultError { subject, source };
        let key = vault_key(subject);
        let Some(value) = self
            .storage()
            .get(&key)
            .map_err(|error| failed(error.into()))?
        else {
            return Ok(None);
        };
        let record = open(&key, value.as_ref()).map_err(|damage| failed(damage.into()))?;
        Ok(Some(record.to_vec()))
    }

    fn erase(&self, subject: SubjectId) -> Result<bool, VaultError> {
        let failed = |source| VaultError { subject, source };
        let key = vault_key(subject);
        let existed = self
            .storage()
            .get(&key)
            .map_err(|error| failed(error.into()))?
            .is_some();
        let mut batch = WriteBatch::with_capacity(1);
        batch.remove(key);
        self.write(batch).map_err(|error| failed(error.into()))?;
        Ok(existed)
    }
}
