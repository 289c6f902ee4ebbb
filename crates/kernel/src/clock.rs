//! Wall-clock time for the `recorded_at` of stored events. Business time never comes from a clock:
//! it travels inside commands, so replays and property tests are deterministic.

use chrono::{DateTime, Utc};

/// Where the repository gets the time it stamps on recorded events (`recorded_at`). Business time
/// never comes from here: it travels inside commands.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

thread_local! {
    /// The last calendar day [`SystemClock`] converted, by days since the Unix epoch: turning a
    /// day number into a date is most of the cost of a clock read, and it changes once a day.
    static CACHED_DAY: std::cell::Cell<Option<(u64, chrono::NaiveDate)>> =
        const { std::cell::Cell::new(None) };
}

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        const SECONDS_PER_DAY: u64 = 86_400;
        let Ok(since_epoch) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)
        else {
            return Utc::now();
        };
        let seconds = since_epoch.as_secs();
        let day = seconds / SECONDS_PER_DAY;
        let date = match CACHED_DAY.get() {
            Some((cached, date)) if cached == day => Some(date),
            _ => {
                let date = i64::try_from(day * SECONDS_PER_DAY)
                    .ok()
                    .and_then(|midnight| DateTime::from_timestamp(midnight, 0))
                    .map(|midnight| midnight.date_naive());
                if let Some(date) = date {
                    CACHED_DAY.set(Some((day, date)));
                }
                date
            }
        };
        let time = chrono::NaiveTime::from_num_seconds_from_midnight_opt(
            (seconds % SECONDS_PER_DAY) as u32,
            since_epoch.subsec_nanos(),
        );
        match (date, time) {
            (Some(date), Some(time)) => date.and_time(time).and_utc(),
            _ => Utc::now(),
        }
    }
}

/// A clock that always answers the same instant: for tests and deterministic runs.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub DateTime<Utc>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}
