//! The simulation tells the rules' refusals (counted, part of a dealer's life) from failures of
//! the store (which end it with the error instead of being counted as refusals).

use service_lifecycle_cli::simulation::{simulate, SimulationConfig};
use service_lifecycle_core::kernel::EventStore;
use service_lifecycle_core::{ServiceEvent, ServiceLifecycle};
use service_lifecycle_sled::{FaultMode, FaultyStorage, SledOptions, SledStorage, SledStore};

const CONFIG: SimulationConfig = SimulationConfig {
    customers: 40,
    years: 1,
    seed: 3,
};

#[test]
fn a_healthy_store_runs_every_day() {
    let store = service_lifecycle_core::kernel::MemoryStore::<ServiceEvent>::new();
    let summary = simulate(
        ServiceLifecycle::new(store.clone()).unwrap(),
        CONFIG,
        |_, _| true,
    )
    .expect("nothing fails");
    assert_eq!(summary.days, 365);
    assert!(summary.refused < summary.commands / 10, "{summary:?}");
}

#[test]
fn a_store_that_fails_ends_the_simulation_with_its_error_instead_of_counting_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let storage = FaultyStorage::new(
        SledStorage::open(dir.path(), 1 << 22).unwrap(),
        400,
        FaultMode::FromThenOn,
    );
    let store = SledStore::<ServiceEvent, _>::with_storage(storage, dir.path(), SledOptions::new())
        .unwrap();
    let error = simulate(
        ServiceLifecycle::new(store.clone()).unwrap(),
        CONFIG,
        |_, _| true,
    )
    .expect_err("the store's failure ends the simulation");
    assert!(!error.is_rejection(), "{error}");
    assert!(
        store.head_position().unwrap() > 0,
        "it failed part way, after some appends"
    );
}

#[test]
fn a_stop_request_is_honoured_before_the_next_command_not_the_next_day() {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    // A million customers: opening the shop alone is a million commands; the request after the
    // 50th is honoured before the 51st.
    let asked = Arc::new(AtomicU64::new(0));
    let counter = asked.clone();
    let stop = move || counter.fetch_add(1, Ordering::SeqCst) >= 50;
    let store = service_lifecycle_core::kernel::MemoryStore::<ServiceEvent>::new();
    let config = SimulationConfig {
        customers: 1_000_000,
        years: 1,
        seed: 7,
    };
    let summary = service_lifecycle_cli::simulation::simulate_until(
        ServiceLifecycle::new(store.clone()).unwrap(),
        config,
        |_, _| true,
        stop,
    )
    .unwrap();
    assert_eq!(summary.commands, 50);
    assert_eq!(summary.days, 0, "no day was completed");
    assert!(store.head_position().unwrap() >= 1, "what was sent is kept");
}
