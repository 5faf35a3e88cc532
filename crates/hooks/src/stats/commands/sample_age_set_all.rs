//! `statistic-sample-age-set-all {"duration": S}`: every statistic, and those created later, keep
//! the samples within S seconds of their newest one.

use nestor_ctrl::{Answer, Command, CommandHandler, HandlerError, HandlerFuture};
use serde_json::Value;

use crate::stats::Stats;

pub(super) struct StatisticSampleAgeSetAll {
    stats: Stats,
}

impl StatisticSampleAgeSetAll {
    pub(super) fn new(stats: &Stats) -> Self {
        Self {
            stats: stats.clone(),
        }
    }

    fn apply(&self, arguments: Option<&Value>) -> Result<Answer, HandlerError> {
        let age = match super::duration(arguments) {
            Ok(age) => age,
            Err(err) => return err.into_result(),
        };
        self.stats.set_sample_age_all(age);
        Ok(Answer::success("All statistics duration limit are set."))
    }
}

impl CommandHandler for StatisticSampleAgeSetAll {
    fn handle(&self, command: Command) -> HandlerFuture {
        // In-memory work: answered before the future is even polled.
        let result = self.apply(command.arguments.as_ref());
        Box::pin(std::future::ready(result))
    }
}
