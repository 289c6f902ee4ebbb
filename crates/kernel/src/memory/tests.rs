use std::time::Duration;

use super::*;
use crate::testing::fixture::{noted, stream, ProbeEvent};
use crate::testing::{conformance, model};

#[test]
fn memory_store_passes_the_conformance_suite() {
    conformance::run_all(MemoryStore::new);
}

proptest::proptest! {
    #[test]
    fn memory_store_agrees_with_the_reference_model(ops in model::arbitrary_store_ops(60)) {
        model::check_against_model(MemoryStore::new(), &ops, |store| store);
    }
}

#[test]
fn clones_share_one_store() {
    let store = MemoryStore::<ProbeEvent>::new();
    let other = store.clone();
    store
        .append(&stream("a"), ExpectedVersion::Any, vec![noted(1)])
        .unwrap();
    assert_eq!(other.head_position().unwrap(), 1);
    assert_eq!(other.stream_version(&stream("a")).unwrap(), 1);
}

#[test]
fn reads_borrow_events_in_place_without_copying() {
    let store = MemoryStore::<ProbeEvent>::new();
    store
        .append(&stream("a"), ExpectedVersion::Any, vec![noted(1)])
        .unwrap();
    let first = store
        .read_stream(&stream("a"), 1)
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    assert!(matches!(first, Cow::Borrowed(_)));
    let first = store.read_all(1).unwrap().next().unwrap().unwrap();
    assert!(matches!(first, Cow::Borrowed(_)));
}

#[test]
fn wait_for_commit_returns_when_an_append_lands_and_times_out_otherwise() {
    let store = MemoryStore::<ProbeEvent>::new();
    assert_eq!(
        store.wait_for_commit(0, Duration::from_millis(10)).unwrap(),
        0
    );
    let writer = {
        let store = store.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            store
                .append(&stream("a"), ExpectedVersion::Any, vec![noted(1)])
                .unwrap();
        })
    };
    assert_eq!(
        store.wait_for_commit(0, Duration::from_secs(10)).unwrap(),
        1
    );
    writer.join().unwrap();
}

#[test]
fn checkpoints_are_kept_in_the_store() {
    let store = MemoryStore::<ProbeEvent>::new();
    assert_eq!(store.load_checkpoint("reports").unwrap(), 0);
    store.save_checkpoint("reports", 42).unwrap();
    assert_eq!(store.clone().load_checkpoint("reports").unwrap(), 42);
}

#[test]
fn an_append_of_ten_thousand_events_is_one_atomic_append() {
    let store = MemoryStore::<ProbeEvent>::new();
    let events: Vec<_> = (0..10_000).map(noted).collect();
    let result = store
        .append(&stream("bulk"), ExpectedVersion::NoStream, events.clone())
        .unwrap();
    assert_eq!((result.first_position, result.last_position), (1, 10_000));
    // The whole batch again is one idempotent retry.
    assert_eq!(
        store
            .append(&stream("bulk"), ExpectedVersion::NoStream, events)
            .unwrap(),
        result
    );
}

#[test]
fn memory_store_passes_the_import_conformance_suite() {
    crate::testing::import_conformance::run_all(MemoryStore::new);
}
