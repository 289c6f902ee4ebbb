//! The Product aggregate (§3 of `docs/domain.md`): events, state, fold (`apply`), and decide as
//! a table of one function per command. What it models is documented on [`Product`].

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::values::{
    CustomerId, ModelId, Money, ProductId, SerialNumber, WarrantyStart, WarrantyTerms,
};
use crate::checks::{self, BadLength, TooEarly};
use crate::event_enum::event_enum;
use crate::kernel::{Decider, InvalidStreamId, StreamId};
use crate::values::MAX_TEXT_LEN;

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------

/// How bad a transport damage is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DamageSeverity {
    /// Cosmetic: scratches, dents.
    Cosmetic,
    /// Affects how the unit works.
    Functional,
    /// The unit cannot be used.
    Severe,
}

/// Where a unit is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryTo {
    /// To the buyer's home.
    Home,
    /// To the buyer's enterprise.
    Enterprise,
}

/// The after-sale services a sale orders (P4); each left out of the JSON is not ordered.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(default)]
pub struct AfterSaleServices {
    /// Delivery, and where to.
    pub delivery: Option<DeliveryTo>,
    /// Mounting and installation.
    pub installation: bool,
    /// Training the users.
    pub training: bool,
}

/// One after-sale service, as named in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AfterSaleService {
    /// Delivery.
    Delivery,
    /// Installation.
    Installation,
    /// Training.
    Training,
}

event_enum! {
    /// What happened to a unit.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
    #[serde(tag = "type", content = "data")]
    pub enum ProductEvent {
        /// P1: the unit arrived.
        "product.unit_received" => UnitReceived {
            /// The unit.
            product: ProductId,
            /// Its model.
            model: ModelId,
            /// Its serial number.
            serial: SerialNumber,
            /// When.
            at: DateTime<Utc>,
        },
        /// P2: transport damage was found.
        "product.transport_damage_recorded" => TransportDamageRecorded {
            /// The damage's number on this unit (1, 2, ...).
            damage: u32,
            /// What is damaged.
            description: String,
            /// How badly.
            severity: DamageSeverity,
            /// When.
            at: DateTime<Utc>,
        },
        /// P2: a transport damage was repaired.
        "product.transport_damage_repaired" => TransportDamageRepaired {
            /// The damage's number.
            damage: u32,
            /// When.
            at: DateTime<Utc>,
        },
        /// P3: the unit was brought into working condition.
        "product.unit_commissioned" => UnitCommissioned {
            /// When.
            at: DateTime<Utc>,
        },
        /// P3: the unit was test-run.
        "product.test_run_recorded" => TestRunRecorded {
            /// Whether it passed.
            passed: bool,
            /// What was observed.
            notes: String,
            /// When.
            at: DateTime<Utc>,
        },
        /// P4: the unit was sold.
        "product.unit_sold" => UnitSold {
            /// The buyer.
            customer: CustomerId,
            /// The price.
            price: Money,
            /// How it was packed.
            packaging: String,
            /// Its warranty.
            warranty: WarrantyTerms,
            /// The after-sale services ordered.
            services: AfterSaleServices,
            /// When.
            at: DateTime<Utc>,
        },
        /// P5: the warranty started, at the event its terms name. Both dates are inclusive.
        "product.warranty_started" => WarrantyStarted {
            /// The first covered day.
            from: NaiveDate,
            /// The last covered day.
            until: NaiveDate,
        },
        /// P5: the unit was delivered.
        "product.unit_delivered" => UnitDelivered {
            /// When.
            at: DateTime<Utc>,
        },
        /// P5: the unit was installed.
        "product.unit_installed" => UnitInstalled {
            /// When.
            at: DateTime<Utc>,
        },
        /// P5: the users were trained.
        "product.users_trained" => UsersTrained {
            /// When.
            at: DateTime<Utc>,
        },
        /// P6: the unit was modernized at its owner's request.
        "product.unit_modernized" => UnitModernized {
            /// What was done.
            description: String,
            /// When.
            at: DateTime<Utc>,
        },
        /// P7: the unit was returned; it is closed.
        "product.unit_returned" => UnitReturned {
            /// Why.
            reason: String,
            /// When.
            at: DateTime<Utc>,
        },
        /// P7: the unit was scrapped; it is closed.
        "product.unit_scrapped" => UnitScrapped {
            /// Why.
            reason: String,
            /// When.
            at: DateTime<Utc>,
        },
    }
}

