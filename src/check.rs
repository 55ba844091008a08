//! `lbsim check`: evaluates a scenario's `[[expect]]` bounds against its summary rows.
//!
//! Every run (each variant the `where` filter matches, each replication) must satisfy the
//! bound: a regression test should fail when any replication regresses, not only on average.

use crate::report::SummaryRow;
use crate::scenario::{Expectation, Scenario};

/// One bound checked against one run.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckLine {
    pub scenario: String,
    pub location: String,
    pub metric: String,
    pub bound: String,
    pub variant: String,
    pub replication: u32,
    /// `None` when the metric has no numeric value for this run.
    pub value: Option<f64>,
    pub passed: bool,
}

/// Checks every expectation of `scenario` against `rows`.
pub fn evaluate(scenario: &Scenario, rows: &[SummaryRow]) -> Vec<CheckLine> {
    let mut lines = Vec::new();
    for expectation in &scenario.expectations {
        for row in rows {
            let variant = &scenario.variants[row.variant];
            let matches = expectation.filter.iter().all(|(key, value)| {
                scenario
                    .swept_keys
                    .iter()
                    .position(|k| k == key)
                    .is_some_and(|i| &variant.values[i] == value)
            });
            if !matches {
                continue;
            }
            let value = metric_value(scenario, expectation, row);
            let passed = value.is_some_and(|v| {
                expectation.min.is_none_or(|min| v >= min)
                    && expectation.max.is_none_or(|max| v <= max)
            });
            lines.push(CheckLine {
                scenario: scenario.name.clone(),
                location: expectation.location.clone(),
                metric: expectation.metric.clone(),
                bound: bound_text(expectation),
                variant: variant.label.clone(),
                replication: row.replication,
                value,
                passed,
            });
        }
    }
    lines
}

/// A summary metric, or a numeric swept key.
fn metric_value(scenario: &Scenario, expectation: &Expectation, row: &SummaryRow) -> Option<f64> {
    row.metric(&expectation.metric).or_else(|| {
        let index = scenario
            .swept_keys
            .iter()
            .position(|k| *k == expectation.metric)?;
        scenario.variants[row.variant].values[index].parse().ok()
    })
}

fn bound_text(expectation: &Expectation) -> String {
    match (expectation.min, expectation.max) {
        (Some(min), Some(max)) => format!("{min} ≤ x ≤ {max}"),
        (Some(min), None) => format!("≥ {min}"),
        (None, Some(max)) => format!("≤ {max}"),
        (None, None) => "any".to_string(),
    }
}

/// The pass/fail table of one scenario, one line per check; or, when there is nothing to
/// check, a line saying so (rather than an empty table and "all 0 checks met", which
/// reads as a pass).
pub fn render_table(scenario: &Scenario, lines: &[CheckLine]) -> String {
    if lines.is_empty() {
        return if scenario.expectations.is_empty() {
            format!("{}: no [[expect]] bounds to check\n", scenario.name)
        } else {
            format!(
                "{}: no variant matches the `where` of its [[expect]] bounds: nothing checked\n",
                scenario.name
            )
        };
    }
    let cells: Vec<[String; 6]> = std::iter::once([
        "result".to_string(),
        "scenario".into(),
        "variant".into(),
        "metric".into(),
        "value".into(),
        "bound".into(),
    ])
    .chain(lines.iter().map(|line| {
        [
            if line.passed { "PASS" } else { "FAIL" }.to_string(),
            line.scenario.clone(),
            format!("{} #{}", line.variant, line.replication),
            line.metric.clone(),
            line.value.map_or("n/a".to_string(), |v| format!("{v:.3}")),
            format!("{}  ({})", line.bound, line.location),
        ]
    }))
    .collect();
    let widths: Vec<usize> = (0..6)
        .map(|c| {
            cells
                .iter()
                .map(|row| row[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in &cells {
        let line: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(c, cell)| format!("{cell:<width$}", width = widths[c]))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    let failed = lines.iter().filter(|l| !l.passed).count();
    let checks = if lines.len() == 1 { "check" } else { "checks" };
    if failed == 0 {
        out.push_str(&format!("all {} {checks} met\n", lines.len()));
    } else {
        out.push_str(&format!("{failed} of {} {checks} FAILED\n", lines.len()));
    }
    out
}

/// The closing line of `lbsim check` when none of its `scenarios` had a bound to check:
/// a run that checked nothing must not read as one that passed.
pub fn render_nothing_checked(scenarios: usize) -> String {
    let which = match scenarios {
        1 => "the scenario has no".to_string(),
        n => format!("none of the {n} scenarios has an"),
    };
    format!(
        "nothing checked: {which} [[expect]] bound; add one to turn an outcome into a \
         regression test\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::charts_fixtures;

    fn line(passed: bool) -> CheckLine {
        CheckLine {
            scenario: "s".into(),
            location: "s.toml:3:1".into(),
            metric: "p99_ms".into(),
            bound: "≤ 250".into(),
            variant: "base".into(),
            replication: 0,
            value: Some(49.021),
            passed,
        }
    }

    #[test]
    fn a_scenario_without_bounds_says_so_instead_of_an_empty_table() {
        let fixture = charts_fixtures::swept();
        let text = render_table(&fixture.scenario, &[]);
        assert_eq!(text, "swept: no [[expect]] bounds to check\n");
        assert!(!text.contains("checks met"));
    }

    #[test]
    fn a_table_counts_its_checks_and_failures() {
        let fixture = charts_fixtures::swept();
        let text = render_table(&fixture.scenario, &[line(true)]);
        assert!(text.starts_with("result  scenario  variant"), "{text}");
        assert!(text.contains("PASS    s         base #0  p99_ms  49.021  ≤ 250  (s.toml:3:1)"));
        assert!(text.ends_with("all 1 check met\n"), "{text}");
        let text = render_table(&fixture.scenario, &[line(true), line(false)]);
        assert!(text.ends_with("1 of 2 checks FAILED\n"), "{text}");
    }

    #[test]
    fn a_run_with_nothing_to_check_ends_with_its_own_message() {
        assert_eq!(
            render_nothing_checked(3),
            "nothing checked: none of the 3 scenarios has an [[expect]] bound; add one to \
             turn an outcome into a regression test\n"
        );
        assert!(
            render_nothing_checked(1)
                .starts_with("nothing checked: the scenario has no [[expect]] bound;")
        );
    }
}
