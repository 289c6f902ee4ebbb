//! Faults on the real server (docs/testing.md §2.9): writer processes on one contended stream
//! and on streams of their own, a tail reader following them, writers killed with SIGKILL at
//! seeded moments, and the server itself stopped with `pg_ctl stop -m immediate` under load and
//! started again. After each cycle the store is read whole: positions 1..head without a gap,
//! every event once, every stream's versions contiguous, every acknowledged append there (Flush),
//! and every append whole or absent.
//!
//! `PG_FAULT_CYCLES` (default 200) and `PG_FAULT_SEED` (printed) choose the cycles and moments;
//! every tenth cycle crashes the server instead of killing writers.

mod common;

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use service_lifecycle_kernel::testing::fixture::ProbeEvent;
use service_lifecycle_kernel::{AppendError, EventStore, ExpectedVersion, NewEvent, StreamId};
use service_lifecycle_postgres::{Durability, PostgresOptions, PostgresStore};

const CHILD_URL: &str = "PG_FAULT_CHILD_URL";
const CHILD_SCHEMA: &str = "PG_FAULT_CHILD_SCHEMA";
const CHILD_NAME: &str = "PG_FAULT_CHILD_NAME";
const CHILD_APPENDS: &str = "PG_FAULT_CHILD_APPENDS";

/// The tests of this file share one server, and one of them crashes it: they run one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// SplitMix64, so that a failing run can be replayed from its printed seed.
struct Rng(u64);

impl Rng {
    fn from_env() -> Self {
        let seed = std::env::var("PG_FAULT_SEED")
            .ok()
            .and_then(|seed| seed.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(3, |elapsed| elapsed.as_nanos() as u64)
            });
        println!("PG_FAULT_SEED={seed}");
        Self(seed)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % bound.max(1)
    }
}

/// What a writer process said: appends it tried (ids) and appends acknowledged (stream,
/// first version, ids).
#[derive(Debug, Default)]
struct Said {
    tried: Vec<Vec<String>>,
    acknowledged: Vec<(String, u64, Vec<String>)>,
}

fn parse(lines: &[String]) -> Said {
    let mut said = Said::default();
    for line in lines {
        let mut words = line.split_whitespace();
        match words.next() {
            Some("try") => said.tried.push(words.map(str::to_owned).collect()),
            Some("ack") => {
                let stream = words.next().unwrap_or_default().to_owned();
                let version = words.next().and_then(|v| v.parse().ok()).unwrap_or(0);
                said.acknowledged
                    .push((stream, version, words.map(str::to_owned).collect()));
            }
            _ => {}
        }
    }
    said
}

