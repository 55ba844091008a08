//! `[autoscaler]`: which group it scales and within what bounds, how often and how late it
//! sees its metrics, how long a new instance takes to be provisioned, which instance a
//! scale-in removes, and its policy (the policy tables are scaling_policy.rs's). Every
//! policy's table is checked whichever is selected; the selected one's must be there
//! unless all its keys have defaults (the threshold policy's).

use toml::Spanned;

use super::checker::Checker;
use super::servers::MAX_SERVERS;
use crate::engine::SimDuration;
use crate::model::{
    AutoscalerSpec, MetricsSpec, PolicySpec, ServerGroupSpec, ServiceDist, ThresholdSpec,
    VictimOrder,
};
use crate::scenario::raw::{Int, RawAutoscaler, RawMetrics};
use crate::scenario::suggest;

/// The policies, by the name a scenario gives them.
const POLICIES: [&str; 4] = ["threshold", "target-tracking", "step", "scheduled"];

/// The scale-in orders, by name.
const VICTIMS: [(&str, VictimOrder); 3] = [
    ("newest", VictimOrder::Newest),
    ("oldest", VictimOrder::Oldest),
    ("least-loaded", VictimOrder::LeastLoaded),
];

/// The seed's AutoScaler evaluates every 60 s.
const THRESHOLD_INTERVAL: SimDuration = SimDuration::from_secs(60);

/// The HPA's `--horizontal-pod-autoscaler-sync-period`, for the other policies.
const SYNC_PERIOD: SimDuration = SimDuration::from_secs(15);

/// AWS Auto Scaling's default cooldown, for the threshold policy: AWS applies a cooldown
/// to simple scaling only. Target tracking and step scaling "can initiate a scale-out
/// activity immediately without waiting for the cooldown period to end" (Amazon EC2 Auto
/// Scaling User Guide, "Scaling cooldowns"), and the HPA has none, so they default to no
/// cooldown; step scaling waits for instances to warm up instead.
const THRESHOLD_COOLDOWN: SimDuration = SimDuration::from_secs(300);

/// A CloudWatch-style one-minute average, seen at once.
const DEFAULT_METRICS: MetricsSpec = MetricsSpec {
    window: SimDuration::from_secs(60),
    delay: SimDuration::ZERO,
};

