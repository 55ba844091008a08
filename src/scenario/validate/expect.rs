//! `[[expect]]`: the bounds `lbsim check` tests on summary.csv columns, for every variant
//! or for those with given swept values; on a value, or on its ratio to or difference from
//! a baseline variant's; judged per replication, on the mean, or on the whole confidence
//! interval. Checked against the sweep, so that a misspelled metric or swept value is an
//! error now, not a bound that silently never applies.

use toml::Spanned;

use super::checker::Checker;
use super::values::{Bound, show};
use crate::scenario::columns::{SUMMARY_METRICS, TEXT_COLUMNS};
use crate::scenario::raw::{self, Filter, Number, RawExpect};
use crate::scenario::suggest;
use crate::scenario::sweep::Sweep;
use crate::scenario::{Bound as Limits, Expectation, Judged};

/// `check`: how replications are judged.
const JUDGED: &[&str] = &["each", "mean", "interval"];

/// The pairs of bound keys, one pair per kind of bound, and whether the kind compares
/// with a baseline.
const PAIRS: [(&str, &str, bool); 3] = [
    ("min", "max", false),
    ("min_ratio", "max_ratio", true),
    ("min_difference", "max_difference", true),
];

impl Checker<'_> {
    /// `expect[index]`: its metric, its bounds, its `where` filter and baseline, checked
    /// against the `sweep`; `replications` is the scenario's (when valid), which a
    /// confidence interval needs two of.
    pub(super) fn expectation(
        &mut self,
        index: usize,
        expect: &Spanned<RawExpect>,
        sweep: &Sweep<'_>,
        replications: Option<u32>,
    ) -> Option<Expectation> {
        let path = format!("expect[{index}]");
        let table_offset = expect.span().start;
        let raw = expect.get_ref();

        let metric = match &raw.metric {
            None => {
                self.error(
                    table_offset,
                    &format!("{path}.metric"),
                    "missing: expected a summary.csv column such as \"p99_ms\"",
                );
                None
            }
            Some(metric) => self.metric(metric, &format!("{path}.metric"), sweep),
        };

        let filter = self.filter(raw.filter.as_ref(), &format!("{path}.where"), sweep);
        let bound = self.bounds(raw, &path, table_offset, sweep, filter.as_deref());
        let judged = self.judged(raw, &path, replications);

        Some(Expectation {
            metric: metric?,
            filter: filter?,
            bound: bound?,
            judged: judged?,
            declared: self.declared(table_offset),
        })
    }

    /// The bounds: exactly one kind (`min`/`max`, the ratios or the differences), each pair
    /// ordered, and a `baseline` exactly when the kind compares with one.
    fn bounds(
        &mut self,
        raw: &RawExpect,
        path: &str,
        table_offset: usize,
        sweep: &Sweep<'_>,
        filter: Option<&[(String, String)]>,
    ) -> Option<Limits> {
        let values = [
            (&raw.min, &raw.max),
            (&raw.min_ratio, &raw.max_ratio),
            (&raw.min_difference, &raw.max_difference),
        ];
        let given: Vec<usize> = (0..PAIRS.len())
            .filter(|&kind| values[kind].0.is_some() || values[kind].1.is_some())
            .collect();
        let Some(&kind) = given.first() else {
            self.error(
                table_offset,
                path,
                "expected a bound: `min`, `max` or both; or, against a `baseline` variant, \
                 `min_ratio`/`max_ratio` or `min_difference`/`max_difference`",
            );
            return None;
        };
        if let Some(&other) = given.get(1) {
            let (key, value) = first_given(PAIRS[other], values[other])?;
            self.error(
                value.span().start,
                &format!("{path}.{key}"),
                format!(
                    "expected one kind of bound per [[expect]], found `{}`/`{}` and `{key}`: \
                     write another [[expect]] for it",
                    PAIRS[kind].0, PAIRS[kind].1
                ),
            );
            return None;
        }
        let (min_key, max_key, compares) = PAIRS[kind];
        let (min_value, max_value) = values[kind];
        // A ratio below zero cannot be met by the non-negative metrics it is meant for.
        let range = if kind == 1 {
            Bound::NonNegative
        } else {
            Bound::Any
        };
        let read = |checker: &mut Self, value: &Option<Spanned<Number>>, key: &str| match value {
            None => Some(None),
            Some(v) => checker.number(v, &format!("{path}.{key}"), range).map(Some),
        };
        let min = read(self, min_value, min_key);
        let max = read(self, max_value, max_key);
        let (min, max) = (min?, max?);
        if let (Some(low), Some(high), Some(written)) = (min, max, min_value)
            && low > high
        {
            self.error(
                written.span().start,
                &format!("{path}.{min_key}"),
                format!(
                    "expected {min_key} at most {max_key} ({}), found {}",
                    show(high),
                    show(low)
                ),
            );
            return None;
        }

        let baseline = match (&raw.baseline, compares) {
            (None, false) => None,
            (Some(baseline), true) => Some(self.baseline(baseline, path, sweep, filter)?),
            (Some(baseline), false) => {
                self.error(
                    baseline.span().start,
                    &format!("{path}.baseline"),
                    "expected `min_ratio`/`max_ratio` or `min_difference`/`max_difference` \
                     beside it, to bound the comparison with the baseline (`min` and `max` \
                     bound the value itself)",
                );
                return None;
            }
            (None, true) => {
                let (key, value) = first_given(PAIRS[kind], values[kind])?;
                self.error(
                    value.span().start,
                    &format!("{path}.{key}"),
                    format!(
                        "`{key}` compares with a baseline variant: expected `baseline = {{ \
                         \"<swept key>\" = <value> }}` beside it"
                    ),
                );
                return None;
            }
        };
        Some(match (kind, baseline) {
            (1, Some(baseline)) => Limits::Ratio { baseline, min, max },
            (2, Some(baseline)) => Limits::Difference { baseline, min, max },
            _ => Limits::Value { min, max },
        })
    }

    /// `baseline`: swept keys that `where` also names, each with another of its values, so
    /// that every checked variant has one baseline, differing from it in those keys only.
    /// A key that varies together with others (`[sweep] together`) is named in `where` by
    /// any key of its group, and brings its partners' values along: the baseline of four
    /// servers at speed 1 named by `servers.0.count = 1` is one server at speed 4.
    fn baseline(
        &mut self,
        baseline: &Spanned<Filter>,
        path: &str,
        sweep: &Sweep<'_>,
        filter: Option<&[(String, String)]>,
    ) -> Option<Vec<(String, String)>> {
        let key_path = format!("{path}.baseline");
        if baseline.get_ref().0.is_empty() {
            self.error(
                baseline.span().start,
                &key_path,
                "expected at least one swept key = value: the variant to compare with",
            );
            return None;
        }
        let entries = self.filter(Some(baseline), &key_path, sweep)?;
        let filter = filter?;
        let dimensions = sweep.dimensions();
        let mut valid = true;
        for ((key, value), (written, _)) in entries.iter().zip(&baseline.get_ref().0) {
            let entry_path = format!("{key_path}.{}", raw::display_key(key));
            let index = sweep.index_of(key)?;
            let compared = filter.iter().find(|(k, _)| {
                sweep
                    .index_of(k)
                    .is_some_and(|i| dimensions.get(i) == dimensions.get(index))
            });
            match compared {
                None => {
                    let partners: Vec<String> = sweep
                        .partners(index)
                        .iter()
                        .map(|&p| format!("{:?}", sweep.keys[p].path))
                        .collect();
                    let or = if partners.is_empty() {
                        String::new()
                    } else {
                        format!(" (or a key that varies with it: {})", partners.join(", "))
                    };
                    self.error(
                        written.span().start,
                        &entry_path,
                        format!(
                            "expected {key:?}{or} in `where` too: which variants are \
                             compared with the baseline's {value:?}"
                        ),
                    );
                    valid = false;
                }
                Some((other, other_value))
                    if value_index(sweep, other, other_value) == value_index(sweep, key, value) =>
                {
                    let message = if other == key {
                        format!(
                            "expected another value than `where`'s {value:?}: a variant \
                             compared with itself"
                        )
                    } else {
                        format!(
                            "expected a value that does not go with `where`'s {other:?} = \
                             {other_value:?} (the two vary together): a variant compared \
                             with itself"
                        )
                    };
                    self.error(written.span().start, &entry_path, message);
                    valid = false;
                }
                Some(_) => {}
            }
        }
        valid.then(|| with_partners(sweep, entries))
    }

    /// `check`: each replication (the default), the mean, or the confidence interval,
    /// which needs at least two replications.
    fn judged(&mut self, raw: &RawExpect, path: &str, replications: Option<u32>) -> Option<Judged> {
        let Some(check) = &raw.check else {
            return Some(Judged::Each);
        };
        let key_path = format!("{path}.check");
        let judged = self.choice(check, &key_path, "check", JUDGED, |name| match name {
            "each" => Some(Judged::Each),
            "mean" => Some(Judged::Mean),
            "interval" => Some(Judged::Interval),
            _ => None,
        })?;
        if judged == Judged::Interval
            && let Some(n) = replications
            && n < 2
        {
            self.error(
                check.span().start,
                &key_path,
                format!(
                    "a confidence interval needs `replications` of at least 2, found {n}; \
                     or judge each run (\"each\")"
                ),
            );
            return None;
        }
        Some(judged)
    }

    /// A `where` or `baseline` table: each entry a swept key and one of its values, and
    /// keys that vary together (`[sweep] together`) given values that go together.
    fn filter(
        &mut self,
        table: Option<&Spanned<Filter>>,
        path: &str,
        sweep: &Sweep<'_>,
    ) -> Option<Vec<(String, String)>> {
        let mut filter = Some(Vec::new());
        let entries = table.map_or(&[][..], |f| f.get_ref().0.as_slice());
        for (key, value) in entries {
            let key_path = format!("{path}.{}", raw::display_key(key.get_ref()));
            let entry = self.filter_entry(key, value, &key_path, sweep);
            let Some(entry) = entry else {
                filter = None;
                continue;
            };
            let Some(list) = &mut filter else {
                continue;
            };
            if let Some(message) = disagreement(sweep, list, &entry) {
                self.error(value.span().start, &key_path, message);
                filter = None;
                continue;
            }
            list.push(entry);
        }
        filter
    }

    /// One `where` entry: a swept key and one of its values.
    fn filter_entry(
        &mut self,
        key: &Spanned<String>,
        value: &Spanned<raw::Scalar>,
        key_path: &str,
        sweep: &Sweep<'_>,
    ) -> Option<(String, String)> {
        let name = key.get_ref();
        let Some(swept) = sweep.keys.iter().find(|k| k.path == *name) else {
            if sweep.rejected.contains(name) {
                return None;
            }
            let message = if sweep.keys.is_empty() && sweep.rejected.is_empty() {
                format!("{name:?} is not a swept key: this scenario has no [sweep]")
            } else if sweep.keys.is_empty() {
                format!("{name:?} is not a swept key: nothing else is swept")
            } else {
                let paths = sweep.paths();
                let names: Vec<&str> = paths.iter().map(String::as_str).collect();
                format!(
                    "{name:?} is not a swept key, {}",
                    suggest::expected_one_of(name, &names)
                )
            };
            self.error(key.span().start, key_path, message);
            return None;
        };
        let label = value.get_ref().to_string();
        if swept.labels.contains(&label) {
            return Some((swept.path.clone(), label));
        }
        let labels: Vec<&str> = swept.labels.iter().map(String::as_str).collect();
        self.error(
            value.span().start,
            key_path,
            format!(
                "matches no variant: found {label:?}, {}",
                suggest::expected_one_of(&label, &labels)
            ),
        );
        None
    }

    fn metric(
        &mut self,
        metric: &Spanned<String>,
        path: &str,
        sweep: &Sweep<'_>,
    ) -> Option<String> {
        let name = metric.get_ref();
        let offset = metric.span().start;
        if TEXT_COLUMNS.contains(&name.as_str()) {
            self.error(
                offset,
                path,
                format!("expected a numeric column, found {name:?}, which holds text"),
            );
            return None;
        }
        if SUMMARY_METRICS.contains(&name.as_str()) {
            return Some(name.clone());
        }
        if let Some(key) = sweep.keys.iter().find(|k| k.path == *name) {
            if key.numeric {
                return Some(name.clone());
            }
            self.error(
                offset,
                path,
                format!("expected a numeric column, found {name:?}, which is swept over text"),
            );
            return None;
        }
        if sweep.rejected.contains(name) {
            return None;
        }
        let mut columns: Vec<&str> = SUMMARY_METRICS
            .iter()
            .copied()
            .filter(|c| !TEXT_COLUMNS.contains(c))
            .collect();
        columns.extend(
            sweep
                .keys
                .iter()
                .filter(|k| k.numeric)
                .map(|k| k.path.as_str()),
        );
        self.error(
            offset,
            path,
            format!(
                "unknown metric {name:?}, {}",
                suggest::expected_one_of(name, &columns)
            ),
        );
        None
    }
}

