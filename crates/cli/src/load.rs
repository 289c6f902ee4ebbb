//! `service-lifecycle load`: a dealership's master data from CSV files (models, parts,
//! customers, units in stock, technicians), one file per kind with a header row, in the
//! columns docs/csv-load.md documents.
//!
//! Everything is checked before anything is written: each cell (an error names the file, the
//! line and the column and says what is wrong), then every command the rows stand for, run
//! through the real rules on a scratch copy in memory (with the store's catalogue), then against
//! the store (an entity it holds already). Only then is it written, as one atomic import: the
//! store holds all of it or none of it, also after a crash. Every command's id is derived from
//! its row, so loading the same files again changes nothing.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use service_lifecycle_core::kernel::{
    derived_uuid, AtomicImport, AtomicImportError, CommandContext, CommandId, EventStore,
    ExpectedVersion, MemoryStore, NewEvent, StreamId, Vault,
};
use service_lifecycle_core::*;

/// The kinds of master data, in the order they are loaded (each may name the ones before).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// `models.csv`: the catalogue.
    Models,
    /// `parts.csv`: spare parts, the models using them, initial stock.
    Parts,
    /// `technicians.csv`: staff, trained and certified.
    Technicians,
    /// `customers.csv`: customers with their personal data.
    Customers,
    /// `units.csv`: units in stock.
    Units,
}

impl std::fmt::Display for Kind {
    /// What a summary counts: `models`, `parts`, ...
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let file = self.file_name();
        f.write_str(file.strip_suffix(".csv").unwrap_or(file))
    }
}

impl Kind {
    /// Every kind, in loading order.
    pub const ALL: [Self; 5] = [
        Self::Models,
        Self::Parts,
        Self::Technicians,
        Self::Customers,
        Self::Units,
    ];

    /// The file's usual name (`models.csv`, ...), which `--from DIR` looks for.
    pub fn file_name(self) -> &'static str {
        match self {
            Self::Models => "models.csv",
            Self::Parts => "parts.csv",
            Self::Technicians => "technicians.csv",
            Self::Customers => "customers.csv",
            Self::Units => "units.csv",
        }
    }

    /// The columns the file may have: the required ones first.
    fn columns(self) -> (&'static [&'static str], &'static [&'static str]) {
        match self {
            Self::Models => (
                &[
                    "name",
                    "manufacturer",
                    "category",
                    "warranty_months",
                    "warranty_starts",
                ],
                &[
                    "model_id",
                    "discontinued_on",
                    "guarantee_years",
                    "last_order_date",
                ],
            ),
            Self::Parts => (&["part_number", "models"], &["reorder_point", "stock"]),
            Self::Technicians => (
                &["name"],
                &[
                    "technician_id",
                    "trained",
                    "certified_models",
                    "certified_until",
                    "hired_on",
                ],
            ),
            Self::Customers => (
                &["name", "contact"],
                &[
                    "customer_id",
                    "target_group",
                    "level",
                    "account_owner",
                    "registered_on",
                ],
            ),
            Self::Units => (&["serial", "model"], &["received_on", "ready_for_sale"]),
        }
    }
}

/// The files to load, by kind; a kind without a file is not loaded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadFiles {
    files: BTreeMap<Kind, PathBuf>,
}

impl LoadFiles {
    /// No files.
    pub fn new() -> Self {
        Self::default()
    }

    /// Loads `kind` from `path`.
    pub fn with(mut self, kind: Kind, path: impl Into<PathBuf>) -> Self {
        self.files.insert(kind, path.into());
        self
    }

    /// Every file of [`Kind::file_name`] found in `dir`.
    pub fn in_dir(dir: &Path) -> Self {
        let mut files = Self::new();
        for kind in Kind::ALL {
            let path = dir.join(kind.file_name());
            if path.is_file() {
                files = files.with(kind, path);
            }
        }
        files
    }

