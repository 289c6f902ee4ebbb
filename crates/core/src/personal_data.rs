//! Personal data (§8 of `docs/domain.md`): a customer's name and contact details never enter an
//! event. They are kept in a [vault](crate::kernel::Vault) keyed by the customer's id, as JSON;
//! erasing removes them from every read path while the event history stays intact and replays.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::customer::CustomerEvent;
use crate::error::ServiceError;
use crate::events::ServiceEvent;
use crate::kernel::{EventStore, SubjectId, Vault, VaultError};
use crate::scan::visit_events_of_types_until;

/// The type names of the events that say a customer has, or no longer has, personal data.
const REGISTERED: &str = "customer.registered";
const PERSONAL_DATA_ERASED: &str = "customer.personal_data_erased";
use crate::values::CustomerId;

/// A customer's personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PersonalData {
    /// The display name.
    pub name: String,
    /// Contact details (telephone, e-mail, address).
    pub contact: String,
}

impl PersonalData {
    /// A name and contact details.
    pub fn new(name: impl Into<String>, contact: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            contact: contact.into(),
        }
    }
}

/// Why a customer's personal data could not be stored, read or erased.
#[derive(Debug, thiserror::Error)]
#[error("personal data of customer {customer}: {source}")]
pub struct PersonalDataError {
    /// The customer.
    pub customer: CustomerId,
    /// What failed: the vault, or a record that is not personal data.
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

/// The customer's personal data in `vault`, as the domain reads and writes it.
pub(crate) struct PersonalDataRecord<'a> {
    vault: &'a dyn Vault,
    customer: CustomerId,
}

impl<'a> PersonalDataRecord<'a> {
    pub(crate) fn of(vault: &'a dyn Vault, customer: CustomerId) -> Self {
        Self { vault, customer }
    }

    fn subject(&self) -> SubjectId {
        SubjectId::from_uuid(self.customer.as_uuid())
    }

    fn failed(&self, source: impl std::error::Error + Send + Sync + 'static) -> PersonalDataError {
        PersonalDataError {
            customer: self.customer,
            source: Box::new(source),
        }
    }

    /// The vault's own cause (the storage's error, a damaged record), not wrapped again: the
    /// customer is the subject, so the vault's error would only repeat the id.
    fn vault_failed(&self, error: VaultError) -> PersonalDataError {
        PersonalDataError {
            customer: self.customer,
            source: error.source,
        }
    }

    /// Stores (or replaces) the customer's personal data.
    pub(crate) fn put(&self, data: &PersonalData) -> Result<(), PersonalDataError> {
        let record = serde_json::to_vec(data).map_err(|error| self.failed(error))?;
        self.vault
            .put(self.subject(), record)
            .map_err(|error| self.vault_failed(error))
    }

    /// The customer's personal data, unless there is none or it was erased.
    pub(crate) fn get(&self) -> Result<Option<PersonalData>, PersonalDataError> {
        let Some(record) = self
            .vault
            .get(self.subject())
            .map_err(|error| self.vault_failed(error))?
        else {
            return Ok(None);
        };
        serde_json::from_slice(&record)
            .map(Some)
            .map_err(|error| self.failed(error))
    }

    /// Erases the customer's personal data; true if there was any.
    pub(crate) fn erase(&self) -> Result<bool, PersonalDataError> {
        self.vault
            .erase(self.subject())
            .map_err(|error| self.vault_failed(error))
    }
}

/// Stores `customer`'s personal data in `vault`, as the application does when it registers
/// them: for a loader that writes registrations itself (before it writes them, so a crash never
/// leaves a registered customer without personal data).
pub fn put_personal_data(
    vault: &dyn Vault,
    customer: CustomerId,
    data: &PersonalData,
) -> Result<(), PersonalDataError> {
    PersonalDataRecord::of(vault, customer).put(data)
}

/// The registered customers whose personal record is missing from `vault`: registered, never
/// erased, and no record. A store written by this library never has one (the record is kept
/// before the registration); one restored from a partial backup, or written by a version that
/// kept the record second and crashed between the two, may. Reads the whole log once, decoding
/// only registrations.
///
/// ```
/// use service_lifecycle_core::kernel::{MemoryStore, MemoryVault};
/// use service_lifecycle_core::{customers_missing_personal_data, ServiceEvent};
///
/// let store = MemoryStore::<ServiceEvent>::new();
/// assert!(customers_missing_personal_data(&store, &MemoryVault::new())?.is_empty());
/// # Ok::<(), service_lifecycle_core::ServiceError>(())
/// ```
pub fn customers_missing_personal_data<S: EventStore<ServiceEvent>>(
    store: &S,
    vault: &dyn Vault,
) -> Result<Vec<CustomerId>, ServiceError> {
    let customers = RegisteredCustomers::read(store)?;
    let mut missing = Vec::new();
    for customer in customers.with_personal_data {
        if PersonalDataRecord::of(vault, customer).get()?.is_none() {
            missing.push(customer);
        }
    }
    Ok(missing)
}

/// The customers a log registered: those whose personal data it keeps, and those whose data it
/// erased (C7).
pub(crate) struct RegisteredCustomers {
    /// Registered and never erased, in id order.
    pub(crate) with_personal_data: Vec<CustomerId>,
    /// Registered and erased since.
    pub(crate) erased: BTreeSet<CustomerId>,
}

impl RegisteredCustomers {
    /// Reads the whole log once, decoding only registrations and erasures.
    pub(crate) fn read<S: EventStore<ServiceEvent>>(store: &S) -> Result<Self, ServiceError> {
        Self::read_until(store, store.head_position()?)
    }

    /// [`read`](Self::read), of the log up to position `until` (inclusive).
    pub(crate) fn read_until<S: EventStore<ServiceEvent>>(
        store: &S,
        until: u64,
    ) -> Result<Self, ServiceError> {
        let mut registered: BTreeMap<String, CustomerId> = BTreeMap::new();
        let mut erased_streams: BTreeSet<String> = BTreeSet::new();
        let scanned = visit_events_of_types_until(
            store,
            until,
            &[REGISTERED, PERSONAL_DATA_ERASED],
            |encoded, event| {
                match event {
                    ServiceEvent::Customer(CustomerEvent::Registered { customer, .. }) => {
                        registered.insert(encoded.stream_id.to_owned(), customer);
                    }
                    ServiceEvent::Customer(CustomerEvent::PersonalDataErased { .. }) => {
                        erased_streams.insert(encoded.stream_id.to_owned());
                    }
                    _ => {}
                }
                Ok(())
            },
        );
        scanned.map_err(crate::scan::service_error)?;
        let mut with_personal_data = Vec::new();
        let mut erased = BTreeSet::new();
        for (stream, customer) in registered {
            if erased_streams.contains(&stream) {
                erased.insert(customer);
            } else {
                with_personal_data.push(customer);
            }
        }
        with_personal_data.sort();
        Ok(Self {
            with_personal_data,
            erased,
        })
    }
}
