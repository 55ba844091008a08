//! report.md: the whole run in one Markdown file that reads well as plain text and renders
//! on any forge. Per scenario: its description, the comparison table with the best variant
//! of each column in bold and unstable variants flagged (by the rules of `comparison` and
//! `stability`, stated under the table), and the charts as images linked from the
//! scenario's folder (PNG when PNGs were written, since not every viewer shows SVG).

use std::fmt::Write;

use super::charts::RenderedChart;
use super::comparison::{BEST_RULE, COLUMNS, Comparison};
use super::{ReportOptions, ScenarioResults, stability, summary_rows};

pub fn render(
    all: &[ScenarioResults<'_>],
    charts: &[Vec<RenderedChart>],
    options: &ReportOptions,
) -> String {
    let mut out = String::new();
    out.push_str("# lbsim report\n\n");
    let _ = writeln!(
        out,
        "{} scenario{}, simulated by lbsim {}.\n",
        all.len(),
        if all.len() == 1 { "" } else { "s" },
        env!("CARGO_PKG_VERSION")
    );
    for results in all {
        let scenario = results.scenario;
        let _ = write!(
            out,
            "- [{}](#{})",
            escape(&scenario.name),
            anchor(&scenario.name)
        );
        if !scenario.description.is_empty() {
            let _ = write!(out, ": {}", escape(&one_line(&scenario.description)));
        }
        out.push('\n');
    }
    for (results, charts) in all.iter().zip(charts) {
        out.push('\n');
        scenario_section(&mut out, results, charts, options);
    }
    out
}

fn scenario_section(
    out: &mut String,
    results: &ScenarioResults<'_>,
    charts: &[RenderedChart],
    options: &ReportOptions,
) {
    let scenario = results.scenario;
    let _ = writeln!(out, "## {}\n", escape(&scenario.name));
    if !scenario.description.is_empty() {
        let _ = writeln!(out, "{}\n", escape(&one_line(&scenario.description)));
    }
    let table = Comparison::new(scenario, &summary_rows(results));
    let _ = writeln!(
        out,
        "{} variant{} × {} replication{}, seed {}; files in [`{}/`]({}/).\n",
        table.rows.len(),
        if table.rows.len() == 1 { "" } else { "s" },
        table.replications,
        if table.replications == 1 { "" } else { "s" },
        scenario.seed,
        escape(&scenario.name),
        scenario.name,
    );

    let headings: Vec<String> = table
        .key_headings
        .iter()
        .map(|h| cell(h))
        .chain(COLUMNS.iter().map(|c| c.heading.to_string()))
        .chain(std::iter::once("steady state".to_string()))
        .collect();
    let _ = writeln!(out, "| {} |", headings.join(" | "));
    let alignments: Vec<&str> = table
        .key_headings
        .iter()
        .map(|_| ":---")
        .chain(COLUMNS.iter().map(|_| "---:"))
        .chain(std::iter::once(":---"))
        .collect();
    let _ = writeln!(out, "|{}|", alignments.join("|"));
    for row in &table.rows {
        let cells: Vec<String> = row
            .keys
            .iter()
            .map(|k| cell(k))
            .chain(row.cells.iter().zip(&COLUMNS).map(|(c, column)| {
                let text = c.text(column, table.replications);
                if c.best { format!("**{text}**") } else { text }
            }))
            .chain(std::iter::once(
                if row.unstable {
                    "**no: unstable**"
                } else {
                    "yes"
                }
                .to_string(),
            ))
            .collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    let mut notes = Vec::new();
    if table.any_best() {
        notes.push(format!("Bold: {BEST_RULE}."));
    }
    if table.any_unstable() {
        notes.push(format!("Steady state no: {}.", stability::rule()));
    }
    if table.replications > 1 {
        notes.push(format!(
            "Values are means over {} replications ± the half-width of their 95% confidence \
             interval.",
            table.replications
        ));
    }
    if !notes.is_empty() {
        let _ = writeln!(out, "\n{}", notes.join(" "));
    }
    out.push('\n');

    let extension = if options.png { "png" } else { "svg" };
    let images: Vec<String> = charts
        .iter()
        .map(|chart| {
            format!(
                "![{}]({}/{}.{extension})\n",
                escape(&chart.title),
                scenario.name,
                chart.stem
            )
        })
        .collect();
    out.push_str(&images.join("\n"));
}

/// The anchor a forge gives the heading `name` (names are `[A-Za-z0-9._-]`): lowercase,
/// without the dots.
fn anchor(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// `text` on one line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// User text for a table cell: escaped, and `|` cannot end the cell.
fn cell(text: &str) -> String {
    escape(&one_line(text))
}

/// User text with every character Markdown or inline HTML would act on escaped by a
/// backslash, so that it shows as written.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' | '~' | '&' | '!'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::charts::fixtures;
    use super::*;

    #[test]
    fn names_every_scenario_variant_and_chart() {
        let swept = fixtures::swept();
        let plain = fixtures::without_series();
        let all = [swept.view(), plain.view()];
        let charts: Vec<_> = all.iter().map(fixtures::rendered).collect();
        let md = render(&all, &charts, &ReportOptions::default());
        assert!(md.contains("- [swept](#swept): Fixture \\<swept\\> \\& friends"));
        assert!(md.contains("\n\n## plain\n\n"));
        assert!(!md.contains("\n\n\n"));
        for algorithm in ["round-robin", "least-connections"] {
            for rate in ["150", "300"] {
                assert!(
                    md.contains(&format!("| {algorithm} | {rate} | ")),
                    "{algorithm} {rate}"
                );
            }
        }
        assert!(md.contains("| base | "));
        assert!(md.contains("(swept/latency-cdf.svg)"));
        assert!(md.contains("(swept/latency-vs-workload.rate.svg)"));
        assert!(!md.contains("plain/latency-over-time"));
        assert!(md.contains(" ± "));
    }

    #[test]
    fn links_png_charts_when_they_were_written() {
        let plain = fixtures::without_series();
        let all = [plain.view()];
        let charts: Vec<_> = all.iter().map(fixtures::rendered).collect();
        let md = render(&all, &charts, &ReportOptions { png: true });
        assert!(md.contains("(plain/latency-cdf.png)"));
    }

    #[test]
    fn the_best_variant_is_bold_and_an_unstable_one_flagged() {
        let wide = fixtures::wide();
        let runaway = fixtures::runaway();
        let all = [wide.view(), runaway.view()];
        let charts: Vec<_> = all.iter().map(fixtures::rendered).collect();
        let md = render(&all, &charts, &ReportOptions::default());
        let bold = md
            .lines()
            .filter(|l| l.starts_with("| ") && l.contains(" | **"))
            .count();
        assert!(bold > 0, "{md}");
        assert!(md.contains(BEST_RULE));
        let overloaded = md.lines().find(|l| l.starts_with("| 600 |")).unwrap();
        assert!(overloaded.ends_with("| **no: unstable** |"), "{overloaded}");
        let steady = md.lines().find(|l| l.starts_with("| 100 |")).unwrap();
        assert!(steady.ends_with("| yes |"), "{steady}");
        assert!(md.contains("queue grew without bound"));
    }

    #[test]
    fn a_variant_without_completions_reads_n_a_and_is_not_bold() {
        let degenerate = fixtures::degenerate();
        let all = [degenerate.view()];
        let charts: Vec<_> = all.iter().map(fixtures::rendered).collect();
        let md = render(&all, &charts, &ReportOptions::default());
        let idle = md.lines().find(|l| l.starts_with("| 0 |")).unwrap();
        assert!(idle.contains("| n/a |") && !idle.contains("**"), "{idle}");
    }

    #[test]
    fn user_text_cannot_inject_markup() {
        assert_eq!(escape("a|b <i>*x*</i>"), "a\\|b \\<i\\>\\*x\\*\\</i\\>");
        assert_eq!(anchor("rr-vs-lc.v2"), "rr-vs-lcv2");
    }
}
