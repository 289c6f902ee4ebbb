//! The PartsSupply aggregate (§6 of `docs/domain.md`): events, state, fold (`apply`), and decide as
//! a table of one function per command. What it models is documented on [`PartsSupply`].

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::values::{guarantee_end, CallId, ModelId, PartNumber, TechnicianId};
use crate::event_enum::event_enum;
use crate::kernel::{Decider, InvalidStreamId, StreamId};

/// Years a part is guaranteed after its model is discontinued, unless the command says otherwise.
pub const DEFAULT_GUARANTEE_YEARS: u32 = 10;

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------

/// Where stock is kept.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Location {
    /// The central warehouse (the default).
    CentralWarehouse,
    /// A technician's van.
    Van(TechnicianId),
    /// Another named store.
    Store(String),
}

event_enum! {
    /// What happened to a part's supply.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
    #[serde(tag = "type", content = "data")]
    pub enum PartEvent {
        /// R1: the part was registered with the models that use it.
        "parts.part_registered" => PartRegistered {
            /// The part.
            part: PartNumber,
            /// Models using it, with the quantity per unit.
            models: BTreeMap<ModelId, u32>,
            /// Available stock below which a reorder is due (R5).
            reorder_point: u32,
            /// When.
            at: DateTime<Utc>,
        },
        /// Stock arrived at a location.
        "parts.stock_received" => StockReceived {
            /// Where.
            location: Location,
            /// How many.
            quantity: u32,
            /// When.
            at: DateTime<Utc>,
        },
        /// R2: stock was reserved for a service call.
        "parts.reserved" => Reserved {
            /// The reservation's number.
            reservation: u32,
            /// The call.
            call: CallId,
            /// Where.
            location: Location,
            /// How many.
            quantity: u32,
            /// When.
            at: DateTime<Utc>,
        },
        /// R4: a request that stock could not serve became a backorder.
        "parts.backordered" => Backordered {
            /// The backorder's number (lower is older).
            backorder: u32,
            /// The call.
            call: CallId,
            /// Where it is wanted.
            location: Location,
            /// How many.
            quantity: u32,
            /// When.
            at: DateTime<Utc>,
        },
        /// R4: arriving stock filled a backorder (it becomes a reservation).
        "parts.backorder_filled" => BackorderFilled {
            /// The backorder.
            backorder: u32,
            /// The reservation it became.
            reservation: u32,
            /// How many, when fewer than the backorder waits for (the rest keeps waiting);
            /// absent when the whole backorder was filled.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            quantity: Option<u32>,
            /// When.
            at: DateTime<Utc>,
        },
        /// R2: reserved stock was issued (it leaves the stock).
        "parts.issued" => Issued {
            /// The reservation.
            reservation: u32,
            /// How many.
            quantity: u32,
            /// When.
            at: DateTime<Utc>,
        },
        /// R2: a reservation was released (the stock is free again).
        "parts.released" => Released {
            /// The reservation.
            reservation: u32,
            /// How many were still reserved.
            quantity: u32,
            /// When.
            at: DateTime<Utc>,
        },
        /// R2: free stock moved between locations.
        "parts.transferred" => Transferred {
            /// From.
            from: Location,
            /// To.
            to: Location,
            /// How many.
            quantity: u32,
            /// When.
            at: DateTime<Utc>,
        },
        /// R3: a model using the part was discontinued; the part is guaranteed until a date.
        "parts.model_discontinued" => ModelDiscontinued {
            /// The model.
            model: ModelId,
            /// The last day the part is guaranteed for it (inclusive).
            guaranteed_until: NaiveDate,
            /// The last day of last-time buys.
            last_order_date: NaiveDate,
            /// When.
            at: DateTime<Utc>,
        },
        /// R3: a last-time buy was placed (it cannot be cancelled).
        "parts.last_time_buy_placed" => LastTimeBuyPlaced {
            /// How many.
            quantity: u32,
            /// When.
            at: DateTime<Utc>,
        },
        /// R5: available stock fell below the reorder point.
        "parts.reorder_point_reached" => ReorderPointReached {
            /// Available stock (on hand less reserved, all locations).
            available: u64,
            /// The reorder point.
            reorder_point: u32,
            /// When.
            at: DateTime<Utc>,
        },
        /// R4: the part was retired after its obligation ended; closed.
        "parts.part_retired" => PartRetired {
            /// When.
            at: DateTime<Utc>,
        },
    }
}

