//! [`ServiceLifecycle::execute`]: any [`ServiceCommand`] through the call for its aggregate,
//! with the outcome in a form every command shares.

use super::ServiceLifecycle;
use crate::customer::{Customer, CustomerCommand};
use crate::error::ServiceError;
use crate::events::ServiceEvent;
use crate::kernel::{CheckpointStore, CommandContext, Decider, Event, EventStore, Executed};
use crate::model::Model;
use crate::parts::PartsSupply;
use crate::product::Product;
use crate::service_command::{CommandOutcome, ServiceCommand};
use crate::technician::Technician;
use crate::ServiceContract;

impl<S: EventStore<ServiceEvent> + CheckpointStore + Clone> ServiceLifecycle<S> {
    /// Runs `command` through the call for its aggregate ([`model`](Self::model),
    /// [`product`](Self::product), [`register_customer`](Self::register_customer), ...), with
    /// the same checks. A customer's registration or erasure given as a plain Customer command
    /// goes the way that keeps the personal data right: an erasure through
    /// [`erase_customer`](Self::erase_customer), and a registration, which would leave the
    /// customer without personal data, is refused.
    ///
    /// ```
    /// use service_lifecycle_core::kernel::{CommandContext, MemoryStore};
    /// use service_lifecycle_core::{CommandLine, ServiceLifecycle};
    ///
    /// let service = ServiceLifecycle::new(MemoryStore::new())?;
    /// let line: CommandLine = serde_json::from_str(
    ///     r#"{"id": "0190a5b4-0000-7000-8000-0000000000aa", "aggregate": "technician",
    ///         "command": {"Hire": {"technician": "0190a5b4-0000-7000-8000-000000000001",
    ///                              "at": "2026-03-01T09:00:00Z"}}}"#,
    /// )?;
    /// let context = CommandContext::with_command_id(line.id);
    /// let first = service.execute(line.command.clone(), &context)?;
    /// assert_eq!(first.events, ["technician.hired"]);
    /// // The same line again changes nothing.
    /// let again = service.execute(line.command, &context)?;
    /// assert!(again.replayed);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn execute(
        &self,
        command: ServiceCommand,
        context: &CommandContext,
    ) -> Result<CommandOutcome, ServiceError> {
        match command {
            ServiceCommand::Model(command) => {
                let stream = Model::stream_id(command.model())?;
                Ok(outcome(stream, self.model(command, context)?))
            }
            ServiceCommand::Product(command) => {
                let stream = Product::stream_id(command.product())?;
                Ok(outcome(stream, self.product(command, context)?))
            }
            ServiceCommand::RegisterCustomer(registration) => {
                let stream = Customer::stream_id(registration.customer)?;
                Ok(outcome(
                    stream,
                    self.register_customer(registration, context)?,
                ))
            }
            ServiceCommand::EraseCustomer { customer, at }
            | ServiceCommand::Customer(CustomerCommand::EraseData { customer, at }) => {
                let stream = Customer::stream_id(customer)?;
                Ok(outcome(stream, self.erase_customer(customer, at, context)?))
            }
            ServiceCommand::Customer(CustomerCommand::Register { customer, .. }) => {
                Err(ServiceError::RegistrationWithoutPersonalData { customer })
            }
            ServiceCommand::Customer(command) => {
                let stream = Customer::stream_id(command.customer())?;
                Ok(outcome(stream, self.customer(command, context)?))
            }
            ServiceCommand::Contract(command) => {
                let stream = ServiceContract::stream_id(command.contract())?;
                Ok(outcome(stream, self.contract(command, context)?))
            }
            ServiceCommand::Part(command) => {
                let stream = PartsSupply::stream_id(command.part())?;
                Ok(outcome(stream, self.part(command, context)?))
            }
            ServiceCommand::Technician(command) => {
                let stream = Technician::stream_id(command.technician())?;
                Ok(outcome(stream, self.technician(command, context)?))
            }
        }
    }
}

fn outcome<D: Decider>(stream: crate::kernel::StreamId, executed: Executed<D>) -> CommandOutcome
where
    D::Event: Event,
{
    CommandOutcome {
        stream: stream.as_str().to_owned(),
        version: executed.version,
        events: executed.events.iter().map(Event::event_type).collect(),
        replayed: executed.replayed,
    }
}
