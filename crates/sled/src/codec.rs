//! Keys and values of the store, byte by byte (docs/storage-format.md is the same text for humans).
//!
//! Every key starts with a one-byte prefix naming its kind; integers in keys are big-endian and
//! fixed-width, so sled's byte order is numeric order. Every value ends with a CRC-32 of the key
//! and the value's bytes, so a flipped bit, a truncated value or a value under another key is
//! detected before anything is decoded. Decoding never panics: every read is bounds-checked.

use chrono::{DateTime, Utc};
use service_lifecycle_kernel::{EventId, Metadata, StreamId, SubjectId};
use uuid::Uuid;

/// The format metadata: magic and format version.
pub(crate) const FORMAT_KEY: &[u8] = b"Mformat";
/// The global head of a format-1 store: newest position and how many streams exist. Format 2
/// writes no head: it is the last log row and the last stream row.
pub(crate) const HEAD_KEY: &[u8] = b"H";
/// Present while an import is in progress: the global head before it, which opening the store
/// rolls back to.
pub(crate) const IMPORT_KEY: &[u8] = b"Mimport";
/// Stream numbers, by stream name (format 1 kept the stream's version beside it).
pub(crate) const STREAM_PREFIX: u8 = b'S';
/// Stream rows, by (stream number, version): the event's position.
pub(crate) const ROW_PREFIX: u8 = b'V';
/// The global log, by position: the event record.
pub(crate) const LOG_PREFIX: u8 = b'L';
/// The event-id index, by event id: where it is and its place in its append.
pub(crate) const EVENT_ID_PREFIX: u8 = b'I';
/// Projection checkpoints, by name.
pub(crate) const CHECKPOINT_PREFIX: u8 = b'C';
/// Persisted read models, by projection name.
pub(crate) const READ_MODEL_PREFIX: u8 = b'R';
/// Snapshots, by stream name.
pub(crate) const SNAPSHOT_PREFIX: u8 = b'P';
/// Vault records (a customer's personal data, say), encrypted with the subject's key, by subject id.
pub(crate) const VAULT_PREFIX: u8 = b'E';
/// Vault records written before records were encrypted, by subject id: read, never written.
pub(crate) const PLAIN_VAULT_PREFIX: u8 = b'D';

/// The magic at the start of the format value.
pub(crate) const MAGIC: &[u8; 8] = b"SVCLIFE\0";
/// The on-disk format this code reads and writes.
pub const FORMAT_VERSION: u32 = 2;
/// The earlier on-disk format this code still reads (read-only; `service-lifecycle migrate`
/// converts it): it wrote the stream head and the global head with every append.
pub const READ_ONLY_FORMAT_VERSION: u32 = 1;
/// The version byte at the start of an event record.
const EVENT_RECORD_VERSION: u8 = 1;
/// Bytes of the checksum at the end of every value.
const CHECKSUM_LEN: usize = 4;

/// What is wrong with a stored value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Damage {
    /// The value is shorter than its fixed part or its checksum.
    #[error("the value is truncated")]
    Truncated,
    /// The checksum does not match the key and the bytes.
    #[error("checksum mismatch (stored {stored:#010x}, computed {computed:#010x})")]
    Checksum {
        /// The stored checksum.
        stored: u32,
        /// The checksum of what is there.
        computed: u32,
    },
    /// The value's bytes make no sense although the checksum matches.
    #[error("{0}")]
    Invalid(String),
}

fn checksum(key: &[u8], body: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(key);
    hasher.update(body);
    hasher.finalize()
}

/// Appends the checksum of `key` and `value` to `value`.
pub(crate) fn seal(key: &[u8], mut value: Vec<u8>) -> Vec<u8> {
    let sum = checksum(key, &value);
    value.extend_from_slice(&sum.to_le_bytes());
    value
}

/// The body of a sealed value, if its checksum matches.
pub(crate) fn open<'v>(key: &[u8], value: &'v [u8]) -> Result<&'v [u8], Damage> {
    let split = value
        .len()
        .checked_sub(CHECKSUM_LEN)
        .ok_or(Damage::Truncated)?;
    let (body, stored) = value.split_at(split);
    let stored = u32::from_le_bytes(stored.try_into().map_err(|_| Damage::Truncated)?);
    let computed = checksum(key, body);
    if stored == computed {
        Ok(body)
    } else {
        Err(Damage::Checksum { stored, computed })
    }
}

