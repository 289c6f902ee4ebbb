//! Storage format 2 (three keys per append, heads found from the last rows), format-1 stores
//! opened read-only, and `migrate`, including the states a crash can leave it in.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use service_lifecycle_kernel::testing::fixture::{noted, ProbeEvent};
use service_lifecycle_kernel::{
    AppendError, Envelope, EventStore, ExpectedVersion, Snapshot, SnapshotStore, StreamId,
    SubjectId, Vault,
};
use service_lifecycle_sled::{
    migrate, KeyValue, MigrateError, Migration, SledOptions, SledStorage, SledStore, Storage,
    StorageError, WriteBatch, FORMAT_VERSION, READ_ONLY_FORMAT_VERSION,
};

fn stream(n: u64) -> StreamId {
    StreamId::new(format!("probe-{n}")).unwrap()
}

/// Sled storage that records the keys of every batch.
struct CountingKeys {
    inner: SledStorage,
    batches: Mutex<Vec<Vec<Vec<u8>>>>,
    flushes: AtomicU64,
}

impl Storage for CountingKeys {
    type Bytes = <SledStorage as Storage>::Bytes;
    type Range = <SledStorage as Storage>::Range;

    fn get(&self, key: &[u8]) -> Result<Option<Self::Bytes>, StorageError> {
        self.inner.get(key)
    }
    fn range(&self, start: &[u8], end: &[u8]) -> Result<Self::Range, StorageError> {
        self.inner.range(start, end)
    }
    fn last(
        &self,
        start: &[u8],
        end: &[u8],
    ) -> Result<Option<KeyValue<Self::Bytes>>, StorageError> {
        self.inner.last(start, end)
    }
    fn apply(&self, batch: WriteBatch) -> Result<(), StorageError> {
        let keys = batch.ops().iter().map(|(key, _)| key.clone()).collect();
        self.batches.lock().unwrap().push(keys);
        self.inner.apply(batch)
    }
    fn flush(&self) -> Result<(), StorageError> {
        self.flushes.fetch_add(1, Ordering::SeqCst);
        self.inner.flush()
    }
    fn is_empty(&self) -> Result<bool, StorageError> {
        self.inner.is_empty()
    }
}

#[test]
fn an_append_to_an_existing_stream_writes_three_keys_and_a_new_stream_one_more() {
    let dir = tempfile::tempdir().unwrap();
    let storage = CountingKeys {
        inner: SledStorage::open(dir.path(), 1 << 22).unwrap(),
        batches: Mutex::new(Vec::new()),
        flushes: AtomicU64::new(0),
    };
    let store = SledStore::<ProbeEvent, CountingKeys>::with_storage(
        storage,
        dir.path(),
        SledOptions::new(),
    )
    .unwrap();
    store
        .append(&stream(1), ExpectedVersion::NoStream, vec![noted(1)])
        .unwrap();
    store
        .append(&stream(1), ExpectedVersion::Exact(1), vec![noted(2)])
        .unwrap();
    store
        .append(
            &stream(1),
            ExpectedVersion::Exact(2),
            vec![noted(3), noted(4)],
        )
        .unwrap();
    let batches = store.storage().batches.lock().unwrap();
    let prefixes = |batch: &Vec<Vec<u8>>| {
        let mut prefixes: Vec<char> = batch.iter().map(|key| key[0] as char).collect();
        prefixes.sort_unstable();
        prefixes.into_iter().collect::<String>()
    };
    let appends: Vec<String> = batches.iter().rev().take(3).rev().map(prefixes).collect();
    assert_eq!(appends, ["ILSV", "ILV", "IILLVV"]);
}

