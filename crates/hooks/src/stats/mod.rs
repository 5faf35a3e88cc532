//! Kea's statistics manager (`src/lib/stats/`, Kea ARM "Statistics"), for the server and its
//! plugins.
//!
//! A statistic is a named integer with a history of samples `(value, time)`, newest first,
//! bounded either by a count (default 20) or by an age (the span between the newest and the
//! oldest sample), never both: setting one limit turns the other off, as in Kea's `Observation`.
//! Names are flat strings (`pkt4-received`, `subnet[1].assigned-addresses`); adding to or
//! setting a name that does not exist creates it, removing one hides it until the next change.
//!
//! # Hot path
//! Kea takes a global mutex and appends a sample on every increment. Here a [`StatCounter`] handle
//! (obtained once, at start or reconfiguration) changes a statistic with one atomic add and one
//! relaxed store of the change time; the sample history is brought up to date when someone reads
//! it (`statistic-get`, or a change made by name). Measured (`cargo bench -p nestor-hooks`):
//! [`StatCounter::inc_at`] 1.8 ns, a wall-clock read 27 ns (so [`StatCounter::inc`], which reads
//! the clock, 32 ns: the packet path reads the clock once per packet and uses `inc_at`), a change
//! by name 55 ns.
//!
//! The value and the time of the last change are always exact; what is lost is the intermediate
//! values between two reads: where Kea would show `[5, t5], [4, t4], [3, t3]`, Nestor shows
//! `[5, t5], [3, t3]` if nothing read the statistic while it was 4. Changes made by name
//! ([`Stats::set`], [`Stats::add`]) record a sample each, as Kea does.
//!
//! # Commands
//! [`commands::register_statistics_commands`] registers the ten `statistic-*` commands with
//! Kea 2.2's argument checks, texts and answer shapes; [`dhcp4`] holds the statistics
//! `kea-dhcp4` 2.2 creates and how it names and recounts them.

pub mod commands;
pub mod dhcp4;
mod timestamp;

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::Duration;

use serde_json::{Map, Value};

use crate::clock::Clock;

pub use timestamp::format_timestamp;

/// Kea's default `statistic-default-sample-count`.
pub const DEFAULT_SAMPLE_COUNT: NonZeroU32 = match NonZeroU32::new(20) {
    Some(count) => count,
    None => NonZeroU32::MIN,
};

/// How much history a statistic keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleLimit {
    /// At most this many samples.
    Count(NonZeroU32),
    /// Samples spanning at most this long (newest minus oldest), whatever their number.
    Age(Duration),
}

impl Default for SampleLimit {
    fn default() -> Self {
        Self::Count(DEFAULT_SAMPLE_COUNT)
    }
}

/// One sample: the value and when it was set (microseconds since the Unix epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// The value.
    pub value: i64,
    /// When it was set.
    pub at_micros: i64,
}

impl Sample {
    /// `[value, "YYYY-MM-DD HH:MM:SS.ffffff"]`, Kea's JSON for a sample.
    pub fn to_json(self) -> Value {
        Value::Array(vec![
            Value::from(self.value),
            Value::String(format_timestamp(self.at_micros)),
        ])
    }
}

#[derive(Debug)]
struct History {
    samples: VecDeque<Sample>,
    limit: SampleLimit,
}

impl History {
    /// Kea's `setValueInternal`: newest first, then trim to the limit.
    fn push(&mut self, sample: Sample) {
        self.samples.push_front(sample);
        self.trim();
    }

    fn trim(&mut self) {
        match self.limit {
            SampleLimit::Count(count) => {
                let keep = usize::try_from(count.get()).unwrap_or(usize::MAX);
                self.samples.truncate(keep);
            }
            SampleLimit::Age(age) => {
                let age = i64::try_from(age.as_micros()).unwrap_or(i64::MAX);
                // Kea keeps at least the newest sample.
                while self.samples.len() > 1 {
                    let (Some(newest), Some(oldest)) = (self.samples.front(), self.samples.back())
                    else {
                        break;
                    };
                    if newest.at_micros.saturating_sub(oldest.at_micros) > age {
                        self.samples.pop_back();
                    } else {
                        break;
                    }
                }
            }
        }
    }
}

