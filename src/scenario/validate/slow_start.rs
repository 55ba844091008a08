//! `balancer.slow_start`: Envoy's `slow_start_config`, a server entering rotation ramping
//! up its weight over a window. Only an algorithm that picks by weight can ramp a weight,
//! so with any other the table is an error rather than a silent no-op.

use toml::Spanned;

use super::checker::Checker;
use super::values::Bound;
use crate::balancer::Algorithm;
use crate::model::SlowStartSpec;
use crate::scenario::raw::{RawBalancer, RawSlowStart};

/// Envoy's default `aggression` (a linear ramp).
const DEFAULT_AGGRESSION: f64 = 1.0;

/// Envoy's default `min_weight_percent`.
const DEFAULT_MIN_WEIGHT_PERCENT: f64 = 10.0;

/// Whether slow start can change what `algorithm` does: it must pick by weight, and not
/// by hashing, where a weight places a server's points or table entries once (Envoy
/// offers slow start to its round-robin and least-request balancers only, never to
/// ring hash or Maglev).
fn ramps(algorithm: Algorithm) -> bool {
    algorithm.uses_weights() && !algorithm.hashes_keys()
}

impl Checker<'_> {
    /// The slow-start spec (`Some(None)` when `balancer.slow_start` is absent), or `None`
    /// after an error. `algorithm` is the balancer's, `None` when that is in error.
    pub(super) fn slow_start(
        &mut self,
        balancer: Option<&Spanned<RawBalancer>>,
        algorithm: Option<Algorithm>,
    ) -> Option<Option<SlowStartSpec>> {
        let Some(table) = balancer.and_then(|b| b.get_ref().slow_start.as_ref()) else {
            return Some(None);
        };
        let raw: &RawSlowStart = table.get_ref();
        let path = "balancer.slow_start";
        if let Some(algorithm) = algorithm
            && !ramps(algorithm)
        {
            let valid: Vec<String> = Algorithm::ALL
                .into_iter()
                .filter(|a| ramps(*a))
                .map(|a| format!("{:?}", a.name()))
                .collect();
            self.error(
                table.span().start,
                path,
                format!(
                    "slow start changes weights, which {:?} does not use: use one of {}",
                    algorithm.name(),
                    valid.join(", ")
                ),
            );
        }
        let window = match &raw.window {
            None => {
                self.error(
                    table.span().start,
                    &format!("{path}.window"),
                    "missing: expected how long a new server's weight ramps up, like \"60s\"",
                );
                None
            }
            Some(window) => self.positive_duration(window, &format!("{path}.window")),
        };
        let aggression = match &raw.aggression {
            None => Some(DEFAULT_AGGRESSION),
            Some(aggression) => {
                self.number(aggression, &format!("{path}.aggression"), Bound::Positive)
            }
        };
        let min_weight_percent = match &raw.min_weight_percent {
            None => Some(DEFAULT_MIN_WEIGHT_PERCENT),
            Some(percent) => self.number(
                percent,
                &format!("{path}.min_weight_percent"),
                Bound::Percent,
            ),
        };
        let spec = SlowStartSpec {
            window: window?,
            aggression: aggression?,
            min_weight: min_weight_percent? / 100.0,
        };
        algorithm.filter(|a| ramps(*a))?;
        Some(Some(spec))
    }
}

#[cfg(test)]
pub(super) mod tests {
    use crate::engine::SimDuration;
    use crate::model::SlowStartSpec;
    use crate::scenario::validate::testing::{MINIMAL, assert_bad_fixtures, error, valid};

    /// Each fixture under tests/fixtures/bad for this section, the location and key path
    /// of its one error, and a fragment of its message.
    pub(in crate::scenario::validate) const BAD: &[(&str, &str, &str)] = &[(
        "slow_start_with_round_robin",
        "13:14: balancer.slow_start: ",
        "slow start changes weights, which \"round-robin\" does not use: use one of \
         \"weighted-round-robin\", \"least-connections\", \"random\", \
         \"power-of-two-choices\", \"least-request\"",
    )];

    #[test]
    fn every_bad_slow_start_fixture_is_one_located_error() {
        assert_bad_fixtures(BAD);
    }

    fn source(algorithm: &str, table: &str) -> String {
        format!("{MINIMAL}[balancer]\nalgorithm = \"{algorithm}\"\nslow_start = {table}\n")
    }

    #[test]
    fn only_the_window_is_required_and_the_rest_are_envoys_defaults() {
        let read = valid(&source("least-request", "{ window = \"30s\" }")).variants[0]
            .run
            .slow_start;
        assert_eq!(
            read,
            Some(SlowStartSpec {
                window: SimDuration::from_secs(30),
                aggression: 1.0,
                min_weight: 0.1,
            })
        );
        assert_eq!(valid(MINIMAL).variants[0].run.slow_start, None);
    }

    #[test]
    fn every_key_is_read() {
        let table = "{ window = \"2m\", aggression = 2.5, min_weight_percent = 0 }";
        let read = valid(&source("weighted-round-robin", table)).variants[0]
            .run
            .slow_start;
        assert_eq!(
            read,
            Some(SlowStartSpec {
                window: SimDuration::from_secs(120),
                aggression: 2.5,
                min_weight: 0.0,
            })
        );
    }

    #[test]
    fn bad_values_are_located_errors() {
        let cases = [
            (
                "{ aggression = 1 }",
                "balancer.slow_start.window: missing: expected how long a new server's \
                 weight ramps up, like \"60s\"",
            ),
            (
                "{ window = \"0s\" }",
                "balancer.slow_start.window: expected a positive duration, found \"0s\"",
            ),
            (
                "{ window = \"1m\", aggression = 0 }",
                "balancer.slow_start.aggression: expected a positive number, found 0",
            ),
            (
                "{ window = \"1m\", min_weight_percent = 101 }",
                "balancer.slow_start.min_weight_percent: expected a percentage from 0 to \
                 100, found 101",
            ),
            (
                "{ window = \"1m\", agression = 2 }",
                "balancer.slow_start.agression: unknown key \"agression\", expected one of \
                 \"window\", \"aggression\", \"min_weight_percent\"; did you mean \
                 \"aggression\"?",
            ),
        ];
        for (table, message) in cases {
            let error = error(&source("random", table));
            assert!(error.starts_with("x.toml:9:"), "{error}");
            assert!(error.ends_with(message), "{error}\nexpected {message}");
        }
    }

    #[test]
    fn a_hashing_algorithm_cannot_ramp_a_weight() {
        let error = error(&source("maglev", "{ window = \"1m\" }"));
        assert!(
            error.contains("slow start changes weights, which \"maglev\" does not use"),
            "{error}"
        );
    }
}