impl ProductEvent {
    /// When the event occurred in business time: its `at`, or none for an event recorded
    /// together with the one before it (it occurred with that one).
    pub fn occurred_at(&self) -> Option<DateTime<Utc>> {
        match self {
            Self::UnitReceived { at, .. }
            | Self::TransportDamageRecorded { at, .. }
            | Self::TransportDamageRepaired { at, .. }
            | Self::UnitCommissioned { at, .. }
            | Self::TestRunRecorded { at, .. }
            | Self::UnitSold { at, .. }
            | Self::UnitDelivered { at, .. }
            | Self::UnitInstalled { at, .. }
            | Self::UsersTrained { at, .. }
            | Self::UnitModernized { at, .. }
            | Self::UnitReturned { at, .. }
            | Self::UnitScrapped { at, .. } => Some(*at),
            Self::WarrantyStarted { .. } => None,
        }
    }
}
// ---------------------------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------------------------

/// Where a unit is in its life (derived from its events, never stored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProductStatus {
    /// Arrived; no preparation yet.
    Received,
    /// Being prepared: damage, commissioning or a test run recorded, not yet ready.
    InPreparation,
    /// Commissioned, last test run passed, no open damage.
    ReadyForSale,
    /// Sold; ordered after-sale services still to come.
    Sold,
    /// Delivered; installation or training still to come.
    Delivered,
    /// Installed; training still to come.
    Installed,
    /// Sold and every ordered after-sale service done.
    InService,
    /// Returned (closed).
    Returned,
    /// Scrapped (closed).
    Scrapped,
}

/// A recorded transport damage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Damage {
    /// What is damaged.
    pub description: String,
    /// How badly.
    pub severity: DamageSeverity,
    /// Whether it was repaired.
    pub repaired: bool,
}

/// What a unit still needs before it can be sold (P3, P4).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MissingForSale {
    /// It has not been commissioned.
    Commissioning,
    /// Its last test run did not pass, or there was none.
    PassedTestRun,
    /// This transport damage is not repaired.
    OpenDamage(u32),
}

/// The sale of a unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Sale {
    /// The buyer (the owner from then on).
    pub customer: CustomerId,
    /// The price.
    pub price: Money,
    /// The warranty terms.
    pub warranty: WarrantyTerms,
    /// The services ordered.
    pub services: AfterSaleServices,
    /// When.
    pub at: DateTime<Utc>,
}

/// A started warranty: both ends inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Warranty {
    /// The first covered day.
    pub from: NaiveDate,
    /// The last covered day.
    pub until: NaiveDate,
}

impl Warranty {
    /// Whether `date` is covered (both ends inclusive).
    pub fn covers(&self, date: NaiveDate) -> bool {
        self.from <= date && date <= self.until
    }
}

/// The folded state of one unit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ProductState {
    /// The unit, once received.
    pub product: Option<ProductId>,
    /// Its model.
    pub model: Option<ModelId>,
    /// Its serial number.
    pub serial: Option<SerialNumber>,
    /// When it arrived.
    pub received_at: Option<DateTime<Utc>>,
    /// Transport damage by number.
    pub damages: BTreeMap<u32, Damage>,
    /// Whether it was commissioned.
    pub commissioned: bool,
    /// The outcome of the last test run, if any.
    pub last_test_passed: Option<bool>,
    /// The sale, once sold.
    pub sale: Option<Sale>,
    /// The warranty, once started.
    pub warranty: Option<Warranty>,
    /// When it was delivered.
    pub delivered_at: Option<DateTime<Utc>>,
    /// When it was installed.
    pub installed_at: Option<DateTime<Utc>>,
    /// When its users were trained.
    pub trained_at: Option<DateTime<Utc>>,
    /// Modernizations done, in order.
    pub modernizations: Vec<String>,
    /// How and when it was closed, if it was.
    pub closed: Option<(ProductStatus, DateTime<Utc>)>,
}

impl ProductState {
    /// Where the unit is in its life; `None` before it was received.
    pub fn status(&self) -> Option<ProductStatus> {
        self.product?;
        if let Some((how, _)) = self.closed {
            return Some(how);
        }
        let Some(sale) = &self.sale else {
            let prepared =
                self.commissioned || self.last_test_passed.is_some() || !self.damages.is_empty();
            return Some(if self.missing_for_sale().is_empty() {
                ProductStatus::ReadyForSale
            } else if prepared {
                ProductStatus::InPreparation
            } else {
                ProductStatus::Received
            });
        };
        let services = sale.services;
        let all_done = (services.delivery.is_none() || self.delivered_at.is_some())
            && (!services.installation || self.installed_at.is_some())
            && (!services.training || self.trained_at.is_some());
        Some(if all_done {
            ProductStatus::InService
        } else if self.installed_at.is_some() {
            ProductStatus::Installed
        } else if self.delivered_at.is_some() {
            ProductStatus::Delivered
        } else {
            ProductStatus::Sold
        })
    }

