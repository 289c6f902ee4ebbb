//! The kernel's [`AtomicImport`]: the whole import is one transaction, so a failure, a crash of
//! the importing process or of the server leaves nothing of it. While it runs, appends are
//! refused (`ImportInProgress`): the import holds the store's import gate exclusively, which
//! every append takes shared; a second import is refused at once.

use service_lifecycle_kernel::{
    AppendError, AtomicImport, AtomicImportError, Event, ExpectedVersion, ImportSink, NewEvent,
    StreamId,
};

use crate::error::described;
use crate::store::{is_connection_failure, number_pending, Durability, PostgresStore};

struct Sink<'s, 't, E> {
    store: &'s PostgresStore<E>,
    transaction: &'s mut postgres::Transaction<'t>,
    /// The next global position: the import numbers its own events as it writes them.
    next_position: u64,
}

impl<E: Event> ImportSink<E> for Sink<'_, '_, E> {
    fn append_run(
        &mut self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent<E>>,
    ) -> Result<(), AppendError> {
        service_lifecycle_kernel::store::validate_append(stream, &events)?;
        let encoded = self.store.encode(stream, &events)?;
        // Checked before writing, so that a refused run leaves the transaction usable.
        let stored = self
            .transaction
            .query_opt(
                &format!(
                    "SELECT event_id FROM {} WHERE event_id = ANY($1) LIMIT 1",
                    self.store.table("events")
                ),
                &[&encoded.event_ids],
            )
            .map_err(|error| crate::store::storage(stream, described(error)))?;
        if let Some(row) = stored {
            return Err(AppendError::DuplicateEventId {
                stream: stream.clone(),
                event_id: service_lifecycle_kernel::EventId::from_uuid(row.get(0)),
            });
        }
        let len = events.len() as u64;
        self.store.insert_append(
            self.transaction,
            stream,
            expected,
            &encoded,
            Some(self.next_position),
        )?;
        self.next_position += len;
        Ok(())
    }
}

impl<E: Event> AtomicImport<E> for PostgresStore<E> {
    fn import_atomically<T, X>(
        &self,
        feed: impl FnOnce(&mut dyn ImportSink<E>) -> Result<T, X>,
    ) -> Result<T, AtomicImportError<X>> {
        let began = |source: Box<dyn std::error::Error + Send + Sync>| AtomicImportError::Store {
            during: "began",
            source,
            undone: true,
        };
        let mut client = self.connection().map_err(began)?;
        let mut transaction = client
            .transaction()
            .map_err(|error| began(Box::new(described(error))))?;
        let keys = self.inner.keys;
        let prepared = (|| -> Result<Option<u64>, postgres::Error> {
            if self.inner.options.durability == Durability::Buffered {
                transaction.batch_execute("SET LOCAL synchronous_commit = off")?;
            }
            // The whole import may take long: no statement limit inside it.
            transaction.batch_execute("SET LOCAL statement_timeout = 0")?;
            let alone: bool = transaction
                .query_one(
                    "SELECT pg_try_advisory_xact_lock($1)",
                    &[&keys.import_running],
                )?
                .get(0);
            if !alone {
                return Ok(None);
            }
            // Waits for appends under way, refuses new ones; then numbers what they left.
            transaction.execute("SELECT pg_advisory_xact_lock($1)", &[&keys.import_gate])?;
            transaction.execute("SELECT pg_advisory_xact_lock($1)", &[&keys.sequencer])?;
            let head = number_pending(&mut transaction, &self.inner.quoted, &self.channel())?;
            Ok(Some(head))
        })();
        let head = match prepared {
            Ok(Some(head)) => head,
            Ok(None) => return Err(AtomicImportError::InProgress),
            Err(error) => return Err(began(Box::new(described(error)))),
        };
        let mut sink = Sink {
            store: self,
            transaction: &mut transaction,
            next_position: head + 1,
        };
        let outcome = feed(&mut sink);
        let new_head = sink.next_position - 1;
        let value = match outcome {
            Ok(value) => value,
            // Dropping the transaction rolls it back; a lost connection rolls it back too.
            Err(error) => return Err(AtomicImportError::Feed(error)),
        };
        let committed = (|| -> Result<(), postgres::Error> {
            transaction.execute(
                &format!(
                    "UPDATE {} SET position = $1 WHERE id = 1",
                    self.table("head")
                ),
                &[&(new_head as i64)],
            )?;
            transaction.execute(
                "SELECT pg_notify($1, $2)",
                &[&self.channel(), &new_head.to_string()],
            )?;
            transaction.commit()
        })();
        match committed {
            Ok(()) => {
                self.saw_head(new_head);
                Ok(value)
            }
            Err(error) => {
                let undone = !is_connection_failure(&error);
                Err(AtomicImportError::Store {
                    during: "committed",
                    source: Box::new(described(error)),
                    undone,
                })
            }
        }
    }
}
