//! The store's tables, created and migrated by the store itself.
//!
//! Every table lives in the store's own PostgreSQL schema (namespace; `service_lifecycle` unless
//! [`PostgresOptions::schema`](crate::PostgresOptions::schema) names another), so several stores
//! can share one database. `schema_version` holds the version of the tables; opening migrates an
//! older version in one transaction, under an advisory lock so that two processes opening at once
//! migrate once, and refuses a newer one.

use postgres::GenericClient;

/// The version of the tables this code reads and writes.
pub const SCHEMA_VERSION: i32 = 1;

/// The migrations, in order: migration `i` takes the tables from version `i` to `i + 1`. `{s}`
/// stands for the quoted schema name.
const MIGRATIONS: &[&str] = &[
    // 0 → 1: the first tables.
    r#"
    CREATE TABLE {s}.streams (
        stream_id text PRIMARY KEY,
        version bigint NOT NULL
    );
    CREATE SEQUENCE {s}.appends;
    CREATE TABLE {s}.events (
        append_id bigint NOT NULL,
        append_offset integer NOT NULL,
        append_len integer NOT NULL,
        position bigint UNIQUE,
        stream_id text NOT NULL,
        stream_version bigint NOT NULL,
        event_id uuid NOT NULL UNIQUE,
        event_type text NOT NULL,
        schema_version integer NOT NULL,
        recorded_secs bigint NOT NULL,
        recorded_nanos integer NOT NULL,
        correlation_id uuid NOT NULL,
        causation_id uuid NOT NULL,
        metadata text NOT NULL,
        payload bytea NOT NULL,
        PRIMARY KEY (append_id, append_offset),
        UNIQUE (stream_id, stream_version)
    );
    CREATE INDEX events_unnumbered ON {s}.events (append_id, append_offset) WHERE position IS NULL;
    CREATE TABLE {s}.head (
        id integer PRIMARY KEY CHECK (id = 1),
        position bigint NOT NULL
    );
    INSERT INTO {s}.head VALUES (1, 0);
    CREATE TABLE {s}.checkpoints (
        name text PRIMARY KEY,
        position bigint NOT NULL
    );
    CREATE TABLE {s}.read_models (
        name text PRIMARY KEY,
        position bigint NOT NULL,
        model bytea NOT NULL
    );
    CREATE TABLE {s}.snapshots (
        stream_id text PRIMARY KEY,
        stream_version bigint NOT NULL,
        state_version integer NOT NULL,
        state bytea NOT NULL
    );
    CREATE TABLE {s}.vault (
        subject uuid PRIMARY KEY,
        record bytea NOT NULL
    );
    "#,
];

/// Why the tables could not be made ready.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaError {
    /// The tables are of a newer version than this code knows.
    #[error("the store's tables in schema {schema} are of version {found}, newer than the version {supported} this code knows; use the newer release that wrote them")]
    Newer {
        /// The store's schema.
        schema: String,
        /// The version found.
        found: i32,
        /// The newest version this code knows.
        supported: i32,
    },
    /// The database refused a statement.
    #[error("preparing the store's tables in schema {schema} failed: {source}")]
    Database {
        /// The store's schema.
        schema: String,
        /// What the database said.
        #[source]
        source: postgres::Error,
    },
}

/// Creates or migrates the tables of the store in `schema` (quoted as `quoted`).
pub(crate) fn prepare(
    client: &mut impl GenericClient,
    schema: &str,
    quoted: &str,
    lock_key: i64,
) -> Result<(), SchemaError> {
    let database = |source| SchemaError::Database {
        schema: schema.to_owned(),
        source,
    };
    let mut transaction = client.transaction().map_err(database)?;
    transaction
        .execute("SELECT pg_advisory_xact_lock($1)", &[&lock_key])
        .map_err(database)?;
    transaction
        .batch_execute(&format!(
            "CREATE SCHEMA IF NOT EXISTS {quoted};
             CREATE TABLE IF NOT EXISTS {quoted}.schema_version (version integer NOT NULL);"
        ))
        .map_err(database)?;
    let found: i32 = match transaction
        .query_opt(&format!("SELECT version FROM {quoted}.schema_version"), &[])
        .map_err(database)?
    {
        Some(row) => row.get(0),
        None => {
            transaction
                .execute(
                    &format!("INSERT INTO {quoted}.schema_version VALUES (0)"),
                    &[],
                )
                .map_err(database)?;
            0
        }
    };
    if found > SCHEMA_VERSION {
        return Err(SchemaError::Newer {
            schema: schema.to_owned(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    for migration in &MIGRATIONS[found as usize..] {
        transaction
            .batch_execute(&migration.replace("{s}", quoted))
            .map_err(database)?;
    }
    if found < SCHEMA_VERSION {
        transaction
            .execute(
                &format!("UPDATE {quoted}.schema_version SET version = $1"),
                &[&SCHEMA_VERSION],
            )
            .map_err(database)?;
    }
    transaction.commit().map_err(database)
}
