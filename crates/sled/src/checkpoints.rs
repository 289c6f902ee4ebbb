//! Projection checkpoints in the store's database: the kernel's [`CheckpointStore`] for a
//! [`SledStore`], one sealed position per name, flushed like an append.

use service_lifecycle_kernel::{CheckpointError, CheckpointStore, Event};

use crate::codec::{checkpoint_key, decode_u64, encode_u64};
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
}
