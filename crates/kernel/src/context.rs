//! What travels with a command besides the command itself: its id (idempotency), the chain it
//! belongs to (correlation and causation) and free-form metadata.

use crate::envelope::{Causation, Metadata};
use crate::ids::CommandId;

/// What travels with a command besides the command itself.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CommandContext {
    /// Makes the command idempotent: executing it again returns the first result.
    pub command_id: Option<CommandId>,
    /// The chain the command belongs to (set by policies reacting to an event); by default the
    /// command starts its own chain.
    pub causation: Option<Causation>,
    /// String pairs copied onto every event the command records.
    pub metadata: Metadata,
}

impl CommandContext {
    /// A context with nothing set.
    pub fn new() -> Self {
        Self::default()
    }

    /// A context with this command id.
    pub fn with_command_id(command_id: CommandId) -> Self {
        Self {
            command_id: Some(command_id),
            ..Self::default()
        }
    }

    /// The same context placed in a chain.
    pub fn caused_by(mut self, causation: Causation) -> Self {
        self.causation = Some(causation);
        self
    }

    /// The same context with one more metadata pair.
    pub fn with_metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }
}