/// A bounds-checked reader over a value's body.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }

    pub(crate) fn take(&mut self, len: usize) -> Result<&'a [u8], Damage> {
        if len > self.bytes.len() {
            return Err(Damage::Truncated);
        }
        let (taken, rest) = self.bytes.split_at(len);
        self.bytes = rest;
        Ok(taken)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], Damage> {
        self.take(N)?.try_into().map_err(|_| Damage::Truncated)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, Damage> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn u32(&mut self) -> Result<u32, Damage> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, Damage> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    fn i64(&mut self) -> Result<i64, Damage> {
        Ok(i64::from_be_bytes(self.array()?))
    }

    fn uuid(&mut self) -> Result<Uuid, Damage> {
        Ok(Uuid::from_bytes(self.array()?))
    }

    fn string(&mut self) -> Result<&'a str, Damage> {
        let len = self.u32()? as usize;
        std::str::from_utf8(self.take(len)?)
            .map_err(|_| Damage::Invalid("a text field is not UTF-8".into()))
    }

    /// Everything not read yet.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.bytes)
    }

    /// Fails unless everything was read.
    pub(crate) fn finish(self) -> Result<(), Damage> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            Err(Damage::Invalid(format!(
                "{} unexpected bytes at the end",
                self.bytes.len()
            )))
        }
    }
}

fn put_string(out: &mut Vec<u8>, text: &str) {
    // Every text the store writes is far below 4 GiB (the size cap is checked before).
    out.extend_from_slice(&(text.len() as u32).to_be_bytes());
    out.extend_from_slice(text.as_bytes());
}

/// `prefix` followed by `bytes`.
fn prefixed(prefix: u8, bytes: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + bytes.len());
    key.push(prefix);
    key.extend_from_slice(bytes);
    key
}

/// The key of global position `position` in the log.
pub(crate) fn log_key(position: u64) -> [u8; 9] {
    let mut key = [LOG_PREFIX; 9];
    key[1..].copy_from_slice(&position.to_be_bytes());
    key
}

/// The key of version `version` of stream number `stream`.
pub(crate) fn row_key(stream: u64, version: u64) -> [u8; 17] {
    let mut key = [ROW_PREFIX; 17];
    key[1..9].copy_from_slice(&stream.to_be_bytes());
    key[9..].copy_from_slice(&version.to_be_bytes());
    key
}

/// The key of an event id in the index.
pub(crate) fn event_id_key(event_id: EventId) -> [u8; 17] {
    let mut key = [EVENT_ID_PREFIX; 17];
    key[1..].copy_from_slice(event_id.as_uuid().as_bytes());
    key
}

/// The key of a stream's head.
pub(crate) fn stream_key(stream: &StreamId) -> Vec<u8> {
    stream_key_of(stream.as_str())
}

/// The key of a stream's head, by the stream's name as a record holds it.
pub(crate) fn stream_key_of(stream: &str) -> Vec<u8> {
    prefixed(STREAM_PREFIX, stream.as_bytes())
}

/// The key of a stream's snapshot.
pub(crate) fn snapshot_key(stream: &StreamId) -> Vec<u8> {
    prefixed(SNAPSHOT_PREFIX, stream.as_str().as_bytes())
}

/// The key of a projection's checkpoint.
pub(crate) fn checkpoint_key(name: &str) -> Vec<u8> {
    prefixed(CHECKPOINT_PREFIX, name.as_bytes())
}

/// The key of a persisted read model.
pub(crate) fn read_model_key(name: &str) -> Vec<u8> {
    prefixed(READ_MODEL_PREFIX, name.as_bytes())
}

/// The key of a subject's (encrypted) vault record.
pub(crate) fn vault_key(subject: SubjectId) -> Vec<u8> {
    prefixed(VAULT_PREFIX, subject.as_uuid().as_bytes())
}

