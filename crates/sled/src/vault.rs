//! The kernel's [`Vault`] in the store's database: one sealed record per subject, beside the
//! events, so private data is stored, backed up and erased with the store.
//!
//! Each record is encrypted (ChaCha20-Poly1305, the subject's id as associated data) with a
//! random key of its own subject, kept in the key file beside the database
//! (`vault_keys.rs`). Erasure overwrites the key with zeros and syncs the file
//! before it removes the record, so from the moment `erase` returns the record's bytes, wherever
//! sled's log still holds them, cannot be read: no file of the store holds the person's data in a
//! readable form.
//!
//! Records written before records were encrypted (plain, under the `D` prefix) are still read;
//! the next `put` of the subject replaces such a record by an encrypted one, and `erase` removes
//! it (its old bytes then stay in sled's files until sled rewrites that segment).

use std::sync::{MutexGuard, PoisonError};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use service_lifecycle_kernel::{Event, SubjectId, Vault, VaultError};

use crate::codec::{open, plain_vault_key, seal, vault_key};
use crate::storage::{Storage, WriteBatch};
use crate::store::{Durability, SledStore};
use crate::vault_keys::{KeyFile, KeyFileError};

/// The version byte at the start of an encrypted record.
const RECORD_VERSION: u8 = 1;
const NONCE_LEN: usize = 12;

impl<E: Event, S: Storage> SledStore<E, S> {
    /// The loaded key file, loading it (and creating it, if `create`) on first use. `None`: the
    /// store has no key file, so no encrypted record.
    fn key_file(&self, create: bool) -> Result<MutexGuard<'_, Option<KeyFile>>, KeyFileError> {
        // Every change to the loaded file is made after its write to disk succeeded, so a panic
        // while the lock was held leaves it as the disk has it.
        let mut keys = self
            .inner
            .vault_keys
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if keys.is_none() {
            *keys = KeyFile::open(&self.inner.path, create)?;
        }
        Ok(keys)
    }
}

impl<E: Event, S: Storage> SledStore<E, S> {
    /// The damaged slots of the vault's key file (none if there is no key file), or why the
    /// file cannot be read at all.
    pub(crate) fn vault_key_file_damage(&self) -> Result<Vec<u64>, KeyFileError> {
        Ok(self
            .key_file(false)?
            .as_ref()
            .map(KeyFile::damaged_slots)
            .unwrap_or_default())
    }
}

impl<E: Event, S: Storage> Vault for SledStore<E, S> {
    fn put(&self, subject: SubjectId, record: Vec<u8>) -> Result<(), VaultError> {
        let failed =
            |source: Box<dyn std::error::Error + Send + Sync>| VaultError { subject, source };
        self.check_writable()
            .map_err(|error| failed(error.into()))?;
        let mut keys = self.key_file(true).map_err(|error| failed(error.into()))?;
        let keys = keys
            .as_mut()
            .ok_or_else(|| failed("the vault's key file could not be created".into()))?;
        let key = keys
            .key_for(subject, self.inner.durability == Durability::Flush)
            .map_err(|error| failed(error.into()))?;
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|error| failed(error.to_string().into()))?;
        let id = subject.as_uuid();
        let sealed = ChaCha20Poly1305::new(&key.into())
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: &record,
                    aad: id.as_bytes(),
                },
            )
            .map_err(|_| failed("the record could not be encrypted".into()))?;
        let mut value = Vec::with_capacity(1 + NONCE_LEN + sealed.len() + 4);
        value.push(RECORD_VERSION);
        value.extend_from_slice(&nonce);
        value.extend_from_slice(&sealed);
        let key = vault_key(subject);
        let value = seal(&key, value);
        let mut batch = WriteBatch::with_capacity(2);
        batch.insert(key, value);
        batch.remove(plain_vault_key(subject));
        self.write(batch).map_err(|error| failed(error.into()))
    }

    fn get(&self, subject: SubjectId) -> Result<Option<Vec<u8>>, VaultError> {
        let failed =
            |source: Box<dyn std::error::Error + Send + Sync>| VaultError { subject, source };
        let key = vault_key(subject);
        let Some(value) = self
            .storage()
            .get(&key)
            .map_err(|error| failed(error.into()))?
        else {
            return self.get_plain(subject);
        };
        let body = open(&key, value.as_ref()).map_err(|damage| failed(damage.into()))?;
        let (version, rest) = body
            .split_first()
            .ok_or_else(|| failed("the record is empty".into()))?;
        if *version != RECORD_VERSION || rest.len() < NONCE_LEN {
            return Err(failed(
                format!("the record is of version {version}, which this code does not read").into(),
            ));
        }
        let (nonce, sealed) = rest.split_at(NONCE_LEN);
        let keys = self.key_file(false).map_err(|error| failed(error.into()))?;
        let Some(secret) = keys.as_ref().and_then(|keys| keys.key(subject)) else {
            // The key was shredded: erased, though a crash kept the record's last bytes.
            if keys.as_ref().is_some_and(KeyFile::has_damaged_slots) {
                return Err(failed(
                    "its key is missing and the vault's key file has damaged slots, so it may \
                     have been lost to damage rather than erased; restore the store from a backup"
                        .into(),
                ));
            }
            return Ok(None);
        };
        let id = subject.as_uuid();
        ChaCha20Poly1305::new(secret.into())
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: id.as_bytes(),
                },
            )
            .map(Some)
            .map_err(|_| failed("the record does not decrypt with its subject's key".into()))
    }

    fn erase(&self, subject: SubjectId) -> Result<bool, VaultError> {
        let failed =
            |source: Box<dyn std::error::Error + Send + Sync>| VaultError { subject, source };
        self.check_writable()
            .map_err(|error| failed(error.into()))?;
        let key = vault_key(subject);
        let plain = plain_vault_key(subject);
        let mut existed = false;
        for key in [&key, &plain] {
            existed |= self
                .storage()
                .get(key)
                .map_err(|error| failed(error.into()))?
                .is_some();
        }
        // What was appended before (the erasure's event, in the domain) reaches the disk before
        // the key is destroyed, which cannot be undone: a crash must never leave a customer
        // whose data is gone while the event saying so is lost (buffered appends).
        self.flush().map_err(|error| failed(error.into()))?;
        // The key first: from here on the record is unreadable, even if removing it fails.
        if let Some(keys) = self
            .key_file(false)
            .map_err(|error| failed(error.into()))?
            .as_mut()
        {
            keys.shred(subject).map_err(|error| failed(error.into()))?;
        }
        let mut batch = WriteBatch::with_capacity(2);
        batch.remove(key);
        batch.remove(plain);
        self.write(batch).map_err(|error| failed(error.into()))?;
        Ok(existed)
    }
}

impl<E: Event, S: Storage> SledStore<E, S> {
    /// A record written before records were encrypted.
    fn get_plain(&self, subject: SubjectId) -> Result<Option<Vec<u8>>, VaultError> {
        let failed =
            |source: Box<dyn std::error::Error + Send + Sync>| VaultError { subject, source };
        let key = plain_vault_key(subject);
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
}
