//! The compact table printed at the end of a run: per variant, means over replications of
//! the headline metrics, with the best value of each column marked `*` where variants
//! differ. Variants are shown by their swept values under a heading naming the keys.

use super::summary::SummaryRow;
use crate::scenario::Scenario;
use crate::stats::confidence_interval;

/// Which of two values is better; `None` for columns that describe rather than rank.
type Better = Option<fn(f64, f64) -> f64>;

/// Headline columns: (summary metric, heading, decimals, how the best is chosen).
const COLUMNS: [(&str, &str, usize, Better); 6] = [
    ("p50_ms", "p50 ms", 2, Some(f64::min)),
    ("p99_ms", "p99 ms", 2, Some(f64::min)),
    ("throughput_rps", "req/s", 1, Some(f64::max)),
    ("utilization", "util", 3, None),
    ("rejected", "rejected", 0, Some(f64::min)),
    ("failed", "failed", 0, Some(f64::min)),
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
    // The best value of each ranking column, unless every variant has it.
    let best: Vec<Option<f64>> = COLUMNS
        .iter()
        .enumerate()
        .map(|(c, column)| {
            let better = column.3?;
            let mut values = means.iter().map(|m| m[c]);
            let first = values.next()?;
            let best = values.clone().fold(first, better);
            values.any(|v| v != first).then_some(best)
        })
        .collect();

    let heading = if scenario.swept_keys.is_empty() {
        "variant".to_string()
    } else {
        scenario.swept_keys.join(", ")
    };
    let mut cells: Vec<Vec<String>> = vec![
        std::iter::once(heading)
            .chain(COLUMNS.iter().map(|c| c.1.to_string()))
            .collect(),
    ];
    for (variant, values) in scenario.variants.iter().zip(&means) {
        let name = if variant.values.is_empty() {
            variant.label.clone()
        } else {
            variant.values.join(", ")
        };
        let mut line = vec![name];
        for (c, &value) in values.iter().enumerate() {
            let mark = if best[c] == Some(value) { "*" } else { " " };
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
