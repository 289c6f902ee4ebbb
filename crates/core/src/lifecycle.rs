//! The application facade: one call per command for an embedding application. Every entity a
//! command names is checked first, the rules that span aggregates are kept by the aggregate that
//! owns them, and the policies of §7 of `docs/domain.md` run from a checkpointed subscription of
//! the store (`followers.rs`).

mod dispatch;
mod followers;
mod references;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Datelike, NaiveDate, Utc};

use super::calendar::BusinessCalendar;
use super::contract::{
    ContractCommand, ContractError, ContractKind, Priority, ServiceContract, ServicePlan, Targets,
    Terms,
};
use super::coverage::{CoverageCommand, CoverageError, CoverageSpan, UnitCoverage};
use super::customer::{Customer, CustomerCommand, Substitute, TargetGroup};
use super::events::ServiceEvent;
use super::model::{Model, ModelCommand, ModelState};
use super::parts::{Location, PartCommand, PartsSupply};
use super::personal_data::{PersonalData, PersonalDataRecord};
use super::policy_log::{PolicyFailure, PolicyLog};
use super::product::{Product, ProductCommand};
use super::registration::Registration;
use super::technician::{Technician, TechnicianCommand, TechnicianError};
use super::values::{ContractId, CustomerId, ProductId, WarrantyTerms};
use crate::directory::Directory;
use crate::error::{Reference, ServiceError};
use crate::kernel::{
    derived_uuid, Causation, CheckpointStore, CommandContext, CommandId, Decider, EventId,
    EventStore, ExecuteError, Executed, InvalidStreamId, Repository, StreamId,
};
use crate::kernel::{MemoryVault, Vault};
use followers::Followers;

/// The name under which the policies keep, in the store's own checkpoints, the position of the
/// global log they have reacted to, and with it the directory as of that position (so opening
/// the application folds only what came after it).
pub const POLICY_CHECKPOINT: &str = "service-lifecycle.policies";

/// About how many bytes of folded aggregate states the application keeps in memory, by default
/// (shared out among its repositories).
pub const DEFAULT_STATE_CACHE_BYTES: usize = 64 * 1024 * 1024;

/// How many repositories share the state cache's bytes.
const CACHED_REPOSITORIES: usize = 7;

/// When the policies run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PolicyMode {
    /// Before each command returns, the policies are driven to the head of the log, so the
    /// caller sees the command's consequences (the default).
    #[default]
    Inline,
    /// Commands return as soon as they are recorded; the application drives the policies with
    /// [`ServiceLifecycle::process_policies`], from a background thread or task.
    Background,
}

/// How a [`ServiceLifecycle`] is opened: the personal-data vault, the service plans, when the
/// policies run and how much memory the cached states may take. Made by [`ServiceLifecycle::builder`].
pub struct ServiceBuilder<S> {
    store: S,
    personal_data: Arc<dyn Vault>,
    plans: Arc<dyn Fn(&TargetGroup) -> ServicePlan + Send + Sync>,
    policies: PolicyMode,
    state_cache: usize,
}

impl<S> std::fmt::Debug for ServiceBuilder<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceBuilder")
            .field("policies", &self.policies)
            .field("state_cache_bytes", &self.state_cache)
            .finish_non_exhaustive()
    }
}

impl<S: EventStore<ServiceEvent> + CheckpointStore + Clone> ServiceBuilder<S> {
    /// Keeps personal data in `vault` (the sled or PostgreSQL store, say) instead of memory.
    pub fn personal_data(mut self, vault: impl Vault + 'static) -> Self {
        self.personal_data = Arc::new(vault);
        self
    }

    /// Chooses each target group's service plan with `plans` (by default [`default_plan`]).
    pub fn plans(
        mut self,
        plans: impl Fn(&TargetGroup) -> ServicePlan + Send + Sync + 'static,
    ) -> Self {
        self.plans = Arc::new(plans);
        self
    }

    /// When the policies run (by default [`PolicyMode::Inline`]).
    pub fn policies(mut self, mode: PolicyMode) -> Self {
        self.policies = mode;
        self
    }

    /// About how many bytes of folded aggregate states to keep in memory, over all the
    /// aggregates (by [`Decider::state_size`]'s estimates; 0 keeps none). By default
    /// [`DEFAULT_STATE_CACHE_BYTES`](crate::DEFAULT_STATE_CACHE_BYTES). A command on a state that was evicted folds its stream
    /// again; nothing else changes.
    pub fn state_cache_bytes(mut self, bytes: usize) -> Self {
        self.state_cache = bytes;
        self
    }

