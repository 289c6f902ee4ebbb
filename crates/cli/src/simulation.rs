//! A deterministic, seeded simulation of a dealership's customers over years: the load
//! generator of benchmarks, load tests and the CLI's `simulate`.
//!
//! Every day, units arrive and are prepared (a few with transport damage), ready units are sold
//! (half with delivery and installation, which follow on the next days), customers ask questions,
//! and units under warranty break down (calls dispatched on time or late, with a part); once a
//! month the daily policy runs. Everything goes through `ServiceLifecycle`, so the policies write
//! what they write. Ids and command ids derive from the seed, so the same seed gives the same
//! history (the same events with the same ids; only recorded-at times differ).

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use service_lifecycle_core::kernel::{CheckpointStore, CommandContext, CommandId, EventStore};
use service_lifecycle_core::*;

/// What to simulate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimulationConfig {
    /// How many customers.
    pub customers: u64,
    /// How many years.
    pub years: u32,
    /// The seed.
    pub seed: u64,
}

/// What a simulation did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SimulationSummary {
    /// Days simulated.
    pub days: u64,
    /// Facade commands sent.
    pub commands: u64,
    /// Commands the rules refused.
    pub refused: u64,
}

const MODELS: u64 = 12;

/// The kinds of goods the simulated dealership sells, with their makers: a model's category and
/// manufacturer are those of its number modulo this list.
const CATEGORIES: [(&str, &str, &str); 4] = [
    ("washing machines", "WM", "Volga Appliances"),
    ("refrigerators", "RF", "Ural Cold"),
    ("dishwashers", "DW", "Neva Home"),
    ("air conditioners", "AC", "Baikal Climate"),
];

/// The given names the simulated staff and customers are named from (a customer is "Given
/// Family (number)", a technician "Given Family").
pub const GIVEN_NAMES: [&str; 8] = [
    "Anna", "Boris", "Daria", "Elena", "Igor", "Marina", "Oleg", "Sofia",
];
/// The family names of [`GIVEN_NAMES`]' people.
pub const FAMILY_NAMES: [&str; 8] = [
    "Ivanova",
    "Kuznetsov",
    "Lebedeva",
    "Morozov",
    "Novikova",
    "Orlov",
    "Popova",
    "Sokolov",
];

/// A person's name for `number`, unique for the first 64 and repeating after.
fn person_name(number: u64) -> String {
    let given = GIVEN_NAMES[(number % 8) as usize];
    let family = FAMILY_NAMES[(number / 8 % 8) as usize];
    format!("{given} {family}")
}

/// A small, fast, seedable generator (xorshift64*): the same seed, the same history.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound.max(1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

fn instant(day: u64, minute: u64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, 8, 0, 0)
        .single()
        .unwrap_or_default()
        + Duration::days(day as i64)
        + Duration::minutes(minute as i64)
}

fn date(day: u64) -> NaiveDate {
    instant(day, 0).date_naive()
}

struct Simulation<S> {
    service: ServiceLifecycle<S>,
    seed: u64,
    rng: Rng,
    summary: SimulationSummary,
    customers: u64,
    /// Units received and not yet sold, by number.
    in_stock: Vec<u64>,
    /// Units sold and waiting for delivery, installation, or in service.
    delivering: Vec<u64>,
    installing: Vec<u64>,
    in_service: Vec<u64>,
    next_unit: u64,
    next_call: u64,
    /// Asked before every command: `true` stops the simulation there.
    stop: Box<dyn Fn() -> bool>,
}

/// Why the simulation stopped before its last day.
enum Halt {
    /// The caller asked it to stop: every command sent before is whole.
    Asked,
    /// A command failed for a reason other than the rules.
    Failed(ServiceError),
}

impl From<ServiceError> for Halt {
    fn from(error: ServiceError) -> Self {
        Self::Failed(error)
    }
}

impl<S: EventStore<ServiceEvent> + CheckpointStore + Clone> Simulation<S> {
    fn id(&self, kind: u64, number: u64) -> uuid::Uuid {
        uuid::Uuid::from_u64_pair(self.seed ^ (kind << 56), number)
    }

