//! The personal-data vault in a backup (§8 of `docs/domain.md`): the events of a store move as
//! a JSON export (`service_lifecycle_json`), the names and contacts that never enter an event
//! move beside them in a file of their own, so that a restored store is whole and a store can
//! still be shared without them.
//!
//! The file is JSON Lines: a header `{"format":"service-lifecycle-personal-data",
//! "format_version":1}`, one `{"customer":ID,"personal_data":{"name":..,"contact":..}}` per
//! customer whose data the store keeps, and a trailer `{"trailer":{"records":N,"crc32":HEX}}`
//! whose CRC-32 covers the record lines as written. Erased customers are never in it, and a
//! restore never brings one back: the erasure is an event of the log, and restoring re-applies
//! every erasure the log holds, also to a record the file holds for that customer.

use std::collections::BTreeSet;
use std::io::{BufRead, Seek, SeekFrom, Write};

use serde::{Deserialize, Serialize};

use crate::error::ServiceError;
use crate::events::ServiceEvent;
use crate::kernel::{EventStore, Vault};
use crate::personal_data::{
    PersonalData, PersonalDataError, PersonalDataRecord, RegisteredCustomers,
};
use crate::values::CustomerId;

/// The `format` of a personal-data file.
pub const PERSONAL_DATA_FORMAT_NAME: &str = "service-lifecycle-personal-data";

/// The longest line a personal-data file may hold (a name and contact are far shorter).
const MAX_LINE: usize = 1 << 20;

