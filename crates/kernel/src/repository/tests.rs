use proptest::prelude::*;
use serde::{Deserialize, Serialize};

use super::*;
use crate::testing::fixture::{
    arbitrary_counter_command, counter_invariant, stream, Counter, CounterCommand, CounterError,
    CounterEvent, CounterState, ProbeEvent,
};
use crate::testing::{given, laws};
use crate::{AppendResult, EventLocation, EventSchema, MemorySnapshotStore, MemoryStore, NewEvent};

fn counters(
    store: &MemoryStore<CounterEvent>,
) -> Repository<Counter, CounterEvent, MemoryStore<CounterEvent>> {
    Repository::new(store.clone()).with_state_cache(100)
}

/// The first envelope in the store's log.
fn first_stored<E: Event + Clone>(store: &MemoryStore<E>) -> Envelope<E> {
    store
        .read_all(1)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .into_owned()
}

fn increment(by: u32) -> CounterCommand {
    CounterCommand::Increment { by }
}

// --- The fixture decider, given / when / then -------------------------------------------------

#[test]
fn incrementing_records_the_increment() {
    given::<Counter>([])
        .when(increment(3))
        .then_events([CounterEvent::Incremented { by: 3 }]);
}

#[test]
fn decrementing_below_zero_is_rejected_naming_value_and_amount() {
    given::<Counter>([CounterEvent::Incremented { by: 2 }])
        .when(CounterCommand::Decrement { by: 5 })
        .then_error(CounterError::BelowZero { value: 2, by: 5 });
}

#[test]
fn a_closed_counter_rejects_every_command() {
    given::<Counter>([CounterEvent::Closed])
        .when(increment(1))
        .then_error(CounterError::Closed);
}

#[test]
fn reaching_the_current_value_records_nothing() {
    given::<Counter>([CounterEvent::Incremented { by: 4 }])
        .when(CounterCommand::Reach { target: 4 })
        .then_no_events();
}

#[test]
fn then_events_returns_the_state_after_the_events() {
    let state = given::<Counter>([])
        .when(CounterCommand::Bump { times: 3, by: 2 })
        .then_events(vec![CounterEvent::Incremented { by: 2 }; 3]);
    assert_eq!(state.value, 6);
}

#[test]
#[should_panic(expected = "expected events")]
fn then_events_fails_loudly_on_other_events() {
    given::<Counter>([])
        .when(increment(3))
        .then_events([CounterEvent::Incremented { by: 4 }]);
}

#[test]
#[should_panic(expected = "expected rejection")]
fn then_error_fails_loudly_when_the_command_is_accepted() {
    given::<Counter>([])
        .when(increment(3))
        .then_error(CounterError::Closed);
}

#[test]
fn the_system_clock_agrees_with_chrono() {
    let before = Utc::now();
    let now = SystemClock.now();
    let after = Utc::now();
    assert!(
        before <= now && now <= after,
        "{before} <= {now} <= {after}"
    );
}

// --- Executing commands ------------------------------------------------------------------------

#[test]
fn executing_a_command_appends_its_events_and_returns_them_with_the_new_state() {
    let store = MemoryStore::<CounterEvent>::new();
    let repository = counters(&store);
    let command_id = CommandId::new();
    let context = CommandContext::with_command_id(command_id).with_metadata("user", "clerk-7");
    let executed = repository
        .execute(
            &stream("counter-1"),
            &CounterCommand::Bump { times: 2, by: 5 },
            &context,
        )
        .unwrap();

    assert_eq!(executed.version, 2);
    assert_eq!(executed.state.value, 10);
    assert!(!executed.replayed);
    assert_eq!(
        executed.events,
        vec![CounterEvent::Incremented { by: 5 }; 2]
    );
    let envelopes = executed.envelopes();
    assert_eq!(envelopes.len(), 2);
    for (index, envelope) in (0u32..).zip(&envelopes) {
        assert_eq!(envelope.event_id, EventId::derived(command_id, index));
        assert_eq!(envelope.stream_version, u64::from(index) + 1);
        assert_eq!(envelope.position, u64::from(index) + 1);
        assert_eq!(envelope.correlation_id, command_id.as_uuid());
        assert_eq!(envelope.causation_id, command_id.as_uuid());
        assert_eq!(
            envelope.metadata.get("user").map(String::as_str),
            Some("clerk-7")
        );
    }
    let stored: Vec<_> = store
        .read_stream(&stream("counter-1"), 1)
        .unwrap()
        .map(|e| e.unwrap().into_owned())
        .collect();
    assert_eq!(stored, envelopes);
}

