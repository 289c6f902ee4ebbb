//! Business time: service-level targets count working hours only (rule S2 of docs/domain.md),
//! in the calendar's own time zone.

use std::collections::BTreeSet;

use chrono::{
    DateTime, Datelike, Duration, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, NaiveTime,
    Offset, TimeZone, Utc, Weekday,
};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// How far ahead [`BusinessCalendar::add`] looks before giving up (a calendar with almost no
/// working time): ten years of days.
const SEARCH_DAYS: u32 = 3_660;

/// The last nanosecond of a day: what calendars stored before midnight closing existed used
/// for "open until the end of the day". It is read as midnight.
const LAST_NANOSECOND: Option<NaiveTime> = NaiveTime::from_hms_nano_opt(23, 59, 59, 999_999_999);

/// Why a calendar is not usable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "rule_broken", rename_all = "snake_case")]
#[non_exhaustive]
pub enum CalendarError {
    /// No working day.
    #[error("a business calendar needs at least one working day")]
    NoWorkingDays,
    /// Opening is not before closing.
    #[error("a business calendar must open before it closes (opens {opens}, closes {closes}; a closing time of 00:00 means midnight at the end of the day)")]
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
    /// The time zone is not one of the IANA time-zone database.
    #[error("{name:?} is not a time zone of the IANA database (such as Europe/Berlin or America/New_York)")]
    UnknownTimeZone {
        /// The name given.
        name: String,
    },
}

/// Working days, hours and holidays, in a time zone.
///
/// A [`BusinessCalendar`] has working days, opening hours (the same every working day, in local
/// time) and holidays. Local time is an IANA time zone ([`in_time_zone`](Self::in_time_zone):
/// opening hours follow its daylight-saving changes) or a fixed offset from UTC.
/// [`BusinessCalendar::add`] moves an instant forward by an amount of business time: time
/// outside working hours does not count, and time inside them counts as it passes (a working
/// day from 00:00 to midnight on the day clocks go forward holds 23 hours).
///
/// ```
/// use chrono::{Duration, NaiveTime, TimeZone, Utc, Weekday};
/// use service_lifecycle_core::BusinessCalendar;
///
/// let hour = |h| NaiveTime::from_hms_opt(h, 0, 0).unwrap();
/// let weekdays = [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri];
/// let berlin = BusinessCalendar::new(weekdays, hour(9), hour(18), [], 0)?
///     .in_time_zone_named("Europe/Berlin")?;
/// // Friday 27 March 2026, 17:00 in Berlin (winter time) plus two working hours: one on Friday,
/// // one on Monday from 09:00 summer time, 07:00 UTC.
/// let friday = Utc.with_ymd_and_hms(2026, 3, 27, 16, 0, 0).unwrap();
/// assert_eq!(
///     berlin.add(friday, Duration::hours(2)),
///     Some(Utc.with_ymd_and_hms(2026, 3, 30, 8, 0, 0).unwrap())
/// );
/// # Ok::<(), service_lifecycle_core::CalendarError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BusinessCalendar {
    working_days: BTreeSet<u8>,
    opens: NaiveTime,
    /// 00:00 closes at midnight at the end of the day.
    closes: NaiveTime,
    holidays: BTreeSet<NaiveDate>,
    /// The fixed offset, used when no time zone is set.
    utc_offset_minutes: i32,
    /// The IANA time zone, by name; it takes the place of the fixed offset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    time_zone: Option<Tz>,
}

impl BusinessCalendar {
    /// A calendar open on `working_days` from `opens` to `closes` local time (`closes` 00:00:
    /// until midnight), `utc_offset_minutes` east of UTC, closed on `holidays`: the same as
    /// [`open`](Self::open) with [`with_holidays`](Self::with_holidays) and
    /// [`with_utc_offset_minutes`](Self::with_utc_offset_minutes).
    /// [`in_time_zone`](Self::in_time_zone) makes local time a zone's instead.
    pub fn new(
        working_days: impl IntoIterator<Item = Weekday>,
        opens: NaiveTime,
        closes: NaiveTime,
        holidays: impl IntoIterator<Item = NaiveDate>,
        utc_offset_minutes: i32,
    ) -> Result<Self, CalendarError> {
        Self::open(working_days, opens, closes)?
            .with_holidays(holidays)
            .with_utc_offset_minutes(utc_offset_minutes)
    }