/// Why a personal-data file could not be written or restored. Nothing is written to the vault
/// when the file is refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PersonalDataBackupError {
    /// Reading the store failed.
    #[error(transparent)]
    Store(#[from] Box<ServiceError>),
    /// Reading or writing a record in the vault failed.
    #[error(transparent)]
    Vault(#[from] PersonalDataError),
    /// Writing the file failed.
    #[error("cannot write the personal-data file: {0}")]
    Write(std::io::Error),
    /// Reading the file failed.
    #[error("cannot read the personal-data file: {0}")]
    Read(std::io::Error),
    /// A line of the file is not what the format says; nothing was restored.
    #[error("line {line} of the personal-data file: {problem}; nothing was restored")]
    Invalid {
        /// The line (1 is the header).
        line: u64,
        /// What is wrong, in words.
        problem: String,
    },
    /// The file holds a customer the store never registered; nothing was restored.
    #[error("line {line} of the personal-data file holds customer {customer}, whom the store never registered: the file belongs to another store; nothing was restored")]
    UnknownCustomer {
        /// The line.
        line: u64,
        /// The customer.
        customer: CustomerId,
    },
}

impl From<ServiceError> for PersonalDataBackupError {
    fn from(error: ServiceError) -> Self {
        Self::Store(Box::new(error))
    }
}

/// What a personal-data file held or a restore did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct PersonalDataSummary {
    /// Records written to the file, or restored into the vault.
    pub records: u64,
    /// Customers whose data was erased (never written; on restore, erased again).
    pub erased: u64,
    /// Registered customers the vault held no record for (exported without one).
    pub missing: u64,
    /// Records of the file left out because the customer's data was erased since the backup.
    pub skipped_erased: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct HeaderLine {
    format: String,
    format_version: u32,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordLine {
    customer: CustomerId,
    personal_data: PersonalData,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Trailer {
    records: u64,
    crc32: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrailerLine {
    trailer: Trailer,
}

/// Writes the personal data of every customer `store` registered and did not erase, as `vault`
/// holds it, to `out` (the format of this module's documentation). Reads the log once for the
/// customers, then the vault once per customer.
pub fn export_personal_data<S: EventStore<ServiceEvent>>(
    store: &S,
    vault: &dyn Vault,
    out: impl Write,
) -> Result<PersonalDataSummary, PersonalDataBackupError> {
    let head = store.head_position().map_err(ServiceError::from)?;
    export_personal_data_until(store, vault, head, out)
}

/// [`export_personal_data`] for the customers the log registered up to position `until`: the
/// personal data that belongs with an export of the events up to there (a customer registered
/// while the events were exported is left to the next backup, whose events hold them).
pub fn export_personal_data_until<S: EventStore<ServiceEvent>>(
    store: &S,
    vault: &dyn Vault,
    until: u64,
    mut out: impl Write,
) -> Result<PersonalDataSummary, PersonalDataBackupError> {
    let customers = RegisteredCustomers::read_until(store, until)?;
    let write = |out: &mut dyn Write, bytes: &[u8]| {
        out.write_all(bytes).map_err(PersonalDataBackupError::Write)
    };
    let header = HeaderLine {
        format: PERSONAL_DATA_FORMAT_NAME.to_owned(),
        format_version: 1,
    };
    write(&mut out, &line_of(&header))?;
    let mut crc = crc32fast::Hasher::new();
    let mut summary = PersonalDataSummary {
        erased: customers.erased.len() as u64,
        ..PersonalDataSummary::default()
    };
    for customer in customers.with_personal_data {
        let Some(personal_data) = PersonalDataRecord::of(vault, customer).get()? else {
            summary.missing += 1;
            continue;
        };
        let line = line_of(&RecordLine {
            customer,
            personal_data,
        });
        crc.update(&line);
        write(&mut out, &line)?;
        summary.records += 1;
    }
    let trailer = TrailerLine {
        trailer: Trailer {
            records: summary.records,
            crc32: format!("{:08x}", crc.finalize()),
        },
    };
    write(&mut out, &line_of(&trailer))?;
    out.flush().map_err(PersonalDataBackupError::Write)?;
    Ok(summary)
}

/// One JSON line (serializing these types cannot fail).
fn line_of<T: Serialize>(value: &T) -> Vec<u8> {
    let mut line = serde_json::to_vec(value).unwrap_or_default();
    line.push(b'\n');
    line
}

/// Restores a personal-data file into `vault` for the customers `store` holds: reads all of
/// `input` first (header, every record, no customer twice, the trailer's count and CRC-32,
/// every customer registered in the store) and writes nothing if any of it is wrong; then puts
/// each record, leaving out customers erased since the backup, and erases again every customer
/// the log says was erased, so no restore brings erased data back.
pub fn restore_personal_data<S: EventStore<ServiceEvent>, R: BufRead + Seek>(
    store: &S,
    vault: &dyn Vault,
    mut input: R,
) -> Result<PersonalDataSummary, PersonalDataBackupError> {
    let customers = RegisteredCustomers::read(store)?;
    let registered: BTreeSet<CustomerId> = customers
        .with_personal_data
        .iter()
        .chain(&customers.erased)
        .copied()
        .collect();
    // First pass: the whole file is checked, nothing is written.
    let mut seen = BTreeSet::new();
    read_records(&mut input, |line, record| {
        if !registered.contains(&record.customer) {
            return Err(PersonalDataBackupError::UnknownCustomer {
                line,
                customer: record.customer,
            });
        }
        if !seen.insert(record.customer) {
            return Err(twice(line, record.customer));
        }
        Ok(())
    })?;
    // Second pass: the records, then every erasure again.
    input
        .seek(SeekFrom::Start(0))
        .map_err(PersonalDataBackupError::Read)?;
    let mut summary = PersonalDataSummary::default();
    read_records(&mut input, |_, record| {
        if customers.erased.contains(&record.customer) {
            summary.skipped_erased += 1;
        } else {
            PersonalDataRecord::of(vault, record.customer).put(&record.personal_data)?;
            summary.records += 1;
        }
        Ok(())
    })?;
    for customer in &customers.erased {
        PersonalDataRecord::of(vault, *customer).erase()?;
        summary.erased += 1;
    }
    Ok(summary)
}

/// Reads a personal-data file through and checks its form (header, every record, the trailer's
/// count and CRC-32) without a store: how many records it holds. A restore checks it again,
/// with the store's customers.
pub fn check_personal_data(mut input: impl BufRead) -> Result<u64, PersonalDataBackupError> {
    let mut seen = BTreeSet::new();
    read_records(&mut input, |line, record| {
        if seen.insert(record.customer) {
            Ok(())
        } else {
            Err(twice(line, record.customer))
        }
    })?;
    Ok(seen.len() as u64)
}

fn twice(line: u64, customer: CustomerId) -> PersonalDataBackupError {
    invalid(line, format!("customer {customer} appears a second time"))
}

fn invalid(line: u64, problem: String) -> PersonalDataBackupError {
    PersonalDataBackupError::Invalid { line, problem }
}

/// Reads the file through, calling `each` with every record and its line number, and checks
/// the header and the trailer.
fn read_records(
    input: &mut dyn BufRead,
    mut each: impl FnMut(u64, RecordLine) -> Result<(), PersonalDataBackupError>,
) -> Result<(), PersonalDataBackupError> {
    let mut line = Vec::new();
    let mut number = 0u64;
    let mut next =
        |line: &mut Vec<u8>, number: &mut u64| -> Result<bool, PersonalDataBackupError> {
            line.clear();
            let read = std::io::Read::take(&mut *input, MAX_LINE as u64 + 1)
                .read_until(b'\n', line)
                .map_err(PersonalDataBackupError::Read)?;
            *number += 1;
            if line.len() > MAX_LINE {
                return Err(invalid(
                    *number,
                    format!("the line is longer than {MAX_LINE} bytes"),
                ));
            }
            Ok(read > 0)
        };
    if !next(&mut line, &mut number)? {
        return Err(invalid(
            1,
            "the file is empty; a personal-data file starts with its header".into(),
        ));
    }
    let header: HeaderLine = serde_json::from_slice(&line)
        .map_err(|error| invalid(1, format!("this is not a personal-data file ({error})")))?;
    if header.format != PERSONAL_DATA_FORMAT_NAME || header.format_version != 1 {
        return Err(invalid(
            1,
            format!(
                "the file is format {:?} version {}; this is {PERSONAL_DATA_FORMAT_NAME:?} version 1",
                header.format, header.format_version
            ),
        ));
    }
    let mut crc = crc32fast::Hasher::new();
    let mut records = 0u64;
    loop {
        if !next(&mut line, &mut number)? {
            return Err(invalid(
                number,
                "the file ends without its trailer: it is cut short".into(),
            ));
        }
        if line.starts_with(b"{\"trailer\"") {
            let trailer: TrailerLine = serde_json::from_slice(&line).map_err(|error| {
                invalid(number, format!("the trailer does not parse ({error})"))
            })?;
            if trailer.trailer.records != records {
                return Err(invalid(
                    number,
                    format!(
                        "the trailer counts {} records but the file holds {records}",
                        trailer.trailer.records
                    ),
                ));
            }
            let actual = format!("{:08x}", crc.finalize());
            if trailer.trailer.crc32 != actual {
                return Err(invalid(
                    number,
                    format!(
                        "the records' CRC-32 is {actual}, the trailer says {}: the file was changed or damaged",
                        trailer.trailer.crc32
                    ),
                ));
            }
            if next(&mut line, &mut number)? {
                return Err(invalid(number, "a line follows the trailer".into()));
            }
            return Ok(());
        }
        crc.update(&line);
        let record: RecordLine = serde_json::from_slice(&line)
            .map_err(|error| invalid(number, format!("not a personal-data record ({error})")))?;
        records += 1;
        each(number, record)?;
    }
}

#[cfg(test)]
mod tests;
