//! Personal data (spec §8): a customer's name and contact details never enter an event. They live
//! in a separate, erasable store keyed by customer id; erasing removes them from every read path
//! while the event history stays intact and replays.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use serde::{Deserialize, Serialize};

use super::values::CustomerId;

/// A customer's personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonalData {
    /// The display name.
    pub name: String,
    /// Contact details (telephone, e-mail, address).
    pub contact: String,
}

/// Why the personal-data store failed.
#[derive(Debug, thiserror::Error)]
#[error("personal data of customer {customer}: {source}")]
pub struct PersonalDataError {
    /// The customer.
    pub customer: CustomerId,
    /// What failed.
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

/// Where personal data is kept, keyed by customer.
pub trait PersonalDataStore: Send + Sync {
    /// Stores (or replaces) a customer's personal data.
    fn put(&self, customer: CustomerId, data: PersonalData) -> Result<(), PersonalDataError>;
    /// A customer's personal data, unless there is none or it was erased.
    fn get(&self, customer: CustomerId) -> Result<Option<PersonalData>, PersonalDataError>;
    /// Erases a customer's personal data; true if there was any.
    fn erase(&self, customer: CustomerId) -> Result<bool, PersonalDataError>;
}

/// Personal data held in memory.
#[derive(Debug, Default)]
pub struct MemoryPersonalData {
    records: Mutex<HashMap<CustomerId, PersonalData>>,
}

impl MemoryPersonalData {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl PersonalDataStore for MemoryPersonalData {
    fn put(&self, customer: CustomerId, data: PersonalData) -> Result<(), PersonalDataError> {
        self.records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(customer, data);
        Ok(())
    }

    fn get(&self, customer: CustomerId) -> Result<Option<PersonalData>, PersonalDataError> {
        Ok(self
            .records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&customer)
            .cloned())
    }

    fn erase(&self, customer: CustomerId) -> Result<bool, PersonalDataError> {
        Ok(self
            .records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&customer)
            .is_some())
    }
}

impl<S: PersonalDataStore + ?Sized> PersonalDataStore for std::sync::Arc<S> {
    fn put(&self, customer: CustomerId, data: PersonalData) -> Result<(), PersonalDataError> {
        (**self).put(customer, data)
    }
    fn get(&self, customer: CustomerId) -> Result<Option<PersonalData>, PersonalDataError> {
        (**self).get(customer)
    }
    fn erase(&self, customer: CustomerId) -> Result<bool, PersonalDataError> {
        (**self).erase(customer)
    }
}
