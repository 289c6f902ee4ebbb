//! The seven reports after the domain's scenario, and the law of every projection: maintained
//! incrementally from checkpoints, they equal the same reports rebuilt from zero.

use chrono::Duration;
use proptest::prelude::*;

use super::*;
use crate::kernel::{EventStore, MemoryStore, Projector};
use crate::testing::histories::{arbitrary_ops, run};
use crate::testing::scenario::receipt_to_post_warranty_repair;
use crate::testing::time::{scenario_date, scenario_day};

fn scenario_reports() -> Reports {
    let store = MemoryStore::new();
    receipt_to_post_warranty_repair(store.clone());
    let mut projector = Projector::new("reports", Reports::default());
    projector.catch_up(&store, &store).unwrap();
    assert_eq!(projector.position(), store.head_position().unwrap());
    projector.into_projection()
}

#[test]
fn the_pre_sale_board_counts_units_by_model_and_status() {
    let reports = scenario_reports();
    let board = reports.pre_sale_board();
    assert_eq!(board.units_by_model_and_status.len(), 1);
    assert_eq!(board.units_by_model_and_status[0].status, "in_service");
    assert_eq!(board.units_by_model_and_status[0].units, 1);
    assert!(
        board.open_transport_damage.is_empty(),
        "the damage was repaired before the sale"
    );
    assert!(board.ready_for_sale.is_empty(), "the one unit was sold");
    let model = board.units_by_model_and_status[0].model.unwrap();
    assert!(reports.substitutes(&[model]).is_empty());
}

#[test]
fn the_backlog_is_empty_once_units_are_delivered_and_installed() {
    let reports = scenario_reports();
    let backlog = reports.backlog(scenario_date(20));
    assert!(backlog.awaiting_delivery.is_empty() && backlog.awaiting_installation.is_empty());
}

#[test]
fn the_warranty_report_lists_expiring_units_and_the_sellers_cost_per_model_and_month() {
    let reports = scenario_reports();
    let in_warranty = reports.warranty(scenario_date(30), 400);
    assert_eq!(in_warranty.units_under_warranty, 1);
    assert_eq!(in_warranty.expiring.len(), 1);
    assert!(
        reports.warranty(scenario_date(30), 30).expiring.is_empty(),
        "a year away"
    );
    // The warranty repair (18,000) was the seller's; the post-warranty one the customer's.
    assert_eq!(in_warranty.seller_cost.len(), 1);
    let cost = &in_warranty.seller_cost[0];
    assert_eq!((cost.minor_units, cost.month.as_str()), (18_000, "2026-04"));
    assert_eq!(
        reports
            .warranty(scenario_date(800), 30)
            .units_under_warranty,
        0
    );
}

#[test]
fn the_parts_horizon_shows_the_obligation_stock_and_consumption() {
    let reports = scenario_reports();
    let as_of = scenario_date(900);
    let horizon = reports.parts_horizon(as_of);
    assert_eq!(horizon.parts.len(), 1);
    let pump = &horizon.parts[0];
    assert_eq!((pump.on_hand, pump.reserved, pump.backordered), (3, 1, 0));
    let until = pump.obligation_until.expect("the model was discontinued");
    assert!(
        until > as_of + Duration::days(3_000),
        "ten years after the discontinuation"
    );
    assert_eq!(pump.issued_in_window, 1, "the post-warranty repair's pump");
    let cover = pump.months_of_cover.expect("a consumption rate");
    assert!(
        pump.runs_out_before_obligation_end,
        "{cover} months of cover, ten years to go"
    );
}

#[test]
fn stock_that_outlasts_the_calendar_does_not_run_out_before_the_obligation_ends() {
    let store = MemoryStore::new();
    receipt_to_post_warranty_repair(store.clone());
    let w = crate::testing::scenario::world_on(store.clone());
    w.service
        .part(
            crate::PartCommand::ReceiveStock {
                part: w.pump.clone(),
                location: crate::Location::CentralWarehouse,
                quantity: u32::MAX,
                at: scenario_day(850),
            },
            &crate::testing::scenario::no_context(),
        )
        .unwrap();
    let mut projector = Projector::new("reports", Reports::default());
    projector.catch_up(&store, &store).unwrap();
    let horizon = projector.projection().parts_horizon(scenario_date(900));
    let pump = &horizon.parts[0];
    assert!(
        pump.months_of_cover.is_some_and(|months| months > 1e9),
        "{pump:?}"
    );
    assert!(!pump.runs_out_before_obligation_end);
}

