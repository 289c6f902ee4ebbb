//! Any command of the service as one value with one serde form ([`ServiceCommand`]), and a line
//! of a command file ([`CommandLine`]): what the CLI's `exec` reads as JSON Lines, what an HTTP
//! API accepts, and what [`ServiceLifecycle::execute`](crate::ServiceLifecycle::execute) runs.
//!
//! A line is `{"id": UUID, "aggregate": NAME, "command": {VARIANT: {FIELDS}}}`, with the
//! aggregate's command in its serde form (`{"Sell": {"product": ..., ...}}`); the JSON Schema of a
//! line is [`command_line_schema`] (published as `docs/schemas/command-line.schema.json`).

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::contract::ContractCommand;
use crate::customer::CustomerCommand;
use crate::kernel::CommandId;
use crate::model::ModelCommand;
use crate::parts::PartCommand;
use crate::product::ProductCommand;
use crate::registration::Registration;
use crate::technician::TechnicianCommand;
use crate::values::CustomerId;

/// Any command of the service.
///
/// ```
/// use service_lifecycle_core::ServiceCommand;
///
/// let command: ServiceCommand = serde_json::from_str(
///     r#"{"aggregate": "technician", "command": {"Hire": {
///         "technician": "0190a5b4-0000-7000-8000-000000000001",
///         "at": "2026-03-01T09:00:00Z"}}}"#,
/// )?;
/// assert!(matches!(command, ServiceCommand::Technician(_)));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "aggregate", content = "command", rename_all = "snake_case")]
pub enum ServiceCommand {
    /// A command of the model catalogue (M1-M3).
    Model(ModelCommand),
    /// A unit's command (P1-P7).
    Product(ProductCommand),
    /// C1: register a customer with their personal data.
    RegisterCustomer(Registration),
    /// C7: erase a customer's personal data.
    EraseCustomer {
        /// The customer.
        customer: CustomerId,
        /// When.
        at: DateTime<Utc>,
    },
    /// A customer's command (C2-C6; registration and erasure are the two above).
    Customer(CustomerCommand),
    /// A contract's command (S1-S6).
    Contract(ContractCommand),
    /// A part's command (R1-R5).
    Part(PartCommand),
    /// A technician's command (T1-T2).
    Technician(TechnicianCommand),
}

/// One line of a command file: the command and the id that makes running it again harmless
/// (the same id is recognised and changes nothing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CommandLine {
    /// The command's id: a UUID the sender chooses, once per command.
    #[schemars(with = "uuid::Uuid")]
    pub id: CommandId,
    /// The command.
    #[serde(flatten)]
    pub command: ServiceCommand,
}

/// What a command did, as a program reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommandOutcome {
    /// The stream the command was recorded in.
    pub stream: String,
    /// The stream's version after it (for a replayed command: the stream's version now).
    pub version: u64,
    /// The type names of the events it recorded (empty: there was nothing to record).
    pub events: Vec<&'static str>,
    /// Whether the command id had been executed before, so nothing was written now.
    pub replayed: bool,
}

/// The JSON Schema (draft 2020-12) of a [`CommandLine`].
pub fn command_line_schema() -> Value {
    let settings = schemars::generate::SchemaSettings::draft2020_12();
    let schema = settings
        .into_generator()
        .into_root_schema_for::<CommandLine>();
    serde_json::to_value(schema).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_reads_the_id_beside_the_command_and_writes_back_the_same() {
        let text = r#"{"id":"0190a5b4-0000-7000-8000-0000000000aa","aggregate":"erase_customer","command":{"customer":"0190a5b4-0000-7000-8000-000000000001","at":"2026-03-01T09:00:00Z"}}"#;
        let line: CommandLine = serde_json::from_str(text).unwrap();
        assert!(matches!(line.command, ServiceCommand::EraseCustomer { .. }));
        assert_eq!(serde_json::to_string(&line).unwrap(), text);
    }

    #[test]
    fn the_schema_names_every_aggregate() {
        let schema = command_line_schema().to_string();
        for aggregate in [
            "model",
            "product",
            "register_customer",
            "erase_customer",
            "customer",
            "contract",
            "part",
            "technician",
        ] {
            assert!(schema.contains(&format!("\"{aggregate}\"")), "{aggregate}");
        }
    }
}
