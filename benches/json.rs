//! JSON export and import benchmarks on the sled store, each beside its raw parts done alone in
//! the same run: raw sled scanning plus serde_json encoding the same envelopes (export), and
//! serde_json decoding the same lines plus raw sled batch-inserting the same rows (import).
//! Results and ratios are recorded in docs/benchmarks.md.
//!
//! Run: `cargo bench --bench json` (about fifteen minutes; stores live in `target/tmp`).
//!
//! Criterion samples use 100,000 events per iteration (a sled import of 1,000,000 takes tens of
//! seconds, and criterion needs ten samples). The peak memory of a whole export and import, at
//! 1,000,000 and 10,000,000 events and on either engine, is `benches/memory.rs`.

use std::hint::black_box;
use std::io::{BufRead, Cursor, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use service_lifecycle::json::{export_all, import, ImportOptions};
use service_lifecycle::kernel::testing::fixture::{fixture_time, ProbeEvent};
use service_lifecycle::kernel::{Envelope, EventStore, ExpectedVersion, NewEvent, StreamId};
use service_lifecycle::sled::{Durability, SledOptions, SledStorage, SledStore, Storage};
use tempfile::TempDir;

const CACHE: u64 = 256 * 1024 * 1024;
const SAMPLE_EVENTS: u64 = 100_000;
const STREAMS: u64 = 1_000;
const BATCH: u64 = 100;

fn bench_dir() -> TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("a directory under target/tmp")
}

fn open_store(path: &Path) -> SledStore<ProbeEvent> {
    let options = SledOptions::new()
        .durability(Durability::Buffered)
        .cache_capacity(CACHE);
    SledStore::open_with(path, options).expect("the store opens")
}

fn new_event(seq: u64) -> NewEvent<ProbeEvent> {
    let at = fixture_time() + chrono::Duration::seconds(seq as i64);
    let event = ProbeEvent::Noted {
        seq,
        note: format!("{seq:0>100}"),
    };
    NewEvent::new(event, at).with_metadata("user", "clerk-7")
}

/// A sled store of `events` events, 100 at a time round-robin over 1,000 streams.
fn build_store(events: u64) -> TempDir {
    let dir = bench_dir();
    let store = open_store(dir.path());
    let streams: Vec<StreamId> = (0..STREAMS)
        .map(|n| StreamId::new(format!("probe-{n:04}")).expect("valid id"))
        .collect();
    let mut seq = 0;
    while seq < events {
        let stream = &streams[((seq / BATCH) % STREAMS) as usize];
        let batch = (seq..seq + BATCH).map(new_event).collect();
        store
            .append(stream, ExpectedVersion::Any, batch)
            .expect("append");
        seq += BATCH;
    }
    store.flush().expect("flush");
    dir
}

/// An event line as serde_json alone decodes it: the same fields, typed.
#[derive(serde::Deserialize, serde::Serialize)]
#[allow(dead_code)] // fields are decoded to be measured, not read
struct Line {
    position: u64,
    stream_id: String,
    stream_version: u64,
    event_id: uuid::Uuid,
    event_type: String,
    schema_version: u32,
    recorded_at: DateTime<Utc>,
    correlation_id: uuid::Uuid,
    causation_id: uuid::Uuid,
    metadata: std::collections::BTreeMap<String, String>,
    data: Noted,
}

#[derive(serde::Deserialize, serde::Serialize)]
#[allow(dead_code)]
struct Noted {
    seq: u64,
    note: String,
}

/// A sink that counts bytes, so encoding is measured without storing the output.
struct Count(u64);

