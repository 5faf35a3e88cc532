//! `statistic-reset-all`: every statistic back to one sample of 0 (`total-addresses` included,
//! as in Kea); `arguments` are ignored.

use nestor_ctrl::{Answer, Command, CommandHandler, HandlerError, HandlerFuture};
use serde_json::Value;

use crate::stats::Stats;

pub(super) struct StatisticResetAll {
    stats: Stats,
}

impl StatisticResetAll {
    pub(super) fn new(stats: &Stats) -> Self {
        Self {
            stats: stats.clone(),
        }
    }

    fn apply(&self, _arguments: Option<&Value>) -> Result<Answer, HandlerError> {
        self.stats.reset_all();
        Ok(Answer::success("All statistics reset to neutral values."))
    }
}

impl CommandHandler for StatisticResetAll {
    fn handle(&self, command: Command) -> HandlerFuture {
        // In-memory work: answered before the future is even polled.
        let result = self.apply(command.arguments.as_ref());
        Box::pin(std::future::ready(result))
    }
}
