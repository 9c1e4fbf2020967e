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
    fn plus_saturates() {
        assert_eq!(
            Timestamp(i64::MAX - 1).plus(Duration::from_secs(10)),
            Timestamp(i64::MAX)
        );
    }
}