    /// What the unit still needs before it can be sold: empty when it is ready.
    pub fn missing_for_sale(&self) -> Vec<MissingForSale> {
        let mut missing = Vec::new();
        if !self.commissioned {
            missing.push(MissingForSale::Commissioning);
        }
        if self.last_test_passed != Some(true) {
            missing.push(MissingForSale::PassedTestRun);
        }
        missing.extend(
            self.damages
                .iter()
                .filter(|(_, damage)| !damage.repaired)
                .map(|(&number, _)| MissingForSale::OpenDamage(number)),
        );
        missing
    }

    /// Whether the unit is under warranty on `date` (a function of the date, never a flag).
    pub fn under_warranty(&self, date: NaiveDate) -> bool {
        self.warranty.is_some_and(|warranty| warranty.covers(date))
    }

    /// The owner, once sold.
    pub fn owner(&self) -> Option<CustomerId> {
        self.sale.as_ref().map(|sale| sale.customer)
    }
}

// ---------------------------------------------------------------------------------------------
// Fold
// ---------------------------------------------------------------------------------------------

fn apply(state: &mut ProductState, event: &ProductEvent) {
    match event {
        ProductEvent::UnitReceived {
            product,
            model,
            serial,
            at,
        } => {
            state.product = Some(*product);
            state.model = Some(*model);
            state.serial = Some(serial.clone());
            state.received_at = Some(*at);
        }
        ProductEvent::TransportDamageRecorded {
            damage,
            description,
            severity,
            ..
        } => {
            state.damages.insert(
                *damage,
                Damage {
                    description: description.clone(),
                    severity: *severity,
                    repaired: false,
                },
            );
        }
        ProductEvent::TransportDamageRepaired { damage, .. } => {
            if let Some(damage) = state.damages.get_mut(damage) {
                damage.repaired = true;
            }
        }
        ProductEvent::UnitCommissioned { .. } => state.commissioned = true,
        ProductEvent::TestRunRecorded { passed, .. } => state.last_test_passed = Some(*passed),
        ProductEvent::UnitSold {
            customer,
            price,
            warranty,
            services,
            at,
            ..
        } => {
            state.sale = Some(Sale {
                customer: *customer,
                price: *price,
                warranty: *warranty,
                services: *services,
                at: *at,
            });
        }
        ProductEvent::WarrantyStarted { from, until } => {
            state.warranty = Some(Warranty {
                from: *from,
                until: *until,
            });
        }
        ProductEvent::UnitDelivered { at } => state.delivered_at = Some(*at),
        ProductEvent::UnitInstalled { at } => state.installed_at = Some(*at),
        ProductEvent::UsersTrained { at } => state.trained_at = Some(*at),
        ProductEvent::UnitModernized { description, .. } => {
            state.modernizations.push(description.clone());
        }
        ProductEvent::UnitReturned { at, .. } => {
            state.closed = Some((ProductStatus::Returned, *at))
        }
        ProductEvent::UnitScrapped { at, .. } => {
            state.closed = Some((ProductStatus::Scrapped, *at))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Decide
// ---------------------------------------------------------------------------------------------

/// What can be asked of a unit. Every command carries its business time `at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum ProductCommand {
    /// P1: a unit arrived.
    ReceiveUnit {
        /// Its model.
        model: ModelId,
        /// Its serial number.
        serial: SerialNumber,
        /// When.
        at: DateTime<Utc>,
    },
    /// P2: record transport damage (before the sale).
    RecordTransportDamage {
        /// The unit.
        product: ProductId,
        /// What is damaged.
        description: String,
        /// How badly.
        severity: DamageSeverity,
        /// When.
        at: DateTime<Utc>,
    },
    /// P2: repair a recorded transport damage (before the sale).
    RepairTransportDamage {
        /// The unit.
        product: ProductId,
        /// The damage's number.
        damage: u32,
        /// When.
        at: DateTime<Utc>,
    },
    /// P3: bring the unit into working condition (before the sale).
    Commission {
        /// The unit.
        product: ProductId,
        /// When.
        at: DateTime<Utc>,
    },
    /// P3: record a test run (after commissioning, before the sale).
    RecordTestRun {
        /// The unit.
        product: ProductId,
        /// Whether it passed.
        passed: bool,
        /// What was observed.
        notes: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// P4: sell the unit.
    Sell {
        /// The unit.
        product: ProductId,
        /// The buyer.
        customer: CustomerId,
        /// The price (not negative).
        price: Money,
        /// How it is packed.
        packaging: String,
        /// The warranty: the model's default or overridden for this sale.
        warranty: WarrantyTerms,
        /// The after-sale services ordered.
        services: AfterSaleServices,
        /// When.
        at: DateTime<Utc>,
    },
    /// P5: deliver the unit (when ordered).
    Deliver {
        /// The unit.
        product: ProductId,
        /// When.
        at: DateTime<Utc>,
    },
    /// P5: install the unit (when ordered; after delivery when that was ordered).
    Install {
        /// The unit.
        product: ProductId,
        /// When.
        at: DateTime<Utc>,
    },
    /// P5: train the users (when ordered; after installation when that was ordered).
    TrainUsers {
        /// The unit.
        product: ProductId,
        /// When.
        at: DateTime<Utc>,
    },
    /// P6: modernize the unit at its owner's request (after the sale).
    Modernize {
        /// The unit.
        product: ProductId,
        /// Who asks: must be the owner.
        requested_by: CustomerId,
        /// What is to be done.
        description: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// P7: the unit was returned; closes it.
    Return {
        /// The unit.
        product: ProductId,
        /// Why.
        reason: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// P7: the unit was scrapped; closes it.
    Scrap {
        /// The unit.
        product: ProductId,
        /// Why.
        reason: String,
        /// When.
        at: DateTime<Utc>,
    },
}

/// Why a unit refuses a command: the rule, with the ids involved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "rule_broken", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ProductError {
    /// P1: this model and serial number were received already.
    #[error("unit {product} (model {model}, serial {serial}) was received already: a serial number is received once per model (P1)")]
    AlreadyReceived {
        /// The unit.
        product: ProductId,
        /// Its model.
        model: ModelId,
        /// Its serial number.
        serial: SerialNumber,
    },
    /// The unit was never received.
    #[error("unit {product} was never received")]
    NotReceived {
        /// The unit named by the command.
        product: ProductId,
    },
    /// The command names another unit than the stream holds.
    #[error("the command is for unit {command}, but this stream holds unit {stream}")]
    WrongUnit {
        /// The unit the command names.
        command: ProductId,
        /// The unit of the stream.
        stream: ProductId,
    },
    /// P7: the unit is closed; nothing but reads after that.
    #[error("unit {product} is closed ({status:?}): a returned or scrapped unit accepts no command, only reads (P7)")]
    Closed {
        /// The unit.
        product: ProductId,
        /// Returned or scrapped.
        status: ProductStatus,
    },
    /// P2, P3: preparation happens only before the sale.
    #[error("unit {product} is sold already: a unit is prepared and sold only before its sale, once ({rule})")]
    AlreadySold {
        /// The rule.
        rule: &'static str,
        /// The unit.
        product: ProductId,
    },
    /// A description, note, reason or packaging is empty or too long.
    #[error("unit {product}: {field} must hold 1 to {MAX_TEXT_LEN} characters")]
    BadText {
        /// The unit.
        product: ProductId,
        /// Which text.
        field: &'static str,
    },
    /// P2: no damage of that number was recorded.
    #[error("unit {product} has no transport damage number {damage}: a repair names a recorded damage (P2)")]
    UnknownDamage {
        /// The unit.
        product: ProductId,
        /// The number given.
        damage: u32,
    },
    /// P2: the damage was repaired already.
    #[error("transport damage {damage} of unit {product} was repaired already: each damage is repaired once (P2)")]
    DamageAlreadyRepaired {
        /// The unit.
        product: ProductId,
        /// The damage.
        damage: u32,
    },
    /// P3: a test run needs commissioning first.
    #[error("unit {product} is not commissioned: a unit is brought into working condition before it is test-run (P3)")]
    NotCommissioned {
        /// The unit.
        product: ProductId,
    },
    /// P4: the unit is not ready for sale; `missing` names each missing step.
    #[error("unit {product} is not ready for sale, missing {missing:?}: a unit is sold only when commissioned, its last test run passed and no transport damage is open (P4)")]
    NotReadyForSale {
        /// The unit.
        product: ProductId,
        /// Every missing step.
        missing: Vec<MissingForSale>,
    },
    /// P4: a price below zero.
    #[error("unit {product} cannot be sold for a negative price ({price}): a price is zero or more (P4)")]
    NegativePrice {
        /// The unit.
        product: ProductId,
        /// The price given.
        price: Money,
    },
    /// P4: a warranty of zero months.
    #[error(
        "the warranty of unit {product} lasts no month: a warranty lasts at least one month (P4)"
    )]
    EmptyWarranty {
        /// The unit.
        product: ProductId,
    },
    /// P5: the warranty's end date is beyond the calendar chrono can represent.
    #[error("the warranty of unit {product} would end beyond the supported calendar: its end date must be a representable date (P5)")]
    WarrantyEndOutOfRange {
        /// The unit.
        product: ProductId,
    },
    /// P4: the warranty would start at a service that was not ordered.
    #[error(
        "the warranty of unit {product} starts {starts:?}, but that service was not ordered: a warranty starts at an event that will happen (P4)"
    )]
    WarrantyWouldNeverStart {
        /// The unit.
        product: ProductId,
        /// The start rule.
        starts: WarrantyStart,
    },
    /// P5, P6: this needs the unit to be sold.
    #[error("unit {product} is not sold: delivery, installation, training and modernization come after the sale (P5, P6)")]
    NotSold {
        /// The unit.
        product: ProductId,
    },
    /// P5: the service was not ordered with the sale.
    #[error("{service:?} of unit {product} was not ordered: only the after-sale services ordered at the sale are done (P5)")]
    ServiceNotOrdered {
        /// The unit.
        product: ProductId,
        /// The service.
        service: AfterSaleService,
    },
    /// P5: the service was done already.
    #[error(
        "{service:?} of unit {product} was done already: each after-sale service is done once (P5)"
    )]
    ServiceAlreadyDone {
        /// The unit.
        product: ProductId,
        /// The service.
        service: AfterSaleService,
    },
    /// P5: an ordered earlier service has not happened yet.
    #[error("{service:?} of unit {product} needs {needs:?} first: delivery, installation and training happen in that order where ordered (P5)")]
    ServiceOutOfOrder {
        /// The unit.
        product: ProductId,
        /// The service asked for.
        service: AfterSaleService,
        /// The service that must come first.
        needs: AfterSaleService,
    },
    /// A date before the step it must follow.
    #[error(
        "unit {product}: {what} at {at} is before {earliest}, when the step it follows happened: each step is dated no earlier than the one before it ({rule})"
    )]
    DateOutOfOrder {
        /// The rule that orders the steps: P4 (the sale after the receipt), P5 (after-sale
        /// services in order), P6 (a modernization after the sale).
        rule: &'static str,
        /// The unit.
        product: ProductId,
        /// What was dated.
        what: &'static str,
        /// The date given.
        at: DateTime<Utc>,
        /// The earliest acceptable date.
        earliest: DateTime<Utc>,
    },
    /// P6: modernization only at the owner's request.
    #[error("unit {product} belongs to customer {owner}, so customer {requested_by} cannot order its modernization: a unit is modernized only at its owner's request (P6)")]
    NotRequestedByOwner {
        /// The unit.
        product: ProductId,
        /// Its owner.
        owner: CustomerId,
        /// Who asked.
        requested_by: CustomerId,
    },
}

