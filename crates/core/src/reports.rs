//! The seven reports the business reads every morning (§9 of `docs/domain.md`), as one projection of the global
//! log.
//!
//! [`Reports`] folds every event into per-entity states with the aggregates' own `apply` (so a
//! report can never disagree with the rules the aggregates enforce) plus two running totals (the
//! seller's service cost, parts consumption). Each report is then a query over that state; the
//! reports where time matters take an "as of" day or instant, because statuses like *missed* or
//! *expiring* are functions of the date, never stored flags.
//!
//! Feed it with a [`Projector`](crate::kernel::Projector) (from a checkpoint, or rebuilt from position 0:
//! both give equal reports, a property test checks it) or call [`Projection::apply`] directly.
//! Every report row serializes with explicit, stable field names.
//!
//! ```
//! use service_lifecycle_core::reports::Reports;
//! use service_lifecycle_core::testing::scenario::receipt_to_post_warranty_repair;
//! use service_lifecycle_core::kernel::{MemoryStore, Projector};
//!
//! let store = MemoryStore::new();
//! receipt_to_post_warranty_repair(store.clone());
//! let mut reports = Projector::new("reports", Reports::default());
//! reports.catch_up(&store, &store)?;
//! let board = reports.projection().pre_sale_board();
//! assert!(board.ready_for_sale.is_empty(), "the one unit was sold");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod document;
mod names;

pub use document::{write_report, write_report_with_names, ReportDocument, REPORT_FORMAT_NAME};
pub use names::{CustomerName, Names, ShortIds, ShownNames};

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::contract::{
    ContractEvent, ContractState, Payer, Priority, ServiceContract, SlaTarget, VisitStatus,
};
use super::customer::{
    Customer, CustomerEvent, CustomerState, ObligationStatus, RelationshipLevel, TargetGroup,
};
use super::events::ServiceEvent;
use super::model::{ModelDetails, ModelEvent};
use super::parts::{PartEvent, PartState, PartsSupply};
use super::policy_log::PolicyFailure;
use super::product::{Product, ProductState, ProductStatus};
use super::technician::TechnicianEvent;
use super::values::{
    CallId, ContractId, Currency, CustomerId, ModelId, PartNumber, ProductId, SerialNumber,
    TechnicianId,
};
use crate::kernel::{Decider, Envelope, EventStore, Projection, ReadError, StreamId};

/// How many days of issues the parts horizon averages consumption over.
pub const CONSUMPTION_WINDOW_DAYS: i64 = 180;
/// The days of an average month (365.25 / 12, rounded), for consumption per month and months of
/// cover.
const DAYS_PER_MONTH: f64 = 30.44;
/// A call whose next deadline is this close (or past) is at risk.
pub const AT_RISK_MINUTES: i64 = 60;

/// Every report's state, folded from the global log: from all of it
/// ([`Reports::default`]), or from the events that had occurred by an instant
/// ([`Reports::as_of`]), which is how a report for a past date is true.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Reports {
    /// The instant the state stops at: events that occurred later are left out.
    #[serde(default)]
    cut: Option<DateTime<Utc>>,
    /// Whether the last event applied was left out by the cut (an event without a time of
    /// its own follows it).
    #[serde(default)]
    skipping: bool,
    products: FastMap<StreamId, ProductState>,
    customers: FastMap<StreamId, CustomerState>,
    contracts: FastMap<StreamId, ContractState>,
    parts: FastMap<StreamId, PartState>,
    /// What service cost the seller (warranty and entitlements), in minor units, per model,
    /// month (year, month number) and currency.
    #[serde(with = "super::values::map_as_pairs")]
    seller_costs: BTreeMap<(ModelId, (i32, u32), Currency), i64>,
    /// Quantities issued per part and day.
    issued: FastMap<StreamId, BTreeMap<NaiveDate, u64>>,
    /// The policy commands the rules refused, in log order.
    #[serde(default)]
    refusals: Vec<PolicyFailure>,
    /// The catalogue's master data per model, as last revised.
    #[serde(default)]
    catalogue: BTreeMap<ModelId, ModelDetails>,
    /// Technicians' names.
    #[serde(default)]
    technicians: BTreeMap<TechnicianId, String>,
    /// Customers whose personal data was erased, by now (not cut: an erased name is never shown,
    /// also in a report of a day before the erasure).
    #[serde(default)]
    erased: std::collections::BTreeSet<CustomerId>,
}

/// The entity states by stream: hashed (a rebuild looks one up per event), each report sorting
/// its rows itself.
type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// The state of `stream` in `states`, created on its first event. Looks the stream up without
/// cloning its name, except the first time.
fn state_of<'a, S: Default>(states: &'a mut FastMap<StreamId, S>, stream: &StreamId) -> &'a mut S {
    if !states.contains_key(stream) {
        states.insert(stream.clone(), S::default());
    }
    states.get_mut(stream).expect("inserted above")
}