/// A writer process: `appends` appends of 1 to 3 events, alternating between the contended
/// stream (optimistic concurrency with the version it read) and streams of its own; every
/// attempt is printed before (`try`) and every success after (`ack`). A failed append is
/// retried with the same ids until it is answered.
#[test]
#[ignore = "started by the fault tests as a child process"]
fn fault_writer_child() {
    let (Ok(url), Ok(schema), Ok(name)) = (
        std::env::var(CHILD_URL),
        std::env::var(CHILD_SCHEMA),
        std::env::var(CHILD_NAME),
    ) else {
        return;
    };
    let appends: u64 = std::env::var(CHILD_APPENDS)
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100);
    let store = loop {
        match PostgresStore::<ProbeEvent>::open_with(
            &url,
            PostgresOptions::new()
                .schema(schema.clone())
                .pool_size(2)
                .connect_timeout(Duration::from_secs(2)),
        ) {
            Ok(store) => break store,
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    };
    println!("ready");
    let contended = StreamId::new("contended").unwrap();
    let mut rng = Rng(name.bytes().map(u64::from).sum::<u64>() * 7919);
    for n in 0..appends {
        let (stream, expected) = if n % 2 == 0 {
            let version = loop {
                match store.stream_version(&contended) {
                    Ok(version) => break version,
                    Err(_) => std::thread::sleep(Duration::from_millis(50)),
                }
            };
            let expected = if version == 0 {
                ExpectedVersion::NoStream
            } else {
                ExpectedVersion::at(version)
            };
            (contended.clone(), expected)
        } else {
            let own = StreamId::new(format!("{name}-{}", n / 10)).unwrap();
            (own, ExpectedVersion::Any)
        };
        let events: Vec<NewEvent<ProbeEvent>> = (0..=rng.below(3))
            .map(|i| NewEvent::new(ProbeEvent::noted(n * 10 + i), chrono::Utc::now()))
            .collect();
        let ids: Vec<String> = events.iter().map(|e| e.event_id.to_string()).collect();
        println!("try {}", ids.join(" "));
        loop {
            match store.append(&stream, expected, events.clone()) {
                Ok(done) => {
                    println!("ack {stream} {} {}", done.first_version, ids.join(" "));
                    break;
                }
                Err(AppendError::Conflict { .. }) => break,
                // The server away, the outcome unknown: the same ids again are safe.
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }
    println!("done");
}

struct Writer {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    reader: std::thread::JoinHandle<()>,
}

fn start_writer(url: &str, schema: &str, name: &str, appends: u64) -> Writer {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "fault_writer_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_URL, format!("{url}?application_name=fault_writer"))
        .env(CHILD_SCHEMA, schema)
        .env(CHILD_NAME, name)
        .env(CHILD_APPENDS, appends.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the writer starts");
    let stdout = child.stdout.take().unwrap();
    let lines = Arc::new(Mutex::new(Vec::new()));
    let reader = {
        let lines = Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                lines.lock().unwrap().push(line);
            }
        })
    };
    Writer {
        child,
        lines,
        reader,
    }
}

impl Writer {
    fn ready(&self) -> bool {
        // The test harness writes "test fault_writer_child ... " before the child's first line.
        self.lines
            .lock()
            .unwrap()
            .iter()
            .any(|line| line.ends_with("ready"))
    }

    fn finish(mut self, kill: bool) -> Said {
        if kill {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
        let _ = self.reader.join();
        let lines = self.lines.lock().unwrap().clone();
        parse(&lines)
    }
}

/// Waits until the server has ended the sessions of killed writers: a statement a writer sent
/// before it was killed may still commit after the writer is gone.
fn wait_for_writer_sessions_to_end(url: &str) {
    let mut client = postgres::Client::connect(url, postgres::NoTls).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let sessions: i64 = client
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'fault_writer'",
                &[],
            )
            .unwrap()
            .get(0);
        if sessions == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "writer sessions outlived their processes"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Reads the whole store and checks it against what the writers said.
fn check_store(store: &PostgresStore<ProbeEvent>, said: &[Said], what: &str) {
    let head = store.head_position().unwrap();
    let mut positions = 0;
    let mut ids = HashSet::new();
    let mut versions: HashMap<String, u64> = HashMap::new();
    let mut at: HashMap<String, (String, u64)> = HashMap::new();
    for envelope in store.read_all(1).unwrap() {
        let envelope = envelope.unwrap_or_else(|error| panic!("{what}: {error}"));
        positions += 1;
        assert_eq!(envelope.position, positions, "{what}: a gap in the log");
        assert!(
            ids.insert(envelope.event_id.to_string()),
            "{what}: an event twice"
        );
        let version = versions.entry(envelope.stream_id.to_string()).or_default();
        *version += 1;
        assert_eq!(
            envelope.stream_version, *version,
            "{what}: a gap in {}",
            envelope.stream_id
        );
        at.insert(
            envelope.event_id.to_string(),
            (envelope.stream_id.to_string(), envelope.stream_version),
        );
    }
    assert_eq!(positions, head, "{what}: the head is not the last position");
    for (stream, version) in &versions {
        let stored = store
            .stream_version(&StreamId::new(stream.as_str()).unwrap())
            .unwrap();
        assert_eq!(stored, *version, "{what}: stream {stream}'s head");
    }
    for said in said {
        for (stream, first_version, acked) in &said.acknowledged {
            for (offset, id) in acked.iter().enumerate() {
                assert_eq!(
                    at.get(id),
                    Some(&(stream.clone(), first_version + offset as u64)),
                    "{what}: acknowledged event {id} is not where its append put it"
                );
            }
        }
        for tried in &said.tried {
            let present = tried.iter().filter(|id| ids.contains(*id)).count();
            assert!(
                present == 0 || present == tried.len(),
                "{what}: an append is in part: {present} of {} events",
                tried.len()
            );
        }
    }
}

#[test]
fn writers_in_several_processes_lose_nothing_and_a_tail_reader_never_sees_a_gap() {
    let _alone = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let Some(server) = common::server() else {
        return;
    };
    let schema = common::fresh_schema();
    let store = PostgresStore::<ProbeEvent>::open_with(
        &server.url(),
        PostgresOptions::new().schema(schema.clone()),
    )
    .unwrap();
    let writers: Vec<Writer> = (0..4)
        .map(|n| start_writer(&server.url(), &schema, &format!("w{n}"), 120))
        .collect();
    // The tail reader: reads on from the last position it saw, and must see 1, 2, 3, …
    let stop = Arc::new(AtomicBool::new(false));
    let tail = {
        let store = store.clone();
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut seen = 0u64;
            while !stop.load(Ordering::SeqCst) {
                for envelope in store.read_all(seen + 1).unwrap() {
                    let envelope = envelope.unwrap();
                    assert_eq!(envelope.position, seen + 1, "the tail reader skipped");
                    seen = envelope.position;
                }
                let _ = service_lifecycle_kernel::CommitNotifier::wait_for_commit(
                    &store,
                    seen,
                    Duration::from_millis(100),
                );
            }
            seen
        })
    };
    let said: Vec<Said> = writers
        .into_iter()
        .map(|writer| writer.finish(false))
        .collect();
    stop.store(true, Ordering::SeqCst);
    let tail_saw = tail.join().expect("the tail reader saw no gap");
    check_store(&store, &said, "after four writers");
    let acknowledged: usize = said.iter().map(|said| said.acknowledged.len()).sum();
    assert!(
        acknowledged >= 4 * 60,
        "each writer's own appends all succeed: {acknowledged}"
    );
    assert!(tail_saw > 0);
    let head = store.head_position().unwrap();
    assert!(tail_saw <= head);
}

