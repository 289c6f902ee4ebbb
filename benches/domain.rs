//! Commands per second through the service facade on the memory store, for a realistic mix over
//! 10,000 customers and 50,000 units: a sale (its policies record the purchase, open the follow-up
//! and the warranty contract), a service call through dispatch (its policy reserves a part),
//! arrival and resolution (its policy issues the part), and an inquiry answered.
//!
//! Then each of three facade commands beside the bare aggregate commands it issues, through
//! repositories on the same kind of world, in the same run: a sale (the unit sold, the purchase
//! recorded, the warranty's coverage claimed, its contract proposed and activated), a customer's
//! registration (personal data in the vault, the customer registered), a service call opened.
//! What the facade adds is the rest: its reference checks, the policies' catch-up (reading the
//! new events, folding them into the directory, deciding the reactions) and their bookkeeping.
//!
//! Run: `cargo bench --bench domain` (`-- facade_command` for the three alone)

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use service_lifecycle::kernel::{CommandContext, CommandId, MemoryStore, MemoryVault, Repository};
use service_lifecycle::{
    default_plan, put_personal_data, AfterSaleServices, CallId, CallKind, ContractCommand,
    ContractId, ContractKind, CoverageCommand, Currency, Customer, CustomerCommand, CustomerId,
    Entitlements, Location, ModelId, Money, OutreachTerms, PartCommand, PartNumber, PersonalData,
    Priority, Product, ProductCommand, ProductId, Registration, RelationshipLevel, SerialNumber,
    ServiceContract, ServiceEvent, ServiceLifecycle, TargetGroup, TechnicianCommand, TechnicianId,
    Terms, UnitCoverage, WarrantyStart, WarrantyTerms, DEFAULT_STATE_CACHE_BYTES,
};

const CUSTOMERS: u128 = 10_000;
const UNITS: u64 = 50_000;
/// Units of the worlds the single-command benchmarks sell from: more than they sell.
const COMMAND_UNITS: u64 = 120_000;
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
    build_world_of(UNITS)
}

