//! An import is all or nothing even when the process dies in the middle of it: a child process
//! imports 12,000 events (three slices of the rollback) on top of a store holding 3,000 and is
//! killed with SIGKILL at a seeded random moment; the parent reopens the store, which holds either
//! exactly the 3,000 events it held before (the open rolled the import back and says so) or all
//! 15,000, and verifies clean. The same import then commits.
//!
//! `IMPORT_CRASH_CYCLES` sets the number of kills (12 by default), `IMPORT_CRASH_SEED` the seed.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use service_lifecycle_kernel::testing::fixture::ProbeEvent;
use service_lifecycle_kernel::{
    AppendError, AtomicImport, EventId, EventStore, ExpectedVersion, NewEvent, StreamId,
};
use service_lifecycle_sled::{Durability, SledOptions, SledStore};

const CHILD_DIR: &str = "SERVICE_LIFECYCLE_IMPORT_CRASH_DIR";
const BEFORE: u64 = 3_000;
const IMPORTED: u64 = 12_000;
const RUN: u64 = 200;

fn stream_of(index: u64) -> StreamId {
    StreamId::new(format!("stream-{}", index % 37)).expect("valid stream id")
}

/// The import: runs of 200 events over 37 streams, with ids derived from their seq so that the
/// same import can be given again.
fn import_into(store: &SledStore<ProbeEvent>, pause_each_run: bool) -> Result<(), AppendError> {
    store
        .import_atomically(|sink| {
            let mut versions = std::collections::HashMap::new();
            for start in (BEFORE..BEFORE + IMPORTED).step_by(RUN as usize) {
                let stream = stream_of(start / RUN);
                let version = match versions.get(&stream) {
                    Some(version) => *version,
                    None => store.stream_version(&stream).expect("version"),
                };
                let events: Vec<_> = (start..start + RUN).map(event).collect();
                sink.append_run(&stream, ExpectedVersion::Exact(version), events)?;
                versions.insert(stream, version + RUN);
                if pause_each_run {
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
            Ok(())
        })
        .map_err(|error| match error.into_feed() {
            Some(error) => error,
            None => panic!("the store failed"),
        })
}

fn event(seq: u64) -> NewEvent<ProbeEvent> {
    NewEvent {
        event_id: EventId::from_uuid(uuid::Uuid::from_u64_pair(7, seq)),
        ..NewEvent::new(ProbeEvent::noted(seq), chrono::DateTime::UNIX_EPOCH)
    }
}

/// The child: imports (pausing between runs, so kills land throughout), says when it is done,
/// then waits to be killed.
#[test]
#[ignore = "the import crash test's child process; runs only when the parent starts it"]
fn import_crash_child() {
    let Ok(dir) = std::env::var(CHILD_DIR) else {
        return;
    };
    let store = SledStore::<ProbeEvent>::open_with(&dir, SledOptions::new())
        .expect("the child opens the store");
    println!("ready");
    std::io::stdout().flush().unwrap();
    import_into(&store, true).expect("the child imports");
    println!("committed");
    std::io::stdout().flush().unwrap();
    std::thread::sleep(Duration::from_secs(60));
}

fn seed_store(dir: &Path) {
    let store = SledStore::<ProbeEvent>::open_with(
        dir,
        SledOptions::new().durability(Durability::Buffered),
    )
    .expect("the store opens");
    for start in (0..BEFORE).step_by(100) {
        let stream = StreamId::new(format!("before-{}", start % 7)).unwrap();
        let events: Vec<_> = (start..start + 100).map(event).collect();
        store.append(&stream, ExpectedVersion::Any, events).unwrap();
    }
    store.flush().unwrap();
}

/// Runs the child, kills it `after` it is ready (or, with `None`, once it has committed), and
/// says whether it had committed and how long after it was ready it said so.
fn run_and_kill(dir: &Path, after: Option<Duration>) -> (bool, Duration) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "import_crash_child", "--ignored", "--nocapture"])
        .env(CHILD_DIR, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the child starts");
    let stdout = child.stdout.take().unwrap();
    let (sender, receiver) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = sender.send(line);
        }
    });
    loop {
        let line = receiver
            .recv_timeout(Duration::from_secs(30))
            .expect("the child gets ready");
        if line.ends_with("ready") {
            break;
        }
    }
    let ready = Instant::now();
    let mut took = Duration::ZERO;
    match after {
        Some(after) => std::thread::sleep(after),
        None => loop {
            let line = receiver
                .recv_timeout(Duration::from_secs(60))
                .expect("the child commits");
            if line.ends_with("committed") {
                took = ready.elapsed();
                break;
            }
        },
    }
    child.kill().expect("SIGKILL");
    child.wait().unwrap();
    reader.join().unwrap();
    let committed = after.is_none() || receiver.try_iter().any(|line| line.ends_with("committed"));
    (committed, took)
}

