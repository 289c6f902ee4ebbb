//! The application facade: one call per command for an embedding application, with the policies
//! of spec §7 applied synchronously after each, so the caller sees a consistent result.
//!
//! # Policies
//! Policies are process managers: they read the global log (from a checkpoint) and issue commands.
//! Each reaction's command id is derived from the triggering event's id, so running a policy again
//! over the same events issues nothing new (the repository recognises the command), and a policy
//! rebuilt from position 0 converges to the same state. Every command a policy issues carries the
//! trigger's correlation id and is caused by the trigger.
//!
//! - **Unit sold** → the customer records the purchase (an accountable or higher customer gets a
//!   follow-up obligation, decided by the Customer aggregate).
//! - **Warranty started** → a Warranty contract covering the unit for the warranty period is
//!   proposed and activated.
//! - **Technician dispatched** with parts → the parts are reserved; **call resolved** → the parts
//!   reserved for it are issued.
//! - **Model discontinued** on one part → every other part the model uses gets the discontinuation.
//! - **Warranty ending within N days** (a date, not an event: [`ServiceLifecycle::run_daily`]) → a
//!   proactive or partnership customer gets an outreach obligation offering a post-warranty
//!   contract.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Datelike, NaiveDate, Utc};

use super::calendar::BusinessCalendar;
use super::contract::{
    ContractCommand, ContractError, ContractEvent, ContractKind, ContractStatus, Entitlements,
    Priority, ServiceContract, ServicePlan, Targets, Terms,
};
use super::customer::{Customer, CustomerCommand, CustomerError, CustomerEvent, TargetGroup};
use super::events::ServiceEvent;
use super::parts::{Location, PartCommand, PartError, PartEvent, PartsSupply};
use super::personal_data::{
    MemoryPersonalData, PersonalData, PersonalDataError, PersonalDataStore,
};
use super::product::{Product, ProductCommand, ProductError, ProductEvent, Warranty};
use super::technician::{Technician, TechnicianCommand, TechnicianError};
use super::values::{
    CallId, ContractId, Currency, CustomerId, ModelId, PartNumber, ProductId, TechnicianId,
};
use crate::{
    Causation, CommandContext, CommandId, Decider, Envelope, EventId, EventStore, ExecuteError,
    Executed, InvalidStreamId, Projection, ReadError, Repository, StreamId,
};

/// Why the facade refused or failed a command.
#[derive(Debug, thiserror::Error)]
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
    #[error("T2: technician {technician} is not certified for model {model} on {date}")]
    NotCertified {
        /// The technician.
        technician: TechnicianId,
        /// The unit's model.
        model: ModelId,
        /// The day of the dispatch.
        date: NaiveDate,
    },
    /// C5: a substitute is offered only when the requested model has no unit ready for sale.
    #[error("C5: model {model} has unit {unit} ready for sale; no substitute is needed")]
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
        "S1: unit {unit} is covered by contract {contract} from {start} to {end}, which overlaps"
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
    /// The personal-data store failed.
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
    /// (another command, other data); the rest (the store, the personal-data store, a lost race,
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

/// A unit as the directory knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
#[derive(Debug, Clone, Default)]
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
    pub reservations_by_call: HashMap<CallId, BTreeMap<(PartNumber, u32), u32>>,
    backorders: HashMap<(PartNumber, u32), (CallId, u32)>,
    reservation_calls: HashMap<(PartNumber, u32), CallId>,
    contract_units: HashMap<ContractId, BTreeSet<ProductId>>,
    stream_ids: HashMap<StreamId, StreamOwner>,
}

#[derive(Debug, Clone)]
enum StreamOwner {
    Unit(ProductId),
    Contract(ContractId),
    Part(PartNumber),
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

    fn owner(&self, stream: &StreamId) -> Option<&StreamOwner> {
        self.stream_ids.get(stream)
    }
}

