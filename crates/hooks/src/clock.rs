//! The clock the server and its plugins read (STYLE habit 7: time is injected).
//!
//! Two readings are needed: wall-clock time (lease `cltt`, statistics timestamps, HA's clock-skew
//! check against the partner's `date-time`) and monotonic time (timers, failure detection).
//! Monotonic time is `tokio::time::Instant`, which a test pauses and advances; [`TestClock`] derives
//! its wall clock from that same paused clock, so a test that advances tokio time by 60 s sees
//! leases age by 60 s too.

use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nestor_leases::UnixTime;
use tokio::time::Instant;

/// Where the server and its plugins read the time.
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// Wall-clock time in microseconds since the Unix epoch (negative before 1970).
    fn unix_micros(&self) -> i64;

    /// Monotonic time, from tokio's clock so that tests can pause it.
    fn monotonic(&self) -> Instant {
        Instant::now()
    }

    /// Wall-clock time in whole seconds since the Unix epoch, as leases store it (0 before 1970).
    fn unix_now(&self) -> UnixTime {
        u64::try_from(self.unix_micros().div_euclid(1_000_000)).unwrap_or(0)
    }
}

/// The system's clocks.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn unix_micros(&self) -> i64 {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(since) => i64::try_from(since.as_micros()).unwrap_or(i64::MAX),
            Err(before) => i64::try_from(before.duration().as_micros()).map_or(i64::MIN, |us| -us),
        }
    }
}

/// A clock for tests: wall time is a fixed start plus the tokio time elapsed since the clock was
/// created (so `tokio::time::pause`/`advance` move both readings together), plus an adjustable
/// offset (to simulate a wall-clock jump or a skewed partner).
#[derive(Debug)]
pub struct TestClock {
    start_micros: i64,
    start: Instant,
    offset_micros: AtomicI64,
}

impl TestClock {
    /// A clock whose wall time reads `unix_micros` now.
    pub fn new(unix_micros: i64) -> Self {
        Self {
            start_micros: unix_micros,
            start: Instant::now(),
            offset_micros: AtomicI64::new(0),
        }
    }

    /// A clock whose wall time reads `unix_secs` seconds now.
    pub fn at_unix_secs(unix_secs: i64) -> Self {
        Self::new(unix_secs.saturating_mul(1_000_000))
    }

    /// Moves the wall clock (only) forward by `by`; monotonic time is untouched.
    pub fn jump_wall(&self, by: Duration) {
        let by = i64::try_from(by.as_micros()).unwrap_or(i64::MAX);
        self.offset_micros.fetch_add(by, Ordering::Relaxed);
    }
}

impl Clock for TestClock {
    fn unix_micros(&self) -> i64 {
        let elapsed = i64::try_from(self.start.elapsed().as_micros()).unwrap_or(i64::MAX);
        self.start_micros
            .saturating_add(elapsed)
            .saturating_add(self.offset_micros.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn test_clock_follows_paused_tokio_time() {
        let clock = TestClock::at_unix_secs(1_800_000_000);
        let t0 = clock.monotonic();
        assert_eq!(clock.unix_now(), 1_800_000_000);
        tokio::time::advance(Duration::from_secs(60)).await;
        assert_eq!(clock.unix_now(), 1_800_000_060);
        assert_eq!(clock.monotonic() - t0, Duration::from_secs(60));
        clock.jump_wall(Duration::from_secs(5));
        assert_eq!(clock.unix_now(), 1_800_000_065);
        assert_eq!(clock.monotonic() - t0, Duration::from_secs(60));
    }

    #[test]
    fn system_clock_is_after_2020() {
        assert!(SystemClock.unix_now() > 1_577_836_800);
        let secs = i64::try_from(SystemClock.unix_now()).unwrap();
        assert!((SystemClock.unix_micros() / 1_000_000 - secs).abs() <= 1);
    }
}
