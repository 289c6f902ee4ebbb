//! The kernel's store conformance suite and model test, unchanged, on the embedded store on both
//! engines (sled and redb): with a flush per append and buffered, and with `Reopen` among the
//! model's operations.

use std::cell::RefCell;

use proptest::prelude::*;
use service_lifecycle_kernel::testing::fixture::ProbeEvent;
use service_lifecycle_kernel::testing::model::{arbitrary_store_ops, check_against_model};
use service_lifecycle_kernel::testing::{conformance, import_conformance};
use service_lifecycle_sled::{Durability, Engine, SledOptions, SledStore};
use tempfile::TempDir;

/// Temporary directories that live as long as the stores made in them.
type Dirs = RefCell<Vec<TempDir>>;

/// A new store on `engine` with `durability` in a temporary directory kept in `dirs`.
fn new_store(dirs: &Dirs, engine: Engine, durability: Durability) -> SledStore<ProbeEvent> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let options = SledOptions::new().engine(engine).durability(durability);
    let store = SledStore::open_with(dir.path(), options).expect("a new store opens");
    assert_eq!(store.storage().engine(), engine);
    dirs.borrow_mut().push(dir);
    store
}

#[test]
fn the_conformance_suite_passes_with_a_flush_per_append() {
    let dirs = Dirs::default();
    conformance::run_all(|| new_store(&dirs, Engine::Sled, Durability::Flush));
}

#[test]
fn the_conformance_suite_passes_buffered() {
    let dirs = Dirs::default();
    conformance::run_all(|| new_store(&dirs, Engine::Sled, Durability::Buffered));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// The store agrees with the reference model after every operation, closing and reopening
    /// its database whenever the operations say `Reopen`.
    #[test]
    fn the_store_agrees_with_the_model_across_reopens(ops in arbitrary_store_ops(40)) {
        let dir = tempfile::tempdir().expect("temporary directory");
        let options = || SledOptions::new().durability(Durability::Buffered);
        let store = SledStore::open_with(dir.path(), options()).expect("a new store opens");
        check_against_model(store, &ops, |store| {
            drop(store);
            SledStore::open_with(dir.path(), options()).expect("the store reopens")
        });
        let reopened = SledStore::<ProbeEvent>::open_with(dir.path(), options()).expect("the store reopens");
        let report = reopened.verify().expect("verify reads the store");
        prop_assert!(report.is_clean(), "{report}");
    }
}

#[test]
fn the_import_conformance_suite_passes_with_a_flush_per_append() {
    let dirs = Dirs::default();
    import_conformance::run_all(|| new_store(&dirs, Engine::Sled, Durability::Flush));
}

#[test]
fn the_import_conformance_suite_passes_buffered() {
    let dirs = Dirs::default();
    import_conformance::run_all(|| new_store(&dirs, Engine::Sled, Durability::Buffered));
}

#[test]
fn the_conformance_suite_passes_on_redb_with_a_flush_per_append() {
    let dirs = Dirs::default();
    conformance::run_all(|| new_store(&dirs, Engine::Redb, Durability::Flush));
}

#[test]
fn the_conformance_suite_passes_on_redb_buffered() {
    let dirs = Dirs::default();
    conformance::run_all(|| new_store(&dirs, Engine::Redb, Durability::Buffered));
}

#[test]
fn the_import_conformance_suite_passes_on_redb() {
    let dirs = Dirs::default();
    import_conformance::run_all(|| new_store(&dirs, Engine::Redb, Durability::Flush));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// The same model test on redb.
    #[test]
    fn the_redb_store_agrees_with_the_model_across_reopens(ops in arbitrary_store_ops(40)) {
        let dir = tempfile::tempdir().expect("temporary directory");
        let options = || SledOptions::new().engine(Engine::Redb).durability(Durability::Buffered);
        let store = SledStore::open_with(dir.path(), options()).expect("a new store opens");
        check_against_model(store, &ops, |store| {
            drop(store);
            SledStore::open_with(dir.path(), options()).expect("the store reopens")
        });
        let reopened = SledStore::<ProbeEvent>::open_with(dir.path(), options()).expect("the store reopens");
        prop_assert_eq!(reopened.storage().engine(), Engine::Redb);
        let report = reopened.verify().expect("verify reads the store");
        prop_assert!(report.is_clean(), "{report}");
    }
}
