//! [`ServiceEvent`]: the one event type of a service-lifecycle store, holding every aggregate's
//! events. Each repository narrows it to its aggregate's events by reference
//! ([`Contains`]); projections and policies read it whole.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::contract::ContractEvent;
use super::coverage::CoverageEvent;
use super::customer::CustomerEvent;
use super::model::ModelEvent;
use super::parts::PartEvent;
use super::policy_log::PolicyEvent;
use super::product::ProductEvent;
use super::technician::TechnicianEvent;
use crate::kernel::{CodecError, Contains, Event, EventSchema};

/// Any event of the service-lifecycle domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum ServiceEvent {
    /// A unit's event.
    Product(ProductEvent),
    /// A customer's event.
    Customer(CustomerEvent),
    /// A contract's event.
    Contract(ContractEvent),
    /// A part's event.
    Part(PartEvent),
    /// A technician's event.
    Technician(TechnicianEvent),
    /// A unit's coverage event (which contracts hold its days).
    Coverage(CoverageEvent),
    /// A policy's event (a policy command that was refused).
    Policy(PolicyEvent),
    /// A model's event (the catalogue).
    Model(ModelEvent),
}

impl ServiceEvent {
    /// When the event occurred in business time (the `at` of its command), or none for the
    /// few events recorded together with the one before them (`product.warranty_started`,
    /// `contract.visit_scheduled`, `contract.sla_breached`), which occurred with that one. What
    /// "as of" means in the reports.
    pub fn occurred_at(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        match self {
            Self::Product(event) => event.occurred_at(),
            Self::Customer(event) => event.occurred_at(),
            Self::Contract(event) => event.occurred_at(),
            Self::Part(event) => event.occurred_at(),
            Self::Technician(event) => event.occurred_at(),
            Self::Coverage(event) => event.occurred_at(),
            Self::Policy(event) => event.occurred_at(),
            Self::Model(event) => event.occurred_at(),
        }
    }
}

