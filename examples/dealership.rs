//! A dealer's life, season by season, on the durable sled store: units received and prepared
//! (transport damage repaired, commissioned, test-run), sales with substitutes and related offers,
//! deliveries, installations and training, service calls (some answered late: SLA breaches),
//! post-warranty contracts with preventive visits (some missed), a model discontinued and its
//! parts still supplied, customers at every relationship level with follow-ups done and missed,
//! and a customer's data erased. At the end it prints the seven morning reports.
//!
//! Run: `cargo run --example dealership` (the store lives in `target/dealership-store`, or in
//! the directory given as the first argument; with `SERVICE_LIFECYCLE_STORE` set to a
//! PostgreSQL URL, in that database, where the CLI can report on it while it runs). Each run simulates a quarter (13 weeks): run it
//! again and the dealer's life goes on with the next one. Every command carries an id derived
//! from the day and the deed, so a run interrupted half-way (Ctrl-C, a crash, kill -9) and
//! started again finishes that quarter doing each deed once: the store then holds the same
//! events as after a run never stopped (`.ci/kill-example` checks it).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use service_lifecycle::kernel::Vault;
use service_lifecycle::kernel::{
    CheckpointStore, CommandContext, CommandId, Decider, EventStore, Projector, Repository,
    StreamId,
};
use service_lifecycle::postgres::{PostgresOptions, PostgresStore};
use service_lifecycle::reports::Reports;
use service_lifecycle::sled::{Durability, SledOptions, SledStore};
use service_lifecycle::*;
use service_lifecycle_cli::location::{StoreLocation, STORE_VARIABLE};
use service_lifecycle_cli::tables::{write_report, Format, ReportName, ReportOptions};
use service_lifecycle_cli::{interrupt, is_broken_pipe};

/// What the dealership needs of a store: events, checkpoints and personal data, and a way to
/// make the work durable and to check it at the end.
trait DealerStore:
    EventStore<ServiceEvent> + CheckpointStore + Vault + Clone + Send + Sync + 'static
{
    /// Makes what was written durable (sled's buffered writes; PostgreSQL commits each append).
    fn settle(&self) -> Result<(), Box<dyn std::error::Error>>;
    /// A one-line check of the whole store.
    fn check(&self) -> Result<String, Box<dyn std::error::Error>>;
}

impl DealerStore for SledStore<ServiceEvent> {
    fn settle(&self) -> Result<(), Box<dyn std::error::Error>> {
        Ok(self.flush()?)
    }

    fn check(&self) -> Result<String, Box<dyn std::error::Error>> {
        Ok(self.verify()?.to_string())
    }
}

impl DealerStore for PostgresStore<ServiceEvent> {
    fn settle(&self) -> Result<(), Box<dyn std::error::Error>> {
        Ok(())
    }

    fn check(&self) -> Result<String, Box<dyn std::error::Error>> {
        // Reading the log whole checks it: a gap or a misplaced event is an error of the read.
        let mut events = 0u64;
        for envelope in self.read_all(1)? {
            envelope?;
            events += 1;
        }
        Ok(format!(
            "{events} events, positions 1 to {events} without a gap"
        ))
    }
}

/// How many days a quarter has: a run simulates to the end of the quarter it starts in.
const SEASON_DAYS: u64 = 91;
/// The checkpoint holding how many days have been simulated.
const DAYS_DONE: &str = "dealership.days_simulated";

/// A run stopped by Ctrl-C (after finishing its day).
#[derive(Debug)]
struct Interrupted;

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("interrupted")
    }
}

impl std::error::Error for Interrupted {}

