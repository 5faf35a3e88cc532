//! One load run at a fixed offered rate, whatever generated it (perfdhcp or the built-in
//! generator), and the verdicts the rate search takes from it.

use std::time::Duration;

/// The loss a rate may cause and still count as sustained: under 1 % of the DORA exchanges
/// started may go without an ACK (the criterion; ISC's reports allow 2.5 %).
pub(crate) const MAX_LOSS: f64 = 0.01;

/// A generator that sent less than this share of what it was asked to, or used this share of
/// its core, is itself the limit of the run.
const GENERATOR_SHORTFALL: f64 = 0.9;
const GENERATOR_BUSY: f64 = 0.9;

/// One exchange of the DORA (DISCOVER-OFFER or REQUEST-ACK) as the generator counted it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Exchange {
    pub sent: u64,
    pub received: u64,
    pub drops: u64,
    pub min_ms: f64,
    pub avg_ms: f64,
    pub max_ms: f64,
}

/// Percentiles of the whole DORA (DISCOVER sent to ACK received), from the built-in generator
/// (perfdhcp reports only min/avg/max per exchange).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Percentiles {
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

#[derive(Debug, Clone)]
pub(crate) struct Trial {
    pub requested_rate: u32,
    pub duration: Duration,
    pub discover: Exchange,
    pub request: Exchange,
    /// CPU time (user + system) the generator used.
    pub generator_cpu: Duration,
    /// CPU time the server used during the run.
    pub server_cpu: Duration,
    /// ACKs the server says it sent (its `pkt4-ack-sent` statistic): tells a server that
    /// answered from a generator that did not count the answers.
    pub server_acks: Option<u64>,
    /// OFFERs the server says it sent (`pkt4-offer-sent`).
    pub server_offers: Option<u64>,
    pub latency: Option<Percentiles>,
}

impl Trial {
    /// DORA exchanges that ended with an ACK.
    pub(crate) fn completed(&self) -> u64 {
        self.request.received
    }

    /// Share of the started exchanges (DISCOVERs sent) that got no ACK.
    pub(crate) fn loss(&self) -> f64 {
        if self.discover.sent == 0 {
            return 1.0;
        }
        1.0 - self.completed() as f64 / self.discover.sent as f64
    }

    /// DISCOVERs per second the generator actually sent.
    pub(crate) fn offered_rate(&self) -> f64 {
        self.discover.sent as f64 / self.duration.as_secs_f64().max(1e-9)
    }

    /// Completed DORAs per second.
    pub(crate) fn completed_rate(&self) -> f64 {
        self.completed() as f64 / self.duration.as_secs_f64().max(1e-9)
    }

    /// Share of one core the generator used over the test period.
    pub(crate) fn generator_load(&self) -> f64 {
        self.generator_cpu.as_secs_f64() / self.duration.as_secs_f64().max(1e-9)
    }

    /// Share of one core the server used over the test period.
    pub(crate) fn server_load(&self) -> f64 {
        self.server_cpu.as_secs_f64() / self.duration.as_secs_f64().max(1e-9)
    }

    /// Whether the generator could not send what it was asked to, or ran out of CPU: then the
    /// run says nothing about the server beyond "at least this".
    pub(crate) fn generator_saturated(&self) -> bool {
        self.offered_rate() < GENERATOR_SHORTFALL * f64::from(self.requested_rate)
            || self.generator_load() >= GENERATOR_BUSY
    }

    /// The server sustained the requested rate: the generator offered it and under
    /// [`MAX_LOSS`] of the exchanges went unanswered.
    pub(crate) fn sustained(&self) -> bool {
        self.offered_rate() >= GENERATOR_SHORTFALL * f64::from(self.requested_rate)
            && self.loss() < MAX_LOSS
    }

    /// One line for the progress log.
    pub(crate) fn summary(&self) -> String {
        format!(
            "rate {:>6}/s: offered {:>6.0}/s, completed {:>6.0}/s, loss {:>5.2} % \
             (OFFERs counted {} / sent by the server {}, ACKs counted {} / sent {}), \
             DO avg {:.3} ms, RA avg {:.3} ms, server CPU {:>3.0} %, generator CPU {:>3.0} %{}",
            self.requested_rate,
            self.offered_rate(),
            self.completed_rate(),
            self.loss() * 100.0,
            self.discover.received,
            self.server_offers
                .map_or_else(|| "?".into(), |a| a.to_string()),
            self.request.received,
            self.server_acks
                .map_or_else(|| "?".into(), |a| a.to_string()),
            self.discover.avg_ms,
            self.request.avg_ms,
            self.server_load() * 100.0,
            self.generator_load() * 100.0,
            match (self.sustained(), self.generator_saturated()) {
                (true, false) => " -> sustained",
                (true, true) => " -> sustained (generator saturated)",
                (false, false) => " -> NOT sustained",
                (false, true) => " -> NOT sustained (generator saturated)",
            }
        )
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A trial in which a server of `capacity` DORA/s was offered `rate` by a generator that
    /// can send at most `generator_max`.
    pub(crate) fn fake(rate: u32, capacity: u32, generator_max: u32) -> Trial {
        let secs = 10u64;
        let offered = u64::from(rate.min(generator_max)) * secs;
        let done = offered.min(u64::from(capacity) * secs);
        let exchange = |sent, received| Exchange {
            sent,
            received,
            drops: sent - received,
            min_ms: 0.1,
            avg_ms: 0.2,
            max_ms: 1.0,
        };
        let busy = f64::from(rate.min(generator_max)) / f64::from(generator_max);
        Trial {
            requested_rate: rate,
            duration: Duration::from_secs(secs),
            discover: exchange(offered, done),
            request: exchange(done, done),
            generator_cpu: Duration::from_secs_f64(busy * 0.8 * secs as f64),
            server_cpu: Duration::ZERO,
            server_acks: None,
            server_offers: None,
            latency: None,
        }
    }

    #[test]
    fn verdicts() {
        let t = fake(1000, 2000, 100_000);
        assert!(t.sustained() && !t.generator_saturated());
        assert_eq!(t.loss(), 0.0);
        let t = fake(4000, 2000, 100_000);
        assert!(!t.sustained());
        assert!((t.loss() - 0.5).abs() < 1e-9);
        let t = fake(4000, 100_000, 2000);
        assert!(!t.sustained() && t.generator_saturated());
        // 0.9 % lost is sustained, 1 % is not.
        let mut t = fake(1000, 1000, 100_000);
        t.request.received = 9910;
        assert!(t.sustained());
        t.request.received = 9900;
        assert!(!t.sustained());
    }
}