    /// A calendar open on `working_days` from `opens` to `closes` (00:00: until midnight),
    /// in UTC, without holidays; the `with_` and `in_` methods add the rest.
    ///
    /// ```
    /// use chrono::{NaiveDate, NaiveTime, Weekday};
    /// use service_lifecycle_core::BusinessCalendar;
    ///
    /// let hour = |h| NaiveTime::from_hms_opt(h, 0, 0).unwrap();
    /// let calendar = BusinessCalendar::open([Weekday::Mon, Weekday::Tue], hour(8), hour(17))?
    ///     .with_holidays([NaiveDate::from_ymd_opt(2026, 12, 29).unwrap()])
    ///     .in_time_zone_named("Europe/Moscow")?;
    /// assert!(!calendar.is_working_day(NaiveDate::from_ymd_opt(2026, 12, 29).unwrap()));
    /// # Ok::<(), service_lifecycle_core::CalendarError>(())
    /// ```
    pub fn open(
        working_days: impl IntoIterator<Item = Weekday>,
        opens: NaiveTime,
        closes: NaiveTime,
    ) -> Result<Self, CalendarError> {
        let working_days: BTreeSet<u8> = working_days
            .into_iter()
            .map(|day| day.num_days_from_monday() as u8)
            .collect();
        if working_days.is_empty() {
            return Err(CalendarError::NoWorkingDays);
        }
        if opens >= closes && closes != NaiveTime::MIN {
            return Err(CalendarError::EmptyDay { opens, closes });
        }
        Ok(Self {
            working_days,
            opens,
            closes,
            holidays: BTreeSet::new(),
            utc_offset_minutes: 0,
            time_zone: None,
        })
    }

    /// The same calendar, closed on `holidays` too.
    pub fn with_holidays(mut self, holidays: impl IntoIterator<Item = NaiveDate>) -> Self {
        self.holidays.extend(holidays);
        self
    }

    /// The same calendar at a fixed offset of `minutes` east of UTC (used while no time zone is
    /// set).
    pub fn with_utc_offset_minutes(mut self, minutes: i32) -> Result<Self, CalendarError> {
        if FixedOffset::east_opt(minutes.saturating_mul(60)).is_none() {
            return Err(CalendarError::BadOffset { minutes });
        }
        self.utc_offset_minutes = minutes;
        Ok(self)
    }

    /// The same calendar with its hours in `zone` (the fixed offset no longer counts).
    pub fn in_time_zone(mut self, zone: Tz) -> Self {
        self.time_zone = Some(zone);
        self
    }

    /// The same calendar with its hours in the IANA zone named `name` (`"Europe/Berlin"`).
    pub fn in_time_zone_named(self, name: &str) -> Result<Self, CalendarError> {
        let zone = name
            .parse::<Tz>()
            .map_err(|_| CalendarError::UnknownTimeZone {
                name: name.to_owned(),
            })?;
        Ok(self.in_time_zone(zone))
    }

    /// The IANA time zone of the calendar, if it has one (else it keeps a fixed offset).
    pub fn time_zone(&self) -> Option<Tz> {
        self.time_zone
    }

    /// Monday to Friday, 9:00 to 18:00 UTC, no holidays.
    pub fn office_hours() -> Self {
        Self {
            working_days: (0..5).collect(),
            opens: NaiveTime::from_hms_opt(9, 0, 0).unwrap_or(NaiveTime::MIN),
            closes: NaiveTime::from_hms_opt(18, 0, 0).unwrap_or(NaiveTime::MIN),
            holidays: BTreeSet::new(),
            utc_offset_minutes: 0,
            time_zone: None,
        }
    }