    /// Sends one command through the facade under the next command id.
    fn send<T>(
        &mut self,
        command: impl FnOnce(&ServiceLifecycle<S>, &CommandContext) -> Result<T, ServiceError>,
    ) -> Result<(), Halt> {
        if (self.stop)() {
            return Err(Halt::Asked);
        }
        self.summary.commands += 1;
        let id = self.id(0xff, self.summary.commands);
        let context = CommandContext::with_command_id(CommandId::from_uuid(id));
        let outcome = command(&self.service, &context);
        Ok(self.tally(outcome)?)
    }

    /// A refusal by the rules is counted: part of a dealer's life. Any other failure (of the
    /// store) ends the simulation.
    fn tally<T>(&mut self, outcome: Result<T, ServiceError>) -> Result<(), ServiceError> {
        match outcome {
            Err(error) if error.is_rejection() => {
                self.summary.refused += 1;
                Ok(())
            }
            other => other.map(drop),
        }
    }

    fn customer(&self, number: u64) -> CustomerId {
        CustomerId::from_uuid(self.id(1, number))
    }

    fn model(&self, number: u64) -> ModelId {
        ModelId::from_uuid(self.id(2, number % MODELS))
    }

    fn part(number: u64) -> PartNumber {
        PartNumber::new(format!("PART-{:02}", number % MODELS)).expect("valid part number")
    }

    fn technician(&self, number: u64) -> TechnicianId {
        TechnicianId::from_uuid(self.id(3, number))
    }

    fn serial(number: u64) -> SerialNumber {
        SerialNumber::new(format!("SN-{number:09}")).expect("valid serial")
    }

    fn unit(&self, number: u64) -> ProductId {
        ProductId::of(self.model(number), &Self::serial(number))
    }

    fn technician_name(number: u64) -> String {
        person_name(number + 3)
    }

    /// The catalogue entry of model `number`.
    fn model_details(number: u64) -> ModelDetails {
        let (category, prefix, manufacturer) = CATEGORIES[(number % 4) as usize];
        ModelDetails {
            name: format!("{prefix}-{}", number + 1),
            manufacturer: manufacturer.to_owned(),
            category: category.to_owned(),
            warranty: WarrantyTerms {
                months: 12,
                starts: WarrantyStart::OnSale,
            },
        }
    }

    fn technicians(&self) -> u64 {
        (self.customers / 500).max(1)
    }

    fn open_shop(&mut self) -> Result<(), Halt> {
        for model in 0..MODELS {
            let introduce = ModelCommand::Introduce {
                model: self.model(model),
                details: Self::model_details(model),
                at: instant(0, 0),
            };
            self.send(|service, context| service.model(introduce, context))?;
        }
        for model in 0..MODELS {
            let register = PartCommand::RegisterPart {
                part: Self::part(model),
                models: std::collections::BTreeMap::from([(self.model(model), 1)]),
                reorder_point: 5,
                at: instant(0, 0),
            };
            self.send(|service, context| service.part(register, context))?;
        }
        for number in 0..self.technicians() {
            let technician = self.technician(number);
            let mut commands = vec![
                TechnicianCommand::Hire {
                    technician,
                    at: instant(0, 0),
                },
                TechnicianCommand::RecordName {
                    technician,
                    name: Self::technician_name(number),
                    at: instant(0, 0),
                },
                TechnicianCommand::CompleteStandardsTraining {
                    technician,
                    at: instant(0, 1),
                },
            ];
            commands.extend((0..MODELS).map(|model| TechnicianCommand::Certify {
                technician,
                model: self.model(model),
                until: date(365 * 30),
                at: instant(0, 2),
            }));
            for command in commands {
                self.send(|service, context| service.technician(command, context))?;
            }
        }
        let levels = RelationshipLevel::ALL;
        let groups = [
            TargetGroup::Household,
            TargetGroup::SmallBusiness,
            TargetGroup::Enterprise,
        ];
        for number in 0..self.customers {
            let level = levels[self.rng.below(5) as usize];
            let owner = (level == RelationshipLevel::Partnership)
                .then(|| AccountOwnerId::from_uuid(self.id(4, 0)));
            let customer = self.customer(number);
            let group = groups[self.rng.below(3) as usize].clone();
            let data = PersonalData {
                name: format!("{} ({number})", person_name(number)),
                contact: format!("customer-{number}@example.invalid"),
            };
            self.send(|service, context| {
                service.register_customer(
                    Registration {
                        account_owner: owner,
                        ..Registration::new(customer, data, instant(0, 3))
                            .target_group(group)
                            .level(level)
                    },
                    context,
                )
            })?;
        }
        Ok(())
    }

