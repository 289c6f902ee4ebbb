//! `service-lifecycle`: the command-line tool over a store (a sled directory or a PostgreSQL
//! database).
//!
//! ```text
//! service-lifecycle simulate --store STORE [--customers N] [--years Y] [--seed S]
//! service-lifecycle report <NAME> --store STORE [--as-of YYYY-MM-DD] [--format table|json|csv]
//! service-lifecycle export --store STORE [--output FILE] [--after POSITION | --stream ID] [--personal-data FILE | --without-personal-data]
//! service-lifecycle import --store STORE --input FILE [--personal-data FILE]
//! service-lifecycle load   --store STORE [--from DIR] [--models F] [--parts F] [--technicians F] [--customers F] [--units F]
//! service-lifecycle exec   --store STORE [--input FILE]
//! service-lifecycle customer-export ID --store STORE [--output FILE]
//! service-lifecycle customer-erase  ID --store STORE
//! service-lifecycle verify --store STORE
//! service-lifecycle stats  --store STORE
//! service-lifecycle postgres-server
//! ```
//!
//! STORE is a directory (`sled:DIR`, or just `DIR`) or a PostgreSQL URL (`postgres://...`,
//! `?schema=NAME` for another schema than `service_lifecycle`); without `--store`, the variable
//! `SERVICE_LIFECYCLE_STORE` names it.
//!
//! Exit codes: 0 done; 1 the command failed (the message says why and what to do); 2 the command
//! line is wrong (clap's usage message); 3 `verify` found problems. `exec` ends with 1 when a
//! command was refused or a line is not a command (every line still ran). An interrupted command (Ctrl-C)
//! leaves a store that opens and verifies: every append is atomic and the store is crash-safe.

use std::collections::BTreeMap;
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, Utc};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use service_lifecycle_cli::location::StoreLocation;
use service_lifecycle_cli::simulation::{simulate_until, SimulationConfig, SimulationSummary};
use service_lifecycle_cli::tables::{write_report, Format, ReportName, ReportOptions};
use service_lifecycle_cli::{interrupt, is_broken_pipe, is_disk_full};
use service_lifecycle_core::kernel::AtomicImport;
use service_lifecycle_core::kernel::{CheckpointStore, EventStore, StreamId};
use service_lifecycle_core::reports::Reports;
use service_lifecycle_core::{ServiceEvent, ServiceLifecycle};
use service_lifecycle_json::{
    export_after, export_all, export_stream, import, ImportOptions, ImportProblem,
};
use service_lifecycle_postgres::{PostgresOptions, PostgresStore, ThrowawayServer};
use service_lifecycle_sled::{Durability, Engine, SledOptions, SledStore, StorageError};

type Store = SledStore<ServiceEvent>;
type Postgres = PostgresStore<ServiceEvent>;

/// The most customers a simulation takes: it keeps every one in memory.
const MAX_CUSTOMERS: u64 = 1_000_000;

