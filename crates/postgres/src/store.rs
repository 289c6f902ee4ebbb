//! The store: appends as one transaction each, numbered into the gapless global log by a
//! sequencer step after commit (docs/decisions/0006-postgres-positions.md), reads in pages.

use std::borrow::Cow;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use postgres::error::SqlState;
use postgres::types::{ToSql, Type};
use postgres::{GenericClient, NoTls, Row};
use r2d2_postgres::PostgresConnectionManager;
use service_lifecycle_kernel::store::{
    classify_retry, validate_append, CommitSignal, StoredAppend,
};
use service_lifecycle_kernel::{
    AppendError, AppendResult, CommitNotifier, Envelope, Event, EventDecoder, EventId,
    EventLocation, EventRef, EventStore, ExpectedVersion, Metadata, NewEvent, ReadError, StreamId,
    Upcasters,
};
use uuid::Uuid;

use crate::schema::{prepare, SchemaError};

/// A pooled connection.
pub(crate) type Connection = r2d2::PooledConnection<PostgresConnectionManager<NoTls>>;

/// How an append is made durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `synchronous_commit = on`: an append returns once the server has flushed its WAL, so it
    /// survives a crash of the server.
    #[default]
    Flush,
    /// `synchronous_commit = off` for the append's transaction: a crash of the server may lose
    /// the newest appends (never part of one). Numbering into the global log is always
    /// synchronous, so a position once read never changes.
    Buffered,
}

/// How [`PostgresStore::open_with`] opens a store.
pub struct PostgresOptions {
    pub(crate) durability: Durability,
    pub(crate) schema: String,
    pub(crate) pool_size: u32,
    pub(crate) connect_timeout: Duration,
    pub(crate) statement_timeout: Duration,
    pub(crate) lock_timeout: Duration,
    pub(crate) max_event_size: usize,
    pub(crate) poll_interval: Duration,
    pub(crate) upcasters: Upcasters,
    pub(crate) existing_only: bool,
}

impl fmt::Debug for PostgresOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresOptions")
            .field("durability", &self.durability)
            .field("schema", &self.schema)
            .field("pool_size", &self.pool_size)
            .field("connect_timeout", &self.connect_timeout)
            .field("statement_timeout", &self.statement_timeout)
            .field("lock_timeout", &self.lock_timeout)
            .field("max_event_size", &self.max_event_size)
            .finish_non_exhaustive()
    }
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self {
            durability: Durability::Flush,
            schema: "service_lifecycle".to_owned(),
            pool_size: 16,
            connect_timeout: Duration::from_secs(10),
            statement_timeout: Duration::from_secs(30),
            lock_timeout: Duration::from_secs(10),
            max_event_size: 1 << 20,
            poll_interval: Duration::from_millis(100),
            upcasters: Upcasters::new(),
            existing_only: false,
        }
    }
}

impl PostgresOptions {
    /// The defaults: Flush, schema `service_lifecycle`, 16 connections, 10 s to connect, 30 s per
    /// statement, 10 s to wait for a lock, events up to 1 MiB.
    pub fn new() -> Self {
        Self::default()
    }

    /// How appends are made durable.
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// The PostgreSQL schema (namespace) holding the store's tables: several stores can share a
    /// database under different names. A name of letters, digits and `_`, at most 40 bytes (its
    /// notification channel's name must stay within PostgreSQL's 63).
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = schema.into();
        self
    }

    /// The most connections the store keeps open at once (threads beyond it wait for one).
    pub fn pool_size(mut self, connections: u32) -> Self {
        self.pool_size = connections.max(2);
        self
    }

    /// How long to wait for a connection (from the server, or from the pool).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The longest any one statement may run (`statement_timeout`).
    pub fn statement_timeout(mut self, timeout: Duration) -> Self {
        self.statement_timeout = timeout;
        self
    }

    /// The longest a statement waits for a lock (`lock_timeout`).
    pub fn lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout;
        self
    }

    /// The largest encoded event payload accepted.
    pub fn max_event_size(mut self, bytes: usize) -> Self {
        self.max_event_size = bytes;
        self
    }

    /// How often a waiting reader looks at the head when no notification arrives.
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// Upcasters for payloads stored at older schema versions.
    pub fn upcasters(mut self, upcasters: Upcasters) -> Self {
        self.upcasters = upcasters;
        self
    }

    /// Opens only a store that exists: no schema or table is created or migrated, and a
    /// database without the store's tables is [`OpenError::NoStore`]. For reading commands.
    pub fn existing_only(mut self) -> Self {
        self.existing_only = true;
        self
    }
}

