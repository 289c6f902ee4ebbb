//! Import: an export file into a store, verified first, all or nothing.

use std::io::{BufRead, Seek, SeekFrom};

use service_lifecycle_kernel::{
    AppendError, AtomicImport, AtomicImportError, Event, EventDecoder, EventId, EventStore,
    ExpectedVersion, ImportSink, NewEvent, ReadError, StreamId, Upcasters,
};

use crate::format::{
    crc_hex, EventLineIn, EventLineOut, Header, PairsAsMap, Scope, TrailerLine, FORMAT_NAME,
    FORMAT_VERSION,
};

/// The longest line the importer reads by default: 1 MiB (an event line of the largest event the
/// sled store accepts, 64 KiB, fits many times over).
pub const DEFAULT_MAX_LINE: usize = 1 << 20;
/// How many consecutive events of one stream an import appends at once.
const APPEND_BATCH: usize = 1_000;
/// How many event lines one hash of the first pass covers: the second pass checks that it
/// writes the lines verified, one such chunk at a time (8 bytes of memory per chunk).
const VERIFIED_CHUNK: u64 = 4_096;

/// How an import reads its file.
pub struct ImportOptions {
    max_line: usize,
    upcasters: Upcasters,
    stop: fn() -> bool,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            max_line: DEFAULT_MAX_LINE,
            upcasters: Upcasters::new(),
            stop: || false,
        }
    }
}

impl std::fmt::Debug for ImportOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportOptions")
            .field("max_line", &self.max_line)
            .finish_non_exhaustive()
    }
}

impl ImportOptions {
    /// Lines up to 1 MiB, no upcasters.
    pub fn new() -> Self {
        Self::default()
    }

    /// Refuses lines longer than `bytes`.
    pub fn max_line(mut self, bytes: usize) -> Self {
        self.max_line = bytes;
        self
    }

    /// Upcasts events exported at older schema versions on the way in.
    pub fn upcasters(mut self, upcasters: Upcasters) -> Self {
        self.upcasters = upcasters;
        self
    }

    /// Asks `stop` before every line (a Ctrl-C flag, say): once it says yes, the import stops
    /// with [`ImportProblem::Stopped`] and writes nothing.
    pub fn stop_when(mut self, stop: fn() -> bool) -> Self {
        self.stop = stop;
        self
    }
}

