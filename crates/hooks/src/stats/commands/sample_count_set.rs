//! `statistic-sample-count-set {"name": N, "max-samples": M}`: N keeps at most M samples; its
//! age limit is switched off.

use nestor_ctrl::{Answer, Command, CommandHandler, HandlerError, HandlerFuture};
use serde_json::Value;

use crate::stats::Stats;

pub(super) struct StatisticSampleCountSet {
    stats: Stats,
}

impl StatisticSampleCountSet {
    pub(super) fn new(stats: &Stats) -> Self {
        Self {
            stats: stats.clone(),
        }
    }

    fn apply(&self, arguments: Option<&Value>) -> Result<Answer, HandlerError> {
        let name = match super::stat_name(arguments) {
            Ok(name) => name,
            Err(err) => return err.into_result(),
        };
        let count = match super::max_samples(arguments) {
            Ok(count) => count,
            Err(err) => return err.into_result(),
        };
        Ok(if self.stats.set_sample_count(&name, count) {
            Answer::success(format!("Statistic '{name}' count limit is set."))
        } else {
            Answer::error(format!("No '{name}' statistic found"))
        })
    }
}

impl CommandHandler for StatisticSampleCountSet {
    fn handle(&self, command: Command) -> HandlerFuture {
        // In-memory work: answered before the future is even polled.
        let result = self.apply(command.arguments.as_ref());
        Box::pin(std::future::ready(result))
    }
}