impl Projection<ServiceEvent> for Reports {
    fn apply(&mut self, envelope: &Envelope<ServiceEvent>) {
        // Names are how the reports show things, not facts of the day they answer for: a report
        // as of a past day shows a model or technician by the name they have now.
        match &envelope.event {
            ServiceEvent::Model(
                ModelEvent::Introduced { model, details, .. }
                | ModelEvent::Revised { model, details, .. },
            ) => {
                self.catalogue.insert(*model, details.clone());
            }
            ServiceEvent::Technician(TechnicianEvent::Named {
                technician, name, ..
            }) => {
                self.technicians.insert(*technician, name.clone());
            }
            ServiceEvent::Customer(CustomerEvent::PersonalDataErased { .. }) => {
                if let Some(customer) = Customer::of_stream(&envelope.stream_id) {
                    self.erased.insert(customer);
                }
            }
            _ => {}
        }
        if let Some(cut) = self.cut {
            // An event without a time of its own was recorded with the one before it.
            self.skipping = match envelope.event.occurred_at() {
                Some(at) => at > cut,
                None => self.skipping,
            };
            if self.skipping {
                return;
            }
        }
        let stream = &envelope.stream_id;
        match &envelope.event {
            ServiceEvent::Product(event) => {
                Product::apply(state_of(&mut self.products, stream), event);
            }
            ServiceEvent::Customer(event) => {
                Customer::apply(state_of(&mut self.customers, stream), event);
            }
            ServiceEvent::Contract(event) => {
                if let ContractEvent::CallResolved {
                    call,
                    cost,
                    payer,
                    customer_charge,
                    at,
                    ..
                } = event
                {
                    let seller_share = match payer {
                        Payer::Seller => cost.minor_units,
                        Payer::Customer if customer_charge.currency == cost.currency => {
                            cost.minor_units - customer_charge.minor_units
                        }
                        Payer::Customer => 0,
                    };
                    if seller_share != 0 {
                        let model = self.model_of_call(stream, *call);
                        if let Some(model) = model {
                            let month = (at.year(), at.month());
                            *self
                                .seller_costs
                                .entry((model, month, cost.currency))
                                .or_default() += seller_share;
                        }
                    }
                }
                ServiceContract::apply(state_of(&mut self.contracts, stream), event);
            }
            ServiceEvent::Part(event) => {
                if let PartEvent::Issued { quantity, at, .. } = event {
                    *state_of(&mut self.issued, stream)
                        .entry(at.date_naive())
                        .or_default() += u64::from(*quantity);
                }
                PartsSupply::apply(state_of(&mut self.parts, stream), event);
            }
            ServiceEvent::Policy(event) => self.refusals.push(PolicyFailure::from(event)),
            ServiceEvent::Model(_) | ServiceEvent::Technician(_) | ServiceEvent::Coverage(_) => {}
        }
    }
}

fn name_of<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

/// The name a report shows for a customer's target group; "unknown" when none is recorded.
fn target_group_name(group: Option<&TargetGroup>) -> String {
    match group {
        Some(TargetGroup::Named(name)) => name.clone(),
        Some(other) => name_of(other),
        None => "unknown".to_owned(),
    }
}

fn days_between(from: NaiveDate, to: NaiveDate) -> i64 {
    (to - from).num_days()
}

impl Reports {
    /// The reports as of `instant`: a projection that folds only the events that had occurred
    /// by then (their business time, [`ServiceEvent::occurred_at`]), so that every report asked
    /// of it for that instant (or its day) answers from the history as it was. Over the whole
    /// log it equals the reports over the log cut at `instant`.
    pub fn as_of(instant: DateTime<Utc>) -> Self {
        Self {
            cut: Some(instant),
            ..Self::default()
        }
    }

    /// The reports as of `instant`, folded from `store`'s whole log in one pass.
    pub fn read_as_of<S: EventStore<ServiceEvent>>(
        store: &S,
        instant: DateTime<Utc>,
    ) -> Result<Self, ReadError> {
        let mut reports = Self::as_of(instant);
        for stored in store.read_all(1)? {
            let stored = stored?;
            reports.apply(&stored);
        }
        Ok(reports)
    }

    /// A model's master data as the catalogue holds it now (names are not cut by
    /// [`as_of`](Self::as_of): a past day's report shows today's names).
    pub fn model_details(&self, model: ModelId) -> Option<&ModelDetails> {
        self.catalogue.get(&model)
    }

    /// Whether `customer`'s personal data was erased (by now, whatever the cut).
    pub fn is_erased(&self, customer: CustomerId) -> bool {
        self.erased.contains(&customer)
    }

    /// A technician's name, if one was recorded (`TechnicianCommand::RecordName`).
    pub fn technician_name(&self, technician: TechnicianId) -> Option<&str> {
        self.technicians.get(&technician).map(String::as_str)
    }

