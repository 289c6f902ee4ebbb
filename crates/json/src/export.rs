//! Export: a store, a stream or a range of positions as JSON Lines, streaming.

use std::io::Write;

use service_lifecycle_core::{Envelope, Event, EventStore, ReadError, StreamId};

use crate::format::{
    crc_hex, EventLineOut, Header, Scope, Trailer, TrailerLine, FORMAT_NAME, FORMAT_VERSION,
};

/// Why an export failed. What was written before the error is not a valid export (it has no
/// trailer), and the importer refuses it.
#[derive(Debug, thiserror::Error)]
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
        source: service_lifecycle_core::CodecError,
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
/// use service_lifecycle_core::testing::fixture::ProbeEvent;
/// use service_lifecycle_core::{EventStore, ExpectedVersion, MemoryStore, NewEvent, StreamId};
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
    let events = head.saturating_sub(after);
    let header = Header {
        format: FORMAT_NAME.into(),
        format_version: FORMAT_VERSION,
        scope,
        events,
        first_position: (events > 0).then_some(after + 1),
        last_position: (events > 0).then_some(head),
    };
    let envelopes = store.read_all(after + 1)?.take(events as usize);
    write_export(header, envelopes, out)
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
    let envelopes = store.read_stream(stream, 1)?.take(version as usize);
    write_export(header, envelopes, out)
}

fn write_export<'a, E: Event + 'a>(
    header: Header,
    envelopes: impl Iterator<Item = Result<std::borrow::Cow<'a, Envelope<E>>, ReadError>>,
    out: impl Write,
) -> Result<ExportSummary, ExportError> {
    let mut out = std::io::BufWriter::with_capacity(1 << 16, out);
    serde_json::to_writer(&mut out, &header).map_err(std::io::Error::from)?;
    out.write_all(b"\n")?;
    let mut crc = crc32fast::Hasher::new();
    let mut line = Vec::with_capacity(1024);
    let mut written = 0u64;
    for envelope in envelopes {
        let envelope = envelope?;
        line.clear();
        encode_event_line(&envelope, &mut line)?;
        crc.update(&line);
        out.write_all(&line)?;
        written += 1;
    }
    if written != header.events {
        return Err(ExportError::Changed(format!(
            "the header announced {} events but {written} were read",
            header.events
        )));
    }
    let trailer = Trailer {
        events: written,
        crc32: crc_hex(crc.finalize()),
    };
    serde_json::to_writer(
        &mut out,
        &TrailerLine {
            trailer: trailer.clone(),
        },
    )
    .map_err(std::io::Error::from)?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(ExportSummary { header, trailer })
}

/// Appends one event line (with its newline) to `line`: the envelope's fields in a fixed order,
/// then `data`, the event's payload.
pub(crate) fn encode_event_line<E: Event>(
    envelope: &Envelope<E>,
    line: &mut Vec<u8>,
) -> Result<(), ExportError> {
    let fields = EventLineOut {
        position: envelope.position,
        stream_id: envelope.stream_id.as_str(),
        stream_version: envelope.stream_version,
        event_id: envelope.event_id.as_uuid(),
        event_type: envelope.event_type(),
        schema_version: envelope.schema_version(),
        recorded_at: envelope.recorded_at,
        correlation_id: envelope.correlation_id,
        causation_id: envelope.causation_id,
        metadata: &envelope.metadata,
    };
    serde_json::to_writer(&mut *line, &fields).map_err(std::io::Error::from)?;
    // Replace the closing brace by the payload field.
    line.pop();
    line.extend_from_slice(br#","data":"#);
    envelope
        .event
        .write_payload(line)
        .map_err(|source| ExportError::Encode {
            position: envelope.position,
            source,
        })?;
    line.extend_from_slice(b"}\n");
    Ok(())
}
