//! The whole life of one unit through the facade, on the memory store: receipt to post-warranty
//! repair with parts after its model's discontinuation; plus the cross-aggregate rules (T2, S1)
//! and the policies' idempotency.

use chrono::{Duration, TimeZone};

use super::*;
use crate::domain::contract::{CallKind, Payer};
use crate::domain::customer::{ObligationKind, ObligationStatus, RelationshipLevel};
use crate::domain::product::{AfterSaleServices, DamageSeverity, DeliveryTo, ProductStatus};
use crate::domain::values::{Money, SerialNumber, WarrantyStart, WarrantyTerms};
use crate::domain::PartState;
use crate::{Decider, Event, MemoryStore};

fn day(n: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0)
        .single()
        .unwrap_or_default()
        + Duration::days(n)
}

fn no_context() -> CommandContext {
    CommandContext::new()
}

struct World {
    service: ServiceLifecycle<MemoryStore<ServiceEvent>>,
    model: ModelId,
    product: ProductId,
    customer: CustomerId,
    technician: TechnicianId,
    pump: PartNumber,
    eur: Currency,
}

fn world() -> World {
    let store = MemoryStore::new();
    let service = ServiceLifecycle::new(store).unwrap();
    let model = ModelId::from_uuid(uuid::Uuid::from_u128(7));
    let serial = SerialNumber::new("WM-1001").unwrap();
    World {
        service,
        model,
        product: ProductId::of(model, &serial),
        customer: CustomerId::from_uuid(uuid::Uuid::from_u128(1)),
        technician: TechnicianId::from_uuid(uuid::Uuid::from_u128(2)),
        pump: PartNumber::new("PUMP-220").unwrap(),
        eur: Currency::new("EUR").unwrap(),
    }
}

impl World {
    fn setup_customer_technician_and_parts(&self) {
        let s = &self.service;
        s.register_customer(
            self.customer,
            PersonalData {
                name: "Anna Petrova".into(),
                contact: "+7 900 000 00 00".into(),
            },
            TargetGroup::Household,
            RelationshipLevel::Accountable,
            None,
            day(0),
            &no_context(),
        )
        .unwrap();
        s.technician(
            TechnicianCommand::Hire {
                technician: self.technician,
                at: day(0),
            },
            &no_context(),
        )
        .unwrap();
        s.technician(
            TechnicianCommand::CompleteStandardsTraining {
                technician: self.technician,
                at: day(0),
            },
            &no_context(),
        )
        .unwrap();
        s.technician(
            TechnicianCommand::Certify {
                technician: self.technician,
                model: self.model,
                until: day(2_000).date_naive(),
                at: day(0),
            },
            &no_context(),
        )
        .unwrap();
        s.part(
            PartCommand::RegisterPart {
                part: self.pump.clone(),
                models: BTreeMap::from([(self.model, 1)]),
                reorder_point: 1,
                at: day(0),
            },
            &no_context(),
        )
        .unwrap();
        s.part(
            PartCommand::ReceiveStock {
                part: self.pump.clone(),
                location: Location::CentralWarehouse,
                quantity: 2,
                at: day(0),
            },
            &no_context(),
        )
        .unwrap();
    }

    /// Receives the unit of [`World::model`] and brings it into working condition on day 1,
    /// not yet test-run.
    fn receive_and_commission_on_day_1(&self) {
        let (s, product) = (&self.service, self.product);
        s.product(
            ProductCommand::ReceiveUnit {
                model: self.model,
                serial: SerialNumber::new("WM-1001").unwrap(),
                at: day(1),
            },
            &no_context(),
        )
        .unwrap();
        s.product(
            ProductCommand::Commission {
                product,
                at: day(1),
            },
            &no_context(),
        )
        .unwrap();
    }

