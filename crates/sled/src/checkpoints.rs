//! Projection checkpoints in the store's database: the kernel's [`CheckpointStore`] for a
//! [`SledStore`], one sealed position per name, flushed like an append.

use service_lifecycle_kernel::{CheckpointError, CheckpointStore, Event, SavedReadModel};

use crate::codec::{checkpoint_key, decode_u64, encode_u64, open, read_model_key, seal, Reader};
use crate::storage::{Storage, WriteBatch};
use crate::store::SledStore;

impl<E: Event, S: Storage> CheckpointStore for SledStore<E, S> {
    fn load_checkpoint(&self, name: &str) -> Result<u64, CheckpointError> {
        let failed = |source| CheckpointError {
            name: name.to_owned(),
            source,
        };
        let key = checkpoint_key(name);
        match self
            .storage()
            .get(&key)
            .map_err(|error| failed(error.into()))?
        {
            None => Ok(0),
            Some(value) => decode_u64(&key, value.as_ref()).map_err(|damage| failed(damage.into())),
        }
    }

    fn save_checkpoint(&self, name: &str, position: u64) -> Result<(), CheckpointError> {
        let key = checkpoint_key(name);
        let value = encode_u64(&key, position);
        let mut batch = WriteBatch::with_capacity(1);
        batch.insert(key, value);
        self.write(batch).map_err(|error| CheckpointError {
            name: name.to_owned(),
            source: error.into(),
        })
    }

    /// The read model under its key: the position, then the state, sealed with a checksum.
    fn load_read_model(&self, name: &str) -> Result<Option<SavedReadModel>, CheckpointError> {
        let failed = |source| CheckpointError {
            name: name.to_owned(),
            source,
        };
        let key = read_model_key(name);
        let Some(value) = self
            .storage()
            .get(&key)
            .map_err(|error| failed(error.into()))?
        else {
            return Ok(None);
        };
        let body = open(&key, value.as_ref()).map_err(|damage| failed(damage.into()))?;
        let mut reader = Reader::new(body);
        let position = reader.u64().map_err(|damage| failed(damage.into()))?;
        Ok(Some(SavedReadModel {
            position,
            state: reader.rest().to_vec(),
        }))
    }

    /// Writes the read model and its checkpoint in one atomic batch, flushed like an append.
    fn save_read_model(&self, name: &str, saved: &SavedReadModel) -> Result<(), CheckpointError> {
        let key = read_model_key(name);
        let mut body = Vec::with_capacity(8 + saved.state.len());
        body.extend_from_slice(&saved.position.to_be_bytes());
        body.extend_from_slice(&saved.state);
        let value = seal(&key, body);
        let checkpoint = checkpoint_key(name);
        let checkpoint_value = encode_u64(&checkpoint, saved.position);
        let mut batch = WriteBatch::with_capacity(2);
        batch.insert(key, value);
        batch.insert(checkpoint, checkpoint_value);
        self.write(batch).map_err(|error| CheckpointError {
            name: name.to_owned(),
            source: error.into(),
        })
    }
}