/// The position of `label` among the values of swept key `key`.
fn value_index(sweep: &Sweep<'_>, key: &str, label: &str) -> Option<usize> {
    let index = sweep.index_of(key)?;
    sweep.keys[index].labels.iter().position(|l| l == label)
}

/// Why `entry` cannot be in a `where` or `baseline` beside `earlier`: it varies together
/// with one of their keys, and its value does not go with that key's.
fn disagreement(
    sweep: &Sweep<'_>,
    earlier: &[(String, String)],
    entry: &(String, String),
) -> Option<String> {
    let (key, value) = entry;
    let index = sweep.index_of(key)?;
    let position = value_index(sweep, key, value)?;
    earlier.iter().find_map(|(other, other_value)| {
        let other_index = sweep.index_of(other)?;
        let linked = sweep.partners(index).contains(&other_index);
        let goes = value_index(sweep, other, other_value)?;
        (linked && goes != position).then(|| {
            let expected = sweep.keys[index]
                .labels
                .get(goes)
                .cloned()
                .unwrap_or_default();
            format!(
                "matches no variant: {key:?} varies together with {other:?}, and with \
                 {other:?} = {other_value:?} it is {expected:?}, found {value:?}"
            )
        })
    })
}

/// `entries` with the keys that vary together with theirs added, each with the value that
/// goes with theirs: the whole of each group a baseline names.
fn with_partners(sweep: &Sweep<'_>, entries: Vec<(String, String)>) -> Vec<(String, String)> {
    let mut all = entries.clone();
    for (key, value) in &entries {
        let (Some(index), Some(position)) = (sweep.index_of(key), value_index(sweep, key, value))
        else {
            continue;
        };
        for partner in sweep.partners(index) {
            let swept = &sweep.keys[partner];
            if all.iter().any(|(k, _)| *k == swept.path) {
                continue;
            }
            if let Some(label) = swept.labels.get(position) {
                all.push((swept.path.clone(), label.clone()));
            }
        }
    }
    all
}

