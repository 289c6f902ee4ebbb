//! The directory: the read model the facade and the policies consult, of who owns which unit,
//! which contracts cover it, and which units are ready for sale.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::NaiveDate;

use super::contract::{ContractEvent, ContractKind, ContractStatus, Terms};
use super::customer::{CustomerEvent, TargetGroup};
use super::events::ServiceEvent;
use super::model::ModelEvent;
use super::parts::PartEvent;
use super::product::{ProductEvent, Warranty};
use super::values::{CallId, ContractId, Currency, CustomerId, ModelId, PartNumber, ProductId};

use serde::{Deserialize, Serialize};

use crate::kernel::{Envelope, Projection, StreamId};

/// A unit as the directory knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitEntry {
    /// Its model.
    pub model: ModelId,
    /// Whether it is ready for sale (commissioned, last test run passed, no open damage, not
    /// sold or closed): what the substitute query (C5) looks at.
    pub ready_for_sale: bool,
    readiness: Readiness,
    /// Its owner, once sold.
    pub customer: Option<CustomerId>,
    /// Its warranty, once started.
    pub warranty: Option<Warranty>,
    /// The currency it was sold in.
    pub currency: Option<Currency>,
}

/// What makes a unit ready for sale, tracked from its events.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Readiness {
    commissioned: bool,
    last_test_passed: bool,
    open_damage: u32,
    gone: bool,
}

impl Readiness {
    fn ready(&self) -> bool {
        self.commissioned && self.last_test_passed && self.open_damage == 0 && !self.gone
    }
}

/// A contract's span on a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractSpan {
    /// Its kind.
    pub kind: ContractKind,
    /// The first day.
    pub start: NaiveDate,
    /// The last day.
    pub end: NaiveDate,
    /// Its status.
    pub status: ContractStatus,
}

/// The read model the facade and the policies look things up in: units, their owners,
/// warranties and contracts, parts per model, reservations per call. Fed by the global log.
///
/// It serializes, so the facade keeps it in the store with the position it reflects and opens
/// from there instead of folding the whole log again.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Directory {
    /// Units by id.
    pub units: HashMap<ProductId, UnitEntry>,
    /// Parts used by each model.
    pub parts_by_model: HashMap<ModelId, BTreeSet<PartNumber>>,
    /// Customers' target groups.
    pub target_groups: HashMap<CustomerId, TargetGroup>,
    /// Contracts per unit.
    pub contracts_by_unit: HashMap<ProductId, BTreeMap<ContractId, ContractSpan>>,
    /// Each call's contract and unit.
    pub calls: HashMap<CallId, (ContractId, ProductId)>,
    /// Open reservations per call: (part, reservation) and the units still reserved.
    #[serde(with = "reservations_as_pairs")]
    pub reservations_by_call: HashMap<CallId, BTreeMap<(PartNumber, u32), u32>>,
    #[serde(with = "crate::values::map_as_pairs")]
    backorders: HashMap<(PartNumber, u32), (CallId, u32)>,
    #[serde(with = "crate::values::map_as_pairs")]
    reservation_calls: HashMap<(PartNumber, u32), CallId>,
    contract_units: HashMap<ContractId, BTreeSet<ProductId>>,
    models: HashSet<ModelId>,
    /// The models of the catalogue that left production, with their discontinuation, so a part
    /// registered for one later gets it too.
    #[serde(default)]
    pub(crate) discontinued_models: HashMap<ModelId, ModelLeftProduction>,
    #[serde(with = "crate::values::map_as_pairs")]
    stream_ids: HashMap<StreamId, StreamOwner>,
}

/// A catalogue model's discontinuation, as a part registered later receives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ModelLeftProduction {
    pub(crate) guarantee_years: u32,
    pub(crate) last_order_date: NaiveDate,
    pub(crate) at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) enum StreamOwner {
    Unit(ProductId),
    Contract(ContractId),
    Part(PartNumber),
}

/// The reservations per call, with their (part, number) keys, as lists of pairs (JSON keys
/// are strings only).
mod reservations_as_pairs {
    use std::collections::{BTreeMap, HashMap};

    use serde::{Deserialize, Deserializer, Serializer};

    use crate::values::{CallId, PartNumber};

    type Reservations = HashMap<CallId, BTreeMap<(PartNumber, u32), u32>>;

    pub(super) fn serialize<S: Serializer>(
        map: &Reservations,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(
            map.iter()
                .map(|(call, held)| (call, held.iter().collect::<Vec<_>>())),
        )
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Reservations, D::Error> {
        type Pairs = Vec<(CallId, Vec<((PartNumber, u32), u32)>)>;
        Ok(Pairs::deserialize(deserializer)?
            .into_iter()
            .map(|(call, held)| (call, held.into_iter().collect()))
            .collect())
    }
}

impl Directory {
    /// C5: the units of `model` ready for sale (the substitute query asks for none of the
    /// requested model, and offers these of others).
    pub fn ready_units(&self, model: ModelId) -> impl Iterator<Item = ProductId> + '_ {
        self.units
            .iter()
            .filter(move |(_, entry)| entry.model == model && entry.ready_for_sale)
            .map(|(product, _)| *product)
    }

