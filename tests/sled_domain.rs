//! The domain on the sled store: the end-to-end scenario of the domain's tests, unchanged; the
//! repository with snapshots kept in sled; personal data and its erasure; read models committed
//! with their checkpoint.

use service_lifecycle::kernel::testing::fixture::{
    fixture_time, Counter, CounterCommand, CounterEvent, ProbeEvent,
};
use service_lifecycle::kernel::{
    CheckpointStore, CommandContext, Envelope, EventStore, ExpectedVersion, NewEvent, Projection,
    Repository, SnapshotPolicy, SnapshotStore, StreamId, SubjectId, Vault,
};
use service_lifecycle::sled::{Durability, DurableProjector, SledOptions, SledStore};
use service_lifecycle::testing::scenario::receipt_to_post_warranty_repair;
use service_lifecycle::{
    CustomerId, PersonalData, RelationshipLevel, ServiceEvent, ServiceLifecycle, TargetGroup,
};

#[test]
fn the_domain_scenario_runs_on_the_sled_store_and_survives_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::<ServiceEvent>::open(dir.path()).unwrap();
    receipt_to_post_warranty_repair(store.clone());
    let head = store.head_position().unwrap();
    assert!(head > 30, "the scenario wrote {head} events");
    drop(store);
    let reopened = SledStore::<ServiceEvent>::open(dir.path()).unwrap();
    assert_eq!(reopened.head_position().unwrap(), head);
    let report = reopened.verify().unwrap();
    assert!(report.is_clean(), "{report}");
}

#[test]
fn snapshots_in_sled_give_the_same_state_as_a_full_replay_and_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let counter = StreamId::new("counter-1").unwrap();
    let options = || SledOptions::new().durability(Durability::Buffered);
    let expected = {
        let store = SledStore::<CounterEvent>::open_with(dir.path(), options()).unwrap();
        let repository = Repository::<Counter, _, _>::new(store.clone())
            .with_snapshots(store.clone(), SnapshotPolicy::every(5));
        for _ in 0..12 {
            repository
                .execute(
                    &counter,
                    &CounterCommand::Increment { by: 2 },
                    &CommandContext::new(),
                )
                .unwrap();
        }
        let snapshot = store.load_snapshot(&counter).unwrap().expect("a snapshot");
        assert_eq!(snapshot.stream_version, 10);
        repository.load(&counter).unwrap().state.value
    };
    let store = SledStore::<CounterEvent>::open_with(dir.path(), options()).unwrap();
    let with_snapshots = Repository::<Counter, _, _>::new(store.clone())
        .with_snapshots(store.clone(), SnapshotPolicy::every(5));
    let without = Repository::<Counter, _, _>::new(store);
    assert_eq!(expected, 24);
    assert_eq!(with_snapshots.load(&counter).unwrap().state.value, expected);
    assert_eq!(without.load(&counter).unwrap().state.value, expected);
}

/// `open` once the lock a just-dropped handle's background threads still hold is released.
fn waiting_for_the_lock<T, E: std::fmt::Display>(open: impl Fn() -> Result<T, E>) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match open() {
            Ok(opened) => return opened,
            Err(_) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(error) => panic!("the database does not open: {error}"),
        }
    }
}

/// Opens the database under a store with sled itself.
fn open_raw_sled(path: &std::path::Path) -> sled::Db {
    waiting_for_the_lock(|| sled::open(path))
}

/// Opens the store again once the raw handle's lock is released.
fn open_waiting(path: &std::path::Path) -> SledStore<ServiceEvent> {
    waiting_for_the_lock(|| SledStore::<ServiceEvent>::open(path))
}