#[derive(Parser)]
#[command(
    name = "service-lifecycle",
    version,
    about = "Simulate, report, export, import and verify service-lifecycle stores"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Simulate customers of a dealership over years into a new store.
    Simulate {
        /// The store: a directory or a PostgreSQL URL (created; must not hold events yet).
        #[arg(
            long,
            env = "SERVICE_LIFECYCLE_STORE",
            required_unless_present = "memory"
        )]
        store: Option<StoreLocation>,
        /// Simulate into the memory store instead (a load test: nothing is kept).
        #[arg(long, conflicts_with = "store")]
        memory: bool,
        /// How many customers (1 to 1,000,000: the simulation keeps every customer in memory).
        #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(1..=MAX_CUSTOMERS))]
        customers: u64,
        /// How many years (1 to 100).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
        years: u32,
        /// The seed: the same seed gives the same history.
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Print one of the seven reports.
    Report {
        /// Which report.
        name: ReportName,
        /// The store: a directory (sled:DIR or DIR) or a PostgreSQL URL (postgres://...).
        #[arg(long, env = "SERVICE_LIFECYCLE_STORE")]
        store: StoreLocation,
        /// The day the report answers for (YYYY-MM-DD); today by default.
        #[arg(long)]
        as_of: Option<NaiveDate>,
        /// For the warranty report: how many days ahead counts as expiring.
        #[arg(long, default_value_t = 60)]
        within_days: u32,
        /// How to print it: aligned text tables (long ones show their first 25 rows), one JSON
        /// document, or CSV with every row.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// The same as --format json.
        #[arg(long, conflicts_with = "format", hide = true)]
        json: bool,
    },
    /// Export the store (or a part of it) as JSON Lines.
    Export {
        /// The store: a directory (sled:DIR or DIR) or a PostgreSQL URL (postgres://...).
        #[arg(long, env = "SERVICE_LIFECYCLE_STORE")]
        store: StoreLocation,
        /// The file to write; standard output by default.
        #[arg(long)]
        output: Option<PathBuf>,
        /// Only the events after this position (an incremental export).
        #[arg(long, conflicts_with = "stream")]
        after: Option<u64>,
        /// Only this stream's events.
        #[arg(long)]
        stream: Option<String>,
        /// Where the personal data (customers' names and contacts, kept out of events) goes;
        /// by default beside --output, as NAME.personal-data.jsonl.
        #[arg(long, conflicts_with = "without_personal_data")]
        personal_data: Option<PathBuf>,
        /// Leave the personal data out (to share a store); a backup restored from it has no
        /// names or contacts.
        #[arg(long)]
        without_personal_data: bool,
    },
    /// Import a JSON Lines export into an empty store (or the incremental file that continues it).
    Import {
        /// The store: a directory or a PostgreSQL URL (created if it does not exist).
        #[arg(long, env = "SERVICE_LIFECYCLE_STORE")]
        store: StoreLocation,
        /// The export file.
        #[arg(long)]
        input: PathBuf,
        /// The personal-data file of the export; by default NAME.personal-data.jsonl beside
        /// --input, when there is one.
        #[arg(long, conflicts_with = "without_personal_data")]
        personal_data: Option<PathBuf>,
        /// Import the events only, even when a personal-data file lies beside them.
        #[arg(long)]
        without_personal_data: bool,
    },
    /// Write everything stored about one customer as one JSON document (a data-subject
    /// request): their personal data, their own, their units' and their contracts' events.
    CustomerExport {
        /// The customer's id.
        customer: uuid::Uuid,
        /// The store: a directory (sled:DIR or DIR) or a PostgreSQL URL (postgres://...).
        #[arg(long, env = "SERVICE_LIFECYCLE_STORE")]
        store: StoreLocation,
        /// The file to write; standard output by default.
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Erase one customer's personal data (C7): recorded as an event, removed from the vault
    /// and every read path; the rest of the history stays and replays.
    CustomerErase {
        /// The customer's id.
        customer: uuid::Uuid,
        /// The store: a directory (sled:DIR or DIR) or a PostgreSQL URL (postgres://...).
        #[arg(long, env = "SERVICE_LIFECYCLE_STORE")]
        store: StoreLocation,
    },
    /// Load master data from CSV files (models, parts, technicians, customers, units in
    /// stock; the columns are in docs/csv-load.md): everything is checked first, then written
    /// all or nothing. Loading the same files again changes nothing.
    Load {
        /// The store: a directory or a PostgreSQL URL (created if it does not exist).
        #[arg(long, env = "SERVICE_LIFECYCLE_STORE")]
        store: StoreLocation,
        /// A directory holding any of models.csv, parts.csv, technicians.csv, customers.csv
        /// and units.csv.
        #[arg(long)]
        from: Option<PathBuf>,
        /// The models file (the catalogue).
        #[arg(long)]
        models: Option<PathBuf>,
        /// The parts file.
        #[arg(long)]
        parts: Option<PathBuf>,
        /// The technicians file.
        #[arg(long)]
        technicians: Option<PathBuf>,
        /// The customers file (with their personal data).
        #[arg(long)]
        customers: Option<PathBuf>,
        /// The units file (units in stock).
        #[arg(long)]
        units: Option<PathBuf>,
    },
    /// Run commands given as JSON Lines (one per line: docs/commands.md), printing one JSON
    /// result line per command. Lines with the ids of commands run before change nothing.
    Exec {
        /// The store: a directory or a PostgreSQL URL (created if it does not exist).
        #[arg(long, env = "SERVICE_LIFECYCLE_STORE")]
        store: StoreLocation,
        /// The file of commands; standard input by default.
        #[arg(long)]
        input: Option<PathBuf>,
    },
    /// Check every invariant of a store.
    Verify {
        /// The store: a directory (sled:DIR or DIR) or a PostgreSQL URL (postgres://...).
        #[arg(long, env = "SERVICE_LIFECYCLE_STORE")]
        store: StoreLocation,
    },
    /// Start a throwaway PostgreSQL server (a new cluster in a temporary directory, on a Unix
    /// socket) and print its store URL. With a COMMAND, run it with SERVICE_LIFECYCLE_STORE set
    /// to that URL and stop the server when it ends; without, keep the server until Ctrl-C.
    /// Either way the server's data is removed.
    PostgresServer {
        /// The command to run against the server, and its arguments (after `--`).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        command: Vec<String>,
    },
    /// Convert an embedded store written in an earlier storage format (which this version opens
    /// read-only) to the current one: into a new directory beside it, then renamed into place;
    /// the old store is kept as NAME.format-1. Safe to run again after a crash.
    Migrate {
        /// The store's directory (sled:DIR or DIR).
        #[arg(long, env = "SERVICE_LIFECYCLE_STORE")]
        store: StoreLocation,
    },
    /// Count events, streams and event types.
    Stats {
        /// The store: a directory (sled:DIR or DIR) or a PostgreSQL URL (postgres://...).
        #[arg(long, env = "SERVICE_LIFECYCLE_STORE")]
        store: StoreLocation,
    },
}

/// `println!` that returns a [`Failure`] instead of panicking when standard output fails; a
/// reader gone away (`| head`) is then no error at all.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*).map_err(Failure::from)?
    }};
}

/// Runs `$run` with `$store` bound to the existing store at `$location`: a sled directory or a
/// PostgreSQL database, two types, one command. Reading commands never create a store.
macro_rules! on_existing_store {
    ($location:expr, |$store:ident| $run:expr) => {
        match &$location {
            StoreLocation::Sled(path) | StoreLocation::Redb(path) => {
                let $store = &open_existing(path, named_engine(&$location))?;
                $run
            }
            StoreLocation::Postgres { .. } => {
                let $store = &open_postgres(&$location, true)?;
                $run
            }
        }
    };
}

/// A failure a shell user can act on.
struct Failure {
    message: String,
    /// Only the reader of our output went away (`| head`): not an error.
    broken_pipe: bool,
    /// The store is damaged: for `verify`, a problem found (exit 3), not a failure to look.
    damaged: bool,
    /// The disk is full: the message gains what the command left behind.
    disk_full: bool,
}

impl Failure {
    fn new(message: String) -> Self {
        Self {
            message,
            broken_pipe: false,
            damaged: false,
            disk_full: false,
        }
    }

    /// On a full disk, says what the command left behind (unless the message says already, as
    /// an import's does) and what to do.
    fn after_full_disk(mut self, left_behind: &str) -> Self {
        if self.disk_full {
            let left_behind = if self.message.contains("(nothing of the file was written")
                || self.message.contains("opening it rolls back")
            {
                String::new()
            } else {
                format!(": {left_behind}")
            };
            self.message = format!(
                "{}\n  the disk is full{left_behind}; free space on it and run the command again",
                self.message
            );
        }
        self
    }

    fn damaged(message: String) -> Self {
        Self {
            damaged: true,
            ..Self::new(message)
        }
    }
}

impl<E: std::error::Error + 'static> From<E> for Failure {
    fn from(error: E) -> Self {
        Self {
            message: error.to_string(),
            broken_pipe: is_broken_pipe(&error),
            damaged: false,
            disk_full: is_disk_full(&error),
        }
    }
}

/// Panics inside sled are caught where the store calls it and reported as a damaged store, so
/// their default "thread panicked at" line would only confuse the reader; it is not printed. Any
/// other panic is a bug of this tool and is reported as usual.
fn quiet_storage_engine_panics() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let in_sled = info
            .location()
            .is_some_and(|location| location.file().contains("/sled-0.34"));
        if !in_sled {
            report(info);
        }
    }));
}

