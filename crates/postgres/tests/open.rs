//! Opening: a newer schema is refused naming both versions, a reading open creates nothing, and
//! a lock held too long is an error that names the lock timeout.

mod common;

use std::time::Duration;

use service_lifecycle_kernel::testing::fixture::ProbeEvent;
use service_lifecycle_kernel::{AppendError, EventStore, ExpectedVersion, NewEvent, StreamId};
use service_lifecycle_postgres::{OpenError, PostgresOptions, PostgresStore, SchemaError};

#[test]
fn tables_of_a_newer_version_are_refused_and_a_reading_open_creates_nothing() {
    let Some(server) = common::server() else {
        return;
    };
    let schema = common::fresh_schema();
    let missing = PostgresStore::<ProbeEvent>::open_with(
        &server.url(),
        PostgresOptions::new()
            .schema(schema.clone())
            .existing_only(),
    )
    .unwrap_err();
    assert!(matches!(missing, OpenError::NoStore { .. }), "{missing}");
    drop(
        PostgresStore::<ProbeEvent>::open_with(
            &server.url(),
            PostgresOptions::new().schema(schema.clone()),
        )
        .unwrap(),
    );
    let mut client = postgres::Client::connect(&server.url(), postgres::NoTls).unwrap();
    client
        .batch_execute(&format!(
            "UPDATE \"{schema}\".schema_version SET version = 99"
        ))
        .unwrap();
    let newer = PostgresStore::<ProbeEvent>::open_with(
        &server.url(),
        PostgresOptions::new().schema(schema),
    )
    .unwrap_err();
    assert!(
        matches!(
            newer,
            OpenError::Schema(SchemaError::Newer { found: 99, .. })
        ),
        "{newer}"
    );
    assert!(newer.to_string().contains("99"), "{newer}");
}

#[test]
fn an_append_that_waits_too_long_for_its_stream_names_the_lock_timeout() {
    let Some(server) = common::server() else {
        return;
    };
    let schema = common::fresh_schema();
    let store = PostgresStore::<ProbeEvent>::open_with(
        &server.url(),
        PostgresOptions::new()
            .schema(schema.clone())
            .lock_timeout(Duration::from_millis(200)),
    )
    .unwrap();
    let stream = StreamId::new("probe-1").unwrap();
    store
        .append(
            &stream,
            ExpectedVersion::NoStream,
            vec![NewEvent::new(ProbeEvent::noted(1), chrono::Utc::now())],
        )
        .unwrap();
    // Another session holds the stream's row.
    let mut client = postgres::Client::connect(&server.url(), postgres::NoTls).unwrap();
    let mut holder = client.transaction().unwrap();
    holder
        .execute(
            &format!(
                "SELECT version FROM \"{schema}\".streams WHERE stream_id = 'probe-1' FOR UPDATE"
            ),
            &[],
        )
        .unwrap();
    let error = store
        .append(
            &stream,
            ExpectedVersion::Any,
            vec![NewEvent::new(ProbeEvent::noted(2), chrono::Utc::now())],
        )
        .unwrap_err();
    assert!(matches!(error, AppendError::Storage { .. }), "{error}");
    assert!(error.to_string().contains("lock timeout"), "{error}");
    holder.rollback().unwrap();
    assert_eq!(
        store.stream_version(&stream).unwrap(),
        1,
        "nothing was written"
    );
}

#[test]
fn schema_names_are_bounded_so_that_their_notification_channel_fits() {
    let Some(server) = common::server() else {
        return;
    };
    let longest = format!("s{}", "x".repeat(39));
    let store = PostgresStore::<ProbeEvent>::open_with(
        &server.url(),
        PostgresOptions::new().schema(longest.clone()),
    )
    .unwrap();
    let stream = StreamId::new("probe-1").unwrap();
    let done = store
        .append(
            &stream,
            ExpectedVersion::NoStream,
            vec![NewEvent::new(ProbeEvent::noted(1), chrono::Utc::now())],
        )
        .unwrap();
    assert_eq!(
        done.last_position, 1,
        "numbered and notified under the longest name"
    );
    let too_long = format!("{longest}y");
    let error = PostgresStore::<ProbeEvent>::open_with(
        &server.url(),
        PostgresOptions::new().schema(too_long),
    )
    .unwrap_err();
    assert!(matches!(error, OpenError::SchemaName(_)), "{error}");
}
