//! The ServiceContract aggregate (§5 of `docs/domain.md`): events, state, fold (`apply`), and decide as
//! a table of one function per command. What it models is documented on [`ServiceContract`].

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::calendar::BusinessCalendar;
use super::values::{
    months_after, CallId, ContractId, Currency, CustomerId, Money, PartNumber, ProductId,
    TechnicianId,
};
use crate::checks::{self, BadLength, TooEarly};
use crate::event_enum::event_enum;
use crate::kernel::{Decider, InvalidStreamId, StreamId};

// ---------------------------------------------------------------------------------------------
// Terms
// ---------------------------------------------------------------------------------------------

/// The kind of contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContractKind {
    /// The warranty: free for the customer.
    Warranty,
    /// Sold service after the warranty.
    PostWarranty,
    /// Pay per call, no entitlements.
    OnDemand,
}

/// How urgent a call is.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// Production stopped.
    Critical,
    /// Severely impaired.
    High,
    /// Normal.
    Normal,
    /// Can wait.
    Low,
}

/// A priority's targets, in business minutes from the call's start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Targets {
    /// To respond (dispatch a technician).
    pub response_minutes: u32,
    /// To arrive on site.
    pub arrival_minutes: u32,
    /// To resolve.
    pub resolution_minutes: u32,
}

/// The service plan of a customer's target group: targets per priority and the calendar they
/// count in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ServicePlan {
    /// Targets per priority.
    pub targets: BTreeMap<Priority, Targets>,
    /// Working time.
    pub calendar: BusinessCalendar,
}

/// What a contract includes at the seller's expense (S5, S6).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct Entitlements {
    /// Preventive maintenance every this many months.
    pub preventive_every_months: Option<u32>,
    /// The window, in days either side of a visit's due day.
    pub preventive_window_days: u32,
    /// Capital repair (breakdowns) at the seller's expense.
    pub capital_repair: bool,
    /// Parts supply included.
    pub parts_supply: bool,
    /// Consulting on efficient use.
    pub consulting: bool,
    /// Modernization on request.
    pub modernization: bool,
    /// Extra staff training hours per contract year.
    pub training_hours_per_year: u32,
    /// At most this many calls over the term.
    pub incident_cap: Option<u32>,
}

/// What a call is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CallKind {
    /// Something broke.
    Breakdown,
    /// Maintenance.
    Maintenance,
    /// Advice on use.
    Consultation,
    /// Modernization.
    Modernization,
    /// Training.
    Training,
}

/// A call's deadlines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Deadlines {
    /// Respond by.
    pub response: DateTime<Utc>,
    /// Arrive by.
    pub arrival: DateTime<Utc>,
    /// Resolve by.
    pub resolution: DateTime<Utc>,
}

/// One of a call's targets.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum SlaTarget {
    /// Response.
    Response,
    /// Arrival.
    Arrival,
    /// Resolution.
    Resolution,
}

/// Who pays for a call (S4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Payer {
    /// The seller: warranty or entitlement.
    Seller,
    /// The customer.
    Customer,
}

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------

event_enum! {
    /// What happened to a contract.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
    #[serde(tag = "type", content = "data")]
    pub enum ContractEvent {
        /// S1: proposed.
        "contract.proposed" => Proposed {
            /// The terms.
            terms: Terms,
            /// When.
            at: DateTime<Utc>,
        },
        /// S1: activated.
        "contract.activated" => Activated {
            /// When.
            at: DateTime<Utc>,
        },
        /// S5: a preventive visit was scheduled.
        "contract.visit_scheduled" => VisitScheduled {
            /// The visit's number.
            visit: u32,
            /// Its due day.
            due: NaiveDate,
            /// Days allowed either side.
            window_days: u32,
        },
        /// S5: a preventive visit was performed.
        "contract.visit_performed" => VisitPerformed {
            /// The visit.
            visit: u32,
            /// When.
            at: DateTime<Utc>,
        },
        /// S1: suspended.
        "contract.suspended" => Suspended {
            /// Why.
            reason: String,
            /// When.
            at: DateTime<Utc>,
        },
        /// S1: resumed.
        "contract.resumed" => Resumed {
            /// When.
            at: DateTime<Utc>,
        },
        /// S1: renewed to a later end.
        "contract.renewed" => Renewed {
            /// The new last day.
            until: NaiveDate,
            /// When.
            at: DateTime<Utc>,
        },
        /// S1: cancelled.
        "contract.cancelled" => Cancelled {
            /// Why.
            reason: String,
            /// When.
            at: DateTime<Utc>,
        },
        /// S1: expired at its end.
        "contract.expired" => Expired {
            /// When.
            at: DateTime<Utc>,
        },
        /// S2: a service call was opened, with its deadlines.
        "contract.call_opened" => CallOpened {
            /// The call.
            call: CallId,
            /// The unit.
            unit: ProductId,
            /// Its priority.
            priority: Priority,
            /// What for.
            kind: CallKind,
            /// Its deadlines.
            deadlines: Deadlines,
            /// When.
            at: DateTime<Utc>,
        },
        /// S3: a call's priority changed; deadlines recomputed from its start.
        "contract.call_priority_changed" => CallPriorityChanged {
            /// The call.
            call: CallId,
            /// The new priority.
            priority: Priority,
            /// Why.
            reason: String,
            /// The new deadlines.
            deadlines: Deadlines,
            /// When.
            at: DateTime<Utc>,
        },
        /// S3: a technician was dispatched (the response), with the parts the call needs (the
        /// parts policy reserves them).
        "contract.technician_dispatched" => TechnicianDispatched {
            /// The call.
            call: CallId,
            /// The technician.
            technician: TechnicianId,
            /// Parts the call needs.
            parts: Vec<(PartNumber, u32)>,
            /// When.
            at: DateTime<Utc>,
        },
        /// S3: the technician arrived on site.
        "contract.technician_arrived" => TechnicianArrived {
            /// The call.
            call: CallId,
            /// When.
            at: DateTime<Utc>,
        },
        /// S3, S4: the call was resolved; money and payer recorded.
        "contract.call_resolved" => CallResolved {
            /// The call.
            call: CallId,
            /// What was done.
            work: String,
            /// Parts used.
            parts: Vec<(PartNumber, u32)>,
            /// Training hours given (training calls).
            training_hours: u32,
            /// What the work cost.
            cost: Money,
            /// Who pays.
            payer: Payer,
            /// What the customer is charged (zero when the seller pays).
            customer_charge: Money,
            /// When.
            at: DateTime<Utc>,
        },
        /// S3: a target was missed; recorded once, never undone.
        "contract.sla_breached" => SlaBreached {
            /// The call.
            call: CallId,
            /// Which target.
            target: SlaTarget,
            /// By how many seconds.
            by_seconds: i64,
        },
    }
}

