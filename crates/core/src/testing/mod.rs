//! The test kit, for this workspace and for users' own aggregates and stores (feature `testing`).
//!
//! - [`given`]: given / when / then for deciders.
//! - [`conformance`]: the store conformance suite every store runs unchanged.
//! - [`laws`]: the domain laws as reusable property checks.
//! - [`model`]: a model-based property test for stores, against a plain reference model.
//! - [`scenario`]: the domain's end-to-end scenario, for any store.
//! - [`histories`]: generated histories of the real domain, for property tests of readers.
//! - [`fixture`]: a tiny aggregate and a probe event to exercise the kernel with.

pub mod conformance;
pub mod fixture;
mod given;
pub mod histories;
pub mod laws;
pub mod model;
pub mod scenario;

pub use given::{given, Given, Then};