impl PartEvent {
    /// When the event occurred in business time: its `at`, or none for an event recorded
    /// together with the one before it (it occurred with that one).
    pub fn occurred_at(&self) -> Option<DateTime<Utc>> {
        match self {
            Self::PartRegistered { at, .. }
            | Self::StockReceived { at, .. }
            | Self::Reserved { at, .. }
            | Self::Backordered { at, .. }
            | Self::BackorderFilled { at, .. }
            | Self::Issued { at, .. }
            | Self::Released { at, .. }
            | Self::Transferred { at, .. }
            | Self::ModelDiscontinued { at, .. }
            | Self::LastTimeBuyPlaced { at, .. }
            | Self::ReorderPointReached { at, .. }
            | Self::PartRetired { at, .. } => Some(*at),
        }
    }
}
// ---------------------------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------------------------

/// Stock at one location.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct Stock {
    /// Units on hand.
    pub on_hand: u64,
    /// Units on hand reserved for calls (never more than on hand).
    pub reserved: u64,
}

impl Stock {
    /// Units free to reserve or move.
    pub fn available(&self) -> u64 {
        self.on_hand.saturating_sub(self.reserved)
    }
}

/// Units held for one service call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Reservation {
    /// The call.
    pub call: CallId,
    /// Where.
    pub location: Location,
    /// How many are still reserved.
    pub quantity: u32,
}

/// A request waiting for stock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Backorder {
    /// The call.
    pub call: CallId,
    /// Where it is wanted.
    pub location: Location,
    /// How many.
    pub quantity: u32,
    /// The day it was requested.
    pub requested_on: NaiveDate,
}

/// A discontinued model's guarantee on the part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Discontinuation {
    /// The day it was discontinued.
    pub on: NaiveDate,
    /// The last guaranteed day (inclusive).
    pub guaranteed_until: NaiveDate,
    /// The last day of last-time buys (inclusive).
    pub last_order_date: NaiveDate,
}

/// The folded state of one part.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PartState {
    /// The part, once registered.
    pub part: Option<PartNumber>,
    /// Models using it, with the quantity per unit.
    pub models: BTreeMap<ModelId, u32>,
    /// The reorder point.
    pub reorder_point: u32,
    /// Stock per location (a list of pairs in JSON: locations are not strings).
    #[serde(with = "super::values::map_as_pairs")]
    #[schemars(with = "Vec<(Location, Stock)>")]
    pub stock: BTreeMap<Location, Stock>,
    /// Open reservations by number.
    pub reservations: BTreeMap<u32, Reservation>,
    /// Open backorders by number, oldest first.
    pub backorders: BTreeMap<u32, Backorder>,
    /// Discontinued models' guarantees.
    pub discontinued: BTreeMap<ModelId, Discontinuation>,
    /// Last-time buys placed: (quantity, day).
    pub last_time_buys: Vec<(u32, NaiveDate)>,
    /// Units issued in all. (Consumption over time is a report's question: the parts-horizon
    /// projection reads it from the events, which keeps this state small to fold and copy.)
    pub issued: u64,
    /// Whether the part was retired.
    pub retired: bool,
    /// The last reservation number used.
    pub last_reservation: u32,
    /// The last backorder number used.
    pub last_backorder: u32,
}

impl PartState {
    /// The end of the supply obligation: the latest guarantee over the discontinued models.
    /// `None` while no model using the part is discontinued (the part is still in production
    /// supply).
    pub fn obligation_until(&self) -> Option<NaiveDate> {
        self.discontinued
            .values()
            .map(|discontinued| discontinued.guaranteed_until)
            .max()
    }

    /// Whether a request on `date` is inside the obligation (or no model is discontinued yet).
    pub fn obligation_runs(&self, date: NaiveDate) -> bool {
        self.obligation_until().is_none_or(|until| date <= until)
    }

    /// Units free to reserve, over all locations.
    pub fn available(&self) -> u64 {
        self.stock.values().map(Stock::available).sum()
    }

    /// Units on hand, over all locations.
    pub fn on_hand(&self) -> u64 {
        self.stock.values().map(|stock| stock.on_hand).sum()
    }

    /// Units reserved, over all locations.
    pub fn reserved(&self) -> u64 {
        self.stock.values().map(|stock| stock.reserved).sum()
    }

    /// Units waiting on backorders.
    pub fn backordered(&self) -> u64 {
        self.backorders
            .values()
            .map(|backorder| u64::from(backorder.quantity))
            .sum()
    }

