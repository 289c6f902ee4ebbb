//! Embedded store benchmarks on both engines, each beside the raw engine (sled 0.34.7, redb 5)
//! doing the same work in the same run: what the store's indexes, checksums, envelopes and
//! durability cost over the bare database. Results and ratios are recorded in
//! docs/benchmarks.md.
//!
//! Run: `cargo bench --bench sled` (about fifteen minutes; the stores live in `target/tmp`, on
//! disk). `cargo bench --bench sled -- append` runs the appends alone.

use std::hint::black_box;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use redb::{ReadableDatabase, TableDefinition};
use service_lifecycle::kernel::testing::fixture::{fixture_time, ProbeEvent};
use service_lifecycle::kernel::{Envelope, EventStore, ExpectedVersion, NewEvent, StreamId};
use service_lifecycle::sled::{Durability, Engine, SledOptions, SledStore};
use tempfile::TempDir;

/// Both the store and raw sled get this page cache.
const CACHE: u64 = 256 * 1024 * 1024;
const STREAMS: u64 = 1_000;
/// The big store: 1,000 streams of 1,000 events.
const BIG_EVENTS: u64 = 1_000_000;
const BIG_BATCH: u64 = 100;

fn bench_dir() -> TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("a directory under target/tmp")
}

fn note(seq: u64) -> ProbeEvent {
    // About the size of a typical domain event's payload (a sale, a call opened).
    ProbeEvent::Noted {
        seq,
        note: format!("{seq:0>100}"),
    }
}

fn new_event(seq: u64) -> NewEvent<ProbeEvent> {
    let at = fixture_time() + chrono::Duration::seconds(seq as i64);
    NewEvent::new(note(seq), at).with_metadata("user", "clerk-7")
}

fn stream_ids() -> Vec<StreamId> {
    (0..STREAMS)
        .map(|n| StreamId::new(format!("probe-{n:04}")).expect("valid id"))
        .collect()
}

fn open_store(path: &Path, durability: Durability) -> SledStore<ProbeEvent> {
    open_store_on(Engine::Sled, path, durability)
}

fn open_store_on(engine: Engine, path: &Path, durability: Durability) -> SledStore<ProbeEvent> {
    let options = SledOptions::new()
        .engine(engine)
        .durability(durability)
        .cache_capacity(CACHE);
    SledStore::open_with(path, options).expect("the store opens")
}

/// Raw redb's table: byte keys, byte values, as the store's.
const RAW_TABLE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("raw");

/// A raw engine: sled's default tree or one redb table, written the way the store writes (one
/// atomic batch per call; redb's commits non-durable until a flush, a durable empty commit).
enum Raw {
    Sled(sled::Db),
    Redb(redb::Database),
}

impl Raw {
    fn open(engine: Engine, path: &Path) -> Self {
        match engine {
            Engine::Redb => {
                let mut builder = redb::Database::builder();
                builder.set_cache_size(CACHE as usize);
                Self::Redb(
                    builder
                        .create(path.join("raw.redb"))
                        .expect("raw redb opens"),
                )
            }
            _ => Self::Sled(open_raw(path)),
        }
    }

    /// Writes `pairs` atomically.
    fn write(&self, pairs: &[(Vec<u8>, &[u8])]) {
        match self {
            Self::Sled(db) if pairs.len() == 1 => {
                db.insert(pairs[0].0.as_slice(), pairs[0].1)
                    .expect("insert");
            }
            Self::Sled(db) => {
                let mut batch = sled::Batch::default();
                for (key, value) in pairs {
                    batch.insert(key.as_slice(), *value);
                }
                db.apply_batch(batch).expect("batch");
            }
            Self::Redb(db) => {
                let mut transaction = db.begin_write().expect("begin");
                transaction
                    .set_durability(redb::Durability::None)
                    .expect("durability");
                {
                    let mut table = transaction.open_table(RAW_TABLE).expect("table");
                    for (key, value) in pairs {
                        table.insert(key.as_slice(), *value).expect("insert");
                    }
                }
                transaction.commit().expect("commit");
            }
        }
    }

