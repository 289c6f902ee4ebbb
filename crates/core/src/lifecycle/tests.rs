//! The cross-aggregate rules (T2, S1) and the policies' idempotency through the facade, on the
//! memory store; the end-to-end scenario itself lives in the test kit (`testing::scenario`) so
//! every store runs it.

use chrono::Duration;

use super::*;
use crate::contract::CallKind;
use crate::customer::{ObligationKind, RelationshipLevel};
use crate::kernel::{Envelope, Event, MemoryStore, ReadError};
use crate::product::AfterSaleServices;
use crate::testing::scenario::{no_context, receipt_to_post_warranty_repair, world_on, World};
use crate::testing::time::scenario_day as day;
use crate::values::{Money, WarrantyStart, WarrantyTerms};
use crate::*;

fn world() -> World {
    world_on(MemoryStore::new())
}

/// The world's unit sold to its customer on day 2: 100.00 EUR, a year's warranty from the sale.
fn sale_on_day_2(w: &World) -> ProductCommand {
    ProductCommand::Sell {
        product: w.product,
        customer: w.customer,
        price: Money::new(10_000, w.eur),
        packaging: "box".into(),
        warranty: WarrantyTerms {
            months: 12,
            starts: WarrantyStart::OnSale,
        },
        services: AfterSaleServices::default(),
        at: day(2),
    }
}

