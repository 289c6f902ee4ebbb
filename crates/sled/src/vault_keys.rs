//! The vault's key file: one random 32-byte key per subject, in fixed slots of a plain file beside
//! sled's, which erasure overwrites in place.
//!
//! Vault records are encrypted with their subject's key (`crate::vault`). sled is
//! log-structured: a removed value stays in its files until sled rewrites that segment, so
//! removing a record does not remove its bytes. The key file is not log-structured: erasing a
//! subject overwrites its slot with zeros and syncs the file, after which the record's bytes left
//! in sled's files can no longer be read by anyone (crypto-shredding).
//!
//! Layout (docs/storage-format.md): a 64-byte header (magic `SVCKEYS\0`, version `u32`, slot
//! length `u32`, zeros), then slots of 64 bytes: subject id (16), key (32), CRC-32 of the slot's
//! index, subject and key (4), zeros (12). A slot of zeros is free. Slots are 64 bytes at 64-byte
//! offsets, so a slot never straddles a disk sector and is written whole or not at all.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use service_lifecycle_kernel::SubjectId;
use uuid::Uuid;

/// The key file's name in the store's directory.
pub(crate) const KEY_FILE: &str = "vault-keys";
const MAGIC: &[u8; 8] = b"SVCKEYS\0";
const VERSION: u32 = 1;
const HEADER_LEN: u64 = 64;
const SLOT_LEN: usize = 64;

/// A subject's key.
pub(crate) type Key = [u8; 32];

/// Why the key file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub(crate) enum KeyFileError {
    /// Reading, writing or syncing the file failed.
    #[error("the vault's key file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is not a key file of this version, or is damaged.
    #[error("the vault's key file {path} is damaged: {reason}")]
    Damaged { path: PathBuf, reason: String },
    /// No random bytes for a new key.
    #[error("no random bytes for a new vault key: {0}")]
    Random(String),
}

enum Slot {
    Free,
    Held,
    Damaged,
}

/// The key file, loaded: keys by subject, free slots to reuse.
pub(crate) struct KeyFile {
    path: PathBuf,
    file: File,
    slots: Vec<Slot>,
    keys: HashMap<SubjectId, (u64, Key)>,
    free: Vec<u64>,
}