    fn prepare_and_sell(&self) {
        let (s, product) = (&self.service, self.product);
        s.product(
            ProductCommand::ReceiveUnit {
                model: self.model,
                serial: SerialNumber::new("WM-1001").unwrap(),
                at: day(1),
            },
            &no_context(),
        )
        .unwrap();
        s.product(
            ProductCommand::RecordTransportDamage {
                product,
                description: "dented panel".into(),
                severity: DamageSeverity::Cosmetic,
                at: day(1),
            },
            &no_context(),
        )
        .unwrap();
        s.product(
            ProductCommand::RepairTransportDamage {
                product,
                damage: 1,
                at: day(2),
            },
            &no_context(),
        )
        .unwrap();
        s.product(
            ProductCommand::Commission {
                product,
                at: day(2),
            },
            &no_context(),
        )
        .unwrap();
        s.product(
            ProductCommand::RecordTestRun {
                product,
                passed: false,
                notes: "leak".into(),
                at: day(2),
            },
            &no_context(),
        )
        .unwrap();
        s.product(
            ProductCommand::RecordTestRun {
                product,
                passed: true,
                notes: "ok".into(),
                at: day(3),
            },
            &no_context(),
        )
        .unwrap();
        s.product(
            ProductCommand::Sell {
                product,
                customer: self.customer,
                price: Money::new(64_900, self.eur),
                packaging: "original box".into(),
                warranty: WarrantyTerms {
                    months: 12,
                    starts: WarrantyStart::OnInstallation,
                },
                services: AfterSaleServices {
                    delivery: Some(DeliveryTo::Home),
                    installation: true,
                    training: true,
                },
                at: day(4),
            },
            &no_context(),
        )
        .unwrap();
        s.product(
            ProductCommand::Deliver {
                product,
                at: day(5),
            },
            &no_context(),
        )
        .unwrap();
        s.product(
            ProductCommand::Install {
                product,
                at: day(6),
            },
            &no_context(),
        )
        .unwrap();
        s.product(
            ProductCommand::TrainUsers {
                product,
                at: day(6),
            },
            &no_context(),
        )
        .unwrap();
    }

    fn warranty_contract(&self) -> ContractId {
        self.service.directory(|directory| {
            *directory.contracts_by_unit[&self.product]
                .keys()
                .next()
                .expect("a warranty contract")
        })
    }

    fn state<D: Decider>(&self, stream: StreamId) -> D::State
    where
        ServiceEvent: crate::Contains<D::Event>,
    {
        let repository = Repository::<D, ServiceEvent, _>::new(self.service.store().clone());
        (*repository.load(&stream).unwrap().state).clone()
    }
}

