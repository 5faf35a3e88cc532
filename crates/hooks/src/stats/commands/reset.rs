//! `statistic-reset {"name": N}`: the history of N becomes one sample of 0.

use nestor_ctrl::{Answer, Command, CommandHandler, HandlerError, HandlerFuture};
use serde_json::Value;

use crate::stats::Stats;

pub(super) struct StatisticReset {
    stats: Stats,
}

impl StatisticReset {
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
        Ok(if self.stats.reset(&name) {
            Answer::success(format!("Statistic '{name}' reset."))
        } else {
            Answer::error(format!("No '{name}' statistic found"))
        })
    }
}

impl CommandHandler for StatisticReset {
    fn handle(&self, command: Command) -> HandlerFuture {
        // In-memory work: answered before the future is even polled.
        let result = self.apply(command.arguments.as_ref());
        Box::pin(std::future::ready(result))
    }
}
