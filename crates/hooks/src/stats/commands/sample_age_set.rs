//! `statistic-sample-age-set {"name": N, "duration": S}`: N keeps the samples within S seconds of
//! its newest one; its count limit is switched off.

use nestor_ctrl::{Answer, Command, CommandHandler, HandlerError, HandlerFuture};
use serde_json::Value;

use crate::stats::Stats;

pub(super) struct StatisticSampleAgeSet {
    stats: Stats,
}

impl StatisticSampleAgeSet {
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
        let age = match super::duration(arguments) {
            Ok(age) => age,
            Err(err) => return err.into_result(),
        };
        Ok(if self.stats.set_sample_age(&name, age) {
            Answer::success(format!("Statistic '{name}' duration limit is set."))
        } else {
            Answer::error(format!("No '{name}' statistic found"))
        })
    }
}

impl CommandHandler for StatisticSampleAgeSet {
    fn handle(&self, command: Command) -> HandlerFuture {
        // In-memory work: answered before the future is even polled.
        let result = self.apply(command.arguments.as_ref());
        Box::pin(std::future::ready(result))
    }
}