    /// Opens the application: loads the directory saved with the policies' checkpoint (or
    /// folds it from the log when none was saved), reads the log after it, and completes every
    /// policy reaction that was pending (a process that stopped between a command and its
    /// policies, or a policy command that failed for a reason a retry can mend). Whatever the
    /// mode, opening returns with the policies at the head.
    pub fn open(self) -> Result<ServiceLifecycle<S>, ServiceError> {
        fn repository<D: Decider, S: EventStore<ServiceEvent> + CheckpointStore + Clone>(
            store: &S,
            bytes: usize,
        ) -> Repository<D, ServiceEvent, S>
        where
            ServiceEvent: crate::kernel::Contains<D::Event>,
        {
            Repository::new(store.clone()).with_state_cache_bytes(bytes)
        }
        let share = self.state_cache / CACHED_REPOSITORIES;
        let followers = Followers::resuming_from(&self.store)?;
        let service = ServiceLifecycle {
            products: repository(&self.store, share),
            customers: repository(&self.store, share),
            contracts: repository(&self.store, share),
            parts: repository(&self.store, share),
            technicians: repository(&self.store, share),
            models: repository(&self.store, share),
            coverage: repository(&self.store, share),
            policy_log: Repository::new(self.store.clone()).with_state_cache(1),
            personal_data: self.personal_data,
            plans: self.plans,
            mode: self.policies,
            followers: Mutex::new(followers),
            store: self.store,
        };
        service.save_checkpoint()?;
        Ok(service)
    }
}

/// The service-lifecycle application over a store of [`ServiceEvent`]s: what an application
/// embeds. One call per aggregate command ([`model`](Self::model) for the catalogue,
/// [`product`](Self::product), [`customer`](Self::customer), [`contract`](Self::contract),
/// [`part`](Self::part), [`technician`](Self::technician)), plus [`register_customer`](Self::register_customer) and
/// [`erase_customer`](Self::erase_customer) for personal data and [`run_daily`](Self::run_daily)
/// for the policies a date triggers.
///
/// # What it checks
/// - **References.** A command that names another entity (customer, unit, model, part,
///   technician, contract, call) is refused with [`ServiceError::Unknown`] naming the missing
///   one, before anything is written. An erased customer is still a customer.
/// - **Rules across aggregates**, each kept by the aggregate that owns it, so that of two
///   commands racing (threads, or processes sharing a store) at most one passes: a unit never
///   has two contracts at once (S1) because a proposal first claims the unit's days in its
///   [`UnitCoverage`] stream, and a technician is dispatched only while certified (T2) because
///   the dispatch is first recorded as an assignment on the technician, whose state the
///   certification lives in. Each append carries the version it decided on, so a concurrent
///   change makes it decide again.
///
/// # Policies
/// Policies are process managers: they read the global log from a checkpoint kept in the store
/// ([`POLICY_CHECKPOINT`]) and issue commands. Each reaction's command id is derived from the
/// triggering event's id, so running a policy again over the same events issues nothing new,
/// also when two processes run it at once; every command a policy issues carries the trigger's
/// correlation id and is caused by it. A policy command the rules refuse is recorded in the
/// [`PolicyLog`] ([`policy_failures`](Self::policy_failures)); one that fails for another reason
/// (the store, a lost race) is retried with a bounded backoff and, if it still fails, stays
/// pending: the next command, [`process_policies`](Self::process_policies) or opening the
/// application completes it.
///
/// - **Unit sold** → the customer records the purchase (an accountable or higher customer gets a
///   follow-up obligation, decided by the Customer aggregate).
/// - **Warranty started** → a Warranty contract covering the unit for the warranty period is
///   proposed and activated.
/// - **Technician dispatched** with parts → the parts are reserved; **call resolved** → the parts
///   reserved for it are issued.
/// - **Model discontinued** in the catalogue, or on one part → every (other) part the model uses
///   gets the discontinuation; a part registered later for a discontinued model gets it too.
/// - **Contract cancelled or expired** → its units' days are released.
/// - **Warranty ending within N days** (a date, not an event: [`ServiceLifecycle::run_daily`]) → a
///   proactive or partnership customer gets an outreach obligation offering a post-warranty
///   contract.
///
/// # Example
/// A model in the catalogue, a customer, a unit received and prepared, then sold: the warranty
/// starts, and the policy opens its contract.
///
/// ```
/// use service_lifecycle_core::kernel::{CommandContext, MemoryStore};
/// use service_lifecycle_core::testing::scenario::washing_machine;
/// use service_lifecycle_core::testing::time::{eur_cents, scenario_day as day};
/// use service_lifecycle_core::*;
///
/// let service = ServiceLifecycle::new(MemoryStore::new())?;
/// let context = CommandContext::new();
/// let model = ModelId::new();
/// let details = washing_machine("WM-7 washing machine");
/// service.model(ModelCommand::Introduce { model, details, at: day(0) }, &context)?;
/// let customer = CustomerId::new();
/// let anna = PersonalData::new("Anna Petrova", "+7 900 000 00 00");
/// service.register_customer(Registration::new(customer, anna, day(0)), &context)?;
/// let serial = SerialNumber::new("WM-1001")?;
/// let product = ProductId::of(model, &serial);
/// service.product(ProductCommand::ReceiveUnit { model, serial, at: day(1) }, &context)?;
/// service.product(ProductCommand::Commission { product, at: day(1) }, &context)?;
/// let notes = "quiet".to_owned();
/// service.product(ProductCommand::RecordTestRun { product, passed: true, notes, at: day(1) }, &context)?;
/// let sold = service.product(
///     ProductCommand::Sell {
///         product,
///         customer,
///         price: eur_cents(49_900),
///         packaging: "box".into(),
///         // Two years from installation, the model's terms, would never start: this sale
///         // gives terms of its own.
///         warranty: WarrantyTerms { months: 12, starts: WarrantyStart::OnSale },
///         services: AfterSaleServices::default(),
///         at: day(2),
///     },
///     &context,
/// )?;
/// assert!(sold.state.warranty.is_some());
/// assert_eq!(service.directory(|d| d.contracts_by_unit[&product].len()), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ServiceLifecycle<S> {
    store: S,
    products: Repository<Product, ServiceEvent, S>,
    customers: Repository<Customer, ServiceEvent, S>,
    contracts: Repository<ServiceContract, ServiceEvent, S>,
    parts: Repository<PartsSupply, ServiceEvent, S>,
    technicians: Repository<Technician, ServiceEvent, S>,
    models: Repository<Model, ServiceEvent, S>,
    coverage: Repository<UnitCoverage, ServiceEvent, S>,
    policy_log: Repository<PolicyLog, ServiceEvent, S>,
    personal_data: Arc<dyn Vault>,
    plans: Arc<dyn Fn(&TargetGroup) -> ServicePlan + Send + Sync>,
    mode: PolicyMode,
    followers: Mutex<Followers>,
}