/// Why a store could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The URL is not a PostgreSQL connection string.
    #[error("{url:?} is not a PostgreSQL URL (postgres://user@host/database, or key=value pairs): {source}")]
    Url {
        /// What was given (its password, if any, hidden).
        url: String,
        /// Why it does not parse.
        source: postgres::Error,
    },
    /// The schema name is not one the store accepts.
    #[error("{0:?} is not a schema name this store accepts (letters, digits and '_', starting with a letter, at most 40 bytes)")]
    SchemaName(String),
    /// No connection could be made.
    #[error("cannot connect to the PostgreSQL server at {url}: {source}")]
    Connect {
        /// Where (its password, if any, hidden).
        url: String,
        /// Why.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The tables could not be made ready.
    #[error(transparent)]
    Schema(#[from] SchemaError),
    /// Opened with [`PostgresOptions::existing_only`], and there is no store in the schema.
    #[error("there is no store in schema {schema} of the database at {url} (its tables do not exist); create one by opening it to write, with `service-lifecycle simulate` or `import`")]
    NoStore {
        /// The schema looked in.
        schema: String,
        /// The database (its password, if any, hidden).
        url: String,
    },
}

/// Stable advisory lock keys of one store (derived from its schema name).
#[derive(Debug, Clone, Copy)]
pub(crate) struct LockKeys {
    /// Held (shared) by every append, (exclusive) by an import draining them.
    pub(crate) import_gate: i64,
    /// Held (exclusive, try) by the running import, so a second one is refused.
    pub(crate) import_running: i64,
    /// Held by the sequencer step: one numbering at a time.
    pub(crate) sequencer: i64,
    /// Held while the tables are created or migrated.
    pub(crate) schema: i64,
}

impl LockKeys {
    fn of(schema: &str) -> Self {
        let base = i64::from(crc32fast::hash(schema.as_bytes())) << 8;
        Self {
            import_gate: base | 1,
            import_running: base | 2,
            sequencer: base | 3,
            schema: base | 4,
        }
    }
}

pub(crate) struct Inner<E> {
    pub(crate) pool: r2d2::Pool<PostgresConnectionManager<NoTls>>,
    pub(crate) url: String,
    pub(crate) schema: String,
    /// The schema name, quoted for SQL.
    pub(crate) quoted: String,
    pub(crate) keys: LockKeys,
    pub(crate) options: PostgresOptions,
    pub(crate) decoder: EventDecoder<E>,
    /// The newest head seen (from appends, reads and notifications).
    pub(crate) head: AtomicU64,
    pub(crate) commits: CommitSignal,
    /// Set when the store is dropped: the listener thread ends.
    pub(crate) closed: Arc<AtomicBool>,
    /// Held by the thread of this process running a sequencer step: the others wait for it
    /// and look up their positions instead of queueing steps of their own.
    pub(crate) stepping: std::sync::Mutex<()>,
}

impl<E> Drop for Inner<E> {
    fn drop(&mut self) {
        self.closed.store(true, Ordering::SeqCst);
    }
}

/// The event store on PostgreSQL.
///
/// Many processes and threads append to and read one database at once; every guarantee of the
/// kernel's [`EventStore`] holds across them (the conformance suite runs against a real server):
/// contiguous stream versions under optimistic concurrency, atomic appends, idempotent retries
/// by event id, and a global log numbered 1, 2, 3, … that a reader never sees with a gap.
///
/// Cloning is cheap: clones share the connection pool.
pub struct PostgresStore<E> {
    pub(crate) inner: Arc<Inner<E>>,
}

impl<E> Clone for PostgresStore<E> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<E> fmt::Debug for PostgresStore<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("url", &self.inner.url)
            .field("schema", &self.inner.schema)
            .field("durability", &self.inner.options.durability)
            .finish_non_exhaustive()
    }
}

/// Sets the session's timeouts on every new connection.
#[derive(Debug)]
struct SessionSettings {
    statement_timeout: Duration,
    lock_timeout: Duration,
}

impl r2d2::CustomizeConnection<postgres::Client, postgres::Error> for SessionSettings {
    fn on_acquire(&self, client: &mut postgres::Client) -> Result<(), postgres::Error> {
        client.batch_execute(&format!(
            "SET statement_timeout = {}; SET lock_timeout = {}; SET idle_in_transaction_session_timeout = {};",
            self.statement_timeout.as_millis(),
            self.lock_timeout.as_millis(),
            self.statement_timeout.as_millis().max(60_000),
        ))
    }
}

/// `url` with its password hidden, for messages and logs: `postgres://app:***@db/shop`, and a
/// key=value connection string that holds a password replaced by words.
pub fn redacted(url: &str) -> String {
    if url.contains("password=") {
        return "(a connection string with a password)".to_owned();
    }
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme + 3],
                    &credentials[..colon],
                    &url[at..]
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

