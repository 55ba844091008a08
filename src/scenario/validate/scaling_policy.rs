//! The autoscaler's four policy tables: `[autoscaler.threshold]` (the seed's marks),
//! `[autoscaler.target_tracking]` (the Kubernetes HPA), `[autoscaler.step]` (AWS step
//! scaling) and `[[autoscaler.schedule]]` (AWS scheduled scaling), and the metric names
//! they read. Each table is checked whether or not its policy is the one selected, so
//! that a sweep over `autoscaler.policy` keeps them all and a mistake in one is found
//! before the variant that uses it.

use toml::Spanned;

use super::checker::Checker;
use super::servers::MAX_SERVERS;
use super::values::{Bound, seconds, show};
use crate::engine::SimDuration;
use crate::model::{
    Adjustment, Metric, RateLimit, ScheduledAction, Statistic, Step, StepSpec, TargetTrackingSpec,
    ThresholdSpec,
};
use crate::scenario::raw::{
    DurationText, Int, Number, RawRateLimit, RawScalingStep, RawScheduledAction, RawStepScaling,
    RawTargetTracking, RawThreshold,
};
use crate::scenario::suggest;

/// The metrics a policy may read, named as a scenario file names them ([`Metric::name`]);
/// the response time's statistic is given apart.
const METRICS: [Metric; 5] = [
    Metric::Cpu,
    Metric::Memory,
    Metric::RequestRate,
    Metric::ResponseTime(Statistic::Mean),
    Metric::QueueLength,
];

/// The largest capacity a policy may name: the whole fleet's limit.
const MAX_CAPACITY: i128 = MAX_SERVERS as i128;

