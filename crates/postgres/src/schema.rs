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
    -- Updated by every append: room on each page for updates in place (HOT), and vacuumed
    -- often, so that locking a stream's row never walks a chain of its old versions.
    CREATE TABLE {s}.streams (
        stream_id text PRIMARY KEY,
        version bigint NOT NULL
    ) WITH (fillfactor = 50, autovacuum_vacuum_scale_factor = 0.01,
            autovacuum_vacuum_threshold = 500);
    CREATE SEQUENCE {s}.appends;
    CREATE TABLE {s}.events (
        append_id bigint NOT NULL,
        append_offset integer NOT NULL,
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
    -- Committed appends not numbered yet: a handful of rows at any time.
    CREATE TABLE {s}.pending (
        append_id bigint PRIMARY KEY,
        append_len integer NOT NULL
    ) WITH (fillfactor = 50);
    -- The global log, one row per numbered append: its events hold positions
    -- first_position .. last_position, in offset order. Event rows are never updated.
    CREATE TABLE {s}.log (
        last_position bigint PRIMARY KEY,
        first_position bigint NOT NULL UNIQUE,
        append_id bigint NOT NULL UNIQUE
    );
    CREATE TABLE {s}.head (
        id integer PRIMARY KEY CHECK (id = 1),
        position bigint NOT NULL
    ) WITH (fillfactor = 10);
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
    -- One append, as one statement (and so one transaction and one round trip): outcome 0 and
    -- the append id and first version; 1 an import holds the gate; 2 some of the ids are stored
    -- (the caller looks at them); 3 the stream's version (returned) is outside p_min..p_max.
    CREATE FUNCTION {s}.append_events(
        p_gate bigint, p_synchronous text, p_stream text, p_min bigint, p_max bigint,
        p_ids uuid[], p_types text[], p_schema_versions integer[], p_secs bigint[],
        p_nanos integer[], p_correlations uuid[], p_causations uuid[], p_metadata text[],
        p_payloads bytea[])
    RETURNS TABLE (outcome integer, append_id bigint, version bigint)
    LANGUAGE plpgsql AS $fn$
    #variable_conflict use_column
    DECLARE
        v_actual bigint;
        v_append bigint;
        v_len integer := cardinality(p_ids);
    BEGIN
        PERFORM set_config('synchronous_commit', p_synchronous, true);
        IF NOT pg_try_advisory_xact_lock_shared(p_gate) THEN
            RETURN QUERY SELECT 1, NULL::bigint, NULL::bigint;
            RETURN;
        END IF;
        IF EXISTS (SELECT 1 FROM {s}.events e WHERE e.event_id = ANY (p_ids)) THEN
            RETURN QUERY SELECT 2, NULL::bigint, NULL::bigint;
            RETURN;
        END IF;
        INSERT INTO {s}.streams AS s VALUES (p_stream, 0) ON CONFLICT DO NOTHING;
        SELECT s.version INTO v_actual FROM {s}.streams s WHERE s.stream_id = p_stream FOR UPDATE;
        IF v_actual < p_min OR v_actual > p_max THEN
            -- A retry of an append that committed while this one waited for the stream's row:
            -- its ids are stored now, and the caller answers with the first result.
            IF EXISTS (SELECT 1 FROM {s}.events e WHERE e.event_id = ANY (p_ids)) THEN
                RETURN QUERY SELECT 2, NULL::bigint, NULL::bigint;
                RETURN;
            END IF;
            IF v_actual = 0 THEN
                DELETE FROM {s}.streams s WHERE s.stream_id = p_stream;
            END IF;
            RETURN QUERY SELECT 3, NULL::bigint, v_actual;
            RETURN;
        END IF;
        v_append := nextval('{s}.appends');
        INSERT INTO {s}.events (append_id, append_offset, stream_id, stream_version, event_id,
            event_type, schema_version, recorded_secs, recorded_nanos, correlation_id,
            causation_id, metadata, payload)
        SELECT v_append, u.n - 1, p_stream, v_actual + u.n, u.id, u.t, u.sv, u.rs, u.rn,
            u.c, u.ca, u.m, u.p
        FROM unnest(p_ids, p_types, p_schema_versions, p_secs, p_nanos, p_correlations,
            p_causations, p_metadata, p_payloads) WITH ORDINALITY AS u(id, t, sv, rs, rn, c, ca, m, p, n);
        INSERT INTO {s}.pending VALUES (v_append, v_len);
        UPDATE {s}.streams s SET version = v_actual + v_len WHERE s.stream_id = p_stream;
        RETURN QUERY SELECT 0, v_append, v_actual + 1;
    END
    $fn$;
    -- The sequencer step: numbers every committed, unnumbered append after the head, in append
    -- id order, under the sequencer lock; notifies; returns the head and where append p_append
    -- starts (NULL if it is not numbered).
    CREATE FUNCTION {s}.number_appends(p_lock bigint, p_channel text, p_append bigint)
    RETURNS TABLE (head bigint, first_position bigint)
    LANGUAGE plpgsql AS $fn$
    #variable_conflict use_column
    DECLARE
        v_head bigint;
        v_count bigint;
    BEGIN
        -- Always synchronous: a position once read must survive a crash of the server.
        PERFORM set_config('synchronous_commit', 'on', true);
        PERFORM pg_advisory_xact_lock(p_lock);
        SELECT h.position INTO v_head FROM {s}.head h WHERE h.id = 1;
        IF v_head IS NULL THEN
            RAISE EXCEPTION 'the head row of the store in schema {s} is missing: the store is damaged';
        END IF;
        WITH taken AS (
            DELETE FROM {s}.pending RETURNING append_id, append_len
        ),
        numbered AS (
            SELECT t.append_id,
                   v_head + sum(t.append_len) OVER (ORDER BY t.append_id) AS last_position,
                   t.append_len
            FROM taken t
        )
        INSERT INTO {s}.log (last_position, first_position, append_id)
        SELECT n.last_position, n.last_position - n.append_len + 1, n.append_id FROM numbered n;
        GET DIAGNOSTICS v_count = ROW_COUNT;
        IF v_count > 0 THEN
            SELECT max(l.last_position) INTO v_head FROM {s}.log l;
            UPDATE {s}.head h SET position = v_head WHERE h.id = 1;
            PERFORM pg_notify(p_channel, v_head::text);
        END IF;
        RETURN QUERY SELECT v_head,
            (SELECT l.first_position FROM {s}.log l WHERE l.append_id = p_append);
    END
    $fn$;
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
    /// The tables are of an older version, and the store was opened read-only.
    #[error("the store's tables in schema {schema} are of version {found}; open the store to write once to migrate them to version {SCHEMA_VERSION}")]
    Older {
        /// The store's schema.
        schema: String,
        /// The version found.
        found: i32,
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
    let from = usize::try_from(found)
        .unwrap_or(usize::MAX)
        .min(MIGRATIONS.len());
    for migration in &MIGRATIONS[from..] {
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

/// Checks, changing nothing, that the tables in `schema` are of a version this code reads.
pub(crate) fn check_version(
    client: &mut impl GenericClient,
    schema: &str,
    quoted: &str,
) -> Result<(), SchemaError> {
    let found: i32 = client
        .query_one(&format!("SELECT version FROM {quoted}.schema_version"), &[])
        .map_err(|source| SchemaError::Database {
            schema: schema.to_owned(),
            source,
        })?
        .get(0);
    if found == SCHEMA_VERSION {
        Ok(())
    } else if found > SCHEMA_VERSION {
        Err(SchemaError::Newer {
            schema: schema.to_owned(),
            found,
            supported: SCHEMA_VERSION,
        })
    } else {
        Err(SchemaError::Older {
            schema: schema.to_owned(),
            found,
        })
    }
}
