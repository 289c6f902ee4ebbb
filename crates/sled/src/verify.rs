//! `verify`: reads a whole store and checks every invariant it promises.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use service_lifecycle_kernel::{Event, StreamId};

use crate::codec::{
    self, decode_event_record, decode_stream_number, event_id_key, log_key, GlobalHead, IdEntry,
    FORMAT_KEY, HEAD_KEY, LOG_PREFIX, READ_ONLY_FORMAT_VERSION, ROW_PREFIX, STREAM_PREFIX,
};
use crate::storage::{Storage, StorageError};
use crate::store::SledStore;

/// How many problems a report lists (it counts all of them).
const MAX_LISTED_PROBLEMS: usize = 100;

/// What [`SledStore::verify`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// Events in the log.
    pub events: u64,
    /// Streams with a head.
    pub streams: u64,
    /// Other records checked (snapshots, checkpoints, read models, personal data).
    pub other_records: u64,
    /// The first problems found, each naming its record.
    pub problems: Vec<String>,
    /// How many problems were found in all.
    pub problem_count: u64,
}

impl VerifyReport {
    /// Whether no problem was found.
    pub fn is_clean(&self) -> bool {
        self.problem_count == 0
    }

    fn problem(&mut self, problem: impl Into<String>) {
        self.problem_count += 1;
        if self.problems.len() < MAX_LISTED_PROBLEMS {
            self.problems.push(problem.into());
        }
    }
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} events in {} streams, {} other records: ",
            self.events, self.streams, self.other_records
        )?;
        if self.is_clean() {
            return f.write_str("clean");
        }
        write!(f, "{} problems", self.problem_count)?;
        for problem in &self.problems {
            write!(f, "\n  - {problem}")?;
        }
        if self.problem_count > self.problems.len() as u64 {
            write!(
                f,
                "\n  - … and {} more",
                self.problem_count - self.problems.len() as u64
            )?;
        }
        Ok(())
    }
}

/// What the log says of one stream.
#[derive(Default)]
struct StreamSeen {
    version: u64,
    rows: u64,
    number: Option<u64>,
}

impl<E: Event, S: Storage> SledStore<E, S> {
    /// Reads the whole store and checks every invariant: the format; every checksum; positions
    /// contiguous from 1 to the newest; each stream's versions contiguous in commit order; the
    /// stream numbers (given 1, 2, 3... in creation order), the stream rows and the event-id
    /// index agreeing with the log; every event decoding into `E`; in a format-1 store, the
    /// stored heads too. Memory grows with the number of streams, not of events.
    ///
    /// `Err` only when the storage itself fails; damage is reported in the [`VerifyReport`].
    pub fn verify(&self) -> Result<VerifyReport, StorageError> {
        let storage = self.storage();
        let mut report = VerifyReport::default();

        let format = self.format_version();
        let head = if format != READ_ONLY_FORMAT_VERSION {
            None
        } else {
            match storage.get(HEAD_KEY)? {
                Some(value) => match GlobalHead::decode(value.as_ref()) {
                    Ok(head) => Some(head),
                    Err(damage) => {
                        report.problem(format!("global head: {damage}"));
                        None
                    }
                },
                None => {
                    report.problem("global head: missing");
                    None
                }
            }
        };
        match storage.get(FORMAT_KEY)? {
            Some(value) => {
                if let Err(damage) = codec::decode_format(value.as_ref()) {
                    report.problem(format!("format: {damage}"));
                }
            }
            None => report.problem("format: missing"),
        }

        let mut streams: HashMap<StreamId, StreamSeen> = HashMap::new();
        self.verify_log(&mut report, &mut streams)?;
        if let Some(head) = head {
            if head.position != report.events {
                report.problem(format!(
                    "global head: says position {}, the log ends at {}",
                    head.position, report.events
                ));
            }
        }
        let numbers = verify_stream_heads(storage, format, &mut report, &mut streams)?;
        if let Some((&last, _)) = numbers.last_key_value() {
            if last != numbers.len() as u64 {
                report.problem(format!(
                    "stream numbers: {} streams, but the highest number is {last} (numbers are \
                     given 1, 2, 3... without a gap)",
                    numbers.len()
                ));
            }
        }
        if let Some(head) = head {
            if head.streams != report.streams {
                report.problem(format!(
                    "global head: says {} streams, {} have a head",
                    head.streams, report.streams
                ));
            }
        }
        verify_rows(storage, &mut report, &mut streams, &numbers)?;
        for (stream, seen) in &streams {
            if seen.number.is_none() {
                report.problem(format!("stream {stream}: in the log but has no head"));
            } else if seen.rows != seen.version {
                report.problem(format!(
                    "stream {stream}: {} events but {} rows",
                    seen.version, seen.rows
                ));
            }
        }
        self.verify_other_records(&mut report)?;
        self.verify_vault_keys(&mut report);
        Ok(report)
    }