    fn flush(&self) {
        match self {
            Self::Sled(db) => {
                db.flush().expect("flush");
            }
            Self::Redb(db) => {
                let transaction = db.begin_write().expect("begin");
                transaction.commit().expect("commit");
            }
        }
    }

    /// How many keys it holds (read once, so that the writes are not optimised away).
    fn len(&self) -> usize {
        match self {
            Self::Sled(db) => db.len(),
            Self::Redb(db) => {
                use redb::ReadableTableMetadata;
                let transaction = db.begin_read().expect("read");
                transaction
                    .open_table(RAW_TABLE)
                    .map_or(0, |table| table.len().expect("len") as usize)
            }
        }
    }
}

/// The keys and values the store writes for one event at `position` of stream `stream` at
/// `version`: its log record, its stream row and its event-id entry, with values of the sizes
/// the store's have.
fn event_keys<'v>(
    record: &'v [u8],
    small: &'v [u8; 24],
    stream: u64,
    version: u64,
    position: u64,
) -> [(Vec<u8>, &'v [u8]); 3] {
    let mut row = vec![b'V'];
    row.extend_from_slice(&stream.to_be_bytes());
    row.extend_from_slice(&version.to_be_bytes());
    let mut id = vec![b'I'];
    id.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    [
        (key(b'L', position).to_vec(), record),
        (row, &small[..12]),
        (id, &small[..20]),
    ]
}

fn open_raw(path: &Path) -> sled::Db {
    sled::Config::new()
        .path(path)
        .cache_capacity(CACHE)
        .mode(sled::Mode::HighThroughput)
        .open()
        .expect("raw sled opens")
}

fn key(prefix: u8, number: u64) -> [u8; 9] {
    let mut key = [prefix; 9];
    key[1..].copy_from_slice(&number.to_be_bytes());
    key
}

/// The bytes the store writes for one event record (read back from a scratch store), so raw sled
/// inserts values of the same size.
fn stored_record_bytes() -> Vec<u8> {
    let dir = bench_dir();
    let store = open_store(dir.path(), Durability::Buffered);
    let stream = StreamId::new("probe-0000").expect("valid id");
    store
        .append(&stream, ExpectedVersion::Any, vec![new_event(1)])
        .expect("append");
    let mut log_key = vec![b'L'];
    log_key.extend_from_slice(&1u64.to_be_bytes());
    use service_lifecycle::sled::Storage;
    store
        .storage()
        .get(&log_key)
        .expect("get")
        .expect("the record")
        .to_vec()
}

fn appends(c: &mut Criterion) {
    let value = stored_record_bytes();
    let small = [7u8; 24];
    let streams = stream_ids();
    for engine in [Engine::Sled, Engine::Redb] {
        let mut group = c.benchmark_group(format!("{engine}/append"));
        group.measurement_time(Duration::from_secs(8));
        for batch in [1u64, 100] {
            group.throughput(Throughput::Elements(batch));
            let dir = bench_dir();
            let store = open_store_on(engine, dir.path(), Durability::Buffered);
            let mut seq = 0u64;
            group.bench_function(BenchmarkId::new("store_buffered", batch), |b| {
                b.iter(|| {
                    let stream = &streams[(seq % STREAMS) as usize];
                    let events = (0..batch).map(|n| new_event(seq + n)).collect();
                    seq += batch;
                    black_box(
                        store
                            .append(stream, ExpectedVersion::Any, events)
                            .expect("append"),
                    )
                })
            });
            drop(store);
            // The store's own keys, written raw: each event's log record, stream row and
            // event-id entry, in one batch per append.
            let raw_dir = bench_dir();
            let raw = Raw::open(engine, raw_dir.path());
            let (mut position, mut appended) = (0u64, 0u64);
            group.bench_function(BenchmarkId::new("raw_same_records", batch), |b| {
                b.iter(|| {
                    // As the store's: one stream per append, round-robin over 1,000.
                    let stream = appended % STREAMS;
                    appended += 1;
                    let mut pairs = Vec::with_capacity(3 * batch as usize);
                    for _ in 0..batch {
                        position += 1;
                        pairs.extend(event_keys(&value, &small, stream, position, position));
                    }
                    raw.write(&pairs);
                })
            });
            black_box(raw.len());
            if batch == 1 {
                // One insert of one record: the engine's floor.
                let raw_dir = bench_dir();
                let raw = Raw::open(engine, raw_dir.path());
                let mut position = 0u64;
                group.bench_function(BenchmarkId::new("raw_single_insert", batch), |b| {
                    b.iter(|| {
                        position += 1;
                        raw.write(&[(key(b'L', position).to_vec(), value.as_slice())]);
                    })
                });
                black_box(raw.len());
            }
        }
        group.finish();
    }
}

/// Runs `work(thread, n)` for `iters` operations split over `threads` threads; the wall time.
fn on_threads(threads: u64, iters: u64, work: &(dyn Fn(u64, u64) + Sync)) -> Duration {
    let per_thread = iters.div_ceil(threads);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for thread in 0..threads {
            scope.spawn(move || {
                for n in 0..per_thread {
                    work(thread, n);
                }
            });
        }
    });
    started
        .elapsed()
        .mul_f64(iters as f64 / (per_thread * threads) as f64)
}

