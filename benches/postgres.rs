//! PostgreSQL store benchmarks, each beside its raw reference in the same run, on a throwaway
//! server started by the benchmark (a Unix socket, fsync on): one-event appends from 1 and 16
//! clients, Flush and Buffered, against a plain INSERT of the same row over the same kind of
//! connection with the same `synchronous_commit`; read-all against a plain SELECT of the same
//! rows; and a projection catching up. Results and ratios are recorded in docs/benchmarks.md.
//!
//! Run: `cargo bench --bench postgres` (a few minutes).

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use service_lifecycle::kernel::testing::fixture::{fixture_time, ProbeEvent};
use service_lifecycle::kernel::{
    CheckpointStore, Envelope, EventStore, ExpectedVersion, NewEvent, Projection, Projector,
    StreamId,
};
use service_lifecycle::postgres::{Durability, PostgresOptions, PostgresStore, ThrowawayServer};

const CLIENTS: usize = 16;
const READ_EVENTS: u64 = 10_000;

fn note(seq: u64) -> ProbeEvent {
    ProbeEvent::Noted {
        seq,
        note: format!("{seq:0>100}"),
    }
}

fn new_event(seq: u64) -> NewEvent<ProbeEvent> {
    let at = fixture_time() + chrono::Duration::seconds(seq as i64);
    NewEvent::new(note(seq), at).with_metadata("user", "clerk-7")
}

static SCHEMA: AtomicU64 = AtomicU64::new(1);

fn open(server: &ThrowawayServer, durability: Durability) -> PostgresStore<ProbeEvent> {
    PostgresStore::open_with(
        &server.url(),
        PostgresOptions::new()
            .schema(format!("bench_{}", SCHEMA.fetch_add(1, Ordering::SeqCst)))
            .durability(durability)
            .pool_size(CLIENTS as u32 + 2),
    )
    .expect("the store opens")
}

/// The raw reference: one plain table of the same columns, one INSERT per transaction.
struct Raw {
    url: String,
    table: String,
}

impl Raw {
    fn new(server: &ThrowawayServer) -> Self {
        let table = format!("raw_{}", SCHEMA.fetch_add(1, Ordering::SeqCst));
        let mut client = postgres::Client::connect(&server.url(), postgres::NoTls).unwrap();
        client
            .batch_execute(&format!(
                "CREATE TABLE {table} (position bigserial PRIMARY KEY, stream_id text NOT NULL,
                 stream_version bigint NOT NULL, event_id uuid NOT NULL UNIQUE,
                 event_type text NOT NULL, schema_version integer NOT NULL,
                 recorded_secs bigint NOT NULL, recorded_nanos integer NOT NULL,
                 correlation_id uuid NOT NULL, causation_id uuid NOT NULL, metadata text NOT NULL,
                 payload bytea NOT NULL)"
            ))
            .unwrap();
        Self {
            url: server.url(),
            table,
        }
    }

    fn client(&self, durability: Durability) -> postgres::Client {
        let mut client = postgres::Client::connect(&self.url, postgres::NoTls).unwrap();
        let synchronous = match durability {
            Durability::Flush => "on",
            Durability::Buffered => "off",
        };
        client
            .batch_execute(&format!("SET synchronous_commit = {synchronous}"))
            .unwrap();
        client
    }

    fn insert(&self, client: &mut postgres::Client, seq: u64) {
        let event = new_event(seq);
        let mut payload = Vec::new();
        service_lifecycle::kernel::Event::write_payload(&event.event, &mut payload).unwrap();
        client
            .execute(
                &format!(
                    "INSERT INTO {} (stream_id, stream_version, event_id, event_type, \
                     schema_version, recorded_secs, recorded_nanos, correlation_id, \
                     causation_id, metadata, payload) VALUES ($1, $2, $3, $4, 1, $5, $6, $7, $8, $9, $10)",
                    self.table
                ),
                &[
                    &format!("probe-{}", seq % 1000),
                    &(seq as i64),
                    &event.event_id.as_uuid(),
                    &"probe.noted",
                    &event.recorded_at.timestamp(),
                    &(event.recorded_at.timestamp_subsec_nanos() as i32),
                    &event.correlation_id,
                    &event.causation_id,
                    &r#"{"user":"clerk-7"}"#,
                    &payload,
                ],
            )
            .unwrap();
    }
}

/// Runs `work(client, i)` for `iters` iterations spread over `clients` threads; the elapsed time.
fn spread<C: Send>(
    clients: usize,
    iters: u64,
    make: impl Fn() -> C + Sync,
    work: impl Fn(&mut C, u64) + Sync,
) -> Duration {
    let next = AtomicU64::new(0);
    let mut each: Vec<C> = (0..clients).map(|_| make()).collect();
    let started = Instant::now();
    std::thread::scope(|scope| {
        for client in &mut each {
            let (next, work) = (&next, &work);
            scope.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= iters {
                    break;
                }
                work(client, i);
            });
        }
    });
    started.elapsed()
}

