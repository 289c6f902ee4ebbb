//! The checks several aggregates make, written once. Each returns a small value saying what is
//! wrong, which the aggregate maps into its own error (with its ids and its rule), so the rules
//! stay the aggregates' and only the arithmetic is shared.

use chrono::{DateTime, Utc};

/// A text that, trimmed, holds fewer or more characters than allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BadLength;

/// `text` without its surrounding whitespace, if that holds `min` to `max` characters (both
/// inclusive, counted in characters, not bytes).
pub(crate) fn trimmed(text: &str, min: usize, max: usize) -> Result<&str, BadLength> {
    let text = text.trim();
    let length = text.chars().count();
    if length < min || length > max {
        return Err(BadLength);
    }
    Ok(text)
}

/// `text` without its surrounding whitespace, if anything is left (no upper bound).
pub(crate) fn non_empty(text: &str) -> Result<&str, BadLength> {
    let text = text.trim();
    if text.is_empty() {
        return Err(BadLength);
    }
    Ok(text)
}

/// A step dated before the step it must follow: the date given and the earliest acceptable one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TooEarly {
    /// The date given.
    pub(crate) at: DateTime<Utc>,
    /// The earliest acceptable date.
    pub(crate) earliest: DateTime<Utc>,
}

/// A step at `at` may not be dated before `earliest`, when the step it follows happened (the
/// same instant is fine).
pub(crate) fn not_before(at: DateTime<Utc>, earliest: DateTime<Utc>) -> Result<(), TooEarly> {
    if at < earliest {
        return Err(TooEarly { at, earliest });
    }
    Ok(())
}