fn durable_appends(c: &mut Criterion) {
    let value = stored_record_bytes();
    let streams = stream_ids();
    for engine in [Engine::Sled, Engine::Redb] {
        let mut group = c.benchmark_group(format!("{engine}/durable_append"));
        group.throughput(Throughput::Elements(1));
        group.measurement_time(Duration::from_secs(10));
        for threads in [1u64, 8] {
            let dir = bench_dir();
            let store = open_store_on(engine, dir.path(), Durability::Flush);
            let seq = AtomicU64::new(0);
            group.bench_function(BenchmarkId::new("store_group_commit", threads), |b| {
                b.iter_custom(|iters| {
                    on_threads(threads, iters, &|thread, n| {
                        let stream = &streams[((thread * 100 + n) % STREAMS) as usize];
                        let event = new_event(seq.fetch_add(1, Ordering::Relaxed));
                        store
                            .append(stream, ExpectedVersion::Any, vec![event])
                            .expect("append");
                    })
                })
            });
            drop(store);
            let raw_dir = bench_dir();
            let raw = Raw::open(engine, raw_dir.path());
            let position = AtomicU64::new(0);
            group.bench_function(BenchmarkId::new("raw_flush_per_append", threads), |b| {
                b.iter_custom(|iters| {
                    on_threads(threads, iters, &|_, _| {
                        let at = position.fetch_add(1, Ordering::Relaxed) + 1;
                        // (redb's begin_write waits while another writer is in.)
                        raw.write(&[(key(b'L', at).to_vec(), value.as_slice())]);
                        raw.flush();
                    })
                })
            });
        }
        group.finish();
    }
}

/// A store of 1,000 streams × 1,000 events (appended 100 at a time, round-robin) and a raw sled
/// database holding the same envelopes as JSON, by position and by (stream, version).
struct BigStores {
    store_dir: TempDir,
    raw_dir: TempDir,
}

fn build_big_stores() -> BigStores {
    let store_dir = bench_dir();
    let raw_dir = bench_dir();
    let store = open_store(store_dir.path(), Durability::Buffered);
    let raw = open_raw(raw_dir.path());
    let streams = stream_ids();
    let mut seq = 0;
    while seq < BIG_EVENTS {
        let stream_number = (seq / BIG_BATCH) % STREAMS;
        let stream = &streams[stream_number as usize];
        let events: Vec<_> = (seq..seq + BIG_BATCH).map(new_event).collect();
        let done = store
            .append(stream, ExpectedVersion::Any, events.clone())
            .expect("append");
        let mut sled_batch = sled::Batch::default();
        for (offset, new_event) in (0u64..).zip(events) {
            let envelope = new_event.into_envelope(
                stream.clone(),
                done.first_version + offset,
                done.first_position + offset,
            );
            let json = serde_json::to_vec(&envelope).expect("json");
            sled_batch.insert(&key(b'L', envelope.position), json.as_slice());
            let mut row = vec![b'V'];
            row.extend_from_slice(&stream_number.to_be_bytes());
            row.extend_from_slice(&envelope.stream_version.to_be_bytes());
            sled_batch.insert(row, json);
        }
        raw.apply_batch(sled_batch).expect("raw batch");
        seq += BIG_BATCH;
    }
    store.flush().expect("flush");
    raw.flush().expect("flush");
    BigStores { store_dir, raw_dir }
}