/// The key of a subject's vault record as written before records were encrypted.
pub(crate) fn plain_vault_key(subject: SubjectId) -> Vec<u8> {
    prefixed(PLAIN_VAULT_PREFIX, subject.as_uuid().as_bytes())
}

/// Reads the big-endian integer after a one-byte prefix (a log position, say) from a key.
pub(crate) fn key_number(key: &[u8], offset: usize) -> Option<u64> {
    let bytes: [u8; 8] = key.get(offset..offset + 8)?.try_into().ok()?;
    Some(u64::from_be_bytes(bytes))
}

/// The format value: magic and version.
pub(crate) fn encode_format(version: u32) -> Vec<u8> {
    let mut body = MAGIC.to_vec();
    body.extend_from_slice(&version.to_be_bytes());
    seal(FORMAT_KEY, body)
}

/// What the format value says: `Ok(version)`, or `Err` if it is not ours at all.
pub(crate) fn decode_format(value: &[u8]) -> Result<u32, Damage> {
    let mut reader = Reader::new(open(FORMAT_KEY, value)?);
    if reader.take(MAGIC.len())? != MAGIC {
        return Err(Damage::Invalid(
            "the magic is not service-lifecycle's".into(),
        ));
    }
    let version = reader.u32()?;
    reader.finish()?;
    Ok(version)
}

/// The global head: the newest position and how many streams exist.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct GlobalHead {
    pub(crate) position: u64,
    pub(crate) streams: u64,
}

impl GlobalHead {
    pub(crate) fn decode(value: &[u8]) -> Result<Self, Damage> {
        Self::decode_under(HEAD_KEY, value)
    }

    /// The head sealed under another key (the import marker keeps one).
    pub(crate) fn encode_under(self, key: &[u8]) -> Vec<u8> {
        let mut body = Vec::with_capacity(20);
        body.extend_from_slice(&self.position.to_be_bytes());
        body.extend_from_slice(&self.streams.to_be_bytes());
        seal(key, body)
    }

    pub(crate) fn decode_under(key: &[u8], value: &[u8]) -> Result<Self, Damage> {
        let mut reader = Reader::new(open(key, value)?);
        let head = Self {
            position: reader.u64()?,
            streams: reader.u64()?,
        };
        reader.finish()?;
        Ok(head)
    }
}

/// A stream's head: its number (for its row keys) and its version. Format 2 stores the number
/// under the stream's `S` key once, when the stream is created; the version is the stream's last
/// row. Format 1 stored both under the `S` key and rewrote it with every append.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StreamHead {
    pub(crate) number: u64,
    pub(crate) version: u64,
}

/// The value of a stream's `S` key in format 2: its number.
pub(crate) fn encode_stream_number(key: &[u8], number: u64) -> Vec<u8> {
    encode_u64(key, number)
}

/// The number a stream's `S` value holds, in either format, with the version a format-1 value
/// also holds.
pub(crate) fn decode_stream_number(
    key: &[u8],
    value: &[u8],
    format: u32,
) -> Result<(u64, Option<u64>), Damage> {
    let mut reader = Reader::new(open(key, value)?);
    let number = reader.u64()?;
    let version = if format == READ_ONLY_FORMAT_VERSION {
        Some(reader.u64()?)
    } else {
        None
    };
    reader.finish()?;
    Ok((number, version))
}

/// The first and last keys (the end exclusive) of the rows of stream number `number`.
pub(crate) fn rows_of(number: u64) -> ([u8; 17], [u8; 17]) {
    (row_key(number, 0), row_key(number, u64::MAX))
}

/// A sealed value holding one `u64` (a row's position, a checkpoint).
pub(crate) fn encode_u64(key: &[u8], number: u64) -> Vec<u8> {
    seal(key, number.to_be_bytes().to_vec())
}

/// The `u64` of a value written by [`encode_u64`].
pub(crate) fn decode_u64(key: &[u8], value: &[u8]) -> Result<u64, Damage> {
    let mut reader = Reader::new(open(key, value)?);
    let number = reader.u64()?;
    reader.finish()?;
    Ok(number)
}

/// Where an event id is stored and its place in the append that wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IdEntry {
    pub(crate) position: u64,
    /// The event's offset in its append.
    pub(crate) offset: u32,
    /// How many events its append held.
    pub(crate) len: u32,
}