impl<S> std::fmt::Debug for ServiceLifecycle<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceLifecycle")
            .field("policies", &self.mode)
            .finish_non_exhaustive()
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

/// How to undo one claim: what the contract held of the unit before it (nothing, or the span
/// a renewal extended).
struct Undo {
    unit: ProductId,
    contract: ContractId,
    before: Option<CoverageSpan>,
}

/// The context of a command the facade issues on behalf of the caller's command (a coverage
/// claim, a technician's assignment): in the caller's chain, with an id derived from the
/// caller's command id and `purpose`, so a retry of the caller's command issues the same one.
fn on_behalf_of(context: &CommandContext, purpose: &str) -> CommandContext {
    CommandContext {
        command_id: context
            .command_id
            .map(|id| CommandId::from_uuid(derived_uuid(id.as_uuid(), purpose.as_bytes()))),
        causation: context
            .causation
            .or_else(|| context.command_id.map(Causation::of_command)),
        metadata: context.metadata.clone(),
    }
}

impl<S: EventStore<ServiceEvent> + CheckpointStore + Clone> ServiceLifecycle<S> {
    /// The application over `store` with the defaults: personal data in memory, the
    /// [`default_plan`], policies inline. [`builder`](Self::builder) chooses otherwise.
    pub fn new(store: S) -> Result<Self, ServiceError> {
        Self::builder(store).open()
    }

    /// Starts choosing how the application over `store` is opened.
    pub fn builder(store: S) -> ServiceBuilder<S> {
        ServiceBuilder {
            store,
            personal_data: Arc::new(MemoryVault::new()),
            plans: Arc::new(default_plan),
            policies: PolicyMode::Inline,
            state_cache: DEFAULT_STATE_CACHE_BYTES,
        }
    }

    /// The store underneath.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Reads the directory as the policies last left it (at the head, in the inline mode).
    pub fn directory<R>(&self, read: impl FnOnce(&Directory) -> R) -> R {
        read(
            &self
                .followers
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .directory,
        )
    }

    /// Looks something up in the directory (`find` answers `None` when it is not there); when it
    /// is not there yet, drives the policies to the head of the log first and looks again: the
    /// directory lags the store in the background mode, or behind another process's writes.
    pub fn find_in_directory<R>(
        &self,
        find: impl Fn(&Directory) -> Option<R>,
    ) -> Result<Option<R>, ServiceError> {
        if let Some(found) = self.directory(&find) {
            return Ok(Some(found));
        }
        self.process_policies()?;
        Ok(self.directory(&find))
    }

    /// The service plan of `customer`'s target group (S2), as the plans function chooses it; the
    /// plan of households for a customer the directory does not know.
    pub fn plan_for(&self, customer: CustomerId) -> ServicePlan {
        let target_group =
            self.directory(|directory| directory.target_groups.get(&customer).cloned());
        (self.plans)(&target_group.unwrap_or(TargetGroup::Household))
    }

    /// The policy commands the rules refused, oldest first, as the policy log in the store
    /// holds them (every process sharing the store sees the same list).
    pub fn policy_failures(&self) -> Result<Vec<PolicyFailure>, ServiceError> {
        let mut failures = Vec::new();
        for stored in self.store.read_stream(&PolicyLog::stream_id()?, 1)? {
            if let ServiceEvent::Policy(event) = &stored?.event {
                failures.push(PolicyFailure::from(event));
            }
        }
        Ok(failures)
    }

