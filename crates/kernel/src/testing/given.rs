//! Given / when / then for deciders: a test states the history, the command, and the expected
//! events or error, and nothing else.
//!
//! ```
//! use service_lifecycle_kernel::testing::fixture::{Counter, CounterCommand, CounterError, CounterEvent};
//! use service_lifecycle_kernel::testing::given;
//!
//! given::<Counter>([CounterEvent::Incremented { by: 2 }])
//!     .when(CounterCommand::Decrement { by: 1 })
//!     .then_events([CounterEvent::Decremented { by: 1 }]);
//!
//! given::<Counter>([])
//!     .when(CounterCommand::Decrement { by: 1 })
//!     .then_error(CounterError::BelowZero { value: 0, by: 1 });
//! ```

use std::fmt;

use crate::Decider;

/// The history of a decider test: the state folded from past events.
pub struct Given<D: Decider> {
    state: D::State,
}

/// Starts a test from the state folded from `history`.
pub fn given<D: Decider>(history: impl IntoIterator<Item = D::Event>) -> Given<D> {
    let events: Vec<D::Event> = history.into_iter().collect();
    Given {
        state: D::fold(&events),
    }
}

impl<D: Decider> Given<D> {
    /// The state the history folds into.
    pub fn state(&self) -> &D::State {
        &self.state
    }

    /// Decides `command` against the history.
    pub fn when(self, command: D::Command) -> Then<D> {
        let outcome = D::decide(&self.state, &command);
        Then {
            state: self.state,
            command,
            outcome,
        }
    }
}

/// The outcome of a decider test, to assert on.
pub struct Then<D: Decider> {
    state: D::State,
    command: D::Command,
    outcome: Result<Vec<D::Event>, D::Error>,
}

impl<D: Decider> fmt::Debug for Then<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Then")
            .field("state", &self.state)
            .field("command", &self.command)
            .field("outcome", &self.outcome)
            .finish()
    }
}

impl<D: Decider> Then<D> {
    /// Asserts the command was accepted with exactly `expected`; returns the state after them.
    #[track_caller]
    pub fn then_events(self, expected: impl IntoIterator<Item = D::Event>) -> D::State {
        let expected: Vec<D::Event> = expected.into_iter().collect();
        match self.outcome {
            Ok(events) if events == expected => {
                let mut state = self.state;
                for event in &events {
                    D::apply(&mut state, event);
                }
                state
            }
            Ok(events) => panic!(
                "command {:?}\n  expected events {expected:?}\n  but decided     {events:?}",
                self.command
            ),
            Err(error) => panic!(
                "command {:?}\n  expected events {expected:?}\n  but was rejected: {error} ({error:?})",
                self.command
            ),
        }
    }

    /// Asserts the command was accepted and recorded nothing.
    #[track_caller]
    pub fn then_no_events(self) {
        self.then_events([]);
    }

    /// Asserts the command was rejected with exactly `expected`.
    #[track_caller]
    pub fn then_error(self, expected: D::Error)
    where
        D::Error: PartialEq,
    {
        match self.outcome {
            Err(error) if error == expected => {}
            Err(error) => panic!(
                "command {:?}\n  expected rejection {expected:?}\n  but was rejected with {error:?}",
                self.command
            ),
            Ok(events) => panic!(
                "command {:?}\n  expected rejection {expected:?}\n  but decided {events:?}",
                self.command
            ),
        }
    }

    /// Asserts the command was rejected with an error that satisfies `check` (described by
    /// `what` in the failure message).
    #[track_caller]
    pub fn then_error_matches(self, what: &str, check: impl FnOnce(&D::Error) -> bool) {
        match self.outcome {
            Err(error) if check(&error) => {}
            Err(error) => panic!(
                "command {:?}\n  expected a rejection that is {what}\n  but was rejected with {error:?}",
                self.command
            ),
            Ok(events) => panic!(
                "command {:?}\n  expected a rejection that is {what}\n  but decided {events:?}",
                self.command
            ),
        }
    }
}
