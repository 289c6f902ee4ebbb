//! JSON for service-lifecycle: the portable, verified form of an event store.
//!
//! - [`export_all`], [`export_after`] and [`export_stream`] write a store, an incremental range
//!   or one stream as **JSON Lines**: a header line (format, version, scope, counts, first and
//!   last position), one envelope per line with the event as JSON, and a trailer with a CRC-32 of
//!   the event lines. Exports stream: memory does not grow with the store.
//! - [`import`] reads such a file into an empty store (or a store holding exactly the events
//!   before an incremental file), verifying all of it before it writes anything: a problem is an
//!   [`ImportError`] naming the line, and the target holds nothing of the file. The write pass
//!   is one [`AtomicImport`](service_lifecycle_kernel::AtomicImport): a failure in it, a stop
//!   asked for with [`ImportOptions::stop_when`] or a crash also leave the target as it was.
//! - [`write_stream_events`] writes one stream's events as a JSON array of the same event
//!   objects, for documents that embed events (a customer's data export, say).
//!
//! The crate depends on the kernel only: it moves any store's events, whatever their domain. The
//! domain's own JSON documents (a customer's data export, the reports) live with the domain.
//!
//! The format is documented in docs/json-format.md, with JSON Schemas in docs/schemas/.
//!
//! ```
//! use service_lifecycle_kernel::testing::fixture::ProbeEvent;
//! use service_lifecycle_kernel::{EventStore, ExpectedVersion, MemoryStore, NewEvent, StreamId};
//! use service_lifecycle_json::{export_all, import, ImportOptions};
//!
//! let source = MemoryStore::<ProbeEvent>::new();
//! let stream = StreamId::new("probe-1")?;
//! let events = (1..=3).map(|n| NewEvent::new(ProbeEvent::noted(n), chrono::Utc::now())).collect();
//! source.append(&stream, ExpectedVersion::NoStream, events)?;
//!
//! let mut file = Vec::new();
//! export_all(&source, &mut file)?;
//! let target = MemoryStore::<ProbeEvent>::new();
//! let summary = import(std::io::Cursor::new(&file), &target, ImportOptions::new())?;
//! assert_eq!(summary.events, 3);
//! assert_eq!(target.stream_version(&stream)?, 3);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod export;
mod format;
mod import;

pub use export::{
    export_after, export_all, export_stream, write_stream_events, ExportError, ExportSummary,
};
pub use format::{Header, Scope, Trailer, FORMAT_NAME, FORMAT_VERSION};
pub use import::{
    import, ImportError, ImportOptions, ImportProblem, ImportSummary, DEFAULT_MAX_LINE,
};
