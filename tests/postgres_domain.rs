//! The domain on the PostgreSQL store, on a throwaway server the test starts: the end-to-end
//! scenario unchanged, personal data and its erasure, and reports caught up in parts from a
//! checkpoint equal to reports rebuilt from zero (the projection law, on this store).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use proptest::prelude::*;
use service_lifecycle::kernel::testing::fixture::fixture_time;
use service_lifecycle::kernel::{CheckpointStore, CommandContext, EventStore, Projector};
use service_lifecycle::postgres::{PostgresOptions, PostgresStore, ThrowawayServer};
use service_lifecycle::reports::Reports;
use service_lifecycle::testing::histories::{arbitrary_ops, run};
use service_lifecycle::testing::races;
use service_lifecycle::testing::scenario::receipt_to_post_warranty_repair;
use service_lifecycle::{CustomerId, PersonalData, Registration, ServiceEvent, ServiceLifecycle};

static SERVER: OnceLock<Option<ThrowawayServer>> = OnceLock::new();

fn server() -> Option<&'static ThrowawayServer> {
    SERVER
        .get_or_init(|| {
            ThrowawayServer::start_unless_missing().unwrap_or_else(|error| panic!("{error}"))
        })
        .as_ref()
}

fn store_in(schema: &str) -> PostgresStore<ServiceEvent> {
    let server = server().expect("checked by the caller");
    PostgresStore::open_with(
        &server.url(),
        PostgresOptions::new().schema(schema).pool_size(4),
    )
    .expect("the store opens")
}

fn fresh_store() -> PostgresStore<ServiceEvent> {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    store_in(&format!("domain_{}", NEXT.fetch_add(1, Ordering::SeqCst)))
}

#[test]
fn the_domain_scenario_runs_on_postgres() {
    if server().is_none() {
        return;
    }
    let store = fresh_store();
    receipt_to_post_warranty_repair(store.clone());
    assert!(store.head_position().unwrap() > 30);
}

#[test]
fn personal_data_is_kept_in_the_database_and_erased_from_it() {
    if server().is_none() {
        return;
    }
    let store = fresh_store();
    let service = ServiceLifecycle::builder(store.clone())
        .personal_data(store.clone())
        .open()
        .unwrap();
    let customer = CustomerId::from_uuid(uuid::Uuid::from_u128(5));
    let anna = PersonalData {
        name: "Anna Petrova".into(),
        contact: "+7 900 000 00 00".into(),
    };
    service
        .register_customer(
            Registration::new(customer, anna.clone(), fixture_time()),
            &CommandContext::new(),
        )
        .unwrap();
    let reopened = store_in(store.schema());
    let again = ServiceLifecycle::builder(reopened.clone())
        .personal_data(reopened.clone())
        .open()
        .unwrap();
    assert_eq!(again.personal_data(customer).unwrap(), Some(anna));
    again
        .erase_customer(customer, fixture_time(), &CommandContext::new())
        .unwrap();
    assert_eq!(service.personal_data(customer).unwrap(), None);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    /// Reports caught up after each part of a history, from a checkpoint kept in the database,
    /// equal the reports rebuilt from zero over the whole history.
    #[test]
    fn reports_caught_up_in_parts_equal_reports_rebuilt_from_zero(
        ops in arbitrary_ops(30),
        cut in any::<prop::sample::Index>(),
    ) {
        if server().is_none() {
            return Ok(());
        }
        let store = fresh_store();
        let cut = cut.index(ops.len() + 1);
        let mut parts = Projector::new("reports", Reports::default());
        for part in [&ops[..cut], &ops[cut..]] {
            run(store.clone(), part);
            parts.catch_up(&store, &store).unwrap();
        }
        prop_assert_eq!(store.load_checkpoint("reports").unwrap(), store.head_position().unwrap());
        let mut rebuilt = Projector::new("rebuilt", Reports::default());
        rebuilt.catch_up(&store, &service_lifecycle::kernel::MemoryStore::<ServiceEvent>::new()).unwrap();
        prop_assert_eq!(parts.projection(), rebuilt.projection());
    }
}

/// S1 and T2 under concurrency on PostgreSQL: two stores with their own connection pools (as
/// two processes would have) over one schema, four threads; at most one racing command passes
/// each time, and every loser gets the rule's refusal.
#[test]
fn rules_across_aggregates_hold_when_commands_race_on_postgres() {
    if server().is_none() {
        return;
    }
    let store = store_in("domain_races");
    let world = service_lifecycle::testing::scenario::world_on(store.clone());
    world.setup_customer_technician_and_parts();
    let services = [
        ServiceLifecycle::new(store_in("domain_races")).unwrap(),
        ServiceLifecycle::new(store_in("domain_races")).unwrap(),
    ];
    let report = races::overlapping_contracts(&world, &services, 4, 250);
    assert_eq!(report.violations, 0, "{report:?}");
    assert!(report.unexpected.is_empty(), "{report:?}");
    assert_eq!((report.passed, report.refused), (250, 750), "{report:?}");
    world.prepare_and_sell();
    let report = races::dispatch_against_revocation(&world, &services, 100);
    assert_eq!(report.violations, 0, "{report:?}");
    assert!(report.unexpected.is_empty(), "{report:?}");
    assert_eq!(report.passed + report.refused, 100, "{report:?}");
}