#[test]
fn the_service_due_list_shows_visits_in_their_window_and_missed_ones_as_of_a_day() {
    use crate::contract::{ContractKind, Entitlements, Terms};
    use crate::testing::scenario::{no_context, world_on};
    use crate::{ContractCommand, ContractId, Product, TargetGroup};
    let store = MemoryStore::new();
    let w = world_on(store.clone());
    w.setup_customer_technician_and_parts();
    w.prepare_and_sell();
    let product = w.state::<Product>(Product::stream_id(w.product).unwrap());
    let start = product.warranty.unwrap().until + Duration::days(1);
    // A post-warranty contract with a preventive visit every six months, two weeks either side.
    let contract = ContractId::from_uuid(uuid::Uuid::from_u128(20));
    let terms = Terms {
        contract,
        kind: ContractKind::PostWarranty,
        customer: w.customer,
        units: std::collections::BTreeSet::from([w.product]),
        start,
        end: start + Duration::days(730),
        plan: crate::default_plan(&TargetGroup::Household),
        entitlements: Entitlements {
            preventive_every_months: Some(6),
            preventive_window_days: 14,
            ..Entitlements::default()
        },
        currency: w.eur,
    };
    let send = |command| w.service.contract(command, &no_context()).unwrap();
    send(ContractCommand::Propose {
        terms,
        warranty_ends: std::collections::BTreeMap::new(),
        at: scenario_day(300),
    });
    send(ContractCommand::Activate {
        contract,
        at: scenario_day(300),
    });
    let mut projector = Projector::new("reports", Reports::default());
    projector.catch_up(&store, &store).unwrap();
    let visits = &projector.projection().contracts
        [&crate::ServiceContract::stream_id(contract).unwrap()]
        .visits;
    let (first, second) = (visits[&1], visits[&2]);
    // Visit 1 is performed in its window; visit 2 never is.
    send(ContractCommand::PerformVisit {
        contract,
        visit: 1,
        at: first.due.and_hms_opt(10, 0, 0).unwrap().and_utc(),
    });
    projector.catch_up(&store, &store).unwrap();
    let reports = projector.projection();

    let before = reports.service_due(first.window_start() - Duration::days(1));
    assert!(
        before.due.is_empty() && before.missed.is_empty(),
        "{before:?}"
    );
    let in_first_window = reports.service_due(first.due - Duration::days(1));
    assert_eq!(
        in_first_window
            .due
            .iter()
            .map(|row| row.visit)
            .collect::<Vec<_>>(),
        [1],
        "due the day before it was performed"
    );
    let row = &in_first_window.due[0];
    assert_eq!(
        (row.contract, row.customer, row.due, row.window_end),
        (contract, w.customer, first.due, first.window_end())
    );
    let in_second_window = reports.service_due(second.due);
    assert_eq!(
        in_second_window
            .due
            .iter()
            .map(|row| row.visit)
            .collect::<Vec<_>>(),
        [2],
        "visit 1 was performed"
    );
    assert!(in_second_window.missed.is_empty());
    let after = reports.service_due(second.window_end() + Duration::days(1));
    assert!(after.due.is_empty());
    assert_eq!(
        after.missed.iter().map(|row| row.visit).collect::<Vec<_>>(),
        [2],
        "missed once its window closed unperformed"
    );
}

#[test]
fn sla_compliance_measures_every_call_and_names_the_calls_at_risk() {
    let reports = scenario_reports();
    let sla = reports.sla(scenario_day(2_000));
    assert_eq!((sla.overall.calls, sla.overall.resolved), (2, 2));
    assert_eq!(sla.overall.resolution_minutes.count, 2);
    assert!(sla.at_risk.is_empty(), "both calls are resolved");
    assert_eq!(sla.by_contract.len(), 2);
    assert_eq!(sla.by_technician.len(), 1);
    assert_eq!(sla.by_target_group[0].target_group, "household");
    // Before the second call was dispatched... the first call, as of its opening, is not late.
    let early = reports.sla(scenario_day(30));
    assert_eq!(early.overall.calls, 1);
}

#[test]
fn outreach_counts_obligations_per_level_as_of_a_day() {
    let reports = scenario_reports();
    let outreach = reports.outreach(scenario_date(20));
    let accountable = outreach
        .obligations_by_level
        .iter()
        .find(|row| row.level == RelationshipLevel::Accountable)
        .expect("the accountable customer's follow-up");
    assert_eq!(
        accountable.missed, 1,
        "the follow-up was due within days of the sale"
    );
    assert_eq!(outreach.customers_by_level_and_group.len(), 1);
    assert_eq!(
        outreach.customers_by_level_and_group[0].target_group,
        "household"
    );
}

