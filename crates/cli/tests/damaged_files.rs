//! Every file of a store damaged, as a failing disk or a careless copy leaves it: a flipped bit
//! at seeded places, and truncations, in `conf`, `db` and `vault-keys`. The tool never panics;
//! `verify` says "damaged" (exit 3) or "clean" (exit 0), and when it says clean the events are
//! the ones that were there (or, for a cut sled reads as a crash's torn tail, a prefix of them:
//! docs/testing.md §2.5).
//!
//! `DAMAGE_SEED` chooses the places (printed); `DAMAGE_FLIPS` how many per file (default 12).

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{copy_dir, path, text, tool, Rng};

fn flips() -> u64 {
    std::env::var("DAMAGE_FLIPS")
        .ok()
        .and_then(|flips| flips.parse().ok())
        .unwrap_or(12)
}

/// The event lines of an export of the store (header and trailer left out), if it exports.
fn exported_events(store: &Path, file: &Path) -> Option<Vec<String>> {
    let _ = std::fs::remove_file(file);
    let exported = tool(&["export", "--store", path(store), "--output", path(file)]);
    assert_no_panic(&exported, "export");
    if !exported.status.success() {
        return None;
    }
    let text = std::fs::read_to_string(file).unwrap();
    let lines: Vec<String> = text.lines().map(str::to_owned).collect();
    Some(lines[1..lines.len() - 1].to_vec())
}

fn assert_no_panic(output: &Output, what: &str) {
    let stderr = text(&output.stderr);
    assert_ne!(output.status.code(), Some(101), "{what} panicked: {stderr}");
    assert!(!stderr.contains("panicked at"), "{what} panicked: {stderr}");
}

struct Pristine {
    _dir: tempfile::TempDir,
    store: PathBuf,
    events: Vec<String>,
    work: PathBuf,
}

fn pristine() -> Pristine {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("pristine");
    let simulated = tool(&["simulate", "--store", path(&store), "--customers", "30"]);
    assert!(simulated.status.success(), "{}", text(&simulated.stderr));
    let events = exported_events(&store, &dir.path().join("pristine.jsonl")).unwrap();
    let work = dir.path().join("work");
    Pristine {
        _dir: dir,
        store,
        events,
        work,
    }
}

/// How the damaged store fared, for the summary.
#[derive(Debug, Default)]
struct Outcomes {
    damaged: u32,
    clean_and_whole: u32,
    clean_prefix: u32,
}

/// Runs `verify` and `export` on the damaged copy and checks what they say.
fn check(pristine: &Pristine, what: &str, must_be_found: bool, outcomes: &mut Outcomes) {
    let verified = tool(&["verify", "--store", path(&pristine.work)]);
    assert_no_panic(&verified, &format!("verify, {what}"));
    let said = format!(
        "{what}: {}{}",
        text(&verified.stdout),
        text(&verified.stderr)
    );
    for debug in ["Some(", "Inline(", "Os {", "backtrace", "earlier than 0.29"] {
        assert!(
            !said.contains(debug),
            "{said}: Rust's or sled's own words ({debug:?})"
        );
    }
    match verified.status.code() {
        Some(3) => {
            outcomes.damaged += 1;
            let file = what.split(':').next().unwrap_or_default();
            let file = file.split(' ').next().unwrap_or_default();
            if file != "db" {
                assert!(
                    said.contains(file) || said.contains("vault"),
                    "{said}: the file is not named"
                );
            }
        }
        Some(0) => {
            assert!(!must_be_found, "{said}: damage was not found");
            let file = pristine.work.with_extension("jsonl");
            let events = exported_events(&pristine.work, &file)
                .unwrap_or_else(|| panic!("{said}: verify says clean but export fails"));
            assert!(
                pristine.events.starts_with(&events),
                "{said}: the events read are not the ones stored"
            );
            if events.len() == pristine.events.len() {
                outcomes.clean_and_whole += 1;
            } else {
                outcomes.clean_prefix += 1;
            }
        }
        other => panic!("{said}: exit {other:?}, where 0 (clean) or 3 (damaged) is documented"),
    }
    let stats = tool(&["stats", "--store", path(&pristine.work)]);
    assert_no_panic(&stats, &format!("stats, {what}"));
}

fn damaged_copy(pristine: &Pristine, file: &str, damage: impl FnOnce(&mut Vec<u8>)) {
    let _ = std::fs::remove_dir_all(&pristine.work);
    copy_dir(&pristine.store, &pristine.work);
    let target = pristine.work.join(file);
    let mut bytes = std::fs::read(&target).unwrap();
    damage(&mut bytes);
    std::fs::write(&target, bytes).unwrap();
}

#[test]
fn a_bit_flipped_anywhere_in_any_file_of_a_store_is_found_or_changes_nothing() {
    let pristine = pristine();
    let mut rng = Rng::from_env("DAMAGE_SEED");
    let mut outcomes = Outcomes::default();
    for file in ["conf", "db", "vault-keys"] {
        let len = std::fs::metadata(pristine.store.join(file)).unwrap().len();
        for _ in 0..flips() {
            let offset = rng.below(len) as usize;
            let bit = rng.below(8) as u8;
            damaged_copy(&pristine, file, |bytes| bytes[offset] ^= 1 << bit);
            // conf and vault-keys are checked whole; db is sled's log, where a flip in space
            // sled no longer reads changes nothing.
            let must_be_found = file != "db";
            let what = format!("{file}: bit {bit} of byte {offset} of {len} flipped");
            check(&pristine, &what, must_be_found, &mut outcomes);
        }
    }
    println!("{outcomes:?}");
}

#[test]
fn every_file_of_a_store_cut_short_is_found_or_read_as_a_prefix() {
    let pristine = pristine();
    let mut outcomes = Outcomes::default();
    for file in ["conf", "db", "vault-keys"] {
        let len = std::fs::metadata(pristine.store.join(file)).unwrap().len();
        for keep in [0, 1, len / 2, len.saturating_sub(1)] {
            damaged_copy(&pristine, file, |bytes| bytes.truncate(keep as usize));
            let what = format!("{file} cut to {keep} of {len} bytes");
            // A key file cut at a slot's end loses whole slots: the keys of customers whose
            // data then cannot be read, which the personal-data check finds.
            check(&pristine, &what, file != "db", &mut outcomes);
        }
    }
    println!("{outcomes:?}");
}