    /// The reports of `day`: folded from the events that had occurred by its last instant
    /// (23:59:59.999999999 UTC), so the day's own events count and the next day's do not.
    pub fn read_as_of_day<S: EventStore<ServiceEvent>>(
        store: &S,
        day: NaiveDate,
    ) -> Result<Self, ReadError> {
        let end = day
            .succ_opt()
            .and_then(|next| next.and_hms_opt(0, 0, 0))
            .map(|midnight| midnight.and_utc() - chrono::Duration::nanoseconds(1))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        Self::read_as_of(store, end)
    }

    /// The instant the reports stop at, if they stop before the head of the log.
    pub fn cut(&self) -> Option<DateTime<Utc>> {
        self.cut
    }

    fn model_of_call(&self, contract: &StreamId, call: CallId) -> Option<ModelId> {
        let unit = self.contracts.get(contract)?.calls.get(&call)?.unit;
        self.product(unit)?.model
    }

    fn product(&self, product: ProductId) -> Option<&ProductState> {
        self.products.get(&Product::stream_id(product).ok()?)
    }

    fn units(&self) -> impl Iterator<Item = (ProductId, &ProductState)> {
        self.products
            .values()
            .filter_map(|state| Some((state.product?, state)))
    }

    fn unit_row(product: ProductId, state: &ProductState) -> UnitRow {
        UnitRow {
            product,
            model: state.model,
            serial: state.serial.clone(),
        }
    }

    /// Report 1, the pre-sale board: units per model and status, units with open transport damage, units
    /// ready for sale.
    pub fn pre_sale_board(&self) -> PreSaleBoard {
        // Counted by status, named once per status at the end: a name is a string to build.
        let mut counts: FastMap<(Option<ModelId>, ProductStatus), u64> = FastMap::default();
        let mut board = PreSaleBoard::default();
        for (product, state) in self.units() {
            let Some(status) = state.status() else {
                continue;
            };
            *counts.entry((state.model, status)).or_default() += 1;
            let open: Vec<u32> = state
                .damages
                .iter()
                .filter(|(_, damage)| !damage.repaired)
                .map(|(&number, _)| number)
                .collect();
            if !open.is_empty() && state.sale.is_none() && state.closed.is_none() {
                board.open_transport_damage.push(DamagedUnit {
                    unit: Self::unit_row(product, state),
                    open_damages: open,
                });
            }
            if status == ProductStatus::ReadyForSale {
                board.ready_for_sale.push(Self::unit_row(product, state));
            }
        }
        board
            .open_transport_damage
            .sort_by_key(|damaged| damaged.unit.product);
        board.ready_for_sale.sort_by_key(|unit| unit.product);
        board.units_by_model_and_status = counts
            .into_iter()
            .map(|((model, status), units)| StatusCount {
                model,
                status: name_of(&status),
                units,
            })
            .collect();
        board
            .units_by_model_and_status
            .sort_by(|a, b| (a.model, &a.status).cmp(&(b.model, &b.status)));
        board
    }

    /// Report 1, the substitute query: units ready for sale of the models that can stand in for a
    /// requested one, in the order the models are given.
    pub fn substitutes(&self, stand_ins: &[ModelId]) -> Vec<UnitRow> {
        let mut rows: Vec<(usize, UnitRow)> = self
            .units()
            .filter(|(_, state)| state.status() == Some(ProductStatus::ReadyForSale))
            .filter_map(|(product, state)| {
                let rank = stand_ins
                    .iter()
                    .position(|model| state.model == Some(*model))?;
                Some((rank, Self::unit_row(product, state)))
            })
            .collect();
        rows.sort_by_key(|(rank, row)| (*rank, row.product));
        rows.into_iter().map(|(_, row)| row).collect()
    }

    /// Report 2, the delivery and installation backlog as of a day: units sold but not delivered, and
    /// delivered (or needing no delivery) but not installed, with their age in days.
    pub fn backlog(&self, as_of: NaiveDate) -> Backlog {
        let mut backlog = Backlog::default();
        for (product, state) in self.units() {
            let (Some(sale), None) = (&state.sale, &state.closed) else {
                continue;
            };
            let sold_on = sale.at.date_naive();
            if sold_on > as_of {
                // Sold after the day asked about: no backlog then (and no negative age).
                continue;
            }
            let row = |since: NaiveDate| BacklogRow {
                unit: Self::unit_row(product, state),
                customer: sale.customer,
                since,
                age_days: days_between(since, as_of),
            };
            if sale.services.delivery.is_some() && state.delivered_at.is_none() {
                backlog.awaiting_delivery.push(row(sold_on));
            } else if sale.services.installation && state.installed_at.is_none() {
                let since = state.delivered_at.map_or(sold_on, |at| at.date_naive());
                backlog.awaiting_installation.push(row(since));
            }
        }
        let oldest_first = |a: &BacklogRow, b: &BacklogRow| {
            (b.age_days, a.unit.product).cmp(&(a.age_days, b.unit.product))
        };
        backlog.awaiting_delivery.sort_by(oldest_first);
        backlog.awaiting_installation.sort_by(oldest_first);
        backlog
    }

