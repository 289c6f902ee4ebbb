//! The domain's end-to-end scenario, for any store: one unit from receipt to a post-warranty
//! repair with parts after its model's discontinuation. The memory store runs it in the domain's
//! tests, the sled store in its own; a user's store can run it too.
//!
//! ```
//! use service_lifecycle_core::testing::scenario::receipt_to_post_warranty_repair;
//! use service_lifecycle_core::kernel::MemoryStore;
//!
//! receipt_to_post_warranty_repair(MemoryStore::new());
//! ```

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Duration, NaiveDate};

use crate::contract::{CallKind, Payer};
use crate::customer::RelationshipLevel;
use crate::customer::{ObligationKind, ObligationStatus};
use crate::kernel::{
    CheckpointStore, CommandContext, Decider, EventStore, MemoryStore, Repository, StreamId,
};
use crate::product::{AfterSaleServices, DamageSeverity, DeliveryTo, ProductStatus};
use crate::testing::time::scenario_day as day;
use crate::values::{Money, SerialNumber, WarrantyStart, WarrantyTerms};
use crate::*;

/// A command context with a fresh command id and no metadata.
pub fn no_context() -> CommandContext {
    CommandContext::new()
}

/// A dealer with one washing-machine model, one unit of it, one customer, one technician
/// certified for the model and one spare part (a pump), on a store of type `S`.
pub struct World<S = MemoryStore<ServiceEvent>> {
    /// The application.
    pub service: ServiceLifecycle<S>,
    /// The model of the unit.
    pub model: ModelId,
    /// The unit (serial WM-1001).
    pub product: ProductId,
    /// The customer who buys it.
    pub customer: CustomerId,
    /// The technician certified for the model.
    pub technician: TechnicianId,
    /// The spare part the model uses.
    pub pump: PartNumber,
    /// The currency of prices.
    pub eur: Currency,
}

/// The master data of a washing machine named `name`: 24 months of warranty from installation.
pub fn washing_machine(name: &str) -> ModelDetails {
    ModelDetails {
        name: name.into(),
        manufacturer: "Volga Appliances".into(),
        category: "washing machines".into(),
        warranty: WarrantyTerms {
            months: 24,
            starts: WarrantyStart::OnInstallation,
        },
    }
}

/// Puts `model` in the catalogue as a washing machine named `name` at `at`, unless it is there
/// already.
pub fn introduce<S: EventStore<ServiceEvent> + CheckpointStore + Clone>(
    service: &ServiceLifecycle<S>,
    model: ModelId,
    name: &str,
    at: chrono::DateTime<chrono::Utc>,
) {
    let known = service
        .catalogue_entry(model)
        .expect("the store reads")
        .is_some();
    if !known {
        let details = washing_machine(name);
        service
            .model(
                ModelCommand::Introduce { model, details, at },
                &no_context(),
            )
            .expect("the model enters the catalogue");
    }
}

/// The scenario's world over `store` (which should be empty), with its model in the catalogue
/// (the WM-7 washing machine) on day 0.
pub fn world_on<S: EventStore<ServiceEvent> + CheckpointStore + Clone>(store: S) -> World<S> {
    let service = ServiceLifecycle::new(store).expect("the application starts");
    let model = ModelId::from_uuid(uuid::Uuid::from_u128(7));
    introduce(&service, model, "WM-7 washing machine", day(0));
    let serial = SerialNumber::new("WM-1001").expect("the scenario's command succeeds");
    World {
        service,
        model,
        product: ProductId::of(model, &serial),
        customer: CustomerId::from_uuid(uuid::Uuid::from_u128(1)),
        technician: TechnicianId::from_uuid(uuid::Uuid::from_u128(2)),
        pump: PartNumber::new("PUMP-220").expect("the scenario's command succeeds"),
        eur: Currency::new("EUR").expect("the scenario's command succeeds"),
    }
}

