//! One summary row per (variant, replication): the numbers summary.csv, variants.csv,
//! the terminal table and `lbsim check` all read, computed once per run through the
//! column list (`scenario::MEASURED_COLUMNS`).

use super::ScenarioResults;
use crate::scenario::MEASURED_COLUMNS;
use crate::stats::{Counts, RunResult};

/// The metrics of one run, derived once from its [`RunResult`].
#[derive(Clone, Debug, PartialEq)]
pub struct SummaryRow {
    pub variant: usize,
    pub replication: u32,
    pub seed: u64,
    /// The run's outcome counts, for tables that need one by type.
    pub counts: Counts,
    /// One per [`MEASURED_COLUMNS`] entry, in order; `None` where it does not apply.
    pub values: Vec<Option<f64>>,
}

impl SummaryRow {
    pub fn from_run(variant: usize, replication: u32, run: &RunResult) -> Self {
        SummaryRow {
            variant,
            replication,
            seed: run.seed,
            counts: run.counts,
            values: MEASURED_COLUMNS.iter().map(|c| c.value(run)).collect(),
        }
    }

    /// The value of a numeric column by its summary.csv name; `None` for a name that is
    /// not one, and for a column that does not apply to this run.
    pub fn metric(&self, name: &str) -> Option<f64> {
        match name {
            "replication" => Some(f64::from(self.replication)),
            "seed" => Some(self.seed as f64),
            _ => {
                let index = MEASURED_COLUMNS.iter().position(|c| c.name == name)?;
                self.values[index]
            }
        }
    }
}

/// Rows in variant order, then replication order.
pub fn summary_rows(results: &ScenarioResults<'_>) -> Vec<SummaryRow> {
    results
        .runs
        .iter()
        .enumerate()
        .flat_map(|(variant, runs)| {
            runs.iter().enumerate().map(move |(replication, run)| {
                SummaryRow::from_run(variant, replication as u32, run)
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::charts::fixtures;
    use super::super::comparison;
    use super::*;
    use crate::scenario::{SUMMARY_METRICS, TEXT_COLUMNS};

    #[test]
    fn every_numeric_column_reads_its_figure_of_the_run() {
        let results = fixtures::swept();
        let view = results.view();
        let run = &view.runs[1][1];
        let row = SummaryRow::from_run(1, 1, run);
        assert_eq!(row.metric("replication"), Some(1.0));
        assert_eq!(row.metric("seed"), Some(run.seed as f64));
        assert_eq!(row.metric("completed"), Some(run.counts.completed as f64));
        assert_eq!(row.metric("in_flight"), Some(run.counts.in_flight as f64));
        assert_eq!(row.metric("p99_ms"), Some(run.latency.quantile_ms(0.99)));
        assert_eq!(row.metric("wait_p99_ms"), Some(run.wait.quantile_ms(0.99)));
        assert_eq!(row.metric("throughput_rps"), Some(run.throughput_rps()));
        assert_eq!(row.metric("load_cv"), run.load_cv());
        assert!(row.metric("load_cv").is_some_and(|cv| cv > 0.0));
        assert_eq!(row.metric("variant"), None);
        assert_eq!(row.metric("p99"), None);
        for figure in &crate::stats::FIGURES {
            assert_eq!(row.metric(figure.name), run.figures.get(figure.figure));
        }
    }

    #[test]
    fn every_column_a_table_shows_is_a_numeric_summary_column() {
        for column in &comparison::COLUMNS {
            assert!(
                SUMMARY_METRICS.contains(&column.metric) && !TEXT_COLUMNS.contains(&column.metric),
                "{}",
                column.metric
            );
        }
    }
}