    /// A customer's personal data, unless erased.
    pub fn personal_data(
        &self,
        customer: CustomerId,
    ) -> Result<Option<PersonalData>, ServiceError> {
        Ok(PersonalDataRecord::of(&*self.personal_data, customer).get()?)
    }

    /// Runs a catalogue command (M1-M3): introduce a model with its master data, revise it,
    /// discontinue it (its parts then get the discontinuation, R3).
    ///
    /// ```
    /// use service_lifecycle_core::kernel::MemoryStore;
    /// use service_lifecycle_core::testing::scenario::{no_context, world_on};
    /// use service_lifecycle_core::testing::time::scenario_day as day;
    /// use service_lifecycle_core::{ModelCommand, ServiceError, ModelError};
    /// use service_lifecycle_core::kernel::ExecuteError;
    ///
    /// let world = world_on(MemoryStore::new()); // its model is in the catalogue
    /// let discontinue = |at| ModelCommand::Discontinue {
    ///     model: world.model,
    ///     guarantee_years: 10,
    ///     last_order_date: day(400).date_naive(),
    ///     at,
    /// };
    /// world.service.model(discontinue(day(30)), &no_context())?;
    /// let again = world.service.model(discontinue(day(31)), &no_context()).unwrap_err();
    /// assert!(matches!(
    ///     again,
    ///     ServiceError::Model(ExecuteError::Rejected(ModelError::AlreadyDiscontinued { .. }))
    /// ));
    /// # Ok::<(), ServiceError>(())
    /// ```
    pub fn model(
        &self,
        command: ModelCommand,
        context: &CommandContext,
    ) -> Result<Executed<Model>, ServiceError> {
        let executed = execute(
            &self.models,
            Model::stream_id(command.model()),
            &command,
            context,
        )?;
        self.after_command()?;
        Ok(executed)
    }

    /// A model as the catalogue holds it (its master data and discontinuation); `None` when it
    /// was never introduced.
    pub fn catalogue_entry(
        &self,
        model: crate::values::ModelId,
    ) -> Result<Option<ModelState>, ServiceError> {
        let loaded = self
            .models
            .load(&Model::stream_id(model)?)
            .map_err(ExecuteError::<super::model::ModelError>::from)?;
        Ok(loaded
            .state
            .model
            .is_some()
            .then(|| ModelState::clone(&loaded.state)))
    }

    /// The warranty a unit is sold with by default: the terms its model has in the catalogue
    /// (P4), `None` for a unit of a model the catalogue does not hold, or a unit never received.
    pub fn warranty_of(&self, unit: ProductId) -> Result<Option<WarrantyTerms>, ServiceError> {
        let loaded = self
            .products
            .load(&Product::stream_id(unit)?)
            .map_err(ExecuteError::<super::product::ProductError>::from)?;
        let Some(model) = loaded.state.model else {
            return Ok(None);
        };
        Ok(self
            .catalogue_entry(model)?
            .and_then(|entry| entry.details)
            .map(|details| details.warranty))
    }

    /// Runs a Product command on a unit that was received (unless it receives one): a sale or a
    /// modernization names a customer, who must exist. A sale carries its warranty terms: the
    /// model's from the catalogue ([`warranty_of`](Self::warranty_of)) or its own (P4). A unit
    /// may be of a model the catalogue does not hold (yet): the reports then show the model by
    /// its id.
    ///
    /// ```
    /// use service_lifecycle_core::kernel::MemoryStore;
    /// use service_lifecycle_core::testing::scenario::{no_context, world_on};
    /// use service_lifecycle_core::testing::time::scenario_day as day;
    /// use service_lifecycle_core::{DamageSeverity, ProductCommand, ProductStatus};
    ///
    /// let world = world_on(MemoryStore::new());
    /// world.receive_and_commission_on_day_1();
    /// let damage = ProductCommand::RecordTransportDamage {
    ///     product: world.product,
    ///     description: "dented lid".into(),
    ///     severity: DamageSeverity::Cosmetic,
    ///     at: day(1),
    /// };
    /// let damaged = world.service.product(damage, &no_context())?;
    /// // Open damage keeps the unit from sale (P3).
    /// assert_ne!(damaged.state.status(), Some(ProductStatus::ReadyForSale));
    /// # Ok::<(), service_lifecycle_core::ServiceError>(())
    /// ```
    pub fn product(
        &self,
        command: ProductCommand,
        context: &CommandContext,
    ) -> Result<Executed<Product>, ServiceError> {
        if !matches!(command, ProductCommand::ReceiveUnit { .. }) {
            self.require_unit(command.product())?;
        }
        match &command {
            ProductCommand::Sell { customer, .. } => self.require_customer(*customer)?,
            ProductCommand::Modernize { requested_by, .. } => {
                self.require_customer(*requested_by)?;
            }
            _ => {}
        }
        let executed = execute(
            &self.products,
            Product::stream_id(command.product()),
            &command,
            context,
        )?;
        self.after_command()?;
        Ok(executed)
    }