#[test]
fn a_command_without_an_id_gets_one_and_its_events_derive_from_it() {
    let store = MemoryStore::<CounterEvent>::new();
    let executed = counters(&store)
        .execute(&stream("counter-1"), &increment(1), &CommandContext::new())
        .unwrap();
    let recorded = executed.recorded.clone().expect("events were recorded");
    let envelope = executed.envelopes().remove(0);
    assert_eq!(envelope.event_id, EventId::derived(recorded.command_id, 0));
    assert_eq!(envelope.correlation_id, recorded.command_id.as_uuid());
    assert_eq!(envelope.event_id.as_uuid().get_version_num(), 7);
    let stored = first_stored(&store);
    assert_eq!(stored, envelope);
}

#[test]
fn a_rejected_command_returns_the_domain_error_and_writes_nothing() {
    let store = MemoryStore::<CounterEvent>::new();
    let repository = counters(&store);
    let error = repository
        .execute(
            &stream("counter-1"),
            &CounterCommand::Decrement { by: 1 },
            &CommandContext::new(),
        )
        .unwrap_err();
    assert!(
        matches!(
            error,
            ExecuteError::Rejected(CounterError::BelowZero { value: 0, by: 1 })
        ),
        "{error}"
    );
    assert_eq!(store.head_position().unwrap(), 0);
}

#[test]
fn a_command_that_decides_nothing_writes_nothing() {
    let store = MemoryStore::<CounterEvent>::new();
    let repository = counters(&store);
    let executed = repository
        .execute(
            &stream("counter-1"),
            &CounterCommand::Reach { target: 0 },
            &CommandContext::new(),
        )
        .unwrap();
    assert!(executed.events.is_empty());
    assert_eq!(store.head_position().unwrap(), 0);
}

#[test]
fn re_executing_a_command_id_returns_the_first_result_and_writes_nothing() {
    let store = MemoryStore::<CounterEvent>::new();
    let context = CommandContext::with_command_id(CommandId::new());
    let first = counters(&store)
        .execute(
            &stream("counter-1"),
            &CounterCommand::Bump { times: 2, by: 1 },
            &context,
        )
        .unwrap();
    counters(&store)
        .execute(&stream("counter-1"), &increment(10), &CommandContext::new())
        .unwrap();

    // A fresh repository (no cache): the store alone knows the command was executed.
    let again = counters(&store)
        .execute(
            &stream("counter-1"),
            &CounterCommand::Bump { times: 2, by: 1 },
            &context,
        )
        .unwrap();
    assert!(again.replayed);
    assert_eq!(again.events, first.events);
    assert_eq!(again.envelopes(), first.envelopes());
    assert_eq!(again.version, 3, "the state returned is the current one");
    assert_eq!(again.state.value, 12);
    assert_eq!(store.head_position().unwrap(), 3);
}

#[test]
fn a_command_id_reused_on_another_stream_is_refused() {
    let store = MemoryStore::<CounterEvent>::new();
    let repository = counters(&store);
    let context = CommandContext::with_command_id(CommandId::new());
    repository
        .execute(&stream("counter-1"), &increment(1), &context)
        .unwrap();
    let error = repository
        .execute(&stream("counter-2"), &increment(1), &context)
        .unwrap_err();
    assert!(
        matches!(error, ExecuteError::CommandIdReused { .. }),
        "{error}"
    );
    assert_eq!(store.head_position().unwrap(), 1);
}

#[test]
fn a_policy_command_carries_the_triggering_events_correlation_and_causation() {
    let store = MemoryStore::<CounterEvent>::new();
    let repository = counters(&store);
    let trigger = repository
        .execute(
            &stream("counter-1"),
            &increment(1),
            &CommandContext::with_command_id(CommandId::new()),
        )
        .unwrap()
        .envelopes()
        .remove(0);
    let context = CommandContext::new().caused_by(Causation::following(&trigger));
    let reaction = repository
        .execute(&stream("counter-2"), &increment(1), &context)
        .unwrap()
        .envelopes()
        .remove(0);
    assert_eq!(reaction.correlation_id, trigger.correlation_id);
    assert_eq!(reaction.causation_id, trigger.event_id.as_uuid());
}