fn valid_schema_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 40
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl<E: Event> PostgresStore<E> {
    /// Opens the store at `url` (`postgres://user:password@host:port/database`, or
    /// `host=/run/postgresql dbname=...`) with the default options, creating its tables if
    /// they do not exist.
    pub fn open(url: &str) -> Result<Self, OpenError> {
        Self::open_with(url, PostgresOptions::default())
    }

    /// Opens the store at `url` with `options`.
    pub fn open_with(url: &str, mut options: PostgresOptions) -> Result<Self, OpenError> {
        let shown = redacted(url);
        if !valid_schema_name(&options.schema) {
            return Err(OpenError::SchemaName(options.schema));
        }
        let mut config: postgres::Config = url.parse().map_err(|source| OpenError::Url {
            url: shown.clone(),
            source,
        })?;
        config.connect_timeout(options.connect_timeout);
        let listener_config = config.clone();
        let manager = PostgresConnectionManager::new(config, NoTls);
        let pool = r2d2::Pool::builder()
            .max_size(options.pool_size)
            .min_idle(Some(1))
            // A broken connection is found when it is used (and its error says so); a test
            // query on every checkout would cost each call a round trip.
            .test_on_check_out(false)
            .connection_timeout(options.connect_timeout)
            .connection_customizer(Box::new(SessionSettings {
                statement_timeout: options.statement_timeout,
                lock_timeout: options.lock_timeout,
            }))
            .build(manager)
            .map_err(|source| OpenError::Connect {
                url: shown.clone(),
                source: Box::new(source),
            })?;
        let schema = options.schema.clone();
        let quoted = format!("\"{schema}\"");
        let keys = LockKeys::of(&schema);
        {
            let mut client = pool.get().map_err(|source| OpenError::Connect {
                url: shown.clone(),
                source: Box::new(source),
            })?;
            if options.existing_only {
                let exists: bool = client
                    .query_one(
                        "SELECT to_regclass($1) IS NOT NULL",
                        &[&format!("{quoted}.schema_version")],
                    )
                    .map_err(|source| OpenError::Connect {
                        url: shown.clone(),
                        source: Box::new(crate::error::described(source)),
                    })?
                    .get(0);
                if !exists {
                    return Err(OpenError::NoStore { schema, url: shown });
                }
                crate::schema::check_version(&mut *client, &schema, &quoted)?;
            } else {
                prepare(&mut *client, &schema, &quoted, keys.schema)?;
            }
        }
        let store = Self {
            inner: Arc::new(Inner {
                pool,
                url: shown,
                schema,
                quoted,
                keys,
                decoder: EventDecoder::new(std::mem::replace(
                    &mut options.upcasters,
                    Upcasters::new(),
                )),
                options,
                head: AtomicU64::new(0),
                commits: CommitSignal::new(),
                closed: Arc::new(AtomicBool::new(false)),
                stepping: std::sync::Mutex::new(()),
            }),
        };
        crate::listen::start(&store, listener_config);
        Ok(store)
    }

    /// The schema (namespace) holding the store's tables.
    pub fn schema(&self) -> &str {
        &self.inner.schema
    }

    /// How appends are made durable.
    pub fn durability(&self) -> Durability {
        self.inner.options.durability
    }

    /// A pooled connection.
    pub(crate) fn connection(
        &self,
    ) -> Result<Connection, Box<dyn std::error::Error + Send + Sync>> {
        self.inner.pool.get().map_err(|error| {
            format!(
                "no connection to {} within {:?}: {error}",
                self.inner.url, self.inner.options.connect_timeout
            )
            .into()
        })
    }

    /// A table of the store, qualified with its schema.
    pub(crate) fn table(&self, name: &str) -> String {
        format!("{}.{name}", self.inner.quoted)
    }

    /// The channel the sequencer notifies on.
    pub(crate) fn channel(&self) -> String {
        format!("service_lifecycle_{}", self.inner.schema)
    }

    /// Publishes a head seen, waking waiters if it moved.
    pub(crate) fn saw_head(&self, head: u64) {
        if self.inner.head.fetch_max(head, Ordering::SeqCst) < head {
            self.inner.commits.notify();
        }
    }

    /// The sequencer step: numbers every committed, unnumbered append into the global log, in
    /// the order of their append ids, in one transaction under the sequencer lock. Returns the
    /// new head, and where append `append` starts if it is numbered.
    pub(crate) fn sequence_for(
        &self,
        client: &mut impl GenericClient,
        append: Option<i64>,
    ) -> Result<(u64, Option<u64>), postgres::Error> {
        let (head, first) = number_appends(
            client,
            &self.inner.quoted,
            self.inner.keys.sequencer,
            &self.channel(),
            append,
        )?;
        self.saw_head(head);
        Ok((head, first))
    }

    /// [`sequence_for`](Self::sequence_for) no append in particular; the new head.
    pub(crate) fn sequence(&self, client: &mut impl GenericClient) -> Result<u64, postgres::Error> {
        self.sequence_for(client, None).map(|(head, _)| head)
    }

    /// The envelope of a row of [`ENVELOPE_COLUMNS`] (read by index: in that order).
    fn decode_row(
        &self,
        row: &Row,
        known_stream: Option<&StreamId>,
    ) -> Result<Envelope<E>, ReadError> {
        let position: Option<i64> = row.get(0);
        let position = position.map_or(0, |position| position as u64);
        let stream_name: &str = row.get(1);
        let stream_version: i64 = row.get(2);
        let record = || format!("stream {stream_name} version {stream_version}");
        let stream_id = match known_stream {
            Some(known) if known.as_str() == stream_name => known.clone(),
            _ => StreamId::new(stream_name).map_err(|problem| ReadError::Corrupt {
                record: record(),
                problem: format!("its stream id is invalid: {problem}"),
            })?,
        };
        let event_type: &str = row.get(4);
        let schema_version: i32 = row.get(5);
        let payload: &[u8] = row.get(11);
        let event = self
            .inner
            .decoder
            .decode_bytes(event_type, schema_version as u32, payload)
            .map_err(|source| ReadError::Decode { position, source })?;
        let secs: i64 = row.get(6);
        let nanos: i32 = row.get(7);
        let recorded_at = DateTime::<Utc>::from_timestamp(secs, nanos as u32).ok_or_else(|| {
            ReadError::Corrupt {
                record: record(),
                problem: format!("its recorded-at ({secs} s, {nanos} ns) is out of range"),
            }
        })?;
        let metadata: &str = row.get(10);
        let metadata: Metadata = if metadata == "{}" {
            Metadata::new()
        } else {
            serde_json::from_str(metadata).map_err(|error| ReadError::Corrupt {
                record: record(),
                problem: format!("its metadata is not a JSON object of strings: {error}"),
            })?
        };
        Ok(Envelope {
            event_id: EventId::from_uuid(row.get(3)),
            stream_id,
            stream_version: stream_version as u64,
            position,
            recorded_at,
            correlation_id: row.get(8),
            causation_id: row.get(9),
            metadata,
            event,
        })
    }

    /// The rows stored under `ids`, with what their append was, numbering pending appends first
    /// if one of them is not numbered yet.
    fn stored_under(
        &self,
        client: &mut impl GenericClient,
        ids: &[Uuid],
    ) -> Result<Vec<Row>, postgres::Error> {
        let query = format!(
            "SELECT {ENVELOPE_COLUMNS}, e.append_offset, \
             l.last_position - l.first_position + 1 AS append_len \
             FROM {} e LEFT JOIN {} l ON l.append_id = e.append_id WHERE e.event_id = ANY($1)",
            self.table("events"),
            self.table("log")
        );
        let rows = client.query(&query, &[&ids])?;
        if rows
            .iter()
            .any(|row| row.get::<_, Option<i64>>("position").is_none())
        {
            self.sequence(client)?;
            return client.query(&query, &[&ids]);
        }
        Ok(rows)
    }

    /// An exact retry's original result, or the typed error of a conflicting reuse of ids.
    fn classify(
        &self,
        stream: &StreamId,
        events: &[NewEvent<E>],
        rows: &[Row],
    ) -> Result<Option<AppendResult>, AppendError> {
        let mut by_id = std::collections::HashMap::new();
        for row in rows {
            let envelope = self
                .decode_row(row, Some(stream))
                .map_err(|error| storage(stream, error))?;
            let offset = row.get::<_, i32>("append_offset") as u64;
            // Unnumbered rows were sent back as a race before this is reached.
            let len = row.get::<_, Option<i64>>("append_len").unwrap_or(1).max(1) as u64;
            let first_version = envelope.stream_version - offset;
            let first_position = envelope.position - offset;
            let batch = AppendResult {
                first_version,
                last_version: first_version + len - 1,
                first_position,
                last_position: first_position + len - 1,
            };
            by_id.insert(envelope.event_id, (envelope, batch));
        }
        classify_retry(stream, events, |index| {
            Ok(by_id
                .remove(&events[index].event_id)
                .map(|(envelope, batch)| StoredAppend {
                    envelope: Cow::Owned(envelope),
                    batch,
                }))
        })
    }

    /// The encoded rows of an append, checked for size.
    pub(crate) fn encode(
        &self,
        stream: &StreamId,
        events: &[NewEvent<E>],
    ) -> Result<EncodedAppend, AppendError> {
        let mut encoded = EncodedAppend::default();
        for event in events {
            let mut payload = Vec::new();
            event
                .event
                .write_payload(&mut payload)
                .map_err(|source| AppendError::Encode {
                    stream: stream.clone(),
                    event_id: event.event_id,
                    source,
                })?;
            if payload.len() > self.inner.options.max_event_size {
                return Err(AppendError::TooLarge {
                    stream: stream.clone(),
                    event_id: event.event_id,
                    size: payload.len(),
                    limit: self.inner.options.max_event_size,
                });
            }
            encoded.event_ids.push(event.event_id.as_uuid());
            encoded
                .event_types
                .push(event.event.event_type().to_owned());
            encoded
                .schema_versions
                .push(event.event.schema_version() as i32);
            encoded.recorded_secs.push(event.recorded_at.timestamp());
            encoded
                .recorded_nanos
                .push(event.recorded_at.timestamp_subsec_nanos() as i32);
            encoded.correlation_ids.push(event.correlation_id);
            encoded.causation_ids.push(event.causation_id);
            encoded.metadata.push(
                serde_json::to_string(&event.metadata).map_err(|error| storage(stream, error))?,
            );
            encoded.payloads.push(payload);
        }
        Ok(encoded)
    }

    /// Calls the store's `append_events` function: the whole append in one statement.
    pub(crate) fn call_append(
        &self,
        client: &mut impl GenericClient,
        stream: &StreamId,
        expected: ExpectedVersion,
        encoded: &EncodedAppend,
        synchronous: bool,
    ) -> Result<Appended, postgres::Error> {
        let (min, max): (i64, i64) = match expected {
            ExpectedVersion::Any => (0, i64::MAX),
            ExpectedVersion::NoStream => (0, 0),
            ExpectedVersion::StreamExists => (1, i64::MAX),
            ExpectedVersion::Exact(version) => {
                let version = i64::try_from(version).unwrap_or(i64::MAX);
                (version, version)
            }
        };
        let synchronous = if synchronous { "on" } else { "off" };
        let params: [(&(dyn ToSql + Sync), Type); 14] = [
            (&self.inner.keys.import_gate, Type::INT8),
            (&synchronous, Type::TEXT),
            (&stream.as_str(), Type::TEXT),
            (&min, Type::INT8),
            (&max, Type::INT8),
            (&encoded.event_ids, Type::UUID_ARRAY),
            (&encoded.event_types, Type::TEXT_ARRAY),
            (&encoded.schema_versions, Type::INT4_ARRAY),
            (&encoded.recorded_secs, Type::INT8_ARRAY),
            (&encoded.recorded_nanos, Type::INT4_ARRAY),
            (&encoded.correlation_ids, Type::UUID_ARRAY),
            (&encoded.causation_ids, Type::UUID_ARRAY),
            (&encoded.metadata, Type::TEXT_ARRAY),
            (&encoded.payloads, Type::BYTEA_ARRAY),
        ];
        // One round trip: the statement is sent with its parameter types, not prepared first.
        let row = client.query_typed_one(
            &format!(
                "SELECT outcome, append_id, version FROM {}($1, $2, $3, $4, $5, $6, $7, $8, $9, \
                 $10, $11, $12, $13, $14)",
                self.table("append_events")
            ),
            &params,
        )?;
        let outcome: i32 = row.get(0);
        Ok(match outcome {
            0 => Appended::Done {
                append_id: row.get(1),
                first_version: row.get::<_, i64>(2) as u64,
            },
            1 => Appended::ImportInProgress,
            2 => Appended::IdsStored,
            _ => Appended::Conflict {
                actual: row.get::<_, i64>(2) as u64,
            },
        })
    }

    fn append_once(
        &self,
        client: &mut Connection,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: &[NewEvent<E>],
        encoded: &EncodedAppend,
    ) -> Result<AppendResult, AppendAttempt> {
        let synchronous = self.inner.options.durability == Durability::Flush;
        let appended = match self.call_append(&mut **client, stream, expected, encoded, synchronous)
        {
            Ok(appended) => appended,
            Err(error) if is_connection_failure(&error) => {
                return Err(AppendAttempt::Refused(AppendError::OutcomeUnknown {
                    stream: stream.clone(),
                    source: Box::new(crate::error::described(error)),
                }))
            }
            Err(error) => return Err(AppendAttempt::from_db(stream, error)),
        };
        let (append_id, first_version) = match appended {
            Appended::Done {
                append_id,
                first_version,
            } => (append_id, first_version),
            Appended::ImportInProgress => {
                return Err(AppendAttempt::Refused(AppendError::ImportInProgress {
                    stream: stream.clone(),
                }))
            }
            Appended::Conflict { actual } => {
                return Err(AppendAttempt::Refused(AppendError::Conflict {
                    stream: stream.clone(),
                    expected,
                    actual,
                }))
            }
            Appended::IdsStored => {
                let rows = self
                    .stored_under(&mut **client, &encoded.event_ids)
                    .map_err(|error| AppendAttempt::from_db(stream, error))?;
                // None stored after all, or one committed but not yet numbered: try again.
                let unnumbered = rows
                    .iter()
                    .any(|row| row.get::<_, Option<i64>>("position").is_none());
                if rows.is_empty() || unnumbered {
                    return Err(AppendAttempt::Again);
                }
                return self
                    .classify(stream, events, &rows)
                    .map_err(AppendAttempt::Refused)?
                    .ok_or(AppendAttempt::Again);
            }
        };
        // Committed: number it (or find it numbered by another writer's sequencer step).
        let len = events.len() as u64;
        let numbered = self.numbered(client, append_id);
        if append_id % VACUUM_EVERY == 0 {
            self.vacuum_queue(client);
        }
        match numbered {
            Ok(Some(first_position)) => Ok(AppendResult {
                first_version,
                last_version: first_version + len - 1,
                first_position,
                last_position: first_position + len - 1,
            }),
            Ok(None) => Err(AppendAttempt::Refused(AppendError::OutcomeUnknown {
                stream: stream.clone(),
                source: "the append is stored but was not numbered into the global log".into(),
            })),
            Err(error) => Err(AppendAttempt::Refused(AppendError::OutcomeUnknown {
                stream: stream.clone(),
                source: format!(
                    "the append is stored; numbering it failed: {}",
                    crate::error::described(error)
                )
                .into(),
            })),
        }
    }

    /// Where committed append `append_id` starts in the global log, numbering it if need be.
    /// One thread of the process runs a sequencer step at a time; the others wait for it and
    /// then look their append up, stepping themselves only if it committed too late for that
    /// step. Under load one step numbers the appends of many threads.
    fn numbered(
        &self,
        client: &mut Connection,
        append_id: i64,
    ) -> Result<Option<u64>, postgres::Error> {
        for _ in 0..64 {
            match self.inner.stepping.try_lock() {
                Ok(_stepping) => {
                    return self
                        .sequence_for(&mut **client, Some(append_id))
                        .map(|(_, first)| first)
                }
                Err(std::sync::TryLockError::Poisoned(_)) => {
                    return self
                        .sequence_for(&mut **client, Some(append_id))
                        .map(|(_, first)| first)
                }
                Err(std::sync::TryLockError::WouldBlock) => {
                    drop(self.inner.stepping.lock());
                    let row = client.query_typed_opt(
                        &format!(
                            "SELECT first_position FROM {} WHERE append_id = $1",
                            self.table("log")
                        ),
                        &[(&append_id, Type::INT8)],
                    )?;
                    if let Some(row) = row {
                        return Ok(Some(row.get::<_, i64>(0) as u64));
                    }
                }
            }
        }
        self.sequence_for(&mut **client, Some(append_id))
            .map(|(_, first)| first)
    }

    /// Vacuums the small tables every append writes and the sequencer empties (`pending`, and
    /// `head`, updated by every step): left to autovacuum, their dead rows would pile up between
    /// its runs and every sequencer step would read them all. Best effort: a failure changes
    /// nothing but speed.
    fn vacuum_queue(&self, client: &mut Connection) {
        let _ = client.batch_execute(&format!(
            "VACUUM (SKIP_LOCKED) {}, {}",
            self.table("pending"),
            self.table("head")
        ));
    }

    /// Reads a page of rows of the global log: positions `from..=until`, at most `limit`.
    pub(crate) fn page_of_log(
        &self,
        from: u64,
        until: u64,
        limit: i64,
    ) -> Result<Vec<Row>, ReadError> {
        let mut client = self.connection().map_err(ReadError::Storage)?;
        client
            .query_typed(
                &format!(
                    // A page of appends from the log's index, then their events in one range
                    // of the events' key (append ids are numbered nearly in order), joined.
                    "WITH page AS MATERIALIZED (SELECT * FROM {} WHERE last_position >= $1 \
                     AND first_position <= $2 ORDER BY last_position LIMIT $3) \
                     SELECT {ENVELOPE_COLUMNS} FROM page l JOIN {} e ON e.append_id = l.append_id \
                     WHERE e.append_id BETWEEN (SELECT min(append_id) FROM page) \
                     AND (SELECT max(append_id) FROM page) \
                     AND l.first_position + e.append_offset BETWEEN $1 AND $2 \
                     ORDER BY l.last_position, e.append_offset",
                    self.table("log"),
                    self.table("events")
                ),
                &[
                    (&(from as i64), Type::INT8),
                    (&(until as i64), Type::INT8),
                    (&limit, Type::INT8),
                ],
            )
            .map_err(read_failed)
    }

    fn page_of_stream(
        &self,
        stream: &StreamId,
        from: u64,
        until: u64,
        limit: i64,
    ) -> Result<Vec<Row>, ReadError> {
        let mut client = self.connection().map_err(ReadError::Storage)?;
        let query = format!(
            "SELECT {ENVELOPE_COLUMNS} FROM {} e LEFT JOIN {} l ON l.append_id = e.append_id \
             WHERE e.stream_id = $1 AND e.stream_version >= $2 AND e.stream_version <= $3 \
             ORDER BY e.stream_version LIMIT $4",
            self.table("events"),
            self.table("log")
        );
        let (from, until) = (from as i64, until as i64);
        let params: [(&(dyn ToSql + Sync), Type); 4] = [
            (&stream.as_str(), Type::TEXT),
            (&from, Type::INT8),
            (&until, Type::INT8),
            (&limit, Type::INT8),
        ];
        let rows = client.query_typed(&query, &params).map_err(read_failed)?;
        if rows
            .iter()
            .any(|row| row.get::<_, Option<i64>>("position").is_none())
        {
            // Committed but not numbered yet: number it, so that it reads with its position.
            self.sequence(&mut *client).map_err(read_failed)?;
            return client.query_typed(&query, &params).map_err(read_failed);
        }
        Ok(rows)
    }
}

