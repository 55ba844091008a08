//! The compact table printed at the end of a run: per variant, means over replications of
//! the headline metrics from the shared [`Comparison`], the best value of a column marked
//! `*` (by the comparison's rule) and unstable variants flagged, with a note under the
//! table saying what each mark means. Variants are shown by their swept values under a
//! heading naming the keys.

use super::comparison::{BEST_RULE, COLUMNS, Comparison};
use super::stability;
use super::summary::SummaryRow;
use crate::scenario::Scenario;

/// The comparison's columns the terminal has room for, by summary metric.
const SHOWN: [(&str, &str); 7] = [
    ("p50_ms", "p50 ms"),
    ("p99_ms", "p99 ms"),
    ("throughput_rps", "req/s"),
    ("utilization", "util"),
    ("rejected", "rejected"),
    ("failed", "failed"),
    ("in_flight", "in flight"),
];

pub fn terminal_table(scenario: &Scenario, rows: &[SummaryRow]) -> String {
    let table = Comparison::new(scenario, rows);
    let shown: Vec<usize> = SHOWN
        .iter()
        .map(|(metric, _)| {
            COLUMNS
                .iter()
                .position(|c| c.metric == *metric)
                .expect("every shown column is compared")
        })
        .collect();
    let heading = table.key_headings.join(", ");
    let mut cells: Vec<Vec<String>> = vec![
        std::iter::once(heading)
            .chain(SHOWN.iter().map(|c| c.1.to_string()))
            .chain(std::iter::once(String::new()))
            .collect(),
    ];
    for row in &table.rows {
        let mut line = vec![row.keys.join(", ")];
        for &c in &shown {
            let cell = &row.cells[c];
            let text = if cell.missing {
                "n/a".to_string()
            } else {
                format!(
                    "{:.decimals$}",
                    cell.value.mean,
                    decimals = COLUMNS[c].decimals
                )
            };
            let mark = if cell.best { "*" } else { " " };
            line.push(format!("{text}{mark}"));
        }
        line.push(if row.unstable { "unstable" } else { "" }.to_string());
        cells.push(line);
    }
    let columns = cells[0].len();
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            cells
                .iter()
                .map(|line| line[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = format!("{}\n", scenario.name);
    for line in &cells {
        let mut text = String::new();
        for (c, cell) in line.iter().enumerate() {
            if c == 0 || c == columns - 1 {
                text.push_str(&format!("  {cell:<width$}", width = widths[c]));
            } else {
                text.push_str(&format!("  {cell:>width$}", width = widths[c]));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    }
    if table.any_best() {
        out.push_str(&format!("  * {BEST_RULE}\n"));
    }
    if table.any_unstable() {
        out.push_str(&format!("  {}\n", stability::rule()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::charts::fixtures;
    use super::super::summary_rows;
    use super::*;

    #[test]
    fn an_unstable_variant_is_flagged_with_its_in_flight_and_the_rule() {
        let results = fixtures::runaway();
        let view = results.view();
        let text = terminal_table(&results.scenario, &summary_rows(&view));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "runaway");
        assert!(lines[1].contains("in flight"), "{text}");
        assert!(!lines[2].ends_with("unstable"), "{text}");
        assert!(
            lines[3].starts_with("  600") && lines[3].ends_with("unstable"),
            "{text}"
        );
        assert!(text.contains("queue grew without bound"), "{text}");
        assert!(text.contains("not a steady state"), "{text}");
    }

    #[test]
    fn marks_are_explained_and_absent_when_nothing_compares() {
        let results = fixtures::degenerate();
        let view = results.view();
        let text = terminal_table(&results.scenario, &summary_rows(&view));
        // 0 and 50 req/s offered: different traffic, nothing to mark, no note.
        assert!(!text.contains('*'), "{text}");
        assert!(!text.contains("unstable"), "{text}");
        assert!(text.contains("n/a"), "{text}");
        let results = fixtures::wide();
        let view = results.view();
        let text = terminal_table(&results.scenario, &summary_rows(&view));
        assert!(text.contains('*') && text.contains(BEST_RULE), "{text}");
    }
}
