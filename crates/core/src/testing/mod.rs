//! The domain's test kit (feature `testing`); the kernel's own (given/when/then, the store
//! conformance suite, the decider laws) is [`kernel::testing`](crate::kernel::testing).
//!
//! - [`scenario`]: the domain's end-to-end scenario, for any store.
//! - [`histories`]: generated histories of the real domain, for property tests of readers.
//! - [`races`]: races on the rules that span aggregates, for any store.
//! - [`time`]: the instants, dates and currency of the domain's tests, one copy of each.

pub mod histories;
pub mod races;
pub mod scenario;
pub mod time;
