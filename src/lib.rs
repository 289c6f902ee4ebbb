//! # service-lifecycle
//!
//! An event-sourced model of the whole service life of durable goods, for sellers and
//! manufacturers to embed: pre-sale preparation, the sale, delivery, installation and training,
//! warranty and post-warranty service, spare parts for years after a model leaves production, and
//! the relationship promised to each customer.
//!
//! What an application uses is at the root: the service facade ([`ServiceLifecycle`]), the
//! aggregates' commands, events and errors, the identifiers and values, and the [`reports`]. The
//! event-sourcing building blocks under it (stores, the repository, projections, the vault) are
//! in [`kernel`]; what only the authors of a store need is in [`kernel::store`]. The adapters join
//! as modules: the durable store on sled as `service_lifecycle::sled` (feature `sled`), and export
//! and import of event stores as JSON Lines as [`json`] (always there: the domain's customer data
//! export writes its events with it). The test kit (feature `testing`) is `testing` for
//! the domain and `kernel::testing` for the kernel.
//!
//! See the README and `docs/` for the tour and the design.

#![forbid(unsafe_code)]
#![cfg_attr(feature = "testing", doc = include_str!("../README.md"))]
#![deny(missing_docs)]

pub use service_lifecycle_core::*;

/// The durable event store on sled (feature `sled`): see [`service_lifecycle_sled`].
#[cfg(feature = "sled")]
pub use service_lifecycle_sled as sled;

/// The event store on PostgreSQL (feature `postgres`): see [`service_lifecycle_postgres`].
#[cfg(feature = "postgres")]
pub use service_lifecycle_postgres as postgres;

/// JSON export and import of event stores: see [`service_lifecycle_json`].
pub use service_lifecycle_json as json;

/// The domain guide, `docs/domain.md`, compiled and run as a doctest so its example stays true.
#[cfg(doctest)]
#[doc = include_str!("../docs/domain.md")]
pub struct DomainGuide;