fn main() -> ExitCode {
    quiet_storage_engine_panics();
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(code) => code,
        Err(failure) if failure.broken_pipe => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {}", failure.message);
            ExitCode::from(1)
        }
    }
}

fn run(command: Command) -> Result<ExitCode, Failure> {
    interrupt::install(match &command {
        // Both stop at a clean point: the simulation after a command, the import undoing itself.
        Command::Simulate { .. } | Command::Import { .. } | Command::PostgresServer { .. } => None,
        Command::Export { .. } => Some("the export was not finished: a file being written is left as NAME.partial, never under the name asked for; do not import it"),
        Command::Exec { .. } => Some("the commands with a result line are recorded, the rest are not; run the file again to finish (the recorded ones answer `replayed`)"),
        Command::Load { .. } => Some("nothing was loaded: the store holds what it held before (an import cut short is rolled back when the store opens)"),
        _ => Some("nothing was written; the store is as it was"),
    });
    let left_behind = match &command {
        Command::Simulate { .. } => {
            "the store holds the days simulated before, each command whole or absent (`verify` \
             checks it)"
        }
        Command::Export { .. } => "no export file is left behind",
        Command::Import { .. } => "nothing of the file was written",
        _ => "nothing was written; the store is as it was",
    };
    run_command(command).map_err(|failure| failure.after_full_disk(left_behind))
}

fn run_command(command: Command) -> Result<ExitCode, Failure> {
    match command {
        Command::Simulate {
            store,
            memory: _,
            customers,
            years,
            seed,
        } => {
            let config = SimulationConfig {
                customers,
                years,
                seed,
            };
            match store {
                Some(StoreLocation::Sled(path)) => simulate_command(&path, None, config),
                Some(StoreLocation::Redb(path)) => {
                    simulate_command(&path, Some(Engine::Redb), config)
                }
                Some(location @ StoreLocation::Postgres { .. }) => {
                    simulate_postgres(&location, config)
                }
                None => simulate_in_memory(config),
            }
        }
        Command::Report {
            name,
            store,
            as_of,
            within_days,
            format,
            json,
        } => {
            let format = if json { Format::Json } else { format };
            let report = Report {
                name,
                as_of,
                within_days,
                format,
            };
            on_existing_store!(store, |opened| report_command(opened, report))
        }
        Command::Export {
            store,
            output,
            after,
            stream,
            personal_data,
            without_personal_data,
        } => {
            let export = Export {
                output,
                after,
                stream,
                personal_data,
                without_personal_data,
            };
            on_existing_store!(store, |opened| export_command(opened, export))
        }
        Command::Import {
            store,
            input,
            personal_data,
            without_personal_data,
        } => {
            let personal_data =
                import_personal_data_from(&input, personal_data, without_personal_data)?;
            match &store {
                StoreLocation::Sled(path) | StoreLocation::Redb(path) => {
                    import_command(path, named_engine(&store), &input, personal_data)
                }
                StoreLocation::Postgres { .. } => {
                    let postgres = open_postgres(&store, false)?;
                    import_file(&postgres, &store.to_string(), &input, personal_data)
                }
            }
        }
        Command::CustomerExport {
            customer,
            store,
            output,
        } => {
            let customer = service_lifecycle_core::CustomerId::from_uuid(customer);
            on_existing_store!(store, |opened| customer_export_command(
                opened, customer, output
            ))
        }
        Command::CustomerErase { customer, store } => {
            let customer = service_lifecycle_core::CustomerId::from_uuid(customer);
            match &store {
                StoreLocation::Sled(path) | StoreLocation::Redb(path) => {
                    let sled = open_existing(path, named_engine(&store))?;
                    let code = customer_erase_command(&sled, customer)?;
                    sled.flush()?;
                    Ok(code)
                }
                StoreLocation::Postgres { .. } => {
                    customer_erase_command(&open_postgres(&store, true)?, customer)
                }
            }
        }
        Command::Load {
            store,
            from,
            models,
            parts,
            technicians,
            customers,
            units,
        } => {
            use service_lifecycle_cli::load::{Kind, LoadFiles};
            let mut files = from.as_deref().map(LoadFiles::in_dir).unwrap_or_default();
            for (kind, path) in [
                (Kind::Models, models),
                (Kind::Parts, parts),
                (Kind::Technicians, technicians),
                (Kind::Customers, customers),
                (Kind::Units, units),
            ] {
                if let Some(path) = path {
                    files = files.with(kind, path);
                }
            }
            if files.is_empty() {
                return Err(Failure::new(
                    "nothing to load: name the files (--models FILE, ...) or a directory holding them (--from DIR)"
                        .to_owned(),
                ));
            }
            match &store {
                StoreLocation::Sled(path) | StoreLocation::Redb(path) => {
                    let sled = open(path, named_engine(&store), Durability::Buffered)?;
                    let code = load_command(&sled, &files)?;
                    sled.flush()?;
                    Ok(code)
                }
                StoreLocation::Postgres { .. } => {
                    load_command(&open_postgres(&store, false)?, &files)
                }
            }
        }
        Command::Exec { store, input } => match &store {
            StoreLocation::Sled(path) | StoreLocation::Redb(path) => {
                exec_command(&open(path, named_engine(&store), Durability::Flush)?, input)
            }
            StoreLocation::Postgres { .. } => exec_command(&open_postgres(&store, false)?, input),
        },
        Command::Verify { store } => match &store {
            StoreLocation::Sled(path) | StoreLocation::Redb(path) => {
                match open_existing(path, named_engine(&store)) {
                    Ok(store) => verify_command(&store),
                    // A store too damaged to open is a problem verify found, exit 3 as documented.
                    Err(failure) if failure.damaged => {
                        say!("{}", failure.message);
                        Ok(ExitCode::from(3))
                    }
                    Err(failure) => Err(failure),
                }
            }
            StoreLocation::Postgres { .. } => verify_by_reading(&open_postgres(&store, true)?),
        },
        Command::Stats { store } => match &store {
            StoreLocation::Sled(path) | StoreLocation::Redb(path) => {
                stats_command(&open_existing(path, named_engine(&store))?)
            }
            StoreLocation::Postgres { .. } => {
                let postgres = open_postgres(&store, true)?;
                let Counted {
                    head,
                    streams,
                    types,
                } = count_events(&postgres, true)?;
                say!("{head} events in {} streams", streams.unwrap_or_default());
                for (event_type, count) in types {
                    say!("{count:>10}  {event_type}");
                }
                Ok(ExitCode::SUCCESS)
            }
        },
        Command::PostgresServer { command } => postgres_server_command(&command),
        Command::Migrate { store } => match store.embedded() {
            Some((path, _)) => {
                let migration = service_lifecycle_sled::migrate::<ServiceEvent>(path)
                    .map_err(|error| Failure::new(format!("{}: {error}", path.display())))?;
                say!("{}: {migration}", path.display());
                Ok(ExitCode::SUCCESS)
            }
            None => Err(Failure::new(format!(
                "{store} is a PostgreSQL store: its tables are upgraded when it is opened, there \
                 is no storage format to migrate"
            ))),
        },
    }
}

