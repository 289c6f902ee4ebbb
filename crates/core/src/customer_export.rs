//! A customer's data export (data portability): every event about one customer and their units
//! and contracts, plus their personal data unless it was erased, as one JSON document.

use std::io::Write;

use service_lifecycle_json::{write_stream_events, ExportError};

use crate::contract::ContractEvent;
use crate::customer::Customer;
use crate::events::ServiceEvent;
use crate::kernel::{EventStore, InvalidStreamId, ReadError, StreamId, Vault};
use crate::personal_data::{PersonalDataError, PersonalDataRecord};
use crate::product::ProductEvent;
use crate::scan::visit_events_of_types;
use crate::values::CustomerId;

/// The type names of the events that name a customer's units and contracts.
const UNIT_SOLD: &str = "product.unit_sold";
const CONTRACT_PROPOSED: &str = "contract.proposed";

/// The `format` of a customer data export.
pub const CUSTOMER_FORMAT_NAME: &str = "service-lifecycle-customer-data";

/// Why a customer data export failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CustomerExportError {
    /// Reading the store or writing the document failed.
    #[error(transparent)]
    Export(#[from] ExportError),
    /// Reading the personal data failed.
    #[error(transparent)]
    PersonalData(#[from] PersonalDataError),
    /// The customer's id makes no valid stream id (it always does; kept for honesty).
    #[error(transparent)]
    StreamId(#[from] InvalidStreamId),
}

/// Writes everything stored about `customer` to `out` as one JSON document:
/// `{"format", "format_version", "customer", "personal_data", "streams": [{"stream_id",
/// "events": [...]}]}`. The streams are the customer's own, those of the units sold to them and
/// those of their contracts; each event has the fields of an export line. `personal_data` is
/// `null` after an erasure, and no event holds personal data (§8 of `docs/domain.md`), so an erased customer's
/// export holds none.
///
/// Finding the units and contracts reads the whole log once, decoding only sales and contract
/// proposals; the document is written as it is read, so memory does not grow with the store.
pub fn export_customer_data<S: EventStore<ServiceEvent>>(
    store: &S,
    personal_data: &dyn Vault,
    customer: CustomerId,
    out: impl Write,
) -> Result<(), CustomerExportError> {
    let mut streams = vec![Customer::stream_id(customer)?];
    // Only sales and contract proposals name the customer: the scan decodes those two types and
    // passes over every other event encoded, as the store keeps it.
    let scanned =
        visit_events_of_types(store, &[UNIT_SOLD, CONTRACT_PROPOSED], |encoded, event| {
            let belongs = match &event {
                ServiceEvent::Product(ProductEvent::UnitSold {
                    customer: buyer, ..
                }) => *buyer == customer,
                ServiceEvent::Contract(ContractEvent::Proposed { terms, .. }) => {
                    terms.customer == customer
                }
                _ => false,
            };
            if belongs
                && !streams
                    .iter()
                    .any(|known| known.as_str() == encoded.stream_id)
            {
                let stream =
                    StreamId::new(encoded.stream_id).map_err(|problem| ReadError::Corrupt {
                        record: format!("log position {}", encoded.position),
                        problem: format!("its stream id is invalid: {problem}"),
                    })?;
                streams.push(stream);
            }
            Ok(())
        });
    scanned.map_err(ExportError::from)?;
    let mut out = std::io::BufWriter::new(out);
    let personal = PersonalDataRecord::of(personal_data, customer).get()?;
    let io = |error: std::io::Error| CustomerExportError::Export(ExportError::Write(error));
    let json = |value: &dyn erased::Json| value.to_json().map_err(io);
    write!(
        out,
        "{{\"format\":{},\"format_version\":1,\"customer\":{},\"personal_data\":{},\"streams\":[",
        json(&CUSTOMER_FORMAT_NAME)?,
        json(&customer.as_uuid())?,
        json(&personal)?
    )
    .map_err(io)?;
    for (index, stream) in streams.iter().enumerate() {
        let separator = if index > 0 { "," } else { "" };
        let name = json(&stream.as_str())?;
        write!(out, "{separator}{{\"stream_id\":{name},\"events\":").map_err(io)?;
        write_stream_events(store, stream, &mut out)?;
        out.write_all(b"}").map_err(io)?;
    }
    out.write_all(b"]}\n").map_err(io)?;
    out.flush().map_err(io)?;
    Ok(())
}

/// A serializable value as JSON text, for the document's fixed fields.
mod erased {
    pub(super) trait Json {
        fn to_json(&self) -> Result<String, std::io::Error>;
    }

    impl<T: serde::Serialize> Json for T {
        fn to_json(&self) -> Result<String, std::io::Error> {
            serde_json::to_string(self).map_err(std::io::Error::from)
        }
    }
}
