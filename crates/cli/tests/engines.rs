//! The embedded store's two engines and its storage formats, as a shell user meets them: a store
//! on redb (`--store redb:DIR`) works like one on sled and is found again by its directory
//! alone; a store in format 1 (a real one, written by the tool of an earlier version) is read
//! but not written, and `migrate` converts it with nothing lost.

mod common;

use std::path::Path;

use common::{copy_dir, path, text, tool};

/// A copy of the format-1 fixture (see tests/fixtures/README.md) in `dir`.
fn format_1_store(dir: &Path) -> std::path::PathBuf {
    let store = dir.join("store");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/format-1-store"),
        &store,
    );
    store
}

fn ok(args: &[&str]) -> String {
    let output = tool(args);
    assert!(
        output.status.success(),
        "{args:?}: {}",
        text(&output.stderr)
    );
    text(&output.stdout)
}

/// Runs `verify` on `store`, asserts it found the store clean, and returns what it noted on
/// standard error.
fn verified_clean(store: &Path) -> String {
    let verified = tool(&["verify", "--store", path(store)]);
    assert_eq!(
        verified.status.code(),
        Some(0),
        "{}",
        text(&verified.stdout)
    );
    assert!(
        text(&verified.stdout).ends_with("clean\n"),
        "{}",
        text(&verified.stdout)
    );
    text(&verified.stderr)
}

#[test]
fn a_format_1_store_is_read_only_until_migrate_converts_it_with_nothing_lost() {
    let dir = tempfile::tempdir().unwrap();
    let store = format_1_store(dir.path());

    let notes = verified_clean(&store);
    assert!(
        notes.contains("storage format 1") && notes.contains("service-lifecycle migrate"),
        "{notes}"
    );
    let stats_before = ok(&["stats", "--store", path(&store)]);
    assert!(stats_before.starts_with("37 events"), "{stats_before}");
    let export_before = dir.path().join("before.jsonl");
    ok(&[
        "export",
        "--store",
        path(&store),
        "--output",
        path(&export_before),
    ]);
    let report_before = ok(&[
        "report",
        "parts",
        "--store",
        path(&store),
        "--as-of",
        "2026-12-01",
    ]);

    // Writing is refused, with the way out, and changes nothing.
    let models = dir.path().join("models.csv");
    std::fs::write(
        &models,
        "name,manufacturer,category,warranty_months,warranty_starts,discontinued_on,guarantee_years\n\
         OV-2 oven,Neva Home,ovens,12,on_sale,,\n",
    )
    .unwrap();
    let loaded = tool(&["load", "--store", path(&store), "--models", path(&models)]);
    assert!(!loaded.status.success(), "{}", text(&loaded.stdout));
    assert!(
        text(&loaded.stderr).contains("migrate"),
        "{}",
        text(&loaded.stderr)
    );
    assert_eq!(ok(&["stats", "--store", path(&store)]), stats_before);

    let migrated = ok(&["migrate", "--store", path(&store)]);
    assert!(
        migrated.contains("converted from storage format 1 to 2: 37 events"),
        "{migrated}"
    );
    assert!(dir.path().join("store.format-1").join("db").is_file());
    let notes = verified_clean(&store);
    assert!(!notes.contains("storage format"), "{notes}");
    assert_eq!(ok(&["stats", "--store", path(&store)]), stats_before);
    let export_after = dir.path().join("after.jsonl");
    ok(&[
        "export",
        "--store",
        path(&store),
        "--output",
        path(&export_after),
    ]);
    assert_eq!(
        std::fs::read(&export_before).unwrap(),
        std::fs::read(&export_after).unwrap(),
        "the events are the same"
    );
    assert_eq!(
        std::fs::read(dir.path().join("before.personal-data.jsonl")).unwrap(),
        std::fs::read(dir.path().join("after.personal-data.jsonl")).unwrap(),
        "the personal data (in the vault, under the copied keys) is the same"
    );
    assert_eq!(
        ok(&[
            "report",
            "parts",
            "--store",
            path(&store),
            "--as-of",
            "2026-12-01"
        ]),
        report_before
    );
    // Now it is written to, and a second migrate has nothing to do.
    let loaded = ok(&["load", "--store", path(&store), "--models", path(&models)]);
    assert!(loaded.contains("1 models"), "{loaded}");
    let again = ok(&["migrate", "--store", path(&store)]);
    assert!(again.contains("already in storage format 2"), "{again}");
}

#[test]
fn migrate_names_what_it_cannot_convert() {
    let dir = tempfile::tempdir().unwrap();
    let missing = tool(&["migrate", "--store", path(&dir.path().join("nowhere"))]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        text(&missing.stderr).contains("no store"),
        "{}",
        text(&missing.stderr)
    );
    let postgres = tool(&["migrate", "--store", "postgres://app@localhost/shop"]);
    assert_eq!(postgres.status.code(), Some(1));
    assert!(
        text(&postgres.stderr).contains("PostgreSQL"),
        "{}",
        text(&postgres.stderr)
    );
}

#[test]
fn a_store_on_redb_takes_an_import_and_exports_it_back_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let sled = dir.path().join("sled");
    ok(&[
        "simulate",
        "--store",
        path(&sled),
        "--customers",
        "25",
        "--seed",
        "11",
    ]);
    let file = dir.path().join("export.jsonl");
    ok(&["export", "--store", path(&sled), "--output", path(&file)]);

    let redb = dir.path().join("redb");
    let location = format!("redb:{}", path(&redb));
    ok(&["import", "--store", &location, "--input", path(&file)]);
    assert!(redb.join("store.redb").is_file());
    assert!(!redb.join("db").exists());
    // Named by its directory alone, it is found on redb.
    let verified = ok(&["verify", "--store", path(&redb)]);
    assert!(verified.ends_with("clean\n"), "{verified}");
    let again = dir.path().join("again.jsonl");
    ok(&["export", "--store", path(&redb), "--output", path(&again)]);
    assert_eq!(
        std::fs::read(&file).unwrap(),
        std::fs::read(&again).unwrap()
    );
    assert_eq!(
        ok(&[
            "report",
            "sla",
            "--store",
            path(&sled),
            "--as-of",
            "2026-06-30"
        ]),
        ok(&[
            "report",
            "sla",
            "--store",
            &location,
            "--as-of",
            "2026-06-30"
        ])
    );
    // A sled store named as redb is refused, not opened on the wrong engine.
    let wrong = tool(&["stats", "--store", &format!("redb:{}", path(&sled))]);
    assert_eq!(wrong.status.code(), Some(1));
    assert!(
        text(&wrong.stderr).contains("on sled"),
        "{}",
        text(&wrong.stderr)
    );
}
