//! Kernel benchmarks on the memory store, each beside a hand-written reference measured in the
//! same run: a `HashMap<Id, Vec<Event>>` with a `match` fold, which is what the kernel costs over
//! doing it by hand. Results and ratios are recorded in docs/benchmarks.md.
//!
//! Run: `cargo bench --bench kernel`

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::Utc;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use service_lifecycle::kernel::testing::fixture::{
    Counter, CounterCommand, CounterEvent, CounterState,
};
use service_lifecycle::kernel::{
    CommandContext, CommandId, Decider, EventStore, ExpectedVersion, MemoryStore, NewEvent,
    Repository, StreamId,
};

const STREAMS: usize = 1_000;
const REHYDRATED_EVENTS: usize = 10_000;
const READ_ALL_EVENTS: usize = 1_000_000;

fn stream_ids(count: usize) -> Vec<StreamId> {
    (0..count)
        .map(|n| StreamId::new(format!("counter-{n:05}")).expect("valid id"))
        .collect()
}

const INCREMENT: CounterCommand = CounterCommand::Increment { by: 1 };

/// The reference: what a hand-written service would do without the kernel.
#[derive(Default)]
struct HandWritten {
    events: HashMap<StreamId, Vec<CounterEvent>>,
    states: HashMap<StreamId, CounterState>,
}

impl HandWritten {
    fn execute(&mut self, stream: &StreamId, command: &CounterCommand) -> usize {
        let state = self.states.entry(stream.clone()).or_default();
        let events = Counter::decide(state, command).expect("accepted");
        for event in &events {
            Counter::apply(state, event);
        }
        let log = self.events.entry(stream.clone()).or_default();
        log.extend(events);
        log.len()
    }
}

fn fold_by_hand(events: &[CounterEvent]) -> CounterState {
    let mut state = CounterState::default();
    for event in events {
        state.changes += 1;
        match event {
            CounterEvent::Incremented { by } => state.value += i64::from(*by),
            CounterEvent::Decremented { by } => state.value -= i64::from(*by),
            CounterEvent::Closed => state.closed = true,
        }
    }
    state
}

/// A one-event command through the repository with the state cache, over 1,000 streams.
fn command(c: &mut Criterion) {
    let streams = stream_ids(STREAMS);
    let mut group = c.benchmark_group("command_1_event_1000_streams");
    group.throughput(Throughput::Elements(1));

    for with_command_id in [false, true] {
        let name = if with_command_id {
            "repository_with_command_id"
        } else {
            "repository"
        };
        group.bench_function(name, |b| {
            b.iter_custom(|iterations| {
                // A fresh store per sample keeps memory bounded; every stream is warm in the
                // cache before the clock starts.
                let store = MemoryStore::<CounterEvent>::new();
                let repository = Repository::<Counter, _, _>::new(store).with_state_cache(STREAMS);
                let plain = CommandContext::new();
                for stream in &streams {
                    repository
                        .execute(stream, &INCREMENT, &plain)
                        .expect("accepted");
                }
                let contexts: Vec<CommandContext> = if with_command_id {
                    (0..iterations.min(1 << 20))
                        .map(|_| CommandContext::with_command_id(CommandId::new()))
                        .collect()
                } else {
                    vec![plain]
                };
                let start = Instant::now();
                for iteration in 0..iterations as usize {
                    let stream = &streams[iteration % STREAMS];
                    let context = &contexts[iteration % contexts.len()];
                    black_box(
                        repository
                            .execute(stream, &INCREMENT, context)
                            .expect("accepted"),
                    );
                }
                start.elapsed()
            });
        });
    }
    group.bench_function("hand_written_reference", |b| {
        b.iter_custom(|iterations| {
            let mut reference = HandWritten::default();
            for stream in &streams {
                reference.execute(stream, &INCREMENT);
            }
            let start = Instant::now();
            for iteration in 0..iterations as usize {
                black_box(reference.execute(&streams[iteration % STREAMS], &INCREMENT));
            }
            start.elapsed()
        });
    });
    group.finish();
}

