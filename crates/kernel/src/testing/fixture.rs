//! Fixtures for testing the kernel and stores: a tiny aggregate (a counter) and a probe event.
//!
//! They exist to exercise the kernel, not to model anything: the service-lifecycle domain lives in
//! its own modules.

use chrono::{DateTime, TimeZone, Utc};
use proptest::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{Decider, Event, EventSchema, NewEvent, StreamId, Upcasters};

/// The instant fixtures record events at: Unix time 1,700,000,000 (2023-11-14T22:13:20Z), the
/// same on every run, so stored bytes and exports are too.
pub fn fixture_time() -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000, 0)
        .single()
        .unwrap_or_default()
}

/// The new event [`ProbeEvent::noted`]`(seq)`, recorded `seq` seconds after [`fixture_time`].
pub fn noted(seq: u64) -> NewEvent<ProbeEvent> {
    let recorded_at = fixture_time() + chrono::Duration::seconds(seq as i64);
    NewEvent::new(ProbeEvent::noted(seq), recorded_at)
}

/// Events of the [`Counter`] fixture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum CounterEvent {
    /// The counter went up. Schema version 2: version 1 called the field `amount`.
    #[serde(rename = "counter.incremented")]
    Incremented {
        /// By how much.
        by: u32,
    },
    /// The counter went down.
    #[serde(rename = "counter.decremented")]
    Decremented {
        /// By how much.
        by: u32,
    },
    /// The counter was closed; it accepts nothing more.
    #[serde(rename = "counter.closed")]
    Closed,
}

impl Event for CounterEvent {
    crate::codec::tagged_payload_codec!();

    fn event_type(&self) -> &'static str {
        match self {
            Self::Incremented { .. } => "counter.incremented",
            Self::Decremented { .. } => "counter.decremented",
            Self::Closed => "counter.closed",
        }
    }

    fn schema_version(&self) -> u32 {
        match self {
            Self::Incremented { .. } => 2,
            Self::Decremented { .. } | Self::Closed => 1,
        }
    }

    fn catalogue() -> Vec<EventSchema> {
        vec![
            EventSchema {
                event_type: "counter.incremented",
                schema_version: 2,
            },
            EventSchema {
                event_type: "counter.decremented",
                schema_version: 1,
            },
            EventSchema {
                event_type: "counter.closed",
                schema_version: 1,
            },
        ]
    }
}

/// The upcaster of the fixture: `counter.incremented` version 1 `{ "amount": n }` becomes version
/// 2 `{ "by": n }`.
pub fn counter_upcasters() -> Upcasters {
    Upcasters::new().with("counter.incremented", 1, |mut payload| {
        let amount = payload
            .get_mut("amount")
            .map(serde_json::Value::take)
            .ok_or_else(|| "version 1 payload has no `amount`".to_owned())?;
        Ok(serde_json::json!({ "by": amount }))
    })
}

/// Commands of the [`Counter`] fixture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CounterCommand {
    /// Add `by` (not zero).
    Increment {
        /// How much.
        by: u32,
    },
    /// Subtract `by` (not zero, not below zero).
    Decrement {
        /// How much.
        by: u32,
    },
    /// Add `by` `times` times, as that many events (a multi-event decision).
    Bump {
        /// How many events.
        times: u8,
        /// How much each.
        by: u32,
    },
    /// Move to `target`; records nothing when already there (an empty decision).
    Reach {
        /// The value to reach (not negative).
        target: u32,
    },
    /// Close the counter.
    Close,
}

/// Why the [`Counter`] fixture rejects a command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CounterError {
    /// The counter is closed.
    #[error("the counter is closed")]
    Closed,
    /// A change of zero, or zero repetitions.
    #[error("a change must not be zero")]
    ZeroChange,
    /// A decrement below zero.
    #[error("decrementing {value} by {by} would go below zero")]
    BelowZero {
        /// The current value.
        value: i64,
        /// The requested decrement.
        by: u32,
    },
}

/// State of the [`Counter`] fixture.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CounterState {
    /// The current value; never negative.
    pub value: i64,
    /// Whether the counter is closed.
    pub closed: bool,
    /// How many events were folded.
    pub changes: u64,
}

/// A counter that never goes below zero and can be closed: the kernel's fixture aggregate.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counter;

impl Decider for Counter {
    type State = CounterState;
    type Command = CounterCommand;
    type Event = CounterEvent;
    type Error = CounterError;