    /// Report 3, the service due list as of a day: preventive visits in their window and not performed,
    /// and visits missed.
    pub fn service_due(&self, as_of: NaiveDate) -> ServiceDue {
        let mut due = ServiceDue::default();
        for state in self.contracts.values() {
            let Some(terms) = &state.terms else { continue };
            for (&number, visit) in &state.visits {
                let row = VisitRow {
                    contract: terms.contract,
                    customer: terms.customer,
                    visit: number,
                    due: visit.due,
                    window_end: visit.window_end(),
                };
                match visit.status(as_of) {
                    VisitStatus::Due => due.due.push(row),
                    VisitStatus::Missed => due.missed.push(row),
                    VisitStatus::Upcoming | VisitStatus::Performed => {}
                }
            }
        }
        due.due
            .sort_by_key(|row| (row.due, row.contract, row.visit));
        due.missed
            .sort_by_key(|row| (row.due, row.contract, row.visit));
        due
    }

    /// Report 4, the SLA compliance as of an instant: response (to dispatch), arrival and resolution times
    /// (median and 90th percentile, in minutes), breach rate, for all calls and per target
    /// group, contract and technician; and the open calls at risk now (a deadline passed, or the
    /// next one within [`AT_RISK_MINUTES`]).
    pub fn sla(&self, now: DateTime<Utc>) -> SlaCompliance {
        let mut overall = SlaSamples::default();
        // Grouped by the recorded target group, named at the end: no string per call.
        let mut by_group: BTreeMap<Option<&TargetGroup>, SlaSamples> = BTreeMap::new();
        let mut by_technician: BTreeMap<TechnicianId, SlaSamples> = BTreeMap::new();
        // Each contract is one state: its figures are made when its calls are counted, in one
        // reused buffer, and the rows sorted at the end.
        let mut by_contract = Vec::new();
        let mut contract_samples = SlaSamples::default();
        let mut at_risk = Vec::new();
        // Customer to target group in one pass, rather than a stream id built per contract.
        let groups: FastMap<CustomerId, Option<&TargetGroup>> = self
            .customers
            .values()
            .filter_map(|state| Some((state.customer?, state.target_group.as_ref())))
            .collect();
        for state in self.contracts.values() {
            let Some(terms) = &state.terms else { continue };
            let group = groups.get(&terms.customer).copied().flatten();
            for (&call_id, call) in &state.calls {
                if call.opened_at > now {
                    continue;
                }
                let sample = CallSample {
                    response: call.dispatched.map(|(_, at)| minutes(call.opened_at, at)),
                    arrival: call.arrived_at.map(|at| minutes(call.opened_at, at)),
                    resolution: call.resolved.map(|(at, _, _)| minutes(call.opened_at, at)),
                    breached: !call.breaches.is_empty(),
                };
                overall.add(sample);
                by_group.entry(group).or_default().add(sample);
                contract_samples.add(sample);
                if let Some((technician, _)) = call.dispatched {
                    by_technician.entry(technician).or_default().add(sample);
                }
                if call.resolved.is_none() {
                    let overdue = call.overdue_at(now);
                    let next = [
                        (call.dispatched.is_none(), call.deadlines.response),
                        (call.arrived_at.is_none(), call.deadlines.arrival),
                        (true, call.deadlines.resolution),
                    ]
                    .into_iter()
                    .filter(|(open, _)| *open)
                    .map(|(_, deadline)| deadline)
                    .min();
                    let soon =
                        next.is_some_and(|deadline| minutes(now, deadline) <= AT_RISK_MINUTES);
                    if !overdue.is_empty() || soon {
                        at_risk.push(CallAtRisk {
                            contract: terms.contract,
                            call: call_id,
                            unit: call.unit,
                            priority: call.priority,
                            overdue,
                            next_deadline: next,
                        });
                    }
                }
            }
            if contract_samples.calls > 0 {
                by_contract.push(ContractSla {
                    contract: terms.contract,
                    stats: contract_samples.stats(),
                });
                contract_samples.clear();
            }
        }
        by_contract.sort_by_key(|row| row.contract);
        at_risk.sort_by_key(|call| (call.next_deadline, call.contract, call.call));
        SlaCompliance {
            as_of: now,
            overall: overall.stats(),
            by_target_group: by_group
                .into_iter()
                .fold(
                    BTreeMap::<String, SlaSamples>::new(),
                    |mut named, (group, samples)| {
                        named
                            .entry(target_group_name(group))
                            .or_default()
                            .merge(samples);
                        named
                    },
                )
                .into_iter()
                .map(|(group, mut samples)| GroupSla {
                    target_group: group,
                    stats: samples.stats(),
                })
                .collect(),
            by_contract,
            by_technician: by_technician
                .into_iter()
                .map(|(technician, mut samples)| TechnicianSla {
                    technician,
                    stats: samples.stats(),
                })
                .collect(),
            at_risk,
        }
    }

