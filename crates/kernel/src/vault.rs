//! The vault: private bytes kept beside the events, keyed by whose they are, and erasable.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use uuid::Uuid;

/// Whose private record a vault entry is: a person, a company, anything with a UUID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubjectId(Uuid);

impl SubjectId {
    /// The subject with this UUID (a domain id such as a customer's, converted).
    pub const fn from_uuid(uuid: Uuid) -> Self {
        Self(uuid)
    }

    /// The UUID.
    pub const fn as_uuid(self) -> Uuid {
        self.0
    }
}

impl fmt::Display for SubjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Why a vault could not put, get or erase a subject's record.
#[derive(Debug, thiserror::Error)]
#[error("the vault record of subject {subject}: {source}")]
pub struct VaultError {
    /// The subject.
    pub subject: SubjectId,
    /// What failed (the storage, or a damaged record).
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

/// Where private records are kept, one per subject, erasable.
///
/// # Why a vault?
/// Events are immutable, so anything that may have to be forgotten (a person's name, contact
/// details) must never be written into one. It goes into a vault instead, under the
/// [`SubjectId`] it belongs to; events refer to the subject by id only. Erasing the subject's
/// record removes it from every read path, while the event history stays intact and replays.
///
/// The vault stores bytes: what they mean (and how they are encoded) is the caller's business, as
/// an event's payload is the domain's. [`MemoryVault`] keeps records in memory; a durable store
/// can be a vault too (the sled store is), so private records live, and are backed up, beside the
/// events they belong to.
///
/// ```
/// use service_lifecycle_kernel::{MemoryVault, SubjectId, Vault};
///
/// let vault = MemoryVault::new();
/// let subject = SubjectId::from_uuid(uuid::Uuid::new_v4());
/// vault.put(subject, b"Ada Lovelace".to_vec())?;
/// assert_eq!(vault.get(subject)?.as_deref(), Some(&b"Ada Lovelace"[..]));
/// assert!(vault.erase(subject)?);
/// assert_eq!(vault.get(subject)?, None);
/// assert!(!vault.erase(subject)?, "erasing twice finds nothing the second time");
/// # Ok::<(), service_lifecycle_kernel::VaultError>(())
/// ```
pub trait Vault: Send + Sync {
    /// Stores `record` as the subject's record, replacing any earlier one.
    fn put(&self, subject: SubjectId, record: Vec<u8>) -> Result<(), VaultError>;
    /// The subject's record, unless there is none or it was erased.
    fn get(&self, subject: SubjectId) -> Result<Option<Vec<u8>>, VaultError>;
    /// Erases the subject's record; true if there was one.
    fn erase(&self, subject: SubjectId) -> Result<bool, VaultError>;
}

/// A vault held in memory.
#[derive(Debug, Default)]
pub struct MemoryVault {
    records: Mutex<HashMap<SubjectId, Vec<u8>>>,
}

impl MemoryVault {
    /// An empty vault.
    pub fn new() -> Self {
        Self::default()
    }

    fn records(&self) -> std::sync::MutexGuard<'_, HashMap<SubjectId, Vec<u8>>> {
        // A panic elsewhere while the lock was held cannot leave a map half-changed: every
        // operation is one call on the map.
        self.records.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Vault for MemoryVault {
    fn put(&self, subject: SubjectId, record: Vec<u8>) -> Result<(), VaultError> {
        self.records().insert(subject, record);
        Ok(())
    }

    fn get(&self, subject: SubjectId) -> Result<Option<Vec<u8>>, VaultError> {
        Ok(self.records().get(&subject).cloned())
    }

    fn erase(&self, subject: SubjectId) -> Result<bool, VaultError> {
        Ok(self.records().remove(&subject).is_some())
    }
}

impl<V: Vault + ?Sized> Vault for Arc<V> {
    fn put(&self, subject: SubjectId, record: Vec<u8>) -> Result<(), VaultError> {
        (**self).put(subject, record)
    }

    fn get(&self, subject: SubjectId) -> Result<Option<Vec<u8>>, VaultError> {
        (**self).get(subject)
    }

    fn erase(&self, subject: SubjectId) -> Result<bool, VaultError> {
        (**self).erase(subject)
    }
}