    /// Runs a Customer command. A purchase, demonstration or offer names units and models,
    /// which must exist, and a substitute is offered only when the requested model has no unit
    /// ready for sale (C5). Registration and erasure of personal data go through
    /// [`register_customer`](Self::register_customer) and
    /// [`erase_customer`](Self::erase_customer).
    ///
    /// ```
    /// use service_lifecycle_core::kernel::MemoryStore;
    /// use service_lifecycle_core::testing::scenario::{no_context, world_on};
    /// use service_lifecycle_core::testing::time::scenario_day as day;
    /// use service_lifecycle_core::CustomerCommand;
    ///
    /// let world = world_on(MemoryStore::new());
    /// world.setup_customer_technician_and_parts(); // an accountable household
    /// let inquiry = CustomerCommand::LogInquiry {
    ///     customer: world.customer,
    ///     topic: "which programme for wool".into(),
    ///     at: day(3),
    /// };
    /// let logged = world.service.customer(inquiry, &no_context())?;
    /// assert_eq!(logged.state.inquiries.len(), 1);
    /// # Ok::<(), service_lifecycle_core::ServiceError>(())
    /// ```
    pub fn customer(
        &self,
        command: CustomerCommand,
        context: &CommandContext,
    ) -> Result<Executed<Customer>, ServiceError> {
        if !matches!(command, CustomerCommand::Register { .. }) {
            self.require_customer(command.customer())?;
        }
        match &command {
            CustomerCommand::RecordPurchase { product, .. }
            | CustomerCommand::ScheduleWarrantyOutreach { product, .. } => {
                self.require_unit(*product)?;
            }
            CustomerCommand::RecordDemonstration { model, .. }
            | CustomerCommand::OfferRelatedProduct { model, .. } => self.require_model(*model)?,
            CustomerCommand::OfferSubstitute {
                requested, offered, ..
            } => {
                self.require_model(*requested)?;
                match offered {
                    Substitute::Model(model) => self.require_model(*model)?,
                    Substitute::Unit(unit) => self.require_unit(*unit)?,
                }
                if let Some(unit) =
                    self.directory(|directory| directory.ready_units(*requested).next())
                {
                    return Err(ServiceError::RequestedModelAvailable {
                        model: *requested,
                        unit,
                    });
                }
            }
            _ => {}
        }
        let executed = execute(
            &self.customers,
            Customer::stream_id(command.customer()),
            &command,
            context,
        )?;
        self.after_command()?;
        Ok(executed)
    }

    /// Runs a PartsSupply command: a reservation names a call, and a van a technician, which
    /// must exist (the models a registration names may be ones no unit has arrived of yet).
    ///
    /// ```
    /// use service_lifecycle_core::kernel::MemoryStore;
    /// use service_lifecycle_core::testing::scenario::{no_context, world_on};
    /// use service_lifecycle_core::testing::time::scenario_day as day;
    /// use service_lifecycle_core::{Location, PartCommand};
    ///
    /// let world = world_on(MemoryStore::new());
    /// world.setup_customer_technician_and_parts(); // two pumps in stock
    /// let delivery = PartCommand::ReceiveStock {
    ///     part: world.pump.clone(),
    ///     location: Location::CentralWarehouse,
    ///     quantity: 3,
    ///     at: day(2),
    /// };
    /// let stocked = world.service.part(delivery, &no_context())?;
    /// assert_eq!(stocked.state.available(), 5);
    /// # Ok::<(), service_lifecycle_core::ServiceError>(())
    /// ```
    pub fn part(
        &self,
        command: PartCommand,
        context: &CommandContext,
    ) -> Result<Executed<PartsSupply>, ServiceError> {
        if !matches!(command, PartCommand::RegisterPart { .. }) {
            self.require_part(command.part())?;
        }
        let mut locations = Vec::new();
        match &command {
            PartCommand::Reserve { call, location, .. } => {
                self.require_call(*call)?;
                locations.push(location);
            }
            PartCommand::ReceiveStock { location, .. } => locations.push(location),
            PartCommand::Transfer { from, to, .. } => locations.extend([from, to]),
            _ => {}
        }
        for location in locations {
            if let Location::Van(technician) = location {
                self.require_technician(*technician)?;
            }
        }
        let executed = execute(
            &self.parts,
            PartsSupply::stream_id(command.part()),
            &command,
            context,
        )?;
        self.after_command()?;
        Ok(executed)
    }

