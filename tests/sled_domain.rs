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
use service_lifecycle::testing::races;
use service_lifecycle::testing::scenario::receipt_to_post_warranty_repair;
use service_lifecycle::{
    CustomerId, PersonalData, Registration, ServiceError, ServiceEvent, ServiceLifecycle,
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
/// The files under `dir` (recursively) whose bytes contain `needle`.
fn files_holding(dir: &std::path::Path, needle: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_holding(&path, needle));
        } else if std::fs::read(&path)
            .unwrap()
            .windows(needle.len())
            .any(|window| window == needle)
        {
            found.push(path.display().to_string());
        }
    }
    found
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

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
        ServiceLifecycle::builder(store.clone())
            .personal_data(store.clone())
            .open()
            .unwrap()
    };
    {
        let store = SledStore::<ServiceEvent>::open(dir.path()).unwrap();
        assert_eq!(store.load_checkpoint("reports").unwrap(), 0);
        store.save_checkpoint("reports", 42).unwrap();
        service_on(&store)
            .register_customer(
                Registration::new(customer, anna.clone(), fixture_time()),
                &CommandContext::new(),
            )
            .unwrap();
    }
    // The record is encrypted: no file of the store holds the name or the contact in plain form.
    for value in [&anna.name, &anna.contact] {
        assert_eq!(
            files_holding(dir.path(), value.as_bytes()),
            Vec::<String>::new()
        );
    }
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

#[test]
fn after_erasure_no_file_of_the_store_holds_the_persons_data_in_a_readable_form() {
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("store");
    let erased = CustomerId::from_uuid(uuid::Uuid::from_u128(7));
    let data = PersonalData {
        name: "Erasmus Forgetful".into(),
        contact: "+7 912 345 67 89, erasmus.forgetful@example.org".into(),
    };
    let kept = |n: u128| CustomerId::from_uuid(uuid::Uuid::from_u128(1_000 + n));
    let kept_data = |n: u128| PersonalData {
        name: format!("Kept Customer {n}"),
        contact: format!("kept{n}@example.org"),
    };
    let service_on = |store: &SledStore<ServiceEvent>| {
        ServiceLifecycle::builder(store.clone())
            .personal_data(store.clone())
            .open()
            .unwrap()
    };
    let register =
        |service: &ServiceLifecycle<SledStore<ServiceEvent>>, id, data: &PersonalData| {
            service
                .register_customer(
                    Registration::new(id, data.clone(), fixture_time()),
                    &CommandContext::new(),
                )
                .unwrap();
        };
    let before_erasure = dir.path().join("before-erasure");
    {
        let store = SledStore::<ServiceEvent>::open(&store_dir).unwrap();
        let service = service_on(&store);
        register(&service, erased, &data);
        for n in 0..50 {
            register(&service, kept(n), &kept_data(n));
        }
        store.flush().unwrap();
        drop((service, store));
        // What a thief of the disk before the erasure would have: the data, readable.
        copy_dir(&store_dir, &before_erasure);
        let store = open_waiting(&store_dir);
        let service = service_on(&store);
        assert_eq!(service.personal_data(erased).unwrap(), Some(data.clone()));
        service
            .erase_customer(erased, fixture_time(), &CommandContext::new())
            .unwrap();
        store.flush().unwrap();
    }
    // No file holds a value in plain form...
    let phone = "+7 912 345 67 89";
    let email = "erasmus.forgetful@example.org";
    for value in [data.name.as_str(), phone, email] {
        assert_eq!(
            files_holding(&store_dir, value.as_bytes()),
            Vec::<String>::new(),
            "{value}"
        );
    }
    // ...and what is left of the encrypted record cannot be read: even the whole database as it
    // was before the erasure, with the key file as it is now, gives nothing.
    let mixed = dir.path().join("old-database-new-keys");
    copy_dir(&before_erasure, &mixed);
    std::fs::copy(store_dir.join("vault-keys"), mixed.join("vault-keys")).unwrap();
    let store = open_waiting(&mixed);
    let subject = SubjectId::from_uuid(erased.as_uuid());
    assert_eq!(store.get(subject).unwrap(), None, "the erased key is gone");
    assert_eq!(
        service_on(&store).personal_data(kept(3)).unwrap(),
        Some(kept_data(3)),
        "everyone else's data reads as before"
    );
    drop(store);
    let store = open_waiting(&before_erasure);
    assert!(
        store.get(subject).unwrap().is_some(),
        "before the erasure the same record was readable"
    );
    drop(store);
    let store = open_waiting(&store_dir);
    let service = service_on(&store);
    assert_eq!(service.personal_data(erased).unwrap(), None);
    for n in 0..50 {
        assert_eq!(service.personal_data(kept(n)).unwrap(), Some(kept_data(n)));
    }
    assert!(store.verify().unwrap().is_clean());
}