impl Checker<'_> {
    /// `[autoscaler.threshold]`, the seed's marks where a key is absent.
    pub(super) fn threshold(&mut self, raw: &RawThreshold) -> Option<ThresholdSpec> {
        let seed = ThresholdSpec::SEED;
        let path = "autoscaler.threshold";
        let fraction = |checker: &mut Self, value: &Option<Spanned<Number>>, key, default| {
            value.as_ref().map_or(Some(default), |v| {
                checker.number(v, &format!("{path}.{key}"), Bound::Fraction)
            })
        };
        let time = |checker: &mut Self, value: &Option<Spanned<DurationText>>, key, default| {
            value.as_ref().map_or(Some(default), |v| {
                checker.duration(v, &format!("{path}.{key}"))
            })
        };
        let cpu_high = fraction(self, &raw.cpu_high, "cpu_high", seed.cpu_high);
        let cpu_low = fraction(self, &raw.cpu_low, "cpu_low", seed.cpu_low);
        let memory_high = fraction(self, &raw.memory_high, "memory_high", seed.memory_high);
        let memory_low = fraction(self, &raw.memory_low, "memory_low", seed.memory_low);
        let response_time_high = time(
            self,
            &raw.response_time_high,
            "response_time_high",
            seed.response_time_high,
        );
        let response_time_low = time(
            self,
            &raw.response_time_low,
            "response_time_low",
            seed.response_time_low,
        );
        let step = self.count(raw.step.as_ref(), &format!("{path}.step"), seed.step);
        let response_time = match &raw.response_time {
            None => Some(seed.response_time),
            Some(name) => self.statistic(name, &format!("{path}.response_time")),
        };
        // A low mark at or above its high mark would scale in and out by turns.
        let cpu_low = self.below(
            (cpu_low, raw.cpu_low.as_ref()),
            (cpu_high, raw.cpu_high.as_ref()),
            "cpu",
            show,
        );
        let memory_low = self.below(
            (memory_low, raw.memory_low.as_ref()),
            (memory_high, raw.memory_high.as_ref()),
            "memory",
            show,
        );
        let response_time_low = self.below(
            (response_time_low, raw.response_time_low.as_ref()),
            (response_time_high, raw.response_time_high.as_ref()),
            "response_time",
            |d| seconds(d.as_nanos()),
        );
        Some(ThresholdSpec {
            cpu_high: cpu_high?,
            memory_high: memory_high?,
            response_time_high: response_time_high?,
            cpu_low: cpu_low?,
            memory_low: memory_low?,
            response_time_low: response_time_low?,
            step: step?,
            response_time: response_time?,
        })
    }

    /// A threshold's low mark, which must be below its high mark: each a value (`None`
    /// when in error) and where it was written, if it was. A violation is reported at the
    /// low mark when it was written, otherwise at the high one (one of them was: the
    /// defaults are in order).
    fn below<T: PartialOrd + Copy, W>(
        &mut self,
        (low, low_written): (Option<T>, Option<&Spanned<W>>),
        (high, high_written): (Option<T>, Option<&Spanned<W>>),
        name: &str,
        display: impl Fn(T) -> String,
    ) -> Option<T> {
        let (low, high) = (low?, high?);
        if low < high {
            return Some(low);
        }
        let (low_text, high_text) = (display(low), display(high));
        let (offset, key, message) = match (low_written, high_written) {
            (None, Some(written)) => (
                written.span().start,
                "high",
                format!("expected {name}_high above {name}_low ({low_text}), found {high_text}"),
            ),
            (written, _) => (
                written.map_or(0, |w| w.span().start),
                "low",
                format!("expected {name}_low below {name}_high ({high_text}), found {low_text}"),
            ),
        };
        self.error(
            offset,
            &format!("autoscaler.threshold.{name}_{key}"),
            message,
        );
        None
    }

    /// `[autoscaler.target_tracking]`; `offset` is the table's, where a missing key is
    /// reported.
    pub(super) fn target_tracking(
        &mut self,
        raw: &RawTargetTracking,
        offset: usize,
    ) -> Option<TargetTrackingSpec> {
        let path = "autoscaler.target_tracking";
        let metric = self.policy_metric(raw.metric.as_ref(), raw.statistic.as_ref(), offset, path);
        let target = match &raw.target {
            None => {
                self.error(
                    offset,
                    &format!("{path}.target"),
                    "missing: expected the metric's target per instance, like 0.6",
                );
                None
            }
            Some(target) => {
                // A utilization cannot be tracked to more than all of it.
                let bound = match metric {
                    Some(Metric::Cpu | Metric::Memory) => Bound::PositiveFraction,
                    _ => Bound::Positive,
                };
                self.number(target, &format!("{path}.target"), bound)
            }
        };
        let tolerance = match &raw.tolerance {
            None => Some(TargetTrackingSpec::HPA_TOLERANCE),
            Some(tolerance) => self.number(
                tolerance,
                &format!("{path}.tolerance"),
                Bound::FractionBelowOne,
            ),
        };
        let scale_down_stabilization = match &raw.scale_down_stabilization {
            None => Some(TargetTrackingSpec::HPA_SCALE_DOWN_STABILIZATION),
            Some(window) => self.duration(window, &format!("{path}.scale_down_stabilization")),
        };
        let scale_up_stabilization = match &raw.scale_up_stabilization {
            None => Some(SimDuration::ZERO),
            Some(window) => self.duration(window, &format!("{path}.scale_up_stabilization")),
        };
        let scale_up_limit = self.rate_limit(
            raw.scale_up_limit.as_ref(),
            &format!("{path}.scale_up_limit"),
            TargetTrackingSpec::HPA_SCALE_UP,
        );
        let scale_down_limit = self.rate_limit(
            raw.scale_down_limit.as_ref(),
            &format!("{path}.scale_down_limit"),
            TargetTrackingSpec::HPA_SCALE_DOWN,
        );
        Some(TargetTrackingSpec {
            metric: metric?,
            target: target?,
            tolerance: tolerance?,
            scale_down_stabilization: scale_down_stabilization?,
            scale_up_stabilization: scale_up_stabilization?,
            scale_up_limit: scale_up_limit?,
            scale_down_limit: scale_down_limit?,
        })
    }

    /// A `scale_up_limit` or `scale_down_limit`: the HPA's default when absent; a table
    /// given names its own policies (at least one), with a period of 15 s unless it says.
    fn rate_limit(
        &mut self,
        raw: Option<&Spanned<RawRateLimit>>,
        path: &str,
        default: RateLimit,
    ) -> Option<RateLimit> {
        let Some(table) = raw else {
            return Some(default);
        };
        let raw = table.get_ref();
        let pods = match &raw.pods {
            None => Some(None),
            Some(pods) => self
                .integer(pods, &format!("{path}.pods"), 1, MAX_CAPACITY)
                .and_then(|n| u32::try_from(n).ok())
                .map(Some),
        };
        let percent = match &raw.percent {
            None => Some(None),
            Some(percent) => self
                .number(percent, &format!("{path}.percent"), Bound::Positive)
                .map(Some),
        };
        let period = match &raw.period {
            None => Some(default.period),
            Some(period) => self.positive_duration(period, &format!("{path}.period")),
        };
        if raw.pods.is_none() && raw.percent.is_none() {
            self.error(
                table.span().start,
                path,
                "expected pods, percent or both: how far capacity may move per period",
            );
            return None;
        }
        Some(RateLimit {
            pods: pods?,
            percent: percent?,
            period: period?,
        })
    }

    /// `[autoscaler.step]`: its metric and its bands, which must not overlap, sorted by
    /// where they start.
    pub(super) fn step_scaling(&mut self, raw: &RawStepScaling, offset: usize) -> Option<StepSpec> {
        let path = "autoscaler.step";
        let metric = self.policy_metric(raw.metric.as_ref(), raw.statistic.as_ref(), offset, path);
        let Some(list) = &raw.steps else {
            self.error(
                offset,
                &format!("{path}.steps"),
                "missing: expected bands like [{ from = 0.7, change = 1 }, { to = 0.3, \
                 change = -1 }]",
            );
            return None;
        };
        if list.get_ref().is_empty() {
            self.error(
                list.span().start,
                &format!("{path}.steps"),
                "expected at least one band",
            );
            return None;
        }
        let mut steps = Some(Vec::with_capacity(list.get_ref().len()));
        for (index, entry) in list.get_ref().iter().enumerate() {
            let step = self.scaling_step(entry, &format!("{path}.steps[{index}]"));
            match (&mut steps, step) {
                (Some(steps), Some(step)) => steps.push((index, entry.span().start, step)),
                _ => steps = None,
            }
        }
        let mut steps = steps?;
        let mut overlap = false;
        for (later, &(index, at, step)) in steps.iter().enumerate() {
            if let Some(&(earlier, _, other)) = steps[..later]
                .iter()
                .find(|(_, _, other)| overlaps(other, &step))
            {
                self.error(
                    at,
                    &format!("{path}.steps[{index}]"),
                    format!(
                        "the band {} overlaps steps[{earlier}]'s {}: a metric value must \
                         fall in one band at most",
                        band(&step),
                        band(&other)
                    ),
                );
                overlap = true;
            }
        }
        if overlap {
            return None;
        }
        // An absent `from` is the lowest start.
        steps.sort_by(|(_, _, a), (_, _, b)| {
            let start = |s: &Step| s.from.unwrap_or(f64::NEG_INFINITY);
            start(a).total_cmp(&start(b))
        });
        Some(StepSpec {
            metric: metric?,
            steps: steps.into_iter().map(|(_, _, step)| step).collect(),
        })
    }

    /// One band: `from`, `to` or both (from below to), and exactly one adjustment.
    fn scaling_step(&mut self, entry: &Spanned<RawScalingStep>, path: &str) -> Option<Step> {
        let raw = entry.get_ref();
        let end = |checker: &mut Self, value: &Option<Spanned<Number>>, key: &str| match value {
            None => Some(None),
            Some(v) => checker
                .number(v, &format!("{path}.{key}"), Bound::NonNegative)
                .map(Some),
        };
        let from = end(self, &raw.from, "from");
        let to = end(self, &raw.to, "to");
        let mut bounds_ok = true;
        if raw.from.is_none() && raw.to.is_none() {
            self.error(
                entry.span().start,
                path,
                "expected from, to or both: the band of metric values this step applies to",
            );
            bounds_ok = false;
        }
        if let (Some(Some(low)), Some(Some(high)), Some(written)) = (from, to, &raw.from)
            && low >= high
        {
            self.error(
                written.span().start,
                &format!("{path}.from"),
                format!(
                    "expected from below to ({}), found {}",
                    show(high),
                    show(low)
                ),
            );
            bounds_ok = false;
        }
        let adjustment = self.adjustment(entry, path);
        let step = Step {
            from: from?,
            to: to?,
            adjustment: adjustment?,
        };
        bounds_ok.then_some(step)
    }

    /// A step's one adjustment: `change`, `percent` or `exact`.
    fn adjustment(&mut self, entry: &Spanned<RawScalingStep>, path: &str) -> Option<Adjustment> {
        let raw = entry.get_ref();
        let given: Vec<(&str, usize)> = [
            ("change", raw.change.as_ref().map(|v| v.span().start)),
            ("percent", raw.percent.as_ref().map(|v| v.span().start)),
            ("exact", raw.exact.as_ref().map(|v| v.span().start)),
        ]
        .into_iter()
        .filter_map(|(key, offset)| offset.map(|o| (key, o)))
        .collect();
        match given.as_slice() {
            [] => {
                self.error(
                    entry.span().start,
                    path,
                    "expected one of change (instances), percent (of the capacity) or \
                     exact (a capacity)",
                );
                return None;
            }
            [(first, _), (second, offset), ..] => {
                self.error(
                    *offset,
                    &format!("{path}.{second}"),
                    format!("expected one adjustment per step, found {first} and {second}"),
                );
                return None;
            }
            [_] => {}
        }
        if let Some(change) = &raw.change {
            let n = self.integer(
                change,
                &format!("{path}.change"),
                i128::from(i32::MIN),
                i128::from(i32::MAX),
            )?;
            if n == 0 {
                self.error(
                    change.span().start,
                    &format!("{path}.change"),
                    "expected a non-zero integer, found 0",
                );
                return None;
            }
            return i32::try_from(n).ok().map(Adjustment::Change);
        }
        if let Some(percent) = &raw.percent {
            let key = format!("{path}.percent");
            let p = self.number(percent, &key, Bound::Any)?;
            if p == 0.0 || p < -100.0 {
                self.error(
                    percent.span().start,
                    &key,
                    format!(
                        "expected a non-zero percentage, at least -100 (all of the \
                         capacity), found {}",
                        show(p)
                    ),
                );
                return None;
            }
            return Some(Adjustment::Percent(p));
        }
        let exact = raw.exact.as_ref()?;
        self.integer(exact, &format!("{path}.exact"), 1, MAX_CAPACITY)
            .and_then(|n| u32::try_from(n).ok())
            .map(Adjustment::Exact)
    }

    /// `[[autoscaler.schedule]]`, sorted by time (file order at the same time). Each
    /// action's bounds and desired capacity are checked against those in force, from the
    /// autoscaler's `min` and `max` (`None` when in error) on.
    pub(super) fn schedule(
        &mut self,
        list: &[Spanned<RawScheduledAction>],
        bounds: Option<(u32, u32)>,
        duration: Option<SimDuration>,
    ) -> Option<Vec<ScheduledAction>> {
        let mut actions = Some(Vec::with_capacity(list.len()));
        for (index, entry) in list.iter().enumerate() {
            let action = self.scheduled_action(entry, index, duration);
            match (&mut actions, action) {
                (Some(actions), Some(action)) => actions.push((index, action)),
                _ => actions = None,
            }
        }
        let mut actions = actions?;
        actions.sort_by_key(|(index, action)| (action.at, *index));
        let (mut min, mut max) = bounds?;
        let mut ok = true;
        for &(index, action) in &actions {
            let raw = list[index].get_ref();
            let path = format!("autoscaler.schedule[{index}]");
            min = action.min.unwrap_or(min);
            max = action.max.unwrap_or(max);
            let at = action.at.as_nanos();
            // Only an action that sets a bound can cross them: report it at that bound.
            let bound =
                (raw.min.as_ref().map(|w| ("min", w))).or(raw.max.as_ref().map(|w| ("max", w)));
            if min > max
                && let Some((key, written)) = bound
            {
                self.error(
                    written.span().start,
                    &format!("{path}.{key}"),
                    format!("leaves min ({min}) above max ({max}) from {}", seconds(at)),
                );
                ok = false;
            } else if let (Some(desired), Some(written)) = (action.desired, &raw.desired)
                && !(min..=max).contains(&desired)
            {
                self.error(
                    written.span().start,
                    &format!("{path}.desired"),
                    format!(
                        "expected a desired capacity within min and max ({min} to {max}) at \
                         {}, found {desired}",
                        seconds(at)
                    ),
                );
                ok = false;
            }
        }
        ok.then(|| actions.into_iter().map(|(_, action)| action).collect())
    }

    fn scheduled_action(
        &mut self,
        entry: &Spanned<RawScheduledAction>,
        index: usize,
        duration: Option<SimDuration>,
    ) -> Option<ScheduledAction> {
        let raw = entry.get_ref();
        let path = format!("autoscaler.schedule[{index}]");
        let at = self.change_time(
            raw.at.as_ref(),
            entry.span().start,
            &format!("{path}.at"),
            duration,
        );
        let capacity = |checker: &mut Self, value: &Option<Spanned<Int>>, key: &str| match value {
            None => Some(None),
            Some(v) => checker
                .integer(v, &format!("{path}.{key}"), 1, MAX_CAPACITY)
                .and_then(|n| u32::try_from(n).ok())
                .map(Some),
        };
        let desired = capacity(self, &raw.desired, "desired");
        let min = capacity(self, &raw.min, "min");
        let max = capacity(self, &raw.max, "max");
        if raw.desired.is_none() && raw.min.is_none() && raw.max.is_none() {
            self.error(
                entry.span().start,
                &path,
                "expected desired, min, max or several: what the action sets",
            );
            return None;
        }
        Some(ScheduledAction {
            at: at?,
            desired: desired?,
            min: min?,
            max: max?,
        })
    }

    /// A policy's `metric`, with its `statistic` for the response time; `offset` is the
    /// policy table's, where a missing metric is reported, and `path` its key path.
    fn policy_metric(
        &mut self,
        metric: Option<&Spanned<String>>,
        written_statistic: Option<&Spanned<String>>,
        offset: usize,
        path: &str,
    ) -> Option<Metric> {
        let statistic = match written_statistic {
            None => Some(None),
            Some(name) => self.statistic(name, &format!("{path}.statistic")).map(Some),
        };
        let names = METRICS.map(Metric::name);
        let Some(metric) = metric else {
            self.error(
                offset,
                &format!("{path}.metric"),
                format!("missing: {}", suggest::expected_one_of("", &names)),
            );
            return None;
        };
        let name = metric.get_ref().as_str();
        let parsed = self.choice(metric, &format!("{path}.metric"), "metric", &names, |n| {
            METRICS.into_iter().find(|m| m.name() == n)
        })?;
        let statistic = statistic?;
        match (parsed, statistic, written_statistic) {
            (Metric::ResponseTime(_), Some(statistic), _) => Some(Metric::ResponseTime(statistic)),
            (_, Some(_), Some(written)) => {
                self.error(
                    written.span().start,
                    &format!("{path}.statistic"),
                    format!(
                        "a statistic summarizes response times: it applies to metric \
                         \"response-time\", not {name:?}"
                    ),
                );
                None
            }
            _ => Some(parsed),
        }
    }

    /// `"mean"`, or a percentile named as summary.csv names its columns (`p50`, `p99`,
    /// `p999`) or with a decimal point (`p99.9`).
    pub(super) fn statistic(&mut self, name: &Spanned<String>, path: &str) -> Option<Statistic> {
        let text = name.get_ref();
        let parsed = match text.as_str() {
            "mean" => Some(Statistic::Mean),
            other => other
                .strip_prefix('p')
                .and_then(percentile)
                .map(Statistic::Quantile),
        };
        if parsed.is_none() {
            self.error(
                name.span().start,
                path,
                format!(
                    "expected \"mean\" or a percentile like \"p50\", \"p99\" or \"p99.9\" \
                     (\"p999\"), found {text:?}{}",
                    suggest::did_you_mean(text, ["mean"])
                ),
            );
        }
        parsed
    }
}

