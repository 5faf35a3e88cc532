//! `statistic-sample-count-set-all {"max-samples": M}`: every statistic, and those created later,
//! keep at most M samples.

use nestor_ctrl::{Answer, Command, CommandHandler, HandlerError, HandlerFuture};
use serde_json::Value;

use crate::stats::Stats;

pub(super) struct StatisticSampleCountSetAll {
    stats: Stats,
}

impl StatisticSampleCountSetAll {
    pub(super) fn new(stats: &Stats) -> Self {
        Self {
            stats: stats.clone(),
        }
    }

    fn apply(&self, arguments: Option<&Value>) -> Result<Answer, HandlerError> {
        let count = match super::max_samples(arguments) {
            Ok(count) => count,
            Err(err) => return err.into_result(),
        };
        self.stats.set_sample_count_all(count);
        Ok(Answer::success("All statistics count limit are set."))
    }
}

impl CommandHandler for StatisticSampleCountSetAll {
    fn handle(&self, command: Command) -> HandlerFuture {
        // In-memory work: answered before the future is even polled.
        let result = self.apply(command.arguments.as_ref());
        Box::pin(std::future::ready(result))
    }
}
