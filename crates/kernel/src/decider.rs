//! Deciders: the two pure functions every aggregate is made of.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::event::Event;

/// The pure heart of an aggregate: `decide` and `apply`.
///
/// # What is an aggregate?
/// An aggregate is a consistency boundary (one product unit, one customer, one contract). Its state is
/// never stored: it is the *fold* of the events it has recorded. A [`Decider`] states the two pure
/// functions that define one:
///
/// - `decide(&state, &command)` looks at the current state and a command and answers with the events
///   that record what happened, or with a typed error that names the broken rule. It never mutates,
///   never reads a clock (business time comes inside the command) and never does I/O.
/// - `apply(&mut state, &event)` folds one event into the state. It is total: it never fails for an
///   event that `decide` produced, because an event is a fact that already happened.
///
/// # Event names are a contract
/// Stored events outlive the code that wrote them. Every event therefore has a stable
/// [`event_type`](Event::event_type) name (`"product.warranty_started"`) that is *not* the Rust
/// identifier, and a [`schema_version`](Event::schema_version) of its payload's shape. Renaming an
/// enum variant changes nothing stored; changing a payload's shape bumps its version and registers an
/// upcaster (see [`Upcasters`](crate::Upcasters)).
pub trait Decider: 'static {
    /// The folded state. `Default` is the state of a stream with no events.
    type State: Default + Clone + fmt::Debug + Serialize + DeserializeOwned + Send + Sync + 'static;
    /// What a caller asks for.
    type Command: fmt::Debug;
    /// What the aggregate records.
    type Event: Event;
    /// Why a command is rejected: a typed error naming the rule and the ids involved.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The version of [`State`](Decider::State)'s serialized shape; snapshots of another version are
    /// ignored and the stream is replayed instead. Bump it when the state's shape changes.
    const STATE_VERSION: u32 = 1;

    /// About how many bytes of memory `state` holds, for a state cache bounded in bytes
    /// ([`Repository::with_state_cache_bytes`](crate::Repository::with_state_cache_bytes)). By
    /// default the size of the state's type; a state holding collections should add what they
    /// hold (an estimate from their lengths is enough: it is called on every cached command).
    fn state_size(state: &Self::State) -> usize {
        let _ = state;
        std::mem::size_of::<Self::State>()
    }

    /// Folds one event into the state. Total: never fails for an event `decide` produced.
    fn apply(state: &mut Self::State, event: &Self::Event);

    /// Decides a command against the current state: the events to record, or why not.
    fn decide(
        state: &Self::State,
        command: &Self::Command,
    ) -> Result<Vec<Self::Event>, Self::Error>;

    /// The state after folding `events` into the initial state.
    fn fold<'a>(events: impl IntoIterator<Item = &'a Self::Event>) -> Self::State {
        let mut state = Self::State::default();
        for event in events {
            Self::apply(&mut state, event);
        }
        state
    }
}