/// What is wrong with a file, or what failed while importing it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportProblem {
    /// Reading the file failed.
    #[error("reading failed: {0}")]
    Io(#[from] std::io::Error),
    /// The file is empty.
    #[error("the file is empty: it has no header")]
    Empty,
    /// A line is longer than the limit.
    #[error("the line is longer than {limit} bytes")]
    LineTooLong {
        /// The limit.
        limit: usize,
    },
    /// A line is not UTF-8.
    #[error("the line is not valid UTF-8 (at byte {valid_up_to})")]
    NotUtf8 {
        /// How many bytes of the line are valid.
        valid_up_to: usize,
    },
    /// A line is not the JSON it must be.
    #[error("{what} is malformed: {source}")]
    Malformed {
        /// What the line should be (the header, an event, the trailer).
        what: &'static str,
        /// What serde_json said.
        source: serde_json::Error,
    },
    /// The header names another format or version.
    #[error("the header says format {format:?} version {version}; this code reads {FORMAT_NAME:?} version {FORMAT_VERSION}")]
    WrongFormat {
        /// The format named.
        format: String,
        /// The version named.
        version: u32,
    },
    /// A stream export's positions are not contiguous: it can be read, not imported.
    #[error("a stream export cannot be imported (its positions are not contiguous); import a whole-store or incremental export")]
    StreamScope,
    /// The header's counts contradict each other.
    #[error("the header is inconsistent: {0}")]
    BadHeader(String),
    /// The file does not continue the target store.
    #[error("the file starts at position {first}, but the target store's head is {head}: it continues position {expected}")]
    DoesNotContinue {
        /// The file's first position.
        first: u64,
        /// The store's head.
        head: u64,
        /// The position the file must start after.
        expected: u64,
    },
    /// An event's position is not the next one.
    #[error("position {found} where {expected} was expected (lines out of order, duplicated or missing)")]
    PositionOutOfOrder {
        /// The expected position.
        expected: u64,
        /// The position found.
        found: u64,
    },
    /// An event's stream version is not the next one of its stream.
    #[error("stream {stream} version {found} where {expected} was expected")]
    VersionOutOfOrder {
        /// The stream.
        stream: String,
        /// The expected version.
        expected: u64,
        /// The version found.
        found: u64,
    },
    /// An event's stream id is not valid.
    #[error("the stream id is invalid: {0}")]
    BadStreamId(#[from] service_lifecycle_kernel::InvalidStreamId),
    /// An event id appears twice in the file, or is already in the target store.
    #[error("event id {0} appears twice")]
    DuplicateEventId(EventId),
    /// The target would refuse the event (over its size limit, say), so nothing of the file is
    /// written.
    #[error("the target store would refuse this event: {0}")]
    Refused(#[source] AppendError),
    /// The file changed between the first pass, which verified it, and the second, which
    /// writes it: the import is undone.
    #[error("the file changed while it was imported: a line from this one on (within 4,096 lines) is not the one verified, so nothing of the file was written (write the file once, then import it)")]
    ChangedDuringImport,
    /// The file starts with a UTF-8 byte-order mark, which an export never writes (an editor
    /// added it).
    #[error("the file starts with a byte-order mark (an editor saved it as \"UTF-8 with BOM\"); an export has none: save it as plain UTF-8, or use the original export")]
    ByteOrderMark,
    /// The line ends with a carriage return: the file has Windows (CRLF) line endings.
    #[error("the line ends with a carriage return: the file has Windows (CRLF) line endings, an export has LF only; convert it back (dos2unix), or use the original export")]
    CarriageReturn,
    /// An event line that the export would not write back byte for byte: a field the event type
    /// does not have (its data would be lost), or a value written another way (an upper-case
    /// UUID, a time in another offset, other whitespace or field order).
    #[error("the event line is not as an export writes it: {difference}; a field the event does not have would be lost, so the line is refused")]
    NotCanonical {
        /// Where the line differs from the canonical one, naming the field.
        difference: String,
    },
    /// An event does not decode into the application's events (unknown type, no upcast path,
    /// wrong payload).
    #[error("the event does not decode: {0}")]
    Decode(#[from] service_lifecycle_kernel::DecodeError),
    /// The file ends before its trailer.
    #[error("the file ends after {events} of {expected} events, without its trailer (truncated?)")]
    Truncated {
        /// Event lines read.
        events: u64,
        /// Event lines announced.
        expected: u64,
    },
    /// The trailer does not match the events.
    #[error("the trailer says {trailer_events} events with CRC-32 {trailer_crc}; the file holds {events} with CRC-32 {crc}")]
    TrailerMismatch {
        /// The trailer's count.
        trailer_events: u64,
        /// The trailer's checksum.
        trailer_crc: String,
        /// The count read.
        events: u64,
        /// The checksum computed.
        crc: String,
    },
    /// Something follows the trailer.
    #[error("the file goes on after its trailer")]
    AfterTrailer,
    /// The import was asked to stop (see [`ImportOptions::stop_when`]); nothing of the file was
    /// written.
    #[error("the import was stopped before it finished, so nothing of the file was written: the store holds what it held before")]
    Stopped,
    /// Reading the target store failed.
    #[error("reading the target store failed: {0}")]
    Read(#[from] ReadError),
    /// Appending to the target store failed.
    #[error("appending to the target store failed: {0}")]
    Append(#[from] AppendError),
    /// The target store could not take the import: another import runs on it, or the store
    /// failed while it began or committed it.
    #[error("{0}")]
    NotCommitted(AtomicImportError<std::convert::Infallible>),
    /// Writing failed, and undoing what was written failed too.
    #[error("{problem}; undoing the import failed too ({source}): the store refuses appends until it is reopened, and then holds all of the import or none of it, never a part")]
    NotUndone {
        /// Why writing failed.
        problem: Box<ImportProblem>,
        /// Why undoing failed.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Why an import failed, with the line (from 1) where it did; line 0 names the file as a whole.
#[derive(Debug, thiserror::Error)]
#[error("line {line}: {problem}")]
pub struct ImportError {
    /// The line.
    pub line: u64,
    /// What is wrong.
    pub problem: ImportProblem,
    /// Whether the target store may hold part of the import. The import is all or nothing, so
    /// this is false for every problem of the file and for every failure the store could undo;
    /// true only when the store could say neither (see [`ImportProblem::NotUndone`]).
    pub target_written: bool,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportSummary {
    /// The file's header.
    pub header: Header,
    /// How many events were appended.
    pub events: u64,
    /// How many appends that took.
    pub appends: u64,
}

/// Reads lines with a length limit, counting them.
struct Lines<R> {
    reader: R,
    line: u64,
    limit: usize,
    buffer: Vec<u8>,
}

impl<R: BufRead> Lines<R> {
    fn new(reader: R, limit: usize) -> Self {
        Self {
            reader,
            line: 0,
            limit,
            buffer: Vec::new(),
        }
    }

    /// Reads the next line (false at the end), never more than the limit into memory; the line
    /// is then [`current`](Self::current) and its number [`line`](Self::line).
    fn advance(&mut self) -> Result<bool, ImportProblem> {
        self.buffer.clear();
        let mut ended = false;
        loop {
            let available = match self.reader.fill_buf() {
                Ok(available) => available,
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error.into()),
            };
            if available.is_empty() {
                break;
            }
            let (take, found) = match available.iter().position(|&byte| byte == b'\n') {
                Some(at) => (at + 1, true),
                None => (available.len(), false),
            };
            if self.buffer.len() + take > self.limit + 1 {
                self.line += 1;
                return Err(ImportProblem::LineTooLong { limit: self.limit });
            }
            self.buffer.extend_from_slice(&available[..take]);
            self.reader.consume(take);
            if found {
                ended = true;
                break;
            }
        }
        if self.buffer.is_empty() && !ended {
            return Ok(false);
        }
        self.line += 1;
        if self.buffer.last() == Some(&b'\n') {
            self.buffer.pop();
        }
        if self.line == 1 && self.buffer.starts_with(b"\xEF\xBB\xBF") {
            return Err(ImportProblem::ByteOrderMark);
        }
        if self.buffer.last() == Some(&b'\r') {
            return Err(ImportProblem::CarriageReturn);
        }
        if self.buffer.len() > self.limit {
            return Err(ImportProblem::LineTooLong { limit: self.limit });
        }
        Ok(true)
    }

    /// The line read last, without its newline.
    fn current(&self) -> &[u8] {
        &self.buffer
    }
}

fn utf8(line: &[u8]) -> Result<&str, ImportProblem> {
    std::str::from_utf8(line).map_err(|error| ImportProblem::NotUtf8 {
        valid_up_to: error.valid_up_to(),
    })
}

/// Imports an export file into `target`, which must be empty (or, for an incremental export,
/// hold exactly the events before the file's first position).
///
/// The file is read twice. The first pass verifies all of it — header and trailer, the
/// checksum, contiguous positions, that no event id is in the target already, that every event
/// decodes (upcasting older schema versions) and is written as an export writes it, and that
/// the target would take it — and writes nothing. The second pass appends, through
/// [`AtomicImport::import_atomically`], checking what needs the events before it: each stream's
/// versions contiguous (by the target, which refuses an append that does not continue its
/// stream) and each event id given once (by the target's own index, which refuses an id an
/// earlier run of the import wrote). The store takes the whole file or, if anything stops it (a
/// problem, the file changing under it, the disk, Ctrl-C, a crash), none of it, and keeps the
/// events it held before. Any problem is reported with the line it is on. Memory does not grow
/// with the file: it holds one run of events and 8 bytes per 4,096 lines.
pub fn import<E: Event, S: AtomicImport<E>, R: BufRead + Seek>(
    mut reader: R,
    target: &S,
    options: ImportOptions,
) -> Result<ImportSummary, ImportError> {
    let decoder = EventDecoder::<E>::new(options.upcasters);
    let file_error = |line, problem| ImportError {
        line,
        problem,
        target_written: false,
    };
    let start = reader
        .stream_position()
        .map_err(|error| file_error(0, error.into()))?;
    let (header, verified) = verify(
        &mut reader,
        target,
        &decoder,
        options.max_line,
        options.stop,
    )?;
    reader
        .seek(SeekFrom::Start(start))
        .map_err(|error| file_error(0, error.into()))?;
    let written = target.import_atomically(|sink| {
        write(
            reader,
            sink,
            &decoder,
            &header,
            &verified,
            options.max_line,
            options.stop,
        )
    });
    written.map_err(|error| match error {
        AtomicImportError::Feed(error) => error,
        AtomicImportError::FeedNotUndone { feed, source } => ImportError {
            line: feed.line,
            problem: ImportProblem::NotUndone {
                problem: Box::new(feed.problem),
                source,
            },
            target_written: true,
        },
        AtomicImportError::InProgress => file_error(
            0,
            ImportProblem::NotCommitted(AtomicImportError::InProgress),
        ),
        AtomicImportError::Store {
            during,
            source,
            undone,
        } => ImportError {
            line: 0,
            problem: ImportProblem::NotCommitted(AtomicImportError::Store {
                during,
                source,
                undone,
            }),
            target_written: !undone,
        },
        // The kernel's error may grow variants; each is a store failure of unknown extent.
        other => ImportError {
            line: 0,
            target_written: !other.store_unchanged(),
            problem: ImportProblem::NotCommitted(AtomicImportError::Store {
                during: "committed",
                source: other.to_string().into(),
                undone: false,
            }),
        },
    })
}

/// The first pass: reads the whole file, checks everything, writes nothing.
fn verify<E: Event, S: EventStore<E>, R: BufRead>(
    reader: R,
    target: &S,
    decoder: &EventDecoder<E>,
    max_line: usize,
    stop: fn() -> bool,
) -> Result<(Header, Vec<u64>), ImportError> {
    let mut lines = Lines::new(reader, max_line);
    let at = |lines: &Lines<R>, problem| ImportError {
        line: lines.line,
        problem,
        target_written: false,
    };
    let header = read_header(&mut lines).map_err(|problem| at(&lines, problem))?;
    let head = target
        .head_position()
        .map_err(|error| at(&lines, error.into()))?;
    if let Some(first) = header.first_position {
        if first != head + 1 {
            return Err(at(
                &lines,
                ImportProblem::DoesNotContinue {
                    first,
                    head,
                    expected: first.saturating_sub(1),
                },
            ));
        }
    }
    let mut crc = crc32fast::Hasher::new();
    // A hash of each chunk of lines verified, so the second pass writes only the lines verified.
    let mut verified: Vec<u64> = Vec::new();
    let mut chunk = ChunkHasher::default();
    for read in 0..header.events {
        let expected_position = head + 1 + read;
        if stop() {
            return Err(at(&lines, ImportProblem::Stopped));
        }
        match lines.advance() {
            Ok(true) => {}
            Ok(false) => {
                return Err(at(
                    &lines,
                    ImportProblem::Truncated {
                        events: read,
                        expected: header.events,
                    },
                ))
            }
            Err(problem) => return Err(at(&lines, problem)),
        }
        let line = lines.current();
        crc.update(line);
        crc.update(b"\n");
        if let Some(hash) = chunk.add(line) {
            verified.push(hash);
        }
        let checked = check_event_line(line, target, decoder, expected_position);
        checked.map_err(|problem| at(&lines, problem))?;
    }
    if let Some(hash) = chunk.finish() {
        verified.push(hash);
    }
    let trailer = match lines.advance() {
        Ok(true) => {
            let text = utf8(lines.current()).map_err(|problem| at(&lines, problem))?;
            serde_json::from_str::<TrailerLine>(text)
                .map_err(|source| {
                    at(
                        &lines,
                        ImportProblem::Malformed {
                            what: "the trailer",
                            source,
                        },
                    )
                })?
                .trailer
        }
        Ok(false) => {
            return Err(at(
                &lines,
                ImportProblem::Truncated {
                    events: header.events,
                    expected: header.events,
                },
            ))
        }
        Err(problem) => return Err(at(&lines, problem)),
    };
    let crc = crc_hex(crc.finalize());
    if trailer.events != header.events || trailer.crc32 != crc {
        return Err(at(
            &lines,
            ImportProblem::TrailerMismatch {
                trailer_events: trailer.events,
                trailer_crc: trailer.crc32,
                events: header.events,
                crc,
            },
        ));
    }
    match lines.advance() {
        Ok(false) => Ok((header, verified)),
        Ok(true) => Err(at(&lines, ImportProblem::AfterTrailer)),
        Err(problem) => Err(at(&lines, problem)),
    }
}

fn read_header<R: BufRead>(lines: &mut Lines<R>) -> Result<Header, ImportProblem> {
    if !lines.advance()? {
        return Err(ImportProblem::Empty);
    }
    let text = utf8(lines.current())?;
    // The format is checked on a loose reading first, so a file of another format version is
    // reported as such even if its header has other fields.
    #[derive(serde::Deserialize)]
    struct Identity {
        format: String,
        format_version: u32,
    }
    let identity: Identity =
        serde_json::from_str(text).map_err(|source| ImportProblem::Malformed {
            what: "the header",
            source,
        })?;
    if identity.format != FORMAT_NAME || identity.format_version != FORMAT_VERSION {
        return Err(ImportProblem::WrongFormat {
            format: identity.format,
            version: identity.format_version,
        });
    }
    let header: Header = serde_json::from_str(text).map_err(|source| ImportProblem::Malformed {
        what: "the header",
        source,
    })?;
    if let Scope::Stream { .. } = header.scope {
        return Err(ImportProblem::StreamScope);
    }
    let consistent = match (header.first_position, header.last_position) {
        (None, None) => header.events == 0,
        (Some(first), Some(last)) => {
            first >= 1 && last >= first && last - first + 1 == header.events
        }
        _ => false,
    };
    let scope_start = match header.scope {
        Scope::After { position } => position + 1,
        _ => 1,
    };
    if !consistent
        || header
            .first_position
            .is_some_and(|first| first != scope_start)
    {
        return Err(ImportProblem::BadHeader(format!(
            "{} events from position {:?} to {:?} with scope {:?}",
            header.events, header.first_position, header.last_position, header.scope
        )));
    }
    Ok(header)
}

fn parse_event_line(line: &[u8]) -> Result<EventLineIn<'_>, ImportProblem> {
    let text = utf8(line)?;
    serde_json::from_str(text).map_err(|source| ImportProblem::Malformed {
        what: "the event line",
        source,
    })
}

/// Checks one event line of the first pass.
fn check_event_line<E: Event, S: EventStore<E>>(
    line: &[u8],
    target: &S,
    decoder: &EventDecoder<E>,
    expected_position: u64,
) -> Result<(), ImportProblem> {
    let event = parse_event_line(line)?;
    if event.position != expected_position {
        return Err(ImportProblem::PositionOutOfOrder {
            expected: expected_position,
            found: event.position,
        });
    }
    // Versions and ids within the file are checked by the target in the second pass.
    let event_id = EventId::from_uuid(event.event_id);
    if target.find_event(event_id)?.is_some() {
        return Err(ImportProblem::DuplicateEventId(event_id));
    }
    let decoded = decoder.decode_bytes(
        &event.event_type,
        event.schema_version,
        event.data.get().as_bytes(),
    )?;
    check_canonical(line, &event, &decoded)?;
    // What the target would refuse in the second pass (an event over its size limit, say) is
    // refused here, before anything is written.
    let stream = StreamId::new(event.stream_id.clone())?;
    let new_event = NewEvent {
        event_id,
        recorded_at: event.recorded_at,
        correlation_id: event.correlation_id,
        causation_id: event.causation_id,
        metadata: event.metadata,
        event: decoded,
    };
    target
        .check_events(&stream, std::slice::from_ref(&new_event))
        .map_err(ImportProblem::Refused)
}

/// Refuses a line the export would not write back byte for byte: what is imported is exactly
/// what a later export gives back. An event at an older schema version is upcast on import, so
/// its payload is kept as it is and only the envelope is compared.
fn check_canonical<E: Event>(
    line: &[u8],
    event: &EventLineIn<'_>,
    decoded: &E,
) -> Result<(), ImportProblem> {
    let mut payload = Vec::with_capacity(event.data.get().len());
    if decoded.schema_version() == event.schema_version && decoded.event_type() == event.event_type
    {
        decoded
            .write_payload(&mut payload)
            .map_err(|error| ImportProblem::NotCanonical {
                difference: format!("its data does not encode again ({error})"),
            })?;
    } else {
        payload.extend_from_slice(event.data.get().as_bytes());
    }
    let pairs: Vec<(&str, &str)> = event
        .metadata
        .iter()
        .map(|(key, value)| (key.as_str(), value.as_str()))
        .collect();
    let fields = EventLineOut {
        position: event.position,
        stream_id: &event.stream_id,
        stream_version: event.stream_version,
        event_id: event.event_id,
        event_type: &event.event_type,
        schema_version: event.schema_version,
        recorded_at: event.recorded_at,
        correlation_id: event.correlation_id,
        causation_id: event.causation_id,
        metadata: PairsAsMap(&pairs),
    };
    let mut canonical = Vec::with_capacity(line.len());
    fields
        .write(&payload, &mut canonical)
        .map_err(|error| ImportProblem::NotCanonical {
            difference: format!("its envelope does not encode again ({error})"),
        })?;
    if canonical == line {
        return Ok(());
    }
    Err(ImportProblem::NotCanonical {
        difference: first_difference(line, &canonical),
    })
}

/// Names the first field in which `line` and the canonical line differ.
fn first_difference(line: &[u8], canonical: &[u8]) -> String {
    let parse = |bytes: &[u8]| {
        serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(bytes).ok()
    };
    let (Some(given), Some(expected)) = (parse(line), parse(canonical)) else {
        return "it is not laid out as an export line".into();
    };
    for (key, expected_value) in &expected {
        let given_value = given.get(key).unwrap_or(&serde_json::Value::Null);
        if given_value == expected_value {
            continue;
        }
        if let (Some(given_data), Some(expected_data)) =
            (given_value.as_object(), expected_value.as_object())
        {
            if let Some(extra) = given_data
                .keys()
                .find(|field| !expected_data.contains_key(*field))
            {
                return format!("field {key}.{extra} is not part of the event");
            }
        }
        return format!(
            "field {key} is written {given_value} where an export writes {expected_value}"
        );
    }
    "its fields are the export's but spaced or ordered another way".into()
}

/// A hash of one line's bytes, the same in both passes of one import.
/// Hashes event lines in chunks of [`VERIFIED_CHUNK`].
#[derive(Default)]
struct ChunkHasher {
    hasher: std::collections::hash_map::DefaultHasher,
    lines: u64,
}

impl ChunkHasher {
    /// Adds a line; the chunk's hash when the line completes it.
    fn add(&mut self, line: &[u8]) -> Option<u64> {
        use std::hash::Hash;
        line.hash(&mut self.hasher);
        self.lines += 1;
        (self.lines == VERIFIED_CHUNK).then(|| self.take())
    }

    /// The hash of the last, partial chunk, if it holds a line.
    fn finish(&mut self) -> Option<u64> {
        (self.lines > 0).then(|| self.take())
    }

    fn take(&mut self) -> u64 {
        use std::hash::Hasher;
        let hash = self.hasher.finish();
        *self = Self::default();
        hash
    }
}

/// The second pass: appends runs of consecutive events of one stream.
fn write<E: Event, R: BufRead>(
    reader: R,
    target: &mut dyn ImportSink<E>,
    decoder: &EventDecoder<E>,
    header: &Header,
    verified: &[u64],
    max_line: usize,
    stop: fn() -> bool,
) -> Result<ImportSummary, ImportError> {
    let mut lines = Lines::new(reader, max_line);
    let mut run = Run::default();
    let mut appends = 0u64;
    let mut chunk = ChunkHasher::default();
    let mut chunks = verified.iter();
    let mut chunk_start = 0;
    // Whatever fails here, the import is undone: nothing is left written.
    let fail = |line, problem| ImportError {
        line,
        problem,
        target_written: false,
    };
    lines
        .advance()
        .map_err(|problem| fail(lines.line, problem))?;
    for read in 0..header.events {
        if stop() {
            return Err(fail(lines.line, ImportProblem::Stopped));
        }
        match lines.advance() {
            Ok(true) => {}
            Ok(false) => {
                let truncated = ImportProblem::Truncated {
                    events: read,
                    expected: header.events,
                };
                return Err(fail(lines.line, truncated));
            }
            Err(problem) => return Err(fail(lines.line, problem)),
        }
        let line_number = lines.line;
        if read % VERIFIED_CHUNK == 0 {
            chunk_start = line_number;
        }
        let completed = chunk.add(lines.current());
        if completed.is_some() && completed != chunks.next().copied() {
            // Some line of the chunk is not the one verified (the runs written are undone).
            return Err(fail(chunk_start, ImportProblem::ChangedDuringImport));
        }
        let event =
            parse_event_line(lines.current()).map_err(|problem| fail(line_number, problem))?;
        let decoded = decoder
            .decode_bytes(
                &event.event_type,
                event.schema_version,
                event.data.get().as_bytes(),
            )
            .map_err(|error| fail(line_number, error.into()))?;
        let continues = run
            .stream
            .as_ref()
            .is_some_and(|stream| stream.as_str() == event.stream_id);
        if !continues || run.events.len() >= APPEND_BATCH {
            appends += run
                .append(target)
                .map_err(|(line, problem)| fail(line, problem))?;
            let stream =
                StreamId::new(event.stream_id).map_err(|error| fail(line_number, error.into()))?;
            run.start(stream, event.stream_version);
        } else if event.stream_version != run.next_version() {
            let out_of_order = ImportProblem::VersionOutOfOrder {
                stream: event.stream_id,
                expected: run.next_version(),
                found: event.stream_version,
            };
            return Err(fail(line_number, out_of_order));
        }
        run.lines.push(line_number);
        run.events.push(NewEvent {
            event_id: EventId::from_uuid(event.event_id),
            recorded_at: event.recorded_at,
            correlation_id: event.correlation_id,
            causation_id: event.causation_id,
            metadata: event.metadata,
            event: decoded,
        });
    }
    appends += run
        .append(target)
        .map_err(|(line, problem)| fail(line, problem))?;
    if chunk.finish() != chunks.next().copied() {
        return Err(fail(chunk_start, ImportProblem::ChangedDuringImport));
    }
    Ok(ImportSummary {
        header: header.clone(),
        events: header.events,
        appends,
    })
}

/// Consecutive events of one stream, appended together, with the lines they are on.
struct Run<E> {
    stream: Option<StreamId>,
    first_version: u64,
    events: Vec<NewEvent<E>>,
    lines: Vec<u64>,
}

impl<E> Default for Run<E> {
    fn default() -> Self {
        Self {
            stream: None,
            first_version: 0,
            events: Vec::new(),
            lines: Vec::new(),
        }
    }
}

impl<E: Event> Run<E> {
    fn start(&mut self, stream: StreamId, first_version: u64) {
        self.stream = Some(stream);
        self.first_version = first_version;
        self.lines.clear();
    }

    /// The version the run's next event must have.
    fn next_version(&self) -> u64 {
        self.first_version + self.events.len() as u64
    }

    /// Appends the run, expecting the stream just before its first version; 1 if it appended.
    /// A refusal is named by the line of the event it is about.
    fn append(&mut self, target: &mut dyn ImportSink<E>) -> Result<u64, (u64, ImportProblem)> {
        let Some(stream) = &self.stream else {
            return Ok(0);
        };
        if self.events.is_empty() {
            return Ok(0);
        }
        let expected = ExpectedVersion::at(self.first_version - 1);
        let events = std::mem::take(&mut self.events);
        let ids: Vec<EventId> = events.iter().map(|event| event.event_id).collect();
        let first_line = self.lines.first().copied().unwrap_or_default();
        match target.append_run(stream, expected, events) {
            Ok(()) => {
                self.lines.clear();
                Ok(1)
            }
            Err(AppendError::Conflict { actual, .. }) => Err((
                first_line,
                ImportProblem::VersionOutOfOrder {
                    stream: stream.to_string(),
                    expected: actual + 1,
                    found: self.first_version,
                },
            )),
            Err(AppendError::DuplicateEventId { event_id, .. }) => {
                // The last with the id: the repeat, when the run holds it twice.
                let line = ids
                    .iter()
                    .rposition(|id| *id == event_id)
                    .and_then(|index| self.lines.get(index).copied())
                    .unwrap_or(first_line);
                Err((line, ImportProblem::DuplicateEventId(event_id)))
            }
            Err(error) => Err((first_line, error.into())),
        }
    }
}
