//! A read model in the application's own table, committed with its checkpoint: a failing batch
//! leaves nothing, a later catch-up applies each event once, and two projectors of one name at
//! once never apply an event twice.

mod common;

use service_lifecycle_kernel::testing::fixture::ProbeEvent;
use service_lifecycle_kernel::{Envelope, EventStore, ExpectedVersion, NewEvent, StreamId};
use service_lifecycle_postgres::{Durability, SqlProjection, TransactionalProjector};

/// One row per event, keyed by position: applying an event twice fails on the key.
struct Rows {
    table: String,
    fail_at: Option<u64>,
}

impl SqlProjection<ProbeEvent> for Rows {
    fn apply(
        &mut self,
        transaction: &mut postgres::Transaction<'_>,
        envelope: &Envelope<ProbeEvent>,
    ) -> Result<(), postgres::Error> {
        if self.fail_at == Some(envelope.position) {
            transaction.execute("SELECT no_such_function()", &[])?;
        }
        transaction.execute(
            &format!("INSERT INTO {} VALUES ($1)", self.table),
            &[&(envelope.position as i64)],
        )?;
        Ok(())
    }
}

fn rows(client: &mut postgres::Client, table: &str) -> i64 {
    client
        .query_one(&format!("SELECT count(*) FROM {table}"), &[])
        .unwrap()
        .get(0)
}

#[test]
fn the_read_model_and_its_checkpoint_commit_together() {
    let Some(server) = common::server() else {
        return;
    };
    let store = common::new_store(Durability::Flush);
    let stream = StreamId::new("probe-1").unwrap();
    for n in 0..250 {
        store
            .append(
                &stream,
                ExpectedVersion::Any,
                vec![NewEvent::new(ProbeEvent::noted(n), chrono::Utc::now())],
            )
            .unwrap();
    }
    let mut client = postgres::Client::connect(&server.url(), postgres::NoTls).unwrap();
    let table = format!("{}_rows", store.schema());
    client
        .batch_execute(&format!(
            "CREATE TABLE {table} (position bigint PRIMARY KEY)"
        ))
        .unwrap();
    let projector = TransactionalProjector::new("rows").batch(100);
    // Fails in the third batch: the first two stand with their checkpoint, the third left nothing.
    let mut failing = Rows {
        table: table.clone(),
        fail_at: Some(230),
    };
    let error = projector.catch_up(&store, &mut failing).unwrap_err();
    assert!(error.to_string().contains("no_such_function"), "{error}");
    assert_eq!(projector.position(&store).unwrap(), 200);
    assert_eq!(rows(&mut client, &table), 200);
    // Caught up again: each event once.
    let mut good = Rows {
        table: table.clone(),
        fail_at: None,
    };
    assert_eq!(projector.catch_up(&store, &mut good).unwrap(), 50);
    assert_eq!(rows(&mut client, &table), 250);
    assert_eq!(projector.catch_up(&store, &mut good).unwrap(), 0);
    // Two projectors of the same name at once, over new events: they take turns.
    for n in 250..650 {
        store
            .append(
                &stream,
                ExpectedVersion::Any,
                vec![NewEvent::new(ProbeEvent::noted(n), chrono::Utc::now())],
            )
            .unwrap();
    }
    let applied: u64 = std::thread::scope(|scope| {
        let runs: Vec<_> = (0..2)
            .map(|_| {
                let (store, table) = (&store, table.clone());
                scope.spawn(move || {
                    let mut rows = Rows {
                        table,
                        fail_at: None,
                    };
                    TransactionalProjector::new("rows")
                        .batch(25)
                        .catch_up(store, &mut rows)
                        .expect("no event is applied twice")
                })
            })
            .collect();
        runs.into_iter().map(|run| run.join().unwrap()).sum()
    });
    assert_eq!(applied, 400);
    assert_eq!(rows(&mut client, &table), 650);
    assert_eq!(projector.position(&store).unwrap(), 650);
}