    fn stock_at(&self, location: &Location) -> Stock {
        self.stock.get(location).copied().unwrap_or_default()
    }
}

/// How many units a `parts.backorder_filled` gives a backorder waiting for `waiting`: its
/// `quantity`, or the whole backorder when the event has none (every such event written before
/// backorders were filled in part). The aggregate and the directory both read it so.
pub(crate) fn units_filled(quantity: Option<u32>, waiting: u32) -> u32 {
    quantity.map_or(waiting, |quantity| quantity.min(waiting))
}

fn apply(state: &mut PartState, event: &PartEvent) {
    match event {
        PartEvent::PartRegistered {
            part,
            models,
            reorder_point,
            ..
        } => {
            state.part = Some(part.clone());
            state.models = models.clone();
            state.reorder_point = *reorder_point;
        }
        PartEvent::StockReceived {
            location, quantity, ..
        } => {
            state.stock.entry(location.clone()).or_default().on_hand += u64::from(*quantity);
        }
        PartEvent::Reserved {
            reservation,
            call,
            location,
            quantity,
            ..
        } => {
            state.stock.entry(location.clone()).or_default().reserved += u64::from(*quantity);
            state.reservations.insert(
                *reservation,
                Reservation {
                    call: *call,
                    location: location.clone(),
                    quantity: *quantity,
                },
            );
            state.last_reservation = state.last_reservation.max(*reservation);
        }
        PartEvent::Backordered {
            backorder,
            call,
            location,
            quantity,
            at,
        } => {
            state.backorders.insert(
                *backorder,
                Backorder {
                    call: *call,
                    location: location.clone(),
                    quantity: *quantity,
                    requested_on: at.date_naive(),
                },
            );
            state.last_backorder = state.last_backorder.max(*backorder);
        }
        PartEvent::BackorderFilled {
            backorder,
            reservation,
            quantity,
            ..
        } => {
            if let Some(waiting) = state.backorders.get_mut(backorder) {
                let filled = units_filled(*quantity, waiting.quantity);
                let (call, location) = (waiting.call, waiting.location.clone());
                waiting.quantity -= filled;
                if waiting.quantity == 0 {
                    state.backorders.remove(backorder);
                }
                state.stock.entry(location.clone()).or_default().reserved += u64::from(filled);
                state.reservations.insert(
                    *reservation,
                    Reservation {
                        call,
                        location,
                        quantity: filled,
                    },
                );
                state.last_reservation = state.last_reservation.max(*reservation);
            }
        }
        PartEvent::Issued {
            reservation,
            quantity,
            ..
        } => {
            if let Some(held) = state.reservations.get_mut(reservation) {
                let stock = state.stock.entry(held.location.clone()).or_default();
                stock.on_hand = stock.on_hand.saturating_sub(u64::from(*quantity));
                stock.reserved = stock.reserved.saturating_sub(u64::from(*quantity));
                held.quantity = held.quantity.saturating_sub(*quantity);
                if held.quantity == 0 {
                    state.reservations.remove(reservation);
                }
                state.issued += u64::from(*quantity);
            }
        }
        PartEvent::Released {
            reservation,
            quantity,
            ..
        } => {
            if let Some(held) = state.reservations.remove(reservation) {
                let stock = state.stock.entry(held.location).or_default();
                stock.reserved = stock.reserved.saturating_sub(u64::from(*quantity));
            }
        }
        PartEvent::Transferred {
            from, to, quantity, ..
        } => {
            let moved = u64::from(*quantity);
            let source = state.stock.entry(from.clone()).or_default();
            source.on_hand = source.on_hand.saturating_sub(moved);
            state.stock.entry(to.clone()).or_default().on_hand += moved;
        }
        PartEvent::ModelDiscontinued {
            model,
            guaranteed_until,
            last_order_date,
            at,
        } => {
            state.discontinued.insert(
                *model,
                Discontinuation {
                    on: at.date_naive(),
                    guaranteed_until: *guaranteed_until,
                    last_order_date: *last_order_date,
                },
            );
        }
        PartEvent::LastTimeBuyPlaced { quantity, at } => {
            state.last_time_buys.push((*quantity, at.date_naive()));
        }
        PartEvent::ReorderPointReached { .. } => {}
        PartEvent::PartRetired { .. } => state.retired = true,
    }
}

// ---------------------------------------------------------------------------------------------
// Decide
// ---------------------------------------------------------------------------------------------

