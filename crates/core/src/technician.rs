//! The Technician aggregate (§6a of `docs/domain.md`): events, state, fold (`apply`), and decide as
//! a table of one function per command. What it models is documented on [`Technician`].

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::values::{CallId, ModelId, TechnicianId};
use crate::checks::{self, BadLength};
use crate::event_enum::event_enum;
use crate::kernel::{Decider, InvalidStreamId, StreamId};

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------

event_enum! {
    /// What happened to a technician.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
    #[serde(tag = "type", content = "data")]
    pub enum TechnicianEvent {
        /// T1: hired.
        "technician.hired" => Hired {
            /// The technician.
            technician: TechnicianId,
            /// When.
            at: DateTime<Utc>,
        },
        /// T1: trained in the service standards.
        "technician.standards_training_completed" => StandardsTrainingCompleted {
            /// When.
            at: DateTime<Utc>,
        },
        /// T1: certified to serve a model until a date (inclusive).
        "technician.certified" => Certified {
            /// The model.
            model: ModelId,
            /// The last valid day.
            until: NaiveDate,
            /// When.
            at: DateTime<Utc>,
        },
        /// The name the reports show was recorded (a work record the employer keeps; staff
        /// contacts never enter an event).
        "technician.named" => Named {
            /// The technician.
            technician: TechnicianId,
            /// The name.
            name: String,
            /// When.
            at: DateTime<Utc>,
        },
        /// T1: a certification was revoked.
        "technician.certification_revoked" => CertificationRevoked {
            /// The model.
            model: ModelId,
            /// Why.
            reason: String,
            /// When.
            at: DateTime<Utc>,
        },
        /// T2: the technician was assigned to a service call on a unit of a model they were
        /// certified for that day: the record that a dispatch (S3) is allowed.
        "technician.assigned_to_call" => AssignedToCall {
            /// The call.
            call: CallId,
            /// The unit's model.
            model: ModelId,
            /// When.
            at: DateTime<Utc>,
        },
        /// T1: the technician left; closed.
        "technician.left" => Left {
            /// When.
            at: DateTime<Utc>,
        },
    }
}

impl TechnicianEvent {
    /// When the event occurred in business time: its `at`, or none for an event recorded
    /// together with the one before it (it occurred with that one).
    pub fn occurred_at(&self) -> Option<DateTime<Utc>> {
        match self {
            Self::Hired { at, .. }
            | Self::Named { at, .. }
            | Self::StandardsTrainingCompleted { at, .. }
            | Self::Certified { at, .. }
            | Self::CertificationRevoked { at, .. }
            | Self::AssignedToCall { at, .. }
            | Self::Left { at, .. } => Some(*at),
        }
    }
}
// ---------------------------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------------------------

/// A certification for one model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Certification {
    /// The last valid day (inclusive).
    pub until: NaiveDate,
    /// The day it was revoked, if it was.
    pub revoked_on: Option<NaiveDate>,
}

/// The folded state of one technician.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TechnicianState {
    /// The technician, once hired.
    pub technician: Option<TechnicianId>,
    /// The name the reports show (empty until one is recorded).
    #[serde(default)]
    pub name: String,
    /// The day of hiring.
    pub hired_on: Option<NaiveDate>,
    /// Whether the service-standards training is done.
    pub trained_in_standards: bool,
    /// Certifications by model (the latest one for each).
    pub certifications: BTreeMap<ModelId, Certification>,
    /// The day the technician left, if they did.
    pub left_on: Option<NaiveDate>,
    /// T2: the last day the technician was assigned to a call, per model: a revocation or a
    /// leave dated on or before it would undo an assignment already made.
    #[serde(default)]
    pub last_assigned: BTreeMap<ModelId, NaiveDate>,
}

impl TechnicianState {
    /// T2: whether the technician may serve `model` on `date`: employed then, and certified for
    /// the model until at least that day, not revoked before it.
    pub fn certified_for(&self, model: ModelId, date: NaiveDate) -> bool {
        let employed = self.hired_on.is_some_and(|hired| hired <= date)
            && self.left_on.is_none_or(|left| date < left);
        employed
            && self
                .certifications
                .get(&model)
                .is_some_and(|certification| {
                    date <= certification.until
                        && certification
                            .revoked_on
                            .is_none_or(|revoked| date < revoked)
                })
    }
}