/// How many appends apart the queue tables are vacuumed.
const VACUUM_EVERY: i64 = 256;

/// The columns an envelope is decoded from.
pub(crate) const ENVELOPE_COLUMNS: &str = "l.first_position + e.append_offset AS position, \
     e.stream_id, e.stream_version, e.event_id, e.event_type, e.schema_version, e.recorded_secs, \
     e.recorded_nanos, e.correlation_id, e.causation_id, e.metadata, e.payload";

/// Calls the store's `number_appends` function (the sequencer step; the lock is re-entrant, so
/// a transaction that holds it already may call it); returns the head and where `append` starts.
pub(crate) fn number_appends(
    client: &mut impl GenericClient,
    quoted: &str,
    lock: i64,
    channel: &str,
    append: Option<i64>,
) -> Result<(u64, Option<u64>), postgres::Error> {
    let row = client.query_typed_one(
        &format!("SELECT head, first_position FROM {quoted}.number_appends($1, $2, $3)"),
        &[
            (&lock, Type::INT8),
            (&channel, Type::TEXT),
            (&append, Type::INT8),
        ],
    )?;
    let head: i64 = row.get(0);
    let first: Option<i64> = row.get(1);
    Ok((head as u64, first.map(|first| first as u64)))
}

/// What the `append_events` function answered.
pub(crate) enum Appended {
    /// Written (not yet numbered).
    Done { append_id: i64, first_version: u64 },
    /// An import holds the gate.
    ImportInProgress,
    /// Some of the ids are stored already.
    IdsStored,
    /// The stream is at another version.
    Conflict { actual: u64 },
}