#[test]
fn heads_are_found_from_the_last_rows_when_the_store_reopens() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = SledStore::<ProbeEvent>::open(dir.path()).unwrap();
        for round in 0..3u64 {
            for n in 1..=4 {
                let expected = if round == 0 {
                    ExpectedVersion::NoStream
                } else {
                    ExpectedVersion::Exact(round)
                };
                store
                    .append(&stream(n), expected, vec![noted(round * 10 + n)])
                    .unwrap();
            }
        }
        store
            .append(&stream(9), ExpectedVersion::NoStream, vec![noted(99)])
            .unwrap();
    }
    let store = SledStore::<ProbeEvent>::open(dir.path()).unwrap();
    assert_eq!(store.head_position().unwrap(), 13);
    assert_eq!(store.stream_count(), 5);
    assert_eq!(store.stream_version(&stream(2)).unwrap(), 3);
    assert_eq!(store.stream_version(&stream(9)).unwrap(), 1);
    assert_eq!(store.stream_version(&stream(7)).unwrap(), 0);
    // Appends go on without a gap, and a new stream gets the next number.
    let done = store
        .append(&stream(2), ExpectedVersion::Exact(3), vec![noted(5)])
        .unwrap();
    assert_eq!((done.last_version, done.last_position), (4, 14));
    store
        .append(&stream(7), ExpectedVersion::NoStream, vec![noted(7)])
        .unwrap();
    assert_eq!(store.stream_count(), 6);
    assert!(store.verify().unwrap().is_clean());
}

/// Rewrites a (format 2) store as format 1 wrote it: each stream's version beside its number,
/// the global head under `H`, the format record saying 1. Every value sealed as the format
/// documents (a CRC-32 of the key and the body, little-endian).
fn downgrade_to_format_1(path: &Path) {
    fn seal(key: &[u8], mut body: Vec<u8>) -> Vec<u8> {
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(key);
        hasher.update(&body);
        body.extend_from_slice(&hasher.finalize().to_le_bytes());
        body
    }
    let storage = SledStorage::open(path, 1 << 22).unwrap();
    let mut batch = WriteBatch::new();
    let mut streams = 0u64;
    for item in storage.range(b"S", b"T").unwrap() {
        let (key, value) = item.unwrap();
        let number = u64::from_be_bytes(value[..8].try_into().unwrap());
        let mut start = vec![b'V'];
        start.extend_from_slice(&number.to_be_bytes());
        let mut end = start.clone();
        start.extend_from_slice(&0u64.to_be_bytes());
        end.extend_from_slice(&u64::MAX.to_be_bytes());
        let (row, _) = storage.last(&start, &end).unwrap().unwrap();
        let version = u64::from_be_bytes(row[9..17].try_into().unwrap());
        let mut body = number.to_be_bytes().to_vec();
        body.extend_from_slice(&version.to_be_bytes());
        batch.insert(key.to_vec(), seal(&key, body));
        streams += 1;
    }
    let position = match storage.last(b"L", b"M").unwrap() {
        Some((key, _)) => u64::from_be_bytes(key[1..9].try_into().unwrap()),
        None => 0,
    };
    let mut head = position.to_be_bytes().to_vec();
    head.extend_from_slice(&streams.to_be_bytes());
    batch.insert(b"H".to_vec(), seal(b"H", head));
    let mut format = b"SVCLIFE\0".to_vec();
    format.extend_from_slice(&1u32.to_be_bytes());
    batch.insert(b"Mformat".to_vec(), seal(b"Mformat", format));
    storage.apply(batch).unwrap();
    storage.flush().unwrap();
}

fn all_events<S: Storage>(store: &SledStore<ProbeEvent, S>) -> Vec<Envelope<ProbeEvent>> {
    store
        .read_all(1)
        .unwrap()
        .map(|item| item.unwrap().into_owned())
        .collect()
}

