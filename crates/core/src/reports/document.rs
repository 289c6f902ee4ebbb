//! Reports as JSON: one document per report, with stable field names.

use std::io::Write;

use chrono::NaiveDate;
use serde::Serialize;

use super::ShownNames;

/// The `format` of a report document.
pub const REPORT_FORMAT_NAME: &str = "service-lifecycle-report";

/// The document a report is written as: which report, as of which day, and its rows. The
/// report's own field names are its serde names (reports name their fields explicitly, so a
/// Rust rename never changes them).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportDocument<'a, R> {
    /// Always [`REPORT_FORMAT_NAME`].
    pub format: &'static str,
    /// The document's format version (1).
    pub format_version: u32,
    /// The report's name, such as `"sla-compliance"`.
    pub report: &'a str,
    /// The day the report answers for, where time matters.
    pub as_of: Option<NaiveDate>,
    /// The report itself.
    pub data: &'a R,
    /// The names shown for the report's ids, when the writer gives them
    /// ([`write_report_with_names`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub names: Option<&'a ShownNames>,
}

/// Writes `report` named `name` as one JSON document (one line) to `out`.
///
/// ```
/// #[derive(serde::Serialize)]
/// struct Backlog { deliveries: u32 }
///
/// let mut out = Vec::new();
/// service_lifecycle_core::reports::write_report("backlog", None, &Backlog { deliveries: 3 }, &mut out)?;
/// assert_eq!(
///     String::from_utf8(out)?,
///     "{\"format\":\"service-lifecycle-report\",\"format_version\":1,\"report\":\"backlog\",\"as_of\":null,\"data\":{\"deliveries\":3}}\n"
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_report<R: Serialize>(
    name: &str,
    as_of: Option<NaiveDate>,
    report: &R,
    out: impl Write,
) -> Result<(), std::io::Error> {
    write_document(name, as_of, report, None, out)
}

/// [`write_report`] with a `names` member: what a person reads for each id of the report
/// ([`Names::shown`](super::Names::shown)).
pub fn write_report_with_names<R: Serialize>(
    name: &str,
    as_of: Option<NaiveDate>,
    report: &R,
    names: &ShownNames,
    out: impl Write,
) -> Result<(), std::io::Error> {
    write_document(name, as_of, report, Some(names), out)
}

fn write_document<R: Serialize>(
    name: &str,
    as_of: Option<NaiveDate>,
    report: &R,
    names: Option<&ShownNames>,
    mut out: impl Write,
) -> Result<(), std::io::Error> {
    let document = ReportDocument {
        format: REPORT_FORMAT_NAME,
        format_version: 1,
        report: name,
        as_of,
        data: report,
        names,
    };
    serde_json::to_writer(&mut out, &document)?;
    out.write_all(b"\n")?;
    out.flush()
}