impl Checker<'_> {
    /// The autoscaler spec (`Some(None)` when the section is absent), or `None` after an
    /// error. `groups` and `duration` are `None` when their own checks failed.
    pub(super) fn autoscaler(
        &mut self,
        raw: Option<&Spanned<RawAutoscaler>>,
        groups: Option<&[ServerGroupSpec]>,
        duration: Option<SimDuration>,
    ) -> Option<Option<AutoscalerSpec>> {
        let Some(table) = raw else {
            return Some(None);
        };
        let offset = table.span().start;
        let raw = table.get_ref();
        let group = self.scaled_group(raw, groups);
        let policy_name = match &raw.policy {
            None => {
                self.error(
                    offset,
                    "autoscaler.policy",
                    format!("missing: {}", suggest::expected_one_of("", &POLICIES)),
                );
                None
            }
            Some(name) => self.choice(name, "autoscaler.policy", "policy", &POLICIES, |n| {
                POLICIES.into_iter().find(|p| *p == n)
            }),
        };
        let min = self.capacity_bound(raw.min.as_ref(), "min", Some(1));
        let max = match &raw.max {
            None => {
                self.error(
                    offset,
                    "autoscaler.max",
                    "missing: expected the most instances the group may scale out to",
                );
                None
            }
            max => self.capacity_bound(max.as_ref(), "max", None),
        };
        let bounds = self.capacity_bounds(raw, min, max, group.zip(groups));
        let interval = match &raw.interval {
            None => Some(match policy_name {
                Some("threshold") => THRESHOLD_INTERVAL,
                _ => SYNC_PERIOD,
            }),
            Some(interval) => self.positive_duration(interval, "autoscaler.interval"),
        };
        let cooldown = match &raw.cooldown {
            None => Some(match policy_name {
                Some("threshold") => THRESHOLD_COOLDOWN,
                _ => SimDuration::ZERO,
            }),
            Some(cooldown) => self.duration(cooldown, "autoscaler.cooldown"),
        };
        let metrics = match &raw.metrics {
            None => Some(DEFAULT_METRICS),
            Some(metrics) => self.metrics(metrics.get_ref()),
        };
        let provisioning = match &raw.provisioning {
            None => Some(ServiceDist::Constant {
                mean: SimDuration::ZERO,
            }),
            Some(dist) => self.service_at(dist, "autoscaler.provisioning"),
        };
        let victim = match &raw.victim {
            None => Some(VictimOrder::Newest),
            Some(name) => {
                let names = VICTIMS.map(|(name, _)| name);
                self.choice(name, "autoscaler.victim", "victim order", &names, |n| {
                    VICTIMS.into_iter().find(|(v, _)| *v == n).map(|(_, v)| v)
                })
            }
        };
        let policy = self.policy(raw, policy_name, bounds, duration);
        let (min, max) = bounds?;
        Some(Some(AutoscalerSpec {
            group: group?,
            min,
            max,
            interval: interval?,
            cooldown: cooldown?,
            policy: policy?,
            metrics: metrics?,
            provisioning: provisioning?,
            victim: victim?,
        }))
    }

    /// `autoscaler.group`: the index of the `[[servers]]` group it names, the first by
    /// default.
    fn scaled_group(
        &mut self,
        raw: &RawAutoscaler,
        groups: Option<&[ServerGroupSpec]>,
    ) -> Option<usize> {
        match &raw.group {
            None => Some(0),
            Some(name) => self.group_named(name, "autoscaler.group", groups),
        }
    }

    /// `min` or `max`: a capacity from 1 to the fleet's limit; `default` when absent.
    fn capacity_bound(
        &mut self,
        value: Option<&Spanned<Int>>,
        key: &str,
        default: Option<u32>,
    ) -> Option<u32> {
        match value {
            None => default,
            Some(value) => self
                .integer(
                    value,
                    &format!("autoscaler.{key}"),
                    1,
                    i128::from(MAX_SERVERS),
                )
                .and_then(|n| u32::try_from(n).ok()),
        }
    }

    /// `min` at most `max`, and the scaled group's starting `count` within them;
    /// `scaled` is the group's index and the groups, when known.
    fn capacity_bounds(
        &mut self,
        raw: &RawAutoscaler,
        min: Option<u32>,
        max: Option<u32>,
        scaled: Option<(usize, &[ServerGroupSpec])>,
    ) -> Option<(u32, u32)> {
        let (min, max) = (min?, max?);
        let at = |value: &Option<Spanned<Int>>| value.as_ref().map_or(0, |v| v.span().start);
        if min > max {
            self.error(
                at(&raw.min),
                "autoscaler.min",
                format!("expected min at most max ({max}), found {min}"),
            );
            return None;
        }
        let (index, groups) = scaled?;
        let group = groups.get(index)?;
        let count = group.count;
        let (key, offset, bound, side) = if count < min {
            ("min", at(&raw.min), min, "below")
        } else if count > max {
            ("max", at(&raw.max), max, "above")
        } else {
            return Some((min, max));
        };
        self.error(
            offset,
            &format!("autoscaler.{key}"),
            format!(
                "servers[{index}] ({:?}) starts with count = {count}, {side} {key} = {bound}: \
                 the group must start within [min, max]",
                group.name
            ),
        );
        None
    }

    /// `autoscaler.metrics`.
    fn metrics(&mut self, raw: &RawMetrics) -> Option<MetricsSpec> {
        let window = match &raw.window {
            None => Some(DEFAULT_METRICS.window),
            Some(window) => self.positive_duration(window, "autoscaler.metrics.window"),
        };
        let delay = match &raw.delay {
            None => Some(DEFAULT_METRICS.delay),
            Some(delay) => self.duration(delay, "autoscaler.metrics.delay"),
        };
        Some(MetricsSpec {
            window: window?,
            delay: delay?,
        })
    }

    /// The selected policy (`name`, `None` when in error) from its table; every policy
    /// table present is checked.
    fn policy(
        &mut self,
        raw: &RawAutoscaler,
        name: Option<&str>,
        bounds: Option<(u32, u32)>,
        duration: Option<SimDuration>,
    ) -> Option<PolicySpec> {
        let threshold = raw.threshold.as_ref().map(|t| self.threshold(t.get_ref()));
        let target_tracking = raw
            .target_tracking
            .as_ref()
            .map(|t| self.target_tracking(t.get_ref(), t.span().start));
        let step = raw
            .step
            .as_ref()
            .map(|t| self.step_scaling(t.get_ref(), t.span().start));
        let schedule = raw.schedule.as_ref().map(|list| {
            (
                list.span().start,
                self.schedule(list.get_ref(), bounds, duration),
            )
        });
        let name = name?;
        let offset = raw.policy.as_ref().map_or(0, |p| p.span().start);
        let needs = |checker: &mut Self, table: &str| {
            checker.error(
                offset,
                &format!("autoscaler.{table}"),
                format!("missing: policy {name:?} needs [autoscaler.{table}]"),
            );
            None
        };
        match name {
            "threshold" => threshold
                .unwrap_or(Some(ThresholdSpec::SEED))
                .map(PolicySpec::Threshold),
            "target-tracking" => match target_tracking {
                Some(spec) => spec.map(PolicySpec::TargetTracking),
                None => needs(self, "target_tracking"),
            },
            "step" => match step {
                Some(spec) => spec.map(PolicySpec::Step),
                None => needs(self, "step"),
            },
            _ => match schedule {
                Some((_, actions)) if !actions.as_ref().is_some_and(Vec::is_empty) => {
                    actions.map(PolicySpec::Scheduled)
                }
                Some((list_offset, _)) => {
                    self.error(
                        list_offset,
                        "autoscaler.schedule",
                        "policy \"scheduled\" needs at least one [[autoscaler.schedule]] action",
                    );
                    None
                }
                None => {
                    self.error(
                        offset,
                        "autoscaler.schedule",
                        "missing: policy \"scheduled\" needs at least one \
                         [[autoscaler.schedule]] action",
                    );
                    None
                }
            },
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use crate::engine::SimDuration;
    use crate::model::{AutoscalerSpec, PolicySpec, ServiceDist, ThresholdSpec, VictimOrder};
    use crate::scenario::validate::testing::{MINIMAL, assert_bad_fixtures, error, errors, valid};

    /// Each fixture under tests/fixtures/bad for this section, the location and key path
    /// of its one error, and a fragment of its message.
    pub(in crate::scenario::validate) const BAD: &[(&str, &str, &str)] = &[
        (
            "autoscaler_min_above_max",
            "13:7: autoscaler.min: ",
            "expected min at most max (5), found 8",
        ),
        (
            "autoscaler_negative_cooldown",
            "14:12: autoscaler.cooldown: ",
            "expected a non-negative duration, found \"-30s\"",
        ),
        (
            "autoscaler_unknown_metric",
            "16:10: autoscaler.target_tracking.metric: ",
            "unknown metric \"request_rate\", expected one of \"cpu\", \"memory\", \
             \"request-rate\", \"response-time\", \"queue-length\"; did you mean \
             \"request-rate\"?",
        ),
        (
            "autoscaler_zero_target",
            "17:10: autoscaler.target_tracking.target: ",
            "expected a positive number, found 0",
        ),
        (
            "autoscaler_unknown_policy",
            "12:10: autoscaler.policy: ",
            "unknown policy \"target-traking\", expected one of \"threshold\", \
             \"target-tracking\", \"step\", \"scheduled\"; did you mean \"target-tracking\"?",
        ),
        (
            "autoscaler_unknown_victim",
            "14:10: autoscaler.victim: ",
            "unknown victim order \"youngest\", expected one of \"newest\", \"oldest\", \
             \"least-loaded\"",
        ),
        (
            "autoscaler_overlapping_steps",
            "20:3: autoscaler.step.steps[2]: ",
            "the band [0.85, 0.95) overlaps steps[0]'s [0.7, 0.9)",
        ),
        (
            "autoscaler_schedule_past_duration",
            "20:6: autoscaler.schedule[1].at: ",
            "expected a time before the run's end (600s), found \"12m\"",
        ),
        (
            "autoscaler_count_outside_bounds",
            "13:7: autoscaler.min: ",
            "servers[0] (\"web\") starts with count = 2, below min = 3: the group must \
             start within [min, max]",
        ),
        (
            "autoscaler_unknown_group",
            "12:9: autoscaler.group: ",
            "unknown group \"wbe\", expected \"web\"; did you mean \"web\"?",
        ),
    ];

    #[test]
    fn every_bad_autoscaler_fixture_is_one_located_error() {
        assert_bad_fixtures(BAD);
    }

    /// MINIMAL (two servers) with an `[autoscaler]` of these lines.
    fn source(lines: &str) -> String {
        format!("{MINIMAL}[autoscaler]\n{lines}\n")
    }

    fn spec(lines: &str) -> AutoscalerSpec {
        valid(&source(lines)).variants[0]
            .run
            .autoscaler
            .clone()
            .expect("an autoscaler")
    }

    #[test]
    fn the_threshold_policy_needs_no_table_and_the_rest_has_defaults() {
        assert_eq!(
            spec("policy = \"threshold\"\nmax = 4"),
            AutoscalerSpec {
                group: 0,
                min: 1,
                max: 4,
                interval: SimDuration::from_secs(60),
                cooldown: SimDuration::from_secs(300),
                policy: PolicySpec::Threshold(ThresholdSpec::SEED),
                metrics: crate::model::MetricsSpec {
                    window: SimDuration::from_secs(60),
                    delay: SimDuration::ZERO,
                },
                provisioning: ServiceDist::Constant {
                    mean: SimDuration::ZERO
                },
                victim: VictimOrder::Newest,
            }
        );
        assert_eq!(valid(MINIMAL).variants[0].run.autoscaler, None);
    }

    #[test]
    fn only_the_threshold_policy_has_a_cooldown_by_default() {
        let tracking = spec(
            "policy = \"target-tracking\"\nmax = 4\n[autoscaler.target_tracking]\n\
             metric = \"cpu\"\ntarget = 0.6",
        );
        assert_eq!(tracking.cooldown, SimDuration::ZERO);
        let step = spec(
            "policy = \"step\"\nmax = 4\n[autoscaler.step]\nmetric = \"cpu\"\n\
             steps = [{ from = 0.7, change = 1 }]",
        );
        assert_eq!(step.cooldown, SimDuration::ZERO);
        let explicit = spec(
            "policy = \"step\"\nmax = 4\ncooldown = \"60s\"\n[autoscaler.step]\n\
             metric = \"cpu\"\nsteps = [{ from = 0.7, change = 1 }]",
        );
        assert_eq!(explicit.cooldown, SimDuration::from_secs(60));
    }

    #[test]
    fn the_group_is_found_by_name_and_bounds_its_count() {
        let source = format!(
            "{MINIMAL}[[servers]]\nname = \"api\"\ncount = 3\n[autoscaler]\ngroup = \"api\"\n\
             policy = \"threshold\"\nmin = 3\nmax = 3\ncooldown = \"0s\"\ninterval = \"5s\"\n\
             victim = \"least-loaded\"\n"
        );
        let read = valid(&source).variants[0].run.autoscaler.clone();
        let read = read.expect("an autoscaler");
        assert_eq!((read.group, read.min, read.max), (1, 3, 3));
        assert_eq!(read.cooldown, SimDuration::ZERO);
        assert_eq!(read.interval, SimDuration::from_secs(5));
        assert_eq!(read.victim, VictimOrder::LeastLoaded);
    }

    #[test]
    fn a_sweep_over_the_policy_keeps_the_unused_tables() {
        let source = format!(
            "{}[autoscaler.target_tracking]\nmetric = \"cpu\"\ntarget = 0.6\n[sweep]\n\
             \"autoscaler.policy\" = [\"threshold\", \"target-tracking\"]\n",
            source("policy = \"step\"\nmax = 8")
        );
        let scenario = valid(&source);
        let policies: Vec<&str> = scenario
            .variants
            .iter()
            .map(|v| {
                v.run
                    .autoscaler
                    .as_ref()
                    .expect("an autoscaler")
                    .policy
                    .name()
            })
            .collect();
        assert_eq!(policies, ["threshold", "target-tracking"]);
        let labels: Vec<&str> = scenario.variants.iter().map(|v| v.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "autoscaler.policy=threshold",
                "autoscaler.policy=target-tracking"
            ]
        );
        // A mistake in a table the variant does not use is still an error.
        let bad = source.replace("target = 0.6", "target = 0");
        assert_eq!(errors(&bad).len(), 1, "{:#?}", errors(&bad));
    }

    #[test]
    fn a_selected_policy_without_its_table_is_an_error_at_the_policy() {
        for (policy, message) in [
            (
                "target-tracking",
                "autoscaler.target_tracking: missing: policy \"target-tracking\" needs \
                 [autoscaler.target_tracking]",
            ),
            (
                "step",
                "autoscaler.step: missing: policy \"step\" needs [autoscaler.step]",
            ),
            (
                "scheduled",
                "autoscaler.schedule: missing: policy \"scheduled\" needs at least one \
                 [[autoscaler.schedule]] action",
            ),
        ] {
            let error = error(&source(&format!("policy = \"{policy}\"\nmax = 4")));
            assert!(error.starts_with("x.toml:8:10: "), "{error}");
            assert!(error.ends_with(message), "{error}\nexpected {message}");
        }
    }

    #[test]
    fn bad_values_are_located_errors() {
        let cases = [
            (
                "max = 4",
                "autoscaler.policy: missing: expected one of \"threshold\"",
            ),
            (
                "policy = \"threshold\"",
                "autoscaler.max: missing: expected the most instances the group may scale \
                 out to",
            ),
            (
                "policy = \"threshold\"\nmax = 0",
                "autoscaler.max: expected a positive integer, found 0",
            ),
            (
                "policy = \"threshold\"\nmax = 2000000",
                "autoscaler.max: expected a positive integer of at most 1000000, found 2000000",
            ),
            (
                "policy = \"threshold\"\nmin = 0\nmax = 4",
                "autoscaler.min: expected a positive integer, found 0",
            ),
            (
                "policy = \"threshold\"\nmax = 1",
                "autoscaler.max: servers[0] (\"server\") starts with count = 2, above max = 1: \
                 the group must start within [min, max]",
            ),
            (
                "policy = \"threshold\"\nmax = 4\ninterval = \"0s\"",
                "autoscaler.interval: expected a positive duration, found \"0s\"",
            ),
            (
                "policy = \"threshold\"\nmax = 4\nmetrics = { window = \"0s\" }",
                "autoscaler.metrics.window: expected a positive duration, found \"0s\"",
            ),
            (
                "policy = \"threshold\"\nmax = 4\nmetrics = { delay = \"-1s\" }",
                "autoscaler.metrics.delay: expected a non-negative duration, found \"-1s\"",
            ),
            (
                "policy = \"threshold\"\nmax = 4\nprovisioning = { dist = \"constant\" }",
                "autoscaler.provisioning.mean: missing: \"constant\" needs mean",
            ),
            (
                "policy = \"threshold\"\nmax = 4\nmetrics = { windw = \"1m\" }",
                "autoscaler.metrics.windw: unknown key \"windw\", expected one of \"window\", \
                 \"delay\"; did you mean \"window\"?",
            ),
        ];
        for (lines, message) in cases {
            let error = error(&source(lines));
            assert!(error.contains(message), "{error}\nexpected {message}");
        }
    }

    #[test]
    fn provisioning_takes_any_service_distribution() {
        let read = spec(
            "policy = \"threshold\"\nmax = 4\n\
             provisioning = { dist = \"lognormal\", mean = \"40s\", cv = 0.5 }",
        );
        assert_eq!(
            read.provisioning,
            ServiceDist::LogNormal {
                mean: SimDuration::from_secs(40),
                cv: 0.5
            }
        );
    }
}