impl IdEntry {
    pub(crate) fn encode(self, key: &[u8]) -> Vec<u8> {
        let mut body = Vec::with_capacity(20);
        body.extend_from_slice(&self.position.to_be_bytes());
        body.extend_from_slice(&self.offset.to_be_bytes());
        body.extend_from_slice(&self.len.to_be_bytes());
        seal(key, body)
    }

    pub(crate) fn decode(key: &[u8], value: &[u8]) -> Result<Self, Damage> {
        let mut reader = Reader::new(open(key, value)?);
        let entry = Self {
            position: reader.u64()?,
            offset: reader.u32()?,
            len: reader.u32()?,
        };
        reader.finish()?;
        if entry.len == 0 || entry.offset >= entry.len || entry.position <= u64::from(entry.offset)
        {
            return Err(Damage::Invalid(format!(
                "event {} of an append of {} at position {} is impossible",
                entry.offset, entry.len, entry.position
            )));
        }
        Ok(entry)
    }
}

/// An event record as stored in the log, before its payload is decoded into an event.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EventRecord<'a> {
    pub(crate) event_id: EventId,
    pub(crate) stream_id: &'a str,
    pub(crate) stream_version: u64,
    pub(crate) position: u64,
    pub(crate) recorded_at: DateTime<Utc>,
    pub(crate) correlation_id: Uuid,
    pub(crate) causation_id: Uuid,
    pub(crate) metadata: Vec<(&'a str, &'a str)>,
    pub(crate) event_type: &'a str,
    pub(crate) schema_version: u32,
    /// The payload, as JSON bytes.
    pub(crate) payload: &'a [u8],
}

/// Offsets of the fields the writer fills in under its lock (see [`encode_event_body`]).
const VERSION_OFFSET: usize = 1 + 16;
const POSITION_OFFSET: usize = VERSION_OFFSET + 8;

/// The fields of an event known before the append takes the writer lock.
pub(crate) struct EventFields<'a> {
    pub(crate) event_id: EventId,
    pub(crate) stream_id: &'a str,
    pub(crate) recorded_at: DateTime<Utc>,
    pub(crate) correlation_id: Uuid,
    pub(crate) causation_id: Uuid,
    pub(crate) metadata: &'a Metadata,
    pub(crate) event_type: &'a str,
    pub(crate) schema_version: u32,
    pub(crate) payload: &'a [u8],
}

/// Encodes an event record with version and position left zero, to be filled in by
/// [`place_event_body`] once the writer knows them. No checksum yet.
pub(crate) fn encode_event_body(fields: &EventFields<'_>) -> Vec<u8> {
    let metadata_len: usize = fields
        .metadata
        .iter()
        .map(|(key, value)| 8 + key.len() + value.len())
        .sum();
    let mut out = Vec::with_capacity(
        120 + fields.stream_id.len()
            + fields.event_type.len()
            + metadata_len
            + fields.payload.len(),
    );
    out.push(EVENT_RECORD_VERSION);
    out.extend_from_slice(fields.event_id.as_uuid().as_bytes());
    out.extend_from_slice(&0u64.to_be_bytes()); // stream version, placed under the lock
    out.extend_from_slice(&0u64.to_be_bytes()); // position, placed under the lock
    out.extend_from_slice(&fields.recorded_at.timestamp().to_be_bytes());
    out.extend_from_slice(&fields.recorded_at.timestamp_subsec_nanos().to_be_bytes());
    out.extend_from_slice(fields.correlation_id.as_bytes());
    out.extend_from_slice(fields.causation_id.as_bytes());
    out.extend_from_slice(&fields.schema_version.to_be_bytes());
    put_string(&mut out, fields.event_type);
    put_string(&mut out, fields.stream_id);
    out.extend_from_slice(&(fields.metadata.len() as u32).to_be_bytes());
    for (key, value) in fields.metadata {
        put_string(&mut out, key);
        put_string(&mut out, value);
    }
    out.extend_from_slice(fields.payload);
    out
}

