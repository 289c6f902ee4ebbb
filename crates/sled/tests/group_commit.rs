//! Group commit: durable appends that arrive together from several threads share one flush.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::Utc;
use service_lifecycle_kernel::testing::fixture::ProbeEvent;
use service_lifecycle_kernel::{EventStore, ExpectedVersion, NewEvent, StreamId};
use service_lifecycle_sled::{
    Durability, KeyValue, SledOptions, SledStorage, SledStore, Storage, StorageError, WriteBatch,
};

/// Sled storage whose flushes are counted and take at least a millisecond, like a disk's.
struct SlowFlushes {
    inner: SledStorage,
    flushes: AtomicU64,
}

impl Storage for SlowFlushes {
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
        self.inner.apply(batch)
    }
    fn flush(&self) -> Result<(), StorageError> {
        self.flushes.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(1));
        self.inner.flush()
    }
    fn is_empty(&self) -> Result<bool, StorageError> {
        self.inner.is_empty()
    }
}

#[test]
fn durable_appends_from_eight_threads_share_flushes() {
    let dir = tempfile::tempdir().unwrap();
    let storage = SlowFlushes {
        inner: SledStorage::open(dir.path(), 1 << 24).unwrap(),
        flushes: AtomicU64::new(0),
    };
    let options = SledOptions::new().durability(Durability::Flush);
    let store =
        SledStore::<ProbeEvent, SlowFlushes>::with_storage(storage, dir.path(), options).unwrap();
    let opening_flushes = store.storage().flushes.load(Ordering::SeqCst);
    const THREADS: u64 = 8;
    const APPENDS: u64 = 25;
    std::thread::scope(|scope| {
        for thread in 0..THREADS {
            let store = &store;
            scope.spawn(move || {
                let stream = StreamId::new(format!("probe-{thread}")).unwrap();
                for n in 0..APPENDS {
                    let event = NewEvent::new(ProbeEvent::noted(thread * 1_000 + n), Utc::now());
                    store
                        .append(&stream, ExpectedVersion::Any, vec![event])
                        .unwrap();
                }
            });
        }
    });
    let flushes = store.storage().flushes.load(Ordering::SeqCst) - opening_flushes;
    let appends = THREADS * APPENDS;
    assert_eq!(store.head_position().unwrap(), appends);
    assert!(
        flushes * 2 <= appends,
        "{appends} durable appends made {flushes} flushes: they should share them"
    );
}

#[test]
fn a_single_writer_flushes_every_durable_append() {
    let dir = tempfile::tempdir().unwrap();
    let storage = SlowFlushes {
        inner: SledStorage::open(dir.path(), 1 << 24).unwrap(),
        flushes: AtomicU64::new(0),
    };
    let store =
        SledStore::<ProbeEvent, SlowFlushes>::with_storage(storage, dir.path(), SledOptions::new())
            .unwrap();
    let before = store.storage().flushes.load(Ordering::SeqCst);
    let stream = StreamId::new("probe-1").unwrap();
    for n in 0..5 {
        let event = NewEvent::new(ProbeEvent::noted(n), Utc::now());
        store
            .append(&stream, ExpectedVersion::Any, vec![event])
            .unwrap();
    }
    assert_eq!(store.storage().flushes.load(Ordering::SeqCst) - before, 5);
}

#[test]
fn a_retry_racing_its_original_in_one_group_is_stored_once_and_answered_alike() {
    let dir = tempfile::tempdir().unwrap();
    let storage = SlowFlushes {
        inner: SledStorage::open(dir.path(), 1 << 24).unwrap(),
        flushes: AtomicU64::new(0),
    };
    let store =
        SledStore::<ProbeEvent, SlowFlushes>::with_storage(storage, dir.path(), SledOptions::new())
            .unwrap();
    let stream = StreamId::new("probe-1").unwrap();
    const ROUNDS: u64 = 40;
    for round in 0..ROUNDS {
        let events = vec![
            NewEvent::new(ProbeEvent::noted(2 * round), Utc::now()),
            NewEvent::new(ProbeEvent::noted(2 * round + 1), Utc::now()),
        ];
        // Others keep the group busy, so the two copies often land in one group.
        let results: Vec<_> = std::thread::scope(|scope| {
            let noise: Vec<_> = (0..3)
                .map(|n| {
                    let store = &store;
                    scope.spawn(move || {
                        let other = StreamId::new(format!("other-{n}")).unwrap();
                        let event = NewEvent::new(ProbeEvent::noted(n), Utc::now());
                        store
                            .append(&other, ExpectedVersion::Any, vec![event])
                            .unwrap();
                    })
                })
                .collect();
            let copies: Vec<_> = (0..2)
                .map(|_| {
                    let (store, stream, events) = (&store, &stream, events.clone());
                    scope.spawn(move || store.append(stream, ExpectedVersion::Any, events).unwrap())
                })
                .collect();
            for thread in noise {
                thread.join().unwrap();
            }
            copies
                .into_iter()
                .map(|copy| copy.join().unwrap())
                .collect()
        });
        assert_eq!(
            results[0], results[1],
            "round {round}: both are told the same"
        );
    }
    assert_eq!(store.stream_version(&stream).unwrap(), 2 * ROUNDS);
    assert!(store.verify().unwrap().is_clean());
}