/// Product: one unit, from the day it arrives until it is returned or scrapped (§3 of
/// `docs/domain.md`, rules P1-P7).
///
/// A unit is identified by its model and serial number ([`ProductId::of`]). Before the sale it is
/// prepared: transport damage recorded and repaired, brought into working condition
/// (commissioning), test-run. Only a commissioned unit whose last test run passed and which has no
/// open damage can be sold. The sale records the customer, price, packaging, warranty terms and the
/// after-sale services ordered (delivery, installation, training), which then happen in that order.
/// The warranty starts at the event its terms name and ends on an inclusive date; whether a unit
/// is covered is a function of a date, never a stored flag.
#[derive(Debug, Clone, Copy, Default)]
pub struct Product;

impl Product {
    /// The stream of a unit: `product-{id}`.
    pub fn stream_id(product: ProductId) -> Result<StreamId, InvalidStreamId> {
        StreamId::for_entity("product", product)
    }
}

impl ProductCommand {
    /// The unit the command is for.
    pub fn product(&self) -> ProductId {
        match self {
            Self::ReceiveUnit { model, serial, .. } => ProductId::of(*model, serial),
            Self::RecordTransportDamage { product, .. }
            | Self::RepairTransportDamage { product, .. }
            | Self::Commission { product, .. }
            | Self::RecordTestRun { product, .. }
            | Self::Sell { product, .. }
            | Self::Deliver { product, .. }
            | Self::Install { product, .. }
            | Self::TrainUsers { product, .. }
            | Self::Modernize { product, .. }
            | Self::Return { product, .. }
            | Self::Scrap { product, .. } => *product,
        }
    }
}

