use std::collections::BTreeMap;
use std::time::Duration;

use proptest::prelude::*;

use super::*;
use crate::testing::fixture::{arbitrary_counter_command, Counter, CounterEvent};
use crate::{CommandContext, MemoryStore, Repository, StreamId};

/// Value per counter, and how many events were seen: a read model over every stream.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Totals {
    values: BTreeMap<String, i64>,
    seen: u64,
}

impl Projection<CounterEvent> for Totals {
    fn apply(&mut self, envelope: &Envelope<CounterEvent>) {
        self.seen += 1;
        let value = self
            .values
            .entry(envelope.stream_id.to_string())
            .or_default();
        match envelope.event {
            CounterEvent::Incremented { by } => *value += i64::from(by),
            CounterEvent::Decremented { by } => *value -= i64::from(by),
            CounterEvent::Closed => {}
        }
    }
}

fn fill(store: &MemoryStore<CounterEvent>, counters: u32, each: u32) {
    let repository = Repository::<Counter, _, _>::new(store.clone());
    for round in 0..each {
        for counter in 0..counters {
            let stream = StreamId::new(format!("counter-{counter}")).unwrap();
            let command = crate::testing::fixture::CounterCommand::Increment { by: round + 1 };
            repository
                .execute(&stream, &command, &CommandContext::new())
                .unwrap();
        }
    }
}

#[test]
fn catch_up_applies_every_event_once_and_saves_the_checkpoint() {
    let store = MemoryStore::new();
    fill(&store, 3, 4);
    let mut projector = Projector::new("totals", Totals::default()).checkpoint_every(5);
    assert_eq!(projector.catch_up(&store, &store).unwrap(), 12);
    assert_eq!(projector.position(), 12);
    assert_eq!(store.load_checkpoint("totals").unwrap(), 12);
    assert_eq!(projector.projection().values["counter-0"], 10);
    // Nothing new: nothing applied.
    assert_eq!(projector.catch_up(&store, &store).unwrap(), 0);
    fill(&store, 1, 1);
    assert_eq!(projector.catch_up(&store, &store).unwrap(), 1);
    assert_eq!(projector.projection().seen, 13);
}

#[test]
fn a_saved_read_model_resumes_with_its_state_and_folds_only_what_came_after() {
    let store = MemoryStore::new();
    fill(&store, 3, 4);
    let mut projector = Projector::<Totals>::load_saved("totals", &store).unwrap();
    assert_eq!(projector.position(), 0, "nothing saved yet: empty, at 0");
    projector.catch_up(&store, &store).unwrap();
    projector.save(&store).unwrap();
    fill(&store, 1, 1);
    let mut resumed = Projector::<Totals>::load_saved("totals", &store).unwrap();
    assert_eq!(resumed.position(), 12);
    assert_eq!(resumed.projection(), projector.projection());
    assert_eq!(
        resumed.catch_up(&store, &store).unwrap(),
        1,
        "only the new event"
    );
    let mut rebuilt = Projector::new("rebuilt", Totals::default());
    rebuilt.catch_up(&store, &store).unwrap();
    assert_eq!(resumed.projection(), rebuilt.projection());
    // What does not decode is a cache miss: an empty read model at 0.
    store
        .save_read_model(
            "totals",
            &crate::SavedReadModel {
                position: 12,
                state: b"{not json".to_vec(),
            },
        )
        .unwrap();
    let fresh = Projector::<Totals>::load_saved("totals", &store).unwrap();
    assert_eq!((fresh.position(), fresh.projection().seen), (0, 0));
}

#[test]
fn a_resumed_projector_starts_after_its_checkpoint() {
    let store = MemoryStore::new();
    fill(&store, 2, 2);
    store.save_checkpoint("totals", 3).unwrap();
    let mut projector = Projector::resume("totals", Totals::default(), &store).unwrap();
    assert_eq!(projector.catch_up(&store, &store).unwrap(), 1);
}

#[test]
fn rebuild_starts_over_from_zero() {
    let store = MemoryStore::new();
    fill(&store, 2, 3);
    let mut projector = Projector::new("totals", Totals::default());
    projector.catch_up(&store, &store).unwrap();
    let incremental = projector.projection().clone();
    assert_eq!(
        projector
            .rebuild(Totals::default(), &store, &store)
            .unwrap(),
        6
    );
    assert_eq!(projector.projection(), &incremental);
}

#[test]
fn a_subscription_catches_up_then_follows_new_commits() {
    let store = MemoryStore::new();
    fill(&store, 2, 2);
    let subscription = Subscription::start(
        store.clone(),
        Projector::new("totals", Totals::default()),
        store.clone(),
    );
    assert!(subscription.wait_for(4, Duration::from_secs(10)));
    fill(&store, 3, 1);
    assert!(subscription.wait_for(7, Duration::from_secs(10)));
    assert_eq!(subscription.read(|totals| totals.seen), 7);
    let projector = subscription.stop().unwrap();
    assert_eq!(projector.position(), 7);
    assert_eq!(store.load_checkpoint("totals").unwrap(), 7);
}

proptest! {
    #[test]
    fn a_projection_maintained_incrementally_equals_one_rebuilt_from_zero(
        batches in proptest::collection::vec(
            proptest::collection::vec((0u8..4, arbitrary_counter_command()), 0..10), 1..6),
    ) {
        let store = MemoryStore::new();
        let repository = Repository::<Counter, _, _>::new(store.clone());
        let mut incremental = Projector::new("incremental", Totals::default());
        for batch in &batches {
            for (counter, command) in batch {
                let stream = StreamId::new(format!("counter-{counter}")).unwrap();
                let _ = repository.execute(&stream, command, &CommandContext::new());
            }
            incremental.catch_up(&store, &store).unwrap();
        }
        let mut rebuilt = Projector::new("rebuilt", Totals::default());
        rebuilt.rebuild(Totals::default(), &store, &store).unwrap();
        prop_assert_eq!(incremental.projection(), rebuilt.projection());
        prop_assert_eq!(incremental.position(), store.head_position().unwrap());
    }
}