#[test]
fn a_record_written_before_records_were_encrypted_is_read_then_replaced_or_erased() {
    let dir = tempfile::tempdir().unwrap();
    let subject = SubjectId::from_uuid(uuid::Uuid::from_u128(9));
    drop(SledStore::<ProbeEvent>::open(dir.path()).unwrap());
    // The earlier layout: key b'D' and the subject's 16 bytes; value the record and a CRC-32 of
    // key and record (docs/storage-format.md).
    let raw = open_raw_sled(dir.path());
    let mut key = vec![b'D'];
    key.extend_from_slice(subject.as_uuid().as_bytes());
    let record = br#"{"name":"Old Record","contact":"old@example.org"}"#.to_vec();
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&key);
    hasher.update(&record);
    let mut value = record.clone();
    value.extend_from_slice(&hasher.finalize().to_le_bytes());
    raw.insert(&key, value).unwrap();
    raw.flush().unwrap();
    drop(raw);
    let store = waiting_for_the_lock(|| SledStore::<ProbeEvent>::open(dir.path()));
    assert_eq!(store.get(subject).unwrap(), Some(record.clone()));
    assert!(store.verify().unwrap().is_clean());
    store.put(subject, b"new".to_vec()).unwrap();
    assert_eq!(store.get(subject).unwrap().as_deref(), Some(&b"new"[..]));
    assert!(store.erase(subject).unwrap());
    assert_eq!(store.get(subject).unwrap(), None);
    let other = SubjectId::from_uuid(uuid::Uuid::from_u128(10));
    drop(store);
    let raw = open_raw_sled(dir.path());
    let mut other_key = vec![b'D'];
    other_key.extend_from_slice(other.as_uuid().as_bytes());
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&other_key);
    hasher.update(&record);
    let mut value = record.clone();
    value.extend_from_slice(&hasher.finalize().to_le_bytes());
    raw.insert(&other_key, value).unwrap();
    raw.flush().unwrap();
    drop(raw);
    let store = waiting_for_the_lock(|| SledStore::<ProbeEvent>::open(dir.path()));
    assert!(store.erase(other).unwrap(), "a plain record is erased too");
    assert_eq!(store.get(other).unwrap(), None);
}

/// S1 and T2 under concurrency on sled: four threads over two applications sharing one store
/// propose overlapping contracts on a unit, trial after trial, and a dispatch races a
/// revocation; at most one passes each time, and every loser gets the rule's refusal.
#[test]
fn rules_across_aggregates_hold_when_commands_race_on_sled() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::<ServiceEvent>::open(dir.path()).unwrap();
    let world = service_lifecycle::testing::scenario::world_on(store.clone());
    world.setup_customer_technician_and_parts();
    let services = [
        ServiceLifecycle::new(store.clone()).unwrap(),
        ServiceLifecycle::new(store.clone()).unwrap(),
    ];
    let report = races::overlapping_contracts(&world, &services, 4, 1_000);
    assert_eq!(report.violations, 0, "{report:?}");
    assert!(report.unexpected.is_empty(), "{report:?}");
    assert_eq!(
        (report.passed, report.refused),
        (1_000, 3_000),
        "{report:?}"
    );
    world.prepare_and_sell();
    let report = races::dispatch_against_revocation(&world, &services, 200);
    assert_eq!(report.violations, 0, "{report:?}");
    assert!(report.unexpected.is_empty(), "{report:?}");
    assert_eq!(report.passed + report.refused, 200, "{report:?}");
    let verified = store.verify().unwrap();
    assert!(verified.is_clean(), "{verified}");
}

/// An application's `?` carries the sled store's errors into the facade's error, like the
/// domain's own.
#[test]
fn an_applications_question_mark_carries_the_sled_stores_errors() {
    fn open(
        path: &std::path::Path,
    ) -> Result<ServiceLifecycle<SledStore<ServiceEvent>>, ServiceError> {
        let store = SledStore::open(path)?;
        store.flush()?;
        ServiceLifecycle::builder(store.clone())
            .personal_data(store)
            .open()
    }
    let dir = tempfile::tempdir().unwrap();
    assert!(open(&dir.path().join("store")).is_ok());
    let not_a_directory = dir.path().join("file");
    std::fs::write(&not_a_directory, "not a store").unwrap();
    let error = open(&not_a_directory).unwrap_err();
    assert!(matches!(error, ServiceError::Adapter(_)), "{error}");
    assert!(!error.is_rejection());
}
