//! Every single-bit flip and every truncation of a stored record is detected: a typed error naming
//! the record, never different data, never a panic (docs/testing.md §2.5). The damage is written
//! through the storage underneath, as a failing disk would leave it. Every test runs on both
//! engines, sled and redb.

use service_lifecycle_kernel::testing::fixture::{fixture_time, ProbeEvent};
use service_lifecycle_kernel::{
    Envelope, EventId, EventStore, ExpectedVersion, NewEvent, ReadError, StreamId, VisitError,
};
use service_lifecycle_sled::{
    Engine, EngineStorage, OpenError, RedbStorage, SledOptions, SledStorage, SledStore, Storage,
    WriteBatch,
};

fn stream() -> StreamId {
    StreamId::new("probe-1").expect("valid stream id")
}

/// A store holding three events of `probe-1` and one of `probe-2`.
fn store_with_events(
    dir: &std::path::Path,
    engine: Engine,
) -> (SledStore<ProbeEvent>, Vec<EventId>) {
    let store = SledStore::<ProbeEvent>::open_with(dir, SledOptions::new().engine(engine)).unwrap();
    assert_eq!(store.storage().engine(), engine);
    let at = fixture_time();
    let events: Vec<_> = (1..=3)
        .map(|seq| NewEvent::new(ProbeEvent::noted(seq), at).with_metadata("user", "clerk"))
        .collect();
    let ids = events.iter().map(|event| event.event_id).collect();
    store
        .append(&stream(), ExpectedVersion::NoStream, events)
        .unwrap();
    let other = StreamId::new("probe-2").unwrap();
    store
        .append(
            &other,
            ExpectedVersion::NoStream,
            vec![NewEvent::new(ProbeEvent::noted(4), at)],
        )
        .unwrap();
    (store, ids)
}

fn put(store: &SledStore<ProbeEvent>, key: &[u8], value: Vec<u8>) {
    let mut batch = WriteBatch::new();
    batch.insert(key.to_vec(), value);
    store.storage().apply(batch).unwrap();
}

fn log_key(position: u64) -> Vec<u8> {
    let mut key = vec![b'L'];
    key.extend_from_slice(&position.to_be_bytes());
    key
}

fn read_all(store: &SledStore<ProbeEvent>) -> Vec<Result<Envelope<ProbeEvent>, ReadError>> {
    store
        .read_all(1)
        .unwrap()
        .map(|item| item.map(|event| event.into_owned()))
        .collect()
}

fn read_stream(store: &SledStore<ProbeEvent>) -> Result<Vec<Envelope<ProbeEvent>>, ReadError> {
    store
        .read_stream(&stream(), 1)?
        .map(|item| item.map(|event| event.into_owned()))
        .collect()
}

/// Every damaged variant of the value under `key`: each single-bit flip and each truncation.
fn damaged_variants(original: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut variants = Vec::new();
    for bit in 0..original.len() * 8 {
        let mut flipped = original.to_vec();
        flipped[bit / 8] ^= 1 << (bit % 8);
        variants.push((format!("bit {bit} flipped"), flipped));
    }
    for len in 0..original.len() {
        variants.push((
            format!("truncated to {len} bytes"),
            original[..len].to_vec(),
        ));
    }
    variants
}

fn assert_corrupt_naming(
    outcome: Result<impl std::fmt::Debug, ReadError>,
    names: &str,
    what: &str,
) {
    match outcome {
        Err(ReadError::Corrupt { record, .. }) => {
            assert!(record.contains(names), "{what}: the error names {record:?}")
        }
        other => panic!("{what}: expected a corrupt record naming {names:?}, got {other:?}"),
    }
}

fn every_bit_flip_and_truncation_of_an_event_record_is_detected_by_every_read_path(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let (store, ids) = store_with_events(dir.path(), engine);
    let key = log_key(2);
    let original = store.storage().get(&key).unwrap().unwrap().to_vec();
    let intact = read_all(&store);
    for (what, damaged) in damaged_variants(&original) {
        put(&store, &key, damaged);
        let all = read_all(&store);
        assert!(all[0].is_ok(), "{what}: position 1 is intact");
        assert_corrupt_naming(
            all[1].as_ref().map(|_| ()).map_err(clone_error),
            "log position 2",
            &what,
        );
        assert_eq!(all.len(), 2, "{what}: a read stops at the damaged record");
        assert_corrupt_naming(read_stream(&store), "stream probe-1 version 2", &what);
        assert_corrupt_naming(store.find_event(ids[1]), "log position 2", &what);
        let visited = store.visit_encoded(1, 4, &mut |_| Ok(()));
        assert!(
            matches!(&visited, Err(VisitError::Read(ReadError::Corrupt { record, .. })) if record == "log position 2"),
            "{what}: {visited:?}"
        );
        let report = store.verify().unwrap();
        assert!(!report.is_clean(), "{what}: verify finds it");
    }
    put(&store, &key, original);
    let restored = read_all(&store);
    assert_eq!(format!("{restored:?}"), format!("{intact:?}"));
    assert!(store.verify().unwrap().is_clean());
}

fn clone_error(error: &ReadError) -> ReadError {
    match error {
        ReadError::Corrupt { record, problem } => ReadError::Corrupt {
            record: record.clone(),
            problem: problem.clone(),
        },
        other => ReadError::Storage(other.to_string().into()),
    }
}

