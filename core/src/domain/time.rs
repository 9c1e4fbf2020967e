use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// Seconds since the Unix epoch: the unit DynamoDB TTL uses, and fine enough for windows
/// measured in minutes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn plus(self, d: Duration) -> Self {
        Self(
            self.0
                .saturating_add(i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
        )
    }

    pub fn seconds(self) -> i64 {
        self.0
    }
}

/// Why a date was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not an RFC 3339 date and time, like 2026-12-24T18:00:00Z: {0:?}")]
pub struct InvalidDate(String);

impl Timestamp {
    /// Parses an RFC 3339 date and time with seconds and an offset
    /// (`2026-12-24T18:00:00Z`, `2026-12-24T19:00:00+01:00`; fractions of a second are
    /// dropped): how merchants give an offer's dates.
    pub fn parse_rfc3339(raw: &str) -> Result<Self, InvalidDate> {
        let bad = || InvalidDate(raw.chars().take(40).collect());
        let b = raw.as_bytes();
        let number = |range: std::ops::Range<usize>| -> Result<i64, InvalidDate> {
            let part = b.get(range).ok_or_else(bad)?;
            if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
                return Err(bad());
            }
            Ok(part.iter().fold(0, |n, d| n * 10 + i64::from(d - b'0')))
        };
        let at = |i: usize, c: &[u8]| b.get(i).is_some_and(|x| c.contains(x));
        if !(at(4, b"-") && at(7, b"-") && at(10, b"Tt ") && at(13, b":") && at(16, b":")) {
            return Err(bad());
        }
        let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
        let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
        let mut rest = 19;
        if at(rest, b".") {
            rest += 1;
            let digits = b[rest..].iter().take_while(|c| c.is_ascii_digit()).count();
            if digits == 0 {
                return Err(bad());
            }
            rest += digits;
        }
        let offset = match b.get(rest..) {
            Some(b"Z" | b"z") => 0,
            Some([sign @ (b'+' | b'-'), _, _, b':', _, _]) => {
                let minutes = number(rest + 1..rest + 3)? * 60 + number(rest + 4..rest + 6)?;
                if *sign == b'-' {
                    -minutes * 60
                } else {
                    minutes * 60
                }
            }
            _ => return Err(bad()),
        };
        let valid = (1..=12).contains(&month)
            && (1..=days_in_month(year, month)).contains(&day)
            && hour < 24
            && minute < 60
            && second < 60;
        if !valid {
            return Err(bad());
        }
        let days = days_from_civil(year, month, day);
        Ok(Self(
            days * 86_400 + hour * 3_600 + minute * 60 + second - offset,
        ))
    }

    /// The time as RFC 3339 in UTC, like `2026-12-24T18:00:00Z`.
    pub fn rfc3339(self) -> String {
        let (days, secs) = (self.0.div_euclid(86_400), self.0.rem_euclid(86_400));
        let (year, month, day) = civil_from_days(days);
        format!(
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
            secs / 3_600,
            secs % 3_600 / 60,
            secs % 60
        )
    }
}

fn days_in_month(year: i64, month: i64) -> i64 {
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day since 1970-01-01: the inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Where "now" comes from, so deadlines can be tested and the local stack can skip ahead.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

/// The machine's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        Timestamp(i64::try_from(secs).unwrap_or(i64::MAX))
    }
}

/// A clock moved by hand, for tests and the local stack: either frozen at a start, or
/// following the machine's time; both can be skipped ahead.
#[derive(Debug)]
pub struct ManualClock {
    /// Seconds since the epoch (frozen), or seconds skipped ahead of the machine's time.
    offset: AtomicI64,
    follows_machine: bool,
}

impl ManualClock {
    /// Stands still at `t` until advanced.
    pub fn starting_at(t: Timestamp) -> Self {
        Self {
            offset: AtomicI64::new(t.0),
            follows_machine: false,
        }
    }

    /// Runs with the machine's time, plus whatever it is advanced by.
    pub fn following_machine() -> Self {
        Self {
            offset: AtomicI64::new(0),
            follows_machine: true,
        }
    }

    pub fn follows_machine(&self) -> bool {
        self.follows_machine
    }

    /// Skips ahead by `d`; answers the new time.
    pub fn advance(&self, d: Duration) -> Timestamp {
        let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        self.offset.fetch_add(secs, Ordering::SeqCst);
        self.now()
    }

    /// How far it has been skipped ahead of the machine's time (0 when frozen).
    pub fn skipped(&self) -> Duration {
        if self.follows_machine {
            Duration::from_secs(u64::try_from(self.offset.load(Ordering::SeqCst)).unwrap_or(0))
        } else {
            Duration::ZERO
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        let offset = self.offset.load(Ordering::SeqCst);
        if self.follows_machine {
            Timestamp(SystemClock.now().0.saturating_add(offset))
        } else {
            Timestamp(offset)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_advanced() {
        let clock = ManualClock::starting_at(Timestamp(1_000));
        assert_eq!(clock.now(), Timestamp(1_000));
        assert_eq!(clock.advance(Duration::from_secs(901)), Timestamp(1_901));
        assert_eq!(clock.now(), Timestamp(1_901));
        assert_eq!(clock.skipped(), Duration::ZERO);
    }

    #[test]
    fn a_clock_following_the_machine_runs_and_can_be_skipped_ahead() {
        let clock = ManualClock::following_machine();
        let before = SystemClock.now();
        assert!(clock.now() >= before && clock.now() <= SystemClock.now());
        let skipped = clock.advance(Duration::from_secs(900));
        assert!(
            skipped >= before.plus(Duration::from_secs(900)),
            "{skipped}"
        );
        assert!(clock.now() <= SystemClock.now().plus(Duration::from_secs(900)));
        assert_eq!(clock.skipped(), Duration::from_secs(900));
    }

    #[test]
    fn system_clock_is_after_2024() {
        assert!(SystemClock.now() > Timestamp(1_704_067_200));
    }

    #[test]
    fn rfc3339_dates_parse_and_print() {
        let christmas_eve = Timestamp(1_798_135_200);
        assert_eq!(christmas_eve.rfc3339(), "2026-12-24T18:00:00Z");
        for same in [
            "2026-12-24T18:00:00Z",
            "2026-12-24t18:00:00z",
            "2026-12-24T19:00:00+01:00",
            "2026-12-24T13:30:00-04:30",
            "2026-12-24T18:00:00.999Z",
        ] {
            assert_eq!(Timestamp::parse_rfc3339(same), Ok(christmas_eve), "{same}");
        }
        assert_eq!(Timestamp(0).rfc3339(), "1970-01-01T00:00:00Z");
        assert_eq!(
            Timestamp::parse_rfc3339("2028-02-29T00:00:00Z").map(Timestamp::rfc3339),
            Ok("2028-02-29T00:00:00Z".to_owned())
        );
        for bad in [
            "",
            "2026-12-24",
            "2026-12-24T18:00:00",
            "2026-13-01T00:00:00Z",
            "2026-02-29T00:00:00Z",
            "2026-12-24T24:00:00Z",
            "2026-12-24T18:00:00+0100",
            "2026-12-24T18:00:00.Z",
            "+026-12-24T18:00:00Z",
            "2026-12-24T18:00:00Z trailing",
            "1798135200",
        ] {
            assert!(Timestamp::parse_rfc3339(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn plus_saturates() {
        assert_eq!(
            Timestamp(i64::MAX - 1).plus(Duration::from_secs(10)),
            Timestamp(i64::MAX)
        );
    }
}
