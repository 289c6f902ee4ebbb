//! What opening the application costs on an existing sled store, against folding its whole
//! log: the measurement behind the start-up targets in `docs/benchmarks.md`.
//!
//! ```text
//! cargo run --release --example startup -- replay DIR   # fold every event into a directory
//! cargo run --release --example startup -- open DIR     # ServiceLifecycle::new, as an application opens
//! cargo run --release --example startup -- store DIR    # opening the sled store alone
//! ```
//!
//! Each mode runs in its own process so its resident memory is its own; each prints one line
//! with the time taken, the events in the store, and the peak and current resident memory.
//! `benches/startup.sh` simulates the one-year and three-year stores and runs both.

use std::time::Instant;

use service_lifecycle::kernel::{EventStore, Projection};
use service_lifecycle::sled::{SledOptions, SledStore};
use service_lifecycle::{Directory, ServiceEvent, ServiceLifecycle};

/// A page cache small enough not to dominate what is measured (the store's default is larger).
const PAGE_CACHE: u64 = 16 * 1024 * 1024;

/// The process's resident memory now and at its peak, in MiB, from /proc (Linux).
fn resident_mib() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<f64>()
                    .ok()
            })
            .map_or(f64::NAN, |kib| kib / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(mode), Some(dir)) = (args.next(), args.next()) else {
        return Err("usage: startup replay|open|store DIR".into());
    };
    let opening = Instant::now();
    let store = SledStore::<ServiceEvent>::open_with(
        &dir,
        SledOptions::new()
            .cache_capacity(PAGE_CACHE)
            .existing_only(),
    )?;
    let events = store.head_position()?;
    if mode == "store" {
        // Opening the sled store alone: what every mode pays before it starts.
        println!(
            " store: {:>8.1} ms to open the sled store of {events} events",
            opening.elapsed().as_secs_f64() * 1e3
        );
        return Ok(());
    }
    let started = Instant::now();
    match mode.as_str() {
        "replay" => {
            let mut directory = Directory::default();
            for stored in store.read_all(1)? {
                let stored = stored?;
                directory.apply(&stored);
            }
            std::hint::black_box(&directory);
        }
        "open" => {
            let service = ServiceLifecycle::new(store.clone())?;
            std::hint::black_box(&service);
        }
        other => return Err(format!("unknown mode {other:?}: replay or open").into()),
    }
    let elapsed = started.elapsed();
    let (now, peak) = resident_mib();
    println!(
        "{mode:>6}: {:>8.1} ms over {events} events; resident {now:.0} MiB now, {peak:.0} MiB at the peak",
        elapsed.as_secs_f64() * 1e3
    );
    Ok(())
}