/// A store of three streams, a snapshot and a vault record, written in format 2 and rewritten
/// as format 1; returns its events and the vault's subject.
fn format_1_store(path: &Path) -> (Vec<Envelope<ProbeEvent>>, SubjectId) {
    let subject = SubjectId::from_uuid(uuid::Uuid::from_u128(7));
    let events = {
        let store = SledStore::<ProbeEvent>::open(path).unwrap();
        for n in 1..=3 {
            store
                .append(
                    &stream(n),
                    ExpectedVersion::NoStream,
                    vec![noted(n), noted(n + 10)],
                )
                .unwrap();
        }
        store
            .append(&stream(1), ExpectedVersion::Exact(2), vec![noted(4)])
            .unwrap();
        store
            .save_snapshot(
                &stream(1),
                Snapshot {
                    stream_version: 3,
                    state_version: 1,
                    state: b"{}".to_vec(),
                },
            )
            .unwrap();
        store.put(subject, b"{\"name\":\"Ann\"}".to_vec()).unwrap();
        all_events(&store)
    };
    downgrade_to_format_1(path);
    (events, subject)
}

#[test]
fn a_format_1_store_opens_read_only_and_reads_as_it_was_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let (events, subject) = format_1_store(&path);
    let store = SledStore::<ProbeEvent>::open(&path).unwrap();
    assert_eq!(store.format_version(), READ_ONLY_FORMAT_VERSION);
    assert!(store.is_read_only());
    assert_eq!(all_events(&store), events);
    assert_eq!(store.stream_version(&stream(1)).unwrap(), 3);
    assert_eq!(store.stream_count(), 3);
    assert_eq!(
        store.get(subject).unwrap().as_deref(),
        Some(&b"{\"name\":\"Ann\"}"[..])
    );
    assert!(store.verify().unwrap().is_clean());

    let error = store
        .append(&stream(1), ExpectedVersion::Exact(3), vec![noted(5)])
        .unwrap_err();
    assert!(matches!(error, AppendError::Storage { .. }), "{error}");
    let message = error.to_string();
    assert!(
        message.contains("storage format 1") && message.contains("service-lifecycle migrate"),
        "{message}"
    );
    assert!(store
        .save_snapshot(
            &stream(2),
            Snapshot {
                stream_version: 2,
                state_version: 1,
                state: b"{}".to_vec(),
            },
        )
        .is_err());
    let other = SubjectId::from_uuid(uuid::Uuid::from_u128(8));
    assert!(store.put(other, b"{}".to_vec()).is_err());
    assert!(store.erase(subject).is_err());
    drop(store);
    // Nothing was written: the store still holds what it held, the personal data included.
    let store = SledStore::<ProbeEvent>::open(&path).unwrap();
    assert_eq!(all_events(&store), events);
    assert!(store.get(subject).unwrap().is_some());
    assert!(store.get(other).unwrap().is_none());
}

#[test]
fn migrate_converts_a_format_1_store_and_keeps_the_old_one_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let (events, subject) = format_1_store(&path);
    let migration = migrate::<ProbeEvent>(&path).unwrap();
    let kept_at = dir.path().join("store.format-1");
    match &migration {
        Migration::Converted {
            from,
            events: count,
            kept_at: kept,
            ..
        } => {
            assert_eq!((*from, *count), (1, 7));
            assert_eq!(kept, &kept_at);
        }
        other => panic!("{other:?}"),
    }
    assert!(migration.to_string().contains("store.format-1"));
    assert!(!dir.path().join("store.migrating").exists());

    let store = SledStore::<ProbeEvent>::open(&path).unwrap();
    assert_eq!(store.format_version(), FORMAT_VERSION);
    assert_eq!(all_events(&store), events);
    assert!(store.load_snapshot(&stream(1)).unwrap().is_some());
    assert_eq!(
        store.get(subject).unwrap().as_deref(),
        Some(&b"{\"name\":\"Ann\"}"[..])
    );
    let done = store
        .append(&stream(1), ExpectedVersion::Exact(3), vec![noted(5)])
        .unwrap();
    assert_eq!((done.last_version, done.last_position), (4, 8));
    assert!(store.verify().unwrap().is_clean());
    drop(store);

    let old = SledStore::<ProbeEvent>::open(&kept_at).unwrap();
    assert!(old.is_read_only());
    assert_eq!(all_events(&old), events);
    drop(old);
    assert_eq!(
        migrate::<ProbeEvent>(&path).unwrap(),
        Migration::AlreadyCurrent
    );
}

