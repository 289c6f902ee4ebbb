//! Generated histories of the real domain, for property tests of anything that reads a store
//! (exports, reports, stores themselves): random operations through the application facade (units
//! received, prepared, sold, delivered, installed; customers registered at every level and asking
//! questions; parts stocked and reserved), with the policies writing what they write. Commands the
//! rules reject are part of life and skipped.
//!
//! ```
//! use proptest::prelude::*;
//! use service_lifecycle_core::testing::histories::{arbitrary_ops, run};
//! use service_lifecycle_core::kernel::{EventStore, MemoryStore};
//!
//! proptest!(ProptestConfig::with_cases(4), |(ops in arbitrary_ops(20))| {
//!     let store = MemoryStore::new();
//!     run(store.clone(), &ops);
//!     prop_assert!(store.head_position().unwrap() >= 1, "the part is always registered");
//! });
//! ```

use super::time::hour;
use crate::kernel::{CheckpointStore, CommandContext, EventStore, Repository};
use crate::*;
use proptest::prelude::*;

/// One operation of a generated history; units, customers and calls are small numbers.
#[derive(Debug, Clone)]
pub enum Op {
    /// Register customer number `customer` at level number `level` (of the five).
    Register {
        /// The customer's number.
        customer: u8,
        /// The level's index in [`RelationshipLevel::ALL`].
        level: u8,
    },
    /// Receive unit number `unit`.
    Receive {
        /// The unit's number.
        unit: u8,
    },
    /// Commission unit number `unit`.
    Commission {
        /// The unit's number.
        unit: u8,
    },
    /// Test-run unit number `unit`.
    TestRun {
        /// The unit's number.
        unit: u8,
        /// Whether the run passes.
        passed: bool,
    },
    /// Sell unit number `unit` to customer number `customer`.
    Sell {
        /// The unit's number.
        unit: u8,
        /// The buyer's number.
        customer: u8,
    },
    /// Deliver unit number `unit`.
    Deliver {
        /// The unit's number.
        unit: u8,
    },
    /// Install unit number `unit`.
    Install {
        /// The unit's number.
        unit: u8,
    },
    /// Log a question of customer number `customer`.
    Inquiry {
        /// The customer's number.
        customer: u8,
    },
    /// Receive `quantity` pumps.
    Stock {
        /// How many.
        quantity: u32,
    },
    /// Reserve `quantity` pumps for call number `call`.
    Reserve {
        /// The call's number.
        call: u8,
        /// How many.
        quantity: u32,
    },
}

/// Histories of 1 to `max` operations over 6 units, 4 customers, one part.
pub fn arbitrary_ops(max: usize) -> impl Strategy<Value = Vec<Op>> {
    let op = prop_oneof![
        2 => (0u8..4, 0u8..5).prop_map(|(customer, level)| Op::Register { customer, level }),
        3 => (0u8..6).prop_map(|unit| Op::Receive { unit }),
        2 => (0u8..6).prop_map(|unit| Op::Commission { unit }),
        2 => (0u8..6, any::<bool>()).prop_map(|(unit, passed)| Op::TestRun { unit, passed }),
        3 => (0u8..6, 0u8..4).prop_map(|(unit, customer)| Op::Sell { unit, customer }),
        1 => (0u8..6).prop_map(|unit| Op::Deliver { unit }),
        1 => (0u8..6).prop_map(|unit| Op::Install { unit }),
        2 => (0u8..4).prop_map(|customer| Op::Inquiry { customer }),
        1 => (1u32..5).prop_map(|quantity| Op::Stock { quantity }),
        1 => (0u8..5, 1u32..3).prop_map(|(call, quantity)| Op::Reserve { call, quantity }),
    ];
    proptest::collection::vec(op, 1..max)
}

/// The id of customer number `n`.
pub fn customer_id(n: u8) -> CustomerId {
    CustomerId::from_uuid(uuid::Uuid::from_u128(1_000 + u128::from(n)))
}

/// The one model of every unit in a generated history.
pub fn model() -> ModelId {
    ModelId::from_uuid(uuid::Uuid::from_u128(7))
}

fn serial(unit: u8) -> SerialNumber {
    SerialNumber::new(format!("WM-{unit:04}")).expect("valid serial")
}

fn pump() -> PartNumber {
    PartNumber::new("PUMP-220").expect("valid part number")
}