/// An append's rows, as the arrays one INSERT takes.
#[derive(Debug, Default)]
pub(crate) struct EncodedAppend {
    pub(crate) event_ids: Vec<Uuid>,
    event_types: Vec<String>,
    schema_versions: Vec<i32>,
    recorded_secs: Vec<i64>,
    recorded_nanos: Vec<i32>,
    correlation_ids: Vec<Uuid>,
    causation_ids: Vec<Uuid>,
    metadata: Vec<String>,
    payloads: Vec<Vec<u8>>,
}

/// How one attempt at an append ended, short of success.
enum AppendAttempt {
    /// The answer to give.
    Refused(AppendError),
    /// A race with another writer (the same ids, the same new stream): try again, which then
    /// sees what the other wrote.
    Again,
}

impl AppendAttempt {
    fn from_db(stream: &StreamId, error: postgres::Error) -> Self {
        match error.code() {
            Some(code)
                if *code == SqlState::UNIQUE_VIOLATION
                    || *code == SqlState::T_R_SERIALIZATION_FAILURE
                    || *code == SqlState::T_R_DEADLOCK_DETECTED =>
            {
                Self::Again
            }
            _ => Self::Refused(storage(stream, crate::error::described(error))),
        }
    }
}

/// Whether the connection itself failed (the server gone, the network down), so that a commit's
/// outcome is unknown.
pub(crate) fn is_connection_failure(error: &postgres::Error) -> bool {
    let io = std::error::Error::source(error).is_some_and(|source| source.is::<std::io::Error>());
    error.is_closed()
        || io
        || error.code().is_some_and(|code| {
            code.code().starts_with("08")
                || *code == SqlState::ADMIN_SHUTDOWN
                || *code == SqlState::CRASH_SHUTDOWN
        })
}