    fn product(&mut self, command: ProductCommand) -> Result<(), Halt> {
        self.send(|service, context| service.product(command, context))
    }

    fn contract(&mut self, command: ContractCommand) -> Result<(), Halt> {
        self.send(|service, context| service.contract(command, context))
    }

    fn day(&mut self, day: u64) -> Result<(), Halt> {
        let eur = Currency::new("EUR").expect("valid currency");
        // Stock for the day's calls.
        if day.is_multiple_of(7) {
            for model in 0..MODELS {
                let receive = PartCommand::ReceiveStock {
                    part: Self::part(model),
                    location: Location::CentralWarehouse,
                    quantity: (self.customers / 100).max(5) as u32,
                    at: instant(day, 0),
                };
                self.send(|service, context| service.part(receive, context))?;
            }
        }
        // Deliveries and installations of earlier sales.
        for unit in std::mem::take(&mut self.installing) {
            let product = self.unit(unit);
            self.product(ProductCommand::Install {
                product,
                at: instant(day, 60),
            })?;
            self.in_service.push(unit);
        }
        for unit in std::mem::take(&mut self.delivering) {
            let product = self.unit(unit);
            self.product(ProductCommand::Deliver {
                product,
                at: instant(day, 30),
            })?;
            self.installing.push(unit);
        }
        // Units arrive and are prepared.
        let arrivals = (self.customers / 200).max(1);
        for _ in 0..arrivals {
            let number = self.next_unit;
            self.next_unit += 1;
            let product = self.unit(number);
            self.product(ProductCommand::ReceiveUnit {
                model: self.model(number),
                serial: Self::serial(number),
                at: instant(day, 90),
            })?;
            if self.rng.chance(10) {
                self.product(ProductCommand::RecordTransportDamage {
                    product,
                    description: "scratched panel".into(),
                    severity: DamageSeverity::Cosmetic,
                    at: instant(day, 95),
                })?;
                self.product(ProductCommand::RepairTransportDamage {
                    product,
                    damage: 1,
                    at: instant(day, 120),
                })?;
            }
            self.product(ProductCommand::Commission {
                product,
                at: instant(day, 150),
            })?;
            self.product(ProductCommand::RecordTestRun {
                product,
                passed: true,
                notes: "ok".into(),
                at: instant(day, 180),
            })?;
            self.in_stock.push(number);
        }
        // Sales of ready units.
        let sales = arrivals.min(self.in_stock.len() as u64);
        for _ in 0..sales {
            let index = self.rng.below(self.in_stock.len() as u64) as usize;
            let unit = self.in_stock.swap_remove(index);
            let full = self.rng.chance(50);
            let buyer_number = self.rng.below(self.customers);
            let buyer = self.customer(buyer_number);
            self.product(ProductCommand::Sell {
                product: self.unit(unit),
                customer: buyer,
                price: Money::new(50_000 + (unit % 50) as i64 * 1_000, eur),
                packaging: "original box".into(),
                warranty: WarrantyTerms {
                    months: 12,
                    starts: WarrantyStart::OnSale,
                },
                services: AfterSaleServices {
                    delivery: full.then_some(DeliveryTo::Home),
                    installation: full,
                    training: false,
                },
                at: instant(day, 240),
            })?;
            if full {
                self.delivering.push(unit);
            } else {
                self.in_service.push(unit);
            }
        }
        // Questions.
        for _ in 0..(self.customers / 300).max(1) {
            let number = self.rng.below(self.customers);
            let inquiry = CustomerCommand::LogInquiry {
                customer: self.customer(number),
                topic: "how to descale".into(),
                at: instant(day, 300),
            };
            self.send(|service, context| service.customer(inquiry, context))?;
        }
        // Breakdowns of units in service, on working days.
        if day % 7 < 5 && !self.in_service.is_empty() {
            for _ in 0..(self.customers / 400).max(1) {
                self.breakdown(day, eur)?;
            }
        }
        if day.is_multiple_of(30) {
            let outcome = self.service.run_daily(date(day), 30);
            self.tally(outcome)?;
        }
        Ok(())
    }

