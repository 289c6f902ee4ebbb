//! The laws every aggregate obeys, as reusable checks for property tests.
//!
//! Give them an arbitrary command sequence (from a proptest strategy) and an invariant of the
//! aggregate; each panics with a message naming the command and the law it broke.
//!
//! - [`check_command_sequence`]: executes the commands through a [`Repository`] on a
//!   [`MemoryStore`] and checks, after every command, that the invariant holds, that the state
//!   survives a snapshot, that a rejected
//!   command wrote nothing, and at the end that replaying the stream gives the same state and that
//!   re-executing every command with its command id writes nothing new.
//! - [`assert_replay_deterministic`]: deciding and applying step by step equals folding the
//!   resulting events from scratch, every time.
//! - [`decide_all`]: the state and history a command sequence leads to, for the laws above.
//! - [`assert_snapshot_equivalence`]: a state saved as a snapshot at any point, restored and
//!   folded with the rest of the events, equals the full fold.
//! - [`assert_upcast_stable`]: encoding events and decoding them back gives the same events.

use std::fmt;

use crate::{
    CommandContext, CommandId, Decider, EncodedEvent, Event, EventDecoder, EventStore,
    ExecuteError, MemoryStore, Repository, StreamId,
};

/// What [`check_command_sequence`] saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SequenceReport {
    /// Commands the aggregate accepted.
    pub accepted: usize,
    /// Commands it rejected.
    pub rejected: usize,
    /// Events recorded in all.
    pub events: u64,
}

/// Runs `commands` through a repository (with a state cache) on a fresh memory store and checks
/// the decider laws of docs/testing.md §2.1 after every step; see the [module docs](self).
pub fn check_command_sequence<D>(
    commands: &[D::Command],
    invariant: impl Fn(&D::State) -> Result<(), String>,
) -> SequenceReport
where
    D: Decider,
    D::State: PartialEq,
{
    let store = MemoryStore::<D::Event>::new();
    let repository = Repository::<D, _, _>::new(store.clone()).with_state_cache(16);
    let uncached = Repository::<D, _, _>::new(store.clone());
    let stream = StreamId::new("law-subject").expect("valid stream id");
    let mut report = SequenceReport::default();
    let mut contexts = Vec::with_capacity(commands.len());

    for (step, command) in commands.iter().enumerate() {
        let context = CommandContext::with_command_id(CommandId::new());
        let head_before = store.head_position().expect("head");
        let state_before = repository.load(&stream).expect("load").state;
        let mut recorded = None;
        match repository.execute(&stream, command, &context) {
            Ok(executed) => {
                report.accepted += 1;
                report.events += executed.events.len() as u64;
                if let Err(broken) = invariant(&executed.state) {
                    panic!(
                        "step {step}: after {command:?} the invariant broke: {broken}\nstate: {:?}",
                        executed.state
                    );
                }
                let mut expected = (*state_before).clone();
                for event in &executed.events {
                    D::apply(&mut expected, event);
                }
                assert_eq!(
                    *executed.state, expected,
                    "step {step}: the returned state is not the fold"
                );
                // The state must survive a snapshot (JSON), or snapshots silently never work.
                let bytes = serde_json::to_vec(&*executed.state).unwrap_or_else(|error| {
                    panic!(
                        "step {step}: the state after {command:?} cannot be snapshotted: {error}"
                    )
                });
                let restored: D::State = serde_json::from_slice(&bytes).unwrap_or_else(|error| {
                    panic!(
                        "step {step}: the snapshot after {command:?} does not read back: {error}"
                    )
                });
                assert_eq!(
                    restored, *executed.state,
                    "step {step}: the snapshot reads back as another state"
                );
                if !executed.events.is_empty() {
                    recorded = Some(executed.envelopes());
                }
            }
            Err(ExecuteError::Rejected(_)) => {
                report.rejected += 1;
                assert_eq!(
                    store.head_position().expect("head"),
                    head_before,
                    "step {step}: rejected {command:?} wrote events"
                );
                let state_after = repository.load(&stream).expect("load").state;
                assert_eq!(
                    state_after, state_before,
                    "step {step}: rejected {command:?} changed the state"
                );
            }
            Err(other) => panic!("step {step}: {command:?} failed outside the domain: {other}"),
        }
        contexts.push((context, recorded));
    }

    let final_state = repository.load(&stream).expect("load").state;
    let replayed = uncached.load(&stream).expect("replay").state;
    assert_eq!(
        replayed, final_state,
        "replaying the stream gives another state"
    );

    // Re-executing every command that recorded events, with its command id, returns the first
    // result and writes nothing. (A command that was rejected or decided nothing left no trace;
    // executing it again decides it again, as the decision record on idempotency explains.)
    let head = store.head_position().expect("head");
    for (step, (command, (context, first))) in commands.iter().zip(&contexts).enumerate() {
        let Some(first) = first else { continue };
        match repository.execute(&stream, command, context) {
            Ok(again) => {
                assert!(
                    again.replayed,
                    "step {step}: re-executing {command:?} was decided again"
                );
                assert_eq!(
                    &again.envelopes(),
                    first,
                    "step {step}: re-executing {command:?} returned other events"
                );
            }
            Err(other) => panic!("step {step}: re-executing {command:?} failed: {other}"),
        }
    }
    assert_eq!(
        store.head_position().expect("head"),
        head,
        "re-executed commands wrote events"
    );
    report
}

