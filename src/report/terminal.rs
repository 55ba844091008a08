//! The compact table printed at the end of a run: per variant, means over replications of
//! the headline metrics, with the best value of each column marked `*`.

use super::summary::SummaryRow;
use crate::scenario::Scenario;
use crate::stats::confidence_interval;

/// Headline columns: (summary metric, heading, decimals, lower is better).
const COLUMNS: [(&str, &str, usize, bool); 5] = [
    ("p50_ms", "p50 ms", 2, true),
    ("p99_ms", "p99 ms", 2, true),
    ("throughput_rps", "req/s", 1, false),
    ("utilization", "util", 3, false),
    ("rejected", "rejected", 0, true),
];

pub fn terminal_table(scenario: &Scenario, rows: &[SummaryRow]) -> String {
    let means: Vec<Vec<f64>> = (0..scenario.variants.len())
        .map(|variant| {
            COLUMNS
                .iter()
                .map(|&(metric, ..)| {
                    let samples: Vec<f64> = rows
                        .iter()
                        .filter(|r| r.variant == variant)
                        .filter_map(|r| r.metric(metric))
                        .collect();
                    confidence_interval(&samples).mean
                })
                .collect()
        })
        .collect();
    let best: Vec<f64> = (0..COLUMNS.len())
        .map(|c| {
            let values = means.iter().map(|m| m[c]);
            if COLUMNS[c].3 {
                values.fold(f64::INFINITY, f64::min)
            } else {
                values.fold(f64::NEG_INFINITY, f64::max)
            }
        })
        .collect();

    let mut cells: Vec<Vec<String>> = vec![
        std::iter::once("variant".to_string())
            .chain(COLUMNS.iter().map(|c| c.1.to_string()))
            .collect(),
    ];
    for (variant, values) in scenario.variants.iter().zip(&means) {
        let mut line = vec![variant.label.clone()];
        for (c, &value) in values.iter().enumerate() {
            let mark = if scenario.variants.len() > 1 && value == best[c] {
                "*"
            } else {
                " "
            };
            line.push(format!("{value:.decimals$}{mark}", decimals = COLUMNS[c].2));
        }
        cells.push(line);
    }
    let widths: Vec<usize> = (0..=COLUMNS.len())
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
            if c == 0 {
                text.push_str(&format!("  {cell:<width$}", width = widths[0]));
            } else {
                text.push_str(&format!("  {cell:>width$}", width = widths[c]));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    }
    out
}