#[test]
fn percentiles_take_the_nearest_rank() {
    let of = |values: &[i64]| Percentiles::of(&mut values.to_vec());
    assert_eq!(
        of(&[]),
        Percentiles {
            count: 0,
            median: None,
            p90: None
        }
    );
    assert_eq!(of(&[7]).median, Some(7));
    let hundred: Vec<i64> = (1..=100).collect();
    assert_eq!(
        (of(&hundred).median, of(&hundred).p90),
        (Some(50), Some(90))
    );
    assert_eq!(of(&[3, 1, 2]).median, Some(2));
}

#[test]
fn every_report_serializes_to_json() {
    let reports = scenario_reports();
    for json in [
        serde_json::to_string(&reports.pre_sale_board()),
        serde_json::to_string(&reports.backlog(scenario_date(20))),
        serde_json::to_string(&reports.service_due(scenario_date(20))),
        serde_json::to_string(&reports.sla(scenario_day(2_000))),
        serde_json::to_string(&reports.warranty(scenario_date(30), 30)),
        serde_json::to_string(&reports.parts_horizon(scenario_date(900))),
        serde_json::to_string(&reports.outreach(scenario_date(20))),
        serde_json::to_string(&reports),
    ] {
        json.expect("a report serializes");
    }
    let again: Reports = serde_json::from_str(&serde_json::to_string(&reports).unwrap()).unwrap();
    assert_eq!(
        again, reports,
        "the state round-trips, so it can be persisted with a checkpoint"
    );
}

/// Every report of `reports` as of `instant` (and its day), as JSON.
fn all_reports_as_of(reports: &Reports, instant: chrono::DateTime<chrono::Utc>) -> Vec<String> {
    let day = instant.date_naive();
    [
        serde_json::to_string(&reports.pre_sale_board()),
        serde_json::to_string(&reports.substitutes(&[crate::testing::histories::model()])),
        serde_json::to_string(&reports.backlog(day)),
        serde_json::to_string(&reports.service_due(day)),
        serde_json::to_string(&reports.sla(instant)),
        serde_json::to_string(&reports.warranty(day, 30)),
        serde_json::to_string(&reports.parts_horizon(day)),
        serde_json::to_string(&reports.outreach(day)),
    ]
    .into_iter()
    .map(|json| json.expect("a report serializes"))
    .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// The as-of law: every report as of the end of a day, over the whole history, equals the
    /// same report over the history as it stood then (the operations up to that instant, run
    /// on a store of their own). A report never shows a negative age or a month after its day,
    /// even over reports that were not cut.
    #[test]
    fn a_report_as_of_a_day_over_the_whole_history_equals_it_over_the_history_cut_there(
        ops in arbitrary_ops(80),
        day in 0i64..4,
    ) {
        // The last instant of a day; the history's operations happen an hour apart, the
        // first at hour 1, so those done by then are a prefix.
        let hour = crate::testing::time::hour;
        let instant = (hour(0).date_naive() + Duration::days(day + 1))
            .and_hms_opt(0, 0, 0)
            .unwrap()
            .and_utc()
            - Duration::nanoseconds(1);
        let done_by_then = (0..ops.len()).take_while(|&n| hour(n as i64 + 1) <= instant).count();
        let whole = MemoryStore::new();
        run(whole.clone(), &ops);
        let past = MemoryStore::new();
        run(past.clone(), &ops[..done_by_then]);
        let cut = Reports::read_as_of(&whole, instant).unwrap();
        let then = Reports::read_as_of(&past, instant).unwrap();
        prop_assert_eq!(all_reports_as_of(&cut, instant), all_reports_as_of(&then, instant));
        let mut uncut = Projector::new("uncut", Reports::default());
        uncut.catch_up(&whole, &whole).unwrap();
        let date = instant.date_naive();
        for reports in [&cut, uncut.projection()] {
            let backlog = reports.backlog(date);
            for row in backlog.awaiting_delivery.iter().chain(&backlog.awaiting_installation) {
                prop_assert!(row.age_days >= 0, "{row:?}");
            }
            let month = format!("{:04}-{:02}", date.year(), date.month());
            for row in reports.warranty(date, 30).seller_cost {
                prop_assert!(row.month <= month, "{row:?}");
            }
        }
    }

    /// Reports caught up after each part of a history, resuming from their checkpoint, equal
    /// reports rebuilt from position 0 over the whole history.
    #[test]
    fn incremental_reports_equal_reports_rebuilt_from_zero(
        ops in arbitrary_ops(60),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..4),
    ) {
        let store = MemoryStore::new();
        let mut incremental = Projector::new("reports", Reports::default()).checkpoint_every(7);
        let mut bounds: Vec<usize> = cuts.iter().map(|cut| cut.index(ops.len() + 1)).collect();
        bounds.push(0);
        bounds.push(ops.len());
        bounds.sort_unstable();
        for part in bounds.windows(2) {
            // A new application over the same store continues the history.
            run(store.clone(), &ops[part[0]..part[1]]);
            incremental.catch_up(&store, &store).unwrap();
        }
        let mut rebuilt = Projector::new("rebuilt", Reports::default());
        rebuilt.catch_up(&store, &store).unwrap();
        prop_assert_eq!(incremental.projection(), rebuilt.projection());
    }
}

