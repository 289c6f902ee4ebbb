//! A model-based property test for stores: arbitrary sequences of operations run against a store
//! and against a plain reference model (a vector per stream and one for the log), and after every
//! operation the two must agree.
//!
//! The operations include appends with every kind of expected version (right and stale), retries
//! of the last append (exact, with other content, partially overlapping), empty appends, reads from
//! arbitrary versions and positions, and `Reopen`, which a durable store implements by closing and
//! opening its files (the memory store has nothing to reopen).
//!
//! ```
//! use proptest::prelude::*;
//! use service_lifecycle_kernel::testing::model::{arbitrary_store_ops, check_against_model};
//! use service_lifecycle_kernel::MemoryStore;
//!
//! proptest!(|(ops in arbitrary_store_ops(40))| {
//!     check_against_model(MemoryStore::new(), &ops, |store| store);
//! });
//! ```

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::fixture::{noted, ProbeEvent};
use crate::{AppendError, AppendResult, EventStore, ExpectedVersion, NewEvent, StreamId};

/// How an append states its expectation, relative to the stream's actual version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expectation {
    /// `ExpectedVersion::Any`.
    Any,
    /// `ExpectedVersion::NoStream`.
    NoStream,
    /// `ExpectedVersion::StreamExists`.
    StreamExists,
    /// `ExpectedVersion::Exact(actual + offset)` (a wrong offset makes a stale expectation).
    Exact(i8),
}

/// One step of a model test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreOp {
    /// Append `events` new events (0 is an empty append) to stream number `stream`.
    Append {
        /// Which of a few streams.
        stream: u8,
        /// The expectation.
        expected: Expectation,
        /// How many events.
        events: u8,
    },
    /// Append the last successful append's events again, with a stale expectation.
    RetryLast,
    /// Append the last successful append's ids again with one event changed.
    RetryLastWithOtherContent,
    /// Append the last successful append's ids plus one new event.
    RetryLastWithOneMore,
    /// Read stream number `stream` from `from_version`.
    ReadStream {
        /// Which stream.
        stream: u8,
        /// From which version.
        from_version: u64,
    },
    /// Read all from `from_position`.
    ReadAll {
        /// From which position.
        from_position: u64,
    },
    /// Close and reopen the store (for durable stores).
    Reopen,
}

/// Arbitrary operation sequences of up to `max_len` steps over four streams.
pub fn arbitrary_store_ops(max_len: usize) -> impl Strategy<Value = Vec<StoreOp>> {
    let expectation = prop_oneof![
        Just(Expectation::Any),
        Just(Expectation::NoStream),
        Just(Expectation::StreamExists),
        (-2i8..=2).prop_map(Expectation::Exact),
    ];
    let op = prop_oneof![
        8 => (0u8..4, expectation, 0u8..4)
            .prop_map(|(stream, expected, events)| StoreOp::Append { stream, expected, events }),
        2 => Just(StoreOp::RetryLast),
        1 => Just(StoreOp::RetryLastWithOtherContent),
        1 => Just(StoreOp::RetryLastWithOneMore),
        2 => (0u8..4, 0u64..8)
            .prop_map(|(stream, from_version)| StoreOp::ReadStream { stream, from_version }),
        2 => (0u64..30).prop_map(|from_position| StoreOp::ReadAll { from_position }),
        1 => Just(StoreOp::Reopen),
    ];
    proptest::collection::vec(op, 0..max_len)
}

/// The reference: what a store must hold after the operations so far.
#[derive(Default)]
struct Model {
    /// Per stream: the sequence numbers of its events, in version order.
    streams: BTreeMap<u8, Vec<u64>>,
    /// The log: (stream, sequence number) in position order.
    log: Vec<(u8, u64)>,
    last: Option<(u8, Vec<NewEvent<ProbeEvent>>, AppendResult)>,
    next_seq: u64,
}

fn stream_id(stream: u8) -> StreamId {
    StreamId::new(format!("model-{stream}")).expect("valid stream id")
}

fn seq_of(event: &ProbeEvent) -> u64 {
    match event {
        ProbeEvent::Noted { seq, .. } => *seq,
        _ => u64::MAX,
    }
}

impl Model {
    fn version(&self, stream: u8) -> u64 {
        self.streams
            .get(&stream)
            .map_or(0, |events| events.len() as u64)
    }

    fn fresh_events(&mut self, count: u8) -> Vec<NewEvent<ProbeEvent>> {
        (0..count)
            .map(|_| {
                self.next_seq += 1;
                noted(self.next_seq)
            })
            .collect()
    }

    fn record(&mut self, stream: u8, events: &[NewEvent<ProbeEvent>]) {
        for new_event in events {
            let seq = seq_of(&new_event.event);
            self.streams.entry(stream).or_default().push(seq);
            self.log.push((stream, seq));
        }
    }
}

/// Runs `ops` on `store` and on the reference model, asserting after each step that they agree.
/// `reopen` closes and reopens the store (for the memory store: `|store| store`).
pub fn check_against_model<S: EventStore<ProbeEvent>>(
    store: S,
    ops: &[StoreOp],
    mut reopen: impl FnMut(S) -> S,
) {
    let mut store = Some(store);
    let mut model = Model::default();
    for (step, op) in ops.iter().enumerate() {
        let current = store
            .take()
            .expect("the store is put back after every step");
        let current = if *op == StoreOp::Reopen {
            reopen(current)
        } else {
            current
        };
        apply(&current, &mut model, op, step);
        assert_agrees(&current, &model, step, op);
        store = Some(current);
    }
}

