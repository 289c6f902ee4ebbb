//! The tool killed as a crash or an impatient user would: `import` and `simulate` killed with
//! SIGKILL at seeded random moments, `import` stopped with Ctrl-C. After each, `verify` finds the
//! store clean (events and personal records), and an import left either nothing of its file or
//! all of it — never a part — so the same file imports again.
//!
//! `CLI_CRASH_SEED` chooses the seed (printed; from the clock by default), `CLI_CRASH_KILLS` the number of kills of each
//! command (6 by default).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use service_lifecycle_core::kernel::{EventStore, ExpectedVersion, NewEvent};
use service_lifecycle_core::ServiceEvent;

mod common;

use common::{copy_dir, path, text, tool, Rng, TOOL};

type Store = service_lifecycle_sled::SledStore<ServiceEvent>;

fn kills() -> u64 {
    std::env::var("CLI_CRASH_KILLS")
        .ok()
        .and_then(|kills| kills.parse().ok())
        .unwrap_or(6)
}

/// Runs the tool with `args`, killing it with SIGKILL after `after` (if it is still running).
fn run_and_kill(args: &[&str], after: Duration) -> Output {
    let child = Command::new(TOOL)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the tool starts");
    let pid = child.id();
    std::thread::sleep(after);
    // SIGKILL; the process may have ended already, which `kill` then reports.
    let _ = Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status();
    child.wait_with_output().expect("the tool ends")
}

/// The number of events in the store, from `stats`.
fn events_in(store: &Path) -> u64 {
    let stats = tool(&["stats", "--store", path(store)]);
    assert!(stats.status.success(), "{}", text(&stats.stderr));
    text(&stats.stdout)
        .split_whitespace()
        .next()
        .and_then(|count| count.parse().ok())
        .expect("stats starts with the number of events")
}

/// `verify` finds the events clean. An export carries no personal records yet, so on an imported
/// store `verify` also reports (exit 3) that the registered customers have none; that one finding
/// is expected there, any other is not.
fn assert_imported_events_verify(store: &Path, what: &str) {
    let verified = tool(&["verify", "--store", path(store)]);
    let stdout = text(&verified.stdout);
    let mut lines = stdout.lines();
    let events = lines.next().unwrap_or_default();
    let rest: Vec<&str> = lines.collect();
    let only_personal_records_missing = rest.len() == 1
        && rest[0].contains("registered customers have no personal record")
        && verified.status.code() == Some(3);
    assert!(
        events.ends_with(": clean") && (rest.is_empty() || only_personal_records_missing),
        "{what}: verify says (exit {:?})\n{stdout}{}",
        verified.status.code(),
        text(&verified.stderr)
    );
}

/// Whether the kill came while the store was being created (its marker is there); `verify` must
/// then say that there is no store yet, never that one is damaged.
fn creation_stopped(store: &Path, what: &str) -> bool {
    if !store.join("creating").exists() {
        return false;
    }
    let verified = tool(&["verify", "--store", path(store)]);
    let said = text(&verified.stderr);
    assert!(
        said.contains("creation was stopped"),
        "{what}: killed while the store was created, verify says: {said}"
    );
    true
}

fn assert_verifies(store: &Path, what: &str) {
    let verified = tool(&["verify", "--store", path(store)]);
    assert_eq!(
        verified.status.code(),
        Some(0),
        "{what}: verify says\n{}{}",
        text(&verified.stdout),
        text(&verified.stderr)
    );
}

/// A simulated store and its export, made once per test.
struct Exported {
    _dir: tempfile::TempDir,
    file: PathBuf,
    events: u64,
}

fn exported(customers: &str) -> Exported {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("source");
    let simulated = tool(&[
        "simulate",
        "--store",
        path(&store),
        "--customers",
        customers,
        "--years",
        "1",
        "--seed",
        "11",
    ]);
    assert!(simulated.status.success(), "{}", text(&simulated.stderr));
    let file = dir.path().join("export.jsonl");
    let export = tool(&["export", "--store", path(&store), "--output", path(&file)]);
    assert!(export.status.success(), "{}", text(&export.stderr));
    let events = events_in(&store);
    Exported {
        _dir: dir,
        file,
        events,
    }
}

/// How long `args` takes to run to its end here, to spread kills over it.
fn duration_of(args: &[&str]) -> Duration {
    let started = Instant::now();
    let output = tool(args);
    assert!(output.status.success(), "{}", text(&output.stderr));
    started.elapsed()
}

#[test]
fn a_killed_import_leaves_nothing_or_everything_and_the_file_imports_again() {
    let source = exported("400");
    let mut rng = Rng::from_env("CLI_CRASH_SEED");
    let calibration = tempfile::tempdir().unwrap();
    let target = calibration.path().join("target");
    let took = duration_of(&[
        "import",
        "--store",
        path(&target),
        "--input",
        path(&source.file),
    ]);
    let (mut nothing, mut everything) = (0, 0);
    for kill in 0..kills() {
        let after = Duration::from_millis(rng.below(took.as_millis() as u64 * 5 / 4));
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        let import = [
            "import",
            "--store",
            path(&target),
            "--input",
            path(&source.file),
        ];
        let killed = run_and_kill(&import, after);
        let what = format!("kill {kill} after {after:?} (import takes {took:?})");
        if !target.join("db").exists() || creation_stopped(&target, &what) {
            nothing += 1; // killed before the store was created
            let again = tool(&import);
            assert!(again.status.success(), "{what}: {}", text(&again.stderr));
            continue;
        }
        assert_imported_events_verify(&target, &what);
        match events_in(&target) {
            0 => {
                nothing += 1;
                let again = tool(&import);
                assert!(
                    again.status.success(),
                    "{what}: the file imports again: {}",
                    text(&again.stderr)
                );
                assert_eq!(events_in(&target), source.events, "{what}");
            }
            count if count == source.events => {
                assert!(killed.status.code().is_none() || killed.status.success());
                everything += 1;
            }
            count => panic!(
                "{what}: the store holds {count} of the file's {} events",
                source.events
            ),
        }
    }
    println!("{nothing} left nothing, {everything} left everything");
}