/// What can be asked of a part's supply. Every command carries its business time `at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum PartCommand {
    /// R1: register the part with the models that use it.
    RegisterPart {
        /// The part.
        part: PartNumber,
        /// Models using it, with the quantity per unit (at least 1 each, at least one model).
        models: BTreeMap<ModelId, u32>,
        /// The reorder point (R5).
        reorder_point: u32,
        /// When.
        at: DateTime<Utc>,
    },
    /// Receive stock at a location (fills backorders first, oldest first).
    ReceiveStock {
        /// The part.
        part: PartNumber,
        /// Where.
        location: Location,
        /// How many (not zero).
        quantity: u32,
        /// When.
        at: DateTime<Utc>,
    },
    /// R2, R4: request units for a service call: reserved from stock at the location, or
    /// backordered inside the obligation, or refused after it.
    Reserve {
        /// The part.
        part: PartNumber,
        /// The call.
        call: CallId,
        /// Where.
        location: Location,
        /// How many (not zero).
        quantity: u32,
        /// When.
        at: DateTime<Utc>,
    },
    /// R2: issue reserved units (only what is reserved).
    Issue {
        /// The part.
        part: PartNumber,
        /// The reservation.
        reservation: u32,
        /// How many (not zero, at most what is reserved).
        quantity: u32,
        /// When.
        at: DateTime<Utc>,
    },
    /// R2: release a reservation.
    Release {
        /// The part.
        part: PartNumber,
        /// The reservation.
        reservation: u32,
        /// When.
        at: DateTime<Utc>,
    },
    /// R2: move free stock between locations.
    Transfer {
        /// The part.
        part: PartNumber,
        /// From.
        from: Location,
        /// To.
        to: Location,
        /// How many (not zero, at most what is free at `from`).
        quantity: u32,
        /// When.
        at: DateTime<Utc>,
    },
    /// R3: a model using the part was discontinued (issued to every part of the model by the
    /// policy).
    DiscontinueModel {
        /// The part.
        part: PartNumber,
        /// The model.
        model: ModelId,
        /// Years of guarantee ([`DEFAULT_GUARANTEE_YEARS`] by default).
        guarantee_years: u32,
        /// The last day of last-time buys.
        last_order_date: NaiveDate,
        /// When.
        at: DateTime<Utc>,
    },
    /// R3: place a last-time buy (up to the last order date; it cannot be cancelled).
    PlaceLastTimeBuy {
        /// The part.
        part: PartNumber,
        /// How many (not zero).
        quantity: u32,
        /// When.
        at: DateTime<Utc>,
    },
    /// R4: retire the part (only after its obligation ended).
    Retire {
        /// The part.
        part: PartNumber,
        /// When.
        at: DateTime<Utc>,
    },
}

impl PartCommand {
    /// The part the command is about.
    pub fn part(&self) -> &PartNumber {
        match self {
            Self::RegisterPart { part, .. }
            | Self::ReceiveStock { part, .. }
            | Self::Reserve { part, .. }
            | Self::Issue { part, .. }
            | Self::Release { part, .. }
            | Self::Transfer { part, .. }
            | Self::DiscontinueModel { part, .. }
            | Self::PlaceLastTimeBuy { part, .. }
            | Self::Retire { part, .. } => part,
        }
    }
}

