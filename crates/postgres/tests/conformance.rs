//! The kernel's store conformance suite, import conformance suite and model test, unchanged, on
//! a real PostgreSQL server started by the test: with a flush per commit and buffered.

mod common;

use proptest::prelude::*;
use service_lifecycle_kernel::testing::model::{arbitrary_store_ops, check_against_model};
use service_lifecycle_kernel::testing::{conformance, import_conformance};
use service_lifecycle_postgres::Durability;

#[test]
fn the_conformance_suite_passes_with_synchronous_commits() {
    if common::server().is_none() {
        return;
    }
    conformance::run_all(|| common::new_store(Durability::Flush));
}

#[test]
fn the_conformance_suite_passes_buffered() {
    if common::server().is_none() {
        return;
    }
    conformance::run_all(|| common::new_store(Durability::Buffered));
}

#[test]
fn the_import_conformance_suite_passes() {
    if common::server().is_none() {
        return;
    }
    import_conformance::run_all(|| common::new_store(Durability::Flush));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// The store agrees with the reference model after every operation; `Reopen` opens the
    /// same schema again through a new pool.
    #[test]
    fn the_store_agrees_with_the_model(ops in arbitrary_store_ops(30)) {
        let Some(server) = common::server() else { return Ok(()) };
        let schema = common::fresh_schema();
        let open = || service_lifecycle_postgres::PostgresStore::open_with(
            &server.url(),
            service_lifecycle_postgres::PostgresOptions::new().schema(schema.clone()).pool_size(2),
        ).expect("the store opens");
        check_against_model(open(), &ops, |store| {
            drop(store);
            open()
        });
    }
}
