//! Errors as HTTP answers: what the client did wrong, or what the rules refused, in words, with a
//! status a client can act on. Input never makes a 500: bad input is a 400 naming the field, a
//! missing entity a 404, a refused command a 422 (409 when it conflicts with another request),
//! and a store that fails a 503.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use service_lifecycle::kernel::ExecuteError;
use service_lifecycle::ServiceError;

/// Why a request was not done.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed: a field missing, of the wrong type, a value out of range.
    #[error("{0}")]
    BadInput(String),
    /// An entity the request names does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The rules refuse the command.
    #[error("{message}")]
    Refused {
        /// The rule, in words.
        message: String,
        /// The rule's machine name, where the error has one (`rule_broken`).
        rule: Option<String>,
    },
    /// The command conflicts with another: an id used for another command, or a race lost
    /// more often than the retries allow.
    #[error("{0}")]
    Conflict(String),
    /// The store or the work failed; the request may be sent again.
    #[error("{0}")]
    Unavailable(String),
    /// A bug of the desk (its work panicked): not the client's doing, and not worth a retry.
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            Self::BadInput(_) => StatusCode::BAD_REQUEST,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Refused { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Self::BadInput(_) => "bad_input",
            Self::NotFound(_) => "not_found",
            Self::Refused { .. } => "refused",
            Self::Conflict(_) => "conflict",
            Self::Unavailable(_) => "unavailable",
            Self::Internal(_) => "internal",
        }
    }
}

/// The machine name of the rule an aggregate's error broke (`"not_ready_for_sale"`), from its
/// serde form.
fn rule_of<R>(error: &ExecuteError<R>) -> Option<String>
where
    R: serde::Serialize + std::error::Error + Send + Sync + 'static,
{
    match error {
        ExecuteError::Rejected(rejection) => serde_json::to_value(rejection)
            .ok()?
            .get("rule_broken")?
            .as_str()
            .map(str::to_owned),
        _ => None,
    }
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        let message = error.to_string();
        let rule = match &error {
            ServiceError::Product(inner) => rule_of(inner),
            ServiceError::Customer(inner) => rule_of(inner),
            ServiceError::Contract(inner) => rule_of(inner),
            ServiceError::Part(inner) => rule_of(inner),
            ServiceError::Technician(inner) => rule_of(inner),
            ServiceError::Model(inner) => rule_of(inner),
            ServiceError::Coverage(inner) => rule_of(inner),
            _ => None,
        };
        match error {
            ServiceError::Unknown { .. } => Self::NotFound(message),
            ServiceError::InvalidKey(_)
            | ServiceError::InvalidCurrency(_)
            | ServiceError::Calendar(_) => Self::BadInput(message),
            error if error.is_permanent_failure() => Self::Conflict(message),
            error if error.is_rejection() => Self::Refused { message, rule },
            ServiceError::Product(ExecuteError::TooManyConflicts { .. })
            | ServiceError::Customer(ExecuteError::TooManyConflicts { .. })
            | ServiceError::Contract(ExecuteError::TooManyConflicts { .. })
            | ServiceError::Part(ExecuteError::TooManyConflicts { .. })
            | ServiceError::Technician(ExecuteError::TooManyConflicts { .. })
            | ServiceError::Model(ExecuteError::TooManyConflicts { .. })
            | ServiceError::Coverage(ExecuteError::TooManyConflicts { .. }) => {
                Self::Conflict(message)
            }
            _ => Self::Unavailable(message),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = serde_json::json!({"error": self.kind(), "message": self.to_string()});
        if let Self::Refused {
            rule: Some(rule), ..
        } = &self
        {
            body["rule"] = serde_json::Value::String(rule.clone());
        }
        (self.status(), Json(body)).into_response()
    }
}