    /// Whether no file is named.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

/// Why a load wrote nothing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// A file could not be read.
    #[error("cannot read {file}: {source}")]
    Read {
        /// The file.
        file: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The header row lacks a column, or names one the kind does not have.
    #[error("{file}, line 1 (the header): {problem}")]
    Header {
        /// The file.
        file: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// A cell is not what its column holds.
    #[error("{file}, line {line}, column {column}: {problem}")]
    Cell {
        /// The file.
        file: PathBuf,
        /// The line (1 is the header).
        line: u64,
        /// The column's name.
        column: String,
        /// What is wrong, in words.
        problem: String,
    },
    /// A row is not valid CSV.
    #[error("{file}, line {line}: {problem}")]
    Row {
        /// The file.
        file: PathBuf,
        /// The line.
        line: u64,
        /// What is wrong.
        problem: String,
    },
    /// The rules refuse what a row asks.
    #[error("{file}, line {line}: {error}")]
    Refused {
        /// The file.
        file: PathBuf,
        /// The line.
        line: u64,
        /// The rule, in words.
        error: Box<ServiceError>,
    },
    /// The store holds the entity a row creates already, from other data.
    #[error("{file}, line {line}: the store holds {stream} already, recorded otherwise than this row says (change it with a command, `service-lifecycle exec`, instead)")]
    Exists {
        /// The file.
        file: PathBuf,
        /// The line.
        line: u64,
        /// The entity's stream.
        stream: String,
    },
    /// The store failed.
    #[error("the store failed: {0}")]
    Store(Box<dyn std::error::Error + Send + Sync>),
}

impl LoadError {
    fn store(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Store(Box::new(error))
    }
}

/// What a load wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadSummary {
    /// Entities (models, parts, ...) per kind written now.
    pub loaded: BTreeMap<Kind, u64>,
    /// Entities the store held already from the same rows (an earlier load of them).
    pub already_loaded: u64,
    /// Events written.
    pub events: u64,
}

/// One command a row stands for, with the row it came from.
struct Planned {
    kind: Kind,
    file: PathBuf,
    line: u64,
    id: CommandId,
    command: ServiceCommand,
}

/// Loads `files` into `store` (personal data into `vault`), all or nothing; `now` is the time
/// of rows that give none. The store's own policies follow what was loaded (a part of a model
/// discontinued before gets the discontinuation) the next time the application opens on it,
/// or when a running one processes its policies.
pub fn load<S>(
    store: &S,
    vault: &dyn Vault,
    files: &LoadFiles,
    now: DateTime<Utc>,
) -> Result<LoadSummary, LoadError>
where
    S: EventStore<ServiceEvent> + AtomicImport<ServiceEvent>,
{
    if files.is_empty() {
        return Ok(LoadSummary::default());
    }
    let catalogue = read_catalogue(store).map_err(LoadError::store)?;
    let planned = plan(files, &catalogue, now)?;
    // The scratch copy: the store's catalogue, then every command, through the real rules.
    let scratch = MemoryStore::<ServiceEvent>::new();
    let service = ServiceLifecycle::new(scratch.clone()).map_err(LoadError::store)?;
    let introduced_by_rows: std::collections::BTreeSet<ModelId> = planned
        .iter()
        .filter_map(|row| match &row.command {
            ServiceCommand::Model(ModelCommand::Introduce { model, .. }) => Some(*model),
            _ => None,
        })
        .collect();
    for (model, details) in &catalogue {
        if introduced_by_rows.contains(model) {
            // The row's own introduction decides: the same as before (loaded earlier), or not.
            continue;
        }
        let introduce = ModelCommand::Introduce {
            model: *model,
            details: details.clone(),
            at: now,
        };
        service
            .model(introduce, &CommandContext::new())
            .map_err(LoadError::store)?;
    }
    let seeded = scratch.head_position().map_err(LoadError::store)?;
    let mut rows_of_stream: HashMap<String, (Kind, PathBuf, u64)> = HashMap::new();
    let mut registrations = Vec::new();
    for row in &planned {
        let outcome = service
            .execute(
                row.command.clone(),
                &CommandContext::with_command_id(row.id),
            )
            .map_err(|error| LoadError::Refused {
                file: row.file.clone(),
                line: row.line,
                error: Box::new(error),
            })?;
        rows_of_stream
            .entry(outcome.stream)
            .or_insert_with(|| (row.kind, row.file.clone(), row.line));
        if let ServiceCommand::RegisterCustomer(registration) = &row.command {
            registrations.push(registration.clone());
        }
    }
    // Against the store: a stream it holds is either this load's (the same first event: the
    // rows were loaded before, and are left out) or another's (refused).
    let mut in_store: HashMap<String, InStore> = HashMap::new();
    let mut events = 0u64;
    for stored in scratch.read_all(seeded + 1).map_err(LoadError::store)? {
        let stored = stored.map_err(LoadError::store)?;
        let stream = stored.stream_id.as_str().to_owned();
        let state = match in_store.get(&stream) {
            Some(state) => *state,
            None => {
                let state = InStore::of(store, &stored)?;
                in_store.insert(stream.clone(), state);
                state
            }
        };
        match state {
            InStore::New => events += 1,
            InStore::LoadedBefore => {}
            InStore::HeldOtherwise => {
                // Only a stream a row created can be held otherwise (the policies' streams
                // follow from those).
                if let Some((_, file, line)) = rows_of_stream.get(&stream) {
                    return Err(LoadError::Exists {
                        file: file.clone(),
                        line: *line,
                        stream,
                    });
                }
            }
        }
    }
    let mut summary = LoadSummary::default();
    for (stream, (kind, _, _)) in &rows_of_stream {
        match in_store.get(stream) {
            Some(InStore::New) => *summary.loaded.entry(*kind).or_default() += 1,
            _ => summary.already_loaded += 1,
        }
    }
    // The personal data first (a crash before the events leaves records nobody refers to, which
    // the same load again completes), then the events as one import.
    for registration in &registrations {
        let stream = Customer::stream_id(registration.customer).map_err(LoadError::store)?;
        if in_store.get(stream.as_str()) == Some(&InStore::New) {
            put_personal_data(vault, registration.customer, &registration.personal_data)
                .map_err(LoadError::store)?;
        }
    }
    summary.events = events;
    if events > 0 {
        // The scratch log read a second time, straight into the import: one run per stretch of
        // consecutive events of a stream, so memory holds a run, not the load.
        store
            .import_atomically(|sink| {
                let mut run: Option<(StreamId, u64, Vec<NewEvent<ServiceEvent>>)> = None;
                let mut append = |run: Option<(StreamId, u64, Vec<NewEvent<ServiceEvent>>)>| {
                    let Some((stream, first_version, events)) = run else {
                        return Ok(());
                    };
                    let expected = if first_version == 1 {
                        ExpectedVersion::NoStream
                    } else {
                        ExpectedVersion::Exact(first_version - 1)
                    };
                    sink.append_run(&stream, expected, events)
                        .map_err(LoadError::store)
                };
                for stored in scratch.read_all(seeded + 1).map_err(LoadError::store)? {
                    let stored = stored.map_err(LoadError::store)?;
                    if in_store.get(stored.stream_id.as_str()) != Some(&InStore::New) {
                        continue;
                    }
                    let stored = stored.into_owned();
                    let event = NewEvent {
                        event_id: stored.event_id,
                        recorded_at: stored.recorded_at,
                        correlation_id: stored.correlation_id,
                        causation_id: stored.causation_id,
                        metadata: stored.metadata,
                        event: stored.event,
                    };
                    match &mut run {
                        Some((stream, _, events)) if *stream == stored.stream_id => {
                            events.push(event);
                        }
                        _ => {
                            let next = (stored.stream_id, stored.stream_version, vec![event]);
                            append(run.replace(next))?;
                        }
                    }
                }
                append(run)
            })
            .map_err(|error| match error {
                AtomicImportError::Feed(error) => error,
                other => LoadError::store(other),
            })?;
    }
    Ok(summary)
}

/// What the store holds of a stream the load writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InStore {
    /// Nothing: the load writes it.
    New,
    /// The same first event: this load ran before; left out.
    LoadedBefore,
    /// Other events: the row is refused.
    HeldOtherwise,
}