/// Why a part's supply refuses a command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "rule_broken", rename_all = "snake_case")]
#[non_exhaustive]
pub enum PartError {
    /// R1: registered already.
    #[error("part {part} is registered already: a part number is registered once (R1)")]
    AlreadyRegistered {
        /// The part.
        part: PartNumber,
    },
    /// Never registered.
    #[error("part {part} was never registered")]
    NotRegistered {
        /// The part.
        part: PartNumber,
    },
    /// The command names another part than the stream holds.
    #[error("the command is for part {command}, but this stream holds part {stream}")]
    WrongPart {
        /// The part the command names.
        command: PartNumber,
        /// The part of the stream.
        stream: PartNumber,
    },
    /// R1: a part needs at least one model, each with a quantity of at least one.
    #[error("part {part} names no model that uses it: a part is registered with the models that use it, at least one unit each (R1)")]
    NoModels {
        /// The part.
        part: PartNumber,
    },
    /// A quantity of zero.
    #[error("part {part}: a quantity must not be zero")]
    ZeroQuantity {
        /// The part.
        part: PartNumber,
    },
    /// R1: not enough free stock at the location.
    #[error("part {part} has {available} free at {location:?}, fewer than the {requested} asked for: stock on hand never goes below zero nor below what is reserved (R1)")]
    InsufficientStock {
        /// The part.
        part: PartNumber,
        /// Where.
        location: Location,
        /// Free units there.
        available: u64,
        /// Units asked for.
        requested: u32,
    },
    /// R4: after the obligation, a request without stock is refused.
    #[error("the supply obligation for part {part} ended on {ended}, and {requested} cannot be supplied from stock at {location:?}: after the obligation a request without stock is refused (R4)")]
    ObligationEnded {
        /// The part.
        part: PartNumber,
        /// The obligation's last day.
        ended: NaiveDate,
        /// Where.
        location: Location,
        /// Units asked for.
        requested: u32,
    },
    /// R2: no open reservation of that number.
    #[error("part {part} has no open reservation number {reservation}: only an open reservation is issued or released (R2)")]
    UnknownReservation {
        /// The part.
        part: PartNumber,
        /// The number given.
        reservation: u32,
    },
    /// R2: issuing more than is reserved.
    #[error("reservation {reservation} of part {part} holds {reserved}, fewer than the {requested} to issue: only what is reserved is issued (R2)")]
    IssueBeyondReservation {
        /// The part.
        part: PartNumber,
        /// The reservation.
        reservation: u32,
        /// Units reserved.
        reserved: u32,
        /// Units asked to issue.
        requested: u32,
    },
    /// R2: a transfer to the same location.
    #[error("part {part} cannot be transferred to where it is: a transfer moves stock between two different locations (R2)")]
    TransferToItself {
        /// The part.
        part: PartNumber,
    },
    /// R3: the model does not use the part.
    #[error("model {model} does not use part {part}: a discontinuation applies to the parts its model uses (R3)")]
    ModelDoesNotUsePart {
        /// The part.
        part: PartNumber,
        /// The model.
        model: ModelId,
    },
    /// R3: a guarantee of zero years, or a last order date after the guarantee ends.
    #[error("the guarantee of part {part} for model {model} is not valid: it lasts at least a year and its last order date falls within it (R3)")]
    BadGuarantee {
        /// The part.
        part: PartNumber,
        /// The model.
        model: ModelId,
    },
    /// R3: last-time buys need a discontinued model whose last order date has not passed.
    #[error("no last-time buy of part {part} can be placed on {date} (last order date {last_order_date:?}): a last-time buy is placed only up to the last order date (R3)")]
    PastLastOrderDate {
        /// The part.
        part: PartNumber,
        /// The day asked for.
        date: NaiveDate,
        /// The latest last order date, if any model is discontinued.
        last_order_date: Option<NaiveDate>,
    },
    /// R4: a part cannot be retired while its obligation runs.
    #[error(
        "part {part} cannot be retired while its supply obligation runs (until {until:?}): parts are supplied for the whole obligation (R4)"
    )]
    ObligationRuns {
        /// The part.
        part: PartNumber,
        /// The obligation's end, if a model is discontinued (none: still in production supply).
        until: Option<NaiveDate>,
    },
    /// The part was retired.
    #[error("part {part} is retired")]
    Retired {
        /// The part.
        part: PartNumber,
    },
}

/// PartsSupply: one spare part across locations, with the supply obligation that outlives its
/// models (§6 of `docs/domain.md`, rules R1-R5).
///
/// Stock is kept per location (the central warehouse, a technician's van, a site): on hand never
/// below zero, reserved never above on hand. A request for a service call is reserved from stock or,
/// inside the supply obligation, becomes a backorder; receiving stock fills backorders first,
/// oldest first. Discontinuing a model that uses the part sets a guarantee (10 years by default);
/// the part's obligation ends at the latest guarantee of its models. After that, a request without
/// stock is refused, naming the obligation's end. Falling below the reorder point is recorded.
#[derive(Debug, Clone, Copy, Default)]
pub struct PartsSupply;

impl PartsSupply {
    /// The stream of a part: `part-{part number}`.
    pub fn stream_id(part: &PartNumber) -> Result<StreamId, InvalidStreamId> {
        StreamId::for_entity("part", part)
    }
}

/// A decision being built: each event is applied to a working copy of the state, so later
/// events of the same decision (backorder fills, the reorder point) see the earlier ones.
struct Decision {
    state: PartState,
    events: Vec<PartEvent>,
    available_before: u64,
}

