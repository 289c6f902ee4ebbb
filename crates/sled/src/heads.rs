//! The store's heads, found from its last rows instead of written by every append.
//!
//! Format 2 writes no head record: the global head's position is the last key of the log, the
//! number of streams is the stream number of the last stream row (numbers are given in creation
//! order, and a stream's first row is written in the batch that creates it), and a stream's
//! version is its last row. Each is one reverse seek, made at open (the global head) or when a
//! stream is first appended to or read (a stream's head). Format 1 wrote the global head under
//! `H` and each stream's version beside its number; read-only format-1 stores read them there.

use service_lifecycle_kernel::StreamId;

use crate::codec::{
    self, decode_stream_number, rows_of, stream_key, Damage, GlobalHead, StreamHead, HEAD_KEY,
    LOG_PREFIX, READ_ONLY_FORMAT_VERSION, ROW_PREFIX,
};
use crate::storage::{Storage, StorageError};

/// Why a head could not be read.
#[derive(Debug)]
pub(crate) enum HeadError {
    /// The storage failed.
    Storage(StorageError),
    /// A record it is read from is damaged.
    Corrupt {
        /// Which record.
        record: String,
        /// What is wrong.
        problem: Damage,
    },
}

impl From<StorageError> for HeadError {
    fn from(error: StorageError) -> Self {
        Self::Storage(error)
    }
}

impl std::fmt::Display for HeadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Storage(error) => error.fmt(f),
            Self::Corrupt { record, problem } => {
                write!(f, "stored record {record} is corrupt: {problem}")
            }
        }
    }
}

fn corrupt(record: impl Into<String>, problem: impl Into<String>) -> HeadError {
    HeadError::Corrupt {
        record: record.into(),
        problem: Damage::Invalid(problem.into()),
    }
}

/// The global head of a store in `format`: the newest position and how many streams exist.
pub(crate) fn global_head<S: Storage>(storage: &S, format: u32) -> Result<GlobalHead, HeadError> {
    if format == READ_ONLY_FORMAT_VERSION {
        let value = storage
            .get(HEAD_KEY)?
            .ok_or_else(|| corrupt("global head", "it is missing"))?;
        return GlobalHead::decode(value.as_ref()).map_err(|problem| HeadError::Corrupt {
            record: "global head".into(),
            problem,
        });
    }
    let position = match storage.last(&[LOG_PREFIX], &[LOG_PREFIX + 1])? {
        None => 0,
        Some((key, _)) => codec::key_number(key.as_ref(), 1)
            .filter(|_| key.as_ref().len() == 9)
            .ok_or_else(|| corrupt("the log's last key", "it is not a position"))?,
    };
    let streams = match storage.last(&[ROW_PREFIX], &[ROW_PREFIX + 1])? {
        None => 0,
        Some((key, _)) => codec::key_number(key.as_ref(), 1)
            .filter(|_| key.as_ref().len() == 17)
            .ok_or_else(|| corrupt("the last stream row's key", "it is not a stream row"))?,
    };
    Ok(GlobalHead { position, streams })
}

/// A stream's head as stored: its number, and its version from its last row.
pub(crate) fn stream_head<S: Storage>(
    storage: &S,
    stream: &StreamId,
    format: u32,
) -> Result<Option<StreamHead>, HeadError> {
    let key = stream_key(stream);
    let Some(value) = storage.get(&key)? else {
        return Ok(None);
    };
    let record = || format!("stream head of {stream}");
    let (number, _) = decode_stream_number(&key, value.as_ref(), format).map_err(|problem| {
        HeadError::Corrupt {
            record: record(),
            problem,
        }
    })?;
    let (start, end) = rows_of(number);
    let version = match storage.last(&start, &end)? {
        Some((key, _)) => codec::key_number(key.as_ref(), 9)
            .ok_or_else(|| corrupt(record(), "its last row's key is not a stream row"))?,
        None => return Err(corrupt(record(), "the stream has a number but no rows")),
    };
    Ok(Some(StreamHead { number, version }))
}