    fn apply(state: &mut CounterState, event: &CounterEvent) {
        state.changes += 1;
        match event {
            CounterEvent::Incremented { by } => state.value += i64::from(*by),
            CounterEvent::Decremented { by } => state.value -= i64::from(*by),
            CounterEvent::Closed => state.closed = true,
        }
    }

    fn decide(
        state: &CounterState,
        command: &CounterCommand,
    ) -> Result<Vec<CounterEvent>, CounterError> {
        if state.closed {
            return Err(CounterError::Closed);
        }
        match *command {
            CounterCommand::Increment { by: 0 }
            | CounterCommand::Decrement { by: 0 }
            | CounterCommand::Bump { times: 0, .. }
            | CounterCommand::Bump { by: 0, .. } => Err(CounterError::ZeroChange),
            CounterCommand::Increment { by } => Ok(vec![CounterEvent::Incremented { by }]),
            CounterCommand::Decrement { by } if i64::from(by) > state.value => {
                Err(CounterError::BelowZero {
                    value: state.value,
                    by,
                })
            }
            CounterCommand::Decrement { by } => Ok(vec![CounterEvent::Decremented { by }]),
            CounterCommand::Bump { times, by } => Ok((0..times)
                .map(|_| CounterEvent::Incremented { by })
                .collect()),
            CounterCommand::Reach { target } => {
                let difference = i64::from(target) - state.value;
                Ok(match u32::try_from(difference.unsigned_abs()) {
                    Ok(0) => Vec::new(),
                    Ok(by) if difference > 0 => vec![CounterEvent::Incremented { by }],
                    Ok(by) => vec![CounterEvent::Decremented { by }],
                    // Unreachable for u32 targets and non-negative values, but never a panic.
                    Err(_) => Vec::new(),
                })
            }
            CounterCommand::Close => Ok(vec![CounterEvent::Closed]),
        }
    }
}

/// The invariant of the counter: its value is never negative.
pub fn counter_invariant(state: &CounterState) -> Result<(), String> {
    if state.value < 0 {
        return Err(format!("value {} is negative", state.value));
    }
    Ok(())
}

/// Any counter command, zero changes and closes included.
pub fn arbitrary_counter_command() -> impl Strategy<Value = CounterCommand> {
    prop_oneof![
        4 => (0u32..50).prop_map(|by| CounterCommand::Increment { by }),
        3 => (0u32..60).prop_map(|by| CounterCommand::Decrement { by }),
        2 => (0u8..4, 0u32..10).prop_map(|(times, by)| CounterCommand::Bump { times, by }),
        2 => (0u32..100).prop_map(|target| CounterCommand::Reach { target }),
        1 => Just(CounterCommand::Close),
    ]
}

/// The event type of the store conformance suite: one well-named event and three whose names no
/// store may accept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum ProbeEvent {
    /// A numbered note.
    #[serde(rename = "probe.noted")]
    Noted {
        /// A number that tells events apart.
        seq: u64,
        /// Free text.
        note: String,
    },
    /// An event whose type name is empty.
    #[serde(rename = "probe.unnamed")]
    Unnamed,
    /// An event whose type name holds a space.
    #[serde(rename = "probe.misnamed")]
    Misnamed,
    /// An event whose type name is too long.
    #[serde(rename = "probe.overlong")]
    Overlong,
}

const OVERLONG_NAME: &str = concat!(
    "probe.overlong.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
);

impl ProbeEvent {
    /// A note numbered `seq`.
    pub fn noted(seq: u64) -> Self {
        Self::Noted {
            seq,
            note: format!("note {seq}"),
        }
    }
}

impl Event for ProbeEvent {
    crate::codec::tagged_payload_codec!();

    fn event_type(&self) -> &'static str {
        match self {
            Self::Noted { .. } => "probe.noted",
            Self::Unnamed => "",
            Self::Misnamed => "probe misnamed",
            Self::Overlong => OVERLONG_NAME,
        }
    }

    fn catalogue() -> Vec<EventSchema> {
        vec![EventSchema {
            event_type: "probe.noted",
            schema_version: 1,
        }]
    }
}

/// The stream named `name`, for tests: panics on a name a store would refuse, which a test's
/// literal never is.
pub fn stream(name: &str) -> StreamId {
    StreamId::new(name).expect("a test's stream name is valid")
}