impl ContractEvent {
    /// When the event occurred in business time: its `at`, or none for an event recorded
    /// together with the one before it (it occurred with that one).
    pub fn occurred_at(&self) -> Option<DateTime<Utc>> {
        match self {
            Self::Proposed { at, .. }
            | Self::Activated { at, .. }
            | Self::VisitPerformed { at, .. }
            | Self::Suspended { at, .. }
            | Self::Resumed { at, .. }
            | Self::Renewed { at, .. }
            | Self::Cancelled { at, .. }
            | Self::Expired { at, .. }
            | Self::CallOpened { at, .. }
            | Self::CallPriorityChanged { at, .. }
            | Self::TechnicianDispatched { at, .. }
            | Self::TechnicianArrived { at, .. }
            | Self::CallResolved { at, .. } => Some(*at),
            Self::VisitScheduled { .. } | Self::SlaBreached { .. } => None,
        }
    }
}
// ---------------------------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------------------------

/// Where a contract stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContractStatus {
    /// Proposed, not yet active.
    Proposed,
    /// Active.
    Active,
    /// Suspended.
    Suspended,
    /// Cancelled (closed).
    Cancelled,
    /// Expired (closed).
    Expired,
}

/// The terms a contract was proposed with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Terms {
    /// The contract.
    pub contract: ContractId,
    /// Its kind.
    pub kind: ContractKind,
    /// The customer.
    pub customer: CustomerId,
    /// The units covered.
    pub units: BTreeSet<ProductId>,
    /// The first day.
    pub start: NaiveDate,
    /// The last day (inclusive), renewals included.
    pub end: NaiveDate,
    /// The plan.
    pub plan: ServicePlan,
    /// The entitlements.
    pub entitlements: Entitlements,
    /// The currency of charges.
    pub currency: Currency,
}

/// One service call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Call {
    /// The unit.
    pub unit: ProductId,
    /// Its priority.
    pub priority: Priority,
    /// What for.
    pub kind: CallKind,
    /// When it was opened.
    pub opened_at: DateTime<Utc>,
    /// Its deadlines.
    pub deadlines: Deadlines,
    /// The technician dispatched, and when.
    pub dispatched: Option<(TechnicianId, DateTime<Utc>)>,
    /// When the technician arrived.
    pub arrived_at: Option<DateTime<Utc>>,
    /// When it was resolved, who paid, what was charged.
    pub resolved: Option<(DateTime<Utc>, Payer, Money)>,
    /// Targets breached.
    pub breaches: BTreeSet<SlaTarget>,
}

impl Call {
    /// The targets still open at `now` whose deadline has passed: the call is at risk (or late).
    pub fn overdue_at(&self, now: DateTime<Utc>) -> Vec<SlaTarget> {
        let mut overdue = Vec::new();
        if self.dispatched.is_none() && now > self.deadlines.response {
            overdue.push(SlaTarget::Response);
        }
        if self.arrived_at.is_none() && now > self.deadlines.arrival {
            overdue.push(SlaTarget::Arrival);
        }
        if self.resolved.is_none() && now > self.deadlines.resolution {
            overdue.push(SlaTarget::Resolution);
        }
        overdue
    }
}

/// A scheduled preventive visit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Visit {
    /// Its due day.
    pub due: NaiveDate,
    /// Days allowed either side.
    pub window_days: u32,
    /// The day it was performed.
    pub performed_on: Option<NaiveDate>,
}

/// Where a preventive visit stands on a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum VisitStatus {
    /// Not yet in its window.
    Upcoming,
    /// In its window, not performed.
    Due,
    /// Performed.
    Performed,
    /// Not performed by its window's end (derived from the date).
    Missed,
}

impl Visit {
    /// The last day of its window.
    pub fn window_end(&self) -> NaiveDate {
        self.due
            .checked_add_days(chrono::Days::new(u64::from(self.window_days)))
            .unwrap_or(self.due)
    }

    /// The first day of its window.
    pub fn window_start(&self) -> NaiveDate {
        self.due
            .checked_sub_days(chrono::Days::new(u64::from(self.window_days)))
            .unwrap_or(self.due)
    }

    /// Where the visit stands on `date`.
    pub fn status(&self, date: NaiveDate) -> VisitStatus {
        match self.performed_on {
            Some(performed) if performed <= date => VisitStatus::Performed,
            _ if date > self.window_end() => VisitStatus::Missed,
            _ if date >= self.window_start() => VisitStatus::Due,
            _ => VisitStatus::Upcoming,
        }
    }
}

/// The folded state of one contract.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ContractState {
    /// The terms, once proposed.
    pub terms: Option<Terms>,
    /// The status, once proposed.
    pub status: Option<ContractStatus>,
    /// Calls by id.
    pub calls: BTreeMap<CallId, Call>,
    /// Preventive visits by number.
    pub visits: BTreeMap<u32, Visit>,
    /// Training hours given, per contract year (0 = the first year).
    pub training_hours: BTreeMap<u32, u32>,
}

impl ContractState {
    /// S1: whether the contract is active on `date` (status active and the date within its term).
    pub fn active_on(&self, date: NaiveDate) -> bool {
        self.status == Some(ContractStatus::Active)
            && self
                .terms
                .as_ref()
                .is_some_and(|terms| terms.start <= date && date <= terms.end)
    }