/// Opens the PostgreSQL store at `location`; `existing_only` for reading commands, which never
/// create a store.
fn open_postgres(location: &StoreLocation, existing_only: bool) -> Result<Postgres, Failure> {
    let StoreLocation::Postgres { url, schema } = location else {
        return Err(Failure::new(format!("{location} is not a PostgreSQL URL")));
    };
    let mut options = PostgresOptions::new().schema(schema.clone()).pool_size(4);
    if existing_only {
        options = options.existing_only();
    }
    Postgres::open_with(url, options).map_err(Failure::from)
}

fn simulate_postgres(
    location: &StoreLocation,
    config: SimulationConfig,
) -> Result<ExitCode, Failure> {
    let store = open_postgres(location, false)?;
    let head = store.head_position()?;
    if head > 0 {
        return Err(Failure::new(format!(
            "the store at {location} already holds {head} events; simulate into another schema \
             (?schema=NAME) or database"
        )));
    }
    let service = ServiceLifecycle::builder(store.clone())
        .personal_data(store.clone())
        .open()?;
    let run = run_simulation(service, config);
    let place = format!("into {location}");
    finish_simulation(&store, config, run?, &place, || {
        format!("the store at {location} holds the days done; simulate into another schema to start over")
    })
}

/// Starts a throwaway PostgreSQL server; runs `command` against it, or keeps it until Ctrl-C.
fn postgres_server_command(command: &[String]) -> Result<ExitCode, Failure> {
    let server = ThrowawayServer::start().map_err(Failure::from)?;
    let url = server.url();
    if let Some((program, args)) = command.split_first() {
        eprintln!("a throwaway PostgreSQL server runs at {url}; running {program} with SERVICE_LIFECYCLE_STORE set to it");
        let status = std::process::Command::new(program)
            .args(args)
            .env(service_lifecycle_cli::location::STORE_VARIABLE, &url)
            .status()
            .map_err(|error| Failure::new(format!("cannot run {program}: {error}")))?;
        drop(server);
        eprintln!("the throwaway server is stopped and its data removed");
        return Ok(status
            .code()
            .and_then(|code| u8::try_from(code).ok())
            .map_or(ExitCode::FAILURE, ExitCode::from));
    }
    say!("{url}");
    eprintln!(
        "a throwaway PostgreSQL server runs with its data in {}; use the URL above as --store \
         (or export SERVICE_LIFECYCLE_STORE='{url}'); Ctrl-C stops it and removes its data",
        server.data_dir().display(),
    );
    while !interrupt::requested() {
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(server);
    eprintln!("stopped; its data is removed");
    Ok(ExitCode::SUCCESS)
}

/// `verify` for a store without a checker of its own: reads every event (a gap, a misplaced or
/// undecodable event is a problem), checks each stream's version against its events, and every
/// registered customer's personal record.
fn verify_by_reading<S>(store: &S) -> Result<ExitCode, Failure>
where
    S: EventStore<ServiceEvent> + service_lifecycle_core::kernel::Vault,
{
    let bar = spinner("verifying");
    let head = store.head_position()?;
    let mut streams: std::collections::HashMap<StreamId, u64> = std::collections::HashMap::new();
    let mut problems = Vec::new();
    let mut events = 0u64;
    for envelope in store.read_all(1)? {
        match envelope {
            Ok(envelope) => {
                events += 1;
                let version = streams.entry(envelope.stream_id.clone()).or_default();
                *version += 1;
                if envelope.stream_version != *version {
                    problems.push(format!(
                        "stream {} holds version {} where {} was expected",
                        envelope.stream_id, envelope.stream_version, *version
                    ));
                }
            }
            Err(error) => {
                problems.push(error.to_string());
                break;
            }
        }
    }
    // The read runs to the head as it was when the read began, at or after `head`.
    if problems.is_empty() && events < head {
        problems.push(format!("the head is {head} but {events} events were read"));
    }
    let head = head.max(events);
    // Each stream's version against its events read. The store may be written meanwhile (by
    // another process): a stream further on must have moved on after the read's head.
    for (stream, read) in &streams {
        let stored = store.stream_version(stream)?;
        let moved_on_later = stored > *read
            && match store.read_stream(stream, read + 1)?.next() {
                Some(Ok(next)) => next.position > head,
                _ => false,
            };
        if stored != *read && !moved_on_later {
            problems.push(format!(
                "stream {stream} is at version {stored} but {read} of its events were read"
            ));
        }
    }
    let missing = service_lifecycle_core::customers_missing_personal_data(store, store);
    bar.finish_and_clear();
    if problems.is_empty() {
        say!("{events} events in {} streams: clean", streams.len());
    } else {
        say!(
            "{events} events in {} streams: {} problems",
            streams.len(),
            problems.len()
        );
        for problem in problems.iter().take(100) {
            say!("  - {problem}");
        }
    }
    let personal_data_whole = say_personal_data_findings(missing)?;
    Ok(if problems.is_empty() && personal_data_whole {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(3)
    })
}

/// The engine `location` names (`None`: the one its files are of, sled for a new store).
fn named_engine(location: &StoreLocation) -> Option<Engine> {
    location.embedded().and_then(|(_, engine)| engine)
}

/// The options of an embedded store on `engine` (if named).
fn embedded_options(engine: Option<Engine>, durability: Durability) -> SledOptions {
    let options = SledOptions::new().durability(durability);
    match engine {
        Some(engine) => options.engine(engine),
        None => options,
    }
}

fn open(path: &Path, engine: Option<Engine>, durability: Durability) -> Result<Store, Failure> {
    let store =
        Store::open_with(path, embedded_options(engine, durability)).map_err(Failure::from)?;
    say_opened(&store);
    Ok(store)
}

/// Tells the user what opening the store found that they should know: an import that a crash
/// or a kill stopped and that was rolled back, a store in an earlier format that is read-only.
fn say_opened(store: &Store) {
    say_rolled_back_import(store);
    if store.is_read_only() {
        eprintln!(
            "note: {} is in storage format {}, which this version reads but does not write; \
             convert it with `service-lifecycle migrate --store {}`",
            store.path().display(),
            store.format_version(),
            store.path().display()
        );
    }
}

/// Tells the user when opening the store rolled back an import that a crash or a kill stopped.
fn say_rolled_back_import(store: &Store) {
    if let Some(rolled_back) = store.rolled_back_import() {
        eprintln!("note: {}: {rolled_back}", store.path().display());
    }
}

/// Opens a store that must exist already (`SledOptions::existing_only`): reading commands never
/// create one, and a store whose database file is gone is damaged, not empty. A missing or empty
/// directory is said in the shell user's words first.
fn open_existing(path: &Path, engine: Option<Engine>) -> Result<Store, Failure> {
    let create_one = "create one with `service-lifecycle simulate` or `service-lifecycle import`";
    if !path.exists() {
        return Err(Failure::new(format!(
            "there is no store at {} (the directory does not exist); {create_one}",
            path.display()
        )));
    }
    let is_empty = std::fs::read_dir(path)
        .map_err(|error| Failure::new(format!("cannot read {}: {error}", path.display())))?
        .next()
        .is_none();
    if is_empty {
        return Err(Failure::new(format!(
            "there is no store at {} (the directory is empty); {create_one}",
            path.display()
        )));
    }
    // Reading commands pass over the store once: a small page cache, memory that does not grow
    // with the store.
    let options = embedded_options(engine, Durability::Flush)
        .existing_only()
        .one_pass();
    let store = Store::open_with(path, options).map_err(|error| {
        if error.is_damaged() {
            Failure::damaged(error.to_string())
        } else {
            Failure::from(error)
        }
    })?;
    say_opened(&store);
    Ok(store)
}

fn spinner(message: &str) -> ProgressBar {
    let bar = ProgressBar::new_spinner().with_message(message.to_owned());
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

fn simulate_command(
    path: &Path,
    engine: Option<Engine>,
    config: SimulationConfig,
) -> Result<ExitCode, Failure> {
    let store = open(path, engine, Durability::Buffered)?;
    let head = store.head_position()?;
    if head > 0 {
        return Err(Failure::new(format!(
            "the store at {} already holds {head} events; simulate into a new directory",
            path.display()
        )));
    }
    let service = ServiceLifecycle::builder(store.clone())
        .personal_data(store.clone())
        .open()?;
    let run = run_simulation(service, config);
    store.flush()?;
    let place = format!("into {}", path.display());
    finish_simulation(&store, config, run?, &place, || {
        format!(
            "the store at {} holds the days done and verifies; simulate into a new directory to \
             start over",
            path.display()
        )
    })
}

fn simulate_in_memory(config: SimulationConfig) -> Result<ExitCode, Failure> {
    let store = service_lifecycle_core::kernel::MemoryStore::<ServiceEvent>::new();
    let run = run_simulation(ServiceLifecycle::new(store.clone())?, config)?;
    finish_simulation(&store, config, run, "in memory", || {
        "nothing is kept (the store was in memory)".to_owned()
    })
}

/// Runs the seeded simulation with a progress bar until it ends or Ctrl-C stops it.
fn run_simulation<S: EventStore<ServiceEvent> + CheckpointStore + Clone>(
    service: ServiceLifecycle<S>,
    config: SimulationConfig,
) -> Result<(SimulationSummary, Duration), Failure> {
    let bar = ProgressBar::new(u64::from(config.years) * 365).with_style(
        ProgressStyle::with_template("{spinner} simulating day {pos}/{len} {wide_bar} {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let started = Instant::now();
    // Ctrl-C is asked before every command, so it is honoured within a command's time.
    let summary = simulate_until(
        service,
        config,
        |day, _| {
            bar.set_position(day);
            true
        },
        interrupt::requested,
    )?;
    bar.finish_and_clear();
    Ok((summary, started.elapsed()))
}

/// Says how a simulation ended: what it wrote and how fast, or, after Ctrl-C, how far it got and
/// `kept` (what state the store is in).
fn finish_simulation<S: EventStore<ServiceEvent>>(
    store: &S,
    config: SimulationConfig,
    (summary, elapsed): (SimulationSummary, Duration),
    place: &str,
    kept: impl FnOnce() -> String,
) -> Result<ExitCode, Failure> {
    if interrupt::requested() {
        eprintln!(
            "interrupted after day {} of {}: {}",
            summary.days,
            u64::from(config.years) * 365,
            kept()
        );
        return Ok(ExitCode::from(interrupt::EXIT_CODE));
    }
    let events = store.head_position()?;
    say!(
        "simulated {} customers over {} days {place}: {events} events from {} commands ({} refused by the rules) in {:.1} s ({:.0} events/s)",
        config.customers,
        summary.days,
        summary.commands,
        summary.refused,
        elapsed.as_secs_f64(),
        events as f64 / elapsed.as_secs_f64().max(1e-9),
    );
    Ok(ExitCode::SUCCESS)
}

/// What `report` was asked for.
struct Report {
    name: ReportName,
    as_of: Option<NaiveDate>,
    within_days: u32,
    format: Format,
}

fn report_command<S: EventStore<ServiceEvent> + service_lifecycle_core::kernel::Vault>(
    store: &S,
    Report {
        name,
        as_of,
        within_days,
        format,
    }: Report,
) -> Result<ExitCode, Failure> {
    let bar = spinner("reading the store");
    let day = as_of.unwrap_or_else(|| Utc::now().date_naive());
    // A report reads the store and never writes to it. As of a day, it answers from the
    // events that had occurred by that day's end, so a past day's report is the one that day
    // would have printed; without a day, from every event, as of today.
    let reports = &match as_of {
        Some(day) => Reports::read_as_of_day(store, day)?,
        None => Reports::read_as_of(store, chrono::DateTime::<Utc>::MAX_UTC)?,
    };
    bar.finish_and_clear();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let options = ReportOptions {
        within_days,
        ..ReportOptions::new(day)
    };
    write_report(&mut out, reports, Some(store), name, format, options)?;
    Ok(ExitCode::SUCCESS)
}

/// The file beside `path` that holds the personal data of the export in `path`:
/// `backup.jsonl` → `backup.personal-data.jsonl`.
fn beside(path: &Path) -> PathBuf {
    if path
        .extension()
        .is_some_and(|extension| extension == "jsonl")
    {
        path.with_extension("personal-data.jsonl")
    } else {
        PathBuf::from(format!("{}.personal-data.jsonl", path.display()))
    }
}

/// Where an export writes the personal data: the file named, beside the output, or nowhere
/// (asked to leave it out, or an export to standard output, which has no file beside it).
fn export_personal_data_to(
    output: Option<&Path>,
    named: Option<PathBuf>,
    without: bool,
) -> Option<PathBuf> {
    match (named, output, without) {
        (_, _, true) | (None, None, false) => None,
        (Some(named), _, false) => Some(named),
        (None, Some(output), false) => Some(beside(output)),
    }
}

/// The personal-data file an import restores: the one named (which must exist), or the one
/// beside the input when there is one.
fn import_personal_data_from(
    input: &Path,
    named: Option<PathBuf>,
    without: bool,
) -> Result<Option<PathBuf>, Failure> {
    if without {
        return Ok(None);
    }
    if let Some(named) = named {
        if !named.exists() {
            return Err(Failure::new(format!(
                "there is no personal-data file {}",
                named.display()
            )));
        }
        return Ok(Some(named));
    }
    let beside = beside(input);
    Ok(beside.exists().then_some(beside))
}

/// What `export` was asked for.
struct Export {
    output: Option<PathBuf>,
    after: Option<u64>,
    stream: Option<String>,
    personal_data: Option<PathBuf>,
    without_personal_data: bool,
}

/// Writes `path` by writing `NAME.partial` first and renaming it when `write` succeeded, so a
/// file under the name asked for is always complete.
fn write_whole<T>(
    path: &Path,
    write: impl FnOnce(std::fs::File) -> Result<T, Failure>,
) -> Result<T, Failure> {
    let partial = PathBuf::from(format!("{}.partial", path.display()));
    let file = std::fs::File::create(&partial)
        .map_err(|error| Failure::new(format!("cannot create {}: {error}", partial.display())))?;
    match write(file) {
        Ok(done) => {
            std::fs::rename(&partial, path).map_err(|error| {
                Failure::new(format!(
                    "{} is complete but cannot be renamed to {}: {error}",
                    partial.display(),
                    path.display()
                ))
            })?;
            Ok(done)
        }
        Err(failure) => {
            let _ = std::fs::remove_file(&partial);
            Err(failure)
        }
    }
}

fn export_command<S: EventStore<ServiceEvent> + service_lifecycle_core::kernel::Vault>(
    store: &S,
    Export {
        output,
        after,
        stream,
        personal_data,
        without_personal_data,
    }: Export,
) -> Result<ExitCode, Failure> {
    // A stream export is for reading, not restoring: it carries personal data only when asked.
    let personal_data = match (&stream, personal_data) {
        (Some(_), None) => None,
        (_, named) => export_personal_data_to(output.as_deref(), named, without_personal_data),
    };
    let bar = spinner("exporting");
    let export = |writer: &mut dyn Write| -> Result<_, Failure> {
        match (after, &stream) {
            (_, Some(stream)) => Ok(export_stream(
                store,
                &StreamId::new(stream.clone())?,
                writer,
            )?),
            (Some(after), None) => Ok(export_after(store, after, writer)?),
            (None, None) => Ok(export_all(store, writer)?),
        }
    };
    // A file is written under a `.partial` name and renamed when its trailer is written, so a
    // file under the name asked for is always a complete export.
    let exported = match &output {
        Some(path) => write_whole(path, |file| {
            let mut out = std::io::BufWriter::new(file);
            let summary = export(&mut out)?;
            out.flush()?;
            Ok(summary)
        }),
        None => export(&mut std::io::stdout().lock()),
    };
    bar.finish_and_clear();
    let summary = exported?;
    if let Some(path) = &output {
        eprintln!(
            "exported {} events to {} (CRC-32 {})",
            summary.header.events,
            path.display(),
            summary.trailer.crc32
        );
    }
    // The personal data of the customers registered in what was exported, no later.
    let until = summary.header.last_position.or(after).unwrap_or_default();
    match personal_data {
        Some(path) => {
            let written = write_whole(&path, |file| {
                let mut out = std::io::BufWriter::new(file);
                let written = service_lifecycle_core::export_personal_data_until(
                    store, store, until, &mut out,
                )?;
                out.flush()?;
                Ok(written)
            })?;
            eprintln!(
                "exported the personal data of {} customers to {} (kept apart from the events; {} erased customers have none{})",
                written.records,
                path.display(),
                written.erased,
                if written.missing > 0 {
                    format!(
                        "; {} registered customers had no record in the vault",
                        written.missing
                    )
                } else {
                    String::new()
                }
            );
        }
        None if without_personal_data => eprintln!(
            "the personal data was left out: a store imported from this export has no customer \
             names or contacts (technicians' names are part of the events)"
        ),
        None if stream.is_some() => eprintln!(
            "a stream export carries no personal data (it is for reading, not restoring); name a \
             file for it with --personal-data FILE"
        ),
        None => eprintln!(
            "note: the personal data (customers' names and contacts, kept out of events) is not \
             in an export to standard output: name a file for it with --personal-data FILE, or \
             pass --without-personal-data to leave it out knowingly"
        ),
    }
    Ok(ExitCode::SUCCESS)
}

/// `customer-export`: one customer's data, as one JSON document.
fn customer_export_command<S: EventStore<ServiceEvent> + service_lifecycle_core::kernel::Vault>(
    store: &S,
    customer: service_lifecycle_core::CustomerId,
    output: Option<PathBuf>,
) -> Result<ExitCode, Failure> {
    require_registered(store, customer)?;
    let write = |out: &mut dyn Write| -> Result<(), Failure> {
        service_lifecycle_core::export_customer_data(store, store, customer, &mut *out)?;
        out.flush()?;
        Ok(())
    };
    match output {
        Some(path) => {
            write_whole(&path, |file| write(&mut std::io::BufWriter::new(file)))?;
            eprintln!(
                "exported everything stored about customer {customer} to {}",
                path.display()
            );
        }
        None => write(&mut std::io::stdout().lock())?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `customer-erase`: C7 through the application, so the erasure is an event and the vault
/// forgets the record.
fn customer_erase_command<
    S: EventStore<ServiceEvent>
        + CheckpointStore
        + service_lifecycle_core::kernel::Vault
        + Clone
        + 'static,
>(
    store: &S,
    customer: service_lifecycle_core::CustomerId,
) -> Result<ExitCode, Failure> {
    require_registered(store, customer)?;
    let service = ServiceLifecycle::builder(store.clone())
        .personal_data(store.clone())
        .open()?;
    let erased = service.erase_customer(
        customer,
        Utc::now(),
        &service_lifecycle_core::kernel::CommandContext::new(),
    )?;
    if erased.events.is_empty() {
        say!("customer {customer}'s personal data was erased before; nothing changed");
    } else {
        say!(
            "erased the personal data of customer {customer}: no report, export or read path shows it again; the rest of their history stays"
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `load`: the files checked, then written as one import.
fn load_command<S>(
    store: &S,
    files: &service_lifecycle_cli::load::LoadFiles,
) -> Result<ExitCode, Failure>
where
    S: EventStore<ServiceEvent>
        + AtomicImport<ServiceEvent>
        + CheckpointStore
        + service_lifecycle_core::kernel::Vault
        + Clone,
{
    let bar = spinner("checking, then loading");
    let loaded = service_lifecycle_cli::load::load(store, store, files, Utc::now());
    bar.finish_and_clear();
    let summary = loaded.map_err(|error| {
        Failure::new(format!(
            "{error}\n  nothing was loaded: the store holds what it held before"
        ))
    })?;
    let loaded: Vec<String> = summary
        .loaded
        .iter()
        .map(|(kind, rows)| format!("{rows} {kind}"))
        .collect();
    say!(
        "loaded {} ({} events){}",
        if loaded.is_empty() {
            "nothing new".to_owned()
        } else {
            loaded.join(", ")
        },
        summary.events,
        if summary.already_loaded > 0 {
            format!(
                "; {} entities were loaded before from the same rows and are unchanged",
                summary.already_loaded
            )
        } else {
            String::new()
        }
    );
    // The store's policies follow what was loaded (a part registered for a model discontinued
    // before gets the discontinuation) as the application opens.
    if let Err(error) = ServiceLifecycle::builder(store.clone()).open() {
        eprintln!(
            "note: the load is complete, but the policies could not follow it yet ({error}); \
             they do when the application next opens on the store"
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `exec`: the commands of a JSON Lines file (or standard input), one result line each.
fn exec_command<
    S: EventStore<ServiceEvent>
        + CheckpointStore
        + service_lifecycle_core::kernel::Vault
        + Clone
        + 'static,
>(
    store: &S,
    input: Option<PathBuf>,
) -> Result<ExitCode, Failure> {
    let service = ServiceLifecycle::builder(store.clone())
        .personal_data(store.clone())
        .open()?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let ran = match &input {
        Some(path) => service_lifecycle_cli::exec::exec(&service, open_file(path)?, &mut out),
        None => service_lifecycle_cli::exec::exec(&service, std::io::stdin().lock(), &mut out),
    };
    let summary = ran.map_err(|error| match error {
        service_lifecycle_cli::exec::ExecError::Io(error) => Failure::from(error),
        other => Failure::new(other.to_string()),
    })?;
    service.save_checkpoint()?;
    eprintln!(
        "{} recorded, {} unchanged, {} run before (replayed), {} refused, {} not commands",
        summary.recorded, summary.unchanged, summary.replayed, summary.refused, summary.invalid
    );
    Ok(if summary.all_accepted() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Refuses a customer the store never registered, in the shell user's words.
fn require_registered<S: EventStore<ServiceEvent>>(
    store: &S,
    customer: service_lifecycle_core::CustomerId,
) -> Result<(), Failure> {
    let stream = service_lifecycle_core::Customer::stream_id(customer)?;
    if store.stream_version(&stream)? == 0 {
        return Err(Failure::new(format!(
            "the store has no customer {customer} (never registered)"
        )));
    }
    Ok(())
}

fn import_command(
    path: &Path,
    engine: Option<Engine>,
    input: &Path,
    personal_data: Option<PathBuf>,
) -> Result<ExitCode, Failure> {
    // An import writes each event once: a small page cache keeps its memory from growing with
    // the store.
    let store = Store::open_with(
        path,
        embedded_options(engine, Durability::Buffered).one_pass(),
    )
    .map_err(Failure::from)?;
    say_opened(&store);
    let code = import_file(&store, &path.display().to_string(), input, personal_data)?;
    store.flush()?;
    Ok(code)
}

fn open_file(path: &Path) -> Result<BufReader<std::fs::File>, Failure> {
    std::fs::File::open(path)
        .map(BufReader::new)
        .map_err(|error| Failure::new(format!("cannot read {}: {error}", path.display())))
}

/// Imports `input` into `store` (shown as `shown`) as one atomic import, then the personal
/// data beside it (checked before the events are imported).
fn import_file<S: AtomicImport<ServiceEvent> + service_lifecycle_core::kernel::Vault>(
    store: &S,
    shown: &str,
    input: &Path,
    personal_data: Option<PathBuf>,
) -> Result<ExitCode, Failure> {
    if let Some(path) = &personal_data {
        service_lifecycle_core::check_personal_data(open_file(path)?).map_err(|error| {
            Failure::new(format!(
                "{}: {error} (nothing was imported: the store holds what it held before)",
                path.display()
            ))
        })?;
    }
    let code = import_events(store, shown, input)?;
    if code != ExitCode::SUCCESS {
        return Ok(code);
    }
    match personal_data {
        Some(path) => {
            let restored =
                service_lifecycle_core::restore_personal_data(store, store, open_file(&path)?)
                    .map_err(|error| {
                        Failure::new(format!(
                            "{}: {error} (the events were imported, the personal data was not: the customers have no names or contacts)",
                            path.display()
                        ))
                    })?;
            say!(
                "restored the personal data of {} customers from {}{}",
                restored.records,
                path.display(),
                if restored.skipped_erased > 0 {
                    format!(
                        " ({} erased since the backup stay erased)",
                        restored.skipped_erased
                    )
                } else {
                    String::new()
                }
            );
        }
        None => eprintln!(
            "note: no personal data was imported with {}: the customers have no names or contacts; \
             `service-lifecycle verify` lists them",
            input.display()
        ),
    }
    Ok(ExitCode::SUCCESS)
}

/// Imports the events of `input` into `store` as one atomic import.
fn import_events<S: AtomicImport<ServiceEvent>>(
    store: &S,
    shown: &str,
    input: &Path,
) -> Result<ExitCode, Failure> {
    let file = std::fs::File::open(input)
        .map_err(|error| Failure::new(format!("cannot read {}: {error}", input.display())))?;
    let bar = spinner("verifying, then importing");
    let options = ImportOptions::new().stop_when(interrupt::requested);
    let outcome = import(BufReader::new(file), store, options);
    bar.finish_and_clear();
    let summary = match outcome {
        Ok(summary) => summary,
        Err(error) if matches!(error.problem, ImportProblem::Stopped) => {
            eprintln!("\ninterrupted: {}", error.problem);
            return Ok(ExitCode::from(interrupt::EXIT_CODE));
        }
        Err(error) => {
            let state = if error.target_written {
                " (run `service-lifecycle verify` on the store: opening it rolls back whatever \
                 part of the import reached the disk)"
            } else {
                " (nothing of the file was written: the store holds what it held before)"
            };
            return Err(Failure {
                disk_full: is_disk_full(&error),
                ..Failure::new(format!("{}: {error}{state}", input.display()))
            });
        }
    };
    say!(
        "imported {} events in {} appends into {shown}",
        summary.events,
        summary.appends,
    );
    Ok(ExitCode::SUCCESS)
}

fn verify_command(store: &Store) -> Result<ExitCode, Failure> {
    let bar = spinner("verifying");
    let report = match store.verify() {
        Ok(report) => report,
        // The engine's own files failing their checks is a problem found, not a failure to look.
        Err(error @ (StorageError::Corrupted(_) | StorageError::Damaged { .. })) => {
            bar.finish_and_clear();
            say!(
                "the store at {} is damaged: {error}",
                store.path().display()
            );
            return Ok(ExitCode::from(3));
        }
        Err(error) => return Err(error.into()),
    };
    // Across records: every registered customer has a personal record or an erasure.
    let missing = service_lifecycle_core::customers_missing_personal_data(store, store);
    bar.finish_and_clear();
    say!("{report}");
    let personal_data_whole = say_personal_data_findings(missing)?;
    Ok(if report.is_clean() && personal_data_whole {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(3)
    })
}

/// Says what the cross-record check of personal data found; whether every registered customer
/// has a readable record or an erasure. A record that cannot be read (damaged, its key lost) is
/// a problem found, not a failure to look.
fn say_personal_data_findings(
    missing: Result<Vec<service_lifecycle_core::CustomerId>, service_lifecycle_core::ServiceError>,
) -> Result<bool, Failure> {
    let missing = match missing {
        Ok(missing) => missing,
        Err(error) => {
            say!("personal data: {error}");
            return Ok(false);
        }
    };
    if !missing.is_empty() {
        let shown: Vec<String> = missing.iter().take(10).map(ToString::to_string).collect();
        say!(
            "{} registered customers have no personal record and no erasure (their names and \
             contacts are lost; restore them from a backup): {}{}",
            missing.len(),
            shown.join(", "),
            if missing.len() > shown.len() {
                ", ..."
            } else {
                ""
            }
        );
    }
    Ok(missing.is_empty())
}

fn stats_command(store: &Store) -> Result<ExitCode, Failure> {
    // sled counts its streams itself: the pass need not collect their names.
    let Counted { head, types, .. } = count_events(store, false)?;
    say!(
        "{head} events in {} streams, {} bytes on disk",
        store.stream_count(),
        store.storage().size_on_disk()?
    );
    for (event_type, count) in types {
        say!("{count:>10}  {event_type}");
    }
    Ok(ExitCode::SUCCESS)
}

/// The head, the number of streams (if `count_streams`: it takes a set of their names) and the
/// events by type, from one encoded pass over the log.
fn count_events<S: EventStore<ServiceEvent>>(
    store: &S,
    count_streams: bool,
) -> Result<Counted, Failure> {
    let bar = spinner("counting");
    let mut types: BTreeMap<String, u64> = BTreeMap::new();
    let mut streams = std::collections::HashSet::new();
    let head = store.head_position()?;
    store.visit_encoded(1, head, &mut |event| {
        // Counted under the stored name; a type's name is copied once, when first seen.
        match types.get_mut(event.event_type) {
            Some(count) => *count += 1,
            None => {
                types.insert(event.event_type.to_owned(), 1);
            }
        }
        if count_streams && !streams.contains(event.stream_id) {
            streams.insert(event.stream_id.to_owned());
        }
        Ok(())
    })?;
    bar.finish_and_clear();
    Ok(Counted {
        head,
        streams: count_streams.then_some(streams.len()),
        types,
    })
}

/// What `stats` counts in one pass.
struct Counted {
    head: u64,
    streams: Option<usize>,
    types: BTreeMap<String, u64>,
}
