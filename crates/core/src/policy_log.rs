//! The policy log: the policy commands the rules refused, kept as events (§7 of
//! `docs/domain.md`). A policy's command can be refused (a warranty contract overlapping one the
//! seller proposed by hand, parts asked for after their supply obligation ended); the trigger
//! stands, and the refusal is recorded here, once per policy command, in the stream
//! `policy-refusals`, so that it survives restarts, shows in every process sharing the store, and
//! is listed by [`ServiceLifecycle::policy_failures`](crate::ServiceLifecycle::policy_failures).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::event_enum::event_enum;
use crate::kernel::{Decider, InvalidStreamId, StreamId};

event_enum! {
    /// What happened to a policy command.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
    #[serde(tag = "type", content = "data")]
    pub enum PolicyEvent {
        /// §7: the rules refused a command a policy issued.
        "policy.command_refused" => CommandRefused {
            /// The policy, in words ("unit sold: record the purchase").
            policy: String,
            /// The id of the event that triggered it.
            trigger: uuid::Uuid,
            /// The trigger's position in the global log.
            trigger_position: u64,
            /// The command, as the policy issued it.
            command: String,
            /// Why it was refused, in words.
            error: String,
            /// When the trigger occurred (its business time).
            at: DateTime<Utc>,
        },
    }
}

impl PolicyEvent {
    /// When the event occurred in business time: its `at`, or none for an event recorded
    /// together with the one before it (it occurred with that one).
    pub fn occurred_at(&self) -> Option<DateTime<Utc>> {
        match self {
            Self::CommandRefused { at, .. } => Some(*at),
        }
    }
}
/// A policy command the rules refused, as the policy log keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PolicyFailure {
    /// The policy, in words.
    pub policy: String,
    /// The id of the triggering event.
    pub trigger: uuid::Uuid,
    /// The trigger's position in the global log.
    pub trigger_position: u64,
    /// The command, as the policy issued it.
    pub command: String,
    /// Why it was refused.
    pub error: String,
    /// When the trigger occurred.
    pub at: DateTime<Utc>,
}

impl From<&PolicyEvent> for PolicyFailure {
    fn from(event: &PolicyEvent) -> Self {
        let PolicyEvent::CommandRefused {
            policy,
            trigger,
            trigger_position,
            command,
            error,
            at,
        } = event;
        Self {
            policy: policy.clone(),
            trigger: *trigger,
            trigger_position: *trigger_position,
            command: command.clone(),
            error: error.clone(),
            at: *at,
        }
    }
}

/// The policy log: one stream of refusals. Its state is how many were recorded; the refusals
/// themselves are read from the stream.
#[derive(Debug, Clone, Copy, Default)]
pub struct PolicyLog;

impl PolicyLog {
    /// The one stream of the policy log: `policy-refusals`.
    pub fn stream_id() -> Result<StreamId, InvalidStreamId> {
        StreamId::new("policy-refusals")
    }
}

/// Record a refused policy command.
#[derive(Debug, Clone)]
pub struct RecordRefusal(pub PolicyFailure);

impl Decider for PolicyLog {
    type State = u64;
    type Command = RecordRefusal;
    type Event = PolicyEvent;
    type Error = std::convert::Infallible; // a refusal is always recorded

    fn apply(refused: &mut u64, _event: &PolicyEvent) {
        *refused += 1;
    }

    fn decide(_refused: &u64, command: &RecordRefusal) -> Result<Vec<PolicyEvent>, Self::Error> {
        let failure = command.0.clone();
        Ok(vec![PolicyEvent::CommandRefused {
            policy: failure.policy,
            trigger: failure.trigger,
            trigger_position: failure.trigger_position,
            command: failure.command,
            error: failure.error,
            at: failure.at,
        }])
    }
}