    /// Runs a Technician command on a hired technician (unless it hires one): an assignment
    /// names a call, which must exist. A certification names a model without that check: staff
    /// are trained before the first unit of a model arrives, and before it is in the catalogue.
    ///
    /// ```
    /// use service_lifecycle_core::kernel::MemoryStore;
    /// use service_lifecycle_core::testing::scenario::{no_context, world_on};
    /// use service_lifecycle_core::testing::time::scenario_day as day;
    /// use service_lifecycle_core::{TechnicianCommand, TechnicianId};
    ///
    /// let world = world_on(MemoryStore::new());
    /// let olga = TechnicianId::new();
    /// let service = &world.service;
    /// service.technician(TechnicianCommand::Hire { technician: olga, at: day(0) }, &no_context())?;
    /// service.technician(TechnicianCommand::RecordName { technician: olga, name: "Olga".into(), at: day(0) }, &no_context())?;
    /// service.technician(TechnicianCommand::CompleteStandardsTraining { technician: olga, at: day(1) }, &no_context())?;
    /// let until = day(365).date_naive();
    /// let certify = TechnicianCommand::Certify { technician: olga, model: world.model, until, at: day(1) };
    /// let certified = service.technician(certify, &no_context())?;
    /// assert!(certified.state.certified_for(world.model, day(100).date_naive()));
    /// # Ok::<(), service_lifecycle_core::ServiceError>(())
    /// ```
    pub fn technician(
        &self,
        command: TechnicianCommand,
        context: &CommandContext,
    ) -> Result<Executed<Technician>, ServiceError> {
        if !matches!(command, TechnicianCommand::Hire { .. }) {
            self.require_technician(command.technician())?;
        }
        if let TechnicianCommand::AssignToCall { call, .. } = &command {
            self.require_call(*call)?;
        }
        let executed = execute(
            &self.technicians,
            Technician::stream_id(command.technician()),
            &command,
            context,
        )?;
        self.after_command()?;
        Ok(executed)
    }

    /// Runs a ServiceContract command, checking first what needs other aggregates. A call on a
    /// unit sold under warranty, for instance:
    ///
    /// ```
    /// use service_lifecycle_core::kernel::MemoryStore;
    /// use service_lifecycle_core::testing::scenario::{no_context, world_on};
    /// use service_lifecycle_core::testing::time::scenario_day as day;
    /// use service_lifecycle_core::{CallId, CallKind, ContractCommand, Priority};
    ///
    /// let world = world_on(MemoryStore::new());
    /// world.setup_customer_technician_and_parts();
    /// world.prepare_and_sell(); // the warranty contract is opened by a policy
    /// let call = CallId::new();
    /// let open = ContractCommand::OpenCall {
    ///     contract: world.warranty_contract(),
    ///     call,
    ///     unit: world.product,
    ///     priority: Priority::High,
    ///     kind: CallKind::Breakdown,
    ///     at: day(10),
    /// };
    /// let opened = world.service.contract(open, &no_context())?;
    /// assert!(opened.state.calls.contains_key(&call));
    /// # Ok::<(), service_lifecycle_core::ServiceError>(())
    /// ```
    ///
    /// What it checks: a proposal
    /// names a customer and units that must exist, and claims the units' days (S1: no two
    /// contracts at once), a post-warranty proposal's warranty ends are filled in from the
    /// units; a renewal claims the further days; a call names a unit; a dispatch names a
    /// technician (certified for the unit's model that day, T2) and parts; a resolution names
    /// parts.
    pub fn contract(
        &self,
        mut command: ContractCommand,
        context: &CommandContext,
    ) -> Result<Executed<ServiceContract>, ServiceError> {
        if !matches!(command, ContractCommand::Propose { .. }) {
            self.require_contract(command.contract())?;
        }
        match &mut command {
            ContractCommand::Propose {
                terms,
                warranty_ends,
                ..
            } => {
                self.require_customer(terms.customer)?;
                for unit in &terms.units {
                    self.require_unit(*unit)?;
                }
                self.refuse_known_overlap(terms)?;
                if terms.kind == ContractKind::PostWarranty {
                    for unit in &terms.units {
                        let product = self
                            .products
                            .load(&Product::stream_id(*unit)?)
                            .map_err(ExecuteError::<super::product::ProductError>::from)?;
                        if let Some(warranty) = product.state.warranty {
                            warranty_ends.entry(*unit).or_insert(warranty.until);
                        }
                    }
                }
            }
            ContractCommand::OpenCall { unit, .. } => self.require_unit(*unit)?,
            ContractCommand::Dispatch {
                technician, parts, ..
            } => {
                self.require_technician(*technician)?;
                for (part, _) in parts.iter() {
                    self.require_part(part)?;
                }
            }
            ContractCommand::Resolve { parts, .. } => {
                for (part, _) in parts.iter() {
                    self.require_part(part)?;
                }
            }
            _ => {}
        }
        let executed = self.execute_contract(&command, context)?;
        self.after_command()?;
        Ok(executed)
    }