pub(crate) fn storage(
    stream: &StreamId,
    error: impl Into<Box<dyn std::error::Error + Send + Sync>>,
) -> AppendError {
    AppendError::Storage {
        stream: stream.clone(),
        source: error.into(),
    }
}

pub(crate) fn read_failed(error: postgres::Error) -> ReadError {
    ReadError::Storage(Box::new(crate::error::described(error)))
}

/// Events read a page at a time, up to the bound seen when the read started.
pub struct Paged<'a, E> {
    store: &'a PostgresStore<E>,
    stream: Option<StreamId>,
    next: u64,
    until: u64,
    page: std::vec::IntoIter<Row>,
    failed: bool,
    /// The stream of the last event read, shared by the next one of the same stream.
    last_stream: Option<StreamId>,
}

const PAGE: i64 = 512;

impl<'a, E: Event> Iterator for Paged<'a, E> {
    type Item = Result<EventRef<'a, E>, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let row = match self.page.next() {
            Some(row) => row,
            None => {
                if self.next > self.until {
                    return None;
                }
                let rows = match &self.stream {
                    Some(stream) => self
                        .store
                        .page_of_stream(stream, self.next, self.until, PAGE),
                    None => self.store.page_of_log(self.next, self.until, PAGE),
                };
                match rows {
                    Ok(rows) if rows.is_empty() => {
                        self.failed = true;
                        return Some(Err(ReadError::Corrupt {
                            record: match &self.stream {
                                Some(stream) => format!("stream {stream} version {}", self.next),
                                None => format!("log position {}", self.next),
                            },
                            problem: "it is missing below the head".into(),
                        }));
                    }
                    Ok(rows) => {
                        self.page = rows.into_iter();
                        self.page.next()?
                    }
                    Err(error) => {
                        self.failed = true;
                        return Some(Err(error));
                    }
                }
            }
        };
        let known = self.stream.as_ref().or(self.last_stream.as_ref());
        let envelope = self.store.decode_row(&row, known);
        match &envelope {
            Ok(envelope) => {
                let at = match self.stream {
                    Some(_) => envelope.stream_version,
                    None => envelope.position,
                };
                if at != self.next {
                    self.failed = true;
                    return Some(Err(ReadError::Corrupt {
                        record: format!("event {}", envelope.event_id),
                        problem: format!("it is at {at} where {} was expected", self.next),
                    }));
                }
                self.next += 1;
                if self.stream.is_none() {
                    self.last_stream = Some(envelope.stream_id.clone());
                }
            }
            Err(_) => self.failed = true,
        }
        Some(envelope.map(Cow::Owned))
    }
}

