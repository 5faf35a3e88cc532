//! The `statistic-*` control commands of Kea 2.2 (`StatsMgr::statistic*Handler`), one file per
//! command, registered by [`register_statistics_commands`].
//!
//! Argument checks and texts are Kea's, verified against a running `kea-dhcp4` 2.2 (see
//! `tests/kea_statistics.rs`). Where Kea lets a C++ exception escape (a non-map `arguments`, a
//! non-integer `duration`), its answer is `Error during command processing: <exception text>`
//! with the JSON position of the offending element; Nestor gives the same prefix and text
//! without the position (the command was parsed by then, positions are gone). Where Kea accepts
//! a value that breaks it, Nestor refuses it with a result-1 answer: a per-statistic
//! `max-samples` of 0 (Kea empties the history, and every later `statistic-get` of it answers
//! `Observation storage container empty`), a negative `max-samples` (Kea wraps it to 2^32 - 1)
//! and a negative `duration` (kea-dhcp4 2.2 aborts: verified, the process dies).

mod get;
mod get_all;
mod remove;
mod remove_all;
mod reset;
mod reset_all;
mod sample_age_set;
mod sample_age_set_all;
mod sample_count_set;
mod sample_count_set_all;

use std::num::NonZeroU32;
use std::time::Duration;

use nestor_ctrl::{Answer, CommandRegistry, HandlerError, RegistryError};
use serde_json::{Map, Value};

use super::Stats;

/// The names of the commands [`register_statistics_commands`] registers, sorted.
pub const STATISTICS_COMMANDS: [&str; 10] = [
    "statistic-get",
    "statistic-get-all",
    "statistic-remove",
    "statistic-remove-all",
    "statistic-reset",
    "statistic-reset-all",
    "statistic-sample-age-set",
    "statistic-sample-age-set-all",
    "statistic-sample-count-set",
    "statistic-sample-count-set-all",
];

/// Registers the ten `statistic-*` commands on `registry`, all working on `stats`.
///
/// `statistic-sample-count-set-all` and `statistic-sample-age-set-all` also change the defaults
/// for statistics created later; Kea additionally writes them into the running configuration
/// (`config-get` shows them): the server reads them back with [`Stats::default_limits`].
pub fn register_statistics_commands(
    registry: &CommandRegistry,
    stats: &Stats,
) -> Result<(), RegistryError> {
    registry.register("statistic-get", get::StatisticGet::new(stats))?;
    registry.register("statistic-get-all", get_all::StatisticGetAll::new(stats))?;
    registry.register("statistic-remove", remove::StatisticRemove::new(stats))?;
    registry.register(
        "statistic-remove-all",
        remove_all::StatisticRemoveAll::new(stats),
    )?;
    registry.register("statistic-reset", reset::StatisticReset::new(stats))?;
    registry.register(
        "statistic-reset-all",
        reset_all::StatisticResetAll::new(stats),
    )?;
    registry.register(
        "statistic-sample-age-set",
        sample_age_set::StatisticSampleAgeSet::new(stats),
    )?;
    registry.register(
        "statistic-sample-age-set-all",
        sample_age_set_all::StatisticSampleAgeSetAll::new(stats),
    )?;
    registry.register(
        "statistic-sample-count-set",
        sample_count_set::StatisticSampleCountSet::new(stats),
    )?;
    registry.register(
        "statistic-sample-count-set-all",
        sample_count_set_all::StatisticSampleCountSetAll::new(stats),
    )?;
    Ok(())
}