fn decode_raw(value: &[u8]) -> Envelope<ProbeEvent> {
    serde_json::from_slice(value).expect("raw envelope")
}

fn reads(c: &mut Criterion, big: &BigStores) {
    let store = open_store(big.store_dir.path(), Durability::Buffered);
    let raw = open_raw(big.raw_dir.path());
    let stream = StreamId::new("probe-0500").expect("valid id");
    let mut group = c.benchmark_group("sled/read");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));

    group.throughput(Throughput::Elements(1_000));
    group.bench_function("stream_1000_events/store", |b| {
        b.iter(|| {
            let mut count = 0;
            for event in store.read_stream(&stream, 1).expect("read") {
                black_box(event.expect("event"));
                count += 1;
            }
            assert_eq!(count, 1_000);
        })
    });
    group.bench_function("stream_1000_events/raw_scan_and_decode", |b| {
        let mut start = vec![b'V'];
        start.extend_from_slice(&500u64.to_be_bytes());
        let mut end = vec![b'V'];
        end.extend_from_slice(&501u64.to_be_bytes());
        b.iter(|| {
            let mut count = 0;
            for item in raw.range(start.as_slice()..end.as_slice()) {
                let (_, value) = item.expect("scan");
                black_box(decode_raw(&value));
                count += 1;
            }
            assert_eq!(count, 1_000);
        })
    });

    group.throughput(Throughput::Elements(BIG_EVENTS));
    group.bench_function("all_1m_events/store", |b| {
        b.iter(|| {
            let mut count = 0u64;
            for event in store.read_all(1).expect("read") {
                black_box(event.expect("event"));
                count += 1;
            }
            assert_eq!(count, BIG_EVENTS);
        })
    });
    group.bench_function("all_1m_events/raw_scan_and_decode", |b| {
        b.iter(|| {
            let mut count = 0u64;
            for item in raw.range(key(b'L', 1)..key(b'L', BIG_EVENTS + 1)) {
                let (_, value) = item.expect("scan");
                black_box(decode_raw(&value));
                count += 1;
            }
            assert_eq!(count, BIG_EVENTS);
        })
    });
    group.finish();
}

/// Opening is timed; closing is not, and each open waits until sled's background threads of the
/// previous handle have let go of the lock.
fn time_opens(iters: u64, open: &dyn Fn() -> Option<Box<dyn std::any::Any>>) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let handle = loop {
            let started = Instant::now();
            if let Some(handle) = open() {
                total += started.elapsed();
                break handle;
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        drop(handle);
    }
    total
}

fn reopen(c: &mut Criterion, big: &BigStores) {
    let mut group = c.benchmark_group("sled/reopen_1m_events");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    let store_path = big.store_dir.path();
    group.bench_function("store", |b| {
        b.iter_custom(|iters| {
            time_opens(iters, &|| {
                let options = SledOptions::new()
                    .cache_capacity(CACHE)
                    .lock_timeout(Duration::ZERO);
                SledStore::<ProbeEvent>::open_with(store_path, options)
                    .ok()
                    .map(|store| Box::new(store) as Box<dyn std::any::Any>)
            })
        })
    });
    group.bench_function("raw_sled_same_database", |b| {
        b.iter_custom(|iters| {
            time_opens(iters, &|| {
                sled::Config::new()
                    .path(store_path)
                    .cache_capacity(CACHE)
                    .mode(sled::Mode::HighThroughput)
                    .open()
                    .ok()
                    .map(|db| Box::new(db) as Box<dyn std::any::Any>)
            })
        })
    });
    group.finish();
}

fn big_store_benches(c: &mut Criterion) {
    let started = Instant::now();
    let big = build_big_stores();
    eprintln!(
        "built a 1,000,000-event store and its raw twin in {:?}",
        started.elapsed()
    );
    reads(c, &big);
    reopen(c, &big);
}

criterion_group!(benches, appends, durable_appends, big_store_benches);
criterion_main!(benches);