#[test]
fn killed_writers_and_a_crashed_server_lose_no_acknowledged_append() {
    let _alone = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let Some(server) = common::server() else {
        return;
    };
    let cycles: u64 = std::env::var("PG_FAULT_CYCLES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(200);
    let mut rng = Rng::from_env();
    let mut schema = common::fresh_schema();
    let mut said_all = Vec::new();
    let mut crashes = 0;
    for cycle in 0..cycles {
        // A fresh store every 20 cycles, so that each check reads a store of bounded size.
        if cycle % 20 == 0 {
            schema = common::fresh_schema();
            said_all.clear();
        }
        let crash_server = cycle % 10 == 9;
        let writers: Vec<Writer> = (0..3)
            .map(|n| start_writer(&server.url(), &schema, &format!("c{cycle}w{n}"), 40))
            .collect();
        let deadline = Instant::now() + Duration::from_secs(30);
        while !writers.iter().all(Writer::ready) {
            assert!(Instant::now() < deadline, "the writers never got ready");
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(rng.below(150)));
        if crash_server {
            server.crash().expect("the server stops");
            std::thread::sleep(Duration::from_millis(rng.below(100)));
            server.restart().expect("the server starts again");
            crashes += 1;
            // The writers retry through the crash and finish.
            said_all.extend(writers.into_iter().map(|writer| writer.finish(false)));
        } else {
            said_all.extend(writers.into_iter().map(|writer| writer.finish(true)));
        }
        wait_for_writer_sessions_to_end(&server.url());
        let store = PostgresStore::<ProbeEvent>::open_with(
            &server.url(),
            PostgresOptions::new()
                .schema(schema.clone())
                .durability(Durability::Flush)
                .pool_size(2),
        )
        .unwrap();
        check_store(&store, &said_all, &format!("cycle {cycle}"));
    }
    println!("{cycles} cycles, {crashes} server crashes");
}