fn main() -> ExitCode {
    let location = std::env::var(STORE_VARIABLE)
        .ok()
        .filter(|location| !location.is_empty())
        .or_else(|| std::env::args().nth(1))
        .map_or_else(
            || {
                Ok(StoreLocation::Sled(PathBuf::from(
                    "target/dealership-store",
                )))
            },
            |location| location.parse::<StoreLocation>(),
        );
    let outcome = match location {
        Err(problem) => Err(problem.into()),
        Ok(location @ (StoreLocation::Sled(_) | StoreLocation::Redb(_))) => {
            let Some((path, engine)) = location.embedded() else {
                unreachable!("an embedded store's location names its directory");
            };
            let path = path.to_path_buf();
            let mut options = SledOptions::new().durability(Durability::Buffered);
            if let Some(engine) = engine {
                options = options.engine(engine);
            }
            SledStore::<ServiceEvent>::open_with(&path, options)
                .map_err(|error| {
                    format!("cannot open the store in {}: {error}", path.display()).into()
                })
                .and_then(|store| run(store, &path.display().to_string()))
        }
        Ok(StoreLocation::Postgres { url, schema }) => {
            let shown = StoreLocation::Postgres {
                url: url.clone(),
                schema: schema.clone(),
            }
            .to_string();
            PostgresStore::<ServiceEvent>::open_with(&url, PostgresOptions::new().schema(schema))
                .map_err(|error| format!("cannot open the store at {shown}: {error}").into())
                .and_then(|store| run(store, &shown))
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if error.is::<Interrupted>() => ExitCode::from(interrupt::EXIT_CODE),
        // The reader of the tables went away (`| head`): nothing went wrong here.
        Err(error) if is_broken_pipe(error.as_ref()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("dealership: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run<S: DealerStore>(store: S, place: &str) -> Result<(), Box<dyn std::error::Error>> {
    let first_day = store.load_checkpoint(DAYS_DONE)?;
    let head = store.head_position()?;
    // Opening the application completes whatever its policies had left undone when the last
    // run stopped (they follow the store from a checkpoint of their own).
    let service = ServiceLifecycle::builder(store.clone())
        .personal_data(store.clone())
        .open()?;
    let completed = store.head_position()? - head;
    let dealer = Dealer {
        service,
        store: store.clone(),
        refused: std::cell::Cell::new(0),
        failure: std::cell::RefCell::new(None),
    };
    if first_day == 0 {
        println!("A new dealership in {place}.");
        dealer.open_shop();
        dealer.stop_on_failure()?;
    } else {
        println!(
            "Continuing the dealership in {place} from day {first_day} ({} events so far).",
            store.head_position()?
        );
        if completed > 0 {
            println!("Completed what the policies had left undone when the last run stopped: {completed} events.");
        }
    }
    interrupt::install(None);
    let season_end = (first_day / SEASON_DAYS + 1) * SEASON_DAYS;
    for day in first_day..season_end {
        dealer.live(day);
        dealer.stop_on_failure()?;
        // The day is done: an interrupted run starts again from the next one.
        store.save_checkpoint(DAYS_DONE, day + 1)?;
        if interrupt::requested() {
            store.settle()?;
            println!(
                "Interrupted after day {day}: the store holds every day done and verifies ({}); run again to continue from day {}.",
                store.check()?,
                day + 1
            );
            return Err(Interrupted.into());
        }
    }
    dealer.service.save_checkpoint()?;
    store.settle()?;
    for failure in dealer.service.policy_failures()? {
        println!(
            "  a policy could not act ({}): {}",
            failure.policy, failure.error
        );
    }
    let last_day = season_end - 1;
    println!(
        "Simulated days {first_day} to {last_day} ({} to {}): {} events in the store, {} commands refused by the rules.\n",
        date(first_day),
        date(last_day),
        store.head_position()?,
        dealer.refused.get()
    );
    print_reports(&store, last_day)?;
    let report = store.check()?;
    println!("\nThe store verifies: {report}");
    Ok(())
}

/// Day `n` of the dealership, at `hour`:00 UTC (day 0 is Monday 5 January 2026).
fn at(n: u64, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, hour, 0, 0)
        .single()
        .unwrap_or_default()
        + Duration::days(n as i64)
}

fn date(n: u64) -> NaiveDate {
    at(n, 12).date_naive()
}

/// A stable id from a text: FNV-1a, spread over 128 bits.
fn id_of(text: &str) -> uuid::Uuid {
    let mut high: u64 = 0xcbf2_9ce4_8422_2325;
    let mut low: u64 = 0x8422_2325_cbf2_9ce4;
    for byte in text.bytes() {
        high = (high ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        low = (low ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3 + 2);
    }
    uuid::Uuid::from_u64_pair(high, low)
}

const MODELS: [(&str, u128); 3] = [("WM-7", 1), ("RF-3", 2), ("DW-5", 3)];
/// The catalogue's name, manufacturer and category of each of [`MODELS`].
const CATALOGUE: [(&str, &str, &str); 3] = [
    (
        "WM-7 washing machine",
        "Volga Appliances",
        "washing machines",
    ),
    ("RF-3 refrigerator", "Ural Cold", "refrigerators"),
    ("DW-5 dishwasher", "Neva Home", "dishwashers"),
];
/// The technicians' names, by number (1 and 2 work here).
const TECHNICIANS: [&str; 3] = ["", "Ivan Sidorov", "Olga Kuznetsova"];
const PARTS: [(&str, &[usize]); 3] = [
    ("PUMP-220", &[0, 2]),
    ("COMPRESSOR-9", &[1]),
    ("BOARD-5", &[2]),
];
const CUSTOMERS: u64 = 10;

fn model(index: usize) -> ModelId {
    ModelId::from_uuid(uuid::Uuid::from_u128(MODELS[index].1))
}

fn part(index: usize) -> PartNumber {
    PartNumber::new(PARTS[index].0).expect("valid part number")
}

fn customer(n: u64) -> CustomerId {
    CustomerId::from_uuid(id_of(&format!("customer-{}", n % CUSTOMERS)))
}

fn technician(n: u32) -> TechnicianId {
    TechnicianId::from_uuid(id_of(&format!("technician-{n}")))
}

fn serial(week: u64, model_index: usize) -> SerialNumber {
    SerialNumber::new(format!("{}-{week:03}", MODELS[model_index].0)).expect("valid serial")
}

fn unit(week: u64, model_index: usize) -> ProductId {
    ProductId::of(model(model_index), &serial(week, model_index))
}

fn post_warranty_contract(week: u64) -> ContractId {
    ContractId::from_uuid(id_of(&format!("post-warranty-{week}")))
}

fn eur() -> Currency {
    Currency::new("EUR").expect("valid currency")
}

struct Dealer<S: DealerStore> {
    service: ServiceLifecycle<S>,
    store: S,
    refused: std::cell::Cell<u64>,
    /// The first failure of the store (a command it could not decide or keep, a state it could
    /// not read), which ends the run.
    failure: std::cell::RefCell<Option<Box<dyn std::error::Error>>>,
}

impl<S: DealerStore> Dealer<S> {
    /// The context of a deed: its id derived from the deed, so doing it again writes nothing.
    fn deed(label: &str) -> CommandContext {
        CommandContext::with_command_id(CommandId::from_uuid(id_of(label)))
    }

    /// Counts and shows a command the rules refused: part of a dealer's life. Any other failure
    /// (the store's) is kept, and ends the run at the end of the day ([`Dealer::stop_on_failure`]).
    fn note<T>(&self, label: &str, outcome: Result<T, ServiceError>) -> Option<T> {
        match outcome {
            Ok(done) => Some(done),
            Err(error) if error.is_rejection() => {
                self.refused.set(self.refused.get() + 1);
                println!("  refused ({label}): {error}");
                None
            }
            Err(error) => {
                self.fail(error.into());
                None
            }
        }
    }

    /// Keeps the first failure of the store, for [`Dealer::stop_on_failure`].
    fn fail(&self, error: Box<dyn std::error::Error>) {
        self.failure.borrow_mut().get_or_insert(error);
    }

    /// The first failure of the store since the run began, as the run's error.
    fn stop_on_failure(&self) -> Result<(), Box<dyn std::error::Error>> {
        self.failure.borrow_mut().take().map_or(Ok(()), Err)
    }

    fn product(&self, label: &str, command: ProductCommand) {
        let outcome = self.service.product(command, &Self::deed(label));
        self.note(label, outcome);
    }

    fn customer(&self, label: &str, command: CustomerCommand) {
        let outcome = self.service.customer(command, &Self::deed(label));
        self.note(label, outcome);
    }

    fn contract(&self, label: &str, command: ContractCommand) {
        let outcome = self.service.contract(command, &Self::deed(label));
        self.note(label, outcome);
    }

    fn part_command(&self, label: &str, command: PartCommand) {
        let outcome = self.service.part(command, &Self::deed(label));
        self.note(label, outcome);
    }

    fn state<D: Decider>(&self, stream: StreamId) -> D::State
    where
        ServiceEvent: service_lifecycle::kernel::Contains<D::Event>,
    {
        let repository = Repository::<D, ServiceEvent, _>::new(self.store.clone());
        match repository.load(&stream) {
            Ok(loaded) => (*loaded.state).clone(),
            Err(error) => {
                self.fail(error.into());
                D::State::default()
            }
        }
    }

    /// Day 0: the catalogue, the parts, the technicians, the customers.
    fn open_shop(&self) {
        for (index, (name, manufacturer, category)) in CATALOGUE.iter().enumerate() {
            let introduce = ModelCommand::Introduce {
                model: model(index),
                details: ModelDetails {
                    name: (*name).to_owned(),
                    manufacturer: (*manufacturer).to_owned(),
                    category: (*category).to_owned(),
                    warranty: WarrantyTerms {
                        months: 12,
                        starts: WarrantyStart::OnSale,
                    },
                },
                at: at(0, 7),
            };
            let label = format!("catalogue-{}", MODELS[index].0);
            let outcome = self.service.model(introduce, &Self::deed(&label));
            self.note(&label, outcome);
        }
        for (index, (_, models)) in PARTS.iter().enumerate() {
            self.part_command(
                &format!("register-{}", PARTS[index].0),
                PartCommand::RegisterPart {
                    part: part(index),
                    models: models.iter().map(|&m| (model(m), 1)).collect(),
                    reorder_point: 2,
                    at: at(0, 8),
                },
            );
            self.part_command(
                &format!("stock-0-{}", PARTS[index].0),
                PartCommand::ReceiveStock {
                    part: part(index),
                    location: Location::CentralWarehouse,
                    quantity: 6,
                    at: at(0, 8),
                },
            );
        }
        for (n, models) in [(1, vec![0, 1, 2]), (2, vec![0])] {
            let label = |what: &str| format!("technician-{n}-{what}");
            let hire = TechnicianCommand::Hire {
                technician: technician(n),
                at: at(0, 8),
            };
            let named = TechnicianCommand::RecordName {
                technician: technician(n),
                name: TECHNICIANS[n as usize].to_owned(),
                at: at(0, 8),
            };
            let trained = TechnicianCommand::CompleteStandardsTraining {
                technician: technician(n),
                at: at(0, 9),
            };
            for (what, command) in [("hire", hire), ("name", named), ("training", trained)] {
                let outcome = self.service.technician(command, &Self::deed(&label(what)));
                self.note(&label(what), outcome);
            }
            for m in models {
                let certify = TechnicianCommand::Certify {
                    technician: technician(n),
                    model: model(m),
                    until: date(3 * 365),
                    at: at(0, 10),
                };
                let what = format!("certify-{m}");
                let outcome = self.service.technician(certify, &Self::deed(&label(&what)));
                self.note(&label(&what), outcome);
            }
        }
        let levels = RelationshipLevel::ALL;
        let groups = [
            TargetGroup::Household,
            TargetGroup::SmallBusiness,
            TargetGroup::Enterprise,
        ];
        for n in 0..CUSTOMERS {
            let level = levels[(n % 5) as usize];
            let owner = (level == RelationshipLevel::Partnership)
                .then(|| AccountOwnerId::from_uuid(id_of("account-owner-1")));
            let outcome = self.service.register_customer(
                Registration {
                    account_owner: owner,
                    ..Registration::new(
                        customer(n),
                        PersonalData {
                            name: format!("Customer {n}"),
                            contact: format!("+7 900 000 00 {n:02}"),
                        },
                        at(0, 11),
                    )
                    .target_group(groups[(n % 3) as usize].clone())
                    .level(level)
                },
                &Self::deed(&format!("register-customer-{n}")),
            );
            self.note("register a customer", outcome);
        }
    }

    /// One day of the dealership.
    fn live(&self, day: u64) {
        let week = day / 7;
        match day % 7 {
            0 => self.monday(day, week),
            1 => self.tuesday(day, week),
            2 => self.wednesday(day, week),
            3 => self.thursday(day, week),
            4 => self.friday(day, week),
            _ => {}
        }
        if day == 60 {
            self.discontinue_the_fridge(day);
        }
        if day == 45 {
            let outcome = self.service.erase_customer(
                customer(9),
                at(day, 12),
                &Self::deed("erase-customer-9"),
            );
            if self.note("erase a customer's data", outcome).is_some() {
                println!(
                    "  day {day}: customer 9 asked to be forgotten; their personal data is erased"
                );
            }
        }
    }

    /// Units arrive (one with transport damage); a customer asks for a model with none ready and
    /// is offered a substitute and a related product; the daily policy reminds proactive owners of warranties ending.
    fn monday(&self, day: u64, week: u64) {
        for m in 0..MODELS.len() {
            self.product(
                &format!("w{week}-receive-{m}"),
                ProductCommand::ReceiveUnit {
                    model: model(m),
                    serial: serial(week, m),
                    at: at(day, 9),
                },
            );
        }
        self.product(
            &format!("w{week}-damage"),
            ProductCommand::RecordTransportDamage {
                product: unit(week, 0),
                description: "dented side panel".into(),
                severity: DamageSeverity::Cosmetic,
                at: at(day, 9),
            },
        );
        // Every fridge is sold by Wednesday and this week's is not prepared yet: a customer who
        // wants one is offered the dishwasher line instead.
        let asking = customer(week + 5);
        self.customer(
            &format!("w{week}-substitute"),
            CustomerCommand::OfferSubstitute {
                customer: asking,
                requested: model(1),
                offered: Substitute::Model(model(2)),
                accepted: week.is_multiple_of(2),
                at: at(day, 11),
            },
        );
        self.customer(
            &format!("w{week}-related"),
            CustomerCommand::OfferRelatedProduct {
                customer: asking,
                model: model(0),
                accepted: week.is_multiple_of(3),
                at: at(day, 11),
            },
        );
        let outcome = self.service.run_daily(date(day), 30);
        self.note("the daily policy", outcome);
    }

    /// Preparation: repair, commission, test-run (the fridge fails its first run).
    fn tuesday(&self, day: u64, week: u64) {
        self.product(
            &format!("w{week}-repair"),
            ProductCommand::RepairTransportDamage {
                product: unit(week, 0),
                damage: 1,
                at: at(day, 9),
            },
        );
        for m in 0..MODELS.len() {
            self.product(
                &format!("w{week}-commission-{m}"),
                ProductCommand::Commission {
                    product: unit(week, m),
                    at: at(day, 10),
                },
            );
            self.product(
                &format!("w{week}-test-{m}"),
                ProductCommand::RecordTestRun {
                    product: unit(week, m),
                    passed: m != 1,
                    notes: if m == 1 {
                        "does not cool".into()
                    } else {
                        "ok".into()
                    },
                    at: at(day, 11),
                },
            );
        }
        self.product(
            &format!("w{week}-retest"),
            ProductCommand::RecordTestRun {
                product: unit(week, 1),
                passed: true,
                notes: "ok after a new thermostat".into(),
                at: at(day, 15),
            },
        );
    }

    /// Sales: a washer with delivery, installation and training; a fridge with delivery and a
    /// one-month warranty (a floor model), which makes it a post-warranty customer soon.
    fn wednesday(&self, day: u64, week: u64) {
        let sell = |m: usize, buyer: CustomerId, months: u32, services: AfterSaleServices| {
            self.product(
                &format!("w{week}-sell-{m}"),
                ProductCommand::Sell {
                    product: unit(week, m),
                    customer: buyer,
                    price: Money::new([64_900, 89_900, 54_900][m], eur()),
                    packaging: "original box".into(),
                    warranty: WarrantyTerms {
                        months,
                        starts: if m == 0 {
                            WarrantyStart::OnInstallation
                        } else {
                            WarrantyStart::OnSale
                        },
                    },
                    services,
                    at: at(day, 12),
                },
            );
        };
        let full = AfterSaleServices {
            delivery: Some(DeliveryTo::Home),
            installation: true,
            training: true,
        };
        let delivery = AfterSaleServices {
            delivery: Some(DeliveryTo::Home),
            ..AfterSaleServices::default()
        };
        sell(0, customer(week), 12, full);
        sell(1, customer(week + 3), 1, delivery);
        if week % 2 == 1 {
            sell(2, customer(week + 7), 12, AfterSaleServices::default());
        }
    }

    /// Deliveries.
    fn thursday(&self, day: u64, week: u64) {
        for m in 0..2 {
            self.product(
                &format!("w{week}-deliver-{m}"),
                ProductCommand::Deliver {
                    product: unit(week, m),
                    at: at(day, 10),
                },
            );
        }
    }

    /// Installation and training; a service call; follow-ups; post-warranty contracts and their
    /// visits.
    fn friday(&self, day: u64, week: u64) {
        self.product(
            &format!("w{week}-install"),
            ProductCommand::Install {
                product: unit(week, 0),
                at: at(day, 9),
            },
        );
        self.product(
            &format!("w{week}-train"),
            ProductCommand::TrainUsers {
                product: unit(week, 0),
                at: at(day, 11),
            },
        );
        if week >= 2 {
            self.service_call(day, week);
        }
        self.follow_ups(day, week);
        if week >= 6 {
            self.post_warranty(day, week - 6);
        }
        if week >= 10 {
            self.fridge_breakdown(day, week);
        }
        self.visits(day, week);
    }

    /// A fridge under a post-warranty contract breaks down after its model left production:
    /// its compressor is still supplied (reserved, or backordered when none is left and filled
    /// when stock comes in), and last week's fridge is repaired, the customer paying the work.
    fn fridge_breakdown(&self, day: u64, week: u64) {
        if week.is_multiple_of(2) {
            self.part_command(
                &format!("w{week}-compressors"),
                PartCommand::ReceiveStock {
                    part: part(1),
                    location: Location::CentralWarehouse,
                    quantity: 2,
                    at: at(day, 8),
                },
            );
        }
        if week >= 11 {
            let last = week - 1;
            let contract = post_warranty_contract(last - 10);
            self.contract(
                &format!("w{last}-fridge-call-resolve"),
                ContractCommand::Resolve {
                    contract,
                    call: CallId::from_uuid(id_of(&format!("fridge-call-{last}"))),
                    work: "replaced the compressor".into(),
                    parts: vec![(part(1), 1)],
                    training_hours: 0,
                    cost: Money::new(24_000, eur()),
                    customer_accepts_charge: true,
                    at: at(day, 8),
                },
            );
        }
        let sold_week = week - 10;
        let contract = post_warranty_contract(sold_week);
        let fridge = unit(sold_week, 1);
        let call = CallId::from_uuid(id_of(&format!("fridge-call-{week}")));
        let label = |what: &str| format!("w{week}-fridge-call-{what}");
        self.contract(
            &label("open"),
            ContractCommand::OpenCall {
                contract,
                call,
                unit: fridge,
                priority: Priority::High,
                kind: CallKind::Breakdown,
                at: at(day, 9),
            },
        );
        self.contract(
            &label("dispatch"),
            ContractCommand::Dispatch {
                contract,
                call,
                technician: technician(1),
                parts: vec![(part(1), 1)],
                at: at(day, 10),
            },
        );
        self.contract(
            &label("arrive"),
            ContractCommand::Arrive {
                contract,
                call,
                at: at(day, 13),
            },
        );
    }

    /// A breakdown of the washer sold two weeks ago, under its warranty contract: answered in
    /// half an hour in even weeks, the next morning in odd weeks (an SLA breach).
    fn service_call(&self, day: u64, week: u64) {
        let washer = unit(week - 2, 0);
        let contract = self.service.directory(|directory| {
            directory
                .contracts_by_unit
                .get(&washer)
                .and_then(|contracts| contracts.keys().next().copied())
        });
        let Some(contract) = contract else { return };
        let call = CallId::from_uuid(id_of(&format!("call-{week}")));
        let opened = at(day, 13);
        let dispatched = if week.is_multiple_of(2) {
            opened + Duration::minutes(30)
        } else {
            at(day + 3, 10)
        };
        let technician_for = technician(if week.is_multiple_of(5) { 2 } else { 1 });
        let label = |what: &str| format!("w{week}-call-{what}");
        self.contract(
            &label("open"),
            ContractCommand::OpenCall {
                contract,
                call,
                unit: washer,
                priority: if week.is_multiple_of(2) {
                    Priority::Critical
                } else {
                    Priority::Normal
                },
                kind: CallKind::Breakdown,
                at: opened,
            },
        );
        self.contract(
            &label("dispatch"),
            ContractCommand::Dispatch {
                contract,
                call,
                technician: technician_for,
                parts: vec![(part(0), 1)],
                at: dispatched,
            },
        );
        self.contract(
            &label("arrive"),
            ContractCommand::Arrive {
                contract,
                call,
                at: dispatched + Duration::hours(2),
            },
        );
        self.contract(
            &label("resolve"),
            ContractCommand::Resolve {
                contract,
                call,
                work: "replaced the drain pump".into(),
                parts: vec![(part(0), 1)],
                training_hours: 0,
                cost: Money::new(15_000, eur()),
                customer_accepts_charge: false,
                at: dispatched + Duration::hours(3),
            },
        );
        if week.is_multiple_of(4) {
            self.part_command(
                &format!("w{week}-restock"),
                PartCommand::ReceiveStock {
                    part: part(0),
                    location: Location::CentralWarehouse,
                    quantity: 4,
                    at: at(day, 16),
                },
            );
        }
    }

    /// Follow-ups after purchases: done for most customers, missed for a third of them.
    fn follow_ups(&self, day: u64, week: u64) {
        for n in 0..CUSTOMERS {
            if (n + week).is_multiple_of(3) {
                continue;
            }
            let Ok(stream) = Customer::stream_id(customer(n)) else {
                continue;
            };
            let state = self.state::<Customer>(stream);
            for (&number, obligation) in &state.obligations {
                let is_follow_up =
                    matches!(obligation.kind, ObligationKind::PurchaseFollowUp { .. });
                if is_follow_up && obligation.status(date(day)) == ObligationStatus::Open {
                    self.customer(
                        &format!("w{week}-follow-up-{n}-{number}"),
                        CustomerCommand::CompleteFollowUp {
                            customer: customer(n),
                            obligation: number,
                            impressions: "happy with the machine".into(),
                            complaints: String::new(),
                            suggestions: "a quieter spin".into(),
                            at: at(day, 15),
                        },
                    );
                }
            }
        }
    }

    /// The fridge sold `sold_week` (one-month warranty) gets a post-warranty contract with
    /// monthly preventive visits and parts supply.
    fn post_warranty(&self, day: u64, sold_week: u64) {
        let fridge = unit(sold_week, 1);
        let sold_on = date(sold_week * 7 + 2);
        let start = sold_on + Duration::days(40);
        let contract = post_warranty_contract(sold_week);
        let terms = service_lifecycle::Terms {
            contract,
            kind: ContractKind::PostWarranty,
            customer: customer(sold_week + 3),
            units: BTreeSet::from([fridge]),
            start,
            end: start + Duration::days(364),
            plan: self.service.plan_for(customer(sold_week + 3)),
            entitlements: Entitlements {
                preventive_every_months: Some(1),
                preventive_window_days: 3,
                parts_supply: true,
                ..Entitlements::default()
            },
            currency: eur(),
        };
        self.contract(
            &format!("post-warranty-{sold_week}-propose"),
            ContractCommand::Propose {
                terms,
                warranty_ends: BTreeMap::new(),
                at: at(day, 10),
            },
        );
        self.contract(
            &format!("post-warranty-{sold_week}-activate"),
            ContractCommand::Activate {
                contract,
                at: at(day, 11),
            },
        );
    }

    /// Preventive visits due this week: performed for two contracts in three.
    fn visits(&self, day: u64, week: u64) {
        for sold_week in 0..week.saturating_sub(5) {
            if sold_week % 3 == 2 {
                continue;
            }
            let contract = post_warranty_contract(sold_week);
            let Ok(stream) = ServiceContract::stream_id(contract) else {
                continue;
            };
            let state = self.state::<ServiceContract>(stream);
            for (&number, visit) in &state.visits {
                let in_window =
                    visit.window_start() <= date(day) && date(day) <= visit.window_end();
                if in_window && visit.performed_on.is_none() {
                    self.contract(
                        &format!("visit-{sold_week}-{number}"),
                        ContractCommand::PerformVisit {
                            contract,
                            visit: number,
                            at: at(day, 14),
                        },
                    );
                }
            }
        }
    }

    /// The fridge model leaves production: its compressor stays guaranteed for ten years.
    fn discontinue_the_fridge(&self, day: u64) {
        println!(
            "  day {day}: the {} leaves production; its compressor stays guaranteed for ten years",
            MODELS[1].0
        );
        // In the catalogue: every part the fridge uses gets the discontinuation (§7).
        let discontinue = ModelCommand::Discontinue {
            model: model(1),
            guarantee_years: 10,
            last_order_date: date(day + 30),
            at: at(day, 9),
        };
        let outcome = self
            .service
            .model(discontinue, &Self::deed("discontinue-fridge"));
        self.note("discontinue-fridge", outcome);
    }
}

/// The seven reports, rebuilt from the store, as tables.
fn print_reports<S: DealerStore>(
    store: &S,
    last_day: u64,
) -> Result<(), Box<dyn std::error::Error>> {
    // The reports' state is kept in the store with its position, so a run folds only the
    // days it added.
    let mut projector = Projector::<Reports>::load_saved("dealership.reports", store)?;
    projector.catch_up(store, store)?;
    projector.save(store)?;
    let reports = projector.projection();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for name in ReportName::ALL {
        let options = ReportOptions::new(date(last_day));
        write_report(&mut out, reports, Some(store), name, Format::Table, options)?;
        writeln!(out)?;
    }
    println!(
        "Ready stand-ins for a {} (any {}): {}",
        MODELS[1].0,
        MODELS[2].0,
        reports.substitutes(&[model(2)]).len()
    );
    Ok(())
}