impl Decision {
    fn new(state: &PartState) -> Self {
        Self {
            available_before: state.available(),
            state: state.clone(),
            events: Vec::new(),
        }
    }

    fn push(&mut self, event: PartEvent) {
        apply(&mut self.state, &event);
        self.events.push(event);
    }

    /// R4: gives the free stock at `location` to the backorders waiting there, oldest first: each
    /// takes what it waits for, as far as the stock goes; one filled in part keeps waiting for
    /// the rest, ahead of every younger one.
    fn fill_backorders(&mut self, location: &Location, at: DateTime<Utc>) {
        loop {
            let oldest = self
                .state
                .backorders
                .iter()
                .find(|(_, backorder)| &backorder.location == location)
                .map(|(&number, backorder)| (number, backorder.quantity));
            let Some((backorder, wanted)) = oldest else {
                return;
            };
            let free = self.state.stock_at(location).available();
            if free == 0 {
                return;
            }
            // At most `wanted`, so it fits the backorder's u32.
            let filled = u32::try_from(free.min(u64::from(wanted))).unwrap_or(wanted);
            let reservation = self.state.last_reservation + 1;
            self.push(PartEvent::BackorderFilled {
                backorder,
                reservation,
                quantity: (filled < wanted).then_some(filled),
                at,
            });
        }
    }

    /// R5: records the reorder point when this decision took available stock below it.
    fn finish(mut self, at: DateTime<Utc>) -> Vec<PartEvent> {
        let point = u64::from(self.state.reorder_point);
        let available = self.state.available();
        if self.available_before >= point && available < point {
            self.push(PartEvent::ReorderPointReached {
                available,
                reorder_point: self.state.reorder_point,
                at,
            });
        }
        self.events
    }
}

impl Decider for PartsSupply {
    type State = PartState;
    type Command = PartCommand;
    type Event = PartEvent;
    type Error = PartError;

    fn state_size(state: &PartState) -> usize {
        use crate::state_size::map;
        std::mem::size_of::<PartState>()
            + map::<ModelId, u32>(state.models.len())
            + map::<Location, Stock>(state.stock.len())
            + map::<u32, Reservation>(state.reservations.len())
            + map::<u32, Backorder>(state.backorders.len())
            + map::<ModelId, Discontinuation>(state.discontinued.len())
            + state.last_time_buys.len() * std::mem::size_of::<(u32, NaiveDate)>()
    }

    fn apply(state: &mut PartState, event: &PartEvent) {
        apply(state, event);
    }

    fn decide(state: &PartState, command: &PartCommand) -> Result<Vec<PartEvent>, PartError> {
        let part = command.part().clone();
        if !matches!(command, PartCommand::RegisterPart { .. }) {
            registered_not_retired(state, &part)?;
        }
        match command {
            PartCommand::RegisterPart {
                models,
                reorder_point,
                at,
                ..
            } => register_part(state, part, models, reorder_point, at),
            PartCommand::ReceiveStock {
                location,
                quantity,
                at,
                ..
            } => receive_stock(state, part, location, quantity, at),
            PartCommand::Reserve {
                call,
                location,
                quantity,
                at,
                ..
            } => reserve(state, part, call, location, quantity, at),
            PartCommand::Issue {
                reservation,
                quantity,
                at,
                ..
            } => issue(state, part, reservation, quantity, at),
            PartCommand::Release {
                reservation, at, ..
            } => release(state, part, reservation, at),
            PartCommand::Transfer {
                from,
                to,
                quantity,
                at,
                ..
            } => transfer(state, part, from, to, quantity, at),
            PartCommand::DiscontinueModel {
                model,
                guarantee_years,
                last_order_date,
                at,
                ..
            } => discontinue_model(state, part, model, guarantee_years, last_order_date, at),
            PartCommand::PlaceLastTimeBuy { quantity, at, .. } => {
                place_last_time_buy(state, part, quantity, at)
            }
            PartCommand::Retire { at, .. } => retire(state, part, at),
        }
    }
}

/// R1: registers the part once, with at least one model using it, each at least one per unit,
/// and its reorder point (R5).
fn register_part(
    state: &PartState,
    part: PartNumber,
    models: &BTreeMap<ModelId, u32>,
    reorder_point: &u32,
    at: &DateTime<Utc>,
) -> Result<Vec<PartEvent>, PartError> {
    if state.part.is_some() {
        return Err(PartError::AlreadyRegistered { part });
    }
    if models.is_empty() || models.values().any(|&per_unit| per_unit == 0) {
        return Err(PartError::NoModels { part });
    }
    Ok(vec![PartEvent::PartRegistered {
        part,
        models: models.clone(),
        reorder_point: *reorder_point,
        at: *at,
    }])
}