    /// Contracts covering `unit` that are neither cancelled nor expired, and overlap `start..=end`.
    pub fn overlapping_contracts(
        &self,
        unit: ProductId,
        start: NaiveDate,
        end: NaiveDate,
    ) -> impl Iterator<Item = (ContractId, ContractSpan)> + '_ {
        self.contracts_by_unit
            .get(&unit)
            .into_iter()
            .flatten()
            .filter_map(move |(id, span)| {
                let live = !matches!(
                    span.status,
                    ContractStatus::Cancelled | ContractStatus::Expired
                );
                (live && span.start <= end && start <= span.end).then_some((*id, *span))
            })
    }

    fn set_contract_status(&mut self, contract: ContractId, status: ContractStatus) {
        for unit in self.contract_units.get(&contract).into_iter().flatten() {
            if let Some(span) = self
                .contracts_by_unit
                .get_mut(unit)
                .and_then(|spans| spans.get_mut(&contract))
            {
                span.status = status;
            }
        }
    }

    /// Whether `model` is known: introduced in the catalogue, a unit of it received or a part
    /// registered for it.
    pub fn knows_model(&self, model: ModelId) -> bool {
        self.models.contains(&model)
    }

    /// The units a contract covers.
    pub(crate) fn contract_units(
        &self,
        contract: ContractId,
    ) -> impl Iterator<Item = ProductId> + '_ {
        self.contract_units
            .get(&contract)
            .into_iter()
            .flatten()
            .copied()
    }

    /// Drops a reservation of `call` that holds nothing more, and the call's entry with its
    /// last one, so the directory keeps only open reservations.
    fn forget_reservation(&mut self, call: CallId, key: &(PartNumber, u32)) {
        if let Some(reservations) = self.reservations_by_call.get_mut(&call) {
            reservations.remove(key);
            if reservations.is_empty() {
                self.reservations_by_call.remove(&call);
            }
        }
    }

    pub(crate) fn owner(&self, stream: &StreamId) -> Option<&StreamOwner> {
        self.stream_ids.get(stream)
    }
}