    /// Runs a contract command with the rules other aggregates own: a proposal claims its units'
    /// days in their coverage streams first (S1), a renewal claims the further days, and a
    /// dispatch is first recorded as the technician's assignment (T2). The policies come here
    /// too, so a warranty contract keeps S1 like any other.
    fn execute_contract(
        &self,
        command: &ContractCommand,
        context: &CommandContext,
    ) -> Result<Executed<ServiceContract>, ServiceError> {
        let stream = ServiceContract::stream_id(command.contract())?;
        let touches_others = matches!(
            command,
            ContractCommand::Propose { .. }
                | ContractCommand::Renew { .. }
                | ContractCommand::Dispatch { .. }
        );
        // A retry of a command recorded already goes straight to the repository, which
        // recognises it; only the commands that touch other aggregates pay for the lookup.
        let done_before = touches_others
            && match context.command_id {
                Some(id) => self.store.find_event(EventId::derived(id, 0))?.is_some(),
                None => false,
            };
        if touches_others && !done_before {
            // Decided first, so a command the contract refuses changes no other aggregate.
            let state = self
                .contracts
                .load(&stream)
                .map_err(ExecuteError::<ContractError>::from)?
                .state;
            ServiceContract::decide(&state, command).map_err(ExecuteError::Rejected)?;
            match command {
                ContractCommand::Propose { terms, at, .. } => {
                    let undo = self.claim_units(terms, terms.end, *at, context, false)?;
                    return self.execute_or_undo(&stream, command, context, undo, *at);
                }
                ContractCommand::Renew { until, at, .. } => {
                    if let Some(terms) = &state.terms {
                        let undo = self.claim_units(terms, *until, *at, context, true)?;
                        return self.execute_or_undo(&stream, command, context, undo, *at);
                    }
                }
                ContractCommand::Dispatch {
                    call,
                    technician,
                    at,
                    ..
                } => {
                    let unit = state.calls.get(call).map(|call| call.unit).ok_or(
                        ServiceError::Unknown {
                            missing: Reference::Call(*call),
                        },
                    )?;
                    let model = self
                        .products
                        .load(&Product::stream_id(unit)?)
                        .map_err(ExecuteError::<super::product::ProductError>::from)?
                        .state
                        .model
                        .ok_or(ServiceError::Unknown {
                            missing: Reference::Unit(unit),
                        })?;
                    let assignment = TechnicianCommand::AssignToCall {
                        technician: *technician,
                        call: *call,
                        model,
                        at: *at,
                    };
                    match self.technicians.execute(
                        &Technician::stream_id(*technician)?,
                        &assignment,
                        &on_behalf_of(context, "technician assignment"),
                    ) {
                        Err(ExecuteError::Rejected(TechnicianError::NotCertifiedOn {
                            technician,
                            model,
                            date,
                        })) => {
                            return Err(ServiceError::NotCertified {
                                technician,
                                model,
                                date,
                            })
                        }
                        other => drop(other?),
                    }
                }
                _ => {}
            }
        }
        Ok(self.contracts.execute(&stream, command, context)?)
    }

    /// Runs the contract command whose claims `undo` undoes, undoing them when the command
    /// fails (the store, or a proposal of the same contract that raced this one).
    fn execute_or_undo(
        &self,
        stream: &StreamId,
        command: &ContractCommand,
        context: &CommandContext,
        undo: Vec<Undo>,
        at: DateTime<Utc>,
    ) -> Result<Executed<ServiceContract>, ServiceError> {
        match self.contracts.execute(stream, command, context) {
            Ok(executed) => Ok(executed),
            Err(error) => {
                self.undo_claims(undo, at);
                Err(error.into())
            }
        }
    }

    /// S1: claims `terms.start..=end` of every unit of `terms` for its contract, in the order of
    /// the units, and returns how to undo what this call changed. If one is refused, undoes the
    /// others and refuses with the contract that holds the days. `renewal` claims for a renewal
    /// (the contract holds the units already, with an earlier end).
    fn claim_units(
        &self,
        terms: &Terms,
        end: NaiveDate,
        at: DateTime<Utc>,
        context: &CommandContext,
        renewal: bool,
    ) -> Result<Vec<Undo>, ServiceError> {
        let mut undo = Vec::new();
        for unit in &terms.units {
            let span = CoverageSpan {
                start: terms.start,
                end,
            };
            match self.claim_unit(*unit, terms.contract, span, at, context, renewal) {
                Ok(Some(step)) => undo.push(step),
                Ok(None) => {}
                Err(error) => {
                    self.undo_claims(undo, at);
                    return Err(match error {
                        ServiceError::Coverage(ExecuteError::Rejected(
                            CoverageError::Overlaps {
                                unit,
                                contract,
                                start,
                                end,
                            },
                        )) => ServiceError::UnitHasContract {
                            unit,
                            contract,
                            start,
                            end,
                        },
                        other => other,
                    });
                }
            }
        }
        Ok(undo)
    }