    /// Report 5, the warranty as of a day: how many units are under warranty, those expiring within
    /// `within_days`, and the service cost the seller bore (warranty and entitlements) per model
    /// and month, up to the month of `as_of`.
    pub fn warranty(&self, as_of: NaiveDate, within_days: u32) -> WarrantyReport {
        let mut report = WarrantyReport::default();
        for (product, state) in self.units() {
            let Some(warranty) = state.warranty else {
                continue;
            };
            if state.closed.is_some() || !warranty.covers(as_of) {
                continue;
            }
            report.units_under_warranty += 1;
            let days_left = days_between(as_of, warranty.until);
            if days_left <= i64::from(within_days) {
                report.expiring.push(ExpiringRow {
                    unit: Self::unit_row(product, state),
                    customer: state.owner(),
                    until: warranty.until,
                    days_left,
                });
            }
        }
        report
            .expiring
            .sort_by_key(|row| (row.days_left, row.unit.product));
        let this_month = (as_of.year(), as_of.month());
        report.seller_cost = self
            .seller_costs
            .iter()
            .filter(|((_, month, _), _)| *month <= this_month)
            .map(|((model, (year, month), currency), minor_units)| CostRow {
                model: *model,
                month: format!("{year:04}-{month:02}"),
                currency: *currency,
                minor_units: *minor_units,
            })
            .collect();
        report
    }

    /// Report 6, the parts horizon as of a day: per part, the supply obligation's end, stock, reservations,
    /// backorders, consumption over the last [`CONSUMPTION_WINDOW_DAYS`] and the months of cover
    /// it gives, and whether stock runs out before the obligation ends.
    pub fn parts_horizon(&self, as_of: NaiveDate) -> PartsHorizon {
        let window_start = as_of
            .checked_sub_signed(chrono::TimeDelta::days(CONSUMPTION_WINDOW_DAYS))
            .unwrap_or(NaiveDate::MIN);
        let mut parts: Vec<PartRow> = self
            .parts
            .iter()
            .filter_map(|(stream, state)| {
                let part = state.part.clone()?;
                let issued: u64 = self
                    .issued
                    .get(stream)
                    .map(|days| {
                        days.range(window_start..=as_of)
                            .map(|(_, quantity)| quantity)
                            .sum()
                    })
                    .unwrap_or(0);
                let monthly = issued as f64 / (CONSUMPTION_WINDOW_DAYS as f64 / DAYS_PER_MONTH);
                let available = state.available();
                let months_of_cover = (monthly > 0.0).then(|| available as f64 / monthly);
                let obligation_until = state.obligation_until();
                let runs_out_before_obligation_end = match (months_of_cover, obligation_until) {
                    // Stock lasting past any day the calendar can name does not run out first.
                    (Some(months), Some(until)) => {
                        chrono::TimeDelta::try_days((months * DAYS_PER_MONTH) as i64)
                            .and_then(|cover| as_of.checked_add_signed(cover))
                            .is_some_and(|runs_out| runs_out < until)
                    }
                    _ => false,
                };
                Some(PartRow {
                    part,
                    obligation_until,
                    on_hand: state.on_hand(),
                    reserved: state.reserved(),
                    backordered: state.backordered(),
                    issued_in_window: issued,
                    monthly_consumption: monthly,
                    months_of_cover,
                    runs_out_before_obligation_end,
                })
            })
            .collect();
        parts.sort_by(|a, b| a.part.cmp(&b.part));
        PartsHorizon { as_of, parts }
    }

    /// The policy commands the rules refused (§7), oldest first: which policy, the command, why,
    /// and the trigger. The triggers stand; these are what the staff act on by hand.
    pub fn policy_refusals(&self) -> PolicyRefusals {
        PolicyRefusals {
            refusals: self.refusals.clone(),
        }
    }