#[test]
fn one_unit_from_receipt_to_post_warranty_repair_with_parts_after_its_model_is_discontinued() {
    let w = world();
    w.setup_customer_technician_and_parts();
    w.prepare_and_sell();
    let product_state = w.state::<Product>(Product::stream_id(w.product).unwrap());
    assert_eq!(product_state.status(), Some(ProductStatus::InService));
    let warranty = product_state
        .warranty
        .expect("the warranty started at installation");
    assert_eq!(warranty.from, day(6).date_naive());

    // Policy: the sale recorded the purchase, and the accountable customer got a follow-up.
    let customer_state = w.state::<Customer>(Customer::stream_id(w.customer).unwrap());
    assert!(customer_state.purchases.contains(&w.product));
    let (&follow_up, obligation) = customer_state
        .obligations
        .iter()
        .next()
        .expect("a follow-up");
    assert_eq!(
        obligation.kind,
        ObligationKind::PurchaseFollowUp { product: w.product }
    );
    assert_eq!(
        customer_state.obligation_status(follow_up, day(20).date_naive()),
        Some(ObligationStatus::Missed)
    );

    // Policy: the warranty opened an active Warranty contract for the warranty period.
    let warranty_contract = w.warranty_contract();
    let contract_state =
        w.state::<ServiceContract>(ServiceContract::stream_id(warranty_contract).unwrap());
    assert!(contract_state.active_on(day(30).date_naive()));

    // A breakdown under warranty: the pump is reserved at dispatch and issued at resolution; the
    // seller pays.
    let call = CallId::from_uuid(uuid::Uuid::from_u128(10));
    let s = &w.service;
    s.contract(
        ContractCommand::OpenCall {
            contract: warranty_contract,
            call,
            unit: w.product,
            priority: Priority::Critical,
            kind: CallKind::Breakdown,
            at: day(30),
        },
        &no_context(),
    )
    .unwrap();
    s.contract(
        ContractCommand::Dispatch {
            contract: warranty_contract,
            call,
            technician: w.technician,
            parts: vec![(w.pump.clone(), 1)],
            at: day(30),
        },
        &no_context(),
    )
    .unwrap();
    let parts = w.state::<PartsSupply>(PartsSupply::stream_id(&w.pump).unwrap());
    assert_eq!(parts.reserved(), 1, "the dispatch policy reserved the pump");
    s.contract(
        ContractCommand::Arrive {
            contract: warranty_contract,
            call,
            at: day(30) + Duration::hours(2),
        },
        &no_context(),
    )
    .unwrap();
    let resolved = s
        .contract(
            ContractCommand::Resolve {
                contract: warranty_contract,
                call,
                work: "replaced the pump".into(),
                parts: vec![(w.pump.clone(), 1)],
                training_hours: 0,
                cost: Money::new(18_000, w.eur),
                customer_accepts_charge: false,
                at: day(30) + Duration::hours(4),
            },
            &no_context(),
        )
        .unwrap();
    assert!(matches!(
        resolved.events[0],
        ContractEvent::CallResolved {
            payer: Payer::Seller,
            customer_charge: Money { minor_units: 0, .. },
            ..
        }
    ));
    let parts: PartState = w.state::<PartsSupply>(PartsSupply::stream_id(&w.pump).unwrap());
    assert_eq!(
        (parts.on_hand(), parts.reserved()),
        (1, 0),
        "the resolve policy issued the pump"
    );

    // After the warranty: a post-warranty contract, which may not overlap the warranty.
    let post = ContractId::from_uuid(uuid::Uuid::from_u128(20));
    let propose = |start: NaiveDate| ContractCommand::Propose {
        terms: crate::domain::contract::Terms {
            contract: post,
            kind: ContractKind::PostWarranty,
            customer: w.customer,
            units: BTreeSet::from([w.product]),
            start,
            end: start + Duration::days(730),
            plan: default_plan(&TargetGroup::Household),
            entitlements: Entitlements {
                capital_repair: false,
                parts_supply: true,
                ..Entitlements::default()
            },
            currency: w.eur,
        },
        warranty_ends: BTreeMap::new(),
        at: day(300),
    };
    let overlapping = s
        .contract(propose(warranty.until), &no_context())
        .unwrap_err();
    assert!(
        matches!(overlapping, ServiceError::UnitHasContract { .. }),
        "{overlapping}"
    );
    let start = warranty.until + Duration::days(1);
    s.contract(propose(start), &no_context()).unwrap();
    s.contract(
        ContractCommand::Activate {
            contract: post,
            at: day(300),
        },
        &no_context(),
    )
    .unwrap();

    // The model is discontinued; the pump stays guaranteed for ten years.
    s.part(
        PartCommand::DiscontinueModel {
            part: w.pump.clone(),
            model: w.model,
            guarantee_years: 10,
            last_order_date: day(500).date_naive(),
            at: day(400),
        },
        &no_context(),
    )
    .unwrap();

    // A breakdown after the warranty, with the last pump gone: the request is backordered, never
    // refused; stock received fills it; the customer pays (no capital-repair entitlement).
    let later = start.and_hms_opt(10, 0, 0).unwrap_or_default().and_utc() + Duration::days(400);
    let second = CallId::from_uuid(uuid::Uuid::from_u128(11));
    s.part(
        PartCommand::Reserve {
            part: w.pump.clone(),
            call: CallId::from_uuid(uuid::Uuid::from_u128(99)),
            location: Location::CentralWarehouse,
            quantity: 1,
            at: later,
        },
        &no_context(),
    )
    .unwrap();
    s.contract(
        ContractCommand::OpenCall {
            contract: post,
            call: second,
            unit: w.product,
            priority: Priority::Normal,
            kind: CallKind::Breakdown,
            at: later,
        },
        &no_context(),
    )
    .unwrap();
    s.contract(
        ContractCommand::Dispatch {
            contract: post,
            call: second,
            technician: w.technician,
            parts: vec![(w.pump.clone(), 1)],
            at: later,
        },
        &no_context(),
    )
    .unwrap();
    let parts = w.state::<PartsSupply>(PartsSupply::stream_id(&w.pump).unwrap());
    assert_eq!(
        parts.backordered(),
        1,
        "inside the obligation: a backorder, not a refusal"
    );
    s.part(
        PartCommand::ReceiveStock {
            part: w.pump.clone(),
            location: Location::CentralWarehouse,
            quantity: 3,
            at: later + Duration::hours(1),
        },
        &no_context(),
    )
    .unwrap();
    s.contract(
        ContractCommand::Arrive {
            contract: post,
            call: second,
            at: later + Duration::hours(2),
        },
        &no_context(),
    )
    .unwrap();
    let resolved = s
        .contract(
            ContractCommand::Resolve {
                contract: post,
                call: second,
                work: "replaced the pump".into(),
                parts: vec![(w.pump.clone(), 1)],
                training_hours: 0,
                cost: Money::new(21_000, w.eur),
                customer_accepts_charge: true,
                at: later + Duration::hours(3),
            },
            &no_context(),
        )
        .unwrap();
    assert!(matches!(
        resolved.events[0],
        ContractEvent::CallResolved {
            payer: Payer::Customer,
            customer_charge: Money {
                minor_units: 21_000,
                ..
            },
            ..
        }
    ));
    let parts = w.state::<PartsSupply>(PartsSupply::stream_id(&w.pump).unwrap());
    assert_eq!(parts.backordered(), 0);
    assert_eq!(
        parts.on_hand(),
        3,
        "1 left, 3 received, 1 issued to this call"
    );
    assert_eq!(parts.reserved(), 1, "the other call's reservation stays");
    assert!(s.policy_failures().is_empty(), "{:?}", s.policy_failures());
}