#[test]
fn checkpoints_and_personal_data_persist_and_erasure_removes_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let customer = CustomerId::from_uuid(uuid::Uuid::from_u128(1));
    let anna = PersonalData {
        name: "Anna Petrova".into(),
        contact: "+7 900 000 00 00".into(),
    };
    let service_on = |store: &SledStore<ServiceEvent>| {
        ServiceLifecycle::new(store.clone())
            .unwrap()
            .with_personal_data(store.clone())
    };
    {
        let store = SledStore::<ServiceEvent>::open(dir.path()).unwrap();
        assert_eq!(store.load_checkpoint("reports").unwrap(), 0);
        store.save_checkpoint("reports", 42).unwrap();
        service_on(&store)
            .register_customer(
                customer,
                anna.clone(),
                TargetGroup::Household,
                RelationshipLevel::Basic,
                None,
                fixture_time(),
                &CommandContext::new(),
            )
            .unwrap();
    }
    // The on-disk record is what every release wrote and reads: key b'D' and the customer's 16
    // uuid bytes; value the JSON of the personal data and a 4-byte CRC-32 (docs/storage-format.md).
    let raw = open_raw_sled(dir.path());
    let mut key = vec![b'D'];
    key.extend_from_slice(customer.as_uuid().as_bytes());
    let value = raw
        .get(&key)
        .unwrap()
        .expect("the record is stored under its key");
    let json = br#"{"name":"Anna Petrova","contact":"+7 900 000 00 00"}"#;
    assert_eq!(&value[..value.len() - 4], json);
    assert_eq!(value.len(), json.len() + 4);
    drop(raw);
    let store = open_waiting(dir.path());
    assert_eq!(store.load_checkpoint("reports").unwrap(), 42);
    let service = service_on(&store);
    assert_eq!(service.personal_data(customer).unwrap(), Some(anna));
    service
        .erase_customer(customer, fixture_time(), &CommandContext::new())
        .unwrap();
    assert_eq!(service.personal_data(customer).unwrap(), None);
    let subject = SubjectId::from_uuid(customer.as_uuid());
    assert!(!store.erase(subject).unwrap(), "erased already");
    drop((service, store));
    let store = SledStore::<ServiceEvent>::open(dir.path()).unwrap();
    assert_eq!(service_on(&store).personal_data(customer).unwrap(), None);
    assert_eq!(store.get(subject).unwrap(), None);
    assert!(store.verify().unwrap().is_clean());
}

/// A read model that counts events and remembers the positions it applied.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct Applied {
    positions: Vec<u64>,
}

impl Projection<ProbeEvent> for Applied {
    fn apply(&mut self, envelope: &Envelope<ProbeEvent>) {
        self.positions.push(envelope.position);
    }
}

#[test]
fn a_durable_read_model_resumes_from_its_commit_without_applying_anything_twice() {
    let dir = tempfile::tempdir().unwrap();
    let stream = StreamId::new("probe-1").unwrap();
    let at = fixture_time();
    let append = |store: &SledStore<ProbeEvent>, seqs: std::ops::Range<u64>| {
        let events = seqs
            .map(|seq| NewEvent::new(ProbeEvent::noted(seq), at))
            .collect();
        store.append(&stream, ExpectedVersion::Any, events).unwrap();
    };
    {
        let store = SledStore::<ProbeEvent>::open(dir.path()).unwrap();
        append(&store, 1..8);
        let mut applied = DurableProjector::<Applied>::load(&store, "applied")
            .unwrap()
            .commit_every(3);
        assert_eq!(applied.catch_up(&store).unwrap(), 7);
        append(&store, 8..11);
        // Stopped here: the three new events are not applied, nothing of them is committed.
    }
    let store = SledStore::<ProbeEvent>::open(dir.path()).unwrap();
    let mut applied = DurableProjector::<Applied>::load(&store, "applied").unwrap();
    assert_eq!(applied.position(), 7);
    assert_eq!(store.load_checkpoint("applied").unwrap(), 7);
    assert_eq!(applied.catch_up(&store).unwrap(), 3);
    assert_eq!(applied.projection().positions, (1..=10).collect::<Vec<_>>());
    let mut rebuilt = Applied::default();
    for envelope in store.read_all(1).unwrap() {
        rebuilt.apply(&envelope.unwrap());
    }
    assert_eq!(rebuilt.positions, applied.projection().positions);
}

mod reports_on_sled {
    use proptest::prelude::*;
    use service_lifecycle::kernel::Projector;
    use service_lifecycle::reports::Reports;
    use service_lifecycle::sled::{Durability, DurableProjector, SledOptions, SledStore};
    use service_lifecycle::testing::histories::{arbitrary_ops, run};
    use service_lifecycle::ServiceEvent;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

        /// The reports kept in sled with their checkpoint, caught up after each part of a
        /// history and reloaded from the database each time, equal the reports rebuilt from
        /// zero over the whole history.
        #[test]
        fn durable_reports_caught_up_in_parts_equal_reports_rebuilt_from_zero(
            ops in arbitrary_ops(40),
            cut in any::<prop::sample::Index>(),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let options = || SledOptions::new().durability(Durability::Buffered);
            let cut = cut.index(ops.len() + 1);
            for part in [&ops[..cut], &ops[cut..]] {
                let store = SledStore::<ServiceEvent>::open_with(dir.path(), options()).unwrap();
                run(store.clone(), part);
                let mut reports = DurableProjector::<Reports>::load(&store, "reports")
                    .unwrap()
                    .commit_every(5);
                reports.catch_up(&store).unwrap();
            }
            let store = SledStore::<ServiceEvent>::open_with(dir.path(), options()).unwrap();
            let durable = DurableProjector::<Reports>::load(&store, "reports").unwrap();
            let mut rebuilt = Projector::new("rebuilt", Reports::default());
            rebuilt.catch_up(&store, &store).unwrap();
            prop_assert_eq!(durable.projection(), rebuilt.projection());
        }
    }
}
