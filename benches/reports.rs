//! Rebuilding all seven reports from about a million simulated events, from the memory store and
//! from the sled store, beside reading (and, for sled, decoding) the same events alone in the
//! same run. Results are recorded in docs/benchmarks.md.
//!
//! Run: `cargo bench --bench reports` (about ten minutes: the simulation and a sled import of a
//! million events come first).

use std::hint::black_box;
use std::io::BufReader;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use service_lifecycle::json::{export_all, import, ImportOptions};
use service_lifecycle::kernel::{EventStore, MemoryStore, Projector};
use service_lifecycle::reports::Reports;
use service_lifecycle::sled::{Durability, SledOptions, SledStore};
use service_lifecycle::{ServiceEvent, ServiceLifecycle};
use service_lifecycle_cli::simulation::{simulate, SimulationConfig};
use service_lifecycle_cli::tables::close_of_business;

/// 38,000 customers over a year: 1,011,641 events with seed 7.
const CONFIG: SimulationConfig = SimulationConfig {
    customers: 38_000,
    years: 1,
    seed: 7,
};

/// Rebuilds every report from position 0 and asks each of the seven its question; returns the
/// reports so that criterion (`iter_with_large_drop`) drops them outside the measured time:
/// freeing a hundred thousand entity states is not part of building them.
fn rebuild_all_reports<S: EventStore<ServiceEvent>>(store: &S) -> (usize, Reports) {
    let mut projector = Projector::new("bench.reports", Reports::default());
    let checkpoints = service_lifecycle::kernel::MemoryStore::<ServiceEvent>::new();
    projector.catch_up(store, &checkpoints).expect("reports");
    let reports = projector.projection();
    let day = NaiveDate::from_ymd_opt(2026, 9, 30).unwrap_or_default();
    let answers = reports.pre_sale_board().ready_for_sale.len()
        + reports.backlog(day).awaiting_delivery.len()
        + reports.service_due(day).due.len()
        + reports.sla(close_of_business(day)).at_risk.len()
        + reports.warranty(day, 60).expiring.len()
        + reports.parts_horizon(day).parts.len()
        + reports.outreach(day).obligations_by_level.len();
    (answers, projector.into_projection())
}

fn read_all_alone<S: EventStore<ServiceEvent>>(store: &S) -> u64 {
    let mut count = 0;
    for event in store.read_all(1).expect("read") {
        black_box(event.expect("event"));
        count += 1;
    }
    count
}

fn reports(c: &mut Criterion) {
    let started = Instant::now();
    let memory = MemoryStore::<ServiceEvent>::new();
    simulate(
        ServiceLifecycle::new(memory.clone()).expect("service"),
        CONFIG,
        |_, _| true,
    )
    .expect("simulation");
    let events = memory.head_position().expect("head");
    eprintln!(
        "reports: simulated {events} events in memory in {:?} ({:.0} events/s)",
        started.elapsed(),
        events as f64 / started.elapsed().as_secs_f64()
    );

    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("directory");
    let file = dir.path().join("simulation.jsonl");
    export_all(&memory, std::fs::File::create(&file).expect("file")).expect("export");
    let sled_path = dir.path().join("store");
    let options = || {
        SledOptions::new()
            .durability(Durability::Buffered)
            .cache_capacity(512 * 1024 * 1024)
    };
    let sled = SledStore::<ServiceEvent>::open_with(&sled_path, options()).expect("sled");
    let started = Instant::now();
    let reader = BufReader::new(std::fs::File::open(&file).expect("file"));
    import(reader, &sled, ImportOptions::new()).expect("import");
    sled.flush().expect("flush");
    eprintln!(
        "reports: imported them into sled in {:?}",
        started.elapsed()
    );
    // Measured as a rebuild runs in practice: on a store opened from disk, not on the handle
    // that has just written it (whose cache still holds what the import left there).
    drop(sled);
    let sled = SledStore::<ServiceEvent>::open_with(&sled_path, options()).expect("reopen");

    let mut group = c.benchmark_group("reports/rebuild_all_seven");
    group.sample_size(10);
    group.throughput(Throughput::Elements(events));
    group.measurement_time(Duration::from_secs(30));
    group.bench_function("memory_store", |b| {
        b.iter_with_large_drop(|| rebuild_all_reports(&memory))
    });
    group.bench_function("memory_store_read_alone", |b| {
        b.iter(|| black_box(read_all_alone(&memory)))
    });
    group.bench_function("sled_store", |b| {
        b.iter_with_large_drop(|| rebuild_all_reports(&sled))
    });
    group.bench_function("sled_store_read_and_decode_alone", |b| {
        b.iter(|| black_box(read_all_alone(&sled)))
    });
    group.finish();
}

criterion_group!(benches, reports);
criterion_main!(benches);