#[test]
fn one_unit_from_receipt_to_post_warranty_repair_with_parts_after_its_model_is_discontinued() {
    receipt_to_post_warranty_repair(MemoryStore::new());
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
fn discontinuing_a_model_in_the_catalogue_discontinues_every_part_it_uses_m3() {
    let w = world();
    w.setup_customer_technician_and_parts();
    let s = &w.service;
    let discontinue = ModelCommand::Discontinue {
        model: w.model,
        guarantee_years: 10,
        last_order_date: day(200).date_naive(),
        at: day(10),
    };
    s.model(discontinue, &no_context()).unwrap();
    let guaranteed_until = months_after(day(10).date_naive(), 120);
    let pump = w.state::<PartsSupply>(PartsSupply::stream_id(&w.pump).unwrap());
    assert_eq!(pump.obligation_until(), guaranteed_until);
    // A part registered for the model afterwards gets the discontinuation too.
    let valve = PartNumber::new("VALVE-9").unwrap();
    s.part(
        PartCommand::RegisterPart {
            part: valve.clone(),
            models: BTreeMap::from([(w.model, 2)]),
            reorder_point: 0,
            at: day(20),
        },
        &no_context(),
    )
    .unwrap();
    let valve = w.state::<PartsSupply>(PartsSupply::stream_id(&valve).unwrap());
    assert_eq!(valve.obligation_until(), guaranteed_until);
    let entry = s.catalogue_entry(w.model).unwrap().unwrap();
    assert_eq!(
        entry.discontinued.map(|d| d.guaranteed_until),
        guaranteed_until
    );
    assert!(s.policy_failures().unwrap().is_empty());
    // A part or a certification may name a model not in the catalogue (yet): it is known from
    // then on, and the reports show it by its id until the catalogue names it.
    let unlisted = ModelId::from_uuid(uuid::Uuid::from_u128(404));
    s.part(
        PartCommand::RegisterPart {
            part: PartNumber::new("BELT-1").unwrap(),
            models: BTreeMap::from([(unlisted, 1)]),
            reorder_point: 0,
            at: day(20),
        },
        &no_context(),
    )
    .unwrap();
    s.technician(
        TechnicianCommand::Certify {
            technician: w.technician,
            model: unlisted,
            until: day(100).date_naive(),
            at: day(20),
        },
        &no_context(),
    )
    .unwrap();
    assert!(s.catalogue_entry(unlisted).unwrap().is_none());
}

#[test]
fn a_substitute_is_offered_only_when_the_requested_model_has_no_unit_ready_c5() {
    let w = world();
    w.setup_customer_technician_and_parts();
    let s = &w.service;
    let (product, model) = (w.product, w.model);
    w.receive_and_commission_on_day_1();
    let other = ModelId::from_uuid(uuid::Uuid::from_u128(8));
    let offer_of = |requested| CustomerCommand::OfferSubstitute {
        customer: w.customer,
        requested,
        offered: crate::customer::Substitute::Unit(product),
        accepted: true,
        at: day(2),
    };
    // A model nobody has received a unit of, registered a part for or put in the catalogue is
    // unknown.
    let error = s.customer(offer_of(other), &no_context()).unwrap_err();
    assert!(
        matches!(error, ServiceError::Unknown { missing: Reference::Model(model) } if model == other),
        "{error}"
    );
    s.product(
        ProductCommand::ReceiveUnit {
            model: other,
            serial: SerialNumber::new("OTHER-1").unwrap(),
            at: day(1),
        },
        &no_context(),
    )
    .unwrap();
    let offer = |requested| CustomerCommand::OfferSubstitute {
        customer: w.customer,
        requested,
        offered: crate::customer::Substitute::Unit(product),
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
fn policies_interrupted_by_a_stop_are_completed_when_the_application_opens_again() {
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
    assert!(!w
        .state::<Customer>(Customer::stream_id(w.customer).unwrap())
        .purchases
        .contains(&product));
    // Opening the application again completes what was pending, with no manual call.
    let restarted = ServiceLifecycle::new(s.store().clone()).unwrap();
    assert!(w
        .state::<Customer>(Customer::stream_id(w.customer).unwrap())
        .purchases
        .contains(&product));
    assert!(restarted.directory(|directory| directory.contracts_by_unit.contains_key(&product)));
    assert_eq!(restarted.replay_policies().unwrap(), 0, "and only once");
    let again = ServiceLifecycle::new(s.store().clone()).unwrap();
    assert_eq!(
        again.replay_policies().unwrap(),
        0,
        "also after another restart"
    );
}

#[test]
fn a_contract_gets_the_plan_of_its_customers_target_group() {
    let w = world();
    let fast = |group: &TargetGroup| {
        let mut plan = default_plan(group);
        if *group == TargetGroup::Enterprise {
            plan.calendar = crate::BusinessCalendar::around_the_clock();
        }
        plan
    };
    let service = ServiceLifecycle::builder(MemoryStore::new())
        .plans(fast)
        .open()
        .unwrap();
    service
        .register_customer(
            Registration::new(
                w.customer,
                PersonalData {
                    name: "Plant Ltd".into(),
                    contact: "ops@example.invalid".into(),
                },
                day(0),
            )
            .target_group(TargetGroup::Enterprise),
            &no_context(),
        )
        .unwrap();
    assert_eq!(
        service.plan_for(w.customer).calendar,
        crate::BusinessCalendar::around_the_clock()
    );
    let stranger = CustomerId::from_uuid(uuid::Uuid::from_u128(77));
    assert_eq!(
        service.plan_for(stranger),
        default_plan(&TargetGroup::Household)
    );
}

#[test]
fn refusals_by_the_rules_are_told_apart_from_failures_to_decide_or_keep_a_command() {
    let w = world();
    w.setup_customer_technician_and_parts();
    w.prepare_and_sell();
    let s = &w.service;
    // An aggregate's rule (P1: the unit was received already).
    let received_again = s
        .product(
            ProductCommand::ReceiveUnit {
                model: w.model,
                serial: crate::values::SerialNumber::new("WM-1001").unwrap(),
                at: day(1),
            },
            &no_context(),
        )
        .unwrap_err();
    assert!(received_again.is_rejection(), "{received_again}");
    // A command naming a call nobody opened.
    let unknown_call = s
        .contract(
            ContractCommand::Arrive {
                contract: w.warranty_contract(),
                call: CallId::from_uuid(uuid::Uuid::from_u128(99)),
                at: day(40),
            },
            &no_context(),
        )
        .unwrap_err();
    assert!(unknown_call.is_rejection(), "{unknown_call}");
    // Not answers about the command: a command id already used on another stream, a store that
    // cannot be read.
    let context = CommandContext::with_command_id(CommandId::new());
    let inquiry = |topic: &str| CustomerCommand::LogInquiry {
        customer: w.customer,
        topic: topic.into(),
        at: day(2),
    };
    s.customer(inquiry("descaling"), &context).unwrap();
    let reused = s
        .product(
            ProductCommand::Commission {
                product: w.product,
                at: day(3),
            },
            &context,
        )
        .unwrap_err();
    assert!(
        matches!(
            reused,
            ServiceError::Product(ExecuteError::CommandIdReused { .. })
        ),
        "{reused}"
    );
    assert!(!reused.is_rejection());
    let unreadable = ServiceError::Read(ReadError::Corrupt {
        record: "log position 1".into(),
        problem: "checksum".into(),
    });
    assert!(!unreadable.is_rejection());
}

/// A vault that refuses every write, as a full disk would.
struct FullVault;

impl crate::kernel::Vault for FullVault {
    fn put(
        &self,
        subject: crate::kernel::SubjectId,
        _: Vec<u8>,
    ) -> Result<(), crate::kernel::VaultError> {
        Err(crate::kernel::VaultError {
            subject,
            source: "no space left on the device".into(),
        })
    }

    fn get(
        &self,
        _: crate::kernel::SubjectId,
    ) -> Result<Option<Vec<u8>>, crate::kernel::VaultError> {
        Ok(None)
    }

    fn erase(&self, _: crate::kernel::SubjectId) -> Result<bool, crate::kernel::VaultError> {
        Ok(false)
    }
}

#[test]
fn a_registration_whose_personal_record_cannot_be_kept_records_nothing() {
    // Personal data first, then the event: a failure between them never leaves a registered
    // customer without a name.
    let store = MemoryStore::<ServiceEvent>::new();
    let service = ServiceLifecycle::builder(store.clone())
        .personal_data(FullVault)
        .open()
        .unwrap();
    let customer = CustomerId::from_uuid(uuid::Uuid::from_u128(5));
    let error = service
        .register_customer(
            Registration::new(
                customer,
                PersonalData {
                    name: "Anna Petrova".into(),
                    contact: "+7 900 000 00 00".into(),
                },
                day(0),
            ),
            &no_context(),
        )
        .unwrap_err();
    assert!(matches!(error, ServiceError::PersonalData(_)), "{error}");
    assert!(!error.is_rejection(), "a failure of the vault, not a rule");
    assert!(error.to_string().contains("no space left"), "{error}");
    let stream = Customer::stream_id(customer).unwrap();
    assert_eq!(store.stream_version(&stream).unwrap(), 0, "no registration");
}

#[test]
fn a_registered_customer_without_a_personal_record_is_found_until_erased() {
    let store = MemoryStore::<ServiceEvent>::new();
    let vault = std::sync::Arc::new(crate::kernel::MemoryVault::new());
    let service = ServiceLifecycle::builder(store.clone())
        .personal_data(vault.clone())
        .open()
        .unwrap();
    let customer = CustomerId::from_uuid(uuid::Uuid::from_u128(6));
    let anna = PersonalData {
        name: "Anna Petrova".into(),
        contact: "+7 900 000 00 00".into(),
    };
    service
        .register_customer(Registration::new(customer, anna, day(0)), &no_context())
        .unwrap();
    let missing = || crate::customers_missing_personal_data(&store, &*vault).unwrap();
    assert!(missing().is_empty());
    // The record lost (a partial restore, say): found.
    use crate::kernel::Vault;
    assert!(vault
        .erase(crate::kernel::SubjectId::from_uuid(customer.as_uuid()))
        .unwrap());
    assert_eq!(missing(), vec![customer]);
    // An erasure is not a loss.
    service
        .erase_customer(customer, day(1), &no_context())
        .unwrap();
    assert!(missing().is_empty());
}

#[test]
fn of_overlapping_contracts_proposed_at_once_on_one_unit_at_most_one_passes_s1() {
    let w = world();
    w.setup_customer_technician_and_parts();
    // Two applications over one store, as two processes would be, with four threads.
    let services = [
        ServiceLifecycle::new(w.service.store().clone()).unwrap(),
        ServiceLifecycle::new(w.service.store().clone()).unwrap(),
    ];
    let report = crate::testing::races::overlapping_contracts(&w, &services, 4, 1_000);
    assert_eq!(report.violations, 0, "{report:?}");
    assert!(report.unexpected.is_empty(), "{report:?}");
    assert_eq!(report.passed, 1_000, "one contract passes in every trial");
    assert_eq!(report.refused, 3_000, "and every other is refused by S1");
}

#[test]
fn a_dispatch_racing_a_revocation_never_passes_after_it_t2() {
    let w = world();
    w.setup_customer_technician_and_parts();
    w.prepare_and_sell();
    let services = [
        ServiceLifecycle::new(w.service.store().clone()).unwrap(),
        ServiceLifecycle::new(w.service.store().clone()).unwrap(),
    ];
    let report = crate::testing::races::dispatch_against_revocation(&w, &services, 500);
    assert_eq!(report.violations, 0, "{report:?}");
    assert!(report.unexpected.is_empty(), "{report:?}");
    assert_eq!(report.passed + report.refused, 500, "{report:?}");
}

#[test]
fn every_command_naming_an_entity_that_does_not_exist_is_refused_naming_it_and_writes_nothing() {
    let w = world();
    w.setup_customer_technician_and_parts();
    w.prepare_and_sell();
    let s = &w.service;
    let head = s.store().head_position().unwrap();
    let stranger = CustomerId::from_uuid(uuid::Uuid::from_u128(404));
    let ghost_unit = ProductId::from_uuid(uuid::Uuid::from_u128(405));
    let ghost_part = PartNumber::new("NO-SUCH-PART").unwrap();
    let ghost_technician = TechnicianId::from_uuid(uuid::Uuid::from_u128(406));
    let ghost_contract = ContractId::from_uuid(uuid::Uuid::from_u128(407));
    let ghost_call = CallId::from_uuid(uuid::Uuid::from_u128(408));
    let ghost_model = ModelId::from_uuid(uuid::Uuid::from_u128(409));
    let contract = w.warranty_contract();
    let missing = |result: Result<(), ServiceError>| match result {
        Err(ServiceError::Unknown { missing }) => missing,
        other => panic!("expected an unknown reference, got {other:?}"),
    };
    let product = |command| s.product(command, &no_context()).map(drop);
    let customer = |command| s.customer(command, &no_context()).map(drop);
    let contract_command = |command| s.contract(command, &no_context()).map(drop);
    let part = |command| s.part(command, &no_context()).map(drop);
    let technician = |command| s.technician(command, &no_context()).map(drop);

    assert_eq!(
        missing(product(ProductCommand::Commission {
            product: ghost_unit,
            at: day(3)
        })),
        Reference::Unit(ghost_unit)
    );
    assert_eq!(
        missing(product(ProductCommand::Modernize {
            product: w.product,
            requested_by: stranger,
            description: "a new drum".into(),
            at: day(40),
        })),
        Reference::Customer(stranger)
    );
    assert_eq!(
        missing(customer(CustomerCommand::LogInquiry {
            customer: stranger,
            topic: "hello".into(),
            at: day(3),
        })),
        Reference::Customer(stranger)
    );
    assert_eq!(
        missing(customer(CustomerCommand::RecordPurchase {
            customer: w.customer,
            product: ghost_unit,
            at: day(3),
        })),
        Reference::Unit(ghost_unit)
    );
    assert_eq!(
        missing(customer(CustomerCommand::RecordDemonstration {
            customer: w.customer,
            model: ghost_model,
            at: day(3),
        })),
        Reference::Model(ghost_model)
    );
    assert_eq!(
        missing(contract_command(ContractCommand::Activate {
            contract: ghost_contract,
            at: day(3),
        })),
        Reference::Contract(ghost_contract)
    );
    assert_eq!(
        missing(contract_command(ContractCommand::OpenCall {
            contract,
            call: ghost_call,
            unit: ghost_unit,
            priority: Priority::Normal,
            kind: CallKind::Breakdown,
            at: day(30),
        })),
        Reference::Unit(ghost_unit)
    );
    s.contract(
        ContractCommand::OpenCall {
            contract,
            call: ghost_call,
            unit: w.product,
            priority: Priority::Normal,
            kind: CallKind::Breakdown,
            at: day(30),
        },
        &no_context(),
    )
    .unwrap();
    let opened = s.store().head_position().unwrap();
    assert_eq!(
        missing(contract_command(ContractCommand::Dispatch {
            contract,
            call: ghost_call,
            technician: ghost_technician,
            parts: Vec::new(),
            at: day(30),
        })),
        Reference::Technician(ghost_technician)
    );
    assert_eq!(
        missing(contract_command(ContractCommand::Dispatch {
            contract,
            call: ghost_call,
            technician: w.technician,
            parts: vec![(ghost_part.clone(), 1)],
            at: day(30),
        })),
        Reference::Part(ghost_part.clone())
    );
    assert_eq!(
        missing(part(PartCommand::ReceiveStock {
            part: ghost_part.clone(),
            location: Location::CentralWarehouse,
            quantity: 1,
            at: day(3),
        })),
        Reference::Part(ghost_part.clone())
    );
    let unopened = CallId::from_uuid(uuid::Uuid::from_u128(410));
    assert_eq!(
        missing(part(PartCommand::Reserve {
            part: w.pump.clone(),
            call: unopened,
            location: Location::CentralWarehouse,
            quantity: 1,
            at: day(30),
        })),
        Reference::Call(unopened)
    );
    assert_eq!(
        missing(part(PartCommand::ReceiveStock {
            part: w.pump.clone(),
            location: Location::Van(ghost_technician),
            quantity: 1,
            at: day(3),
        })),
        Reference::Technician(ghost_technician)
    );
    assert_eq!(
        missing(technician(TechnicianCommand::Leave {
            technician: ghost_technician,
            at: day(3),
        })),
        Reference::Technician(ghost_technician)
    );
    assert_eq!(
        s.store().head_position().unwrap(),
        opened,
        "no refused command wrote anything"
    );
    assert!(opened > head);
    // The error says what is missing, in words.
    let error = ServiceError::Unknown {
        missing: Reference::Customer(stranger),
    };
    assert!(error.to_string().contains(&stranger.to_string()), "{error}");
    assert!(error.is_rejection());
}

#[test]
fn an_erased_customer_is_still_a_valid_reference() {
    let w = world();
    w.setup_customer_technician_and_parts();
    let s = &w.service;
    s.erase_customer(w.customer, day(1), &no_context()).unwrap();
    s.customer(
        CustomerCommand::LogInquiry {
            customer: w.customer,
            topic: "after the erasure".into(),
            at: day(2),
        },
        &no_context(),
    )
    .unwrap();
    assert_eq!(s.personal_data(w.customer).unwrap(), None);
}

#[test]
fn a_refused_policy_command_is_recorded_in_the_store_once_and_survives_a_restart() {
    let w = world();
    w.setup_customer_technician_and_parts();
    let s = &w.service;
    w.receive_and_commission_on_day_1();
    s.product(
        ProductCommand::RecordTestRun {
            product: w.product,
            passed: true,
            notes: String::new(),
            at: day(1),
        },
        &no_context(),
    )
    .unwrap();
    // The seller proposes a contract over the unit's first year by hand: the warranty contract
    // the sale's policy proposes then overlaps it, and S1 refuses the policy's command.
    let by_hand = ContractId::from_uuid(uuid::Uuid::from_u128(30));
    s.contract(
        ContractCommand::Propose {
            terms: Terms {
                contract: by_hand,
                kind: ContractKind::OnDemand,
                customer: w.customer,
                units: std::collections::BTreeSet::from([w.product]),
                start: day(2).date_naive(),
                end: day(100).date_naive(),
                plan: default_plan(&TargetGroup::Household),
                entitlements: crate::contract::Entitlements::default(),
                currency: w.eur,
            },
            warranty_ends: BTreeMap::new(),
            at: day(1),
        },
        &no_context(),
    )
    .unwrap();
    s.product(sale_on_day_2(&w), &no_context())
        .expect("the sale stands although a policy's command is refused");
    let refused = s.policy_failures().unwrap();
    assert!(
        refused
            .iter()
            .any(|failure| failure.policy.starts_with("warranty started")
                && failure.error.contains("(S1)")),
        "{refused:?}"
    );
    // Replaying and reopening record nothing twice.
    s.replay_policies().unwrap();
    let reopened = ServiceLifecycle::new(s.store().clone()).unwrap();
    assert_eq!(reopened.policy_failures().unwrap(), refused);
    // The report of refusals shows the same.
    let reports =
        crate::reports::Reports::read_as_of(s.store(), chrono::DateTime::<chrono::Utc>::MAX_UTC)
            .unwrap();
    assert_eq!(reports.policy_refusals().refusals, refused);
}

#[test]
fn in_the_background_mode_commands_return_at_once_and_processing_catches_up() {
    let w = world();
    w.setup_customer_technician_and_parts();
    w.receive_and_commission_on_day_1();
    let background = ServiceLifecycle::builder(w.service.store().clone())
        .policies(PolicyMode::Background)
        .open()
        .unwrap();
    background
        .product(
            ProductCommand::RecordTestRun {
                product: w.product,
                passed: true,
                notes: String::new(),
                at: day(1),
            },
            &no_context(),
        )
        .unwrap();
    background
        .product(sale_on_day_2(&w), &no_context())
        .unwrap();
    let purchased = || {
        w.state::<Customer>(Customer::stream_id(w.customer).unwrap())
            .purchases
            .contains(&w.product)
    };
    assert!(!purchased(), "the policies have not run yet");
    assert!(background.process_policies().unwrap() > 0);
    assert!(purchased());
    assert_eq!(background.process_policies().unwrap(), 0, "nothing new");
}

#[test]
fn the_daily_policy_run_from_two_applications_at_once_schedules_each_outreach_once() {
    let w = world();
    w.setup_customer_technician_and_parts();
    w.service
        .customer(
            CustomerCommand::ChangeLevel {
                customer: w.customer,
                level: RelationshipLevel::Proactive,
                account_owner: None,
                reason: "a good customer".into(),
                at: day(1),
            },
            &no_context(),
        )
        .unwrap();
    w.prepare_and_sell();
    let services = [
        ServiceLifecycle::new(w.service.store().clone()).unwrap(),
        ServiceLifecycle::new(w.service.store().clone()).unwrap(),
    ];
    let warranty_end = w
        .service
        .directory(|directory| directory.units[&w.product].warranty.unwrap().until);
    let as_of = warranty_end - Duration::days(10);
    let scheduled: usize = std::thread::scope(|scope| {
        let handles: Vec<_> = services
            .iter()
            .map(|service| scope.spawn(move || service.run_daily(as_of, 30).unwrap()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    // Each call reports the outreach it saw recorded: when both raced for it, both may.
    assert!((1..=2).contains(&scheduled), "{scheduled}");
    assert_eq!(
        w.service.run_daily(as_of, 30).unwrap(),
        0,
        "and again the same day: none"
    );
    let outreach = w
        .state::<Customer>(Customer::stream_id(w.customer).unwrap())
        .obligations
        .values()
        .filter(|obligation| matches!(obligation.kind, ObligationKind::PostWarrantyOffer { .. }))
        .count();
    assert_eq!(outreach, 1);
}

/// The directory folded from position 0 over the whole log.
fn folded_directory(store: &MemoryStore<ServiceEvent>) -> Directory {
    let mut directory = Directory::default();
    for stored in store.read_all(1).unwrap() {
        crate::kernel::Projection::apply(&mut directory, &stored.unwrap());
    }
    directory
}

#[test]
fn the_directory_is_saved_with_the_checkpoint_and_opening_resumes_from_it() {
    use crate::kernel::CheckpointStore;
    let store = MemoryStore::new();
    receipt_to_post_warranty_repair(store.clone());
    let opened = ServiceLifecycle::new(store.clone()).unwrap();
    let saved = store.load_read_model(POLICY_CHECKPOINT).unwrap().unwrap();
    assert_eq!(saved.position, store.head_position().unwrap());
    assert_eq!(
        store.load_checkpoint(POLICY_CHECKPOINT).unwrap(),
        saved.position,
        "the checkpoint is the directory's position"
    );
    // More history after the save: opening again folds only the tail onto the saved directory,
    // and the result is the directory folded from the start.
    let later_model = ModelId::from_uuid(uuid::Uuid::from_u128(77));
    crate::testing::scenario::introduce(&opened, later_model, "WM-77", day(900));
    opened
        .product(
            ProductCommand::ReceiveUnit {
                model: later_model,
                serial: SerialNumber::new("LATER-1").unwrap(),
                at: day(900),
            },
            &no_context(),
        )
        .unwrap();
    let reopened = ServiceLifecycle::new(store.clone()).unwrap();
    assert_eq!(
        reopened.directory(Directory::clone),
        folded_directory(&store)
    );
    // A saved directory that does not decode is a cache miss, never an error.
    store
        .save_read_model(
            POLICY_CHECKPOINT,
            &crate::kernel::SavedReadModel {
                position: 3,
                state: b"not a directory".to_vec(),
            },
        )
        .unwrap();
    let recovered = ServiceLifecycle::new(store.clone()).unwrap();
    assert_eq!(
        recovered.directory(Directory::clone),
        folded_directory(&store)
    );
}

#[test]
fn a_renewal_into_another_contracts_days_is_refused_and_a_cancellation_frees_them_s1() {
    let w = world();
    w.setup_customer_technician_and_parts();
    w.receive_and_commission_on_day_1();
    let s = &w.service;
    let on_demand = |n: u128, start: i64, end: i64| {
        let contract = ContractId::from_uuid(uuid::Uuid::from_u128(n));
        let propose = ContractCommand::Propose {
            terms: Terms {
                contract,
                kind: ContractKind::OnDemand,
                customer: w.customer,
                units: std::collections::BTreeSet::from([w.product]),
                start: day(start).date_naive(),
                end: day(end).date_naive(),
                plan: default_plan(&TargetGroup::Household),
                entitlements: crate::contract::Entitlements::default(),
                currency: w.eur,
            },
            warranty_ends: BTreeMap::new(),
            at: day(2),
        };
        s.contract(propose, &no_context()).unwrap();
        s.contract(
            ContractCommand::Activate {
                contract,
                at: day(2),
            },
            &no_context(),
        )
        .unwrap();
        contract
    };
    let first = on_demand(40, 10, 40);
    let second = on_demand(41, 41, 70);
    let renew = || {
        s.contract(
            ContractCommand::Renew {
                contract: first,
                until: day(50).date_naive(),
                at: day(20),
            },
            &no_context(),
        )
    };
    let error = renew().unwrap_err();
    assert!(
        matches!(error, ServiceError::UnitHasContract { contract, .. } if contract == second),
        "{error}"
    );
    let coverage = w.state::<UnitCoverage>(UnitCoverage::stream_id(w.product).unwrap());
    assert_eq!(
        coverage.claims[&first].end,
        day(40).date_naive(),
        "the refused renewal leaves the days the contract held"
    );
    s.contract(
        ContractCommand::Cancel {
            contract: second,
            reason: "the customer withdrew".into(),
            at: day(20),
        },
        &no_context(),
    )
    .unwrap();
    let coverage = w.state::<UnitCoverage>(UnitCoverage::stream_id(w.product).unwrap());
    assert!(
        !coverage.claims.contains_key(&second),
        "the cancellation released its days"
    );
    renew().expect("the days are free again");
}

/// An application's `?` works on every error of the public API: each converts into
/// [`ServiceError`], and bad input stays a rejection (an answer to act on).
#[test]
fn every_public_error_converts_into_the_facades_error_with_a_question_mark() {
    fn serial(text: &str) -> Result<SerialNumber, ServiceError> {
        Ok(SerialNumber::new(text)?)
    }
    fn currency(text: &str) -> Result<Currency, ServiceError> {
        Ok(Currency::new(text)?)
    }
    fn calendar(zone: &str) -> Result<BusinessCalendar, ServiceError> {
        Ok(BusinessCalendar::office_hours().in_time_zone_named(zone)?)
    }
    fn stream(text: &str) -> Result<StreamId, ServiceError> {
        Ok(StreamId::new(text)?)
    }
    fn vault() -> Result<(), ServiceError> {
        let failing: Result<(), crate::kernel::VaultError> = Err(crate::kernel::VaultError {
            subject: crate::kernel::SubjectId::from_uuid(uuid::Uuid::from_u128(1)),
            source: Box::new(std::io::Error::other("the disk is gone")),
        });
        Ok(failing?)
    }
    for error in [
        serial("").unwrap_err(),
        currency("EURO").unwrap_err(),
        calendar("Mars/Olympus").unwrap_err(),
    ] {
        assert!(error.is_rejection(), "{error}");
    }
    assert!(!stream("").unwrap_err().is_rejection());
    assert!(!vault().unwrap_err().is_rejection());
    fn load() -> Result<(), ServiceError> {
        let failing: Result<(), crate::kernel::LoadError> =
            Err(crate::kernel::LoadError::from(ReadError::Corrupt {
                record: "x".into(),
                problem: "y".into(),
            }));
        Ok(failing?)
    }
    assert!(load().unwrap_err().to_string().contains('y'));
}
/// P4: the warranty a unit is sold with by default is the one its model has in the catalogue.
#[test]
fn a_units_default_warranty_is_its_models_in_the_catalogue_p4() {
    let w = world();
    w.receive_and_commission_on_day_1();
    let s = &w.service;
    assert_eq!(
        s.warranty_of(w.product).unwrap(),
        Some(WarrantyTerms {
            months: 24,
            starts: WarrantyStart::OnInstallation,
        })
    );
    let unlisted = ModelId::from_uuid(uuid::Uuid::from_u128(404));
    let serial = SerialNumber::new("X-1").unwrap();
    let unit = ProductId::of(unlisted, &serial);
    s.product(
        ProductCommand::ReceiveUnit {
            model: unlisted,
            serial,
            at: day(1),
        },
        &no_context(),
    )
    .unwrap();
    assert_eq!(s.warranty_of(unit).unwrap(), None);
    let never = ProductId::of(unlisted, &SerialNumber::new("X-2").unwrap());
    assert_eq!(s.warranty_of(never).unwrap(), None);
}

/// C1, §8: a registration the rules refuse (a partnership needs an account owner) leaves no
/// personal record behind.
#[test]
fn a_refused_registration_leaves_no_personal_data_behind() {
    let vault = std::sync::Arc::new(crate::kernel::MemoryVault::new());
    let service = ServiceLifecycle::builder(MemoryStore::new())
        .personal_data(vault.clone())
        .open()
        .unwrap();
    let customer = CustomerId::from_uuid(uuid::Uuid::from_u128(31));
    let registration = Registration::new(customer, PersonalData::new("Olga", "+7"), day(0))
        .level(RelationshipLevel::Partnership);
    let error = service
        .register_customer(registration, &no_context())
        .unwrap_err();
    assert!(error.is_rejection(), "{error}");
    assert_eq!(service.personal_data(customer).unwrap(), None);
    let subject = crate::kernel::SubjectId::from_uuid(customer.as_uuid());
    assert_eq!(crate::kernel::Vault::get(&*vault, subject).unwrap(), None);
}
