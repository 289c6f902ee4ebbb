//! Opening: what is a store and what is not, format versions, locks; and the size cap.

use chrono::Utc;
use service_lifecycle_kernel::testing::fixture::{noted, ProbeEvent};
use service_lifecycle_kernel::{AppendError, EventStore, ExpectedVersion, NewEvent, StreamId};
use service_lifecycle_sled::{
    OpenError, SledOptions, SledStorage, SledStore, Storage, WriteBatch, FORMAT_VERSION,
};

fn stream() -> StreamId {
    StreamId::new("probe-1").expect("valid stream id")
}

#[test]
fn a_missing_or_empty_directory_becomes_a_new_store_and_reopens_with_its_events() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new").join("store");
    let store = SledStore::<ProbeEvent>::open(&path).unwrap();
    store
        .append(
            &stream(),
            ExpectedVersion::NoStream,
            vec![noted(1), noted(2)],
        )
        .unwrap();
    drop(store);
    let reopened = SledStore::<ProbeEvent>::open(&path).unwrap();
    assert_eq!(reopened.head_position().unwrap(), 2);
    assert_eq!(reopened.stream_version(&stream()).unwrap(), 2);
    assert_eq!(reopened.stream_count(), 1);
    let empty = tempfile::tempdir().unwrap();
    assert!(SledStore::<ProbeEvent>::open(empty.path()).is_ok());
}

#[test]
fn a_file_is_not_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("notes.txt");
    std::fs::write(&file, "hello").unwrap();
    let error = SledStore::<ProbeEvent>::open(&file).unwrap_err();
    assert!(matches!(error, OpenError::NotAStore { .. }), "{error}");
    assert!(error.to_string().contains("is a file"), "{error}");
}

#[test]
fn a_directory_of_other_files_is_not_a_store_and_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("photo.jpg"), "not a database").unwrap();
    let error = SledStore::<ProbeEvent>::open(dir.path()).unwrap_err();
    assert!(matches!(error, OpenError::NotAStore { .. }), "{error}");
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(names.len(), 1, "nothing was created beside the file");
}

#[test]
fn a_sled_database_with_other_data_is_not_a_store() {
    let dir = tempfile::tempdir().unwrap();
    {
        let storage = SledStorage::open(dir.path(), 1 << 20).unwrap();
        let mut batch = WriteBatch::new();
        batch.insert(b"someone else's key".to_vec(), b"value".to_vec());
        storage.apply(batch).unwrap();
        storage.flush().unwrap();
    }
    let error = SledStore::<ProbeEvent>::open(dir.path()).unwrap_err();
    assert!(matches!(error, OpenError::NotAStore { .. }), "{error}");
}

fn write_format(path: &std::path::Path, body: Vec<u8>) {
    let storage = SledStorage::open(path, 1 << 20).unwrap();
    let key = b"Mformat".to_vec();
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&key);
    hasher.update(&body);
    let mut value = body;
    value.extend_from_slice(&hasher.finalize().to_le_bytes());
    let mut batch = WriteBatch::new();
    batch.insert(key, value);
    storage.apply(batch).unwrap();
    storage.flush().unwrap();
}

#[test]
fn a_store_of_another_format_version_is_refused_naming_both_versions() {
    let dir = tempfile::tempdir().unwrap();
    SledStore::<ProbeEvent>::open(dir.path()).unwrap();
    let mut body = b"SVCLIFE\0".to_vec();
    body.extend_from_slice(&(FORMAT_VERSION + 1).to_be_bytes());
    write_format(dir.path(), body);
    let error = SledStore::<ProbeEvent>::open(dir.path()).unwrap_err();
    match error {
        OpenError::FormatVersion {
            found, supported, ..
        } => assert_eq!((found, supported), (FORMAT_VERSION + 1, FORMAT_VERSION)),
        other => panic!("expected a format version error, got {other}"),
    }
}

