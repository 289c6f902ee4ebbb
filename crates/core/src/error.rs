//! The errors of the service facade: why a command was refused or failed, and the entity a
//! command names that does not exist.

use chrono::NaiveDate;

use super::calendar::CalendarError;
use super::contract::ContractError;
use super::coverage::CoverageError;
use super::customer::CustomerError;
use super::customer_export::CustomerExportError;
use super::model::ModelError;
use super::parts::PartError;
use super::personal_data::PersonalDataError;
use super::personal_data_backup::PersonalDataBackupError;
use super::product::ProductError;
use super::technician::TechnicianError;
use super::values::{
    CallId, ContractId, CustomerId, InvalidCurrency, InvalidKey, ModelId, PartNumber, ProductId,
    TechnicianId,
};
use crate::kernel::{
    AppendError, CheckpointError, ExecuteError, InvalidStreamId, LoadError, ProjectionError,
    ReadError, VaultError,
};

/// Why the facade refused or failed a command.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    /// The unit refused or the store failed.
    #[error(transparent)]
    Product(#[from] ExecuteError<ProductError>),
    /// The customer refused or the store failed.
    #[error(transparent)]
    Customer(#[from] ExecuteError<CustomerError>),
    /// The contract refused or the store failed.
    #[error(transparent)]
    Contract(#[from] ExecuteError<ContractError>),
    /// The part refused or the store failed.
    #[error(transparent)]
    Part(#[from] ExecuteError<PartError>),
    /// The technician refused or the store failed.
    #[error(transparent)]
    Technician(#[from] ExecuteError<TechnicianError>),
    /// The model catalogue refused or the store failed.
    #[error(transparent)]
    Model(#[from] ExecuteError<ModelError>),
    /// T2: the technician holds no valid certification for the unit's model on the call's day.
    #[error("technician {technician} is not certified for model {model} on {date}: only a technician certified for the unit's model on the day is dispatched (T2)")]
    NotCertified {
        /// The technician.
        technician: TechnicianId,
        /// The unit's model.
        model: ModelId,
        /// The day of the dispatch.
        date: NaiveDate,
    },
    /// C5: a substitute is offered only when the requested model has no unit ready for sale.
    #[error("model {model} has unit {unit} ready for sale: a substitute is offered only when the requested model has no unit ready for sale (C5)")]
    RequestedModelAvailable {
        /// The model asked for.
        model: ModelId,
        /// A unit of it ready for sale.
        unit: ProductId,
    },
    /// C1, §8: a registration given as a plain Customer command would leave the customer
    /// without personal data.
    #[error("customer {customer} is registered with their personal data (register_customer, or the register_customer command), never by a plain Customer command that would leave them without it (C1)")]
    RegistrationWithoutPersonalData {
        /// The customer.
        customer: CustomerId,
    },
    /// The command names an entity the store does not know: nothing was written.
    #[error("no {missing} is known: a command names only entities that exist (register or receive it first)")]
    Unknown {
        /// The entity that is missing.
        missing: Reference,
    },
    /// A unit's coverage refused a claim (S1) or the store failed.
    #[error(transparent)]
    Coverage(#[from] ExecuteError<CoverageError>),
    /// S1: a unit never has two contracts at once.
    #[error(
        "unit {unit} is covered by contract {contract} from {start} to {end}, which overlaps: a unit has at most one contract on any date (S1)"
    )]
    UnitHasContract {
        /// The unit.
        unit: ProductId,
        /// The contract that covers it.
        contract: ContractId,
        /// Its start.
        start: NaiveDate,
        /// Its end.
        end: NaiveDate,
    },
    /// A refused policy command could not be recorded in the policy log (the store failed).
    #[error(transparent)]
    PolicyLog(#[from] ExecuteError<std::convert::Infallible>),
    /// The personal-data vault failed.
    #[error(transparent)]
    PersonalData(#[from] PersonalDataError),
    /// The policies' checkpoint could not be read or saved.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// Reading the log failed.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// An id makes no valid stream id.
    #[error(transparent)]
    StreamId(#[from] InvalidStreamId),
    /// A serial number or part number given is not a valid one: nothing was written.
    #[error(transparent)]
    InvalidKey(#[from] InvalidKey),
    /// A currency code given is not one of ISO 4217: nothing was written.
    #[error(transparent)]
    InvalidCurrency(#[from] InvalidCurrency),
    /// A business calendar given is not usable: nothing was written.
    #[error(transparent)]
    Calendar(#[from] CalendarError),
    /// A customer's data export failed.
    #[error(transparent)]
    CustomerExport(#[from] CustomerExportError),
    /// A personal-data backup could not be written or restored.
    #[error(transparent)]
    PersonalDataBackup(#[from] PersonalDataBackupError),
    /// A projection of the application's own failed.
    #[error(transparent)]
    Projection(#[from] ProjectionError),
    /// Loading an aggregate failed (the store, or a stream that is not the aggregate's).
    #[error(transparent)]
    Load(#[from] LoadError),
    /// Appending to the store directly failed.
    #[error(transparent)]
    Append(#[from] AppendError),
    /// A vault used directly failed.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// An adapter failed: opening or checking a sled or PostgreSQL store, a JSON export or
    /// import. The adapter's own error is the source (downcast it for its details).
    #[error(transparent)]
    Adapter(Box<dyn std::error::Error + Send + Sync>),
}

/// `?` carries the adapters' errors into [`ServiceError::Adapter`].
macro_rules! adapter_errors {
    ($($error:ty),* $(,)?) => {
        $(
            impl From<$error> for ServiceError {
                fn from(error: $error) -> Self {
                    Self::Adapter(Box::new(error))
                }
            }
        )*
    };
}

adapter_errors!(
    service_lifecycle_json::ExportError,
    service_lifecycle_json::ImportError,
);

#[cfg(feature = "sled")]
adapter_errors!(
    service_lifecycle_sled::StorageError,
    service_lifecycle_sled::OpenError,
    service_lifecycle_sled::ReadModelError,
);

#[cfg(feature = "postgres")]
adapter_errors!(
    service_lifecycle_postgres::DatabaseError,
    service_lifecycle_postgres::OpenError,
    service_lifecycle_postgres::SchemaError,
    service_lifecycle_postgres::ProjectionError,
    service_lifecycle_postgres::ThrowawayError,
);

impl ServiceError {
    /// Whether the rules refused the command: an aggregate rejected it, a rule across aggregates
    /// (S1, T2, C5) did, or it names a call or unit nobody knows. Those are answers to act on
    /// (another command, other data); the rest (the store, the personal-data vault, a lost race,
    /// a reused command id, an id that makes no stream id) mean the command could not be decided
    /// or kept, and a loop sending commands should stop on them rather than count them.
    pub fn is_rejection(&self) -> bool {
        match self {
            Self::Product(error) => error.is_rejection(),
            Self::Customer(error) => error.is_rejection(),
            Self::Contract(error) => error.is_rejection(),
            Self::Part(error) => error.is_rejection(),
            Self::Technician(error) => error.is_rejection(),
            Self::Coverage(error) => error.is_rejection(),
            Self::Model(error) => error.is_rejection(),
            Self::NotCertified { .. }
            | Self::RequestedModelAvailable { .. }
            | Self::Unknown { .. }
            | Self::RegistrationWithoutPersonalData { .. }
            | Self::UnitHasContract { .. }
            | Self::InvalidKey(_)
            | Self::InvalidCurrency(_)
            | Self::Calendar(_) => true,
            Self::PersonalData(_)
            | Self::PolicyLog(_)
            | Self::Checkpoint(_)
            | Self::Read(_)
            | Self::StreamId(_)
            | Self::CustomerExport(_)
            | Self::PersonalDataBackup(_)
            | Self::Projection(_)
            | Self::Load(_)
            | Self::Append(_)
            | Self::Vault(_)
            | Self::Adapter(_) => false,
        }
    }
}

impl ServiceError {
    /// Whether the command failed for a reason no retry mends, although the rules did not
    /// refuse it: its command id names a command of another stream (the sender reused an id),
    /// or an id makes no stream id. The policies record such a failure like a refusal instead
    /// of retrying it forever; a sender should treat it as its own mistake, not the store's.
    pub fn is_permanent_failure(&self) -> bool {
        fn reused<R: std::error::Error + Send + Sync + 'static>(error: &ExecuteError<R>) -> bool {
            matches!(error, ExecuteError::CommandIdReused { .. })
        }
        match self {
            Self::StreamId(_) => true,
            Self::Product(error) => reused(error),
            Self::Customer(error) => reused(error),
            Self::Contract(error) => reused(error),
            Self::Part(error) => reused(error),
            Self::Technician(error) => reused(error),
            Self::Coverage(error) => reused(error),
            Self::Model(error) => reused(error),
            _ => false,
        }
    }
}

/// An entity a command names, by kind and id: what [`ServiceError::Unknown`] says is missing.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Reference {
    /// A customer (registered; an erased customer still is one).
    Customer(CustomerId),
    /// A unit (received).
    Unit(ProductId),
    /// A model (in the catalogue, or of a received unit or a registered part).
    Model(ModelId),
    /// A spare part (registered).
    Part(PartNumber),
    /// A technician (hired).
    Technician(TechnicianId),
    /// A service contract (proposed).
    Contract(ContractId),
    /// A service call (opened).
    Call(CallId),
}

impl std::fmt::Display for Reference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Customer(id) => write!(f, "customer {id}"),
            Self::Unit(id) => write!(f, "unit {id}"),
            Self::Model(id) => write!(f, "model {id}"),
            Self::Part(id) => write!(f, "part {id}"),
            Self::Technician(id) => write!(f, "technician {id}"),
            Self::Contract(id) => write!(f, "contract {id}"),
            Self::Call(id) => write!(f, "service call {id}"),
        }
    }
}