#[test]
fn a_technician_without_a_valid_certification_is_not_dispatched_t2() {
    let w = world();
    w.setup_customer_technician_and_parts();
    w.prepare_and_sell();
    let contract = w.warranty_contract();
    let call = CallId::from_uuid(uuid::Uuid::from_u128(10));
    let s = &w.service;
    s.contract(
        ContractCommand::OpenCall {
            contract,
            call,
            unit: w.product,
            priority: Priority::Normal,
            kind: CallKind::Breakdown,
            at: day(30),
        },
        &no_context(),
    )
    .unwrap();
    let novice = TechnicianId::from_uuid(uuid::Uuid::from_u128(3));
    s.technician(
        TechnicianCommand::Hire {
            technician: novice,
            at: day(0),
        },
        &no_context(),
    )
    .unwrap();
    let error = s
        .contract(
            ContractCommand::Dispatch {
                contract,
                call,
                technician: novice,
                parts: Vec::new(),
                at: day(30),
            },
            &no_context(),
        )
        .unwrap_err();
    assert!(
        matches!(error, ServiceError::NotCertified { technician, .. } if technician == novice),
        "{error}"
    );
    // Nothing was written for the refused dispatch.
    let state = w.state::<ServiceContract>(ServiceContract::stream_id(contract).unwrap());
    assert!(state.calls[&call].dispatched.is_none());
    // The certified technician is dispatched.
    s.contract(
        ContractCommand::Dispatch {
            contract,
            call,
            technician: w.technician,
            parts: Vec::new(),
            at: day(30),
        },
        &no_context(),
    )
    .unwrap();
}

