//! `lbsim check --junit FILE`: the verdicts as JUnit XML, the report format CI systems
//! display (GitLab's `artifacts:reports:junit`, Jenkins' `junit` step, GitHub Actions
//! through a test-report action).
//!
//! One `<testsuite>` per scenario, one `<testcase>` per expectation (its checks over every
//! matching variant and replication are its body) and one for the golden results when the
//! scenario has a golden file. A test case carries `file` and `line`, where the
//! expectation was written, which GitLab and the GitHub report actions link to. No time
//! or timestamp is written: the file depends only on the results, like every other output.

use std::fmt::Write as _;

use super::golden::{self, Golden, Outcome};
use super::{CheckLine, bound_text, describe, title};
use crate::scenario::Scenario;

/// One scenario's verdicts.
pub struct Suite<'a> {
    pub scenario: &'a Scenario,
    pub lines: Vec<CheckLine>,
    pub golden: Option<(&'a Golden, Outcome)>,
}

/// A test case before it is written.
struct Case {
    name: String,
    file: String,
    line: Option<usize>,
    /// `Some(message)` when it failed.
    failure: Option<String>,
    skipped: Option<String>,
    body: String,
}

/// The whole JUnit document.
pub fn render(suites: &[Suite<'_>]) -> String {
    let mut all = Vec::new();
    for suite in suites {
        all.push((suite.scenario, cases(suite)));
    }
    let count = |f: fn(&Case) -> bool| -> usize {
        all.iter()
            .map(|(_, cases)| cases.iter().filter(|c| f(c)).count())
            .sum()
    };
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"lbsim check\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\">",
        count(|_| true),
        count(|c| c.failure.is_some()),
        count(|c| c.skipped.is_some())
    );
    for (scenario, cases) in &all {
        let failures = cases.iter().filter(|c| c.failure.is_some()).count();
        let skipped = cases.iter().filter(|c| c.skipped.is_some()).count();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" \
             skipped=\"{skipped}\" file=\"{}\">",
            escape(&scenario.name),
            cases.len(),
            escape(&scenario.path.display().to_string())
        );
        for case in cases {
            let line = case
                .line
                .map_or(String::new(), |l| format!(" line=\"{l}\""));
            let _ = write!(
                out,
                "    <testcase name=\"{}\" classname=\"{}\" file=\"{}\"{line}",
                escape(&case.name),
                escape(&scenario.name),
                escape(&case.file)
            );
            if case.failure.is_none() && case.skipped.is_none() && case.body.is_empty() {
                out.push_str("/>\n");
                continue;
            }
            out.push_str(">\n");
            if let Some(message) = &case.failure {
                let _ = writeln!(
                    out,
                    "      <failure message=\"{}\" type=\"{}\">{}</failure>",
                    escape(message),
                    if case.name == "golden results" {
                        "golden"
                    } else {
                        "expectation"
                    },
                    escape(&case.body)
                );
            } else if let Some(message) = &case.skipped {
                let _ = writeln!(out, "      <skipped message=\"{}\"/>", escape(message));
            } else {
                let _ = writeln!(out, "      <system-out>{}</system-out>", escape(&case.body));
            }
            out.push_str("    </testcase>\n");
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

fn cases(suite: &Suite<'_>) -> Vec<Case> {
    let scenario = suite.scenario;
    let mut cases: Vec<Case> = scenario
        .expectations
        .iter()
        .enumerate()
        .map(|(index, expectation)| {
            let lines: Vec<&CheckLine> = suite
                .lines
                .iter()
                .filter(|l| l.expectation == index)
                .collect();
            let failed: Vec<&&CheckLine> = lines.iter().filter(|l| !l.passed).collect();
            let bound = bound_text(&expectation.bound);
            let body: String = lines
                .iter()
                .map(|l| {
                    format!(
                        "{} {}: {} {}, expected {bound}\n",
                        if l.passed { "PASS" } else { "FAIL" },
                        l.variant,
                        describe(expectation),
                        l.measured
                    )
                })
                .collect();
            let failure = (!failed.is_empty()).then(|| {
                let first = failed[0];
                format!(
                    "{} of {} checks failed; first: {} {} = {}, expected {bound}",
                    failed.len(),
                    lines.len(),
                    first.variant,
                    describe(expectation),
                    first.measured
                )
            });
            Case {
                name: title(expectation),
                file: expectation.declared.file.clone(),
                line: Some(expectation.declared.line),
                failure,
                skipped: lines
                    .is_empty()
                    .then(|| "no variant matches its `where`".to_string()),
                body,
            }
        })
        .collect();
    if let Some((golden, outcome)) = &suite.golden {
        let body = golden::render_outcome(golden, scenario, outcome);
        cases.push(Case {
            name: "golden results".to_string(),
            file: golden.path.display().to_string(),
            line: None,
            failure: outcome.failed().then(|| golden::summary(outcome)),
            skipped: matches!(outcome, Outcome::NotComparable(_)).then(|| golden::summary(outcome)),
            body,
        });
    }
    cases
}

/// Text for an XML attribute or element: the five special characters escaped, and the
/// characters XML 1.0 forbids (control characters but tab and newlines) dropped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c.is_control() || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_and_forbidden_characters_are_escaped_or_dropped() {
        assert_eq!(
            escape("a<b & \"c\" 'd'>\u{1}\te"),
            "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;\te"
        );
    }
}
