//! `statistic-remove-all` (deprecated in Kea 2.2, and it says so): every statistic disappears;
//! `arguments` are ignored.

use nestor_ctrl::{Answer, Command, CommandHandler, HandlerError, HandlerFuture};
use serde_json::Value;

use crate::stats::Stats;

pub(super) struct StatisticRemoveAll {
    stats: Stats,
}

impl StatisticRemoveAll {
    pub(super) fn new(stats: &Stats) -> Self {
        Self {
            stats: stats.clone(),
        }
    }

    fn apply(&self, _arguments: Option<&Value>) -> Result<Answer, HandlerError> {
        self.stats.remove_all();
        Ok(Answer::success(
            "Warning: statistic-remove-all command is deprecated. All statistics removed.",
        ))
    }
}

impl CommandHandler for StatisticRemoveAll {
    fn handle(&self, command: Command) -> HandlerFuture {
        // In-memory work: answered before the future is even polled.
        let result = self.apply(command.arguments.as_ref());
        Box::pin(std::future::ready(result))
    }
}