    fn breakdown(&mut self, day: u64, eur: Currency) -> Result<(), Halt> {
        let unit = self.in_service[self.rng.below(self.in_service.len() as u64) as usize];
        let product = self.unit(unit);
        let contract = self.service.directory(|directory| {
            directory
                .contracts_by_unit
                .get(&product)
                .and_then(|contracts| contracts.keys().next_back().copied())
        });
        let Some(contract) = contract else {
            return Ok(());
        };
        self.next_call += 1;
        let call = CallId::from_uuid(self.id(5, self.next_call));
        let opened = instant(day, 120 + self.rng.below(300));
        let late = self.rng.chance(20);
        let dispatched = opened + Duration::minutes(if late { 600 } else { 30 });
        let technician_number = self.rng.below(self.technicians());
        let technician = self.technician(technician_number);
        let priority = if self.rng.chance(30) {
            Priority::Critical
        } else {
            Priority::Normal
        };
        self.contract(ContractCommand::OpenCall {
            contract,
            call,
            unit: product,
            priority,
            kind: CallKind::Breakdown,
            at: opened,
        })?;
        self.contract(ContractCommand::Dispatch {
            contract,
            call,
            technician,
            parts: vec![(Self::part(unit), 1)],
            at: dispatched,
        })?;
        self.contract(ContractCommand::Arrive {
            contract,
            call,
            at: dispatched + Duration::minutes(90),
        })?;
        self.contract(ContractCommand::Resolve {
            contract,
            call,
            work: "repaired".into(),
            parts: vec![(Self::part(unit), 1)],
            training_hours: 0,
            cost: Money::new(12_000, eur),
            customer_accepts_charge: true,
            at: dispatched + Duration::minutes(150),
        })
    }
}

/// Runs the simulation through `service` (over an empty store); `progress(day, days)` is called
/// after each simulated day and stops the simulation there by returning `false`.
///
/// A command the rules refuse is counted in the summary and the simulation goes on; a failure to
/// decide or keep a command (the store's, see [`ServiceError::is_rejection`]) ends it with that
/// error. What was written before stays: every append is whole.
///
/// ```
/// use service_lifecycle_cli::simulation::{simulate, SimulationConfig};
/// use service_lifecycle_core::ServiceLifecycle;
/// use service_lifecycle_core::kernel::{EventStore, MemoryStore};
///
/// let store = MemoryStore::new();
/// let config = SimulationConfig { customers: 200, years: 1, seed: 7 };
/// let summary = simulate(ServiceLifecycle::new(store.clone())?, config, |_, _| true)?;
/// assert_eq!(summary.days, 365);
/// assert!(store.head_position()? > 5_000);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn simulate<S: EventStore<ServiceEvent> + CheckpointStore + Clone>(
    service: ServiceLifecycle<S>,
    config: SimulationConfig,
    progress: impl FnMut(u64, u64) -> bool,
) -> Result<SimulationSummary, ServiceError> {
    simulate_until(service, config, progress, || false)
}

/// [`simulate`], also asking `stop` before every command: when it answers `true` the simulation
/// ends there, between two whole commands, within a command's time of the request (Ctrl-C, for
/// the command-line tool). The summary counts the days completed.
pub fn simulate_until<S: EventStore<ServiceEvent> + CheckpointStore + Clone>(
    service: ServiceLifecycle<S>,
    config: SimulationConfig,
    mut progress: impl FnMut(u64, u64) -> bool,
    stop: impl Fn() -> bool + 'static,
) -> Result<SimulationSummary, ServiceError> {
    let mut simulation = Simulation {
        service,
        seed: config.seed,
        rng: Rng(config.seed | 1),
        summary: SimulationSummary::default(),
        customers: config.customers.max(1),
        in_stock: Vec::new(),
        delivering: Vec::new(),
        installing: Vec::new(),
        in_service: Vec::new(),
        next_unit: 0,
        next_call: 0,
        stop: Box::new(stop),
    };
    // Ok(true) when the caller asked to stop.
    let asked = |step: Result<(), Halt>| match step {
        Ok(()) => Ok(false),
        Err(Halt::Asked) => Ok(true),
        Err(Halt::Failed(error)) => Err(error),
    };
    if asked(simulation.open_shop())? {
        return Ok(simulation.summary);
    }
    let days = u64::from(config.years) * 365;
    for day in 0..days {
        if asked(simulation.day(day))? {
            break;
        }
        simulation.summary.days = day + 1;
        if !progress(day + 1, days) {
            break;
        }
    }
    // The directory is saved with the policies' checkpoint, so the next opening folds nothing.
    simulation.service.save_checkpoint()?;
    Ok(simulation.summary)
}
