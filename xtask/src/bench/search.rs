//! The search for a server's highest sustained DORA rate: double the rate until a run fails,
//! then bisect between the last rate sustained and the first one not, bounded in runs, in time
//! and in rate. A run in which the generator is the limit ends the search: nothing above it
//! can be learnt with that generator.

use std::time::{Duration, Instant};

use anyhow::Result;

use super::trial::Trial;

#[derive(Debug, Clone, Copy)]
pub(crate) struct SearchLimits {
    pub start: u32,
    pub max_rate: u32,
    pub max_trials: usize,
    /// Stop when the failing rate is within this factor of the sustained one (0.1: 10 %).
    pub precision: f64,
    pub budget: Duration,
}

/// Rates are searched in steps of this many exchanges per second.
const GRAIN: u32 = 100;

#[derive(Debug, Clone)]
pub(crate) struct SearchResult {
    pub trials: Vec<Trial>,
    /// The highest rate sustained (index into `trials`).
    pub best: Option<usize>,
    /// The lowest rate not sustained, if one was found.
    pub first_failure: Option<u32>,
    /// The search stopped because the generator could not offer more.
    pub generator_bound: bool,
    pub stopped: &'static str,
}

impl SearchResult {
    pub(crate) fn best(&self) -> Option<&Trial> {
        self.best.and_then(|i| self.trials.get(i))
    }
}

pub(crate) fn search(
    limits: SearchLimits,
    mut run: impl FnMut(u32) -> Result<Trial>,
) -> Result<SearchResult> {
    let started = Instant::now();
    let mut result = SearchResult {
        trials: Vec::new(),
        best: None,
        first_failure: None,
        generator_bound: false,
        stopped: "run limit",
    };
    let mut lo: Option<u32> = None;
    let mut rate = round(limits.start);
    while result.trials.len() < limits.max_trials {
        if started.elapsed() >= limits.budget {
            result.stopped = "time budget";
            break;
        }
        let trial = run(rate)?;
        let sustained = trial.sustained();
        let saturated = trial.generator_saturated();
        result.trials.push(trial);
        if sustained {
            lo = Some(rate);
            result.best = Some(result.trials.len() - 1);
        } else {
            result.first_failure = Some(result.first_failure.map_or(rate, |f| f.min(rate)));
        }
        if saturated {
            result.generator_bound = true;
            result.stopped = "generator saturated";
            break;
        }
        let next = match (lo, result.first_failure) {
            (_, None) => rate.saturating_mul(2),
            (None, Some(hi)) => hi / 2,
            (Some(lo), Some(hi)) => {
                if f64::from(hi) <= f64::from(lo) * (1.0 + limits.precision) {
                    result.stopped = "precision reached";
                    break;
                }
                lo + (hi - lo) / 2
            }
        };
        let next = round(next);
        if next > limits.max_rate {
            result.stopped = "rate cap";
            break;
        }
        if next < GRAIN || Some(next) == lo || Some(next) == result.first_failure {
            result.stopped = "precision reached";
            break;
        }
        rate = next;
    }
    Ok(result)
}

fn round(rate: u32) -> u32 {
    (rate / GRAIN).max(1) * GRAIN
}

#[cfg(test)]
mod tests {
    use super::super::trial::tests::fake;
    use super::*;

    fn limits() -> SearchLimits {
        SearchLimits {
            start: 1000,
            max_rate: 1_000_000,
            max_trials: 20,
            precision: 0.05,
            budget: Duration::from_secs(60),
        }
    }

    #[test]
    fn finds_the_capacity_within_the_precision() {
        for capacity in [1500, 3750, 5200, 47_000] {
            let r = search(limits(), |rate| Ok(fake(rate, capacity, 10_000_000))).unwrap();
            let best = r.best().unwrap().requested_rate;
            assert!(best <= capacity, "{capacity}: {best}");
            assert!(
                f64::from(best) >= f64::from(capacity) * 0.9,
                "{capacity}: {best} ({})",
                r.stopped
            );
            assert!(!r.generator_bound);
        }
    }

    #[test]
    fn starts_above_the_capacity_and_comes_down() {
        let r = search(limits(), |rate| Ok(fake(rate, 300, 10_000_000))).unwrap();
        let best = r.best().unwrap().requested_rate;
        assert!((200..=300).contains(&best), "{best}");
    }

    #[test]
    fn a_saturated_generator_ends_the_search() {
        let r = search(limits(), |rate| Ok(fake(rate, 100_000, 5_000))).unwrap();
        assert!(r.generator_bound);
        assert_eq!(r.stopped, "generator saturated");
        assert_eq!(r.best().unwrap().requested_rate, 4000);
    }

    #[test]
    fn bounded_in_runs_and_rate() {
        let mut l = limits();
        l.max_trials = 3;
        let r = search(l, |rate| Ok(fake(rate, 1_000_000, 10_000_000))).unwrap();
        assert_eq!(r.trials.len(), 3);
        l.max_trials = 50;
        l.max_rate = 16_000;
        let r = search(l, |rate| Ok(fake(rate, 1_000_000, 10_000_000))).unwrap();
        assert_eq!(r.stopped, "rate cap");
        assert_eq!(r.best().unwrap().requested_rate, 16_000);
    }
}
