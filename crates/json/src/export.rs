//! Export: a store, a stream or a range of positions as JSON Lines, streaming.

use std::io::Write;

use service_lifecycle_kernel::{
    EncodedEnvelope, Envelope, Event, EventStore, ReadError, StreamId, VisitError,
};

use crate::format::{
    crc_hex, EventLineOut, Header, PairsAsMap, Scope, Trailer, TrailerLine, FORMAT_NAME,
    FORMAT_VERSION,
};

/// Why an export failed. What was written before the error is not a valid export (it has no
/// trailer), and the importer refuses it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// Reading the store failed.
    #[error("reading the store failed: {0}")]
    Read(#[from] ReadError),
    /// An event could not be encoded.
    #[error("event at position {position} could not be encoded: {source}")]
    Encode {
        /// Its position.
        position: u64,
        /// Why.
        source: service_lifecycle_kernel::CodecError,
    },
    /// An incremental export was asked to start after a position the store does not have yet.
    #[error("the store's newest event is at position {head}, so there is nothing after position {after}: an incremental export starts at a position the store has (0 exports everything)")]
    AfterHead {
        /// The position asked for.
        after: u64,
        /// The store's newest position.
        head: u64,
    },
    /// Writing the output failed.
    #[error("writing the export failed: {0}")]
    Write(#[from] std::io::Error),
    /// The store changed under a two-pass stream export (another writer appended meanwhile is
    /// fine; a stream that shrank is not).
    #[error("the store changed during the export: {0}")]
    Changed(String),
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSummary {
    /// The header written.
    pub header: Header,
    /// The trailer written.
    pub trailer: Trailer,
}

/// Writes every event of `store` (as of the moment the export starts) to `out`.
///
/// ```
/// use service_lifecycle_kernel::testing::fixture::ProbeEvent;
/// use service_lifecycle_kernel::{EventStore, ExpectedVersion, MemoryStore, NewEvent, StreamId};
///
/// let store = MemoryStore::<ProbeEvent>::new();
/// let stream = StreamId::new("probe-1")?;
/// store.append(&stream, ExpectedVersion::Any, vec![NewEvent::new(ProbeEvent::noted(1), chrono::Utc::now())])?;
/// let mut file = Vec::new();
/// let summary = service_lifecycle_json::export_all(&store, &mut file)?;
/// assert_eq!(summary.header.events, 1);
/// assert_eq!(String::from_utf8(file)?.lines().count(), 3); // header, one event, trailer
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn export_all<E: Event, S: EventStore<E>>(
    store: &S,
    out: impl Write,
) -> Result<ExportSummary, ExportError> {
    export_positions(store, Scope::All, 0, out)
}

/// Writes every event after global position `after` (an incremental export: import it into a
/// store whose head is `after`).
pub fn export_after<E: Event, S: EventStore<E>>(
    store: &S,
    after: u64,
    out: impl Write,
) -> Result<ExportSummary, ExportError> {
    export_positions(store, Scope::After { position: after }, after, out)
}

fn export_positions<E: Event, S: EventStore<E>>(
    store: &S,
    scope: Scope,
    after: u64,
    out: impl Write,
) -> Result<ExportSummary, ExportError> {
    let head = store.head_position()?;
    if after > head {
        return Err(ExportError::AfterHead { after, head });
    }
    let events = head - after;
    let header = Header {
        format: FORMAT_NAME.into(),
        format_version: FORMAT_VERSION,
        scope,
        events,
        first_position: (events > 0).then_some(after + 1),
        last_position: (events > 0).then_some(head),
    };
    let mut writer = ExportWriter::start(&header, out)?;
    let visited = store.visit_encoded(after + 1, head, &mut |event| {
        writer
            .event(event)
            .map_err(|error| VisitError::Visitor(Box::new(error)))
    });
    visited?;
    writer.finish(header)
}

impl From<VisitError> for ExportError {
    /// A visit stopped by the store keeps its reason; one stopped by the export's own writing
    /// gets that error back as it was (not wrapped in another "writing failed").
    fn from(error: VisitError) -> Self {
        match error {
            VisitError::Read(error) => Self::Read(error),
            VisitError::Encode { position, source } => Self::Encode { position, source },
            VisitError::Visitor(error) => match error.downcast::<ExportError>() {
                Ok(export) => *export,
                Err(other) => Self::Write(std::io::Error::other(other)),
            },
        }
    }
}

/// Writes the events of one stream. The stream is read twice (once for the header's positions),
/// so memory stays constant.
pub fn export_stream<E: Event, S: EventStore<E>>(
    store: &S,
    stream: &StreamId,
    out: impl Write,
) -> Result<ExportSummary, ExportError> {
    let version = store.stream_version(stream)?;
    let mut first_position = None;
    let mut last_position = None;
    for envelope in store.read_stream(stream, 1)?.take(version as usize) {
        let envelope = envelope?;
        first_position.get_or_insert(envelope.position);
        last_position = Some(envelope.position);
    }
    let header = Header {
        format: FORMAT_NAME.into(),
        format_version: FORMAT_VERSION,
        scope: Scope::Stream {
            stream_id: stream.to_string(),
        },
        events: version,
        first_position,
        last_position,
    };
    let mut writer = ExportWriter::start(&header, out)?;
    let mut payload = Vec::new();
    for envelope in store.read_stream(stream, 1)?.take(version as usize) {
        let envelope = envelope?;
        with_encoded(envelope.as_ref(), &mut payload, |event| writer.event(event))?;
    }
    writer.finish(header)
}

/// Writes one stream's events, from version 1, as a JSON array of event objects with the fields
/// of an export line (no header, no trailer), for documents that embed events, such as a
/// customer's data export.
///
/// ```
/// use service_lifecycle_kernel::testing::fixture::ProbeEvent;
/// use service_lifecycle_kernel::{EventStore, ExpectedVersion, MemoryStore, NewEvent, StreamId};
///
/// let store = MemoryStore::<ProbeEvent>::new();
/// let stream = StreamId::new("probe-1")?;
/// let events = (1..=2).map(|n| NewEvent::new(ProbeEvent::noted(n), chrono::Utc::now())).collect();
/// store.append(&stream, ExpectedVersion::NoStream, events)?;
/// let mut out = Vec::new();
/// service_lifecycle_json::write_stream_events(&store, &stream, &mut out)?;
/// let array: serde_json::Value = serde_json::from_slice(&out)?;
/// assert_eq!(array.as_array().map(Vec::len), Some(2));
/// assert_eq!(array[1]["stream_version"], 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_stream_events<E: Event, S: EventStore<E>>(
    store: &S,
    stream: &StreamId,
    mut out: impl Write,
) -> Result<(), ExportError> {
    out.write_all(b"[")?;
    let mut line = Vec::with_capacity(1024);
    let mut payload = Vec::new();
    for (index, envelope) in store.read_stream(stream, 1)?.enumerate() {
        let envelope = envelope?;
        line.clear();
        if index > 0 {
            line.push(b',');
        }
        with_encoded(envelope.as_ref(), &mut payload, |event| {
            encode_event_line(event, &mut line)
        })?;
        line.pop(); // the newline of an export line
        out.write_all(&line)?;
    }
    out.write_all(b"]")?;
    Ok(())
}

/// Writes an export's lines as they come: the header first, the trailer last.
struct ExportWriter<W: Write> {
    out: std::io::BufWriter<W>,
    crc: crc32fast::Hasher,
    line: Vec<u8>,
    written: u64,
}

impl<W: Write> ExportWriter<W> {
    fn start(header: &Header, out: W) -> Result<Self, ExportError> {
        let mut out = std::io::BufWriter::with_capacity(1 << 16, out);
        serde_json::to_writer(&mut out, header).map_err(std::io::Error::from)?;
        out.write_all(b"\n")?;
        Ok(Self {
            out,
            crc: crc32fast::Hasher::new(),
            line: Vec::with_capacity(1024),
            written: 0,
        })
    }

    fn event(&mut self, event: &EncodedEnvelope<'_>) -> Result<(), ExportError> {
        self.line.clear();
        encode_event_line(event, &mut self.line)?;
        self.crc.update(&self.line);
        self.out.write_all(&self.line)?;
        self.written += 1;
        Ok(())
    }

    fn finish(mut self, header: Header) -> Result<ExportSummary, ExportError> {
        if self.written != header.events {
            return Err(ExportError::Changed(format!(
                "the header announced {} events but {} were read",
                header.events, self.written
            )));
        }
        let trailer = Trailer {
            events: self.written,
            crc32: crc_hex(self.crc.finalize()),
        };
        let line = TrailerLine {
            trailer: trailer.clone(),
        };
        serde_json::to_writer(&mut self.out, &line).map_err(std::io::Error::from)?;
        self.out.write_all(b"\n")?;
        self.out.flush()?;
        Ok(ExportSummary { header, trailer })
    }
}

/// Calls `then` with `envelope` encoded (its payload written into `payload`).
fn with_encoded<E: Event, R>(
    envelope: &Envelope<E>,
    payload: &mut Vec<u8>,
    then: impl FnOnce(&EncodedEnvelope<'_>) -> Result<R, ExportError>,
) -> Result<R, ExportError> {
    EncodedEnvelope::encode(envelope, payload, then).map_err(|source| ExportError::Encode {
        position: envelope.position,
        source,
    })?
}

/// Appends one event line (with its newline) to `line`: the envelope's fields in a fixed order,
/// then `data`, the payload as it is.
fn encode_event_line(event: &EncodedEnvelope<'_>, line: &mut Vec<u8>) -> Result<(), ExportError> {
    let fields = EventLineOut {
        position: event.position,
        stream_id: event.stream_id,
        stream_version: event.stream_version,
        event_id: event.event_id.as_uuid(),
        event_type: event.event_type,
        schema_version: event.schema_version,
        recorded_at: event.recorded_at,
        correlation_id: event.correlation_id,
        causation_id: event.causation_id,
        metadata: PairsAsMap(event.metadata),
    };
    fields
        .write(event.payload, line)
        .map_err(std::io::Error::from)?;
    line.push(b'\n');
    Ok(())
}