impl InStore {
    /// What `store` holds of the stream of `first`, the stream's first event in the scratch copy.
    fn of<S: EventStore<ServiceEvent>>(
        store: &S,
        first: &service_lifecycle_core::kernel::Envelope<ServiceEvent>,
    ) -> Result<Self, LoadError> {
        let held = store
            .read_stream(&first.stream_id, 1)
            .map_err(LoadError::store)?
            .next()
            .transpose()
            .map_err(LoadError::store)?;
        Ok(match held {
            None => Self::New,
            Some(held) if first.stream_version == 1 && held.event_id == first.event_id => {
                Self::LoadedBefore
            }
            Some(_) => Self::HeldOtherwise,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Reading the files
// ---------------------------------------------------------------------------------------------

/// The ids of entities a row gives none for are derived from what identifies it, so the same
/// row always names the same entity.
const ID_NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x5e41_1ce0_10ad_4c5b_8000_0000_0000_0001);

fn derived(kind: &str, key: &str) -> uuid::Uuid {
    derived_uuid(ID_NAMESPACE, format!("{kind}\u{0}{key}").as_bytes())
}

/// One row of a file, with what it takes to say where a cell is wrong.
struct Row<'a> {
    file: &'a Path,
    line: u64,
    header: &'a csv::StringRecord,
    record: &'a csv::StringRecord,
}

impl Row<'_> {
    /// The trimmed cell of `column`, `None` when the file lacks the column or the cell is empty.
    fn get(&self, column: &str) -> Option<&str> {
        let index = self.header.iter().position(|name| name == column)?;
        self.record
            .get(index)
            .map(str::trim)
            .filter(|cell| !cell.is_empty())
    }

    fn error(&self, column: &str, problem: impl Into<String>) -> LoadError {
        LoadError::Cell {
            file: self.file.to_owned(),
            line: self.line,
            column: column.to_owned(),
            problem: problem.into(),
        }
    }

    /// The cell of a required column.
    fn required(&self, column: &str) -> Result<&str, LoadError> {
        self.get(column)
            .ok_or_else(|| self.error(column, "the cell is empty; this column needs a value"))
    }

    /// The cell of `column` parsed by `parse`, whose error says what the cell should be.
    fn parsed<T>(
        &self,
        column: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<Option<T>, LoadError> {
        self.get(column)
            .map(|cell| parse(cell).map_err(|problem| self.error(column, problem)))
            .transpose()
    }

    /// The cell of a required column parsed by `parse`.
    fn required_parsed<T>(
        &self,
        column: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<T, LoadError> {
        parse(self.required(column)?).map_err(|problem| self.error(column, problem))
    }

    /// A stable key of the row's content, for the ids of its commands: its non-empty cells by
    /// column name, so neither the order of the columns nor an empty optional one changes it.
    fn content(&self) -> String {
        let cells: BTreeMap<&str, &str> = self
            .header
            .iter()
            .zip(self.record.iter())
            .map(|(name, cell)| (name, cell.trim()))
            .filter(|(_, cell)| !cell.is_empty())
            .collect();
        cells
            .iter()
            .map(|(name, cell)| format!("{name}={cell}"))
            .collect::<Vec<_>>()
            .join("\u{1}")
    }

    /// The ids of the row's commands: one per `index`, from the row's content.
    fn command_id(&self, kind: Kind, index: u32) -> CommandId {
        CommandId::from_uuid(derived(
            kind.file_name(),
            &format!("{}\u{2}{index}", self.content()),
        ))
    }
}

fn uuid_cell(text: &str) -> Result<uuid::Uuid, String> {
    uuid::Uuid::parse_str(text).map_err(|_| {
        format!("{text:?} is not an id (a UUID such as 0190a5b4-0000-7000-8000-000000000001)")
    })
}

fn whole_number(text: &str) -> Result<u32, String> {
    text.parse()
        .map_err(|_| format!("{text:?} is not a whole number from 0 to {}", u32::MAX))
}

fn date_cell(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| format!("{text:?} is not a date (YYYY-MM-DD)"))
}

fn yes_no(text: &str) -> Result<bool, String> {
    match text.to_ascii_lowercase().as_str() {
        "yes" | "y" | "true" | "1" => Ok(true),
        "no" | "n" | "false" | "0" => Ok(false),
        _ => Err(format!("{text:?} is neither yes nor no")),
    }
}

/// A serde enum's value from its name (`on_delivery`, `small_business`), or the names it takes.
fn named<T: serde::de::DeserializeOwned>(text: &str, names: &[&str]) -> Result<T, String> {
    serde_json::from_value(serde_json::Value::String(text.to_ascii_lowercase()))
        .map_err(|_| format!("{text:?} is not one of {}", names.join(", ")))
}

/// The instant of a day's start, for rows dated by day.
fn start_of(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(NaiveTime::MIN).and_utc()
}

/// The models of the catalogue and of the files, by id and by name.
struct ModelNames {
    by_name: HashMap<String, ModelId>,
    ids: std::collections::HashSet<ModelId>,
}

impl ModelNames {
    fn resolve(&self, text: &str) -> Result<ModelId, String> {
        if let Ok(id) = uuid::Uuid::parse_str(text) {
            let id = ModelId::from_uuid(id);
            return if self.ids.contains(&id) {
                Ok(id)
            } else {
                Err(format!(
                    "model {id} is neither in the catalogue nor in models.csv"
                ))
            };
        }
        self.by_name
            .get(&text.to_lowercase())
            .copied()
            .ok_or_else(|| format!("no model is named {text:?} in the catalogue or in models.csv"))
    }
}

/// Reads `path` as a CSV file of `kind`, checking its header, and calls `each` with each row.
fn read_rows(
    kind: Kind,
    path: &Path,
    mut each: impl FnMut(&Row<'_>) -> Result<(), LoadError>,
) -> Result<(), LoadError> {
    let file = std::fs::File::open(path).map_err(|source| LoadError::Read {
        file: path.to_owned(),
        source,
    })?;
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::Headers)
        .flexible(false)
        .from_reader(file);
    let row_error = |line: u64, error: csv::Error| match error.kind() {
        csv::ErrorKind::Io(_) => LoadError::Read {
            file: path.to_owned(),
            source: std::io::Error::other(error.to_string()),
        },
        _ => LoadError::Row {
            file: path.to_owned(),
            line,
            problem: error.to_string(),
        },
    };
    let mut header = reader
        .headers()
        .map_err(|error| row_error(1, error))?
        .clone();
    // A spreadsheet's UTF-8 export may begin with a byte-order mark.
    if let Some(first) = header.get(0) {
        if let Some(stripped) = first.strip_prefix('\u{feff}') {
            let mut fixed: Vec<String> = header.iter().map(str::to_owned).collect();
            fixed[0] = stripped.to_owned();
            header = csv::StringRecord::from(fixed);
        }
    }
    let (required, optional) = kind.columns();
    let header_error = |problem: String| LoadError::Header {
        file: path.to_owned(),
        problem,
    };
    let mut seen = std::collections::HashSet::new();
    for name in header.iter() {
        if !required.contains(&name) && !optional.contains(&name) {
            return Err(header_error(format!(
                "{name:?} is not a column of {} (its columns: {}; optional: {})",
                kind.file_name(),
                required.join(", "),
                optional.join(", ")
            )));
        }
        if !seen.insert(name) {
            return Err(header_error(format!("column {name:?} appears twice")));
        }
    }
    if let Some(missing) = required.iter().find(|name| !seen.contains(*name)) {
        return Err(header_error(format!(
            "the column {missing:?} is missing (needed: {})",
            required.join(", ")
        )));
    }
    let mut record = csv::StringRecord::new();
    loop {
        let line = reader.position().line();
        match reader.read_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => {}
            Err(error) => return Err(row_error(line, error)),
        }
        let line = record.position().map_or(line, csv::Position::line);
        if record.iter().all(|cell| cell.trim().is_empty()) {
            continue;
        }
        each(&Row {
            file: path,
            line,
            header: &header,
            record: &record,
        })?;
    }
}

/// Every command the files stand for, in loading order, each with its row.
fn plan(
    files: &LoadFiles,
    catalogue: &BTreeMap<ModelId, ModelDetails>,
    now: DateTime<Utc>,
) -> Result<Vec<Planned>, LoadError> {
    let mut planned = Vec::new();
    let mut models = ModelNames {
        by_name: catalogue
            .iter()
            .map(|(id, details)| (details.name.to_lowercase(), *id))
            .collect(),
        ids: catalogue.keys().copied().collect(),
    };
    // The line of the row that named each entity (and each model name) first.
    let mut first_lines: HashMap<String, u64> = HashMap::new();
    let mut once = |row: &Row<'_>, column: &str, what: String| -> Result<(), LoadError> {
        match first_lines.get(&what) {
            Some(first) => Err(row.error(
                column,
                format!("{what} is on line {first} already: each entity is on one row"),
            )),
            None => {
                first_lines.insert(what, row.line);
                Ok(())
            }
        }
    };
    for (kind, path) in &files.files {
        let mut push = |row: &Row<'_>, index: u32, command: ServiceCommand| {
            planned.push(Planned {
                kind: *kind,
                file: path.clone(),
                line: row.line,
                id: row.command_id(*kind, index),
                command,
            });
        };
        match kind {
            Kind::Models => read_rows(*kind, path, |row| {
                let name = row.required("name")?;
                let model = match row.parsed("model_id", uuid_cell)? {
                    Some(id) => ModelId::from_uuid(id),
                    None => ModelId::from_uuid(derived("model", &name.to_lowercase())),
                };
                let warranty = WarrantyTerms {
                    months: row.required_parsed("warranty_months", whole_number)?,
                    starts: row.required_parsed("warranty_starts", |text| {
                        named(text, &["on_sale", "on_delivery", "on_installation"])
                    })?,
                };
                let details = ModelDetails {
                    name: name.to_owned(),
                    manufacturer: row.required("manufacturer")?.to_owned(),
                    category: row.required("category")?.to_owned(),
                    warranty,
                };
                once(row, "model_id", format!("model {model}"))?;
                once(
                    row,
                    "name",
                    format!("the model name {:?}", name.to_lowercase()),
                )?;
                let discontinued_on = row.parsed("discontinued_on", date_cell)?;
                // A model that left production before the load was in the catalogue by then.
                let at = discontinued_on.map_or(now, |on| now.min(start_of(on)));
                models.by_name.insert(name.to_lowercase(), model);
                models.ids.insert(model);
                push(
                    row,
                    0,
                    ServiceCommand::Model(ModelCommand::Introduce { model, details, at }),
                );
                if let Some(on) = discontinued_on {
                    let guarantee_years = row
                        .parsed("guarantee_years", whole_number)?
                        .unwrap_or(DEFAULT_GUARANTEE_YEARS);
                    let last_order_date = match row.parsed("last_order_date", date_cell)? {
                        Some(date) => date,
                        None => guarantee_end(on, guarantee_years).unwrap_or(on),
                    };
                    push(
                        row,
                        1,
                        ServiceCommand::Model(ModelCommand::Discontinue {
                            model,
                            guarantee_years,
                            last_order_date,
                            at: start_of(on),
                        }),
                    );
                }
                Ok(())
            })?,
            Kind::Parts => read_rows(*kind, path, |row| {
                let part = PartNumber::new(row.required("part_number")?)
                    .map_err(|error| row.error("part_number", error.to_string()))?;
                once(row, "part_number", format!("part {part}"))?;
                let mut uses = BTreeMap::new();
                for entry in row
                    .required("models")?
                    .split(';')
                    .map(str::trim)
                    .filter(|e| !e.is_empty())
                {
                    let (name, quantity) = match entry
                        .rsplit_once(':')
                        .map(|(name, quantity)| (name.trim(), quantity.trim().parse::<u32>()))
                    {
                        Some((name, Ok(quantity))) => (name, quantity),
                        _ => (entry, 1),
                    };
                    let model = models
                        .resolve(name)
                        .map_err(|problem| row.error("models", problem))?;
                    uses.insert(model, quantity);
                }
                let reorder_point = row.parsed("reorder_point", whole_number)?.unwrap_or(0);
                push(
                    row,
                    0,
                    ServiceCommand::Part(PartCommand::RegisterPart {
                        part: part.clone(),
                        models: uses,
                        reorder_point,
                        at: now,
                    }),
                );
                if let Some(quantity) = row.parsed("stock", whole_number)?.filter(|q| *q > 0) {
                    push(
                        row,
                        1,
                        ServiceCommand::Part(PartCommand::ReceiveStock {
                            part,
                            location: Location::CentralWarehouse,
                            quantity,
                            at: now,
                        }),
                    );
                }
                Ok(())
            })?,
            Kind::Technicians => {
                read_rows(*kind, path, |row| {
                    let name = row.required("name")?;
                    let technician =
                        TechnicianId::from_uuid(match row.parsed("technician_id", uuid_cell)? {
                            Some(id) => id,
                            None => derived("technician", name),
                        });
                    once(row, "technician_id", format!("technician {technician}"))?;
                    let at = row.parsed("hired_on", date_cell)?.map_or(now, start_of);
                    push(
                        row,
                        0,
                        ServiceCommand::Technician(TechnicianCommand::Hire { technician, at }),
                    );
                    push(
                        row,
                        10_000,
                        ServiceCommand::Technician(TechnicianCommand::RecordName {
                            technician,
                            name: name.to_owned(),
                            at,
                        }),
                    );
                    let trained = row.parsed("trained", yes_no)?.unwrap_or(true);
                    if trained {
                        push(
                            row,
                            1,
                            ServiceCommand::Technician(
                                TechnicianCommand::CompleteStandardsTraining { technician, at },
                            ),
                        );
                    }
                    let certified: Vec<&str> = row
                        .get("certified_models")
                        .map(|cell| {
                            cell.split(';')
                                .map(str::trim)
                                .filter(|e| !e.is_empty())
                                .collect()
                        })
                        .unwrap_or_default();
                    if !certified.is_empty() {
                        let until = row
                        .parsed("certified_until", date_cell)?
                        .ok_or_else(|| row.error("certified_until", "the technician is certified for models: say until when (YYYY-MM-DD)"))?;
                        for (index, name) in certified.into_iter().enumerate() {
                            let model = models
                                .resolve(name)
                                .map_err(|problem| row.error("certified_models", problem))?;
                            push(
                                row,
                                2 + index as u32,
                                ServiceCommand::Technician(TechnicianCommand::Certify {
                                    technician,
                                    model,
                                    until,
                                    at,
                                }),
                            );
                        }
                    }
                    Ok(())
                })?
            }
            Kind::Customers => read_rows(*kind, path, |row| {
                let name = row.required("name")?;
                let contact = row.required("contact")?;
                let customer =
                    CustomerId::from_uuid(match row.parsed("customer_id", uuid_cell)? {
                        Some(id) => id,
                        None => derived("customer", &format!("{name}\u{0}{contact}")),
                    });
                once(row, "customer_id", format!("customer {customer}"))?;
                let at = row
                    .parsed("registered_on", date_cell)?
                    .map_or(now, start_of);
                let mut registration =
                    Registration::new(customer, PersonalData::new(name, contact), at);
                if let Some(group) = row.get("target_group") {
                    registration = registration.target_group(
                        named(group, &[]).unwrap_or_else(|_| TargetGroup::Named(group.to_owned())),
                    );
                }
                if let Some(level) = row.parsed("level", |text| {
                    named(
                        text,
                        &[
                            "basic",
                            "reactive",
                            "accountable",
                            "proactive",
                            "partnership",
                        ],
                    )
                })? {
                    registration = registration.level(level);
                }
                if let Some(owner) = row.parsed("account_owner", uuid_cell)? {
                    registration = registration.account_owner(AccountOwnerId::from_uuid(owner));
                }
                push(row, 0, ServiceCommand::RegisterCustomer(registration));
                Ok(())
            })?,
            Kind::Units => read_rows(*kind, path, |row| {
                let serial = SerialNumber::new(row.required("serial")?)
                    .map_err(|error| row.error("serial", error.to_string()))?;
                let model = models
                    .resolve(row.required("model")?)
                    .map_err(|problem| row.error("model", problem))?;
                let at = row.parsed("received_on", date_cell)?.map_or(now, start_of);
                let product = ProductId::of(model, &serial);
                once(row, "serial", format!("unit {serial} of model {model}"))?;
                push(
                    row,
                    0,
                    ServiceCommand::Product(ProductCommand::ReceiveUnit { model, serial, at }),
                );
                if row.parsed("ready_for_sale", yes_no)?.unwrap_or(false) {
                    push(
                        row,
                        1,
                        ServiceCommand::Product(ProductCommand::Commission { product, at }),
                    );
                    push(
                        row,
                        2,
                        ServiceCommand::Product(ProductCommand::RecordTestRun {
                            product,
                            passed: true,
                            notes: "loaded as ready for sale".to_owned(),
                            at,
                        }),
                    );
                }
                Ok(())
            })?,
        }
    }
    Ok(planned)
}
