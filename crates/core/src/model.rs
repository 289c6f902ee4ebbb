//! The model catalogue (§3a of `docs/domain.md`): the master data of each product model (its
//! name, manufacturer, category and the warranty it is sold with) and its discontinuation, as
//! events like everything else. What it models is documented on [`Model`].

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use std::collections::BTreeMap;

use super::values::{guarantee_end, ModelId, WarrantyTerms};
use crate::checks::{self, BadLength};
use crate::error::ServiceError;
use crate::event_enum::event_enum;
use crate::events::ServiceEvent;
use crate::kernel::EventStore;
use crate::kernel::{Decider, InvalidStreamId, StreamId};
use crate::scan::visit_events_of_types;

/// The longest name, manufacturer or category, in characters.
pub const MAX_MASTER_DATA_LEN: usize = 200;

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------

event_enum! {
    /// What happened to a model of the catalogue.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
    #[serde(tag = "type", content = "data")]
    pub enum ModelEvent {
        /// M1: the model entered the catalogue.
        "model.introduced" => Introduced {
            /// The model.
            model: ModelId,
            /// Its master data.
            details: ModelDetails,
            /// When.
            at: DateTime<Utc>,
        },
        /// M2: the model's master data changed (a corrected name, new warranty terms for the
        /// sales to come).
        "model.revised" => Revised {
            /// The model.
            model: ModelId,
            /// The master data from now on.
            details: ModelDetails,
            /// When.
            at: DateTime<Utc>,
        },
        /// M3 (R3): the model left production; its parts are guaranteed until
        /// `guaranteed_until`.
        "model.discontinued" => Discontinued {
            /// The model.
            model: ModelId,
            /// The years of the parts guarantee.
            guarantee_years: u32,
            /// The last day the parts are guaranteed (inclusive).
            guaranteed_until: NaiveDate,
            /// The last day of last-time buys of its parts.
            last_order_date: NaiveDate,
            /// When.
            at: DateTime<Utc>,
        },
    }
}

impl ModelEvent {
    /// When the event occurred in business time: its `at`.
    pub fn occurred_at(&self) -> Option<DateTime<Utc>> {
        match self {
            Self::Introduced { at, .. }
            | Self::Revised { at, .. }
            | Self::Discontinued { at, .. } => Some(*at),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------------------------

/// A model's master data: what a person reads in every report and what a sale defaults to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ModelDetails {
    /// The model's name as the dealership sells it ("WM-7 washing machine").
    pub name: String,
    /// Who makes it.
    pub manufacturer: String,
    /// Its product category ("washing machines").
    pub category: String,
    /// The warranty it is sold with, unless a sale overrides it (P4).
    pub warranty: WarrantyTerms,
}

/// A model's discontinuation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ModelDiscontinuation {
    /// The day it left production.
    pub on: NaiveDate,
    /// The last day its parts are guaranteed (inclusive).
    pub guaranteed_until: NaiveDate,
    /// The last day of last-time buys.
    pub last_order_date: NaiveDate,
}

/// The folded state of one model.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ModelState {
    /// The model, once introduced.
    pub model: Option<ModelId>,
    /// Its master data, once introduced.
    pub details: Option<ModelDetails>,
    /// Its discontinuation, once discontinued.
    pub discontinued: Option<ModelDiscontinuation>,
}

