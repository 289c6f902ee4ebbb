//! The errors of the service facade: why a command was refused or failed, and the policy
//! commands that were.

use chrono::NaiveDate;

use super::contract::ContractError;
use super::customer::CustomerError;
use super::parts::PartError;
use super::personal_data::PersonalDataError;
use super::product::ProductError;
use super::technician::TechnicianError;
use super::values::{CallId, ContractId, ModelId, ProductId, TechnicianId};
use crate::kernel::{EventId, ExecuteError, InvalidStreamId, ReadError};

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
    /// The call is not known.
    #[error("no service call {call} is known")]
    UnknownCall {
        /// The call.
        call: CallId,
    },
    /// The unit is not known.
    #[error("no unit {product} is known")]
    UnknownUnit {
        /// The unit.
        product: ProductId,
    },
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
    /// The personal-data vault failed.
    #[error(transparent)]
    PersonalData(#[from] PersonalDataError),
    /// Reading the log failed.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// An id makes no valid stream id.
    #[error(transparent)]
    StreamId(#[from] InvalidStreamId),
}

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
            Self::NotCertified { .. }
            | Self::RequestedModelAvailable { .. }
            | Self::UnknownCall { .. }
            | Self::UnknownUnit { .. }
            | Self::UnitHasContract { .. } => true,
            Self::PersonalData(_) | Self::Read(_) | Self::StreamId(_) => false,
        }
    }
}

/// A policy command that was refused or failed. The triggering command stands; the failure is
/// kept for the application to act on ([`ServiceLifecycle::policy_failures`](crate::ServiceLifecycle::policy_failures)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyFailure {
    /// The policy.
    pub policy: &'static str,
    /// The event that triggered it.
    pub trigger: EventId,
    /// What went wrong.
    pub error: String,
}
