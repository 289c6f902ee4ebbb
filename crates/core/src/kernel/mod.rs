//! The event-sourcing kernel: deciders, envelopes, the store contract, the in-memory store, the
//! repository, snapshots, upcasters and projections. The domain is built on it and never sees a
//! store; stores are built on it and never see the domain.

pub(crate) mod arena;
pub mod envelope;
pub mod event;
pub mod ids;
pub mod memory;
pub mod projection;
pub mod repository;
pub mod snapshot;
pub mod store;
pub mod upcast;
