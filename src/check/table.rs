//! The pass/fail table `lbsim check` prints: expectation, variant, measured, bound,
//! verdict and where the expectation was declared, one line per check.

use super::{CheckLine, bound_text, describe};
use crate::scenario::Scenario;

/// The table of one scenario, headed by its name and closed by a count of its checks; or,
/// when there is nothing to check, a line saying so (rather than an empty table and "all
/// 0 checks met", which reads as a pass).
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
    let header = [
        "expectation",
        "variant",
        "measured",
        "bound",
        "verdict",
        "declared",
    ]
    .map(String::from);
    let cells: Vec<[String; 6]> = std::iter::once(header)
        .chain(lines.iter().map(|line| {
            let expectation = &scenario.expectations[line.expectation];
            [
                describe(expectation),
                line.variant.clone(),
                line.measured.clone(),
                bound_text(&expectation.bound),
                if line.passed { "PASS" } else { "FAIL" }.to_string(),
                expectation.declared.to_string(),
            ]
        }))
        .collect();
    let mut out = format!("check {}\n", scenario.name);
    out.push_str(&align(&cells));
    let failed = lines.iter().filter(|l| !l.passed).count();
    let checks = if lines.len() == 1 { "check" } else { "checks" };
    if failed == 0 {
        out.push_str(&format!("all {} {checks} met\n", lines.len()));
    } else {
        out.push_str(&format!("{failed} of {} {checks} FAILED\n", lines.len()));
    }
    out
}

/// Rows of cells in columns two spaces apart, each as wide as its widest cell.
pub(super) fn align<const N: usize>(cells: &[[String; N]]) -> String {
    let widths: Vec<usize> = (0..N)
        .map(|c| {
            cells
                .iter()
                .map(|row| row[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in cells {
        let line: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(c, cell)| format!("{cell:<width$}", width = widths[c]))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
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
    use crate::scenario::{Bound, Declared, Expectation, Judged};

    fn scenario() -> Scenario {
        let mut scenario = charts_fixtures::swept().scenario;
        scenario.expectations.push(Expectation {
            metric: "p99_ms".into(),
            filter: Vec::new(),
            bound: Bound::Value {
                min: None,
                max: Some(250.0),
            },
            judged: Judged::Each,
            declared: Declared {
                file: "s.toml".into(),
                line: 3,
            },
        });
        scenario
    }

    fn line(passed: bool) -> CheckLine {
        CheckLine {
            expectation: 0,
            variant: "base #0".into(),
            measured: "49.021".into(),
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
    fn a_table_shows_each_check_and_counts_its_failures() {
        let scenario = scenario();
        let text = render_table(&scenario, &[line(true)]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "check swept");
        assert_eq!(
            lines[1],
            "expectation  variant  measured  bound  verdict  declared"
        );
        assert_eq!(
            lines[2],
            "p99_ms       base #0  49.021    ≤ 250  PASS     s.toml:3"
        );
        assert!(text.ends_with("all 1 check met\n"), "{text}");
        let text = render_table(&scenario, &[line(true), line(false)]);
        assert!(text.contains("FAIL     s.toml:3"), "{text}");
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