    /// Report 7, the outreach as of a day: obligations open, done and missed per relationship level (the
    /// level that imposed them), and customers per current level and target group.
    pub fn outreach(&self, as_of: NaiveDate) -> Outreach {
        let mut by_level: BTreeMap<RelationshipLevel, LevelOutreach> = BTreeMap::new();
        // Counted by the recorded target group, named at the end: no string per customer.
        let mut customers: BTreeMap<(RelationshipLevel, Option<&TargetGroup>), u64> =
            BTreeMap::new();
        for state in self.customers.values() {
            if state.customer.is_none() {
                continue;
            }
            *customers
                .entry((state.level, state.target_group.as_ref()))
                .or_default() += 1;
            for obligation in state.obligations.values() {
                let row = by_level
                    .entry(obligation.level)
                    .or_insert_with(|| LevelOutreach {
                        level: obligation.level,
                        ..LevelOutreach::default()
                    });
                match obligation.status(as_of) {
                    ObligationStatus::Open => row.open += 1,
                    ObligationStatus::Done => row.done += 1,
                    ObligationStatus::Missed => row.missed += 1,
                    ObligationStatus::Withdrawn => row.withdrawn += 1,
                }
            }
        }
        Outreach {
            as_of,
            obligations_by_level: by_level.into_values().collect(),
            customers_by_level_and_group: customers
                .into_iter()
                .fold(BTreeMap::new(), |mut named, ((level, group), customers)| {
                    *named.entry((level, target_group_name(group))).or_default() += customers;
                    named
                })
                .into_iter()
                .map(|((level, target_group), customers)| CustomerCount {
                    level,
                    target_group,
                    customers,
                })
                .collect(),
        }
    }
}

fn minutes(from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
    (to - from).num_minutes()
}

/// A unit as reports name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitRow {
    /// The unit.
    #[serde(rename = "product")]
    pub product: ProductId,
    /// Its model.
    #[serde(rename = "model")]
    pub model: Option<ModelId>,
    /// Its serial number.
    #[serde(rename = "serial")]
    pub serial: Option<SerialNumber>,
}

/// Report 1, the pre-sale board: what [`Reports::pre_sale_board`] answers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreSaleBoard {
    /// Units per model and status.
    #[serde(rename = "units_by_model_and_status")]
    pub units_by_model_and_status: Vec<StatusCount>,
    /// Unsold units with transport damage not yet repaired.
    #[serde(rename = "open_transport_damage")]
    pub open_transport_damage: Vec<DamagedUnit>,
    /// Units ready for sale.
    #[serde(rename = "ready_for_sale")]
    pub ready_for_sale: Vec<UnitRow>,
}

/// How many units of a model are in a status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCount {
    /// The model.
    #[serde(rename = "model")]
    pub model: Option<ModelId>,
    /// The status (`received`, `in_preparation`, `ready_for_sale`, `sold`, ...).
    #[serde(rename = "status")]
    pub status: String,
    /// How many units.
    #[serde(rename = "units")]
    pub units: u64,
}

/// A unit with open transport damage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DamagedUnit {
    /// The unit.
    #[serde(rename = "unit")]
    pub unit: UnitRow,
    /// The numbers of its unrepaired damages.
    #[serde(rename = "open_damages")]
    pub open_damages: Vec<u32>,
}

/// Report 2, the delivery and installation backlog: what [`Reports::backlog`] answers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Backlog {
    /// Sold with delivery ordered, not delivered: oldest first.
    #[serde(rename = "awaiting_delivery")]
    pub awaiting_delivery: Vec<BacklogRow>,
    /// Installation ordered, delivered (or needing no delivery), not installed: oldest first.
    #[serde(rename = "awaiting_installation")]
    pub awaiting_installation: Vec<BacklogRow>,
}

/// A unit waiting for delivery or installation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BacklogRow {
    /// The unit.
    #[serde(rename = "unit")]
    pub unit: UnitRow,
    /// Its buyer.
    #[serde(rename = "customer")]
    pub customer: CustomerId,
    /// Since when it waits (the sale, or the delivery).
    #[serde(rename = "since")]
    pub since: NaiveDate,
    /// For how many days, as of the report's day.
    #[serde(rename = "age_days")]
    pub age_days: i64,
}

/// Report 3, the service due list: what [`Reports::service_due`] answers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceDue {
    /// Visits in their window and not performed.
    #[serde(rename = "due")]
    pub due: Vec<VisitRow>,
    /// Visits not performed by their window's end.
    #[serde(rename = "missed")]
    pub missed: Vec<VisitRow>,
}

/// A preventive visit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitRow {
    /// Its contract.
    #[serde(rename = "contract")]
    pub contract: ContractId,
    /// The contract's customer.
    #[serde(rename = "customer")]
    pub customer: CustomerId,
    /// The visit's number.
    #[serde(rename = "visit")]
    pub visit: u32,
    /// Its due day.
    #[serde(rename = "due")]
    pub due: NaiveDate,
    /// The last day of its window.
    #[serde(rename = "window_end")]
    pub window_end: NaiveDate,
}

