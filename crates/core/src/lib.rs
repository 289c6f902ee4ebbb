//! # service-lifecycle-core
//!
//! The service-lifecycle domain: the aggregates a seller or manufacturer of durable goods runs
//! its service on, the policies that tie them together, the read models and the reports, built
//! on the event-sourcing kernel ([`kernel`]). The domain never sees a store: it decides commands
//! into events, and [`ServiceLifecycle`] runs it on any [`kernel::EventStore`].
//!
//! The rules it enforces are numbered (P1, C2, S3, …) and defined in the rule table of
//! `docs/domain.md`; every rejection is a typed error that says the rule in words.
//!
//! ## A guided tour
//! - **The service** ([`ServiceLifecycle`]): one call per business command, every entity a
//!   command names checked first, the policies run from a checkpointed subscription of the store,
//!   and the [`Directory`] of who owns what. Its errors are [`ServiceError`].
//! - **The model catalogue** ([`Model`], [`ModelCommand`], [`ModelEvent`]): each model's name,
//!   manufacturer, category and the warranty it is sold with, and its discontinuation (M1-M3).
//! - **A unit** ([`Product`], [`ProductCommand`], [`ProductEvent`]): from the day it arrives,
//!   through preparation, the sale, delivery, installation and training, to its return (P1-P7).
//! - **A customer** ([`Customer`], [`CustomerCommand`], [`CustomerEvent`]): the relationship level
//!   promised and the duties it implies (C1-C7); their name and contact are [`PersonalData`],
//!   kept out of events in a [vault](kernel::Vault) and erasable.
//! - **A service contract** ([`ServiceContract`], [`ContractCommand`], [`ContractEvent`]): calls,
//!   SLA deadlines in business time ([`BusinessCalendar`]), breaches, who pays (S1-S6).
//! - **A spare part** ([`PartsSupply`], [`PartCommand`], [`PartEvent`]): stock, reservations,
//!   backorders and the supply obligation after a model leaves production (R1-R5).
//! - **A technician** ([`Technician`], [`TechnicianCommand`], [`TechnicianEvent`]): certifications
//!   per model; only a certified technician is dispatched (T1-T2).
//! - **A unit's coverage** ([`UnitCoverage`]): the contracts holding a unit's days, so no two
//!   overlap (S1), and the **policy log** ([`PolicyLog`]) of the policy commands refused.
//! - **Values** ([`ProductId`], [`SerialNumber`], [`Money`], [`WarrantyTerms`], …): validated
//!   identifiers and business keys, integer money.
//! - **Reports** ([`reports`]): the seven reports the business reads every morning, and a
//!   customer's data export ([`export_customer_data`]).
//! - **All events** ([`ServiceEvent`]): the one event type of a store, holding every aggregate's.
//!
//! The test kit of the domain (feature `testing`) is the `testing` module.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub use service_lifecycle_kernel as kernel;

mod calendar;
mod checks;
mod contract;
mod coverage;
mod customer;
mod customer_export;
mod directory;
mod error;
mod event_enum;
mod event_schema;
mod events;
mod lifecycle;
mod model;
mod parts;
mod personal_data;
mod personal_data_backup;
mod policies;
mod policy_log;
mod product;
mod registration;
pub mod reports;
mod scan;
mod service_command;
mod state_size;
mod technician;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
mod values;

pub use calendar::{BusinessCalendar, CalendarError};
pub use contract::{
    Call, CallKind, ContractCommand, ContractError, ContractEvent, ContractKind, ContractState,
    ContractStatus, Deadlines, Entitlements, Payer, Priority, ServiceContract, ServicePlan,
    SlaTarget, Targets, Terms, Visit, VisitStatus,
};
pub use coverage::{
    CoverageCommand, CoverageError, CoverageEvent, CoverageSpan, CoverageState, UnitCoverage,
};
pub use customer::{
    recommended_level, Customer, CustomerBase, CustomerCommand, CustomerError, CustomerEvent,
    CustomerState, Inquiry, InquiryKind, Margin, Obligation, ObligationKind, ObligationStatus,
    OutreachTerms, RelationshipLevel, Substitute, TargetGroup,
};
pub use customer_export::{export_customer_data, CustomerExportError, CUSTOMER_FORMAT_NAME};
pub use directory::{ContractSpan, Directory, UnitEntry};
pub use error::{Reference, ServiceError};
pub use event_schema::export_event_schema;
pub use events::ServiceEvent;
pub use lifecycle::{
    default_plan, PolicyMode, ServiceBuilder, ServiceLifecycle, DEFAULT_STATE_CACHE_BYTES,
    POLICY_CHECKPOINT,
};
pub use model::{
    read_catalogue, Model, ModelCommand, ModelDetails, ModelDiscontinuation, ModelError,
    ModelEvent, ModelState, MAX_MASTER_DATA_LEN,
};
pub use parts::{
    Backorder, Discontinuation, Location, PartCommand, PartError, PartEvent, PartState,
    PartsSupply, Reservation, Stock, DEFAULT_GUARANTEE_YEARS,
};
pub use personal_data::{
    customers_missing_personal_data, put_personal_data, PersonalData, PersonalDataError,
};
pub use personal_data_backup::{
    check_personal_data, export_personal_data, export_personal_data_until, restore_personal_data,
    PersonalDataBackupError, PersonalDataSummary, PERSONAL_DATA_FORMAT_NAME,
};
pub use policy_log::{PolicyEvent, PolicyFailure, PolicyLog};
pub use product::{
    AfterSaleService, AfterSaleServices, Damage, DamageSeverity, DeliveryTo, MissingForSale,
    Product, ProductCommand, ProductError, ProductEvent, ProductState, ProductStatus, Sale,
    Warranty,
};
pub use registration::Registration;
pub use service_command::{command_line_schema, CommandLine, CommandOutcome, ServiceCommand};
pub use technician::{
    Certification, Technician, TechnicianCommand, TechnicianError, TechnicianEvent, TechnicianState,
};
pub use values::{
    guarantee_end, months_after, AccountOwnerId, CallId, ContractId, Currency, CustomerId,
    InvalidCurrency, InvalidKey, ModelId, Money, PartNumber, ProductId, SerialNumber, TechnicianId,
    WarrantyStart, WarrantyTerms, MAX_KEY_LEN, MAX_TEXT_LEN,
};