/// One statistic. The value and its change time are atomics written by [`StatCounter`]s without
/// any lock; the history behind the mutex catches up with them when read.
struct Cell {
    name: Box<str>,
    value: AtomicI64,
    changed_micros: AtomicI64,
    /// False once removed (`statistic-remove`), until the next change: Kea deletes the
    /// observation and recreates it on the next `addValue`/`setValue`. Keeping the cell lets
    /// handles held by the server stay valid across removals.
    visible: AtomicBool,
    history: Mutex<History>,
}

impl Cell {
    fn new(name: &str, limit: SampleLimit) -> Self {
        Self {
            name: name.into(),
            value: AtomicI64::new(0),
            changed_micros: AtomicI64::new(0),
            visible: AtomicBool::new(false),
            history: Mutex::new(History {
                samples: VecDeque::new(),
                limit,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, History> {
        // Every critical section leaves the history consistent; a poisoned lock is still usable.
        self.history.lock().unwrap_or_else(PoisonError::into_inner)
    }

    #[inline]
    fn add_at(&self, delta: i64, now_micros: i64) {
        // Time first, value second (release): a reader that sees the new value (acquire) also sees
        // this time or a later one, never an older one.
        self.changed_micros.store(now_micros, Ordering::Relaxed);
        self.value.fetch_add(delta, Ordering::Release);
        if !self.visible.load(Ordering::Relaxed) {
            self.visible.store(true, Ordering::Relaxed);
        }
    }

    /// Records what the atomics hold if it is newer than the newest sample.
    fn catch_up(&self, history: &mut History) {
        let value = self.value.load(Ordering::Acquire);
        let at = self.changed_micros.load(Ordering::Relaxed);
        match history.samples.front().copied() {
            Some(newest) if newest.value == value && newest.at_micros >= at => {}
            Some(newest) => history.push(Sample {
                value,
                // Two racing writers may store their times out of order; samples never go back.
                at_micros: at.max(newest.at_micros),
            }),
            None => history.push(Sample {
                value,
                at_micros: at,
            }),
        }
    }

    /// The history, brought up to date; `None` if the statistic does not exist.
    fn samples(&self) -> Option<Vec<Sample>> {
        let mut history = self.lock();
        if !self.visible.load(Ordering::Acquire) {
            return None;
        }
        self.catch_up(&mut history);
        Some(history.samples.iter().copied().collect())
    }

    /// A change by name: one sample per change, as Kea records them.
    fn apply(&self, now_micros: i64, change: impl FnOnce(&AtomicI64) -> i64) {
        let mut history = self.lock();
        if self.visible.load(Ordering::Acquire) {
            self.catch_up(&mut history);
        } else {
            // Recreated: Kea's new observation starts from 0 with no history.
            history.samples.clear();
            self.value.store(0, Ordering::Release);
        }
        self.changed_micros.store(now_micros, Ordering::Relaxed);
        let value = change(&self.value);
        self.visible.store(true, Ordering::Release);
        history.push(Sample {
            value,
            at_micros: now_micros,
        });
    }

    fn reset(&self, now_micros: i64) {
        let mut history = self.lock();
        history.samples.clear();
        self.changed_micros.store(now_micros, Ordering::Relaxed);
        self.value.store(0, Ordering::Release);
        history.push(Sample {
            value: 0,
            at_micros: now_micros,
        });
    }

    fn remove(&self) {
        let mut history = self.lock();
        self.visible.store(false, Ordering::Release);
        self.value.store(0, Ordering::Release);
        history.samples.clear();
    }

    fn set_limit(&self, limit: SampleLimit) {
        let mut history = self.lock();
        if self.visible.load(Ordering::Acquire) {
            self.catch_up(&mut history);
        }
        history.limit = limit;
        history.trim();
    }
}

struct Inner {
    clock: Arc<dyn Clock>,
    cells: RwLock<BTreeMap<String, Arc<Cell>>>,
    /// The limit new statistics get (Kea's `Observation::default_max_sample_*`).
    default_limit: Mutex<DefaultLimits>,
}

/// Kea keeps a default count and a default age, and which of them is active.
#[derive(Debug, Clone, Copy)]
struct DefaultLimits {
    count: NonZeroU32,
    age: Duration,
    age_active: bool,
}

impl DefaultLimits {
    fn limit(self) -> SampleLimit {
        if self.age_active {
            SampleLimit::Age(self.age)
        } else {
            SampleLimit::Count(self.count)
        }
    }
}

/// The statistics of one server; cheap to clone (all clones share them).
#[derive(Clone)]
pub struct Stats {
    inner: Arc<Inner>,
}

impl fmt::Debug for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stats")
            .field("statistics", &self.read_cells().len())
            .finish()
    }
}

impl Stats {
    /// No statistics, Kea's default limit (20 samples); times read from `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            inner: Arc::new(Inner {
                clock,
                cells: RwLock::new(BTreeMap::new()),
                default_limit: Mutex::new(DefaultLimits {
                    count: DEFAULT_SAMPLE_COUNT,
                    age: Duration::ZERO,
                    age_active: false,
                }),
            }),
        }
    }

    fn now(&self) -> i64 {
        self.inner.clock.unix_micros()
    }

    fn read_cells(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Arc<Cell>>> {
        // Map operations leave the map consistent; a poisoned lock is still usable.
        self.inner
            .cells
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn defaults(&self) -> MutexGuard<'_, DefaultLimits> {
        self.inner
            .default_limit
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn cell(&self, name: &str) -> Option<Arc<Cell>> {
        self.read_cells().get(name).cloned()
    }

    fn visible_cell(&self, name: &str) -> Option<Arc<Cell>> {
        self.cell(name)
            .filter(|cell| cell.visible.load(Ordering::Acquire))
    }

    fn cell_or_insert(&self, name: &str) -> Arc<Cell> {
        if let Some(cell) = self.cell(name) {
            return cell;
        }
        let limit = self.defaults().limit();
        let mut cells = self
            .inner
            .cells
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        Arc::clone(
            cells
                .entry(name.to_owned())
                .or_insert_with(|| Arc::new(Cell::new(name, limit))),
        )
    }

    /// A handle on `name` for the hot path, creating the statistic with 0 if it does not exist
    /// (Kea's `setValue(name, 0)` at server start).
    pub fn counter(&self, name: &str) -> StatCounter {
        let cell = self.cell_or_insert(name);
        if !cell.visible.load(Ordering::Acquire) {
            cell.apply(self.now(), |value| {
                value.store(0, Ordering::Release);
                0
            });
        }
        StatCounter {
            cell,
            clock: Arc::clone(&self.inner.clock),
        }
    }

    /// A handle on `name` that does not create it: the statistic appears on its first change, as
    /// those Kea creates only when something happens (`subnet[1].v4-allocation-fail-subnet`).
    pub fn lazy_counter(&self, name: &str) -> StatCounter {
        StatCounter {
            cell: self.cell_or_insert(name),
            clock: Arc::clone(&self.inner.clock),
        }
    }

    /// Kea's `StatsMgr::setValue`: sets `name`, creating it if needed, and records a sample.
    pub fn set(&self, name: &str, value: i64) {
        self.cell_or_insert(name).apply(self.now(), |cell| {
            cell.store(value, Ordering::Release);
            value
        });
    }

    /// Kea's `StatsMgr::addValue`: adds `delta` (negative to subtract), creating the statistic
    /// with `delta` if needed, and records a sample.
    pub fn add(&self, name: &str, delta: i64) {
        self.cell_or_insert(name).apply(self.now(), |cell| {
            cell.fetch_add(delta, Ordering::AcqRel).wrapping_add(delta)
        });
    }

    /// The current value of `name`.
    pub fn value(&self, name: &str) -> Option<i64> {
        self.visible_cell(name)
            .map(|cell| cell.value.load(Ordering::Acquire))
    }

    /// Whether `name` exists.
    pub fn contains(&self, name: &str) -> bool {
        self.visible_cell(name).is_some()
    }

    /// The samples of `name`, newest first.
    pub fn samples(&self, name: &str) -> Option<Vec<Sample>> {
        self.cell(name).and_then(|cell| cell.samples())
    }

    /// The names of all statistics, sorted.
    pub fn names(&self) -> Vec<String> {
        self.read_cells()
            .iter()
            .filter(|(_, cell)| cell.visible.load(Ordering::Acquire))
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// Kea's `reset`: the history is replaced by one sample of 0. False if `name` does not exist.
    pub fn reset(&self, name: &str) -> bool {
        match self.visible_cell(name) {
            Some(cell) => {
                cell.reset(self.now());
                true
            }
            None => false,
        }
    }

    /// Resets every statistic (`statistic-reset-all`; Kea resets `total-addresses` too).
    pub fn reset_all(&self) {
        let now = self.now();
        for cell in self.read_cells().values() {
            if cell.visible.load(Ordering::Acquire) {
                cell.reset(now);
            }
        }
    }

    /// Kea's `del`: removes `name`. False if it does not exist. The next change recreates it.
    pub fn remove(&self, name: &str) -> bool {
        match self.visible_cell(name) {
            Some(cell) => {
                cell.remove();
                true
            }
            None => false,
        }
    }

    /// Removes every statistic (`statistic-remove-all`).
    pub fn remove_all(&self) {
        for cell in self.read_cells().values() {
            cell.remove();
        }
    }

    /// `statistic-sample-count-set`: keep at most `count` samples of `name` (the age limit is
    /// turned off). False if `name` does not exist.
    pub fn set_sample_count(&self, name: &str, count: NonZeroU32) -> bool {
        self.set_limit(name, SampleLimit::Count(count))
    }

    /// `statistic-sample-age-set`: keep samples of `name` spanning at most `age` (the count limit
    /// is turned off). False if `name` does not exist.
    pub fn set_sample_age(&self, name: &str, age: Duration) -> bool {
        self.set_limit(name, SampleLimit::Age(age))
    }

    fn set_limit(&self, name: &str, limit: SampleLimit) -> bool {
        match self.visible_cell(name) {
            Some(cell) => {
                cell.set_limit(limit);
                true
            }
            None => false,
        }
    }

    /// `statistic-sample-count-set-all`: the count limit of every statistic and the default for
    /// new ones.
    pub fn set_sample_count_all(&self, count: NonZeroU32) {
        {
            let mut defaults = self.defaults();
            defaults.count = count;
            defaults.age_active = false;
        }
        self.set_limit_all(SampleLimit::Count(count));
    }

    /// `statistic-sample-age-set-all`: the age limit of every statistic and the default for new
    /// ones.
    pub fn set_sample_age_all(&self, age: Duration) {
        {
            let mut defaults = self.defaults();
            defaults.age = age;
            defaults.age_active = true;
        }
        self.set_limit_all(SampleLimit::Age(age));
    }

    fn set_limit_all(&self, limit: SampleLimit) {
        for cell in self.read_cells().values() {
            cell.set_limit(limit);
        }
    }

    /// Applies `statistic-default-sample-count` and `-age` from a (re)loaded configuration, as
    /// Kea's `SrvConfig::updateStatistics`: a non-zero count becomes the limit of every
    /// statistic; a zero count switches every statistic to the age limit.
    pub fn configure(&self, default_sample_count: u32, default_sample_age_secs: u32) {
        let age = Duration::from_secs(u64::from(default_sample_age_secs));
        match NonZeroU32::new(default_sample_count) {
            Some(count) => {
                self.defaults().age = age;
                self.set_sample_count_all(count);
            }
            None => self.set_sample_age_all(age),
        }
    }

    /// The defaults as `config-get` shows them after the `-all` commands changed them: the
    /// count (0 when the age limit is active, as Kea's `getMaxSampleCountDefault`) and the age in
    /// seconds.
    pub fn default_limits(&self) -> (u32, u64) {
        let defaults = *self.defaults();
        let count = if defaults.age_active {
            0
        } else {
            defaults.count.get()
        };
        (count, defaults.age.as_secs())
    }

    /// `{"<name>": [[value, "time"], ...]}`, or `{}` if it does not exist: the `arguments` of
    /// `statistic-get`.
    pub fn get_json(&self, name: &str) -> Value {
        let mut map = Map::new();
        if let Some(samples) = self.samples(name) {
            map.insert(name.to_owned(), samples_json(&samples));
        }
        Value::Object(map)
    }

    /// Every statistic, sorted by name: the `arguments` of `statistic-get-all`.
    pub fn get_all_json(&self) -> Value {
        let cells: Vec<Arc<Cell>> = self.read_cells().values().cloned().collect();
        let mut map = Map::new();
        for cell in cells {
            if let Some(samples) = cell.samples() {
                map.insert(cell.name.to_string(), samples_json(&samples));
            }
        }
        Value::Object(map)
    }
}

fn samples_json(samples: &[Sample]) -> Value {
    Value::Array(samples.iter().map(|sample| sample.to_json()).collect())
}

/// A handle on one statistic for the packet path: [`inc_at`](Self::inc_at) is one atomic add plus
/// a relaxed store of the time; [`inc`](Self::inc) also reads the clock. Cheap to clone; stays
/// valid when the statistic is removed (the next change recreates it, as in Kea).
#[derive(Clone)]
pub struct StatCounter {
    cell: Arc<Cell>,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for StatCounter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StatCounter")
            .field("name", &self.cell.name)
            .field("value", &self.get())
            .finish()
    }
}

impl StatCounter {
    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.add(1);
    }

    /// Subtracts one (gauges such as `assigned-addresses`).
    #[inline]
    pub fn dec(&self) {
        self.add(-1);
    }

    /// Adds `delta`.
    #[inline]
    pub fn add(&self, delta: i64) {
        self.cell.add_at(delta, self.clock.unix_micros());
    }

    /// Adds `delta` at a time the caller already read (one clock read for several counters).
    #[inline]
    pub fn add_at(&self, delta: i64, unix_micros: i64) {
        self.cell.add_at(delta, unix_micros);
    }

    /// Adds one at a time the caller already read: the packet path reads the clock once per
    /// packet ([`Clock::unix_micros`]) and counts `pkt4-received`, `pkt4-discover-received`,
    /// `pkt4-offer-sent`, `pkt4-sent` with it; a clock read costs more than the increment.
    #[inline]
    pub fn inc_at(&self, unix_micros: i64) {
        self.cell.add_at(1, unix_micros);
    }

    /// The current value.
    pub fn get(&self) -> i64 {
        self.cell.value.load(Ordering::Acquire)
    }

    /// The statistic's name.
    pub fn name(&self) -> &str {
        &self.cell.name
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::TestClock;
    use serde_json::json;

    const T0: i64 = 1_795_636_612_000_000;

    fn stats() -> (Stats, Arc<TestClock>) {
        let clock = Arc::new(TestClock::new(T0));
        (Stats::new(clock.clone()), clock)
    }

    fn values(stats: &Stats, name: &str) -> Vec<i64> {
        stats
            .samples(name)
            .unwrap()
            .iter()
            .map(|sample| sample.value)
            .collect()
    }

    #[tokio::test(start_paused = true)]
    async fn changes_by_name_record_a_sample_each_newest_first() {
        let (stats, _clock) = stats();
        stats.set("x", 3);
        tokio::time::advance(Duration::from_millis(1)).await;
        stats.add("x", 2);
        tokio::time::advance(Duration::from_millis(1)).await;
        stats.add("x", -1);
        assert_eq!(values(&stats, "x"), [4, 5, 3]);
        assert_eq!(
            stats.get_json("x"),
            json!({"x": [
                [4, "2026-11-25 19:56:52.002000"],
                [5, "2026-11-25 19:56:52.001000"],
                [3, "2026-11-25 19:56:52.000000"]
            ]})
        );
        assert_eq!(stats.get_json("nope"), json!({}));
    }

    #[test]
    fn add_creates_with_the_delta() {
        let (stats, _clock) = stats();
        stats.add("y", 7);
        assert_eq!(values(&stats, "y"), [7]);
    }

    #[tokio::test(start_paused = true)]
    async fn counters_materialise_on_read_with_the_change_time() {
        let (stats, _clock) = stats();
        let counter = stats.counter("pkt4-received");
        assert_eq!(values(&stats, "pkt4-received"), [0]);
        tokio::time::advance(Duration::from_secs(1)).await;
        counter.inc();
        counter.inc();
        tokio::time::advance(Duration::from_secs(5)).await;
        // Read 5 s after the change: the sample carries the change time, not the read time.
        let samples = stats.samples("pkt4-received").unwrap();
        assert_eq!(samples.len(), 2);
        assert_eq!(samples[0].value, 2);
        assert_eq!(samples[0].at_micros, T0 + 1_000_000);
        // Nothing changed: reading again adds nothing.
        assert_eq!(values(&stats, "pkt4-received"), [2, 0]);
        // Registering the same name again keeps the value.
        assert_eq!(stats.counter("pkt4-received").get(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn count_limit_keeps_the_newest() {
        let (stats, _clock) = stats();
        for v in 0..25 {
            stats.set("x", v);
        }
        assert_eq!(stats.samples("x").unwrap().len(), 20);
        assert!(stats.set_sample_count("x", NonZeroU32::new(3).unwrap()));
        assert_eq!(values(&stats, "x"), [24, 23, 22]);
        stats.set("x", 25);
        assert_eq!(values(&stats, "x"), [25, 24, 23]);
        assert!(!stats.set_sample_count("nope", NonZeroU32::new(3).unwrap()));
    }

    #[tokio::test(start_paused = true)]
    async fn age_limit_is_the_span_from_the_newest_sample() {
        let (stats, _clock) = stats();
        for v in 0..5 {
            stats.set("x", v);
            tokio::time::advance(Duration::from_secs(2)).await;
        }
        // Samples at 0, 2, 4, 6, 8 s; keep those within 5 s of the newest (8 s): 4, 6, 8.
        assert!(stats.set_sample_age("x", Duration::from_secs(5)));
        assert_eq!(values(&stats, "x"), [4, 3, 2]);
        // Idle time does not age samples out: only a new sample trims.
        tokio::time::advance(Duration::from_secs(60)).await;
        assert_eq!(values(&stats, "x"), [4, 3, 2]);
        stats.set("x", 9);
        assert_eq!(values(&stats, "x"), [9]);
        // The age limit switched the count limit off.
        for v in 0..30 {
            stats.set("x", v);
        }
        assert_eq!(stats.samples("x").unwrap().len(), 31);
    }

    #[tokio::test(start_paused = true)]
    async fn reset_and_remove() {
        let (stats, _clock) = stats();
        let counter = stats.counter("pkt4-received");
        counter.add(5);
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(stats.reset("pkt4-received"));
        let samples = stats.samples("pkt4-received").unwrap();
        assert_eq!(
            samples,
            [Sample {
                value: 0,
                at_micros: T0 + 1_000_000
            }]
        );
        assert!(!stats.reset("nope"));

        assert!(stats.remove("pkt4-received"));
        assert!(!stats.contains("pkt4-received"));
        assert!(!stats.remove("pkt4-received"));
        assert_eq!(stats.get_all_json(), json!({}));
        // The handle recreates it on the next change, from 0, as Kea's addValue does.
        counter.inc();
        assert_eq!(values(&stats, "pkt4-received"), [1]);
        stats.remove("pkt4-received");
        stats.add("pkt4-received", 2);
        assert_eq!(values(&stats, "pkt4-received"), [2]);
        assert_eq!(counter.get(), 2);
    }

    #[test]
    fn lazy_counters_appear_on_first_change() {
        let (stats, _clock) = stats();
        let lazy = stats.lazy_counter("subnet[1].v4-allocation-fail-subnet");
        assert_eq!(stats.get_all_json(), json!({}));
        lazy.inc();
        assert_eq!(values(&stats, "subnet[1].v4-allocation-fail-subnet"), [1]);
    }

    #[test]
    fn all_variants_and_defaults() {
        let (stats, _clock) = stats();
        stats.set("b", 1);
        stats.set("a", 2);
        stats.reset_all();
        assert_eq!(values(&stats, "a"), [0]);
        assert_eq!(stats.names(), ["a", "b"]);
        stats.set_sample_count_all(NonZeroU32::new(2).unwrap());
        assert_eq!(stats.default_limits(), (2, 0));
        stats.set_sample_age_all(Duration::from_secs(7));
        assert_eq!(stats.default_limits(), (0, 7));
        stats.remove_all();
        assert!(stats.names().is_empty());
        // New statistics get the default limit (age 7 s: everything set at one instant stays).
        for v in 0..30 {
            stats.set("c", v);
        }
        assert_eq!(stats.samples("c").unwrap().len(), 30);
    }

    #[test]
    fn configure_follows_kea_update_statistics() {
        let (stats, _clock) = stats();
        stats.set("x", 0);
        stats.configure(2, 0);
        for v in 1..5 {
            stats.set("x", v);
        }
        assert_eq!(values(&stats, "x"), [4, 3]);
        assert_eq!(stats.default_limits(), (2, 0));
        stats.configure(0, 30);
        assert_eq!(stats.default_limits(), (0, 30));
        for v in 5..50 {
            stats.set("x", v);
        }
        assert_eq!(stats.samples("x").unwrap().len(), 47);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_counters_lose_nothing() {
        let (stats, _clock) = stats();
        let counter = stats.counter("pkt4-received");
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let counter = counter.clone();
                let stats = stats.clone();
                tokio::spawn(async move {
                    for i in 0..10_000 {
                        counter.inc();
                        if i % 1000 == 0 {
                            let _ = stats.get_all_json();
                        }
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(stats.value("pkt4-received"), Some(40_000));
        let samples = stats.samples("pkt4-received").unwrap();
        assert_eq!(samples[0].value, 40_000);
        assert!(samples.windows(2).all(|w| w[0].at_micros >= w[1].at_micros));
    }
}