impl<S: EventStore<ServiceEvent> + CheckpointStore + Clone> World<S> {
    /// Registers the customer (accountable, a household), hires, trains and certifies the
    /// technician, registers the pump and receives two of them, all on day 0.
    pub fn setup_customer_technician_and_parts(&self) {
        let s = &self.service;
        s.register_customer(
            Registration::new(
                self.customer,
                PersonalData {
                    name: "Anna Petrova".into(),
                    contact: "+7 900 000 00 00".into(),
                },
                day(0),
            )
            .level(RelationshipLevel::Accountable),
            &no_context(),
        )
        .expect("the scenario's command succeeds");
        s.technician(
            TechnicianCommand::Hire {
                technician: self.technician,
                at: day(0),
            },
            &no_context(),
        )
        .expect("the scenario's command succeeds");
        s.technician(
            TechnicianCommand::RecordName {
                technician: self.technician,
                name: "Ivan Sidorov".into(),
                at: day(0),
            },
            &no_context(),
        )
        .expect("the scenario's command succeeds");
        s.technician(
            TechnicianCommand::CompleteStandardsTraining {
                technician: self.technician,
                at: day(0),
            },
            &no_context(),
        )
        .expect("the scenario's command succeeds");
        s.technician(
            TechnicianCommand::Certify {
                technician: self.technician,
                model: self.model,
                until: day(2_000).date_naive(),
                at: day(0),
            },
            &no_context(),
        )
        .expect("the scenario's command succeeds");
        s.part(
            PartCommand::RegisterPart {
                part: self.pump.clone(),
                models: BTreeMap::from([(self.model, 1)]),
                reorder_point: 1,
                at: day(0),
            },
            &no_context(),
        )
        .expect("the scenario's command succeeds");
        s.part(
            PartCommand::ReceiveStock {
                part: self.pump.clone(),
                location: Location::CentralWarehouse,
                quantity: 2,
                at: day(0),
            },
            &no_context(),
        )
        .expect("the scenario's command succeeds");
    }

    /// Receives the unit (serial WM-1001 of [`World::model`]) on day 1.
    fn receive_on_day_1(&self) {
        self.service
            .product(
                ProductCommand::ReceiveUnit {
                    model: self.model,
                    serial: SerialNumber::new("WM-1001").expect("a valid serial"),
                    at: day(1),
                },
                &no_context(),
            )
            .expect("the scenario's command succeeds");
    }

    /// Receives the unit of [`World::model`] and brings it into working condition on day 1,
    /// not yet test-run.
    pub fn receive_and_commission_on_day_1(&self) {
        let (s, product) = (&self.service, self.product);
        self.receive_on_day_1();
        s.product(
            ProductCommand::Commission {
                product,
                at: day(1),
            },
            &no_context(),
        )
        .expect("the scenario's command succeeds");
    }

    /// Receives the unit with transport damage, repairs it, commissions it, test-runs it (a
    /// failure, then a pass), sells it with delivery, installation and training, and does all
    /// three: days 1 to 6.
    pub fn prepare_and_sell(&self) {
        let (s, product) = (&self.service, self.product);
        self.receive_on_day_1();
        s.product(
            ProductCommand::RecordTransportDamage {
                product,
                description: "dented panel".into(),
                severity: DamageSeverity::Cosmetic,
                at: day(1),
            },
            &no_context(),
        )
        .expect("the scenario's command succeeds");
        s.product(
            ProductCommand::RepairTransportDamage {
                product,
                damage: 1,
                at: day(2),
            },
            &no_context(),
        )
        .expect("the scenario's command succeeds");
        s.product(
            ProductCommand::Commission {
                product,
                at: day(2),
            },
            &no_context(),
        )
        .expect("the scenario's command succeeds");
        s.product(
            ProductCommand::RecordTestRun {
                product,
                passed: false,
                notes: "leak".into(),
                at: day(2),
            },
            &no_context(),
        )
        .expect("the scenario's command succeeds");
        s.product(
            ProductCommand::RecordTestRun {
                product,
                passed: true,
                notes: "ok".into(),
                at: day(3),
            },
            &no_context(),
        )
        .expect("the scenario's command succeeds");
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
        .expect("the scenario's command succeeds");
        s.product(
            ProductCommand::Deliver {
                product,
                at: day(5),
            },
            &no_context(),
        )
        .expect("the scenario's command succeeds");
        s.product(
            ProductCommand::Install {
                product,
                at: day(6),
            },
            &no_context(),
        )
        .expect("the scenario's command succeeds");
        s.product(
            ProductCommand::TrainUsers {
                product,
                at: day(6),
            },
            &no_context(),
        )
        .expect("the scenario's command succeeds");
    }

    /// The warranty contract the policies opened for the unit.
    pub fn warranty_contract(&self) -> ContractId {
        self.service.directory(|directory| {
            *directory.contracts_by_unit[&self.product]
                .keys()
                .next()
                .expect("a warranty contract")
        })
    }

    /// The current state of aggregate `D` in `stream`.
    pub fn state<D: Decider>(&self, stream: StreamId) -> D::State
    where
        ServiceEvent: crate::kernel::Contains<D::Event>,
    {
        let repository = Repository::<D, ServiceEvent, _>::new(self.service.store().clone());
        (*repository
            .load(&stream)
            .expect("the scenario's command succeeds")
            .state)
            .clone()
    }
}