#[test]
fn open_damage_the_backlog_and_calls_at_risk_show_while_they_last() {
    use crate::contract::CallKind;
    use crate::product::{AfterSaleServices, DamageSeverity, DeliveryTo};
    use crate::testing::scenario::{no_context, world_on};
    use crate::values::{Money, SerialNumber, WarrantyStart, WarrantyTerms};
    use crate::{ContractCommand, Priority, ProductCommand};

    let store = MemoryStore::new();
    let w = world_on(store.clone());
    w.setup_customer_technician_and_parts();
    let product = |command| w.service.product(command, &no_context()).unwrap();
    let unit = w.product;
    product(ProductCommand::ReceiveUnit {
        model: w.model,
        serial: SerialNumber::new("WM-1001").unwrap(),
        at: scenario_day(1),
    });
    product(ProductCommand::RecordTransportDamage {
        product: unit,
        description: "dented door".into(),
        severity: DamageSeverity::Functional,
        at: scenario_day(1),
    });
    let reports = |store: &MemoryStore<_>| {
        let mut projector = Projector::new("reports", Reports::default());
        projector.catch_up(store, store).unwrap();
        projector.into_projection()
    };
    let board = reports(&store).pre_sale_board();
    assert_eq!(board.open_transport_damage.len(), 1);
    assert_eq!(board.open_transport_damage[0].open_damages, vec![1]);
    assert_eq!(board.units_by_model_and_status[0].status, "in_preparation");

    product(ProductCommand::RepairTransportDamage {
        product: unit,
        damage: 1,
        at: scenario_day(2),
    });
    product(ProductCommand::Commission {
        product: unit,
        at: scenario_day(2),
    });
    product(ProductCommand::RecordTestRun {
        product: unit,
        passed: true,
        notes: "ok".into(),
        at: scenario_day(2),
    });
    let ready = reports(&store);
    assert_eq!(ready.pre_sale_board().ready_for_sale.len(), 1);
    assert_eq!(
        ready.substitutes(&[w.model]).len(),
        1,
        "a ready unit of the stand-in model"
    );

    product(ProductCommand::Sell {
        product: unit,
        customer: w.customer,
        price: Money::new(64_900, w.eur),
        packaging: "box".into(),
        warranty: WarrantyTerms {
            months: 12,
            starts: WarrantyStart::OnSale,
        },
        services: AfterSaleServices {
            delivery: Some(DeliveryTo::Home),
            installation: true,
            training: false,
        },
        at: scenario_day(4),
    });
    let backlog = reports(&store).backlog(scenario_date(10));
    assert_eq!(backlog.awaiting_delivery.len(), 1);
    assert_eq!(backlog.awaiting_delivery[0].age_days, 6);
    product(ProductCommand::Deliver {
        product: unit,
        at: scenario_day(5),
    });
    let backlog = reports(&store).backlog(scenario_date(10));
    assert!(backlog.awaiting_delivery.is_empty());
    assert_eq!(backlog.awaiting_installation[0].since, scenario_date(5));

    let contract = w.warranty_contract();
    let call = crate::CallId::from_uuid(uuid::Uuid::from_u128(77));
    w.service
        .contract(
            ContractCommand::OpenCall {
                contract,
                call,
                unit,
                priority: Priority::Critical,
                kind: CallKind::Breakdown,
                at: scenario_day(7),
            },
            &no_context(),
        )
        .unwrap();
    // Day 7 is a Monday, 10:00: a critical call must be answered within an hour of office time.
    let sla = reports(&store).sla(scenario_day(7) + Duration::hours(2));
    assert_eq!(sla.at_risk.len(), 1);
    assert!(
        sla.at_risk[0].overdue.contains(&SlaTarget::Response),
        "{:?}",
        sla.at_risk[0]
    );
    let now = reports(&store).sla(scenario_day(7));
    assert_eq!(
        now.at_risk.len(),
        1,
        "the response deadline is within the hour"
    );
    assert_eq!(now.at_risk[0].overdue, vec![]);
}