fn build_world_of(unit_count: u64) -> World {
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
    for n in 0..unit_count {
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

fn eur() -> Currency {
    Currency::new("EUR").expect("currency")
}

fn sale(product: ProductId, customer: CustomerId, minutes: i64) -> ProductCommand {
    ProductCommand::Sell {
        product,
        customer,
        price: Money::new(50_000, eur()),
        packaging: "box".into(),
        warranty: WarrantyTerms {
            months: 24,
            starts: WarrantyStart::OnSale,
        },
        services: AfterSaleServices::default(),
        at: at(minutes),
    }
}

fn customer_of(n: usize) -> CustomerId {
    CustomerId::from_uuid(uuid::Uuid::from_u128(n as u128 % CUSTOMERS + 1))
}

/// The repositories the facade runs its commands through, bare, on `store`.
struct Bare {
    products: Repository<Product, ServiceEvent, MemoryStore<ServiceEvent>>,
    customers: Repository<Customer, ServiceEvent, MemoryStore<ServiceEvent>>,
    coverage: Repository<UnitCoverage, ServiceEvent, MemoryStore<ServiceEvent>>,
    contracts: Repository<ServiceContract, ServiceEvent, MemoryStore<ServiceEvent>>,
    vault: MemoryVault,
}

impl Bare {
    /// Repositories with the facade's state cache (its default bytes shared out among its seven
    /// cached repositories, as the facade shares them), warmed as the facade's are by building
    /// the world: every unit and customer folded once.
    fn on(world: &World) -> Self {
        const SHARE: usize = DEFAULT_STATE_CACHE_BYTES / 7;
        let store = world.service.store();
        let bare = Self {
            products: Repository::new(store.clone()).with_state_cache_bytes(SHARE),
            customers: Repository::new(store.clone()).with_state_cache_bytes(SHARE),
            coverage: Repository::new(store.clone()).with_state_cache_bytes(SHARE),
            contracts: Repository::new(store.clone()).with_state_cache_bytes(SHARE),
            vault: MemoryVault::new(),
        };
        for (product, _) in &world.units {
            bare.products
                .load(&Product::stream_id(*product).expect("id"))
                .expect("load");
        }
        for n in 0..CUSTOMERS as usize {
            bare.customers
                .load(&Customer::stream_id(customer_of(n)).expect("id"))
                .expect("load");
        }
        bare
    }

    /// The commands a sale issues through the facade, with the policies' command ids: the sale;
    /// the purchase recorded; the warranty's days claimed, its contract proposed and activated.
    /// Returns the contract.
    fn sell(&self, product: ProductId, customer: CustomerId, minutes: i64) -> ContractId {
        let sold = self
            .products
            .execute(
                &Product::stream_id(product).expect("id"),
                &sale(product, customer, minutes),
                &CommandContext::new(),
            )
            .expect("sell");
        let policy = || CommandContext::with_command_id(CommandId::from_uuid(uuid::Uuid::new_v4()));
        let at = at(minutes);
        self.customers
            .execute(
                &Customer::stream_id(customer).expect("id"),
                &CustomerCommand::RecordPurchase {
                    customer,
                    product,
                    at,
                },
                &policy(),
            )
            .expect("purchase");
        let warranty = sold.state.warranty.expect("a warranty from the sale");
        let contract = ContractId::from_uuid(uuid::Uuid::new_v4());
        self.coverage
            .execute(
                &UnitCoverage::stream_id(product).expect("id"),
                &CoverageCommand::Claim {
                    unit: product,
                    contract,
                    start: warranty.from,
                    end: warranty.until,
                    at,
                    renewal: false,
                },
                &policy(),
            )
            .expect("claim");
        let stream = ServiceContract::stream_id(contract).expect("id");
        let terms = Terms {
            contract,
            kind: ContractKind::Warranty,
            customer,
            units: std::collections::BTreeSet::from([product]),
            start: warranty.from,
            end: warranty.until,
            plan: default_plan(&TargetGroup::Household),
            entitlements: Entitlements::default(),
            currency: eur(),
        };
        self.contracts
            .execute(
                &stream,
                &ContractCommand::Propose {
                    terms,
                    warranty_ends: BTreeMap::new(),
                    at,
                },
                &policy(),
            )
            .expect("propose");
        self.contracts
            .execute(
                &stream,
                &ContractCommand::Activate { contract, at },
                &policy(),
            )
            .expect("activate");
        contract
    }
}

fn open_call(contract: ContractId, unit: ProductId, n: u64, minutes: i64) -> ContractCommand {
    ContractCommand::OpenCall {
        contract,
        call: CallId::from_uuid(uuid::Uuid::from_u128(5_000_000 + u128::from(n))),
        unit,
        priority: Priority::Normal,
        kind: CallKind::Breakdown,
        at: at(minutes),
    }
}

/// Runs `step(n)` for the next `iterations` values of `next`; the time it took.
fn timed(iterations: u64, next: &mut u64, mut step: impl FnMut(u64)) -> Duration {
    let begin = Instant::now();
    for _ in 0..iterations {
        step(*next);
        *next += 1;
    }
    begin.elapsed()
}

fn facade_commands(c: &mut Criterion) {
    let facade = build_world_of(COMMAND_UNITS);
    let bare_world = build_world_of(COMMAND_UNITS);
    let bare = Bare::on(&bare_world);
    let mut group = c.benchmark_group("facade_command");
    group.sample_size(20);
    // Each sale takes a unit of its world's 120,000: half a second of the bare commands (at
    // about 10 µs a sale) stays below that.
    group.measurement_time(Duration::from_millis(500));

    let (mut sold, mut bare_sold) = (0u64, 0u64);
    group.bench_function(BenchmarkId::new("sale", "facade_with_policies"), |b| {
        b.iter_custom(|iterations| {
            timed(iterations, &mut sold, |n| {
                let (product, _) = facade.units[n as usize];
                black_box(
                    facade
                        .service
                        .product(
                            sale(product, customer_of(n as usize), 10 + n as i64),
                            &CommandContext::new(),
                        )
                        .expect("sell"),
                );
            })
        })
    });
    let mut contracts = Vec::new();
    group.bench_function(BenchmarkId::new("sale", "bare_aggregate_commands"), |b| {
        b.iter_custom(|iterations| {
            timed(iterations, &mut bare_sold, |n| {
                let (product, _) = bare_world.units[n as usize];
                contracts.push((
                    bare.sell(product, customer_of(n as usize), 10 + n as i64),
                    product,
                ));
            })
        })
    });
    eprintln!("sold {sold} units through the facade, {bare_sold} bare");

    let (mut registered, mut bare_registered) = (0u64, 0u64);
    let person = |n: u64| PersonalData {
        name: format!("new customer {n}"),
        contact: format!("+1 {n}"),
    };
    let new_customer =
        |n: u64| CustomerId::from_uuid(uuid::Uuid::from_u128(2_000_000 + u128::from(n)));
    group.bench_function(BenchmarkId::new("register_customer", "facade"), |b| {
        b.iter_custom(|iterations| {
            timed(iterations, &mut registered, |n| {
                black_box(
                    facade
                        .service
                        .register_customer(
                            Registration::new(new_customer(n), person(n), at(5)),
                            &CommandContext::new(),
                        )
                        .expect("register"),
                );
            })
        })
    });
    group.bench_function(
        BenchmarkId::new("register_customer", "bare_vault_and_command"),
        |b| {
            b.iter_custom(|iterations| {
                timed(iterations, &mut bare_registered, |n| {
                    let customer = new_customer(n);
                    put_personal_data(&bare.vault, customer, &person(n)).expect("vault");
                    black_box(
                        bare.customers
                            .execute(
                                &Customer::stream_id(customer).expect("id"),
                                &CustomerCommand::Register {
                                    customer,
                                    target_group: TargetGroup::Household,
                                    level: RelationshipLevel::Basic,
                                    account_owner: None,
                                    terms: OutreachTerms::default(),
                                    at: at(5),
                                },
                                &CommandContext::new(),
                            )
                            .expect("register"),
                    );
                })
            })
        },
    );

    // Calls on the contracts of the units sold above, round-robin (sold here when the sale
    // benchmarks were filtered out).
    while sold < 1_000 {
        let (product, _) = facade.units[sold as usize];
        facade
            .service
            .product(
                sale(product, customer_of(sold as usize), 10 + sold as i64),
                &CommandContext::new(),
            )
            .expect("sell");
        sold += 1;
    }
    while bare_sold < 1_000 {
        let (product, _) = bare_world.units[bare_sold as usize];
        contracts.push((
            bare.sell(
                product,
                customer_of(bare_sold as usize),
                10 + bare_sold as i64,
            ),
            product,
        ));
        bare_sold += 1;
    }
    eprintln!("open_call starts");
    let facade_contracts: Vec<(ContractId, ProductId)> = (0..sold.min(1_000))
        .map(|n| {
            let (product, _) = facade.units[n as usize];
            let contract = facade.service.directory(|directory| {
                *directory.contracts_by_unit[&product]
                    .keys()
                    .next()
                    .expect("contract")
            });
            (contract, product)
        })
        .collect();
    contracts.truncate(1_000);
    let (mut opened, mut bare_opened) = (0u64, 0u64);
    group.bench_function(BenchmarkId::new("open_call", "facade"), |b| {
        b.iter_custom(|iterations| {
            timed(iterations, &mut opened, |n| {
                let (contract, unit) = facade_contracts[(n as usize) % facade_contracts.len()];
                black_box(
                    facade
                        .service
                        .contract(
                            open_call(contract, unit, n, 200_000),
                            &CommandContext::new(),
                        )
                        .expect("open call"),
                );
            })
        })
    });
    group.bench_function(
        BenchmarkId::new("open_call", "bare_contract_command"),
        |b| {
            b.iter_custom(|iterations| {
                timed(iterations, &mut bare_opened, |n| {
                    let (contract, unit) = contracts[(n as usize) % contracts.len()];
                    black_box(
                        bare.contracts
                            .execute(
                                &ServiceContract::stream_id(contract).expect("id"),
                                &open_call(contract, unit, n, 200_000),
                                &CommandContext::new(),
                            )
                            .expect("open call"),
                    );
                })
            })
        },
    );
    group.finish();
}

criterion_group! {
    name = commands;
    config = Criterion::default().warm_up_time(Duration::from_millis(100));
    targets = facade_commands
}

criterion_group! {
    name = domain;
    config = Criterion::default().warm_up_time(Duration::from_millis(100)).measurement_time(Duration::from_secs(1));
    targets = mixed_workload
}
criterion_main!(domain, commands);