#[test]
fn a_stale_cached_state_catches_up_and_the_command_is_decided_again() {
    let store = MemoryStore::<CounterEvent>::new();
    let (first, second) = (counters(&store), counters(&store));
    let counter = stream("counter-1");
    first
        .execute(&counter, &increment(1), &CommandContext::new())
        .unwrap();
    // `second` writes behind `first`'s cache.
    second
        .execute(&counter, &increment(5), &CommandContext::new())
        .unwrap();
    // Deciding on the stale state (value 1) would reject; after catching up (value 6) it passes.
    let executed = first
        .execute(
            &counter,
            &CounterCommand::Decrement { by: 4 },
            &CommandContext::new(),
        )
        .unwrap();
    assert_eq!(executed.state.value, 2);
    assert_eq!(executed.version, 3);
}

/// A store where another writer always gets in first.
struct AlwaysContended(MemoryStore<CounterEvent>);

impl EventStore<CounterEvent> for AlwaysContended {
    type StreamEvents<'a> = crate::StreamEvents<'a, CounterEvent>;
    type AllEvents<'a> = crate::AllEvents<'a, CounterEvent>;

    fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent<CounterEvent>>,
    ) -> Result<AppendResult, AppendError> {
        let other = NewEvent::new(CounterEvent::Incremented { by: 1 }, Utc::now());
        self.0.append(stream, ExpectedVersion::Any, vec![other])?;
        self.0.append(stream, expected, events)
    }
    fn read_stream(
        &self,
        stream: &StreamId,
        from_version: u64,
    ) -> Result<Self::StreamEvents<'_>, ReadError> {
        self.0.read_stream(stream, from_version)
    }
    fn read_all(&self, from_position: u64) -> Result<Self::AllEvents<'_>, ReadError> {
        self.0.read_all(from_position)
    }
    fn stream_version(&self, stream: &StreamId) -> Result<u64, ReadError> {
        self.0.stream_version(stream)
    }
    fn head_position(&self) -> Result<u64, ReadError> {
        self.0.head_position()
    }
    fn find_event(&self, event_id: EventId) -> Result<Option<EventLocation>, ReadError> {
        self.0.find_event(event_id)
    }
}

#[test]
fn losing_every_race_gives_up_after_the_configured_attempts_having_written_nothing() {
    let store = MemoryStore::<CounterEvent>::new();
    let repository =
        Repository::<Counter, _, _>::new(AlwaysContended(store.clone())).with_max_attempts(3);
    let error = repository
        .execute(&stream("counter-1"), &increment(7), &CommandContext::new())
        .unwrap_err();
    assert!(
        matches!(error, ExecuteError::TooManyConflicts { attempts: 3, .. }),
        "{error}"
    );
    let written: Vec<_> = store
        .read_all(1)
        .unwrap()
        .map(|e| e.unwrap().event.clone())
        .collect();
    assert_eq!(
        written,
        vec![CounterEvent::Incremented { by: 1 }; 3],
        "only the other writer's events"
    );
}

#[test]
fn concurrent_commands_on_one_aggregate_all_land_exactly_once() {
    let store = MemoryStore::<CounterEvent>::new();
    let repository = Repository::<Counter, _, _>::new(store.clone())
        .with_state_cache(10)
        .with_max_attempts(1_000);
    let counter = stream("counter-hot");
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                for _ in 0..250 {
                    repository
                        .execute(
                            &counter,
                            &increment(1),
                            &CommandContext::with_command_id(CommandId::new()),
                        )
                        .unwrap();
                }
            });
        }
    });
    assert_eq!(repository.load(&counter).unwrap().state.value, 1_000);
    assert_eq!(store.stream_version(&counter).unwrap(), 1_000);
}

#[test]
fn a_small_state_cache_evicts_without_changing_any_answer() {
    let store = MemoryStore::<CounterEvent>::new();
    let repository = Repository::<Counter, _, _>::new(store.clone()).with_state_cache(2);
    for round in 1..=3u32 {
        for id in 0..10 {
            let executed = repository
                .execute(
                    &stream(&format!("counter-{id}")),
                    &increment(id + 1),
                    &CommandContext::new(),
                )
                .unwrap();
            assert_eq!(executed.state.value, i64::from(round * (id + 1)));
        }
    }
}

#[test]
fn a_state_cache_bounded_in_bytes_stays_within_its_budget_and_changes_no_answer() {
    let store = MemoryStore::<CounterEvent>::new();
    let budget = 4 * 1024;
    let repository = Repository::<Counter, _, _>::new(store.clone()).with_state_cache_bytes(budget);
    for round in 1..=3u32 {
        for id in 0..500 {
            let executed = repository
                .execute(
                    &stream(&format!("counter-{id}")),
                    &increment(id + 1),
                    &CommandContext::new(),
                )
                .unwrap();
            assert_eq!(executed.state.value, i64::from(round * (id + 1)));
            let cache = repository.cache.as_ref().unwrap();
            assert!(cache.bytes() <= budget, "{} bytes cached", cache.bytes());
        }
    }
    let cache = repository.cache.as_ref().unwrap();
    assert!(cache.len() > 10, "a budget of 4 KiB holds some counters");
    assert!(cache.len() < 500, "but not all of them");
}

