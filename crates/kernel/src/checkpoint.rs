//! Checkpoints: where projections and policies keep the position of the global log they have
//! processed up to, so that a restart resumes instead of replaying everything.

use std::sync::Arc;

/// Why a checkpoint could not be loaded or saved.
#[derive(Debug, thiserror::Error)]
#[error("checkpoint {name:?}: {source}")]
pub struct CheckpointError {
    /// The checkpoint's name.
    pub name: String,
    /// What failed.
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

/// Where projections and policies keep the position they have processed up to.
pub trait CheckpointStore: Send + Sync {
    /// The saved position of `name`: 0 if none was saved.
    fn load_checkpoint(&self, name: &str) -> Result<u64, CheckpointError>;
    /// Saves the position of `name`.
    fn save_checkpoint(&self, name: &str, position: u64) -> Result<(), CheckpointError>;
}

impl<S: CheckpointStore + ?Sized> CheckpointStore for Arc<S> {
    fn load_checkpoint(&self, name: &str) -> Result<u64, CheckpointError> {
        (**self).load_checkpoint(name)
    }
    fn save_checkpoint(&self, name: &str, position: u64) -> Result<(), CheckpointError> {
        (**self).save_checkpoint(name, position)
    }
}
