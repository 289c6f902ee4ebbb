//! The kernel's test kit (feature `testing`), for users' own aggregates and stores.
//!
//! - [`given`]: given / when / then for deciders.
//! - [`conformance`]: the store conformance suite every store runs unchanged.
//! - [`import_conformance`]: what every store that takes atomic imports must do.
//! - [`laws`]: the decider laws as reusable property checks.
//! - [`model`]: a model-based property test for stores, against a plain reference model.
//! - [`fixture`]: a tiny aggregate and a probe event to exercise the kernel with.

pub mod conformance;
pub mod fixture;
mod given;
pub mod import_conformance;
pub mod laws;
pub mod model;

pub use given::{given, Given, Then};
