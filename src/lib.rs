//! # service-lifecycle
//!
//! An event-sourced model of the whole service life of durable goods, for sellers and
//! manufacturers to embed: pre-sale preparation, the sale, delivery, installation and training,
//! warranty and post-warranty service, spare parts for years after a model leaves production, and
//! the relationship promised to each customer.
//!
//! This facade re-exports the kernel and the domain ([`service_lifecycle_core`]) flat; the
//! adapters join it behind features: `sled`, the durable store, as `service_lifecycle::sled`; `json`, export and
//! import of stores, customer data and reports, as `service_lifecycle::json`.
//!
//! See the README and `docs/` for the tour and the design.

#![forbid(unsafe_code)]
#![cfg_attr(feature = "testing", doc = include_str!("../README.md"))]
#![deny(missing_docs)]

pub use service_lifecycle_core::*;

/// The durable event store on sled (feature `sled`): see [`service_lifecycle_sled`].
#[cfg(feature = "sled")]
pub use service_lifecycle_sled as sled;

/// JSON export and import (feature `json`): see [`service_lifecycle_json`].
#[cfg(feature = "json")]
pub use service_lifecycle_json as json;

/// The domain guide, `docs/domain.md`, compiled and run as a doctest so its example stays true.
#[cfg(doctest)]
#[doc = include_str!("../docs/domain.md")]
pub struct DomainGuide;
