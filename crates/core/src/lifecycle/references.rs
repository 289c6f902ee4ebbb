//! The facade's reference checks: an entity a command names must exist before anything is
//! written. Entities with a stream of their own (customers, units, parts, technicians,
//! contracts) are looked up in the store itself, so the answer is the store's, also for what
//! another process wrote a moment ago; models and calls, which live inside other streams, are
//! looked up in the directory, caught up first when it does not know them yet.

use super::ServiceLifecycle;
use crate::contract::{ServiceContract, Terms};
use crate::customer::Customer;
use crate::directory::Directory;
use crate::error::{Reference, ServiceError};
use crate::events::ServiceEvent;
use crate::kernel::{CheckpointStore, EventStore, InvalidStreamId, StreamId};
use crate::parts::PartsSupply;
use crate::product::Product;
use crate::technician::Technician;
use crate::values::{CallId, ContractId, CustomerId, ModelId, PartNumber, ProductId, TechnicianId};

impl<S: EventStore<ServiceEvent> + CheckpointStore + Clone> ServiceLifecycle<S> {
    /// Refuses with [`ServiceError::Unknown`] unless `stream` holds events.
    fn require_stream(
        &self,
        stream: Result<StreamId, InvalidStreamId>,
        missing: Reference,
    ) -> Result<(), ServiceError> {
        if self.store.stream_version(&stream?)? == 0 {
            return Err(ServiceError::Unknown { missing });
        }
        Ok(())
    }

    /// The customer must be registered (erased or not).
    pub(super) fn require_customer(&self, customer: CustomerId) -> Result<(), ServiceError> {
        self.require_stream(Customer::stream_id(customer), Reference::Customer(customer))
    }

    /// The unit must have been received.
    pub(super) fn require_unit(&self, unit: ProductId) -> Result<(), ServiceError> {
        self.require_stream(Product::stream_id(unit), Reference::Unit(unit))
    }

    /// The part must be registered.
    pub(super) fn require_part(&self, part: &PartNumber) -> Result<(), ServiceError> {
        self.require_stream(PartsSupply::stream_id(part), Reference::Part(part.clone()))
    }

    /// The technician must have been hired.
    pub(super) fn require_technician(&self, technician: TechnicianId) -> Result<(), ServiceError> {
        self.require_stream(
            Technician::stream_id(technician),
            Reference::Technician(technician),
        )
    }

    /// The contract must have been proposed.
    pub(super) fn require_contract(&self, contract: ContractId) -> Result<(), ServiceError> {
        self.require_stream(
            ServiceContract::stream_id(contract),
            Reference::Contract(contract),
        )
    }

    /// The model must be known: in the catalogue, or named by a received unit or a registered
    /// part (the directory follows all three, and is caught up first when it does not know it).
    pub(super) fn require_model(&self, model: ModelId) -> Result<(), ServiceError> {
        self.require_in_directory(
            |directory| directory.knows_model(model),
            Reference::Model(model),
        )
    }

    /// The call must have been opened.
    pub(super) fn require_call(&self, call: CallId) -> Result<(), ServiceError> {
        self.require_in_directory(
            |directory| directory.calls.contains_key(&call),
            Reference::Call(call),
        )
    }

    /// Refuses unless `known` holds of the directory, catching the directory up first when it
    /// does not (it may lag the store: another process's writes, or the background mode).
    fn require_in_directory(
        &self,
        known: impl Fn(&Directory) -> bool,
        missing: Reference,
    ) -> Result<(), ServiceError> {
        match self.find_in_directory(|directory| known(directory).then_some(()))? {
            Some(()) => Ok(()),
            None => Err(ServiceError::Unknown { missing }),
        }
    }

    /// S1 for contracts proposed before units' coverage was kept in coverage streams: refuses a
    /// proposal whose term overlaps a live contract of one of its units that the directory
    /// knows. The coverage claim ([`UnitCoverage`](crate::UnitCoverage)) is what holds under
    /// concurrency; this only sees the older contracts the claim cannot.
    pub(super) fn refuse_known_overlap(&self, terms: &Terms) -> Result<(), ServiceError> {
        self.directory(|directory| {
            for unit in &terms.units {
                if let Some((other, span)) = directory
                    .overlapping_contracts(*unit, terms.start, terms.end)
                    .find(|(other, _)| *other != terms.contract)
                {
                    return Err(ServiceError::UnitHasContract {
                        unit: *unit,
                        contract: other,
                        start: span.start,
                        end: span.end,
                    });
                }
            }
            Ok(())
        })
    }
}
