//! The service-lifecycle domain (spec: `../shared/design/domain.md` of the project): the aggregates
//! that a seller or manufacturer of durable goods runs its service on.
//!
//! Each aggregate is one module that reads top to bottom as events, state, fold and decide, and
//! never sees a store.
//!
//! - [`calendar`]: business time for service-level targets (working days, hours, holidays).
//! - [`contract`]: service contracts, calls, SLA deadlines and breaches, who pays (S1-S6).
//! - [`customer`]: the buyer, the relationship level and the duties it implies (C1-C7).
//! - [`events`]: [`ServiceEvent`], the one event type of a store, holding every aggregate's.
//! - [`parts`]: one spare part's stock, reservations, backorders and supply obligation (R1-R5).
//! - [`personal_data`]: names and contacts, kept out of events and erasable (§8).
//! - [`product`]: one unit from receipt to return or scrapping (P1-P7).
//! - [`service`]: the application facade, the directory read model and the policies (§7).
//! - [`technician`]: the service staff and their certifications per model (T1-T2).
//! - [`values`]: identifiers, serial and part numbers, money, warranty terms.

pub mod calendar;
pub mod contract;
pub mod customer;
pub mod events;
pub mod parts;
pub mod personal_data;
pub mod product;
pub mod reports;
pub mod service;
pub mod technician;
pub mod values;

pub use calendar::{BusinessCalendar, CalendarError};
pub use contract::{
    Call, CallKind, ContractCommand, ContractError, ContractEvent, ContractKind, ContractState,
    ContractStatus, Deadlines, Entitlements, Payer, Priority, ServiceContract, ServicePlan,
    SlaTarget, Targets, Terms, Visit, VisitStatus,
};
pub use customer::{
    recommended_level, Customer, CustomerBase, CustomerCommand, CustomerError, CustomerEvent,
    CustomerState, Inquiry, InquiryKind, Margin, Obligation, ObligationKind, ObligationStatus,
    OutreachTerms, RelationshipLevel, Substitute, TargetGroup,
};
pub use events::ServiceEvent;
pub use parts::{
    Backorder, Discontinuation, Location, PartCommand, PartError, PartEvent, PartState,
    PartsSupply, Reservation, Stock, DEFAULT_GUARANTEE_YEARS,
};
pub use personal_data::{MemoryPersonalData, PersonalData, PersonalDataError, PersonalDataStore};
pub use product::{
    AfterSaleService, AfterSaleServices, Damage, DamageSeverity, DeliveryTo, MissingForSale,
    Product, ProductCommand, ProductError, ProductEvent, ProductState, ProductStatus, Sale,
    Warranty,
};
pub use service::{
    default_plan, ContractSpan, Directory, PolicyFailure, ServiceError, ServiceLifecycle, UnitEntry,
};
pub use technician::{
    Certification, Technician, TechnicianCommand, TechnicianError, TechnicianEvent, TechnicianState,
};
pub use values::{
    AccountOwnerId, CallId, ContractId, Currency, CustomerId, InvalidCurrency, InvalidKey, ModelId,
    Money, PartNumber, ProductId, SerialNumber, TechnicianId, WarrantyStart, WarrantyTerms,
};
