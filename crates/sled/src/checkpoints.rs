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

    /// The read model under its key: a sealed header (its position, then the chunks' marker
    /// and count) and the state in sealed chunks after it; or, as written before read models
    /// were chunked, the position and the state in the one key.
    fn load_read_model(&self, name: &str) -> Result<Option<SavedReadModel>, CheckpointError> {
        let failed = |source: Box<dyn std::error::Error + Send + Sync>| CheckpointError {
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
        let Some(count) = reader.rest().strip_prefix(CHUNKED) else {
            return Ok(Some(SavedReadModel {
                position,
                state: reader.rest().to_vec(),
            }));
        };
        let count = <[u8; 4]>::try_from(count)
            .map(u32::from_be_bytes)
            .map_err(|_| failed("the read model's header is damaged".into()))?;
        let mut state = Vec::new();
        for index in 0..count {
            let chunk_key = read_model_chunk_key(name, index);
            let chunk = self
                .storage()
                .get(&chunk_key)
                .map_err(|error| failed(error.into()))?
                .ok_or_else(|| failed(format!("chunk {index} of {count} is missing").into()))?;
            state.extend_from_slice(
                open(&chunk_key, chunk.as_ref()).map_err(|damage| failed(damage.into()))?,
            );
        }
        Ok(Some(SavedReadModel { position, state }))
    }

    /// Writes the read model in chunks of 16 KiB, its header and its checkpoint in one
    /// atomic batch, flushed like an append, and removes the chunks of a longer earlier state.
    /// Small chunks keep the engine's pages small: a page that held the whole state beside the
    /// hot stream heads would be rewritten by every append near it.
    fn save_read_model(&self, name: &str, saved: &SavedReadModel) -> Result<(), CheckpointError> {
        let failed = |source: Box<dyn std::error::Error + Send + Sync>| CheckpointError {
            name: name.to_owned(),
            source,
        };
        let count = u32::try_from(saved.state.len().div_ceil(CHUNK))
            .map_err(|_| failed("the read model is too large to save".into()))?;
        let earlier = self.chunk_count(name);
        let mut batch = WriteBatch::with_capacity(count as usize + 2);
        for (index, chunk) in (0u32..).zip(saved.state.chunks(CHUNK)) {
            let chunk_key = read_model_chunk_key(name, index);
            let value = seal(&chunk_key, chunk.to_vec());
            batch.insert(chunk_key, value);
        }
        for stale in count..earlier {
            batch.remove(read_model_chunk_key(name, stale));
        }
        let key = read_model_key(name);
        let mut header = Vec::with_capacity(8 + CHUNKED.len() + 4);
        header.extend_from_slice(&saved.position.to_be_bytes());
        header.extend_from_slice(CHUNKED);
        header.extend_from_slice(&count.to_be_bytes());
        let value = seal(&key, header);
        batch.insert(key, value);
        let checkpoint = checkpoint_key(name);
        let checkpoint_value = encode_u64(&checkpoint, saved.position);
        batch.insert(checkpoint, checkpoint_value);
        self.write(batch).map_err(|error| failed(error.into()))
    }
}

impl<E: Event, S: Storage> SledStore<E, S> {
    /// How many chunks the read model `name` holds now, from its header alone: 0 when it has
    /// none, is in the single-key form, or its header does not read.
    fn chunk_count(&self, name: &str) -> u32 {
        let key = read_model_key(name);
        let Ok(Some(value)) = self.storage().get(&key) else {
            return 0;
        };
        let Ok(body) = open(&key, value.as_ref()) else {
            return 0;
        };
        body.get(8..)
            .and_then(|rest| rest.strip_prefix(CHUNKED))
            .and_then(|count| <[u8; 4]>::try_from(count).ok())
            .map_or(0, u32::from_be_bytes)
    }
}

/// The marker after the position in the header of a chunked read model (no JSON state, as the
/// single-key form held, starts with it).
const CHUNKED: &[u8] = b"\0chunks:";

/// The size of a read model's chunks.
const CHUNK: usize = 16 * 1024;

/// The key of chunk `index` of read model `name`: its key, a byte no name holds (0xFF is not
/// UTF-8), and the index.
fn read_model_chunk_key(name: &str, index: u32) -> Vec<u8> {
    let mut key = read_model_key(name);
    key.push(0xFF);
    key.extend_from_slice(&index.to_be_bytes());
    key
}