fn apply(state: &mut TechnicianState, event: &TechnicianEvent) {
    match event {
        TechnicianEvent::Hired { technician, at } => {
            state.technician = Some(*technician);
            state.hired_on = Some(at.date_naive());
        }
        TechnicianEvent::StandardsTrainingCompleted { .. } => state.trained_in_standards = true,
        TechnicianEvent::Named { name, .. } => state.name.clone_from(name),
        TechnicianEvent::Certified { model, until, .. } => {
            state.certifications.insert(
                *model,
                Certification {
                    until: *until,
                    revoked_on: None,
                },
            );
        }
        TechnicianEvent::CertificationRevoked { model, at, .. } => {
            if let Some(certification) = state.certifications.get_mut(model) {
                certification.revoked_on = Some(at.date_naive());
            }
        }
        TechnicianEvent::Left { at } => state.left_on = Some(at.date_naive()),
        TechnicianEvent::AssignedToCall { model, at, .. } => {
            let day = at.date_naive();
            let last = state.last_assigned.entry(*model).or_insert(day);
            *last = (*last).max(day);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Decide
// ---------------------------------------------------------------------------------------------

/// What can be asked about a technician. Every command carries its business time `at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum TechnicianCommand {
    /// T1: hire.
    Hire {
        /// The technician.
        technician: TechnicianId,
        /// When.
        at: DateTime<Utc>,
    },
    /// Record the name the reports show (1 to 200 characters, trimmed; the same name again
    /// records nothing).
    RecordName {
        /// The technician.
        technician: TechnicianId,
        /// The name.
        name: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// T1: record the service-standards training.
    CompleteStandardsTraining {
        /// The technician.
        technician: TechnicianId,
        /// When.
        at: DateTime<Utc>,
    },
    /// T1: certify for a model until a date (after the standards training).
    Certify {
        /// The technician.
        technician: TechnicianId,
        /// The model.
        model: ModelId,
        /// The last valid day.
        until: NaiveDate,
        /// When.
        at: DateTime<Utc>,
    },
    /// T1: revoke a model's certification.
    Revoke {
        /// The technician.
        technician: TechnicianId,
        /// The model.
        model: ModelId,
        /// Why.
        reason: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// T2: assign the technician to a service call on a unit of `model`, at `at`: accepted only
    /// while the technician is certified for the model that day. The facade issues it before a
    /// dispatch, so a revocation racing the dispatch either comes first (and the assignment is
    /// refused) or after it (and the dispatch was valid when made).
    AssignToCall {
        /// The technician.
        technician: TechnicianId,
        /// The call.
        call: CallId,
        /// The model of the call's unit.
        model: ModelId,
        /// When.
        at: DateTime<Utc>,
    },
    /// T1: the technician leaves.
    Leave {
        /// The technician.
        technician: TechnicianId,
        /// When.
        at: DateTime<Utc>,
    },
}

impl TechnicianCommand {
    /// The technician the command is about.
    pub fn technician(&self) -> TechnicianId {
        match self {
            Self::Hire { technician, .. }
            | Self::RecordName { technician, .. }
            | Self::CompleteStandardsTraining { technician, .. }
            | Self::Certify { technician, .. }
            | Self::Revoke { technician, .. }
            | Self::AssignToCall { technician, .. }
            | Self::Leave { technician, .. } => *technician,
        }
    }
}

/// Why a technician refuses a command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "rule_broken", rename_all = "snake_case")]
#[non_exhaustive]
pub enum TechnicianError {
    /// T1: a name empty or too long.
    #[error("technician {technician} needs a name of 1 to 200 characters: the reports show it")]
    BadName {
        /// The technician.
        technician: TechnicianId,
    },
    /// T1: hired already.
    #[error("technician {technician} is hired already: a technician is hired once (T1)")]
    AlreadyHired {
        /// The technician.
        technician: TechnicianId,
    },
    /// T1: never hired.
    #[error("technician {technician} was never hired: only a hired technician is trained, certified or leaves (T1)")]
    NotHired {
        /// The technician.
        technician: TechnicianId,
    },
    /// The command names another technician than the stream holds.
    #[error("the command is for technician {command}, but this stream holds technician {stream}")]
    WrongTechnician {
        /// The technician the command names.
        command: TechnicianId,
        /// The technician of the stream.
        stream: TechnicianId,
    },
    /// T1: the technician has left.
    #[error(
        "technician {technician} has left: nothing more is recorded for a technician who left (T1)"
    )]
    HasLeft {
        /// The technician.
        technician: TechnicianId,
    },
    /// T1: certification needs the service-standards training first.
    #[error("technician {technician} is not trained in the service standards: a technician is certified for model {model} only after that training (T1)")]
    NotTrainedInStandards {
        /// The technician.
        technician: TechnicianId,
        /// The model.
        model: ModelId,
    },
    /// T1: a certification that would end before it is granted.
    #[error("the certification of technician {technician} for model {model} would end on {until}, before it is granted: a certification ends no earlier than the day it is granted (T1)")]
    EndsBeforeItStarts {
        /// The technician.
        technician: TechnicianId,
        /// The model.
        model: ModelId,
        /// The end given.
        until: NaiveDate,
    },
    /// T1: no current certification for that model.
    #[error("technician {technician} holds no certification for model {model}: only a held certification is revoked (T1)")]
    NotCertified {
        /// The technician.
        technician: TechnicianId,
        /// The model.
        model: ModelId,
    },
    /// T2: not certified for the model on the day of an assignment.
    #[error("technician {technician} is not certified for model {model} on {date}: only a technician certified for the unit's model on the day is dispatched (T2)")]
    NotCertifiedOn {
        /// The technician.
        technician: TechnicianId,
        /// The model.
        model: ModelId,
        /// The day.
        date: NaiveDate,
    },
    /// T2: a revocation or a leave dated on or before a day the technician was assigned to a
    /// call (under that model's certification, for a revocation) would undo the assignment.
    #[error("technician {technician} was assigned to a call on {assigned} (model {}): a revocation or a leave dated {day} would undo it; date it after the last assignment (T2)", model.map_or_else(|| "any".to_owned(), |model| model.to_string()))]
    AssignedAlready {
        /// The technician.
        technician: TechnicianId,
        /// The model of the certification revoked; none for a leave.
        model: Option<ModelId>,
        /// The last day of an assignment.
        assigned: NaiveDate,
        /// The day the revocation or leave was dated.
        day: NaiveDate,
    },
    /// A revocation without a reason.
    #[error("revoking a certification of technician {technician} needs a reason: a revocation says why (T1)")]
    NoReason {
        /// The technician.
        technician: TechnicianId,
    },
}

/// Technician: the staff who serve, and the models they are certified for (§6a of `docs/domain.md`,
/// rules T1-T2).
///
/// The chapter's rule on training: service standards are known to every performer. A technician is
/// hired, trained in the service standards, then certified per product model until a date; a
/// certification can be revoked, and a technician who leaves is closed. Whether a technician may
/// be dispatched to a unit (T2) is a function of the model and the date:
/// [`TechnicianState::certified_for`].
///
/// Names and contact details of staff are personal data and never enter these events.
#[derive(Debug, Clone, Copy, Default)]
pub struct Technician;

impl Technician {
    /// The stream of a technician: `technician-{id}`.
    pub fn stream_id(technician: TechnicianId) -> Result<StreamId, InvalidStreamId> {
        StreamId::for_entity("technician", technician)
    }
}

impl Decider for Technician {
    type State = TechnicianState;
    type Command = TechnicianCommand;
    type Event = TechnicianEvent;
    type Error = TechnicianError;

    fn state_size(state: &TechnicianState) -> usize {
        std::mem::size_of::<TechnicianState>()
            + crate::state_size::map::<ModelId, Certification>(state.certifications.len())
    }

    fn apply(state: &mut TechnicianState, event: &TechnicianEvent) {
        apply(state, event);
    }

    fn decide(
        state: &TechnicianState,
        command: &TechnicianCommand,
    ) -> Result<Vec<TechnicianEvent>, TechnicianError> {
        let technician = command.technician();
        if !matches!(command, TechnicianCommand::Hire { .. }) {
            hired_not_left(state, technician)?;
        }
        match command {
            TechnicianCommand::Hire { at, .. } => hire(state, technician, at),
            TechnicianCommand::RecordName { name, at, .. } => {
                record_name(state, technician, name, at)
            }
            TechnicianCommand::CompleteStandardsTraining { at, .. } => {
                complete_standards_training(state, at)
            }
            TechnicianCommand::Certify {
                model, until, at, ..
            } => certify(state, technician, model, until, at),
            TechnicianCommand::Revoke {
                model, reason, at, ..
            } => revoke(state, technician, model, reason, at),
            TechnicianCommand::AssignToCall {
                call, model, at, ..
            } => assign_to_call(state, technician, *call, *model, at),
            TechnicianCommand::Leave { at, .. } => leave(state, technician, at),
        }
    }
}

/// T2: assigns the technician to a call, only while certified for the unit's model that day.
fn assign_to_call(
    state: &TechnicianState,
    technician: TechnicianId,
    call: CallId,
    model: ModelId,
    at: &DateTime<Utc>,
) -> Result<Vec<TechnicianEvent>, TechnicianError> {
    let date = at.date_naive();
    if !state.certified_for(model, date) {
        return Err(TechnicianError::NotCertifiedOn {
            technician,
            model,
            date,
        });
    }
    Ok(vec![TechnicianEvent::AssignedToCall {
        call,
        model,
        at: *at,
    }])
}

/// T1: hires the technician, once.
fn hire(
    state: &TechnicianState,
    technician: TechnicianId,
    at: &DateTime<Utc>,
) -> Result<Vec<TechnicianEvent>, TechnicianError> {
    match state.technician {
        Some(_) => Err(TechnicianError::AlreadyHired { technician }),
        None => Ok(vec![TechnicianEvent::Hired {
            technician,
            at: *at,
        }]),
    }
}

/// Records the technician's name, 1 to 200 characters trimmed (the same name again records
/// nothing).
fn record_name(
    state: &TechnicianState,
    technician: TechnicianId,
    name: &str,
    at: &DateTime<Utc>,
) -> Result<Vec<TechnicianEvent>, TechnicianError> {
    let name = checks::trimmed(name, 1, crate::model::MAX_MASTER_DATA_LEN)
        .map_err(|BadLength| TechnicianError::BadName { technician })?;
    if state.name == name {
        return Ok(Vec::new());
    }
    Ok(vec![TechnicianEvent::Named {
        technician,
        name: name.to_owned(),
        at: *at,
    }])
}

/// T1: records the service-standards training (again records nothing).
fn complete_standards_training(
    state: &TechnicianState,
    at: &DateTime<Utc>,
) -> Result<Vec<TechnicianEvent>, TechnicianError> {
    Ok(if state.trained_in_standards {
        Vec::new()
    } else {
        vec![TechnicianEvent::StandardsTrainingCompleted { at: *at }]
    })
}

/// T1: certifies the technician for a model until an inclusive day not before the certification,
/// only after the service-standards training.
fn certify(
    state: &TechnicianState,
    technician: TechnicianId,
    model: &ModelId,
    until: &NaiveDate,
    at: &DateTime<Utc>,
) -> Result<Vec<TechnicianEvent>, TechnicianError> {
    if !state.trained_in_standards {
        return Err(TechnicianError::NotTrainedInStandards {
            technician,
            model: *model,
        });
    }
    if *until < at.date_naive() {
        return Err(TechnicianError::EndsBeforeItStarts {
            technician,
            model: *model,
            until: *until,
        });
    }
    Ok(vec![TechnicianEvent::Certified {
        model: *model,
        until: *until,
        at: *at,
    }])
}

/// T1: revokes a current certification for a model, for a reason.
fn revoke(
    state: &TechnicianState,
    technician: TechnicianId,
    model: &ModelId,
    reason: &str,
    at: &DateTime<Utc>,
) -> Result<Vec<TechnicianEvent>, TechnicianError> {
    let current = state
        .certifications
        .get(model)
        .is_some_and(|certification| certification.revoked_on.is_none());
    if !current {
        return Err(TechnicianError::NotCertified {
            technician,
            model: *model,
        });
    }
    let reason =
        checks::non_empty(reason).map_err(|BadLength| TechnicianError::NoReason { technician })?;
    let day = at.date_naive();
    if let Some(&assigned) = state.last_assigned.get(model).filter(|&&last| day <= last) {
        return Err(TechnicianError::AssignedAlready {
            technician,
            model: Some(*model),
            assigned,
            day,
        });
    }
    Ok(vec![TechnicianEvent::CertificationRevoked {
        model: *model,
        reason: reason.to_owned(),
        at: *at,
    }])
}

/// T1: the technician leaves; nothing is accepted after that. Not dated on or before a day
/// the technician was assigned to a call (T2).
fn leave(
    state: &TechnicianState,
    technician: TechnicianId,
    at: &DateTime<Utc>,
) -> Result<Vec<TechnicianEvent>, TechnicianError> {
    let day = at.date_naive();
    if let Some(&assigned) = state
        .last_assigned
        .values()
        .filter(|&&last| day <= last)
        .max()
    {
        return Err(TechnicianError::AssignedAlready {
            technician,
            model: None,
            assigned,
            day,
        });
    }
    Ok(vec![TechnicianEvent::Left { at: *at }])
}

/// The checks of every command but the first (T1): the technician was hired, is the technician
/// the command names, and has not left.
fn hired_not_left(
    state: &TechnicianState,
    technician: TechnicianId,
) -> Result<(), TechnicianError> {
    match state.technician {
        None => return Err(TechnicianError::NotHired { technician }),
        Some(stream) if stream != technician => {
            return Err(TechnicianError::WrongTechnician {
                command: technician,
                stream,
            })
        }
        Some(_) => {}
    }
    if state.left_on.is_some() {
        return Err(TechnicianError::HasLeft { technician });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::kernel::testing::{given, laws};
    use crate::testing::time::day;

    fn ids() -> (TechnicianId, ModelId) {
        (
            TechnicianId::from_uuid(uuid::Uuid::from_u128(1)),
            ModelId::from_uuid(uuid::Uuid::from_u128(2)),
        )
    }

    fn trained() -> Vec<TechnicianEvent> {
        let (technician, _) = ids();
        vec![
            TechnicianEvent::Hired {
                technician,
                at: day(0),
            },
            TechnicianEvent::StandardsTrainingCompleted { at: day(1) },
        ]
    }

    /// Trained, then certified on day 2 for the model of [`ids`] until day 100.
    fn certified_until_day_100() -> Vec<TechnicianEvent> {
        let mut history = trained();
        history.push(TechnicianEvent::Certified {
            model: ids().1,
            until: day(100).date_naive(),
            at: day(2),
        });
        history
    }

    #[test]
    fn a_technicians_name_is_recorded_trimmed_once_and_only_for_one_hired() {
        let (technician, _) = ids();
        let name = |name: &str| TechnicianCommand::RecordName {
            technician,
            name: name.into(),
            at: day(1),
        };
        let state = given::<Technician>(trained())
            .when(name("  Ivan Sidorov "))
            .then_events([TechnicianEvent::Named {
                technician,
                name: "Ivan Sidorov".into(),
                at: day(1),
            }]);
        assert_eq!(state.name, "Ivan Sidorov");
        let mut named = trained();
        named.push(TechnicianEvent::Named {
            technician,
            name: "Ivan Sidorov".into(),
            at: day(1),
        });
        given::<Technician>(named)
            .when(name("Ivan Sidorov"))
            .then_events([]);
        for bad in ["", "   ", &"я".repeat(201)] {
            given::<Technician>(trained())
                .when(name(bad))
                .then_error(TechnicianError::BadName { technician });
        }
        given::<Technician>([])
            .when(name("Ivan"))
            .then_error(TechnicianError::NotHired { technician });
    }

    // --- T1: hire, certify after the standards training, revoke, leave ------------------------
    // (T2, dispatch only with a valid certification, is shown end to end in the facade tests.)

    #[test]
    fn a_trained_technician_is_certified_until_an_inclusive_date() {
        let (technician, model) = ids();
        let until = day(100).date_naive();
        let state = given::<Technician>(trained())
            .when(TechnicianCommand::Certify {
                technician,
                model,
                until,
                at: day(2),
            })
            .then_events([TechnicianEvent::Certified {
                model,
                until,
                at: day(2),
            }]);
        assert!(state.certified_for(model, day(2).date_naive()));
        assert!(state.certified_for(model, until), "the end is inclusive");
        assert!(!state.certified_for(model, day(101).date_naive()));
        assert!(!state.certified_for(
            ModelId::from_uuid(uuid::Uuid::from_u128(3)),
            day(2).date_naive()
        ));
    }

    #[test]
    fn a_technician_is_assigned_to_a_call_only_while_certified_for_its_model_t2() {
        let (technician, model) = ids();
        let call = CallId::from_uuid(uuid::Uuid::from_u128(9));
        let assign = |at| TechnicianCommand::AssignToCall {
            technician,
            call,
            model,
            at,
        };
        let mut history = trained();
        history.push(TechnicianEvent::Certified {
            model,
            until: day(100).date_naive(),
            at: day(2),
        });
        given::<Technician>(history.clone())
            .when(assign(day(100)))
            .then_events([TechnicianEvent::AssignedToCall {
                call,
                model,
                at: day(100),
            }]);
        given::<Technician>(history.clone())
            .when(assign(day(101)))
            .then_error(TechnicianError::NotCertifiedOn {
                technician,
                model,
                date: day(101).date_naive(),
            });
        history.push(TechnicianEvent::CertificationRevoked {
            model,
            reason: "failed an audit".into(),
            at: day(50),
        });
        given::<Technician>(history)
            .when(assign(day(50)))
            .then_error(TechnicianError::NotCertifiedOn {
                technician,
                model,
                date: day(50).date_naive(),
            });
    }

    #[test]
    fn a_revocation_or_leave_dated_on_or_before_an_assignment_is_refused_t2() {
        let (technician, model) = ids();
        let mut history = trained();
        history.push(TechnicianEvent::Certified {
            model,
            until: day(100).date_naive(),
            at: day(2),
        });
        history.push(TechnicianEvent::AssignedToCall {
            call: CallId::from_uuid(uuid::Uuid::from_u128(9)),
            model,
            at: day(40),
        });
        let revoke = |at| TechnicianCommand::Revoke {
            technician,
            model,
            reason: "an audit".into(),
            at,
        };
        given::<Technician>(history.clone())
            .when(revoke(day(40)))
            .then_error(TechnicianError::AssignedAlready {
                technician,
                model: Some(model),
                assigned: day(40).date_naive(),
                day: day(40).date_naive(),
            });
        given::<Technician>(history.clone())
            .when(TechnicianCommand::Leave {
                technician,
                at: day(39),
            })
            .then_error(TechnicianError::AssignedAlready {
                technician,
                model: None,
                assigned: day(40).date_naive(),
                day: day(39).date_naive(),
            });
        given::<Technician>(history)
            .when(revoke(day(41)))
            .then_events([TechnicianEvent::CertificationRevoked {
                model,
                reason: "an audit".into(),
                at: day(41),
            }]);
    }

    #[test]
    fn certification_before_the_standards_training_is_rejected() {
        let (technician, model) = ids();
        given::<Technician>([TechnicianEvent::Hired {
            technician,
            at: day(0),
        }])
        .when(TechnicianCommand::Certify {
            technician,
            model,
            until: day(9).date_naive(),
            at: day(1),
        })
        .then_error(TechnicianError::NotTrainedInStandards { technician, model });
    }

    #[test]
    fn a_certification_ending_before_it_is_granted_is_rejected() {
        let (technician, model) = ids();
        let until = day(1).date_naive();
        given::<Technician>(trained())
            .when(TechnicianCommand::Certify {
                technician,
                model,
                until,
                at: day(5),
            })
            .then_error(TechnicianError::EndsBeforeItStarts {
                technician,
                model,
                until,
            });
    }

    #[test]
    fn a_revoked_certification_no_longer_counts_from_that_day() {
        let (technician, model) = ids();
        let mut history = certified_until_day_100();
        let state = given::<Technician>(history.clone())
            .when(TechnicianCommand::Revoke {
                technician,
                model,
                reason: "failed audit".into(),
                at: day(10),
            })
            .then_events([TechnicianEvent::CertificationRevoked {
                model,
                reason: "failed audit".into(),
                at: day(10),
            }]);
        assert!(state.certified_for(model, day(9).date_naive()));
        assert!(!state.certified_for(model, day(10).date_naive()));
        history.push(TechnicianEvent::CertificationRevoked {
            model,
            reason: "audit".into(),
            at: day(10),
        });
        given::<Technician>(history)
            .when(TechnicianCommand::Revoke {
                technician,
                model,
                reason: "again".into(),
                at: day(11),
            })
            .then_error(TechnicianError::NotCertified { technician, model });
    }

    #[test]
    fn revoking_needs_a_reason() {
        let (technician, model) = ids();
        given::<Technician>(certified_until_day_100())
            .when(TechnicianCommand::Revoke {
                technician,
                model,
                reason: " ".into(),
                at: day(10),
            })
            .then_error(TechnicianError::NoReason { technician });
    }

    #[test]
    fn a_technician_who_left_is_not_certified_and_accepts_nothing() {
        let (technician, model) = ids();
        let mut history = certified_until_day_100();
        let state = given::<Technician>(history.clone())
            .when(TechnicianCommand::Leave {
                technician,
                at: day(20),
            })
            .then_events([TechnicianEvent::Left { at: day(20) }]);
        assert!(state.certified_for(model, day(19).date_naive()));
        assert!(!state.certified_for(model, day(20).date_naive()));
        history.push(TechnicianEvent::Left { at: day(20) });
        given::<Technician>(history)
            .when(TechnicianCommand::CompleteStandardsTraining {
                technician,
                at: day(21),
            })
            .then_error(TechnicianError::HasLeft { technician });
    }

    #[test]
    fn hiring_twice_or_acting_on_a_stranger_is_rejected() {
        let (technician, model) = ids();
        given::<Technician>(trained())
            .when(TechnicianCommand::Hire {
                technician,
                at: day(3),
            })
            .then_error(TechnicianError::AlreadyHired { technician });
        given::<Technician>([])
            .when(TechnicianCommand::Leave {
                technician,
                at: day(3),
            })
            .then_error(TechnicianError::NotHired { technician });
        let other = TechnicianId::from_uuid(uuid::Uuid::from_u128(9));
        given::<Technician>(trained())
            .when(TechnicianCommand::Revoke {
                technician: other,
                model,
                reason: "x".into(),
                at: day(3),
            })
            .then_error(TechnicianError::WrongTechnician {
                command: other,
                stream: technician,
            });
    }

    #[test]
    fn completing_the_standards_training_again_records_nothing() {
        let (technician, _) = ids();
        given::<Technician>(trained())
            .when(TechnicianCommand::CompleteStandardsTraining {
                technician,
                at: day(5),
            })
            .then_no_events();
    }

    fn arbitrary_technician_command() -> impl Strategy<Value = TechnicianCommand> {
        let (technician, model) = ids();
        let at = (0i64..60).prop_map(day);
        prop_oneof![
            at.clone()
                .prop_map(move |at| TechnicianCommand::Hire { technician, at }),
            at.clone()
                .prop_map(move |at| TechnicianCommand::CompleteStandardsTraining {
                    technician,
                    at
                }),
            (at.clone(), 0i64..90).prop_map(move |(at, days)| TechnicianCommand::Certify {
                technician,
                model,
                until: day(days).date_naive(),
                at,
            }),
            at.clone().prop_map(move |at| TechnicianCommand::Revoke {
                technician,
                model,
                reason: "r".into(),
                at
            }),
            at.prop_map(move |at| TechnicianCommand::Leave { technician, at }),
        ]
    }

    fn technician_invariant(state: &TechnicianState) -> Result<(), String> {
        if !state.certifications.is_empty() && !state.trained_in_standards {
            return Err("certified without the standards training".into());
        }
        if state.technician.is_none() && (state.trained_in_standards || state.left_on.is_some()) {
            return Err("facts about a technician never hired".into());
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn technician_obeys_the_domain_laws(commands in proptest::collection::vec(arbitrary_technician_command(), 0..30)) {
            laws::check_command_sequence::<Technician>(&commands, technician_invariant);
            laws::assert_replay_deterministic::<Technician>(&commands);
        }

        #[test]
        fn a_technician_snapshot_plus_its_tail_equals_the_full_fold(
            commands in proptest::collection::vec(arbitrary_technician_command(), 0..40),
        ) {
            let (_, history) = laws::decide_all::<Technician>(&commands);
        laws::assert_snapshot_equivalence::<Technician>(&history);
        }
    }
}