fn apply<S: EventStore<ProbeEvent>>(store: &S, model: &mut Model, op: &StoreOp, step: usize) {
    match *op {
        StoreOp::Append {
            stream,
            expected,
            events,
        } => {
            let actual = model.version(stream);
            let expected = match expected {
                Expectation::Any => ExpectedVersion::Any,
                Expectation::NoStream => ExpectedVersion::NoStream,
                Expectation::StreamExists => ExpectedVersion::StreamExists,
                Expectation::Exact(offset) => {
                    ExpectedVersion::Exact(actual.saturating_add_signed(i64::from(offset)))
                }
            };
            let events = model.fresh_events(events);
            let outcome = store.append(&stream_id(stream), expected, events.clone());
            if events.is_empty() {
                assert!(
                    matches!(outcome, Err(AppendError::Empty { .. })),
                    "step {step}: {outcome:?}"
                );
            } else if expected.accepts(actual) {
                let head = model.log.len() as u64;
                let count = events.len() as u64;
                let result =
                    outcome.unwrap_or_else(|error| panic!("step {step}: {op:?} failed: {error}"));
                assert_eq!(
                    result,
                    AppendResult {
                        first_version: actual + 1,
                        last_version: actual + count,
                        first_position: head + 1,
                        last_position: head + count,
                    },
                    "step {step}: {op:?}"
                );
                model.record(stream, &events);
                model.last = Some((stream, events, result));
            } else {
                match outcome {
                    Err(AppendError::Conflict {
                        expected: got,
                        actual: got_actual,
                        ..
                    }) => {
                        assert_eq!((got, got_actual), (expected, actual), "step {step}");
                    }
                    other => panic!("step {step}: {op:?} should conflict, got {other:?}"),
                }
            }
        }
        StoreOp::RetryLast => {
            if let Some((stream, events, result)) = &model.last {
                let stale = ExpectedVersion::Exact(result.first_version - 1);
                let replayed = store.append(&stream_id(*stream), stale, events.clone());
                assert_eq!(
                    replayed.ok(),
                    Some(*result),
                    "step {step}: a retry returns the original result"
                );
            }
        }
        StoreOp::RetryLastWithOtherContent => {
            if let Some((stream, events, _)) = &model.last {
                let mut changed = events.clone();
                changed[0].event = ProbeEvent::noted(u64::MAX - 1);
                let outcome = store.append(&stream_id(*stream), ExpectedVersion::Any, changed);
                assert!(
                    matches!(outcome, Err(AppendError::IdempotencyMismatch { .. })),
                    "step {step}: {outcome:?}"
                );
            }
        }
        StoreOp::RetryLastWithOneMore => {
            if let Some((stream, events, _)) = model.last.clone() {
                let mut longer = events;
                longer.extend(model.fresh_events(1));
                let outcome = store.append(&stream_id(stream), ExpectedVersion::Any, longer);
                assert!(
                    matches!(outcome, Err(AppendError::PartialRetry { .. })),
                    "step {step}: {outcome:?}"
                );
            }
        }
        StoreOp::ReadStream {
            stream,
            from_version,
        } => {
            let read: Vec<(u64, u64)> = store
                .read_stream(&stream_id(stream), from_version)
                .expect("read_stream")
                .map(|stored| {
                    let stored = stored.expect("stored event");
                    (stored.stream_version, seq_of(&stored.event))
                })
                .collect();
            let expected: Vec<(u64, u64)> = model
                .streams
                .get(&stream)
                .map(|seqs| {
                    (1u64..)
                        .zip(seqs.iter().copied())
                        .skip(from_version.max(1) as usize - 1)
                        .collect()
                })
                .unwrap_or_default();
            assert_eq!(read, expected, "step {step}: {op:?}");
        }
        StoreOp::ReadAll { from_position } => {
            let read: Vec<(u64, String, u64)> = store
                .read_all(from_position)
                .expect("read_all")
                .map(|stored| {
                    let stored = stored.expect("stored event");
                    (
                        stored.position,
                        stored.stream_id.to_string(),
                        seq_of(&stored.event),
                    )
                })
                .collect();
            let expected: Vec<(u64, String, u64)> = (1u64..)
                .zip(&model.log)
                .skip(from_position.max(1) as usize - 1)
                .map(|(position, (stream, seq))| (position, stream_id(*stream).to_string(), *seq))
                .collect();
            assert_eq!(read, expected, "step {step}: {op:?}");
        }
        StoreOp::Reopen => {}
    }
}

fn assert_agrees<S: EventStore<ProbeEvent>>(store: &S, model: &Model, step: usize, op: &StoreOp) {
    assert_eq!(
        store.head_position().expect("head"),
        model.log.len() as u64,
        "step {step} ({op:?}): head position"
    );
    for stream in 0..4 {
        assert_eq!(
            store.stream_version(&stream_id(stream)).expect("version"),
            model.version(stream),
            "step {step} ({op:?}): version of stream {stream}"
        );
    }
}