/// Report 4, SLA compliance: what [`Reports::sla`] answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlaCompliance {
    /// The instant the report answers for.
    #[serde(rename = "as_of")]
    pub as_of: DateTime<Utc>,
    /// Every call.
    #[serde(rename = "overall")]
    pub overall: SlaStats,
    /// Per the customer's target group.
    #[serde(rename = "by_target_group")]
    pub by_target_group: Vec<GroupSla>,
    /// Per contract.
    #[serde(rename = "by_contract")]
    pub by_contract: Vec<ContractSla>,
    /// Per technician dispatched.
    #[serde(rename = "by_technician")]
    pub by_technician: Vec<TechnicianSla>,
    /// Open calls with a deadline passed or near: the nearest deadline first.
    #[serde(rename = "at_risk")]
    pub at_risk: Vec<CallAtRisk>,
}

/// SLA figures of a set of calls.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SlaStats {
    /// Calls opened.
    #[serde(rename = "calls")]
    pub calls: u64,
    /// Calls resolved.
    #[serde(rename = "resolved")]
    pub resolved: u64,
    /// Calls with at least one target breached.
    #[serde(rename = "breached")]
    pub breached: u64,
    /// `breached / calls` (0 without calls).
    #[serde(rename = "breach_rate")]
    pub breach_rate: f64,
    /// Minutes from opening to dispatch.
    #[serde(rename = "response_minutes")]
    pub response_minutes: Percentiles,
    /// Minutes from opening to arrival.
    #[serde(rename = "arrival_minutes")]
    pub arrival_minutes: Percentiles,
    /// Minutes from opening to resolution.
    #[serde(rename = "resolution_minutes")]
    pub resolution_minutes: Percentiles,
}

/// The median and the 90th percentile of a set of durations (nearest rank), if there are any.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Percentiles {
    /// How many durations.
    #[serde(rename = "count")]
    pub count: u64,
    /// The median.
    #[serde(rename = "median")]
    pub median: Option<i64>,
    /// The 90th percentile.
    #[serde(rename = "p90")]
    pub p90: Option<i64>,
}

impl Percentiles {
    fn of(values: &mut [i64]) -> Self {
        values.sort_unstable();
        let rank = |percent: usize| {
            let len = values.len();
            (len > 0).then(|| values[(len * percent).div_ceil(100).clamp(1, len) - 1])
        };
        Self {
            count: values.len() as u64,
            median: rank(50),
            p90: rank(90),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct CallSample {
    response: Option<i64>,
    arrival: Option<i64>,
    resolution: Option<i64>,
    breached: bool,
}

#[derive(Debug, Default)]
struct SlaSamples {
    calls: u64,
    breached: u64,
    response: Vec<i64>,
    arrival: Vec<i64>,
    resolution: Vec<i64>,
}

impl SlaSamples {
    fn add(&mut self, sample: CallSample) {
        self.calls += 1;
        self.breached += u64::from(sample.breached);
        self.response.extend(sample.response);
        self.arrival.extend(sample.arrival);
        self.resolution.extend(sample.resolution);
    }

    /// Adds the samples of `other` (of a group that shares this one's name).
    fn merge(&mut self, other: SlaSamples) {
        self.calls += other.calls;
        self.breached += other.breached;
        self.response.extend(other.response);
        self.arrival.extend(other.arrival);
        self.resolution.extend(other.resolution);
    }

    /// Empties the samples, keeping their buffers for the next set.
    fn clear(&mut self) {
        self.calls = 0;
        self.breached = 0;
        self.response.clear();
        self.arrival.clear();
        self.resolution.clear();
    }

    /// The figures of the samples (sorting them in place).
    fn stats(&mut self) -> SlaStats {
        SlaStats {
            calls: self.calls,
            resolved: self.resolution.len() as u64,
            breached: self.breached,
            breach_rate: if self.calls == 0 {
                0.0
            } else {
                self.breached as f64 / self.calls as f64
            },
            response_minutes: Percentiles::of(&mut self.response),
            arrival_minutes: Percentiles::of(&mut self.arrival),
            resolution_minutes: Percentiles::of(&mut self.resolution),
        }
    }
}

/// SLA figures of one target group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupSla {
    /// The target group.
    #[serde(rename = "target_group")]
    pub target_group: String,
    /// Its figures.
    #[serde(rename = "stats")]
    pub stats: SlaStats,
}

/// SLA figures of one contract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContractSla {
    /// The contract.
    #[serde(rename = "contract")]
    pub contract: ContractId,
    /// Its figures.
    #[serde(rename = "stats")]
    pub stats: SlaStats,
}

/// SLA figures of one technician.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TechnicianSla {
    /// The technician.
    #[serde(rename = "technician")]
    pub technician: TechnicianId,
    /// Their figures.
    #[serde(rename = "stats")]
    pub stats: SlaStats,
}

