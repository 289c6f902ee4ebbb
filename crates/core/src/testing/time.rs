//! The instants, dates and currency of the domain's tests, one copy of each.
//!
//! Two calendars are in use, and they differ, so each has its own name:
//!
//! - the aggregates' unit tests count days from Sunday 1 March 2026 at 09:00 UTC: [`day`],
//!   [`date_of_day`];
//! - the scenario, the contracts' tests and the generated histories count from Monday 2 March
//!   2026 (a working day, which business hours need): [`at`], [`scenario_day`] (10:00 UTC),
//!   [`scenario_date`], and [`hour`] for the histories, whose operations are an hour apart.
//!
//! Prices are in euros: [`eur`], [`eur_cents`]. [`date`] names a calendar date.
//!
//! ```
//! use service_lifecycle_core::testing::time::{at, date, day, hour, scenario_day};
//!
//! assert_eq!(day(1), at(0, 9, 0));
//! assert_eq!(scenario_day(0), at(0, 10, 0));
//! assert_eq!(hour(24), scenario_day(1));
//! assert_eq!(scenario_day(0).date_naive(), date(2026, 3, 2));
//! ```

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};

use crate::values::{Currency, Money};

/// Day `n` of the aggregates' unit tests, at 09:00 UTC; day 0 is Sunday 1 March 2026.
pub fn day(n: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0)
        .single()
        .unwrap_or_default()
        + Duration::days(n)
}

/// The date of [`day`] `n`.
pub fn date_of_day(n: i64) -> NaiveDate {
    day(n).date_naive()
}

/// Monday 2 March 2026 at `hour`:`minute` UTC, plus `days` days.
pub fn at(days: i64, hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, hour, minute, 0)
        .single()
        .unwrap_or_default()
        + Duration::days(days)
}

/// Day `n` of the scenario, at 10:00 UTC; day 0 is Monday 2 March 2026.
pub fn scenario_day(n: i64) -> DateTime<Utc> {
    at(n, 10, 0)
}

/// The date of [`scenario_day`] `n`.
pub fn scenario_date(n: i64) -> NaiveDate {
    scenario_day(n).date_naive()
}

/// The instant of operation `n` of a generated history: `n` hours after 2 March 2026, 10:00 UTC
/// ([`scenario_day`] 0).
pub fn hour(n: i64) -> DateTime<Utc> {
    scenario_day(0) + Duration::hours(n)
}

/// The instant `year-month-day hour:minute` UTC, for tests that name a calendar time.
pub fn instant(year: i32, month: u32, day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(year, month, day, hour, minute, 0)
        .single()
        .expect("a test's instant exists")
}

/// The calendar date `year`-`month`-`day` (the default date, 1970-01-01, if there is no such
/// date).
pub fn date(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).unwrap_or_default()
}

/// The euro.
pub fn eur() -> Currency {
    Currency::new("EUR").expect("EUR is a currency code")
}

/// `minor_units` euro cents.
pub fn eur_cents(minor_units: i64) -> Money {
    Money::new(minor_units, eur())
}