    /// Every day, all day: business time is elapsed time.
    pub fn around_the_clock() -> Self {
        Self {
            working_days: (0..7).collect(),
            opens: NaiveTime::MIN,
            closes: NaiveTime::MIN,
            holidays: BTreeSet::new(),
            utc_offset_minutes: 0,
            time_zone: None,
        }
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

    /// The local date of `instant`.
    fn local_date(&self, instant: DateTime<Utc>) -> NaiveDate {
        match self.time_zone {
            Some(zone) => instant.with_timezone(&zone).date_naive(),
            None => instant.with_timezone(&self.offset()).date_naive(),
        }
    }

    fn offset(&self) -> FixedOffset {
        FixedOffset::east_opt(self.utc_offset_minutes.saturating_mul(60))
            .unwrap_or_else(|| Utc.fix())
    }

    /// The instant of local time `local`: the earlier one when clocks going back make it occur
    /// twice, the end of the gap when clocks going forward skip it.
    fn instant(&self, local: NaiveDateTime) -> Option<DateTime<Utc>> {
        match self.time_zone {
            Some(zone) => instant_in(&zone, local),
            None => instant_in(&self.offset(), local),
        }
    }

    /// The working hours of `date` as instants, if it is a working day.
    fn hours_of(&self, date: NaiveDate) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        if !self.is_working_day(date) {
            return None;
        }
        let opens = self.instant(date.and_time(self.opens))?;
        let closes = if self.closes == NaiveTime::MIN || Some(self.closes) == LAST_NANOSECOND {
            self.instant(date.succ_opt()?.and_time(NaiveTime::MIN))?
        } else {
            self.instant(date.and_time(self.closes))?
        };
        Some((opens, closes))
    }

    /// `start` plus `amount` of business time; `None` when no working time is found within ten
    /// years or the amount is negative.
    pub fn add(&self, start: DateTime<Utc>, amount: Duration) -> Option<DateTime<Utc>> {
        if amount < Duration::zero() {
            return None;
        }
        let mut date = self.local_date(start);
        let mut remaining = amount;
        for _ in 0..SEARCH_DAYS {
            if let Some((opens, closes)) = self.hours_of(date) {
                let begin = opens.max(start);
                if begin < closes {
                    let open_now = closes - begin;
                    if remaining <= open_now {
                        return begin.checked_add_signed(remaining);
                    }
                    remaining -= open_now;
                }
            }
            date = date.succ_opt()?;
        }
        None
    }
}