/// The first key of a pair that is written, and its value.
fn first_given<'a>(
    keys: (&'static str, &'static str, bool),
    values: (&'a Option<Spanned<Number>>, &'a Option<Spanned<Number>>),
) -> Option<(&'static str, &'a Spanned<Number>)> {
    let min = values.0.as_ref().map(|value| (keys.0, value));
    min.or_else(|| values.1.as_ref().map(|value| (keys.1, value)))
}

#[cfg(test)]
pub(super) mod tests {
    use crate::scenario::validate::testing::{
        MINIMAL, assert_bad_fixtures, errors, generated, valid, with,
    };

    fn expect(lines: &str, sweep: &str) -> Vec<String> {
        errors(&format!("{MINIMAL}{sweep}\n[[expect]]\n{lines}\n"))
    }

    #[test]
    fn expectations_are_checked() {
        let no_sweep = "";
        let sweep =
            "[sweep]\n\"workload.rate\" = [600, 900.0]\n\"balancer.algorithm\" = [\"random\"]";
        assert!(expect("max = 1", no_sweep)[0].contains("expect[0].metric: missing"));
        assert!(expect("metric = \"p99_ms\"", no_sweep)[0].contains("expected a bound"));
        assert!(
            expect("metric = \"p99_ms\"\nmin = 2\nmax = 1", no_sweep)[0]
                .contains("expect[0].min: expected min at most max (1), found 2")
        );
        assert!(expect("metric = \"variant\"\nmax = 1", no_sweep)[0].contains("holds text"));
        assert!(
            expect("metric = \"balancer.algorithm\"\nmax = 1", sweep)[0]
                .contains("swept over text")
        );
        assert!(
            expect(
                "metric = \"mean_ms\"\nmax = 1\nwhere = { \"workload.rate\" = 1 }",
                no_sweep
            )[0]
            .contains("\"workload.rate\" is not a swept key: this scenario has no [sweep]")
        );
        assert!(
            expect(
                "metric = \"mean_ms\"\nmax = 1\nwhere = { \"workload.rat\" = 1 }",
                sweep
            )[0]
            .ends_with("did you mean \"workload.rate\"?")
        );
    }