impl Decider for Product {
    type State = ProductState;
    type Command = ProductCommand;
    type Event = ProductEvent;
    type Error = ProductError;

    fn state_size(state: &ProductState) -> usize {
        use crate::state_size::{map, strings};
        std::mem::size_of::<ProductState>()
            + map::<u32, Damage>(state.damages.len())
            + strings(state.damages.values().map(|damage| &damage.description))
            + strings(&state.modernizations)
    }

    fn apply(state: &mut ProductState, event: &ProductEvent) {
        apply(state, event);
    }

    fn decide(
        state: &ProductState,
        command: &ProductCommand,
    ) -> Result<Vec<ProductEvent>, ProductError> {
        let product = command.product();
        if !matches!(command, ProductCommand::ReceiveUnit { .. }) {
            received_and_open(state, product)?;
        }
        match command {
            ProductCommand::ReceiveUnit { model, serial, at } => {
                receive_unit(state, product, model, serial, at)
            }
            ProductCommand::RecordTransportDamage {
                description,
                severity,
                at,
                ..
            } => record_transport_damage(state, product, description, severity, at),
            ProductCommand::RepairTransportDamage { damage, at, .. } => {
                repair_transport_damage(state, product, damage, at)
            }
            ProductCommand::Commission { at, .. } => commission(state, product, at),
            ProductCommand::RecordTestRun {
                passed, notes, at, ..
            } => record_test_run(state, product, passed, notes, at),
            ProductCommand::Sell {
                customer,
                price,
                packaging,
                warranty,
                services,
                at,
                ..
            } => sell(
                state, product, customer, price, packaging, warranty, services, at,
            ),
            ProductCommand::Deliver { at, .. } => deliver(state, product, at),
            ProductCommand::Install { at, .. } => install(state, product, at),
            ProductCommand::TrainUsers { at, .. } => train_users(state, product, at),
            ProductCommand::Modernize {
                requested_by,
                description,
                at,
                ..
            } => modernize(state, product, requested_by, description, at),
            ProductCommand::Return { reason, at, .. } => return_unit(product, reason, at),
            ProductCommand::Scrap { reason, at, .. } => scrap(product, reason, at),
        }
    }
}