impl Projection<ServiceEvent> for Directory {
    fn apply(&mut self, envelope: &Envelope<ServiceEvent>) {
        let owner = self.owner(&envelope.stream_id).cloned();
        match (&envelope.event, owner) {
            (ServiceEvent::Product(ProductEvent::UnitReceived { product, model, .. }), _) => {
                self.models.insert(*model);
                self.stream_ids
                    .insert(envelope.stream_id.clone(), StreamOwner::Unit(*product));
                self.units.insert(
                    *product,
                    UnitEntry {
                        model: *model,
                        ready_for_sale: false,
                        readiness: Readiness::default(),
                        customer: None,
                        warranty: None,
                        currency: None,
                    },
                );
            }
            (
                ServiceEvent::Product(ProductEvent::UnitSold {
                    customer, price, ..
                }),
                Some(StreamOwner::Unit(unit)),
            ) => {
                if let Some(entry) = self.units.get_mut(&unit) {
                    entry.customer = Some(*customer);
                    entry.currency = Some(price.currency);
                    entry.readiness.gone = true;
                    entry.ready_for_sale = false;
                }
            }
            (
                ServiceEvent::Product(ProductEvent::WarrantyStarted { from, until }),
                Some(StreamOwner::Unit(unit)),
            ) => {
                if let Some(entry) = self.units.get_mut(&unit) {
                    entry.warranty = Some(Warranty {
                        from: *from,
                        until: *until,
                    });
                }
            }
            (ServiceEvent::Product(event), Some(StreamOwner::Unit(unit))) => {
                if let Some(entry) = self.units.get_mut(&unit) {
                    let readiness = &mut entry.readiness;
                    match event {
                        ProductEvent::UnitCommissioned { .. } => readiness.commissioned = true,
                        ProductEvent::TestRunRecorded { passed, .. } => {
                            readiness.last_test_passed = *passed;
                        }
                        ProductEvent::TransportDamageRecorded { .. } => readiness.open_damage += 1,
                        ProductEvent::TransportDamageRepaired { .. } => {
                            readiness.open_damage = readiness.open_damage.saturating_sub(1);
                        }
                        ProductEvent::UnitReturned { .. } | ProductEvent::UnitScrapped { .. } => {
                            readiness.gone = true;
                        }
                        _ => {}
                    }
                    entry.ready_for_sale = readiness.ready();
                }
            }
            (
                ServiceEvent::Customer(CustomerEvent::Registered {
                    customer,
                    target_group,
                    ..
                }),
                _,
            ) => {
                self.target_groups.insert(*customer, target_group.clone());
            }
            (ServiceEvent::Contract(ContractEvent::Proposed { terms, .. }), _) => {
                let Terms {
                    contract,
                    kind,
                    units,
                    start,
                    end,
                    ..
                } = terms;
                self.stream_ids
                    .insert(envelope.stream_id.clone(), StreamOwner::Contract(*contract));
                for unit in units {
                    self.contracts_by_unit.entry(*unit).or_default().insert(
                        *contract,
                        ContractSpan {
                            kind: *kind,
                            start: *start,
                            end: *end,
                            status: ContractStatus::Proposed,
                        },
                    );
                }
                self.contract_units.insert(*contract, units.clone());
            }
            (ServiceEvent::Contract(event), Some(StreamOwner::Contract(contract))) => match event {
                ContractEvent::Activated { .. } | ContractEvent::Resumed { .. } => {
                    self.set_contract_status(contract, ContractStatus::Active);
                }
                ContractEvent::Suspended { .. } => {
                    self.set_contract_status(contract, ContractStatus::Suspended)
                }
                ContractEvent::Cancelled { .. } => {
                    self.set_contract_status(contract, ContractStatus::Cancelled)
                }
                ContractEvent::Expired { .. } => {
                    self.set_contract_status(contract, ContractStatus::Expired)
                }
                ContractEvent::Renewed { until, .. } => {
                    for unit in self.contract_units.get(&contract).into_iter().flatten() {
                        if let Some(span) = self
                            .contracts_by_unit
                            .get_mut(unit)
                            .and_then(|spans| spans.get_mut(&contract))
                        {
                            span.end = *until;
                        }
                    }
                }
                ContractEvent::CallOpened { call, unit, .. } => {
                    self.calls.insert(*call, (contract, *unit));
                }
                _ => {}
            },
            (ServiceEvent::Model(event), _) => match event {
                ModelEvent::Introduced { model, .. } => {
                    self.models.insert(*model);
                }
                ModelEvent::Discontinued {
                    model,
                    guarantee_years,
                    last_order_date,
                    at,
                    ..
                } => {
                    let left = ModelLeftProduction {
                        guarantee_years: *guarantee_years,
                        last_order_date: *last_order_date,
                        at: *at,
                    };
                    self.discontinued_models.insert(*model, left);
                }
                ModelEvent::Revised { .. } => {}
            },
            (ServiceEvent::Part(PartEvent::PartRegistered { part, models, .. }), _) => {
                self.stream_ids
                    .insert(envelope.stream_id.clone(), StreamOwner::Part(part.clone()));
                self.models.extend(models.keys().copied());
                for model in models.keys() {
                    self.parts_by_model
                        .entry(*model)
                        .or_default()
                        .insert(part.clone());
                }
            }
            (ServiceEvent::Part(event), Some(StreamOwner::Part(part))) => match event {
                PartEvent::Reserved {
                    reservation,
                    call,
                    quantity,
                    ..
                } => {
                    self.reservation_calls
                        .insert((part.clone(), *reservation), *call);
                    self.reservations_by_call
                        .entry(*call)
                        .or_default()
                        .insert((part, *reservation), *quantity);
                }
                PartEvent::Backordered {
                    backorder,
                    call,
                    quantity,
                    ..
                } => {
                    self.backorders
                        .insert((part, *backorder), (*call, *quantity));
                }
                PartEvent::BackorderFilled {
                    backorder,
                    reservation,
                    quantity,
                    ..
                } => {
                    let key = (part.clone(), *backorder);
                    if let Some((call, waiting)) = self.backorders.get_mut(&key) {
                        let call = *call;
                        let filled = crate::parts::units_filled(*quantity, *waiting);
                        *waiting -= filled;
                        if *waiting == 0 {
                            self.backorders.remove(&key);
                        }
                        self.reservation_calls
                            .insert((part.clone(), *reservation), call);
                        self.reservations_by_call
                            .entry(call)
                            .or_default()
                            .insert((part, *reservation), filled);
                    }
                }
                PartEvent::Released { reservation, .. } => {
                    let key = (part, *reservation);
                    if let Some(call) = self.reservation_calls.remove(&key) {
                        self.forget_reservation(call, &key);
                    }
                }
                PartEvent::Issued {
                    reservation,
                    quantity,
                    ..
                } => {
                    let key = (part, *reservation);
                    let call = self.reservation_calls.get(&key).copied();
                    let reservations = call
                        .and_then(|call| Some((call, self.reservations_by_call.get_mut(&call)?)));
                    if let Some((call, reservations)) = reservations {
                        let left = reservations
                            .get(&key)
                            .map_or(0, |left| left.saturating_sub(*quantity));
                        if left == 0 {
                            self.reservation_calls.remove(&key);
                            self.forget_reservation(call, &key);
                        } else {
                            reservations.insert(key, left);
                        }
                    }
                }
                _ => {}
            },
            _ => {}
        }
    }
}