/// Copies the first `count` events of the store at `from` into a new store at `to`, with their
/// ids, times and provenance: the state `from` was in after its `count`th event.
fn copy_prefix(from: &Path, to: &Path, count: u64) {
    let source = Store::open(from).unwrap();
    let target = Store::open(to).unwrap();
    for envelope in source.read_all(1).unwrap().take(count as usize) {
        let envelope = envelope.unwrap().into_owned();
        let stream = envelope.stream_id.clone();
        let version = envelope.stream_version;
        let event = NewEvent {
            event_id: envelope.event_id,
            recorded_at: envelope.recorded_at,
            correlation_id: envelope.correlation_id,
            causation_id: envelope.causation_id,
            metadata: envelope.metadata.clone(),
            event: envelope.event,
        };
        target
            .append(&stream, ExpectedVersion::Exact(version - 1), vec![event])
            .unwrap();
    }
    target.flush().unwrap();
}

#[test]
fn a_killed_incremental_import_keeps_the_events_that_were_there() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let simulated = tool(&[
        "simulate",
        "--store",
        path(&store),
        "--customers",
        "300",
        "--years",
        "1",
        "--seed",
        "5",
    ]);
    assert!(simulated.status.success(), "{}", text(&simulated.stderr));
    let all = events_in(&store);
    // The store's second half as an incremental export, imported onto a copy of its first half.
    let half = all / 2;
    let rest = dir.path().join("rest.jsonl");
    let export_rest = tool(&[
        "export",
        "--store",
        path(&store),
        "--output",
        path(&rest),
        "--after",
        &half.to_string(),
    ]);
    assert!(
        export_rest.status.success(),
        "{}",
        text(&export_rest.stderr)
    );
    let first_half = dir.path().join("first-half");
    copy_prefix(&store, &first_half, half);
    let mut rng = Rng::from_env("CLI_CRASH_SEED");
    for kill in 0..kills() {
        let target_dir = tempfile::tempdir().unwrap();
        let target = target_dir.path().join("target");
        copy_dir(&first_half, &target);
        let after = Duration::from_millis(rng.below(900));
        let incremental = ["import", "--store", path(&target), "--input", path(&rest)];
        run_and_kill(&incremental, after);
        let what = format!("kill {kill} after {after:?}");
        assert_imported_events_verify(&target, &what);
        let count = events_in(&target);
        assert!(
            count == half || count == all,
            "{what}: the store holds {count} events; {half} before the import, {all} after it"
        );
        if count == half {
            let again = tool(&incremental);
            assert!(again.status.success(), "{what}: {}", text(&again.stderr));
            assert_eq!(events_in(&target), all, "{what}");
        }
    }
}

#[test]
fn ctrl_c_during_an_import_writes_nothing_and_says_so() {
    let source = exported("400");
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("target");
    let child = Command::new(TOOL)
        .args([
            "import",
            "--store",
            path(&target),
            "--input",
            path(&source.file),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Once the store exists the import is under way (the handler is installed before).
    let deadline = Instant::now() + Duration::from_secs(60);
    while !target.join("db").exists() {
        assert!(Instant::now() < deadline, "the import never started");
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(100));
    let interrupted_at = Instant::now();
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let output = child.wait_with_output().unwrap();
    let stopped_within = interrupted_at.elapsed();
    let stderr = text(&output.stderr);
    if output.status.success() {
        // The import had finished before the signal came: then everything is in.
        assert_eq!(events_in(&target), source.events);
        return;
    }
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("nothing of the file was written"),
        "{stderr}"
    );
    assert!(
        stopped_within < Duration::from_secs(5),
        "stopped {stopped_within:?} after Ctrl-C"
    );
    assert_verifies(&target, "after Ctrl-C");
    assert_eq!(events_in(&target), 0, "nothing of the file is in the store");
    let again = tool(&[
        "import",
        "--store",
        path(&target),
        "--input",
        path(&source.file),
    ]);
    assert!(again.status.success(), "{}", text(&again.stderr));
}

#[test]
fn a_killed_simulation_leaves_a_store_that_verifies_with_every_customer_whole() {
    let mut rng = Rng::from_env("CLI_CRASH_SEED");
    for kill in 0..kills() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("store");
        let after = Duration::from_millis(200 + rng.below(1_500));
        run_and_kill(
            &[
                "simulate",
                "--store",
                path(&store),
                "--customers",
                "2000",
                "--years",
                "3",
            ],
            after,
        );
        let what = format!("kill {kill} after {after:?}");
        if store.join("db").exists() && !creation_stopped(&store, &what) {
            assert_verifies(&store, &what);
        }
    }
}