#[test]
fn a_report_as_of_an_instant_includes_what_occurred_at_that_instant_and_nothing_after() {
    use crate::testing::histories::Op;
    let store = MemoryStore::new();
    run(
        store.clone(),
        &[
            Op::Receive { unit: 1 },
            Op::Commission { unit: 1 },
            Op::TestRun {
                unit: 1,
                passed: true,
            },
        ],
    );
    let tested = crate::testing::time::hour(3);
    let ready = |instant| {
        Reports::read_as_of(&store, instant)
            .unwrap()
            .pre_sale_board()
            .ready_for_sale
            .len()
    };
    assert_eq!(ready(tested), 1, "the end is inclusive");
    assert_eq!(ready(tested - Duration::nanoseconds(1)), 0);
    assert_eq!(
        Reports::read_as_of(&store, tested - Duration::hours(3))
            .unwrap()
            .pre_sale_board()
            .units_by_model_and_status
            .len(),
        0,
        "before the unit was received, the board is empty"
    );
}

#[test]
fn names_come_from_the_catalogue_the_hiring_and_the_vault_and_an_erased_customer_shows_as_erased() {
    use crate::kernel::{CommandContext, MemoryVault};
    let store = MemoryStore::new();
    let vault = std::sync::Arc::new(MemoryVault::new());
    let service = crate::ServiceLifecycle::builder(store.clone())
        .personal_data(vault.clone())
        .open()
        .unwrap();
    let world = crate::testing::scenario::World {
        service,
        ..crate::testing::scenario::world_on(store.clone())
    };
    world.setup_customer_technician_and_parts();
    let reports = Reports::read_as_of(&store, DateTime::<Utc>::MAX_UTC).unwrap();
    let names = Names::new(&reports, Some(&*vault));
    assert_eq!(names.model(world.model), "WM-7 washing machine");
    assert_eq!(names.technician(world.technician), "Ivan Sidorov");
    assert_eq!(
        names.customer(world.customer),
        CustomerName::Known("Anna Petrova".into())
    );
    let unknown = ModelId::from_uuid(uuid::Uuid::from_u128(404));
    assert_eq!(names.model(unknown), format!("model {unknown}"));
    let shown = names.shown();
    assert_eq!(shown.models.len(), 2);
    assert_eq!(shown.customers.len(), 1);

    world
        .service
        .erase_customer(world.customer, scenario_day(3), &CommandContext::new())
        .unwrap();
    let reports = Reports::read_as_of(&store, DateTime::<Utc>::MAX_UTC).unwrap();
    let names = Names::new(&reports, Some(&*vault));
    assert_eq!(names.customer(world.customer), CustomerName::Erased);
    // Also in a report of a day before the erasure: an erased name is never shown again.
    let before = Reports::read_as_of(&store, scenario_day(1)).unwrap();
    let names_before = Names::new(&before, Some(&*vault));
    assert_eq!(names_before.customer(world.customer), CustomerName::Erased);
    assert_eq!(names.customer(world.customer).to_string(), "(erased)");
    // Without a vault a customer is shown without a name, never guessed.
    let blind = Names::new(&reports, None);
    let other = CustomerId::from_uuid(uuid::Uuid::from_u128(99));
    assert_eq!(blind.customer(other), CustomerName::Unavailable);
    assert_eq!(blind.customer_label(other), format!("customer {other}"));
}

#[test]
fn short_ids_are_unique_within_what_is_shown_and_never_a_time_prefix() {
    // UUIDv7s made in the same millisecond share their first twelve hex digits.
    let ids: Vec<uuid::Uuid> = (0..200).map(|_| ContractId::new().as_uuid()).collect();
    let short = ShortIds::new(ids.iter().copied());
    let shown: std::collections::BTreeSet<String> = ids.iter().map(|id| short.of(*id)).collect();
    assert_eq!(shown.len(), ids.len());
    for id in &ids {
        let text = id.simple().to_string();
        assert!(text.ends_with(&short.of(*id)));
        assert!(short.of(*id).len() >= 8);
    }
    // Ids alike but for their first digit need all 32.
    let a = uuid::Uuid::from_u128(1);
    let b = uuid::Uuid::from_u128(1 | (1 << 124));
    assert_eq!(ShortIds::new([a, b]).of(b).len(), 32);
    assert_eq!(ShortIds::new([]).of(a).len(), 8);
}
