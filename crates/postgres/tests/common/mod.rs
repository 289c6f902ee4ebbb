//! One throwaway PostgreSQL server per test binary, and a fresh store (its own schema) per use.
//!
//! Without server binaries the tests say so and pass, unless `SERVICE_LIFECYCLE_REQUIRE_POSTGRES`
//! is set (as `.ci/run` sets it), which turns that into a failure: CI can never pass by skipping.

#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use service_lifecycle_kernel::testing::fixture::ProbeEvent;
use service_lifecycle_postgres::{Durability, PostgresOptions, PostgresStore, ThrowawayServer};

static SERVER: OnceLock<Option<ThrowawayServer>> = OnceLock::new();

/// The shared server, or `None` (said once) where no server binaries exist.
pub fn server() -> Option<&'static ThrowawayServer> {
    SERVER
        .get_or_init(|| {
            ThrowawayServer::start_unless_missing().unwrap_or_else(|error| panic!("{error}"))
        })
        .as_ref()
}

/// A schema name no other store of this run uses.
pub fn fresh_schema() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!(
        "t{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    )
}

/// A new, empty store on the shared server.
pub fn new_store(durability: Durability) -> PostgresStore<ProbeEvent> {
    let server = server().expect("checked by the caller");
    PostgresStore::open_with(
        &server.url(),
        PostgresOptions::new()
            .schema(fresh_schema())
            .durability(durability)
            .pool_size(4),
    )
    .expect("a new store opens")
}