    /// The contract year `date` falls in (0 for the first).
    fn contract_year(&self, date: NaiveDate) -> u32 {
        let Some(terms) = &self.terms else { return 0 };
        let mut year = 0;
        while let Some(next) = months_after(terms.start, 12 * (year + 1)) {
            if next > date || year >= 1_000 {
                break;
            }
            year += 1;
        }
        year
    }
}

fn apply(state: &mut ContractState, event: &ContractEvent) {
    match event {
        ContractEvent::Proposed { terms, .. } => {
            state.terms = Some(terms.clone());
            state.status = Some(ContractStatus::Proposed);
        }
        ContractEvent::Activated { .. } | ContractEvent::Resumed { .. } => {
            state.status = Some(ContractStatus::Active);
        }
        ContractEvent::VisitScheduled {
            visit,
            due,
            window_days,
        } => {
            state.visits.insert(
                *visit,
                Visit {
                    due: *due,
                    window_days: *window_days,
                    performed_on: None,
                },
            );
        }
        ContractEvent::VisitPerformed { visit, at } => {
            if let Some(visit) = state.visits.get_mut(visit) {
                visit.performed_on = Some(at.date_naive());
            }
        }
        ContractEvent::Suspended { .. } => state.status = Some(ContractStatus::Suspended),
        ContractEvent::Renewed { until, .. } => {
            if let Some(terms) = &mut state.terms {
                terms.end = *until;
            }
        }
        ContractEvent::Cancelled { .. } => state.status = Some(ContractStatus::Cancelled),
        ContractEvent::Expired { .. } => state.status = Some(ContractStatus::Expired),
        ContractEvent::CallOpened {
            call,
            unit,
            priority,
            kind,
            deadlines,
            at,
        } => {
            state.calls.insert(
                *call,
                Call {
                    unit: *unit,
                    priority: *priority,
                    kind: *kind,
                    opened_at: *at,
                    deadlines: *deadlines,
                    dispatched: None,
                    arrived_at: None,
                    resolved: None,
                    breaches: BTreeSet::new(),
                },
            );
        }
        ContractEvent::CallPriorityChanged {
            call,
            priority,
            deadlines,
            ..
        } => {
            if let Some(call) = state.calls.get_mut(call) {
                call.priority = *priority;
                call.deadlines = *deadlines;
            }
        }
        ContractEvent::TechnicianDispatched {
            call,
            technician,
            at,
            ..
        } => {
            if let Some(call) = state.calls.get_mut(call) {
                call.dispatched = Some((*technician, *at));
            }
        }
        ContractEvent::TechnicianArrived { call, at } => {
            if let Some(call) = state.calls.get_mut(call) {
                call.arrived_at = Some(*at);
            }
        }
        ContractEvent::CallResolved {
            call,
            training_hours,
            payer,
            customer_charge,
            at,
            ..
        } => {
            let year = state.contract_year(at.date_naive());
            *state.training_hours.entry(year).or_default() += training_hours;
            if let Some(call) = state.calls.get_mut(call) {
                call.resolved = Some((*at, *payer, *customer_charge));
            }
        }
        ContractEvent::SlaBreached { call, target, .. } => {
            if let Some(call) = state.calls.get_mut(call) {
                call.breaches.insert(*target);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Decide
// ---------------------------------------------------------------------------------------------

/// What can be asked of a contract. Every command carries its business time `at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum ContractCommand {
    /// S1: propose a contract.
    Propose {
        /// The terms: at least one unit, an end not before the start, the plan of the customer's
        /// target group, no entitlements for an on-demand contract.
        terms: Terms,
        /// For a post-warranty contract: each unit's warranty end, from the units' state; the
        /// contract must start after every one of them.
        warranty_ends: BTreeMap<ProductId, NaiveDate>,
        /// When.
        at: DateTime<Utc>,
    },
    /// S1: activate (schedules the preventive visits, S5).
    Activate {
        /// The contract.
        contract: ContractId,
        /// When.
        at: DateTime<Utc>,
    },
    /// S1: suspend.
    Suspend {
        /// The contract.
        contract: ContractId,
        /// Why.
        reason: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// S1: resume.
    Resume {
        /// The contract.
        contract: ContractId,
        /// When.
        at: DateTime<Utc>,
    },
    /// S1: renew to a later end.
    Renew {
        /// The contract.
        contract: ContractId,
        /// The new last day.
        until: NaiveDate,
        /// When.
        at: DateTime<Utc>,
    },
    /// S1: cancel.
    Cancel {
        /// The contract.
        contract: ContractId,
        /// Why.
        reason: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// S1: expire after the end.
    Expire {
        /// The contract.
        contract: ContractId,
        /// When.
        at: DateTime<Utc>,
    },
    /// S2: open a service call.
    OpenCall {
        /// The contract.
        contract: ContractId,
        /// The call.
        call: CallId,
        /// The unit.
        unit: ProductId,
        /// Its priority.
        priority: Priority,
        /// What for.
        kind: CallKind,
        /// When.
        at: DateTime<Utc>,
    },
    /// S3: change a call's priority (deadlines recomputed from its start).
    ChangePriority {
        /// The contract.
        contract: ContractId,
        /// The call.
        call: CallId,
        /// The new priority.
        priority: Priority,
        /// Why.
        reason: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// S3: dispatch a technician (the application checked the certification, T2).
    Dispatch {
        /// The contract.
        contract: ContractId,
        /// The call.
        call: CallId,
        /// The technician.
        technician: TechnicianId,
        /// Parts the call needs (reserved by the parts policy).
        parts: Vec<(PartNumber, u32)>,
        /// When.
        at: DateTime<Utc>,
    },
    /// S3: the technician arrived.
    Arrive {
        /// The contract.
        contract: ContractId,
        /// The call.
        call: CallId,
        /// When.
        at: DateTime<Utc>,
    },
    /// S3, S4, S6: resolve a call.
    Resolve {
        /// The contract.
        contract: ContractId,
        /// The call.
        call: CallId,
        /// What was done.
        work: String,
        /// Parts used.
        parts: Vec<(PartNumber, u32)>,
        /// Training hours given (training calls).
        training_hours: u32,
        /// What the work cost, in the contract's currency.
        cost: Money,
        /// Whether the customer accepted paying when the contract does not cover it (S6).
        customer_accepts_charge: bool,
        /// When.
        at: DateTime<Utc>,
    },
    /// S5: a preventive visit was performed.
    PerformVisit {
        /// The contract.
        contract: ContractId,
        /// The visit.
        visit: u32,
        /// When.
        at: DateTime<Utc>,
    },
}

impl ContractCommand {
    /// The contract the command is about.
    pub fn contract(&self) -> ContractId {
        match self {
            Self::Propose { terms, .. } => terms.contract,
            Self::Activate { contract, .. }
            | Self::Suspend { contract, .. }
            | Self::Resume { contract, .. }
            | Self::Renew { contract, .. }
            | Self::Cancel { contract, .. }
            | Self::Expire { contract, .. }
            | Self::OpenCall { contract, .. }
            | Self::ChangePriority { contract, .. }
            | Self::Dispatch { contract, .. }
            | Self::Arrive { contract, .. }
            | Self::Resolve { contract, .. }
            | Self::PerformVisit { contract, .. } => *contract,
        }
    }
}

/// Why a contract refuses a command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "rule_broken", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ContractError {
    /// Proposed already.
    #[error("contract {contract} exists already: a contract is proposed once (S1)")]
    AlreadyProposed {
        /// The contract.
        contract: ContractId,
    },
    /// Never proposed.
    #[error("contract {contract} was never proposed")]
    NotProposed {
        /// The contract.
        contract: ContractId,
    },
    /// The command names another contract than the one this stream holds.
    #[error("the command is for contract {command}, but this stream holds contract {stream}: a command is decided on its own contract's history")]
    WrongContract {
        /// The contract the command names.
        command: ContractId,
        /// The contract of the stream.
        stream: ContractId,
    },
    /// S1: the term ends before it starts, or covers no unit.
    #[error("contract {contract} from {start} to {end} is not a term: a contract covers at least one unit and its start is not after its end (S1)")]
    BadTerm {
        /// The contract.
        contract: ContractId,
        /// The start given.
        start: NaiveDate,
        /// The end given.
        end: NaiveDate,
    },
    /// A target where response exceeds resolution, or a plan with no priority.
    #[error("the plan of contract {contract} is not valid: it names at least one priority, and each priority's response target is not longer than its resolution target (S2)")]
    BadTargets {
        /// The contract.
        contract: ContractId,
    },
    /// An on-demand contract has no entitlements.
    #[error("on-demand contract {contract} carries entitlements: an on-demand contract is paid per call and entitles to nothing (S1)")]
    OnDemandWithEntitlements {
        /// The contract.
        contract: ContractId,
    },
    /// A post-warranty contract would overlap a unit's warranty.
    #[error("post-warranty contract {contract} starts on {start}, inside the warranty of unit {unit} (until {warranty_end:?}): a post-warranty contract starts after the warranty ends, never overlapping it (S1)")]
    OverlapsWarranty {
        /// The contract.
        contract: ContractId,
        /// Its start.
        start: NaiveDate,
        /// The unit.
        unit: ProductId,
        /// The unit's warranty end (`None`: not given).
        warranty_end: Option<NaiveDate>,
    },
    /// The command does not fit the contract's status.
    #[error("contract {contract} is {status:?}, so it cannot be {action}: a contract goes proposed, active, suspended and resumed, then renewed, cancelled or expired (S1)")]
    WrongStatus {
        /// The contract.
        contract: ContractId,
        /// Its status.
        status: ContractStatus,
        /// What was asked.
        action: &'static str,
    },
    /// S1: renewal must move the end later.
    #[error("contract {contract} ends on {end}, so a renewal to {until} would not extend it: a renewal ends later than the current end (S1)")]
    RenewalNotLater {
        /// The contract.
        contract: ContractId,
        /// The current end.
        end: NaiveDate,
        /// The end given.
        until: NaiveDate,
    },
    /// S1: expiry only after the end.
    #[error("contract {contract} runs until {end}, so it cannot expire on {date}: a contract expires only after its end (S1)")]
    NotYetEnded {
        /// The contract.
        contract: ContractId,
        /// The end.
        end: NaiveDate,
        /// The day given.
        date: NaiveDate,
    },
    /// S1: a call only while active at the call's time.
    #[error("contract {contract} is not active on {date}: a call is taken only while its contract is active (S1)")]
    NotActiveOn {
        /// The contract.
        contract: ContractId,
        /// The call's day.
        date: NaiveDate,
    },
    /// The unit is not covered.
    #[error("unit {unit} is not covered by contract {contract}: a call is opened for a covered unit (S2)")]
    UnitNotCovered {
        /// The contract.
        contract: ContractId,
        /// The unit.
        unit: ProductId,
    },
    /// The plan has no targets for the priority.
    #[error("the plan of contract {contract} has no targets for priority {priority:?}: a call's deadlines come from its priority's targets (S2)")]
    NoTargets {
        /// The contract.
        contract: ContractId,
        /// The priority.
        priority: Priority,
    },
    /// The calendar finds no working time for the deadlines.
    #[error("the calendar of contract {contract} has no working time for the deadlines: deadlines are counted in working hours (S2)")]
    NoBusinessTime {
        /// The contract.
        contract: ContractId,
    },
    /// The incident cap is reached.
    #[error("contract {contract} allows {cap} calls, all taken: a contract with a cap of incidents takes no call beyond it (S2)")]
    IncidentCapReached {
        /// The contract.
        contract: ContractId,
        /// The cap.
        cap: u32,
    },
    /// A call id used already.
    #[error("call {call} exists already on contract {contract}: a call is opened once (S2)")]
    CallExists {
        /// The contract.
        contract: ContractId,
        /// The call.
        call: CallId,
    },
    /// No such call.
    #[error("contract {contract} has no call {call}: a call is dispatched, reached and resolved after it is opened (S3)")]
    UnknownCall {
        /// The contract.
        contract: ContractId,
        /// The call.
        call: CallId,
    },
    /// S3: dispatch, arrival and resolution happen in that order, once each.
    #[error("call {call} of contract {contract} cannot be {action} now ({state}): a call is dispatched, then reached, then resolved, in that order (S3)")]
    CallOutOfOrder {
        /// The contract.
        contract: ContractId,
        /// The call.
        call: CallId,
        /// What was asked.
        action: &'static str,
        /// Why not.
        state: &'static str,
    },
    /// A step dated before the step it follows.
    #[error("call {call} of contract {contract}: {action} at {at} is before {earliest}: each step of a call is dated no earlier than the one before it (S3)")]
    DateOutOfOrder {
        /// The contract.
        contract: ContractId,
        /// The call.
        call: CallId,
        /// What was dated.
        action: &'static str,
        /// The date given.
        at: DateTime<Utc>,
        /// The earliest acceptable date.
        earliest: DateTime<Utc>,
    },
    /// S4: the cost is in another currency or negative.
    #[error("contract {contract} charges in {currency}, so a cost of {cost} is not acceptable: a cost is zero or more, in the contract's currency (S4)")]
    BadCost {
        /// The contract.
        contract: ContractId,
        /// The contract's currency.
        currency: Currency,
        /// The cost given.
        cost: Money,
    },
    /// S6: work not covered needs the customer's acceptance of the charge.
    #[error("call {call} of contract {contract} is charged {cost} to the customer, who has not accepted: work outside the entitlements is charged only with the customer's acceptance (S6)")]
    ChargeNotAccepted {
        /// The contract.
        contract: ContractId,
        /// The call.
        call: CallId,
        /// The charge.
        cost: Money,
    },
    /// A text is empty.
    #[error("contract {contract}: {field} must not be empty")]
    EmptyText {
        /// The contract.
        contract: ContractId,
        /// Which text.
        field: &'static str,
    },
    /// S5: no such visit, or performed already.
    #[error("contract {contract} has no open preventive visit {visit}: a scheduled, open visit is performed once (S5)")]
    UnknownVisit {
        /// The contract.
        contract: ContractId,
        /// The visit.
        visit: u32,
    },
}

/// ServiceContract: the promise of service for a customer's units, its plan, its calls and who pays
/// (§5 of `docs/domain.md`, rules S1-S6).
///
/// Kinds: `Warranty` (opened by the policy when a unit's warranty starts; the seller pays),
/// `PostWarranty` (sold; starts after the units' warranties end; the seller pays what it entitles),
/// `OnDemand` (pay per call). A contract is proposed, activated, may be suspended and resumed,
/// renewed, cancelled, or expire at its end. Calls are taken only while it is active at the
/// call's time. Each call's deadlines are its start plus the plan's targets for its priority,
/// counted in the plan's business time; a target's breach is recorded exactly when the measured
/// instant is later than its deadline, and never undone. Preventive visits are scheduled for the
/// whole term when the contract is activated.
///
/// Application-level rules (checked by the service facade with read models, before commands are
/// issued): a unit never has two contracts at once; the dispatched technician holds a valid
/// certification (T2).
#[derive(Debug, Clone, Copy, Default)]
pub struct ServiceContract;

impl ServiceContract {
    /// The stream of a contract: `contract-{id}`.
    pub fn stream_id(contract: ContractId) -> Result<StreamId, InvalidStreamId> {
        StreamId::for_entity("contract", contract)
    }
}

/// The deadlines of a call started at `start` with `priority`, counted in the plan's business time.
fn deadlines(
    contract: ContractId,
    plan: &ServicePlan,
    priority: Priority,
    start: DateTime<Utc>,
) -> Result<Deadlines, ContractError> {
    let targets = plan
        .targets
        .get(&priority)
        .ok_or(ContractError::NoTargets { contract, priority })?;
    let after = |minutes: u32| {
        plan.calendar
            .add(start, Duration::minutes(i64::from(minutes)))
            .ok_or(ContractError::NoBusinessTime { contract })
    };
    Ok(Deadlines {
        response: after(targets.response_minutes)?,
        arrival: after(targets.arrival_minutes)?,
        resolution: after(targets.resolution_minutes)?,
    })
}

fn out_of_order(
    contract: ContractId,
    call: CallId,
    action: &'static str,
    state: &'static str,
) -> ContractError {
    ContractError::CallOutOfOrder {
        contract,
        call,
        action,
        state,
    }
}

/// S3: a step may not be dated before the step it follows.
fn not_before(
    contract: ContractId,
    call: CallId,
    action: &'static str,
    at: DateTime<Utc>,
    earliest: DateTime<Utc>,
) -> Result<(), ContractError> {
    checks::not_before(at, earliest).map_err(|TooEarly { at, earliest }| {
        ContractError::DateOutOfOrder {
            contract,
            call,
            action,
            at,
            earliest,
        }
    })
}

fn find_call(
    state: &ContractState,
    contract: ContractId,
    call: CallId,
) -> Result<&Call, ContractError> {
    state
        .calls
        .get(&call)
        .ok_or(ContractError::UnknownCall { contract, call })
}

/// A breach of `target` when `measured` is later than `deadline` (exactly then, never otherwise).
fn breach(
    call: CallId,
    target: SlaTarget,
    measured: DateTime<Utc>,
    deadline: DateTime<Utc>,
) -> Option<ContractEvent> {
    (measured > deadline).then(|| ContractEvent::SlaBreached {
        call,
        target,
        by_seconds: (measured - deadline).num_seconds().max(1),
    })
}

/// S5: visits every `every` months from the month after `from`'s anchor, due up to `end`.
fn schedule_visits(state: &ContractState, terms: &Terms, until: NaiveDate) -> Vec<ContractEvent> {
    let Some(every) = terms
        .entitlements
        .preventive_every_months
        .filter(|&every| every > 0)
    else {
        return Vec::new();
    };
    let already: BTreeSet<NaiveDate> = state.visits.values().map(|visit| visit.due).collect();
    let mut next_number = state.visits.keys().next_back().map_or(1, |last| last + 1);
    let mut events = Vec::new();
    for step in 1u32.. {
        let Some(due) = step
            .checked_mul(every)
            .and_then(|months| months_after(terms.start, months))
        else {
            break;
        };
        if due > until || step > 1_200 {
            break;
        }
        if !already.contains(&due) {
            events.push(ContractEvent::VisitScheduled {
                visit: next_number,
                due,
                window_days: terms.entitlements.preventive_window_days,
            });
            next_number += 1;
        }
    }
    events
}

/// S4, S6: who pays for a call of `kind` giving `training_hours` on `date`.
fn payer(
    state: &ContractState,
    terms: &Terms,
    kind: CallKind,
    training_hours: u32,
    date: NaiveDate,
) -> Payer {
    let entitled = match terms.kind {
        ContractKind::Warranty => true,
        ContractKind::OnDemand => false,
        ContractKind::PostWarranty => {
            let entitlements = &terms.entitlements;
            match kind {
                CallKind::Breakdown => entitlements.capital_repair,
                CallKind::Maintenance => entitlements.preventive_every_months.is_some(),
                CallKind::Consultation => entitlements.consulting,
                CallKind::Modernization => entitlements.modernization,
                CallKind::Training => {
                    let used = state
                        .training_hours
                        .get(&state.contract_year(date))
                        .copied()
                        .unwrap_or(0);
                    used.saturating_add(training_hours) <= entitlements.training_hours_per_year
                }
            }
        }
    };
    if entitled {
        Payer::Seller
    } else {
        Payer::Customer
    }
}

impl Decider for ServiceContract {
    type State = ContractState;
    type Command = ContractCommand;
    type Event = ContractEvent;
    type Error = ContractError;

    fn state_size(state: &ContractState) -> usize {
        use crate::state_size::map;
        let terms = state.terms.as_ref().map_or(0, |terms| {
            map::<ProductId, ()>(terms.units.len())
                + map::<Priority, Targets>(terms.plan.targets.len())
                + terms.plan.calendar.holiday_count() * std::mem::size_of::<NaiveDate>()
        });
        std::mem::size_of::<ContractState>()
            + terms
            + map::<CallId, Call>(state.calls.len())
            + map::<u32, Visit>(state.visits.len())
            + map::<u32, u32>(state.training_hours.len())
    }

    fn apply(state: &mut ContractState, event: &ContractEvent) {
        apply(state, event);
    }

    fn decide(
        state: &ContractState,
        command: &ContractCommand,
    ) -> Result<Vec<ContractEvent>, ContractError> {
        let contract = command.contract();
        if let ContractCommand::Propose {
            terms,
            warranty_ends,
            at,
        } = command
        {
            return propose(state, contract, terms, warranty_ends, at);
        }
        let (Some(terms), Some(status)) = (&state.terms, state.status) else {
            return Err(ContractError::NotProposed { contract });
        };
        if terms.contract != contract {
            return Err(ContractError::WrongContract {
                command: contract,
                stream: terms.contract,
            });
        }
        match command {
            // Decided above: every other command needs the terms and status a proposal made.
            ContractCommand::Propose { .. } => Ok(Vec::new()),
            ContractCommand::Activate { at, .. } => activate(state, contract, terms, status, at),
            ContractCommand::Suspend { reason, at, .. } => suspend(contract, status, reason, at),
            ContractCommand::Resume { at, .. } => resume(contract, status, at),
            ContractCommand::Renew { until, at, .. } => {
                renew(state, contract, terms, status, until, at)
            }
            ContractCommand::Cancel { reason, at, .. } => cancel(contract, status, reason, at),
            ContractCommand::Expire { at, .. } => expire(contract, terms, status, at),
            ContractCommand::OpenCall {
                call,
                unit,
                priority,
                kind,
                at,
                ..
            } => open_call(state, contract, terms, call, unit, priority, kind, at),
            ContractCommand::ChangePriority {
                call,
                priority,
                reason,
                at,
                ..
            } => change_priority(state, contract, terms, call, priority, reason, at),
            ContractCommand::Dispatch {
                call,
                technician,
                parts,
                at,
                ..
            } => dispatch(state, contract, call, technician, parts, at),
            ContractCommand::Arrive { call, at, .. } => arrive(state, contract, call, at),
            ContractCommand::Resolve {
                call,
                work,
                parts,
                training_hours,
                cost,
                customer_accepts_charge,
                at,
                ..
            } => resolve(
                state,
                contract,
                terms,
                call,
                work,
                parts,
                training_hours,
                cost,
                customer_accepts_charge,
                at,
            ),
            ContractCommand::PerformVisit { visit, at, .. } => {
                perform_visit(state, contract, status, visit, at)
            }
        }
    }
}

/// S1, S2: proposes a contract, once: at least one unit, an end not before the start, a plan
/// naming a priority whose response never exceeds its resolution, no entitlements on demand, and
/// a post-warranty contract starting after every unit's warranty end.
fn propose(
    state: &ContractState,
    contract: ContractId,
    terms: &Terms,
    warranty_ends: &BTreeMap<ProductId, NaiveDate>,
    at: &DateTime<Utc>,
) -> Result<Vec<ContractEvent>, ContractError> {
    let Terms {
        kind,
        units,
        start,
        end,
        plan,
        entitlements,
        ..
    } = terms;
    if state.terms.is_some() {
        return Err(ContractError::AlreadyProposed { contract });
    }
    if units.is_empty() || end < start {
        return Err(ContractError::BadTerm {
            contract,
            start: *start,
            end: *end,
        });
    }
    if plan.targets.is_empty()
        || plan
            .targets
            .values()
            .any(|targets| targets.response_minutes > targets.resolution_minutes)
    {
        return Err(ContractError::BadTargets { contract });
    }
    if *kind == ContractKind::OnDemand && *entitlements != Entitlements::default() {
        return Err(ContractError::OnDemandWithEntitlements { contract });
    }
    if *kind == ContractKind::PostWarranty {
        for unit in units {
            let warranty_end = warranty_ends.get(unit).copied();
            if warranty_end.is_none_or(|warranty_end| *start <= warranty_end) {
                return Err(ContractError::OverlapsWarranty {
                    contract,
                    start: *start,
                    unit: *unit,
                    warranty_end,
                });
            }
        }
    }
    Ok(vec![ContractEvent::Proposed {
        terms: terms.clone(),
        at: *at,
    }])
}

/// S1, S5: activates a proposed contract and schedules its preventive visits up to its end.
fn activate(
    state: &ContractState,
    contract: ContractId,
    terms: &Terms,
    status: ContractStatus,
    at: &DateTime<Utc>,
) -> Result<Vec<ContractEvent>, ContractError> {
    if status != ContractStatus::Proposed {
        return Err(wrong_status(contract, status, "activated"));
    }
    let mut events = vec![ContractEvent::Activated { at: *at }];
    events.extend(schedule_visits(state, terms, terms.end));
    Ok(events)
}

/// S1: suspends an active contract, for a reason.
fn suspend(
    contract: ContractId,
    status: ContractStatus,
    reason: &str,
    at: &DateTime<Utc>,
) -> Result<Vec<ContractEvent>, ContractError> {
    if status != ContractStatus::Active {
        return Err(wrong_status(contract, status, "suspended"));
    }
    let reason = required_text(contract, "a reason", reason)?;
    Ok(vec![ContractEvent::Suspended {
        reason: reason.to_owned(),
        at: *at,
    }])
}

/// S1: resumes a suspended contract.
fn resume(
    contract: ContractId,
    status: ContractStatus,
    at: &DateTime<Utc>,
) -> Result<Vec<ContractEvent>, ContractError> {
    if status != ContractStatus::Suspended {
        return Err(wrong_status(contract, status, "resumed"));
    }
    Ok(vec![ContractEvent::Resumed { at: *at }])
}

/// S1, S5: renews an active or suspended contract to a later end and schedules the preventive
/// visits up to it.
fn renew(
    state: &ContractState,
    contract: ContractId,
    terms: &Terms,
    status: ContractStatus,
    until: &NaiveDate,
    at: &DateTime<Utc>,
) -> Result<Vec<ContractEvent>, ContractError> {
    if !matches!(status, ContractStatus::Active | ContractStatus::Suspended) {
        return Err(wrong_status(contract, status, "renewed"));
    }
    if *until <= terms.end {
        return Err(ContractError::RenewalNotLater {
            contract,
            end: terms.end,
            until: *until,
        });
    }
    let mut events = vec![ContractEvent::Renewed {
        until: *until,
        at: *at,
    }];
    events.extend(schedule_visits(state, terms, *until));
    Ok(events)
}

/// S1: cancels a contract that is not closed, for a reason; closes it.
fn cancel(
    contract: ContractId,
    status: ContractStatus,
    reason: &str,
    at: &DateTime<Utc>,
) -> Result<Vec<ContractEvent>, ContractError> {
    if is_closed(status) {
        return Err(wrong_status(contract, status, "cancelled"));
    }
    let reason = required_text(contract, "a reason", reason)?;
    Ok(vec![ContractEvent::Cancelled {
        reason: reason.to_owned(),
        at: *at,
    }])
}

/// S1: expires a contract that is not closed, only after its end day; closes it.
fn expire(
    contract: ContractId,
    terms: &Terms,
    status: ContractStatus,
    at: &DateTime<Utc>,
) -> Result<Vec<ContractEvent>, ContractError> {
    if is_closed(status) {
        return Err(wrong_status(contract, status, "expired"));
    }
    if at.date_naive() <= terms.end {
        return Err(ContractError::NotYetEnded {
            contract,
            end: terms.end,
            date: at.date_naive(),
        });
    }
    Ok(vec![ContractEvent::Expired { at: *at }])
}

/// S1, S2: opens a call while the contract is active on its day, for a covered unit, with a new
/// call id, within the incident cap; its deadlines count in the plan's business time.
#[allow(clippy::too_many_arguments)] // one argument per field of the command
fn open_call(
    state: &ContractState,
    contract: ContractId,
    terms: &Terms,
    call: &CallId,
    unit: &ProductId,
    priority: &Priority,
    kind: &CallKind,
    at: &DateTime<Utc>,
) -> Result<Vec<ContractEvent>, ContractError> {
    if !state.active_on(at.date_naive()) {
        return Err(ContractError::NotActiveOn {
            contract,
            date: at.date_naive(),
        });
    }
    if !terms.units.contains(unit) {
        return Err(ContractError::UnitNotCovered {
            contract,
            unit: *unit,
        });
    }
    if state.calls.contains_key(call) {
        return Err(ContractError::CallExists {
            contract,
            call: *call,
        });
    }
    if let Some(cap) = terms.entitlements.incident_cap {
        if state.calls.len() >= cap as usize {
            return Err(ContractError::IncidentCapReached { contract, cap });
        }
    }
    let deadlines = deadlines(contract, &terms.plan, *priority, *at)?;
    Ok(vec![ContractEvent::CallOpened {
        call: *call,
        unit: *unit,
        priority: *priority,
        kind: *kind,
        deadlines,
        at: *at,
    }])
}

/// S3: changes the priority of a call not yet resolved, for a reason (the same priority again
/// records nothing); the deadlines are recomputed from the call's original start.
fn change_priority(
    state: &ContractState,
    contract: ContractId,
    terms: &Terms,
    call: &CallId,
    priority: &Priority,
    reason: &str,
    at: &DateTime<Utc>,
) -> Result<Vec<ContractEvent>, ContractError> {
    let found = find_call(state, contract, *call)?;
    if found.resolved.is_some() {
        return Err(out_of_order(
            contract,
            *call,
            "reprioritized",
            "it is resolved",
        ));
    }
    let reason = required_text(contract, "a reason", reason)?;
    if found.priority == *priority {
        return Ok(Vec::new());
    }
    // Recomputed from the call's original start, not from now.
    let deadlines = deadlines(contract, &terms.plan, *priority, found.opened_at)?;
    Ok(vec![ContractEvent::CallPriorityChanged {
        call: *call,
        priority: *priority,
        reason: reason.to_owned(),
        deadlines,
        at: *at,
    }])
}

/// S3: dispatches a technician to a call, once, not before it was opened; records a breach of
/// the response target when later than its deadline.
fn dispatch(
    state: &ContractState,
    contract: ContractId,
    call: &CallId,
    technician: &TechnicianId,
    parts: &[(PartNumber, u32)],
    at: &DateTime<Utc>,
) -> Result<Vec<ContractEvent>, ContractError> {
    let found = find_call(state, contract, *call)?;
    if found.dispatched.is_some() {
        return Err(out_of_order(
            contract,
            *call,
            "dispatched",
            "a technician is dispatched already",
        ));
    }
    not_before(contract, *call, "the dispatch", *at, found.opened_at)?;
    let mut events = vec![ContractEvent::TechnicianDispatched {
        call: *call,
        technician: *technician,
        parts: parts.to_vec(),
        at: *at,
    }];
    events.extend(breach(
        *call,
        SlaTarget::Response,
        *at,
        found.deadlines.response,
    ));
    Ok(events)
}

/// S3: the technician dispatched arrived, once, not before the dispatch; records a breach of the
/// arrival target when later than its deadline.
fn arrive(
    state: &ContractState,
    contract: ContractId,
    call: &CallId,
    at: &DateTime<Utc>,
) -> Result<Vec<ContractEvent>, ContractError> {
    let found = find_call(state, contract, *call)?;
    let Some((_, dispatched_at)) = found.dispatched else {
        return Err(out_of_order(
            contract,
            *call,
            "marked arrived",
            "no technician is dispatched",
        ));
    };
    if found.arrived_at.is_some() {
        return Err(out_of_order(
            contract,
            *call,
            "marked arrived",
            "the technician arrived already",
        ));
    }
    not_before(contract, *call, "the arrival", *at, dispatched_at)?;
    let mut events = vec![ContractEvent::TechnicianArrived {
        call: *call,
        at: *at,
    }];
    events.extend(breach(
        *call,
        SlaTarget::Arrival,
        *at,
        found.deadlines.arrival,
    ));
    Ok(events)
}

/// S3, S4, S6: resolves a call after the arrival, once, with the work done and a cost in the
/// contract's currency, not negative; the seller pays what the contract covers, and a charge to
/// the customer needs their acceptance; records a breach of the resolution target when later than
/// its deadline.
#[allow(clippy::too_many_arguments)] // one argument per field of the command
fn resolve(
    state: &ContractState,
    contract: ContractId,
    terms: &Terms,
    call: &CallId,
    work: &str,
    parts: &[(PartNumber, u32)],
    training_hours: &u32,
    cost: &Money,
    customer_accepts_charge: &bool,
    at: &DateTime<Utc>,
) -> Result<Vec<ContractEvent>, ContractError> {
    let found = find_call(state, contract, *call)?;
    let Some(arrived_at) = found.arrived_at else {
        return Err(out_of_order(
            contract,
            *call,
            "resolved",
            "the technician has not arrived",
        ));
    };
    if found.resolved.is_some() {
        return Err(out_of_order(
            contract,
            *call,
            "resolved",
            "it is resolved already",
        ));
    }
    not_before(contract, *call, "the resolution", *at, arrived_at)?;
    if cost.currency != terms.currency || cost.minor_units < 0 {
        return Err(ContractError::BadCost {
            contract,
            currency: terms.currency,
            cost: *cost,
        });
    }
    let work = required_text(contract, "the work done", work)?;
    let payer = payer(state, terms, found.kind, *training_hours, at.date_naive());
    let customer_charge = match payer {
        Payer::Seller => Money::zero(terms.currency),
        Payer::Customer => *cost,
    };
    if customer_charge.minor_units > 0 && !customer_accepts_charge {
        return Err(ContractError::ChargeNotAccepted {
            contract,
            call: *call,
            cost: *cost,
        });
    }
    let mut events = vec![ContractEvent::CallResolved {
        call: *call,
        work: work.to_owned(),
        parts: parts.to_vec(),
        training_hours: *training_hours,
        cost: *cost,
        payer,
        customer_charge,
        at: *at,
    }];
    events.extend(breach(
        *call,
        SlaTarget::Resolution,
        *at,
        found.deadlines.resolution,
    ));
    Ok(events)
}

/// S5: performs a scheduled preventive visit, once, on a contract that is not closed.
fn perform_visit(
    state: &ContractState,
    contract: ContractId,
    status: ContractStatus,
    visit: &u32,
    at: &DateTime<Utc>,
) -> Result<Vec<ContractEvent>, ContractError> {
    match state.visits.get(visit) {
        Some(found) if found.performed_on.is_none() => {}
        _ => {
            return Err(ContractError::UnknownVisit {
                contract,
                visit: *visit,
            })
        }
    }
    if is_closed(status) {
        return Err(wrong_status(contract, status, "visited"));
    }
    Ok(vec![ContractEvent::VisitPerformed {
        visit: *visit,
        at: *at,
    }])
}

/// S1: the command does not fit the contract's `status`; `action` says what was asked.
fn wrong_status(
    contract: ContractId,
    status: ContractStatus,
    action: &'static str,
) -> ContractError {
    ContractError::WrongStatus {
        contract,
        status,
        action,
    }
}

/// S1: a cancelled or expired contract is closed.
fn is_closed(status: ContractStatus) -> bool {
    matches!(status, ContractStatus::Cancelled | ContractStatus::Expired)
}

/// A reason or a description of work: `text` trimmed, which must not be empty.
fn required_text<'a>(
    contract: ContractId,
    field: &'static str,
    text: &'a str,
) -> Result<&'a str, ContractError> {
    checks::non_empty(text).map_err(|BadLength| ContractError::EmptyText { contract, field })
}

#[cfg(test)]
mod tests;
