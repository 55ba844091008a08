//! `[[expect]]`: the bounds `lbsim check` tests on summary.csv columns, for every variant
//! or for those with given swept values. Checked against the sweep, so that a misspelled
//! metric or swept value is an error now, not a bound that silently never applies.

use toml::Spanned;

use super::checker::Checker;
use super::values::{Bound, show};
use crate::scenario::Expectation;
use crate::scenario::columns::{SUMMARY_METRICS, TEXT_COLUMNS};
use crate::scenario::raw::{self, Number, RawExpect};
use crate::scenario::suggest;
use crate::scenario::sweep::Sweep;

impl Checker<'_> {
    /// `expect[index]`: its metric, its bounds and its `where` filter, checked against the
    /// `sweep`.
    pub(super) fn expectation(
        &mut self,
        index: usize,
        expect: &Spanned<RawExpect>,
        sweep: &Sweep<'_>,
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

        let bounded = raw.min.is_some() || raw.max.is_some();
        if !bounded {
            self.error(
                table_offset,
                &path,
                "expected a bound: `min`, `max` or both",
            );
        }
        let bound = |checker: &mut Self, value: Option<&Spanned<Number>>, key: &str| match value {
            None => Some(None),
            Some(v) => checker
                .number(v, &format!("{path}.{key}"), Bound::Any)
                .map(Some),
        };
        let min = bound(self, raw.min.as_ref(), "min");
        let max = bound(self, raw.max.as_ref(), "max");
        let mut ordered = true;
        if let (Some(Some(low)), Some(Some(high)), Some(min_value)) = (min, max, &raw.min)
            && low > high
        {
            self.error(
                min_value.span().start,
                &format!("{path}.min"),
                format!(
                    "expected min at most max ({}), found {}",
                    show(high),
                    show(low)
                ),
            );
            ordered = false;
        }

        let mut filter = Some(Vec::new());
        let entries = raw
            .filter
            .as_ref()
            .map_or(&[][..], |f| f.get_ref().0.as_slice());
        for (key, value) in entries {
            let key_path = format!("{path}.where.{}", raw::display_key(key.get_ref()));
            match self.filter_entry(key, value, &key_path, sweep) {
                Some(entry) => {
                    if let Some(list) = &mut filter {
                        list.push(entry);
                    }
                }
                None => filter = None,
            }
        }

        let (Some(metric), Some(min), Some(max), Some(filter), true) =
            (metric, min, max, filter, bounded && ordered)
        else {
            return None;
        };
        Some(Expectation {
            metric,
            min,
            max,
            filter,
            location: self.location(table_offset),
        })
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

#[cfg(test)]
mod tests {
    use crate::scenario::validate::testing::{MINIMAL, errors, generated, valid};

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
}
