//! Commands per second through the service facade on the memory store, for a realistic mix over
//! 10,000 customers and 50,000 units: a sale (its policies record the purchase, open the follow-up
//! and the warranty contract), a service call through dispatch (its policy reserves a part),
//! arrival and resolution (its policy issues the part), and an inquiry answered.
//!
//! Run: `cargo bench --bench domain`

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use service_lifecycle::kernel::{CommandContext, MemoryStore};
use service_lifecycle::{
    AfterSaleServices, CallId, CallKind, ContractCommand, Currency, CustomerCommand, CustomerId,
    Location, ModelId, Money, PartCommand, PartNumber, PersonalData, Priority, ProductCommand,
    ProductId, Registration, RelationshipLevel, SerialNumber, ServiceEvent, ServiceLifecycle,
    TechnicianCommand, TechnicianId, WarrantyStart, WarrantyTerms,
};

const CUSTOMERS: u128 = 10_000;
const UNITS: u64 = 50_000;
const MODELS: u128 = 20;
/// Facade calls in one round of the mix.
const CALLS_PER_ROUND: u64 = 7;

fn at(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0)
        .single()
        .unwrap_or_default()
        + chrono::Duration::minutes(minutes)
}

struct World {
    service: ServiceLifecycle<MemoryStore<ServiceEvent>>,
    units: Vec<(ProductId, ModelId)>,
    technician: TechnicianId,
    part: PartNumber,
    eur: Currency,
    next: usize,
}

fn build_world() -> World {
    let service = ServiceLifecycle::new(MemoryStore::new()).expect("service");
    let context = CommandContext::new();
    let levels = [
        RelationshipLevel::Basic,
        RelationshipLevel::Reactive,
        RelationshipLevel::Accountable,
    ];
    for n in 0..CUSTOMERS {
        service
            .register_customer(
                Registration::new(
                    CustomerId::from_uuid(uuid::Uuid::from_u128(n + 1)),
                    PersonalData {
                        name: format!("customer {n}"),
                        contact: format!("+0 {n}"),
                    },
                    at(0),
                )
                .level(levels[(n % 3) as usize]),
                &context,
            )
            .expect("register");
    }
    let technician = TechnicianId::from_uuid(uuid::Uuid::from_u128(900_000));
    service
        .technician(
            TechnicianCommand::Hire {
                technician,
                at: at(0),
            },
            &context,
        )
        .expect("hire");
    service
        .technician(
            TechnicianCommand::CompleteStandardsTraining {
                technician,
                at: at(0),
            },
            &context,
        )
        .expect("train");
    let models: Vec<ModelId> = (0..MODELS)
        .map(|n| ModelId::from_uuid(uuid::Uuid::from_u128(800_000 + n)))
        .collect();
    for model in &models {
        let until = at(0).date_naive() + chrono::Duration::days(3_650);
        service
            .technician(
                TechnicianCommand::Certify {
                    technician,
                    model: *model,
                    until,
                    at: at(0),
                },
                &context,
            )
            .expect("certify");
    }
    let part = PartNumber::new("FILTER-1").expect("part number");
    let uses: BTreeMap<ModelId, u32> = models.iter().map(|model| (*model, 1)).collect();
    service
        .part(
            PartCommand::RegisterPart {
                part: part.clone(),
                models: uses,
                reorder_point: 10,
                at: at(0),
            },
            &context,
        )
        .expect("register part");
    service
        .part(
            PartCommand::ReceiveStock {
                part: part.clone(),
                location: Location::CentralWarehouse,
                quantity: 1_000_000,
                at: at(0),
            },
            &context,
        )
        .expect("stock");
    let mut units = Vec::new();
    for n in 0..UNITS {
        let model = models[(n % MODELS as u64) as usize];
        let serial = SerialNumber::new(format!("SN-{n:06}")).expect("serial");
        let product = ProductId::of(model, &serial);
        service
            .product(
                ProductCommand::ReceiveUnit {
                    model,
                    serial,
                    at: at(1),
                },
                &context,
            )
            .expect("receive");
        service
            .product(ProductCommand::Commission { product, at: at(2) }, &context)
            .expect("commission");
        service
            .product(
                ProductCommand::RecordTestRun {
                    product,
                    passed: true,
                    notes: String::new(),
                    at: at(3),
                },
                &context,
            )
            .expect("test run");
        units.push((product, model));
    }
    World {
        service,
        units,
        technician,
        part,
        eur: Currency::new("EUR").expect("currency"),
        next: 0,
    }
}

