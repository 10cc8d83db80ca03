//! Calendar windows: the [`Clock`] that says what time it is, and the [`Periods`] (day and
//! month keys) an instant falls into.
//!
//! Window state is keyed by period, so a new day simply has a new, empty key: rollover needs
//! no timer and no sweeper, and every process that agrees on the offset agrees on the key.

use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::{Date, Month, OffsetDateTime, UtcOffset};

/// A source of the current time. Injectable so tests can cross midnight, month ends, leap days
/// and year ends without waiting.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current instant.
    fn now(&self) -> OffsetDateTime;
}

/// The real clock: [`OffsetDateTime::now_utc`].
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that only moves when told to. Clones share one time, so a test can hand a clone to a
/// tracker and keep one to move it.
///
/// ```
/// use budget_core::{Clock, ManualClock};
/// use std::time::Duration;
/// use time::macros::datetime;
///
/// let clock = ManualClock::new(datetime!(2028-02-28 23:59 UTC));
/// let shared = clock.clone();
/// clock.advance(Duration::from_secs(60));
/// assert_eq!(shared.now(), datetime!(2028-02-29 00:00 UTC));
/// ```
#[derive(Clone, Debug)]
pub struct ManualClock {
    now: Arc<Mutex<OffsetDateTime>>,
}

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: OffsetDateTime) -> ManualClock {
        ManualClock {
            now: Arc::new(Mutex::new(start)),
        }
    }

    /// Moves the clock to `instant` (forwards or backwards).
    pub fn set(&self, instant: OffsetDateTime) {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner) = instant;
    }

    /// Moves the clock forwards by `by`.
    pub fn advance(&self, by: std::time::Duration) {
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A calendar day, the key of a daily window. Displays and parses as `2026-11-29`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct DayKey(Date);

impl DayKey {
    /// The key of `date`.
    pub const fn new(date: Date) -> DayKey {
        DayKey(date)
    }

    /// The date of this key.
    pub const fn date(self) -> Date {
        self.0
    }

    /// The month this day belongs to.
    pub const fn month_key(self) -> MonthKey {
        MonthKey {
            year: self.0.year(),
            month: self.0.month(),
        }
    }
}

impl fmt::Display for DayKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}",
            self.0.year(),
            u8::from(self.0.month()),
            self.0.day()
        )
    }
}

/// A calendar month, the key of a monthly window. Displays and parses as `2026-11`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct MonthKey {
    year: i32,
    month: Month,
}

impl MonthKey {
    /// The key of `month` in `year`.
    pub const fn new(year: i32, month: Month) -> MonthKey {
        MonthKey { year, month }
    }

    /// The year.
    pub const fn year(self) -> i32 {
        self.year
    }

    /// The month of the year.
    pub const fn month(self) -> Month {
        self.month
    }
}

impl fmt::Display for MonthKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, u8::from(self.month))
    }
}

/// Why a period key could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid period key {key:?}: expected {expected}")]
pub struct ParsePeriodError {
    key: String,
    expected: &'static str,
}

/// Splits `YYYY-MM[-DD]` into numbers; the year may carry a leading `-`.
fn parse_parts(
    key: &str,
    parts: usize,
    expected: &'static str,
) -> Result<[i32; 3], ParsePeriodError> {
    let err = || ParsePeriodError {
        key: key.to_owned(),
        expected,
    };
    let (sign, unsigned) = match key.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, key),
    };
    let mut out = [0i32; 3];
    let mut count = 0;
    for (i, part) in unsigned.split('-').enumerate() {
        let slot = out.get_mut(i).ok_or_else(err)?;
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err());
        }
        *slot = part.parse().map_err(|_| err())?;
        count += 1;
    }
    if count != parts {
        return Err(err());
    }
    out[0] *= sign;
    Ok(out)
}

impl FromStr for MonthKey {
    type Err = ParsePeriodError;