/// P1: receives a unit; a model and serial number are received once only.
fn receive_unit(
    state: &ProductState,
    product: ProductId,
    model: &ModelId,
    serial: &SerialNumber,
    at: &DateTime<Utc>,
) -> Result<Vec<ProductEvent>, ProductError> {
    match state.product {
        Some(_) => Err(ProductError::AlreadyReceived {
            product,
            model: *model,
            serial: serial.clone(),
        }),
        None => Ok(vec![ProductEvent::UnitReceived {
            product,
            model: *model,
            serial: serial.clone(),
            at: *at,
        }]),
    }
}

/// P2: records a transport damage, numbered after the last one; only before the sale, with a
/// description.
fn record_transport_damage(
    state: &ProductState,
    product: ProductId,
    description: &str,
    severity: &DamageSeverity,
    at: &DateTime<Utc>,
) -> Result<Vec<ProductEvent>, ProductError> {
    before_sale(state, product, "P2")?;
    check_text(product, "a damage description", description)?;
    let damage = state.damages.keys().next_back().map_or(1, |last| last + 1);
    Ok(vec![ProductEvent::TransportDamageRecorded {
        damage,
        description: description.trim().to_owned(),
        severity: *severity,
        at: *at,
    }])
}

/// P2: repairs a recorded transport damage, once; only before the sale.
fn repair_transport_damage(
    state: &ProductState,
    product: ProductId,
    damage: &u32,
    at: &DateTime<Utc>,
) -> Result<Vec<ProductEvent>, ProductError> {
    before_sale(state, product, "P2")?;
    match state.damages.get(damage) {
        None => Err(ProductError::UnknownDamage {
            product,
            damage: *damage,
        }),
        Some(found) if found.repaired => Err(ProductError::DamageAlreadyRepaired {
            product,
            damage: *damage,
        }),
        Some(_) => Ok(vec![ProductEvent::TransportDamageRepaired {
            damage: *damage,
            at: *at,
        }]),
    }
}

/// P3: brings the unit into working condition; only before the sale, and again changes nothing.
fn commission(
    state: &ProductState,
    product: ProductId,
    at: &DateTime<Utc>,
) -> Result<Vec<ProductEvent>, ProductError> {
    before_sale(state, product, "P3")?;
    // Bringing a working unit into working condition again changes nothing.
    Ok(if state.commissioned {
        Vec::new()
    } else {
        vec![ProductEvent::UnitCommissioned { at: *at }]
    })
}

/// P3: records a test run; only before the sale and after commissioning, notes not too long.
fn record_test_run(
    state: &ProductState,
    product: ProductId,
    passed: &bool,
    notes: &str,
    at: &DateTime<Utc>,
) -> Result<Vec<ProductEvent>, ProductError> {
    before_sale(state, product, "P3")?;
    if !state.commissioned {
        return Err(ProductError::NotCommissioned { product });
    }
    // Notes may be empty (a test run needs none), so they are not `check_text`, which asks for
    // at least one character; their length is counted as given, before trimming.
    if notes.chars().count() > MAX_TEXT_LEN {
        return Err(ProductError::BadText {
            product,
            field: "test run notes",
        });
    }
    Ok(vec![ProductEvent::TestRunRecorded {
        passed: *passed,
        notes: notes.trim().to_owned(),
        at: *at,
    }])
}