#[test]
fn a_damaged_format_record_is_reported_as_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    SledStore::<ProbeEvent>::open(dir.path()).unwrap();
    {
        let storage = SledStorage::open(dir.path(), 1 << 20).unwrap();
        let mut batch = WriteBatch::new();
        batch.insert(b"Mformat".to_vec(), b"SVCLIFE\0\0\0\0\x01garbage".to_vec());
        storage.apply(batch).unwrap();
        storage.flush().unwrap();
    }
    let error = SledStore::<ProbeEvent>::open(dir.path()).unwrap_err();
    assert!(matches!(error, OpenError::Corrupt { .. }), "{error}");
}

#[test]
fn a_store_open_elsewhere_is_refused_as_locked() {
    let dir = tempfile::tempdir().unwrap();
    let _first = SledStore::<ProbeEvent>::open(dir.path()).unwrap();
    let options = SledOptions::new().lock_timeout(std::time::Duration::from_millis(50));
    let error = SledStore::<ProbeEvent>::open_with(dir.path(), options).unwrap_err();
    assert!(matches!(error, OpenError::Locked { .. }), "{error}");
}

#[test]
fn the_storage_layer_waits_for_a_lock_a_dropped_store_still_holds() {
    // sled's background threads release the lock a moment after the last handle is dropped;
    // every opener, not only the store, waits for it.
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..20 {
        drop(SledStore::<ProbeEvent>::open(dir.path()).unwrap());
        drop(SledStorage::open(dir.path(), 1 << 20).unwrap());
    }
}

#[test]
fn the_storage_layer_reports_a_held_lock_after_its_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let _first = SledStorage::open(dir.path(), 1 << 20).unwrap();
    let error =
        SledStorage::open_waiting(dir.path(), 1 << 20, std::time::Duration::from_millis(30))
            .unwrap_err();
    assert!(error.is_locked(), "{error}");
}

#[test]
fn an_event_over_the_size_cap_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let store =
        SledStore::<ProbeEvent>::open_with(dir.path(), SledOptions::new().max_event_size(1_024))
            .unwrap();
    let big = NewEvent::new(
        ProbeEvent::Noted {
            seq: 1,
            note: "x".repeat(2_000),
        },
        Utc::now(),
    );
    let error = store
        .append(&stream(), ExpectedVersion::Any, vec![noted(0), big])
        .unwrap_err();
    match error {
        AppendError::TooLarge { size, limit, .. } => {
            assert!(size > 2_000);
            assert_eq!(limit, 1_024);
        }
        other => panic!("expected TooLarge, got {other}"),
    }
    assert_eq!(store.head_position().unwrap(), 0);
    assert_eq!(store.stream_version(&stream()).unwrap(), 0);
}