fn appends(c: &mut Criterion, server: &ThrowawayServer) {
    let seq = Arc::new(AtomicU64::new(0));
    for clients in [1, CLIENTS] {
        for durability in [Durability::Flush, Durability::Buffered] {
            let mut group =
                c.benchmark_group(format!("postgres_append_{clients}_clients_{durability:?}"));
            group.throughput(Throughput::Elements(1));
            group.sample_size(20);
            group.measurement_time(Duration::from_secs(8));
            let store = open(server, durability);
            group.bench_function("store", |b| {
                b.iter_custom(|iters| {
                    spread(
                        clients,
                        iters,
                        || (),
                        |(), _| {
                            let n = seq.fetch_add(1, Ordering::Relaxed);
                            let stream = StreamId::new(format!("probe-{}", n % 1000)).unwrap();
                            store
                                .append(&stream, ExpectedVersion::Any, vec![new_event(n)])
                                .expect("the append succeeds");
                        },
                    )
                })
            });
            let raw = Raw::new(server);
            group.bench_function("raw_insert", |b| {
                b.iter_custom(|iters| {
                    spread(
                        clients,
                        iters,
                        || raw.client(durability),
                        |client, _| raw.insert(client, seq.fetch_add(1, Ordering::Relaxed)),
                    )
                })
            });
            group.finish();
        }
    }
}

#[derive(Default)]
struct Count(u64);

impl Projection<ProbeEvent> for Count {
    fn apply(&mut self, envelope: &Envelope<ProbeEvent>) {
        self.0 += envelope.position;
    }
}

fn reads(c: &mut Criterion, server: &ThrowawayServer) {
    let store = open(server, Durability::Buffered);
    let raw = Raw::new(server);
    let mut client = raw.client(Durability::Buffered);
    for n in 0..READ_EVENTS {
        let stream = StreamId::new(format!("probe-{}", n % 100)).unwrap();
        store
            .append(&stream, ExpectedVersion::Any, vec![new_event(n)])
            .unwrap();
        raw.insert(&mut client, n);
    }
    let mut group = c.benchmark_group("postgres_read_all_10k");
    group.throughput(Throughput::Elements(READ_EVENTS));
    group.sample_size(20);
    group.bench_function("store", |b| {
        b.iter(|| {
            let mut count = 0u64;
            for envelope in store.read_all(1).unwrap() {
                count += black_box(envelope.unwrap().position);
            }
            count
        })
    });
    group.bench_function("raw_select", |b| {
        b.iter(|| {
            // The same rows, in pages of the same size, decoded as far as the store decodes them.
            let mut count = 0u64;
            let mut from = 0i64;
            loop {
                let rows = client
                    .query(
                        &format!(
                            "SELECT position, stream_id, stream_version, event_id, event_type, \
                             schema_version, recorded_secs, recorded_nanos, correlation_id, \
                             causation_id, metadata, payload FROM {} WHERE position > $1 \
                             ORDER BY position LIMIT 512",
                            raw.table
                        ),
                        &[&from],
                    )
                    .unwrap();
                if rows.is_empty() {
                    break;
                }
                for row in &rows {
                    let payload: &[u8] = row.get(11);
                    let event: ProbeEvent = serde_json::from_slice::<ProbeEventPayload>(payload)
                        .map(|payload| payload.into_event())
                        .unwrap();
                    black_box(event);
                    from = row.get(0);
                    count += from as u64;
                }
            }
            count
        })
    });
    group.bench_function("projection_catch_up", |b| {
        b.iter(|| {
            let mut projector = Projector::new("bench-count", Count::default());
            let applied = projector
                .catch_up(&store, &NoCheckpoints)
                .expect("the projection catches up");
            black_box(applied)
        })
    });
    group.finish();
}

/// The payload of `ProbeEvent::Noted` as JSON, for the raw reference's decoding.
#[derive(serde::Deserialize)]
struct ProbeEventPayload {
    seq: u64,
    note: String,
}

impl ProbeEventPayload {
    fn into_event(self) -> ProbeEvent {
        ProbeEvent::Noted {
            seq: self.seq,
            note: self.note,
        }
    }
}

/// Checkpoints kept nowhere: the catch-up alone is measured.
struct NoCheckpoints;

impl CheckpointStore for NoCheckpoints {
    fn load_checkpoint(&self, _: &str) -> Result<u64, service_lifecycle::kernel::CheckpointError> {
        Ok(0)
    }
    fn save_checkpoint(
        &self,
        _: &str,
        _: u64,
    ) -> Result<(), service_lifecycle::kernel::CheckpointError> {
        Ok(())
    }
}

fn benches(c: &mut Criterion) {
    let server = ThrowawayServer::start().expect("a throwaway PostgreSQL server starts");
    appends(c, &server);
    reads(c, &server);
}

criterion_group!(postgres_benches, benches);
criterion_main!(postgres_benches);
