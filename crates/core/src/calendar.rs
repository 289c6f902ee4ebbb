//! Business time: service-level targets count working hours only (rule S2 of docs/domain.md).

use std::collections::BTreeSet;

use chrono::{
    DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveTime, Offset, TimeZone, Utc, Weekday,
};
use serde::{Deserialize, Serialize};

/// How far ahead [`BusinessCalendar::add`] looks before giving up (a calendar with almost no
/// working time): ten years of days.
const SEARCH_DAYS: u32 = 3_660;

/// Why a calendar is not usable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "rule_broken", rename_all = "snake_case")]
#[non_exhaustive]
pub enum CalendarError {
    /// No working day.
    #[error("a business calendar needs at least one working day")]
    NoWorkingDays,
    /// Opening is not before closing.
    #[error("a business calendar must open before it closes (opens {opens}, closes {closes})")]
    EmptyDay {
        /// Opening time.
        opens: NaiveTime,
        /// Closing time.
        closes: NaiveTime,
    },
    /// The offset from UTC is not a real one.
    #[error("{minutes} minutes is not a valid offset from UTC")]
    BadOffset {
        /// The offset given.
        minutes: i32,
    },
}

/// Working days, hours and holidays.
///
/// A [`BusinessCalendar`] has working days, opening hours (the same every working day, in a fixed
/// offset from UTC) and holidays. [`BusinessCalendar::add`] moves an instant forward by an amount
/// of business time: time outside working hours does not count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BusinessCalendar {
    working_days: BTreeSet<u8>,
    opens: NaiveTime,
    closes: NaiveTime,
    holidays: BTreeSet<NaiveDate>,
    utc_offset_minutes: i32,
}

impl BusinessCalendar {
    /// A calendar open on `working_days` from `opens` to `closes` local time, `utc_offset_minutes`
    /// east of UTC, closed on `holidays`.
    pub fn new(
        working_days: impl IntoIterator<Item = Weekday>,
        opens: NaiveTime,
        closes: NaiveTime,
        holidays: impl IntoIterator<Item = NaiveDate>,
        utc_offset_minutes: i32,
    ) -> Result<Self, CalendarError> {
        let working_days: BTreeSet<u8> = working_days
            .into_iter()
            .map(|day| day.num_days_from_monday() as u8)
            .collect();
        if working_days.is_empty() {
            return Err(CalendarError::NoWorkingDays);
        }
        if opens >= closes {
            return Err(CalendarError::EmptyDay { opens, closes });
        }
        if FixedOffset::east_opt(utc_offset_minutes.saturating_mul(60)).is_none() {
            return Err(CalendarError::BadOffset {
                minutes: utc_offset_minutes,
            });
        }
        Ok(Self {
            working_days,
            opens,
            closes,
            holidays: holidays.into_iter().collect(),
            utc_offset_minutes,
        })
    }

    /// Monday to Friday, 9:00 to 18:00 UTC, no holidays.
    pub fn office_hours() -> Self {
        Self {
            working_days: (0..5).collect(),
            opens: NaiveTime::from_hms_opt(9, 0, 0).unwrap_or(NaiveTime::MIN),
            closes: NaiveTime::from_hms_opt(18, 0, 0).unwrap_or(NaiveTime::MIN),
            holidays: BTreeSet::new(),
            utc_offset_minutes: 0,
        }
    }

    /// Every day, all day.
    pub fn around_the_clock() -> Self {
        Self {
            working_days: (0..7).collect(),
            opens: NaiveTime::MIN,
            closes: NaiveTime::from_hms_nano_opt(23, 59, 59, 999_999_999).unwrap_or(NaiveTime::MIN),
            holidays: BTreeSet::new(),
            utc_offset_minutes: 0,
        }
    }

    fn offset(&self) -> FixedOffset {
        FixedOffset::east_opt(self.utc_offset_minutes.saturating_mul(60))
            .unwrap_or_else(|| Utc.fix())
    }

    /// How many holidays the calendar names.
    pub(crate) fn holiday_count(&self) -> usize {
        self.holidays.len()
    }