/// The whole life of one unit through the facade, on `store` (which should be empty): receipt
/// with transport damage, preparation, sale, delivery, installation and training; the warranty
/// contract the policies open; a breakdown under warranty (the seller pays); a post-warranty
/// contract that may not overlap the warranty; the model's discontinuation; a breakdown after the
/// warranty with the last pump gone (backordered, never refused; the customer pays). Panics with
/// the broken expectation.
pub fn receipt_to_post_warranty_repair<S: EventStore<ServiceEvent> + CheckpointStore + Clone>(
    store: S,
) {
    let w = world_on(store);
    w.setup_customer_technician_and_parts();
    w.prepare_and_sell();
    let product_state =
        w.state::<Product>(Product::stream_id(w.product).expect("the scenario's command succeeds"));
    assert_eq!(product_state.status(), Some(ProductStatus::InService));
    let warranty = product_state
        .warranty
        .expect("the warranty started at installation");
    assert_eq!(warranty.from, day(6).date_naive());

    // Policy: the sale recorded the purchase, and the accountable customer got a follow-up.
    let customer_state = w.state::<Customer>(
        Customer::stream_id(w.customer).expect("the scenario's command succeeds"),
    );
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
    let contract_state = w.state::<ServiceContract>(
        ServiceContract::stream_id(warranty_contract).expect("the scenario's command succeeds"),
    );
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
    .expect("the scenario's command succeeds");
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
    .expect("the scenario's command succeeds");
    let parts = w.state::<PartsSupply>(
        PartsSupply::stream_id(&w.pump).expect("the scenario's command succeeds"),
    );
    assert_eq!(parts.reserved(), 1, "the dispatch policy reserved the pump");
    s.contract(
        ContractCommand::Arrive {
            contract: warranty_contract,
            call,
            at: day(30) + Duration::hours(2),
        },
        &no_context(),
    )
    .expect("the scenario's command succeeds");
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
        .expect("the scenario's command succeeds");
    assert!(matches!(
        resolved.events[0],
        ContractEvent::CallResolved {
            payer: Payer::Seller,
            customer_charge: Money { minor_units: 0, .. },
            ..
        }
    ));
    let parts: PartState = w.state::<PartsSupply>(
        PartsSupply::stream_id(&w.pump).expect("the scenario's command succeeds"),
    );
    assert_eq!(
        (parts.on_hand(), parts.reserved()),
        (1, 0),
        "the resolve policy issued the pump"
    );

    // After the warranty: a post-warranty contract, which may not overlap the warranty.
    let post = ContractId::from_uuid(uuid::Uuid::from_u128(20));
    let propose = |start: NaiveDate| ContractCommand::Propose {
        terms: crate::contract::Terms {
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
    s.contract(propose(start), &no_context())
        .expect("the scenario's command succeeds");
    s.contract(
        ContractCommand::Activate {
            contract: post,
            at: day(300),
        },
        &no_context(),
    )
    .expect("the scenario's command succeeds");

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
    .expect("the scenario's command succeeds");

    // A breakdown after the warranty, with the last pump gone: the request is backordered, never
    // refused; stock received fills it; the customer pays (no capital-repair entitlement).
    let later = start.and_hms_opt(10, 0, 0).unwrap_or_default().and_utc() + Duration::days(400);
    let second = CallId::from_uuid(uuid::Uuid::from_u128(11));
    s.part(
        PartCommand::Reserve {
            part: w.pump.clone(),
            call: CallId::from_uuid(uuid::Uuid::from_u128(10)),
            location: Location::CentralWarehouse,
            quantity: 1,
            at: later,
        },
        &no_context(),
    )
    .expect("the scenario's command succeeds");
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
    .expect("the scenario's command succeeds");
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
    .expect("the scenario's command succeeds");
    let parts = w.state::<PartsSupply>(
        PartsSupply::stream_id(&w.pump).expect("the scenario's command succeeds"),
    );
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
    .expect("the scenario's command succeeds");
    s.contract(
        ContractCommand::Arrive {
            contract: post,
            call: second,
            at: later + Duration::hours(2),
        },
        &no_context(),
    )
    .expect("the scenario's command succeeds");
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
        .expect("the scenario's command succeeds");
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
    let parts = w.state::<PartsSupply>(
        PartsSupply::stream_id(&w.pump).expect("the scenario's command succeeds"),
    );
    assert_eq!(parts.backordered(), 0);
    assert_eq!(
        parts.on_hand(),
        3,
        "1 left, 3 received, 1 issued to this call"
    );
    assert_eq!(parts.reserved(), 1, "the other call's reservation stays");
    let refused = s.policy_failures().expect("the policy log reads");
    assert!(refused.is_empty(), "{refused:?}");
}