/// The environment a child process of the multi-process race reads: its number, the server's
/// URL and the schema.
const RACE_CHILD: &str = "SERVICE_LIFECYCLE_RACE_CHILD";
const RACE_URL: &str = "SERVICE_LIFECYCLE_RACE_URL";
const RACE_SCHEMA: &str = "SERVICE_LIFECYCLE_RACE_SCHEMA";
/// How many units the processes race on, and how many processes race.
const RACE_UNITS: usize = 60;
const RACE_PROCESSES: usize = 3;

/// The overlapping contract process `child` proposes on unit number `unit` of the race.
fn race_proposal(
    world: &service_lifecycle::testing::scenario::World<PostgresStore<ServiceEvent>>,
    unit: usize,
    child: usize,
) -> service_lifecycle::ContractCommand {
    use service_lifecycle::*;
    let serial = SerialNumber::new(format!("PROC-{unit}")).unwrap();
    let start =
        chrono::NaiveDate::from_ymd_opt(2026, 4, 1).unwrap() + chrono::Duration::days(child as i64);
    ContractCommand::Propose {
        terms: Terms {
            contract: ContractId::from_uuid(uuid::Uuid::from_u128(
                (3 << 64) | ((unit as u128) << 8) | child as u128,
            )),
            kind: ContractKind::OnDemand,
            customer: world.customer,
            units: std::collections::BTreeSet::from([ProductId::of(world.model, &serial)]),
            start,
            end: start + chrono::Duration::days(30),
            plan: default_plan(&TargetGroup::Household),
            entitlements: Entitlements::default(),
            currency: world.eur,
        },
        warranty_ends: std::collections::BTreeMap::new(),
        at: service_lifecycle::testing::time::day(1),
    }
}

/// S1 across processes: the test starts three copies of its own binary, each with its own
/// application and connection pool over one schema, and each proposes an overlapping contract
/// on every one of 60 units, in the same order, so they race on each unit. Of the three
/// proposals on a unit exactly one passes, and the others are refused with `UnitHasContract`.
#[test]
fn no_two_contracts_pass_on_a_unit_when_processes_race_on_postgres() {
    if let Ok(child) = std::env::var(RACE_CHILD) {
        // A child: propose on every unit and print one outcome per line.
        let child: usize = child.parse().unwrap();
        let store = PostgresStore::<ServiceEvent>::open_with(
            &std::env::var(RACE_URL).unwrap(),
            PostgresOptions::new()
                .schema(std::env::var(RACE_SCHEMA).unwrap())
                .pool_size(2),
        )
        .unwrap();
        let world = service_lifecycle::testing::scenario::world_on(store);
        for unit in 0..RACE_UNITS {
            let outcome = world
                .service
                .contract(race_proposal(&world, unit, child), &CommandContext::new());
            match outcome {
                Ok(_) => println!("race-outcome passed {unit}"),
                Err(service_lifecycle::ServiceError::UnitHasContract { .. }) => {
                    println!("race-outcome refused {unit}");
                }
                Err(other) => println!("race-outcome unexpected {unit} {other}"),
            }
        }
        return;
    }
    let Some(server) = server() else {
        return;
    };
    let schema = "domain_process_races";
    let store = store_in(schema);
    let world = service_lifecycle::testing::scenario::world_on(store.clone());
    world.setup_customer_technician_and_parts();
    for unit in 0..RACE_UNITS {
        world
            .service
            .product(
                service_lifecycle::ProductCommand::ReceiveUnit {
                    model: world.model,
                    serial: service_lifecycle::SerialNumber::new(format!("PROC-{unit}")).unwrap(),
                    at: service_lifecycle::testing::time::day(0),
                },
                &CommandContext::new(),
            )
            .unwrap();
    }
    let children: Vec<_> = (0..RACE_PROCESSES)
        .map(|child| {
            std::process::Command::new(std::env::current_exe().unwrap())
                .args([
                    "--exact",
                    "no_two_contracts_pass_on_a_unit_when_processes_race_on_postgres",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(RACE_CHILD, child.to_string())
                .env(RACE_URL, server.url())
                .env(RACE_SCHEMA, schema)
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut passed = vec![0; RACE_UNITS];
    let mut refused = 0;
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "a racing process failed");
        for line in String::from_utf8_lossy(&output.stdout).lines() {
            // The test harness may print the test's name on the same line, before the first.
            let Some(at) = line.find("race-outcome ") else {
                continue;
            };
            let outcome = &line[at + "race-outcome ".len()..];
            let mut words = outcome.splitn(3, ' ');
            let (kind, unit) = (words.next().unwrap(), words.next().unwrap());
            let unit: usize = unit.parse().unwrap();
            match kind {
                "passed" => passed[unit] += 1,
                "refused" => refused += 1,
                _ => panic!("a racing process got an unexpected error: {outcome}"),
            }
        }
    }
    assert!(
        passed.iter().all(|&count| count == 1),
        "exactly one proposal passes per unit: {passed:?}"
    );
    assert_eq!(refused, RACE_UNITS * (RACE_PROCESSES - 1));
}