#[test]
fn existing_only_refuses_to_create_a_store_and_calls_a_lost_database_damaged() {
    let dir = tempfile::tempdir().unwrap();
    let existing = || SledOptions::new().existing_only();
    // Nothing there: not a store, and nothing is created.
    let missing = dir.path().join("missing");
    let error = SledStore::<ProbeEvent>::open_with(&missing, existing()).unwrap_err();
    assert!(matches!(error, OpenError::NotAStore { .. }), "{error}");
    assert!(!missing.exists());
    // A store whose database lost its contents is damaged, never a new empty store.
    let path = dir.path().join("store");
    let store = SledStore::<ProbeEvent>::open(&path).unwrap();
    store
        .append(&stream(), ExpectedVersion::NoStream, vec![noted(1)])
        .unwrap();
    drop(store);
    let reopened = SledStore::<ProbeEvent>::open_with(
        &path,
        existing().lock_timeout(std::time::Duration::from_secs(10)),
    )
    .unwrap();
    assert_eq!(
        reopened.head_position().unwrap(),
        1,
        "an existing store opens"
    );
    drop(reopened);
    std::thread::sleep(std::time::Duration::from_millis(200));
    std::fs::OpenOptions::new()
        .write(true)
        .open(path.join("db"))
        .unwrap()
        .set_len(0)
        .unwrap();
    let error = SledStore::<ProbeEvent>::open_with(
        &path,
        existing().lock_timeout(std::time::Duration::from_secs(10)),
    )
    .unwrap_err();
    assert!(
        matches!(error, OpenError::Damaged { .. } | OpenError::Storage { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("damaged"), "{error}");
}

#[test]
fn a_creation_stopped_before_the_first_records_is_no_store_yet_and_opening_creates_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let marker = path.join("creating");
    // What a kill leaves between sled creating its files and the store's first records: the
    // marker and an empty sled database.
    std::fs::create_dir(&path).unwrap();
    std::fs::write(&marker, "creating").unwrap();
    drop(SledStorage::open(&path, 1 << 20).unwrap());
    let existing = || {
        SledOptions::new()
            .existing_only()
            .lock_timeout(std::time::Duration::from_secs(10))
    };
    let error = SledStore::<ProbeEvent>::open_with(&path, existing()).unwrap_err();
    assert!(matches!(error, OpenError::NotAStore { .. }), "{error}");
    assert!(
        error.to_string().contains("creation was stopped"),
        "{error}"
    );
    assert!(marker.exists(), "a reading open changes nothing");
    // Killed even earlier: the marker alone.
    let early = dir.path().join("early");
    std::fs::create_dir(&early).unwrap();
    std::fs::write(early.join("creating"), "creating").unwrap();
    let error = SledStore::<ProbeEvent>::open_with(&early, existing()).unwrap_err();
    assert!(
        error.to_string().contains("creation was stopped"),
        "{error}"
    );
    assert!(
        !early.join("db").exists(),
        "nothing is created by a reading open"
    );
    // Opening to write creates the store and removes the marker.
    for path in [&path, &early] {
        let store = SledStore::<ProbeEvent>::open_with(
            path,
            SledOptions::new().lock_timeout(std::time::Duration::from_secs(10)),
        )
        .unwrap();
        assert!(!path.join("creating").exists());
        store
            .append(&stream(), ExpectedVersion::NoStream, vec![noted(1)])
            .unwrap();
        drop(store);
        let reopened = SledStore::<ProbeEvent>::open_with(path, existing()).unwrap();
        assert_eq!(reopened.head_position().unwrap(), 1);
    }
    // Killed while sled wrote its first files: torn files that sled cannot read.
    let torn = dir.path().join("torn");
    std::fs::create_dir(&torn).unwrap();
    std::fs::write(torn.join("creating"), "creating").unwrap();
    std::fs::write(torn.join("conf"), b"segment_size: 5").unwrap();
    std::fs::write(torn.join("db"), vec![0xA5; 3000]).unwrap();
    let error = SledStore::<ProbeEvent>::open_with(&torn, existing()).unwrap_err();
    assert!(
        error.to_string().contains("creation was stopped"),
        "{error}"
    );
    let store = SledStore::<ProbeEvent>::open(&torn).unwrap();
    assert_eq!(store.head_position().unwrap(), 0);
    assert!(!torn.join("creating").exists());
    drop(store);
    // A new store leaves no marker behind.
    let fresh = dir.path().join("fresh");
    drop(SledStore::<ProbeEvent>::open(&fresh).unwrap());
    assert!(!fresh.join("creating").exists());
}

#[test]
fn a_snapshot_sled_was_still_writing_when_killed_does_not_stop_the_store_opening() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::<ProbeEvent>::open(dir.path()).unwrap();
    store
        .append(
            &stream(),
            ExpectedVersion::NoStream,
            vec![noted(1), noted(2)],
        )
        .unwrap();
    drop(store);
    // What a kill leaves while sled writes a snapshot: a torn file under the temporary name, which
    // sled 0.34 takes for the newest snapshot.
    let torn = dir.path().join("snap.FFFFFFFFFFFFFFFF.generating");
    std::fs::write(&torn, [7u8; 40]).unwrap();
    let options = || SledOptions::new().lock_timeout(std::time::Duration::from_secs(10));
    let store = SledStore::<ProbeEvent>::open_with(dir.path(), options().existing_only()).unwrap();
    assert_eq!(store.head_position().unwrap(), 2);
    assert!(store.verify().unwrap().is_clean());
    assert!(!torn.exists());
}

