//! The policies (§7 of `docs/domain.md`): the commands that events call for.

use std::collections::{BTreeMap, BTreeSet};

use chrono::Datelike;

use super::contract::{
    ContractCommand, ContractEvent, ContractKind, Entitlements, ServicePlan, Terms,
};
use super::coverage::CoverageCommand;
use super::customer::{CustomerCommand, TargetGroup};
use super::events::ServiceEvent;
use super::model::ModelEvent;
use super::parts::{Location, PartCommand, PartEvent};
use super::product::ProductEvent;
use super::values::ContractId;
use crate::directory::{Directory, StreamOwner};
use crate::kernel::{CommandId, Envelope, EventId};

/// A command a policy issues in reaction to an event.
#[derive(Debug, Clone)]
pub(crate) enum Reaction {
    Customer(CustomerCommand),
    Contract(ContractCommand),
    Part(PartCommand),
    Coverage(CoverageCommand),
}

/// The id of the `index`-th command a policy issues in reaction to `trigger`: deterministic, so a
/// policy run twice over the same event issues the same command.
pub(crate) fn policy_command_id(trigger: EventId, index: u32) -> CommandId {
    CommandId::from_uuid(EventId::derived(CommandId::from_uuid(trigger.as_uuid()), index).as_uuid())
}

/// The policies: the commands `envelope` calls for, given the directory after it.
pub(crate) fn react_to(
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
        (
            ServiceEvent::Contract(
                ContractEvent::Cancelled { at, .. } | ContractEvent::Expired { at },
            ),
            Some(StreamOwner::Contract(contract)),
        ) => {
            for unit in directory.contract_units(*contract) {
                push(
                    "contract ended: release its units' days",
                    Reaction::Coverage(CoverageCommand::Release {
                        unit,
                        contract: *contract,
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
            ServiceEvent::Model(ModelEvent::Discontinued {
                model,
                guarantee_years,
                last_order_date,
                at,
                ..
            }),
            _,
        ) => {
            for part in directory.parts_by_model.get(model).into_iter().flatten() {
                push(
                    "model discontinued: every part of the model",
                    Reaction::Part(PartCommand::DiscontinueModel {
                        part: part.clone(),
                        model: *model,
                        guarantee_years: *guarantee_years,
                        last_order_date: *last_order_date,
                        at: *at,
                    }),
                );
            }
        }
        (ServiceEvent::Part(PartEvent::PartRegistered { part, models, .. }), _) => {
            for model in models.keys() {
                if let Some(left) = directory.discontinued_models.get(model) {
                    push(
                        "part registered for a discontinued model: the model's discontinuation",
                        Reaction::Part(PartCommand::DiscontinueModel {
                            part: part.clone(),
                            model: *model,
                            guarantee_years: left.guarantee_years,
                            last_order_date: left.last_order_date,
                            at: left.at,
                        }),
                    );
                }
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
