//! The application facade: one call per command for an embedding application, with the policies
//! of §7 of `docs/domain.md` applied synchronously after each, so the caller sees a consistent result.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Datelike, NaiveDate, Utc};

use super::calendar::BusinessCalendar;
use super::contract::{
    ContractCommand, ContractKind, Priority, ServiceContract, ServicePlan, Targets, Terms,
};
use super::customer::{Customer, CustomerCommand, TargetGroup};
use super::events::ServiceEvent;
use super::parts::{PartCommand, PartsSupply};
use super::personal_data::{PersonalData, PersonalDataRecord};
use super::product::{Product, ProductCommand};
use super::technician::{Technician, TechnicianCommand, TechnicianError};
use super::values::{CustomerId, ProductId};
use crate::directory::Directory;
use crate::error::{PolicyFailure, ServiceError};
use crate::kernel::{
    Causation, CommandContext, CommandId, Decider, Envelope, EventId, EventStore, ExecuteError,
    Executed, InvalidStreamId, Projection, Repository, StreamId,
};
use crate::kernel::{MemoryVault, Vault};
use crate::policies::{policy_command_id, react_to, Reaction};

struct Followers {
    directory: Directory,
    position: u64,
}

/// How many aggregates' states each repository keeps folded in memory.
const STATE_CACHE: usize = 100_000;

/// How many events the policies read per page while catching up.
const FOLLOW_PAGE: usize = 1_024;

/// The service-lifecycle application over a store of [`ServiceEvent`]s: what an application
/// embeds. One call per aggregate command ([`product`](Self::product),
/// [`customer`](Self::customer), [`contract`](Self::contract), [`part`](Self::part),
/// [`technician`](Self::technician)), plus [`register_customer`](Self::register_customer) and
/// [`erase_customer`](Self::erase_customer) for personal data and [`run_daily`](Self::run_daily)
/// for the policies a date triggers. The rules that span aggregates are checked against the
/// [`Directory`] read model before a command is issued; the policies run after each command, so
/// the caller sees a consistent result.
///
/// # Policies
/// Policies are process managers: they read the global log (from a checkpoint) and issue commands.
/// Each reaction's command id is derived from the triggering event's id, so running a policy again
/// over the same events issues nothing new (the repository recognises the command), and a policy
/// rebuilt from position 0 converges to the same state. Every command a policy issues carries the
/// trigger's correlation id and is caused by the trigger.
///
/// - **Unit sold** → the customer records the purchase (an accountable or higher customer gets a
///   follow-up obligation, decided by the Customer aggregate).
/// - **Warranty started** → a Warranty contract covering the unit for the warranty period is
///   proposed and activated.
/// - **Technician dispatched** with parts → the parts are reserved; **call resolved** → the parts
///   reserved for it are issued.
/// - **Model discontinued** on one part → every other part the model uses gets the discontinuation.
/// - **Warranty ending within N days** (a date, not an event: [`ServiceLifecycle::run_daily`]) → a
///   proactive or partnership customer gets an outreach obligation offering a post-warranty
///   contract.
pub struct ServiceLifecycle<S> {
    store: S,
    products: Repository<Product, ServiceEvent, S>,
    customers: Repository<Customer, ServiceEvent, S>,
    contracts: Repository<ServiceContract, ServiceEvent, S>,
    parts: Repository<PartsSupply, ServiceEvent, S>,
    technicians: Repository<Technician, ServiceEvent, S>,
    personal_data: Arc<dyn Vault>,
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
            personal_data: Arc::new(MemoryVault::new()),
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

    /// Keeps personal data in `vault` (the sled store, say) instead of memory.
    pub fn with_personal_data(mut self, vault: impl Vault + 'static) -> Self {
        self.personal_data = Arc::new(vault);
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
        Ok(PersonalDataRecord::of(&*self.personal_data, customer).get()?)
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

    /// C1: registers a customer, keeping the name and contact in the personal-data vault.
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
        // The personal record goes first: a crash or a failing vault between the two leaves a
        // record without a registration (the same command again completes it, an erasure
        // removes it), never a registered customer whose name and contact are lost. A customer
        // registered already keeps the record it has.
        let stream = Customer::stream_id(customer)?;
        if self.store.stream_version(&stream)? == 0 {
            PersonalDataRecord::of(&*self.personal_data, customer).put(&personal)?;
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
    ServiceEvent: crate::kernel::Contains<D::Event>,
    S: EventStore<ServiceEvent>,
    ServiceError: From<ExecuteError<D::Error>>,
{
    Ok(repository.execute(&stream?, command, context)?)
}

#[cfg(test)]
mod tests;