    /// The log: contiguous positions, valid records, contiguous versions, one index entry each.
    fn verify_log(
        &self,
        report: &mut VerifyReport,
        streams: &mut HashMap<StreamId, StreamSeen>,
    ) -> Result<(), StorageError> {
        let storage = self.storage();
        let mut expected = 1u64;
        let mut last_stream: Option<StreamId> = None;
        for item in storage.range(&[LOG_PREFIX], &[LOG_PREFIX + 1])? {
            let (key, value) = item?;
            let key = key.as_ref();
            let Some(position) = codec::key_number(key, 1).filter(|_| key.len() == 9) else {
                report.problem(format!("log: a key of {} bytes", key.len()));
                continue;
            };
            if position != expected {
                report.problem(format!(
                    "log: position {expected} is followed by {position} (a gap or an extra)"
                ));
            }
            expected = position + 1;
            report.events += 1;
            let envelope =
                match self.decode_envelope(key, value.as_ref(), last_stream.as_ref(), || {
                    format!("log position {position}")
                }) {
                    Ok(envelope) => envelope,
                    Err(error) => {
                        report.problem(error.to_string());
                        continue;
                    }
                };
            if envelope.position != position {
                report.problem(format!(
                    "log position {position}: the record says position {}",
                    envelope.position
                ));
            }
            last_stream = Some(envelope.stream_id.clone());
            let seen = streams.entry(envelope.stream_id.clone()).or_default();
            if envelope.stream_version != seen.version + 1 {
                report.problem(format!(
                    "stream {} version {} at log position {position} follows version {}",
                    envelope.stream_id, envelope.stream_version, seen.version
                ));
            }
            seen.version = envelope.stream_version;
            let id_key = event_id_key(envelope.event_id);
            match storage.get(&id_key)? {
                None => report.problem(format!(
                    "event id index: event {} at position {position} is missing",
                    envelope.event_id
                )),
                Some(value) => match IdEntry::decode(&id_key, value.as_ref()) {
                    Ok(entry) if entry.position == position => {}
                    Ok(entry) => report.problem(format!(
                        "event id index: event {} points to position {}, it is at {position}",
                        envelope.event_id, entry.position
                    )),
                    Err(damage) => report.problem(format!(
                        "event id index entry {}: {damage}",
                        envelope.event_id
                    )),
                },
            }
        }
        Ok(())
    }

    /// The vault's key file: its header, and every slot's checksum.
    fn verify_vault_keys(&self, report: &mut VerifyReport) {
        match self.vault_key_file_damage() {
            Ok(slots) => {
                for slot in slots {
                    report.problem(format!(
                        "vault key file, slot {slot}: damaged (a subject's key is lost, so their \
                         personal data cannot be read; restore vault-keys from a backup)"
                    ));
                }
            }
            Err(error) => report.problem(error.to_string()),
        }
    }