impl Event for ServiceEvent {
    fn event_type(&self) -> &'static str {
        match self {
            Self::Product(event) => event.event_type(),
            Self::Customer(event) => event.event_type(),
            Self::Contract(event) => event.event_type(),
            Self::Part(event) => event.event_type(),
            Self::Technician(event) => event.event_type(),
            Self::Coverage(event) => event.event_type(),
            Self::Policy(event) => event.event_type(),
            Self::Model(event) => event.event_type(),
        }
    }

    fn schema_version(&self) -> u32 {
        match self {
            Self::Product(event) => event.schema_version(),
            Self::Customer(event) => event.schema_version(),
            Self::Contract(event) => event.schema_version(),
            Self::Part(event) => event.schema_version(),
            Self::Technician(event) => event.schema_version(),
            Self::Coverage(event) => event.schema_version(),
            Self::Policy(event) => event.schema_version(),
            Self::Model(event) => event.schema_version(),
        }
    }

    fn catalogue() -> Vec<EventSchema> {
        let mut catalogue = ProductEvent::catalogue();
        catalogue.extend(CustomerEvent::catalogue());
        catalogue.extend(ContractEvent::catalogue());
        catalogue.extend(PartEvent::catalogue());
        catalogue.extend(TechnicianEvent::catalogue());
        catalogue.extend(CoverageEvent::catalogue());
        catalogue.extend(PolicyEvent::catalogue());
        catalogue.extend(ModelEvent::catalogue());
        catalogue
    }

    fn to_payload(&self) -> Result<Value, CodecError> {
        match self {
            Self::Product(event) => event.to_payload(),
            Self::Customer(event) => event.to_payload(),
            Self::Contract(event) => event.to_payload(),
            Self::Part(event) => event.to_payload(),
            Self::Technician(event) => event.to_payload(),
            Self::Coverage(event) => event.to_payload(),
            Self::Policy(event) => event.to_payload(),
            Self::Model(event) => event.to_payload(),
        }
    }

    fn write_payload(&self, out: &mut Vec<u8>) -> Result<(), CodecError> {
        match self {
            Self::Product(event) => event.write_payload(out),
            Self::Customer(event) => event.write_payload(out),
            Self::Contract(event) => event.write_payload(out),
            Self::Part(event) => event.write_payload(out),
            Self::Technician(event) => event.write_payload(out),
            Self::Coverage(event) => event.write_payload(out),
            Self::Policy(event) => event.write_payload(out),
            Self::Model(event) => event.write_payload(out),
        }
    }

    fn from_payload_bytes(event_type: &str, payload: &[u8]) -> Result<Self, CodecError> {
        match event_type.split('.').next().unwrap_or_default() {
            "product" => ProductEvent::from_payload_bytes(event_type, payload).map(Self::Product),
            "customer" => {
                CustomerEvent::from_payload_bytes(event_type, payload).map(Self::Customer)
            }
            "contract" => {
                ContractEvent::from_payload_bytes(event_type, payload).map(Self::Contract)
            }
            "parts" => PartEvent::from_payload_bytes(event_type, payload).map(Self::Part),
            "technician" => {
                TechnicianEvent::from_payload_bytes(event_type, payload).map(Self::Technician)
            }
            "coverage" => {
                CoverageEvent::from_payload_bytes(event_type, payload).map(Self::Coverage)
            }
            "policy" => PolicyEvent::from_payload_bytes(event_type, payload).map(Self::Policy),
            "model" => ModelEvent::from_payload_bytes(event_type, payload).map(Self::Model),
            _ => Err(no_owner(event_type)),
        }
    }

    /// Decodes by the name's prefix (`product.`, `customer.`, ...), so only one aggregate's
    /// events are tried.
    fn from_payload(event_type: &str, payload: Value) -> Result<Self, CodecError> {
        let prefix = event_type.split('.').next().unwrap_or_default();
        match prefix {
            "product" => ProductEvent::from_payload(event_type, payload).map(Self::Product),
            "customer" => CustomerEvent::from_payload(event_type, payload).map(Self::Customer),
            "contract" => ContractEvent::from_payload(event_type, payload).map(Self::Contract),
            "parts" => PartEvent::from_payload(event_type, payload).map(Self::Part),
            "technician" => {
                TechnicianEvent::from_payload(event_type, payload).map(Self::Technician)
            }
            "coverage" => CoverageEvent::from_payload(event_type, payload).map(Self::Coverage),
            "policy" => PolicyEvent::from_payload(event_type, payload).map(Self::Policy),
            "model" => ModelEvent::from_payload(event_type, payload).map(Self::Model),
            _ => Err(no_owner(event_type)),
        }
    }
}

/// The error for an event type whose name no aggregate's prefix owns.
fn no_owner(event_type: &str) -> CodecError {
    CodecError::Decode {
        event_type: event_type.to_owned(),
        source: serde::de::Error::custom(format!("no aggregate owns event type {event_type:?}")),
    }
}

macro_rules! contains {
    ($variant:ident, $event:ty) => {
        impl From<$event> for ServiceEvent {
            fn from(event: $event) -> Self {
                Self::$variant(event)
            }
        }

        impl Contains<$event> for ServiceEvent {
            fn narrow(&self) -> Option<&$event> {
                match self {
                    Self::$variant(event) => Some(event),
                    _ => None,
                }
            }
        }
    };
}