#[test]
fn policies_rerun_over_the_whole_log_write_nothing_new_and_carry_the_triggers_causation() {
    let w = world();
    w.setup_customer_technician_and_parts();
    w.prepare_and_sell();
    assert_eq!(w.service.replay_policies().unwrap(), 0);
    // A second application over the same store, replaying every policy, converges too.
    let again = ServiceLifecycle::new(w.service.store().clone()).unwrap();
    assert_eq!(again.replay_policies().unwrap(), 0);
    // The purchase was caused by the sale, in the sale's chain.
    let all: Vec<Envelope<ServiceEvent>> = w
        .service
        .store()
        .read_all(1)
        .unwrap()
        .map(|stored| stored.unwrap().into_owned())
        .collect();
    let sold = all
        .iter()
        .find(|e| {
            matches!(
                e.event,
                ServiceEvent::Product(ProductEvent::UnitSold { .. })
            )
        })
        .unwrap();
    let purchase = all
        .iter()
        .find(|e| {
            matches!(
                e.event,
                ServiceEvent::Customer(CustomerEvent::PurchaseRecorded { .. })
            )
        })
        .unwrap();
    assert_eq!(purchase.causation_id, sold.event_id.as_uuid());
    assert_eq!(purchase.correlation_id, sold.correlation_id);
}

#[test]
fn erasure_removes_personal_data_from_every_read_path_and_the_history_still_replays() {
    let w = world();
    w.setup_customer_technician_and_parts();
    w.prepare_and_sell();
    let s = &w.service;
    assert_eq!(
        s.personal_data(w.customer).unwrap().map(|data| data.name),
        Some("Anna Petrova".to_owned())
    );
    let before = w.state::<Customer>(Customer::stream_id(w.customer).unwrap());
    s.erase_customer(w.customer, day(50), &no_context())
        .unwrap();
    assert_eq!(s.personal_data(w.customer).unwrap(), None);
    let after = w.state::<Customer>(Customer::stream_id(w.customer).unwrap());
    assert!(after.personal_data_erased);
    assert_eq!(after.purchases, before.purchases, "the history is intact");
    // No event anywhere holds the name or the contact.
    for stored in s.store().read_all(1).unwrap() {
        let payload = stored.unwrap().event.to_payload().unwrap().to_string();
        assert!(
            !payload.contains("Anna") && !payload.contains("+7 900"),
            "{payload}"
        );
    }
}

#[test]
fn the_daily_policy_offers_post_warranty_contracts_to_proactive_customers_once() {
    let w = world();
    w.setup_customer_technician_and_parts();
    w.service
        .customer(
            CustomerCommand::ChangeLevel {
                customer: w.customer,
                level: RelationshipLevel::Proactive,
                reason: "good customer".into(),
                account_owner: None,
                at: day(0),
            },
            &no_context(),
        )
        .unwrap();
    w.prepare_and_sell();
    let until = w
        .state::<Product>(Product::stream_id(w.product).unwrap())
        .warranty
        .unwrap()
        .until;
    let as_of = until - Duration::days(20);
    assert_eq!(
        w.service.run_daily(as_of - Duration::days(40), 30).unwrap(),
        0,
        "not yet within 30 days"
    );
    assert_eq!(w.service.run_daily(as_of, 30).unwrap(), 1);
    assert_eq!(
        w.service.run_daily(as_of + Duration::days(1), 30).unwrap(),
        0,
        "once per unit"
    );
    let customer = w.state::<Customer>(Customer::stream_id(w.customer).unwrap());
    assert!(customer
        .obligations
        .values()
        .any(|obligation| obligation.kind
            == ObligationKind::PostWarrantyOffer { product: w.product }
            && obligation.due == Some(until)));
}

#[test]
fn discontinuing_a_model_on_one_part_reaches_every_part_of_the_model() {
    let w = world();
    w.setup_customer_technician_and_parts();
    let valve = PartNumber::new("VALVE-9").unwrap();
    let s = &w.service;
    s.part(
        PartCommand::RegisterPart {
            part: valve.clone(),
            models: BTreeMap::from([(w.model, 2)]),
            reorder_point: 0,
            at: day(0),
        },
        &no_context(),
    )
    .unwrap();
    s.part(
        PartCommand::DiscontinueModel {
            part: w.pump.clone(),
            model: w.model,
            guarantee_years: 12,
            last_order_date: day(90).date_naive(),
            at: day(10),
        },
        &no_context(),
    )
    .unwrap();
    let pump = w.state::<PartsSupply>(PartsSupply::stream_id(&w.pump).unwrap());
    let valve_state = w.state::<PartsSupply>(PartsSupply::stream_id(&valve).unwrap());
    assert!(valve_state.obligation_until().is_some());
    assert_eq!(valve_state.obligation_until(), pump.obligation_until());
}