/// One round: sell a unit, run a call on its warranty contract with a part, log and answer an
/// inquiry. Returns false when every unit is sold.
fn round(world: &mut World) -> bool {
    let Some(&(product, _)) = world.units.get(world.next) else {
        return false;
    };
    let n = world.next as i64;
    world.next += 1;
    let context = CommandContext::new();
    let service = &world.service;
    let customer = CustomerId::from_uuid(uuid::Uuid::from_u128(n as u128 % CUSTOMERS + 1));
    let start = 10 + n * 10;
    service
        .product(
            ProductCommand::Sell {
                product,
                customer,
                price: Money::new(50_000, world.eur),
                packaging: "box".into(),
                warranty: WarrantyTerms {
                    months: 24,
                    starts: WarrantyStart::OnSale,
                },
                services: AfterSaleServices::default(),
                at: at(start),
            },
            &context,
        )
        .expect("sell");
    let contract = service.directory(|directory| {
        *directory.contracts_by_unit[&product]
            .keys()
            .next()
            .expect("contract")
    });
    let call = CallId::from_uuid(uuid::Uuid::from_u128(1_000_000 + n as u128));
    service
        .contract(
            ContractCommand::OpenCall {
                contract,
                call,
                unit: product,
                priority: Priority::Normal,
                kind: CallKind::Breakdown,
                at: at(start + 1),
            },
            &context,
        )
        .expect("open call");
    service
        .contract(
            ContractCommand::Dispatch {
                contract,
                call,
                technician: world.technician,
                parts: vec![(world.part.clone(), 1)],
                at: at(start + 2),
            },
            &context,
        )
        .expect("dispatch");
    service
        .contract(
            ContractCommand::Arrive {
                contract,
                call,
                at: at(start + 3),
            },
            &context,
        )
        .expect("arrive");
    service
        .contract(
            ContractCommand::Resolve {
                contract,
                call,
                work: "fixed".into(),
                parts: vec![(world.part.clone(), 1)],
                training_hours: 0,
                cost: Money::new(10_000, world.eur),
                customer_accepts_charge: true,
                at: at(start + 4),
            },
            &context,
        )
        .expect("resolve");
    let logged = service
        .customer(
            CustomerCommand::LogInquiry {
                customer,
                topic: "filter".into(),
                at: at(start + 5),
            },
            &context,
        )
        .expect("inquiry");
    let inquiry = match logged.events.first() {
        Some(service_lifecycle::CustomerEvent::InquiryLogged { inquiry, .. }) => *inquiry,
        _ => 1,
    };
    service
        .customer(
            CustomerCommand::AnswerInquiry {
                customer,
                inquiry,
                at: at(start + 6),
            },
            &context,
        )
        .expect("answer");
    true
}

fn mixed_workload(c: &mut Criterion) {
    let started = Instant::now();
    let mut world = build_world();
    eprintln!(
        "built {CUSTOMERS} customers and {UNITS} units in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let mut group = c.benchmark_group("facade_mixed_10000_customers_50000_units");
    group.throughput(Throughput::Elements(CALLS_PER_ROUND));
    group.sample_size(10);
    group.bench_function("round_of_7_commands", |b| {
        b.iter_custom(|rounds| {
            let begin = Instant::now();
            for _ in 0..rounds {
                if !black_box(round(&mut world)) {
                    eprintln!("every unit is sold: the measurement is cut short");
                    break;
                }
            }
            begin.elapsed()
        });
    });
    group.finish();
}

criterion_group! {
    name = domain;
    config = Criterion::default().warm_up_time(Duration::from_millis(100)).measurement_time(Duration::from_secs(1));
    targets = mixed_workload
}
criterion_main!(domain);
