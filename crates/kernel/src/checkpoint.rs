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

/// A read model as saved: its state, serialized, and the position of the global log it reflects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedReadModel {
    /// The position of the last event folded into the state.
    pub position: u64,
    /// The state, as the read model serialized it.
    pub state: Vec<u8>,
}

/// Where projections and policies keep the position they have processed up to, and read models
/// their state with it.
pub trait CheckpointStore: Send + Sync {
    /// The saved position of `name`: 0 if none was saved.
    fn load_checkpoint(&self, name: &str) -> Result<u64, CheckpointError>;
    /// Saves the position of `name`.
    fn save_checkpoint(&self, name: &str, position: u64) -> Result<(), CheckpointError>;

    /// The read model saved under `name`, if any. A store that keeps no read models answers
    /// `None` (the default), and the read model is folded from the log instead.
    fn load_read_model(&self, name: &str) -> Result<Option<SavedReadModel>, CheckpointError> {
        let _ = name;
        Ok(None)
    }

    /// Saves the read model `name`, its state and its position in one write (and the checkpoint
    /// `name` at that position with them), so that a crash never leaves one ahead of the other.
    /// A store that keeps no read models saves the checkpoint alone (the default).
    fn save_read_model(&self, name: &str, saved: &SavedReadModel) -> Result<(), CheckpointError> {
        self.save_checkpoint(name, saved.position)
    }
}

impl<S: CheckpointStore + ?Sized> CheckpointStore for Arc<S> {
    fn load_checkpoint(&self, name: &str) -> Result<u64, CheckpointError> {
        (**self).load_checkpoint(name)
    }
    fn save_checkpoint(&self, name: &str, position: u64) -> Result<(), CheckpointError> {
        (**self).save_checkpoint(name, position)
    }
    fn load_read_model(&self, name: &str) -> Result<Option<SavedReadModel>, CheckpointError> {
        (**self).load_read_model(name)
    }
    fn save_read_model(&self, name: &str, saved: &SavedReadModel) -> Result<(), CheckpointError> {
        (**self).save_read_model(name, saved)
    }
}