#[test]
fn a_redb_store_is_found_from_its_file_and_keeps_its_engine() {
    use service_lifecycle_sled::{Engine, REDB_FILE};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let store =
        SledStore::<ProbeEvent>::open_with(&path, SledOptions::new().engine(Engine::Redb)).unwrap();
    store
        .append(
            &stream(),
            ExpectedVersion::NoStream,
            vec![noted(1), noted(2)],
        )
        .unwrap();
    drop(store);
    assert!(path.join(REDB_FILE).is_file());
    assert!(!path.join("creating").exists());
    // Opened without naming the engine, it is redb's.
    let store = SledStore::<ProbeEvent>::open(&path).unwrap();
    assert_eq!(store.storage().engine(), Engine::Redb);
    assert_eq!(store.stream_version(&stream()).unwrap(), 2);
    drop(store);
    // Naming the other engine is refused, and changes nothing.
    let error = SledStore::<ProbeEvent>::open_with(&path, SledOptions::new().engine(Engine::Sled))
        .unwrap_err();
    assert!(matches!(error, OpenError::NotAStore { .. }), "{error}");
    assert!(error.to_string().contains("on redb"), "{error}");
    assert!(!path.join("conf").exists());
}

#[test]
fn a_redb_store_open_elsewhere_is_locked() {
    use service_lifecycle_sled::Engine;
    let dir = tempfile::tempdir().unwrap();
    let options = || {
        SledOptions::new()
            .engine(Engine::Redb)
            .lock_timeout(std::time::Duration::from_millis(50))
    };
    let _store = SledStore::<ProbeEvent>::open_with(dir.path(), options()).unwrap();
    let error = SledStore::<ProbeEvent>::open_with(dir.path(), options()).unwrap_err();
    assert!(matches!(error, OpenError::Locked { .. }), "{error}");
}

#[test]
fn a_damaged_redb_file_is_a_typed_error_or_reads_with_typed_errors_never_a_panic() {
    use service_lifecycle_sled::{Engine, REDB_FILE};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    {
        let store =
            SledStore::<ProbeEvent>::open_with(&path, SledOptions::new().engine(Engine::Redb))
                .unwrap();
        for n in 0..50 {
            let stream = StreamId::new(format!("probe-{n}")).unwrap();
            store
                .append(
                    &stream,
                    ExpectedVersion::NoStream,
                    vec![noted(n), noted(n + 100)],
                )
                .unwrap();
        }
    }
    let intact = std::fs::read(path.join(REDB_FILE)).unwrap();
    let len = intact.len();
    let mut damages: Vec<(String, Vec<u8>)> = vec![
        ("emptied".into(), Vec::new()),
        ("truncated to half".into(), intact[..len / 2].to_vec()),
        ("truncated by one byte".into(), intact[..len - 1].to_vec()),
    ];
    for at in [0, 64, 512, 4096, len / 3, len / 2, len - 4096] {
        let mut garbled = intact.clone();
        for byte in &mut garbled[at..(at + 512).min(len)] {
            *byte ^= 0xA5;
        }
        damages.push((format!("512 bytes garbled at {at}"), garbled));
    }
    for (what, bytes) in damages {
        std::fs::write(path.join(REDB_FILE), &bytes).unwrap();
        let outcome = std::panic::catch_unwind(|| {
            match SledStore::<ProbeEvent>::open_with(&path, SledOptions::new().existing_only()) {
                Err(error) => format!("refused: {error}"),
                Ok(store) => match store.verify() {
                    Ok(report) => format!("opened: {report}"),
                    Err(error) => format!("opened, verify failed: {error}"),
                },
            }
        });
        assert!(outcome.is_ok(), "{what}: the store panicked");
    }
}
