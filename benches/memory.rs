//! Peak memory of an export and of an import, at 1,000,000 and 10,000,000 events: neither may
//! grow with the store (issue 18: the 10M figure at most 1.1x the 1M one). Each phase runs in a
//! process of its own (this program started again with the phase's arguments), which reports
//! its peak resident memory (`VmHWM` of /proc/self/status) when it ends.
//!
//! Run: `cargo bench --bench memory` (about ten minutes and 20 GB of disk under target/tmp).
//! `MEMORY_EVENTS=100000,1000000` chooses other sizes; `MEMORY_ENGINE=redb` the other engine.
//! The events are the benchmarks' `probe.noted` with a 100-character note (a 290-byte record),
//! over 1,000 streams, written 100 to an append, as `benches/sled.rs` writes them.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use service_lifecycle::kernel::testing::fixture::{fixture_time, ProbeEvent};
use service_lifecycle::kernel::{EventStore, ExpectedVersion, NewEvent, StreamId};
use service_lifecycle::sled::{Durability, Engine, SledOptions, SledStore};

const STREAMS: u64 = 1_000;
const BATCH: u64 = 100;

fn engine() -> Engine {
    match std::env::var("MEMORY_ENGINE").as_deref() {
        Ok("redb") => Engine::Redb,
        _ => Engine::Sled,
    }
}

/// How the command-line tool opens a store for a one-pass job.
fn one_pass(durability: Durability) -> SledOptions {
    SledOptions::new()
        .engine(engine())
        .durability(durability)
        .one_pass()
}

fn new_event(seq: u64) -> NewEvent<ProbeEvent> {
    let at = fixture_time() + chrono::Duration::seconds(seq as i64);
    let event = ProbeEvent::Noted {
        seq,
        note: format!("{seq:0>100}"),
    };
    NewEvent::new(event, at).with_metadata("user", "clerk-7")
}

/// The peak resident memory of this process so far, in KiB.
fn peak_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status")
}

fn generate(store: &Path, events: u64) {
    // Written with the default cache: building the store is not what is measured.
    let options = SledOptions::new()
        .engine(engine())
        .durability(Durability::Buffered);
    let store = SledStore::<ProbeEvent>::open_with(store, options).expect("the store opens");
    let streams: Vec<StreamId> = (0..STREAMS)
        .map(|n| StreamId::new(format!("probe-{n:04}")).expect("valid id"))
        .collect();
    let mut seq = 0;
    while seq < events {
        let stream = &streams[((seq / BATCH) % STREAMS) as usize];
        let batch = (seq..(seq + BATCH).min(events)).map(new_event).collect();
        store
            .append(stream, ExpectedVersion::Any, batch)
            .expect("append");
        seq += BATCH;
    }
    store.flush().expect("flush");
}

fn export(store: &Path, file: &Path) {
    let store =
        SledStore::<ProbeEvent>::open_with(store, one_pass(Durability::Flush).existing_only())
            .expect("the store opens");
    let out = BufWriter::new(File::create(file).expect("the export file"));
    service_lifecycle::json::export_all(&store, out).expect("export");
}

fn import(file: &Path, store: &Path) {
    let store = SledStore::<ProbeEvent>::open_with(store, one_pass(Durability::Buffered))
        .expect("the store opens");
    let input = BufReader::new(File::open(file).expect("the export file"));
    service_lifecycle::json::import(input, &store, service_lifecycle::json::ImportOptions::new())
        .expect("import");
    store.flush().expect("flush");
}

/// Runs this program with `args`; returns the peak KiB it reported and the seconds it took.
fn phase(args: &[&str]) -> (u64, f64) {
    let started = Instant::now();
    let output = Command::new(std::env::current_exe().expect("this program"))
        .arg("--phase")
        .args(args)
        .output()
        .expect("the phase runs");
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout);
    let peak = text
        .lines()
        .find_map(|line| line.strip_prefix("peak-kib "))
        .and_then(|kib| kib.trim().parse().ok())
        .expect("the phase reports its peak");
    (peak, started.elapsed().as_secs_f64())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--phase") {
        let path = |index: usize| PathBuf::from(&args[index]);
        match args[1].as_str() {
            "generate" => generate(&path(2), args[3].parse().expect("a count")),
            "export" => export(&path(2), &path(3)),
            "import" => import(&path(2), &path(3)),
            other => panic!("unknown phase {other}"),
        }
        println!("peak-kib {}", peak_kib());
        return;
    }
    // `cargo bench` passes `--bench`; anything else is a filter this program does not take.
    let sizes: Vec<u64> = std::env::var("MEMORY_EVENTS")
        .unwrap_or_else(|_| "1000000,10000000".into())
        .split(',')
        .map(|size| size.trim().parse().expect("MEMORY_EVENTS: counts"))
        .collect();
    let root = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("a directory");
    println!(
        "engine {}; peak resident memory (VmHWM) of each phase:",
        engine()
    );
    println!("| events | export | import | export time | import time |");
    println!("|---|---|---|---|---|");
    for events in sizes {
        let dir = root.path().join(events.to_string());
        let (store, file, copy) = (
            dir.join("store"),
            dir.join("export.jsonl"),
            dir.join("copy"),
        );
        let text = |path: &Path| path.to_str().expect("a UTF-8 path").to_owned();
        phase(&["generate", &text(&store), &events.to_string()]);
        let (export_kib, export_s) = phase(&["export", &text(&store), &text(&file)]);
        let (import_kib, import_s) = phase(&["import", &text(&file), &text(&copy)]);
        println!(
            "| {events} | {:.1} MiB | {:.1} MiB | {export_s:.1} s | {import_s:.1} s |",
            export_kib as f64 / 1024.0,
            import_kib as f64 / 1024.0
        );
        std::io::stdout().flush().expect("stdout");
        std::fs::remove_dir_all(&dir).expect("the phase's files are removed");
    }
}