fn everything(store: &SledStore<ProbeEvent>) -> Vec<u64> {
    store
        .read_all(1)
        .unwrap()
        .map(|event| event.unwrap().position)
        .collect()
}

#[test]
fn a_killed_import_leaves_the_store_as_it_was_or_complete() {
    let cycles: u64 = std::env::var("IMPORT_CRASH_CYCLES")
        .ok()
        .and_then(|cycles| cycles.parse().ok())
        .unwrap_or(12);
    let seed: u64 = std::env::var("IMPORT_CRASH_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or(0x5EED_1A2B);
    println!("IMPORT_CRASH_SEED={seed}");
    let mut state = seed | 1;
    let (mut rolled_back, mut complete) = (0, 0);
    // How long the child's import takes here, so that kills land before, throughout and after it.
    let calibration = tempfile::tempdir().unwrap();
    seed_store(calibration.path());
    let (_, took) = run_and_kill(calibration.path(), None);
    let window = took.as_millis() as u64 * 5 / 4 + 1;
    for cycle in 0..cycles {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let after = Duration::from_millis(state % window);
        let dir = tempfile::tempdir().unwrap();
        seed_store(dir.path());
        let (committed, _) = run_and_kill(dir.path(), Some(after));
        let what = format!("cycle {cycle} (killed after {after:?})");
        let store = SledStore::<ProbeEvent>::open(dir.path())
            .unwrap_or_else(|error| panic!("{what}: {error}"));
        let report = store.verify().unwrap();
        assert!(report.is_clean(), "{what}: {report}");
        let head = store.head_position().unwrap();
        match head {
            BEFORE => {
                assert!(!committed, "{what}: a committed import was rolled back");
                rolled_back += 1;
                assert_eq!(everything(&store), (1..=BEFORE).collect::<Vec<_>>());
                import_into(&store, false)
                    .unwrap_or_else(|error| panic!("{what}: the import again: {error}"));
                assert_eq!(store.head_position().unwrap(), BEFORE + IMPORTED);
            }
            head if head == BEFORE + IMPORTED => {
                assert_eq!(store.rolled_back_import(), None, "{what}");
                complete += 1;
            }
            other => panic!("{what}: the store ends at {other}, part of the import"),
        }
        assert!(store.verify().unwrap().is_clean(), "{what}");
    }
    println!("import took {took:?}; {rolled_back} rolled back, {complete} complete");
    assert!(rolled_back > 0, "no kill landed during the import");
}

#[test]
fn opening_a_store_with_an_unfinished_import_says_what_it_rolled_back() {
    let dir = tempfile::tempdir().unwrap();
    seed_store(dir.path());
    // The child is killed once it has written part of the import, before it commits.
    let mut attempts = 0;
    loop {
        attempts += 1;
        assert!(attempts < 20, "the child never stopped mid-import");
        let (committed, _) = run_and_kill(dir.path(), Some(Duration::from_millis(60)));
        let store = SledStore::<ProbeEvent>::open(dir.path()).unwrap();
        if committed {
            return;
        }
        if let Some(rolled_back) = store.rolled_back_import() {
            assert_eq!(rolled_back.head, BEFORE);
            assert!(rolled_back.removed_events <= IMPORTED);
            let said = rolled_back.to_string();
            assert!(said.contains("rolled back"), "{said}");
            assert_eq!(store.head_position().unwrap(), BEFORE);
            let reopened = {
                drop(store);
                SledStore::<ProbeEvent>::open(dir.path()).unwrap()
            };
            assert_eq!(
                reopened.rolled_back_import(),
                None,
                "the rollback is done once"
            );
            return;
        }
    }
}
