//! A state-machine test (proptest-state-machine) of the sled store against a plain reference
//! model (docs/testing.md §2.3): appends with right and stale expectations, exact retries, retries with
//! other content, reads from arbitrary versions and positions, and `Reopen`, which closes the
//! database and opens it again. After every transition the store and the model agree.

use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest_state_machine::{prop_state_machine, ReferenceStateMachine, StateMachineTest};
use service_lifecycle_kernel::testing::fixture::{noted, ProbeEvent};
use service_lifecycle_kernel::{
    AppendError, AppendResult, EventStore, ExpectedVersion, NewEvent, StreamId,
};
use service_lifecycle_sled::{Durability, Engine, SledOptions, SledStore};
use tempfile::TempDir;

const STREAMS: u8 = 3;

#[derive(Debug, Clone)]
enum Transition {
    /// Append `count` new events to stream `stream` expecting `expected`.
    Append {
        stream: u8,
        expected: ExpectedVersion,
        count: u8,
    },
    /// The last successful append again, with a stale expectation: returns its result.
    RetryLast,
    /// The last successful append's ids with other content: refused.
    RetryLastWithOtherContent,
    ReadStream {
        stream: u8,
        from_version: u64,
    },
    ReadAll {
        from_position: u64,
    },
    Reopen,
}

/// What the reference says the last transition must have done.
#[derive(Debug, Clone, Default, PartialEq)]
enum Expected {
    Appended(AppendResult),
    Conflict {
        actual: u64,
    },
    #[default]
    Nothing,
}

#[derive(Debug, Clone, Default)]
struct Model {
    /// Per stream, the sequence numbers of its events.
    streams: BTreeMap<u8, Vec<u64>>,
    /// (stream, seq) in position order.
    log: Vec<(u8, u64)>,
    next_seq: u64,
    /// The last successful append: stream, its seqs, its result.
    last: Option<(u8, Vec<u64>, AppendResult)>,
    expected: Expected,
}

impl Model {
    fn version(&self, stream: u8) -> u64 {
        self.streams
            .get(&stream)
            .map_or(0, |seqs| seqs.len() as u64)
    }
}

struct Reference;

impl ReferenceStateMachine for Reference {
    type State = Model;
    type Transition = Transition;

    fn init_state() -> BoxedStrategy<Model> {
        Just(Model::default()).boxed()
    }

    fn transitions(state: &Model) -> BoxedStrategy<Transition> {
        let versions: Vec<u64> = (0..STREAMS).map(|stream| state.version(stream)).collect();
        let expected = move |stream: u8| {
            let version = versions[stream as usize];
            prop_oneof![
                4 => Just(ExpectedVersion::at(version)),
                1 => Just(ExpectedVersion::Any),
                1 => Just(ExpectedVersion::NoStream),
                1 => Just(ExpectedVersion::StreamExists),
                1 => (0..version + 3).prop_map(ExpectedVersion::Exact),
            ]
        };
        let append = (0..STREAMS, 1u8..4).prop_flat_map(move |(stream, count)| {
            expected(stream).prop_map(move |expected| Transition::Append {
                stream,
                expected,
                count,
            })
        });
        let head = state.log.len() as u64;
        prop_oneof![
            8 => append,
            2 => Just(Transition::RetryLast),
            1 => Just(Transition::RetryLastWithOtherContent),
            2 => (0..STREAMS, 0u64..6)
                .prop_map(|(stream, from_version)| Transition::ReadStream { stream, from_version }),
            2 => (0..head + 3).prop_map(|from_position| Transition::ReadAll { from_position }),
            1 => Just(Transition::Reopen),
        ]
        .boxed()
    }

    fn preconditions(state: &Model, transition: &Transition) -> bool {
        match transition {
            Transition::RetryLast | Transition::RetryLastWithOtherContent => state.last.is_some(),
            _ => true,
        }
    }

    fn apply(mut state: Model, transition: &Transition) -> Model {
        state.expected = match transition {
            Transition::Append {
                stream,
                expected,
                count,
            } => {
                let actual = state.version(*stream);
                if expected.accepts(actual) {
                    let seqs: Vec<u64> = (0..*count)
                        .map(|_| {
                            state.next_seq += 1;
                            state.next_seq
                        })
                        .collect();
                    let len = seqs.len() as u64;
                    let result = AppendResult {
                        first_version: actual + 1,
                        last_version: actual + len,
                        first_position: state.log.len() as u64 + 1,
                        last_position: state.log.len() as u64 + len,
                    };
                    for seq in &seqs {
                        state.streams.entry(*stream).or_default().push(*seq);
                        state.log.push((*stream, *seq));
                    }
                    state.last = Some((*stream, seqs, result));
                    Expected::Appended(result)
                } else {
                    Expected::Conflict { actual }
                }
            }
            Transition::RetryLast => match &state.last {
                Some((_, _, result)) => Expected::Appended(*result),
                None => Expected::Nothing,
            },
            _ => Expected::Nothing,
        };
        state
    }
}

struct Store {
    dir: TempDir,
    engine: Engine,
    store: Option<SledStore<ProbeEvent>>,
    /// The events of the last successful append, as sent (with their ids).
    last_events: Vec<NewEvent<ProbeEvent>>,
}