impl KeyFile {
    /// The key file in `dir`, if there is one; created (and synced with its directory) only when
    /// `create` is true.
    pub(crate) fn open(dir: &Path, create: bool) -> Result<Option<Self>, KeyFileError> {
        let path = dir.join(KEY_FILE);
        let io = |source| KeyFileError::Io {
            path: path.clone(),
            source,
        };
        let file = match OpenOptions::new().read(true).write(true).open(&path) {
            Ok(file) => file,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound && create => {
                // Written whole under another name and renamed into place, so that a crash never
                // leaves a key file without its header.
                let making = dir.join(format!("{KEY_FILE}.creating"));
                let mut header = [0u8; HEADER_LEN as usize];
                header[..8].copy_from_slice(MAGIC);
                header[8..12].copy_from_slice(&VERSION.to_be_bytes());
                header[12..16].copy_from_slice(&(SLOT_LEN as u32).to_be_bytes());
                let file = OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .open(&making)
                    .map_err(io)?;
                file.write_all_at(&header, 0).map_err(io)?;
                file.sync_all().map_err(io)?;
                std::fs::rename(&making, &path).map_err(io)?;
                File::open(dir).and_then(|dir| dir.sync_all()).map_err(io)?;
                OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open(&path)
                    .map_err(io)?
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(io(error)),
        };
        Self::load(path, file).map(Some)
    }

    fn load(path: PathBuf, mut file: File) -> Result<Self, KeyFileError> {
        let damaged = |reason: &str| KeyFileError::Damaged {
            path: path.clone(),
            reason: reason.to_owned(),
        };
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(|source| KeyFileError::Io {
                path: path.clone(),
                source,
            })?;
        let header = bytes
            .get(..HEADER_LEN as usize)
            .ok_or_else(|| damaged("it is shorter than its header"))?;
        if &header[..8] != MAGIC {
            return Err(damaged("it does not start with the key file's magic"));
        }
        let version = u32::from_be_bytes([header[8], header[9], header[10], header[11]]);
        if version != VERSION {
            return Err(damaged(&format!(
                "it is of version {version}; this code reads version {VERSION}"
            )));
        }
        let slot_len = u32::from_be_bytes([header[12], header[13], header[14], header[15]]);
        if slot_len as usize != SLOT_LEN || header[16..].iter().any(|&byte| byte != 0) {
            return Err(damaged("its header is not the one this version writes"));
        }
        let mut loaded = Self {
            path: path.clone(),
            file,
            slots: Vec::new(),
            keys: HashMap::new(),
            free: Vec::new(),
        };
        // A torn last slot (a crash while the file grew) is shorter than a slot: it held no key
        // that any record uses, since a record is written only after its key.
        for (index, bytes) in bytes[HEADER_LEN as usize..]
            .chunks_exact(SLOT_LEN)
            .enumerate()
        {
            let index = index as u64;
            let slot = if bytes.iter().all(|&byte| byte == 0) {
                loaded.free.push(index);
                Slot::Free
            } else {
                match decode_slot(index, bytes) {
                    Some((subject, key)) if !loaded.keys.contains_key(&subject) => {
                        loaded.keys.insert(subject, (index, key));
                        Slot::Held
                    }
                    _ => Slot::Damaged,
                }
            };
            loaded.slots.push(slot);
        }
        // Reused from the lowest index, so the file stays as short as it can.
        loaded.free.reverse();
        Ok(loaded)
    }

    /// The subject's key, unless it has none (never had one, or it was erased).
    pub(crate) fn key(&self, subject: SubjectId) -> Option<&Key> {
        self.keys.get(&subject).map(|(_, key)| key)
    }

    /// Whether some slot is damaged, so a subject without a key may have lost it to damage
    /// rather than to erasure.
    pub(crate) fn has_damaged_slots(&self) -> bool {
        self.slots.iter().any(|slot| matches!(slot, Slot::Damaged))
    }

    /// The indexes of the damaged slots.
    pub(crate) fn damaged_slots(&self) -> Vec<u64> {
        (0u64..)
            .zip(&self.slots)
            .filter(|(_, slot)| matches!(slot, Slot::Damaged))
            .map(|(index, _)| index)
            .collect()
    }

    /// The subject's key, made, written and (if `sync`) synced to disk first if it has none, so
    /// that no record is ever written under a key the file does not hold.
    pub(crate) fn key_for(&mut self, subject: SubjectId, sync: bool) -> Result<Key, KeyFileError> {
        if let Some((_, key)) = self.keys.get(&subject) {
            return Ok(*key);
        }
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|error| KeyFileError::Random(error.to_string()))?;
        let index = self.free.pop().unwrap_or(self.slots.len() as u64);
        self.write_slot(index, &encode_slot(index, subject, &key), sync)?;
        let slot = Slot::Held;
        match self.slots.get_mut(index as usize) {
            Some(existing) => *existing = slot,
            None => self.slots.push(slot),
        }
        self.keys.insert(subject, (index, key));
        Ok(key)
    }

    /// Overwrites the subject's key with zeros and syncs the file; true if it had one. Every
    /// record encrypted with it is unreadable from then on, wherever its bytes still lie.
    pub(crate) fn shred(&mut self, subject: SubjectId) -> Result<bool, KeyFileError> {
        let Some((index, mut key)) = self.keys.remove(&subject) else {
            return Ok(false);
        };
        key.fill(0);
        if let Err(error) = self.write_slot(index, &[0u8; SLOT_LEN], true) {
            // Still on disk: still the subject's.
            self.keys.insert(subject, (index, key));
            return Err(error);
        }
        self.slots[index as usize] = Slot::Free;
        self.free.push(index);
        Ok(true)
    }

    fn write_slot(&self, index: u64, bytes: &[u8], sync: bool) -> Result<(), KeyFileError> {
        let io = |source| KeyFileError::Io {
            path: self.path.clone(),
            source,
        };
        let offset = HEADER_LEN + index * SLOT_LEN as u64;
        self.file.write_all_at(bytes, offset).map_err(io)?;
        if sync {
            self.file.sync_data().map_err(io)?;
        }
        Ok(())
    }
}

fn slot_checksum(index: u64, subject: &[u8], key: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&index.to_be_bytes());
    hasher.update(subject);
    hasher.update(key);
    hasher.finalize()
}

fn encode_slot(index: u64, subject: SubjectId, key: &Key) -> [u8; SLOT_LEN] {
    let mut slot = [0u8; SLOT_LEN];
    let id = subject.as_uuid();
    slot[..16].copy_from_slice(id.as_bytes());
    slot[16..48].copy_from_slice(key);
    slot[48..52].copy_from_slice(&slot_checksum(index, id.as_bytes(), key).to_be_bytes());
    slot
}