contains!(Product, ProductEvent);
contains!(Customer, CustomerEvent);
contains!(Contract, ContractEvent);
contains!(Part, PartEvent);
contains!(Technician, TechnicianEvent);
contains!(Coverage, CoverageEvent);
contains!(Policy, PolicyEvent);
contains!(Model, ModelEvent);

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::kernel::{EventDecoder, Upcasters};

    #[test]
    fn the_catalogue_names_every_event_once_with_its_aggregates_prefix() {
        let catalogue = ServiceEvent::catalogue();
        let names: BTreeSet<_> = catalogue.iter().map(|schema| schema.event_type).collect();
        assert_eq!(names.len(), catalogue.len(), "no name is used twice");
        for name in names {
            let prefix = name.split('.').next().unwrap_or_default();
            assert!(
                [
                    "product",
                    "customer",
                    "contract",
                    "parts",
                    "technician",
                    "model",
                    "coverage",
                    "policy"
                ]
                .contains(&prefix),
                "{name}"
            );
        }
    }

    /// Every stored event type name, as the stores of every release hold them. Adding an event
    /// adds a name here; renaming or removing one would orphan stored events, so this list only
    /// ever grows.
    const STORED_EVENT_TYPES: [&str; 69] = [
        "product.unit_received",
        "product.transport_damage_recorded",
        "product.transport_damage_repaired",
        "product.unit_commissioned",
        "product.test_run_recorded",
        "product.unit_sold",
        "product.warranty_started",
        "product.unit_delivered",
        "product.unit_installed",
        "product.users_trained",
        "product.unit_modernized",
        "product.unit_returned",
        "product.unit_scrapped",
        "customer.registered",
        "customer.level_changed",
        "customer.purchase_recorded",
        "customer.obligation_opened",
        "customer.obligation_fulfilled",
        "customer.obligation_withdrawn",
        "customer.inquiry_logged",
        "customer.inquiry_answered",
        "customer.consultation_recorded",
        "customer.demonstration_recorded",
        "customer.substitute_offered",
        "customer.related_product_offered",
        "customer.follow_up_completed",
        "customer.outreach_made",
        "customer.joint_review_held",
        "customer.personal_data_erased",
        "contract.proposed",
        "contract.activated",
        "contract.visit_scheduled",
        "contract.visit_performed",
        "contract.suspended",
        "contract.resumed",
        "contract.renewed",
        "contract.cancelled",
        "contract.expired",
        "contract.call_opened",
        "contract.call_priority_changed",
        "contract.technician_dispatched",
        "contract.technician_arrived",
        "contract.call_resolved",
        "contract.sla_breached",
        "parts.part_registered",
        "parts.stock_received",
        "parts.reserved",
        "parts.backordered",
        "parts.backorder_filled",
        "parts.issued",
        "parts.released",
        "parts.transferred",
        "parts.model_discontinued",
        "parts.last_time_buy_placed",
        "parts.reorder_point_reached",
        "parts.part_retired",
        "technician.hired",
        "technician.standards_training_completed",
        "technician.certified",
        "technician.named",
        "technician.certification_revoked",
        "technician.assigned_to_call",
        "technician.left",
        "coverage.claimed",
        "coverage.released",
        "policy.command_refused",
        "model.introduced",
        "model.revised",
        "model.discontinued",
    ];

    #[test]
    fn stored_event_type_names_never_change() {
        let code: Vec<&str> = ServiceEvent::catalogue()
            .iter()
            .map(|schema| schema.event_type)
            .collect();
        assert_eq!(code, STORED_EVENT_TYPES);
    }

    /// docs/domain.md's event catalogue and the code's agree in both directions.
    #[test]
    fn docs_catalogue_matches_the_code() {
        let doc = include_str!("../../../docs/domain.md");
        let documented: BTreeSet<(String, u32)> = doc
            .lines()
            .filter_map(|line| {
                let cells: Vec<&str> = line.split('|').map(str::trim).collect();
                let name = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
                let version = cells.get(2)?.parse().ok()?;
                name.contains('.').then(|| (name.to_owned(), version))
            })
            .collect();
        let code: BTreeSet<(String, u32)> = ServiceEvent::catalogue()
            .into_iter()
            .map(|schema| (schema.event_type.to_owned(), schema.schema_version))
            .collect();
        let missing: Vec<_> = code.difference(&documented).collect();
        let stale: Vec<_> = documented.difference(&code).collect();
        assert!(
            missing.is_empty(),
            "events missing from docs/domain.md: {missing:?}"
        );
        assert!(
            stale.is_empty(),
            "docs/domain.md lists events the code does not have: {stale:?}"
        );
    }

    #[test]
    fn an_event_of_an_unknown_aggregate_is_a_typed_error() {
        let decoder = EventDecoder::<ServiceEvent>::new(Upcasters::new());
        assert!(decoder.decode("invoice.paid", 1, Value::Null).is_err());
        assert!(ServiceEvent::from_payload("invoice.paid", Value::Null).is_err());
    }
}