#[test]
fn a_conversion_stopped_before_it_was_complete_is_written_again() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let (events, _) = format_1_store(&path);
    // What a crash in the middle of the copy leaves: part of a database, no mark.
    let staging = dir.path().join("store.migrating");
    std::fs::create_dir_all(&staging).unwrap();
    std::fs::write(staging.join("db"), b"half a database").unwrap();
    let migration = migrate::<ProbeEvent>(&path).unwrap();
    assert!(
        matches!(migration, Migration::Converted { .. }),
        "{migration:?}"
    );
    let store = SledStore::<ProbeEvent>::open(&path).unwrap();
    assert_eq!(store.format_version(), FORMAT_VERSION);
    assert_eq!(all_events(&store), events);
}

#[test]
fn a_conversion_stopped_after_it_was_complete_is_renamed_into_place() {
    for renamed_old in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store");
        let (events, _) = format_1_store(&path);
        migrate::<ProbeEvent>(&path).unwrap();
        // Put the directories back as a crash after the mark (and, with `renamed_old`, after
        // the first rename) leaves them.
        let staging = dir.path().join("store.migrating");
        let kept_at = dir.path().join("store.format-1");
        std::fs::rename(&path, &staging).unwrap();
        std::fs::write(staging.join("migrated"), b"complete").unwrap();
        if !renamed_old {
            std::fs::rename(&kept_at, &path).unwrap();
        }
        let migration = migrate::<ProbeEvent>(&path).unwrap();
        assert_eq!(
            migration,
            Migration::Finished {
                kept_at: kept_at.clone()
            }
        );
        let store = SledStore::<ProbeEvent>::open(&path).unwrap();
        assert_eq!(store.format_version(), FORMAT_VERSION);
        assert_eq!(all_events(&store), events);
        assert!(!path.join("migrated").exists());
        drop(store);
        let old = SledStore::<ProbeEvent>::open(&kept_at).unwrap();
        assert_eq!(old.format_version(), READ_ONLY_FORMAT_VERSION);
    }
}

#[test]
fn migrate_refuses_when_the_old_store_would_have_nowhere_to_go_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let (events, _) = format_1_store(&path);
    std::fs::create_dir_all(dir.path().join("store.format-1")).unwrap();
    let error = migrate::<ProbeEvent>(&path).unwrap_err();
    assert!(
        matches!(error, MigrateError::KeptPathTaken { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("move it away"), "{error}");
    let store = SledStore::<ProbeEvent>::open(&path).unwrap();
    assert!(store.is_read_only());
    assert_eq!(all_events(&store), events);
}

#[test]
fn migrate_refuses_a_damaged_store_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    format_1_store(&path);
    {
        let storage = SledStorage::open(&path, 1 << 22).unwrap();
        let mut key = vec![b'L'];
        key.extend_from_slice(&2u64.to_be_bytes());
        let mut value = storage.get(&key).unwrap().unwrap().to_vec();
        value[12] ^= 0x10;
        let mut batch = WriteBatch::new();
        batch.insert(key, value);
        storage.apply(batch).unwrap();
        storage.flush().unwrap();
    }
    let error = migrate::<ProbeEvent>(&path).unwrap_err();
    assert!(matches!(error, MigrateError::Damaged { .. }), "{error}");
    assert!(error.to_string().contains("log position 2"), "{error}");
    assert!(!dir.path().join("store.migrating").exists());
    assert!(!dir.path().join("store.format-1").exists());
    assert!(SledStore::<ProbeEvent>::open(&path).unwrap().is_read_only());
}