/// R4: receives stock at a location, not zero, and fills the backorders waiting there, oldest
/// first.
fn receive_stock(
    state: &PartState,
    part: PartNumber,
    location: &Location,
    quantity: &u32,
    at: &DateTime<Utc>,
) -> Result<Vec<PartEvent>, PartError> {
    let mut decision = Decision::new(state);
    let quantity = quantity_of(&part, *quantity)?;
    decision.push(PartEvent::StockReceived {
        location: location.clone(),
        quantity,
        at: *at,
    });
    decision.fill_backorders(location, *at);
    Ok(decision.finish(*at))
}

/// R2, R4: reserves units, not zero, for a call from the free stock at a location; without
/// enough, while the supply obligation runs, reserves what is free and backorders the rest, and
/// after it refuses. Stock a backorder waits for is never free to a newer request.
fn reserve(
    state: &PartState,
    part: PartNumber,
    call: &CallId,
    location: &Location,
    quantity: &u32,
    at: &DateTime<Utc>,
) -> Result<Vec<PartEvent>, PartError> {
    let mut decision = Decision::new(state);
    let quantity = quantity_of(&part, *quantity)?;
    // A newer request never takes stock ahead of a backorder waiting at the same location.
    let waiting = state
        .backorders
        .values()
        .any(|backorder| &backorder.location == location);
    let free = if waiting {
        0
    } else {
        state.stock_at(location).available()
    };
    if free >= u64::from(quantity) {
        let reservation = state.last_reservation + 1;
        decision.push(PartEvent::Reserved {
            reservation,
            call: *call,
            location: location.clone(),
            quantity,
            at: *at,
        });
    } else if state.obligation_runs(at.date_naive()) {
        // What is free is reserved, the rest backordered (stock 2, request 3: 2 and 1).
        let reserved = u32::try_from(free).unwrap_or(0);
        if reserved > 0 {
            decision.push(PartEvent::Reserved {
                reservation: state.last_reservation + 1,
                call: *call,
                location: location.clone(),
                quantity: reserved,
                at: *at,
            });
        }
        decision.push(PartEvent::Backordered {
            backorder: state.last_backorder + 1,
            call: *call,
            location: location.clone(),
            quantity: quantity - reserved,
            at: *at,
        });
    } else {
        return Err(PartError::ObligationEnded {
            part,
            ended: state.obligation_until().unwrap_or(NaiveDate::MIN),
            location: location.clone(),
            requested: quantity,
        });
    }
    Ok(decision.finish(*at))
}

/// R2: issues reserved units, not zero and no more than the open reservation holds.
fn issue(
    state: &PartState,
    part: PartNumber,
    reservation: &u32,
    quantity: &u32,
    at: &DateTime<Utc>,
) -> Result<Vec<PartEvent>, PartError> {
    let mut decision = Decision::new(state);
    let quantity = quantity_of(&part, *quantity)?;
    let held = state
        .reservations
        .get(reservation)
        .ok_or(PartError::UnknownReservation {
            part: part.clone(),
            reservation: *reservation,
        })?;
    if quantity > held.quantity {
        return Err(PartError::IssueBeyondReservation {
            part,
            reservation: *reservation,
            reserved: held.quantity,
            requested: quantity,
        });
    }
    decision.push(PartEvent::Issued {
        reservation: *reservation,
        quantity,
        at: *at,
    });
    Ok(decision.finish(*at))
}

/// R2, R4: releases what an open reservation still holds, and fills the backorders waiting at its
/// location, oldest first.
fn release(
    state: &PartState,
    part: PartNumber,
    reservation: &u32,
    at: &DateTime<Utc>,
) -> Result<Vec<PartEvent>, PartError> {
    let mut decision = Decision::new(state);
    let held = state
        .reservations
        .get(reservation)
        .ok_or(PartError::UnknownReservation {
            part: part.clone(),
            reservation: *reservation,
        })?;
    let location = held.location.clone();
    decision.push(PartEvent::Released {
        reservation: *reservation,
        quantity: held.quantity,
        at: *at,
    });
    decision.fill_backorders(&location, *at);
    Ok(decision.finish(*at))
}