impl Store {
    fn open(dir: &TempDir, engine: Engine) -> SledStore<ProbeEvent> {
        let options = SledOptions::new()
            .engine(engine)
            .durability(Durability::Buffered);
        SledStore::open_with(dir.path(), options).expect("the store opens")
    }

    fn store(&self) -> &SledStore<ProbeEvent> {
        self.store
            .as_ref()
            .expect("the store is open between transitions")
    }
}

fn stream_id(stream: u8) -> StreamId {
    StreamId::new(format!("machine-{stream}")).expect("valid stream id")
}

fn seq_of(event: &ProbeEvent) -> u64 {
    match event {
        ProbeEvent::Noted { seq, .. } => *seq,
        _ => u64::MAX,
    }
}

/// The machine on sled (`REDB` false) or on redb.
struct StoreMachine<const REDB: bool>;

type SledMachine = StoreMachine<false>;
type RedbMachine = StoreMachine<true>;

impl<const REDB: bool> StateMachineTest for StoreMachine<REDB> {
    type SystemUnderTest = Store;
    type Reference = Reference;

    fn init_test(_: &Model) -> Store {
        let dir = tempfile::tempdir().expect("temporary directory");
        let engine = if REDB { Engine::Redb } else { Engine::Sled };
        let store = Some(Store::open(&dir, engine));
        Store {
            dir,
            engine,
            store,
            last_events: Vec::new(),
        }
    }

    fn apply(mut sut: Store, model: &Model, transition: Transition) -> Store {
        match transition {
            Transition::Append {
                stream,
                expected,
                count,
            } => {
                let events: Vec<_> = match &model.expected {
                    Expected::Appended(_) => model.last.as_ref().map_or_else(Vec::new, |last| {
                        last.1.iter().map(|seq| noted(*seq)).collect()
                    }),
                    _ => (0..u64::from(count)).map(|n| noted(u64::MAX - n)).collect(),
                };
                let outcome = sut
                    .store()
                    .append(&stream_id(stream), expected, events.clone());
                match (&model.expected, outcome) {
                    (Expected::Appended(result), Ok(got)) => {
                        assert_eq!(&got, result);
                        sut.last_events = events;
                    }
                    (
                        Expected::Conflict { actual },
                        Err(AppendError::Conflict { actual: got, .. }),
                    ) => {
                        assert_eq!(got, *actual);
                    }
                    (expected, outcome) => panic!("expected {expected:?}, got {outcome:?}"),
                }
            }
            Transition::RetryLast => {
                let (stream, _, result) = model.last.clone().expect("precondition");
                let stale = ExpectedVersion::Exact(result.first_version - 1);
                let replayed = sut
                    .store()
                    .append(&stream_id(stream), stale, sut.last_events.clone())
                    .expect("an exact retry succeeds");
                assert_eq!(replayed, result);
            }
            Transition::RetryLastWithOtherContent => {
                let (stream, _, _) = model.last.clone().expect("precondition");
                let mut changed = sut.last_events.clone();
                changed[0].event = ProbeEvent::noted(u64::MAX);
                let outcome = sut
                    .store()
                    .append(&stream_id(stream), ExpectedVersion::Any, changed);
                assert!(
                    matches!(outcome, Err(AppendError::IdempotencyMismatch { .. })),
                    "{outcome:?}"
                );
            }
            Transition::ReadStream {
                stream,
                from_version,
            } => {
                let read: Vec<u64> = sut
                    .store()
                    .read_stream(&stream_id(stream), from_version)
                    .expect("read_stream")
                    .map(|event| seq_of(&event.expect("stored event").event))
                    .collect();
                let expected: Vec<u64> = model
                    .streams
                    .get(&stream)
                    .map(|seqs| {
                        seqs.iter()
                            .skip(from_version.max(1) as usize - 1)
                            .copied()
                            .collect()
                    })
                    .unwrap_or_default();
                assert_eq!(read, expected);
            }
            Transition::ReadAll { from_position } => {
                let read: Vec<(u64, String, u64)> = sut
                    .store()
                    .read_all(from_position)
                    .expect("read_all")
                    .map(|event| {
                        let event = event.expect("stored event");
                        (
                            event.position,
                            event.stream_id.to_string(),
                            seq_of(&event.event),
                        )
                    })
                    .collect();
                let expected: Vec<(u64, String, u64)> = (1u64..)
                    .zip(&model.log)
                    .skip(from_position.max(1) as usize - 1)
                    .map(|(position, (stream, seq))| {
                        (position, stream_id(*stream).to_string(), *seq)
                    })
                    .collect();
                assert_eq!(read, expected);
            }
            Transition::Reopen => {
                drop(sut.store.take());
                sut.store = Some(Store::open(&sut.dir, sut.engine));
            }
        }
        sut
    }

    fn check_invariants(sut: &Store, model: &Model) {
        assert_eq!(sut.store().head_position().unwrap(), model.log.len() as u64);
        for stream in 0..STREAMS {
            assert_eq!(
                sut.store().stream_version(&stream_id(stream)).unwrap(),
                model.version(stream),
                "version of stream {stream}"
            );
        }
    }

    fn teardown(sut: Store) {
        let report = sut.store().verify().expect("verify reads the store");
        assert!(report.is_clean(), "{report}");
    }
}

prop_state_machine! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn the_sled_store_follows_the_reference_model(sequential 1..40 => SledMachine);

    #[test]
    fn the_redb_store_follows_the_reference_model(sequential 1..40 => RedbMachine);
}
