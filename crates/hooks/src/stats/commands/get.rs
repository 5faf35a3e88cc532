//! `statistic-get {"name": N}`: `arguments` `{N: [[value, "time"], ...]}`, or `{}` with
//! result 0 when there is no such statistic (Kea answers an empty map, not an error).

use nestor_ctrl::{Answer, Command, CommandHandler, HandlerError, HandlerFuture};
use serde_json::Value;

use crate::stats::Stats;

pub(super) struct StatisticGet {
    stats: Stats,
}

impl StatisticGet {
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
        Ok(Answer::success_with_arguments(self.stats.get_json(&name)))
    }
}

impl CommandHandler for StatisticGet {
    fn handle(&self, command: Command) -> HandlerFuture {
        // In-memory work: answered before the future is even polled.
        let result = self.apply(command.arguments.as_ref());
        Box::pin(std::future::ready(result))
    }
}