/// The quantile a percentile names, in (0, 1): `99` is 0.99, `99.9` is 0.999, and, as
/// summary.csv's `p999_ms` is the 99.9th percentile, three digits or more without a point
/// continue after `99` (`999` is 0.999, `9999` 0.9999). Read through its decimal text, so
/// that `p99` is exactly the 0.99 the summary columns use.
fn percentile(digits: &str) -> Option<f64> {
    let (whole, fraction) = match digits.split_once('.') {
        Some((whole, fraction)) if !fraction.is_empty() => (whole, fraction),
        Some(_) => return None,
        None if digits.len() > 2 && digits.starts_with("99") => (&digits[..2], &digits[2..]),
        None => (digits, ""),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || whole.len() > 2 || !all_digits(whole) || !all_digits(fraction) {
        return None;
    }
    let quantile: f64 = format!("0.{whole:0>2}{fraction}").parse().ok()?;
    (quantile > 0.0 && quantile < 1.0).then_some(quantile)
}

/// Whether two bands `[from, to)` share a value (an absent end is unbounded).
fn overlaps(a: &Step, b: &Step) -> bool {
    let start = |s: &Step| s.from.unwrap_or(f64::NEG_INFINITY);
    let end = |s: &Step| s.to.unwrap_or(f64::INFINITY);
    start(a) < end(b) && start(b) < end(a)
}

/// A band as the file wrote it: `[0.7, 0.9)`, `from 0.9`, `below 0.3`.
fn band(step: &Step) -> String {
    match (step.from, step.to) {
        (Some(from), Some(to)) => format!("[{}, {})", show(from), show(to)),
        (Some(from), None) => format!("from {}", show(from)),
        (None, Some(to)) => format!("below {}", show(to)),
        (None, None) => "of every value".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::percentile;
    use crate::engine::{SimDuration, SimTime};
    use crate::model::{
        Adjustment, Metric, PolicySpec, RateLimit, ScheduledAction, Statistic, Step,
        TargetTrackingSpec, ThresholdSpec,
    };
    use crate::scenario::validate::testing::{MINIMAL, error, errors, valid};

    /// MINIMAL (two servers, 10 s) with an autoscaler of `policy`, bounds 1 to 8, and
    /// `tables` after it.
    fn source(policy: &str, tables: &str) -> String {
        format!("{MINIMAL}[autoscaler]\npolicy = \"{policy}\"\nmax = 8\n{tables}\n")
    }

    fn policy(policy: &str, tables: &str) -> PolicySpec {
        let scenario = valid(&source(policy, tables));
        let autoscaler = scenario.variants[0].run.autoscaler.clone();
        autoscaler.expect("an autoscaler").policy
    }

    /// Each case's one error ends with its message.
    fn assert_errors(policy: &str, cases: &[(&str, &str)]) {
        for &(tables, message) in cases {
            let error = error(&source(policy, tables));
            assert!(error.ends_with(message), "{error}\nexpected {message}");
        }
    }

    #[test]
    fn percentiles_read_as_summary_columns_name_them() {
        assert_eq!(percentile("50"), Some(0.5));
        assert_eq!(percentile("99"), Some(0.99));
        assert_eq!(percentile("999"), Some(0.999));
        assert_eq!(percentile("99.9"), Some(0.999));
        assert_eq!(percentile("9999"), Some(0.9999));
        assert_eq!(percentile("5"), Some(0.05));
        assert_eq!(percentile("99.99"), Some(0.9999));
        for bad in [
            "", "0", "00", "100", "950", "99.", ".5", "9a", "-5", "1e2", "99.9.9",
        ] {
            assert_eq!(percentile(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn every_threshold_key_is_read() {
        let read = policy(
            "threshold",
            "[autoscaler.threshold]\ncpu_high = 0.9\nmemory_high = 0.95\n\
             response_time_high = \"800ms\"\ncpu_low = 0.2\nmemory_low = 0.1\n\
             response_time_low = \"100ms\"\nstep = 3\nresponse_time = \"p95\"",
        );
        assert_eq!(
            read,
            PolicySpec::Threshold(ThresholdSpec {
                cpu_high: 0.9,
                memory_high: 0.95,
                response_time_high: SimDuration::from_millis(800),
                cpu_low: 0.2,
                memory_low: 0.1,
                response_time_low: SimDuration::from_millis(100),
                step: 3,
                response_time: Statistic::Quantile(0.95),
            })
        );
    }

    #[test]
    fn bad_threshold_values_are_located_errors() {
        assert_errors(
            "threshold",
            &[
                (
                    "[autoscaler.threshold]\ncpu_high = 1.5",
                    "autoscaler.threshold.cpu_high: expected a fraction from 0 to 1, found 1.5",
                ),
                (
                    "[autoscaler.threshold]\ncpu_low = 0.8",
                    "autoscaler.threshold.cpu_low: expected cpu_low below cpu_high (0.7), \
                     found 0.8",
                ),
                (
                    "[autoscaler.threshold]\nresponse_time_high = \"400ms\"",
                    "autoscaler.threshold.response_time_high: expected response_time_high \
                     above response_time_low (0.5s), found 0.4s",
                ),
                (
                    "[autoscaler.threshold]\nmemory_low = 0.6\nmemory_high = 0.6",
                    "autoscaler.threshold.memory_low: expected memory_low below memory_high \
                     (0.6), found 0.6",
                ),
                (
                    "[autoscaler.threshold]\nstep = 0",
                    "autoscaler.threshold.step: expected a positive integer, found 0",
                ),
                (
                    "[autoscaler.threshold]\nresponse_time = \"p100\"",
                    "autoscaler.threshold.response_time: expected \"mean\" or a percentile \
                     like \"p50\", \"p99\" or \"p99.9\" (\"p999\"), found \"p100\"",
                ),
                (
                    "[autoscaler.threshold]\nresponse_time = \"maen\"",
                    "(\"p999\"), found \"maen\"; did you mean \"mean\"?",
                ),
            ],
        );
        // A low mark above a default high one: reported at the low mark.
        let error = error(&source(
            "threshold",
            "[autoscaler.threshold]\nmemory_low = 0.9",
        ));
        assert!(error.starts_with("x.toml:11:14: "), "{error}");
    }

    #[test]
    fn target_tracking_defaults_are_the_hpas() {
        let read = policy(
            "target-tracking",
            "[autoscaler.target_tracking]\nmetric = \"request-rate\"\ntarget = 50",
        );
        assert_eq!(
            read,
            PolicySpec::TargetTracking(TargetTrackingSpec::hpa(Metric::RequestRate, 50.0))
        );
        let PolicySpec::TargetTracking(read) = policy(
            "target-tracking",
            "[autoscaler.target_tracking]\nmetric = \"response-time\"\ntarget = 0.2\n\
             scale_up_stabilization = \"30s\"\nscale_down_limit = { pods = 1, period = \"1m\" }",
        ) else {
            panic!("target tracking")
        };
        assert_eq!(read.metric, Metric::ResponseTime(Statistic::Mean));
        assert_eq!(read.scale_up_stabilization, SimDuration::from_secs(30));
        assert_eq!(
            read.scale_down_limit,
            RateLimit {
                pods: Some(1),
                percent: None,
                period: SimDuration::from_secs(60),
            }
        );
    }

    #[test]
    fn bad_target_tracking_values_are_located_errors() {
        let table = "[autoscaler.target_tracking]\n";
        let cases = [
            (
                "target = 0.5",
                "autoscaler.target_tracking.metric: missing: expected one of \"cpu\", \
                 \"memory\", \"request-rate\", \"response-time\", \"queue-length\"",
            ),
            (
                "metric = \"cpu\"",
                "autoscaler.target_tracking.target: missing: expected the metric's target per \
                 instance, like 0.6",
            ),
            (
                "metric = \"cpu\"\ntarget = 60",
                "autoscaler.target_tracking.target: expected a fraction greater than 0 and at \
                 most 1, found 60",
            ),
            (
                "metric = \"queue-length\"\ntarget = -1",
                "autoscaler.target_tracking.target: expected a positive number, found -1",
            ),
            (
                "metric = \"cpu\"\nstatistic = \"p99\"\ntarget = 0.5",
                "autoscaler.target_tracking.statistic: a statistic summarizes response times: \
                 it applies to metric \"response-time\", not \"cpu\"",
            ),
            (
                "metric = \"cpu\"\ntarget = 0.5\ntolerance = 1",
                "autoscaler.target_tracking.tolerance: expected a fraction from 0 to below 1, \
                 found 1",
            ),
            (
                "metric = \"cpu\"\ntarget = 0.5\nscale_down_stabilization = \"5 min\"",
                "autoscaler.target_tracking.scale_down_stabilization: unknown unit \" min\" in \
                 \"5 min\", expected one of ns, us, µs, ms, s, m, h",
            ),
            (
                "metric = \"cpu\"\ntarget = 0.5\nscale_up_limit = { period = \"30s\" }",
                "autoscaler.target_tracking.scale_up_limit: expected pods, percent or both: \
                 how far capacity may move per period",
            ),
            (
                "metric = \"cpu\"\ntarget = 0.5\nscale_up_limit = { pods = 0 }",
                "autoscaler.target_tracking.scale_up_limit.pods: expected a positive integer, \
                 found 0",
            ),
            (
                "metric = \"cpu\"\ntarget = 0.5\nscale_down_limit = { percent = 10, \
                 period = \"0s\" }",
                "autoscaler.target_tracking.scale_down_limit.period: expected a positive \
                 duration, found \"0s\"",
            ),
        ];
        for (lines, message) in cases {
            let error = error(&source("target-tracking", &format!("{table}{lines}")));
            assert!(error.ends_with(message), "{error}\nexpected {message}");
        }
    }

    #[test]
    fn step_bands_are_checked_and_sorted() {
        let PolicySpec::Step(read) = policy(
            "step",
            "[autoscaler.step]\nmetric = \"response-time\"\nstatistic = \"p50\"\n\
             steps = [{ from = 2, change = 2 }, { to = 0.1, change = -1 }, \
             { from = 0.5, to = 2, percent = 50 }]",
        ) else {
            panic!("step scaling")
        };
        assert_eq!(read.metric, Metric::ResponseTime(Statistic::Quantile(0.5)));
        let starts: Vec<Option<f64>> = read.steps.iter().map(|s| s.from).collect();
        assert_eq!(starts, [None, Some(0.5), Some(2.0)]);
        assert_eq!(
            read.steps[1],
            Step {
                from: Some(0.5),
                to: Some(2.0),
                adjustment: Adjustment::Percent(50.0),
            }
        );
        let table = "[autoscaler.step]\nmetric = \"cpu\"\n";
        let cases = [
            (
                "steps = [{ change = 1 }]",
                "autoscaler.step.steps[0]: expected from, to or both: the band of metric \
                 values this step applies to",
            ),
            (
                "steps = [{ from = 0.9, to = 0.7, change = 1 }]",
                "autoscaler.step.steps[0].from: expected from below to (0.7), found 0.9",
            ),
            (
                "steps = [{ from = 0.9 }]",
                "autoscaler.step.steps[0]: expected one of change (instances), percent (of \
                 the capacity) or exact (a capacity)",
            ),
            (
                "steps = [{ from = 0.9, change = 1, exact = 4 }]",
                "autoscaler.step.steps[0].exact: expected one adjustment per step, found \
                 change and exact",
            ),
            (
                "steps = [{ from = 0.9, change = 0 }]",
                "autoscaler.step.steps[0].change: expected a non-zero integer, found 0",
            ),
            (
                "steps = [{ to = 0.2, percent = -150 }]",
                "autoscaler.step.steps[0].percent: expected a non-zero percentage, at least \
                 -100 (all of the capacity), found -150",
            ),
            (
                "steps = [{ to = 0.2, exact = 0 }]",
                "autoscaler.step.steps[0].exact: expected a positive integer, found 0",
            ),
            (
                "steps = [{ to = 0.5, change = -1 }, { to = 0.3, change = -2 }]",
                "autoscaler.step.steps[1]: the band below 0.3 overlaps steps[0]'s below 0.5: \
                 a metric value must fall in one band at most",
            ),
            (
                "steps = []",
                "autoscaler.step.steps: expected at least one band",
            ),
            (
                "",
                "autoscaler.step.steps: missing: expected bands like [{ from = 0.7, change = \
                 1 }, { to = 0.3, change = -1 }]",
            ),
            (
                "steps = [{ from = 0.9, change = 1, chnage = 1 }]",
                "autoscaler.step.steps[0].chnage: unknown key \"chnage\", expected one of \
                 \"from\", \"to\", \"change\", \"percent\", \"exact\"; did you mean \"change\"?",
            ),
        ];
        for (lines, message) in cases {
            let error = error(&source("step", &format!("{table}{lines}")));
            assert!(error.ends_with(message), "{error}\nexpected {message}");
        }
        // Touching bands do not overlap: [0.7, 0.9) and from 0.9.
        let touching = "steps = [{ from = 0.7, to = 0.9, change = 1 }, { from = 0.9, change = 3 }]";
        assert!(errors(&source("step", &format!("{table}{touching}"))).is_empty());
    }

    #[test]
    fn scheduled_actions_are_sorted_and_kept_within_their_bounds() {
        let read = policy(
            "scheduled",
            "[[autoscaler.schedule]]\nat = \"6s\"\ndesired = 2\n\
             [[autoscaler.schedule]]\nat = \"3s\"\nmin = 2\nmax = 12\ndesired = 6",
        );
        assert_eq!(
            read,
            PolicySpec::Scheduled(vec![
                ScheduledAction {
                    at: SimTime::ZERO + SimDuration::from_secs(3),
                    desired: Some(6),
                    min: Some(2),
                    max: Some(12),
                },
                ScheduledAction {
                    at: SimTime::ZERO + SimDuration::from_secs(6),
                    desired: Some(2),
                    min: None,
                    max: None,
                },
            ])
        );
        let cases = [
            (
                "[[autoscaler.schedule]]\nat = \"1s\"",
                "autoscaler.schedule[0]: expected desired, min, max or several: what the \
                 action sets",
            ),
            (
                "[[autoscaler.schedule]]\ndesired = 3",
                "autoscaler.schedule[0].at: missing: expected a time like \"60s\"",
            ),
            (
                "[[autoscaler.schedule]]\nat = \"1s\"\nmin = 10",
                "autoscaler.schedule[0].min: leaves min (10) above max (8) from 1s",
            ),
            (
                "[[autoscaler.schedule]]\nat = \"1s\"\nmax = 4\n\
                 [[autoscaler.schedule]]\nat = \"2s\"\ndesired = 6",
                "autoscaler.schedule[1].desired: expected a desired capacity within min and \
                 max (1 to 4) at 2s, found 6",
            ),
            (
                "[[autoscaler.schedule]]\nat = \"1s\"\ndesired = 0",
                "autoscaler.schedule[0].desired: expected a positive integer, found 0",
            ),
            (
                "schedule = []",
                "autoscaler.schedule: policy \"scheduled\" needs at least one \
                 [[autoscaler.schedule]] action",
            ),
        ];
        for (tables, message) in cases {
            let error = error(&source("scheduled", tables));
            assert!(error.ends_with(message), "{error}\nexpected {message}");
        }
    }
}