    /// Whether `date` (local) is a working day.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        self.working_days
            .contains(&(date.weekday().num_days_from_monday() as u8))
            && !self.holidays.contains(&date)
    }

    /// `start` plus `amount` of business time; `None` when no working time is found within ten
    /// years or the amount is negative.
    pub fn add(&self, start: DateTime<Utc>, amount: Duration) -> Option<DateTime<Utc>> {
        if amount < Duration::zero() {
            return None;
        }
        let offset = self.offset();
        let local = start.with_timezone(&offset).naive_local();
        let mut date = local.date();
        let mut from = local.time();
        let mut remaining = amount;
        for _ in 0..SEARCH_DAYS {
            if self.is_working_day(date) && from < self.closes {
                let begin = from.max(self.opens);
                let open_today = self.closes - begin;
                if remaining <= open_today {
                    let end = date.and_time(begin) + remaining;
                    return offset
                        .from_local_datetime(&end)
                        .single()
                        .map(|end| end.with_timezone(&Utc));
                }
                remaining -= open_today;
            }
            date = date.succ_opt()?;
            from = NaiveTime::MIN;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::time::instant as at;

    #[test]
    fn business_time_counts_working_hours_only() {
        let calendar = BusinessCalendar::office_hours();
        // Friday 2026-03-06 16:00 + 4 hours: 2 on Friday, 2 on Monday.
        assert_eq!(
            calendar.add(at(2026, 3, 6, 16, 0), Duration::hours(4)),
            Some(at(2026, 3, 9, 11, 0))
        );
        // Before opening counts from opening.
        assert_eq!(
            calendar.add(at(2026, 3, 9, 6, 0), Duration::hours(1)),
            Some(at(2026, 3, 9, 10, 0))
        );
        // After closing counts from the next opening.
        assert_eq!(
            calendar.add(at(2026, 3, 9, 20, 0), Duration::minutes(30)),
            Some(at(2026, 3, 10, 9, 30))
        );
        // Exactly the rest of the day ends at closing.
        assert_eq!(
            calendar.add(at(2026, 3, 9, 17, 0), Duration::hours(1)),
            Some(at(2026, 3, 9, 18, 0))
        );
    }

    /// Monday to Friday, 9:00 to 18:00 local time.
    fn weekdays_nine_to_six(
        holidays: impl IntoIterator<Item = NaiveDate>,
        utc_offset_minutes: i32,
    ) -> BusinessCalendar {
        let weekdays = [
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
        ];
        let hour = |h| NaiveTime::from_hms_opt(h, 0, 0).unwrap_or_default();
        BusinessCalendar::new(weekdays, hour(9), hour(18), holidays, utc_offset_minutes).unwrap()
    }

    #[test]
    fn office_hours_are_weekdays_nine_to_six_utc() {
        assert_eq!(
            BusinessCalendar::office_hours(),
            weekdays_nine_to_six([], 0)
        );
    }

    #[test]
    fn holidays_do_not_count() {
        let holiday = NaiveDate::from_ymd_opt(2026, 3, 9).unwrap_or_default();
        let calendar = weekdays_nine_to_six([holiday], 0);
        assert_eq!(
            calendar.add(at(2026, 3, 6, 17, 0), Duration::hours(2)),
            Some(at(2026, 3, 10, 10, 0))
        );
    }

    #[test]
    fn a_local_offset_shifts_the_opening_hours() {
        let moscow = weekdays_nine_to_six([], 180);
        // 05:00 UTC is 08:00 in Moscow: opening is 06:00 UTC.
        assert_eq!(
            moscow.add(at(2026, 3, 9, 5, 0), Duration::hours(1)),
            Some(at(2026, 3, 9, 7, 0))
        );
    }

    #[test]
    fn unusable_calendars_are_typed_errors() {
        let nine = NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default();
        assert_eq!(
            BusinessCalendar::new([], nine, nine, [], 0),
            Err(CalendarError::NoWorkingDays)
        );
        assert!(matches!(
            BusinessCalendar::new([Weekday::Mon], nine, nine, [], 0),
            Err(CalendarError::EmptyDay { .. })
        ));
        let eighteen = NaiveTime::from_hms_opt(18, 0, 0).unwrap_or_default();
        assert_eq!(
            BusinessCalendar::new([Weekday::Mon], nine, eighteen, [], 100_000),
            Err(CalendarError::BadOffset { minutes: 100_000 })
        );
    }

    #[test]
    fn no_answer_for_negative_amounts_or_a_calendar_without_time() {
        let calendar = BusinessCalendar::office_hours();
        assert_eq!(
            calendar.add(at(2026, 3, 9, 9, 0), Duration::hours(-1)),
            None
        );
        let all_holidays = BusinessCalendar::new(
            [Weekday::Mon],
            NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default(),
            NaiveTime::from_hms_opt(10, 0, 0).unwrap_or_default(),
            [],
            0,
        )
        .unwrap();
        assert_eq!(
            all_holidays.add(at(2026, 3, 9, 9, 0), Duration::days(10_000)),
            None
        );
    }
}
