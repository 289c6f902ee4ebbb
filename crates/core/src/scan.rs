//! Reading the global log for a few event types: the ones asked for are decoded, every other
//! event passes by encoded, as the store keeps it. The customer data export and the personal-data
//! check each need two types out of the whole log.

use crate::error::ServiceError;
use crate::events::ServiceEvent;
use crate::kernel::{EncodedEnvelope, EventDecoder, EventStore, ReadError, VisitError};

/// A failed scan as the facade's error: a read that failed, or an event that does not decode
/// (the log is damaged).
pub(crate) fn service_error(error: VisitError) -> ServiceError {
    match error {
        VisitError::Read(error) => ServiceError::Read(error),
        other => ServiceError::Read(ReadError::Corrupt {
            record: "the global log".into(),
            problem: other.to_string(),
        }),
    }
}

/// Calls `visit` with every event of the store whose type is one of `types`, in commit order,
/// decoded (upcast to today's schema), beside its stored envelope.
pub(crate) fn visit_events_of_types<S: EventStore<ServiceEvent>>(
    store: &S,
    types: &[&str],
    visit: impl FnMut(&EncodedEnvelope<'_>, ServiceEvent) -> Result<(), ReadError>,
) -> Result<(), VisitError> {
    let head = store.head_position()?;
    visit_events_of_types_until(store, head, types, visit)
}

/// [`visit_events_of_types`] up to position `until` (inclusive).
pub(crate) fn visit_events_of_types_until<S: EventStore<ServiceEvent>>(
    store: &S,
    until: u64,
    types: &[&str],
    mut visit: impl FnMut(&EncodedEnvelope<'_>, ServiceEvent) -> Result<(), ReadError>,
) -> Result<(), VisitError> {
    let decoder = EventDecoder::<ServiceEvent>::default();
    store.visit_encoded(1, until, &mut |encoded| {
        if !types.contains(&encoded.event_type) {
            return Ok(());
        }
        let event = decoder
            .decode_bytes(encoded.event_type, encoded.schema_version, encoded.payload)
            .map_err(|source| ReadError::Decode {
                position: encoded.position,
                source,
            })?;
        Ok(visit(encoded, event)?)
    })
}