/// What an argument check answers: a result-1 answer with Kea's text, or a processing error
/// (Kea's escaped exception).
#[derive(Debug)]
enum ArgError {
    Answer(&'static str),
    Text(String),
    Exception(&'static str),
}

impl ArgError {
    fn into_result(self) -> Result<Answer, HandlerError> {
        match self {
            Self::Answer(text) => Ok(Answer::error(text)),
            Self::Text(text) => Ok(Answer::error(text)),
            Self::Exception(text) => Err(HandlerError::new(text)),
        }
    }
}

/// The arguments as a map, or `None` when absent (Kea's null `params`).
fn arguments_map(arguments: Option<&Value>) -> Result<Option<&Map<String, Value>>, ArgError> {
    match arguments {
        None => Ok(None),
        Some(Value::Object(map)) => Ok(Some(map)),
        // Kea calls `params->get("...")` on whatever it got.
        Some(_) => Err(ArgError::Exception(
            "get(string) called on a non-map Element",
        )),
    }
}

/// Kea's `StatsMgr::getStatName`.
fn stat_name(arguments: Option<&Value>) -> Result<String, ArgError> {
    const MISSING: &str = "Missing mandatory 'name' parameter.";
    let map = arguments_map(arguments)?.ok_or(ArgError::Answer(MISSING))?;
    match map.get("name") {
        None => Err(ArgError::Answer(MISSING)),
        Some(Value::String(name)) => Ok(name.clone()),
        Some(_) => Err(ArgError::Answer(
            "'name' parameter expected to be a string.",
        )),
    }
}

/// Kea's `StatsMgr::getStatMaxSamples`, refusing 0 (Kea's `-all` text) and values that do not
/// fit Kea's `uint32_t`.
fn max_samples(arguments: Option<&Value>) -> Result<NonZeroU32, ArgError> {
    const MISSING: &str = "Missing mandatory 'max-samples' parameter.";
    let map = arguments_map(arguments)?.ok_or(ArgError::Answer(MISSING))?;
    let value = map.get("max-samples").ok_or(ArgError::Answer(MISSING))?;
    let Some(number) = value
        .as_i64()
        .map(i128::from)
        .or_else(|| value.as_u64().map(i128::from))
    else {
        return Err(ArgError::Answer(
            "'max-samples' parameter expected to be an integer.",
        ));
    };
    if number == 0 {
        return Err(ArgError::Answer("'max-samples' parameter must not be zero"));
    }
    u32::try_from(number)
        .ok()
        .and_then(NonZeroU32::new)
        .ok_or_else(|| {
            ArgError::Text(format!(
                "'max-samples' parameter must be between 1 and {}, got {value}",
                u32::MAX
            ))
        })
}

/// Kea's `StatsMgr::getStatDuration` (seconds), refusing negative values.
fn duration(arguments: Option<&Value>) -> Result<Duration, ArgError> {
    const MISSING: &str = "Missing mandatory 'duration' parameter.";
    let map = arguments_map(arguments)?.ok_or(ArgError::Answer(MISSING))?;
    let value = map.get("duration").ok_or(ArgError::Answer(MISSING))?;
    if let Some(secs) = value.as_u64() {
        return Ok(Duration::from_secs(secs));
    }
    if value.as_i64().is_some() {
        return Err(ArgError::Answer(
            "'duration' parameter must not be negative",
        ));
    }
    Err(ArgError::Exception(
        "intValue() called on non-integer Element",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::TestClock;
    use serde_json::json;
    use std::sync::Arc;

    fn setup() -> (CommandRegistry, Stats) {
        let stats = Stats::new(Arc::new(TestClock::new(1_795_636_612_000_000)));
        let registry = CommandRegistry::new();
        register_statistics_commands(&registry, &stats).unwrap();
        (registry, stats)
    }

    async fn run(registry: &CommandRegistry, command: Value) -> Value {
        registry.process(command).await.to_value()
    }

    #[tokio::test(start_paused = true)]
    async fn all_ten_are_registered() {
        let (registry, _stats) = setup();
        for name in STATISTICS_COMMANDS {
            assert!(registry.contains(name), "{name}");
        }
        let mut sorted = STATISTICS_COMMANDS;
        sorted.sort_unstable();
        assert_eq!(sorted, STATISTICS_COMMANDS);
    }

    #[tokio::test(start_paused = true)]
    async fn get_and_get_all_shapes() {
        let (registry, stats) = setup();
        stats.set("pkt4-received", 0);
        stats.set("a", 4);
        assert_eq!(
            run(
                &registry,
                json!({"command": "statistic-get", "arguments": {"name": "pkt4-received"}})
            )
            .await,
            json!({"arguments": {"pkt4-received": [[0, "2026-11-25 19:56:52.000000"]]}, "result": 0})
        );
        assert_eq!(
            run(
                &registry,
                json!({"command": "statistic-get", "arguments": {"name": "nope"}})
            )
            .await,
            json!({"arguments": {}, "result": 0})
        );
        let all = registry
            .process(json!({"command": "statistic-get-all", "arguments": "ignored"}))
            .await;
        assert_eq!(
            all.to_kea_json(),
            r#"{ "arguments": { "a": [ [ 4, "2026-11-25 19:56:52.000000" ] ], "pkt4-received": [ [ 0, "2026-11-25 19:56:52.000000" ] ] }, "result": 0 }"#
        );
    }

    #[tokio::test(start_paused = true)]
    async fn name_checks_are_keas() {
        let (registry, _stats) = setup();
        for command in ["statistic-get", "statistic-reset", "statistic-remove"] {
            for arguments in [None, Some(json!({}))] {
                let mut cmd = json!({"command": command});
                if let Some(arguments) = arguments {
                    cmd["arguments"] = arguments;
                }
                assert_eq!(
                    run(&registry, cmd).await,
                    json!({"result": 1, "text": "Missing mandatory 'name' parameter."})
                );
            }
            assert_eq!(
                run(
                    &registry,
                    json!({"command": command, "arguments": {"name": 5}})
                )
                .await,
                json!({"result": 1, "text": "'name' parameter expected to be a string."})
            );
            assert_eq!(
                run(&registry, json!({"command": command, "arguments": [1]})).await,
                json!({"result": 1, "text": "Error during command processing: get(string) called on a non-map Element"})
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn reset_remove_texts() {
        let (registry, stats) = setup();
        stats.set("pkt4-received", 5);
        assert_eq!(
            run(
                &registry,
                json!({"command": "statistic-reset", "arguments": {"name": "pkt4-received"}})
            )
            .await,
            json!({"result": 0, "text": "Statistic 'pkt4-received' reset."})
        );
        assert_eq!(stats.value("pkt4-received"), Some(0));
        assert_eq!(
            run(
                &registry,
                json!({"command": "statistic-reset", "arguments": {"name": "nope"}})
            )
            .await,
            json!({"result": 1, "text": "No 'nope' statistic found"})
        );
        assert_eq!(
            run(
                &registry,
                json!({"command": "statistic-remove", "arguments": {"name": "pkt4-received"}})
            )
            .await,
            json!({"result": 0, "text": "Statistic 'pkt4-received' removed."})
        );
        assert_eq!(
            run(
                &registry,
                json!({"command": "statistic-remove", "arguments": {"name": "pkt4-received"}})
            )
            .await,
            json!({"result": 1, "text": "No 'pkt4-received' statistic found"})
        );
        stats.set("x", 1);
        assert_eq!(
            run(
                &registry,
                json!({"command": "statistic-reset-all", "arguments": [1]})
            )
            .await,
            json!({"result": 0, "text": "All statistics reset to neutral values."})
        );
        assert_eq!(stats.value("x"), Some(0));
        assert_eq!(
            run(&registry, json!({"command": "statistic-remove-all"})).await,
            json!({"result": 0, "text": "Warning: statistic-remove-all command is deprecated. All statistics removed."})
        );
        assert!(stats.names().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn sample_limit_texts() {
        let (registry, stats) = setup();
        stats.set("pkt4-received", 1);
        let cases = [
            (
                json!({"command": "statistic-sample-count-set", "arguments": {"name": "pkt4-received", "max-samples": 2}}),
                json!({"result": 0, "text": "Statistic 'pkt4-received' count limit is set."}),
            ),
            (
                json!({"command": "statistic-sample-count-set", "arguments": {"name": "nope", "max-samples": 2}}),
                json!({"result": 1, "text": "No 'nope' statistic found"}),
            ),
            (
                json!({"command": "statistic-sample-count-set", "arguments": {"name": "pkt4-received"}}),
                json!({"result": 1, "text": "Missing mandatory 'max-samples' parameter."}),
            ),
            (
                json!({"command": "statistic-sample-count-set", "arguments": {"name": "pkt4-received", "max-samples": "2"}}),
                json!({"result": 1, "text": "'max-samples' parameter expected to be an integer."}),
            ),
            (
                json!({"command": "statistic-sample-count-set", "arguments": {"max-samples": 2}}),
                json!({"result": 1, "text": "Missing mandatory 'name' parameter."}),
            ),
            (
                json!({"command": "statistic-sample-count-set", "arguments": {"name": "pkt4-received", "max-samples": 0}}),
                json!({"result": 1, "text": "'max-samples' parameter must not be zero"}),
            ),
            (
                json!({"command": "statistic-sample-count-set", "arguments": {"name": "pkt4-received", "max-samples": -1}}),
                json!({"result": 1, "text": "'max-samples' parameter must be between 1 and 4294967295, got -1"}),
            ),
            (
                json!({"command": "statistic-sample-count-set-all", "arguments": {"max-samples": 0}}),
                json!({"result": 1, "text": "'max-samples' parameter must not be zero"}),
            ),
            (
                json!({"command": "statistic-sample-count-set-all", "arguments": {}}),
                json!({"result": 1, "text": "Missing mandatory 'max-samples' parameter."}),
            ),
            (
                json!({"command": "statistic-sample-count-set-all"}),
                json!({"result": 1, "text": "Missing mandatory 'max-samples' parameter."}),
            ),
            (
                json!({"command": "statistic-sample-count-set-all", "arguments": {"max-samples": "x"}}),
                json!({"result": 1, "text": "'max-samples' parameter expected to be an integer."}),
            ),
            (
                json!({"command": "statistic-sample-count-set-all", "arguments": {"max-samples": 3}}),
                json!({"result": 0, "text": "All statistics count limit are set."}),
            ),
            (
                json!({"command": "statistic-sample-age-set", "arguments": {"name": "pkt4-received"}}),
                json!({"result": 1, "text": "Missing mandatory 'duration' parameter."}),
            ),
            (
                json!({"command": "statistic-sample-age-set", "arguments": {"name": "pkt4-received", "duration": "x"}}),
                json!({"result": 1, "text": "Error during command processing: intValue() called on non-integer Element"}),
            ),
            (
                json!({"command": "statistic-sample-age-set", "arguments": {"name": "pkt4-received", "duration": -5}}),
                json!({"result": 1, "text": "'duration' parameter must not be negative"}),
            ),
            (
                json!({"command": "statistic-sample-age-set", "arguments": {"name": "nope", "duration": 5}}),
                json!({"result": 1, "text": "No 'nope' statistic found"}),
            ),
            (
                json!({"command": "statistic-sample-age-set", "arguments": {"name": "pkt4-received", "duration": 5}}),
                json!({"result": 0, "text": "Statistic 'pkt4-received' duration limit is set."}),
            ),
            (
                json!({"command": "statistic-sample-age-set-all", "arguments": {}}),
                json!({"result": 1, "text": "Missing mandatory 'duration' parameter."}),
            ),
            (
                json!({"command": "statistic-sample-age-set-all", "arguments": {"duration": "x"}}),
                json!({"result": 1, "text": "Error during command processing: intValue() called on non-integer Element"}),
            ),
            (
                json!({"command": "statistic-sample-age-set-all", "arguments": {"duration": 7}}),
                json!({"result": 0, "text": "All statistics duration limit are set."}),
            ),
        ];
        for (command, expected) in cases {
            assert_eq!(run(&registry, command.clone()).await, expected, "{command}");
        }
        assert_eq!(stats.default_limits(), (0, 7));
    }
}
