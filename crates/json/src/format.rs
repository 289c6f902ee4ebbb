//! The lines of an export file (docs/json-format.md is the same text for humans).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use uuid::Uuid;

/// The `format` of an event export's header.
pub const FORMAT_NAME: &str = "service-lifecycle-events";
/// The format version this code writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// What an export holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Scope {
    /// Every event of the store.
    All,
    /// Every event after a global position (an incremental export).
    After {
        /// The position the export continues; its first event is at `position + 1`.
        position: u64,
    },
    /// The events of one stream.
    Stream {
        /// The stream.
        stream_id: String,
    },
}

/// The first line of an export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// Always [`FORMAT_NAME`].
    pub format: String,
    /// The format version, [`FORMAT_VERSION`] for files this code writes.
    pub format_version: u32,
    /// What the export holds.
    pub scope: Scope,
    /// How many event lines follow.
    pub events: u64,
    /// The global position of the first event, if any.
    pub first_position: Option<u64>,
    /// The global position of the last event, if any.
    pub last_position: Option<u64>,
}

/// The last line of an export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trailer {
    /// How many event lines the file holds.
    pub events: u64,
    /// CRC-32 (IEEE) of every event line's bytes including its newline, as 8 lowercase hex digits.
    pub crc32: String,
}

/// The trailer line's shape: `{"trailer": {...}}`, so it can never be taken for an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TrailerLine {
    pub(crate) trailer: Trailer,
}

/// The envelope fields of an event line, in the order they are written; `data` follows them.
#[derive(Serialize)]
pub(crate) struct EventLineOut<'a> {
    pub(crate) position: u64,
    pub(crate) stream_id: &'a str,
    pub(crate) stream_version: u64,
    pub(crate) event_id: Uuid,
    pub(crate) event_type: &'a str,
    pub(crate) schema_version: u32,
    pub(crate) recorded_at: DateTime<Utc>,
    pub(crate) correlation_id: Uuid,
    pub(crate) causation_id: Uuid,
    pub(crate) metadata: PairsAsMap<'a>,
}

impl EventLineOut<'_> {
    /// Writes the event line of these fields and `payload` (the event's JSON) to `line`, as the
    /// exporter writes it, without the newline.
    pub(crate) fn write(
        &self,
        payload: &[u8],
        line: &mut Vec<u8>,
    ) -> Result<(), serde_json::Error> {
        serde_json::to_writer(&mut *line, self)?;
        // Replace the closing brace by the payload field.
        line.pop();
        line.extend_from_slice(br#","data":"#);
        line.extend_from_slice(payload);
        line.push(b'}');
        Ok(())
    }
}

/// Metadata pairs (sorted by key) written as a JSON object.
pub(crate) struct PairsAsMap<'a>(pub(crate) &'a [(&'a str, &'a str)]);

impl Serialize for PairsAsMap<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

/// An event line as read: every field required, no other field allowed.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EventLineIn<'a> {
    pub(crate) position: u64,
    pub(crate) stream_id: String,
    pub(crate) stream_version: u64,
    pub(crate) event_id: Uuid,
    pub(crate) event_type: String,
    pub(crate) schema_version: u32,
    pub(crate) recorded_at: DateTime<Utc>,
    pub(crate) correlation_id: Uuid,
    pub(crate) causation_id: Uuid,
    pub(crate) metadata: BTreeMap<String, String>,
    #[serde(borrow)]
    pub(crate) data: &'a RawValue,
}

/// Formats a CRC-32 as the trailer writes it.
pub(crate) fn crc_hex(crc: u32) -> String {
    format!("{crc:08x}")
}
