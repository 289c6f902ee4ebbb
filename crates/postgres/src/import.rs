//! The kernel's [`AtomicImport`]: the whole import is one transaction, so a failure, a crash of
//! the importing process or of the server leaves nothing of it. While it runs, appends are
//! refused (`ImportInProgress`): the import holds the store's import gate exclusively, which
//! every append takes shared; a second import is refused at once.

use service_lifecycle_kernel::{
    AppendError, AtomicImport, AtomicImportError, Event, ExpectedVersion, ImportSink, NewEvent,
    StreamId,
};

use crate::error::described;
use crate::store::{is_connection_failure, number_appends, Appended, Durability, PostgresStore};

struct Sink<'s, 't, E> {
    store: &'s PostgresStore<E>,
    transaction: &'s mut postgres::Transaction<'t>,
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
        let failed = |error| crate::store::storage(stream, described(error));
        let synchronous = self.store.durability() == Durability::Flush;
        // Every refusal is an answer of the function, never a failed statement, so the
        // transaction stays usable for the runs after it.
        match self
            .store
            .call_append(self.transaction, stream, expected, &encoded, synchronous)
            .map_err(failed)?
        {
            Appended::Done { .. } => Ok(()),
            Appended::Conflict { actual } => Err(AppendError::Conflict {
                stream: stream.clone(),
                expected,
                actual,
            }),
            Appended::ImportInProgress => Err(AppendError::ImportInProgress {
                stream: stream.clone(),
            }),
            Appended::IdsStored => {
                let row = self
                    .transaction
                    .query_one(
                        &format!(
                            "SELECT event_id FROM {} WHERE event_id = ANY($1) LIMIT 1",
                            self.store.table("events")
                        ),
                        &[&encoded.event_ids],
                    )
                    .map_err(failed)?;
                Err(AppendError::DuplicateEventId {
                    stream: stream.clone(),
                    event_id: service_lifecycle_kernel::EventId::from_uuid(row.get(0)),
                })
            }
        }
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
        let prepared = (|| -> Result<Option<()>, postgres::Error> {
            if self.inner.options.durability == Durability::Buffered {
                transaction.batch_execute("SET LOCAL synchronous_commit = off")?;
            }
            // The whole import may take long: no statement limit inside it.
            transaction.batch_execute(
                "SET LOCAL statement_timeout = 0; SET LOCAL idle_in_transaction_session_timeout = 0",
            )?;
            let alone: bool = transaction
                .query_one(
                    "SELECT pg_try_advisory_xact_lock($1)",
                    &[&keys.import_running],
                )?
                .get(0);
            if !alone {
                return Ok(None);
            }
            // Waits for appends under way and refuses new ones. The sequencer lock is taken
            // only at the commit, so appends that committed before go on being numbered.
            transaction.execute("SELECT pg_advisory_xact_lock($1)", &[&keys.import_gate])?;
            Ok(Some(()))
        })();
        match prepared {
            Ok(Some(())) => {}
            Ok(None) => return Err(AtomicImportError::InProgress),
            Err(error) => return Err(began(Box::new(described(error)))),
        }
        let mut sink = Sink {
            store: self,
            transaction: &mut transaction,
        };
        let outcome = feed(&mut sink);
        let value = match outcome {
            Ok(value) => value,
            // Dropping the transaction rolls it back; a lost connection rolls it back too.
            Err(error) => return Err(AtomicImportError::Feed(error)),
        };
        // Numbers the import's events (after any append numbered meanwhile), then commits.
        let committed = (|| -> Result<u64, postgres::Error> {
            let (head, _) = number_appends(
                &mut transaction,
                &self.inner.quoted,
                keys.sequencer,
                &self.channel(),
                None,
            )?;
            transaction.commit()?;
            Ok(head)
        })();
        match committed {
            Ok(head) => {
                self.saw_head(head);
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