fn apply(state: &mut ModelState, event: &ModelEvent) {
    match event {
        ModelEvent::Introduced { model, details, .. } => {
            state.model = Some(*model);
            state.details = Some(details.clone());
        }
        ModelEvent::Revised { details, .. } => state.details = Some(details.clone()),
        ModelEvent::Discontinued {
            guaranteed_until,
            last_order_date,
            at,
            ..
        } => {
            state.discontinued = Some(ModelDiscontinuation {
                on: at.date_naive(),
                guaranteed_until: *guaranteed_until,
                last_order_date: *last_order_date,
            });
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Decide
// ---------------------------------------------------------------------------------------------

/// What can be asked of the catalogue about one model. Every command carries its business time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum ModelCommand {
    /// M1: put a model in the catalogue.
    Introduce {
        /// The model.
        model: ModelId,
        /// Its master data.
        details: ModelDetails,
        /// When.
        at: DateTime<Utc>,
    },
    /// M2: change a model's master data (the same data again changes nothing).
    Revise {
        /// The model.
        model: ModelId,
        /// The master data from now on.
        details: ModelDetails,
        /// When.
        at: DateTime<Utc>,
    },
    /// M3 (R3): the model leaves production. Every part the model uses gets the
    /// discontinuation (the policy of §7), and so does a part registered for it later.
    Discontinue {
        /// The model.
        model: ModelId,
        /// Years the parts stay guaranteed (10 to 12 by the chapter;
        /// [`DEFAULT_GUARANTEE_YEARS`](crate::DEFAULT_GUARANTEE_YEARS) is 10).
        guarantee_years: u32,
        /// The last day of last-time buys (inside the guarantee).
        last_order_date: NaiveDate,
        /// When.
        at: DateTime<Utc>,
    },
}

impl ModelCommand {
    /// The model the command is about.
    pub fn model(&self) -> ModelId {
        match self {
            Self::Introduce { model, .. }
            | Self::Revise { model, .. }
            | Self::Discontinue { model, .. } => *model,
        }
    }
}

/// Why the catalogue refuses a command about a model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "rule_broken", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ModelError {
    /// M1: in the catalogue already.
    #[error("model {model} is in the catalogue already: a model is introduced once (M1); change its data with Revise")]
    AlreadyIntroduced {
        /// The model.
        model: ModelId,
    },
    /// Never introduced.
    #[error("model {model} is not in the catalogue: introduce it first (M1)")]
    NotIntroduced {
        /// The model.
        model: ModelId,
    },
    /// The command names another model than the stream holds.
    #[error("the command is for model {command}, but this stream holds model {stream}")]
    WrongModel {
        /// The model the command names.
        command: ModelId,
        /// The model of the stream.
        stream: ModelId,
    },
    /// M1, M2: a name, manufacturer or category empty or too long.
    #[error("the {field} of model {model} must hold 1 to {MAX_MASTER_DATA_LEN} characters (M1)")]
    BadText {
        /// The model.
        model: ModelId,
        /// `name`, `manufacturer` or `category`.
        field: &'static str,
    },
    /// M1, M2: a warranty of no months.
    #[error("the warranty of model {model} must last at least one month (M1)")]
    NoWarranty {
        /// The model.
        model: ModelId,
    },
    /// M3: discontinued already.
    #[error("model {model} was discontinued on {on}: a model leaves production once (M3)")]
    AlreadyDiscontinued {
        /// The model.
        model: ModelId,
        /// The day it was.
        on: NaiveDate,
    },
    /// M3 (R3): a guarantee of no years, or a last order date after the guarantee ends.
    #[error("the parts guarantee of model {model} must last at least a year and its last order date ({last_order_date}) fall inside it (M3, R3)")]
    BadGuarantee {
        /// The model.
        model: ModelId,
        /// The last order date given.
        last_order_date: NaiveDate,
    },
}

/// The model catalogue's aggregate: one stream per model, `model-{id}`.
///
/// - **M1** Introduce a model once, with its master data: a name, manufacturer and category of 1
///   to 200 characters each (trimmed) and the warranty it is sold with (at least one month).
/// - **M2** Revise the master data at any time; the same data again records nothing. Units sold
///   before keep the warranty of their sale.
/// - **M3** Discontinue a model once (R3): the parts guarantee lasts `guarantee_years` (at
///   least one) from that day, and the last order date falls inside it. Every part the model
///   uses gets the discontinuation, by the policy of §7.
#[derive(Debug, Clone, Copy, Default)]
pub struct Model;

impl Model {
    /// The stream of a model: `model-{id}`.
    pub fn stream_id(model: ModelId) -> Result<StreamId, InvalidStreamId> {
        StreamId::for_entity("model", model)
    }
}

impl Decider for Model {
    type State = ModelState;
    type Command = ModelCommand;
    type Event = ModelEvent;
    type Error = ModelError;

    fn state_size(state: &ModelState) -> usize {
        std::mem::size_of::<ModelState>()
            + state.details.as_ref().map_or(0, |details| {
                details.name.len() + details.manufacturer.len() + details.category.len()
            })
    }

    fn apply(state: &mut ModelState, event: &ModelEvent) {
        apply(state, event);
    }

    fn decide(state: &ModelState, command: &ModelCommand) -> Result<Vec<ModelEvent>, ModelError> {
        let model = command.model();
        if let Some(stream) = state.model.filter(|stream| *stream != model) {
            return Err(ModelError::WrongModel {
                command: model,
                stream,
            });
        }
        match command {
            ModelCommand::Introduce { details, at, .. } => {
                if state.model.is_some() {
                    return Err(ModelError::AlreadyIntroduced { model });
                }
                Ok(vec![ModelEvent::Introduced {
                    model,
                    details: valid_details(model, details)?,
                    at: *at,
                }])
            }
            ModelCommand::Revise { details, at, .. } => {
                let current = state
                    .details
                    .as_ref()
                    .ok_or(ModelError::NotIntroduced { model })?;
                let details = valid_details(model, details)?;
                if *current == details {
                    return Ok(Vec::new());
                }
                Ok(vec![ModelEvent::Revised {
                    model,
                    details,
                    at: *at,
                }])
            }
            ModelCommand::Discontinue {
                guarantee_years,
                last_order_date,
                at,
                ..
            } => {
                if state.model.is_none() {
                    return Err(ModelError::NotIntroduced { model });
                }
                if let Some(discontinued) = state.discontinued {
                    return Err(ModelError::AlreadyDiscontinued {
                        model,
                        on: discontinued.on,
                    });
                }
                let guaranteed_until = guarantee_end(at.date_naive(), *guarantee_years)
                    .filter(|until| last_order_date <= until)
                    .ok_or(ModelError::BadGuarantee {
                        model,
                        last_order_date: *last_order_date,
                    })?;
                Ok(vec![ModelEvent::Discontinued {
                    model,
                    guarantee_years: *guarantee_years,
                    guaranteed_until,
                    last_order_date: *last_order_date,
                    at: *at,
                }])
            }
        }
    }
}

/// The model catalogue as `store` holds it: every model's master data, as last revised. Reads
/// the whole log once, decoding only the catalogue's events.
pub fn read_catalogue<S: EventStore<ServiceEvent>>(
    store: &S,
) -> Result<BTreeMap<ModelId, ModelDetails>, ServiceError> {
    let mut catalogue = BTreeMap::new();
    visit_events_of_types(store, &[INTRODUCED, REVISED], |_, event| {
        if let ServiceEvent::Model(
            ModelEvent::Introduced { model, details, .. }
            | ModelEvent::Revised { model, details, .. },
        ) = event
        {
            catalogue.insert(model, details);
        }
        Ok(())
    })
    .map_err(crate::scan::service_error)?;
    Ok(catalogue)
}

/// The type names of the events that carry master data.
const INTRODUCED: &str = "model.introduced";
const REVISED: &str = "model.revised";

/// The details trimmed, if each text holds 1 to [`MAX_MASTER_DATA_LEN`] characters and the
/// warranty at least a month.
fn valid_details(model: ModelId, details: &ModelDetails) -> Result<ModelDetails, ModelError> {
    let text = |field: &'static str, value: &str| {
        checks::trimmed(value, 1, MAX_MASTER_DATA_LEN)
            .map(str::to_owned)
            .map_err(|BadLength| ModelError::BadText { model, field })
    };
    if details.warranty.months == 0 {
        return Err(ModelError::NoWarranty { model });
    }
    Ok(ModelDetails {
        name: text("name", &details.name)?,
        manufacturer: text("manufacturer", &details.manufacturer)?,
        category: text("category", &details.category)?,
        warranty: details.warranty,
    })
}

#[cfg(test)]
mod tests;