    /// Claims `span` of `unit` for `contract`; returns how to undo it when this call changed the
    /// unit's coverage. A claim recognised as done before (the caller's command retried) is
    /// checked against the coverage as it is now: if the claim was undone since, it is made
    /// again under a new id.
    fn claim_unit(
        &self,
        unit: ProductId,
        contract: ContractId,
        span: CoverageSpan,
        at: DateTime<Utc>,
        context: &CommandContext,
        renewal: bool,
    ) -> Result<Option<Undo>, ServiceError> {
        let stream = UnitCoverage::stream_id(unit)?;
        let before = self
            .coverage
            .load(&stream)
            .map_err(ExecuteError::<CoverageError>::from)?
            .state
            .claims
            .get(&contract)
            .copied();
        let command = CoverageCommand::Claim {
            unit,
            contract,
            start: span.start,
            end: span.end,
            at,
            renewal,
        };
        let purpose = format!("coverage claim {unit} until {}", span.end);
        let mut executed =
            self.coverage
                .execute(&stream, &command, &on_behalf_of(context, &purpose))?;
        if executed.replayed && executed.state.claims.get(&contract) != Some(&span) {
            let again = CommandContext {
                command_id: None,
                ..on_behalf_of(context, &purpose)
            };
            executed = self.coverage.execute(&stream, &command, &again)?;
        }
        let changed = !executed.events.is_empty() && !executed.replayed;
        Ok(changed.then_some(Undo {
            unit,
            contract,
            before,
        }))
    }

    /// Undoes claims this call made, best effort (a claim left behind holds days until the
    /// contract's proposal is retried or cancelled, and is never lost).
    fn undo_claims(&self, undo: Vec<Undo>, at: DateTime<Utc>) {
        for step in undo.into_iter().rev() {
            let command = match step.before {
                Some(span) => CoverageCommand::Claim {
                    unit: step.unit,
                    contract: step.contract,
                    start: span.start,
                    end: span.end,
                    at,
                    renewal: true,
                },
                None => CoverageCommand::Release {
                    unit: step.unit,
                    contract: step.contract,
                    at,
                },
            };
            if let Ok(stream) = UnitCoverage::stream_id(step.unit) {
                let _ = self
                    .coverage
                    .execute(&stream, &command, &CommandContext::new());
            }
        }
    }

    /// C1: registers a customer, keeping the name and contact in the personal-data vault.
    ///
    /// The two cannot be separated by a crash into a registered customer without personal
    /// data: the record is stored first, then the registration. A crash or a failing store
    /// between the two leaves a record nobody refers to, which the same registration again
    /// (the same command id) completes; a customer registered already keeps the record it has.
    pub fn register_customer(
        &self,
        registration: Registration,
        context: &CommandContext,
    ) -> Result<Executed<Customer>, ServiceError> {
        let customer = registration.customer;
        let stream = Customer::stream_id(customer)?;
        let command = registration.command();
        if self.store.stream_version(&stream)? == 0 {
            // Decided first, so a registration the rules refuse leaves no record behind.
            Customer::decide(&Default::default(), &command).map_err(ExecuteError::Rejected)?;
            PersonalDataRecord::of(&*self.personal_data, customer)
                .put(&registration.personal_data)?;
        }
        self.customer(command, context)
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
        PersonalDataRecord::of(&*self.personal_data, customer).erase()?;
        Ok(executed)
    }

    /// The daily policy: every unit whose warranty ends within `within_days` of `as_of` gets, for a
    /// proactive or partnership owner, an outreach obligation to offer a post-warranty contract by
    /// the warranty's end. Idempotent per unit and warranty, so running it again the same day, or
    /// from two processes at once, schedules each outreach once. Returns how many outreaches
    /// this call recorded (two calls racing for the same one may both count it; the customer
    /// holds it once).
    pub fn run_daily(&self, as_of: NaiveDate, within_days: u32) -> Result<usize, ServiceError> {
        self.process_policies()?;
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
        self.after_command()?;
        Ok(scheduled)
    }

    /// Drives the policies to the head of the log: folds every new event into the directory and
    /// runs the reactions it calls for, then saves the checkpoint now and then. Returns how many
    /// events it read. Inline, every command does this before it returns; in the background
    /// mode the application calls it (from one thread or task; calls from several wait for each
    /// other).
    pub fn process_policies(&self) -> Result<u64, ServiceError> {
        let mut followers = self
            .followers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        followers.catch_up(self)
    }

    /// Drives the policies to the head and saves the directory with their checkpoint now, so
    /// the next opening folds nothing. The application saves both when it opens and every
    /// 65,536 events or more (spaced by what the last save took, so that saving a large
    /// directory costs each event at most about 100 ns); call this on a clean shutdown.
    pub fn save_checkpoint(&self) -> Result<(), ServiceError> {
        self.process_policies()?;
        self.followers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .save_checkpoint(&self.store)
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
            *followers = Followers::resuming_after(0);
        }
        self.process_policies()?;
        Ok(self.store.head_position()? - head)
    }

    /// What every command does after it is recorded: in the inline mode, drive the policies.
    fn after_command(&self) -> Result<(), ServiceError> {
        match self.mode {
            PolicyMode::Inline => self.process_policies().map(drop),
            PolicyMode::Background => Ok(()),
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
    ServiceEvent: crate::kernel::Contains<D::Event>,
    S: EventStore<ServiceEvent>,
    ServiceError: From<ExecuteError<D::Error>>,
{
    Ok(repository.execute(&stream?, command, context)?)
}

#[cfg(test)]
mod tests;