fn decode_slot(index: u64, slot: &[u8]) -> Option<(SubjectId, Key)> {
    let subject: [u8; 16] = slot.get(..16)?.try_into().ok()?;
    let key: Key = slot.get(16..48)?.try_into().ok()?;
    let stored = u32::from_be_bytes(slot.get(48..52)?.try_into().ok()?);
    let reserved_clear = slot.get(52..)?.iter().all(|&byte| byte == 0);
    (stored == slot_checksum(index, &subject, &key) && reserved_clear)
        .then(|| (SubjectId::from_uuid(Uuid::from_bytes(subject)), key))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject(n: u128) -> SubjectId {
        SubjectId::from_uuid(Uuid::from_u128(n))
    }

    #[test]
    fn keys_survive_a_reopen_and_a_shredded_slot_is_zeros_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(KeyFile::open(dir.path(), false).unwrap().is_none());
        let mut keys = KeyFile::open(dir.path(), true).unwrap().unwrap();
        let first = keys.key_for(subject(1), true).unwrap();
        let second = keys.key_for(subject(2), true).unwrap();
        assert_ne!(first, second, "every subject has its own random key");
        assert_eq!(keys.key_for(subject(1), true).unwrap(), first);
        drop(keys);
        let mut keys = KeyFile::open(dir.path(), false).unwrap().unwrap();
        assert_eq!(keys.key(subject(1)), Some(&first));
        assert!(keys.shred(subject(1)).unwrap());
        assert!(!keys.shred(subject(1)).unwrap(), "shredded already");
        assert_eq!(keys.key(subject(1)), None);
        let bytes = std::fs::read(dir.path().join(KEY_FILE)).unwrap();
        let slot = &bytes[HEADER_LEN as usize..HEADER_LEN as usize + SLOT_LEN];
        assert!(slot.iter().all(|&byte| byte == 0), "the slot is zeros");
        assert!(!bytes.windows(32).any(|window| window == first));
        keys.key_for(subject(3), true).unwrap();
        assert_eq!(
            bytes.len() as u64,
            std::fs::metadata(dir.path().join(KEY_FILE)).unwrap().len(),
            "the freed slot is reused"
        );
        drop(keys);
        let keys = KeyFile::open(dir.path(), false).unwrap().unwrap();
        assert_eq!(keys.key(subject(1)), None);
        assert_eq!(keys.key(subject(2)), Some(&second));
        assert!(keys.key(subject(3)).is_some());
        assert!(!keys.has_damaged_slots());
    }

    #[test]
    fn a_key_file_whose_creation_a_crash_stopped_is_created_again() {
        let dir = tempfile::tempdir().unwrap();
        // Killed before the rename: only the file under the temporary name, torn.
        std::fs::write(dir.path().join(format!("{KEY_FILE}.creating")), [1u8; 10]).unwrap();
        assert!(
            KeyFile::open(dir.path(), false).unwrap().is_none(),
            "no key file yet"
        );
        let mut keys = KeyFile::open(dir.path(), true).unwrap().unwrap();
        keys.key_for(subject(1), true).unwrap();
        assert!(!dir.path().join(format!("{KEY_FILE}.creating")).exists());
        drop(keys);
        assert!(KeyFile::open(dir.path(), false)
            .unwrap()
            .unwrap()
            .key(subject(1))
            .is_some());
    }

    #[test]
    fn a_damaged_slot_or_header_is_reported_never_read_as_a_key() {
        let dir = tempfile::tempdir().unwrap();
        let mut keys = KeyFile::open(dir.path(), true).unwrap().unwrap();
        keys.key_for(subject(1), true).unwrap();
        drop(keys);
        let path = dir.path().join(KEY_FILE);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[HEADER_LEN as usize + 20] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        let keys = KeyFile::open(dir.path(), false).unwrap().unwrap();
        assert_eq!(keys.key(subject(1)), None);
        assert!(keys.has_damaged_slots());
        assert_eq!(keys.damaged_slots(), vec![0]);
        drop(keys);
        bytes[0] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        assert!(matches!(
            KeyFile::open(dir.path(), false),
            Err(KeyFileError::Damaged { .. })
        ));
        std::fs::write(&path, &bytes[..10]).unwrap();
        assert!(matches!(
            KeyFile::open(dir.path(), false),
            Err(KeyFileError::Damaged { .. })
        ));
    }
}