impl Write for Count {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every key and value of a store's database, in key order.
fn raw_rows(path: &Path) -> Vec<(Vec<u8>, Vec<u8>)> {
    let storage = SledStorage::open(path, CACHE).expect("raw open");
    storage
        .range(&[0], &[0xff])
        .expect("scan")
        .map(|row| {
            let (key, value) = row.expect("row");
            (key.to_vec(), value.to_vec())
        })
        .collect()
}

fn export_benches(c: &mut Criterion) {
    let dir = build_store(SAMPLE_EVENTS);
    let store = open_store(dir.path());
    let envelopes: Vec<Envelope<ProbeEvent>> = store
        .read_all(1)
        .expect("read")
        .map(|event| event.expect("event").into_owned())
        .collect();
    let mut group = c.benchmark_group("json/export_100k_events");
    group.sample_size(10);
    group.throughput(Throughput::Elements(SAMPLE_EVENTS));
    group.measurement_time(Duration::from_secs(20));
    group.bench_function("store_to_json_lines", |b| {
        b.iter(|| {
            let mut out = Count(0);
            export_all(&store, &mut out).expect("export");
            black_box(out.0)
        })
    });
    group.bench_function("raw_part_sled_scan", |b| {
        b.iter(|| {
            let mut log_start = vec![b'L'];
            log_start.extend_from_slice(&1u64.to_be_bytes());
            let rows = store
                .storage()
                .range(&log_start, b"M")
                .expect("scan")
                .map(|row| row.expect("row").1.len())
                .sum::<usize>();
            black_box(rows)
        })
    });
    group.bench_function("raw_part_serde_json_encode", |b| {
        b.iter(|| {
            let mut out = Count(0);
            for envelope in &envelopes {
                let ProbeEvent::Noted { seq, note } = &envelope.event else {
                    unreachable!("the bench appends notes")
                };
                let line = Line {
                    position: envelope.position,
                    stream_id: envelope.stream_id.to_string(),
                    stream_version: envelope.stream_version,
                    event_id: envelope.event_id.as_uuid(),
                    event_type: "probe.noted".into(),
                    schema_version: 1,
                    recorded_at: envelope.recorded_at,
                    correlation_id: envelope.correlation_id,
                    causation_id: envelope.causation_id,
                    metadata: envelope.metadata.clone(),
                    data: Noted {
                        seq: *seq,
                        note: note.clone(),
                    },
                };
                serde_json::to_writer(&mut out, &line).expect("encode");
                out.write_all(b"\n").expect("newline");
            }
            black_box(out.0)
        })
    });
    group.finish();
}

fn import_benches(c: &mut Criterion) {
    let dir = build_store(SAMPLE_EVENTS);
    let file = {
        let store = open_store(dir.path());
        let mut file = Vec::new();
        export_all(&store, &mut file).expect("export");
        file
    };
    let rows = raw_rows(dir.path());
    let mut group = c.benchmark_group("json/import_100k_events");
    group.sample_size(10);
    group.throughput(Throughput::Elements(SAMPLE_EVENTS));
    group.measurement_time(Duration::from_secs(60));
    group.bench_function("json_lines_to_store", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let target_dir = bench_dir();
                let target = open_store(target_dir.path());
                let started = Instant::now();
                import(Cursor::new(&file), &target, ImportOptions::new()).expect("import");
                total += started.elapsed();
            }
            total
        })
    });
    group.bench_function("raw_part_serde_json_decode", |b| {
        b.iter(|| {
            let mut lines = Cursor::new(&file).lines();
            lines.next();
            for line in lines.take(SAMPLE_EVENTS as usize) {
                let line = line.expect("line");
                black_box(serde_json::from_str::<Line>(&line).expect("decode"));
            }
        })
    });
    group.bench_function("raw_part_sled_batch_insert_same_rows", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let target_dir = bench_dir();
                let db = sled::Config::new()
                    .path(target_dir.path())
                    .cache_capacity(CACHE)
                    .mode(sled::Mode::HighThroughput)
                    .open()
                    .expect("raw open");
                let started = Instant::now();
                // As many batches as the import makes appends, each with its share of rows.
                for chunk in rows.chunks(rows.len().div_ceil((SAMPLE_EVENTS / BATCH) as usize)) {
                    let mut batch = sled::Batch::default();
                    for (key, value) in chunk {
                        batch.insert(key.as_slice(), value.as_slice());
                    }
                    db.apply_batch(batch).expect("batch");
                }
                total += started.elapsed();
            }
            total
        })
    });
    group.finish();
}

criterion_group!(benches, export_benches, import_benches);

criterion_main!(benches);