    fn from_str(key: &str) -> Result<MonthKey, ParsePeriodError> {
        const EXPECTED: &str = "a month like 2026-11";
        let [year, month, _] = parse_parts(key, 2, EXPECTED)?;
        let month = u8::try_from(month)
            .ok()
            .and_then(|m| Month::try_from(m).ok())
            .ok_or_else(|| ParsePeriodError {
                key: key.to_owned(),
                expected: EXPECTED,
            })?;
        Ok(MonthKey { year, month })
    }
}

impl FromStr for DayKey {
    type Err = ParsePeriodError;

    fn from_str(key: &str) -> Result<DayKey, ParsePeriodError> {
        const EXPECTED: &str = "a day like 2026-11-29";
        let [year, month, day] = parse_parts(key, 3, EXPECTED)?;
        let err = || ParsePeriodError {
            key: key.to_owned(),
            expected: EXPECTED,
        };
        let month = u8::try_from(month)
            .ok()
            .and_then(|m| Month::try_from(m).ok())
            .ok_or_else(err)?;
        let day = u8::try_from(day).map_err(|_| err())?;
        Date::from_calendar_date(year, month, day)
            .map(DayKey)
            .map_err(|_| err())
    }
}

/// Serialises a key as its string form.
macro_rules! serde_as_string {
    ($ty:ty) => {
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let key = String::deserialize(deserializer)?;
                key.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

serde_as_string!(DayKey);
serde_as_string!(MonthKey);

/// The day and month an instant falls into, in a fixed UTC offset. The total window has no
/// period.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct Periods {
    /// The calendar day (key of the daily window).
    pub day: DayKey,
    /// The calendar month (key of the monthly window).
    pub month: MonthKey,
}

impl Periods {
    /// The periods of `instant` as seen at `offset` (e.g. UTC, or `-05:00` for a budget that
    /// rolls over at New York midnight in winter).
    pub fn at(instant: OffsetDateTime, offset: UtcOffset) -> Periods {
        // Only instants within a day of the end of `time`'s range (year ±9999) cannot be moved
        // to another offset; their own date is the closest meaningful answer.
        let local = instant.checked_to_offset(offset).unwrap_or(instant);
        let day = DayKey(local.date());
        Periods {
            day,
            month: day.month_key(),
        }
    }

    /// The periods containing `date`.
    pub const fn of_date(date: Date) -> Periods {
        let day = DayKey(date);
        Periods {
            day,
            month: day.month_key(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime, offset};

    #[test]
    fn keys_display_and_parse() {
        let p = Periods::at(datetime!(2026-11-29 10:00 UTC), UtcOffset::UTC);
        assert_eq!(p.day.to_string(), "2026-11-29");
        assert_eq!(p.month.to_string(), "2026-11");
        assert_eq!("2026-11-29".parse::<DayKey>(), Ok(p.day));
        assert_eq!("2026-11".parse::<MonthKey>(), Ok(p.month));
        assert_eq!(DayKey::new(date!(0005 - 01 - 02)).to_string(), "0005-01-02");
        for bad in [
            "2026-13",
            "2026",
            "2026-11-29",
            "x-01",
            "2026-1a",
            "",
            "2026--1",
        ] {
            assert!(bad.parse::<MonthKey>().is_err(), "{bad}");
        }
        for bad in ["2026-02-30", "2026-11", "2026-11-29-1", "2026-11-+1"] {
            assert!(bad.parse::<DayKey>().is_err(), "{bad}");
        }
    }

    #[test]
    fn offset_moves_the_day() {
        let instant = datetime!(2026-12-31 23:30 UTC);
        assert_eq!(
            Periods::at(instant, offset!(+1)).day.to_string(),
            "2027-01-01"
        );
        assert_eq!(
            Periods::at(instant, offset!(+1)).month.to_string(),
            "2027-01"
        );
        assert_eq!(
            Periods::at(instant, offset!(-5)).day.to_string(),
            "2026-12-31"
        );
    }

    #[test]
    fn serde_uses_strings() {
        let p = Periods::of_date(date!(2028 - 02 - 29));
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(json, r#"{"day":"2028-02-29","month":"2028-02"}"#);
        assert_eq!(serde_json::from_str::<Periods>(&json).unwrap(), p);
    }
}