/// The instant of `local` in `zone`: the earlier of two when clocks going back repeat it; when
/// clocks going forward skip it, the instant they jumped (the first local time after the gap).
fn instant_in<Z: TimeZone>(zone: &Z, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    match zone.from_local_datetime(&local) {
        LocalResult::Single(instant) | LocalResult::Ambiguous(instant, _) => {
            Some(instant.with_timezone(&Utc))
        }
        LocalResult::None => {
            // In a gap: read with the offset after it, `local` is an instant before the jump;
            // with the offset before it, one after. The jump is the first instant between the
            // two whose local time is at or past `local`, found to the nanosecond.
            let offset_at = |instant: NaiveDateTime| {
                zone.offset_from_utc_datetime(&instant)
                    .fix()
                    .local_minus_utc()
            };
            let seconds = |offset: i32| Duration::seconds(i64::from(offset));
            let before = offset_at(local - Duration::days(1));
            let after = offset_at(local + Duration::days(1));
            let (mut low, mut high) = (local - seconds(after), local - seconds(before));
            let reached = |instant: NaiveDateTime| instant + seconds(offset_at(instant)) >= local;
            if low >= high || !reached(high) {
                return None;
            }
            while high - low > Duration::nanoseconds(1) {
                let middle = low + (high - low) / 2;
                if reached(middle) {
                    high = middle;
                } else {
                    low = middle;
                }
            }
            Some(high.and_utc())
        }
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

    /// Monday to Friday, 9:00 to 18:00 in Berlin, which changes to summer time on Sunday
    /// 2026-03-29 (02:00 -> 03:00) and back on Sunday 2026-10-25 (03:00 -> 02:00).
    fn berlin_office() -> BusinessCalendar {
        weekdays_nine_to_six([], 0)
            .in_time_zone_named("Europe/Berlin")
            .unwrap()
    }

    #[test]
    fn deadlines_follow_the_time_zone_into_summer_time() {
        let berlin = berlin_office();
        // Friday 17:00 CET (16:00 UTC) + 2 h: 1 h on Friday, 1 h from Monday 09:00 CEST (07:00 UTC).
        assert_eq!(
            berlin.add(at(2026, 3, 27, 16, 0), Duration::hours(2)),
            Some(at(2026, 3, 30, 8, 0))
        );
        // A fixed offset of +1 h would be an hour late on Monday.
        let fixed = weekdays_nine_to_six([], 60);
        assert_eq!(
            fixed.add(at(2026, 3, 27, 16, 0), Duration::hours(2)),
            Some(at(2026, 3, 30, 9, 0))
        );
    }

    #[test]
    fn deadlines_follow_the_time_zone_back_to_winter_time() {
        let berlin = berlin_office();
        // Friday 17:00 CEST (15:00 UTC) + 2 h: Monday 10:00 CET (09:00 UTC).
        assert_eq!(
            berlin.add(at(2026, 10, 23, 15, 0), Duration::hours(2)),
            Some(at(2026, 10, 26, 9, 0))
        );
        // Exactly the rest of Friday ends at its closing, 18:00 CEST = 16:00 UTC.
        assert_eq!(
            berlin.add(at(2026, 10, 23, 15, 0), Duration::hours(1)),
            Some(at(2026, 10, 23, 16, 0))
        );
        // One nanosecond more is Monday's opening plus that nanosecond.
        assert_eq!(
            berlin.add(
                at(2026, 10, 23, 15, 0),
                Duration::hours(1) + Duration::nanoseconds(1)
            ),
            Some(at(2026, 10, 26, 8, 0) + Duration::nanoseconds(1))
        );
    }

    #[test]
    fn a_whole_working_day_holds_the_hours_that_pass_on_it() {
        let sundays = BusinessCalendar::new([Weekday::Sun], NaiveTime::MIN, NaiveTime::MIN, [], 0)
            .unwrap()
            .in_time_zone_named("Europe/Berlin")
            .unwrap();
        // 29 March 2026 has 23 hours in Berlin: from 23:00 UTC the day before to 22:00 UTC.
        let sunday_starts = at(2026, 3, 28, 23, 0);
        assert_eq!(
            sundays.add(sunday_starts, Duration::hours(23)),
            Some(at(2026, 3, 29, 22, 0))
        );
        // The next nanosecond is on the next Sunday, which starts at 22:00 UTC (summer time).
        assert_eq!(
            sundays.add(
                sunday_starts,
                Duration::hours(23) + Duration::nanoseconds(1)
            ),
            Some(at(2026, 4, 4, 22, 0) + Duration::nanoseconds(1))
        );
        // 25 October has 25 hours.
        assert_eq!(
            sundays.add(at(2026, 10, 24, 22, 0), Duration::hours(25)),
            Some(at(2026, 10, 25, 23, 0))
        );
    }

    #[test]
    fn hours_that_fall_in_a_gap_or_twice_begin_at_the_first_instant_that_exists() {
        let hour_min = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap_or_default();
        let night = BusinessCalendar::new([Weekday::Sun], hour_min(2, 30), hour_min(4, 0), [], 0)
            .unwrap()
            .in_time_zone_named("Europe/Berlin")
            .unwrap();
        // 02:30 does not exist on 29 March: the hours begin at 03:00 CEST, 01:00 UTC, and end
        // at 04:00 CEST: one hour.
        assert_eq!(
            night.add(at(2026, 3, 29, 0, 0), Duration::minutes(30)),
            Some(at(2026, 3, 29, 1, 30))
        );
        assert_eq!(
            night.add(at(2026, 3, 29, 0, 0), Duration::minutes(60)),
            Some(at(2026, 3, 29, 2, 0))
        );
        // 02:30 occurs twice on 25 October: the hours begin at the first, 00:30 UTC, and end at
        // 04:00 CET, 03:00 UTC: two and a half hours.
        assert_eq!(
            night.add(at(2026, 10, 25, 0, 0), Duration::minutes(150)),
            Some(at(2026, 10, 25, 3, 0))
        );
    }

    #[test]
    fn around_the_clock_business_time_is_elapsed_time_to_the_nanosecond() {
        let always = BusinessCalendar::around_the_clock();
        let start = at(2026, 3, 27, 16, 0) + Duration::nanoseconds(7);
        for amount in [
            Duration::zero(),
            Duration::nanoseconds(1),
            Duration::hours(8),
            Duration::days(1),
            Duration::days(45) + Duration::nanoseconds(3),
        ] {
            assert_eq!(always.add(start, amount), Some(start + amount));
        }
        let in_berlin = always.in_time_zone_named("Europe/Berlin").unwrap();
        assert_eq!(
            in_berlin.add(start, Duration::days(240)),
            Some(start + Duration::days(240))
        );
    }

    #[test]
    fn a_calendar_stored_with_the_last_nanosecond_as_closing_closes_at_midnight() {
        let mut json = serde_json::to_value(BusinessCalendar::around_the_clock()).unwrap();
        json["closes"] = serde_json::json!("23:59:59.999999999");
        let stored: BusinessCalendar = serde_json::from_value(json).unwrap();
        let start = at(2026, 1, 1, 12, 0);
        assert_eq!(
            stored.add(start, Duration::days(3)),
            Some(start + Duration::days(3))
        );
    }

    #[test]
    fn a_time_zone_is_stored_by_its_name() {
        let berlin = berlin_office();
        let json = serde_json::to_value(&berlin).unwrap();
        assert_eq!(json["time_zone"], "Europe/Berlin");
        let back: BusinessCalendar = serde_json::from_value(json).unwrap();
        assert_eq!(back, berlin);
        // A calendar without a zone is stored as before.
        let fixed = serde_json::to_value(BusinessCalendar::office_hours()).unwrap();
        assert!(fixed.get("time_zone").is_none());
    }

    #[test]
    fn unusable_calendars_are_typed_errors() {
        assert_eq!(
            BusinessCalendar::office_hours().in_time_zone_named("Mars/Olympus"),
            Err(CalendarError::UnknownTimeZone {
                name: "Mars/Olympus".to_owned()
            })
        );
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

    proptest::proptest! {
        /// S2 in any zone: business time passes no faster than elapsed time, more of it never
        /// ends earlier, and around the clock it is elapsed time exactly.
        #[test]
        fn business_time_is_monotone_and_never_faster_than_elapsed_time(
            start_seconds in 1_735_689_600i64..1_798_761_600, // 2025 to 2026
            nanos in 0u32..1_000_000_000,
            first in 0i64..200_000_000_000_000,
            more in 0i64..200_000_000_000_000,
        ) {
            let start = DateTime::from_timestamp(start_seconds, nanos).unwrap_or_default();
            let (first, more) = (Duration::nanoseconds(first), Duration::nanoseconds(more));
            for calendar in [berlin_office(), weekdays_nine_to_six([], 180)] {
                let sooner = calendar.add(start, first);
                let later = calendar.add(start, first + more);
                proptest::prop_assert!(sooner.is_some() && later.is_some());
                proptest::prop_assert!(sooner <= later);
                proptest::prop_assert!(sooner.unwrap_or_default() - start >= first);
            }
            let always = BusinessCalendar::around_the_clock().in_time_zone(chrono_tz::America::New_York);
            proptest::prop_assert_eq!(always.add(start, first), Some(start + first));
        }
    }
}