fn every_damage_to_a_stream_row_a_stream_head_or_an_index_entry_is_detected(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let (store, ids) = store_with_events(dir.path(), engine);
    let mut row = vec![b'V'];
    row.extend_from_slice(&1u64.to_be_bytes());
    row.extend_from_slice(&2u64.to_be_bytes());
    let head = [b"S".as_slice(), b"probe-1"].concat();
    let mut id = vec![b'I'];
    id.extend_from_slice(ids[0].as_uuid().as_bytes());
    for key in [row, head, id] {
        let original = store.storage().get(&key).unwrap().unwrap().to_vec();
        for (what, damaged) in damaged_variants(&original) {
            let what = format!("{} {what}", String::from_utf8_lossy(&key[..1]));
            put(&store, &key, damaged);
            let read = match key[0] {
                b'I' => store.find_event(ids[0]).map(|_| ()),
                b'S' => store.stream_version(&stream()).map(|_| ()),
                _ => read_stream(&store).map(|_| ()),
            };
            assert!(
                matches!(read, Err(ReadError::Corrupt { .. })),
                "{what}: {read:?}"
            );
            assert!(
                !store.verify().unwrap().is_clean(),
                "{what}: verify finds it"
            );
        }
        put(&store, &key, original);
    }
    assert!(store.verify().unwrap().is_clean());
}

fn damage_to_the_format_record_is_reported_when_the_store_opens(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = store_with_events(dir.path(), engine);
    let original = store.storage().get(b"Mformat").unwrap().unwrap().to_vec();
    drop(store);
    // Every truncation, and one flip per byte (each reopen costs a few milliseconds).
    let variants = damaged_variants(&original)
        .into_iter()
        .enumerate()
        .filter(|(index, (what, _))| what.starts_with("truncated") || index % 8 == 3)
        .map(|(_, variant)| variant);
    for (what, damaged) in variants {
        {
            let storage = match engine {
                Engine::Redb => {
                    EngineStorage::Redb(RedbStorage::open(dir.path(), 1 << 20, false).unwrap())
                }
                _ => EngineStorage::Sled(SledStorage::open(dir.path(), 1 << 20).unwrap()),
            };
            let mut batch = WriteBatch::new();
            batch.insert(b"Mformat".to_vec(), damaged);
            storage.apply(batch).unwrap();
        }
        let error = SledStore::<ProbeEvent>::open(dir.path()).unwrap_err();
        assert!(
            matches!(&error, OpenError::Corrupt { record, .. } if record == "format"),
            "{what}: {error}"
        );
    }
}

fn a_damaged_newest_record_is_reported_on_reopening_and_reading(engine: Engine) {
    // Format 2 finds the newest position from the log's last key: the record under it is read
    // like any other, so its damage is a typed error on reading it, and verify names it.
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = store_with_events(dir.path(), engine);
    let original = store.storage().get(&log_key(4)).unwrap().unwrap().to_vec();
    let mut damaged = original.clone();
    damaged[10] ^= 0x01;
    put(&store, &log_key(4), damaged);
    drop(store);
    let store = SledStore::<ProbeEvent>::open(dir.path()).unwrap();
    assert_eq!(store.head_position().unwrap(), 4);
    let all = read_all(&store);
    assert!(
        matches!(&all[3], Err(ReadError::Corrupt { record, .. }) if record == "log position 4"),
        "{:?}",
        all[3]
    );
    let report = store.verify().unwrap();
    assert!(
        report
            .problems
            .iter()
            .any(|problem| problem.contains("log position 4")),
        "{report}"
    );
}

fn a_log_record_moved_under_another_position_is_detected(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = store_with_events(dir.path(), engine);
    let first = store.storage().get(&log_key(1)).unwrap().unwrap().to_vec();
    put(&store, &log_key(2), first);
    let all = read_all(&store);
    assert!(
        matches!(&all[1], Err(ReadError::Corrupt { record, .. }) if record == "log position 2")
    );
}

#[test]
fn every_bit_flip_and_truncation_of_an_event_record_is_detected_by_every_read_path_on_sled() {
    every_bit_flip_and_truncation_of_an_event_record_is_detected_by_every_read_path(Engine::Sled);
}

#[test]
fn every_bit_flip_and_truncation_of_an_event_record_is_detected_by_every_read_path_on_redb() {
    every_bit_flip_and_truncation_of_an_event_record_is_detected_by_every_read_path(Engine::Redb);
}

#[test]
fn every_damage_to_a_stream_row_a_stream_head_or_an_index_entry_is_detected_on_sled() {
    every_damage_to_a_stream_row_a_stream_head_or_an_index_entry_is_detected(Engine::Sled);
}

#[test]
fn every_damage_to_a_stream_row_a_stream_head_or_an_index_entry_is_detected_on_redb() {
    every_damage_to_a_stream_row_a_stream_head_or_an_index_entry_is_detected(Engine::Redb);
}

#[test]
fn damage_to_the_format_record_is_reported_when_the_store_opens_on_sled() {
    damage_to_the_format_record_is_reported_when_the_store_opens(Engine::Sled);
}

#[test]
fn damage_to_the_format_record_is_reported_when_the_store_opens_on_redb() {
    damage_to_the_format_record_is_reported_when_the_store_opens(Engine::Redb);
}

#[test]
fn a_damaged_newest_record_is_reported_on_reopening_and_reading_on_sled() {
    a_damaged_newest_record_is_reported_on_reopening_and_reading(Engine::Sled);
}

#[test]
fn a_damaged_newest_record_is_reported_on_reopening_and_reading_on_redb() {
    a_damaged_newest_record_is_reported_on_reopening_and_reading(Engine::Redb);
}

#[test]
fn a_log_record_moved_under_another_position_is_detected_on_sled() {
    a_log_record_moved_under_another_position_is_detected(Engine::Sled);
}

#[test]
fn a_log_record_moved_under_another_position_is_detected_on_redb() {
    a_log_record_moved_under_another_position_is_detected(Engine::Redb);
}