/// An open call at risk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallAtRisk {
    /// Its contract.
    #[serde(rename = "contract")]
    pub contract: ContractId,
    /// The call.
    #[serde(rename = "call")]
    pub call: CallId,
    /// The unit.
    #[serde(rename = "unit")]
    pub unit: ProductId,
    /// Its priority.
    #[serde(rename = "priority")]
    pub priority: Priority,
    /// Targets whose deadline has passed.
    #[serde(rename = "overdue")]
    pub overdue: Vec<SlaTarget>,
    /// The nearest deadline still open.
    #[serde(rename = "next_deadline")]
    pub next_deadline: Option<DateTime<Utc>>,
}

/// Report 5, the warranty report: what [`Reports::warranty`] answers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarrantyReport {
    /// Units under warranty on the report's day.
    #[serde(rename = "units_under_warranty")]
    pub units_under_warranty: u64,
    /// Those whose warranty ends within the days asked: soonest first.
    #[serde(rename = "expiring")]
    pub expiring: Vec<ExpiringRow>,
    /// Service cost borne by the seller, per model, month and currency.
    #[serde(rename = "seller_cost")]
    pub seller_cost: Vec<CostRow>,
}

/// A unit whose warranty ends soon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpiringRow {
    /// The unit.
    #[serde(rename = "unit")]
    pub unit: UnitRow,
    /// Its owner.
    #[serde(rename = "customer")]
    pub customer: Option<CustomerId>,
    /// The warranty's last day.
    #[serde(rename = "until")]
    pub until: NaiveDate,
    /// Days from the report's day to that last day.
    #[serde(rename = "days_left")]
    pub days_left: i64,
}

/// Cost borne by the seller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CostRow {
    /// The model of the units served.
    #[serde(rename = "model")]
    pub model: ModelId,
    /// The month, `YYYY-MM`.
    #[serde(rename = "month")]
    pub month: String,
    /// The currency.
    #[serde(rename = "currency")]
    pub currency: Currency,
    /// The amount, in minor units.
    #[serde(rename = "minor_units")]
    pub minor_units: i64,
}

/// Report 6, the parts horizon: what [`Reports::parts_horizon`] answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartsHorizon {
    /// The day the report answers for.
    #[serde(rename = "as_of")]
    pub as_of: NaiveDate,
    /// One row per registered part.
    #[serde(rename = "parts")]
    pub parts: Vec<PartRow>,
}

/// One part's horizon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartRow {
    /// The part.
    #[serde(rename = "part")]
    pub part: PartNumber,
    /// The last day of the supply obligation, once a model using it is discontinued.
    #[serde(rename = "obligation_until")]
    pub obligation_until: Option<NaiveDate>,
    /// Units on hand, every location.
    #[serde(rename = "on_hand")]
    pub on_hand: u64,
    /// Units reserved for calls.
    #[serde(rename = "reserved")]
    pub reserved: u64,
    /// Units backordered.
    #[serde(rename = "backordered")]
    pub backordered: u64,
    /// Units issued in the consumption window.
    #[serde(rename = "issued_in_window")]
    pub issued_in_window: u64,
    /// Units issued per month, averaged over the window.
    #[serde(rename = "monthly_consumption")]
    pub monthly_consumption: f64,
    /// Months the available stock lasts at that rate (`null` without consumption).
    #[serde(rename = "months_of_cover")]
    pub months_of_cover: Option<f64>,
    /// Whether the stock runs out before the obligation ends.
    #[serde(rename = "runs_out_before_obligation_end")]
    pub runs_out_before_obligation_end: bool,
}

/// Report 7, outreach: what [`Reports::outreach`] answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outreach {
    /// The day the report answers for.
    #[serde(rename = "as_of")]
    pub as_of: NaiveDate,
    /// Obligations per the level that imposed them.
    #[serde(rename = "obligations_by_level")]
    pub obligations_by_level: Vec<LevelOutreach>,
    /// Customers per current level and target group.
    #[serde(rename = "customers_by_level_and_group")]
    pub customers_by_level_and_group: Vec<CustomerCount>,
}

/// Obligations of one level.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LevelOutreach {
    /// The level.
    #[serde(rename = "level")]
    pub level: RelationshipLevel,
    /// Open, not past due.
    #[serde(rename = "open")]
    pub open: u64,
    /// Fulfilled.
    #[serde(rename = "done")]
    pub done: u64,
    /// Past due, not fulfilled.
    #[serde(rename = "missed")]
    pub missed: u64,
    /// Withdrawn when the level changed.
    #[serde(rename = "withdrawn")]
    pub withdrawn: u64,
}

/// Customers of one level and target group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerCount {
    /// The level.
    #[serde(rename = "level")]
    pub level: RelationshipLevel,
    /// The target group.
    #[serde(rename = "target_group")]
    pub target_group: String,
    /// How many customers.
    #[serde(rename = "customers")]
    pub customers: u64,
}

#[cfg(test)]
mod tests;

/// The policy commands the rules refused.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PolicyRefusals {
    /// Each refusal, oldest first.
    #[serde(rename = "refusals")]
    pub refusals: Vec<PolicyFailure>,
}