/// The personal data of customer number `n`.
pub fn personal(n: u8) -> PersonalData {
    PersonalData {
        name: format!("Customer Number {n}"),
        contact: format!("+7 900 000 00 {n:02}"),
    }
}

/// Runs `ops` through the facade over `store` (the part is registered first); commands the rules
/// reject are part of life and skipped, and a failure of the store panics (a generated history
/// never hides one). Returns the application, to run more or to read its directory.
pub fn run<S: EventStore<ServiceEvent> + CheckpointStore + Clone>(
    store: S,
    ops: &[Op],
) -> ServiceLifecycle<S> {
    let service = ServiceLifecycle::new(store).expect("the application starts");
    let eur = Currency::new("EUR").expect("valid currency");
    let product = |command| service.product(command, &CommandContext::new()).map(drop);
    let part = |command| service.part(command, &CommandContext::new()).map(drop);
    let parts = Repository::<PartsSupply, ServiceEvent, S>::new(service.store().clone());
    let unit = |n: u8| ProductId::of(model(), &serial(n));
    crate::testing::scenario::introduce(&service, model(), "WM-7 washing machine", hour(0));
    let register_part = part(PartCommand::RegisterPart {
        part: pump(),
        models: std::collections::BTreeMap::from([(model(), 1)]),
        reorder_point: 1,
        at: hour(0),
    });
    skip_rejection(register_part);
    let levels = RelationshipLevel::ALL;
    for (n, op) in ops.iter().enumerate() {
        let at = hour(n as i64 + 1);
        let outcome = match *op {
            Op::Register { customer, level } => service
                .register_customer(
                    Registration::new(customer_id(customer), personal(customer), at)
                        .level(levels[level as usize % levels.len()]),
                    &CommandContext::new(),
                )
                .map(drop),
            Op::Receive { unit: n } => product(ProductCommand::ReceiveUnit {
                model: model(),
                serial: serial(n),
                at,
            }),
            Op::Commission { unit: n } => product(ProductCommand::Commission {
                product: unit(n),
                at,
            }),
            Op::TestRun { unit: n, passed } => product(ProductCommand::RecordTestRun {
                product: unit(n),
                passed,
                notes: "run".into(),
                at,
            }),
            Op::Sell { unit: n, customer } => product(ProductCommand::Sell {
                product: unit(n),
                customer: customer_id(customer),
                price: Money::new(64_900, eur),
                packaging: "original box".into(),
                warranty: WarrantyTerms {
                    months: 12,
                    starts: WarrantyStart::OnSale,
                },
                services: AfterSaleServices::default(),
                at,
            }),
            Op::Deliver { unit: n } => product(ProductCommand::Deliver {
                product: unit(n),
                at,
            }),
            Op::Install { unit: n } => product(ProductCommand::Install {
                product: unit(n),
                at,
            }),
            Op::Inquiry { customer } => service
                .customer(
                    CustomerCommand::LogInquiry {
                        customer: customer_id(customer),
                        topic: "how to descale".into(),
                        at,
                    },
                    &CommandContext::new(),
                )
                .map(drop),
            Op::Stock { quantity } => part(PartCommand::ReceiveStock {
                part: pump(),
                location: Location::CentralWarehouse,
                quantity,
                at,
            }),
            // The history has no contracts, so no calls the facade would accept a reservation
            // for: the part's own repository takes it, as for a call opened elsewhere.
            Op::Reserve { call, quantity } => parts
                .execute(
                    &PartsSupply::stream_id(&pump()).expect("a stream id"),
                    &PartCommand::Reserve {
                        part: pump(),
                        call: CallId::from_uuid(uuid::Uuid::from_u128(500 + u128::from(call))),
                        location: Location::CentralWarehouse,
                        quantity,
                        at,
                    },
                    &CommandContext::new(),
                )
                .map(drop)
                .map_err(ServiceError::from)
                .and_then(|()| service.process_policies().map(drop)),
        };
        skip_rejection(outcome);
    }
    service
}

/// Lets a command the rules rejected pass; panics on any other failure.
fn skip_rejection(outcome: Result<(), ServiceError>) {
    if let Err(error) = outcome {
        assert!(
            error.is_rejection(),
            "the store failed in a generated history: {error}"
        );
    }
}