    fn verify_other_records(&self, report: &mut VerifyReport) -> Result<(), StorageError> {
        let storage = self.storage();
        for prefix in [
            codec::CHECKPOINT_PREFIX,
            codec::VAULT_PREFIX,
            codec::PLAIN_VAULT_PREFIX,
            codec::SNAPSHOT_PREFIX,
            codec::READ_MODEL_PREFIX,
        ] {
            for item in storage.range(&[prefix], &[prefix + 1])? {
                let (key, value) = item?;
                report.other_records += 1;
                if let Err(damage) = codec::open(key.as_ref(), value.as_ref()) {
                    report.problem(format!(
                        "record {}: {damage}",
                        String::from_utf8_lossy(key.as_ref())
                    ));
                }
            }
        }
        Ok(())
    }
}

/// The stream heads: each agrees with the log; numbers unique. Returns stream number → name.
fn verify_stream_heads<S: Storage>(
    storage: &S,
    format: u32,
    report: &mut VerifyReport,
    streams: &mut HashMap<StreamId, StreamSeen>,
) -> Result<BTreeMap<u64, StreamId>, StorageError> {
    let mut numbers = BTreeMap::new();
    for item in storage.range(&[STREAM_PREFIX], &[STREAM_PREFIX + 1])? {
        let (key, value) = item?;
        let key = key.as_ref();
        report.streams += 1;
        let Some(stream) = std::str::from_utf8(&key[1..])
            .ok()
            .and_then(|name| StreamId::new(name).ok())
        else {
            report.problem(format!(
                "stream head: key {:?} is no stream id",
                String::from_utf8_lossy(key)
            ));
            continue;
        };
        let (number, version) = match decode_stream_number(key, value.as_ref(), format) {
            Ok(head) => head,
            Err(damage) => {
                report.problem(format!("stream head of {stream}: {damage}"));
                continue;
            }
        };
        if let Some(other) = numbers.insert(number, stream.clone()) {
            report.problem(format!(
                "stream head of {stream}: number {number} is also {other}'s"
            ));
        }
        let seen = streams.entry(stream.clone()).or_default();
        seen.number = Some(number);
        if let Some(version) = version.filter(|&version| version != seen.version) {
            report.problem(format!(
                "stream head of {stream}: says version {version}, the log holds {}",
                seen.version
            ));
        }
    }
    Ok(numbers)
}

/// The stream rows: each points to the log record of its stream and version.
fn verify_rows<S: Storage>(
    storage: &S,
    report: &mut VerifyReport,
    streams: &mut HashMap<StreamId, StreamSeen>,
    numbers: &BTreeMap<u64, StreamId>,
) -> Result<(), StorageError> {
    for item in storage.range(&[ROW_PREFIX], &[ROW_PREFIX + 1])? {
        let (key, value) = item?;
        let key = key.as_ref();
        let (Some(number), Some(version)) = (codec::key_number(key, 1), codec::key_number(key, 9))
        else {
            report.problem(format!("stream row: a key of {} bytes", key.len()));
            continue;
        };
        let Some(stream) = numbers.get(&number) else {
            report.problem(format!(
                "stream row {number}/{version}: no stream has number {number}"
            ));
            continue;
        };
        let record = format!("stream {stream} version {version}");
        let position = match codec::decode_u64(key, value.as_ref()) {
            Ok(position) => position,
            Err(damage) => {
                report.problem(format!("{record}: {damage}"));
                continue;
            }
        };
        if let Some(seen) = streams.get_mut(stream) {
            seen.rows += 1;
        }
        let log = log_key(position);
        let Some(stored) = storage.get(&log)? else {
            report.problem(format!("{record}: position {position} is not in the log"));
            continue;
        };
        match decode_event_record(&log, stored.as_ref()) {
            Ok(event) if event.stream_id == stream.as_str() && event.stream_version == version => {}
            Ok(event) => report.problem(format!(
                "{record}: position {position} holds stream {} version {}",
                event.stream_id, event.stream_version
            )),
            // The log's own check reports the damaged record.
            Err(_) => {}
        }
    }
    Ok(())
}