/// P4: sells a unit that is ready for sale, once, at a price not below zero, with packaging and a
/// warranty of at least a month that starts at a service ordered, not before its receipt; starts
/// the warranty when its terms start it at the sale (P5).
#[allow(clippy::too_many_arguments)] // one argument per field of the command
fn sell(
    state: &ProductState,
    product: ProductId,
    customer: &CustomerId,
    price: &Money,
    packaging: &str,
    warranty: &WarrantyTerms,
    services: &AfterSaleServices,
    at: &DateTime<Utc>,
) -> Result<Vec<ProductEvent>, ProductError> {
    before_sale(state, product, "P4")?;
    let missing = state.missing_for_sale();
    if !missing.is_empty() {
        return Err(ProductError::NotReadyForSale { product, missing });
    }
    if price.minor_units < 0 {
        return Err(ProductError::NegativePrice {
            product,
            price: *price,
        });
    }
    check_text(product, "the packaging", packaging)?;
    if warranty.months == 0 {
        return Err(ProductError::EmptyWarranty { product });
    }
    let start_ordered = match warranty.starts {
        WarrantyStart::OnSale => true,
        WarrantyStart::OnDelivery => services.delivery.is_some(),
        WarrantyStart::OnInstallation => services.installation,
    };
    if !start_ordered {
        return Err(ProductError::WarrantyWouldNeverStart {
            product,
            starts: warranty.starts,
        });
    }
    if let Some(received_at) = state.received_at {
        not_before("P4", product, "the sale", *at, received_at)?;
    }
    let sold = ProductEvent::UnitSold {
        customer: *customer,
        price: *price,
        packaging: packaging.trim().to_owned(),
        warranty: *warranty,
        services: *services,
        at: *at,
    };
    with_warranty_start(product, sold, warranty, WarrantyStart::OnSale, *at)
}

/// P5: delivers a sold unit, when delivery was ordered and is not done yet, not before the sale;
/// starts the warranty when its terms start it at delivery.
fn deliver(
    state: &ProductState,
    product: ProductId,
    at: &DateTime<Utc>,
) -> Result<Vec<ProductEvent>, ProductError> {
    let sale = sold(state, product)?;
    let ordered = sale.services.delivery.is_some();
    pending(
        product,
        AfterSaleService::Delivery,
        ordered,
        state.delivered_at,
    )?;
    not_before("P5", product, "the delivery", *at, sale.at)?;
    let delivered = ProductEvent::UnitDelivered { at: *at };
    with_warranty_start(
        product,
        delivered,
        &sale.warranty,
        WarrantyStart::OnDelivery,
        *at,
    )
}

/// P5: installs a sold unit, when installation was ordered and is not done yet, after the
/// delivery when that was ordered; starts the warranty when its terms start it at installation.
fn install(
    state: &ProductState,
    product: ProductId,
    at: &DateTime<Utc>,
) -> Result<Vec<ProductEvent>, ProductError> {
    let sale = sold(state, product)?;
    let ordered = sale.services.installation;
    pending(
        product,
        AfterSaleService::Installation,
        ordered,
        state.installed_at,
    )?;
    let earliest = after_prerequisite(
        product,
        AfterSaleService::Installation,
        (
            AfterSaleService::Delivery,
            sale.services.delivery.is_some(),
            state.delivered_at,
        ),
        sale.at,
    )?;
    not_before("P5", product, "the installation", *at, earliest)?;
    let installed = ProductEvent::UnitInstalled { at: *at };
    let starts = WarrantyStart::OnInstallation;
    with_warranty_start(product, installed, &sale.warranty, starts, *at)
}

/// P5: trains the users of a sold unit, when training was ordered and is not done yet, after the
/// installation when that was ordered (else not before the delivery or the sale).
fn train_users(
    state: &ProductState,
    product: ProductId,
    at: &DateTime<Utc>,
) -> Result<Vec<ProductEvent>, ProductError> {
    let sale = sold(state, product)?;
    let ordered = sale.services.training;
    pending(
        product,
        AfterSaleService::Training,
        ordered,
        state.trained_at,
    )?;
    let earliest = after_prerequisite(
        product,
        AfterSaleService::Training,
        (
            AfterSaleService::Installation,
            sale.services.installation,
            state.installed_at,
        ),
        state.delivered_at.unwrap_or(sale.at),
    )?;
    not_before("P5", product, "the training", *at, earliest)?;
    Ok(vec![ProductEvent::UsersTrained { at: *at }])
}

/// P6: modernizes a sold unit at its owner's request, with a description, not before the sale.
fn modernize(
    state: &ProductState,
    product: ProductId,
    requested_by: &CustomerId,
    description: &str,
    at: &DateTime<Utc>,
) -> Result<Vec<ProductEvent>, ProductError> {
    let sale = sold(state, product)?;
    if *requested_by != sale.customer {
        return Err(ProductError::NotRequestedByOwner {
            product,
            owner: sale.customer,
            requested_by: *requested_by,
        });
    }
    check_text(product, "a modernization description", description)?;
    not_before("P6", product, "the modernization", *at, sale.at)?;
    Ok(vec![ProductEvent::UnitModernized {
        description: description.trim().to_owned(),
        at: *at,
    }])
}

