//! The comparison of a scenario's variants that index.html and report.md both show: per
//! variant, the mean over replications of each headline metric with its 95% confidence
//! half-width, and the best variant of each column marked. Computed once here so that the
//! two reports can never disagree.

use super::summary::SummaryRow;
use crate::scenario::Scenario;
use crate::stats::{ConfidenceInterval, confidence_interval};

/// Which end of a column is better.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Better {
    Lower,
    Higher,
    /// Neither: high utilization is not better or worse in itself.
    Neither,
}

/// A column of the table: a summary.csv metric.
#[derive(Copy, Clone, Debug)]
pub struct Column {
    pub metric: &'static str,
    pub heading: &'static str,
    pub decimals: usize,
    pub better: Better,
}

impl Column {
    /// Latency columns: a variant without completions has no latency, not a latency of 0.
    fn is_latency(&self) -> bool {
        self.metric.ends_with("_ms")
    }
}

pub const COLUMNS: [Column; 8] = [
    column("mean_ms", "mean ms", 2, Better::Lower),
    column("p50_ms", "p50 ms", 2, Better::Lower),
    column("p99_ms", "p99 ms", 2, Better::Lower),
    column("p999_ms", "p99.9 ms", 2, Better::Lower),
    column("throughput_rps", "req/s", 1, Better::Higher),
    column("utilization", "utilization", 3, Better::Neither),
    column("rejected", "rejected", 0, Better::Lower),
    column("failed", "failed", 0, Better::Lower),
];

const fn column(
    metric: &'static str,
    heading: &'static str,
    decimals: usize,
    better: Better,
) -> Column {
    Column {
        metric,
        heading,
        decimals,
        better,
    }
}

/// The table of one scenario.
pub struct Comparison {
    /// Headings of the columns naming a variant: the swept keys, or `variant`.
    pub key_headings: Vec<String>,
    pub rows: Vec<Row>,
    pub replications: usize,
}

/// One variant.
pub struct Row {
    /// The variant's swept values (its label when nothing is swept), one per key heading.
    pub keys: Vec<String>,
    /// One per [`COLUMNS`] entry.
    pub cells: Vec<Cell>,
}

/// One metric of one variant.
#[derive(Copy, Clone, Debug)]
pub struct Cell {
    pub value: ConfidenceInterval,
    /// Not applicable: a latency of a variant that completed nothing.
    pub missing: bool,
    pub best: bool,
}

impl Comparison {
    pub fn new(scenario: &Scenario, rows: &[SummaryRow]) -> Self {
        let replications = rows
            .iter()
            .map(|r| r.replication as usize + 1)
            .max()
            .unwrap_or(0);
        let mut table: Vec<Row> = scenario
            .variants
            .iter()
            .enumerate()
            .map(|(index, variant)| {
                let runs: Vec<&SummaryRow> = rows.iter().filter(|r| r.variant == index).collect();
                let completed = runs.iter().any(|r| r.counts.completed > 0);
                Row {
                    keys: if scenario.swept_keys.is_empty() {
                        vec![variant.label.clone()]
                    } else {
                        variant.values.clone()
                    },
                    cells: COLUMNS
                        .iter()
                        .map(|column| {
                            let samples: Vec<f64> = runs
                                .iter()
                                .filter_map(|r| r.metric(column.metric))
                                .collect();
                            Cell {
                                value: confidence_interval(&samples),
                                missing: column.is_latency() && !completed,
                                best: false,
                            }
                        })
                        .collect(),
                }
            })
            .collect();
        mark_best(&mut table);
        Comparison {
            key_headings: if scenario.swept_keys.is_empty() {
                vec!["variant".to_string()]
            } else {
                scenario.swept_keys.clone()
            },
            rows: table,
            replications,
        }
    }
}

/// Marks, per column, the variants with the best mean; nothing when there is a single
/// variant or all are equal (marking everyone says nothing).
fn mark_best(rows: &mut [Row]) {
    for (c, column) in COLUMNS.iter().enumerate() {
        let values = || rows.iter().map(|r| r.cells[c]).filter(|cell| !cell.missing);
        let best = match column.better {
            Better::Lower => values()
                .map(|cell| cell.value.mean)
                .fold(f64::INFINITY, f64::min),
            Better::Higher => values()
                .map(|cell| cell.value.mean)
                .fold(f64::NEG_INFINITY, f64::max),
            Better::Neither => continue,
        };
        let all_equal = values().all(|cell| cell.value.mean == best);
        if all_equal {
            continue;
        }
        for row in rows.iter_mut() {
            let cell = &mut row.cells[c];
            cell.best = !cell.missing && cell.value.mean == best;
        }
    }
}

impl Cell {
    /// The value as shown: the mean with `decimals` (one more for counts averaged over
    /// replications), then `± half-width` when there are several replications; `n/a`
    /// for a latency without completions.
    pub fn text(&self, column: &Column, replications: usize) -> String {
        if self.missing {
            return "n/a".to_string();
        }
        let decimals = if column.decimals == 0 && replications > 1 {
            1
        } else {
            column.decimals
        };
        let mean = self.value.mean;
        if replications > 1 {
            format!("{mean:.decimals$} ± {:.decimals$}", self.value.half_width)
        } else {
            format!("{mean:.decimals$}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::charts::fixtures;
    use super::super::summary_rows;
    use super::*;

    #[test]
    fn one_row_per_variant_named_by_its_swept_values() {
        let results = fixtures::swept();
        let view = results.view();
        let table = Comparison::new(&results.scenario, &summary_rows(&view));
        assert_eq!(table.key_headings, ["balancer.algorithm", "workload.rate"]);
        assert_eq!(table.replications, 2);
        assert_eq!(table.rows.len(), 4);
        assert_eq!(table.rows[3].keys, ["least-connections", "300"]);
        let p99 = &table.rows[0].cells[2];
        assert!(p99.text(&COLUMNS[2], 2).contains(" ± "));
    }

    #[test]
    fn the_best_variant_is_marked_and_no_completions_is_not_fastest() {
        let results = fixtures::degenerate();
        let view = results.view();
        let table = Comparison::new(&results.scenario, &summary_rows(&view));
        let idle = &table.rows[0];
        let busy = &table.rows[1];
        assert!(idle.cells[0].missing && !idle.cells[0].best);
        assert_eq!(idle.cells[0].text(&COLUMNS[0], 1), "n/a");
        // The only variant with a latency is not "best" against nothing.
        assert!(!busy.cells[0].best);
        // Throughput: 50 req/s beats 0.
        assert!(busy.cells[4].best && !idle.cells[4].best);
        // Nothing rejected anywhere: no mark.
        assert!(table.rows.iter().all(|r| !r.cells[6].best));
    }
}