/// R2, R4: moves free stock, not zero and no more than is free, between two different locations,
/// and fills the backorders waiting where it arrives, oldest first.
fn transfer(
    state: &PartState,
    part: PartNumber,
    from: &Location,
    to: &Location,
    quantity: &u32,
    at: &DateTime<Utc>,
) -> Result<Vec<PartEvent>, PartError> {
    let mut decision = Decision::new(state);
    let quantity = quantity_of(&part, *quantity)?;
    if from == to {
        return Err(PartError::TransferToItself { part });
    }
    let available = state.stock_at(from).available();
    if available < u64::from(quantity) {
        return Err(PartError::InsufficientStock {
            part,
            location: from.clone(),
            available,
            requested: quantity,
        });
    }
    decision.push(PartEvent::Transferred {
        from: from.clone(),
        to: to.clone(),
        quantity,
        at: *at,
    });
    decision.fill_backorders(to, *at);
    Ok(decision.finish(*at))
}

/// R3: discontinues a model that uses the part (again records nothing), guaranteeing the part for
/// at least a year, with a last order date within the guarantee.
fn discontinue_model(
    state: &PartState,
    part: PartNumber,
    model: &ModelId,
    guarantee_years: &u32,
    last_order_date: &NaiveDate,
    at: &DateTime<Utc>,
) -> Result<Vec<PartEvent>, PartError> {
    let mut decision = Decision::new(state);
    if !state.models.contains_key(model) {
        return Err(PartError::ModelDoesNotUsePart {
            part,
            model: *model,
        });
    }
    if state.discontinued.contains_key(model) {
        // Discontinued already: the policy may deliver the same fact twice.
        return Ok(Vec::new());
    }
    let guaranteed_until = guarantee_end(at.date_naive(), *guarantee_years);
    let Some(guaranteed_until) = guaranteed_until.filter(|until| last_order_date <= until) else {
        return Err(PartError::BadGuarantee {
            part,
            model: *model,
        });
    };
    decision.push(PartEvent::ModelDiscontinued {
        model: *model,
        guaranteed_until,
        last_order_date: *last_order_date,
        at: *at,
    });
    Ok(decision.finish(*at))
}

/// R3: places a last-time buy, not zero, up to the latest last order date of a discontinued
/// model.
fn place_last_time_buy(
    state: &PartState,
    part: PartNumber,
    quantity: &u32,
    at: &DateTime<Utc>,
) -> Result<Vec<PartEvent>, PartError> {
    let mut decision = Decision::new(state);
    let quantity = quantity_of(&part, *quantity)?;
    let last_order_date = state
        .discontinued
        .values()
        .map(|discontinued| discontinued.last_order_date)
        .max();
    if last_order_date.is_none_or(|last| at.date_naive() > last) {
        return Err(PartError::PastLastOrderDate {
            part,
            date: at.date_naive(),
            last_order_date,
        });
    }
    decision.push(PartEvent::LastTimeBuyPlaced { quantity, at: *at });
    Ok(decision.finish(*at))
}

/// R4: retires the part, only after its supply obligation ended.
fn retire(
    state: &PartState,
    part: PartNumber,
    at: &DateTime<Utc>,
) -> Result<Vec<PartEvent>, PartError> {
    let mut decision = Decision::new(state);
    let until = state.obligation_until();
    if until.is_none_or(|until| at.date_naive() <= until) {
        return Err(PartError::ObligationRuns { part, until });
    }
    decision.push(PartEvent::PartRetired { at: *at });
    Ok(decision.finish(*at))
}

/// The checks of every command but the first (R1): the part was registered, is the part the
/// command names, and is not retired.
fn registered_not_retired(state: &PartState, part: &PartNumber) -> Result<(), PartError> {
    match &state.part {
        None => return Err(PartError::NotRegistered { part: part.clone() }),
        Some(stream) if stream != part => {
            return Err(PartError::WrongPart {
                command: part.clone(),
                stream: stream.clone(),
            })
        }
        Some(_) => {}
    }
    if state.retired {
        return Err(PartError::Retired { part: part.clone() });
    }
    Ok(())
}

/// A quantity of units, which must not be zero.
fn quantity_of(part: &PartNumber, quantity: u32) -> Result<u32, PartError> {
    if quantity == 0 {
        Err(PartError::ZeroQuantity { part: part.clone() })
    } else {
        Ok(quantity)
    }
}

#[cfg(test)]
mod tests;