/// P7: the unit was returned, for a reason; closes it.
fn return_unit(
    product: ProductId,
    reason: &str,
    at: &DateTime<Utc>,
) -> Result<Vec<ProductEvent>, ProductError> {
    check_text(product, "a reason", reason)?;
    Ok(vec![ProductEvent::UnitReturned {
        reason: reason.trim().to_owned(),
        at: *at,
    }])
}

/// P7: the unit was scrapped, for a reason; closes it.
fn scrap(
    product: ProductId,
    reason: &str,
    at: &DateTime<Utc>,
) -> Result<Vec<ProductEvent>, ProductError> {
    check_text(product, "a reason", reason)?;
    Ok(vec![ProductEvent::UnitScrapped {
        reason: reason.trim().to_owned(),
        at: *at,
    }])
}

/// The checks of every command but the first (P1): the unit was received, it is the unit the
/// command names, and it is not closed (P7).
fn received_and_open(state: &ProductState, product: ProductId) -> Result<(), ProductError> {
    let Some(stream_product) = state.product else {
        return Err(ProductError::NotReceived { product });
    };
    if stream_product != product {
        return Err(ProductError::WrongUnit {
            command: product,
            stream: stream_product,
        });
    }
    if let Some((status, _)) = state.closed {
        return Err(ProductError::Closed { product, status });
    }
    Ok(())
}

/// P2, P3, P4: preparation happens only before the sale, and the sale only once (`rule` says
/// which).
fn before_sale(
    state: &ProductState,
    product: ProductId,
    rule: &'static str,
) -> Result<(), ProductError> {
    match state.sale {
        Some(_) => Err(ProductError::AlreadySold { rule, product }),
        None => Ok(()),
    }
}

/// P5: `service` was ordered with the sale and has not happened yet.
fn pending(
    product: ProductId,
    service: AfterSaleService,
    ordered: bool,
    done_at: Option<DateTime<Utc>>,
) -> Result<(), ProductError> {
    if !ordered {
        return Err(ProductError::ServiceNotOrdered { product, service });
    }
    if done_at.is_some() {
        return Err(ProductError::ServiceAlreadyDone { product, service });
    }
    Ok(())
}

/// P5: the earliest date of `service`: when its prerequisite happened, if that was ordered (and it
/// must have happened), else `otherwise`. The prerequisite is (service, ordered, done at).
fn after_prerequisite(
    product: ProductId,
    service: AfterSaleService,
    (needs, ordered, done_at): (AfterSaleService, bool, Option<DateTime<Utc>>),
    otherwise: DateTime<Utc>,
) -> Result<DateTime<Utc>, ProductError> {
    match (ordered, done_at) {
        (true, None) => Err(ProductError::ServiceOutOfOrder {
            product,
            service,
            needs,
        }),
        (true, Some(done_at)) => Ok(done_at),
        (false, _) => Ok(otherwise),
    }
}

/// P5, P6: the sale, for what needs the unit sold.
fn sold(state: &ProductState, product: ProductId) -> Result<&Sale, ProductError> {
    state.sale.as_ref().ok_or(ProductError::NotSold { product })
}

/// P5: `event`, followed by `WarrantyStarted` when the warranty's terms start it at `this` event.
fn with_warranty_start(
    product: ProductId,
    event: ProductEvent,
    terms: &WarrantyTerms,
    this: WarrantyStart,
    at: DateTime<Utc>,
) -> Result<Vec<ProductEvent>, ProductError> {
    if terms.starts != this {
        return Ok(vec![event]);
    }
    let from = at.date_naive();
    let until = terms
        .until(from)
        .ok_or(ProductError::WarrantyEndOutOfRange { product })?;
    Ok(vec![event, ProductEvent::WarrantyStarted { from, until }])
}

/// A description, note, reason or packaging of 1 to [`MAX_TEXT_LEN`] characters, trimmed.
fn check_text(product: ProductId, field: &'static str, text: &str) -> Result<(), ProductError> {
    checks::trimmed(text, 1, MAX_TEXT_LEN)
        .map(|_| ())
        .map_err(|BadLength| ProductError::BadText { product, field })
}

/// `what` at `at` may not be dated before `earliest`, when the step it follows happened.
fn not_before(
    rule: &'static str,
    product: ProductId,
    what: &'static str,
    at: DateTime<Utc>,
    earliest: DateTime<Utc>,
) -> Result<(), ProductError> {
    checks::not_before(at, earliest).map_err(|TooEarly { at, earliest }| {
        ProductError::DateOutOfOrder {
            rule,
            product,
            what,
            at,
            earliest,
        }
    })
}

#[cfg(test)]
mod tests;