    #[test]
    fn where_values_match_as_summary_csv_shows_them() {
        let source = format!(
            "{MINIMAL}[sweep]\n\"workload.rate\" = [600, 900.5]\n\
             [[expect]]\nmetric = \"workload.rate\"\nmin = 1\n\
             where = {{ workload.rate = 600.0 }}\n\
             [[expect]]\nmetric = \"p50_ms\"\nmin = 0\n\
             where = {{ \"workload.rate\" = 900.5 }}\n"
        );
        let scenario = valid(&source);
        let filters: Vec<&[(String, String)]> = scenario
            .expectations
            .iter()
            .map(|e| e.filter.as_slice())
            .collect();
        assert_eq!(
            filters,
            [
                [("workload.rate".to_string(), "600".to_string())],
                [("workload.rate".to_string(), "900.5".to_string())]
            ]
        );
    }

    #[test]
    fn a_float_range_gives_exact_labels_that_expectations_can_match() {
        let source = format!(
            "{MINIMAL}[sweep]\n\"workload.rate\" = {{ from = 0.1, to = 0.3, step = 0.1 }}\n\
             [[expect]]\nmetric = \"p99_ms\"\nmax = 1\nwhere = {{ \"workload.rate\" = 0.3 }}\n"
        );
        let scenario = valid(&source);
        let labels: Vec<&str> = scenario.variants.iter().map(|v| v.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "workload.rate=0.1",
                "workload.rate=0.2",
                "workload.rate=0.3"
            ]
        );
        let rates: Vec<f64> = scenario
            .variants
            .iter()
            .map(|v| generated(&v.run).rate.steps()[0].1)
            .collect();
        assert_eq!(rates, [0.1, 0.2, 0.3]);
        assert_eq!(
            scenario.expectations[0].filter,
            [("workload.rate".to_string(), "0.3".to_string())]
        );
    }

    const SWEEP: &str = "[sweep]\n\"balancer.algorithm\" = [\"round-robin\", \"least-connections\"]\n\
                         \"workload.rate\" = [50, 90]\n";

    #[test]
    fn a_comparison_reads_its_baseline_and_ratio() {
        let scenario = valid(&format!(
            "{}{SWEEP}[[expect]]\nmetric = \"p99_ms\"\nmax_ratio = 0.8\n\
             where = {{ \"balancer.algorithm\" = \"least-connections\" }}\n\
             baseline = {{ \"balancer.algorithm\" = \"round-robin\" }}\ncheck = \"interval\"\n",
            with("", "replications = 3")
        ));
        let expectation = &scenario.expectations[0];
        assert_eq!(
            expectation.bound,
            crate::scenario::Bound::Ratio {
                baseline: vec![("balancer.algorithm".into(), "round-robin".into())],
                min: None,
                max: Some(0.8)
            }
        );
        assert_eq!(expectation.judged, crate::scenario::Judged::Interval);
        assert_eq!(expectation.declared.line, 11);
    }

    #[test]
    fn comparisons_and_judging_are_checked() {
        let lc = "where = { \"balancer.algorithm\" = \"least-connections\" }";
        let rr = "baseline = { \"balancer.algorithm\" = \"round-robin\" }";
        let case = |lines: &str| expect(&format!("metric = \"p99_ms\"\n{lines}"), SWEEP);
        assert!(case("max_ratio = 0.8")[0].contains(
            "expect[0].max_ratio: `max_ratio` compares with a baseline variant: expected `baseline"
        ));
        assert!(
            case(&format!("max = 1\n{lc}\n{rr}"))[0]
                .contains("expect[0].baseline: expected `min_ratio`/`max_ratio`")
        );
        assert!(
            case(&format!("max = 1\nmax_ratio = 0.8\n{lc}\n{rr}"))[0]
                .contains("expect[0].max_ratio: expected one kind of bound per [[expect]]")
        );
        assert!(
            case(&format!("max_ratio = 0.8\n{rr}"))[0].contains(
                "expect[0].baseline.\"balancer.algorithm\": expected \"balancer.algorithm\" in `where` too"
            )
        );
        assert!(
            case(&format!(
                "max_ratio = 0.8\n{rr}\nwhere = {{ \"balancer.algorithm\" = \"round-robin\" }}"
            ))[0]
                .contains("a variant compared with itself")
        );
        assert!(
            case(&format!(
                "max_ratio = 0.8\n{lc}\nbaseline = {{ \"balancer.algorithm\" = \"round-robn\" }}"
            ))[0]
                .ends_with("did you mean \"round-robin\"?")
        );
        assert!(
            case(&format!("min_ratio = 2\nmax_ratio = 1\n{lc}\n{rr}"))[0]
                .contains("expected min_ratio at most max_ratio (1), found 2")
        );
        assert!(case(&format!("max_ratio = -1\n{lc}\n{rr}"))[0].contains("non-negative"));
        assert!(case("max = 1\ncheck = \"mena\"")[0].ends_with("did you mean \"mean\"?"));
        assert!(case("max = 1\ncheck = \"interval\"")[0].contains(
            "expect[0].check: a confidence interval needs `replications` of at least 2, found 1"
        ));
    }

    /// Four servers at speed 1 or one at speed 4, crossed with two algorithms.
    const LINKED: &str = "[sweep]\n\"servers.0.count\" = [4, 1]\n\
                          \"balancer.algorithm\" = [\"round-robin\", \"least-connections\"]\n\
                          \"servers.0.speed\" = [1, 4]\n\
                          together = [[\"servers.0.count\", \"servers.0.speed\"]]\n";

    #[test]
    fn where_on_one_linked_key_selects_its_whole_group() {
        let scenario = valid(&format!(
            "{MINIMAL}{LINKED}[[expect]]\nmetric = \"p99_ms\"\nmax = 1\n\
             where = {{ \"servers.0.speed\" = 4 }}\n"
        ));
        assert_eq!(scenario.dimensions, [0, 1, 0]);
        let filter = &scenario.expectations[0].filter;
        assert_eq!(filter, &[("servers.0.speed".to_string(), "4".to_string())]);
        let speed = scenario
            .swept_keys
            .iter()
            .position(|k| k == "servers.0.speed");
        let selected: Vec<&str> = scenario
            .variants
            .iter()
            .filter(|v| speed.is_some_and(|i| v.values[i] == "4"))
            .map(|v| v.label.as_str())
            .collect();
        assert_eq!(
            selected,
            [
                "servers.0.count=1,balancer.algorithm=round-robin,servers.0.speed=4",
                "servers.0.count=1,balancer.algorithm=least-connections,servers.0.speed=4",
            ]
        );
        let both = valid(&format!(
            "{MINIMAL}{LINKED}[[expect]]\nmetric = \"p99_ms\"\nmax = 1\n\
             where = {{ \"servers.0.speed\" = 4, \"servers.0.count\" = 1 }}\n"
        ));
        assert_eq!(
            both.expectations[0].filter.len(),
            2,
            "values that go together"
        );
    }

    #[test]
    fn a_baseline_on_one_linked_key_brings_its_partners_along() {
        let scenario = valid(&format!(
            "{MINIMAL}{LINKED}[[expect]]\nmetric = \"mean_ms\"\nmax_ratio = 0.5\n\
             where = {{ \"servers.0.count\" = 1 }}\n\
             baseline = {{ \"servers.0.count\" = 4 }}\n\
             [[expect]]\nmetric = \"mean_ms\"\nmax_ratio = 0.5\n\
             where = {{ \"servers.0.speed\" = 4 }}\n\
             baseline = {{ \"servers.0.count\" = 4 }}\n"
        ));
        let pair = |count: &str, speed: &str| {
            vec![
                ("servers.0.count".to_string(), count.to_string()),
                ("servers.0.speed".to_string(), speed.to_string()),
            ]
        };
        for expectation in &scenario.expectations {
            assert_eq!(
                expectation.bound,
                crate::scenario::Bound::Ratio {
                    baseline: pair("4", "1"),
                    min: None,
                    max: Some(0.5)
                },
                "`where` may name the group by either key"
            );
        }
    }

    #[test]
    fn linked_values_that_do_not_go_together_are_errors() {
        let case = |lines: &str| expect(&format!("metric = \"p99_ms\"\n{lines}"), LINKED);
        assert!(
            case("max = 1\nwhere = { \"servers.0.count\" = 4, \"servers.0.speed\" = 4 }")[0]
                .contains(
                    "expect[0].where.\"servers.0.speed\": matches no variant: \
                     \"servers.0.speed\" varies together with \"servers.0.count\", and with \
                     \"servers.0.count\" = \"4\" it is \"1\", found \"4\""
                )
        );
        assert!(
            case(
                "max_ratio = 1\nwhere = { \"servers.0.count\" = 4 }\n\
                 baseline = { \"servers.0.count\" = 1, \"servers.0.speed\" = 1 }"
            )[0]
            .contains("expect[0].baseline.\"servers.0.speed\": matches no variant")
        );
        assert!(
            case(
                "max_ratio = 1\nwhere = { \"servers.0.count\" = 4 }\n\
                 baseline = { \"servers.0.speed\" = 1 }"
            )[0]
            .contains(
                "expect[0].baseline.\"servers.0.speed\": expected a value that does not go \
                 with `where`'s \"servers.0.count\" = \"4\" (the two vary together): a \
                 variant compared with itself"
            )
        );
        assert!(
            case(
                "max_ratio = 1\nwhere = { \"balancer.algorithm\" = \"round-robin\" }\n\
                 baseline = { \"servers.0.speed\" = 1 }"
            )[0]
            .contains(
                "expected \"servers.0.speed\" (or a key that varies with it: \
                 \"servers.0.count\") in `where` too"
            )
        );
    }

    #[test]
    fn bad_expect_fixtures_are_located() {
        assert_bad_fixtures(BAD);
    }

    /// Bad fixtures: (name, line:col, fragment).
    pub(crate) const BAD: &[(&str, &str, &str)] = &[
        (
            "expect_ratio_without_baseline",
            "19:13: expect[0].max_ratio: ",
            "compares with a baseline variant",
        ),
        (
            "expect_unknown_check",
            "21:9: expect[0].check: ",
            "did you mean \"interval\"?",
        ),
    ];
}