/// Folding a 10,000-event stream from the memory store, without cache or snapshot.
fn rehydrate(c: &mut Criterion) {
    let store = MemoryStore::<CounterEvent>::new();
    let stream = StreamId::new("counter-long").expect("valid id");
    let events: Vec<CounterEvent> = (0..REHYDRATED_EVENTS)
        .map(|n| CounterEvent::Incremented {
            by: (n % 7) as u32 + 1,
        })
        .collect();
    for chunk in events.chunks(1_000) {
        let batch = chunk
            .iter()
            .map(|event| NewEvent::new(event.clone(), Utc::now()))
            .collect();
        store
            .append(&stream, ExpectedVersion::Any, batch)
            .expect("append");
    }
    let repository = Repository::<Counter, _, _>::new(store.clone());
    let expected = fold_by_hand(&events);
    assert_eq!(*repository.load(&stream).expect("load").state, expected);

    let mut group = c.benchmark_group("rehydrate_10000_events");
    group.throughput(Throughput::Elements(REHYDRATED_EVENTS as u64));
    group.bench_function("repository_load", |b| {
        b.iter(|| black_box(repository.load(&stream).expect("load")));
    });
    group.bench_function("hand_written_reference", |b| {
        let mut by_hand: HashMap<StreamId, Vec<CounterEvent>> = HashMap::new();
        by_hand.insert(stream.clone(), events.clone());
        b.iter(|| black_box(fold_by_hand(&by_hand[&stream])));
    });
    group.finish();
}

/// Reading every event of a 1,000,000-event store in commit order.
fn read_all(c: &mut Criterion) {
    let store = MemoryStore::<CounterEvent>::new();
    let streams = stream_ids(STREAMS);
    let mut reference: Vec<CounterEvent> = Vec::with_capacity(READ_ALL_EVENTS);
    for round in 0..READ_ALL_EVENTS / STREAMS / 10 {
        for stream in &streams {
            let batch: Vec<_> = (0..10)
                .map(|n| {
                    NewEvent::new(
                        CounterEvent::Incremented {
                            by: (round + n) as u32,
                        },
                        Utc::now(),
                    )
                })
                .collect();
            reference.extend(batch.iter().map(|new_event| new_event.event.clone()));
            store
                .append(stream, ExpectedVersion::Any, batch)
                .expect("append");
        }
    }
    assert_eq!(store.head_position().expect("head"), READ_ALL_EVENTS as u64);

    let mut group = c.benchmark_group("read_all_1000000_events");
    group.throughput(Throughput::Elements(READ_ALL_EVENTS as u64));
    group.sample_size(20);
    group.bench_function("memory_store", |b| {
        b.iter(|| {
            let mut total = 0u64;
            for stored in store.read_all(1).expect("read_all") {
                let stored = stored.expect("event");
                if let CounterEvent::Incremented { by } = stored.event {
                    total += u64::from(by) ^ stored.position;
                }
            }
            black_box(total)
        });
    });
    group.bench_function("hand_written_reference", |b| {
        b.iter(|| {
            let mut total = 0u64;
            for (position, event) in (1u64..).zip(&reference) {
                if let CounterEvent::Incremented { by } = event {
                    total += u64::from(*by) ^ position;
                }
            }
            black_box(total)
        });
    });
    group.finish();
}

/// Two threads appending single events to their own streams at once.
fn concurrent_appends(c: &mut Criterion) {
    const THREADS: usize = 2;
    let streams = stream_ids(THREADS * 100);
    let mut group = c.benchmark_group("append_2_threads_distinct_streams");
    group.throughput(Throughput::Elements(1));

    group.bench_function(BenchmarkId::from_parameter("memory_store"), |b| {
        b.iter_custom(|iterations| {
            let store = MemoryStore::<CounterEvent>::new();
            let per_thread = (iterations as usize).div_ceil(THREADS);
            let start = Instant::now();
            std::thread::scope(|scope| {
                for thread in 0..THREADS {
                    let (store, streams) = (&store, &streams);
                    scope.spawn(move || {
                        for n in 0..per_thread {
                            let stream = &streams[thread + THREADS * (n % 100)];
                            let event =
                                NewEvent::new(CounterEvent::Incremented { by: 1 }, Utc::now());
                            black_box(
                                store
                                    .append(stream, ExpectedVersion::Any, vec![event])
                                    .expect("append"),
                            );
                        }
                    });
                }
            });
            start.elapsed()
        });
    });
    group.bench_function(BenchmarkId::from_parameter("hand_written_reference"), |b| {
        b.iter_custom(|iterations| {
            let log: Mutex<HashMap<StreamId, Vec<CounterEvent>>> = Mutex::new(HashMap::new());
            let per_thread = (iterations as usize).div_ceil(THREADS);
            let start = Instant::now();
            std::thread::scope(|scope| {
                for thread in 0..THREADS {
                    let (log, streams) = (&log, &streams);
                    scope.spawn(move || {
                        for n in 0..per_thread {
                            let stream = &streams[thread + THREADS * (n % 100)];
                            let mut log = log.lock().expect("lock");
                            let events = log.entry(stream.clone()).or_default();
                            events.push(CounterEvent::Incremented { by: 1 });
                            black_box(events.len());
                        }
                    });
                }
            });
            start.elapsed()
        });
    });
    group.finish();
}

criterion_group! {
    name = kernel;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    targets = command, rehydrate, read_all, concurrent_appends
}
criterion_main!(kernel);