impl Projection<ServiceEvent> for Directory {
    fn apply(&mut self, envelope: &Envelope<ServiceEvent>) {
        let owner = self.owner(&envelope.stream_id).cloned();
        match (&envelope.event, owner) {
            (ServiceEvent::Product(ProductEvent::UnitReceived { product, model, .. }), _) => {
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
            (ServiceEvent::Part(PartEvent::PartRegistered { part, models, .. }), _) => {
                self.stream_ids
                    .insert(envelope.stream_id.clone(), StreamOwner::Part(part.clone()));
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
                    ..
                } => {
                    if let Some((call, quantity)) =
                        self.backorders.remove(&(part.clone(), *backorder))
                    {
                        self.reservation_calls
                            .insert((part.clone(), *reservation), call);
                        self.reservations_by_call
                            .entry(call)
                            .or_default()
                            .insert((part, *reservation), quantity);
                    }
                }
                PartEvent::Released { reservation, .. } => {
                    let key = (part, *reservation);
                    if let Some(call) = self.reservation_calls.remove(&key) {
                        if let Some(reservations) = self.reservations_by_call.get_mut(&call) {
                            reservations.remove(&key);
                        }
                    }
                }
                PartEvent::Issued {
                    reservation,
                    quantity,
                    ..
                } => {
                    let key = (part, *reservation);
                    let call = self.reservation_calls.get(&key).copied();
                    let reservations =
                        call.and_then(|call| self.reservations_by_call.get_mut(&call));
                    if let Some(reservations) = reservations {
                        let left = reservations
                            .get(&key)
                            .map_or(0, |left| left.saturating_sub(*quantity));
                        if left == 0 {
                            reservations.remove(&key);
                            self.reservation_calls.remove(&key);
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

/// A policy command that was refused or failed. The triggering command stands; the failure is
/// kept for the application to act on ([`ServiceLifecycle::policy_failures`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyFailure {
    /// The policy.
    pub policy: &'static str,
    /// The event that triggered it.
    pub trigger: EventId,
    /// What went wrong.
    pub error: String,
}

/// A command a policy issues in reaction to an event.
#[derive(Debug, Clone)]
enum Reaction {
    Customer(CustomerCommand),
    Contract(ContractCommand),
    Part(PartCommand),
}

struct Followers {
    directory: Directory,
    position: u64,
}

/// How many aggregates' states each repository keeps folded in memory.
const STATE_CACHE: usize = 100_000;

/// How many events the policies read per page while catching up.
const FOLLOW_PAGE: usize = 1_024;

/// The service-lifecycle application over a store of [`ServiceEvent`]s.
pub struct ServiceLifecycle<S> {
    store: S,
    products: Repository<Product, ServiceEvent, S>,
    customers: Repository<Customer, ServiceEvent, S>,
    contracts: Repository<ServiceContract, ServiceEvent, S>,
    parts: Repository<PartsSupply, ServiceEvent, S>,
    technicians: Repository<Technician, ServiceEvent, S>,
    personal_data: Arc<dyn PersonalDataStore>,
    plans: Arc<dyn Fn(&TargetGroup) -> ServicePlan + Send + Sync>,
    followers: Mutex<Followers>,
    failures: Mutex<Vec<PolicyFailure>>,
}

impl<S> std::fmt::Debug for ServiceLifecycle<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceLifecycle").finish_non_exhaustive()
    }
}

/// The default plan of every target group: office hours; critical calls answered within an hour,
/// on site within four, resolved within a day; normal ones within four hours, a day and two days.
pub fn default_plan(_target_group: &TargetGroup) -> ServicePlan {
    let targets = |response, arrival, resolution| Targets {
        response_minutes: response,
        arrival_minutes: arrival,
        resolution_minutes: resolution,
    };
    ServicePlan {
        targets: BTreeMap::from([
            (Priority::Critical, targets(60, 240, 540)),
            (Priority::High, targets(120, 540, 1_080)),
            (Priority::Normal, targets(240, 540, 1_080)),
            (Priority::Low, targets(540, 2_700, 5_400)),
        ]),
        calendar: BusinessCalendar::office_hours(),
    }
}

/// The id of the `index`-th command a policy issues in reaction to `trigger`: deterministic, so a
/// policy run twice over the same event issues the same command.
fn policy_command_id(trigger: EventId, index: u32) -> CommandId {
    CommandId::from_uuid(EventId::derived(CommandId::from_uuid(trigger.as_uuid()), index).as_uuid())
}

impl<S: EventStore<ServiceEvent> + Clone> ServiceLifecycle<S> {
    /// The application over `store`, with personal data in memory and the [`default_plan`].
    /// Existing events are read once to build the directory; the policies are not re-run over
    /// them (they ran when those events were written). If a process stopped between a command
    /// and its policies, [`replay_policies`](Self::replay_policies) completes them: policies are
    /// idempotent, so it writes only what is missing.
    pub fn new(store: S) -> Result<Self, ServiceError> {
        let service = Self {
            products: Repository::new(store.clone()).with_state_cache(STATE_CACHE),
            customers: Repository::new(store.clone()).with_state_cache(STATE_CACHE),
            contracts: Repository::new(store.clone()).with_state_cache(STATE_CACHE),
            parts: Repository::new(store.clone()).with_state_cache(STATE_CACHE),
            technicians: Repository::new(store.clone()).with_state_cache(STATE_CACHE),
            store,
            personal_data: Arc::new(MemoryPersonalData::new()),
            plans: Arc::new(default_plan),
            followers: Mutex::new(Followers {
                directory: Directory::default(),
                position: 0,
            }),
            failures: Mutex::new(Vec::new()),
        };
        service.catch_up(false)?;
        Ok(service)
    }

    /// Keeps personal data in `store` instead of memory.
    pub fn with_personal_data(mut self, store: impl PersonalDataStore + 'static) -> Self {
        self.personal_data = Arc::new(store);
        self
    }

    /// Chooses each target group's service plan with `plans`.
    pub fn with_plans(
        mut self,
        plans: impl Fn(&TargetGroup) -> ServicePlan + Send + Sync + 'static,
    ) -> Self {
        self.plans = Arc::new(plans);
        self
    }

    /// The store underneath.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Reads the directory as it is now.
    pub fn directory<R>(&self, read: impl FnOnce(&Directory) -> R) -> R {
        read(
            &self
                .followers
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .directory,
        )
    }

    /// The service plan of `customer`'s target group (S2), as the plans function chooses it; the
    /// plan of households for a customer the directory does not know.
    pub fn plan_for(&self, customer: CustomerId) -> ServicePlan {
        let target_group =
            self.directory(|directory| directory.target_groups.get(&customer).cloned());
        (self.plans)(&target_group.unwrap_or(TargetGroup::Household))
    }

    /// The policy commands refused or failed so far.
    pub fn policy_failures(&self) -> Vec<PolicyFailure> {
        self.failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// A customer's personal data, unless erased.
    pub fn personal_data(
        &self,
        customer: CustomerId,
    ) -> Result<Option<PersonalData>, ServiceError> {
        Ok(self.personal_data.get(customer)?)
    }

    /// Runs a Product command, then the policies.
    pub fn product(
        &self,
        command: ProductCommand,
        context: &CommandContext,
    ) -> Result<Executed<Product>, ServiceError> {
        let executed = execute(
            &self.products,
            Product::stream_id(command.product()),
            &command,
            context,
        )?;
        self.catch_up(true)?;
        Ok(executed)
    }

    /// Runs a Customer command, then the policies. Registration and erasure of personal data go
    /// through [`register_customer`](Self::register_customer) and
    /// [`erase_customer`](Self::erase_customer).
    pub fn customer(
        &self,
        command: CustomerCommand,
        context: &CommandContext,
    ) -> Result<Executed<Customer>, ServiceError> {
        if let CustomerCommand::OfferSubstitute { requested, .. } = &command {
            if let Some(unit) = self.directory(|directory| directory.ready_units(*requested).next())
            {
                return Err(ServiceError::RequestedModelAvailable {
                    model: *requested,
                    unit,
                });
            }
        }
        let executed = execute(
            &self.customers,
            Customer::stream_id(command.customer()),
            &command,
            context,
        )?;
        self.catch_up(true)?;
        Ok(executed)
    }

    /// Runs a PartsSupply command, then the policies.
    pub fn part(
        &self,
        command: PartCommand,
        context: &CommandContext,
    ) -> Result<Executed<PartsSupply>, ServiceError> {
        let executed = execute(
            &self.parts,
            PartsSupply::stream_id(command.part()),
            &command,
            context,
        )?;
        self.catch_up(true)?;
        Ok(executed)
    }

    /// Runs a Technician command, then the policies.
    pub fn technician(
        &self,
        command: TechnicianCommand,
        context: &CommandContext,
    ) -> Result<Executed<Technician>, ServiceError> {
        let executed = execute(
            &self.technicians,
            Technician::stream_id(command.technician()),
            &command,
            context,
        )?;
        self.catch_up(true)?;
        Ok(executed)
    }

    /// Runs a ServiceContract command, then the policies, checking first what needs other
    /// aggregates: a proposal's units must have no overlapping contract (S1) and, for a
    /// post-warranty contract, the units' warranty ends are filled in from the directory; a
    /// dispatch needs a technician certified for the unit's model on that day (T2).
    pub fn contract(
        &self,
        mut command: ContractCommand,
        context: &CommandContext,
    ) -> Result<Executed<ServiceContract>, ServiceError> {
        match &mut command {
            ContractCommand::Propose {
                terms,
                warranty_ends,
                ..
            } => {
                let Terms {
                    contract,
                    units,
                    start,
                    end,
                    kind,
                    ..
                } = &*terms;
                let contract = *contract;
                self.directory(|directory| -> Result<(), ServiceError> {
                    for unit in units.iter() {
                        if let Some((other, span)) = directory
                            .overlapping_contracts(*unit, *start, *end)
                            .find(|(other, _)| *other != contract)
                        {
                            return Err(ServiceError::UnitHasContract {
                                unit: *unit,
                                contract: other,
                                start: span.start,
                                end: span.end,
                            });
                        }
                        if *kind == ContractKind::PostWarranty {
                            if let Some(warranty) =
                                directory.units.get(unit).and_then(|entry| entry.warranty)
                            {
                                warranty_ends.entry(*unit).or_insert(warranty.until);
                            }
                        }
                    }
                    Ok(())
                })?;
            }
            ContractCommand::Dispatch {
                call,
                technician,
                at,
                ..
            } => {
                let model = self.directory(|directory| {
                    let (_, unit) = directory
                        .calls
                        .get(call)
                        .ok_or(ServiceError::UnknownCall { call: *call })?;
                    directory
                        .units
                        .get(unit)
                        .map(|entry| entry.model)
                        .ok_or(ServiceError::UnknownUnit { product: *unit })
                })?;
                let state = self
                    .technicians
                    .load(&Technician::stream_id(*technician)?)
                    .map_err(ExecuteError::<TechnicianError>::from)?;
                let date = at.date_naive();
                if !state.state.certified_for(model, date) {
                    return Err(ServiceError::NotCertified {
                        technician: *technician,
                        model,
                        date,
                    });
                }
            }
            _ => {}
        }
        let executed = execute(
            &self.contracts,
            ServiceContract::stream_id(command.contract()),
            &command,
            context,
        )?;
        self.catch_up(true)?;
        Ok(executed)
    }

    /// C1: registers a customer, keeping the name and contact in the personal-data store.
    #[allow(clippy::too_many_arguments)] // one argument per field of the registration
    pub fn register_customer(
        &self,
        customer: CustomerId,
        personal: PersonalData,
        target_group: TargetGroup,
        level: super::customer::RelationshipLevel,
        account_owner: Option<super::values::AccountOwnerId>,
        at: DateTime<Utc>,
        context: &CommandContext,
    ) -> Result<Executed<Customer>, ServiceError> {
        let command = CustomerCommand::Register {
            customer,
            target_group,
            level,
            account_owner,
            terms: super::customer::OutreachTerms::default(),
            at,
        };
        let executed = self.customer(command, context)?;
        if !executed.replayed {
            self.personal_data.put(customer, personal)?;
        }
        Ok(executed)
    }

    /// C7: erases a customer's personal data: the event is recorded, the data removed from every
    /// read path; the history stays and replays.
    pub fn erase_customer(
        &self,
        customer: CustomerId,
        at: DateTime<Utc>,
        context: &CommandContext,
    ) -> Result<Executed<Customer>, ServiceError> {
        let executed = self.customer(CustomerCommand::EraseData { customer, at }, context)?;
        self.personal_data.erase(customer)?;
        Ok(executed)
    }

    /// The daily policy: every unit whose warranty ends within `within_days` of `as_of` gets, for a
    /// proactive or partnership owner, an outreach obligation to offer a post-warranty contract by
    /// the warranty's end. Idempotent per unit and warranty. Returns how many were scheduled.
    pub fn run_daily(&self, as_of: NaiveDate, within_days: u32) -> Result<usize, ServiceError> {
        let horizon = as_of
            .checked_add_days(chrono::Days::new(u64::from(within_days)))
            .unwrap_or(as_of);
        let due: Vec<(CustomerId, ProductId, NaiveDate)> = self.directory(|directory| {
            let mut due: Vec<_> = directory
                .units
                .iter()
                .filter_map(|(product, entry)| {
                    let warranty = entry.warranty?;
                    let customer = entry.customer?;
                    (as_of <= warranty.until && warranty.until <= horizon).then_some((
                        customer,
                        *product,
                        warranty.until,
                    ))
                })
                .collect();
            due.sort();
            due
        });
        let at = as_of.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
        let mut scheduled = 0;
        for (customer, product, until) in due {
            let key = uuid::Uuid::from_u128(
                product.as_uuid().as_u128() ^ u128::from(until.num_days_from_ce().unsigned_abs()),
            );
            let context = CommandContext::with_command_id(CommandId::from_uuid(
                EventId::derived(CommandId::from_uuid(key), 0).as_uuid(),
            ));
            let command = CustomerCommand::ScheduleWarrantyOutreach {
                customer,
                product,
                due: until,
                at,
            };
            let executed =
                self.customers
                    .execute(&Customer::stream_id(customer)?, &command, &context)?;
            scheduled += usize::from(!executed.events.is_empty() && !executed.replayed);
        }
        self.catch_up(true)?;
        Ok(scheduled)
    }

    /// Rebuilds the directory and runs every policy again over the whole log, from position 0.
    /// Policies are idempotent, so over a log they already followed this writes nothing; returns
    /// how many events it wrote.
    pub fn replay_policies(&self) -> Result<u64, ServiceError> {
        let head = self.store.head_position()?;
        {
            let mut followers = self
                .followers
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            followers.directory = Directory::default();
            followers.position = 0;
        }
        self.catch_up(true)?;
        Ok(self.store.head_position()? - head)
    }

    /// Reads the log from the followers' position: updates the directory and, when `react`,
    /// runs the policies, until nothing new is left. Reads page by page.
    fn catch_up(&self, react: bool) -> Result<(), ServiceError> {
        loop {
            let mut reactions = Vec::new();
            let read = {
                let mut followers = self
                    .followers
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                let mut read = 0;
                for stored in self
                    .store
                    .read_all(followers.position + 1)?
                    .take(FOLLOW_PAGE)
                {
                    let stored = stored?;
                    followers.directory.apply(&stored);
                    followers.position = stored.position;
                    read += 1;
                    if react {
                        let called_for = react_to(&followers.directory, &stored, &*self.plans);
                        if !called_for.is_empty() {
                            reactions.push((stored.into_owned(), called_for));
                        }
                    }
                }
                read
            };
            for (trigger, called_for) in reactions {
                for (index, (policy, reaction)) in (0u32..).zip(called_for) {
                    self.run_reaction(&trigger, index, policy, reaction);
                }
            }
            if read == 0 {
                return Ok(());
            }
        }
    }

    fn run_reaction(
        &self,
        trigger: &Envelope<ServiceEvent>,
        index: u32,
        policy: &'static str,
        reaction: Reaction,
    ) {
        let context = CommandContext::with_command_id(policy_command_id(trigger.event_id, index))
            .caused_by(Causation::following(trigger));
        let outcome = match reaction {
            Reaction::Customer(command) => {
                let stream = Customer::stream_id(command.customer());
                execute(&self.customers, stream, &command, &context).map(drop)
            }
            Reaction::Contract(command) => {
                let stream = ServiceContract::stream_id(command.contract());
                execute(&self.contracts, stream, &command, &context).map(drop)
            }
            Reaction::Part(command) => {
                let stream = PartsSupply::stream_id(command.part());
                execute(&self.parts, stream, &command, &context).map(drop)
            }
        };
        if let Err(error) = outcome {
            self.failures
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(PolicyFailure {
                    policy,
                    trigger: trigger.event_id,
                    error: error.to_string(),
                });
        }
    }
}

/// Runs `command` on `stream` through `repository` (the policies are the caller's business).
fn execute<D, S>(
    repository: &Repository<D, ServiceEvent, S>,
    stream: Result<StreamId, InvalidStreamId>,
    command: &D::Command,
    context: &CommandContext,
) -> Result<Executed<D>, ServiceError>
where
    D: Decider,
    ServiceEvent: crate::Contains<D::Event>,
    S: EventStore<ServiceEvent>,
    ServiceError: From<ExecuteError<D::Error>>,
{
    Ok(repository.execute(&stream?, command, context)?)
}

/// The policies: the commands `envelope` calls for, given the directory after it.
fn react_to(
    directory: &Directory,
    envelope: &Envelope<ServiceEvent>,
    plans: &(dyn Fn(&TargetGroup) -> ServicePlan + Send + Sync),
) -> Vec<(&'static str, Reaction)> {
    let owner = directory.owner(&envelope.stream_id);
    let mut reactions = Vec::new();
    let mut push = |policy, reaction| reactions.push((policy, reaction));
    match (&envelope.event, owner) {
        (
            ServiceEvent::Product(ProductEvent::UnitSold { customer, at, .. }),
            Some(StreamOwner::Unit(product)),
        ) => {
            push(
                "unit sold: record the purchase",
                Reaction::Customer(CustomerCommand::RecordPurchase {
                    customer: *customer,
                    product: *product,
                    at: *at,
                }),
            );
        }
        (
            ServiceEvent::Product(ProductEvent::WarrantyStarted { from, until }),
            Some(StreamOwner::Unit(product)),
        ) => {
            let Some(entry) = directory.units.get(product) else {
                return reactions;
            };
            let (Some(customer), Some(currency)) = (entry.customer, entry.currency) else {
                return reactions;
            };
            let target_group = directory
                .target_groups
                .get(&customer)
                .cloned()
                .unwrap_or(TargetGroup::Household);
            let contract =
                ContractId::from_uuid(policy_command_id(envelope.event_id, 99).as_uuid());
            let at = from.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
            push(
                "warranty started: open the warranty contract",
                Reaction::Contract(ContractCommand::Propose {
                    terms: Terms {
                        contract,
                        kind: ContractKind::Warranty,
                        customer,
                        units: BTreeSet::from([*product]),
                        start: *from,
                        end: *until,
                        plan: plans(&target_group),
                        entitlements: Entitlements::default(),
                        currency,
                    },
                    warranty_ends: BTreeMap::new(),
                    at,
                }),
            );
            push(
                "warranty started: open the warranty contract",
                Reaction::Contract(ContractCommand::Activate { contract, at }),
            );
        }
        (
            ServiceEvent::Contract(ContractEvent::TechnicianDispatched {
                call, parts, at, ..
            }),
            _,
        ) => {
            for (part, quantity) in parts {
                push(
                    "technician dispatched: reserve the parts",
                    Reaction::Part(PartCommand::Reserve {
                        part: part.clone(),
                        call: *call,
                        location: Location::CentralWarehouse,
                        quantity: *quantity,
                        at: *at,
                    }),
                );
            }
        }
        (ServiceEvent::Contract(ContractEvent::CallResolved { call, at, .. }), _) => {
            for ((part, reservation), quantity) in directory
                .reservations_by_call
                .get(call)
                .into_iter()
                .flatten()
            {
                push(
                    "call resolved: issue the reserved parts",
                    Reaction::Part(PartCommand::Issue {
                        part: part.clone(),
                        reservation: *reservation,
                        quantity: *quantity,
                        at: *at,
                    }),
                );
            }
        }
        (
            ServiceEvent::Part(PartEvent::ModelDiscontinued {
                model,
                guaranteed_until,
                last_order_date,
                at,
            }),
            Some(StreamOwner::Part(this_part)),
        ) => {
            let years =
                u32::try_from(guaranteed_until.year() - at.date_naive().year()).unwrap_or(0);
            for part in directory
                .parts_by_model
                .get(model)
                .into_iter()
                .flatten()
                .filter(|part| *part != this_part)
            {
                push(
                    "model discontinued: every part of the model",
                    Reaction::Part(PartCommand::DiscontinueModel {
                        part: part.clone(),
                        model: *model,
                        guarantee_years: years,
                        last_order_date: *last_order_date,
                        at: *at,
                    }),
                );
            }
        }
        _ => {}
    }
    reactions
}

#[cfg(test)]
mod tests;