impl<E: Event> EventStore<E> for PostgresStore<E> {
    type StreamEvents<'a>
        = Paged<'a, E>
    where
        Self: 'a;
    type AllEvents<'a>
        = Paged<'a, E>
    where
        Self: 'a;

    fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent<E>>,
    ) -> Result<AppendResult, AppendError> {
        validate_append(stream, &events)?;
        let encoded = self.encode(stream, &events)?;
        let mut client = self.connection().map_err(|error| storage(stream, error))?;
        // A race (the same ids or the same new stream, written by another writer at once) is
        // answered by trying again, which then sees what the other wrote.
        for _ in 0..8 {
            match self.append_once(&mut client, stream, expected, &events, &encoded) {
                Ok(result) => return Ok(result),
                Err(AppendAttempt::Refused(error)) => return Err(error),
                Err(AppendAttempt::Again) => continue,
            }
        }
        Err(storage(
            stream,
            "the append raced other writers eight times in a row; try again",
        ))
    }

    fn read_stream(&self, stream: &StreamId, from_version: u64) -> Result<Paged<'_, E>, ReadError> {
        let until = self.stream_version(stream)?;
        Ok(Paged {
            store: self,
            stream: Some(stream.clone()),
            next: from_version.max(1),
            until,
            page: Vec::new().into_iter(),
            failed: false,
            last_stream: None,
        })
    }

    fn read_all(&self, from_position: u64) -> Result<Paged<'_, E>, ReadError> {
        let until = self.head_position()?;
        Ok(Paged {
            store: self,
            stream: None,
            next: from_position.max(1),
            until,
            page: Vec::new().into_iter(),
            failed: false,
            last_stream: None,
        })
    }

    fn stream_version(&self, stream: &StreamId) -> Result<u64, ReadError> {
        let mut client = self.connection().map_err(ReadError::Storage)?;
        let row = client
            .query_typed_opt(
                &format!(
                    "SELECT version FROM {} WHERE stream_id = $1",
                    self.table("streams")
                ),
                &[(&stream.as_str(), Type::TEXT)],
            )
            .map_err(read_failed)?;
        Ok(row.map_or(0, |row| row.get::<_, i64>(0) as u64))
    }

    fn head_position(&self) -> Result<u64, ReadError> {
        let mut client = self.connection().map_err(ReadError::Storage)?;
        let row = client
            .query_typed_one(
                &format!(
                    "SELECT position, EXISTS (SELECT 1 FROM {}) FROM {} WHERE id = 1",
                    self.table("pending"),
                    self.table("head")
                ),
                &[],
            )
            .map_err(read_failed)?;
        let (head, pending): (i64, bool) = (row.get(0), row.get(1));
        if pending {
            // A committed append its writer did not live to number (killed between its commit
            // and its sequencer step): readers number it, so that it is never left out.
            return self.sequence(&mut *client).map_err(read_failed);
        }
        self.saw_head(head as u64);
        Ok(head as u64)
    }

    fn check_events(&self, stream: &StreamId, events: &[NewEvent<E>]) -> Result<(), AppendError> {
        validate_append(stream, events)?;
        self.encode(stream, events).map(drop)
    }

    fn find_event(&self, event_id: EventId) -> Result<Option<EventLocation>, ReadError> {
        let mut client = self.connection().map_err(ReadError::Storage)?;
        let rows = self
            .stored_under(&mut *client, &[event_id.as_uuid()])
            .map_err(read_failed)?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let stream_name: &str = row.get("stream_id");
        let stream_id = StreamId::new(stream_name).map_err(|problem| ReadError::Corrupt {
            record: format!("event {event_id}"),
            problem: format!("its stream id is invalid: {problem}"),
        })?;
        Ok(Some(EventLocation {
            stream_id,
            stream_version: row.get::<_, i64>("stream_version") as u64,
            position: row.get::<_, Option<i64>>("position").unwrap_or(0) as u64,
        }))
    }
}

impl<E: Event> CommitNotifier for PostgresStore<E> {
    fn wait_for_commit(&self, after_position: u64, timeout: Duration) -> Result<u64, ReadError> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let head = self.head_position()?;
            let now = std::time::Instant::now();
            if head > after_position || now >= deadline {
                return Ok(head);
            }
            // The database is behind what this handle saw (a server restored from a backup, or
            // numbers lost to a crash of a server running without synchronous commits): wait
            // from the database's head, not from the one remembered.
            if self.inner.head.load(Ordering::SeqCst) > head {
                self.inner.head.store(head, Ordering::SeqCst);
            }
            // Woken by a notification at once, or looks again after the poll interval.
            let slice = (deadline - now).min(self.inner.options.poll_interval);
            self.inner
                .commits
                .wait(&self.inner.head, after_position, slice);
        }
    }
}