/// Deciding and applying command by command equals folding the recorded events from scratch, and
/// folding twice gives the same state.
pub fn assert_replay_deterministic<D>(commands: &[D::Command])
where
    D: Decider,
    D::State: PartialEq,
{
    let (state, history) = decide_all::<D>(commands);
    let first = D::fold(&history);
    let second = D::fold(&history);
    assert_eq!(
        first, state,
        "folding the history differs from the step-by-step state"
    );
    assert_eq!(first, second, "two folds of the same history differ");
}

/// Decides `commands` one after the other from the initial state, applying each accepted one's
/// events (rejected commands are passed over): the state reached and the events recorded.
pub fn decide_all<D: Decider>(commands: &[D::Command]) -> (D::State, Vec<D::Event>) {
    let mut state = D::State::default();
    let mut history = Vec::new();
    for command in commands {
        if let Ok(events) = D::decide(&state, command) {
            for event in events {
                D::apply(&mut state, &event);
                history.push(event);
            }
        }
    }
    (state, history)
}

/// Snapshotting the state after any prefix of `history` (through JSON, as stores keep it) and
/// folding the rest gives the full fold.
pub fn assert_snapshot_equivalence<D>(history: &[D::Event])
where
    D: Decider,
    D::State: PartialEq,
{
    let full = D::fold(history);
    let mut state = D::State::default();
    for split in 0..=history.len() {
        let bytes = serde_json::to_vec(&state).expect("a state serializes");
        let mut restored: D::State = serde_json::from_slice(&bytes).expect("a state deserializes");
        assert_eq!(
            restored, state,
            "the state does not survive a snapshot after {split} events"
        );
        for event in &history[split..] {
            D::apply(&mut restored, event);
        }
        assert_eq!(
            restored, full,
            "snapshot after {split} events plus the tail differs from the full fold"
        );
        if let Some(event) = history.get(split) {
            D::apply(&mut state, event);
        }
    }
}

/// Every event encodes to its current schema version and decodes back to itself.
pub fn assert_upcast_stable<E: Event>(events: &[E], decoder: &EventDecoder<E>) {
    for event in events {
        let encoded =
            EncodedEvent::encode(event).unwrap_or_else(|error| panic!("{event:?}: {error}"));
        assert_eq!(
            decoder.current_version(&encoded.event_type),
            Some(encoded.schema_version),
            "{event:?} is not in the catalogue at its schema version"
        );
        let decoded = decoder
            .decode_encoded(encoded.clone())
            .unwrap_or_else(|error| panic!("{event:?} encoded as {encoded:?}: {error}"));
        assert_eq!(&decoded, event, "decoding {encoded:?} gives another event");
        assert_payload_codecs_agree(event, decoder);
    }
}

/// The byte codecs stores use ([`Event::write_payload`], [`EventDecoder::decode_bytes`]) agree
/// with the `Value` codecs ([`Event::to_payload`], [`Event::from_payload`]): the bytes hold the
/// same JSON, and decode back to the event.
pub fn assert_payload_codecs_agree<E: Event>(event: &E, decoder: &EventDecoder<E>) {
    let mut bytes = Vec::new();
    event
        .write_payload(&mut bytes)
        .unwrap_or_else(|error| panic!("{event:?}: {error}"));
    let as_value: serde_json::Value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|error| panic!("{event:?} wrote bytes that are not JSON: {error}"));
    let payload = event
        .to_payload()
        .unwrap_or_else(|error| panic!("{event:?}: {error}"));
    assert_eq!(
        as_value, payload,
        "write_payload and to_payload disagree on {event:?}"
    );
    let decoded = decoder
        .decode_bytes(event.event_type(), event.schema_version(), &bytes)
        .unwrap_or_else(|error| panic!("{event:?} written as {as_value}: {error}"));
    assert_eq!(
        &decoded, event,
        "decoding the bytes of {event:?} gives another event"
    );
}

/// Shows a sequence of commands one per line, for failure messages.
pub fn describe<C: fmt::Debug>(commands: &[C]) -> String {
    commands
        .iter()
        .map(|command| format!("{command:?}"))
        .collect::<Vec<_>>()
        .join("\n")
}