// --- Snapshots ---------------------------------------------------------------------------------

fn snapshot_of(state: &CounterState, stream_version: u64, state_version: u32) -> Snapshot {
    Snapshot {
        stream_version,
        state_version,
        state: serde_json::to_vec(state).unwrap(),
    }
}

#[test]
fn snapshots_are_saved_every_n_events_and_loading_from_them_equals_the_full_fold() {
    let store = MemoryStore::<CounterEvent>::new();
    let snapshots = Arc::new(MemorySnapshotStore::new());
    let repository = Repository::<Counter, _, _>::new(store.clone())
        .with_snapshots(Arc::clone(&snapshots), SnapshotPolicy::every(3));
    let counter = stream("counter-1");
    for by in 1..=10 {
        repository
            .execute(&counter, &increment(by), &CommandContext::new())
            .unwrap();
    }
    let saved = snapshots
        .load_snapshot(&counter)
        .unwrap()
        .expect("a snapshot was saved");
    assert_eq!(saved.stream_version, 9);
    let from_snapshot = Repository::<Counter, _, _>::new(store.clone())
        .with_snapshots(Arc::clone(&snapshots), SnapshotPolicy::Never);
    let full = Repository::<Counter, _, _>::new(store.clone());
    assert_eq!(
        from_snapshot.load(&counter).unwrap().state,
        full.load(&counter).unwrap().state
    );
    assert_eq!(full.load(&counter).unwrap().state.value, 55);
}

/// A snapshot store that refuses every write.
struct BrokenSnapshots;

impl SnapshotStore for BrokenSnapshots {
    fn load_snapshot(&self, _: &StreamId) -> Result<Option<Snapshot>, crate::SnapshotError> {
        Ok(None)
    }
    fn save_snapshot(&self, stream: &StreamId, _: Snapshot) -> Result<(), crate::SnapshotError> {
        Err(crate::SnapshotError {
            stream: stream.clone(),
            source: "disk full".into(),
        })
    }
}

#[test]
fn a_failing_snapshot_store_never_fails_a_command_and_is_counted() {
    let store = MemoryStore::<CounterEvent>::new();
    let repository = Repository::<Counter, _, _>::new(store)
        .with_snapshots(BrokenSnapshots, SnapshotPolicy::every(1));
    let counter = stream("counter-1");
    for by in 1..=3 {
        repository
            .execute(&counter, &increment(by), &CommandContext::new())
            .unwrap();
    }
    assert_eq!(repository.snapshot_failures(), 3);
    assert_eq!(repository.load(&counter).unwrap().state.value, 6);
}

#[test]
fn a_usable_snapshot_is_loaded_instead_of_replaying() {
    let store = MemoryStore::<CounterEvent>::new();
    let counter = stream("counter-1");
    counters(&store)
        .execute(&counter, &increment(1), &CommandContext::new())
        .unwrap();
    let snapshots = MemorySnapshotStore::new();
    // A planted snapshot that differs from the real fold proves it is read.
    let planted = CounterState {
        value: 1_000,
        closed: false,
        changes: 1,
    };
    snapshots
        .save_snapshot(&counter, snapshot_of(&planted, 1, Counter::STATE_VERSION))
        .unwrap();
    let repository =
        Repository::<Counter, _, _>::new(store).with_snapshots(snapshots, SnapshotPolicy::Never);
    assert_eq!(repository.load(&counter).unwrap().state.value, 1_000);
}

#[test]
fn unusable_snapshots_are_ignored_and_the_stream_replayed() {
    let store = MemoryStore::<CounterEvent>::new();
    let counter = stream("counter-1");
    counters(&store)
        .execute(&counter, &increment(1), &CommandContext::new())
        .unwrap();
    let planted = CounterState {
        value: 1_000,
        closed: false,
        changes: 1,
    };
    let unusable = [
        (
            "another state version",
            snapshot_of(&planted, 1, Counter::STATE_VERSION + 1),
        ),
        (
            "undecodable bytes",
            Snapshot {
                stream_version: 1,
                state_version: Counter::STATE_VERSION,
                state: b"{not json".to_vec(),
            },
        ),
        (
            "ahead of its stream",
            snapshot_of(&planted, 7, Counter::STATE_VERSION),
        ),
    ];
    for (why, snapshot) in unusable {
        let snapshots = MemorySnapshotStore::new();
        snapshots.save_snapshot(&counter, snapshot).unwrap();
        let repository = Repository::<Counter, _, _>::new(store.clone())
            .with_snapshots(snapshots, SnapshotPolicy::Never);
        assert_eq!(
            repository.load(&counter).unwrap().state.value,
            1,
            "snapshot with {why} was used"
        );
    }
}