#[test]
fn a_substitute_is_offered_only_when_the_requested_model_has_no_unit_ready_c5() {
    let w = world();
    w.setup_customer_technician_and_parts();
    let s = &w.service;
    let (product, model) = (w.product, w.model);
    w.receive_and_commission_on_day_1();
    let other = ModelId::from_uuid(uuid::Uuid::from_u128(8));
    let offer = |requested| CustomerCommand::OfferSubstitute {
        customer: w.customer,
        requested,
        offered: crate::domain::customer::Substitute::Unit(product),
        accepted: true,
        at: day(2),
    };
    // Not yet test-run: no unit of the model is ready, so a substitute may be offered.
    assert!(s.directory(|directory| directory.ready_units(model).next().is_none()));
    s.customer(offer(model), &no_context()).unwrap();
    s.product(
        ProductCommand::RecordTestRun {
            product,
            passed: true,
            notes: String::new(),
            at: day(2),
        },
        &no_context(),
    )
    .unwrap();
    let error = s.customer(offer(model), &no_context()).unwrap_err();
    assert!(
        matches!(error, ServiceError::RequestedModelAvailable { unit, .. } if unit == product),
        "{error}"
    );
    s.customer(offer(other), &no_context()).unwrap();
}

#[test]
fn policies_interrupted_by_a_stop_are_completed_by_replaying_them() {
    let w = world();
    w.setup_customer_technician_and_parts();
    let s = &w.service;
    let product = w.product;
    w.receive_and_commission_on_day_1();
    s.product(
        ProductCommand::RecordTestRun {
            product,
            passed: true,
            notes: String::new(),
            at: day(1),
        },
        &no_context(),
    )
    .unwrap();
    // The sale is written, but the process stops before its policies run.
    let products = Repository::<Product, ServiceEvent, _>::new(s.store().clone());
    let sale = ProductCommand::Sell {
        product,
        customer: w.customer,
        price: Money::new(10_000, w.eur),
        packaging: "box".into(),
        warranty: WarrantyTerms {
            months: 12,
            starts: WarrantyStart::OnSale,
        },
        services: AfterSaleServices::default(),
        at: day(2),
    };
    products
        .execute(&Product::stream_id(product).unwrap(), &sale, &no_context())
        .unwrap();
    let restarted = ServiceLifecycle::new(s.store().clone()).unwrap();
    assert!(!w
        .state::<Customer>(Customer::stream_id(w.customer).unwrap())
        .purchases
        .contains(&product));
    assert!(
        restarted.replay_policies().unwrap() > 0,
        "the missing reactions are written"
    );
    assert!(w
        .state::<Customer>(Customer::stream_id(w.customer).unwrap())
        .purchases
        .contains(&product));
    assert!(restarted.directory(|directory| directory.contracts_by_unit.contains_key(&product)));
    assert_eq!(restarted.replay_policies().unwrap(), 0, "and only once");
}

#[test]
fn a_contract_gets_the_plan_of_its_customers_target_group() {
    let w = world();
    let fast = |group: &TargetGroup| {
        let mut plan = default_plan(group);
        if *group == TargetGroup::Enterprise {
            plan.calendar = crate::domain::BusinessCalendar::around_the_clock();
        }
        plan
    };
    let service = ServiceLifecycle::new(MemoryStore::new())
        .unwrap()
        .with_plans(fast);
    service
        .register_customer(
            w.customer,
            PersonalData {
                name: "Plant Ltd".into(),
                contact: "ops@example.invalid".into(),
            },
            TargetGroup::Enterprise,
            RelationshipLevel::Basic,
            None,
            day(0),
            &no_context(),
        )
        .unwrap();
    assert_eq!(
        service.plan_for(w.customer).calendar,
        crate::domain::BusinessCalendar::around_the_clock()
    );
    let stranger = CustomerId::from_uuid(uuid::Uuid::from_u128(77));
    assert_eq!(
        service.plan_for(stranger),
        default_plan(&TargetGroup::Household)
    );
}