/// Fills in the stream version and position of a body from [`encode_event_body`] and seals it
/// under its log key.
pub(crate) fn place_event_body(mut body: Vec<u8>, stream_version: u64, position: u64) -> Vec<u8> {
    body[VERSION_OFFSET..VERSION_OFFSET + 8].copy_from_slice(&stream_version.to_be_bytes());
    body[POSITION_OFFSET..POSITION_OFFSET + 8].copy_from_slice(&position.to_be_bytes());
    seal(&log_key(position), body)
}

/// Decodes the record stored under `key`.
pub(crate) fn decode_event_record<'a>(
    key: &[u8],
    value: &'a [u8],
) -> Result<EventRecord<'a>, Damage> {
    let mut reader = Reader::new(open(key, value)?);
    let record_version = reader.u8()?;
    if record_version != EVENT_RECORD_VERSION {
        return Err(Damage::Invalid(format!(
            "unknown event record version {record_version}"
        )));
    }
    let event_id = EventId::from_uuid(reader.uuid()?);
    let stream_version = reader.u64()?;
    let position = reader.u64()?;
    let seconds = reader.i64()?;
    let nanos = reader.u32()?;
    let recorded_at = DateTime::from_timestamp(seconds, nanos)
        .ok_or_else(|| Damage::Invalid(format!("recorded-at {seconds}s {nanos}ns is no time")))?;
    let correlation_id = reader.uuid()?;
    let causation_id = reader.uuid()?;
    let schema_version = reader.u32()?;
    let event_type = reader.string()?;
    let stream_id = reader.string()?;
    let pairs = reader.u32()?;
    let mut metadata = Vec::with_capacity((pairs as usize).min(64));
    for _ in 0..pairs {
        metadata.push((reader.string()?, reader.string()?));
    }
    let payload = reader.rest();
    Ok(EventRecord {
        event_id,
        stream_id,
        stream_version,
        position,
        recorded_at,
        correlation_id,
        causation_id,
        metadata,
        event_type,
        schema_version,
        payload,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_and_any_change_is_detected() {
        let key = b"Kkey";
        let sealed = seal(key, b"hello".to_vec());
        assert_eq!(open(key, &sealed), Ok(&b"hello"[..]));
        assert!(matches!(
            open(b"Kother", &sealed),
            Err(Damage::Checksum { .. })
        ));
        for bit in 0..sealed.len() * 8 {
            let mut flipped = sealed.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            assert!(open(key, &flipped).is_err(), "bit {bit}");
        }
        for len in 0..sealed.len() {
            assert!(open(key, &sealed[..len]).is_err(), "length {len}");
        }
    }

    #[test]
    fn keys_sort_numerically() {
        assert!(log_key(255) < log_key(256));
        assert!(row_key(1, u64::MAX) < row_key(2, 0));
        assert_eq!(key_number(&log_key(42), 1), Some(42));
        assert_eq!(key_number(b"L", 1), None);
    }

    #[test]
    fn an_event_record_round_trips_with_its_place_filled_in() {
        let metadata = Metadata::from([("user".to_owned(), "clerk".to_owned())]);
        let fields = EventFields {
            event_id: EventId::new(),
            stream_id: "product-1",
            recorded_at: DateTime::from_timestamp(1_700_000_000, 123).unwrap_or_default(),
            correlation_id: Uuid::from_u128(1),
            causation_id: Uuid::from_u128(2),
            metadata: &metadata,
            event_type: "product.received",
            schema_version: 2,
            payload: br#"{"a":1}"#,
        };
        let sealed = place_event_body(encode_event_body(&fields), 7, 42);
        let record = decode_event_record(&log_key(42), &sealed).unwrap();
        assert_eq!(record.stream_version, 7);
        assert_eq!(record.position, 42);
        assert_eq!(record.stream_id, "product-1");
        assert_eq!(record.event_type, "product.received");
        assert_eq!(record.schema_version, 2);
        assert_eq!(record.metadata, vec![("user", "clerk")]);
        assert_eq!(record.payload, br#"{"a":1}"#);
        assert_eq!(record.recorded_at, fields.recorded_at);
        assert!(decode_event_record(&log_key(43), &sealed).is_err());
    }
}
