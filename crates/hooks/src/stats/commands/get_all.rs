//! `statistic-get-all`: every statistic, sorted by name; `arguments` are ignored, as by Kea.

use nestor_ctrl::{Answer, Command, CommandHandler, HandlerError, HandlerFuture};
use serde_json::Value;

use crate::stats::Stats;

pub(super) struct StatisticGetAll {
    stats: Stats,
}

impl StatisticGetAll {
    pub(super) fn new(stats: &Stats) -> Self {
        Self {
            stats: stats.clone(),
        }
    }

    fn apply(&self, _arguments: Option<&Value>) -> Result<Answer, HandlerError> {
        Ok(Answer::success_with_arguments(self.stats.get_all_json()))
    }
}

impl CommandHandler for StatisticGetAll {
    fn handle(&self, command: Command) -> HandlerFuture {
        // In-memory work: answered before the future is even polled.
        let result = self.apply(command.arguments.as_ref());
        Box::pin(std::future::ready(result))
    }
}