// --- One store for many aggregates -------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
enum AppEvent {
    Counter(CounterEvent),
    Probe(ProbeEvent),
}

impl Event for AppEvent {
    fn event_type(&self) -> &'static str {
        match self {
            Self::Counter(event) => event.event_type(),
            Self::Probe(event) => event.event_type(),
        }
    }
    fn schema_version(&self) -> u32 {
        match self {
            Self::Counter(event) => event.schema_version(),
            Self::Probe(event) => event.schema_version(),
        }
    }
    fn catalogue() -> Vec<EventSchema> {
        let mut catalogue = CounterEvent::catalogue();
        catalogue.extend(ProbeEvent::catalogue());
        catalogue
    }
}

impl From<CounterEvent> for AppEvent {
    fn from(event: CounterEvent) -> Self {
        Self::Counter(event)
    }
}

impl Contains<CounterEvent> for AppEvent {
    fn narrow(&self) -> Option<&CounterEvent> {
        match self {
            Self::Counter(event) => Some(event),
            Self::Probe(_) => None,
        }
    }
}

#[test]
fn an_application_event_type_holds_many_aggregates_events() {
    let store = MemoryStore::<AppEvent>::new();
    let repository = Repository::<Counter, _, _>::new(store.clone());
    let executed = repository
        .execute(&stream("counter-1"), &increment(2), &CommandContext::new())
        .unwrap();
    assert_eq!(executed.events[0], CounterEvent::Incremented { by: 2 });
    let stored = first_stored(&store);
    assert_eq!(
        stored.event,
        AppEvent::Counter(CounterEvent::Incremented { by: 2 })
    );
}

#[test]
fn a_foreign_event_in_an_aggregates_stream_is_a_typed_load_error() {
    let store = MemoryStore::<AppEvent>::new();
    let counter = stream("counter-1");
    store
        .append(
            &counter,
            ExpectedVersion::Any,
            vec![NewEvent::new(
                AppEvent::Probe(ProbeEvent::noted(1)),
                Utc::now(),
            )],
        )
        .unwrap();
    let error = Repository::<Counter, _, _>::new(store)
        .load(&counter)
        .unwrap_err();
    assert!(
        matches!(
            error,
            LoadError::ForeignEvent {
                version: 1,
                event_type: "probe.noted",
                ..
            }
        ),
        "{error}"
    );
}

// --- The laws, as properties -------------------------------------------------------------------

proptest! {
    #[test]
    fn counter_obeys_the_domain_laws(commands in proptest::collection::vec(arbitrary_counter_command(), 0..40)) {
        laws::check_command_sequence::<Counter>(&commands, counter_invariant);
        laws::assert_replay_deterministic::<Counter>(&commands);
    }

    #[test]
    fn a_snapshot_plus_its_tail_equals_the_full_fold(commands in proptest::collection::vec(arbitrary_counter_command(), 0..40)) {
        let (_, history) = laws::decide_all::<Counter>(&commands);
        laws::assert_snapshot_equivalence::<Counter>(&history);
    }

    #[test]
    fn repository_with_snapshots_and_cache_agrees_with_a_plain_fold(
        commands in proptest::collection::vec(arbitrary_counter_command(), 0..40),
        every in 1u64..6,
    ) {
        let store = MemoryStore::<CounterEvent>::new();
        let snapshots = Arc::new(MemorySnapshotStore::new());
        let repository = Repository::<Counter, _, _>::new(store.clone())
            .with_state_cache(4)
            .with_snapshots(Arc::clone(&snapshots), SnapshotPolicy::every(every));
        let counter = stream("counter-1");
        for command in &commands {
            let _ = repository.execute(&counter, command, &CommandContext::new());
        }
        let from_snapshot = Repository::<Counter, _, _>::new(store.clone()).with_snapshots(snapshots, SnapshotPolicy::Never);
        let plain = Repository::<Counter, _, _>::new(store);
        prop_assert_eq!(from_snapshot.load(&counter).unwrap().state, plain.load(&counter).unwrap().state);
    }
}
